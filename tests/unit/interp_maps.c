/* tests/unit/interp_maps.c: map contents (k2_mapstate) and a run's changes (overlay). */
#include "tests/unit/interp_util.h"

static struct k2_map map_def(uint32_t type, uint32_t ks, uint32_t vs, uint32_t max)
{
	struct k2_map m = {
		.type = type, .key_size = ks, .value_size = vs, .max_entries = max, .inner = -1
	};

	snprintf(m.name, sizeof(m.name), "m%u", type);
	return m;
}

Test(interp_maps, hash_update_flags_and_full)
{
	struct k2_map m = map_def(BPF_MAP_TYPE_HASH, 4, 4, 2);
	struct k2_mapstate *ms;
	uint32_t k, v, out;

	cr_assert_eq(k2_mapstate_new(&m, 1, 1, &ms, NULL), 0);
	k = 1, v = 10;
	cr_expect_eq(k2_mapstate_update(ms, 0, &k, &v, BPF_EXIST), -ENOENT);
	cr_expect_eq(k2_mapstate_update(ms, 0, &k, &v, BPF_NOEXIST), 0);
	cr_expect_eq(k2_mapstate_update(ms, 0, &k, &v, BPF_NOEXIST), -EEXIST);
	k = 2;
	cr_expect_eq(k2_mapstate_update(ms, 0, &k, &v, BPF_ANY), 0);
	k = 3;
	cr_expect_eq(k2_mapstate_update(ms, 0, &k, &v, BPF_ANY), -E2BIG);
	k = 2, v = 20;
	cr_expect_eq(k2_mapstate_update(ms, 0, &k, &v, BPF_ANY), 0);
	cr_expect_eq(k2_mapstate_lookup(ms, 0, &k, &out), 0);
	cr_expect_eq(out, 20);
	k = 1;
	cr_expect_eq(k2_mapstate_delete(ms, 0, &k), 0);
	cr_expect_eq(k2_mapstate_delete(ms, 0, &k), -ENOENT);
	cr_expect_eq(k2_mapstate_lookup(ms, 0, &k, &out), -ENOENT);
	k2_mapstate_free(ms);
}

Test(interp_maps, next_key_walks_insertion_order)
{
	struct k2_map m = map_def(BPF_MAP_TYPE_HASH, 4, 4, 8);
	struct k2_mapstate *ms;
	uint32_t keys[] = { 5, 3, 9 }, k, next, v = 0;

	cr_assert_eq(k2_mapstate_new(&m, 1, 1, &ms, NULL), 0);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(k2_mapstate_update(ms, 0, &keys[i], &v, BPF_ANY), 0);
	cr_assert_eq(k2_mapstate_next_key(ms, 0, NULL, &next), 0);
	cr_expect_eq(next, 5);
	for (int i = 1; i < 3; i++) {
		k = next;
		cr_assert_eq(k2_mapstate_next_key(ms, 0, &k, &next), 0);
		cr_expect_eq(next, keys[i]);
	}
	k = next;
	cr_expect_eq(k2_mapstate_next_key(ms, 0, &k, &next), -ENOENT);
	k2_mapstate_free(ms);
}

Test(interp_maps, array_semantics)
{
	struct k2_map m = map_def(BPF_MAP_TYPE_ARRAY, 4, 8, 4);
	struct k2_mapstate *ms;
	uint32_t k = 4;
	uint64_t v = 1, out;

	cr_assert_eq(k2_mapstate_new(&m, 1, 1, &ms, NULL), 0);
	cr_expect_eq(k2_mapstate_update(ms, 0, &k, &v, BPF_ANY), -E2BIG);
	k = 3;
	cr_expect_eq(k2_mapstate_update(ms, 0, &k, &v, BPF_NOEXIST), -EEXIST);
	cr_expect_eq(k2_mapstate_update(ms, 0, &k, &v, BPF_EXIST), 0);
	cr_expect_eq(k2_mapstate_delete(ms, 0, &k), -EINVAL);
	k = 0;
	cr_expect_eq(k2_mapstate_lookup(ms, 0, &k, &out), 0);
	cr_expect_eq(out, 0);
	k2_mapstate_free(ms);
}

Test(interp_maps, lpm_longest_prefix)
{
	struct k2_map m = map_def(BPF_MAP_TYPE_LPM_TRIE, 8, 4, 8);
	struct k2_mapstate *ms;
	struct {
		uint32_t plen;
		uint8_t a[4];
	} k8 = { 8, { 10, 0, 0, 0 } }, k16 = { 16, { 10, 1, 0, 0 } }, k33 = { 33, { 0 } };
	uint32_t v = 1;

	m.flags = BPF_F_NO_PREALLOC;
	cr_assert_eq(k2_mapstate_new(&m, 1, 1, &ms, NULL), 0);
	cr_expect_eq(k2_mapstate_update(ms, 0, &k8, &v, BPF_ANY), 0);
	v = 2;
	cr_expect_eq(k2_mapstate_update(ms, 0, &k16, &v, BPF_ANY), 0);
	cr_expect_eq(k2_mapstate_update(ms, 0, &k33, &v, BPF_ANY), -EINVAL);
	/* the exact node, with bits beyond the prefix ignored */
	k16.a[3] = 99;
	cr_expect_eq(k2_mapstate_lookup(ms, 0, &k16, &v), 0);
	cr_expect_eq(v, 2);
	k2_mapstate_free(ms);
}

static const char *counter_prog = "r1 = 1\n*(u32 *)(r10 - 4) = r1\n"
				  "r1 = map[idx:0] ll\nr2 = r10\nr2 += -4\ncall 1\n"
				  "if r0 == 0 goto out\n"
				  "r1 = *(u64 *)(r0 + 0)\nr1 += 1\n*(u64 *)(r0 + 0) = r1\n"
				  "out:\nr0 = 2\nexit\n";

Test(interp_maps, run_changes_are_an_overlay_until_commit)
{
	struct k2_map m = map_def(BPF_MAP_TYPE_HASH, 4, 8, 4);
	struct k2_prog p = prog_of(BPF_PROG_TYPE_XDP, counter_prog, &m, 1);
	struct k2_vm *vm = vm_of(&p);
	struct k2_mapstate *ms, *after;
	struct k2_input *in = calloc(1, sizeof(*in));
	struct k2_result r;
	uint32_t k = 1;
	uint64_t v = 41, out;

	cr_assert_eq(k2_mapstate_new(&m, 1, 1, &ms, NULL), 0);
	cr_assert_eq(k2_mapstate_update(ms, 0, &k, &v, BPF_ANY), 0);
	in->pkt_len = 14;
	in->maps = ms;
	k2_vm_run(vm, in, &r);
	cr_assert_eq(r.status, K2_RUN_OK, "%s", r.err_reason);
	cr_expect_eq(k2_vm_map_lookup(vm, 0, &k, &out), 0);
	cr_expect_eq(out, 42);
	cr_expect(k2_vm_map_changed(vm, 0));
	cr_expect_eq(k2_mapstate_lookup(ms, 0, &k, &out), 0);
	cr_expect_eq(out, 41, "the shared state is not changed by a run");
	cr_assert_eq(k2_mapstate_clone(ms, &after), 0);
	cr_assert_eq(k2_vm_map_commit(vm, after), 0);
	cr_expect_eq(k2_mapstate_lookup(after, 0, &k, &out), 0);
	cr_expect_eq(out, 42);
	/* a second run starts again from the shared state */
	k2_vm_run(vm, in, &r);
	cr_expect_eq(k2_vm_map_lookup(vm, 0, &k, &out), 0);
	cr_expect_eq(out, 42);
	k2_mapstate_free(after);
	k2_mapstate_free(ms);
	k2_vm_free(vm);
	free(in);
	free(p.insns);
}

static const char *insert_prog =
	"r1 = *(u32 *)(r1 + 12)\n*(u32 *)(r10 - 4) = r1\n"
	"r1 = 5\n*(u64 *)(r10 - 16) = r1\n"
	"r1 = map[idx:0] ll\nr2 = r10\nr2 += -4\nr3 = r10\nr3 += -16\nr4 = 0\ncall 2\n"
	"exit\n";

Test(interp_maps, lru_evicts_the_least_recently_used)
{
	struct k2_map m = map_def(BPF_MAP_TYPE_LRU_HASH, 4, 8, 2);
	struct k2_prog p = prog_of(BPF_PROG_TYPE_XDP, insert_prog, &m, 1);
	struct k2_vm *vm = vm_of(&p);
	struct k2_mapstate *ms;
	struct k2_input *in = calloc(1, sizeof(*in));
	struct k2_result r;
	uint32_t k;
	uint64_t v = 1, out;

	cr_assert_eq(k2_mapstate_new(&m, 1, 1, &ms, NULL), 0);
	k = 100, v = 1;
	cr_assert_eq(k2_mapstate_update(ms, 0, &k, &v, BPF_ANY), 0);
	k = 101;
	cr_assert_eq(k2_mapstate_update(ms, 0, &k, &v, BPF_ANY), 0);
	k = 100; /* touch 100 again: 101 is now the oldest */
	cr_assert_eq(k2_mapstate_update(ms, 0, &k, &v, BPF_ANY), 0);
	in->pkt_len = 14;
	in->ctx_len = 24;
	k = 7;
	memcpy(in->ctx + 12, &k, 4); /* ingress_ifindex = the key inserted */
	in->maps = ms;
	k2_vm_run(vm, in, &r);
	cr_assert_eq(r.status, K2_RUN_OK, "%s", r.err_reason);
	cr_expect_eq(r.r0, 0);
	k = 101;
	cr_expect_eq(k2_vm_map_lookup(vm, 0, &k, &out), -ENOENT);
	k = 100;
	cr_expect_eq(k2_vm_map_lookup(vm, 0, &k, &out), 0);
	k = 7;
	cr_expect_eq(k2_vm_map_lookup(vm, 0, &k, &out), 0);
	cr_expect_eq(out, 5);
	cr_assert_eq(k2_vm_map_commit(vm, ms), 0);
	k = 101;
	cr_expect_eq(k2_mapstate_lookup(ms, 0, &k, &out), -ENOENT);
	k2_mapstate_free(ms);
	k2_vm_free(vm);
	free(in);
	free(p.insns);
}

Test(interp_maps, unknown_map_type_is_refused)
{
	struct k2_map m = map_def(BPF_MAP_TYPE_STACK_TRACE, 4, 8, 2);
	struct k2_mapstate *ms;
	struct k2_err e = { 0 };

	cr_expect_eq(k2_mapstate_new(&m, 1, 1, &ms, &e), -EOPNOTSUPP);
	cr_expect(strstr(e.msg, "not modelled") != NULL, "%s", e.msg);
}

Test(interp_maps, failed_set_insns_leaves_a_vm_that_runs_nothing)
{
	struct k2_prog p = prog_of(BPF_PROG_TYPE_XDP, "r0 = 2\nexit\n", NULL, 0);
	struct k2_vm *vm = vm_of(&p);
	struct k2_input *in = calloc(1, sizeof(*in));
	struct k2_result r;
	struct k2_err e = { 0 };
	uint32_t n;
	struct bpf_insn *bad = insns_of("r1 = map[idx:3] ll\nr0 = 0\nexit\n", &n);

	in->pkt_len = 14;
	cr_expect_neq(k2_vm_set_insns(vm, bad, n, &e), 0);
	cr_expect(strstr(e.msg, "insn 0") != NULL, "%s", e.msg);
	k2_vm_run(vm, in, &r);
	cr_expect_eq(r.status, K2_RUN_EINSN);
	cr_assert_eq(k2_vm_set_insns(vm, p.insns, p.n_insns, &e), 0, "%s", e.msg);
	k2_vm_run(vm, in, &r);
	cr_expect_eq(r.status, K2_RUN_OK);
	cr_expect_eq(r.r0, 2);
	free(bad);
	k2_vm_free(vm);
	free(in);
	free(p.insns);
}
