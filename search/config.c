/* search/config.c: loading, setting and printing configuration values through the key table. */
#include "search/k2_config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <inttypes.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "search/config_keys.h"

static const struct k2_config_key *find_key(const char *section, const char *name)
{
	for (const struct k2_config_key *k = k2_config_keys; k->section; k++)
		if (!strcmp(k->section, section) && !strcmp(k->name, name))
			return k;
	return NULL;
}

static bool section_known(const char *section)
{
	for (const struct k2_config_key *k = k2_config_keys; k->section; k++)
		if (!strcmp(k->section, section))
			return true;
	return false;
}

static int parse_bool(const char *v, bool *out)
{
	if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on") || !strcmp(v, "1"))
		*out = true;
	else if (!strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcasecmp(v, "off") ||
		 !strcmp(v, "0"))
		*out = false;
	else
		return -EINVAL;
	return 0;
}

/* "r1,r10" or "r1 r6 r10" -> bit mask. */
static int parse_regs(const char *v, uint32_t *out)
{
	uint32_t m = 0;

	while (*v) {
		char *end;
		long r;

		if (*v == ',' || isspace((unsigned char)*v)) {
			v++;
			continue;
		}
		if (*v != 'r')
			return -EINVAL;
		r = strtol(v + 1, &end, 10);
		if (end == v + 1 || r < 0 || r > 10)
			return -EINVAL;
		m |= 1u << r;
		v = end;
	}
	*out = m;
	return 0;
}

static int parse_number(const struct k2_config_key *k, const char *v, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(v, &end);
	if (end == v || *end || errno)
		return -EINVAL;
	if (*out < k->min || *out > k->max)
		return -ERANGE;
	if (k->kind != K2_CK_DOUBLE && *out != (double)(int64_t)*out && k->kind != K2_CK_U64)
		return -EINVAL;
	return 0;
}

static int set_value(struct k2_config *cfg, const struct k2_config_key *k, const char *v,
		     struct k2_err *e)
{
	char *p = (char *)cfg + k->off;
	double d;
	int err = 0;

	switch (k->kind) {
	case K2_CK_BOOL:
		err = parse_bool(v, (bool *)p);
		break;
	case K2_CK_STR:
		if (strlen(v) >= k->size)
			return k2_err_set(e, -ENAMETOOLONG, "%s.%s: value longer than %zu bytes",
					  k->section, k->name, k->size - 1);
		strcpy(p, v);
		break;
	case K2_CK_OBJECTIVE:
		if (!strcmp(v, "size"))
			*(uint32_t *)p = K2_OBJ_SIZE;
		else if (!strcmp(v, "latency"))
			*(uint32_t *)p = K2_OBJ_LATENCY;
		else
			err = -EINVAL;
		break;
	case K2_CK_REGS:
		err = parse_regs(v, (uint32_t *)p);
		break;
	case K2_CK_U64: {
		char *end;

		errno = 0;
		if (v[0] == '-')
			err = -EINVAL;
		else
			*(uint64_t *)p = strtoull(v, &end, 0), err = (end == v || *end || errno) ? -EINVAL : 0;
		break;
	}
	default:
		err = parse_number(k, v, &d);
		if (err)
			break;
		if (k->kind == K2_CK_DOUBLE)
			*(double *)p = d;
		else if (k->kind == K2_CK_U32)
			*(uint32_t *)p = (uint32_t)d;
		else
			*(int32_t *)p = (int32_t)d;
	}
	if (err == -ERANGE)
		return k2_err_set(e, err, "%s.%s: %s is out of range [%g, %g]", k->section, k->name, v,
				  k->min, k->max);
	if (err)
		return k2_err_set(e, err, "%s.%s: bad value '%s'", k->section, k->name, v);
	return 0;
}

void k2_config_defaults(struct k2_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	for (const struct k2_config_key *k = k2_config_keys; k->section; k++)
		set_value(cfg, k, k->dflt, NULL);
}

int k2_config_set(struct k2_config *cfg, const char *key, const char *value, struct k2_err *e)
{
	const char *dot = strrchr(key, '.');
	char section[64];
	const struct k2_config_key *k;

	if (!dot || (size_t)(dot - key) >= sizeof(section))
		return k2_err_set(e, -EINVAL, "'%s': expected section.key", key);
	memcpy(section, key, (size_t)(dot - key));
	section[dot - key] = '\0';
	k = find_key(section, dot + 1);
	if (!k)
		return k2_err_set(e, -ENOENT, "unknown configuration key '%s'", key);
	return set_value(cfg, k, value, e);
}

int k2_config_set_arg(struct k2_config *cfg, const char *assignment, struct k2_err *e)
{
	const char *eq = strchr(assignment, '=');
	char key[128];

	if (!eq || (size_t)(eq - assignment) >= sizeof(key))
		return k2_err_set(e, -EINVAL, "'%s': expected section.key=value", assignment);
	memcpy(key, assignment, (size_t)(eq - assignment));
	key[eq - assignment] = '\0';
	return k2_config_set(cfg, key, eq + 1, e);
}

struct load_ctx {
	struct k2_config *cfg;
	struct k2_err err;
};

static int on_ini(void *user, const char *section, const char *name, const char *value)
{
	struct load_ctx *c = user;
	const struct k2_config_key *k;

	if (!name) /* a section header on its own */
		return section_known(section) ? 1 : (k2_err_set(&c->err, -ENOENT,
				"unknown section [%s]", section), 0);
	k = find_key(section, name);
	if (!k) {
		if (!section_known(section))
			k2_err_set(&c->err, -ENOENT, "unknown section [%s]", section);
		else
			k2_err_set(&c->err, -ENOENT, "unknown key '%s' in [%s]", name, section);
		return 0;
	}
	return set_value(c->cfg, k, value, &c->err) == 0;
}

int k2_config_load(struct k2_config *cfg, const char *path, struct k2_err *e)
{
	struct load_ctx c = { .cfg = cfg };
	FILE *f = fopen(path, "r");
	int line;

	if (!f)
		return k2_err_set(e, -errno, "%s: %s", path, strerror(errno));
	k2_err_clear(&c.err);
	line = ini_parse_file(f, on_ini, &c);
	fclose(f);
	if (line == 0)
		return 0;
	if (line < 0)
		return k2_err_set(e, -EIO, "%s: cannot read", path);
	if (!c.err.code)
		return k2_err_set(e, -EINVAL, "%s:%d: syntax error", path, line);
	return k2_err_set(e, c.err.code, "%s:%d: %s", path, line, c.err.msg);
}

static void print_value(FILE *f, const struct k2_config *cfg, const struct k2_config_key *k)
{
	const char *p = (const char *)cfg + k->off;

	switch (k->kind) {
	case K2_CK_DOUBLE: {
		double d = *(const double *)p;
		char buf[32];

		/* The shortest spelling that reads back as the same double. */
		snprintf(buf, sizeof(buf), "%.15g", d);
		if (strtod(buf, NULL) != d)
			snprintf(buf, sizeof(buf), "%.17g", d);
		fputs(buf, f);
		break;
	}
	case K2_CK_U32:
		fprintf(f, "%" PRIu32, *(const uint32_t *)p);
		break;
	case K2_CK_U64:
		fprintf(f, "%" PRIu64, *(const uint64_t *)p);
		break;
	case K2_CK_I32:
		fprintf(f, "%" PRId32, *(const int32_t *)p);
		break;
	case K2_CK_BOOL:
		fputs(*(const bool *)p ? "true" : "false", f);
		break;
	case K2_CK_STR:
		fputs(p, f);
		break;
	case K2_CK_OBJECTIVE:
		fputs(*(const uint32_t *)p == K2_OBJ_LATENCY ? "latency" : "size", f);
		break;
	case K2_CK_REGS: {
		uint32_t m = *(const uint32_t *)p;
		const char *sep = "";

		for (int r = 0; r <= 10; r++)
			if (m & (1u << r)) {
				fprintf(f, "%sr%d", sep, r);
				sep = ",";
			}
		break;
	}
	}
}

void k2_config_print(FILE *f, const struct k2_config *cfg)
{
	const char *section = NULL;

	for (const struct k2_config_key *k = k2_config_keys; k->section; k++) {
		if (!section || strcmp(section, k->section)) {
			fprintf(f, "%s[%s]\n", section ? "\n" : "", k->section);
			section = k->section;
		}
		fprintf(f, "; %s\n%s = ", k->help, k->name);
		print_value(f, cfg, k);
		fputc('\n', f);
	}
}

int k2_config_hook(uint32_t prog_type)
{
	switch (prog_type) {
	case BPF_PROG_TYPE_XDP:
		return K2_HOOK_XDP;
	case BPF_PROG_TYPE_SOCKET_FILTER:
		return K2_HOOK_SOCKET;
	case BPF_PROG_TYPE_SCHED_CLS:
	case BPF_PROG_TYPE_SCHED_ACT:
		return K2_HOOK_TC;
	case BPF_PROG_TYPE_TRACEPOINT:
	case BPF_PROG_TYPE_RAW_TRACEPOINT:
		return K2_HOOK_TRACEPOINT;
	case BPF_PROG_TYPE_KPROBE:
		return K2_HOOK_KPROBE;
	default:
		return -1;
	}
}
