/* kernel_bench/bench_verify.c: the kernel verifier as the last safety check of candidates. */
#include "kernel_bench/bench_int.h"

#include <bpf/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define VERIFY_LOG_SIZE (4u << 20)

void k2_verify_rec_clear(struct k2_verify_rec *r)
{
	free(r->log);
	memset(r, 0, sizeof(*r));
	r->verdict = K2_VERDICT_NOT_CHECKED;
}

int k2_bench_load(const struct k2_prog *prog, const struct k2_kern_maps *km,
		  const struct k2_bench_cand *c, struct k2_verify_rec *r, struct k2_kern_prog **kp,
		  struct k2_err *e)
{
	struct k2_kern_load_opts lo = { .sz = sizeof(lo), .log_size = VERIFY_LOG_SIZE };
	struct k2_err le = { 0 };
	int err;

	k2_verify_rec_clear(r);
	*kp = NULL;
	if (c && c->insns) {
		lo.insns = c->insns;
		lo.n_insns = c->n_insns;
	}
	r->n_insns = lo.insns ? lo.n_insns : prog->n_insns;
	lo.log_buf = malloc(VERIFY_LOG_SIZE);
	if (!lo.log_buf)
		return k2_err_set(e, -ENOMEM, "verifier log: out of memory");
	lo.log_buf[0] = '\0';
	err = k2_kern_prog_load(prog, km, &lo, kp, &le);
	if (!err) {
		r->verdict = K2_VERDICT_ACCEPTED;
		r->verified_insns = (*kp)->verified_insns;
		r->xlated_len = (*kp)->xlated_len;
		r->jited_len = (*kp)->jited_len;
		r->load_us = (double)(*kp)->load_ns / 1e3;
		free(lo.log_buf);
		return 0;
	}
	r->err = err;
	snprintf(r->reason, sizeof(r->reason), "%s", le.msg);
	/* A load that never reached the verifier (bad map index, no bpf()) is no verdict. */
	if (!lo.log_buf[0] && (err == -EPERM || err == -ENOSYS || err == -ENOMEM)) {
		free(lo.log_buf);
		return k2_err_set(e, err, "%s", le.msg);
	}
	r->verdict = K2_VERDICT_REJECTED;
	r->log = lo.log_buf[0] ? strdup(lo.log_buf) : strdup(le.msg);
	free(lo.log_buf);
	return 0;
}

int k2_verify_candidates(const struct k2_prog *orig, const struct k2_bench_cand *cands,
			 uint32_t n, struct k2_verify_rec *rec, struct k2_err *e)
{
	struct k2_kern_maps *km = NULL;
	int err;

	for (uint32_t i = 0; i <= n; i++) {
		memset(&rec[i], 0, sizeof(rec[i]));
		rec[i].verdict = K2_VERDICT_NOT_CHECKED;
	}
	err = k2_kern_probe(e);
	if (!err)
		err = k2_kern_maps_create(orig->maps, orig->n_maps, &km, e);
	for (uint32_t i = 0; !err && i <= n; i++) {
		struct k2_kern_prog *kp = NULL;

		err = k2_bench_load(orig, km, i ? &cands[i - 1] : NULL, &rec[i], &kp, e);
		k2_kern_prog_free(kp);
	}
	if (err)
		for (uint32_t i = 0; i <= n; i++)
			k2_verify_rec_clear(&rec[i]);
	k2_kern_maps_free(km);
	return err;
}
