/* kernel_bench/bench_print.c: the session as a table: verdicts, ns/packet, ratio, packets/s. */
#include "kernel_bench/bench_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *base(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static void print_prog(const struct k2_bench *b, const struct k2_bench_prog *p, FILE *f)
{
	char lat[64] = "-", ratio[64] = "-", pps[32] = "-";

	fprintf(f, "%4u  %-24.24s %6u  ", p->id, p->source[0] ? base(p->source) : "-",
		p->vr.n_insns);
	if (p->vr.verdict != K2_VERDICT_ACCEPTED) {
		fprintf(f, "%s\n", p->vr.verdict == K2_VERDICT_REJECTED ? p->vr.reason
									: "kernel: not checked");
		return;
	}
	if (p->n_samples)
		snprintf(lat, sizeof(lat), "%7.1f [%.1f, %.1f]", p->mix.median, p->mix.min,
			 p->mix.max);
	if (p->n_samples && p->id)
		snprintf(ratio, sizeof(ratio), "%.3f [%.3f, %.3f] %s", p->ratio, p->ratio_lo,
			 p->ratio_hi, p->resolved ? (p->ratio < 1 ? "faster" : "slower")
						  : "same (below resolution)");
	else if (p->n_samples) /* the original: its A/A pair, the batch's noise */
		snprintf(ratio, sizeof(ratio), "A/A %.3f [%.3f, %.3f]", p->ratio, p->ratio_lo,
			 p->ratio_hi);
	if (!isnan(p->pps))
		snprintf(pps, sizeof(pps), "%.4g", p->pps / 1e6);
	fprintf(f, "%-8s %7u %9.1f  %-26s %-40s %s\n", "ok", p->vr.verified_insns, p->vr.load_us,
		lat, ratio, pps);
	(void)b;
}

void k2_bench_print(const struct k2_bench *b, FILE *f)
{
	fprintf(f, "%4s  %-24s %6s  %-8s %7s %9s  %-26s %-40s %s\n", "id", "source", "insns",
		"verifier", "vinsns", "load_us", "ns/packet median [min, max]",
		"ratio to original [95% CI]", "Mpps");
	for (uint32_t i = 0; i < b->n_progs; i++)
		print_prog(b, &b->progs[i], f);
	if (b->off[0])
		fprintf(f, "kernel: not checked (%s)\n", b->off);
	else if (b->n_hist)
		fprintf(f,
			"ns/packet: the mean over %u packets per round, over %u rounds; repeat %u; "
			"empty program %.1f ns/run; noise floor %.1f ns\n",
			b->n_pkts, b->rounds, b->repeat, b->floor_ns, b->progs[0].noise_ns);
	else
		fprintf(f, "latency: not measured (%s)\n",
			b->n_pkts ? "not run" : "no packets for this program type");
}
