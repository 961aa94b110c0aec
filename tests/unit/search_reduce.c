/* tests/unit/search_reduce.c: known reductions, found by the search and proven by z3. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search/k2search.h"
#include "tests/unit/interp_util.h"

struct reduction {
	const char *text;     /* the program */
	uint32_t start, end;  /* the window */
	uint32_t mcpu;
	uint32_t want_slots;  /* what the best proof must reach */
	const char *want;     /* its text, when only one program of that size is right */
	const char *contains; /* else a part every right one has */
	bool latency;         /* objective=latency with configs/latency.ini */
};

/* Runs the search in slices until a proof of want_slots slots (at most max_iters). */
static void reduce(uint32_t type, const struct reduction *r, uint64_t max_iters)
{
	struct k2_prog p = prog_of(type, r->text, NULL, 0);
	struct k2_vm *vm = vm_of(&p);
	struct k2_analysis *an;
	struct k2_inputs *in;
	struct k2_wsearch *s;
	struct k2_wstate **t;
	struct k2_wsearch_stats st;
	struct k2_config cfg;
	struct k2_win w;
	struct k2_latency *lat = NULL;
	struct k2_err e = { 0 };
	uint32_t nt, reached;
	char text[512] = "";

	k2_config_defaults(&cfg);
	cfg.search.mcpu = r->mcpu;
	if (r->latency) {
		cr_assert_eq(k2_latency_load("configs/latency.ini", &lat, &e), 0, "%s", e.msg);
		cfg.search.objective = K2_OBJ_LATENCY;
	}
	cr_assert_eq(k2_analysis_new(&p, NULL, &an, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_win_describe(an, r->start, r->end, &w, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_inputs_new(&p, vm, &cfg, 64, 1, &in, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_inputs_window_tests(in, an, &w, 32, 1, &t, &nt, &reached, &e), 0, "%s",
		     e.msg);
	K2_WSEARCH_OPTS(o, .cfg = &cfg, .seed = 1, .latency = lat);
	cr_assert_eq(k2_wsearch_new(vm, an, &w, t, nt, &o, &s, &e), 0, "%s", e.msg);
	do {
		cr_assert_eq(k2_wsearch_run(s, 20000, 0, &e), 0, "%s", e.msg);
		k2_wsearch_stats(s, &st);
	} while (st.iters < max_iters &&
		 !(k2_wsearch_n_best(s) && k2_wsearch_best(s, 0)->n <= r->want_slots));
	cr_assert_gt(k2_wsearch_n_best(s), 0, "nothing proven in %lu proposals (%u equivalent, "
					      "%u different, %u unknown: %s)",
		     (unsigned long)st.iters, st.equivalent, st.different, st.unknown,
		     k2_wsearch_prove_error(s));
	for (uint32_t i = 0; i < k2_wsearch_best(s, 0)->n; i++) {
		size_t l = strlen(text);

		k2_disasm_insn(&k2_wsearch_best(s, 0)->insns[i], text + l, sizeof(text) - l - 1);
		strcat(text, "\n");
	}
	printf("window %u:%u -> %u slots in %lu proposals, %.2f s (%u proofs asked):\n%s",
	       r->start, r->end, k2_wsearch_best(s, 0)->n, (unsigned long)k2_wsearch_best(s, 0)->iter,
	       k2_wsearch_best(s, 0)->seconds, st.equivalent + st.different + st.unknown, text);
	printf("  %lu proposals, %u zero-error, %u refused by the rules, %u/%u/%u proven/differ/"
	       "unknown %s\n", (unsigned long)st.iters, st.zero_error, st.unsafe, st.equivalent,
	       st.different, st.unknown, k2_wsearch_prove_error(s));
	cr_expect_eq(k2_wsearch_best(s, 0)->n, r->want_slots, "%s", text);
	if (r->want)
		cr_expect_str_eq(text, r->want);
	if (r->contains)
		cr_expect(strstr(text, r->contains), "%s", text);
	k2_wsearch_free(s);
	k2_tests_free(t, nt);
	k2_inputs_free(in);
	k2_analysis_free(an);
	k2_vm_free(vm);
	k2_latency_free(lat);
	free(p.insns);
}

Test(search_reduce, constant_folding, .timeout = 120)
{
	struct reduction r = { "r0 = 1\nr0 += r0\nexit\n", 0, 2, 3, 1, "r0 = 2\n" };

	reduce(BPF_PROG_TYPE_XDP, &r, 400000);
}

Test(search_reduce, two_byte_stores_become_one_halfword_store, .timeout = 120)
{
	struct reduction r = { "*(u8 *)(r10 - 8) = 1\n"
			       "*(u8 *)(r10 - 7) = 2\n"
			       "r0 = *(u16 *)(r10 - 8)\n"
			       "exit\n",
			       0, 2, 3, 1, NULL, " *)(r10 - 8) = 513\n" };

	reduce(BPF_PROG_TYPE_XDP, &r, 1000000);
}

Test(search_reduce, redundant_spill_removed, .timeout = 120)
{
	/* r6 lives across: the spill and the fill of the same value are a copy (the slot is dead
	 * after the window). */
	struct reduction r = { "r6 = *(u32 *)(r1 + 0)\n"
			       "*(u64 *)(r10 - 8) = r6\n"
			       "r0 = *(u64 *)(r10 - 8)\n"
			       "r0 += r6\n"
			       "exit\n",
			       1, 3, 3, 1, "r0 = r6\n" };

	reduce(BPF_PROG_TYPE_XDP, &r, 1000000);
}

Test(search_reduce, zero_extension_of_a_32_bit_load_is_dropped, .timeout = 120)
{
	/* r1 already holds a zero-extended 32-bit load: the shifts change nothing. */
	struct reduction r = { "r1 = *(u32 *)(r1 + 12)\n"
			       "r1 <<= 32\n"
			       "r1 >>= 32\n"
			       "r0 = r1\n"
			       "exit\n",
			       1, 3, 2, 0, "" };

	reduce(BPF_PROG_TYPE_XDP, &r, 1000000);
}

Test(search_reduce, multiply_by_two_becomes_an_add, .timeout = 120)
{
	/* Under the measured latency table (configs/latency.ini: mul64_k 0.169 ns, lsh64_k
	 * 0.098, add64_x 0.059) the multiply becomes the cheapest op computing 2 * r0. */
	struct reduction r = { "r0 = *(u32 *)(r1 + 12)\n"
			       "r0 *= 2\n"
			       "exit\n",
			       1, 2, 3, 1, "r0 += r0\n", NULL, true };

	reduce(BPF_PROG_TYPE_XDP, &r, 1000000);
}

Test(search_reduce, zero_extension_by_shifts_becomes_mov32, .timeout = 120)
{
	/* A 64-bit value from pt_regs: the shifts clear its upper half, as w1 = w1 does (or
	 * w1 &= w1, w1 |= w1: any one 32-bit ALU instruction on w1 alone). */
	struct reduction r = { "r1 = *(u64 *)(r1 + 0)\n"
			       "r1 <<= 32\n"
			       "r1 >>= 32\n"
			       "r0 = r1\n"
			       "exit\n",
			       1, 3, 2, 1, NULL, "w1 " };

	reduce(BPF_PROG_TYPE_KPROBE, &r, 1000000);
}
