/* smt/access.c: loads, stores, atomics and helper memory: regions, bounds, stack rules. */
#include <string.h>

#include "smt/smt_int.h"

#define ALL_TYPES ((uint16_t)((1u << K2_T__COUNT) - 1))

/* Keys keep "symbolic base + constant": constants move out of the base. */
static void key_norm(struct k2_smt *s, struct k2_mkey *k)
{
	uint64_t c;

	while (k->osym) {
		Z3_context z = s->c;
		Z3_app a;

		if (t_isnum(s, k->osym, &c)) {
			k->oc += (int64_t)c;
			k->osym = NULL;
			break;
		}
		if (Z3_get_ast_kind(z, k->osym) != Z3_APP_AST)
			break;
		a = Z3_to_app(z, k->osym);
		if (Z3_get_decl_kind(z, Z3_get_app_decl(z, a)) != Z3_OP_BADD ||
		    Z3_get_app_num_args(z, a) != 2 || !t_isnum(s, Z3_get_app_arg(z, a, 1), &c))
			break;
		k->oc += (int64_t)c;
		k->osym = Z3_get_app_arg(z, a, 0);
	}
}

static struct k2_mkey key_at(struct k2_smt *s, const struct k2_mkey *k, int64_t i)
{
	(void)s;
	struct k2_mkey r = *k;

	r.oc += i;
	return r;
}

/* Possible types of a type term: numerals and ites of numerals; anything else: all. */
static uint16_t tm_of(struct k2_smt *s, Z3_ast t, int depth)
{
	uint64_t x;
	Z3_context z = s->c;
	Z3_app a;

	if (t_isnum(s, t, &x))
		return x < K2_T__COUNT ? K2S_TM(x) : 0;
	if (depth > 8 || Z3_get_ast_kind(z, t) != Z3_APP_AST)
		return ALL_TYPES;
	a = Z3_to_app(z, t);
	if (Z3_get_decl_kind(z, Z3_get_app_decl(z, a)) != Z3_OP_ITE)
		return ALL_TYPES;
	return tm_of(s, Z3_get_app_arg(z, a, 1), depth + 1) |
	       tm_of(s, Z3_get_app_arg(z, a, 2), depth + 1);
}

static bool ro_map(const struct k2_map *m)
{
	return m->readonly || (m->flags & BPF_F_RDONLY_PROG) || m->type == BPF_MAP_TYPE_DEVMAP ||
	       m->type == BPF_MAP_TYPE_DEVMAP_HASH;
}

/*
 * Where an access of `size` bytes at p + off goes (p a pointer of static type t with its
 * view): the object, the first byte's key and the in-bounds condition, exactly as
 * k2_mem_resolve() decides. Accesses that would reach another frame or slot by wrapping
 * the offset are unsupported (the condition goes to en's unsupported list).
 */
static void resolve(struct k2_enc *en, struct k2_state *st, uint32_t pc, uint8_t t,
		    const struct k2_sv *p, int64_t off, uint64_t size, Z3_ast gc, uint8_t *obj,
		    struct k2_mkey *k, Z3_ast *ok)
{
	struct k2_smt *s = en->s;
	Z3_ast X, page, lo, hi, g = b_and(s, st->g, gc);

	k->elem = t == K2_T_MAP_VALUE ? p->elem : NULL;
	k->osym = p->osym;
	k->oc = p->oc + off;
	key_norm(s, k);
	X = k2s_key_off(s, k);
	*obj = p->obj;
	switch (t) {
	case K2_T_STACK: {
		uint32_t f = p->obj - K2S_MO_STACK;
		Z3_ast rel, oth, o;

		*ok = b_ule(s, X, t_n64(s, K2_STACK_SIZE - size));
		if (f > st->depth || size > K2_STACK_SIZE)
			*ok = s->fls;
		/* an offset that wraps past 2^32 lands in another frame (or nowhere) */
		rel = t_add(s, t_n64(s, (uint64_t)f << 32), X);
		o = t_zext(s, t_ext(s, rel, 31, 0), 64);
		oth = b_and(s, b_not(s, *ok),
			    b_and(s, b_ule(s, t_lshr(s, rel, t_n64(s, 32)), t_n64(s, st->depth)),
				  b_ule(s, o, t_n64(s, K2_STACK_SIZE - size))));
		if (size <= K2_STACK_SIZE)
			k2s_unsup(en, b_and(s, g, oth), pc, "stack access wraps into another frame");
		return;
	}
	case K2_T_PKT:
	case K2_T_PKT_META:
		lo = t == K2_T_PKT ? st->data : st->meta;
		hi = t == K2_T_PKT ? st->end : st->data;
		page = t_add(s, en->w->data0, X);
		*ok = b_and(s, b_and(s, b_ule(s, lo, page), b_ule(s, page, hi)),
			    b_ule(s, t_n64(s, size), t_sub(s, hi, page)));
		return;
	case K2_T_MAP_VALUE: {
		uint32_t vs;

		if (p->map < 0 || (uint32_t)p->map >= en->w->prog->n_maps) {
			k2s_unsup(en, g, pc, "map value pointer of unknown map");
			*ok = s->fls;
			return;
		}
		vs = en->w->prog->maps[p->map].value_size;
		*ok = size > vs ? s->fls : b_ule(s, X, t_n64(s, vs - size));
		k2s_unsup(en, b_and(s, g, b_ne(s, t_lshr(s, X, t_n64(s, 32)), t_n64(s, 0))), pc,
			  "map value access wraps into another element");
		return;
	}
	default:
		*ok = s->fls;
		return;
	}
}

/* Spill slot key of the byte at key k (stack). */
static struct k2_mkey slot_key(struct k2_smt *s, const struct k2_mkey *k)
{
	struct k2_mkey r = { 0 };

	if (!k->osym) {
		r.oc = k->oc >= 0 ? k->oc / 8 : -1 - (-k->oc - 1) / 8;
		return r;
	}
	r.osym = t_lshr(s, k2s_key_off(s, k), t_n64(s, 3));
	key_norm(s, &r);
	return r;
}

static Z3_ast is_scalar_t(struct k2_smt *s, Z3_ast t)
{
	return b_eq(s, t, t_num(s, 8, K2_T_SCALAR));
}

/* Stack: both spill slots an access touches and whether it spans two. */
static void spills(struct k2_enc *en, const struct k2_state *st, uint8_t obj,
		   const struct k2_mkey *k, uint64_t size, struct k2_mkey *s0, struct k2_mkey *s1,
		   struct k2_mread *r0, struct k2_mread *r1, Z3_ast *two)
{
	struct k2_smt *s = en->s;
	struct k2_mkey last = key_at(s, k, (int64_t)size - 1);
	uint8_t so = (uint8_t)(obj - K2S_MO_STACK + K2S_MO_SPILL);

	*s0 = slot_key(s, k);
	*s1 = slot_key(s, &last);
	*two = b_not(s, k2s_key_eq(s, s0, s1));
	k2s_mem_read(en, st, so, s0, r0);
	k2s_mem_read(en, st, so, s1, r1);
}

/* A load through a pointer of static type t (view p) at off; *out gets the value. */
static void load_region(struct k2_enc *en, struct k2_state *st, uint32_t pc, uint8_t t,
			const struct k2_sv *p, int16_t off, uint32_t size, bool sx, Z3_ast gc,
			struct k2_sv *out)
{
	struct k2_smt *s = en->s;
	struct k2_mkey k, s0, s1;
	struct k2_mread r, sp0, sp1;
	Z3_ast ok, bytes[8], init = s->tru, v, two, partial, type;
	uint8_t obj;

	resolve(en, st, pc, t, p, off, size, gc, &obj, &k, &ok);
	k2s_error(en, st, b_and(s, gc, b_not(s, ok)));
	if (t_bool(s, ok) == 0) {
		sv_scalar(s, out, t_n64(s, 0));
		return;
	}
	for (uint32_t i = 0; i < size; i++) {
		struct k2_mkey ki = key_at(s, &k, i);

		k2s_mem_read(en, st, obj, &ki, &r);
		bytes[i] = r.val;
		init = b_and(s, init, r.init);
	}
	v = t_bytes(s, bytes, size);
	if (sx)
		v = t_sext(s, v, 64);
	else
		v = t_zext(s, v, 64);
	if (t != K2_T_STACK) {
		sv_scalar(s, out, v);
		return;
	}
	k2s_error(en, st, b_and(s, gc, b_not(s, init)));
	spills(en, st, obj, &k, size, &s0, &s1, &sp0, &sp1, &two);
	partial = size != 8 || sx ? s->tru : two;
	k2s_error(en, st,
		  b_and(s, gc,
			b_and(s, partial,
			      b_or(s, b_not(s, is_scalar_t(s, sp0.val)),
				   b_not(s, is_scalar_t(s, sp1.val))))));
	type = t_ite(s, partial, t_num(s, 8, K2_T_SCALAR), sp0.val);
	if (t_bool(s, is_scalar_t(s, type)) == 1) {
		sv_scalar(s, out, v);
		return;
	}
	if (sp0.sv && sp0.sv->v == v && sp0.sv->t == type) {
		*out = *sp0.sv;
		return;
	}
	memset(out, 0, sizeof(*out));
	out->map = -1;
	out->v = v;
	out->t = type;
	out->tm = tm_of(s, type, 0);
	if (sp0.sv && sp0.sv->pt && !(out->tm & ~(K2S_TM(sp0.sv->pt) | K2S_TM(K2_T_SCALAR)))) {
		/* the one pointer type it may hold comes from that spill: keep its view */
		out->pt = sp0.sv->pt;
		out->obj = sp0.sv->obj;
		out->map = sp0.sv->map;
		out->elem = sp0.sv->elem;
		out->slot = sp0.sv->slot;
		out->osym = sp0.sv->osym;
		out->oc = sp0.sv->oc;
	}
}

/*
 * The region types a load or store is encoded against, and the condition of each. With
 * memory-type concretization (the default) these are the types the register may have; with
 * opts.no_memtype every access is encoded against every region, each guarded by an
 * unsimplified test of the type term, so z3 and not the encoder rules the others out.
 */
static uint16_t acc_tm(const struct k2_enc *en, const struct k2_sv *p)
{
	return en->s->o.no_memtype ? ALL_TYPES : p->tm;
}

static Z3_ast acc_is(struct k2_enc *en, const struct k2_sv *p, uint8_t t)
{
	struct k2_smt *s = en->s;

	if (!s->o.no_memtype)
		return sv_is(s, p, t);
	return k2s_keep(s, Z3_mk_eq(s->c, p->t, t_num(s, 8, t)));
}

/* The view of p as type t, or an unsupported condition when it has none. */
static bool view_of(struct k2_enc *en, struct k2_state *st, uint32_t pc, const struct k2_sv *p,
		    uint8_t t, Z3_ast gc, struct k2_sv *v)
{
	if (sv_view(en->w, st, p, t, v))
		return true;
	k2s_unsup(en, b_and(en->s, st->g, gc), pc, "memory access through a pointer of unknown "
						    "provenance");
	return false;
}

int k2s_load(struct k2_enc *en, struct k2_state *st, uint32_t pc, const struct k2_sv *p,
	     int16_t off, uint32_t size, bool sx, struct k2_sv *out)
{
	struct k2_smt *s = en->s;
	struct k2_sv res, acc, v;
	bool first = true;

	sv_scalar(s, &acc, t_n64(s, 0));
	for (uint8_t t = 0; t < K2_T__COUNT; t++) {
		Z3_ast gc;

		if (!(acc_tm(en, p) & K2S_TM(t)))
			continue;
		gc = acc_is(en, p, t);
		sv_scalar(s, &res, t_n64(s, 0));
		switch (t) {
		case K2_T_CTX: {
			Z3_ast base = p->pt == K2_T_CTX && p->tm != K2S_TM(t)
					      ? t_add(s, sv_anchor(en->w, p), sv_off(s, p))
					      : p->v;
			uint64_t b;

			/* the context needs its pointer unmodified and a constant offset */
			k2s_error(en, st, b_and(s, gc, b_ne(s, base, t_n64(s, K2S_CTXBASE))));
			if (sx || off < 0 || off >= K2_CTX_MAX) {
				k2s_error(en, st, gc);
				break;
			}
			if (!t_isnum(s, base, &b) || b != K2S_CTXBASE) {
				/* only reachable where the error above holds */
				break;
			}
			if (k2s_ctx_load(en, st, pc, (uint32_t)off, size, &res))
				return -1;
			break;
		}
		case K2_T_STACK:
		case K2_T_PKT:
		case K2_T_PKT_META:
		case K2_T_MAP_VALUE:
			if (view_of(en, st, pc, p, t, gc, &v))
				load_region(en, st, pc, t, &v, off, size, sx, gc, &res);
			break;
		default:
			k2s_error(en, st, gc);
			break;
		}
		if (first)
			acc = res;
		else
			sv_ite(s, gc, &res, &acc, &acc);
		first = false;
	}
	*out = acc;
	return 0;
}

static void store_region(struct k2_enc *en, struct k2_state *st, uint32_t pc, uint8_t t,
			 const struct k2_sv *p, int16_t off, uint32_t size,
			 const struct k2_sv *val, Z3_ast gc)
{
	struct k2_smt *s = en->s;
	struct k2_mkey k, s0, s1;
	struct k2_mread sp0, sp1;
	Z3_ast ok, two, partial, vscalar = sv_is(s, val, K2_T_SCALAR), guard;
	uint8_t obj;

	resolve(en, st, pc, t, p, off, size, gc, &obj, &k, &ok);
	k2s_error(en, st, b_and(s, gc, b_not(s, ok)));
	if (t_bool(s, ok) == 0)
		return;
	guard = t_bool(s, gc) == 1 ? NULL : gc;
	if (t == K2_T_MAP_VALUE && ro_map(&en->w->prog->maps[p->map]))
		k2s_error(en, st, gc);
	if (t != K2_T_STACK) {
		k2s_error(en, st, b_and(s, gc, b_not(s, vscalar)));
		for (uint32_t i = 0; i < size; i++) {
			struct k2_mkey ki = key_at(s, &k, i);

			k2s_mem_write(en, st, obj, &ki, t_byte(s, val->v, i), NULL, guard, NULL);
			k2s_wloc(en, obj, &ki, p->map, b_and(s, st->g, gc));
		}
		return;
	}
	spills(en, st, obj, &k, size, &s0, &s1, &sp0, &sp1, &two);
	partial = size != 8 ? s->tru : two;
	k2s_error(en, st, b_and(s, gc, b_and(s, partial, b_not(s, vscalar))));
	k2s_error(en, st,
		  b_and(s, gc,
			b_and(s, partial,
			      b_or(s, b_not(s, is_scalar_t(s, sp0.val)),
				   b_not(s, is_scalar_t(s, sp1.val))))));
	for (uint32_t i = 0; i < size; i++) {
		struct k2_mkey ki = key_at(s, &k, i);

		k2s_mem_write(en, st, obj, &ki, t_byte(s, val->v, i), s->tru, guard, NULL);
		k2s_wloc(en, obj, &ki, -1, b_and(s, st->g, gc));
	}
	k2s_mem_write(en, st, (uint8_t)(obj - K2S_MO_STACK + K2S_MO_SPILL), &s0, val->t, NULL,
		      guard, t_bool(s, vscalar) == 1 ? NULL : val);
	if (t_bool(s, two) != 0)
		k2s_mem_write(en, st, (uint8_t)(obj - K2S_MO_STACK + K2S_MO_SPILL), &s1,
			      t_num(s, 8, K2_T_SCALAR), NULL, guard ? b_and(s, guard, two) : two,
			      NULL);
	k2s_wloc(en, (uint8_t)(obj - K2S_MO_STACK + K2S_MO_SPILL), &s0, -1,
		 b_and(s, st->g, gc));
	if (t_bool(s, two) != 0)
		k2s_wloc(en, (uint8_t)(obj - K2S_MO_STACK + K2S_MO_SPILL), &s1, -1,
			 b_and(s, st->g, b_and(s, gc, two)));
}

int k2s_store(struct k2_enc *en, struct k2_state *st, uint32_t pc, const struct k2_sv *p,
	      int16_t off, uint32_t size, const struct k2_sv *val)
{
	struct k2_smt *s = en->s;
	struct k2_sv v;

	k2s_error(en, st, sv_is(s, val, K2_T_UNINIT));
	for (uint8_t t = 0; t < K2_T__COUNT; t++) {
		Z3_ast gc;

		if (!(acc_tm(en, p) & K2S_TM(t)))
			continue;
		gc = acc_is(en, p, t);
		switch (t) {
		case K2_T_CTX: {
			Z3_ast base = p->pt == K2_T_CTX && p->tm != K2S_TM(t)
					      ? t_add(s, sv_anchor(en->w, p), sv_off(s, p))
					      : p->v;
			uint64_t b;

			k2s_error(en, st, b_and(s, gc, b_ne(s, base, t_n64(s, K2S_CTXBASE))));
			k2s_error(en, st, b_and(s, gc, b_not(s, sv_is(s, val, K2_T_SCALAR))));
			if (off < 0 || off >= K2_CTX_MAX) {
				k2s_error(en, st, gc);
				break;
			}
			if (!t_isnum(s, base, &b) || b != K2S_CTXBASE)
				break;
			if (p->tm != K2S_TM(t)) {
				k2s_unsup(en, b_and(s, st->g, gc), pc,
					  "context store through a register of several types");
				break;
			}
			if (k2s_ctx_store(en, st, pc, (uint32_t)off, size, val->v))
				return -1;
			break;
		}
		case K2_T_STACK:
		case K2_T_PKT:
		case K2_T_PKT_META:
		case K2_T_MAP_VALUE:
			if (view_of(en, st, pc, p, t, gc, &v))
				store_region(en, st, pc, t, &v, off, size, val, gc);
			break;
		default:
			k2s_error(en, st, gc);
			break;
		}
	}
	return 0;
}

int k2s_atomic(struct k2_enc *en, struct k2_state *st, uint32_t pc, const struct bpf_insn *in,
	       enum k2_op op)
{
	struct k2_smt *s = en->s;
	const struct k2_opinfo *oi = k2_op_info(op);
	uint32_t size = oi->width / 8;
	struct k2_sv *p = &st->r[in->dst_reg], *src = &st->r[in->src_reg], old, nv, pp = *p;
	bool cmpx = oi->aluop == BPF_CMPXCHG;
	Z3_ast mask = t_n64(s, size == 8 ? ~0ull : 0xffffffffull), a, b, r;

	k2s_error(en, st, b_not(s, b_or(s, sv_is(s, p, K2_T_STACK), sv_is(s, p, K2_T_MAP_VALUE))));
	k2s_error(en, st, b_not(s, sv_is(s, src, K2_T_SCALAR)));
	if (cmpx)
		k2s_error(en, st, b_not(s, sv_is(s, &st->r[0], K2_T_SCALAR)));
	/* only the stack and map value cases matter: the others failed above */
	pp.tm &= K2S_TM(K2_T_STACK) | K2S_TM(K2_T_MAP_VALUE);
	if (!pp.tm)
		return 0;
	if (k2s_load(en, st, pc, &pp, in->off, size, false, &old))
		return -1;
	k2s_error(en, st, b_not(s, sv_is(s, &old, K2_T_SCALAR)));
	a = old.v;
	b = src->v;
	if (cmpx) {
		r = t_ite(s, b_eq(s, a, t_and(s, st->r[0].v, mask)), b, a);
	} else {
		switch (oi->aluop) {
		case BPF_ADD: r = t_add(s, a, b); break;
		case BPF_OR: r = t_or(s, a, b); break;
		case BPF_AND: r = t_and(s, a, b); break;
		case BPF_XOR: r = t_xor(s, a, b); break;
		default: r = b; break; /* BPF_XCHG */
		}
	}
	sv_scalar(s, &nv, t_and(s, r, mask));
	if (cmpx)
		sv_scalar(s, &st->r[0], a);
	if (k2s_store(en, st, pc, &pp, in->off, size, &nv))
		return -1;
	if (oi->flags & K2_F_FETCH)
		sv_scalar(s, &st->r[in->src_reg], a);
	return 0;
}

/* ---- helper memory -------------------------------------------------------------------- */

/* The one region a helper memory argument may be in, or false (error/unsupported noted). */
static bool helper_region(struct k2_enc *en, struct k2_state *st, uint32_t pc,
			  const struct k2_sv *p, uint8_t *t, struct k2_sv *v)
{
	struct k2_smt *s = en->s;
	uint16_t okm = K2S_TM(K2_T_STACK) | K2S_TM(K2_T_PKT) | K2S_TM(K2_T_PKT_META) |
		       K2S_TM(K2_T_MAP_VALUE);
	uint16_t m = p->tm & okm;

	k2s_error(en, st, b_not(s, b_or(s, b_or(s, sv_is(s, p, K2_T_STACK), sv_is(s, p, K2_T_PKT)),
					b_or(s, sv_is(s, p, K2_T_PKT_META),
					     sv_is(s, p, K2_T_MAP_VALUE)))));
	if (!m)
		return false;
	if (m & (m - 1)) {
		k2s_unsup(en, st->g, pc, "helper memory argument of several pointer types");
		return false;
	}
	*t = (uint8_t)__builtin_ctz(m);
	return view_of(en, st, pc, p, *t, sv_is(s, p, *t), v);
}

static int helper_mem(struct k2_enc *en, struct k2_state *st, uint32_t pc, const struct k2_sv *p,
		      uint32_t len, Z3_ast *bytes, bool write, Z3_ast guard)
{
	struct k2_smt *s = en->s;
	struct k2_sv v;
	struct k2_mkey k;
	struct k2_mread r;
	Z3_ast ok, gc, init = s->tru, g;
	uint8_t t, obj;

	if (!helper_region(en, st, pc, p, &t, &v))
		return 0;
	if (len > K2_PKT_BUF) {
		k2s_error(en, st, s->tru);
		return 0;
	}
	gc = sv_is(s, p, t);
	g = guard ? b_and(s, gc, guard) : gc;
	resolve(en, st, pc, t, &v, 0, len, g, &obj, &k, &ok);
	k2s_error(en, st, b_and(s, g, b_not(s, ok)));
	if (t_bool(s, ok) == 0)
		return 0;
	if (write && t == K2_T_MAP_VALUE && ro_map(&en->w->prog->maps[v.map]))
		k2s_error(en, st, g);
	for (uint32_t i = 0; i < len; i++) {
		struct k2_mkey ki = key_at(s, &k, i);

		if (write) {
			k2s_mem_write(en, st, obj, &ki, bytes[i], t == K2_T_STACK ? s->tru : NULL,
				      t_bool(s, g) == 1 ? NULL : g, NULL);
			k2s_wloc(en, obj, &ki, v.map, b_and(s, st->g, g));
			continue;
		}
		k2s_mem_read(en, st, obj, &ki, &r);
		bytes[i] = r.val;
		init = b_and(s, init, r.init);
	}
	if (t != K2_T_STACK)
		return 0;
	if (!write)
		k2s_error(en, st, b_and(s, g, b_not(s, init)));
	/* every spill slot touched: a read may not see a spilled pointer; a write makes them
	 * scalars */
	{
		struct k2_mkey s0 = slot_key(s, &k), kl = key_at(s, &k, (int64_t)len - 1);
		struct k2_mkey s1 = slot_key(s, &kl);
		uint8_t so = (uint8_t)(obj - K2S_MO_STACK + K2S_MO_SPILL);

		if (s0.osym || s1.osym) {
			k2s_unsup(en, b_and(s, st->g, g), pc,
				  "helper stack argument at a variable offset");
			return 0;
		}
		for (int64_t sl = s0.oc; sl <= s1.oc; sl++) {
			struct k2_mkey ks = { .oc = sl };

			if (write) {
				k2s_mem_write(en, st, so, &ks, t_num(s, 8, K2_T_SCALAR), NULL,
					      t_bool(s, g) == 1 ? NULL : g, NULL);
				k2s_wloc(en, so, &ks, -1, b_and(s, st->g, g));
				continue;
			}
			k2s_mem_read(en, st, so, &ks, &r);
			k2s_error(en, st, b_and(s, g, b_not(s, is_scalar_t(s, r.val))));
		}
	}
	return 0;
}

int k2s_helper_read(struct k2_enc *en, struct k2_state *st, uint32_t pc, const struct k2_sv *p,
		    uint32_t len, Z3_ast *bytes)
{
	for (uint32_t i = 0; i < len; i++)
		bytes[i] = t_num(en->s, 8, 0);
	return helper_mem(en, st, pc, p, len, bytes, false, NULL);
}

int k2s_helper_write(struct k2_enc *en, struct k2_state *st, uint32_t pc, const struct k2_sv *p,
		     uint32_t len, Z3_ast *bytes, Z3_ast guard)
{
	return helper_mem(en, st, pc, p, len, bytes, true, guard);
}

/* ---- the packet by page offset (helpers, legacy loads) ---------------------------------- */

static struct k2_mkey pkt_key(struct k2_enc *en, Z3_ast page_off)
{
	struct k2_mkey k = { 0 };

	k.osym = t_sub(en->s, page_off, en->w->data0);
	key_norm(en->s, &k);
	return k;
}

Z3_ast k2s_pkt_byte(struct k2_enc *en, const struct k2_state *st, Z3_ast page_off)
{
	struct k2_mkey k = pkt_key(en, page_off);
	struct k2_mread r;

	k2s_mem_read(en, st, K2S_MO_PKT, &k, &r);
	return r.val;
}

void k2s_pkt_write(struct k2_enc *en, struct k2_state *st, Z3_ast page_off, Z3_ast val,
		   Z3_ast guard)
{
	struct k2_mkey k = pkt_key(en, page_off);

	k2s_mem_write(en, st, K2S_MO_PKT, &k, val, NULL, guard, NULL);
	k2s_wloc(en, K2S_MO_PKT, &k, -1, guard ? b_and(en->s, st->g, guard) : st->g);
}

/* After a helper that moves packet bounds: packet pointers in registers, saved registers and
 * spill slots become uninitialised (spilled ones also make their 8 bytes uninitialised). */
void k2s_invalidate_pkt(struct k2_enc *en, struct k2_state *st)
{
	struct k2_smt *s = en->s;
	uint16_t pm = K2S_TM(K2_T_PKT) | K2S_TM(K2_T_PKT_END) | K2S_TM(K2_T_PKT_META);

	for (int i = 0; i < K2_NREGS; i++) {
		struct k2_sv *r = &st->r[i], u;

		if (!(r->tm & pm))
			continue;
		sv_uninit(s, &u);
		if (!(r->tm & ~pm)) {
			*r = u;
			continue;
		}
		sv_ite(s, b_or(s, b_or(s, sv_is(s, r, K2_T_PKT), sv_is(s, r, K2_T_PKT_END)),
			       sv_is(s, r, K2_T_PKT_META)),
		       &u, r, r);
	}
	for (uint8_t f = 0; f < st->depth; f++)
		for (int i = 0; i < 4; i++) {
			struct k2_sv *r = &st->fr[f].saved[i], u;

			if (!(r->tm & pm))
				continue;
			sv_uninit(s, &u);
			sv_ite(s, b_or(s, b_or(s, sv_is(s, r, K2_T_PKT), sv_is(s, r, K2_T_PKT_END)),
				       sv_is(s, r, K2_T_PKT_META)),
			       &u, r, r);
		}
	for (uint8_t f = 0; f <= st->depth; f++) {
		uint8_t so = (uint8_t)(K2S_MO_SPILL + f);
		int64_t keys[64];
		uint32_t nk = 0;
		bool all = false;

		k2s_mem_spill_keys(en, st->mem[so], keys, &nk, 64);
		if (en->w->window && f == en->w->frame)
			for (int i = 0; i < K2_STACK_SIZE / 8; i++)
				if (en->w->spill0[i].set && nk < 64)
					keys[nk++] = i;
		for (uint32_t i = 0; i < nk; i++)
			if (keys[i] < 0)
				all = true;
		if (all || nk >= 64) {
			nk = 0;
			for (int i = 0; i < K2_STACK_SIZE / 8; i++)
				keys[nk++] = i;
		}
		for (uint32_t i = 0; i < nk; i++) {
			struct k2_mkey ks = { .oc = keys[i] };
			struct k2_mread r;
			Z3_ast isp;

			k2s_mem_read(en, st, so, &ks, &r);
			isp = b_or(s, b_or(s, b_eq(s, r.val, t_num(s, 8, K2_T_PKT)),
					   b_eq(s, r.val, t_num(s, 8, K2_T_PKT_END))),
				   b_eq(s, r.val, t_num(s, 8, K2_T_PKT_META)));
			if (t_bool(s, isp) == 0)
				continue;
			k2s_mem_write(en, st, so, &ks, t_num(s, 8, K2_T_SCALAR), NULL, isp, NULL);
			k2s_wloc(en, so, &ks, -1, b_and(s, st->g, isp));
			for (int b = 0; b < 8; b++) {
				struct k2_mkey kb = { .oc = keys[i] * 8 + b };

				k2s_mem_write(en, st, (uint8_t)(K2S_MO_STACK + f), &kb, NULL, s->fls,
					      isp, NULL);
				k2s_wloc(en, (uint8_t)(K2S_MO_STACK + f), &kb, -1,
					 b_and(s, st->g, isp));
			}
		}
	}
}
