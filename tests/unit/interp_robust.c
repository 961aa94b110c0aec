/* tests/unit/interp_robust.c: random programs and inputs never crash the interpreter. */
#include "tests/unit/interp_util.h"

static const uint32_t types[] = { BPF_PROG_TYPE_XDP, BPF_PROG_TYPE_SCHED_CLS,
				  BPF_PROG_TYPE_SOCKET_FILTER, BPF_PROG_TYPE_KPROBE };

/* A random instruction: a random op with small registers, offsets and immediates. */
static int random_insn(struct k2_rng *r, struct bpf_insn *out, uint32_t room, uint32_t n_maps)
{
	enum k2_op op = (enum k2_op)(1 + k2_rng_below(r, K2_OP__COUNT - 1));
	const struct k2_opinfo *oi = k2_op_info(op);
	int16_t off = (int16_t)((int)k2_rng_below(r, 40) - 20);
	int64_t imm = (int64_t)k2_rng_below(r, 64) - 8;

	if (oi->kind == K2_KIND_LDDW && room < 2)
		op = K2_OP_MOV64_K, oi = k2_op_info(op);
	if (oi->kind == K2_KIND_LDX || oi->kind == K2_KIND_ST || oi->kind == K2_KIND_STX ||
	    oi->kind == K2_KIND_ATOMIC)
		off = (int16_t)(-8 * (int)(1 + k2_rng_below(r, 8)));
	if (op == K2_OP_CALL)
		imm = (int64_t)k2_rng_below(r, 140);
	if (op == K2_OP_LDDW_MAP_IDX || op == K2_OP_LDDW_MAP_IDX_VALUE)
		imm = (int64_t)k2_rng_below(r, n_maps + 1);
	return k2_insn_encode(op, (uint8_t)k2_rng_below(r, 10), (uint8_t)k2_rng_below(r, 11), off,
			      imm, out);
}

Test(interp_robust, random_programs)
{
	struct k2_map maps[2] = {
		{ .name = "a",
		  .type = BPF_MAP_TYPE_ARRAY,
		  .key_size = 4,
		  .value_size = 16,
		  .max_entries = 4,
		  .inner = -1 },
		{ .name = "h",
		  .type = BPF_MAP_TYPE_HASH,
		  .key_size = 4,
		  .value_size = 8,
		  .max_entries = 4,
		  .inner = -1 },
	};
	struct k2_mapstate *ms;
	struct k2_input *in = calloc(1, sizeof(*in));
	struct k2_rng rng;
	struct bpf_insn insns[40];
	unsigned ran = 0, ok = 0;

	k2_rng_seed(&rng, 1234);
	cr_assert_eq(k2_mapstate_new(maps, 2, 1, &ms, NULL), 0);
	in->maps = ms;
	for (int iter = 0; iter < 3000; iter++) {
		struct k2_prog p = {
			.type = types[iter % 4], .insns = insns, .maps = maps, .n_maps = 2
		};
		struct k2_vm_opts o = { .sz = sizeof(o), .max_steps = 10000 };
		struct k2_vm *vm;
		struct k2_result res;
		uint32_t n = 0, len = 2 + (uint32_t)k2_rng_below(&rng, 30);

		while (n + 1 < len)
			n += (uint32_t)random_insn(&rng, &insns[n], len - 1 - n, 2);
		k2_insn_encode(K2_OP_EXIT, 0, 0, 0, 0, &insns[n++]);
		p.n_insns = p.n_main = n;
		in->pkt_len = 14 + (uint32_t)k2_rng_below(&rng, 100);
		for (uint32_t i = 0; i < in->pkt_len; i++)
			in->pkt[i] = (uint8_t)k2_rng_next(&rng);
		in->ctx_len = 0;
		if (k2_vm_new(&p, &o, &vm, NULL))
			continue;
		k2_vm_run(vm, in, &res);
		ran++;
		ok += res.status == K2_RUN_OK;
		cr_assert_lt(res.status, K2_RUN__COUNT);
		if (res.status != K2_RUN_OK)
			cr_assert_not_null(res.err_reason);
		k2_vm_free(vm);
	}
	cr_expect_gt(ran, 100, "only %u random programs passed the structural check", ran);
	k2_mapstate_free(ms);
	free(in);
}

Test(interp_robust, random_windows_leave_the_state_unchanged)
{
	struct k2_prog p = prog_of(BPF_PROG_TYPE_XDP, "r0 = 0\nexit\n", NULL, 0);
	struct k2_vm *vm = vm_of(&p);
	struct k2_input *in = calloc(1, sizeof(*in));
	struct k2_wstate *st, *copy;
	struct k2_window *w;
	struct k2_wout o, o2;
	struct k2_rng rng;
	struct bpf_insn insns[12];

	k2_rng_seed(&rng, 99);
	in->pkt_len = 64;
	cr_assert_eq(k2_wstate_new(vm, &st), 0);
	cr_assert_eq(k2_wstate_new(vm, &copy), 0);
	cr_assert_eq(k2_wstate_init(vm, st, in), 0);
	for (int r = 0; r < 10; r++)
		k2_wstate_set_reg(st, (unsigned)r, K2_T_SCALAR, k2_rng_next(&rng) & 0xff);
	k2_wstate_set_reg(st, 7, K2_T_STACK, K2_ADDR(K2_RGN_STACK, 0, 256));
	cr_assert_eq(k2_window_new(&w), 0);
	for (int iter = 0; iter < 3000; iter++) {
		uint32_t n = 0, len = 1 + (uint32_t)k2_rng_below(&rng, 10);
		bool err;

		while (n < len) {
			int k = random_insn(&rng, &insns[n], len - n, 0);

			if (k < 0)
				break;
			n += (uint32_t)k;
		}
		if (k2_window_set(w, vm, insns, n, NULL))
			continue;
		k2_vm_wrun(vm, w, st, &o);
		k2_vm_wrun(vm, w, st, &o2);
		cr_assert_eq(k2_wout_distance(&o, &o2, 0x7ff, &err), 0,
			     "a window run changed its state (iteration %d)", iter);
	}
	k2_window_free(w);
	k2_wstate_free(copy);
	k2_wstate_free(st);
	k2_vm_free(vm);
	free(in);
	free(p.insns);
}
