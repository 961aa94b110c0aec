/* smt/cmd_equiv.c: `k2 equiv`: two programs (or a window of them) proven equal or refuted. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smt/k2smt.h"
#include "smt/window.h"

struct equiv_opts {
	const char *a, *b, *sec, *smt2;
	bool window;
	uint32_t ws, we;
	struct k2_smt_opts so;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: k2 equiv A.o B.o [-s SECTION] [--window S:E] [--smt2 FILE] [--timeout MS]\n"
		"                [--no-memtype] [--no-maptype] [--no-offset] [--no-modular]\n"
		"                [--no-cache] [--no-prefilter] [--no-bounds] [--unroll N]\n"
		"Proves with z3 that the programs of SECTION (default: the first) in A.o and B.o\n"
		"give the same r0, packet, context, map contents and side effects on every input\n"
		"their program type allows. With --window S:E, B must be A with instructions\n"
		"[S, E) replaced, and only that window is checked, against the live registers\n"
		"and memory after it. Prints `equivalent` (exit 0), `differs` with a\n"
		"counterexample that both programs are run on in the interpreter (exit 1), or\n"
		"`unknown` with the reason (exit 2, also for errors). --smt2 writes every z3\n"
		"query as SMT-LIB2 for another solver.\n");
}

static int parse_window(const char *s, uint32_t *ws, uint32_t *we)
{
	char *end;
	unsigned long a = strtoul(s, &end, 10), b;

	if (end == s || *end != ':')
		return -1;
	s = end + 1;
	b = strtoul(s, &end, 10);
	if (end == s || *end || a >= b || b > 1000000)
		return -1;
	*ws = (uint32_t)a;
	*we = (uint32_t)b;
	return 0;
}

static int parse_args(int argc, char **argv, struct equiv_opts *o)
{
	enum { O_MEMTYPE = 256, O_MAPTYPE, O_OFFSET, O_MODULAR, O_CACHE, O_PREFILTER, O_BOUNDS,
	       O_SMT2, O_TIMEOUT, O_UNROLL };
	static const struct option lo[] = {
		{ "section", required_argument, NULL, 's' },
		{ "window", required_argument, NULL, 'w' },
		{ "smt2", required_argument, NULL, O_SMT2 },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "unroll", required_argument, NULL, O_UNROLL },
		{ "no-memtype", no_argument, NULL, O_MEMTYPE },
		{ "no-maptype", no_argument, NULL, O_MAPTYPE },
		{ "no-offset", no_argument, NULL, O_OFFSET },
		{ "no-modular", no_argument, NULL, O_MODULAR },
		{ "no-cache", no_argument, NULL, O_CACHE },
		{ "no-prefilter", no_argument, NULL, O_PREFILTER },
		{ "no-bounds", no_argument, NULL, O_BOUNDS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->so.sz = sizeof(o->so);
	optind = 1;
	while ((c = getopt_long(argc, argv, "s:w:h", lo, NULL)) != -1) {
		switch (c) {
		case 's': o->sec = optarg; break;
		case 'w':
			if (parse_window(optarg, &o->ws, &o->we))
				return fprintf(stderr, "k2 equiv: --window %s: expected S:E with "
						       "S < E\n", optarg), -1;
			o->window = true;
			break;
		case O_SMT2: o->smt2 = optarg; break;
		case O_TIMEOUT: o->so.timeout_ms = (uint32_t)strtoul(optarg, NULL, 0); break;
		case O_UNROLL: o->so.unroll = (uint32_t)strtoul(optarg, NULL, 0); break;
		case O_MEMTYPE: o->so.no_memtype = true; break;
		case O_MAPTYPE: o->so.no_maptype = true; break;
		case O_OFFSET: o->so.no_offset = true; break;
		case O_MODULAR: o->so.no_modular = true; break;
		case O_CACHE: o->so.no_cache = true; break;
		case O_PREFILTER: o->so.no_prefilter = true; break;
		case O_BOUNDS: o->so.no_bounds = true; break;
		case 'h': usage(stdout); return 1;
		default: usage(stderr); return -1;
		}
	}
	if (optind != argc - 2) {
		usage(stderr);
		return -1;
	}
	o->a = argv[optind];
	o->b = argv[optind + 1];
	return 0;
}

static bool all_zero(const uint8_t *b, uint32_t n);

/* Lines of 16 bytes; all-zero lines are left out (and said so). */
static void print_hex_lines(const char *indent, const uint8_t *b, uint32_t n)
{
	uint32_t zero = 0;

	for (uint32_t o = 0; o < n; o += 16) {
		if (all_zero(b + o, n - o < 16 ? n - o : 16)) {
			zero++;
			continue;
		}
		printf("%s%04x:", indent, o);
		for (uint32_t i = o; i < o + 16 && i < n; i++)
			printf(" %02x", b[i]);
		printf("\n");
	}
	if (zero)
		printf("%s(%u lines of zeros not shown)\n", indent, zero);
}

static bool all_zero(const uint8_t *b, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static void print_maps(const struct k2_prog *p, const struct k2_mapstate *ms)
{
	uint8_t *k = malloc(512), *nk = malloc(512), *v = malloc(1 << 16);

	if (!k || !nk || !v || !ms)
		goto out;
	for (uint32_t m = 0; m < p->n_maps; m++) {
		const uint8_t *pk = NULL;
		uint32_t n = 0;

		while (!k2_mapstate_next_key(ms, m, pk, nk) && n < 64) {
			memcpy(k, nk, p->maps[m].key_size);
			pk = k;
			if (k2_mapstate_lookup(ms, m, k, v))
				continue;
			if (!n++)
				printf("  map %s:\n", p->maps[m].name);
			printf("    key ");
			for (uint32_t i = 0; i < p->maps[m].key_size; i++)
				printf("%02x", k[i]);
			printf(": ");
			for (uint32_t i = 0; i < p->maps[m].value_size; i++)
				printf("%02x", v[i]);
			printf("\n");
		}
	}
out:
	free(k);
	free(nk);
	free(v);
}

static void print_input(const struct k2_prog *p, const struct k2_input *in)
{
	printf("counterexample input:\n  packet: %u bytes\n", in->pkt_len);
	print_hex_lines("    ", in->pkt, in->pkt_len);
	if (in->ctx_len && !all_zero(in->ctx, in->ctx_len)) {
		printf("  ctx: %u bytes\n", in->ctx_len);
		print_hex_lines("    ", in->ctx, in->ctx_len);
	}
	if (in->n_ndet) {
		printf("  non-deterministic values:");
		for (uint32_t i = 0; i < in->n_ndet; i++)
			printf(" %#llx", (unsigned long long)in->ndet[i]);
		printf("\n");
	}
	printf("  cpu: %u\n", in->cpu);
	print_maps(p, in->maps);
}

static void print_result(const char *name, const struct k2_result *r)
{
	if (r->status == K2_RUN_OK)
		printf("%s: r0 = %#llx, packet %u bytes, %u side effects%s\n", name,
		       (unsigned long long)r->r0, r->pkt_len, r->n_effects,
		       r->tail_call ? ", tail call" : "");
	else
		printf("%s: %s at insn %u: %s\n", name, k2_status_name(r->status), r->err_insn,
		       r->err_reason);
}

/* Both programs on the counterexample in bpf/interp: 1 when the runs differ. */
static int confirm_prog(const struct k2_prog *a, const struct k2_prog *b,
			const struct k2_input *in)
{
	struct k2_vm *va = NULL, *vb = NULL;
	struct k2_result ra, rb;
	struct k2_err e = { 0 };
	char why[256] = "";
	int d;

	if (!k2_vm_new(a, NULL, &va, &e) && !k2_vm_new(b, NULL, &vb, &e)) {
		k2_vm_run(va, in, &ra);
		print_result("A", &ra);
		k2_vm_run(vb, in, &rb);
		print_result("B", &rb);
		for (uint32_t i = 0; ra.status == K2_RUN_OK && rb.status == K2_RUN_OK &&
				     i < ra.pkt_len && i < rb.pkt_len; i++)
			if (ra.pkt[i] != rb.pkt[i]) {
				printf("first packet difference at %u: %02x vs %02x\n", i,
				       ra.pkt[i], rb.pkt[i]);
				break;
			}
	}
	k2_vm_free(va);
	k2_vm_free(vb);
	d = k2s_replay_prog(a, b, in, why, sizeof(why), &e);
	if (d < 0)
		printf("interpreter: replay failed: %s\n", e.msg);
	else
		printf("interpreter: %s (%s)\n", d ? "confirmed, the runs differ" : "NOT CONFIRMED",
		       why);
	return d;
}

static void print_wout(const char *name, const struct k2_wout *o, uint16_t live_out)
{
	if (o->status != K2_RUN_OK) {
		printf("%s: %s at window insn %u: %s\n", name, k2_status_name(o->status),
		       o->err_insn, o->err_reason);
		return;
	}
	printf("%s: exit ", name);
	if (o->exit == K2_WEXIT_RETURN)
		printf("return");
	else
		printf("%d", o->exit);
	for (int r = 0; r < K2_NREGS; r++)
		if (live_out >> r & 1)
			printf("  r%d=%#llx(t%u)", r, (unsigned long long)o->r[r], o->t[r]);
	printf("  (%u bytes written)\n", o->n_bytes);
}

/* The window counterexample: the live-in state, and both windows run on it. */
static int confirm_window(struct k2_smt_window *sw, const struct bpf_insn *c, uint32_t n,
			  struct k2_wstate *st)
{
	struct k2_window *wo = NULL, *wc = NULL;
	struct k2_wout *oo = malloc(sizeof(*oo)), *oc = malloc(sizeof(*oc));
	uint32_t meta, data, end;
	char why[256] = "";
	int d = -1;

	printf("counterexample state at insn %u:\n", sw->win.start);
	for (int r = 0; r < K2_NREGS; r++) {
		enum k2_rtype t;
		uint64_t v;

		if (!(sw->win.live_in >> r & 1))
			continue;
		k2_wstate_get_reg(st, (unsigned)r, &t, &v);
		printf("  r%d = %#llx (type %u)\n", r, (unsigned long long)v, t);
	}
	k2_wstate_pkt_bounds(st, &meta, &data, &end);
	printf("  packet bounds: meta %u, data %u, end %u\n", meta, data, end);
	if (!oo || !oc || k2_window_new(&wo) || k2_window_new(&wc) ||
	    k2_window_set(wo, sw->vm, sw->orig, sw->n, NULL) ||
	    k2_window_set(wc, sw->vm, c, n, NULL))
		goto out;
	k2_vm_wrun(sw->vm, wo, st, oo);
	k2_vm_wrun(sw->vm, wc, st, oc);
	print_wout("A window", oo, sw->live_out);
	print_wout("B window", oc, sw->live_out);
	d = k2s_win_replay(sw, c, n, st, why, sizeof(why));
	if (d < 0)
		printf("interpreter: replay failed (%d)\n", d);
	else
		printf("interpreter: %s (%s)\n", d ? "confirmed, the windows differ" :
			"NOT CONFIRMED", why);
out:
	k2_window_free(wo);
	k2_window_free(wc);
	free(oo);
	free(oc);
	return d;
}

/* B as A with [ws, we) replaced: the replacement, or -EINVAL naming what differs. */
static int window_cand(const struct k2_prog *a, const struct k2_prog *b, uint32_t ws,
		       uint32_t we, const struct bpf_insn **c, uint32_t *n, struct k2_err *e)
{
	struct k2_splice_opts so = { .sz = sizeof(so), .n_main = a->n_main };
	struct bpf_insn *ins = NULL;
	uint32_t nn = 0, len;
	struct k2_edit ed;
	int err;

	if (we > a->n_insns || b->n_insns + (we - ws) < a->n_insns)
		return k2_err_set(e, -EINVAL, "window %u:%u does not fit the programs", ws, we);
	len = b->n_insns + (we - ws) - a->n_insns;
	if (ws + len > b->n_insns)
		return k2_err_set(e, -EINVAL, "window %u:%u does not fit B", ws, we);
	ed = (struct k2_edit){ ws, we, b->insns + ws, len };
	err = k2_splice(a->insns, a->n_insns, &ed, 1, &so, &ins, &nn, NULL, NULL, e);
	if (err)
		return err;
	if (nn != b->n_insns || memcmp(ins, b->insns, nn * sizeof(*ins)))
		err = k2_err_set(e, -EINVAL, "B is not A with window %u:%u replaced by B's "
				 "insns %u:%u", ws, we, ws, ws + len);
	free(ins);
	*c = b->insns + ws;
	*n = len;
	return err;
}

static int run_window(struct k2_smt *s, const struct equiv_opts *o, const struct k2_prog *a,
		      const struct k2_prog *b, enum k2_verdict *v, struct k2_err *e)
{
	struct k2_analysis *an = NULL;
	struct k2_smt_window *sw = NULL;
	struct k2_wstate *cex = NULL;
	const struct bpf_insn *c = NULL;
	struct k2_win w;
	uint32_t n = 0;
	int err;

	err = window_cand(a, b, o->ws, o->we, &c, &n, e);
	if (!err)
		err = k2_analysis_new(a, NULL, &an, e);
	if (!err)
		err = k2_win_describe(an, o->ws, o->we, &w, e);
	if (!err)
		err = k2_smt_window_new(s, an, &w, &sw, e);
	if (!err)
		err = k2_wstate_new(sw->vm, &cex);
	if (!err)
		err = k2_smt_window_equiv(sw, c, n, v, sw->vm, cex, e);
	if (!err) {
		printf("%s", k2_verdict_name(*v));
		if (k2_smt_reason(s)[0])
			printf(" (%s)", k2_smt_reason(s));
		printf("\n");
	}
	if (!err && *v == K2_DIFFERENT && confirm_window(sw, c, n, cex) != 1)
		*v = K2_UNKNOWN;
	k2_wstate_free(cex);
	k2_smt_window_free(sw);
	k2_analysis_free(an);
	return err;
}

static int run_prog(struct k2_smt *s, const struct k2_prog *a, const struct k2_prog *b,
		    enum k2_verdict *v, struct k2_err *e)
{
	struct k2_input *cex = calloc(1, sizeof(*cex));
	int err;

	if (!cex)
		return k2_err_set(e, -ENOMEM, "out of memory");
	err = k2_smt_equiv_prog(s, a, b, v, cex, e);
	if (!err) {
		printf("%s", k2_verdict_name(*v));
		if (k2_smt_reason(s)[0])
			printf(" (%s)", k2_smt_reason(s));
		printf("\n");
	}
	if (!err && *v == K2_DIFFERENT) {
		print_input(a, cex);
		if (confirm_prog(a, b, cex) != 1)
			*v = K2_UNKNOWN;
	}
	free(cex);
	return err;
}

static struct k2_prog *open_prog(const char *path, const char *sec, struct k2_object **obj,
				 struct k2_err *e)
{
	struct k2_prog *p;

	if (k2_object_open(path, obj, e))
		return NULL;
	p = k2_object_prog(*obj, sec);
	if (!p)
		k2_err_set(e, -ENOENT, "%s: no program %s", path, sec ? sec : "");
	return p;
}

int k2_cmd_equiv(int argc, char **argv)
{
	struct equiv_opts o;
	struct k2_object *oa = NULL, *ob = NULL;
	struct k2_prog *a, *b;
	struct k2_smt *s = NULL;
	struct k2_err e = { 0 };
	enum k2_verdict v = K2_UNKNOWN;
	char tmp[4096] = "";
	int err = parse_args(argc, argv, &o);

	if (err)
		return err < 0 ? 2 : 0;
	a = open_prog(o.a, o.sec, &oa, &e);
	b = a ? open_prog(o.b, o.sec, &ob, &e) : NULL;
	if (!a || !b) {
		err = -EINVAL;
		goto out;
	}
	if (o.smt2) {
		FILE *f;

		snprintf(tmp, sizeof(tmp), "%s.tmp%d", o.smt2, (int)getpid());
		f = fopen(tmp, "w");
		if (!f) {
			err = k2_err_set(&e, -errno, "%s: cannot create", tmp);
			goto out;
		}
		fprintf(f, "; k2 equiv %s %s\n(set-logic QF_BV)\n", o.a, o.b);
		fclose(f);
		o.so.smt2_path = tmp;
	}
	err = k2_smt_new(&o.so, &s, &e);
	if (err)
		goto out;
	if (o.window && !o.so.no_modular)
		err = run_window(s, &o, a, b, &v, &e);
	else
		err = run_prog(s, a, b, &v, &e);
	if (!err && o.smt2 && rename(tmp, o.smt2))
		err = k2_err_set(&e, -errno, "%s: cannot write", o.smt2);
	if (!err && v == K2_UNKNOWN && !k2_smt_reason(s)[0])
		printf("(no reason given)\n");
out:
	if (tmp[0])
		unlink(tmp);
	if (err)
		fprintf(stderr, "k2 equiv: %s\n", e.msg[0] ? e.msg : "failed");
	k2_smt_free(s);
	k2_object_free(oa);
	k2_object_free(ob);
	if (err)
		return 2;
	return v == K2_EQUIVALENT ? 0 : v == K2_DIFFERENT ? 1 : 2;
}
