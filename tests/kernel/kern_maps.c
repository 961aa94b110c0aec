/* tests/kernel/kern_maps.c: kernel maps of every modelled type: created, filled, read back. */
#include <bpf/bpf.h>
#include <criterion/criterion.h>
#include <string.h>

#include "bpf/k2_gen.h"
#include "kernel_bench/k2_kern.h"

static void need_kernel(void)
{
	struct k2_err e = { 0 };

	if (k2_kern_probe(&e))
		cr_skip_test("kernel tests skipped: %s", e.msg);
}

#define MAP(n, t, k, v, m) { .name = n, .type = t, .key_size = k, .value_size = v, \
			      .max_entries = m, .inner = -1 }

static const uint8_t rodata[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
static const uint8_t data[12] = { 0xaa, 0xbb, 0xcc };

static struct k2_map maps[] = {
	MAP("arr", BPF_MAP_TYPE_ARRAY, 4, 12, 8),
	MAP("hash", BPF_MAP_TYPE_HASH, 8, 16, 8),
	MAP("pcpu_arr", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 12, 4),
	MAP("pcpu_hash", BPF_MAP_TYPE_PERCPU_HASH, 4, 8, 8),
	MAP("lru", BPF_MAP_TYPE_LRU_HASH, 4, 8, 16),
	MAP("lru_pcpu", BPF_MAP_TYPE_LRU_PERCPU_HASH, 4, 8, 16),
	{ .name = "lpm", .type = BPF_MAP_TYPE_LPM_TRIE, .key_size = 8, .value_size = 4,
	  .max_entries = 16, .flags = BPF_F_NO_PREALLOC, .inner = -1 },
	MAP("devmap", BPF_MAP_TYPE_DEVMAP, 4, 4, 4),
	MAP("devmap_hash", BPF_MAP_TYPE_DEVMAP_HASH, 4, 4, 4),
	MAP("progs", BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4),
	MAP("events", BPF_MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, 4),
	{ .name = "ring", .type = BPF_MAP_TYPE_RINGBUF, .max_entries = 4096, .inner = -1 },
	{ .name = "outer", .type = BPF_MAP_TYPE_ARRAY_OF_MAPS, .key_size = 4, .value_size = 4,
	  .max_entries = 2, .inner = 16 },
	{ .name = ".rodata", .type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 16,
	  .max_entries = 1, .internal = true, .readonly = true, .init = rodata, .inner = -1 },
	{ .name = ".data", .type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 12,
	  .max_entries = 1, .internal = true, .init = data, .inner = -1 },
	{ .name = ".bss", .type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8,
	  .max_entries = 1, .internal = true, .inner = -1 },
	{ .name = "inner", .type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 4,
	  .max_entries = 1, .template = true, .inner = -1 },
	MAP("cpumap", BPF_MAP_TYPE_CPUMAP, 4, 4, 2),
	MAP("xsks", BPF_MAP_TYPE_XSKMAP, 4, 4, 4),
	{ .name = "outer_h", .type = BPF_MAP_TYPE_HASH_OF_MAPS, .key_size = 4, .value_size = 4,
	  .max_entries = 2, .inner = 16 },
};
#define N_MAPS (sizeof(maps) / sizeof(maps[0]))

static void put(struct k2_mapstate *ms, uint32_t m, uint64_t key, const void *val)
{
	cr_assert_eq(k2_mapstate_update(ms, m, &key, val, BPF_ANY), 0, "map %s", maps[m].name);
}

/* A state with entries in every map that has contents. */
static struct k2_mapstate *sample_state(uint32_t ncpus)
{
	struct k2_mapstate *ms;
	struct k2_err e = { 0 };
	uint8_t v[64];
	uint32_t ifindex = 1; /* lo: devmaps hold devices that exist */

	cr_assert_eq(k2_mapstate_new(maps, N_MAPS, ncpus, &ms, &e), 0, "%s", e.msg);
	for (uint32_t i = 0; i < sizeof(v); i++)
		v[i] = (uint8_t)(i * 7 + 1);
	put(ms, 0, 3, v);
	put(ms, 0, 7, v + 5);
	put(ms, 1, 0x1122334455667788ull, v);
	put(ms, 1, 5, v + 16);
	put(ms, 2, 1, v);
	put(ms, 3, 9, v + 8);
	put(ms, 4, 4, v + 3);
	put(ms, 5, 2, v + 9);
	{
		uint8_t key[8] = { 24, 0, 0, 0, 10, 1, 2, 0 }; /* 10.1.2.0/24 */

		cr_assert_eq(k2_mapstate_update(ms, 6, key, v, BPF_ANY), 0);
	}
	put(ms, 7, 2, &ifindex);
	put(ms, 8, 17, &ifindex);
	put(ms, 14, 0, v + 20);
	put(ms, 15, 0, v + 30);
	{
		uint32_t qsize = 192; /* a cpumap slot: the kernel starts a kthread for it */

		put(ms, 17, 1, &qsize);
	}
	return ms;
}

Test(kern_maps, every_type_is_created_and_freed)
{
	struct k2_kern_maps *km;
	struct k2_err e = { 0 };

	need_kernel();
	cr_assert_eq(k2_kern_maps_create(maps, N_MAPS, &km, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_kern_maps_count(km), N_MAPS);
	for (uint32_t i = 0; i < N_MAPS; i++)
		if (!maps[i].template)
			cr_expect_geq(k2_kern_maps_fd(km, i), 0, "map %s", maps[i].name);
	cr_expect_eq(k2_kern_maps_fd(km, 16), -1, "a template gets no map of its own");
	k2_kern_maps_free(km);
}

Test(kern_maps, a_state_round_trips_through_the_kernel)
{
	uint32_t ncpus;
	struct k2_kern_maps *km;
	struct k2_mapstate *ms, *back;
	struct k2_err e = { 0 };
	char diff[512];

	need_kernel();
	ncpus = (uint32_t)k2_kern_ncpus();
	ms = sample_state(ncpus);
	cr_assert_eq(k2_kern_maps_create(maps, N_MAPS, &km, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_kern_maps_fill(km, ms, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_mapstate_new(maps, N_MAPS, ncpus, &back, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_kern_maps_read(km, back, &e), 0, "%s", e.msg);
	cr_expect_eq(k2_kern_maps_diff(ms, back, diff, sizeof(diff)), 0, "%s", diff);
	k2_mapstate_free(back);

	/* Filling again with an empty state clears the hashes and zeroes the arrays. */
	{
		struct k2_mapstate *empty;
		uint64_t key = 5, v[8];
		uint32_t idx = 3;

		cr_assert_eq(k2_mapstate_new(maps, N_MAPS, ncpus, &empty, &e), 0);
		cr_assert_eq(k2_kern_maps_fill(km, empty, &e), 0, "%s", e.msg);
		cr_expect_lt(bpf_map_lookup_elem(k2_kern_maps_fd(km, 1), &key, v), 0);
		cr_expect_eq(bpf_map_lookup_elem(k2_kern_maps_fd(km, 0), &idx, v), 0);
		cr_expect_eq(v[0], 0u);
		cr_assert_eq(k2_mapstate_new(maps, N_MAPS, ncpus, &back, &e), 0);
		cr_assert_eq(k2_kern_maps_read(km, back, &e), 0, "%s", e.msg);
		cr_expect_eq(k2_kern_maps_diff(empty, back, diff, sizeof(diff)), 0, "%s", diff);
		k2_mapstate_free(back);
		k2_mapstate_free(empty);
	}
	k2_kern_maps_free(km);
	k2_mapstate_free(ms);
}

Test(kern_maps, rodata_is_frozen_with_its_initial_bytes)
{
	struct k2_kern_maps *km;
	struct k2_err e = { 0 };
	uint8_t got[16];
	uint32_t zero = 0;

	need_kernel();
	cr_assert_eq(k2_kern_maps_create(maps, N_MAPS, &km, &e), 0, "%s", e.msg);
	cr_assert_eq(bpf_map_lookup_elem(k2_kern_maps_fd(km, 13), &zero, got), 0);
	cr_expect_eq(memcmp(got, rodata, 16), 0);
	cr_expect_lt(bpf_map_update_elem(k2_kern_maps_fd(km, 13), &zero, got, BPF_ANY), 0,
		     "frozen: user space may not write it");
	cr_assert_eq(bpf_map_lookup_elem(k2_kern_maps_fd(km, 14), &zero, got), 0);
	cr_expect_eq(memcmp(got, data, 12), 0);
	k2_kern_maps_free(km);
}

Test(kern_maps, per_cpu_values_land_on_their_cpu)
{
	struct k2_kern_maps *km;
	struct k2_mapstate *ms;
	struct k2_err e = { 0 };
	int ncpus;
	uint32_t key = 1;
	uint8_t state_val[12 * 2], kern_val[16 * 64];

	need_kernel();
	ncpus = k2_kern_ncpus();
	cr_assert_leq(ncpus, 64);
	/* A one-CPU state: kernel CPU 0 gets its value, the others zeros. */
	cr_assert_eq(k2_mapstate_new(maps, N_MAPS, 1, &ms, &e), 0);
	memset(state_val, 0x5a, sizeof(state_val));
	cr_assert_eq(k2_mapstate_update(ms, 2, &key, state_val, BPF_ANY), 0);
	cr_assert_eq(k2_kern_maps_create(maps, N_MAPS, &km, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_kern_maps_fill(km, ms, &e), 0, "%s", e.msg);
	cr_assert_eq(bpf_map_lookup_elem(k2_kern_maps_fd(km, 2), &key, kern_val), 0);
	cr_expect_eq(memcmp(kern_val, state_val, 12), 0);
	for (int c = 1; c < ncpus; c++)
		for (int b = 0; b < 12; b++)
			cr_expect_eq(kern_val[16 * c + b], 0, "cpu %d byte %d", c, b);
	k2_kern_maps_free(km);
	k2_mapstate_free(ms);
}

Test(kern_maps, generated_states_round_trip)
{
	struct k2_err e = { 0 };
	struct k2_rng rng;

	need_kernel();
	k2_rng_seed(&rng, 99);
	for (int i = 0; i < 200; i++) {
		struct k2_gen_opts o = { .sz = sizeof(o), .prog_type = BPF_PROG_TYPE_XDP };
		struct k2_gen_prog *gp;
		struct k2_kern_maps *km;
		struct k2_mapstate *ms, *back;
		uint32_t ncpus = (uint32_t)k2_kern_ncpus();
		char diff[512];

		cr_assert_eq(k2_gen_prog_new(&rng, &o, &gp, &e), 0, "%s", e.msg);
		cr_assert_eq(k2_gen_mapstate(&rng, gp->maps, gp->n_maps, ncpus, &ms, &e), 0, "%s",
			     e.msg);
		cr_assert_eq(k2_kern_maps_create(gp->maps, gp->n_maps, &km, &e), 0, "%s", e.msg);
		cr_assert_eq(k2_kern_maps_fill(km, ms, &e), 0, "%s", e.msg);
		cr_assert_eq(k2_mapstate_new(gp->maps, gp->n_maps, ncpus, &back, &e), 0);
		cr_assert_eq(k2_kern_maps_read(km, back, &e), 0, "%s", e.msg);
		cr_assert_eq(k2_kern_maps_diff(ms, back, diff, sizeof(diff)), 0, "%d: %s", i, diff);
		k2_mapstate_free(back);
		k2_mapstate_free(ms);
		k2_kern_maps_free(km);
		k2_gen_prog_free(gp);
	}
}

Test(kern_maps, diff_names_the_first_difference)
{
	struct k2_mapstate *a, *b;
	struct k2_err e = { 0 };
	uint8_t v[16] = { 1 };
	uint64_t key = 5;
	char diff[512];

	cr_assert_eq(k2_mapstate_new(maps, N_MAPS, 1, &a, &e), 0);
	cr_assert_eq(k2_mapstate_new(maps, N_MAPS, 1, &b, &e), 0);
	cr_expect_eq(k2_kern_maps_diff(a, b, diff, sizeof(diff)), 0);
	cr_assert_eq(k2_mapstate_update(a, 1, &key, v, BPF_ANY), 0);
	cr_expect_eq(k2_kern_maps_diff(a, b, diff, sizeof(diff)), 1);
	cr_expect(strstr(diff, "map hash key 0500000000000000: only in the first") != NULL, "%s",
		  diff);
	v[0] = 2;
	cr_assert_eq(k2_mapstate_update(b, 1, &key, v, BPF_ANY), 0);
	cr_expect_eq(k2_kern_maps_diff(a, b, diff, sizeof(diff)), 1);
	cr_expect(strstr(diff, "map hash key 0500000000000000: 01") != NULL, "%s", diff);
	k2_mapstate_free(a);
	k2_mapstate_free(b);
}

/* A zeroed element of a map with initial bytes reads back as zero, not as the initial bytes. */
Test(kern_maps, zeroed_data_section_reads_back_zero)
{
	struct k2_kern_maps *km;
	struct k2_mapstate *ms, *back;
	struct k2_err e = { 0 };
	uint8_t zero12[12] = { 0 }, got[12];
	uint32_t key = 0, ncpus;

	need_kernel();
	ncpus = (uint32_t)k2_kern_ncpus();
	cr_assert_eq(k2_mapstate_new(maps, N_MAPS, ncpus, &ms, &e), 0);
	cr_assert_eq(k2_mapstate_update(ms, 14, &key, zero12, BPF_ANY), 0);
	cr_assert_eq(k2_kern_maps_create(maps, N_MAPS, &km, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_kern_maps_fill(km, ms, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_mapstate_new(maps, N_MAPS, ncpus, &back, &e), 0);
	cr_assert_eq(k2_kern_maps_read(km, back, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_mapstate_lookup(back, 14, &key, got), 0);
	cr_expect_eq(memcmp(got, zero12, 12), 0, "read back %02x%02x..", got[0], got[1]);
	k2_mapstate_free(back);
	k2_mapstate_free(ms);
	k2_kern_maps_free(km);
}
