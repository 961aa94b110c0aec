/* kernel_bench/bench_packets.c: the packets a session measures: the caller's, then a mix. */
#include "kernel_bench/bench_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIX_DEFAULT 16

static const enum k2_pkt_shape mix_shapes[] = {
	K2_PKT_IPV4_TCP, K2_PKT_IPV4_UDP, K2_PKT_IPV6_TCP, K2_PKT_IPV6_UDP,
};
static const uint32_t mix_sizes[] = { 64, 128, 512, 1500 };
#define MIX_N \
	(sizeof(mix_shapes) / sizeof(mix_shapes[0]) * sizeof(mix_sizes) / sizeof(mix_sizes[0]))

static bool packet_type(uint32_t type)
{
	return type == BPF_PROG_TYPE_XDP || type == BPF_PROG_TYPE_SCHED_CLS ||
	       type == BPF_PROG_TYPE_SCHED_ACT || type == BPF_PROG_TYPE_SOCKET_FILTER;
}

void k2_bench_frame_ctx(uint32_t type, int cpu, struct k2_input *in)
{
	memset(in->ctx, 0, sizeof(in->ctx));
	in->cpu = cpu < 0 ? 0 : (uint32_t)cpu;
	if (type == BPF_PROG_TYPE_XDP) {
		struct xdp_md *md = (struct xdp_md *)in->ctx;

		in->ctx_len = sizeof(*md);
		md->ingress_ifindex = 1;
	} else {
		in->ctx_len = sizeof(struct __sk_buff);
		k2_gen_input_derive(type, in);
	}
}

/* Mix packet i: sizes outer, shapes inner, so a short mix still has every shape. */
static int mix_packet(uint32_t i, struct k2_bench_pkt *p)
{
	enum k2_pkt_shape shape = mix_shapes[i % 4];
	uint32_t size = mix_sizes[(i / 4) % 4];
	struct k2_pkt_spec s;
	struct k2_pkt_info info;
	int hdr, len;

	k2_pkt_spec_init(&s, shape);
	s.payload_len = 0;
	hdr = k2_pkt_build(&s, p->in.pkt, sizeof(p->in.pkt), &info);
	if (hdr < 0)
		return hdr;
	s.payload_len = (uint16_t)(size > (uint32_t)hdr ? size - (uint32_t)hdr : 0);
	s.payload_seed = i;
	len = k2_pkt_build(&s, p->in.pkt, sizeof(p->in.pkt), &info);
	if (len < 0)
		return len;
	p->in.pkt_len = (uint32_t)len;
	snprintf(p->desc, sizeof(p->desc), "%s %dB", k2_pkt_shape_name(shape), len);
	return 0;
}

int k2_bench_packets(struct k2_bench *b, struct k2_err *e)
{
	uint32_t type = b->prog->type, n_in = b->o.n_inputs;
	uint32_t n_gen = b->o.packets ? b->o.packets : n_in ? 0 : MIX_DEFAULT;
	struct k2_rng rng;
	K2_PKTGEN_OPTS(go, .shapes = K2_PKT_SHAPES_WELL_FORMED, .min_len = 60);

	b->n_pkts = 0;
	if (!packet_type(type))
		return 0;
	b->pkts = calloc(n_in + n_gen ? n_in + n_gen : 1, sizeof(*b->pkts));
	if (!b->pkts)
		return k2_err_set(e, -ENOMEM, "packets: out of memory");
	for (uint32_t i = 0; i < n_in; i++) {
		struct k2_bench_pkt *p = &b->pkts[b->n_pkts++];

		p->in = b->o.inputs[i];
		p->in.maps = NULL;
		snprintf(p->desc, sizeof(p->desc), "input %u (%uB)", i, p->in.pkt_len);
	}
	k2_rng_seed(&rng, b->o.seed);
	for (uint32_t i = 0; i < n_gen; i++) {
		struct k2_bench_pkt *p = &b->pkts[b->n_pkts];
		struct k2_pkt_info info;
		int len;

		memset(p, 0, sizeof(*p));
		if (i < MIX_N) {
			len = mix_packet(i, p);
		} else {
			len = k2_pktgen(&rng, &go, p->in.pkt, 1514, &info);
			if (len >= 0) {
				p->in.pkt_len = (uint32_t)len;
				snprintf(p->desc, sizeof(p->desc), "%s %dB",
					 k2_pkt_shape_name(info.shape), len);
			}
		}
		if (len < 0)
			return k2_err_set(e, len, "packet %u of the mix: cannot build (%d)", i,
					  len);
		k2_bench_frame_ctx(type, b->cpu, &p->in);
		b->n_pkts++;
	}
	return 0;
}
