/* tests/unit/insn_decode.c: the opcode table, decoding, encoding and structural checks. */
#include <criterion/criterion.h>
#include <string.h>

#include "bpf/k2bpf.h"

Test(insn_decode, every_op_encodes_and_decodes_to_itself)
{
	for (int op = 1; op < K2_OP__COUNT; op++) {
		const struct k2_opinfo *oi = k2_op_info((enum k2_op)op);
		struct bpf_insn in[2];
		int64_t imm = oi->kind == K2_KIND_LDDW ? 0x123456789abcLL : 3;

		k2_insn_encode((enum k2_op)op, 1, 2, 4, imm, in);
		cr_expect_eq(k2_insn_op(in), (enum k2_op)op, "%s decodes as %s", oi->name,
			     k2_op_info(k2_insn_op(in))->name);
		cr_expect_eq(k2_op_by_name(oi->name), (enum k2_op)op);
	}
}

Test(insn_decode, names_are_unique)
{
	for (int a = 1; a < K2_OP__COUNT; a++)
		for (int b = a + 1; b < K2_OP__COUNT; b++)
			cr_expect_neq(strcmp(k2_op_info(a)->name, k2_op_info(b)->name), 0, "%s",
				      k2_op_info(a)->name);
}

Test(insn_decode, reserved_fields_are_rejected)
{
	struct bpf_insn bad[] = {
		{ .code = BPF_ALU64 | BPF_ADD | BPF_K, .dst_reg = 1, .src_reg = 2, .imm = 1 },
		{ .code = BPF_ALU64 | BPF_ADD | BPF_X, .dst_reg = 1, .src_reg = 2, .imm = 1 },
		{ .code = BPF_ALU64 | BPF_ADD | BPF_X, .dst_reg = 1, .src_reg = 2, .off = 1 },
		{ .code = BPF_ALU64 | BPF_NEG | BPF_X, .dst_reg = 1 },
		{ .code = BPF_ALU | BPF_END | BPF_TO_LE, .dst_reg = 1, .imm = 8 },
		{ .code = BPF_ALU64 | BPF_END | BPF_TO_BE, .dst_reg = 1, .imm = 16 },
		{ .code = BPF_ALU | BPF_MOV | BPF_X, .dst_reg = 1, .src_reg = 2, .off = 32 },
		{ .code = BPF_JMP | BPF_EXIT, .dst_reg = 1 },
		{ .code = BPF_JMP32 | BPF_CALL, .imm = 1 },
		{ .code = BPF_JMP | BPF_JA, .imm = 1 },
		{ .code = BPF_JMP | BPF_JEQ | BPF_K, .src_reg = 1 },
		{ .code = BPF_LDX | BPF_MEMSX | BPF_DW, .dst_reg = 1, .src_reg = 2 },
		{ .code = BPF_STX | BPF_ATOMIC | BPF_B, .dst_reg = 1, .src_reg = 2, .imm = BPF_ADD },
		{ .code = BPF_STX | BPF_ATOMIC | BPF_DW, .dst_reg = 1, .src_reg = 2, .imm = BPF_LSH },
		{ .code = BPF_LD | BPF_IMM | BPF_DW, .src_reg = 7 },
		{ .code = BPF_LD | BPF_ABS | BPF_DW },
		{ .code = 0xff },
		{ .code = BPF_ALU64 | 0xe0 | BPF_K, .dst_reg = 1 },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(k2_insn_op(&bad[i]), K2_OP_INVALID, "case %zu decoded as %s", i,
			     k2_op_info(k2_insn_op(&bad[i]))->name);
}

Test(insn_decode, v4_forms_are_marked)
{
	struct bpf_insn sdiv = { .code = BPF_ALU64 | BPF_DIV | BPF_X, .dst_reg = 1, .src_reg = 2, .off = 1 };
	struct bpf_insn movsx = { .code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = 1, .src_reg = 2, .off = 16 };
	struct bpf_insn gotol = { .code = BPF_JMP32 | BPF_JA, .imm = 5 };
	struct bpf_insn bswap = { .code = BPF_ALU64 | BPF_END, .dst_reg = 1, .imm = 32 };

	cr_expect_eq(k2_insn_op(&sdiv), K2_OP_SDIV64_X);
	cr_expect_eq(k2_insn_op(&movsx), K2_OP_MOVSX64_16);
	cr_expect_eq(k2_insn_op(&gotol), K2_OP_JA32);
	cr_expect_eq(k2_insn_op(&bswap), K2_OP_BSWAP32);
	cr_expect_eq(k2_op_info(K2_OP_SDIV64_X)->isa, K2_ISA_V4);
	cr_expect_eq(k2_op_info(K2_OP_JA32)->isa, K2_ISA_V4);
	cr_expect_eq(k2_op_info(K2_OP_JLT64_K)->isa, K2_ISA_V2);
	cr_expect_eq(k2_op_info(K2_OP_JEQ32_K)->isa, K2_ISA_V3);
}

static int check(const struct bpf_insn *p, size_t n, struct k2_err *e)
{
	return k2_insns_check(p, n, NULL, e);
}

Test(insn_check, malformed_programs_name_the_instruction)
{
	struct k2_err e;
	struct bpf_insn fall[] = { { .code = BPF_ALU64 | BPF_MOV | BPF_K, .imm = 1 } };
	struct bpf_insn jump[] = {
		{ .code = BPF_JMP | BPF_JA, .off = 5 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	struct bpf_insn half[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K },
		{ .code = BPF_LD | BPF_IMM | BPF_DW, .dst_reg = 1 },
	};
	struct bpf_insn mid[] = {
		{ .code = BPF_JMP | BPF_JA, .off = 1 },
		{ .code = BPF_LD | BPF_IMM | BPF_DW, .dst_reg = 1 },
		{ 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	struct bpf_insn fp[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 10 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	struct bpf_insn reg[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = 1, .src_reg = 11 },
		{ .code = BPF_JMP | BPF_EXIT },
	};

	cr_expect_lt(check(fall, 1, &e), 0);
	cr_expect(strstr(e.msg, "insn 0: control falls off"), "%s", e.msg);
	cr_expect_lt(check(jump, 2, &e), 0);
	cr_expect(strstr(e.msg, "insn 0: jump out of range"), "%s", e.msg);
	cr_expect_lt(check(half, 2, &e), 0);
	cr_expect(strstr(e.msg, "insn 1: ld_imm64 is missing"), "%s", e.msg);
	cr_expect_lt(check(mid, 4, &e), 0);
	cr_expect(strstr(e.msg, "middle of ld_imm64"), "%s", e.msg);
	cr_expect_lt(check(fp, 2, &e), 0);
	cr_expect(strstr(e.msg, "frame pointer is read only"), "%s", e.msg);
	cr_expect_lt(check(reg, 2, &e), 0);
	cr_expect(strstr(e.msg, "R11 is invalid"), "%s", e.msg);
}

Test(insn_check, well_formed_program_passes)
{
	struct k2_err e;
	struct bpf_insn p[] = {
		{ .code = BPF_LD | BPF_IMM | BPF_DW, .dst_reg = 0, .imm = 1 },
		{ .imm = 2 },
		{ .code = BPF_JMP | BPF_JEQ | BPF_K, .dst_reg = 0, .off = 1, .imm = 4 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .imm = 1 },
		{ .code = BPF_JMP | BPF_EXIT },
	};

	cr_expect_eq(check(p, 5, &e), 0, "%s", e.msg);
	cr_expect_eq(k2_insn_imm64(p), 0x200000001ULL);
}

#include "bpf/k2_helpers.h"

Test(helpers, table_is_sorted_and_findable)
{
	uint32_t n;
	const struct k2_helper *t = k2_helper_table(&n);

	cr_assert_gt(n, 20);
	for (uint32_t i = 0; i < n; i++) {
		if (i)
			cr_expect_lt(t[i - 1].id, t[i].id, "%s", t[i].name);
		cr_expect_eq(k2_helper_find(t[i].id), &t[i]);
	}
	cr_expect_null(k2_helper_find(9999));
	cr_expect(k2_helper_allowed(k2_helper_find(BPF_FUNC_xdp_adjust_head), BPF_PROG_TYPE_XDP));
	cr_expect(!k2_helper_allowed(k2_helper_find(BPF_FUNC_xdp_adjust_head),
				     BPF_PROG_TYPE_SOCKET_FILTER));
}
