/* bpf/gen_int.h: the program generator's abstract state, shared by the gen_*.c files. */
#ifndef K2_GEN_INT_H
#define K2_GEN_INT_H

#include "bpf/k2_gen.h"

/* What the verifier will believe a register holds (the generator's own, simpler view). */
enum gtype {
	G_NONE = 0, /* unreadable: never written, clobbered, or differs between merged paths */
	G_SCALAR,
	G_CTX,
	G_STACK,    /* r10 + off */
	G_PKT,      /* data + 0; off holds the range: bytes [0, off) are checked against data_end */
	G_PKT_END,
	G_MAPVAL,   /* map value of map `map`, + off */
	G_PSTACK,   /* in a subprogram: the caller's stack, PSTACK_LEN initialised bytes */
};

#define PSTACK_LEN 16

struct greg {
	uint8_t t;
	uint8_t map;
	int16_t off;
};

struct gstate {
	struct greg r[K2_NREGS];
	uint8_t init[K2_STACK_SIZE]; /* byte r10 - 512 + i holds a scalar on every path */
	uint16_t fixed;   /* registers nothing may write: the ctx copy, loop counters */
	uint16_t loop_ro; /* inside a loop body: registers that were not scalars at its head */
	uint8_t depth;    /* block nesting */
	bool in_loop;
	bool in_func;     /* a subprogram: no ctx in r6, no helpers, no further calls */
	int16_t stack_min; /* lowest stack offset this frame may use (frames share 512 bytes) */
};

struct gmap {
	uint32_t idx; /* index in the program's maps */
	uint32_t type, ksz, vsz, max;
	bool ro;      /* frozen .rodata: the program may only read */
	bool direct;  /* a one-element array: ld_imm64 MAP_IDX_VALUE reaches its value */
};

struct gen {
	struct k2_rng *rng;
	struct k2_gen_opts o;
	struct k2_gen_prog *gp;
	struct bpf_insn *insns;
	uint32_t n, cap;
	int err;
	uint32_t loops;
	int out_map;               /* index of the out map, or -1 */
	struct gmap maps[K2_GEN_MAX_MAPS];
	uint32_t n_maps;
	uint32_t weights[K2_GEN__COUNT];
	uint32_t weight_sum;
	uint32_t n_funcs; /* subprograms this program has (0 .. K2_GEN_MAX_FUNCS) */
	uint8_t func_args[K2_GEN_MAX_FUNCS];
	uint8_t func_ptr_arg[K2_GEN_MAX_FUNCS]; /* argument register holding a caller stack
						 * pointer (G_PSTACK), or 0 */
	uint32_t calls[64];                /* call instructions to point at their subprogram */
	uint8_t call_func[64];
	uint32_t n_calls;
};

#define CTX_REG 6 /* ctx is kept in r6 (LD_ABS/LD_IND need it there) */

/* gen_prog.c */
void gen_emit(struct gen *g, struct bpf_insn in);
void gen_op(struct gen *g, enum k2_op op, int dst, int src, int16_t off, int64_t imm);
uint64_t gen_below(struct gen *g, uint64_t n);
bool gen_chance(struct gen *g, uint32_t percent);
void gen_block(struct gen *g, struct gstate *st, uint32_t budget);
void gen_merge(struct gstate *a, const struct gstate *b);
bool gen_isa_ok(const struct gen *g, enum k2_op op);

/* gen_ops.c: registers, immediates, ALU, moves, stack, context, atomics */
int gen_pick(struct gen *g, const struct gstate *st, enum gtype t);
int gen_pick_writable(struct gen *g, const struct gstate *st);
int gen_scalar(struct gen *g, struct gstate *st);
bool gen_writable(const struct gstate *st, int r);
void gen_set(struct gstate *st, int r, enum gtype t);
int64_t gen_imm32(struct gen *g);
int64_t gen_imm64(struct gen *g);
void gen_stack_init(struct gen *g, struct gstate *st, int off, int len);
bool gen_stack_is_init(const struct gstate *st, int off, int len);
void gen_clobber_call(struct gstate *st);
bool gen_alu(struct gen *g, struct gstate *st, bool is64);
bool gen_mov(struct gen *g, struct gstate *st);
bool gen_end(struct gen *g, struct gstate *st);
bool gen_stack(struct gen *g, struct gstate *st);
bool gen_ctx(struct gen *g, struct gstate *st);
bool gen_atomic(struct gen *g, struct gstate *st);
bool gen_mem_access(struct gen *g, struct gstate *st, int base, int lo, int hi, bool may_store,
		    bool strict_align);

/* gen_mem.c: packets, maps, helpers */
bool gen_pkt(struct gen *g, struct gstate *st);
bool gen_map(struct gen *g, struct gstate *st);
bool gen_call(struct gen *g, struct gstate *st);
int gen_ctx_off(uint32_t prog_type, bool end);

#endif
