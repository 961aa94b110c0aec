/* tests/data/interp_count.bpf.c: an XDP counter for the `k2 run` test (tests/interp/run_cmd.sh). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 16); __type(key, __u32); __type(value, __u64); } cnt SEC(".maps");
SEC("xdp") int prog(struct xdp_md *ctx) {
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	unsigned char *p = data;
	if (p + 14 > (unsigned char *)end) return XDP_DROP;
	__u32 k = p[13];
	__u64 one = 1, *v = bpf_map_lookup_elem(&cnt, &k);
	if (v) __sync_fetch_and_add(v, 1); else bpf_map_update_elem(&cnt, &k, &one, BPF_ANY);
	p[0] ^= 0xff;
	return XDP_PASS;
}
char LICENSE[] SEC("license") = "GPL";
