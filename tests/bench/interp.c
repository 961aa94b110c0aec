/* tests/bench/interp.c: interpreter throughput: straight-line ALU, a packet parser, window runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bpf/k2bpf.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* CPU time: other jobs share the cores */
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static struct bpf_insn *assemble(const char *text, size_t *n)
{
	struct bpf_insn *in;
	struct k2_err e = { 0 };

	if (k2_asm_prog(text, &in, n, &e)) {
		fprintf(stderr, "asm: %s\n", e.msg);
		exit(1);
	}
	return in;
}

/* ~300 ALU instructions on initialised scalars, then exit. */
static char *alu_text(void)
{
	static const char *ops[] = {
		"r1 += r2", "r2 ^= r1", "r3 = r1", "r3 <<= 3", "r1 -= r3",
		"w4 = w1", "r4 *= 7", "r2 += r4", "r1 >>= 1", "r5 |= r2",
	};
	char *t = malloc(65536);
	size_t o = 0;

	o += (size_t)sprintf(t + o, "r1 = 1\nr2 = 2\nr3 = 3\nr4 = 4\nr5 = 5\n");
	for (int i = 0; i < 300; i++)
		o += (size_t)sprintf(t + o, "%s\n", ops[i % 10]);
	sprintf(t + o, "r0 = r5\nexit\n");
	return t;
}

static const char *parser_text = "r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 4)\nr4 = r2\nr4 += 34\n"
				 "if r4 > r3 goto drop\n"
				 "r5 = *(u16 *)(r2 + 12)\nif r5 != 0x8 goto pass\n"
				 "r5 = *(u8 *)(r2 + 23)\nif r5 != 17 goto pass\n"
				 "r6 = *(u32 *)(r2 + 26)\n*(u32 *)(r10 - 4) = r6\n"
				 "r1 = map[idx:0] ll\nr2 = r10\nr2 += -4\ncall 1\n"
				 "if r0 == 0 goto pass\nr1 = 1\nlock *(u64 *)(r0 + 0) += r1\n"
				 "drop:\nr0 = 1\nexit\npass:\nr0 = 2\nexit\n";

int main(void)
{
	struct k2_input *in = calloc(1, sizeof(*in));
	struct k2_result res;
	struct k2_vm *vm;
	struct k2_err e = { 0 };
	size_t n;
	char *t = alu_text();
	struct bpf_insn *alu = assemble(t, &n);
	struct k2_prog p = { .type = BPF_PROG_TYPE_XDP,
			     .insns = alu,
			     .n_insns = (uint32_t)n,
			     .n_main = (uint32_t)n };
	double t0, dt;
	uint64_t steps = 0;
	int runs = 200000;

	in->pkt_len = 64;
	if (k2_vm_new(&p, NULL, &vm, &e)) {
		fprintf(stderr, "%s\n", e.msg);
		return 1;
	}
	t0 = now();
	for (int i = 0; i < runs; i++) {
		k2_vm_run(vm, in, &res);
		steps += res.steps;
	}
	dt = now() - t0;
	printf("alu_straight_line: %zu insns, %.1f M insns/s, %.0f ns/run\n", n,
	       (double)steps / dt / 1e6, dt / runs * 1e9);
	k2_vm_free(vm);

	/* A packet parser with a hash lookup and an atomic counter. */
	{
		struct k2_map m = { .name = "cnt",
				    .type = BPF_MAP_TYPE_HASH,
				    .key_size = 4,
				    .value_size = 8,
				    .max_entries = 64,
				    .inner = -1 };
		struct k2_mapstate *ms;
		struct bpf_insn *pi = assemble(parser_text, &n);
		struct k2_prog pp = { .type = BPF_PROG_TYPE_XDP,
				      .insns = pi,
				      .n_insns = (uint32_t)n,
				      .n_main = (uint32_t)n,
				      .maps = &m,
				      .n_maps = 1 };
		uint32_t key = 0x0100000a;
		uint64_t v = 0;
		static const uint8_t hdr[34] = {
			[12] = 8, [14] = 0x45, [23] = 17, [26] = 10, [27] = 0, [28] = 0, [29] = 1
		};

		k2_mapstate_new(&m, 1, 1, &ms, NULL);
		k2_mapstate_update(ms, 0, &key, &v, BPF_ANY);
		memcpy(in->pkt, hdr, sizeof(hdr));
		in->maps = ms;
		if (k2_vm_new(&pp, NULL, &vm, &e)) {
			fprintf(stderr, "%s\n", e.msg);
			return 1;
		}
		steps = 0;
		runs = 1000000;
		t0 = now();
		for (int i = 0; i < runs; i++) {
			k2_vm_run(vm, in, &res);
			steps += res.steps;
		}
		dt = now() - t0;
		printf("xdp_parser_lookup: %zu insns, %.0f ns/run, %.1f M insns/s (status %s)\n", n,
		       dt / runs * 1e9, (double)steps / dt / 1e6, k2_status_name(res.status));

		/* Window mode: 8 instructions of the parser from a snapshot, 32 states. */
		{
			struct k2_wstate *st[32];
			struct k2_window *w;
			struct k2_wout o;
			int wruns = 0;

			k2_window_new(&w);
			if (k2_window_set(w, vm, pi, 8, &e)) {
				fprintf(stderr, "%s\n", e.msg);
				return 1;
			}
			for (int s = 0; s < 32; s++) {
				k2_wstate_new(vm, &st[s]);
				in->pkt[29] = (uint8_t)s;
				k2_vm_snapshot(vm, in, 0, st[s], NULL);
			}
			t0 = now();
			for (int i = 0; i < 100000; i++)
				for (int s = 0; s < 32; s++, wruns++)
					k2_vm_wrun(vm, w, st[s], &o);
			dt = now() - t0;
			printf("window_8_insns: %.0f ns/run over 32 states (status %s)\n",
			       dt / wruns * 1e9, k2_status_name(o.status));
		}
	}
	return 0;
}
