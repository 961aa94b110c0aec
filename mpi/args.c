/* mpi/args.c: k2-cluster's command line. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "mpi/cluster_int.h"

const char k2_cluster_usage[] =
	"usage: mpirun [--enable-recovery] -np N k2-cluster PROG.o -o OUT.o [-s SECTION]\n"
	"         [--budget SEC | --iters N] [--seed S] [--windows S:E,...]\n"
	"         [--checkpoint FILE] [--resume FILE] [--report FILE.json]\n"
	"         [--trace FILE.h5 | --no-trace] [--no-bench] [--log FILE] [--quiet]\n"
	"         [--config FILE.ini]... [--set SECTION.KEY=VALUE]... [--print-config]\n"
	"\n"
	"Optimises the main function of one program of PROG.o (section SECTION, default the\n"
	"first) with every rank of the job: rank 0 splits it into windows whose rewrites\n"
	"compose, workers search them with parallel-tempered chains sharing counterexamples,\n"
	"the last rank (np >= 3) checks and times candidates in the kernel. Only rewrites z3\n"
	"proved equivalent and the verifier accepted reach OUT.o. Also runs without mpirun\n"
	"(one process does everything).\n"
	"\n"
	"  --budget SEC      seconds of search (default [search] budget)\n"
	"  --iters N         N proposals per unit of window difficulty instead of time: the\n"
	"                    run is reproducible for a given --seed and rank count\n"
	"  --seed S          random seed ([search] seed)\n"
	"  --windows S:E,..  these windows of the main function instead of automatic ones\n"
	"  --checkpoint F    write the search state to F every [cluster] checkpoint_seconds,\n"
	"                    on SIGINT/SIGTERM/SIGUSR1 and at the end\n"
	"  --resume F        continue from checkpoint F (same program; the budget left is\n"
	"                    --budget minus the time already spent)\n"
	"  --report F        the result as JSON\n"
	"  --trace F         HDF5 trace (/search and /bench); default results/PROG-TIME.h5\n"
	"  --no-bench        no bench rank; rank 0 checks candidates in the kernel itself\n"
	"  --log F           event log of every rank (F.rankN): counterexamples found and\n"
	"                    imported, proofs, assignments, drops\n"
	"  --quiet           no status lines and no closing table\n"
	"  --print-config    print the configuration in force and exit\n"
	"  --compose-check N at the end, N random combinations of the windows' proven\n"
	"                    rewrites (each window: none or one of its top-K) are composed\n"
	"                    and z3 is asked whether each is equivalent as a whole program\n"
	"\n"
	"A worker that dies is dropped and its window given to others; with Open MPI this\n"
	"needs `mpirun --enable-recovery` (by default mpirun ends the whole job). SIGUSR1 to\n"
	"mpirun (or SIGTERM/SIGINT to rank 0) stops the search early: rank 0 writes the\n"
	"checkpoint and the best proven result so far.\n";

static int fail(bool say, const char *what, const char *arg)
{
	if (say)
		fprintf(stderr, "k2-cluster: %s%s%s\n%s", what, arg ? " " : "", arg ? arg : "",
			k2_cluster_usage);
	return 2;
}

static int config_files(int argc, char **argv, struct k2_cluster_args *a, bool say)
{
	struct k2_err e = { 0 };

	k2_config_defaults(&a->cfg);
	/* Files first, so that --set and the options win wherever they stand. */
	for (int i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], "--config") && k2_config_load(&a->cfg, argv[i + 1], &e)) {
			if (say)
				fprintf(stderr, "k2-cluster: %s\n", e.msg);
			return 2;
		}
	return 0;
}

static int number(const char *s, double lo, double hi, double *v)
{
	char *end;

	*v = strtod(s, &end);
	return *s && !*end && *v >= lo && *v <= hi ? 0 : -1;
}

int k2_cluster_parse(int argc, char **argv, struct k2_cluster_args *a, bool say)
{
	static const struct option lo[] = {
		{ "output", required_argument, 0, 'o' },    { "section", required_argument, 0, 's' },
		{ "budget", required_argument, 0, 'b' },    { "iters", required_argument, 0, 'i' },
		{ "seed", required_argument, 0, 'S' },      { "windows", required_argument, 0, 'w' },
		{ "checkpoint", required_argument, 0, 'k' }, { "resume", required_argument, 0, 'r' },
		{ "report", required_argument, 0, 'R' },    { "trace", required_argument, 0, 't' },
		{ "no-trace", no_argument, 0, 'T' },        { "no-bench", no_argument, 0, 'B' },
		{ "log", required_argument, 0, 'l' },       { "quiet", no_argument, 0, 'q' },
		{ "no-status", no_argument, 0, 'N' },       { "config", required_argument, 0, 'C' },
		{ "set", required_argument, 0, 'x' },       { "print-config", no_argument, 0, 'P' },
		{ "compose-check", required_argument, 0, 'K' }, { "help", no_argument, 0, 'h' },
		{ 0 },
	};
	struct k2_err e = { 0 };
	double v;
	int c;

	memset(a, 0, sizeof(*a));
	a->budget = -1;
	if (config_files(argc, argv, a, say))
		return 2;
	optind = 1;
	opterr = say;
	while ((c = getopt_long(argc, argv, "o:s:qh", lo, NULL)) != -1) {
		switch (c) {
		case 'o': a->output = optarg; break;
		case 's': a->section = optarg; break;
		case 'w': a->windows = optarg; break;
		case 'k': a->checkpoint = optarg; break;
		case 'r': a->resume = optarg; break;
		case 'R': a->report = optarg; break;
		case 't': a->trace = optarg; break;
		case 'T': a->no_trace = true; break;
		case 'B': a->no_bench = true; break;
		case 'l': a->log = optarg; break;
		case 'q': a->quiet = true; break;
		case 'N': a->no_status = true; break;
		case 'P': a->print_config = true; break;
		case 'C': break;
		case 'K':
			if (number(optarg, 0, 1e6, &v))
				return fail(say, "bad --compose-check", optarg);
			a->compose_check = (uint32_t)v;
			break;
		case 'b':
			if (number(optarg, 0, 1e9, &a->budget))
				return fail(say, "bad --budget", optarg);
			a->budget_set = true;
			break;
		case 'i':
			if (number(optarg, 1, 1e15, &v))
				return fail(say, "bad --iters", optarg);
			a->iters = (uint64_t)v;
			break;
		case 'S':
			if (k2_config_set(&a->cfg, "search.seed", optarg, &e))
				return fail(say, e.msg, NULL);
			break;
		case 'x':
			if (k2_config_set_arg(&a->cfg, optarg, &e))
				return fail(say, e.msg, NULL);
			break;
		case 'h':
			if (say)
				fputs(k2_cluster_usage, stdout);
			return 1;
		default:
			return fail(say, "bad option", NULL);
		}
	}
	if (a->print_config)
		return 0;
	if (optind + 1 != argc || !a->output)
		return fail(say, "expected one input object and -o OUT.o", NULL);
	a->input = argv[optind];
	if (a->budget < 0)
		a->budget = a->cfg.search.budget;
	return 0;
}
