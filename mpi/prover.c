/* mpi/prover.c: a worker's window prover: z3 (smt/), remembering what each cex refuted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mpi/coord_int.h"

/*
 * The same question search/ asks by default (k2_smt_window_equiv on the window of the
 * original program), asked here so that the candidate each counterexample refuted is known:
 * it travels with the counterexample, and a rank that imports one scores that candidate on
 * its own tests first. Passing them all means only the other rank's counterexample rules it
 * out here: one candidate rejected by a counterexample another rank found (reported).
 */
struct k2_wprover {
	struct k2_smt_window *sw;
	struct k2_smt *smt;
	struct k2_vm *vm;
	const struct k2_win *w;
	uint32_t limit_ms;
	double end_ms;              /* k2_now_ms() by which questions must end; 0: none */
	struct refuted {
		uint64_t hash;           /* of the packed counterexample */
		struct bpf_insn *insns;
		uint32_t n;
	} *r;
	uint32_t n_r, cap_r;
};

static void keep_refuted(struct k2_wprover *wp, const struct bpf_insn *cand, uint32_t n,
			 const struct k2_wstate *cex)
{
	size_t need = 0;
	uint8_t *p;

	if (wp->n_r == wp->cap_r) {
		uint32_t cap = wp->cap_r ? 2 * wp->cap_r : 16;
		struct refuted *r = realloc(wp->r, cap * sizeof(*r));

		if (!r)
			return;
		wp->r = r;
		wp->cap_r = cap;
	}
	k2_wstate_pack(cex, NULL, 0, &need);
	p = malloc(need + 1);
	if (!p)
		return;
	if (k2_wstate_pack(cex, p, need, NULL) >= 0) {
		struct refuted *r = &wp->r[wp->n_r];

		r->insns = malloc((n + 1) * sizeof(*cand));
		if (r->insns) {
			memcpy(r->insns, cand, n * sizeof(*cand));
			r->n = n;
			r->hash = k2_hash64(p, need, K2_HASH_INIT);
			wp->n_r++;
		}
	}
	free(p);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void k2_wprover_within(struct k2_wprover *wp, double ms)
{
	wp->end_ms = ms < 0 ? 0 : now_ms() + ms;
}

/* One question's time: limit_ms, or less when the slice must end sooner (at least 1 ms:
 * 0 would mean no limit). */
static uint32_t question_ms(const struct k2_wprover *wp)
{
	double left = wp->end_ms > 0 ? wp->end_ms - now_ms() : wp->limit_ms;

	return left >= wp->limit_ms ? wp->limit_ms : left >= 1 ? (uint32_t)left : 1;
}

static int equiv(void *arg, const struct bpf_insn *cand, uint32_t n, enum k2_verdict *v,
		 struct k2_wstate *cex, struct k2_err *e)
{
	struct k2_wprover *wp = arg;
	int err;

	/* A worker answers rank 0 between slices: one candidate may not hold it for longer
	 * than one z3 timeout, however many checks it takes (k2_job_timeout counts on it). */
	k2_smt_limit(wp->smt, question_ms(wp));
	err = k2_prove_window_equiv(wp->smt, wp->sw, wp->w, cand, n, v, wp->vm, cex, e);
	k2_smt_limit(wp->smt, 0);
	if (!err && *v == K2_DIFFERENT)
		keep_refuted(wp, cand, n, cex);
	return err;
}

/*
 * The first-order safety check of a proven candidate (search/ runs the verifier rules
 * before): smt/'s window safety, as search/ asks it by default. A rule violation refuses
 * the candidate only when z3 finds a state that breaks it, or cannot decide.
 */
static int safe(void *arg, const struct bpf_insn *cand, uint32_t n, bool *ok, char *why,
		size_t len, struct k2_err *e)
{
	struct k2_wprover *wp = arg;
	int err;

	k2_smt_limit(wp->smt, question_ms(wp));
	err = k2_prove_window_safe(wp->sw, wp->w, cand, n, ok, why, len, e);
	k2_smt_limit(wp->smt, 0);
	return err;
}

int k2_wprover_new(struct k2_smt *smt, struct k2_vm *vm, const struct k2_analysis *an,
		   const struct k2_win *w, uint32_t limit_ms, struct k2_wprover **out,
		   struct k2_prover *pr, struct k2_err *e)
{
	struct k2_wprover *wp = calloc(1, sizeof(*wp));
	int err;

	if (!wp)
		return k2_err_set(e, -ENOMEM, "out of memory");
	wp->smt = smt;
	wp->vm = vm;
	wp->w = w;
	wp->limit_ms = limit_ms;
	err = k2_smt_window_new(smt, an, w, &wp->sw, e);
	if (err) {
		free(wp);
		return err;
	}
	pr->equiv = equiv;
	pr->safe = safe;
	pr->arg = wp;
	*out = wp;
	return 0;
}

const struct bpf_insn *k2_wprover_refuted(const struct k2_wprover *wp, uint64_t cex_hash,
					  uint32_t *n)
{
	for (uint32_t i = wp ? wp->n_r : 0; i-- > 0;)
		if (wp->r[i].hash == cex_hash) {
			*n = wp->r[i].n;
			return wp->r[i].insns;
		}
	return NULL;
}

void k2_wprover_free(struct k2_wprover *wp)
{
	if (!wp)
		return;
	k2_smt_window_free(wp->sw);
	for (uint32_t i = 0; i < wp->n_r; i++)
		free(wp->r[i].insns);
	free(wp->r);
	free(wp);
}
