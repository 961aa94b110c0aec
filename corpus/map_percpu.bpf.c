/* corpus/map_percpu.bpf.c: map-access benchmark: per-CPU hash of counters per source MAC. */
#include "pkt.h"

char LICENSE[] SEC("license") = "GPL";

struct mac_stats {
	__u64 packets;
	__u64 bytes;
};

/* Key: the 6 source MAC bytes in the low bytes of a u64 (host order), top two bytes zero. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct mac_stats);
} mac_stats SEC(".maps");

SEC("xdp")
int map_percpu(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct mac_stats *st, init;
	__u64 key = 0, len = end - data;

	if ((void *)(eth + 1) > end)
		return XDP_DROP;
	__builtin_memcpy(&key, eth->h_source, ETH_ALEN);
	st = bpf_map_lookup_elem(&mac_stats, &key);
	if (st) {
		st->packets++;
		st->bytes += len;
		return XDP_PASS;
	}
	init.packets = 1;
	init.bytes = len;
	/* NOEXIST: another CPU may have created it meanwhile; losing one count is fine. */
	bpf_map_update_elem(&mac_stats, &key, &init, BPF_NOEXIST);
	return XDP_PASS;
}
