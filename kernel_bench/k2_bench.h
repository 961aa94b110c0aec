/* kernel_bench/k2_bench.h: the bench rank: pinning, verifier, latency, XDP on veth, traces. */
#ifndef K2_BENCH_H
#define K2_BENCH_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "bpf/k2bpf.h"

/*
 * Everything the bench rank does, usable without MPI:
 *   pinning        k2_topo_*, k2_pin_*         hwloc: bind to one core, others off it
 *   cleanup        k2_cleanup_*                what a SIGINT/SIGTERM handler must undo
 *   verifier       k2_verify_candidates()      load each candidate, keep the verdict and log
 *   bench session  k2_bench_*                  verify + interleaved latency + XDP live pps
 *   traces         k2_h5_*                     HDF5 files with attributes and appendable tables
 *   opcode costs   k2_opcodes_*                the per-opcode ns table (configs/latency.ini)
 * Errors are negative errno values with one line in struct k2_err.
 */

/* ---- pinning (hwloc) ------------------------------------------------------------------- */

struct k2_topo;

/* Discovers this machine's topology (packages, cores, PUs). */
int k2_topo_load(struct k2_topo **out, struct k2_err *e);
void k2_topo_free(struct k2_topo *t);
/* Cores (physical, not hyperthreads) the process may use. */
int k2_topo_ncores(const struct k2_topo *t);
/* A core's index among k2_topo_ncores(), -1: the last; the OS number of its first PU. */
int k2_topo_core_cpu(const struct k2_topo *t, int core);
/*
 * One line for a trace: "Machine (5.5 GiB in NUMA nodes), 1 package, 1 NUMA node, 2 cores,
 * 2 PUs; CPU AMD EPYC (family 26 model 2); L3 32768 KiB". Truncated to len.
 */
void k2_topo_summary(const struct k2_topo *t, char *buf, size_t len);
/* The CPU model name ("AMD EPYC"), or "unknown". */
const char *k2_topo_cpu_model(const struct k2_topo *t);
/* The whole topology as hwloc XML (malloc'd), for a trace; NULL on failure. */
char *k2_topo_xml(const struct k2_topo *t);

/*
 * Binds the calling thread to one core (core index as above, -1: the last), all its PUs.
 * The bench rank calls this once. *cpu (may be NULL) gets the OS number of its first PU.
 */
int k2_pin_bench(const struct k2_topo *t, int core, int *cpu, struct k2_err *e);
/*
 * Binds the calling process (every thread) to every allowed core except `core`, so the
 * other ranks of a node leave the bench core alone. With only one core it does nothing
 * and returns 0.
 */
int k2_pin_away(const struct k2_topo *t, int core, struct k2_err *e);

/* ---- signal-safe cleanup ---------------------------------------------------------------- */

/*
 * A fixed-size registry of things to undo (fds to close, files to unlink, processes to
 * kill) that a signal handler can run: k2_cleanup_run() only calls async-signal-safe
 * functions and touches no allocator. The owner (a command's main) keeps it, points one
 * static pointer at it for its handler, and passes it to the bench in the options; the
 * library registers what it creates and unregisters it when it removes it normally.
 * Kernel objects of the private netns (veth, attached programs) die with the netns when
 * its last fd is closed, so registering that fd is enough.
 */
#define K2_CLEANUP_MAX 64
#define K2_CLEANUP_PATH 512

enum k2_cleanup_kind { K2_CLEANUP_NONE, K2_CLEANUP_FD, K2_CLEANUP_UNLINK, K2_CLEANUP_KILL };

struct k2_cleanup_entry {
	volatile sig_atomic_t kind; /* enum k2_cleanup_kind; set last when adding */
	int fd;
	pid_t pid;
	char path[K2_CLEANUP_PATH];
};

struct k2_cleanup {
	struct k2_cleanup_entry e[K2_CLEANUP_MAX];
};

void k2_cleanup_init(struct k2_cleanup *c);
/* Each returns a handle (>= 0) for k2_cleanup_forget, or -ENOSPC / -ENAMETOOLONG. c may be
 * NULL (then nothing is registered and the handle is -1). */
int k2_cleanup_add_fd(struct k2_cleanup *c, int fd);
int k2_cleanup_add_unlink(struct k2_cleanup *c, const char *path);
int k2_cleanup_add_kill(struct k2_cleanup *c, pid_t pid);
/* Forgets an entry (the owner undid it itself). Handles < 0 are ignored. */
void k2_cleanup_forget(struct k2_cleanup *c, int handle);
/* Undoes every entry (kills, closes, unlinks). Async-signal-safe. */
void k2_cleanup_run(struct k2_cleanup *c);

/* ---- kernel verifier as a safety check ------------------------------------------------------ */

/* A program to check and measure: the original or a candidate of the same program. */
struct k2_bench_cand {
	const struct bpf_insn *insns; /* whole program (main + subprograms), MAP_IDX form as in
				       * struct k2_prog; NULL: the original's instructions */
	uint32_t n_insns;
	const char *windows;          /* windows it changes, e.g. "3-9,14-20"; NULL: "" */
	const char *source;           /* where it came from (object path, "rank 3"); NULL: "" */
};

enum k2_verdict { K2_VERDICT_NOT_CHECKED = -1, K2_VERDICT_REJECTED = 0, K2_VERDICT_ACCEPTED = 1 };

/* What the verifier said about one program. */
struct k2_verify_rec {
	int32_t verdict;          /* enum k2_verdict */
	int err;                  /* negative errno of BPF_PROG_LOAD, 0 if accepted */
	uint32_t n_insns;
	uint32_t verified_insns;  /* insns the verifier processed */
	uint32_t xlated_len, jited_len;
	double load_us;           /* BPF_PROG_LOAD wall time: verification + JIT */
	char reason[512];         /* one line: "verifier rejected P: insn 7: R0 !read_ok" */
	char *log;                /* the whole verifier log on rejection (malloc'd), else NULL */
};

void k2_verify_rec_clear(struct k2_verify_rec *r);

/*
 * Loads the original (rec[0]) and each candidate (rec[1 + i]) for the program's type, with
 * maps created from the program's map definitions (shared by all, as a real replacement
 * keeps the maps) and relocations in fd_array form. A rejection is a record, not an error;
 * the return value is a negative errno only when the check could not be made (no bpf(),
 * maps that cannot be created), and then every record is K2_VERDICT_NOT_CHECKED.
 */
int k2_verify_candidates(const struct k2_prog *orig, const struct k2_bench_cand *cands,
			 uint32_t n, struct k2_verify_rec *rec, struct k2_err *e);

/* ---- latency statistics ---------------------------------------------------------------- */

/* Order statistics of a set of samples (ns). */
struct k2_lat {
	double median, min, max, q1, q3; /* spread: q3 - q1 (IQR) */
	uint32_t n;
};

void k2_lat_of(const double *v, uint32_t n, struct k2_lat *out);
/*
 * A distribution-free confidence interval for the median of n values: order statistics
 * k and n + 1 - k with the binomial coverage closest to `level` from above (n >= 6 for
 * 95%). Returns the coverage reached; *lo, *hi = the interval (the range if n is small).
 */
double k2_median_ci(const double *v, uint32_t n, double level, double *lo, double *hi);

/* ---- the bench session -------------------------------------------------------------------- */

enum k2_pin { K2_PIN_LAST = 0, K2_PIN_CORE = 1, K2_PIN_NONE = 2 };

struct k2_bench_opts {
	size_t sz;              /* sizeof(struct k2_bench_opts) */
	uint32_t pin;           /* enum k2_pin: which core the calling thread is bound to */
	int32_t core;           /* the core index for K2_PIN_CORE */
	uint32_t rounds;        /* interleaved rounds A B A B ...; 0: 10 */
	uint32_t repeat;        /* BPF_PROG_TEST_RUN repeat per sample; 0: calibrated */
	double sample_us;       /* calibration target: program time per sample; 0: 2000 µs */
	uint32_t packets;       /* generated packets added to `inputs`; 0: 16 (with no inputs) */
	const struct k2_input *inputs; /* caller's test packets, measured first */
	uint32_t n_inputs;
	const struct k2_mapstate *maps; /* map contents before measuring; NULL: empty maps */
	uint64_t seed;          /* packet generator seed */
	double live_seconds;    /* XDP live-frames time per program (total over slices); 0: none */
	const char *ifname;     /* a NIC for the live run instead of the private veth pair */
	struct k2_cleanup *cleanup; /* where created fds/files are registered; NULL: none */
	FILE *progress;         /* progress lines; NULL: quiet */
	const char *source;     /* where the original came from (object path), for the trace */
	uint32_t aa_copies;     /* A/A copies of the original timed in each batch; 0: 3, max 8 */
};

#define K2_BENCH_OPTS(name, ...) \
	struct k2_bench_opts name = { .sz = sizeof(struct k2_bench_opts), __VA_ARGS__ }

/* A measured packet. */
struct k2_bench_pkt {
	struct k2_input in;
	char desc[64];          /* "ipv4_tcp 64B", "input 3 (90B)" */
};

/* One program of the session: id 0 is the original. */
struct k2_bench_prog {
	uint32_t id;
	char windows[256];
	char source[256];
	struct k2_verify_rec vr;
	/* latency: samples[p * rounds + r] = ns per run of packet p in round r (kernel's
	 * average over `repeat` runs); measured when n_samples > 0 */
	uint32_t *samples;
	uint32_t n_samples;
	uint32_t batch;          /* measurement batch (the original is in every batch) */
	struct k2_lat mix;       /* ns/packet over the packet mix (mean per round), over rounds */
	struct k2_lat *pkt;      /* per packet, over rounds */
	double *pkt_ratio;       /* per packet: median over rounds of candidate/original */
	double ratio;            /* median over rounds of (mix candidate / mix original); NaN.
				  * For the original: its A/A envelope (see k2_bench_measure) */
	double ratio_lo, ratio_hi; /* ~95% confidence interval of that median */
	int resolved;            /* 1: difference beyond resolution, 0: below, -1: not measured */
	double noise_ns;         /* the batch's resolution in ns: how far from the original the
				  * A/A copies reached, at least 0.5 ns */
	/* XDP live frames (NaN / 0 when not measured) */
	double pps;
	uint64_t live_sent, live_processed;
	double live_seconds;
	bool written;            /* rows already in the trace */
};

struct k2_bench;

/*
 * Test packets from a pcap file (Ethernet link type; tcpdump's or `k2 pktgen`'s), at most
 * `max` (0: all), as inputs for a program of `prog_type`: the frame, and the context
 * BPF_PROG_TEST_RUN gives with it. *out is malloc'd.
 */
int k2_bench_pcap(const char *path, uint32_t prog_type, uint32_t max, struct k2_input **out,
		  uint32_t *n, struct k2_err *e);

/*
 * Starts a session for one program: binds to the bench core, checks bpf(), creates the maps,
 * loads the original (id 0) and builds the packets (the caller's inputs, then k2_pktgen's
 * mix: IPv4/IPv6 x TCP/UDP at 64, 128, 512 and 1500 bytes, then random well-formed packets).
 * `prog` must outlive the session. When bpf() is not usable the session is "off": it
 * records programs as K2_VERDICT_NOT_CHECKED, measures nothing, and k2_bench_off() says why.
 * Fails when the original is rejected (e->msg has the verifier's reason).
 */
int k2_bench_new(const struct k2_prog *prog, const struct k2_bench_opts *opts,
		 struct k2_bench **out, struct k2_err *e);
/* NULL when the kernel is used; else one line: why not ("bpf() BPF_PROG_LOAD not permitted"). */
const char *k2_bench_off(const struct k2_bench *b);
void k2_bench_free(struct k2_bench *b);

/* Verifies a candidate and adds it (rejected ones too, with their log). *id gets its id. */
int k2_bench_add(struct k2_bench *b, const struct k2_bench_cand *c, uint32_t *id,
		 struct k2_err *e);

/*
 * Measures the accepted programs not yet measured, interleaved with the original, round by
 * round: for each packet, original then each candidate (their order rotates every round),
 * one BPF_PROG_TEST_RUN of `repeat` runs each. The repeat count is calibrated once from the
 * original (opts.sample_us of program time per sample, at least 100). Each batch also times
 * opts.aa_copies more loads of the original (A/A): the JIT places every image at a random
 * offset and identical code then differs by a few percent, so a candidate counts as faster
 * or slower (resolved = 1) only when its ratio's interval excludes 1 and it lies farther
 * from 1 than any A/A copy reached (noise_ns). XDP programs are held
 * in the kernel's XDP dispatcher meanwhile (attached in generic mode to a veth of the
 * private netns): a test_run with repeat > 1 otherwise adds and removes the program there
 * itself, which costs two RCU grace periods (~20 ms here) per call. Programs of types
 * BPF_PROG_TEST_RUN cannot run keep resolved = -1.
 */
int k2_bench_measure(struct k2_bench *b, struct k2_err *e);

/*
 * XDP programs: live frames through the real XDP path for opts.live_seconds per program,
 * original and candidates alternating in slices. A veth pair in a private network
 * namespace: the program under test attached in native mode on one end, the bench's
 * generator (an XDP_TX program run by BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES on
 * the other end) sending the session's packets in turn; packets processed = the receiving
 * veth's rx counter, packets sent = the generator's counter map. With opts.ifname the
 * program is attached to that NIC and the traffic that arrives is counted (nothing is
 * sent on a NIC the bench did not create). Everything is removed afterwards.
 */
int k2_bench_live(struct k2_bench *b, struct k2_err *e);

uint32_t k2_bench_n_progs(const struct k2_bench *b);
const struct k2_bench_prog *k2_bench_prog(const struct k2_bench *b, uint32_t id);
uint32_t k2_bench_n_packets(const struct k2_bench *b);
const struct k2_bench_pkt *k2_bench_packet(const struct k2_bench *b, uint32_t i);
uint32_t k2_bench_rounds(const struct k2_bench *b);
uint32_t k2_bench_repeat(const struct k2_bench *b);
/* ns per run of the empty program (r0 = 0; exit) of this type: the fixed cost of a run. */
double k2_bench_floor_ns(const struct k2_bench *b);
/* The bench core's first PU, -1 when not pinned. */
int k2_bench_cpu(const struct k2_bench *b);
const struct k2_topo *k2_bench_topo(const struct k2_bench *b);

/* A table: id, source, insns, verdict, verified insns, load µs, ns/packet, ratio, pps. */
void k2_bench_print(const struct k2_bench *b, FILE *f);

/* ---- HDF5 traces --------------------------------------------------------------------------- */

/* An open trace file, written under a temporary name and renamed at k2_h5_close(). */
struct k2_h5;

/* File-level attributes (on "/"); NULL strings are written as "". */
struct k2_h5_meta {
	const char *program;    /* object path */
	const char *section;
	const char *topology;   /* k2_topo_summary() */
	const char *topology_xml;
	const char *cpu_model;
	uint64_t seed;
};

/*
 * Creates `path` (its directory must exist) as `path.tmp.PID`, registered in `c` (may be
 * NULL) so a signal handler removes it. Writes the attributes: kernel_release (uname),
 * cpu_model, topology, topology_xml, program, section, k2_version (git describe at build
 * time), seed, created (ISO 8601 UTC).
 */
int k2_h5_create(const char *path, const struct k2_h5_meta *m, struct k2_cleanup *c,
		 struct k2_h5 **out, struct k2_err *e);
/* Flushes, closes and renames to the final path. Frees h either way. */
int k2_h5_close(struct k2_h5 *h, struct k2_err *e);
/* Closes and removes the temporary file (an aborted run). */
void k2_h5_abort(struct k2_h5 *h);
/* Creates a group ("/search"); intermediate groups too. Existing groups are fine. */
int k2_h5_group(struct k2_h5 *h, const char *path, struct k2_err *e);
/* Attributes on an object (group or dataset) by path. */
int k2_h5_attr_str(struct k2_h5 *h, const char *obj, const char *name, const char *val,
		   struct k2_err *e);
int k2_h5_attr_u64(struct k2_h5 *h, const char *obj, const char *name, uint64_t val,
		   struct k2_err *e);
int k2_h5_attr_f64(struct k2_h5 *h, const char *obj, const char *name, double val,
		   struct k2_err *e);

/* Column types of an appendable table. */
enum k2_h5_type {
	K2_H5_U8, K2_H5_U32, K2_H5_I32, K2_H5_U64, K2_H5_I64, K2_H5_F64,
	K2_H5_STR, /* const char * in the row: a variable-length string ("" for NULL) */
};

/* One column: name, type, and where it is in the caller's row struct. */
struct k2_h5_field {
	const char *name;
	enum k2_h5_type type;
	size_t offset;
};

#define K2_H5_FIELD(row_type, member, t) { #member, t, offsetof(row_type, member) }

struct k2_h5_table;

/*
 * Creates an extendible, chunked, deflate-compressed dataset of a compound type made from
 * the field list (rows of row_size bytes in memory), at `path` ("/bench/candidates"; the
 * group must exist). chunk_rows 0: 256.
 */
int k2_h5_table_create(struct k2_h5 *h, const char *path, const struct k2_h5_field *fields,
		       uint32_t n_fields, size_t row_size, uint32_t chunk_rows,
		       struct k2_h5_table **out, struct k2_err *e);
/* Opens an existing table to append more rows (the same field list). */
int k2_h5_table_open(struct k2_h5 *h, const char *path, const struct k2_h5_field *fields,
		     uint32_t n_fields, size_t row_size, struct k2_h5_table **out,
		     struct k2_err *e);
/* Appends n rows (n * row_size bytes). */
int k2_h5_table_append(struct k2_h5_table *t, const void *rows, size_t n, struct k2_err *e);
uint64_t k2_h5_table_rows(const struct k2_h5_table *t);
void k2_h5_table_close(struct k2_h5_table *t);

/*
 * The bench's part of a trace: group /bench with tables candidates, packets, packet_stats
 * and samples (schema in README.md, "HDF5 trace schema") and calibration attributes. The
 * first call creates them; later calls append the programs not yet written.
 */
int k2_bench_trace(struct k2_bench *b, struct k2_h5 *h, struct k2_err *e);

/* results/<program basename without .o>-<YYYYmmdd-HHMMSS>.h5 */
void k2_trace_default_path(const char *program, char *out, size_t len);

/* ---- per-opcode cost table ------------------------------------------------------------------ */

struct k2_opcodes_opts {
	size_t sz;             /* sizeof(struct k2_opcodes_opts) */
	uint32_t short_len;    /* instructions of the op in the short program; 0: 100 */
	uint32_t long_len;     /* in the long one; 0: 2100 */
	uint32_t rounds;       /* samples per length, interleaved; 0: 7 */
	double sample_us;      /* program time per sample; 0: 1000 */
	const char *only;      /* measure only ops whose name starts with this (tests); NULL: all */
	FILE *progress;
};

/* One measured row of the table. */
struct k2_opcost {
	char name[40];         /* k2_op name, or "jeq64_k.taken", "helper.ktime_get_ns" */
	double ns;             /* marginal ns per instruction: median over rounds */
	double lo, hi;         /* min and max over rounds of the per-round marginal cost */
	uint32_t jited_bytes;  /* marginal bytes of machine code per instruction */
};

/*
 * Measures the marginal cost of each operation on this kernel's JIT: per op two
 * straight-line XDP programs (short_len and long_len copies, operands rotating over
 * registers so consecutive instructions are independent, values unknown to the verifier so
 * nothing is folded; memory ops on the stack; conditional jumps taken and not taken; helper
 * calls), timed with BPF_PROG_TEST_RUN while held in the XDP dispatcher; the cost is the
 * time difference over the length difference. *out is malloc'd.
 */
int k2_opcodes_measure(const struct k2_opcodes_opts *opts, struct k2_opcost **out, uint32_t *n,
		       struct k2_err *e);
/* Writes the table as INI (format in README.md, "Per-opcode latency table") via temp+rename. */
int k2_opcodes_write(const char *path, const struct k2_opcost *c, uint32_t n,
		     const char *topology, struct k2_err *e);

/* ---- commands ---------------------------------------------------------------------------- */

/* `k2 bench ORIG.o [CAND.o ...] [-s SECTION] [--trace FILE.h5] [--bench-core N] ...` */
int k2_cmd_bench(int argc, char **argv);
/* `k2 bench-opcodes [-o configs/latency.ini]` */
int k2_cmd_bench_opcodes(int argc, char **argv);

#endif
