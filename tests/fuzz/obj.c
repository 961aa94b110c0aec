/* tests/fuzz/obj.c: fuzz target for object reading; accepted objects must write back and re-read the same. */
#include <bpf/libbpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/k2_obj.h"

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
	replace_identity(obj);
	same_progs(ref, obj, "identity replacement");
	reread(obj, ref, "rewritten write");
	k2_object_free(obj);
	k2_object_free(ref);
	return 0;
}
