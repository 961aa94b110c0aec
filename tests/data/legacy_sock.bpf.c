/* tests/data/legacy_sock.bpf.c: legacy `maps` definitions, socket filter, .rodata.str1.1. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* libbpf 1.x removed this struct and refuses the `maps` section; k2 still reads it. */
struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct bpf_map_def SEC("maps") pkt_count = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 2,
};

struct bpf_map_def SEC("maps") by_len = {
	.type = BPF_MAP_TYPE_HASH,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u32),
	.max_entries = 64,
	.map_flags = BPF_F_NO_PREALLOC,
};

SEC("socket")
int sock_count(struct __sk_buff *skb)
{
	__u32 key = skb->pkt_type == 0 ? 0 : 1, len = skb->len, one = 1, *n;
	__u64 *v = bpf_map_lookup_elem(&pkt_count, &key);

	if (v)
		__sync_fetch_and_add(v, 1);
	n = bpf_map_lookup_elem(&by_len, &len);
	if (n)
		*n += 1;
	else
		bpf_map_update_elem(&by_len, &len, &one, BPF_NOEXIST);
	/* literals chosen at run time land in .rodata.str1.1, reached at an offset */
	bpf_trace_printk(len > 1000 ? "big %u\n" : "small %u\n", 10, len);
	return 0;
}

char _license[] SEC("license") = "GPL";
__u32 _version SEC("version") = 0x060100;
