/* search/search_int.h: internal: candidate cells, proposal pools, the window search's state. */
#ifndef K2_SEARCH_INT_H
#define K2_SEARCH_INT_H

#include "search/k2search.h"

/*
 * A candidate is a fixed number of cells, one per instruction of the original window (an
 * ld_imm64 is one cell of two slots). A cell holds its instruction already encoded, except
 * that a jump's offset counts cells; `ja +0` is a nop. Compaction drops the nops and turns
 * cell offsets into slot offsets, giving the program that is run, proven and spliced.
 */
struct k2_cell {
	struct bpf_insn s[2];
	uint8_t op;     /* enum k2_op */
	uint8_t slots;  /* 0 for a nop, 2 for ld_imm64, else 1 */
	bool branch;    /* K2_F_BRANCH: s[0].off counts cells */
};

static inline bool k2_cell_is_nop(const struct k2_cell *c)
{
	return c->slots == 0;
}

void k2_cell_nop(struct k2_cell *c);
/* Encodes op with operands into c (selector fields and unused operands normalised). */
void k2_cell_set(struct k2_cell *c, enum k2_op op, uint8_t dst, uint8_t src, int16_t off,
		 int64_t imm);
/* Cells of a slot program (jump offsets converted); returns the cell count or -EINVAL if a
 * jump lands inside an ld_imm64 or outside [0, n]. cells holds n entries. */
int k2_cells_from_insns(const struct bpf_insn *insns, uint32_t n, struct k2_cell *cells);
/* The compact program of n cells into out (room for 2n slots); returns its slot count. pos
 * is scratch of n + 1 entries. */
uint32_t k2_cells_compact(const struct k2_cell *c, uint32_t n, struct bpf_insn *out,
			  uint32_t *pos);
/* FNV-style hash of a slot program (identity of a compact candidate). */
uint64_t k2_insns_hash(const struct bpf_insn *insns, uint32_t n);
/* Instructions (ld_imm64 once) in a slot program. */
uint32_t k2_insns_count(const struct bpf_insn *insns, uint32_t n);

/* ---- proposals ---- */

enum k2_class { K2_CL_ALU, K2_CL_END, K2_CL_JMP, K2_CL_LDX, K2_CL_ST, K2_CL_ATOMIC, K2_CL_LDDW,
		K2_CL__COUNT };

#define K2_POOL_IMM 128
#define K2_POOL_OFF 64

/* What proposals draw from, fixed per window. */
struct k2_pool {
	uint8_t ops[K2_CL__COUNT][96];
	uint32_t n_ops[K2_CL__COUNT];
	double class_cum[K2_CL__COUNT];     /* cumulative class weights, last = 1 */
	double move_cum[K2_MOVE__COUNT];    /* cumulative move probabilities, last = 1 */
	int64_t win_imm[K2_POOL_IMM];       /* the window's own constants */
	uint32_t n_win_imm;
	int64_t imm[K2_POOL_IMM];           /* 0, 1, -1, powers of two and their neighbours */
	uint32_t n_imm;
	int16_t off[K2_POOL_OFF];           /* memory offsets of the window and neighbours */
	uint32_t n_off;
	uint8_t dst[K2_NREGS], src[K2_NREGS], base[K2_NREGS]; /* preferred registers */
	uint32_t n_dst, n_src, n_base;
	uint32_t k_max;
	uint32_t isa;
	/* ops of the same kind and operand form, for opcode changes (sibling groups) */
	uint8_t group_of[K2_OP__COUNT];
	uint8_t groups[32][48];
	uint8_t n_group[32];
	uint32_t n_groups;
};

/*
 * Builds the pool of a window: the ops of each class with isa <= mcpu (no calls, exits,
 * relocated ld_imm64 or legacy packet loads), the window's constants and offsets, the
 * registers it reads, writes and uses as pointers (pre: its precondition, for pointer types).
 */
void k2_pool_init(struct k2_pool *p, const struct k2_cell *orig, uint32_t n, const struct k2_win *w,
		  const struct k2_astate *pre, const struct k2_search_cfg *cfg);
/* Mutates c[0, n) by one move drawn from the pool; returns the kind made. */
enum k2_move k2_propose(const struct k2_pool *p, struct k2_rng *r, struct k2_cell *c, uint32_t n);
/* A random instruction for position i of n. */
void k2_random_cell(const struct k2_pool *p, struct k2_rng *r, struct k2_cell *c, uint32_t i,
		    uint32_t n);

/* ---- scoring ---- */

/* Stack bytes live at the window's end (bit a = frame byte a, as struct k2_stackset). */
uint32_t k2_wout_error(const struct k2_wout *ref, const struct k2_wout *cand, uint16_t live,
		       const struct k2_stackset *stack_live, uint32_t frame);

/* ---- the window search ---- */

struct k2_chain {
	struct k2_cell *cur;      /* n cells */
	double cost;
	double best_cost;         /* since the last restart */
	uint64_t since_best;      /* proposals since best_cost improved */
};

/* Candidates already judged: UNSAFE / DIFFERENT / UNKNOWN are penalised, EQUIVALENT is known. */
enum k2_seen { K2_SEEN_NONE, K2_SEEN_EQUIV, K2_SEEN_BAD, K2_SEEN_UNPROVEN };

struct k2_seen_ent {
	uint64_t hash;
	uint8_t what;
};

struct k2_wsearch {
	struct k2_vm *vm;
	const struct k2_analysis *an;
	struct k2_win win;
	struct k2_search_cfg cfg;
	const struct k2_latency *lat;
	struct k2_rng rng;
	uint32_t frame;

	/* the original */
	uint32_t n;               /* cells */
	struct k2_cell *orig;
	struct bpf_insn *orig_insns; /* as in the program */
	uint32_t orig_slots;
	double orig_perf;
	struct k2_astate *pre;    /* precondition */
	struct k2_astate *post;   /* scratch: a candidate's end state */
	struct k2_astate *orig_post; /* the original window's end state from pre */
	struct k2_stackset stack_live;

	struct k2_pool pool;

	/* tests: states and the original's outputs on them, in scoring order */
	struct k2_wstate **tests;
	struct k2_wout *refs;
	uint32_t *ord;            /* scoring order of the tests (failing ones move forward) */
	uint32_t n_tests, cap_tests, n_initial;
	uint32_t next_replace;    /* round-robin slot for counterexamples once full */
	struct k2_wstate **cex;   /* this search's counterexamples (copies) */
	uint32_t n_cex, cap_cex;
	struct k2_wstate *scratch;

	/* scoring scratch */
	struct k2_window *window;
	struct k2_wout out;
	struct bpf_insn *buf;     /* compact candidate */
	uint32_t *pos;
	struct k2_cell *prop;     /* proposal */

	/* chains */
	struct k2_chain chains[K2_PT_MAX];
	struct k2_pt pt;

	/* judged candidates (open addressing, power-of-two size) */
	struct k2_seen_ent *seen;
	uint32_t seen_cap, seen_n;

	/* results */
	struct k2_wcand *best;
	uint32_t n_best;

	/* proving */
	struct k2_smt *smt;
	bool own_smt;
	struct k2_smt_window *sw;
	struct k2_prover prover;
	bool no_prove;

	char prove_err[512];      /* the prover's last failure, for reports */

	struct k2_wsearch_stats st;
	double run_t0, run_base;  /* clock at the start of this slice; search time before it */
	uint32_t at_chain, at_step; /* where a round cut short by max_seconds goes on */
};

/* Search time so far (the slices' sum, including the one running). */
double k2_ws_elapsed(const struct k2_wsearch *s);

/* Scores the compact program in s->buf[0, n) (already decoded into s->window) up to `limit`
 * (cost beyond which scoring may stop; INFINITY for exact). */
double k2_ws_score_buf(struct k2_wsearch *s, uint32_t n, double perf, double limit,
		       struct k2_wscore *sc);
double k2_ws_perf(const struct k2_wsearch *s, const struct bpf_insn *insns, uint32_t n);
/* Judges a zero-error compact candidate in s->buf (rules, then the prover). */
int k2_ws_judge(struct k2_wsearch *s, uint32_t n, double perf, enum k2_seen *what,
		struct k2_err *e);
enum k2_seen k2_ws_seen(const struct k2_wsearch *s, uint64_t h);
int k2_ws_seen_add(struct k2_wsearch *s, uint64_t h, enum k2_seen what);
int k2_ws_add_best(struct k2_wsearch *s, const struct bpf_insn *insns, uint32_t n, double perf);
int k2_ws_add_test(struct k2_wsearch *s, const struct k2_wstate *st, bool initial);
bool k2_ws_post_leq(const struct k2_wsearch *s, const struct k2_astate *cand);
double k2_ws_now(void);

#endif
