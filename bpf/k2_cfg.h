/* bpf/k2_cfg.h: program analysis: CFG, liveness, verifier-like types, windows, splicing. */
#ifndef K2_CFG_H
#define K2_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf/k2_err.h"
#include "bpf/k2_insn.h"
#include "bpf/k2_obj.h"

/*
 * Overview. A linked program (struct k2_prog: main function, then its subprograms) is
 * analysed in four layers, each usable alone:
 *
 *   k2_cfg_build       basic blocks, edges, functions, reachability          (cfg.c)
 *   k2_absint_run      the verifier's register/stack types, per memory access the region
 *                      it touches, and the verifier's safety rules          (absint*.c)
 *   k2_live_compute    live registers and live stack bytes per instruction  (live.c)
 *   k2_wins_select     windows for the search: live sets, pre/postconditions (window.c)
 *
 * k2_analysis_new() runs the first three; k2_splice() puts rewritten windows back.
 * Who uses what: smt/ encodes memory per k2_access (region, map, constant offset) and a
 * window against k2_win_precond(); search/ keeps k2_win.live_out and k2_win_stack_out()
 * equal and filters candidates with k2_absint_fragment() and k2_win_post_check(); mpi/
 * partitions with k2_wins_select() (k2_win.difficulty for balancing) or checks --windows
 * with k2_wins_parse(); the writer takes k2_splice()'s program and old_to_new map.
 * Instruction indices are slot indices: an ld_imm64 occupies two, and only its first slot
 * is ever a block start, a jump target, a window boundary or an access.
 * `k2 analyze FILE.o -v` prints all of it for a program.
 */

/* ---- control-flow graph -------------------------------------------------------------------- */

#define K2_CFG_NONE UINT32_MAX     /* no block / no function */
#define K2_CFG_END (UINT32_MAX - 1) /* successor of a fragment's last block: leaves at its end */

struct k2_bb {
	uint32_t start, end;  /* insns[start, end) */
	uint32_t func;        /* index in k2_cfg.funcs */
	uint32_t succ[2];     /* [0] fall-through (or the only target), [1] branch taken */
	uint8_t n_succ;       /* 0 after exit; a conditional jump always has 2 (maybe equal) */
	bool reachable;       /* reached from the entry of main (through calls) */
	bool loop_head;       /* target of a back edge of a depth-first walk */
	uint32_t pred_off;    /* predecessors are k2_cfg.preds[pred_off, pred_off + n_pred) */
	uint32_t n_pred;
	uint32_t rpo;         /* position in its function's reverse post order (reachable only) */
};

struct k2_func {
	uint32_t start, end;     /* insns[start, end) */
	uint32_t first_bb, n_bb; /* its blocks, in address order */
	bool reachable;          /* main, or called (transitively) from main */
	bool callback;           /* address taken by ld_imm64 BPF_PSEUDO_FUNC (bpf_loop, timers) */
	bool has_loop;           /* contains a back edge */
};

struct k2_cfg {
	const struct bpf_insn *insns; /* borrowed */
	uint32_t n_insns;
	bool fragment;                /* built with k2_cfg_opts.fragment */
	struct k2_bb *bbs;
	uint32_t n_bbs;
	uint32_t *preds;              /* block indices, see k2_bb.pred_off */
	uint32_t *bb_of;              /* block of every slot (both slots of an ld_imm64) */
	uint32_t *callee;             /* per slot: function called (pseudo call) or whose address
				       * is loaded (BPF_PSEUDO_FUNC), else K2_CFG_NONE */
	struct k2_func *funcs;        /* funcs[0] is main; the others in address order */
	uint32_t n_funcs;
	uint32_t n_unreachable;       /* instructions (first slots) in unreachable blocks */
};

struct k2_cfg_opts {
	size_t sz;            /* sizeof(struct k2_cfg_opts) */
	enum k2_isa max_isa;  /* passed to k2_insns_check; 0: v4 */
	/*
	 * A fragment (a window or its replacement): control may fall off the end and jumps may
	 * target n (the end); both lead to K2_CFG_END. Calls to functions are not allowed.
	 */
	bool fragment;
};

/*
 * Builds the CFG of insns[0, n) (borrowed; must outlive the CFG). The input is first
 * checked with k2_insns_check; in addition, functions (main and the targets of pseudo calls
 * and BPF_PSEUDO_FUNC loads) must end in exit or ja and no jump may leave its function.
 * Errors read "insn N: reason".
 */
int k2_cfg_build(const struct bpf_insn *insns, uint32_t n, const struct k2_cfg_opts *opts,
		 struct k2_cfg **out, struct k2_err *e);
void k2_cfg_free(struct k2_cfg *cfg);
/* Function containing slot i. */
uint32_t k2_cfg_func_of(const struct k2_cfg *cfg, uint32_t i);
/* Whether slot i is in a reachable block. */
bool k2_cfg_insn_reachable(const struct k2_cfg *cfg, uint32_t i);
/* Blocks of one function in reverse post order (reachable blocks only); *n gets the count.
 * The array is owned by the CFG. */
const uint32_t *k2_cfg_rpo(const struct k2_cfg *cfg, uint32_t func, uint32_t *n);

/* ---- abstract values: the verifier's register types ------------------------------------- */

enum k2_vtype {
	K2_VT_NOT_INIT = 0,
	K2_VT_SCALAR,
	K2_VT_PTR_CTX,
	K2_VT_PTR_STACK,
	K2_VT_PTR_PKT,
	K2_VT_PTR_PKT_END,
	K2_VT_PTR_PKT_META,
	K2_VT_PTR_MAP,               /* CONST_PTR_TO_MAP: the map itself (ld_imm64 MAP_IDX) */
	K2_VT_PTR_MAP_VALUE,
	K2_VT_PTR_MAP_VALUE_OR_NULL, /* map_lookup_elem result before its null check */
	K2_VT_PTR_MEM,               /* memory a helper handed out (ringbuf record): range bytes */
	K2_VT_PTR_BTF,               /* a kernel value from a tracing ctx or kernel memory: a
				      * scalar or a BTF-typed kernel pointer (types unknown here) */
	K2_VT_UNKNOWN,               /* initialised, but not typed: may be a pointer (from an
				      * unknown helper, a kfunc, a join of pointer and scalar) */
	K2_VT__COUNT
};

/* Known bits: bit i is unknown if mask bit i is set, else equal to value bit i. */
struct k2_tnum {
	uint64_t value;
	uint64_t mask;
};

/*
 * One register (or spilled stack slot). Scalars: `var` and the bounds describe the value.
 * Pointers are base + off + var: `off` is the fixed part, `var`/bounds the variable part
 * (a constant 0 for most pointers). The base is the start of the region: the stack frame's
 * top (r10), packet data, data_meta, the ctx, the map value, as k2_access describes.
 */
struct k2_aval {
	uint8_t type;          /* enum k2_vtype */
	uint8_t frame;         /* PTR_STACK: 0 = own frame, k = the frame k calls up */
	bool maybe_uninit;     /* NOT_INIT on some path into this point (the verifier, which walks
				* paths one by one, only accepts reads on the others) */
	bool maybe_null;       /* pointers but MAP_VALUE_OR_NULL: may also be NULL (0 joined in
				* on another path, ringbuf_reserve); a null check refines it */
	int32_t map;           /* PTR_MAP, PTR_MAP_VALUE(_OR_NULL): map index, else -1 (also when it
				* may be one of several maps: see maps) */
	uint64_t maps;         /* the same types: bit i set if it may point to map i (< 64) */
	uint32_t id;           /* nonzero: equal for values known equal (scalars), for packet
				* pointers with the same variable part, for the results of one
				* lookup (OR_NULL); 0: no relation */
	int32_t off;           /* pointers: fixed offset from the region base */
	uint32_t range;        /* PTR_PKT: [base+var, base+var+range) lies inside [data, data_end);
				* PTR_PKT_META: the same inside [data_meta, data);
				* PTR_MEM: the size of the memory */
	struct k2_tnum var;    /* scalar value / pointer's variable offset */
	uint64_t umin, umax;   /* bounds of var, 64-bit */
	int64_t smin, smax;
	uint32_t u32min, u32max; /* bounds of the low 32 bits of var */
	int32_t s32min, s32max;
};

#define K2_STACK_BYTES 512
#define K2_STACK_SLOTS (K2_STACK_BYTES / 8)

/* What a stack byte holds, as the verifier's slot_type. */
enum k2_sbyte { K2_SB_INVALID = 0, K2_SB_MISC, K2_SB_ZERO, K2_SB_SPILL };

/*
 * An 8-byte stack slot: slot i covers r10 - 512 + 8i .. r10 - 512 + 8i + 7 (slot 63 is
 * r10-8..r10-1). The bytes marked K2_SB_SPILL are a spilled register `spill` (all 8 for a
 * pointer; 1, 2, 4 or 8 for a scalar, starting at the first SPILL byte).
 */
struct k2_slot {
	uint8_t bytes[8];      /* enum k2_sbyte */
	struct k2_aval spill;
};

/* The abstract state before an instruction: registers and the function's own frame. */
struct k2_astate {
	bool reachable;        /* false: no path reaches this point (bottom) */
	uint32_t pkt_min;      /* data + pkt_min <= data_end is known (packet checks so far,
				* whether or not a register still holds the pointer checked) */
	struct k2_aval regs[K2_NREGS];
	struct k2_slot stack[K2_STACK_SLOTS];
};

/* Stack byte address (0..511) of r10 + off, off in [-512, -1]. */
static inline int k2_stack_addr(int64_t off)
{
	return (int)(off + K2_STACK_BYTES);
}

/* Writes a verifier-style description ("pkt(off=14,r=34)", "scalar(umin=0,umax=255,...)",
 * "fp-8", "map_value(off=0,map=1)"); returns what snprintf returns. */
int k2_aval_str(const struct k2_aval *v, char *buf, size_t len);
/* Whether every concrete value a describes is described by b too (a at least as precise). */
bool k2_aval_leq(const struct k2_aval *a, const struct k2_aval *b);
/* A constant scalar; an unknown 64-bit scalar. */
void k2_aval_const(struct k2_aval *v, uint64_t c);
void k2_aval_unknown(struct k2_aval *v);
/* Makes v (a map pointer type) refer to map `idx`. */
void k2_aval_set_map(struct k2_aval *v, int32_t idx);
/* Whether v is a scalar with one possible value (stored in *c). */
bool k2_aval_is_const(const struct k2_aval *v, uint64_t *c);

/* ---- memory accesses --------------------------------------------------------------------- */

enum k2_mem {
	K2_MEM_NONE = 0,   /* not a memory access */
	K2_MEM_UNKNOWN,    /* the analysis could not type the pointer (see k2_access.why) */
	K2_MEM_STACK,      /* offset from r10 of frame `frame` (negative) */
	K2_MEM_PKT,        /* offset from data */
	K2_MEM_PKT_META,   /* offset from data_meta */
	K2_MEM_CTX,        /* offset into the program type's context struct */
	K2_MEM_MAP_VALUE,  /* offset into a value of map `map` */
	K2_MEM_ALLOC,      /* offset into a ringbuf record of map `map` (reserved by the program) */
	K2_MEM_KERNEL,     /* kernel memory through a BTF pointer (tracing): offset from it */
	K2_MEM__COUNT
};

#define K2_ACC_READ    (1u << 0)
#define K2_ACC_WRITE   (1u << 1)
#define K2_ACC_CONST   (1u << 2) /* the offset is a compile-time constant (k2_access.off) */
#define K2_ACC_LEGACY  (1u << 3) /* ld_abs/ld_ind: packet load through the skb, bounds checked */
#define K2_ACC_SAFE    (1u << 4) /* the verifier's rule for the region holds (rules below) */
#define K2_ACC_UNINIT  (1u << 5) /* may read stack bytes never written */

/*
 * One instruction's memory access as the analysis saw it (joined over all paths). The
 * address is the region base + off .. off + size - 1; for a variable offset, off_min and
 * off_max bound the first byte (for PKT relative to data; pkt_range then says how many bytes
 * past base+var are known inside the packet, base+var being the pointer without its fixed
 * part). ctx_field names a ctx field (a static string) for CTX accesses.
 */
struct k2_access {
	uint8_t region;      /* enum k2_mem */
	uint8_t size;        /* bytes */
	uint8_t frame;       /* STACK: 0 = own frame */
	uint8_t flags;       /* K2_ACC_* */
	int32_t map;         /* MAP_VALUE: map index, or -1 if one of several (see maps) */
	uint64_t maps;       /* MAP_VALUE: bit i set if it may be a value of map i (< 64) */
	int64_t off;         /* first byte, when K2_ACC_CONST */
	int64_t off_min, off_max;
	int32_t fixed_off;   /* pointer's fixed offset + insn off (for PKT with pkt_range) */
	uint32_t pkt_range;
	const char *ctx_field;
	const char *why;     /* UNKNOWN region or not SAFE: the reason, as a static string */
};

/*
 * The safety rules K2_ACC_SAFE and the violations below check, as the kernel verifier
 * applies them to a privileged (root) loader:
 *  - stack: every byte in [r10-512, r10) of its frame, for every offset the pointer may
 *    have (variable offsets are allowed to root);
 *  - packet: fixed_off >= 0 and fixed_off + size <= pkt_range, the range coming from
 *    dominating comparisons against data_end (data for data_meta) on every path, and the
 *    variable part bounded by 0xffff; ld_abs/ld_ind are checked at run time;
 *  - ctx: the ctx pointer unmodified (off 0, no variable part); offset and size naming a
 *    field (or a narrower part of a scalar field) the program type may read, or write;
 *  - map value: after a null check, 0 <= first byte and last byte < value_size; no writes
 *    into a read-only (.rodata) map; ringbuf records the same against their reserved size;
 *  - no access through a pointer that may be NULL;
 *  - kernel memory (tracing programs): only reads; their bounds come from BTF, which this
 *    analysis does not read, so such accesses are typed but never marked SAFE;
 *  - no pointer leaks: pointers are not stored into packet, ctx or map values, and r0 is a
 *    scalar at the main function's exit;
 *  - no arithmetic on pkt_end, map pointers or map_value_or_null, no 32-bit or bitwise
 *    arithmetic on pointers, no read of a register that is NOT_INIT on every path;
 *  - helper arguments: ctx where the helper wants ctx, a map where it wants a map, keys and
 *    values pointing to enough readable bytes (stack, map value or packet).
 */
struct k2_violation {
	uint32_t insn;
	char msg[120];       /* "insn 12: invalid access to packet, off=14 size=2, R2 range=0" */
};

/* ---- abstract interpretation ------------------------------------------------------------ */

struct k2_absint_opts {
	size_t sz;             /* sizeof(struct k2_absint_opts) */
	uint32_t widen_after;  /* visits of a loop head before its bounds are widened; 0: 3 */
	uint32_t max_rounds;   /* whole-program rounds (calls) before giving up; 0: 64 */
	/*
	 * Fold loads from read-only maps (.rodata) to the object's initial bytes, as the
	 * verifier folds frozen maps. Off by default: loaders (libxdp, skeletons) commonly
	 * rewrite .rodata before loading, so the object's bytes are only a template.
	 */
	bool fold_rodata;
};

struct k2_absint;

/*
 * Runs the analysis over the whole program from the entry state of its program type
 * (r1 = ctx, r10 = fp, others NOT_INIT), iterating loops to a fixpoint with widening and
 * analysing each function once for all its call sites (the join of their arguments).
 * Map indices in ld_imm64 refer to prog->maps. Never fails on a program the CFG accepts,
 * except for lack of memory; what it cannot type becomes K2_VT_UNKNOWN / K2_MEM_UNKNOWN.
 */
int k2_absint_run(const struct k2_prog *prog, const struct k2_cfg *cfg,
		  const struct k2_absint_opts *opts, struct k2_absint **out, struct k2_err *e);
void k2_absint_free(struct k2_absint *ai);
/* The access of instruction i (region K2_MEM_NONE if it does not access memory). */
const struct k2_access *k2_absint_access(const struct k2_absint *ai, uint32_t i);
/* Whether the analysis found a path to instruction i (a branch it proved never taken can
 * leave reachable-looking code dead; such code has no access information). */
bool k2_absint_reached(const struct k2_absint *ai, uint32_t i);
/* The state before instruction i (joined over all paths); reachable false if none. */
int k2_absint_state_at(const struct k2_absint *ai, uint32_t i, struct k2_astate *out);
/* Violations of the safety rules found in reachable code, in instruction order. */
const struct k2_violation *k2_absint_violations(const struct k2_absint *ai, uint32_t *n);

/*
 * Analyses a fragment (a window, or a candidate replacing one) from state `pre`, in the
 * context of `prog` (program type, maps). accesses[i] receives the access of fragment
 * instruction i (n entries; may be NULL); *post the state at the fragment's end (the join
 * of every way out); violations are copied to viol[0, max_viol) and their count returned
 * in *n_viol. Calls to functions are not allowed in a fragment. This is how smt/ types the
 * memory accesses of a candidate and search/ rejects candidates that break the rules; from
 * a window's precondition, a candidate that reads a register that is not live-in gets
 * "R%d !read_ok" (its value is not part of the precondition).
 */
int k2_absint_fragment(const struct k2_prog *prog, const struct k2_astate *pre,
		       const struct bpf_insn *insns, uint32_t n, struct k2_access *accesses,
		       struct k2_astate *post, struct k2_violation *viol, uint32_t max_viol,
		       uint32_t *n_viol, struct k2_err *e);

/*
 * The context of a program type: whether `size` bytes at `off` may be read (write false)
 * or written, and what a read gives (SCALAR, PTR_PKT, PTR_PKT_END, PTR_PKT_META, UNKNOWN
 * for kernel pointers such as __sk_buff.sk). Returns the field name, or NULL if the access
 * is invalid for the type.
 */
const char *k2_ctx_field(uint32_t prog_type, int64_t off, uint32_t size, bool write,
			 enum k2_vtype *type);
/* sizeof the context struct of a program type (0 if unknown). */
uint32_t k2_ctx_size(uint32_t prog_type);

/* ---- liveness ------------------------------------------------------------------------------- */

/* Stack bytes of the own frame: bit a (word a / 64) = byte r10 - 512 + a. */
struct k2_stackset {
	uint64_t w[K2_STACK_BYTES / 64];
};

struct k2_live;

/*
 * Backward liveness of registers and of the own frame's stack bytes, per instruction.
 * Helper calls read r1..r(nargs) from the helper table (r1-r5 if unknown), define r0 and
 * clobber r1-r5; exit reads r0; a bpf-to-bpf call reads the argument registers its callee
 * reads and keeps r6-r9. Stack bytes are tracked through accesses at constant offsets from
 * the frame pointer as `ai` typed them: a write of the whole byte kills it, helpers read
 * what their key/value/mem arguments point to; whenever a pointer to the frame escapes or
 * an access cannot be typed (or ai is NULL) every byte counts as live.
 */
int k2_live_compute(const struct k2_cfg *cfg, const struct k2_absint *ai, struct k2_live **out,
		    struct k2_err *e);
void k2_live_free(struct k2_live *lv);
/* Registers live before / after instruction i (bit r = register r). */
uint16_t k2_live_regs_in(const struct k2_live *lv, uint32_t i);
uint16_t k2_live_regs_out(const struct k2_live *lv, uint32_t i);
/* Stack bytes live before instruction i (i may be n: nothing is live there). */
void k2_live_stack_in(const struct k2_live *lv, uint32_t i, struct k2_stackset *out);
/* Argument registers (mask within r1-r5) a function reads. */
uint16_t k2_live_func_args(const struct k2_live *lv, uint32_t func);

/* ---- the whole analysis ---------------------------------------------------------------------- */

struct k2_analysis {
	const struct k2_prog *prog; /* borrowed */
	struct k2_cfg *cfg;
	struct k2_absint *ai;
	struct k2_live *live;
};

struct k2_analysis_opts {
	size_t sz;             /* sizeof(struct k2_analysis_opts) */
	enum k2_isa max_isa;
	const struct k2_absint_opts *absint;
};

/* CFG, types and liveness of prog; errors are prefixed with the program's section. */
int k2_analysis_new(const struct k2_prog *prog, const struct k2_analysis_opts *opts,
		    struct k2_analysis **out, struct k2_err *e);
void k2_analysis_free(struct k2_analysis *an);

/* Per-program counts, for reports. */
struct k2_analysis_stats {
	uint32_t n_insns, n_unreachable, n_funcs;
	uint32_t n_access, n_typed, n_const, n_safe; /* memory accesses the analysis reached */
	uint32_t n_dead_access;  /* in CFG-reachable code the analysis proved dead */
	uint32_t n_region[K2_MEM__COUNT];
	uint32_t n_violations;
};
void k2_analysis_stats(const struct k2_analysis *an, struct k2_analysis_stats *st);

/* ---- windows -------------------------------------------------------------------------------- */

/*
 * A window is insns[start, end) inside one function, reachable, entered only at start
 * (no jump from outside lands in (start, end)), left only at end (every jump inside goes
 * forward to (pc, end]), with no call, exit, relocated ld_imm64 (map or function) and no
 * split ld_imm64. Its live sets come from the original program, so rewrites of several
 * windows, each proven equivalent under its own precondition and live-out set, compose.
 */
struct k2_win {
	uint32_t start, end;
	uint32_t func;
	uint32_t n_insns;        /* instructions (an ld_imm64 counts once) */
	uint16_t live_in;        /* registers live at start */
	uint16_t live_out;       /* registers live at end */
	uint16_t defs;           /* registers written inside */
	uint16_t n_live_out;     /* live-out registers that the window writes */
	uint32_t n_stack_out;    /* live stack bytes at end that the window may write */
	uint32_t n_mem;          /* memory accesses inside */
	uint32_t n_branches;
	double difficulty;       /* relative search effort, for balancing (about 1 per insn) */
};

struct k2_win_opts {
	size_t sz;               /* sizeof(struct k2_win_opts) */
	uint32_t max_len;        /* slots per window; 0: 16 */
	uint32_t min_len;        /* 0: 1 */
	bool main_only;          /* only the main function (the writer replaces main only) */
};

/*
 * Partitions the program into non-overlapping windows covering as many instructions as
 * possible (then using as few windows as possible), in address order. *out is malloc'd.
 */
int k2_wins_select(const struct k2_analysis *an, const struct k2_win_opts *opts,
		      struct k2_win **out, uint32_t *n, struct k2_err *e);
/* Checks one range; the error names the rule it breaks ("window 10:20: insn 15 is a call"). */
int k2_win_check(const struct k2_analysis *an, uint32_t start, uint32_t end, struct k2_err *e);
/* Fills w for a valid range (live sets, counts, difficulty). */
int k2_win_describe(const struct k2_analysis *an, uint32_t start, uint32_t end,
		       struct k2_win *w, struct k2_err *e);
/*
 * Parses "S:E,S:E,..." (user-given windows, e.g. --windows), checks each range and that
 * they do not overlap, and describes them; *out is malloc'd.
 */
int k2_wins_parse(const struct k2_analysis *an, const char *spec, struct k2_win **out,
		     uint32_t *n, struct k2_err *e);
/*
 * The window's precondition: the state at start, restricted to live_in registers (others
 * NOT_INIT) and to the stack bytes live at start (others INVALID).
 */
int k2_win_precond(const struct k2_analysis *an, const struct k2_win *w,
		      struct k2_astate *pre);
/* The state at end restricted the same way to live_out: what a replacement must preserve. */
int k2_win_postcond(const struct k2_analysis *an, const struct k2_win *w,
		       struct k2_astate *post);
/*
 * Whether a replacement's end state (k2_absint_fragment's post, run from the precondition)
 * keeps what the rest of the program was verified with: every live-out register and live
 * stack byte at least as precise as in k2_win_postcond (same pointer type, region, offset,
 * packet range; scalar bounds within; spills where spills were). Otherwise -EACCES and
 * "window S:E: r3 is pkt(off=14,r=14) in the program but scalar(...) after the replacement".
 */
int k2_win_post_check(const struct k2_analysis *an, const struct k2_win *w,
		      const struct k2_astate *cand_post, struct k2_err *e);
/* Live stack bytes at the window's end. */
void k2_win_stack_out(const struct k2_analysis *an, const struct k2_win *w,
			 struct k2_stackset *out);

/* ---- splicing rewrites back --------------------------------------------------------------- */

/*
 * Replaces insns[start, end) by repl[0, n). Jumps inside the replacement are relative to it
 * and may target n (= the old end); no calls to functions and no BPF_PSEUDO_FUNC loads.
 * An empty replacement deletes the range.
 */
struct k2_edit {
	uint32_t start, end;
	const struct bpf_insn *repl;
	uint32_t n;
};

struct k2_splice_opts {
	size_t sz;               /* sizeof(struct k2_splice_opts) */
	uint32_t n_main;         /* length of the main function; 0: the whole program */
	bool drop_unreachable;   /* also delete code no path reaches (the kernel rejects it) */
};

/*
 * Applies non-overlapping edits (any order, indices of the original) and compacts: every
 * `ja +0` (JA off 0, JA32 imm 0) is removed, in replacements and elsewhere, and every jump,
 * JA32, pseudo call and BPF_PSEUDO_FUNC load is re-targeted, including those skipping over
 * shrunk windows. *out (malloc'd) receives the program, *n_out its length, *n_main_out (may
 * be NULL) the new main length; old_to_new (n entries, may be NULL) maps each old slot to
 * its new index or -1 if deleted (inside an edit, the k-th old slot maps to the k-th
 * replacement slot if that was kept and starts an instruction: an identity edit maps
 * identically). Fails with -ERANGE if a jump no longer fits its offset field, -EINVAL for a
 * malformed edit, naming it.
 */
int k2_splice(const struct bpf_insn *insns, uint32_t n, const struct k2_edit *edits,
	      uint32_t n_edits, const struct k2_splice_opts *opts, struct bpf_insn **out,
	      uint32_t *n_out, uint32_t *n_main_out, int32_t *old_to_new, struct k2_err *e);
/* k2_splice without edits: removes `ja +0` filler (and unreachable code if asked). */
int k2_compact(const struct bpf_insn *insns, uint32_t n, const struct k2_splice_opts *opts,
	       struct bpf_insn **out, uint32_t *n_out, uint32_t *n_main_out, int32_t *old_to_new,
	       struct k2_err *e);
/* Composes index maps: out[i] = b[a[i]] (or -1), for i < n_a; out may alias a. */
void k2_index_map_compose(const int32_t *a, uint32_t n_a, const int32_t *b, uint32_t n_b,
			  int32_t *out);

/* `k2 analyze FILE.o...`: prints the analysis of every program (cli/k2.c). */
int k2_cmd_analyze(int argc, char **argv);

#endif
