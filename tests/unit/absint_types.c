/* tests/unit/absint_types.c: register types as the verifier tracks them. */
#include "tests/unit/cfg_prog.h"

static const struct k2_access *acc(const struct k2_analysis *an, uint32_t i)
{
	return k2_absint_access(an->ai, i);
}

Test(absint_types, xdp_ctx_fields)
{
	struct pb p;
	struct k2_analysis *an = pb_analyze(
		&p, BPF_PROG_TYPE_XDP, 0,
		"r2 = *(u32 *)(r1 + 0)\n r3 = *(u32 *)(r1 + 4)\n r4 = *(u32 *)(r1 + 8)\n"
		"r5 = *(u32 *)(r1 + 12)\n r0 = 2\n exit\n");

	cr_expect_eq(pb_reg_at(an, 4, 2).type, K2_VT_PTR_PKT);
	cr_expect_eq(pb_reg_at(an, 4, 3).type, K2_VT_PTR_PKT_END);
	cr_expect_eq(pb_reg_at(an, 4, 4).type, K2_VT_PTR_PKT_META);
	cr_expect_eq(pb_reg_at(an, 4, 5).type, K2_VT_SCALAR);
	cr_expect_eq(pb_reg_at(an, 4, 5).umax, UINT32_MAX);
	cr_expect_eq(acc(an, 0)->region, K2_MEM_CTX);
	cr_expect_str_eq(acc(an, 1)->ctx_field, "data_end");
	cr_expect(acc(an, 3)->flags & K2_ACC_SAFE);
	cr_expect_eq(pb_n_viol(an), 0, "%s", pb_viol(an, 0));
	k2_analysis_free(an);
}

Test(absint_types, tc_and_socket_ctx_fields)
{
	struct pb p;
	struct k2_analysis *an = pb_analyze(
		&p, BPF_PROG_TYPE_SCHED_CLS, 0,
		"r2 = *(u32 *)(r1 + 76)\n r3 = *(u32 *)(r1 + 80)\n r4 = *(u32 *)(r1 + 140)\n"
		"r5 = *(u8 *)(r1 + 0)\n *(u32 *)(r1 + 8) = r5\n r0 = 0\n exit\n");

	cr_expect_eq(pb_reg_at(an, 5, 2).type, K2_VT_PTR_PKT);
	cr_expect_eq(pb_reg_at(an, 5, 3).type, K2_VT_PTR_PKT_END);
	cr_expect_eq(pb_reg_at(an, 5, 4).type, K2_VT_PTR_PKT_META);
	cr_expect_eq(pb_reg_at(an, 5, 5).umax, 255, "a narrow read of len");
	cr_expect_str_eq(acc(an, 4)->ctx_field, "mark");
	cr_expect_eq(pb_n_viol(an), 0, "%s", pb_viol(an, 0));
	k2_analysis_free(an);

	an = pb_analyze(&p, BPF_PROG_TYPE_SOCKET_FILTER, 0,
			"r2 = *(u32 *)(r1 + 76)\n *(u32 *)(r1 + 8) = r2\n r0 = 0\n exit\n");
	cr_expect_eq(pb_n_viol(an), 2);
	cr_expect(strstr(pb_viol(an, 0), "insn 0: invalid bpf_context access off=76 size=4"), "%s",
		  pb_viol(an, 0));
	cr_expect(strstr(pb_viol(an, 1), "insn 1: invalid bpf_context access off=8"), "%s",
		  pb_viol(an, 1));
	cr_expect_eq(pb_reg_at(an, 1, 2).type, K2_VT_SCALAR, "no packet pointer from a bad read");
	k2_analysis_free(an);
}

/* `if A op B goto` between a packet pointer (data + 14) and data_end in every form: the
 * range each branch learns. */
struct pkt_case {
	const char *cond;
	uint32_t taken, fall;
};

Test(absint_types, packet_bounds_from_every_comparison)
{
	static const struct pkt_case cases[] = {
		{ "r4 > r3", 0, 14 },  { "r4 >= r3", 0, 15 }, { "r4 < r3", 15, 0 },
		{ "r4 <= r3", 14, 0 }, { "r3 > r4", 15, 0 },  { "r3 >= r4", 14, 0 },
		{ "r3 < r4", 0, 14 },  { "r3 <= r4", 0, 15 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[512];
		struct pb p;
		struct k2_analysis *an;

		snprintf(text, sizeof(text),
			 "r2 = *(u32 *)(r1 + 0)\n r3 = *(u32 *)(r1 + 4)\n r4 = r2\n r4 += 14\n"
			 "if %s goto t\n r0 = 0\n exit\nt: r0 = 1\n exit\n",
			 cases[i].cond);
		an = pb_analyze(&p, BPF_PROG_TYPE_XDP, 0, text);
		cr_expect_eq(pb_reg_at(an, 7, 2).range, cases[i].taken, "%s taken: r=%u",
			     cases[i].cond, pb_reg_at(an, 7, 2).range);
		cr_expect_eq(pb_reg_at(an, 5, 2).range, cases[i].fall, "%s not taken: r=%u",
			     cases[i].cond, pb_reg_at(an, 5, 2).range);
		cr_expect_eq(pb_reg_at(an, 5, 4).range, cases[i].fall, "the copy with off 14 too");
		k2_analysis_free(an);
	}
}

Test(absint_types, packet_access_needs_the_range)
{
	struct pb p;
	struct k2_analysis *an = pb_analyze(
		&p, BPF_PROG_TYPE_XDP, 0,
		"r2 = *(u32 *)(r1 + 0)\n r3 = *(u32 *)(r1 + 4)\n r4 = r2\n r4 += 14\n"
		"if r4 > r3 goto out\n r5 = *(u16 *)(r2 + 12)\n r6 = *(u16 *)(r2 + 13)\n"
		"out: r0 = 2\n exit\n");

	{
		struct k2_astate st;

		cr_assert_eq(k2_absint_state_at(an->ai, 6, &st), 0);
		cr_expect_eq(st.pkt_min, 14, "data + 14 <= data_end");
		cr_assert_eq(k2_absint_state_at(an->ai, 7, &st), 0);
		cr_expect_eq(st.pkt_min, 0, "joined with the path that failed the check");
	}
	cr_expect(acc(an, 5)->flags & K2_ACC_SAFE);
	cr_expect(acc(an, 5)->flags & K2_ACC_CONST);
	cr_expect_eq(acc(an, 5)->off, 12);
	cr_expect_eq(acc(an, 5)->region, K2_MEM_PKT);
	cr_expect_not(acc(an, 6)->flags & K2_ACC_SAFE);
	cr_expect_eq(acc(an, 6)->region, K2_MEM_PKT, "unsafe, but typed");
	cr_assert_eq(pb_n_viol(an), 1);
	cr_expect(strstr(pb_viol(an, 0), "insn 6: invalid access to packet, off=13 size=2"), "%s",
		  pb_viol(an, 0));
	k2_analysis_free(an);
}

Test(absint_types, variable_packet_offsets_share_their_range)
{
	struct pb p;
	/* IPv4 header of variable length: the TCP header behind it is checked against data_end. */
	struct k2_analysis *an = pb_analyze(
		&p, BPF_PROG_TYPE_XDP, 0,
		"r2 = *(u32 *)(r1 + 0)\n r3 = *(u32 *)(r1 + 4)\n r4 = r2\n r4 += 34\n"
		"if r4 > r3 goto out\n r5 = *(u8 *)(r2 + 14)\n r5 &= 15\n r5 <<= 2\n"
		"r6 = r2\n r6 += r5\n r7 = r6\n r7 += 34\n if r7 > r3 goto out\n"
		"r0 = *(u16 *)(r6 + 14)\n r0 = *(u32 *)(r6 + 30)\nout: r0 = 2\n exit\n");

	cr_expect_eq(pb_reg_at(an, 13, 5).umax, 60);
	cr_expect_eq(pb_reg_at(an, 13, 6).range, 34);
	{
		struct k2_astate st;

		cr_assert_eq(k2_absint_state_at(an->ai, 13, &st), 0);
		cr_expect_eq(st.pkt_min, 34, "ihl may be 0 as far as the program checked");
	}
	cr_expect(acc(an, 13)->flags & K2_ACC_SAFE);
	cr_expect(acc(an, 14)->flags & K2_ACC_SAFE);
	cr_expect_not(acc(an, 13)->flags & K2_ACC_CONST);
	cr_expect_eq(acc(an, 13)->off_min, 14);
	cr_expect_eq(acc(an, 13)->off_max, 74);
	cr_expect_eq(pb_n_viol(an), 0, "%s", pb_viol(an, 0));
	k2_analysis_free(an);
}

Test(absint_types, null_checks_refine_both_branches_and_copies)
{
	struct pb p;
	struct k2_analysis *an;

	pb_map(&p, 0, BPF_MAP_TYPE_HASH, 4, 16);
	an = pb_analyze(
		&p, BPF_PROG_TYPE_XDP, 1,
		"*(u32 *)(r10 - 4) = 0\n r2 = r10\n r2 += -4\n r1 = map[idx:0] ll\n call 1\n"
		"r6 = r0\n if r0 != 0 goto hit\n r0 = 1\n exit\n"
		"hit: r1 = *(u64 *)(r6 + 8)\n r0 = 2\n exit\n");

	cr_expect_eq(pb_reg_at(an, 7, 6).type, K2_VT_PTR_MAP_VALUE_OR_NULL);
	cr_expect_eq(pb_reg_at(an, 8, 0).type, K2_VT_SCALAR, "the null branch: r0 = 0");
	cr_expect_eq(pb_reg_at(an, 8, 6).type, K2_VT_SCALAR, "and its copy");
	cr_expect_eq(pb_reg_at(an, 10, 6).type, K2_VT_PTR_MAP_VALUE);
	cr_expect_eq(pb_reg_at(an, 10, 6).map, 0);
	cr_expect_eq(acc(an, 10)->region, K2_MEM_MAP_VALUE);
	cr_expect_eq(acc(an, 10)->map, 0);
	cr_expect_eq(acc(an, 10)->off, 8);
	cr_expect(acc(an, 10)->flags & K2_ACC_SAFE);
	cr_expect_eq(acc(an, 0)->region, K2_MEM_STACK);
	cr_expect_eq(acc(an, 0)->off, -4);
	cr_expect_eq(pb_n_viol(an), 0, "%s", pb_viol(an, 0));
	k2_analysis_free(an);
}

Test(absint_types, spills_keep_types_and_bounds)
{
	struct pb p;
	struct k2_analysis *an = pb_analyze(
		&p, BPF_PROG_TYPE_XDP, 0,
		"r2 = *(u32 *)(r1 + 0)\n r3 = *(u32 *)(r1 + 4)\n r4 = r2\n r4 += 14\n"
		"if r4 > r3 goto out\n *(u64 *)(r10 - 8) = r2\n r5 = 300\n *(u32 *)(r10 - 12) = "
		"r5\n"
		"*(u64 *)(r10 - 24) = r5\n r2 = 0\n r6 = *(u64 *)(r10 - 8)\n r7 = *(u32 *)(r10 - "
		"12)\n"
		"r8 = *(u8 *)(r10 - 24)\n r9 = *(u16 *)(r6 + 12)\n r2 = *(u32 *)(r10 - 8)\n"
		"out: r0 = 2\n exit\n");
	struct k2_aval r6 = pb_reg_at(an, 13, 6);
	uint64_t c;

	cr_expect_eq(r6.type, K2_VT_PTR_PKT, "a pointer spill comes back");
	cr_expect_eq(r6.range, 14, "with its range");
	cr_expect(k2_aval_is_const(&(struct k2_aval){ 0 }, NULL) == false);
	{
		struct k2_aval r7 = pb_reg_at(an, 13, 7), r8 = pb_reg_at(an, 13, 8);

		cr_expect(k2_aval_is_const(&r7, &c) && c == 300, "a 4-byte scalar spill");
		cr_expect(k2_aval_is_const(&r8, &c) && c == 300 % 256, "the low byte of 300");
	}
	cr_expect(acc(an, 13)->flags & K2_ACC_SAFE);
	cr_expect_eq(pb_n_viol(an), 1);
	cr_expect(strstr(pb_viol(an, 0), "insn 14: invalid size of register fill"), "%s",
		  pb_viol(an, 0));
	k2_analysis_free(an);
}

Test(absint_types, copies_of_a_scalar_are_refined_together)
{
	struct pb p;
	struct k2_analysis *an = pb_analyze(
		&p, BPF_PROG_TYPE_XDP, 0,
		"r1 = *(u32 *)(r1 + 12)\n r2 = r1\n *(u64 *)(r10 - 8) = r2\n if r1 > 9 goto out\n"
		"r3 = *(u64 *)(r10 - 8)\n r0 = 0\n exit\nout: r0 = 1\n exit\n");

	cr_expect_eq(pb_reg_at(an, 5, 2).umax, 9);
	cr_expect_eq(pb_reg_at(an, 5, 3).umax, 9, "the spilled copy as well");
	cr_expect_eq(pb_reg_at(an, 7, 2).umin, 10);
	k2_analysis_free(an);
}

/* movsx in both widths: alu32 sign-extends to 32 bits and zero-extends the rest (the alu32
 * forms were taken for plain moves: fuzz-smt program 121, seed 1) */
Test(absint_types, sign_extending_moves)
{
	struct pb p;
	struct k2_analysis *an = pb_analyze(
		&p, BPF_PROG_TYPE_XDP, 0,
		"r8 = 187\n w5 = (s8)w8\n r6 = (s8)r8\n r1 = 0x8001\n w7 = (s16)w1\n"
		"r9 = (s16)r1\n r0 = 0\n exit\n");
	struct { int reg; uint64_t want; } k[] = {
		{ 5, 0xffffffbbull }, { 6, 0xffffffffffffffbbull },
		{ 7, 0xffff8001ull }, { 9, 0xffffffffffff8001ull },
	};

	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		struct k2_aval v = pb_reg_at(an, 6, k[i].reg);
		uint64_t c = 0;

		cr_expect(k2_aval_is_const(&v, &c) && c == k[i].want, "r%d: %#llx, want %#llx",
			  k[i].reg, (unsigned long long)c, (unsigned long long)k[i].want);
	}
	k2_analysis_free(an);
}

Test(absint_types, joined_null_and_pointer_needs_a_check)
{
	struct pb p;
	struct k2_analysis *an = pb_analyze(
		&p, BPF_PROG_TYPE_XDP, 0,
		"r2 = *(u32 *)(r1 + 0)\n r3 = *(u32 *)(r1 + 4)\n r7 = 0\n r4 = r2\n r4 += 14\n"
		"if r4 > r3 goto j\n r7 = r2\nj: if r7 == 0 goto out\n r0 = *(u8 *)(r7 + 1)\n"
		"r0 = *(u8 *)(r7 + 20)\nout: r0 = 2\n exit\n");

	cr_expect(pb_reg_at(an, 7, 7).maybe_null);
	cr_expect_eq(pb_reg_at(an, 7, 7).type, K2_VT_PTR_PKT);
	cr_expect_not(pb_reg_at(an, 8, 7).maybe_null);
	cr_expect_eq(acc(an, 8)->region, K2_MEM_PKT);
	cr_expect(acc(an, 8)->flags & K2_ACC_SAFE);
	cr_expect_not(acc(an, 9)->flags & K2_ACC_SAFE, "beyond the range");
	k2_analysis_free(an);
}

Test(absint_types, values_of_two_maps_join_into_a_map_set)
{
	struct pb p;
	struct k2_analysis *an;

	pb_map(&p, 0, BPF_MAP_TYPE_ARRAY, 4, 8);
	pb_map(&p, 1, BPF_MAP_TYPE_ARRAY, 4, 16);
	an = pb_analyze(&p, BPF_PROG_TYPE_XDP, 2,
			"r6 = map[idx:0][0]+0 ll\n r2 = *(u32 *)(r1 + 12)\n if r2 == 0 goto j\n"
			"r6 = map[idx:1][0]+0 ll\nj: r0 = *(u64 *)(r6 + 0)\n r0 = *(u64 *)(r6 + "
			"8)\n exit\n");

	cr_expect_eq(acc(an, 6)->region, K2_MEM_MAP_VALUE);
	cr_expect_eq(acc(an, 6)->map, -1);
	cr_expect_eq(acc(an, 6)->maps, 3);
	cr_expect(acc(an, 6)->flags & K2_ACC_SAFE);
	cr_expect_not(acc(an, 7)->flags & K2_ACC_SAFE, "map 0's values have 8 bytes");
	k2_analysis_free(an);
}

Test(absint_types, loops_reach_a_fixpoint)
{
	struct pb p;
	struct k2_analysis *an = pb_analyze(
		&p, BPF_PROG_TYPE_XDP, 0,
		"r0 = 0\n r2 = 0\ntop: r0 += r2\n r2 += 1\n *(u64 *)(r10 - 8) = r2\n"
		"if r2 < 100 goto top\n r3 = *(u64 *)(r10 - 8)\n exit\n");

	cr_expect_eq(pb_reg_at(an, 6, 2).umin, 100);
	cr_expect_eq(pb_reg_at(an, 3, 2).umax, 99, "refined by the loop condition");
	cr_expect_eq(acc(an, 4)->region, K2_MEM_STACK);
	cr_expect_eq(pb_n_viol(an), 0, "%s", pb_viol(an, 0));
	k2_analysis_free(an);
}

Test(absint_types, subprograms_see_the_callers_frame_and_packet)
{
	struct pb p;
	struct k2_analysis *an = pb_analyze(
		&p, BPF_PROG_TYPE_XDP, 0,
		"r6 = *(u32 *)(r1 + 0)\n r3 = *(u32 *)(r1 + 4)\n r4 = r6\n r4 += 14\n"
		"if r4 > r3 goto out\n *(u64 *)(r10 - 8) = 7\n r1 = r10\n r1 += -8\n r2 = r6\n"
		"call f\n r0 += 1\n exit\nout: r0 = 2\n exit\n"
		"f: r0 = *(u32 *)(r1 + 0)\n r3 = *(u16 *)(r2 + 12)\n r0 += r3\n exit\n");
	const struct k2_access *a = acc(an, 14);

	cr_assert_eq(an->cfg->n_funcs, 2);
	cr_expect_eq(a->region, K2_MEM_STACK);
	cr_expect_eq(a->frame, 1, "the caller's frame");
	cr_expect_eq(a->off, -8);
	cr_expect_eq(acc(an, 15)->region, K2_MEM_PKT);
	cr_expect(acc(an, 15)->flags & K2_ACC_SAFE, "the range comes along");
	cr_expect_eq(pb_reg_at(an, 10, 0).type, K2_VT_SCALAR, "r0 comes back");
	cr_expect_eq(pb_reg_at(an, 10, 1).type, K2_VT_NOT_INIT, "r1-r5 are clobbered");
	cr_expect_eq(pb_reg_at(an, 10, 6).type, K2_VT_PTR_PKT, "r6-r9 are kept");
	cr_expect_eq(k2_live_func_args(an->live, 1), 0x6, "f reads r1 and r2");
	cr_expect_eq(pb_n_viol(an), 0, "%s", pb_viol(an, 0));
	k2_analysis_free(an);
}

Test(absint_types, packet_moves_drop_packet_pointers)
{
	struct pb p;
	struct k2_analysis *an = pb_analyze(
		&p, BPF_PROG_TYPE_XDP, 0,
		"r6 = r1\n r7 = *(u32 *)(r1 + 0)\n r1 = r6\n r2 = 4\n call 44\n"
		"r0 = *(u8 *)(r7 + 0)\n r0 = 2\n exit\n");

	cr_expect_eq(pb_reg_at(an, 5, 7).type, K2_VT_SCALAR);
	cr_expect_eq(acc(an, 5)->region, K2_MEM_UNKNOWN);
	cr_expect(strstr(pb_viol(an, 0), "insn 5: R7 invalid mem access"), "%s", pb_viol(an, 0));
	k2_analysis_free(an);
}

Test(absint_types, ringbuf_records_are_memory_of_their_size)
{
	struct pb p;
	struct k2_analysis *an;

	pb_map(&p, 0, BPF_MAP_TYPE_RINGBUF, 0, 0);
	an = pb_analyze(&p, BPF_PROG_TYPE_XDP, 1,
			"r1 = map[idx:0] ll\n r2 = 16\n r3 = 0\n call 131\n if r0 == 0 goto out\n"
			"*(u64 *)(r0 + 8) = 1\n r1 = r0\n r2 = 0\n call 132\nout: r0 = 2\n exit\n");

	cr_expect(pb_reg_at(an, 5, 0).maybe_null);
	cr_expect_eq(pb_reg_at(an, 6, 0).type, K2_VT_PTR_MEM);
	cr_expect_eq(pb_reg_at(an, 6, 0).range, 16);
	cr_expect_eq(acc(an, 6)->region, K2_MEM_ALLOC);
	cr_expect(acc(an, 6)->flags & K2_ACC_SAFE);
	cr_expect_eq(pb_n_viol(an), 0, "%s", pb_viol(an, 0));
	k2_analysis_free(an);
}

Test(absint_types, unknown_helpers_give_unknown_values)
{
	struct pb p;
	struct k2_analysis *an = pb_analyze(
		&p, BPF_PROG_TYPE_XDP, 0,
		"*(u64 *)(r10 - 8) = 1\n r1 = r10\n r1 += -8\n call 999\n r1 = *(u64 *)(r10 - 8)\n"
		"r0 = 2\n exit\n");
	uint64_t c;
	struct k2_aval r1 = pb_reg_at(an, 5, 1);

	cr_expect_eq(pb_reg_at(an, 4, 0).type, K2_VT_UNKNOWN);
	cr_expect_not(k2_aval_is_const(&r1, &c), "the helper may have written the slot");
	k2_analysis_free(an);
}

Test(absint_types, fragments_are_typed_under_a_precondition)
{
	struct pb p, frag;
	struct k2_analysis *an = pb_analyze(
		&p, BPF_PROG_TYPE_XDP, 0,
		"r2 = *(u32 *)(r1 + 0)\n r3 = *(u32 *)(r1 + 4)\n r4 = r2\n r4 += 14\n"
		"if r4 > r3 goto out\n r5 = *(u16 *)(r2 + 12)\nout: r0 = 2\n exit\n");
	struct k2_astate pre, post;
	struct k2_access accs[3];
	struct k2_violation v[4];
	uint32_t nv;
	struct k2_err e = { 0 };

	cr_assert_eq(k2_absint_state_at(an->ai, 5, &pre), 0);
	pb_asm(&frag, "r5 = *(u8 *)(r2 + 13)\n r5 <<= 8\n r6 = *(u16 *)(r2 + 14)\n");
	cr_assert_eq(k2_absint_fragment(&p.prog, &pre, frag.v, frag.n, accs, &post, v, 4, &nv, &e),
		     0, "%s", e.msg);
	cr_expect_eq(accs[0].region, K2_MEM_PKT);
	cr_expect(accs[0].flags & K2_ACC_SAFE);
	cr_expect_eq(accs[0].off, 13);
	cr_expect_eq(accs[1].region, K2_MEM_NONE);
	cr_expect_not(accs[2].flags & K2_ACC_SAFE);
	cr_assert_eq(nv, 1);
	cr_expect(strstr(v[0].msg, "insn 2: invalid access to packet"), "%s", v[0].msg);
	cr_expect(post.reachable);
	cr_expect_eq(post.regs[5].umax, 0xff00);
	k2_analysis_free(an);
}
