/* tests/unit/search_mcmc.c: Metropolis acceptance, the beta ladder, replica exchange balance. */
#include <criterion/criterion.h>
#include <math.h>

#include "search/k2search.h"

#define NS 6 /* toy state space: 0..5 on a ring */

static const double toy_cost[NS] = { 0, 1, 3, 0.5, 2, 4 };

/* exp(-beta c) / Z over the toy space. */
static void boltzmann(double beta, double *p)
{
	double z = 0;

	for (int i = 0; i < NS; i++)
		z += p[i] = exp(-beta * toy_cost[i]);
	for (int i = 0; i < NS; i++)
		p[i] /= z;
}

/* One Metropolis step with a symmetric proposal (a neighbour on the ring). */
static int mh_step(int x, double beta, struct k2_rng *r)
{
	int y = (x + (k2_rng_below(r, 2) ? 1 : NS - 1)) % NS;

	return k2_mh_accept(beta, toy_cost[x], toy_cost[y], k2_rng_unit(r)) ? y : x;
}

Test(search_mcmc, acceptance_rule)
{
	/* Downhill and level moves are always taken; uphill ones with exp(-beta d). */
	cr_expect(k2_mh_accept(2, 5, 3, 0.999));
	cr_expect(k2_mh_accept(2, 5, 5, 0.999));
	cr_expect(k2_mh_accept(1, 0, 1, exp(-1) * 0.999));
	cr_expect_not(k2_mh_accept(1, 0, 1, exp(-1) * 1.001));
	cr_expect_float_eq(k2_mh_limit(0.5, 10, exp(-2)), 14, 1e-9);
	cr_expect(isinf(k2_mh_limit(1, 3, 0)));
	/* The empirical acceptance of a +1 move at beta 0.7 over many u. */
	struct k2_rng r;
	int acc = 0, n = 200000;

	k2_rng_seed(&r, 3);
	for (int i = 0; i < n; i++)
		acc += k2_mh_accept(0.7, 1, 2, k2_rng_unit(&r));
	cr_expect(fabs((double)acc / n - exp(-0.7)) < 0.005, "%f vs %f", (double)acc / n,
		  exp(-0.7));
}

Test(search_mcmc, metropolis_samples_the_boltzmann_distribution)
{
	double p[NS], seen[NS] = { 0 };
	struct k2_rng r;
	int x = 0, n = 2000000;

	k2_rng_seed(&r, 11);
	boltzmann(1.0, p);
	for (int i = 0; i < n; i++) {
		x = mh_step(x, 1.0, &r);
		seen[x]++;
	}
	for (int i = 0; i < NS; i++)
		cr_expect(fabs(seen[i] / n - p[i]) < 0.005, "state %d: %f vs %f", i, seen[i] / n,
			  p[i]);
}

Test(search_mcmc, geometric_ladder)
{
	struct k2_pt pt;

	k2_pt_init(&pt, 5, 2.0, 0.05);
	cr_assert_eq(pt.m, 5);
	cr_expect_float_eq(pt.beta[0], 2.0, 1e-12);
	cr_expect_float_eq(pt.beta[4], 0.05, 1e-12);
	for (int k = 1; k < 4; k++)
		cr_expect_float_eq(pt.beta[k] / pt.beta[k - 1], pt.beta[k + 1] / pt.beta[k], 1e-9);
	k2_pt_init(&pt, 1, 2.0, 0.05);
	cr_expect_eq(pt.m, 1);
	cr_expect_float_eq(pt.beta[0], 2.0, 1e-12);
}

/* The acceptance probability of a swap: the measure of the u in [0, 1) that accept (the rule
 * must accept exactly an interval [0, p), found by bisection). */
static double swap_prob(double bi, double bj, double ci, double cj)
{
	double lo = 0, hi = 1;

	if (k2_pt_swap_accept(bi, bj, ci, cj, nextafter(1.0, 0)))
		return 1;
	cr_assert(k2_pt_swap_accept(bi, bj, ci, cj, 0) || !k2_pt_swap_accept(bi, bj, ci, cj, 1e-300));
	for (int k = 0; k < 80; k++) {
		double mid = (lo + hi) / 2;

		if (k2_pt_swap_accept(bi, bj, ci, cj, mid))
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* pi_i(x) pi_j(y) P(swap) = pi_i(y) pi_j(x) P(swap back), for every pair of toy states. */
Test(search_mcmc, swap_rule_detailed_balance)
{
	const double bi = 1.7, bj = 0.4;

	for (int x = 0; x < NS; x++)
		for (int y = 0; y < NS; y++) {
			double fwd = swap_prob(bi, bj, toy_cost[x], toy_cost[y]);
			double back = swap_prob(bi, bj, toy_cost[y], toy_cost[x]);
			double lhs, rhs;

			lhs = exp(-bi * toy_cost[x] - bj * toy_cost[y]) * fwd;
			rhs = exp(-bi * toy_cost[y] - bj * toy_cost[x]) * back;
			cr_expect(fabs(lhs - rhs) < 1e-9 * (lhs + rhs),
				  "x=%d y=%d: %g vs %g", x, y, lhs, rhs);
		}
}

struct toy_chains {
	int x[4];
};

static void toy_swap(void *arg, uint32_t i, uint32_t j)
{
	struct toy_chains *c = arg;
	int t = c->x[i];

	c->x[i] = c->x[j];
	c->x[j] = t;
}

/* With exchanges every few steps, each replica still samples its own temperature exactly. */
Test(search_mcmc, parallel_tempering_keeps_each_stationary_distribution)
{
	struct toy_chains c = { { 0, 1, 2, 3 } };
	double seen[4][NS] = { { 0 } }, costs[4], p[NS];
	struct k2_pt pt;
	struct k2_rng r;
	int rounds = 300000;

	k2_rng_seed(&r, 5);
	k2_pt_init(&pt, 4, 2.0, 0.1);
	for (int k = 0; k < rounds; k++) {
		for (uint32_t m = 0; m < pt.m; m++)
			for (int s = 0; s < 5; s++) {
				c.x[m] = mh_step(c.x[m], pt.beta[m], &r);
				seen[m][c.x[m]]++;
			}
		for (uint32_t m = 0; m < pt.m; m++)
			costs[m] = toy_cost[c.x[m]];
		k2_pt_exchange(&pt, costs, &r, toy_swap, &c);
		for (uint32_t m = 0; m < pt.m; m++)
			cr_assert_float_eq(costs[m], toy_cost[c.x[m]], 0, "costs move with states");
	}
	for (uint32_t m = 0; m < pt.m; m++) {
		boltzmann(pt.beta[m], p);
		for (int i = 0; i < NS; i++) {
			double f = seen[m][i] / (rounds * 5.0);

			cr_expect(fabs(f - p[i]) < 0.01, "chain %u (beta %.3f) state %d: %f vs %f",
				  m, pt.beta[m], i, f, p[i]);
		}
	}
	/* Pairs alternate: (0,1),(2,3) then (1,2). */
	cr_expect_eq(pt.tried[0], rounds / 2);
	cr_expect_eq(pt.tried[1], rounds / 2);
	cr_expect_eq(pt.tried[2], rounds / 2);
	for (uint32_t k = 0; k + 1 < pt.m; k++)
		cr_expect(pt.accepted[k] > 0 && pt.accepted[k] <= pt.tried[k]);
}
