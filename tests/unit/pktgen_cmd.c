/* tests/unit/pktgen_cmd.c: `k2 pktgen`: pcap output, determinism by seed, argument errors. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpf/k2bpf.h"

static char dir[] = "/tmp/k2-pktgen-XXXXXX";

static void make_dir(void)
{
	cr_assert_not_null(mkdtemp(dir));
}

static int run(const char *out, const char *a, const char *b, const char *c, const char *d)
{
	char *argv[8] = { "pktgen", "-o", (char *)out };
	int argc = 3;

	if (a)
		argv[argc++] = (char *)a;
	if (b)
		argv[argc++] = (char *)b;
	if (c)
		argv[argc++] = (char *)c;
	if (d)
		argv[argc++] = (char *)d;
	return k2_cmd_pktgen(argc, argv);
}

static long slurp(const char *path, uint8_t **data)
{
	FILE *f = fopen(path, "rb");
	long n;

	cr_assert_not_null(f, "%s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	*data = malloc((size_t)n + 1);
	cr_assert_eq(fread(*data, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return n;
}

/* Walks the records of a classic pcap file; returns their number. */
static int pcap_records(const uint8_t *p, long n, uint32_t linktype, uint32_t lo, uint32_t hi)
{
	uint32_t h[6], r[4];
	long at = 24;
	int count = 0;

	cr_assert_geq(n, 24);
	memcpy(h, p, 24);
	cr_expect_eq(h[0], 0xa1b2c3d4);
	cr_expect_eq(h[5], linktype);
	while (at < n) {
		cr_assert_leq(at + 16, n, "record header cut");
		memcpy(r, p + at, 16);
		cr_expect_eq(r[2], r[3], "captured = on the wire");
		cr_expect(r[2] >= lo && r[2] <= hi, "record %d: %u bytes", count, r[2]);
		at += 16 + (long)r[2];
		count++;
	}
	cr_expect_eq(at, n, "trailing bytes");
	return count;
}

Test(pktgen_cmd, writes_a_pcap_deterministically, .init = make_dir)
{
	char a[256], b[256], c[256];
	uint8_t *da, *db, *dc;
	long na, nb, nc;

	snprintf(a, sizeof(a), "%s/a.pcap", dir);
	snprintf(b, sizeof(b), "%s/b.pcap", dir);
	snprintf(c, sizeof(c), "%s/c.pcap", dir);
	cr_assert_eq(run(a, "-n", "300", "--seed", "5"), 0);
	cr_assert_eq(run(b, "-n", "300", "--seed", "5"), 0);
	cr_assert_eq(run(c, "-n", "300", "--seed", "6"), 0);
	na = slurp(a, &da);
	nb = slurp(b, &db);
	nc = slurp(c, &dc);
	cr_expect_eq(pcap_records(da, na, 1, 14, 1514), 300);
	cr_expect(na == nb && !memcmp(da, db, (size_t)na), "same seed, same file");
	cr_expect(na != nc || memcmp(da, dc, (size_t)na), "another seed, another file");
	cr_expect_neq(access(a, F_OK), -1);
	free(da);
	free(db);
	free(dc);
	unlink(a);
	unlink(b);
	unlink(c);
	rmdir(dir);
}

Test(pktgen_cmd, l3_and_length_options, .init = make_dir)
{
	char a[256];
	uint8_t *d;
	long n;

	snprintf(a, sizeof(a), "%s/l3.pcap", dir);
	cr_assert_eq(run(a, "--l3", "--min-len=40", "--max-len=90", "--shapes=ipv4_udp,ipv6_tcp"),
		     0);
	n = slurp(a, &d);
	cr_expect_eq(pcap_records(d, n, 101, 40, 90), 100, "raw IP link type, 100 by default");
	cr_expect(d[24 + 16] >> 4 == 4 || d[24 + 16] >> 4 == 6, "starts at an IP version nibble");
	free(d);
	unlink(a);
	rmdir(dir);
}

Test(pktgen_cmd, bad_arguments_write_nothing, .init = make_dir)
{
	char a[256], t[300];

	snprintf(a, sizeof(a), "%s/bad.pcap", dir);
	snprintf(t, sizeof(t), "%s.tmp", a);
	cr_expect_eq(run(a, "--shapes", "ipv5_tcp", NULL, NULL), 2);
	cr_expect_eq(run(a, "--min-len", "100", "--max-len", "50"), 2);
	cr_expect_eq(run(a, "--dst4", "10.0.0.300", NULL, NULL), 2);
	cr_expect_eq(run(a, "--odd-pct", "101", NULL, NULL), 2);
	cr_expect_eq(run(a, "--l3", "--shapes", "arp", NULL), 2);
	cr_expect_eq(run(a, "stray", NULL, NULL, NULL), 2);
	cr_expect_eq(access(a, F_OK), -1);
	cr_expect_eq(access(t, F_OK), -1);
	snprintf(a, sizeof(a), "%s/no/such/dir.pcap", dir);
	cr_expect_eq(run(a, NULL, NULL, NULL, NULL), 1);
	rmdir(dir);
}
