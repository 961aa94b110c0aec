/* corpus/xdp_firewall.bpf.c: XDP firewall dropping IPv4 flows listed in a 5-tuple hash map. */
#include "pkt.h"

char LICENSE[] SEC("license") = "GPL";

/* Ports are zero for protocols without ports and for non-first fragments. */
struct flow_key {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 pad[3];
};

struct rule_stats {
	__u64 packets;  /* updated atomically: many CPUs hit one rule */
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct flow_key);
	__type(value, struct rule_stats);
} blocked_flows SEC(".maps");

enum fw_verdict {
	FW_PASS_NON_IP,
	FW_PASS,
	FW_DROP_BLOCKED,
	FW_DROP_MALFORMED,
	FW__MAX,
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FW__MAX);
	__type(key, __u32);
	__type(value, __u64);
} fw_stats SEC(".maps");

/*
 * Fills key from an IPv4 packet. Kept out of line (a bpf-to-bpf call) the way larger
 * firewalls share one parser between entry points. Returns an fw_verdict for packets
 * that cannot be looked up, or -1 when key is filled.
 */
static __noinline int parse_flow(struct xdp_md *ctx, struct flow_key *key)
{
	struct cursor c;
	struct iphdr *ip;
	struct tcphdr *tcp;
	struct udphdr *udp;
	int eth_type, proto;

	cursor_init(&c, ctx);
	eth_type = parse_eth(&c, NULL, NULL);
	if (eth_type < 0)
		return FW_DROP_MALFORMED;
	if (eth_type != bpf_htons(ETH_P_IP))
		return FW_PASS_NON_IP;
	proto = parse_ipv4(&c, &ip);
	if (proto < 0)
		return FW_DROP_MALFORMED;
	key->saddr = ip->saddr;
	key->daddr = ip->daddr;
	key->proto = proto;
	if (ipv4_is_later_fragment(ip))
		return -1;
	if (proto == IPPROTO_TCP) {
		tcp = c.pos;
		if ((void *)(tcp + 1) > c.end)
			return FW_DROP_MALFORMED;
		key->sport = tcp->source;
		key->dport = tcp->dest;
	} else if (proto == IPPROTO_UDP) {
		udp = c.pos;
		if ((void *)(udp + 1) > c.end)
			return FW_DROP_MALFORMED;
		key->sport = udp->source;
		key->dport = udp->dest;
	}
	return -1;
}

static __always_inline int verdict(__u32 v)
{
	__u64 *n = bpf_map_lookup_elem(&fw_stats, &v);

	if (n)
		*n += 1;
	return v >= FW_DROP_BLOCKED ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int xdp_firewall(struct xdp_md *ctx)
{
	struct flow_key key = {};
	struct rule_stats *rule;
	int r;

	r = parse_flow(ctx, &key);
	if (r >= 0)
		return verdict(r);
	rule = bpf_map_lookup_elem(&blocked_flows, &key);
	if (!rule)
		return verdict(FW_PASS);
	__sync_fetch_and_add(&rule->packets, 1);
	__sync_fetch_and_add(&rule->bytes, ctx->data_end - ctx->data);
	return verdict(FW_DROP_BLOCKED);
}
