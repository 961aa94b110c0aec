/* smt/equiv_win.c: window equivalence: the original encoded once, candidates checked against it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smt/query.h"
#include "smt/window.h"

/* ---- the difference of two window encodings ----------------------------------------------- */

static bool stack_live(const struct k2_smt_window *sw, int64_t b)
{
	return b >= 0 && b < K2_STACK_BYTES && (sw->sout.w[b / 64] >> (b % 64) & 1);
}

static bool slot_live(const struct k2_smt_window *sw, int64_t sl)
{
	for (int b = 0; b < 8; b++)
		if (stack_live(sw, sl * 8 + b))
			return true;
	return false;
}

static void rd(struct k2_enc *en, uint8_t obj, const struct k2_mkey *k, struct k2_mread *r)
{
	k2s_mem_read(en, en->fin, obj, k, r);
}

/* Live stack bytes and spill slots either window may have written, compared. */
static Z3_ast stack_diff(const struct k2_smt_window *sw, struct k2_enc *o, struct k2_enc *c)
{
	struct k2_smt *s = o->s;
	struct k2_enc *e[2] = { o, c };
	Z3_ast d = s->fls;
	uint8_t seen[K2_STACK_BYTES] = { 0 }, seen_sl[K2_STACK_SLOTS] = { 0 };
	bool all = false, all_sl = false;

	for (int p = 0; p < 2; p++)
		for (uint32_t i = 0; i < e[p]->n_wl; i++) {
			const struct k2_wloc *l = &e[p]->wl[i];

			if (l->obj == K2S_MO_STACK) {
				if (l->k.osym)
					all = true;
				else if (l->k.oc >= 0 && l->k.oc < K2_STACK_BYTES)
					seen[l->k.oc] = 1;
			} else if (l->obj == K2S_MO_SPILL) {
				if (l->k.osym)
					all_sl = true;
				else if (l->k.oc >= 0 && l->k.oc < K2_STACK_SLOTS)
					seen_sl[l->k.oc] = 1;
			}
		}
	for (int b = 0; b < K2_STACK_BYTES; b++) {
		struct k2_mkey k = { .oc = b };
		struct k2_mread ro, rc;

		if (!(all || seen[b]) || !stack_live(sw, b))
			continue;
		rd(o, K2S_MO_STACK, &k, &ro);
		rd(c, K2S_MO_STACK, &k, &rc);
		d = b_or(s, d, b_or(s, b_ne(s, ro.init, rc.init),
				    b_and(s, ro.init, b_ne(s, ro.val, rc.val))));
	}
	for (int sl = 0; sl < K2_STACK_SLOTS; sl++) {
		struct k2_mkey k = { .oc = sl };
		struct k2_mread ro, rc;

		if (!(all_sl || seen_sl[sl]) || !slot_live(sw, sl))
			continue;
		rd(o, K2S_MO_SPILL, &k, &ro);
		rd(c, K2S_MO_SPILL, &k, &rc);
		d = b_or(s, d, b_ne(s, ro.val, rc.val));
	}
	return d;
}

/* Packet, context and map value bytes either window wrote. */
static Z3_ast mem_diff(struct k2_enc *o, struct k2_enc *c)
{
	struct k2_smt *s = o->s;
	struct k2_enc *e[2] = { o, c };
	Z3_ast d = s->fls;

	for (int p = 0; p < 2; p++)
		for (uint32_t i = 0; i < e[p]->n_wl; i++) {
			const struct k2_wloc *l = &e[p]->wl[i];
			struct k2_mread ro, rc;

			if (l->obj < K2S_MO_CTX)
				continue;
			rd(o, l->obj, &l->k, &ro);
			rd(c, l->obj, &l->k, &rc);
			d = b_or(s, d, b_ne(s, ro.val, rc.val));
		}
	return d;
}

static Z3_ast reg_diff(struct k2_smt *s, const struct k2_sv *a, const struct k2_sv *b)
{
	return b_or(s, b_ne(s, a->t, b->t),
		    b_and(s, b_ne(s, a->t, t_num(s, 8, K2_T_UNINIT)), b_ne(s, a->v, b->v)));
}

Z3_ast k2s_win_diff(const struct k2_smt_window *sw, struct k2_enc *o, struct k2_enc *c)
{
	struct k2_smt *s = o->s;
	Z3_ast d = c->err;

	d = b_or(s, d, b_ne(s, o->fin->exitno, c->fin->exitno));
	for (int r = 0; r < K2_NREGS; r++)
		if (sw->live_out >> r & 1)
			d = b_or(s, d, reg_diff(s, &o->fin->r[r], &c->fin->r[r]));
	d = b_or(s, d, stack_diff(sw, o, c));
	d = b_or(s, d, mem_diff(o, c));
	return d;
}

/* ---- window objects ------------------------------------------------------------------------ */

static void hash_aval(struct k2_hash *h, const struct k2_aval *a)
{
	struct {
		uint8_t type, frame, uninit, null;
		int32_t map, off;
		uint32_t id, range;
		uint64_t maps, value, mask, umin, umax, smin, smax;
		uint32_t u32min, u32max, s32min, s32max;
	} x;

	memset(&x, 0, sizeof(x));
	x.type = a->type;
	x.frame = a->frame;
	x.uninit = a->maybe_uninit;
	x.null = a->maybe_null;
	x.map = a->map;
	x.off = a->off;
	x.id = a->id;
	x.range = a->range;
	x.maps = a->maps;
	x.value = a->var.value;
	x.mask = a->var.mask;
	x.umin = a->umin;
	x.umax = a->umax;
	x.smin = (uint64_t)a->smin;
	x.smax = (uint64_t)a->smax;
	x.u32min = a->u32min;
	x.u32max = a->u32max;
	x.s32min = (uint32_t)a->s32min;
	x.s32max = (uint32_t)a->s32max;
	k2s_hash_bytes(h, &x, sizeof(x));
}

/* What the window means: everything a verdict depends on, hashed (the cache key's half). */
static void window_key(struct k2_smt_window *sw, const struct k2_astate *pre)
{
	const struct k2_prog *p = sw->an->prog;
	struct k2_hash *h = &sw->key;
	uint32_t opts[4] = { sw->s->o.no_bounds, sw->s->unroll, sw->s->o.no_modular, 0 };

	memset(h, 0, sizeof(*h));
	k2s_hash_bytes(h, &p->type, sizeof(p->type));
	k2s_hash_bytes(h, &p->attach_type, sizeof(p->attach_type));
	for (uint32_t i = 0; i < p->n_maps; i++) {
		uint32_t m[5] = { p->maps[i].type, p->maps[i].key_size, p->maps[i].value_size,
				  p->maps[i].max_entries,
				  p->maps[i].flags | (uint32_t)p->maps[i].readonly << 31 };

		k2s_hash_bytes(h, m, sizeof(m));
	}
	k2s_hash_bytes(h, opts, sizeof(opts));
	k2s_hash_bytes(h, sw->orig, sw->n * sizeof(*sw->orig));
	k2s_hash_bytes(h, &sw->win.live_in, sizeof(sw->win.live_in));
	k2s_hash_bytes(h, &sw->live_out, sizeof(sw->live_out));
	k2s_hash_bytes(h, &sw->sout, sizeof(sw->sout));
	k2s_hash_bytes(h, &pre->pkt_min, sizeof(pre->pkt_min));
	for (int r = 0; r < K2_NREGS; r++)
		hash_aval(h, &pre->regs[r]);
	for (int sl = 0; sl < K2_STACK_SLOTS; sl++) {
		k2s_hash_bytes(h, pre->stack[sl].bytes, 8);
		hash_aval(h, &pre->stack[sl].spill);
	}
	if (sw->s->o.no_modular) {
		/* the verdict then depends on the whole program */
		k2s_hash_bytes(h, p->insns, p->n_insns * sizeof(*p->insns));
		k2s_hash_bytes(h, &sw->win.start, sizeof(sw->win.start));
	}
}

int k2_smt_window_new(struct k2_smt *s, const struct k2_analysis *an, const struct k2_win *w,
		      struct k2_smt_window **out, struct k2_err *e)
{
	struct k2_smt_window *sw = calloc(1, sizeof(*sw));
	struct k2_astate *pre = malloc(sizeof(*pre));
	struct k2_arena *old = s->ar;
	double t0 = k2s_now_ms();
	int err = 0;

	if (!sw || !pre) {
		free(sw);
		free(pre);
		return k2_err_set(e, -ENOMEM, "out of memory");
	}
	sw->s = s;
	sw->an = an;
	sw->win = *w;
	sw->live_out = w->live_out;
	sw->n = w->end - w->start;
	sw->serial = ++s->window_serial;
	sw->orig = malloc(sw->n * sizeof(*sw->orig));
	if (!sw->orig) {
		err = k2_err_set(e, -ENOMEM, "out of memory");
		goto fail;
	}
	memcpy(sw->orig, an->prog->insns + w->start, sw->n * sizeof(*sw->orig));
	k2_win_stack_out(an, w, &sw->sout);
	err = k2_win_precond(an, w, pre);
	if (err || !pre->reachable) {
		err = k2_err_set(e, -EINVAL, "window %u:%u: no state at its start", w->start,
				 w->end);
		goto fail;
	}
	window_key(sw, pre);
	err = k2_vm_new(an->prog, NULL, &sw->vm, e);
	if (!err)
		err = k2_window_new(&sw->wo);
	if (!err)
		err = k2_window_new(&sw->wc);
	if (!err)
		err = k2_wstate_new(sw->vm, &sw->st);
	if (!err)
		err = k2_mapstate_new(an->prog->maps, an->prog->n_maps, 1, &sw->ms, e);
	if (!err)
		err = k2_window_set(sw->wo, sw->vm, sw->orig, sw->n, e);
	if (err) {
		k2_err_prefix(e, "window %u:%u: ", w->start, w->end);
		goto fail;
	}
	sw->in0.maps = sw->ms;
	err = k2s_canon(sw->orig, sw->n, &sw->canon, &sw->n_canon);
	if (err) {
		err = k2_err_set(e, err, "out of memory");
		goto fail;
	}
	/* the original, encoded once */
	s->ar = &sw->ar;
	s->oom = false;
	err = k2s_world_new(s, an->prog, true, &sw->w);
	if (err) {
		err = k2_err_set(e, err, "out of memory");
		goto fail;
	}
	if (k2s_world_window(sw->w, an, w, e)) {
		/* a precondition the encoding does not model: every candidate gets "unknown" */
		snprintf(sw->refuse, sizeof(sw->refuse), "%.250s", e ? e->msg : "precondition");
		k2_err_clear(e);
	} else {
		k2s_enc_run(&sw->eo, sw->w, "orig", sw->orig, sw->n, true);
		if (sw->eo.refuse)
			snprintf(sw->refuse, sizeof(sw->refuse), "window %u:%u: insn %u: %s",
				 w->start, w->end, w->start + sw->eo.refuse_insn, sw->eo.refuse);
		else if (s->oom)
			snprintf(sw->refuse, sizeof(sw->refuse), "out of memory");
	}
	if (!sw->refuse[0]) {
		/* the base of every query: the world's constraints, the original runs cleanly
		 * and where the encoding is exact */
		sw->so = Z3_mk_solver_for_logic(s->c, Z3_mk_string_symbol(s->c, "QF_BV"));
		Z3_solver_inc_ref(s->c, sw->so);
		{
			Z3_params p = Z3_mk_params(s->c);

			Z3_params_inc_ref(s->c, p);
			Z3_params_set_uint(s->c, p, Z3_mk_string_symbol(s->c, "timeout"),
					   s->o.timeout_ms);
			Z3_solver_set_params(s->c, sw->so, p);
			Z3_params_dec_ref(s->c, p);
		}
		for (uint32_t i = 0; i < sw->w->nax; i++)
			Z3_solver_assert(s->c, sw->so, sw->w->ax[i]);
		Z3_solver_assert(s->c, sw->so, b_not(s, sw->eo.err));
		sw->base_unsup = k2s_unsup_any(&sw->eo);
		Z3_solver_assert(s->c, sw->so, b_not(s, sw->base_unsup));
		k2s_world_mark(sw->w, &sw->mark);
	}
	s->ar = old;
	s->st.encode_ms += k2s_now_ms() - t0;
	free(pre);
	*out = sw;
	return 0;
fail:
	s->ar = old;
	free(pre);
	k2_smt_window_free(sw);
	return err;
}

void k2_smt_window_free(struct k2_smt_window *sw)
{
	struct k2_smt *s;

	if (!sw)
		return;
	s = sw->s;
	for (uint32_t i = 0; i < sw->n_pool; i++)
		k2_wstate_free(sw->pool[i]);
	k2s_wmark_free(&sw->mark);
	k2s_enc_free(&sw->eo);
	k2s_world_free(sw->w);
	if (sw->so)
		Z3_solver_dec_ref(s->c, sw->so);
	k2s_arena_release(s, &sw->ar, 0);
	free(sw->ar.v);
	k2_wstate_free(sw->st);
	k2_window_free(sw->wo);
	k2_window_free(sw->wc);
	k2_vm_free(sw->vm);
	k2_mapstate_free(sw->ms);
	free(sw->orig);
	free(sw->canon);
	free(sw);
}

/* ---- candidates ------------------------------------------------------------------------------ */

/* What bpf/interp's window decoder refuses, plus what this encoding refuses. */
static int cand_check(struct k2_smt_window *sw, const struct bpf_insn *c, uint32_t n,
		      bool *backward, bool *maps, struct k2_err *e)
{
	int err = k2_window_set(sw->wc, sw->vm, c, n, e);

	*backward = *maps = false;
	if (err)
		return err;
	for (uint32_t i = 0; i < n; i++) {
		enum k2_op op = k2_insn_op(&c[i]);
		const struct k2_opinfo *oi = k2_op_info(op);

		if ((oi->flags & K2_F_BRANCH) && k2_insn_target(&c[i], i) <= (long)i)
			*backward = true;
		if (oi->kind == K2_KIND_LDDW) {
			if (op != K2_OP_LDDW && op != K2_OP_LDDW_MAP_FD && op != K2_OP_LDDW_MAP_IDX)
				*maps = true;
			i++;
		}
	}
	return 0;
}

/* Same output for the state: registers live at the end, exit, memory live afterwards. */
static bool wout_same(const struct k2_smt_window *sw, const struct k2_wout *o,
		      const struct k2_wout *c, char *why, size_t len)
{
	uint32_t i = 0, j = 0;

	if (c->status != K2_RUN_OK) {
		snprintf(why, len, "the candidate fails (%s at insn %u: %s)",
			 k2_status_name(c->status), c->err_insn, c->err_reason);
		return false;
	}
	if (c->exit != o->exit) {
		snprintf(why, len, "the candidate leaves by exit %d, the window by %d", c->exit,
			 o->exit);
		return false;
	}
	for (int r = 0; r < K2_NREGS; r++) {
		if (!(sw->live_out >> r & 1))
			continue;
		if (o->t[r] != c->t[r] || (o->t[r] != K2_T_UNINIT && o->r[r] != c->r[r])) {
			snprintf(why, len, "r%d: %#llx (type %u) vs %#llx (type %u)", r,
				 (unsigned long long)o->r[r], o->t[r], (unsigned long long)c->r[r],
				 c->t[r]);
			return false;
		}
	}
	while (i < o->n_bytes || j < c->n_bytes) {
		const struct k2_wbyte *x = i < o->n_bytes ? &o->bytes[i] : NULL;
		const struct k2_wbyte *y = j < c->n_bytes ? &c->bytes[j] : NULL;
		uint64_t a;
		uint8_t vo, vc, io, ic;

		if (x && (!y || x->addr < y->addr)) {
			a = x->addr, vo = x->after, io = x->init_after, vc = x->before,
			ic = x->init_before, i++;
		} else if (y && (!x || y->addr < x->addr)) {
			a = y->addr, vo = y->before, io = y->init_before, vc = y->after,
			ic = y->init_after, j++;
		} else {
			a = x->addr, vo = x->after, io = x->init_after, vc = y->after,
			ic = y->init_after, i++, j++;
		}
		if (K2_ADDR_RGN(a) == K2_RGN_STACK &&
		    (K2_ADDR_IDX(a) != 0 || !stack_live(sw, K2_ADDR_OFF(a))))
			continue;
		if (io != ic || (io && vo != vc)) {
			snprintf(why, len, "memory at %#llx: %#x vs %#x", (unsigned long long)a, vo,
				 vc);
			return false;
		}
	}
	return true;
}

/*
 * Spilled registers are invisible in k2_wout: a live slot the windows leave with different
 * types shows when both are followed by a fill of that slot.
 */
static int spill_probe(struct k2_smt_window *sw, const struct bpf_insn *c, uint32_t n,
		       char *why, size_t len)
{
	struct bpf_insn *po = malloc((sw->n + 1) * sizeof(*po));
	struct bpf_insn *pc = malloc((n + 1) * sizeof(*pc));
	struct k2_window *wp = NULL;
	int diff = 0;

	if (!po || !pc || k2_window_new(&wp)) {
		diff = -ENOMEM;
		goto out;
	}
	memcpy(po, sw->orig, sw->n * sizeof(*po));
	memcpy(pc, c, n * sizeof(*pc));
	for (int sl = 0; sl < K2_STACK_SLOTS && !diff; sl++) {
		int16_t off = (int16_t)(sl * 8 - K2_STACK_SIZE);

		if (!slot_live(sw, sl))
			continue;
		k2_insn_encode(K2_OP_LDXDW, 0, K2_REG_FP, off, 0, &po[sw->n]);
		k2_insn_encode(K2_OP_LDXDW, 0, K2_REG_FP, off, 0, &pc[n]);
		if (k2_window_set(wp, sw->vm, po, sw->n + 1, NULL))
			continue;
		k2_vm_wrun(sw->vm, wp, sw->st, &sw->out_o);
		if (k2_window_set(wp, sw->vm, pc, n + 1, NULL))
			continue;
		k2_vm_wrun(sw->vm, wp, sw->st, &sw->out_c);
		if (sw->out_o.status == K2_RUN_OK &&
		    (sw->out_c.status != K2_RUN_OK || sw->out_o.t[0] != sw->out_c.t[0])) {
			snprintf(why, len, "fp%d holds a spilled register of type %u vs %u", off,
				 sw->out_o.t[0], sw->out_c.t[0]);
			diff = 1;
		}
	}
out:
	k2_window_free(wp);
	free(po);
	free(pc);
	return diff;
}

/* Runs both windows on sw->st: 1 when they differ (why), 0 when not, < 0 on error. */
static int replay(struct k2_smt_window *sw, const struct bpf_insn *c, uint32_t n, char *why,
		  size_t len)
{
	int err = k2_window_set(sw->wc, sw->vm, c, n, NULL);

	if (err)
		return err;
	k2_vm_wrun(sw->vm, sw->wo, sw->st, &sw->out_o);
	k2_vm_wrun(sw->vm, sw->wc, sw->st, &sw->out_c);
	if (sw->out_o.status != K2_RUN_OK) {
		snprintf(why, len, "the original window fails on it (%s at insn %u: %s)",
			 k2_status_name(sw->out_o.status), sw->out_o.err_insn,
			 sw->out_o.err_reason);
		return 0;
	}
	if (!wout_same(sw, &sw->out_o, &sw->out_c, why, len))
		return 1;
	snprintf(why, len, "same live outputs");
	return spill_probe(sw, c, n, why, len);
}

int k2s_win_replay(struct k2_smt_window *sw, const struct bpf_insn *c, uint32_t n,
		   const struct k2_wstate *st, char *why, size_t len)
{
	int err = k2_wstate_copy(sw->st, st);

	return err ? err : replay(sw, c, n, why, len);
}

static void pool_add(struct k2_smt_window *sw)
{
	struct k2_wstate *cp;

	if (sw->n_pool >= K2S_POOL) {
		/* oldest out */
		cp = sw->pool[0];
		memmove(sw->pool, sw->pool + 1, (K2S_POOL - 1) * sizeof(*sw->pool));
		sw->n_pool--;
	} else if (k2_wstate_new(sw->vm, &cp)) {
		return;
	}
	if (k2_wstate_copy(cp, sw->st)) {
		k2_wstate_free(cp);
		return;
	}
	sw->pool[sw->n_pool++] = cp;
}

/* The cached counterexamples: the first on which the candidate differs, or -1. */
static int pool_refutes(struct k2_smt_window *sw, const struct bpf_insn *c, uint32_t n)
{
	char why[64];

	if (k2_window_set(sw->wc, sw->vm, c, n, NULL))
		return -1;
	for (uint32_t i = 0; i < sw->n_pool; i++) {
		k2_vm_wrun(sw->vm, sw->wo, sw->pool[i], &sw->out_o);
		k2_vm_wrun(sw->vm, sw->wc, sw->pool[i], &sw->out_c);
		if (sw->out_o.status == K2_RUN_OK && !wout_same(sw, &sw->out_o, &sw->out_c, why,
								  sizeof(why)))
			return (int)i;
	}
	return -1;
}

static int give_cex(struct k2_smt_window *sw, const struct k2_wstate *from, struct k2_vm *vm,
		    struct k2_wstate *cex, Z3_model m)
{
	(void)vm;
	if (!cex)
		return 0;
	if (m)
		return k2s_cex_wstate(sw, m, vm ? vm : sw->vm, cex);
	return k2_wstate_copy(cex, from);
}

/* The candidate spliced into the program, checked whole (opts.no_modular). */
static int whole(struct k2_smt_window *sw, const struct bpf_insn *c, uint32_t n,
		 enum k2_verdict *v, struct k2_err *e)
{
	const struct k2_prog *p = sw->an->prog;
	struct k2_edit ed = { sw->win.start, sw->win.end, c, n };
	struct k2_splice_opts so = { .sz = sizeof(so), .n_main = p->n_main };
	struct k2_prog q = *p;
	struct bpf_insn *ins = NULL;
	uint32_t nn = 0, nm = 0;
	int err = k2_splice(p->insns, p->n_insns, &ed, 1, &so, &ins, &nn, &nm, NULL, e);

	if (err)
		return err;
	q.insns = ins;
	q.n_insns = nn;
	q.n_main = nm;
	err = k2s_equiv_prog(sw->s, p, &q, v, NULL, e);
	free(ins);
	return err;
}

static int modular(struct k2_smt_window *sw, const struct bpf_insn *c, uint32_t n,
		   enum k2_verdict *v, struct k2_vm *vm, struct k2_wstate *cex, struct k2_err *e)
{
	struct k2_smt *s = sw->s;
	struct k2_arena *old = s->ar, ar = { 0 };
	struct k2_enc ec = { 0 };
	struct k2_terms q = { 0 };
	Z3_model m = NULL;
	Z3_lbool r;
	double t0 = k2s_now_ms();
	int err = 0;

	s->ar = &ar;
	s->oom = false;
	k2s_enc_run(&ec, sw->w, "cand", c, n, true);
	if (ec.refuse) {
		k2s_reason(s, "candidate insn %u: %s", ec.refuse_insn, ec.refuse);
		goto out;
	}
	for (uint32_t i = sw->mark.nax; i < sw->w->nax; i++)
		k2s_terms_add(s, &q, sw->w->ax[i]);
	k2s_terms_add(s, &q, b_not(s, k2s_unsup_any(&ec)));
	k2s_terms_add(s, &q, k2s_win_diff(sw, &sw->eo, &ec));
	s->st.encode_ms += k2s_now_ms() - t0;
	if (s->oom) {
		k2s_reason(s, "out of memory while encoding");
		goto out;
	}
	if (q.n && t_bool(s, q.v[q.n - 1]) == 0) {
		/* the difference folded away: equivalent without asking z3 */
		r = Z3_L_FALSE;
	} else {
		r = k2s_check(s, sw->so, q.v, q.n, &m);
	}
	if (r == Z3_L_UNDEF)
		goto out;
	if (r == Z3_L_FALSE) {
		Z3_ast u = k2s_unsup_any(&ec);

		q.n = 0;
		for (uint32_t i = sw->mark.nax; i < sw->w->nax; i++)
			k2s_terms_add(s, &q, sw->w->ax[i]);
		k2s_terms_add(s, &q, u);
		r = t_bool(s, u) == 0 ? Z3_L_FALSE : k2s_check(s, sw->so, q.v, q.n, &m);
		if (r == Z3_L_FALSE) {
			*v = K2_EQUIVALENT;
			k2s_reason(s, "z3");
		} else if (r == Z3_L_TRUE) {
			const struct k2_unsup *un = k2s_unsup_which(s, &ec, m);

			k2s_reason(s, "candidate insn %u: %s", un ? un->insn : 0,
				   un ? un->why : "not encoded");
		}
		goto out;
	}
	{
		char why[256];
		int d;

		err = k2s_cex_wstate(sw, m, sw->vm, sw->st);
		if (err) {
			k2s_reason(s, "counterexample could not be built (%d)", err);
			err = 0;
			goto out;
		}
		s->st.cex_replayed++;
		d = replay(sw, c, n, why, sizeof(why));
		if (d < 0) {
			err = k2_err_set(e, d, "replay failed");
			goto out;
		}
		if (d) {
			s->st.cex_confirmed++;
			*v = K2_DIFFERENT;
			k2s_reason(s, "z3 (counterexample replayed: %s)", why);
			pool_add(sw);
			if (cex && give_cex(sw, sw->st, vm, cex, m))
				k2s_reason(s, "z3 (counterexample not copied into the caller's "
					      "state)");
		} else {
			s->st.disagreements++;
			k2s_reason(s, "ENCODING DISAGREES WITH THE INTERPRETER: z3 found a state on "
				      "which window %u:%u and the candidate differ, but bpf/interp "
				      "runs them the same (%s) -- a bug in smt/",
				   sw->win.start, sw->win.end, why);
			fprintf(stderr, "k2 smt: %s\n", s->reason);
		}
	}
out:
	if (m)
		Z3_model_dec_ref(s->c, m);
	k2s_terms_free(&q);
	k2s_enc_free(&ec);
	k2s_world_reset(sw->w, &sw->mark);
	s->ar = old;
	k2s_arena_release(s, &ar, 0);
	free(ar.v);
	return err;
}

int k2_smt_window_equiv(struct k2_smt_window *sw, const struct bpf_insn *cand, uint32_t n,
			enum k2_verdict *v, struct k2_vm *vm, struct k2_wstate *cex,
			struct k2_err *e)
{
	struct k2_smt *s = sw->s;
	struct bpf_insn *canon = NULL;
	uint32_t nc = 0;
	struct k2_hash key;
	bool backward, maps, cached = false;
	int err, i;

	*v = K2_UNKNOWN;
	s->reason[0] = 0;
	s->st.queries++;
	err = cand_check(sw, cand, n, &backward, &maps, e);
	if (err)
		return err;
	if (sw->refuse[0]) {
		k2s_reason(s, "%s", sw->refuse);
		return 0;
	}
	if (backward) {
		k2s_reason(s, "the candidate jumps backward (a loop in a window)");
		return 0;
	}
	if (maps) {
		k2s_reason(s, "the candidate loads a map value address");
		return 0;
	}
	err = k2s_canon(cand, n, &canon, &nc);
	if (err)
		return k2_err_set(e, err, "out of memory");
	/* cheapest first: the original modulo nops, the cache (a hash), then the window's
	 * earlier counterexamples run in bpf/interp, and only then z3 */
	if (!s->o.no_prefilter && nc == sw->n_canon &&
	    !memcmp(canon, sw->canon, nc * sizeof(*canon))) {
		*v = K2_EQUIVALENT;
		s->st.prefilter_hits++;
		k2s_reason(s, "prefilter: the original modulo nops");
		goto out;
	}
	key = sw->key;
	k2s_hash_bytes(&key, canon, nc * sizeof(*canon));
	if (!s->o.no_cache && k2s_cache_get(s, &key, v)) {
		if (*v == K2_EQUIVALENT || !cex) {
			s->st.cache_hits++;
			k2s_reason(s, "cache");
			goto out;
		}
		cached = true; /* a difference, but the caller wants the counterexample */
	}
	if (!s->o.no_prefilter) {
		i = pool_refutes(sw, cand, n);
		if (i >= 0 && (!cex || !give_cex(sw, sw->pool[i], vm, cex, NULL))) {
			*v = K2_DIFFERENT;
			s->st.prefilter_hits++;
			k2s_reason(s, "prefilter: a cached counterexample");
			if (!s->o.no_cache && !cached)
				k2s_cache_put(s, &key, *v);
			goto out;
		}
	}
	if (s->o.no_modular)
		err = whole(sw, cand, n, v, e);
	else
		err = modular(sw, cand, n, v, vm, cex, e);
	if (!err && !s->o.no_cache && !cached && *v != K2_UNKNOWN)
		k2s_cache_put(s, &key, *v);
out:
	free(canon);
	return err;
}
