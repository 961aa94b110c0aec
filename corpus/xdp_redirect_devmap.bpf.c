/* corpus/xdp_redirect_devmap.bpf.c: XDP port forwarding: devmap redirect by ingress port. */
#include "pkt.h"

char LICENSE[] SEC("license") = "GPL";

#define MAX_PORTS 64

/* Ingress ifindex -> egress device (a port pairing table, filled by the control plane). */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, MAX_PORTS);
	__type(key, __u32);
	__type(value, __u32);
} tx_port SEC(".maps");

/* Ingress ifindex -> MAC of the next hop behind the egress port; all-zero = keep dst MAC. */
struct port_macs {
	unsigned char dst[ETH_ALEN];
	unsigned char src[ETH_ALEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_PORTS);
	__type(key, __u32);
	__type(value, struct port_macs);
} egress_macs SEC(".maps");

SEC("xdp")
int xdp_redirect_devmap(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct port_macs *m;
	__u32 port = ctx->ingress_ifindex;

	if ((void *)(eth + 1) > end)
		return XDP_DROP;
	m = bpf_map_lookup_elem(&egress_macs, &port);
	if (m && (m->dst[0] | m->dst[1] | m->dst[2] | m->dst[3] | m->dst[4] | m->dst[5])) {
		__builtin_memcpy(eth->h_dest, m->dst, ETH_ALEN);
		__builtin_memcpy(eth->h_source, m->src, ETH_ALEN);
	}
	/* An empty slot makes the helper return the low bits of flags: pass to the stack. */
	return bpf_redirect_map(&tx_port, port, XDP_PASS);
}
