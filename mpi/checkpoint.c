/* mpi/checkpoint.c: rank 0's search state in a file (atomic, versioned, checked) and back. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpi/coord_int.h"

/*
 * Layout (little endian, k2_buf fields): "K2CKPT\r\n", u32 version, u64 program hash, str
 * section, str input, u64 seed, u32 generation, f64 budget (the whole job's), f64 search
 * seconds spent, u64 iters, u32 round, u64 rng[4], u32 windows, then per window: u32 start,
 * end, u8 phase, stalled, empty, f64 share, used, seconds, improved_at, first_best_at,
 * orig_perf, u64 iters, accepted, pt_tried, pt_acc, swaps_tried, swaps_acc, cex_relayed,
 * proven_relayed, u32 equivalent, different, unknown, unsafe, tests, ranks_ever, xround;
 * u32 proven, each: f64 perf, u64 iter, u32 origin, f64 found_at, u8 kernel (+1), str
 * reason, insns; u32 counterexamples, each: u32 origin, f64 found_at, u32 len, bytes. Last
 * a u64 FNV-1a hash of everything before it. Times are search seconds (across resumes).
 */
#define CK_MAGIC "K2CKPT\r\n"
#define CK_VERSION 2 /* 2: counterexamples carry the candidate they refuted */

struct k2_ckpt {
	struct k2_buf b;           /* the whole file */
	size_t windows_at;         /* where the per-window part starts */
	double elapsed;
	uint32_t round, n_wins;
	uint64_t rng[4];
};

/* ---- writing ------------------------------------------------------------------------------- */

static double search_t(const struct k2_coord *c, double job_t)
{
	return c->elapsed_before + job_t - c->t_start;
}

static void put_window(const struct k2_coord *c, const struct k2_cwin *w, struct k2_buf *b)
{
	k2_buf_u32(b, w->win.start);
	k2_buf_u32(b, w->win.end);
	k2_buf_u8(b, (uint8_t)w->phase);
	k2_buf_u8(b, w->stalled);
	k2_buf_u8(b, w->empty);
	k2_buf_f64(b, w->share);
	k2_buf_f64(b, w->used);
	k2_buf_f64(b, w->seconds);
	k2_buf_f64(b, search_t(c, w->t_improved));
	k2_buf_f64(b, search_t(c, w->t_first_best));
	k2_buf_f64(b, w->orig_perf);
	uint64_t u[] = { w->iters, w->accepted, w->pt_tried, w->pt_acc, w->swaps_tried,
			 w->swaps_acc, w->cex_relayed, w->proven_relayed };
	for (unsigned i = 0; i < sizeof(u) / sizeof(u[0]); i++)
		k2_buf_u64(b, u[i]);
	uint32_t v[] = { w->equivalent, w->different, w->unknown, w->unsafe, w->n_tests,
			 w->ranks_ever, w->xround };
	for (unsigned i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		k2_buf_u32(b, v[i]);
	k2_buf_u32(b, w->n_cands);
	for (uint32_t i = 0; i < w->n_cands; i++) {
		const struct k2_ccand *k = &w->cands[i];

		k2_buf_f64(b, k->perf);
		k2_buf_u64(b, k->iter);
		k2_buf_u32(b, (uint32_t)k->origin);
		k2_buf_f64(b, search_t(c, k->t));
		k2_buf_u8(b, (uint8_t)(k->kernel + 1));
		k2_buf_str(b, k->reason);
		k2_buf_insns(b, k->insns, k->n);
	}
	k2_buf_u32(b, w->n_cex);
	for (uint32_t i = 0; i < w->n_cex; i++) {
		k2_buf_u32(b, (uint32_t)w->cex[i].origin);
		k2_buf_f64(b, search_t(c, w->cex[i].t));
		k2_buf_u32(b, w->cex[i].len);
		k2_buf_put(b, w->cex[i].bytes, w->cex[i].len);
	}
}

static int write_atomic(const char *path, const struct k2_buf *b, struct k2_err *e)
{
	char tmp[4200];
	int fd;
	ssize_t n;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return k2_err_set(e, -errno, "%s: %s", tmp, strerror(errno));
	n = write(fd, b->p, b->len);
	if (n != (ssize_t)b->len || fsync(fd)) {
		int err = n < 0 ? -errno : -EIO;

		close(fd);
		unlink(tmp);
		return k2_err_set(e, err, "%s: write failed", tmp);
	}
	close(fd);
	if (rename(tmp, path)) {
		int err = -errno;

		unlink(tmp);
		return k2_err_set(e, err, "%s: %s", path, strerror(-err));
	}
	return 0;
}

int k2_ckpt_write(const struct k2_coord *c, const char *path, struct k2_err *e)
{
	const struct k2_job *j = c->j;
	struct k2_buf b = { 0 };
	double elapsed = k2_coord_search_time(c);
	int err;

	k2_buf_put(&b, CK_MAGIC, 8);
	k2_buf_u32(&b, CK_VERSION);
	k2_buf_u64(&b, j->prog_hash);
	k2_buf_str(&b, j->section);
	k2_buf_str(&b, j->input);
	k2_buf_u64(&b, j->seed);
	k2_buf_u32(&b, j->generation);
	k2_buf_f64(&b, c->elapsed_before + j->budget);
	k2_buf_f64(&b, elapsed);
	k2_buf_u64(&b, j->iters);
	k2_buf_u32(&b, c->round);
	for (int i = 0; i < 4; i++)
		k2_buf_u64(&b, c->rng.s[i]);
	k2_buf_u32(&b, c->nw);
	for (uint32_t i = 0; i < c->nw; i++)
		put_window(c, &c->w[i], &b);
	k2_buf_u64(&b, k2_hash64(b.p, b.len, K2_HASH_INIT));
	if (b.bad) {
		k2_buf_free(&b);
		return k2_err_set(e, -ENOMEM, "%s: out of memory", path);
	}
	err = write_atomic(path, &b, e);
	k2_job_log(j, "checkpoint %s: %zu bytes, %.1f s of search", path, b.len, elapsed);
	k2_buf_free(&b);
	return err;
}

/* ---- reading (setup, rank 0) ---------------------------------------------------------------- */

static double job_t(const struct k2_coord *c, double search_t)
{
	return c->t_start + search_t - c->elapsed_before;
}

static int get_cands(struct k2_buf *b, struct k2_coord *c, struct k2_cwin *w)
{
	uint32_t n = k2_buf_get_u32(b);

	if (b->bad || n > 1u << 20)
		return -EINVAL;
	w->cands = calloc(n + 1, sizeof(*w->cands));
	if (!w->cands)
		return -ENOMEM;
	w->cap_cands = n + 1;
	for (uint32_t i = 0; i < n && !b->bad; i++) {
		struct k2_ccand *k = &w->cands[i];

		k->perf = k2_buf_get_f64(b);
		k->iter = k2_buf_get_u64(b);
		k->origin = (int)k2_buf_get_u32(b);
		k->t = c ? job_t(c, k2_buf_get_f64(b)) : k2_buf_get_f64(b);
		k->kernel = (int8_t)(k2_buf_get_u8(b) - 1);
		k2_buf_get_str(b, k->reason, sizeof(k->reason));
		k->insns = k2_buf_get_insns(b, &k->n, 1u << 16);
		if (!k->insns)
			return -EINVAL;
		k->hash = k2_hash64(k->insns, k->n * sizeof(*k->insns), K2_HASH_INIT);
		for (uint32_t q = 0; q < k->n; q++)
			k->n_insns += !(q && k->insns[q - 1].code == (BPF_LD | BPF_IMM | BPF_DW));
		/* A rewrite already checked in the kernel need not be sent again. */
		k->sent = k->kernel >= 0;
		w->n_cands++;
	}
	return b->bad ? -EINVAL : 0;
}

static int get_cex(struct k2_buf *b, struct k2_coord *c, struct k2_cwin *w)
{
	uint32_t n = k2_buf_get_u32(b);

	if (b->bad || n > 1u << 24)
		return -EINVAL;
	w->cex = calloc(n + 1, sizeof(*w->cex));
	if (!w->cex)
		return -ENOMEM;
	w->cap_cex = n + 1;
	for (uint32_t i = 0; i < n && !b->bad; i++) {
		struct k2_ccex *x = &w->cex[i];
		const uint8_t *p;

		x->origin = (int)k2_buf_get_u32(b);
		x->t = c ? job_t(c, k2_buf_get_f64(b)) : k2_buf_get_f64(b);
		x->len = k2_buf_get_u32(b);
		p = k2_buf_view(b, x->len);
		if (!p || !(x->bytes = malloc(x->len + 1)))
			return -EINVAL;
		memcpy(x->bytes, p, x->len);
		x->hash = k2_hash64(p, x->len, K2_HASH_INIT);
		w->n_cex++;
	}
	return b->bad ? -EINVAL : 0;
}

/* One window: at setup (c NULL) its range, checked against the program; for the coordinator
 * its phase, budget, counters and pools. */
static int get_window(struct k2_buf *b, struct k2_job *j, struct k2_coord *c, uint32_t i,
		      struct k2_err *e)
{
	struct k2_cwin scratch = { 0 }, *w = c ? &c->w[i] : &scratch;
	uint32_t start = k2_buf_get_u32(b), end = k2_buf_get_u32(b);
	uint64_t *u[] = { &w->iters, &w->accepted, &w->pt_tried, &w->pt_acc, &w->swaps_tried,
			  &w->swaps_acc, &w->cex_relayed, &w->proven_relayed };
	uint32_t *v[] = { &w->equivalent, &w->different, &w->unknown, &w->unsafe, &w->n_tests,
			  &w->ranks_ever, &w->xround };
	int err;

	if (b->bad)
		return k2_err_set(e, -EINVAL, "truncated");
	if (!c) {
		err = k2_win_describe(j->an, start, end, &j->wins[i], e);
		if (!err && end > j->prog->n_main)
			err = k2_err_set(e, -EINVAL, "window %u:%u: outside the main function",
					 start, end);
		if (err)
			return err;
	}
	w->phase = (enum k2_wphase)k2_buf_get_u8(b);
	w->stalled = k2_buf_get_u8(b);
	w->empty = k2_buf_get_u8(b);
	w->share = k2_buf_get_f64(b);
	w->used = k2_buf_get_f64(b);
	w->seconds = k2_buf_get_f64(b);
	w->t_improved = k2_buf_get_f64(b);
	w->t_first_best = k2_buf_get_f64(b);
	if (c) {
		w->t_improved = job_t(c, w->t_improved);
		w->t_first_best = job_t(c, w->t_first_best);
	}
	w->orig_perf = k2_buf_get_f64(b);
	for (unsigned k = 0; k < sizeof(u) / sizeof(u[0]); k++)
		*u[k] = k2_buf_get_u64(b);
	for (unsigned k = 0; k < sizeof(v) / sizeof(v[0]); k++)
		*v[k] = k2_buf_get_u32(b);
	if (w->phase > K2_W_DONE)
		b->bad = true;
	/* A window that was searching starts queued: it gets ranks again. */
	if (w->phase == K2_W_ACTIVE)
		w->phase = K2_W_QUEUED;
	err = get_cands(b, c, w);
	if (!err)
		err = get_cex(b, c, w);
	if (!c)
		k2_pool_free(&scratch);
	if (err)
		return k2_err_set(e, err == -ENOMEM ? err : -EINVAL, "window %u:%u: %s", start, end,
				  err == -ENOMEM ? "out of memory" : "damaged");
	return 0;
}

static int load(const char *path, struct k2_buf *b, struct k2_err *e)
{
	FILE *f = fopen(path, "rb");
	uint8_t chunk[65536];
	size_t n;

	if (!f)
		return k2_err_set(e, -errno, "%s: %s", path, strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		k2_buf_put(b, chunk, n);
	fclose(f);
	return b->bad ? k2_err_set(e, -ENOMEM, "%s: out of memory", path) : 0;
}

int k2_ckpt_read(const char *path, struct k2_job *j, struct k2_err *e)
{
	struct k2_ckpt *ck = calloc(1, sizeof(*ck));
	struct k2_buf *b;
	char magic[8], section[K2_SEC_MAX], input[4096];
	uint64_t sum, hash;
	double total;
	int err;

	if (!ck)
		return k2_err_set(e, -ENOMEM, "out of memory");
	j->resume = ck;
	b = &ck->b;
	err = load(path, b, e);
	if (err)
		return err;
	if (b->len < 20 || memcmp(b->p, CK_MAGIC, 8))
		return k2_err_set(e, -EINVAL, "%s: not a k2-cluster checkpoint", path);
	b->at = b->len - 8;
	sum = k2_buf_get_u64(b);
	if (sum != k2_hash64(b->p, b->len - 8, K2_HASH_INIT))
		return k2_err_set(e, -EINVAL, "%s: damaged (checksum mismatch)", path);
	b->at = 0;
	k2_buf_get(b, magic, 8);
	if (k2_buf_get_u32(b) != CK_VERSION)
		return k2_err_set(e, -EINVAL, "%s: checkpoint version not supported here", path);
	hash = k2_buf_get_u64(b);
	k2_buf_get_str(b, section, sizeof(section));
	k2_buf_get_str(b, input, sizeof(input));
	if (hash != j->prog_hash || strcmp(section, j->section))
		return k2_err_set(e, -EINVAL, "%s: checkpoint of another program (%s, section %s); "
				  "%s section %s differs", path, input, section, j->input,
				  j->section);
	j->seed = k2_buf_get_u64(b);
	j->generation = k2_buf_get_u32(b) + 1;
	total = k2_buf_get_f64(b);
	ck->elapsed = k2_buf_get_f64(b);
	j->iters = k2_buf_get_u64(b);
	ck->round = k2_buf_get_u32(b);
	for (int i = 0; i < 4; i++)
		ck->rng[i] = k2_buf_get_u64(b);
	ck->n_wins = k2_buf_get_u32(b);
	if (b->bad || ck->n_wins > 1u << 20)
		return k2_err_set(e, -EINVAL, "%s: truncated", path);
	/* The budget is the whole job's: --budget (or the checkpoint's) minus what was spent. */
	if (j->args->budget_set)
		total = j->args->budget;
	j->budget = total > ck->elapsed ? total - ck->elapsed : 0;
	ck->windows_at = b->at;
	j->wins = calloc(ck->n_wins + 1, sizeof(*j->wins));
	if (!j->wins)
		return k2_err_set(e, -ENOMEM, "out of memory");
	for (uint32_t i = 0; i < ck->n_wins; i++) {
		err = get_window(b, j, NULL, i, e);
		if (err)
			return k2_err_prefix(e, "%s: ", path);
	}
	j->n_wins = ck->n_wins;
	return 0;
}

int k2_ckpt_apply(struct k2_coord *c, struct k2_err *e)
{
	struct k2_ckpt *ck = c->j->resume;
	int err = 0;

	c->elapsed_before = ck->elapsed;
	c->round = ck->round;
	memcpy(c->rng.s, ck->rng, sizeof(ck->rng));
	ck->b.at = ck->windows_at;
	for (uint32_t i = 0; i < ck->n_wins && !err; i++)
		err = get_window(&ck->b, c->j, c, i, e);
	k2_job_log(c->j, "resumed: %.1f s of search done, %.1f s left", ck->elapsed, c->j->budget);
	return err;
}

void k2_ckpt_free(struct k2_ckpt *ck)
{
	if (!ck)
		return;
	k2_buf_free(&ck->b);
	free(ck);
}
