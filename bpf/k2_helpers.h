/* bpf/k2_helpers.h: the helper functions a program may call: signatures, effects, program types. */
#ifndef K2_HELPERS_H
#define K2_HELPERS_H

#include <stdbool.h>
#include <stdint.h>

/* Argument kinds, as the kernel's bpf_func_proto describes them. */
enum k2_arg {
	K2_ARG_NONE = 0,
	K2_ARG_ANYTHING,       /* any initialised scalar */
	K2_ARG_CTX,            /* the program's context pointer */
	K2_ARG_MAP_PTR,        /* a map (ld_imm64 of a map) */
	K2_ARG_MAP_KEY,        /* pointer to key_size readable bytes */
	K2_ARG_MAP_VALUE,      /* pointer to value_size readable bytes */
	K2_ARG_MEM,            /* pointer to readable bytes, size in the next argument */
	K2_ARG_MEM_OR_NULL,    /* the same, or NULL with size 0 */
	K2_ARG_UNINIT_MEM,     /* pointer to writable bytes, size in the next argument */
	K2_ARG_SIZE,           /* size of the previous memory argument, > 0 */
	K2_ARG_SIZE_OR_ZERO,   /* size of the previous memory argument, may be 0 */
};

enum k2_ret {
	K2_RET_INTEGER = 0,
	K2_RET_VOID,
	K2_RET_MAP_VALUE_OR_NULL,
};

/* Effects of a helper (struct k2_helper.flags). */
#define K2_H_NONDET     (1u << 0) /* result not a function of the arguments: read from the input */
#define K2_H_EFFECT     (1u << 1) /* an ordered side effect that equivalence must preserve */
#define K2_H_MAP_WRITE  (1u << 2) /* changes map contents */
#define K2_H_PKT_CHANGE (1u << 3) /* moves packet bounds: packet pointers become invalid */
#define K2_H_TAIL_CALL  (1u << 4) /* may not return (tail call) */
#define K2_H_WRITES_MEM (1u << 5) /* writes into an UNINIT_MEM argument */

/* Program types a helper is offered to (struct k2_helper.types), by bpf_prog_type bit. */
#define K2_PT(t) (1ull << (t))

struct k2_helper {
	uint32_t id;        /* enum bpf_func_id */
	const char *name;   /* without the bpf_ prefix, as bpftool prints it */
	uint8_t nargs;
	uint8_t args[5];    /* enum k2_arg */
	uint8_t ret;        /* enum k2_ret */
	uint32_t flags;     /* K2_H_* */
	uint64_t types;     /* K2_PT(BPF_PROG_TYPE_...) mask */
};

/* The helper with this id, or NULL if the model does not know it. */
const struct k2_helper *k2_helper_find(uint32_t id);
/* Whether program type `type` may call helper `h`. */
bool k2_helper_allowed(const struct k2_helper *h, uint32_t type);
/* All known helpers, for iteration; *n receives the count. */
const struct k2_helper *k2_helper_table(uint32_t *n);

#endif
