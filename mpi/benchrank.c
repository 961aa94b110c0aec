/* mpi/benchrank.c: the bench role: kernel checks and timing of candidates, the HDF5 trace. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kernel_bench/k2_bench.h"
#include "mpi/cluster_int.h"

struct k2_bench_role {
	struct k2_bench *b;         /* NULL when the kernel is not usable */
	struct k2_topo *topo;
	char off[512];              /* why the kernel is not checked */
	struct k2_cleanup cleanup;
	struct k2_h5 *h;
	struct k2_h5_table *progress, *windows;
	char trace[4096];
	struct k2_outbox out;
	struct k2_buf in;
	bool stopped;
};

#define PF(m, t) K2_H5_FIELD(struct k2_prow, m, t)
static const struct k2_h5_field progress_fields[] = {
	PF(time_s, K2_H5_F64),       PF(window, K2_H5_U32),      PF(start, K2_H5_U32),
	PF(end, K2_H5_U32),          PF(best_cost, K2_H5_F64),   PF(best_insns, K2_H5_U32),
	PF(orig_insns, K2_H5_U32),   PF(proposals, K2_H5_U64),   PF(iters_per_s, K2_H5_F64),
	PF(accept_rate, K2_H5_F64),  PF(swap_rate, K2_H5_F64),   PF(xswap_rate, K2_H5_F64),
	PF(ranks, K2_H5_U32),        PF(n_tests, K2_H5_U32),     PF(pool_cex, K2_H5_U32),
	PF(pool_proven, K2_H5_U32),  PF(cex_relayed, K2_H5_U64),
};

#define WF(m, t) K2_H5_FIELD(struct k2_wrow, m, t)
static const struct k2_h5_field window_fields[] = {
	WF(window, K2_H5_U32),       WF(start, K2_H5_U32),       WF(end, K2_H5_U32),
	WF(insns_before, K2_H5_U32), WF(insns_after, K2_H5_U32), WF(improved, K2_H5_U32),
	WF(stalled, K2_H5_U32),      WF(ranks_ever, K2_H5_U32),  WF(proposals, K2_H5_U64),
	WF(seconds, K2_H5_F64),      WF(time_to_best, K2_H5_F64), WF(proven, K2_H5_U32),
	WF(equivalent, K2_H5_U32),   WF(different, K2_H5_U32),   WF(unknown, K2_H5_U32),
	WF(unsafe, K2_H5_U32),       WF(pool_cex, K2_H5_U32),    WF(cex_relayed, K2_H5_U64),
	WF(cex_saved, K2_H5_U64),    WF(swaps_tried, K2_H5_U64), WF(swaps_acc, K2_H5_U64),
	WF(kernel, K2_H5_I32),
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct k2_topo *topo_of(const struct k2_bench_role *br)
{
	return br->b ? k2_bench_topo(br->b) : br->topo;
}

static void open_trace(struct k2_job *j, struct k2_bench_role *br)
{
	const struct k2_cluster_args *a = j->args;
	const struct k2_topo *t = topo_of(br);
	char summary[512] = "", *xml = NULL;
	struct k2_err e = { 0 };

	struct k2_h5_meta m = { .program = j->input, .section = j->section, .seed = j->seed };

	if (a->no_trace)
		return;
	if (a->trace) {
		snprintf(br->trace, sizeof(br->trace), "%s", a->trace);
	} else {
		k2_trace_default_path(j->input, br->trace, sizeof(br->trace));
		mkdir("results", 0755);
	}
	if (t) {
		k2_topo_summary(t, summary, sizeof(summary));
		xml = k2_topo_xml(t);
	}
	m.topology = summary;
	m.topology_xml = xml;
	m.cpu_model = t ? k2_topo_cpu_model(t) : NULL;
	if (k2_h5_create(br->trace, &m, &br->cleanup, &br->h, &e) ||
	    k2_h5_group(br->h, "/search", &e)) {
		fprintf(stderr, "k2-cluster: trace: %s (no trace written)\n", e.msg);
		if (br->h)
			k2_h5_abort(br->h);
		br->h = NULL;
		br->trace[0] = 0;
	}
	free(xml);
}

int k2_bench_rank_open(struct k2_job *j)
{
	const struct k2_bench_cfg *bc = &j->cfg.bench;
	struct k2_bench_role *br = calloc(1, sizeof(*br));
	struct k2_err e = { 0 };
	int err;

	if (!br)
		return -1;
	j->bench = br;
	k2_cleanup_init(&br->cleanup);
	K2_BENCH_OPTS(o, .pin = bc->core < 0 ? K2_PIN_LAST : K2_PIN_CORE, .core = bc->core,
		      .rounds = bc->rounds, .repeat = bc->repeat, .packets = bc->packets,
		      .seed = j->seed, .cleanup = &br->cleanup, .source = j->input,
		      .live_seconds = bc->xdp_live ? bc->live_seconds : 0,
		      .ifname = bc->ifname[0] ? bc->ifname : NULL);
	/* Rank 0 measuring for itself leaves its own affinity alone. */
	if (j->rank == 0)
		o.pin = K2_PIN_NONE;
	err = k2_bench_new(j->prog, &o, &br->b, &e);
	if (err) {
		snprintf(br->off, sizeof(br->off), "%s", e.msg);
	} else if (k2_bench_off(br->b)) {
		snprintf(br->off, sizeof(br->off), "%s", k2_bench_off(br->b));
		k2_bench_free(br->b);
		br->b = NULL;
	}
	if (!br->b && k2_topo_load(&br->topo, &e))
		br->topo = NULL;
	open_trace(j, br);
	return br->b ? 0 : -1;
}


void k2_bench_pin_away(struct k2_job *j)
{
	struct k2_topo *t;
	struct k2_err e = { 0 };

	if (k2_topo_load(&t, &e))
		return;
	if (k2_pin_away(t, j->cfg.bench.core, &e))
		k2_job_log(j, "pin away: %s", e.msg);
	k2_topo_free(t);
}

const char *k2_bench_role_off(const struct k2_job *j)
{
	return j->bench ? j->bench->off : "no bench";
}

static void close_trace(struct k2_job *j, struct k2_bench_role *br)
{
	struct k2_err e = { 0 };

	if (!br->h)
		return;
	if (br->b && k2_bench_trace(br->b, br->h, &e))
		fprintf(stderr, "k2-cluster: trace: %s\n", e.msg);
	k2_h5_table_close(br->progress);
	k2_h5_table_close(br->windows);
	br->progress = br->windows = NULL;
	if (k2_h5_close(br->h, &e))
		fprintf(stderr, "k2-cluster: trace: %s\n", e.msg);
	br->h = NULL;
	(void)j;
}

void k2_bench_rank_close(struct k2_job *j)
{
	struct k2_bench_role *br = j->bench;

	if (!br)
		return;
	if (br->h)
		k2_h5_abort(br->h);
	k2_bench_free(br->b);
	k2_topo_free(br->topo);
	k2_outbox_drain(&br->out, 1.0);
	k2_outbox_free(&br->out);
	k2_buf_free(&br->in);
	free(br);
	j->bench = NULL;
}

/* ---- requests ------------------------------------------------------------------------------ */

static void put_rec(struct k2_buf *b, const struct k2_verify_rec *r)
{
	k2_buf_u32(b, (uint32_t)r->verdict);
	k2_buf_u32(b, (uint32_t)r->err);
	k2_buf_u32(b, r->verified_insns);
	k2_buf_u32(b, r->xlated_len);
	k2_buf_u32(b, r->jited_len);
	k2_buf_f64(b, r->load_us);
	k2_buf_str(b, r->reason);
}

static void put_measure(struct k2_buf *b, const struct k2_bench *bs, uint32_t id)
{
	const struct k2_bench_prog *p = k2_bench_prog(bs, id), *o = k2_bench_prog(bs, 0);

	k2_buf_u8(b, 1);
	k2_buf_f64(b, p->ratio);
	k2_buf_f64(b, p->ratio_lo);
	k2_buf_f64(b, p->ratio_hi);
	k2_buf_f64(b, p->mix.n ? p->mix.median : NAN);
	k2_buf_f64(b, o->mix.n ? o->mix.median : NAN);
	k2_buf_f64(b, p->pps);
	k2_buf_f64(b, o->pps);
	k2_buf_f64(b, p->noise_ns);
	k2_buf_u32(b, (uint32_t)p->resolved);
}

/* BENCH_REQ: u32 id, u8 flags, str windows, str source, insns. */
static int request(struct k2_job *j, struct k2_bench_role *br, int src, struct k2_buf *b)
{
	uint32_t id = k2_buf_get_u32(b), n, bid = 0;
	uint8_t flags = k2_buf_get_u8(b);
	char windows[256], source[256];
	struct k2_bench_cand cand = { .windows = windows, .source = source };
	struct k2_verify_rec rec[2];
	struct k2_buf r = { 0 };
	struct k2_err e = { 0 };
	struct bpf_insn *in;
	bool measured = false;

	k2_buf_get_str(b, windows, sizeof(windows));
	k2_buf_get_str(b, source, sizeof(source));
	in = k2_buf_get_insns(b, &n, 1u << 20);
	if (!in)
		return -EPROTO;
	cand.insns = in;
	cand.n_insns = n;
	memset(rec, 0, sizeof(rec));
	rec[1].verdict = K2_VERDICT_NOT_CHECKED;
	if (br->b && (flags & K2_BQ_MEASURE)) {
		if (!k2_bench_add(br->b, &cand, &bid, &e)) {
			const struct k2_bench_prog *p = k2_bench_prog(br->b, bid);

			rec[1] = p->vr;
			rec[1].log = NULL;
			if (p->vr.verdict == K2_VERDICT_ACCEPTED) {
				measured = !k2_bench_measure(br->b, &e);
				if (measured && (flags & K2_BQ_LIVE) &&
				    j->prog->type == BPF_PROG_TYPE_XDP)
					k2_bench_live(br->b, &e);
			}
		} else {
			snprintf(rec[1].reason, sizeof(rec[1].reason), "%s", e.msg);
		}
	} else if (br->b) {
		if (k2_verify_candidates(j->prog, &cand, 1, rec, &e))
			snprintf(rec[1].reason, sizeof(rec[1].reason), "not checked: %.480s", e.msg);
		k2_verify_rec_clear(&rec[0]);
	} else {
		snprintf(rec[1].reason, sizeof(rec[1].reason), "not checked: %.480s", br->off);
	}
	k2_job_log(j, "bench: request %u: verdict %d%s %s", id, rec[1].verdict,
		   measured ? " (measured)" : "", rec[1].reason);
	k2_buf_u32(&r, id);
	put_rec(&r, &rec[1]);
	if (measured)
		put_measure(&r, br->b, bid);
	else
		k2_buf_u8(&r, 0);
	if (!(flags & K2_BQ_MEASURE) || !br->b)
		k2_verify_rec_clear(&rec[1]);
	free(in);
	return k2_send(&br->out, j->to_coord, src, K2_T_BENCH_RES, &r);
}

/* TRACE: u8 kind, then rows (or an attribute: str name, u8 type, value). */
static void trace(struct k2_bench_role *br, struct k2_buf *b)
{
	uint8_t kind = k2_buf_get_u8(b);
	uint32_t n = k2_buf_get_u32(b);
	struct k2_err e = { 0 };
	int err = 0;

	if (!br->h)
		return;
	if (kind == K2_TR_PROGRESS) {
		const uint8_t *rows = k2_buf_view(b, n * sizeof(struct k2_prow));

		if (rows && !br->progress)
			err = k2_h5_table_create(br->h, "/search/progress", progress_fields,
						 N(progress_fields), sizeof(struct k2_prow), 0,
						 &br->progress, &e);
		if (rows && !err)
			err = k2_h5_table_append(br->progress, rows, n, &e);
	} else if (kind == K2_TR_WINDOWS) {
		const uint8_t *rows = k2_buf_view(b, n * sizeof(struct k2_wrow));

		if (rows && !br->windows)
			err = k2_h5_table_create(br->h, "/search/windows", window_fields,
						 N(window_fields), sizeof(struct k2_wrow), 0,
						 &br->windows, &e);
		if (rows && !err)
			err = k2_h5_table_append(br->windows, rows, n, &e);
	} else if (kind == K2_TR_ATTR) {
		for (uint32_t i = 0; i < n && !err && !b->bad; i++) {
			char name[64], sval[512];
			uint8_t t;

			k2_buf_get_str(b, name, sizeof(name));
			t = k2_buf_get_u8(b);
			if (t == 's') {
				k2_buf_get_str(b, sval, sizeof(sval));
				err = k2_h5_attr_str(br->h, "/search", name, sval, &e);
			} else if (t == 'u') {
				err = k2_h5_attr_u64(br->h, "/search", name, k2_buf_get_u64(b), &e);
			} else {
				err = k2_h5_attr_f64(br->h, "/search", name, k2_buf_get_f64(b), &e);
			}
		}
	}
	if (err)
		fprintf(stderr, "k2-cluster: trace: %s\n", e.msg);
}

int k2_bench_step(struct k2_job *j)
{
	struct k2_bench_role *br = j->bench;
	int src, tag, r, served = 0;

	if (!br || br->stopped)
		return br ? 2 : 0;
	k2_outbox_poll(&br->out);
	while ((r = k2_recv(j->to_bench, &src, &tag, &br->in)) > 0) {
		served = 1;
		if (tag == K2_T_BENCH_REQ) {
			if (request(j, br, src, &br->in))
				fprintf(stderr, "k2-cluster: bench: bad request from rank %d\n", src);
		} else if (tag == K2_T_TRACE) {
			trace(br, &br->in);
		} else if (tag == K2_T_STOP) {
			struct k2_buf b = { 0 };

			close_trace(j, br);
			/* The answer to STOP: the trace's path ("" if none). */
			k2_buf_u32(&b, UINT32_MAX);
			k2_buf_str(&b, br->trace);
			k2_send(&br->out, j->to_coord, src, K2_T_BENCH_RES, &b);
			br->stopped = true;
			return 2;
		}
	}
	return r < 0 ? r : served;
}

int k2_bench_rank_run(struct k2_job *j, struct k2_err *e)
{
	struct k2_buf hello = { 0 };
	double beat = 0;

	/* pid and host: rank 0 notices at once when this process is gone. */
	k2_buf_u32(&hello, (uint32_t)getpid());
	k2_buf_str(&hello, j->host);
	k2_send(&j->bench->out, j->to_coord, 0, K2_T_HELLO, &hello);
	for (;;) {
		int r = k2_bench_step(j);

		if (r == 2)
			break;
		if (r < 0)
			return k2_err_set(e, r, "bench rank: MPI receive failed");
		if (k2_job_now(j) - beat > j->cfg.cluster.heartbeat_ms / 1000.0) {
			struct k2_buf b = { 0 };

			beat = k2_job_now(j);
			k2_buf_u32(&b, 0);
			k2_send(&j->bench->out, j->to_coord, 0, K2_T_PING, &b);
		}
		if (!r) {
			struct timespec ts = { 0, 2000000 };

			nanosleep(&ts, NULL);
		}
	}
	k2_outbox_drain(&j->bench->out, 2.0);
	return 0;
}
