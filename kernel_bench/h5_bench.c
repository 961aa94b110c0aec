/* kernel_bench/h5_bench.c: a trace's /bench group: candidates, packets, statistics, samples. */
#include "kernel_bench/bench_int.h"
#include "kernel_bench/h5_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct cand_row {
	uint32_t id, batch;
	const char *windows, *source;
	uint32_t insns;
	int32_t verdict, err;
	uint32_t verified_insns, xlated_len, jited_len;
	double load_us;
	double ns_median, ns_min, ns_max, ns_q1, ns_q3;
	double ratio, ratio_lo, ratio_hi;
	int32_t resolved;
	double noise_ns;
	double pps;
	uint64_t live_sent, live_processed;
	double live_seconds;
	const char *reason, *verifier_log;
};

#define C(m, t) K2_H5_FIELD(struct cand_row, m, t)
static const struct k2_h5_field cand_fields[] = {
	C(id, K2_H5_U32), C(batch, K2_H5_U32), C(windows, K2_H5_STR), C(source, K2_H5_STR),
	C(insns, K2_H5_U32), C(verdict, K2_H5_I32), C(err, K2_H5_I32),
	C(verified_insns, K2_H5_U32), C(xlated_len, K2_H5_U32), C(jited_len, K2_H5_U32),
	C(load_us, K2_H5_F64), C(ns_median, K2_H5_F64), C(ns_min, K2_H5_F64),
	C(ns_max, K2_H5_F64), C(ns_q1, K2_H5_F64), C(ns_q3, K2_H5_F64), C(ratio, K2_H5_F64),
	C(ratio_lo, K2_H5_F64), C(ratio_hi, K2_H5_F64), C(resolved, K2_H5_I32),
	C(noise_ns, K2_H5_F64), C(pps, K2_H5_F64), C(live_sent, K2_H5_U64),
	C(live_processed, K2_H5_U64), C(live_seconds, K2_H5_F64), C(reason, K2_H5_STR),
	C(verifier_log, K2_H5_STR),
};
#undef C

struct pkt_row {
	uint32_t id, len;
	const char *desc;
	const char *hex;
};

#define C(m, t) K2_H5_FIELD(struct pkt_row, m, t)
static const struct k2_h5_field pkt_fields[] = {
	C(id, K2_H5_U32), C(len, K2_H5_U32), C(desc, K2_H5_STR), C(hex, K2_H5_STR),
};
#undef C

struct pstat_row {
	uint32_t candidate, batch, packet;
	double median, min, max, q1, q3, ratio;
};

#define C(m, t) K2_H5_FIELD(struct pstat_row, m, t)
static const struct k2_h5_field pstat_fields[] = {
	C(candidate, K2_H5_U32), C(batch, K2_H5_U32), C(packet, K2_H5_U32), C(median, K2_H5_F64),
	C(min, K2_H5_F64), C(max, K2_H5_F64), C(q1, K2_H5_F64), C(q3, K2_H5_F64),
	C(ratio, K2_H5_F64),
};
#undef C

struct sample_row {
	uint32_t candidate, batch, packet, round, repeat, ns;
};

#define C(m, t) K2_H5_FIELD(struct sample_row, m, t)
static const struct k2_h5_field sample_fields[] = {
	C(candidate, K2_H5_U32), C(batch, K2_H5_U32), C(packet, K2_H5_U32), C(round, K2_H5_U32),
	C(repeat, K2_H5_U32), C(ns, K2_H5_U32),
};
#undef C

#define NF(a) ((uint32_t)(sizeof(a) / sizeof((a)[0])))

struct tables {
	struct k2_h5_table *cand, *pkt, *pstat, *samp;
};

static void cand_row_of(const struct k2_bench_prog *p, struct cand_row *r)
{
	memset(r, 0, sizeof(*r));
	r->id = p->id;
	r->batch = p->n_samples ? p->batch : UINT32_MAX;
	r->windows = p->windows;
	r->source = p->source;
	r->insns = p->vr.n_insns;
	r->verdict = p->vr.verdict;
	r->err = p->vr.err;
	r->verified_insns = p->vr.verified_insns;
	r->xlated_len = p->vr.xlated_len;
	r->jited_len = p->vr.jited_len;
	r->load_us = p->vr.verdict == K2_VERDICT_ACCEPTED ? p->vr.load_us : NAN;
	r->ns_median = p->n_samples ? p->mix.median : NAN;
	r->ns_min = p->n_samples ? p->mix.min : NAN;
	r->ns_max = p->n_samples ? p->mix.max : NAN;
	r->ns_q1 = p->n_samples ? p->mix.q1 : NAN;
	r->ns_q3 = p->n_samples ? p->mix.q3 : NAN;
	r->ratio = p->ratio;
	r->ratio_lo = p->ratio_lo;
	r->ratio_hi = p->ratio_hi;
	r->resolved = p->resolved;
	r->noise_ns = p->noise_ns;
	r->pps = p->pps;
	r->live_sent = p->live_sent;
	r->live_processed = p->live_processed;
	r->live_seconds = p->live_seconds;
	r->reason = p->vr.verdict == K2_VERDICT_REJECTED ? p->vr.reason : "";
	r->verifier_log = p->vr.log;
}

/* One program's rows: candidates, and per-packet statistics and raw samples when measured. */
static int write_prog(const struct k2_bench *b, struct tables *t, const struct k2_bench_prog *p,
		      struct k2_err *e)
{
	uint32_t R = b->rounds, P = b->n_pkts;
	struct cand_row cr;
	struct pstat_row *ps;
	struct sample_row *sr;
	int err;

	cand_row_of(p, &cr);
	err = k2_h5_table_append(t->cand, &cr, 1, e);
	if (err || !p->n_samples)
		return err;
	ps = calloc(P, sizeof(*ps));
	sr = calloc((size_t)P * R, sizeof(*sr));
	if (!ps || !sr) {
		free(ps);
		free(sr);
		return k2_err_set(e, -ENOMEM, "out of memory");
	}
	for (uint32_t q = 0; q < P; q++) {
		ps[q] = (struct pstat_row){ p->id, p->batch, q, p->pkt[q].median, p->pkt[q].min,
					    p->pkt[q].max, p->pkt[q].q1, p->pkt[q].q3,
					    p->pkt_ratio[q] };
		for (uint32_t r = 0; r < R; r++)
			sr[q * R + r] = (struct sample_row){ p->id, p->batch, q, r, b->repeat,
							     p->samples[q * R + r] };
	}
	err = k2_h5_table_append(t->pstat, ps, P, e);
	if (!err)
		err = k2_h5_table_append(t->samp, sr, (size_t)P * R, e);
	free(ps);
	free(sr);
	return err;
}

static int write_packets(const struct k2_bench *b, struct tables *t, struct k2_err *e)
{
	int err = 0;

	for (uint32_t i = 0; i < b->n_pkts && !err; i++) {
		const struct k2_input *in = &b->pkts[i].in;
		char *hex = malloc(2 * (size_t)in->pkt_len + 1);
		struct pkt_row r = { i, in->pkt_len, b->pkts[i].desc, hex };

		if (!hex)
			return k2_err_set(e, -ENOMEM, "out of memory");
		for (uint32_t j = 0; j < in->pkt_len; j++)
			snprintf(hex + 2 * j, 3, "%02x", in->pkt[j]);
		hex[2 * in->pkt_len] = '\0';
		err = k2_h5_table_append(t->pkt, &r, 1, e);
		free(hex);
	}
	return err;
}

static int start(struct k2_bench *b, struct k2_h5 *h, struct tables *t, struct k2_err *e)
{
	int err = k2_h5_group(h, "/bench", e);

	err = err ? err : k2_h5_table_create(h, "/bench/candidates", cand_fields, NF(cand_fields),
					     sizeof(struct cand_row), 64, &t->cand, e);
	err = err ? err : k2_h5_table_create(h, "/bench/packets", pkt_fields, NF(pkt_fields),
					     sizeof(struct pkt_row), 64, &t->pkt, e);
	err = err ? err : k2_h5_table_create(h, "/bench/packet_stats", pstat_fields,
					     NF(pstat_fields), sizeof(struct pstat_row), 256,
					     &t->pstat, e);
	err = err ? err : k2_h5_table_create(h, "/bench/samples", sample_fields,
					     NF(sample_fields), sizeof(struct sample_row), 4096,
					     &t->samp, e);
	err = err ? err : write_packets(b, t, e);
	err = err ? err : k2_h5_attr_str(h, "/bench", "kernel",
					 b->off[0] ? "not checked" : "checked", e);
	err = err ? err : k2_h5_attr_str(h, "/bench", "kernel_off_reason", b->off, e);
	err = err ? err : k2_h5_attr_str(h, "/bench", "prog_type",
					 k2_prog_type_name(b->prog->type), e);
	err = err ? err : k2_h5_attr_str(h, "/bench", "prog_name", b->prog->name, e);
	err = err ? err : k2_h5_attr_u64(h, "/bench", "bench_cpu", (uint64_t)(int64_t)b->cpu, e);
	return err;
}

static int reopen(struct k2_h5 *h, struct tables *t, struct k2_err *e)
{
	int err = k2_h5_table_open(h, "/bench/candidates", cand_fields, NF(cand_fields),
				   sizeof(struct cand_row), &t->cand, e);

	err = err ? err
		  : k2_h5_table_open(h, "/bench/packet_stats", pstat_fields, NF(pstat_fields),
				     sizeof(struct pstat_row), &t->pstat, e);
	err = err ? err : k2_h5_table_open(h, "/bench/samples", sample_fields, NF(sample_fields),
					   sizeof(struct sample_row), &t->samp, e);
	return err;
}

/* A program's rows can be written once nothing more will be measured for it. */
static bool done(const struct k2_bench *b, const struct k2_bench_prog *p)
{
	return b->off[0] || p->vr.verdict != K2_VERDICT_ACCEPTED || p->n_samples || !b->n_pkts ||
	       !k2_kern_can_run(b->prog->type);
}

int k2_bench_trace(struct k2_bench *b, struct k2_h5 *h, struct k2_err *e)
{
	struct tables t = { 0 };
	int err;

	err = b->trace_started ? reopen(h, &t, e) : start(b, h, &t, e);
	b->trace_started = true;
	/* The original once per measurement batch, then finished candidates. */
	for (uint32_t i = b->hist_written; i < b->n_hist && !err; i++) {
		err = write_prog(b, &t, &b->hist[i], e);
		b->hist_written = i + 1;
	}
	if (!err && !b->n_hist && !b->progs[0].written) {
		err = write_prog(b, &t, &b->progs[0], e);
		b->progs[0].written = true;
	}
	for (uint32_t i = 1; i < b->n_progs && !err; i++) {
		if (b->progs[i].written || !done(b, &b->progs[i]))
			continue;
		err = write_prog(b, &t, &b->progs[i], e);
		b->progs[i].written = true;
	}
	err = err ? err : k2_h5_attr_u64(h, "/bench", "repeat", b->repeat, e);
	err = err ? err : k2_h5_attr_u64(h, "/bench", "rounds", b->rounds, e);
	err = err ? err : k2_h5_attr_u64(h, "/bench", "n_packets", b->n_pkts, e);
	err = err ? err : k2_h5_attr_f64(h, "/bench", "floor_ns", b->floor_ns, e);
	err = err ? err : k2_h5_attr_f64(h, "/bench", "live_seconds", b->o.live_seconds, e);
	err = err ? err : k2_h5_attr_str(h, "/bench", "live_device",
					 b->o.ifname ? b->o.ifname : "veth (private netns)", e);
	k2_h5_table_close(t.cand);
	k2_h5_table_close(t.pkt);
	k2_h5_table_close(t.pstat);
	k2_h5_table_close(t.samp);
	return err;
}
