/* corpus/tc_dscp_mark.bpf.c: tc classifier: DSCP rewrite, skb mark and priority by L4 port. */
#include <linux/pkt_cls.h>
#include "pkt.h"
#include "csum.h"

char LICENSE[] SEC("license") = "GPL";

struct class_key {
	__u8 proto;   /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 pad;
	__be16 port;  /* service port, matched as destination then as source */
};

struct class_val {
	__u8 dscp;       /* 6-bit code point to write; 0xff = leave DSCP alone */
	__u8 pad[3];
	__u32 priority;  /* skb->priority: selects the qdisc band */
	__u32 mark;      /* skb->mark: for policy routing and iptables */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct class_key);
	__type(value, struct class_val);
} classes SEC(".maps");

#define DSCP_KEEP 0xff

/* DSCP is the top six bits of the TOS byte; ECN (low two bits) belongs to the path. */
static __always_inline void set_dscp_v4(struct iphdr *ip, __u8 dscp)
{
	__be16 old_word = *(__be16 *)ip, new_word;

	ip->tos = (dscp << 2) | (ip->tos & 3);
	new_word = *(__be16 *)ip;
	csum_update16(&ip->check, old_word, new_word);
}

/* IPv6 traffic class straddles the version nibble and the flow label; no checksum. */
static __always_inline void set_dscp_v6(struct ipv6hdr *ip6, __u8 dscp)
{
	__u8 tclass = (ip6->priority << 4) | (ip6->flow_lbl[0] >> 4);

	tclass = (dscp << 2) | (tclass & 3);
	ip6->priority = tclass >> 4;
	ip6->flow_lbl[0] = (tclass << 4) | (ip6->flow_lbl[0] & 0x0f);
}

static __always_inline struct class_val *classify(__u8 proto, const struct udphdr *l4)
{
	struct class_key k = { .proto = proto, .port = l4->dest };
	struct class_val *v = bpf_map_lookup_elem(&classes, &k);

	if (v)
		return v;
	k.port = l4->source;
	return bpf_map_lookup_elem(&classes, &k);
}

SEC("tc")
int tc_dscp_mark(struct __sk_buff *skb)
{
	struct cursor c = {
		.pos = (void *)(long)skb->data,
		.end = (void *)(long)skb->data_end,
	};
	struct iphdr *ip = NULL;
	struct ipv6hdr *ip6 = NULL;
	struct udphdr *l4;  /* TCP and UDP both start with the two ports */
	struct class_val *cls;
	int eth_type, proto;

	eth_type = parse_eth(&c, NULL, NULL);
	if (eth_type == bpf_htons(ETH_P_IP)) {
		proto = parse_ipv4(&c, &ip);
		if (proto >= 0 && ipv4_is_later_fragment(ip))
			return TC_ACT_OK;
	} else if (eth_type == bpf_htons(ETH_P_IPV6)) {
		proto = parse_ipv6(&c, &ip6);
	} else {
		return TC_ACT_OK;
	}
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return TC_ACT_OK;
	l4 = c.pos;
	if ((void *)(l4 + 1) > c.end)
		return TC_ACT_OK;
	cls = classify(proto, l4);
	if (!cls)
		return TC_ACT_OK;
	if (cls->dscp != DSCP_KEEP) {
		if (ip)
			set_dscp_v4(ip, cls->dscp);
		else if (ip6)
			set_dscp_v6(ip6, cls->dscp);
	}
	skb->priority = cls->priority;
	skb->mark = cls->mark;
	return TC_ACT_OK;
}
