/* smt/agree.c: does the encoding of a program agree with bpf/interp on one concrete input? */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smt/interp_peek.h"
#include "smt/query.h"

struct agree {
	struct k2_smt *s;
	struct k2_world *w;
	struct k2_enc en;
	const struct k2_input *in;
	struct k2_terms fix;     /* the input, as constraints */
	Z3_ast parts[64];        /* named differences, for the message */
	const char *names[64];
	uint32_t n_parts;
};

static struct k2_smt *S(struct agree *a)
{
	return a->s;
}

static void fix(struct agree *a, Z3_ast c)
{
	k2s_terms_add(a->s, &a->fix, c);
}

static void part(struct agree *a, const char *name, Z3_ast d)
{
	if (t_bool(a->s, d) == 0 || a->n_parts >= 64)
		return;
	a->names[a->n_parts] = name;
	a->parts[a->n_parts++] = d;
}

/* ite chain: value of a symbolic key in a table of (key, value), default dflt */
static Z3_ast table(struct k2_smt *s, Z3_ast key, Z3_ast *keys, Z3_ast *vals, uint32_t n,
		    Z3_ast dflt)
{
	Z3_ast r = dflt;

	for (uint32_t i = n; i-- > 0;)
		r = t_ite(s, b_eq(s, key, keys[i]), vals[i], r);
	return r;
}

static uint32_t get32(const uint8_t *p, uint32_t len, uint32_t off)
{
	uint32_t v = 0;

	if (off + 4 <= len)
		memcpy(&v, p + off, 4);
	return v;
}

/* ---- the input as constraints ------------------------------------------------------------ */

static int fix_packet(struct agree *a, struct k2_err *e)
{
	struct k2_smt *s = S(a);
	struct k2_world *w = a->w;
	const struct k2_input *in = a->in;
	uint32_t type = w->prog->type, len = in->pkt_len, meta = 0, first = 0, n;
	uint8_t page[K2_PKT_MAX + 64] = { 0 };
	Z3_ast *keys, *vals;

	if (type == BPF_PROG_TYPE_XDP) {
		meta = get32(in->ctx, in->ctx_len, 0);
		if (len > K2_PKT_MAX + meta)
			len = K2_PKT_MAX + meta;
		if (meta > len || meta > K2_PKT_HEADROOM - K2_XDP_FRAME_SZ)
			meta = 0;
		if (meta > 32 || (meta & 3) || len - meta < 14)
			return k2_err_set(e, 1, "input outside the encoded space (XDP metadata or "
						"packet length)");
		fix(a, b_eq(s, w->mlen, t_n64(s, meta)));
		fix(a, b_eq(s, w->plen, t_n64(s, len - meta)));
		memcpy(page, in->pkt, len);
		first = meta; /* key 0 is the frame's first byte */
	} else if (k2s_is_skb(type)) {
		if (len > K2_PKT_MAX)
			len = K2_PKT_MAX;
		memcpy(page, in->pkt, len);
		if (len < 14)
			len = 14;
		fix(a, b_eq(s, w->plen, t_n64(s, len)));
		first = type == BPF_PROG_TYPE_SOCKET_FILTER ? 14 : 0;
	} else {
		return 0;
	}
	/* key k is page[first + k] */
	n = 0;
	keys = malloc((len + 1) * sizeof(*keys));
	vals = malloc((len + 1) * sizeof(*vals));
	if (!keys || !vals) {
		free(keys);
		free(vals);
		return k2_err_set(e, -ENOMEM, "out of memory");
	}
	for (uint32_t i = 0; i < len; i++)
		if (page[i]) {
			keys[n] = t_n64(s, (uint64_t)((int64_t)i - first));
			vals[n++] = t_num(s, 8, page[i]);
		}
	for (uint32_t i = 0; i < w->pkt0.n; i++) {
		Z3_ast k = w->pkt0.app[i].a[0];
		uint64_t kv;

		if (t_isnum(s, k, &kv)) {
			int64_t at = (int64_t)kv + first;

			fix(a, b_eq(s, w->pkt0.app[i].r,
				    t_num(s, 8, at >= 0 && at < (int64_t)len ? page[at] : 0)));
		} else {
			fix(a, b_eq(s, w->pkt0.app[i].r, table(s, k, keys, vals, n, t_num(s, 8, 0))));
		}
	}
	free(keys);
	free(vals);
	return 0;
}

static void fix_ctx(struct agree *a)
{
	struct k2_smt *s = S(a);
	struct k2_world *w = a->w;
	const struct k2_input *in = a->in;

	for (uint32_t i = 0; i < w->n_ctxin; i++) {
		uint64_t v = 0;

		if (w->ctxin[i].off + w->ctxin[i].size <= in->ctx_len)
			memcpy(&v, in->ctx + w->ctxin[i].off, w->ctxin[i].size);
		fix(a, b_eq(s, w->ctxin[i].v, t_num(s, w->ctxin[i].size * 8, v)));
	}
	for (uint32_t i = 0; i < w->ctx0.n; i++) {
		Z3_ast k = w->ctx0.app[i].a[0], keys[K2_CTX_MAX], vals[K2_CTX_MAX];
		uint32_t n = 0;
		uint64_t kv;

		if (t_isnum(s, k, &kv)) {
			fix(a, b_eq(s, w->ctx0.app[i].r,
				    t_num(s, 8, kv < in->ctx_len && kv < K2_CTX_MAX ? in->ctx[kv]
										     : 0)));
			continue;
		}
		for (uint32_t o = 0; o < in->ctx_len && o < K2_CTX_MAX; o++)
			if (in->ctx[o]) {
				keys[n] = t_n64(s, o);
				vals[n++] = t_num(s, 8, in->ctx[o]);
			}
		fix(a, b_eq(s, w->ctx0.app[i].r, table(s, k, keys, vals, n, t_num(s, 8, 0))));
	}
	fix(a, b_eq(s, w->cpu, t_num(s, 32, in->cpu)));
	for (uint32_t i = 0; i < w->ndet.n; i++) {
		Z3_ast k = w->ndet.app[i].a[0], r = t_n64(s, k2_ndet_value(in, 127));
		uint64_t kv;

		if (t_isnum(s, k, &kv)) {
			fix(a, b_eq(s, w->ndet.app[i].r, t_n64(s, k2_ndet_value(in, (uint32_t)kv))));
			continue;
		}
		for (uint32_t j = 127; j-- > 0;)
			r = t_ite(s, b_eq(s, k, t_num(s, 32, j)), t_n64(s, k2_ndet_value(in, j)), r);
		fix(a, b_eq(s, w->ndet.app[i].r, r));
	}
}

/* Entries of one map in a state: keys, presence and values (the input's CPU column). */
struct mtab {
	uint32_t n;
	Z3_ast *key;
	uint8_t (*kb)[512];
	uint8_t **val;
};

static void mtab_free(struct mtab *t)
{
	for (uint32_t i = 0; i < t->n; i++)
		free(t->val[i]);
	free(t->val);
	free(t->key);
	free(t->kb);
	memset(t, 0, sizeof(*t));
}

static int mtab_of(struct k2_smt *s, const struct k2_mapstate *ms, uint32_t map,
		   const struct k2_map *d, uint32_t cpu, struct mtab *t)
{
	uint8_t k[512], nk[512], *full;
	const void *cur = NULL;
	uint32_t nc = k2_mapstate_ncpus(ms), cap = 0;
	size_t vs = (size_t)d->value_size;
	bool pc = d->type == BPF_MAP_TYPE_PERCPU_ARRAY || d->type == BPF_MAP_TYPE_PERCPU_HASH ||
		  d->type == BPF_MAP_TYPE_LRU_PERCPU_HASH;

	memset(t, 0, sizeof(*t));
	full = malloc(vs * (pc ? nc : 1) + 1);
	if (!full)
		return -ENOMEM;
	while (k2_mapstate_next_key(ms, map, cur, nk) == 0 && t->n < 4096) {
		memcpy(k, nk, d->key_size);
		cur = k;
		if (k2_mapstate_lookup(ms, map, k, full))
			continue;
		if (t->n == cap) {
			cap = cap ? cap * 2 : 16;
			t->key = realloc(t->key, cap * sizeof(*t->key));
			t->kb = realloc(t->kb, cap * sizeof(*t->kb));
			t->val = realloc(t->val, cap * sizeof(*t->val));
			if (!t->key || !t->kb || !t->val) {
				free(full);
				return -ENOMEM;
			}
		}
		memcpy(t->kb[t->n], k, d->key_size);
		t->key[t->n] = t_zext(s, t_num(s, 8, k[0]), 8);
		for (uint32_t b = 1; b < d->key_size; b++)
			t->key[t->n] = t_cat(s, t_num(s, 8, k[b]), t->key[t->n]);
		t->val[t->n] = malloc(vs + 1);
		if (!t->val[t->n]) {
			free(full);
			return -ENOMEM;
		}
		memcpy(t->val[t->n], full + (pc ? (size_t)(cpu % nc) * vs : 0), vs);
		t->n++;
	}
	free(full);
	return 0;
}

/* Presence and value byte of a symbolic key in a table. */
static Z3_ast mt_pres(struct k2_smt *s, const struct mtab *t, Z3_ast key)
{
	Z3_ast r = s->fls;

	for (uint32_t i = 0; i < t->n; i++)
		r = b_or(s, r, b_eq(s, key, t->key[i]));
	return r;
}

static Z3_ast mt_byte(struct k2_smt *s, const struct mtab *t, Z3_ast key, Z3_ast off,
		      uint32_t vs)
{
	Z3_ast r = t_num(s, 8, 0);

	for (uint32_t i = t->n; i-- > 0;) {
		Z3_ast b = t_num(s, 8, 0);

		for (uint32_t o = vs; o-- > 0;)
			if (t->val[i][o])
				b = t_ite(s, b_eq(s, off, t_n64(s, o)), t_num(s, 8, t->val[i][o]), b);
		r = t_ite(s, b_eq(s, key, t->key[i]), b, r);
	}
	return r;
}

/* The raw key of an element term of map m (map-type concretization off: minus the map). */
static Z3_ast raw_key(struct agree *a, uint32_t m, Z3_ast elem)
{
	struct k2_world *w = a->w;

	if (w->n_mapobj == 1 && a->s->o.no_maptype)
		return t_ext(a->s, elem, w->prog->maps[m].key_size * 8 - 1, 0);
	return elem;
}

static int fix_maps(struct agree *a, struct k2_err *e)
{
	struct k2_smt *s = S(a);
	struct k2_world *w = a->w;
	const struct k2_prog *p = w->prog;

	for (uint32_t m = 0; m < p->n_maps; m++) {
		const struct k2_map *d = &p->maps[m];
		struct mtab t;
		struct k2_ackfun *fv = &w->mval0[w->n_mapobj > 1 ? m : 0];
		struct k2_ackfun *fp = &w->mpres0[m], *fo = &w->mpop[m];

		if (mtab_of(s, a->in->maps, m, d, a->in->cpu, &t))
			return k2_err_set(e, -ENOMEM, "out of memory");
		for (uint32_t i = 0; i < fv->n; i++) {
			Z3_ast el = fv->app[i].a[0];

			if (w->n_mapobj == 1 && s->o.no_maptype) {
				uint64_t mm;

				if (!t_isnum(s, t_ext(s, el, w->keyw + 7, w->keyw), &mm) || mm != m)
					continue;
			} else if (t_w(s, el) != d->key_size * 8) {
				continue;
			}
			fix(a, b_eq(s, fv->app[i].r,
				    mt_byte(s, &t, raw_key(a, m, el), fv->app[i].a[1], d->value_size)));
		}
		for (uint32_t i = 0; i < fp->n; i++)
			fix(a, b_eq(s, fp->app[i].r, mt_pres(s, &t, fp->app[i].a[0])));
		for (uint32_t i = 0; i < fo->n; i++)
			fix(a, b_eq(s, fo->app[i].r,
				    mt_pres(s, &t, t_zext(s, fo->app[i].a[0], d->key_size * 8))));
		if (w->mcount0[m])
			fix(a, b_eq(s, w->mcount0[m], t_n64(s, t.n)));
		mtab_free(&t);
	}
	return 0;
}

/* ---- outputs against the interpreter's --------------------------------------------------- */

static Z3_ast fin_byte(struct agree *a, uint8_t obj, const struct k2_mkey *k)
{
	struct k2_mread r;

	k2s_mem_read(&a->en, a->en.fin, obj, k, &r);
	return r.val;
}

static void diff_packet(struct agree *a, const struct k2_result *res)
{
	struct k2_smt *s = S(a);
	struct k2_state *f = a->en.fin;
	uint32_t type = a->w->prog->type;
	Z3_ast lo, d = s->fls;


	if (type != BPF_PROG_TYPE_XDP && !k2s_is_skb(type))
		return;
	lo = type == BPF_PROG_TYPE_XDP ? f->meta
	     : type == BPF_PROG_TYPE_SOCKET_FILTER ? t_sub(s, f->data, t_n64(s, 14))
						    : f->data;
	part(a, "packet length", b_ne(s, t_sub(s, f->end, lo), t_n64(s, res->pkt_len)));
	if (type == BPF_PROG_TYPE_XDP)
		part(a, "metadata length", b_ne(s, t_sub(s, f->data, f->meta),
					       t_n64(s, res->meta_len)));
	/* output byte i is at data + i - (the interpreter's bytes before data): the lengths are
	 * compared above, so data is the right anchor whenever they agree */
	{
		int64_t before = type == BPF_PROG_TYPE_XDP ? (int64_t)res->meta_len
				 : type == BPF_PROG_TYPE_SOCKET_FILTER ? 14 : 0;
		Z3_ast rel = t_sub(s, f->data, a->w->data0);

		for (uint32_t i = type == BPF_PROG_TYPE_SOCKET_FILTER ? 14 : 0;
		     i < res->pkt_len && i < 4096; i++) {
			struct k2_mkey k = { .osym = t_add(s, rel, t_n64(s, (uint64_t)(i - before))) };
			uint64_t c;

			if (t_isnum(s, k.osym, &c)) {
				k.oc = (int64_t)c;
				k.osym = NULL;
			}
			d = b_or(s, d, b_ne(s, fin_byte(a, K2S_MO_PKT, &k), t_num(s, 8, res->pkt[i])));
		}
	}
	part(a, "packet bytes", d);
}

static void diff_ctx(struct agree *a, struct k2_vm *vm)
{
	struct k2_smt *s = S(a);
	const uint8_t *ctx = k2s_vm_ctx(vm);
	uint32_t n = a->w->ctx.size < K2_CTX_MAX ? a->w->ctx.size : K2_CTX_MAX;
	Z3_ast d = s->fls;

	if (a->w->prog->type == BPF_PROG_TYPE_XDP)
		n = 24;
	for (uint32_t o = 0; o < n; o++) {
		struct k2_mkey k = { .oc = o };

		if (a->w->ctx.ptr[o & ~3u])
			continue; /* data pointers: the interpreter keeps no bytes there */
		d = b_or(s, d, b_ne(s, fin_byte(a, K2S_MO_CTX, &k), t_num(s, 8, ctx[o])));
	}
	part(a, "context", d);
}

static void diff_effects(struct agree *a, const struct k2_result *res)
{
	struct k2_smt *s = S(a);
	Z3_ast d = b_ne(s, a->en.fin->neff, t_num(s, 32, res->n_effects));

	for (uint32_t i = 0; i < a->en.n_eff; i++) {
		const struct k2_eff *x = &a->en.eff[i];

		for (uint32_t k = 0; k < res->n_effects; k++) {
			const struct k2_effect *y = &res->effects[k];
			Z3_ast at = b_and(s, x->g, b_eq(s, x->pos, t_num(s, 32, k))), ne;

			if (x->helper != y->helper || x->n_data != y->data_len) {
				ne = s->tru;
			} else {
				ne = b_ne(s, x->ret, t_n64(s, (uint64_t)y->ret));
				for (int j = 0; j < 5; j++)
					ne = b_or(s, ne, b_ne(s, x->args[j], t_n64(s, y->args[j])));
				for (uint32_t j = 0; j < x->n_data; j++)
					ne = b_or(s, ne,
						  b_ne(s, x->data[j],
						       t_num(s, 8,
							     res->effect_data[y->data_off + j])));
			}
			d = b_or(s, d, b_and(s, at, ne));
		}
	}
	part(a, "effects", d);
}

static int diff_maps(struct agree *a, struct k2_vm *vm, struct k2_err *e)
{
	struct k2_smt *s = S(a);
	struct k2_world *w = a->w;
	const struct k2_prog *p = w->prog;
	struct k2_mapstate *fin = NULL;
	Z3_ast d = s->fls;
	int err = 0;

	if (k2_mapstate_clone(a->in->maps, &fin) || k2_vm_map_commit(vm, fin)) {
		k2_mapstate_free(fin);
		return k2_err_set(e, -ENOMEM, "cannot commit the run's map changes");
	}
	for (uint32_t m = 0; m < p->n_maps && !err; m++) {
		const struct k2_map *d0 = &p->maps[m];
		struct mtab t;

		if (d0->type == BPF_MAP_TYPE_RINGBUF || d0->type == BPF_MAP_TYPE_PERF_EVENT_ARRAY ||
		    d0->type == BPF_MAP_TYPE_PROG_ARRAY || d0->type == BPF_MAP_TYPE_DEVMAP ||
		    d0->type == BPF_MAP_TYPE_CPUMAP || d0->type == BPF_MAP_TYPE_XSKMAP ||
		    d0->type == BPF_MAP_TYPE_LPM_TRIE || d0->type == BPF_MAP_TYPE_ARRAY_OF_MAPS ||
		    d0->type == BPF_MAP_TYPE_HASH_OF_MAPS)
			continue;
		err = mtab_of(s, fin, m, d0, a->in->cpu, &t);
		if (err)
			break;
		/* every element the run ends with, and every element the encoding wrote */
		for (uint32_t i = 0; i < t.n && i < 256; i++) {
			Z3_ast el = k2s_map_elem(w, m, t.key[i]);

			d = b_or(s, d, b_not(s, k2s_map_present(&a->en, a->en.fin, m, el)));
			for (uint32_t o = 0; o < d0->value_size; o++) {
				struct k2_mkey k = { .elem = el, .oc = o };

				d = b_or(s, d, b_ne(s, fin_byte(a, k2s_mo_val(w, m), &k),
						    t_num(s, 8, t.val[i][o])));
			}
		}
		for (uint32_t i = 0; i < a->en.n_wl; i++) {
			const struct k2_wloc *l = &a->en.wl[i];
			Z3_ast key, pres;

			if (l->map != (int32_t)m)
				continue;
			key = raw_key(a, m, l->k.elem);
			pres = k2s_map_present(&a->en, a->en.fin, m, l->k.elem);
			d = b_or(s, d, b_ne(s, pres, mt_pres(s, &t, key)));
			if (l->obj < w->mo_pres)
				d = b_or(s, d, b_and(s, pres,
						     b_ne(s, fin_byte(a, l->obj, &l->k),
							  mt_byte(s, &t, key, k2s_key_off(s, &l->k),
								  d0->value_size))));
		}
		mtab_free(&t);
	}
	k2_mapstate_free(fin);
	if (err)
		return k2_err_set(e, -ENOMEM, "out of memory");
	part(a, "maps", d);
	return 0;
}

/* ---- the check ------------------------------------------------------------------------------ */

static Z3_lbool ask(struct agree *a, Z3_ast extra, Z3_model *m)
{
	struct k2_smt *s = S(a);
	struct k2_terms q = { 0 };
	Z3_lbool r;

	for (uint32_t i = 0; i < a->w->nax; i++)
		k2s_terms_add(s, &q, a->w->ax[i]);
	for (uint32_t i = 0; i < a->fix.n; i++)
		k2s_terms_add(s, &q, a->fix.v[i]);
	if (extra)
		k2s_terms_add(s, &q, extra);
	r = k2s_check(s, s->sbv, q.v, q.n, m);
	k2s_terms_free(&q);
	return r;
}

int k2_smt_agree(struct k2_smt *s, const struct k2_prog *p, const struct k2_input *in,
		 struct k2_err *e)
{
	struct agree a = { .s = s, .in = in };
	struct k2_arena *old = s->ar, ar = { 0 };
	struct k2_vm *vm = NULL;
	struct k2_result res;
	Z3_model m = NULL;
	Z3_lbool r;
	Z3_ast diff;
	bool no_off;
	int err;

	err = k2_vm_new(p, NULL, &vm, e);
	if (err)
		return err;
	k2_vm_run(vm, in, &res);
	s->ar = &ar;
	s->oom = false;
	err = k2s_world_new(s, p, false, &a.w);
	if (!err) {
		a.w->conc = in;
		a.w->cpu = t_num(s, 32, in->cpu);
		err = k2s_world_prog(a.w, e);
	}
	if (err)
		goto out;
	k2s_enc_run(&a.en, a.w, "P", p->insns, p->n_insns, false);
	if (a.en.refuse) {
		err = k2_err_set(e, 1, "insn %u: %s", a.en.refuse_insn, a.en.refuse);
		goto out;
	}
	/* the outputs first: reading them may add input applications the fixing must cover */
	if (res.status != K2_RUN_OK) {
		part(&a, "no error (the interpreter fails)", b_not(s, a.en.err));
	} else {
		part(&a, "error", a.en.err);
		part(&a, "r0", b_ne(s, a.en.fin->r[0].v, t_n64(s, res.r0)));
		part(&a, "tail call", b_ne(s, a.en.fin->tail, res.tail_call ? s->tru : s->fls));
		/* the output packet is read with offsets resolved even under opts.no_offset
		 * (a speed-up of equivalence queries, which the program's own reads still
		 * exercise here): a whole input packet read byte by byte through z3-decided
		 * offsets costs n^2 terms (7.6 GB and 30 s for fuzz-smt program 1539) */
		no_off = s->o.no_offset;
		s->o.no_offset = false;
		diff_packet(&a, &res);
		s->o.no_offset = no_off;
		diff_ctx(&a, vm);
		diff_effects(&a, &res);
		err = diff_maps(&a, vm, e);
		if (err)
			goto out;
	}
	err = fix_packet(&a, e);
	if (err)
		goto out;
	fix_ctx(&a);
	err = fix_maps(&a, e);
	if (err)
		goto out;
	/* the input must be one the encoding considers at all */
	r = ask(&a, NULL, NULL);
	if (r != Z3_L_TRUE) {
		err = r == Z3_L_FALSE ? k2_err_set(e, 1, "input outside the encoded input space")
				      : k2_err_set(e, -ETIMEDOUT, "z3: %s", s->reason);
		goto out;
	}
	r = ask(&a, k2s_unsup_any(&a.en), &m);
	if (r == Z3_L_TRUE) {
		const struct k2_unsup *u = k2s_unsup_which(s, &a.en, m);

		err = k2_err_set(e, 1, "insn %u: %s", u ? u->insn : 0, u ? u->why : "?");
		goto out;
	}
	if (m) {
		Z3_model_dec_ref(s->c, m);
		m = NULL;
	}
	diff = s->fls;
	for (uint32_t i = 0; i < a.n_parts; i++)
		diff = b_or(s, diff, a.parts[i]);
	r = ask(&a, diff, &m);
	if (r == Z3_L_FALSE) {
		err = 0;
	} else if (r == Z3_L_TRUE) {
		char buf[256] = "";

		for (uint32_t i = 0; i < a.n_parts; i++) {
			uint64_t v;

			if (k2s_eval_u64(s, m, a.parts[i], &v) && v) {
				size_t l = strlen(buf);

				snprintf(buf + l, sizeof(buf) - l, "%s%s", l ? ", " : "",
					 a.names[i]);
				if (!strcmp(a.names[i], "r0")) {
					uint64_t r0 = 0;

					k2s_eval_u64(s, m, a.en.fin->r[0].v, &r0);
					l = strlen(buf);
					snprintf(buf + l, sizeof(buf) - l,
						 " interpreter %#llx, encoding %#llx",
						 (unsigned long long)res.r0,
						 (unsigned long long)r0);
				}
			}
		}
		err = k2_err_set(e, -EDOM, "encoding and interpreter differ (%s; interpreter: %s%s%s)",
				 buf, k2_status_name(res.status), res.err_reason ? " " : "",
				 res.err_reason ? res.err_reason : "");
	} else {
		err = k2_err_set(e, -ETIMEDOUT, "z3: %s", s->reason);
	}
out:
	if (m)
		Z3_model_dec_ref(s->c, m);
	k2s_terms_free(&a.fix);
	k2s_enc_free(&a.en);
	k2s_world_free(a.w);
	s->ar = old;
	k2s_arena_release(s, &ar, 0);
	free(ar.v);
	k2_vm_free(vm);
	return err;
}
