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
#define K2_CTX_MAX 256         /* bytes of program-type context given by an input */
#define K2_NDET_MAX 64         /* non-deterministic helper values an input supplies */

/*
 * Map contents (the state of every map of one program): built once, shared by many
 * inputs, never changed by a run. Per-CPU maps hold one value per CPU (ncpus).
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

/*
 * One test input of a whole program: the packet, the context fields that do not come
 * from the packet, the values non-deterministic helpers return (in call order, shared
 * by every program run on this input so that two programs see the same), the CPU the
 * run is on, and the map contents at entry.
 */
struct k2_input {
	uint32_t pkt_len;
	uint32_t ctx_len;
	uint32_t n_ndet;
	uint32_t cpu;
	uint8_t pkt[K2_PKT_MAX];
	uint8_t ctx[K2_CTX_MAX];     /* struct xdp_md, struct __sk_buff, pt_regs, ... */
	uint64_t ndet[K2_NDET_MAX];
	const struct k2_mapstate *maps;
};

enum k2_status {
	K2_RUN_OK = 0,
	K2_RUN_EMEM,     /* access outside its region, or through a non-pointer */
	K2_RUN_EUNINIT,  /* read of an uninitialised register or stack byte */
	K2_RUN_EPTR,     /* pointer use the kernel forbids (arithmetic, leak, compare) */
	K2_RUN_EHELPER,  /* helper unknown for the program type, or bad arguments */
	K2_RUN_ESTEPS,   /* step budget exhausted (a loop that does not end) */
	K2_RUN_EDEPTH,   /* bpf-to-bpf calls nested too deep */
	K2_RUN_EINSN,    /* instruction the interpreter cannot execute (e.g. kfunc) */
};

/* A side effect, in program order: helper calls with effects outside registers and maps. */
struct k2_effect {
	uint32_t helper;    /* helper id (bpf_func_id) */
	uint32_t insn;      /* instruction index of the call */
	uint64_t args[5];   /* scalar arguments (pointers are replaced by their data below) */
	uint32_t data_off;  /* copied bytes (perf/ringbuf output, printk format), in the run's data */
	uint32_t data_len;
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
	const uint8_t *pkt;     /* final packet [data, data_end) */
	uint32_t pkt_len;
	uint32_t meta_len;      /* bytes of XDP metadata before data */
	const struct k2_effect *effects;
	uint32_t n_effects;
	const uint8_t *effect_data;
};

/*
 * The interpreter for one program: preallocated once, then run many times without
 * allocating. The program is checked once (k2_insns_check) when the VM is made.
 */
struct k2_vm;

struct k2_vm_opts {
	size_t sz;              /* sizeof(struct k2_vm_opts) */
	uint64_t max_steps;     /* 0: the kernel's limit for a loop-free walk (1M) */
	enum k2_isa max_isa;    /* 0: v4 */
};

int k2_vm_new(const struct k2_prog *prog, const struct k2_vm_opts *opts, struct k2_vm **out,
	      struct k2_err *e);
void k2_vm_free(struct k2_vm *vm);
/* Swaps in other instructions of the same program type and maps (a candidate). */
int k2_vm_set_insns(struct k2_vm *vm, const struct bpf_insn *insns, uint32_t n, struct k2_err *e);

/* Runs the whole program on one input. */
int k2_vm_run(struct k2_vm *vm, const struct k2_input *in, struct k2_result *res);

/* After a run: the value of a key now (-ENOENT if absent or deleted by the run). */
int k2_vm_map_lookup(const struct k2_vm *vm, uint32_t map, const void *key, void *value);
/* After a run: applies the run's map changes to a state (e.g. to compare with the kernel's). */
int k2_vm_map_commit(const struct k2_vm *vm, struct k2_mapstate *ms);

#endif
