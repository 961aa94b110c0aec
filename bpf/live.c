/* bpf/live.c: backward liveness of registers and of the own frame's stack bytes. */
#include "bpf/absint_int.h"

#include <stdlib.h>
#include <string.h>

#define ARGS_MASK 0x3e /* r1..r5 */
#define CALL_DEFS 0x3f /* r0..r5 */

struct k2_live {
	const struct k2_cfg *cfg;
	const struct k2_absint *ai;
	uint16_t *regs_in;	      /* per slot */
	struct k2_stackset *stack_in; /* per slot; NULL without types: all live */
	uint16_t *func_args;	      /* per function: r1..r5 it reads */
	bool *second;		      /* per slot: second half of an ld_imm64 */
};

static void ss_fill(struct k2_stackset *s, bool v)
{
	memset(s, v ? 0xff : 0, sizeof(*s));
}

static void ss_range(struct k2_stackset *s, int64_t lo, int64_t hi, bool v)
{
	if (lo < 0)
		lo = 0;
	if (hi > K2_STACK_BYTES)
		hi = K2_STACK_BYTES;
	for (int64_t a = lo; a < hi; a++) {
		if (v)
			s->w[a / 64] |= 1ULL << (a % 64);
		else
			s->w[a / 64] &= ~(1ULL << (a % 64));
	}
}

static void ss_or(struct k2_stackset *d, const struct k2_stackset *s)
{
	for (int i = 0; i < K2_STACK_BYTES / 64; i++)
		d->w[i] |= s->w[i];
}

static void ss_andnot(struct k2_stackset *d, const struct k2_stackset *s)
{
	for (int i = 0; i < K2_STACK_BYTES / 64; i++)
		d->w[i] &= ~s->w[i];
}

static uint16_t call_uses(const struct k2_live *lv, uint32_t pc)
{
	const struct bpf_insn *in = &lv->cfg->insns[pc];
	enum k2_op op = k2_insn_op(in);
	const struct k2_helper *h;

	if (op == K2_OP_CALL_PSEUDO)
		return lv->func_args[lv->cfg->callee[pc]];
	if (op != K2_OP_CALL)
		return ARGS_MASK;
	h = k2_ai_helper((uint32_t)in->imm);
	/* Every argument register up to nargs is read, checked by the verifier or not. */
	return h ? (uint16_t)(((1u << (h->nargs + 1)) - 1) & ARGS_MASK) : ARGS_MASK;
}

static uint16_t reg_transfer(const struct k2_live *lv, uint32_t pc, uint16_t out)
{
	const struct bpf_insn *in = &lv->cfg->insns[pc];
	const struct k2_opinfo *oi = k2_op_info(k2_insn_op(in));

	if (oi->kind == K2_KIND_EXIT)
		return 1u << 0;
	if (oi->kind == K2_KIND_CALL)
		return (uint16_t)((out & ~CALL_DEFS) | call_uses(lv, pc));
	return (uint16_t)((out & ~k2_insn_defs(in)) | k2_insn_uses(in));
}

static void stack_transfer(const struct k2_live *lv, uint32_t pc, struct k2_stackset *s)
{
	const struct bpf_insn *in = &lv->cfg->insns[pc];
	const struct k2_opinfo *oi = k2_op_info(k2_insn_op(in));
	const struct k2_access *a = k2_absint_access(lv->ai, pc);
	const struct ai_fx *fx = k2_absint_fx(lv->ai, pc);

	if (oi->kind == K2_KIND_EXIT) {
		ss_fill(s, false);
		return;
	}
	if (a->region == K2_MEM_STACK && !a->frame) {
		int64_t lo = k2_sat_add(a->off_min, K2_STACK_BYTES);
		int64_t hi = k2_sat_add(k2_sat_add(a->off_max, a->size), K2_STACK_BYTES);

		if ((a->flags & K2_ACC_WRITE) && !(a->flags & K2_ACC_READ) &&
		    (a->flags & K2_ACC_CONST))
			ss_range(s, lo, hi, false);
		if (a->flags & K2_ACC_READ)
			ss_range(s, lo, hi, true);
	} else if ((a->region == K2_MEM_UNKNOWN && (a->flags & K2_ACC_READ)) ||
		   (a->region == K2_MEM_NONE && (oi->flags & K2_F_LOAD) &&
		    oi->kind != K2_KIND_LDABS && oi->kind != K2_KIND_LDIND)) {
		ss_fill(s, true); /* an untyped read may read the frame */
	}
	if (fx && fx->escape) {
		ss_fill(s, true);
	} else if (fx) {
		ss_andnot(s, &fx->kill);
		ss_or(s, &fx->read);
	} else if (oi->kind == K2_KIND_CALL && !k2_absint_reached(lv->ai, pc)) {
		ss_fill(s, true);
	}
}

/* Live state at the end of block b: the union of its successors' starts. */
static void block_out(const struct k2_live *lv, uint32_t b, uint16_t *regs, struct k2_stackset *stk)
{
	const struct k2_bb *bb = &lv->cfg->bbs[b];

	*regs = 0;
	ss_fill(stk, false);
	for (int k = 0; k < bb->n_succ; k++) {
		uint32_t s = bb->succ[k];

		if (s == K2_CFG_END) {
			/* A fragment's successor is unknown: everything may be read. */
			*regs = 0x7ff;
			ss_fill(stk, true);
			continue;
		}
		*regs |= lv->regs_in[lv->cfg->bbs[s].start];
		if (lv->stack_in)
			ss_or(stk, &lv->stack_in[lv->cfg->bbs[s].start]);
	}
}

/* Recomputes block b backwards; returns whether its live-in changed. */
static bool run_block(struct k2_live *lv, uint32_t b)
{
	const struct k2_bb *bb = &lv->cfg->bbs[b];
	struct k2_stackset stk;
	uint16_t regs, old = lv->regs_in[bb->start];
	struct k2_stackset old_stk;
	bool changed;

	if (lv->stack_in)
		old_stk = lv->stack_in[bb->start];
	block_out(lv, b, &regs, &stk);
	for (uint32_t pc = bb->end; pc-- > bb->start;) {
		if (lv->second[pc])
			continue;
		regs = reg_transfer(lv, pc, regs);
		lv->regs_in[pc] = regs;
		if (lv->stack_in) {
			stack_transfer(lv, pc, &stk);
			lv->stack_in[pc] = stk;
		}
	}
	changed = regs != old;
	if (lv->stack_in)
		changed |= memcmp(&old_stk, &stk, sizeof(stk)) != 0;
	return changed;
}

static bool run_func(struct k2_live *lv, uint32_t f)
{
	const struct k2_func *fn = &lv->cfg->funcs[f];
	bool again = true, changed = false;
	uint16_t args;

	while (again) {
		again = false;
		for (uint32_t b = fn->first_bb + fn->n_bb; b-- > fn->first_bb;)
			again |= run_block(lv, b);
	}
	/* Every block ran at least once, so the entry's live-in is current. */
	args = lv->regs_in[fn->start] & ARGS_MASK;
	if (fn->callback)
		args = ARGS_MASK;
	changed = args != lv->func_args[f];
	lv->func_args[f] = args;
	return changed;
}

int k2_live_compute(const struct k2_cfg *cfg, const struct k2_absint *ai, struct k2_live **out,
		    struct k2_err *e)
{
	struct k2_live *lv = calloc(1, sizeof(*lv));
	uint32_t n = cfg->n_insns ? cfg->n_insns : 1;
	bool again = true;

	*out = NULL;
	if (!lv)
		return k2_err_set(e, -ENOMEM, "out of memory");
	lv->cfg = cfg;
	lv->ai = ai;
	lv->regs_in = calloc(n, sizeof(*lv->regs_in));
	lv->func_args = calloc(cfg->n_funcs ? cfg->n_funcs : 1, sizeof(*lv->func_args));
	lv->second = calloc(n, sizeof(*lv->second));
	if (ai)
		lv->stack_in = calloc(n, sizeof(*lv->stack_in));
	if (!lv->regs_in || !lv->func_args || !lv->second || (ai && !lv->stack_in)) {
		k2_live_free(lv);
		return k2_err_set(e, -ENOMEM, "out of memory");
	}
	for (uint32_t i = 0; i + 1 < cfg->n_insns; i++)
		if (!lv->second[i] && BPF_CLASS(cfg->insns[i].code) == BPF_LD &&
		    BPF_MODE(cfg->insns[i].code) == BPF_IMM)
			lv->second[i + 1] = true;
	/* Callees' argument sets feed their callers: repeat until they settle. */
	while (again) {
		again = false;
		for (uint32_t f = cfg->n_funcs; f-- > 0;)
			again |= run_func(lv, f);
	}
	*out = lv;
	return 0;
}

void k2_live_free(struct k2_live *lv)
{
	if (!lv)
		return;
	free(lv->regs_in);
	free(lv->stack_in);
	free(lv->func_args);
	free(lv->second);
	free(lv);
}

uint16_t k2_live_regs_in(const struct k2_live *lv, uint32_t i)
{
	return i < lv->cfg->n_insns ? lv->regs_in[i] : 0;
}

uint16_t k2_live_regs_out(const struct k2_live *lv, uint32_t i)
{
	const struct k2_cfg *cfg = lv->cfg;
	uint32_t next = i + (BPF_CLASS(cfg->insns[i].code) == BPF_LD &&
					     BPF_MODE(cfg->insns[i].code) == BPF_IMM
				     ? 2
				     : 1);
	uint32_t b = cfg->bb_of[i];
	struct k2_stackset stk;
	uint16_t regs;

	if (next < cfg->bbs[b].end)
		return lv->regs_in[next];
	if (k2_op_info(k2_insn_op(&cfg->insns[i]))->kind == K2_KIND_EXIT)
		return 0;
	block_out(lv, b, &regs, &stk);
	return regs;
}

void k2_live_stack_in(const struct k2_live *lv, uint32_t i, struct k2_stackset *out)
{
	if (i >= lv->cfg->n_insns)
		ss_fill(out, false);
	else if (!lv->stack_in)
		ss_fill(out, true);
	else
		*out = lv->stack_in[i];
}

uint16_t k2_live_func_args(const struct k2_live *lv, uint32_t func)
{
	return lv->func_args[func];
}
