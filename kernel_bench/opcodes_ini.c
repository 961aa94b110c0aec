/* kernel_bench/opcodes_ini.c: writing the per-opcode cost table as configs/latency.ini. */
#include "kernel_bench/opcodes_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static const struct k2_opcost *row(const struct k2_opcost *c, uint32_t n, const char *name)
{
	for (uint32_t i = 0; i < n; i++)
		if (!strcmp(c[i].name, name))
			return &c[i];
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/*
 * The [latency] value of an op: its plain row; for conditional jumps the mean of taken and
 * not taken (a search that does not know the branch's bias); for `call`, a cheap helper.
 */
static bool op_cost(const struct k2_opcost *c, uint32_t n, const char *op, double *ns)
{
	char t[48], nt[48];
	const struct k2_opcost *x = row(c, n, op), *a, *b;

	if (x) {
		*ns = x->ns;
		return true;
	}
	snprintf(t, sizeof(t), "%s.taken", op);
	snprintf(nt, sizeof(nt), "%s.not_taken", op);
	a = row(c, n, t);
	b = row(c, n, nt);
	if (a && b) {
		*ns = (a->ns + b->ns) / 2;
		return true;
	}
	if (!strcmp(op, "call") && (x = row(c, n, "helper.get_prandom_u32"))) {
		*ns = x->ns;
		return true;
	}
	return false;
}

static void section(FILE *f, const char *name, const struct k2_opcost *c, uint32_t n,
		    const char *prefix, const char *suffix, int what)
{
	size_t lp = strlen(prefix), ls = strlen(suffix);

	fprintf(f, "\n[%s]\n", name);
	for (uint32_t i = 0; i < n; i++) {
		size_t l = strlen(c[i].name);

		if (strncmp(c[i].name, prefix, lp) || l < lp + ls ||
		    strcmp(c[i].name + l - ls, suffix) || !strcmp(c[i].name, "run_overhead"))
			continue;
		fprintf(f, "%.*s = ", (int)(l - lp - ls), c[i].name + lp);
		if (what == 0)
			fprintf(f, "%.3f\n", c[i].ns);
		else if (what == 1)
			fprintf(f, "%.3f\n", c[i].lo);
		else if (what == 2)
			fprintf(f, "%.3f\n", c[i].hi);
		else
			fprintf(f, "%u\n", c[i].jited_bytes);
	}
}

static void write_table(FILE *f, const struct k2_opcost *c, uint32_t n, const char *topology)
{
	double v[K2_OP__COUNT], med = NAN;
	const struct k2_opcost *ov = row(c, n, "run_overhead");
	uint32_t k = 0;
	struct utsname u;
	char date[32];
	time_t now = time(NULL);
	struct tm tm;

	if (uname(&u) < 0)
		snprintf(u.release, sizeof(u.release), "unknown");
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &tm);
	for (int op = 1; op < K2_OP__COUNT; op++)
		if (op_cost(c, n, k2_op_info((enum k2_op)op)->name, &v[k]))
			k++;
	if (k) {
		qsort(v, k, sizeof(v[0]), cmp_double);
		med = k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
	}
	fprintf(f,
		"; configs/latency.ini: marginal ns per eBPF instruction on this machine's kernel "
		"JIT, written by\n; `k2 bench-opcodes` (README.md, \"Per-opcode latency table\"). "
		"The search reads [latency]:\n; one key per operation name of bpf/insn_table.c, "
		"`default` for any other.\n");
	fprintf(f, "\n[meta]\nkernel = %s\ntopology = %s\ndate = %s\nrun_overhead_ns = %.1f\n",
		u.release, topology ? topology : "", date, ov ? ov->ns : NAN);
	fprintf(f, "method = straight-line XDP programs of each op, long minus short, over the "
		   "length difference; median over rounds\n");
	fprintf(f, "\n[latency]\ndefault = %.3f\n", med);
	for (int op = 1; op < K2_OP__COUNT; op++) {
		const char *name = k2_op_info((enum k2_op)op)->name;
		double ns;

		if (op_cost(c, n, name, &ns))
			fprintf(f, "%s = %.3f\n", name, ns);
	}
	section(f, "latency.taken", c, n, "", ".taken", 0);
	section(f, "latency.not_taken", c, n, "", ".not_taken", 0);
	section(f, "latency.helpers", c, n, "helper.", "", 0);
	section(f, "latency.min", c, n, "", "", 1);
	section(f, "latency.max", c, n, "", "", 2);
	section(f, "jited_bytes", c, n, "", "", 3);
}

int k2_opcodes_write(const char *path, const struct k2_opcost *c, uint32_t n,
		     const char *topology, struct k2_err *e)
{
	char tmp[4096];
	FILE *f;
	int err = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
		return k2_err_set(e, -ENAMETOOLONG, "%s: path too long", path);
	f = fopen(tmp, "w");
	if (!f)
		return k2_err_set(e, -errno, "%s: %s", tmp, strerror(errno));
	write_table(f, c, n, topology);
	if (fflush(f) || fsync(fileno(f)))
		err = k2_err_set(e, -errno, "%s: %s", tmp, strerror(errno));
	if (fclose(f) && !err)
		err = k2_err_set(e, -errno, "%s: %s", tmp, strerror(errno));
	if (!err && rename(tmp, path) < 0)
		err = k2_err_set(e, -errno, "%s: rename: %s", path, strerror(errno));
	if (err)
		unlink(tmp);
	return err;
}
