/* search/wsearch_api.c: what a driver reads from and gives to a window search. */
#include <math.h>
#include <string.h>

#include "search/search_int.h"

void k2_wsearch_stats(const struct k2_wsearch *s, struct k2_wsearch_stats *st)
{
	*st = s->st;
	st->n_tests = s->n_tests;
	st->iters_per_sec_chain =
		s->st.seconds > 0 ? (double)s->st.iters / s->st.seconds / s->pt.m : 0;
}

const struct k2_pt *k2_wsearch_pt(const struct k2_wsearch *s)
{
	return &s->pt;
}

const struct k2_win *k2_wsearch_window(const struct k2_wsearch *s)
{
	return &s->win;
}

const char *k2_wsearch_prove_error(const struct k2_wsearch *s)
{
	return s->prove_err;
}

uint32_t k2_wsearch_n_best(const struct k2_wsearch *s)
{
	return s->n_best;
}

const struct k2_wcand *k2_wsearch_best(const struct k2_wsearch *s, uint32_t i)
{
	return i < s->n_best ? &s->best[i] : NULL;
}

/* A compact program as n cells (padded with nops); -EINVAL if it does not fit the window. */
static int to_cells(const struct k2_wsearch *s, const struct bpf_insn *insns, uint32_t n,
		    struct k2_cell *cells, struct k2_err *e)
{
	struct k2_check_opts co = { .sz = sizeof(co), .allow_fallthrough = true };
	struct bpf_insn with_end[2 * s->n + 1];
	int nc;

	if (n > 2 * s->n)
		return k2_err_set(e, -EINVAL, "window %u:%u: %u slots do not fit %u cells",
				  s->win.start, s->win.end, n, s->n);
	/* Jumps to the end are allowed: checked as jumps to an exit placed there. */
	memcpy(with_end, insns, n * sizeof(*insns));
	k2_insn_encode(K2_OP_EXIT, 0, 0, 0, 0, &with_end[n]);
	if (k2_insns_check(with_end, n + 1, &co, e))
		return k2_err_prefix(e, "window %u:%u: ", s->win.start, s->win.end);
	nc = n ? k2_cells_from_insns(insns, n, cells) : 0;
	if (nc < 0 || (uint32_t)nc > s->n)
		return k2_err_set(e, -EINVAL,
				  "window %u:%u: not a window rewrite (%s)", s->win.start,
				  s->win.end, nc < 0 ? "a jump leaves it or goes backward"
						     : "more instructions than the window");
	for (uint32_t i = (uint32_t)nc; i < s->n; i++)
		k2_cell_nop(&cells[i]);
	return 0;
}

int k2_wsearch_add_proven(struct k2_wsearch *s, const struct bpf_insn *insns, uint32_t n,
			  struct k2_err *e)
{
	uint32_t m;
	int err = to_cells(s, insns, n, s->prop, e);

	if (err)
		return err;
	m = k2_cells_compact(s->prop, s->n, s->buf, s->pos);
	if (k2_ws_seen_add(s, k2_insns_hash(s->buf, m), K2_SEEN_EQUIV))
		return k2_err_set(e, -ENOMEM, "out of memory");
	err = k2_ws_add_best(s, s->buf, m, k2_ws_perf(s, s->buf, m));
	return err < 0 ? k2_err_set(e, err, "out of memory") : 0;
}

uint32_t k2_wsearch_n_tests(const struct k2_wsearch *s)
{
	return s->n_tests;
}

const struct k2_wstate *k2_wsearch_test(const struct k2_wsearch *s, uint32_t i)
{
	return i < s->n_tests ? s->tests[i] : NULL;
}

int k2_wsearch_add_test(struct k2_wsearch *s, const struct k2_wstate *st, struct k2_err *e)
{
	int r = k2_ws_add_test(s, st, false);

	if (r < 0)
		return k2_err_set(e, r, "out of memory");
	if (r > 0) {
		s->st.n_imported++;
		/* Costs of the chains were measured on fewer tests: rescore them. */
		for (uint32_t c = 0; c < s->pt.m; c++) {
			struct k2_wscore sc;
			uint32_t m = k2_cells_compact(s->chains[c].cur, s->n, s->buf, s->pos);

			if (k2_window_set(s->window, s->vm, s->buf, m, NULL))
				continue;
			s->chains[c].cost =
				k2_ws_score_buf(s, m, k2_ws_perf(s, s->buf, m), INFINITY, &sc);
		}
	}
	return r;
}

int k2_wsearch_add_test_packed(struct k2_wsearch *s, const void *buf, size_t len,
			       struct k2_err *e)
{
	if (k2_wstate_copy(s->scratch, s->tests[0]) || k2_wstate_unpack(s->scratch, buf, len))
		return k2_err_set(e, -EINVAL, "window %u:%u: not a packed state of this program",
				  s->win.start, s->win.end);
	return k2_wsearch_add_test(s, s->scratch, e);
}

uint32_t k2_wsearch_n_cex(const struct k2_wsearch *s)
{
	return s->n_cex;
}

const struct k2_wstate *k2_wsearch_cex(const struct k2_wsearch *s, uint32_t i)
{
	return i < s->n_cex ? s->cex[i] : NULL;
}

int k2_wsearch_cold(const struct k2_wsearch *s, struct bpf_insn *buf, uint32_t cap,
		    uint32_t *n, double *cost, double *beta)
{
	struct bpf_insn tmp[2 * s->n + 2];
	uint32_t pos[s->n + 1];
	uint32_t m = k2_cells_compact(s->chains[0].cur, s->n, tmp, pos);

	if (m > cap)
		return -ENOSPC;
	memcpy(buf, tmp, m * sizeof(*buf));
	*n = m;
	if (cost)
		*cost = s->chains[0].cost;
	if (beta)
		*beta = s->pt.beta[0];
	return 0;
}

int k2_wsearch_set_cold(struct k2_wsearch *s, const struct bpf_insn *insns, uint32_t n,
			struct k2_err *e)
{
	struct k2_wscore sc;
	uint32_t m;
	int err = to_cells(s, insns, n, s->prop, e);

	if (err)
		return err;
	m = k2_cells_compact(s->prop, s->n, s->buf, s->pos);
	if (k2_window_set(s->window, s->vm, s->buf, m, e))
		return k2_err_prefix(e, "window %u:%u: ", s->win.start, s->win.end);
	k2_ws_score_buf(s, m, k2_ws_perf(s, s->buf, m), INFINITY, &sc);
	memcpy(s->chains[0].cur, s->prop, s->n * sizeof(*s->prop));
	s->chains[0].cost = sc.cost;
	return 0;
}

int k2_wsearch_score(struct k2_wsearch *s, const struct bpf_insn *insns, uint32_t n,
		     struct k2_wscore *sc, struct k2_err *e)
{
	if (k2_window_set(s->window, s->vm, insns, n, e))
		return k2_err_prefix(e, "window %u:%u: ", s->win.start, s->win.end);
	k2_ws_score_buf(s, n, k2_ws_perf(s, insns, n), INFINITY, sc);
	return 0;
}
