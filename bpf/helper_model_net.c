/* bpf/helper_model_net.c: packet helpers: XDP bounds, checksums, skb bytes, outputs. */
#include <string.h>

#include "bpf/helper_model.h"

static void dirty(struct k2_machine *m)
{
	if (m->meta_off < m->dirty_lo)
		m->dirty_lo = m->meta_off;
	if (m->end_off > m->dirty_hi)
		m->dirty_hi = m->end_off;
}

int k2_h_adjust_head(struct hcall *c)
{
	struct k2_machine *m = c->m;
	int64_t off = (int32_t)c->a[1], meta = m->data_off - m->meta_off;
	int64_t data = (int64_t)m->data_off + off;

	if (data < K2_XDP_FRAME_SZ + meta || data > (int64_t)m->end_off - ETH_HLEN_) {
		c->ret = NEG(EINVAL);
		return 0;
	}
	if (meta)
		memmove(m->pkt + m->meta_off + off, m->pkt + m->meta_off, (size_t)meta);
	m->meta_off = (uint32_t)((int64_t)m->meta_off + off);
	m->data_off = (uint32_t)data;
	dirty(m);
	c->ret = 0;
	return 0;
}

int k2_h_adjust_meta(struct hcall *c)
{
	struct k2_machine *m = c->m;
	int64_t meta = (int64_t)m->meta_off + (int32_t)c->a[1];
	int64_t len = (int64_t)m->data_off - meta;

	if (meta < K2_XDP_FRAME_SZ || meta > m->data_off) {
		c->ret = NEG(EINVAL);
		return 0;
	}
	if ((len & 3) || len > 255) {
		c->ret = NEG(EACCES);
		return 0;
	}
	m->meta_off = (uint32_t)meta;
	dirty(m);
	c->ret = 0;
	return 0;
}

int k2_h_adjust_tail(struct hcall *c)
{
	struct k2_machine *m = c->m;
	int64_t off = (int32_t)c->a[1], end = (int64_t)m->end_off + off;

	if (end > K2_PKT_BUF - K2_PKT_TAILROOM || end < (int64_t)m->data_off + ETH_HLEN_) {
		c->ret = NEG(EINVAL);
		return 0;
	}
	if (off > 0)
		memset(m->pkt + m->end_off, 0, (size_t)off);
	m->end_off = (uint32_t)end;
	dirty(m);
	c->ret = 0;
	return 0;
}

/* ---- checksums --------------------------------------------------------------------------- */

/* x86 csum_partial: a 32-bit ones'-complement sum of little-endian words with end-around carry. */
static uint32_t csum_partial(const uint8_t *p, uint32_t n, uint32_t seed)
{
	uint64_t s = seed;
	uint32_t w;

	for (uint32_t i = 0; i < n; i += 4) {
		w = 0;
		memcpy(&w, p + i, n - i < 4 ? n - i : 4); /* a short tail is zero-padded */
		s += w;
	}
	while (s >> 32)
		s = (s & 0xffffffff) + (s >> 32);
	return (uint32_t)s;
}

static uint32_t csum_add(uint32_t a, uint32_t b)
{
	uint32_t r = a + b;

	return r + (r < b);
}

static uint32_t csum_sub(uint32_t a, uint32_t b)
{
	return csum_add(a, ~b);
}

static uint16_t csum_fold(uint32_t s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* csum_from32to16: the 32-bit sum folded to 16 bits with the end-around carry. */
static uint32_t from32to16(uint32_t s)
{
	s += (s >> 16) | (s << 16);
	return s >> 16;
}

/*
 * 6.13+: csum_partial of `to` (with the seed) minus csum_partial of `from`, folded to 16
 * bits; any sizes, no scratch buffer.
 */
int k2_h_csum_diff(struct hcall *c)
{
	uint32_t fs = (uint32_t)c->a[1], ts = (uint32_t)c->a[3], seed = (uint32_t)c->a[4];

	if (fs && ts)
		c->ret = from32to16(
			csum_sub(csum_partial(c->rd[2], ts, seed), csum_partial(c->rd[0], fs, 0)));
	else if (ts)
		c->ret = from32to16(csum_partial(c->rd[2], ts, seed));
	else if (fs)
		c->ret = from32to16(~csum_partial(c->rd[0], fs, ~seed));
	else
		c->ret = from32to16(seed); /* folded too, as 6.18 measures */
	return 0;
}

static uint32_t skb_len(struct hcall *c)
{
	return c->m->end_off - c->m->data_off;
}

int k2_h_skb_store(struct hcall *c)
{
	uint64_t off = (uint32_t)c->a[1], n = (uint32_t)c->a[3], fl = c->a[4];

	if (fl & ~(uint64_t)(BPF_F_RECOMPUTE_CSUM | BPF_F_INVALIDATE_HASH)) {
		c->ret = NEG(EINVAL);
		return 0;
	}
	if (off > 0x7fffffff || off + n > skb_len(c)) {
		c->ret = NEG(EFAULT);
		return 0;
	}
	memmove(c->m->pkt + c->m->data_off + off, c->rd[2], n);
	c->ret = 0;
	return 0;
}

/* The checksum field: even offset up to 0xffff, inside the linear data (-EFAULT otherwise). */
static uint8_t *csum_field(struct hcall *c, uint64_t off)
{
	if (off > 0xffff || (off & 1) || off + 2 > skb_len(c))
		return NULL;
	return c->m->pkt + c->m->data_off + off;
}

int k2_h_l3_csum(struct hcall *c)
{
	uint64_t fl = c->a[4], from = c->a[2], to = c->a[3];
	uint8_t *p;
	uint16_t sum, r;

	if (fl & ~(uint64_t)BPF_F_HDR_FIELD_MASK) {
		c->ret = NEG(EINVAL);
		return 0;
	}
	if (!(p = csum_field(c, (uint32_t)c->a[1]))) {
		c->ret = NEG(EFAULT);
		return 0;
	}
	memcpy(&sum, p, 2);
	switch (fl & BPF_F_HDR_FIELD_MASK) {
	case 0:
		if (from) {
			c->ret = NEG(EINVAL);
			return 0;
		}
		r = csum_fold(csum_add((uint32_t)to, ~(uint32_t)sum));
		break;
	case 2: { /* csum_replace2: 16-bit ones'-complement arithmetic on the raw field */
		uint16_t o = (uint16_t) ~(uint16_t)from, n = (uint16_t)to, t = (uint16_t)~sum;

		t = (uint16_t)(t + o);
		t = (uint16_t)(t + (t < o));
		t = (uint16_t)(t + n);
		t = (uint16_t)(t + (t < n));
		r = (uint16_t)~t;
		break;
	}
	case 4:
		r = csum_fold(csum_add(csum_sub(~(uint32_t)sum, (uint32_t)from), (uint32_t)to));
		break;
	default:
		c->ret = NEG(EINVAL);
		return 0;
	}
	memcpy(p, &r, 2);
	c->ret = 0;
	return 0;
}

int k2_h_l4_csum(struct hcall *c)
{
	uint64_t fl = c->a[4], from = c->a[2], to = c->a[3];
	bool mm0 = fl & BPF_F_MARK_MANGLED_0, force = fl & BPF_F_MARK_ENFORCE;
	uint8_t *p;
	uint16_t sum, r;

	if (fl & ~(uint64_t)(BPF_F_MARK_MANGLED_0 | BPF_F_MARK_ENFORCE | BPF_F_PSEUDO_HDR |
			     BPF_F_HDR_FIELD_MASK | (1ull << 7) /* BPF_F_IPV6 */)) {
		c->ret = NEG(EINVAL);
		return 0;
	}
	if (!(p = csum_field(c, (uint32_t)c->a[1]))) {
		c->ret = NEG(EFAULT);
		return 0;
	}
	memcpy(&sum, p, 2);
	c->ret = 0;
	if (mm0 && !force && !sum)
		return 0;
	/* test_run's skb is CHECKSUM_NONE: every size folds the 32-bit replacement. */
	switch (fl & BPF_F_HDR_FIELD_MASK) {
	case 0:
		if (from) {
			c->ret = NEG(EINVAL);
			return 0;
		}
		r = csum_fold(csum_add((uint32_t)to, ~(uint32_t)sum));
		break;
	case 2:
		r = csum_fold(csum_add(csum_sub(~(uint32_t)sum, (uint16_t)from), (uint16_t)to));
		break;
	case 4:
		r = csum_fold(csum_add(csum_sub(~(uint32_t)sum, (uint32_t)from), (uint32_t)to));
		break;
	default:
		c->ret = NEG(EINVAL);
		return 0;
	}
	if (mm0 && !r)
		r = 0xffff; /* CSUM_MANGLED_0 */
	memcpy(p, &r, 2);
	return 0;
}

/* ---- packet reads and outputs ------------------------------------------------------------ */

int k2_h_skb_load(struct hcall *c)
{
	uint64_t off = (uint32_t)c->a[1], n = (uint32_t)c->a[3];

	if (off > 0x7fffffff || off + n > skb_len(c)) {
		memset(c->wr[2], 0, n);
		c->ret = NEG(EFAULT);
		return 0;
	}
	memcpy(c->wr[2], c->m->pkt + c->m->data_off + off, n);
	c->ret = 0;
	return 0;
}

int k2_h_fib_lookup(struct hcall *c)
{
	uint64_t plen = c->a[2], fl = c->a[3], v;
	uint8_t *p = c->wr[1];

	if (plen < 64 || (fl & ~(uint64_t)0x3f)) {
		c->ret = NEG(EINVAL);
		return 0;
	}
	c->ret = k2_h_ndet(c);
	if (c->ret != 0)
		return 0;
	v = k2_h_ndet(c);
	memcpy(p + 8, &v, 4); /* ifindex */
	v = k2_h_ndet(c);
	memcpy(p + 52, &v, 6); /* smac */
	v = k2_h_ndet(c);
	memcpy(p + 58, &v, 6); /* dmac */
	return 0;
}

int k2_h_perf_output(struct hcall *c)
{
	struct k2_machine *m = c->m;
	uint64_t fl = c->a[2], idx = fl & BPF_F_INDEX_MASK, ctxlen = fl >> 32;
	bool net = c->vm->type == BPF_PROG_TYPE_XDP || k2_type_is_skb(c->vm->type);

	if (k2_h_map_type(c) != BPF_MAP_TYPE_PERF_EVENT_ARRAY)
		return k2_h_bad(c, "perf_event_output needs a perf_event_array");
	if (fl & ~(uint64_t)(BPF_F_INDEX_MASK | (net ? BPF_F_CTXLEN_MASK : 0))) {
		c->ret = NEG(EINVAL);
		return 0;
	}
	if (ctxlen > (uint64_t)(m->end_off - m->data_off)) {
		c->ret = NEG(EFAULT);
		return 0;
	}
	if (idx == BPF_F_CURRENT_CPU)
		idx = m->in->cpu;
	/* The state's definition: libbpf gives an unsized perf event array one slot per CPU. */
	if (idx >= k2_mapstate_map(m->in->maps, (uint32_t)c->map)->max_entries) {
		c->ret = NEG(E2BIG);
		return 0;
	}
	if (!k2_ov_populated(c->vm, m, (uint32_t)c->map, (uint32_t)idx)) {
		c->ret = NEG(ENOENT);
		return 0;
	}
	c->ret = 0;
	return k2_h_effect(c, c->rd[3], (uint32_t)c->a[4], m->pkt + m->data_off, (uint32_t)ctxlen);
}

int k2_h_ringbuf_output(struct hcall *c)
{
	struct k2_machine *m = c->m;
	uint64_t n = c->a[2], rec = (n + 8 + 7) & ~7ull, cap = k2_h_map(c)->def.max_entries;
	uint32_t *used = c->map < 64 ? &m->ringbuf_used[c->map] : NULL;

	if (k2_h_map_type(c) != BPF_MAP_TYPE_RINGBUF)
		return k2_h_bad(c, "ringbuf_output needs a ringbuf");
	if (c->a[3] & ~(uint64_t)(BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP)) {
		c->ret = NEG(EINVAL);
		return 0;
	}
	/* The producer may not get more than size - 1 bytes ahead of the (absent) consumer. */
	if (used && *used + rec > cap - 1) {
		c->ret = NEG(EAGAIN);
		return 0;
	}
	if (used)
		*used += (uint32_t)rec;
	c->ret = 0;
	return k2_h_effect(c, c->rd[1], (uint32_t)n, NULL, 0);
}
