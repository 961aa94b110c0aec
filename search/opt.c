/* search/opt.c: a whole program: windows, inputs, budget, one search per window, composition. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "search/opt_int.h"
#include "search/search_int.h"

#define INPUTS_MIN 64

struct opt {
	const struct k2_prog *prog;
	struct k2_config cfg;
	struct k2_opt_opts o;
	struct k2_analysis *an;
	struct k2_vm *vm;
	struct k2_inputs *inputs;
	struct k2_smt *smt;
	bool own_smt;
	double t0;
	struct k2_opt_result *res;
};

static uint64_t mix(uint64_t a, uint64_t b)
{
	uint64_t x = a ^ (b * 0x9e3779b97f4a7c15ULL);

	return k2_rng_splitmix(&x);
}

static void progress(struct opt *op, uint32_t w, struct k2_wsearch *s, bool done)
{
	struct k2_opt_progress p = { 0 };
	struct k2_opt_result *res = op->res;
	struct k2_wsearch_stats st;

	if (!op->o.progress)
		return;
	p.window = w;
	p.n_windows = res->n_windows;
	p.win_start = res->windows[w].win.start;
	p.win_end = res->windows[w].win.end;
	p.slots_before = res->slots_before;
	p.slots_now = res->slots_before;
	for (uint32_t i = 0; i < res->n_windows; i++)
		if (res->windows[i].improved)
			p.slots_now -= res->windows[i].slots_before - res->windows[i].slots_after;
	if (s) {
		k2_wsearch_stats(s, &st);
		p.orig_perf = st.orig_perf;
		p.best_perf = st.best_perf;
		p.iters_per_sec = st.seconds > 0 ? st.iters / st.seconds : 0;
		if (s->n_best && !done)
			p.slots_now -= res->windows[w].slots_before - s->best[0].n;
	}
	p.elapsed = k2_ws_now() - op->t0;
	p.window_done = done;
	op->o.progress(op->o.progress_arg, &p);
}

/* Runs one window's search for its share of the budget and keeps its best proof. */
static int search_window(struct opt *op, uint32_t w, double budget, uint64_t iters,
			 struct k2_err *e)
{
	struct k2_opt_window *ow = &op->res->windows[w];
	struct k2_wstate **tests = NULL;
	struct k2_wsearch *s = NULL;
	struct k2_prover pr = { 0 };
	uint32_t n_tests = 0;
	uint64_t seed = mix(op->cfg.search.seed, ow->win.start);
	double slice = op->o.progress_interval > 0 ? op->o.progress_interval : 0.25, t0;
	int err;

	ow->budget = budget;
	err = k2_inputs_window_tests(op->inputs, op->an, &ow->win, op->cfg.search.tests, seed,
				     &tests, &n_tests, &ow->tests_reached, e);
	if (err)
		return err;
	K2_WSEARCH_OPTS(wo, .cfg = &op->cfg, .seed = seed, .latency = op->o.latency,
			.smt = op->smt);
	if (op->o.prover_new) {
		err = op->o.prover_new(op->o.prover_arg, op->vm, op->an, &ow->win, &pr, e);
		if (err) {
			k2_tests_free(tests, n_tests);
			return err;
		}
		wo.prover = &pr;
	}
	err = n_tests ? k2_wsearch_new(op->vm, op->an, &ow->win, tests, n_tests, &wo, &s, e)
		      : -ENODATA;
	k2_tests_free(tests, n_tests);
	if (err && op->o.prover_new && op->o.prover_free)
		op->o.prover_free(op->o.prover_arg, &pr);
	if (err == -ENODATA || err == -EINVAL)
		return 0; /* no usable test state: the window stays as it is */
	if (err)
		return err;
	t0 = k2_ws_now();
	while (!err) {
		double left = budget - (k2_ws_now() - t0);
		uint64_t done = s->st.iters;

		if (iters ? done >= iters : left <= 0)
			break;
		err = k2_wsearch_run(s, iters ? (iters - done < 20000 ? iters - done : 20000) : 0,
				     iters ? 0 : (left < slice ? left : slice), e);
		progress(op, w, s, false);
		if (s->n_best && s->best[0].perf <= 0)
			break; /* the window is gone: nothing is smaller */
	}
	k2_wsearch_stats(s, &ow->stats);
	if (!err && s->n_best && s->best[0].perf < s->orig_perf && s->best[0].n <= ow->slots_before) {
		ow->repl = malloc((s->best[0].n ? s->best[0].n : 1) * sizeof(*ow->repl));
		if (!ow->repl) {
			err = k2_err_set(e, -ENOMEM, "out of memory");
		} else {
			memcpy(ow->repl, s->best[0].insns, s->best[0].n * sizeof(*ow->repl));
			ow->n_repl = s->best[0].n;
			ow->slots_after = s->best[0].n;
			ow->improved = true;
			ow->found_at = t0 - op->t0 + s->best[0].seconds;
		}
	}
	progress(op, w, s, true);
	k2_wsearch_free(s);
	if (op->o.prover_new && op->o.prover_free)
		op->o.prover_free(op->o.prover_arg, &pr);
	return err;
}

static int pick_windows(struct opt *op, struct k2_err *e)
{
	struct k2_win_opts wo = { .sz = sizeof(wo), .max_len = op->cfg.search.max_window,
				  .main_only = true };
	struct k2_opt_result *res = op->res;
	struct k2_win *w = NULL;
	uint32_t n = 0;
	int err;

	if (op->o.windows && strcmp(op->o.windows, "auto")) {
		err = k2_wins_parse(op->an, op->o.windows, &w, &n, e);
		for (uint32_t i = 0; !err && i < n; i++)
			if (w[i].end > op->prog->n_main)
				err = k2_err_set(e, -EINVAL, "window %u:%u: outside the main function",
						 w[i].start, w[i].end);
	} else {
		err = k2_wins_select(op->an, &wo, &w, &n, e);
	}
	if (err) {
		free(w);
		return err;
	}
	res->windows = calloc(n ? n : 1, sizeof(*res->windows));
	if (!res->windows) {
		free(w);
		return k2_err_set(e, -ENOMEM, "out of memory");
	}
	for (uint32_t i = 0; i < n; i++) {
		res->windows[i].win = w[i];
		res->windows[i].slots_before = w[i].end - w[i].start;
		res->windows[i].slots_after = res->windows[i].slots_before;
	}
	res->n_windows = n;
	free(w);
	return 0;
}

static int search_all(struct opt *op, struct k2_err *e)
{
	struct k2_opt_result *res = op->res;
	double left_d = 0, budget = op->o.budget > 0 ? op->o.budget : op->cfg.search.budget;
	int err = 0;

	for (uint32_t i = 0; i < res->n_windows; i++)
		left_d += res->windows[i].win.difficulty;
	for (uint32_t i = 0; i < res->n_windows && !err; i++) {
		double d = res->windows[i].win.difficulty;
		double left = budget - (k2_ws_now() - op->t0);
		double share = left_d > 0 ? left * d / left_d : 0;
		uint64_t iters = op->o.iters_per_window ? (uint64_t)ceil(op->o.iters_per_window * d)
							: 0;

		err = search_window(op, i, share > 0 ? share : 0, iters, e);
		left_d -= d;
		res->iters += res->windows[i].stats.iters;
		res->equivalent += res->windows[i].stats.equivalent;
		res->different += res->windows[i].stats.different;
		res->unknown += res->windows[i].stats.unknown;
		res->unsafe += res->windows[i].stats.unsafe;
		res->safety_refused += res->windows[i].stats.safety_refused;
	}
	return err;
}

/* ---- composition and the whole-program checks ---- */

static int compose(const struct k2_prog *prog, const struct k2_opt_result *res, const bool *keep,
		   struct k2_prog *out, int32_t *old_to_new, struct k2_err *e)
{
	struct k2_splice_opts so = { .sz = sizeof(so), .n_main = prog->n_main };
	struct k2_edit *ed = calloc(res->n_windows + 1, sizeof(*ed));
	uint32_t n = 0;
	int err;

	if (!ed)
		return k2_err_set(e, -ENOMEM, "out of memory");
	for (uint32_t i = 0; i < res->n_windows; i++)
		if (keep[i])
			ed[n++] = (struct k2_edit){ res->windows[i].win.start, res->windows[i].win.end,
						    res->windows[i].repl, res->windows[i].n_repl };
	*out = *prog;
	err = k2_splice(prog->insns, prog->n_insns, ed, n, &so, &out->insns, &out->n_insns,
			&out->n_main, old_to_new, e);
	free(ed);
	return err;
}

/* Which kept window, alone, makes `input` run differently: those are dropped. */
static int blame(struct opt *op, bool *keep, const struct k2_input *in, uint32_t *dropped,
		 struct k2_err *e)
{
	struct k2_opt_result *res = op->res;
	bool *one = calloc(res->n_windows + 1, sizeof(*one));
	uint32_t found = 0;
	int err = one ? 0 : k2_err_set(e, -ENOMEM, "out of memory");

	for (uint32_t i = 0; i < res->n_windows && !err; i++) {
		struct k2_prog p;
		struct k2_result ra, rb;
		struct k2_vm *vb;

		if (!keep[i])
			continue;
		memset(one, 0, res->n_windows * sizeof(*one));
		one[i] = true;
		err = compose(op->prog, res, one, &p, NULL, e);
		if (err)
			break;
		err = k2_vm_new(&p, NULL, &vb, e);
		if (!err) {
			k2_vm_run(op->vm, in, &ra);
			k2_vm_run(vb, in, &rb);
			if (ra.status != rb.status || ra.r0 != rb.r0 || ra.pkt_len != rb.pkt_len ||
			    memcmp(ra.pkt, rb.pkt, ra.pkt_len) || ra.n_effects != rb.n_effects)
				keep[i] = false, found++;
			k2_vm_free(vb);
		} else {
			keep[i] = false, found++, err = 0;
		}
		free(p.insns);
	}
	if (!err && !found) /* only together: give up on all of them */
		for (uint32_t i = 0; i < res->n_windows; i++)
			if (keep[i])
				keep[i] = false, found++;
	*dropped += found;
	free(one);
	return err;
}

int k2_search_smt_prog(struct k2_smt *smt, const struct k2_prog *a, const struct k2_prog *b,
		       enum k2_whole_check *v, char *why, size_t len, struct k2_input *cex);
void k2_search_smt_free(struct k2_smt *smt);

static bool any_kept(const struct k2_opt_result *res, const bool *keep)
{
	for (uint32_t i = 0; i < res->n_windows; i++)
		if (keep[i])
			return true;
	return false;
}

/* Interpreter and rules on the composition until they pass, dropping what breaks them. */
static int check_loop(struct opt *op, bool *keep, struct k2_prog *cand, int32_t *map,
		      struct k2_err *e)
{
	struct k2_opt_result *res = op->res;
	struct k2_input *cex = malloc(sizeof(*cex));
	int err = cex ? 0 : k2_err_set(e, -ENOMEM, "out of memory");

	while (!err) {
		int32_t bad = -1;
		bool ok = true;

		free(cand->insns);
		cand->insns = NULL;
		err = compose(op->prog, res, keep, cand, map, e);
		if (!err)
			err = k2_opt_interp_check(op->vm, cand, op->inputs, &res->interp_inputs, &bad,
						  e);
		if (!err && bad >= 0 && !any_kept(res, keep)) {
			/* The original differs from itself: nothing left to blame. */
			err = k2_err_set(e, -EPROTO, "input %d: the interpreter runs the original "
					 "program two ways", bad);
			break;
		}
		if (!err && bad >= 0) {
			err = blame(op, keep, k2_inputs_get(op->inputs, (uint32_t)bad), &res->dropped,
				    e);
			continue;
		}
		if (!err)
			err = k2_opt_rules_check(op->prog, cand, &ok, e);
		if (!err && !ok) {
			/* Drop windows one at a time from the last until the rules hold. */
			for (uint32_t i = res->n_windows; i-- > 0;)
				if (keep[i]) {
					keep[i] = false;
					res->dropped++;
					break;
				}
			continue;
		}
		if (err)
			break;
		res->whole = K2_WHOLE_NOT_RUN;
		if (!op->smt || !any_kept(res, keep))
			break;
		err = k2_search_smt_prog(op->smt, op->prog, cand, &res->whole, res->whole_why,
					 sizeof(res->whole_why), cex);
		if (err || res->whole != K2_WHOLE_DIFFERENT)
			break;
		err = blame(op, keep, cex, &res->dropped, e);
	}
	free(cex);
	return err;
}

static void count(const struct bpf_insn *insns, uint32_t n_main, uint32_t *slots,
		  uint32_t *n_insns)
{
	*slots = n_main;
	*n_insns = k2_insns_count(insns, n_main);
}

static int finish(struct opt *op, const bool *keep_in, struct k2_err *e)
{
	struct k2_opt_result *res = op->res;
	bool *keep = calloc(res->n_windows + 1, sizeof(*keep));
	int32_t *map = malloc((op->prog->n_insns + 1) * sizeof(*map));
	struct k2_prog cand = *op->prog;
	int err = keep && map ? 0 : k2_err_set(e, -ENOMEM, "out of memory");

	cand.insns = NULL;
	for (uint32_t i = 0; i < res->n_windows && !err; i++)
		keep[i] = keep_in ? keep_in[i] && res->windows[i].improved
				  : res->windows[i].improved;
	if (!err)
		err = check_loop(op, keep, &cand, map, e);
	if (err) {
		free(cand.insns);
		free(keep);
		free(map);
		return err;
	}
	free(res->insns);
	free(res->old_to_new);
	res->insns = cand.insns;
	res->n_insns = cand.n_insns;
	res->n_main = cand.n_main;
	res->old_to_new = map;
	count(cand.insns, cand.n_main, &res->slots_after, &res->insns_after);
	res->improved = 0;
	res->time_to_best = 0;
	for (uint32_t i = 0; i < res->n_windows; i++) {
		struct k2_opt_window *w = &res->windows[i];

		if (!keep[i] && w->improved) {
			w->improved = false;
			w->slots_after = w->slots_before;
		}
		if (w->improved) {
			res->improved++;
			if (w->found_at > res->time_to_best)
				res->time_to_best = w->found_at;
		}
	}
	free(keep);
	return 0;
}

static int setup(struct opt *op, struct k2_err *e)
{
	const struct k2_prog *prog = op->prog;
	struct k2_analysis_opts ao = { .sz = sizeof(ao) };
	uint32_t n_in = 4 * op->cfg.search.tests;
	int err;

	count(prog->insns, prog->n_main, &op->res->slots_before, &op->res->insns_before);
	err = k2_analysis_new(prog, &ao, &op->an, e);
	if (!err)
		err = pick_windows(op, e);
	if (!err)
		err = k2_vm_new(prog, NULL, &op->vm, e);
	if (!err)
		err = k2_inputs_new(prog, op->vm, &op->cfg, n_in < INPUTS_MIN ? INPUTS_MIN : n_in,
				    mix(op->cfg.search.seed, 0x1a2b), &op->inputs, e);
	if (!err && op->o.smt) {
		op->smt = op->o.smt;
	} else if (!err && !op->o.prover_new) {
		err = k2_search_smt_new(&op->cfg, &op->smt, e);
		op->own_smt = !err;
	}
	return err;
}

static void teardown(struct opt *op)
{
	if (op->own_smt)
		k2_search_smt_free(op->smt);
	k2_inputs_free(op->inputs);
	k2_vm_free(op->vm);
	k2_analysis_free(op->an);
}

int k2_opt_prog(const struct k2_prog *prog, const struct k2_opt_opts *opts,
		struct k2_opt_result *res, struct k2_err *e)
{
	struct opt op = { .prog = prog, .res = res };
	int err;

	memset(res, 0, sizeof(*res));
	if (opts)
		memcpy(&op.o, opts, opts->sz < sizeof(op.o) ? opts->sz : sizeof(op.o));
	if (op.o.cfg)
		op.cfg = *op.o.cfg;
	else
		k2_config_defaults(&op.cfg);
	if (op.cfg.search.objective == K2_OBJ_LATENCY && !op.o.latency)
		return k2_err_set(e, -EINVAL, "%s: objective=latency needs a latency table",
				  prog->sec);
	op.t0 = k2_ws_now();
	err = setup(&op, e);
	if (!err)
		err = search_all(&op, e);
	if (!err)
		err = finish(&op, NULL, e);
	res->seconds = k2_ws_now() - op.t0;
	teardown(&op);
	if (err) {
		k2_err_prefix(e, "%s: ", prog->sec[0] ? prog->sec : prog->name);
		k2_opt_result_free(res);
	}
	return err;
}

int k2_opt_recompose(const struct k2_prog *prog, struct k2_opt_result *res, const bool *keep,
		     struct k2_err *e)
{
	struct opt op = { .prog = prog, .res = res };
	int err;

	k2_config_defaults(&op.cfg);
	op.o.sz = sizeof(op.o);
	op.t0 = k2_ws_now();
	/* The same checks, on fresh inputs, without z3 (the kept windows were proven). */
	err = k2_analysis_new(prog, NULL, &op.an, e);
	if (!err)
		err = k2_vm_new(prog, NULL, &op.vm, e);
	if (!err)
		err = k2_inputs_new(prog, op.vm, &op.cfg, INPUTS_MIN, 0x5eed, &op.inputs, e);
	if (!err)
		err = finish(&op, keep, e);
	teardown(&op);
	return err;
}

int k2_opt_compose(const struct k2_prog *prog, const struct k2_opt_opts *opts,
		   struct k2_opt_result *res, struct k2_err *e)
{
	struct opt op = { .prog = prog, .res = res };
	uint32_t n_in;
	int err;

	if (opts)
		memcpy(&op.o, opts, opts->sz < sizeof(op.o) ? opts->sz : sizeof(op.o));
	if (op.o.cfg)
		op.cfg = *op.o.cfg;
	else
		k2_config_defaults(&op.cfg);
	op.t0 = k2_ws_now();
	n_in = 4 * op.cfg.search.tests;
	count(prog->insns, prog->n_main, &res->slots_before, &res->insns_before);
	err = k2_analysis_new(prog, NULL, &op.an, e);
	if (!err)
		err = k2_vm_new(prog, NULL, &op.vm, e);
	if (!err)
		err = k2_inputs_new(prog, op.vm, &op.cfg, n_in < INPUTS_MIN ? INPUTS_MIN : n_in,
				    mix(op.cfg.search.seed, 0xc0de), &op.inputs, e);
	if (!err && op.o.smt) {
		op.smt = op.o.smt;
	} else if (!err) {
		err = k2_search_smt_new(&op.cfg, &op.smt, e);
		op.own_smt = !err;
		if (err == -ENOSYS) {
			/* No solver in this build: the per-window proofs stand; res->whole says so. */
			op.smt = NULL;
			err = 0;
		}
	}
	if (!err)
		err = finish(&op, NULL, e);
	res->seconds = k2_ws_now() - op.t0;
	teardown(&op);
	if (err)
		k2_err_prefix(e, "%s: ", prog->sec[0] ? prog->sec : prog->name);
	return err;
}

void k2_opt_result_free(struct k2_opt_result *res)
{
	if (!res)
		return;
	for (uint32_t i = 0; i < res->n_windows; i++)
		free(res->windows[i].repl);
	free(res->windows);
	free(res->insns);
	free(res->old_to_new);
	memset(res, 0, sizeof(*res));
}
