/* kernel_bench/kern_cmd.c: `k2 fuzz-semantics`: the differential fuzzer from the command line. */
#include "kernel_bench/kern_int.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
	"usage: k2 fuzz-semantics [-n N] [--seed S] [--first I] [--inputs K] [--type T]\n"
	"                         [--isa V] [--len L] [--report FILE] [--max-reports M]\n"
	"                         [--every P] [--ignore KINDS] [--mix CLASS=W,...]\n"
	"                         [--no-helper ID,...] [--quiet]\n"
	"       k2 fuzz-semantics --object FILE.o [--object FILE.o]... [--section S]\n"
	"                         [--inputs K] [--seed S] [--report FILE] [--ignore KINDS]\n"
	"\n"
	"Generates N random programs the kernel verifier accepts (bpf/k2_gen.h), runs each on\n"
	"K random inputs in the kernel (BPF_PROG_TEST_RUN) and in the interpreter, and\n"
	"compares r0, the output packet, ctx_out and the maps. Program I depends only on\n"
	"(S, I): '--seed S --first I -n 1' reruns it. With --object, the programs of compiled\n"
	"objects instead (maps created and relocated from the ELF), each on K random inputs\n"
	"(default 1000). Exits 1 on any mismatch, or rejection other than the verifier's\n"
	"internal errors (\"verifier bug: ...\": counted and reported, they are the kernel's).\n"
	"\n"
	"  -n N            programs (default 1000)\n"
	"  --seed S        seed (default 1)\n"
	"  --first I       index of the first program (default 0)\n"
	"  --inputs K      inputs per program (default 4)\n"
	"  --type T        xdp, tc or socket (default: all three in turn)\n"
	"  --isa V         1..4 (default: all in turn)\n"
	"  --len L         instructions per program (default: 8..200)\n"
	"  --report FILE   append a markdown entry (program, input, outputs) per mismatch\n"
	"  --max-reports M at most M entries (default 10)\n"
	"  --every P       a progress line every P programs (default 1000)\n"
	"  --ignore KINDS  comma list of status,r0,packet,ctx,maps not to count\n"
	"  --mix C=W,...   generator weights of classes alu64 alu32 mov end branch exit stack\n"
	"                  pkt ctx map atomic call loop func (unnamed ones keep their default)\n"
	"  --no-helper IDS comma list of helper ids (< 128) the programs must not call\n"
	"  --quiet         only the summary line\n";

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	*v = strtoull(s, &end, 0);
	return *s && !*end ? 0 : -1;
}

static int parse_type(const char *s, uint32_t *t)
{
	if (!strcmp(s, "xdp"))
		*t = BPF_PROG_TYPE_XDP;
	else if (!strcmp(s, "tc") || !strcmp(s, "sched_cls"))
		*t = BPF_PROG_TYPE_SCHED_CLS;
	else if (!strcmp(s, "socket") || !strcmp(s, "socket_filter"))
		*t = BPF_PROG_TYPE_SOCKET_FILTER;
	else
		return -1;
	return 0;
}

static int parse_kinds(const char *s, uint32_t *mask)
{
	static const char *const names[K2_DIFF__KINDS] = { "status", "r0", "packet", "ctx",
							   "maps" };

	*mask = 0;
	while (*s) {
		size_t n = strcspn(s, ",");
		int b;

		for (b = 0; b < K2_DIFF__KINDS; b++)
			if (strlen(names[b]) == n && !strncmp(s, names[b], n))
				break;
		if (b == K2_DIFF__KINDS)
			return -1;
		*mask |= 1u << b;
		s += n + (s[n] == ',');
	}
	return 0;
}

static int parse_helpers(const char *s, uint64_t *bits)
{
	while (*s) {
		char *end;
		unsigned long id = strtoul(s, &end, 0);

		if (end == s || id >= 128 || (*end && *end != ','))
			return -1;
		bits[id / 64] |= 1ull << (id % 64);
		s = end + (*end == ',');
	}
	return 0;
}

/* "call=0,loop=5": named classes get weights, the others their defaults. */
static int parse_mix(const char *s, uint32_t *mix)
{
	static const char *const names[K2_GEN__COUNT] = {
		"alu64", "alu32", "mov", "end", "branch", "exit", "stack",
		"pkt", "ctx", "map", "atomic", "call", "loop", "func",
	};
	struct k2_gen_opts def = { .sz = sizeof(def) };

	k2_gen_default_mix(def.mix);
	memcpy(mix, def.mix, sizeof(def.mix));
	while (*s) {
		size_t n = strcspn(s, "=");
		char *end;
		int c;

		for (c = 0; c < K2_GEN__COUNT; c++)
			if (strlen(names[c]) == n && !strncmp(s, names[c], n))
				break;
		if (c == K2_GEN__COUNT || s[n] != '=')
			return -1;
		mix[c] = (uint32_t)strtoul(s + n + 1, &end, 10);
		if (end == s + n + 1 || (*end && *end != ','))
			return -1;
		s = end + (*end == ',');
	}
	return 0;
}

static int bad(const char *what, const char *arg)
{
	fprintf(stderr, "k2 fuzz-semantics: bad %s '%s'\n%s", what, arg, usage_text);
	return 2;
}

#define MAX_OBJS 64

static int objects(const char *const *objs, uint32_t n, const char *sec,
		   const struct k2_fuzz_opts *fo)
{
	struct k2_objdiff_opts o = { .sz = sizeof(o), .seed = fo->seed, .n_inputs = fo->n_inputs,
				     .sec = sec, .ignore = fo->ignore, .progress = fo->progress,
				     .report = fo->report, .max_reports = fo->max_reports };
	struct k2_objdiff_stats st = { 0 };
	struct k2_err e = { 0 };

	for (uint32_t i = 0; i < n; i++) {
		if (k2_diff_object(objs[i], &o, &st, &e)) {
			fprintf(stderr, "k2 fuzz-semantics: %s\n", e.msg);
			return 1;
		}
	}
	k2_objdiff_stats_print(stdout, &st);
	return st.mismatches || st.rejected ? 1 : 0;
}

int k2_cmd_fuzz_semantics(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "first", required_argument, NULL, 'f' },
		{ "inputs", required_argument, NULL, 'k' },
		{ "type", required_argument, NULL, 't' },
		{ "isa", required_argument, NULL, 'i' },
		{ "len", required_argument, NULL, 'l' },
		{ "report", required_argument, NULL, 'r' },
		{ "max-reports", required_argument, NULL, 'm' },
		{ "every", required_argument, NULL, 'e' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "ignore", required_argument, NULL, 'g' },
		{ "mix", required_argument, NULL, 'x' },
		{ "no-helper", required_argument, NULL, 'H' },
		{ "object", required_argument, NULL, 'o' },
		{ "section", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct k2_fuzz_opts o = { .sz = sizeof(o), .seed = 1, .progress = stdout };
	struct k2_fuzz_stats st;
	struct k2_err e = { 0 };
	const char *report = NULL, *objs[MAX_OBJS], *sec = NULL;
	uint32_t n_objs = 0;
	uint64_t v = 0;
	int c, err;

	optind = 1;
	while ((c = getopt_long(argc, argv, "n:h", lo, NULL)) != -1) {
		if (c != 'h' && c != 'q' && c != 'r' && c != 't' && c != 'g' && c != 'x' &&
		    c != 'H' && c != 'o' && c != 'S' && parse_u64(optarg, &v))
			return bad("number", optarg);
		switch (c) {
		case 'n': o.n_progs = v; break;
		case 's': o.seed = v; break;
		case 'f': o.first = v; break;
		case 'k': o.n_inputs = (uint32_t)v; break;
		case 'i':
			if (v < 1 || v > 4)
				return bad("ISA version", optarg);
			o.isa = (enum k2_isa)v;
			break;
		case 'l': o.n_insns = (uint32_t)v; break;
		case 'm': o.max_reports = (uint32_t)v; break;
		case 'e': o.progress_every = v; break;
		case 'q': o.progress = NULL; break;
		case 'r': report = optarg; break;
		case 'o':
			if (n_objs < MAX_OBJS)
				objs[n_objs++] = optarg;
			break;
		case 'S': sec = optarg; break;
		case 'H':
			if (parse_helpers(optarg, o.no_helpers))
				return bad("helper list", optarg);
			break;
		case 'x':
			if (parse_mix(optarg, o.mix))
				return bad("class weights", optarg);
			break;
		case 'g':
			if (parse_kinds(optarg, &o.ignore))
				return bad("kind list", optarg);
			break;
		case 't':
			if (parse_type(optarg, &o.prog_type))
				return bad("program type", optarg);
			break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: fputs(usage_text, stderr); return 2;
		}
	}
	if (optind < argc)
		return bad("argument", argv[optind]);
	if (report) {
		o.report = fopen(report, "a");
		if (!o.report) {
			fprintf(stderr, "k2 fuzz-semantics: %s: %s\n", report, strerror(errno));
			return 1;
		}
	}
	if (n_objs) {
		err = objects(objs, n_objs, sec, &o);
		if (o.report)
			fclose(o.report);
		return err;
	}
	err = k2_fuzz_semantics(&o, &st, &e);
	if (o.report)
		fclose(o.report);
	k2_fuzz_stats_print(stdout, &st);
	if (err) {
		fprintf(stderr, "k2 fuzz-semantics: %s\n", e.msg);
		return 1;
	}
	/* The verifier's internal errors are the kernel's bugs, reported but not ours to fail. */
	return st.mismatches || st.rejected > st.verifier_bugs ? 1 : 0;
}
