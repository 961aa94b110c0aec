/* bpf/asm_int.h: the assembler's cursor, lexer and grammar entry points (internal to bpf/). */
#ifndef K2_ASM_INT_H
#define K2_ASM_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf/k2_text.h"

/* Label lookup of k2_asm_prog(): 0 and the slot index of `name`, or -ENOENT. */
struct k2_asm_labels {
	int (*find)(const struct k2_asm_labels *l, const char *name, size_t n, long *idx);
};

/* A position in one instruction's text; columns count from `line`, 1-based. */
struct k2_asm_cur {
	const char *line;  /* the start of the source line */
	const char *p;     /* the next character */
	const char *end;   /* the end of the instruction (comments and annotations cut off) */
	struct k2_err *e;
	const struct k2_asm_labels *labels; /* NULL: a label is an error */
	long pc;           /* slot index of this instruction, for label offsets */
	bool lddw_hint;    /* bpftool's "(18)" opcode: "r1 = 0x5" is an ld_imm64 */
};

/* What the grammar produces; k2_insn_encode() turns it into slots. */
struct k2_asm_out {
	enum k2_op op;
	uint8_t dst;
	uint8_t src;
	int16_t off;
	int64_t imm;
};

/* A register operand: number 0..10 and whether it was written wN. */
struct k2_asm_reg {
	uint8_t no;
	bool w;
};

/* Lexer (bpf/asm_lex.c). Every k2_asm_* that returns int gives 0 or a negative errno. */
void k2_asm_ws(struct k2_asm_cur *c);
bool k2_asm_at_end(struct k2_asm_cur *c);
/* Skips blanks and consumes `lit` if it is next; a literal ending in a letter or digit
 * must also end a word there ("ll" does not match "llx"). */
bool k2_asm_eat(struct k2_asm_cur *c, const char *lit);
int k2_asm_expect(struct k2_asm_cur *c, const char *lit);
/* "column N: expected WHAT, found 'TEXT'" (or "found end of line"). */
int k2_asm_fail(struct k2_asm_cur *c, const char *what);
/* The same at an earlier position and with a free message: "column N: MSG". */
int k2_asm_fail_at(struct k2_asm_cur *c, const char *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool k2_asm_peek_reg(struct k2_asm_cur *c);
int k2_asm_reg(struct k2_asm_cur *c, struct k2_asm_reg *r);
/* Requires the register `want` (e.g. the destination again in "r1 = be16 r1"). */
int k2_asm_same_reg(struct k2_asm_cur *c, struct k2_asm_reg want, const char *why);
bool k2_asm_peek_num(struct k2_asm_cur *c);
/* A 32-bit immediate: decimal in [INT32_MIN, INT32_MAX], or hex up to 0xffffffff taken as the
 * bit pattern (bpftool prints "if r1 > 0xfffffffb"). */
int k2_asm_imm32(struct k2_asm_cur *c, int32_t *v);
/* An unsigned 32-bit field (fd, id, index, offset): 0..UINT32_MAX, or negative down to
 * INT32_MIN for the same bit pattern. */
int k2_asm_u32(struct k2_asm_cur *c, uint32_t *v);
/* A signed 16-bit field written with its sign: "+ 4" / "- 8" / "+4" / "-8". */
int k2_asm_signed_off(struct k2_asm_cur *c, int16_t *off);
/* Any 64-bit value: [INT64_MIN, UINT64_MAX], decimal or hex. */
int k2_asm_imm64(struct k2_asm_cur *c, int64_t *v);
/* An identifier (label name); returns its length, 0 if none is next. */
size_t k2_asm_ident(struct k2_asm_cur *c, const char **name);
/* A branch target: "+N", "-N", "pc+N", "pc-N" or a label; *rel = target - (pc + 1),
 * in [lo, hi]. */
int k2_asm_target(struct k2_asm_cur *c, long lo, long hi, int32_t *rel);

/* Grammar (bpf/asm_insn.c, asm_alu.c, asm_mem.c, asm_jmp.c). */
int k2_asm_parse(struct k2_asm_cur *c, struct k2_asm_out *o);
int k2_asm_reg_stmt(struct k2_asm_cur *c, struct k2_asm_out *o);
int k2_asm_load(struct k2_asm_cur *c, struct k2_asm_reg d, struct k2_asm_out *o);
int k2_asm_store(struct k2_asm_cur *c, struct k2_asm_out *o);
int k2_asm_lock(struct k2_asm_cur *c, struct k2_asm_out *o);
/* "rN = atomic_fetch_add(...)", "xchg_64(...)", "cmpxchg_64(...)" and bpftool's names;
 * returns 1 if no such name follows "rN =". */
int k2_asm_fetch(struct k2_asm_cur *c, struct k2_asm_reg d, struct k2_asm_out *o);
int k2_asm_if(struct k2_asm_cur *c, struct k2_asm_out *o);
int k2_asm_call(struct k2_asm_cur *c, struct k2_asm_out *o);

/*
 * One instruction from [s, end) of a source line starting at `line` (columns count from
 * there): strips the llvm-objdump/bpftool prefix, the trailing annotation and comment,
 * parses, encodes. Returns the slot count (1 or 2), -ENODATA for text without an
 * instruction, or an error.
 */
int k2_asm_line(const char *line, const char *s, const char *end,
		const struct k2_asm_labels *labels, long pc, struct bpf_insn out[2],
		struct k2_err *e);

/* Where a comment starts in [s, end) (';', "//", or '#' at a word start), else end. */
const char *k2_asm_comment(const char *s, const char *end);

#endif
