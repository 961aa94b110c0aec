/* bpf/asm_syntax.h: spellings shared by the assembler and the disassembler (internal to bpf/). */
#ifndef K2_ASM_SYNTAX_H
#define K2_ASM_SYNTAX_H

#include <stdbool.h>
#include <stdint.h>

#include "bpf/k2_insn.h"

/* Compound assignment of an ALU op, by BPF_OP() >> 4: "+=", ..., "s>>="; NULL for neg/end. */
extern const char *const k2_syn_alu[16];
/* Condition of a conditional jump, by BPF_OP() >> 4: "==", "&", "s<=", ...; NULL otherwise. */
extern const char *const k2_syn_jmp[16];
/* Atomic read-modify-write op name, by BPF_OP(imm) >> 4: "add", "or", "and", "xor". */
extern const char *const k2_syn_atomic[16];

/*
 * The first op of the table with these properties, or K2_OP_INVALID. Only the flags in
 * `mask` are compared; `off` and `imm` are the selecting values of k2_opinfo.
 */
enum k2_op k2_syn_find(uint8_t kind, uint8_t width, uint8_t aluop, int16_t off, int32_t imm,
		       uint32_t mask, uint32_t flags);

#endif
