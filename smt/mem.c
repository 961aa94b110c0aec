/* smt/mem.c: memory as persistent chains of byte writes per object, merged at joins. */
#include <string.h>

#include "smt/smt_int.h"

/*
 * Each state holds, per memory object, the newest node of a chain of writes. A fork shares
 * the chain; a write prepends a node; a join adds a MERGE node whose two branches end at the
 * chains' last common node. A read walks from the newest node: a write to the same key
 * decides it (keys at constant distances from one base compare statically), a possible
 * match becomes an ite, and the root is the object's contents at entry. Writes on the path
 * to a read are therefore never guarded by path conditions; only joins introduce ites.
 */

Z3_ast k2s_key_off(struct k2_smt *s, const struct k2_mkey *k)
{
	Z3_ast c = t_n64(s, (uint64_t)k->oc);

	return k->osym ? t_add(s, k->osym, c) : c;
}

Z3_ast k2s_key_eq(struct k2_smt *s, const struct k2_mkey *a, const struct k2_mkey *b)
{
	Z3_ast e = s->tru;

	if (a->elem != b->elem) {
		if (!a->elem || !b->elem)
			return s->fls;
		e = b_eq(s, a->elem, b->elem);
		if (t_bool(s, e) == 0)
			return e;
	}
	if (a->osym == b->osym)
		return a->oc == b->oc ? e : s->fls;
	return b_and(s, e, b_eq(s, k2s_key_off(s, a), k2s_key_off(s, b)));
}

/*
 * Without offset concretization (opts.no_offset) the bytes of stack, packet, context and
 * map values are compared by offset terms z3 has to decide: nothing resolves statically,
 * so a read is an ite over every earlier write to its object, like a select from a chain
 * of array stores. Spill slots and element presence keep their static keys.
 */
static bool opaque_obj(const struct k2_enc *en, uint8_t obj)
{
	return en->s->o.no_offset && (obj < K2S_MO_SPILL || (obj >= K2S_MO_CTX &&
							     obj < en->w->mo_pres));
}

static Z3_ast raw_eq(struct k2_smt *s, Z3_ast a, Z3_ast b)
{
	return k2s_keep(s, Z3_mk_eq(s->c, a, b));
}

static Z3_ast opaque_key_eq(struct k2_smt *s, const struct k2_mkey *a, const struct k2_mkey *b)
{
	Z3_ast e = s->tru;

	if (a->elem != b->elem) {
		if (!a->elem || !b->elem)
			return s->fls;
		e = b_eq(s, a->elem, b->elem);
		if (t_bool(s, e) == 0)
			return e;
	}
	return b_and(s, e, raw_eq(s, k2s_key_off(s, a), k2s_key_off(s, b)));
}

/* Whether node n's write may cover key k (a term; false when it cannot). */
static Z3_ast node_match(struct k2_smt *s, const struct k2_mnode *n, const struct k2_mkey *k,
			 bool opaque)
{
	Z3_ast m;

	if (n->kind == K2S_N_BYTE) {
		m = opaque ? opaque_key_eq(s, &n->k, k) : k2s_key_eq(s, &n->k, k);
	} else {
		/* range: k.elem == n.elem and key - start < len (unsigned) */
		Z3_ast e = s->tru;
		uint64_t len;

		if (n->k.elem != k->elem) {
			if (!n->k.elem || !k->elem)
				return s->fls;
			e = b_eq(s, n->k.elem, k->elem);
		}
		if (!opaque && n->k.osym == k->osym && t_isnum(s, n->len, &len))
			m = (uint64_t)(k->oc - n->k.oc) < len ? e : s->fls;
		else
			m = b_and(s, e,
				  b_ult(s, t_sub(s, k2s_key_off(s, k), k2s_key_off(s, &n->k)),
					n->len));
	}
	if (n->guard && t_bool(s, m) != 0)
		m = b_and(s, m, n->guard);
	return m;
}

enum { C_VAL = 0, C_INIT = 1 };

struct rd {
	struct k2_enc *en;
	const struct k2_state *st;
	uint8_t obj;
	const struct k2_mkey *k;
	int comp;
	bool opaque;             /* opts.no_offset on this object */
};

struct lazy {
	struct k2_mnode *node, *stop;
	struct lazy *outer;
	Z3_ast v;
	const struct k2_sv *sv;
	bool done;
};

static Z3_ast comp_of(const struct k2_mnode *n, int comp)
{
	return comp == C_INIT ? n->init : n->val;
}

/* The object's contents at entry (see world.c for what each object starts as). */
static Z3_ast base_read(struct rd *r, const struct k2_sv **sv);

static bool may(struct rd *r, const struct k2_mnode *n, const struct k2_mnode *stop)
{
	struct k2_smt *s = r->en->s;

	for (; n != stop; n = n->next) {
		if (n->kind == K2S_N_MERGE) {
			if (may(r, n->a, n->next) || may(r, n->b, n->next))
				return true;
			continue;
		}
		if (comp_of(n, r->comp) && t_bool(s, node_match(s, n, r->k, r->opaque)) != 0)
			return true;
	}
	return false;
}

static Z3_ast walk(struct rd *r, struct k2_mnode *n, struct k2_mnode *stop, struct lazy *cont,
		   const struct k2_sv **sv);

static Z3_ast lazy_get(struct rd *r, struct lazy *l, const struct k2_sv **sv)
{
	if (!l)
		return base_read(r, sv);
	if (!l->done) {
		l->v = walk(r, l->node, l->stop, l->outer, &l->sv);
		l->done = true;
	}
	*sv = l->sv;
	return l->v;
}

static Z3_ast walk(struct rd *r, struct k2_mnode *n, struct k2_mnode *stop, struct lazy *cont,
		   const struct k2_sv **sv)
{
	struct k2_smt *s = r->en->s;

	for (; n != stop; n = n->next) {
		Z3_ast m, val, rest, a, b;
		const struct k2_sv *sa, *sb;

		if (n->kind == K2S_N_MERGE) {
			struct lazy c2 = { .node = n->next, .stop = stop, .outer = cont };

			if (!may(r, n->a, n->next) && !may(r, n->b, n->next))
				continue;
			a = walk(r, n->a, n->next, &c2, &sa);
			b = walk(r, n->b, n->next, &c2, &sb);
			*sv = sa == sb ? sa : NULL;
			return t_ite(s, n->g, a, b);
		}
		val = comp_of(n, r->comp);
		if (!val)
			continue;
		m = node_match(s, n, r->k, r->opaque);
		if (t_bool(s, m) == 0)
			continue;
		if (t_bool(s, m) == 1) {
			*sv = n->sv;
			return val;
		}
		rest = walk(r, n->next, stop, cont, &sa);
		*sv = NULL;
		return t_ite(s, m, val, rest);
	}
	return lazy_get(r, cont, sv);
}

/* ---- contents at entry ---------------------------------------------------------------- */

static Z3_ast stack_base(struct rd *r, const struct k2_sv **sv)
{
	struct k2_smt *s = r->en->s;
	struct k2_world *w = r->en->w;
	uint32_t f = r->obj < K2S_MO_SPILL ? r->obj - K2S_MO_STACK : r->obj - K2S_MO_SPILL;
	bool spill = r->obj >= K2S_MO_SPILL;
	uint64_t o;

	*sv = NULL;
	/* Frames of calls, and the whole program's first frame, start uninitialised. */
	if (!w->window || f != w->frame) {
		if (spill)
			return t_num(s, 8, K2_T_SCALAR);
		return r->comp == C_INIT ? s->fls : t_num(s, 8, 0);
	}
	if (r->opaque || r->k->osym || r->k->oc < 0 ||
	    r->k->oc >= (int64_t)(spill ? K2_STACK_SIZE / 8 : K2_STACK_SIZE)) {
		/* a symbolic key: the entry contents as a function of the key */
		Z3_ast key = k2s_key_off(s, r->k), v;

		if (spill) {
			v = t_num(s, 8, K2_T_SCALAR);
			for (uint32_t i = 0; i < K2_STACK_SIZE / 8; i++)
				if (w->spill0[i].set)
					v = t_ite(s, b_eq(s, key, t_n64(s, i)), w->spill0[i].sv.t, v);
			return v;
		}
		v = r->comp == C_INIT ? s->fls : t_num(s, 8, 0);
		for (uint32_t i = 0; i < K2_STACK_SIZE; i++) {
			Z3_ast b = r->comp == C_INIT ? w->sinit0[i] : w->sval0[i];

			if (b && !(r->comp == C_INIT && t_bool(s, b) == 0))
				v = t_ite(s, r->opaque ? raw_eq(s, key, t_n64(s, i))
						       : b_eq(s, key, t_n64(s, i)), b, v);
		}
		return v;
	}
	o = (uint64_t)r->k->oc;
	if (spill) {
		if (!w->spill0[o].set)
			return t_num(s, 8, K2_T_SCALAR);
		*sv = &w->spill0[o].sv;
		return w->spill0[o].sv.t;
	}
	if (r->comp == C_INIT)
		return w->sinit0[o] ? w->sinit0[o] : s->fls;
	return w->sval0[o] ? w->sval0[o] : t_num(s, 8, 0);
}

/*
 * A frozen data section (.rodata: an internal, read-only array with its initial bytes) holds
 * the object's bytes, not an input: the kernel loads them and freezes the map, and the
 * rewritten object keeps them. Its bytes are numerals (an ite for a symbolic offset into a
 * small one); NULL when the read is not of such a map or is left to the general encoding.
 */
static Z3_ast frozen_byte(struct rd *r, Z3_ast off)
{
	struct k2_world *w = r->en->w;
	struct k2_smt *s = w->s;
	const struct k2_map *d;
	int64_t m = -1;
	uint64_t x, o;
	Z3_ast v;

	if (w->n_mapobj > 1)
		m = r->obj - K2S_MO_MAPVAL;
	else if (!s->o.no_maptype)
		m = w->prog->n_maps == 1 ? 0 : -1;
	else if (r->k->elem && t_w(s, r->k->elem) == w->keyw + 8 &&
		 t_isnum(s, t_ext(s, r->k->elem, w->keyw + 7, w->keyw), &x))
		m = (int64_t)x;
	if (m < 0 || m >= (int64_t)w->prog->n_maps)
		return NULL;
	d = &w->prog->maps[m];
	if (!k2s_map_frozen(d))
		return NULL;
	if (t_isnum(s, off, &o))
		return o < d->value_size ? t_num(s, 8, d->init[o]) : NULL;
	if (d->value_size > 256)
		return NULL;
	v = k2s_ack(w, &w->mval0[w->n_mapobj == 1 ? 0 : m], r->k->elem, off);
	for (uint32_t i = 0; i < d->value_size; i++)
		v = t_ite(s, b_eq(s, off, t_n64(s, i)), t_num(s, 8, d->init[i]), v);
	return v;
}

static Z3_ast base_read(struct rd *r, const struct k2_sv **sv)
{
	struct k2_enc *en = r->en;
	struct k2_smt *s = en->s;
	struct k2_world *w = en->w;
	Z3_ast key;

	*sv = NULL;
	if (r->obj < K2S_MO_CTX)
		return stack_base(r, sv);
	if (r->comp == C_INIT)
		return s->tru;
	if (r->obj == K2S_MO_CTX) {
		uint64_t o;

		key = k2s_key_off(s, r->k);
		if (t_isnum(s, key, &o) && o < K2_CTX_MAX && w->ctxbyte[o])
			return w->ctxbyte[o];
		return k2s_ack(w, &w->ctx0, key, NULL);
	}
	if (r->obj == K2S_MO_PKT) {
		uint64_t o;

		key = k2s_key_off(s, r->k);
		if (w->window)
			return k2s_ack(w, &w->pkt0, key, NULL);
		/* whole program: input bytes inside [data0 - mlen, data0 + plen), zero around */
		if (t_isnum(s, key, &o) && (int64_t)o >= 0 && o < 14)
			return k2s_ack(w, &w->pkt0, key, NULL);
		return t_ite(s,
			     b_ult(s, t_add(s, key, w->mlen), t_add(s, w->mlen, w->plen)),
			     k2s_ack(w, &w->pkt0, key, NULL), t_num(s, 8, 0));
	}
	if (r->obj >= w->mo_pres)
		return k2s_pres_base(w, r->obj, r->k);
	/* map values */
	{
		uint32_t m = w->n_mapobj == 1 ? 0 : r->obj - K2S_MO_MAPVAL;
		Z3_ast off = k2s_key_off(s, r->k), v = frozen_byte(r, off);

		return v ? v : k2s_ack(w, &w->mval0[m], r->k->elem, off);
	}
}

/* ---- the interface ---------------------------------------------------------------------- */

void k2s_mem_read(struct k2_enc *en, const struct k2_state *st, uint8_t obj,
		  const struct k2_mkey *k, struct k2_mread *out)
{
	struct rd r = { .en = en, .st = st, .obj = obj, .k = k, .comp = C_VAL,
			.opaque = opaque_obj(en, obj) };
	const struct k2_sv *sv = NULL, *sv2;

	out->val = walk(&r, st->mem[obj], NULL, NULL, &sv);
	out->sv = sv;
	out->init = en->s->tru;
	if (obj < K2S_MO_SPILL) {
		r.comp = C_INIT;
		out->init = walk(&r, st->mem[obj], NULL, NULL, &sv2);
	}
}

static struct k2_mnode *node_new(struct k2_enc *en, struct k2_mnode *next)
{
	struct k2_mnode *n = k2s_alloc(en, sizeof(*n));

	if (!n)
		return NULL;
	memset(n, 0, sizeof(*n));
	n->next = next;
	n->depth = next ? next->depth + 1 : 1;
	return n;
}

void k2s_mem_write(struct k2_enc *en, struct k2_state *st, uint8_t obj, const struct k2_mkey *k,
		   Z3_ast val, Z3_ast init, Z3_ast guard, const struct k2_sv *sv)
{
	struct k2_mnode *n;

	if (guard && t_bool(en->s, guard) == 0)
		return;
	n = node_new(en, st->mem[obj]);
	if (!n)
		return;
	n->kind = K2S_N_BYTE;
	n->k = *k;
	n->val = val;
	n->init = init;
	n->guard = guard && t_bool(en->s, guard) == 1 ? NULL : guard;
	if (sv) {
		struct k2_sv *c = k2s_alloc(en, sizeof(*c));

		if (c) {
			*c = *sv;
			n->sv = c;
		}
	}
	st->mem[obj] = n;
}

void k2s_mem_range(struct k2_enc *en, struct k2_state *st, uint8_t obj, const struct k2_mkey *k,
		   Z3_ast len, Z3_ast val, Z3_ast init, Z3_ast guard)
{
	struct k2_mnode *n;
	uint64_t l;

	if ((guard && t_bool(en->s, guard) == 0) || (t_isnum(en->s, len, &l) && !l))
		return;
	n = node_new(en, st->mem[obj]);
	if (!n)
		return;
	n->kind = K2S_N_RANGE;
	n->k = *k;
	n->len = len;
	n->val = val;
	n->init = init;
	n->guard = guard && t_bool(en->s, guard) == 1 ? NULL : guard;
	st->mem[obj] = n;
}

struct k2_mnode *k2s_mem_merge(struct k2_enc *en, Z3_ast g, struct k2_mnode *a,
			       struct k2_mnode *b)
{
	struct k2_mnode *x = a, *y = b, *n;
	int gv = t_bool(en->s, g);

	if (a == b || gv == 1)
		return a;
	if (gv == 0)
		return b;
	while ((x ? x->depth : 0) > (y ? y->depth : 0))
		x = x->next;
	while ((y ? y->depth : 0) > (x ? x->depth : 0))
		y = y->next;
	while (x != y) {
		x = x->next;
		y = y->next;
	}
	n = node_new(en, x);
	if (!n)
		return a;
	n->kind = K2S_N_MERGE;
	n->g = g;
	n->a = a;
	n->b = b;
	return n;
}

static void spill_keys(struct k2_enc *en, const struct k2_mnode *n, const struct k2_mnode *stop,
		       int64_t *keys, uint32_t *nk, uint32_t max)
{
	for (; n != stop && *nk < max; n = n->next) {
		uint32_t i;

		if (n->kind == K2S_N_MERGE) {
			spill_keys(en, n->a, n->next, keys, nk, max);
			spill_keys(en, n->b, n->next, keys, nk, max);
			continue;
		}
		if (n->k.osym) {
			keys[(*nk)++] = -1; /* a symbolic key: the caller checks every slot */
			continue;
		}
		if (!n->sv)
			continue;
		for (i = 0; i < *nk && keys[i] != n->k.oc; i++)
			;
		if (i == *nk)
			keys[(*nk)++] = n->k.oc;
	}
}

void k2s_mem_spill_keys(struct k2_enc *en, const struct k2_mnode *n, int64_t *keys, uint32_t *nk,
			uint32_t max)
{
	spill_keys(en, n, NULL, keys, nk, max);
}
