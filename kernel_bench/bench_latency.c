/* kernel_bench/bench_latency.c: interleaved BPF_PROG_TEST_RUN timing of original and candidates. */
#include "kernel_bench/bench_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_MAX 32          /* candidates per batch: the XDP dispatcher has 48 slots */
#define REPEAT_MIN 100        /* amortises the ~25-60 ns cost of a test_run's first run */
#define REPEAT_MAX 1000000
#define SAMPLE_US_DEFAULT 2000.0
#define AA_DEFAULT 3          /* A/A copies of the original per batch */
#define AA_MAX 8

int k2_bench_time(const struct k2_kern_prog *kp, const struct k2_input *in, uint32_t repeat,
		  struct k2_kern_result *res, uint32_t *ns, struct k2_err *e)
{
	struct k2_kern_run_opts ro = { .sz = sizeof(ro), .repeat = repeat, .no_pin = true };
	int err;

	err = k2_kern_run(kp, in, &ro, res, e);
	*ns = res->duration_ns;
	return err;
}

static bool measurable(const struct k2_bench *b)
{
	return b->n_pkts > 0 && k2_kern_can_run(b->prog->type);
}

/* XDP programs go into the dispatcher for as long as they are measured (see k2_bench.h). */
static void hold(struct k2_bench *b, uint32_t id)
{
	struct k2_netns *ns;
	struct k2_err e = { 0 };

	if (b->prog->type != BPF_PROG_TYPE_XDP || b->slots[id].hold >= 0 || b->no_hold)
		return;
	if (k2_bench_netns(b, &ns, &e) == 0)
		b->slots[id].hold = k2_netns_hold(ns, b->slots[id].kp->fd, &e);
	if (b->slots[id].hold < 0) {
		b->no_hold = true;
		if (b->o.progress)
			fprintf(b->o.progress, "bench: cannot hold XDP programs in the dispatcher "
				"(%s): each sample costs ~20 ms more\n", e.msg);
	}
}

static void unhold(struct k2_bench *b, uint32_t id)
{
	if (b->ns)
		k2_netns_unhold(b->ns, b->slots[id].hold);
	b->slots[id].hold = -1;
}

/* Median over packets of the original's ns per run at a small repeat count. */
static int calibrate(struct k2_bench *b, struct k2_err *e)
{
	double sample_us = b->o.sample_us > 0 ? b->o.sample_us : SAMPLE_US_DEFAULT;
	double *v = malloc(b->n_pkts * sizeof(*v));
	struct k2_lat l;
	uint32_t ns;
	int err = 0;

	if (!v)
		return k2_err_set(e, -ENOMEM, "out of memory");
	for (uint32_t p = 0; p < b->n_pkts && !err; p++) {
		err = k2_bench_time(b->slots[0].kp, &b->pkts[p].in, 1000, b->res, &ns, e);
		v[p] = ns ? ns : 1;
	}
	k2_lat_of(v, b->n_pkts, &l);
	free(v);
	if (err)
		return err;
	b->repeat = (uint32_t)fmin(REPEAT_MAX, fmax(REPEAT_MIN, sample_us * 1e3 / l.median));
	return 0;
}

/* ns per run of `r0 = 0 (XDP_PASS for XDP); exit`: what a run costs before the program. */
static int measure_floor(struct k2_bench *b, struct k2_err *e)
{
	struct bpf_insn insns[2] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K,
		  .imm = b->prog->type == BPF_PROG_TYPE_XDP ? XDP_PASS : 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	struct k2_bench_cand c = { .insns = insns, .n_insns = 2, .source = "empty program" };
	struct k2_verify_rec r = { 0 };
	struct k2_kern_prog *kp = NULL;
	struct k2_bench_slot saved = b->slots[0];
	double *v = malloc(b->n_pkts * b->rounds * sizeof(*v));
	struct k2_lat l;
	uint32_t ns;
	int err;

	if (!v)
		return k2_err_set(e, -ENOMEM, "out of memory");
	err = k2_bench_load(b->prog, b->km, &c, &r, &kp, e);
	if (!err && r.verdict != K2_VERDICT_ACCEPTED)
		err = k2_err_set(e, -EINVAL, "empty program rejected: %s", r.reason);
	k2_verify_rec_clear(&r);
	if (!err) {
		/* Hold it through slot 0's machinery for the duration. */
		b->slots[0].kp = kp;
		b->slots[0].hold = -1;
		hold(b, 0);
		for (uint32_t i = 0; i < b->n_pkts * b->rounds && !err; i++) {
			err = k2_bench_time(kp, &b->pkts[i % b->n_pkts].in, b->repeat, b->res, &ns,
					    e);
			v[i] = ns;
		}
		unhold(b, 0);
		b->slots[0] = saved;
	}
	k2_kern_prog_free(kp);
	if (!err) {
		k2_lat_of(v, b->n_pkts * b->rounds, &l);
		b->floor_ns = l.median;
	}
	free(v);
	return err;
}

static double mix_of(const uint32_t *s, uint32_t n_pkts, uint32_t rounds, uint32_t r)
{
	double sum = 0;

	for (uint32_t p = 0; p < n_pkts; p++)
		sum += s[p * rounds + r];
	return sum / n_pkts;
}

/* Per-packet and mix statistics of one program; ratios against `orig` when given. */
static int stats(struct k2_bench *b, struct k2_bench_prog *p, const struct k2_bench_prog *orig,
		 struct k2_err *e)
{
	uint32_t R = b->rounds, P = b->n_pkts;
	double *v = malloc(R * sizeof(*v)), *w = malloc(R * sizeof(*w));
	struct k2_lat ol;
	int err = 0;

	p->pkt = calloc(P, sizeof(*p->pkt));
	p->pkt_ratio = calloc(P, sizeof(*p->pkt_ratio));
	if (!v || !w || !p->pkt || !p->pkt_ratio) {
		err = k2_err_set(e, -ENOMEM, "out of memory");
		goto out;
	}
	for (uint32_t q = 0; q < P; q++) {
		for (uint32_t r = 0; r < R; r++) {
			v[r] = p->samples[q * R + r];
			w[r] = orig ? v[r] / fmax(1, orig->samples[q * R + r]) : 1;
		}
		k2_lat_of(v, R, &p->pkt[q]);
		k2_lat_of(w, R, &ol);
		p->pkt_ratio[q] = ol.median;
	}
	for (uint32_t r = 0; r < R; r++)
		v[r] = mix_of(p->samples, P, R, r);
	k2_lat_of(v, R, &p->mix);
	p->ratio = p->ratio_lo = p->ratio_hi = 1;
	if (orig) {
		for (uint32_t r = 0; r < R; r++)
			w[r] = v[r] / fmax(1e-9, mix_of(orig->samples, P, R, r));
		k2_lat_of(w, R, &ol);
		p->ratio = ol.median;
		k2_median_ci(w, R, 0.95, &p->ratio_lo, &p->ratio_hi);
	}
out:
	free(v);
	free(w);
	return err;
}

/*
 * The resolution of a batch, from its A/A copies: more loads of the original, timed like
 * candidates. The JIT puts each image at a random offset, and identical code then differs by
 * a few percent here (alignment against fetch blocks and cache lines), so a candidate is
 * faster or slower only if its interval excludes 1 and it is farther from 1 than every A/A
 * copy's interval reaches (and than half a nanosecond: the kernel reports whole ns).
 * The original's row keeps the envelope: the copy farthest from 1, the widest interval.
 */
static void resolution(struct k2_bench_prog *orig, const struct k2_bench_prog *aa, uint32_t k)
{
	double rel = 0.5 / fmax(1e-9, orig->mix.median), far = 1, lo = 1, hi = 1;

	for (uint32_t i = 0; i < k; i++) {
		rel = fmax(rel, fmax(fabs(aa[i].ratio - 1),
				     fmax(aa[i].ratio_hi - 1, 1 - aa[i].ratio_lo)));
		if (fabs(aa[i].ratio - 1) >= fabs(far - 1))
			far = aa[i].ratio;
		lo = fmin(lo, aa[i].ratio_lo);
		hi = fmax(hi, aa[i].ratio_hi);
	}
	orig->ratio = far;
	orig->ratio_lo = lo;
	orig->ratio_hi = hi;
	orig->resolved = 0;
	orig->noise_ns = rel * orig->mix.median;
}

static void judge(struct k2_bench_prog *p, const struct k2_bench_prog *orig)
{
	double rel = orig->noise_ns / fmax(1e-9, orig->mix.median);

	p->noise_ns = orig->noise_ns;
	p->resolved = (p->ratio_lo > 1 || p->ratio_hi < 1) && fabs(p->ratio - 1) > rel;
}

/* A new history entry for the original in batch bi, owning fresh sample arrays. */
static struct k2_bench_prog *orig_entry(struct k2_bench *b, uint32_t bi, struct k2_err *e)
{
	struct k2_bench_prog *h = realloc(b->hist, (b->n_hist + 1) * sizeof(*h)), *o;

	if (!h) {
		k2_err_set(e, -ENOMEM, "out of memory");
		return NULL;
	}
	b->hist = h;
	o = &h[b->n_hist++];
	*o = b->progs[0];
	o->pkt = NULL;
	o->pkt_ratio = NULL;
	o->vr.log = NULL;
	o->written = false;
	o->batch = bi;
	o->samples = calloc(b->n_pkts * b->rounds, sizeof(uint32_t));
	if (!o->samples)
		k2_err_set(e, -ENOMEM, "out of memory");
	return o->samples ? o : NULL;
}

/* The programs of a batch in measuring order: original, A/A copies, candidates. */
struct lineup {
	const struct k2_kern_prog **kp;
	uint32_t **samples;
	uint32_t n;
};

static int time_rounds(struct k2_bench *b, const struct lineup *l, uint32_t bi,
		       struct k2_err *e)
{
	uint32_t R = b->rounds, P = b->n_pkts, ns;
	int err = k2_bench_reset_maps(b, e);

	for (uint32_t r = 0; r < R && !err; r++) {
		for (uint32_t q = 0; q < P && !err; q++) {
			for (uint32_t j = 0; j < l->n && !err; j++) {
				uint32_t k = (j + r) % l->n; /* who goes first rotates */

				err = k2_bench_time(l->kp[k], &b->pkts[q].in, b->repeat, b->res,
						    &ns, e);
				l->samples[k][q * R + r] = ns;
			}
		}
		if (!err && b->o.progress && (r + 1) % 5 == 0)
			fprintf(b->o.progress, "bench: batch %u: round %u/%u\n", bi, r + 1, R);
	}
	return err;
}

/*
 * One batch: the original, its A/A copies and up to BATCH_MAX candidates, `rounds` rounds;
 * in each round every packet is timed with every program.
 */
static int batch(struct k2_bench *b, const uint32_t *ids, uint32_t n, struct k2_err *e)
{
	uint32_t R = b->rounds, P = b->n_pkts, A = b->aa_copies, bi = b->batches, all = 1 + A + n;
	struct k2_bench_prog *orig, aa[AA_MAX];
	struct k2_kern_prog *aa_kp[AA_MAX] = { NULL };
	const struct k2_kern_prog *kp[1 + AA_MAX + BATCH_MAX];
	uint32_t *smp[1 + AA_MAX + BATCH_MAX];
	struct lineup l = { kp, smp, all };
	int aa_hold[AA_MAX], err = 0;

	memset(aa, 0, sizeof(aa));
	orig = orig_entry(b, bi, e);
	if (!orig)
		return -ENOMEM;
	kp[0] = b->slots[0].kp;
	smp[0] = orig->samples;
	for (uint32_t i = 0; i < A; i++) {
		aa_hold[i] = -1;
		aa[i].samples = calloc(P * R, sizeof(uint32_t));
		if (!err)
			err = aa[i].samples
				      ? k2_bench_load(b->prog, b->km, NULL, &aa[i].vr, &aa_kp[i], e)
				      : k2_err_set(e, -ENOMEM, "out of memory");
		if (!err && !aa_kp[i])
			err = k2_err_set(e, -EIO, "the original's A/A copy failed: %s",
					 aa[i].vr.reason);
		if (!err && b->prog->type == BPF_PROG_TYPE_XDP && b->ns && !b->no_hold)
			aa_hold[i] = k2_netns_hold(b->ns, aa_kp[i]->fd, NULL);
		kp[1 + i] = aa_kp[i];
		smp[1 + i] = aa[i].samples;
	}
	for (uint32_t k = 0; k < n && !err; k++) {
		struct k2_bench_prog *c = &b->progs[ids[k]];

		c->samples = calloc(P * R, sizeof(uint32_t));
		c->batch = bi;
		if (!c->samples)
			err = k2_err_set(e, -ENOMEM, "out of memory");
		hold(b, ids[k]);
		kp[1 + A + k] = b->slots[ids[k]].kp;
		smp[1 + A + k] = c->samples;
	}
	if (!err)
		err = time_rounds(b, &l, bi, e);
	for (uint32_t k = 0; k < n; k++)
		unhold(b, ids[k]);
	orig->n_samples = P * R;
	if (!err)
		err = stats(b, orig, NULL, e);
	for (uint32_t i = 0; i < A; i++) {
		if (b->ns)
			k2_netns_unhold(b->ns, aa_hold[i]);
		k2_kern_prog_free(aa_kp[i]);
		if (!err)
			err = stats(b, &aa[i], orig, e);
	}
	if (!err)
		resolution(orig, aa, A);
	for (uint32_t i = 0; i < A; i++)
		k2_bench_prog_release(&aa[i]);
	for (uint32_t k = 0; k < n && !err; k++) {
		b->progs[ids[k]].n_samples = P * R;
		err = stats(b, &b->progs[ids[k]], orig, e);
		judge(&b->progs[ids[k]], orig);
	}
	if (err)
		return err;
	/* progs[0] shows the latest measurement of the original; hist owns the arrays. */
	b->progs[0] = *orig;
	b->progs[0].vr.log = NULL;
	b->batches++;
	return 0;
}

int k2_bench_measure(struct k2_bench *b, struct k2_err *e)
{
	uint32_t ids[BATCH_MAX], n = 0, i = 1;
	bool first = b->n_hist == 0;
	int err = 0;

	if (b->off[0])
		return 0;
	if (!measurable(b)) {
		if (b->o.progress)
			fprintf(b->o.progress, "bench: %s programs cannot be timed with "
				"BPF_PROG_TEST_RUN on packets: latency not measured\n",
				k2_prog_type_name(b->prog->type));
		return 0;
	}
	b->aa_copies = b->o.aa_copies ? (b->o.aa_copies > AA_MAX ? AA_MAX : b->o.aa_copies)
				       : AA_DEFAULT;
	if (!b->res && !(b->res = malloc(sizeof(*b->res))))
		return k2_err_set(e, -ENOMEM, "out of memory");
	hold(b, 0);
	if (!b->repeat)
		err = b->o.repeat ? (b->repeat = b->o.repeat, 0) : calibrate(b, e);
	if (!err && isnan(b->floor_ns))
		err = measure_floor(b, e);
	if (!err && b->o.progress && first)
		fprintf(b->o.progress, "bench: %u packets, %u rounds, repeat %u, empty program "
			"%.0f ns/run\n", b->n_pkts, b->rounds, b->repeat, b->floor_ns);
	while (!err && (i < b->n_progs || first)) {
		for (n = 0; i < b->n_progs && n < BATCH_MAX; i++)
			if (b->slots[i].kp && !b->progs[i].n_samples)
				ids[n++] = i;
		if (n || first)
			err = batch(b, ids, n, e);
		first = false;
	}
	unhold(b, 0);
	return err;
}
