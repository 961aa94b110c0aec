/* kernel_bench/bench_cmd.c: `k2 bench`: verify, time and trace an original and its candidates. */
#include "kernel_bench/bench_int.h"
#include "search/k2_config.h"

#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char usage_text[] =
	"usage: k2 bench ORIG.o [CAND.o ...] [-s SECTION] [--trace FILE.h5 | --no-trace]\n"
	"                [--bench-core N | --no-pin] [--xdp-live SECONDS] [--ifname DEV]\n"
	"                [--rounds N] [--repeat N] [--packets N] [--pcap FILE] [--seed S]\n"
	"                [--config FILE.ini] [--set SECTION.KEY=VALUE] [--quiet]\n"
	"\n"
	"Loads the program of ORIG.o (section SECTION, default the first) and the same program\n"
	"of each CAND.o through the kernel verifier, times them with BPF_PROG_TEST_RUN on the\n"
	"same packets, original and candidates interleaved round by round, measures XDP\n"
	"programs on a veth pair with live frames, prints a table and writes an HDF5 trace\n"
	"(default results/ORIG-TIME.h5). Candidates must use the original's maps.\n"
	"Defaults come from configs/cluster.ini [bench] (built in; --config reads a file).\n"
	"\n"
	"  -s SECTION        program by section or function name\n"
	"  --trace FILE      trace path; --no-trace: none\n"
	"  --bench-core N    core to run on (default: the last); --no-pin: leave affinity\n"
	"  --xdp-live S      seconds of live XDP traffic per program (0: none; default 1)\n"
	"  --ifname DEV      attach to this NIC and count what arrives instead of the veth pair\n"
	"  --rounds N        interleaved rounds (default 10)\n"
	"  --repeat N        test_run repeat count (default: calibrated to ~2 ms per sample)\n"
	"  --packets N       generated packets (default 16: IPv4/IPv6 TCP/UDP, 64..1500 bytes;\n"
	"                    with --pcap: 0 unless given)\n"
	"  --pcap FILE       measure these packets (Ethernet pcap, e.g. from `k2 pktgen`) first\n"
	"  --seed S          packet generator seed (default: [search] seed)\n";

/*
 * The one static the signal handler needs: the command's cleanup registry, set while the
 * command runs. A handler cannot be given arguments, so this is where it finds what to undo.
 */
static struct k2_cleanup *bench_cleanup_on_signal;

static void on_signal(int sig)
{
	k2_cleanup_run(bench_cleanup_on_signal);
	signal(sig, SIG_DFL);
	raise(sig);
}

void k2_bench_signals(struct k2_cleanup *c)
{
	struct sigaction sa;

	bench_cleanup_on_signal = c;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = c ? on_signal : SIG_DFL;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

struct bench_args {
	const char *orig, *sec, *trace, *pcap;
	bool packets_set;
	const char **cands;
	uint32_t n_cands;
	bool no_trace, quiet, no_pin;
	struct k2_config cfg;
};

/* A candidate object's program must use the original's maps, in the same order. */
static int same_maps(const struct k2_prog *a, const struct k2_prog *b, const char *path,
		     struct k2_err *e)
{
	if (a->n_maps != b->n_maps)
		return k2_err_set(e, -EINVAL, "%s: %s uses %u maps, the original %u", path, b->name,
				  b->n_maps, a->n_maps);
	for (uint32_t i = 0; i < a->n_maps; i++) {
		const struct k2_map *x = &a->maps[i], *y = &b->maps[i];

		if (x->type != y->type || x->key_size != y->key_size ||
		    x->value_size != y->value_size || x->max_entries != y->max_entries ||
		    strcmp(x->name, y->name))
			return k2_err_set(e, -EINVAL,
					  "%s: map %u is %s (%s), the original's %s (%s)", path, i,
					  y->name, k2_map_type_name(y->type), x->name,
					  k2_map_type_name(x->type));
	}
	if (a->type != b->type)
		return k2_err_set(e, -EINVAL, "%s: %s is %s, the original %s", path, b->name,
				  k2_prog_type_name(b->type), k2_prog_type_name(a->type));
	return 0;
}

static struct k2_prog *pick(struct k2_object *obj, const char *sel, const char *path,
			    struct k2_err *e)
{
	struct k2_prog *p = k2_object_prog(obj, sel);

	if (!p)
		k2_err_set(e, -ENOENT, "%s: no program %s", path, sel ? sel : "(empty object)");
	return p;
}

static int add_candidates(struct k2_bench *b, const struct bench_args *a,
			  const struct k2_prog *orig, struct k2_err *e)
{
	for (uint32_t i = 0; i < a->n_cands; i++) {
		struct k2_object *obj;
		struct k2_prog *p;
		int err = k2_object_open(a->cands[i], &obj, e);

		if (err)
			return err;
		p = pick(obj, a->sec ? a->sec : orig->sec, a->cands[i], e);
		err = p ? same_maps(orig, p, a->cands[i], e) : -ENOENT;
		if (!err) {
			struct k2_bench_cand c = { .insns = p->insns, .n_insns = p->n_insns,
						   .source = a->cands[i] };

			err = k2_bench_add(b, &c, NULL, e);
		}
		k2_object_free(obj);
		if (err)
			return err;
	}
	return 0;
}

static int write_trace(struct k2_bench *b, const struct bench_args *a, const struct k2_prog *p,
		       struct k2_cleanup *c, struct k2_err *e)
{
	char path[4096], summary[512];
	const struct k2_topo *t = k2_bench_topo(b);
	char *xml = k2_topo_xml(t);
	struct k2_h5_meta m = { .program = a->orig, .section = p->sec, .topology = summary,
				.topology_xml = xml, .cpu_model = k2_topo_cpu_model(t),
				.seed = a->cfg.search.seed };
	struct k2_h5 *h;
	int err;

	k2_topo_summary(t, summary, sizeof(summary));
	if (a->trace) {
		snprintf(path, sizeof(path), "%s", a->trace);
	} else {
		k2_trace_default_path(a->orig, path, sizeof(path));
		mkdir("results", 0755);
	}
	err = k2_h5_create(path, &m, c, &h, e);
	free(xml);
	if (err)
		return err;
	err = k2_bench_trace(b, h, e);
	if (err) {
		k2_h5_abort(h);
		return err;
	}
	err = k2_h5_close(h, e);
	if (!err && !a->quiet)
		printf("trace: %s\n", path);
	return err;
}

static int run(struct bench_args *a, struct k2_cleanup *c, struct k2_err *e)
{
	const struct k2_bench_cfg *bc = &a->cfg.bench;
	struct k2_object *obj = NULL;
	struct k2_bench *b = NULL;
	struct k2_input *inputs = NULL;
	uint32_t n_inputs = 0;
	struct k2_prog *p;
	int err = k2_object_open(a->orig, &obj, e);

	if (err)
		return err;
	p = pick(obj, a->sec, a->orig, e);
	if (!p) {
		k2_object_free(obj);
		return -ENOENT;
	}
	if (a->pcap) {
		err = k2_bench_pcap(a->pcap, p->type, 0, &inputs, &n_inputs, e);
		if (err) {
			k2_object_free(obj);
			return err;
		}
	}
	K2_BENCH_OPTS(o, .pin = a->no_pin ? K2_PIN_NONE : bc->core < 0 ? K2_PIN_LAST : K2_PIN_CORE,
		      .core = bc->core, .rounds = bc->rounds, .repeat = bc->repeat,
		      .packets = a->pcap && !a->packets_set ? 0 : bc->packets, .inputs = inputs,
		      .n_inputs = n_inputs, .seed = a->cfg.search.seed,
		      .live_seconds = bc->xdp_live ? bc->live_seconds : 0,
		      .ifname = bc->ifname[0] ? bc->ifname : NULL, .cleanup = c,
		      .progress = a->quiet ? NULL : stderr, .source = a->orig);
	err = k2_bench_new(p, &o, &b, e);
	if (!err && k2_bench_off(b))
		fprintf(stderr, "k2 bench: kernel: not checked (%s)\n", k2_bench_off(b));
	if (!err)
		err = add_candidates(b, a, p, e);
	if (!err)
		err = k2_bench_measure(b, e);
	if (!err)
		err = k2_bench_live(b, e);
	if (!err && !a->quiet)
		k2_bench_print(b, stdout);
	if (!err && !a->no_trace)
		err = write_trace(b, a, p, c, e);
	k2_bench_free(b);
	k2_object_free(obj);
	free(inputs);
	return err;
}

static int bad(const char *what, const char *arg)
{
	fprintf(stderr, "k2 bench: bad %s '%s'\n%s", what, arg, usage_text);
	return 2;
}

static int parse(int argc, char **argv, struct bench_args *a)
{
	static const struct option lo[] = {
		{ "trace", required_argument, NULL, 't' },
		{ "no-trace", no_argument, NULL, 'T' },
		{ "bench-core", required_argument, NULL, 'c' },
		{ "no-pin", no_argument, NULL, 'P' },
		{ "xdp-live", required_argument, NULL, 'x' },
		{ "ifname", required_argument, NULL, 'i' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "repeat", required_argument, NULL, 'R' },
		{ "packets", required_argument, NULL, 'p' },
		{ "seed", required_argument, NULL, 'S' },
		{ "pcap", required_argument, NULL, 'a' },
		{ "config", required_argument, NULL, 'C' },
		{ "set", required_argument, NULL, 'E' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct k2_bench_cfg *bc = &a->cfg.bench;
	struct k2_err e = { 0 };
	char *end;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "s:qh", lo, NULL)) != -1) {
		switch (c) {
		case 's': a->sec = optarg; break;
		case 't': a->trace = optarg; break;
		case 'T': a->no_trace = true; break;
		case 'q': a->quiet = true; break;
		case 'P': a->no_pin = true; break;
		case 'i': snprintf(bc->ifname, sizeof(bc->ifname), "%s", optarg); break;
		case 'a': a->pcap = optarg; break;
		case 'c':
			bc->core = (int32_t)strtol(optarg, &end, 10);
			if (*end || bc->core < -1)
				return bad("core", optarg);
			break;
		case 'x':
			bc->live_seconds = strtod(optarg, &end);
			if (*end || !(bc->live_seconds >= 0) || bc->live_seconds > 3600)
				return bad("seconds", optarg);
			bc->xdp_live = bc->live_seconds > 0;
			break;
		case 'r': case 'R': case 'p': case 'S': {
			unsigned long long v = strtoull(optarg, &end, 0);

			if (*end || !*optarg || (c != 'R' && c != 'S' && c != 'p' && !v) ||
			    v > UINT32_MAX)
				return bad("number", optarg);
			if (c == 'r')
				bc->rounds = (uint32_t)v;
			else if (c == 'R')
				bc->repeat = (uint32_t)v;
			else if (c == 'p')
				bc->packets = (uint32_t)v, a->packets_set = true;
			else
				a->cfg.search.seed = v;
			break;
		}
		case 'C':
			if (k2_config_load(&a->cfg, optarg, &e)) {
				fprintf(stderr, "k2 bench: %s\n", e.msg);
				return 2;
			}
			break;
		case 'E':
			if (k2_config_set_arg(&a->cfg, optarg, &e)) {
				fprintf(stderr, "k2 bench: %s\n", e.msg);
				return 2;
			}
			break;
		case 'h': fputs(usage_text, stdout); return 1;
		default: fputs(usage_text, stderr); return 2;
		}
	}
	if (optind >= argc)
		return bad("arguments", "(no ORIG.o)");
	a->orig = argv[optind];
	a->cands = (const char **)argv + optind + 1;
	a->n_cands = (uint32_t)(argc - optind - 1);
	return 0;
}

int k2_cmd_bench(int argc, char **argv)
{
	struct bench_args a = { 0 };
	struct k2_cleanup *c = malloc(sizeof(*c));
	struct k2_err e = { 0 };
	int err;

	if (!c) {
		fprintf(stderr, "k2 bench: out of memory\n");
		return 1;
	}
	k2_config_defaults(&a.cfg);
	err = parse(argc, argv, &a);
	if (err) {
		free(c);
		return err == 1 ? 0 : err;
	}
	if (!a.cfg.bench.enabled) {
		printf("k2 bench: [bench] enabled = false: nothing to do\n");
		free(c);
		return 0;
	}
	k2_cleanup_init(c);
	k2_bench_signals(c);
	err = run(&a, c, &e);
	k2_bench_signals(NULL);
	k2_cleanup_run(c);
	free(c);
	if (err) {
		fprintf(stderr, "k2 bench: %s\n", e.msg);
		return 1;
	}
	return 0;
}
