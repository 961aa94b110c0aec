/* tests/kernel/bench_latency.c: interleaved BPF_PROG_TEST_RUN timing: order, samples, ratios. */
#include <math.h>

#include "tests/kernel/bench_util.h"

/*
 * 1000 dependent ALU instructions cost far more than 10 (each at least a cycle), whatever
 * else runs on the machine: a comparison that holds on any box, not a timing threshold.
 */
Test(bench_latency, long_program_is_slower)
{
	char *ts = bench_alu_text(10, XDP_PASS), *tl = bench_alu_text(1000, XDP_PASS);
	struct k2_prog s = bench_prog("lat_short", ts), l = bench_prog("lat_long", tl);
	struct k2_bench_cand c = { .insns = l.insns, .n_insns = l.n_insns, .source = "long" };
	struct k2_bench *b;
	struct k2_err e = { 0 };
	const struct k2_bench_prog *o, *x;
	K2_BENCH_OPTS(opts, .rounds = 6, .packets = 4, .sample_us = 300);

	bench_need_kernel();
	cr_assert_eq(k2_bench_new(&s, &opts, &b, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_bench_add(b, &c, NULL, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_bench_measure(b, &e), 0, "%s", e.msg);
	o = k2_bench_prog(b, 0);
	x = k2_bench_prog(b, 1);
	cr_assert_eq(k2_bench_n_packets(b), 4);
	cr_assert_eq(o->n_samples, 4 * 6);
	cr_assert_eq(x->n_samples, 4 * 6);
	cr_assert_geq(k2_bench_repeat(b), 100);
	cr_assert_gt(k2_bench_floor_ns(b), 0);
	/* medians, per packet and over the mix */
	cr_assert_gt(x->mix.median, o->mix.median, "1000 insns %.1f ns vs 10 insns %.1f ns",
		     x->mix.median, o->mix.median);
	for (uint32_t p = 0; p < 4; p++)
		cr_assert_gt(x->pkt[p].median, o->pkt[p].median, "packet %u", p);
	cr_assert_gt(x->ratio, 1.5, "ratio %.3f", x->ratio);
	cr_assert_leq(x->ratio_lo, x->ratio);
	cr_assert_geq(x->ratio_hi, x->ratio);
	cr_assert_eq(x->resolved, 1);
	/* the original's own row: the A/A pair, and statistics that are consistent */
	cr_assert(o->ratio_lo <= o->ratio && o->ratio <= o->ratio_hi);
	cr_assert(o->mix.min <= o->mix.median && o->mix.median <= o->mix.max);
	cr_assert_gt(o->noise_ns, 0);
	k2_bench_free(b);
	free(s.insns);
	free(l.insns);
	free(ts);
	free(tl);
}

Test(bench_latency, same_program_is_not_called_faster)
{
	char *t = bench_alu_text(200, XDP_PASS);
	struct k2_prog p = bench_prog("lat_same", t);
	struct k2_bench_cand c = { .insns = p.insns, .n_insns = p.n_insns, .source = "copy" };
	struct k2_bench *b;
	struct k2_err e = { 0 };
	const struct k2_bench_prog *x;
	K2_BENCH_OPTS(opts, .rounds = 8, .packets = 2, .sample_us = 300);

	bench_need_kernel();
	cr_assert_eq(k2_bench_new(&p, &opts, &b, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_bench_add(b, &c, NULL, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_bench_measure(b, &e), 0, "%s", e.msg);
	x = k2_bench_prog(b, 1);
	/* a copy may land at an unlucky address, but never by a factor */
	cr_assert(x->ratio > 0.8 && x->ratio < 1.25, "ratio %.3f", x->ratio);
	k2_bench_free(b);
	free(p.insns);
	free(t);
}

Test(bench_latency, statistics)
{
	double v[] = { 5, 1, 4, 2, 3 }, lo, hi, cover;
	double w[20];
	struct k2_lat l;

	k2_lat_of(v, 5, &l);
	cr_assert_eq(l.median, 3);
	cr_assert_eq(l.min, 1);
	cr_assert_eq(l.max, 5);
	cr_assert_eq(l.q1, 2);
	cr_assert_eq(l.q3, 4);
	for (int i = 0; i < 20; i++)
		w[i] = i + 1;
	/* n = 20: order statistics 6 and 15 cover the median with 95.9% */
	cover = k2_median_ci(w, 20, 0.95, &lo, &hi);
	cr_assert_eq(lo, 6);
	cr_assert_eq(hi, 15);
	cr_assert(cover > 0.95 && cover < 0.96, "%f", cover);
	/* too few values for 95%: the range */
	cover = k2_median_ci(v, 5, 0.95, &lo, &hi);
	cr_assert_eq(lo, 1);
	cr_assert_eq(hi, 5);
	cr_assert(fabs(cover - 0.9375) < 1e-9);
}

Test(bench_latency, kernel_programs_without_packets_are_not_timed)
{
	struct k2_prog p = bench_prog("lat_tp", "r0 = 0\nexit\n");
	struct k2_bench *b;
	struct k2_err e = { 0 };
	K2_BENCH_OPTS(opts, .pin = K2_PIN_NONE);

	bench_need_kernel();
	p.type = BPF_PROG_TYPE_KPROBE;
	snprintf(p.sec, sizeof(p.sec), "kprobe/tcp_v4_connect");
	cr_assert_eq(k2_bench_new(&p, &opts, &b, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_bench_measure(b, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_bench_prog(b, 0)->n_samples, 0);
	cr_assert_eq(k2_bench_prog(b, 0)->resolved, -1);
	k2_bench_free(b);
	free(p.insns);
}
