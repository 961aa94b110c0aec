/* smt/fuzz_smt.c: random programs and mutants: z3's verdicts against bpf/interp (fuzz-smt). */
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/k2_gen.h"
#include "bpf/k2_text.h"
#include "smt/window.h"

#define FUZZ_INPUTS 4 /* random inputs an "equivalent" verdict is tried on */

struct fuzz {
	const struct k2_smt_fuzz_opts *o;
	struct k2_smt_fuzz_stats *st;
	struct k2_rng rng;
	struct k2_smt *s;
	struct k2_input *in;
	FILE *log;
};

static void note(struct fuzz *f, uint64_t iter, const char *what, const char *why)
{
	f->st->disagreements++;
	if (f->log)
		fprintf(f->log, "program %llu (seed %llu): %s: %s\n", (unsigned long long)iter,
			(unsigned long long)f->o->seed, what, why);
}

/* One instruction changed: an immediate, a source register or an ALU operation. */
static bool mutate(struct k2_rng *r, struct bpf_insn *ins, uint32_t lo, uint32_t hi)
{
	static const uint8_t alu[] = { BPF_ADD, BPF_SUB, BPF_MUL, BPF_OR, BPF_AND, BPF_XOR,
				       BPF_LSH, BPF_RSH, BPF_ARSH, BPF_MOV };

	for (int tries = 0; tries < 16 && hi > lo; tries++) {
		uint32_t i = lo + (uint32_t)k2_rng_below(r, hi - lo);
		struct bpf_insn *x = &ins[i];
		uint8_t cl = BPF_CLASS(x->code), op = BPF_OP(x->code);
		bool alu_cl = cl == BPF_ALU || cl == BPF_ALU64;
		bool jmp_cl = (cl == BPF_JMP || cl == BPF_JMP32) && op != BPF_CALL &&
			      op != BPF_EXIT && op != BPF_JA;

		if (i > 0 && ins[i - 1].code == (BPF_LD | BPF_IMM | BPF_DW))
			continue; /* second slot of an ld_imm64 */
		if (!alu_cl && !jmp_cl)
			continue;
		if (alu_cl && op == BPF_END)
			continue;
		switch (k2_rng_below(r, 3)) {
		case 0:
			if (BPF_SRC(x->code) != BPF_K)
				continue;
			x->imm = (int32_t)((uint32_t)x->imm +
					   (k2_rng_below(r, 2) ? (uint32_t)k2_rng_below(r, 5) - 2
							       : (uint32_t)k2_rng_next(r)));
			break;
		case 1:
			if (BPF_SRC(x->code) != BPF_X)
				continue;
			x->src_reg = (uint8_t)k2_rng_below(r, 10);
			break;
		default:
			if (!alu_cl || op == BPF_DIV || op == BPF_MOD || op == BPF_NEG ||
			    (op == BPF_MOV && x->off))
				continue;
			x->code = (uint8_t)(cl | BPF_SRC(x->code) |
					    alu[k2_rng_below(r, sizeof(alu))]);
			x->off = 0;
			break;
		}
		return true;
	}
	return false;
}

static int new_input(struct fuzz *f, const struct k2_prog *p, struct k2_mapstate **ms,
		     struct k2_err *e)
{
	int err;

	k2_mapstate_free(*ms);
	*ms = NULL;
	k2_gen_input(&f->rng, p->type, NULL, f->in);
	err = k2_gen_mapstate(&f->rng, p->maps, p->n_maps, 1, ms, e);
	f->in->maps = *ms;
	return err;
}

static void count(struct k2_smt_fuzz_stats *st, enum k2_verdict v)
{
	if (v == K2_EQUIVALENT)
		st->equivalent++;
	else if (v == K2_DIFFERENT)
		st->different++;
	else
		st->unknown++;
}

/* The whole program against a mutant. */
static int whole(struct fuzz *f, uint64_t it, const struct k2_prog *p, struct k2_mapstate **ms,
		 struct k2_err *e)
{
	struct k2_prog q = *p;
	struct bpf_insn *ins = malloc(p->n_insns * sizeof(*ins));
	struct k2_input *cex = calloc(1, sizeof(*cex));
	struct k2_vm *vm = NULL;
	struct k2_smt_stats ss, ss2;
	enum k2_verdict v;
	char why[256];
	int err = 0, d;
	uint64_t d0 = f->st->disagreements;
	bool lib = false;

	if (!ins || !cex) {
		err = k2_err_set(e, -ENOMEM, "out of memory");
		goto out;
	}
	memcpy(ins, p->insns, p->n_insns * sizeof(*ins));
	q.insns = ins;
	if (!mutate(&f->rng, ins, 0, p->n_main) || k2_vm_new(&q, NULL, &vm, NULL))
		goto out; /* no mutant the interpreter takes */
	k2_smt_stats(f->s, &ss);
	err = k2_smt_equiv_prog(f->s, p, &q, &v, cex, e);
	if (err)
		goto out;
	k2_smt_stats(f->s, &ss2);
	lib = ss2.disagreements != ss.disagreements;
	f->st->prog_checks++;
	count(f->st, v);
	if (v == K2_DIFFERENT) {
		d = k2s_replay_prog(p, &q, cex, why, sizeof(why), e);
		if (d < 0)
			goto out;
		if (!d)
			note(f, it, "program counterexample does not replay", why);
	} else if (v == K2_EQUIVALENT) {
		for (int i = 0; i < FUZZ_INPUTS; i++) {
			err = new_input(f, p, ms, e);
			if (err)
				goto out;
			d = k2s_replay_prog(p, &q, f->in, why, sizeof(why), e);
			if (d < 0) {
				err = d;
				goto out;
			}
			f->st->inputs_run++;
			if (d)
				note(f, it, "\"equivalent\" programs differ on a random input", why);
		}
	}
out:
	if ((lib || f->st->disagreements != d0) && f->log) {
		fprintf(f->log, "program %llu: the mutant disagreed on:\n", (unsigned long long)it);
		k2_disasm_prog(f->log, q.insns, q.n_insns);
	}
	k2_vm_free(vm);
	free(ins);
	free(cex);
	return err;
}

/* opts.no_modular: a window "equivalent" means the spliced program is; random inputs agree. */
static int spliced_agree(struct fuzz *f, uint64_t it, const struct k2_prog *p,
			 const struct k2_win *w, const struct bpf_insn *c, uint32_t n,
			 struct k2_mapstate **ms, struct k2_err *e)
{
	struct k2_edit ed = { w->start, w->end, c, n };
	struct k2_splice_opts so = { .sz = sizeof(so), .n_main = p->n_main };
	struct k2_prog q = *p;
	struct bpf_insn *ins = NULL;
	uint32_t nn = 0, nm = 0;
	char why[256];
	int err = k2_splice(p->insns, p->n_insns, &ed, 1, &so, &ins, &nn, &nm, NULL, e), d;

	if (err)
		return err;
	q.insns = ins;
	q.n_insns = nn;
	q.n_main = nm;
	for (int i = 0; !err && i < FUZZ_INPUTS; i++) {
		err = new_input(f, p, ms, e);
		if (err)
			break;
		d = k2s_replay_prog(p, &q, f->in, why, sizeof(why), e);
		if (d < 0) {
			err = d;
			break;
		}
		f->st->inputs_run++;
		if (d)
			note(f, it, "\"equivalent\" spliced programs differ on a random input", why);
	}
	free(ins);
	return err;
}

/* A window of the program against a mutant of it. */
static int window(struct fuzz *f, uint64_t it, const struct k2_prog *p, struct k2_mapstate **ms,
		  struct k2_err *e)
{
	struct k2_analysis *an = NULL;
	struct k2_win *ws = NULL;
	struct k2_smt_window *sw = NULL;
	struct k2_wstate *st = NULL;
	struct bpf_insn *c = NULL;
	uint32_t nw = 0, n = 0;
	struct k2_win w = { 0 };
	struct k2_smt_stats ss, ss2;
	enum k2_verdict v;
	char why[256];
	int err, d;
	uint64_t d0 = f->st->disagreements;
	bool lib = false;

	err = k2_analysis_new(p, NULL, &an, NULL);
	if (!err)
		err = k2_wins_select(an, NULL, &ws, &nw, NULL);
	if (err || !nw) {
		err = 0; /* programs the analysis refuses are not the encoding's concern */
		goto out;
	}
	w = ws[k2_rng_below(&f->rng, nw)];
	n = w.end - w.start;
	c = malloc(n * sizeof(*c));
	if (!c) {
		err = k2_err_set(e, -ENOMEM, "out of memory");
		goto out;
	}
	memcpy(c, p->insns + w.start, n * sizeof(*c));
	if (!mutate(&f->rng, c, 0, n))
		goto out;
	err = k2_smt_window_new(f->s, an, &w, &sw, e);
	if (!err)
		err = k2_wstate_new(sw->vm, &st);
	if (err)
		goto out;
	k2_smt_stats(f->s, &ss);
	err = k2_smt_window_equiv(sw, c, n, &v, sw->vm, st, NULL);
	if (err) {
		err = 0; /* a candidate bpf/interp cannot run as a window */
		goto out;
	}
	k2_smt_stats(f->s, &ss2);
	lib = ss2.disagreements != ss.disagreements;
	f->st->window_checks++;
	count(f->st, v);
	if (f->s->o.no_modular) {
		/* the verdict is the spliced program's (its counterexample was replayed inside) */
		if (v == K2_EQUIVALENT)
			err = spliced_agree(f, it, p, &w, c, n, ms, e);
		goto out;
	}
	if (v == K2_DIFFERENT) {
		d = k2s_win_replay(sw, c, n, st, why, sizeof(why));
		if (d == 0)
			note(f, it, "window counterexample does not replay", why);
	} else if (v == K2_EQUIVALENT) {
		for (int i = 0; i < FUZZ_INPUTS; i++) {
			err = new_input(f, p, ms, e);
			if (err)
				goto out;
			if (k2_vm_snapshot(sw->vm, f->in, w.start, st, NULL) != 1)
				continue;
			f->st->inputs_run++;
			d = k2s_win_replay(sw, c, n, st, why, sizeof(why));
			if (d > 0)
				note(f, it, "\"equivalent\" windows differ on a random input", why);
		}
	}
out:
	if ((lib || f->st->disagreements != d0) && f->log) {
		fprintf(f->log, "program %llu: window %u:%u, the candidate disagreed on:\n",
			(unsigned long long)it, w.start, w.end);
		k2_disasm_prog(f->log, c, n);
	}
	k2_wstate_free(st);
	k2_smt_window_free(sw);
	free(c);
	free(ws);
	k2_analysis_free(an);
	return err;
}

/* The encoding with its inputs fixed to a random input must give the interpreter's run. */
static int agree(struct fuzz *f, uint64_t it, const struct k2_prog *p, struct k2_mapstate **ms,
		 struct k2_err *e)
{
	struct k2_err ae = { 0 };
	int err = new_input(f, p, ms, e), r;

	if (err)
		return err;
	r = k2_smt_agree(f->s, p, f->in, &ae);
	f->st->agree_checks++;
	if (r == 1)
		f->st->agree_unsupported++;
	else if (r == -EDOM)
		note(f, it, "encoding and interpreter disagree on an input", ae.msg);
	else if (r < 0)
		f->st->agree_unknown++;
	return 0;
}

#define FUZZ_SESSIONS 8

/* Session i: all speed-ups on (0), one of memtype, maptype, offset, modular, cache, prefilter
 * off (1-6), or all off (7). */
static struct k2_smt_opts session_opts(int i, uint32_t timeout_ms)
{
	struct k2_smt_opts so = { .sz = sizeof(so), .timeout_ms = timeout_ms };

	so.no_memtype = i == 1 || i == 7;
	so.no_maptype = i == 2 || i == 7;
	so.no_offset = i == 3 || i == 7;
	so.no_modular = i == 4 || i == 7;
	so.no_cache = i == 5 || i == 7;
	so.no_prefilter = i == 6 || i == 7;
	return so;
}

int k2_smt_fuzz(const struct k2_smt_fuzz_opts *o, struct k2_smt_fuzz_stats *st,
		struct k2_err *e)
{
	static const uint32_t types[] = { BPF_PROG_TYPE_XDP, BPF_PROG_TYPE_SCHED_CLS,
					  BPF_PROG_TYPE_SOCKET_FILTER };
	struct fuzz f = { .o = o, .st = st, .log = o->log };
	struct k2_mapstate *ms = NULL;
	int err = 0;

	uint64_t first = o->sz > offsetof(struct k2_smt_fuzz_opts, first) ? o->first : 0;
	double t0 = k2s_now_ms();

	memset(st, 0, sizeof(*st));
	f.in = calloc(1, sizeof(*f.in));
	if (!f.in)
		return k2_err_set(e, -ENOMEM, "out of memory");
	for (uint64_t it = first; !err && it < first + o->n; it++) {
		/* program i is checked with every speed-up on, or one of them off (i mod 8), in
		 * a session of its own (a fuzzing run is long; a z3 context keeps memory) */
		struct k2_smt_opts so = session_opts((int)(it % FUZZ_SESSIONS),
						     o->timeout_ms ? o->timeout_ms : 2000);
		struct k2_gen_opts go = { .sz = sizeof(go) };
		struct k2_gen_prog *g = NULL;
		struct k2_smt_stats sst;
		uint64_t before = st->disagreements;
		double tp = k2s_now_ms(), dt;

		k2_rng_seed(&f.rng, o->seed ^ (it * 0x9e3779b97f4a7c15ull));
		err = k2_smt_new(&so, &f.s, e);
		if (err)
			break;
		go.prog_type = types[k2_rng_below(&f.rng, 3)];
		go.n_insns = o->n_insns ? o->n_insns : 20 + (uint32_t)k2_rng_below(&f.rng, 20);
		go.nondet = k2_rng_below(&f.rng, 4) == 0;
		err = k2_gen_prog_new(&f.rng, &go, &g, e);
		if (!err) {
			st->programs++;
			err = agree(&f, it, &g->prog, &ms, e);
		}
		if (!err)
			err = whole(&f, it, &g->prog, &ms, e);
		if (!err)
			err = window(&f, it, &g->prog, &ms, e);
		if (err)
			k2_err_prefix(e, "program %llu: ", (unsigned long long)it);
		k2_smt_stats(f.s, &sst);
		/* counterexamples the library itself found not to replay ("k2 smt:" lines) */
		for (uint64_t k = 0; k < sst.disagreements; k++)
			note(&f, it, "a counterexample the library did not confirm",
			     "see the \"k2 smt:\" line before");
		if (st->disagreements != before && f.log && g) {
			/* the program, to reproduce it (the mutants are seeded the same way) */
			fprintf(f.log, "program %llu (type %u, %u maps):\n", (unsigned long long)it,
				g->prog.type, g->prog.n_maps);
			for (uint32_t m = 0; m < g->prog.n_maps; m++)
				fprintf(f.log, "map %u: %s key %u value %u max %u flags %#x\n", m,
					k2_map_type_name(g->prog.maps[m].type),
					g->prog.maps[m].key_size, g->prog.maps[m].value_size,
					g->prog.maps[m].max_entries, g->prog.maps[m].flags);
			k2_disasm_prog(f.log, g->prog.insns, g->prog.n_insns);
		}
		k2_smt_free(f.s);
		f.s = NULL;
		k2_gen_prog_free(g);
		dt = (k2s_now_ms() - tp) / 1e3;
		if (dt > st->slowest_s) {
			st->slowest_s = dt;
			st->slowest = it;
		}
		if (dt > 60 && f.log)
			fprintf(f.log, "program %llu (seed %llu): slow: %.0f s (options %d, timeout "
				"%u ms)\n", (unsigned long long)it, (unsigned long long)o->seed, dt,
				(int)(it % FUZZ_SESSIONS), so.timeout_ms);
		if (o->every && (it + 1 - first) % o->every == 0)
			fprintf(stderr, "fuzz-smt: %llu programs, %llu disagreements, %.0f s\n",
				(unsigned long long)(it + 1 - first),
				(unsigned long long)st->disagreements, (k2s_now_ms() - t0) / 1e3);
	}
	st->seconds = (k2s_now_ms() - t0) / 1e3;
	k2_mapstate_free(ms);
	free(f.in);
	return err;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: k2 fuzz-smt [-n N] [--seed S] [--first I] [--insns N] [--timeout MS]\n"
		   "                   [--every N]\n"
		   "Random programs (bpf/k2_gen.h) and one-instruction mutants: z3's verdicts on\n"
		   "whole programs and windows against bpf/interp (counterexamples replayed,\n"
		   "\"equivalent\" pairs run on random inputs), and the encoding with its inputs\n"
		   "fixed against the interpreter's run. Exit 1 on any disagreement. Program I\n"
		   "depends on (S, I) alone: `--seed S --first I -n 1` reruns one that the log names.\n");
}

int k2_cmd_fuzz_smt(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "insns", required_argument, NULL, 'i' },
		{ "timeout", required_argument, NULL, 't' },
		{ "every", required_argument, NULL, 'e' },
		{ "first", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct k2_smt_fuzz_opts o = { .sz = sizeof(o), .n = 1000, .seed = 1, .log = stderr };
	struct k2_smt_fuzz_stats st;
	struct k2_err e = { 0 };
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "n:h", lo, NULL)) != -1) {
		switch (c) {
		case 'n': o.n = strtoull(optarg, NULL, 0); break;
		case 's': o.seed = strtoull(optarg, NULL, 0); break;
		case 'i': o.n_insns = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 't': o.timeout_ms = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'e': o.every = strtoull(optarg, NULL, 0); break;
		case 'f': o.first = strtoull(optarg, NULL, 0); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (k2_smt_fuzz(&o, &st, &e)) {
		fprintf(stderr, "k2 fuzz-smt: %s\n", e.msg);
		return 2;
	}
	printf("fuzz-smt: %llu programs; agreement: %llu checks, %llu unsupported, %llu "
	       "unknown; equivalence: %llu programs, %llu windows (%llu equivalent, %llu differ, "
	       "%llu unknown), %llu random inputs run; %llu disagreements; %.0f s (slowest: "
	       "program %llu, %.1f s)\n",
	       (unsigned long long)st.programs, (unsigned long long)st.agree_checks,
	       (unsigned long long)st.agree_unsupported, (unsigned long long)st.agree_unknown,
	       (unsigned long long)st.prog_checks, (unsigned long long)st.window_checks,
	       (unsigned long long)st.equivalent, (unsigned long long)st.different,
	       (unsigned long long)st.unknown, (unsigned long long)st.inputs_run,
	       (unsigned long long)st.disagreements, st.seconds,
	       (unsigned long long)st.slowest, st.slowest_s);
	return st.disagreements ? 1 : 0;
}
