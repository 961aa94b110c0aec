/* smt/safety_prog.c: safety of a whole program: z3 over every input, then the static rules. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smt/safety.h"

#define MAX_ROUNDS (K2_SAFETY_MAXV + 4)

struct pquery {
	struct k2_smt *s;
	const struct k2_prog *p;
	struct k2_world *w;
	struct k2_enc en;
	Z3_ast *err_at;
	bool *done;
	struct k2_vm *vm;
	struct k2_safety_report *r;
};

static const char *sec_of(const struct k2_prog *p)
{
	return p->sec[0] ? p->sec : p->name[0] ? p->name : "program";
}

/* Keeps a copy of the input (its maps cloned) in the violation. */
static void keep_input(struct k2_safety_viol *v, const struct k2_input *in)
{
	struct k2_mapstate *ms = NULL;

	if (!v)
		return;
	v->in = malloc(sizeof(*v->in));
	if (!v->in)
		return;
	*v->in = *in;
	if (in->maps && !k2_mapstate_clone(in->maps, &ms))
		v->in->maps = ms;
	else
		v->in->maps = NULL;
}

/*
 * One model: the input it describes, run in bpf/interp. Returns 1 if a violation was
 * recorded, 0 if the interpreter ran it cleanly (a disagreement), < 0 on error.
 */
static int confirm(struct pquery *q, Z3_model m, struct k2_err *e)
{
	struct k2_input *in = malloc(sizeof(*in));
	struct k2_result res;
	uint32_t at = k2s_err_which(q->s, m, q->err_at, q->done, q->p->n_insns);
	int err;

	if (!in)
		return k2_err_set(e, -ENOMEM, "out of memory");
	err = k2s_cex_input(q->w, m, in, e);
	if (!err) {
		q->s->st.cex_replayed++;
		err = k2_vm_run(q->vm, in, &res);
	}
	if (err) {
		free(in);
		return err;
	}
	if (res.status == K2_RUN_OK || res.status == K2_RUN_ECAP) {
		q->s->st.disagreements++;
		k2s_unknown(q->r, "%s: ENCODING DISAGREES WITH THE INTERPRETER: z3 finds a failure at "
			      "insn %u, bpf/interp runs the input %s -- a bug in smt/",
			sec_of(q->p), at, k2_status_name(res.status));
		fprintf(stderr, "k2 safety: %s\n", q->r->reason);
		if (at < q->p->n_insns)
			q->done[at] = true;
		free(in);
		return 0;
	}
	q->s->st.cex_confirmed++;
	if (res.err_insn < q->p->n_insns && !q->done[res.err_insn])
		at = res.err_insn;
	if (at < q->p->n_insns)
		q->done[at] = true;
	if (res.err_insn < q->p->n_insns)
		q->done[res.err_insn] = true;
	keep_input(k2s_viol_add(q->r, res.err_insn, k2s_rule_of_run(res.status, res.err_reason),
				true, "insn %u: %s (%s)", res.err_insn, res.err_reason,
				k2_status_name(res.status)),
		   in);
	free(in);
	return 1;
}

/*
 * All failures at once were too hard: each instruction's alone is a smaller query (z3 drops
 * what it does not depend on).
 */
static int one_by_one(struct pquery *q, struct k2_terms *t, Z3_ast unsup, struct k2_err *e)
{
	struct k2_smt *s = q->s;
	Z3_solver so = s->o.no_offset ? s->sgen : s->sbv;
	int err = 0;

	for (uint32_t pc = 0; pc < q->p->n_insns && q->r->n < K2_SAFETY_MAXV; pc++) {
		Z3_model m = NULL;
		Z3_lbool r;

		if (!q->err_at[pc] || q->done[pc] || t_bool(s, q->err_at[pc]) == 0)
			continue;
		t->n = 0;
		for (uint32_t i = 0; i < q->w->nax; i++)
			k2s_terms_add(s, t, q->w->ax[i]);
		k2s_terms_add(s, t, b_not(s, unsup));
		k2s_terms_add(s, t, q->err_at[pc]);
		r = k2s_check(s, so, t->v, t->n, &m);
		q->r->z3_calls++;
		q->done[pc] = true;
		if (r == Z3_L_UNDEF)
			k2s_unknown(q->r, "%s: insn %u: %s", sec_of(q->p), pc, s->reason);
		if (r != Z3_L_TRUE)
			continue;
		err = confirm(q, m, e);
		Z3_model_dec_ref(s->c, m);
		if (err < 0)
			return err;
		err = 0;
	}
	return err;
}

/* Whether some input reaches what the encoding does not model, one construct at a time. */
static void uncovered(struct pquery *q, struct k2_terms *t)
{
	struct k2_smt *s = q->s;
	Z3_solver so = s->o.no_offset ? s->sgen : s->sbv;

	for (uint32_t u = 0; u < q->en.n_uns && !q->r->reason[0]; u++) {
		const struct k2_unsup *un = &q->en.uns[u];
		Z3_lbool r;

		if (t_bool(s, un->cond) == 0)
			continue;
		t->n = 0;
		for (uint32_t i = 0; i < q->w->nax; i++)
			k2s_terms_add(s, t, q->w->ax[i]);
		k2s_terms_add(s, t, un->cond);
		r = k2s_check(s, so, t->v, t->n, NULL);
		q->r->z3_calls++;
		if (r == Z3_L_TRUE)
			k2s_unknown(q->r, "%s: insn %u: %s (not encoded)", sec_of(q->p), un->insn,
				un->why);
		else if (r == Z3_L_UNDEF)
			k2s_unknown(q->r, "%s: insn %u: %s: whether a run gets there: %s", sec_of(q->p),
				un->insn, un->why, s->reason);
	}
}

/* Asks for failures until none is left (or enough were found). */
static int dynamic(struct pquery *q, struct k2_err *e)
{
	struct k2_smt *s = q->s;
	Z3_solver so = s->o.no_offset ? s->sgen : s->sbv;
	struct k2_terms t = { 0 };
	Z3_ast unsup = k2s_unsup_any(&q->en);
	int err = 0;

	for (int round = 0; round < MAX_ROUNDS && q->r->n < K2_SAFETY_MAXV; round++) {
		Z3_ast open = k2s_err_open(s, q->err_at, q->done, q->p->n_insns);
		Z3_model m = NULL;
		Z3_lbool r;

		if (t_bool(s, open) == 0)
			break;
		t.n = 0;
		for (uint32_t i = 0; i < q->w->nax; i++)
			k2s_terms_add(s, &t, q->w->ax[i]);
		k2s_terms_add(s, &t, b_not(s, unsup));
		k2s_terms_add(s, &t, open);
		r = k2s_check(s, so, t.v, t.n, &m);
		q->r->z3_calls++;
		if (r == Z3_L_FALSE)
			break;
		if (r == Z3_L_UNDEF) {
			err = one_by_one(q, &t, unsup, e);
			break;
		}
		err = confirm(q, m, e);
		Z3_model_dec_ref(s->c, m);
		if (err < 0)
			break;
		err = 0;
	}
	/* where the encoding is not exact, nothing was proven */
	if (!err)
		uncovered(q, &t);
	k2s_terms_free(&t);
	return err;
}

/* The verifier's static rules, from bpf/'s analysis of the whole program. */
static int static_rules(struct pquery *q, const struct k2_analysis *an, struct k2_err *e)
{
	const struct k2_prog *p = q->p;
	struct k2_analysis *own = NULL;
	const struct k2_violation *v;
	struct k2_access *acc;
	bool *reached;
	uint32_t nv, bad;
	int err = 0;

	if (!an) {
		err = k2_analysis_new(p, NULL, &own, e);
		if (err)
			return err;
		an = own;
	}
	acc = calloc(p->n_insns + 1, sizeof(*acc));
	reached = calloc(p->n_insns + 1, sizeof(*reached));
	if (!acc || !reached) {
		err = k2_err_set(e, -ENOMEM, "out of memory");
		goto out;
	}
	for (uint32_t i = 0; i < p->n_insns; i++) {
		acc[i] = *k2_absint_access(an->ai, i);
		reached[i] = k2_absint_reached(an->ai, i);
	}
	/* the kernel's check_cfg: every instruction reachable from the entry */
	for (uint32_t i = 0; i < p->n_insns; i++)
		if (!k2_cfg_insn_reachable(an->cfg, i)) {
			k2s_viol_add(q->r, i, K2_RULE_CFG, false,
				     "insn %u: unreachable insn %u (verifier rule)", i, i);
			break;
		}
	v = k2_absint_violations(an->ai, &nv);
	k2s_static_viols(q->r, v, nv, acc, p->n_insns, reached, &bad);
	if (bad != UINT32_MAX)
		k2s_unknown(q->r, "%s: insn %u: %s (an access the static rules cannot check)",
			sec_of(p), bad, acc[bad].why ? acc[bad].why : "untyped");
	k2s_kernel_rules(q->r, an, &bad);
	if (bad != UINT32_MAX)
		k2s_unknown(q->r, "%s: insn %u: code the analysis proves dead, which the verifier may "
			      "walk (and judge) all the same", sec_of(p), bad);
out:
	free(acc);
	free(reached);
	k2_analysis_free(own);
	return err;
}

int k2_smt_safety_prog(struct k2_smt *s, const struct k2_prog *p, const struct k2_analysis *an,
		       struct k2_safety_report *r, struct k2_err *e)
{
	struct k2_arena *old = s->ar, ar = { 0 };
	struct pquery q = { .s = s, .p = p, .r = r };
	double t0 = k2s_now_ms();
	int err;

	memset(r, 0, sizeof(*r));
	r->verdict = K2_SAFE;
	s->reason[0] = 0;
	s->st.queries++;
	err = static_rules(&q, an, e);
	if (err)
		return err;
	q.err_at = calloc(p->n_insns + 1, sizeof(*q.err_at));
	q.done = calloc(p->n_insns + 1, sizeof(*q.done));
	if (!q.err_at || !q.done) {
		err = k2_err_set(e, -ENOMEM, "out of memory");
		goto out;
	}
	err = k2_vm_new(p, NULL, &q.vm, e);
	if (err)
		goto out;
	s->ar = &ar;
	s->oom = false;
	err = k2s_world_new(s, p, false, &q.w);
	if (!err)
		err = k2s_world_prog(q.w, e);
	if (err)
		goto out;
	q.en.err_at = q.err_at;
	k2s_enc_run(&q.en, q.w, "prog", p->insns, p->n_insns, false);
	s->st.encode_ms += k2s_now_ms() - t0;
	if (q.en.refuse)
		k2s_unknown(r, "%s: insn %u: %s (not encoded)", sec_of(p), q.en.refuse_insn,
			q.en.refuse);
	else if (s->oom)
		k2s_unknown(r, "%s: out of memory while encoding", sec_of(p));
	else
		err = dynamic(&q, e);
out:
	if (!err && r->verdict == K2_SAFE && r->reason[0])
		r->verdict = K2_SAFETY_UNKNOWN;
	if (!err && r->verdict == K2_SAFE)
		snprintf(r->reason, sizeof(r->reason),
			 "%s: z3 proved no input makes a run fail (%u queries), and the "
			 "verifier's static rules hold", sec_of(p), r->z3_calls);
	k2s_reason(s, "%s", r->reason);
	k2s_enc_free(&q.en);
	k2s_world_free(q.w);
	s->ar = old;
	k2s_arena_release(s, &ar, 0);
	free(ar.v);
	k2_vm_free(q.vm);
	free(q.err_at);
	free(q.done);
	return err;
}
