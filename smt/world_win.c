/* smt/world_win.c: a window's entry state from its precondition (types, bounds, stack). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smt/smt_int.h"

/* Variables shared by values the analysis knows equal (same nonzero id). */
struct idvar {
	uint32_t id;
	Z3_ast v;
};

struct wctx {
	struct k2_world *w;
	struct idvar ids[128];
	uint32_t n_ids;
	struct k2_err *e;
};

static int refuse(struct wctx *c, const char *fmt, int r)
{
	char buf[160];

	snprintf(buf, sizeof(buf), fmt, r);
	return k2_err_set(c->e, -EOPNOTSUPP, "%s", buf);
}

/* The constraints a k2_aval puts on a 64-bit value (known bits and the bounds). */
static void bounds(struct wctx *c, const struct k2_aval *a, Z3_ast x)
{
	struct k2_smt *s = c->w->s;
	Z3_ast x32 = t_ext(s, x, 31, 0);

	if (s->o.no_bounds)
		return;
	if (~a->var.mask)
		k2s_axiom(c->w, b_eq(s, t_and(s, x, t_n64(s, ~a->var.mask)),
				     t_n64(s, a->var.value & ~a->var.mask)));
	k2s_axiom(c->w, b_ule(s, t_n64(s, a->umin), x));
	k2s_axiom(c->w, b_ule(s, x, t_n64(s, a->umax)));
	k2s_axiom(c->w, b_sle(s, t_n64(s, (uint64_t)a->smin), x));
	k2s_axiom(c->w, b_sle(s, x, t_n64(s, (uint64_t)a->smax)));
	k2s_axiom(c->w, b_ule(s, t_num(s, 32, a->u32min), x32));
	k2s_axiom(c->w, b_ule(s, x32, t_num(s, 32, a->u32max)));
	k2s_axiom(c->w, b_sle(s, t_num(s, 32, (uint32_t)a->s32min), x32));
	k2s_axiom(c->w, b_sle(s, x32, t_num(s, 32, (uint32_t)a->s32max)));
}

/* The variable part (scalar value, or a pointer's variable offset) of an abstract value. */
static Z3_ast var_of(struct wctx *c, const struct k2_aval *a, const char *name)
{
	struct k2_smt *s = c->w->s;
	Z3_ast x;

	if (!a->var.mask)
		return t_n64(s, a->var.value);
	if (a->id)
		for (uint32_t i = 0; i < c->n_ids; i++)
			if (c->ids[i].id == a->id)
				return c->ids[i].v;
	x = t_fresh(s, name, 64);
	bounds(c, a, x);
	if (a->id && c->n_ids < sizeof(c->ids) / sizeof(c->ids[0]))
		c->ids[c->n_ids++] = (struct idvar){ a->id, x };
	return x;
}

static Z3_ast elem_slot(struct wctx *c, int32_t map, uint32_t id)
{
	struct k2_world *w = c->w;
	struct k2_smt *s = w->s;
	struct k2_elem *el;

	if (id)
		for (uint32_t i = 0; i < w->n_elems; i++)
			if (w->elems[i].aval_id == id && w->elems[i].map == map)
				return w->elems[i].slot;
	if (w->n_elems == w->cap_elems) {
		uint32_t cap = w->cap_elems ? w->cap_elems * 2 : 8;
		struct k2_elem *v = realloc(w->elems, cap * sizeof(*v));

		if (!v) {
			s->oom = true;
			return t_fresh(s, "slot", 12);
		}
		w->elems = v;
		w->cap_elems = cap;
	}
	el = &w->elems[w->n_elems++];
	el->map = map;
	el->aval_id = id;
	el->slot = t_fresh(s, "slot", 12);
	/* elements of different maps are different slots */
	for (uint32_t i = 0; i + 1 < w->n_elems; i++)
		if (w->elems[i].map != map)
			k2s_axiom(w, b_ne(s, w->elems[i].slot, el->slot));
	return el->slot;
}

static int aval_sv(struct wctx *c, const struct k2_aval *a, const char *name, int r,
		   struct k2_sv *out)
{
	struct k2_world *w = c->w;
	struct k2_smt *s = w->s;
	Z3_ast slot, off;
	uint8_t pt = 0;

	switch (a->type) {
	case K2_VT_NOT_INIT:
		sv_uninit(s, out);
		return 0;
	case K2_VT_SCALAR:
		sv_scalar(s, out, var_of(c, a, name));
		break;
	case K2_VT_PTR_CTX:
		pt = K2_T_CTX;
		sv_ptr(w, out, pt, K2S_MO_CTX, -1, NULL, NULL, NULL, a->off);
		break;
	case K2_VT_PTR_STACK:
		if (a->frame)
			return refuse(c, "r%d points into a caller's frame", r);
		pt = K2_T_STACK;
		sv_ptr(w, out, pt, K2S_MO_STACK, -1, NULL, NULL, NULL, K2_STACK_SIZE + a->off);
		break;
	case K2_VT_PTR_PKT:
	case K2_VT_PTR_PKT_META:
	case K2_VT_PTR_PKT_END:
		pt = a->type == K2_VT_PTR_PKT	   ? K2_T_PKT
		     : a->type == K2_VT_PTR_PKT_END ? K2_T_PKT_END
						    : K2_T_PKT_META;
		off = pt == K2_T_PKT ? NULL : t_sub(s, pt == K2_T_PKT_END ? w->end0 : w->meta0,
						    w->data0);
		sv_ptr(w, out, pt, K2S_MO_PKT, -1, NULL, NULL, off, 0);
		break;
	case K2_VT_PTR_MAP:
		if (a->map < 0)
			return refuse(c, "r%d is one of several maps", r);
		pt = K2_T_MAP;
		sv_ptr(w, out, pt, 0, (int16_t)a->map, NULL, NULL, NULL, 0);
		return 0;
	case K2_VT_PTR_MAP_VALUE:
	case K2_VT_PTR_MAP_VALUE_OR_NULL:
		if (a->map < 0 || (uint32_t)a->map >= w->prog->n_maps)
			return refuse(c, "r%d points into one of several maps", r);
		pt = K2_T_MAP_VALUE;
		slot = elem_slot(c, a->map, a->id);
		sv_ptr(w, out, pt, k2s_mo_val(w, (uint32_t)a->map), (int16_t)a->map,
		       k2s_map_elem(w, (uint32_t)a->map, slot), slot, NULL, a->off);
		break;
	default:
		return refuse(c, "r%d has a type the encoding does not model", r);
	}
	if (pt && pt != K2_T_MAP && pt != K2_T_PKT_END) {
		/* the variable offset: part of the view and of the value */
		struct k2_aval v = *a;
		Z3_ast vpart;

		v.type = K2_VT_SCALAR;
		vpart = var_of(c, &v, name);
		if (a->var.mask) {
			out->osym = out->osym ? t_add(s, out->osym, vpart) : vpart;
			out->v = t_add(s, out->v, vpart);
		} else if (a->var.value) {
			out->oc += (int64_t)a->var.value;
			out->v = t_add(s, out->v, vpart);
		}
		if ((pt == K2_T_PKT || pt == K2_T_PKT_META) && a->range) {
			/* [base + var, + range) lies inside [data, data_end) (meta: [meta, data)) */
			Z3_ast base = pt == K2_T_PKT ? w->data0 : w->meta0;
			Z3_ast lim = pt == K2_T_PKT ? w->end0 : w->data0;

			k2s_axiom(w, b_ule(s, t_add(s, t_add(s, base, vpart), t_n64(s, a->range)),
					   lim));
		}
	}
	if (a->type == K2_VT_PTR_MAP_VALUE_OR_NULL || (a->maybe_null && pt)) {
		Z3_ast found = t_fresh(s, "nonnull", 0);

		out->v = t_ite(s, found, out->v, t_n64(s, 0));
		out->t = t_ite(s, found, out->t, t_num(s, 8, K2_T_SCALAR));
		out->tm |= K2S_TM(K2_T_SCALAR);
		out->nullable = true;
	}
	if (a->maybe_uninit) {
		Z3_ast u = t_fresh(s, "uninit", 0);

		out->t = t_ite(s, u, t_num(s, 8, K2_T_UNINIT), out->t);
		out->tm |= K2S_TM(K2_T_UNINIT);
	}
	return 0;
}

int k2s_world_window(struct k2_world *w, const struct k2_analysis *an, const struct k2_win *win,
		     struct k2_err *e)
{
	struct k2_smt *s = w->s;
	struct k2_astate *pre = malloc(sizeof(*pre));
	struct wctx *c = calloc(1, sizeof(*c));
	char name[32];
	int err = 0;

	if (!pre || !c) {
		err = k2_err_set(e, -ENOMEM, "out of memory");
		goto out;
	}
	c->w = w;
	c->e = e;
	err = k2_win_precond(an, win, pre);
	if (err || !pre->reachable) {
		err = k2_err_set(e, -EINVAL, "window %u:%u: no state at its start", win->start,
				 win->end);
		goto out;
	}
	w->frame = 0;
	w->data0 = t_fresh(s, "data", 64);
	w->meta0 = t_fresh(s, "data_meta", 64);
	w->end0 = t_fresh(s, "data_end", 64);
	w->mlen = t_sub(s, w->data0, w->meta0);
	w->plen = t_sub(s, w->end0, w->data0);
	k2s_axiom(w, b_ule(s, t_n64(s, K2_XDP_FRAME_SZ), w->meta0));
	k2s_axiom(w, b_ule(s, w->meta0, w->data0));
	k2s_axiom(w, b_ule(s, w->data0, w->end0));
	k2s_axiom(w, b_ule(s, w->end0, t_n64(s, K2_PKT_BUF - K2_PKT_TAILROOM)));
	k2s_axiom(w, b_ule(s, t_add(s, w->data0, t_n64(s, pre->pkt_min)), w->end0));
	for (int r = 0; r < K2_NREGS && !err; r++) {
		snprintf(name, sizeof(name), "r%d", r);
		if (r == K2_REG_FP)
			sv_ptr(w, &w->regs0[r], K2_T_STACK, K2S_MO_STACK, -1, NULL, NULL, NULL,
			       K2_STACK_SIZE);
		else if (win->live_in >> r & 1)
			err = aval_sv(c, &pre->regs[r], name, r, &w->regs0[r]);
		else
			sv_uninit(s, &w->regs0[r]);
	}
	for (int sl = 0; sl < K2_STACK_SLOTS && !err; sl++) {
		const struct k2_slot *ps = &pre->stack[sl];
		int first = -1;

		for (int b = 0; b < 8; b++)
			if (ps->bytes[b] == K2_SB_SPILL && first < 0)
				first = b;
		if (first >= 0) {
			snprintf(name, sizeof(name), "fp%d", sl * 8 - K2_STACK_SIZE);
			err = aval_sv(c, &ps->spill, name, -1, &w->spill0[sl].sv);
			if (err)
				break;
			w->spill0[sl].set = ps->spill.type != K2_VT_SCALAR;
			if (w->spill0[sl].set && first != 0) {
				err = k2_err_set(e, -EOPNOTSUPP, "fp%d: misaligned spilled pointer",
						 sl * 8 - K2_STACK_SIZE);
				break;
			}
		}
		for (int b = 0; b < 8; b++) {
			int a = sl * 8 + b;

			switch (ps->bytes[b]) {
			case K2_SB_MISC:
				snprintf(name, sizeof(name), "fp%d", a - K2_STACK_SIZE);
				w->sinit0[a] = s->tru;
				w->sval0[a] = t_fresh(s, name, 8);
				break;
			case K2_SB_ZERO:
				w->sinit0[a] = s->tru;
				w->sval0[a] = t_num(s, 8, 0);
				break;
			case K2_SB_SPILL:
				w->sinit0[a] = s->tru;
				w->sval0[a] = t_byte(s, w->spill0[sl].sv.v, (unsigned)(b - first));
				break;
			default:
				break;
			}
		}
	}
	if (err)
		k2_err_prefix(e, "window %u:%u: ", win->start, win->end);
out:
	free(pre);
	free(c);
	return err;
}
