/* smt/cex_win.c: a z3 model as a machine state at a window's entry (k2_wstate). */
#include <stdlib.h>
#include <string.h>

#include "smt/window.h"

static uint64_t ev(struct k2_smt *s, Z3_model m, Z3_ast a)
{
	uint64_t v = 0;

	if (a)
		k2s_eval_u64(s, m, a, &v);
	return v;
}

/* Model slot numbers of map elements, and the slots the state got for them. */
struct slotmap {
	uint32_t map;
	uint64_t model;
	uint64_t addr;
};

static uint64_t real_ptr(const struct slotmap *sm, uint32_t n, uint64_t v)
{
	uint32_t idx = K2_ADDR_IDX(v);

	for (uint32_t i = 0; i < n; i++)
		if (sm[i].model == idx)
			return sm[i].addr + (uint32_t)v;
	return v;
}

int k2s_cex_wstate(struct k2_smt_window *sw, Z3_model m, struct k2_vm *vm, struct k2_wstate *st)
{
	struct k2_smt *s = sw->s;
	struct k2_world *w = sw->w;
	const struct k2_prog *p = w->prog;
	struct slotmap sm[64];
	uint32_t nsm = 0;
	uint64_t data = ev(s, m, w->data0), meta = ev(s, m, w->meta0), end = ev(s, m, w->end0);
	int err;

	err = k2_wstate_init(vm, st, &sw->in0);
	if (err)
		return err;
	err = k2_wstate_set_pkt_bounds(st, (uint32_t)meta, (uint32_t)data, (uint32_t)end);
	if (err)
		return err;
	for (uint32_t i = 0; i < w->pkt0.n; i++) {
		uint64_t page = data + ev(s, m, w->pkt0.app[i].a[0]);
		uint8_t b = (uint8_t)ev(s, m, w->pkt0.app[i].r);

		if (page < K2_PKT_BUF)
			k2_wstate_write(st, K2_ADDR(K2_RGN_PKT, 0, page), &b, 1);
	}
	for (uint32_t i = 0; i < w->ctx0.n; i++) {
		uint64_t off = ev(s, m, w->ctx0.app[i].a[0]);
		uint8_t b = (uint8_t)ev(s, m, w->ctx0.app[i].r);

		if (off < K2_CTX_MAX)
			k2_wstate_write(st, K2_ADDR(K2_RGN_CTX, 0, off), &b, 1);
	}
	/* map elements: one slot per (map, model slot number), value bytes from the model */
	for (uint32_t i = 0; i < w->n_elems && nsm < 64; i++) {
		const struct k2_elem *el = &w->elems[i];
		uint64_t slot = ev(s, m, el->slot);
		uint32_t vs = p->maps[el->map].value_size, ks = p->maps[el->map].key_size;
		uint8_t *val, key[512] = { 0 };
		Z3_ast elem = k2s_map_elem(w, (uint32_t)el->map, el->slot);
		struct k2_ackfun *f = &w->mval0[w->n_mapobj > 1 ? el->map : 0];
		bool dup = false;

		for (uint32_t k = 0; k < nsm; k++)
			dup |= sm[k].model == slot;
		if (dup)
			continue;
		val = calloc(1, vs ? vs : 1);
		if (!val)
			return -ENOMEM;
		if (k2s_map_frozen(&p->maps[el->map]))
			memcpy(val, p->maps[el->map].init, vs);
		for (uint32_t a = 0; a < f->n; a++) {
			uint64_t off;

			if (ev(s, m, b_eq(s, f->app[a].a[0], elem)) != 1)
				continue;
			off = ev(s, m, f->app[a].a[1]);
			if (off < vs)
				val[off] = (uint8_t)ev(s, m, f->app[a].r);
		}
		/* a key of its own per element (arrays: an index in range) */
		memcpy(key, &nsm, ks < 4 ? ks : 4);
		if (p->maps[el->map].max_entries && ks >= 4) {
			uint32_t idx = nsm % p->maps[el->map].max_entries;

			memcpy(key, &idx, 4);
		}
		sm[nsm].map = (uint32_t)el->map;
		sm[nsm].model = slot;
		err = k2_wstate_add_slot(vm, st, (uint32_t)el->map, key, val, &sm[nsm].addr);
		free(val);
		if (err)
			return err;
		nsm++;
	}
	for (int r = 0; r < K2_NREGS; r++) {
		uint8_t t = (uint8_t)ev(s, m, w->regs0[r].t);
		uint64_t v = ev(s, m, w->regs0[r].v);

		if (r == K2_REG_FP)
			continue;
		if (t == K2_T_MAP_VALUE)
			v = real_ptr(sm, nsm, v);
		k2_wstate_set_reg(st, (unsigned)r, (enum k2_rtype)t, v);
	}
	for (int a = 0; a < K2_STACK_SIZE; a++) {
		uint8_t b;

		if (!w->sinit0[a] || !ev(s, m, w->sinit0[a]))
			continue;
		b = (uint8_t)ev(s, m, w->sval0[a]);
		k2_wstate_write(st, K2_ADDR(K2_RGN_STACK, 0, a), &b, 1);
	}
	for (int sl = 0; sl < K2_STACK_SIZE / 8; sl++) {
		const struct k2_sv *sv = &w->spill0[sl].sv;
		uint8_t t;
		uint64_t v;

		if (!w->spill0[sl].set)
			continue;
		t = (uint8_t)ev(s, m, sv->t);
		if (t == K2_T_SCALAR || t == K2_T_UNINIT)
			continue;
		v = ev(s, m, sv->v);
		if (t == K2_T_MAP_VALUE)
			v = real_ptr(sm, nsm, v);
		err = k2_wstate_write_spill(st, K2_ADDR(K2_RGN_STACK, 0, sl * 8), (enum k2_rtype)t,
					    v);
		if (err)
			return err;
	}
	return 0;
}
