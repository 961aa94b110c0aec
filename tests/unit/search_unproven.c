/* tests/unit/search_unproven.c: k2_opt_prog emits nothing its prover did not prove. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search/k2search.h"
#include "tests/unit/interp_util.h"

/* Window 5:9 builds a halfword from two packet bytes: one ldxh does it (many candidates with
 * zero error on the tests reach the prover). */
static const char *xdp_text = K2T_HALFWORD_XDP;

/* A prover that answers one verdict to everything, counting the questions. */
struct liar {
	enum k2_verdict says;
	bool unsafe;          /* equivalent, but the safety check refuses */
	uint32_t asked, made, freed, safety_asked;
};

static int liar_equiv(void *arg, const struct bpf_insn *cand, uint32_t n, enum k2_verdict *v,
		      struct k2_wstate *cex, struct k2_err *e)
{
	struct liar *l = arg;

	(void)cand, (void)n, (void)cex, (void)e;
	l->asked++;
	*v = l->says;
	return 0;
}

static int liar_safe(void *arg, const struct bpf_insn *cand, uint32_t n, bool *safe, char *why,
		     size_t len, struct k2_err *e)
{
	struct liar *l = arg;

	(void)cand, (void)n, (void)e;
	l->safety_asked++;
	*safe = !l->unsafe;
	snprintf(why, len, "the test says unsafe");
	return 0;
}

static int liar_new(void *arg, struct k2_vm *vm, const struct k2_analysis *an,
		    const struct k2_win *w, struct k2_prover *out, struct k2_err *e)
{
	struct liar *l = arg;

	(void)vm, (void)an, (void)w, (void)e;
	l->made++;
	*out = (struct k2_prover){ liar_equiv, l, liar_safe };
	return 0;
}

static void liar_free(void *arg, struct k2_prover *p)
{
	struct liar *l = arg;

	cr_assert_eq(p->arg, l);
	l->freed++;
}

static void run(struct liar *l, struct k2_prog *p, struct k2_opt_result *res)
{
	struct k2_config cfg;
	struct k2_err e = { 0 };

	k2_config_defaults(&cfg);
	cfg.search.seed = 5;
	*p = prog_of(BPF_PROG_TYPE_XDP, xdp_text, NULL, 0);
	K2_OPT_OPTS(oo, .cfg = &cfg, .windows = "5:9", .iters_per_window = 300000,
		    .prover_new = liar_new, .prover_free = liar_free, .prover_arg = l);
	cr_assert_eq(k2_opt_prog(p, &oo, res, &e), 0, "%s", e.msg);
	cr_assert_eq(l->made, 1);
	cr_assert_eq(l->freed, 1);
	cr_assert_eq(res->n_windows, 1);
	printf("prover says %d: asked %u times, %u windows improved, %u -> %u slots\n", l->says,
	       l->asked, res->improved, res->slots_before, res->slots_after);
}

static void unproven(enum k2_verdict says, bool unsafe)
{
	struct liar l = { .says = says, .unsafe = unsafe };
	struct k2_opt_result res;
	struct k2_prog p;

	run(&l, &p, &res);
	cr_assert_gt(l.asked, 0, "the search never asked: the test would prove nothing");
	if (unsafe) {
		cr_expect_eq(l.safety_asked, l.asked, "every proof goes to the safety check");
		cr_expect_eq(res.safety_refused, l.asked);
	} else {
		cr_expect_eq(l.safety_asked, 0, "only proven candidates are checked for safety");
	}
	cr_expect_eq(res.improved, 0);
	cr_expect_eq(res.windows[0].improved, false);
	cr_expect_null(res.windows[0].repl);
	cr_expect_eq(res.slots_after, res.slots_before);
	cr_assert_eq(res.n_insns, p.n_insns);
	cr_expect_eq(memcmp(res.insns, p.insns, p.n_insns * sizeof(*p.insns)), 0,
		     "the output differs from the input");
	k2_opt_result_free(&res);
	free(p.insns);
}

Test(search_unproven, unknown_verdicts_emit_nothing, .timeout = 120)
{
	unproven(K2_UNKNOWN, false);
}

Test(search_unproven, different_verdicts_without_counterexample_emit_nothing, .timeout = 120)
{
	unproven(K2_DIFFERENT, false);
}

Test(search_unproven, equivalent_but_unsafe_emits_nothing, .timeout = 120)
{
	unproven(K2_EQUIVALENT, true);
}

/* The contrast that shows the two tests above can fail: the same search, told yes, rewrites. */
Test(search_unproven, equivalent_verdicts_are_used, .timeout = 120)
{
	struct liar l = { .says = K2_EQUIVALENT };
	struct k2_opt_result res;
	struct k2_prog p;

	run(&l, &p, &res);
	cr_expect_eq(res.improved, 1);
	cr_expect_gt(l.safety_asked, 0, "the safety check was never asked");
	cr_expect_eq(res.safety_refused, 0);
	cr_expect_lt(res.slots_after, res.slots_before);
	k2_opt_result_free(&res);
	free(p.insns);
}
