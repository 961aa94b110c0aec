/* smt/smt_int.h: the encoder's insides: terms, symbolic values, memory chains, the engine. */
#ifndef K2_SMT_INT_H
#define K2_SMT_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <z3.h>

#include "bpf/k2bpf.h"
#include "smt/interp_peek.h"
#include "smt/k2smt.h"

/*
 * Terms live in a reference-counted z3 context. Every term the encoder makes is kept (one
 * reference) in the current arena; an arena is released in one go when what it encoded is
 * no longer needed (a candidate after its check, a window when it is freed). The session's
 * long-lived terms (sorts, true/false) are in s->sess.
 */
struct k2_arena {
	Z3_ast *v;
	uint32_t n, cap;
};

#define K2S_MAXW 4200 /* widest bit-vector sort (map keys up to 512 bytes, csum buffers) */

struct k2_qcache;

struct k2_smt {
	Z3_context c;
	struct k2_smt_opts o;
	uint32_t unroll;       /* loop iterations per frame before the encoding gives up */
	Z3_sort boolsort;
	Z3_sort *bvsort;       /* [K2S_MAXW + 1], made on first use */
	Z3_ast tru, fls;
	struct k2_arena *ar;   /* where new terms are kept */
	struct k2_arena sess;
	Z3_solver sbv;         /* QF_BV, for queries without arrays */
	Z3_solver sgen;        /* unused (every query is QF_BV); NULL */
	bool oom;              /* an allocation failed: the current query fails */
	struct k2_qcache *cache;
	struct k2_smt_stats st;
	struct k2_mapstate *cex_maps; /* map contents of the last whole-program counterexample */
	char reason[512];      /* why the last query ended as it did */
	uint64_t window_serial;
	double deadline;       /* k2s_now_ms() by which every check must end; 0: none */
};

/* ---- terms (term.c) ---------------------------------------------------------------------- */

void k2s_arena_release(struct k2_smt *s, struct k2_arena *a, uint32_t to);
Z3_ast k2s_keep(struct k2_smt *s, Z3_ast a);
Z3_sort k2s_sort(struct k2_smt *s, unsigned w); /* 0: Bool */
Z3_ast t_num(struct k2_smt *s, unsigned w, uint64_t v);
Z3_ast t_fresh(struct k2_smt *s, const char *name, unsigned w); /* w 0: Bool */
bool t_isnum(struct k2_smt *s, Z3_ast a, uint64_t *v);            /* numerals of <= 64 bits */
int t_bool(struct k2_smt *s, Z3_ast a);                           /* 1 true, 0 false, -1 other */
unsigned t_w(struct k2_smt *s, Z3_ast a);                         /* 0 for Bool */
Z3_ast t_add(struct k2_smt *s, Z3_ast a, Z3_ast b);
Z3_ast t_sub(struct k2_smt *s, Z3_ast a, Z3_ast b);
Z3_ast t_mul(struct k2_smt *s, Z3_ast a, Z3_ast b);
Z3_ast t_and(struct k2_smt *s, Z3_ast a, Z3_ast b);
Z3_ast t_or(struct k2_smt *s, Z3_ast a, Z3_ast b);
Z3_ast t_xor(struct k2_smt *s, Z3_ast a, Z3_ast b);
Z3_ast t_shl(struct k2_smt *s, Z3_ast a, Z3_ast b);
Z3_ast t_lshr(struct k2_smt *s, Z3_ast a, Z3_ast b);
Z3_ast t_ashr(struct k2_smt *s, Z3_ast a, Z3_ast b);
/* Division with the BPF rules built in: x/0 = 0, x%0 = x, signed INT_MIN/-1 = INT_MIN. */
Z3_ast t_udiv0(struct k2_smt *s, Z3_ast a, Z3_ast b);
Z3_ast t_urem0(struct k2_smt *s, Z3_ast a, Z3_ast b);
Z3_ast t_sdiv0(struct k2_smt *s, Z3_ast a, Z3_ast b);
Z3_ast t_srem0(struct k2_smt *s, Z3_ast a, Z3_ast b);
Z3_ast t_neg(struct k2_smt *s, Z3_ast a);
Z3_ast t_bnot(struct k2_smt *s, Z3_ast a);
Z3_ast t_ext(struct k2_smt *s, Z3_ast a, unsigned hi, unsigned lo);
Z3_ast t_zext(struct k2_smt *s, Z3_ast a, unsigned w);
Z3_ast t_sext(struct k2_smt *s, Z3_ast a, unsigned w);
Z3_ast t_cat(struct k2_smt *s, Z3_ast hi, Z3_ast lo);
Z3_ast t_ite(struct k2_smt *s, Z3_ast c, Z3_ast a, Z3_ast b);
Z3_ast b_eq(struct k2_smt *s, Z3_ast a, Z3_ast b);
Z3_ast b_ne(struct k2_smt *s, Z3_ast a, Z3_ast b);
Z3_ast b_ult(struct k2_smt *s, Z3_ast a, Z3_ast b);
Z3_ast b_ule(struct k2_smt *s, Z3_ast a, Z3_ast b);
Z3_ast b_slt(struct k2_smt *s, Z3_ast a, Z3_ast b);
Z3_ast b_sle(struct k2_smt *s, Z3_ast a, Z3_ast b);
Z3_ast b_and(struct k2_smt *s, Z3_ast a, Z3_ast b);
Z3_ast b_or(struct k2_smt *s, Z3_ast a, Z3_ast b);
Z3_ast b_not(struct k2_smt *s, Z3_ast a);
Z3_ast b_imp(struct k2_smt *s, Z3_ast a, Z3_ast b);
/* Bytes lo..hi of a value, little-endian: byte i of a w-bit value. */
Z3_ast t_byte(struct k2_smt *s, Z3_ast a, unsigned i);
/* n little-endian bytes (byte 0 lowest) into an 8n-bit value, refolding extracts. */
Z3_ast t_bytes(struct k2_smt *s, Z3_ast *bytes, unsigned n);
Z3_ast t_bswap(struct k2_smt *s, Z3_ast a, unsigned w);

static inline Z3_ast t_n64(struct k2_smt *s, uint64_t v)
{
	return t_num(s, 64, v);
}

/* ---- Ackermannized functions (ack.c) ---------------------------------------------------- */

/*
 * An uninterpreted function kept in QF_BV: each distinct application is a fresh variable,
 * and two applications whose arguments may be equal get the axiom "equal arguments, equal
 * results". Arguments are compared structurally first, so numeral arguments cost nothing.
 * Applications and axioms are stacks with marks, so a candidate's can be dropped.
 */
struct k2_ackapp {
	Z3_ast a[2];
	Z3_ast r;
};

struct k2_ackfun {
	char name[32];
	uint8_t nargs;
	bool injective; /* distinct arguments give distinct results */
	unsigned rw;    /* result width; 0 Bool */
	struct k2_ackapp *app;
	uint32_t n, cap;
};

struct k2_world;
Z3_ast k2s_ack(struct k2_world *w, struct k2_ackfun *f, Z3_ast a0, Z3_ast a1);
void k2s_ack_free(struct k2_ackfun *f);

/* ---- symbolic values ------------------------------------------------------------------- */

/*
 * A register (or a spilled one). v is the value exactly as the interpreter holds it (pointers
 * are synthetic addresses, see bpf/k2_interp.h), t its type (enum k2_rtype as an 8-bit term),
 * tm the types it may have. A pointer "view" (pt != 0) says where the pointer points when
 * t == pt: a memory object, for map values the element, and an offset osym + oc from the
 * object's anchor (osym may be NULL: a constant offset). Keeping offsets split lets accesses
 * at constant distances from one symbolic base resolve statically.
 */
struct k2_sv {
	Z3_ast v, t;
	uint16_t tm;
	uint8_t pt;       /* enum k2_rtype of the view, 0 if none */
	uint8_t obj;      /* memory object of the view (K2S_MO_*) */
	int16_t map;      /* K2_T_MAP / K2_T_MAP_VALUE: the map, -1 if not known */
	Z3_ast elem;      /* K2_T_MAP_VALUE: the element (key bytes, or window slot id) */
	Z3_ast slot;      /* K2_T_MAP_VALUE: 12-bit slot number in the address */
	Z3_ast osym;
	int64_t oc;
	Z3_ast ver;       /* K2_T_MAP_VALUE: the map's replacement count when it was looked up */
	bool nullable;    /* t == SCALAR implies v == 0 (a lookup result before its check) */
};

#define K2S_TM(t) ((uint16_t)(1u << (t)))

/* Memory objects: per-state chains of writes. */
enum {
	K2S_MO_STACK = 0,                        /* + frame: bytes and init flags */
	K2S_MO_SPILL = K2_MAX_FRAMES,            /* + frame: spilled-register type per 8-byte slot */
	K2S_MO_CTX = 2 * K2_MAX_FRAMES,
	K2S_MO_PKT,                              /* the packet page, keyed relative to data0 */
	K2S_MO_MAPVAL,                           /* + map (map-type concretization), then the
						  * elements' presence per map (k2_world.mo_pres) */
};

/* A key inside an object: element (NULL when the object has none) and offset osym + oc. */
struct k2_mkey {
	Z3_ast elem;
	Z3_ast osym;
	int64_t oc;
};

enum { K2S_N_BYTE = 1, K2S_N_RANGE, K2S_N_MERGE };

/* One node of a memory chain (see mem.c). */
struct k2_mnode {
	uint8_t kind;
	uint32_t depth;
	struct k2_mnode *next;
	struct k2_mkey k;        /* BYTE: the key; RANGE: keys k .. k + len - 1 */
	Z3_ast len;              /* RANGE: BV64 length */
	Z3_ast val;              /* BYTE/RANGE: BV8 (spill chains: the type) */
	Z3_ast init;             /* stack: the init flag it leaves (NULL: init unchanged) */
	Z3_ast guard;            /* write happens only if (NULL: always) */
	const struct k2_sv *sv;  /* spill chains: the register stored */
	Z3_ast g;                /* MERGE: taken a if g, else b; both end at next */
	struct k2_mnode *a, *b;
};

/* ---- the world: inputs shared by the programs compared ------------------------------------ */

struct k2_elem {               /* window mode: a map element a live-in pointer reaches */
	int32_t map;
	Z3_ast slot;               /* 12-bit slot id */
	uint32_t aval_id;          /* the analysis' id (0: none) */
};

struct k2_spill0 {             /* window mode: a spilled register at entry */
	struct k2_sv sv;
	bool set;
};

struct k2_world {
	struct k2_smt *s;
	const struct k2_prog *prog;
	bool window;
	uint32_t frame;                /* window: frame the window runs in (always 0 here) */
	/* constraints that hold by construction: input ranges, preconditions, Ackermann */
	Z3_ast *ax;
	uint32_t nax, capax;
	const char *refuse;            /* why the inputs cannot be encoded (static) */
	const struct k2_input *conc;   /* agreement checks: lengths and context fields of this
					* input as numerals (bytes and maps stay functions) */
	/* packet bounds at entry (page offsets, BV64) and the anchor of packet keys */
	Z3_ast meta0, data0, end0;
	Z3_ast plen, mlen;             /* whole program: frame and metadata length (BV64) */
	Z3_ast cpu;                    /* BV32 */
	struct k2_ctxin {              /* whole program: context fields the input sets */
		uint16_t off, size;
		Z3_ast v;
	} ctxin[24];
	uint32_t n_ctxin;
	struct k2_ackfun pkt0;         /* packet bytes by key */
	struct k2_ackfun ctx0;         /* context bytes by offset (scalar fields) */
	struct k2_ackfun ndet;         /* non-deterministic values by call index */
	struct k2_ackfun *mval0;       /* per map: value byte (element, offset) */
	struct k2_ackfun *mpres0;      /* per map: element present at entry (key) */
	struct k2_ackfun *mpop;        /* per object-array map: index populated */
	struct k2_ackfun slotf;        /* whole program: slot number of a map element */
	Z3_ast *mcount0;               /* per hash map: elements at entry (BV64) */
	Z3_ast ctxbyte[K2_CTX_MAX];    /* whole program: derived context bytes (NULL: ctx0) */
	/* window entry state */
	struct k2_sv regs0[K2_NREGS];
	Z3_ast sval0[K2_STACK_SIZE];   /* stack bytes (NULL: uninitialised at entry) */
	Z3_ast sinit0[K2_STACK_SIZE];  /* init flags */
	struct k2_spill0 spill0[K2_STACK_SIZE / 8];
	struct k2_elem *elems;
	uint32_t n_elems, cap_elems;
	uint32_t n_mo;                 /* memory objects per state */
	uint32_t n_mapobj;             /* map value objects (n_maps, or 1 without maptype) */
	uint32_t mo_pres;              /* first presence object */
	struct k2s_ctxdesc ctx;        /* the program type's context (the interpreter's table) */
	unsigned keyw;                 /* widest map key, bits (element terms without maptype) */
};

int k2s_world_new(struct k2_smt *s, const struct k2_prog *prog, bool window,
		  struct k2_world **out);
void k2s_world_free(struct k2_world *w);
void k2s_axiom(struct k2_world *w, Z3_ast a);
/* Whole-program inputs for the program type (packet, ctx, maps). */
int k2s_world_prog(struct k2_world *w, struct k2_err *e);
/* Window inputs from the precondition. */
int k2s_world_window(struct k2_world *w, const struct k2_analysis *an, const struct k2_win *win,
		     struct k2_err *e);

struct k2_wmark {
	uint32_t nax, pkt0, ctx0, ndet, slotf, n_elems;
	uint32_t *mval0, *mpres0, *mpop;
};
void k2s_world_mark(struct k2_world *w, struct k2_wmark *m);
void k2s_world_reset(struct k2_world *w, const struct k2_wmark *m);
void k2s_wmark_free(struct k2_wmark *m);

/* ---- the engine (enc.c) --------------------------------------------------------------------- */

struct k2_frame_s {
	struct k2_sv saved[4];
	uint32_t ret_pc;
};

struct k2_state {
	Z3_ast g;                       /* path condition */
	struct k2_sv r[K2_NREGS];
	uint8_t depth;
	struct k2_frame_s fr[K2_MAX_FRAMES];
	struct k2_mnode **mem;          /* [n_mo] chain heads */
	Z3_ast meta, data, end;         /* packet bounds now (page offsets, BV64) */
	Z3_ast ndet_i;                  /* BV32: non-deterministic values read so far */
	Z3_ast neff;                    /* BV32: effects so far */
	Z3_ast *rb_used;                /* per map (ringbuf room used, BV64), NULL until used */
	Z3_ast exitno;                  /* at exit: BV32 exit number (window) */
	Z3_ast tail;                    /* at exit: ended by a tail call (Bool) */
	Z3_ast *mver;                   /* per map: element replacements so far (BV32) */
	Z3_ast *cnt;                    /* per map: elements added minus removed (BV64) */
};

/* One side effect (helper with K2_H_EFFECT), in program order. */
struct k2_eff {
	Z3_ast g;                      /* it happened */
	Z3_ast pos;                    /* BV32: its index in the run's effect list */
	uint32_t helper;
	Z3_ast args[5];                /* BV64; 0 for pointer arguments */
	Z3_ast *data;                  /* BV8 each */
	uint32_t n_data;
	Z3_ast ret;                    /* BV64 */
};

struct k2_unsup {
	Z3_ast cond;
	const char *why;
	uint32_t insn;
};

/* A memory location a program wrote (for comparing final memories). */
struct k2_wloc {
	uint8_t obj;
	struct k2_mkey k;
	int32_t map;
	Z3_ast g;                      /* the write may have happened */
};

struct k2_enc {
	struct k2_smt *s;
	struct k2_world *w;
	const char *name;              /* "A", "B", "orig", "cand" */
	const struct bpf_insn *insns;
	uint32_t n;
	bool window;
	uint8_t *ops;                  /* decoded op per slot */
	/* results */
	Z3_ast err;                    /* some run error happens */
	struct k2_unsup *uns;
	uint32_t n_uns, cap_uns;
	struct k2_eff *eff;
	uint32_t n_eff, cap_eff;
	struct k2_wloc *wl;
	uint32_t n_wl, cap_wl;
	bool pkt_range;                /* the packet got a range write (adjust_tail zero fill) */
	struct k2_state *fin;          /* the merged state at every way out */
	const char *refuse;            /* could not encode at all (reason) */
	uint32_t refuse_insn;
	/* memory */
	void **blocks;                 /* allocation blocks (nodes, states, arrays) */
	uint32_t n_blocks, cap_blocks;
	char *bump;
	size_t bump_left;
	uint64_t steps;
	uint32_t lookups;              /* map lookups so far (whole program) */
	/* safety (smt/safety_*.c): set by the caller to n entries of NULL, each receives the
	 * condition under which the instruction at that index fails (NULL: never) */
	Z3_ast *err_at;
	uint32_t pc;                   /* the instruction being encoded */
};

int k2s_enc_run(struct k2_enc *en, struct k2_world *w, const char *name,
		const struct bpf_insn *insns, uint32_t n, bool window);
void k2s_enc_free(struct k2_enc *en);
void *k2s_alloc(struct k2_enc *en, size_t sz);
void k2s_refuse(struct k2_enc *en, uint32_t insn, const char *why);
void k2s_unsup(struct k2_enc *en, Z3_ast cond, uint32_t insn, const char *why);
void k2s_error(struct k2_enc *en, struct k2_state *st, Z3_ast cond);
void k2s_wloc(struct k2_enc *en, uint8_t obj, const struct k2_mkey *k, int32_t map, Z3_ast g);

/* ---- symbolic values (sv.c) ----------------------------------------------------------------- */

void sv_scalar(struct k2_smt *s, struct k2_sv *r, Z3_ast v);
void sv_uninit(struct k2_smt *s, struct k2_sv *r);
void sv_ptr(struct k2_world *w, struct k2_sv *r, uint8_t pt, uint8_t obj, int16_t map,
	    Z3_ast elem, Z3_ast slot, Z3_ast osym, int64_t oc);
Z3_ast sv_is(struct k2_smt *s, const struct k2_sv *r, uint8_t t);
void sv_ite(struct k2_smt *s, Z3_ast c, const struct k2_sv *a, const struct k2_sv *b,
	    struct k2_sv *out);
bool sv_same(const struct k2_sv *a, const struct k2_sv *b);
Z3_ast sv_off(struct k2_smt *s, const struct k2_sv *r); /* osym + oc as BV64 */
Z3_ast sv_anchor(struct k2_world *w, const struct k2_sv *r);
/* The pointer view for type t of r: its own, or one derived from its value (false if none). */
bool sv_view(struct k2_world *w, const struct k2_state *st, const struct k2_sv *r, uint8_t t,
	     struct k2_sv *out);
static inline bool sv_only(const struct k2_sv *r, uint8_t t)
{
	return r->tm == K2S_TM(t);
}

/* ---- memory (mem.c) --------------------------------------------------------------------- */

struct k2_mread {
	Z3_ast val;              /* BV8 byte (spill chains: type) */
	Z3_ast init;             /* stack: Bool */
	const struct k2_sv *sv;  /* spill chains: the register, when one store decides it */
};

void k2s_mem_read(struct k2_enc *en, const struct k2_state *st, uint8_t obj,
		  const struct k2_mkey *k, struct k2_mread *out);
void k2s_mem_write(struct k2_enc *en, struct k2_state *st, uint8_t obj, const struct k2_mkey *k,
		   Z3_ast val, Z3_ast init, Z3_ast guard, const struct k2_sv *sv);
void k2s_mem_range(struct k2_enc *en, struct k2_state *st, uint8_t obj, const struct k2_mkey *k,
		   Z3_ast len, Z3_ast val, Z3_ast init, Z3_ast guard);
struct k2_mnode *k2s_mem_merge(struct k2_enc *en, Z3_ast g, struct k2_mnode *a,
			       struct k2_mnode *b);
Z3_ast k2s_key_eq(struct k2_smt *s, const struct k2_mkey *a, const struct k2_mkey *b);
Z3_ast k2s_key_off(struct k2_smt *s, const struct k2_mkey *k);
/* Whether a chain may hold a write of a non-scalar spill (visits each node once). */
void k2s_mem_spill_keys(struct k2_enc *en, const struct k2_mnode *n, int64_t *keys, uint32_t *nk,
			uint32_t max);

/* ---- instruction semantics (insn.c, access.c, call.c) ------------------------------------- */

/* Executes the instruction at pc; returns the next pc, or a K2S_NEXT_* code. */
#define K2S_NEXT_BRANCH (-1) /* *taken holds the other successor's state, *tgt its pc */
#define K2S_NEXT_EXIT (-2)   /* the state left (exit fields set) */
#define K2S_NEXT_DEAD (-3)   /* the path ended in an error */
#define K2S_NEXT_CALL (-4)   /* bpf-to-bpf call: *tgt the callee */
#define K2S_NEXT_RET (-5)    /* return to the caller: *tgt the return pc */
#define K2S_NEXT_FORK_EXIT (-6) /* *taken leaves the program (exit *tgt); st goes on at pc + 1 */
int64_t k2s_exec(struct k2_enc *en, struct k2_state *st, uint32_t pc, struct k2_state **taken,
		 int64_t *tgt);
struct k2_state *k2s_state_clone(struct k2_enc *en, const struct k2_state *st);

/* access.c */
int k2s_load(struct k2_enc *en, struct k2_state *st, uint32_t pc, const struct k2_sv *p,
	     int16_t off, uint32_t size, bool sx, struct k2_sv *out);
int k2s_store(struct k2_enc *en, struct k2_state *st, uint32_t pc, const struct k2_sv *p,
	      int16_t off, uint32_t size, const struct k2_sv *val);
int k2s_atomic(struct k2_enc *en, struct k2_state *st, uint32_t pc, const struct bpf_insn *in,
	       enum k2_op op);
/* Reads len bytes of helper memory (stack, packet, map value); NULL-free on success. */
int k2s_helper_read(struct k2_enc *en, struct k2_state *st, uint32_t pc, const struct k2_sv *p,
		    uint32_t len, Z3_ast *bytes);
int k2s_helper_write(struct k2_enc *en, struct k2_state *st, uint32_t pc, const struct k2_sv *p,
		     uint32_t len, Z3_ast *bytes, Z3_ast guard);
/* The page offset of packet key k, and the packet byte at a page offset. */
Z3_ast k2s_pkt_byte(struct k2_enc *en, const struct k2_state *st, Z3_ast page_off);
void k2s_pkt_write(struct k2_enc *en, struct k2_state *st, Z3_ast page_off, Z3_ast val,
		   Z3_ast guard);
void k2s_invalidate_pkt(struct k2_enc *en, struct k2_state *st);

/* call.c */
/* Helper calls and legacy loads may end the run on some inputs: *ex (or NULL) is that state. */
int k2s_call(struct k2_enc *en, struct k2_state *st, uint32_t pc, int32_t id,
	     struct k2_state **ex);

/* maps.c */
/* A frozen data section (.rodata with its initial bytes): contents fixed, not an input. */
static inline bool k2s_map_frozen(const struct k2_map *d)
{
	return d->internal && d->readonly && d->init && d->type == BPF_MAP_TYPE_ARRAY &&
	       d->max_entries == 1;
}
Z3_ast k2s_map_elem(struct k2_world *w, uint32_t map, Z3_ast key);
Z3_ast k2s_map_slot(struct k2_world *w, uint32_t map, Z3_ast key);
uint8_t k2s_mo_val(const struct k2_world *w, uint32_t map);
uint8_t k2s_mo_pres(const struct k2_world *w, uint32_t map);
Z3_ast k2s_pres_base(struct k2_world *w, uint8_t obj, const struct k2_mkey *k);
Z3_ast k2s_map_present(struct k2_enc *en, const struct k2_state *st, uint32_t map, Z3_ast elem);
struct k2_hc;
int k2s_h_lookup(struct k2_hc *c);
int k2s_h_update(struct k2_hc *c);
int k2s_h_delete(struct k2_hc *c);

/* A helper call being encoded (call.c), arguments checked. */
struct k2_hc {
	struct k2_enc *en;
	struct k2_state *st;
	uint32_t pc;
	const struct k2_helper *h;
	uint32_t id;
	struct k2_sv a[5];
	int32_t map;                    /* of the MAP_PTR argument, -1 if none */
	Z3_ast *rd[5];                  /* bytes of memory arguments read */
	uint32_t len[5];                /* their lengths */
	Z3_ast ret;                     /* BV64 */
	struct k2_sv retsv;             /* when the result is not a scalar (lookups) */
	bool ret_ptr;
	struct k2_state *ex;            /* a state leaving the program (tail call) */
};
void k2s_effect(struct k2_hc *c, Z3_ast g, Z3_ast *data, uint32_t n);
Z3_ast k2s_neg(struct k2_smt *s, int err);

/* ctx.c: the context of each program type. */
int k2s_ctx_load(struct k2_enc *en, struct k2_state *st, uint32_t pc, uint32_t off, uint32_t size,
		 struct k2_sv *out);
int k2s_ctx_store(struct k2_enc *en, struct k2_state *st, uint32_t pc, uint32_t off,
		  uint32_t size, Z3_ast val);
Z3_ast k2s_ctx_byte(struct k2_enc *en, const struct k2_state *st, uint32_t off);
/* Whole program: the context bytes a run starts with, per program type. */
void k2s_ctx_entry(struct k2_world *w);
int k2s_ldabs(struct k2_enc *en, struct k2_state *st, uint32_t pc, Z3_ast k, uint32_t size,
	      struct k2_state **ex);

static inline bool k2s_is_skb(uint32_t type)
{
	return type == BPF_PROG_TYPE_SOCKET_FILTER || type == BPF_PROG_TYPE_SCHED_CLS ||
	       type == BPF_PROG_TYPE_SCHED_ACT;
}

#define K2S_PKTBASE K2_ADDR(K2_RGN_PKT, 0, 0)
#define K2S_CTXBASE K2_ADDR(K2_RGN_CTX, 0, 0)

#endif
