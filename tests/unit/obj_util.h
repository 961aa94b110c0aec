/* tests/unit/obj_util.h: helpers of the object tests: a test-only compaction, ELF access. */
#ifndef K2_TESTS_OBJ_UTIL_H
#define K2_TESTS_OBJ_UTIL_H

#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/k2bpf.h"

#define XDP_TOOLS "/usr/lib/x86_64-linux-gnu/bpf/"

/* Built test objects: make compiles the .bpf.c files of tests/data there. */
static inline const char *obj_data(const char *name)
{
	static __thread char path[512];
	const char *dir = getenv("K2_TEST_DATA");

	snprintf(path, sizeof(path), "%s/%s", dir ? dir : "build/tests/data", name);
	return path;
}

/* The fillers of tests/data/dead_code.bpf.c: `goto +0` and the dead store `r9 = 32429`. */
static inline bool obj_is_ja0(const struct bpf_insn *in)
{
	return in->code == (BPF_JMP | BPF_JA) && !in->off && !in->imm;
}

static inline bool obj_is_dead_r9(const struct bpf_insn *in)
{
	return in->code == (BPF_ALU64 | BPF_MOV | BPF_K) && in->dst_reg == 9 && in->imm == 32429;
}

static inline bool obj_is_filler(const struct bpf_insn *in)
{
	return obj_is_ja0(in) || obj_is_dead_r9(in);
}

/*
 * Deletes the main-function instructions marked in del[] from a linked program and fixes
 * branch offsets, pseudo calls and callback loads (a branch to a deleted instruction goes to
 * the next kept one). Fills out (n - deleted slots) and old_to_new (n_main entries).
 */
static inline uint32_t obj_compact(const struct bpf_insn *in, uint32_t n, uint32_t n_main,
				   const bool *del, struct bpf_insn *out, int32_t *old_to_new)
{
	int32_t *ni = malloc((n + 1) * sizeof(*ni));
	uint32_t k = 0, j;

	for (uint32_t i = 0; i < n; i++) {
		bool gone = i < n_main && del[i];

		ni[i] = (int32_t)k;
		if (!gone)
			k++;
		if (i < n_main)
			old_to_new[i] = gone ? -1 : ni[i];
	}
	ni[n] = (int32_t)k;
	/* a deleted instruction's index is its successor's: jumps to it land there */
	for (uint32_t i = 0, o = 0; i < n; i++) {
		bool gone = i < n_main && del[i];
		const struct k2_opinfo *oi = k2_op_info(k2_insn_op(&in[i]));

		if (gone)
			continue;
		out[o] = in[i];
		if (oi->kind == K2_KIND_LDDW) {
			out[o + 1] = in[i + 1];
			if (k2_insn_op(&in[i]) == K2_OP_LDDW_FUNC)
				out[o].imm = ni[i + 1 + in[i].imm] - (int32_t)o - 1;
			if (i < n_main)
				old_to_new[i + 1] = (int32_t)o + 1;
			i++;
			o += 2;
			continue;
		}
		if ((oi->flags & K2_F_BRANCH) || k2_insn_op(&in[i]) == K2_OP_CALL_PSEUDO) {
			j = (uint32_t)k2_insn_target(&in[i], i);
			if (oi->kind == K2_KIND_JA && k2_insn_op(&in[i]) == K2_OP_JA32)
				out[o].imm = ni[j] - (int32_t)o - 1;
			else if (k2_insn_op(&in[i]) == K2_OP_CALL_PSEUDO)
				out[o].imm = ni[j] - (int32_t)o - 1;
			else
				out[o].off = (int16_t)(ni[j] - (int32_t)o - 1);
		}
		o++;
	}
	free(ni);
	return k;
}

/* Marks every `goto +0` of the main function; returns how many. */
static inline uint32_t obj_mark_fillers(const struct k2_prog *p, bool *del)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < p->n_main; i++) {
		del[i] = obj_is_filler(&p->insns[i]);
		n += del[i];
	}
	return n;
}

/* Compacts the fillers of a program's main function into the object; returns slots removed. */
static inline int obj_drop_fillers(struct k2_object *obj, struct k2_prog *p, struct k2_err *e)
{
	bool *del = calloc(p->n_insns, sizeof(*del));
	struct bpf_insn *out = calloc(p->n_insns, sizeof(*out));
	int32_t *o2n = calloc(p->n_main, sizeof(*o2n));
	uint32_t gone = obj_mark_fillers(p, del), n;
	int err;

	n = obj_compact(p->insns, p->n_insns, p->n_main, del, out, o2n);
	err = k2_object_set_main(obj, p, out, n, o2n, e);
	free(del);
	free(out);
	free(o2n);
	return err ? err : (int)gone;
}

static inline void *obj_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	void *buf;
	long n;

	*len = 0;
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(n > 0 ? (size_t)n : 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* The section header named `name` inside an ELF image (tests patch them in place). */
static inline Elf64_Shdr *obj_shdr(void *buf, const char *name, uint32_t *index)
{
	Elf64_Ehdr *eh = buf;
	Elf64_Shdr *sh = (Elf64_Shdr *)((char *)buf + eh->e_shoff);
	const char *names = (const char *)buf + sh[eh->e_shstrndx].sh_offset;

	for (uint32_t i = 1; i < eh->e_shnum; i++)
		if (!strcmp(names + sh[i].sh_name, name)) {
			if (index)
				*index = i;
			return &sh[i];
		}
	return NULL;
}

static inline void *obj_sec_data(void *buf, const char *name, uint64_t *size)
{
	Elf64_Shdr *sh = obj_shdr(buf, name, NULL);

	*size = 0;
	if (!sh)
		return NULL;
	*size = sh->sh_size;
	return (char *)buf + sh->sh_offset;
}

/* The symbol named `name` in an ELF image. */
static inline Elf64_Sym *obj_sym(void *buf, const char *name)
{
	Elf64_Ehdr *eh = buf;
	Elf64_Shdr *sh = (Elf64_Shdr *)((char *)buf + eh->e_shoff);

	for (uint32_t i = 1; i < eh->e_shnum; i++) {
		Elf64_Sym *y;
		const char *str;

		if (sh[i].sh_type != SHT_SYMTAB)
			continue;
		y = (Elf64_Sym *)((char *)buf + sh[i].sh_offset);
		str = (const char *)buf + sh[sh[i].sh_link].sh_offset;
		for (uint32_t k = 0; k < sh[i].sh_size / sizeof(*y); k++)
			if (!strcmp(str + y[k].st_name, name))
				return &y[k];
	}
	return NULL;
}

#endif
