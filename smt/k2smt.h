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
	bool no_memtype;       /* every load/store encoded against every region, each guarded
				* by a type test z3 decides (not only the types it may have) */
	bool no_maptype;       /* one value memory for all maps: accesses checked against
				* every map's elements */
	bool no_offset;        /* memory bytes compared by offset terms z3 decides: a read is
				* an ite over every earlier write (an array), nothing folded */
	bool no_modular;       /* check windows by whole-program equivalence */
	bool no_cache;         /* no query cache */
	bool no_prefilter;     /* no cheap checks before z3 (identical modulo nops; the
				* window's earlier counterexamples replayed in bpf/interp) */
	const char *smt2_path; /* if set, every z3 query is also written there as SMT-LIB2 */
	/* appended after the first version: */
	uint32_t unroll;       /* loop iterations encoded per frame; 0: 64 */
	uint32_t cache_size;   /* query cache entries; 0: 65536 */
	bool no_bounds;        /* windows: use only types from the precondition, not the
				* scalar bounds and known bits the analysis found */
};

int k2_smt_new(const struct k2_smt_opts *opts, struct k2_smt **out, struct k2_err *e);
void k2_smt_free(struct k2_smt *s);

/*
 * A time limit on what the session does next, all its z3 checks together: `ms` from now
 * (0: none, each check has only opts.timeout_ms). A check is cut off at the limit, one that
 * would start after it is not made; the question's verdict is then unknown. For a caller
 * that must answer within a bound whatever it asks (one candidate's equivalence and safety
 * questions make up to ~20 checks).
 */
void k2_smt_limit(struct k2_smt *s, uint32_t ms);

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
 * maps. Frozen data sections (.rodata with its initial bytes) are part of the object, not
 * inputs: their contents are the object's bytes. On K2_DIFFERENT, *cex (if non-NULL) is an
 * input on which bpf/interp runs the two to different results; cex->maps points into the
 * session (valid until its next query).
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

/*
 * `make fuzz-smt`: random programs (bpf/k2_gen.h) and one-instruction mutants of them and of
 * one of their windows. A disagreement is a counterexample bpf/interp does not confirm, an
 * "equivalent" pair that differs on a random input, or k2_smt_agree() returning -EDOM.
 * Program i is checked with all speed-ups on, one of the six off, or all off (i mod 8).
 * Programs that take more than a minute are logged (a query that outlives its timeout).
 */
struct k2_smt_fuzz_opts {
	size_t sz;             /* sizeof(struct k2_smt_fuzz_opts) */
	uint64_t n;            /* programs */
	uint64_t seed;
	uint32_t n_insns;      /* program length; 0: 20..39 */
	uint32_t timeout_ms;   /* per query; 0: 2000 */
	uint64_t every;        /* progress line on stderr every N programs; 0: none */
	FILE *log;             /* one line per disagreement; NULL: none */
	uint64_t first;        /* index of the first program: program i is drawn from (seed, i)
				* alone, so `--first i -n 1` reruns it */
};
struct k2_smt_fuzz_stats {
	uint64_t programs, agree_checks, agree_unsupported, agree_unknown;
	uint64_t prog_checks, window_checks, equivalent, different, unknown;
	uint64_t inputs_run, disagreements;
	double seconds;        /* wall time of the run */
	double slowest_s;      /* the slowest program's wall time, and its index */
	uint64_t slowest;
};
int k2_smt_fuzz(const struct k2_smt_fuzz_opts *o, struct k2_smt_fuzz_stats *st,
		struct k2_err *e);
int k2_cmd_fuzz_smt(int argc, char **argv);

/* `k2 equiv A.o B.o [-s SECTION] [--window S:E] [--smt2 FILE] [--timeout MS]`. */
int k2_cmd_equiv(int argc, char **argv);

/*
 * Safety (smt/safety_*.c). A program is safe when (1) z3 proves that no input the program
 * type allows makes bpf/interp's run fail: every stack, packet, context and map-value access
 * in its region, no read of an uninitialised register or stack byte, no pointer leaked (into
 * maps, packet, context, helper data or r0 at exit), only the pointer arithmetic and compares
 * the kernel allows, helpers allowed and given arguments of the right type; and (2) the
 * verifier's static rules, as bpf/'s analysis (k2_absint) applies them, hold on every access
 * and instruction: they catch what no single run shows (a packet access safe on every input
 * but not dominated by a data_end check the verifier can see). A violation of (1) comes with
 * an input that bpf/interp replays to the failure; one of (2) has no input (has_input false).
 * Paths the encoding does not model, or a solver timeout, make the verdict unknown.
 */
enum k2_safety {
	K2_SAFE = 0,
	K2_UNSAFE = 1,
	K2_SAFETY_UNKNOWN = 2,
};

/* The rule a violation breaks. */
enum k2_rule {
	K2_RULE_STACK,      /* stack access outside r10-512 .. r10 */
	K2_RULE_PKT,        /* packet (or metadata) access not inside the checked range */
	K2_RULE_CTX,        /* context access at an invalid offset/size or through a moved ctx */
	K2_RULE_MAP_VALUE,  /* map value access outside 0 .. value_size, or write to .rodata */
	K2_RULE_DEREF,      /* access through a scalar, a pointer not null-checked, data_end, a map */
	K2_RULE_UNINIT,     /* read of an uninitialised register or stack byte */
	K2_RULE_LEAK,       /* pointer stored to memory other than a stack slot, or returned */
	K2_RULE_PTR,        /* pointer arithmetic or compare the kernel forbids */
	K2_RULE_HELPER,     /* helper not allowed for the type, or an argument of the wrong type */
	K2_RULE_CFG,        /* control flow the verifier refuses (unreachable instructions) */
	K2_RULE_OTHER,      /* any other way a run fails (calls too deep, loop too long, ...) */
	K2_RULE__COUNT
};

#define K2_SAFETY_MAXV 16

struct k2_safety_viol {
	uint32_t insn;            /* instruction index (windows: in the candidate) */
	enum k2_rule rule;
	bool has_input;           /* a run breaks it (found by z3, replayed in bpf/interp) */
	struct k2_input *in;      /* whole program, has_input: the input (maps owned) */
	struct k2_wstate *st;     /* window, has_input: the state at the window's entry, for a
				   * VM of the original program */
	char msg[200];            /* "insn 7: packet access out of bounds" */
};

struct k2_safety_report {
	enum k2_safety verdict;
	uint32_t n;               /* violations kept, in instruction order */
	struct k2_safety_viol v[K2_SAFETY_MAXV];
	uint32_t n_static;        /* violations of the static rules (also kept in v) */
	uint32_t z3_calls;
	char reason[512];         /* unknown: why; safe: what was proven */
};

/* Short names: "safe", "unsafe", "unknown"; "stack bounds", "packet bounds", ... */
const char *k2_safety_name(enum k2_safety v);
const char *k2_rule_name(enum k2_rule r);
/* Frees what a report owns (inputs, states); the report can be reused. */
void k2_safety_report_free(struct k2_safety_report *r);

/*
 * Whole program, for every input its program type allows. `an` is the analysis of `p`
 * (NULL: made here). Returns 0 with the verdict in r (free it with k2_safety_report_free),
 * or a negative errno.
 */
int k2_smt_safety_prog(struct k2_smt *s, const struct k2_prog *p, const struct k2_analysis *an,
		       struct k2_safety_report *r, struct k2_err *e);

/*
 * A window (cand NULL) or a candidate for it. The original window is judged for every state
 * that satisfies its precondition; a candidate for every such state on which the original
 * window runs without error (the original program being safe, these are all the states the
 * candidate can meet), and statically from the precondition (k2_absint_fragment), with its
 * end state keeping what the rest of the program was verified with (k2_win_post_check).
 * Violations' insn are indices in the candidate (in the window for cand NULL).
 */
int k2_smt_window_safe(struct k2_smt_window *sw, const struct bpf_insn *cand, uint32_t n,
		       struct k2_safety_report *r, struct k2_err *e);

#include "smt/k2smt_cmd.h" /* k2_cmd_safety */

#endif
