/* bpf/cmd_run.c: `k2 run`: one program on one input in the interpreter, and what changed. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/k2bpf.h"

struct run_opts {
	const char *obj, *sec, *pkt, *ctx;
	const char *map_init[64];
	int n_init;
	uint64_t ndet[K2_NDET_MAX];
	uint32_t n_ndet, cpu, ncpus;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: k2 run FILE.o [-s SECTION] [--packet FILE.bin] [--ctx FILE.bin]\n"
		"              [--map-init MAP:KEYHEX=VALUEHEX]... [--ndet V,V,...] [--cpu N] "
		"[--ncpus N]\n"
		"Runs one program in the interpreter and prints r0, the packet (with the bytes "
		"that\n"
		"changed), the map changes and the side effects. A value of a per-CPU map holds\n"
		"ncpus values. ndet: what non-deterministic helpers (ktime, prandom, ...) return.\n"
		"The packet is data_in of BPF_PROG_TEST_RUN (XDP: metadata first, its length in "
		"the\n"
		"ctx's xdp_md.data); the ctx is ctx_in (tracing programs: pt_regs or the "
		"record).\n");
}

static int read_file(const char *path, uint8_t *buf, uint32_t cap, uint32_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f) {
		fprintf(stderr, "k2 run: %s: cannot open\n", path);
		return -1;
	}
	n = fread(buf, 1, cap, f);
	if (!feof(f) && fgetc(f) != EOF) {
		fclose(f);
		fprintf(stderr, "k2 run: %s: larger than %u bytes\n", path, cap);
		return -1;
	}
	fclose(f);
	*len = (uint32_t)n;
	return 0;
}

static int hex_bytes(const char *s, size_t n, uint8_t *out, uint32_t cap, uint32_t *len)
{
	*len = 0;
	if (n % 2)
		return -1;
	for (size_t i = 0; i < n; i += 2) {
		char h[3] = { s[i], s[i + 1], 0 };
		char *end;

		if (*len >= cap)
			return -1;
		out[(*len)++] = (uint8_t)strtoul(h, &end, 16);
		if (*end)
			return -1;
	}
	return 0;
}

static int find_map(const struct k2_prog *p, const char *name, size_t nl)
{
	for (uint32_t i = 0; i < p->n_maps; i++)
		if (strlen(p->maps[i].name) == nl && !strncmp(p->maps[i].name, name, nl))
			return (int)i;
	return -1;
}

static uint32_t vsize_of(const struct k2_map *m, uint32_t ncpus)
{
	bool pc = m->type == BPF_MAP_TYPE_PERCPU_ARRAY || m->type == BPF_MAP_TYPE_PERCPU_HASH ||
		  m->type == BPF_MAP_TYPE_LRU_PERCPU_HASH;

	return m->value_size * (pc ? ncpus : 1);
}

static int apply_init(const struct k2_prog *p, struct k2_mapstate *ms, const char *spec,
		      uint32_t ncpus)
{
	const char *colon = strchr(spec, ':'), *eq = colon ? strchr(colon, '=') : NULL;
	static uint8_t key[512], val[1 << 16];
	uint32_t kl, vl;
	int m, err;

	if (!colon || !eq) {
		fprintf(stderr, "k2 run: --map-init %s: expected MAP:KEYHEX=VALUEHEX\n", spec);
		return -1;
	}
	m = find_map(p, spec, (size_t)(colon - spec));
	if (m < 0) {
		fprintf(stderr, "k2 run: --map-init %s: no such map\n", spec);
		return -1;
	}
	if (hex_bytes(colon + 1, (size_t)(eq - colon - 1), key, sizeof(key), &kl) ||
	    hex_bytes(eq + 1, strlen(eq + 1), val, sizeof(val), &vl) || kl != p->maps[m].key_size ||
	    vl != vsize_of(&p->maps[m], ncpus)) {
		fprintf(stderr,
			"k2 run: --map-init %s: key must be %u bytes and value %u bytes of hex\n",
			spec, p->maps[m].key_size, vsize_of(&p->maps[m], ncpus));
		return -1;
	}
	err = k2_mapstate_update(ms, (uint32_t)m, key, val, BPF_ANY);
	if (err) {
		fprintf(stderr, "k2 run: --map-init %s: update fails (%d)\n", spec, err);
		return -1;
	}
	return 0;
}

static void print_hex(const uint8_t *b, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		printf("%02x", b[i]);
}

static void print_packet(const struct k2_input *in, const struct k2_result *r)
{
	uint32_t changed = 0;

	printf("packet: %u bytes", r->pkt_len);
	if (r->meta_len)
		printf(" (%u of metadata)", r->meta_len);
	printf("\n");
	for (uint32_t o = 0; o < r->pkt_len; o += 16) {
		printf("  %04x:", o);
		for (uint32_t i = o; i < o + 16 && i < r->pkt_len; i++)
			printf(" %02x", r->pkt[i]);
		printf("\n");
	}
	for (uint32_t i = 0; i < r->pkt_len || i < in->pkt_len; i++) {
		bool a = i < in->pkt_len, b = i < r->pkt_len;

		if (a && b && in->pkt[i] == r->pkt[i])
			continue;
		if (!changed++)
			printf("packet changes (offset: before -> after):\n");
		if (changed > 64)
			continue;
		printf("  %04x: %s%02x -> %s%02x\n", i, a ? "" : "(none)", a ? in->pkt[i] : 0,
		       b ? "" : "(none)", b ? r->pkt[i] : 0);
	}
	if (changed > 64)
		printf("  ... %u bytes differ\n", changed);
	if (!changed)
		printf("packet unchanged\n");
}

static void print_entry(const char *what, const uint8_t *k, uint32_t kl, const uint8_t *v,
			const uint8_t *v2, uint32_t vl)
{
	printf("  %s key ", what);
	print_hex(k, kl);
	printf(": ");
	if (v)
		print_hex(v, vl);
	if (v && v2)
		printf(" -> ");
	if (v2)
		print_hex(v2, vl);
	printf("\n");
}

/* Map changes: the state before, and the state with the run's changes committed. */
static void print_maps(const struct k2_prog *p, const struct k2_mapstate *before,
		       const struct k2_mapstate *after, uint32_t ncpus)
{
	static uint8_t k[512], nk[512], v1[1 << 16], v2[1 << 16];

	for (uint32_t m = 0; m < p->n_maps; m++) {
		uint32_t kl = p->maps[m].key_size, vl = vsize_of(&p->maps[m], ncpus), n = 0;
		const struct k2_mapstate *sides[2] = { after, before };

		if (p->maps[m].type == BPF_MAP_TYPE_RINGBUF ||
		    p->maps[m].type == BPF_MAP_TYPE_PERF_EVENT_ARRAY)
			continue;
		for (int s = 0; s < 2; s++) {
			const uint8_t *pk = NULL;

			while (!k2_mapstate_next_key(sides[s], m, pk, nk)) {
				bool in_before, in_after;

				memcpy(k, nk, kl);
				pk = k;
				in_after = !k2_mapstate_lookup(after, m, k, v2);
				in_before = !k2_mapstate_lookup(before, m, k, v1);
				if (s == 1 && in_after)
					continue; /* seen from the after side */
				if (in_before && in_after && !memcmp(v1, v2, vl))
					continue;
				if (!n++)
					printf("map %s:\n", p->maps[m].name);
				if (in_before && in_after)
					print_entry("changed", k, kl, v1, v2, vl);
				else if (in_after)
					print_entry("added", k, kl, NULL, v2, vl);
				else
					print_entry("deleted", k, kl, v1, NULL, vl);
			}
		}
	}
}

static void print_effects(const struct k2_result *r)
{
	for (uint32_t i = 0; i < r->n_effects; i++) {
		const struct k2_effect *e = &r->effects[i];
		const struct k2_helper *h = k2_helper_find(e->helper);

		printf("effect %u: insn %u %s(%#llx, %#llx, %#llx, %#llx, %#llx) = %lld", i,
		       e->insn, h ? h->name : "?", (unsigned long long)e->args[0],
		       (unsigned long long)e->args[1], (unsigned long long)e->args[2],
		       (unsigned long long)e->args[3], (unsigned long long)e->args[4],
		       (long long)e->ret);
		if (e->data_len) {
			printf(" data ");
			print_hex(r->effect_data + e->data_off, e->data_len);
		}
		printf("\n");
	}
	if (r->tail_call)
		printf("tail call: map %u index %u (the run ends here)\n", r->tail_map,
		       r->tail_index);
}

static int parse_args(int argc, char **argv, struct run_opts *o)
{
	static const struct option lo[] = {
		{ "section", required_argument, NULL, 's' },
		{ "packet", required_argument, NULL, 'p' },
		{ "ctx", required_argument, NULL, 'c' },
		{ "map-init", required_argument, NULL, 'm' },
		{ "ndet", required_argument, NULL, 'n' },
		{ "cpu", required_argument, NULL, 'u' },
		{ "ncpus", required_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->ncpus = 1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "s:p:c:m:n:u:N:h", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			o->sec = optarg;
			break;
		case 'p':
			o->pkt = optarg;
			break;
		case 'c':
			o->ctx = optarg;
			break;
		case 'm':
			if (o->n_init < 64)
				o->map_init[o->n_init++] = optarg;
			break;
		case 'n':
			for (char *s = optarg, *end; *s && o->n_ndet < K2_NDET_MAX; s = end) {
				o->ndet[o->n_ndet++] = strtoull(s, &end, 0);
				if (*end == ',')
					end++;
				else if (*end)
					return fprintf(stderr, "k2 run: --ndet: bad value '%s'\n",
						       s),
					       -1;
			}
			break;
		case 'u':
			o->cpu = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'N':
			o->ncpus = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return -1;
	}
	o->obj = argv[optind];
	if (!o->ncpus || o->cpu >= o->ncpus)
		return fprintf(stderr, "k2 run: --cpu must be below --ncpus\n"), -1;
	return 0;
}

static void print_result(const struct k2_prog *p, const struct k2_input *in,
			 const struct k2_result *r)
{
	printf("program: %s (section %s, %u insns, type %s)\n", p->name, p->sec, p->n_insns,
	       k2_prog_type_name(p->type));
	if (r->status == K2_RUN_OK)
		printf("status: ok  r0 = %llu (%#llx)  steps %llu\n", (unsigned long long)r->r0,
		       (unsigned long long)r->r0, (unsigned long long)r->steps);
	else
		printf("status: %s at insn %u: %s (steps %llu)\n", k2_status_name(r->status),
		       r->err_insn, r->err_reason, (unsigned long long)r->steps);
	if (p->type == BPF_PROG_TYPE_XDP || p->type == BPF_PROG_TYPE_SCHED_CLS ||
	    p->type == BPF_PROG_TYPE_SCHED_ACT || p->type == BPF_PROG_TYPE_SOCKET_FILTER)
		print_packet(in, r);
	print_effects(r);
}

int k2_cmd_run(int argc, char **argv)
{
	struct run_opts o;
	struct k2_object *obj = NULL;
	struct k2_prog *p;
	struct k2_mapstate *ms = NULL, *after = NULL;
	struct k2_input *in = calloc(1, sizeof(*in));
	struct k2_vm *vm = NULL;
	struct k2_result r;
	struct k2_err e = { 0 };
	int rc = 1;

	if (!in)
		return 1;
	rc = parse_args(argc, argv, &o);
	if (rc) {
		free(in);
		return rc < 0 ? 2 : 0;
	}
	rc = 1;
	if (k2_object_open(o.obj, &obj, &e)) {
		fprintf(stderr, "k2 run: %s\n", e.msg);
		goto out;
	}
	p = k2_object_prog(obj, o.sec);
	if (!p) {
		fprintf(stderr, "k2 run: %s: no program %s\n", o.obj, o.sec ? o.sec : "");
		goto out;
	}
	if ((o.pkt && read_file(o.pkt, in->pkt, K2_PKT_MAX, &in->pkt_len)) ||
	    (o.ctx && read_file(o.ctx, in->ctx, K2_CTX_MAX, &in->ctx_len)))
		goto out;
	memcpy(in->ndet, o.ndet, sizeof(o.ndet));
	in->n_ndet = o.n_ndet;
	in->cpu = o.cpu;
	if (k2_mapstate_new(p->maps, p->n_maps, o.ncpus, &ms, &e)) {
		fprintf(stderr, "k2 run: %s: %s\n", o.obj, e.msg);
		goto out;
	}
	for (int i = 0; i < o.n_init; i++)
		if (apply_init(p, ms, o.map_init[i], o.ncpus))
			goto out;
	in->maps = ms;
	if (k2_vm_new(p, NULL, &vm, &e)) {
		fprintf(stderr, "k2 run: %s: %s\n", o.obj, e.msg);
		goto out;
	}
	k2_vm_run(vm, in, &r);
	print_result(p, in, &r);
	if (k2_mapstate_clone(ms, &after) || k2_vm_map_commit(vm, after)) {
		fprintf(stderr, "k2 run: cannot apply the run's map changes\n");
		goto out;
	}
	print_maps(p, ms, after, o.ncpus);
	rc = r.status == K2_RUN_OK ? 0 : 3;
out:
	k2_vm_free(vm);
	k2_mapstate_free(after);
	k2_mapstate_free(ms);
	k2_object_free(obj);
	free(in);
	return rc;
}
