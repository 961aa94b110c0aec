/* tests/unit/obj_read.c: reading clang objects: programs, types, maps, relocations, links. */
#include <criterion/criterion.h>

#include "tests/unit/obj_util.h"

static struct k2_object *open_ok(const char *path)
{
	struct k2_object *obj = NULL;
	struct k2_err e = { 0 };
	int err = k2_object_open(path, &obj, &e);

	cr_assert_eq(err, 0, "%s: %s", path, e.msg);
	return obj;
}

static int map_idx(const struct k2_object *obj, const char *name)
{
	for (uint32_t i = 0; i < obj->n_maps; i++)
		if (!strcmp(obj->maps[i].name, name))
			return (int)i;
	cr_assert_fail("no map %s", name);
	return -1;
}

static void expect_map_load(const struct k2_prog *p, uint32_t at, int map, int off)
{
	const struct bpf_insn *in = &p->insns[at];

	cr_expect_eq(in->code, BPF_LD | BPF_IMM | BPF_DW, "%s insn %u is ld_imm64", p->name, at);
	cr_expect_eq(in->src_reg, off < 0 ? BPF_PSEUDO_MAP_IDX : BPF_PSEUDO_MAP_IDX_VALUE,
		     "%s insn %u src", p->name, at);
	cr_expect_eq(in->imm, map, "%s insn %u map %d, want %d", p->name, at, in->imm, map);
	cr_expect_eq(in[1].imm, off < 0 ? 0 : off, "%s insn %u offset", p->name, at);
}

static uint32_t call_target(const struct k2_prog *p, uint32_t at)
{
	cr_assert(k2_insn_op(&p->insns[at]) == K2_OP_CALL_PSEUDO ||
		  k2_insn_op(&p->insns[at]) == K2_OP_LDDW_FUNC, "%s insn %u is a pseudo call",
		  p->name, at);
	return (uint32_t)(at + 1 + p->insns[at].imm);
}

Test(obj_read, btf_maps_internal_maps_and_their_order)
{
	struct k2_object *obj = open_ok(obj_data("maps_xdp.o"));
	static const struct {
		const char *name;
		uint32_t type, key, value, max;
	} want[] = {
		/* BTF maps in the order of the .maps DATASEC, as libbpf numbers them */
		{ "flows", BPF_MAP_TYPE_HASH, 4, 8, 1024 },
		{ "outer", BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 2 },
		{ "lru", BPF_MAP_TYPE_LRU_HASH, 8, 4, 128 },
		{ "scratch", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 16, 2 },
		{ "stats", BPF_MAP_TYPE_ARRAY, 4, 8, 4 },
		{ ".rodata", BPF_MAP_TYPE_ARRAY, 4, 10, 1 },
		{ ".data", BPF_MAP_TYPE_ARRAY, 4, 8, 1 },
		{ ".bss", BPF_MAP_TYPE_ARRAY, 4, 8, 1 },
		{ "outer.inner", BPF_MAP_TYPE_ARRAY, 4, 4, 8 },
	};
	const struct k2_map *m;

	cr_assert_eq(obj->n_maps, 9);
	for (uint32_t i = 0; i < 9; i++) {
		m = &obj->maps[i];
		cr_expect_str_eq(m->name, want[i].name);
		cr_expect_eq(m->type, want[i].type, "%s type %u", m->name, m->type);
		cr_expect_eq(m->key_size, want[i].key, "%s key", m->name);
		cr_expect_eq(m->value_size, want[i].value, "%s value", m->name);
		cr_expect_eq(m->max_entries, want[i].max, "%s max", m->name);
		cr_expect_eq(m->internal, i >= 5 && i <= 7, "%s internal", m->name);
	}
	cr_expect_eq(obj->maps[1].inner, 8);
	cr_expect(obj->maps[8].template);
	m = &obj->maps[5];
	cr_expect(m->readonly);
	cr_expect_eq(m->flags, BPF_F_RDONLY_PROG | BPF_F_MMAPABLE);
	cr_assert_not_null(m->init);
	cr_expect_eq(m->init[0], 17, "drop_proto initial value");
	cr_expect_eq(m->init[4], 1, "magic[0]");
	cr_expect_eq(m->init[9], 6, "magic[5]");
	cr_expect_eq(obj->maps[6].init[0], 5, "seen = 5");
	cr_expect_null(obj->maps[7].init, ".bss has no initial bytes");
	cr_expect_not(obj->maps[6].readonly);
	cr_expect_str_eq(obj->license, "GPL");
	k2_object_free(obj);
}

Test(obj_read, two_programs_in_one_section_with_static_and_global_calls)
{
	struct k2_object *obj = open_ok(obj_data("maps_xdp.o"));
	struct k2_prog *p = k2_object_prog(obj, "xdp_count"), *q = k2_object_prog(obj, "xdp_inner");
	uint32_t bump, classify;

	cr_assert_eq(obj->n_progs, 2);
	cr_assert_not_null(p);
	cr_assert_not_null(q);
	cr_expect_eq(k2_object_prog(obj, "xdp"), p, "a section name selects its first program");
	cr_expect_eq(k2_object_prog(obj, NULL), p);
	cr_expect_null(k2_object_prog(obj, "nope"));
	cr_expect_str_eq(p->sec, "xdp");
	cr_expect_eq(p->type, BPF_PROG_TYPE_XDP);
	cr_expect_eq(p->attach_type, BPF_XDP);
	/* clang: xdp_count is 56 instructions; it calls bump (static, .text+8) then classify */
	cr_expect_eq(p->n_main, 56);
	cr_expect_eq(p->n_insns, 56 + 13 + 9);
	bump = call_target(p, 52);
	classify = call_target(p, 54);
	cr_expect_eq(bump, 56, "first callee appended first");
	cr_expect_eq(classify, 69);
	cr_expect_eq(p->insns[bump].code, BPF_STX | BPF_MEM | BPF_W, "bump starts with a store");
	cr_expect_eq(p->insns[classify].code, BPF_LD | BPF_IMM | BPF_DW, "classify loads drop_proto");
	expect_map_load(p, 7, map_idx(obj, ".bss"), 0);         /* static misses */
	expect_map_load(p, 21, map_idx(obj, "flows"), -1);
	expect_map_load(p, 37, map_idx(obj, ".bss"), 4);        /* global hits */
	expect_map_load(p, 42, map_idx(obj, ".rodata"), 4);     /* magic */
	expect_map_load(p, 45, map_idx(obj, ".data"), 0);       /* seen */
	expect_map_load(p, classify, map_idx(obj, ".rodata"), 0);
	expect_map_load(p, bump + 3, map_idx(obj, "stats"), -1);
	/* the second program of the section links bump on its own */
	cr_expect_eq(q->n_main, 40);
	cr_expect_eq(q->n_insns, 40 + 13);
	cr_expect_eq(call_target(q, 89 - 56), 40);
	expect_map_load(q, 61 - 56, map_idx(obj, "outer"), -1);
	cr_expect_eq(p->maps, obj->maps);
	cr_expect_eq(p->n_maps, obj->n_maps);
	k2_object_free(obj);
}

Test(obj_read, nested_calls_and_callbacks_link_depth_first_like_libbpf)
{
	struct k2_object *obj = open_ok(obj_data("calls_tc.o"));
	struct k2_prog *tc = k2_object_prog(obj, "tc_main"), *cls = k2_object_prog(obj, "classifier");
	struct k2_prog *act = k2_object_prog(obj, "action");
	uint32_t loop_body, mix, account, count;

	cr_assert_not_null(tc);
	cr_assert_not_null(cls);
	cr_assert_not_null(act);
	cr_expect_eq(tc->type, BPF_PROG_TYPE_SCHED_CLS);
	cr_expect_eq(cls->type, BPF_PROG_TYPE_SCHED_CLS);
	cr_expect_eq(act->type, BPF_PROG_TYPE_SCHED_ACT);
	/* bpf_loop(8, loop_body, ...): the callback is an ld_imm64 of a function */
	cr_expect_eq(k2_insn_op(&tc->insns[6]), K2_OP_LDDW_FUNC);
	loop_body = call_target(tc, 6);
	cr_expect_eq(loop_body, 24, "callback appended right after main");
	mix = call_target(tc, loop_body + 5);
	cr_expect_eq(mix, 24 + 12, "loop_body's callee follows it (depth first)");
	account = call_target(tc, 11);
	cr_expect_eq(account, 36 + 5);
	count = call_target(tc, account + 6);
	cr_expect_eq(count, 41 + 17);
	cr_expect_eq(call_target(tc, count + 12), mix, "mix is appended once");
	cr_expect_eq(tc->n_insns, 24 + 12 + 5 + 17 + 16);
	expect_map_load(tc, account + 7, map_idx(obj, ".data.stats"), 0);
	expect_map_load(tc, 18, map_idx(obj, ".rodata"), 0);
	expect_map_load(tc, count + 4, map_idx(obj, "counters"), -1);
	cr_expect_eq(cls->n_insns, 9 + 16 + 5);
	k2_object_free(obj);
}

Test(obj_read, legacy_maps_section)
{
	struct k2_object *obj = open_ok(obj_data("legacy_sock.o"));
	struct k2_prog *p = k2_object_prog(obj, "sock_count");

	cr_assert_eq(obj->n_maps, 3);
	cr_expect_str_eq(obj->maps[0].name, "pkt_count");
	cr_expect_eq(obj->maps[0].type, BPF_MAP_TYPE_ARRAY);
	cr_expect_eq(obj->maps[0].key_size, 4);
	cr_expect_eq(obj->maps[0].value_size, 8);
	cr_expect_eq(obj->maps[0].max_entries, 2);
	cr_expect_str_eq(obj->maps[1].name, "by_len");
	cr_expect_eq(obj->maps[1].type, BPF_MAP_TYPE_HASH);
	cr_expect_eq(obj->maps[1].flags, BPF_F_NO_PREALLOC);
	cr_expect_eq(obj->maps[1].max_entries, 64);
	cr_expect_eq(obj->kern_version, 0x060100u);
	cr_expect_str_eq(obj->maps[2].name, ".rodata.str1.1");
	cr_expect(obj->maps[2].internal && obj->maps[2].readonly);
	cr_expect_str_eq((const char *)obj->maps[2].init, "big %u\n");
	cr_expect_str_eq((const char *)obj->maps[2].init + 8, "small %u\n");
	cr_assert_not_null(p);
	cr_expect_eq(p->type, BPF_PROG_TYPE_SOCKET_FILTER);
	for (uint32_t i = 0, n = 0, v = 0; i < p->n_insns; i++) {
		if (k2_insn_op(&p->insns[i]) == K2_OP_LDDW_MAP_IDX)
			cr_expect_lt(p->insns[i].imm, 2, "map load %u refers to a map", n++);
		if (k2_insn_op(&p->insns[i]) == K2_OP_LDDW_MAP_IDX_VALUE) {
			cr_expect_eq(p->insns[i].imm, 2);
			cr_expect_eq(p->insns[i + 1].imm, v++ ? 8 : 0, "the two literals");
		}
	}
	k2_object_free(obj);
}

Test(obj_read, program_types_from_section_names)
{
	struct k2_object *obj = open_ok(obj_data("types_trace.o"));
	static const struct {
		const char *prog;
		uint32_t type, attach, flags;
	} want[] = {
		{ "kp_sleep", BPF_PROG_TYPE_KPROBE, 0, 0 },
		{ "krp_sleep", BPF_PROG_TYPE_KPROBE, 0, 0 },
		{ "tp_sleep", BPF_PROG_TYPE_TRACEPOINT, 0, 0 },
		{ "rtp_switch", BPF_PROG_TYPE_RAW_TRACEPOINT, 0, 0 },
		{ "pe_tick", BPF_PROG_TYPE_PERF_EVENT, 0, 0 },
		{ "cg_in", BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_INGRESS, 0 },
		{ "xdp_frag", BPF_PROG_TYPE_XDP, BPF_XDP, BPF_F_XDP_HAS_FRAGS },
	};

	cr_assert_eq(obj->n_progs, 7);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct k2_prog *p = k2_object_prog(obj, want[i].prog);

		cr_assert_not_null(p, "%s", want[i].prog);
		cr_expect_eq(p->type, want[i].type, "%s type %u", p->name, p->type);
		cr_expect_eq(p->attach_type, want[i].attach, "%s attach", p->name);
		cr_expect_eq(p->prog_flags, want[i].flags, "%s flags", p->name);
	}
	cr_expect_eq(obj->maps[map_idx(obj, "ring")].type, BPF_MAP_TYPE_RINGBUF);
	cr_expect_eq(obj->maps[map_idx(obj, "events")].type, BPF_MAP_TYPE_PERCPU_HASH);
	k2_object_free(obj);
}

Test(obj_read, xdp_tools_objects)
{
	static const struct {
		const char *file;
		uint32_t n_progs, first_len;
	} want[] = {
		{ "xdp-dispatcher.o", 2, 214 }, { "xdpdump_bpf.o", 2, 44 },
		{ "xdpdump_xdp.o", 1, 35 },      { "xdpfilt_alw_all.o", 1, 437 },
		{ "xdpfilt_dny_ip.o", 1, 299 },  { "xsk_def_xdp_prog.o", 1, 11 },
	};
	char path[256];

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct k2_object *obj;

		snprintf(path, sizeof(path), XDP_TOOLS "%s", want[i].file);
		obj = open_ok(path);
		cr_expect_eq(obj->n_progs, want[i].n_progs, "%s", path);
		/* the lengths libbpf links (bpf_program__insn_cnt after load) */
		cr_expect_eq(obj->progs[0].n_insns, want[i].first_len, "%s: %u", path,
			     obj->progs[0].n_insns);
		k2_object_free(obj);
	}
}

Test(obj_read, every_linked_program_passes_the_structural_check)
{
	static const char *const files[] = { "maps_xdp.o", "calls_tc.o", "legacy_sock.o",
					     "types_trace.o", "dead_code.o" };

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct k2_object *obj = open_ok(obj_data(files[i]));

		for (uint32_t p = 0; p < obj->n_progs; p++)
			cr_expect_eq(k2_insns_check(obj->progs[p].insns, obj->progs[p].n_insns, NULL,
						    NULL), 0, "%s %s", files[i], obj->progs[p].name);
		k2_object_free(obj);
	}
}

Test(obj_read, section_table)
{
	static const struct {
		const char *sec;
		uint32_t type, attach, flags;
	} t[] = {
		{ "xdp", BPF_PROG_TYPE_XDP, BPF_XDP, 0 },
		{ "xdp.frags", BPF_PROG_TYPE_XDP, BPF_XDP, BPF_F_XDP_HAS_FRAGS },
		{ "xdp/devmap", BPF_PROG_TYPE_XDP, BPF_XDP_DEVMAP, 0 },
		{ "tc", BPF_PROG_TYPE_SCHED_CLS, 0, 0 },
		{ "classifier", BPF_PROG_TYPE_SCHED_CLS, 0, 0 },
		{ "action", BPF_PROG_TYPE_SCHED_ACT, 0, 0 },
		{ "socket", BPF_PROG_TYPE_SOCKET_FILTER, 0, 0 },
		{ "kprobe/tcp_v4_connect", BPF_PROG_TYPE_KPROBE, 0, 0 },
		{ "kprobe", BPF_PROG_TYPE_KPROBE, 0, 0 },
		{ "kretprobe/x", BPF_PROG_TYPE_KPROBE, 0, 0 },
		{ "kprobe.multi/tcp_*", BPF_PROG_TYPE_KPROBE, BPF_TRACE_KPROBE_MULTI, 0 },
		{ "tracepoint/sched/sched_switch", BPF_PROG_TYPE_TRACEPOINT, 0, 0 },
		{ "tp/syscalls/sys_enter_open", BPF_PROG_TYPE_TRACEPOINT, 0, 0 },
		{ "raw_tracepoint/sys_enter", BPF_PROG_TYPE_RAW_TRACEPOINT, 0, 0 },
		{ "raw_tp/sys_enter", BPF_PROG_TYPE_RAW_TRACEPOINT, 0, 0 },
		{ "raw_tp.w/x", BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE, 0, 0 },
		{ "perf_event", BPF_PROG_TYPE_PERF_EVENT, 0, 0 },
		{ "cgroup_skb/ingress", BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_INGRESS, 0 },
		{ "cgroup_skb/egress", BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_EGRESS, 0 },
		{ "cgroup/connect4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_CONNECT, 0 },
		{ "fentry/tcp_connect", BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, 0 },
		{ "fentry.s/x", BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, BPF_F_SLEEPABLE },
		{ "lsm/file_open", BPF_PROG_TYPE_LSM, BPF_LSM_MAC, 0 },
		{ "sk_skb/stream_parser", BPF_PROG_TYPE_SK_SKB, BPF_SK_SKB_STREAM_PARSER, 0 },
		{ "sockops", BPF_PROG_TYPE_SOCK_OPS, BPF_CGROUP_SOCK_OPS, 0 },
		{ "tcx/ingress", BPF_PROG_TYPE_SCHED_CLS, 46, 0 },
		{ "xdpx", 0, 0, 0 },
		{ "kprobex/y", 0, 0, 0 },
		{ "tracepoint_x", 0, 0, 0 },
		{ ".text", 0, 0, 0 },
	};
	uint32_t at;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cr_expect_eq(k2_prog_type_of_section(t[i].sec, &at), t[i].type, "%s", t[i].sec);
		cr_expect_eq(at, t[i].attach, "%s attach %u", t[i].sec, at);
		cr_expect_eq(k2_prog_flags_of_section(t[i].sec), t[i].flags, "%s flags", t[i].sec);
	}
	cr_expect_str_eq(k2_prog_type_name(BPF_PROG_TYPE_SCHED_CLS), "sched_cls");
	cr_expect_str_eq(k2_map_type_name(BPF_MAP_TYPE_LRU_HASH), "lru_hash");
	cr_expect_eq(k2_map_type_by_name("percpu_array"), BPF_MAP_TYPE_PERCPU_ARRAY);
	cr_expect_eq(k2_map_type_by_name("BPF_MAP_TYPE_RINGBUF"), BPF_MAP_TYPE_RINGBUF);
	cr_expect_eq(k2_map_type_by_name("nope"), 0);
	cr_expect_eq(k2_prog_type_by_name("xdp"), BPF_PROG_TYPE_XDP);
	cr_expect_eq(k2_prog_type_by_name("tc"), BPF_PROG_TYPE_SCHED_CLS);
	cr_expect_eq(k2_prog_type_by_name("socket_filter"), BPF_PROG_TYPE_SOCKET_FILTER);
}
