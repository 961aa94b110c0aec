/* bpf/gen_input.c: random test inputs: packets with plausible headers and their context. */
#include "bpf/k2_gen.h"
#include "bpf/k2_pktgen.h"

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/in.h>
#include <stddef.h>
#include <string.h>

#define LO_IFINDEX 1   /* BPF_PROG_TEST_RUN runs on the netns's loopback unless told otherwise */
#define XDP_META_MAX 32 /* metadata test_run takes: a multiple of 4, at most 32 bytes */

static uint64_t below(struct k2_rng *r, uint64_t n)
{
	return n ? k2_rng_below(r, n) : 0;
}

static void rand_bytes(struct k2_rng *r, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)k2_rng_next(r);
}

/* Mostly short and MTU-sized frames, sometimes up to the largest linear test_run packet. */
static void len_bounds(struct k2_rng *r, const struct k2_gen_input_opts *o, uint32_t *lo,
		       uint32_t *hi)
{
	uint64_t k = below(r, 100);

	*lo = o && o->min_len ? o->min_len : ETH_HLEN;
	*hi = o && o->max_len ? o->max_len : k < 15 ? 64 : k < 92 ? ETH_FRAME_LEN : K2_PKT_MAX;
	if (*lo < ETH_HLEN)
		*lo = ETH_HLEN;
	if (*hi > K2_PKT_MAX)
		*hi = K2_PKT_MAX;
	if (*hi < *lo)
		*hi = *lo;
}

/* A frame from the realistic packet generator (k2_pktgen); plain random bytes if it cannot. */
static uint32_t packet(struct k2_rng *r, const struct k2_gen_input_opts *o, uint8_t *p)
{
	uint32_t lo, hi;
	int n;

	len_bounds(r, o, &lo, &hi);
	K2_PKTGEN_OPTS(po, .min_len = lo, .max_len = hi);
	n = k2_pktgen(r, &po, p, K2_PKT_MAX, NULL);
	if (n >= (int)lo)
		return (uint32_t)n;
	n = (int)(lo + below(r, hi - lo + 1));
	rand_bytes(r, p, (size_t)n);
	return (uint32_t)n;
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

/* XDP metadata before the frame: data_in starts with it and xdp_md.data is its length. */
static void add_meta(struct k2_rng *r, struct k2_input *in, uint32_t meta)
{
	memmove(in->pkt + meta, in->pkt, in->pkt_len);
	rand_bytes(r, in->pkt, meta);
	in->pkt_len += meta;
	((struct xdp_md *)in->ctx)->data = meta;
}

void k2_gen_input_derive(uint32_t prog_type, struct k2_input *in)
{
	struct __sk_buff *skb = (struct __sk_buff *)in->ctx;
	struct xdp_md *md = (struct xdp_md *)in->ctx;
	uint32_t hh = prog_type == BPF_PROG_TYPE_SOCKET_FILTER ? ETH_HLEN : 0;

	if (prog_type == BPF_PROG_TYPE_XDP) {
		md->data_meta = 0;
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
	in->pkt_len = packet(rng, opts, in->pkt);
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
	in->kmem_seed = 0;
	if (prog_type == BPF_PROG_TYPE_XDP) {
		struct xdp_md *md = (struct xdp_md *)in->ctx;

		in->ctx_len = sizeof(*md);
		md->ingress_ifindex = LO_IFINDEX;
		md->rx_queue_index = 0;
		if (below(rng, 10) == 0)
			add_meta(rng, in, 4 * (uint32_t)(1 + below(rng, XDP_META_MAX / 4)));
		k2_gen_input_derive(prog_type, in);
	} else if (prog_type == BPF_PROG_TYPE_SOCKET_FILTER ||
		   prog_type == BPF_PROG_TYPE_SCHED_CLS || prog_type == BPF_PROG_TYPE_SCHED_ACT) {
		skb_ctx(rng, prog_type, in);
	}
}
