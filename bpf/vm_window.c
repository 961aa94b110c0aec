/* bpf/vm_window.c: window mode: entry states, runs that undo themselves, distances. */
#include <stdlib.h>
#include <string.h>

#include "bpf/vm_internal.h"

int k2_wstate_new(const struct k2_vm *vm, struct k2_wstate **out)
{
	struct k2_wstate *st = calloc(1, sizeof(*st));

	if (!st)
		return -ENOMEM;
	st->m.max_slots = vm->m.max_slots;
	if (k2_machine_alloc(vm, &st->m)) {
		k2_wstate_free(st);
		return -ENOMEM;
	}
	for (int i = 0; i < K2_NREGS; i++)
		st->m.t[i] = K2_T_UNINIT;
	*out = st;
	return 0;
}

void k2_wstate_free(struct k2_wstate *st)
{
	if (!st)
		return;
	k2_machine_free(&st->m);
	free(st);
}

int k2_wstate_copy(struct k2_wstate *dst, const struct k2_wstate *src)
{
	if (dst->m.max_slots != src->m.max_slots || dst->m.n_maps != src->m.n_maps ||
	    dst->m.kpool_cap < src->m.kpool_used || dst->m.vpool_cap < src->m.vpool_used)
		return -EINVAL;
	k2_machine_copy(src->m.n_maps, &dst->m, &src->m);
	return 0;
}

int k2_wstate_init(const struct k2_vm *vm, struct k2_wstate *st, const struct k2_input *in)
{
	k2_machine_start(vm, &st->m, in);
	return 0;
}

uint32_t k2_wstate_frame(const struct k2_wstate *st)
{
	return st->m.depth;
}

void k2_wstate_set_reg(struct k2_wstate *st, unsigned reg, enum k2_rtype t, uint64_t v)
{
	if (reg >= K2_NREGS)
		return;
	st->m.r[reg] = v;
	st->m.t[reg] = (uint8_t)t;
}

void k2_wstate_get_reg(const struct k2_wstate *st, unsigned reg, enum k2_rtype *t, uint64_t *v)
{
	if (reg >= K2_NREGS)
		return;
	*v = st->m.r[reg];
	*t = (enum k2_rtype)st->m.t[reg];
}

void k2_wstate_pkt_bounds(const struct k2_wstate *st, uint32_t *meta, uint32_t *data, uint32_t *end)
{
	*meta = st->m.meta_off;
	*data = st->m.data_off;
	*end = st->m.end_off;
}

int k2_wstate_set_pkt_bounds(struct k2_wstate *st, uint32_t meta, uint32_t data, uint32_t end)
{
	if (meta > data || data > end || end > K2_PKT_BUF - K2_PKT_TAILROOM ||
	    meta < K2_XDP_FRAME_SZ)
		return -EINVAL;
	st->m.meta_off = meta;
	st->m.data_off = data;
	st->m.end_off = end;
	return 0;
}

/* Host bytes behind a synthetic address, whatever the bounds a program would have. */
static uint8_t *raw(struct k2_machine *m, uint64_t addr, uint32_t len, uint8_t **init)
{
	uint32_t idx = K2_ADDR_IDX(addr), off = K2_ADDR_OFF(addr);

	*init = NULL;
	if ((addr & K2_ADDR_TOP) != K2_ADDR_TOP)
		return NULL;
	switch (K2_ADDR_RGN(addr)) {
	case K2_RGN_STACK:
		if (idx > m->depth || off > K2_STACK_SIZE || len > K2_STACK_SIZE - off)
			return NULL;
		*init = m->sinit + idx * K2_STACK_SIZE + off;
		return m->stack + idx * K2_STACK_SIZE + off;
	case K2_RGN_CTX:
		return idx || off > K2_CTX_MAX || len > K2_CTX_MAX - off ? NULL : m->ctx + off;
	case K2_RGN_PKT:
		return idx || off > K2_PKT_BUF || len > K2_PKT_BUF - off ? NULL : m->pkt + off;
	case K2_RGN_MAPVAL:
		if (idx >= m->n_slots || off > m->slots[idx].vsize ||
		    len > m->slots[idx].vsize - off)
			return NULL;
		return k2_slot_val(m, idx) + off;
	default:
		return NULL;
	}
}

int k2_wstate_write(struct k2_wstate *st, uint64_t addr, const void *buf, uint32_t len)
{
	uint8_t *init, *p = raw(&st->m, addr, len, &init);

	if (!p)
		return -EFAULT;
	memcpy(p, buf, len);
	if (init) {
		uint32_t so = (uint32_t)(p - st->m.stack);

		memset(init, 1, len);
		for (uint32_t s = so / 8; len && s <= (so + len - 1) / 8; s++)
			st->m.spill[s] = K2_T_SCALAR;
	}
	return 0;
}

int k2_wstate_write_spill(struct k2_wstate *st, uint64_t addr, enum k2_rtype t, uint64_t v)
{
	uint8_t *init, *p = raw(&st->m, addr, 8, &init);
	uint32_t so;

	if (!p || !init || (K2_ADDR_OFF(addr) & 7) || t >= K2_T__COUNT)
		return -EFAULT;
	so = (uint32_t)(p - st->m.stack);
	memcpy(p, &v, 8);
	memset(init, 1, 8);
	st->m.spill[so / 8] = (uint8_t)t;
	return 0;
}

int k2_wstate_read(const struct k2_wstate *st, uint64_t addr, void *buf, uint32_t len)
{
	uint8_t *init, *p = raw((struct k2_machine *)&st->m, addr, len, &init);

	if (!p)
		return -EFAULT;
	memcpy(buf, p, len);
	return 0;
}

int k2_wstate_add_slot(const struct k2_vm *vm, struct k2_wstate *st, uint32_t map, const void *key,
		       const void *value, uint64_t *addr)
{
	int32_t s;

	if (map >= vm->n_maps || !vm->maps[map].vsize)
		return -EINVAL;
	s = k2_ov_add((struct k2_vm *)vm, &st->m, map, key, value);
	if (s < 0)
		return -ENOSPC;
	*addr = K2_ADDR(K2_RGN_MAPVAL, (uint32_t)s, 0);
	return 0;
}

/* ---- window code ------------------------------------------------------------------------- */

int k2_window_new(struct k2_window **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

void k2_window_free(struct k2_window *w)
{
	if (!w)
		return;
	free(w->code);
	free(w);
}

int k2_window_set(struct k2_window *w, const struct k2_vm *vm, const struct bpf_insn *insns,
		  uint32_t n, struct k2_err *e)
{
	uint32_t need = 2 * n + 2;

	if (need > w->cap) {
		struct k2_dinsn *c = realloc(w->code, need * sizeof(*c));

		if (!c)
			return k2_err_set(e, -ENOMEM, "out of memory");
		w->code = c;
		w->cap = need;
	}
	w->n = 0;
	if (k2_decode(vm, insns, n, w->code, true, e))
		return e ? e->code : -EINVAL;
	w->n = n;
	return 0;
}

/* ---- running a window -------------------------------------------------------------------- */

struct saved {
	uint64_t r[K2_NREGS];
	uint8_t t[K2_NREGS];
	uint32_t depth, pc, n_slots, kpool_used, vpool_used, ndet_i;
	uint64_t steps, tick;
};

static void save(const struct k2_machine *m, struct saved *s)
{
	memcpy(s->r, m->r, sizeof(s->r));
	memcpy(s->t, m->t, sizeof(s->t));
	s->depth = m->depth;
	s->pc = m->pc;
	s->n_slots = m->n_slots;
	s->kpool_used = m->kpool_used;
	s->vpool_used = m->vpool_used;
	s->ndet_i = m->ndet_i;
	s->steps = m->steps;
	s->tick = m->tick;
}

static void restore(struct k2_machine *m, const struct saved *s)
{
	/* Slots a window made (ld_imm64 of a map value) leave the bucket chains newest first. */
	while (m->n_slots > s->n_slots) {
		struct k2_slot *sl = &m->slots[--m->n_slots];

		m->buckets[sl->bucket] = sl->next;
	}
	memcpy(m->r, s->r, sizeof(s->r));
	memcpy(m->t, s->t, sizeof(s->t));
	m->depth = s->depth;
	m->pc = s->pc;
	m->kpool_used = s->kpool_used;
	m->vpool_used = s->vpool_used;
	m->ndet_i = s->ndet_i;
	m->steps = s->steps;
	m->tick = s->tick;
	m->status = K2_RUN_OK;
	m->reason = NULL;
	m->log = NULL;
}

static int add_byte(struct k2_wout *out, const struct k2_wlog_ent *e, uint32_t i)
{
	uint64_t a = e->addr + i;
	uint32_t k;

	for (k = 0; k < out->n_bytes; k++)
		if (out->bytes[k].addr == a)
			return 0; /* the first store to a byte logged its original value */
	if (out->n_bytes >= K2_WOUT_BYTES)
		return -1;
	out->bytes[k].addr = a;
	out->bytes[k].before = e->old[i];
	out->bytes[k].after = e->host[i];
	out->bytes[k].init_before = e->init ? e->old_init[i] : 1;
	out->bytes[k].init_after = e->init ? e->init[i] : 1;
	out->n_bytes++;
	return 0;
}

static void sort_bytes(struct k2_wout *out)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < out->n_bytes; i++) {
		struct k2_wbyte b = out->bytes[i];
		uint32_t j;

		if (b.before == b.after && b.init_before == b.init_after)
			continue;
		for (j = n; j > 0 && out->bytes[j - 1].addr > b.addr; j--)
			out->bytes[j] = out->bytes[j - 1];
		out->bytes[j] = b;
		n++;
	}
	out->n_bytes = n;
}

/* Collects the changed bytes, then puts every logged store back, newest first. */
static int undo(struct k2_machine *m, struct k2_wout *out)
{
	struct k2_wlog *log = m->log;
	int full = 0;

	out->n_bytes = 0;
	for (uint32_t i = 0; i < log->n; i++)
		for (uint32_t b = 0; b < log->e[i].size; b++)
			full |= add_byte(out, &log->e[i], b);
	for (uint32_t i = log->n; i-- > 0;) {
		struct k2_wlog_ent *e = &log->e[i];

		memcpy(e->host, e->old, e->size);
		if (e->init)
			memcpy(e->init, e->old_init, e->size);
		if (e->spill)
			*e->spill = e->old_spill;
	}
	log->n = 0;
	sort_bytes(out);
	return full;
}

int k2_vm_wrun(struct k2_vm *vm, const struct k2_window *w, struct k2_wstate *st,
	       struct k2_wout *out)
{
	struct k2_machine *m = &st->m;
	struct saved sv;
	int32_t wexit = 0;
	int rc;

	save(m, &sv);
	m->log = &vm->log;
	m->log->n = 0;
	m->pc = 0;
	m->steps = 0;
	m->status = K2_RUN_OK;
	rc = k2_exec(vm, m, w->code, vm->max_steps, &wexit);
	out->status = rc == K2_STOP_ERROR ? m->status : K2_RUN_OK;
	out->err_insn = m->pc;
	out->err_reason = rc == K2_STOP_ERROR ? m->reason : NULL;
	out->exit = rc == K2_STOP_WEXIT ? wexit : 0;
	out->steps = (uint32_t)m->steps;
	memcpy(out->r, m->r, sizeof(out->r));
	memcpy(out->t, m->t, sizeof(out->t));
	if (undo(m, out) && out->status == K2_RUN_OK) {
		out->status = K2_RUN_ECAP;
		out->err_reason = "window changed more bytes than an output holds";
	}
	restore(m, &sv);
	return 0;
}

/* ---- distance ---------------------------------------------------------------------------- */

static uint32_t bytes_distance(const struct k2_wout *a, const struct k2_wout *b)
{
	uint32_t i = 0, j = 0, bits = 0;

	while (i < a->n_bytes || j < b->n_bytes) {
		const struct k2_wbyte *x = i < a->n_bytes ? &a->bytes[i] : NULL;
		const struct k2_wbyte *y = j < b->n_bytes ? &b->bytes[j] : NULL;
		uint8_t va, vb, ia, ib;

		if (x && (!y || x->addr < y->addr)) {
			va = x->after, ia = x->init_after, vb = x->before, ib = x->init_before;
			i++;
		} else if (y && (!x || y->addr < x->addr)) {
			va = y->before, ia = y->init_before, vb = y->after, ib = y->init_after;
			j++;
		} else {
			va = x->after, ia = x->init_after, vb = y->after, ib = y->init_after;
			i++, j++;
		}
		bits += (uint32_t)__builtin_popcount((unsigned)(va ^ vb)) + (ia != ib ? 8 : 0);
	}
	return bits;
}

uint32_t k2_wout_distance(const struct k2_wout *ref, const struct k2_wout *cand, uint16_t live,
			  bool *error)
{
	uint32_t bits = 0;

	*error = (cand->status != K2_RUN_OK && cand->status != ref->status) ||
		 (ref->status == K2_RUN_OK && cand->exit != ref->exit);
	if (ref->exit == K2_WEXIT_RETURN)
		live |= 1;
	for (int r = 0; r < K2_NREGS; r++) {
		if (!(live & (1u << r)))
			continue;
		if (ref->t[r] != cand->t[r])
			bits += 64;
		else
			bits += (uint32_t)__builtin_popcountll(ref->r[r] ^ cand->r[r]);
	}
	return bits + bytes_distance(ref, cand);
}
