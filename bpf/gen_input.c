/* bpf/gen_input.c: random test inputs: packets with plausible headers, and the context around them. */
#include "bpf/k2_gen.h"

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/in.h>
#include <stddef.h>
#include <string.h>

#define LO_IFINDEX 1 /* BPF_PROG_TEST_RUN runs on the netns's loopback unless told otherwise */

static uint64_t below(struct k2_rng *r, uint64_t n)
{
	return n ? k2_rng_below(r, n) : 0;
}

static void rand_bytes(struct k2_rng *r, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)k2_rng_next(r);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t csum16(const uint8_t *p, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static uint32_t pick_len(struct k2_rng *r, const struct k2_gen_input_opts *o)
{
	uint32_t lo = o && o->min_len ? o->min_len : ETH_HLEN;
	uint32_t hi = o && o->max_len ? o->max_len : 0;
	uint64_t k = below(r, 100);

	if (lo < ETH_HLEN)
		lo = ETH_HLEN;
	if (!hi)
		hi = k < 20 ? 64 : k < 92 ? ETH_FRAME_LEN : K2_PKT_MAX;
	if (hi > K2_PKT_MAX)
		hi = K2_PKT_MAX;
	if (hi < lo)
		hi = lo;
	return lo + (uint32_t)below(r, hi - lo + 1);
}

static void mac(struct k2_rng *r, uint8_t *p)
{
	static const uint8_t special[3][6] = {
		{ 0, 0, 0, 0, 0, 0 },                   /* lo's own address: PACKET_HOST */
		{ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, /* broadcast */
		{ 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 }, /* IPv4 multicast */
	};
	uint64_t k = below(r, 10);

	if (k < 3)
		memcpy(p, special[k], 6);
	else
		rand_bytes(r, p, 6);
}

static size_t l4_header(struct k2_rng *r, uint8_t proto, uint8_t *p, size_t room)
{
	size_t n = proto == IPPROTO_TCP ? 20 : 8;

	if (room < n)
		return 0;
	rand_bytes(r, p, n);
	if (proto == IPPROTO_TCP)
		p[12] = (uint8_t)((5 + below(r, 2)) << 4); /* data offset 5 or 6 words */
	if (proto == IPPROTO_UDP)
		put16(p + 4, (uint16_t)room);
	return n;
}

static uint8_t pick_proto(struct k2_rng *r)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_TCP,
					  IPPROTO_UDP, 47 /* GRE */, 255 };

	return protos[below(r, sizeof(protos))];
}

static void ipv4(struct k2_rng *r, uint8_t *p, size_t room)
{
	uint8_t proto = pick_proto(r);

	if (room < 20)
		return;
	p[0] = below(r, 10) ? 0x45 : (uint8_t)(0x40 | (5 + below(r, 11)));
	p[1] = (uint8_t)k2_rng_next(r);
	put16(p + 2, (uint16_t)(below(r, 8) ? room : k2_rng_next(r)));
	rand_bytes(r, p + 4, 4);                /* id, flags, fragment offset */
	if (below(r, 4))
		p[6] = p[7] = 0;               /* mostly not fragmented */
	p[8] = (uint8_t)(1 + below(r, 255)); /* ttl */
	p[9] = proto;
	p[10] = p[11] = 0;
	rand_bytes(r, p + 12, 8);
	if (below(r, 8))
		put16(p + 10, csum16(p, 20));
	l4_header(r, proto, p + 20, room - 20);
}

static void ipv6(struct k2_rng *r, uint8_t *p, size_t room)
{
	uint8_t proto = pick_proto(r);

	if (room < 40)
		return;
	rand_bytes(r, p, 40);
	p[0] = (uint8_t)(0x60 | (p[0] & 0x0f));
	put16(p + 4, (uint16_t)(room - 40));
	p[6] = proto;
	l4_header(r, proto, p + 40, room - 40);
}

static void packet(struct k2_rng *r, uint8_t *p, uint32_t len)
{
	static const uint16_t types[] = { ETH_P_IP, ETH_P_IP, ETH_P_IP, ETH_P_IPV6, ETH_P_IPV6,
					  ETH_P_ARP, ETH_P_8021Q, 0x0100, 0x05ff };
	uint16_t type;

	rand_bytes(r, p, len);
	if (below(r, 10) < 2)
		return; /* random bytes */
	mac(r, p);
	rand_bytes(r, p + 6, 6);
	type = types[below(r, sizeof(types) / sizeof(types[0]))];
	put16(p + 12, type);
	if (type == ETH_P_IP)
		ipv4(r, p + ETH_HLEN, len - ETH_HLEN);
	else if (type == ETH_P_IPV6)
		ipv6(r, p + ETH_HLEN, len - ETH_HLEN);
}

/* BPF_PROG_TEST_RUN of skb programs wants IPv4 and IPv6 frames to hold their IP header. */
static uint32_t skb_min_len(const struct k2_input *in)
{
	uint16_t t = (uint16_t)(in->pkt[12] << 8 | in->pkt[13]);

	return t == ETH_P_IP ? ETH_HLEN + 20 : t == ETH_P_IPV6 ? ETH_HLEN + 40 : ETH_HLEN;
}

/* The protocol eth_type_trans() finds (in network byte order, as skb->protocol). */
static uint16_t eth_protocol(const struct k2_input *in)
{
	uint16_t t = (uint16_t)(in->pkt[12] << 8 | in->pkt[13]);

	if (t >= ETH_P_802_3_MIN)
		return __builtin_bswap16(t);
	if (in->pkt_len >= ETH_HLEN + 2 && in->pkt[14] == 0xff && in->pkt[15] == 0xff)
		return __builtin_bswap16(ETH_P_802_3);
	return __builtin_bswap16(ETH_P_802_2);
}

/* eth_type_trans() on lo, whose address is 00:00:00:00:00:00 and has no broadcast address. */
static uint32_t eth_pkt_type(const struct k2_input *in)
{
	static const uint8_t zero[6];

	if (!memcmp(in->pkt, zero, 6))
		return PACKET_HOST;
	return (in->pkt[0] & 1) ? PACKET_MULTICAST : PACKET_OTHERHOST;
}

void k2_gen_input_derive(uint32_t prog_type, struct k2_input *in)
{
	struct __sk_buff *skb = (struct __sk_buff *)in->ctx;
	struct xdp_md *md = (struct xdp_md *)in->ctx;
	uint32_t hh = prog_type == BPF_PROG_TYPE_SOCKET_FILTER ? ETH_HLEN : 0;

	if (prog_type == BPF_PROG_TYPE_XDP) {
		md->data = md->data_meta = 0;
		md->data_end = in->pkt_len;
		return;
	}
	/* Non-L2 programs see the skb after eth_type_trans() pulled the Ethernet header. */
	skb->len = in->pkt_len - hh;
	skb->pkt_type = eth_pkt_type(in);
	skb->protocol = eth_protocol(in);
	skb->ifindex = LO_IFINDEX;
	/* wire_len 0 means "the length"; a smaller one is refused. */
	if (skb->wire_len < skb->len)
		skb->wire_len = skb->len;
}

static void skb_ctx(struct k2_rng *r, uint32_t prog_type, struct k2_input *in)
{
	struct __sk_buff *skb = (struct __sk_buff *)in->ctx;

	memset(skb, 0, sizeof(*skb));
	in->ctx_len = sizeof(*skb);
	if (below(r, 2))
		skb->mark = (uint32_t)k2_rng_next(r);
	if (below(r, 2))
		skb->priority = (uint32_t)below(r, 8);
	skb->ingress_ifindex = (uint32_t)below(r, 4);
	if (below(r, 2))
		rand_bytes(r, (uint8_t *)skb->cb, sizeof(skb->cb));
	if (prog_type == BPF_PROG_TYPE_SCHED_CLS) {
		if (below(r, 3) == 0)
			skb->tstamp = k2_rng_next(r) >> 2;
		if (below(r, 3) == 0)
			skb->hwtstamp = k2_rng_next(r) >> 2;
		if (below(r, 3) == 0)
			skb->wire_len = in->pkt_len + (uint32_t)below(r, 1000);
	}
	if (below(r, 3) == 0) {
		skb->gso_segs = (uint32_t)below(r, 65536);
		skb->gso_size = (uint32_t)below(r, 65536);
	}
	k2_gen_input_derive(prog_type, in);
}

void k2_gen_input(struct k2_rng *rng, uint32_t prog_type, const struct k2_gen_input_opts *opts,
		  struct k2_input *in)
{
	memset(in, 0, offsetof(struct k2_input, pkt));
	in->maps = NULL;
	in->cpu = opts && opts->sz >= offsetof(struct k2_gen_input_opts, cpu) + sizeof(uint32_t)
			  ? opts->cpu
			  : 0;
	in->pkt_len = pick_len(rng, opts);
	packet(rng, in->pkt, in->pkt_len);
	if (prog_type != BPF_PROG_TYPE_XDP && in->pkt_len < skb_min_len(in)) {
		/* The kernel refuses skb runs of IP frames shorter than their network header. */
		uint32_t old = in->pkt_len;

		in->pkt_len = skb_min_len(in);
		rand_bytes(rng, in->pkt + old, in->pkt_len - old);
	}
	memset(in->ctx, 0, sizeof(in->ctx));
	/*
	 * Non-deterministic helpers: every value 0. The kernel agrees for get_smp_processor_id
	 * on CPU 0 and get_numa_node_id on node 0; ktime and prandom results never reach a
	 * compared output in generated programs.
	 */
	in->n_ndet = K2_NDET_MAX;
	memset(in->ndet, 0, sizeof(in->ndet));
	if (prog_type == BPF_PROG_TYPE_XDP) {
		struct xdp_md *md = (struct xdp_md *)in->ctx;

		in->ctx_len = sizeof(*md);
		md->ingress_ifindex = LO_IFINDEX;
		md->rx_queue_index = 0;
		k2_gen_input_derive(prog_type, in);
	} else if (prog_type == BPF_PROG_TYPE_SOCKET_FILTER || prog_type == BPF_PROG_TYPE_SCHED_CLS ||
		   prog_type == BPF_PROG_TYPE_SCHED_ACT) {
		skb_ctx(rng, prog_type, in);
	}
}
