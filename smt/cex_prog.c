/* smt/cex_prog.c: a z3 model as a whole-program input, and the replay in bpf/interp. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smt/interp_peek.h"
#include "smt/query.h"

static uint64_t ev(struct k2_smt *s, Z3_model m, Z3_ast a)
{
	uint64_t v = 0;

	k2s_eval_u64(s, m, a, &v);
	return v;
}

static bool is_array(uint32_t t)
{
	return t == BPF_MAP_TYPE_ARRAY || t == BPF_MAP_TYPE_PERCPU_ARRAY;
}

static bool is_objarray(uint32_t t)
{
	return t == BPF_MAP_TYPE_PROG_ARRAY || t == BPF_MAP_TYPE_PERF_EVENT_ARRAY ||
	       t == BPF_MAP_TYPE_DEVMAP || t == BPF_MAP_TYPE_CPUMAP || t == BPF_MAP_TYPE_XSKMAP ||
	       t == BPF_MAP_TYPE_ARRAY_OF_MAPS;
}

/* The map and key bytes of an element term (with map-type concretization off, the map is in
 * the top byte). */
static bool elem_key(struct k2_world *w, Z3_model m, uint32_t map_hint, Z3_ast elem,
		     uint32_t *map, uint8_t *key)
{
	struct k2_smt *s = w->s;

	*map = map_hint;
	if (w->n_mapobj == 1 && s->o.no_maptype) {
		uint64_t mm = ev(s, m, t_ext(s, elem, w->keyw + 7, w->keyw));

		if (mm >= w->prog->n_maps)
			return false;
		*map = (uint32_t)mm;
	}
	return k2s_eval_bytes(s, m, elem, key, w->prog->maps[*map].key_size);
}

static const uint8_t *frozen_init(const struct k2_map *d)
{
	return k2s_map_frozen(d) ? d->init : NULL;
}

struct ment {
	uint32_t map;
	uint8_t key[512];
	uint8_t *val;
	bool present;
};

static struct ment *ment_get(struct ment **v, uint32_t *n, uint32_t *cap, uint32_t map,
			     const uint8_t *key, uint32_t ks, uint32_t vs, const uint8_t *init)
{
	for (uint32_t i = 0; i < *n; i++)
		if ((*v)[i].map == map && !memcmp((*v)[i].key, key, ks))
			return &(*v)[i];
	if (*n == *cap) {
		uint32_t c = *cap ? *cap * 2 : 16;
		struct ment *nv = realloc(*v, c * sizeof(*nv));

		if (!nv)
			return NULL;
		*v = nv;
		*cap = c;
	}
	memset(&(*v)[*n], 0, sizeof(**v));
	(*v)[*n].map = map;
	memcpy((*v)[*n].key, key, ks);
	(*v)[*n].val = calloc(1, vs ? vs : 1);
	if (!(*v)[*n].val)
		return NULL;
	if (init)
		memcpy((*v)[*n].val, init, vs);
	return &(*v)[(*n)++];
}

/* Map contents at entry from the model: the elements the encodings looked at. */
static int cex_maps(struct k2_world *w, Z3_model m, struct k2_mapstate **out, struct k2_err *e)
{
	struct k2_smt *s = w->s;
	const struct k2_prog *p = w->prog;
	struct k2_mapstate *ms;
	struct ment *ents = NULL;
	uint32_t n = 0, cap = 0;
	uint8_t key[512];
	int err;

	err = k2_mapstate_new(p->maps, p->n_maps, 1, &ms, e);
	if (err)
		return err;
	for (uint32_t f = 0; f <= p->n_maps; f++) {
		struct k2_ackfun *fv = &w->mval0[f], *fp = &w->mpres0[f], *fo = &w->mpop[f];

		for (uint32_t i = 0; i < fv->n; i++) {
			uint32_t map;
			uint64_t off = ev(s, m, fv->app[i].a[1]);
			struct ment *me;

			if (!elem_key(w, m, f, fv->app[i].a[0], &map, key) || map >= p->n_maps)
				continue;
			me = ment_get(&ents, &n, &cap, map, key, p->maps[map].key_size,
				      p->maps[map].value_size, frozen_init(&p->maps[map]));
			if (me && off < p->maps[map].value_size)
				me->val[off] = (uint8_t)ev(s, m, fv->app[i].r);
		}
		for (uint32_t i = 0; i < fp->n; i++) {
			uint32_t map;
			struct ment *me;

			if (!elem_key(w, m, f, fp->app[i].a[0], &map, key) || map >= p->n_maps)
				continue;
			me = ment_get(&ents, &n, &cap, map, key, p->maps[map].key_size,
				      p->maps[map].value_size, frozen_init(&p->maps[map]));
			if (me)
				me->present = ev(s, m, fp->app[i].r);
		}
		for (uint32_t i = 0; f < p->n_maps && i < fo->n; i++) {
			struct ment *me;

			memset(key, 0, sizeof(key));
			if (!k2s_eval_bytes(s, m, fo->app[i].a[0], key, 4))
				continue;
			me = ment_get(&ents, &n, &cap, f, key, 4, p->maps[f].value_size,
				      frozen_init(&p->maps[f]));
			if (me)
				me->present = ev(s, m, fo->app[i].r);
		}
	}
	for (uint32_t i = 0; i < n; i++) {
		struct ment *me = &ents[i];
		const struct k2_map *d = &p->maps[me->map];
		uint32_t idx;

		memcpy(&idx, me->key, 4);
		if (is_array(d->type)) {
			if (idx < d->max_entries)
				k2_mapstate_update(ms, me->map, me->key, me->val, BPF_ANY);
		} else if (is_objarray(d->type)) {
			if (!me->present || idx >= d->max_entries)
				continue;
			/* populated: a value the map accepts (cpumap: a non-zero queue size) */
			if (d->value_size >= 4 && !me->val[0] && !me->val[1] && !me->val[2] &&
			    !me->val[3])
				me->val[0] = 1;
			k2_mapstate_update(ms, me->map, me->key, me->val, BPF_ANY);
		} else if (me->present) {
			k2_mapstate_update(ms, me->map, me->key, me->val, BPF_ANY);
		}
	}
	/* hash maps: as many elements at entry as the model counted (fillers with fresh keys) */
	for (uint32_t map = 0; map < p->n_maps; map++) {
		const struct k2_map *d = &p->maps[map];
		uint64_t want, have = 0;
		uint8_t *val;

		if (!w->mcount0[map] || is_array(d->type) || is_objarray(d->type))
			continue;
		want = ev(s, m, w->mcount0[map]);
		for (uint32_t i = 0; i < n; i++)
			have += ents[i].map == map && ents[i].present;
		val = calloc(1, d->value_size ? d->value_size : 1);
		for (uint64_t k = 0; val && have < want && k < (1ull << 20); k++) {
			uint8_t fk[512] = { 0 };
			bool used = false;

			memcpy(fk, &k, d->key_size < 8 ? d->key_size : 8);
			fk[d->key_size - 1] ^= 0xa5; /* away from the small keys programs use */
			for (uint32_t i = 0; i < n && !used; i++)
				used = ents[i].map == map && !memcmp(ents[i].key, fk, d->key_size);
			if (used || k2_mapstate_lookup(ms, map, fk, NULL) == 0)
				continue;
			if (k2_mapstate_update(ms, map, fk, val, BPF_NOEXIST) == 0)
				have++;
		}
		free(val);
	}
	for (uint32_t i = 0; i < n; i++)
		free(ents[i].val);
	free(ents);
	*out = ms;
	return 0;
}

int k2s_cex_input(struct k2_world *w, Z3_model m, struct k2_input *in, struct k2_err *e)
{
	struct k2_smt *s = w->s;
	const struct k2_prog *p = w->prog;
	uint64_t mlen = ev(s, m, w->mlen), plen = ev(s, m, w->plen);
	int err;

	memset(in, 0, sizeof(*in));
	if (mlen > 32 || plen > K2_PKT_MAX)
		return k2_err_set(e, -ERANGE, "counterexample packet out of range");
	in->pkt_len = (uint32_t)(mlen + plen);
	for (uint32_t i = 0; i < w->pkt0.n; i++) {
		int64_t key = (int64_t)ev(s, m, w->pkt0.app[i].a[0]);
		int64_t at = key + (int64_t)mlen;

		if (p->type == BPF_PROG_TYPE_SOCKET_FILTER)
			at += 14; /* keys count from data, 14 bytes into the frame */
		if (at >= 0 && at < (int64_t)in->pkt_len)
			in->pkt[at] = (uint8_t)ev(s, m, w->pkt0.app[i].r);
	}
	if (p->type == BPF_PROG_TYPE_XDP) {
		in->ctx_len = 24;
		memcpy(in->ctx, &(uint32_t){ (uint32_t)mlen }, 4);
		memcpy(in->ctx + 4, &(uint32_t){ (uint32_t)(mlen + plen) }, 4);
	} else if (k2s_is_skb(p->type)) {
		in->ctx_len = 192;
	} else {
		in->ctx_len = K2_CTX_MAX;
		for (uint32_t i = 0; i < w->ctx0.n; i++) {
			uint64_t off = ev(s, m, w->ctx0.app[i].a[0]);

			if (off < K2_CTX_MAX)
				in->ctx[off] = (uint8_t)ev(s, m, w->ctx0.app[i].r);
		}
	}
	for (uint32_t i = 0; i < w->n_ctxin; i++) {
		uint64_t v = ev(s, m, w->ctxin[i].v);

		memcpy(in->ctx + w->ctxin[i].off, &v, w->ctxin[i].size);
	}
	in->cpu = (uint32_t)ev(s, m, w->cpu);
	for (uint32_t i = 0; i < w->ndet.n; i++) {
		uint64_t k = ev(s, m, w->ndet.app[i].a[0]);

		if (k < K2_NDET_MAX) {
			in->ndet[k] = ev(s, m, w->ndet.app[i].r);
			if (k + 1 > in->n_ndet)
				in->n_ndet = (uint32_t)k + 1;
		}
	}
	/* values past the ones a program read continue the input's stream */
	for (uint32_t k = 0; k < in->n_ndet; k++) {
		bool set = false;

		for (uint32_t i = 0; i < w->ndet.n && !set; i++)
			set = ev(s, m, w->ndet.app[i].a[0]) == k;
		if (!set)
			in->ndet[k] = k2_ndet_value(&(struct k2_input){ .n_ndet = 0 }, k);
	}
	k2_mapstate_free(s->cex_maps);
	s->cex_maps = NULL;
	err = cex_maps(w, m, &s->cex_maps, e);
	if (err)
		return err;
	in->maps = s->cex_maps;
	return 0;
}

/* ---- replay ------------------------------------------------------------------------------ */

static int maps_differ(const struct k2_prog *p, struct k2_vm *va, struct k2_vm *vb,
		       const struct k2_mapstate *ms, char *why, size_t len)
{
	struct k2_mapstate *ca = NULL, *cb = NULL;
	uint8_t k[512], nk[512], x[1 << 16], y[1 << 16];
	int d = 0;

	if (k2_mapstate_clone(ms, &ca) || k2_mapstate_clone(ms, &cb) ||
	    k2_vm_map_commit(va, ca) || k2_vm_map_commit(vb, cb)) {
		d = -ENOMEM;
		goto out;
	}
	for (uint32_t map = 0; map < p->n_maps && !d; map++) {
		struct k2_mapstate *two[2] = { ca, cb };
		uint32_t nc = k2_mapstate_ncpus(ms);
		size_t vs = (size_t)p->maps[map].value_size * nc;

		if (vs > sizeof(x) || p->maps[map].type == BPF_MAP_TYPE_RINGBUF ||
		    p->maps[map].type == BPF_MAP_TYPE_PERF_EVENT_ARRAY)
			continue;
		for (int side = 0; side < 2 && !d; side++) {
			const void *cur = NULL;

			while (!d && k2_mapstate_next_key(two[side], map, cur, nk) == 0) {
				int ra, rb;

				memcpy(k, nk, p->maps[map].key_size);
				cur = k;
				ra = k2_mapstate_lookup(ca, map, k, x);
				rb = k2_mapstate_lookup(cb, map, k, y);
				if (ra != rb || (!ra && memcmp(x, y, vs)))
					d = 1;
			}
		}
		if (d)
			snprintf(why, len, "map %s differs", p->maps[map].name);
	}
out:
	k2_mapstate_free(ca);
	k2_mapstate_free(cb);
	return d;
}

static bool effects_differ(const struct k2_result *a, const struct k2_result *b)
{
	if (a->n_effects != b->n_effects)
		return true;
	for (uint32_t i = 0; i < a->n_effects; i++) {
		const struct k2_effect *x = &a->effects[i], *y = &b->effects[i];

		if (x->helper != y->helper || memcmp(x->args, y->args, sizeof(x->args)) ||
		    x->data_len != y->data_len || x->ret != y->ret ||
		    memcmp(a->effect_data + x->data_off, b->effect_data + y->data_off, x->data_len))
			return true;
	}
	return false;
}

/* The context fields a program may write that test_run does not return. */
static bool ctx_tail_differs(const struct k2_prog *p, struct k2_vm *va, struct k2_vm *vb)
{
	static const uint8_t off[] = { 12, 44, 72 }; /* queue_mapping, tc_index, tc_classid */
	const uint8_t *x = k2s_vm_ctx(va), *y = k2s_vm_ctx(vb);

	if (!k2s_is_skb(p->type))
		return false;
	for (size_t i = 0; i < sizeof(off); i++)
		if (memcmp(x + off[i], y + off[i], 4))
			return true;
	return false;
}

int k2s_replay_prog(const struct k2_prog *a, const struct k2_prog *b, const struct k2_input *in,
		    char *why, size_t len, struct k2_err *e)
{
	struct k2_vm *va = NULL, *vb = NULL;
	struct k2_result ra, rb;
	int d = 0, err;

	err = k2_vm_new(a, NULL, &va, e);
	if (!err)
		err = k2_vm_new(b, NULL, &vb, e);
	if (err)
		goto out;
	k2_vm_run(va, in, &ra);
	k2_vm_run(vb, in, &rb);
	if (ra.status != K2_RUN_OK) {
		snprintf(why, len, "the first program fails (%s at insn %u: %s)",
			 k2_status_name(ra.status), ra.err_insn, ra.err_reason);
		goto out;
	}
	if (rb.status != K2_RUN_OK) {
		snprintf(why, len, "the second fails (%s at insn %u: %s)",
			 k2_status_name(rb.status), rb.err_insn, rb.err_reason);
		d = 1;
	} else if (ra.r0 != rb.r0) {
		snprintf(why, len, "r0 %#llx vs %#llx", (unsigned long long)ra.r0,
			 (unsigned long long)rb.r0);
		d = 1;
	} else if (ra.tail_call != rb.tail_call) {
		snprintf(why, len, "one ends in a tail call");
		d = 1;
	} else if (ra.pkt_len != rb.pkt_len || ra.meta_len != rb.meta_len ||
		   memcmp(ra.pkt, rb.pkt, ra.pkt_len)) {
		snprintf(why, len, "packets differ");
		d = 1;
	} else if (ra.ctx_len != rb.ctx_len || memcmp(ra.ctx, rb.ctx, ra.ctx_len) ||
		   ctx_tail_differs(a, va, vb)) {
		snprintf(why, len, "contexts differ");
		d = 1;
	} else if (effects_differ(&ra, &rb)) {
		snprintf(why, len, "side effects differ");
		d = 1;
	} else {
		snprintf(why, len, "same results");
		d = maps_differ(a, va, vb, in->maps, why, len);
	}
out:
	k2_vm_free(va);
	k2_vm_free(vb);
	return err ? err : d;
}
