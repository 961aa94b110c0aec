/* bpf/vm_internal.h: the interpreter's machine, decoded code and the calls between its files. */
#ifndef K2_VM_INTERNAL_H
#define K2_VM_INTERNAL_H

#include "bpf/k2_helpers.h"
#include "bpf/k2_interp.h"

/* Ops of the decoded form beyond the opcode table. */
enum {
	K2_XOP_WEXIT = K2_OP__COUNT, /* window exit stub: aux = exit number */
	K2_XOP_HALF,		     /* second slot of ld_imm64: never executed */
	K2_XOP_SNAP,		     /* snapshot point: the run stops before this pc */
	K2_XOP__COUNT
};

/* One decoded instruction: 16 bytes, operands ready for the hot loop. */
struct k2_dinsn {
	uint8_t op; /* enum k2_op or K2_XOP_* */
	uint8_t dst;
	uint8_t src;
	uint8_t pad;
	int16_t off;
	uint16_t aux;
	int32_t imm;
	int32_t tgt; /* branch target index; pseudo call target */
};

/* One map element copied into a run (copy on first touch). */
enum { K2_SLOT_PRESENT = 1, K2_SLOT_ABSENT = 2, K2_SLOT_DETACHED = 3 };

struct k2_slot {
	uint32_t map;
	uint32_t key_off; /* in the key pool */
	uint32_t val_off; /* in the value pool */
	uint32_t vsize;
	int32_t base; /* entry in the map state it shadows, -1 for none */
	int32_t next; /* hash chain */
	uint32_t bucket;
	uint8_t state;
	uint8_t ro; /* read-only to the program (frozen .rodata, devmap) */
	uint8_t pad[2];
	uint64_t tick; /* LRU use */
};

struct k2_frame {
	uint32_t ret_pc;
	uint64_t saved[4]; /* r6..r9 of the caller */
	uint8_t saved_t[4];
};

#define K2_EFFECTS_MAX 64
#define K2_EFFECT_DATA_MAX 8192

/* The whole mutable machine: a run's or a window state's. */
struct k2_machine {
	uint64_t r[K2_NREGS];
	uint8_t t[K2_NREGS];
	uint32_t depth;
	uint32_t pc;
	struct k2_frame fr[K2_MAX_FRAMES];
	uint8_t stack[K2_MAX_FRAMES * K2_STACK_SIZE];
	uint8_t sinit[K2_MAX_FRAMES * K2_STACK_SIZE];	  /* 1 = initialised */
	uint8_t spill[K2_MAX_FRAMES * K2_STACK_SIZE / 8]; /* k2_rtype of a spilled 8-byte slot */
	uint8_t pkt[K2_PKT_BUF];
	uint32_t meta_off, data_off, end_off;
	uint32_t dirty_lo, dirty_hi; /* part of pkt[] that may be non-zero */
	uint8_t ctx[K2_CTX_MAX];
	uint32_t ctx_len;
	/* map overlay */
	uint32_t n_slots, max_slots;
	struct k2_slot *slots;
	uint8_t *kpool, *vpool;
	uint32_t kpool_used, vpool_used, kpool_cap, vpool_cap;
	int32_t *buckets;
	uint32_t n_buckets;
	int32_t *count_delta; /* per map: elements added minus removed */
	uint8_t *changed;     /* per map */
	uint32_t n_maps;
	uint64_t tick;
	uint32_t ringbuf_used[64];
	/* effects */
	struct k2_effect eff[K2_EFFECTS_MAX];
	uint32_t n_eff;
	uint8_t eff_data[K2_EFFECT_DATA_MAX];
	uint32_t eff_data_len;
	uint32_t ndet_i;
	uint32_t tail_calls;
	bool tail_call;
	uint32_t tail_map, tail_index;
	const struct k2_input *in;
	uint64_t steps;
	/* error */
	enum k2_status status;
	uint32_t err_pc;
	const char *reason;
	/* window runs: the write log (NULL outside) */
	struct k2_wlog *log;
};

struct k2_wlog_ent {
	uint64_t addr;
	uint8_t *host;
	uint8_t *init;	/* stack init flags, NULL elsewhere */
	uint8_t *spill; /* stack spill slot type, NULL elsewhere */
	uint8_t size;
	uint8_t old_spill;
	uint8_t old[8];
	uint8_t old_init[8];
};

struct k2_wlog {
	uint32_t n;
	struct k2_wlog_ent e[K2_WLOG_MAX];
};

struct k2_wstate {
	struct k2_machine m;
};

struct k2_window {
	struct k2_dinsn *code;
	uint32_t n;   /* instructions of the candidate */
	uint32_t cap; /* allocated entries */
};

struct k2_ctxdesc {
	uint8_t rd[K2_CTX_MAX]; /* bit s: a read of 1 << s bytes at this offset is allowed */
	uint8_t wr[K2_CTX_MAX];
	uint8_t ptr[K2_CTX_MAX]; /* k2_rtype loaded by a 4-byte read here (data, data_end, ...) */
	uint32_t size;		 /* bytes of the context */
	uint32_t out_size;	 /* bytes of ctx_out test_run writes back */
};

struct k2_mapinfo {
	struct k2_map def;
	uint32_t vsize, ksize;
	bool percpu, hashlike, arraylike, objarray, lpm, lru, ringbuf;
};

struct k2_vm {
	uint32_t type; /* bpf_prog_type */
	uint32_t attach_type;
	struct k2_dinsn *code;
	uint32_t n, cap;
	const struct bpf_insn *src;
	uint64_t max_steps;
	enum k2_isa max_isa;
	uint32_t n_maps;
	struct k2_mapinfo *maps;
	int32_t *map_fds;
	struct k2_ctxdesc ctx;
	struct k2_machine m;
	struct k2_wlog log;
	uint8_t out_ctx[K2_CTX_MAX];
	bool ran;
};

/* interp.c: the hot loop. Runs from m->pc until exit/error/window exit. */
enum { K2_STOP_EXIT = 0, K2_STOP_ERROR = 1, K2_STOP_WEXIT = 2, K2_STOP_SNAP = 3, K2_STOP_TAIL = 4 };
int k2_exec(struct k2_vm *vm, struct k2_machine *m, const struct k2_dinsn *code, uint64_t budget,
	    int32_t *wexit);

/* Sets the error of a run; returns K2_STOP_ERROR. */
static inline int k2_fail(struct k2_machine *m, enum k2_status st, const char *why)
{
	m->status = st;
	m->reason = why;
	return K2_STOP_ERROR;
}

/* mem.c: memory behind synthetic addresses. */
/* Resolves [addr, addr+size) of a register of type t for a read or write: host pointer or
 * NULL with m->status/reason set. For the stack, *init gets the init flags. */
uint8_t *k2_mem_resolve(struct k2_vm *vm, struct k2_machine *m, uint8_t t, uint64_t addr,
			uint32_t size, bool write, uint8_t **init);
/* Loads/stores at base + off through a register of type t (the context needs base unmodified). */
int k2_mem_load(struct k2_vm *vm, struct k2_machine *m, uint8_t t, uint64_t base, int16_t off,
		uint32_t size, bool sx, uint64_t *val, uint8_t *vt);
int k2_mem_store(struct k2_vm *vm, struct k2_machine *m, uint8_t t, uint64_t base, int16_t off,
		 uint32_t size, uint64_t val, uint8_t vt);
int k2_mem_atomic(struct k2_vm *vm, struct k2_machine *m, const struct k2_dinsn *d);
/* Checks readable, initialised bytes [addr, addr+len) for a helper; host pointer or NULL. */
const uint8_t *k2_mem_helper_read(struct k2_vm *vm, struct k2_machine *m, uint8_t t, uint64_t addr,
				  uint64_t len);
uint8_t *k2_mem_helper_write(struct k2_vm *vm, struct k2_machine *m, uint8_t t, uint64_t addr,
			     uint64_t len);
void k2_mem_invalidate_pkt(struct k2_machine *m);
/* Window runs: log a store before it happens; 0 or K2_STOP_ERROR (log full). */
int k2_wlog_add(struct k2_machine *m, uint64_t addr, uint8_t *host, uint8_t *init, uint8_t *spill,
		uint32_t size);

/* ctx.c: per program type context. */
void k2_ctx_describe(uint32_t type, uint32_t attach_type, struct k2_ctxdesc *d);
void k2_ctx_setup(const struct k2_vm *vm, struct k2_machine *m, const struct k2_input *in);
uint32_t k2_ctx_out(const struct k2_vm *vm, const struct k2_machine *m, const struct k2_input *in,
		    uint8_t *out);
const uint8_t *k2_pkt_out(const struct k2_vm *vm, struct k2_machine *m, uint32_t *len,
			  uint32_t *meta);
bool k2_type_is_skb(uint32_t type);
int k2_ctx_load(struct k2_vm *vm, struct k2_machine *m, uint32_t off, uint32_t size, uint64_t *val,
		uint8_t *vt);
int k2_ctx_store(struct k2_vm *vm, struct k2_machine *m, uint32_t off, uint32_t size, uint64_t val);
/* LD_ABS / LD_IND: r0 = the bytes at packet offset k (network order), or the run ends. */
int k2_ld_abs(struct k2_vm *vm, struct k2_machine *m, int32_t k, uint32_t size);

/* vm.c */
int k2_machine_alloc(const struct k2_vm *vm, struct k2_machine *m);
void k2_machine_free(struct k2_machine *m);
void k2_machine_copy(uint32_t n_maps, struct k2_machine *dst, const struct k2_machine *src);
void k2_machine_start(const struct k2_vm *vm, struct k2_machine *m, const struct k2_input *in);
int k2_decode(const struct k2_vm *vm, const struct bpf_insn *in, uint32_t n, struct k2_dinsn *out,
	      bool window, struct k2_err *e);

/* helper_model.c */
int k2_helper_call(struct k2_vm *vm, struct k2_machine *m, int32_t id);

/* mapstate_overlay.c: the run's copy-on-write view of the maps. */
void k2_ov_reset(struct k2_vm *vm, struct k2_machine *m);
/* Slot of the element for key (lookup semantics: lpm longest match), or -1 if absent. */
int32_t k2_ov_lookup(struct k2_vm *vm, struct k2_machine *m, uint32_t map, const uint8_t *key,
		     int *err);
int k2_ov_update(struct k2_vm *vm, struct k2_machine *m, uint32_t map, const uint8_t *key,
		 const uint8_t *val, uint64_t flags, int *err);
int k2_ov_delete(struct k2_vm *vm, struct k2_machine *m, uint32_t map, const uint8_t *key,
		 int *err);
/* A present slot for (map, key) with `val` (one CPU's), made by hand (window states). */
int32_t k2_ov_add(struct k2_vm *vm, struct k2_machine *m, uint32_t map, const uint8_t *key,
		  const uint8_t *val);
/* Whether an object-array index (devmap, xskmap, cpumap, prog_array, perf array) is set. */
bool k2_ov_populated(struct k2_vm *vm, struct k2_machine *m, uint32_t map, uint32_t idx);
static inline uint8_t *k2_slot_val(struct k2_machine *m, uint32_t s)
{
	return m->vpool + m->slots[s].val_off;
}
static inline uint8_t *k2_slot_key(struct k2_machine *m, uint32_t s)
{
	return m->kpool + m->slots[s].key_off;
}

/* mapstate.c internals the overlay reads. */
int32_t k2_ms_find(const struct k2_mapstate *ms, uint32_t map, const uint8_t *key);
int32_t k2_ms_lpm_find(const struct k2_mapstate *ms, uint32_t map, const uint8_t *key,
		       uint32_t *plen);
const uint8_t *k2_ms_entry_key(const struct k2_mapstate *ms, uint32_t map, int32_t ent);
const uint8_t *k2_ms_entry_val(const struct k2_mapstate *ms, uint32_t map, int32_t ent,
			       uint32_t cpu);
uint32_t k2_ms_count(const struct k2_mapstate *ms, uint32_t map);
uint32_t k2_ms_n_entries(const struct k2_mapstate *ms, uint32_t map);
bool k2_ms_entry_live(const struct k2_mapstate *ms, uint32_t map, int32_t ent);
uint64_t k2_ms_entry_tick(const struct k2_mapstate *ms, uint32_t map, int32_t ent);
void k2_mapinfo_fill(struct k2_mapinfo *mi, const struct k2_map *def);
uint64_t k2_hash_bytes(const uint8_t *p, uint32_t n, uint64_t seed);
bool k2_lpm_match(const uint8_t *entry_key, const uint8_t *key, uint32_t dsize);
bool k2_lpm_same(const uint8_t *a, const uint8_t *b, uint32_t dsize);

#endif
