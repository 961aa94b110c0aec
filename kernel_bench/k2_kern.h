/* kernel_bench/k2_kern.h: the kernel as oracle: maps, verifier loads, BPF_PROG_TEST_RUN. */
#ifndef K2_KERN_H
#define K2_KERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bpf/k2bpf.h"
#include "bpf/k2_gen.h"

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
 * made from their template; a map that is only a template gets no kernel map, fd -1).
 * Internal maps get their initial bytes; .rodata is then frozen, as libbpf does. Errors
 * name the map: "map .rodata (array, key 4, value 16, ...): BPF_MAP_CREATE: ...".
 */
int k2_kern_maps_create(const struct k2_map *maps, uint32_t n, struct k2_kern_maps **out,
			struct k2_err *e);
void k2_kern_maps_free(struct k2_kern_maps *km);
uint32_t k2_kern_maps_count(const struct k2_kern_maps *km);
/* The fd of map i (an fd_array for BPF_PSEUDO_MAP_IDX), or -1. */
int k2_kern_maps_fd(const struct k2_kern_maps *km, uint32_t i);
const int *k2_kern_maps_fds(const struct k2_kern_maps *km);

/*
 * Makes the kernel maps hold exactly the entries of `ms`: hash-like maps lose the keys
 * `ms` does not have, array elements absent from `ms` become zero. Frozen maps keep
 * their initial bytes; devmap and cpumap slots hold the state's ifindex / queue size (the
 * device or CPU must exist) or are deleted; maps whose values are file descriptors (prog
 * arrays, perf event arrays, xskmaps, map-in-map) and ring buffers are left empty. Per-CPU values:
 * CPU c of the state goes to kernel CPU c; kernel CPUs beyond the state's k2_mapstate_ncpus() get
 * zeros.
 */
int k2_kern_maps_fill(struct k2_kern_maps *km, const struct k2_mapstate *ms, struct k2_err *e);

/*
 * The same when the kernel maps are known to hold `have` (e.g. what k2_kern_maps_read()
 * gave after the last run): only the elements that differ are written.
 */
int k2_kern_maps_update(struct k2_kern_maps *km, const struct k2_mapstate *ms,
			const struct k2_mapstate *have, struct k2_err *e);

/*
 * Marks the maps that insns (a program in our linked encoding) never names as idle: a
 * program reaches only the maps its ld_imm64 name, so fill and update skip idle maps and
 * read gives back, for them, what the last fill or update was asked to write (which must
 * still be alive). Big unused maps then cost nothing per run.
 */
void k2_kern_maps_idle_unused(struct k2_kern_maps *km, const struct bpf_insn *insns, uint32_t n);

/* Elements a read moves by syscalls (idle and mmap()ed maps cost none), times CPUs. */
uint64_t k2_kern_maps_read_cost(const struct k2_kern_maps *km);

/*
 * Reads the kernel maps into `ms`, a fresh state made by k2_mapstate_new() for the same
 * maps (array elements that are zero in the kernel are taken to be zero there already).
 * Maps that fill skips are not read; idle maps read as k2_kern_maps_idle_unused() says.
 */
int k2_kern_maps_read(const struct k2_kern_maps *km, struct k2_mapstate *ms, struct k2_err *e);

/*
 * Compares two states of the same maps and CPU count key by key; hash iteration order
 * does not matter. Maps whose contents are not transferred are skipped. Returns 0 if
 * equal, 1 if not, with the first difference in `diff` ("map counts key 01000000:
 * 0500000000000000 vs 0600000000000000", "map counts key 02000000: only in the first").
 */
int k2_kern_maps_diff(const struct k2_mapstate *a, const struct k2_mapstate *b, char *diff,
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

#define K2_KERN_PKT_OUT K2_PKT_BUF /* largest data_out: the whole test_run page */

struct k2_kern_run_opts {
	size_t sz;        /* sizeof(struct k2_kern_run_opts) */
	uint32_t repeat;  /* 0 or 1: one run; more: the kernel loops (for timing) */
	bool no_pin;      /* do not pin the thread to input->cpu */
};

/* What one BPF_PROG_TEST_RUN returned. */
struct k2_kern_result {
	uint32_t retval;      /* r0: the kernel reports the low 32 bits only */
	uint32_t duration_ns; /* average per repetition */
	uint32_t pkt_len;     /* bytes of data_out */
	uint32_t meta_len;    /* XDP: metadata bytes at the start of pkt (ctx_out data) */
	uint32_t ctx_len;     /* bytes of ctx_out; 0 when the input has no ctx (no ctx_in) */
	uint8_t pkt[K2_KERN_PKT_OUT]; /* data_out: XDP from data_meta; socket filter with the
				       * link-layer bytes the kernel zeroes */
	uint8_t ctx[K2_CTX_MAX];  /* ctx_out: xdp_md / __sk_buff as the kernel converted it back */
};

/*
 * Runs a loaded program once (or opts->repeat times) on an input: the packet as data_in
 * (for XDP, xdp_md.data bytes of metadata first), the context fields that
 * BPF_PROG_TEST_RUN accepts from in->ctx (xdp_md: data, ingress_ifindex, rx_queue_index;
 * __sk_buff: mark, priority, ingress_ifindex, ifindex, cb, tstamp, wire_len, gso_segs,
 * gso_size, hwtstamp; the others are zeroed because the kernel derives them), on CPU
 * in->cpu. Map contents are not touched: call k2_kern_maps_fill first.
 */
int k2_kern_run(const struct k2_kern_prog *kp, const struct k2_input *in,
		const struct k2_kern_run_opts *opts, struct k2_kern_result *res, struct k2_err *e);

/* ---- differential testing: the kernel against bpf/interp --------------------------------- */

/* What differed (struct k2_diff_outcome.kinds). */
#define K2_DIFF_STATUS (1u << 0) /* the interpreter failed a program the kernel ran */
#define K2_DIFF_R0     (1u << 1) /* r0 (its low 32 bits: all the kernel reports) */
#define K2_DIFF_PKT    (1u << 2) /* output packet bytes, length or metadata length */
#define K2_DIFF_CTX    (1u << 3) /* ctx_out */
#define K2_DIFF_MAPS   (1u << 4) /* map contents afterwards */
#define K2_DIFF__KINDS 5

struct k2_diff_opts {
	size_t sz;        /* sizeof(struct k2_diff_opts) */
	char *log_buf;    /* verifier log on rejection */
	size_t log_size;
	uint32_t ignore;  /* K2_DIFF_* kinds not compared */
};

struct k2_diff_outcome {
	bool mismatch;
	bool skipped;          /* the interpreter ran out of preallocated room (K2_RUN_ECAP) */
	uint32_t kinds;        /* K2_DIFF_* */
	uint32_t kern_r0;
	uint64_t interp_r0;
	enum k2_status interp_status;
	char what[512];        /* the first difference, one line */
};

/* One program loaded into the kernel (maps created) and into an interpreter. */
struct k2_diff;

/* Fails with the verifier's message when the kernel rejects the program. */
int k2_diff_new(const struct k2_prog *prog, const struct k2_diff_opts *opts, struct k2_diff **out,
		struct k2_err *e);
void k2_diff_free(struct k2_diff *d);
const struct k2_kern_prog *k2_diff_kern_prog(const struct k2_diff *d);
const struct k2_kern_maps *k2_diff_maps(const struct k2_diff *d);

/*
 * Runs the program on one input in both (in->maps: the map contents at entry, loaded into
 * the kernel maps first) and compares r0, output packet, ctx_out and map contents.
 * Returns 0 with the verdict in *o, or a negative errno when a run could not be made.
 */
int k2_diff_run(struct k2_diff *d, const struct k2_input *in, struct k2_diff_outcome *o,
		struct k2_err *e);

struct k2_diff_run_opts {
	size_t sz;        /* sizeof(struct k2_diff_run_opts) */
	bool keep_maps;   /* the kernel maps stay as the last run left them; in->maps must be
			   * what they hold (the interpreter's state after it: see below). Maps
			   * are neither filled, read nor compared: k2_diff_check_maps() does that
			   * now and then, so that runs on programs with huge maps stay cheap. */
};

int k2_diff_run_opts(struct k2_diff *d, const struct k2_input *in,
		     const struct k2_diff_run_opts *ro, struct k2_diff_outcome *o,
		     struct k2_err *e);
/* The interpreter's map contents after the last run (valid until the next run). */
const struct k2_mapstate *k2_diff_interp_maps(const struct k2_diff *d);
/* Reads the kernel maps and compares them with `want` (kind K2_DIFF_MAPS in *o). */
int k2_diff_check_maps(struct k2_diff *d, const struct k2_mapstate *want,
		       struct k2_diff_outcome *o, struct k2_err *e);

/* A markdown entry for a mismatch: program text, input, both outputs. */
void k2_diff_report(FILE *f, const struct k2_diff *d, const struct k2_input *in,
		    const struct k2_diff_outcome *o, const char *title);

/*
 * Shrinks a program that differs on `in` (in one of `kinds`): replaces instructions by
 * no-ops and branches by jumps while the kernel still accepts it and it still differs,
 * then drops the no-ops. *out is malloc'd.
 */
int k2_diff_reduce(const struct k2_prog *prog, const struct k2_input *in,
		   const struct k2_diff_opts *opts, uint32_t kinds, struct bpf_insn **out,
		   uint32_t *n_out, struct k2_err *e);

struct k2_fuzz_opts {
	size_t sz;               /* sizeof(struct k2_fuzz_opts) */
	uint64_t seed;           /* program i is generated from (seed, i): reproducible alone */
	uint64_t n_progs;        /* 0: 1000 */
	uint64_t first;          /* index of the first program (to rerun one: first, n_progs 1) */
	uint32_t n_inputs;       /* inputs per program; 0: 4 */
	uint32_t prog_type;      /* 0: XDP, tc and socket filter in turn */
	enum k2_isa isa;         /* 0: v1..v4 in turn */
	uint32_t n_insns;        /* 0: 8..200, varied */
	FILE *progress;          /* progress lines; NULL: quiet */
	uint64_t progress_every; /* programs between progress lines; 0: 1000 */
	FILE *report;            /* markdown entries for mismatches and rejections; NULL: none */
	uint32_t max_reports;    /* entries written at most; 0: 10 */
	uint32_t ignore;         /* K2_DIFF_* kinds not counted (triage while one floods) */
	uint32_t mix[K2_GEN__COUNT]; /* generator class weights; all 0: its defaults */
	uint64_t no_helpers[2];  /* helper ids (< 128) the generator must not call */
};

struct k2_fuzz_stats {
	uint64_t progs;          /* programs generated */
	uint64_t rejected;       /* of them, rejected by the verifier (generator bugs) */
	/* Of those, the verifier's own internal errors ("verifier bug: ...", EFAULT): Linux
	 * 6.18 has one that generated programs hit about 1 to 3 times in 10^5. */
	uint64_t verifier_bugs;
	uint64_t runs;           /* inputs compared */
	uint64_t skipped;        /* runs the interpreter could not finish for lack of room */
	uint64_t mismatches;     /* runs with a difference */
	uint64_t mismatch_progs; /* programs with at least one */
	uint64_t kinds[K2_DIFF__KINDS]; /* runs per K2_DIFF_* bit */
	double seconds;
};

/* Random programs from bpf/k2_gen.h through both, on random inputs and map contents. */
int k2_fuzz_semantics(const struct k2_fuzz_opts *opts, struct k2_fuzz_stats *st,
		      struct k2_err *e);
void k2_fuzz_stats_print(FILE *f, const struct k2_fuzz_stats *st);

struct k2_objdiff_opts {
	size_t sz;            /* sizeof(struct k2_objdiff_opts) */
	uint64_t seed;        /* of the random inputs and map contents */
	uint32_t n_inputs;    /* per program; 0: 1000 */
	const char *sec;      /* only this section or function; NULL: every program */
	uint32_t ignore;      /* K2_DIFF_* kinds not compared */
	FILE *progress;       /* rejections and the first mismatches, one line each */
	FILE *report;         /* markdown entries for mismatches; NULL: none */
	uint32_t max_reports; /* 0: 5 */
};

struct k2_objdiff_stats {
	uint32_t progs;          /* programs in the objects */
	uint32_t loaded;         /* accepted by the verifier */
	uint32_t not_runnable;   /* of the programs, types BPF_PROG_TEST_RUN cannot run */
	uint32_t rejected;       /* refused by the verifier or the kernel */
	uint32_t unloadable;     /* need what a standalone load lacks (a run-time attach target) */
	uint32_t compared;       /* run on inputs in both */
	uint32_t mismatch_progs;
	uint32_t reports;
	uint64_t runs, mismatches, skipped;
};

/*
 * Every program of a clang-built object (read with bpf/k2_obj.h, maps created and relocated
 * here): loaded by the verifier, and where BPF_PROG_TEST_RUN can run its type, run on
 * random inputs and map contents in the kernel and the interpreter and compared. Adds to
 * *st, so that several objects sum up.
 */
int k2_diff_object(const char *path, const struct k2_objdiff_opts *opts,
		   struct k2_objdiff_stats *st, struct k2_err *e);
void k2_objdiff_stats_print(FILE *f, const struct k2_objdiff_stats *st);

/* `k2 fuzz-semantics [-n N] [--seed S] ...`: the above from the command line. */
int k2_cmd_fuzz_semantics(int argc, char **argv);

#endif
