/* tests/unit/text_llvm.c: our text against llvm-objdump/llvm-mc: real objects, golden bytes. */
#include <criterion/criterion.h>
#include <glob.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/unit/text_util.h"

#define XDP_TOOLS_GLOB "/usr/lib/x86_64-linux-gnu/bpf/*.o"
#define CORPUS_GLOB "build/corpus/*.o"
#define INSNS_SRC "tests/data/text/insns.bpf.c"

struct stats {
	size_t objects, insns, same_text, same_bytes, unknown;
};

/*
 * Forms whose llvm-objdump 14 text does not determine the bytes: pseudo calls print as
 * "call N", pseudo ld_imm64 sources as "ld_pseudo", ld_ind drops its imm, a 32-bit
 * fetch_add prints as the non-fetching "lock", and the v4 forms print as their v1 twins.
 */
static bool llvm_ambiguous(const struct bpf_insn *in)
{
	enum k2_op op = k2_insn_op(in);
	const struct k2_opinfo *oi = k2_op_info(op);

	if (op == K2_OP_CALL_PSEUDO || op == K2_OP_CALL_KFUNC || op == K2_OP_ATOMIC_FETCH_ADD32)
		return true;
	if (oi->kind == K2_KIND_LDDW && op != K2_OP_LDDW)
		return true;
	if (oi->kind == K2_KIND_LDIND && in->imm)
		return true;
	return oi->isa >= K2_ISA_V4;
}

/* Cuts llvm's trailing " <LBB0_3>" branch annotation. */
static void strip_annotation(char *t)
{
	char *lt = strrchr(t, '<');
	size_t n = strlen(t);

	if (lt && lt > t && lt[-1] == ' ' && n && t[n - 1] == '>' && strcmp(lt, "<unknown>"))
		lt[-1] = '\0';
}

/* One "  12:\t61 12 04 00 00 00 00 00\tr2 = *(u32 *)(r1 + 4)" line of llvm-objdump -d. */
static void check_line(const char *obj, char *line, struct stats *st)
{
	struct bpf_insn in[2], back[2];
	struct k2_err e = { 0 };
	char ours[128], why[512], *text;
	const char *rest;
	int n, r;

	line[strcspn(line, "\n")] = '\0';
	n = text_hex_insns(strchr(line, ':') + 1, &rest, in);
	cr_assert(n > 0 && *rest == '\t', "%s: unreadable objdump line '%s'", obj, line);
	text = (char *)rest + 1;
	st->insns++;
	cr_expect_eq(text_round_trip(in, ours, sizeof(ours), why, sizeof(why)), 0, "%s: %s", obj,
		     why);
	if (!strcmp(text, "<unknown>")) {
		st->unknown++;
		return;
	}
	if (llvm_ambiguous(in))
		return;
	r = k2_asm_insn(line, back, &e);
	cr_expect(r == n && !memcmp(back, in, (size_t)n * sizeof(*in)),
		  "%s: llvm's line '%s' does not assemble to its bytes: %d %s", obj, line, r,
		  e.msg);
	st->same_bytes += r == n && !memcmp(back, in, (size_t)n * sizeof(*in));
	strip_annotation(text);
	cr_expect_str_eq(ours, text, "%s: we print '%s', llvm-objdump '%s'", obj, ours, text);
	st->same_text += !strcmp(ours, text);
}

static bool is_insn_line(const char *s)
{
	const char *q = s + strspn(s, " ");

	return q > s && q[strspn(q, "0123456789")] == ':' && q[strspn(q, "0123456789") + 1] == '\t';
}

static void check_object(const char *obj, struct stats *st)
{
	char cmd[4200], *line = NULL;
	size_t cap = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "llvm-objdump -d '%s' 2>&1", obj);
	p = popen(cmd, "r");
	cr_assert(p, "cannot run llvm-objdump");
	while (getline(&line, &cap, p) > 0)
		if (is_insn_line(line))
			check_line(obj, line, st);
	free(line);
	cr_assert_eq(pclose(p), 0, "llvm-objdump -d %s failed", obj);
	st->objects++;
}

static size_t check_glob(const char *pattern, struct stats *st)
{
	glob_t g;
	size_t n = 0;

	if (glob(pattern, 0, NULL, &g) != 0)
		return 0;
	for (n = 0; n < g.gl_pathc; n++)
		check_object(g.gl_pathv[n], st);
	globfree(&g);
	return n;
}

Test(text_llvm, xdp_tools_objects_match_llvm_objdump)
{
	struct stats st = { 0 };

	cr_assert_geq(check_glob(XDP_TOOLS_GLOB, &st), 10, "xdp-tools objects missing (%s)",
		      XDP_TOOLS_GLOB);
	cr_expect_gt(st.insns, 3000);
	cr_expect_gt(st.same_text, 3000);
	cr_log_info("xdp-tools: %zu objects, %zu insns, %zu same text, %zu same bytes", st.objects,
		    st.insns, st.same_text, st.same_bytes);
}

Test(text_llvm, corpus_objects_match_llvm_objdump)
{
	struct stats st = { 0 };

	/* The corpus is built by `make`; each object present is checked. */
	check_glob(CORPUS_GLOB, &st);
	cr_log_info("corpus: %zu objects, %zu insns, %zu same text", st.objects, st.insns,
		    st.same_text);
}

/* Our own program, built for each ISA version clang 14 has (atomics, skb loads, calls). */
Test(text_llvm, clang_v1_v2_v3_objects_match_llvm_objdump)
{
	static const char *const cpus[] = { "v1", "v2", "v3" };
	char dir[] = "/tmp/k2-text-XXXXXX", obj[128], cmd[512];
	struct stats st = { 0 };

	cr_assert(mkdtemp(dir));
	for (int i = 0; i < 3; i++) {
		snprintf(obj, sizeof(obj), "%s/insns_%s.o", dir, cpus[i]);
		snprintf(cmd, sizeof(cmd),
			 "clang -O2 -g -target bpf -mcpu=%s %s -I/usr/include/x86_64-linux-gnu "
			 "-Wall -Werror -c %s -o %s",
			 cpus[i], i == 2 ? "-DTEXT_V3" : "", INSNS_SRC, obj);
		cr_assert_eq(system(cmd), 0, "%s", cmd);
		check_object(obj, &st);
		unlink(obj);
	}
	rmdir(dir);
	cr_expect_gt(st.insns, 500);
	cr_expect_geq(st.unknown, 3, "the v3 build has 32-bit atomics llvm 14 cannot print");
}

/* llvm-mc --disassemble over the golden bytes: every line llvm reads unambiguously matches. */
Test(text_llvm, golden_table_matches_llvm_mc)
{
	char dir[] = "/tmp/k2-text-XXXXXX", in[64], out[64], err[64], cmd[512];
	char *golden = text_slurp("tests/data/text/syntax.txt"), *save = NULL, *line;
	char *mc_out, *mc_err, *mc_line, *save2 = NULL;
	struct bpf_insn insns[256][2];
	char *texts[256];
	size_t n = 0, same = 0;
	FILE *f;

	cr_assert(golden && mkdtemp(dir));
	snprintf(in, sizeof(in), "%s/in", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	snprintf(err, sizeof(err), "%s/err", dir);
	f = fopen(in, "w");
	cr_assert(f);
	for (line = strtok_r(golden, "\n", &save); line && n < 256;
	     line = strtok_r(NULL, "\n", &save)) {
		const char *rest;
		int ns;

		if (line[0] == '#')
			continue;
		ns = text_hex_insns(line, &rest, insns[n]);
		cr_assert(ns > 0);
		texts[n++] = (char *)rest + 1;
		for (int b = 0; b < 8 * ns; b++)
			fprintf(f, "0x%02x%c", ((uint8_t *)insns[n - 1])[b],
				b + 1 < 8 * ns ? ' ' : '\n');
	}
	fclose(f);
	snprintf(cmd, sizeof(cmd), "llvm-mc --disassemble -triple=bpfel < %s > %s 2> %s", in, out,
		 err);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	mc_out = text_slurp(out);
	mc_err = text_slurp(err);
	cr_assert(mc_out && mc_err);
	mc_line = strtok_r(mc_out, "\n", &save2); /* "\t.text" */
	for (size_t i = 0; i < n; i++) {
		char tag[32];

		/* llvm-mc skips an invalid encoding and names its input line on stderr. */
		snprintf(tag, sizeof(tag), "<stdin>:%zu:", i + 1);
		if (strstr(mc_err, tag))
			continue;
		mc_line = strtok_r(NULL, "\n", &save2);
		cr_assert(mc_line, "llvm-mc output ends early at golden line %zu", i + 1);
		if (llvm_ambiguous(insns[i]))
			continue;
		cr_expect_str_eq(texts[i], mc_line + 1, "golden '%s', llvm-mc '%s'", texts[i],
				 mc_line + 1);
		same += !strcmp(texts[i], mc_line + 1);
	}
	cr_expect_gt(same, 100);
	unlink(in), unlink(out), unlink(err), rmdir(dir);
	free(golden), free(mc_out), free(mc_err);
}
