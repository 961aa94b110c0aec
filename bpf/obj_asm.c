/* bpf/obj_asm.c: the directives of `k2 asm` source: maps, data, sections, programs, subprograms. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/obj_asm.h"

static int fail(struct k2_asmsrc *st, const char *fmt, const char *a)
{
	char msg[300];

	snprintf(msg, sizeof(msg), fmt, a);
	return k2_err_set(st->e, -EINVAL, "%s:%u: %s", st->path, st->line, msg);
}

static int add_line(struct k2_asmsrc_lines *b, const char *s, size_t n, uint32_t src)
{
	if (b->len + n + 2 > b->cap) {
		size_t nc = (b->len + n + 2) * 2;
		char *p = realloc(b->text, nc);

		if (!p)
			return -ENOMEM;
		b->text = p;
		b->cap = nc;
	}
	if (b->n == b->cap_lines) {
		uint32_t nc = b->cap_lines ? b->cap_lines * 2 : 64;
		uint32_t *p = realloc(b->src, nc * sizeof(*p));

		if (!p)
			return -ENOMEM;
		b->src = p;
		b->cap_lines = nc;
	}
	memcpy(b->text + b->len, s, n);
	b->len += n;
	b->text[b->len++] = '\n';
	b->text[b->len] = '\0';
	b->src[b->n++] = src;
	return 0;
}

static bool is_ident(const char *s)
{
	if (!*s || !(isalpha((unsigned char)*s) || *s == '_'))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

/* The next blank-separated word of *s (NUL-terminated in place), or NULL. */
static char *word(char **s)
{
	char *w;

	while (**s == ' ' || **s == '\t')
		(*s)++;
	if (!**s || **s == ';' || **s == '#')
		return NULL;
	w = *s;
	while (**s && **s != ' ' && **s != '\t')
		(*s)++;
	if (**s)
		*(*s)++ = '\0';
	return w;
}

static int parse_num(struct k2_asmsrc *st, const char *v, uint64_t *out)
{
	char *end;

	*out = strtoull(v, &end, 0);
	if (!*v || *end)
		return fail(st, "expected a number, found '%s'", v);
	return 0;
}

static struct k2_asmsrc_prog *new_prog(struct k2_asmsrc *st, const char *name, const char *sec)
{
	struct k2_asmsrc_prog *p = realloc(st->progs, (st->n_progs + 1) * sizeof(*p));

	if (!p)
		return NULL;
	st->progs = p;
	p = &p[st->n_progs++];
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->sec, sizeof(p->sec), "%s", sec);
	p->line = st->line;
	return p;
}

static int dir_prog(struct k2_asmsrc *st, char *rest)
{
	char *name = word(&rest), *sec = word(&rest);

	if (!name || !is_ident(name) || strlen(name) >= K2_NAME_MAX)
		return fail(st, ".prog needs a C identifier as its name%s", "");
	if (sec)
		snprintf(st->sec, sizeof(st->sec), "%s", sec);
	if (!st->sec[0] && !st->def_sec)
		return fail(st, "program %s: no .section before it and no --type", name);
	return new_prog(st, name, st->sec[0] ? st->sec : st->def_sec) ? 0 : -ENOMEM;
}

static int dir_subprog(struct k2_asmsrc *st, char *rest)
{
	struct k2_asmsrc_prog *p = st->n_progs ? &st->progs[st->n_progs - 1] : NULL;
	char *name = word(&rest);
	char (*subs)[K2_NAME_MAX];

	if (!p)
		return fail(st, ".subprog outside a program%s", "");
	if (!name || !is_ident(name) || strlen(name) >= K2_NAME_MAX)
		return fail(st, ".subprog needs a C identifier as its name%s", "");
	subs = realloc(p->subs, (p->n_subs + 1) * sizeof(*subs));
	if (!subs)
		return -ENOMEM;
	p->subs = subs;
	snprintf(subs[p->n_subs++], K2_NAME_MAX, "%s", name);
	/* a label too, so that `call NAME` reaches it */
	{
		char lab[K2_NAME_MAX + 2];

		snprintf(lab, sizeof(lab), "%s:", name);
		return add_line(&p->body, lab, strlen(lab), st->line);
	}
}

static int new_map(struct k2_asmsrc *st, const char *name, struct k2_map **m)
{
	struct k2_map *maps = realloc(st->maps, (st->n_maps + 1) * sizeof(*maps));
	uint8_t **inits = realloc(st->inits, (st->n_maps + 1) * sizeof(*inits));
	char (*inner)[K2_NAME_MAX] = realloc(st->inner, (st->n_maps + 1) * sizeof(*inner));

	if (maps)
		st->maps = maps;
	if (inits)
		st->inits = inits;
	if (inner)
		st->inner = inner;
	if (!maps || !inits || !inner)
		return -ENOMEM;
	for (uint32_t i = 0; i < st->n_maps; i++)
		if (!strcmp(st->maps[i].name, name))
			return fail(st, "map %s is defined twice", name);
	*m = &st->maps[st->n_maps];
	memset(*m, 0, sizeof(**m));
	(*m)->inner = -1;
	snprintf((*m)->name, sizeof((*m)->name), "%s", name);
	st->inits[st->n_maps] = NULL;
	st->inner[st->n_maps][0] = '\0';
	st->n_maps++;
	return 0;
}

static int map_opt(struct k2_asmsrc *st, struct k2_map *m, char *opt)
{
	static const struct {
		const char *key, *alias;
		size_t off;
	} u32s[] = {
		{ "key", "key_size", offsetof(struct k2_map, key_size) },
		{ "value", "value_size", offsetof(struct k2_map, value_size) },
		{ "max", "max_entries", offsetof(struct k2_map, max_entries) },
		{ "flags", "map_flags", offsetof(struct k2_map, flags) },
		{ "numa", "numa_node", offsetof(struct k2_map, numa_node) },
	};
	char *eq = strchr(opt, '=');
	uint64_t v;
	int err;

	if (!strcmp(opt, "pin"))
		return m->pinning = 1, 0;
	if (!strcmp(opt, "template"))
		return m->template = true, 0;
	if (!eq)
		return fail(st, "unknown map option '%s'", opt);
	*eq++ = '\0';
	if (!strcmp(opt, "inner")) {
		snprintf(st->inner[m - st->maps], K2_NAME_MAX, "%s", eq);
		return 0;
	}
	if (!strcmp(opt, "extra")) {
		err = parse_num(st, eq, &v);
		m->map_extra = v;
		return err;
	}
	for (size_t i = 0; i < sizeof(u32s) / sizeof(u32s[0]); i++)
		if (!strcmp(opt, u32s[i].key) || !strcmp(opt, u32s[i].alias)) {
			err = parse_num(st, eq, &v);
			if (!err && v > UINT32_MAX)
				err = fail(st, "%s does not fit 32 bits", opt);
			if (!err)
				*(uint32_t *)((char *)m + u32s[i].off) = (uint32_t)v;
			return err;
		}
	return fail(st, "unknown map option '%s'", opt);
}

static int dir_map(struct k2_asmsrc *st, char *rest)
{
	char *name = word(&rest), *type = word(&rest), *opt;
	struct k2_map *m;
	uint64_t t;
	int err;

	if (!name || !type)
		return fail(st, ".map needs a name and a type%s", "");
	if (!is_ident(name) && !strchr(name, '.'))
		return fail(st, "map name %s is not an identifier", name);
	err = new_map(st, name, &m);
	if (err)
		return err;
	m->type = k2_map_type_by_name(type);
	if (!m->type) {
		if (!isdigit((unsigned char)type[0]))
			return fail(st, "unknown map type %s", type);
		if (parse_num(st, type, &t))
			return st->e->code;
		m->type = (uint32_t)t;
	}
	while ((opt = word(&rest)))
		if ((err = map_opt(st, m, opt)))
			return err;
	if (!m->template && !is_ident(name))
		return fail(st, "map name %s is not a C identifier", name);
	return 0;
}

static int parse_hex(struct k2_asmsrc *st, const char *hex, uint8_t **out, uint32_t *n)
{
	size_t len = strlen(hex);

	if (len % 2)
		return fail(st, "init= needs an even number of hex digits%s", "");
	*out = malloc(len / 2 + 1);
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < len; i += 2) {
		char b[3] = { hex[i], hex[i + 1], 0 };

		if (!isxdigit((unsigned char)b[0]) || !isxdigit((unsigned char)b[1]))
			return fail(st, "bad hex digits in init=%s", "");
		(*out)[i / 2] = (uint8_t)strtoul(b, NULL, 16);
	}
	*n = (uint32_t)(len / 2);
	return 0;
}

static int dir_data(struct k2_asmsrc *st, char *rest)
{
	char *name = word(&rest), *opt;
	uint32_t n_init = 0, idx = st->n_maps;
	uint64_t size = 0;
	struct k2_map *m;
	int err;

	if (!name)
		return fail(st, ".data needs a section name%s", "");
	err = new_map(st, name, &m);
	if (err)
		return err;
	m->internal = true;
	m->type = BPF_MAP_TYPE_ARRAY;
	m->key_size = 4;
	m->max_entries = 1;
	m->readonly = !strncmp(name, ".rodata", 7);
	while ((opt = word(&rest)) && !err) {
		if (!strncmp(opt, "size=", 5))
			err = parse_num(st, opt + 5, &size);
		else if (!strncmp(opt, "init=", 5))
			err = parse_hex(st, opt + 5, &st->inits[idx], &n_init);
		else
			err = fail(st, "unknown .data option '%s'", opt);
	}
	if (err)
		return err;
	if (!size)
		size = n_init;
	if (!size || size > (1u << 28) || n_init > size)
		return fail(st, "data section %s: bad size", name);
	if (!strncmp(name, ".bss", 4) && st->inits[idx])
		return fail(st, "%s has no initial bytes", name);
	if (st->inits[idx] && n_init < size) {
		uint8_t *p = realloc(st->inits[idx], size);

		if (!p)
			return -ENOMEM;
		memset(p + n_init, 0, size - n_init);
		st->inits[idx] = p;
	}
	st->maps[idx].value_size = (uint32_t)size;
	st->maps[idx].init = st->inits[idx];
	return 0;
}

static int directive(struct k2_asmsrc *st, char *s)
{
	char *name = word(&s), *q;
	uint64_t v;

	if (!strcmp(name, ".map"))
		return dir_map(st, s);
	if (!strcmp(name, ".data"))
		return dir_data(st, s);
	if (!strcmp(name, ".prog"))
		return dir_prog(st, s);
	if (!strcmp(name, ".subprog"))
		return dir_subprog(st, s);
	if (!strcmp(name, ".section")) {
		if (!(q = word(&s)) || strlen(q) >= sizeof(st->sec))
			return fail(st, ".section needs a name%s", "");
		snprintf(st->sec, sizeof(st->sec), "%s", q);
		return 0;
	}
	if (!strcmp(name, ".license")) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '"' && (q = strchr(s + 1, '"')))
			*q = '\0', s++;
		snprintf(st->license, sizeof(st->license), "%s", s);
		return 0;
	}
	if (!strcmp(name, ".version")) {
		if (!(q = word(&s)) || parse_num(st, q, &v) || v > UINT32_MAX)
			return fail(st, ".version needs a 32-bit number%s", "");
		st->kver = (uint32_t)v;
		return 0;
	}
	return -ENOENT; /* not ours: maybe a label like ".LBB0_1:" */
}

static int body_line(struct k2_asmsrc *st, const char *s, size_t n)
{
	struct k2_asmsrc_prog *p;
	const char *t = s;

	while (t < s + n && (*t == ' ' || *t == '\t' || *t == '\r'))
		t++;
	if (t == s + n || *t == ';' || *t == '#' || (t[0] == '/' && t[1] == '/'))
		return 0; /* nothing that would start a program */
	if (!st->n_progs) {
		const char *sec = st->sec[0] ? st->sec : st->def_sec;

		if (!sec)
			return fail(st, "instructions before any .section or .prog, and no --type%s", "");
		if (!new_prog(st, st->def_name ? st->def_name : "prog", sec))
			return -ENOMEM;
	}
	p = &st->progs[st->n_progs - 1];
	return add_line(&p->body, s, n, st->line);
}

int k2_asmsrc_parse(struct k2_asmsrc *st, char *text)
{
	char *line = text, *next;
	int err = 0;

	for (st->line = 1; line && !err; line = next, st->line++) {
		char *s = line;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '.') {
			char copy[1024];

			snprintf(copy, sizeof(copy), "%s", s);
			err = directive(st, copy);
			if (err != -ENOENT)
				continue;
			err = 0;
		}
		err = body_line(st, line, strlen(line));
	}
	if (err && !st->e->msg[0])
		k2_err_set(st->e, err, "%s: out of memory", st->path);
	return err;
}

void k2_asmsrc_free(struct k2_asmsrc *st)
{
	for (uint32_t i = 0; i < st->n_progs; i++) {
		free(st->progs[i].body.text);
		free(st->progs[i].body.src);
		free(st->progs[i].subs);
	}
	free(st->progs);
	for (uint32_t i = 0; i < st->n_maps; i++)
		free(st->inits[i]);
	free(st->inits);
	free(st->inner);
	free(st->maps);
}
