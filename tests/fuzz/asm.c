/* tests/fuzz/asm.c: libFuzzer target: what the assembler accepts prints and re-assembles. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/k2bpf.h"

static void die(const char *what, const char *text)
{
	fprintf(stderr, "asm fuzz: %s: '%s'\n", what, text);
	abort();
}

/* text -> bytes -> text' -> bytes': bytes' must equal bytes, and text' print as itself. */
static void check_slots(const struct bpf_insn *in, int n)
{
	struct bpf_insn back[2];
	struct k2_err e = { 0 };
	char text[128], again[128];
	int len = k2_disasm_insn(in, text, sizeof(text));

	if (len < 0 || (size_t)len >= sizeof(text))
		die("accepted instruction does not print", text);
	if (k2_asm_insn(text, back, &e) != n)
		die(e.msg, text);
	if (memcmp(back, in, (size_t)n * sizeof(*in)))
		die("printed text assembles to other bytes", text);
	k2_disasm_insn(back, again, sizeof(again));
	if (strcmp(text, again))
		die("printing is not stable", again);
}

static void one_line(const char *s)
{
	struct bpf_insn out[2];
	struct k2_err e = { 0 };
	int n = k2_asm_insn(s, out, &e);

	if (n > 0)
		check_slots(out, n);
	else if (n == 0 || e.code != n || !e.msg[0])
		die("failure without a message", s);
}

/* The whole input as a program with labels: every slot it yields round-trips too. */
static void whole_prog(const char *s)
{
	struct bpf_insn *p = NULL;
	struct k2_err e = { 0 };
	size_t n = 0;

	if (k2_asm_prog(s, &p, &n, &e)) {
		if (p || strncmp(e.msg, "line ", 5))
			die("program failure without a line", e.msg);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		bool wide = BPF_CLASS(p[i].code) == BPF_LD && BPF_MODE(p[i].code) == BPF_IMM;

		check_slots(&p[i], wide ? 2 : 1);
		i += wide;
	}
	free(p);
}

/* The first 16 bytes as instruction slots: whatever prints re-assembles to the same bytes. */
static void raw_slots(const uint8_t *data, size_t size)
{
	struct bpf_insn in[2];
	char text[128];
	bool wide;

	memset(in, 0, sizeof(in));
	memcpy(in, data, size < sizeof(in) ? size : sizeof(in));
	wide = BPF_CLASS(in->code) == BPF_LD && BPF_MODE(in->code) == BPF_IMM;
	if (k2_disasm_insn(in, text, sizeof(text)) >= 0)
		check_slots(in, wide ? 2 : 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), *nl;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	raw_slots(data, size);
	whole_prog(s);
	nl = strchr(s, '\n');
	if (nl)
		*nl = '\0';
	one_line(s);
	free(s);
	return 0;
}
