/* tests/unit/live_regs.c: liveness of registers (calls, exits, subprograms) and of stack bytes. */
#include "tests/unit/cfg_prog.h"

#define R(n) (1u << (n))
#define FP   R(10)

static bool byte_live(const struct k2_analysis *an, uint32_t i, int off)
{
	struct k2_stackset s;
	int a = k2_stack_addr(off);

	k2_live_stack_in(an->live, i, &s);
	return s.w[a / 64] >> (a % 64) & 1;
}

static uint32_t n_live_bytes(const struct k2_analysis *an, uint32_t i)
{
	struct k2_stackset s;
	uint32_t n = 0;

	k2_live_stack_in(an->live, i, &s);
	for (int k = 0; k < K2_STACK_BYTES / 64; k++)
		n += (uint32_t)__builtin_popcountll(s.w[k]);
	return n;
}

Test(live_regs, defs_kill_and_uses_gen)
{
	struct pb p;
	struct k2_analysis *an = pb_analyze(
		&p, BPF_PROG_TYPE_XDP, 0,
		"r2 = 1\n r3 = 2\n r2 += r3\n r3 = 5\n if r1 > 0 goto l\n r0 = r2\n exit\n"
		"l: r0 = r3\n exit\n");

	cr_expect_eq(k2_live_regs_in(an->live, 0), R(1), "only the ctx comes in");
	cr_expect_eq(k2_live_regs_in(an->live, 2), R(1) | R(2) | R(3));
	cr_expect_eq(k2_live_regs_in(an->live, 3), R(1) | R(2), "r3 is redefined");
	cr_expect_eq(k2_live_regs_in(an->live, 4), R(1) | R(2) | R(3));
	cr_expect_eq(k2_live_regs_out(an->live, 4), R(2) | R(3), "the union of both branches");
	cr_expect_eq(k2_live_regs_in(an->live, 6), R(0), "exit reads r0");
	cr_expect_eq(k2_live_regs_out(an->live, 6), 0);
	k2_analysis_free(an);
}

Test(live_regs, helpers_read_their_arguments_and_clobber_r1_to_r5)
{
	struct pb p;
	struct k2_analysis *an;

	pb_map(&p, 0, BPF_MAP_TYPE_HASH, 4, 8);
	an = pb_analyze(&p, BPF_PROG_TYPE_XDP, 1,
			"r6 = 1\n r3 = 3\n *(u32 *)(r10 - 4) = 0\n r2 = r10\n r2 += -4\n r1 = "
			"map[idx:0] ll\n"
			"call 1\n r0 += r6\n exit\n");

	cr_expect_eq(k2_live_regs_in(an->live, 7), R(1) | R(2) | R(6),
		     "lookup reads r1-r2; r3 is dead; r6 lives across");
	cr_expect_eq(k2_live_regs_in(an->live, 1), R(6) | FP, "so r3 = 3 is a dead store");
	k2_analysis_free(an);

	an = pb_analyze(&p, BPF_PROG_TYPE_XDP, 0, "r1 = 1\n r5 = 2\n call 999\n exit\n");
	cr_expect_eq(k2_live_regs_in(an->live, 2), R(1) | R(2) | R(3) | R(4) | R(5),
		     "an unknown helper may read r1-r5");
	k2_analysis_free(an);
	an = pb_analyze(&p, BPF_PROG_TYPE_XDP, 0, "call 7\n r0 = 1\n exit\n");
	cr_expect_eq(k2_live_regs_in(an->live, 0), 0, "get_prandom_u32 reads nothing");
	k2_analysis_free(an);
}

Test(live_regs, bpf_to_bpf_calls_read_what_the_callee_reads)
{
	struct pb p;
	struct k2_analysis *an = pb_analyze(&p, BPF_PROG_TYPE_XDP, 0,
					    "r6 = 7\n r1 = 1\n r2 = 2\n call f\n r0 += r6\n exit\n"
					    "f: r0 = r1\n r1 = 0\n exit\n");

	cr_expect_eq(k2_live_func_args(an->live, 1), R(1));
	cr_expect_eq(k2_live_regs_in(an->live, 3), R(1) | R(6), "r2 is not read by f");
	cr_expect_eq(k2_live_regs_in(an->live, 2), R(1) | R(6), "so r2 = 2 is dead");
	cr_expect_eq(k2_live_regs_in(an->live, 6), R(1), "in f, r6 is the caller's business");
	k2_analysis_free(an);
}

Test(live_regs, overwritten_stack_bytes_are_dead)
{
	struct pb p;
	struct k2_analysis *an = pb_analyze(
		&p, BPF_PROG_TYPE_XDP, 0,
		"r2 = 1\n *(u64 *)(r10 - 8) = r2\n *(u32 *)(r10 - 8) = 3\n *(u32 *)(r10 - 4) = 4\n"
		"r0 = *(u64 *)(r10 - 8)\n exit\n");

	cr_expect(byte_live(an, 4, -8) && byte_live(an, 4, -1), "the load reads 8 bytes");
	cr_expect_not(byte_live(an, 3, -4), "about to be written");
	cr_expect(byte_live(an, 3, -8), "not written by insn 3");
	cr_expect_not(byte_live(an, 2, -8));
	cr_expect_eq(n_live_bytes(an, 1), 0, "the first store is dead: both halves are rewritten");
	cr_expect_eq(n_live_bytes(an, 5), 0, "nothing after exit");
	k2_analysis_free(an);
}

Test(live_regs, helpers_read_keys_and_escapes_keep_everything)
{
	struct pb p;
	struct k2_analysis *an;

	pb_map(&p, 0, BPF_MAP_TYPE_HASH, 4, 8);
	an = pb_analyze(&p, BPF_PROG_TYPE_XDP, 1,
			"*(u64 *)(r10 - 16) = 1\n *(u32 *)(r10 - 4) = 0\n r2 = r10\n r2 += -4\n"
			"r1 = map[idx:0] ll\n call 1\n r0 = *(u64 *)(r10 - 16)\n exit\n");

	cr_expect(byte_live(an, 6, -4) && byte_live(an, 6, -1), "the 4-byte key");
	cr_expect_not(byte_live(an, 6, -5));
	cr_expect(byte_live(an, 6, -16), "read after the call");
	k2_analysis_free(an);

	an = pb_analyze(
		&p, BPF_PROG_TYPE_XDP, 0,
		"*(u64 *)(r10 - 16) = 1\n r1 = r10\n r1 += -8\n call 999\n r0 = 0\n exit\n");
	cr_expect_eq(n_live_bytes(an, 3), K2_STACK_BYTES,
		     "the frame escapes into an unknown helper");
	k2_analysis_free(an);

	an = pb_analyze(&p, BPF_PROG_TYPE_XDP, 0,
			"r1 = *(u32 *)(r1 + 12)\n r1 &= 7\n r2 = r10\n r2 += -16\n r2 += r1\n"
			"r0 = *(u8 *)(r2 + 0)\n exit\n");
	cr_expect(byte_live(an, 5, -16) && byte_live(an, 5, -9),
		  "a variable read covers its range");
	cr_expect_not(byte_live(an, 5, -8));
	k2_analysis_free(an);
}

Test(live_regs, without_types_the_whole_frame_is_live)
{
	struct pb p;
	struct k2_cfg *cfg;
	struct k2_live *lv;
	struct k2_stackset s;

	pb_asm(&p, "r0 = 0\n exit\n");
	cr_assert_eq(k2_cfg_build(p.v, p.n, NULL, &cfg, NULL), 0);
	cr_assert_eq(k2_live_compute(cfg, NULL, &lv, NULL), 0);
	k2_live_stack_in(lv, 0, &s);
	cr_expect_eq(s.w[0], ~0ULL);
	cr_expect_eq(k2_live_regs_in(lv, 1), R(0));
	k2_live_free(lv);
	k2_cfg_free(cfg);
}
