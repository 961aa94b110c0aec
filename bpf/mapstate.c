/* bpf/mapstate.c: map contents shared by runs: arrays, hash maps, LPM tries, object arrays. */
#include <stdlib.h>
#include <string.h>

#include "bpf/vm_internal.h"

struct k2_mstore {
	struct k2_mapinfo mi;
	uint32_t vstride; /* value bytes of one element: value_size * (ncpus if per-CPU) */
	uint8_t *vals;	  /* array-like: max_entries * vstride */
	uint8_t *present; /* object arrays: populated indices */
	uint32_t n, cap;  /* hash-like and LPM: dense entries */
	uint8_t *keys;
	uint8_t *hvals;
	uint64_t *tick;
	int32_t *index; /* open addressing, entry + 1; 0 = empty */
	uint32_t icap;
};

struct k2_mapstate {
	uint32_t n_maps, ncpus;
	uint64_t tick;
	struct k2_mstore *m;
};

uint64_t k2_hash_bytes(const uint8_t *p, uint32_t n, uint64_t seed)
{
	uint64_t h = seed ^ 0xcbf29ce484222325ULL;

	for (uint32_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h ^ (h >> 29);
}

void k2_mapinfo_fill(struct k2_mapinfo *mi, const struct k2_map *def)
{
	memset(mi, 0, sizeof(*mi));
	mi->def = *def;
	mi->vsize = def->value_size;
	mi->ksize = def->key_size;
	switch (def->type) {
	case BPF_MAP_TYPE_PERCPU_ARRAY:
		mi->percpu = true;
		/* fallthrough */
	case BPF_MAP_TYPE_ARRAY:
		mi->arraylike = true;
		break;
	case BPF_MAP_TYPE_PROG_ARRAY:
	case BPF_MAP_TYPE_PERF_EVENT_ARRAY:
	case BPF_MAP_TYPE_DEVMAP:
	case BPF_MAP_TYPE_CPUMAP:
	case BPF_MAP_TYPE_XSKMAP:
	case BPF_MAP_TYPE_ARRAY_OF_MAPS:
		mi->arraylike = mi->objarray = true;
		break;
	case BPF_MAP_TYPE_LRU_PERCPU_HASH:
		mi->lru = true;
		/* fallthrough */
	case BPF_MAP_TYPE_PERCPU_HASH:
		mi->percpu = true;
		mi->hashlike = true;
		break;
	case BPF_MAP_TYPE_LRU_HASH:
		mi->lru = true;
		/* fallthrough */
	case BPF_MAP_TYPE_HASH:
	case BPF_MAP_TYPE_DEVMAP_HASH:
	case BPF_MAP_TYPE_HASH_OF_MAPS:
		mi->hashlike = true;
		break;
	case BPF_MAP_TYPE_LPM_TRIE:
		mi->lpm = true;
		break;
	case BPF_MAP_TYPE_RINGBUF:
		mi->ringbuf = true;
		break;
	}
}

static bool type_known(const struct k2_mapinfo *mi)
{
	return mi->arraylike || mi->hashlike || mi->lpm || mi->ringbuf;
}

static int store_init(struct k2_mstore *s, const struct k2_map *def, uint32_t ncpus,
		      struct k2_err *e)
{
	k2_mapinfo_fill(&s->mi, def);
	/* libbpf sizes a perf event array by itself: 4-byte keys and values, one per CPU. */
	if (def->type == BPF_MAP_TYPE_PERF_EVENT_ARRAY) {
		if (!s->mi.def.key_size)
			s->mi.def.key_size = s->mi.ksize = 4;
		if (!s->mi.def.value_size)
			s->mi.def.value_size = s->mi.vsize = 4;
		if (!s->mi.def.max_entries)
			s->mi.def.max_entries = ncpus;
		def = &s->mi.def;
	}
	if (!type_known(&s->mi))
		return k2_err_set(e, -EOPNOTSUPP, "map %s: type %u is not modelled", def->name,
				  def->type);
	if (s->mi.ringbuf)
		return 0;
	if ((s->mi.arraylike && def->key_size != 4) || def->max_entries == 0 ||
	    (!s->mi.ringbuf && def->value_size == 0) || def->key_size == 0 ||
	    def->value_size > (1u << 20))
		return k2_err_set(e, -EINVAL, "map %s: invalid key/value size or max_entries",
				  def->name);
	if (s->mi.lpm && (def->key_size <= 4 || def->key_size > 4 + 256))
		return k2_err_set(e, -EINVAL, "map %s: invalid LPM key size %u", def->name,
				  def->key_size);
	s->vstride = def->value_size * (s->mi.percpu ? ncpus : 1);
	if (s->mi.arraylike) {
		if ((uint64_t)def->max_entries * s->vstride > (1ull << 31))
			return k2_err_set(e, -E2BIG, "map %s: too large to model", def->name);
		s->vals = calloc(def->max_entries, s->vstride);
		if (!s->vals)
			return k2_err_set(e, -ENOMEM, "out of memory");
		if (s->mi.objarray) {
			s->present = calloc(def->max_entries, 1);
			if (!s->present)
				return k2_err_set(e, -ENOMEM, "out of memory");
		}
		if (def->init)
			memcpy(s->vals, def->init, def->value_size);
	}
	return 0;
}

static void store_free(struct k2_mstore *s)
{
	free(s->vals);
	free(s->present);
	free(s->keys);
	free(s->hvals);
	free(s->tick);
	free(s->index);
}

int k2_mapstate_new(const struct k2_map *maps, uint32_t n_maps, uint32_t ncpus,
		    struct k2_mapstate **out, struct k2_err *e)
{
	struct k2_mapstate *ms = calloc(1, sizeof(*ms));
	int err;

	if (!ms)
		return k2_err_set(e, -ENOMEM, "out of memory");
	ms->n_maps = n_maps;
	ms->ncpus = ncpus ? ncpus : 1;
	ms->m = calloc(n_maps ? n_maps : 1, sizeof(*ms->m));
	if (!ms->m) {
		free(ms);
		return k2_err_set(e, -ENOMEM, "out of memory");
	}
	for (uint32_t i = 0; i < n_maps; i++) {
		err = store_init(&ms->m[i], &maps[i], ms->ncpus, e);
		if (err) {
			ms->n_maps = i + 1;
			k2_mapstate_free(ms);
			return err;
		}
	}
	*out = ms;
	return 0;
}

void k2_mapstate_free(struct k2_mapstate *ms)
{
	if (!ms)
		return;
	for (uint32_t i = 0; i < ms->n_maps; i++)
		store_free(&ms->m[i]);
	free(ms->m);
	free(ms);
}

static void *dup_mem(const void *p, size_t n, bool *fail)
{
	void *q;

	if (!p)
		return NULL;
	q = malloc(n ? n : 1);
	if (!q) {
		*fail = true;
		return NULL;
	}
	memcpy(q, p, n);
	return q;
}

int k2_mapstate_clone(const struct k2_mapstate *ms, struct k2_mapstate **out)
{
	struct k2_mapstate *c = calloc(1, sizeof(*c));
	bool fail = false;

	if (!c)
		return -ENOMEM;
	*c = *ms;
	c->m = calloc(ms->n_maps ? ms->n_maps : 1, sizeof(*c->m));
	if (!c->m) {
		free(c);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < ms->n_maps; i++) {
		const struct k2_mstore *s = &ms->m[i];
		struct k2_mstore *d = &c->m[i];
		uint32_t me = s->mi.def.max_entries;

		*d = *s;
		d->vals = dup_mem(s->vals, (size_t)me * s->vstride, &fail);
		d->present = dup_mem(s->present, me, &fail);
		d->keys = dup_mem(s->keys, (size_t)s->cap * s->mi.ksize, &fail);
		d->hvals = dup_mem(s->hvals, (size_t)s->cap * s->vstride, &fail);
		d->tick = dup_mem(s->tick, (size_t)s->cap * sizeof(uint64_t), &fail);
		d->index = dup_mem(s->index, (size_t)s->icap * sizeof(int32_t), &fail);
	}
	if (fail) {
		k2_mapstate_free(c);
		return -ENOMEM;
	}
	*out = c;
	return 0;
}

uint32_t k2_mapstate_ncpus(const struct k2_mapstate *ms)
{
	return ms->ncpus;
}

uint32_t k2_mapstate_n_maps(const struct k2_mapstate *ms)
{
	return ms->n_maps;
}

const struct k2_map *k2_mapstate_map(const struct k2_mapstate *ms, uint32_t map)
{
	return map < ms->n_maps ? &ms->m[map].mi.def : NULL;
}

/* ---- LPM keys: struct bpf_lpm_trie_key { u32 prefixlen; u8 data[]; } ---------------------- */

static uint32_t lpm_plen(const uint8_t *k)
{
	uint32_t p;

	memcpy(&p, k, 4);
	return p;
}

static bool bits_equal(const uint8_t *a, const uint8_t *b, uint32_t bits)
{
	uint32_t full = bits / 8, rest = bits % 8;

	if (memcmp(a, b, full))
		return false;
	if (!rest)
		return true;
	return ((a[full] ^ b[full]) & (uint8_t)(0xff00 >> rest)) == 0;
}

/* Entry key matches a lookup key: its prefix is no longer and its bits agree. */
bool k2_lpm_match(const uint8_t *entry, const uint8_t *key, uint32_t dsize)
{
	uint32_t ep = lpm_plen(entry), kp = lpm_plen(key);

	if (ep > kp || ep > dsize * 8)
		return false;
	return bits_equal(entry + 4, key + 4, ep);
}

/* Same trie node: equal prefix length and equal bits within it. */
bool k2_lpm_same(const uint8_t *a, const uint8_t *b, uint32_t dsize)
{
	uint32_t p = lpm_plen(a);

	return p == lpm_plen(b) && p <= dsize * 8 && bits_equal(a + 4, b + 4, p);
}

/* ---- lookups ------------------------------------------------------------------------- */

static int32_t hash_find(const struct k2_mstore *s, const uint8_t *key)
{
	uint32_t ks = s->mi.ksize;
	uint64_t h;

	if (!s->icap)
		return -1;
	h = k2_hash_bytes(key, ks, 0);
	for (uint32_t i = 0; i < s->icap; i++) {
		int32_t v = s->index[(h + i) & (s->icap - 1)];

		if (v == 0)
			return -1;
		if (!memcmp(s->keys + (size_t)(v - 1) * ks, key, ks))
			return v - 1;
	}
	return -1;
}

static int32_t lpm_exact(const struct k2_mstore *s, const uint8_t *key)
{
	uint32_t ds = s->mi.ksize - 4;

	for (uint32_t i = 0; i < s->n; i++)
		if (k2_lpm_same(s->keys + (size_t)i * s->mi.ksize, key, ds))
			return (int32_t)i;
	return -1;
}

int32_t k2_ms_lpm_find(const struct k2_mapstate *ms, uint32_t map, const uint8_t *key,
		       uint32_t *plen)
{
	const struct k2_mstore *s = &ms->m[map];
	uint32_t ds = s->mi.ksize - 4;
	int32_t best = -1;

	for (uint32_t i = 0; i < s->n; i++) {
		const uint8_t *ek = s->keys + (size_t)i * s->mi.ksize;

		if (k2_lpm_match(ek, key, ds) && (best < 0 || lpm_plen(ek) > *plen)) {
			best = (int32_t)i;
			*plen = lpm_plen(ek);
		}
	}
	return best;
}

/* Exact entry for a key (LPM: the same node), -1 if none. */
int32_t k2_ms_find(const struct k2_mapstate *ms, uint32_t map, const uint8_t *key)
{
	const struct k2_mstore *s = &ms->m[map];
	uint32_t idx;

	if (s->mi.arraylike) {
		memcpy(&idx, key, 4);
		if (idx >= s->mi.def.max_entries || (s->present && !s->present[idx]))
			return -1;
		return (int32_t)idx;
	}
	if (s->mi.lpm)
		return lpm_exact(s, key);
	if (s->mi.hashlike)
		return hash_find(s, key);
	return -1;
}

const uint8_t *k2_ms_entry_key(const struct k2_mapstate *ms, uint32_t map, int32_t ent)
{
	return ms->m[map].keys + (size_t)ent * ms->m[map].mi.ksize;
}

const uint8_t *k2_ms_entry_val(const struct k2_mapstate *ms, uint32_t map, int32_t ent,
			       uint32_t cpu)
{
	const struct k2_mstore *s = &ms->m[map];
	const uint8_t *base = s->mi.arraylike ? s->vals : s->hvals;

	if (!s->mi.percpu)
		cpu = 0;
	return base + (size_t)ent * s->vstride + (size_t)(cpu % ms->ncpus) * s->mi.vsize;
}

uint32_t k2_ms_count(const struct k2_mapstate *ms, uint32_t map)
{
	const struct k2_mstore *s = &ms->m[map];

	return s->mi.arraylike ? s->mi.def.max_entries : s->n;
}

uint32_t k2_ms_n_entries(const struct k2_mapstate *ms, uint32_t map)
{
	return k2_ms_count(ms, map);
}

bool k2_ms_entry_live(const struct k2_mapstate *ms, uint32_t map, int32_t ent)
{
	const struct k2_mstore *s = &ms->m[map];

	return !s->present || s->present[ent];
}

uint64_t k2_ms_entry_tick(const struct k2_mapstate *ms, uint32_t map, int32_t ent)
{
	const struct k2_mstore *s = &ms->m[map];

	return s->tick ? s->tick[ent] : 0;
}

/* ---- changes --------------------------------------------------------------------------- */

static int index_rebuild(struct k2_mstore *s)
{
	uint32_t want = 16;

	while (want < s->n * 2 + 2)
		want *= 2;
	if (want != s->icap) {
		int32_t *ix = calloc(want, sizeof(*ix));

		if (!ix)
			return -ENOMEM;
		free(s->index);
		s->index = ix;
		s->icap = want;
	} else {
		memset(s->index, 0, (size_t)want * sizeof(*s->index));
	}
	for (uint32_t i = 0; i < s->n; i++) {
		uint64_t h = k2_hash_bytes(s->keys + (size_t)i * s->mi.ksize, s->mi.ksize, 0);

		while (s->index[h & (s->icap - 1)])
			h++;
		s->index[h & (s->icap - 1)] = (int32_t)i + 1;
	}
	return 0;
}

static int entries_grow(struct k2_mstore *s)
{
	uint32_t nc = s->cap ? s->cap * 2 : 8;
	uint8_t *k = realloc(s->keys, (size_t)nc * s->mi.ksize);
	uint8_t *v;
	uint64_t *t;

	if (!k)
		return -ENOMEM;
	s->keys = k;
	v = realloc(s->hvals, (size_t)nc * s->vstride);
	if (!v)
		return -ENOMEM;
	s->hvals = v;
	t = realloc(s->tick, (size_t)nc * sizeof(*t));
	if (!t)
		return -ENOMEM;
	s->tick = t;
	s->cap = nc;
	return 0;
}

static void entry_remove(struct k2_mstore *s, int32_t ent)
{
	uint32_t last = s->n - 1, ks = s->mi.ksize;

	/* Keep insertion order: shift the later entries down. */
	if ((uint32_t)ent != last) {
		memmove(s->keys + (size_t)ent * ks, s->keys + (size_t)(ent + 1) * ks,
			(size_t)(last - ent) * ks);
		memmove(s->hvals + (size_t)ent * s->vstride,
			s->hvals + (size_t)(ent + 1) * s->vstride,
			(size_t)(last - ent) * s->vstride);
		memmove(s->tick + ent, s->tick + ent + 1, (size_t)(last - ent) * sizeof(*s->tick));
	}
	s->n--;
}

static int32_t lru_victim(const struct k2_mstore *s)
{
	int32_t v = 0;

	for (uint32_t i = 1; i < s->n; i++)
		if (s->tick[i] < s->tick[v])
			v = (int32_t)i;
	return v;
}

static int hash_insert(struct k2_mapstate *ms, struct k2_mstore *s, const uint8_t *key,
		       const uint8_t *value)
{
	int err;

	if (s->n >= s->mi.def.max_entries) {
		if (!s->mi.lru)
			return s->mi.lpm ? -ENOSPC : -E2BIG;
		entry_remove(s, lru_victim(s));
	}
	if (s->n == s->cap && (err = entries_grow(s)))
		return err;
	memcpy(s->keys + (size_t)s->n * s->mi.ksize, key, s->mi.ksize);
	memcpy(s->hvals + (size_t)s->n * s->vstride, value, s->vstride);
	s->tick[s->n] = ++ms->tick;
	s->n++;
	return s->mi.lpm ? 0 : index_rebuild(s);
}

static int flags_check(uint64_t flags)
{
	/* BPF_F_LOCK (4) needs a spin lock in the value, which the model has none of. */
	return flags > BPF_EXIST ? -EINVAL : 0;
}

static int array_update(struct k2_mstore *s, uint32_t idx, const uint8_t *value, uint64_t flags)
{
	if (idx >= s->mi.def.max_entries)
		return -E2BIG;
	if (s->mi.objarray) {
		bool was = s->present[idx];

		if (flags == BPF_NOEXIST && was)
			return -EEXIST;
		if (flags == BPF_EXIST && !was)
			return -ENOENT;
		if (s->mi.def.type == BPF_MAP_TYPE_CPUMAP && !memcmp(value, "\0\0\0\0", 4)) {
			s->present[idx] = 0; /* qsize 0 deletes, as cpu_map_update_elem */
			return 0;
		}
		s->present[idx] = 1;
	} else if (flags == BPF_NOEXIST) {
		return -EEXIST;
	}
	memcpy(s->vals + (size_t)idx * s->vstride, value, s->vstride);
	return 0;
}

int k2_mapstate_update(struct k2_mapstate *ms, uint32_t map, const void *key, const void *value,
		       uint64_t flags)
{
	struct k2_mstore *s;
	int32_t ent;
	int err;

	if (map >= ms->n_maps)
		return -EINVAL;
	s = &ms->m[map];
	if ((err = flags_check(flags)))
		return err;
	if (s->mi.ringbuf)
		return -EINVAL;
	if (s->mi.arraylike) {
		uint32_t idx;

		memcpy(&idx, key, 4);
		return array_update(s, idx, value, flags);
	}
	if (s->mi.lpm && lpm_plen(key) > (s->mi.ksize - 4) * 8)
		return -EINVAL;
	ent = k2_ms_find(ms, map, key);
	if (ent >= 0 && flags == BPF_NOEXIST)
		return -EEXIST;
	if (ent < 0 && flags == BPF_EXIST)
		return -ENOENT;
	if (ent >= 0) {
		memcpy(s->hvals + (size_t)ent * s->vstride, value, s->vstride);
		if (s->tick)
			s->tick[ent] = ++ms->tick;
		return 0;
	}
	return hash_insert(ms, s, key, value);
}

int k2_mapstate_delete(struct k2_mapstate *ms, uint32_t map, const void *key)
{
	struct k2_mstore *s;
	int32_t ent;

	if (map >= ms->n_maps)
		return -EINVAL;
	s = &ms->m[map];
	if (s->mi.objarray) {
		uint32_t idx;

		memcpy(&idx, key, 4);
		if (idx >= s->mi.def.max_entries)
			return -EINVAL;
		if (!s->present[idx])
			return -ENOENT;
		s->present[idx] = 0;
		return 0;
	}
	if (s->mi.arraylike || s->mi.ringbuf)
		return -EINVAL;
	ent = k2_ms_find(ms, map, key);
	if (ent < 0)
		return -ENOENT;
	entry_remove(s, ent);
	return s->mi.lpm ? 0 : index_rebuild(s);
}

int k2_mapstate_lookup(const struct k2_mapstate *ms, uint32_t map, const void *key, void *value)
{
	const struct k2_mstore *s;
	int32_t ent;

	if (map >= ms->n_maps)
		return -EINVAL;
	s = &ms->m[map];
	if (s->mi.ringbuf)
		return -EINVAL;
	ent = k2_ms_find(ms, map, key);
	if (ent < 0)
		return -ENOENT;
	memcpy(value, (s->mi.arraylike ? s->vals : s->hvals) + (size_t)ent * s->vstride,
	       s->vstride);
	return 0;
}

int k2_mapstate_next_key(const struct k2_mapstate *ms, uint32_t map, const void *key, void *next)
{
	const struct k2_mstore *s;
	int32_t ent;
	uint32_t i;

	if (map >= ms->n_maps)
		return -EINVAL;
	s = &ms->m[map];
	if (s->mi.arraylike) {
		uint32_t idx = 0;

		if (key) {
			memcpy(&idx, key, 4);
			idx = idx >= s->mi.def.max_entries ? 0 : idx + 1;
		}
		/* Arrays (and the kernel's fd arrays) iterate every index. */
		if (idx >= s->mi.def.max_entries)
			return -ENOENT;
		memcpy(next, &idx, 4);
		return 0;
	}
	if (s->mi.ringbuf)
		return -EINVAL;
	/* A missing key restarts at the first, as the kernel's hash maps do. */
	ent = key ? k2_ms_find(ms, map, key) : -1;
	i = ent < 0 ? 0 : (uint32_t)ent + 1;
	if (i >= s->n)
		return -ENOENT;
	memcpy(next, s->keys + (size_t)i * s->mi.ksize, s->mi.ksize);
	return 0;
}
