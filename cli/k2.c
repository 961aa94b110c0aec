/* cli/k2.c: the single-process tool `k2`: one subcommand per module face. */
#include <stdio.h>
#include <string.h>

#include "bpf/k2bpf.h"
#include "kernel_bench/k2_bench.h"
#include "kernel_bench/k2_kern.h"
/* kernel_bench/k2_bench.h has its own enum k2_verdict: smt's is renamed in this file only */
#define k2_verdict k2_smt_verdict
#include "smt/k2smt.h"
#undef k2_verdict

struct k2_command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
};

static const struct k2_command commands[] = {
	{ "fuzz-semantics", k2_cmd_fuzz_semantics,
	  "random programs through the kernel and the interpreter, compared" },
	{ "analyze", k2_cmd_analyze, "types, liveness and search windows of an object's programs" },
	{ "disasm", k2_cmd_disasm, "print the programs and maps of a BPF object as text" },
	{ "asm", k2_cmd_asm, "assemble text programs into a BPF object" },
	{ "safety", k2_cmd_safety, "prove a program (or --window S:E) safe with z3, or show an input" },
	{ "run", k2_cmd_run, "run a program on one packet in the interpreter" },
	{ "pktgen", k2_cmd_pktgen, "write generated test packets to a pcap file" },
	{ "bench", k2_cmd_bench, "verify, time (interleaved) and trace a program and candidates" },
	{ "bench-opcodes", k2_cmd_bench_opcodes, "measure the per-opcode cost table (latency.ini)" },
	{ "fuzz-smt", k2_cmd_fuzz_smt, "random programs and mutants: z3 against the interpreter" },
	{ "equiv", k2_cmd_equiv, "prove two programs (or a window) equivalent with z3, or refute" },
	{ NULL, NULL, NULL },
};

static int usage(FILE *f)
{
	fprintf(f, "usage: k2 COMMAND [ARGS...]\n\ncommands:\n");
	for (const struct k2_command *c = commands; c->name; c++)
		fprintf(f, "  %-14s %s\n", c->name, c->help);
	fprintf(f, "\n'k2 COMMAND --help' describes one command.\n");
	return f == stdout ? 0 : 2;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage(stderr);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help"))
		return usage(stdout);
	for (const struct k2_command *c = commands; c->name; c++)
		if (!strcmp(argv[1], c->name))
			return c->run(argc - 1, argv + 1);
	fprintf(stderr, "k2: unknown command '%s'\n", argv[1]);
	return usage(stderr);
}
