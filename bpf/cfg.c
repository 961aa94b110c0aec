/* bpf/cfg.c: basic blocks, edges, functions and reachability of a linked program or fragment. */
#include "bpf/k2_cfg.h"

#include <stdlib.h>
#include <string.h>

/* The CFG plus what its accessors need and callers never see. */
struct cfg_impl {
	struct k2_cfg pub;
	uint32_t *rpo;	   /* reachable blocks of every function in reverse post order */
	uint32_t *rpo_off; /* per function: first index in rpo */
	uint32_t *rpo_n;
};

#define IMPL(c) ((struct cfg_impl *)(c))

static const struct k2_opinfo *op_of(const struct bpf_insn *in)
{
	return k2_op_info(k2_insn_op(in));
}

static bool is_wide(const struct bpf_insn *in)
{
	return BPF_CLASS(in->code) == BPF_LD && BPF_MODE(in->code) == BPF_IMM;
}

static bool is_func_ref(const struct bpf_insn *in)
{
	enum k2_op op = k2_insn_op(in);

	return op == K2_OP_CALL_PSEUDO || op == K2_OP_LDDW_FUNC;
}

/* Target of a pseudo call or a BPF_PSEUDO_FUNC load at i, else -1. */
static long func_ref(const struct bpf_insn *insns, uint32_t i)
{
	return is_func_ref(&insns[i]) ? (long)i + 1 + insns[i].imm : -1;
}

/* k2_insns_check, where a fragment may also jump to its end: checked with an exit appended. */
static int check_insns(const struct bpf_insn *insns, uint32_t n, const struct k2_cfg_opts *o,
		       struct k2_err *e)
{
	struct k2_check_opts co = { .sz = sizeof(co), .max_isa = o ? o->max_isa : 0 };
	struct bpf_insn *tmp;
	int err;

	if (!o || !o->fragment)
		return k2_insns_check(insns, n, &co, e);
	if (n == 0)
		return 0;
	tmp = malloc((n + 1) * sizeof(*tmp));
	if (!tmp)
		return k2_err_set(e, -ENOMEM, "out of memory");
	memcpy(tmp, insns, n * sizeof(*tmp));
	memset(&tmp[n], 0, sizeof(tmp[n]));
	tmp[n].code = BPF_JMP | BPF_EXIT;
	err = k2_insns_check(tmp, n + 1, &co, e);
	free(tmp);
	return err;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Function starts: 0 and every target of a pseudo call or function load, sorted, unique. */
static int find_funcs(struct k2_cfg *c, const bool *second, struct k2_err *e)
{
	uint32_t n = c->n_insns, k = 1, i;
	uint32_t *starts = malloc((n + 1) * sizeof(*starts));

	if (!starts)
		return k2_err_set(e, -ENOMEM, "out of memory");
	starts[0] = 0;
	for (i = 0; i < n; i++) {
		long t;

		if (second[i] || !is_func_ref(&c->insns[i]))
			continue;
		t = func_ref(c->insns, i);
		if (c->fragment) {
			free(starts);
			return k2_err_set(e, -EINVAL,
					  "insn %u: call to a function inside a fragment", i);
		}
		if (t < 0 || t >= n || second[t]) {
			free(starts);
			return k2_err_set(e, -EINVAL, "insn %u: function target %ld out of range",
					  i, t);
		}
		starts[k++] = (uint32_t)t;
	}
	qsort(starts, k, sizeof(*starts), cmp_u32);
	c->funcs = calloc(k, sizeof(*c->funcs));
	if (!c->funcs) {
		free(starts);
		return k2_err_set(e, -ENOMEM, "out of memory");
	}
	c->n_funcs = 0;
	for (i = 0; i < k; i++)
		if (i == 0 || starts[i] != starts[i - 1])
			c->funcs[c->n_funcs++].start = starts[i];
	for (i = 0; i < c->n_funcs; i++)
		c->funcs[i].end = i + 1 < c->n_funcs ? c->funcs[i + 1].start : n;
	free(starts);
	return 0;
}

static uint32_t last_insn(const bool *second, uint32_t end)
{
	return second[end - 1] ? end - 2 : end - 1;
}

/* Every function ends in exit or ja, and every jump stays inside its function. */
static int check_funcs(const struct k2_cfg *c, const bool *second, struct k2_err *e)
{
	for (uint32_t f = 0; f < c->n_funcs; f++) {
		const struct k2_func *fn = &c->funcs[f];
		uint32_t l = last_insn(second, fn->end);
		uint8_t kind = op_of(&c->insns[l])->kind;

		if (!c->fragment && kind != K2_KIND_EXIT && kind != K2_KIND_JA)
			return k2_err_set(e, -EINVAL,
					  "insn %u: function at %u falls through into the next", l,
					  fn->start);
		for (uint32_t i = fn->start; i < fn->end; i++) {
			long t;

			if (second[i] || !(op_of(&c->insns[i])->flags & K2_F_BRANCH) ||
			    k2_insn_op(&c->insns[i]) == K2_OP_CALL_PSEUDO)
				continue;
			t = k2_insn_target(&c->insns[i], i);
			if (c->fragment && t == (long)c->n_insns)
				continue;
			if (t < fn->start || t >= fn->end)
				return k2_err_set(e, -EINVAL,
						  "insn %u: jump to %ld leaves the function at %u",
						  i, t, fn->start);
		}
	}
	return 0;
}

static bool ends_block(const struct bpf_insn *in)
{
	const struct k2_opinfo *oi = op_of(in);

	return oi->kind == K2_KIND_EXIT || oi->kind == K2_KIND_JA || oi->kind == K2_KIND_JMP;
}

/* Marks block leaders: function starts, jump targets, instructions after a block end. */
static void mark_leaders(const struct k2_cfg *c, const bool *second, bool *lead)
{
	uint32_t n = c->n_insns;

	for (uint32_t f = 0; f < c->n_funcs; f++)
		lead[c->funcs[f].start] = true;
	for (uint32_t i = 0; i < n; i++) {
		if (second[i] || !ends_block(&c->insns[i]))
			continue;
		long t = k2_insn_target(&c->insns[i], i);
		uint32_t next = i + (is_wide(&c->insns[i]) ? 2 : 1);

		if (k2_insn_op(&c->insns[i]) != K2_OP_EXIT && t < (long)n)
			lead[t] = true;
		if (next < n)
			lead[next] = true;
	}
}

static uint32_t succ_of(const struct k2_cfg *c, long t)
{
	return t >= (long)c->n_insns ? K2_CFG_END : c->bb_of[t];
}

static void set_succs(struct k2_cfg *c, struct k2_bb *b, const bool *second)
{
	uint32_t l = last_insn(second, b->end);
	const struct bpf_insn *in = &c->insns[l];
	uint8_t kind = op_of(in)->kind;

	b->n_succ = 0;
	if (kind == K2_KIND_EXIT)
		return;
	if (kind == K2_KIND_JA) {
		b->succ[b->n_succ++] = succ_of(c, k2_insn_target(in, l));
		return;
	}
	b->succ[b->n_succ++] = succ_of(c, b->end);
	if (kind == K2_KIND_JMP)
		b->succ[b->n_succ++] = succ_of(c, k2_insn_target(in, l));
}

static int build_blocks(struct k2_cfg *c, const bool *second, const bool *lead, struct k2_err *e)
{
	uint32_t n = c->n_insns, nb = 0, f = 0, i;

	for (i = 0; i < n; i++)
		nb += lead[i];
	c->bbs = calloc(nb ? nb : 1, sizeof(*c->bbs));
	c->bb_of = malloc((n ? n : 1) * sizeof(*c->bb_of));
	if (!c->bbs || !c->bb_of)
		return k2_err_set(e, -ENOMEM, "out of memory");
	c->n_bbs = 0;
	for (i = 0; i < n; i++) {
		if (lead[i]) {
			struct k2_bb *b = &c->bbs[c->n_bbs++];

			while (i >= c->funcs[f].end)
				f++;
			if (c->funcs[f].start == i)
				c->funcs[f].first_bb = c->n_bbs - 1;
			c->funcs[f].n_bb++;
			b->start = i;
			b->func = f;
			if (c->n_bbs > 1)
				c->bbs[c->n_bbs - 2].end = i;
		}
		c->bb_of[i] = c->n_bbs - 1;
	}
	if (c->n_bbs)
		c->bbs[c->n_bbs - 1].end = n;
	for (i = 0; i < c->n_bbs; i++)
		set_succs(c, &c->bbs[i], second);
	return 0;
}

static int build_preds(struct k2_cfg *c, struct k2_err *e)
{
	uint32_t total = 0, i, k;

	for (i = 0; i < c->n_bbs; i++)
		for (k = 0; k < c->bbs[i].n_succ; k++)
			if (c->bbs[i].succ[k] != K2_CFG_END)
				c->bbs[c->bbs[i].succ[k]].n_pred++;
	for (i = 0; i < c->n_bbs; i++) {
		c->bbs[i].pred_off = total;
		total += c->bbs[i].n_pred;
		c->bbs[i].n_pred = 0;
	}
	c->preds = malloc((total ? total : 1) * sizeof(*c->preds));
	if (!c->preds)
		return k2_err_set(e, -ENOMEM, "out of memory");
	for (i = 0; i < c->n_bbs; i++)
		for (k = 0; k < c->bbs[i].n_succ; k++) {
			uint32_t s = c->bbs[i].succ[k];

			if (s != K2_CFG_END)
				c->preds[c->bbs[s].pred_off + c->bbs[s].n_pred++] = i;
		}
	return 0;
}

/*
 * Depth-first walk of one function from its entry: reverse post order of the blocks it
 * reaches, and loop heads (targets of edges back to a block still on the walk's stack).
 */
static int walk_func(struct cfg_impl *ci, uint32_t f, uint32_t *stack, uint8_t *color,
		     uint8_t *next_succ)
{
	struct k2_cfg *c = &ci->pub;
	struct k2_func *fn = &c->funcs[f];
	uint32_t *order = ci->rpo + ci->rpo_off[f];
	uint32_t sp = 0, cnt = 0;

	stack[sp++] = fn->first_bb;
	color[fn->first_bb] = 1;
	next_succ[fn->first_bb] = 0;
	while (sp) {
		uint32_t b = stack[sp - 1];
		struct k2_bb *bb = &c->bbs[b];

		if (next_succ[b] < bb->n_succ) {
			uint32_t s = bb->succ[next_succ[b]++];

			if (s == K2_CFG_END)
				continue;
			if (color[s] == 1) {
				c->bbs[s].loop_head = true;
				fn->has_loop = true;
			} else if (color[s] == 0) {
				color[s] = 1;
				next_succ[s] = 0;
				stack[sp++] = s;
			}
			continue;
		}
		color[b] = 2;
		order[cnt++] = b;
		sp--;
	}
	for (uint32_t i = 0; i < cnt / 2; i++) {
		uint32_t t = order[i];

		order[i] = order[cnt - 1 - i];
		order[cnt - 1 - i] = t;
	}
	for (uint32_t i = 0; i < cnt; i++)
		c->bbs[order[i]].rpo = i;
	ci->rpo_n[f] = cnt;
	return 0;
}

/* Marks reachable blocks: walks functions as calls reach them, starting from main. */
static int mark_reachable(struct cfg_impl *ci, struct k2_err *e)
{
	struct k2_cfg *c = &ci->pub;
	uint32_t *stack = malloc((c->n_bbs + 1) * sizeof(*stack));
	uint8_t *color = calloc(c->n_bbs + 1, 1), *next = calloc(c->n_bbs + 1, 1);
	uint32_t *work = malloc((c->n_funcs + 1) * sizeof(*work)), nw = 0;
	int err = 0;

	ci->rpo = malloc((c->n_bbs + 1) * sizeof(*ci->rpo));
	ci->rpo_off = calloc(c->n_funcs + 1, sizeof(*ci->rpo_off));
	ci->rpo_n = calloc(c->n_funcs + 1, sizeof(*ci->rpo_n));
	if (!stack || !color || !next || !work || !ci->rpo || !ci->rpo_off || !ci->rpo_n) {
		err = k2_err_set(e, -ENOMEM, "out of memory");
		goto out;
	}
	for (uint32_t f = 0; f < c->n_funcs; f++)
		ci->rpo_off[f] = c->funcs[f].first_bb;
	if (c->n_bbs == 0)
		goto out;
	c->funcs[0].reachable = true;
	work[nw++] = 0;
	while (nw) {
		uint32_t f = work[--nw], *order = ci->rpo + ci->rpo_off[f];

		walk_func(ci, f, stack, color, next);
		for (uint32_t k = 0; k < ci->rpo_n[f]; k++) {
			struct k2_bb *bb = &c->bbs[order[k]];

			bb->reachable = true;
			for (uint32_t i = bb->start; i < bb->end; i++) {
				uint32_t g = c->callee[i];

				if (g != K2_CFG_NONE && !c->funcs[g].reachable) {
					c->funcs[g].reachable = true;
					work[nw++] = g;
				}
			}
		}
	}
out:
	free(stack);
	free(color);
	free(next);
	free(work);
	return err;
}

static int fill_callees(struct k2_cfg *c, const bool *second, struct k2_err *e)
{
	c->callee = malloc((c->n_insns ? c->n_insns : 1) * sizeof(*c->callee));
	if (!c->callee)
		return k2_err_set(e, -ENOMEM, "out of memory");
	for (uint32_t i = 0; i < c->n_insns; i++) {
		long t = second[i] ? -1 : func_ref(c->insns, i);

		c->callee[i] = K2_CFG_NONE;
		if (t < 0)
			continue;
		c->callee[i] = k2_cfg_func_of(c, (uint32_t)t);
		if (k2_insn_op(&c->insns[i]) == K2_OP_LDDW_FUNC)
			c->funcs[c->callee[i]].callback = true;
	}
	return 0;
}

static int build(struct cfg_impl *ci, bool *second, bool *lead, struct k2_err *e)
{
	struct k2_cfg *c = &ci->pub;
	int err;

	for (uint32_t i = 0; i + 1 < c->n_insns; i++)
		if (!second[i] && is_wide(&c->insns[i]))
			second[i + 1] = true;
	err = find_funcs(c, second, e);
	if (!err)
		err = check_funcs(c, second, e);
	if (err)
		return err;
	mark_leaders(c, second, lead);
	err = build_blocks(c, second, lead, e);
	if (!err)
		err = build_preds(c, e);
	if (!err)
		err = fill_callees(c, second, e);
	if (!err)
		err = mark_reachable(ci, e);
	if (err)
		return err;
	for (uint32_t b = 0; b < c->n_bbs; b++)
		if (!c->bbs[b].reachable)
			for (uint32_t i = c->bbs[b].start; i < c->bbs[b].end; i++)
				c->n_unreachable += !second[i];
	return 0;
}

int k2_cfg_build(const struct bpf_insn *insns, uint32_t n, const struct k2_cfg_opts *opts,
		 struct k2_cfg **out, struct k2_err *e)
{
	struct cfg_impl *ci;
	bool *second, *lead;
	int err;

	*out = NULL;
	err = check_insns(insns, n, opts, e);
	if (err)
		return err;
	ci = calloc(1, sizeof(*ci));
	second = calloc(n + 1, sizeof(*second));
	lead = calloc(n + 1, sizeof(*lead));
	if (!ci || !second || !lead) {
		free(ci);
		free(second);
		free(lead);
		return k2_err_set(e, -ENOMEM, "out of memory");
	}
	ci->pub.insns = insns;
	ci->pub.n_insns = n;
	ci->pub.fragment = opts && opts->fragment;
	if (n == 0) {
		/* An empty fragment: a single empty block that leaves at once. */
		ci->pub.funcs = calloc(1, sizeof(*ci->pub.funcs));
		ci->pub.bbs = calloc(1, sizeof(*ci->pub.bbs));
		err = (ci->pub.funcs && ci->pub.bbs) ? 0 : -ENOMEM;
		if (!err) {
			ci->pub.n_funcs = ci->pub.n_bbs = 1;
			ci->pub.funcs[0] = (struct k2_func){ .n_bb = 1, .reachable = true };
			ci->pub.bbs[0] = (struct k2_bb){ .n_succ = 1,
							 .succ = { K2_CFG_END },
							 .reachable = true };
			err = build_preds(&ci->pub, e);
		}
		if (!err) {
			ci->rpo = calloc(1, sizeof(*ci->rpo));
			ci->rpo_off = calloc(1, sizeof(*ci->rpo_off));
			ci->rpo_n = calloc(1, sizeof(*ci->rpo_n));
			err = ci->rpo && ci->rpo_off && ci->rpo_n ? 0 : -ENOMEM;
			if (!err)
				ci->rpo_n[0] = 1;
		}
		if (err)
			k2_err_set(e, err, "out of memory");
	} else {
		err = build(ci, second, lead, e);
	}
	free(second);
	free(lead);
	if (err) {
		k2_cfg_free(&ci->pub);
		return err;
	}
	*out = &ci->pub;
	return 0;
}

void k2_cfg_free(struct k2_cfg *cfg)
{
	struct cfg_impl *ci = IMPL(cfg);

	if (!cfg)
		return;
	free(cfg->bbs);
	free(cfg->preds);
	free(cfg->bb_of);
	free(cfg->callee);
	free(cfg->funcs);
	free(ci->rpo);
	free(ci->rpo_off);
	free(ci->rpo_n);
	free(ci);
}

uint32_t k2_cfg_func_of(const struct k2_cfg *cfg, uint32_t i)
{
	uint32_t lo = 0, hi = cfg->n_funcs;

	while (hi - lo > 1) {
		uint32_t mid = (lo + hi) / 2;

		if (cfg->funcs[mid].start <= i)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

bool k2_cfg_insn_reachable(const struct k2_cfg *cfg, uint32_t i)
{
	return i < cfg->n_insns && cfg->bbs[cfg->bb_of[i]].reachable;
}

const uint32_t *k2_cfg_rpo(const struct k2_cfg *cfg, uint32_t func, uint32_t *n)
{
	const struct cfg_impl *ci = (const struct cfg_impl *)cfg;

	*n = ci->rpo_n[func];
	return ci->rpo + ci->rpo_off[func];
}
