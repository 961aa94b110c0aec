/* bpf/k2_text.h: the text form of instructions, in the syntax of llvm-objdump -d and bpftool. */
#ifndef K2_TEXT_H
#define K2_TEXT_H

#include <stdio.h>

#include "bpf/k2_insn.h"

/*
 * One instruction (both slots of an ld_imm64) as llvm-objdump -d prints it:
 *   r1 = *(u32 *)(r2 + 4)     if w1 > 0x5 goto +3     call 1     r1 = 0 ll
 * Forms llvm-objdump cannot show unambiguously use bpftool's spelling (pseudo calls,
 * kfuncs, ld_imm64 pseudo sources); every form prints so that k2_asm_insn() gives
 * back the same bytes. Returns the length that snprintf would, or a negative errno
 * for an undecodable instruction (then "invalid" is written).
 */
int k2_disasm_insn(const struct bpf_insn *insn, char *buf, size_t len);

/*
 * Parses one instruction. Accepts what k2_disasm_insn() prints, llvm-objdump's
 * "  12:\t61 12 04 00 00 00 00 00\tr2 = *(u32 *)(r1 + 4)" lines (index and bytes
 * are ignored), and a trailing "<label>" or "; comment". Fills out[0] (and out[1]
 * for an ld_imm64) and returns the number of slots (1 or 2), or a negative errno
 * with e->msg naming the column and what was expected.
 */
int k2_asm_insn(const char *line, struct bpf_insn out[2], struct k2_err *e);

/*
 * A whole sequence, one instruction per line; blank lines, comments (';', '#',
 * '//') and "name:" labels are allowed, and jumps may name a label instead of +N.
 * *out is malloc'd. Errors name the line: "line 7: expected register".
 */
int k2_asm_prog(const char *text, struct bpf_insn **out, size_t *n, struct k2_err *e);

/* Prints insns[0, n) with their indices, one per line, as llvm-objdump -d does. */
void k2_disasm_prog(FILE *f, const struct bpf_insn *insns, size_t n);

#endif
