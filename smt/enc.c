/* smt/enc.c: the engine: symbolic execution in execution order, merging states at joins. */
#include <stdlib.h>
#include <string.h>

#include "smt/smt_int.h"

/*
 * Positions are ordered as executions visit them: per frame (loop epoch, pc), the call sites
 * of the frames below first. Jumps go forward inside an epoch, a backward jump starts the
 * next epoch, a call extends the position and a return comes back past the call site, so
 * taking the smallest pending position always finds every path into it already arrived:
 * their states are merged (ites under the path conditions) and executed once. Loops are
 * unrolled this way up to s->unroll epochs; a path that would go further is unsupported.
 */
struct pos {
	uint8_t d; /* current frame; K2S_END for the merged exit */
	uint16_t ep[K2_MAX_FRAMES];
	uint32_t pc[K2_MAX_FRAMES];
};

#define K2S_END 0xff
#define BLOCK 65536
#define MAX_STEPS 400000

struct pend {
	struct pos p;
	struct k2_state *st;
};

struct engine {
	struct k2_enc *en;
	struct pend *q;
	uint32_t n, cap;
};

void *k2s_alloc(struct k2_enc *en, size_t sz)
{
	sz = (sz + 15) & ~(size_t)15;
	if (sz > en->bump_left) {
		size_t bs = sz > BLOCK ? sz : BLOCK;
		char *b = malloc(bs);

		if (!b)
			goto oom;
		if (en->n_blocks == en->cap_blocks) {
			uint32_t c = en->cap_blocks ? en->cap_blocks * 2 : 16;
			void **v = realloc(en->blocks, c * sizeof(*v));

			if (!v) {
				free(b);
				goto oom;
			}
			en->blocks = v;
			en->cap_blocks = c;
		}
		en->blocks[en->n_blocks++] = b;
		en->bump = b;
		en->bump_left = bs;
	}
	en->bump += sz;
	en->bump_left -= sz;
	return en->bump - sz;
oom:
	en->s->oom = true;
	return NULL;
}

void k2s_refuse(struct k2_enc *en, uint32_t insn, const char *why)
{
	if (!en->refuse) {
		en->refuse = why;
		en->refuse_insn = insn;
	}
}

void k2s_unsup(struct k2_enc *en, Z3_ast cond, uint32_t insn, const char *why)
{
	if (t_bool(en->s, cond) == 0)
		return;
	for (uint32_t i = 0; i < en->n_uns; i++)
		if (en->uns[i].why == why && en->uns[i].insn == insn) {
			en->uns[i].cond = b_or(en->s, en->uns[i].cond, cond);
			return;
		}
	if (en->n_uns == en->cap_uns) {
		uint32_t c = en->cap_uns ? en->cap_uns * 2 : 8;
		struct k2_unsup *v = realloc(en->uns, c * sizeof(*v));

		if (!v) {
			k2s_refuse(en, insn, "out of memory");
			return;
		}
		en->uns = v;
		en->cap_uns = c;
	}
	en->uns[en->n_uns++] = (struct k2_unsup){ cond, why, insn };
}

void k2s_error(struct k2_enc *en, struct k2_state *st, Z3_ast cond)
{
	Z3_ast c = b_and(en->s, st->g, cond);

	en->err = b_or(en->s, en->err, c);
	if (en->err_at && en->pc < en->n)
		en->err_at[en->pc] = en->err_at[en->pc] ? b_or(en->s, en->err_at[en->pc], c) : c;
}

void k2s_wloc(struct k2_enc *en, uint8_t obj, const struct k2_mkey *k, int32_t map, Z3_ast g)
{
	for (uint32_t i = 0; i < en->n_wl; i++) {
		struct k2_wloc *l = &en->wl[i];

		if (l->obj == obj && l->k.elem == k->elem && l->k.osym == k->osym &&
		    l->k.oc == k->oc) {
			l->g = b_or(en->s, l->g, g);
			return;
		}
	}
	if (en->n_wl == en->cap_wl) {
		uint32_t c = en->cap_wl ? en->cap_wl * 2 : 64;
		struct k2_wloc *v = realloc(en->wl, c * sizeof(*v));

		if (!v) {
			en->s->oom = true;
			return;
		}
		en->wl = v;
		en->cap_wl = c;
	}
	en->wl[en->n_wl++] = (struct k2_wloc){ obj, *k, map, g };
}

static struct k2_state *state_new(struct k2_enc *en)
{
	struct k2_state *st = k2s_alloc(en, sizeof(*st));
	uint32_t nm = en->w->prog->n_maps + 1;

	if (!st)
		return NULL;
	memset(st, 0, sizeof(*st));
	st->mem = k2s_alloc(en, en->w->n_mo * sizeof(*st->mem));
	st->mver = k2s_alloc(en, nm * sizeof(*st->mver));
	st->cnt = k2s_alloc(en, nm * sizeof(*st->cnt));
	if (!st->mem || !st->mver || !st->cnt)
		return NULL;
	memset(st->mem, 0, en->w->n_mo * sizeof(*st->mem));
	for (uint32_t m = 0; m < nm; m++) {
		st->mver[m] = t_num(en->s, 32, 0);
		st->cnt[m] = t_n64(en->s, 0);
	}
	return st;
}

struct k2_state *k2s_state_clone(struct k2_enc *en, const struct k2_state *src)
{
	struct k2_state *st = state_new(en);
	uint32_t nm = en->w->prog->n_maps + 1;
	struct k2_mnode **mem;
	Z3_ast *mv, *cnt;

	if (!st)
		return NULL;
	mem = st->mem;
	mv = st->mver;
	cnt = st->cnt;
	*st = *src;
	st->mem = mem;
	st->mver = mv;
	st->cnt = cnt;
	memcpy(st->mem, src->mem, en->w->n_mo * sizeof(*st->mem));
	memcpy(st->mver, src->mver, nm * sizeof(*st->mver));
	memcpy(st->cnt, src->cnt, nm * sizeof(*st->cnt));
	if (src->rb_used) {
		st->rb_used = k2s_alloc(en, nm * sizeof(*st->rb_used));
		if (!st->rb_used)
			return NULL;
		memcpy(st->rb_used, src->rb_used, nm * sizeof(*st->rb_used));
	}
	return st;
}

static struct k2_state *entry_state(struct k2_enc *en)
{
	struct k2_world *w = en->w;
	struct k2_smt *s = en->s;
	struct k2_state *st = state_new(en);

	if (!st)
		return NULL;
	st->g = s->tru;
	if (en->window) {
		memcpy(st->r, w->regs0, sizeof(st->r));
	} else {
		for (int i = 0; i < K2_NREGS; i++)
			sv_uninit(s, &st->r[i]);
		sv_ptr(w, &st->r[1], K2_T_CTX, K2S_MO_CTX, -1, NULL, NULL, NULL, 0);
		sv_ptr(w, &st->r[10], K2_T_STACK, K2S_MO_STACK, -1, NULL, NULL, NULL,
		       K2_STACK_SIZE);
	}
	st->meta = w->meta0;
	st->data = w->data0;
	st->end = w->end0;
	st->ndet_i = t_num(s, 32, 0);
	st->neff = t_num(s, 32, 0);
	st->exitno = t_num(s, 32, 0);
	st->tail = s->fls;
	return st;
}

/* ---- positions ------------------------------------------------------------------------- */

static int pos_cmp(const struct pos *a, const struct pos *b)
{
	uint8_t n;

	if (a->d == K2S_END || b->d == K2S_END)
		return (a->d == K2S_END) - (b->d == K2S_END);
	n = a->d < b->d ? a->d : b->d;
	for (uint8_t i = 0; i <= n; i++) {
		if (a->ep[i] != b->ep[i])
			return a->ep[i] < b->ep[i] ? -1 : 1;
		if (a->pc[i] != b->pc[i])
			return a->pc[i] < b->pc[i] ? -1 : 1;
	}
	return a->d == b->d ? 0 : a->d < b->d ? -1 : 1;
}

/* "if gb then b else a" under gb | ga: after if/else only the branch condition is needed. */
static Z3_ast rel_guard(struct k2_smt *s, Z3_ast gb, Z3_ast ga)
{
	Z3_context c = s->c;

	if (Z3_get_ast_kind(c, gb) == Z3_APP_AST && Z3_get_ast_kind(c, ga) == Z3_APP_AST) {
		Z3_app x = Z3_to_app(c, gb), y = Z3_to_app(c, ga);
		Z3_decl_kind kx = Z3_get_decl_kind(c, Z3_get_app_decl(c, x));
		Z3_decl_kind ky = Z3_get_decl_kind(c, Z3_get_app_decl(c, y));

		if (kx == Z3_OP_AND && ky == Z3_OP_AND && Z3_get_app_num_args(c, x) == 2 &&
		    Z3_get_app_num_args(c, y) == 2 &&
		    Z3_get_app_arg(c, x, 0) == Z3_get_app_arg(c, y, 0) &&
		    b_not(s, Z3_get_app_arg(c, x, 1)) == Z3_get_app_arg(c, y, 1))
			return Z3_get_app_arg(c, x, 1);
	}
	return gb;
}

static void state_merge(struct k2_enc *en, struct k2_state *a, const struct k2_state *b)
{
	struct k2_smt *s = en->s;
	uint32_t nm = en->w->prog->n_maps + 1;
	Z3_ast c = rel_guard(s, b->g, a->g);

	for (int i = 0; i < K2_NREGS; i++)
		sv_ite(s, c, &b->r[i], &a->r[i], &a->r[i]);
	for (uint8_t f = 0; f < a->depth; f++)
		for (int i = 0; i < 4; i++)
			sv_ite(s, c, &b->fr[f].saved[i], &a->fr[f].saved[i], &a->fr[f].saved[i]);
	for (uint32_t o = 0; o < en->w->n_mo; o++)
		a->mem[o] = k2s_mem_merge(en, c, b->mem[o], a->mem[o]);
	a->meta = t_ite(s, c, b->meta, a->meta);
	a->data = t_ite(s, c, b->data, a->data);
	a->end = t_ite(s, c, b->end, a->end);
	a->ndet_i = t_ite(s, c, b->ndet_i, a->ndet_i);
	a->neff = t_ite(s, c, b->neff, a->neff);
	a->exitno = t_ite(s, c, b->exitno, a->exitno);
	a->tail = t_ite(s, c, b->tail, a->tail);
	if (b->rb_used || a->rb_used) {
		Z3_ast *ra = a->rb_used, *rb = b->rb_used;

		if (!ra) {
			ra = k2s_alloc(en, nm * sizeof(*ra));
			if (!ra)
				return;
			for (uint32_t m = 0; m < nm; m++)
				ra[m] = t_n64(s, 0);
			a->rb_used = ra;
		}
		for (uint32_t m = 0; m < nm; m++)
			ra[m] = t_ite(s, c, rb ? rb[m] : t_n64(s, 0), ra[m]);
	}
	for (uint32_t m = 0; m < nm; m++) {
		a->mver[m] = t_ite(s, c, b->mver[m], a->mver[m]);
		a->cnt[m] = t_ite(s, c, b->cnt[m], a->cnt[m]);
	}
	a->g = b_or(s, a->g, b->g);
}

static void push(struct engine *E, const struct pos *p, struct k2_state *st)
{
	struct k2_enc *en = E->en;

	if (t_bool(en->s, st->g) == 0)
		return;
	for (uint32_t i = 0; i < E->n; i++)
		if (!pos_cmp(&E->q[i].p, p)) {
			state_merge(en, E->q[i].st, st);
			return;
		}
	if (E->n == E->cap) {
		uint32_t c = E->cap ? E->cap * 2 : 16;
		struct pend *v = realloc(E->q, c * sizeof(*v));

		if (!v) {
			k2s_refuse(en, 0, "out of memory");
			return;
		}
		E->q = v;
		E->cap = c;
	}
	E->q[E->n].p = *p;
	E->q[E->n].st = st;
	E->n++;
}

static bool pop(struct engine *E, struct pend *out)
{
	uint32_t best = 0;

	if (!E->n)
		return false;
	for (uint32_t i = 1; i < E->n; i++)
		if (pos_cmp(&E->q[i].p, &E->q[best].p) < 0)
			best = i;
	*out = E->q[best];
	E->q[best] = E->q[--E->n];
	return true;
}

static void exit_to(struct engine *E, struct k2_state *st, int32_t exitno)
{
	struct pos end = { .d = K2S_END };

	st->exitno = t_num(E->en->s, 32, (uint32_t)exitno);
	push(E, &end, st);
}

/* Continues at `target` in the current frame. */
static void go(struct engine *E, const struct pos *p, struct k2_state *st, int64_t target)
{
	struct k2_enc *en = E->en;
	struct pos np = *p;

	if (en->window && (target < 0 || target >= en->n)) {
		exit_to(E, st, (int32_t)(target - en->n));
		return;
	}
	if (target <= p->pc[p->d]) {
		if (p->ep[p->d] + 1u >= en->s->unroll) {
			k2s_unsup(en, st->g, p->pc[p->d], "loop runs longer than the unroll bound");
			return;
		}
		np.ep[p->d]++;
	}
	np.pc[p->d] = (uint32_t)target;
	push(E, &np, st);
}

static int decode(struct k2_enc *en)
{
	en->ops = k2s_alloc(en, en->n + 1);
	if (!en->ops)
		return -ENOMEM;
	for (uint32_t i = 0; i < en->n; i++) {
		enum k2_op op = k2_insn_op(&en->insns[i]);

		en->ops[i] = (uint8_t)op;
		if (op == K2_OP_INVALID) {
			k2s_refuse(en, i, "invalid instruction");
			return -EINVAL;
		}
		if (k2_op_info(op)->kind == K2_KIND_LDDW && i + 1 < en->n)
			en->ops[++i] = K2_OP_INVALID;
	}
	return 0;
}

int k2s_enc_run(struct k2_enc *en, struct k2_world *w, const char *name,
		const struct bpf_insn *insns, uint32_t n, bool window)
{
	struct engine E = { .en = en };
	struct pos p0;
	struct pend cur;
	struct k2_state *st;

	en->s = w->s;
	en->w = w;
	en->name = name;
	en->insns = insns;
	en->n = n;
	en->window = window;
	en->err = en->s->fls;
	if (decode(en))
		return 0;
	st = entry_state(en);
	if (!st) {
		k2s_refuse(en, 0, "out of memory");
		return -ENOMEM;
	}
	memset(&p0, 0, sizeof(p0));
	push(&E, &p0, st);
	while (!en->refuse && pop(&E, &cur)) {
		struct k2_state *taken = NULL;
		int64_t tgt = 0, r;
		uint32_t pc;

		if (cur.p.d == K2S_END) {
			en->fin = cur.st;
			break;
		}
		pc = cur.p.pc[cur.p.d];
		if (pc >= n) {
			k2s_refuse(en, pc, "control falls off the end of the program");
			break;
		}
		if (++en->steps > MAX_STEPS) {
			k2s_refuse(en, pc, "program too large to encode (instructions x paths)");
			break;
		}
		en->pc = pc;
		r = k2s_exec(en, cur.st, pc, &taken, &tgt);
		if (r >= 0) {
			go(&E, &cur.p, cur.st, r);
			continue;
		}
		switch (r) {
		case K2S_NEXT_BRANCH:
			go(&E, &cur.p, cur.st, pc + 1);
			if (taken)
				go(&E, &cur.p, taken, tgt);
			break;
		case K2S_NEXT_EXIT:
			exit_to(&E, cur.st, (int32_t)tgt);
			break;
		case K2S_NEXT_FORK_EXIT:
			if (taken)
				exit_to(&E, taken, (int32_t)tgt);
			go(&E, &cur.p, cur.st, pc + 1);
			break;
		case K2S_NEXT_CALL: {
			struct pos np = cur.p;

			np.d++;
			np.ep[np.d] = 0;
			np.pc[np.d] = (uint32_t)tgt;
			push(&E, &np, cur.st);
			break;
		}
		case K2S_NEXT_RET: {
			struct pos np = cur.p;

			np.d--;
			np.pc[np.d] = (uint32_t)tgt;
			push(&E, &np, cur.st);
			break;
		}
		default: /* K2S_NEXT_DEAD */
			break;
		}
	}
	free(E.q);
	if (!en->refuse && !en->fin) {
		/* every path failed: the final state is the entry one under a false guard */
		en->fin = entry_state(en);
		if (en->fin)
			en->fin->g = en->s->fls;
	}
	if (en->s->oom)
		k2s_refuse(en, 0, "out of memory");
	return 0;
}

void k2s_enc_free(struct k2_enc *en)
{
	for (uint32_t i = 0; i < en->n_blocks; i++)
		free(en->blocks[i]);
	free(en->blocks);
	free(en->uns);
	free(en->eff);
	free(en->wl);
	memset(en, 0, sizeof(*en));
}
