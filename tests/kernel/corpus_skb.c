/* tests/kernel/corpus_skb.c: the corpus's tc and socket filter programs under BPF_PROG_TEST_RUN. */
#include <arpa/inet.h>
#include <linux/pkt_cls.h>
#include <netinet/in.h>

#include "tests/kernel/corpus_util.h"

#define SKB 1

static uint8_t pkt[2048];

/*
 * BPF_PROG_TEST_RUN hands skb programs an Ethernet frame; for socket filters it pulls
 * the Ethernet header first (as an AF_PACKET SOCK_DGRAM socket sees packets), so
 * skb->len, and an accepting filter's return value, is the frame length less 14.
 */
static uint32_t filter(int fd, const struct k2_pkt_spec *s, uint32_t *len)
{
	struct corpus_run r;

	*len = corpus_pkt(s, pkt, sizeof(pkt), NULL);
	corpus_run(fd, pkt, *len, SKB, &r);
	return r.retval;
}

Test(corpus_skb, tcp_ports_filter_with_ld_abs)
{
	static const struct {
		enum k2_pkt_shape shape;
		uint16_t dport;
		uint8_t opt_len;
		uint16_t frag_offset;
		uint8_t dst_first;
		int accept;
	} cases[] = {
		{ K2_PKT_IPV4_TCP, 443, 0, 0, 10, 1 },	{ K2_PKT_IPV4_TCP, 22, 0, 0, 10, 1 },
		{ K2_PKT_IPV4_TCP, 8443, 8, 0, 10, 1 }, /* IP options: the port moves */
		{ K2_PKT_IPV4_TCP, 8081, 0, 0, 10, 0 }, { K2_PKT_IPV4_UDP, 443, 0, 0, 10, 0 },
		{ K2_PKT_IPV4_TCP, 80, 0, 0, 127, 0 },	/* loopback destination */
		{ K2_PKT_IPV4_TCP, 80, 0, 185, 10, 0 }, /* a later fragment */
		{ K2_PKT_IPV6_TCP, 443, 0, 0, 10, 0 },
	};
	struct bpf_object *obj = corpus_load("sock_tcp_ports");
	int fd = corpus_prog_fd(obj);
	struct k2_pkt_spec s;
	uint32_t len, ret;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		k2_pkt_spec_init(&s, cases[i].shape);
		s.dport = cases[i].dport;
		s.ip_opt_len = cases[i].opt_len;
		memset(s.ip_opts, 1, cases[i].opt_len); /* NOPs */
		s.frag_offset = cases[i].frag_offset;
		s.dont_frag = !cases[i].frag_offset;
		s.dst4 = corpus_ip4(cases[i].dst_first, 0, 0, 2);
		s.payload_len = 20;
		ret = filter(fd, &s, &len);
		cr_expect_eq(ret, cases[i].accept ? len - 14 : 0, "case %zu: port %u", i,
			     cases[i].dport);
	}
	/* A TCP header cut before the ports: the absolute load fails and the filter drops. */
	k2_pkt_spec_init(&s, K2_PKT_IPV4_TCP);
	s.dport = 443;
	len = corpus_pkt(&s, pkt, sizeof(pkt), NULL);
	{
		struct corpus_run r;

		corpus_run(fd, pkt, 14 + 20 + 2, SKB, &r);
		cr_expect_eq(r.retval, 0);
	}
	bpf_object__close(obj);
}

Test(corpus_skb, dns_filter_with_skb_load_bytes)
{
	struct bpf_object *obj = corpus_load("sock_dns_filter");
	int fd = corpus_prog_fd(obj), stats = corpus_map_fd(obj, "dns_stats");
	struct k2_pkt_spec s;
	uint32_t len, key;
	uint64_t n;

	k2_pkt_spec_init(&s, K2_PKT_IPV4_UDP);
	s.dport = 53;
	s.payload = K2_PAYLOAD_DNS;
	s.payload_len = 40;
	cr_expect_eq(filter(fd, &s, &len), len - 14, "IPv4 query");
	k2_pkt_spec_init(&s, K2_PKT_IPV6_UDP);
	s.dport = 53;
	s.payload = K2_PAYLOAD_DNS;
	s.payload_len = 40;
	s.n_vlans = 0;
	cr_expect_eq(filter(fd, &s, &len), len - 14, "IPv6 query");
	s.dport = 5353;
	cr_expect_eq(filter(fd, &s, &len), 0, "not port 53");
	s.dport = 53;
	s.payload_len = 8;
	cr_expect_eq(filter(fd, &s, &len), 0, "too short for a DNS header");
	s.payload_len = 40;
	len = corpus_pkt(&s, pkt, sizeof(pkt), NULL);
	pkt[14 + 40 + 8 + 2] |= 0x80; /* QR: a response (the UDP checksum is not checked) */
	{
		struct corpus_run r;

		corpus_run(fd, pkt, len, SKB, &r);
		cr_expect_eq(r.retval, 0, "responses are dropped");
	}
	k2_pkt_spec_init(&s, K2_PKT_IPV4_TCP);
	s.dport = 53;
	cr_expect_eq(filter(fd, &s, &len), 0, "DNS over TCP is not this filter's");

	key = 0;
	cr_assert_eq(bpf_map_lookup_elem(stats, &key, &n), 0);
	cr_expect_eq(n, 1, "IPv4 queries");
	key = 1;
	cr_assert_eq(bpf_map_lookup_elem(stats, &key, &n), 0);
	cr_expect_eq(n, 1, "IPv6 queries");
	key = 2;
	cr_assert_eq(bpf_map_lookup_elem(stats, &key, &n), 0);
	cr_expect_eq(n, 4, "rejected");
	bpf_object__close(obj);
}

struct class_key {
	uint8_t proto, pad;
	uint16_t port;
};

struct class_val {
	uint8_t dscp, pad[3];
	uint32_t priority, mark;
};

Test(corpus_skb, tc_dscp_mark_classifies_by_port)
{
	struct bpf_object *obj = corpus_load("tc_dscp_mark");
	int fd = corpus_prog_fd(obj), classes = corpus_map_fd(obj, "classes");
	struct class_key https = { IPPROTO_TCP, 0, htons(443) },
			 dns = { IPPROTO_UDP, 0, htons(53) };
	struct class_val ef = { 46, { 0 }, 6, 0x10 }, keep = { 0xff, { 0 }, 2, 0x20 };
	struct k2_pkt_spec s;
	struct k2_pkt_info in;
	struct corpus_run r;
	uint32_t len;

	cr_assert_eq(bpf_map_update_elem(classes, &https, &ef, BPF_ANY), 0);
	cr_assert_eq(bpf_map_update_elem(classes, &dns, &keep, BPF_ANY), 0);

	k2_pkt_spec_init(&s, K2_PKT_IPV4_TCP);
	s.dport = 443;
	s.tos = 0x01; /* ECT(1) must survive */
	s.n_vlans = 1;
	s.vlan_tci[0] = 7;
	len = corpus_pkt(&s, pkt, sizeof(pkt), &in);
	corpus_run(fd, pkt, len, SKB, &r);
	cr_expect_eq(r.retval, TC_ACT_OK);
	cr_expect_eq(r.out[in.l3_off + 1], 46 << 2 | 1, "DSCP EF, ECN kept");
	cr_expect(corpus_csum_ok(r.out + in.l3_off, 20, 0), "checksum updated");
	cr_expect_eq(r.skb.mark, 0x10);
	cr_expect_eq(r.skb.priority, 6);

	/* The server's replies match on the source port. */
	s.sport = 443;
	s.dport = 51000;
	s.n_vlans = 0;
	len = corpus_pkt(&s, pkt, sizeof(pkt), &in);
	corpus_run(fd, pkt, len, SKB, &r);
	cr_expect_eq(r.out[in.l3_off + 1], 46 << 2 | 1);

	k2_pkt_spec_init(&s, K2_PKT_IPV6_TCP);
	s.dport = 443;
	s.tos = 0x02;
	s.flow_label = 0xabcde;
	len = corpus_pkt(&s, pkt, sizeof(pkt), &in);
	corpus_run(fd, pkt, len, SKB, &r);
	cr_expect_eq(((r.out[14] & 0xf) << 4) | (r.out[15] >> 4), 46 << 2 | 2,
		     "IPv6 traffic class");
	cr_expect_eq(r.out[14] >> 4, 6, "version kept");
	cr_expect_eq(((r.out[15] & 0xf) << 16) | (r.out[16] << 8) | r.out[17], 0xabcde,
		     "flow label kept");
	cr_expect_eq(r.skb.mark, 0x10);

	k2_pkt_spec_init(&s, K2_PKT_IPV4_UDP);
	s.dport = 53;
	s.tos = 0x20;
	len = corpus_pkt(&s, pkt, sizeof(pkt), &in);
	corpus_run(fd, pkt, len, SKB, &r);
	cr_expect_arr_eq(r.out, pkt, len, "DSCP kept for this class");
	cr_expect_eq(r.skb.mark, 0x20);
	cr_expect_eq(r.skb.priority, 2);

	k2_pkt_spec_init(&s, K2_PKT_IPV4_TCP);
	s.dport = 8080;
	len = corpus_pkt(&s, pkt, sizeof(pkt), &in);
	corpus_run(fd, pkt, len, SKB, &r);
	cr_expect_eq(r.retval, TC_ACT_OK);
	cr_expect_arr_eq(r.out, pkt, len, "unclassified: untouched");
	cr_expect_eq(r.skb.mark, 0);
	bpf_object__close(obj);
}
