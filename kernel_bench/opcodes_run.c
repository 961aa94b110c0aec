/* kernel_bench/opcodes_run.c: timing each operation's programs and the marginal cost per insn. */
#include "kernel_bench/opcodes_int.h"

#include <bpf/bpf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SHORT_DEFAULT 100
#define LONG_DEFAULT 2100
#define ROUNDS_DEFAULT 7
#define SAMPLE_US_DEFAULT 1000.0

struct opbench {
	struct k2_opmaps maps;
	struct k2_netns *ns;      /* holds XDP programs in the dispatcher; NULL: could not */
	struct k2_input in[2];    /* [0] XDP, [1] socket filter */
	struct k2_kern_result *res;
	uint32_t S, L, rounds;
	double sample_us;
	FILE *progress;
};

static int make_maps(struct k2_opmaps *m, struct k2_err *e)
{
	uint32_t key = 1;
	uint64_t val = 7;

	m->array_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "k2_op_array", 4, 8, 4, NULL);
	m->hash_fd = bpf_map_create(BPF_MAP_TYPE_HASH, "k2_op_hash", 4, 8, 16, NULL);
	m->value_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "k2_op_value", 4, 8, 1, NULL);
	if (m->array_fd < 0 || m->hash_fd < 0 || m->value_fd < 0)
		return k2_err_set(e, -errno, "opcode maps: BPF_MAP_CREATE: %s", strerror(errno));
	if (bpf_map_update_elem(m->hash_fd, &key, &val, BPF_ANY) < 0)
		return k2_err_set(e, -errno, "opcode maps: update: %s", strerror(errno));
	return 0;
}

/* A 64-byte IPv4/UDP frame: for XDP with xdp_md on lo (ifindex 1, queue 0), and as an skb. */
static int make_inputs(struct k2_input in[2], struct k2_err *e)
{
	struct k2_pkt_spec s;
	int len;

	memset(in, 0, 2 * sizeof(*in));
	k2_pkt_spec_init(&s, K2_PKT_IPV4_UDP);
	s.payload_len = 64 - 42;
	len = k2_pkt_build(&s, in[0].pkt, sizeof(in[0].pkt), NULL);
	if (len < 0)
		return k2_err_set(e, len, "opcode bench packet: cannot build");
	in[0].pkt_len = (uint32_t)len;
	in[0].ctx_len = sizeof(struct xdp_md);
	((struct xdp_md *)in[0].ctx)->ingress_ifindex = 1;
	in[1] = in[0];
	memset(in[1].ctx, 0, sizeof(in[1].ctx));
	in[1].ctx_len = sizeof(struct __sk_buff);
	k2_gen_input_derive(BPF_PROG_TYPE_SOCKET_FILTER, &in[1]);
	return 0;
}

struct loaded {
	struct k2_kern_prog kp;
	int hold;
};

static int load(struct opbench *ob, const struct k2_opcase *c, uint32_t copies,
		struct loaded *l, struct k2_err *e)
{
	struct bpf_insn *insns;
	struct bpf_prog_info info;
	uint32_t n, len = sizeof(info);
	int fd, err;

	memset(l, 0, sizeof(*l));
	l->kp.fd = -1;
	l->hold = -1;
	err = k2_opcase_prog(c, copies, &ob->maps, &insns, &n, e);
	if (err)
		return err;
	fd = k2_bench_load_insns(c->prog_type, "k2_opcost", insns, n, e);
	free(insns);
	if (fd < 0)
		return k2_err_prefix(e, "%s (%u copies): ", c->name, copies);
	l->kp.fd = fd;
	l->kp.type = c->prog_type;
	l->kp.n_insns = n;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
		l->kp.jited_len = info.jited_prog_len;
	if (ob->ns && c->prog_type == BPF_PROG_TYPE_XDP)
		l->hold = k2_netns_hold(ob->ns, fd, NULL);
	return 0;
}

static void unload(struct opbench *ob, struct loaded *l)
{
	if (ob->ns)
		k2_netns_unhold(ob->ns, l->hold);
	if (l->kp.fd >= 0)
		close(l->kp.fd);
	l->kp.fd = -1;
}

static int measure_case(struct opbench *ob, const struct k2_opcase *c, struct k2_opcost *out,
			struct k2_err *e)
{
	const struct k2_input *in = &ob->in[c->prog_type == BPF_PROG_TYPE_XDP ? 0 : 1];
	struct loaded s, l;
	double *m = malloc(ob->rounds * sizeof(*m));
	uint32_t ts, tl, repeat;
	struct k2_lat lat;
	int err;

	if (!m)
		return k2_err_set(e, -ENOMEM, "out of memory");
	err = load(ob, c, ob->S, &s, e);
	if (!err)
		err = load(ob, c, ob->L, &l, e);
	if (!err)
		err = k2_bench_time(&l.kp, in, 1000, ob->res, &tl, e);
	repeat = (uint32_t)fmin(1e6, fmax(100, ob->sample_us * 1e3 / fmax(1, tl)));
	for (uint32_t r = 0; r < ob->rounds && !err; r++) {
		/* alternate who goes first so a drift within a round cancels */
		err = k2_bench_time(r & 1 ? &l.kp : &s.kp, in, repeat, ob->res, r & 1 ? &tl : &ts,
				    e);
		if (!err)
			err = k2_bench_time(r & 1 ? &s.kp : &l.kp, in, repeat, ob->res,
					    r & 1 ? &ts : &tl, e);
		m[r] = ((double)tl - ts) / (ob->L - ob->S);
	}
	if (!err) {
		k2_lat_of(m, ob->rounds, &lat);
		snprintf(out->name, sizeof(out->name), "%s", c->name);
		out->ns = lat.median;
		out->lo = lat.min;
		out->hi = lat.max;
		out->jited_bytes = (uint32_t)lround(((double)l.kp.jited_len - s.kp.jited_len) /
						    (ob->L - ob->S));
		if (ob->progress)
			fprintf(ob->progress,
				"%-34s %7.3f ns  [%.3f, %.3f]  %2u B/insn  repeat %u\n", out->name,
				out->ns, out->lo, out->hi, out->jited_bytes, repeat);
	}
	unload(ob, &s);
	unload(ob, &l);
	free(m);
	return err;
}

/* ns per run of the empty XDP program: the fixed cost every measured program also pays. */
static int floor_ns(struct opbench *ob, struct k2_opcost *out, struct k2_err *e)
{
	const struct bpf_insn p[2] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	struct loaded l = { .kp = { .type = BPF_PROG_TYPE_XDP }, .hold = -1 };
	double v[16];
	uint32_t ns;
	int err = 0;

	l.kp.fd = k2_bench_load_insns(BPF_PROG_TYPE_XDP, "k2_empty", p, 2, e);
	if (l.kp.fd < 0)
		return l.kp.fd;
	if (ob->ns)
		l.hold = k2_netns_hold(ob->ns, l.kp.fd, NULL);
	for (int i = 0; i < 16 && !err; i++) {
		err = k2_bench_time(&l.kp, &ob->in[0], 100000, ob->res, &ns, e);
		v[i] = ns;
	}
	unload(ob, &l);
	if (!err) {
		struct k2_lat lat;

		k2_lat_of(v, 16, &lat);
		snprintf(out->name, sizeof(out->name), "run_overhead");
		out->ns = lat.median;
		out->lo = lat.min;
		out->hi = lat.max;
	}
	return err;
}

int k2_opcodes_measure(const struct k2_opcodes_opts *opts, struct k2_opcost **out, uint32_t *n,
		       struct k2_err *e)
{
	struct opbench ob = { .maps = { -1, -1, -1 } };
	const char *only = K2_BOPT(opts, only, NULL);
	struct k2_opcase *cases = NULL;
	struct k2_opcost *cost = NULL;
	struct k2_err ne = { 0 };
	uint32_t n_cases = 0, k = 0;
	int err;

	*out = NULL;
	*n = 0;
	ob.S = K2_BOPT(opts, short_len, 0u) ? opts->short_len : SHORT_DEFAULT;
	ob.L = K2_BOPT(opts, long_len, 0u) ? opts->long_len : LONG_DEFAULT;
	ob.rounds = K2_BOPT(opts, rounds, 0u) ? opts->rounds : ROUNDS_DEFAULT;
	ob.sample_us = K2_BOPT(opts, sample_us, 0.0) > 0 ? opts->sample_us : SAMPLE_US_DEFAULT;
	ob.progress = K2_BOPT(opts, progress, NULL);
	if (ob.L <= ob.S)
		return k2_err_set(e, -EINVAL, "long_len %u must exceed short_len %u", ob.L, ob.S);
	err = k2_kern_probe(e);
	if (!err)
		err = make_maps(&ob.maps, e);
	if (!err)
		err = make_inputs(ob.in, e);
	if (!err && !(ob.res = malloc(sizeof(*ob.res))))
		err = k2_err_set(e, -ENOMEM, "out of memory");
	if (!err && k2_netns_new(NULL, &ob.ns, &ne) && ob.progress)
		fprintf(ob.progress,
			"opcodes: no private netns (%s): each sample costs ~20 ms more\n", ne.msg);
	if (!err && k2_opcases(&cases, &n_cases))
		err = k2_err_set(e, -ENOMEM, "out of memory");
	if (!err && !(cost = calloc(n_cases + 1, sizeof(*cost))))
		err = k2_err_set(e, -ENOMEM, "out of memory");
	if (!err)
		err = floor_ns(&ob, &cost[k++], e);
	for (uint32_t i = 0; i < n_cases && !err; i++) {
		struct k2_err ce = { 0 };

		if (only && strncmp(cases[i].name, only, strlen(only)))
			continue;
		/* An op this kernel refuses gets the table's default; the others still count. */
		if (measure_case(&ob, &cases[i], &cost[k], &ce)) {
			if (ob.progress)
				fprintf(ob.progress, "%-34s skipped: %s\n", cases[i].name, ce.msg);
			continue;
		}
		k++;
	}
	if (!err && k == 1)
		err = k2_err_set(e, -ENOENT, "no operation measured%s%s", only ? " matching " : "",
				 only ? only : "");
	k2_netns_free(ob.ns);
	if (ob.maps.array_fd >= 0)
		close(ob.maps.array_fd);
	if (ob.maps.hash_fd >= 0)
		close(ob.maps.hash_fd);
	if (ob.maps.value_fd >= 0)
		close(ob.maps.value_fd);
	free(ob.res);
	free(cases);
	if (err) {
		free(cost);
		return err;
	}
	*out = cost;
	*n = k;
	return 0;
}
