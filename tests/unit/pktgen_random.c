/* tests/unit/pktgen_random.c: k2_pktgen: validity, coverage of shapes and odd values, seeds. */
#include <criterion/criterion.h>
#include <string.h>

#include "bpf/k2bpf.h"
#include "tests/unit/pkt_verify.h"

#define N 20000
#define CAP 3520

struct tally {
	uint32_t shape[K2_PKT__COUNT];
	uint32_t base[K2_PKT__COUNT];
	uint32_t flag[16];
	uint32_t arp_max_len;
	uint32_t qinq, sport0, dport65535, ttl0, ttl1, ttl255, ip_options, dns, http;
};

static void count_flags(struct tally *t, uint32_t flags)
{
	for (int b = 0; b < 16; b++)
		if (flags & (1u << b))
			t->flag[b]++;
}

/* Field values read straight from the bytes, for the boundary-value coverage. */
static void count_values(struct tally *t, const uint8_t *p, const struct k2_pkt_info *in)
{
	if (in->shape == K2_PKT_ARP && in->len - in->l3_off > t->arp_max_len)
		t->arp_max_len = in->len - in->l3_off;
	if (in->shape >= K2_PKT_ARP)
		return;
	if (!(in->flags & K2_PKTF_L3) && pv_be16(p + 12) == 0x88a8 && pv_be16(p + 16) == 0x8100)
		t->qinq++;
	if (in->ethertype == 0x0800 || (p[in->l3_off] >> 4) == 4) {
		uint8_t ttl = p[in->l3_off + 8];

		t->ttl0 += ttl == 0;
		t->ttl1 += ttl == 1;
		t->ttl255 += ttl == 255;
	}
	if (in->l4_off != K2_PKT_NOFF && (in->l4_proto == 6 || in->l4_proto == 17)) {
		t->sport0 += pv_be16(p + in->l4_off) == 0;
		t->dport65535 += pv_be16(p + in->l4_off + 2) == 65535;
	}
	if (in->payload_off != K2_PKT_NOFF && in->l4_proto == 17 &&
	    in->len - in->payload_off >= 12 && pv_be16(p + in->payload_off + 2) == 0x0100)
		t->dns++;
	if (in->payload_off != K2_PKT_NOFF && in->l4_proto == 6 && in->len - in->payload_off >= 4 &&
	    !memcmp(p + in->payload_off, "GET ", 4))
		t->http++;
}

/* Generates n packets, checks each with the independent parser and tallies them. */
static void run(uint64_t seed, const struct k2_pktgen_opts *o, uint32_t lo, uint32_t hi, int n,
		struct tally *t)
{
	static uint8_t buf[CAP + 64];
	struct k2_rng r;
	struct pv v;

	memset(t, 0, sizeof(*t));
	k2_rng_seed(&r, seed);
	for (int i = 0; i < n; i++) {
		struct k2_pkt_info in;
		int len;

		memset(buf + CAP, 0x5a, 64);
		len = k2_pktgen(&r, o, buf, CAP, &in);
		cr_assert_gt(len, 0, "packet %d: %d", i, len);
		for (int j = 0; j < 64; j++)
			cr_assert_eq(buf[CAP + j], 0x5a, "packet %d wrote beyond the buffer", i);
		if (!pkt_verify(&v, buf, (uint32_t)len, &in, lo, hi))
			cr_assert_fail("seed %llu packet %d (%s from %s, flags 0x%x, len %d): %s",
				       (unsigned long long)seed, i, k2_pkt_shape_name(in.shape),
				       k2_pkt_shape_name(in.base), in.flags, len, v.why);
		t->shape[in.shape]++;
		t->base[in.base]++;
		count_flags(t, in.flags);
		count_values(t, buf, &in);
	}
}

Test(pktgen_random, default_mix_is_valid_and_covers_every_shape)
{
	struct tally t;

	run(1, NULL, 14, 1514, N, &t);
	for (int s = 0; s < K2_PKT__COUNT; s++)
		cr_expect_gt(t.shape[s], N / 200, "%s: %u of %d", k2_pkt_shape_name(s), t.shape[s],
			     N);
	/* TCP over IPv4 leads the default mix, as on real links. */
	for (int s = 1; s < K2_PKT__COUNT; s++)
		cr_expect_gt(t.shape[K2_PKT_IPV4_TCP], t.shape[s]);
	for (int s = 0; s < K2_PKT_TRUNCATED; s++)
		cr_expect_gt(t.base[s], t.shape[s], "%s is also cut short sometimes",
			     k2_pkt_shape_name(s));
}

Test(pktgen_random, default_mix_covers_flags_and_boundary_values)
{
	static const struct {
		uint32_t flag;
		const char *name;
	} flags[] = {
		{ K2_PKTF_VLAN, "vlan" },	  { K2_PKTF_IP_OPTIONS, "ip options" },
		{ K2_PKTF_IPV6_EXT, "ipv6 ext" }, { K2_PKTF_TCP_OPTIONS, "tcp options" },
		{ K2_PKTF_FRAGMENT, "fragment" }, { K2_PKTF_BAD_LEN, "bad len" },
		{ K2_PKTF_PADDED, "padded" },	  { K2_PKTF_TRUNCATED, "truncated" },
		{ K2_PKTF_BOUNDARY, "boundary" },
	};
	struct tally t;

	run(2, NULL, 14, 1514, N, &t);
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		cr_expect_gt(t.flag[__builtin_ctz(flags[i].flag)], 20, "%s: %u", flags[i].name,
			     t.flag[__builtin_ctz(flags[i].flag)]);
	cr_expect_eq(t.flag[__builtin_ctz(K2_PKTF_TARGET)], 0, "no targets given");
	cr_expect_eq(t.flag[__builtin_ctz(K2_PKTF_L3)], 0);
	cr_expect_gt(t.qinq, 5);
	cr_expect_gt(t.sport0, 2);
	cr_expect_gt(t.dport65535, 2);
	cr_expect_gt(t.ttl0, 2);
	cr_expect_gt(t.ttl1, 2);
	cr_expect_gt(t.ttl255, 100);
	cr_expect_gt(t.dns, 50, "DNS queries to port 53");
	cr_expect_gt(t.http, 20, "HTTP requests to port 80");
	cr_expect_leq(t.arp_max_len, 28 + 18, "ARP: 28 bytes and at most a padding trailer");
}

Test(pktgen_random, well_formed_without_odd_values_is_all_consistent)
{
	K2_PKTGEN_OPTS(o, .shapes = K2_PKT_SHAPES_WELL_FORMED, .flags = K2_PKTGEN_NO_ODD);
	struct tally t;

	run(3, &o, 14, 1514, N / 2, &t);
	cr_expect_eq(t.shape[K2_PKT_TRUNCATED] + t.shape[K2_PKT_RANDOM], 0);
	cr_expect_eq(t.flag[__builtin_ctz(K2_PKTF_BAD_LEN)], 0);
	cr_expect_eq(t.flag[__builtin_ctz(K2_PKTF_BOUNDARY)], 0);
	cr_expect_eq(t.flag[__builtin_ctz(K2_PKTF_FRAGMENT)], 0);
	cr_expect_eq(t.ttl0 + t.ttl1 + t.sport0 + t.dport65535, 0);
}

Test(pktgen_random, no_flags_turn_features_off)
{
	K2_PKTGEN_OPTS(o, .flags = K2_PKTGEN_NO_VLAN | K2_PKTGEN_NO_IP_OPTIONS |
				   K2_PKTGEN_NO_IPV6_EXT | K2_PKTGEN_NO_TCP_OPTIONS |
				   K2_PKTGEN_NO_PADDING);
	struct tally t;

	run(4, &o, 14, 1514, N / 2, &t);
	cr_expect_eq(t.flag[__builtin_ctz(K2_PKTF_VLAN)], 0);
	cr_expect_eq(t.flag[__builtin_ctz(K2_PKTF_IP_OPTIONS)], 0);
	cr_expect_eq(t.flag[__builtin_ctz(K2_PKTF_TCP_OPTIONS)], 0);
	cr_expect_eq(t.flag[__builtin_ctz(K2_PKTF_PADDED)], 0);
	/* An IPv6 fragment header may still come from the odd values; nothing else may. */
	cr_expect_leq(t.flag[__builtin_ctz(K2_PKTF_IPV6_EXT)],
		      t.flag[__builtin_ctz(K2_PKTF_FRAGMENT)]);
}

Test(pktgen_random, l3_packets_start_at_ip)
{
	K2_PKTGEN_OPTS(o, .flags = K2_PKTGEN_L3);
	struct tally t;

	run(5, &o, 1, 1514, N / 2, &t);
	cr_expect_eq(t.shape[K2_PKT_ARP] + t.shape[K2_PKT_L2_OTHER], 0);
	cr_expect_eq(t.flag[__builtin_ctz(K2_PKTF_L3)], N / 2, "every packet says it has no L2");
	cr_expect_eq(t.flag[__builtin_ctz(K2_PKTF_VLAN)], 0);
	cr_expect_eq(t.flag[__builtin_ctz(K2_PKTF_PADDED)], 0);
	cr_expect_gt(t.shape[K2_PKT_IPV6_UDP], 0);
	cr_expect_gt(t.shape[K2_PKT_TRUNCATED], 0);
}

Test(pktgen_random, lengths_stay_in_range)
{
	K2_PKTGEN_OPTS(mid, .min_len = 100, .max_len = 200);
	K2_PKTGEN_OPTS(small, .max_len = 60);
	K2_PKTGEN_OPTS(exact, .min_len = 128, .max_len = 128,
		       .shapes = K2_PKT_SHAPE(K2_PKT_IPV6_TCP) | K2_PKT_SHAPE(K2_PKT_RANDOM));
	struct tally t;

	run(6, &mid, 100, 200, N / 4, &t);
	cr_expect_gt(t.shape[K2_PKT_ARP], 0, "ARP with a trailer to reach min_len");
	run(7, &small, 14, 60, N / 4, &t);
	cr_expect_eq(t.shape[K2_PKT_IPV6_TCP], 0, "74 bytes of headers do not fit in 60");
	cr_expect_gt(t.shape[K2_PKT_IPV4_TCP], 0);
	run(8, &exact, 128, 128, N / 10, &t);
	cr_expect_gt(t.shape[K2_PKT_IPV6_TCP], 0);
}

Test(pktgen_random, same_seed_same_bytes)
{
	static uint8_t a[CAP], b[CAP];
	struct k2_rng ra, rb;

	k2_rng_seed(&ra, 42);
	k2_rng_seed(&rb, 42);
	for (int i = 0; i < 2000; i++) {
		struct k2_pkt_info ia, ib;
		int la = k2_pktgen(&ra, NULL, a, CAP, &ia);
		int lb = k2_pktgen(&rb, NULL, b, CAP, &ib);

		cr_assert_eq(la, lb, "packet %d", i);
		cr_assert_arr_eq(a, b, (size_t)la, "packet %d", i);
		cr_assert_eq(ia.shape, ib.shape);
		cr_assert_eq(ia.flags, ib.flags);
	}
}

Test(pktgen_random, different_seeds_differ)
{
	static uint8_t a[CAP], b[CAP];
	struct k2_rng ra, rb;
	int same = 0;

	k2_rng_seed(&ra, 1);
	k2_rng_seed(&rb, 2);
	for (int i = 0; i < 200; i++) {
		int la = k2_pktgen(&ra, NULL, a, CAP, NULL);
		int lb = k2_pktgen(&rb, NULL, b, CAP, NULL);

		same += la == lb && !memcmp(a, b, (size_t)la);
	}
	cr_expect_eq(same, 0);
}

/* Options drawn at random must give valid packets or a clean error, never a crash. */
Test(pktgen_random, random_options_never_misbehave)
{
	static uint8_t buf[CAP + 64];
	struct k2_rng r, opt_r;
	struct pv v;
	int made = 0, refused = 0;

	k2_rng_seed(&r, 9);
	k2_rng_seed(&opt_r, 10);
	for (int i = 0; i < 3000; i++) {
		uint32_t cap = 1 + (uint32_t)k2_rng_below(&opt_r, CAP);
		K2_PKTGEN_OPTS(o, .shapes = (uint32_t)k2_rng_below(&opt_r, K2_PKT_SHAPES_ALL + 1),
			       .flags = (uint32_t)k2_rng_below(&opt_r, 128),
			       .min_len = (uint32_t)k2_rng_below(&opt_r, 200),
			       .max_len = (uint32_t)k2_rng_below(&opt_r, 2000),
			       .odd_pct = (uint32_t)k2_rng_below(&opt_r, 101));
		struct k2_pkt_info in;
		struct k2_err e;
		int chk = k2_pktgen_opts_check(&o, cap, &e), len;
		uint32_t lo, hi;

		memset(buf + cap, 0x5a, 64);
		len = k2_pktgen(&r, &o, buf, cap, &in);
		for (int j = 0; j < 64; j++)
			cr_assert_eq(buf[cap + j], 0x5a, "case %d wrote beyond cap %u", i, cap);
		if (chk < 0) {
			cr_expect_eq(len, chk, "case %d: check says %s", i, e.msg);
			refused++;
			continue;
		}
		if (len < 0) /* possible only when every allowed shape is too long after retries */
			continue;
		made++;
		lo = o.min_len ? o.min_len : (o.flags & K2_PKTGEN_L3) ? 1 : 14;
		hi = o.max_len ? o.max_len : 1514;
		hi = hi < cap ? hi : cap;
		if (!pkt_verify(&v, buf, (uint32_t)len, &in, lo, hi))
			cr_assert_fail("case %d (%s): %s", i, k2_pkt_shape_name(in.shape), v.why);
		cr_expect(o.shapes == 0 || (o.shapes & K2_PKT_SHAPE(in.shape)), "case %d", i);
	}
	cr_expect_gt(made, 1500, "%d packets, %d refused options", made, refused);
	cr_expect_gt(refused, 100, "bad ranges are refused: %d", refused);
}
