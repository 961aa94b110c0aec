/* tests/unit/text_errors.c: malformed text gives exact, located errors; other spellings read. */
#include <criterion/criterion.h>

#include "tests/unit/text_util.h"

/* Calls fn(input, expected) for every "input<TAB>expected" line of a data file. */
static int each_pair(const char *path, void (*fn)(const char *, const char *, int))
{
	char *buf = text_slurp(path), *line, *save = NULL;
	int lineno = 0, n = 0;

	cr_assert(buf, "cannot read %s", path);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *tab = strrchr(line, '\t');

		lineno++;
		if (line[0] == '#')
			continue;
		cr_assert(tab, "%s:%d: no tab", path, lineno);
		*tab = '\0';
		fn(line, tab + 1, lineno);
		n++;
	}
	free(buf);
	return n;
}

static void check_error(const char *in, const char *want, int lineno)
{
	struct bpf_insn out[2];
	struct k2_err e = { 0 };
	int r = k2_asm_insn(in, out, &e);

	cr_expect_eq(r, -EINVAL, "errors.txt:%d: '%s' gives %d", lineno, in, r);
	cr_expect_eq(e.code, -EINVAL);
	cr_expect_str_eq(e.msg, want, "errors.txt:%d: '%s'", lineno, in);
}

static void check_accept(const char *in, const char *want, int lineno)
{
	struct bpf_insn out[2];
	struct k2_err e = { 0 };
	char text[128];
	int r = k2_asm_insn(in, out, &e);

	cr_expect_gt(r, 0, "accept.txt:%d: '%s': %s", lineno, in, e.msg);
	if (r > 0) {
		k2_disasm_insn(out, text, sizeof(text));
		cr_expect_str_eq(text, want, "accept.txt:%d: '%s' reads as '%s'", lineno, in, text);
	}
}

Test(text_errors, malformed_instructions_name_column_and_expectation)
{
	cr_expect_gt(each_pair("tests/data/text/errors.txt", check_error), 70);
}

Test(text_errors, other_spellings_are_read)
{
	cr_expect_gt(each_pair("tests/data/text/accept.txt", check_accept), 40);
}

Test(text_errors, empty_and_comment_lines_have_no_instruction)
{
	static const char *const empty[] = { "", "   ", "; just a comment", "# bpftool", "\t// x" };
	struct bpf_insn out[2];
	struct k2_err e;

	for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
		k2_err_clear(&e);
		cr_expect_eq(k2_asm_insn(empty[i], out, &e), -ENODATA, "'%s'", empty[i]);
		cr_expect(strstr(e.msg, "expected an instruction"), "'%s': %s", empty[i], e.msg);
	}
}

Test(text_errors, one_line_only)
{
	struct bpf_insn out[2];
	struct k2_err e = { 0 };

	cr_expect_eq(k2_asm_insn("exit\n", out, &e), 1);
	cr_expect_eq(k2_asm_insn("exit\nexit", out, &e), -EINVAL);
	cr_expect_str_eq(e.msg, "column 5: more than one line");
}

Test(text_errors, a_null_error_report_is_allowed)
{
	struct bpf_insn out[2];

	cr_expect_eq(k2_asm_insn("r11 = 1", out, NULL), -EINVAL);
	cr_expect_eq(k2_asm_insn("r1 = 1", out, NULL), 1);
}

/* Every prefix of valid text fails cleanly or parses; none crashes (ASan run in make test). */
Test(text_errors, every_prefix_of_the_golden_lines)
{
	char *buf = text_slurp("tests/data/text/syntax.txt"), *line, *save = NULL;
	size_t tried = 0;

	cr_assert(buf);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char *text = strchr(line, '\t');
		char cut[128];

		if (line[0] == '#' || !text)
			continue;
		for (size_t n = 0; n <= strlen(text + 1) && n < sizeof(cut); n++) {
			struct bpf_insn out[2];
			struct k2_err e = { 0 };
			int r;

			memcpy(cut, text + 1, n);
			cut[n] = '\0';
			r = k2_asm_insn(cut, out, &e);
			cr_expect(r > 0 || (r < 0 && strncmp(e.msg, "column ", 7) == 0),
				  "'%s': %d %s", cut, r, e.msg);
			tried++;
		}
	}
	free(buf);
	cr_expect_gt(tried, 3000);
}
