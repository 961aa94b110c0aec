/* corpus/xdp_tcp_flags.bpf.c: XDP drop of TCP segments with impossible flag combinations. */
#include "pkt.h"

char LICENSE[] SEC("license") = "GPL";

/*
 * Configuration and counters are plain globals: libbpf turns .rodata, .data and .bss
 * into one-element array maps. `strict` is fixed at load time (the verifier sees its
 * value and prunes the dead branch); `enabled` can be flipped at run time through the
 * .data map; the counters live in .bss and are read through its map.
 */
const volatile __u8 strict = 1;    /* also drop FIN, PSH or URG without ACK */
volatile __u32 enabled = 1;

struct flag_counters {
	__u64 null_scan;   /* no flag at all */
	__u64 xmas_scan;   /* FIN+PSH+URG */
	__u64 syn_fin;
	__u64 syn_rst;
	__u64 no_ack;      /* strict mode */
	__u64 passed;
} counters;

/* Byte 13 of the TCP header. */
#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10
#define TH_URG 0x20

static __always_inline int drop(__u64 *counter)
{
	__sync_fetch_and_add(counter, 1);
	return XDP_DROP;
}

SEC("xdp")
int xdp_tcp_flags(struct xdp_md *ctx)
{
	struct cursor c;
	struct iphdr *ip;
	struct ipv6hdr *ip6;
	__u8 *th, flags;
	int eth_type, proto;

	if (!enabled)
		return XDP_PASS;
	cursor_init(&c, ctx);
	eth_type = parse_eth(&c, NULL, NULL);
	if (eth_type == bpf_htons(ETH_P_IP)) {
		proto = parse_ipv4(&c, &ip);
		if (proto != IPPROTO_TCP || ipv4_is_later_fragment(ip))
			return XDP_PASS;
	} else if (eth_type == bpf_htons(ETH_P_IPV6)) {
		if (parse_ipv6(&c, &ip6) != IPPROTO_TCP)
			return XDP_PASS;
	} else {
		return XDP_PASS;
	}
	th = c.pos;
	if ((void *)(th + 14) > c.end)
		return XDP_PASS;
	flags = th[13] & 0x3f;

	if (flags == 0)
		return drop(&counters.null_scan);
	if ((flags & (TH_FIN | TH_PSH | TH_URG)) == (TH_FIN | TH_PSH | TH_URG))
		return drop(&counters.xmas_scan);
	if ((flags & (TH_SYN | TH_FIN)) == (TH_SYN | TH_FIN))
		return drop(&counters.syn_fin);
	if ((flags & (TH_SYN | TH_RST)) == (TH_SYN | TH_RST))
		return drop(&counters.syn_rst);
	if (strict && !(flags & TH_ACK) && (flags & (TH_FIN | TH_PSH | TH_URG)))
		return drop(&counters.no_ack);
	__sync_fetch_and_add(&counters.passed, 1);
	return XDP_PASS;
}
