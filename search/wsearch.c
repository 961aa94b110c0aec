/* search/wsearch.c: one window's search: setup, tests, the chains' steps and time slices. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "search/search_int.h"

int k2_ws_prover_init(struct k2_wsearch *s, const struct k2_wsearch_opts *o, struct k2_err *e);
void k2_ws_prover_fini(struct k2_wsearch *s);

static int nomem(struct k2_err *e)
{
	return k2_err_set(e, -ENOMEM, "out of memory");
}

/* The original window's output on a state; false if it fails there (not a valid test). */
static bool ref_of(struct k2_wsearch *s, struct k2_wstate *st, struct k2_wout *out)
{
	if (k2_window_set(s->window, s->vm, s->orig_insns, s->orig_slots, NULL))
		return false;
	k2_vm_wrun(s->vm, s->window, st, out);
	return out->status == K2_RUN_OK;
}

int k2_ws_add_test(struct k2_wsearch *s, const struct k2_wstate *src, bool initial)
{
	struct k2_wstate *st;
	uint32_t idx;

	if (s->n_tests < s->cap_tests) {
		if (k2_wstate_new(s->vm, &st))
			return -ENOMEM;
		idx = s->n_tests;
	} else {
		if (initial)
			return 0;
		/* Full: counterexamples replace the oldest tests in turn, never the newest. */
		idx = s->ord[s->n_tests - 1 - s->next_replace++ % (s->n_tests > 1 ? s->n_tests - 1
										    : 1)];
		st = s->tests[idx];
	}
	if (k2_wstate_copy(st, src) || !ref_of(s, st, &s->refs[idx])) {
		if (idx == s->n_tests)
			k2_wstate_free(st);
		return 0;
	}
	if (idx == s->n_tests) {
		s->tests[idx] = st;
		s->n_tests++;
	} else {
		for (uint32_t k = 0; k < s->n_tests; k++)
			if (s->ord[k] == idx) {
				memmove(&s->ord[k], &s->ord[k + 1],
					(s->n_tests - 1 - k) * sizeof(*s->ord));
				break;
			}
	}
	/* New tests are scored first: a counterexample fails the candidates like the one it
	 * was found for. */
	if (initial) {
		s->ord[s->n_tests - 1] = idx;
	} else {
		memmove(&s->ord[1], &s->ord[0], (s->n_tests - 1) * sizeof(*s->ord));
		s->ord[0] = idx;
	}
	return 1;
}

static int setup_original(struct k2_wsearch *s, struct k2_err *e)
{
	const struct k2_prog *prog = s->an->prog;
	uint32_t nv = 0;
	int nc;

	s->orig_slots = s->win.end - s->win.start;
	s->orig_insns = malloc(s->orig_slots * sizeof(*s->orig_insns));
	s->orig = malloc(s->orig_slots * sizeof(*s->orig));
	if (!s->orig_insns || !s->orig)
		return nomem(e);
	memcpy(s->orig_insns, prog->insns + s->win.start, s->orig_slots * sizeof(*s->orig_insns));
	nc = k2_cells_from_insns(s->orig_insns, s->orig_slots, s->orig);
	if (nc <= 0)
		return k2_err_set(e, -EINVAL, "window %u:%u: not a window (jumps or ld_imm64)",
				  s->win.start, s->win.end);
	s->n = (uint32_t)nc;
	s->pre = calloc(1, sizeof(*s->pre));
	s->post = calloc(1, sizeof(*s->post));
	s->orig_post = calloc(1, sizeof(*s->orig_post));
	if (!s->pre || !s->post || !s->orig_post)
		return nomem(e);
	if (k2_win_precond(s->an, &s->win, s->pre))
		return k2_err_set(e, -EINVAL, "window %u:%u: no precondition (unreachable?)",
				  s->win.start, s->win.end);
	if (k2_absint_fragment(prog, s->pre, s->orig_insns, s->orig_slots, NULL, s->orig_post,
			       NULL, 0, &nv, e))
		return k2_err_prefix(e, "window %u:%u: ", s->win.start, s->win.end);
	k2_win_stack_out(s->an, &s->win, &s->stack_live);
	return 0;
}

static int setup_scratch(struct k2_wsearch *s, struct k2_err *e)
{
	uint32_t cap = 2 * s->n + 2;
	struct bpf_insn *fill;
	int err;

	s->buf = calloc(cap, sizeof(*s->buf));
	s->pos = calloc(s->n + 1, sizeof(*s->pos));
	s->prop = calloc(s->n, sizeof(*s->prop));
	fill = calloc(cap, sizeof(*fill));
	if (!s->buf || !s->pos || !s->prop || !fill || k2_window_new(&s->window)) {
		free(fill);
		return nomem(e);
	}
	/* Grow the decoder once to the longest candidate, so that scoring never allocates. */
	for (uint32_t i = 0; i < cap; i++)
		k2_insn_encode(K2_OP_JA, 0, 0, 0, 0, &fill[i]);
	err = k2_window_set(s->window, s->vm, fill, cap, e);
	free(fill);
	if (err)
		return err;
	for (uint32_t c = 0; c < s->pt.m; c++) {
		s->chains[c].cur = malloc(s->n * sizeof(struct k2_cell));
		if (!s->chains[c].cur)
			return nomem(e);
		memcpy(s->chains[c].cur, s->orig, s->n * sizeof(struct k2_cell));
	}
	return 0;
}

static int setup_tests(struct k2_wsearch *s, struct k2_wstate *const *tests, uint32_t n,
		       struct k2_err *e)
{
	s->cap_tests = s->cfg.max_tests > n ? s->cfg.max_tests : n;
	s->tests = calloc(s->cap_tests, sizeof(*s->tests));
	s->refs = calloc(s->cap_tests, sizeof(*s->refs));
	s->ord = calloc(s->cap_tests, sizeof(*s->ord));
	if (!s->tests || !s->refs || !s->ord || k2_wstate_new(s->vm, &s->scratch))
		return nomem(e);
	for (uint32_t i = 0; i < n; i++)
		if (k2_ws_add_test(s, tests[i], true) < 0)
			return nomem(e);
	s->n_initial = s->n_tests;
	if (!s->n_tests)
		return k2_err_set(e, -EINVAL,
				  "window %u:%u: the original fails on every test state (%u given)",
				  s->win.start, s->win.end, n);
	s->frame = k2_wstate_frame(s->tests[0]);
	return 0;
}

static int setup(struct k2_wsearch *s, struct k2_wstate *const *tests, uint32_t n_tests,
		 const struct k2_wsearch_opts *o, struct k2_err *e)
{
	uint32_t n;
	int err;

	k2_rng_seed(&s->rng, o->seed);
	if (s->cfg.objective == K2_OBJ_LATENCY && !o->latency)
		return k2_err_set(e, -EINVAL, "objective=latency needs a latency table");
	s->lat = o->latency;
	err = setup_original(s, e);
	if (err)
		return err;
	k2_pool_init(&s->pool, s->orig, s->n, &s->win, s->pre, &s->cfg);
	k2_pt_init(&s->pt, s->cfg.chains, s->cfg.beta_max, s->cfg.beta_min);
	err = setup_scratch(s, e);
	if (!err)
		err = setup_tests(s, tests, n_tests, e);
	if (err)
		return err;
	n = k2_cells_compact(s->orig, s->n, s->buf, s->pos);
	s->orig_perf = k2_ws_perf(s, s->buf, n);
	s->st.orig_perf = s->st.best_perf = s->orig_perf;
	if (k2_ws_seen_add(s, k2_insns_hash(s->buf, n), K2_SEEN_EQUIV))
		return nomem(e);
	for (uint32_t c = 0; c < s->pt.m; c++) {
		s->chains[c].cost = s->cfg.w_perf * s->orig_perf;
		s->chains[c].best_cost = s->chains[c].cost;
	}
	s->no_prove = o->no_prove;
	return s->no_prove ? 0 : k2_ws_prover_init(s, o, e);
}

int k2_wsearch_new(struct k2_vm *vm, const struct k2_analysis *an, const struct k2_win *w,
		   struct k2_wstate *const *tests, uint32_t n_tests,
		   const struct k2_wsearch_opts *opts, struct k2_wsearch **out, struct k2_err *e)
{
	struct k2_wsearch_opts o = { .sz = sizeof(o) };
	struct k2_wsearch *s;
	struct k2_config dflt;
	int err;

	*out = NULL;
	if (opts)
		memcpy(&o, opts, opts->sz < sizeof(o) ? opts->sz : sizeof(o));
	if (!n_tests)
		return k2_err_set(e, -EINVAL, "window %u:%u: no test states", w->start, w->end);
	s = calloc(1, sizeof(*s));
	if (!s)
		return nomem(e);
	s->vm = vm;
	s->an = an;
	s->win = *w;
	if (!o.cfg) {
		k2_config_defaults(&dflt);
		o.cfg = &dflt;
	}
	s->cfg = o.cfg->search;
	err = setup(s, tests, n_tests, &o, e);
	if (err) {
		k2_wsearch_free(s);
		return err;
	}
	*out = s;
	return 0;
}

void k2_wsearch_free(struct k2_wsearch *s)
{
	if (!s)
		return;
	k2_ws_prover_fini(s);
	for (uint32_t i = 0; i < s->n_tests; i++)
		k2_wstate_free(s->tests[i]);
	for (uint32_t i = 0; i < s->n_cex; i++)
		k2_wstate_free(s->cex[i]);
	for (uint32_t i = 0; i < s->n_best; i++)
		free(s->best[i].insns);
	for (uint32_t c = 0; c < K2_PT_MAX; c++)
		free(s->chains[c].cur);
	k2_wstate_free(s->scratch);
	k2_window_free(s->window);
	free(s->tests);
	free(s->refs);
	free(s->ord);
	free(s->cex);
	free(s->best);
	free(s->seen);
	free(s->buf);
	free(s->pos);
	free(s->prop);
	free(s->orig);
	free(s->orig_insns);
	free(s->pre);
	free(s->post);
	free(s->orig_post);
	free(s);
}

/* ---- the chains ---- */

static void restart(struct k2_wsearch *s, struct k2_chain *ch)
{
	int nc = -1;

	if (s->n_best)
		nc = k2_cells_from_insns(s->best[0].insns, s->best[0].n, ch->cur);
	if (nc < 0 || (uint32_t)nc > s->n) {
		memcpy(ch->cur, s->orig, s->n * sizeof(*ch->cur));
	} else {
		for (uint32_t i = (uint32_t)nc; i < s->n; i++)
			k2_cell_nop(&ch->cur[i]);
	}
	ch->cost = s->cfg.w_perf * (s->n_best ? s->best[0].perf : s->orig_perf);
	ch->best_cost = ch->cost;
	ch->since_best = 0;
	s->st.restarts++;
}

/* Whether a zero-error candidate of this performance could enter the top-K. */
static bool worth_proving(const struct k2_wsearch *s, double perf)
{
	if (perf >= s->orig_perf)
		return false;
	return s->n_best < s->cfg.top_k || perf < s->best[s->n_best - 1].perf;
}

static int step(struct k2_wsearch *s, uint32_t c, struct k2_err *e)
{
	struct k2_chain *ch = &s->chains[c];
	struct k2_wscore sc;
	enum k2_move mv;
	uint32_t n;
	double perf, limit, cost;

	memcpy(s->prop, ch->cur, s->n * sizeof(*s->prop));
	mv = k2_propose(&s->pool, &s->rng, s->prop, s->n);
	s->st.iters++;
	s->st.moves[mv]++;
	n = k2_cells_compact(s->prop, s->n, s->buf, s->pos);
	limit = k2_mh_limit(s->pt.beta[c], ch->cost, k2_rng_unit(&s->rng));
	if (n > s->orig_slots) /* never larger than the original */
		goto reject;
	perf = k2_ws_perf(s, s->buf, n);
	if (s->cfg.w_perf * perf > limit) /* rejected whatever its error */
		goto reject;
	if (k2_window_set(s->window, s->vm, s->buf, n, NULL)) {
		s->st.invalid++;
		goto reject;
	}
	cost = k2_ws_score_buf(s, n, perf, limit, &sc);
	if (cost > limit)
		goto reject;
	if (!sc.error && !sc.unsafe) {
		uint64_t h = k2_insns_hash(s->buf, n);
		enum k2_seen what = k2_ws_seen(s, h);

		if (what == K2_SEEN_NONE && worth_proving(s, perf)) {
			int err = k2_ws_judge(s, n, perf, &what, e);

			if (err)
				return err;
			/* A counterexample joined the tests (and the decoder held the original). */
			if (what == K2_SEEN_NONE) {
				if (k2_window_set(s->window, s->vm, s->buf, n, NULL))
					goto reject;
				cost = k2_ws_score_buf(s, n, perf, INFINITY, &sc);
			}
		}
		if (what == K2_SEEN_BAD)
			cost += s->cfg.w_unsafe;
		if (cost > limit)
			goto reject;
	}
	memcpy(ch->cur, s->prop, s->n * sizeof(*s->prop));
	ch->cost = cost;
	s->st.accepted++;
	s->st.moves_acc[mv]++;
reject:
	if (ch->cost < ch->best_cost) {
		ch->best_cost = ch->cost;
		ch->since_best = 0;
	} else if (++ch->since_best >= s->cfg.restart_after) {
		restart(s, ch);
	}
	return 0;
}

static void swap_chains(void *arg, uint32_t i, uint32_t j)
{
	struct k2_wsearch *s = arg;
	struct k2_cell *t = s->chains[i].cur;
	double c = s->chains[i].cost;

	s->chains[i].cur = s->chains[j].cur;
	s->chains[i].cost = s->chains[j].cost;
	s->chains[j].cur = t;
	s->chains[j].cost = c;
}

static void exchange(struct k2_wsearch *s)
{
	double costs[K2_PT_MAX];

	for (uint32_t c = 0; c < s->pt.m; c++)
		costs[c] = s->chains[c].cost;
	/* swap_chains moves costs with the states; the array is only the rule's view. */
	k2_pt_exchange(&s->pt, costs, &s->rng, swap_chains, s);
}

int k2_wsearch_run(struct k2_wsearch *s, uint64_t max_iters, double max_seconds,
		   struct k2_err *e)
{
	double t0 = k2_ws_now(), base = s->st.seconds;
	uint64_t stop = max_iters ? s->st.iters + max_iters : UINT64_MAX;
	int err = 0;

	s->run_t0 = t0;
	s->run_base = base;
	while (!err && s->st.iters < stop) {
		/* A proposal that reaches the prover may take z3's whole timeout, and a round
		 * has chains x swap_interval of them: the clock is read after each such one
		 * (and every 64), and a round cut short goes on where it stopped next call. */
		for (uint32_t c = s->at_chain; c < s->pt.m && !err; c++, s->at_step = 0)
			for (uint32_t k = s->at_step; k < s->cfg.swap_interval &&
			     s->st.iters < stop && !err; k++) {
				uint32_t judged = s->st.zero_error;

				err = step(s, c, e);
				if (max_seconds > 0 && (s->st.zero_error != judged || !(k & 63)) &&
				    k2_ws_now() - t0 >= max_seconds &&
				    (k + 1 < s->cfg.swap_interval || c + 1 < s->pt.m)) {
					s->at_chain = k + 1 < s->cfg.swap_interval ? c : c + 1;
					s->at_step = k + 1 < s->cfg.swap_interval ? k + 1 : 0;
					goto out;
				}
			}
		s->at_chain = s->at_step = 0;
		exchange(s);
		s->st.seconds = base + (k2_ws_now() - t0);
		if (max_seconds > 0 && k2_ws_now() - t0 >= max_seconds)
			break;
	}
out:
	s->st.seconds = base + (k2_ws_now() - t0);
	s->run_t0 = 0;
	return err;
}

double k2_ws_elapsed(const struct k2_wsearch *s)
{
	return s->run_t0 ? s->run_base + (k2_ws_now() - s->run_t0) : s->st.seconds;
}
