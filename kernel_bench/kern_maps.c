/* kernel_bench/kern_maps.c: creating the kernel maps of a program, as libbpf would. */
#include "kernel_bench/kern_int.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

const char *k2_kern_map_type_str(uint32_t type)
{
	const char *s = libbpf_bpf_map_type_str((enum bpf_map_type)type);

	return s ? s : "unknown";
}

enum k2_kern_data k2_kern_map_data(uint32_t type)
{
	switch (type) {
	case BPF_MAP_TYPE_ARRAY:
	case BPF_MAP_TYPE_PERCPU_ARRAY:
		return K2_KERN_DATA_ARRAY;
	case BPF_MAP_TYPE_HASH:
	case BPF_MAP_TYPE_PERCPU_HASH:
	case BPF_MAP_TYPE_LRU_HASH:
	case BPF_MAP_TYPE_LRU_PERCPU_HASH:
	case BPF_MAP_TYPE_LPM_TRIE:
	case BPF_MAP_TYPE_DEVMAP_HASH:
		return K2_KERN_DATA_HASH;
	case BPF_MAP_TYPE_DEVMAP:
	case BPF_MAP_TYPE_CPUMAP:
		return K2_KERN_DATA_SLOTS;
	default:
		return K2_KERN_DATA_NONE;
	}
}

bool k2_kern_map_has_data(uint32_t map_type)
{
	return k2_kern_map_data(map_type) != K2_KERN_DATA_NONE;
}

bool k2_kern_map_percpu(uint32_t type)
{
	return type == BPF_MAP_TYPE_PERCPU_ARRAY || type == BPF_MAP_TYPE_PERCPU_HASH ||
	       type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

/* The kernel allows [A-Za-z0-9_.] and 15 characters. */
void k2_kern_obj_name(const char *name, char out[BPF_OBJ_NAME_LEN])
{
	size_t j = 0;

	for (size_t i = 0; name[i] && j < BPF_OBJ_NAME_LEN - 1; i++)
		if (isalnum((unsigned char)name[i]) || name[i] == '_' || name[i] == '.')
			out[j++] = name[i];
	out[j] = '\0';
}

/*
 * Whether contents move through an mmap() of the map: plain arrays big enough that
 * element-wise syscalls would dominate a test run. BPF_F_MMAPABLE does not change what a
 * program sees (libbpf sets it on .data and .bss too).
 */
static bool big_array(const struct k2_map *m)
{
	return m->type == BPF_MAP_TYPE_ARRAY && !m->readonly && !m->template &&
	       m->max_entries >= K2_KERN_MMAP_MIN;
}

/* Map geometry as libbpf completes it before BPF_MAP_CREATE. */
static void map_geometry(const struct k2_map *m, int ncpus, uint32_t *key, uint32_t *val,
			 uint32_t *max, uint32_t *flags)
{
	*key = m->key_size;
	*val = m->value_size;
	*max = m->max_entries;
	*flags = m->flags;
	if (m->type == BPF_MAP_TYPE_PERF_EVENT_ARRAY) {
		if (!*key)
			*key = 4;
		if (!*val)
			*val = 4;
		if (!*max)
			*max = (uint32_t)ncpus;
	}
	if (m->type == BPF_MAP_TYPE_ARRAY_OF_MAPS || m->type == BPF_MAP_TYPE_HASH_OF_MAPS)
		*val = 4;
	if (m->internal && m->readonly)
		*flags |= BPF_F_RDONLY_PROG;
	if (big_array(m))
		*flags |= BPF_F_MMAPABLE;
}

static int create_one(const struct k2_map *maps, uint32_t n, uint32_t i, int ncpus,
		      struct k2_err *e);

static int create_inner(const struct k2_map *maps, uint32_t n, uint32_t i, int ncpus,
			struct k2_err *e)
{
	int32_t t = maps[i].inner;

	if (t < 0 || (uint32_t)t >= n || (uint32_t)t == i)
		return k2_err_set(e, -EINVAL, "map %s (%s): no inner map template", maps[i].name,
				  k2_kern_map_type_str(maps[i].type));
	if (maps[t].type == BPF_MAP_TYPE_ARRAY_OF_MAPS || maps[t].type == BPF_MAP_TYPE_HASH_OF_MAPS)
		return k2_err_set(e, -EOPNOTSUPP, "map %s: nested map-in-map is not supported",
				  maps[i].name);
	return create_one(maps, n, (uint32_t)t, ncpus, e);
}

static int write_init(const struct k2_map *m, int fd, struct k2_err *e)
{
	uint32_t zero = 0;

	if (m->init && bpf_map_update_elem(fd, &zero, m->init, BPF_ANY) < 0)
		return k2_err_set(e, -errno, "map %s: writing its initial value: %s", m->name,
				  strerror(errno));
	if (m->readonly && bpf_map_freeze(fd) < 0)
		return k2_err_set(e, -errno, "map %s: BPF_MAP_FREEZE: %s", m->name,
				  strerror(errno));
	return 0;
}

/* Creates map i; returns its fd or a negative errno. */
static int create_one(const struct k2_map *maps, uint32_t n, uint32_t i, int ncpus,
		      struct k2_err *e)
{
	const struct k2_map *m = &maps[i];
	LIBBPF_OPTS(bpf_map_create_opts, o);
	char name[BPF_OBJ_NAME_LEN];
	uint32_t key, val, max;
	int fd, inner = -1, err;

	map_geometry(m, ncpus, &key, &val, &max, &o.map_flags);
	if (m->type == BPF_MAP_TYPE_ARRAY_OF_MAPS || m->type == BPF_MAP_TYPE_HASH_OF_MAPS) {
		inner = create_inner(maps, n, i, ncpus, e);
		if (inner < 0)
			return inner;
		o.inner_map_fd = (uint32_t)inner;
	}
	k2_kern_obj_name(m->name, name);
	fd = bpf_map_create((enum bpf_map_type)m->type, name, key, val, max, &o);
	err = fd < 0 ? -errno : 0;
	if (inner >= 0)
		close(inner);
	if (err)
		return k2_err_set(e, err,
				  "map %s (%s, key %u, value %u, max_entries %u, flags 0x%x): "
				  "BPF_MAP_CREATE: %s",
				  m->name, k2_kern_map_type_str(m->type), key, val, max,
				  o.map_flags, strerror(-err));
	if (m->internal) {
		err = write_init(m, fd, e);
		if (err) {
			close(fd);
			return err;
		}
	}
	return fd;
}

int k2_kern_maps_create(const struct k2_map *maps, uint32_t n, struct k2_kern_maps **out,
			struct k2_err *e)
{
	struct k2_kern_maps *km;
	uint32_t i;
	int fd;

	*out = NULL;
	km = calloc(1, sizeof(*km));
	if (!km)
		return k2_err_set(e, -ENOMEM, "out of memory for %u maps", n);
	km->fds = malloc((n ? n : 1) * sizeof(*km->fds));
	km->mem = calloc(n ? n : 1, sizeof(*km->mem));
	km->mem_len = calloc(n ? n : 1, sizeof(*km->mem_len));
	km->idle = calloc(n ? n : 1, sizeof(*km->idle));
	if (!km->fds || !km->mem || !km->mem_len || !km->idle) {
		free(km->fds);
		free(km->mem);
		free(km->mem_len);
		free(km->idle);
		free(km);
		return k2_err_set(e, -ENOMEM, "out of memory for %u maps", n);
	}
	km->maps = maps;
	km->n = n;
	km->kern_ncpus = k2_kern_ncpus();
	if (km->kern_ncpus <= 0) {
		free(km->fds);
		free(km);
		return k2_err_set(e, -EIO, "cannot read the number of possible CPUs");
	}
	for (i = 0; i < n; i++)
		km->fds[i] = -1;
	for (i = 0; i < n; i++) {
		if (maps[i].template)
			continue; /* libbpf creates inner templates only while creating the outer */
		fd = create_one(maps, n, i, km->kern_ncpus, e);
		if (fd < 0) {
			k2_kern_maps_free(km);
			return fd;
		}
		km->fds[i] = fd;
		if (big_array(&maps[i])) {
			size_t len = (size_t)maps[i].max_entries * ((maps[i].value_size + 7) & ~7u);
			void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

			if (p == MAP_FAILED) {
				k2_err_set(e, -errno, "map %s: mmap of %zu bytes: %s", maps[i].name,
					   len, strerror(errno));
				k2_kern_maps_free(km);
				return e ? e->code : -errno;
			}
			km->mem[i] = p;
			km->mem_len[i] = len;
		}
	}
	*out = km;
	return 0;
}

void k2_kern_maps_free(struct k2_kern_maps *km)
{
	if (!km)
		return;
	for (uint32_t i = 0; i < km->n; i++) {
		if (km->mem[i])
			munmap(km->mem[i], km->mem_len[i]);
		if (km->fds[i] >= 0)
			close(km->fds[i]);
	}
	free(km->fds);
	free(km->mem);
	free(km->mem_len);
	free(km->idle);
	free(km);
}

uint32_t k2_kern_maps_count(const struct k2_kern_maps *km)
{
	return km ? km->n : 0;
}

int k2_kern_maps_fd(const struct k2_kern_maps *km, uint32_t i)
{
	return km && i < km->n ? km->fds[i] : -1;
}

const int *k2_kern_maps_fds(const struct k2_kern_maps *km)
{
	return km ? km->fds : NULL;
}

void k2_kern_maps_idle_unused(struct k2_kern_maps *km, const struct bpf_insn *insns, uint32_t n)
{
	for (uint32_t i = 0; i < km->n; i++)
		km->idle[i] = true;
	for (uint32_t i = 0; i < n; i++) {
		const struct bpf_insn *in = &insns[i];

		if (in->code != (BPF_LD | BPF_IMM | BPF_DW))
			continue;
		if ((in->src_reg == BPF_PSEUDO_MAP_IDX ||
		     in->src_reg == BPF_PSEUDO_MAP_IDX_VALUE) &&
		    in->imm >= 0 && (uint32_t)in->imm < km->n)
			km->idle[in->imm] = false;
		i++;
	}
	/* Map-in-map: an outer map reaches its inner ones (never filled here anyway). */
	for (uint32_t i = 0; i < km->n; i++)
		if (!km->idle[i] && km->maps[i].inner >= 0 && (uint32_t)km->maps[i].inner < km->n)
			km->idle[km->maps[i].inner] = false;
}

uint64_t k2_kern_maps_read_cost(const struct k2_kern_maps *km)
{
	uint64_t n = 0;

	for (uint32_t i = 0; i < km->n; i++)
		if (!km->idle[i] && !km->mem[i] && k2_kern_map_has_data(km->maps[i].type))
			n += (uint64_t)km->maps[i].max_entries *
			     (k2_kern_map_percpu(km->maps[i].type) ? (uint64_t)km->kern_ncpus : 1);
	return n;
}
