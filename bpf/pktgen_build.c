/* bpf/pktgen_build.c: the exact bytes of a described packet: headers, lengths, checksums. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "bpf/pktgen_int.h"

#define ETH_P_IPV4 0x0800
#define ETH_P_IPV6 0x86dd
#define ETH_P_ARP 0x0806
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88a8

/* Default mix: TCP dominates real traffic, then UDP; the odd shapes stay a minority. */
const struct pkt_shape_desc k2_pkt_shape_desc[K2_PKT__COUNT] = {
	[K2_PKT_IPV4_TCP] = { "ipv4_tcp", 4, IPPROTO_TCP, ETH_P_IPV4, 30, 40 },
	[K2_PKT_IPV4_UDP] = { "ipv4_udp", 4, IPPROTO_UDP, ETH_P_IPV4, 15, 28 },
	[K2_PKT_IPV4_ICMP] = { "ipv4_icmp", 4, IPPROTO_ICMP, ETH_P_IPV4, 5, 28 },
	[K2_PKT_IPV4_OTHER] = { "ipv4_other", 4, 0, ETH_P_IPV4, 3, 20 },
	[K2_PKT_IPV6_TCP] = { "ipv6_tcp", 6, IPPROTO_TCP, ETH_P_IPV6, 14, 60 },
	[K2_PKT_IPV6_UDP] = { "ipv6_udp", 6, IPPROTO_UDP, ETH_P_IPV6, 8, 48 },
	[K2_PKT_IPV6_ICMP] = { "ipv6_icmp", 6, IPPROTO_ICMPV6, ETH_P_IPV6, 5, 48 },
	[K2_PKT_IPV6_OTHER] = { "ipv6_other", 6, 0, ETH_P_IPV6, 2, 40 },
	[K2_PKT_ARP] = { "arp", 0, 0, ETH_P_ARP, 4, 28 },
	[K2_PKT_L2_OTHER] = { "l2_other", 0, 0, 0, 3, 0 },
	[K2_PKT_TRUNCATED] = { "truncated", 0, 0, 0, 6, 0 },
	[K2_PKT_RANDOM] = { "random", 0, 0, 0, 5, 0 },
};

const char *k2_pkt_shape_name(enum k2_pkt_shape s)
{
	return (unsigned)s < K2_PKT__COUNT ? k2_pkt_shape_desc[s].name : NULL;
}

/* A bounded writer: overflow is noted once and checked at the end. */
struct pw {
	uint8_t *p;
	size_t len, cap;
	int full;
};

static uint8_t *pw_reserve(struct pw *w, size_t n)
{
	uint8_t *at;

	if (w->full || n > w->cap - w->len) {
		w->full = 1;
		return NULL;
	}
	at = w->p + w->len;
	w->len += n;
	return at;
}

static void pw_put(struct pw *w, const void *src, size_t n)
{
	uint8_t *at = pw_reserve(w, n);

	if (at)
		memcpy(at, src, n);
}

static void pw_zero(struct pw *w, size_t n)
{
	uint8_t *at = pw_reserve(w, n);

	if (at)
		memset(at, 0, n);
}

static void pw_u8(struct pw *w, uint8_t v)
{
	pw_put(w, &v, 1);
}

static void pw_be16(struct pw *w, uint16_t v)
{
	uint8_t b[2] = { v >> 8, v & 0xff };

	pw_put(w, b, 2);
}

static void pw_be32(struct pw *w, uint32_t v)
{
	uint8_t b[4] = { v >> 24, v >> 16, v >> 8, v };

	pw_put(w, b, 4);
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

uint16_t k2_csum_add(const void *p, size_t n, uint32_t sum)
{
	const uint8_t *b = p;
	uint64_t s = sum;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)b[i] << 8 | b[i + 1];
	if (n & 1)
		s += (uint32_t)b[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* The pseudo-header's share of a TCP/UDP/ICMPv6 checksum. */
static uint32_t pseudo_sum(const struct k2_pkt_spec *s, uint8_t proto, uint32_t l4_len)
{
	uint8_t ph[40];

	if (k2_pkt_shape_desc[s->shape].family == 4) {
		memcpy(ph, &s->src4, 4);
		memcpy(ph + 4, &s->dst4, 4);
		return k2_csum_add(ph, 8, proto + l4_len);
	}
	memcpy(ph, s->src6, 16);
	memcpy(ph + 16, s->dst6, 16);
	return k2_csum_add(ph, 32, proto + (l4_len >> 16) + (l4_len & 0xffff));
}

static void store_csum(uint8_t *field, uint16_t folded, int udp)
{
	uint16_t c = (uint16_t)~folded;

	/* UDP sends a computed zero as all ones: zero means "no checksum". */
	put_be16(field, udp && c == 0 ? 0xffff : c);
}

static void build_l2(struct pw *w, const struct k2_pkt_spec *s, uint16_t ethertype)
{
	pw_put(w, s->dst_mac, 6);
	pw_put(w, s->src_mac, 6);
	for (int i = 0; i < s->n_vlans; i++) {
		pw_be16(w, s->n_vlans == 2 && i == 0 ? ETH_P_8021AD : ETH_P_8021Q);
		pw_be16(w, s->vlan_tci[i]);
	}
	pw_be16(w, ethertype);
}

static void build_arp(struct pw *w, const struct k2_pkt_spec *s)
{
	pw_be16(w, 1); /* Ethernet */
	pw_be16(w, ETH_P_IPV4);
	pw_u8(w, 6);
	pw_u8(w, 4);
	pw_be16(w, s->arp_op);
	pw_put(w, s->src_mac, 6);
	pw_put(w, &s->src4, 4);
	pw_put(w, s->arp_tha, 6);
	pw_put(w, &s->dst4, 4);
}

/* IPv4 header with placeholders for tot_len and check (fixed up once the length is known). */
static void build_ipv4(struct pw *w, const struct k2_pkt_spec *s, uint8_t proto)
{
	uint16_t frag = (s->dont_frag ? 0x4000 : 0) | (s->more_frags ? 0x2000 : 0) |
			(s->frag_offset & 0x1fff);

	pw_u8(w, 0x40 | (s->ihl ? s->ihl & 0xf : 5 + s->ip_opt_len / 4));
	pw_u8(w, s->tos);
	pw_be16(w, 0);
	pw_be16(w, s->ip_id);
	pw_be16(w, frag);
	pw_u8(w, s->ttl);
	pw_u8(w, proto);
	pw_be16(w, 0);
	pw_put(w, &s->src4, 4);
	pw_put(w, &s->dst4, 4);
	pw_put(w, s->ip_opts, s->ip_opt_len);
}

/* One extension header; nh is the header after it. Options are padding only (PadN). */
static void build_ext(struct pw *w, const struct k2_pkt_spec *s, uint8_t type, uint8_t nh)
{
	switch (type) {
	case IPPROTO_FRAGMENT:
		pw_u8(w, nh);
		pw_u8(w, 0);
		pw_be16(w, (uint16_t)(s->frag_offset << 3) | (s->more_frags ? 1 : 0));
		pw_be32(w, s->frag_id);
		break;
	case IPPROTO_ROUTING: {
		/* Segment routing header (type 4), segments left 0: the final segment is dst. */
		uint8_t h[8] = { nh, 2, 4, 0, 0, 0, 0, 0 };

		pw_put(w, h, 8);
		pw_put(w, s->dst6, 16);
		break;
	}
	case IPPROTO_HOPOPTS: {
		/* Router alert (MLD) then PadN, as a listener report carries. */
		uint8_t h[8] = { nh, 0, 5, 2, 0, 0, 1, 0 };

		pw_put(w, h, 8);
		break;
	}
	default: { /* destination options: one PadN of four bytes */
		uint8_t h[8] = { nh, 0, 1, 4, 0, 0, 0, 0 };

		pw_put(w, h, 8);
		break;
	}
	}
}

static void build_ipv6(struct pw *w, const struct k2_pkt_spec *s, uint8_t proto)
{
	uint32_t vtf = 6u << 28 | (uint32_t)s->tos << 20 | (s->flow_label & 0xfffff);

	pw_be32(w, vtf);
	pw_be16(w, 0);
	pw_u8(w, s->n_ext ? s->ext[0] : proto);
	pw_u8(w, s->ttl);
	pw_put(w, s->src6, 16);
	pw_put(w, s->dst6, 16);
	for (int i = 0; i < s->n_ext; i++)
		build_ext(w, s, s->ext[i], i + 1 < s->n_ext ? s->ext[i + 1] : proto);
}

static void build_tcp(struct pw *w, const struct k2_pkt_spec *s)
{
	uint8_t doff = s->doff ? s->doff & 0xf : 5 + s->tcp_opt_len / 4;

	pw_be16(w, s->sport);
	pw_be16(w, s->dport);
	pw_be32(w, s->seq);
	pw_be32(w, s->ack);
	pw_u8(w, doff << 4 | ((s->tcp_flags >> 8) & 1));
	pw_u8(w, s->tcp_flags & 0xff);
	pw_be16(w, s->window);
	pw_be16(w, 0);
	pw_be16(w, s->urg_ptr);
	pw_put(w, s->tcp_opts, s->tcp_opt_len);
}

/* The start of the packet an ICMP error is about: sent from dst to the quoted peer. */
static void build_quote(struct pw *w, const struct k2_pkt_spec *s, int family)
{
	size_t at = w->len;

	if (family == 4) {
		pw_u8(w, 0x45);
		pw_u8(w, 0);
		pw_be16(w, 1500);
		pw_be16(w, s->ip_id ^ 0x5a5a);
		pw_be16(w, 0x4000);
		pw_u8(w, 64);
		pw_u8(w, s->quote.proto);
		pw_be16(w, 0);
		pw_put(w, &s->dst4, 4);
		pw_put(w, &s->quote.addr4, 4);
		if (!w->full)
			store_csum(w->p + at + 10, k2_csum_add(w->p + at, 20, 0), 0);
	} else {
		pw_be32(w, 6u << 28);
		pw_be16(w, 1460);
		pw_u8(w, s->quote.proto);
		pw_u8(w, 64);
		pw_put(w, s->dst6, 16);
		pw_put(w, s->quote.addr6, 16);
	}
	/* First 8 bytes of its L4 header: ports, then UDP length/checksum or TCP sequence. */
	pw_be16(w, s->dport);
	pw_be16(w, s->quote.port);
	pw_be32(w, s->quote.proto == IPPROTO_UDP ? 1480u << 16 : s->seq);
}

static int icmp_is_error(int family, uint8_t type)
{
	if (family == 4)
		return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
	return type >= 1 && type <= 4;
}

static void build_icmp(struct pw *w, const struct k2_pkt_spec *s, int family)
{
	pw_u8(w, s->icmp_type);
	pw_u8(w, s->icmp_code);
	pw_be16(w, 0);
	pw_be32(w, s->icmp_rest);
	if (icmp_is_error(family, s->icmp_type)) {
		build_quote(w, s, family);
	} else if (family == 6 && (s->icmp_type == 135 || s->icmp_type == 136)) {
		/* Neighbour solicitation/advertisement: target, then a link-layer address. */
		pw_put(w, s->quote.addr6, 16);
		pw_u8(w, s->icmp_type == 135 ? 1 : 2);
		pw_u8(w, 1);
		pw_put(w, s->src_mac, 6);
	}
}

static const char *const dns_names[][3] = {
	{ "www", "example", "com" }, { "api", "example", "net" }, { "ns1", "k2", "org" },
	{ "mail", "test", "io" },    { "cdn", "a", "de" },	  { "time", "pool", "ntp" },
};
static const uint16_t dns_qtypes[] = { 1, 28, 5, 15, 16, 33, 65, 255 };

static void fill_random(uint8_t *p, size_t n, struct k2_rng *r)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)k2_rng_next(r);
}

/* Writes as much of a DNS query as fits in n bytes; returns the bytes written. */
static size_t fill_dns(uint8_t *p, size_t n, struct k2_rng *r)
{
	uint8_t q[128];
	size_t len = 0;
	const char *const *name = dns_names[k2_rng_below(r, 6)];
	uint16_t qtype = dns_qtypes[k2_rng_below(r, 8)];
	uint16_t id = (uint16_t)k2_rng_next(r);
	uint8_t hdr[12] = { id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0 };

	memcpy(q, hdr, 12);
	len = 12;
	for (int i = 0; i < 3; i++) {
		size_t l = strlen(name[i]);

		q[len++] = (uint8_t)l;
		memcpy(q + len, name[i], l);
		len += l;
	}
	q[len++] = 0;
	q[len++] = qtype >> 8;
	q[len++] = qtype & 0xff;
	q[len++] = 0;
	q[len++] = 1; /* class IN */
	if (len > n)
		len = n;
	memcpy(p, q, len);
	return len;
}

/* An HTTP/1.1 request for a seeded path; returns its length (less than 192). */
static size_t http_request(char req[192], struct k2_rng *r)
{
	static const char *const paths[] = { "/", "/index.html", "/api/v1/items?id=42",
					     "/static/app.js", "/healthz" };

	return (size_t)snprintf(req, 192,
				"%s %s HTTP/1.1\r\nHost: example.com\r\nUser-Agent: k2/1\r\n"
				"Accept: */*\r\n\r\n",
				k2_rng_below(r, 4) ? "GET" : "POST", paths[k2_rng_below(r, 5)]);
}

static size_t fill_http(uint8_t *p, size_t n, struct k2_rng *r)
{
	char req[192];
	size_t len = http_request(req, r);

	if (len > n)
		len = n;
	memcpy(p, req, len);
	for (size_t i = len; i < n; i++) /* a body of lowercase letters */
		p[i] = 'a' + (uint8_t)k2_rng_below(r, 26);
	return n;
}

size_t pkt_payload_natural_len(const struct k2_pkt_spec *s)
{
	struct k2_rng r;
	uint8_t q[128];
	char req[192];

	k2_rng_seed(&r, s->payload_seed);
	if (s->payload == K2_PAYLOAD_DNS)
		return fill_dns(q, sizeof(q), &r);
	if (s->payload == K2_PAYLOAD_HTTP)
		return http_request(req, &r);
	return 0;
}

static void build_payload(struct pw *w, const struct k2_pkt_spec *s)
{
	uint8_t *p = pw_reserve(w, s->payload_len);
	struct k2_rng r;
	size_t done = 0;

	if (!p)
		return;
	k2_rng_seed(&r, s->payload_seed);
	switch (s->payload) {
	case K2_PAYLOAD_ZERO:
		memset(p, 0, s->payload_len);
		return;
	case K2_PAYLOAD_DNS:
		done = fill_dns(p, s->payload_len, &r);
		break;
	case K2_PAYLOAD_HTTP:
		done = fill_http(p, s->payload_len, &r);
		break;
	default:
		break;
	}
	fill_random(p + done, s->payload_len - done, &r);
}

static int spec_valid(const struct k2_pkt_spec *s)
{
	if ((unsigned)s->shape >= K2_PKT_TRUNCATED || s->n_vlans > K2_PKT_MAX_VLANS)
		return 0;
	if (s->ip_opt_len % 4 || s->ip_opt_len > K2_PKT_MAX_OPTS)
		return 0;
	if (s->tcp_opt_len % 4 || s->tcp_opt_len > K2_PKT_MAX_OPTS || s->n_ext > K2_PKT_MAX_EXT)
		return 0;
	for (int i = 0; i < s->n_ext; i++)
		if (s->ext[i] != IPPROTO_HOPOPTS && s->ext[i] != IPPROTO_ROUTING &&
		    s->ext[i] != IPPROTO_FRAGMENT && s->ext[i] != IPPROTO_DSTOPTS)
			return 0;
	if ((s->flags & K2_PKTF_L3) && !k2_pkt_shape_desc[s->shape].family)
		return 0;
	return (unsigned)s->payload <= K2_PAYLOAD_HTTP;
}

static int spec_has_frag_ext(const struct k2_pkt_spec *s)
{
	for (int i = 0; i < s->n_ext; i++)
		if (s->ext[i] == IPPROTO_FRAGMENT)
			return 1;
	return 0;
}

/* Length fields, then checksums innermost first, as a sender's stack would fill them. */
static void fixup(struct pw *w, const struct k2_pkt_spec *s, struct k2_pkt_info *in)
{
	const struct pkt_shape_desc *d = &k2_pkt_shape_desc[s->shape];
	uint8_t *l3 = w->p + in->l3_off, *l4 = w->p + in->l4_off;
	uint32_t l4_len = in->l4_off == K2_PKT_NOFF ? 0 : (uint32_t)w->len - in->l4_off;
	uint16_t ip_len;

	if (d->family == 4) {
		ip_len = (uint16_t)(w->len - in->l3_off + s->ip_len_delta);
		put_be16(l3 + 2, ip_len);
		in->ip_len = ip_len;
	} else if (d->family == 6) {
		ip_len = (uint16_t)(w->len - in->l3_off - 40 + s->ip_len_delta);
		put_be16(l3 + 4, ip_len);
		in->ip_len = ip_len + 40u;
	}
	if (in->l4_off != K2_PKT_NOFF) {
		switch (in->l4_proto) {
		case IPPROTO_TCP:
			store_csum(l4 + 16,
				   k2_csum_add(l4, l4_len, pseudo_sum(s, IPPROTO_TCP, l4_len)), 0);
			break;
		case IPPROTO_UDP:
			put_be16(l4 + 4, (uint16_t)(l4_len + s->udp_len_delta));
			store_csum(l4 + 6,
				   k2_csum_add(l4, l4_len, pseudo_sum(s, IPPROTO_UDP, l4_len)), 1);
			break;
		case IPPROTO_ICMP:
			store_csum(l4 + 2, k2_csum_add(l4, l4_len, 0), 0);
			break;
		case IPPROTO_ICMPV6:
			store_csum(l4 + 2,
				   k2_csum_add(l4, l4_len, pseudo_sum(s, IPPROTO_ICMPV6, l4_len)),
				   0);
			break;
		}
	}
	if (d->family == 4)
		store_csum(l3 + 10, k2_csum_add(l3, 20 + s->ip_opt_len, 0), 0);
}

static uint32_t derived_flags(const struct k2_pkt_spec *s)
{
	uint32_t f = s->flags & (K2_PKTF_L3 | K2_PKTF_BOUNDARY | K2_PKTF_TARGET);

	if (s->n_vlans)
		f |= K2_PKTF_VLAN;
	if (s->ip_opt_len && k2_pkt_shape_desc[s->shape].family == 4)
		f |= K2_PKTF_IP_OPTIONS;
	if (s->n_ext && k2_pkt_shape_desc[s->shape].family == 6)
		f |= K2_PKTF_IPV6_EXT;
	if (s->tcp_opt_len && k2_pkt_shape_desc[s->shape].l4_proto == IPPROTO_TCP)
		f |= K2_PKTF_TCP_OPTIONS;
	if (k2_pkt_shape_desc[s->shape].family == 4 && (s->more_frags || s->frag_offset))
		f |= K2_PKTF_FRAGMENT;
	if (k2_pkt_shape_desc[s->shape].family == 6 && spec_has_frag_ext(s))
		f |= K2_PKTF_FRAGMENT;
	if (s->ip_len_delta || (s->ihl && s->ihl != 5 + s->ip_opt_len / 4))
		f |= k2_pkt_shape_desc[s->shape].family ? K2_PKTF_BAD_LEN : 0;
	if (k2_pkt_shape_desc[s->shape].l4_proto == IPPROTO_UDP && s->udp_len_delta)
		f |= K2_PKTF_BAD_LEN;
	if (k2_pkt_shape_desc[s->shape].l4_proto == IPPROTO_TCP && s->doff &&
	    s->doff != 5 + s->tcp_opt_len / 4)
		f |= K2_PKTF_BAD_LEN;
	return f;
}

static void build_l4(struct pw *w, const struct k2_pkt_spec *s, struct k2_pkt_info *in)
{
	int family = k2_pkt_shape_desc[s->shape].family;
	int later_frag = s->frag_offset && (family == 4 || spec_has_frag_ext(s));

	if (later_frag || !in->l4_proto)
		return; /* a later fragment carries the middle of the datagram, no L4 header */
	if (in->l4_proto != IPPROTO_TCP && in->l4_proto != IPPROTO_UDP &&
	    in->l4_proto != IPPROTO_ICMP && in->l4_proto != IPPROTO_ICMPV6)
		return;
	in->l4_off = (uint16_t)w->len;
	switch (in->l4_proto) {
	case IPPROTO_TCP:
		build_tcp(w, s);
		break;
	case IPPROTO_UDP:
		pw_be16(w, s->sport);
		pw_be16(w, s->dport);
		pw_zero(w, 4);
		break;
	default:
		build_icmp(w, s, family);
		break;
	}
}

int k2_pkt_build(const struct k2_pkt_spec *s, void *buf, size_t cap, struct k2_pkt_info *info)
{
	const struct pkt_shape_desc *d;
	struct pw w = { .p = buf, .cap = cap > 0xffff ? 0xffff : cap };
	struct k2_pkt_info in = { .l3_off = K2_PKT_NOFF,
				  .l4_off = K2_PKT_NOFF,
				  .payload_off = K2_PKT_NOFF };

	if (!s || !buf || !spec_valid(s))
		return -EINVAL;
	d = &k2_pkt_shape_desc[s->shape];
	in.shape = in.base = s->shape;
	in.ethertype = s->shape == K2_PKT_L2_OTHER ? s->ethertype : d->ethertype;
	in.l4_proto = d->family ? (d->l4_proto ? d->l4_proto : s->l4_proto) : 0;
	if (s->flags & K2_PKTF_L3)
		in.ethertype = 0;
	else
		build_l2(&w, s, in.ethertype);

	if (s->shape == K2_PKT_ARP) {
		in.l3_off = (uint16_t)w.len;
		build_arp(&w, s);
	} else if (d->family) {
		in.l3_off = (uint16_t)w.len;
		if (d->family == 4)
			build_ipv4(&w, s, in.l4_proto);
		else
			build_ipv6(&w, s, in.l4_proto);
		build_l4(&w, s, &in);
	}
	if (s->payload_len)
		in.payload_off = (uint16_t)w.len;
	build_payload(&w, s);
	if (w.full)
		return -ENOSPC;
	if (d->family)
		fixup(&w, s, &in);
	in.flags = derived_flags(s);
	in.pad_off = (uint16_t)w.len;
	if ((s->flags & K2_PKTF_PADDED) && !(s->flags & K2_PKTF_L3) && w.len < PKT_ETH_MIN) {
		pw_zero(&w, PKT_ETH_MIN - w.len);
		if (w.full)
			return -ENOSPC;
		in.flags |= K2_PKTF_PADDED;
	}
	in.len = (uint32_t)w.len;
	if (info)
		*info = in;
	return (int)w.len;
}

void k2_pkt_spec_init(struct k2_pkt_spec *s, enum k2_pkt_shape shape)
{
	static const uint8_t dmac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };
	static const uint8_t smac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
	static const uint8_t src6[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
	static const uint8_t dst6[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2 };
	const uint8_t src4[4] = { 10, 0, 0, 1 }, dst4[4] = { 10, 0, 0, 2 };

	memset(s, 0, sizeof(*s));
	s->shape = shape;
	memcpy(s->dst_mac, dmac, 6);
	memcpy(s->src_mac, smac, 6);
	memcpy(&s->src4, src4, 4);
	memcpy(&s->dst4, dst4, 4);
	memcpy(s->src6, src6, 16);
	memcpy(s->dst6, dst6, 16);
	s->ttl = 64;
	s->dont_frag = true;
	s->ip_id = 1;
	s->sport = 40000;
	s->dport = 80;
	s->seq = 1000;
	s->ack = 2000;
	s->tcp_flags = 0x10; /* ACK */
	s->window = 65535;
	s->ethertype = 0x88cc; /* LLDP */
	s->arp_op = 1;
	s->l4_proto = IPPROTO_GRE;
	s->icmp_type = k2_pkt_shape_desc[shape].family == 6 ? 128 : 8; /* echo request */
	s->icmp_rest = 1u << 16 | 1;
	s->quote.proto = IPPROTO_UDP;
	s->quote.port = 33434;
	memcpy(&s->quote.addr4, src4, 4);
	memcpy(s->quote.addr6, src6, 16);
}
