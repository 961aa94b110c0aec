/* bpf/asm_insn.c: one instruction from text: line prefixes and suffixes, dispatch, encoding. */
#include <ctype.h>
#include <string.h>

#include "bpf/asm_int.h"

int k2_asm_parse(struct k2_asm_cur *c, struct k2_asm_out *o)
{
	int32_t rel;
	int err;

	memset(o, 0, sizeof(*o));
	if (k2_asm_eat(c, "exit")) {
		o->op = K2_OP_EXIT;
		return 0;
	}
	if (k2_asm_eat(c, "goto") || k2_asm_eat(c, "gotol")) {
		bool l = c->p[-1] == 'l';

		err = k2_asm_target(c, l ? INT32_MIN : INT16_MIN, l ? INT32_MAX : INT16_MAX, &rel);
		o->op = l ? K2_OP_JA32 : K2_OP_JA;
		if (l)
			o->imm = rel;
		else
			o->off = (int16_t)rel;
		return err;
	}
	if (k2_asm_eat(c, "call"))
		return k2_asm_call(c, o);
	if (k2_asm_eat(c, "if"))
		return k2_asm_if(c, o);
	if (k2_asm_eat(c, "lock"))
		return k2_asm_lock(c, o);
	if (k2_asm_eat(c, "*"))
		return k2_asm_store(c, o);
	if (k2_asm_peek_reg(c))
		return k2_asm_reg_stmt(c, o);
	return k2_asm_fail(c, "an instruction");
}

/* llvm's own spelling of an ld_imm64 pseudo source: "ld_pseudo r1, 1, 3". */
static int ld_pseudo(struct k2_asm_cur *c, struct k2_asm_out *o)
{
	struct k2_asm_reg d;
	const char *at;
	uint32_t src;
	int err = k2_asm_reg(c, &d);

	memset(o, 0, sizeof(*o));
	if (!err)
		err = k2_asm_expect(c, ",");
	k2_asm_ws(c);
	at = c->p;
	if (!err)
		err = k2_asm_u32(c, &src);
	if (!err && (src < 1 || src > 6))
		return k2_asm_fail_at(c, at, "pseudo source must be 1..6");
	if (!err && d.w)
		return k2_asm_fail_at(c, c->line, "an ld_imm64 loads an r register");
	if (!err)
		err = k2_asm_expect(c, ",");
	if (!err)
		err = k2_asm_imm64(c, &o->imm);
	o->op = (enum k2_op)(K2_OP_LDDW + src);
	o->dst = d.no;
	return err;
}

/* "  12:" index, llvm-objdump's hex bytes "61 12 04 00 ...", bpftool's "(61)" opcode. */
static void skip_prefix(struct k2_asm_cur *c)
{
	const char *q;

	k2_asm_ws(c);
	for (q = c->p; q < c->end && isdigit((unsigned char)*q); q++)
		;
	if (q > c->p && q < c->end && *q == ':') {
		c->p = q + 1;
		k2_asm_ws(c);
	}
	while (c->end - c->p >= 2 && isxdigit((unsigned char)c->p[0]) &&
	       isxdigit((unsigned char)c->p[1]) &&
	       (c->end - c->p == 2 || c->p[2] == ' ' || c->p[2] == '\t')) {
		c->p += 2;
		k2_asm_ws(c);
	}
	if (c->end - c->p >= 4 && c->p[0] == '(' && isxdigit((unsigned char)c->p[1]) &&
	    isxdigit((unsigned char)c->p[2]) && c->p[3] == ')') {
		c->lddw_hint = c->p[1] == '1' && c->p[2] == '8';
		c->p += 4;
	}
}

/* The end of the instruction text: before a comment and llvm's "<LBB0_3>" annotation. */
static const char *text_end(const char *s, const char *end)
{
	const char *q;

	end = k2_asm_comment(s, end);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		end--;
	if (end > s && end[-1] == '>') {
		for (q = end - 1; q > s && q[-1] != '<'; q--)
			;
		if (q > s + 1 && (q[-2] == ' ' || q[-2] == '\t'))
			end = q - 1;
	}
	return end;
}

int k2_asm_line(const char *line, const char *s, const char *end,
		const struct k2_asm_labels *labels, long pc, struct bpf_insn out[2],
		struct k2_err *e)
{
	struct k2_asm_cur c = { line, s, text_end(s, end), e, labels, pc, false };
	struct k2_asm_out o;
	int err;

	skip_prefix(&c);
	if (k2_asm_at_end(&c))
		return k2_err_set(e, -ENODATA, "column %d: expected an instruction",
				  (int)(c.p - line) + 1);
	if (k2_asm_eat(&c, "ld_pseudo"))
		err = ld_pseudo(&c, &o);
	else
		err = k2_asm_parse(&c, &o);
	if (!err && !k2_asm_at_end(&c))
		err = k2_asm_fail(&c, "end of instruction");
	if (err)
		return err;
	if (o.op == K2_OP_INVALID) /* a combination the table lacks, e.g. a w-register form */
		return k2_err_set(e, -EINVAL, "column 1: no such instruction");
	return k2_insn_encode(o.op, o.dst, o.src, o.off, o.imm, out);
}

int k2_asm_insn(const char *line, struct bpf_insn out[2], struct k2_err *e)
{
	const char *nl = strchr(line, '\n');
	const char *end = nl ? nl : line + strlen(line);

	if (nl && nl[strspn(nl, " \t\r\n")] != '\0')
		return k2_err_set(e, -EINVAL, "column %d: more than one line",
				  (int)(nl - line) + 1);
	return k2_asm_line(line, line, end, NULL, 0, out, e);
}
