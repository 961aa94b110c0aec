/* bpf/pktgen_cmd.c: `k2 pktgen`: generated packets to a pcap file, for tcpdump or Wireshark. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpf/k2_pktgen.h"

#define MAX_TARGETS 64
#define PCAP_SNAPLEN 65535
#define LINKTYPE_ETHERNET 1
#define LINKTYPE_RAW 101 /* packets start at the IPv4/IPv6 header */

struct cmd {
	uint64_t seed;
	long count;
	const char *out;
	int summary;
	uint32_t dst4[MAX_TARGETS];
	uint16_t ports[MAX_TARGETS];
	struct k2_pktgen_opts o;
};

static const char usage_text[] =
	"usage: k2 pktgen [OPTIONS] -o FILE.pcap\n"
	"Writes seeded, realistic packets (the search's and benchmarks' inputs) to a pcap file.\n"
	"  -o, --out FILE       pcap output (written to FILE.tmp, then renamed)\n"
	"  -n, --count N        packets (default 100)\n"
	"  -s, --seed N         generator seed (default 1)\n"
	"      --shapes LIST    e.g. ipv4_tcp,ipv6_udp; all; well_formed (default all)\n"
	"      --min-len N      shortest frame (default 14)\n"
	"      --max-len N      longest frame (default 1514)\n"
	"      --l3             packets start at the IP header (socket filters)\n"
	"      --no-odd         no boundary values, length lies or fragments\n"
	"      --odd-pct N      percent of packets with odd values (default 10)\n"
	"      --dst4 A.B.C.D   a target destination address (repeatable)\n"
	"      --dport N        a target destination port (repeatable)\n"
	"      --target-pct N   percent of draws that take a target (default 50)\n"
	"      --summary        one line per packet on stdout: shape, length, flags\n";

static int parse_u32(const char *s, const char *what, uint32_t max, uint32_t *v)
{
	char *end;
	unsigned long x;

	errno = 0;
	x = strtoul(s, &end, 0);
	if (errno || *end || end == s || x > max) {
		fprintf(stderr, "k2 pktgen: %s: '%s' is not a number up to %u\n", what, s, max);
		return -EINVAL;
	}
	*v = (uint32_t)x;
	return 0;
}

static int parse_args(int argc, char **argv, struct cmd *c)
{
	enum {
		O_SHAPES = 256,
		O_MIN,
		O_MAX,
		O_L3,
		O_NO_ODD,
		O_ODD,
		O_DST4,
		O_DPORT,
		O_TPCT,
		O_SUM
	};
	static const struct option longs[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "count", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 's' },
		{ "shapes", required_argument, NULL, O_SHAPES },
		{ "min-len", required_argument, NULL, O_MIN },
		{ "max-len", required_argument, NULL, O_MAX },
		{ "l3", no_argument, NULL, O_L3 },
		{ "no-odd", no_argument, NULL, O_NO_ODD },
		{ "odd-pct", required_argument, NULL, O_ODD },
		{ "dst4", required_argument, NULL, O_DST4 },
		{ "dport", required_argument, NULL, O_DPORT },
		{ "target-pct", required_argument, NULL, O_TPCT },
		{ "summary", no_argument, NULL, O_SUM },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct k2_err e;
	uint32_t v;
	int opt, err = 0;

	optind = 0; /* glibc: restart the scan, so the command can run more than once */
	while (!err && (opt = getopt_long(argc, argv, "o:n:s:h", longs, NULL)) != -1) {
		switch (opt) {
		case 'o':
			c->out = optarg;
			break;
		case 'n':
			err = parse_u32(optarg, "--count", 10000000, &v);
			c->count = v;
			break;
		case 's':
			c->seed = strtoull(optarg, NULL, 0);
			break;
		case O_SHAPES:
			err = k2_pkt_shapes_parse(optarg, &c->o.shapes, &e);
			if (err)
				fprintf(stderr, "k2 pktgen: --shapes: %s\n", e.msg);
			break;
		case O_MIN:
			err = parse_u32(optarg, "--min-len", PCAP_SNAPLEN, &c->o.min_len);
			break;
		case O_MAX:
			err = parse_u32(optarg, "--max-len", PCAP_SNAPLEN, &c->o.max_len);
			break;
		case O_L3:
			c->o.flags |= K2_PKTGEN_L3;
			break;
		case O_NO_ODD:
			c->o.flags |= K2_PKTGEN_NO_ODD;
			break;
		case O_ODD:
			err = parse_u32(optarg, "--odd-pct", 100, &c->o.odd_pct);
			break;
		case O_TPCT:
			err = parse_u32(optarg, "--target-pct", 100, &c->o.target_pct);
			break;
		case O_DST4:
			if (c->o.n_dst4 == MAX_TARGETS ||
			    inet_pton(AF_INET, optarg, &c->dst4[c->o.n_dst4]) != 1) {
				fprintf(stderr, "k2 pktgen: --dst4: bad or too many: '%s'\n",
					optarg);
				err = -EINVAL;
				break;
			}
			c->o.n_dst4++;
			break;
		case O_DPORT:
			if (c->o.n_dst_ports == MAX_TARGETS) {
				fprintf(stderr, "k2 pktgen: --dport: more than %d\n", MAX_TARGETS);
				err = -EINVAL;
				break;
			}
			err = parse_u32(optarg, "--dport", 65535, &v);
			c->ports[c->o.n_dst_ports++] = (uint16_t)v;
			break;
		case O_SUM:
			c->summary = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 1;
		default:
			fputs(usage_text, stderr);
			return -EINVAL;
		}
	}
	if (!err && (optind != argc || !c->out)) {
		fputs(usage_text, stderr);
		return -EINVAL;
	}
	return err;
}

static int write_u32s(FILE *f, const uint32_t *v, size_t n)
{
	return fwrite(v, sizeof(*v), n, f) == n ? 0 : -EIO;
}

static void summary_line(long i, const struct k2_pkt_info *in)
{
	static const char *const names[] = {
		"l3",	   "vlan",   "ip_options", "ipv6_ext", "tcp_options", "fragment",
		"bad_len", "padded", "truncated",  "boundary", "target",
	};

	printf("%ld %s", i, k2_pkt_shape_name(in->shape));
	if (in->shape == K2_PKT_TRUNCATED)
		printf("(%s)", k2_pkt_shape_name(in->base));
	printf(" len=%u", in->len);
	for (unsigned b = 0; b < sizeof(names) / sizeof(names[0]); b++)
		if (in->flags & (1u << b))
			printf(" %s", names[b]);
	putchar('\n');
}

/* The classic pcap format (microsecond timestamps, host byte order): one record per packet. */
static int write_pcap(struct cmd *c, FILE *f)
{
	uint32_t link = (c->o.flags & K2_PKTGEN_L3) ? LINKTYPE_RAW : LINKTYPE_ETHERNET;
	uint32_t hdr[6] = { 0xa1b2c3d4, 0x00040002, 0, 0, PCAP_SNAPLEN, link };
	static uint8_t buf[PCAP_SNAPLEN];
	struct k2_rng r;
	int err = write_u32s(f, hdr, 6);

	k2_rng_seed(&r, c->seed);
	for (long i = 0; i < c->count && !err; i++) {
		struct k2_pkt_info in;
		int len = k2_pktgen(&r, &c->o, buf, sizeof(buf), &in);
		/* Timestamps 1 ms apart, so tools show the packets in order. */
		uint32_t rec[4] = { (uint32_t)(i / 1000), (uint32_t)(i % 1000) * 1000, 0, 0 };

		if (len < 0)
			return len;
		rec[2] = rec[3] = (uint32_t)len;
		err = write_u32s(f, rec, 4);
		if (!err && fwrite(buf, 1, (size_t)len, f) != (size_t)len)
			err = -EIO;
		if (c->summary)
			summary_line(i, &in);
	}
	return err;
}

int k2_cmd_pktgen(int argc, char **argv)
{
	struct cmd c = { .seed = 1, .count = 100, .o = { .sz = sizeof(struct k2_pktgen_opts) } };
	char tmp[4096];
	struct k2_err e;
	FILE *f;
	int err;

	err = parse_args(argc, argv, &c);
	if (err)
		return err > 0 ? 0 : 2;
	c.o.dst4 = c.dst4;
	c.o.dst_ports = c.ports;
	err = k2_pktgen_opts_check(&c.o, PCAP_SNAPLEN, &e);
	if (err) {
		fprintf(stderr, "k2 pktgen: %s\n", e.msg);
		return 2;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", c.out);
	f = fopen(tmp, "wb");
	if (!f) {
		fprintf(stderr, "k2 pktgen: %s: %s\n", tmp, strerror(errno));
		return 1;
	}
	err = write_pcap(&c, f);
	if (fclose(f) && !err)
		err = -errno;
	if (!err && rename(tmp, c.out))
		err = -errno;
	if (err) {
		fprintf(stderr, "k2 pktgen: %s: %s\n", c.out, strerror(-err));
		unlink(tmp);
		return 1;
	}
	return 0;
}
