/* corpus/sock_tcp_ports.bpf.c: socket filter (LD_ABS loads): accept only IPv4 TCP to a port set. */
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

/*
 * The classic-BPF style: absolute loads from the packet (BPF_LD | BPF_ABS / BPF_IND),
 * which the kernel bounds-checks itself and which end the program with 0 when out of
 * range. Attached to an AF_PACKET SOCK_DGRAM socket (or run by BPF_PROG_TEST_RUN)
 * the packet starts at the network header. Values come back in host order.
 */
unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");
unsigned long long load_word(void *skb, unsigned long long off) asm("llvm.bpf.load.word");

#define IP_OFF_MASK 0x1fff

static __always_inline int wanted_port(__u32 port)
{
	switch (port) {
	case 22:
	case 80:
	case 443:
	case 8080:
	case 8443:
		return 1;
	}
	return 0;
}

SEC("socket")
int sock_tcp_ports(struct __sk_buff *skb)
{
	__u32 vihl, hlen, dport, daddr;

	vihl = load_byte(skb, 0);
	if ((vihl >> 4) != 4)
		return 0;
	if (load_byte(skb, 9) != IPPROTO_TCP)
		return 0;
	if (load_half(skb, 6) & IP_OFF_MASK)
		return 0;
	/* Loopback-only services never arrive from the wire. */
	daddr = load_word(skb, 16);
	if ((daddr >> 24) == 127)
		return 0;
	hlen = (vihl & 0xf) << 2;
	if (hlen < 20)
		return 0;
	dport = load_half(skb, hlen + 2);
	return wanted_port(dport) ? skb->len : 0;
}
