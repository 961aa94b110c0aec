/* bpf/mapstate_overlay.c: a run's copy-on-write view of the maps: slots over the state. */
#include <string.h>

#include "bpf/vm_internal.h"

#define LRU_TICK0 (1ull << 62) /* overlay uses are newer than any state tick */

void k2_ov_reset(struct k2_vm *vm, struct k2_machine *m)
{
	for (uint32_t i = 0; i < m->n_slots; i++)
		m->buckets[m->slots[i].bucket] = -1;
	m->n_slots = 0;
	m->kpool_used = m->vpool_used = 0;
	if (m->n_maps) {
		memset(m->count_delta, 0, m->n_maps * sizeof(*m->count_delta));
		memset(m->changed, 0, m->n_maps);
	}
	memset(m->ringbuf_used, 0, sizeof(m->ringbuf_used));
	m->tick = LRU_TICK0;
	(void)vm;
}

static uint32_t key_bucket(const struct k2_mapinfo *mi, uint32_t map, const uint8_t *key,
			   uint32_t nb)
{
	uint8_t tmp[4 + 256];
	uint32_t plen, ds;

	if (!mi->lpm)
		return (uint32_t)k2_hash_bytes(key, mi->ksize, map) & (nb - 1);
	/* LPM nodes are equal when prefix and the bits within it are: hash the masked key. */
	ds = mi->ksize - 4;
	memcpy(&plen, key, 4);
	memset(tmp, 0, sizeof(tmp));
	memcpy(tmp, key, 4);
	for (uint32_t b = 0; b < ds * 8 && b < plen; b++)
		tmp[4 + b / 8] |= key[4 + b / 8] & (0x80 >> (b % 8));
	return (uint32_t)k2_hash_bytes(tmp, mi->ksize, map) & (nb - 1);
}

static bool key_same(const struct k2_mapinfo *mi, const uint8_t *a, const uint8_t *b)
{
	if (mi->lpm)
		return k2_lpm_same(a, b, mi->ksize - 4);
	return !memcmp(a, b, mi->ksize);
}

/* Newest overlay slot with this exact key, any state, or -1. */
static int32_t ov_find(struct k2_vm *vm, struct k2_machine *m, uint32_t map, const uint8_t *key)
{
	const struct k2_mapinfo *mi = &vm->maps[map];
	int32_t s = m->buckets[key_bucket(mi, map, key, m->n_buckets)];

	for (; s >= 0; s = m->slots[s].next)
		if (m->slots[s].map == map && m->slots[s].state != K2_SLOT_DETACHED &&
		    key_same(mi, k2_slot_key(m, (uint32_t)s), key))
			return s;
	return -1;
}

static int32_t slot_new(struct k2_vm *vm, struct k2_machine *m, uint32_t map, const uint8_t *key,
			int32_t base, uint8_t state)
{
	const struct k2_mapinfo *mi = &vm->maps[map];
	struct k2_slot *sl;
	uint32_t s = m->n_slots;

	if (s >= m->max_slots || m->kpool_used + mi->ksize > m->kpool_cap ||
	    m->vpool_used + mi->vsize > m->vpool_cap) {
		k2_fail(m, K2_RUN_ECAP, "run touched more map elements than max_slots");
		return -1;
	}
	sl = &m->slots[s];
	memset(sl, 0, sizeof(*sl));
	sl->map = map;
	sl->key_off = m->kpool_used;
	sl->val_off = m->vpool_used;
	sl->vsize = mi->vsize;
	sl->base = base;
	sl->state = state;
	sl->ro = mi->def.readonly || (mi->def.flags & BPF_F_RDONLY_PROG) ||
		 mi->def.type == BPF_MAP_TYPE_DEVMAP || mi->def.type == BPF_MAP_TYPE_DEVMAP_HASH;
	sl->tick = ++m->tick;
	m->kpool_used += (mi->ksize + 7) & ~7u;
	m->vpool_used += (mi->vsize + 7) & ~7u;
	memcpy(k2_slot_key(m, s), key, mi->ksize);
	if (base >= 0)
		memcpy(k2_slot_val(m, s), k2_ms_entry_val(m->in->maps, map, base, m->in->cpu),
		       mi->vsize);
	else
		memset(k2_slot_val(m, s), 0, mi->vsize);
	sl->bucket = key_bucket(mi, map, key, m->n_buckets);
	sl->next = m->buckets[sl->bucket];
	m->buckets[sl->bucket] = (int32_t)s;
	m->n_slots++;
	return (int32_t)s;
}

/* Exact element: overlay slot (present) or base entry copied in; -1 absent, -2 error. */
static int32_t exact(struct k2_vm *vm, struct k2_machine *m, uint32_t map, const uint8_t *key,
		     bool *absent_in_ov)
{
	int32_t s = ov_find(vm, m, map, key), b;

	*absent_in_ov = false;
	if (s >= 0) {
		if (m->slots[s].state == K2_SLOT_PRESENT)
			return s;
		*absent_in_ov = true;
		return -1;
	}
	b = k2_ms_find(m->in->maps, map, key);
	if (b < 0)
		return -1;
	s = slot_new(vm, m, map, key, b, K2_SLOT_PRESENT);
	return s < 0 ? -2 : s;
}

static int32_t lpm_lookup(struct k2_vm *vm, struct k2_machine *m, uint32_t map, const uint8_t *key)
{
	const struct k2_mapinfo *mi = &vm->maps[map];
	const struct k2_mapstate *ms = m->in->maps;
	uint32_t ds = mi->ksize - 4, best_len = 0, n = k2_ms_n_entries(ms, map), plen;
	int32_t best_slot = -1, best_base = -1;

	for (uint32_t i = 0; i < m->n_slots; i++) {
		const uint8_t *k = k2_slot_key(m, i);

		if (m->slots[i].map != map || m->slots[i].state != K2_SLOT_PRESENT ||
		    ov_find(vm, m, map, k) != (int32_t)i || !k2_lpm_match(k, key, ds))
			continue;
		memcpy(&plen, k, 4);
		if (best_slot < 0 || plen > best_len)
			best_slot = (int32_t)i, best_len = plen;
	}
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *k = k2_ms_entry_key(ms, map, (int32_t)i);

		if (!k2_lpm_match(k, key, ds))
			continue;
		memcpy(&plen, k, 4);
		if ((best_slot >= 0 || best_base >= 0) && plen <= best_len)
			continue;
		if (ov_find(vm, m, map, k) >= 0)
			continue; /* shadowed by the run's own change */
		best_base = (int32_t)i, best_len = plen, best_slot = -1;
	}
	if (best_base >= 0)
		return slot_new(vm, m, map, k2_ms_entry_key(ms, map, best_base), best_base,
				K2_SLOT_PRESENT);
	return best_slot;
}

int32_t k2_ov_lookup(struct k2_vm *vm, struct k2_machine *m, uint32_t map, const uint8_t *key,
		     int *err)
{
	const struct k2_mapinfo *mi = &vm->maps[map];
	bool absent;
	int32_t s;

	*err = 0;
	if (mi->lpm)
		s = lpm_lookup(vm, m, map, key);
	else
		s = exact(vm, m, map, key, &absent);
	if (s == -2 || (s == -1 && m->status == K2_RUN_ECAP)) {
		*err = -1;
		return -1;
	}
	if (s >= 0 && mi->lru)
		m->slots[s].tick = ++m->tick;
	return s;
}

/* Elements of a hash-like map now. */
static int64_t count_now(struct k2_machine *m, uint32_t map)
{
	return (int64_t)k2_ms_count(m->in->maps, map) + m->count_delta[map];
}

/* Least recently used live element of an LRU map: removed to make room. */
static int lru_evict(struct k2_vm *vm, struct k2_machine *m, uint32_t map)
{
	const struct k2_mapstate *ms = m->in->maps;
	uint32_t n = k2_ms_n_entries(ms, map);
	uint64_t best = UINT64_MAX;
	int32_t bs = -1, bb = -1, s;

	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *k = k2_ms_entry_key(ms, map, (int32_t)i);

		if (ov_find(vm, m, map, k) >= 0)
			continue;
		if (k2_ms_entry_tick(ms, map, (int32_t)i) < best)
			best = k2_ms_entry_tick(ms, map, (int32_t)i), bb = (int32_t)i, bs = -1;
	}
	for (uint32_t i = 0; i < m->n_slots; i++)
		if (m->slots[i].map == map && m->slots[i].state == K2_SLOT_PRESENT &&
		    ov_find(vm, m, map, k2_slot_key(m, i)) == (int32_t)i && m->slots[i].tick < best)
			best = m->slots[i].tick, bs = (int32_t)i, bb = -1;
	if (bb >= 0) {
		s = slot_new(vm, m, map, k2_ms_entry_key(ms, map, bb), bb, K2_SLOT_ABSENT);
		if (s < 0)
			return -1;
	} else if (bs >= 0) {
		m->slots[bs].state = K2_SLOT_ABSENT;
	} else {
		return 0;
	}
	m->count_delta[map]--;
	return 0;
}

static int update_hash(struct k2_vm *vm, struct k2_machine *m, uint32_t map, const uint8_t *key,
		       const uint8_t *val, uint64_t flags, int *err)
{
	const struct k2_mapinfo *mi = &vm->maps[map];
	bool absent;
	int32_t s = exact(vm, m, map, key, &absent), old = s;

	if (s == -2)
		return -1;
	if (s >= 0 && flags == BPF_NOEXIST) {
		*err = -EEXIST;
		return 0;
	}
	if (s < 0 && flags == BPF_EXIST) {
		*err = -ENOENT;
		return 0;
	}
	if (s >= 0 && mi->percpu) {
		memcpy(k2_slot_val(m, (uint32_t)s), val, mi->vsize); /* in place */
		m->slots[s].tick = ++m->tick;
		return 0;
	}
	if (s < 0 && count_now(m, map) >= mi->def.max_entries) {
		if (!mi->lru) {
			*err = mi->lpm ? -ENOSPC : -E2BIG;
			return 0;
		}
		if (lru_evict(vm, m, map))
			return -1;
	}
	/* A new element replaces the old: pointers to the old one no longer reach the map. */
	if (old >= 0)
		m->slots[old].state = K2_SLOT_DETACHED;
	s = slot_new(vm, m, map, key, old >= 0 ? m->slots[old].base : -1, K2_SLOT_PRESENT);
	if (s < 0)
		return -1;
	if (mi->percpu && old < 0) {
		/* Other CPUs of a new per-CPU element read zero; commit knows by base < 0. */
	}
	memcpy(k2_slot_val(m, (uint32_t)s), val, mi->vsize);
	if (old < 0)
		m->count_delta[map]++;
	return 0;
}

int k2_ov_update(struct k2_vm *vm, struct k2_machine *m, uint32_t map, const uint8_t *key,
		 const uint8_t *val, uint64_t flags, int *err)
{
	const struct k2_mapinfo *mi = &vm->maps[map];
	bool absent;
	uint32_t idx, plen;
	int32_t s;

	*err = 0;
	/* The kernel's order of checks: flags, index, NOEXIST, then BPF_F_LOCK (no map here
	 * has a spin lock); the LPM trie takes no BPF_F_LOCK at all. */
	if ((flags & ~(uint64_t)BPF_F_LOCK) > BPF_EXIST || (mi->lpm && flags > BPF_EXIST)) {
		*err = -EINVAL;
		return 0;
	}
	if (mi->arraylike) {
		memcpy(&idx, key, 4);
		if (idx >= mi->def.max_entries) {
			*err = -E2BIG;
			return 0;
		}
		if (flags & BPF_NOEXIST) {
			*err = -EEXIST;
			return 0;
		}
		if (flags & BPF_F_LOCK) {
			*err = -EINVAL;
			return 0;
		}
		s = exact(vm, m, map, key, &absent);
		if (s < 0)
			return -1;
		memcpy(k2_slot_val(m, (uint32_t)s), val, mi->vsize);
		m->changed[map] = 1;
		return 0;
	}
	if (flags & BPF_F_LOCK) {
		*err = -EINVAL;
		return 0;
	}
	if (mi->lpm) {
		memcpy(&plen, key, 4);
		if (plen > (mi->ksize - 4) * 8) {
			*err = -EINVAL;
			return 0;
		}
	}
	if (update_hash(vm, m, map, key, val, flags, err))
		return -1;
	if (!*err)
		m->changed[map] = 1;
	return 0;
}

int k2_ov_delete(struct k2_vm *vm, struct k2_machine *m, uint32_t map, const uint8_t *key, int *err)
{
	const struct k2_mapinfo *mi = &vm->maps[map];
	bool absent;
	int32_t s;

	*err = 0;
	if (mi->arraylike) {
		*err = -EINVAL;
		return 0;
	}
	s = exact(vm, m, map, key, &absent);
	if (s == -2)
		return -1;
	if (s < 0) {
		*err = -ENOENT;
		return 0;
	}
	m->slots[s].state = K2_SLOT_ABSENT;
	m->count_delta[map]--;
	m->changed[map] = 1;
	return 0;
}

int32_t k2_ov_add(struct k2_vm *vm, struct k2_machine *m, uint32_t map, const uint8_t *key,
		  const uint8_t *val)
{
	int32_t base = m->in && m->in->maps ? k2_ms_find(m->in->maps, map, key) : -1;
	int32_t old = ov_find(vm, m, map, key), s;

	if (old >= 0)
		m->slots[old].state = K2_SLOT_DETACHED;
	s = slot_new(vm, m, map, key, -1, K2_SLOT_PRESENT);
	if (s < 0) {
		m->status = K2_RUN_OK;
		return -1;
	}
	m->slots[s].base = base;
	memcpy(k2_slot_val(m, (uint32_t)s), val, vm->maps[map].vsize);
	return s;
}

bool k2_ov_populated(struct k2_vm *vm, struct k2_machine *m, uint32_t map, uint32_t idx)
{
	if (idx >= vm->maps[map].def.max_entries)
		return false;
	return k2_ms_find(m->in->maps, map, (const uint8_t *)&idx) >= 0;
}

/* ---- after a run ----------------------------------------------------------------------- */

/* The full value (ncpus columns for per-CPU maps) of a present slot. */
static void full_value(const struct k2_vm *vm, const struct k2_machine *m, uint32_t s, uint8_t *out)
{
	const struct k2_slot *sl = &m->slots[s];
	const struct k2_mapinfo *mi = &vm->maps[sl->map];
	const struct k2_mapstate *ms = m->in->maps;
	uint32_t nc = k2_mapstate_ncpus(ms), cpu = m->in->cpu % nc;

	if (!mi->percpu) {
		memcpy(out, m->vpool + sl->val_off, mi->vsize);
		return;
	}
	for (uint32_t c = 0; c < nc; c++) {
		if (sl->base >= 0)
			memcpy(out + (size_t)c * mi->vsize,
			       k2_ms_entry_val(ms, sl->map, sl->base, c), mi->vsize);
		else
			memset(out + (size_t)c * mi->vsize, 0, mi->vsize);
	}
	memcpy(out + (size_t)cpu * mi->vsize, m->vpool + sl->val_off, mi->vsize);
}

int k2_vm_map_lookup(const struct k2_vm *vm, uint32_t map, const void *key, void *value)
{
	const struct k2_machine *m = &vm->m;
	int32_t s;

	if (map >= vm->n_maps || !vm->ran)
		return -EINVAL;
	if (vm->maps[map].arraylike) {
		uint32_t idx;

		memcpy(&idx, key, 4);
		if (idx >= vm->maps[map].def.max_entries)
			return -ENOENT;
	}
	s = ov_find((struct k2_vm *)vm, (struct k2_machine *)m, map, key);
	if (s < 0)
		return k2_mapstate_lookup(m->in->maps, map, key, value);
	if (m->slots[s].state != K2_SLOT_PRESENT)
		return -ENOENT;
	full_value(vm, m, (uint32_t)s, value);
	return 0;
}

bool k2_vm_map_changed(const struct k2_vm *vm, uint32_t map)
{
	return map < vm->n_maps && vm->ran && vm->m.changed[map];
}

int k2_vm_map_commit(const struct k2_vm *vm, struct k2_mapstate *ms)
{
	const struct k2_machine *m = &vm->m;
	uint8_t buf[1 << 16];
	int err;

	if (!vm->ran)
		return -EINVAL;
	/* Removals first, so that a full map has room for what the run added. */
	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t i = 0; i < m->n_slots; i++) {
			const struct k2_slot *sl = &m->slots[i];
			const uint8_t *key = m->kpool + sl->key_off;

			if (ov_find((struct k2_vm *)vm, (struct k2_machine *)m, sl->map, key) !=
			    (int32_t)i)
				continue;
			if (pass == 0 && sl->state == K2_SLOT_ABSENT) {
				err = k2_mapstate_delete(ms, sl->map, key);
				if (err && err != -ENOENT)
					return err;
			} else if (pass == 1 && sl->state == K2_SLOT_PRESENT) {
				uint32_t nc = k2_mapstate_ncpus(ms);
				size_t need = (size_t)vm->maps[sl->map].vsize *
					      (vm->maps[sl->map].percpu ? nc : 1);

				if (need > sizeof(buf))
					return -E2BIG;
				full_value(vm, m, i, buf);
				err = k2_mapstate_update(ms, sl->map, key, buf, BPF_ANY);
				if (err)
					return err;
			}
		}
	}
	return 0;
}
