/* corpus/map_array_rw.bpf.c: map-access benchmark: array lookup, then update, keyed by DSCP. */
#include "pkt.h"

char LICENSE[] SEC("license") = "GPL";

struct dscp_count {
	__u64 packets;
	__u64 last_len;
};

/* One slot per DSCP code point (6 bits). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, struct dscp_count);
} dscp_counts SEC(".maps");

/*
 * Reads a copy and writes it back with bpf_map_update_elem rather than updating in
 * place: the read-modify-write through the helper is what this benchmark measures.
 */
SEC("xdp")
int map_array_rw(struct xdp_md *ctx)
{
	struct cursor c;
	struct iphdr *ip;
	struct dscp_count *old, val = {};
	__u32 key;

	cursor_init(&c, ctx);
	if (parse_eth(&c, NULL, NULL) != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	if (parse_ipv4(&c, &ip) < 0)
		return XDP_PASS;
	key = ip->tos >> 2;
	old = bpf_map_lookup_elem(&dscp_counts, &key);
	if (old)
		val.packets = old->packets;
	val.packets++;
	val.last_len = ctx->data_end - ctx->data;
	bpf_map_update_elem(&dscp_counts, &key, &val, BPF_ANY);
	return XDP_PASS;
}
