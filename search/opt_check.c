/* search/opt_check.c: whole-program checks of a composed result: interpreter runs, rules, z3. */
#include <stdlib.h>
#include <string.h>

#include "search/opt_int.h"

/* Two states of the same maps hold the same elements (hash order aside). */
static bool maps_equal(const struct k2_mapstate *a, const struct k2_mapstate *b, uint32_t map)
{
	const struct k2_map *m = k2_mapstate_map(a, map);
	size_t vsz = (size_t)m->value_size * k2_mapstate_ncpus(a) + 8;
	uint8_t *k = malloc(m->key_size + 8), *nk = malloc(m->key_size + 8);
	/* Zeroed: a map that is not per-CPU fills only value_size bytes of them. */
	uint8_t *va = calloc(1, vsz), *vb = calloc(1, vsz);
	bool eq = k && nk && va && vb;

	for (int side = 0; side < 2 && eq; side++) {
		const struct k2_mapstate *x = side ? b : a, *y = side ? a : b;
		const void *prev = NULL;

		while (eq && !k2_mapstate_next_key(x, map, prev, nk)) {
			int rx, ry;

			memcpy(k, nk, m->key_size);
			prev = k;
			rx = k2_mapstate_lookup(x, map, k, va);
			ry = k2_mapstate_lookup(y, map, k, vb);
			eq = rx == ry && (rx || !memcmp(va, vb, vsz - 8));
		}
	}
	free(k);
	free(nk);
	free(va);
	free(vb);
	return eq;
}

static bool effects_equal(const struct k2_result *a, const struct k2_result *b)
{
	if (a->n_effects != b->n_effects)
		return false;
	for (uint32_t i = 0; i < a->n_effects; i++) {
		const struct k2_effect *x = &a->effects[i], *y = &b->effects[i];

		if (x->helper != y->helper || x->ret != y->ret || x->data_len != y->data_len ||
		    memcmp(x->args, y->args, sizeof(x->args)) ||
		    memcmp(a->effect_data + x->data_off, b->effect_data + y->data_off, x->data_len))
			return false;
	}
	return true;
}

static bool results_equal(const struct k2_result *a, const struct k2_result *b)
{
	if (a->status != K2_RUN_OK)
		return b->status != K2_RUN_OK || a->status == K2_RUN_ECAP;
	return b->status == K2_RUN_OK && a->r0 == b->r0 && a->pkt_len == b->pkt_len &&
	       a->meta_len == b->meta_len && !memcmp(a->pkt, b->pkt, a->pkt_len) &&
	       a->ctx_len == b->ctx_len && !memcmp(a->ctx, b->ctx, a->ctx_len) &&
	       a->tail_call == b->tail_call && a->tail_map == b->tail_map &&
	       a->tail_index == b->tail_index && effects_equal(a, b);
}

/* The maps each run changed, applied to copies of the input's maps, agree. */
static int maps_agree(struct k2_vm *va, struct k2_vm *vb, const struct k2_input *in,
		      uint32_t n_maps, bool *same)
{
	struct k2_mapstate *a = NULL, *b = NULL;
	bool any = false;
	int err = 0;

	*same = true;
	for (uint32_t m = 0; m < n_maps; m++)
		any |= k2_vm_map_changed(va, m) || k2_vm_map_changed(vb, m);
	if (!any || !in->maps)
		return 0;
	if (k2_mapstate_clone(in->maps, &a) || k2_mapstate_clone(in->maps, &b)) {
		err = -ENOMEM;
		goto out;
	}
	if (k2_vm_map_commit(va, a) || k2_vm_map_commit(vb, b)) {
		*same = false;
		goto out;
	}
	for (uint32_t m = 0; m < n_maps && *same; m++)
		if (k2_vm_map_changed(va, m) || k2_vm_map_changed(vb, m))
			*same = maps_equal(a, b, m);
out:
	k2_mapstate_free(a);
	k2_mapstate_free(b);
	return err;
}

int k2_opt_interp_check(struct k2_vm *vm, const struct k2_prog *cand, struct k2_inputs *inputs,
			uint32_t *ran, int32_t *bad_input, struct k2_err *e)
{
	struct k2_vm *vb;
	struct k2_result ra, rb;
	int err = k2_vm_new(cand, NULL, &vb, e);

	*ran = 0;
	*bad_input = -1;
	if (err)
		return err;
	for (uint32_t i = 0; i < k2_inputs_count(inputs); i++) {
		const struct k2_input *in = k2_inputs_get(inputs, i);
		bool same;

		k2_vm_run(vm, in, &ra);
		k2_vm_run(vb, in, &rb);
		if (!results_equal(&ra, &rb)) {
			*bad_input = (int32_t)i;
			break;
		}
		err = ra.status == K2_RUN_OK ? maps_agree(vm, vb, in, cand->n_maps, &same) : 0;
		if (err) {
			k2_err_set(e, err, "out of memory");
			break;
		}
		if (!same) {
			*bad_input = (int32_t)i;
			break;
		}
		(*ran)++;
	}
	k2_vm_free(vb);
	return err;
}

int k2_opt_rules_check(const struct k2_prog *orig, const struct k2_prog *cand, bool *ok,
		       struct k2_err *e)
{
	struct k2_analysis *a = NULL, *b = NULL;
	uint32_t na = 0, nb = 0;
	int err = k2_analysis_new(orig, NULL, &a, e);

	*ok = false;
	if (!err)
		err = k2_analysis_new(cand, NULL, &b, e);
	if (!err) {
		k2_absint_violations(a->ai, &na);
		k2_absint_violations(b->ai, &nb);
		*ok = nb <= na;
	} else if (a && err != -ENOMEM) {
		err = 0; /* the candidate does not even build a CFG: refused */
	}
	k2_analysis_free(a);
	k2_analysis_free(b);
	return err;
}
