/* corpus/sock_dns_filter.bpf.c: socket filter (bpf_skb_load_bytes): keep only DNS queries. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

/* RFC 1035 section 4.1.1 header; flags hold QR(1) OPCODE(4) AA TC RD RA Z(3) RCODE(4). */
struct dnshdr {
	__be16 id;
	__be16 flags;
	__be16 qdcount;
	__be16 ancount;
	__be16 nscount;
	__be16 arcount;
};

#define DNS_PORT 53
#define DNS_QR 0x8000
#define DNS_OPCODE 0x7800

enum dns_stat {
	DNS_QUERY_V4,
	DNS_QUERY_V6,
	DNS_REJECTED,
	DNS__MAX,
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, DNS__MAX);
	__type(key, __u32);
	__type(value, __u64);
} dns_stats SEC(".maps");

static __always_inline int verdict(struct __sk_buff *skb, __u32 stat)
{
	__u64 *n = bpf_map_lookup_elem(&dns_stats, &stat);

	if (n)
		__sync_fetch_and_add(n, 1);
	return stat == DNS_REJECTED ? 0 : skb->len;
}

/*
 * The packet starts at the network header; skb->protocol says which one. Copying
 * headers out with bpf_skb_load_bytes works on non-linear skbs too, where direct
 * packet access is not available to socket filters at all.
 */
SEC("socket")
int sock_dns_filter(struct __sk_buff *skb)
{
	struct iphdr ip;
	struct ipv6hdr ip6;
	struct udphdr udp;
	struct dnshdr dns;
	__u32 off, stat;
	__u16 flags;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)) < 0)
			return verdict(skb, DNS_REJECTED);
		if (ip.protocol != IPPROTO_UDP || (ip.frag_off & bpf_htons(0x3fff)))
			return verdict(skb, DNS_REJECTED);
		off = ip.ihl * 4;
		stat = DNS_QUERY_V4;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)) < 0)
			return verdict(skb, DNS_REJECTED);
		if (ip6.nexthdr != IPPROTO_UDP)
			return verdict(skb, DNS_REJECTED);
		off = sizeof(ip6);
		stat = DNS_QUERY_V6;
	} else {
		return verdict(skb, DNS_REJECTED);
	}
	if (off < sizeof(ip) || bpf_skb_load_bytes(skb, off, &udp, sizeof(udp)) < 0)
		return verdict(skb, DNS_REJECTED);
	if (udp.dest != bpf_htons(DNS_PORT))
		return verdict(skb, DNS_REJECTED);
	if (bpf_skb_load_bytes(skb, off + sizeof(udp), &dns, sizeof(dns)) < 0)
		return verdict(skb, DNS_REJECTED);
	flags = bpf_ntohs(dns.flags);
	if ((flags & (DNS_QR | DNS_OPCODE)) || dns.qdcount != bpf_htons(1))
		return verdict(skb, DNS_REJECTED);
	return verdict(skb, stat);
}
