/* corpus/xdp_gtsm.bpf.c: XDP GTSM (RFC 5082): BGP from a direct peer must arrive with TTL 255. */
#include "pkt.h"

char LICENSE[] SEC("license") = "GPL";

#define BGP_PORT 179

/*
 * A BGP session to a directly connected neighbour is sent with TTL (hop limit) 255,
 * so anything arriving lower was forwarded by a router and is spoofed. Checked for
 * segments to or from port 179, over IPv4 and IPv6, before the stack spends any
 * effort on them.
 */
static __always_inline int is_bgp(struct cursor *c)
{
	struct tcphdr *tcp = c->pos;

	if ((void *)(tcp + 1) > c->end)
		return 0;
	return tcp->dest == bpf_htons(BGP_PORT) || tcp->source == bpf_htons(BGP_PORT);
}

SEC("xdp")
int xdp_gtsm(struct xdp_md *ctx)
{
	struct cursor c;
	struct iphdr *ip;
	struct ipv6hdr *ip6;
	int eth_type;

	cursor_init(&c, ctx);
	eth_type = parse_eth(&c, NULL, NULL);
	if (eth_type == bpf_htons(ETH_P_IP)) {
		if (parse_ipv4(&c, &ip) != IPPROTO_TCP || ipv4_is_later_fragment(ip))
			return XDP_PASS;
		if (is_bgp(&c) && ip->ttl != 255)
			return XDP_DROP;
	} else if (eth_type == bpf_htons(ETH_P_IPV6)) {
		if (parse_ipv6(&c, &ip6) != IPPROTO_TCP)
			return XDP_PASS;
		if (is_bgp(&c) && ip6->hop_limit != 255)
			return XDP_DROP;
	}
	return XDP_PASS;
}
