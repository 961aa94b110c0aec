/* tests/unit/window_select.c: window rules, the partition, live sets, preconditions, --windows. */
#include "tests/unit/cfg_prog.h"

static const char *check_msg(const struct k2_analysis *an, uint32_t s, uint32_t e,
			     struct k2_err *err)
{
	cr_assert_lt(k2_win_check(an, s, e, err), 0, "%u:%u should be refused", s, e);
	return err->msg;
}

#define RULES                                                                                      \
	"r0 = 0\n r2 = 5 ll\n if r1 > 0 goto l\n r0 = 1\n r0 += 1\n"                               \
	"l: r1 = map[idx:0] ll\n call 7\n if r0 > 3 goto -7\n exit\n"

Test(window_select, each_rule_is_named)
{
	struct pb p;
	struct k2_analysis *an;
	struct k2_err e;

	pb_map(&p, 0, BPF_MAP_TYPE_ARRAY, 4, 8);
	an = pb_analyze(&p, BPF_PROG_TYPE_XDP, 1, RULES);
	cr_expect(strstr(check_msg(an, 2, 5, &e), "window 2:5: splits an ld_imm64 at 1"), "%s",
		  e.msg);
	cr_expect(strstr(check_msg(an, 4, 8, &e), "insn 6 is a relocated ld_imm64"), "%s", e.msg);
	cr_expect(strstr(check_msg(an, 8, 9, &e), "window 8:9: insn 8 is a call"), "%s", e.msg);
	cr_expect(strstr(check_msg(an, 10, 11, &e), "insn 10 is an exit"), "%s", e.msg);
	cr_expect(strstr(check_msg(an, 9, 10, &e), "insn 9 jumps backward to 3"), "%s", e.msg);
	cr_expect(strstr(check_msg(an, 3, 5, &e), "insn 3 jumps to 6, past the window's end"), "%s",
		  e.msg);
	cr_expect(strstr(check_msg(an, 5, 50, &e), "empty or out of range"), "%s", e.msg);
	cr_expect(strstr(check_msg(an, 4, 4, &e), "empty"), "%s", e.msg);
	cr_expect_eq(k2_win_check(an, 3, 6, &e), 0, "%s", e.msg);
	cr_expect_eq(k2_win_check(an, 0, 3, &e), 0, "a plain ld_imm64 may be inside: %s", e.msg);
	cr_expect(strstr(check_msg(an, 0, 6, &e), "insn 9 jumps into the window at 3"), "%s",
		  e.msg);
	k2_analysis_free(an);

	an = pb_analyze(
		&p, BPF_PROG_TYPE_XDP, 0,
		"r0 = 0\n if r1 > 0 goto l\n r0 = 1\n r0 += 2\nl: r0 += 3\n r0 += 4\n exit\n");
	cr_expect(strstr(check_msg(an, 3, 6, &e), "window 3:6: insn 1 jumps into the window at 4"),
		  "%s", e.msg);
	cr_expect_eq(k2_win_check(an, 4, 6, &e), 0, "%s", e.msg);
	cr_expect_eq(k2_win_check(an, 1, 4, &e), 0, "the jump to the end is an exit: %s", e.msg);
	k2_analysis_free(an);

	an = pb_analyze(&p, BPF_PROG_TYPE_XDP, 0,
			"r1 = 1\n call f\n r0 = 0\n exit\nf: r0 = r1\n r0 += 1\n exit\n"
			"r0 = 5\n r0 = 6\n exit\n");
	cr_expect(strstr(check_msg(an, 2, 4, &e), "insn 3 is an exit"), "%s", e.msg);
	cr_expect(
		strstr(check_msg(an, 3, 5, &e), "crosses from the function at 0 into the one at 4"),
		"%s", e.msg);
	cr_expect(strstr(check_msg(an, 7, 9, &e), "no path reaches its start"), "%s", e.msg);
	cr_expect_eq(k2_win_check(an, 4, 6, &e), 0, "%s", e.msg);
	k2_analysis_free(an);
}

static void expect_valid_partition(const struct k2_analysis *an, const struct k2_win *w, uint32_t n,
				   uint32_t max_len)
{
	struct k2_err e;

	for (uint32_t k = 0; k < n; k++) {
		cr_expect_eq(k2_win_check(an, w[k].start, w[k].end, &e), 0, "%s", e.msg);
		cr_expect_leq(w[k].end - w[k].start, max_len);
		if (k)
			cr_expect_geq(w[k].start, w[k - 1].end, "sorted, no overlap");
	}
}

Test(window_select, straight_code_is_cut_into_full_windows)
{
	struct pb p;
	char text[4096];
	int k = 0;
	struct k2_analysis *an;
	struct k2_win *w;
	uint32_t n;
	struct k2_win_opts o = { .sz = sizeof(o), .max_len = 16 };

	for (int i = 0; i < 40; i++)
		k += snprintf(text + k, sizeof(text) - k, "r%d += %d\n", i % 5, i);
	snprintf(text + k, sizeof(text) - k, "r0 = 0\n exit\n");
	an = pb_analyze(&p, BPF_PROG_TYPE_XDP, 0, text);
	cr_assert_eq(k2_wins_select(an, &o, &w, &n, NULL), 0);
	cr_assert_eq(n, 3);
	cr_expect_eq(w[0].start, 0);
	cr_expect_eq(w[2].end, 41, "everything but the exit");
	expect_valid_partition(an, w, n, 16);
	free(w);
	k2_analysis_free(an);
}

Test(window_select, branches_stay_inside_their_window)
{
	struct pb p;
	struct k2_analysis *an = pb_analyze(
		&p, BPF_PROG_TYPE_XDP, 0,
		"r0 = 0\n r2 = *(u32 *)(r1 + 12)\n if r2 > 5 goto a\n r0 = 1\n r0 += r2\n"
		"a: r0 += 3\n if r2 == 7 goto b\n r0 *= 3\n r0 += 1\n r0 += 1\n"
		"b: r0 &= 255\n r0 += 1\n exit\n");
	struct k2_win_opts o = { .sz = sizeof(o), .max_len = 4 };
	struct k2_win *w;
	uint32_t n, covered = 0;

	cr_assert_eq(k2_wins_select(an, &o, &w, &n, NULL), 0);
	expect_valid_partition(an, w, n, 4);
	for (uint32_t k = 0; k < n; k++)
		covered += w[k].n_insns;
	cr_expect_eq(covered, 12, "all but the exit fits in windows of 4");
	free(w);
	k2_analysis_free(an);
}

Test(window_select, live_sets_and_preconditions_come_from_the_program)
{
	struct pb p;
	struct k2_analysis *an = pb_analyze(
		&p, BPF_PROG_TYPE_XDP, 0,
		"r2 = *(u32 *)(r1 + 0)\n r3 = *(u32 *)(r1 + 4)\n r4 = r2\n r4 += 14\n"
		"if r4 > r3 goto out\n *(u64 *)(r10 - 8) = r2\n *(u64 *)(r10 - 16) = r3\n r5 = 7\n"
		"r6 = *(u16 *)(r2 + 12)\n r6 += r5\n r7 = *(u64 *)(r10 - 8)\n r0 = r6\n exit\n"
		"out: r0 = 2\n exit\n");
	struct k2_win w;
	struct k2_astate pre, post;
	struct k2_stackset out;
	struct k2_err e;

	cr_assert_eq(k2_win_describe(an, 7, 11, &w, &e), 0, "%s", e.msg);
	cr_expect_eq(w.live_in, (1u << 2) | (1u << 10));
	cr_expect_eq(w.live_out, (1u << 6));
	cr_expect_eq(w.n_insns, 4);
	cr_expect_eq(w.n_live_out, 1);
	cr_expect_eq(w.n_mem, 2);
	cr_expect_gt(w.difficulty, 4.0);
	cr_assert_eq(k2_win_precond(an, &w, &pre), 0);
	cr_expect_eq(pre.regs[2].type, K2_VT_PTR_PKT);
	cr_expect_eq(pre.regs[2].range, 14);
	cr_expect_eq(pre.regs[3].type, K2_VT_NOT_INIT, "not live in: left out");
	cr_expect_eq(pre.regs[10].type, K2_VT_PTR_STACK);
	cr_expect_eq(pre.stack[63].bytes[0], K2_SB_SPILL, "fp-8 is read inside");
	cr_expect_eq(pre.stack[63].spill.type, K2_VT_PTR_PKT);
	cr_expect_eq(pre.stack[62].bytes[0], K2_SB_INVALID, "fp-16 is never read again");
	cr_assert_eq(k2_win_postcond(an, &w, &post), 0);
	cr_expect_eq(post.regs[6].type, K2_VT_SCALAR);
	cr_expect_eq(post.regs[7].type, K2_VT_NOT_INIT, "r7 is dead after the window");
	k2_win_stack_out(an, &w, &out);
	cr_expect_eq(out.w[7], 0, "no stack byte is read after the window");
	k2_analysis_free(an);
}

Test(window_select, user_windows_are_parsed_and_checked)
{
	struct pb p;
	struct k2_analysis *an;
	struct k2_win *w;
	uint32_t n;
	struct k2_err e;

	pb_map(&p, 0, BPF_MAP_TYPE_ARRAY, 4, 8);
	an = pb_analyze(&p, BPF_PROG_TYPE_XDP, 1, RULES);
	cr_assert_eq(k2_wins_parse(an, "0:1,3:6", &w, &n, &e), 0, "%s", e.msg);
	cr_expect_eq(n, 2);
	cr_expect_eq(w[1].start, 3);
	cr_expect_eq(w[1].end, 6);
	free(w);
	cr_expect_lt(k2_wins_parse(an, "0:1,3-6", &w, &n, &e), 0);
	cr_expect(strstr(e.msg, "windows: expected S:E at '3-6'"), "%s", e.msg);
	cr_expect_null(w);
	cr_expect_lt(k2_wins_parse(an, "3:6,4:5", &w, &n, &e), 0);
	cr_expect(strstr(e.msg, "windows 3:6 and 4:5 overlap"), "%s", e.msg);
	cr_expect_lt(k2_wins_parse(an, "8:9", &w, &n, &e), 0);
	cr_expect(strstr(e.msg, "window 8:9: insn 8 is a call"), "%s", e.msg);
	cr_expect_lt(k2_wins_parse(an, "", &w, &n, &e), 0);
	k2_analysis_free(an);
}

Test(window_select, main_only_leaves_subprograms_alone)
{
	struct pb p;
	struct k2_analysis *an = pb_analyze(
		&p, BPF_PROG_TYPE_XDP, 0,
		"r1 = 1\n r1 += 2\n call f\n r0 += 1\n exit\nf: r0 = r1\n r0 += 1\n exit\n");
	struct k2_win_opts o = { .sz = sizeof(o), .main_only = true };
	struct k2_win *w;
	uint32_t n;

	cr_assert_eq(k2_wins_select(an, &o, &w, &n, NULL), 0);
	for (uint32_t k = 0; k < n; k++)
		cr_expect_lt(w[k].end, 5);
	free(w);
	o.main_only = false;
	cr_assert_eq(k2_wins_select(an, &o, &w, &n, NULL), 0);
	cr_expect_eq(w[n - 1].start, 5);
	cr_expect_eq(w[n - 1].func, 1);
	free(w);
	k2_analysis_free(an);
}

static int try_candidate(const struct k2_analysis *an, const struct k2_win *w, const char *text,
			 struct k2_err *e)
{
	struct pb c;
	struct k2_astate pre, post;
	uint32_t nv;

	pb_asm(&c, text);
	cr_assert_eq(k2_win_precond(an, w, &pre), 0);
	cr_assert_eq(k2_absint_fragment(an->prog, &pre, c.v, c.n, NULL, &post, NULL, 0, &nv, e), 0,
		     "%s", e->msg);
	return k2_win_post_check(an, w, &post, e);
}

Test(window_select, replacements_must_keep_what_the_verifier_needs)
{
	struct pb p;
	struct k2_analysis *an = pb_analyze(
		&p, BPF_PROG_TYPE_XDP, 0,
		"r6 = *(u32 *)(r1 + 0)\n r3 = *(u32 *)(r1 + 4)\n r4 = r6\n r4 += 20\n"
		"if r4 > r3 goto out\n r2 = r6\n r2 += 14\n *(u64 *)(r10 - 8) = r2\n r5 = 1\n"
		"r7 = *(u64 *)(r10 - 8)\n r0 = *(u16 *)(r7 + 0)\n r0 += r5\n exit\n"
		"out: r0 = 2\n exit\n");
	struct k2_win w;
	struct k2_err e;

	cr_assert_eq(k2_win_describe(an, 5, 9, &w, &e), 0, "%s", e.msg);
	cr_expect_eq(
		try_candidate(an, &w, "r2 = r6\n r2 += 14\n *(u64 *)(r10 - 8) = r2\n r5 = 1\n", &e),
		0, "the window itself: %s", e.msg);
	cr_expect_eq(
		try_candidate(an, &w, "r5 = r6\n r5 += 14\n *(u64 *)(r10 - 8) = r5\n r5 = 1\n", &e),
		0, "other registers, same result: %s", e.msg);
	cr_expect_eq(try_candidate(an, &w, "r2 = 14\n *(u64 *)(r10 - 8) = r2\n r5 = 1\n", &e),
		     -EACCES);
	cr_expect(strstr(e.msg, "stack byte fp-8 is less known"), "%s", e.msg);
	cr_expect_eq(
		try_candidate(an, &w, "r2 = r6\n r2 += 14\n *(u64 *)(r10 - 8) = r2\n r5 = 2\n", &e),
		-EACCES);
	cr_expect(strstr(e.msg, "window 5:9: r5 is scalar(1) in the program but scalar(2)"), "%s",
		  e.msg);
	{
		struct pb c;
		struct k2_astate pre, post;
		struct k2_violation v[2];
		uint32_t nv;

		pb_asm(&c, "r2 = r3\n r2 += 14\n *(u64 *)(r10 - 8) = r2\n r5 = 1\n");
		cr_assert_eq(k2_win_precond(an, &w, &pre), 0);
		cr_assert_eq(k2_absint_fragment(an->prog, &pre, c.v, c.n, NULL, &post, v, 2, &nv,
						&e), 0);
		cr_assert_geq(nv, 1, "r3 is not live into the window");
		cr_expect(strstr(v[0].msg, "insn 0: R3 !read_ok"), "%s (%u)", v[0].msg, nv);
		cr_expect(nv < 2 || strstr(v[1].msg, "insn 1"), "%s", v[1].msg);
	}
	k2_analysis_free(an);
}
