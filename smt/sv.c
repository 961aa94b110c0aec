/* smt/sv.c: symbolic registers: values, types, pointer views, and their merges. */
#include <string.h>

#include "smt/smt_int.h"

static Z3_ast tnum(struct k2_smt *s, uint8_t t)
{
	return t_num(s, 8, t);
}

void sv_scalar(struct k2_smt *s, struct k2_sv *r, Z3_ast v)
{
	memset(r, 0, sizeof(*r));
	r->v = v;
	r->t = tnum(s, K2_T_SCALAR);
	r->tm = K2S_TM(K2_T_SCALAR);
	r->map = -1;
}

void sv_uninit(struct k2_smt *s, struct k2_sv *r)
{
	memset(r, 0, sizeof(*r));
	r->v = t_n64(s, 0);
	r->t = tnum(s, K2_T_UNINIT);
	r->tm = K2S_TM(K2_T_UNINIT);
	r->map = -1;
}

Z3_ast sv_off(struct k2_smt *s, const struct k2_sv *r)
{
	Z3_ast c = t_n64(s, (uint64_t)r->oc);

	return r->osym ? t_add(s, r->osym, c) : c;
}

Z3_ast sv_anchor(struct k2_world *w, const struct k2_sv *r)
{
	struct k2_smt *s = w->s;

	switch (r->pt) {
	case K2_T_STACK:
		return t_n64(s, K2_ADDR(K2_RGN_STACK, r->obj - K2S_MO_STACK, 0));
	case K2_T_CTX:
		return t_n64(s, K2S_CTXBASE);
	case K2_T_PKT:
	case K2_T_PKT_META:
	case K2_T_PKT_END:
		return t_add(s, t_n64(s, K2S_PKTBASE), w->data0);
	case K2_T_MAP_VALUE:
		return t_add(s, t_n64(s, K2_ADDR(K2_RGN_MAPVAL, 0, 0)),
			     t_shl(s, t_zext(s, r->slot, 64), t_n64(s, 32)));
	case K2_T_MAP:
		return t_n64(s, K2_ADDR(K2_RGN_MAP, (uint32_t)r->map, 0));
	default:
		return t_n64(s, 0);
	}
}

void sv_ptr(struct k2_world *w, struct k2_sv *r, uint8_t pt, uint8_t obj, int16_t map,
	    Z3_ast elem, Z3_ast slot, Z3_ast osym, int64_t oc)
{
	struct k2_smt *s = w->s;

	memset(r, 0, sizeof(*r));
	r->pt = pt;
	r->obj = obj;
	r->map = map;
	r->elem = elem;
	r->slot = slot;
	r->osym = osym;
	r->oc = oc;
	r->t = tnum(s, pt);
	r->tm = K2S_TM(pt);
	r->v = t_add(s, sv_anchor(w, r), sv_off(s, r));
}

Z3_ast sv_is(struct k2_smt *s, const struct k2_sv *r, uint8_t t)
{
	if (!(r->tm & K2S_TM(t)))
		return s->fls;
	if (r->tm == K2S_TM(t))
		return s->tru;
	return b_eq(s, r->t, tnum(s, t));
}

bool sv_same(const struct k2_sv *a, const struct k2_sv *b)
{
	return a->v == b->v && a->t == b->t && a->tm == b->tm && a->pt == b->pt &&
	       a->obj == b->obj && a->map == b->map && a->elem == b->elem && a->slot == b->slot &&
	       a->osym == b->osym && a->oc == b->oc && a->nullable == b->nullable &&
	       a->ver == b->ver;
}

/* Whether "t == SCALAR implies v == 0" holds for r. */
static bool null_ok(struct k2_smt *s, const struct k2_sv *r)
{
	uint64_t x;

	if (r->nullable || !(r->tm & K2S_TM(K2_T_SCALAR)))
		return true;
	return r->tm == K2S_TM(K2_T_SCALAR) && t_isnum(s, r->v, &x) && x == 0;
}

static bool same_view(const struct k2_sv *a, const struct k2_sv *b)
{
	return a->pt == b->pt && a->obj == b->obj && a->map == b->map;
}

void sv_ite(struct k2_smt *s, Z3_ast c, const struct k2_sv *a, const struct k2_sv *b,
	    struct k2_sv *out)
{
	struct k2_sv r;
	int cv = t_bool(s, c);

	if (cv == 1 || sv_same(a, b)) {
		*out = *a;
		return;
	}
	if (cv == 0) {
		*out = *b;
		return;
	}
	memset(&r, 0, sizeof(r));
	r.map = -1;
	r.v = t_ite(s, c, a->v, b->v);
	r.t = t_ite(s, c, a->t, b->t);
	r.tm = a->tm | b->tm;
	r.nullable = null_ok(s, a) && null_ok(s, b) && (r.tm & K2S_TM(K2_T_SCALAR)) &&
		     r.tm != K2S_TM(K2_T_SCALAR);
	/* A view is valid whenever t is its type: keep it if the other side agrees or never
	 * has that type. */
	if (a->pt && b->pt && same_view(a, b)) {
		r.pt = a->pt;
		r.obj = a->obj;
		r.map = a->map;
		if (a->elem && b->elem && t_w(s, a->elem) == t_w(s, b->elem))
			r.elem = t_ite(s, c, a->elem, b->elem);
		if (a->slot && b->slot)
			r.slot = t_ite(s, c, a->slot, b->slot);
		if (a->ver && b->ver)
			r.ver = t_ite(s, c, a->ver, b->ver);
		if (a->osym == b->osym) {
			r.osym = a->osym;
			r.oc = a->oc;
			if (a->oc != b->oc) {
				r.osym = t_ite(s, c, sv_off(s, a), sv_off(s, b));
				r.oc = 0;
			}
		} else {
			r.osym = t_ite(s, c, sv_off(s, a), sv_off(s, b));
			r.oc = 0;
		}
		if ((a->pt == K2_T_MAP_VALUE) && (!r.elem || !r.slot))
			r.pt = 0;
	} else if (a->pt && !(b->tm & K2S_TM(a->pt))) {
		r.pt = a->pt;
		r.obj = a->obj;
		r.map = a->map;
		r.elem = a->elem;
		r.slot = a->slot;
		r.ver = a->ver;
		r.osym = a->osym;
		r.oc = a->oc;
	} else if (b->pt && !(a->tm & K2S_TM(b->pt))) {
		r.pt = b->pt;
		r.obj = b->obj;
		r.map = b->map;
		r.elem = b->elem;
		r.slot = b->slot;
		r.ver = b->ver;
		r.osym = b->osym;
		r.oc = b->oc;
	}
	*out = r;
}

bool sv_view(struct k2_world *w, const struct k2_state *st, const struct k2_sv *r, uint8_t t,
	     struct k2_sv *out)
{
	struct k2_smt *s = w->s;
	uint64_t x;
	Z3_ast rel;

	(void)st;
	if (r->pt == t) {
		*out = *r;
		out->t = t_num(s, 8, t);
		out->tm = K2S_TM(t);
		out->nullable = false;
		if (r->tm != K2S_TM(t))
			out->v = t_add(s, sv_anchor(w, r), sv_off(s, r));
		return true;
	}
	/* Derived from the value: exact for regions whose anchor the value shows. */
	switch (t) {
	case K2_T_STACK:
		rel = t_sub(s, r->v, t_n64(s, K2_ADDR(K2_RGN_STACK, 0, 0)));
		if (!t_isnum(s, t_lshr(s, rel, t_n64(s, 32)), &x) || x >= K2_MAX_FRAMES)
			return false;
		sv_ptr(w, out, K2_T_STACK, (uint8_t)(K2S_MO_STACK + x), -1, NULL, NULL,
		       t_sub(s, r->v, t_n64(s, K2_ADDR(K2_RGN_STACK, (uint32_t)x, 0))), 0);
		break;
	case K2_T_CTX:
		sv_ptr(w, out, K2_T_CTX, K2S_MO_CTX, -1, NULL, NULL,
		       t_sub(s, r->v, t_n64(s, K2S_CTXBASE)), 0);
		break;
	case K2_T_PKT:
	case K2_T_PKT_META:
	case K2_T_PKT_END:
		sv_ptr(w, out, t, K2S_MO_PKT, -1, NULL, NULL,
		       t_sub(s, r->v, t_add(s, t_n64(s, K2S_PKTBASE), w->data0)), 0);
		break;
	case K2_T_MAP:
		if (!t_isnum(s, r->v, &x) || K2_ADDR_IDX(x) >= w->prog->n_maps)
			return false;
		sv_ptr(w, out, K2_T_MAP, 0, (int16_t)K2_ADDR_IDX(x), NULL, NULL, NULL, 0);
		break;
	default:
		return false;
	}
	/* the value is the register's own, not the anchor's rebuild */
	out->v = r->v;
	if (out->osym && t_isnum(s, out->osym, &x)) {
		out->oc = (int64_t)x;
		out->osym = NULL;
	}
	return true;
}
