/* bpf/gen_maps.c: random map contents for test inputs. */
#include "bpf/k2_gen.h"

#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_RANDOM_MAX 64 /* elements of a big array that get random values; the rest are 0 */
#define HASH_KEYS 8         /* generated programs use keys 0..7 */

static bool is_array(uint32_t t)
{
	return t == BPF_MAP_TYPE_ARRAY || t == BPF_MAP_TYPE_PERCPU_ARRAY;
}

static bool is_hash(uint32_t t)
{
	return t == BPF_MAP_TYPE_HASH || t == BPF_MAP_TYPE_PERCPU_HASH ||
	       t == BPF_MAP_TYPE_LRU_HASH || t == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

static bool is_percpu(uint32_t t)
{
	return t == BPF_MAP_TYPE_PERCPU_ARRAY || t == BPF_MAP_TYPE_PERCPU_HASH ||
	       t == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

/* Random value bytes; sometimes all zero, sometimes small numbers that compare well. */
static void rand_value(struct k2_rng *r, uint8_t *v, size_t n)
{
	uint64_t k = k2_rng_below(r, 10);

	memset(v, 0, n);
	if (k < 2)
		return;
	for (size_t i = 0; i < n; i++)
		v[i] = (uint8_t)(k < 5 && (i % 4) ? 0 : k2_rng_next(r));
}

static int fill_array(struct k2_rng *r, const struct k2_map *m, uint32_t i, size_t vsz,
		      uint8_t *val, struct k2_mapstate *ms)
{
	if (m->internal) {
		uint32_t zero = 0;

		memset(val, 0, vsz);
		if (m->init)
			memcpy(val, m->init, m->value_size);
		return m->init ? k2_mapstate_update(ms, i, &zero, val, BPF_ANY) : 0;
	}
	for (uint32_t k = 0; k < m->max_entries; k++) {
		if (k >= ARRAY_RANDOM_MAX && k2_rng_below(r, 64))
			continue;
		rand_value(r, val, vsz);
		int err = k2_mapstate_update(ms, i, &k, val, BPF_ANY);

		if (err)
			return err;
	}
	return 0;
}

static int fill_hash(struct k2_rng *r, const struct k2_map *m, uint32_t i, size_t vsz,
		     uint8_t *val, struct k2_mapstate *ms)
{
	uint32_t n = (uint32_t)k2_rng_below(r, (m->max_entries < HASH_KEYS ? m->max_entries
									  : HASH_KEYS) + 1);
	uint8_t key[64];

	if (m->key_size > sizeof(key))
		return 0;
	for (uint32_t j = 0; j < n; j++) {
		int err;

		memset(key, 0, sizeof(key));
		if (m->key_size == 4 || m->key_size == 8)
			key[0] = (uint8_t)k2_rng_below(r, HASH_KEYS);
		else
			for (uint32_t b = 0; b < m->key_size; b++)
				key[b] = (uint8_t)k2_rng_next(r);
		rand_value(r, val, vsz);
		err = k2_mapstate_update(ms, i, key, val, BPF_ANY);
		if (err && err != -E2BIG)
			return err;
	}
	return 0;
}

int k2_gen_mapstate(struct k2_rng *rng, const struct k2_map *maps, uint32_t n, uint32_t ncpus,
		    struct k2_mapstate **out, struct k2_err *e)
{
	struct k2_mapstate *ms;
	int err = k2_mapstate_new(maps, n, ncpus, &ms, e);

	if (err)
		return err;
	for (uint32_t i = 0; i < n && !err; i++) {
		const struct k2_map *m = &maps[i];
		size_t vsz = (size_t)m->value_size * (is_percpu(m->type) ? ncpus : 1);
		uint8_t *val;

		if (!is_array(m->type) && !is_hash(m->type))
			continue;
		val = calloc(1, vsz ? vsz : 1);
		if (!val) {
			err = -ENOMEM;
			break;
		}
		err = is_array(m->type) ? fill_array(rng, m, i, vsz, val, ms)
					: fill_hash(rng, m, i, vsz, val, ms);
		free(val);
		if (err)
			k2_err_set(e, err, "map %s: filling the state failed", m->name);
	}
	if (err) {
		k2_mapstate_free(ms);
		return err;
	}
	*out = ms;
	return 0;
}
