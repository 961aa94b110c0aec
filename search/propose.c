/* search/propose.c: proposal moves: operands, whole instructions, nops, swaps, widths, k-runs. */
#include "search/search_int.h"

static uint32_t below(struct k2_rng *r, uint32_t n)
{
	return n ? (uint32_t)k2_rng_below(r, n) : 0;
}

static uint8_t pick(struct k2_rng *r, const uint8_t *pref, uint32_t n_pref, uint32_t n_all)
{
	if (n_pref && below(r, 100) < 85)
		return pref[below(r, n_pref)];
	return (uint8_t)below(r, n_all);
}

static uint8_t pick_dst(const struct k2_pool *p, struct k2_rng *r)
{
	return pick(r, p->dst, p->n_dst, K2_REG_FP); /* r0..r9: r10 is never written */
}

static uint8_t pick_src(const struct k2_pool *p, struct k2_rng *r)
{
	return pick(r, p->src, p->n_src, K2_NREGS);
}

static uint8_t pick_base(const struct k2_pool *p, struct k2_rng *r)
{
	return pick(r, p->base, p->n_base, K2_NREGS);
}

static int64_t pick_imm(const struct k2_pool *p, struct k2_rng *r)
{
	uint32_t k = below(r, 100);

	if (k < 45 && p->n_win_imm)
		return p->win_imm[below(r, p->n_win_imm)];
	if (k < 90)
		return p->imm[below(r, p->n_imm)];
	return (int64_t)below(r, 513) - 256;
}

static int16_t pick_off(const struct k2_pool *p, struct k2_rng *r)
{
	return p->off[below(r, p->n_off)];
}

/* An immediate valid for op: shift amounts below the width, no division by zero. */
static int64_t imm_for(const struct k2_pool *p, struct k2_rng *r, enum k2_op op)
{
	const struct k2_opinfo *oi = k2_op_info(op);
	int64_t v;

	if (oi->kind == K2_KIND_ALU &&
	    (oi->aluop == BPF_LSH || oi->aluop == BPF_RSH || oi->aluop == BPF_ARSH))
		return below(r, 100) < 50 && p->n_win_imm
			       ? (int64_t)((uint64_t)p->win_imm[below(r, p->n_win_imm)] %
					   oi->width)
			       : below(r, oi->width);
	v = pick_imm(p, r);
	if (oi->kind != K2_KIND_LDDW)
		v = (int32_t)v;
	if (oi->kind == K2_KIND_ALU && (oi->aluop == BPF_DIV || oi->aluop == BPF_MOD) && !v)
		v = 1;
	return v;
}

/* A forward jump offset from cell i that lands at most on n (the window's end). */
static int16_t jump_off(struct k2_rng *r, uint32_t i, uint32_t n)
{
	uint32_t room = n - 1 - i;

	return (int16_t)(room > INT16_MAX ? below(r, INT16_MAX) : below(r, room + 1));
}

static void make(const struct k2_pool *p, struct k2_rng *r, struct k2_cell *c, enum k2_op op,
		 uint32_t i, uint32_t n)
{
	const struct k2_opinfo *oi = k2_op_info(op);
	uint8_t dst = 0, src = 0;
	int16_t off = 0;
	int64_t imm = 0;

	switch (oi->kind) {
	case K2_KIND_ALU:
	case K2_KIND_END:
		dst = pick_dst(p, r);
		src = pick_src(p, r);
		break;
	case K2_KIND_JMP:
		dst = pick_src(p, r);
		src = pick_src(p, r);
		off = jump_off(r, i, n);
		break;
	case K2_KIND_JA:
		off = jump_off(r, i, n);
		break;
	case K2_KIND_LDX:
		dst = pick_dst(p, r);
		src = pick_base(p, r);
		off = pick_off(p, r);
		break;
	case K2_KIND_ST:
	case K2_KIND_STX:
	case K2_KIND_ATOMIC:
		dst = pick_base(p, r);
		src = pick_src(p, r);
		off = pick_off(p, r);
		if (oi->flags & K2_F_FETCH && src == K2_REG_FP)
			src = pick_dst(p, r);
		break;
	case K2_KIND_LDDW:
		dst = pick_dst(p, r);
		break;
	default:
		break;
	}
	if (oi->flags & K2_F_IMM || oi->kind == K2_KIND_LDDW)
		imm = imm_for(p, r, op);
	k2_cell_set(c, op, dst, src, off, imm);
}

void k2_random_cell(const struct k2_pool *p, struct k2_rng *r, struct k2_cell *c, uint32_t i,
		    uint32_t n)
{
	double u = k2_rng_unit(r);
	int cl = 0;

	while (cl < K2_CL__COUNT - 1 && u >= p->class_cum[cl])
		cl++;
	if (!p->n_ops[cl])
		cl = K2_CL_ALU;
	make(p, r, c, (enum k2_op)p->ops[cl][below(r, p->n_ops[cl])], i, n);
}

static int32_t random_real(struct k2_rng *r, const struct k2_cell *c, uint32_t n)
{
	uint32_t real = 0, k;

	for (uint32_t i = 0; i < n; i++)
		real += !k2_cell_is_nop(&c[i]);
	if (!real)
		return -1;
	k = below(r, real);
	for (uint32_t i = 0; i < n; i++)
		if (!k2_cell_is_nop(&c[i]) && !k--)
			return (int32_t)i;
	return -1;
}

/* Another op of the same kind and operand form (add64_k -> xor64_k, jeq32_x -> jgt64_x). */
static enum k2_op sibling(const struct k2_pool *p, struct k2_rng *r, enum k2_op op)
{
	uint8_t g = p->group_of[op];

	if (g == UINT8_MAX || !p->n_group[g])
		return op;
	return (enum k2_op)p->groups[g][below(r, p->n_group[g])];
}

static void move_operand(const struct k2_pool *p, struct k2_rng *r, struct k2_cell *c,
			 uint32_t n)
{
	int32_t i = random_real(r, c, n);
	struct k2_cell *ci;
	const struct k2_opinfo *oi;
	struct bpf_insn *s;
	int64_t imm;
	uint32_t k;

	if (i < 0) {
		k2_random_cell(p, r, &c[0], 0, n);
		return;
	}
	ci = &c[i];
	oi = k2_op_info(ci->op);
	s = ci->s;
	imm = ci->op == K2_OP_LDDW ? (int64_t)k2_insn_imm64(s) : s->imm;
	k = below(r, 5);
	if (k == 0 && ci->op != K2_OP_JA && ci->op != K2_OP_LDDW) {
		enum k2_op op = sibling(p, r, (enum k2_op)ci->op);

		if (k2_op_info(op)->flags & K2_F_IMM)
			imm = imm_for(p, r, op);
		k2_cell_set(ci, op, s->dst_reg, s->src_reg, s->off, imm);
		return;
	}
	if (k == 1 && (oi->flags & (K2_F_WR_DST | K2_F_RD_DST)) && ci->op != K2_OP_JA) {
		bool base = oi->kind == K2_KIND_ST || oi->kind == K2_KIND_STX ||
			    oi->kind == K2_KIND_ATOMIC;
		uint8_t d = base ? pick_base(p, r)
			    : oi->flags & K2_F_WR_DST ? pick_dst(p, r) : pick_src(p, r);

		k2_cell_set(ci, (enum k2_op)ci->op, d, s->src_reg, s->off, imm);
		return;
	}
	if (k == 2 && (oi->flags & K2_F_RD_SRC)) {
		uint8_t sr = oi->kind == K2_KIND_LDX ? pick_base(p, r) : pick_src(p, r);

		if (oi->flags & K2_F_FETCH && sr == K2_REG_FP)
			sr = pick_dst(p, r);
		k2_cell_set(ci, (enum k2_op)ci->op, s->dst_reg, sr, s->off, imm);
		return;
	}
	if (k == 3 && (oi->flags & K2_F_OFF)) {
		int16_t off = oi->flags & K2_F_BRANCH ? jump_off(r, (uint32_t)i, n) : pick_off(p, r);

		k2_cell_set(ci, (enum k2_op)ci->op, s->dst_reg, s->src_reg, off, imm);
		if (k2_cell_is_nop(ci)) /* ja +0: keep it a jump somewhere if it can be */
			ci->s[0].off = jump_off(r, (uint32_t)i, n), ci->slots = ci->s[0].off ? 1 : 0;
		return;
	}
	if (oi->flags & K2_F_IMM || ci->op == K2_OP_LDDW) {
		k2_cell_set(ci, (enum k2_op)ci->op, s->dst_reg, s->src_reg, s->off,
			    imm_for(p, r, (enum k2_op)ci->op));
		return;
	}
	k2_random_cell(p, r, ci, (uint32_t)i, n);
}

/* Memory access widths: the op of the same kind at another size. */
static const uint8_t width_ops[][4] = {
	{ K2_OP_LDXB, K2_OP_LDXH, K2_OP_LDXW, K2_OP_LDXDW },
	{ K2_OP_STB, K2_OP_STH, K2_OP_STW, K2_OP_STDW },
	{ K2_OP_STXB, K2_OP_STXH, K2_OP_STXW, K2_OP_STXDW },
	{ K2_OP_LDSXB, K2_OP_LDSXH, K2_OP_LDSXW, K2_OP_LDXDW },
};

static bool move_width(const struct k2_pool *p, struct k2_rng *r, struct k2_cell *c, uint32_t n)
{
	uint32_t mem[n], nm = 0;

	for (uint32_t i = 0; i < n; i++)
		for (uint32_t g = 0; g < 4; g++)
			for (uint32_t k = 0; k < 4; k++)
				if (c[i].op == width_ops[g][k] && !k2_cell_is_nop(&c[i]))
					mem[nm++] = i, g = 4, k = 4;
	if (!nm)
		return false;
	struct k2_cell *ci = &c[mem[below(r, nm)]];
	for (uint32_t g = 0; g < 4; g++)
		for (uint32_t k = 0; k < 4; k++) {
			enum k2_op op;
			int16_t off = ci->s[0].off;

			if (ci->op != width_ops[g][k])
				continue;
			op = (enum k2_op)width_ops[g][(k + 1 + below(r, 3)) % 4];
			if (k2_op_info(op)->isa > p->isa)
				op = (enum k2_op)width_ops[g == 3 ? 0 : g][(k + 1) % 4];
			if (below(r, 2)) /* a wider access often starts lower */
				off = (int16_t)(off & ~(int16_t)(k2_op_info(op)->width / 8 - 1));
			k2_cell_set(ci, op, ci->s[0].dst_reg, ci->s[0].src_reg, off, ci->s[0].imm);
			return true;
		}
	return false;
}

/* After cells move, a jump may point past the end: clamp it to the end. */
static void clamp_jump(struct k2_cell *c, uint32_t i, uint32_t n)
{
	if (!c->branch)
		return;
	if (c->s[0].off < 0 || (uint32_t)c->s[0].off > n - 1 - i)
		c->s[0].off = (int16_t)(n - 1 - i);
	if (c->op == K2_OP_JA)
		c->slots = c->s[0].off ? 1 : 0;
}

enum k2_move k2_propose(const struct k2_pool *p, struct k2_rng *r, struct k2_cell *c, uint32_t n)
{
	double u = k2_rng_unit(r);
	int m = 0;

	while (m < K2_MOVE__COUNT - 1 && u >= p->move_cum[m])
		m++;
	switch (m) {
	case K2_MOVE_OPERAND:
		move_operand(p, r, c, n);
		break;
	case K2_MOVE_REPLACE: {
		uint32_t i = below(r, n);

		k2_random_cell(p, r, &c[i], i, n);
		break;
	}
	case K2_MOVE_NOP: {
		int32_t i = random_real(r, c, n);

		if (i >= 0)
			k2_cell_nop(&c[i]);
		break;
	}
	case K2_MOVE_SWAP: {
		uint32_t i = below(r, n), j = below(r, n - 1);
		struct k2_cell t;

		j += j >= i;
		t = c[i];
		c[i] = c[j];
		c[j] = t;
		clamp_jump(&c[i], i, n);
		clamp_jump(&c[j], j, n);
		break;
	}
	case K2_MOVE_WIDTH:
		if (!move_width(p, r, c, n))
			move_operand(p, r, c, n);
		break;
	default: {
		uint32_t k = 2 + below(r, p->k_max - 1), i;

		if (k > n)
			k = n;
		i = below(r, n - k + 1);
		for (uint32_t j = i; j < i + k; j++) {
			if (below(r, 4) == 0)
				k2_cell_nop(&c[j]);
			else
				k2_random_cell(p, r, &c[j], j, n);
		}
		break;
	}
	}
	return (enum k2_move)m;
}
