/* tests/kernel/corpus_xdp.c: corpus XDP programs under BPF_PROG_TEST_RUN: verdicts, bytes, maps. */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "tests/kernel/corpus_util.h"

#define XDP 0

static uint8_t pkt[2048];

static void spec_v4(struct k2_pkt_spec *s, enum k2_pkt_shape shape, uint32_t src, uint32_t dst,
		    uint16_t sport, uint16_t dport)
{
	k2_pkt_spec_init(s, shape);
	s->src4 = src;
	s->dst4 = dst;
	s->sport = sport;
	s->dport = dport;
	s->payload_len = 32;
	s->payload_seed = 7;
}

Test(corpus_xdp, proto_count)
{
	struct bpf_object *obj = corpus_load("xdp_proto_count");
	int fd = corpus_prog_fd(obj), proto = corpus_map_fd(obj, "proto_stats");
	int l3 = corpus_map_fd(obj, "l3_stats");
	struct k2_pkt_spec s;
	struct corpus_run r;
	uint32_t len, len6;

	k2_pkt_spec_init(&s, K2_PKT_IPV4_TCP);
	s.n_vlans = 1;
	s.vlan_tci[0] = 10;
	len = corpus_pkt(&s, pkt, sizeof(pkt), NULL);
	corpus_run(fd, pkt, len, XDP, &r);
	cr_expect_eq(r.retval, XDP_PASS);
	cr_expect_eq(corpus_percpu_sum(proto, IPPROTO_TCP, 16, 0), 1, "TCP packets");
	cr_expect_eq(corpus_percpu_sum(proto, IPPROTO_TCP, 16, 8), len, "TCP bytes");
	cr_expect_eq(corpus_percpu_sum(l3, 0, 16, 0), 1, "IPv4 behind a VLAN tag");

	k2_pkt_spec_init(&s, K2_PKT_IPV6_UDP);
	len6 = corpus_pkt(&s, pkt, sizeof(pkt), NULL);
	corpus_run(fd, pkt, len6, XDP, &r);
	corpus_run(fd, pkt, len6, XDP, &r);
	cr_expect_eq(corpus_percpu_sum(proto, IPPROTO_UDP, 16, 0), 2);
	cr_expect_eq(corpus_percpu_sum(proto, IPPROTO_UDP, 16, 8), 2 * len6);
	cr_expect_eq(corpus_percpu_sum(l3, 1, 16, 0), 2, "IPv6");

	k2_pkt_spec_init(&s, K2_PKT_ARP);
	corpus_run(fd, pkt, corpus_pkt(&s, pkt, sizeof(pkt), NULL), XDP, &r);
	cr_expect_eq(corpus_percpu_sum(l3, 2, 16, 0), 1, "ARP");
	/* IPv4 ethertype but only 10 bytes of header: a runt. */
	k2_pkt_spec_init(&s, K2_PKT_IPV4_UDP);
	corpus_pkt(&s, pkt, sizeof(pkt), NULL);
	corpus_run(fd, pkt, 24, XDP, &r);
	cr_expect_eq(r.retval, XDP_PASS);
	cr_expect_eq(corpus_percpu_sum(l3, 4, 16, 0), 1, "runt");
	cr_expect_eq(corpus_percpu_sum(l3, 0, 16, 0), 1, "the runt is not counted as IPv4");
	bpf_object__close(obj);
}

Test(corpus_xdp, bounce_swaps_macs_addresses_and_ports)
{
	struct bpf_object *obj = corpus_load("xdp_bounce");
	int fd = corpus_prog_fd(obj);
	struct k2_pkt_spec s;
	struct k2_pkt_info in;
	struct corpus_run r;
	uint32_t len;

	spec_v4(&s, K2_PKT_IPV4_UDP, corpus_ip4(10, 1, 1, 1), corpus_ip4(10, 2, 2, 2), 5000, 7);
	len = corpus_pkt(&s, pkt, sizeof(pkt), &in);
	corpus_run(fd, pkt, len, XDP, &r);
	cr_expect_eq(r.retval, XDP_TX);
	cr_assert_eq(r.len, len);
	cr_expect_arr_eq(r.out, pkt + 6, 6, "dst MAC is the old source");
	cr_expect_arr_eq(r.out + 6, pkt, 6);
	cr_expect_arr_eq(r.out + 26, pkt + 30, 4, "IPv4 addresses swapped");
	cr_expect_arr_eq(r.out + 30, pkt + 26, 4);
	cr_expect_eq(corpus_be16(r.out + 34), 7, "UDP ports swapped");
	cr_expect_eq(corpus_be16(r.out + 36), 5000);
	cr_expect(corpus_csum_ok(r.out + 14, 20, 0), "IPv4 checksum still valid");
	cr_expect_arr_eq(r.out + 40, pkt + 40, 2, "UDP checksum unchanged, still valid");

	/* TCP: only the MACs. */
	spec_v4(&s, K2_PKT_IPV4_TCP, corpus_ip4(10, 1, 1, 1), corpus_ip4(10, 2, 2, 2), 5000, 80);
	len = corpus_pkt(&s, pkt, sizeof(pkt), &in);
	corpus_run(fd, pkt, len, XDP, &r);
	cr_expect_eq(r.retval, XDP_TX);
	cr_expect_arr_eq(r.out + 12, pkt + 12, len - 12, "nothing past the MACs changed");
	cr_expect_arr_eq(r.out, pkt + 6, 6);
	bpf_object__close(obj);
}

Test(corpus_xdp, firewall_drops_a_blocked_flow)
{
	struct bpf_object *obj = corpus_load("xdp_firewall");
	int fd = corpus_prog_fd(obj), blocked = corpus_map_fd(obj, "blocked_flows");
	int stats = corpus_map_fd(obj, "fw_stats");
	struct {
		uint32_t saddr, daddr;
		uint16_t sport, dport;
		uint8_t proto, pad[3];
	} key = { corpus_ip4(203, 0, 113, 9), corpus_ip4(10, 0, 0, 80), htons(40123), htons(22),
		  IPPROTO_TCP };
	uint64_t rule[2] = { 0, 0 };
	struct k2_pkt_spec s;
	struct corpus_run r;
	uint32_t len;

	spec_v4(&s, K2_PKT_IPV4_TCP, key.saddr, key.daddr, 40123, 22);
	len = corpus_pkt(&s, pkt, sizeof(pkt), NULL);
	corpus_run(fd, pkt, len, XDP, &r);
	cr_expect_eq(r.retval, XDP_PASS, "not blocked yet");

	cr_assert_eq(bpf_map_update_elem(blocked, &key, rule, BPF_ANY), 0);
	corpus_run(fd, pkt, len, XDP, &r);
	cr_expect_eq(r.retval, XDP_DROP, "blocked flow");
	cr_assert_eq(bpf_map_lookup_elem(blocked, &key, rule), 0);
	cr_expect_eq(rule[0], 1, "rule hits");
	cr_expect_eq(rule[1], len, "rule bytes");

	s.n_vlans = 1; /* the same flow behind a VLAN tag */
	s.vlan_tci[0] = 42;
	corpus_run(fd, pkt, corpus_pkt(&s, pkt, sizeof(pkt), NULL), XDP, &r);
	cr_expect_eq(r.retval, XDP_DROP);

	spec_v4(&s, K2_PKT_IPV4_TCP, key.saddr, key.daddr, 40124, 22);
	corpus_run(fd, pkt, corpus_pkt(&s, pkt, sizeof(pkt), NULL), XDP, &r);
	cr_expect_eq(r.retval, XDP_PASS, "another source port");
	spec_v4(&s, K2_PKT_IPV4_UDP, key.saddr, key.daddr, 40123, 22);
	corpus_run(fd, pkt, corpus_pkt(&s, pkt, sizeof(pkt), NULL), XDP, &r);
	cr_expect_eq(r.retval, XDP_PASS, "UDP, not TCP");
	k2_pkt_spec_init(&s, K2_PKT_ARP);
	corpus_run(fd, pkt, corpus_pkt(&s, pkt, sizeof(pkt), NULL), XDP, &r);
	cr_expect_eq(r.retval, XDP_PASS, "not IP");
	spec_v4(&s, K2_PKT_IPV4_TCP, key.saddr, key.daddr, 40123, 22);
	corpus_pkt(&s, pkt, sizeof(pkt), NULL);
	corpus_run(fd, pkt, 14 + 20 + 10, XDP, &r);
	cr_expect_eq(r.retval, XDP_DROP, "TCP header cut short");

	cr_expect_eq(corpus_percpu_sum(stats, 2, 8, 0), 2, "drops of blocked flows");
	cr_expect_eq(corpus_percpu_sum(stats, 3, 8, 0), 1, "malformed");
	cr_expect_eq(corpus_percpu_sum(stats, 0, 8, 0), 1, "non-IP");
	bpf_object__close(obj);
}

Test(corpus_xdp, map_array_rw_counts_by_dscp)
{
	struct bpf_object *obj = corpus_load("map_array_rw");
	int fd = corpus_prog_fd(obj), counts = corpus_map_fd(obj, "dscp_counts");
	uint64_t v[2];
	uint32_t key = 46, len;
	struct k2_pkt_spec s;
	struct corpus_run r;

	k2_pkt_spec_init(&s, K2_PKT_IPV4_UDP);
	s.tos = 46 << 2 | 1;
	len = corpus_pkt(&s, pkt, sizeof(pkt), NULL);
	corpus_run(fd, pkt, len, XDP, &r);
	corpus_run(fd, pkt, len, XDP, &r);
	cr_expect_eq(r.retval, XDP_PASS);
	cr_assert_eq(bpf_map_lookup_elem(counts, &key, v), 0);
	cr_expect_eq(v[0], 2);
	cr_expect_eq(v[1], len);
	key = 0;
	cr_assert_eq(bpf_map_lookup_elem(counts, &key, v), 0);
	cr_expect_eq(v[0], 0);
	bpf_object__close(obj);
}

Test(corpus_xdp, map_hash_lookup_applies_the_action)
{
	struct bpf_object *obj = corpus_load("map_hash_lookup");
	int fd = corpus_prog_fd(obj), actions = corpus_map_fd(obj, "src_action");
	uint32_t src = corpus_ip4(198, 51, 100, 4), act = XDP_DROP, len;
	struct k2_pkt_spec s;
	struct corpus_run r;

	spec_v4(&s, K2_PKT_IPV4_UDP, src, corpus_ip4(10, 0, 0, 1), 1, 2);
	len = corpus_pkt(&s, pkt, sizeof(pkt), NULL);
	corpus_run(fd, pkt, len, XDP, &r);
	cr_expect_eq(r.retval, XDP_PASS);
	cr_assert_eq(bpf_map_update_elem(actions, &src, &act, BPF_ANY), 0);
	corpus_run(fd, pkt, len, XDP, &r);
	cr_expect_eq(r.retval, XDP_DROP);
	act = XDP_TX;
	bpf_map_update_elem(actions, &src, &act, BPF_ANY);
	corpus_run(fd, pkt, len, XDP, &r);
	cr_expect_eq(r.retval, XDP_TX);
	act = 99;
	bpf_map_update_elem(actions, &src, &act, BPF_ANY);
	corpus_run(fd, pkt, len, XDP, &r);
	cr_expect_eq(r.retval, XDP_PASS, "an out-of-range action is ignored");
	bpf_object__close(obj);
}

Test(corpus_xdp, map_percpu_counts_per_source_mac)
{
	struct bpf_object *obj = corpus_load("map_percpu");
	int fd = corpus_prog_fd(obj), stats = corpus_map_fd(obj, "mac_stats");
	struct k2_pkt_spec s;
	struct corpus_run r;
	uint64_t key = 0;
	uint32_t len;
	int ncpu = libbpf_num_possible_cpus();
	uint64_t vals[2 * 256] = { 0 }, packets = 0, bytes = 0;

	k2_pkt_spec_init(&s, K2_PKT_IPV6_TCP);
	len = corpus_pkt(&s, pkt, sizeof(pkt), NULL);
	for (int i = 0; i < 3; i++)
		corpus_run(fd, pkt, len, XDP, &r);
	cr_expect_eq(r.retval, XDP_PASS);
	memcpy(&key, s.src_mac, 6);
	cr_assert_leq(ncpu, 256);
	cr_assert_eq(bpf_map_lookup_elem(stats, &key, vals), 0, "no entry for the source MAC");
	for (int c = 0; c < ncpu; c++) {
		packets += vals[2 * c];
		bytes += vals[2 * c + 1];
	}
	cr_expect_eq(packets, 3);
	cr_expect_eq(bytes, 3 * len);
	bpf_object__close(obj);
}

Test(corpus_xdp, redirect_devmap_by_ingress_port)
{
	struct bpf_object *obj = corpus_load("xdp_redirect_devmap");
	int fd = corpus_prog_fd(obj), tx = corpus_map_fd(obj, "tx_port");
	int macs = corpus_map_fd(obj, "egress_macs");
	uint8_t m[12] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55, 0x02, 0x66, 0x77, 0x88, 0x99, 0xaa };
	uint32_t lo = 1, len; /* BPF_PROG_TEST_RUN receives on the loopback device */
	struct k2_pkt_spec s;
	struct corpus_run r;

	k2_pkt_spec_init(&s, K2_PKT_IPV4_TCP);
	len = corpus_pkt(&s, pkt, sizeof(pkt), NULL);
	corpus_run(fd, pkt, len, XDP, &r);
	cr_expect_eq(r.retval, XDP_PASS, "no egress port: pass to the stack");
	cr_expect_arr_eq(r.out, pkt, len);

	cr_assert_eq(bpf_map_update_elem(tx, &lo, &lo, BPF_ANY), 0, "devmap: %s", strerror(errno));
	cr_assert_eq(bpf_map_update_elem(macs, &lo, m, BPF_ANY), 0);
	corpus_run(fd, pkt, len, XDP, &r);
	cr_expect_eq(r.retval, XDP_REDIRECT);
	cr_expect_arr_eq(r.out, m, 12, "next hop's MACs written");
	cr_expect_arr_eq(r.out + 12, pkt + 12, len - 12);
	bpf_object__close(obj);
}

Test(corpus_xdp, router_forwards_by_longest_prefix)
{
	struct bpf_object *obj = corpus_load("xdp_router_ipv4");
	int fd = corpus_prog_fd(obj), routes = corpus_map_fd(obj, "routes");
	int tx = corpus_map_fd(obj, "tx_ports"), stats = corpus_map_fd(obj, "rt_stats");
	struct {
		uint32_t plen, addr;
	} k8 = { 8, corpus_ip4(10, 0, 0, 0) }, k16 = { 16, corpus_ip4(10, 1, 0, 0) };
	struct {
		uint32_t port;
		uint8_t dmac[6], smac[6];
	} nh8 = { 1, { 2, 0, 0, 0, 8, 8 }, { 2, 0, 0, 0, 0, 1 } },
	  nh16 = { 1, { 2, 0, 0, 0, 16, 16 }, { 2, 0, 0, 0, 0, 1 } };
	uint32_t lo = 1, len;
	struct k2_pkt_spec s;
	struct corpus_run r;

	cr_assert_eq(bpf_map_update_elem(routes, &k8, &nh8, BPF_ANY), 0);
	cr_assert_eq(bpf_map_update_elem(routes, &k16, &nh16, BPF_ANY), 0);
	cr_assert_eq(bpf_map_update_elem(tx, &lo, &lo, BPF_ANY), 0);

	spec_v4(&s, K2_PKT_IPV4_UDP, corpus_ip4(192, 168, 0, 5), corpus_ip4(10, 1, 2, 3), 1000, 53);
	s.ttl = 64;
	len = corpus_pkt(&s, pkt, sizeof(pkt), NULL);
	corpus_run(fd, pkt, len, XDP, &r);
	cr_expect_eq(r.retval, XDP_REDIRECT);
	cr_expect_arr_eq(r.out, nh16.dmac, 6, "the /16 wins over the /8");
	cr_expect_arr_eq(r.out + 6, nh16.smac, 6);
	cr_expect_eq(r.out[22], 63, "TTL decremented");
	cr_expect(corpus_csum_ok(r.out + 14, 20, 0), "header checksum updated incrementally");
	cr_expect_arr_eq(r.out + 26, pkt + 26, len - 26, "past the checksum, untouched");

	s.dst4 = corpus_ip4(10, 2, 0, 1);
	s.ttl = 2;
	corpus_run(fd, pkt, corpus_pkt(&s, pkt, sizeof(pkt), NULL), XDP, &r);
	cr_expect_eq(r.retval, XDP_REDIRECT);
	cr_expect_arr_eq(r.out, nh8.dmac, 6);
	cr_expect_eq(r.out[22], 1);
	cr_expect(corpus_csum_ok(r.out + 14, 20, 0));

	s.ttl = 1;
	corpus_run(fd, pkt, corpus_pkt(&s, pkt, sizeof(pkt), NULL), XDP, &r);
	cr_expect_eq(r.retval, XDP_PASS, "TTL 1: the stack sends time exceeded");
	s.ttl = 64;
	s.dst4 = corpus_ip4(192, 0, 2, 1);
	len = corpus_pkt(&s, pkt, sizeof(pkt), NULL);
	corpus_run(fd, pkt, len, XDP, &r);
	cr_expect_eq(r.retval, XDP_PASS, "no route");
	cr_expect_arr_eq(r.out, pkt, len, "untouched");

	cr_expect_eq(corpus_percpu_sum(stats, 0, 8, 0), 2, "forwarded");
	cr_expect_eq(corpus_percpu_sum(stats, 1, 8, 0), 1, "no route");
	cr_expect_eq(corpus_percpu_sum(stats, 2, 8, 0), 1, "TTL expired");
	bpf_object__close(obj);
}

/* ---- the load balancer ---------------------------------------------------------------- */

#define LB_RING 1021
#define LB_SEED 0x1234

struct lb_vip_key {
	uint32_t addr;
	uint16_t port;
	uint8_t proto, pad;
};

struct lb_flow {
	uint32_t saddr, daddr;
	uint16_t sport, dport;
	uint8_t proto, pad[3];
};

struct lb_conn {
	uint32_t backend, vip_num;
	uint64_t last_seen_ns;
};

struct lb {
	struct bpf_object *obj;
	int prog, vips, ring, backends, conns, stats;
};

/* The program's flow hash, restated: Maglev slots must be predictable from outside. */
static uint32_t lb_mix(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x7feb352d;
	h ^= h >> 15;
	h *= 0x846ca68b;
	h ^= h >> 16;
	return h;
}

static uint32_t lb_hash(const struct lb_flow *f, int src_only)
{
	uint32_t ports = src_only ? 0 : ((uint32_t)f->sport << 16 | f->dport);
	uint32_t h = lb_mix(LB_SEED ^ f->saddr);

	h = lb_mix(h ^ f->daddr);
	return lb_mix(h ^ ports ^ ((uint32_t)f->proto << 24));
}

static void lb_fill_ring(struct lb *l, uint32_t vip_num, int all_zero)
{
	for (uint32_t i = 0; i < LB_RING; i++) {
		uint32_t slot = vip_num * LB_RING + i, be = all_zero ? 0 : slot % 3;

		cr_assert_eq(bpf_map_update_elem(l->ring, &slot, &be, BPF_ANY), 0);
	}
}

static void lb_backend(struct lb *l, uint32_t i, int alive)
{
	uint32_t v[2] = { corpus_ip4(192, 168, 1, (uint8_t)(i + 1)), (uint32_t)alive };

	cr_assert_eq(bpf_map_update_elem(l->backends, &i, v, BPF_ANY), 0);
}

static void lb_setup(struct lb *l)
{
	struct lb_vip_key web = { corpus_ip4(10, 0, 0, 10), htons(80), IPPROTO_TCP, 0 };
	struct lb_vip_key dns = { corpus_ip4(10, 0, 0, 53), 0, IPPROTO_UDP, 0 };
	uint32_t web_meta[2] = { 3, 0 }, dns_meta[2] = { 5, 1 /* hash the source only */ };
	uint8_t cfg[12] = { 172, 16, 0, 1, 0x02, 0, 0, 0, 0, 0xaa };
	uint32_t zero = 0;

	cfg[10] = LB_SEED & 0xff;
	cfg[11] = LB_SEED >> 8;
	l->obj = corpus_load("xdp_lb_maglev");
	l->prog = corpus_prog_fd(l->obj);
	l->vips = corpus_map_fd(l->obj, "vips");
	l->ring = corpus_map_fd(l->obj, "ring");
	l->backends = corpus_map_fd(l->obj, "backends");
	l->conns = corpus_map_fd(l->obj, "conns");
	l->stats = corpus_map_fd(l->obj, "stats");
	cr_assert_eq(bpf_map_update_elem(l->vips, &web, web_meta, BPF_ANY), 0);
	cr_assert_eq(bpf_map_update_elem(l->vips, &dns, dns_meta, BPF_ANY), 0);
	cr_assert_eq(bpf_map_update_elem(corpus_map_fd(l->obj, "config"), &zero, cfg, BPF_ANY), 0);
	lb_fill_ring(l, 3, 0);
	lb_fill_ring(l, 5, 0);
	for (uint32_t i = 0; i < 3; i++)
		lb_backend(l, i, 1);
}

/* Checks an IPIP-encapsulated output and returns the backend it went to (0..2). */
static uint32_t lb_check_encap(const struct corpus_run *r, const uint8_t *in, uint32_t len)
{
	const uint8_t gw[6] = { 0x02, 0, 0, 0, 0, 0xaa }, src[4] = { 172, 16, 0, 1 };
	const uint8_t *o = r->out + 14;

	cr_assert_eq(r->retval, XDP_TX);
	cr_assert_eq(r->len, len + 20);
	cr_expect_arr_eq(r->out, gw, 6, "to the gateway");
	cr_expect_arr_eq(r->out + 6, in, 6, "from the MAC the VIP was reached at");
	cr_expect_eq(corpus_be16(r->out + 12), 0x0800);
	cr_expect_eq(o[0], 0x45);
	cr_expect_eq(o[9], IPPROTO_IPIP);
	cr_expect_eq(o[8], 64);
	cr_expect_eq(corpus_be16(o + 6), 0x4000, "DF");
	cr_expect_eq(corpus_be16(o + 2), corpus_be16(in + 16) + 20);
	cr_expect(corpus_csum_ok(o, 20, 0), "outer header checksum");
	cr_expect_arr_eq(o + 12, src, 4);
	cr_expect_arr_eq(r->out + 34, in + 14, len - 14, "the inner packet travels unchanged");
	cr_assert(o[16] == 192 && o[17] == 168 && o[18] == 1 && o[19] >= 1 && o[19] <= 3,
		  "outer destination %u.%u.%u.%u is not a backend", o[16], o[17], o[18], o[19]);
	return o[19] - 1u;
}

static uint32_t lb_ring_backend(const struct lb_flow *f, uint32_t vip_num, int src_only)
{
	return (vip_num * LB_RING + lb_hash(f, src_only) % LB_RING) % 3;
}

Test(corpus_xdp, lb_maglev_new_flows_follow_the_ring)
{
	struct lb l;
	struct lb_flow f = { corpus_ip4(198, 51, 100, 7), corpus_ip4(10, 0, 0, 10), htons(50000),
			     htons(80), IPPROTO_TCP };
	struct lb_conn cn;
	struct k2_pkt_spec s;
	struct corpus_run r;
	uint32_t len, be, vip = 3;

	lb_setup(&l);
	spec_v4(&s, K2_PKT_IPV4_TCP, f.saddr, f.daddr, 50000, 80);
	s.tcp_flags = 0x02; /* SYN */
	len = corpus_pkt(&s, pkt, sizeof(pkt), NULL);
	corpus_run(l.prog, pkt, len, XDP, &r);
	be = lb_check_encap(&r, pkt, len);
	cr_expect_eq(be, lb_ring_backend(&f, 3, 0), "the Maglev slot's backend");
	cr_assert_eq(bpf_map_lookup_elem(l.conns, &f, &cn), 0, "connection recorded");
	cr_expect_eq(cn.backend, be);
	cr_expect_eq(cn.vip_num, 3);
	cr_expect_eq(corpus_percpu_sum(l.stats, vip, 32, 0), 1, "VIP packets");
	cr_expect_eq(corpus_percpu_sum(l.stats, vip, 32, 8), len, "VIP bytes");

	/* The control plane moves every slot to backend 0: the connection stays put... */
	lb_fill_ring(&l, 3, 1);
	s.tcp_flags = 0x10;
	len = corpus_pkt(&s, pkt, sizeof(pkt), NULL);
	corpus_run(l.prog, pkt, len, XDP, &r);
	cr_expect_eq(lb_check_encap(&r, pkt, len), be, "established flow keeps its backend");
	/* ...a new SYN on the same tuple is balanced afresh... */
	s.tcp_flags = 0x02;
	len = corpus_pkt(&s, pkt, sizeof(pkt), NULL);
	corpus_run(l.prog, pkt, len, XDP, &r);
	cr_expect_eq(lb_check_encap(&r, pkt, len), 0);
	/* ...and when the backend dies, its flows move. */
	lb_fill_ring(&l, 3, 0);
	lb_backend(&l, lb_ring_backend(&f, 3, 0), 0);
	cr_assert_eq(bpf_map_update_elem(l.conns, &f, &cn, BPF_ANY), 0);
	s.tcp_flags = 0x10;
	len = corpus_pkt(&s, pkt, sizeof(pkt), NULL);
	corpus_run(l.prog, pkt, len, XDP, &r);
	cr_expect_eq(r.retval, XDP_DROP, "its ring slot is dead too: dropped");
	cr_expect_eq(corpus_percpu_sum(l.stats, vip, 32, 24), 1, "VIP drops");
	bpf_object__close(l.obj);
}

Test(corpus_xdp, lb_maglev_source_hash_and_pass_through)
{
	struct lb l;
	struct lb_flow f1 = { corpus_ip4(198, 51, 100, 9), corpus_ip4(10, 0, 0, 53), htons(1111),
			      htons(53), IPPROTO_UDP };
	struct k2_pkt_spec s;
	struct corpus_run r;
	uint32_t len, be1, be2;

	lb_setup(&l);
	spec_v4(&s, K2_PKT_IPV4_UDP, f1.saddr, f1.daddr, 1111, 53);
	len = corpus_pkt(&s, pkt, sizeof(pkt), NULL);
	corpus_run(l.prog, pkt, len, XDP, &r);
	be1 = lb_check_encap(&r, pkt, len);
	cr_expect_eq(be1, lb_ring_backend(&f1, 5, 1));
	s.sport = 2222;
	s.dport = 5353; /* any port of a port-0 VIP */
	len = corpus_pkt(&s, pkt, sizeof(pkt), NULL);
	corpus_run(l.prog, pkt, len, XDP, &r);
	be2 = lb_check_encap(&r, pkt, len);
	cr_expect_eq(be1, be2, "one client, one backend, whatever its ports");

	spec_v4(&s, K2_PKT_IPV4_TCP, f1.saddr, corpus_ip4(10, 0, 0, 11), 1111, 80);
	len = corpus_pkt(&s, pkt, sizeof(pkt), NULL);
	corpus_run(l.prog, pkt, len, XDP, &r);
	cr_expect_eq(r.retval, XDP_PASS, "not a VIP");
	cr_expect_arr_eq(r.out, pkt, len);
	s.dst4 = corpus_ip4(10, 0, 0, 10);
	s.dport = 443;
	corpus_run(l.prog, pkt, corpus_pkt(&s, pkt, sizeof(pkt), NULL), XDP, &r);
	cr_expect_eq(r.retval, XDP_PASS, "a VIP address but not its port");
	s.dport = 80;
	s.dont_frag = false;
	s.more_frags = true;
	corpus_run(l.prog, pkt, corpus_pkt(&s, pkt, sizeof(pkt), NULL), XDP, &r);
	cr_expect_eq(r.retval, XDP_PASS, "fragments go to the stack");
	bpf_object__close(l.obj);
}

Test(corpus_xdp, lb_maglev_icmp_errors_reach_the_flows_backend)
{
	struct lb l;
	struct lb_flow f = { corpus_ip4(198, 51, 100, 7), corpus_ip4(10, 0, 0, 10), htons(50001),
			     htons(80), IPPROTO_TCP };
	struct k2_pkt_spec s;
	struct corpus_run r;
	uint32_t len, be;

	lb_setup(&l);
	spec_v4(&s, K2_PKT_IPV4_TCP, f.saddr, f.daddr, 50001, 80);
	s.tcp_flags = 0x02;
	len = corpus_pkt(&s, pkt, sizeof(pkt), NULL);
	corpus_run(l.prog, pkt, len, XDP, &r);
	be = lb_check_encap(&r, pkt, len);

	/* A router on the client's path: fragmentation needed for VIP:80 -> client:50001. */
	spec_v4(&s, K2_PKT_IPV4_ICMP, corpus_ip4(203, 0, 113, 1), f.daddr, 0, 80);
	s.icmp_type = 3;
	s.icmp_code = 4;
	s.icmp_rest = 1400;
	s.quote.proto = IPPROTO_TCP;
	s.quote.addr4 = f.saddr;
	s.quote.port = 50001;
	s.payload_len = 0;
	len = corpus_pkt(&s, pkt, sizeof(pkt), NULL);
	corpus_run(l.prog, pkt, len, XDP, &r);
	cr_expect_eq(lb_check_encap(&r, pkt, len), be, "the error follows the connection");
	s.icmp_type = 0; /* an echo reply to the VIP is no business of the balancer */
	corpus_run(l.prog, pkt, corpus_pkt(&s, pkt, sizeof(pkt), NULL), XDP, &r);
	cr_expect_eq(r.retval, XDP_PASS);
	bpf_object__close(l.obj);
}

/* ---- small programs ------------------------------------------------------------------- */

Test(corpus_xdp, tcp_flags_drops_scans_and_counts_in_globals)
{
	static const struct {
		uint16_t flags;
		uint32_t want;
		int counter; /* index in the .bss struct, -1 for passed */
	} cases[] = {
		{ 0x02, XDP_PASS, 5 }, { 0x12, XDP_PASS, 5 }, { 0x11, XDP_PASS, 5 },
		{ 0x00, XDP_DROP, 0 }, { 0x29, XDP_DROP, 1 }, { 0x03, XDP_DROP, 2 },
		{ 0x06, XDP_DROP, 3 }, { 0x01, XDP_DROP, 4 }, { 0x08, XDP_DROP, 4 },
	};
	struct bpf_object *obj = corpus_load("xdp_tcp_flags");
	int fd = corpus_prog_fd(obj), bss = corpus_global_fd(obj, ".bss");
	int data = corpus_global_fd(obj, ".data");
	uint64_t counters[6], want[6] = { 0 };
	uint32_t zero = 0, off = 0;
	struct k2_pkt_spec s;
	struct corpus_run r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		k2_pkt_spec_init(&s, i % 2 ? K2_PKT_IPV6_TCP : K2_PKT_IPV4_TCP);
		s.tcp_flags = cases[i].flags;
		corpus_run(fd, pkt, corpus_pkt(&s, pkt, sizeof(pkt), NULL), XDP, &r);
		cr_expect_eq(r.retval, cases[i].want, "flags 0x%x", cases[i].flags);
		want[cases[i].counter]++;
	}
	cr_assert_eq(bpf_map_lookup_elem(bss, &zero, counters), 0);
	cr_expect_arr_eq(counters, want, sizeof(want), "the .bss counters");

	/* Switched off at run time through .data: everything passes. */
	cr_assert_eq(bpf_map_update_elem(data, &zero, &off, BPF_ANY), 0);
	k2_pkt_spec_init(&s, K2_PKT_IPV4_TCP);
	s.tcp_flags = 0;
	corpus_run(fd, pkt, corpus_pkt(&s, pkt, sizeof(pkt), NULL), XDP, &r);
	cr_expect_eq(r.retval, XDP_PASS);
	bpf_object__close(obj);
}

Test(corpus_xdp, cpu_steer_redirects_through_the_cpumap)
{
	struct bpf_object *obj = corpus_load("xdp_cpu_steer");
	int fd = corpus_prog_fd(obj), cpus = corpus_map_fd(obj, "cpu_map");
	int count = corpus_map_fd(obj, "cpu_count");
	uint32_t zero = 0, one = 1, len, val[2] = { 192, 0 }; /* queue size, no program */
	struct k2_pkt_spec s;
	struct corpus_run r;

	k2_pkt_spec_init(&s, K2_PKT_IPV4_UDP);
	len = corpus_pkt(&s, pkt, sizeof(pkt), NULL);
	corpus_run(fd, pkt, len, XDP, &r);
	cr_expect_eq(r.retval, XDP_PASS, "no CPUs configured");
	cr_assert_eq(bpf_map_update_elem(cpus, &zero, val, BPF_ANY), 0, "cpumap: %s",
		     strerror(errno));
	cr_assert_eq(bpf_map_update_elem(count, &zero, &one, BPF_ANY), 0);
	corpus_run(fd, pkt, len, XDP, &r);
	cr_expect_eq(r.retval, XDP_REDIRECT);
	s.ihl = 4; /* a header shorter than the minimum */
	corpus_run(fd, pkt, corpus_pkt(&s, pkt, sizeof(pkt), NULL), XDP, &r);
	cr_expect_eq(r.retval, XDP_DROP);
	k2_pkt_spec_init(&s, K2_PKT_IPV6_UDP);
	corpus_run(fd, pkt, corpus_pkt(&s, pkt, sizeof(pkt), NULL), XDP, &r);
	cr_expect_eq(r.retval, XDP_PASS, "IPv6 is left alone");
	bpf_object__close(obj);
}

Test(corpus_xdp, gtsm_drops_bgp_below_ttl_255)
{
	struct bpf_object *obj = corpus_load("xdp_gtsm");
	int fd = corpus_prog_fd(obj);
	struct k2_pkt_spec s;
	struct corpus_run r;

	for (int v6 = 0; v6 < 2; v6++) {
		k2_pkt_spec_init(&s, v6 ? K2_PKT_IPV6_TCP : K2_PKT_IPV4_TCP);
		s.dport = 179;
		s.ttl = 255;
		corpus_run(fd, pkt, corpus_pkt(&s, pkt, sizeof(pkt), NULL), XDP, &r);
		cr_expect_eq(r.retval, XDP_PASS, "v6=%d: a direct neighbour", v6);
		s.ttl = 254;
		corpus_run(fd, pkt, corpus_pkt(&s, pkt, sizeof(pkt), NULL), XDP, &r);
		cr_expect_eq(r.retval, XDP_DROP, "v6=%d: one hop away", v6);
		s.dport = 40000;
		s.sport = 179;
		s.ttl = 1;
		corpus_run(fd, pkt, corpus_pkt(&s, pkt, sizeof(pkt), NULL), XDP, &r);
		cr_expect_eq(r.retval, XDP_DROP, "v6=%d: from port 179", v6);
		s.sport = 443;
		corpus_run(fd, pkt, corpus_pkt(&s, pkt, sizeof(pkt), NULL), XDP, &r);
		cr_expect_eq(r.retval, XDP_PASS, "v6=%d: not BGP", v6);
	}
	bpf_object__close(obj);
}
