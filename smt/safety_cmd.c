/* smt/safety_cmd.c: `k2 safety`: proves an object's programs (or one window) safe, or shows how not. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smt/k2smt.h"

struct safety_args {
	const char *path;
	const char *sel;
	const char *window;
	const char *save;      /* directory for the inputs' packet and ctx files */
	struct k2_smt_opts o;
};

static void hex(FILE *f, const uint8_t *b, uint32_t n, uint32_t max)
{
	for (uint32_t i = 0; i < n && i < max; i++)
		fprintf(f, "%02x", b[i]);
	if (n > max)
		fprintf(f, "...(%u bytes)", n);
}

/* Nonzero bytes are the input's; trailing zeros are not worth printing. */
static uint32_t trimmed(const uint8_t *b, uint32_t n)
{
	while (n && !b[n - 1])
		n--;
	return n;
}

static int save_file(const char *dir, const char *name, const uint8_t *b, uint32_t n,
		     char *path, size_t len)
{
	char tmp[4200];
	FILE *f;

	snprintf(path, len, "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "wb");
	if (!f)
		return -1;
	if (fwrite(b, 1, n, f) != n || fclose(f)) {
		remove(tmp);
		return -1;
	}
	return rename(tmp, path);
}

/* The input, and how to replay it with `k2 run`. */
static void print_input(const struct safety_args *a, const struct k2_prog *p,
			const struct k2_input *in, uint32_t k)
{
	char pp[4096] = "", cp[4096] = "", name[K2_NAME_MAX + 32];
	uint8_t key[512], nk[512], *val;

	printf("    input: packet %u bytes ", in->pkt_len);
	hex(stdout, in->pkt, trimmed(in->pkt, in->pkt_len), 64);
	printf("\n    ctx: ");
	hex(stdout, in->ctx, trimmed(in->ctx, in->ctx_len), 64);
	printf(" cpu %u", in->cpu);
	for (uint32_t i = 0; i < in->n_ndet; i++)
		printf("%s%llu", i ? "," : " ndet ", (unsigned long long)in->ndet[i]);
	printf("\n");
	if (a->save) {
		snprintf(name, sizeof(name), "%s.%u.pkt", p->name, k);
		if (save_file(a->save, name, in->pkt, in->pkt_len, pp, sizeof(pp)))
			fprintf(stderr, "k2 safety: %s: cannot write\n", pp);
		snprintf(name, sizeof(name), "%s.%u.ctx", p->name, k);
		if (save_file(a->save, name, in->ctx, in->ctx_len, cp, sizeof(cp)))
			fprintf(stderr, "k2 safety: %s: cannot write\n", cp);
		printf("    replay: k2 run %s -s %s --packet %s --ctx %s --cpu %u", a->path, p->sec,
		       pp, cp, in->cpu);
		for (uint32_t i = 0; i < in->n_ndet; i++)
			printf("%s%llu", i ? "," : " --ndet ", (unsigned long long)in->ndet[i]);
	} else {
		printf("    replay: k2 safety ... --save DIR writes the packet and ctx files");
	}
	for (uint32_t m = 0; in->maps && m < p->n_maps; m++) {
		const struct k2_map *mp = &p->maps[m];
		bool first = true;

		val = malloc(mp->value_size ? mp->value_size : 1);
		if (!val)
			break;
		while (!k2_mapstate_next_key(in->maps, m, first ? NULL : key, nk)) {
			first = false;
			memcpy(key, nk, mp->key_size);
			if (k2_mapstate_lookup(in->maps, m, key, val))
				continue;
			printf(" --map-init %s:", mp->name);
			hex(stdout, key, mp->key_size, 512);
			printf("=");
			hex(stdout, val, mp->value_size, 1 << 16);
		}
		free(val);
	}
	printf("\n");
}

static void print_state(const struct k2_wstate *st)
{
	static const char *const tn[K2_T__COUNT] = {
		"scalar", "uninit", "ctx", "stack", "pkt", "pkt_meta", "pkt_end", "map_value", "map",
	};
	uint32_t meta, data, end;

	printf("    state:");
	for (unsigned r = 0; r < K2_NREGS; r++) {
		enum k2_rtype t;
		uint64_t v;

		k2_wstate_get_reg(st, r, &t, &v);
		if (t != K2_T_UNINIT)
			printf(" r%u=%s:%#llx", r, t < K2_T__COUNT ? tn[t] : "?",
			       (unsigned long long)v);
	}
	k2_wstate_pkt_bounds(st, &meta, &data, &end);
	printf(" packet data=%u data_end=%u\n", data, end);
}

static void print_report(const struct safety_args *a, const struct k2_prog *p,
			 const struct k2_safety_report *r)
{
	printf("%s %s: %s", a->path, p->sec, k2_safety_name(r->verdict));
	if (r->verdict != K2_UNSAFE)
		printf(" (%s)", r->reason);
	printf("\n");
	for (uint32_t i = 0; i < r->n; i++) {
		const struct k2_safety_viol *v = &r->v[i];

		printf("  %s [%s; %s]\n", v->msg, k2_rule_name(v->rule),
		       v->has_input ? "a run fails, input below" : "static: the verifier refuses it");
		if (v->in)
			print_input(a, p, v->in, i);
		if (v->st)
			print_state(v->st);
	}
	if (r->verdict == K2_UNSAFE && r->reason[0])
		printf("  (also: %s)\n", r->reason);
}

static int window_of(const struct safety_args *a, const struct k2_prog *p, struct k2_smt *s,
		     struct k2_safety_report *r, struct k2_err *e)
{
	struct k2_analysis *an = NULL;
	struct k2_smt_window *sw = NULL;
	struct k2_win *w = NULL;
	uint32_t nw = 0;
	int err = k2_analysis_new(p, NULL, &an, e);

	if (!err)
		err = k2_wins_parse(an, a->window, &w, &nw, e);
	if (!err && nw != 1)
		err = k2_err_set(e, -EINVAL, "--window takes one range S:E");
	if (!err)
		err = k2_smt_window_new(s, an, &w[0], &sw, e);
	if (!err)
		err = k2_smt_window_safe(sw, NULL, 0, r, e);
	k2_smt_window_free(sw);
	free(w);
	k2_analysis_free(an);
	return err;
}

static int check_prog(const struct safety_args *a, const struct k2_prog *p, struct k2_smt *s)
{
	struct k2_safety_report r;
	struct k2_err e = { 0 };
	int err;

	memset(&r, 0, sizeof(r));
	if (a->window)
		err = window_of(a, p, s, &r, &e);
	else
		err = k2_smt_safety_prog(s, p, NULL, &r, &e);
	if (err) {
		fprintf(stderr, "k2 safety: %s: %s: %s\n", a->path, p->sec, e.msg);
		k2_safety_report_free(&r);
		return 2;
	}
	print_report(a, p, &r);
	k2_safety_report_free(&r);
	return r.verdict == K2_SAFE ? 0 : r.verdict == K2_UNSAFE ? 1 : 2;
}

static int usage(FILE *f)
{
	fprintf(f,
		"usage: k2 safety FILE.o [-s SECTION|FUNC] [--window S:E] [--save DIR]\n"
		"                 [--timeout MS] [--smt2 FILE]\n"
		"  Proves with z3 that no input makes a program fail (memory in its region, no\n"
		"  uninitialised reads, no pointer leaks or forbidden pointer arithmetic, helper\n"
		"  arguments) and checks the verifier's static rules; --window checks one window\n"
		"  under its precondition. Each violation names its instruction and rule, with an\n"
		"  input that triggers it (--save DIR writes its packet and ctx for `k2 run`).\n"
		"  Exit 0 safe, 1 unsafe, 2 unknown or error.\n");
	return f == stdout ? 0 : 2;
}

int k2_cmd_safety(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "section", required_argument, NULL, 's' },
		{ "window", required_argument, NULL, 'w' },
		{ "save", required_argument, NULL, 'S' },
		{ "timeout", required_argument, NULL, 't' },
		{ "smt2", required_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct safety_args a = { .o = { .sz = sizeof(a.o) } };
	struct k2_object *obj = NULL;
	struct k2_smt *s = NULL;
	struct k2_err e = { 0 };
	int c, rc = 0, found = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "s:h", lo, NULL)) != -1) {
		switch (c) {
		case 's': a.sel = optarg; break;
		case 'w': a.window = optarg; break;
		case 'S': a.save = optarg; break;
		case 't': a.o.timeout_ms = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'q': a.o.smt2_path = optarg; break;
		case 'h': return usage(stdout);
		default: return usage(stderr);
		}
	}
	if (optind + 1 != argc)
		return usage(stderr);
	a.path = argv[optind];
	if (k2_object_open(a.path, &obj, &e)) {
		fprintf(stderr, "k2 safety: %s\n", e.msg);
		return 2;
	}
	if (k2_smt_new(&a.o, &s, &e)) {
		fprintf(stderr, "k2 safety: %s\n", e.msg);
		k2_object_free(obj);
		return 2;
	}
	for (uint32_t i = 0; i < obj->n_progs; i++) {
		const struct k2_prog *p = &obj->progs[i];
		int r;

		if (a.sel && strcmp(a.sel, p->sec) && strcmp(a.sel, p->name))
			continue;
		found++;
		r = check_prog(&a, p, s);
		rc = r > rc ? r : rc;
	}
	if (!found) {
		fprintf(stderr, "k2 safety: %s: no program %s\n", a.path, a.sel ? a.sel : "");
		rc = 2;
	}
	k2_smt_free(s);
	k2_object_free(obj);
	return rc;
}
