/* mpi/worker.c: a worker: runs its window's search in slices, reports, takes what rank 0 relays. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mpi/coord_int.h"

struct k2_worker {
	struct k2_job *j;
	struct k2_outbox out;
	struct k2_buf in, rep;
	struct k2_vm *vm;
	struct k2_inputs *inputs;
	struct k2_latency *lat;
	struct k2_smt *smt;         /* one z3 session for every window this rank searches */
	struct k2_wprover *wp;
	uint32_t saved;             /* candidates only another rank's counterexample refuted */
	uint32_t saved_sent;
	struct k2_wsearch *s;
	int32_t win;                /* -1: none */
	uint32_t epoch, pos, group;
	double bmax, bmin;
	uint64_t seed;
	bool empty;                 /* the window has no usable test state: report that once */
	uint32_t cex_sent;          /* own counterexamples already reported */
	uint64_t *known;            /* hashes of proven rewrites already reported or received */
	uint32_t n_known, cap_known;
	struct k2_wsearch_stats prev; /* the search's statistics at the last report */
	uint64_t pt_tried, pt_acc;  /* replica exchanges inside the search at the last report */
	uint32_t round, go;         /* --iters: slices done, slices rank 0 allowed */
	double until;               /* job time by which a slice must end; 0: none */
	double from0, beat;         /* last message from rank 0, last heartbeat sent */
	struct bpf_insn *cold;
	uint32_t cold_cap;
	bool stop, failed;
	char fail_msg[512];
};

static bool known(struct k2_worker *w, uint64_t h)
{
	for (uint32_t i = 0; i < w->n_known; i++)
		if (w->known[i] == h)
			return true;
	return false;
}

static void remember(struct k2_worker *w, uint64_t h)
{
	if (known(w, h))
		return;
	if (w->n_known == w->cap_known) {
		uint32_t cap = w->cap_known ? 2 * w->cap_known : 64;
		uint64_t *k = realloc(w->known, cap * sizeof(*k));

		if (!k)
			return;
		w->known = k;
		w->cap_known = cap;
	}
	w->known[w->n_known++] = h;
}

static void drop_search(struct k2_worker *w)
{
	k2_wsearch_free(w->s);
	k2_wprover_free(w->wp);
	w->s = NULL;
	w->wp = NULL;
	w->win = -1;
	w->cex_sent = 0;
	w->n_known = 0;
	memset(&w->prev, 0, sizeof(w->prev));
	w->pt_tried = w->pt_acc = 0;
}

static void pt_counts(const struct k2_wsearch *s, uint64_t *tried, uint64_t *acc)
{
	const struct k2_pt *pt = k2_wsearch_pt(s);

	*tried = *acc = 0;
	for (uint32_t i = 0; i + 1 < pt->m; i++) {
		*tried += pt->tried[i];
		*acc += pt->accepted[i];
	}
}

/* A new search on window `win` from tests (the window's initial ones, or the old search's);
 * w->s and w->wp must be free. */
static int build(struct k2_worker *w, uint32_t win, struct k2_wstate *const *tests, uint32_t n,
		 struct k2_err *e)
{
	struct k2_config cfg = w->j->cfg;
	struct k2_prover pr;
	int err;

	cfg.search.beta_max = w->bmax;
	cfg.search.beta_min = w->bmin;
	K2_WSEARCH_OPTS(o, .cfg = &cfg, .seed = w->seed, .latency = w->lat, .prover = &pr);
	err = k2_wprover_new(w->smt, w->vm, w->j->an, &w->j->wins[win], cfg.smt.timeout_ms,
			     &w->wp, &pr, e);
	if (err)
		return err;
	err = k2_wsearch_new(w->vm, w->j->an, &w->j->wins[win], tests, n, &o, &w->s, e);
	if (err) {
		k2_wprover_free(w->wp);
		w->wp = NULL;
	}
	return err;
}

static int start_window(struct k2_worker *w, uint32_t win, struct k2_err *e)
{
	struct k2_wstate **tests = NULL;
	uint32_t n = 0, reached = 0;
	int err;

	drop_search(w);
	err = k2_inputs_window_tests(w->inputs, w->j->an, &w->j->wins[win], w->j->cfg.search.tests,
				     k2_job_seed(w->j, 0x7e57, win, 0), &tests, &n, &reached, e);
	if (!err)
		err = n ? build(w, win, tests, n, e) : -ENODATA;
	k2_tests_free(tests, n);
	if (!err)
		w->win = (int32_t)win;
	return err;
}

/* Same window, other temperatures: a new search that keeps the tests, proofs and cold chain. */
static int restart_window(struct k2_worker *w, struct k2_err *e)
{
	struct k2_wsearch *old = w->s;
	struct k2_wprover *old_wp = w->wp;
	uint32_t n = k2_wsearch_n_tests(old), win = (uint32_t)w->win, cn = 0;
	struct k2_wstate **tests = calloc(n + 1, sizeof(*tests));
	double cost, beta;
	int err;

	if (!tests)
		return k2_err_set(e, -ENOMEM, "out of memory");
	for (uint32_t i = 0; i < n; i++)
		tests[i] = (struct k2_wstate *)k2_wsearch_test(old, i);
	w->s = NULL;
	w->wp = NULL;
	err = build(w, win, tests, n, e);
	for (uint32_t i = 0; !err && i < k2_wsearch_n_best(old); i++) {
		const struct k2_wcand *c = k2_wsearch_best(old, i);

		err = k2_wsearch_add_proven(w->s, c->insns, c->n, e);
	}
	if (!err && !k2_wsearch_cold(old, w->cold, w->cold_cap, &cn, &cost, &beta) && cn)
		err = k2_wsearch_set_cold(w->s, w->cold, cn, e);
	free(tests);
	k2_wsearch_free(old);
	k2_wprover_free(old_wp);
	memset(&w->prev, 0, sizeof(w->prev));
	w->pt_tried = w->pt_acc = 0;
	return err;
}

/* ---- records from rank 0 ------------------------------------------------------------------ */

/*
 * A counterexample travels as one blob, opaque to rank 0: u32 state length, the packed state
 * (k2_wstate_pack), u32 n and the n slots of the candidate it refuted (n 0: unknown).
 */
static int blob_parse(struct k2_buf *b, const uint8_t **st, uint32_t *st_len,
		      struct bpf_insn **cand, uint32_t *n)
{
	*st_len = k2_buf_get_u32(b);
	*st = k2_buf_view(b, *st_len);
	*cand = k2_buf_get_insns(b, n, 1u << 16);
	return *st && !b->bad ? 0 : -EPROTO;
}

static int take_cex(struct k2_worker *w, struct k2_buf *b, struct k2_err *e)
{
	uint32_t win = k2_buf_get_u32(b), origin = k2_buf_get_u32(b), len = k2_buf_get_u32(b);
	const uint8_t *p = k2_buf_view(b, len), *st;
	struct k2_buf blob = { .p = (uint8_t *)p, .len = len };
	struct bpf_insn *cand = NULL;
	uint32_t st_len, n = 0;
	bool saved = false;
	int r;

	if (!p || (int32_t)win != w->win || !w->s)
		return 0;
	if (blob_parse(&blob, &st, &st_len, &cand, &n)) {
		free(cand);
		return k2_err_set(e, -EPROTO, "rank %d: bad counterexample from rank %u",
				  w->j->rank, origin);
	}
	if (cand && n) {
		struct k2_wscore sc;

		/* Would this rank's own tests have let the candidate through to z3? */
		if (!k2_wsearch_score(w->s, cand, n, &sc, e) && !sc.error && !sc.unsafe)
			saved = true;
	}
	free(cand);
	r = k2_wsearch_add_test_packed(w->s, st, st_len, e);
	if (r < 0)
		return r;
	w->saved += saved && r;
	k2_job_log(w->j, "cex import window %u hash %016llx from rank %u%s%s", win,
		   (unsigned long long)k2_hash64(p, len, K2_HASH_INIT), origin,
		   r ? "" : " (already there)", saved && r ? " (refutes a candidate our tests "
		   "pass)" : "");
	return 0;
}

static int take_proven(struct k2_worker *w, struct k2_buf *b, struct k2_err *e)
{
	uint32_t win = k2_buf_get_u32(b), origin = k2_buf_get_u32(b), n;
	struct bpf_insn *in;
	int err = 0;

	k2_buf_get_f64(b);
	k2_buf_get_f64(b);
	k2_buf_get_u64(b);
	in = k2_buf_get_insns(b, &n, 1u << 16);
	if (in && (int32_t)win == w->win && w->s) {
		remember(w, k2_hash64(in, n * sizeof(*in), K2_HASH_INIT));
		err = k2_wsearch_add_proven(w->s, in, n, e);
		k2_job_log(w->j, "proven import window %u (%u slots) from rank %u", win, n, origin);
	}
	free(in);
	return err;
}

static int take_cold(struct k2_worker *w, struct k2_buf *b, struct k2_err *e)
{
	uint32_t win = k2_buf_get_u32(b), epoch = k2_buf_get_u32(b), n;
	struct bpf_insn *in;
	int err = 0;

	k2_buf_get_f64(b);
	k2_buf_get_f64(b);
	in = k2_buf_get_insns(b, &n, 1u << 16);
	if (in && (int32_t)win == w->win && epoch == w->epoch && w->s)
		err = k2_wsearch_set_cold(w->s, in, n, e);
	free(in);
	return err;
}

static int records(struct k2_worker *w, struct k2_buf *b, struct k2_err *e)
{
	int err = 0;

	while (!err && !b->bad) {
		switch (k2_buf_get_u8(b)) {
		case K2_R_END: return 0;
		case K2_R_CEX: err = take_cex(w, b, e); break;
		case K2_R_PROVEN: err = take_proven(w, b, e); break;
		case K2_R_COLD: err = take_cold(w, b, e); break;
		case K2_R_GO: w->go = k2_buf_get_u32(b); break;
		default: b->bad = true;
		}
	}
	return err ? err : k2_err_set(e, -EPROTO, "rank %d: bad message from rank 0", w->j->rank);
}

static int take_assign(struct k2_worker *w, struct k2_buf *b, struct k2_err *e)
{
	uint32_t epoch = k2_buf_get_u32(b);
	int32_t win = (int32_t)k2_buf_get_u32(b);
	uint32_t pos = k2_buf_get_u32(b), group = k2_buf_get_u32(b);
	double bmax = k2_buf_get_f64(b), bmin = k2_buf_get_f64(b);
	uint64_t seed = k2_buf_get_u64(b);
	uint32_t round = k2_buf_get_u32(b);
	double left = k2_buf_get_f64(b);
	bool same = win == w->win && w->s, ladder = bmax != w->bmax || bmin != w->bmin;
	int err = 0;

	if (b->bad || win >= (int32_t)w->j->n_wins)
		return k2_err_set(e, -EPROTO, "rank %d: bad assignment", w->j->rank);
	w->epoch = epoch;
	w->pos = pos;
	w->group = group;
	w->bmax = bmax;
	w->bmin = bmin;
	/* --iters: the rounds before were done by others; this rank may run round + 1. */
	w->round = round;
	w->go = round + 1;
	if (left > 0 && !w->j->iters)
		w->until = k2_job_now(w->j) + left;
	w->empty = false;
	k2_job_log(w->j, "assign window %d epoch %u position %u of %u", win, epoch, pos, group);
	if (win < 0) {
		drop_search(w);
		return 0;
	}
	if (!same) {
		w->seed = seed;
		err = start_window(w, (uint32_t)win, e);
	} else if (ladder) {
		err = restart_window(w, e);
	}
	if (err == -ENODATA || err == -EINVAL) {
		/* No usable test state: tell rank 0 by reporting the window empty-handed. */
		k2_job_log(w->j, "window %d: %s", win, e->msg);
		drop_search(w);
		w->win = win;
		w->empty = true;
		return 0;
	}
	return err ? err : records(w, b, e);
}

static int inbox(struct k2_worker *w, struct k2_err *e)
{
	int src, tag, r, err = 0;

	while (!err && (r = k2_recv(w->j->to_worker, &src, &tag, &w->in)) > 0) {
		w->from0 = k2_job_now(w->j);
		switch (tag) {
		case K2_T_ASSIGN: err = take_assign(w, &w->in, e); break;
		case K2_T_UPDATE:
			if (k2_buf_get_u32(&w->in) == w->epoch)
				err = records(w, &w->in, e);
			break;
		case K2_T_STOP: w->stop = true; break;
		case K2_T_REAP: {
			int pid = (int)k2_buf_get_u32(&w->in);

			k2_job_log(w->j, "reap pid %d", pid);
			if (pid > 1)
				kill(pid, SIGKILL);
			break;
		}
		default: break;
		}
	}
	return err ? err : r < 0 ? k2_err_set(e, r, "rank %d: MPI receive failed", w->j->rank) : 0;
}

/* ---- reports ------------------------------------------------------------------------------ */

static void put_stats(struct k2_worker *w, struct k2_buf *b, double slice)
{
	struct k2_wsearch_stats st = { 0 };
	uint64_t tried = 0, acc = 0;

	if (w->s) {
		k2_wsearch_stats(w->s, &st);
		pt_counts(w->s, &tried, &acc);
	}
	k2_buf_u32(b, w->epoch);
	k2_buf_u32(b, (uint32_t)w->win);
	k2_buf_u32(b, w->round);
	k2_buf_u8(b, w->s != NULL);
	k2_buf_f64(b, slice);
	k2_buf_u64(b, st.iters - w->prev.iters);
	k2_buf_u64(b, st.accepted - w->prev.accepted);
	k2_buf_u64(b, tried - w->pt_tried);
	k2_buf_u64(b, acc - w->pt_acc);
	k2_buf_u32(b, st.equivalent - w->prev.equivalent);
	k2_buf_u32(b, st.different - w->prev.different);
	k2_buf_u32(b, st.unknown - w->prev.unknown);
	k2_buf_u32(b, st.unsafe - w->prev.unsafe);
	k2_buf_u32(b, st.n_tests);
	k2_buf_u32(b, st.n_imported);
	k2_buf_f64(b, st.best_perf);
	k2_buf_f64(b, st.orig_perf);
	k2_buf_u32(b, w->saved - w->saved_sent);
	k2_buf_u32(b, st.safety_refused - w->prev.safety_refused);
	w->saved_sent = w->saved;
	w->prev = st;
	w->pt_tried = tried;
	w->pt_acc = acc;
}

static void put_new_cex(struct k2_worker *w, struct k2_buf *b)
{
	for (; w->cex_sent < k2_wsearch_n_cex(w->s); w->cex_sent++) {
		const struct k2_wstate *st = k2_wsearch_cex(w->s, w->cex_sent);
		const struct bpf_insn *cand;
		struct k2_buf blob = { 0 };
		size_t need = 0;
		uint32_t n = 0;
		void *p;

		k2_wstate_pack(st, NULL, 0, &need);
		p = malloc(need + 1);
		if (!p || k2_wstate_pack(st, p, need, NULL) < 0) {
			free(p);
			continue;
		}
		cand = k2_wprover_refuted(w->wp, k2_hash64(p, need, K2_HASH_INIT), &n);
		k2_buf_u32(&blob, (uint32_t)need);
		k2_buf_put(&blob, p, need);
		k2_buf_insns(&blob, cand, cand ? n : 0);
		free(p);
		if (blob.bad) {
			k2_buf_free(&blob);
			continue;
		}
		k2_buf_u8(b, K2_R_CEX);
		k2_buf_u32(b, (uint32_t)w->win);
		k2_buf_u32(b, (uint32_t)w->j->rank);
		k2_buf_u32(b, (uint32_t)blob.len);
		k2_buf_put(b, blob.p, blob.len);
		k2_job_log(w->j, "cex found window %d hash %016llx", w->win,
			   (unsigned long long)k2_hash64(blob.p, blob.len, K2_HASH_INIT));
		k2_buf_free(&blob);
	}
}

static void put_new_proven(struct k2_worker *w, struct k2_buf *b)
{
	for (uint32_t i = 0; i < k2_wsearch_n_best(w->s); i++) {
		const struct k2_wcand *c = k2_wsearch_best(w->s, i);
		uint64_t h = k2_hash64(c->insns, c->n * sizeof(*c->insns), K2_HASH_INIT);

		if (known(w, h))
			continue;
		remember(w, h);
		k2_buf_u8(b, K2_R_PROVEN);
		k2_buf_u32(b, (uint32_t)w->win);
		k2_buf_u32(b, (uint32_t)w->j->rank);
		k2_buf_f64(b, c->perf);
		k2_buf_f64(b, c->seconds);
		k2_buf_u64(b, c->iter);
		k2_buf_insns(b, c->insns, c->n);
		k2_job_log(w->j, "proven window %d perf %.3f (%u slots)", w->win, c->perf, c->n);
	}
}

static void put_cold(struct k2_worker *w, struct k2_buf *b)
{
	uint32_t n = 0;
	double cost, beta;

	if (!w->j->cfg.cluster.tempering || w->group < 2 ||
	    k2_wsearch_cold(w->s, w->cold, w->cold_cap, &n, &cost, &beta))
		return;
	k2_buf_u8(b, K2_R_COLD);
	k2_buf_u32(b, (uint32_t)w->win);
	k2_buf_u32(b, w->epoch);
	k2_buf_f64(b, cost);
	k2_buf_f64(b, beta);
	k2_buf_insns(b, w->cold, n);
}

static int report(struct k2_worker *w, double slice, struct k2_err *e)
{
	struct k2_buf *b = &w->rep;

	put_stats(w, b, slice);
	if (w->s) {
		put_new_cex(w, b);
		put_new_proven(w, b);
		put_cold(w, b);
	}
	k2_buf_u8(b, K2_R_END);
	w->beat = k2_job_now(w->j);
	if (k2_send(&w->out, w->j->to_coord, 0, K2_T_REPORT, b))
		return k2_err_set(e, -EIO, "rank %d: cannot send a report", w->j->rank);
	return 0;
}

static int slice(struct k2_worker *w, struct k2_err *e)
{
	const struct k2_cluster_cfg *c = &w->j->cfg.cluster;
	double t = k2_job_now(w->j), sec = c->exchange_ms / 1000.0;
	int err;

	if (w->until > 0 && w->until - t < sec)
		sec = w->until - t > 0.001 ? w->until - t : 0.001;
	k2_wprover_within(w->wp, w->until > 0 ? fmax(1000 * (w->until - t), 1) : -1);
	if (w->j->iters)
		err = k2_wsearch_run(w->s, c->slice_iters, 0, e);
	else
		err = k2_wsearch_run(w->s, 0, sec, e);
	w->round++;
	return err ? err : report(w, k2_job_now(w->j) - t, e);
}

/* ---- the worker's life ---------------------------------------------------------------------- */

int k2_worker_new(struct k2_job *j, struct k2_worker **out, struct k2_err *e)
{
	struct k2_worker *w = calloc(1, sizeof(*w));
	uint32_t n_in = 4 * j->cfg.search.tests;
	int err;

	if (!w)
		return k2_err_set(e, -ENOMEM, "out of memory");
	w->j = j;
	w->win = -1;
	w->cold_cap = 2 * (j->cfg.search.max_window + 4) + 64;
	w->cold = calloc(w->cold_cap, sizeof(*w->cold));
	err = w->cold ? k2_vm_new(j->prog, NULL, &w->vm, e) : k2_err_set(e, -ENOMEM, "no memory");
	/* The same inputs on every rank: test states and counterexamples mean the same. */
	if (!err)
		err = k2_inputs_new(j->prog, w->vm, &j->cfg, n_in < 64 ? 64 : n_in,
				    k2_job_seed(j, 0x1a2b, 0, 0), &w->inputs, e);
	if (!err)
		err = k2_search_smt_new(&j->cfg, &w->smt, e);
	if (!err && j->cfg.search.objective == K2_OBJ_LATENCY)
		err = k2_latency_load(j->cfg.search.latency_table, &w->lat, e);
	if (err) {
		k2_worker_free(w);
		return err;
	}
	w->from0 = w->beat = k2_job_now(j);
	*out = w;
	return 0;
}

void k2_worker_free(struct k2_worker *w)
{
	if (!w)
		return;
	drop_search(w);
	k2_smt_free(w->smt);
	k2_latency_free(w->lat);
	k2_inputs_free(w->inputs);
	k2_vm_free(w->vm);
	k2_outbox_drain(&w->out, 1.0);
	k2_outbox_free(&w->out);
	k2_buf_free(&w->in);
	k2_buf_free(&w->rep);
	free(w->known);
	free(w->cold);
	free(w);
}

void k2_worker_until(struct k2_worker *w, double t)
{
	w->until = w->j->iters ? 0 : t;
}

static void hello(struct k2_worker *w)
{
	struct k2_buf b = { 0 };

	k2_buf_u32(&b, (uint32_t)getpid());
	k2_buf_str(&b, w->j->host);
	k2_send(&w->out, w->j->to_coord, 0, K2_T_HELLO, &b);
}

/* BYE: u8 failed, message. */
static void bye(struct k2_worker *w, const char *msg)
{
	struct k2_buf b = { 0 };

	k2_buf_u8(&b, msg != NULL);
	k2_buf_str(&b, msg ? msg : "");
	k2_send(&w->out, w->j->to_coord, 0, K2_T_BYE, &b);
}

int k2_worker_step(struct k2_worker *w, bool *done, struct k2_err *e)
{
	const struct k2_cluster_cfg *c = &w->j->cfg.cluster;
	bool run;
	int err;

	k2_outbox_poll(&w->out);
	err = inbox(w, e);
	if (!err && w->stop) {
		/* A last report carries what the final slice found. */
		if (w->s)
			err = report(w, 0, e);
		bye(w, err ? e->msg : NULL);
		*done = true;
		return err;
	}
	run = !err && w->s && (!w->j->iters || w->go > w->round);
	if (run) {
		err = slice(w, e);
	} else if (!err && w->empty) {
		w->empty = false;
		w->round++;
		err = report(w, 0, e);
	}
	if (!err && !run && k2_job_now(w->j) - w->beat > c->heartbeat_ms / 1000.0) {
		struct k2_buf b = { 0 };

		w->beat = k2_job_now(w->j);
		k2_buf_u32(&b, w->epoch);
		k2_send(&w->out, w->j->to_coord, 0, K2_T_PING, &b);
	}
	if (err) {
		bye(w, e->msg);
		*done = true;
	}
	return err ? err : run;
}

int k2_worker_run(struct k2_job *j, struct k2_err *e)
{
	struct k2_worker *w;
	bool done = false;
	int err = k2_worker_new(j, &w, e);

	if (err) {
		struct k2_outbox o = { 0 };
		struct k2_buf b = { 0 };

		k2_buf_u8(&b, 1);
		k2_buf_str(&b, e->msg);
		k2_send(&o, j->to_coord, 0, K2_T_BYE, &b);
		k2_outbox_drain(&o, 2.0);
		k2_outbox_free(&o);
		return err;
	}
	hello(w);
	while (!done) {
		int r = k2_worker_step(w, &done, e);

		if (r < 0) {
			err = r;
			break;
		}
		if (!r && !done) {
			struct timespec ts = { 0, 2000000 };

			nanosleep(&ts, NULL);
		}
		/* Rank 0 composing and proving the result answers nothing for a while; only a
		 * much longer silence means it is gone. Ending then is no failure of this rank:
		 * a non-zero exit would make mpirun end the job rank 0 may still be finishing. */
		/* A long slice (z3) ends with the inbox unread: read it before concluding. */
		if (!done && k2_job_now(j) - w->from0 > 10 * k2_job_timeout(j) + 30) {
			r = k2_worker_step(w, &done, e);
			if (r < 0) {
				err = r;
				break;
			}
		}
		if (!done && k2_job_now(j) - w->from0 > 10 * k2_job_timeout(j) + 30) {
			fprintf(stderr, "k2-cluster: rank %d: rank 0 silent for %.0f s; stopping\n",
				j->rank, k2_job_now(j) - w->from0);
			k2_job_log(j, "rank 0 silent for %.0f s; stopping", k2_job_now(j) - w->from0);
			/* if rank 0 is only slow, this tells it to let this rank finalize */
			bye(w, NULL);
			break;
		}
	}
	k2_worker_free(w);
	return err;
}
