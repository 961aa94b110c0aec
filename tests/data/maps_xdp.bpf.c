/* tests/data/maps_xdp.bpf.c: BTF maps, .rodata/.data/.bss, calls, two programs a section. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1024);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 4);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 16);
	__uint(max_entries, 2);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, __u64);
	__type(value, __u32);
	__uint(max_entries, 128);
	__uint(map_flags, 0);
} lru SEC(".maps");

struct inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 8);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct inner);
} outer SEC(".maps");

const volatile __u32 drop_proto = 17;
const volatile __u8 magic[6] = { 1, 2, 3, 4, 5, 6 };
__u64 seen = 5;
__u32 hits;
static __u32 misses;

/* static helper: bpf-to-bpf call against the .text section symbol */
static __attribute__((noinline)) int bump(__u32 key)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &key);

	if (!v)
		return 0;
	__sync_fetch_and_add(v, 1);
	return 1;
}

/* global helper: call against its own symbol, verified on its own by the kernel */
__attribute__((noinline)) int classify(__u32 proto)
{
	if (proto == drop_proto)
		return XDP_DROP;
	return XDP_PASS;
}

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 key = 0;
	__u64 one = 1, *v;

	if ((void *)(eth + 1) > end) {
		misses++;
		return XDP_PASS;
	}
	key = eth->h_proto;
	v = bpf_map_lookup_elem(&flows, &key);
	if (v)
		*v += 1;
	else
		bpf_map_update_elem(&flows, &key, &one, BPF_ANY);
	hits++;
	seen += magic[1];
	bump(key & 3);
	return classify(key);
}

SEC("xdp")
int xdp_inner(struct xdp_md *ctx)
{
	__u32 k = 0, *inner_v;
	void *m = bpf_map_lookup_elem(&outer, &k);
	__u64 lk = ctx->ingress_ifindex;
	__u32 *l;

	if (!m)
		return XDP_ABORTED;
	inner_v = bpf_map_lookup_elem(m, &k);
	if (inner_v)
		*inner_v += 1;
	l = bpf_map_lookup_elem(&lru, &lk);
	if (l)
		return XDP_DROP;
	bpf_map_lookup_elem(&scratch, &k);
	return bump(1) ? XDP_PASS : XDP_DROP;
}

char _license[] SEC("license") = "GPL";
