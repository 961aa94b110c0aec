/* bpf/asm_mem.c: memory statements: loads, stores, atomics, legacy skb loads. */
#include <string.h>

#include "bpf/asm_int.h"
#include "bpf/asm_syntax.h"

/* "u32" / "s8" ...: access width in bits and signedness. */
static int mem_type(struct k2_asm_cur *c, int *width, bool *sign)
{
	static const char *const names[] = { "u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64" };

	for (int i = 0; i < 8; i++)
		if (k2_asm_eat(c, names[i])) {
			*width = 8 << (i & 3);
			*sign = i >= 4;
			return 0;
		}
	return k2_asm_fail(c, "u8, u16, u32 or u64");
}

/* "(u32 *)" after the opening parenthesis was eaten by the caller. */
static int cast(struct k2_asm_cur *c, int *width, bool *sign)
{
	int err = mem_type(c, width, sign);

	if (!err)
		err = k2_asm_expect(c, "*");
	return err ? err : k2_asm_expect(c, ")");
}

/* "r2 + 4", "r2 - 8", "r2 +4" (bpftool), or "r2" alone (offset 0). */
static int base_off(struct k2_asm_cur *c, uint8_t *reg, int16_t *off)
{
	struct k2_asm_reg r;
	const char *at;
	int err;

	k2_asm_ws(c);
	at = c->p;
	err = k2_asm_reg(c, &r);
	if (err)
		return err;
	if (r.w)
		return k2_asm_fail_at(c, at, "a base address is an r register");
	*reg = r.no;
	*off = 0;
	k2_asm_ws(c);
	if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
		return k2_asm_signed_off(c, off);
	return 0;
}

/* "(r2 + 4)" */
static int mem_operand(struct k2_asm_cur *c, uint8_t *reg, int16_t *off)
{
	int err = k2_asm_expect(c, "(");

	if (!err)
		err = base_off(c, reg, off);
	return err ? err : k2_asm_expect(c, ")");
}

/* A value register of a `width`-bit access: r always (llvm 14), w only up to 32 bits. */
static int value_reg(struct k2_asm_cur *c, int width, uint8_t *no)
{
	struct k2_asm_reg r;
	const char *at;
	int err;

	k2_asm_ws(c);
	at = c->p;
	err = k2_asm_reg(c, &r);
	if (err)
		return err;
	if (r.w && width > 32)
		return k2_asm_fail_at(c, at, "a 64-bit access takes an r register");
	*no = r.no;
	return 0;
}

/* "skb[12]", "skb[r2]", "skb[r2 + 12]", "skb[r2 - 12]" after "r0 = *(u8 *)". */
static int skb_load(struct k2_asm_cur *c, struct k2_asm_reg d, int width, const char *at,
		    struct k2_asm_out *o)
{
	bool ind;
	uint32_t mag;
	int32_t imm = 0;
	int err;

	if (d.no != 0 || d.w || width > 32)
		return k2_asm_fail_at(c, at, "legacy skb loads are r0 = *(u8|u16|u32 *)skb[...]");
	err = k2_asm_expect(c, "[");
	if (err)
		return err;
	ind = k2_asm_peek_reg(c);
	if (ind) {
		err = value_reg(c, 64, &o->src);
		if (!err && k2_asm_eat(c, "+"))
			err = k2_asm_imm32(c, &imm);
		else if (!err && k2_asm_eat(c, "-")) {
			at = c->p;
			err = k2_asm_u32(c, &mag);
			if (!err && mag > 0x80000000u)
				return k2_asm_fail_at(c, at,
						      "offset out of range for a 32-bit immediate");
			imm = (int32_t)(0 - mag);
		}
	} else {
		err = k2_asm_imm32(c, &imm);
	}
	if (err)
		return err;
	o->op = k2_syn_find(ind ? K2_KIND_LDIND : K2_KIND_LDABS, width, 0, 0, 0, 0, 0);
	o->imm = imm;
	return k2_asm_expect(c, "]");
}

int k2_asm_load(struct k2_asm_cur *c, struct k2_asm_reg d, struct k2_asm_out *o)
{
	const char *at;
	int width;
	bool sign;
	int err = k2_asm_expect(c, "(");

	k2_asm_ws(c);
	at = c->p;
	if (!err)
		err = cast(c, &width, &sign);
	if (err)
		return err;
	if (k2_asm_eat(c, "skb")) {
		if (sign)
			return k2_asm_fail_at(c, at, "legacy skb loads are unsigned");
		return skb_load(c, d, width, at, o);
	}
	if (sign && width == 64)
		return k2_asm_fail_at(c, at, "a 64-bit load is u64");
	if (d.w && (sign || width == 64))
		return k2_asm_fail_at(c, at, "a w register takes u8, u16 or u32 loads");
	err = mem_operand(c, &o->src, &o->off);
	o->op = k2_syn_find(K2_KIND_LDX, width, 0, 0, 0, K2_F_SIGNED, sign ? K2_F_SIGNED : 0);
	o->dst = d.no;
	return err;
}

/* "*(u32 *)(r10 - 8) = r1" (stx) or "= 5" (st). */
int k2_asm_store(struct k2_asm_cur *c, struct k2_asm_out *o)
{
	const char *at;
	int width;
	bool sign, x;
	int32_t imm = 0;
	int err = k2_asm_expect(c, "(");

	k2_asm_ws(c);
	at = c->p;
	if (!err)
		err = cast(c, &width, &sign);
	if (!err && sign)
		return k2_asm_fail_at(c, at, "stores are u8, u16, u32 or u64");
	if (!err)
		err = mem_operand(c, &o->dst, &o->off);
	if (!err)
		err = k2_asm_expect(c, "=");
	if (err)
		return err;
	x = k2_asm_peek_reg(c);
	if (!x && !k2_asm_peek_num(c))
		return k2_asm_fail(c, "a register or an immediate");
	err = x ? value_reg(c, width, &o->src) : k2_asm_imm32(c, &imm);
	o->op = k2_syn_find(x ? K2_KIND_STX : K2_KIND_ST, width, 0, 0, 0, 0, 0);
	o->imm = imm;
	return err;
}

/* "(u64 *)(r2 + 0)" of the atomic forms that name the type; sets *width (32 or 64). */
static int atomic_mem(struct k2_asm_cur *c, int *width, struct k2_asm_out *o)
{
	const char *at;
	bool sign;
	int err = k2_asm_expect(c, "(");

	k2_asm_ws(c);
	at = c->p;
	if (!err)
		err = cast(c, width, &sign);
	if (!err && (sign || *width < 32))
		return k2_asm_fail_at(c, at, "atomics are u32 or u64");
	return err ? err : mem_operand(c, &o->dst, &o->off);
}

static void atomic_op(enum k2_op *op, int width, uint8_t aluop, int32_t imm)
{
	*op = k2_syn_find(K2_KIND_ATOMIC, width, aluop, 0, imm, 0, 0);
}

/* "lock *(u64 *)(r2 + 0) += r3" */
int k2_asm_lock(struct k2_asm_cur *c, struct k2_asm_out *o)
{
	static const uint8_t ops[] = { BPF_ADD, BPF_OR, BPF_AND, BPF_XOR };
	int width, err = k2_asm_expect(c, "*");

	if (!err)
		err = atomic_mem(c, &width, o);
	if (err)
		return err;
	for (size_t i = 0; i < sizeof(ops); i++)
		if (k2_asm_eat(c, k2_syn_alu[ops[i] >> 4])) {
			atomic_op(&o->op, width, ops[i], ops[i]);
			return value_reg(c, width, &o->src);
		}
	return k2_asm_fail(c, "'+=', '|=', '&=' or '^='");
}

/* The value register of a fetching atomic is the destination too: "r3 = ...(..., r3)". */
static int fetch_reg(struct k2_asm_cur *c, struct k2_asm_reg d, int width, uint8_t *no)
{
	const char *at;
	int err;

	k2_asm_ws(c);
	at = c->p;
	err = value_reg(c, width, no);
	if (!err && *no != d.no)
		return k2_asm_fail_at(c, at,
				      "expected %c%u: the old value goes to the source register",
				      d.w ? 'w' : 'r', d.no);
	return err;
}

/* ", r0" of a cmpxchg: the comparand is always r0. */
static int cmp_r0(struct k2_asm_cur *c)
{
	struct k2_asm_reg r;
	const char *at;
	int err = k2_asm_expect(c, ",");

	k2_asm_ws(c);
	at = c->p;
	if (!err)
		err = k2_asm_reg(c, &r);
	if (!err && r.no != 0)
		return k2_asm_fail_at(c, at, "cmpxchg compares with r0");
	return err;
}

/*
 * The forms after "rN =": llvm's atomic_fetch_OP((u64 *)(m), r), xchg_64(m, r),
 * cmpxchg_64(m, r0, r) (and _32 spellings), bpftool's atomic[64]_fetch_OP, atomic[64]_xchg,
 * atomic[64]_cmpxchg((u64 *)(m), ...).
 */
struct fetch_name {
	const char *name;
	uint8_t aluop; /* BPF_ADD.. for fetch_OP, BPF_XCHG, BPF_CMPXCHG */
	int width;     /* 0: from the (uN *) cast */
	bool typed;    /* the memory operand is "(uN *)(rB + off)", else "rB + off" */
};

static const struct fetch_name fetch_names[] = {
	{ "atomic_fetch_add", BPF_ADD, 0, true },
	{ "atomic_fetch_or", BPF_OR, 0, true },
	{ "atomic_fetch_and", BPF_AND, 0, true },
	{ "atomic_fetch_xor", BPF_XOR, 0, true },
	{ "atomic64_fetch_add", BPF_ADD, 64, true },
	{ "atomic64_fetch_or", BPF_OR, 64, true },
	{ "atomic64_fetch_and", BPF_AND, 64, true },
	{ "atomic64_fetch_xor", BPF_XOR, 64, true },
	{ "xchg_64", BPF_XCHG, 64, false },
	{ "xchg32_32", BPF_XCHG, 32, false },
	{ "atomic_xchg", BPF_XCHG, 0, true },
	{ "atomic64_xchg", BPF_XCHG, 64, true },
	{ "cmpxchg_64", BPF_CMPXCHG, 64, false },
	{ "cmpxchg32_32", BPF_CMPXCHG, 32, false },
	{ "atomic_cmpxchg", BPF_CMPXCHG, 0, true },
	{ "atomic64_cmpxchg", BPF_CMPXCHG, 64, true },
};

static const struct fetch_name *fetch_lookup(const char *w, size_t n)
{
	for (size_t i = 0; i < sizeof(fetch_names) / sizeof(fetch_names[0]); i++)
		if (strlen(fetch_names[i].name) == n && !memcmp(fetch_names[i].name, w, n))
			return &fetch_names[i];
	return NULL;
}

static int fetch_args(struct k2_asm_cur *c, const struct fetch_name *f, const char *at,
		      struct k2_asm_reg d, struct k2_asm_out *o)
{
	int width = f->width, err;

	err = k2_asm_expect(c, "(");
	if (!err && f->typed) {
		int w;

		err = atomic_mem(c, &w, o);
		if (!err && width && w != width)
			return k2_asm_fail_at(c, at, "%s works on u64", f->name);
		width = w;
	} else if (!err) {
		err = base_off(c, &o->dst, &o->off);
	}
	if (!err && d.w && width > 32)
		return k2_asm_fail_at(c, at, "a 64-bit atomic writes an r register");
	if (!err && f->aluop == BPF_CMPXCHG && d.no != 0)
		return k2_asm_fail_at(c, at, "cmpxchg writes r0");
	if (!err && f->aluop == BPF_CMPXCHG)
		err = cmp_r0(c);
	if (!err)
		err = k2_asm_expect(c, ",");
	if (!err)
		err = f->aluop == BPF_CMPXCHG ? value_reg(c, width, &o->src)
					      : fetch_reg(c, d, width, &o->src);
	if (!err)
		err = k2_asm_expect(c, ")");
	if (f->aluop == BPF_XCHG || f->aluop == BPF_CMPXCHG)
		atomic_op(&o->op, width, f->aluop, f->aluop);
	else
		atomic_op(&o->op, width, f->aluop, f->aluop | BPF_FETCH);
	return err;
}

int k2_asm_fetch(struct k2_asm_cur *c, struct k2_asm_reg d, struct k2_asm_out *o)
{
	const char *at, *w;
	const struct fetch_name *f;
	size_t n;

	k2_asm_ws(c);
	at = c->p;
	n = k2_asm_ident(c, &w);
	f = n ? fetch_lookup(w, n) : NULL;
	if (!f) {
		c->p = at;
		return 1;
	}
	return fetch_args(c, f, at, d, o);
}
