/* bpf/absint_branch.c: what a conditional jump teaches each branch (ranges, nulls, packet). */
#include "bpf/absint_int.h"

#define MAX_PACKET_OFF 0xffff

/* Copies a refined scalar to every register and spill known equal to it (same id). */
static void sync_linked(struct k2_astate *st, uint8_t reg)
{
	const struct k2_aval *v = &st->regs[reg];

	if (v->type != K2_VT_SCALAR || !v->id)
		return;
	for (int r = 0; r < K2_NREGS; r++)
		if (r != reg && st->regs[r].type == K2_VT_SCALAR && st->regs[r].id == v->id)
			st->regs[r] = *v;
	for (int s = 0; s < K2_STACK_SLOTS; s++) {
		struct k2_aval *sp = &st->stack[s].spill;

		if (sp->type == K2_VT_SCALAR && sp->id == v->id)
			*sp = *v;
	}
}

static void operand(const struct bpf_insn *in, const struct k2_opinfo *oi, struct k2_astate *st,
		    struct k2_aval *k, struct k2_aval **b)
{
	if (oi->flags & K2_F_RD_SRC) {
		*b = &st->regs[in->src_reg];
		return;
	}
	k2_sc_set_const(k, oi->flags & K2_F_ALU32 ? (uint32_t)in->imm : (uint64_t)(int64_t)in->imm);
	*b = k;
}

static bool refine_scalars(struct k2_astate *st, const struct bpf_insn *in,
			   const struct k2_opinfo *oi, bool negate)
{
	struct k2_aval k, *bp, a, b;
	bool x = oi->flags & K2_F_RD_SRC;

	operand(in, oi, st, &k, &bp);
	a = st->regs[in->dst_reg];
	b = *bp;
	if (!k2_sc_refine(&a, &b, oi->aluop, oi->flags & K2_F_ALU32, negate))
		return false;
	st->regs[in->dst_reg] = a;
	sync_linked(st, in->dst_reg);
	if (x && in->src_reg != in->dst_reg) {
		st->regs[in->src_reg] = b;
		sync_linked(st, in->src_reg);
	}
	return true;
}

static bool is_null_const(const struct k2_aval *v)
{
	uint64_t c;

	return k2_aval_is_const(v, &c) && c == 0;
}

/* The outcome of a null check on a lookup result, for it and every copy of it. */
static void mark_or_null(struct k2_astate *st, uint8_t reg, bool null)
{
	uint32_t id = st->regs[reg].id;

	for (int i = 0; i < K2_NREGS + K2_STACK_SLOTS; i++) {
		struct k2_aval *v = i < K2_NREGS ? &st->regs[i] : &st->stack[i - K2_NREGS].spill;

		if (v->type != K2_VT_PTR_MAP_VALUE_OR_NULL || !(i == reg || (id && v->id == id)))
			continue;
		if (null) {
			k2_sc_set_const(v, 0);
		} else {
			v->type = K2_VT_PTR_MAP_VALUE;
			v->id = 0;
		}
	}
}

static bool never_null(const struct k2_aval *v)
{
	uint8_t t = v->type;

	return !v->maybe_null &&
	       (t == K2_VT_PTR_CTX || t == K2_VT_PTR_STACK || t == K2_VT_PTR_PKT ||
		t == K2_VT_PTR_PKT_END || t == K2_VT_PTR_PKT_META || t == K2_VT_PTR_MAP ||
		t == K2_VT_PTR_MAP_VALUE || t == K2_VT_PTR_MEM);
}

/* ==/!= against 0 with a pointer: null checks. Returns whether it was one. */
static bool null_check(struct k2_astate *st, struct k2_astate *taken, const struct bpf_insn *in,
		       const struct k2_opinfo *oi)
{
	struct k2_aval k, *b;
	uint8_t reg;
	struct k2_astate *eq = oi->aluop == BPF_JEQ ? taken : st;
	struct k2_astate *ne = oi->aluop == BPF_JEQ ? st : taken;

	if ((oi->aluop != BPF_JEQ && oi->aluop != BPF_JNE) || (oi->flags & K2_F_ALU32))
		return false;
	operand(in, oi, st, &k, &b);
	if (is_null_const(b))
		reg = in->dst_reg;
	else if ((oi->flags & K2_F_RD_SRC) && is_null_const(&st->regs[in->dst_reg]))
		reg = in->src_reg;
	else
		return false;
	if (st->regs[reg].type == K2_VT_PTR_MAP_VALUE_OR_NULL) {
		mark_or_null(eq, reg, true);
		mark_or_null(ne, reg, false);
		return true;
	}
	if (st->regs[reg].maybe_null) {
		/* Only this register: a maybe-null copy elsewhere need not be null together. */
		k2_sc_set_const(&eq->regs[reg], 0);
		ne->regs[reg].maybe_null = false;
		return true;
	}
	if (never_null(&st->regs[reg])) {
		eq->reachable = false;
		return true;
	}
	return false;
}

/* The relation "P rel E" between a packet pointer P and its end E in one branch. */
enum rel { REL_NONE, REL_LT, REL_LE, REL_GT, REL_GE };

static enum rel rel_of(uint8_t op, bool p_left, bool negate)
{
	enum rel r;

	switch (op) {
	case BPF_JGT: r = negate ? REL_LE : REL_GT; break;
	case BPF_JGE: r = negate ? REL_LT : REL_GE; break;
	case BPF_JLT: r = negate ? REL_GE : REL_LT; break;
	case BPF_JLE: r = negate ? REL_GT : REL_LE; break;
	default: return REL_NONE;
	}
	if (p_left)
		return r;
	/* E rel P: flip the sides. */
	switch (r) {
	case REL_GT: return REL_LT;
	case REL_GE: return REL_LE;
	case REL_LT: return REL_GT;
	default: return REL_GE;
	}
}

static bool related(const struct k2_aval *v, const struct k2_aval *p)
{
	if (v->type != p->type)
		return false;
	if (p->id)
		return v->id == p->id;
	return !v->id && k2_tn_is_const(v->var) && k2_tn_is_const(p->var) &&
	       v->var.value == p->var.value;
}

/* P <= E (or P < E): every pointer sharing P's variable part has `off` bytes in bounds. */
static void grow_range(struct k2_astate *st, uint8_t reg, enum rel r)
{
	struct k2_aval p = st->regs[reg];
	int64_t range;

	if (r != REL_LT && r != REL_LE)
		return;
	if (p.off < 0 || p.umax > MAX_PACKET_OFF || p.umax + p.off > MAX_PACKET_OFF || p.smin < 0)
		return;
	range = p.off + (r == REL_LT);
	for (int i = 0; i < K2_NREGS + K2_STACK_SLOTS; i++) {
		struct k2_aval *v = i < K2_NREGS ? &st->regs[i] : &st->stack[i - K2_NREGS].spill;

		if ((i == reg || related(v, &p)) && v->range < range)
			v->range = (uint32_t)range;
	}
	/* base + var + range <= data_end with var >= umin: that many bytes of packet exist. */
	if (p.type == K2_VT_PTR_PKT && p.umin + (uint64_t)range > st->pkt_min)
		st->pkt_min = (uint32_t)(p.umin + (uint64_t)range);
}

/* Comparisons of pkt with pkt_end, and of pkt_meta with pkt (data itself). */
static bool pkt_check(struct k2_astate *st, struct k2_astate *taken, const struct bpf_insn *in,
		      const struct k2_opinfo *oi)
{
	const struct k2_aval *d = &st->regs[in->dst_reg], *s = &st->regs[in->src_reg];
	bool p_left;
	uint8_t preg;

	if (!(oi->flags & K2_F_RD_SRC) || (oi->flags & K2_F_ALU32))
		return false;
	if ((d->type == K2_VT_PTR_PKT && s->type == K2_VT_PTR_PKT_END) ||
	    (d->type == K2_VT_PTR_PKT_META && s->type == K2_VT_PTR_PKT && !s->off &&
	     k2_tn_is_const(s->var) && !s->var.value)) {
		p_left = true;
		preg = in->dst_reg;
	} else if ((d->type == K2_VT_PTR_PKT_END && s->type == K2_VT_PTR_PKT) ||
		   (d->type == K2_VT_PTR_PKT && s->type == K2_VT_PTR_PKT_META && !d->off &&
		    k2_tn_is_const(d->var) && !d->var.value)) {
		p_left = false;
		preg = in->src_reg;
	} else {
		return false;
	}
	grow_range(taken, preg, rel_of(oi->aluop, p_left, false));
	grow_range(st, preg, rel_of(oi->aluop, p_left, true));
	return true;
}

void k2_ai_branch(struct ai_ctx *ctx, struct k2_astate *st, uint32_t pc, struct k2_astate *taken)
{
	const struct bpf_insn *in = &ctx->cfg->insns[pc];
	const struct k2_opinfo *oi = k2_op_info(k2_insn_op(in));
	struct k2_aval k, *b;
	const struct k2_aval *a = &st->regs[in->dst_reg];

	*taken = *st;
	operand(in, oi, st, &k, &b);
	if (a->type == K2_VT_SCALAR && b->type == K2_VT_SCALAR) {
		taken->reachable = refine_scalars(taken, in, oi, false);
		st->reachable = refine_scalars(st, in, oi, true);
		return;
	}
	if (null_check(st, taken, in, oi))
		return;
	pkt_check(st, taken, in, oi);
}
