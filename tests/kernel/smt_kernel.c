/* tests/kernel/smt_kernel.c: z3's counterexamples run in the kernel (BPF_PROG_TEST_RUN) too. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "bpf/k2_gen.h"
#include "kernel_bench/k2_kern.h"
#include "smt/k2smt.h"

static void need_kernel(void)
{
	struct k2_err e = { 0 };

	if (k2_kern_probe(&e))
		cr_skip_test("kernel tests skipped: %s", e.msg);
}

/* One ALU immediate of the main function changed; false if there is none. */
static bool mutate(struct k2_rng *r, struct bpf_insn *ins, uint32_t n)
{
	for (int tries = 0; tries < 32; tries++) {
		uint32_t i = (uint32_t)k2_rng_below(r, n);
		uint8_t cl = BPF_CLASS(ins[i].code);

		if ((i > 0 && ins[i - 1].code == (BPF_LD | BPF_IMM | BPF_DW)) ||
		    (cl != BPF_ALU && cl != BPF_ALU64) || BPF_SRC(ins[i].code) != BPF_K ||
		    BPF_OP(ins[i].code) == BPF_END || BPF_OP(ins[i].code) == BPF_NEG)
			continue;
		ins[i].imm = (int32_t)((uint32_t)ins[i].imm + 1 + (uint32_t)k2_rng_below(r, 3));
		return true;
	}
	return false;
}

struct tally {
	int cex, kern_r0, through_interp, refused;
};

/*
 * A counterexample of p vs q: both run in the kernel and in bpf/interp on it. Each kernel
 * run must match the interpreter's (r0, packet, ctx, maps), so the difference the
 * interpreter shows is the kernel's too; r0 is compared directly.
 */
static void check_cex(const struct k2_prog *p, const struct k2_prog *q, const struct k2_input *in,
		      struct tally *t)
{
	struct k2_diff *dp = NULL, *dq = NULL;
	struct k2_diff_outcome op, oq;
	struct k2_err e = { 0 };

	if (k2_diff_new(p, NULL, &dp, &e) || k2_diff_new(q, NULL, &dq, &e)) {
		t->refused++; /* a mutant the verifier rejects */
		goto out;
	}
	if (k2_diff_run(dp, in, &op, &e) || k2_diff_run(dq, in, &oq, &e)) {
		t->refused++;
		goto out;
	}
	t->cex++;
	cr_expect(!op.mismatch, "kernel and interpreter differ on A: %s", op.what);
	/* the interpreter refuses some runs the kernel makes (a helper reading uninitialised
	 * stack: garbage in the kernel; bpf/k2_interp.h): a mutant may fail where the kernel
	 * runs, which is a difference the search must reject too */
	cr_expect(!oq.mismatch || (oq.kinds == K2_DIFF_STATUS && oq.interp_status != K2_RUN_OK),
		  "kernel and interpreter differ on B: %s", oq.what);
	if (op.interp_status != K2_RUN_OK || oq.interp_status != K2_RUN_OK)
		t->through_interp++;
	else if (op.kern_r0 != oq.kern_r0)
		t->kern_r0++;
	else
		t->through_interp++; /* packet, ctx, maps or r0's high half */
out:
	k2_diff_free(dp);
	k2_diff_free(dq);
}

Test(smt_kernel, random_counterexamples_replay_in_the_kernel, .timeout = 600)
{
	struct k2_smt_opts so = { .sz = sizeof(so), .timeout_ms = 3000 };
	struct k2_input *cex = calloc(1, sizeof(*cex));
	struct k2_smt *s;
	struct k2_err e = { 0 };
	struct tally t = { 0 };
	struct k2_rng rng;

	need_kernel();
	cr_assert(cex);
	cr_assert_eq(k2_smt_new(&so, &s, &e), 0, "%s", e.msg);
	k2_rng_seed(&rng, 2026);
	for (int i = 0; i < 150; i++) {
		static const uint32_t types[] = { BPF_PROG_TYPE_XDP, BPF_PROG_TYPE_SCHED_CLS,
						  BPF_PROG_TYPE_SOCKET_FILTER };
		struct k2_gen_opts go = { .sz = sizeof(go), .prog_type = types[i % 3],
					  .n_insns = 24 };
		struct k2_gen_prog *g;
		struct k2_prog q;
		enum k2_verdict v;

		cr_assert_eq(k2_gen_prog_new(&rng, &go, &g, &e), 0, "%s", e.msg);
		q = g->prog;
		q.insns = malloc(q.n_insns * sizeof(*q.insns));
		cr_assert(q.insns);
		memcpy(q.insns, g->prog.insns, q.n_insns * sizeof(*q.insns));
		if (mutate(&rng, q.insns, q.n_main) &&
		    !k2_smt_equiv_prog(s, &g->prog, &q, &v, cex, &e) && v == K2_DIFFERENT)
			check_cex(&g->prog, &q, cex, &t);
		k2_err_clear(&e);
		free(q.insns);
		k2_gen_prog_free(g);
	}
	fprintf(stderr, "smt_kernel: %d counterexamples run in the kernel (%d by r0, %d through "
			"the interpreter's outputs), %d not loadable or runnable\n",
		t.cex, t.kern_r0, t.through_interp, t.refused);
	cr_expect_gt(t.cex, 20, "too few counterexamples reached the kernel");
	k2_smt_free(s);
	free(cex);
}
