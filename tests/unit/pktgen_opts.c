/* tests/unit/pktgen_opts.c: k2_pktgen options: targets, sized-struct rules, errors, shape lists. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <stddef.h>
#include <string.h>

#include "bpf/k2bpf.h"
#include "tests/unit/pkt_verify.h"

#define CAP 2048

static uint8_t buf[CAP];

Test(pktgen_opts, dst4_targets_are_used_about_target_pct)
{
	const uint32_t vips[2] = { htonl(0xc6336401), htonl(0xc6336402) }; /* 198.51.100.1-2 */
	K2_PKTGEN_OPTS(o, .shapes = K2_PKT_SHAPE(K2_PKT_IPV4_TCP) | K2_PKT_SHAPE(K2_PKT_IPV4_UDP),
		       .flags = K2_PKTGEN_NO_ODD, .dst4 = vips, .n_dst4 = 2, .target_pct = 70);
	struct k2_rng r;
	int hit = 0, flagged = 0, n = 4000;

	k2_rng_seed(&r, 11);
	for (int i = 0; i < n; i++) {
		struct k2_pkt_info in;
		uint32_t dst;

		cr_assert_gt(k2_pktgen(&r, &o, buf, CAP, &in), 0);
		memcpy(&dst, buf + in.l3_off + 16, 4);
		hit += dst == vips[0] || dst == vips[1];
		flagged += !!(in.flags & K2_PKTF_TARGET);
		if (dst == vips[0] || dst == vips[1])
			cr_assert(in.flags & K2_PKTF_TARGET, "packet %d", i);
	}
	cr_expect(hit > n * 60 / 100 && hit < n * 80 / 100, "%d of %d to a VIP", hit, n);
	cr_expect_geq(flagged, hit);
}

Test(pktgen_opts, flows_give_exact_five_tuples)
{
	struct k2_pkt_flow flows[2] = {
		{ .family = 4,
		  .proto = 6,
		  .sport = 40001,
		  .dport = 22,
		  .src4 = htonl(0x0a000005),
		  .dst4 = htonl(0x0a000009) },
		{ .family = 6,
		  .proto = 17,
		  .sport = 5353,
		  .dport = 53,
		  .src6 = { 0xfd, [15] = 5 },
		  .dst6 = { 0xfd, [15] = 9 } },
	};
	K2_PKTGEN_OPTS(o, .shapes = K2_PKT_SHAPES_WELL_FORMED, .flags = K2_PKTGEN_NO_ODD,
		       .flows = flows, .n_flows = 2, .target_pct = 100);
	struct k2_rng r;
	int v4 = 0, v6 = 0;

	k2_rng_seed(&r, 12);
	for (int i = 0; i < 500; i++) {
		struct k2_pkt_info in;
		const uint8_t *ip, *l4;

		cr_assert_gt(k2_pktgen(&r, &o, buf, CAP, &in), 0);
		ip = buf + in.l3_off;
		l4 = buf + in.l4_off;
		cr_assert_neq(in.l4_off, K2_PKT_NOFF, "packet %d (%s)", i,
			      k2_pkt_shape_name(in.shape));
		if (in.shape == K2_PKT_IPV4_TCP) {
			cr_expect_arr_eq(ip + 12, &flows[0].src4, 4);
			cr_expect_arr_eq(ip + 16, &flows[0].dst4, 4);
			cr_expect_eq(pv_be16(l4), 40001);
			cr_expect_eq(pv_be16(l4 + 2), 22);
			v4++;
		} else {
			cr_assert_eq(in.shape, K2_PKT_IPV6_UDP, "packet %d: %s", i,
				     k2_pkt_shape_name(in.shape));
			cr_expect_arr_eq(ip + 8, flows[1].src6, 16);
			cr_expect_arr_eq(ip + 24, flows[1].dst6, 16);
			cr_expect_eq(pv_be16(l4), 5353);
			cr_expect_eq(pv_be16(l4 + 2), 53);
			v6++;
		}
	}
	cr_expect(v4 > 150 && v6 > 150, "%d v4, %d v6", v4, v6);
}

Test(pktgen_opts, ports_macs_vlans_and_v6_targets)
{
	const uint8_t mac[1][6] = { { 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee } };
	const uint8_t v6[1][16] = { { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x80 } };
	const uint16_t ports[3] = { 179, 443, 8443 }, vids[1] = { 100 };
	K2_PKTGEN_OPTS(o, .shapes = K2_PKT_SHAPE(K2_PKT_IPV6_TCP), .flags = K2_PKTGEN_NO_ODD,
		       .dst_macs = mac, .n_dst_macs = 1, .dst6 = v6, .n_dst6 = 1,
		       .dst_ports = ports, .n_dst_ports = 3, .vlan_ids = vids, .n_vlan_ids = 1,
		       .target_pct = 100);
	struct k2_rng r;
	int tagged = 0;

	k2_rng_seed(&r, 13);
	for (int i = 0; i < 300; i++) {
		struct k2_pkt_info in;
		uint32_t dport;

		cr_assert_gt(k2_pktgen(&r, &o, buf, CAP, &in), 0);
		cr_expect_arr_eq(buf, mac[0], 6);
		cr_expect_arr_eq(buf + in.l3_off + 24, v6[0], 16);
		dport = pv_be16(buf + in.l4_off + 2);
		cr_expect(dport == 179 || dport == 443 || dport == 8443, "dport %u", dport);
		if (in.flags & K2_PKTF_VLAN) {
			cr_expect_eq(pv_be16(buf + in.l3_off - 4) & 0xfff, 100);
			tagged++;
		}
	}
	cr_expect_gt(tagged, 10);
}

Test(pktgen_opts, sized_struct_rules)
{
	struct {
		struct k2_pktgen_opts o;
		uint64_t newer_field;
	} big = { .o = { .sz = sizeof(big) } };
	struct k2_pktgen_opts old = { .sz = offsetof(struct k2_pktgen_opts, min_len),
				      .shapes = K2_PKT_SHAPE(K2_PKT_ARP),
				      .max_len = 20 };
	struct k2_rng r;
	struct k2_pkt_info in;
	struct k2_err e;

	k2_rng_seed(&r, 14);
	cr_expect_gt(k2_pktgen(&r, NULL, buf, CAP, NULL), 0, "NULL options: defaults");
	cr_expect_gt(k2_pktgen(&r, &big.o, buf, CAP, NULL), 0, "a newer caller, zero tail");
	big.newer_field = 1;
	cr_expect_eq(k2_pktgen(&r, &big.o, buf, CAP, NULL), -EINVAL);
	cr_expect_eq(k2_pktgen_opts_check(&big.o, CAP, &e), -EINVAL);
	cr_expect_not_null(strstr(e.msg, "unknown nonzero field"), "%s", e.msg);
	/* An older caller: max_len lies beyond its sz, so the default range holds. */
	cr_expect_gt(k2_pktgen(&r, &old, buf, CAP, &in), 0);
	cr_expect_eq(in.shape, K2_PKT_ARP);
	old.sz = 0;
	cr_expect_eq(k2_pktgen(&r, &old, buf, CAP, NULL), -EINVAL);
}

Test(pktgen_opts, bad_options_are_explained)
{
	static const struct {
		struct k2_pktgen_opts o;
		size_t cap;
		int err;
		const char *msg;
	} cases[] = {
		{ { .sz = sizeof(struct k2_pktgen_opts), .min_len = 300, .max_len = 200 },
		  CAP,
		  -EINVAL,
		  "length range" },
		{ { .sz = sizeof(struct k2_pktgen_opts), .min_len = 100 },
		  50,
		  -EINVAL,
		  "buffer 50" },
		{ { .sz = sizeof(struct k2_pktgen_opts), .odd_pct = 101 },
		  CAP,
		  -EINVAL,
		  "over 100" },
		{ { .sz = sizeof(struct k2_pktgen_opts),
		    .flags = K2_PKTGEN_L3,
		    .shapes = K2_PKT_SHAPE(K2_PKT_ARP) },
		  CAP,
		  -EINVAL,
		  "need Ethernet" },
		{ { .sz = sizeof(struct k2_pktgen_opts), .n_dst4 = 3 },
		  CAP,
		  -EINVAL,
		  "dst4 is NULL" },
		{ { .sz = sizeof(struct k2_pktgen_opts), .shapes = 1u << 20 },
		  CAP,
		  -EINVAL,
		  "unknown bits" },
		{ { .sz = sizeof(struct k2_pktgen_opts),
		    .shapes = K2_PKT_SHAPE(K2_PKT_IPV6_TCP),
		    .max_len = 60 },
		  CAP,
		  -ENOSPC,
		  "no allowed shape fits" },
	};
	struct k2_rng r;

	k2_rng_seed(&r, 15);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct k2_err e = { 0 };

		cr_expect_eq(k2_pktgen_opts_check(&cases[i].o, cases[i].cap, &e), cases[i].err,
			     "case %zu", i);
		cr_expect_not_null(strstr(e.msg, cases[i].msg), "case %zu: '%s'", i, e.msg);
		cr_expect_eq(k2_pktgen(&r, &cases[i].o, buf, cases[i].cap, NULL), cases[i].err);
	}
}

Test(pktgen_opts, flows_with_a_bad_family_are_refused)
{
	struct k2_pkt_flow f = { .family = 5 };
	K2_PKTGEN_OPTS(o, .flows = &f, .n_flows = 1);
	struct k2_err e;

	cr_expect_eq(k2_pktgen_opts_check(&o, CAP, &e), -EINVAL);
	cr_expect_not_null(strstr(e.msg, "flows[0]"), "%s", e.msg);
}

Test(pktgen_opts, shape_lists_parse)
{
	uint32_t m = 0;
	struct k2_err e;

	cr_expect_eq(k2_pkt_shapes_parse("ipv4_tcp, ipv6_udp", &m, &e), 0);
	cr_expect_eq(m, K2_PKT_SHAPE(K2_PKT_IPV4_TCP) | K2_PKT_SHAPE(K2_PKT_IPV6_UDP));
	cr_expect_eq(k2_pkt_shapes_parse("all", &m, &e), 0);
	cr_expect_eq(m, K2_PKT_SHAPES_ALL);
	cr_expect_eq(k2_pkt_shapes_parse("well_formed,random", &m, &e), 0);
	cr_expect_eq(m, K2_PKT_SHAPES_WELL_FORMED | K2_PKT_SHAPE(K2_PKT_RANDOM));
	for (int s = 0; s < K2_PKT__COUNT; s++) {
		cr_expect_eq(k2_pkt_shapes_parse(k2_pkt_shape_name(s), &m, &e), 0);
		cr_expect_eq(m, K2_PKT_SHAPE(s));
	}
	m = 7;
	cr_expect_eq(k2_pkt_shapes_parse("ipv4_tcp,ipv5_tcp", &m, &e), -EINVAL);
	cr_expect_not_null(strstr(e.msg, "'ipv5_tcp'"), "%s", e.msg);
	cr_expect_eq(m, 7, "unchanged on error");
	cr_expect_eq(k2_pkt_shapes_parse(" , ", &m, &e), -EINVAL);
	cr_expect_eq(k2_pkt_shapes_parse("ipv4_tc", &m, &e), -EINVAL, "no prefix matches");
}

Test(pktgen_opts, spec_random_then_build)
{
	K2_PKTGEN_OPTS(o, .shapes = K2_PKT_SHAPE(K2_PKT_IPV4_UDP) | K2_PKT_SHAPE(K2_PKT_RANDOM),
		       .min_len = 80, .max_len = 300, .flags = K2_PKTGEN_NO_ODD);
	K2_PKTGEN_OPTS(only_odd, .shapes = K2_PKT_SHAPE(K2_PKT_RANDOM));
	struct k2_pkt_spec s;
	struct k2_pkt_info in;
	struct k2_rng r;
	struct pv v;

	k2_rng_seed(&r, 16);
	for (int i = 0; i < 200; i++) {
		int len;

		cr_assert_eq(k2_pkt_spec_random(&r, &o, &s), 0);
		cr_assert_eq(s.shape, K2_PKT_IPV4_UDP);
		s.ttl = 1; /* the point of the API: adjust, then build */
		len = k2_pkt_build(&s, buf, CAP, &in);
		cr_assert(len >= 80 && len <= 300, "len %d", len);
		cr_assert(pkt_verify(&v, buf, (uint32_t)len, &in, 80, 300), "%s", v.why);
		cr_expect_eq(buf[in.l3_off + 8], 1);
	}
	cr_expect_eq(k2_pkt_spec_random(&r, &only_odd, &s), -EINVAL);
}
