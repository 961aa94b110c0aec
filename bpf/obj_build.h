/* bpf/obj_build.h: internal state of k2_object_build (obj_build.c and btf_build.c). */
#ifndef K2_OBJ_BUILD_H
#define K2_OBJ_BUILD_H

#include "bpf/obj_internal.h"

#define K2_BUILD_MAX_MAPS 1024

/* A relocation of a built function: to a map (index in k2_build.maps) or a function. */
struct k2_build_rel {
	uint32_t at;     /* instruction within the function */
	int32_t map;     /* or -1 */
	int32_t func;    /* k2_build.funcs index, or -1 */
	bool callback;   /* ld_imm64 of a function (else a call) */
};

struct k2_build_func {
	char name[K2_NAME_MAX];
	uint32_t sec;            /* k2_build.secs index */
	bool entry;              /* an entry program (global), else a .text subprogram (static) */
	uint32_t off, n;         /* instructions, within its section */
	struct bpf_insn *raw;    /* raw ELF encoding, call/callback imms filled at layout */
	struct k2_build_rel *rels;
	uint32_t n_rels;
	uint32_t btf_id;
	uint32_t sym;
};

/* A code section: .text (index 0) or a program section. */
struct k2_build_sec {
	char name[K2_SEC_MAX];
	uint32_t n_funcs;
	uint32_t n;              /* instructions */
	uint32_t btf_name;       /* offset of the name in the BTF strings */
};

struct k2_build {
	const struct k2_map *maps; /* in the order the reader will number them */
	uint32_t n_maps;
	struct k2_build_func *funcs;
	uint32_t n_funcs;
	struct k2_build_sec *secs;
	uint32_t n_secs;
	void *btf, *btfext;
	uint32_t btf_len, btfext_len;
};

int k2_btf_build(struct k2_build *b, struct k2_err *e);
/* Bytes a BTF-defined map's definition takes in .maps (8 per field). */
uint32_t k2_btf_def_size(const struct k2_map *m);
int k2_btfext_build(struct k2_build *b, struct k2_err *e);

#endif
