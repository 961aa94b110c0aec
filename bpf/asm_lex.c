/* bpf/asm_lex.c: the assembler's lexer: blanks, literals, registers, numbers, targets, errors. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bpf/asm_int.h"

static bool is_ident(int ch)
{
	return isalnum(ch) || ch == '_' || ch == '.' || ch == '$';
}

static int col(const struct k2_asm_cur *c, const char *at)
{
	return (int)(at - c->line) + 1;
}

void k2_asm_ws(struct k2_asm_cur *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
		c->p++;
}

bool k2_asm_at_end(struct k2_asm_cur *c)
{
	k2_asm_ws(c);
	return c->p >= c->end;
}

static int peek(const struct k2_asm_cur *c, size_t i)
{
	return c->p + i < c->end ? (unsigned char)c->p[i] : 0;
}

bool k2_asm_eat(struct k2_asm_cur *c, const char *lit)
{
	size_t n = strlen(lit);

	k2_asm_ws(c);
	if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0)
		return false;
	if (is_ident(lit[n - 1]) && is_ident(peek(c, n)))
		return false;
	c->p += n;
	return true;
}

int k2_asm_fail_at(struct k2_asm_cur *c, const char *at, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return k2_err_set(c->e, -EINVAL, "column %d: %s", col(c, at), msg);
}

int k2_asm_fail(struct k2_asm_cur *c, const char *what)
{
	const char *q;

	k2_asm_ws(c);
	if (c->p >= c->end)
		return k2_asm_fail_at(c, c->p, "expected %s, found end of line", what);
	/* Show the offending word, or the one character if it is punctuation. */
	for (q = c->p; q < c->end && is_ident(*q) && q - c->p < 24; q++)
		;
	if (q == c->p)
		q++;
	return k2_asm_fail_at(c, c->p, "expected %s, found '%.*s'", what, (int)(q - c->p), c->p);
}

int k2_asm_expect(struct k2_asm_cur *c, const char *lit)
{
	char what[32];

	if (k2_asm_eat(c, lit))
		return 0;
	snprintf(what, sizeof(what), "'%s'", lit);
	return k2_asm_fail(c, what);
}

bool k2_asm_peek_reg(struct k2_asm_cur *c)
{
	k2_asm_ws(c);
	return (peek(c, 0) == 'r' || peek(c, 0) == 'w') && isdigit(peek(c, 1));
}

int k2_asm_reg(struct k2_asm_cur *c, struct k2_asm_reg *r)
{
	const char *at;
	unsigned no = 0;

	if (!k2_asm_peek_reg(c))
		return k2_asm_fail(c, "a register");
	at = c->p;
	r->w = *c->p++ == 'w';
	while (c->p < c->end && isdigit((unsigned char)*c->p) && no < 1000)
		no = no * 10 + (unsigned)(*c->p++ - '0');
	if (is_ident(peek(c, 0)) || (c->p - at > 2 && at[1] == '0')) {
		while (c->p < c->end && is_ident(*c->p))
			c->p++;
		return k2_asm_fail_at(c, at, "expected a register, found '%.*s'", (int)(c->p - at),
				      at);
	}
	if (no >= K2_NREGS)
		return k2_asm_fail_at(c, at, "invalid register '%.*s' (r0..r10, w0..w10)",
				      (int)(c->p - at), at);
	r->no = (uint8_t)no;
	return 0;
}

int k2_asm_same_reg(struct k2_asm_cur *c, struct k2_asm_reg want, const char *why)
{
	struct k2_asm_reg r;
	const char *at;
	int err;

	k2_asm_ws(c);
	at = c->p;
	err = k2_asm_reg(c, &r);
	if (err)
		return err;
	if (r.no != want.no || r.w != want.w)
		return k2_asm_fail_at(c, at, "expected %c%u (%s), found %c%u", want.w ? 'w' : 'r',
				      want.no, why, r.w ? 'w' : 'r', r.no);
	return 0;
}

bool k2_asm_peek_num(struct k2_asm_cur *c)
{
	k2_asm_ws(c);
	return isdigit(peek(c, 0)) || (peek(c, 0) == '-' && isdigit(peek(c, 1)));
}

/* A number with its sign kept apart: the range rules differ for decimal and hex. */
struct num {
	const char *at;
	bool neg;
	bool hex;
	uint64_t mag;
};

static int scan_digits(struct k2_asm_cur *c, struct num *n)
{
	unsigned base = 10;
	int nd = 0;

	if (peek(c, 0) == '0' && (peek(c, 1) == 'x' || peek(c, 1) == 'X') && isxdigit(peek(c, 2))) {
		base = 16;
		c->p += 2;
	}
	n->hex = base == 16;
	n->mag = 0;
	for (; c->p < c->end && isxdigit((unsigned char)*c->p); c->p++, nd++) {
		int ch = tolower((unsigned char)*c->p);
		unsigned d = isdigit(ch) ? (unsigned)(ch - '0') : (unsigned)(ch - 'a' + 10);

		if (d >= base)
			break;
		if (n->mag > (UINT64_MAX - d) / base)
			return k2_asm_fail_at(c, n->at, "number too large");
		n->mag = n->mag * base + d;
	}
	if (!nd || is_ident(peek(c, 0))) {
		c->p = n->at;
		return k2_asm_fail(c, "a number");
	}
	return 0;
}

static int scan_num(struct k2_asm_cur *c, struct num *n)
{
	k2_asm_ws(c);
	n->at = c->p;
	n->neg = peek(c, 0) == '-';
	if (n->neg)
		c->p++;
	if (!isdigit(peek(c, 0))) {
		c->p = n->at;
		return k2_asm_fail(c, "a number");
	}
	return scan_digits(c, n);
}

static int range_fail(struct k2_asm_cur *c, const struct num *n, const char *range)
{
	return k2_asm_fail_at(c, n->at, "'%.*s' out of range %s", (int)(c->p - n->at), n->at,
			      range);
}

int k2_asm_imm32(struct k2_asm_cur *c, int32_t *v)
{
	struct num n;
	int err = scan_num(c, &n);

	if (err)
		return err;
	if (n.neg ? n.mag > 0x80000000ull : n.mag > (n.hex ? 0xffffffffull : 0x7fffffffull))
		return range_fail(c, &n, "for a 32-bit immediate [-2147483648, 2147483647]");
	*v = (int32_t)(uint32_t)(n.neg ? 0 - n.mag : n.mag);
	return 0;
}

int k2_asm_u32(struct k2_asm_cur *c, uint32_t *v)
{
	struct num n;
	int err = scan_num(c, &n);

	if (err)
		return err;
	if (n.mag > (n.neg ? 0x80000000ull : 0xffffffffull))
		return range_fail(c, &n, "for a 32-bit field [0, 4294967295]");
	*v = (uint32_t)(n.neg ? 0 - n.mag : n.mag);
	return 0;
}

int k2_asm_signed_off(struct k2_asm_cur *c, int16_t *off)
{
	struct num n;
	int err;

	k2_asm_ws(c);
	n.at = c->p;
	if (peek(c, 0) != '+' && peek(c, 0) != '-')
		return k2_asm_fail(c, "'+' or '-' and an offset");
	n.neg = *c->p++ == '-';
	k2_asm_ws(c);
	if (!isdigit(peek(c, 0)))
		return k2_asm_fail(c, "an offset");
	err = scan_digits(c, &n);
	if (err)
		return err;
	if (n.mag > (n.neg ? 32768u : 32767u))
		return range_fail(c, &n, "for a 16-bit offset [-32768, 32767]");
	*off = (int16_t)(n.neg ? -(int32_t)n.mag : (int32_t)n.mag);
	return 0;
}

int k2_asm_imm64(struct k2_asm_cur *c, int64_t *v)
{
	struct num n;
	int err = scan_num(c, &n);

	if (err)
		return err;
	if (n.neg && n.mag > 0x8000000000000000ull)
		return range_fail(c, &n, "for a 64-bit immediate");
	*v = (int64_t)(n.neg ? 0 - n.mag : n.mag);
	return 0;
}

size_t k2_asm_ident(struct k2_asm_cur *c, const char **name)
{
	const char *q;

	k2_asm_ws(c);
	if (!(isalpha(peek(c, 0)) || peek(c, 0) == '_' || peek(c, 0) == '.'))
		return 0;
	for (q = c->p; q < c->end && is_ident(*q); q++)
		;
	*name = c->p;
	c->p = q;
	return (size_t)(q - *name);
}

static int label_target(struct k2_asm_cur *c, long *rel)
{
	const char *at, *name;
	size_t n;
	long idx;

	k2_asm_ws(c);
	at = c->p;
	n = k2_asm_ident(c, &name);
	if (!n)
		return k2_asm_fail(c, c->labels ? "+N, -N or a label" : "+N or -N");
	if (!c->labels)
		return k2_asm_fail_at(c, at, "label '%.*s' outside a program (use +N or -N)",
				      (int)n, name);
	if (c->labels->find(c->labels, name, n, &idx))
		return k2_asm_fail_at(c, at, "unknown label '%.*s'", (int)n, name);
	*rel = idx - (c->pc + 1);
	return 0;
}

int k2_asm_target(struct k2_asm_cur *c, long lo, long hi, int32_t *rel)
{
	struct num n;
	long r = 0;
	int err;

	k2_asm_ws(c);
	n.at = c->p;
	if (peek(c, 0) == 'p' && peek(c, 1) == 'c' && (peek(c, 2) == '+' || peek(c, 2) == '-'))
		c->p += 2;
	if (peek(c, 0) == '+' || peek(c, 0) == '-') {
		n.neg = *c->p++ == '-';
		if (!isdigit(peek(c, 0)))
			return k2_asm_fail(c, "a jump offset");
		err = scan_digits(c, &n);
		if (err)
			return err;
		if (n.mag > (uint64_t)(n.neg ? -lo : hi))
			return k2_asm_fail_at(c, n.at,
					      "jump offset '%.*s' out of range [%ld, %+ld]",
					      (int)(c->p - n.at), n.at, lo, hi);
		*rel = (int32_t)(n.neg ? -(int64_t)n.mag : (int64_t)n.mag);
		return 0;
	}
	err = label_target(c, &r);
	if (err)
		return err;
	if (r < lo || r > hi)
		return k2_asm_fail_at(c, n.at,
				      "label '%.*s' is too far: offset %ld out of [%ld, %+ld]",
				      (int)(c->p - n.at), n.at, r, lo, hi);
	*rel = (int32_t)r;
	return 0;
}

const char *k2_asm_comment(const char *s, const char *end)
{
	for (const char *q = s; q < end; q++) {
		if (*q == ';' || (*q == '/' && q + 1 < end && q[1] == '/'))
			return q;
		if (*q == '#' && (q == s || q[-1] == ' ' || q[-1] == '\t'))
			return q;
	}
	return end;
}
