/* tests/unit/smt_window.c: window equivalence: live-outs, counterexamples, cache, prefilter. */
#include <criterion/criterion.h>

#include "tests/unit/smt_util.h"

/* r0 = 2 * (data_end - data) + 1, with a dead r4 and a stack slot read back after the window */
static const char *prog_text =
	"r2 = *(u32 *)(r1 + 0)\n"
	"r3 = *(u32 *)(r1 + 4)\n"
	"r0 = r3\n"
	"r0 -= r2\n"            /* 3: window [3, 7) */
	"r0 *= 2\n"
	"r0 += 1\n"
	"*(u64 *)(r10 - 8) = r0\n"
	"r5 = *(u64 *)(r10 - 8)\n" /* 7 */
	"r0 += r5\n"
	"exit\n";

struct wcase {
	const char *cand;
	enum k2_verdict want;
};

static const struct wcase cases[] = {
	{ "r0 -= r2\nr0 *= 2\nr0 += 1\n*(u64 *)(r10 - 8) = r0\n", K2_EQUIVALENT },
	{ "r0 -= r2\nr0 <<= 1\nr0 += 1\n*(u64 *)(r10 - 8) = r0\n", K2_EQUIVALENT },
	{ "r0 -= r2\nr0 <<= 1\nr0 |= 1\n*(u64 *)(r10 - 8) = r0\n", K2_EQUIVALENT },
	{ "r0 -= r2\nr0 <<= 1\nr0 += 1\nr4 = 5\n*(u64 *)(r10 - 8) = r0\n", K2_EQUIVALENT },
	{ "r0 -= r2\nr0 *= 2\nr0 += 1\n*(u64 *)(r10 - 8) = r0\ngoto +0\n", K2_EQUIVALENT },
	{ "r0 -= r2\nr0 *= 3\nr0 += 1\n*(u64 *)(r10 - 8) = r0\n", K2_DIFFERENT },
	{ "r0 -= r2\nr0 *= 2\nr0 += 1\n*(u32 *)(r10 - 8) = r0\n", K2_DIFFERENT },
	{ "r0 -= r2\nr0 *= 2\nr0 ^= 1\n*(u64 *)(r10 - 8) = r0\n", K2_EQUIVALENT },
	{ "r0 -= r2\nr0 *= 2\nr0 += 1\n*(u64 *)(r10 - 16) = r0\n", K2_DIFFERENT },
	{ "r0 -= r3\nr0 *= 2\nr0 += 1\n*(u64 *)(r10 - 8) = r0\n", K2_DIFFERENT },
};

struct setup {
	struct k2_prog p;
	struct k2_analysis *an;
	struct k2_win w;
	struct k2_smt *s;
	struct k2_smt_window *sw;
};

static void setup(struct setup *x, int off)
{
	struct k2_smt_opts o = sopts(off);
	struct k2_err e = { 0 };

	x->p = prog_of(BPF_PROG_TYPE_XDP, prog_text, NULL, 0);
	cr_assert_eq(k2_analysis_new(&x->p, NULL, &x->an, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_win_describe(x->an, 3, 7, &x->w, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_smt_new(&o, &x->s, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_smt_window_new(x->s, x->an, &x->w, &x->sw, &e), 0, "%s", e.msg);
}

static void teardown(struct setup *x)
{
	k2_smt_window_free(x->sw);
	k2_smt_free(x->s);
	k2_analysis_free(x->an);
	free(x->p.insns);
}

/* Both windows on the counterexample state in bpf/interp: r0 or the bytes written differ. */
static void replay(struct setup *x, struct k2_vm *vm, struct k2_wstate *st,
		   const struct bpf_insn *c, uint32_t n)
{
	struct k2_window *wo, *wc;
	static struct k2_wout oo, oc;
	bool differ;

	cr_assert_eq(k2_window_new(&wo), 0);
	cr_assert_eq(k2_window_new(&wc), 0);
	cr_assert_eq(k2_window_set(wo, vm, x->p.insns + 3, 4, NULL), 0);
	cr_assert_eq(k2_window_set(wc, vm, c, n, NULL), 0);
	k2_vm_wrun(vm, wo, st, &oo);
	k2_vm_wrun(vm, wc, st, &oc);
	cr_assert_eq(oo.status, K2_RUN_OK, "the original window fails on the counterexample");
	differ = oc.status != K2_RUN_OK || oo.r[0] != oc.r[0] || oo.n_bytes != oc.n_bytes;
	for (uint32_t i = 0; !differ && i < oo.n_bytes; i++)
		differ = oo.bytes[i].addr != oc.bytes[i].addr ||
			 oo.bytes[i].after != oc.bytes[i].after;
	cr_expect(differ, "the counterexample shows no difference");
	k2_window_free(wo);
	k2_window_free(wc);
}

static void run_cases(int off)
{
	struct setup x;
	struct k2_vm *vm;
	struct k2_wstate *st;
	struct k2_err e = { 0 };

	setup(&x, off);
	cr_assert_eq(k2_vm_new(&x.p, NULL, &vm, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_wstate_new(vm, &st), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct bpf_insn *c;
		size_t n;
		enum k2_verdict v;

		cr_assert_eq(k2_asm_prog(cases[i].cand, &c, &n, &e), 0, "%s", e.msg);
		cr_assert_eq(k2_smt_window_equiv(x.sw, c, (uint32_t)n, &v, vm, st, &e), 0, "%s",
			     e.msg);
		cr_expect_eq(v, cases[i].want, "options %d, candidate %zu: %s (%s)", off, i,
			     k2_verdict_name(v), k2_smt_reason(x.s));
		if (v == K2_DIFFERENT && off != 4 && off != 7)
			replay(&x, vm, st, c, (uint32_t)n);
		free(c);
	}
	k2_wstate_free(st);
	k2_vm_free(vm);
	teardown(&x);
}

Test(smt_window, all_on) { run_cases(0); }
Test(smt_window, no_memtype) { run_cases(1); }
Test(smt_window, no_maptype) { run_cases(2); }
Test(smt_window, no_offset) { run_cases(3); }
Test(smt_window, no_modular) { run_cases(4); }
Test(smt_window, no_cache) { run_cases(5); }
Test(smt_window, no_prefilter) { run_cases(6); }
Test(smt_window, all_off) { run_cases(7); }

/* The same candidate twice: the second is the cache's; without the cache z3 is asked again. */
static uint64_t z3_calls_for_repeat(int off, uint64_t *hits)
{
	struct setup x;
	struct k2_smt_stats st;
	struct k2_err e = { 0 };
	struct bpf_insn *c;
	size_t n;
	enum k2_verdict v;

	setup(&x, off);
	cr_assert_eq(k2_asm_prog(cases[1].cand, &c, &n, &e), 0, "%s", e.msg);
	for (int k = 0; k < 2; k++) {
		cr_assert_eq(k2_smt_window_equiv(x.sw, c, (uint32_t)n, &v, NULL, NULL, &e), 0);
		cr_assert_eq(v, K2_EQUIVALENT);
	}
	k2_smt_stats(x.s, &st);
	*hits = st.cache_hits;
	free(c);
	teardown(&x);
	return st.z3_calls;
}

Test(smt_window, cache_answers_repeats)
{
	uint64_t h_on, h_off, z_on = z3_calls_for_repeat(0, &h_on), z_off;

	z_off = z3_calls_for_repeat(5, &h_off);
	cr_expect_eq(h_on, 1);
	cr_expect_eq(h_off, 0);
	cr_expect_lt(z_on, z_off, "z3 calls with the cache %llu, without %llu",
		     (unsigned long long)z_on, (unsigned long long)z_off);
}

/* The original plus a nop is settled by the prefilter; a refuted candidate's counterexample
 * refutes a second wrong candidate without z3. */
Test(smt_window, prefilter)
{
	struct setup x;
	struct k2_smt_stats st;
	struct k2_err e = { 0 };
	struct bpf_insn *c;
	size_t n;
	enum k2_verdict v;
	const int order[] = { 4, 5, 5 };

	setup(&x, 5); /* cache off, so the repeat reaches the prefilter */
	for (int k = 0; k < 3; k++) {
		cr_assert_eq(k2_asm_prog(cases[order[k]].cand, &c, &n, &e), 0, "%s", e.msg);
		cr_assert_eq(k2_smt_window_equiv(x.sw, c, (uint32_t)n, &v, NULL, NULL, &e), 0);
		cr_expect_eq(v, cases[order[k]].want);
		if (k != 1)
			cr_expect(!strncmp(k2_smt_reason(x.s), "prefilter", 9), "%s",
				  k2_smt_reason(x.s));
		free(c);
	}
	k2_smt_stats(x.s, &st);
	cr_expect_eq(st.prefilter_hits, 2);
	teardown(&x);
}

Test(smt_window, backward_jump_is_unknown)
{
	struct setup x;
	struct k2_err e = { 0 };
	struct bpf_insn *c;
	size_t n;
	enum k2_verdict v;

	setup(&x, 0);
	cr_assert_eq(k2_asm_prog("r0 -= r2\nr0 *= 2\nr0 += 1\nif r0 == 7 goto -2\n"
				 "*(u64 *)(r10 - 8) = r0\n", &c, &n, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_smt_window_equiv(x.sw, c, (uint32_t)n, &v, NULL, NULL, &e), 0, "%s",
		     e.msg);
	cr_expect_eq(v, K2_UNKNOWN);
	free(c);
	teardown(&x);
}

/*
 * fuzz-smt program 121 (seed 1): a window after `w5 = (s8)w8` was proven equal under a
 * precondition that took the alu32 sign extension for a plain move (r5 = 0xbb, not
 * 0xffffffbb), and 0xbb / -7 and 0xbb / 1298748291 are both 0. With r5 = 0xffffffbb the
 * quotients are 0 and 3.
 */
Test(smt_window, precondition_after_alu32_movsx)
{
	struct k2_prog p = prog_of(BPF_PROG_TYPE_XDP,
				 "r8 = 187\nw5 = (s8)w8\nr0 = r5\nw0 /= -7\nexit\n", NULL, 0);
	struct k2_analysis *an;
	struct k2_win w;
	struct k2_err e = { 0 };
	struct bpf_insn *c;
	size_t n;

	cr_assert_eq(k2_analysis_new(&p, NULL, &an, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_win_describe(an, 2, 4, &w, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_asm_prog("r0 = r5\nw0 /= 1298748291\n", &c, &n, &e), 0, "%s", e.msg);
	for (int off = 0; off < 8; off++) {
		struct k2_smt_opts o = sopts(off);
		struct k2_smt *s;
		struct k2_smt_window *sw;
		enum k2_verdict v;

		cr_assert_eq(k2_smt_new(&o, &s, &e), 0, "%s", e.msg);
		cr_assert_eq(k2_smt_window_new(s, an, &w, &sw, &e), 0, "%s", e.msg);
		cr_assert_eq(k2_smt_window_equiv(sw, c, (uint32_t)n, &v, NULL, NULL, &e), 0, "%s",
			     e.msg);
		cr_expect_eq(v, K2_DIFFERENT, "options %d: %s (%s)", off, k2_verdict_name(v),
			     k2_smt_reason(s));
		k2_smt_window_free(sw);
		k2_smt_free(s);
	}
	free(c);
	k2_analysis_free(an);
	free(p.insns);
}
