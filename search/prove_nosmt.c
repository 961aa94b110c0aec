/* search/prove_nosmt.c: until smt/ is merged: the default prover is unavailable (named so). */
#include <stdio.h>

#include "search/search_int.h"

int k2_ws_prover_smt(struct k2_wsearch *s, struct k2_smt *smt, struct k2_err *e)
{
	(void)smt;
	return k2_err_set(e, -ENOSYS, "window %u:%u: no prover: smt/ is not merged yet",
			  s->win.start, s->win.end);
}

void k2_ws_prover_smt_fini(struct k2_wsearch *s)
{
	(void)s;
}

int k2_search_smt_new(const struct k2_config *cfg, struct k2_smt **out, struct k2_err *e)
{
	(void)cfg;
	*out = NULL;
	return k2_err_set(e, -ENOSYS, "no prover: smt/ is not merged yet");
}

void k2_search_smt_free(struct k2_smt *smt)
{
	(void)smt;
}

int k2_search_smt_prog(struct k2_smt *smt, const struct k2_prog *a, const struct k2_prog *b,
		       enum k2_whole_check *v, char *why, size_t len, struct k2_input *cex)
{
	(void)smt, (void)a, (void)b, (void)cex;
	*v = K2_WHOLE_UNKNOWN;
	snprintf(why, len, "smt/ is not merged yet");
	return 0;
}
