/* bpf/decode.c: from an instruction slot to its operation id, with the kernel's reserved-field rules. */
#include "bpf/k2_insn.h"

/* ALU ops in BPF_OP() order (0x00..0xd0) and their 64/32-bit K ids; X is K + 1. */
static enum k2_op alu_k_op(uint8_t op, bool is64)
{
	static const enum k2_op k64[14] = {
		K2_OP_ADD64_K, K2_OP_SUB64_K, K2_OP_MUL64_K, K2_OP_DIV64_K, K2_OP_OR64_K,
		K2_OP_AND64_K, K2_OP_LSH64_K, K2_OP_RSH64_K, K2_OP_INVALID /* neg */,
		K2_OP_MOD64_K, K2_OP_XOR64_K, K2_OP_MOV64_K, K2_OP_ARSH64_K, K2_OP_INVALID /* end */,
	};
	static const enum k2_op k32[14] = {
		K2_OP_ADD32_K, K2_OP_SUB32_K, K2_OP_MUL32_K, K2_OP_DIV32_K, K2_OP_OR32_K,
		K2_OP_AND32_K, K2_OP_LSH32_K, K2_OP_RSH32_K, K2_OP_INVALID,
		K2_OP_MOD32_K, K2_OP_XOR32_K, K2_OP_MOV32_K, K2_OP_ARSH32_K, K2_OP_INVALID,
	};
	unsigned i = op >> 4;

	if (i >= 14)
		return K2_OP_INVALID;
	return is64 ? k64[i] : k32[i];
}

static enum k2_op decode_end(const struct bpf_insn *in, bool is64)
{
	int w;

	if (in->src_reg || in->off)
		return K2_OP_INVALID;
	if (in->imm == 16)
		w = 0;
	else if (in->imm == 32)
		w = 1;
	else if (in->imm == 64)
		w = 2;
	else
		return K2_OP_INVALID;
	if (is64)
		return BPF_SRC(in->code) == BPF_TO_LE ? (enum k2_op)(K2_OP_BSWAP16 + w) : K2_OP_INVALID;
	return BPF_SRC(in->code) == BPF_TO_LE ? (enum k2_op)(K2_OP_LE16 + w)
					     : (enum k2_op)(K2_OP_BE16 + w);
}

static enum k2_op decode_movsx(const struct bpf_insn *in, bool is64)
{
	switch (in->off) {
	case 8:
		return is64 ? K2_OP_MOVSX64_8 : K2_OP_MOVSX32_8;
	case 16:
		return is64 ? K2_OP_MOVSX64_16 : K2_OP_MOVSX32_16;
	case 32:
		return is64 ? K2_OP_MOVSX64_32 : K2_OP_INVALID;
	default:
		return K2_OP_INVALID;
	}
}

static enum k2_op decode_alu(const struct bpf_insn *in)
{
	bool is64 = BPF_CLASS(in->code) == BPF_ALU64;
	bool x = BPF_SRC(in->code) == BPF_X;
	uint8_t op = BPF_OP(in->code);
	enum k2_op k;

	if (op == BPF_END)
		return decode_end(in, is64);
	if (op == BPF_NEG) {
		if (x || in->src_reg || in->off || in->imm)
			return K2_OP_INVALID;
		return is64 ? K2_OP_NEG64 : K2_OP_NEG32;
	}
	k = alu_k_op(op, is64);
	if (k == K2_OP_INVALID)
		return k;
	if (x ? in->imm != 0 : in->src_reg != 0)
		return K2_OP_INVALID;
	if (in->off == 0)
		return x ? (enum k2_op)(k + 1) : k;
	if (op == BPF_MOV)
		return x ? decode_movsx(in, is64) : K2_OP_INVALID;
	if (in->off != 1 || (op != BPF_DIV && op != BPF_MOD))
		return K2_OP_INVALID;
	/* SDIV64_K, SDIV64_X, SMOD64_K, SMOD64_X follow each other. */
	if (op == BPF_DIV)
		return (enum k2_op)((is64 ? K2_OP_SDIV64_K : K2_OP_SDIV32_K) + x);
	return (enum k2_op)((is64 ? K2_OP_SMOD64_K : K2_OP_SMOD32_K) + x);
}

static enum k2_op decode_jmp(const struct bpf_insn *in)
{
	static const enum k2_op k64[14] = {
		K2_OP_INVALID /* ja */, K2_OP_JEQ64_K, K2_OP_JGT64_K, K2_OP_JGE64_K,
		K2_OP_JSET64_K, K2_OP_JNE64_K, K2_OP_JSGT64_K, K2_OP_JSGE64_K,
		K2_OP_INVALID /* call */, K2_OP_INVALID /* exit */, K2_OP_JLT64_K,
		K2_OP_JLE64_K, K2_OP_JSLT64_K, K2_OP_JSLE64_K,
	};
	static const enum k2_op k32[14] = {
		K2_OP_INVALID, K2_OP_JEQ32_K, K2_OP_JGT32_K, K2_OP_JGE32_K,
		K2_OP_JSET32_K, K2_OP_JNE32_K, K2_OP_JSGT32_K, K2_OP_JSGE32_K,
		K2_OP_INVALID, K2_OP_INVALID, K2_OP_JLT32_K,
		K2_OP_JLE32_K, K2_OP_JSLT32_K, K2_OP_JSLE32_K,
	};
	bool is64 = BPF_CLASS(in->code) == BPF_JMP;
	bool x = BPF_SRC(in->code) == BPF_X;
	uint8_t op = BPF_OP(in->code);
	unsigned i = op >> 4;

	switch (op) {
	case BPF_JA:
		if (x || in->src_reg || in->dst_reg)
			return K2_OP_INVALID;
		if (is64)
			return in->imm ? K2_OP_INVALID : K2_OP_JA;
		return in->off ? K2_OP_INVALID : K2_OP_JA32;
	case BPF_CALL:
		if (x || !is64 || in->dst_reg)
			return K2_OP_INVALID;
		if (in->src_reg == BPF_PSEUDO_KFUNC_CALL)
			return K2_OP_CALL_KFUNC; /* off selects the module BTF */
		if (in->off)
			return K2_OP_INVALID;
		if (in->src_reg == 0)
			return K2_OP_CALL;
		return in->src_reg == BPF_PSEUDO_CALL ? K2_OP_CALL_PSEUDO : K2_OP_INVALID;
	case BPF_EXIT:
		if (x || !is64 || in->src_reg || in->dst_reg || in->off || in->imm)
			return K2_OP_INVALID;
		return K2_OP_EXIT;
	}
	if (i >= 14 || k64[i] == K2_OP_INVALID)
		return K2_OP_INVALID;
	if (x ? in->imm != 0 : in->src_reg != 0)
		return K2_OP_INVALID;
	return (enum k2_op)((is64 ? k64[i] : k32[i]) + x);
}

static int size_index(uint8_t code)
{
	switch (BPF_SIZE(code)) {
	case BPF_B:
		return 0;
	case BPF_H:
		return 1;
	case BPF_W:
		return 2;
	default:
		return 3;
	}
}

static enum k2_op decode_atomic(const struct bpf_insn *in)
{
	bool is64;
	enum k2_op base;

	if (BPF_SIZE(in->code) != BPF_W && BPF_SIZE(in->code) != BPF_DW)
		return K2_OP_INVALID;
	is64 = BPF_SIZE(in->code) == BPF_DW;
	base = is64 ? K2_OP_ATOMIC_ADD64 : K2_OP_ATOMIC_ADD32;
	/* Order per width: add, fetch_add, or, fetch_or, and, fetch_and, xor, fetch_xor, xchg, cmpxchg. */
	switch (in->imm) {
	case BPF_ADD:
		return base;
	case BPF_ADD | BPF_FETCH:
		return (enum k2_op)(base + 1);
	case BPF_OR:
		return (enum k2_op)(base + 2);
	case BPF_OR | BPF_FETCH:
		return (enum k2_op)(base + 3);
	case BPF_AND:
		return (enum k2_op)(base + 4);
	case BPF_AND | BPF_FETCH:
		return (enum k2_op)(base + 5);
	case BPF_XOR:
		return (enum k2_op)(base + 6);
	case BPF_XOR | BPF_FETCH:
		return (enum k2_op)(base + 7);
	case BPF_XCHG:
		return (enum k2_op)(base + 8);
	case BPF_CMPXCHG:
		return (enum k2_op)(base + 9);
	default:
		return K2_OP_INVALID;
	}
}

static enum k2_op decode_mem(const struct bpf_insn *in)
{
	static const enum k2_op ldx[4] = { K2_OP_LDXB, K2_OP_LDXH, K2_OP_LDXW, K2_OP_LDXDW };
	static const enum k2_op ldsx[4] = { K2_OP_LDSXB, K2_OP_LDSXH, K2_OP_LDSXW, K2_OP_INVALID };
	static const enum k2_op st[4] = { K2_OP_STB, K2_OP_STH, K2_OP_STW, K2_OP_STDW };
	static const enum k2_op stx[4] = { K2_OP_STXB, K2_OP_STXH, K2_OP_STXW, K2_OP_STXDW };
	int s = size_index(in->code);
	uint8_t mode = BPF_MODE(in->code);

	switch (BPF_CLASS(in->code)) {
	case BPF_LDX:
		if (in->imm)
			return K2_OP_INVALID;
		if (mode == BPF_MEM)
			return ldx[s];
		return mode == K2_BPF_MEMSX ? ldsx[s] : K2_OP_INVALID;
	case BPF_ST:
		return mode == BPF_MEM && !in->src_reg ? st[s] : K2_OP_INVALID;
	default: /* BPF_STX */
		if (mode == BPF_ATOMIC)
			return decode_atomic(in);
		return mode == BPF_MEM && !in->imm ? stx[s] : K2_OP_INVALID;
	}
}

static enum k2_op decode_ld(const struct bpf_insn *in)
{
	static const enum k2_op lddw[7] = {
		K2_OP_LDDW, K2_OP_LDDW_MAP_FD, K2_OP_LDDW_MAP_VALUE, K2_OP_LDDW_BTF_ID,
		K2_OP_LDDW_FUNC, K2_OP_LDDW_MAP_IDX, K2_OP_LDDW_MAP_IDX_VALUE,
	};
	static const enum k2_op abs_[3] = { K2_OP_LDABSB, K2_OP_LDABSH, K2_OP_LDABSW };
	static const enum k2_op ind[3] = { K2_OP_LDINDB, K2_OP_LDINDH, K2_OP_LDINDW };
	int s = size_index(in->code);

	switch (BPF_MODE(in->code)) {
	case BPF_IMM:
		if (BPF_SIZE(in->code) != BPF_DW || in->off || in->src_reg > 6)
			return K2_OP_INVALID;
		return lddw[in->src_reg];
	case BPF_ABS:
	case BPF_IND:
		if (s == 3 || in->dst_reg || in->off)
			return K2_OP_INVALID;
		if (BPF_MODE(in->code) == BPF_ABS)
			return in->src_reg ? K2_OP_INVALID : abs_[s];
		return ind[s];
	default:
		return K2_OP_INVALID;
	}
}

enum k2_op k2_insn_op(const struct bpf_insn *insn)
{
	switch (BPF_CLASS(insn->code)) {
	case BPF_ALU:
	case BPF_ALU64:
		return decode_alu(insn);
	case BPF_JMP:
	case BPF_JMP32:
		return decode_jmp(insn);
	case BPF_LD:
		return decode_ld(insn);
	default:
		return decode_mem(insn);
	}
}
