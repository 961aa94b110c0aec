/* bpf/absint.c: the abstract interpreter's fixpoint over blocks and functions, and its queries. */
#include "bpf/absint_int.h"

#include <stdlib.h>
#include <string.h>

struct k2_absint {
	struct ai_ctx ctx;
	struct k2_astate *in;	/* per block: state at its start */
	struct k2_astate *next; /* per block: the next in-state while narrowing */
	bool narrowing;
	uint32_t *visits; /* per block: joins into it (widening) */
	bool *pending;
	struct k2_astate *entries; /* per function: the state it is entered with */
	struct k2_astate scratch[3];
};

static bool is_wide(const struct bpf_insn *in)
{
	return BPF_CLASS(in->code) == BPF_LD && BPF_MODE(in->code) == BPF_IMM;
}

static void propagate(struct k2_absint *ai, uint32_t s, const struct k2_astate *st)
{
	struct ai_ctx *ctx = &ai->ctx;
	bool widen;

	if (!st->reachable)
		return;
	if (s == K2_CFG_END) {
		if (ctx->post)
			k2_ai_state_join(ctx->post, st, false);
		return;
	}
	if (ai->narrowing) {
		k2_ai_state_join(&ai->next[s], st, false);
		return;
	}
	ai->visits[s]++;
	widen = ctx->cfg->bbs[s].loop_head && ai->visits[s] > ctx->widen_after;
	if (k2_ai_state_join(&ai->in[s], st, widen))
		ai->pending[s] = true;
}

static void run_block(struct k2_absint *ai, uint32_t b)
{
	struct ai_ctx *ctx = &ai->ctx;
	const struct k2_bb *bb = &ctx->cfg->bbs[b];
	struct k2_astate *st = &ai->scratch[0], *taken = &ai->scratch[1];
	uint32_t pc = bb->start;

	*st = ai->in[b];
	while (pc < bb->end && st->reachable) {
		const struct bpf_insn *in = &ctx->cfg->insns[pc];
		uint32_t next = pc + (is_wide(in) ? 2 : 1);

		if (k2_op_info(k2_insn_op(in))->kind == K2_KIND_JMP && next >= bb->end) {
			k2_ai_step(ctx, st, pc, taken);
			propagate(ai, bb->succ[1], taken);
			propagate(ai, bb->succ[0], st);
			return;
		}
		k2_ai_step(ctx, st, pc, NULL);
		pc = next;
	}
	if (st->reachable && bb->n_succ)
		propagate(ai, bb->succ[0], st);
}

/*
 * Widening overshoots at loop heads; from a post-fixpoint X, F(X) is one too and no larger,
 * so a few plain passes (each block's state rebuilt from its predecessors) win back bounds
 * that the loop conditions imply.
 */
static void narrow_func(struct k2_absint *ai, uint32_t f, int passes)
{
	struct ai_ctx *ctx = &ai->ctx;
	uint32_t n, entry = ctx->cfg->funcs[f].first_bb;
	const uint32_t *rpo = k2_cfg_rpo(ctx->cfg, f, &n);

	if (!ctx->cfg->funcs[f].has_loop)
		return;
	ai->narrowing = true;
	while (passes--) {
		for (uint32_t k = 0; k < n; k++)
			ai->next[rpo[k]].reachable = false;
		k2_ai_state_join(&ai->next[entry], ctx->funcs[f].entry, false);
		for (uint32_t k = 0; k < n; k++)
			if (ai->in[rpo[k]].reachable)
				run_block(ai, rpo[k]);
		for (uint32_t k = 0; k < n; k++)
			ai->in[rpo[k]] = ai->next[rpo[k]];
	}
	ai->narrowing = false;
}

/* Iterates the blocks of function f in reverse post order until nothing changes. */
static void analyze_func(struct k2_absint *ai, uint32_t f)
{
	struct ai_ctx *ctx = &ai->ctx;
	uint32_t n, entry = ctx->cfg->funcs[f].first_bb;
	const uint32_t *rpo = k2_cfg_rpo(ctx->cfg, f, &n);
	bool again = true;

	ctx->cur_func = f;
	k2_ai_state_join(&ai->in[entry], ctx->funcs[f].entry, false);
	for (uint32_t k = 0; k < n; k++)
		ai->pending[rpo[k]] = ai->in[rpo[k]].reachable;
	while (again) {
		again = false;
		for (uint32_t k = 0; k < n; k++) {
			uint32_t b = rpo[k];

			if (!ai->pending[b])
				continue;
			ai->pending[b] = false;
			again = true;
			run_block(ai, b);
		}
	}
	narrow_func(ai, f, 2);
}

/* One more pass over reachable blocks of the fixpoint, recording accesses and violations. */
static void record_func(struct k2_absint *ai, uint32_t f)
{
	uint32_t n;
	const uint32_t *rpo = k2_cfg_rpo(ai->ctx.cfg, f, &n);

	ai->ctx.cur_func = f;
	for (uint32_t k = 0; k < n; k++)
		if (ai->in[rpo[k]].reachable)
			run_block(ai, rpo[k]);
}

static int cmp_viol(const void *a, const void *b)
{
	const struct k2_violation *x = a, *y = b;

	return x->insn < y->insn ? -1 : x->insn > y->insn;
}

static struct k2_absint *ai_alloc(const struct k2_prog *prog, const struct k2_cfg *cfg,
				  const struct k2_absint_opts *opts)
{
	struct k2_absint *ai = calloc(1, sizeof(*ai));
	uint32_t nb = cfg->n_bbs ? cfg->n_bbs : 1, nf = cfg->n_funcs ? cfg->n_funcs : 1;

	if (!ai)
		return NULL;
	ai->in = calloc(nb, sizeof(*ai->in));
	ai->next = calloc(nb, sizeof(*ai->next));
	ai->visits = calloc(nb, sizeof(*ai->visits));
	ai->pending = calloc(nb, sizeof(*ai->pending));
	ai->entries = calloc(nf, sizeof(*ai->entries));
	ai->ctx.funcs = calloc(nf, sizeof(*ai->ctx.funcs));
	ai->ctx.acc = calloc(cfg->n_insns ? cfg->n_insns : 1, sizeof(*ai->ctx.acc));
	ai->ctx.fx_idx = calloc(cfg->n_insns ? cfg->n_insns : 1, sizeof(*ai->ctx.fx_idx));
	if (!ai->in || !ai->next || !ai->visits || !ai->pending || !ai->entries || !ai->ctx.funcs ||
	    !ai->ctx.acc || !ai->ctx.fx_idx) {
		k2_absint_free(ai);
		return NULL;
	}
	for (uint32_t f = 0; f < nf; f++)
		ai->ctx.funcs[f].entry = &ai->entries[f];
	ai->ctx.prog = prog;
	ai->ctx.cfg = cfg;
	ai->ctx.widen_after = opts && opts->widen_after ? opts->widen_after : 3;
	ai->ctx.fold_rodata = opts && opts->fold_rodata;
	ai->ctx.scratch = &ai->scratch[2];
	return ai;
}

static int fixpoint(struct k2_absint *ai, uint32_t max_rounds, struct k2_err *e)
{
	struct ai_ctx *ctx = &ai->ctx;
	uint32_t round;

	for (round = 0; round < max_rounds; round++) {
		ctx->changed = false;
		ctx->widen_calls = round >= 4;
		for (uint32_t f = 0; f < ctx->cfg->n_funcs; f++)
			if (ctx->funcs[f].called)
				analyze_func(ai, f);
		if (!ctx->changed)
			break;
	}
	if (round == max_rounds)
		return k2_err_set(e, -E2BIG,
				  "type analysis did not converge after %u rounds over "
				  "its functions",
				  max_rounds);
	ctx->record = true;
	for (uint32_t f = 0; f < ctx->cfg->n_funcs; f++)
		if (ctx->funcs[f].called)
			record_func(ai, f);
	ctx->record = false;
	if (ctx->n_viol)
		qsort(ctx->viol, ctx->n_viol, sizeof(*ctx->viol), cmp_viol);
	return 0;
}

int k2_absint_run(const struct k2_prog *prog, const struct k2_cfg *cfg,
		  const struct k2_absint_opts *opts, struct k2_absint **out, struct k2_err *e)
{
	struct k2_absint *ai;
	int err;

	*out = NULL;
	ai = ai_alloc(prog, cfg, opts);
	if (!ai)
		return k2_err_set(e, -ENOMEM, "out of memory");
	k2_ai_state_init(ai->ctx.funcs[0].entry, prog, false);
	ai->ctx.funcs[0].called = true;
	err = fixpoint(ai, opts && opts->max_rounds ? opts->max_rounds : 64, e);
	if (err) {
		k2_absint_free(ai);
		return err;
	}
	*out = ai;
	return 0;
}

void k2_absint_free(struct k2_absint *ai)
{
	if (!ai)
		return;
	free(ai->in);
	free(ai->next);
	free(ai->visits);
	free(ai->pending);
	free(ai->entries);
	free(ai->ctx.funcs);
	free(ai->ctx.acc);
	free(ai->ctx.fx_idx);
	free(ai->ctx.fx);
	free(ai->ctx.viol);
	free(ai);
}

const struct k2_access *k2_absint_access(const struct k2_absint *ai, uint32_t i)
{
	return &ai->ctx.acc[i];
}

const struct k2_violation *k2_absint_violations(const struct k2_absint *ai, uint32_t *n)
{
	*n = ai->ctx.n_viol;
	return ai->ctx.viol;
}

bool k2_absint_reached(const struct k2_absint *ai, uint32_t i)
{
	return i < ai->ctx.cfg->n_insns && ai->in[ai->ctx.cfg->bb_of[i]].reachable;
}

const struct ai_fx *k2_absint_fx(const struct k2_absint *ai, uint32_t i)
{
	return ai->ctx.fx_idx[i] ? &ai->ctx.fx[ai->ctx.fx_idx[i] - 1] : NULL;
}

int k2_absint_state_at(const struct k2_absint *ai, uint32_t i, struct k2_astate *out)
{
	struct ai_ctx ctx = ai->ctx;
	const struct k2_cfg *cfg = ai->ctx.cfg;
	struct k2_astate *tmp;
	uint32_t b, pc;

	if (i >= cfg->n_insns) {
		if (ai->ctx.post) {
			*out = *ai->ctx.post;
			return 0;
		}
		return -EINVAL;
	}
	b = cfg->bb_of[i];
	tmp = malloc(2 * sizeof(*tmp));
	if (!tmp)
		return -ENOMEM;
	ctx.record = false;
	ctx.scratch = &tmp[1];
	ctx.cur_func = cfg->bbs[b].func;
	*out = ai->in[b];
	for (pc = cfg->bbs[b].start; pc < i && out->reachable;
	     pc += is_wide(&cfg->insns[pc]) ? 2 : 1)
		k2_ai_step(&ctx, out, pc, &tmp[0]);
	free(tmp);
	return 0;
}

int k2_absint_fragment(const struct k2_prog *prog, const struct k2_astate *pre,
		       const struct bpf_insn *insns, uint32_t n, struct k2_access *accesses,
		       struct k2_astate *post, struct k2_violation *viol, uint32_t max_viol,
		       uint32_t *n_viol, struct k2_err *e)
{
	struct k2_cfg_opts co = { .sz = sizeof(co), .fragment = true };
	struct k2_cfg *cfg;
	struct k2_absint *ai;
	int err;

	err = k2_cfg_build(insns, n, &co, &cfg, e);
	if (err)
		return err;
	ai = ai_alloc(prog, cfg, NULL);
	if (!ai) {
		k2_cfg_free(cfg);
		return k2_err_set(e, -ENOMEM, "out of memory");
	}
	*ai->ctx.funcs[0].entry = *pre;
	ai->ctx.funcs[0].called = true;
	ai->ctx.post = post;
	post->reachable = false;
	err = fixpoint(ai, 4, e);
	if (!err) {
		if (accesses)
			memcpy(accesses, ai->ctx.acc, n * sizeof(*accesses));
		if (viol && max_viol && ai->ctx.n_viol)
			memcpy(viol, ai->ctx.viol,
			       (ai->ctx.n_viol < max_viol ? ai->ctx.n_viol : max_viol) *
				       sizeof(*viol));
		if (n_viol)
			*n_viol = ai->ctx.n_viol;
	}
	ai->ctx.post = NULL;
	k2_absint_free(ai);
	k2_cfg_free(cfg);
	return err;
}
