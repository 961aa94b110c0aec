/* smt/maps.c: maps as functions from keys to elements: lookups, updates, deletes in order. */
#include <string.h>

#include "smt/smt_int.h"

/*
 * A map element is its key (with map-type concretization off: the map index and the key).
 * Each map has two memory objects: the element's value bytes (keyed by element and offset)
 * and its presence (keyed by element). At entry both are functions of the key: array-like
 * maps hold every index below max_entries (object arrays: the populated ones), hash maps
 * an arbitrary set (mpres0) with an arbitrary element count (mcount0 <= max_entries).
 * Updates and deletes write these objects in program order, so a lookup after an update
 * of the same key sees the new element, and one of another key the old contents.
 */

static const struct k2_map *map_def(const struct k2_world *w, uint32_t m)
{
	return &w->prog->maps[m];
}

static bool arraylike(const struct k2_map *d)
{
	switch (d->type) {
	case BPF_MAP_TYPE_ARRAY:
	case BPF_MAP_TYPE_PERCPU_ARRAY:
	case BPF_MAP_TYPE_PROG_ARRAY:
	case BPF_MAP_TYPE_PERF_EVENT_ARRAY:
	case BPF_MAP_TYPE_DEVMAP:
	case BPF_MAP_TYPE_CPUMAP:
	case BPF_MAP_TYPE_XSKMAP:
	case BPF_MAP_TYPE_ARRAY_OF_MAPS:
		return true;
	default:
		return false;
	}
}

static bool objarray(const struct k2_map *d)
{
	return arraylike(d) && d->type != BPF_MAP_TYPE_ARRAY &&
	       d->type != BPF_MAP_TYPE_PERCPU_ARRAY;
}

static bool percpu(const struct k2_map *d)
{
	return d->type == BPF_MAP_TYPE_PERCPU_ARRAY || d->type == BPF_MAP_TYPE_PERCPU_HASH ||
	       d->type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

static bool hashlike(const struct k2_map *d)
{
	switch (d->type) {
	case BPF_MAP_TYPE_HASH:
	case BPF_MAP_TYPE_PERCPU_HASH:
	case BPF_MAP_TYPE_LRU_HASH:
	case BPF_MAP_TYPE_LRU_PERCPU_HASH:
	case BPF_MAP_TYPE_DEVMAP_HASH:
	case BPF_MAP_TYPE_HASH_OF_MAPS:
		return true;
	default:
		return false;
	}
}

static bool lru(const struct k2_map *d)
{
	return d->type == BPF_MAP_TYPE_LRU_HASH || d->type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

Z3_ast k2s_map_elem(struct k2_world *w, uint32_t map, Z3_ast key)
{
	struct k2_smt *s = w->s;

	if (w->n_mapobj > 1 || w->s->o.no_maptype == false)
		return key;
	return t_cat(s, t_num(s, 8, map), t_zext(s, key, w->keyw));
}

Z3_ast k2s_map_slot(struct k2_world *w, uint32_t map, Z3_ast key)
{
	struct k2_smt *s = w->s;

	return k2s_ack(w, &w->slotf, t_cat(s, t_num(s, 16, map), t_zext(s, key, w->keyw)), NULL);
}

uint8_t k2s_mo_val(const struct k2_world *w, uint32_t map)
{
	return (uint8_t)(K2S_MO_MAPVAL + (w->n_mapobj > 1 ? map : 0));
}

uint8_t k2s_mo_pres(const struct k2_world *w, uint32_t map)
{
	return (uint8_t)(w->mo_pres + (w->n_mapobj > 1 ? map : 0));
}

/* Presence at entry of the element in key k of presence object obj. */
Z3_ast k2s_pres_base(struct k2_world *w, uint8_t obj, const struct k2_mkey *k)
{
	struct k2_smt *s = w->s;
	uint32_t m = obj - w->mo_pres;
	Z3_ast key = k->elem;
	const struct k2_map *d;
	uint64_t x;

	if (w->n_mapobj == 1 && s->o.no_maptype) {
		if (!t_isnum(s, t_ext(s, key, w->keyw + 7, w->keyw), &x))
			return k2s_ack(w, &w->mpres0[w->prog->n_maps], key, NULL);
		m = (uint32_t)x;
		key = t_ext(s, key, map_def(w, m)->key_size * 8 - 1, 0);
	}
	d = map_def(w, m);
	if (arraylike(d)) {
		Z3_ast in = b_ult(s, t_ext(s, key, 31, 0), t_num(s, 32, d->max_entries));

		return objarray(d) ? b_and(s, in, k2s_ack(w, &w->mpop[m], key, NULL)) : in;
	}
	return k2s_ack(w, &w->mpres0[m], key, NULL);
}

Z3_ast k2s_map_present(struct k2_enc *en, const struct k2_state *st, uint32_t map, Z3_ast elem)
{
	struct k2_mkey k = { .elem = elem };
	struct k2_mread r;

	k2s_mem_read(en, st, k2s_mo_pres(en->w, map), &k, &r);
	return r.val;
}

static void set_present(struct k2_enc *en, struct k2_state *st, uint32_t map, Z3_ast elem,
			Z3_ast val, Z3_ast guard)
{
	struct k2_mkey k = { .elem = elem };
	uint8_t o = k2s_mo_pres(en->w, map);

	k2s_mem_write(en, st, o, &k, val, NULL, guard, NULL);
	k2s_wloc(en, o, &k, (int32_t)map, b_and(en->s, st->g, guard));
}

static Z3_ast key_of(struct k2_hc *c, int arg)
{
	return t_bytes(c->en->s, c->rd[arg], c->len[arg]);
}

static Z3_ast count0(struct k2_world *w, uint32_t m)
{
	if (!w->mcount0[m]) {
		w->mcount0[m] = t_fresh(w->s, "count", 64);
		k2s_axiom(w, b_ule(w->s, w->mcount0[m], t_n64(w->s, map_def(w, m)->max_entries)));
	}
	return w->mcount0[m];
}

int k2s_h_lookup(struct k2_hc *c)
{
	struct k2_enc *en = c->en;
	struct k2_world *w = en->w;
	struct k2_smt *s = en->s;
	const struct k2_map *d = map_def(w, (uint32_t)c->map);
	Z3_ast key, elem, found;
	struct k2_sv p, *r = &c->retsv;

	if (d->type == BPF_MAP_TYPE_ARRAY_OF_MAPS || d->type == BPF_MAP_TYPE_HASH_OF_MAPS) {
		k2s_unsup(en, c->st->g, c->pc, "map-in-map lookups are not encoded");
		return 0;
	}
	if (d->type == BPF_MAP_TYPE_LPM_TRIE) {
		k2s_unsup(en, c->st->g, c->pc, "LPM trie lookups are not encoded");
		return 0;
	}
	if (objarray(d) && d->type != BPF_MAP_TYPE_DEVMAP) {
		k2s_error(en, c->st, s->tru); /* lookups not allowed (or not modelled) */
		return 0;
	}
	if (!arraylike(d) && !hashlike(d)) {
		k2s_error(en, c->st, s->tru);
		return 0;
	}
	key = key_of(c, 1);
	elem = k2s_map_elem(w, (uint32_t)c->map, key);
	found = k2s_map_present(en, c->st, (uint32_t)c->map, elem);
	sv_ptr(w, &p, K2_T_MAP_VALUE, k2s_mo_val(w, (uint32_t)c->map), (int16_t)c->map, elem,
	       k2s_map_slot(w, (uint32_t)c->map, key), NULL, 0);
	p.ver = c->st->mver[c->map];
	*r = p;
	if (t_bool(s, found) != 1) {
		r->v = t_ite(s, found, p.v, t_n64(s, 0));
		r->t = t_ite(s, found, p.t, t_num(s, 8, K2_T_SCALAR));
		r->tm = K2S_TM(K2_T_MAP_VALUE) | K2S_TM(K2_T_SCALAR);
		r->nullable = true;
	}
	c->ret_ptr = true;
	return 0;
}

/* Writes a whole value (vsize bytes) into an element under guard. */
static void write_value(struct k2_enc *en, struct k2_state *st, uint32_t map, Z3_ast elem,
			Z3_ast *bytes, Z3_ast guard)
{
	struct k2_smt *s = en->s;
	uint8_t o = k2s_mo_val(en->w, map);
	uint32_t vs = map_def(en->w, map)->value_size;

	for (uint32_t i = 0; i < vs; i++) {
		struct k2_mkey k = { .elem = elem, .oc = i };

		k2s_mem_write(en, st, o, &k, bytes[i], NULL, guard, NULL);
		k2s_wloc(en, o, &k, (int32_t)map, b_and(s, st->g, guard));
	}
}

static bool writable(struct k2_hc *c)
{
	const struct k2_map *d = map_def(c->en->w, (uint32_t)c->map);

	if (objarray(c->en->w->prog->maps + c->map) || (!arraylike(d) && !hashlike(d) &&
							d->type != BPF_MAP_TYPE_LPM_TRIE) ||
	    d->type == BPF_MAP_TYPE_HASH_OF_MAPS || d->readonly ||
	    (d->flags & BPF_F_RDONLY_PROG)) {
		k2s_error(c->en, c->st, c->en->s->tru);
		return false;
	}
	if (d->type == BPF_MAP_TYPE_LPM_TRIE) {
		k2s_unsup(c->en, c->st->g, c->pc, "LPM trie updates are not encoded");
		return false;
	}
	return true;
}

Z3_ast k2s_neg(struct k2_smt *s, int err)
{
	return t_n64(s, (uint64_t)(int64_t)-err);
}

int k2s_h_update(struct k2_hc *c)
{
	struct k2_enc *en = c->en;
	struct k2_world *w = en->w;
	struct k2_smt *s = en->s;
	struct k2_state *st = c->st;
	uint32_t m = (uint32_t)c->map;
	const struct k2_map *d = map_def(w, m);
	Z3_ast fl = c->a[3].v, key, elem, pres, ok, bad, ret, full, newel;
	Z3_ast lock = b_ne(s, t_and(s, fl, t_n64(s, BPF_F_LOCK)), t_n64(s, 0));

	if (!writable(c))
		return 0;
	key = key_of(c, 1);
	elem = k2s_map_elem(w, m, key);
	/* flags: only ANY, NOEXIST, EXIST (and F_LOCK, refused later for these maps) */
	bad = b_ult(s, t_n64(s, BPF_EXIST), t_and(s, fl, t_n64(s, ~(uint64_t)BPF_F_LOCK)));
	if (arraylike(d)) {
		Z3_ast idx = t_ext(s, key, 31, 0);
		Z3_ast big = b_ule(s, t_num(s, 32, d->max_entries), idx);
		Z3_ast noex = b_ne(s, t_and(s, fl, t_n64(s, BPF_NOEXIST)), t_n64(s, 0));

		ok = b_not(s, b_or(s, b_or(s, bad, big), b_or(s, noex, lock)));
		ret = t_ite(s, bad, k2s_neg(s, EINVAL),
			    t_ite(s, big, k2s_neg(s, E2BIG),
				  t_ite(s, noex, k2s_neg(s, EEXIST),
					t_ite(s, lock, k2s_neg(s, EINVAL), t_n64(s, 0)))));
		write_value(en, st, m, elem, c->rd[2], ok);
		c->ret = ret;
		return 0;
	}
	pres = k2s_map_present(en, st, m, elem);
	{
		Z3_ast eexist = b_and(s, pres, b_eq(s, fl, t_n64(s, BPF_NOEXIST)));
		Z3_ast enoent = b_and(s, b_not(s, pres), b_eq(s, fl, t_n64(s, BPF_EXIST)));
		Z3_ast now = t_add(s, count0(w, m), st->cnt[m]);

		full = b_and(s, b_not(s, pres), b_ule(s, t_n64(s, d->max_entries), now));
		ok = b_not(s, b_or(s, b_or(s, bad, lock), b_or(s, b_or(s, eexist, enoent), full)));
		if (lru(d))
			k2s_unsup(en,
				  b_and(s, st->g,
					b_and(s, full,
					      b_not(s, b_or(s, b_or(s, bad, lock),
							    b_or(s, eexist, enoent))))),
				  c->pc, "LRU eviction is not encoded");
		ret = t_ite(s, bad, k2s_neg(s, EINVAL),
			    t_ite(s, lock, k2s_neg(s, EINVAL),
				  t_ite(s, eexist, k2s_neg(s, EEXIST),
					t_ite(s, enoent, k2s_neg(s, ENOENT),
					      t_ite(s, full, k2s_neg(s, E2BIG), t_n64(s, 0))))));
	}
	newel = b_and(s, ok, b_not(s, pres));
	write_value(en, st, m, elem, c->rd[2], ok);
	set_present(en, st, m, elem, s->tru, newel);
	st->cnt[m] = t_add(s, st->cnt[m], t_ite(s, newel, t_n64(s, 1), t_n64(s, 0)));
	if (!percpu(d)) /* a new element replaces the old: earlier pointers lose the map */
		st->mver[m] = t_add(s, st->mver[m],
				    t_ite(s, b_and(s, ok, pres), t_num(s, 32, 1), t_num(s, 32, 0)));
	c->ret = ret;
	return 0;
}

int k2s_h_delete(struct k2_hc *c)
{
	struct k2_enc *en = c->en;
	struct k2_world *w = en->w;
	struct k2_smt *s = en->s;
	struct k2_state *st = c->st;
	uint32_t m = (uint32_t)c->map;
	const struct k2_map *d = map_def(w, m);
	Z3_ast elem, pres;

	if (!writable(c))
		return 0;
	if (arraylike(d)) {
		c->ret = k2s_neg(s, EINVAL);
		return 0;
	}
	elem = k2s_map_elem(w, m, key_of(c, 1));
	pres = k2s_map_present(en, st, m, elem);
	if (percpu(d))
		k2s_unsup(en, b_and(s, st->g, pres), c->pc,
			  "deleting per-CPU hash elements is not encoded");
	set_present(en, st, m, elem, s->fls, pres);
	st->cnt[m] = t_sub(s, st->cnt[m], t_ite(s, pres, t_n64(s, 1), t_n64(s, 0)));
	st->mver[m] = t_add(s, st->mver[m], t_ite(s, pres, t_num(s, 32, 1), t_num(s, 32, 0)));
	c->ret = t_ite(s, pres, t_n64(s, 0), k2s_neg(s, ENOENT));
	return 0;
}
