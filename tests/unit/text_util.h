/* tests/unit/text_util.h: helpers shared by the text-form tests (hex bytes, files, round trips). */
#ifndef K2_TEST_TEXT_UTIL_H
#define K2_TEST_TEXT_UTIL_H

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/k2bpf.h"

/* Parses "61 12 04 00 ..." (8 or 16 bytes) into slots; returns the slot count or 0. */
static inline int text_hex_insns(const char *s, const char **rest, struct bpf_insn out[2])
{
	uint8_t b[16];
	int n = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	while (n < 16 && isxdigit((unsigned char)s[0]) && isxdigit((unsigned char)s[1]) &&
	       (s[2] == ' ' || s[2] == '\t' || s[2] == '\0' || s[2] == '\n')) {
		b[n++] = (uint8_t)strtoul((char[3]){ s[0], s[1], 0 }, NULL, 16);
		s += 2;
		if (*s == ' ')
			s++;
	}
	if (rest)
		*rest = s;
	if (n != 8 && n != 16)
		return 0;
	memset(out, 0, 2 * sizeof(*out));
	memcpy(out, b, (size_t)n);
	return n / 8;
}

static inline void text_hex_str(const struct bpf_insn *in, int n, char *buf)
{
	const uint8_t *b = (const uint8_t *)in;

	for (int i = 0; i < 8 * n; i++)
		sprintf(buf + 3 * i, "%02x%s", b[i], i + 1 < 8 * n ? " " : "");
}

/* Reads a whole file (NUL-terminated, malloc'd); NULL if it cannot. */
static inline char *text_slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long len;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)len + 1);
		if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
			free(buf);
			buf = NULL;
		} else if (buf) {
			buf[len] = '\0';
		}
	}
	fclose(f);
	return buf;
}

/*
 * disasm(in) then asm of that text: must give the same slots. Returns 0 on success, or -1
 * with why[] describing the first difference.
 */
static inline int text_round_trip(const struct bpf_insn *in, char *text, size_t len, char *why,
				  size_t wlen)
{
	struct bpf_insn back[2];
	struct k2_err e = { 0 };
	int ns = BPF_CLASS(in->code) == BPF_LD && BPF_MODE(in->code) == BPF_IMM ? 2 : 1;
	int r = k2_disasm_insn(in, text, len), n;
	char hex[64];

	text_hex_str(in, ns, hex);
	if (r < 0 || (size_t)r >= len) {
		snprintf(why, wlen, "[%s] does not print (%d)", hex, r);
		return -1;
	}
	n = k2_asm_insn(text, back, &e);
	if (n != ns) {
		snprintf(why, wlen, "[%s] '%.100s' does not assemble back: %d %.200s", hex, text, n,
			 e.msg);
		return -1;
	}
	if (memcmp(back, in, (size_t)ns * sizeof(*in)) != 0) {
		char hb[64];

		text_hex_str(back, ns, hb);
		snprintf(why, wlen, "[%s] '%.100s' assembles to [%s]", hex, text, hb);
		return -1;
	}
	return 0;
}

#endif
