/* smt/k2smt.h: equivalence and safety proofs with z3, and counterexamples as test inputs. */
#ifndef K2SMT_H
#define K2SMT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "bpf/k2bpf.h"

/*
 * A solver session: one z3 context, its solvers and the query cache. Not thread-safe: one
 * per thread (each MPI rank has its own). Sessions are cheap to keep and expensive to make:
 * make one and check every window and candidate with it.
 *
 * What is encoded (smt/README.md has the details): every instruction the interpreter
 * (bpf/k2_interp.h) executes, over 64-bit bit-vectors, with the interpreter's semantic
 * decisions: pointers are its synthetic addresses, register types are tracked, and every
 * way a run can fail (uninitialised reads, bounds, pointer rules) is a condition. Memory is
 * kept per region (stack frames, packet page, context, map values) as chains of byte writes;
 * maps are functions from keys to elements with the program's updates and deletes applied in
 * order; non-deterministic helpers return the k-th value of a sequence both programs share.
 * Bounded loops are unrolled (opts.unroll iterations per frame); beyond that, and for what
 * the encoding does not model, the verdict is K2_UNKNOWN with the reason, never a guess.
 *
 * Every counterexample is replayed in bpf/interp before K2_DIFFERENT is returned; one the
 * interpreter does not confirm gives K2_UNKNOWN with an "encoding disagrees" reason.
 */
struct k2_smt;

struct k2_smt_opts {
	size_t sz;             /* sizeof(struct k2_smt_opts) */
	uint32_t timeout_ms;   /* per query; 0: 10 s */
	/* The four speed-ups of the K2 paper, each switchable so its effect can be measured. */
	bool no_memtype;       /* resolve each access's region from the address, not statically */
	bool no_maptype;       /* map value accesses are checked against every map */
	bool no_offset;        /* memory as z3 arrays with symbolic offsets, not fixed bytes */
	bool no_modular;       /* check windows by whole-program equivalence */
	bool no_cache;         /* no query cache */
	bool no_prefilter;     /* no cheap checks before z3 */
	const char *smt2_path; /* if set, every z3 query is also written there as SMT-LIB2 */
	/* appended after the first version: */
	uint32_t unroll;       /* loop iterations encoded per frame; 0: 64 */
	uint32_t cache_size;   /* query cache entries; 0: 65536 */
	bool no_bounds;        /* windows: use only types from the precondition, not the
				* scalar bounds and known bits the analysis found */
};

int k2_smt_new(const struct k2_smt_opts *opts, struct k2_smt **out, struct k2_err *e);
void k2_smt_free(struct k2_smt *s);

enum k2_verdict {
	K2_EQUIVALENT = 0, /* proven for every input the program type allows */
	K2_DIFFERENT = 1,  /* a counterexample exists (and replays in bpf/interp) */
	K2_UNKNOWN = 2,    /* timeout, or something the encoding refuses (reason given) */
};

/* Short name of a verdict ("equivalent", "differs", "unknown"). */
const char *k2_verdict_name(enum k2_verdict v);

/*
 * Why the last query of a session gave K2_UNKNOWN (or what decided another verdict:
 * "cache", "prefilter: ...", "z3"). Static or session-owned; valid until the next query.
 */
const char *k2_smt_reason(const struct k2_smt *s);

/*
 * Whole programs: same r0, final packet (bytes, length and metadata length), context as
 * test_run writes it back, map contents and sequence of side effects (helper, scalar
 * arguments, data, result) for every input (packet of any length the program type allows,
 * context fields test_run lets a caller set, map contents, values of non-deterministic
 * helpers, CPU) on which `a` runs without error. The programs must have the same type and
 * maps. On K2_DIFFERENT, *cex (if non-NULL) is an input on which bpf/interp runs the two to
 * different results; cex->maps points into the session (valid until its next query).
 */
int k2_smt_equiv_prog(struct k2_smt *s, const struct k2_prog *a, const struct k2_prog *b,
		      enum k2_verdict *v, struct k2_input *cex, struct k2_err *e);

/*
 * Windows: the original program's window w (its precondition and live-out set from the
 * analysis of the original) is encoded once; candidates are then checked against it.
 * Equivalent means: for every state at the window's entry that satisfies the precondition
 * (types, scalar bounds, packet range, initialised stack) and on which the original window
 * runs without error, the candidate runs without error, leaves at the window's end, and
 * produces the same live-out registers (value and type), the same live stack bytes at the
 * end (value, initialisation, spilled types) and the same packet, context and map-value
 * memory. A counterexample is a machine state at the window's entry, written into a state
 * made for `vm` (a VM of the original program, e.g. with k2_wstate_new), on which
 * k2_vm_wrun of the original window and of the candidate give different live-out registers
 * or memory. With opts.no_modular the candidate is spliced into the program and the whole
 * programs are compared instead (cex is then left untouched).
 *
 * A candidate that bpf/interp cannot run as a window (calls, bad registers) is an error
 * (-EINVAL, "insn N: reason"); a candidate with a backward jump gets K2_UNKNOWN.
 */
struct k2_smt_window;

int k2_smt_window_new(struct k2_smt *s, const struct k2_analysis *an, const struct k2_win *w,
		      struct k2_smt_window **out, struct k2_err *e);
void k2_smt_window_free(struct k2_smt_window *sw);
int k2_smt_window_equiv(struct k2_smt_window *sw, const struct bpf_insn *cand, uint32_t n,
			enum k2_verdict *v, struct k2_vm *vm, struct k2_wstate *cex,
			struct k2_err *e);

/* Counters of a session, for benchmarks and reports. */
struct k2_smt_stats {
	uint64_t queries;       /* equivalence questions asked (windows and programs) */
	uint64_t z3_calls;      /* solver checks made */
	uint64_t sat, unsat, unknown;
	uint64_t cache_hits;    /* answered from the cache */
	uint64_t prefilter_hits; /* answered without z3 by the cheap checks */
	uint64_t cex_replayed;  /* counterexamples run in bpf/interp */
	uint64_t cex_confirmed; /* ... that showed a difference */
	uint64_t disagreements; /* ... that did not: encoding and interpreter disagree */
	double solve_ms;        /* time inside z3 */
	double encode_ms;       /* time building terms */
};
void k2_smt_stats(const struct k2_smt *s, struct k2_smt_stats *out);

/*
 * Agreement of the encoding with the interpreter on one input (tests, `make fuzz-smt`):
 * runs `p` on `in` in bpf/interp, encodes `p` with its inputs fixed to `in`, and asks z3
 * whether the encoding can produce anything else (error or not, r0, packet, context, map
 * contents, effects). Returns 0 when they agree, 1 when the input reaches something the
 * encoding does not model (reason in e->msg), -EDOM when they disagree (e->msg says what
 * differs), or another negative errno.
 */
int k2_smt_agree(struct k2_smt *s, const struct k2_prog *p, const struct k2_input *in,
		 struct k2_err *e);

/* `k2 equiv A.o B.o [-s SECTION] [--window S:E] [--smt2 FILE] [--timeout MS]`. */
int k2_cmd_equiv(int argc, char **argv);

#endif
