/* bpf/k2_insn.h: the eBPF instruction set: operation ids, the opcode table, decoding, checks. */
#ifndef K2_INSN_H
#define K2_INSN_H

#include <linux/bpf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf/k2_err.h"

/* ISA v4 encodings newer than Debian 12's uapi header. */
#ifndef BPF_MEMSX
#define BPF_MEMSX 0x80
#endif
#define K2_BPF_MEMSX BPF_MEMSX

#define K2_NREGS 11     /* r0..r10; r10 is the read-only frame pointer */
#define K2_REG_FP 10

/* The ISA version (clang -mcpu=vN) that introduced a form. */
enum k2_isa { K2_ISA_V1 = 1, K2_ISA_V2 = 2, K2_ISA_V3 = 3, K2_ISA_V4 = 4 };

enum k2_kind {
	K2_KIND_ALU,    /* dst = dst op src|imm, incl. MOV, NEG, MOVSX, SDIV/SMOD */
	K2_KIND_END,    /* le/be/bswap 16/32/64; width is the swap size */
	K2_KIND_JMP,    /* conditional branch; width 32 for JMP32 */
	K2_KIND_JA,     /* unconditional: JA (off) or JA32/gotol (imm) */
	K2_KIND_CALL,   /* helper (src 0), bpf-to-bpf (src 1), kfunc (src 2) */
	K2_KIND_EXIT,
	K2_KIND_LDX,    /* dst = *(size *)(src + off), incl. sign-extending LDSX */
	K2_KIND_ST,     /* *(size *)(dst + off) = imm */
	K2_KIND_STX,    /* *(size *)(dst + off) = src */
	K2_KIND_ATOMIC, /* atomic read-modify-write on *(size *)(dst + off) */
	K2_KIND_LDDW,   /* 64-bit immediate load, two slots; src_reg selects the pseudo form */
	K2_KIND_LDABS,  /* legacy packet load r0 = ntoh(*(size *)(skb + imm)) */
	K2_KIND_LDIND,  /* legacy packet load r0 = ntoh(*(size *)(skb + src + imm)) */
};

/* Operation properties (struct k2_opinfo.flags). */
#define K2_F_RD_DST  (1u << 0)  /* reads dst_reg */
#define K2_F_WR_DST  (1u << 1)  /* writes dst_reg */
#define K2_F_RD_SRC  (1u << 2)  /* reads src_reg */
#define K2_F_IMM     (1u << 3)  /* imm is an operand */
#define K2_F_OFF     (1u << 4)  /* off is an operand (memory offset or branch target) */
#define K2_F_ALU32   (1u << 5)  /* 32-bit: result zero-extended, or compares the low halves */
#define K2_F_LOAD    (1u << 6)  /* reads memory */
#define K2_F_STORE   (1u << 7)  /* writes memory */
#define K2_F_BRANCH  (1u << 8)  /* transfers control to pc + 1 + off (or imm) */
#define K2_F_SIGNED  (1u << 9)  /* signed semantics (arsh, sdiv, movsx, ldsx, signed compares) */
#define K2_F_CALL    (1u << 10) /* call: reads r1..r5 per callee, writes r0, clobbers r1..r5 */
#define K2_F_RD_R0   (1u << 11) /* reads r0 implicitly (exit, cmpxchg) */
#define K2_F_WR_R0   (1u << 12) /* writes r0 implicitly (call, cmpxchg, ld_abs/ind) */
#define K2_F_CLOBBER (1u << 13) /* clobbers r1..r5 (call, ld_abs/ind) */
#define K2_F_FETCH   (1u << 14) /* atomic that writes the old value to src_reg */
#define K2_F_WIDE    (1u << 15) /* occupies two instruction slots (ld_imm64) */

/*
 * One id per distinct semantics. The opcode byte alone does not always decide it:
 * off selects sdiv/smod and movsx, imm selects the end width and the atomic op,
 * src_reg selects the call and ld_imm64 forms. k2_insn_op() resolves all of these.
 */
enum k2_op {
	K2_OP_INVALID = 0,
	K2_OP_ADD64_K,
	K2_OP_ADD64_X,
	K2_OP_SUB64_K,
	K2_OP_SUB64_X,
	K2_OP_MUL64_K,
	K2_OP_MUL64_X,
	K2_OP_DIV64_K,
	K2_OP_DIV64_X,
	K2_OP_OR64_K,
	K2_OP_OR64_X,
	K2_OP_AND64_K,
	K2_OP_AND64_X,
	K2_OP_LSH64_K,
	K2_OP_LSH64_X,
	K2_OP_RSH64_K,
	K2_OP_RSH64_X,
	K2_OP_MOD64_K,
	K2_OP_MOD64_X,
	K2_OP_XOR64_K,
	K2_OP_XOR64_X,
	K2_OP_MOV64_K,
	K2_OP_MOV64_X,
	K2_OP_ARSH64_K,
	K2_OP_ARSH64_X,
	K2_OP_NEG64,
	K2_OP_SDIV64_K,
	K2_OP_SDIV64_X,
	K2_OP_SMOD64_K,
	K2_OP_SMOD64_X,
	K2_OP_MOVSX64_8,
	K2_OP_MOVSX64_16,
	K2_OP_MOVSX64_32,
	K2_OP_ADD32_K,
	K2_OP_ADD32_X,
	K2_OP_SUB32_K,
	K2_OP_SUB32_X,
	K2_OP_MUL32_K,
	K2_OP_MUL32_X,
	K2_OP_DIV32_K,
	K2_OP_DIV32_X,
	K2_OP_OR32_K,
	K2_OP_OR32_X,
	K2_OP_AND32_K,
	K2_OP_AND32_X,
	K2_OP_LSH32_K,
	K2_OP_LSH32_X,
	K2_OP_RSH32_K,
	K2_OP_RSH32_X,
	K2_OP_MOD32_K,
	K2_OP_MOD32_X,
	K2_OP_XOR32_K,
	K2_OP_XOR32_X,
	K2_OP_MOV32_K,
	K2_OP_MOV32_X,
	K2_OP_ARSH32_K,
	K2_OP_ARSH32_X,
	K2_OP_NEG32,
	K2_OP_SDIV32_K,
	K2_OP_SDIV32_X,
	K2_OP_SMOD32_K,
	K2_OP_SMOD32_X,
	K2_OP_MOVSX32_8,
	K2_OP_MOVSX32_16,
	K2_OP_LE16,
	K2_OP_LE32,
	K2_OP_LE64,
	K2_OP_BE16,
	K2_OP_BE32,
	K2_OP_BE64,
	K2_OP_BSWAP16,
	K2_OP_BSWAP32,
	K2_OP_BSWAP64,
	K2_OP_JEQ64_K,
	K2_OP_JEQ64_X,
	K2_OP_JGT64_K,
	K2_OP_JGT64_X,
	K2_OP_JGE64_K,
	K2_OP_JGE64_X,
	K2_OP_JSET64_K,
	K2_OP_JSET64_X,
	K2_OP_JNE64_K,
	K2_OP_JNE64_X,
	K2_OP_JSGT64_K,
	K2_OP_JSGT64_X,
	K2_OP_JSGE64_K,
	K2_OP_JSGE64_X,
	K2_OP_JLT64_K,
	K2_OP_JLT64_X,
	K2_OP_JLE64_K,
	K2_OP_JLE64_X,
	K2_OP_JSLT64_K,
	K2_OP_JSLT64_X,
	K2_OP_JSLE64_K,
	K2_OP_JSLE64_X,
	K2_OP_JEQ32_K,
	K2_OP_JEQ32_X,
	K2_OP_JGT32_K,
	K2_OP_JGT32_X,
	K2_OP_JGE32_K,
	K2_OP_JGE32_X,
	K2_OP_JSET32_K,
	K2_OP_JSET32_X,
	K2_OP_JNE32_K,
	K2_OP_JNE32_X,
	K2_OP_JSGT32_K,
	K2_OP_JSGT32_X,
	K2_OP_JSGE32_K,
	K2_OP_JSGE32_X,
	K2_OP_JLT32_K,
	K2_OP_JLT32_X,
	K2_OP_JLE32_K,
	K2_OP_JLE32_X,
	K2_OP_JSLT32_K,
	K2_OP_JSLT32_X,
	K2_OP_JSLE32_K,
	K2_OP_JSLE32_X,
	K2_OP_JA,
	K2_OP_JA32,
	K2_OP_CALL,
	K2_OP_CALL_PSEUDO,
	K2_OP_CALL_KFUNC,
	K2_OP_EXIT,
	K2_OP_LDXB,
	K2_OP_LDXH,
	K2_OP_LDXW,
	K2_OP_LDXDW,
	K2_OP_LDSXB,
	K2_OP_LDSXH,
	K2_OP_LDSXW,
	K2_OP_STB,
	K2_OP_STH,
	K2_OP_STW,
	K2_OP_STDW,
	K2_OP_STXB,
	K2_OP_STXH,
	K2_OP_STXW,
	K2_OP_STXDW,
	K2_OP_ATOMIC_ADD64,
	K2_OP_ATOMIC_FETCH_ADD64,
	K2_OP_ATOMIC_OR64,
	K2_OP_ATOMIC_FETCH_OR64,
	K2_OP_ATOMIC_AND64,
	K2_OP_ATOMIC_FETCH_AND64,
	K2_OP_ATOMIC_XOR64,
	K2_OP_ATOMIC_FETCH_XOR64,
	K2_OP_XCHG64,
	K2_OP_CMPXCHG64,
	K2_OP_ATOMIC_ADD32,
	K2_OP_ATOMIC_FETCH_ADD32,
	K2_OP_ATOMIC_OR32,
	K2_OP_ATOMIC_FETCH_OR32,
	K2_OP_ATOMIC_AND32,
	K2_OP_ATOMIC_FETCH_AND32,
	K2_OP_ATOMIC_XOR32,
	K2_OP_ATOMIC_FETCH_XOR32,
	K2_OP_XCHG32,
	K2_OP_CMPXCHG32,
	K2_OP_LDDW,
	K2_OP_LDDW_MAP_FD,
	K2_OP_LDDW_MAP_VALUE,
	K2_OP_LDDW_BTF_ID,
	K2_OP_LDDW_FUNC,
	K2_OP_LDDW_MAP_IDX,
	K2_OP_LDDW_MAP_IDX_VALUE,
	K2_OP_LDABSB,
	K2_OP_LDABSH,
	K2_OP_LDABSW,
	K2_OP_LDINDB,
	K2_OP_LDINDH,
	K2_OP_LDINDW,
	K2_OP__COUNT
};

struct k2_opinfo {
	const char *name; /* unique short id, e.g. "add64_k", "jslt32_x", "ldxw" */
	uint8_t code;     /* the opcode byte */
	uint8_t kind;     /* enum k2_kind */
	uint8_t width;    /* bits: ALU/JMP operand width, memory access size, END swap size */
	uint8_t isa;      /* enum k2_isa */
	uint8_t aluop;    /* BPF_OP() of the operation (BPF_ADD, BPF_JEQ, BPF_XCHG, ...) */
	int16_t off;      /* off value that selects this form (sdiv/smod 1, movsx 8/16/32) */
	int32_t imm;      /* imm value that selects this form (END width, atomic op) */
	uint32_t flags;   /* K2_F_* */
};

/* Table entry of an op; op must be < K2_OP__COUNT. */
const struct k2_opinfo *k2_op_info(enum k2_op op);

/* Looks an op up by its k2_opinfo.name; K2_OP_INVALID if none. */
enum k2_op k2_op_by_name(const char *name);

/*
 * Decodes the operation of one instruction slot, including reserved-field checks
 * (e.g. ALU K with src_reg != 0). For an ld_imm64 only the first slot is looked at.
 * Returns K2_OP_INVALID for an encoding the kernel would reject.
 */
enum k2_op k2_insn_op(const struct bpf_insn *insn);

/*
 * Encodes an operation. For K2_KIND_LDDW `out` must have two slots and imm64 is
 * split across them; returns the number of slots written (1 or 2).
 */
int k2_insn_encode(enum k2_op op, uint8_t dst, uint8_t src, int16_t off, int64_t imm,
		   struct bpf_insn *out);

/* Value of an ld_imm64 (both slots). */
static inline uint64_t k2_insn_imm64(const struct bpf_insn *insn)
{
	return (uint64_t)(uint32_t)insn[0].imm | ((uint64_t)(uint32_t)insn[1].imm << 32);
}

/* Branch target of a jump/pseudo call at index idx (pc + 1 + off, or imm for JA32/calls). */
long k2_insn_target(const struct bpf_insn *insn, size_t idx);

/*
 * Registers an instruction reads / writes, as bit masks (bit i = ri). Calls read
 * r1..r5 and write r0..r5 (clobber); callers that know the helper narrow this.
 */
uint16_t k2_insn_uses(const struct bpf_insn *insn);
uint16_t k2_insn_defs(const struct bpf_insn *insn);

struct k2_check_opts {
	size_t sz;            /* sizeof(struct k2_check_opts), for extension */
	enum k2_isa max_isa;  /* reject forms newer than this; 0 means v4 */
	bool allow_fallthrough; /* a fragment (window) may fall off its end */
};

/*
 * Checks a sequence of instructions once, so that interpreters can assume it is
 * well formed: every opcode decodes, registers are r0..r10 and r10 is never written,
 * every ld_imm64 has its second slot, jumps land inside the program and never in
 * the middle of an ld_imm64, and control cannot fall off the end. On failure the
 * message reads "insn N: reason" (callers prefix file and section).
 */
int k2_insns_check(const struct bpf_insn *insns, size_t n, const struct k2_check_opts *opts,
		   struct k2_err *e);

#endif
