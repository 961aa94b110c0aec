/* tests/kernel/safety_kernel.c: what smt/safety proves safe, the kernel verifier accepts
 * (random programs, and random mutations of them and of the corpus). */
#include <criterion/criterion.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_bench/k2_kern.h"
#include "smt/k2smt.h"

/* Verdict (safe, unsafe, unknown) x kernel (accepted, rejected). */
struct matrix {
	uint32_t n[3][2];
	uint32_t malformed;   /* mutations bpf/ refuses to build a CFG for */
	uint32_t errors;      /* ... or to check (k2_smt_safety_prog's error) */
	uint32_t by_rule[K2_RULE__COUNT][2]; /* first violation's rule x kernel */
	uint32_t static_only[2];             /* unsafe with no input x kernel */
};

static void need_kernel(void)
{
	struct k2_err e = { 0 };

	if (k2_kern_probe(&e))
		cr_skip_test("kernel tests skipped: bpf() unusable here: %s", e.msg);
}

/* What bpf/'s analysis saw, for a disagreement's report. */
static void explain(const struct k2_prog *p)
{
	struct k2_analysis *an;

	k2_disasm_prog(stderr, p->insns, p->n_insns);
	if (k2_analysis_new(p, NULL, &an, NULL))
		return;
	for (uint32_t i = 0; i < p->n_insns; i++) {
		const struct k2_access *a = k2_absint_access(an->ai, i);

		if (!k2_absint_reached(an->ai, i))
			fprintf(stderr, "  insn %u: not reached by the analysis\n", i);
		else if (a->region != K2_MEM_NONE)
			fprintf(stderr, "  insn %u: access region %u flags %#x off %lld\n", i,
				a->region, a->flags, (long long)a->off);
	}
	k2_analysis_free(an);
}

/* Our verdict and the kernel's for one program; a "safe" the kernel rejects fails the test. */
static void judge(struct k2_smt *s, const struct k2_prog *p, const char *what, struct matrix *m)
{
	static char log[1 << 18];
	struct k2_kern_load_opts lo = { .sz = sizeof(lo), .log_buf = log, .log_size = sizeof(log) };
	struct k2_safety_report r;
	struct k2_kern_maps *km;
	struct k2_kern_prog *kp = NULL;
	struct k2_cfg *cfg;
	struct k2_err e = { 0 };
	int rej;

	if (k2_cfg_build(p->insns, p->n_insns, NULL, &cfg, NULL)) {
		m->malformed++;
		return;
	}
	k2_cfg_free(cfg);
	if (k2_smt_safety_prog(s, p, NULL, &r, &e)) {
		/* a program bpf/ refuses outright (a map index out of range): an error, no verdict */
		m->errors++;
		return;
	}
	cr_assert_eq(k2_kern_maps_create(p->maps, p->n_maps, &km, &e), 0, "%s: %s", what, e.msg);
	log[0] = 0;
	rej = k2_kern_prog_load(p, km, &lo, &kp, &e) != 0;
	/* Linux 6.18's own internal error ("verifier bug: ..."), not a verdict on the program */
	if (rej && strstr(e.msg, "verifier bug")) {
		k2_safety_report_free(&r);
		k2_kern_maps_free(km);
		return;
	}
	m->n[r.verdict][rej]++;
	if (r.verdict == K2_UNSAFE && r.n) {
		m->by_rule[r.v[0].rule][rej]++;
		if (!r.v[0].has_input)
			m->static_only[rej]++;
	}
	if (r.verdict == K2_SAFE && rej) {
		size_t l = strlen(log);

		cr_expect(0, "%s: proven safe, but the kernel rejects it: %s\n%s", what, e.msg,
			  l > 1500 ? log + l - 1500 : log);
		explain(p);
	}
	if (r.verdict == K2_UNSAFE && !rej && getenv("K2_SAFETY_VERBOSE"))
		fprintf(stderr, "%s: unsafe but accepted: %s\n", what, r.v[0].msg);
	k2_kern_prog_free(kp);
	k2_kern_maps_free(km);
	k2_safety_report_free(&r);
}

/*
 * One random change, as a search proposal or a bug would make it: a memory offset moved, a
 * register renamed, an immediate replaced, a branch dropped or inverted, a pointer returned.
 */
static void mutate(struct k2_rng *rng, struct bpf_insn *v, uint32_t n)
{
	static const int16_t offs[] = { 1, -1, 4, -8, 64, -64, 4096 };
	uint32_t i = (uint32_t)k2_rng_below(rng, n);
	struct bpf_insn *in = &v[i];
	uint8_t cls = BPF_CLASS(in->code);

	if (i > 0 && v[i - 1].code == (BPF_LD | BPF_IMM | BPF_DW))
		in = &v[--i]; /* never the second half of an ld_imm64 */
	cls = BPF_CLASS(in->code);
	switch (k2_rng_below(rng, 5)) {
	case 0:
		if (cls == BPF_LDX || cls == BPF_STX || cls == BPF_ST) {
			in->off = (int16_t)(in->off + offs[k2_rng_below(rng, 7)]);
			break;
		}
		/* fall through */
	case 1:
		if (k2_rng_below(rng, 2))
			in->src_reg = (uint8_t)k2_rng_below(rng, 11) & 0xf;
		else if (in->code != (BPF_JMP | BPF_CALL))
			in->dst_reg = (uint8_t)k2_rng_below(rng, 11) & 0xf;
		break;
	case 2:
		if (in->code != (BPF_JMP | BPF_CALL) && in->code != (BPF_LD | BPF_IMM | BPF_DW))
			in->imm = (int32_t)(k2_rng_below(rng, 2) ? k2_rng_below(rng, 256)
								 : k2_rng_next(rng));
		break;
	case 3:
		/* a check dropped: the conditional jump becomes ja +0 (never taken) */
		for (uint32_t k = 0; k < n; k++) {
			struct bpf_insn *j = &v[(i + k) % n];

			if ((BPF_CLASS(j->code) == BPF_JMP || BPF_CLASS(j->code) == BPF_JMP32) &&
			    BPF_OP(j->code) != BPF_JA && BPF_OP(j->code) != BPF_CALL &&
			    BPF_OP(j->code) != BPF_EXIT) {
				*j = (struct bpf_insn){ .code = BPF_JMP | BPF_JA };
				break;
			}
		}
		break;
	default:
		/* r0 = r10 before an exit: a pointer returned */
		for (uint32_t k = 0; k < n; k++) {
			struct bpf_insn *x = &v[(i + k) % n];

			if (x->code == (BPF_JMP | BPF_EXIT) && (i + k) % n > 0) {
				struct bpf_insn *y = x - 1;

				if (y > v && (y - 1)->code == (BPF_LD | BPF_IMM | BPF_DW))
					break;
				*y = (struct bpf_insn){ .code = BPF_ALU64 | BPF_MOV | BPF_X,
							.dst_reg = 0, .src_reg = 10 };
				break;
			}
		}
		break;
	}
}

static void mutants(struct k2_smt *s, struct k2_rng *rng, const struct k2_prog *p, int count,
		    const char *what, struct matrix *m)
{
	struct bpf_insn *v = malloc(p->n_insns * sizeof(*v));
	char name[300];

	for (int k = 0; k < count; k++) {
		struct k2_prog q = *p;

		memcpy(v, p->insns, p->n_insns * sizeof(*v));
		mutate(rng, v, p->n_insns);
		q.insns = v;
		snprintf(name, sizeof(name), "%s mutant %d", what, k);
		judge(s, &q, name, m);
	}
	free(v);
}

static void print_matrix(const char *title, const struct matrix *m)
{
	static const char *const v[3] = { "safe", "unsafe", "unknown" };

	printf("%s (kernel accepted / rejected):\n", title);
	for (int i = 0; i < 3; i++)
		printf("  %-8s %4u / %4u\n", v[i], m->n[i][0], m->n[i][1]);
	printf("  unsafe with no input (static rule only): %u / %u\n", m->static_only[0],
	       m->static_only[1]);
	for (int r = 0; r < K2_RULE__COUNT; r++)
		if (m->by_rule[r][0] || m->by_rule[r][1])
			printf("    first rule %-50s %4u / %4u\n", k2_rule_name(r), m->by_rule[r][0],
			       m->by_rule[r][1]);
	printf("  mutants without a CFG or refused by bpf/ (skipped): %u, %u\n", m->malformed,
	       m->errors);
}

static struct k2_smt *session(void)
{
	struct k2_smt_opts o = { .sz = sizeof(o), .timeout_ms = 3000 };
	struct k2_smt *s;
	struct k2_err e = { 0 };

	cr_assert_eq(k2_smt_new(&o, &s, &e), 0, "%s", e.msg);
	return s;
}

Test(safety_kernel, generated_and_mutated, .timeout = 300)
{
	static const uint32_t types[] = { BPF_PROG_TYPE_XDP, BPF_PROG_TYPE_SCHED_CLS,
					  BPF_PROG_TYPE_SOCKET_FILTER };
	struct k2_smt *s;
	struct matrix m = { 0 };
	struct k2_rng rng;

	need_kernel();
	s = session();
	k2_rng_seed(&rng, 0x5afe);
	for (int t = 0; t < 3; t++)
		for (int i = 0; i < 30; i++) {
			struct k2_gen_opts o = { .sz = sizeof(o), .prog_type = types[t],
						 .n_insns = 32, .nondet = i % 2 };
			struct k2_gen_prog *gp;
			struct k2_err e = { 0 };
			char what[64];

			cr_assert_eq(k2_gen_prog_new(&rng, &o, &gp, &e), 0, "%s", e.msg);
			snprintf(what, sizeof(what), "type %u program %d", types[t], i);
			judge(s, &gp->prog, what, &m);
			mutants(s, &rng, &gp->prog, 3, what, &m);
			k2_gen_prog_free(gp);
		}
	print_matrix("generated programs and 3 mutants of each", &m);
	cr_expect_eq(m.n[K2_SAFE][1], 0, "%u programs proven safe were rejected", m.n[K2_SAFE][1]);
	cr_expect_gt(m.n[K2_SAFE][0], 50, "too few proven safe");
	cr_expect_gt(m.n[K2_UNSAFE][1], 20, "too few refuted");
	k2_smt_free(s);
}

Test(safety_kernel, corpus_mutated, .timeout = 300)
{
	const char *b = getenv("K2_BUILD");
	struct k2_smt *s;
	struct matrix m = { 0 };
	struct k2_rng rng;
	char pat[512];
	glob_t g;

	need_kernel();
	s = session();
	k2_rng_seed(&rng, 0xc0ffee);
	snprintf(pat, sizeof(pat), "%s/corpus/*.o", b && *b ? b : "build");
	cr_assert_eq(glob(pat, 0, NULL, &g), 0, "no %s (make corpus)", pat);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		struct k2_object *obj;
		struct k2_err e = { 0 };

		/* the big ones take seconds per query and stay unknown (smt/ gaps) */
		if (strstr(g.gl_pathv[i], "maglev") || strstr(g.gl_pathv[i], "router"))
			continue;
		cr_assert_eq(k2_object_open(g.gl_pathv[i], &obj, &e), 0, "%s", e.msg);
		for (uint32_t k = 0; k < obj->n_progs; k++) {
			judge(s, &obj->progs[k], g.gl_pathv[i], &m);
			mutants(s, &rng, &obj->progs[k], 8, g.gl_pathv[i], &m);
		}
		k2_object_free(obj);
	}
	globfree(&g);
	print_matrix("corpus programs and 8 mutants of each", &m);
	cr_expect_eq(m.n[K2_SAFE][1], 0, "%u programs proven safe were rejected", m.n[K2_SAFE][1]);
	cr_expect_geq(m.n[K2_SAFE][0], 14, "too few proven safe");
	k2_smt_free(s);
}
