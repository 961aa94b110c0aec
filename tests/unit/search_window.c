/* tests/unit/search_window.c: the window search's loop: CEGIS plumbing, exchange API, seeds. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "search/k2search.h"
#include "tests/unit/interp_util.h"

/* A packet parser whose window [5, 9) builds a little-endian halfword from two bytes. */
static const char *xdp_text = K2T_HALFWORD_XDP;

struct fx {
	struct k2_prog p;
	struct k2_vm *vm;
	struct k2_analysis *an;
	struct k2_inputs *in;
	struct k2_win w;
	struct k2_wstate **t, **probe;
	uint32_t nt, n_probe;
	struct k2_window *win;
	struct k2_wout a, b;
	uint32_t calls;
};

static void fx_setup(struct fx *f)
{
	struct k2_err e = { 0 };
	uint32_t reached;

	memset(f, 0, sizeof(*f));
	f->p = prog_of(BPF_PROG_TYPE_XDP, xdp_text, NULL, 0);
	f->vm = vm_of(&f->p);
	cr_assert_eq(k2_analysis_new(&f->p, NULL, &f->an, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_win_describe(f->an, 5, 9, &f->w, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_inputs_new(&f->p, f->vm, NULL, 64, 3, &f->in, &e), 0, "%s", e.msg);
	/* One test for the search (counterexamples must teach it the rest), many for the test
	 * prover to look for differences in. */
	cr_assert_eq(k2_inputs_window_tests(f->in, f->an, &f->w, 1, 1, &f->t, &f->nt, &reached,
					    &e), 0, "%s", e.msg);
	cr_assert_eq(k2_inputs_window_tests(f->in, f->an, &f->w, 256, 2, &f->probe, &f->n_probe,
					    &reached, &e), 0, "%s", e.msg);
	cr_assert_gt(f->n_probe, 100);
	cr_assert_eq(k2_window_new(&f->win), 0);
}

static void fx_teardown(struct fx *f)
{
	k2_window_free(f->win);
	k2_tests_free(f->t, f->nt);
	k2_tests_free(f->probe, f->n_probe);
	k2_inputs_free(f->in);
	k2_analysis_free(f->an);
	k2_vm_free(f->vm);
	free(f->p.insns);
}

/*
 * A test double of z3 for this one window: a candidate that differs from the original on one
 * of 256 states is DIFFERENT with that state as the counterexample; one that agrees on all
 * is EQUIVALENT. (For this window that is right: its output depends on two packet bytes.)
 */
static int probe_equiv(void *arg, const struct bpf_insn *cand, uint32_t n, enum k2_verdict *v,
		       struct k2_wstate *cex, struct k2_err *e)
{
	struct fx *f = arg;
	bool err;

	f->calls++;
	for (uint32_t i = 0; i < f->n_probe; i++) {
		cr_assert_eq(k2_window_set(f->win, f->vm, f->p.insns + 5, 4, e), 0);
		k2_vm_wrun(f->vm, f->win, f->probe[i], &f->a);
		cr_assert_eq(k2_window_set(f->win, f->vm, cand, n, e), 0);
		k2_vm_wrun(f->vm, f->win, f->probe[i], &f->b);
		if (f->b.status != K2_RUN_OK || k2_wout_distance(&f->a, &f->b, f->w.live_out, &err)) {
			*v = K2_DIFFERENT;
			return k2_wstate_copy(cex, f->probe[i]);
		}
	}
	*v = K2_EQUIVALENT;
	return 0;
}

Test(search_window, cegis_finds_the_halfword_load)
{
	struct fx f;
	struct k2_wsearch *s;
	struct k2_wsearch_stats st;
	struct k2_err e = { 0 };
	const struct k2_wcand *best;
	char text[64];

	fx_setup(&f);
	struct k2_prover pr = { probe_equiv, &f };
	K2_WSEARCH_OPTS(o, .seed = 7, .prover = &pr);
	cr_assert_eq(k2_wsearch_new(f.vm, f.an, &f.w, f.t, f.nt, &o, &s, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_wsearch_n_tests(s), f.nt);
	for (int k = 0; k < 40 && !(k2_wsearch_n_best(s) && k2_wsearch_best(s, 0)->n == 1); k++)
		cr_assert_eq(k2_wsearch_run(s, 50000, 0, &e), 0, "%s", e.msg);
	k2_wsearch_stats(s, &st);
	printf("cegis: %lu proposals, %u proofs asked: %u equivalent, %u different (%u cex)\n",
	       (unsigned long)st.iters, f.calls, st.equivalent, st.different, st.n_cex);
	cr_assert_gt(k2_wsearch_n_best(s), 0, "nothing proven in %lu proposals",
		     (unsigned long)st.iters);
	best = k2_wsearch_best(s, 0);
	cr_assert_eq(best->n, 1);
	k2_disasm_insn(best->insns, text, sizeof(text));
	cr_expect_str_eq(text, "r4 = *(u16 *)(r2 + 12)");
	cr_expect_float_eq(st.best_perf, 1, 1e-9);
	cr_expect_float_eq(st.orig_perf, 4, 1e-9);
	/* Every proof request is counted once, and each DIFFERENT left a counterexample. */
	cr_expect_eq(st.equivalent + st.different + st.unknown, f.calls);
	cr_expect_eq(st.n_cex, k2_wsearch_n_cex(s));
	cr_expect_leq(st.n_cex, st.different);
	cr_expect_gt(st.n_cex, 0, "one test cannot tell a constant from a load");
	cr_expect_eq(k2_wsearch_n_tests(s), f.nt + st.n_cex);
	for (uint32_t i = 1; i < k2_wsearch_n_best(s); i++)
		cr_expect_leq(k2_wsearch_best(s, i - 1)->perf, k2_wsearch_best(s, i)->perf);
	k2_wsearch_free(s);
	fx_teardown(&f);
}

Test(search_window, exchange_api)
{
	struct fx f;
	struct k2_wsearch *s;
	struct k2_err e = { 0 };
	struct bpf_insn buf[8], *half;
	uint32_t n, nh;
	double cost, beta;

	fx_setup(&f);
	K2_WSEARCH_OPTS(o, .seed = 1, .no_prove = true);
	cr_assert_eq(k2_wsearch_new(f.vm, f.an, &f.w, f.t, f.nt, &o, &s, &e), 0, "%s", e.msg);
	/* The coldest chain starts at the original; set_cold scores what it is given. */
	cr_assert_eq(k2_wsearch_cold(s, buf, 8, &n, &cost, &beta), 0);
	cr_expect_eq(n, 4);
	cr_expect(!memcmp(buf, f.p.insns + 5, 4 * sizeof(*buf)));
	cr_expect_float_eq(cost, 4, 1e-9);
	cr_expect_float_eq(beta, k2_wsearch_pt(s)->beta[0], 0);
	half = insns_of("r4 = *(u16 *)(r2 + 12)\n", &nh);
	cr_assert_eq(k2_wsearch_set_cold(s, half, nh, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_wsearch_cold(s, buf, 8, &n, &cost, NULL), 0);
	cr_expect_eq(n, 1);
	cr_expect_float_eq(cost, 1, 1e-9);
	cr_expect_eq(k2_wsearch_cold(s, buf, 0, &n, &cost, NULL), -ENOSPC);
	/* A program that is no rewrite of the window is refused by name. */
	free(half);
	half = insns_of("r4 = 1\nr4 = 2\nr4 = 3\nr4 = 4\nr4 = 5\nr4 = 6\nr4 = 7\nr4 = 8\nr4 = 9\n",
			&nh);
	cr_expect_eq(k2_wsearch_set_cold(s, half, nh, &e), -EINVAL);
	cr_expect(strstr(e.msg, "window 5:9"), "%s", e.msg);
	free(half);
	/* Proofs from elsewhere join the top-K, best first, once. */
	half = insns_of("r4 = *(u16 *)(r2 + 12)\n", &nh);
	cr_assert_eq(k2_wsearch_add_proven(s, f.p.insns + 5, 3, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_wsearch_add_proven(s, half, nh, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_wsearch_add_proven(s, half, nh, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_wsearch_n_best(s), 2);
	cr_expect_eq(k2_wsearch_best(s, 0)->n, 1);
	cr_expect_eq(k2_wsearch_best(s, 1)->n, 3);
	free(half);
	/* Imported tests: a state on which the original fails is not one. */
	cr_expect_eq(k2_wsearch_add_test(s, f.probe[0], &e), 1);
	cr_expect_eq(k2_wsearch_n_tests(s), f.nt + 1);
	k2_wstate_set_reg(f.probe[1], 2, K2_T_UNINIT, 0);
	cr_expect_eq(k2_wsearch_add_test(s, f.probe[1], &e), 0);
	cr_expect_eq(k2_wsearch_n_tests(s), f.nt + 1);
	k2_wsearch_free(s);
	fx_teardown(&f);
}

static void run_fixed(struct fx *f, uint64_t seed, struct bpf_insn *cold, uint32_t *n,
		      struct k2_wsearch_stats *st)
{
	struct k2_wsearch *s;
	struct k2_err e = { 0 };

	K2_WSEARCH_OPTS(o, .seed = seed, .no_prove = true);
	cr_assert_eq(k2_wsearch_new(f->vm, f->an, &f->w, f->t, f->nt, &o, &s, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_wsearch_run(s, 30000, 0, &e), 0);
	cr_assert_eq(k2_wsearch_run(s, 12345, 0, &e), 0);
	cr_assert_eq(k2_wsearch_cold(s, cold, 8, n, NULL, NULL), 0);
	k2_wsearch_stats(s, st);
	k2_wsearch_free(s);
}

Test(search_window, deterministic_given_a_seed)
{
	struct fx f;
	struct bpf_insn a[8], b[8], c[8];
	struct k2_wsearch_stats sa, sb, sc;
	uint32_t na, nb, nc;

	fx_setup(&f);
	run_fixed(&f, 42, a, &na, &sa);
	run_fixed(&f, 42, b, &nb, &sb);
	run_fixed(&f, 43, c, &nc, &sc);
	cr_expect_eq(sa.iters, 42345);
	cr_expect_eq(sa.iters, sb.iters);
	cr_expect_eq(sa.accepted, sb.accepted);
	cr_expect_eq(sa.test_runs, sb.test_runs);
	cr_expect(!memcmp(sa.moves, sb.moves, sizeof(sa.moves)));
	cr_expect_eq(na, nb);
	cr_expect(!memcmp(a, b, na * sizeof(*a)));
	cr_expect(sa.accepted != sc.accepted || sa.test_runs != sc.test_runs,
		  "another seed, another walk");
	fx_teardown(&f);
}

Test(search_window, window_tests_follow_the_precondition)
{
	struct fx f;

	fx_setup(&f);
	for (uint32_t i = 0; i < f.n_probe; i++) {
		enum k2_rtype t;
		uint64_t v;

		/* Not live-in: uninitialised, so that a candidate reading it fails. */
		for (unsigned r = 0; r < 10; r++)
			if (!(f.w.live_in >> r & 1)) {
				k2_wstate_get_reg(f.probe[i], r, &t, &v);
				cr_assert_eq(t, K2_T_UNINIT, "state %u r%u", i, r);
			}
		k2_wstate_get_reg(f.probe[i], 2, &t, &v);
		cr_assert_eq(t, K2_T_PKT);
	}
	fx_teardown(&f);
}

/* Counterexamples travel between ranks as bytes: the same state comes out on the other side. */
Test(search_window, packed_states_round_trip)
{
	struct fx f;
	struct k2_wsearch *s;
	struct k2_wstate *back;
	struct k2_err e = { 0 };
	size_t need = 0;
	uint8_t *buf;
	bool err;

	fx_setup(&f);
	cr_assert_eq(k2_wstate_pack(f.probe[5], NULL, 0, &need), -ENOSPC);
	cr_assert_gt(need, 4096);
	buf = malloc(need);
	cr_assert_eq(k2_wstate_pack(f.probe[5], buf, need, NULL), (int)need);
	/* Unpacked over another state, it runs the window as the original did. */
	cr_assert_eq(k2_wstate_new(f.vm, &back), 0);
	cr_assert_eq(k2_wstate_copy(back, f.probe[9]), 0);
	cr_assert_eq(k2_wstate_unpack(back, buf, need), 0);
	cr_assert_eq(k2_window_set(f.win, f.vm, f.p.insns + 5, 4, &e), 0);
	k2_vm_wrun(f.vm, f.win, f.probe[5], &f.a);
	k2_vm_wrun(f.vm, f.win, back, &f.b);
	cr_expect_eq(k2_wout_distance(&f.a, &f.b, 0x7ff, &err), 0);
	cr_expect_not(err);
	/* Short or altered bytes are refused and change nothing. */
	cr_expect_eq(k2_wstate_unpack(back, buf, need - 1), -EINVAL);
	buf[0] ^= 1;
	cr_expect_eq(k2_wstate_unpack(back, buf, need), -EINVAL);
	buf[0] ^= 1;
	/* And a search takes them as a test. */
	K2_WSEARCH_OPTS(o, .seed = 1, .no_prove = true);
	cr_assert_eq(k2_wsearch_new(f.vm, f.an, &f.w, f.t, f.nt, &o, &s, &e), 0, "%s", e.msg);
	cr_expect_eq(k2_wsearch_add_test_packed(s, buf, need, &e), 1, "%s", e.msg);
	cr_expect_eq(k2_wsearch_n_tests(s), f.nt + 1);
	cr_expect_eq(k2_wsearch_add_test_packed(s, buf, 10, &e), -EINVAL);
	k2_wsearch_free(s);
	k2_wstate_free(back);
	free(buf);
	fx_teardown(&f);
}

/* A prover that takes 50 ms over every candidate and decides nothing (z3 timing out). */
static int slow_unknown(void *arg, const struct bpf_insn *cand, uint32_t n, enum k2_verdict *v,
			struct k2_wstate *cex, struct k2_err *e)
{
	struct timespec ts = { 0, 50000000 };
	struct fx *f = arg;

	(void)cand, (void)n, (void)cex, (void)e;
	f->calls++;
	nanosleep(&ts, NULL);
	*v = K2_UNKNOWN;
	return 0;
}

/*
 * A timed slice ends at the first candidate past its time: a round of chains x
 * swap_interval proposals, each of which may reach the prover, would otherwise be waited for
 * (a cluster worker answers rank 0 only between slices). The round goes on in the next call.
 */
Test(search_window, timed_slice_ends_at_a_slow_prover, .timeout = 60)
{
	struct fx f;
	struct k2_wsearch *s;
	struct k2_wsearch_stats st;
	struct k2_err e = { 0 };
	uint64_t iters = 0;

	fx_setup(&f);
	struct k2_prover pr = { slow_unknown, &f };
	K2_WSEARCH_OPTS(o, .seed = 7, .prover = &pr);
	cr_assert_eq(k2_wsearch_new(f.vm, f.an, &f.w, f.t, f.nt, &o, &s, &e), 0, "%s", e.msg);
	for (int k = 0; k < 5; k++) {
		uint32_t before = f.calls;

		cr_assert_eq(k2_wsearch_run(s, 0, 0.1, &e), 0, "%s", e.msg);
		k2_wsearch_stats(s, &st);
		/* 0.1 s holds at most two 50 ms answers; the third one ends the slice */
		cr_expect_leq(f.calls - before, 3, "slice %d asked the prover %u times", k,
			      f.calls - before);
		cr_expect_gt(st.iters, iters, "slice %d made no proposal", k);
		iters = st.iters;
	}
	cr_expect_gt(f.calls, 0, "no candidate reached the prover");
	k2_wsearch_free(s);
	fx_teardown(&f);
}
