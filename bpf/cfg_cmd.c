/* bpf/cfg_cmd.c: `k2 analyze`: types, liveness and windows of an object's programs, as text. */
#include "bpf/k2_cfg.h"
#include "bpf/k2_text.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct analyze_args {
	const char *sel;
	const char *windows;
	struct k2_win_opts wopts;
	int verbose;
};

static const char *const mem_names[K2_MEM__COUNT] = {
	"-", "unknown", "stack", "pkt", "pkt_meta", "ctx", "map_value", "ringbuf", "kernel",
};

static void print_access(FILE *f, const struct k2_access *a)
{
	if (a->region == K2_MEM_NONE)
		return;
	fprintf(f, "  ; %s%s %s", a->flags & K2_ACC_WRITE ? "w" : "",
		a->flags & K2_ACC_READ ? "r" : "", mem_names[a->region]);
	if (a->region == K2_MEM_MAP_VALUE && a->map >= 0)
		fprintf(f, "[map %d]", a->map);
	else if (a->region == K2_MEM_MAP_VALUE)
		fprintf(f, "[maps 0x%llx]", (unsigned long long)a->maps);
	if (a->flags & K2_ACC_CONST)
		fprintf(f, "%+lld", (long long)a->off);
	else if (a->region != K2_MEM_UNKNOWN)
		fprintf(f, "%+lld..%+lld", (long long)a->off_min, (long long)a->off_max);
	if (a->ctx_field)
		fprintf(f, " (%s)", a->ctx_field);
	if (!(a->flags & K2_ACC_SAFE))
		fprintf(f, " UNSAFE: %s", a->why ? a->why : "?");
}

static void print_state(FILE *f, const struct k2_analysis *an, uint32_t i)
{
	struct k2_astate st;
	char buf[200];

	if (k2_absint_state_at(an->ai, i, &st) || !st.reachable)
		return;
	fprintf(f, "        ");
	if (st.pkt_min)
		fprintf(f, " [data+%u <= data_end]", st.pkt_min);
	for (int r = 0; r < K2_NREGS; r++)
		if (st.regs[r].type != K2_VT_NOT_INIT) {
			k2_aval_str(&st.regs[r], buf, sizeof(buf));
			fprintf(f, " r%d=%s", r, buf);
		}
	for (int s = 0; s < K2_STACK_SLOTS; s++)
		if (st.stack[s].bytes[0] == K2_SB_SPILL && st.stack[s].spill.type != K2_VT_SCALAR) {
			k2_aval_str(&st.stack[s].spill, buf, sizeof(buf));
			fprintf(f, " fp%d=%s", s * 8 - K2_STACK_BYTES, buf);
		}
	fputc('\n', f);
}

static void print_listing(FILE *f, const struct k2_analysis *an, int verbose)
{
	const struct k2_cfg *cfg = an->cfg;
	char text[128];

	for (uint32_t i = 0; i < cfg->n_insns; i++) {
		const struct bpf_insn *in = &cfg->insns[i];
		bool wide = k2_op_info(k2_insn_op(in))->kind == K2_KIND_LDDW;

		if (verbose > 1)
			print_state(f, an, i);
		k2_disasm_insn(in, text, sizeof(text));
		fprintf(f, "%5u: %-36s live=0x%03x%s", i, text, k2_live_regs_in(an->live, i),
			k2_absint_reached(an->ai, i) ? "" : " (dead)");
		print_access(f, k2_absint_access(an->ai, i));
		fputc('\n', f);
		i += wide;
	}
}

static void print_windows(FILE *f, const struct k2_win *w, uint32_t n)
{
	for (uint32_t k = 0; k < n; k++)
		fprintf(f,
			"  window %u:%u  insns %u  live_in 0x%03x  live_out 0x%03x  writes-live %u "
			"stack-live-out %u  difficulty %.1f\n",
			w[k].start, w[k].end, w[k].n_insns, w[k].live_in, w[k].live_out,
			w[k].n_live_out, w[k].n_stack_out, w[k].difficulty);
}

static int analyze_prog(const char *path, const struct k2_prog *prog,
			const struct analyze_args *args)
{
	struct k2_analysis_stats st;
	struct k2_analysis *an;
	struct k2_win *w = NULL;
	struct k2_err e = { 0 };
	uint32_t nw = 0, covered = 0, maxw = 0, nv;
	const struct k2_violation *v;
	int err;

	err = k2_analysis_new(prog, NULL, &an, &e);
	if (err) {
		fprintf(stderr, "k2 analyze: %s: %s\n", path, e.msg);
		return err;
	}
	if (args->windows)
		err = k2_wins_parse(an, args->windows, &w, &nw, &e);
	else
		err = k2_wins_select(an, &args->wopts, &w, &nw, &e);
	if (err) {
		fprintf(stderr, "k2 analyze: %s: %s: %s\n", path, prog->sec, e.msg);
		k2_analysis_free(an);
		return err;
	}
	k2_analysis_stats(an, &st);
	for (uint32_t k = 0; k < nw; k++) {
		covered += w[k].n_insns;
		maxw = w[k].n_insns > maxw ? w[k].n_insns : maxw;
	}
	printf("%s %s (%s): %u insns, %u funcs, %u unreachable; accesses %u: typed %u (%.1f%%), "
	       "const offset %u (%.1f%%), safe %u; violations %u; windows %u covering %u insns "
	       "(%.1f%%), largest %u\n",
	       path, prog->sec, prog->name, st.n_insns, st.n_funcs, st.n_unreachable, st.n_access,
	       st.n_typed, st.n_access ? 100.0 * st.n_typed / st.n_access : 100.0, st.n_const,
	       st.n_access ? 100.0 * st.n_const / st.n_access : 100.0, st.n_safe, st.n_violations,
	       nw, covered, st.n_insns ? 100.0 * covered / st.n_insns : 0.0, maxw);
	v = k2_absint_violations(an->ai, &nv);
	for (uint32_t k = 0; k < nv; k++)
		printf("  violation: %s\n", v[k].msg);
	if (args->verbose) {
		print_listing(stdout, an, args->verbose);
		print_windows(stdout, w, nw);
	}
	free(w);
	k2_analysis_free(an);
	return 0;
}

static int usage(FILE *f)
{
	fprintf(f,
		"usage: k2 analyze [-s SECTION|FUNC] [--max-window N] [--windows S:E,...] [-v[v]] "
		"FILE.o...\n"
		"  Types every memory access as the kernel verifier would, computes liveness and\n"
		"  the windows the search works on; -v lists instructions and windows,\n  -vv also "
		"the state before each instruction.\n");
	return f == stdout ? 0 : 2;
}

int k2_cmd_analyze(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "section", required_argument, NULL, 's' },
		{ "max-window", required_argument, NULL, 'm' },
		{ "windows", required_argument, NULL, 'w' },
		{ "main-only", no_argument, NULL, 'M' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct analyze_args args = { .wopts = { .sz = sizeof(args.wopts) } };
	int c, rc = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "s:m:w:Mvh", lo, NULL)) != -1) {
		switch (c) {
		case 's': args.sel = optarg; break;
		case 'm': args.wopts.max_len = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'w': args.windows = optarg; break;
		case 'M': args.wopts.main_only = true; break;
		case 'v': args.verbose++; break;
		case 'h': return usage(stdout);
		default: return usage(stderr);
		}
	}
	if (optind >= argc)
		return usage(stderr);
	for (int i = optind; i < argc; i++) {
		struct k2_object *obj;
		struct k2_err e = { 0 };

		if (k2_object_open(argv[i], &obj, &e)) {
			fprintf(stderr, "k2 analyze: %s\n", e.msg);
			rc = 1;
			continue;
		}
		for (uint32_t p = 0; p < obj->n_progs; p++) {
			const struct k2_prog *prog = &obj->progs[p];

			if (args.sel && strcmp(args.sel, prog->sec) && strcmp(args.sel, prog->name))
				continue;
			if (analyze_prog(argv[i], prog, &args))
				rc = 1;
		}
		k2_object_free(obj);
	}
	return rc;
}
