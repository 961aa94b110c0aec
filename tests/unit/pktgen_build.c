/* tests/unit/pktgen_build.c: k2_pkt_build: exact bytes, lengths and checksums of given specs. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <string.h>

#include "bpf/k2bpf.h"
#include "tests/unit/pkt_verify.h"

static uint8_t buf[4096];

static int build_ok(const struct k2_pkt_spec *s, struct k2_pkt_info *in)
{
	struct pv v;
	int len = k2_pkt_build(s, buf, sizeof(buf), in);

	cr_assert_gt(len, 0, "build: %d", len);
	cr_expect(pkt_verify(&v, buf, (uint32_t)len, in, 1, sizeof(buf)), "%s: %s",
		  k2_pkt_shape_name(s->shape), v.why);
	return len;
}

Test(pktgen_build, rfc1071_example)
{
	/* RFC 1071 section 3: these words sum to 0xddf2. */
	const uint8_t b[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };

	cr_expect_eq(k2_csum_add(b, sizeof(b), 0), 0xddf2);
	cr_expect_eq(k2_csum_add(b, 3, 0), 0xf201); /* odd length: last byte padded with 0 */
}

Test(pktgen_build, ipv4_udp_known_bytes)
{
	/* Checksums worked out independently (Python, struct) for this exact packet. */
	/* clang-format off */
	const uint8_t want[46] = {
		0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00,	/* Ethernet */
		0x45, 0x00, 0x00, 0x20, 0x00, 0x01, 0x40, 0x00, 0x40, 0x11, 0x26, 0xca,
		10, 0, 0, 1, 10, 0, 0, 2,					/* IPv4 */
		0x9c, 0x40, 0x00, 0x50, 0x00, 0x0c, 0x4f, 0x43,			/* UDP */
		0, 0, 0, 0,							/* payload */
	};
	/* clang-format on */
	struct k2_pkt_spec s;
	struct k2_pkt_info in;

	k2_pkt_spec_init(&s, K2_PKT_IPV4_UDP);
	s.payload_len = 4;
	s.payload = K2_PAYLOAD_ZERO;
	cr_assert_eq(build_ok(&s, &in), 46);
	cr_expect_arr_eq(buf, want, sizeof(want));
	cr_expect_eq(in.l3_off, 14);
	cr_expect_eq(in.l4_off, 34);
	cr_expect_eq(in.payload_off, 42);
	cr_expect_eq(in.ip_len, 32);
	cr_expect_eq(in.ethertype, 0x0800);
	cr_expect_eq(in.l4_proto, IPPROTO_UDP);
	cr_expect_eq(in.flags, 0);
}

Test(pktgen_build, tcp_options_flags_and_doff)
{
	const uint8_t opts[8] = { 2, 4, 0x05, 0xb4, 1, 3, 3, 7 };
	struct k2_pkt_spec s;
	struct k2_pkt_info in;

	k2_pkt_spec_init(&s, K2_PKT_IPV4_TCP);
	s.tcp_flags = 0x102; /* SYN with NS */
	memcpy(s.tcp_opts, opts, 8);
	s.tcp_opt_len = 8;
	s.payload_len = 3;
	cr_assert_eq(build_ok(&s, &in), 14 + 20 + 28 + 3);
	cr_expect_eq(buf[34 + 12], 7 << 4 | 1, "doff 7 and NS");
	cr_expect_eq(buf[34 + 13], 0x02);
	cr_expect_arr_eq(buf + 54, opts, 8);
	cr_expect(in.flags & K2_PKTF_TCP_OPTIONS);
	cr_expect_eq(in.payload_off, 62);
}

Test(pktgen_build, padding_to_sixty_bytes)
{
	struct k2_pkt_spec s;
	struct k2_pkt_info in;

	k2_pkt_spec_init(&s, K2_PKT_IPV4_UDP);
	s.flags |= K2_PKTF_PADDED;
	cr_assert_eq(build_ok(&s, &in), 60);
	cr_expect_eq(in.pad_off, 42);
	cr_expect_eq(in.ip_len, 28, "the IP length excludes the padding");
	cr_expect(in.flags & K2_PKTF_PADDED);
	/* Already long enough: no padding, no flag. */
	s.payload_len = 40;
	cr_assert_eq(build_ok(&s, &in), 82);
	cr_expect_not(in.flags & K2_PKTF_PADDED);
	/* Not for packets without Ethernet. */
	s.payload_len = 0;
	s.flags |= K2_PKTF_L3;
	cr_assert_eq(build_ok(&s, &in), 28);
	cr_expect_eq(buf[0], 0x45);
}

Test(pktgen_build, no_write_beyond_cap)
{
	struct k2_pkt_spec s;
	uint8_t small[64];

	k2_pkt_spec_init(&s, K2_PKT_IPV6_TCP);
	s.payload_len = 100;
	memset(small, 0xa5, sizeof(small));
	cr_expect_eq(k2_pkt_build(&s, small, 40, NULL), -ENOSPC);
	for (size_t i = 40; i < sizeof(small); i++)
		cr_expect_eq(small[i], 0xa5, "byte %zu written", i);
	s.payload_len = 0;
	cr_expect_eq(k2_pkt_build(&s, buf, 74, NULL), 74, "exactly fits");
	cr_expect_eq(k2_pkt_build(&s, buf, 73, NULL), -ENOSPC);
}

Test(pktgen_build, invalid_specs)
{
	struct k2_pkt_spec s;

	k2_pkt_spec_init(&s, K2_PKT_IPV4_TCP);
	s.ip_opt_len = 6;
	cr_expect_eq(k2_pkt_build(&s, buf, sizeof(buf), NULL), -EINVAL, "options not 4-aligned");
	k2_pkt_spec_init(&s, K2_PKT_IPV4_TCP);
	s.tcp_opt_len = 44;
	cr_expect_eq(k2_pkt_build(&s, buf, sizeof(buf), NULL), -EINVAL);
	k2_pkt_spec_init(&s, K2_PKT_TRUNCATED);
	cr_expect_eq(k2_pkt_build(&s, buf, sizeof(buf), NULL), -EINVAL);
	k2_pkt_spec_init(&s, K2_PKT_ARP);
	s.flags |= K2_PKTF_L3;
	cr_expect_eq(k2_pkt_build(&s, buf, sizeof(buf), NULL), -EINVAL, "ARP needs Ethernet");
	k2_pkt_spec_init(&s, K2_PKT_IPV6_UDP);
	s.n_ext = 1;
	s.ext[0] = IPPROTO_TCP;
	cr_expect_eq(k2_pkt_build(&s, buf, sizeof(buf), NULL), -EINVAL, "not an extension");
	k2_pkt_spec_init(&s, K2_PKT_IPV4_UDP);
	s.n_vlans = 3;
	cr_expect_eq(k2_pkt_build(&s, buf, sizeof(buf), NULL), -EINVAL);
}

Test(pktgen_build, length_lies_are_applied_and_reported)
{
	struct k2_pkt_spec s;
	struct k2_pkt_info in;
	int len;

	k2_pkt_spec_init(&s, K2_PKT_IPV4_UDP);
	s.payload_len = 10;
	s.ip_len_delta = 4;
	s.udp_len_delta = -1;
	len = build_ok(&s, &in);
	cr_expect_eq(pv_be16(buf + 16), len - 14 + 4);
	cr_expect_eq(pv_be16(buf + 38), 18 - 1);
	cr_expect(in.flags & K2_PKTF_BAD_LEN);

	k2_pkt_spec_init(&s, K2_PKT_IPV4_TCP);
	s.ihl = 3;
	build_ok(&s, &in);
	cr_expect_eq(buf[14], 0x43);
	cr_expect(in.flags & K2_PKTF_BAD_LEN);
	cr_expect_eq(in.l4_off, 34, "the TCP header still follows 20 bytes of IPv4");

	k2_pkt_spec_init(&s, K2_PKT_IPV6_TCP);
	s.doff = 15;
	build_ok(&s, &in);
	cr_expect_eq(buf[54 + 12] >> 4, 15);
	cr_expect(in.flags & K2_PKTF_BAD_LEN);
}

Test(pktgen_build, qinq_tags)
{
	struct k2_pkt_spec s;
	struct k2_pkt_info in;

	k2_pkt_spec_init(&s, K2_PKT_IPV6_UDP);
	s.n_vlans = 2;
	s.vlan_tci[0] = 0x2064;
	s.vlan_tci[1] = 0x00c8;
	build_ok(&s, &in);
	cr_expect_eq(pv_be16(buf + 12), 0x88a8);
	cr_expect_eq(pv_be16(buf + 14), 0x2064);
	cr_expect_eq(pv_be16(buf + 16), 0x8100);
	cr_expect_eq(pv_be16(buf + 18), 0x00c8);
	cr_expect_eq(pv_be16(buf + 20), 0x86dd);
	cr_expect_eq(in.l3_off, 22);
	cr_expect(in.flags & K2_PKTF_VLAN);
}

Test(pktgen_build, ipv6_extension_chain)
{
	struct k2_pkt_spec s;
	struct k2_pkt_info in;

	k2_pkt_spec_init(&s, K2_PKT_IPV6_TCP);
	s.n_ext = 4;
	s.ext[0] = IPPROTO_HOPOPTS;
	s.ext[1] = IPPROTO_DSTOPTS;
	s.ext[2] = IPPROTO_ROUTING;
	s.ext[3] = IPPROTO_FRAGMENT;
	s.more_frags = true;
	s.frag_id = 0x01020304;
	build_ok(&s, &in);
	cr_expect_eq(buf[14 + 6], IPPROTO_HOPOPTS);
	cr_expect_eq(buf[54], IPPROTO_DSTOPTS);
	cr_expect_eq(buf[62], IPPROTO_ROUTING);
	cr_expect_eq(buf[70], IPPROTO_FRAGMENT);
	cr_expect_eq(buf[71], 2, "routing header: 24 bytes");
	cr_expect_arr_eq(buf + 78, s.dst6, 16, "the segment list holds the destination");
	cr_expect_eq(buf[94], IPPROTO_TCP);
	cr_expect_eq(pv_be16(buf + 96), 1, "offset 0, M set");
	cr_expect_eq(in.l4_off, 102);
	cr_expect(in.flags & K2_PKTF_IPV6_EXT);
	cr_expect(in.flags & K2_PKTF_FRAGMENT);

	/* A later fragment has no TCP header. */
	s.frag_offset = 185;
	s.payload_len = 16;
	build_ok(&s, &in);
	cr_expect_eq(in.l4_off, K2_PKT_NOFF);
	cr_expect_eq(in.payload_off, 102);
}

Test(pktgen_build, ipv4_later_fragment_has_no_l4)
{
	struct k2_pkt_spec s;
	struct k2_pkt_info in;

	k2_pkt_spec_init(&s, K2_PKT_IPV4_TCP);
	s.dont_frag = false;
	s.frag_offset = 185;
	s.payload_len = 32;
	cr_assert_eq(build_ok(&s, &in), 14 + 20 + 32);
	cr_expect_eq(pv_be16(buf + 20), 185);
	cr_expect_eq(in.l4_off, K2_PKT_NOFF);
	cr_expect_eq(in.l4_proto, IPPROTO_TCP);
	cr_expect(in.flags & K2_PKTF_FRAGMENT);
}

Test(pktgen_build, icmp_error_quotes_the_flow)
{
	struct k2_pkt_spec s;
	struct k2_pkt_info in;
	const uint8_t peer[4] = { 192, 0, 2, 7 };
	const uint8_t *q;

	k2_pkt_spec_init(&s, K2_PKT_IPV4_ICMP);
	s.icmp_type = 3;
	s.icmp_code = 4;
	s.icmp_rest = 1400;
	s.dport = 443;
	s.quote.proto = IPPROTO_TCP;
	s.quote.port = 51000;
	memcpy(&s.quote.addr4, peer, 4);
	build_ok(&s, &in);
	q = buf + 34 + 8;
	cr_expect_eq(q[0], 0x45);
	cr_expect_eq(q[9], IPPROTO_TCP);
	cr_expect(pv_csum_ok(q, 20, 0), "quoted header checksum");
	cr_expect_arr_eq(q + 12, &s.dst4, 4, "quoted source is our destination");
	cr_expect_arr_eq(q + 16, peer, 4);
	cr_expect_eq(pv_be16(q + 20), 443);
	cr_expect_eq(pv_be16(q + 22), 51000);
	cr_expect_eq(pv_be16(buf + 34 + 6), 1400, "next-hop MTU");
}

Test(pktgen_build, icmpv6_neighbour_solicitation)
{
	struct k2_pkt_spec s;
	struct k2_pkt_info in;

	k2_pkt_spec_init(&s, K2_PKT_IPV6_ICMP);
	s.icmp_type = 135;
	s.icmp_rest = 0;
	s.ttl = 255;
	cr_assert_eq(build_ok(&s, &in), 14 + 40 + 8 + 16 + 8);
	cr_expect_arr_eq(buf + 62, s.quote.addr6, 16, "target address");
	cr_expect_eq(buf[78], 1, "source link-layer address option");
	cr_expect_arr_eq(buf + 80, s.src_mac, 6);
}

Test(pktgen_build, arp_request)
{
	struct k2_pkt_spec s;
	struct k2_pkt_info in;

	k2_pkt_spec_init(&s, K2_PKT_ARP);
	memset(s.dst_mac, 0xff, 6);
	cr_assert_eq(build_ok(&s, &in), 42);
	cr_expect_eq(pv_be16(buf + 12), 0x0806);
	cr_expect_eq(pv_be16(buf + 20), 1, "request");
	cr_expect_arr_eq(buf + 22, s.src_mac, 6);
	cr_expect_arr_eq(buf + 28, &s.src4, 4);
	cr_expect_arr_eq(buf + 38, &s.dst4, 4);
}

Test(pktgen_build, dns_and_http_payloads)
{
	struct k2_pkt_spec s;
	struct k2_pkt_info in;

	k2_pkt_spec_init(&s, K2_PKT_IPV4_UDP);
	s.dport = 53;
	s.payload = K2_PAYLOAD_DNS;
	s.payload_len = 64;
	s.payload_seed = 9;
	build_ok(&s, &in);
	cr_expect_eq(pv_be16(buf + in.payload_off + 2), 0x0100, "a recursive standard query");
	cr_expect_eq(pv_be16(buf + in.payload_off + 4), 1, "one question");
	cr_expect_lt(buf[in.payload_off + 12], 64, "a label length");

	k2_pkt_spec_init(&s, K2_PKT_IPV6_TCP);
	s.payload = K2_PAYLOAD_HTTP;
	s.payload_len = 200;
	build_ok(&s, &in);
	cr_expect(!memcmp(buf + in.payload_off, "GET ", 4) ||
		  !memcmp(buf + in.payload_off, "POST ", 5));
	cr_expect_not_null(memmem(buf + in.payload_off, 200, "HTTP/1.1\r\n", 10));
}

Test(pktgen_build, every_shape_builds_from_its_defaults)
{
	for (int sh = 0; sh < K2_PKT_TRUNCATED; sh++) {
		struct k2_pkt_spec s;
		struct k2_pkt_info in;

		k2_pkt_spec_init(&s, (enum k2_pkt_shape)sh);
		s.payload_len = 5;
		build_ok(&s, &in);
		cr_expect_eq(in.shape, (enum k2_pkt_shape)sh);
		cr_expect_str_eq(k2_pkt_shape_name(sh), k2_pkt_shape_name(in.shape));
	}
	cr_expect_null(k2_pkt_shape_name(K2_PKT__COUNT));
}
