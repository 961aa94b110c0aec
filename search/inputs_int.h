/* search/inputs_int.h: internal: the inputs of one program and what they are made from. */
#ifndef K2_INPUTS_INT_H
#define K2_INPUTS_INT_H

#include "search/k2search.h"

#define K2_INPUT_SITES 64 /* map call sites whose keys inputs may insert */

struct k2_inputs {
	const struct k2_prog *prog;
	struct k2_vm *vm;
	struct k2_input_cfg icfg;
	struct k2_input *in;
	struct k2_mapstate **own;   /* per input: its own map contents, or NULL (base) */
	struct k2_mapstate *base;   /* random contents shared by the others */
	uint32_t n;
	uint32_t sites[K2_INPUT_SITES];
	uint32_t n_sites;
	struct k2_wstate *snap;     /* scratch */
};

#endif
