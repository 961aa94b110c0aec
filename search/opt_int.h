/* search/opt_int.h: internal: the whole-program driver's checks. */
#ifndef K2_OPT_INT_H
#define K2_OPT_INT_H

#include "search/k2search.h"

/* Runs `vm`'s program and cand on every input; *bad_input is the first that differs (r0,
 * packet, ctx, effects, maps) or -1. */
int k2_opt_interp_check(struct k2_vm *vm, const struct k2_prog *cand, struct k2_inputs *inputs,
			uint32_t *ran, int32_t *bad_input, struct k2_err *e);
/* The verifier-rule analysis finds no more violations in cand than in orig. */
int k2_opt_rules_check(const struct k2_prog *orig, const struct k2_prog *cand, bool *ok,
		       struct k2_err *e);

#endif
