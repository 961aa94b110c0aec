/* tests/unit/text_syntax.c: the golden syntax table (tests/data/text/syntax.txt) both ways. */
#include <criterion/criterion.h>

#include "tests/unit/text_util.h"

#define SYNTAX_FILE "tests/data/text/syntax.txt"

/* Calls fn(bytes, slots, text, lineno) for every line of the golden file. */
static int each_golden(void (*fn)(const struct bpf_insn *, int, const char *, int, void *),
		       void *arg)
{
	char *buf = text_slurp(SYNTAX_FILE), *line, *save = NULL;
	int lineno = 0, count = 0;

	cr_assert(buf, "cannot read %s", SYNTAX_FILE);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct bpf_insn in[2];
		const char *text;
		int n;

		lineno++;
		if (line[0] == '#' || !line[0])
			continue;
		n = text_hex_insns(line, &text, in);
		cr_assert(n > 0 && *text == '\t', "%s:%d: malformed line", SYNTAX_FILE, lineno);
		fn(in, n, text + 1, lineno, arg);
		count++;
	}
	free(buf);
	return count;
}

static void check_disasm(const struct bpf_insn *in, int n, const char *text, int lineno, void *arg)
{
	char got[128];
	int r = k2_disasm_insn(in, got, sizeof(got));

	(void)n, (void)arg;
	cr_expect_eq(r, (int)strlen(text), "line %d: length %d for '%s'", lineno, r, text);
	cr_expect_str_eq(got, text, "line %d: bytes print as '%s', want '%s'", lineno, got, text);
}

static void check_asm(const struct bpf_insn *in, int n, const char *text, int lineno, void *arg)
{
	struct bpf_insn out[2] = { 0 };
	struct k2_err e = { 0 };
	int r = k2_asm_insn(text, out, &e);

	(void)arg;
	cr_expect_eq(r, n, "line %d: '%s' gives %d slots (%s)", lineno, text, r, e.msg);
	cr_expect(r == n && !memcmp(out, in, (size_t)n * sizeof(*in)),
		  "line %d: '%s' assembles to other bytes", lineno, text);
}

/* The whole llvm-objdump style line, index prefix included, assembles to its own bytes. */
static void check_line(const struct bpf_insn *in, int n, const char *text, int lineno, void *arg)
{
	struct bpf_insn out[2] = { 0 };
	struct k2_err e = { 0 };
	char line[256], hex[64];
	int r;

	(void)arg;
	text_hex_str(in, n, hex);
	snprintf(line, sizeof(line), "%8d:\t%s\t%s <LBB0_1>  ; comment", lineno, hex, text);
	r = k2_asm_insn(line, out, &e);
	cr_expect(r == n && !memcmp(out, in, (size_t)n * sizeof(*in)), "line %d: '%s': %d %s",
		  lineno, line, r, e.msg);
}

static void mark_op(const struct bpf_insn *in, int n, const char *text, int lineno, void *arg)
{
	bool *seen = arg;

	(void)n, (void)text, (void)lineno;
	seen[k2_insn_op(in)] = true;
}

Test(text_syntax, golden_bytes_print_as_written)
{
	cr_expect_gt(each_golden(check_disasm, NULL), 170);
}

Test(text_syntax, golden_text_assembles_to_its_bytes)
{
	each_golden(check_asm, NULL);
}

Test(text_syntax, objdump_lines_with_index_bytes_annotation_and_comment)
{
	each_golden(check_line, NULL);
}

Test(text_syntax, every_operation_of_the_table_is_covered)
{
	bool seen[K2_OP__COUNT] = { false };

	each_golden(mark_op, seen);
	cr_expect(!seen[K2_OP_INVALID], "a golden line does not decode");
	for (int op = 1; op < K2_OP__COUNT; op++)
		cr_expect(seen[op], "%s has no line in %s", k2_op_info(op)->name, SYNTAX_FILE);
}
