/* search/prove.c: the window search's prover: the caller's, or z3 through smt/. */
#include <stdlib.h>

#include "search/search_int.h"

int k2_ws_prover_smt(struct k2_wsearch *s, struct k2_smt *smt, struct k2_err *e);
void k2_ws_prover_smt_fini(struct k2_wsearch *s);

int k2_ws_prover_init(struct k2_wsearch *s, const struct k2_wsearch_opts *o, struct k2_err *e)
{
	if (o->prover) {
		s->prover = *o->prover;
		return 0;
	}
	return k2_ws_prover_smt(s, o->smt, e);
}

void k2_ws_prover_fini(struct k2_wsearch *s)
{
	k2_ws_prover_smt_fini(s);
}
