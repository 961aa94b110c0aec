/* mpi/setup.c: the start of a job: rank 0 loads and decides, every rank builds the same job. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kernel_bench/k2_bench.h"
#include "mpi/cluster_int.h"

#define SETUP_VERSION 1

double k2_job_now(const struct k2_job *j)
{
	return MPI_Wtime() - j->t0;
}

void k2_job_log(const struct k2_job *j, const char *fmt, ...)
{
	va_list ap;

	if (!j->log)
		return;
	fprintf(j->log, "t=%.3f rank %d ", k2_job_now(j), j->rank);
	va_start(ap, fmt);
	vfprintf(j->log, fmt, ap);
	va_end(ap);
	fputc('\n', j->log);
	fflush(j->log);
}

uint64_t k2_job_seed(const struct k2_job *j, uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t v[4] = { j->seed, a, b, c };
	uint64_t h = k2_hash64(v, sizeof(v), K2_HASH_INIT);

	/* splitmix64 finaliser: nearby inputs give unrelated seeds */
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	return h ^ (h >> 31);
}

uint64_t k2_prog_hash(const struct k2_prog *p)
{
	uint64_t h = K2_HASH_INIT;
	uint32_t head[3] = { p->type, p->n_insns, p->n_main };

	h = k2_hash64(head, sizeof(head), h);
	h = k2_hash64(p->insns, (size_t)p->n_insns * sizeof(*p->insns), h);
	for (uint32_t i = 0; i < p->n_maps; i++) {
		const struct k2_map *m = &p->maps[i];
		uint32_t d[4] = { m->type, m->key_size, m->value_size, m->max_entries };

		h = k2_hash64(d, sizeof(d), h);
	}
	return h;
}

double k2_job_timeout(const struct k2_job *j)
{
	const struct k2_config *c = &j->cfg;
	double t = c->cluster.heartbeat_timeout_ms / 1000.0;
	/* A slice ends at the first candidate past exchange_ms, which may still hold it for
	 * its equivalence and its safety question (each within one z3 timeout: prover.c) */
	double slice = (c->cluster.exchange_ms + 2.0 * c->smt.timeout_ms +
			c->cluster.heartbeat_ms) / 1000.0;

	return t > slice ? t : slice;
}

/* ---- rank 0: what to search ------------------------------------------------------------- */

/* Windows holding an instruction libbpf rewrites at load time (CO-RE) are left alone. */
static uint32_t drop_core(const struct k2_object *obj, const struct k2_prog *p,
			  struct k2_win *w, uint32_t n)
{
	uint32_t core[256], nc = k2_prog_core_insns(obj, p, core, 256), k = 0;

	for (uint32_t i = 0; i < n; i++) {
		bool hit = nc > 256;

		for (uint32_t c = 0; c < nc && c < 256 && !hit; c++)
			hit = core[c] >= w[i].start && core[c] < w[i].end;
		if (!hit)
			w[k++] = w[i];
	}
	return k;
}

static int pick_windows(struct k2_job *j, const struct k2_cluster_args *a, struct k2_err *e)
{
	struct k2_win_opts wo = { .sz = sizeof(wo), .max_len = j->cfg.search.max_window,
				  .main_only = true };
	int err;

	if (a->windows && strcmp(a->windows, "auto")) {
		err = k2_wins_parse(j->an, a->windows, &j->wins, &j->n_wins, e);
		for (uint32_t i = 0; !err && i < j->n_wins; i++)
			if (j->wins[i].end > j->prog->n_main)
				err = k2_err_set(e, -EINVAL, "%s: window %u:%u: outside the main "
						 "function", j->prog->sec, j->wins[i].start,
						 j->wins[i].end);
		return err;
	}
	err = k2_wins_select(j->an, &wo, &j->wins, &j->n_wins, e);
	if (!err)
		j->n_wins = drop_core(j->obj, j->prog, j->wins, j->n_wins);
	return err;
}

static int read_file(const char *path, void **buf, size_t *len, struct k2_err *e)
{
	FILE *f = fopen(path, "rb");
	long n;

	if (!f)
		return k2_err_set(e, -errno, "%s: %s", path, strerror(errno));
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		fclose(f);
		return k2_err_set(e, -EIO, "%s: cannot read", path);
	}
	*buf = malloc((size_t)n + 1);
	if (!*buf || fread(*buf, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(*buf);
		*buf = NULL;
		return k2_err_set(e, -EIO, "%s: cannot read", path);
	}
	fclose(f);
	*len = (size_t)n;
	return 0;
}

static int open_prog(struct k2_job *j, struct k2_err *e)
{
	struct k2_analysis_opts ao = { .sz = sizeof(ao) };
	int err = k2_object_open_mem(j->obj_bytes, j->obj_len, j->input, &j->obj, e);

	if (err)
		return err;
	j->prog = k2_object_prog(j->obj, j->section[0] ? j->section : NULL);
	if (!j->prog)
		return k2_err_set(e, -ENOENT, "%s: no program %s", j->input,
				  j->section[0] ? j->section : "(empty object)");
	snprintf(j->section, sizeof(j->section), "%s", j->prog->sec);
	j->prog_hash = k2_prog_hash(j->prog);
	return k2_analysis_new(j->prog, &ao, &j->an, e);
}

/* Rank 0: object, program, windows (or those of the checkpoint), into a setup message. */
static int load(struct k2_job *j, const struct k2_cluster_args *a, struct k2_buf *b,
		struct k2_err *e)
{
	int err = read_file(a->input, &j->obj_bytes, &j->obj_len, e);

	snprintf(j->input, sizeof(j->input), "%s", a->input);
	snprintf(j->section, sizeof(j->section), "%s", a->section ? a->section : "");
	if (!err)
		err = open_prog(j, e);
	if (!err && a->resume) {
		err = k2_ckpt_read(a->resume, j, e);
	} else if (!err) {
		err = pick_windows(j, a, e);
		j->budget = a->budget;
	}
	if (err)
		return err;
	k2_buf_u32(b, SETUP_VERSION);
	k2_buf_u32(b, (uint32_t)sizeof(j->cfg));
	k2_buf_put(b, &j->cfg, sizeof(j->cfg));
	k2_buf_f64(b, j->budget);
	k2_buf_u64(b, j->iters);
	k2_buf_u64(b, j->seed);
	k2_buf_u32(b, j->generation);
	k2_buf_u8(b, j->bench_planned);
	k2_buf_str(b, j->input);
	k2_buf_str(b, j->section);
	k2_buf_u32(b, (uint32_t)j->obj_len);
	k2_buf_put(b, j->obj_bytes, j->obj_len);
	k2_buf_u32(b, j->n_wins);
	for (uint32_t i = 0; i < j->n_wins; i++) {
		k2_buf_u32(b, j->wins[i].start);
		k2_buf_u32(b, j->wins[i].end);
	}
	return b->bad ? k2_err_set(e, -ENOMEM, "out of memory") : 0;
}

/* Every other rank: the same job from rank 0's message. */
static int unpack(struct k2_job *j, struct k2_buf *b, struct k2_err *e)
{
	uint32_t len, n;
	const uint8_t *p;

	if (k2_buf_get_u32(b) != SETUP_VERSION || k2_buf_get_u32(b) != sizeof(j->cfg))
		return k2_err_set(e, -EPROTO, "setup: ranks run different k2-cluster builds");
	k2_buf_get(b, &j->cfg, sizeof(j->cfg));
	j->budget = k2_buf_get_f64(b);
	j->iters = k2_buf_get_u64(b);
	j->seed = k2_buf_get_u64(b);
	j->generation = k2_buf_get_u32(b);
	j->bench_planned = k2_buf_get_u8(b);
	k2_buf_get_str(b, j->input, sizeof(j->input));
	k2_buf_get_str(b, j->section, sizeof(j->section));
	len = k2_buf_get_u32(b);
	p = k2_buf_view(b, len);
	n = k2_buf_get_u32(b);
	if (b->bad || n > 1u << 20 || !(j->obj_bytes = malloc(len + 1)))
		return k2_err_set(e, -EPROTO, "setup: bad message");
	memcpy(j->obj_bytes, p, len);
	j->obj_len = len;
	j->wins = calloc(n + 1, sizeof(*j->wins));
	if (!j->wins)
		return k2_err_set(e, -ENOMEM, "out of memory");
	if (open_prog(j, e))
		return e->code;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t s = k2_buf_get_u32(b), t = k2_buf_get_u32(b);
		int err = k2_win_describe(j->an, s, t, &j->wins[i], e);

		if (err)
			return err;
	}
	j->n_wins = n;
	return b->bad ? k2_err_set(e, -EPROTO, "setup: bad message") : 0;
}

/* A broadcast from root that does not block the MPI progress of anyone else's sends. */
static int ibcast(void *buf, int count, int root, MPI_Comm comm)
{
	MPI_Request r;
	int rc = MPI_Ibcast(buf, count, MPI_BYTE, root, comm, &r);

	return rc == MPI_SUCCESS && MPI_Wait(&r, MPI_STATUS_IGNORE) == MPI_SUCCESS ? 0 : -EIO;
}

/* Rank 0's setup message to all: u64 length (0: rank 0 failed; everyone exits), bytes. */
static int share(struct k2_job *j, struct k2_buf *b, int failed, struct k2_err *e)
{
	uint64_t len = failed ? 0 : b->len;

	if (ibcast(&len, 8, 0, MPI_COMM_WORLD))
		return k2_err_set(e, -EIO, "setup: broadcast failed");
	if (!len)
		return j->rank ? k2_err_set(e, -ECANCELED, "rank 0 could not start the job") : 0;
	if (j->rank && !(b->p = malloc(len)))
		return k2_err_set(e, -ENOMEM, "out of memory");
	b->len = b->cap = len;
	if (ibcast(b->p, (int)len, 0, MPI_COMM_WORLD))
		return k2_err_set(e, -EIO, "setup: broadcast failed");
	return 0;
}

/* Whether the bench rank's node has a core for it and one for each other rank there. */
static bool node_has_room(const struct k2_job *j)
{
	struct k2_topo *t;
	struct k2_err e = { 0 };
	int ranks = 1, cores;

	if (k2_topo_load(&t, &e))
		return false;
	cores = k2_topo_ncores(t);
	k2_topo_free(t);
	MPI_Comm_size(j->node, &ranks);
	return cores >= ranks;
}

/* The last rank tries the kernel; everyone learns whether there is a bench rank and whether
 * its node has a core for every rank there. Only then do the other ranks of its node move
 * off its core: with fewer cores than ranks (np 4 on 2 cores) that would crowd every
 * searching rank onto the cores left while the bench rank's core mostly idles, and instead
 * the bench rank leaves its timings of rewrites to the end of the search (bench_shared). */
static int bench_decide(struct k2_job *j, struct k2_err *e)
{
	uint8_t on[2] = { 0, 0 };
	int root = j->size - 1;

	if (!j->bench_planned)
		return 0;
	if (j->rank == root) {
		on[0] = k2_bench_rank_open(j) == 0;
		on[1] = on[0] && !node_has_room(j);
	}
	if (ibcast(on, 2, root, MPI_COMM_WORLD))
		return k2_err_set(e, -EIO, "setup: broadcast failed");
	j->bench_rank = on[0] ? root : -1;
	j->bench_shared = on[1];
	if (on[0] && !on[1] && j->rank != root) {
		MPI_Group world, node;
		int there = MPI_UNDEFINED;

		MPI_Comm_group(MPI_COMM_WORLD, &world);
		MPI_Comm_group(j->node, &node);
		MPI_Group_translate_ranks(world, 1, &root, node, &there);
		MPI_Group_free(&world);
		MPI_Group_free(&node);
		if (there != MPI_UNDEFINED)
			k2_bench_pin_away(j);
	}
	return 0;
}

static int comms(struct k2_job *j)
{
	MPI_Comm *c[] = { &j->to_coord, &j->to_worker, &j->to_bench };

	for (unsigned i = 0; i < 3; i++) {
		if (MPI_Comm_dup(MPI_COMM_WORLD, c[i]) != MPI_SUCCESS)
			return -EIO;
		MPI_Comm_set_errhandler(*c[i], MPI_ERRORS_RETURN);
	}
	if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &j->node))
		return -EIO;
	return 0;
}

static void open_log(struct k2_job *j, const char *path)
{
	char name[4200];

	if (!path)
		return;
	snprintf(name, sizeof(name), "%s.rank%d", path, j->rank);
	j->log = fopen(name, "w");
	if (!j->log)
		fprintf(stderr, "k2-cluster: rank %d: %s: %s\n", j->rank, name, strerror(errno));
}

int k2_job_setup(struct k2_job *j, const struct k2_cluster_args *a, struct k2_err *e)
{
	struct k2_buf b = { 0 };
	int err = 0;

	j->t0 = MPI_Wtime();
	j->args = a;
	j->bench_rank = -1;
	MPI_Comm_rank(MPI_COMM_WORLD, &j->rank);
	MPI_Comm_size(MPI_COMM_WORLD, &j->size);
	MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
	gethostname(j->host, sizeof(j->host) - 1);
	j->gone = calloc((size_t)j->size, sizeof(*j->gone));
	if (!j->gone)
		return k2_err_set(e, -ENOMEM, "out of memory");
	if (comms(j))
		return k2_err_set(e, -EIO, "MPI: cannot duplicate MPI_COMM_WORLD");
	if (j->rank == 0) {
		j->cfg = a->cfg;
		j->iters = a->iters;
		j->seed = a->cfg.search.seed;
		j->bench_planned = j->size >= 3 && !a->no_bench && a->cfg.bench.enabled;
		err = load(j, a, &b, e);
	}
	if (j->rank == 0 && err) {
		share(j, &b, 1, e);
		k2_buf_free(&b);
		return err;
	}
	err = share(j, &b, 0, e);
	if (!err && j->rank)
		err = unpack(j, &b, e);
	k2_buf_free(&b);
	if (err)
		return err;
	open_log(j, a->log);
	err = bench_decide(j, e);
	j->coord_works = j->size - 1 - (j->bench_rank >= 0) < 2;
	k2_job_log(j, "setup: %u windows, bench rank %d%s, rank 0 %s", j->n_wins, j->bench_rank,
		   j->bench_shared ? " (shares cores: times at the end)" : "",
		   j->coord_works ? "searches too" : "coordinates");
	return err;
}

void k2_job_free(struct k2_job *j)
{
	k2_bench_rank_close(j);
	if (j->log)
		fclose(j->log);
	k2_ckpt_free(j->resume);
	free(j->wins);
	free(j->gone);
	j->gone = NULL;
	k2_analysis_free(j->an);
	k2_object_free(j->obj);
	free(j->obj_bytes);
	MPI_Comm *c[] = { &j->to_coord, &j->to_worker, &j->to_bench, &j->node };

	for (unsigned i = 0; i < 4; i++)
		if (*c[i] && *c[i] != MPI_COMM_NULL)
			MPI_Comm_free(c[i]);
}
