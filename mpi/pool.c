/* mpi/pool.c: each window's shared pools at rank 0: counterexamples and proven rewrites. */
#include <stdlib.h>
#include <string.h>

#include "mpi/coord_int.h"

static bool grow(void **p, uint32_t *cap, uint32_t n, size_t sz)
{
	void *q;
	uint32_t c;

	if (n < *cap)
		return true;
	c = *cap ? 2 * *cap : 16;
	q = realloc(*p, c * sz);
	if (!q)
		return false;
	*p = q;
	*cap = c;
	return true;
}

static void put_cex(struct k2_buf *b, uint32_t win, const struct k2_ccex *x)
{
	k2_buf_u8(b, K2_R_CEX);
	k2_buf_u32(b, win);
	k2_buf_u32(b, (uint32_t)x->origin);
	k2_buf_u32(b, x->len);
	k2_buf_put(b, x->bytes, x->len);
}

static void put_proven(struct k2_buf *b, uint32_t win, const struct k2_ccand *k)
{
	k2_buf_u8(b, K2_R_PROVEN);
	k2_buf_u32(b, win);
	k2_buf_u32(b, (uint32_t)k->origin);
	k2_buf_f64(b, k->perf);
	k2_buf_f64(b, k->t);
	k2_buf_u64(b, k->iter);
	k2_buf_insns(b, k->insns, k->n);
}

int k2_pool_add_cex(struct k2_coord *c, uint32_t win, int origin, const uint8_t *p, uint32_t len,
		    bool relay)
{
	struct k2_cwin *w = &c->w[win];
	uint64_t h = k2_hash64(p, len, K2_HASH_INIT);
	struct k2_ccex *x;

	for (uint32_t i = 0; i < w->n_cex; i++)
		if (w->cex[i].hash == h && w->cex[i].len == len)
			return 0;
	if (!grow((void **)&w->cex, &w->cap_cex, w->n_cex, sizeof(*w->cex)))
		return -ENOMEM;
	x = &w->cex[w->n_cex];
	x->bytes = malloc(len ? len : 1);
	if (!x->bytes)
		return -ENOMEM;
	memcpy(x->bytes, p, len);
	x->len = len;
	x->hash = h;
	x->origin = origin;
	x->t = k2_job_now(c->j);
	w->n_cex++;
	if (!relay || !c->j->cfg.cluster.share_cex)
		return 1;
	for (uint32_t m = 0; m < w->n_members; m++) {
		if (w->members[m] == origin)
			continue;
		put_cex(k2_coord_upd(c, w->members[m]), win, x);
		w->cex_relayed++;
	}
	return 1;
}

static int cand_cmp(const struct k2_ccand *a, const struct k2_ccand *b)
{
	if (a->perf != b->perf)
		return a->perf < b->perf ? -1 : 1;
	return a->n < b->n ? -1 : a->n > b->n;
}

int k2_pool_add_proven(struct k2_coord *c, uint32_t win, int origin, const struct bpf_insn *in,
		       uint32_t n, double perf, uint64_t iter, bool relay)
{
	struct k2_cwin *w = &c->w[win];
	uint64_t h = k2_hash64(in, n * sizeof(*in), K2_HASH_INIT);
	const struct k2_ccand *bp = k2_pool_best(w);
	/* A copy: the array is grown and shifted below. */
	struct k2_ccand best = bp ? *bp : (struct k2_ccand){ 0 };
	struct k2_ccand k = { 0 };
	uint32_t at;

	for (uint32_t i = 0; i < w->n_cands; i++)
		if (w->cands[i].hash == h)
			return 0;
	if (!grow((void **)&w->cands, &w->cap_cands, w->n_cands, sizeof(*w->cands)))
		return -ENOMEM;
	k.insns = malloc((n + 1) * sizeof(*in));
	if (!k.insns)
		return -ENOMEM;
	memcpy(k.insns, in, n * sizeof(*in));
	k.n = n;
	k.n_insns = 0;
	for (uint32_t i = 0; i < n; i++)
		k.n_insns += !(i && in[i - 1].code == (BPF_LD | BPF_IMM | BPF_DW));
	k.perf = perf;
	k.hash = h;
	k.origin = origin;
	k.t = k2_job_now(c->j);
	k.iter = iter;
	k.kernel = -1;
	for (at = 0; at < w->n_cands && cand_cmp(&w->cands[at], &k) <= 0; at++)
		;
	memmove(&w->cands[at + 1], &w->cands[at], (w->n_cands - at) * sizeof(*w->cands));
	w->cands[at] = k;
	w->n_cands++;
	if (relay) {
		for (uint32_t m = 0; m < w->n_members; m++) {
			if (w->members[m] == origin)
				continue;
			put_proven(k2_coord_upd(c, w->members[m]), win, &k);
			w->proven_relayed++;
		}
	}
	if (!bp || cand_cmp(&k, &best) < 0) {
		w->t_improved = k2_job_now(c->j);
		if (!bp || k.n_insns < best.n_insns) {
			w->t_first_best = w->t_improved;
			if (grow((void **)&w->imp, &w->cap_imp, w->n_imp, sizeof(*w->imp)))
				w->imp[w->n_imp++] = (struct k2_cimp){ k2_coord_search_time(c),
								       k.n_insns, w->iters };
		}
		return 2;
	}
	return 1;
}

void k2_pool_put_all(const struct k2_coord *c, uint32_t win, struct k2_buf *b)
{
	const struct k2_cwin *w = &c->w[win];

	if (c->j->cfg.cluster.share_cex)
		for (uint32_t i = 0; i < w->n_cex; i++)
			put_cex(b, win, &w->cex[i]);
	for (uint32_t i = 0; i < w->n_cands; i++)
		put_proven(b, win, &w->cands[i]);
}

const struct k2_ccand *k2_pool_best(const struct k2_cwin *w)
{
	for (uint32_t i = 0; i < w->n_cands; i++)
		if (w->cands[i].kernel != 0)
			return &w->cands[i];
	return NULL;
}

void k2_pool_free(struct k2_cwin *w)
{
	for (uint32_t i = 0; i < w->n_cex; i++)
		free(w->cex[i].bytes);
	for (uint32_t i = 0; i < w->n_cands; i++)
		free(w->cands[i].insns);
	free(w->cex);
	free(w->cands);
	free(w->members);
	free(w->imp);
	w->imp = NULL;
	w->n_imp = 0;
	w->cex = NULL;
	w->cands = NULL;
	w->members = NULL;
	w->n_cex = w->n_cands = w->n_members = 0;
}
