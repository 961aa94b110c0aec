/* bpf/asm_jmp.c: control flow statements: conditional jumps and the three kinds of call. */
#include <string.h>

#include "bpf/asm_int.h"
#include "bpf/asm_syntax.h"

/* Longest spelling first: "s>=" before "s>", ">=" before ">". */
static const char *const conds[] = {
	"==", "!=", "s>=", "s<=", "s>", "s<", ">=", "<=", ">", "<", "&",
};

static uint8_t cond_op(const char *sym)
{
	for (int i = 0; i < 16; i++)
		if (k2_syn_jmp[i] && !strcmp(k2_syn_jmp[i], sym))
			return (uint8_t)(i << 4);
	return 0;
}

/* "if r1 > r2 goto +3", "if w1 s< -5 goto label" after "if". */
int k2_asm_if(struct k2_asm_cur *c, struct k2_asm_out *o)
{
	struct k2_asm_reg d, s;
	const char *at, *sym = NULL;
	int32_t imm = 0, rel;
	bool x;
	int err = k2_asm_reg(c, &d);

	if (err)
		return err;
	for (size_t i = 0; i < sizeof(conds) / sizeof(conds[0]) && !sym; i++)
		if (k2_asm_eat(c, conds[i]))
			sym = conds[i];
	if (!sym)
		return k2_asm_fail(c, "a comparison (==, !=, >, >=, <, <=, s>, s>=, s<, s<=, &)");
	x = k2_asm_peek_reg(c);
	at = c->p;
	if (x) {
		err = k2_asm_reg(c, &s);
		if (!err && s.w != d.w)
			return k2_asm_fail_at(c, at, "expected %s register to match %c%u",
					      d.w ? "a w" : "an r", d.w ? 'w' : 'r', d.no);
	} else if (k2_asm_peek_num(c)) {
		err = k2_asm_imm32(c, &imm);
	} else {
		return k2_asm_fail(c, "a register or an immediate");
	}
	if (!err)
		err = k2_asm_expect(c, "goto");
	if (!err)
		err = k2_asm_target(c, INT16_MIN, INT16_MAX, &rel);
	if (err)
		return err;
	o->op = k2_syn_find(K2_KIND_JMP, d.w ? 32 : 64, cond_op(sym), 0, 0, K2_F_RD_SRC | K2_F_IMM,
			    x ? K2_F_RD_SRC : K2_F_IMM);
	o->dst = d.no;
	o->src = x ? s.no : 0;
	o->off = (int16_t)rel;
	o->imm = imm;
	return 0;
}

/* "call kfunc 123" and "call kfunc 123 btf:2" (off: index of the module BTF in fd_array). */
static int call_kfunc(struct k2_asm_cur *c, struct k2_asm_out *o)
{
	uint32_t id;
	int32_t btf = 0;
	const char *at;
	int err = k2_asm_u32(c, &id);

	if (!err && k2_asm_eat(c, "btf")) {
		err = k2_asm_expect(c, ":");
		k2_asm_ws(c);
		at = c->p;
		if (!err)
			err = k2_asm_imm32(c, &btf);
		if (!err && (btf < INT16_MIN || btf > INT16_MAX))
			return k2_asm_fail_at(c, at, "btf index out of range [-32768, 32767]");
	}
	o->op = K2_OP_CALL_KFUNC;
	o->imm = (int32_t)id;
	o->off = (int16_t)btf;
	return err;
}

/*
 * After "call": a helper number ("call 1", bpftool's "call bpf_map_lookup_elem#1"), a
 * bpf-to-bpf call ("call pc+5", or a label), a kfunc ("call kfunc 123", bpftool's
 * "call kernel-function#123").
 */
int k2_asm_call(struct k2_asm_cur *c, struct k2_asm_out *o)
{
	const char *at, *name;
	int32_t imm;
	int err;

	if (k2_asm_eat(c, "kfunc"))
		return call_kfunc(c, o);
	if (k2_asm_eat(c, "kernel-function#")) {
		o->op = K2_OP_CALL_KFUNC;
		err = k2_asm_imm32(c, &imm);
		o->imm = imm;
		return err;
	}
	if (k2_asm_peek_num(c)) {
		o->op = K2_OP_CALL;
		err = k2_asm_imm32(c, &imm);
		o->imm = imm;
		return err;
	}
	at = c->p;
	if (k2_asm_ident(c, &name) && c->p < c->end && *c->p == '#') {
		c->p++;
		o->op = K2_OP_CALL;
		err = k2_asm_imm32(c, &imm);
		o->imm = imm;
		return err;
	}
	c->p = at;
	if (k2_asm_at_end(c))
		return k2_asm_fail(c, "a helper number, pc+N, kfunc N or a label");
	o->op = K2_OP_CALL_PSEUDO;
	err = k2_asm_target(c, INT32_MIN, INT32_MAX, &imm);
	o->imm = imm;
	return err;
}
