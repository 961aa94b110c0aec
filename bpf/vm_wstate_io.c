/* bpf/vm_wstate_io.c: window states as compact bytes (MPI messages, checkpoints) and back. */
#include <string.h>

#include "bpf/vm_internal.h"

/*
 * Layout (little endian, "v" = LEB128 varint, "z" = zigzag varint): magic u32, version u8,
 * n_maps v; registers: mask u16 of the registers not (UNINIT, 0), then per register type u8,
 * value u64; depth v, pc v; frames[depth]: ret_pc v, saved_t u8[4], saved u64[4]; stack of
 * frames 0..depth: runs of initialised bytes (count v, then off v, len v, bytes), spilled
 * slots that are not scalars (count v, then slot v, type u8); packet: meta v, data v, end v,
 * the non-zero extent (lo v, len v, bytes); ctx: ctx_len v, extent; slots: count v, then
 * map v, state u8, base z, tick u64, key and value bytes (the map's sizes); count_delta,
 * changed, ringbuf_used as (index v, value) lists of the non-zero entries; tick u64,
 * ndet_i v, tail_calls v. Uninitialised stack bytes are not written (they read as 0 in a
 * copy too), so equal states encode equally.
 */
#define WS_MAGIC 0x5357324bu /* "K2WS" */
#define WS_VERSION 1

struct wbuf {
	uint8_t *p;   /* NULL: only count */
	size_t cap, len;
};

static void put(struct wbuf *w, const void *src, size_t n)
{
	if (w->p && w->len + n <= w->cap)
		memcpy(w->p + w->len, src, n);
	w->len += n;
}

static void put_u8(struct wbuf *w, uint8_t v)
{
	put(w, &v, 1);
}

static void put_u32(struct wbuf *w, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	put(w, b, 4);
}

static void put_u64(struct wbuf *w, uint64_t v)
{
	uint8_t b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	put(w, b, 8);
}

static void put_v(struct wbuf *w, uint64_t v)
{
	do {
		uint8_t b = v & 0x7f;

		v >>= 7;
		put_u8(w, (uint8_t)(b | (v ? 0x80 : 0)));
	} while (v);
}

static void put_z(struct wbuf *w, int64_t v)
{
	put_v(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

/* The bytes [lo, lo + len) of p outside of which everything is zero. */
static void put_extent(struct wbuf *w, const uint8_t *p, uint32_t n)
{
	uint32_t lo = 0, hi = n;

	while (lo < n && !p[lo])
		lo++;
	while (hi > lo && !p[hi - 1])
		hi--;
	put_v(w, lo);
	put_v(w, hi - lo);
	put(w, p + lo, hi - lo);
}

static void put_stack(struct wbuf *w, const struct k2_machine *m)
{
	uint32_t live = (m->depth + 1) * K2_STACK_SIZE, runs = 0, nspill = 0;

	for (uint32_t i = 0; i < live; i++)
		if (m->sinit[i] && (i == 0 || !m->sinit[i - 1]))
			runs++;
	put_v(w, runs);
	for (uint32_t i = 0; i < live;) {
		uint32_t j = i;

		if (!m->sinit[i]) {
			i++;
			continue;
		}
		while (j < live && m->sinit[j])
			j++;
		put_v(w, i);
		put_v(w, j - i);
		put(w, m->stack + i, j - i);
		i = j;
	}
	for (uint32_t s = 0; s < live / 8; s++)
		nspill += m->spill[s] != K2_T_SCALAR;
	put_v(w, nspill);
	for (uint32_t s = 0; s < live / 8; s++) {
		if (m->spill[s] == K2_T_SCALAR)
			continue;
		put_v(w, s);
		put_u8(w, m->spill[s]);
	}
}

static void put_slots(struct wbuf *w, const struct k2_vm *vm, const struct k2_machine *m)
{
	put_v(w, m->n_slots);
	for (uint32_t i = 0; i < m->n_slots; i++) {
		const struct k2_slot *sl = &m->slots[i];

		put_v(w, sl->map);
		put_u8(w, sl->state);
		put_z(w, sl->base);
		put_u64(w, sl->tick);
		put(w, m->kpool + sl->key_off, vm->maps[sl->map].ksize);
		put(w, m->vpool + sl->val_off, sl->vsize);
	}
}

static void put_counters(struct wbuf *w, const struct k2_machine *m)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < m->n_maps; i++)
		n += m->count_delta[i] != 0;
	put_v(w, n);
	for (uint32_t i = 0; i < m->n_maps; i++)
		if (m->count_delta[i]) {
			put_v(w, i);
			put_z(w, m->count_delta[i]);
		}
	n = 0;
	for (uint32_t i = 0; i < m->n_maps; i++)
		n += m->changed[i] != 0;
	put_v(w, n);
	for (uint32_t i = 0; i < m->n_maps; i++)
		if (m->changed[i])
			put_v(w, i);
	n = 0;
	for (uint32_t i = 0; i < 64; i++)
		n += m->ringbuf_used[i] != 0;
	put_v(w, n);
	for (uint32_t i = 0; i < 64; i++)
		if (m->ringbuf_used[i]) {
			put_v(w, i);
			put_v(w, m->ringbuf_used[i]);
		}
}

static void encode(const struct k2_vm *vm, const struct k2_machine *m, struct wbuf *w)
{
	uint16_t mask = 0;

	put_u32(w, WS_MAGIC);
	put_u8(w, WS_VERSION);
	put_v(w, vm->n_maps);
	for (int i = 0; i < K2_NREGS; i++)
		if (m->t[i] != K2_T_UNINIT || m->r[i])
			mask |= (uint16_t)(1u << i);
	put_u8(w, (uint8_t)mask);
	put_u8(w, (uint8_t)(mask >> 8));
	for (int i = 0; i < K2_NREGS; i++)
		if (mask & (1u << i)) {
			put_u8(w, m->t[i]);
			put_u64(w, m->r[i]);
		}
	put_v(w, m->depth);
	put_v(w, m->pc);
	for (uint32_t f = 0; f < m->depth; f++) {
		put_v(w, m->fr[f].ret_pc);
		put(w, m->fr[f].saved_t, 4);
		for (int k = 0; k < 4; k++)
			put_u64(w, m->fr[f].saved[k]);
	}
	put_stack(w, m);
	put_v(w, m->meta_off);
	put_v(w, m->data_off);
	put_v(w, m->end_off);
	put_extent(w, m->pkt, K2_PKT_BUF);
	put_v(w, m->ctx_len);
	put_extent(w, m->ctx, K2_CTX_MAX);
	put_slots(w, vm, m);
	put_counters(w, m);
	put_u64(w, m->tick);
	put_v(w, m->ndet_i);
	put_v(w, m->tail_calls);
}

int k2_wstate_encode(const struct k2_vm *vm, const struct k2_wstate *st, void *buf, size_t cap,
		     size_t *len, struct k2_err *e)
{
	struct wbuf w = { .p = buf, .cap = cap };

	if (st->m.n_maps != vm->n_maps)
		return k2_err_set(e, -EINVAL, "window state: made for another program (%u maps, "
				  "the program has %u)", st->m.n_maps, vm->n_maps);
	encode(vm, &st->m, &w);
	*len = w.len;
	if (buf && w.len > cap)
		return k2_err_set(e, -ENOSPC, "window state: %zu bytes do not fit in %zu", w.len,
				  cap);
	return 0;
}

/* ---- decoding: every field is checked; a bad one names its byte offset ---------------------- */

struct rbuf {
	const uint8_t *p;
	size_t len, at;
	struct k2_err *e;
	int err;
};

static bool bad(struct rbuf *r, const char *what)
{
	if (!r->err)
		r->err = k2_err_set(r->e, -EINVAL, "window state: byte %zu: %s", r->at, what);
	return false;
}

static bool get(struct rbuf *r, void *dst, size_t n)
{
	if (r->err)
		return false;
	if (n > r->len - r->at)
		return bad(r, "truncated");
	memcpy(dst, r->p + r->at, n);
	r->at += n;
	return true;
}

static uint8_t get_u8(struct rbuf *r)
{
	uint8_t v = 0;

	get(r, &v, 1);
	return v;
}

static uint32_t get_u32(struct rbuf *r)
{
	uint8_t b[4] = { 0 };

	get(r, b, 4);
	return b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint64_t get_u64(struct rbuf *r)
{
	uint8_t b[8] = { 0 };
	uint64_t v = 0;

	get(r, b, 8);
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

static uint64_t get_v(struct rbuf *r)
{
	uint64_t v = 0;

	for (int shift = 0; shift < 64; shift += 7) {
		uint8_t b = get_u8(r);

		if (r->err)
			return 0;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	bad(r, "varint too long");
	return 0;
}

/* A varint at most max (inclusive). */
static uint32_t get_vmax(struct rbuf *r, uint64_t max, const char *what)
{
	uint64_t v = get_v(r);

	if (!r->err && v > max)
		bad(r, what);
	return r->err ? 0 : (uint32_t)v;
}

static int64_t get_z(struct rbuf *r)
{
	uint64_t v = get_v(r);

	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static bool get_extent(struct rbuf *r, uint8_t *p, uint32_t n, const char *what)
{
	uint32_t lo = get_vmax(r, n, what), len = get_vmax(r, n, what);

	memset(p, 0, n);
	if (!r->err && len > n - lo)
		return bad(r, what);
	return get(r, p + lo, len);
}

static bool get_stack(struct rbuf *r, struct k2_machine *m)
{
	uint32_t live = (m->depth + 1) * K2_STACK_SIZE, runs, nspill, prev = 0;

	memset(m->stack, 0, live);
	memset(m->sinit, 0, live);
	memset(m->spill, K2_T_SCALAR, live / 8);
	runs = get_vmax(r, live, "too many stack runs");
	for (uint32_t i = 0; i < runs && !r->err; i++) {
		uint32_t off = get_vmax(r, live - 1, "stack offset out of range");
		uint32_t len = get_vmax(r, live, "stack run too long");

		if (r->err || off < prev || !len || len > live - off)
			return bad(r, "stack runs overlap or leave the frames");
		if (!get(r, m->stack + off, len))
			return false;
		memset(m->sinit + off, 1, len);
		prev = off + len + 1;
	}
	nspill = get_vmax(r, live / 8, "too many spilled slots");
	for (uint32_t i = 0; i < nspill && !r->err; i++) {
		uint32_t s = get_vmax(r, live / 8 - 1, "spill slot out of range");
		uint8_t t = get_u8(r);

		if (t >= K2_T__COUNT)
			return bad(r, "bad spilled register type");
		m->spill[s] = t;
	}
	return !r->err;
}

static bool get_slots(struct rbuf *r, struct k2_vm *vm, struct k2_machine *m)
{
	uint32_t n = get_vmax(r, m->max_slots, "more map slots than the VM allows");
	size_t start;

	k2_ov_reset(vm, m);
	/* First pass: the slots in order (layout and hash chains follow from keys and order). */
	start = r->at;
	for (uint32_t i = 0; i < n && !r->err; i++) {
		uint32_t map = get_vmax(r, vm->n_maps ? vm->n_maps - 1 : 0, "map index out of range");
		const struct k2_mapinfo *mi;
		const uint8_t *key;

		if (r->err || !vm->n_maps)
			return bad(r, "slot of a map the program does not have");
		mi = &vm->maps[map];
		get_u8(r);
		get_z(r);
		get_u64(r);
		if (r->err || (size_t)mi->ksize + mi->vsize > r->len - r->at)
			return bad(r, "truncated");
		key = r->p + r->at;
		if (k2_ov_add(vm, m, map, key, key + mi->ksize) < 0)
			return bad(r, "map slots do not fit the VM");
		r->at += mi->ksize + mi->vsize;
	}
	/* Second pass: each slot's own state, base entry and LRU tick as they were. */
	r->at = start;
	for (uint32_t i = 0; i < n && !r->err; i++) {
		struct k2_slot *sl = &m->slots[i];
		uint8_t state;
		int64_t base;

		get_v(r);
		state = get_u8(r);
		base = get_z(r);
		sl->tick = get_u64(r);
		if (state < K2_SLOT_PRESENT || state > K2_SLOT_DETACHED)
			return bad(r, "bad slot state");
		if (base < -1 || base > INT32_MAX)
			return bad(r, "bad slot base");
		sl->state = state;
		sl->base = (int32_t)base;
		r->at += vm->maps[sl->map].ksize + sl->vsize;
	}
	return !r->err;
}

static bool get_counters(struct rbuf *r, struct k2_machine *m)
{
	uint32_t n = get_vmax(r, m->n_maps, "too many map counters");

	for (uint32_t i = 0; i < n && !r->err; i++) {
		uint32_t map = get_vmax(r, m->n_maps - 1, "map index out of range");
		int64_t d = get_z(r);

		if (d < INT32_MIN || d > INT32_MAX)
			return bad(r, "bad element count change");
		m->count_delta[map] = (int32_t)d;
	}
	n = get_vmax(r, m->n_maps, "too many changed maps");
	for (uint32_t i = 0; i < n && !r->err; i++)
		m->changed[get_vmax(r, m->n_maps ? m->n_maps - 1 : 0, "map index out of range")] = 1;
	n = get_vmax(r, 64, "too many ring buffers");
	for (uint32_t i = 0; i < n && !r->err; i++) {
		uint32_t rb = get_vmax(r, 63, "ring buffer index out of range");

		m->ringbuf_used[rb] = get_vmax(r, UINT32_MAX, "ring buffer use out of range");
	}
	return !r->err;
}

static bool get_regs(struct rbuf *r, struct k2_machine *m)
{
	uint16_t mask = get_u8(r);

	mask |= (uint16_t)(get_u8(r) << 8);
	if (mask >> K2_NREGS)
		return bad(r, "register mask names registers past r10");
	for (int i = 0; i < K2_NREGS; i++) {
		m->r[i] = 0;
		m->t[i] = K2_T_UNINIT;
		if (!(mask & (1u << i)))
			continue;
		m->t[i] = get_u8(r);
		m->r[i] = get_u64(r);
		if (m->t[i] >= K2_T__COUNT)
			return bad(r, "bad register type");
	}
	m->depth = get_vmax(r, K2_MAX_FRAMES - 1, "call depth out of range");
	m->pc = get_vmax(r, UINT32_MAX, "pc out of range");
	for (uint32_t f = 0; f < m->depth && !r->err; f++) {
		m->fr[f].ret_pc = get_vmax(r, UINT32_MAX, "return pc out of range");
		get(r, m->fr[f].saved_t, 4);
		for (int k = 0; k < 4; k++) {
			m->fr[f].saved[k] = get_u64(r);
			if (m->fr[f].saved_t[k] >= K2_T__COUNT)
				return bad(r, "bad saved register type");
		}
	}
	return !r->err;
}

static bool get_pkt(struct rbuf *r, struct k2_machine *m)
{
	uint32_t meta, data, end;

	meta = get_vmax(r, K2_PKT_BUF, "packet bounds out of range");
	data = get_vmax(r, K2_PKT_BUF, "packet bounds out of range");
	end = get_vmax(r, K2_PKT_BUF, "packet bounds out of range");
	if (!r->err && (meta > data || data > end))
		return bad(r, "packet bounds out of order");
	m->meta_off = meta;
	m->data_off = data;
	m->end_off = end;
	if (!get_extent(r, m->pkt, K2_PKT_BUF, "packet bytes out of range"))
		return false;
	m->dirty_lo = 0;
	m->dirty_hi = K2_PKT_BUF;
	m->ctx_len = get_vmax(r, K2_CTX_MAX, "ctx length out of range");
	return get_extent(r, m->ctx, K2_CTX_MAX, "ctx bytes out of range");
}

/* A valid empty state (no registers, no frames, no slots): never a half-restored one. */
static void clear(const struct k2_vm *vm, struct k2_machine *m)
{
	for (int i = 0; i < K2_NREGS; i++) {
		m->r[i] = 0;
		m->t[i] = K2_T_UNINIT;
	}
	m->depth = 0;
	m->pc = 0;
	memset(m->stack, 0, K2_STACK_SIZE);
	memset(m->sinit, 0, K2_STACK_SIZE);
	memset(m->spill, K2_T_SCALAR, K2_STACK_SIZE / 8);
	memset(m->pkt, 0, sizeof(m->pkt));
	memset(m->ctx, 0, sizeof(m->ctx));
	m->meta_off = m->data_off = m->end_off = K2_PKT_HEADROOM;
	k2_ov_reset((struct k2_vm *)vm, m);
	m->status = K2_RUN_OK;
}

int k2_wstate_decode(const struct k2_vm *vm, struct k2_wstate *st, const void *buf, size_t len,
		     const struct k2_input *in, struct k2_err *e)
{
	struct rbuf r = { .p = buf, .len = len, .e = e };
	struct k2_machine *m = &st->m;
	uint32_t magic, n_maps;

	if (m->n_maps != vm->n_maps)
		return k2_err_set(e, -EINVAL, "window state: the state was made for another program");
	magic = get_u32(&r);
	if (r.err || magic != WS_MAGIC)
		return r.err ? r.err : k2_err_set(e, -EINVAL, "window state: bad magic");
	if (get_u8(&r) != WS_VERSION)
		return r.err ? r.err : k2_err_set(e, -EINVAL, "window state: unknown version");
	n_maps = get_vmax(&r, UINT32_MAX, "bad map count");
	if (!r.err && n_maps != vm->n_maps)
		return k2_err_set(e, -EINVAL, "window state: made for a program with %u maps, this "
				  "one has %u", n_maps, vm->n_maps);
	m->in = in;
	if (!get_regs(&r, m) || !get_stack(&r, m) || !get_pkt(&r, m) ||
	    !get_slots(&r, (struct k2_vm *)vm, m))
		goto fail;
	if (m->n_maps) {
		memset(m->count_delta, 0, m->n_maps * sizeof(*m->count_delta));
		memset(m->changed, 0, m->n_maps);
	}
	memset(m->ringbuf_used, 0, sizeof(m->ringbuf_used));
	if (!get_counters(&r, m))
		goto fail;
	m->tick = get_u64(&r);
	m->ndet_i = get_vmax(&r, UINT32_MAX, "bad helper value index");
	m->tail_calls = get_vmax(&r, K2_MAX_TAIL_CALLS, "too many tail calls");
	if (r.err)
		goto fail;
	if (r.at != len)
		return k2_err_set(e, -EINVAL, "window state: %zu bytes left over", len - r.at);
	m->n_eff = 0;
	m->eff_data_len = 0;
	m->tail_call = false;
	m->steps = 0;
	m->status = K2_RUN_OK;
	m->reason = NULL;
	m->log = NULL;
	return 0;
fail:
	clear(vm, m);
	return r.err;
}
