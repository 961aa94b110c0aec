/* bpf/pktgen_odd.c: boundary values and inconsistent fields applied to a random packet spec. */
#include <netinet/in.h>
#include <string.h>

#include "bpf/pktgen_int.h"

#define PICK(r, arr) ((arr)[k2_rng_below((r), sizeof(arr) / sizeof((arr)[0]))])

/*
 * Each mutation returns 0 when it does not apply to the spec's shape, so that the
 * caller draws another. Length lies and fragments are reported by k2_pkt_build from
 * the spec itself (BAD_LEN, FRAGMENT); the others mark BOUNDARY here.
 */
typedef int (*odd_fn)(struct k2_rng *r, const struct pkt_cfg *c, struct k2_pkt_spec *s);

static int family(const struct k2_pkt_spec *s)
{
	return k2_pkt_shape_desc[s->shape].family;
}

static uint8_t l4(const struct k2_pkt_spec *s)
{
	return k2_pkt_shape_desc[s->shape].l4_proto;
}

static int odd_ports(struct k2_rng *r, const struct pkt_cfg *c, struct k2_pkt_spec *s)
{
	static const uint16_t v[] = { 0, 1, 1023, 1024, 65535 };

	(void)c;
	if (l4(s) != IPPROTO_TCP && l4(s) != IPPROTO_UDP)
		return 0;
	if (k2_rng_below(r, 2))
		s->dport = PICK(r, v);
	else
		s->sport = PICK(r, v);
	return 1;
}

static int odd_ttl(struct k2_rng *r, const struct pkt_cfg *c, struct k2_pkt_spec *s)
{
	static const uint8_t v[] = { 0, 1, 2, 255 };

	(void)c;
	if (!family(s))
		return 0;
	s->ttl = PICK(r, v);
	return 1;
}

static int odd_addr(struct k2_rng *r, const struct pkt_cfg *c, struct k2_pkt_spec *s)
{
	static const uint8_t v4[][4] = { { 0, 0, 0, 0 },     { 255, 255, 255, 255 },
					 { 127, 0, 0, 1 },   { 224, 0, 0, 1 },
					 { 169, 254, 1, 1 }, { 10, 255, 255, 255 } };
	static const uint8_t v6[][16] = {
		{ 0 },
		{ [15] = 1 },
		{ 0xff, 0x02, [15] = 1 },
		{ 0xfe, 0x80, [15] = 1 },
		{ [10] = 0xff, [11] = 0xff, [12] = 10, [15] = 1 }, /* v4-mapped */
	};
	int dst = (int)k2_rng_below(r, 2);

	(void)c;
	if (family(s) == 6) {
		memcpy(dst ? s->dst6 : s->src6, PICK(r, v6), 16);
		return 1;
	}
	if (family(s) != 4 && s->shape != K2_PKT_ARP)
		return 0;
	memcpy(dst ? &s->dst4 : &s->src4, PICK(r, v4), 4);
	return 1;
}

static int odd_mac(struct k2_rng *r, const struct pkt_cfg *c, struct k2_pkt_spec *s)
{
	static const uint8_t v[][6] = { { 0 },
					{ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
					{ 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 },
					{ 0x33, 0x33, 0x00, 0x00, 0x00, 0x01 },
					{ 0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e } };

	if (c->flags & K2_PKTGEN_L3)
		return 0;
	if (k2_rng_below(r, 4))
		memcpy(s->dst_mac, PICK(r, v), 6);
	else
		s->src_mac[0] |= 1; /* a multicast source: never valid */
	return 1;
}

static int odd_vlan(struct k2_rng *r, const struct pkt_cfg *c, struct k2_pkt_spec *s)
{
	static const uint16_t v[] = { 0x0000, 0x0fff, 0xe000, 0xefff, 0x1001 };

	if (c->flags & (K2_PKTGEN_L3 | K2_PKTGEN_NO_VLAN))
		return 0;
	if (!s->n_vlans)
		s->n_vlans = 1;
	s->vlan_tci[s->n_vlans - 1] = PICK(r, v);
	return 1;
}

static int odd_tos(struct k2_rng *r, const struct pkt_cfg *c, struct k2_pkt_spec *s)
{
	static const uint8_t v[] = { 0xff, 0x03, 0xfc, 0x01 };

	(void)c;
	if (!family(s))
		return 0;
	s->tos = PICK(r, v);
	return 1;
}

static int odd_tcp_flags(struct k2_rng *r, const struct pkt_cfg *c, struct k2_pkt_spec *s)
{
	/* Scans and broken stacks: NULL, Xmas, SYN+FIN, SYN+RST, all, FIN alone, URG. */
	static const uint16_t v[] = { 0x000, 0x029, 0x003, 0x006, 0x0ff, 0x1ff, 0x001, 0x030 };

	(void)c;
	if (l4(s) != IPPROTO_TCP)
		return 0;
	s->tcp_flags = PICK(r, v);
	s->urg_ptr = (s->tcp_flags & 0x20) ? (uint16_t)k2_rng_next(r) : 0;
	return 1;
}

static int odd_icmp(struct k2_rng *r, const struct pkt_cfg *c, struct k2_pkt_spec *s)
{
	(void)c;
	if (l4(s) != IPPROTO_ICMP && l4(s) != IPPROTO_ICMPV6)
		return 0;
	s->icmp_type = (uint8_t)k2_rng_next(r);
	s->icmp_code = (uint8_t)k2_rng_next(r);
	return 1;
}

static int odd_arp(struct k2_rng *r, const struct pkt_cfg *c, struct k2_pkt_spec *s)
{
	static const uint16_t v[] = { 0, 3, 4, 0xffff };

	(void)c;
	if (s->shape != K2_PKT_ARP)
		return 0;
	s->arp_op = PICK(r, v);
	return 1;
}

static int odd_fragment(struct k2_rng *r, const struct pkt_cfg *c, struct k2_pkt_spec *s)
{
	int later = (int)k2_rng_below(r, 2);

	(void)c;
	if (!family(s))
		return 0;
	s->more_frags = later ? k2_rng_below(r, 2) : 1;
	s->frag_offset = later ? (uint16_t)(1 + k2_rng_below(r, 8191)) : 0;
	if (later && k2_rng_below(r, 2))
		s->frag_offset = 185; /* 1480 bytes: the second fragment at Ethernet MTU */
	if (family(s) == 4) {
		s->dont_frag = false;
		return 1;
	}
	if (s->n_ext >= K2_PKT_MAX_EXT)
		return 0;
	s->ext[s->n_ext++] = IPPROTO_FRAGMENT;
	return 1;
}

static int odd_ip_len(struct k2_rng *r, const struct pkt_cfg *c, struct k2_pkt_spec *s)
{
	static const int32_t v[] = { -1000, -20, -4, -1, 1, 4, 20, 1000 };

	(void)c;
	if (!family(s))
		return 0;
	s->ip_len_delta = PICK(r, v);
	return 1;
}

static int odd_hdr_len(struct k2_rng *r, const struct pkt_cfg *c, struct k2_pkt_spec *s)
{
	static const uint8_t ihl[] = { 1, 4, 6, 15 }, doff[] = { 1, 4, 15 };
	static const int32_t udp[] = { -9, -1, 1, 100 };

	(void)c;
	if (family(s) == 4 && k2_rng_below(r, 2)) {
		s->ihl = PICK(r, ihl);
		return s->ihl != 5 + s->ip_opt_len / 4;
	}
	if (l4(s) == IPPROTO_TCP) {
		s->doff = PICK(r, doff);
		return s->doff != 5 + s->tcp_opt_len / 4;
	}
	if (l4(s) == IPPROTO_UDP) {
		s->udp_len_delta = PICK(r, udp);
		return 1;
	}
	return 0;
}

static const struct {
	odd_fn fn;
	uint32_t flag;
	uint8_t weight;
} odd_table[] = {
	{ odd_ports, K2_PKTF_BOUNDARY, 4 },
	{ odd_ttl, K2_PKTF_BOUNDARY, 3 },
	{ odd_addr, K2_PKTF_BOUNDARY, 3 },
	{ odd_mac, K2_PKTF_BOUNDARY, 2 },
	{ odd_vlan, K2_PKTF_BOUNDARY, 2 },
	{ odd_tos, K2_PKTF_BOUNDARY, 1 },
	{ odd_tcp_flags, K2_PKTF_BOUNDARY, 3 },
	{ odd_icmp, K2_PKTF_BOUNDARY, 2 },
	{ odd_arp, K2_PKTF_BOUNDARY, 2 },
	{ odd_fragment, 0, 3 },
	{ odd_ip_len, 0, 3 },
	{ odd_hdr_len, 0, 3 },
};

#define N_ODD (sizeof(odd_table) / sizeof(odd_table[0]))

/* One mutation, sometimes two; tries other mutations when one does not fit the shape. */
void pkt_spec_odd(struct k2_rng *r, const struct pkt_cfg *c, struct k2_pkt_spec *s)
{
	unsigned total = 0, applied = 0, want = k2_rng_below(r, 4) ? 1 : 2;

	for (unsigned i = 0; i < N_ODD; i++)
		total += odd_table[i].weight;
	for (int tries = 0; tries < 16 && applied < want; tries++) {
		unsigned x = (unsigned)k2_rng_below(r, total), i = 0;

		while (x >= odd_table[i].weight)
			x -= odd_table[i++].weight;
		if (odd_table[i].fn(r, c, s)) {
			s->flags |= odd_table[i].flag;
			applied++;
		}
	}
}
