/* smt/call.c: helper calls: argument checks from the signatures, then one model per helper. */
#include <stdlib.h>
#include <string.h>

#include "smt/smt_int.h"

#define XDP_ABORTED_ 0
#define XDP_REDIRECT_ 4
#define TC_ACT_SHOT_ 2
#define TC_ACT_REDIRECT_ 7

static struct k2_smt *S(struct k2_hc *c)
{
	return c->en->s;
}

static void fail(struct k2_hc *c, Z3_ast cond)
{
	k2s_error(c->en, c->st, cond);
}

static void unsup(struct k2_hc *c, Z3_ast cond, const char *why)
{
	k2s_unsup(c->en, b_and(S(c), c->st->g, cond), c->pc, why);
}

/* ---- effects ---------------------------------------------------------------------------- */

void k2s_effect(struct k2_hc *c, Z3_ast g, Z3_ast *data, uint32_t n)
{
	struct k2_enc *en = c->en;
	struct k2_smt *s = S(c);
	struct k2_eff *e;

	if (t_bool(s, g) == 0)
		return;
	if (en->n_eff == en->cap_eff) {
		uint32_t cap = en->cap_eff ? en->cap_eff * 2 : 8;
		struct k2_eff *v = realloc(en->eff, cap * sizeof(*v));

		if (!v) {
			k2s_refuse(en, c->pc, "out of memory");
			return;
		}
		en->eff = v;
		en->cap_eff = cap;
	}
	e = &en->eff[en->n_eff++];
	memset(e, 0, sizeof(*e));
	e->g = b_and(s, c->st->g, g);
	e->pos = c->st->neff;
	e->helper = c->id;
	for (int i = 0; i < 5; i++)
		e->args[i] = t_ite(s, sv_is(s, &c->a[i], K2_T_SCALAR), c->a[i].v, t_n64(s, 0));
	e->ret = c->ret;
	if (n) {
		e->data = k2s_alloc(en, n * sizeof(*e->data));
		if (e->data)
			memcpy(e->data, data, n * sizeof(*data));
		e->n_data = e->data ? n : 0;
	}
	c->st->neff = t_add(s, c->st->neff, t_ite(s, g, t_num(s, 32, 1), t_num(s, 32, 0)));
}

/* ---- argument checks (bpf/helper_model.c check_args) ---------------------------------------- */

static void arg_scalar(struct k2_hc *c, int i)
{
	fail(c, b_not(S(c), sv_is(S(c), &c->a[i], K2_T_SCALAR)));
}

/* A numeral argument (sizes, flags the encoding needs constant); false if symbolic. */
static bool arg_num(struct k2_hc *c, int i, uint64_t *v, const char *why)
{
	if (c->a[i].tm == K2S_TM(K2_T_SCALAR) && t_isnum(S(c), c->a[i].v, v))
		return true;
	unsup(c, sv_is(S(c), &c->a[i], K2_T_SCALAR), why);
	return false;
}

static int arg_mem(struct k2_hc *c, int i, uint64_t len, bool write)
{
	Z3_ast *b = k2s_alloc(c->en, (len ? len : 1) * sizeof(*b));

	if (!b)
		return -1;
	c->rd[i] = b;
	c->len[i] = (uint32_t)len;
	if (write) {
		/* the buffer becomes initialised; the model fills it (zero until then) */
		for (uint64_t k = 0; k < len; k++)
			b[k] = t_num(S(c), 8, 0);
		return 0;
	}
	return k2s_helper_read(c->en, c->st, c->pc, &c->a[i], (uint32_t)len, b);
}

static int arg_sized(struct k2_hc *c, int i, uint8_t kind, bool *skip)
{
	struct k2_smt *s = S(c);
	uint8_t sk = i + 1 < 5 ? c->h->args[i + 1] : K2_ARG_NONE;
	bool or_null = kind == K2_ARG_MEM_OR_NULL;
	struct k2_sv *p = &c->a[i];
	uint64_t len;

	*skip = false;
	arg_scalar(c, i + 1);
	if (!arg_num(c, i + 1, &len, "helper memory size that depends on the input")) {
		*skip = true;
		return 0;
	}
	/* no region is larger than the packet's page, and a frame holds K2_STACK_SIZE: the
	 * interpreter fails such a call whatever the pointer, and encoding its bytes one by
	 * one would take minutes (a mutated size of 95946969 did) */
	if (len >= (1u << 29) || (sk == K2_ARG_SIZE && len == 0) || len > K2_PKT_BUF ||
	    (len > K2_STACK_SIZE && p->tm == K2S_TM(K2_T_STACK))) {
		fail(c, s->tru);
		*skip = true;
		return 0;
	}
	c->len[i] = (uint32_t)len;
	if (or_null && p->tm == K2S_TM(K2_T_SCALAR)) {
		/* NULL with size 0 passes; any other scalar fails in the memory check, and so
		 * does NULL with a size (no bytes to give the model) */
		fail(c, b_or(s, b_ne(s, p->v, t_n64(s, 0)), len ? s->tru : s->fls));
		c->rd[i] = NULL;
		*skip = len != 0;
		return 0;
	}
	if (or_null && (p->tm & K2S_TM(K2_T_SCALAR))) {
		unsup(c, s->tru, "helper memory argument that may or may not be NULL");
		*skip = true;
		return 0;
	}
	if (!len) {
		/* no byte is touched, but the type is checked (bpf/helper_model.c arg_sized) */
		Z3_ast mem = b_or(s, b_or(s, sv_is(s, p, K2_T_STACK), sv_is(s, p, K2_T_PKT)),
				  b_or(s, sv_is(s, p, K2_T_PKT_META), sv_is(s, p, K2_T_MAP_VALUE)));

		fail(c, b_not(s, mem));
		c->rd[i] = NULL;
		return 0;
	}
	if (c->id == BPF_FUNC_fib_lookup) {
		unsup(c, s->tru, "fib_lookup is not encoded");
		*skip = true;
		return 0;
	}
	return arg_mem(c, i, len, kind == K2_ARG_UNINIT_MEM);
}

static const struct k2_map *hmap(struct k2_hc *c)
{
	return &c->en->w->prog->maps[c->map];
}

/* Key and value sizes as the interpreter's map info has them (perf arrays sized by libbpf). */
static uint32_t ksize(struct k2_hc *c)
{
	const struct k2_map *d = hmap(c);

	return d->type == BPF_MAP_TYPE_PERF_EVENT_ARRAY && !d->key_size ? 4 : d->key_size;
}

static uint32_t vsize(struct k2_hc *c)
{
	const struct k2_map *d = hmap(c);

	return d->type == BPF_MAP_TYPE_PERF_EVENT_ARRAY && !d->value_size ? 4 : d->value_size;
}

/* Returns 0 when the model may run, 1 when the arguments already decided (error/unsup). */
static int check_args(struct k2_hc *c)
{
	struct k2_smt *s = S(c);
	const struct k2_helper *h = c->h;

	for (int i = 0; i < h->nargs; i++) {
		uint8_t k = h->args[i];
		bool skip;

		switch (k) {
		case K2_ARG_NONE:
			break;
		case K2_ARG_ANYTHING:
		case K2_ARG_SIZE:
		case K2_ARG_SIZE_OR_ZERO:
			arg_scalar(c, i);
			break;
		case K2_ARG_CTX:
			fail(c, b_not(s, b_and(s, sv_is(s, &c->a[i], K2_T_CTX),
					       b_eq(s, c->a[i].v, t_n64(s, K2S_CTXBASE)))));
			break;
		case K2_ARG_MAP_PTR: {
			struct k2_sv v;

			fail(c, b_not(s, sv_is(s, &c->a[i], K2_T_MAP)));
			if (!(c->a[i].tm & K2S_TM(K2_T_MAP)))
				return 1;
			if (!sv_view(c->en->w, c->st, &c->a[i], K2_T_MAP, &v) || v.map < 0) {
				unsup(c, sv_is(s, &c->a[i], K2_T_MAP), "helper map argument that "
								      "depends on the path");
				return 1;
			}
			c->map = v.map;
			break;
		}
		case K2_ARG_MAP_KEY:
		case K2_ARG_MAP_VALUE:
			if (c->map < 0) {
				fail(c, s->tru);
				return 1;
			}
			if (arg_mem(c, i, k == K2_ARG_MAP_KEY ? ksize(c) : vsize(c), false))
				return -1;
			break;
		default: /* MEM, MEM_OR_NULL, UNINIT_MEM; the size is the next argument */
			if (arg_sized(c, i, k, &skip))
				return -1;
			if (skip)
				return 1;
			i++;
			break;
		}
	}
	return 0;
}

/* ---- models ------------------------------------------------------------------------------- */

static int h_ndet(struct k2_hc *c)
{
	struct k2_smt *s = S(c);
	Z3_ast v = k2s_ack(c->en->w, &c->en->w->ndet, c->st->ndet_i, NULL);
	uint64_t i;

	if (t_isnum(s, c->st->ndet_i, &i) && i >= K2_NDET_MAX)
		unsup(c, s->tru, "more non-deterministic values than an input holds");
	c->st->ndet_i = t_add(s, c->st->ndet_i, t_num(s, 32, 1));
	c->ret = c->id == BPF_FUNC_get_prandom_u32 ? t_zext(s, t_ext(s, v, 31, 0), 64) : v;
	return 0;
}

static int h_cpu(struct k2_hc *c)
{
	c->ret = t_zext(S(c), c->en->w->cpu, 64);
	return 0;
}

static int h_zero(struct k2_hc *c)
{
	c->ret = t_n64(S(c), 0);
	return 0;
}

static int h_redirect(struct k2_hc *c)
{
	struct k2_smt *s = S(c);
	Z3_ast f = c->a[1].v, hit;

	if (c->en->w->prog->type == BPF_PROG_TYPE_XDP) {
		hit = b_eq(s, f, t_n64(s, 0));
		c->ret = t_ite(s, hit, t_n64(s, XDP_REDIRECT_), t_n64(s, XDP_ABORTED_));
	} else {
		hit = b_eq(s, t_and(s, f, t_n64(s, ~(uint64_t)BPF_F_INGRESS)), t_n64(s, 0));
		c->ret = t_ite(s, hit, t_n64(s, TC_ACT_REDIRECT_), t_n64(s, TC_ACT_SHOT_));
	}
	k2s_effect(c, hit, NULL, 0);
	return 0;
}

static Z3_ast populated(struct k2_hc *c, Z3_ast idx32)
{
	struct k2_smt *s = S(c);
	struct k2_world *w = c->en->w;

	return b_and(s, b_ult(s, idx32, t_num(s, 32, hmap(c)->max_entries)),
		     k2s_ack(w, &w->mpop[c->map], idx32, NULL));
}

static int h_redirect_map(struct k2_hc *c)
{
	struct k2_smt *s = S(c);
	struct k2_world *w = c->en->w;
	uint32_t t = hmap(c)->type;
	Z3_ast key = t_ext(s, c->a[1].v, 31, 0), fl = c->a[2].v, found, badfl, act, hit;
	uint64_t extra = 0;

	if (t == BPF_MAP_TYPE_DEVMAP || t == BPF_MAP_TYPE_DEVMAP_HASH)
		extra = BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS;
	else if (t != BPF_MAP_TYPE_CPUMAP && t != BPF_MAP_TYPE_XSKMAP) {
		fail(c, s->tru);
		return 0;
	}
	badfl = b_ne(s, t_and(s, fl, t_n64(s, ~(3 | extra))), t_n64(s, 0));
	/* devmap_hash: the entry state's elements; the others: populated indices */
	if (t == BPF_MAP_TYPE_DEVMAP_HASH)
		found = k2s_ack(w, &w->mpres0[c->map], key, NULL);
	else
		found = populated(c, key);
	act = t_and(s, fl, t_n64(s, 3));
	hit = b_and(s, b_not(s, badfl),
		    b_or(s, found, b_ne(s, t_and(s, fl, t_n64(s, BPF_F_BROADCAST)), t_n64(s, 0))));
	c->ret = t_ite(s, badfl, t_n64(s, XDP_ABORTED_), t_ite(s, hit, t_n64(s, XDP_REDIRECT_), act));
	k2s_effect(c, hit, NULL, 0);
	return 0;
}

static int h_tail_call(struct k2_hc *c)
{
	struct k2_smt *s = S(c);
	Z3_ast idx = t_ext(s, c->a[2].v, 31, 0), ok;

	if (hmap(c)->type != BPF_MAP_TYPE_PROG_ARRAY) {
		fail(c, s->tru);
		return 0;
	}
	/* a run's tail calls end it, so the 33-call limit is never reached inside one */
	ok = b_and(s, b_not(s, b_ule(s, t_num(s, 32, hmap(c)->max_entries), idx)),
		   populated(c, idx));
	c->ret = t_ite(s, ok, t_n64(s, 0), k2s_neg(s, ENOENT));
	k2s_effect(c, ok, NULL, 0);
	if (t_bool(s, ok) != 0) {
		c->ex = k2s_state_clone(c->en, c->st);
		if (!c->ex)
			return -1;
		c->ex->g = b_and(s, c->st->g, ok);
		c->ex->tail = s->tru;
	}
	c->st->g = b_and(s, c->st->g, b_not(s, ok));
	return 0;
}

/* x86 csum_partial over n bytes: 32-bit little-endian words (a short tail zero-padded),
 * summed in 64 bits, folded with end-around carry. */
static Z3_ast csum_partial(struct k2_smt *s, Z3_ast *p, uint32_t n, Z3_ast seed32)
{
	Z3_ast sum = t_zext(s, seed32, 64), z = t_num(s, 8, 0);

	for (uint32_t i = 0; i < n; i += 4) {
		Z3_ast w[4];

		for (uint32_t k = 0; k < 4; k++)
			w[k] = i + k < n ? p[i + k] : z;
		sum = t_add(s, sum, t_zext(s, t_bytes(s, w, 4), 64));
	}
	for (int k = 0; k < 2; k++)
		sum = t_add(s, t_zext(s, t_ext(s, sum, 31, 0), 64), t_lshr(s, sum, t_n64(s, 32)));
	return t_ext(s, sum, 31, 0);
}

static Z3_ast csum_add(struct k2_smt *s, Z3_ast a, Z3_ast b)
{
	Z3_ast r = t_add(s, a, b);

	return t_add(s, r, t_ite(s, b_ult(s, r, b), t_num(s, 32, 1), t_num(s, 32, 0)));
}

static Z3_ast from32to16(struct k2_smt *s, Z3_ast x)
{
	Z3_ast rot = t_or(s, t_lshr(s, x, t_num(s, 32, 16)), t_shl(s, x, t_num(s, 32, 16)));

	return t_zext(s, t_lshr(s, t_add(s, x, rot), t_num(s, 32, 16)), 64);
}

static int h_csum_diff(struct k2_hc *c)
{
	struct k2_smt *s = S(c);
	uint32_t fs = c->len[0], ts = c->len[2];
	Z3_ast seed = t_ext(s, c->a[4].v, 31, 0);

	if (fs && ts)
		c->ret = from32to16(s, csum_add(s, csum_partial(s, c->rd[2], ts, seed),
						t_bnot(s, csum_partial(s, c->rd[0], fs,
								       t_num(s, 32, 0)))));
	else if (ts)
		c->ret = from32to16(s, csum_partial(s, c->rd[2], ts, seed));
	else if (fs)
		c->ret = from32to16(s, t_bnot(s, csum_partial(s, c->rd[0], fs, t_bnot(s, seed))));
	else
		c->ret = from32to16(s, seed);
	return 0;
}

static Z3_ast skb_len(struct k2_hc *c)
{
	return t_sub(S(c), c->st->end, c->st->data);
}

static int h_skb_load(struct k2_hc *c)
{
	struct k2_smt *s = S(c);
	Z3_ast off = t_zext(s, t_ext(s, c->a[1].v, 31, 0), 64), *b;
	uint32_t n = c->len[2];
	Z3_ast oob = b_or(s, b_ult(s, t_n64(s, 0x7fffffff), off),
			  b_ult(s, skb_len(c), t_add(s, off, t_n64(s, n))));

	b = k2s_alloc(c->en, (n ? n : 1) * sizeof(*b));
	if (!b)
		return -1;
	for (uint32_t i = 0; i < n; i++)
		b[i] = t_ite(s, oob, t_num(s, 8, 0),
			     k2s_pkt_byte(c->en, c->st,
					  t_add(s, c->st->data, t_add(s, off, t_n64(s, i)))));
	k2s_helper_write(c->en, c->st, c->pc, &c->a[2], n, b, NULL);
	c->ret = t_ite(s, oob, k2s_neg(s, EFAULT), t_n64(s, 0));
	return 0;
}

static int h_skb_store(struct k2_hc *c)
{
	struct k2_smt *s = S(c);
	Z3_ast off = t_zext(s, t_ext(s, c->a[1].v, 31, 0), 64), fl = c->a[4].v;
	uint32_t n = c->len[2];
	Z3_ast badfl = b_ne(s, t_and(s, fl, t_n64(s, ~(uint64_t)(BPF_F_RECOMPUTE_CSUM |
								  BPF_F_INVALIDATE_HASH))),
			    t_n64(s, 0));
	Z3_ast oob = b_or(s, b_ult(s, t_n64(s, 0x7fffffff), off),
			  b_ult(s, skb_len(c), t_add(s, off, t_n64(s, n))));
	Z3_ast ok = b_and(s, b_not(s, badfl), b_not(s, oob));

	for (uint32_t i = 0; i < n; i++)
		k2s_pkt_write(c->en, c->st, t_add(s, c->st->data, t_add(s, off, t_n64(s, i))),
			      c->rd[2][i], ok);
	c->ret = t_ite(s, badfl, k2s_neg(s, EINVAL), t_ite(s, oob, k2s_neg(s, EFAULT),
							   t_n64(s, 0)));
	return 0;
}

static Z3_ast csum_fold(struct k2_smt *s, Z3_ast x)
{
	for (int k = 0; k < 2; k++)
		x = t_add(s, t_zext(s, t_ext(s, x, 15, 0), 32), t_lshr(s, x, t_num(s, 32, 16)));
	return t_bnot(s, t_ext(s, x, 15, 0));
}

static Z3_ast csum_sub(struct k2_smt *s, Z3_ast a, Z3_ast b)
{
	return csum_add(s, a, t_bnot(s, b));
}

/* l3_csum_replace / l4_csum_replace: the 16-bit field at an even offset inside the data. */
static int h_csum_replace(struct k2_hc *c)
{
	struct k2_smt *s = S(c);
	bool l4 = c->id == BPF_FUNC_l4_csum_replace;
	Z3_ast off = t_zext(s, t_ext(s, c->a[1].v, 31, 0), 64), from = c->a[2].v, to = c->a[3].v;
	Z3_ast page = t_add(s, c->st->data, off), lo, hi, sum, nsum = s->fls, r, ok, skip;
	uint64_t fl, allowed, size;

	if (!arg_num(c, 4, &fl, "checksum helper flags that depend on the input"))
		return 0;
	allowed = l4 ? (BPF_F_MARK_MANGLED_0 | BPF_F_MARK_ENFORCE | BPF_F_PSEUDO_HDR |
			BPF_F_HDR_FIELD_MASK | (1ull << 7))
		     : BPF_F_HDR_FIELD_MASK;
	size = fl & BPF_F_HDR_FIELD_MASK;
	if (fl & ~allowed) {
		c->ret = k2s_neg(s, EINVAL);
		return 0;
	}
	ok = b_not(s, b_or(s, b_or(s, b_ult(s, t_n64(s, 0xffff), off),
				   b_ne(s, t_and(s, off, t_n64(s, 1)), t_n64(s, 0))),
			   b_ult(s, skb_len(c), t_add(s, off, t_n64(s, 2)))));
	lo = k2s_pkt_byte(c->en, c->st, page);
	hi = k2s_pkt_byte(c->en, c->st, t_add(s, page, t_n64(s, 1)));
	sum = t_cat(s, hi, lo); /* the field as a little-endian u16, as memcpy reads it */
	skip = s->fls;
	if (l4 && (fl & BPF_F_MARK_MANGLED_0) && !(fl & BPF_F_MARK_ENFORCE))
		skip = b_eq(s, sum, t_num(s, 16, 0));
	if (size != 0 && size != 2 && size != 4) {
		/* the kernel checks the field (and l4's mangled-0 skip) before the size */
		c->ret = t_ite(s, b_not(s, ok), k2s_neg(s, EFAULT),
			       t_ite(s, skip, t_n64(s, 0), k2s_neg(s, EINVAL)));
		return 0;
	}
	if (size == 0) {
		nsum = b_ne(s, from, t_n64(s, 0)); /* from must be 0: -EINVAL */
		r = csum_fold(s, csum_add(s, t_ext(s, to, 31, 0), t_bnot(s, t_zext(s, sum, 32))));
	} else if (size == 2 && !l4) {
		/* csum_replace2: 16-bit ones' complement arithmetic on the raw field */
		Z3_ast o = t_bnot(s, t_ext(s, from, 15, 0)), n = t_ext(s, to, 15, 0);
		Z3_ast t = t_bnot(s, sum), one = t_num(s, 16, 1), z = t_num(s, 16, 0);

		t = t_add(s, t, o);
		t = t_add(s, t, t_ite(s, b_ult(s, t, o), one, z));
		t = t_add(s, t, n);
		t = t_add(s, t, t_ite(s, b_ult(s, t, n), one, z));
		r = t_bnot(s, t);
	} else if (size == 2) {
		r = csum_fold(s, csum_add(s, csum_sub(s, t_bnot(s, t_zext(s, sum, 32)),
						      t_zext(s, t_ext(s, from, 15, 0), 32)),
					  t_zext(s, t_ext(s, to, 15, 0), 32)));
	} else {
		r = csum_fold(s, csum_add(s, csum_sub(s, t_bnot(s, t_zext(s, sum, 32)),
						      t_ext(s, from, 31, 0)),
					  t_ext(s, to, 31, 0)));
	}
	if (l4 && (fl & BPF_F_MARK_MANGLED_0))
		r = t_ite(s, b_eq(s, r, t_num(s, 16, 0)), t_num(s, 16, 0xffff), r);
	{
		Z3_ast w = b_and(s, ok, b_and(s, b_not(s, skip), b_not(s, nsum)));

		k2s_pkt_write(c->en, c->st, page, t_ext(s, r, 7, 0), w);
		k2s_pkt_write(c->en, c->st, t_add(s, page, t_n64(s, 1)), t_ext(s, r, 15, 8), w);
		c->ret = t_ite(s, b_not(s, ok), k2s_neg(s, EFAULT),
			       t_ite(s, b_and(s, b_not(s, skip), nsum), k2s_neg(s, EINVAL),
				     t_n64(s, 0)));
	}
	return 0;
}

#define META_MOVE_MAX 32 /* metadata bytes xdp_adjust_head moves (test_run gives up to 32) */

static int h_adjust_head(struct k2_hc *c)
{
	struct k2_smt *s = S(c);
	struct k2_state *st = c->st;
	Z3_ast off = t_sext(s, t_ext(s, c->a[1].v, 31, 0), 64);
	Z3_ast meta = t_sub(s, st->data, st->meta), data = t_add(s, st->data, off), ok;
	Z3_ast old[META_MOVE_MAX];

	ok = b_and(s, b_sle(s, t_add(s, t_n64(s, K2_XDP_FRAME_SZ), meta), data),
		   b_sle(s, data, t_sub(s, st->end, t_n64(s, 14))));
	unsup(c, b_and(s, ok, b_ult(s, t_n64(s, META_MOVE_MAX), meta)),
	      "xdp_adjust_head moving more metadata than encoded");
	/* the metadata moves with data (memmove: read everything first) */
	for (uint32_t i = 0; i < META_MOVE_MAX; i++)
		old[i] = k2s_pkt_byte(c->en, st, t_add(s, st->meta, t_n64(s, i)));
	for (uint32_t i = 0; i < META_MOVE_MAX; i++) {
		Z3_ast g = b_and(s, ok, b_ult(s, t_n64(s, i), meta));

		if (t_bool(s, g) == 0)
			break;
		k2s_pkt_write(c->en, st, t_add(s, t_add(s, st->meta, off), t_n64(s, i)), old[i], g);
	}
	st->meta = t_ite(s, ok, t_add(s, st->meta, off), st->meta);
	st->data = t_ite(s, ok, data, st->data);
	c->ret = t_ite(s, ok, t_n64(s, 0), k2s_neg(s, EINVAL));
	return 0;
}

static int h_adjust_meta(struct k2_hc *c)
{
	struct k2_smt *s = S(c);
	struct k2_state *st = c->st;
	Z3_ast meta = t_add(s, st->meta, t_sext(s, t_ext(s, c->a[1].v, 31, 0), 64));
	Z3_ast len = t_sub(s, st->data, meta), inval, acc;

	inval = b_or(s, b_slt(s, meta, t_n64(s, K2_XDP_FRAME_SZ)), b_slt(s, st->data, meta));
	acc = b_or(s, b_ne(s, t_and(s, len, t_n64(s, 3)), t_n64(s, 0)),
		   b_slt(s, t_n64(s, 255), len));
	st->meta = t_ite(s, b_or(s, inval, acc), st->meta, meta);
	c->ret = t_ite(s, inval, k2s_neg(s, EINVAL), t_ite(s, acc, k2s_neg(s, EACCES),
							   t_n64(s, 0)));
	return 0;
}

static int h_adjust_tail(struct k2_hc *c)
{
	struct k2_smt *s = S(c);
	struct k2_state *st = c->st;
	Z3_ast off = t_sext(s, t_ext(s, c->a[1].v, 31, 0), 64), end = t_add(s, st->end, off), ok;
	struct k2_mkey k = { 0 };

	ok = b_and(s, b_sle(s, end, t_n64(s, K2_PKT_BUF - K2_PKT_TAILROOM)),
		   b_sle(s, t_add(s, st->data, t_n64(s, 14)), end));
	/* growing zero-fills the new bytes */
	k.osym = t_sub(s, st->end, c->en->w->data0);
	{
		uint64_t x;

		if (t_isnum(s, k.osym, &x)) {
			k.oc = (int64_t)x;
			k.osym = NULL;
		}
	}
	k2s_mem_range(c->en, st, K2S_MO_PKT, &k, off, t_num(s, 8, 0), NULL,
		      b_and(s, ok, b_slt(s, t_n64(s, 0), off)));
	c->en->pkt_range = true;
	st->end = t_ite(s, ok, end, st->end);
	c->ret = t_ite(s, ok, t_n64(s, 0), k2s_neg(s, EINVAL));
	return 0;
}

static int h_perf_output(struct k2_hc *c)
{
	struct k2_smt *s = S(c);
	struct k2_world *w = c->en->w;
	uint32_t t = w->prog->type;
	bool net = t == BPF_PROG_TYPE_XDP || k2s_is_skb(t);
	Z3_ast fl = c->a[2].v, idx, badfl, big, absent, ok, *data;
	uint64_t ctxlen;
	uint32_t n = c->len[3];

	if (hmap(c)->type != BPF_MAP_TYPE_PERF_EVENT_ARRAY) {
		fail(c, s->tru);
		return 0;
	}
	if (!t_isnum(s, t_lshr(s, fl, t_n64(s, 32)), &ctxlen)) {
		unsup(c, s->tru, "perf_event_output context length that depends on the input");
		return 0;
	}
	if (ctxlen) {
		unsup(c, s->tru, "perf_event_output with packet data is not encoded");
		return 0;
	}
	badfl = b_ne(s, t_and(s, fl, t_n64(s, ~(uint64_t)(BPF_F_INDEX_MASK |
							   (net ? BPF_F_CTXLEN_MASK : 0)))),
		     t_n64(s, 0));
	idx = t_and(s, fl, t_n64(s, BPF_F_INDEX_MASK));
	idx = t_ite(s, b_eq(s, idx, t_n64(s, BPF_F_CURRENT_CPU)), t_zext(s, w->cpu, 64), idx);
	/* libbpf sizes an unsized perf event array by the CPUs (the state's definition) */
	big = b_ule(s, t_n64(s, hmap(c)->max_entries ? hmap(c)->max_entries : 1), idx);
	if (!hmap(c)->max_entries)
		unsup(c, s->tru, "perf event array without max_entries");
	absent = b_not(s, populated(c, t_ext(s, idx, 31, 0)));
	ok = b_not(s, b_or(s, badfl, b_or(s, big, absent)));
	c->ret = t_ite(s, badfl, k2s_neg(s, EINVAL),
		       t_ite(s, big, k2s_neg(s, E2BIG),
			     t_ite(s, absent, k2s_neg(s, ENOENT), t_n64(s, 0))));
	data = c->rd[3];
	k2s_effect(c, ok, data, data ? n : 0);
	return 0;
}

static int h_ringbuf_output(struct k2_hc *c)
{
	struct k2_smt *s = S(c);
	struct k2_state *st = c->st;
	uint32_t nm = c->en->w->prog->n_maps + 1, n = c->len[1];
	uint64_t rec = ((uint64_t)n + 8 + 7) & ~7ull, cap = hmap(c)->max_entries;
	Z3_ast badfl, full, ok, used;

	if (hmap(c)->type != BPF_MAP_TYPE_RINGBUF) {
		fail(c, s->tru);
		return 0;
	}
	if (!st->rb_used) {
		st->rb_used = k2s_alloc(c->en, nm * sizeof(*st->rb_used));
		if (!st->rb_used)
			return -1;
		for (uint32_t m = 0; m < nm; m++)
			st->rb_used[m] = t_n64(s, 0);
	}
	used = c->map < 64 ? st->rb_used[c->map] : t_n64(s, 0);
	badfl = b_ne(s, t_and(s, c->a[3].v,
			      t_n64(s, ~(uint64_t)(BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP))),
		     t_n64(s, 0));
	full = c->map < 64 ? b_ult(s, t_n64(s, cap - 1), t_add(s, used, t_n64(s, rec))) : s->fls;
	ok = b_not(s, b_or(s, badfl, full));
	if (c->map < 64)
		st->rb_used[c->map] = t_ite(s, ok, t_add(s, used, t_n64(s, rec)), used);
	c->ret = t_ite(s, badfl, k2s_neg(s, EINVAL), t_ite(s, full, k2s_neg(s, EAGAIN),
							   t_n64(s, 0)));
	k2s_effect(c, ok, c->rd[1], c->rd[1] ? n : 0);
	return 0;
}

typedef int (*model_fn)(struct k2_hc *c);

static const model_fn models[] = {
	[BPF_FUNC_map_lookup_elem] = k2s_h_lookup,
	[BPF_FUNC_map_update_elem] = k2s_h_update,
	[BPF_FUNC_map_delete_elem] = k2s_h_delete,
	[BPF_FUNC_ktime_get_ns] = h_ndet,
	[BPF_FUNC_get_prandom_u32] = h_ndet,
	[BPF_FUNC_get_smp_processor_id] = h_cpu,
	[BPF_FUNC_skb_store_bytes] = h_skb_store,
	[BPF_FUNC_l3_csum_replace] = h_csum_replace,
	[BPF_FUNC_l4_csum_replace] = h_csum_replace,
	[BPF_FUNC_tail_call] = h_tail_call,
	[BPF_FUNC_get_current_pid_tgid] = h_ndet,
	[BPF_FUNC_get_current_uid_gid] = h_ndet,
	[BPF_FUNC_redirect] = h_redirect,
	[BPF_FUNC_perf_event_output] = h_perf_output,
	[BPF_FUNC_skb_load_bytes] = h_skb_load,
	[BPF_FUNC_csum_diff] = h_csum_diff,
	[BPF_FUNC_get_numa_node_id] = h_zero,
	[BPF_FUNC_xdp_adjust_head] = h_adjust_head,
	[BPF_FUNC_redirect_map] = h_redirect_map,
	[BPF_FUNC_xdp_adjust_meta] = h_adjust_meta,
	[BPF_FUNC_xdp_adjust_tail] = h_adjust_tail,
	[BPF_FUNC_get_current_cgroup_id] = h_ndet,
	[BPF_FUNC_jiffies64] = h_ndet,
	[BPF_FUNC_ktime_get_boot_ns] = h_ndet,
	[BPF_FUNC_ringbuf_output] = h_ringbuf_output,
	[BPF_FUNC_ktime_get_coarse_ns] = h_ndet,
};

int k2s_call(struct k2_enc *en, struct k2_state *st, uint32_t pc, int32_t id,
	     struct k2_state **ex)
{
	struct k2_smt *s = en->s;
	struct k2_hc c = { .en = en, .st = st, .pc = pc, .id = (uint32_t)id, .map = -1 };
	bool interp_knows;
	int rc;

	*ex = NULL;
	c.h = k2_helper_find((uint32_t)id);
	interp_knows = c.h && id == (int32_t)c.h->id && (c.h->flags || true);
	if (!interp_knows || !k2_helper_allowed(c.h, en->w->prog->type)) {
		/* unknown to the interpreter, or not for this program type: EHELPER */
		k2s_error(en, st, s->tru);
		return -1;
	}
	if ((uint32_t)id >= sizeof(models) / sizeof(models[0]) || !models[id]) {
		/* the interpreter runs it (trace_printk, probe_read, comm, fib_lookup), we don't */
		k2s_unsup(en, st->g, pc, "helper not encoded");
		return -1;
	}
	for (int i = 0; i < 5; i++)
		c.a[i] = st->r[1 + i];
	c.ret = t_n64(s, 0);
	rc = check_args(&c);
	if (rc < 0)
		return -1;
	if (rc == 0 && models[id](&c))
		return -1;
	if (c.ret_ptr)
		st->r[0] = c.retsv;
	else
		sv_scalar(s, &st->r[0], c.ret);
	for (int i = 1; i <= 5; i++)
		sv_uninit(s, &st->r[i]);
	if (c.ex) {
		/* a tail call left with r0 = 0 (the helper's result) */
		sv_scalar(s, &c.ex->r[0], t_n64(s, 0));
		for (int i = 1; i <= 5; i++)
			sv_uninit(s, &c.ex->r[i]);
		*ex = c.ex;
	}
	if (c.h->flags & K2_H_PKT_CHANGE)
		k2s_invalidate_pkt(en, st);
	return 0;
}
