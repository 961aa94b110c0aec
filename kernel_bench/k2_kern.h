/* kernel_bench/k2_kern.h: the kernel as oracle: maps, verifier loads, BPF_PROG_TEST_RUN. */
#ifndef K2_KERN_H
#define K2_KERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf/k2bpf.h"

/*
 * Whether bpf() can create maps and load and test-run programs here. Returns 0, or a
 * negative errno with one line in e->msg saying why not ("bpf() not permitted: needs
 * root or CAP_BPF+CAP_PERFMON+CAP_NET_ADMIN"). Tests that need the kernel call this
 * first and print the message when they skip.
 */
int k2_kern_probe(struct k2_err *e);

/* Possible CPUs as the kernel lays out per-CPU map values (libbpf_num_possible_cpus). */
int k2_kern_ncpus(void);

/*
 * Pins the calling thread to one CPU, so that per-CPU maps and get_smp_processor_id in
 * the kernel agree with struct k2_input.cpu. k2_kern_run() does this for every input.
 */
int k2_kern_pin_cpu(uint32_t cpu, struct k2_err *e);

/* ---- maps -------------------------------------------------------------------------- */

/* The kernel maps of one program, in the order of its struct k2_map array. */
struct k2_kern_maps;

/*
 * Creates one kernel map per k2_map (map-in-map outer maps with a temporary inner map
 * made from their template). Internal maps get their initial bytes; .rodata is then
 * frozen, as libbpf does. `ncpus` is the CPU count of the k2_mapstates that fill and
 * read will exchange (0: the kernel's). Errors name the map: "map .rodata (array): ...".
 */
int k2_kern_maps_create(const struct k2_map *maps, uint32_t n, uint32_t ncpus,
			struct k2_kern_maps **out, struct k2_err *e);
void k2_kern_maps_free(struct k2_kern_maps *km);
uint32_t k2_kern_maps_count(const struct k2_kern_maps *km);
/* The fd of map i (an fd_array for BPF_PSEUDO_MAP_IDX), or -1. */
int k2_kern_maps_fd(const struct k2_kern_maps *km, uint32_t i);
const int *k2_kern_maps_fds(const struct k2_kern_maps *km);

/*
 * Makes the kernel maps hold exactly the entries of `ms`: hash-like maps lose the keys
 * `ms` does not have, array elements absent from `ms` become zero. Frozen maps keep
 * their initial bytes; maps whose values are kernel objects (prog arrays, devmaps,
 * ring buffers, map-in-map) are left empty. Per-CPU values: CPU c of the state goes to
 * kernel CPU c; kernel CPUs beyond the state's ncpus get zeros.
 */
int k2_kern_maps_fill(struct k2_kern_maps *km, const struct k2_mapstate *ms, struct k2_err *e);

/*
 * Reads the kernel maps into `ms`, a state made by k2_mapstate_new() for the same maps
 * (entries it already has are replaced; it should be empty). Maps that fill skips are
 * not read.
 */
int k2_kern_maps_read(const struct k2_kern_maps *km, struct k2_mapstate *ms, struct k2_err *e);

/*
 * Compares two states (of `ncpus` CPUs) of the same maps key by key; hash iteration order
 * does not matter. Maps whose contents are not transferred are skipped. Returns 0 if
 * equal, 1 if not, with the first difference in `diff` ("map counts key 01000000:
 * 0500000000000000 vs 0600000000000000", "map counts key 02000000: only in the first").
 */
int k2_kern_maps_diff(const struct k2_map *maps, uint32_t n_maps, uint32_t ncpus,
		      const struct k2_mapstate *a, const struct k2_mapstate *b, char *diff,
		      size_t len);

/* Whether k2_kern_maps_fill/read transfer the contents of maps of this type. */
bool k2_kern_map_has_data(uint32_t map_type);

/* ---- programs ---------------------------------------------------------------------- */

/* A program loaded into the kernel. */
struct k2_kern_prog {
	int fd;
	uint32_t type;            /* enum bpf_prog_type */
	uint32_t n_insns;         /* instructions loaded */
	uint32_t verified_insns;  /* instructions the verifier processed (bpf_prog_info) */
	uint32_t xlated_len;      /* bytes after the verifier's rewrites */
	uint32_t jited_len;       /* bytes of machine code */
	uint64_t load_ns;         /* wall time of BPF_PROG_LOAD (verification + JIT) */
};

struct k2_kern_load_opts {
	size_t sz;                     /* sizeof(struct k2_kern_load_opts) */
	const struct bpf_insn *insns;  /* instead of prog->insns (a candidate); NULL: the prog's */
	uint32_t n_insns;
	uint32_t log_level;   /* 0: log only on rejection (retried at level 1); 1, 2: always */
	char *log_buf;        /* caller's buffer for the verifier log; NULL: an internal one */
	size_t log_size;
	bool rewrite_fds;     /* rewrite MAP_IDX(_VALUE) to MAP_FD(_VALUE) instead of fd_array */
};

/*
 * Loads a program in our linked encoding (ld_imm64 BPF_PSEUDO_MAP_IDX / _IDX_VALUE,
 * imm = index into km) for its own program type. On rejection returns a negative errno
 * and e->msg says "verifier rejected NAME: insn N: reason" (the log's last lines); the
 * whole log is in opts->log_buf when given.
 */
int k2_kern_prog_load(const struct k2_prog *prog, const struct k2_kern_maps *km,
		      const struct k2_kern_load_opts *opts, struct k2_kern_prog **out,
		      struct k2_err *e);
void k2_kern_prog_free(struct k2_kern_prog *kp);

/* Whether BPF_PROG_TEST_RUN can run programs of this type. */
bool k2_kern_can_run(uint32_t prog_type);

/* ---- runs -------------------------------------------------------------------------- */

#define K2_KERN_PKT_OUT 4096 /* largest output: headroom grown by adjust_head + the linear max */
#define K2_KERN_META_MAX K2_PKT_HEADROOM /* XDP metadata comes out of the headroom */

struct k2_kern_run_opts {
	size_t sz;        /* sizeof(struct k2_kern_run_opts) */
	uint32_t repeat;  /* 0 or 1: one run; more: the kernel loops (for timing) */
	bool no_pin;      /* do not pin the thread to input->cpu */
};

/* What one BPF_PROG_TEST_RUN returned. */
struct k2_kern_result {
	uint32_t retval;      /* r0: the kernel reports the low 32 bits only */
	uint32_t duration_ns; /* average per repetition */
	uint32_t pkt_len;     /* final packet [data, data_end) */
	uint32_t meta_len;    /* XDP metadata bytes before data */
	uint32_t ctx_len;     /* bytes of ctx_out */
	uint8_t meta[K2_KERN_META_MAX];
	uint8_t pkt[K2_KERN_PKT_OUT];
	uint8_t ctx[K2_CTX_MAX];  /* ctx_out: xdp_md / __sk_buff as the kernel converted it back */
};

/*
 * Runs a loaded program once (or opts->repeat times) on an input: the packet as data_in,
 * the context fields that BPF_PROG_TEST_RUN accepts from in->ctx (xdp_md: ingress_ifindex,
 * rx_queue_index; __sk_buff: mark, priority, ingress_ifindex, ifindex, cb, tstamp,
 * wire_len, gso_segs, gso_size, hwtstamp; the others are zeroed because the kernel derives
 * them), on CPU in->cpu. Map contents are not touched: call k2_kern_maps_fill first.
 */
int k2_kern_run(const struct k2_kern_prog *kp, const struct k2_input *in,
		const struct k2_kern_run_opts *opts, struct k2_kern_result *res, struct k2_err *e);

#endif
