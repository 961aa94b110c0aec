/* search/mcmc.c: Metropolis-Hastings acceptance, the beta ladder and replica exchange. */
#include <math.h>
#include <string.h>

#include "search/k2search.h"

bool k2_mh_accept(double beta, double a, double b, double u)
{
	return b <= k2_mh_limit(beta, a, u);
}

/* u < exp(-beta (b - a))  <=>  b < a - ln(u) / beta. */
double k2_mh_limit(double beta, double a, double u)
{
	if (u <= 0 || beta <= 0)
		return INFINITY;
	return a - log(u) / beta;
}

bool k2_pt_swap_accept(double beta_i, double beta_j, double c_i, double c_j, double u)
{
	double x = (beta_i - beta_j) * (c_i - c_j);

	return x >= 0 || u < exp(x);
}

void k2_pt_init(struct k2_pt *pt, uint32_t m, double beta_max, double beta_min)
{
	memset(pt, 0, sizeof(*pt));
	if (m < 1)
		m = 1;
	if (m > K2_PT_MAX)
		m = K2_PT_MAX;
	pt->m = m;
	for (uint32_t k = 0; k < m; k++)
		pt->beta[k] = m == 1 ? beta_max
				     : beta_max * pow(beta_min / beta_max, (double)k / (m - 1));
}

void k2_pt_exchange(struct k2_pt *pt, double *costs, struct k2_rng *rng,
		    void (*swap)(void *arg, uint32_t i, uint32_t j), void *arg)
{
	for (uint32_t i = (uint32_t)(pt->rounds & 1); i + 1 < pt->m; i += 2) {
		double u = k2_rng_unit(rng);

		pt->tried[i]++;
		if (!k2_pt_swap_accept(pt->beta[i], pt->beta[i + 1], costs[i], costs[i + 1], u))
			continue;
		pt->accepted[i]++;
		double t = costs[i];
		costs[i] = costs[i + 1];
		costs[i + 1] = t;
		if (swap)
			swap(arg, i, i + 1);
	}
	pt->rounds++;
}
