/* tests/unit/cfg_prog.h: building small programs and programs with maps for the analysis tests. */
#ifndef K2_TEST_CFG_PROG_H
#define K2_TEST_CFG_PROG_H

#include <string.h>

#include "bpf/k2bpf.h"

#define PB_MAX 512

/* A program under construction; E() appends one instruction (two slots for ld_imm64). */
struct pb {
	struct bpf_insn v[PB_MAX];
	uint32_t n;
	struct k2_map maps[4];
	struct k2_prog prog;
};

static inline uint32_t E(struct pb *p, enum k2_op op, int dst, int src, int off, int64_t imm)
{
	uint32_t at = p->n;

	p->n += (uint32_t)k2_insn_encode(op, (uint8_t)dst, (uint8_t)src, (int16_t)off, imm,
					 &p->v[p->n]);
	return at;
}

/* Sets the jump at `at` to land on `target`. */
static inline void J(struct pb *p, uint32_t at, uint32_t target)
{
	if (k2_insn_op(&p->v[at]) == K2_OP_JA32 || k2_insn_op(&p->v[at]) == K2_OP_CALL_PSEUDO)
		p->v[at].imm = (int32_t)target - (int32_t)at - 1;
	else
		p->v[at].off = (int16_t)((int32_t)target - (int32_t)at - 1);
}

/* Finishes the program as type `type` with the maps set up so far (n_maps). */
static inline struct k2_prog *pb_prog(struct pb *p, uint32_t type, uint32_t n_maps)
{
	memset(&p->prog, 0, sizeof(p->prog));
	strcpy(p->prog.name, "test");
	strcpy(p->prog.sec, type == BPF_PROG_TYPE_XDP ? "xdp" : "tc");
	p->prog.type = type;
	p->prog.insns = p->v;
	p->prog.n_insns = p->n;
	p->prog.n_main = p->n;
	p->prog.maps = p->maps;
	p->prog.n_maps = n_maps;
	p->prog.license = "GPL";
	return &p->prog;
}

static inline void pb_map(struct pb *p, int i, uint32_t type, uint32_t ks, uint32_t vs)
{
	memset(&p->maps[i], 0, sizeof(p->maps[i]));
	snprintf(p->maps[i].name, sizeof(p->maps[i].name), "m%d", i);
	p->maps[i].type = type;
	p->maps[i].key_size = ks;
	p->maps[i].value_size = vs;
	p->maps[i].max_entries = 16;
	p->maps[i].inner = -1;
}

#endif
