/* search/judge.c: zero-error candidates: the verifier's rules, the prover, counterexamples. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search/search_int.h"

/* ---- candidates already judged ---- */

enum k2_seen k2_ws_seen(const struct k2_wsearch *s, uint64_t h)
{
	if (!s->seen_cap)
		return K2_SEEN_NONE;
	h |= 1; /* 0 marks an empty entry */
	for (uint32_t i = (uint32_t)h & (s->seen_cap - 1);; i = (i + 1) & (s->seen_cap - 1)) {
		if (!s->seen[i].hash)
			return K2_SEEN_NONE;
		if (s->seen[i].hash == h)
			return (enum k2_seen)s->seen[i].what;
	}
}

static void seen_put(struct k2_seen_ent *tab, uint32_t cap, uint64_t h, uint8_t what)
{
	uint32_t i = (uint32_t)h & (cap - 1);

	while (tab[i].hash && tab[i].hash != h)
		i = (i + 1) & (cap - 1);
	tab[i].hash = h;
	tab[i].what = what;
}

int k2_ws_seen_add(struct k2_wsearch *s, uint64_t h, enum k2_seen what)
{
	h |= 1;
	if (2 * (s->seen_n + 1) > s->seen_cap) {
		uint32_t cap = s->seen_cap ? 2 * s->seen_cap : 256;
		struct k2_seen_ent *t = calloc(cap, sizeof(*t));

		if (!t)
			return -ENOMEM;
		for (uint32_t i = 0; i < s->seen_cap; i++)
			if (s->seen[i].hash)
				seen_put(t, cap, s->seen[i].hash, s->seen[i].what);
		free(s->seen);
		s->seen = t;
		s->seen_cap = cap;
	}
	if (k2_ws_seen(s, h) == K2_SEEN_NONE)
		s->seen_n++;
	seen_put(s->seen, s->seen_cap, h, (uint8_t)what);
	return 0;
}

/* ---- the top-K ---- */

int k2_ws_add_best(struct k2_wsearch *s, const struct bpf_insn *insns, uint32_t n, double perf)
{
	struct k2_wcand c = { 0 };
	uint32_t at;

	for (uint32_t i = 0; i < s->n_best; i++)
		if (s->best[i].n == n && !memcmp(s->best[i].insns, insns, n * sizeof(*insns)))
			return 0;
	if (s->n_best == s->cfg.top_k && perf >= s->best[s->n_best - 1].perf)
		return 0;
	c.insns = malloc((n ? n : 1) * sizeof(*insns));
	if (!c.insns)
		return -ENOMEM;
	memcpy(c.insns, insns, n * sizeof(*insns));
	c.n = n;
	c.n_insns = k2_insns_count(insns, n);
	c.perf = perf;
	c.seconds = k2_ws_elapsed(s);
	c.iter = s->st.iters;
	if (!s->best) {
		s->best = calloc(s->cfg.top_k + 1, sizeof(*s->best));
		if (!s->best) {
			free(c.insns);
			return -ENOMEM;
		}
	}
	if (s->n_best == s->cfg.top_k)
		free(s->best[--s->n_best].insns);
	for (at = s->n_best; at > 0 && s->best[at - 1].perf > perf; at--)
		s->best[at] = s->best[at - 1];
	s->best[at] = c;
	s->n_best++;
	if (at == 0) {
		s->st.best_perf = perf;
		s->st.best_seconds = c.seconds;
	}
	return 1;
}

/* ---- judging ---- */

/* A live stack byte after the candidate is known at least as well as after the original. */
static bool byte_leq(const struct k2_slot *cand, const struct k2_slot *orig, int b)
{
	switch (orig->bytes[b]) {
	case K2_SB_INVALID: return true;
	case K2_SB_MISC: return cand->bytes[b] != K2_SB_INVALID;
	case K2_SB_ZERO: return cand->bytes[b] == K2_SB_ZERO;
	default:
		return cand->bytes[b] == K2_SB_SPILL && !memcmp(cand->bytes, orig->bytes, 8) &&
		       k2_aval_leq(&cand->spill, &orig->spill);
	}
}

/*
 * The candidate's end state (from the precondition) within the original window's own end
 * state: the program after the window was verified with (a join including) that one. The
 * state at the window's end in the whole program also joins other paths into it, in a form
 * k2_aval_leq may not relate to a single path's (pkt(off=22) vs pkt(off=14,var=0..8)).
 */
bool k2_ws_post_leq(const struct k2_wsearch *s, const struct k2_astate *cand)
{
	const struct k2_astate *orig = s->orig_post;

	if (!cand->reachable || !orig->reachable)
		return !orig->reachable || !cand->reachable;
	for (int r = 0; r < K2_NREGS; r++)
		if ((s->win.live_out >> r & 1) && !k2_aval_leq(&cand->regs[r], &orig->regs[r]))
			return false;
	for (int a = 0; a < K2_STACK_BYTES; a++)
		if ((s->stack_live.w[a / 64] >> (a % 64) & 1) &&
		    !byte_leq(&cand->stack[a / 8], &orig->stack[a / 8], a % 8))
			return false;
	return true;
}

/*
 * The whole program with the candidate in place passes the verifier-rule analysis with no
 * more violations than the original: for end states that differ from the original's in a way
 * the program after the window may not care about (two 1-byte constant spills become one
 * 2-byte one, read back as a whole).
 */
static bool whole_ok(struct k2_wsearch *s, uint32_t n)
{
	const struct k2_prog *prog = s->an->prog;
	struct k2_splice_opts so = { .sz = sizeof(so), .n_main = prog->n_main };
	struct k2_edit ed = { s->win.start, s->win.end, s->buf, n };
	struct k2_analysis *an = NULL;
	struct k2_prog p = *prog;
	uint32_t before = 0, after = UINT32_MAX;

	if (k2_splice(prog->insns, prog->n_insns, &ed, 1, &so, &p.insns, &p.n_insns, &p.n_main,
		      NULL, NULL))
		return false;
	if (!k2_analysis_new(&p, NULL, &an, NULL)) {
		k2_absint_violations(s->an->ai, &before);
		k2_absint_violations(an->ai, &after);
	}
	k2_analysis_free(an);
	free(p.insns);
	return after <= before;
}

/* The verifier's rules from the window's precondition, and its end state kept. */
static bool rules_ok(struct k2_wsearch *s, uint32_t n)
{
	struct k2_violation viol[2];
	struct k2_err e = { 0 };
	uint32_t nv = 0;

	if (k2_absint_fragment(s->an->prog, s->pre, s->buf, n, NULL, s->post, viol, 2, &nv, &e) ||
	    nv)
		return false;
	return k2_win_post_check(s->an, &s->win, s->post, &e) == 0 || k2_ws_post_leq(s, s->post) ||
	       whole_ok(s, n);
}

/* A counterexample: added to the tests; it must make the candidate differ, else the
 * prover and the interpreter disagree and the candidate is put aside. */
static enum k2_seen take_cex(struct k2_wsearch *s, uint32_t n)
{
	struct k2_wstate *copy;
	struct k2_wout *ref;
	int added = k2_ws_add_test(s, s->scratch, false);

	if (added <= 0)
		return K2_SEEN_BAD;
	ref = &s->refs[s->ord[0]];
	if (k2_window_set(s->window, s->vm, s->buf, n, NULL))
		return K2_SEEN_BAD;
	k2_vm_wrun(s->vm, s->window, s->tests[s->ord[0]], &s->out);
	if (s->out.status == K2_RUN_OK && s->out.exit == ref->exit &&
	    !k2_wout_error(ref, &s->out, s->win.live_out, &s->stack_live, s->frame))
		return K2_SEEN_BAD;
	s->st.n_cex++;
	if (s->n_cex == s->cap_cex) {
		uint32_t cap = s->cap_cex ? 2 * s->cap_cex : 16;
		struct k2_wstate **c = realloc(s->cex, cap * sizeof(*c));

		if (!c)
			return K2_SEEN_NONE;
		s->cex = c;
		s->cap_cex = cap;
	}
	if (!k2_wstate_new(s->vm, &copy)) {
		if (k2_wstate_copy(copy, s->scratch))
			k2_wstate_free(copy);
		else
			s->cex[s->n_cex++] = copy;
	}
	return K2_SEEN_NONE;
}

static int prove(struct k2_wsearch *s, uint32_t n, double perf, enum k2_seen *what,
		 struct k2_err *e)
{
	enum k2_verdict v = K2_UNKNOWN;
	struct k2_err pe = { 0 };
	int err;

	if (k2_wstate_copy(s->scratch, s->tests[0]))
		return k2_err_set(e, -EINVAL, "window %u:%u: scratch state", s->win.start,
				  s->win.end);
	err = s->prover.equiv(s->prover.arg, s->buf, n, &v, s->scratch, &pe);
	if (err == -ENOMEM)
		return k2_err_set(e, err, "window %u:%u: %s", s->win.start, s->win.end, pe.msg);
	if (err) {
		memcpy(s->prove_err, pe.msg, sizeof(s->prove_err));
		v = K2_UNKNOWN;
	}
	switch (v) {
	case K2_EQUIVALENT:
		s->st.equivalent++;
		if (s->prover.safe) {
			bool safe = false;

			err = s->prover.safe(s->prover.arg, s->buf, n, &safe, s->prove_err,
					     sizeof(s->prove_err), &pe);
			if (err == -ENOMEM)
				return k2_err_set(e, err, "window %u:%u: %s", s->win.start,
						  s->win.end, pe.msg);
			if (err)
				memcpy(s->prove_err, pe.msg, sizeof(s->prove_err));
			if (err || !safe) {
				s->st.safety_refused++;
				*what = K2_SEEN_BAD;
				return 0;
			}
		}
		*what = K2_SEEN_EQUIV;
		return k2_ws_add_best(s, s->buf, n, perf) < 0 ? -ENOMEM : 0;
	case K2_DIFFERENT:
		s->st.different++;
		*what = take_cex(s, n);
		return 0;
	default:
		s->st.unknown++;
		if (!err && pe.msg[0])
			memcpy(s->prove_err, pe.msg, sizeof(s->prove_err));
		*what = K2_SEEN_BAD;
		return 0;
	}
}

int k2_ws_judge(struct k2_wsearch *s, uint32_t n, double perf, enum k2_seen *what,
		struct k2_err *e)
{
	uint64_t h = k2_insns_hash(s->buf, n);
	double t0 = k2_ws_now();
	int err = 0;

	s->st.zero_error++;
	if (!rules_ok(s, n)) {
		s->st.unsafe++;
		*what = K2_SEEN_BAD;
	} else if (s->no_prove) {
		*what = K2_SEEN_UNPROVEN;
	} else {
		err = prove(s, n, perf, what, e);
	}
	if (!err && *what != K2_SEEN_NONE && k2_ws_seen_add(s, h, *what))
		err = k2_err_set(e, -ENOMEM, "out of memory");
	s->st.prove_seconds += k2_ws_now() - t0;
	return err;
}
