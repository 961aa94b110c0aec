/* bpf/encode.c: from an operation id and operands back to instruction slots; operand queries. */
#include "bpf/k2_insn.h"

#include <string.h>

int k2_insn_encode(enum k2_op op, uint8_t dst, uint8_t src, int16_t off, int64_t imm,
		   struct bpf_insn *out)
{
	const struct k2_opinfo *oi = k2_op_info(op);

	memset(out, 0, sizeof(*out));
	out->code = oi->code;
	out->dst_reg = dst & 0xf;
	out->src_reg = src & 0xf;
	out->off = off;
	out->imm = (int32_t)imm;
	switch (oi->kind) {
	case K2_KIND_ALU:
		if (oi->off) /* sdiv/smod/movsx are selected by off */
			out->off = oi->off;
		if (oi->flags & K2_F_IMM)
			out->src_reg = 0;
		else
			out->imm = 0;
		if (op == K2_OP_NEG64 || op == K2_OP_NEG32)
			out->src_reg = 0, out->imm = 0;
		if (!oi->off)
			out->off = 0;
		break;
	case K2_KIND_END:
		out->src_reg = 0;
		out->off = 0;
		out->imm = oi->imm;
		break;
	case K2_KIND_ATOMIC:
		out->imm = oi->imm;
		break;
	case K2_KIND_CALL:
		out->dst_reg = 0;
		out->src_reg = op == K2_OP_CALL ? 0 : op == K2_OP_CALL_PSEUDO ? BPF_PSEUDO_CALL
									   : BPF_PSEUDO_KFUNC_CALL;
		if (op != K2_OP_CALL_KFUNC)
			out->off = 0;
		break;
	case K2_KIND_EXIT:
		memset(out, 0, sizeof(*out));
		out->code = oi->code;
		break;
	case K2_KIND_JA:
		out->dst_reg = out->src_reg = 0;
		if (op == K2_OP_JA)
			out->imm = 0;
		else
			out->off = 0;
		break;
	case K2_KIND_JMP:
		if (oi->flags & K2_F_IMM)
			out->src_reg = 0;
		else
			out->imm = 0;
		break;
	case K2_KIND_LDX:
		out->imm = 0;
		break;
	case K2_KIND_ST:
		out->src_reg = 0;
		break;
	case K2_KIND_STX:
		out->imm = 0;
		break;
	case K2_KIND_LDDW:
		out->src_reg = (uint8_t)(op - K2_OP_LDDW);
		out->off = 0;
		memset(&out[1], 0, sizeof(out[1]));
		out[1].imm = (int32_t)((uint64_t)imm >> 32);
		return 2;
	case K2_KIND_LDABS:
		out->src_reg = 0;
		/* fallthrough */
	case K2_KIND_LDIND:
		out->dst_reg = 0;
		out->off = 0;
		break;
	}
	return 1;
}

long k2_insn_target(const struct bpf_insn *insn, size_t idx)
{
	if (BPF_CLASS(insn->code) == BPF_JMP32 && BPF_OP(insn->code) == BPF_JA)
		return (long)idx + 1 + insn->imm;
	if (BPF_OP(insn->code) == BPF_CALL)
		return (long)idx + 1 + insn->imm;
	return (long)idx + 1 + insn->off;
}

uint16_t k2_insn_uses(const struct bpf_insn *insn)
{
	enum k2_op op = k2_insn_op(insn);
	const struct k2_opinfo *oi = k2_op_info(op);
	uint16_t m = 0;

	if (op == K2_OP_INVALID)
		return 0;
	if (oi->flags & K2_F_RD_DST)
		m |= 1u << insn->dst_reg;
	if (oi->flags & K2_F_RD_SRC)
		m |= 1u << insn->src_reg;
	if (oi->flags & K2_F_RD_R0)
		m |= 1u << 0;
	if (oi->flags & K2_F_CALL)
		m |= 0x3e; /* r1..r5 */
	if (oi->kind == K2_KIND_LDABS || oi->kind == K2_KIND_LDIND)
		m |= 1u << 6; /* the skb is implicitly r6 */
	return m;
}

uint16_t k2_insn_defs(const struct bpf_insn *insn)
{
	enum k2_op op = k2_insn_op(insn);
	const struct k2_opinfo *oi = k2_op_info(op);
	uint16_t m = 0;

	if (op == K2_OP_INVALID)
		return 0;
	if (oi->flags & K2_F_WR_DST)
		m |= 1u << insn->dst_reg;
	if (oi->flags & K2_F_FETCH)
		m |= 1u << insn->src_reg;
	if (oi->flags & K2_F_WR_R0)
		m |= 1u << 0;
	if (oi->flags & K2_F_CLOBBER)
		m |= 0x3e;
	return m;
}
