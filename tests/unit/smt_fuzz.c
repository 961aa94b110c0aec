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
