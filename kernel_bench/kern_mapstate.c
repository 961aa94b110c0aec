/* kernel_bench/kern_mapstate.c: moving map contents between k2_mapstate and the kernel's maps. */
#include "kernel_bench/kern_int.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Buffers for one map: a key, a value in the state's layout and in the kernel's. */
struct xfer {
	const struct k2_map *m;
	uint32_t idx;
	int fd;
	bool percpu;
	uint32_t s_ncpus, k_ncpus;
	size_t s_vsz, k_vsz, k_stride;
	uint8_t *key, *next, *sval, *kval, *hval;
	const struct k2_mapstate *have; /* what the kernel map holds now, if known */
};

static size_t round8(size_t x)
{
	return (x + 7) & ~(size_t)7;
}

static int xfer_init(struct xfer *x, const struct k2_kern_maps *km, uint32_t i,
		     const struct k2_mapstate *ms, struct k2_err *e)
{
	const struct k2_map *m = &km->maps[i];
	size_t ksz = m->key_size ? m->key_size : 1;

	memset(x, 0, sizeof(*x));
	x->m = m;
	x->idx = i;
	x->fd = km->fds[i];
	x->percpu = k2_kern_map_percpu(m->type);
	x->s_ncpus = x->percpu ? k2_mapstate_ncpus(ms) : 1;
	x->k_ncpus = x->percpu ? (uint32_t)km->kern_ncpus : 1;
	x->k_stride = x->percpu ? round8(m->value_size) : m->value_size;
	x->s_vsz = (size_t)m->value_size * x->s_ncpus;
	x->k_vsz = x->k_stride * x->k_ncpus;
	x->key = calloc(1, ksz);
	x->next = calloc(1, ksz);
	x->sval = calloc(1, x->s_vsz ? x->s_vsz : 1);
	x->kval = calloc(1, x->k_vsz ? x->k_vsz : 1);
	x->hval = calloc(1, x->s_vsz ? x->s_vsz : 1);
	if (!x->key || !x->next || !x->sval || !x->kval || !x->hval)
		return k2_err_set(e, -ENOMEM, "map %s: out of memory", m->name);
	return 0;
}

static void xfer_fini(struct xfer *x)
{
	free(x->key);
	free(x->next);
	free(x->sval);
	free(x->kval);
	free(x->hval);
}

/* State layout (ncpus values of value_size, packed) to the kernel's (8-byte strides). */
static void to_kern(struct xfer *x)
{
	size_t vs = x->m->value_size;

	memset(x->kval, 0, x->k_vsz);
	for (uint32_t c = 0; c < x->s_ncpus && c < x->k_ncpus; c++)
		memcpy(x->kval + c * x->k_stride, x->sval + c * vs, vs);
}

static void to_state(struct xfer *x)
{
	size_t vs = x->m->value_size;

	memset(x->sval, 0, x->s_vsz);
	for (uint32_t c = 0; c < x->s_ncpus && c < x->k_ncpus; c++)
		memcpy(x->sval + c * vs, x->kval + c * x->k_stride, vs);
}

static int sys_err(struct xfer *x, const char *what, struct k2_err *e)
{
	return k2_err_set(e, -errno, "map %s (%s): %s: %s", x->m->name,
			  k2_kern_map_type_str(x->m->type), what, strerror(errno));
}

static int put_state(struct xfer *x, struct k2_mapstate *ms, struct k2_err *e);

#define BATCH 1024 /* array elements per BPF_MAP_*_BATCH call */

/* A big array is mmap()ed: elements are 8-byte aligned in the mapping. */
static int fill_mem(struct xfer *x, uint8_t *mem, const struct k2_mapstate *ms,
		    struct k2_err *e)
{
	size_t stride = (x->m->value_size + 7) & ~(size_t)7;

	for (uint32_t k = 0; k < x->m->max_entries; k++) {
		int err = k2_mapstate_lookup(ms, x->idx, &k, x->sval);

		if (err == -ENOENT)
			memset(x->sval, 0, x->s_vsz);
		else if (err)
			return k2_err_set(e, err, "map %s: state lookup of index %u failed",
					  x->m->name, k);
		memcpy(mem + k * stride, x->sval, x->m->value_size);
	}
	return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* Elements that are all zero are left out: a fresh state already holds them (unless the map
 * has initial bytes, which k2_mapstate_new() puts in). */
static int read_mem(struct xfer *x, const uint8_t *mem, struct k2_mapstate *ms,
		    struct k2_err *e)
{
	size_t stride = (x->m->value_size + 7) & ~(size_t)7;

	for (uint32_t k = 0; k < x->m->max_entries; k++) {
		const uint8_t *v = mem + k * stride;
		int err;

		if (!x->m->init && all_zero(v, x->m->value_size))
			continue;
		memcpy(x->key, &k, sizeof(k));
		memcpy(x->kval, v, x->m->value_size);
		err = put_state(x, ms, e);
		if (err)
			return err;
	}
	return 0;
}

/* The value of key in a state, into buf; absent array elements read as zero. 1 if absent. */
static int state_get(struct xfer *x, const struct k2_mapstate *ms, const void *key, uint8_t *buf,
		     struct k2_err *e)
{
	int err = k2_mapstate_lookup(ms, x->idx, key, buf);

	if (err == -ENOENT) {
		memset(buf, 0, x->s_vsz);
		return 1;
	}
	if (err)
		return k2_err_set(e, err, "map %s: state lookup failed", x->m->name);
	return 0;
}

/* Whether the kernel already holds what `want` has for key (sval holds want's value). */
static bool unchanged(struct xfer *x, const void *key, int want_absent)
{
	int r;

	if (!x->have)
		return false;
	r = k2_mapstate_lookup(x->have, x->idx, key, x->hval);
	if (r == -ENOENT)
		return want_absent;
	return !r && !want_absent && !memcmp(x->sval, x->hval, x->s_vsz);
}

/* Arrays move in batches: big ones (a 64K-entry port table) cost a few calls, not 64K. */
static int fill_array(struct xfer *x, const struct k2_mapstate *ms, struct k2_err *e)
{
	uint32_t keys[BATCH], max = x->m->max_entries, n = 0;
	uint8_t *vals = malloc(BATCH * x->k_vsz);
	int err = 0;

	if (!vals)
		return k2_err_set(e, -ENOMEM, "map %s: out of memory", x->m->name);
	for (uint32_t k = 0; k <= max && !err; k++) {
		if (k < max) {
			int absent = state_get(x, ms, &k, x->sval, e);
			int h;

			if (absent < 0) {
				err = absent;
				break;
			}
			/* An absent array element is a zero one: compare as such. */
			if (x->have) {
				h = k2_mapstate_lookup(x->have, x->idx, &k, x->hval);
				if (h == -ENOENT) {
					memset(x->hval, 0, x->s_vsz);
					h = 0;
				}
				if (!h && !memcmp(x->sval, x->hval, x->s_vsz))
					continue;
			}
			to_kern(x);
			keys[n] = k;
			memcpy(vals + n * x->k_vsz, x->kval, x->k_vsz);
			n++;
		}
		if (n == BATCH || (k == max && n)) {
			LIBBPF_OPTS(bpf_map_batch_opts, bo, .elem_flags = BPF_ANY);

			if (bpf_map_update_batch(x->fd, keys, vals, &n, &bo) < 0)
				err = sys_err(x, "BPF_MAP_UPDATE_BATCH", e);
			n = 0;
		}
	}
	free(vals);
	return err;
}

static int read_array(struct xfer *x, struct k2_mapstate *ms, struct k2_err *e)
{
	uint32_t keys[BATCH], cursor = 0, max = x->m->max_entries;
	uint8_t *vals = malloc(BATCH * x->k_vsz);
	int err = 0;

	if (!vals)
		return k2_err_set(e, -ENOMEM, "map %s: out of memory", x->m->name);
	for (uint32_t done = 0; done < max && !err;) {
		uint32_t n = BATCH, next;
		LIBBPF_OPTS(bpf_map_batch_opts, bo);
		int r = bpf_map_lookup_batch(x->fd, done ? &cursor : NULL, &next, keys, vals, &n,
					     &bo);

		if (r < 0 && errno != ENOENT) {
			err = sys_err(x, "BPF_MAP_LOOKUP_BATCH", e);
			break;
		}
		for (uint32_t j = 0; j < n && !err; j++) {
			if (!x->m->init && all_zero(vals + j * x->k_vsz, x->k_vsz))
				continue;
			memcpy(x->key, &keys[j], sizeof(keys[j]));
			memcpy(x->kval, vals + j * x->k_vsz, x->k_vsz);
			err = put_state(x, ms, e);
		}
		done += n;
		cursor = next;
		if (r < 0 || !n)
			break; /* ENOENT: the last batch */
	}
	free(vals);
	return err;
}

/* Populated slots get the state's value (an ifindex, a queue size), empty ones are deleted. */
static int fill_slots(struct xfer *x, const struct k2_mapstate *ms, struct k2_err *e)
{
	for (uint32_t k = 0; k < x->m->max_entries; k++) {
		int absent = state_get(x, ms, &k, x->sval, e);

		if (absent < 0)
			return absent;
		if (unchanged(x, &k, absent))
			continue;
		if (absent) {
			if (bpf_map_delete_elem(x->fd, &k) < 0 && errno != ENOENT)
				return sys_err(x, "BPF_MAP_DELETE_ELEM", e);
			continue;
		}
		to_kern(x);
		if (bpf_map_update_elem(x->fd, &k, x->kval, BPF_ANY) < 0)
			return sys_err(x, "BPF_MAP_UPDATE_ELEM (a device or CPU that exists?)", e);
	}
	return 0;
}

static int clear_hash(struct xfer *x, struct k2_err *e)
{
	/* Deleting the first key each time needs no iteration state that deletes invalidate. */
	while (bpf_map_get_next_key(x->fd, NULL, x->key) == 0)
		if (bpf_map_delete_elem(x->fd, x->key) < 0)
			return sys_err(x, "BPF_MAP_DELETE_ELEM", e);
	if (errno != ENOENT)
		return sys_err(x, "BPF_MAP_GET_NEXT_KEY", e);
	return 0;
}

/* Keys of `have` that `want` lacks are deleted from the kernel map. */
static int drop_stale(struct xfer *x, const struct k2_mapstate *want, struct k2_err *e)
{
	const void *prev = NULL;

	while (k2_mapstate_next_key(x->have, x->idx, prev, x->next) == 0) {
		memcpy(x->key, x->next, x->m->key_size);
		prev = x->key;
		if (k2_mapstate_lookup(want, x->idx, x->key, x->sval) != -ENOENT)
			continue;
		if (bpf_map_delete_elem(x->fd, x->key) < 0 && errno != ENOENT)
			return sys_err(x, "BPF_MAP_DELETE_ELEM", e);
	}
	return 0;
}

static int fill_hash(struct xfer *x, const struct k2_mapstate *ms, struct k2_err *e)
{
	const void *prev = NULL;
	int err = x->have ? drop_stale(x, ms, e) : clear_hash(x, e);

	while (!err) {
		err = k2_mapstate_next_key(ms, x->idx, prev, x->next);
		if (err == -ENOENT)
			return 0;
		if (err)
			return k2_err_set(e, err, "map %s: state key iteration failed", x->m->name);
		memcpy(x->key, x->next, x->m->key_size);
		prev = x->key;
		err = k2_mapstate_lookup(ms, x->idx, x->key, x->sval);
		if (err)
			return k2_err_set(e, err, "map %s: state lookup of an iterated key failed",
					  x->m->name);
		if (unchanged(x, x->key, 0))
			continue;
		to_kern(x);
		if (bpf_map_update_elem(x->fd, x->key, x->kval, BPF_ANY) < 0)
			return sys_err(x, "BPF_MAP_UPDATE_ELEM", e);
	}
	return err;
}

static bool frozen(const struct k2_map *m)
{
	return m->internal && m->readonly;
}

int k2_kern_maps_fill(struct k2_kern_maps *km, const struct k2_mapstate *ms, struct k2_err *e)
{
	return k2_kern_maps_update(km, ms, NULL, e);
}

int k2_kern_maps_update(struct k2_kern_maps *km, const struct k2_mapstate *ms,
			const struct k2_mapstate *have, struct k2_err *e)
{
	km->idle_src = ms;
	for (uint32_t i = 0; i < km->n; i++) {
		enum k2_kern_data d = k2_kern_map_data(km->maps[i].type);
		struct xfer x;
		int err;

		if (d == K2_KERN_DATA_NONE || frozen(&km->maps[i]) || km->fds[i] < 0 || km->idle[i])
			continue;
		err = xfer_init(&x, km, i, ms, e);
		x.have = have;
		if (!err && km->mem[i])
			err = fill_mem(&x, km->mem[i], ms, e);
		else if (!err)
			err = d == K2_KERN_DATA_ARRAY ? fill_array(&x, ms, e)
			      : d == K2_KERN_DATA_SLOTS ? fill_slots(&x, ms, e)
							: fill_hash(&x, ms, e);
		xfer_fini(&x);
		if (err)
			return err;
	}
	return 0;
}

static int put_state(struct xfer *x, struct k2_mapstate *ms, struct k2_err *e)
{
	int err;

	to_state(x);
	err = k2_mapstate_update(ms, x->idx, x->key, x->sval, BPF_ANY);
	if (err)
		return k2_err_set(e, err, "map %s: storing a kernel entry in the state: %s",
				  x->m->name, strerror(-err));
	return 0;
}

static int read_map(struct xfer *x, struct k2_mapstate *ms, struct k2_err *e)
{
	const void *prev = NULL;
	int err;

	for (;;) {
		if (bpf_map_get_next_key(x->fd, prev, x->next) < 0) {
			if (errno == ENOENT)
				return 0;
			return sys_err(x, "BPF_MAP_GET_NEXT_KEY", e);
		}
		memcpy(x->key, x->next, x->m->key_size);
		prev = x->key;
		if (bpf_map_lookup_elem(x->fd, x->key, x->kval) < 0) {
			if (errno == ENOENT) /* deleted meanwhile (LRU): absent */
				continue;
			return sys_err(x, "BPF_MAP_LOOKUP_ELEM", e);
		}
		err = put_state(x, ms, e);
		if (err)
			return err;
	}
}

/* An idle map reads as what was last written into it (km->idle_src): the program cannot touch it.
 */
static int copy_map(const struct k2_kern_maps *km, uint32_t i, struct k2_mapstate *ms,
		    struct k2_err *e)
{
	const struct k2_mapstate *src = km->idle_src;
	const struct k2_map *m = &km->maps[i];
	size_t vsz =
		(size_t)m->value_size * (k2_kern_map_percpu(m->type) ? k2_mapstate_ncpus(ms) : 1);
	uint8_t *key = calloc(2, m->key_size ? m->key_size : 1), *val = calloc(1, vsz ? vsz : 1);
	const void *prev = NULL;
	int err = 0;

	if (!key || !val)
		err = k2_err_set(e, -ENOMEM, "out of memory");
	while (!err && src && k2_mapstate_next_key(src, i, prev, key + m->key_size) == 0) {
		memcpy(key, key + m->key_size, m->key_size);
		prev = key;
		if (!k2_mapstate_lookup(src, i, key, val))
			err = k2_mapstate_update(ms, i, key, val, BPF_ANY);
		if (err)
			k2_err_set(e, err, "map %s: copying an idle map's entry failed", m->name);
	}
	free(key);
	free(val);
	return err;
}

int k2_kern_maps_read(const struct k2_kern_maps *km, struct k2_mapstate *ms, struct k2_err *e)
{
	for (uint32_t i = 0; i < km->n; i++) {
		struct xfer x;
		int err;

		if (!k2_kern_map_has_data(km->maps[i].type) || km->fds[i] < 0)
			continue;
		if (km->idle[i]) {
			err = copy_map(km, i, ms, e);
			if (err)
				return err;
			continue;
		}
		err = xfer_init(&x, km, i, ms, e);
		if (!err && km->mem[i])
			err = read_mem(&x, km->mem[i], ms, e);
		else if (!err)
			err = k2_kern_map_data(km->maps[i].type) == K2_KERN_DATA_ARRAY
				      ? read_array(&x, ms, e)
				      : read_map(&x, ms, e);
		xfer_fini(&x);
		if (err)
			return err;
	}
	return 0;
}

static void hex(char *out, size_t len, const uint8_t *p, size_t n)
{
	size_t j = 0;

	if (!len)
		return;
	out[0] = '\0';
	for (size_t i = 0; i < n && j + 3 < len; i++)
		j += (size_t)snprintf(out + j, len - j, "%02x", p[i]);
	if (n && j + 3 >= len && len > 4)
		memcpy(out + len - 4, "..", 3);
}

/* Every key of `a` has the same value in `b`. Returns 1 with a message at the first that does not.
 */
static int diff_one_way(const struct k2_map *m, uint32_t i, size_t vsz, const struct k2_mapstate *a,
			const struct k2_mapstate *b, bool swapped, char *diff, size_t len)
{
	size_t ks = m->key_size ? m->key_size : 1;
	uint8_t *key = calloc(2, ks), *va = calloc(2, vsz ? vsz : 1);
	uint8_t *next = key + ks, *vb = va + vsz;
	const void *prev = NULL;
	char kh[64], ha[160], hb[160];
	int ret = 0;

	if (!key || !va) {
		snprintf(diff, len, "out of memory");
		ret = -ENOMEM;
	}
	while (!ret && k2_mapstate_next_key(a, i, prev, next) == 0) {
		memcpy(key, next, ks);
		prev = key;
		if (k2_mapstate_lookup(a, i, key, va))
			continue;
		if (k2_mapstate_lookup(b, i, key, vb)) {
			hex(kh, sizeof(kh), key, m->key_size);
			snprintf(diff, len, "map %s key %s: only in the %s", m->name, kh,
				 swapped ? "second" : "first");
			ret = 1;
		} else if (!swapped && memcmp(va, vb, vsz)) {
			hex(kh, sizeof(kh), key, m->key_size);
			hex(ha, sizeof(ha), va, vsz);
			hex(hb, sizeof(hb), vb, vsz);
			snprintf(diff, len, "map %s key %s: %s vs %s", m->name, kh, ha, hb);
			ret = 1;
		}
	}
	free(key);
	free(va);
	return ret;
}

int k2_kern_maps_diff(const struct k2_mapstate *a, const struct k2_mapstate *b, char *diff,
		      size_t len)
{
	uint32_t ncpus = k2_mapstate_ncpus(a), n_maps = k2_mapstate_n_maps(a);

	if (ncpus != k2_mapstate_ncpus(b) || n_maps != k2_mapstate_n_maps(b)) {
		snprintf(diff, len, "states of different shapes (%u/%u maps, %u/%u CPUs)", n_maps,
			 k2_mapstate_n_maps(b), ncpus, k2_mapstate_ncpus(b));
		return 1;
	}
	for (uint32_t i = 0; i < n_maps; i++) {
		const struct k2_map *m = k2_mapstate_map(a, i);
		size_t vsz = (size_t)m->value_size * (k2_kern_map_percpu(m->type) ? ncpus : 1);
		int ret;

		if (!k2_kern_map_has_data(m->type) || m->template)
			continue;
		ret = diff_one_way(m, i, vsz, a, b, false, diff, len);
		if (!ret)
			ret = diff_one_way(m, i, vsz, b, a, true, diff, len);
		if (ret)
			return ret;
	}
	if (len)
		diff[0] = '\0';
	return 0;
}
