/* tests/fuzz/interp.c: libFuzzer target: checked programs run on any input without crashing. */
/* Also as a window on their entry state; window runs must leave their state unchanged. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/k2bpf.h"

/* Input: byte 0 picks the program type, byte 1 the instruction count (slots of 8 bytes follow),
 * the rest is the packet. Two maps are always there: an array and a hash. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t types[] = { BPF_PROG_TYPE_XDP, BPF_PROG_TYPE_SCHED_CLS,
					  BPF_PROG_TYPE_SOCKET_FILTER, BPF_PROG_TYPE_KPROBE };
	static const struct k2_map maps[2] = {
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
	struct k2_vm_opts o = { .sz = sizeof(o), .max_steps = 4096 };
	struct bpf_insn insns[64];
	struct k2_prog p = { .insns = insns, .maps = maps, .n_maps = 2 };
	struct k2_mapstate *ms;
	struct k2_input *in;
	struct k2_vm *vm;
	struct k2_result r;
	uint32_t n;

	if (size < 2)
		return 0;
	p.type = types[data[0] % 4];
	n = data[1] % 64 + 1;
	if (size < 2 + 8 * (size_t)n)
		return 0;
	memcpy(insns, data + 2, 8 * (size_t)n);
	p.n_insns = p.n_main = n;
	if (k2_vm_new(&p, &o, &vm, NULL))
		return 0;
	if (k2_mapstate_new(maps, 2, 1, &ms, NULL)) {
		k2_vm_free(vm);
		return 0;
	}
	in = calloc(1, sizeof(*in));
	in->maps = ms;
	in->pkt_len = (uint32_t)(size - 2 - 8 * (size_t)n);
	if (in->pkt_len > K2_PKT_MAX)
		in->pkt_len = K2_PKT_MAX;
	memcpy(in->pkt, data + 2 + 8 * (size_t)n, in->pkt_len);
	k2_vm_run(vm, in, &r);
	if (r.status >= K2_RUN__COUNT || (r.status != K2_RUN_OK && !r.err_reason))
		abort();
	{
		struct k2_wstate *st;
		struct k2_window *w;
		struct k2_wout a, b;
		bool err;

		if (!k2_wstate_new(vm, &st) && !k2_window_new(&w)) {
			k2_wstate_init(vm, st, in);
			if (!k2_window_set(w, vm, insns, n, NULL)) {
				k2_vm_wrun(vm, w, st, &a);
				k2_vm_wrun(vm, w, st, &b);
				if (k2_wout_distance(&a, &b, 0x7ff, &err) || err)
					abort();
			}
			k2_window_free(w);
			k2_wstate_free(st);
		}
	}
	k2_vm_free(vm);
	k2_mapstate_free(ms);
	free(in);
	return 0;
}
