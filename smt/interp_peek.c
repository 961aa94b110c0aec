/* smt/interp_peek.c: the two facts smt/ takes from the interpreter's insides (one semantics). */
#include <string.h>

#include "bpf/vm_internal.h"
#include "smt/interp_peek.h"

/*
 * The context table must be the interpreter's own, not a copy that could drift: which
 * offsets and sizes each program type may read or write and which fields are pointers.
 * The replay reads the context a run ended with (test_run writes back only part of it, but
 * tc_classid and the like are outputs of a tc program too).
 */
void k2s_ctx_describe(uint32_t type, uint32_t attach_type, struct k2s_ctxdesc *out)
{
	struct k2_ctxdesc d;

	k2_ctx_describe(type, attach_type, &d);
	memcpy(out->rd, d.rd, sizeof(out->rd));
	memcpy(out->wr, d.wr, sizeof(out->wr));
	memcpy(out->ptr, d.ptr, sizeof(out->ptr));
	out->size = d.size;
	out->out_size = d.out_size;
}

const uint8_t *k2s_vm_ctx(const struct k2_vm *vm)
{
	return vm->m.ctx;
}
