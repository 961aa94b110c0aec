/* search/k2search.h: the stochastic search: MCMC primitives, window search (CEGIS), whole programs. */
#ifndef K2SEARCH_H
#define K2SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf/k2bpf.h"
#include "search/k2_config.h"
#include "smt/k2smt.h"

/*
 * Three layers, each usable alone:
 *   MCMC primitives      Metropolis-Hastings acceptance, the geometric beta ladder and
 *                        replica exchange between adjacent chains (k2_pt), with statistics.
 *   window search        one window of one program (struct k2_wsearch): parallel-tempered
 *                        chains propose rewrites, score them on test states in the
 *                        interpreter, send zero-error candidates to the verifier-rule check
 *                        and to z3, and grow their test set from z3's counterexamples. It
 *                        runs in time slices and exchanges tests, proofs and its coldest
 *                        chain with whoever drives it (the `k2 opt` loop, or mpi/ ranks).
 *   whole programs       k2_opt_prog(): windows, test inputs, budget, composition and the
 *                        whole-program checks; `k2 opt` (cli/opt.c) adds the kernel verifier.
 */

/* ---- performance cost -------------------------------------------------------------------- */

/*
 * Per-operation latency table (configs/latency.ini, `[latency]` section: `<op name> = ns`,
 * `default = ns` for ops not listed, written by `k2 bench-opcodes`). Other sections are
 * ignored. Costs are reported in units of the table's median ALU latency, so that one
 * instruction weighs about 1 as under the size objective.
 */
struct k2_latency;

int k2_latency_load(const char *path, struct k2_latency **out, struct k2_err *e);
void k2_latency_free(struct k2_latency *lat);
/* ns of one op; the unit costs are divided by. */
double k2_latency_ns(const struct k2_latency *lat, enum k2_op op);
double k2_latency_unit(const struct k2_latency *lat);

/* ---- MCMC primitives ---------------------------------------------------------------------- */

/* Metropolis: accept a move from cost a to cost b with probability min(1, exp(-beta (b - a))),
 * given u uniform in [0, 1). */
bool k2_mh_accept(double beta, double a, double b, double u);
/* The largest cost k2_mh_accept takes for this u (so a scorer may stop counting past it). */
double k2_mh_limit(double beta, double a, double u);
/* Replica exchange of chains at beta_i, beta_j holding costs c_i, c_j: accepted with
 * probability min(1, exp((beta_i - beta_j) (c_i - c_j))). */
bool k2_pt_swap_accept(double beta_i, double beta_j, double c_i, double c_j, double u);

#define K2_PT_MAX 256 /* chains per search (the config allows as many) */

/* A ladder of m inverse temperatures and its exchange statistics. */
struct k2_pt {
	uint32_t m;
	double beta[K2_PT_MAX];       /* beta[0] coldest (beta_max) ... beta[m-1] hottest */
	uint64_t tried[K2_PT_MAX];    /* exchange attempts between chain k and k + 1 */
	uint64_t accepted[K2_PT_MAX];
	uint64_t rounds;
};

/* Geometric ladder from beta_max down to beta_min (m = 1: beta_max alone). */
void k2_pt_init(struct k2_pt *pt, uint32_t m, double beta_max, double beta_min);
/*
 * One exchange round: pairs (0,1), (2,3), ... on even rounds, (1,2), (3,4), ... on odd ones
 * (each pair move keeps the product of the chains' Boltzmann distributions invariant).
 * For each accepted pair, costs[i] and costs[i+1] are swapped and swap(arg, i, i + 1) is
 * called to exchange the states themselves.
 */
void k2_pt_exchange(struct k2_pt *pt, double *costs, struct k2_rng *rng,
		    void (*swap)(void *arg, uint32_t i, uint32_t j), void *arg);

/* ---- window search ------------------------------------------------------------------------ */

/*
 * How zero-error candidates are proven. The default (k2_wsearch_opts.prover NULL) is z3
 * through smt/ (k2_smt_window_new on the window, k2_smt_window_equiv per candidate).
 * equiv() checks cand[0, n) against the window; on K2_DIFFERENT it writes a
 * counterexample into cex (a state made for the search's VM) and returns 0.
 */
struct k2_prover {
	int (*equiv)(void *arg, const struct bpf_insn *cand, uint32_t n, enum k2_verdict *v,
		     struct k2_wstate *cex, struct k2_err *e);
	void *arg;
	/*
	 * Optional (NULL: none): the first-order safety check of a candidate equiv() proved,
	 * after the search's own verifier-rule check. The default is smt/'s
	 * k2_smt_window_safe: *safe unless z3 finds a state on which the candidate fails or
	 * cannot decide; why (len bytes) says what refused it.
	 */
	int (*safe)(void *arg, const struct bpf_insn *cand, uint32_t n, bool *safe, char *why,
		    size_t len, struct k2_err *e);
};

/*
 * The default prover's two questions, for a prover of one's own that asks them too (the
 * cluster's workers): cand[0, n) against window w of smt/'s window session sw. An empty
 * candidate is asked as `ja +0`; an UNKNOWN's reason (smt's) goes to e->msg. The safety
 * question refuses only when z3 finds a failing state or cannot decide; why says what.
 */
int k2_prove_window_equiv(struct k2_smt *smt, struct k2_smt_window *sw, const struct k2_win *w,
			  const struct bpf_insn *cand, uint32_t n, enum k2_verdict *v,
			  struct k2_vm *vm, struct k2_wstate *cex, struct k2_err *e);
int k2_prove_window_safe(struct k2_smt_window *sw, const struct k2_win *w,
			 const struct bpf_insn *cand, uint32_t n, bool *safe, char *why, size_t len,
			 struct k2_err *e);
/* A z3 session with the [smt] options of cfg. */
int k2_search_smt_new(const struct k2_config *cfg, struct k2_smt **out, struct k2_err *e);

struct k2_wsearch_opts {
	size_t sz;                        /* sizeof(struct k2_wsearch_opts) */
	const struct k2_config *cfg;      /* [search] parameters; NULL: built-in defaults */
	uint64_t seed;                    /* the search's random stream (mix in rank/window) */
	const struct k2_latency *latency; /* required for objective=latency */
	struct k2_smt *smt;               /* solver session for the default prover; NULL: own */
	const struct k2_prover *prover;   /* NULL: z3 through smt/ */
	bool no_prove;                    /* keep zero-error candidates unproven (benchmarks of
					   * the proposal loop only: nothing is ever "proven") */
};

#define K2_WSEARCH_OPTS(name, ...) \
	struct k2_wsearch_opts name = { .sz = sizeof(struct k2_wsearch_opts), __VA_ARGS__ }

/* Proposal kinds (statistics and tests). */
enum k2_move { K2_MOVE_OPERAND, K2_MOVE_REPLACE, K2_MOVE_NOP, K2_MOVE_SWAP, K2_MOVE_WIDTH,
	       K2_MOVE_REPLACE_K, K2_MOVE__COUNT };

/* A proven (or, by add_proven, trusted) rewrite of the window: compact, no `ja +0`. */
struct k2_wcand {
	struct bpf_insn *insns;   /* slots; jumps relative, to at most n (the window's end) */
	uint32_t n;               /* slots */
	uint32_t n_insns;         /* instructions (ld_imm64 once) */
	double perf;              /* performance cost (slots, or latency units) */
	double seconds;           /* search time when it was found */
	uint64_t iter;            /* proposals made when it was found */
};

struct k2_wsearch_stats {
	uint64_t iters;                   /* proposals, all chains */
	uint64_t accepted;
	uint64_t moves[K2_MOVE__COUNT];   /* proposals per kind */
	uint64_t moves_acc[K2_MOVE__COUNT];
	uint64_t invalid;                 /* proposals the window decoder refused (0 expected) */
	uint64_t test_runs;               /* window runs on test states */
	uint64_t early_stops;             /* scorings stopped at the acceptance limit */
	double seconds;                   /* in k2_wsearch_run */
	double iters_per_sec_chain;       /* iters / seconds / chains */
	double orig_perf;                 /* the original window's performance cost */
	double best_perf;                 /* best proven (orig_perf if none) */
	double best_seconds;              /* search time at which the best was proven */
	uint32_t n_tests, n_cex;          /* test states; counterexamples added by this search */
	uint32_t n_imported;              /* tests added from outside */
	uint32_t zero_error;              /* distinct zero-error candidates seen */
	uint32_t unsafe;                  /* of those, refused by the verifier-rule check */
	uint32_t equivalent, different, unknown; /* prover verdicts */
	uint32_t restarts;
	double prove_seconds;             /* time in the rule check and the prover */
	uint32_t safety_refused;          /* proven equivalent, refused by the safety check */
};

struct k2_wsearch;

/*
 * A search over window w of an analysed program, on a VM of the same program (borrowed; it
 * must not run anything else while the search runs). tests are states at the window's start
 * (copied; at least one); states on which the original window fails are dropped. Errors
 * name the window.
 */
int k2_wsearch_new(struct k2_vm *vm, const struct k2_analysis *an, const struct k2_win *w,
		   struct k2_wstate *const *tests, uint32_t n_tests,
		   const struct k2_wsearch_opts *opts, struct k2_wsearch **out, struct k2_err *e);
void k2_wsearch_free(struct k2_wsearch *s);

/*
 * Runs the chains for at most max_iters proposals in all (0: no limit) and max_seconds
 * (0: no limit), in rounds of swap_interval proposals per chain followed by an exchange.
 * Given the same seed, tests and calls, the result is the same on every machine when
 * only max_iters limits it. Returns 0 or a negative errno (prover failure, no memory).
 */
int k2_wsearch_run(struct k2_wsearch *s, uint64_t max_iters, double max_seconds,
		   struct k2_err *e);

void k2_wsearch_stats(const struct k2_wsearch *s, struct k2_wsearch_stats *st);
const struct k2_pt *k2_wsearch_pt(const struct k2_wsearch *s);
const struct k2_win *k2_wsearch_window(const struct k2_wsearch *s);
/* The prover's last failure or reason for UNKNOWN ("" if none). */
const char *k2_wsearch_prove_error(const struct k2_wsearch *s);

/* The top-K proven rewrites, best (lowest perf) first; distinct programs. */
uint32_t k2_wsearch_n_best(const struct k2_wsearch *s);
const struct k2_wcand *k2_wsearch_best(const struct k2_wsearch *s, uint32_t i);
/* Adds a rewrite proven elsewhere (another rank); it joins the top-K and the restart pool. */
int k2_wsearch_add_proven(struct k2_wsearch *s, const struct bpf_insn *insns, uint32_t n,
			  struct k2_err *e);

/* Test states. add_test copies a state (e.g. a counterexample from another rank) and returns
 * 1 if it was added, 0 if the original fails on it or it is already there. */
uint32_t k2_wsearch_n_tests(const struct k2_wsearch *s);
const struct k2_wstate *k2_wsearch_test(const struct k2_wsearch *s, uint32_t i);
int k2_wsearch_add_test(struct k2_wsearch *s, const struct k2_wstate *st, struct k2_err *e);
/* The same from k2_wstate_pack() bytes (a state another rank sent): unpacked over a copy of
 * this search's first test, so that it keeps this process's input. */
int k2_wsearch_add_test_packed(struct k2_wsearch *s, const void *buf, size_t len,
			       struct k2_err *e);
/* Counterexamples this search's prover found, in order (index i stays valid: export the new
 * ones since the last look; k2_wstate_pack() makes bytes of one). */
uint32_t k2_wsearch_n_cex(const struct k2_wsearch *s);
const struct k2_wstate *k2_wsearch_cex(const struct k2_wsearch *s, uint32_t i);

/*
 * The coldest chain: its current program (compact slots into buf, at most cap), its cost
 * and inverse temperature, for replica exchange between ranks; set_cold replaces it (the
 * program is padded with nops to the window's length and scored on this search's tests).
 */
int k2_wsearch_cold(const struct k2_wsearch *s, struct bpf_insn *buf, uint32_t cap,
		    uint32_t *n, double *cost, double *beta);
int k2_wsearch_set_cold(struct k2_wsearch *s, const struct bpf_insn *insns, uint32_t n,
			struct k2_err *e);

/* The score of a program on the current tests, as the chains see it (never allocates). */
struct k2_wscore {
	double cost;        /* w_error * error + w_perf * perf + w_unsafe * unsafe */
	double perf;
	uint64_t error;     /* differing bits over all tests */
	uint32_t unsafe;    /* tests on which the program failed where the original did not */
	uint32_t failing;   /* tests with any difference */
};
int k2_wsearch_score(struct k2_wsearch *s, const struct bpf_insn *insns, uint32_t n,
		     struct k2_wscore *sc, struct k2_err *e);

/* ---- test inputs of a whole program -------------------------------------------------------- */

/*
 * Inputs of a program's type (packets from k2_pktgen biased toward the program's own
 * constants, random and truncated packets, context fields, non-deterministic values, map
 * contents on which its lookups both hit and miss), and the window states they lead to.
 */
struct k2_inputs;

int k2_inputs_new(const struct k2_prog *prog, struct k2_vm *vm, const struct k2_config *cfg,
		  uint32_t n, uint64_t seed, struct k2_inputs **out, struct k2_err *e);
void k2_inputs_free(struct k2_inputs *in);
uint32_t k2_inputs_count(const struct k2_inputs *in);
const struct k2_input *k2_inputs_get(const struct k2_inputs *in, uint32_t i);

/*
 * Up to `want` distinct states at the window's start: snapshots of whole runs on the inputs,
 * with registers that are not live-in made uninitialised; when fewer inputs reach the window,
 * more states are made from the precondition (live-in scalars redrawn within their known
 * bounds, packet bytes redrawn; from the entry state when no input reaches it). *tests is
 * malloc'd, each state made for vm; *reached says how many came from runs.
 */
int k2_inputs_window_tests(struct k2_inputs *in, const struct k2_analysis *an,
			   const struct k2_win *w, uint32_t want, uint64_t seed,
			   struct k2_wstate ***tests, uint32_t *n, uint32_t *reached,
			   struct k2_err *e);
void k2_tests_free(struct k2_wstate **tests, uint32_t n);

/* ---- whole programs ----------------------------------------------------------------------- */

/* Progress of k2_opt_prog, for a status line. */
struct k2_opt_progress {
	uint32_t window, n_windows;     /* current (0-based) */
	uint32_t win_start, win_end;
	double orig_perf, best_perf;    /* of the current window */
	double iters_per_sec;           /* all chains, current window */
	uint32_t slots_before, slots_now; /* whole program, with the proofs so far */
	double elapsed;
	bool window_done;               /* the window's slice just ended */
};

struct k2_opt_opts {
	size_t sz;                        /* sizeof(struct k2_opt_opts) */
	const struct k2_config *cfg;      /* NULL: defaults */
	const char *windows;              /* "S:E,..." or NULL/"auto" */
	const struct k2_latency *latency; /* objective=latency */
	struct k2_smt *smt;               /* NULL: own session */
	double budget;                    /* seconds; 0: cfg->search.budget */
	uint64_t iters_per_window;        /* nonzero: a fixed proposal count per unit of
					   * difficulty instead of time (reproducible runs) */
	void (*progress)(void *arg, const struct k2_opt_progress *p);
	void *progress_arg;
	double progress_interval;         /* seconds between progress calls; 0: 0.25 */
	/*
	 * The prover of each window's search (a shared proof cache, a test double); NULL: z3
	 * through smt/, which then also checks the whole program. prover_new fills *out for
	 * window w of the program `vm` runs; prover_free releases it.
	 */
	int (*prover_new)(void *arg, struct k2_vm *vm, const struct k2_analysis *an,
			  const struct k2_win *w, struct k2_prover *out, struct k2_err *e);
	void (*prover_free)(void *arg, struct k2_prover *p);
	void *prover_arg;
};

#define K2_OPT_OPTS(name, ...) \
	struct k2_opt_opts name = { .sz = sizeof(struct k2_opt_opts), __VA_ARGS__ }

/* One window's outcome. */
struct k2_opt_window {
	struct k2_win win;
	uint32_t slots_before, slots_after;  /* after: the chosen rewrite (before if none) */
	bool improved;                       /* a proven rewrite is used */
	struct bpf_insn *repl;               /* the rewrite (NULL if none) */
	uint32_t n_repl;
	struct k2_wsearch_stats stats;
	uint32_t tests_reached;              /* initial tests from whole runs */
	double budget;                       /* seconds given */
	double found_at;                     /* seconds into k2_opt_prog the rewrite was proven */
};

enum k2_whole_check { K2_WHOLE_NOT_RUN, K2_WHOLE_EQUIVALENT, K2_WHOLE_DIFFERENT,
		      K2_WHOLE_UNKNOWN };

struct k2_opt_result {
	struct bpf_insn *insns;     /* the new program (main, then the subprograms as before) */
	uint32_t n_insns, n_main;
	int32_t *old_to_new;        /* per slot of the original main: new index or -1 */
	uint32_t slots_before, slots_after;  /* main function */
	uint32_t insns_before, insns_after;  /* main, ld_imm64 once */
	struct k2_opt_window *windows;
	uint32_t n_windows;
	uint32_t improved;          /* windows rewritten */
	uint32_t dropped;           /* proven windows dropped by the whole-program checks */
	enum k2_whole_check whole;  /* z3 on the whole program */
	char whole_why[256];        /* reason of UNKNOWN */
	uint32_t interp_inputs;     /* inputs on which both programs ran the same */
	double seconds;
	double time_to_best;        /* when the last improvement that was kept was proven */
	uint64_t iters;
	uint32_t equivalent, different, unknown, unsafe; /* all windows */
	uint32_t safety_refused;    /* all windows: equivalent but not proven safe */
};

/*
 * Optimises the main function of prog: windows (auto: k2_wins_select, main only), test
 * inputs, the budget split by difficulty, one window search per window, the best proven
 * rewrite of each spliced in (k2_splice). The composition is checked again: every input
 * runs the same in the interpreter, the verifier-rule analysis finds no new violation, and
 * z3 proves the whole program equivalent where it can (else the per-window proofs stand and
 * the result says so). A window whose rewrite breaks a check is dropped. The result never
 * has more slots than the input.
 */
int k2_opt_prog(const struct k2_prog *prog, const struct k2_opt_opts *opts,
		struct k2_opt_result *res, struct k2_err *e);
/* Recomposes res with only the windows whose keep[i] is true (e.g. after the kernel refused
 * the program), updating insns, old_to_new and the counts. */
int k2_opt_recompose(const struct k2_prog *prog, struct k2_opt_result *res, const bool *keep,
		     struct k2_err *e);
/*
 * The whole-program part of k2_opt_prog for rewrites searched elsewhere (mpi/ ranks): the
 * caller fills res->windows (win, slots_before, repl, n_repl, improved for those with a
 * proven rewrite) and n_windows; the improved ones are composed and checked exactly as
 * k2_opt_prog checks its own (interpreter on fresh inputs, verifier rules, z3 on the whole
 * program with opts->smt or an own session; without a solver in the build whole stays
 * K2_WHOLE_NOT_RUN), dropping what breaks a check, and the rest of res is filled.
 */
int k2_opt_compose(const struct k2_prog *prog, const struct k2_opt_opts *opts,
		   struct k2_opt_result *res, struct k2_err *e);
void k2_opt_result_free(struct k2_opt_result *res);

#endif
