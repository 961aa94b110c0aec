/* tests/unit/interp_util.h: building programs from text for the interpreter's unit tests. */
#ifndef INTERP_UTIL_H
#define INTERP_UTIL_H

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/k2bpf.h"

/* An XDP packet parser whose window [5, 9) builds a little-endian halfword from two packet
 * bytes (one ldxh does it): the search tests' usual subject. */
#define K2T_HALFWORD_XDP                                                                           \
	"r2 = *(u32 *)(r1 + 0)\n"                                                                  \
	"r3 = *(u32 *)(r1 + 4)\n"                                                                  \
	"r4 = r2\n"                                                                                \
	"r4 += 14\n"                                                                               \
	"if r4 > r3 goto out\n"                                                                    \
	"r5 = *(u8 *)(r2 + 12)\n"                                                                  \
	"r4 = *(u8 *)(r2 + 13)\n"                                                                  \
	"r4 <<= 8\n"                                                                               \
	"r4 |= r5\n"                                                                               \
	"r0 = r4\n"                                                                                \
	"exit\n"                                                                                   \
	"out:\n"                                                                                   \
	"r0 = 1\n"                                                                                 \
	"exit\n"

/* A program of `type` from assembler text; maps borrowed. Free insns with free(). */
static inline struct k2_prog prog_of(uint32_t type, const char *text, const struct k2_map *maps,
				     uint32_t n_maps)
{
	struct k2_prog p;
	struct k2_err e = { 0 };
	size_t n;

	memset(&p, 0, sizeof(p));
	p.type = type;
	p.maps = maps;
	p.n_maps = n_maps;
	cr_assert_eq(k2_asm_prog(text, &p.insns, &n, &e), 0, "%s", e.msg);
	p.n_insns = p.n_main = (uint32_t)n;
	return p;
}

static inline struct k2_vm *vm_of(const struct k2_prog *p)
{
	struct k2_vm *vm;
	struct k2_err e = { 0 };

	cr_assert_eq(k2_vm_new(p, NULL, &vm, &e), 0, "%s", e.msg);
	return vm;
}

static inline struct bpf_insn *insns_of(const char *text, uint32_t *n)
{
	struct bpf_insn *in;
	struct k2_err e = { 0 };
	size_t sz;

	cr_assert_eq(k2_asm_prog(text, &in, &sz, &e), 0, "%s", e.msg);
	*n = (uint32_t)sz;
	return in;
}

#endif
