/* kernel_bench/opcodes_cmd.c: `k2 bench-opcodes`: measure per-opcode costs, write latency.ini. */
#include "kernel_bench/opcodes_int.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
	"usage: k2 bench-opcodes [-o FILE] [--bench-core N] [--rounds N] [--short N] [--long N]\n"
	"                        [--only PREFIX] [--quiet]\n"
	"\n"
	"Measures the marginal cost of each eBPF operation on this kernel's JIT (long minus short\n"
	"straight-line programs of the op, BPF_PROG_TEST_RUN) and writes the table the search's\n"
	"latency objective reads (default configs/latency.ini, through a temporary file).\n"
	"\n"
	"  -o FILE          output (default configs/latency.ini; '-' for stdout only)\n"
	"  --bench-core N   core to run on (default: the last)\n"
	"  --rounds N       samples per op (default 7)\n"
	"  --short N, --long N   copies of the op in the two programs (default 100, 2100)\n"
	"  --only PREFIX    only rows whose name starts with PREFIX (e.g. add64, helper.)\n"
	"  --quiet          no per-op lines\n";

static int bad(const char *what, const char *arg)
{
	fprintf(stderr, "k2 bench-opcodes: bad %s '%s'\n%s", what, arg, usage_text);
	return 2;
}

int k2_cmd_bench_opcodes(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "bench-core", required_argument, NULL, 'c' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "short", required_argument, NULL, 'S' },
		{ "long", required_argument, NULL, 'L' },
		{ "only", required_argument, NULL, 'O' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct k2_opcodes_opts o = { .sz = sizeof(o), .progress = stdout };
	const char *out = "configs/latency.ini";
	struct k2_opcost *cost = NULL;
	struct k2_topo *topo = NULL;
	struct k2_err e = { 0 };
	char summary[512] = "";
	int c, core = -1, err;
	uint32_t n = 0;
	char *end;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:qh", lo, NULL)) != -1) {
		unsigned long v = 0;

		if (c == 'c' || c == 'r' || c == 'S' || c == 'L') {
			v = strtoul(optarg, &end, 10);
			if (*end || !*optarg || (c != 'c' && !v) || v > 1000000)
				return bad("number", optarg);
		}
		switch (c) {
		case 'o': out = optarg; break;
		case 'c': core = (int)v; break;
		case 'r': o.rounds = (uint32_t)v; break;
		case 'S': o.short_len = (uint32_t)v; break;
		case 'L': o.long_len = (uint32_t)v; break;
		case 'O': o.only = optarg; break;
		case 'q': o.progress = NULL; break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: fputs(usage_text, stderr); return 2;
		}
	}
	err = k2_topo_load(&topo, &e);
	if (!err)
		err = k2_pin_bench(topo, core, NULL, &e);
	if (!err) {
		k2_topo_summary(topo, summary, sizeof(summary));
		err = k2_opcodes_measure(&o, &cost, &n, &e);
	}
	if (!err && strcmp(out, "-"))
		err = k2_opcodes_write(out, cost, n, summary, &e);
	if (!err)
		printf("%u rows%s%s\n", n, strcmp(out, "-") ? " written to " : "",
		       strcmp(out, "-") ? out : "");
	free(cost);
	k2_topo_free(topo);
	if (err) {
		fprintf(stderr, "k2 bench-opcodes: %s\n", e.msg);
		return 1;
	}
	return 0;
}
