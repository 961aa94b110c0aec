/* bpf/absint_int.h: internals of the abstract interpreter shared by the absint*.c files. */
#ifndef K2_ABSINT_INT_H
#define K2_ABSINT_INT_H

#include "bpf/k2_cfg.h"
#include "bpf/k2_helpers.h"

/* a + b, clamped to the int64 range: offsets of wild pointers must not overflow. */
static inline int64_t k2_sat_add(int64_t a, int64_t b)
{
	int64_t r;

	if (__builtin_add_overflow(a, b, &r))
		return b > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

/* ---- tnum (absint_scalar.c) ---- */
struct k2_tnum k2_tn_const(uint64_t v);
struct k2_tnum k2_tn_unknown(void);
struct k2_tnum k2_tn_range(uint64_t min, uint64_t max);
struct k2_tnum k2_tn_add(struct k2_tnum a, struct k2_tnum b);
struct k2_tnum k2_tn_sub(struct k2_tnum a, struct k2_tnum b);
struct k2_tnum k2_tn_and(struct k2_tnum a, struct k2_tnum b);
struct k2_tnum k2_tn_or(struct k2_tnum a, struct k2_tnum b);
struct k2_tnum k2_tn_xor(struct k2_tnum a, struct k2_tnum b);
struct k2_tnum k2_tn_mul(struct k2_tnum a, struct k2_tnum b);
struct k2_tnum k2_tn_lsh(struct k2_tnum a, unsigned k);
struct k2_tnum k2_tn_rsh(struct k2_tnum a, unsigned k);
struct k2_tnum k2_tn_arsh(struct k2_tnum a, unsigned k);
struct k2_tnum k2_tn_trunc(struct k2_tnum a, unsigned bits);
struct k2_tnum k2_tn_join(struct k2_tnum a, struct k2_tnum b);
/* Intersection; false if a and b disagree on a known bit. */
bool k2_tn_meet(struct k2_tnum a, struct k2_tnum b, struct k2_tnum *out);
bool k2_tn_is_const(struct k2_tnum a);
/* Whether every value of a is a value of b. */
bool k2_tn_leq(struct k2_tnum a, struct k2_tnum b);

/* ---- scalars (absint_scalar.c): operate on type, var and bounds of a k2_aval ---- */
void k2_sc_set_unknown(struct k2_aval *v);
void k2_sc_set_const(struct k2_aval *v, uint64_t c);
/* Tightens bounds and known bits against each other; false if they are contradictory. */
bool k2_sc_sync(struct k2_aval *v);
/* Keeps the low `bits` bits, zero-extended. */
void k2_sc_trunc(struct k2_aval *v, unsigned bits);
/* Sign-extends the low `bits` bits to 64. */
void k2_sc_sext(struct k2_aval *v, unsigned bits);
/*
 * dst = dst op src for a BPF ALU operation (BPF_ADD .. BPF_ARSH, BPF_END is separate) on
 * scalars, in 64 or 32 bits; sgn selects sdiv/smod. Division by zero as the ISA defines it.
 */
void k2_sc_alu(struct k2_aval *dst, const struct k2_aval *src, uint8_t aluop, unsigned width,
	       bool sgn);
/* Byte swaps and truncations of BPF_END (op is a K2_OP_LE16 .. K2_OP_BSWAP64). */
void k2_sc_end(struct k2_aval *v, enum k2_op op);
/* Joins b into a (both scalars or both pointer variable parts); a bound-widening join if widen. */
void k2_sc_join(struct k2_aval *a, const struct k2_aval *b, bool widen);
/* Whether a's values are within b's. */
bool k2_sc_leq(const struct k2_aval *a, const struct k2_aval *b);
/*
 * Refines a and b (scalars) by the outcome of `a jop b` (BPF_JEQ .. BPF_JSLE, BPF_JSET) in
 * 64 or 32 bits; negate for the branch not taken. False if that outcome is impossible.
 */
bool k2_sc_refine(struct k2_aval *a, struct k2_aval *b, uint8_t jop, bool is32, bool negate);

/* ---- context structs (absint_ctx.c) ---- */
/* k2_ctx_field and k2_ctx_size are public. */

/* ---- the interpreter (absint.c, absint_insn.c, absint_state.c) ---- */

/* What a function looks like from its callers, and the states its callers give it. */
struct ai_func {
	struct k2_astate *entry; /* join of the states at its call sites, callee view */
	struct k2_aval ret;	 /* join of r0 at its exits */
	bool has_ret;
	bool changes_pkt;     /* may move packet bounds (a helper, transitively) */
	bool writes_up;	      /* may write through a pointer into a caller's frame */
	bool touches_unknown; /* may write through an untyped pointer */
	bool called;
};

/* What an instruction does to the own frame beyond its k2_access (calls, escapes). */
struct ai_fx {
	bool escape;		 /* a pointer into the frame escapes: any byte may be read */
	struct k2_stackset read; /* bytes read */
	struct k2_stackset kill; /* bytes certainly written in full */
};

struct ai_ctx {
	const struct k2_prog *prog;
	const struct k2_cfg *cfg;
	uint32_t widen_after;
	bool fold_rodata;
	bool record;	       /* the final pass: fill accesses and violations */
	bool changed;	       /* a function summary grew in this round */
	struct k2_access *acc; /* per slot, filled when record */
	uint32_t *fx_idx;      /* per slot: 1 + index in fx, or 0; filled when record */
	struct ai_fx *fx;
	uint32_t n_fx, cap_fx;
	struct k2_violation *viol;
	uint32_t n_viol, cap_viol;
	uint32_t max_viol; /* 0: unlimited */
	struct ai_func *funcs;
	struct k2_astate *post; /* fragments: join of the states leaving at the end */
	uint32_t cur_func;
	bool widen_calls;	   /* join call-site states into entries with widening */
	struct k2_astate *scratch; /* one state of working space */
};

void k2_ai_state_init(struct k2_astate *st, const struct k2_prog *prog, bool callee);
/* Joins b into a; returns whether a changed. Widens loop heads' bounds if widen. */
bool k2_ai_state_join(struct k2_astate *a, const struct k2_astate *b, bool widen);
void k2_ai_join_val(struct k2_aval *a, const struct k2_aval *b, bool widen);
bool k2_ai_val_eq(const struct k2_aval *a, const struct k2_aval *b);
void k2_ai_set_not_init(struct k2_aval *v);
/* Gives every value holding id `id` (registers and spills) id 0: the id is about to be reused. */
void k2_ai_scrub_id(struct k2_astate *st, uint32_t id);

/*
 * Executes one instruction on st (which must be reachable). For a conditional jump, st is
 * the fall-through state and *taken receives the state of the branch; either may become
 * unreachable. Records the access and violations when ctx->record.
 */
void k2_ai_step(struct ai_ctx *ctx, struct k2_astate *st, uint32_t pc, struct k2_astate *taken);
const char *k2_ai_type_name(uint8_t t);
/* The helper with this id: the shared table, then what the verifier-side supplement adds. */
const struct k2_helper *k2_ai_helper(uint32_t id);
/* Helper, bpf-to-bpf and kfunc calls (absint_call.c). */
void k2_ai_call(struct ai_ctx *ctx, struct k2_astate *st, uint32_t pc);
/* Frame effects recorded for instruction i (calls, escaping stores), or NULL. */
const struct ai_fx *k2_absint_fx(const struct k2_absint *ai, uint32_t i);

/* Packet pointers (registers and spills) become unknown scalars: the packet moved. */
void k2_ai_invalidate_pkt(struct k2_astate *st);
/* Makes function f a callee entered with unknown arguments (its address was taken). */
void k2_ai_enter_callback(struct ai_ctx *ctx, uint32_t f);
/* The frame effects of instruction pc, created on first use when recording; NULL otherwise. */
struct ai_fx *k2_ai_fx(struct ai_ctx *ctx, uint32_t pc);
void k2_ai_violation(struct ai_ctx *ctx, uint32_t pc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Memory (absint_mem.c). */
struct ai_map_sizes {
	uint32_t max_key, max_value, min_value;
	bool readonly;
};
/* Key and value sizes over the maps a map pointer or map value pointer may refer to. */
bool k2_ai_map_sizes(const struct ai_ctx *ctx, const struct k2_aval *v, struct ai_map_sizes *ms);
bool k2_ai_is_ptr(const struct k2_aval *v);
/* A pointer of `type` to its region's base (off 0, no variable part, no range). */
void k2_ai_set_ptr(struct k2_aval *v, uint8_t type);
/* An unknown scalar as a load of `size` bytes gives it (zero- or sign-extended). */
void k2_ai_sized_unknown(struct k2_aval *v, unsigned size, bool sext);
/* Fills acc with the region and offsets of an access through p. */
void k2_ai_describe(const struct k2_aval *p, int16_t insn_off, uint8_t size, bool write,
		    struct k2_access *acc);
/* Applies the verifier's rule of acc's region, sets K2_ACC_SAFE or reports; for ctx, what
 * the field holds. */
bool k2_ai_check_access(struct ai_ctx *ctx, uint32_t pc, const struct k2_aval *p, uint8_t reg,
			struct k2_access *a, enum k2_vtype *field_type);
void k2_ai_stack_read(struct ai_ctx *ctx, uint32_t pc, const struct k2_astate *st, int addr,
		      unsigned size, bool sext, struct k2_aval *out, bool *uninit);
void k2_ai_stack_write(struct ai_ctx *ctx, uint32_t pc, struct k2_astate *st, int addr,
		       unsigned size, const struct k2_aval *val);
/* Stack bytes [lo, hi) become unknown data (spills there are lost). */
void k2_ai_stack_clobber(struct k2_astate *st, int lo, int hi);
/* A constant load from a frozen read-only map (the verifier folds these). */
bool k2_ai_rodata_load(const struct ai_ctx *ctx, const struct k2_access *a, bool sext,
		       struct k2_aval *out);

/* Branch refinement (absint_branch.c): splits st into the fall-through and taken states. */
void k2_ai_branch(struct ai_ctx *ctx, struct k2_astate *st, uint32_t pc, struct k2_astate *taken);

#endif
