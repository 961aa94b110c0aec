/* search/pool.c: what proposals draw from: ops per class, constants, offsets, registers. */
#include <string.h>

#include "search/search_int.h"

static enum k2_class class_of(enum k2_op op)
{
	const struct k2_opinfo *oi = k2_op_info(op);

	switch (oi->kind) {
	case K2_KIND_ALU: return K2_CL_ALU;
	case K2_KIND_END: return K2_CL_END;
	case K2_KIND_JMP: return K2_CL_JMP;
	case K2_KIND_JA: return op == K2_OP_JA ? K2_CL_JMP : K2_CL__COUNT;
	case K2_KIND_LDX: return K2_CL_LDX;
	case K2_KIND_ST:
	case K2_KIND_STX: return K2_CL_ST;
	case K2_KIND_ATOMIC: return K2_CL_ATOMIC;
	case K2_KIND_LDDW: return op == K2_OP_LDDW ? K2_CL_LDDW : K2_CL__COUNT;
	default: return K2_CL__COUNT; /* calls, exits, legacy packet loads: never in a window */
	}
}

static void add_imm(int64_t *set, uint32_t *n, int64_t v)
{
	for (uint32_t i = 0; i < *n; i++)
		if (set[i] == v)
			return;
	if (*n < K2_POOL_IMM)
		set[(*n)++] = v;
}

static void add_off(struct k2_pool *p, int64_t v)
{
	if (v < INT16_MIN || v > INT16_MAX)
		return;
	for (uint32_t i = 0; i < p->n_off; i++)
		if (p->off[i] == v)
			return;
	if (p->n_off < K2_POOL_OFF)
		p->off[p->n_off++] = (int16_t)v;
}

static void set_regs(uint8_t *list, uint32_t *n, uint16_t mask)
{
	*n = 0;
	for (uint8_t r = 0; r < K2_NREGS; r++)
		if (mask >> r & 1)
			list[(*n)++] = r;
}

static bool is_ptr(uint8_t t)
{
	return t != K2_VT_NOT_INIT && t != K2_VT_SCALAR && t != K2_VT_UNKNOWN &&
	       t != K2_VT_PTR_PKT_END && t != K2_VT_PTR_MAP && t != K2_VT_PTR_MAP_VALUE_OR_NULL;
}

static void pool_ops(struct k2_pool *p)
{
	for (int op = 1; op < K2_OP__COUNT; op++) {
		enum k2_class cl = class_of((enum k2_op)op);

		if (cl == K2_CL__COUNT || k2_op_info((enum k2_op)op)->isa > p->isa)
			continue;
		if (p->n_ops[cl] < sizeof(p->ops[cl]))
			p->ops[cl][p->n_ops[cl]++] = (uint8_t)op;
	}
}

/* Groups of ops with the same kind and operand form, for opcode changes. */
static void pool_groups(struct k2_pool *p)
{
	const uint32_t form_mask = K2_F_IMM | K2_F_RD_SRC | K2_F_RD_DST;
	uint32_t key[32];

	memset(p->group_of, UINT8_MAX, sizeof(p->group_of));
	for (int cl = 0; cl < K2_CL__COUNT; cl++)
		for (uint32_t k = 0; k < p->n_ops[cl]; k++) {
			enum k2_op op = (enum k2_op)p->ops[cl][k];
			const struct k2_opinfo *oi = k2_op_info(op);
			uint32_t want = oi->kind << 16 | (oi->flags & form_mask), g;

			if (op == K2_OP_JA || op == K2_OP_LDDW)
				continue;
			for (g = 0; g < p->n_groups && key[g] != want; g++)
				;
			if (g == p->n_groups) {
				if (g == 32)
					continue;
				key[p->n_groups++] = want;
			}
			if (p->n_group[g] < sizeof(p->groups[g]))
				p->groups[g][p->n_group[g]++] = (uint8_t)op;
			p->group_of[op] = (uint8_t)g;
		}
}

/* Class weights: ALU always; the others more when the window has such instructions. */
static void pool_classes(struct k2_pool *p, const uint32_t *have)
{
	double w[K2_CL__COUNT] = { 0 }, sum = 0, acc = 0;
	bool mem = have[K2_CL_LDX] || have[K2_CL_ST] || have[K2_CL_ATOMIC];

	w[K2_CL_ALU] = 1.0;
	w[K2_CL_END] = have[K2_CL_END] ? 0.2 : 0.03;
	w[K2_CL_JMP] = have[K2_CL_JMP] ? 0.25 : 0.03;
	w[K2_CL_LDX] = have[K2_CL_LDX] ? 0.4 : mem || p->n_base ? 0.08 : 0;
	w[K2_CL_ST] = have[K2_CL_ST] ? 0.4 : mem ? 0.08 : 0;
	w[K2_CL_ATOMIC] = have[K2_CL_ATOMIC] ? 0.2 : 0;
	w[K2_CL_LDDW] = have[K2_CL_LDDW] ? 0.1 : 0;
	for (int c = 0; c < K2_CL__COUNT; c++) {
		if (!p->n_ops[c])
			w[c] = 0;
		sum += w[c];
	}
	for (int c = 0; c < K2_CL__COUNT; c++) {
		acc += w[c] / sum;
		p->class_cum[c] = acc;
	}
	p->class_cum[K2_CL__COUNT - 1] = 1.0;
}

static void pool_moves(struct k2_pool *p, const struct k2_search_cfg *cfg, bool mem, uint32_t n)
{
	double w[K2_MOVE__COUNT] = {
		[K2_MOVE_OPERAND] = cfg->p_operand, [K2_MOVE_REPLACE] = cfg->p_replace,
		[K2_MOVE_NOP] = cfg->p_nop,	    [K2_MOVE_SWAP] = n > 1 ? cfg->p_swap : 0,
		[K2_MOVE_WIDTH] = mem ? cfg->p_width : 0,
		[K2_MOVE_REPLACE_K] = n > 1 ? cfg->p_replace_k : 0,
	};
	double sum = 0, acc = 0;

	for (int m = 0; m < K2_MOVE__COUNT; m++)
		sum += w[m];
	if (sum <= 0) {
		w[K2_MOVE_REPLACE] = 1;
		sum = 1;
	}
	for (int m = 0; m < K2_MOVE__COUNT; m++) {
		acc += w[m] / sum;
		p->move_cum[m] = acc;
	}
	p->move_cum[K2_MOVE__COUNT - 1] = 1.0;
}

/* 0, +-1, powers of two and their neighbours, low-bit masks: what rewrites commonly need. */
static void pool_generic_imms(struct k2_pool *p)
{
	add_imm(p->imm, &p->n_imm, 0);
	add_imm(p->imm, &p->n_imm, 1);
	add_imm(p->imm, &p->n_imm, -1);
	for (int k = 1; k < 32; k++) {
		int64_t v = (int64_t)1 << k;

		add_imm(p->imm, &p->n_imm, v);
		add_imm(p->imm, &p->n_imm, v - 1);
		add_imm(p->imm, &p->n_imm, v + 1);
	}
}

void k2_pool_init(struct k2_pool *p, const struct k2_cell *orig, uint32_t n, const struct k2_win *w,
		  const struct k2_astate *pre, const struct k2_search_cfg *cfg)
{
	uint32_t have[K2_CL__COUNT] = { 0 };
	uint16_t base = 0, used = 0;

	memset(p, 0, sizeof(*p));
	p->isa = cfg->mcpu ? cfg->mcpu : K2_ISA_V3;
	p->k_max = cfg->k_max < 2 ? 2 : cfg->k_max;
	pool_ops(p);
	pool_groups(p);
	for (uint32_t i = 0; i < n; i++) {
		const struct k2_cell *c = &orig[i];
		const struct k2_opinfo *oi = k2_op_info(c->op);
		enum k2_class cl = class_of(c->op);

		if (cl < K2_CL__COUNT)
			have[cl]++;
		used |= (uint16_t)(k2_insn_uses(c->s) | k2_insn_defs(c->s));
		if (c->op == K2_OP_LDDW)
			add_imm(p->win_imm, &p->n_win_imm, (int64_t)k2_insn_imm64(c->s));
		else if (oi->flags & K2_F_IMM)
			add_imm(p->win_imm, &p->n_win_imm, c->s[0].imm);
		if (oi->flags & (K2_F_LOAD | K2_F_STORE)) {
			static const int widths[] = { 1, 2, 4, 8 };

			base |= (uint16_t)(1u << (oi->kind == K2_KIND_LDX ? c->s[0].src_reg
									: c->s[0].dst_reg));
			add_off(p, c->s[0].off);
			for (int k = 0; k < 4; k++) {
				add_off(p, c->s[0].off + widths[k]);
				add_off(p, c->s[0].off - widths[k]);
			}
		}
	}
	/* Stores of constants to adjacent bytes, as one wider constant (little-endian). */
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t j = 0; j < n; j++) {
			const struct k2_opinfo *a = k2_op_info(orig[i].op), *b = k2_op_info(orig[j].op);
			uint32_t w = a->width / 8;

			if (a->kind == K2_KIND_ST && b->kind == K2_KIND_ST && a->width == b->width &&
			    w < 8 && orig[i].s[0].dst_reg == orig[j].s[0].dst_reg &&
			    orig[j].s[0].off == orig[i].s[0].off + (int)w) {
				uint64_t m = (1ULL << (8 * w)) - 1;

				add_imm(p->win_imm, &p->n_win_imm,
					(int64_t)(int32_t)(((uint64_t)orig[i].s[0].imm & m) |
							   ((uint64_t)orig[j].s[0].imm & m) << (8 * w)));
			}
		}
	/* Neighbours of the window's constants, then the generic ones. */
	for (uint32_t i = 0, m = p->n_win_imm; i < m; i++) {
		add_imm(p->win_imm, &p->n_win_imm, p->win_imm[i] + 1);
		add_imm(p->win_imm, &p->n_win_imm, p->win_imm[i] - 1);
	}
	pool_generic_imms(p);
	if (!p->n_off)
		add_off(p, 0);
	for (int r = 0; r < K2_NREGS; r++)
		if ((w->live_in >> r & 1) && pre && is_ptr(pre->regs[r].type))
			base |= (uint16_t)(1u << r);
	set_regs(p->dst, &p->n_dst, (uint16_t)((w->defs | w->live_out) & 0x3ff));
	if (!p->n_dst)
		set_regs(p->dst, &p->n_dst, 0x3ff);
	set_regs(p->src, &p->n_src, (uint16_t)(w->live_in | w->defs | (used & (1u << K2_REG_FP))));
	if (!p->n_src)
		set_regs(p->src, &p->n_src, 0x7ff);
	set_regs(p->base, &p->n_base, base);
	pool_classes(p, have);
	pool_moves(p, cfg, have[K2_CL_LDX] || have[K2_CL_ST] || have[K2_CL_ATOMIC], n);
}
