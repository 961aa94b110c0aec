/* smt/window.h: a window being checked: its encoding, replay machinery, counterexample pool. */
#ifndef K2_SMT_WINDOW_H
#define K2_SMT_WINDOW_H

#include "smt/query.h"

#define K2S_POOL 16 /* counterexample states kept per window for the prefilter */

struct k2_smt_window {
	struct k2_smt *s;
	const struct k2_analysis *an;   /* borrowed: must outlive the window */
	struct k2_win win;
	uint64_t serial;
	struct bpf_insn *orig;          /* the window's instructions */
	uint32_t n;
	struct bpf_insn *canon;         /* ... without nops */
	uint32_t n_canon;
	uint16_t live_out;
	struct k2_stackset sout;        /* stack bytes live at the end */
	struct k2_hash key;             /* what the window means (cache key half) */
	char refuse[256];               /* why no candidate can be checked ("" if they can) */
	/* the encoding of the original */
	struct k2_arena ar;
	struct k2_world *w;
	struct k2_enc eo;
	Z3_solver so;                   /* world, original ok and exact, asserted once */
	Z3_ast base_unsup;
	struct k2_wmark mark;           /* the world before any candidate */
	/* replay */
	struct k2_vm *vm;
	struct k2_window *wo, *wc;
	struct k2_wstate *st;
	struct k2_mapstate *ms;
	struct k2_input in0;            /* the input counterexample states refer to */
	struct k2_wout out_o, out_c;
	struct k2_wstate *pool[K2S_POOL];
	uint32_t n_pool;
};

Z3_ast k2s_win_diff(const struct k2_smt_window *sw, struct k2_enc *o, struct k2_enc *c);
/* A z3 model as a state at the window's entry, for `vm` (a VM of the original program). */
int k2s_cex_wstate(struct k2_smt_window *sw, Z3_model m, struct k2_vm *vm, struct k2_wstate *st);
/* Runs the original window and candidate c on st (a state of sw->vm's program): 1 when
 * their live outputs differ (why says how), 0 when not, < 0 on error. */
int k2s_win_replay(struct k2_smt_window *sw, const struct bpf_insn *c, uint32_t n,
		   const struct k2_wstate *st, char *why, size_t len);
/* Instructions without `ja +0` (jumps re-targeted); *out malloc'd. */
int k2s_canon(const struct bpf_insn *in, uint32_t n, struct bpf_insn **out, uint32_t *nout);

#endif
