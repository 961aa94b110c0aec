/* bpf/k2_interp.h: the concrete semantics: inputs, map contents, the interpreter, its results. */
#ifndef K2_INTERP_H
#define K2_INTERP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf/k2_err.h"
#include "bpf/k2_insn.h"
#include "bpf/k2_obj.h"

#define K2_STACK_SIZE 512      /* per frame, r10 points at its top */
#define K2_MAX_FRAMES 8        /* bpf-to-bpf call depth, as the kernel's MAX_CALL_FRAMES */
#define K2_PKT_HEADROOM 256    /* XDP_PACKET_HEADROOM: room for xdp_adjust_head/meta */
#define K2_PKT_MAX 3520        /* largest linear packet BPF_PROG_TEST_RUN gives XDP */
#define K2_PKT_BUF 4096        /* the test_run frame: headroom, packet, tailroom (one page) */
#define K2_PKT_TAILROOM 320    /* SKB_DATA_ALIGN(sizeof(struct skb_shared_info)) on x86-64 */
#define K2_XDP_FRAME_SZ 40     /* sizeof(struct xdp_frame): adjust_head/meta may not go below */
#define K2_CTX_MAX 256         /* bytes of program-type context given by an input */
#define K2_NDET_MAX 64         /* non-deterministic helper values an input supplies */
#define K2_MAX_TAIL_CALLS 33   /* MAX_TAIL_CALL_CNT */

/*
 * Synthetic addresses. A pointer's value is deterministic: region tag, an index inside
 * the region and a 32-bit byte offset, under a kernel-like top (pointers are negative
 * as signed values, as real kernel pointers are):
 *
 *   K2_ADDR(region, index, off) = 0xffff000000000000 | region << 44 | index << 32 | off
 *
 *   stack of frame f      K2_ADDR(K2_RGN_STACK, f, 0 .. 512); r10 = K2_ADDR(STACK, f, 512)
 *   context               K2_ADDR(K2_RGN_CTX, 0, field offset)
 *   packet buffer         K2_ADDR(K2_RGN_PKT, 0, 0 .. K2_PKT_BUF): the test_run page;
 *                         XDP: data = +K2_PKT_HEADROOM, data_meta = data - meta_len;
 *                         tc: data (mac header) = +K2_PKT_HEADROOM;
 *                         socket filter: mac header at +K2_PKT_HEADROOM, data 14 bytes on
 *   map value             K2_ADDR(K2_RGN_MAPVAL, slot, off): slot = the run's copy of one
 *                         element (see k2_vm_run); slots are numbered in order of first use
 *   map (ld_imm64 map)    K2_ADDR(K2_RGN_MAP, map index, 0)
 *
 * Every register also carries a type (enum k2_rtype): an access through a register is
 * checked against the region of its type, so a scalar equal to an address is no pointer.
 */
enum k2_region {
	K2_RGN_NONE = 0,
	K2_RGN_STACK = 1,
	K2_RGN_CTX = 2,
	K2_RGN_PKT = 3,
	K2_RGN_MAPVAL = 4,
	K2_RGN_MAP = 5,
};

#define K2_ADDR_TOP 0xffff000000000000ULL
#define K2_ADDR(rgn, idx, off)                                                 \
	(K2_ADDR_TOP | ((uint64_t)(rgn) << 44) | ((uint64_t)(idx) << 32) |     \
	 (uint64_t)(uint32_t)(off))
#define K2_ADDR_RGN(a) ((unsigned)(((a) >> 44) & 0xf))
#define K2_ADDR_IDX(a) ((uint32_t)(((a) >> 32) & 0xfff))
#define K2_ADDR_OFF(a) ((uint32_t)(a))

/* Register types (provenance). Scalars are 0 so that "all operands scalar" is one test. */
enum k2_rtype {
	K2_T_SCALAR = 0,
	K2_T_UNINIT,     /* never written, or clobbered by a call */
	K2_T_CTX,        /* the context */
	K2_T_STACK,      /* a stack frame (index = frame) */
	K2_T_PKT,        /* packet data: may access [data, data_end) */
	K2_T_PKT_META,   /* XDP/tc metadata: may access [data_meta, data) */
	K2_T_PKT_END,    /* data_end: compared, never dereferenced */
	K2_T_MAP_VALUE,  /* an element's value (index = slot) */
	K2_T_MAP,        /* a map itself: helper argument only */
	K2_T__COUNT
};

/*
 * Map contents (the state of every map of one program): built once, shared by many
 * inputs, never changed by a run. Per-CPU maps hold one value per CPU (ncpus).
 * Array-like maps of objects (prog_array, devmap, cpumap, xskmap, perf_event_array)
 * hold a value per index plus whether the index is populated (an update populates it,
 * a delete empties it; cpumap: an update with qsize 0 empties it, as the kernel does).
 * Hash maps keep insertion order for k2_mapstate_next_key; LRU maps evict the least
 * recently used element (by lookups/updates in run order) when full.
 */
struct k2_mapstate;

int k2_mapstate_new(const struct k2_map *maps, uint32_t n_maps, uint32_t ncpus,
		    struct k2_mapstate **out, struct k2_err *e);
void k2_mapstate_free(struct k2_mapstate *ms);
/* Copies a state (e.g. to apply one run's changes to it). */
int k2_mapstate_clone(const struct k2_mapstate *ms, struct k2_mapstate **out);
/* BPF_MAP_UPDATE_ELEM semantics (flags BPF_ANY/NOEXIST/EXIST); for per-CPU maps
 * `value` holds ncpus values. Returns 0 or the negative errno the kernel would. */
int k2_mapstate_update(struct k2_mapstate *ms, uint32_t map, const void *key, const void *value,
		       uint64_t flags);
int k2_mapstate_delete(struct k2_mapstate *ms, uint32_t map, const void *key);
/* Copies the value (ncpus values for per-CPU maps) out; -ENOENT if absent. */
int k2_mapstate_lookup(const struct k2_mapstate *ms, uint32_t map, const void *key, void *value);
/* Key iteration as BPF_MAP_GET_NEXT_KEY: key NULL gives the first; -ENOENT at the end. */
int k2_mapstate_next_key(const struct k2_mapstate *ms, uint32_t map, const void *key,
			 void *next);
/* The maps and CPU count the state was made for. */
uint32_t k2_mapstate_ncpus(const struct k2_mapstate *ms);
uint32_t k2_mapstate_n_maps(const struct k2_mapstate *ms);
const struct k2_map *k2_mapstate_map(const struct k2_mapstate *ms, uint32_t map);

/*
 * One test input of a whole program: exactly what BPF_PROG_TEST_RUN is given, plus
 * what the kernel takes from elsewhere.
 *   pkt[]  data_in. XDP: xdp_md.data (from ctx) bytes of metadata, then the frame.
 *          tc and socket filter: the Ethernet frame (at least 14 bytes).
 *   ctx[]  ctx_in: struct xdp_md, struct __sk_buff (the fields test_run lets you set:
 *          mark, priority, ingress_ifindex, ifindex, cb[], tstamp, wire_len, gso_segs,
 *          gso_size, hwtstamp; the others are computed from the packet as the kernel
 *          does), pt_regs for kprobe, the raw record for tracepoints.
 *   ndet[] the values non-deterministic helpers return, in call order, shared by every
 *          program run on this input so that two programs see the same. Past n_ndet the
 *          values continue as k2_ndet_value() says.
 *   cpu    the CPU the run is on (get_smp_processor_id, per-CPU map column).
 *   kmem_seed  kernel memory read by probe_read_kernel & co is a fixed function of the
 *          address and this seed (k2_kmem_byte), so overlapping reads agree.
 *   maps   the map contents at entry.
 */
struct k2_input {
	uint32_t pkt_len;
	uint32_t ctx_len;
	uint32_t n_ndet;
	uint32_t cpu;
	uint8_t pkt[K2_PKT_MAX + 32];  /* room for up to 32 bytes of XDP metadata too */
	uint8_t ctx[K2_CTX_MAX];
	uint64_t ndet[K2_NDET_MAX];
	uint64_t kmem_seed;
	const struct k2_mapstate *maps;
};

/* The i-th non-deterministic value of an input (ndet[i], or a fixed stream past n_ndet). */
uint64_t k2_ndet_value(const struct k2_input *in, uint32_t i);
/* A byte of modelled kernel memory. */
uint8_t k2_kmem_byte(uint64_t seed, uint64_t addr);

enum k2_status {
	K2_RUN_OK = 0,
	K2_RUN_EMEM,     /* access outside its region, or through a non-pointer */
	K2_RUN_EUNINIT,  /* read of an uninitialised register or stack byte */
	K2_RUN_EPTR,     /* pointer use the kernel forbids (arithmetic, leak, compare) */
	K2_RUN_EHELPER,  /* helper unknown for the program type, or bad arguments */
	K2_RUN_ESTEPS,   /* step budget exhausted (a loop that does not end) */
	K2_RUN_EDEPTH,   /* bpf-to-bpf calls nested too deep */
	K2_RUN_EINSN,    /* instruction the interpreter cannot execute (e.g. kfunc) */
	K2_RUN_ECAP,     /* the run outgrew the interpreter's preallocated room (map slots,
			  * effects, window write log): not a property of the program */
	K2_RUN__COUNT
};

/* Short name of a status ("ok", "emem", ...). */
const char *k2_status_name(enum k2_status st);

/* A side effect, in program order: helper calls with effects outside registers and maps. */
struct k2_effect {
	uint32_t helper;    /* helper id (bpf_func_id) */
	uint32_t insn;      /* instruction index of the call */
	uint64_t args[5];   /* scalar arguments (pointers are replaced by their data below) */
	uint32_t data_off;  /* copied bytes (perf/ringbuf data, printk format) in effect_data */
	uint32_t data_len;
	int64_t ret;        /* what the helper returned */
};

/*
 * What one run produced. Pointers refer into the interpreter and stay valid until
 * its next run. Map changes are read with k2_vm_map_*.
 */
struct k2_result {
	enum k2_status status;
	uint32_t err_insn;      /* instruction of the error */
	const char *err_reason; /* static string for the error */
	uint64_t r0;
	uint64_t steps;         /* instructions executed */
	const uint8_t *pkt;     /* final packet as test_run's data_out: XDP from data_meta,
				 * socket filter with the 14 link-layer bytes zeroed */
	uint32_t pkt_len;
	uint32_t meta_len;      /* bytes of XDP metadata before data (included in pkt) */
	const uint8_t *ctx;     /* ctx_out as test_run writes it (xdp_md, __sk_buff) */
	uint32_t ctx_len;
	const struct k2_effect *effects;
	uint32_t n_effects;
	const uint8_t *effect_data;
	bool tail_call;         /* ended by a tail call into a populated prog_array slot */
	uint32_t tail_map;      /* its map and index (the last effect records it too) */
	uint32_t tail_index;
};

/*
 * The interpreter for one program: preallocated once, then run many times without
 * allocating. The program is checked once (k2_insns_check) and decoded into a compact
 * form when the VM is made or given new instructions. A VM (and the window states made
 * for it) belongs to one thread at a time; make one VM per thread.
 *
 * Semantic decisions (the kernel, 6.18, was measured for each; tests/semantics holds them):
 * - Everything a run may observe is deterministic. Where root's verifier accepts a program
 *   whose result depends on garbage or on real addresses, the run is an error instead:
 *   reading uninitialised stack (also as helper memory) is K2_RUN_EUNINIT; returning a
 *   pointer, storing one anywhere but an aligned 8-byte stack slot, pointer arithmetic other
 *   than 64-bit add/sub of a scalar (or the difference of two pointers into one object),
 *   compares of pointers into different objects or with a non-zero scalar are K2_RUN_EPTR.
 * - After a helper that moves packet bounds, every packet pointer (registers and spills of
 *   every frame) is uninitialised, as the verifier invalidates them.
 * - Context access follows the verifier's per-type rules: offsets, sizes, narrow loads,
 *   read-only fields, constant offset from the unmodified context pointer.
 * - A failed tail call (index out of range, empty slot, 33 tail calls) returns -ENOENT in
 *   r0 and falls through (the kernel's JIT leaves r0 undefined there); a successful one ends
 *   the run with K2_RUN_OK, res->tail_call set and r0 as it was.
 * - Hash maps count elements as the kernel: a new key in a full map is -E2BIG (LPM:
 *   -ENOSPC); LRU maps evict the least recently used element by the run's own order (the
 *   kernel's per-CPU LRU lists may pick another victim: a known approximation).
 * - Updating an existing element of a non-per-CPU hash or LPM map makes a new element, so
 *   pointers from an earlier lookup no longer reach the map (as the kernel's replace).
 * - Helpers without a deterministic result (ktime, prandom, pid/uid, cgroup id, jiffies,
 *   fib_lookup, comm) read the input's ndet values in call order; get_smp_processor_id is
 *   the input's cpu; probe_read_kernel/user read modelled kernel memory (k2_kmem_byte),
 *   faulting (-EFAULT, zeroed buffer) on the NULL page and on the other half of the
 *   address space; trace_printk returns the length its integer, %c, %s (program memory)
 *   and %p (16 characters) conversions print.
 * - Map-in-map elements hold the index of the inner map among the program's maps.
 */
struct k2_vm;

struct k2_vm_opts {
	size_t sz;              /* sizeof(struct k2_vm_opts) */
	uint64_t max_steps;     /* 0: the kernel's limit for a loop-free walk (1M) */
	enum k2_isa max_isa;    /* 0: v4 */
	uint32_t max_slots;     /* map elements one run may touch; 0: 512 */
	const int32_t *map_fds; /* ld_imm64 MAP_FD/MAP_VALUE: fd of each map (n_maps entries);
				 * NULL: the fd is taken as the map index */
};

int k2_vm_new(const struct k2_prog *prog, const struct k2_vm_opts *opts, struct k2_vm **out,
	      struct k2_err *e);
void k2_vm_free(struct k2_vm *vm);
/* Swaps in other instructions of the same program type and maps (a candidate). The code
 * buffer grows only for a program longer than any before (k2_insns_check itself takes a
 * small scratch). After a failure the VM runs nothing (K2_RUN_EINSN) until a success. */
int k2_vm_set_insns(struct k2_vm *vm, const struct bpf_insn *insns, uint32_t n, struct k2_err *e);

/* Runs the whole program on one input. Returns 0 (the outcome is in res->status). */
int k2_vm_run(struct k2_vm *vm, const struct k2_input *in, struct k2_result *res);

/* After a run: the value of a key now (-ENOENT if absent or deleted by the run); per-CPU
 * maps give ncpus values (the run changed only its CPU's). */
int k2_vm_map_lookup(const struct k2_vm *vm, uint32_t map, const void *key, void *value);
/* After a run: applies the run's map changes to a state (e.g. to compare with the kernel's). */
int k2_vm_map_commit(const struct k2_vm *vm, struct k2_mapstate *ms);
/* After a run: whether the run changed a map (element added, deleted or written). */
bool k2_vm_map_changed(const struct k2_vm *vm, uint32_t map);

/*
 * Window mode, for the search. A window is a contiguous region insns[s, e) of a program
 * with one entry and no calls inside; its test inputs are machine states at its entry.
 *
 * A state (struct k2_wstate) is the whole machine at one point: registers with types,
 * every live stack frame (bytes, which bytes are initialised, spilled pointers), the
 * packet page and its bounds, the context, the map elements the run had touched (slots)
 * and the input it came from. Get one by
 *   k2_vm_snapshot()  run the whole program on an input until the first arrival at pc;
 *   k2_wstate_init()  the entry state of an input (pc 0), then change it by hand with
 *                     k2_wstate_set_reg / k2_wstate_write / k2_wstate_add_slot (this is
 *                     how an SMT counterexample becomes a test: registers and types,
 *                     memory bytes at the addresses of the layout above).
 *
 * k2_window_set() decodes a candidate (any length, jumps may leave it: a jump to
 * pc + 1 + off outside [0, n) is an exit named by its distance past the end, target - n,
 * so 0 is falling off the end; the same exit of the original window has the same number).
 * k2_vm_wrun() runs it on a state until control leaves, then puts the state back as it
 * was: nothing is copied per run; stores go to the state and are undone from a write log.
 * The output holds every register with its type, the exit, and every memory byte that
 * differs from the state (address, before, after, whether initialised before/after).
 * An EXIT inside a window ends it with exit K2_WEXIT_RETURN and r0 as the result.
 */
struct k2_wstate;
struct k2_window;

#define K2_WLOG_MAX 128          /* stores one window run may log */
#define K2_WOUT_BYTES 256        /* changed bytes one output can hold */
#define K2_WEXIT_RETURN INT32_MIN

struct k2_wbyte {
	uint64_t addr;
	uint8_t before, after;
	uint8_t init_before, init_after; /* stack: byte initialised; other regions 1 */
};

struct k2_wout {
	enum k2_status status;
	uint32_t err_insn;           /* window-relative */
	const char *err_reason;
	int32_t exit;                /* target - n, or K2_WEXIT_RETURN */
	uint32_t steps;
	uint64_t r[K2_NREGS];
	uint8_t t[K2_NREGS];         /* enum k2_rtype */
	uint32_t n_bytes;
	struct k2_wbyte bytes[K2_WOUT_BYTES]; /* sorted by address */
};

int k2_wstate_new(const struct k2_vm *vm, struct k2_wstate **out);
void k2_wstate_free(struct k2_wstate *st);
int k2_wstate_copy(struct k2_wstate *dst, const struct k2_wstate *src);
/* The state at pc 0 of a whole run on `in` (r1 = ctx, r10 = frame pointer). The input
 * must outlive the state (non-deterministic values and map contents are read from it). */
int k2_wstate_init(const struct k2_vm *vm, struct k2_wstate *st, const struct k2_input *in);
/*
 * Runs the whole program on `in` until control first arrives at `pc` (before executing
 * it) and stores the machine then in `st`. Returns 1 when captured, 0 when the run ended
 * without reaching pc (res, if non-NULL, says how), or a negative errno.
 */
int k2_vm_snapshot(struct k2_vm *vm, const struct k2_input *in, uint32_t pc,
		   struct k2_wstate *st, struct k2_result *res);
void k2_wstate_set_reg(struct k2_wstate *st, unsigned reg, enum k2_rtype t, uint64_t v);
void k2_wstate_get_reg(const struct k2_wstate *st, unsigned reg, enum k2_rtype *t, uint64_t *v);
/* Writes bytes at a synthetic address (stack bytes become initialised). -EFAULT outside
 * the region's bounds. */
int k2_wstate_write(struct k2_wstate *st, uint64_t addr, const void *buf, uint32_t len);
/* Writes a spilled register: the 8 bytes of v at an 8-byte aligned stack address, with the
 * type a fill gets back (as a store of the whole register leaves them). -EFAULT if the
 * address is not an aligned slot of a live frame. */
int k2_wstate_write_spill(struct k2_wstate *st, uint64_t addr, enum k2_rtype t, uint64_t v);
int k2_wstate_read(const struct k2_wstate *st, uint64_t addr, void *buf, uint32_t len);
/* Makes a map-value slot for (map, key) holding `value` (one CPU's); *addr gets the
 * address of its first byte, to be put in a register with K2_T_MAP_VALUE. */
int k2_wstate_add_slot(const struct k2_vm *vm, struct k2_wstate *st, uint32_t map,
		       const void *key, const void *value, uint64_t *addr);
/* Packet bounds of a state (offsets in the packet page). */
void k2_wstate_pkt_bounds(const struct k2_wstate *st, uint32_t *meta, uint32_t *data,
			  uint32_t *end);
int k2_wstate_set_pkt_bounds(struct k2_wstate *st, uint32_t meta, uint32_t data, uint32_t end);
/* The frame index the state executes in (0 = main function). */
uint32_t k2_wstate_frame(const struct k2_wstate *st);

int k2_window_new(struct k2_window **out);
void k2_window_free(struct k2_window *w);
/* Decodes a candidate for `vm`'s program (maps, program type). Rejects calls and
 * undecodable instructions with "insn N: reason". Allocates only when growing. */
int k2_window_set(struct k2_window *w, const struct k2_vm *vm, const struct bpf_insn *insns,
		  uint32_t n, struct k2_err *e);
/* Runs a window on a state (which is left as it was). Never allocates. Returns 0. */
int k2_vm_wrun(struct k2_vm *vm, const struct k2_window *w, struct k2_wstate *st,
	       struct k2_wout *out);
/*
 * Error cost between the original window's output `ref` and a candidate's `cand` on the
 * same state: popcount of XOR over the live-out registers (bit i of live = ri) plus over
 * every memory byte either changed (8 more per byte whose initialisation differs, 64 per
 * live register whose type differs). *error is set when the candidate failed (status)
 * while the reference did not, or they left by different exits.
 */
uint32_t k2_wout_distance(const struct k2_wout *ref, const struct k2_wout *cand, uint16_t live,
			  bool *error);

/*
 * Data-driven semantics cases (tests/semantics, .k2t files; the format is described in
 * tests/semantics/README.md): a program in text form, its maps and their contents, one
 * input, and what must come out. The interpreter's harness and the kernel harness read
 * the same files with k2_case_load().
 */
#define K2_CASE_MAPS 16
#define K2_CASE_EXPECTS 64

enum k2_expect_kind {
	K2_EXP_R0, K2_EXP_STATUS, K2_EXP_PKT, K2_EXP_MAP, K2_EXP_MAP_ABSENT, K2_EXP_N_EFFECTS,
	K2_EXP_EFFECT, K2_EXP_CTX32, K2_EXP_TAIL_CALL, K2_EXP_ERR_INSN, K2_EXP_META_LEN,
};

struct k2_expect {
	enum k2_expect_kind kind;
	uint32_t line;          /* in the case file */
	uint64_t val;           /* r0, status, count, ctx offset, tail index, insn, effect index */
	uint64_t val2;          /* ctx value, effect helper id */
	uint32_t map;
	uint8_t *key, *bytes;   /* map key / expected value, packet, effect data (NULL: any) */
	uint32_t len;
};

struct k2_case {
	char name[256];
	struct k2_prog prog;         /* type, insns, maps */
	struct k2_map maps[K2_CASE_MAPS];
	uint32_t ncpus;
	struct k2_mapstate *ms;      /* the maps' contents at entry */
	struct k2_input in;          /* in.maps = ms */
	struct k2_expect exp[K2_CASE_EXPECTS];
	uint32_t n_exp;
	char kernel_skip[128];       /* why the kernel cannot run this case ("" if it can) */
};

int k2_case_parse(const char *text, const char *name, struct k2_case **out, struct k2_err *e);
int k2_case_load(const char *path, struct k2_case **out, struct k2_err *e);
void k2_case_free(struct k2_case *c);
/* Runs a case in the interpreter; 0 when every expectation holds, else -EDOM with e->msg
 * "file:line: expected ..., got ...". */
int k2_case_run(const struct k2_case *c, struct k2_err *e);

/* `k2 run FILE.o -s SECTION --packet FILE.bin [--ctx FILE.bin] [--map-init ...]`. */
int k2_cmd_run(int argc, char **argv);

#endif
