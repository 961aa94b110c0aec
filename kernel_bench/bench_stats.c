/* kernel_bench/bench_stats.c: order statistics of latency samples and the median's interval. */
#include "kernel_bench/bench_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double k2_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Quantile q of sorted values, linear between order statistics (R's type 7). */
static double quantile(const double *s, uint32_t n, double q)
{
	double h = (n - 1) * q;
	uint32_t i = (uint32_t)h;

	if (i + 1 >= n)
		return s[n - 1];
	return s[i] + (h - i) * (s[i + 1] - s[i]);
}

void k2_lat_of(const double *v, uint32_t n, struct k2_lat *out)
{
	double *s;

	memset(out, 0, sizeof(*out));
	out->n = n;
	if (!n) {
		out->median = out->min = out->max = out->q1 = out->q3 = NAN;
		return;
	}
	s = malloc(n * sizeof(*s));
	if (!s) {
		out->median = out->min = out->max = out->q1 = out->q3 = NAN;
		return;
	}
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_double);
	out->min = s[0];
	out->max = s[n - 1];
	out->median = quantile(s, n, 0.5);
	out->q1 = quantile(s, n, 0.25);
	out->q3 = quantile(s, n, 0.75);
	free(s);
}

/* P(X <= k) for X ~ Binomial(n, 1/2). */
static double binom_cdf_half(uint32_t n, uint32_t k)
{
	double p = pow(0.5, n), sum = 0;

	for (uint32_t i = 0; i <= k && i <= n; i++) {
		sum += p;
		p = p * (n - i) / (i + 1);
	}
	return sum;
}

double k2_median_ci(const double *v, uint32_t n, double level, double *lo, double *hi)
{
	double *s, cover = 0;
	uint32_t k = 1;

	*lo = *hi = NAN;
	if (!n)
		return 0;
	s = malloc(n * sizeof(*s));
	if (!s)
		return 0;
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_double);
	/* [x(k), x(n+1-k)] (1-based) covers the median with 1 - 2 P(X <= k - 1). */
	for (uint32_t j = 1; 2 * j <= n; j++) {
		double c = 1 - 2 * binom_cdf_half(n, j - 1);

		if (c < level)
			break;
		k = j;
		cover = c;
	}
	if (cover == 0)
		cover = n > 1 ? 1 - 2 * pow(0.5, n) : 0;
	*lo = s[k - 1];
	*hi = s[n - k];
	free(s);
	return cover;
}
