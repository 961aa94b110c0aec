/* mpi/assign.c: budget shares, which rank searches which window, rebalancing, replica exchange. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mpi/coord_int.h"

/*
 * A window's share of the budget is proportional to its difficulty: rank-seconds in timed
 * runs (budget x searching ranks), proposals under --iters (N x difficulty). Free ranks go,
 * one at a time in rank order, to a window not started yet (timed runs: least difficult
 * first), then to the unfinished window with the most share left per rank it would then
 * have (D'Hondt: rank counts end up proportional to difficulty, and with fewer ranks than
 * windows the windows queue). A window is done when its share is spent; one that
 * has not improved for stall_seconds gives its ranks and the rest of its share to the others
 * (timed runs). Ranks of one window form one temperature ladder: chain k of position p sits
 * at rung p + k*g of a geometric ladder of chains*g rungs, so every rank's coldest chain is
 * among the g coldest rungs and neighbouring positions exchange coldest chains.
 */

static uint32_t live_searchers(const struct k2_coord *c)
{
	uint32_t n = 0;

	for (int r = 0; r < c->j->size; r++)
		n += c->r[r].searcher && !c->r[r].dropped && !c->r[r].failed;
	return n;
}

static void shares(struct k2_coord *c, double total)
{
	double d = 0;

	for (uint32_t i = 0; i < c->nw; i++)
		if (c->w[i].phase != K2_W_DONE)
			d += c->w[i].win.difficulty > 0 ? c->w[i].win.difficulty : 1;
	for (uint32_t i = 0; i < c->nw && d > 0; i++) {
		struct k2_cwin *w = &c->w[i];
		double di = w->win.difficulty > 0 ? w->win.difficulty : 1;

		if (w->phase != K2_W_DONE)
			w->share = w->used + total * di / d;
	}
}

/* A released share goes to the windows still open, in proportion to their difficulty. */
static void redistribute(struct k2_coord *c, double amount)
{
	double d = 0;

	for (uint32_t i = 0; i < c->nw; i++)
		if (c->w[i].phase != K2_W_DONE)
			d += c->w[i].win.difficulty > 0 ? c->w[i].win.difficulty : 1;
	for (uint32_t i = 0; i < c->nw && d > 0 && amount > 0; i++)
		if (c->w[i].phase != K2_W_DONE)
			c->w[i].share += amount *
					 (c->w[i].win.difficulty > 0 ? c->w[i].win.difficulty : 1) / d;
}

void k2_sched_init(struct k2_coord *c)
{
	struct k2_job *j = c->j;

	if (j->iters) {
		for (uint32_t i = 0; i < c->nw; i++) {
			double di = c->w[i].win.difficulty > 0 ? c->w[i].win.difficulty : 1;

			c->w[i].share = (double)j->iters * di;
		}
	} else {
		shares(c, j->budget * live_searchers(c));
	}
	for (uint32_t i = 0; i < c->nw; i++)
		if (c->w[i].phase != K2_W_DONE && c->w[i].used >= c->w[i].share)
			c->w[i].phase = K2_W_DONE;
}

static void ladder(const struct k2_coord *c, uint32_t pos, uint32_t g, double *bmax, double *bmin)
{
	const struct k2_search_cfg *s = &c->j->cfg.search;
	double m = s->chains ? s->chains : 1, rungs = m * g, r;

	if (!c->j->cfg.cluster.tempering) {
		*bmax = *bmin = s->beta_max;
		return;
	}
	if (rungs <= 1) {
		*bmax = s->beta_max;
		*bmin = s->beta_min;
		return;
	}
	r = pow(s->beta_min / s->beta_max, 1.0 / (rungs - 1));
	*bmax = s->beta_max * pow(r, pos);
	*bmin = s->beta_max * pow(r, pos + (m - 1) * g);
}

/* ASSIGN: u32 epoch, i32 window, u32 position, u32 group, f64 bmax, f64 bmin, u64 seed,
 * u32 round, f64 seconds until the budget ends (0: no time limit, --iters), then records
 * (the window's pools for a rank that joins it), END. */
static void send_assign(struct k2_coord *c, int rank, bool joins)
{
	/* Sent by k2_sched_flush once every decision of this turn is made: a rank told "alone
	 * on window 7" and at once "first of two" could otherwise run a slice in between,
	 * which would make --iters runs depend on timing. */
	c->r[rank].assign_due = true;
	c->r[rank].assign_joins |= joins;
}

static void assign_now(struct k2_coord *c, int rank, bool joins)
{
	struct k2_crank *r = &c->r[rank];
	struct k2_buf b = { 0 };
	uint32_t g = 0;
	double bmax = 0, bmin = 0;

	/* What was queued under the old epoch goes first (same window: still valid). */
	k2_coord_flush(c, rank);
	r->epoch++;
	r->cold_fresh = false;
	if (r->win >= 0) {
		g = c->w[r->win].n_members;
		ladder(c, r->pos, g, &bmax, &bmin);
	}
	k2_buf_u32(&b, r->epoch);
	k2_buf_u32(&b, (uint32_t)r->win);
	k2_buf_u32(&b, r->pos);
	k2_buf_u32(&b, g);
	k2_buf_f64(&b, bmax);
	k2_buf_f64(&b, bmin);
	k2_buf_u64(&b, k2_job_seed(c->j, 0x5eed, (uint64_t)rank << 32 | (uint32_t)r->win,
				   r->windows + ((uint64_t)c->j->generation << 32)));
	k2_buf_u32(&b, c->round);
	/* Relative, as ranks' clocks start apart: a worker's slices, and z3 questions in them
	 * (up to [smt] timeout_ms each), then end with the budget instead of past it. */
	k2_buf_f64(&b, c->j->iters ? 0 : fmax(c->deadline - k2_job_now(c->j), 1e-3));
	if (joins && r->win >= 0)
		k2_pool_put_all(c, (uint32_t)r->win, &b);
	k2_buf_u8(&b, K2_R_END);
	k2_coord_send(c, rank, K2_T_ASSIGN, &b);
}

void k2_sched_flush(struct k2_coord *c)
{
	for (int rank = 0; rank < c->j->size; rank++) {
		struct k2_crank *r = &c->r[rank];

		if (!r->assign_due)
			continue;
		r->assign_due = false;
		assign_now(c, rank, r->assign_joins);
		r->assign_joins = false;
	}
}

static void renumber(struct k2_coord *c, uint32_t win, int except)
{
	struct k2_cwin *w = &c->w[win];

	for (uint32_t m = 0; m < w->n_members; m++) {
		c->r[w->members[m]].pos = m;
		if (w->members[m] != except)
			send_assign(c, w->members[m], false);
	}
}

static void leave(struct k2_coord *c, int rank)
{
	struct k2_crank *r = &c->r[rank];
	struct k2_cwin *w;
	uint32_t k = 0;

	if (r->win < 0)
		return;
	w = &c->w[r->win];
	for (uint32_t m = 0; m < w->n_members; m++)
		if (w->members[m] != rank)
			w->members[k++] = w->members[m];
	w->n_members = k;
	r->win = -1;
	if (c->j->cfg.cluster.tempering)
		renumber(c, (uint32_t)(w - c->w), -1);
}

void k2_sched_assign(struct k2_coord *c, int rank, int32_t win)
{
	struct k2_crank *r = &c->r[rank];
	struct k2_cwin *w;

	if (r->win == win)
		return;
	leave(c, rank);
	if (win < 0) {
		send_assign(c, rank, false);
		return;
	}
	w = &c->w[win];
	if (w->n_members == w->cap_members) {
		uint32_t cap = w->cap_members ? 2 * w->cap_members : 8;
		int *m = realloc(w->members, cap * sizeof(*m));

		if (!m)
			return;
		w->members = m;
		w->cap_members = cap;
	}
	w->members[w->n_members++] = rank;
	if (w->phase == K2_W_QUEUED) {
		w->phase = K2_W_ACTIVE;
		w->t_improved = k2_job_now(c->j);
	}
	w->ranks_ever++;
	r->win = win;
	r->pos = w->n_members - 1;
	r->windows++;
	c->reassigned++;
	k2_job_log(c->j, "assign rank %d to window %d (%u ranks)", rank, win, w->n_members);
	send_assign(c, rank, true);
	if (c->j->cfg.cluster.tempering)
		renumber(c, (uint32_t)win, rank);
}

/* The unfinished window that most needs one more rank, or -1. Windows not started yet go
 * first, the least difficult first: they end soonest, and a window queued behind slices that
 * overrun (z3) finds less time left; k2 opt, going through them in program order, searched
 * small windows (often the 4 -> 1 rewrites) that the cluster used to leave queued to the
 * end of the budget behind the two largest. Once every window has started, a rank goes
 * where the share left per rank is largest (rank counts follow difficulty). */
static int32_t neediest(const struct k2_coord *c)
{
	double best = -1;
	int32_t at = -1;

	for (uint32_t i = 0; !c->j->iters && i < c->nw; i++) {
		const struct k2_cwin *w = &c->w[i];

		if (w->phase != K2_W_QUEUED || w->share <= w->used)
			continue;
		if (at < 0 || w->win.difficulty < c->w[at].win.difficulty)
			at = (int32_t)i;
	}
	if (at >= 0)
		return at;
	for (uint32_t i = 0; i < c->nw; i++) {
		const struct k2_cwin *w = &c->w[i];
		double left = w->share - w->used, v;

		if (w->phase == K2_W_DONE || left <= 0)
			continue;
		v = left / (w->n_members + 1);
		if (v > best) {
			best = v;
			at = (int32_t)i;
		}
	}
	return at;
}

/* A window left without ranks takes one from the window that has the most (at least 2). */
static void steal(struct k2_coord *c)
{
	for (uint32_t i = 0; i < c->nw; i++) {
		struct k2_cwin *w = &c->w[i], *from = NULL;

		if (w->phase != K2_W_ACTIVE || w->n_members)
			continue;
		for (uint32_t k = 0; k < c->nw; k++)
			if (c->w[k].n_members >= 2 && (!from || c->w[k].n_members > from->n_members))
				from = &c->w[k];
		if (!from)
			return;
		k2_sched_assign(c, from->members[from->n_members - 1], (int32_t)i);
	}
}

void k2_sched_fill(struct k2_coord *c)
{
	for (int rank = 0; rank < c->j->size; rank++) {
		struct k2_crank *r = &c->r[rank];
		int32_t win;

		if (!r->searcher || r->dropped || r->failed || r->win >= 0)
			continue;
		win = neediest(c);
		if (win < 0)
			break;
		k2_sched_assign(c, rank, win);
	}
	steal(c);
	k2_sched_flush(c);
}

static void finish_window(struct k2_coord *c, uint32_t win, const char *why)
{
	struct k2_cwin *w = &c->w[win];

	w->phase = K2_W_DONE;
	k2_job_log(c->j, "window %u done: %s", win, why);
	while (w->n_members)
		k2_sched_assign(c, w->members[w->n_members - 1], -1);
}

/* Whether another window still has budget and is not stalled. */
static bool others_open(const struct k2_coord *c, uint32_t win)
{
	for (uint32_t i = 0; i < c->nw; i++)
		if (i != win && c->w[i].phase != K2_W_DONE && c->w[i].share > c->w[i].used)
			return true;
	return false;
}

/*
 * Timed runs: the windows not started yet share what is left of the job's rank-seconds
 * once the started windows' own shares are taken out, in proportion to difficulty (k2 opt
 * splits the time left over its windows not searched yet the same way). A slice runs over
 * its window's share by up to a z3 timeout, and with shares fixed at the start the windows
 * queued last would find the budget gone and never be searched at all. When overruns have
 * left less than the started windows' shares, every open window gets its difficulty's part
 * of the time left, started ones at most that.
 */
static void rescale_queued(struct k2_coord *c, double now)
{
	double avail = (c->deadline - now) * live_searchers(c), pool = avail, dq = 0, d = 0;

	for (uint32_t i = 0; i < c->nw; i++) {
		const struct k2_cwin *w = &c->w[i];
		double di = w->win.difficulty > 0 ? w->win.difficulty : 1;

		if (w->phase == K2_W_DONE)
			continue;
		d += di;
		if (w->phase == K2_W_QUEUED)
			dq += di;
		else if (w->share > w->used)
			pool -= w->share - w->used;
	}
	for (uint32_t i = 0; i < c->nw && d > 0 && avail > 0; i++) {
		struct k2_cwin *w = &c->w[i];
		double di = w->win.difficulty > 0 ? w->win.difficulty : 1, fair = avail * di / d;

		if (w->phase == K2_W_QUEUED)
			w->share = w->used + fmax(pool > 0 ? pool * di / dq : 0, fair);
		else if (w->phase == K2_W_ACTIVE && pool < 0 && w->share > w->used + fair)
			w->share = w->used + fair;
	}
}

void k2_sched_tick(struct k2_coord *c)
{
	double now = k2_job_now(c->j), stall = c->j->cfg.cluster.stall_seconds, left;
	bool changed = false;

	if (!c->j->iters)
		rescale_queued(c, now);
	for (uint32_t i = 0; i < c->nw; i++) {
		struct k2_cwin *w = &c->w[i];

		if (w->phase == K2_W_DONE)
			continue;
		if (w->empty || w->used >= w->share) {
			left = w->share - w->used;
			finish_window(c, i, w->empty ? "no usable test state" : "budget spent");
			/* An empty window's share goes to the others (the budget is all spent). */
			if (w->empty && !c->j->iters && left > 0) {
				w->share = w->used;
				redistribute(c, left);
			}
			changed = true;
		} else if (!c->j->iters && stall > 0 && w->n_members &&
			   now - w->t_improved > stall && others_open(c, i)) {
			w->stalled = true;
			k2_status_event(c, "window %u [%u:%u) stalled (no improvement for %.0f s): "
					"%u ranks move", i, w->win.start, w->win.end, stall,
					w->n_members);
			left = w->share - w->used;
			finish_window(c, i, "stalled");
			w->share = w->used;
			redistribute(c, left);
			changed = true;
		}
	}
	if (changed)
		k2_sched_fill(c);
	k2_sched_flush(c);
}

void k2_sched_drop(struct k2_coord *c, int rank, const char *why)
{
	struct k2_crank *r = &c->r[rank];
	int32_t win = r->win;
	struct k2_buf b = { 0 };

	if (r->dropped)
		return;
	r->dropped = true;
	r->alive = false;
	c->dropped++;
	k2_outbox_forget(&c->out, rank);
	/* A rank that is only slow learns it is out and ends (what it says is ignored). */
	k2_buf_u32(&b, 0);
	k2_send(&c->out, r->searcher ? c->j->to_worker : c->j->to_bench, rank, K2_T_STOP, &b);
	if (win >= 0)
		leave(c, rank);
	/* Said even with --quiet: a lost rank is worth a line in any log. */
	if (c->j->args->quiet)
		fprintf(stderr, "k2-cluster: rank %d dropped (%s)\n", rank, why);
	k2_status_event(c, "rank %d dropped (%s)%s", rank, why,
			win >= 0 ? "; its window goes to others" : "");
	k2_job_log(c->j, "drop rank %d: %s", rank, why);
	k2_sched_fill(c);
}

void k2_sched_exchange(struct k2_coord *c, uint32_t win)
{
	struct k2_cwin *w = &c->w[win];
	uint32_t p = w->xround & 1;

	if (!c->j->cfg.cluster.tempering || w->n_members < 2)
		return;
	for (uint32_t m = 0; m < w->n_members; m++)
		if (!c->r[w->members[m]].cold_fresh)
			return;
	for (uint32_t k = p; k + 1 < w->n_members; k += 2) {
		struct k2_crank *a = &c->r[w->members[k]], *b = &c->r[w->members[k + 1]];
		double u = k2_rng_unit(&c->rng);

		w->swaps_tried++;
		if (!k2_pt_swap_accept(a->cold_beta, b->cold_beta, a->cold_cost, b->cold_cost, u))
			continue;
		w->swaps_acc++;
		for (int side = 0; side < 2; side++) {
			struct k2_crank *to = side ? b : a, *from = side ? a : b;
			struct k2_buf *ub = k2_coord_upd(c, side ? w->members[k + 1] : w->members[k]);

			k2_buf_u8(ub, K2_R_COLD);
			k2_buf_u32(ub, win);
			k2_buf_u32(ub, to->epoch);
			k2_buf_f64(ub, from->cold_cost);
			k2_buf_f64(ub, from->cold_beta);
			k2_buf_insns(ub, from->cold, from->cold_n);
		}
	}
	for (uint32_t m = 0; m < w->n_members; m++)
		c->r[w->members[m]].cold_fresh = false;
	w->xround++;
}

bool k2_sched_finished(const struct k2_coord *c)
{
	for (uint32_t i = 0; i < c->nw; i++)
		if (c->w[i].phase != K2_W_DONE)
			return false;
	return true;
}
