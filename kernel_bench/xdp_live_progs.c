/* kernel_bench/xdp_live_progs.c: the bench's own tiny XDP programs: packet counters. */
#include "kernel_bench/bench_int.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG_SIZE 65536

int k2_bench_load_insns(uint32_t type, const char *name, const struct bpf_insn *insns,
			uint32_t n, struct k2_err *e)
{
	char *log = malloc(LOG_SIZE);
	int fd, err;

	if (!log)
		return k2_err_set(e, -ENOMEM, "out of memory");
	log[0] = '\0';
	LIBBPF_OPTS(bpf_prog_load_opts, lo, .log_buf = log, .log_size = LOG_SIZE);
	fd = bpf_prog_load((enum bpf_prog_type)type, name, "GPL", insns, n, &lo);
	if (fd < 0) {
		size_t len = strlen(log);

		err = -errno;
		while (len && log[len - 1] == '\n')
			log[--len] = '\0';
		k2_err_set(e, err, "BPF_PROG_LOAD %s: %s: %s", name, strerror(-err),
			   len ? strrchr(log, '\n') ? strrchr(log, '\n') + 1 : log : "no log");
		free(log);
		return err;
	}
	free(log);
	return fd;
}

#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), \
						 .off = (o), .imm = (i) })

int k2_live_counter_prog(int map_fd, int act, struct k2_err *e)
{
	const struct bpf_insn p[] = {
		INSN(BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, -4, 0), /* key = 0 */
		INSN(BPF_LD | BPF_IMM | BPF_DW, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, map_fd),
		INSN(0, 0, 0, 0, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0),
		INSN(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -4),
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem),
		INSN(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 3, 0),
		INSN(BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_1, BPF_REG_0, 0, 0), /* per-CPU: no lock */
		INSN(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_1, 0, 0, 1),
		INSN(BPF_STX | BPF_MEM | BPF_DW, BPF_REG_0, BPF_REG_1, 0, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, act),
		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};

	return k2_bench_load_insns(BPF_PROG_TYPE_XDP,
				   act == XDP_TX ? "k2_live_gen" : "k2_live_sink", p,
				   sizeof(p) / sizeof(p[0]), e);
}

int k2_live_counter_read(int map_fd, uint64_t *sum, struct k2_err *e)
{
	int ncpus = libbpf_num_possible_cpus();
	uint64_t *v;
	uint32_t key = 0;

	*sum = 0;
	if (ncpus <= 0)
		return k2_err_set(e, -EIO, "cannot count CPUs");
	v = calloc((size_t)ncpus, sizeof(*v));
	if (!v)
		return k2_err_set(e, -ENOMEM, "out of memory");
	if (bpf_map_lookup_elem(map_fd, &key, v) < 0) {
		int err = -errno;

		free(v);
		return k2_err_set(e, err, "counter map lookup: %s", strerror(-err));
	}
	for (int i = 0; i < ncpus; i++)
		*sum += v[i];
	free(v);
	return 0;
}
