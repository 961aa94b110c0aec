/* mpi/coord.c: rank 0's loop: reports in, relays out, heartbeats, rounds, timers, the end. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mpi/coord_int.h"

struct k2_buf *k2_coord_upd(struct k2_coord *c, int rank)
{
	return &c->r[rank].upd;
}

int k2_coord_send(struct k2_coord *c, int rank, int tag, struct k2_buf *b)
{
	MPI_Comm comm = tag == K2_T_BENCH_REQ || tag == K2_T_TRACE ||
			(tag == K2_T_STOP && rank == c->bench_dest && !c->r[rank].searcher)
		? c->j->to_bench : c->j->to_worker;

	if (c->r[rank].dropped) {
		k2_buf_free(b);
		return 0;
	}
	c->r[rank].last_sent = k2_job_now(c->j);
	return k2_send(&c->out, comm, rank, tag, b);
}

/* UPDATE: u32 epoch, records, END. */
void k2_coord_flush(struct k2_coord *c, int rank)
{
	struct k2_crank *r = &c->r[rank];
	struct k2_buf b = { 0 };

	if (!r->upd.len)
		return;
	k2_buf_u32(&b, r->epoch);
	k2_buf_put(&b, r->upd.p, r->upd.len);
	k2_buf_u8(&b, K2_R_END);
	r->upd.len = 0;
	k2_coord_send(c, rank, K2_T_UPDATE, &b);
}

static void flush_all(struct k2_coord *c)
{
	for (int rank = 0; rank < c->j->size; rank++)
		k2_coord_flush(c, rank);
}

double k2_coord_search_time(const struct k2_coord *c)
{
	return c->elapsed_before + k2_job_now(c->j) - c->t_start;
}

/* ---- reports ------------------------------------------------------------------------------ */

static void take_cold(struct k2_coord *c, int rank, struct k2_buf *b)
{
	struct k2_crank *r = &c->r[rank];
	uint32_t win = k2_buf_get_u32(b), epoch = k2_buf_get_u32(b), n;
	double cost = k2_buf_get_f64(b), beta = k2_buf_get_f64(b);
	struct bpf_insn *in = k2_buf_get_insns(b, &n, 1u << 16);

	if (!in)
		return;
	if ((int32_t)win == r->win && epoch == r->epoch) {
		free(r->cold);
		r->cold = in;
		r->cold_n = n;
		r->cold_cost = cost;
		r->cold_beta = beta;
		r->cold_fresh = true;
		in = NULL;
	}
	free(in);
}

static void take_proven(struct k2_coord *c, struct k2_buf *b)
{
	uint32_t win = k2_buf_get_u32(b), origin = k2_buf_get_u32(b), n;
	double perf = k2_buf_get_f64(b);
	uint64_t iter;
	struct bpf_insn *in;
	int r;

	k2_buf_get_f64(b);
	iter = k2_buf_get_u64(b);
	in = k2_buf_get_insns(b, &n, 1u << 16);
	if (!in || win >= c->nw) {
		free(in);
		return;
	}
	c->proven_found++;
	r = k2_pool_add_proven(c, win, (int)origin, in, n, perf, iter, true);
	if (r == 2) {
		const struct k2_cwin *w = &c->w[win];

		c->compose_dirty = true;
		k2_status_event(c, "window %u [%u:%u): %u -> %u insns (rank %u)", win, w->win.start,
				w->win.end, w->orig_insns, k2_pool_best(w)->n_insns, origin);
	}
	free(in);
}

/* The records of a report: what the rank found (relayed to its window's other ranks). */
static void records(struct k2_coord *c, int rank, struct k2_buf *b, bool *cold)
{
	while (!b->bad) {
		uint8_t kind = k2_buf_get_u8(b);

		if (kind == K2_R_END || b->bad)
			return;
		if (kind == K2_R_CEX) {
			uint32_t win = k2_buf_get_u32(b), origin = k2_buf_get_u32(b);
			uint32_t len = k2_buf_get_u32(b);
			const uint8_t *p = k2_buf_view(b, len);

			if (p && win < c->nw && k2_pool_add_cex(c, win, (int)origin, p, len, true) > 0)
				c->cex_found++;
		} else if (kind == K2_R_PROVEN) {
			take_proven(c, b);
		} else if (kind == K2_R_COLD) {
			take_cold(c, rank, b);
			*cold = true;
		} else {
			b->bad = true;
		}
	}
	k2_status_event(c, "rank %d: bad report", rank);
}

/* REPORT: u32 epoch, i32 window, u32 round, u8 searching, f64 slice seconds, then the deltas
 * (u64 proposals, accepted, exchanges tried/accepted; u32 equivalent, different, unknown,
 * unsafe), u32 tests, u32 imported, f64 best perf, f64 original perf, u32 candidates refuted
 * only by another rank's counterexample, u32 refused by the safety check, then records. */
static void apply_report(struct k2_coord *c, int rank, struct k2_buf *b)
{
	struct k2_crank *r = &c->r[rank];
	int32_t win;
	struct k2_cwin *w;
	bool searching, cold = false;
	double slice;
	uint64_t iters;

	k2_buf_get_u32(b);
	win = (int32_t)k2_buf_get_u32(b);
	r->round = k2_buf_get_u32(b);
	searching = k2_buf_get_u8(b);
	slice = k2_buf_get_f64(b);
	iters = k2_buf_get_u64(b);
	if (b->bad || win < 0 || win >= (int32_t)c->nw)
		return;
	w = &c->w[win];
	w->accepted += k2_buf_get_u64(b);
	w->pt_tried += k2_buf_get_u64(b);
	w->pt_acc += k2_buf_get_u64(b);
	w->equivalent += k2_buf_get_u32(b);
	w->different += k2_buf_get_u32(b);
	w->unknown += k2_buf_get_u32(b);
	w->unsafe += k2_buf_get_u32(b);
	w->n_tests = k2_buf_get_u32(b);
	w->n_imported = k2_buf_get_u32(b);
	k2_buf_get_f64(b);
	w->orig_perf = k2_buf_get_f64(b);
	w->cex_saved += k2_buf_get_u32(b);
	w->safety_refused += k2_buf_get_u32(b);
	w->iters += iters;
	w->seconds += slice;
	w->used += c->j->iters ? (double)iters : slice;
	r->iters += iters;
	r->rate = slice > 0 ? iters / slice : r->rate;
	if (!searching && win == r->win)
		w->empty = true;
	records(c, rank, b, &cold);
	if (cold && !c->j->iters)
		k2_sched_exchange(c, (uint32_t)win);
}

/* --iters: every assigned rank's report of the round, applied in rank order, then GO. */
static void rounds(struct k2_coord *c)
{
	for (int rank = 0; rank < c->j->size; rank++) {
		const struct k2_crank *r = &c->r[rank];

		if (r->searcher && !r->dropped && !r->failed && r->win >= 0 &&
		    (r->round <= c->round || !r->held.len))
			return;
	}
	for (int rank = 0; rank < c->j->size; rank++) {
		struct k2_crank *r = &c->r[rank];

		if (!r->held.len)
			continue;
		r->held.at = 0;
		apply_report(c, rank, &r->held);
		r->held.len = 0;
	}
	for (uint32_t i = 0; i < c->nw; i++)
		k2_sched_exchange(c, i);
	c->round++;
	k2_sched_tick(c);
	for (int rank = 0; rank < c->j->size; rank++) {
		struct k2_crank *r = &c->r[rank];

		if (r->searcher && !r->dropped && !r->failed && r->win >= 0) {
			k2_buf_u8(&r->upd, K2_R_GO);
			k2_buf_u32(&r->upd, c->round + 1);
		}
	}
}

static void take_bye(struct k2_coord *c, int rank, struct k2_buf *b)
{
	struct k2_crank *r = &c->r[rank];
	bool failed = k2_buf_get_u8(b);
	char msg[512];

	k2_buf_get_str(b, msg, sizeof(msg));
	r->bye = true;
	if (!failed)
		return;
	r->failed = true;
	fprintf(stderr, "k2-cluster: rank %d failed: %s\n", rank, msg);
	k2_job_log(c->j, "rank %d failed: %s", rank, msg);
	if (!c->stop_reason)
		k2_sched_drop(c, rank, "failed");
	if (!c->fail_msg[0])
		snprintf(c->fail_msg, sizeof(c->fail_msg), "rank %d: %.480s", rank, msg);
}

static int inbox(struct k2_coord *c)
{
	int src, tag, r, n = 0;

	while ((r = k2_recv(c->j->to_coord, &src, &tag, &c->in)) > 0) {
		struct k2_crank *rk = &c->r[src];

		n++;
		if (rk->dropped) {
			/* it was given up on; what it says now would confuse, but for its BYE:
			 * it is in MPI_Finalize, waiting for this rank, and must not be killed */
			rk->bye |= tag == K2_T_BYE;
			continue;
		}
		rk->last_seen = k2_job_now(c->j);
		rk->alive = true;
		switch (tag) {
		case K2_T_HELLO:
			rk->pid = (int)k2_buf_get_u32(&c->in);
			k2_buf_get_str(&c->in, rk->host, sizeof(rk->host));
			break;
		case K2_T_REPORT:
			if (c->j->iters && !c->stop_reason) {
				/* held until the round is complete (exact order) */
				rk->held.len = 0;
				k2_buf_put(&rk->held, c->in.p, c->in.len);
				c->in.at = 8;
				rk->round = k2_buf_get_u32(&c->in);
			} else {
				apply_report(c, src, &c->in);
			}
			break;
		case K2_T_BYE: take_bye(c, src, &c->in); break;
		case K2_T_BENCH_RES: k2_cbench_take(c, &c->in); break;
		default: break;
		}
	}
	return r < 0 ? r : n;
}

/* ---- heartbeats --------------------------------------------------------------------------- */

/* Submissions the bench role has not answered yet. */
static uint32_t bench_pending(const struct k2_coord *c)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < c->n_subs; i++)
		n += !c->subs[i].done;
	return n;
}

static void heartbeats(struct k2_coord *c)
{
	double now = k2_job_now(c->j), timeout = k2_job_timeout(c->j);

	/* Rank 0 was busy (serving the bench role itself, composing): what arrived meanwhile
	 * is still waiting to be read, so the gap is nobody's silence. */
	if (c->t_beats > 0 && now - c->t_beats > 1.0)
		for (int rank = 1; rank < c->j->size; rank++)
			c->r[rank].last_seen += now - c->t_beats;
	c->t_beats = now;

	for (int rank = 1; rank < c->j->size; rank++) {
		struct k2_crank *r = &c->r[rank];

		if (r->dropped || r->failed || r->bye)
			continue;
		/* A process of this node that is gone need not be waited for. */
		if (r->pid > 1 && !strcmp(r->host, c->j->host) && now - r->last_seen > 0.5 &&
		    !k2_pid_alive(r->pid)) {
			if (rank == c->bench_dest)
				k2_cbench_lost(c);
			k2_sched_drop(c, rank, "its process is gone");
			continue;
		}
		/* A process of this node that exists is more likely busy (z3 on a loaded
		 * machine) than hung: it gets three times as long; a bench rank timing
		 * candidates answers nothing until it is done. */
		if (now - r->last_seen > timeout *
		    (r->pid > 1 && !strcmp(r->host, c->j->host) ? 3 : 1) +
		    (rank == c->bench_dest && bench_pending(c) ? 10 * timeout + 60 : 0)) {
			char why[64];

			snprintf(why, sizeof(why), "silent for %.1f s", now - r->last_seen);
			if (rank == c->bench_dest)
				k2_cbench_lost(c);
			k2_sched_drop(c, rank, why);
			continue;
		}
		if (now - r->last_sent > c->j->cfg.cluster.heartbeat_ms / 1000.0) {
			struct k2_buf b = { 0 };

			k2_buf_u32(&b, 0);
			if (rank == c->bench_dest) {
				r->last_sent = now; /* the bench rank needs no ping */
				k2_buf_free(&b);
			} else {
				k2_coord_send(c, rank, K2_T_PING, &b);
			}
		}
	}
}

/* ---- the loop ---------------------------------------------------------------------------- */

static int init(struct k2_coord *c, struct k2_job *j, struct k2_err *e)
{
	double now = k2_job_now(j);
	int err = 0;

	c->j = j;
	c->nw = j->n_wins;
	c->w = calloc(c->nw + 1, sizeof(*c->w));
	c->r = calloc((size_t)j->size, sizeof(*c->r));
	if (!c->w || !c->r)
		return k2_err_set(e, -ENOMEM, "out of memory");
	k2_rng_seed(&c->rng, k2_job_seed(j, 0xc00d, j->generation, 0));
	for (uint32_t i = 0; i < c->nw; i++) {
		c->w[i].win = j->wins[i];
		c->w[i].orig_slots = j->wins[i].end - j->wins[i].start;
		c->w[i].orig_insns = j->wins[i].n_insns;
		c->w[i].t_improved = now;
	}
	for (int r = 0; r < j->size; r++) {
		c->r[r].searcher = r != j->bench_rank && (r || j->coord_works);
		c->r[r].alive = true;
		c->r[r].win = -1;
		c->r[r].last_seen = c->r[r].last_sent = now;
	}
	c->r[0].pid = getpid();
	snprintf(c->r[0].host, sizeof(c->r[0].host), "%s", j->host);
	c->bench_dest = j->bench_rank >= 0 ? j->bench_rank : 0;
	c->tty = isatty(2) && !j->args->quiet && !j->args->no_status;
	c->t_start = k2_job_now(j);
	if (j->resume)
		err = k2_ckpt_apply(c, e);
	c->deadline = c->t_start + (j->iters ? 1e12 : j->budget);
	if (!err && j->coord_works)
		err = k2_worker_new(j, &c->local, e);
	if (c->local)
		k2_worker_until(c->local, c->deadline);
	if (!err && j->bench_rank < 0) {
		k2_bench_rank_open(j);
		if (!j->bench && (err = -ENOMEM))
			k2_err_set(e, err, "out of memory");
	}
	if (!err) {
		/* A bench rank says whether its kernel is usable in its answers. */
		if (c->bench_dest == 0)
			snprintf(c->bench_off, sizeof(c->bench_off), "%s", k2_bench_role_off(j));
		k2_trace_attrs(c);
		k2_sched_init(c);
		k2_sched_fill(c);
	}
	return err;
}

static void timers(struct k2_coord *c)
{
	const struct k2_cluster_cfg *cc = &c->j->cfg.cluster;
	double now = k2_job_now(c->j);
	struct k2_err e = { 0 };

	if (now - c->t_status >= cc->status_ms / 1000.0) {
		c->t_status = now;
		k2_status_update(c, false);
	}
	if (now - c->t_trace >= (cc->status_ms < 1000 ? 1.0 : cc->status_ms / 1000.0)) {
		c->t_trace = now;
		k2_trace_progress(c);
	}
	if (c->j->args->checkpoint && cc->checkpoint_seconds > 0 &&
	    now - c->t_ckpt >= cc->checkpoint_seconds) {
		c->t_ckpt = now;
		if (k2_ckpt_write(c, c->j->args->checkpoint, &e))
			k2_status_event(c, "checkpoint: %s", e.msg);
	}
}

static bool searchers_left(const struct k2_coord *c)
{
	for (int r = 0; r < c->j->size; r++)
		if (c->r[r].searcher && !c->r[r].dropped && !c->r[r].failed)
			return true;
	return false;
}

int k2_coord_inbox(struct k2_coord *c)
{
	return inbox(c);
}

int k2_coord_pump(struct k2_coord *c)
{
	int r, n;

	k2_outbox_poll(&c->out);
	n = inbox(c);
	if (n < 0)
		return n;
	if (c->local && !c->local_done && !c->r[0].failed) {
		struct k2_err we = { 0 };

		r = k2_worker_step(c->local, &c->local_done, &we);
		n += r > 0;
	}
	if (c->bench_dest == 0)
		n += k2_bench_step(c->j) == 1;
	heartbeats(c);
	flush_all(c);
	return n;
}

static int step(struct k2_coord *c, struct k2_err *e)
{
	bool busy;
	int r = k2_coord_pump(c);

	if (r < 0)
		return k2_err_set(e, r, "rank 0: MPI receive failed");
	busy = r > 0;
	if (c->j->iters)
		rounds(c);
	else
		k2_sched_tick(c);
	k2_cbench_submit_new(c);
	k2_sched_flush(c);
	flush_all(c);
	timers(c);
	if (!busy) {
		struct timespec ts = { 0, 1000000 };

		nanosleep(&ts, NULL);
	}
	return 0;
}

int k2_coord_run(struct k2_job *j, struct k2_err *e)
{
	struct k2_coord c = { 0 };
	int err = init(&c, j, e);

	while (!err && !c.stop_reason) {
		err = step(&c, e);
		if (k2_cluster_signal)
			c.stop_reason = "signal";
		else if (k2_job_now(j) >= c.deadline)
			c.stop_reason = "budget spent";
		else if (k2_sched_finished(&c))
			c.stop_reason = "every window done";
		else if (!searchers_left(&c))
			c.stop_reason = "no searching rank left";
	}
	if (!err)
		err = k2_final_run(&c, e);
	k2_final_free(&c);
	k2_worker_free(c.local);
	for (uint32_t i = 0; i < c.nw; i++)
		k2_pool_free(&c.w[i]);
	for (int r = 0; c.r && r < j->size; r++) {
		free(c.r[r].cold);
		k2_buf_free(&c.r[r].upd);
		k2_buf_free(&c.r[r].held);
	}
	free(c.w);
	free(c.r);
	free(c.subs);
	for (uint32_t i = 0; i < c.cap_reqs; i++)
		k2_buf_free(&c.reqs[i]);
	free(c.reqs);
	free(c.rows);
	k2_outbox_drain(&c.out, 2.0);
	k2_outbox_free(&c.out);
	k2_buf_free(&c.in);
	return err;
}
