/* tests/bench/interp_jit.c: the interpreter beside the kernel JIT on the corpus (interp.md). */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kernel_bench/k2_bench.h"
#include "kernel_bench/k2_kern.h"

#define OUT "results/interp.md"
#define INTERP_TXT "results/interp.txt" /* tests/bench/interp.c, same `make bench` run */
#define MIN_CPU_S 0.02                  /* interpreter time per packet */

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* CPU time: other jobs share the cores */
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct row {
	char name[64];
	const char *type;
	uint32_t insns;          /* slots loaded (main + subprograms) */
	uint32_t packets;
	double steps;            /* median instructions executed per packet (interpreter) */
	double interp_ns;        /* median over packets of ns per run */
	double interp_mips;      /* instructions per second over all runs, millions */
	double jit_ns;           /* median over packets of the kernel's ns per run */
	double floor_ns;         /* the kernel's empty program */
	double ratio;            /* median over packets of interp ns / JIT ns */
	uint32_t not_ok;         /* packets the interpreter ended with an error status */
	char note[96];
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, uint32_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Interpreter: each packet of the session, repeated for MIN_CPU_S of thread CPU time. */
static int interp(const struct k2_prog *p, const struct k2_bench *b, struct row *r,
		  double *ns, struct k2_err *e)
{
	struct k2_mapstate *ms = NULL;
	struct k2_input *in = malloc(sizeof(*in));
	struct k2_result res;
	struct k2_vm *vm = NULL;
	double steps_all = 0, t_all = 0, *steps = calloc(r->packets, sizeof(double));
	int err = !in || !steps ? -ENOMEM : 0;

	if (!err)
		err = k2_mapstate_new(p->maps, p->n_maps, (uint32_t)k2_kern_ncpus(), &ms, e);
	if (!err)
		err = k2_vm_new(p, NULL, &vm, e);
	for (uint32_t i = 0; i < r->packets && !err; i++) {
		double t0, dt;
		uint64_t runs = 0, st = 0;

		*in = k2_bench_packet(b, i)->in;
		in->maps = ms;
		t0 = cpu_now();
		do {
			for (int k = 0; k < 256; k++, runs++) {
				k2_vm_run(vm, in, &res);
				st += res.steps;
			}
			dt = cpu_now() - t0;
		} while (dt < MIN_CPU_S);
		r->not_ok += res.status != K2_RUN_OK;
		ns[i] = dt / (double)runs * 1e9;
		steps[i] = (double)st / (double)runs;
		steps_all += (double)st;
		t_all += dt;
	}
	if (!err) {
		r->steps = median(steps, r->packets);
		r->interp_mips = steps_all / t_all / 1e6;
	}
	k2_vm_free(vm);
	k2_mapstate_free(ms);
	free(steps);
	free(in);
	return err;
}

static int measure(const char *path, struct row *r, struct k2_err *e)
{
	struct k2_object *obj;
	struct k2_prog *p;
	struct k2_bench *b = NULL;
	double *in_ns = NULL, *ratio = NULL, *jit = NULL;
	K2_BENCH_OPTS(o, .rounds = 5, .packets = 16, .aa_copies = 1, .sample_us = 1000, .seed = 1);
	int err = k2_object_open(path, &obj, e);

	if (err)
		return err;
	p = k2_object_prog(obj, NULL);
	snprintf(r->name, sizeof(r->name), "%s", p->name);
	r->type = k2_prog_type_name(p->type);
	r->insns = p->n_insns;
	err = k2_bench_new(p, &o, &b, e);
	if (!err && k2_bench_off(b))
		err = k2_err_set(e, -EPERM, "kernel: not checked (%s)", k2_bench_off(b));
	if (!err)
		err = k2_bench_measure(b, e);
	r->packets = b ? k2_bench_n_packets(b) : 0;
	if (!err && !r->packets) {
		snprintf(r->note, sizeof(r->note), "no packets for %s programs", r->type);
		goto out;
	}
	in_ns = calloc(r->packets, sizeof(double));
	ratio = calloc(r->packets, sizeof(double));
	jit = calloc(r->packets, sizeof(double));
	if (!err && (!in_ns || !ratio || !jit))
		err = k2_err_set(e, -ENOMEM, "out of memory");
	if (!err)
		err = interp(p, b, r, in_ns, e);
	if (!err) {
		const struct k2_bench_prog *k = k2_bench_prog(b, 0);

		for (uint32_t i = 0; i < r->packets; i++) {
			jit[i] = k->pkt[i].median;
			ratio[i] = in_ns[i] / fmax(1, jit[i]);
		}
		r->floor_ns = k2_bench_floor_ns(b);
		r->interp_ns = median(in_ns, r->packets);
		r->jit_ns = median(jit, r->packets);
		r->ratio = median(ratio, r->packets);
		if (r->not_ok)
			snprintf(r->note, sizeof(r->note), "%u packets end in an interpreter error",
				 r->not_ok);
	}
out:
	free(in_ns);
	free(ratio);
	free(jit);
	k2_bench_free(b);
	k2_object_free(obj);
	return err;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void write_md(FILE *f, const struct row *rows, uint32_t n, const char *topo)
{
	char line[512];
	FILE *txt = fopen(INTERP_TXT, "r");

	fprintf(f,
		"# Interpreter throughput beside the kernel JIT\n\n"
		"Written by `make bench` (tests/bench/interp.c, tests/bench/interp_jit.c) on "
		"%s.\n\n",
		topo);
	fprintf(f,
		"## Corpus programs on the bench's packets\n\n"
		"Each corpus program with packets (XDP, tc, socket filter) on the same 16 packets "
		"(IPv4/IPv6 x TCP/UDP at 64, 128, 512 and 1500 bytes, from `k2_pktgen`), with "
		"empty maps, measured in the same run:\n"
		"- **interp**: `k2_vm_run` (bpf/k2_interp.h) repeated per packet for %.0f ms of "
		"thread CPU time; ns per run, median over packets; M insns/s = instructions "
		"executed over CPU time, all packets.\n"
		"- **JIT**: `BPF_PROG_TEST_RUN` on the bench core (kernel_bench, `k2 bench`'s "
		"method: calibrated repeat, 5 interleaved rounds), ns per run, median over "
		"packets of the per-packet median. It includes the kernel's fixed cost of a run "
		"(the empty program's time, column *empty*).\n"
		"- **interp/JIT**: median over packets of the per-packet ratio.\n\n",
		MIN_CPU_S * 1e3);
	fprintf(f, "| program | type | insns | insns run/pkt | interp ns/pkt | interp M insns/s | "
		   "JIT ns/pkt | empty ns | JIT - empty | interp/JIT | note |\n"
		   "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
	for (uint32_t i = 0; i < n; i++) {
		const struct row *r = &rows[i];

		if (!r->packets) {
			fprintf(f, "| %s | %s | %u | | | | | | | | %s |\n", r->name, r->type,
				r->insns, r->note);
			continue;
		}
		fprintf(f,
			"| %s | %s | %u | %.0f | %.1f | %.0f | %.1f | %.0f | %.1f | %.1f | %s |\n",
			r->name, r->type, r->insns, r->steps, r->interp_ns, r->interp_mips,
			r->jit_ns, r->floor_ns, r->jit_ns - r->floor_ns, r->ratio, r->note);
	}
	fprintf(f, "\n## Interpreter micro-benchmarks (tests/bench/interp.c)\n\n");
	if (!txt) {
		fprintf(f, "(%s not found: run `make bench`)\n", INTERP_TXT);
		return;
	}
	fprintf(f, "```\n");
	while (fgets(line, sizeof(line), txt))
		fputs(line, f);
	fprintf(f, "```\n");
	fclose(txt);
}

int main(void)
{
	const char *bdir = getenv("K2_BUILD");
	char dir[4096], *names[256], path[8192], tmp[64], summary[512] = "";
	struct row rows[256];
	uint32_t n = 0, k = 0;
	struct k2_topo *topo;
	struct k2_err e = { 0 };
	struct dirent *d;
	DIR *dd;
	FILE *f;

	snprintf(dir, sizeof(dir), "%s/corpus", bdir && *bdir ? bdir : "build");
	if (k2_kern_probe(&e)) {
		printf("interp_jit: kernel: not checked (%s)\n", e.msg);
		return 0;
	}
	if (!k2_topo_load(&topo, &e)) {
		k2_topo_summary(topo, summary, sizeof(summary));
		k2_topo_free(topo);
	}
	dd = opendir(dir);
	while (dd && (d = readdir(dd)) && n < 256)
		if (strlen(d->d_name) > 2 && !strcmp(d->d_name + strlen(d->d_name) - 2, ".o"))
			names[n++] = strdup(d->d_name);
	if (dd)
		closedir(dd);
	if (!n) {
		fprintf(stderr, "interp_jit: no objects in %s (make corpus)\n", dir);
		return 1;
	}
	qsort(names, n, sizeof(names[0]), by_name);
	for (uint32_t i = 0; i < n; i++) {
		memset(&rows[k], 0, sizeof(rows[k]));
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (measure(path, &rows[k], &e)) {
			fprintf(stderr, "interp_jit: %s: %s\n", path, e.msg);
			snprintf(rows[k].note, sizeof(rows[k].note), "not measured: %.80s", e.msg);
			rows[k].packets = 0;
		}
		if (rows[k].packets)
			printf("%-22s interp %8.1f ns/pkt %6.0f M insns/s   JIT %6.1f ns/pkt   "
			       "interp/JIT %5.1f\n", rows[k].name, rows[k].interp_ns,
			       rows[k].interp_mips, rows[k].jit_ns, rows[k].ratio);
		k++;
		free(names[i]);
	}
	snprintf(tmp, sizeof(tmp), OUT ".tmp.%d", (int)getpid());
	f = fopen(tmp, "w");
	if (!f) {
		perror(tmp);
		return 1;
	}
	write_md(f, rows, k, summary);
	if (fclose(f) || rename(tmp, OUT)) {
		perror(OUT);
		unlink(tmp);
		return 1;
	}
	printf("wrote %s\n", OUT);
	return 0;
}
