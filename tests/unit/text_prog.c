/* tests/unit/text_prog.c: whole programs: labels, comments, line errors, listing round trips. */
#include <criterion/criterion.h>
#include <glob.h>
#include <unistd.h>

#include "tests/unit/text_util.h"

static size_t assemble(const char *text, struct bpf_insn **out)
{
	struct k2_err e = { 0 };
	size_t n = 0;
	int r = k2_asm_prog(text, out, &n, &e);

	cr_assert_eq(r, 0, "k2_asm_prog: %s", e.msg);
	cr_assert(*out);
	return n;
}

static void expect_error(const char *text, const char *want)
{
	struct bpf_insn *out = (struct bpf_insn *)1;
	struct k2_err e = { 0 };
	size_t n = 7;
	int r = k2_asm_prog(text, &out, &n, &e);

	cr_expect_lt(r, 0, "'%s' assembles", text);
	cr_expect_null(out);
	cr_expect_eq(n, 0);
	cr_expect_str_eq(e.msg, want);
}

Test(text_prog, labels_forward_and_backward)
{
	const char *src = "; count down from 5\n"
			  "\tr0 = 0\n"
			  "\tr1 = 5 ll            // two slots\n"
			  "loop:\n"
			  "\tr0 += r1\n"
			  "\tr1 += -1\n"
			  "\tif r1 s> 0 goto loop\n"
			  "\tif w0 == 15 goto done\n"
			  "\tgotol loop\n"
			  "done: exit\n";
	struct bpf_insn *p;
	size_t n = assemble(src, &p);
	char text[128];

	cr_assert_eq(n, 9);
	k2_disasm_insn(&p[5], text, sizeof(text));
	cr_expect_str_eq(text, "if r1 s> 0 goto -3");
	k2_disasm_insn(&p[6], text, sizeof(text));
	cr_expect_str_eq(text, "if w0 == 15 goto +1");
	k2_disasm_insn(&p[7], text, sizeof(text));
	cr_expect_str_eq(text, "gotol -5");
	cr_expect_eq(k2_insns_check(p, n, NULL, NULL), 0);
	free(p);
}

Test(text_prog, calls_and_function_pointers_to_labels)
{
	const char *src = "main:\n"
			  "  r1 = func[cb] ll\n"
			  "  call sub\n"
			  "  exit\n"
			  "sub:\n"
			  "  r0 = 1\n"
			  "  exit\n"
			  "cb: r0 = 0\n"
			  "  exit\n";
	struct bpf_insn *p;
	size_t n = assemble(src, &p);
	char text[128];

	cr_assert_eq(n, 8);
	k2_disasm_insn(&p[0], text, sizeof(text));
	cr_expect_str_eq(text, "r1 = func[pc+5] ll");
	k2_disasm_insn(&p[2], text, sizeof(text));
	cr_expect_str_eq(text, "call pc+1");
	free(p);
}

Test(text_prog, errors_name_the_line)
{
	expect_error("r0 = 0\n\nr11 = 1\nexit\n",
		     "line 3: column 1: invalid register 'r11' (r0..r10, w0..w10)");
	expect_error("r0 = 0\ngoto nowhere\nexit\n", "line 2: column 6: unknown label 'nowhere'");
	expect_error("a:\nr0 = 0\na: exit\n", "line 3: label 'a' defined twice");
	expect_error("exit\nr1 = 5 junk\n",
		     "line 2: column 8: expected end of instruction, found 'junk'");
}

/* A program of `n` filler slots between a jump (goto or gotol) and its label. */
static char *far_program(const char *jump, size_t n)
{
	char *src = malloc(n * 8 + 64);
	size_t len = 0;

	cr_assert(src);
	len += (size_t)sprintf(src + len, "%s far\n", jump);
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(src + len, "r0 = 1\n");
	sprintf(src + len, "far: exit\n");
	return src;
}

Test(text_prog, label_out_of_jump_range)
{
	char *src = far_program("goto", 40000);
	struct bpf_insn *p = NULL;
	struct k2_err e = { 0 };
	size_t got;

	cr_expect_eq(k2_asm_prog(src, &p, &got, &e), -EINVAL);
	cr_expect_str_eq(e.msg, "line 1: column 6: label 'far' is too far: offset 40000 out of "
				"[-32768, +32767]");
	free(src);
	src = far_program("gotol", 40000); /* gotol reaches it */
	cr_assert_eq(k2_asm_prog(src, &p, &got, &e), 0, "%s", e.msg);
	cr_expect_eq(got, 40002);
	cr_expect_eq(p[0].imm, 40000);
	free(p);
	free(src);
}

Test(text_prog, empty_program)
{
	struct bpf_insn *p;

	cr_expect_eq(assemble("\n; nothing\n\n", &p), 0);
	free(p);
}

/* k2_disasm_prog prints llvm-objdump lines that k2_asm_prog reads back. */
Test(text_prog, disasm_prog_reads_back)
{
	const char *src = "r1 = map[idx:0] ll\nr2 = r10\nr2 += -4\ncall 1\nif r0 == 0 goto +1\n"
			  "r0 = *(u64 *)(r0 + 0)\nexit\nr1 = 0x123456789 ll\n";
	struct bpf_insn *p, *q;
	size_t n = assemble(src, &p), m;
	char *out = NULL;
	size_t olen = 0;
	FILE *f = open_memstream(&out, &olen);

	cr_assert(f);
	k2_disasm_prog(f, p, n);
	fclose(f);
	cr_expect(strstr(out, "       0:\t18 51 00 00 00 00 00 00 00 00 00 00 00 00 00 00\t"
			      "r1 = map[idx:0] ll\n"), "%s", out);
	cr_expect(strstr(out, "       2:\tbf a2 00 00 00 00 00 00\tr2 = r10\n"), "%s", out);
	m = assemble(out, &q);
	cr_assert_eq(m, n);
	cr_expect_eq(memcmp(p, q, n * sizeof(*p)), 0);
	free(p), free(q), free(out);
}

/* A truncated ld_imm64 at the end prints as invalid instead of reading past the array. */
Test(text_prog, disasm_prog_truncated_ld_imm64)
{
	struct bpf_insn p[2] = {
		{ .code = BPF_JMP | BPF_EXIT },
		{ .code = BPF_LD | BPF_IMM | BPF_DW },
	};
	char *out = NULL;
	size_t olen = 0;
	FILE *f = open_memstream(&out, &olen);

	k2_disasm_prog(f, p, 2);
	fclose(f);
	cr_expect(strstr(out, "       1:\t18 00 00 00 00 00 00 00\tinvalid\n"), "%s", out);
	free(out);
}

/* A whole llvm-objdump -d listing of one section (headers, labels, annotations) assembles. */
Test(text_prog, objdump_listing_of_a_section)
{
	glob_t g;
	size_t done = 0;

	cr_assert_eq(glob("/usr/lib/x86_64-linux-gnu/bpf/xdpfilt_*.o", 0, NULL, &g), 0);
	for (size_t i = 0; i < g.gl_pathc && i < 4; i++) {
		char cmd[4200], *listing;
		FILE *p;
		size_t len = 0, cap = 1 << 20;
		struct bpf_insn *insns;
		struct k2_err e = { 0 };
		size_t n;

		/* Only the xdp section: every other section would restart the indices. */
		snprintf(cmd, sizeof(cmd), "llvm-objdump -d -j xdp '%s'", g.gl_pathv[i]);
		p = popen(cmd, "r");
		listing = malloc(cap);
		cr_assert(p && listing);
		len = fread(listing, 1, cap - 1, p);
		listing[len] = '\0';
		pclose(p);
		if (!strstr(listing, "Disassembly of section xdp")) {
			free(listing);
			continue;
		}
		cr_expect_eq(k2_asm_prog(listing, &insns, &n, &e), 0, "%s: %s", g.gl_pathv[i],
			     e.msg);
		if (!e.code) {
			cr_expect_gt(n, 10);
			free(insns);
			done++;
		}
		free(listing);
	}
	globfree(&g);
	cr_expect_gt(done, 0);
}

/* Thousands of labels (the hash table grows several times); each jump lands on its label. */
Test(text_prog, many_labels)
{
	size_t n = 5000, len = 0;
	char *src = malloc(n * 48 + 16);
	struct bpf_insn *p;

	cr_assert(src);
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(src + len, "L%zu: if r1 == %zu goto L%zu\n", i, i,
				       (i * 7919) % n);
	sprintf(src + len, "exit\n");
	cr_assert_eq(assemble(src, &p), n + 1);
	for (size_t i = 0; i < n; i++)
		cr_expect_eq((long)i + 1 + p[i].off, (long)((i * 7919) % n), "jump %zu", i);
	free(p);
	free(src);
}
