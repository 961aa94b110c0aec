/* corpus/xdp_bounce.bpf.c: XDP reflector: swaps MACs and bounces frames (XDP_TX); UDP echo. */
#include "pkt.h"

char LICENSE[] SEC("license") = "GPL";

/*
 * Every Ethernet frame goes back where it came from with its MAC addresses swapped.
 * IPv4 UDP additionally gets addresses and ports swapped, so that a traffic generator
 * on the other end sees a reply to its own flow. Swapping leaves both the IPv4 and the
 * UDP checksums valid: the one's complement sum does not depend on word order.
 */
static __always_inline void swap_macs(struct ethhdr *eth)
{
	__u16 *p = (__u16 *)eth;
	__u16 t0 = p[0], t1 = p[1], t2 = p[2];

	p[0] = p[3];
	p[1] = p[4];
	p[2] = p[5];
	p[3] = t0;
	p[4] = t1;
	p[5] = t2;
}

SEC("xdp")
int xdp_bounce(struct xdp_md *ctx)
{
	struct cursor c;
	struct ethhdr *eth;
	struct iphdr *ip;
	struct udphdr *udp;
	__be32 addr;
	__be16 port;
	int proto;

	cursor_init(&c, ctx);
	proto = parse_eth(&c, &eth, NULL);
	if (proto < 0)
		return XDP_DROP;
	swap_macs(eth);
	if (proto != bpf_htons(ETH_P_IP) || parse_ipv4(&c, &ip) != IPPROTO_UDP)
		return XDP_TX;
	if (ipv4_is_later_fragment(ip))
		return XDP_TX;
	udp = c.pos;
	if ((void *)(udp + 1) > c.end)
		return XDP_TX;
	addr = ip->saddr;
	ip->saddr = ip->daddr;
	ip->daddr = addr;
	port = udp->source;
	udp->source = udp->dest;
	udp->dest = port;
	return XDP_TX;
}
