/* bpf/asm_alu.c: statements led by a register: ALU, mov, neg, movsx, byte swaps, ld_imm64. */
#include <stdio.h>
#include <string.h>

#include "bpf/asm_int.h"
#include "bpf/asm_syntax.h"

/* Longest spelling first, so that "s>>=" is not read as "s" and ">>=". */
static const struct {
	const char *sym;
	uint8_t aluop;
	int16_t off; /* 1 selects the signed div/mod of ISA v4 */
} alu_ops[] = {
	{ "s>>=", BPF_ARSH, 0 }, { "s/=", BPF_DIV, 1 }, { "s%=", BPF_MOD, 1 },
	{ "<<=", BPF_LSH, 0 },   { ">>=", BPF_RSH, 0 }, { "+=", BPF_ADD, 0 },
	{ "-=", BPF_SUB, 0 },    { "*=", BPF_MUL, 0 },  { "/=", BPF_DIV, 0 },
	{ "|=", BPF_OR, 0 },     { "&=", BPF_AND, 0 },  { "%=", BPF_MOD, 0 },
	{ "^=", BPF_XOR, 0 },
};

static int width_of(struct k2_asm_reg r)
{
	return r.w ? 32 : 64;
}

/* The source register of a 32-bit op is a w register, of a 64-bit op an r register. */
static int src_reg(struct k2_asm_cur *c, struct k2_asm_reg d, uint8_t *no)
{
	struct k2_asm_reg s;
	const char *at;
	int err;

	k2_asm_ws(c);
	at = c->p;
	err = k2_asm_reg(c, &s);
	if (err)
		return err;
	if (s.w != d.w)
		return k2_asm_fail_at(c, at, "expected %s register to match %c%u",
				      d.w ? "a w" : "an r", d.w ? 'w' : 'r', d.no);
	*no = s.no;
	return 0;
}

/* "dst op= src" or "dst op= imm"; op = aluop with the selecting off (0, or 1 for s/= s%=). */
static int binop(struct k2_asm_cur *c, struct k2_asm_reg d, uint8_t aluop, int16_t off,
		 struct k2_asm_out *o)
{
	bool x = k2_asm_peek_reg(c);
	int32_t imm = 0;
	int err;

	if (!x && !k2_asm_peek_num(c))
		return k2_asm_fail(c, "a register or an immediate");
	err = x ? src_reg(c, d, &o->src) : k2_asm_imm32(c, &imm);
	if (err)
		return err;
	o->op = k2_syn_find(K2_KIND_ALU, width_of(d), aluop, off, 0, K2_F_RD_SRC | K2_F_IMM,
			    x ? K2_F_RD_SRC : K2_F_IMM);
	o->dst = d.no;
	o->imm = imm;
	return 0;
}

static int neg(struct k2_asm_cur *c, struct k2_asm_reg d, struct k2_asm_out *o)
{
	int err = k2_asm_same_reg(c, d, "neg works in place");

	if (err)
		return err;
	o->op = d.w ? K2_OP_NEG32 : K2_OP_NEG64;
	o->dst = d.no;
	return 0;
}

/* "r1 = (s8)r2", "w1 = (s16)w2" (ISA v4 movsx). */
static int movsx(struct k2_asm_cur *c, struct k2_asm_reg d, struct k2_asm_out *o)
{
	const char *at;
	int16_t bits;
	int err;

	k2_asm_ws(c);
	at = c->p;
	if (k2_asm_eat(c, "s8"))
		bits = 8;
	else if (k2_asm_eat(c, "s16"))
		bits = 16;
	else if (k2_asm_eat(c, "s32"))
		bits = 32;
	else
		return k2_asm_fail(c, "s8, s16 or s32");
	if (d.w && bits == 32)
		return k2_asm_fail_at(c, at, "a w register takes (s8) or (s16)");
	err = k2_asm_expect(c, ")");
	if (!err)
		err = src_reg(c, d, &o->src);
	if (err)
		return err;
	o->op = k2_syn_find(K2_KIND_ALU, width_of(d), BPF_MOV, bits, 0, 0, 0);
	o->dst = d.no;
	return 0;
}

/* "r1 = be16 r1", "r1 = bswap64 r1"; the op names of the table are the mnemonics. */
static int end_swap(struct k2_asm_cur *c, struct k2_asm_reg d, enum k2_op op, const char *at,
		    struct k2_asm_out *o)
{
	if (d.w)
		return k2_asm_fail_at(c, at, "byte swaps are written rN = %s rN",
				      k2_op_info(op)->name);
	o->op = op;
	o->dst = d.no;
	return k2_asm_same_reg(c, d, "a byte swap works in place");
}

/* "[fd:3" / "[idx:2" of map[...]; *idx tells which. */
static int map_key(struct k2_asm_cur *c, bool *idx, uint32_t *v)
{
	int err = k2_asm_expect(c, "[");

	if (err)
		return err;
	if (k2_asm_eat(c, "idx"))
		*idx = true;
	else if (k2_asm_eat(c, "fd"))
		*idx = false;
	else
		return k2_asm_fail(c, "'fd' or 'idx'");
	err = k2_asm_expect(c, ":");
	return err ? err : k2_asm_u32(c, v);
}

/* ",hi:N" in the brackets: a second-slot value the kernel rejects, kept for exact round trips. */
static int opt_key(struct k2_asm_cur *c, const char *key, uint32_t *v)
{
	int err;

	*v = 0;
	if (!k2_asm_eat(c, ","))
		return 0;
	err = k2_asm_expect(c, key);
	if (!err)
		err = k2_asm_expect(c, ":");
	return err ? err : k2_asm_u32(c, v);
}

static int map_ref(struct k2_asm_cur *c, struct k2_asm_out *o)
{
	uint32_t key, hi = 0;
	bool idx = false, value = false;
	int err = map_key(c, &idx, &key);

	if (!err)
		err = opt_key(c, "hi", &hi);
	if (!err)
		err = k2_asm_expect(c, "]");
	if (!err && !hi && k2_asm_eat(c, "[")) {
		value = true;
		err = k2_asm_expect(c, "0");
		if (!err)
			err = k2_asm_expect(c, "]");
		if (!err)
			err = k2_asm_expect(c, "+");
		if (!err)
			err = k2_asm_u32(c, &hi);
	}
	if (err)
		return err;
	if (idx)
		o->op = value ? K2_OP_LDDW_MAP_IDX_VALUE : K2_OP_LDDW_MAP_IDX;
	else
		o->op = value ? K2_OP_LDDW_MAP_VALUE : K2_OP_LDDW_MAP_FD;
	o->imm = (int64_t)((uint64_t)hi << 32 | key);
	return 0;
}

static int btf_ref(struct k2_asm_cur *c, struct k2_asm_out *o)
{
	uint32_t id, fd;
	int err = k2_asm_expect(c, "[");

	if (!err)
		err = k2_asm_expect(c, "id");
	if (!err)
		err = k2_asm_expect(c, ":");
	if (!err)
		err = k2_asm_u32(c, &id);
	if (!err)
		err = opt_key(c, "fd", &fd);
	if (!err)
		err = k2_asm_expect(c, "]");
	o->op = K2_OP_LDDW_BTF_ID;
	o->imm = (int64_t)((uint64_t)fd << 32 | id);
	return err;
}

static int func_ref(struct k2_asm_cur *c, struct k2_asm_out *o)
{
	uint32_t hi;
	int32_t rel;
	int err = k2_asm_expect(c, "[");

	if (!err)
		err = k2_asm_target(c, INT32_MIN, INT32_MAX, &rel);
	if (!err)
		err = opt_key(c, "hi", &hi);
	if (!err)
		err = k2_asm_expect(c, "]");
	o->op = K2_OP_LDDW_FUNC;
	o->imm = (int64_t)((uint64_t)hi << 32 | (uint32_t)rel);
	return err;
}

/* Words after "rN =": byte swaps, atomics, ld_imm64 sources. Returns 1 if none matched. */
static int assign_word(struct k2_asm_cur *c, struct k2_asm_reg d, struct k2_asm_out *o)
{
	const char *at = c->p, *w;
	size_t n = k2_asm_ident(c, &w);
	char word[24];
	enum k2_op op;
	int err;

	if (!n || n >= sizeof(word)) {
		c->p = at;
		return 1;
	}
	memcpy(word, w, n);
	word[n] = '\0';
	op = k2_op_by_name(word);
	if (op != K2_OP_INVALID && k2_op_info(op)->kind == K2_KIND_END)
		return end_swap(c, d, op, at, o);
	if (d.w && (!strcmp(word, "map") || !strcmp(word, "btf") || !strcmp(word, "func")))
		return k2_asm_fail_at(c, at, "an ld_imm64 loads an r register");
	if (!strcmp(word, "map"))
		err = map_ref(c, o);
	else if (!strcmp(word, "btf"))
		err = btf_ref(c, o);
	else if (!strcmp(word, "func"))
		err = func_ref(c, o);
	else {
		c->p = at;
		return k2_asm_fetch(c, d, o);
	}
	if (err)
		return err;
	o->dst = d.no;
	k2_asm_eat(c, "ll"); /* optional: bpftool does not print it for these */
	return 0;
}

/* "rN = imm" (mov), "rN = imm ll" (ld_imm64; also without ll after bpftool's "(18)"). */
static int assign_imm(struct k2_asm_cur *c, struct k2_asm_reg d, struct k2_asm_out *o)
{
	const char *at;
	int32_t imm;
	int err;

	k2_asm_ws(c);
	at = c->p;
	err = k2_asm_imm64(c, &o->imm);
	if (err)
		return err;
	if (k2_asm_eat(c, "ll") || (c->lddw_hint && k2_asm_at_end(c))) {
		if (d.w)
			return k2_asm_fail_at(c, at, "an ld_imm64 loads an r register");
		o->op = K2_OP_LDDW;
		o->dst = d.no;
		return 0;
	}
	c->p = at;
	err = k2_asm_imm32(c, &imm);
	if (err && !d.w && c->e) {
		size_t n = strlen(c->e->msg);

		snprintf(c->e->msg + n, sizeof(c->e->msg) - n,
			 " (a 64-bit constant is 'rN = VALUE ll')");
	}
	if (err)
		return err;
	o->op = d.w ? K2_OP_MOV32_K : K2_OP_MOV64_K;
	o->dst = d.no;
	o->imm = imm;
	return 0;
}

static int assign(struct k2_asm_cur *c, struct k2_asm_reg d, struct k2_asm_out *o)
{
	int err;

	k2_asm_ws(c);
	if (c->end - c->p >= 2 && c->p[0] == '-' && !(c->p[1] >= '0' && c->p[1] <= '9')) {
		c->p++;
		return neg(c, d, o);
	}
	if (k2_asm_eat(c, "*"))
		return k2_asm_load(c, d, o);
	if (k2_asm_eat(c, "("))
		return movsx(c, d, o);
	if (k2_asm_peek_reg(c)) {
		err = src_reg(c, d, &o->src);
		o->op = d.w ? K2_OP_MOV32_X : K2_OP_MOV64_X;
		o->dst = d.no;
		return err;
	}
	if (k2_asm_peek_num(c))
		return assign_imm(c, d, o);
	err = assign_word(c, d, o);
	return err == 1 ? k2_asm_fail(c, "an operand after '='") : err;
}

int k2_asm_reg_stmt(struct k2_asm_cur *c, struct k2_asm_out *o)
{
	struct k2_asm_reg d;
	int err = k2_asm_reg(c, &d);

	if (err)
		return err;
	for (size_t i = 0; i < sizeof(alu_ops) / sizeof(alu_ops[0]); i++)
		if (k2_asm_eat(c, alu_ops[i].sym))
			return binop(c, d, alu_ops[i].aluop, alu_ops[i].off, o);
	if (!k2_asm_eat(c, "=") || (c->p < c->end && *c->p == '='))
		return k2_asm_fail(c, "an assignment ('=', '+=', ...)");
	return assign(c, d, o);
}
