/* cli/opt.c: `k2 opt`: optimise an object's programs, check them in the kernel, write it back. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/k2cli.h"
#include "kernel_bench/k2_kern.h"
#include "search/k2search.h"

struct opt_args {
	const char *in, *out, *sec, *windows, *config;
	struct k2_config cfg;
	uint64_t iters;
	bool quiet;
};

struct status {
	const char *name;
	bool tty, quiet;
	double last;
};

static int usage(FILE *f)
{
	fprintf(f,
		"usage: k2 opt IN.o -o OUT.o [-s SECTION] [--budget SEC] [--seed N]\n"
		"              [--windows auto|S:E,...] [--max-window N] [--mcpu N]\n"
		"              [--objective size|latency] [--config FILE] [--set key=value]...\n"
		"              [--iters N] [-q]\n"
		"  Searches each program (or the one named by -s) for shorter or faster code,\n"
		"  window by window, keeps only rewrites z3 proved equivalent that pass the\n"
		"  verifier's rules, checks the whole result (interpreter, z3, the kernel\n"
		"  verifier when bpf() is usable) and writes a drop-in object.\n"
		"  --budget     seconds of search for the whole object (search.budget)\n"
		"  --iters N    N proposals per unit of window difficulty instead of time\n"
		"               (reproducible for a given --seed)\n");
	return f == stdout ? 0 : 2;
}

static int set_key(struct k2_config *cfg, const char *key, const char *val)
{
	struct k2_err e = { 0 };

	if (k2_config_set(cfg, key, val, &e)) {
		fprintf(stderr, "k2 opt: %s\n", e.msg);
		return -1;
	}
	return 0;
}

static int parse(int argc, char **argv, struct opt_args *a)
{
	static const struct option lo[] = {
		{ "output", required_argument, 0, 'o' },  { "section", required_argument, 0, 's' },
		{ "budget", required_argument, 0, 'b' },  { "seed", required_argument, 0, 'S' },
		{ "windows", required_argument, 0, 'w' }, { "max-window", required_argument, 0, 'm' },
		{ "mcpu", required_argument, 0, 'c' },    { "objective", required_argument, 0, 'O' },
		{ "config", required_argument, 0, 'C' },  { "set", required_argument, 0, 'x' },
		{ "iters", required_argument, 0, 'i' },   { "quiet", no_argument, 0, 'q' },
		{ "help", no_argument, 0, 'h' },          { 0 },
	};
	struct k2_err e = { 0 };
	int c, rc = 0;

	/* The config file first, so that the other options override it wherever they stand. */
	for (int i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], "--config"))
			a->config = argv[i + 1];
	k2_config_defaults(&a->cfg);
	if (a->config && k2_config_load(&a->cfg, a->config, &e)) {
		fprintf(stderr, "k2 opt: %s\n", e.msg);
		return 2;
	}
	optind = 1;
	while (!rc && (c = getopt_long(argc, argv, "o:s:qh", lo, NULL)) != -1) {
		switch (c) {
		case 'o': a->out = optarg; break;
		case 's': a->sec = optarg; break;
		case 'w': a->windows = optarg; break;
		case 'C': break;
		case 'q': a->quiet = true; break;
		case 'i': a->iters = strtoull(optarg, NULL, 0); break;
		case 'b': rc = set_key(&a->cfg, "search.budget", optarg); break;
		case 'S': rc = set_key(&a->cfg, "search.seed", optarg); break;
		case 'm': rc = set_key(&a->cfg, "search.max_window", optarg); break;
		case 'c': rc = set_key(&a->cfg, "search.mcpu", optarg); break;
		case 'O': rc = set_key(&a->cfg, "search.objective", optarg); break;
		case 'x':
			if (k2_config_set_arg(&a->cfg, optarg, &e)) {
				fprintf(stderr, "k2 opt: %s\n", e.msg);
				rc = -1;
			}
			break;
		case 'h': usage(stdout); return 1;
		default: return usage(stderr);
		}
	}
	if (rc)
		return 2;
	if (optind != argc - 1 || !a->out) {
		fprintf(stderr, "k2 opt: expected one input object and -o OUT.o\n");
		return usage(stderr);
	}
	a->in = argv[optind];
	return 0;
}

static void on_progress(void *arg, const struct k2_opt_progress *p)
{
	struct status *st = arg;

	if (st->quiet)
		return;
	if (st->tty) {
		fprintf(stderr,
			"\r\033[K%s: window %u/%u [%u:%u] cost %.4g -> %.4g, %.0fk proposals/s, "
			"%u -> %u slots, %.1f s",
			st->name, p->window + 1, p->n_windows, p->win_start, p->win_end,
			p->orig_perf, p->best_perf, p->iters_per_sec / 1000, p->slots_before,
			p->slots_now, p->elapsed);
		if (p->window_done && p->window + 1 == p->n_windows)
			fputs("\r\033[K", stderr);
		fflush(stderr);
	} else if (p->window_done && p->best_perf < p->orig_perf) {
		fprintf(stderr, "%s: window %u:%u: %.4g -> %.4g (proven), %.1f s\n", st->name,
			p->win_start, p->win_end, p->orig_perf, p->best_perf, p->elapsed);
	}
}

/* ---- the kernel verifier ---- */

/* 0 accepted, 1 refused (why in e), <0 could not try (why in e). */
static int kernel_load(const struct k2_prog *prog, const struct bpf_insn *insns, uint32_t n,
		       struct k2_err *e)
{
	struct k2_kern_load_opts lo = { .sz = sizeof(lo), .insns = insns, .n_insns = n };
	struct k2_kern_maps *km = NULL;
	struct k2_kern_prog *kp = NULL;
	int err = k2_kern_maps_create(prog->maps, prog->n_maps, &km, e);

	if (err)
		return err < 0 ? err : -EINVAL;
	err = k2_kern_prog_load(prog, km, &lo, &kp, e);
	k2_kern_prog_free(kp);
	k2_kern_maps_free(km);
	return err ? 1 : 0;
}

/* Loads the result; on refusal drops the windows that are refused alone. */
static void kernel_check(const struct k2_prog *prog, struct k2_opt_result *res, char *verdict,
			 size_t len)
{
	struct k2_err e = { 0 };
	bool *keep;
	uint32_t dropped = 0;
	int r;

	if (k2_kern_probe(&e)) {
		snprintf(verdict, len, "not checked (%s)", e.msg);
		return;
	}
	r = kernel_load(prog, prog->insns, prog->n_insns, &e);
	if (r) {
		snprintf(verdict, len, "not checked (the original is not loadable either: %.200s)",
			 e.msg);
		return;
	}
	r = kernel_load(prog, res->insns, res->n_insns, &e);
	if (!r) {
		snprintf(verdict, len, "verifier accepted");
		return;
	}
	keep = calloc(res->n_windows + 1, sizeof(*keep));
	for (uint32_t i = 0; keep && i < res->n_windows; i++) {
		struct k2_opt_result one = *res;
		bool *only = calloc(res->n_windows + 1, sizeof(*only));

		if (!only || !res->windows[i].improved) {
			free(only);
			continue;
		}
		only[i] = true;
		/* Load the program with this window alone rewritten. */
		one.insns = NULL;
		one.old_to_new = NULL;
		keep[i] = !k2_opt_recompose(prog, &one, only, &e) && one.improved == 1 &&
			  kernel_load(prog, one.insns, one.n_insns, &e) == 0;
		dropped += !keep[i];
		free(one.insns);
		free(one.old_to_new);
		free(only);
	}
	if (keep && !k2_opt_recompose(prog, res, keep, &e) &&
	    !kernel_load(prog, res->insns, res->n_insns, &e)) {
		snprintf(verdict, len, "verifier accepted after dropping %u window%s it refused",
			 dropped, dropped == 1 ? "" : "s");
	} else {
		memset(keep, 0, (res->n_windows + 1) * sizeof(*keep));
		k2_opt_recompose(prog, res, keep, &e);
		snprintf(verdict, len, "verifier refused every rewrite; the program is unchanged");
	}
	free(keep);
}

static void summary(const struct k2_prog *prog, const struct k2_opt_result *r, const char *kern)
{
	static const char *const whole[] = { "not run (nothing changed)", "z3 proved equivalent",
					     "z3 found a difference (rewrites dropped)", "unknown" };

	printf("%s (%s): %u -> %u instructions (%u -> %u slots), %u of %u windows improved\n",
	       prog->name, k2_prog_type_name(prog->type), r->insns_before, r->insns_after,
	       r->slots_before, r->slots_after, r->improved, r->n_windows);
	printf("  proofs: %u equivalent, %u different, %u unknown; %u refused by the verifier's "
	       "rules, %u equivalent ones by the safety check\n",
	       r->equivalent, r->different, r->unknown, r->unsafe, r->safety_refused);
	printf("  whole program: %s%s%s\n", whole[r->whole],
	       r->whole == K2_WHOLE_UNKNOWN && r->whole_why[0] ? ": " : "",
	       r->whole == K2_WHOLE_UNKNOWN ? r->whole_why : "");
	if (r->whole != K2_WHOLE_EQUIVALENT && r->improved)
		printf("  per-window proofs: %u windows, each proven equivalent under its "
		       "precondition\n", r->improved);
	printf("  interpreter: %u inputs run the same%s\n", r->interp_inputs,
	       r->dropped ? " (after dropping rewrites that did not)" : "");
	printf("  kernel: %s\n", kern);
	printf("  time: %.1f s, best at %.1f s, %.3g proposals (%.0fk/s)\n", r->seconds,
	       r->time_to_best, (double)r->iters,
	       r->seconds > 0 ? r->iters / r->seconds / 1000 : 0);
}

static int optimise(struct k2_object *obj, struct k2_prog *prog, const struct opt_args *a,
		    const struct k2_latency *lat, double budget, struct status *st)
{
	struct k2_err e = { 0 };
	struct k2_opt_result res;
	char kern[640];
	int err;

	K2_OPT_OPTS(oo, .cfg = &a->cfg, .windows = a->windows, .latency = lat, .budget = budget,
		    .iters_per_window = a->iters, .progress = on_progress, .progress_arg = st);
	st->name = prog->name;
	err = k2_opt_prog(prog, &oo, &res, &e);
	if (st->tty && !st->quiet)
		fputs("\r\033[K", stderr);
	if (err) {
		fprintf(stderr, "k2 opt: %s: %s\n", a->in, e.msg);
		return err;
	}
	snprintf(kern, sizeof(kern), "not checked (nothing changed)");
	if (res.improved)
		kernel_check(prog, &res, kern, sizeof(kern));
	if (res.slots_after < res.slots_before ||
	    (res.improved && res.slots_after == res.slots_before)) {
		err = k2_object_set_main(obj, prog, res.insns, res.n_insns, res.old_to_new, &e);
		if (err)
			fprintf(stderr, "k2 opt: %s: %s\n", a->in, e.msg);
	}
	summary(prog, &res, kern);
	k2_opt_result_free(&res);
	return err;
}

int k2_cmd_opt(int argc, char **argv)
{
	struct opt_args a = { 0 };
	struct status st = { .tty = isatty(2) };
	struct k2_latency *lat = NULL;
	struct k2_object *obj = NULL;
	struct k2_err e = { 0 };
	uint32_t total = 0;
	int rc = parse(argc, argv, &a), err = 0;

	if (rc)
		return rc == 1 ? 0 : rc;
	st.quiet = a.quiet;
	if (a.cfg.search.objective == K2_OBJ_LATENCY &&
	    k2_latency_load(a.cfg.search.latency_table, &lat, &e)) {
		fprintf(stderr, "k2 opt: %s\n", e.msg);
		return 1;
	}
	if (k2_object_open(a.in, &obj, &e)) {
		fprintf(stderr, "k2 opt: %s\n", e.msg);
		k2_latency_free(lat);
		return 1;
	}
	if (a.sec && !k2_object_prog(obj, a.sec)) {
		fprintf(stderr, "k2 opt: %s: no program '%s'\n", a.in, a.sec);
		rc = 1;
	}
	for (uint32_t i = 0; !rc && i < obj->n_progs; i++)
		total += obj->progs[i].n_main;
	for (uint32_t i = 0; !rc && !err && i < obj->n_progs; i++) {
		struct k2_prog *p = &obj->progs[i];

		if (a.sec && p != k2_object_prog(obj, a.sec))
			continue;
		/* The budget is the object's: programs share it by size. */
		err = optimise(obj, p, &a, lat,
			       a.sec ? a.cfg.search.budget
				     : a.cfg.search.budget * p->n_main / (total ? total : 1),
			       &st);
	}
	if (!rc && !err && k2_object_write(obj, a.out, &e)) {
		fprintf(stderr, "k2 opt: %s\n", e.msg);
		err = -1;
	}
	if (!rc && !err && !a.quiet)
		printf("wrote %s\n", a.out);
	k2_object_free(obj);
	k2_latency_free(lat);
	return rc ? rc : err ? 1 : 0;
}
