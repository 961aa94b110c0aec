/* bpf/cmd_asm.c: `k2 asm FILE.s -o FILE.o`: text programs with directives into an object. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/k2_text.h"
#include "bpf/obj_asm.h"

struct asm_buf {
	char *p;
	size_t n, cap;
};

static int put(struct asm_buf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		size_t nc = (b->n + n + 1) * 2;
		char *p = realloc(b->p, nc);

		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = nc;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
	return 0;
}

static int map_index(const struct k2_asmsrc *st, const char *name, size_t n)
{
	for (uint32_t i = 0; i < st->n_maps; i++)
		if (strlen(st->maps[i].name) == n && !strncmp(st->maps[i].name, name, n))
			return (int)i;
	return -1;
}

/* The program's lines with map[NAME] turned into map[idx:N]. */
static int resolve_maps(const struct k2_asmsrc *st, const struct k2_asmsrc_prog *p,
			struct asm_buf *out, struct k2_err *e)
{
	const char *s = p->body.text;
	uint32_t line = 0;
	int err = 0;

	while (s && *s && !err) {
		const char *eol = strchr(s, '\n'), *m = strstr(s, "map["), *end, *name;

		if (!eol)
			eol = s + strlen(s);
		if (!m || m > eol) {
			err = put(out, s, (size_t)(eol - s) + (*eol == '\n'));
			s = *eol ? eol + 1 : eol;
			line++;
			continue;
		}
		name = m + 4;
		end = memchr(name, ']', (size_t)(eol - name));
		err = put(out, s, (size_t)(name - s));
		if (!err && end && strncmp(name, "idx:", 4) && strncmp(name, "fd:", 3)) {
			char idx[24];
			int mi = map_index(st, name, (size_t)(end - name));

			if (mi < 0)
				return k2_err_set(e, -EINVAL, "%s:%u: unknown map %.*s", st->path,
						  p->body.src[line], (int)(end - name), name);
			snprintf(idx, sizeof(idx), "idx:%d", mi);
			err = put(out, idx, strlen(idx));
			name = end;
		}
		s = name;
	}
	return err ? k2_err_set(e, err, "out of memory") : 0;
}

struct asm_out {
	struct bpf_insn *insns;
	size_t n;
	const char **names;
	uint32_t *at;
	uint32_t n_subs;
	char (*inferred)[K2_NAME_MAX];
};

/* Without .subprog: every pseudo call or callback target starts a subprogram. */
static int infer_subs(const struct k2_asmsrc_prog *p, struct asm_out *o)
{
	bool *start = calloc(o->n + 1, sizeof(*start));

	if (!start)
		return -ENOMEM;
	for (size_t i = 0; i < o->n; i++) {
		enum k2_op op = k2_insn_op(&o->insns[i]);
		long t = (long)i + 1 + o->insns[i].imm;

		if ((op == K2_OP_CALL_PSEUDO || op == K2_OP_LDDW_FUNC) && t > 0 && (size_t)t < o->n)
			start[t] = true;
	}
	for (size_t i = 0; i < o->n; i++)
		o->n_subs += start[i];
	o->names = calloc(o->n_subs + 1, sizeof(*o->names));
	o->at = calloc(o->n_subs + 1, sizeof(*o->at));
	o->inferred = calloc(o->n_subs + 1, sizeof(*o->inferred));
	if (!o->names || !o->at || !o->inferred) {
		free(start);
		return -ENOMEM;
	}
	for (size_t i = 0, k = 0; i < o->n; i++)
		if (start[i]) {
			snprintf(o->inferred[k], K2_NAME_MAX, "%.40s_sub%zu", p->name, k);
			o->names[k] = o->inferred[k];
			o->at[k++] = (uint32_t)i;
		}
	free(start);
	return 0;
}

/* Where each .subprog label landed: a `call NAME` per subprogram is appended, then dropped. */
static int assemble(const struct k2_asmsrc *st, const struct k2_asmsrc_prog *p, struct asm_out *o,
		    struct k2_err *e)
{
	struct asm_buf text = { 0 };
	struct k2_err ae = { 0 };
	unsigned line;
	int n = 0, err = resolve_maps(st, p, &text, e);

	for (uint32_t k = 0; k < p->n_subs && !err; k++)
		if (put(&text, "call ", 5) || put(&text, p->subs[k], strlen(p->subs[k])) ||
		    put(&text, "\n", 1))
			err = k2_err_set(e, -ENOMEM, "out of memory");
	if (!err && k2_asm_prog(text.p ? text.p : "", &o->insns, &o->n, &ae)) {
		if (sscanf(ae.msg, "line %u: %n", &line, &n) == 1 && n > 0 && line >= 1 &&
		    line <= p->body.n)
			err = k2_err_set(e, ae.code, "%s:%u: %s", st->path, p->body.src[line - 1],
					 ae.msg + n);
		else
			err = k2_err_set(e, ae.code, "%s: program %s: %s", st->path, p->name, ae.msg);
	}
	free(text.p);
	if (err)
		return err;
	if (!p->n_subs)
		return infer_subs(p, o) ? k2_err_set(e, -ENOMEM, "out of memory") : 0;
	o->n -= p->n_subs;
	o->n_subs = p->n_subs;
	o->names = calloc(p->n_subs, sizeof(*o->names));
	o->at = calloc(p->n_subs, sizeof(*o->at));
	if (!o->names || !o->at)
		return k2_err_set(e, -ENOMEM, "out of memory");
	for (uint32_t k = 0; k < p->n_subs; k++) {
		o->names[k] = p->subs[k];
		o->at[k] = (uint32_t)((long)o->n + k + 1 + o->insns[o->n + k].imm);
		if (o->at[k] == 0 || o->at[k] >= o->n || (k && o->at[k] <= o->at[k - 1]))
			return k2_err_set(e, -EINVAL, "%s: program %s: subprogram %s is empty or out of order",
					  st->path, p->name, p->subs[k]);
	}
	return 0;
}

static int link_inner(struct k2_asmsrc *st, struct k2_err *e)
{
	for (uint32_t i = 0; i < st->n_maps; i++) {
		int t;

		if (!st->inner[i][0])
			continue;
		t = map_index(st, st->inner[i], strlen(st->inner[i]));
		if (t < 0 || !st->maps[t].template)
			return k2_err_set(e, -EINVAL, "%s: map %s: inner map %s is not a template map",
					  st->path, st->maps[i].name, st->inner[i]);
		st->maps[i].inner = t;
	}
	return 0;
}

/* --type: a section name ("xdp", "kprobe/x") or a type ("xdp", "sched_cls", "socket_filter"). */
static const char *type_section(const char *type, uint32_t *t)
{
	*t = k2_prog_type_of_section(type, NULL);
	if (*t)
		return type;
	*t = k2_prog_type_by_name(type);
	return *t ? k2_prog_type_section(*t) : NULL;
}

static int check_types(const struct k2_object *obj, uint32_t want, const char *type,
		       struct k2_err *e)
{
	for (uint32_t i = 0; want && i < obj->n_progs; i++)
		if (obj->progs[i].type != want)
			return k2_err_set(e, -EINVAL,
					  "program %s: section %s gives type %s, not --type %s",
					  obj->progs[i].name, obj->progs[i].sec,
					  k2_prog_type_name(obj->progs[i].type), type);
	return 0;
}

static int build_and_write(struct k2_asmsrc *st, const char *out, uint32_t want,
			   const char *type, struct k2_err *e)
{
	struct k2_build_prog *bp = calloc(st->n_progs + 1, sizeof(*bp));
	struct asm_out *o = calloc(st->n_progs + 1, sizeof(*o));
	struct k2_object *obj = NULL;
	void *buf = NULL;
	size_t len = 0;
	int err = bp && o ? link_inner(st, e) : k2_err_set(e, -ENOMEM, "out of memory");

	for (uint32_t i = 0; i < st->n_progs && !err; i++) {
		err = assemble(st, &st->progs[i], &o[i], e);
		bp[i] = (struct k2_build_prog){ st->progs[i].name, st->progs[i].sec, o[i].insns,
						(uint32_t)o[i].n, o[i].n_subs, o[i].names, o[i].at };
	}
	if (!err && !st->n_progs)
		err = k2_err_set(e, -EINVAL, "%s: no programs", st->path);
	if (!err && k2_object_build(st->maps, st->n_maps, bp, st->n_progs,
				    st->license[0] ? st->license : NULL, st->kver, &buf, &len, e))
		err = k2_err_prefix(e, "%s: ", st->path);
	if (!err)
		err = k2_object_open_mem(buf, len, out, &obj, e);
	if (!err)
		err = check_types(obj, want, type, e);
	if (!err)
		err = k2_object_write(obj, out, e);
	k2_object_free(obj);
	free(buf);
	for (uint32_t i = 0; o && i < st->n_progs; i++) {
		free(o[i].insns);
		free(o[i].names);
		free(o[i].at);
		free(o[i].inferred);
	}
	free(o);
	free(bp);
	return err;
}

static char *read_text(const char *path, struct k2_err *e)
{
	FILE *f = fopen(path, "r");
	struct asm_buf b = { 0 };
	char chunk[4096];
	size_t n;

	if (!f) {
		k2_err_set(e, -errno, "%s: %s", path, strerror(errno));
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (put(&b, chunk, n)) {
			free(b.p);
			fclose(f);
			k2_err_set(e, -ENOMEM, "out of memory");
			return NULL;
		}
	fclose(f);
	if (!b.p)
		b.p = calloc(1, 1);
	return b.p;
}

static int usage(FILE *f)
{
	fprintf(f,
		"usage: k2 asm FILE.s [-o FILE.o] [--type TYPE] [--name NAME]\n"
		"Assembles programs in the text form (what `k2 disasm` prints) into a BPF object\n"
		"that libbpf loads. --type gives the section of programs without .section (a type\n"
		"such as xdp, sched_cls, socket_filter, or a section name) and checks every\n"
		"program's type. Directives:\n"
		"  .license \"GPL\"   .version N   .section NAME   .prog NAME   .subprog NAME\n"
		"  .map NAME TYPE key=N value=N max=N [flags=N] [pin] [inner=MAP] [template]\n"
		"  .data .rodata|.data*|.bss* [size=N] [init=HEX]\n"
		"Instructions use map[NAME] for maps and `call NAME` for subprograms.\n");
	return f == stdout ? 0 : 2;
}

int k2_cmd_asm(int argc, char **argv)
{
	struct k2_err e = { 0 };
	struct k2_asmsrc st = { .e = &e };
	const char *in = NULL, *out = NULL, *type = NULL;
	char outbuf[4096], *text;
	uint32_t want = 0;
	int err;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return usage(stdout);
		if (!strcmp(argv[i], "-o") && i + 1 < argc)
			out = argv[++i];
		else if (!strcmp(argv[i], "--type") && i + 1 < argc)
			type = argv[++i];
		else if (!strcmp(argv[i], "--name") && i + 1 < argc)
			st.def_name = argv[++i];
		else if (argv[i][0] != '-' && !in)
			in = argv[i];
		else
			return usage(stderr);
	}
	if (!in)
		return usage(stderr);
	if (type && !(st.def_sec = type_section(type, &want))) {
		fprintf(stderr, "k2 asm: unknown program type %s\n", type);
		return 2;
	}
	if (!out) {
		const char *dot = strrchr(in, '.');
		int n = dot && !strchr(dot, '/') ? (int)(dot - in) : (int)strlen(in);

		snprintf(outbuf, sizeof(outbuf), "%.*s.o", n, in);
		out = outbuf;
	}
	st.path = in;
	text = read_text(in, &e);
	err = text ? k2_asmsrc_parse(&st, text) : -1;
	if (!err)
		err = build_and_write(&st, out, want, type, &e);
	free(text);
	k2_asmsrc_free(&st);
	if (err) {
		fprintf(stderr, "k2 asm: %s\n", e.msg);
		return 1;
	}
	return 0;
}
