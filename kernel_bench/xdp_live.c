/* kernel_bench/xdp_live.c: XDP throughput on a real path: live frames over a private veth pair. */
#include "kernel_bench/bench_int.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <math.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SLICE_S 0.25         /* programs alternate in slices of this length */
#define CHUNK_FRAMES 16384   /* frames per BPF_PROG_TEST_RUN call: a few ms */
#define FRAME_MAX 1514       /* what veth passes at MTU 1500 */

/* Where the program under test runs and how its packets are counted. */
struct live_env {
	struct k2_netns *ns;     /* NULL on a named NIC */
	int nl;                  /* rtnetlink socket in the NIC's namespace (NIC mode) */
	int ifindex;             /* the device the program is attached to */
	int gen_ifindex;         /* veth end the generator sends from */
	int gen_fd, gen_map, gen_hold;
	int sink_fd, sink_map, sink_link, sink_clean;
	int link, link_clean;    /* the program under test's attachment */
	struct k2_cleanup *c;
};

static void env_free(struct live_env *v)
{
	const int fds[] = { v->gen_fd, v->gen_map, v->sink_fd, v->sink_map };

	k2_cleanup_forget(v->c, v->link_clean);
	k2_cleanup_forget(v->c, v->sink_clean);
	if (v->link >= 0)
		close(v->link);
	if (v->sink_link >= 0)
		close(v->sink_link);
	if (v->ns && v->gen_hold >= 0)
		k2_netns_unhold(v->ns, v->gen_hold);
	if (v->nl >= 0)
		close(v->nl);

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static int counter_map(const char *name, struct k2_err *e)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, name, 4, 8, 1, NULL);

	if (fd < 0)
		return k2_err_set(e, -errno, "map %s: %s", name, strerror(errno));
	return fd;
}

/* A veth pair: the generator on end a, the program under test on end b, a sink on a. */
static int env_veth(struct k2_bench *b, struct live_env *v, struct k2_err *e)
{
	int err = k2_bench_netns(b, &v->ns, e);

	if (!err)
		err = k2_netns_veth(v->ns, &v->gen_ifindex, &v->ifindex, e);
	if (err)
		return err;
	if ((v->gen_map = counter_map("k2_live_gen", e)) < 0 ||
	    (v->sink_map = counter_map("k2_live_sink", e)) < 0)
		return -EIO;
	if ((v->gen_fd = k2_live_counter_prog(v->gen_map, XDP_TX, e)) < 0 ||
	    (v->sink_fd = k2_live_counter_prog(v->sink_map, XDP_DROP, e)) < 0)
		return -EIO;
	/*
	 * Frames the program under test sends back with XDP_TX reach end a only if a has NAPI
	 * running, which on veth means an XDP program there: the sink counts and drops them.
	 */
	v->sink_link =
		k2_netns_xdp_attach(v->ns, v->sink_fd, v->gen_ifindex, XDP_FLAGS_DRV_MODE, e);
	if (v->sink_link < 0)
		return v->sink_link;
	v->sink_clean = k2_cleanup_add_fd(v->c, v->sink_link);
	/* Without this every test_run call adds the generator to the dispatcher: ~20 ms. */
	v->gen_hold = k2_netns_hold(v->ns, v->gen_fd, e);
	return v->gen_hold < 0 ? v->gen_hold : 0;
}

static int env_nic(struct k2_bench *b, struct live_env *v, struct k2_err *e)
{
	int err;

	v->nl = k2_nl_open(e);
	if (v->nl < 0)
		return v->nl;
	err = k2_nl_link_get(v->nl, b->o.ifname, 0, &v->ifindex, NULL, e);
	if (!err && !v->ifindex)
		err = k2_err_set(e, -ENODEV, "--ifname %s: no such device", b->o.ifname);
	return err;
}

static int rx_packets(struct live_env *v, uint64_t *rx, struct k2_err *e)
{
	if (v->ns)
		return k2_netns_rx_packets(v->ns, v->ifindex, rx, e);
	return k2_nl_link_get(v->nl, NULL, v->ifindex, NULL, rx, e);
}

/* Puts prog_fd on the device: a new link the first time, then an atomic replacement. */
static int attach(struct k2_bench *b, struct live_env *v, int prog_fd, struct k2_err *e)
{
	LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = XDP_FLAGS_DRV_MODE);

	if (v->link >= 0) {
		if (bpf_link_update(v->link, prog_fd, NULL) < 0)
			return k2_err_set(e, -errno, "XDP link update: %s", strerror(errno));
		return 0;
	}
	if (v->ns) {
		v->link = k2_netns_xdp_attach(v->ns, prog_fd, v->ifindex, XDP_FLAGS_DRV_MODE, e);
	} else {
		v->link = bpf_link_create(prog_fd, v->ifindex, BPF_XDP, &lo);
		if (v->link < 0)
			v->link = k2_err_set(e, -errno, "attach XDP (native mode) to %s: %s "
					     "(does its driver support native XDP?)",
					     b->o.ifname, strerror(errno));
	}
	if (v->link < 0)
		return v->link;
	v->link_clean = k2_cleanup_add_fd(v->c, v->link);
	return 0;
}

/* Sends live frames from the generator for `secs` (veth), or waits (NIC). */
static int traffic(struct k2_bench *b, struct live_env *v, double secs, uint32_t *pkt,
		   double *elapsed, struct k2_err *e)
{
	double t0 = k2_now(), t;
	int err = 0;

	if (!v->ns) {
		while ((t = k2_now() - t0) < secs)
			usleep((useconds_t)fmin(1e5, (secs - t) * 1e6 + 1));
		*elapsed = k2_now() - t0;
		return 0;
	}
	err = k2_netns_enter(v->ns, e);
	while (!err && k2_now() - t0 < secs) {
		const struct k2_input *in = &b->pkts[*pkt % b->n_pkts].in;
		uint32_t meta = in->ctx_len >= 4 ? ((const struct xdp_md *)in->ctx)->data : 0;
		uint32_t len = in->pkt_len - meta;
		struct xdp_md md = { .ingress_ifindex = (uint32_t)v->gen_ifindex,
				     .data_end = len < FRAME_MAX ? len : FRAME_MAX };
		LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = in->pkt + meta,
			    .data_size_in = md.data_end, .ctx_in = &md, .ctx_size_in = sizeof(md),
			    .repeat = CHUNK_FRAMES, .flags = BPF_F_TEST_XDP_LIVE_FRAMES);

		if (bpf_prog_test_run_opts(v->gen_fd, &t) < 0)
			err = k2_err_set(e, -errno, "BPF_PROG_TEST_RUN (live frames, %u bytes): %s",
					 md.data_end, strerror(errno));
		++*pkt;
	}
	*elapsed = k2_now() - t0;
	if (k2_netns_leave(v->ns, err ? NULL : e) && !err)
		err = -EIO;
	return err;
}

/* One slice of one program: attach, send (or wait), count. */
static int slice(struct k2_bench *b, struct live_env *v, uint32_t id, double secs, uint32_t *pkt,
		 struct k2_err *e)
{
	struct k2_bench_prog *p = &b->progs[id];
	uint64_t rx0, rx1, g0 = 0, g1 = 0;
	double dt;
	int err;

	err = attach(b, v, b->slots[id].kp->fd, e);
	if (!err)
		err = rx_packets(v, &rx0, e);
	if (!err && v->ns)
		err = k2_live_counter_read(v->gen_map, &g0, e);
	if (!err)
		err = traffic(b, v, secs, pkt, &dt, e);
	if (!err)
		err = rx_packets(v, &rx1, e);
	if (!err && v->ns)
		err = k2_live_counter_read(v->gen_map, &g1, e);
	if (err)
		return err;
	p->live_processed += rx1 - rx0;
	p->live_sent += g1 - g0;
	p->live_seconds += dt;
	return 0;
}

int k2_bench_live(struct k2_bench *b, struct k2_err *e)
{
	struct live_env v = { .nl = -1, .gen_fd = -1, .gen_map = -1, .gen_hold = -1, .sink_fd = -1,
			      .sink_map = -1, .sink_link = -1, .sink_clean = -1, .link = -1,
			      .link_clean = -1, .c = b->o.cleanup };
	double secs = b->o.live_seconds, sl = fmin(SLICE_S, secs);
	uint32_t *ids, n = 0, pkt = 0, n_slices;
	int err;

	if (b->off[0] || b->prog->type != BPF_PROG_TYPE_XDP || secs <= 0)
		return 0;
	if (!b->n_pkts && !b->o.ifname)
		return k2_err_set(e, -EINVAL, "XDP live: no packets to send");
	ids = malloc(b->n_progs * sizeof(*ids));
	if (!ids)
		return k2_err_set(e, -ENOMEM, "out of memory");
	for (uint32_t i = 0; i < b->n_progs; i++) {
		if (!b->slots[i].kp || (i && !isnan(b->progs[i].pps)))
			continue;
		ids[n++] = i;
		b->progs[i].live_processed = b->progs[i].live_sent = 0;
		b->progs[i].live_seconds = 0;
	}
	n_slices = (uint32_t)ceil(secs / sl - 1e-9);
	err = b->o.ifname ? env_nic(b, &v, e) : env_veth(b, &v, e);
	if (!err)
		err = k2_bench_reset_maps(b, e);
	if (!err && b->o.progress)
		fprintf(b->o.progress,
			"bench: XDP live: %u programs x %u slices of %.2f s on %s%s\n", n, n_slices,
			sl, b->o.ifname ? b->o.ifname : "veth ",
			b->o.ifname ? " (counting what arrives)"
				    : k2_netns_ifname(v.ns, v.ifindex));
	for (uint32_t s = 0; s < n_slices && !err; s++)
		for (uint32_t j = 0; j < n && !err; j++)
			err = slice(b, &v, ids[(j + s) % n], sl, &pkt, e);
	for (uint32_t j = 0; j < n && !err; j++) {
		struct k2_bench_prog *p = &b->progs[ids[j]];

		p->pps = p->live_seconds > 0 ? (double)p->live_processed / p->live_seconds : NAN;
		if (ids[j] == 0 && b->n_hist) {
			struct k2_bench_prog *h = &b->hist[b->n_hist - 1];

			h->pps = p->pps;
			h->live_sent = p->live_sent;
			h->live_processed = p->live_processed;
			h->live_seconds = p->live_seconds;
		}
	}
	env_free(&v);
	free(ids);
	return err;
}
