/* tests/unit/pkt_verify.h: an independent parser checking generated packets against their info. */
#ifndef TESTS_PKT_VERIFY_H
#define TESTS_PKT_VERIFY_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "bpf/k2_pktgen.h"

/*
 * Written apart from bpf/pktgen_*.c on purpose (RFC 791/793/768/792/8200/4443 read
 * again, no shared code), so that a wrong generator cannot agree with itself.
 */

struct pv {
	const uint8_t *p;
	uint32_t len; /* bytes up to the padding */
	char why[256];
};

static inline int pv_fail(struct pv *v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v->why, sizeof(v->why), fmt, ap);
	va_end(ap);
	return 0;
}

static inline uint32_t pv_be16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

/* RFC 1071: 32-bit accumulation of 16-bit words, end-around carry folded at the end. */
static inline uint32_t pv_sum(const uint8_t *p, uint32_t n, uint32_t acc)
{
	while (n > 1) {
		acc += pv_be16(p);
		p += 2;
		n -= 2;
	}
	if (n)
		acc += (uint32_t)p[0] << 8;
	return acc;
}

static inline uint16_t pv_fold(uint32_t acc)
{
	while (acc > 0xffff)
		acc = (acc >> 16) + (acc & 0xffff);
	return (uint16_t)acc;
}

/* A checksummed region verifies when the sum over it, checksum included, is all ones. */
static inline int pv_csum_ok(const uint8_t *p, uint32_t n, uint32_t pseudo)
{
	return pv_fold(pv_sum(p, n, pseudo)) == 0xffff;
}

static inline uint32_t pv_pseudo(const uint8_t *src, const uint8_t *dst, int alen, uint8_t proto,
				 uint32_t len)
{
	uint32_t acc = pv_sum(src, (uint32_t)alen, 0);

	acc = pv_sum(dst, (uint32_t)alen, acc);
	return acc + proto + (len >> 16) + (len & 0xffff);
}

/* TCP, UDP, ICMP, ICMPv6 at off, up to v->len; src/dst of the pseudo-header. */
static inline int pv_l4(struct pv *v, const struct k2_pkt_info *in, uint32_t off,
			const uint8_t *src, const uint8_t *dst, int alen)
{
	const uint8_t *l4 = v->p + off;
	uint32_t n = v->len - off;
	int bad_len = !!(in->flags & K2_PKTF_BAD_LEN);

	switch (in->l4_proto) {
	case 6:
		if (n < 20)
			return pv_fail(v, "tcp header cut: %u bytes", n);
		if (!bad_len && in->payload_off != K2_PKT_NOFF &&
		    off + (l4[12] >> 4) * 4u != in->payload_off)
			return pv_fail(v, "tcp doff %u but payload at %u", l4[12] >> 4,
				       in->payload_off);
		if (!pv_csum_ok(l4, n, pv_pseudo(src, dst, alen, 6, n)))
			return pv_fail(v, "tcp checksum");
		return 1;
	case 17:
		if (n < 8)
			return pv_fail(v, "udp header cut");
		if (!bad_len && pv_be16(l4 + 4) != n)
			return pv_fail(v, "udp length %u, %u bytes", pv_be16(l4 + 4), n);
		if (pv_be16(l4 + 6) == 0)
			return pv_fail(v, "udp checksum absent");
		if (!pv_csum_ok(l4, n, pv_pseudo(src, dst, alen, 17, n)))
			return pv_fail(v, "udp checksum");
		return 1;
	case 1:
		if (n < 8 || !pv_csum_ok(l4, n, 0))
			return pv_fail(v, "icmp checksum (%u bytes)", n);
		return 1;
	case 58:
		if (n < 8 || !pv_csum_ok(l4, n, pv_pseudo(src, dst, alen, 58, n)))
			return pv_fail(v, "icmpv6 checksum (%u bytes)", n);
		return 1;
	}
	return pv_fail(v, "l4 header for protocol %u", in->l4_proto);
}

static inline int pv_ipv4(struct pv *v, const struct k2_pkt_info *in, uint32_t off)
{
	const uint8_t *ip = v->p + off;
	uint32_t hlen, frag, bad_len = in->flags & K2_PKTF_BAD_LEN;

	if (v->len < off + 20 || ip[0] >> 4 != 4)
		return pv_fail(v, "ipv4 header");
	/* With a lying ihl the real header ends where L4 (or the payload) starts. */
	hlen = in->l4_off != K2_PKT_NOFF	? in->l4_off - off
	       : in->payload_off != K2_PKT_NOFF ? in->payload_off - off
						: v->len - off;
	if (!bad_len && (ip[0] & 0xf) * 4u != hlen)
		return pv_fail(v, "ihl %u, header %u bytes", ip[0] & 0xf, hlen);
	if (!pv_csum_ok(ip, hlen, 0))
		return pv_fail(v, "ipv4 header checksum");
	if (!bad_len && pv_be16(ip + 2) != v->len - off)
		return pv_fail(v, "tot_len %u, %u bytes", pv_be16(ip + 2), v->len - off);
	if (pv_be16(ip + 2) != in->ip_len)
		return pv_fail(v, "info ip_len %u, header says %u", in->ip_len, pv_be16(ip + 2));
	if (ip[9] != in->l4_proto)
		return pv_fail(v, "protocol %u, info %u", ip[9], in->l4_proto);
	frag = pv_be16(ip + 6) & 0x3fff;
	if (!!frag != !!(in->flags & K2_PKTF_FRAGMENT))
		return pv_fail(v, "fragment bits 0x%x vs flag", frag);
	if ((hlen > 20) != !!(in->flags & K2_PKTF_IP_OPTIONS))
		return pv_fail(v, "options vs flag");
	if (in->l4_off == K2_PKT_NOFF)
		return (in->l4_proto == 6 || in->l4_proto == 17 || in->l4_proto == 1) &&
				       !(frag & 0x1fff)
			       ? pv_fail(v, "l4 header missing")
			       : 1;
	return pv_l4(v, in, in->l4_off, ip + 12, ip + 16, 4);
}

static inline int pv_ipv6(struct pv *v, const struct k2_pkt_info *in, uint32_t off)
{
	const uint8_t *ip = v->p + off;
	uint32_t at = off + 40, nh, hl, n_ext = 0, frag = 0, later = 0;

	if (v->len < at || ip[0] >> 4 != 6)
		return pv_fail(v, "ipv6 header");
	if (!(in->flags & K2_PKTF_BAD_LEN) && pv_be16(ip + 4) + 40 != v->len - off)
		return pv_fail(v, "payload_len %u, %u bytes", pv_be16(ip + 4), v->len - off);
	if (pv_be16(ip + 4) + 40u != in->ip_len)
		return pv_fail(v, "info ip_len");
	nh = ip[6];
	while (nh == 0 || nh == 43 || nh == 44 || nh == 60) {
		if (v->len < at + 8)
			return pv_fail(v, "extension header cut");
		if (nh == 44) {
			frag = 1;
			later = pv_be16(v->p + at + 2) >> 3;
		}
		hl = nh == 44 ? 8 : (v->p[at + 1] + 1u) * 8; /* fragment: fixed 8 bytes */
		nh = v->p[at];
		at += hl;
		n_ext++;
	}
	if (!!n_ext != !!(in->flags & K2_PKTF_IPV6_EXT))
		return pv_fail(v, "extension headers vs flag");
	if (frag != !!(in->flags & K2_PKTF_FRAGMENT))
		return pv_fail(v, "fragment header vs flag");
	if (nh != in->l4_proto)
		return pv_fail(v, "next header %u, info %u", nh, in->l4_proto);
	if (later || (nh != 6 && nh != 17 && nh != 58))
		return in->l4_off == K2_PKT_NOFF ? 1 : pv_fail(v, "unexpected l4 header");
	if (in->l4_off != at)
		return pv_fail(v, "l4 at %u, info %u", at, in->l4_off);
	return pv_l4(v, in, at, ip + 8, ip + 24, 16);
}

/* Checks one generated packet; returns 1 or 0 with v->why set. */
static inline int pkt_verify(struct pv *v, const uint8_t *p, uint32_t len,
			     const struct k2_pkt_info *in, uint32_t min_len, uint32_t max_len)
{
	uint32_t off = 0, tags = 0, type;

	memset(v, 0, sizeof(*v));
	v->p = p;
	v->len = in->pad_off;
	if (len != in->len || len < min_len || len > max_len)
		return pv_fail(v, "length %u (info %u) outside [%u, %u]", len, in->len, min_len,
			       max_len);
	if (in->pad_off > len)
		return pv_fail(v, "pad_off %u beyond %u", in->pad_off, len);
	for (uint32_t i = in->pad_off; i < len; i++)
		if (p[i])
			return pv_fail(v, "padding byte %u not zero", i);
	if ((in->pad_off < len) != !!(in->flags & K2_PKTF_PADDED) ||
	    ((in->flags & K2_PKTF_PADDED) && len != 60))
		return pv_fail(v, "padding vs flag");
	if (in->shape == K2_PKT_RANDOM)
		return 1;
	if (in->shape == K2_PKT_TRUNCATED) {
		if (!(in->flags & K2_PKTF_TRUNCATED) || in->base >= K2_PKT_TRUNCATED)
			return pv_fail(v, "truncated packet's flags/base");
		if ((in->l3_off != K2_PKT_NOFF && in->l3_off >= len) ||
		    (in->l4_off != K2_PKT_NOFF && in->l4_off >= len) ||
		    (in->payload_off != K2_PKT_NOFF && in->payload_off >= len))
			return pv_fail(v, "offset beyond a truncated packet");
		return 1;
	}
	if (in->base != in->shape || (in->flags & K2_PKTF_TRUNCATED))
		return pv_fail(v, "regular packet's base/flags");
	if (!(in->flags & K2_PKTF_L3)) {
		if (v->len < 14)
			return pv_fail(v, "ethernet header");
		off = 12;
		type = pv_be16(p + off);
		while ((type == 0x8100 || type == 0x88a8) && v->len >= off + 6) {
			off += 4;
			tags++;
			type = pv_be16(p + off);
		}
		off += 2;
		if (!!tags != !!(in->flags & K2_PKTF_VLAN) || tags > 2)
			return pv_fail(v, "%u vlan tags vs flag", tags);
		if (type != in->ethertype)
			return pv_fail(v, "ethertype 0x%x, info 0x%x", type, in->ethertype);
	} else {
		type = in->shape == K2_PKT_ARP || in->shape == K2_PKT_L2_OTHER ? 0
		       : (p[0] >> 4) == 6				       ? 0x86dd
									       : 0x0800;
	}
	if (in->shape == K2_PKT_L2_OTHER)
		return in->l3_off == K2_PKT_NOFF ? 1 : pv_fail(v, "l2_other with an l3 offset");
	if (in->l3_off != off)
		return pv_fail(v, "l3 at %u, info %u", off, in->l3_off);
	if (in->shape == K2_PKT_ARP) {
		if (v->len < off + 28 || pv_be16(p + off) != 1 || pv_be16(p + off + 2) != 0x0800 ||
		    p[off + 4] != 6 || p[off + 5] != 4)
			return pv_fail(v, "arp header");
		return 1;
	}
	return type == 0x0800 ? pv_ipv4(v, in, off) : pv_ipv6(v, in, off);
}

#endif
