/* corpus/map_hash_lookup.bpf.c: map benchmark: hash lookup of an action per source address. */
#include "pkt.h"

char LICENSE[] SEC("license") = "GPL";

/* Source address (network order) -> XDP action to apply; absent means pass. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __be32);
	__type(value, __u32);
} src_action SEC(".maps");

SEC("xdp")
int map_hash_lookup(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	__u32 *action;

	if ((void *)(ip + 1) > end)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	action = bpf_map_lookup_elem(&src_action, &ip->saddr);
	if (!action)
		return XDP_PASS;
	/* Never let a bad map value redirect or abort. */
	return *action <= XDP_TX ? *action : XDP_PASS;
}
