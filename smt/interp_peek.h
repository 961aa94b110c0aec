/* smt/interp_peek.h: what smt/ reads from bpf/'s internals (see interp_peek.c). */
#ifndef K2_INTERP_PEEK_H
#define K2_INTERP_PEEK_H

#include <stdint.h>

#include "bpf/k2_interp.h"

struct k2s_ctxdesc {
	uint8_t rd[K2_CTX_MAX];  /* bit s: a read of s bytes at this offset is allowed */
	uint8_t wr[K2_CTX_MAX];
	uint8_t ptr[K2_CTX_MAX]; /* k2_rtype a 4-byte read here gives (data, data_end, ...) */
	uint32_t size, out_size;
};

void k2s_ctx_describe(uint32_t type, uint32_t attach_type, struct k2s_ctxdesc *out);
/* The context of the VM's last run, as the run left it. */
const uint8_t *k2s_vm_ctx(const struct k2_vm *vm);

#endif
