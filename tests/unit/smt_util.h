/* tests/unit/smt_util.h: program pairs from text, checked by z3 and replayed in bpf/interp. */
#ifndef SMT_UTIL_H
#define SMT_UTIL_H

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/k2bpf.h"
#include "smt/k2smt.h"
#include "tests/unit/interp_util.h"

static inline struct k2_map smap(const char *name, uint32_t type, uint32_t ks, uint32_t vs,
				 uint32_t max)
{
	struct k2_map m;

	memset(&m, 0, sizeof(m));
	snprintf(m.name, sizeof(m.name), "%s", name);
	m.type = type;
	m.key_size = ks;
	m.value_size = vs;
	m.max_entries = max;
	m.inner = -1;
	return m;
}

/* The session options with one speed-up (0..6: none, memtype, maptype, offset, modular, cache,
 * prefilter) or all of them (7) switched off. */
static inline struct k2_smt_opts sopts(int off)
{
	struct k2_smt_opts o = { .sz = sizeof(o), .timeout_ms = 20000 };

	o.no_memtype = off == 1 || off == 7;
	o.no_maptype = off == 2 || off == 7;
	o.no_offset = off == 3 || off == 7;
	o.no_modular = off == 4 || off == 7;
	o.no_cache = off == 5 || off == 7;
	o.no_prefilter = off == 6 || off == 7;
	return o;
}

/*
 * Whole programs a and b under option set `off`: the verdict; a counterexample is run in
 * the interpreter here too and must show a difference (r0, status, packet or maps).
 */
static inline enum k2_verdict equiv_prog_off(const struct k2_prog *a, const struct k2_prog *b,
					     int off)
{
	struct k2_smt_opts o = sopts(off);
	struct k2_smt *s;
	struct k2_input *in = calloc(1, sizeof(*in));
	struct k2_err e = { 0 };
	struct k2_smt_stats st;
	enum k2_verdict v;

	cr_assert(in);
	cr_assert_eq(k2_smt_new(&o, &s, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_smt_equiv_prog(s, a, b, &v, in, &e), 0, "%s", e.msg);
	if (v == K2_DIFFERENT) {
		struct k2_vm *va, *vb;
		struct k2_result ra, rb;
		struct k2_mapstate *ma = NULL, *mb = NULL;
		bool differ;

		cr_assert_eq(k2_vm_new(a, NULL, &va, &e), 0, "%s", e.msg);
		cr_assert_eq(k2_vm_new(b, NULL, &vb, &e), 0, "%s", e.msg);
		k2_vm_run(va, in, &ra);
		k2_vm_run(vb, in, &rb);
		cr_assert_eq(ra.status, K2_RUN_OK, "the counterexample makes A fail");
		differ = rb.status != K2_RUN_OK || ra.r0 != rb.r0 || ra.pkt_len != rb.pkt_len ||
			 memcmp(ra.pkt, rb.pkt, ra.pkt_len) || ra.n_effects != rb.n_effects;
		for (uint32_t i = 0; !differ && i < ra.n_effects; i++)
			differ = ra.effects[i].helper != rb.effects[i].helper ||
				 memcmp(ra.effects[i].args, rb.effects[i].args,
					sizeof(ra.effects[i].args));
		if (!differ && a->n_maps) {
			/* map contents after the runs */
			uint8_t k[64], nk[64], x[256], y[256];

			cr_assert_eq(k2_mapstate_clone(in->maps, &ma), 0);
			cr_assert_eq(k2_mapstate_clone(in->maps, &mb), 0);
			cr_assert_eq(k2_vm_map_commit(va, ma), 0);
			cr_assert_eq(k2_vm_map_commit(vb, mb), 0);
			for (uint32_t m = 0; m < a->n_maps && !differ; m++) {
				const uint8_t *pk = NULL;
				const struct k2_mapstate *side[2] = { ma, mb };

				for (int sd = 0; sd < 2 && !differ; sd++)
					for (pk = NULL; !differ &&
					     !k2_mapstate_next_key(side[sd], m, pk, nk); pk = k) {
						memcpy(k, nk, a->maps[m].key_size);
						differ = k2_mapstate_lookup(ma, m, k, x) !=
							 k2_mapstate_lookup(mb, m, k, y) ||
							 memcmp(x, y, a->maps[m].value_size);
					}
			}
			k2_mapstate_free(ma);
			k2_mapstate_free(mb);
		}
		cr_assert(differ, "the counterexample does not replay: %s", k2_smt_reason(s));
		k2_vm_free(va);
		k2_vm_free(vb);
	}
	k2_smt_stats(s, &st);
	cr_assert_eq(st.disagreements, 0, "%s", k2_smt_reason(s));
	k2_smt_free(s);
	free(in);
	return v;
}

#endif
