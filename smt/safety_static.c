/* smt/safety_static.c: verifier rules bpf/'s analysis leaves to the kernel, checked from its states. */
#include <stdlib.h>

#include "smt/safety.h"

#define MAX_VAR_OFF (1LL << 29) /* the verifier's BPF_MAX_VAR_OFF */

static bool is_ptr(uint8_t t)
{
	return t != K2_VT_NOT_INIT && t != K2_VT_SCALAR && t != K2_VT_UNKNOWN;
}

/*
 * check_reg_sane_offset: pointer arithmetic with a scalar the verifier cannot keep within
 * +-2^29 (a large constant, or an unbounded minimum) is refused, whatever happens later.
 */
static const char *sane_offset(const struct k2_aval *ptr, const struct k2_aval *sc, bool imm,
			       int64_t k)
{
	uint64_t c;

	if (imm || k2_aval_is_const(sc, &c)) {
		int64_t v = imm ? k : (int64_t)c;

		return v >= MAX_VAR_OFF || v <= -MAX_VAR_OFF ? "math between pointer and a constant "
							       "beyond 2^29 is not allowed" : NULL;
	}
	if (sc->smin == INT64_MIN)
		return "math between pointer and register with unbounded min value is not allowed";
	if (sc->smin >= MAX_VAR_OFF || sc->smin <= -MAX_VAR_OFF)
		return "value makes pointer be out of bounds";
	if (ptr->off >= MAX_VAR_OFF || ptr->off <= -MAX_VAR_OFF)
		return "pointer offset is not allowed";
	return NULL;
}

static void ptr_math(struct k2_safety_report *r, uint32_t i, const struct bpf_insn *in,
		     const struct k2_astate *st)
{
	const struct k2_aval *d = &st->regs[in->dst_reg];
	const struct k2_aval *s = BPF_SRC(in->code) == BPF_X ? &st->regs[in->src_reg] : NULL;
	const char *why = NULL;

	if (BPF_CLASS(in->code) != BPF_ALU64 ||
	    (BPF_OP(in->code) != BPF_ADD && BPF_OP(in->code) != BPF_SUB))
		return;
	if (is_ptr(d->type) && (!s || s->type == K2_VT_SCALAR))
		why = sane_offset(d, s, !s, in->imm);
	else if (s && is_ptr(s->type) && d->type == K2_VT_SCALAR && BPF_OP(in->code) == BPF_ADD)
		why = sane_offset(s, d, false, 0);
	if (why)
		k2s_viol_add(r, i, K2_RULE_PTR, false, "insn %u: %s (verifier rule)", i, why);
}

/* Stack accesses are always checked for alignment (check_ptr_alignment's strict case). */
static void stack_align(struct k2_safety_report *r, uint32_t i, const struct bpf_insn *in,
			const struct k2_access *a, const struct k2_astate *st)
{
	uint8_t cls = BPF_CLASS(in->code);
	const struct k2_aval *p = &st->regs[cls == BPF_LDX ? in->src_reg : in->dst_reg];
	uint64_t m = (uint64_t)a->size - 1, lo;

	if (a->region != K2_MEM_STACK || a->size <= 1 || (a->flags & K2_ACC_LEGACY) ||
	    p->type != K2_VT_PTR_STACK)
		return;
	lo = p->var.value + (uint64_t)(int64_t)p->off + (uint64_t)(int64_t)in->off;
	if ((lo & m) || (p->var.mask & m))
		k2s_viol_add(r, i, K2_RULE_STACK, false,
			     "insn %u: misaligned stack access off=%lld size=%u (verifier rule)", i,
			     (long long)(int64_t)(p->off + in->off), a->size);
}

/*
 * Whether the verifier, too, never enters the dead block b from its reached predecessor p:
 * p ends in a conditional jump on constants, which the verifier tracks as exactly (also
 * through spills). Other ways the analysis proves code dead (bounds through ALU operations
 * the verifier does not follow) may leave the verifier walking the block.
 */
static bool pruned_alike(const struct k2_analysis *an, const struct k2_bb *p, struct k2_astate *st)
{
	const struct bpf_insn *in = &an->prog->insns[p->end - 1];
	uint8_t cls = BPF_CLASS(in->code), op = BPF_OP(in->code);
	uint64_t c;

	if ((cls != BPF_JMP && cls != BPF_JMP32) || op == BPF_JA || op == BPF_CALL ||
	    op == BPF_EXIT || p->n_succ != 2)
		return false;
	if (k2_absint_state_at(an->ai, p->end - 1, st) || !st->reachable)
		return true; /* the jump itself is dead: so is what follows */
	if (!k2_aval_is_const(&st->regs[in->dst_reg], &c))
		return false;
	return BPF_SRC(in->code) == BPF_K || k2_aval_is_const(&st->regs[in->src_reg], &c);
}

/*
 * The analysis bounds the results of div and mod; Linux 6.18's verifier does not (it makes
 * them unknown scalars), so a branch the analysis decides may be open to the verifier. The
 * program analysed again with every div and mod signed (which the analysis, like the
 * verifier, leaves unknown) shows what the verifier may walk. NULL: no div or mod.
 */
static struct k2_analysis *kernel_like(const struct k2_prog *p, struct k2_prog *q,
				       struct bpf_insn **copy)
{
	struct k2_analysis *an = NULL;
	bool any = false;

	*q = *p; /* the analysis borrows it: the caller keeps it */
	*copy = malloc((p->n_insns + 1) * sizeof(**copy));
	if (!*copy)
		return NULL;
	for (uint32_t i = 0; i < p->n_insns; i++) {
		struct bpf_insn in = p->insns[i];
		uint8_t cls = BPF_CLASS(in.code), op = BPF_OP(in.code);

		if ((cls == BPF_ALU || cls == BPF_ALU64) && (op == BPF_DIV || op == BPF_MOD) &&
		    in.off == 0) {
			in.off = 1;
			any = true;
		}
		(*copy)[i] = in;
	}
	q->insns = *copy;
	if (!any || k2_analysis_new(q, NULL, &an, NULL))
		return NULL;
	return an;
}

/* The first block the analysis proves dead but the verifier may walk, or UINT32_MAX. */
static uint32_t dead_walked(const struct k2_analysis *an, const struct k2_analysis *kan,
			    struct k2_astate *st)
{
	const struct k2_cfg *cfg = an->cfg;

	for (uint32_t b = 0; b < cfg->n_bbs; b++) {
		const struct k2_bb *bb = &cfg->bbs[b];

		if (!bb->reachable || k2_absint_reached(an->ai, bb->start))
			continue;
		if (k2_absint_reached(kan->ai, bb->start))
			return bb->start;
		for (uint32_t k = 0; k < bb->n_pred; k++) {
			const struct k2_bb *p = &cfg->bbs[cfg->preds[bb->pred_off + k]];

			if (k2_absint_reached(kan->ai, p->start) && !pruned_alike(kan, p, st))
				return bb->start;
		}
	}
	return UINT32_MAX;
}

void k2s_kernel_rules(struct k2_safety_report *r, const struct k2_analysis *an,
		      uint32_t *dead_insn)
{
	const struct k2_prog *p = an->prog;
	struct k2_astate *st = malloc(sizeof(*st));

	*dead_insn = UINT32_MAX;
	if (!st)
		return;
	for (uint32_t i = 0; i < p->n_insns; i++) {
		const struct bpf_insn *in = &p->insns[i];

		if (!k2_cfg_insn_reachable(an->cfg, i))
			continue;
		if (!k2_absint_reached(an->ai, i))
			continue;
		if (k2_absint_state_at(an->ai, i, st) || !st->reachable)
			continue;
		ptr_math(r, i, in, st);
		stack_align(r, i, in, k2_absint_access(an->ai, i), st);
		if (in->code == (BPF_LD | BPF_IMM | BPF_DW))
			i++;
	}
	{
		struct bpf_insn *copy = NULL;
		struct k2_prog q;
		struct k2_analysis *kan = kernel_like(p, &q, &copy);

		*dead_insn = dead_walked(an, kan ? kan : an, st);
		k2_analysis_free(kan);
		free(copy);
	}
	free(st);
}
