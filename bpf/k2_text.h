/* bpf/k2_text.h: the text form of instructions, in the syntax of llvm-objdump -d and bpftool. */
#ifndef K2_TEXT_H
#define K2_TEXT_H

#include <stdio.h>

#include "bpf/k2_insn.h"

/*
 * The syntax. Where llvm-objdump 14 prints a form unambiguously, the text is exactly llvm's
 * (tests/unit/text_llvm.c compares every instruction of the xdp-tools and corpus objects).
 * Immediates print in signed decimal, jump offsets with their sign, memory offsets as
 * "+ N" / "- N". rN is a 64-bit operand, wN a 32-bit one.
 *
 *   ALU64 / ALU32      r1 += 5    r1 += r2    w1 -= -1    r1 s>>= 3    w1 = w2    r1 = -r1
 *                      ops: += -= *= /= %= |= &= ^= <<= >>= s>>=   mov: r1 = 5 / r1 = r2
 *   v4 sdiv/smod       r1 s/= r2    w1 s%= 7
 *   v4 movsx           r1 = (s8)r2    r1 = (s16)r2    r1 = (s32)r2    w1 = (s8)w2    w1 = (s16)w2
 *   byte swaps         r1 = le16 r1 ... r1 = be64 r1;  v4: r1 = bswap16 r1 ... bswap64
 *   jumps              if r1 > 5 goto +3    if w1 s<= w2 goto -7    if r1 & r2 goto +0
 *                      conditions: == != > >= < <= s> s>= s< s<= &
 *                      goto +3    v4 gotol +100000 (JA32: the offset is imm)
 *   calls              call 1 (helper; numeric, never a name)    call pc+5 (bpf-to-bpf,
 *                      src_reg 1)    call kfunc 123 (src_reg 2)    call kfunc 123 btf:2 (off,
 *                      the module BTF's fd_array index, shown when nonzero)    exit
 *   loads / stores     r1 = *(u32 *)(r2 + 4)    *(u16 *)(r10 - 8) = r1    *(u32 *)(r10 - 8) = 5
 *                      v4 ldsx: r1 = *(s8 *)(r2 + 4), s16, s32
 *   atomics (64)       lock *(u64 *)(r2 + 0) += r3  (also |= &= ^=)
 *                      r3 = atomic_fetch_add((u64 *)(r2 + 0), r3)  (also _or _and _xor)
 *                      r6 = xchg_64(r2 + 0, r6)    r0 = cmpxchg_64(r2 + 0, r0, r3)
 *   atomics (32)       lock *(u32 *)(r2 + 0) += r3  (as llvm 14 and bpftool print it)
 *                      w3 = atomic_fetch_add((u32 *)(r2 + 0), w3)
 *                      w6 = xchg32_32(r2 + 0, w6)    w0 = cmpxchg32_32(r2 + 0, w0, w3)
 *   ld_imm64           r1 = 1311768467463790320 ll  (the 64-bit value, signed decimal)
 *                      r1 = map[fd:3] ll             src_reg 1 (BPF_PSEUDO_MAP_FD)
 *                      r1 = map[fd:3][0]+16 ll       src_reg 2 (MAP_VALUE; +offset = 2nd imm)
 *                      r1 = btf[id:5] ll             src_reg 3 (BTF_ID; ",fd:N" if 2nd imm)
 *                      r1 = func[pc+4] ll            src_reg 4 (FUNC; pc-relative like a call)
 *                      r1 = map[idx:2] ll            src_reg 5 (MAP_IDX, as k2_obj.h uses)
 *                      r1 = map[idx:2][0]+16 ll      src_reg 6 (MAP_IDX_VALUE)
 *                      A nonzero 2nd imm that the kernel rejects (map[fd], map[idx], func)
 *                      prints inside the brackets, "map[idx:2,hi:7] ll", so text stays exact.
 *   legacy skb loads   r0 = *(u8 *)skb[12]    r0 = *(u16 *)skb[r2]    r0 = *(u32 *)skb[r2 + 12]
 *
 * The assembler also reads: bpftool prog dump lines ("  3: (63) *(u32 *)(r10 -4) = r1",
 * "goto pc+3", "call bpf_map_lookup_elem#1", "call kernel-function#N", bpftool's
 * atomic64_fetch_add/atomic_xchg/atomic_cmpxchg spellings, "skb[r2 + -12]", and
 * "(18) r1 = 0x5" as an ld_imm64 because of its opcode), llvm's "ld_pseudo r1, 1, 3", the
 * alu32 spellings "w1 = *(u32 *)(r2 + 4)" and "*(u32 *)(r1 + 0) = w2", loose spacing,
 * and hex immediates: a 32-bit field takes decimal in [INT32_MIN, INT32_MAX] or hex up to
 * 0xffffffff as a bit pattern (bpftool prints "if r1 > 0xfffffffb"); an ld_imm64 takes
 * any value in [INT64_MIN, UINT64_MAX]. Registers are r0..r10; r10 may be written in text
 * (k2_insns_check() rejects that, not the assembler).
 */

/*
 * One instruction (both slots of an ld_imm64: insn[1] is read for those) as text, into
 * buf[0, len) like snprintf, without allocating. Returns the length snprintf would, or
 * -EINVAL (and "invalid" is written) for bytes that do not decode (k2_insn_op()), a
 * register above r10 in a register field, or an ld_imm64 whose second slot has anything
 * but imm set. Every other instruction prints so that k2_asm_insn() gives its bytes back.
 */
int k2_disasm_insn(const struct bpf_insn *insn, char *buf, size_t len);

/*
 * Parses one instruction. Accepts what k2_disasm_insn() prints, llvm-objdump's
 * "  12:\t61 12 04 00 00 00 00 00\tr2 = *(u32 *)(r1 + 4)" lines (index and bytes
 * are ignored), bpftool's "  3: (61) ..." lines, and a trailing "<label>" annotation or
 * comment (';', "//", or '#' after a blank). Fills out[0] (and out[1] for an ld_imm64)
 * and returns the number of slots (1 or 2). On error returns -EINVAL with e->msg
 * "column N: expected WHAT, found 'TEXT'" (or another located reason), or -ENODATA for
 * a line without an instruction (blank or only a comment). `line` ends at NUL; one
 * trailing newline is allowed. Jumps to labels need k2_asm_prog().
 */
int k2_asm_insn(const char *line, struct bpf_insn out[2], struct k2_err *e);

/*
 * A whole sequence, one instruction per line; blank lines, comments (';', '#',
 * '//') and "name:" labels are allowed (a label may share its line with an
 * instruction), and jumps may name a label instead of +N: "goto name", "gotol name",
 * "if r1 > r2 goto name", "call name" (bpf-to-bpf), "r1 = func[name] ll". A pasted
 * llvm-objdump -d listing of one section reads as is: its "0000000000000040 <LBB0_3>:"
 * lines are labels, its "Disassembly of section" and "file format" headers are skipped.
 * Returns 0 with *out malloc'd (never NULL, even for zero instructions) and *n slots, or
 * a negative errno with *out NULL, *n 0 and e->msg "line 7: column 3: expected register".
 */
int k2_asm_prog(const char *text, struct bpf_insn **out, size_t *n, struct k2_err *e);

/*
 * Prints insns[0, n) as llvm-objdump -d does: "%8zu:\t<raw bytes>\t<text>", an ld_imm64 on
 * one line with its 16 bytes. k2_asm_prog() reads the output back to the same slots.
 */
void k2_disasm_prog(FILE *f, const struct bpf_insn *insns, size_t n);

#endif
