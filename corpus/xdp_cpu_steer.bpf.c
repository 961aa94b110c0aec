/* corpus/xdp_cpu_steer.bpf.c: XDP software RSS: FNV-1a flow hash picks a CPU through a cpumap. */
#include "pkt.h"

char LICENSE[] SEC("license") = "GPL";

#define MAX_CPUS 64

struct {
	__uint(type, BPF_MAP_TYPE_CPUMAP);
	__uint(max_entries, MAX_CPUS);
	__type(key, __u32);
	__type(value, struct bpf_cpumap_val);
} cpu_map SEC(".maps");

/* Slot 0: how many cpu_map entries are in use (the CPUs set aside for processing). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} cpu_count SEC(".maps");

#define FNV_OFFSET 2166136261u
#define FNV_PRIME 16777619u

static __always_inline __u32 fnv1a_byte(__u32 h, __u8 b)
{
	return (h ^ b) * FNV_PRIME;
}

/*
 * The hash is symmetric (both directions of a flow land on one CPU): addresses and
 * ports are combined with xor before hashing, byte by byte as the NIC's hash would.
 */
static __always_inline __u32 flow_hash(const __u8 *l3, const __u8 *l4, __u8 proto)
{
	__u32 h = FNV_OFFSET;

#pragma unroll
	for (int i = 0; i < 4; i++)
		h = fnv1a_byte(h, l3[12 + i] ^ l3[16 + i]);
	h = fnv1a_byte(h, proto);
	if (l4) {
		h = fnv1a_byte(h, l4[0] ^ l4[2]);
		h = fnv1a_byte(h, l4[1] ^ l4[3]);
	}
	return h;
}

SEC("xdp")
int xdp_cpu_steer(struct xdp_md *ctx)
{
	struct cursor c;
	struct iphdr *ip;
	__u8 *l4 = NULL;
	__u32 zero = 0, *n, cpu;
	int proto;

	cursor_init(&c, ctx);
	if (parse_eth(&c, NULL, NULL) != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	proto = parse_ipv4(&c, &ip);
	if (proto < 0)
		return XDP_DROP;
	if ((proto == IPPROTO_TCP || proto == IPPROTO_UDP) && !ipv4_is_later_fragment(ip) &&
	    c.pos + 4 <= c.end)
		l4 = c.pos;
	n = bpf_map_lookup_elem(&cpu_count, &zero);
	if (!n || *n == 0 || *n > MAX_CPUS)
		return XDP_PASS;
	cpu = flow_hash((__u8 *)ip, l4, proto) % *n;
	return bpf_redirect_map(&cpu_map, cpu, XDP_PASS);
}
