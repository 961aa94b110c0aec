/* bpf/asm_prog.c: a whole program from text: lines, labels, two passes, "line N:" errors. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/asm_int.h"

struct label {
	const char *name; /* NULL: free slot */
	size_t len;
	long idx;
};

/* Labels of one program, an open-addressing hash table (listings have thousands of labels).
 * In the first pass unknown names resolve to the next slot. */
struct prog_labels {
	struct k2_asm_labels ops;
	struct label *v;
	size_t n, cap; /* cap is 0 or a power of two */
	bool first_pass;
	long pc; /* slot of the line being read */
};

static size_t hash_name(const char *name, size_t n)
{
	size_t h = 14695981039346656037ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)name[i]) * 1099511628211ull;
	return h;
}

static struct label *slot_of(const struct prog_labels *pl, const char *name, size_t n)
{
	size_t i = hash_name(name, n) & (pl->cap - 1);

	while (pl->v[i].name && (pl->v[i].len != n || memcmp(pl->v[i].name, name, n)))
		i = (i + 1) & (pl->cap - 1);
	return &pl->v[i];
}

static int find_label(const struct k2_asm_labels *l, const char *name, size_t n, long *idx)
{
	const struct prog_labels *pl = (const struct prog_labels *)l;
	const struct label *lb = pl->cap ? slot_of(pl, name, n) : NULL;

	if (lb && lb->name) {
		*idx = lb->idx;
		return 0;
	}
	return pl->first_pass ? 1 : -ENOENT;
}

/* First-pass lookups succeed with a placeholder: only slot counts matter then. */
static int find_label_first(const struct k2_asm_labels *l, const char *name, size_t n, long *idx)
{
	int err = find_label(l, name, n, idx);

	if (err == 1)
		*idx = ((const struct prog_labels *)l)->pc + 1;
	return err == 1 ? 0 : err;
}

static int grow(struct prog_labels *pl)
{
	struct prog_labels old = *pl;

	pl->cap = old.cap ? old.cap * 2 : 64;
	pl->v = calloc(pl->cap, sizeof(*pl->v));
	if (!pl->v) {
		*pl = old;
		return -ENOMEM;
	}
	for (size_t i = 0; i < old.cap; i++)
		if (old.v[i].name)
			*slot_of(pl, old.v[i].name, old.v[i].len) = old.v[i];
	free(old.v);
	return 0;
}

static int add_label(struct prog_labels *pl, const char *name, size_t n, long idx, size_t line,
		     struct k2_err *e)
{
	struct label *lb;

	if ((pl->n + 1) * 2 > pl->cap && grow(pl))
		return k2_err_set(e, -ENOMEM, "out of memory");
	lb = slot_of(pl, name, n);
	if (lb->name)
		return k2_err_set(e, -EINVAL, "line %zu: label '%.*s' defined twice", line, (int)n,
				  name);
	*lb = (struct label){ name, n, idx };
	pl->n++;
	return 0;
}

static bool ident_char(int ch)
{
	return isalnum(ch) || ch == '_' || ch == '.' || ch == '$';
}

/*
 * A label definition at the start of [*s, end): "name:" or llvm-objdump's
 * "0000000000000040 <LBB0_3>:". Returns its name and advances *s past it.
 */
static size_t label_def(const char **s, const char *end, const char **name)
{
	const char *p = *s, *q;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (p < end && isxdigit((unsigned char)*p))
		p++;
	if (p > *s && p < end && *p == ' ' && p + 1 < end && p[1] == '<') {
		for (q = p + 2; q < end && *q != '>'; q++)
			;
		if (q + 1 < end && q[1] == ':' && q > p + 2) {
			*name = p + 2;
			*s = q + 2;
			return (size_t)(q - p - 2);
		}
	}
	for (p = *s; p < end && (*p == ' ' || *p == '\t'); p++)
		;
	if (p == end || !(isalpha((unsigned char)*p) || *p == '_' || *p == '.'))
		return 0;
	for (q = p; q < end && ident_char(*q); q++)
		;
	if (q == end || *q != ':')
		return 0;
	*name = p;
	*s = q + 1;
	return (size_t)(q - p);
}

/* llvm-objdump's headers ("Disassembly of section xdp:", "x.o:\tfile format elf64-bpf"). */
static bool objdump_header(const char *s, const char *end)
{
	static const char *const heads[] = { "Disassembly of section ", "file format " };

	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	for (int i = 0; i < 2; i++) {
		size_t n = strlen(heads[i]);

		for (const char *q = s; q + n <= end; q++)
			if (!memcmp(q, heads[i], n))
				return true;
	}
	return false;
}

struct pass {
	const char *text;
	struct prog_labels *labels;
	struct bpf_insn *out; /* NULL in the first pass */
	size_t n;             /* slots so far */
	struct k2_err *e;
};

static int one_line(struct pass *ps, const char *s, const char *end, size_t lineno)
{
	struct bpf_insn tmp[2];
	const char *name, *line = s;
	size_t n;
	int err;

	end = k2_asm_comment(s, end);
	if (objdump_header(s, end))
		return 0;
	while ((n = label_def(&s, end, &name)))
		if (!ps->out) {
			err = add_label(ps->labels, name, n, (long)ps->n, lineno, ps->e);
			if (err)
				return err;
		}
	ps->labels->pc = (long)ps->n;
	err = k2_asm_line(line, s, end, &ps->labels->ops, (long)ps->n,
			  ps->out ? &ps->out[ps->n] : tmp, ps->e);
	if (err == -ENODATA) { /* blank, a comment, or only labels */
		k2_err_clear(ps->e);
		return 0;
	}
	if (err < 0)
		return k2_err_prefix(ps->e, "line %zu: ", lineno);
	ps->n += (size_t)err;
	return 0;
}

static int run_pass(struct pass *ps)
{
	const char *s = ps->text;
	size_t lineno = 1;
	int err;

	ps->n = 0;
	for (;;) {
		const char *nl = strchr(s, '\n');
		const char *end = nl ? nl : s + strlen(s);

		err = one_line(ps, s, end, lineno);
		if (err)
			return err;
		if (!nl)
			return 0;
		s = nl + 1;
		lineno++;
	}
}

int k2_asm_prog(const char *text, struct bpf_insn **out, size_t *n, struct k2_err *e)
{
	struct prog_labels pl = { { find_label_first }, NULL, 0, 0, true, 0 };
	struct pass ps = { text, &pl, NULL, 0, e };
	int err;

	*out = NULL;
	*n = 0;
	err = run_pass(&ps);
	if (!err) {
		ps.out = calloc(ps.n ? ps.n : 1, sizeof(*ps.out));
		if (!ps.out)
			err = k2_err_set(e, -ENOMEM, "out of memory");
	}
	if (!err) {
		pl.ops.find = find_label;
		pl.first_pass = false;
		err = run_pass(&ps);
	}
	free(pl.v);
	if (err) {
		free(ps.out);
		return err;
	}
	*out = ps.out;
	*n = ps.n;
	return 0;
}
