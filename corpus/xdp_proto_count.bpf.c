/* corpus/xdp_proto_count.bpf.c: XDP per-CPU packet and byte counters by L3 type and IP protocol. */
#include "pkt.h"

char LICENSE[] SEC("license") = "GPL";

struct counter {
	__u64 packets;
	__u64 bytes;
};

/* L3 classes counted in l3_stats; the index is the class. */
enum l3_class {
	L3_IPV4,
	L3_IPV6,
	L3_ARP,
	L3_OTHER,
	L3_RUNT,  /* shorter than its own headers */
	L3__MAX,
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, L3__MAX);
	__type(key, __u32);
	__type(value, struct counter);
} l3_stats SEC(".maps");

/* Indexed by IP protocol number (IPv4 protocol or IPv6 next header). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, struct counter);
} proto_stats SEC(".maps");

static __always_inline void count(void *map, __u32 key, __u64 bytes)
{
	struct counter *c = bpf_map_lookup_elem(map, &key);

	if (c) {
		/* Per-CPU values: no other writer, so no atomics needed. */
		c->packets++;
		c->bytes += bytes;
	}
}

SEC("xdp")
int xdp_proto_count(struct xdp_md *ctx)
{
	struct cursor c;
	__u64 bytes;
	int eth_type, proto = -1;
	__u32 cls;

	cursor_init(&c, ctx);
	bytes = c.end - c.pos;
	eth_type = parse_eth(&c, NULL, NULL);
	if (eth_type < 0) {
		cls = L3_RUNT;
	} else if (eth_type == bpf_htons(ETH_P_IP)) {
		proto = parse_ipv4(&c, NULL);
		cls = proto < 0 ? L3_RUNT : L3_IPV4;
	} else if (eth_type == bpf_htons(ETH_P_IPV6)) {
		proto = parse_ipv6(&c, NULL);
		cls = proto < 0 ? L3_RUNT : L3_IPV6;
	} else if (eth_type == bpf_htons(ETH_P_ARP)) {
		cls = L3_ARP;
	} else {
		cls = L3_OTHER;
	}
	count(&l3_stats, cls, bytes);
	if (proto >= 0)
		count(&proto_stats, proto, bytes);
	return XDP_PASS;
}
