/* kernel_bench/kern_objdiff.c: a compiled object's programs in the kernel and the interpreter. */
#include "kernel_bench/kern_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/k2_gen.h"

static void report_mismatch(const struct k2_objdiff_opts *o, struct k2_objdiff_stats *st,
			    const struct k2_diff *d, const struct k2_prog *p,
			    const struct k2_input *in, const struct k2_diff_outcome *out,
			    const char *path, uint32_t k)
{
	char title[512];

	if (o->progress && st->mismatches <= 20)
		fprintf(o->progress, "mismatch: %s %s input %u: %s\n", path, p->sec, k, out->what);
	if (!o->report || st->reports >= o->max_reports)
		return;
	st->reports++;
	snprintf(title, sizeof(title), "%s, section %s (%s), input %u (seed %llu)", path, p->sec,
		 p->name, k, (unsigned long long)o->seed);
	k2_diff_report(o->report, d, in, out, title);
	fflush(o->report);
}

/*
 * Map states: a fresh random one every STATE_EVERY inputs; in between, runs start from the
 * state the last run left. Programs whose reachable maps are big (64K-element per-CPU
 * arrays cost ~40 ms per read) compare maps only at the end of such a chunk; the others
 * after every run.
 */
#define STATE_EVERY 50
#define BIG_MAPS 4096

static int one_run(const char *path, const struct k2_prog *p, struct k2_diff *d,
		   const struct k2_objdiff_opts *o, struct k2_objdiff_stats *st,
		   const struct k2_input *in, bool keep, uint32_t k, bool *differs,
		   struct k2_err *e)
{
	struct k2_diff_run_opts ro = { .sz = sizeof(ro), .keep_maps = keep };
	struct k2_diff_outcome out;
	int err = k2_diff_run_opts(d, in, &ro, &out, e);

	if (err)
		return err;
	st->runs++;
	st->skipped += out.skipped;
	if (out.mismatch) {
		st->mismatches++;
		*differs = true;
		report_mismatch(o, st, d, p, in, &out, path, k);
	}
	return 0;
}

static int run_inputs(const char *path, const struct k2_prog *p, struct k2_diff *d,
		      const struct k2_objdiff_opts *o, struct k2_objdiff_stats *st,
		      struct k2_input *in, struct k2_rng *rng, uint32_t ncpus, bool *differs,
		      struct k2_err *e)
{
	bool cheap = k2_kern_maps_read_cost(k2_diff_maps(d)) < BIG_MAPS;
	struct k2_mapstate *state = NULL, *fresh = NULL;
	int err = 0;

	for (uint32_t k = 0; k < o->n_inputs && !err; k++) {
		bool chunk_start = k % STATE_EVERY == 0, keep = !cheap && !chunk_start;

		k2_gen_input(rng, p->type, NULL, in);
		if (chunk_start) {
			k2_mapstate_free(fresh);
			fresh = NULL;
			err = k2_gen_mapstate(rng, p->maps, p->n_maps, ncpus, &fresh, e);
			if (err)
				break;
		}
		in->maps = chunk_start ? fresh : state;
		err = one_run(path, p, d, o, st, in, keep, k, differs, e);
		if (err)
			break;
		/* The next run starts from this one's result (when it ran to the end). */
		k2_mapstate_free(state);
		state = NULL;
		if (k2_diff_interp_maps(d))
			err = k2_mapstate_clone(k2_diff_interp_maps(d), &state);
		if (!err && !state)
			err = k2_mapstate_clone(in->maps, &state);
		if (!err && keep && ((k + 1) % STATE_EVERY == 0 || k + 1 == o->n_inputs)) {
			struct k2_diff_outcome out;

			err = k2_diff_check_maps(d, state, &out, e);
			if (!err && out.mismatch) {
				st->mismatches++;
				*differs = true;
				report_mismatch(o, st, d, p, in, &out, path, k);
			}
		}
	}
	k2_mapstate_free(state);
	k2_mapstate_free(fresh);
	return err;
}

static int rejected(const struct k2_objdiff_opts *o, struct k2_objdiff_stats *st,
		    const char *path, const struct k2_prog *p, int err, const struct k2_err *le)
{
	if (!err) {
		st->loaded++;
		return 0;
	}
	if (err == -EOPNOTSUPP) {
		st->unloadable++;
		if (o->progress)
			fprintf(o->progress, "not loadable alone: %s\n", le->msg);
		return 0;
	}
	st->rejected++;
	if (o->progress)
		fprintf(o->progress, "rejected: %s section %s: %s\n", path, p->sec, le->msg);
	return 0;
}

static int diff_prog(const char *path, const struct k2_prog *p, const struct k2_objdiff_opts *o,
		     struct k2_objdiff_stats *st, struct k2_input *in, struct k2_err *e)
{
	struct k2_diff_opts dopts = { .sz = sizeof(dopts), .ignore = o->ignore };
	uint32_t ncpus = (uint32_t)k2_kern_ncpus();
	struct k2_diff *d;
	struct k2_rng rng;
	struct k2_err le = { 0 };
	bool differs = false;
	int err;

	st->progs++;
	if (!k2_kern_can_run(p->type)) {
		/* Loading still checks the reader and the loader against the verifier. */
		struct k2_kern_maps *km = NULL;
		struct k2_kern_prog *kp;

		st->not_runnable++;
		err = k2_kern_maps_create(p->maps, p->n_maps, &km, &le);
		if (!err)
			err = k2_kern_prog_load(p, km, NULL, &kp, &le);
		if (!err)
			k2_kern_prog_free(kp);
		k2_kern_maps_free(km);
		return rejected(o, st, path, p, err, &le);
	}
	err = k2_diff_new(p, &dopts, &d, &le);
	if (err)
		return rejected(o, st, path, p, err, &le);
	st->loaded++;
	st->compared++;
	k2_rng_seed(&rng, o->seed);
	err = run_inputs(path, p, d, o, st, in, &rng, ncpus, &differs, e);
	st->mismatch_progs += differs;
	k2_diff_free(d);
	if (err)
		k2_err_prefix(e, "%s: section %s: ", path, p->sec);
	return err;
}

int k2_diff_object(const char *path, const struct k2_objdiff_opts *opts,
		   struct k2_objdiff_stats *st, struct k2_err *e)
{
	struct k2_objdiff_opts o = { .sz = sizeof(o) };
	struct k2_object *obj;
	struct k2_input *in;
	int err;

	if (opts)
		memcpy(&o, opts, opts->sz < sizeof(o) ? opts->sz : sizeof(o));
	if (!o.n_inputs)
		o.n_inputs = 1000;
	if (!o.max_reports)
		o.max_reports = 5;
	err = k2_object_open(path, &obj, e);
	if (err)
		return err;
	in = malloc(sizeof(*in));
	if (!in) {
		k2_object_free(obj);
		return k2_err_set(e, -ENOMEM, "out of memory");
	}
	for (uint32_t i = 0; i < obj->n_progs && !err; i++)
		if (!o.sec || !strcmp(obj->progs[i].sec, o.sec) ||
		    !strcmp(obj->progs[i].name, o.sec))
			err = diff_prog(path, &obj->progs[i], &o, st, in, e);
	free(in);
	k2_object_free(obj);
	return err;
}

void k2_objdiff_stats_print(FILE *f, const struct k2_objdiff_stats *st)
{
	fprintf(f,
		"objects: %u programs, %u loaded (%u without BPF_PROG_TEST_RUN), %u rejected, "
		"%u not loadable alone, %u compared on %llu runs, %llu mismatches in %u programs",
		st->progs, st->loaded, st->not_runnable, st->rejected, st->unloadable, st->compared,
		(unsigned long long)st->runs, (unsigned long long)st->mismatches,
		st->mismatch_progs);
	if (st->skipped)
		fprintf(f, ", %llu runs skipped (interpreter room)",
			(unsigned long long)st->skipped);
	fputc('\n', f);
}
