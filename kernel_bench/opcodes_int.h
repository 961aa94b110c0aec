/* kernel_bench/opcodes_int.h: what opcodes_gen.c and opcodes_run.c share. */
#ifndef K2_OPCODES_INT_H
#define K2_OPCODES_INT_H

#include "kernel_bench/bench_int.h"

/* What one measurement times, besides the op itself. */
enum k2_opvar {
	K2_OPV_PLAIN,      /* straight line of the op */
	K2_OPV_TAKEN,      /* conditional jump whose condition holds (skips one insn) */
	K2_OPV_NOT_TAKEN,  /* conditional jump that falls through */
	K2_OPV_HELPER,     /* helper call with its argument setup */
};

/* One row of the measurement plan. */
struct k2_opcase {
	char name[40];         /* row name in latency.ini */
	enum k2_op op;         /* K2_OP_CALL for helpers */
	enum k2_opvar var;
	uint32_t helper;       /* BPF_FUNC_* for K2_OPV_HELPER */
	uint32_t map;          /* which bench map a helper or map load uses (0 array, 1 hash) */
	uint32_t prog_type;    /* XDP, or socket filter for LD_ABS/LD_IND */
};

/* The plan: every op the generator can build, each jump twice, a few helpers. *out malloc'd. */
int k2_opcases(struct k2_opcase **out, uint32_t *n);

/*
 * Maps the generated programs use, 4-byte keys and 8-byte values: an array of 4 and a hash
 * holding key 1 (what lookups ask for: the stack slots hold 1), and a one-element array
 * whose value ld_imm64 points to.
 */
struct k2_opmaps {
	int array_fd, hash_fd, value_fd;
};

/*
 * A program: a prologue making unknown (to the verifier) values in registers and an
 * initialised stack, `copies` copies of the case's pattern, then `r0 = XDP_PASS; exit`
 * (and a subprogram for bpf-to-bpf calls). *out malloc'd.
 */
int k2_opcase_prog(const struct k2_opcase *c, uint32_t copies, const struct k2_opmaps *m,
		   struct bpf_insn **out, uint32_t *n, struct k2_err *e);

#endif
