/* bpf/pktgen.c: k2_pktgen(): options, shape choice, sizes, truncated and random packets. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "bpf/pktgen_int.h"

#define REGULAR_SHAPES K2_PKT_SHAPES_WELL_FORMED
#define MAX_TRIES 16
#define SCRATCH 1024 /* more than the longest header stack a spec can describe */

/* A field of sized options, or 0 when the caller's struct predates it (libbpf's rule). */
#define OPT(o, f) ((o)->sz >= offsetof(struct k2_pktgen_opts, f) + sizeof((o)->f) ? (o)->f : 0)

static int opts_sized(const struct k2_pktgen_opts *o, struct k2_err *e)
{
	const uint8_t *tail = (const uint8_t *)o + sizeof(*o);

	if (o->sz < sizeof(o->sz))
		return k2_err_set(e, -EINVAL, "pktgen options: sz %zu is less than its own size",
				  o->sz);
	/* A newer caller's fields beyond ours must be zero: we cannot honour them. */
	for (size_t i = sizeof(*o); i < o->sz; i++)
		if (tail[i - sizeof(*o)])
			return k2_err_set(e, -EINVAL,
					  "pktgen options: unknown nonzero field at offset %zu", i);
	return 0;
}

#define TARGETS(c, o, p, n)                                                                  \
	do {                                                                                 \
		(c)->t.p = OPT(o, p);                                                        \
		(c)->t.n = OPT(o, n);                                                        \
		if ((c)->t.n && !(c)->t.p)                                                   \
			return k2_err_set(e, -EINVAL,                                        \
					  "pktgen options: " #n " is %u but " #p " is NULL", \
					  (c)->t.n);                                         \
	} while (0)

static int read_targets(const struct k2_pktgen_opts *o, struct pkt_cfg *c, struct k2_err *e)
{
	TARGETS(c, o, dst_macs, n_dst_macs);
	TARGETS(c, o, dst4, n_dst4);
	TARGETS(c, o, src4, n_src4);
	TARGETS(c, o, dst6, n_dst6);
	TARGETS(c, o, dst_ports, n_dst_ports);
	TARGETS(c, o, flows, n_flows);
	TARGETS(c, o, vlan_ids, n_vlan_ids);
	for (uint32_t i = 0; i < c->t.n_flows; i++)
		if (c->t.flows[i].family != 4 && c->t.flows[i].family != 6)
			return k2_err_set(e, -EINVAL,
					  "pktgen options: flows[%u]: family %u, not 4 or 6", i,
					  c->t.flows[i].family);
	return 0;
}

/* Shortest packet of a shape (untagged, no options), 0 if any length goes. */
static uint32_t shape_min_len(const struct pkt_cfg *c, int shape)
{
	uint32_t l2 = (c->flags & K2_PKTGEN_L3) ? 0 : PKT_ETH_HLEN;

	if (shape == K2_PKT_RANDOM)
		return 0;
	if (shape == K2_PKT_TRUNCATED) /* some shape must have headers longer than min_len */
		return c->min_len + 1;
	return l2 + k2_pkt_shape_desc[shape].min_hdr;
}

int pkt_cfg_resolve(const struct k2_pktgen_opts *o, size_t cap, struct pkt_cfg *c, struct k2_err *e)
{
	static const struct k2_pktgen_opts none = { .sz = sizeof(none) };
	uint32_t fits = 0;
	int err;

	if (!o)
		o = &none;
	err = opts_sized(o, e);
	if (err)
		return err;
	memset(c, 0, sizeof(*c));
	c->flags = OPT(o, flags);
	c->shapes = OPT(o, shapes);
	if (!c->shapes)
		c->shapes = (c->flags & K2_PKTGEN_L3) ? K2_PKT_SHAPES_IP : K2_PKT_SHAPES_ALL;
	if (c->shapes & ~K2_PKT_SHAPES_ALL)
		return k2_err_set(e, -EINVAL, "pktgen options: shapes 0x%x has unknown bits",
				  c->shapes);
	if ((c->flags & K2_PKTGEN_L3) && (c->shapes & ~K2_PKT_SHAPES_IP))
		return k2_err_set(
			e, -EINVAL,
			"pktgen options: arp and l2_other need Ethernet, not K2_PKTGEN_L3");
	c->max_len = OPT(o, max_len) ? OPT(o, max_len) : PKT_DEFAULT_MAX;
	if (c->max_len > cap)
		c->max_len = (uint32_t)(cap > 0xffff ? 0xffff : cap);
	c->min_len = OPT(o, min_len);
	if (!c->min_len)
		c->min_len = (c->flags & K2_PKTGEN_L3) ? 1 : PKT_ETH_HLEN;
	if (!c->max_len || c->min_len > c->max_len)
		return k2_err_set(
			e, -EINVAL,
			"pktgen options: length range [%u, %u] is empty (buffer %zu bytes)",
			c->min_len, c->max_len, cap);
	c->odd_pct = OPT(o, odd_pct) ? OPT(o, odd_pct) : 10;
	c->target_pct = OPT(o, target_pct) ? OPT(o, target_pct) : 50;
	if (c->odd_pct > 100 || c->target_pct > 100)
		return k2_err_set(e, -EINVAL, "pktgen options: odd_pct %u / target_pct %u over 100",
				  c->odd_pct, c->target_pct);
	err = read_targets(o, c, e);
	if (err)
		return err;
	for (int i = 0; i < K2_PKT__COUNT; i++)
		if ((c->shapes & K2_PKT_SHAPE(i)) && shape_min_len(c, i) <= c->max_len)
			fits |= K2_PKT_SHAPE(i);
	if (!fits)
		return k2_err_set(e, -ENOSPC, "pktgen options: no allowed shape fits in max_len %u",
				  c->max_len);
	return 0;
}

int k2_pktgen_opts_check(const struct k2_pktgen_opts *opts, size_t cap, struct k2_err *e)
{
	struct pkt_cfg c;

	return pkt_cfg_resolve(opts, cap, &c, e);
}

/* Frame sizes as links carry them: mostly headers and a little, some full-size frames. */
static uint32_t pick_len(struct k2_rng *r, uint32_t lo, uint32_t hi)
{
	uint32_t span, x = (uint32_t)k2_rng_below(r, 100);

	if (lo >= hi)
		return lo;
	span = hi - lo;
	if (x < 40)
		return lo + (uint32_t)k2_rng_below(r, (span < 16 ? span : 16) + 1);
	if (x < 70)
		return lo + (uint32_t)k2_rng_below(r, (span < 256 ? span : 256) + 1);
	if (x < 85)
		return lo + (uint32_t)k2_rng_below(r, span + 1);
	return hi - (uint32_t)k2_rng_below(r, (span < 64 ? span : 64) + 1);
}

static int hdr_len(const struct k2_pkt_spec *s)
{
	struct k2_pkt_spec h = *s;
	uint8_t scratch[SCRATCH];

	h.payload_len = 0;
	h.flags &= ~K2_PKTF_PADDED;
	return k2_pkt_build(&h, scratch, sizeof(scratch), NULL);
}

/* A whole spec of one of the regular shapes in mask, its payload sized to the range. */
static int draw_regular(struct k2_rng *r, const struct pkt_cfg *c, uint32_t mask,
			struct k2_pkt_spec *s)
{
	int hl;
	uint32_t len, lo, hi, natural;

	pkt_spec_draw(r, c, mask, s);
	if (!(c->flags & K2_PKTGEN_NO_ODD) && pkt_pct(r, c->odd_pct))
		pkt_spec_odd(r, c, s);
	hl = hdr_len(s);
	if (hl > 0 && (uint32_t)hl > c->max_len) {
		/* Too long for the range: the same packet without optional headers. */
		s->n_vlans = 0;
		s->ip_opt_len = 0;
		s->tcp_opt_len = 0;
		s->n_ext = 0;
		s->ihl = s->doff = 0;
		hl = hdr_len(s);
	}
	if (hl < 0 || (uint32_t)hl > c->max_len)
		return -ENOSPC;
	lo = (uint32_t)hl > c->min_len ? (uint32_t)hl : c->min_len;
	hi = c->max_len;
	/* ARP frames end after their 28 bytes plus at most a padding trailer. */
	if (s->shape == K2_PKT_ARP && hi > (uint32_t)hl + 18)
		hi = lo > (uint32_t)hl + 18 ? lo : (uint32_t)hl + 18;
	/* A DNS query or HTTP request mostly arrives whole. */
	natural = (uint32_t)hl + (uint32_t)pkt_payload_natural_len(s);
	if (natural > lo && natural <= hi && k2_rng_below(r, 10))
		lo = natural;
	len = pick_len(r, lo, hi);
	s->payload_len = (uint16_t)(len - (uint32_t)hl);
	/* Wire frames are padded to 60 bytes; some captures (and veth) keep them short. */
	if (!(c->flags & (K2_PKTGEN_L3 | K2_PKTGEN_NO_PADDING)) && c->max_len >= 60 &&
	    k2_rng_below(r, 10) < 8)
		s->flags |= K2_PKTF_PADDED;
	return 0;
}

int k2_pkt_spec_random(struct k2_rng *rng, const struct k2_pktgen_opts *opts, struct k2_pkt_spec *s)
{
	struct pkt_cfg c;
	int err = pkt_cfg_resolve(opts, 0xffff, &c, NULL);

	if (err)
		return err;
	if (!(c.shapes & REGULAR_SHAPES))
		return -EINVAL;
	for (int i = 0; i < MAX_TRIES; i++)
		if (!draw_regular(rng, &c, c.shapes & REGULAR_SHAPES, s))
			return 0;
	return -ENOSPC;
}

static int gen_regular(struct k2_rng *r, const struct pkt_cfg *c, uint8_t *buf, size_t cap,
		       struct k2_pkt_info *info)
{
	struct k2_pkt_spec s;
	int err = draw_regular(r, c, c->shapes & REGULAR_SHAPES, &s);

	return err ? err : k2_pkt_build(&s, buf, cap, info);
}

/* Where a cut hurts most: at a header's first byte, or one byte either side. */
static uint32_t pick_cut(struct k2_rng *r, const struct k2_pkt_info *in, uint32_t lo, uint32_t hi)
{
	uint16_t marks[] = { PKT_ETH_HLEN, in->l3_off, in->l4_off, in->payload_off };
	uint32_t m = marks[k2_rng_below(r, 4)];

	if (m != K2_PKT_NOFF && k2_rng_below(r, 2)) {
		m = m + (uint32_t)k2_rng_below(r, 3) - 1;
		if (m >= lo && m <= hi)
			return m;
	}
	return lo + (uint32_t)k2_rng_below(r, hi - lo + 1);
}

static void forget_beyond(uint16_t *off, uint32_t len)
{
	if (*off != K2_PKT_NOFF && *off >= len)
		*off = K2_PKT_NOFF;
}

static int gen_truncated(struct k2_rng *r, const struct pkt_cfg *c, uint8_t *buf, size_t cap,
			 struct k2_pkt_info *info)
{
	uint32_t mask = c->shapes & REGULAR_SHAPES, lo, hi, cut;
	struct k2_pkt_spec s;
	struct k2_pkt_info in;
	int len;

	if (!mask)
		mask = (c->flags & K2_PKTGEN_L3) ? K2_PKT_SHAPES_IP & REGULAR_SHAPES
						 : REGULAR_SHAPES;
	pkt_spec_draw(r, c, mask, &s);
	s.payload_len = (uint16_t)(1 + k2_rng_below(r, 8));
	len = k2_pkt_build(&s, buf, cap, &in);
	if (len < 0)
		return len;
	lo = c->min_len;
	hi = in.payload_off - 1u; /* at least one header byte missing */
	if (hi > c->max_len)
		hi = c->max_len;
	if (in.payload_off == K2_PKT_NOFF || lo > hi)
		return -ENOSPC;
	cut = pick_cut(r, &in, lo, hi);
	in.shape = K2_PKT_TRUNCATED;
	in.len = cut;
	in.flags = (in.flags | K2_PKTF_TRUNCATED) & ~K2_PKTF_PADDED;
	forget_beyond(&in.l3_off, cut);
	forget_beyond(&in.l4_off, cut);
	forget_beyond(&in.payload_off, cut);
	in.pad_off = (uint16_t)cut;
	if (info)
		*info = in;
	return (int)cut;
}

/* Random bytes; half of them dressed as Ethernet/IP so that parsers read further in. */
static int gen_random(struct k2_rng *r, const struct pkt_cfg *c, uint8_t *buf,
		      struct k2_pkt_info *info)
{
	static const uint16_t types[] = { 0x0800, 0x86dd, 0x8100, 0x0806 };
	uint32_t len = pick_len(r, c->min_len, c->max_len);
	struct k2_pkt_info in = { .shape = K2_PKT_RANDOM,
				  .base = K2_PKT_RANDOM,
				  .len = len,
				  .l3_off = K2_PKT_NOFF,
				  .l4_off = K2_PKT_NOFF,
				  .payload_off = K2_PKT_NOFF,
				  .pad_off = (uint16_t)len };
	uint32_t l3 = (c->flags & K2_PKTGEN_L3) ? 0 : PKT_ETH_HLEN;

	for (uint32_t i = 0; i < len; i++)
		buf[i] = (uint8_t)k2_rng_next(r);
	if (k2_rng_below(r, 2)) {
		uint16_t t = types[k2_rng_below(r, 4)];

		if (!l3 && len >= PKT_ETH_HLEN) {
			buf[12] = t >> 8;
			buf[13] = t & 0xff;
		}
		if (len > l3)
			buf[l3] = t == 0x86dd ? 0x60 | (buf[l3] & 0xf) : 0x40 | (buf[l3] & 0xf);
	}
	in.flags = (c->flags & K2_PKTGEN_L3) ? K2_PKTF_L3 : 0;
	if (info)
		*info = in;
	return (int)len;
}

static int draw_shape(struct k2_rng *r, uint32_t shapes)
{
	unsigned total = 0, x;
	int i;

	for (i = 0; i < K2_PKT__COUNT; i++)
		if (shapes & K2_PKT_SHAPE(i))
			total += k2_pkt_shape_desc[i].weight;
	x = (unsigned)k2_rng_below(r, total);
	for (i = 0; i < K2_PKT__COUNT - 1; i++) {
		if (!(shapes & K2_PKT_SHAPE(i)))
			continue;
		if (x < k2_pkt_shape_desc[i].weight)
			break;
		x -= k2_pkt_shape_desc[i].weight;
	}
	return i;
}

int k2_pktgen(struct k2_rng *rng, const struct k2_pktgen_opts *opts, void *buf, size_t cap,
	      struct k2_pkt_info *info)
{
	struct pkt_cfg c;
	uint32_t shapes;
	int err, len = -ENOSPC;

	if (!rng || !buf)
		return -EINVAL;
	err = pkt_cfg_resolve(opts, cap, &c, NULL);
	if (err)
		return err;
	shapes = c.shapes;
	for (int i = 0; i < MAX_TRIES && len < 0; i++) {
		switch (draw_shape(rng, shapes)) {
		case K2_PKT_RANDOM:
			return gen_random(rng, &c, buf, info);
		case K2_PKT_TRUNCATED:
			len = gen_truncated(rng, &c, buf, cap, info);
			break;
		default:
			len = gen_regular(rng, &c, buf, cap, info);
			break;
		}
		/* Past half the tries, fall back to what always fits, if allowed. */
		if (i == MAX_TRIES / 2 && (shapes & K2_PKT_SHAPE(K2_PKT_RANDOM)))
			shapes = K2_PKT_SHAPE(K2_PKT_RANDOM);
	}
	return len;
}

int k2_pkt_shapes_parse(const char *list, uint32_t *mask, struct k2_err *e)
{
	uint32_t m = 0;
	const char *p = list;

	while (p && *p) {
		size_t n;
		int i;

		while (*p == ' ' || *p == ',')
			p++;
		n = strcspn(p, ", ");
		if (!n)
			break;
		if (n == 3 && !strncmp(p, "all", 3)) {
			m |= K2_PKT_SHAPES_ALL;
		} else if (n == 11 && !strncmp(p, "well_formed", 11)) {
			m |= K2_PKT_SHAPES_WELL_FORMED;
		} else {
			for (i = 0; i < K2_PKT__COUNT; i++)
				if (strlen(k2_pkt_shape_desc[i].name) == n &&
				    !strncmp(p, k2_pkt_shape_desc[i].name, n))
					break;
			if (i == K2_PKT__COUNT)
				return k2_err_set(
					e, -EINVAL,
					"unknown packet shape '%.*s' (known: ipv4_tcp, "
					"ipv4_udp, ipv4_icmp, ipv4_other, ipv6_tcp, ipv6_udp, "
					"ipv6_icmp, ipv6_other, arp, l2_other, truncated, "
					"random, all, well_formed)",
					(int)n, p);
			m |= K2_PKT_SHAPE(i);
		}
		p += n;
	}
	if (!m)
		return k2_err_set(e, -EINVAL, "empty packet shape list");
	*mask = m;
	return 0;
}
