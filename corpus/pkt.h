/* corpus/pkt.h: bounds-checked header parsing shared by the corpus's XDP and tc programs. */
#ifndef CORPUS_PKT_H
#define CORPUS_PKT_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* linux/if_vlan.h is not uapi: the 4 bytes after the TPID of an 802.1Q/802.1ad tag. */
struct vlan_hdr {
	__be16 tci;
	__be16 inner_proto;
};

#define VLAN_VID_MASK 0x0fff
#define IP_MF 0x2000
#define IP_OFFSET 0x1fff

/*
 * A parse position inside [data, data_end). Each parse_* step checks the header it
 * reads against `end` itself, so that the verifier sees one comparison per access.
 */
struct cursor {
	void *pos;
	void *end;
};

static __always_inline void cursor_init(struct cursor *c, struct xdp_md *ctx)
{
	c->pos = (void *)(long)ctx->data;
	c->end = (void *)(long)ctx->data_end;
}

static __always_inline int is_vlan(__be16 proto)
{
	return proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD);
}

/*
 * Ethernet header plus up to two VLAN tags (QinQ). Returns the inner ethertype in
 * network order, or -1 for a runt frame; *vid gets the innermost VLAN id (0 if none).
 */
static __always_inline int parse_eth(struct cursor *c, struct ethhdr **ethp, __u16 *vid)
{
	struct ethhdr *eth = c->pos;
	struct vlan_hdr *vh;
	__be16 proto;

	if ((void *)(eth + 1) > c->end)
		return -1;
	c->pos = eth + 1;
	proto = eth->h_proto;
	if (vid)
		*vid = 0;
#pragma unroll
	for (int i = 0; i < 2; i++) {
		if (!is_vlan(proto))
			break;
		vh = c->pos;
		if ((void *)(vh + 1) > c->end)
			return -1;
		c->pos = vh + 1;
		proto = vh->inner_proto;
		if (vid)
			*vid = bpf_ntohs(vh->tci) & VLAN_VID_MASK;
	}
	if (ethp)
		*ethp = eth;
	return proto;
}

/* IPv4 header with its options. Returns the protocol, or -1 if truncated or ihl < 5. */
static __always_inline int parse_ipv4(struct cursor *c, struct iphdr **ipp)
{
	struct iphdr *ip = c->pos;
	__u32 hlen;

	if ((void *)(ip + 1) > c->end)
		return -1;
	hlen = ip->ihl * 4;
	if (hlen < sizeof(*ip))
		return -1;
	if (c->pos + hlen > c->end)
		return -1;
	c->pos += hlen;
	if (ipp)
		*ipp = ip;
	return ip->protocol;
}

/* Fixed IPv6 header only. Returns the next header, or -1 if truncated. */
static __always_inline int parse_ipv6(struct cursor *c, struct ipv6hdr **ip6p)
{
	struct ipv6hdr *ip6 = c->pos;

	if ((void *)(ip6 + 1) > c->end)
		return -1;
	c->pos = ip6 + 1;
	if (ip6p)
		*ip6p = ip6;
	return ip6->nexthdr;
}

/* Whether an IPv4 packet is a fragment other than the first (no L4 header in it). */
static __always_inline int ipv4_is_later_fragment(const struct iphdr *ip)
{
	return (ip->frag_off & bpf_htons(IP_OFFSET)) != 0;
}

#endif
