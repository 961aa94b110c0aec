/* tests/unit/cfg_prog.h: small programs (assembled from text) with maps, for the analysis tests. */
#ifndef K2_TEST_CFG_PROG_H
#define K2_TEST_CFG_PROG_H

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/k2bpf.h"

#define PB_MAX 1024

/* A program under construction, its maps and the k2_prog that describes it. */
struct pb {
	struct bpf_insn v[PB_MAX];
	uint32_t n;
	struct k2_map maps[4];
	struct k2_prog prog;
};

/* Assembles text (k2_asm_prog syntax, labels allowed) into p; fails the test on error. */
static inline void pb_asm(struct pb *p, const char *text)
{
	struct k2_err e = { 0 };
	struct bpf_insn *v;
	size_t n;

	cr_assert_eq(k2_asm_prog(text, &v, &n, &e), 0, "asm: %s", e.msg);
	cr_assert_leq(n, PB_MAX);
	memcpy(p->v, v, n * sizeof(*v));
	p->n = (uint32_t)n;
	free(v);
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

/* Finishes the program as type `type` with maps[0, n_maps). */
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

/* Assembles and analyses an XDP program (or `type`); fails the test on error. */
static inline struct k2_analysis *pb_analyze(struct pb *p, uint32_t type, uint32_t n_maps,
					     const char *text)
{
	struct k2_analysis *an;
	struct k2_err e = { 0 };

	pb_asm(p, text);
	cr_assert_eq(k2_analysis_new(pb_prog(p, type, n_maps), NULL, &an, &e), 0, "%s", e.msg);
	return an;
}

static inline struct k2_aval pb_reg_at(const struct k2_analysis *an, uint32_t i, int r)
{
	struct k2_astate st;

	cr_assert_eq(k2_absint_state_at(an->ai, i, &st), 0);
	cr_assert(st.reachable, "insn %u not reached", i);
	return st.regs[r];
}

static inline uint32_t pb_n_viol(const struct k2_analysis *an)
{
	uint32_t n;

	k2_absint_violations(an->ai, &n);
	return n;
}

static inline const char *pb_viol(const struct k2_analysis *an, uint32_t k)
{
	uint32_t n;
	const struct k2_violation *v = k2_absint_violations(an->ai, &n);

	return k < n ? v[k].msg : "";
}

#endif
