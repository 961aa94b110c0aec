/* corpus/xdp_router_ipv4.bpf.c: XDP IPv4 forwarding: LPM route, MAC rewrite, TTL decrement. */
#include "pkt.h"
#include "csum.h"

char LICENSE[] SEC("license") = "GPL";

#define MAX_ROUTES 32768
#define MAX_PORTS 64

/* The layout of struct bpf_lpm_trie_key for IPv4: prefix length, then the address. */
struct route_key {
	__u32 prefixlen;
	__be32 addr;
};

struct next_hop {
	__u32 port;                   /* egress slot in tx_ports */
	unsigned char dmac[ETH_ALEN]; /* neighbour's MAC, resolved by the control plane */
	unsigned char smac[ETH_ALEN]; /* egress interface's own MAC */
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, MAX_ROUTES);
	__type(key, struct route_key);
	__type(value, struct next_hop);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} routes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, MAX_PORTS);
	__type(key, __u32);
	__type(value, __u32);
} tx_ports SEC(".maps");

enum rt_stat {
	RT_FORWARDED,
	RT_NO_ROUTE,
	RT_TTL_EXPIRED,  /* left to the stack, which sends ICMP time exceeded */
	RT_NOT_IPV4,
	RT__MAX,
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RT__MAX);
	__type(key, __u32);
	__type(value, __u64);
} rt_stats SEC(".maps");

static __always_inline int account(__u32 stat, int action)
{
	__u64 *n = bpf_map_lookup_elem(&rt_stats, &stat);

	if (n)
		*n += 1;
	return action;
}

SEC("xdp")
int xdp_router_ipv4(struct xdp_md *ctx)
{
	struct cursor c;
	struct ethhdr *eth;
	struct iphdr *ip;
	struct next_hop *nh;
	struct route_key key;
	__be16 old_word, new_word;

	cursor_init(&c, ctx);
	if (parse_eth(&c, &eth, NULL) != bpf_htons(ETH_P_IP))
		return account(RT_NOT_IPV4, XDP_PASS);
	/* The forwarding path only knows untagged frames; the stack handles VLANs. */
	if (c.pos != (void *)(eth + 1))
		return account(RT_NOT_IPV4, XDP_PASS);
	if (parse_ipv4(&c, &ip) < 0 || ip->version != 4)
		return account(RT_NOT_IPV4, XDP_PASS);
	if (ip->ttl <= 1)
		return account(RT_TTL_EXPIRED, XDP_PASS);

	key.prefixlen = 32;
	key.addr = ip->daddr;
	nh = bpf_map_lookup_elem(&routes, &key);
	if (!nh)
		return account(RT_NO_ROUTE, XDP_PASS);

	/* TTL shares a 16-bit checksum word with the protocol byte. */
	old_word = *(__be16 *)&ip->ttl;
	ip->ttl--;
	new_word = *(__be16 *)&ip->ttl;
	csum_update16(&ip->check, old_word, new_word);

	__builtin_memcpy(eth->h_dest, nh->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, nh->smac, ETH_ALEN);
	return account(RT_FORWARDED, bpf_redirect_map(&tx_ports, nh->port, XDP_PASS));
}
