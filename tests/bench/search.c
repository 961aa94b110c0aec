/* tests/bench/search.c: k2 opt on the corpus (results/search.md) and the proposal loop's speed. */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "kernel_bench/k2_kern.h"
#include "search/k2search.h"

#define TARGET_PER_SEC 500000.0 /* iterations per second per core, 8-insn windows, 32 tests */
#define MICRO_ITERS 200000

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* CPU time: other jobs share the cores */
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, uint32_t n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- the proposal loop: windows of up to 8 instructions, 32 tests, no prover ---- */

struct micro {
	double rates[4096];
	uint32_t n;
	uint64_t iters;
	double cpu;
	double copy_ns, wrun_ns; /* a test state's copy vs a whole run of its window */
	uint32_t n_cost;
};

/* What a per-test prefix cache would pay at least (a state copy) against what it saves. */
static void prefix_cost(struct k2_vm *vm, const struct bpf_insn *insns, uint32_t n,
			struct k2_wstate **t, uint32_t nt, struct micro *m)
{
	struct k2_window *win;
	struct k2_wstate *cp;
	struct k2_wout *out = malloc(sizeof(*out));
	const int reps = 2000;
	double t0, t1, t2;

	if (!out || k2_window_new(&win) || k2_window_set(win, vm, insns, n, NULL) ||
	    k2_wstate_new(vm, &cp)) {
		free(out);
		return;
	}
	t0 = cpu_now();
	for (int k = 0; k < reps; k++)
		k2_vm_wrun(vm, win, t[k % nt], out);
	t1 = cpu_now();
	for (int k = 0; k < reps; k++)
		k2_wstate_copy(cp, t[k % nt]);
	t2 = cpu_now();
	m->wrun_ns += (t1 - t0) / reps * 1e9;
	m->copy_ns += (t2 - t1) / reps * 1e9;
	m->n_cost++;
	k2_wstate_free(cp);
	k2_window_free(win);
	free(out);
}

static void micro_prog(const struct k2_prog *p, struct micro *m)
{
	struct k2_win_opts wo = { .sz = sizeof(wo), .max_len = 8, .min_len = 4, .main_only = true };
	struct k2_analysis *an;
	struct k2_inputs *in;
	struct k2_vm *vm;
	struct k2_win *w;
	struct k2_err e = { 0 };
	uint32_t nw;

	if (k2_analysis_new(p, NULL, &an, &e) || k2_wins_select(an, &wo, &w, &nw, &e) ||
	    k2_vm_new(p, NULL, &vm, &e) || k2_inputs_new(p, vm, NULL, 128, 1, &in, &e)) {
		fprintf(stderr, "%s: %s\n", p->name, e.msg);
		exit(1);
	}
	for (uint32_t i = 0; i < nw && m->n < 4096; i++) {
		struct k2_wstate **t;
		struct k2_wsearch *s;
		uint32_t nt, reached;
		double t0;

		if (w[i].n_insns < 4 ||
		    k2_inputs_window_tests(in, an, &w[i], 32, i, &t, &nt, &reached, &e))
			continue;
		if (w[i].n_insns == 8 && nt)
			prefix_cost(vm, p->insns + w[i].start, w[i].end - w[i].start, t, nt, m);
		K2_WSEARCH_OPTS(o, .seed = i + 1, .no_prove = true);
		if (nt == 32 && !k2_wsearch_new(vm, an, &w[i], t, nt, &o, &s, &e) &&
		    k2_wsearch_n_tests(s) == 32) {
			t0 = cpu_now();
			k2_wsearch_run(s, MICRO_ITERS, 0, &e);
			t0 = cpu_now() - t0;
			/* One thread runs every chain in turn: per chain = per core. */
			m->rates[m->n++] = MICRO_ITERS / t0;
			m->iters += MICRO_ITERS;
			m->cpu += t0;
			k2_wsearch_free(s);
		}
		k2_tests_free(t, nt);
	}
	free(w);
	k2_inputs_free(in);
	k2_vm_free(vm);
	k2_analysis_free(an);
}

/* ---- k2 opt on each program ---- */

struct row {
	char name[64], type[16];
	struct k2_opt_result res;
	char kernel[40];
	int err;
};

static void kernel_verdict(const struct k2_prog *p, const struct k2_opt_result *r, char *out,
			   size_t len)
{
	struct k2_kern_load_opts lo = { .sz = sizeof(lo), .insns = r->insns,
					.n_insns = r->n_insns };
	struct k2_kern_maps *km = NULL;
	struct k2_kern_prog *kp = NULL;
	struct k2_err e = { 0 };

	if (k2_kern_probe(&e)) {
		snprintf(out, len, "not checked");
		return;
	}
	if (k2_kern_maps_create(p->maps, p->n_maps, &km, &e)) {
		snprintf(out, len, "maps refused");
		return;
	}
	snprintf(out, len, k2_kern_prog_load(p, km, &lo, &kp, &e) ? "REFUSED" : "accepted");
	if (kp == NULL && strcmp(out, "accepted"))
		fprintf(stderr, "%s: %s\n", p->name, e.msg);
	k2_kern_prog_free(kp);
	k2_kern_maps_free(km);
}

/* The result as `k2 opt` writes it, opened and loaded by libbpf as a user would. */
static void load_written(struct k2_object *obj, struct k2_prog *p, const struct k2_opt_result *r,
			 char *out, size_t len)
{
	char dir[] = "/tmp/k2-bench-search-XXXXXX", path[64];
	struct bpf_object *bo;
	struct k2_err e = { 0 };
	int err;

	if (!strcmp(out, "not checked") || !mkdtemp(dir))
		return;
	snprintf(path, sizeof(path), "%s/out.o", dir);
	err = k2_object_set_main(obj, p, r->insns, r->n_insns, r->old_to_new, &e);
	if (!err)
		err = k2_object_write(obj, path, &e);
	if (err) {
		fprintf(stderr, "%s: %s\n", p->name, e.msg);
		snprintf(out, len, "NOT WRITTEN");
	} else {
		bo = bpf_object__open_file(path, NULL);
		err = bo ? bpf_object__load(bo) : -errno;
		if (err)
			snprintf(out, len, "object REFUSED");
		else if (!strcmp(out, "accepted"))
			snprintf(out, len, "accepted, object loads");
		bpf_object__close(bo);
	}
	unlink(path);
	rmdir(dir);
}

static void opt_prog(struct k2_prog *p, double budget, struct row *row)
{
	struct k2_config cfg;
	struct k2_err e = { 0 };

	k2_config_defaults(&cfg);
	K2_OPT_OPTS(oo, .cfg = &cfg, .budget = budget);
	snprintf(row->name, sizeof(row->name), "%s", p->name);
	snprintf(row->type, sizeof(row->type), "%s", k2_prog_type_name(p->type));
	row->err = k2_opt_prog(p, &oo, &row->res, &e);
	if (row->err) {
		fprintf(stderr, "%s: %s\n", p->name, e.msg);
		return;
	}
	kernel_verdict(p, &row->res, row->kernel, sizeof(row->kernel));
}

/* Proposals per second of the chains (all of them, on one core), without the prover's time;
 * per chain it is this over the chain count (one thread runs them in turn). */
static double chain_rate(const struct k2_opt_result *r)
{
	double iters = 0, secs = 0;

	for (uint32_t i = 0; i < r->n_windows; i++) {
		iters += (double)r->windows[i].stats.iters;
		secs += r->windows[i].stats.seconds - r->windows[i].stats.prove_seconds;
	}
	return secs > 0 ? iters / secs : 0;
}

static const char *whole_name(enum k2_whole_check w)
{
	static const char *const n[] = { "-", "equivalent", "DIFFERENT", "unknown" };

	return n[w];
}

static void write_md(FILE *f, struct row *rows, uint32_t n, const struct micro *m, double budget)
{
	uint32_t reduced = 0, accepted = 0, nm = 0;
	double med, pcts[64], ttb[64], rate[64], proofs[64];

	qsort((void *)m->rates, m->n, sizeof(double), cmp_double);
	med = m->n ? m->rates[m->n / 2] : 0;
	struct k2_config cfg;

	k2_config_defaults(&cfg);
	fprintf(f, "# k2 opt on the corpus\n\n"
		   "`make bench` (tests/bench/search.c): `k2_opt_prog` with the default "
		   "configuration (configs/default.ini: %u chains, 32 tests per window, "
		   "max_window 16, seed 1) and a budget of %.0f s per program, then the kernel "
		   "verifier on the result (*kernel*: the program loaded alone, then the object "
		   "written as `k2 opt` writes it, opened and loaded by libbpf). *insns* counts "
		   "instructions of the main function (ld_imm64 once), *before* as clang -O2 "
		   "built it. Proofs: zero-error candidates z3 was asked about (equivalent / "
		   "different / unknown), those refused by the verifier-rule analysis first, and "
		   "equivalent ones z3's safety check (smt/ k2_smt_window_safe) refused. "
		   "*whole*: z3 on the whole program.\n\n",
		cfg.search.chains, budget);
	fprintf(f, "| program | type | insns before | after | smaller | slots before | after "
		   "| windows improved | time to best (s) | proposals/s per chain | equivalent "
		   "| different | unknown | rule-refused | safety-refused | whole | kernel |\n"
		   "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
		   "---|\n");
	for (uint32_t i = 0; i < n; i++) {
		const struct k2_opt_result *r = &rows[i].res;
		double pct = r->insns_before ? 100.0 * (r->insns_before - (double)r->insns_after) /
						       r->insns_before : 0;

		if (rows[i].err) {
			fprintf(f, "| %s | %s | error | | | | | | | | | | | | | | |\n", rows[i].name,
				rows[i].type);
			continue;
		}
		reduced += r->insns_after < r->insns_before;
		accepted += !strcmp(rows[i].kernel, "accepted, object loads");
		pcts[nm] = pct;
		ttb[nm] = r->time_to_best;
		rate[nm] = chain_rate(r) / cfg.search.chains;
		proofs[nm++] = r->equivalent;
		fprintf(f, "| %s | %s | %u | %u | %.1f%% | %u | %u | %u/%u | %.1f | %.0f | %u | %u "
			   "| %u | %u | %u | %s | %s |\n",
			rows[i].name, rows[i].type, r->insns_before, r->insns_after, pct,
			r->slots_before, r->slots_after, r->improved, r->n_windows, r->time_to_best,
			rate[nm - 1], r->equivalent, r->different, r->unknown, r->unsafe,
			r->safety_refused, whole_name(r->whole), rows[i].kernel);
	}
	fprintf(f, "\n*proposals/s per chain*: the chains' proposals over the search's wall-clock "
		   "time without the rule checks and z3, over the chain count, on a machine other "
		   "jobs shared (the CPU-time measurement of the loop alone is below).\n");
	fprintf(f, "\n**%u of %u programs below clang -O2's instruction count**; the kernel "
		   "verifier accepted %u of the %u results (program and written object). Medians "
		   "over the programs: %.1f%% fewer instructions, time to best %.1f s, %.0f "
		   "proposals/s per chain, %.0f proofs (z3: equivalent) per program.\n\n",
		reduced, n, accepted, n, median(pcts, nm), median(ttb, nm), median(rate, nm),
		median(proofs, nm));
	fprintf(f, "## Proposal loop speed\n\n"
		   "Chain-level iterations (a proposal, compaction, decoding and the error cost on "
		   "32 test states with early stopping at the Metropolis limit; no prover) on every "
		   "corpus window of 4 to 8 instructions that has 32 distinct test states, %d "
		   "iterations each, thread CPU time. One thread runs the %u chains in turn: the rate "
		   "per core is all chains' iterations over the thread's CPU time; per chain it is "
		   "that divided by %u (each chain has a quarter of the core).\n\n"
		   "| windows | iterations | median per window (core) | aggregate (core) | "
		   "aggregate per chain | target (core) | K2 (-O2, this machine) |\n"
		   "|---:|---:|---:|---:|---:|---:|---|\n"
		   "| %u | %.3g | %.0f/s | %.0f/s | %.0f/s | %.0f/s | 20,000-50,000/s |\n",
		MICRO_ITERS, cfg.search.chains, cfg.search.chains, m->n, (double)m->iters, med,
		m->cpu > 0 ? m->iters / m->cpu : 0,
		m->cpu > 0 ? m->iters / m->cpu / cfg.search.chains : 0, TARGET_PER_SEC);
	if (m->n_cost)
		fprintf(f, "\nPrefix caching (keeping each test's state after an unchanged prefix of "
			   "the candidate) is not done: copying one test state costs %.0f ns, a whole "
			   "run of an 8-instruction window on it %.0f ns (means over %u windows), and a "
			   "window run already puts its state back from a write log instead of "
			   "copying.\n",
			m->copy_ns / m->n_cost, m->wrun_ns / m->n_cost, m->n_cost);
}

int main(int argc, char **argv)
{
	double budget = argc > 1 ? atof(argv[1]) : 30;
	const char *out = argc > 2 ? argv[2] : "results/search.md";
	struct row *rows = calloc(64, sizeof(*rows));
	struct micro *m = calloc(1, sizeof(*m));
	uint32_t n = 0;
	glob_t g;
	FILE *f;

	if (getenv("K2_BENCH_SEARCH_BUDGET"))
		budget = atof(getenv("K2_BENCH_SEARCH_BUDGET"));
	if (glob("build/corpus/*.o", 0, NULL, &g)) {
		fprintf(stderr, "no build/corpus/*.o: run make corpus\n");
		return 1;
	}
	for (size_t i = 0; i < g.gl_pathc && n < 64; i++) {
		struct k2_object *obj;
		struct k2_err e = { 0 };

		if (k2_object_open(g.gl_pathv[i], &obj, &e)) {
			fprintf(stderr, "%s\n", e.msg);
			return 1;
		}
		micro_prog(&obj->progs[0], m);
		opt_prog(&obj->progs[0], budget, &rows[n]);
		if (!rows[n].err)
			load_written(obj, &obj->progs[0], &rows[n].res, rows[n].kernel,
				     sizeof(rows[n].kernel));
		printf("%-22s %4u -> %4u insns, %u/%u windows, %.1f s\n", rows[n].name,
		       rows[n].res.insns_before, rows[n].res.insns_after, rows[n].res.improved,
		       rows[n].res.n_windows, rows[n].res.seconds);
		fflush(stdout);
		n++;
		k2_object_free(obj);
	}
	globfree(&g);
	f = fopen(out, "w");
	if (!f) {
		perror(out);
		return 1;
	}
	write_md(f, rows, n, m, budget);
	fclose(f);
	write_md(stdout, rows, n, m, budget);
	for (uint32_t i = 0; i < n; i++)
		k2_opt_result_free(&rows[i].res);
	free(rows);
	free(m);
	return 0;
}
