/* search/prove_smt.c: z3 (smt/) as the window search's prover. */
#include <stdio.h>
#include <string.h>

#include "search/search_int.h"

int k2_prove_window_equiv(struct k2_smt *smt, struct k2_smt_window *sw, const struct k2_win *w,
			  const struct bpf_insn *cand, uint32_t n, enum k2_verdict *v,
			  struct k2_vm *vm, struct k2_wstate *cex, struct k2_err *e)
{
	struct bpf_insn nop;
	int err;

	/* smt/ encodes an empty window as falling off the end; `ja +0` is the same program
	 * (it leaves by the window's end) and is encoded as that. */
	if (!n) {
		k2_insn_encode(K2_OP_JA, 0, 0, 0, 0, &nop);
		cand = &nop;
		n = 1;
	}
	err = k2_smt_window_equiv(sw, cand, n, v, vm, cex, e);

	/* The reason of an UNKNOWN is the session's; the search reports it (prove_error). */
	if (!err && *v == K2_UNKNOWN && e)
		snprintf(e->msg, sizeof(e->msg), "window %u:%u: %s", w->start, w->end,
			 k2_smt_reason(smt));
	return err;
}

/*
 * The window's safety with z3. The static rules were judged already, the search's way
 * (rules_ok: also the whole program with the candidate in place, which accepts end states
 * k2_win_post_check cannot relate): here a violation only refuses when a state breaks it.
 */
int k2_prove_window_safe(struct k2_smt_window *sw, const struct k2_win *w,
			 const struct bpf_insn *cand, uint32_t n, bool *safe, char *why, size_t len,
			 struct k2_err *e)
{
	struct k2_safety_report r;
	struct bpf_insn nop;
	bool dynamic = false;
	int err;

	memset(&r, 0, sizeof(r));
	if (!n) {
		k2_insn_encode(K2_OP_JA, 0, 0, 0, 0, &nop);
		cand = &nop;
		n = 1;
	}
	*safe = false;
	err = k2_smt_window_safe(sw, cand, n, &r, e);
	if (err)
		return err;
	for (uint32_t i = 0; i < r.n; i++)
		dynamic |= r.v[i].has_input;
	dynamic |= r.n > r.n_static || r.n == K2_SAFETY_MAXV;
	*safe = r.verdict == K2_SAFE || (r.verdict == K2_UNSAFE && !dynamic);
	if (!*safe)
		snprintf(why, len, "window %u:%u: safety %s: %s", w->start, w->end,
			 k2_safety_name(r.verdict),
			 r.verdict == K2_UNSAFE && r.n ? r.v[0].msg : r.reason);
	k2_safety_report_free(&r);
	return 0;
}

static int smt_equiv(void *arg, const struct bpf_insn *cand, uint32_t n, enum k2_verdict *v,
		     struct k2_wstate *cex, struct k2_err *e)
{
	struct k2_wsearch *s = arg;

	return k2_prove_window_equiv(s->smt, s->sw, &s->win, cand, n, v, s->vm, cex, e);
}

static int smt_safe(void *arg, const struct bpf_insn *cand, uint32_t n, bool *safe, char *why,
		    size_t len, struct k2_err *e)
{
	struct k2_wsearch *s = arg;

	return k2_prove_window_safe(s->sw, &s->win, cand, n, safe, why, len, e);
}

int k2_ws_prover_smt(struct k2_wsearch *s, struct k2_smt *smt, struct k2_err *e)
{
	int err;

	if (!smt) {
		err = k2_smt_new(NULL, &smt, e);
		if (err)
			return err;
		s->own_smt = true;
	}
	s->smt = smt;
	err = k2_smt_window_new(smt, s->an, &s->win, &s->sw, e);
	if (err)
		return err;
	s->prover.equiv = smt_equiv;
	s->prover.safe = smt_safe;
	s->prover.arg = s;
	return 0;
}

void k2_ws_prover_smt_fini(struct k2_wsearch *s)
{
	k2_smt_window_free(s->sw);
	s->sw = NULL;
	if (s->own_smt)
		k2_smt_free(s->smt);
	s->smt = NULL;
}

int k2_search_smt_new(const struct k2_config *cfg, struct k2_smt **out, struct k2_err *e)
{
	struct k2_smt_opts so = {
		.sz = sizeof(so),
		.timeout_ms = cfg->smt.timeout_ms,
		.no_memtype = !cfg->smt.memtype,
		.no_maptype = !cfg->smt.maptype,
		.no_offset = !cfg->smt.offset,
		.no_modular = !cfg->smt.modular,
		.no_cache = !cfg->smt.cache,
		.no_prefilter = !cfg->smt.prefilter,
	};

	return k2_smt_new(&so, out, e);
}

void k2_search_smt_free(struct k2_smt *smt)
{
	k2_smt_free(smt);
}

int k2_search_smt_prog(struct k2_smt *smt, const struct k2_prog *a, const struct k2_prog *b,
		       enum k2_whole_check *v, char *why, size_t len, struct k2_input *cex)
{
	enum k2_verdict verdict = K2_UNKNOWN;
	struct k2_err e = { 0 };
	int err = k2_smt_equiv_prog(smt, a, b, &verdict, cex, &e);

	if (err == -ENOMEM)
		return err;
	if (err)
		verdict = K2_UNKNOWN;
	*v = verdict == K2_EQUIVALENT ? K2_WHOLE_EQUIVALENT
	     : verdict == K2_DIFFERENT ? K2_WHOLE_DIFFERENT : K2_WHOLE_UNKNOWN;
	/* An UNKNOWN without an error keeps its reason in the session (a refused instruction,
	 * z3's reason_unknown): without it reports said nothing or guessed "timeout". */
	snprintf(why, len, "%s", err ? e.msg : k2_smt_reason(smt));
	return 0;
}
