/* bpf/pktgen_random.c: random packet specs: realistic field values, targets and boundary values. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "bpf/pktgen_int.h"

/* Draws an index with probability proportional to w[i]; the weights must not all be zero. */
static unsigned pick_weighted(struct k2_rng *r, const uint8_t *w, unsigned n)
{
	unsigned total = 0, x;

	for (unsigned i = 0; i < n; i++)
		total += w[i];
	x = (unsigned)k2_rng_below(r, total);
	for (unsigned i = 0; i < n; i++) {
		if (x < w[i])
			return i;
		x -= w[i];
	}
	return n - 1;
}

#define PICK(r, arr) ((arr)[k2_rng_below((r), sizeof(arr) / sizeof((arr)[0]))])

static void rand_bytes(struct k2_rng *r, void *p, size_t n)
{
	uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)k2_rng_next(r);
}

/* A unicast MAC: locally administered, or with one of a few vendor OUIs. */
static void rand_mac(struct k2_rng *r, uint8_t mac[6])
{
	static const uint8_t ouis[][3] = {
		{ 0x00, 0x1b, 0x21 }, { 0x3c, 0xfd, 0xfe }, { 0x52, 0x54, 0x00 },
		{ 0xb8, 0x27, 0xeb }, { 0x00, 0x15, 0x5d }, { 0xf8, 0xf2, 0x1e },
	};

	rand_bytes(r, mac, 6);
	if (k2_rng_below(r, 3))
		memcpy(mac, ouis[k2_rng_below(r, 6)], 3);
	else
		mac[0] = (mac[0] & 0xfc) | 0x02;
}

static uint32_t ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	uint8_t v[4] = { a, b, c, d };
	uint32_t x;

	memcpy(&x, v, 4);
	return x;
}

/* Private ranges most of the time, since that is where XDP programs mostly sit. */
static uint32_t rand_ip4(struct k2_rng *r)
{
	uint32_t x = (uint32_t)k2_rng_next(r);

	switch (k2_rng_below(r, 5)) {
	case 0:
		return ip4(10, x >> 8, x >> 16, x >> 24);
	case 1:
		return ip4(192, 168, x >> 8, x >> 16);
	case 2:
		return ip4(172, 16 | ((x >> 4) & 0xf), x >> 8, x >> 16);
	default: /* public unicast: 1.0.0.0 to 223.255.255.255, skipping 127/8 */
		return ip4(1 + (x % 222 >= 126 ? x % 222 + 1 : x % 222), x >> 8, x >> 16, x >> 24);
	}
}

static void rand_ip6(struct k2_rng *r, uint8_t a[16])
{
	rand_bytes(r, a, 16);
	switch (k2_rng_below(r, 4)) {
	case 0: /* link-local */
		memset(a, 0, 8);
		a[0] = 0xfe;
		a[1] = 0x80;
		break;
	case 1: /* unique local */
		a[0] = 0xfd;
		break;
	default: /* global unicast 2000::/3 */
		a[0] = 0x20 | (a[0] & 0x1f);
		break;
	}
}

static uint16_t rand_ephemeral(struct k2_rng *r)
{
	return (uint16_t)(32768 + k2_rng_below(r, 60999 - 32768 + 1));
}

static uint16_t rand_service(struct k2_rng *r, uint8_t proto)
{
	static const uint16_t tcp[] = { 22,   25,   80,	  179,	443,  443,  443,
					3306, 5432, 6379, 8080, 8443, 9092, 11211 };
	static const uint16_t udp[] = {
		53, 53, 53, 67, 123, 161, 443, 514, 1812, 4789, 5353, 51820
	};

	return proto == IPPROTO_UDP ? PICK(r, udp) : PICK(r, tcp);
}

static uint8_t rand_ttl(struct k2_rng *r)
{
	static const uint8_t base[] = { 64, 64, 64, 128, 255 };

	/* Initial TTLs of common stacks, less the hops travelled. */
	return (uint8_t)(PICK(r, base) - k2_rng_below(r, 24));
}

static uint8_t rand_tos(struct k2_rng *r)
{
	static const uint8_t dscp[] = { 8, 10, 18, 26, 34, 46, 48 };

	if (k2_rng_below(r, 10) < 7)
		return 0;
	return (uint8_t)(PICK(r, dscp) << 2 | (k2_rng_below(r, 4) == 0 ? k2_rng_below(r, 4) : 0));
}

/* TCP flags as they occur on a busy link. */
static uint16_t rand_tcp_flags(struct k2_rng *r)
{
	static const uint8_t w[] = { 40, 25, 10, 8, 7, 4, 4, 2 };
	static const uint16_t f[] = { 0x10, 0x18, 0x02, 0x12, 0x11, 0x04, 0x14, 0xc2 };

	return f[pick_weighted(r, w, 8)];
}

static void put_opt(uint8_t *o, uint8_t *len, const uint8_t *src, uint8_t n)
{
	memcpy(o + *len, src, n);
	*len += n;
}

/* Options padded with NOPs to a multiple of 4 (as stacks do), or with EOL sometimes. */
static void pad_opts(struct k2_rng *r, uint8_t *o, uint8_t *len)
{
	uint8_t pad = k2_rng_below(r, 4) ? 1 : 0;

	while (*len % 4)
		o[(*len)++] = pad;
}

static void rand_tcp_opts(struct k2_rng *r, struct k2_pkt_spec *s)
{
	uint8_t mss[4] = { 2, 4, 0x05, 0xb4 }, sackp[2] = { 4, 2 }, ts[10] = { 8, 10 };
	uint8_t ws[3] = { 3, 3, (uint8_t)k2_rng_below(r, 15) }, nop = 1, sack[10] = { 5, 10 };
	uint8_t *o = s->tcp_opts, *len = &s->tcp_opt_len;
	uint16_t m = k2_rng_below(r, 2) ? 1460 : (uint16_t)(536 + k2_rng_below(r, 9000));

	mss[2] = m >> 8;
	mss[3] = m & 0xff;
	rand_bytes(r, ts + 2, 8);
	rand_bytes(r, sack + 2, 8);
	*len = 0;
	if (s->tcp_flags & 0x02) { /* SYN: MSS, SACK permitted, timestamps, window scale */
		put_opt(o, len, mss, 4);
		if (k2_rng_below(r, 4)) {
			put_opt(o, len, sackp, 2);
			put_opt(o, len, ts, 10);
			put_opt(o, len, &nop, 1);
			put_opt(o, len, ws, 3);
		}
	} else {
		put_opt(o, len, &nop, 1);
		put_opt(o, len, &nop, 1);
		put_opt(o, len, ts, 10);
		if (k2_rng_below(r, 8) == 0) {
			put_opt(o, len, &nop, 1);
			put_opt(o, len, &nop, 1);
			put_opt(o, len, sack, 10);
		}
	}
	pad_opts(r, o, len);
}

static void rand_ip_opts(struct k2_rng *r, struct k2_pkt_spec *s)
{
	uint8_t ra[4] = { 148, 4, 0, 0 }, rr[11] = { 7, 11, 4 }, tsopt[12] = { 68, 12, 5, 0 };
	uint8_t *o = s->ip_opts, *len = &s->ip_opt_len;

	*len = 0;
	switch (k2_rng_below(r, 3)) {
	case 0: /* router alert (IGMP, RSVP) */
		put_opt(o, len, ra, 4);
		break;
	case 1: /* record route with room for two addresses, one recorded */
		memcpy(rr + 3, &s->src4, 4);
		put_opt(o, len, rr, 11);
		break;
	default: /* timestamps only, one recorded */
		rand_bytes(r, tsopt + 4, 4);
		put_opt(o, len, tsopt, 12);
		break;
	}
	pad_opts(r, o, len);
}

static void rand_ipv6_ext(struct k2_rng *r, struct k2_pkt_spec *s)
{
	/* RFC 8200 order: hop-by-hop, destination options, routing, (fragment). */
	static const uint8_t order[] = { IPPROTO_HOPOPTS, IPPROTO_DSTOPTS, IPPROTO_ROUTING };

	s->n_ext = 0;
	for (int i = 0; i < 3; i++)
		if (k2_rng_below(r, 2))
			s->ext[s->n_ext++] = order[i];
	if (!s->n_ext)
		s->ext[s->n_ext++] = PICK(r, order);
}

static int use_target(struct k2_rng *r, const struct pkt_cfg *c, uint32_t n)
{
	return n && pkt_pct(r, c->target_pct);
}

static void draw_l2(struct k2_rng *r, const struct pkt_cfg *c, struct k2_pkt_spec *s)
{
	static const uint16_t l2_types[] = { 0x88cc, 0x8847, 0x8864, 0x88e5, 0x88f7,
					     0x9000, 0x0026, 0x05dc, 0x8035, 0x88b5 };

	rand_mac(r, s->src_mac);
	rand_mac(r, s->dst_mac);
	if (use_target(r, c, c->t.n_dst_macs)) {
		memcpy(s->dst_mac, c->t.dst_macs[k2_rng_below(r, c->t.n_dst_macs)], 6);
		s->flags |= K2_PKTF_TARGET;
	}
	s->ethertype = PICK(r, l2_types);
	if (c->flags & (K2_PKTGEN_NO_VLAN | K2_PKTGEN_L3))
		return;
	s->n_vlans = k2_rng_below(r, 100) < 12 ? 1 : 0;
	if (s->n_vlans && k2_rng_below(r, 5) == 0)
		s->n_vlans = 2;
	for (int i = 0; i < s->n_vlans; i++) {
		uint16_t vid = (uint16_t)(1 + k2_rng_below(r, 4094));

		if (use_target(r, c, c->t.n_vlan_ids)) {
			vid = c->t.vlan_ids[k2_rng_below(r, c->t.n_vlan_ids)] & 0xfff;
			s->flags |= K2_PKTF_TARGET;
		}
		s->vlan_tci[i] =
			(uint16_t)((k2_rng_below(r, 4) ? 0 : k2_rng_below(r, 8)) << 13) | vid;
	}
}

static void draw_ip(struct k2_rng *r, const struct pkt_cfg *c, struct k2_pkt_spec *s)
{
	s->src4 = rand_ip4(r);
	s->dst4 = rand_ip4(r);
	if (use_target(r, c, c->t.n_dst4)) {
		s->dst4 = c->t.dst4[k2_rng_below(r, c->t.n_dst4)];
		s->flags |= K2_PKTF_TARGET;
	}
	if (use_target(r, c, c->t.n_src4)) {
		s->src4 = c->t.src4[k2_rng_below(r, c->t.n_src4)];
		s->flags |= K2_PKTF_TARGET;
	}
	rand_ip6(r, s->src6);
	rand_ip6(r, s->dst6);
	if (use_target(r, c, c->t.n_dst6)) {
		memcpy(s->dst6, c->t.dst6[k2_rng_below(r, c->t.n_dst6)], 16);
		s->flags |= K2_PKTF_TARGET;
	}
	s->tos = rand_tos(r);
	s->ttl = rand_ttl(r);
	s->ip_id = (uint16_t)k2_rng_next(r);
	s->dont_frag = k2_rng_below(r, 10) < 7;
	s->flow_label = k2_rng_below(r, 2) ? (uint32_t)k2_rng_next(r) & 0xfffff : 0;
	s->frag_id = (uint32_t)k2_rng_next(r);
	if (!(c->flags & K2_PKTGEN_NO_IP_OPTIONS) && k2_rng_below(r, 100) < 5)
		rand_ip_opts(r, s);
	if (!(c->flags & K2_PKTGEN_NO_IPV6_EXT) && k2_rng_below(r, 100) < 10)
		rand_ipv6_ext(r, s);
}

static void draw_ports(struct k2_rng *r, const struct pkt_cfg *c, struct k2_pkt_spec *s,
		       uint8_t proto)
{
	uint16_t svc = rand_service(r, proto), eph = rand_ephemeral(r);

	if (k2_rng_below(r, 10) < 7) { /* client to server */
		s->sport = eph;
		s->dport = svc;
	} else {
		s->sport = svc;
		s->dport = eph;
	}
	if (use_target(r, c, c->t.n_dst_ports)) {
		s->dport = c->t.dst_ports[k2_rng_below(r, c->t.n_dst_ports)];
		s->flags |= K2_PKTF_TARGET;
	}
}

static void draw_icmp(struct k2_rng *r, struct k2_pkt_spec *s, int family)
{
	static const uint8_t w4[] = { 45, 35, 10, 7, 3 }, t4[] = { 8, 0, 3, 11, 5 };
	static const uint8_t w6[] = { 30, 30, 20, 5, 10, 5 }, t6[] = { 128, 129, 135, 136, 1, 2 };
	unsigned i = family == 4 ? pick_weighted(r, w4, 5) : pick_weighted(r, w6, 6);

	s->icmp_type = family == 4 ? t4[i] : t6[i];
	s->icmp_code = 0;
	s->icmp_rest = (uint32_t)k2_rng_next(r);
	s->quote.addr4 = rand_ip4(r);
	rand_ip6(r, s->quote.addr6);
	s->quote.port = rand_ephemeral(r);
	s->quote.proto = k2_rng_below(r, 2) ? IPPROTO_TCP : IPPROTO_UDP;
	s->dport = rand_service(r, s->quote.proto);
	if (s->icmp_type == 3) {
		s->icmp_code = (uint8_t)k2_rng_below(r, 5);
		/* "Fragmentation needed" carries the next-hop MTU. */
		s->icmp_rest = s->icmp_code == 4 ? 1400 + (uint32_t)k2_rng_below(r, 100) : 0;
	} else if (s->icmp_type == 11 || s->icmp_type == 136) {
		s->icmp_rest = s->icmp_type == 136 ? 0x60000000 : 0;
	} else if (s->icmp_type == 135 || s->icmp_type == 1) {
		s->icmp_rest = 0;
		s->icmp_code = s->icmp_type == 1 ? (uint8_t)k2_rng_below(r, 7) : 0;
	} else if (s->icmp_type == 2) {
		s->icmp_rest = 1280 + (uint32_t)k2_rng_below(r, 221);
	} else if (s->icmp_type == 5) {
		s->icmp_code = (uint8_t)k2_rng_below(r, 4);
		s->icmp_rest = rand_ip4(r);
	}
}

static void draw_l4(struct k2_rng *r, const struct pkt_cfg *c, struct k2_pkt_spec *s)
{
	static const uint8_t other4[] = {
		IPPROTO_GRE,  IPPROTO_ESP, IPPROTO_AH, IPPROTO_IPIP, IPPROTO_IPV6,
		IPPROTO_SCTP, 89,	   112,	       IPPROTO_PIM,  2
	};
	static const uint8_t other6[] = { IPPROTO_GRE,	IPPROTO_ESP,  IPPROTO_AH,
					  IPPROTO_IPIP, IPPROTO_IPV6, IPPROTO_SCTP,
					  89,		112,	      IPPROTO_NONE };
	const struct pkt_shape_desc *d = &k2_pkt_shape_desc[s->shape];

	s->payload = K2_PAYLOAD_RANDOM;
	s->payload_seed = k2_rng_next(r);
	if (d->l4_proto == IPPROTO_TCP || d->l4_proto == IPPROTO_UDP)
		draw_ports(r, c, s, d->l4_proto);
	if (d->l4_proto == IPPROTO_TCP) {
		s->seq = (uint32_t)k2_rng_next(r);
		s->ack = (uint32_t)k2_rng_next(r);
		s->tcp_flags = rand_tcp_flags(r);
		s->window = k2_rng_below(r, 2) ? 65535 : (uint16_t)k2_rng_below(r, 65536);
		if (!(s->tcp_flags & 0x10))
			s->ack = 0;
		if (!(c->flags & K2_PKTGEN_NO_TCP_OPTIONS) && k2_rng_below(r, 100) < 60)
			rand_tcp_opts(r, s);
		if ((s->dport == 80 || s->dport == 8080) && (s->tcp_flags & 0x08))
			s->payload = K2_PAYLOAD_HTTP;
	} else if (d->l4_proto == IPPROTO_UDP) {
		if (s->dport == 53 && k2_rng_below(r, 5))
			s->payload = K2_PAYLOAD_DNS;
	} else if (d->l4_proto == IPPROTO_ICMP || d->l4_proto == IPPROTO_ICMPV6) {
		draw_icmp(r, s, d->family);
	} else if (s->shape == K2_PKT_ARP) {
		s->arp_op = k2_rng_below(r, 5) < 3 ? 1 : 2;
		if (s->arp_op == 1) {
			memset(s->dst_mac, 0xff, 6);
			memset(s->arp_tha, 0, 6);
		} else {
			memcpy(s->arp_tha, s->dst_mac, 6);
		}
		/* Both ends on one /24. */
		memcpy((uint8_t *)&s->dst4, &s->src4, 3);
	} else if (d->family) {
		s->l4_proto = d->family == 4 ? PICK(r, other4) : PICK(r, other6);
	}
	if (k2_rng_below(r, 20) == 0)
		s->payload = K2_PAYLOAD_ZERO;
}

/* One realistic flow of the target set, if it fits the allowed shapes. */
static int draw_flow(struct k2_rng *r, const struct pkt_cfg *c, uint32_t shapes,
		     struct k2_pkt_spec *s)
{
	const struct k2_pkt_flow *f;
	int shape = -1;

	if (!use_target(r, c, c->t.n_flows))
		return 0;
	f = &c->t.flows[k2_rng_below(r, c->t.n_flows)];
	for (int i = 0; i < K2_PKT_TRUNCATED; i++) {
		const struct pkt_shape_desc *d = &k2_pkt_shape_desc[i];

		if (d->family == f->family && d->l4_proto && d->l4_proto == f->proto)
			shape = i;
	}
	if (shape < 0 || !(shapes & K2_PKT_SHAPE(shape)))
		return 0;
	s->shape = (enum k2_pkt_shape)shape;
	draw_l4(r, c, s);
	s->sport = f->sport;
	s->dport = f->dport;
	s->src4 = f->src4;
	s->dst4 = f->dst4;
	memcpy(s->src6, f->src6, 16);
	memcpy(s->dst6, f->dst6, 16);
	s->flags |= K2_PKTF_TARGET;
	return 1;
}

void pkt_spec_draw(struct k2_rng *r, const struct pkt_cfg *c, uint32_t shapes,
		   struct k2_pkt_spec *s)
{
	uint8_t w[K2_PKT_TRUNCATED];

	for (int i = 0; i < K2_PKT_TRUNCATED; i++)
		w[i] = (shapes & K2_PKT_SHAPE(i)) ? k2_pkt_shape_desc[i].weight : 0;
	k2_pkt_spec_init(s, (enum k2_pkt_shape)pick_weighted(r, w, K2_PKT_TRUNCATED));
	if (c->flags & K2_PKTGEN_L3)
		s->flags |= K2_PKTF_L3;
	draw_l2(r, c, s);
	draw_ip(r, c, s);
	if (!draw_flow(r, c, shapes, s))
		draw_l4(r, c, s);
	if (k2_pkt_shape_desc[s->shape].family == 4 && IN_MULTICAST(ntohl(s->dst4))) {
		uint8_t mc[6] = { 0x01, 0x00, 0x5e };
		uint32_t h = ntohl(s->dst4);

		mc[3] = (h >> 16) & 0x7f;
		mc[4] = h >> 8;
		mc[5] = h;
		memcpy(s->dst_mac, mc, 6);
	}
}
