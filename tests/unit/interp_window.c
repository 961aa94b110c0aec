/* tests/unit/interp_window.c: window mode: snapshots, hand-made states, runs, distances. */
#include "tests/unit/interp_util.h"

static const char *xdp_prog = "r2 = *(u32 *)(r1 + 0)\n"
			      "r3 = *(u32 *)(r1 + 4)\n"
			      "r4 = r2\n"
			      "r4 += 14\n"
			      "if r4 > r3 goto out\n"
			      "r5 = *(u8 *)(r2 + 0)\n" /* window [5, 9) */
			      "r5 += 1\n"
			      "*(u8 *)(r2 + 0) = r5\n"
			      "*(u64 *)(r10 - 8) = r5\n"
			      "r0 = 2\n"
			      "exit\n"
			      "out:\n"
			      "r0 = 1\n"
			      "exit\n";

static struct k2_input *input_of(uint8_t first)
{
	struct k2_input *in = calloc(1, sizeof(*in));

	in->pkt_len = 20;
	in->pkt[0] = first;
	return in;
}

Test(interp_window, snapshot_run_and_restore)
{
	struct k2_prog p = prog_of(BPF_PROG_TYPE_XDP, xdp_prog, NULL, 0);
	struct k2_vm *vm = vm_of(&p);
	struct k2_input *in = input_of(0x41);
	struct k2_wstate *st;
	struct k2_window *w;
	struct k2_wout a, b;
	struct k2_err e = { 0 };
	bool err;

	cr_assert_eq(k2_wstate_new(vm, &st), 0);
	cr_assert_eq(k2_vm_snapshot(vm, in, 5, st, NULL), 1);
	cr_assert_eq(k2_window_new(&w), 0);
	cr_assert_eq(k2_window_set(w, vm, p.insns + 5, 4, &e), 0, "%s", e.msg);
	k2_vm_wrun(vm, w, st, &a);
	cr_assert_eq(a.status, K2_RUN_OK, "%s", a.err_reason);
	cr_expect_eq(a.exit, 0);
	cr_expect_eq(a.r[5], 0x42);
	/* one packet byte and eight stack bytes changed (the stack ones became initialised) */
	cr_assert_eq(a.n_bytes, 9);
	cr_expect_eq(a.bytes[0].addr, K2_ADDR(K2_RGN_STACK, 0, 504));
	cr_expect_eq(a.bytes[0].init_before, 0);
	cr_expect_eq(a.bytes[0].after, 0x42);
	cr_expect_eq(a.bytes[8].addr, K2_ADDR(K2_RGN_PKT, 0, K2_PKT_HEADROOM));
	cr_expect_eq(a.bytes[8].before, 0x41);
	cr_expect_eq(a.bytes[8].after, 0x42);
	/* the state was put back: the same run gives the same output */
	k2_vm_wrun(vm, w, st, &b);
	cr_expect_eq(k2_wout_distance(&a, &b, 0x3ff, &err), 0);
	cr_expect_not(err);
	k2_window_free(w);
	k2_wstate_free(st);
	k2_vm_free(vm);
	free(in);
	free(p.insns);
}

Test(interp_window, distance_counts_bits_and_errors)
{
	struct k2_prog p = prog_of(BPF_PROG_TYPE_XDP, xdp_prog, NULL, 0);
	struct k2_vm *vm = vm_of(&p);
	struct k2_input *in = input_of(0x41);
	struct k2_wstate *st;
	struct k2_window *w;
	struct k2_wout ref, cand;
	struct k2_err e = { 0 };
	uint32_t n;
	struct bpf_insn *c1 = insns_of("r5 = *(u8 *)(r2 + 0)\nr5 += 3\n*(u8 *)(r2 + 0) = r5\n"
				       "*(u64 *)(r10 - 8) = r5\n",
				       &n);
	struct bpf_insn *c2 = insns_of("r5 = r7\n", &n);
	bool err;

	cr_assert_eq(k2_wstate_new(vm, &st), 0);
	cr_assert_eq(k2_vm_snapshot(vm, in, 5, st, NULL), 1);
	cr_assert_eq(k2_window_new(&w), 0);
	cr_assert_eq(k2_window_set(w, vm, p.insns + 5, 4, &e), 0, "%s", e.msg);
	k2_vm_wrun(vm, w, st, &ref);
	cr_assert_eq(k2_window_set(w, vm, c1, 4, &e), 0, "%s", e.msg);
	k2_vm_wrun(vm, w, st, &cand);
	/* r5: 0x42 vs 0x44 (2 bits), the packet byte (2 bits), the stack byte (2 bits) */
	cr_expect_eq(k2_wout_distance(&ref, &cand, 1u << 5, &err), 6);
	cr_expect_not(err);
	cr_assert_eq(k2_window_set(w, vm, c2, 1, &e), 0, "%s", e.msg);
	k2_vm_wrun(vm, w, st, &cand);
	cr_expect_eq(cand.status, K2_RUN_EUNINIT);
	k2_wout_distance(&ref, &cand, 1u << 5, &err);
	cr_expect(err);
	free(c1);
	free(c2);
	k2_window_free(w);
	k2_wstate_free(st);
	k2_vm_free(vm);
	free(in);
	free(p.insns);
}

Test(interp_window, exits_are_numbered_past_the_end)
{
	struct k2_prog p = prog_of(BPF_PROG_TYPE_XDP, "r0 = 0\nexit\n", NULL, 0);
	struct k2_vm *vm = vm_of(&p);
	struct k2_input *in = input_of(0);
	struct k2_wstate *st;
	struct k2_window *w;
	struct k2_wout o;
	struct k2_err e = { 0 };
	uint32_t n;
	/* exits: +3 past the end when r1 == 7, else falling off the end */
	struct bpf_insn *c = insns_of("if r1 == 7 goto +4\nr1 += 1\n", &n);

	cr_assert_eq(k2_wstate_new(vm, &st), 0);
	cr_assert_eq(k2_wstate_init(vm, st, in), 0);
	cr_assert_eq(k2_window_new(&w), 0);
	cr_assert_eq(k2_window_set(w, vm, c, n, &e), 0, "%s", e.msg);
	k2_wstate_set_reg(st, 1, K2_T_SCALAR, 7);
	k2_vm_wrun(vm, w, st, &o);
	cr_expect_eq(o.status, K2_RUN_OK);
	cr_expect_eq(o.exit, 3);
	cr_expect_eq(o.r[1], 7);
	k2_wstate_set_reg(st, 1, K2_T_SCALAR, 1);
	k2_vm_wrun(vm, w, st, &o);
	cr_expect_eq(o.exit, 0);
	cr_expect_eq(o.r[1], 2);
	free(c);
	k2_window_free(w);
	k2_wstate_free(st);
	k2_vm_free(vm);
	free(in);
	free(p.insns);
}

Test(interp_window, hand_made_state_with_stack_and_map_value)
{
	struct k2_map m = { .name = "m",
			    .type = BPF_MAP_TYPE_ARRAY,
			    .key_size = 4,
			    .value_size = 8,
			    .max_entries = 2,
			    .inner = -1 };
	struct k2_prog p = prog_of(BPF_PROG_TYPE_XDP, "r0 = 0\nexit\n", &m, 1);
	struct k2_vm *vm = vm_of(&p);
	struct k2_input *in = input_of(0);
	struct k2_wstate *st;
	struct k2_window *w;
	struct k2_wout o;
	struct k2_err e = { 0 };
	struct k2_mapstate *ms;
	uint32_t n, key = 1;
	uint64_t val = 40, addr, stk = 2;
	struct bpf_insn *c = insns_of("r1 = *(u64 *)(r10 - 8)\nr2 = *(u64 *)(r6 + 0)\n"
				      "r2 += r1\n*(u64 *)(r6 + 0) = r2\nr0 = r2\nexit\n",
				      &n);

	cr_assert_eq(k2_mapstate_new(&m, 1, 1, &ms, &e), 0, "%s", e.msg);
	in->maps = ms;
	cr_assert_eq(k2_wstate_new(vm, &st), 0);
	cr_assert_eq(k2_wstate_init(vm, st, in), 0);
	cr_assert_eq(k2_wstate_write(st, K2_ADDR(K2_RGN_STACK, 0, 504), &stk, 8), 0);
	cr_assert_eq(k2_wstate_add_slot(vm, st, 0, &key, &val, &addr), 0);
	k2_wstate_set_reg(st, 6, K2_T_MAP_VALUE, addr);
	cr_assert_eq(k2_window_new(&w), 0);
	cr_assert_eq(k2_window_set(w, vm, c, n, &e), 0, "%s", e.msg);
	k2_vm_wrun(vm, w, st, &o);
	cr_assert_eq(o.status, K2_RUN_OK, "%s", o.err_reason);
	cr_expect_eq(o.exit, K2_WEXIT_RETURN);
	cr_expect_eq(o.r[0], 42);
	cr_expect_eq(o.n_bytes, 1);
	cr_expect_eq(o.bytes[0].addr, addr);
	cr_expect_eq(o.bytes[0].after, 42);
	k2_wstate_read(st, addr, &val, 8);
	cr_expect_eq(val, 40, "the state is unchanged after the run");
	free(c);
	k2_window_free(w);
	k2_wstate_free(st);
	k2_mapstate_free(ms);
	k2_vm_free(vm);
	free(in);
	free(p.insns);
}

Test(interp_window, window_rejects_calls_and_bad_code)
{
	struct k2_prog p = prog_of(BPF_PROG_TYPE_XDP, "r0 = 0\nexit\n", NULL, 0);
	struct k2_vm *vm = vm_of(&p);
	struct k2_window *w;
	struct k2_err e = { 0 };
	uint32_t n;
	struct bpf_insn *c = insns_of("r1 = 1\ncall 5\n", &n);
	struct bpf_insn *d = insns_of("r1 /= 0\n", &n);

	cr_assert_eq(k2_window_new(&w), 0);
	cr_expect_neq(k2_window_set(w, vm, c, 2, &e), 0);
	cr_expect(strstr(e.msg, "insn 1") != NULL, "%s", e.msg);
	cr_expect_neq(k2_window_set(w, vm, d, 1, &e), 0);
	free(c);
	free(d);
	k2_window_free(w);
	k2_vm_free(vm);
	free(p.insns);
}

/* Every suffix of a call-free program, run as a window from the snapshot at its first
 * instruction, ends as the whole run does: same r0, same final packet. */
Test(interp_window, suffix_windows_agree_with_whole_runs)
{
	static const char *text =
		"r6 = r1\nr2 = *(u32 *)(r6 + 0)\nr3 = *(u32 *)(r6 + 4)\nr4 = r2\nr4 += 20\n"
		"if r4 > r3 goto drop\nr5 = *(u16 *)(r2 + 12)\n*(u64 *)(r10 - 8) = r5\n"
		"r7 = *(u8 *)(r2 + 14)\nr7 &= 0xf\nr7 <<= 2\nif r7 < 5 goto skip\n"
		"r8 = *(u64 *)(r10 - 8)\nr8 += r7\n*(u16 *)(r2 + 0) = r8\n"
		"skip:\nr0 = *(u64 *)(r10 - 8)\nr0 ^= r7\nexit\ndrop:\nr0 = 1\nexit\n";
	struct k2_prog p = prog_of(BPF_PROG_TYPE_XDP, text, NULL, 0);
	struct k2_vm *vm = vm_of(&p);
	struct k2_input *in = calloc(1, sizeof(*in));
	struct k2_wstate *st;
	struct k2_window *w;
	struct k2_rng rng;
	unsigned checked = 0;

	k2_rng_seed(&rng, 5);
	cr_assert_eq(k2_wstate_new(vm, &st), 0);
	cr_assert_eq(k2_window_new(&w), 0);
	for (int iter = 0; iter < 40; iter++) {
		struct k2_result res;
		uint8_t want[64];
		uint32_t want_len;
		uint64_t want_r0;

		in->pkt_len = 14 + (uint32_t)k2_rng_below(&rng, 20);
		for (uint32_t i = 0; i < in->pkt_len; i++)
			in->pkt[i] = (uint8_t)k2_rng_next(&rng);
		k2_vm_run(vm, in, &res);
		cr_assert_eq(res.status, K2_RUN_OK, "%s", res.err_reason);
		want_r0 = res.r0;
		want_len = res.pkt_len;
		memcpy(want, res.pkt, want_len);
		for (uint32_t pc = 0; pc < p.n_insns; pc++) {
			struct k2_wout o;
			uint8_t got[64];
			uint32_t meta, data, end;

			if (k2_vm_snapshot(vm, in, pc, st, NULL) != 1)
				continue; /* not on this input's path */
			cr_assert_eq(k2_window_set(w, vm, p.insns + pc, p.n_insns - pc, NULL), 0);
			k2_vm_wrun(vm, w, st, &o);
			cr_assert_eq(o.status, K2_RUN_OK, "pc %u: %s", pc, o.err_reason);
			cr_assert_eq(o.exit, K2_WEXIT_RETURN);
			cr_expect_eq(o.r[0], want_r0, "pc %u", pc);
			k2_wstate_pkt_bounds(st, &meta, &data, &end);
			cr_assert_eq(end - data, want_len);
			k2_wstate_read(st, K2_ADDR(K2_RGN_PKT, 0, data), got, end - data);
			for (uint32_t b = 0; b < o.n_bytes; b++)
				if (K2_ADDR_RGN(o.bytes[b].addr) == K2_RGN_PKT)
					got[K2_ADDR_OFF(o.bytes[b].addr) - data] = o.bytes[b].after;
			cr_expect_eq(memcmp(got, want, want_len), 0, "pc %u: packet differs", pc);
			checked++;
		}
	}
	cr_expect_gt(checked, 200);
	k2_window_free(w);
	k2_wstate_free(st);
	k2_vm_free(vm);
	free(in);
	free(p.insns);
}
