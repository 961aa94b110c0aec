/* tests/kernel/bench_cmd.c: `k2 bench` and `k2 bench-opcodes` end to end; latency.ini's format. */
#include <ini.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/kernel/bench_util.h"

static const char *build_dir(void)
{
	const char *b = getenv("K2_BUILD");

	return b && *b ? b : "build";
}

/* Runs a shell command line, its stdout and stderr into *out (malloc'd); the exit code. */
static int run(char **out, const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	FILE *p;
	size_t n = 0, cap = 1 << 16;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	strncat(cmd, " 2>&1", sizeof(cmd) - strlen(cmd) - 1);
	*out = malloc(cap);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	while (n < cap - 1 && fgets(*out + n, (int)(cap - n), p))
		n += strlen(*out + n);
	(*out)[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

Test(bench_cmd, bench_writes_table_and_trace, .timeout = 60)
{
	char dir[] = "/tmp/k2_cmd_XXXXXX", png[128], *out;
	const char *b = build_dir();
	int rc;

	bench_need_kernel();
	cr_assert(mkdtemp(dir));
	rc = run(&out, "%s/k2 bench %s/corpus/xdp_firewall.o %s/corpus/xdp_firewall.o --rounds 3 "
		 "--packets 3 --xdp-live 0.3 --trace %s/t.h5", b, b, b, dir);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "ratio to original") && strstr(out, "A/A"), "%s", out);
	cr_assert(strstr(out, "trace: "), "%s", out);
	free(out);
	rc = run(&out, "/usr/bin/python3 results/plot.py %s/t.h5 -o %s/p", dir, dir);
	cr_assert_eq(rc, 0, "plot.py: %s", out);
	free(out);
	snprintf(png, sizeof(png), "%s/p-latency.png", dir);
	cr_assert_eq(access(png, F_OK), 0, "no PNG %s", png);
	run(&out, "rm -r %s", dir);
	free(out);
}

Test(bench_cmd, bad_candidate_named)
{
	char *out;
	const char *b = build_dir();
	int rc;

	bench_need_kernel();
	rc = run(&out, "%s/k2 bench %s/corpus/xdp_firewall.o %s/corpus/xdp_bounce.o --no-trace", b,
		 b, b);
	cr_assert_eq(rc, 1, "%s", out);
	cr_assert(strstr(out, "xdp_bounce.o") && strstr(out, "maps"), "%s", out);
	free(out);
	rc = run(&out, "%s/k2 bench /nonexistent.o --no-trace", b);
	cr_assert_eq(rc, 1, "%s", out);
	cr_assert(strstr(out, "/nonexistent.o"), "%s", out);
	free(out);
	rc = run(&out, "%s/k2 bench --rounds x a.o", b);
	cr_assert_eq(rc, 2, "%s", out);
	free(out);
}

/* Packets from a pcap (here `k2 pktgen`'s) are what is measured, the mix only on request. */
Test(bench_cmd, pcap_packets, .timeout = 60)
{
	char dir[] = "/tmp/k2_cmd_XXXXXX", *out;
	const char *b = build_dir();
	int rc;

	bench_need_kernel();
	cr_assert(mkdtemp(dir));
	rc = run(&out, "%s/k2 pktgen -n 5 --seed 7 -o %s/p.pcap", b, dir);
	cr_assert_eq(rc, 0, "%s", out);
	free(out);
	rc = run(&out,
		 "%s/k2 bench %s/corpus/sock_tcp_ports.o --pcap %s/p.pcap --rounds 3 --no-trace", b,
		 b, dir);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "mean over 5 packets"), "%s", out);
	free(out);
	rc = run(&out, "%s/k2 bench %s/corpus/sock_tcp_ports.o --pcap %s/p.pcap --packets 4 "
		 "--rounds 3 --no-trace", b, b, dir);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "mean over 9 packets"), "%s", out);
	free(out);
	rc = run(&out, "%s/k2 bench %s/corpus/sock_tcp_ports.o --pcap %s/corpus/xdp_bounce.o "
		 "--no-trace", b, b, b);
	cr_assert_eq(rc, 1, "%s", out);
	cr_assert(strstr(out, "not a pcap file"), "%s", out);
	free(out);
	run(&out, "rm -r %s", dir);
	free(out);
}

/* Without the privileges bpf() needs, the bench is off with one line, and says so in results. */
Test(bench_cmd, unprivileged_is_not_checked)
{
	char dir[] = "/tmp/k2_cmd_XXXXXX", *out;
	const char *b = build_dir();
	int rc;

	if (geteuid() != 0 || access("/usr/bin/setpriv", X_OK))
		cr_skip_test("needs root and setpriv to drop privileges");
	cr_assert(mkdtemp(dir));
	chmod(dir, 0777);
	rc = run(&out, "/usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups "
		 "%s/k2 bench %s/corpus/xdp_gtsm.o --trace %s/t.h5", b, b, dir);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "kernel: not checked ("), "%s", out);
	cr_assert(strstr(out, "not permitted"), "%s", out);
	free(out);
	rc = run(&out, "/usr/bin/python3 -c \"import h5py; f = h5py.File('%s/t.h5');"
		 "print(f['bench'].attrs['kernel'], f['bench/candidates']['verdict'][0])\"", dir);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "not checked -1"), "%s", out);
	free(out);
	run(&out, "rm -r %s", dir);
	free(out);
}

struct ini_seen {
	uint32_t latency_keys;
	double def;
	bool has_add, has_jeq, has_helper, bad;
};

static int on_key(void *user, const char *sec, const char *key, const char *val)
{
	struct ini_seen *s = user;
	char *end;
	double v;

	if (strcmp(sec, "latency"))
		return 1;
	v = strtod(val, &end);
	if (*end || !(v >= 0)) {
		s->bad = true;
		return 1;
	}
	s->latency_keys++;
	if (!strcmp(key, "default"))
		s->def = v;
	else if (k2_op_by_name(key) == K2_OP_INVALID)
		s->bad = true; /* every other key is an op name of bpf/insn_table.c */
	s->has_add |= !strcmp(key, "add64_x");
	s->has_jeq |= !strcmp(key, "jeq64_k");
	s->has_helper |= !strcmp(key, "call");
	return 1;
}

/* The committed table is what the search reads: [latency] op = ns, and a default. */
Test(bench_cmd, committed_latency_ini_parses)
{
	struct ini_seen s = { 0 };

	cr_assert_eq(ini_parse("configs/latency.ini", on_key, &s), 0);
	cr_assert_not(s.bad);
	cr_assert_gt(s.def, 0);
	cr_assert(s.has_add && s.has_jeq && s.has_helper);
	cr_assert_gt(s.latency_keys, 150, "%u keys", s.latency_keys);
}

Test(bench_cmd, opcodes_writes_an_ini, .timeout = 60)
{
	char dir[] = "/tmp/k2_cmd_XXXXXX", path[256], *out;
	struct ini_seen s = { 0 };
	int rc;

	bench_need_kernel();
	cr_assert(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/lat.ini", dir);
	rc = run(&out, "%s/k2 bench-opcodes --only jeq64_k --rounds 3 --long 600 -o %s",
		 build_dir(), path);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "jeq64_k.taken") && strstr(out, "jeq64_k.not_taken"), "%s", out);
	free(out);
	cr_assert_eq(ini_parse(path, on_key, &s), 0);
	cr_assert_not(s.bad);
	cr_assert(s.has_jeq && s.latency_keys == 2, "%u keys", s.latency_keys);
	unlink(path);
	rmdir(dir);
}
