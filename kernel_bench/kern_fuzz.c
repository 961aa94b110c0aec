/* kernel_bench/kern_fuzz.c: random programs and inputs through kernel and interpreter, counted. */
#include "kernel_bench/kern_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bpf/k2_gen.h"

#define MISMATCH_LINES 50 /* mismatches printed one per line; the rest are counted */

static const uint32_t fuzz_types[] = { BPF_PROG_TYPE_XDP, BPF_PROG_TYPE_SCHED_CLS,
				       BPF_PROG_TYPE_SOCKET_FILTER };

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The generator options of program i: type, ISA and length rotate or vary unless fixed. */
static void prog_opts(const struct k2_fuzz_opts *o, uint64_t i, struct k2_rng *rng,
		      struct k2_gen_opts *g)
{
	memset(g, 0, sizeof(*g));
	g->sz = sizeof(*g);
	g->prog_type = o->prog_type ? o->prog_type : fuzz_types[i % 3];
	g->isa = o->isa ? o->isa : (enum k2_isa)(1 + (i / 3) % 4);
	g->n_insns = o->n_insns ? o->n_insns : 8 + (uint32_t)k2_rng_below(rng, 193);
	g->nondet = k2_rng_below(rng, 4) == 0;
	memcpy(g->mix, o->mix, sizeof(g->mix));
	memcpy(g->no_helpers, o->no_helpers, sizeof(g->no_helpers));
}

struct fuzz {
	struct k2_fuzz_opts o;
	struct k2_fuzz_stats *st;
	uint32_t reports;
	int ncpus;
	char *log;
	struct k2_input *in;
};

static void report_reject(struct fuzz *f, const struct k2_gen_prog *gp, uint64_t i,
			  const char *msg)
{
	if (!f->o.report || f->reports >= f->o.max_reports)
		return;
	f->reports++;
	fprintf(f->o.report,
		"\n## verifier rejected generated program %llu (seed %llu)\n\n- %s\n\n```\n",
		(unsigned long long)i, (unsigned long long)f->o.seed, msg);
	k2_disasm_prog(f->o.report, gp->prog.insns, gp->prog.n_insns);
	fprintf(f->o.report, "```\n\nverifier log (tail):\n\n```\n%s\n```\n",
		strlen(f->log) > 3000 ? f->log + strlen(f->log) - 3000 : f->log);
	fflush(f->o.report);
}

/* Reports the mismatch on the reduced program when reduction works, else on the original. */
static void report(struct fuzz *f, struct k2_diff *d, const struct k2_prog *prog,
		   const struct k2_input *in, const struct k2_diff_outcome *out, const char *title)
{
	struct k2_prog small = *prog;
	struct k2_diff_outcome o2;
	struct bpf_insn *insns = NULL;
	struct k2_diff *d2 = NULL;
	struct k2_err e = { 0 };
	char t2[320];
	uint32_t n;

	struct k2_diff_opts dopts = { .sz = sizeof(dopts), .ignore = f->o.ignore };

	if (!k2_diff_reduce(prog, in, &dopts, out->kinds, &insns, &n, &e)) {
		small.insns = insns;
		small.n_insns = small.n_main = n;
		if (!k2_diff_new(&small, &dopts, &d2, &e) && !k2_diff_run(d2, in, &o2, &e) &&
		    o2.mismatch) {
			snprintf(t2, sizeof(t2), "%s (reduced from %u to %u insns)", title,
				 prog->n_insns, n);
			k2_diff_report(f->o.report, d2, in, &o2, t2);
		} else {
			k2_diff_report(f->o.report, d, in, out, title);
		}
	} else {
		k2_diff_report(f->o.report, d, in, out, title);
	}
	k2_diff_free(d2);
	free(insns);
	fflush(f->o.report);
}

static int one_input(struct fuzz *f, struct k2_diff *d, const struct k2_gen_prog *gp,
		     struct k2_rng *rng, uint64_t i, uint32_t k, bool *mismatch, struct k2_err *e)
{
	struct k2_input *in = f->in;
	struct k2_mapstate *ms;
	struct k2_diff_outcome out;
	char title[256];
	int err;

	k2_gen_input(rng, gp->prog.type, NULL, in);
	err = k2_gen_mapstate(rng, gp->maps, gp->n_maps, (uint32_t)f->ncpus, &ms, e);
	if (err)
		return err;
	in->maps = ms;
	err = k2_diff_run(d, in, &out, e);
	if (!err) {
		f->st->runs++;
		f->st->skipped += out.skipped;
		if (out.mismatch) {
			f->st->mismatches++;
			*mismatch = true;
			for (int b = 0; b < K2_DIFF__KINDS; b++)
				f->st->kinds[b] += (out.kinds >> b) & 1;
			if (f->o.progress && f->st->mismatches <= MISMATCH_LINES)
				fprintf(f->o.progress, "mismatch: program %llu input %u: %s%s\n",
					(unsigned long long)i, k, out.what,
					f->st->mismatches == MISMATCH_LINES
						? " (further ones are counted only)"
						: "");
			if (f->o.report && f->reports < f->o.max_reports) {
				f->reports++;
				snprintf(title, sizeof(title),
					 "fuzz-semantics --seed %llu --first %llu -n 1: input %u",
					 (unsigned long long)f->o.seed, (unsigned long long)i, k);
				report(f, d, &gp->prog, in, &out, title);
			}
		}
	} else {
		k2_err_prefix(e, "program %llu input %u: ", (unsigned long long)i, k);
	}
	k2_mapstate_free(ms);
	return err;
}

static int one_prog(struct fuzz *f, uint64_t i, struct k2_err *e)
{
	struct k2_diff_opts dopts = { .sz = sizeof(dopts), .log_buf = f->log, .log_size = 1u << 20,
				      .ignore = f->o.ignore };
	struct k2_gen_opts g;
	struct k2_gen_prog *gp;
	struct k2_diff *d;
	struct k2_rng rng;
	bool mismatch = false;
	int err;

	k2_rng_seed(&rng, f->o.seed ^ (i * 0x9e3779b97f4a7c15ull));
	prog_opts(&f->o, i, &rng, &g);
	err = k2_gen_prog_new(&rng, &g, &gp, e);
	if (err)
		return err;
	f->st->progs++;
	f->log[0] = '\0';
	err = k2_diff_new(&gp->prog, &dopts, &d, e);
	if (err) {
		/* EFAULT: the verifier's own "verifier bug" reports, rejections all the same. */
		if (err == -EACCES || err == -EINVAL || err == -ENOSPC || err == -E2BIG ||
		    err == -EFAULT) {
			f->st->rejected++;
			f->st->verifier_bugs += strstr(e->msg, "verifier bug") != NULL;
			if (f->o.progress)
				fprintf(f->o.progress, "rejected: program %llu: %s\n",
					(unsigned long long)i, e->msg);
			report_reject(f, gp, i, e->msg);
			err = 0;
		}
		k2_gen_prog_free(gp);
		return err;
	}
	for (uint32_t k = 0; k < f->o.n_inputs && !err; k++)
		err = one_input(f, d, gp, &rng, i, k, &mismatch, e);
	f->st->mismatch_progs += mismatch;
	k2_diff_free(d);
	k2_gen_prog_free(gp);
	return err;
}

int k2_fuzz_semantics(const struct k2_fuzz_opts *opts, struct k2_fuzz_stats *st,
		      struct k2_err *e)
{
	struct fuzz f;
	double t0 = now_s();
	int err = 0;

	memset(&f, 0, sizeof(f));
	memset(st, 0, sizeof(*st));
	if (opts)
		memcpy(&f.o, opts, opts->sz < sizeof(f.o) ? opts->sz : sizeof(f.o));
	if (!f.o.n_progs)
		f.o.n_progs = 1000;
	if (!f.o.n_inputs)
		f.o.n_inputs = 4;
	if (!f.o.progress_every)
		f.o.progress_every = 1000;
	if (!f.o.max_reports)
		f.o.max_reports = 10;
	f.st = st;
	f.ncpus = k2_kern_ncpus();
	f.log = malloc(1u << 20);
	f.in = malloc(sizeof(*f.in));
	if (!f.log || !f.in || f.ncpus <= 0) {
		free(f.log);
		free(f.in);
		return k2_err_set(e, -ENOMEM, "fuzz-semantics: out of memory");
	}
	err = k2_kern_probe(e);
	for (uint64_t i = f.o.first; !err && i < f.o.first + f.o.n_progs; i++) {
		err = one_prog(&f, i, e);
		if (f.o.progress && (i + 1 - f.o.first) % f.o.progress_every == 0) {
			st->seconds = now_s() - t0;
			k2_fuzz_stats_print(f.o.progress, st);
			fflush(f.o.progress);
		}
	}
	st->seconds = now_s() - t0;
	free(f.log);
	free(f.in);
	return err;
}

void k2_fuzz_stats_print(FILE *f, const struct k2_fuzz_stats *st)
{
	static const char *const kind[K2_DIFF__KINDS] = { "status", "r0", "packet", "ctx", "maps" };

	fprintf(f, "fuzz-semantics: %llu programs (%llu rejected by the verifier, %llu of them "
		   "by its internal errors), %llu runs, %llu mismatches in %llu programs",
		(unsigned long long)st->progs, (unsigned long long)st->rejected,
		(unsigned long long)st->verifier_bugs,
		(unsigned long long)st->runs, (unsigned long long)st->mismatches,
		(unsigned long long)st->mismatch_progs);
	for (int b = 0; b < K2_DIFF__KINDS; b++)
		if (st->kinds[b])
			fprintf(f, " %s=%llu", kind[b], (unsigned long long)st->kinds[b]);
	if (st->skipped)
		fprintf(f, ", %llu runs skipped (interpreter room)",
			(unsigned long long)st->skipped);
	fprintf(f, ", %.1f s\n", st->seconds);
}
