/* smt/k2smt.h: equivalence and safety proofs with z3, and counterexamples as test inputs. */
#ifndef K2SMT_H
#define K2SMT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "bpf/k2bpf.h"

/*
 * A solver session: one z3 context, its solver and the query cache. Not thread-safe:
 * one per thread (each MPI rank has its own).
 */
struct k2_smt;

struct k2_smt_opts {
	size_t sz;            /* sizeof(struct k2_smt_opts) */
	uint32_t timeout_ms;  /* per query; 0: 10 s */
	/* The four speed-ups of the K2 paper, each switchable so its effect can be measured. */
	bool no_memtype;      /* encode every access against every region */
	bool no_maptype;      /* encode every map access against every map */
	bool no_offset;       /* memory as arrays instead of fixed-offset bit-vectors */
	bool no_modular;      /* check windows by whole-program equivalence */
	bool no_cache;        /* no query cache */
	bool no_prefilter;    /* no cheap rejection before z3 */
	const char *smt2_path; /* if set, every query is also written there as SMT-LIB2 */
};

int k2_smt_new(const struct k2_smt_opts *opts, struct k2_smt **out, struct k2_err *e);
void k2_smt_free(struct k2_smt *s);

enum k2_verdict {
	K2_EQUIVALENT = 0,  /* proven for every input the program type allows */
	K2_DIFFERENT = 1,   /* a counterexample exists (and replays in bpf/interp) */
	K2_UNKNOWN = 2,     /* timeout, or something the encoding refuses (reason given) */
};

/*
 * Whole programs: same r0, final packet, map contents and sequence of side effects for
 * every input (packet of any length the program type allows, ctx, map contents, values of
 * non-deterministic helpers). On K2_DIFFERENT, *cex (if non-NULL) is an input on which
 * bpf/interp runs the two programs to different results.
 */
int k2_smt_equiv_prog(struct k2_smt *s, const struct k2_prog *a, const struct k2_prog *b,
		      enum k2_verdict *v, struct k2_input *cex, struct k2_err *e);

/*
 * Windows: the original program's window w (its precondition and live-out set from the
 * analysis of the original) is encoded once; candidates are then checked against it.
 * A counterexample is a machine state at the window's entry, written into a state made
 * for `vm` (a VM of the original program), on which the original window and the
 * candidate produce different live-out registers or memory.
 */
struct k2_smt_window;

int k2_smt_window_new(struct k2_smt *s, const struct k2_analysis *an, const struct k2_win *w,
		      struct k2_smt_window **out, struct k2_err *e);
void k2_smt_window_free(struct k2_smt_window *sw);
int k2_smt_window_equiv(struct k2_smt_window *sw, const struct bpf_insn *cand, uint32_t n,
			enum k2_verdict *v, struct k2_vm *vm, struct k2_wstate *cex,
			struct k2_err *e);

#endif
