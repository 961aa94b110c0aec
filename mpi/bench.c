/* mpi/bench.c: rank 0's side of the bench: what to check in the kernel, and the answers. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mpi/coord_int.h"

/* The request bytes of every submission, to send again if the bench rank dies. */
static struct k2_buf *reqs_of(struct k2_coord *c, uint32_t i);

int k2_cbench_submit(struct k2_coord *c, int32_t win, const struct bpf_insn *insns, uint32_t n,
		     const char *windows, const char *source, uint8_t flags)
{
	struct k2_buf b = { 0 }, *keep;
	struct k2_bsub *s;

	if (c->n_subs == c->cap_subs) {
		uint32_t cap = c->cap_subs ? 2 * c->cap_subs : 32;
		struct k2_bsub *p = realloc(c->subs, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		memset(p + c->cap_subs, 0, (cap - c->cap_subs) * sizeof(*p));
		c->subs = p;
		c->cap_subs = cap;
	}
	s = &c->subs[c->n_subs];
	memset(s, 0, sizeof(*s));
	s->win = win;
	s->measure = flags & K2_BQ_MEASURE;
	s->hash = k2_hash64(insns, n * sizeof(*insns), K2_HASH_INIT);
	k2_buf_u32(&b, c->n_subs);
	k2_buf_u8(&b, flags);
	k2_buf_str(&b, windows);
	k2_buf_str(&b, source);
	k2_buf_insns(&b, insns, n);
	keep = reqs_of(c, c->n_subs);
	if (keep) {
		keep->len = 0;
		k2_buf_put(keep, b.p, b.len);
	}
	k2_coord_send(c, c->bench_dest, K2_T_BENCH_REQ, &b);
	return (int)c->n_subs++;
}

/* Kept beside the submissions, index for index. */
static struct k2_buf *reqs_of(struct k2_coord *c, uint32_t i)
{
	if (i >= c->cap_reqs) {
		uint32_t cap = c->cap_reqs ? 2 * c->cap_reqs : 32;
		struct k2_buf *p;

		while (cap <= i)
			cap *= 2;
		p = realloc(c->reqs, cap * sizeof(*p));
		if (!p)
			return NULL;
		memset(p + c->cap_reqs, 0, (cap - c->cap_reqs) * sizeof(*p));
		c->reqs = p;
		c->cap_reqs = cap;
	}
	return &c->reqs[i];
}

/* One timing at a time: the final program's verdict must not queue behind many. */
static bool measuring(const struct k2_coord *c)
{
	for (uint32_t i = 0; i < c->n_subs; i++)
		if (!c->subs[i].done && c->subs[i].measure)
			return true;
	return false;
}

/* The program with only window `win` rewritten by `k` (the bench checks rewrites one by one,
 * so that a refused one is known before the final composition). */
static int single(struct k2_coord *c, uint32_t win, struct k2_ccand *k)
{
	const struct k2_prog *p = c->j->prog;
	const struct k2_win *w = &c->w[win].win;
	struct k2_edit ed = { w->start, w->end, k->insns, k->n };
	struct k2_splice_opts so = { .sz = sizeof(so), .n_main = p->n_main };
	struct bpf_insn *out = NULL;
	uint32_t n = 0, n_main = 0;
	char wins[64], src[64];
	uint8_t flags = 0;
	int id;

	if (k2_splice(p->insns, p->n_insns, &ed, 1, &so, &out, &n, &n_main, NULL, NULL)) {
		k->kernel = 0;
		snprintf(k->reason, sizeof(k->reason), "does not splice");
		return 0;
	}
	snprintf(wins, sizeof(wins), "%u-%u", w->start, w->end);
	snprintf(src, sizeof(src), "rank %d", k->origin);
	/* A bench rank of its own also times each window's best rewrites (top_k of them) while
	 * the search runs; rank 0 serving itself only verifies them, its time is the search's,
	 * and so is a bench rank's that shares its cores with searching ranks. */
	if (c->bench_dest != 0 && !c->j->bench_shared && !c->bench_off[0] &&
	    c->j->cfg.bench.enabled &&
	    c->w[win].n_measured < c->j->cfg.bench.top_k && !measuring(c)) {
		flags = K2_BQ_MEASURE | (c->j->cfg.bench.xdp_live ? K2_BQ_LIVE : 0);
		c->w[win].n_measured++;
	}
	id = k2_cbench_submit(c, (int32_t)win, out, n, wins, src, flags);
	free(out);
	if (id < 0)
		return id;
	c->subs[id].hash = k->hash;
	return 0;
}

void k2_cbench_submit_new(struct k2_coord *c)
{
	for (uint32_t i = 0; i < c->nw; i++) {
		struct k2_ccand *k = (struct k2_ccand *)k2_pool_best(&c->w[i]);

		if (k && !k->sent) {
			k->sent = true;
			single(c, i, k);
		}
	}
}

static struct k2_ccand *cand_of(struct k2_coord *c, const struct k2_bsub *s)
{
	if (s->win < 0 || (uint32_t)s->win >= c->nw)
		return NULL;
	for (uint32_t i = 0; i < c->w[s->win].n_cands; i++)
		if (c->w[s->win].cands[i].hash == s->hash)
			return &c->w[s->win].cands[i];
	return NULL;
}

/* BENCH_RES: u32 id, i32 verdict, i32 err, u32 verified, xlated, jited, f64 load_us,
 * str reason, u8 measured [f64 ratio, lo, hi, ns, orig ns, pps, orig pps, noise; i32
 * resolved]. id UINT32_MAX: the trace is closed (str path). */
void k2_cbench_take(struct k2_coord *c, struct k2_buf *b)
{
	uint32_t id = k2_buf_get_u32(b);
	struct k2_bres *r;
	struct k2_ccand *k;

	if (id == UINT32_MAX) {
		k2_buf_get_str(b, c->trace_path, sizeof(c->trace_path));
		c->bench_stopped = true;
		return;
	}
	if (id >= c->n_subs || c->subs[id].done)
		return;
	r = &c->subs[id].res;
	r->id = id;
	r->verdict = (int32_t)k2_buf_get_u32(b);
	r->err = (int32_t)k2_buf_get_u32(b);
	r->verified_insns = k2_buf_get_u32(b);
	r->xlated = k2_buf_get_u32(b);
	r->jited = k2_buf_get_u32(b);
	r->load_us = k2_buf_get_f64(b);
	k2_buf_get_str(b, r->reason, sizeof(r->reason));
	r->measured = k2_buf_get_u8(b);
	if (r->measured) {
		r->ratio = k2_buf_get_f64(b);
		r->ratio_lo = k2_buf_get_f64(b);
		r->ratio_hi = k2_buf_get_f64(b);
		r->ns = k2_buf_get_f64(b);
		r->orig_ns = k2_buf_get_f64(b);
		r->pps = k2_buf_get_f64(b);
		r->orig_pps = k2_buf_get_f64(b);
		r->noise_ns = k2_buf_get_f64(b);
		r->resolved = (int32_t)k2_buf_get_u32(b);
	}
	if (b->bad)
		return;
	c->subs[id].done = true;
	if (r->verdict < 0 && !c->bench_off[0])
		snprintf(c->bench_off, sizeof(c->bench_off), "%s", r->reason[0] ? r->reason :
			 "kernel not usable on the bench rank");
	k = cand_of(c, &c->subs[id]);
	if (!k)
		return;
	k->kernel = r->verdict == 1 ? 1 : r->verdict == 0 ? 0 : 2;
	snprintf(k->reason, sizeof(k->reason), "%.159s", r->reason);
	if (k->kernel == 0) {
		k2_status_event(c, "window %d: the kernel refused a proven rewrite (%.120s)",
				c->subs[id].win, r->reason);
		c->compose_dirty = true;
	}
}

void k2_cbench_lost(struct k2_coord *c)
{
	struct k2_job *j = c->j;

	if (c->bench_dest == 0)
		return;
	k2_status_event(c, "bench rank %d lost: rank 0 checks candidates itself", c->bench_dest);
	c->bench_dest = 0;
	if (!j->bench)
		k2_bench_rank_open(j);
	snprintf(c->bench_off, sizeof(c->bench_off), "%s", k2_bench_role_off(j));
	k2_trace_attrs(c);
	c->rows_sent = 0;
	for (uint32_t i = 0; i < c->n_subs; i++) {
		struct k2_buf b = { 0 };

		if (c->subs[i].done || i >= c->cap_reqs || !c->reqs[i].len)
			continue;
		k2_buf_put(&b, c->reqs[i].p, c->reqs[i].len);
		/* Rank 0 only verifies single rewrites: its time belongs to the search. */
		if (c->subs[i].win >= 0 && b.len > 4)
			b.p[4] &= (uint8_t)~(K2_BQ_MEASURE | K2_BQ_LIVE);
		k2_coord_send(c, 0, K2_T_BENCH_REQ, &b);
	}
}

const struct k2_bres *k2_cbench_wait(struct k2_coord *c, int i)
{
	double t0 = k2_job_now(c->j);

	while (i >= 0 && !c->subs[i].done) {
		struct timespec ts = { 0, 1000000 };

		if (k2_coord_pump(c) <= 0)
			nanosleep(&ts, NULL);
		/* A measurement takes seconds; a bench rank silent for far longer is gone. */
		if (c->bench_dest && k2_job_now(c->j) - t0 > 10 * k2_job_timeout(c->j) + 60) {
			k2_cbench_lost(c);
			t0 = k2_job_now(c->j);
		}
	}
	return i >= 0 ? &c->subs[i].res : NULL;
}
