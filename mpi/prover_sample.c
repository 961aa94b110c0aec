/* mpi/prover_sample.c: --test-prover: equivalence by sampling window states (no z3; tests only). */
#include <stdlib.h>
#include <string.h>

#include "mpi/coord_int.h"

/*
 * For testing the cluster where smt/ is not available: a candidate counts as "equivalent"
 * when it runs like the original window on STATES window states drawn apart from the
 * search's own tests; otherwise the first state that tells them apart is the
 * counterexample. This is evidence, not a proof: a run with --test-prover says so in its
 * report, status and output, and its kernel check still applies.
 */
#define STATES 256

struct k2_test_prover {
	struct k2_vm *vm;
	const struct k2_win *w;
	struct k2_window *orig, *cand;
	struct k2_wstate **st;
	struct k2_wout *ref;
	struct k2_wout out;
	uint32_t n;
};

static int equiv(void *arg, const struct bpf_insn *insns, uint32_t n, enum k2_verdict *v,
		 struct k2_wstate *cex, struct k2_err *e)
{
	struct k2_test_prover *tp = arg;
	int err = k2_window_set(tp->cand, tp->vm, insns, n, e);

	if (err)
		return err;
	*v = K2_EQUIVALENT;
	for (uint32_t i = 0; i < tp->n; i++) {
		bool bad = false;

		k2_vm_wrun(tp->vm, tp->cand, tp->st[i], &tp->out);
		if (k2_wout_distance(&tp->ref[i], &tp->out, tp->w->live_out, &bad) || bad) {
			*v = K2_DIFFERENT;
			return k2_wstate_copy(cex, tp->st[i]) ? k2_err_set(e, -EINVAL, "cex") : 0;
		}
	}
	return 0;
}

int k2_test_prover_new(struct k2_job *j, struct k2_vm *vm, struct k2_inputs *in, uint32_t win,
		       struct k2_test_prover **out, struct k2_prover *pr, struct k2_err *e)
{
	struct k2_test_prover *tp = calloc(1, sizeof(*tp));
	const struct k2_win *w = &j->wins[win];
	struct k2_wstate **st = NULL;
	uint32_t n = 0, reached, k = 0;
	int err;

	if (!tp)
		return k2_err_set(e, -ENOMEM, "out of memory");
	tp->vm = vm;
	tp->w = w;
	err = k2_inputs_window_tests(in, j->an, w, STATES, k2_job_seed(j, 0x5a3b1e, win, 0), &st,
				     &n, &reached, e);
	if (!err)
		err = k2_window_new(&tp->orig) || k2_window_new(&tp->cand) ? -ENOMEM : 0;
	if (!err)
		err = k2_window_set(tp->orig, vm, j->prog->insns + w->start, w->end - w->start, e);
	tp->ref = calloc(n + 1, sizeof(*tp->ref));
	if (!err && !tp->ref)
		err = k2_err_set(e, -ENOMEM, "out of memory");
	for (uint32_t i = 0; !err && i < n; i++) {
		k2_vm_wrun(vm, tp->orig, st[i], &tp->ref[k]);
		if (tp->ref[k].status != K2_RUN_OK) {
			k2_wstate_free(st[i]);
			continue;
		}
		st[k++] = st[i];
	}
	tp->st = st;
	tp->n = k;
	if (err) {
		k2_tests_free(st, n);
		tp->st = NULL;
		k2_test_prover_free(tp);
		return err;
	}
	pr->equiv = equiv;
	pr->arg = tp;
	*out = tp;
	return 0;
}

void k2_test_prover_free(struct k2_test_prover *tp)
{
	if (!tp)
		return;
	if (tp->st)
		k2_tests_free(tp->st, tp->n);
	k2_window_free(tp->orig);
	k2_window_free(tp->cand);
	free(tp->ref);
	free(tp);
}
