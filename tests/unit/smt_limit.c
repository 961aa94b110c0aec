/* tests/unit/smt_limit.c: k2_smt_limit cuts a session's z3 checks off at its time limit. */
#include <criterion/criterion.h>
#include <time.h>

#include "tests/unit/smt_util.h"

/*
 * a / b * b + a % b against a, on two 64-bit helper results (BPF's a / 0 = 0 and a % 0 = a
 * keep it an identity): equivalent, and a divider-and-multiplier identity that bit-blasting
 * cannot prove in any time the test would wait for.
 */
static const char *div_mod =
	"call 5\nr6 = r0\ncall 5\nr7 = r6\nr7 /= r0\nr7 *= r0\nr8 = r6\nr8 %= r0\n"
	"r7 += r8\nr0 = r7\nexit\n";
static const char *plain = "call 5\nr6 = r0\ncall 5\nr0 = r6\nexit\n";

struct pair {
	struct k2_prog a, b;
	struct k2_smt *s;
};

/* A session whose own per-check timeout (10 min) is far beyond the test's 60 s. */
static void setup(struct pair *x)
{
	struct k2_smt_opts o = { .sz = sizeof(o), .timeout_ms = 600000, .no_cache = true };
	struct k2_err e = { 0 };

	x->a = prog_of(BPF_PROG_TYPE_XDP, div_mod, NULL, 0);
	x->b = prog_of(BPF_PROG_TYPE_XDP, plain, NULL, 0);
	cr_assert_eq(k2_smt_new(&o, &x->s, &e), 0, "%s", e.msg);
}

static void teardown(struct pair *x)
{
	k2_smt_free(x->s);
	free(x->a.insns);
	free(x->b.insns);
}

/* Only the limit can end this query before the test's timeout fails it. */
Test(smt_limit, cuts_a_running_check_off, .timeout = 60)
{
	struct pair x;
	struct k2_err e = { 0 };
	struct k2_smt_stats st;
	enum k2_verdict v;

	setup(&x);
	k2_smt_limit(x.s, 300);
	cr_assert_eq(k2_smt_equiv_prog(x.s, &x.a, &x.b, &v, NULL, &e), 0, "%s", e.msg);
	cr_assert_eq(v, K2_UNKNOWN, "verdict %s (%s)", k2_verdict_name(v), k2_smt_reason(x.s));
	k2_smt_stats(x.s, &st);
	cr_assert_geq(st.z3_calls, 1, "z3 was never asked");
	cr_assert_eq(st.unknown, 1);
	teardown(&x);
}

/* Once the limit has passed, no check is started; removing the limit lets them run again. */
Test(smt_limit, spent_limit_starts_no_check, .timeout = 60)
{
	struct timespec ts = { 0, 20000000 };
	struct pair x;
	struct k2_err e = { 0 };
	struct k2_smt_stats st;
	enum k2_verdict v;

	setup(&x);
	k2_smt_limit(x.s, 1);
	nanosleep(&ts, NULL);
	cr_assert_eq(k2_smt_equiv_prog(x.s, &x.a, &x.b, &v, NULL, &e), 0, "%s", e.msg);
	cr_assert_eq(v, K2_UNKNOWN);
	cr_assert(strstr(k2_smt_reason(x.s), "time limit"), "reason: %s", k2_smt_reason(x.s));
	k2_smt_stats(x.s, &st);
	cr_assert_eq(st.z3_calls, 0, "%llu checks made after the limit",
		     (unsigned long long)st.z3_calls);

	/* without a limit, z3 answers an easy question on the same session */
	k2_smt_limit(x.s, 0);
	free(x.a.insns);
	free(x.b.insns);
	x.a = prog_of(BPF_PROG_TYPE_XDP, "call 5\nr0 *= 2\nexit\n", NULL, 0);
	x.b = prog_of(BPF_PROG_TYPE_XDP, "call 5\nr0 <<= 1\nexit\n", NULL, 0);
	cr_assert_eq(k2_smt_equiv_prog(x.s, &x.a, &x.b, &v, NULL, &e), 0, "%s", e.msg);
	cr_assert_eq(v, K2_EQUIVALENT, "reason: %s", k2_smt_reason(x.s));
	k2_smt_stats(x.s, &st);
	cr_assert_geq(st.z3_calls, 1);
	teardown(&x);
}
