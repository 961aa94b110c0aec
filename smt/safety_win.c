/* smt/safety_win.c: safety of a window or of a candidate for it, from the window's precondition. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smt/safety.h"
#include "smt/window.h"

#define MAX_ROUNDS (K2_SAFETY_MAXV + 4)

struct wquery {
	struct k2_smt_window *sw;
	const struct bpf_insn *insns;
	uint32_t n;
	bool orig;                 /* the window itself: no "the original runs cleanly" */
	struct k2_enc en;
	Z3_ast *err_at;
	bool *done;
	struct k2_safety_report *r;
};

/*
 * The program's state at the window's end (k2_win_post_check) can be more precise than what
 * the analysis of the window alone gives from the precondition (joined at its start): then
 * even the original fails that check. There the candidate must end at least as precise as
 * the original window does from the same precondition. Returns 1 if it does not, 0 if it
 * does or the original passes the check (the candidate then really falls short).
 */
static int post_vs_orig(struct wquery *q, const struct k2_astate *pre,
			const struct k2_astate *post, struct k2_astate **opost, struct k2_err *e)
{
	struct k2_smt_window *sw = q->sw;
	struct k2_stackset live;
	uint32_t nv = 0;
	int err;

	*opost = malloc(sizeof(**opost));
	if (!*opost)
		return k2_err_set(e, -ENOMEM, "out of memory");
	err = k2_absint_fragment(sw->an->prog, pre, sw->orig, sw->n, NULL, *opost, NULL, 0, &nv,
				 e);
	if (err)
		return err;
	if (nv || !k2_win_post_check(sw->an, &sw->win, *opost, NULL) || !(*opost)->reachable)
		return 1;
	if (!post->reachable)
		return 0;
	for (int r = 0; r < K2_NREGS; r++)
		if ((sw->win.live_out >> r & 1) && !k2_aval_leq(&post->regs[r], &(*opost)->regs[r]))
			return 1;
	k2_win_stack_out(sw->an, &sw->win, &live);
	for (int a = 0; a < K2_STACK_BYTES; a++) {
		const struct k2_slot *c = &post->stack[a / 8], *o = &(*opost)->stack[a / 8];

		if (!(live.w[a / 64] >> (a % 64) & 1) || o->bytes[a % 8] == K2_SB_INVALID)
			continue;
		if (c->bytes[a % 8] != o->bytes[a % 8] ||
		    (o->bytes[a % 8] == K2_SB_SPILL && !k2_aval_leq(&c->spill, &o->spill)))
			return 1;
	}
	return 0;
}

/* The verifier's rules from the precondition, and the end state the program needs. */
static int static_rules(struct wquery *q, struct k2_err *e)
{
	struct k2_smt_window *sw = q->sw;
	struct k2_astate *pre = malloc(sizeof(*pre)), *post = malloc(sizeof(*post)), *opost = NULL;
	struct k2_access *acc = calloc(q->n + 1, sizeof(*acc));
	struct k2_violation viol[K2_SAFETY_MAXV];
	struct k2_err pe = { 0 };
	uint32_t nv = 0, bad;
	int err;

	if (!pre || !post || !acc) {
		err = k2_err_set(e, -ENOMEM, "out of memory");
		goto out;
	}
	err = k2_win_precond(sw->an, &sw->win, pre);
	if (!err)
		err = k2_absint_fragment(sw->an->prog, pre, q->insns, q->n, acc, post, viol,
					 K2_SAFETY_MAXV, &nv, e);
	if (err)
		goto out;
	k2s_static_viols(q->r, viol, nv < K2_SAFETY_MAXV ? nv : K2_SAFETY_MAXV, acc, q->n, NULL,
			 &bad);
	if (bad != UINT32_MAX)
		k2s_unknown(q->r, "insn %u: %s (an access the static rules cannot check)", bad,
			acc[bad].why ? acc[bad].why : "untyped");
	/* stack accesses are always aligned (the fragment's accesses give constant offsets) */
	for (uint32_t i = 0; i < q->n; i++)
		if (acc[i].region == K2_MEM_STACK && (acc[i].flags & K2_ACC_CONST) &&
		    acc[i].size > 1 && (acc[i].off & (acc[i].size - 1)))
			k2s_viol_add(q->r, i, K2_RULE_STACK, false,
				     "insn %u: misaligned stack access off=%lld size=%u (verifier "
				     "rule)", i, (long long)acc[i].off, acc[i].size);
	if (!q->orig && !nv && k2_win_post_check(sw->an, &sw->win, post, &pe)) {
		err = post_vs_orig(q, pre, post, &opost, e);
		if (err < 0)
			goto out;
		if (err)
			k2s_viol_add(q->r, q->n, k2s_rule_of_msg(pe.msg), false,
				     "insn %u (end): %s (the rest of the program was verified "
				     "with it)", q->n, pe.msg);
		err = 0;
	}
out:
	free(opost);
	free(pre);
	free(post);
	free(acc);
	return err;
}

/* A model as a state, run in bpf/interp: 1 recorded, 0 not confirmed, < 0 error. */
static int confirm(struct wquery *q, Z3_model m, struct k2_err *e)
{
	struct k2_smt_window *sw = q->sw;
	struct k2_smt *s = sw->s;
	uint32_t at = k2s_err_which(s, m, q->err_at, q->done, q->n);
	struct k2_safety_viol *v;
	int err = k2s_cex_wstate(sw, m, sw->vm, sw->st);

	if (!err)
		err = k2_window_set(sw->wc, sw->vm, q->insns, q->n, e);
	if (err)
		return err < 0 ? err : -EINVAL;
	s->st.cex_replayed++;
	k2_vm_wrun(sw->vm, sw->wc, sw->st, &sw->out_c);
	if (!q->orig)
		k2_vm_wrun(sw->vm, sw->wo, sw->st, &sw->out_o);
	if (sw->out_c.status == K2_RUN_OK || sw->out_c.status == K2_RUN_ECAP ||
	    (!q->orig && sw->out_o.status != K2_RUN_OK)) {
		s->st.disagreements++;
		k2s_unknown(q->r, "ENCODING DISAGREES WITH THE INTERPRETER: z3 finds a failure at insn %u "
			      "on a state where bpf/interp runs the %s %s -- a bug in smt/",
			at, q->orig ? "window" : "original window and the candidate",
			q->orig ? k2_status_name(sw->out_c.status) : "so");
		fprintf(stderr, "k2 safety: window %u:%u: %s\n", sw->win.start, sw->win.end,
			q->r->reason);
		if (at < q->n)
			q->done[at] = true;
		return 0;
	}
	s->st.cex_confirmed++;
	if (at < q->n)
		q->done[at] = true;
	if (sw->out_c.err_insn < q->n)
		q->done[sw->out_c.err_insn] = true;
	v = k2s_viol_add(q->r, sw->out_c.err_insn,
			 k2s_rule_of_run(sw->out_c.status, sw->out_c.err_reason), true,
			 "insn %u: %s (%s)", sw->out_c.err_insn, sw->out_c.err_reason,
			 k2_status_name(sw->out_c.status));
	if (v && !k2_wstate_new(sw->vm, &v->st) && k2_wstate_copy(v->st, sw->st)) {
		k2_wstate_free(v->st);
		v->st = NULL;
	}
	return 1;
}

static void base(struct wquery *q, struct k2_terms *t)
{
	struct k2_smt_window *sw = q->sw;
	struct k2_smt *s = sw->s;

	t->n = 0;
	/* the window's solver holds the world up to the mark and "the original runs cleanly" */
	for (uint32_t i = q->orig ? 0 : sw->mark.nax; i < sw->w->nax; i++)
		k2s_terms_add(s, t, sw->w->ax[i]);
}

static int dynamic(struct wquery *q, struct k2_err *e)
{
	struct k2_smt_window *sw = q->sw;
	struct k2_smt *s = sw->s;
	Z3_solver so = q->orig ? (s->o.no_offset ? s->sgen : s->sbv) : sw->so;
	struct k2_terms t = { 0 };
	Z3_ast unsup = k2s_unsup_any(&q->en);
	int err = 0;

	for (int round = 0; round < MAX_ROUNDS && q->r->n < K2_SAFETY_MAXV; round++) {
		Z3_ast open = k2s_err_open(s, q->err_at, q->done, q->n);
		Z3_model m = NULL;
		Z3_lbool r;

		if (t_bool(s, open) == 0)
			break;
		base(q, &t);
		k2s_terms_add(s, &t, b_not(s, unsup));
		k2s_terms_add(s, &t, open);
		r = k2s_check(s, so, t.v, t.n, &m);
		q->r->z3_calls++;
		if (r == Z3_L_FALSE)
			break;
		if (r == Z3_L_UNDEF) {
			k2s_unknown(q->r, "%s", s->reason);
			break;
		}
		err = confirm(q, m, e);
		Z3_model_dec_ref(s->c, m);
		if (err < 0)
			break;
		err = 0;
	}
	if (!err && t_bool(s, unsup) != 0) {
		Z3_model m = NULL;
		Z3_lbool r;

		base(q, &t);
		k2s_terms_add(s, &t, unsup);
		r = k2s_check(s, so, t.v, t.n, &m);
		q->r->z3_calls++;
		if (r == Z3_L_TRUE) {
			const struct k2_unsup *u = k2s_unsup_which(s, &q->en, m);

			k2s_unknown(q->r, "insn %u: %s (not encoded)", u ? u->insn : 0, u ? u->why : "?");
		} else if (r == Z3_L_UNDEF) {
			k2s_unknown(q->r, "%s", s->reason);
		}
		if (m)
			Z3_model_dec_ref(s->c, m);
	}
	k2s_terms_free(&t);
	return err;
}

int k2_smt_window_safe(struct k2_smt_window *sw, const struct bpf_insn *cand, uint32_t n,
		       struct k2_safety_report *r, struct k2_err *e)
{
	struct k2_smt *s = sw->s;
	struct k2_arena *old = s->ar, ar = { 0 };
	struct wquery q = { .sw = sw, .insns = cand ? cand : sw->orig, .n = cand ? n : sw->n,
			    .orig = !cand, .r = r };
	double t0 = k2s_now_ms();
	int err;

	memset(r, 0, sizeof(*r));
	r->verdict = K2_SAFE;
	s->reason[0] = 0;
	s->st.queries++;
	err = k2_window_set(sw->wc, sw->vm, q.insns, q.n, e);
	if (!err)
		err = static_rules(&q, e);
	if (err)
		return err;
	if (sw->refuse[0]) {
		k2s_unknown(r, "%s", sw->refuse);
		goto out;
	}
	q.err_at = calloc(q.n + 1, sizeof(*q.err_at));
	q.done = calloc(q.n + 1, sizeof(*q.done));
	if (!q.err_at || !q.done) {
		err = k2_err_set(e, -ENOMEM, "out of memory");
		goto out;
	}
	s->ar = &ar;
	s->oom = false;
	q.en.err_at = q.err_at;
	k2s_enc_run(&q.en, sw->w, "cand", q.insns, q.n, true);
	s->st.encode_ms += k2s_now_ms() - t0;
	if (q.en.refuse)
		k2s_unknown(r, "insn %u: %s (not encoded)", q.en.refuse_insn, q.en.refuse);
	else if (s->oom)
		k2s_unknown(r, "out of memory while encoding");
	else
		err = dynamic(&q, e);
	k2s_enc_free(&q.en);
	k2s_world_reset(sw->w, &sw->mark);
	s->ar = old;
	k2s_arena_release(s, &ar, 0);
	free(ar.v);
out:
	if (!err && r->verdict == K2_SAFE && r->reason[0])
		r->verdict = K2_SAFETY_UNKNOWN;
	if (!err && r->verdict == K2_SAFE)
		snprintf(r->reason, sizeof(r->reason),
			 "window %u:%u: z3 proved no state %s makes the %s fail (%u queries), and "
			 "the verifier's static rules hold", sw->win.start, sw->win.end,
			 q.orig ? "satisfying the precondition" : "the original runs cleanly on",
			 q.orig ? "window" : "candidate", r->z3_calls);
	k2s_reason(s, "%s", r->reason);
	free(q.err_at);
	free(q.done);
	return err;
}
