/* bpf/mem.c: memory behind synthetic addresses: region checks, stack init, spills, atomics. */
#include <string.h>

#include "bpf/vm_internal.h"

static uint8_t *fail_null(struct k2_machine *m, enum k2_status st, const char *why)
{
	k2_fail(m, st, why);
	return NULL;
}

static bool fits(uint64_t off, uint64_t size, uint64_t lo, uint64_t hi)
{
	return off >= lo && off <= hi && size <= hi - off;
}

uint8_t *k2_mem_resolve(struct k2_vm *vm, struct k2_machine *m, uint8_t t, uint64_t addr,
			uint32_t size, bool write, uint8_t **init)
{
	uint64_t rel;
	uint32_t idx, off;

	*init = NULL;
	switch (t) {
	case K2_T_STACK:
		rel = addr - K2_ADDR(K2_RGN_STACK, 0, 0);
		idx = (uint32_t)(rel >> 32);
		off = (uint32_t)rel;
		if ((rel >> 32) > m->depth || !fits(off, size, 0, K2_STACK_SIZE))
			return fail_null(m, K2_RUN_EMEM, "stack access out of bounds");
		*init = m->sinit + idx * K2_STACK_SIZE + off;
		return m->stack + idx * K2_STACK_SIZE + off;
	case K2_T_PKT:
		rel = addr - K2_ADDR(K2_RGN_PKT, 0, 0);
		if (!fits(rel, size, m->data_off, m->end_off))
			return fail_null(m, K2_RUN_EMEM, "packet access out of bounds");
		return m->pkt + rel;
	case K2_T_PKT_META:
		rel = addr - K2_ADDR(K2_RGN_PKT, 0, 0);
		if (!fits(rel, size, m->meta_off, m->data_off))
			return fail_null(m, K2_RUN_EMEM, "packet metadata access out of bounds");
		return m->pkt + rel;
	case K2_T_MAP_VALUE:
		rel = addr - K2_ADDR(K2_RGN_MAPVAL, 0, 0);
		idx = (uint32_t)(rel >> 32);
		off = (uint32_t)rel;
		if ((rel >> 32) >= m->n_slots || !fits(off, size, 0, m->slots[idx].vsize))
			return fail_null(m, K2_RUN_EMEM, "map value access out of bounds");
		if (write) {
			if (m->slots[idx].ro)
				return fail_null(m, K2_RUN_EMEM,
						 "write into a read-only map value");
			if (m->slots[idx].state == K2_SLOT_PRESENT)
				m->changed[m->slots[idx].map] = 1;
		}
		return k2_slot_val(m, idx) + off;
	case K2_T_UNINIT:
		return fail_null(m, K2_RUN_EUNINIT,
				 "memory access through an uninitialised register");
	case K2_T_SCALAR:
		return fail_null(m, K2_RUN_EMEM, "memory access through a scalar (or NULL)");
	case K2_T_PKT_END:
		return fail_null(m, K2_RUN_EMEM, "access through data_end");
	default:
		(void)vm;
		return fail_null(m, K2_RUN_EMEM, "memory access through a pointer of this type");
	}
}

int k2_wlog_add(struct k2_machine *m, uint64_t addr, uint8_t *host, uint8_t *init, uint8_t *spill,
		uint32_t size)
{
	struct k2_wlog_ent *e;

	if (m->log->n >= K2_WLOG_MAX)
		return k2_fail(m, K2_RUN_ECAP,
			       "window run made more stores than the write log holds");
	e = &m->log->e[m->log->n++];
	e->addr = addr;
	e->host = host;
	e->init = init;
	e->spill = spill;
	e->size = (uint8_t)size;
	memcpy(e->old, host, size);
	if (init)
		memcpy(e->old_init, init, size);
	e->old_spill = spill ? *spill : 0;
	return 0;
}

/* Spill slots [first, last] touched by a stack access at host offset `so`. */
static uint8_t *spill_of(struct k2_machine *m, const uint8_t *host, uint32_t size, uint32_t *n)
{
	uint32_t so = (uint32_t)(host - m->stack);

	*n = (so + size - 1) / 8 - so / 8 + 1;
	return m->spill + so / 8;
}

static bool all_init(const uint8_t *init, uint32_t size)
{
	for (uint32_t i = 0; i < size; i++)
		if (!init[i])
			return false;
	return true;
}

static uint64_t sext(uint64_t v, uint32_t size)
{
	unsigned sh = 64 - size * 8;

	return (uint64_t)((int64_t)(v << sh) >> sh);
}

int k2_mem_load(struct k2_vm *vm, struct k2_machine *m, uint8_t t, uint64_t base, int16_t off16,
		uint32_t size, bool sx, uint64_t *val, uint8_t *vt)
{
	uint64_t addr = base + (uint64_t)(int64_t)off16;
	uint8_t *init, *host, *sp;
	uint32_t nsp;
	uint64_t v = 0;

	if (t == K2_T_CTX) {
		uint64_t off = addr - K2_ADDR(K2_RGN_CTX, 0, 0);

		if (base != K2_ADDR(K2_RGN_CTX, 0, 0))
			return k2_fail(m, K2_RUN_EMEM, "dereference of a modified context pointer");
		if (sx)
			return k2_fail(m, K2_RUN_EMEM, "sign-extending load from the context");
		if (off >= K2_CTX_MAX)
			return k2_fail(m, K2_RUN_EMEM, "context access out of bounds");
		return k2_ctx_load(vm, m, (uint32_t)off, size, val, vt);
	}
	host = k2_mem_resolve(vm, m, t, addr, size, false, &init);
	if (!host)
		return K2_STOP_ERROR;
	*vt = K2_T_SCALAR;
	if (init) {
		if (!all_init(init, size))
			return k2_fail(m, K2_RUN_EUNINIT, "read of uninitialised stack");
		sp = spill_of(m, host, size, &nsp);
		if (sp[0] != K2_T_SCALAR || sp[nsp - 1] != K2_T_SCALAR) {
			if (size != 8 || nsp != 1 || sx)
				return k2_fail(m, K2_RUN_EPTR, "partial read of a spilled pointer");
			*vt = sp[0];
		}
	}
	memcpy(&v, host, size);
	*val = sx ? sext(v, size) : v;
	return 0;
}

int k2_mem_store(struct k2_vm *vm, struct k2_machine *m, uint8_t t, uint64_t base, int16_t off16,
		 uint32_t size, uint64_t val, uint8_t vt)
{
	uint64_t addr = base + (uint64_t)(int64_t)off16;
	uint8_t *init, *host, *sp = NULL;
	uint32_t nsp = 0;

	if (vt == K2_T_UNINIT)
		return k2_fail(m, K2_RUN_EUNINIT, "store of an uninitialised register");
	if (t == K2_T_CTX) {
		uint64_t off = addr - K2_ADDR(K2_RGN_CTX, 0, 0);

		if (base != K2_ADDR(K2_RGN_CTX, 0, 0))
			return k2_fail(m, K2_RUN_EMEM, "dereference of a modified context pointer");
		if (vt != K2_T_SCALAR)
			return k2_fail(m, K2_RUN_EPTR, "pointer stored into the context");
		if (off >= K2_CTX_MAX)
			return k2_fail(m, K2_RUN_EMEM, "context access out of bounds");
		return k2_ctx_store(vm, m, (uint32_t)off, size, val);
	}
	host = k2_mem_resolve(vm, m, t, addr, size, true, &init);
	if (!host)
		return K2_STOP_ERROR;
	if (init) {
		sp = spill_of(m, host, size, &nsp);
		if (vt != K2_T_SCALAR && (size != 8 || nsp != 1))
			return k2_fail(m, K2_RUN_EPTR, "pointer spilled with a partial store");
		if ((sp[0] != K2_T_SCALAR || sp[nsp - 1] != K2_T_SCALAR) && (size != 8 || nsp != 1))
			return k2_fail(m, K2_RUN_EPTR, "partial overwrite of a spilled pointer");
	} else if (vt != K2_T_SCALAR) {
		return k2_fail(m, K2_RUN_EPTR, "pointer leaked into memory");
	}
	if (m->log && k2_wlog_add(m, addr, host, init, sp, size))
		return K2_STOP_ERROR;
	memcpy(host, &val, size);
	if (init) {
		memset(init, 1, size);
		sp[0] = vt;
		if (nsp > 1)
			sp[nsp - 1] = K2_T_SCALAR;
	}
	return 0;
}

static uint64_t atomic_alu(uint8_t aluop, uint64_t old, uint64_t src)
{
	switch (aluop) {
	case BPF_ADD:
		return old + src;
	case BPF_OR:
		return old | src;
	case BPF_AND:
		return old & src;
	case BPF_XOR:
		return old ^ src;
	default: /* BPF_XCHG */
		return src;
	}
}

int k2_mem_atomic(struct k2_vm *vm, struct k2_machine *m, const struct k2_dinsn *d)
{
	const struct k2_opinfo *oi = k2_op_info((enum k2_op)d->op);
	uint32_t size = oi->width / 8;
	uint64_t base = m->r[d->dst], old, nv, mask = size == 8 ? ~0ull : 0xffffffffull;
	uint8_t t = m->t[d->dst], vt;
	bool cmpx = oi->aluop == BPF_CMPXCHG;

	if (t != K2_T_STACK && t != K2_T_MAP_VALUE) {
		if (t == K2_T_UNINIT)
			return k2_fail(m, K2_RUN_EUNINIT,
				       "atomic through an uninitialised register");
		return k2_fail(m, K2_RUN_EMEM, "atomic operation outside the stack and map values");
	}
	if (m->t[d->src] != K2_T_SCALAR)
		return k2_fail(m, m->t[d->src] == K2_T_UNINIT ? K2_RUN_EUNINIT : K2_RUN_EPTR,
			       "atomic operand is not an initialised scalar");
	if (cmpx && m->t[0] != K2_T_SCALAR)
		return k2_fail(m, m->t[0] == K2_T_UNINIT ? K2_RUN_EUNINIT : K2_RUN_EPTR,
			       "cmpxchg compares r0, which is not an initialised scalar");
	if (k2_mem_load(vm, m, t, base, d->off, size, false, &old, &vt))
		return K2_STOP_ERROR;
	if (vt != K2_T_SCALAR)
		return k2_fail(m, K2_RUN_EPTR, "atomic on a spilled pointer");
	if (cmpx) {
		nv = (old == (m->r[0] & mask)) ? m->r[d->src] : old;
		m->r[0] = old;
	} else {
		nv = atomic_alu(oi->aluop, old, m->r[d->src]);
	}
	if (k2_mem_store(vm, m, t, base, d->off, size, nv & mask, K2_T_SCALAR))
		return K2_STOP_ERROR;
	if (oi->flags & K2_F_FETCH)
		m->r[d->src] = old;
	return 0;
}

static uint8_t *helper_mem(struct k2_vm *vm, struct k2_machine *m, uint8_t t, uint64_t addr,
			   uint64_t len, bool write)
{
	uint8_t *init, *host, *sp;
	uint32_t nsp;

	if (t != K2_T_STACK && t != K2_T_PKT && t != K2_T_PKT_META && t != K2_T_MAP_VALUE)
		return fail_null(
			m, t == K2_T_UNINIT ? K2_RUN_EUNINIT : K2_RUN_EHELPER,
			"helper memory argument is not a stack, packet or map value pointer");
	if (len > K2_PKT_BUF)
		return fail_null(m, K2_RUN_EHELPER, "helper memory argument too large");
	host = k2_mem_resolve(vm, m, t, addr, (uint32_t)len, write, &init);
	if (!host || !init || !len)
		return host;
	sp = spill_of(m, host, (uint32_t)len, &nsp);
	if (write) {
		memset(init, 1, len);
		memset(sp, K2_T_SCALAR, nsp);
		return host;
	}
	if (!all_init(init, (uint32_t)len))
		return fail_null(m, K2_RUN_EUNINIT, "helper reads uninitialised stack");
	for (uint32_t i = 0; i < nsp; i++)
		if (sp[i] != K2_T_SCALAR)
			return fail_null(m, K2_RUN_EPTR, "helper reads a spilled pointer");
	return host;
}

const uint8_t *k2_mem_helper_read(struct k2_vm *vm, struct k2_machine *m, uint8_t t, uint64_t addr,
				  uint64_t len)
{
	return helper_mem(vm, m, t, addr, len, false);
}

uint8_t *k2_mem_helper_write(struct k2_vm *vm, struct k2_machine *m, uint8_t t, uint64_t addr,
			     uint64_t len)
{
	return helper_mem(vm, m, t, addr, len, true);
}

static bool is_pkt(uint8_t t)
{
	return t == K2_T_PKT || t == K2_T_PKT_END || t == K2_T_PKT_META;
}

/* After a helper that may move the packet, every packet pointer is invalid. */
void k2_mem_invalidate_pkt(struct k2_machine *m)
{
	for (int i = 0; i < K2_NREGS; i++)
		if (is_pkt(m->t[i]))
			m->t[i] = K2_T_UNINIT;
	for (uint32_t f = 0; f < m->depth; f++)
		for (int i = 0; i < 4; i++)
			if (is_pkt(m->fr[f].saved_t[i]))
				m->fr[f].saved_t[i] = K2_T_UNINIT;
	for (uint32_t s = 0; s < (m->depth + 1) * K2_STACK_SIZE / 8; s++)
		if (is_pkt(m->spill[s])) {
			m->spill[s] = K2_T_SCALAR;
			memset(m->sinit + s * 8, 0, 8);
		}
}
