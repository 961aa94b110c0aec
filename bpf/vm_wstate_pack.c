/* bpf/vm_wstate_pack.c: window states as bytes, to send them between processes. */
#include <string.h>

#include "bpf/vm_internal.h"

#define PACK_MAGIC 0x6b327773u /* "k2ws" */
#define PACK_VERSION 1

/* Fixed part: everything but the variable-length pools and buckets. */
struct pack_head {
	uint32_t magic, version;
	uint32_t n_maps, max_slots, n_buckets;
	uint32_t depth, pc;
	uint64_t r[K2_NREGS];
	uint8_t t[K2_NREGS];
	uint8_t pad[5];
	uint32_t meta_off, data_off, end_off;
	uint32_t ctx_len;
	uint32_t n_slots, kpool_used, vpool_used;
	uint32_t ndet_i, tail_calls;
	uint64_t tick;
	uint32_t ringbuf_used[64];
};

struct cursor {
	uint8_t *out;
	const uint8_t *in;
	size_t at, cap;
};

static void put(struct cursor *c, const void *p, size_t n)
{
	if (c->at + n <= c->cap)
		memcpy(c->out + c->at, p, n);
	c->at += n;
}

static bool get(struct cursor *c, void *p, size_t n)
{
	if (c->at + n > c->cap)
		return false;
	memcpy(p, c->in + c->at, n);
	c->at += n;
	return true;
}

int k2_wstate_pack(const struct k2_wstate *st, void *buf, size_t cap, size_t *need)
{
	const struct k2_machine *m = &st->m;
	uint32_t live = (m->depth + 1) * K2_STACK_SIZE;
	struct cursor c = { .out = buf, .cap = buf ? cap : 0 };
	struct pack_head h;

	memset(&h, 0, sizeof(h));
	h.magic = PACK_MAGIC;
	h.version = PACK_VERSION;
	h.n_maps = m->n_maps;
	h.max_slots = m->max_slots;
	h.n_buckets = m->n_buckets;
	h.depth = m->depth;
	h.pc = m->pc;
	memcpy(h.r, m->r, sizeof(h.r));
	memcpy(h.t, m->t, sizeof(h.t));
	h.meta_off = m->meta_off;
	h.data_off = m->data_off;
	h.end_off = m->end_off;
	h.ctx_len = m->ctx_len;
	h.n_slots = m->n_slots;
	h.kpool_used = m->kpool_used;
	h.vpool_used = m->vpool_used;
	h.ndet_i = m->ndet_i;
	h.tail_calls = m->tail_calls;
	h.tick = m->tick;
	memcpy(h.ringbuf_used, m->ringbuf_used, sizeof(h.ringbuf_used));
	put(&c, &h, sizeof(h));
	put(&c, m->fr, sizeof(m->fr[0]) * (m->depth + 1));
	put(&c, m->stack, live);
	put(&c, m->sinit, live);
	put(&c, m->spill, live / 8);
	put(&c, m->pkt, sizeof(m->pkt));
	put(&c, m->ctx, sizeof(m->ctx));
	put(&c, m->slots, m->n_slots * sizeof(*m->slots));
	put(&c, m->kpool, m->kpool_used);
	put(&c, m->vpool, m->vpool_used);
	put(&c, m->buckets, m->n_buckets * sizeof(*m->buckets));
	put(&c, m->count_delta, (m->n_maps + 1) * sizeof(*m->count_delta));
	put(&c, m->changed, m->n_maps + 1);
	if (need)
		*need = c.at;
	return c.at > cap || !buf ? -ENOSPC : (int)c.at;
}

static bool head_ok(const struct pack_head *h, const struct k2_machine *m)
{
	return h->magic == PACK_MAGIC && h->version == PACK_VERSION && h->n_maps == m->n_maps &&
	       h->max_slots == m->max_slots && h->n_buckets == m->n_buckets &&
	       h->depth < K2_MAX_FRAMES && h->n_slots <= m->max_slots &&
	       h->kpool_used <= m->kpool_cap && h->vpool_used <= m->vpool_cap &&
	       h->meta_off <= h->data_off && h->data_off <= h->end_off &&
	       h->end_off <= K2_PKT_BUF && h->ctx_len <= K2_CTX_MAX;
}

int k2_wstate_unpack(struct k2_wstate *st, const void *buf, size_t len)
{
	struct k2_machine *m = &st->m;
	struct cursor c = { .in = buf, .cap = len };
	struct pack_head h;
	size_t slots_at;
	uint32_t live;

	if (!get(&c, &h, sizeof(h)) || !head_ok(&h, m))
		return -EINVAL;
	live = (h.depth + 1) * K2_STACK_SIZE;
	/* Everything is checked before anything of st changes. */
	slots_at = sizeof(h) + sizeof(m->fr[0]) * (h.depth + 1) + 2 * (size_t)live + live / 8 +
		   sizeof(m->pkt) + sizeof(m->ctx);
	if (len != slots_at + h.n_slots * sizeof(*m->slots) + h.kpool_used + h.vpool_used +
			   h.n_buckets * sizeof(*m->buckets) +
			   (h.n_maps + 1) * (sizeof(*m->count_delta) + 1))
		return -EINVAL;
	for (uint32_t i = 0; i < h.n_slots; i++) {
		struct k2_slot sl;

		memcpy(&sl, (const uint8_t *)buf + slots_at + i * sizeof(sl), sizeof(sl));
		if (sl.map >= h.n_maps || sl.key_off > h.kpool_used || sl.val_off > h.vpool_used ||
		    sl.vsize > h.vpool_used - sl.val_off || sl.bucket >= h.n_buckets)
			return -EINVAL;
	}
	get(&c, m->fr, sizeof(m->fr[0]) * (h.depth + 1));
	get(&c, m->stack, live);
	get(&c, m->sinit, live);
	get(&c, m->spill, live / 8);
	get(&c, m->pkt, sizeof(m->pkt));
	get(&c, m->ctx, sizeof(m->ctx));
	get(&c, m->slots, h.n_slots * sizeof(*m->slots));
	get(&c, m->kpool, h.kpool_used);
	get(&c, m->vpool, h.vpool_used);
	get(&c, m->buckets, h.n_buckets * sizeof(*m->buckets));
	get(&c, m->count_delta, (h.n_maps + 1) * sizeof(*m->count_delta));
	get(&c, m->changed, h.n_maps + 1);
	memcpy(m->r, h.r, sizeof(m->r));
	memcpy(m->t, h.t, sizeof(m->t));
	m->depth = h.depth;
	m->pc = h.pc;
	m->meta_off = h.meta_off;
	m->data_off = h.data_off;
	m->end_off = h.end_off;
	m->dirty_lo = 0;
	m->dirty_hi = K2_PKT_BUF;
	m->ctx_len = h.ctx_len;
	m->n_slots = h.n_slots;
	m->kpool_used = h.kpool_used;
	m->vpool_used = h.vpool_used;
	m->ndet_i = h.ndet_i;
	m->tail_calls = h.tail_calls;
	m->tick = h.tick;
	memcpy(m->ringbuf_used, h.ringbuf_used, sizeof(m->ringbuf_used));
	m->n_eff = 0;
	m->eff_data_len = 0;
	m->tail_call = false;
	m->steps = 0;
	m->status = K2_RUN_OK;
	m->reason = NULL;
	m->log = NULL;
	return 0;
}
