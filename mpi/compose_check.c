/* mpi/compose_check.c: --compose-check: random sets of proven window rewrites, proven whole. */
#include <stdlib.h>
#include <string.h>

#include "mpi/coord_int.h"

/*
 * Windows are chosen so that their rewrites compose: each was proven under the original
 * program's precondition and live-out set at that window, so any set of proven rewrites,
 * spliced in together, is the same program. This asks z3 exactly that about random sets
 * drawn from what the run proved (each window: no rewrite, or one of its top-K).
 */
static uint32_t draw(struct k2_coord *c, struct k2_rng *rng, struct k2_edit *ed, char *desc,
		     size_t len)
{
	uint32_t n = 0;
	size_t at = 0;

	desc[0] = 0;
	for (uint32_t i = 0; i < c->nw; i++) {
		const struct k2_cwin *w = &c->w[i];
		uint32_t k;

		if (!w->n_cands)
			continue;
		k = (uint32_t)k2_rng_below(rng, w->n_cands + 1);
		if (k == w->n_cands)
			continue;
		ed[n++] = (struct k2_edit){ w->win.start, w->win.end, w->cands[k].insns,
					    w->cands[k].n };
		if (at + 32 < len)
			at += (size_t)snprintf(desc + at, len - at, "%s%u:%u#%u", at ? "," : "",
					       w->win.start, w->win.end, k);
	}
	return n;
}

int k2_compose_check(struct k2_coord *c, struct k2_err *e)
{
	const struct k2_prog *prog = c->j->prog;
	struct k2_final *f = c->fin;
	struct k2_edit *ed = calloc(c->nw + 1, sizeof(*ed));
	struct k2_smt *smt = NULL;
	struct k2_rng rng;
	uint32_t tries = 0;
	int err = ed ? 0 : k2_err_set(e, -ENOMEM, "out of memory");

	k2_rng_seed(&rng, k2_job_seed(c->j, 0xc0c0, c->j->generation, 0));
	if (!err)
		err = k2_search_smt_new(&c->j->cfg, &smt, e);
	while (!err && f->cc_tried < c->j->args->compose_check && tries++ < 64 * (f->cc_tried + 1)) {
		struct k2_splice_opts so = { .sz = sizeof(so), .n_main = prog->n_main };
		struct k2_prog p = *prog;
		enum k2_verdict v = K2_UNKNOWN;
		struct k2_err qe = { 0 };
		char desc[256];
		uint32_t n = draw(c, &rng, ed, desc, sizeof(desc));

		if (!n)
			continue;
		/* A rewrite that moved a relocated ld_imm64 cannot be spliced (the final
		 * composition never uses one either): another draw. */
		if (k2_splice(prog->insns, prog->n_insns, ed, n, &so, &p.insns, &p.n_insns,
			      &p.n_main, NULL, &qe))
			continue;
		if (k2_smt_equiv_prog(smt, prog, &p, &v, NULL, &qe))
			v = K2_UNKNOWN;
		free(p.insns);
		f->cc_tried++;
		f->cc_equiv += v == K2_EQUIVALENT;
		f->cc_diff += v == K2_DIFFERENT;
		f->cc_unknown += v == K2_UNKNOWN;
		k2_job_log(c->j, "compose check %s: %s %s", desc, k2_verdict_name(v),
			   v == K2_UNKNOWN ? (qe.msg[0] ? qe.msg : k2_smt_reason(smt)) : "");
		if (v == K2_DIFFERENT) {
			if (!f->cc_first_diff[0])
				snprintf(f->cc_first_diff, sizeof(f->cc_first_diff), "%s", desc);
			k2_status_event(c, "compose check: rewrites %s together are NOT equivalent",
					desc);
		}
	}
	k2_smt_free(smt);
	free(ed);
	return err;
}
