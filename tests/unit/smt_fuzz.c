/* tests/unit/smt_fuzz.c: z3's verdicts and the encoding against bpf/interp on random programs. */
#include <criterion/criterion.h>

#include "smt/k2smt.h"

/*
 * A short run of `make fuzz-smt` (4 programs per option set): random programs from
 * bpf/k2_gen.h with one-instruction mutants of them and of a window; every counterexample
 * must replay, every "equivalent" pair agree on random inputs, and the encoding with fixed
 * inputs give the interpreter's run.
 */
Test(smt_fuzz, random_programs_agree, .timeout = 600)
{
	struct k2_smt_fuzz_opts o = { .sz = sizeof(o), .n = 32, .seed = 7, .timeout_ms = 1000,
				       .log = stderr };
	struct k2_smt_fuzz_stats st;
	struct k2_err e = { 0 };

	cr_assert_eq(k2_smt_fuzz(&o, &st, &e), 0, "%s", e.msg);
	cr_expect_eq(st.disagreements, 0, "%llu disagreements (see above)",
		     (unsigned long long)st.disagreements);
	cr_expect_eq(st.programs, 32);
	/* the run has to exercise all three verdicts and most agreement checks */
	cr_expect_gt(st.equivalent, 0);
	cr_expect_gt(st.different, 0);
	cr_expect_gt(st.agree_checks - st.agree_unsupported - st.agree_unknown, 20);
	cr_expect_gt(st.window_checks, 10);
}

/* Program i depends on (seed, i) alone (`k2 fuzz-smt --first i -n 1` reruns it): a run's
 * counts are the sums of one-program runs. */
Test(smt_fuzz, programs_rerun_alone, .timeout = 600)
{
	struct k2_smt_fuzz_opts o = { .sz = sizeof(o), .n = 6, .seed = 3, .timeout_ms = 1000 };
	struct k2_smt_fuzz_stats all, one, sum = { 0 };
	struct k2_err e = { 0 };

	cr_assert_eq(k2_smt_fuzz(&o, &all, &e), 0, "%s", e.msg);
	o.n = 1;
	for (o.first = 0; o.first < 6; o.first++) {
		cr_assert_eq(k2_smt_fuzz(&o, &one, &e), 0, "%s", e.msg);
		sum.programs += one.programs;
		sum.prog_checks += one.prog_checks;
		sum.window_checks += one.window_checks;
		sum.agree_checks += one.agree_checks;
	}
	cr_expect_eq(sum.programs, all.programs);
	cr_expect_eq(sum.prog_checks, all.prog_checks);
	cr_expect_eq(sum.window_checks, all.window_checks);
	cr_expect_eq(sum.agree_checks, all.agree_checks);
	/* (verdicts are left out: a query near its timeout may go either way on a busy
	 * machine) */
}
