/* search/score.c: the cost of a candidate: error over the test states, unsafe runs, performance. */
#include <math.h>
#include <time.h>

#include "search/search_int.h"

double k2_ws_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Whether a changed byte is an output: every byte but the dead ones of the window's frame. */
static bool byte_counts(uint64_t addr, const struct k2_stackset *live, uint32_t frame)
{
	uint32_t off = K2_ADDR_OFF(addr);

	if (K2_ADDR_RGN(addr) != K2_RGN_STACK || K2_ADDR_IDX(addr) != frame ||
	    off >= K2_STACK_BYTES)
		return true;
	return live->w[off / 64] >> (off % 64) & 1;
}

/*
 * k2_wout_distance restricted to the window's live-out: registers in `live`, and memory
 * bytes outside the dead part of the window's own stack frame (a store to a dead slot is
 * not an output, so removing it costs nothing).
 */
__attribute__((target_clones("popcnt", "default")))
uint32_t k2_wout_error(const struct k2_wout *ref, const struct k2_wout *cand, uint16_t live,
		       const struct k2_stackset *stack_live, uint32_t frame)
{
	uint32_t i = 0, j = 0, bits = 0;

	for (uint32_t m = live; m; m &= m - 1) {
		int r = __builtin_ctz(m);

		if (ref->t[r] != cand->t[r])
			bits += 64;
		else
			bits += (uint32_t)__builtin_popcountll(ref->r[r] ^ cand->r[r]);
	}
	while (i < ref->n_bytes || j < cand->n_bytes) {
		const struct k2_wbyte *x = i < ref->n_bytes ? &ref->bytes[i] : NULL;
		const struct k2_wbyte *y = j < cand->n_bytes ? &cand->bytes[j] : NULL;
		uint8_t va, vb, ia, ib;
		uint64_t addr;

		if (x && (!y || x->addr < y->addr)) {
			addr = x->addr, va = x->after, ia = x->init_after;
			vb = x->before, ib = x->init_before;
			i++;
		} else if (y && (!x || y->addr < x->addr)) {
			addr = y->addr, va = y->before, ia = y->init_before;
			vb = y->after, ib = y->init_after;
			j++;
		} else {
			addr = x->addr, va = x->after, ia = x->init_after;
			vb = y->after, ib = y->init_after;
			i++, j++;
		}
		if (byte_counts(addr, stack_live, frame))
			bits += (uint32_t)__builtin_popcount((unsigned)(va ^ vb)) + (ia != ib ? 8 : 0);
	}
	return bits;
}

double k2_ws_perf(const struct k2_wsearch *s, const struct bpf_insn *insns, uint32_t n)
{
	double ns = 0;

	if (s->cfg.objective != K2_OBJ_LATENCY || !s->lat)
		return n;
	for (uint32_t i = 0; i < n;) {
		enum k2_op op = k2_insn_op(&insns[i]);

		ns += k2_latency_ns(s->lat, op);
		i += k2_op_info(op)->kind == K2_KIND_LDDW ? 2 : 1;
	}
	return ns / k2_latency_unit(s->lat);
}

/* A test that just failed a candidate moves one place forward, so failing tests come first. */
static void promote(struct k2_wsearch *s, uint32_t k)
{
	uint32_t *ord = s->ord, t;

	if (!k)
		return;
	t = ord[k];
	ord[k] = ord[k - 1];
	ord[k - 1] = t;
}

double k2_ws_score_buf(struct k2_wsearch *s, uint32_t n, double perf, double limit,
		       struct k2_wscore *sc)
{
	const struct k2_search_cfg *c = &s->cfg;
	double cost = c->w_perf * perf;

	(void)n;
	sc->perf = perf;
	sc->error = 0;
	sc->unsafe = 0;
	sc->failing = 0;
	for (uint32_t k = 0; k < s->n_tests && cost <= limit; k++) {
		uint32_t t = s->ord[k];
		const struct k2_wout *ref = &s->refs[t];
		struct k2_wout *out = &s->out;

		k2_vm_wrun(s->vm, s->window, s->tests[t], out);
		s->st.test_runs++;
		if (out->status != K2_RUN_OK || out->exit != ref->exit) {
			sc->unsafe++;
			sc->failing++;
			cost += c->w_unsafe;
		} else {
			uint32_t d = k2_wout_error(ref, out, s->win.live_out, &s->stack_live,
						   s->frame);

			if (!d)
				continue;
			sc->error += d;
			sc->failing++;
			cost += c->w_error * d;
		}
		if (cost > limit) {
			promote(s, k);
			if (k + 1 < s->n_tests)
				s->st.early_stops++;
		}
	}
	sc->cost = cost;
	return cost;
}
