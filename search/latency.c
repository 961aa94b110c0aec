/* search/latency.c: the per-operation latency table (configs/latency.ini) for objective=latency. */
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search/k2search.h"

struct k2_latency {
	double ns[K2_OP__COUNT];
	bool set[K2_OP__COUNT];
	double dflt;
	bool have_default;
	double unit;
	uint32_t n_set;
};

struct lat_load {
	struct k2_latency *lat;
	struct k2_err err;
	int line;
};

static int on_ini(void *user, const char *section, const char *name, const char *value)
{
	struct lat_load *l = user;
	enum k2_op op;
	char *end;
	double v;

	if (!name || strcmp(section, "latency"))
		return 1; /* [meta], [latency.taken], ...: not used by the search */
	errno = 0;
	v = strtod(value, &end);
	if (end == value || *end || errno || v != v) {
		k2_err_set(&l->err, -EINVAL, "[latency] %s: bad value '%s'", name, value);
		return 0;
	}
	if (!strcmp(name, "default")) {
		l->lat->dflt = v;
		l->lat->have_default = true;
		return 1;
	}
	op = k2_op_by_name(name);
	if (op == K2_OP_INVALID) {
		k2_err_set(&l->err, -ENOENT, "[latency] unknown operation '%s'", name);
		return 0;
	}
	if (!l->lat->set[op])
		l->lat->n_set++;
	l->lat->ns[op] = v;
	l->lat->set[op] = true;
	return 1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The median latency of the ALU operations measured: one "instruction" of cost. */
static double unit_of(const struct k2_latency *lat)
{
	double v[K2_OP__COUNT];
	uint32_t n = 0;

	for (int op = 1; op < K2_OP__COUNT; op++)
		if (lat->set[op] && k2_op_info((enum k2_op)op)->kind == K2_KIND_ALU &&
		    lat->ns[op] > 0)
			v[n++] = lat->ns[op];
	if (!n)
		return lat->dflt > 0 ? lat->dflt : 1.0;
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

int k2_latency_load(const char *path, struct k2_latency **out, struct k2_err *e)
{
	struct k2_latency *lat = calloc(1, sizeof(*lat));
	struct lat_load l = { .lat = lat };
	FILE *f;
	int line;

	*out = NULL;
	if (!lat)
		return k2_err_set(e, -ENOMEM, "out of memory");
	f = fopen(path, "r");
	if (!f) {
		int err = -errno;

		free(lat);
		return k2_err_set(e, err,
				  "%s: %s (objective=latency needs the per-opcode table that "
				  "`k2 bench-opcodes` writes)",
				  path, strerror(-err));
	}
	line = ini_parse_file(f, on_ini, &l);
	fclose(f);
	if (line) {
		free(lat);
		if (l.err.code)
			return k2_err_set(e, l.err.code, "%s:%d: %s", path, line, l.err.msg);
		return k2_err_set(e, -EINVAL, "%s:%d: syntax error", path, line);
	}
	if (!lat->n_set && !lat->have_default) {
		free(lat);
		return k2_err_set(e, -EINVAL, "%s: no [latency] entries", path);
	}
	if (!lat->have_default)
		lat->dflt = unit_of(lat);
	lat->unit = unit_of(lat);
	*out = lat;
	return 0;
}

void k2_latency_free(struct k2_latency *lat)
{
	free(lat);
}

double k2_latency_ns(const struct k2_latency *lat, enum k2_op op)
{
	if (op > K2_OP_INVALID && op < K2_OP__COUNT && lat->set[op])
		return lat->ns[op] < 0 ? 0 : lat->ns[op];
	return lat->dflt;
}

double k2_latency_unit(const struct k2_latency *lat)
{
	return lat->unit;
}
