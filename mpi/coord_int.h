/* mpi/coord_int.h: internal: rank 0's view of the job: windows, pools, ranks, and its helpers. */
#ifndef K2_COORD_INT_H
#define K2_COORD_INT_H

#include "mpi/cluster_int.h"
#include "search/k2search.h"

/* ---- the searching side (worker.c, prover_sample.c) -------------------------------------- */

struct k2_worker;
int k2_worker_new(struct k2_job *j, struct k2_worker **out, struct k2_err *e);
/* One step: rank 0's messages, then a slice if there is work. Returns 1 if it searched,
 * 0 if idle, or a negative errno; *done once stopped (or failed). */
int k2_worker_step(struct k2_worker *w, bool *done, struct k2_err *e);
/* Rank 0's own worker: its slices, proofs included, end by job time t (the budget's end:
 * rank 0's loop, and with it the stop, waits for them). */
void k2_worker_until(struct k2_worker *w, double t);
void k2_worker_free(struct k2_worker *w);

/* prover.c: z3 through smt/ for a worker's window search, keeping what each counterexample
 * refuted (found by the hash of the packed counterexample). A candidate's equivalence
 * question, and its safety question, each end within limit_ms (all their z3 checks). */
struct k2_wprover;
int k2_wprover_new(struct k2_smt *smt, struct k2_vm *vm, const struct k2_analysis *an,
		   const struct k2_win *w, uint32_t limit_ms, struct k2_wprover **out,
		   struct k2_prover *pr, struct k2_err *e);
const struct bpf_insn *k2_wprover_refuted(const struct k2_wprover *wp, uint64_t cex_hash,
					  uint32_t *n);
/* Questions asked from now on end within ms (< 0: only limit_ms holds). */
void k2_wprover_within(struct k2_wprover *wp, double ms);
void k2_wprover_free(struct k2_wprover *wp);

/* ---- rank 0's records ---------------------------------------------------------------------- */

/* A proven rewrite of one window (from any rank). */
struct k2_ccand {
	struct bpf_insn *insns;
	uint32_t n, n_insns;       /* slots; instructions */
	double perf;
	uint64_t hash;
	int origin;                /* rank that proved it */
	double t;                  /* job time it reached rank 0 */
	uint64_t iter;             /* proposals its search had made */
	int8_t kernel;             /* the window alone in the program: -1 not checked yet,
				    * 0 refused, 1 accepted, 2 kernel not usable */
	bool sent;                 /* submitted to the bench */
	char reason[160];
};

/* A counterexample (packed window state), as the rank that found it sent it. */
struct k2_ccex {
	uint8_t *bytes;
	uint32_t len;
	uint64_t hash;
	int origin;
	double t;
};

enum k2_wphase { K2_W_QUEUED, K2_W_ACTIVE, K2_W_DONE };

struct k2_cwin {
	struct k2_win win;
	uint32_t orig_slots, orig_insns;
	double orig_perf;          /* the original window's performance cost (searches say) */
	enum k2_wphase phase;
	bool stalled;              /* released its ranks: no improvement for stall_seconds */
	bool empty;                /* no usable test state */
	double share, used;        /* budget: rank-seconds (timed) or proposals (--iters) */
	uint64_t iters;            /* proposals, all ranks */
	double t_improved;         /* job time of the last improvement (or of its start) */
	double seconds;            /* rank-seconds spent */
	struct k2_ccand *cands;    /* proven rewrites, best (lowest perf, then fewest slots) first */
	uint32_t n_cands, cap_cands;
	struct k2_ccex *cex;
	uint32_t n_cex, cap_cex;
	int *members;              /* ranks on it, in ladder order */
	uint32_t n_members, cap_members;
	uint32_t xround;           /* replica-exchange rounds done (pairing parity) */
	uint64_t swaps_tried, swaps_acc;       /* between ranks */
	uint64_t pt_tried, pt_acc;             /* inside the ranks' searches */
	uint64_t accepted;
	uint64_t cex_relayed, proven_relayed;  /* copies sent to other ranks */
	uint64_t cex_saved;        /* candidates a rank's own tests passed that another rank's
				    * counterexample refuted */
	uint32_t n_tests, n_imported;
	uint32_t equivalent, different, unknown, unsafe;
	uint32_t safety_refused;   /* proven equivalent, refused by smt/'s safety check */
	double rate;               /* proposals per second, all its ranks (last slices) */
	uint32_t ranks_ever;
	uint32_t n_measured;       /* rewrites sent to the bench rank to be timed */
	struct k2_cimp {           /* each time a smaller rewrite arrived (scaling benchmarks) */
		double t;          /* search seconds (over resumed runs) */
		uint32_t insns;
		uint64_t iters;    /* the window's proposals then, all ranks */
	} *imp;
	uint32_t n_imp, cap_imp;
	double t_first_best;       /* job time the current best size was first reached */
};

struct k2_crank {
	bool searcher;             /* takes windows (workers; rank 0 when it searches too) */
	bool alive, dropped, bye, failed;
	int32_t win;               /* -1: none */
	uint32_t epoch, pos;
	double last_seen, last_sent;
	int pid;
	char host[64];
	struct bpf_insn *cold;     /* its coldest chain at its last report */
	uint32_t cold_n, cold_cap;
	double cold_cost, cold_beta;
	bool cold_fresh;
	double rate;
	uint64_t iters;
	uint32_t round;            /* --iters: last round reported */
	struct k2_buf upd;         /* UPDATE records waiting to be sent */
	struct k2_buf held;        /* --iters: its report of the round, until all are in */
	uint32_t windows;          /* assignments taken */
	bool assign_due, assign_joins; /* an ASSIGN to send when the decisions are made */
};

/* What the bench said about one submitted program. */
struct k2_bres {
	uint32_t id;
	int32_t verdict, err;      /* 1 accepted, 0 refused, -1 not checked */
	uint32_t verified_insns, xlated, jited;
	double load_us;
	char reason[512];
	bool measured;
	double ratio, ratio_lo, ratio_hi, ns, orig_ns, pps, orig_pps, noise_ns;
	int32_t resolved;
};

/* Submitted programs: a window's rewrite alone (win, hash of the rewrite) or a whole
 * composition (win -1). */
struct k2_bsub {
	int32_t win;
	uint64_t hash;
	bool done;
	bool measure;              /* asked to be timed too */
	struct k2_bres res;
};

/* The end of a run: what was composed, checked, measured and written. */
struct k2_final {
	struct k2_opt_result res;  /* the composition (k2_opt_compose) */
	bool composed;
	int kernel_sub;            /* submission of the final program (-1: none) */
	int measure_sub;
	uint32_t kernel_dropped;   /* windows dropped because the kernel refused the program */
	char kernel[600];          /* the kernel's verdict in words */
	char whole[320];           /* the whole-program proof in words */
	double t_begin, t_end;     /* job times of the final phase */
	bool wrote;
	bool hard;                 /* a second signal: no z3 and no timing at the end */
	uint32_t insns_before, insns_after, slots_before, slots_after;
	uint32_t cc_tried, cc_equiv, cc_diff, cc_unknown; /* --compose-check */
	char cc_first_diff[256];
};

struct k2_coord {
	struct k2_job *j;
	struct k2_outbox out;
	struct k2_buf in;
	struct k2_cwin *w;
	uint32_t nw;
	struct k2_crank *r;        /* one per rank */
	struct k2_worker *local;   /* rank 0's own worker */
	bool local_done;
	struct k2_rng rng;
	double t_start;            /* job time the search started */
	double elapsed_before;     /* search seconds of earlier runs (--resume) */
	double deadline;           /* job time */
	uint32_t round;            /* --iters: rounds completed */
	double t_status, t_ckpt, t_trace, t_compose;
	double t_beats;            /* last heartbeat check (rank 0's own busy time is not
				    * the other ranks' silence) */
	bool compose_dirty;
	int bench_dest;            /* the rank serving the bench role (0: rank 0 itself) */
	struct k2_bsub *subs;
	uint32_t n_subs, cap_subs;
	struct k2_buf *reqs;       /* each submission's request, index for index */
	uint32_t cap_reqs;
	char bench_off[512];       /* why the kernel is not checked ("" if it is) */
	char trace_path[4096];     /* the trace the bench role wrote ("" if none) */
	bool bench_stopped;
	struct k2_prow *rows;      /* every /search/progress row (resent if the bench rank dies) */
	uint32_t n_rows, cap_rows, rows_sent;
	char fail_msg[512];        /* the first rank failure */
	uint64_t cex_msgs, cex_bytes, cex_found, proven_found;
	uint32_t dropped, reassigned;
	const char *stop_reason;
	bool tty;
	uint32_t status_lines;
	double t_logline;          /* last status line when stderr is not a terminal */
	struct k2_final *fin;
};

/* assign.c: budget shares, assignments, rebalancing, replica-exchange pairing. */
void k2_sched_init(struct k2_coord *c);
void k2_sched_assign(struct k2_coord *c, int rank, int32_t win);
void k2_sched_fill(struct k2_coord *c);
void k2_sched_tick(struct k2_coord *c);
void k2_sched_drop(struct k2_coord *c, int rank, const char *why);
void k2_sched_exchange(struct k2_coord *c, uint32_t win);
/* Sends the ASSIGNs decided since the last call (one per rank, with its final ladder). */
void k2_sched_flush(struct k2_coord *c);
bool k2_sched_finished(const struct k2_coord *c);

/* pool.c: a window's shared pools at rank 0. */
/* Adds a counterexample; 1 if new (then relayed to the window's other ranks). */
int k2_pool_add_cex(struct k2_coord *c, uint32_t win, int origin, const uint8_t *p, uint32_t len,
		    bool relay);
/* Adds a proven rewrite; 1 if new, 2 if it is the window's new best. */
int k2_pool_add_proven(struct k2_coord *c, uint32_t win, int origin, const struct bpf_insn *in,
		       uint32_t n, double perf, uint64_t iter, bool relay);
/* The window's pools as records (for a rank that joins it). */
void k2_pool_put_all(const struct k2_coord *c, uint32_t win, struct k2_buf *b);
/* The best rewrite the kernel has not refused, or NULL. */
const struct k2_ccand *k2_pool_best(const struct k2_cwin *w);
void k2_pool_free(struct k2_cwin *w);

/* coord.c */
int k2_coord_send(struct k2_coord *c, int rank, int tag, struct k2_buf *b);
/* UPDATE records for a rank, sent at the end of this loop turn (or by flush). */
struct k2_buf *k2_coord_upd(struct k2_coord *c, int rank);
void k2_coord_flush(struct k2_coord *c, int rank);
double k2_coord_search_time(const struct k2_coord *c);
/* Messages in and out, the local roles' own steps, heartbeats: what rank 0 does while it
 * waits (final phase). Returns how many messages it handled. */
int k2_coord_pump(struct k2_coord *c);
/* Only the messages waiting for rank 0 (after the end: dropped ranks' BYEs). */
int k2_coord_inbox(struct k2_coord *c);

/* checkpoint.c: rank 0's state in a file, and back. */
/* Applies what setup kept of --resume to the coordinator (pools, budgets, progress). */
int k2_ckpt_apply(struct k2_coord *c, struct k2_err *e);
int k2_ckpt_write(const struct k2_coord *c, const char *path, struct k2_err *e);

/* bench.c (rank 0's side): per-window kernel checks as rewrites arrive, bench answers. */
void k2_cbench_submit_new(struct k2_coord *c);
void k2_cbench_take(struct k2_coord *c, struct k2_buf *b);
/* The bench rank is gone: rank 0 takes the role over and resubmits what was pending. */
void k2_cbench_lost(struct k2_coord *c);
/* Submits one whole program; returns its submission index. */
int k2_cbench_submit(struct k2_coord *c, int32_t win, const struct bpf_insn *insns, uint32_t n,
		     const char *windows, const char *source, uint8_t flags);
/* Waits (serving the local bench role and MPI) until submission i is answered. */
const struct k2_bres *k2_cbench_wait(struct k2_coord *c, int i);

/* compose_check.c: --compose-check (after the output is written). */
int k2_compose_check(struct k2_coord *c, struct k2_err *e);

/* final.c: composition, whole-program checks, kernel, the output. */
int k2_final_run(struct k2_coord *c, struct k2_err *e);
void k2_final_free(struct k2_coord *c);

/* report.c: status lines, the closing table, JSON, the /search trace rows. */
void k2_status_update(struct k2_coord *c, bool force);
void k2_status_event(struct k2_coord *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void k2_report_table(struct k2_coord *c, FILE *f);
int k2_report_json(struct k2_coord *c, const char *path, struct k2_err *e);
void k2_trace_attrs(struct k2_coord *c);
void k2_trace_progress(struct k2_coord *c);
void k2_trace_final(struct k2_coord *c);

#endif
