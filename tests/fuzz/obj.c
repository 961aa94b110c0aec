/* tests/fuzz/obj.c: object reading; accepted objects write back, rebuild, re-read the same. */
#include <bpf/libbpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/obj_internal.h"

static void fail(const char *what, const char *msg)
{
	fprintf(stderr, "obj fuzz: %s: %s\n", what, msg);
	abort();
}

static void same_progs(const struct k2_object *a, const struct k2_object *b, const char *what)
{
	if (a->n_progs != b->n_progs || a->n_maps != b->n_maps)
		fail(what, "program or map count changed");
	for (uint32_t i = 0; i < a->n_progs; i++)
		if (a->progs[i].n_insns != b->progs[i].n_insns ||
		    a->progs[i].n_main != b->progs[i].n_main ||
		    memcmp(a->progs[i].insns, b->progs[i].insns,
			   a->progs[i].n_insns * sizeof(struct bpf_insn)))
			fail(what, a->progs[i].name);
}

/* Writes obj to memory, reads it back and compares it with ref. */
static void reread(const struct k2_object *obj, const struct k2_object *ref, const char *what)
{
	struct k2_object *back = NULL;
	struct k2_err e = { 0 };
	void *buf = NULL;
	size_t n = 0;

	if (k2_object_write_mem(obj, &buf, &n, &e))
		fail(what, e.msg);
	if (k2_object_open_mem(buf, n, "written.o", &back, &e))
		fail(what, e.msg);
	same_progs(ref, back, what);
	k2_object_free(back);
	free(buf);
}

/* Replaces every main function with itself: raw encoding and relocations are rebuilt. */
static void replace_identity(struct k2_object *obj)
{
	for (uint32_t p = 0; p < obj->n_progs; p++) {
		struct k2_prog *pr = &obj->progs[p];
		struct bpf_insn *copy = malloc(pr->n_insns * sizeof(*copy));
		int32_t *id = malloc(pr->n_main * sizeof(*id));
		struct k2_err e = { 0 };

		if (!copy || !id)
			abort();
		memcpy(copy, pr->insns, pr->n_insns * sizeof(*copy));
		for (uint32_t i = 0; i < pr->n_main; i++)
			id[i] = (int32_t)i;
		if (k2_object_set_main(obj, pr, copy, pr->n_insns, id, &e))
			fail("identity replacement", e.msg);
		free(copy);
		free(id);
	}
}

/* k2_object_build from the k2 form; when it accepts, the image must read back the same. */
static void rebuild(const struct k2_object *obj)
{
	struct k2_build_prog *bp = calloc(obj->n_progs, sizeof(*bp));
	const char **names = NULL;
	uint32_t *at = NULL, n = 0;
	struct k2_object *back = NULL;
	struct k2_err e = { 0 };
	void *buf = NULL;
	size_t len = 0;

	for (uint32_t p = 0; p < obj->n_progs; p++)
		n += obj->elf->pinfo[p].n_subs;
	names = calloc(n + 1, sizeof(*names));
	at = calloc(n + 1, sizeof(*at));
	if (!bp || !names || !at)
		abort();
	n = 0;
	for (uint32_t p = 0; p < obj->n_progs; p++) {
		const struct k2_pinfo *pi = &obj->elf->pinfo[p];

		bp[p] = (struct k2_build_prog){ obj->progs[p].name, obj->progs[p].sec,
						obj->progs[p].insns, obj->progs[p].n_insns,
						pi->n_subs, names + n, at + n };
		for (uint32_t k = 0; k < pi->n_subs; k++, n++) {
			const struct k2_efunc *f = &obj->elf->funcs[pi->subs[k].func];

			names[n] = f->sym ? obj->elf->syms[f->sym].name : "";
			at[n] = pi->subs[k].at;
		}
	}
	if (!k2_object_build(obj->maps, obj->n_maps, bp, obj->n_progs, obj->license,
			     obj->kern_version, &buf, &len, &e)) {
		if (k2_object_open_mem(buf, len, "built.o", &back, &e))
			fail("rebuilt object", e.msg);
		if (back->n_progs != obj->n_progs)
			fail("rebuilt object", "program count changed");
		/* programs of same-named sections share one section now: match them by name */
		for (uint32_t p = 0; p < obj->n_progs; p++) {
			uint32_t q = 0;

			while (q < back->n_progs && strcmp(back->progs[q].name, obj->progs[p].name))
				q++;
			if (q == back->n_progs || back->progs[q].n_insns != obj->progs[p].n_insns)
				fail("rebuilt object", obj->progs[p].name);
		}
		k2_object_free(back);
	}
	free(buf);
	free(bp);
	free(names);
	free(at);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct k2_object *obj = NULL, *ref = NULL;
	struct k2_err e = { 0 };

	libbpf_set_print(NULL); /* malformed BTF makes libbpf chatty */
	if (k2_object_open_mem(data, size, "fuzz.o", &obj, &e)) {
		if (!e.msg[0] || e.code >= 0)
			fail("refused", "without a message");
		return 0;
	}
	if (k2_object_open_mem(data, size, "fuzz.o", &ref, &e))
		fail("second open", e.msg);
	reread(obj, ref, "unchanged write");
	rebuild(obj);
	replace_identity(obj);
	same_progs(ref, obj, "identity replacement");
	reread(obj, ref, "rewritten write");
	k2_object_free(obj);
	k2_object_free(ref);
	return 0;
}
