/* mpi/cluster_int.h: internal: the job every rank shares, messages and their records, roles. */
#ifndef K2_CLUSTER_INT_H
#define K2_CLUSTER_INT_H

#include <mpi.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "bpf/k2bpf.h"
#include "search/k2_config.h"

/*
 * Ranks and roles. Rank 0 coordinates (and also searches when there are fewer than two
 * other searching ranks); the last rank is the bench rank when np >= 3, the bench is not
 * turned off and the kernel is usable there; every other rank is a worker. Workers never
 * talk to each other: everything goes through rank 0, which keeps each window's shared
 * pools (counterexamples, proven rewrites), relays them to the window's other ranks, pairs
 * coldest chains for replica exchange, and so can drop a dead worker without anyone else
 * waiting on it. Each role has its own inbox (a duplicate of MPI_COMM_WORLD), so rank 0 can
 * be coordinator, worker and bench at once by sending to itself.
 */

/* Message tags. Every message is one buffer of little-endian fields (struct k2_buf). */
enum k2_tag {
	K2_T_HELLO = 1,  /* worker -> 0: pid, host (after setup) */
	K2_T_ASSIGN,     /* 0 -> worker: a window (or none), its ladder, seed, then its pools */
	K2_T_REPORT,     /* worker -> 0: after each slice: stats, then records */
	K2_T_UPDATE,     /* 0 -> worker: records (counterexamples, proofs, cold chain, go) */
	K2_T_PING,       /* 0 -> worker: rank 0 is alive (heartbeat) */
	K2_T_STOP,       /* 0 -> worker/bench: finish now */
	K2_T_BYE,        /* worker -> 0: stopped */
	K2_T_REAP,       /* 0 -> worker: SIGKILL this pid on your node (a dropped rank) */
	K2_T_BENCH_REQ,  /* 0 -> bench: verify (and maybe measure) a program */
	K2_T_BENCH_RES,  /* bench -> 0: its verdict and measurements */
	K2_T_TRACE,      /* 0 -> bench: /search rows for the trace */
};

/* Records inside REPORT and UPDATE messages: u8 kind, then the fields. */
enum k2_rec {
	K2_R_END = 0,
	K2_R_CEX,        /* u32 window, u32 origin rank, u32 len, packed state (k2_wstate_pack) */
	K2_R_PROVEN,     /* u32 window, u32 origin, f64 perf, f64 seconds, u64 iter, u32 n, insns */
	K2_R_COLD,       /* u32 window, u32 epoch, f64 cost, f64 beta, u32 n, insns */
	K2_R_GO,         /* u32 round: --iters runs: the next slice may start */
};

/* ---- byte buffers ------------------------------------------------------------------------ */

struct k2_buf {
	uint8_t *p;
	size_t len, cap;   /* bytes written / allocated */
	size_t at;         /* read position */
	bool bad;          /* a get ran past the end, or an allocation failed */
};

void k2_buf_free(struct k2_buf *b);
void k2_buf_put(struct k2_buf *b, const void *src, size_t n);
void k2_buf_u8(struct k2_buf *b, uint8_t v);
void k2_buf_u32(struct k2_buf *b, uint32_t v);
void k2_buf_u64(struct k2_buf *b, uint64_t v);
void k2_buf_f64(struct k2_buf *b, double v);
void k2_buf_str(struct k2_buf *b, const char *s);
void k2_buf_insns(struct k2_buf *b, const struct bpf_insn *insns, uint32_t n);
bool k2_buf_get(struct k2_buf *b, void *dst, size_t n);
uint8_t k2_buf_get_u8(struct k2_buf *b);
uint32_t k2_buf_get_u32(struct k2_buf *b);
uint64_t k2_buf_get_u64(struct k2_buf *b);
double k2_buf_get_f64(struct k2_buf *b);
/* A string into dst (truncated to cap - 1). */
void k2_buf_get_str(struct k2_buf *b, char *dst, size_t cap);
/* n slots (at most max) into a malloc'd array; NULL with b->bad on failure. */
struct bpf_insn *k2_buf_get_insns(struct k2_buf *b, uint32_t *n, uint32_t max);
/* A pointer to the next n bytes (no copy), or NULL. */
const uint8_t *k2_buf_view(struct k2_buf *b, size_t n);

uint64_t k2_hash64(const void *p, size_t n, uint64_t h);
#define K2_HASH_INIT 0xcbf29ce484222325ull

/* ---- sending and receiving --------------------------------------------------------------- */

/* Non-blocking sends: each buffer is kept until MPI has it. */
struct k2_outbox {
	MPI_Request *req;       /* the first n are in flight (one array: MPI_Testsome) */
	struct k2_out {
		uint8_t *buf;
		int dest;
	} *e;
	int *done;              /* MPI_Testsome's indices */
	uint32_t n, cap;
	uint64_t sent, bytes;   /* messages and bytes sent (traffic counters) */
};

/* Sends b's bytes to dest (the buffer moves into the outbox; b is left empty). */
int k2_send(struct k2_outbox *o, MPI_Comm comm, int dest, int tag, struct k2_buf *b);
/* Releases the buffers of completed sends. */
void k2_outbox_poll(struct k2_outbox *o);
/* Gives up on sends to a rank that is gone (their buffers stay allocated: MPI may still
 * hold them). */
void k2_outbox_forget(struct k2_outbox *o, int dest);
/* Waits (up to `seconds`) for every send to complete; the rest are forgotten. */
void k2_outbox_drain(struct k2_outbox *o, double seconds);
void k2_outbox_free(struct k2_outbox *o);

/* One waiting message of comm, if any: 1 with *src, *tag and the bytes in b (reset), 0 if
 * none, a negative errno if MPI failed. */
int k2_recv(MPI_Comm comm, int *src, int *tag, struct k2_buf *b);

/* ---- the job ------------------------------------------------------------------------------ */

/* Command-line options (every rank parses the same argv; rank 0's config is the one used). */
struct k2_cluster_args {
	const char *input, *output, *section;
	const char *checkpoint, *resume, *report, *trace, *log, *windows;
	double budget;              /* [search] budget unless --budget */
	bool budget_set;            /* --budget given (on --resume: the whole job's budget) */
	uint64_t iters;             /* > 0: proposals per unit of window difficulty */
	uint32_t compose_check;     /* random compositions of proven rewrites proven whole */
	bool no_bench, no_trace, quiet, print_config, no_status;
	struct k2_config cfg;
};

/* What rank 0 decides and every rank needs, sent once at the start. */
struct k2_job {
	int rank, size;
	MPI_Comm to_coord, to_worker, to_bench;
	MPI_Comm node;              /* ranks on this node (MPI_COMM_TYPE_SHARED) */
	int bench_rank;             /* -1: none (rank 0 does the kernel's part itself) */
	bool bench_planned;         /* np >= 3 and not turned off: the last rank tries */
	bool bench_shared;          /* its node has fewer cores than ranks: nobody is bound off
				     * its core and it times nothing until the search ends */
	bool coord_works;           /* rank 0 also runs a worker */
	struct k2_config cfg;
	const struct k2_cluster_args *args;
	char input[4096];           /* object path as given */
	char section[K2_SEC_MAX];
	void *obj_bytes;
	size_t obj_len;
	struct k2_object *obj;
	struct k2_prog *prog;
	struct k2_analysis *an;
	struct k2_win *wins;
	uint32_t n_wins;
	uint64_t prog_hash;
	double budget;              /* seconds of search (this run) */
	uint64_t iters;             /* proposals per unit of difficulty; 0: timed */
	uint64_t seed;
	uint32_t generation;        /* how many runs were resumed before this one */
	double t0;                  /* MPI_Wtime at the start */
	FILE *log;                  /* --log: this rank's event log */
	char host[64];
	struct k2_ckpt *resume;     /* rank 0: the checkpoint --resume read */
	struct k2_bench_role *bench; /* the bench role's session and trace, where it runs */
	bool *gone;                 /* rank 0: ranks dropped for good (dead, or being killed) */
};

/*
 * The end of every rank, in place of a bare MPI_Finalize: rank 0 tells each rank not gone
 * that it is about to finalize (the output is written), the others wait for that word (at
 * most their long silence limit), and MPI_Finalize is bounded: Open MPI 4.1 can hang in its
 * closing fence for good after a rank of an --enable-recovery job died, so a rank still in
 * it after `grace` seconds exits with `code` (what it would have returned). j may be a job
 * whose setup failed (no word is exchanged then).
 */
int k2_cluster_end(struct k2_job *j, bool set_up, int code);

/* Seconds since the job started. */
double k2_job_now(const struct k2_job *j);
/* One event-log line: "t=1.234 rank 3 <text>" (nothing without --log). */
void k2_job_log(const struct k2_job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A seed for one purpose: the job's seed mixed with up to three numbers. */
uint64_t k2_job_seed(const struct k2_job *j, uint64_t a, uint64_t b, uint64_t c);
/* The program's identity for checkpoints: instructions, type, maps. */
uint64_t k2_prog_hash(const struct k2_prog *p);
/* Effective silence after which rank 0 drops a worker: heartbeat_timeout_ms, but at least
 * a slice plus a candidate's z3 queries (a rank cannot answer while the solver runs). */
double k2_job_timeout(const struct k2_job *j);

/* Whether a process of this node exists and is not a zombie. */
bool k2_pid_alive(int pid);
/* SIGKILL to pid if it is a k2-cluster process (a dropped rank that may hang in Finalize). */
void k2_reap_pid(const struct k2_job *j, int pid);

/* Signals: rank 0 acts on SIGINT/SIGTERM/SIGUSR1; other ranks only note them. */
extern volatile sig_atomic_t k2_cluster_signal;
void k2_cluster_signals(void);

/* args.c */
int k2_cluster_parse(int argc, char **argv, struct k2_cluster_args *a, bool say);
extern const char k2_cluster_usage[];

/* setup.c: rank 0 loads and decides, every rank builds the same job. */
int k2_job_setup(struct k2_job *j, const struct k2_cluster_args *a, struct k2_err *e);
void k2_job_free(struct k2_job *j);

/* checkpoint.c: what setup needs of --resume (the rest is rank 0's, coord_int.h). */
struct k2_ckpt;
int k2_ckpt_read(const char *path, struct k2_job *j, struct k2_err *e);
void k2_ckpt_free(struct k2_ckpt *ck);

/*
 * benchrank.c: the bench role: a kernel_bench session of the program and the run's HDF5
 * trace (the one writer of the file), on the last rank, or on rank 0 when there is no
 * bench rank (then rank 0 serves its own requests between its other work).
 */
struct k2_bench_role;
/* Starts the session (pins this rank to the bench core); 0, or -1 when the kernel is not
 * usable (the role then answers "not checked"). The trace is opened either way. */
int k2_bench_rank_open(struct k2_job *j);
void k2_bench_rank_close(struct k2_job *j);
/* Binds this process off the bench core (ranks sharing its node). */
void k2_bench_pin_away(struct k2_job *j);
/* Serves the waiting requests of the bench inbox: 1 if it served one, 0 if none, 2 after
 * STOP (trace written), negative on failure. */
int k2_bench_step(struct k2_job *j);
/* Why the kernel is not checked ("" if it is). */
const char *k2_bench_role_off(const struct k2_job *j);

/* Flags of a bench request. */
#define K2_BQ_MEASURE 1u  /* time it against the original (interleaved test_run) */
#define K2_BQ_LIVE    2u  /* XDP: live frames on veth too */

/* Rows of the /search tables (HDF5), built by rank 0, written by the bench role. */
struct k2_prow {             /* /search/progress: one per window per status interval */
	double time_s;
	uint32_t window, start, end;
	double best_cost;        /* best proven performance cost */
	uint32_t best_insns, orig_insns;
	uint64_t proposals;
	double iters_per_s, accept_rate, swap_rate, xswap_rate;
	uint32_t ranks, n_tests, pool_cex, pool_proven;
	uint64_t cex_relayed;
};

struct k2_wrow {             /* /search/windows: one per window at the end */
	uint32_t window, start, end, insns_before, insns_after, improved, stalled, ranks_ever;
	uint64_t proposals;
	double seconds, time_to_best;
	uint32_t proven, equivalent, different, unknown, unsafe, pool_cex;
	uint64_t cex_relayed, cex_saved, swaps_tried, swaps_acc;
	int32_t kernel;
};

enum k2_trace_kind { K2_TR_PROGRESS = 1, K2_TR_WINDOWS = 2, K2_TR_ATTR = 3 };

/* Roles. */
int k2_coord_run(struct k2_job *j, struct k2_err *e);
int k2_worker_run(struct k2_job *j, struct k2_err *e);
int k2_bench_rank_run(struct k2_job *j, struct k2_err *e);

#endif
