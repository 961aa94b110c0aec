/* bpf/vm_case.c: semantics cases (.k2t): parsing a case and checking the interpreter. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/k2_text.h"
#include "bpf/vm_internal.h"

#define MAX_BYTES 4096

static const struct {
	const char *name;
	uint32_t type;
} prog_types[] = {
	{ "xdp", BPF_PROG_TYPE_XDP },
	{ "socket", BPF_PROG_TYPE_SOCKET_FILTER },
	{ "tc", BPF_PROG_TYPE_SCHED_CLS },
	{ "kprobe", BPF_PROG_TYPE_KPROBE },
	{ "tracepoint", BPF_PROG_TYPE_TRACEPOINT },
	{ "raw_tracepoint", BPF_PROG_TYPE_RAW_TRACEPOINT },
};

static const struct {
	const char *name;
	uint32_t type;
} map_types[] = {
	{ "hash", BPF_MAP_TYPE_HASH },
	{ "array", BPF_MAP_TYPE_ARRAY },
	{ "prog_array", BPF_MAP_TYPE_PROG_ARRAY },
	{ "perf_event_array", BPF_MAP_TYPE_PERF_EVENT_ARRAY },
	{ "percpu_hash", BPF_MAP_TYPE_PERCPU_HASH },
	{ "percpu_array", BPF_MAP_TYPE_PERCPU_ARRAY },
	{ "lru_hash", BPF_MAP_TYPE_LRU_HASH },
	{ "lru_percpu_hash", BPF_MAP_TYPE_LRU_PERCPU_HASH },
	{ "lpm_trie", BPF_MAP_TYPE_LPM_TRIE },
	{ "array_of_maps", BPF_MAP_TYPE_ARRAY_OF_MAPS },
	{ "devmap", BPF_MAP_TYPE_DEVMAP },
	{ "cpumap", BPF_MAP_TYPE_CPUMAP },
	{ "xskmap", BPF_MAP_TYPE_XSKMAP },
	{ "devmap_hash", BPF_MAP_TYPE_DEVMAP_HASH },
	{ "ringbuf", BPF_MAP_TYPE_RINGBUF },
};

struct parser {
	struct k2_case *c;
	const char *name;
	uint32_t line;
	struct k2_err *e;
	char *prog_text;
	size_t prog_len, prog_cap;
	bool in_prog, have_prog;
	/* initial entries, applied once the maps exist */
	struct {
		uint32_t map;
		uint8_t *key, *val;
		uint32_t klen, vlen;
		uint32_t line;
	} init[64];
	uint32_t n_init;
};

static int perr(struct parser *p, const char *fmt, const char *arg)
{
	char msg[256];

	snprintf(msg, sizeof(msg), fmt, arg);
	return k2_err_set(p->e, -EINVAL, "%s:%u: %s", p->name, p->line, msg);
}

static bool parse_num(const char *s, uint64_t *v)
{
	char *end;
	bool neg = *s == '-';

	if (!*s)
		return false;
	*v = strtoull(neg ? s + 1 : s, &end, 0);
	if (*end)
		return false;
	if (neg)
		*v = (uint64_t) - (int64_t)*v;
	return true;
}

/* Appends the bytes of one token ("0a0b", "u32:5", "be16:0x800", "zero:14", "ip:10.0.0.1"). */
static int token_bytes(struct parser *p, const char *tok, uint8_t *out, uint32_t *n)
{
	static const struct {
		const char *pfx;
		int size;
		bool be;
	} kinds[] = {
		{ "u8:", 1, false },  { "u16:", 2, false }, { "u32:", 4, false },
		{ "u64:", 8, false }, { "be16:", 2, true }, { "be32:", 4, true },
		{ "be64:", 8, true },
	};
	uint64_t v;

	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		size_t pl = strlen(kinds[k].pfx);

		if (strncmp(tok, kinds[k].pfx, pl))
			continue;
		if (!parse_num(tok + pl, &v))
			return perr(p, "bad number in '%s'", tok);
		if (*n + (uint32_t)kinds[k].size > MAX_BYTES)
			return perr(p, "too many bytes at '%s'", tok);
		for (int i = 0; i < kinds[k].size; i++) {
			int sh = kinds[k].be ? (kinds[k].size - 1 - i) * 8 : i * 8;

			out[(*n)++] = (uint8_t)(v >> sh);
		}
		return 0;
	}
	if (!strncmp(tok, "zero:", 5)) {
		if (!parse_num(tok + 5, &v) || *n + v > MAX_BYTES)
			return perr(p, "bad zero count in '%s'", tok);
		memset(out + *n, 0, v);
		*n += (uint32_t)v;
		return 0;
	}
	if (!strncmp(tok, "ip:", 3)) {
		unsigned a, b, c, d;

		if (sscanf(tok + 3, "%u.%u.%u.%u", &a, &b, &c, &d) != 4 || *n + 4 > MAX_BYTES)
			return perr(p, "bad address '%s'", tok);
		out[(*n)++] = (uint8_t)a, out[(*n)++] = (uint8_t)b;
		out[(*n)++] = (uint8_t)c, out[(*n)++] = (uint8_t)d;
		return 0;
	}
	if (strlen(tok) % 2)
		return perr(p, "hex bytes need an even number of digits: '%s'", tok);
	for (const char *s = tok; *s; s += 2) {
		char h[3] = { s[0], s[1], 0 };
		char *end;

		if (!isxdigit((unsigned char)s[0]) || !isxdigit((unsigned char)s[1]))
			return perr(p, "bad hex byte in '%s'", tok);
		if (*n >= MAX_BYTES)
			return perr(p, "too many bytes at '%s'", tok);
		out[(*n)++] = (uint8_t)strtoul(h, &end, 16);
	}
	return 0;
}

/* Tokens tok[from, to) as bytes into a malloc'd buffer. */
static int bytes_of(struct parser *p, char **tok, int from, int to, uint8_t **out, uint32_t *n)
{
	uint8_t *buf = malloc(MAX_BYTES);
	int err;

	if (!buf)
		return k2_err_set(p->e, -ENOMEM, "out of memory");
	*n = 0;
	for (int i = from; i < to; i++)
		if ((err = token_bytes(p, tok[i], buf, n))) {
			free(buf);
			return err;
		}
	*out = buf;
	return 0;
}

static int find_map(struct parser *p, const char *name, uint32_t *idx)
{
	for (uint32_t i = 0; i < p->c->prog.n_maps; i++)
		if (!strcmp(p->c->maps[i].name, name)) {
			*idx = i;
			return 0;
		}
	return perr(p, "unknown map '%s'", name);
}

static int split_eq(char **tok, int nt)
{
	for (int i = 0; i < nt; i++)
		if (!strcmp(tok[i], "="))
			return i;
	return -1;
}

static int kv_of(struct parser *p, const char *prop, const char *tok, uint32_t *v)
{
	size_t pl = strlen(prop);
	uint64_t x;

	if (strncmp(tok, prop, pl) || tok[pl] != '=')
		return 1;
	if (!parse_num(tok + pl + 1, &x) || x > UINT32_MAX)
		return perr(p, "bad number in '%s'", tok);
	*v = (uint32_t)x;
	return 0;
}

static int dir_map(struct parser *p, char **tok, int nt)
{
	struct k2_case *c = p->c;
	struct k2_map *m;
	size_t k;

	if (nt < 3)
		return perr(p, "%s", "map NAME TYPE key=N value=N max=N [flags=N] [rodata]");
	if (c->prog.n_maps >= K2_CASE_MAPS)
		return perr(p, "%s", "too many maps");
	m = &c->maps[c->prog.n_maps];
	memset(m, 0, sizeof(*m));
	m->inner = -1;
	snprintf(m->name, sizeof(m->name), "%s", tok[1]);
	for (k = 0; k < sizeof(map_types) / sizeof(map_types[0]); k++)
		if (!strcmp(tok[2], map_types[k].name))
			break;
	if (k == sizeof(map_types) / sizeof(map_types[0]))
		return perr(p, "unknown map type '%s'", tok[2]);
	m->type = map_types[k].type;
	for (int i = 3; i < nt; i++) {
		int r = kv_of(p, "key", tok[i], &m->key_size);

		if (r == 1)
			r = kv_of(p, "value", tok[i], &m->value_size);
		if (r == 1)
			r = kv_of(p, "max", tok[i], &m->max_entries);
		if (r == 1)
			r = kv_of(p, "flags", tok[i], &m->flags);
		if (r == 1 && !strcmp(tok[i], "rodata"))
			m->readonly = m->internal = true, r = 0;
		if (r == 1)
			return perr(p, "unknown map property '%s'", tok[i]);
		if (r)
			return r;
	}
	c->prog.n_maps++;
	return 0;
}

static int dir_init(struct parser *p, char **tok, int nt)
{
	int eq = split_eq(tok, nt), err;
	uint32_t map = 0;

	if (nt < 4 || eq < 3 || p->n_init >= 64)
		return perr(p, "%s", "init MAP KEY... = VALUE...");
	if ((err = find_map(p, tok[1], &map)))
		return err;
	p->init[p->n_init].map = map;
	p->init[p->n_init].line = p->line;
	if ((err = bytes_of(p, tok, 2, eq, &p->init[p->n_init].key, &p->init[p->n_init].klen)))
		return err;
	if ((err = bytes_of(p, tok, eq + 1, nt, &p->init[p->n_init].val,
			    &p->init[p->n_init].vlen))) {
		free(p->init[p->n_init].key);
		return err;
	}
	p->n_init++;
	return 0;
}

static struct k2_expect *new_exp(struct parser *p, enum k2_expect_kind kind)
{
	struct k2_expect *x;

	if (p->c->n_exp >= K2_CASE_EXPECTS)
		return NULL;
	x = &p->c->exp[p->c->n_exp++];
	memset(x, 0, sizeof(*x));
	x->kind = kind;
	x->line = p->line;
	return x;
}

static int exp_num(struct parser *p, char **tok, int nt, enum k2_expect_kind kind)
{
	struct k2_expect *x = new_exp(p, kind);

	if (!x || nt != 4 || strcmp(tok[2], "="))
		return perr(p, "expect %s = VALUE", tok[1]);
	if (kind == K2_EXP_STATUS) {
		for (int s = 0; s < K2_RUN__COUNT; s++)
			if (!strcmp(tok[3], k2_status_name((enum k2_status)s))) {
				x->val = (uint64_t)s;
				return 0;
			}
		return perr(p, "unknown status '%s'", tok[3]);
	}
	if (!parse_num(tok[3], &x->val))
		return perr(p, "bad number '%s'", tok[3]);
	return 0;
}

static int exp_map(struct parser *p, char **tok, int nt)
{
	int eq = split_eq(tok, nt), err;
	struct k2_expect *x;
	bool absent = nt >= 4 && !strcmp(tok[nt - 1], "absent");
	uint32_t map = 0;

	if (nt < 4 || (!absent && eq < 4))
		return perr(p, "%s",
			    "expect map MAP KEY... = VALUE...  |  expect map MAP KEY... absent");
	if ((err = find_map(p, tok[2], &map)))
		return err;
	x = new_exp(p, absent ? K2_EXP_MAP_ABSENT : K2_EXP_MAP);
	if (!x)
		return perr(p, "%s", "too many expectations");
	x->map = map;
	if ((err = bytes_of(p, tok, 3, absent ? nt - 1 : eq, &x->key, &x->len)))
		return err;
	if (absent)
		return 0;
	return bytes_of(p, tok, eq + 1, nt, &x->bytes, &x->len);
}

static int exp_effect(struct parser *p, char **tok, int nt)
{
	struct k2_expect *x = new_exp(p, K2_EXP_EFFECT);
	int eq = split_eq(tok, nt);

	/* expect effect I helper N [= BYTES...] */
	if (!x || nt < 5 || strcmp(tok[3], "helper") || !parse_num(tok[2], &x->val) ||
	    !parse_num(tok[4], &x->val2) || (nt > 5 && eq != 5))
		return perr(p, "%s", "expect effect INDEX helper ID [= DATA...]");
	if (eq == 5)
		return bytes_of(p, tok, 6, nt, &x->bytes, &x->len);
	return 0;
}

static int dir_expect(struct parser *p, char **tok, int nt)
{
	struct k2_expect *x;
	int err;

	if (nt < 2)
		return perr(p, "%s", "expect WHAT ...");
	if (!strcmp(tok[1], "r0"))
		return exp_num(p, tok, nt, K2_EXP_R0);
	if (!strcmp(tok[1], "status"))
		return exp_num(p, tok, nt, K2_EXP_STATUS);
	if (!strcmp(tok[1], "err_insn"))
		return exp_num(p, tok, nt, K2_EXP_ERR_INSN);
	if (!strcmp(tok[1], "effects"))
		return exp_num(p, tok, nt, K2_EXP_N_EFFECTS);
	if (!strcmp(tok[1], "tail_call"))
		return exp_num(p, tok, nt, K2_EXP_TAIL_CALL);
	if (!strcmp(tok[1], "meta_len"))
		return exp_num(p, tok, nt, K2_EXP_META_LEN);
	if (!strcmp(tok[1], "map"))
		return exp_map(p, tok, nt);
	if (!strcmp(tok[1], "effect"))
		return exp_effect(p, tok, nt);
	if (!strcmp(tok[1], "packet")) {
		if (nt < 3 || strcmp(tok[2], "=") || !(x = new_exp(p, K2_EXP_PKT)))
			return perr(p, "%s", "expect packet = BYTES...");
		return bytes_of(p, tok, 3, nt, &x->bytes, &x->len);
	}
	if (!strcmp(tok[1], "ctx")) {
		uint8_t *b;
		uint32_t n;

		/* expect ctx @OFF = u32:V */
		if (nt < 5 || tok[2][0] != '@' || strcmp(tok[3], "=") ||
		    !(x = new_exp(p, K2_EXP_CTX32)) || !parse_num(tok[2] + 1, &x->val))
			return perr(p, "%s", "expect ctx @OFFSET = BYTES (4 bytes)");
		if ((err = bytes_of(p, tok, 4, nt, &b, &n)))
			return err;
		if (n != 4) {
			free(b);
			return perr(p, "%s", "expect ctx compares 4 bytes");
		}
		memcpy(&n, b, 4);
		x->val2 = n;
		free(b);
		return 0;
	}
	return perr(p, "unknown expectation '%s'", tok[1]);
}

static int dir_data(struct parser *p, char **tok, int nt, uint8_t *dst, uint32_t *len, uint32_t cap)
{
	uint8_t *b;
	uint32_t n, at = *len;
	int from = 1, err;
	uint64_t off;

	if (nt > 1 && tok[1][0] == '@') {
		if (!parse_num(tok[1] + 1, &off) || off > cap)
			return perr(p, "bad offset '%s'", tok[1]);
		at = (uint32_t)off;
		from = 2;
	}
	if ((err = bytes_of(p, tok, from, nt, &b, &n)))
		return err;
	if (at + n > cap) {
		free(b);
		return perr(p, "%s", "too many bytes for this input field");
	}
	memcpy(dst + at, b, n);
	if (at + n > *len)
		*len = at + n;
	free(b);
	return 0;
}

static int dir_simple(struct parser *p, char **tok, int nt)
{
	struct k2_case *c = p->c;
	uint64_t v;

	if (!strcmp(tok[0], "type")) {
		for (size_t k = 0; nt == 2 && k < sizeof(prog_types) / sizeof(prog_types[0]); k++)
			if (!strcmp(tok[1], prog_types[k].name)) {
				c->prog.type = prog_types[k].type;
				snprintf(c->prog.sec, sizeof(c->prog.sec), "%s", tok[1]);
				return 0;
			}
		return perr(p, "unknown program type '%s'", nt > 1 ? tok[1] : "");
	}
	if (!strcmp(tok[0], "ndet")) {
		for (int i = 1; i < nt; i++) {
			if (c->in.n_ndet >= K2_NDET_MAX || !parse_num(tok[i], &v))
				return perr(p, "bad ndet value '%s'", tok[i]);
			c->in.ndet[c->in.n_ndet++] = v;
		}
		return 0;
	}
	if (nt != 2 || !parse_num(tok[1], &v))
		return perr(p, "%s: expected one number", tok[0]);
	if (!strcmp(tok[0], "cpu"))
		c->in.cpu = (uint32_t)v;
	else if (!strcmp(tok[0], "ncpus"))
		c->ncpus = (uint32_t)v;
	else if (!strcmp(tok[0], "kmem_seed"))
		c->in.kmem_seed = v;
	else if (!strcmp(tok[0], "attach"))
		c->prog.attach_type = (uint32_t)v;
	else
		return perr(p, "unknown directive '%s'", tok[0]);
	return 0;
}

static int directive(struct parser *p, char *line)
{
	char *tok[600];
	int nt = 0;

	for (char *s = strtok(line, " \t\r\n"); s && nt < 600; s = strtok(NULL, " \t\r\n"))
		tok[nt++] = s;
	if (!nt)
		return 0;
	if (!strcmp(tok[0], "map"))
		return dir_map(p, tok, nt);
	if (!strcmp(tok[0], "init"))
		return dir_init(p, tok, nt);
	if (!strcmp(tok[0], "expect"))
		return dir_expect(p, tok, nt);
	if (!strcmp(tok[0], "packet"))
		return dir_data(p, tok, nt, p->c->in.pkt, &p->c->in.pkt_len, sizeof(p->c->in.pkt));
	if (!strcmp(tok[0], "ctx"))
		return dir_data(p, tok, nt, p->c->in.ctx, &p->c->in.ctx_len, K2_CTX_MAX);
	if (!strcmp(tok[0], "kernel")) {
		char *rest = nt > 2 ? tok[2] : (char *)"";

		if (nt < 2 || strcmp(tok[1], "skip"))
			return perr(p, "%s", "kernel skip REASON");
		snprintf(p->c->kernel_skip, sizeof(p->c->kernel_skip), "%s", *rest ? rest : "skip");
		for (int i = 3; i < nt; i++) {
			size_t l = strlen(p->c->kernel_skip);

			snprintf(p->c->kernel_skip + l, sizeof(p->c->kernel_skip) - l, " %s",
				 tok[i]);
		}
		return 0;
	}
	return dir_simple(p, tok, nt);
}

static int prog_append(struct parser *p, const char *line)
{
	size_t l = strlen(line);

	if (p->prog_len + l + 2 > p->prog_cap) {
		size_t nc = (p->prog_cap + l + 2) * 2;
		char *t = realloc(p->prog_text, nc);

		if (!t)
			return k2_err_set(p->e, -ENOMEM, "out of memory");
		p->prog_text = t;
		p->prog_cap = nc;
	}
	memcpy(p->prog_text + p->prog_len, line, l);
	p->prog_len += l;
	p->prog_text[p->prog_len++] = '\n';
	p->prog_text[p->prog_len] = 0;
	return 0;
}

static int finish(struct parser *p)
{
	struct k2_case *c = p->c;
	struct bpf_insn *insns;
	size_t n;
	int err;

	if (!p->have_prog)
		return k2_err_set(p->e, -EINVAL, "%s: no program section", p->name);
	if (!c->prog.type)
		return k2_err_set(p->e, -EINVAL, "%s: no 'type' line", p->name);
	err = k2_asm_prog(p->prog_text ? p->prog_text : "", &insns, &n, p->e);
	if (err)
		return k2_err_prefix(p->e, "%s: program: ", p->name);
	c->prog.insns = insns;
	c->prog.n_insns = c->prog.n_main = (uint32_t)n;
	c->prog.maps = c->maps;
	snprintf(c->prog.name, sizeof(c->prog.name), "%s", "case");
	if (!c->ncpus)
		c->ncpus = 1;
	if ((err = k2_mapstate_new(c->maps, c->prog.n_maps, c->ncpus, &c->ms, p->e)))
		return k2_err_prefix(p->e, "%s: ", p->name);
	for (uint32_t i = 0; i < p->n_init; i++) {
		const struct k2_map *m = &c->maps[p->init[i].map];
		uint32_t vs = m->value_size;

		if (m->type == BPF_MAP_TYPE_PERCPU_ARRAY || m->type == BPF_MAP_TYPE_PERCPU_HASH ||
		    m->type == BPF_MAP_TYPE_LRU_PERCPU_HASH)
			vs *= c->ncpus;
		p->line = p->init[i].line;
		if (p->init[i].klen != m->key_size || p->init[i].vlen != vs)
			return perr(p, "init %s: key or value size does not match the map",
				    m->name);
		err = k2_mapstate_update(c->ms, p->init[i].map, p->init[i].key, p->init[i].val,
					 BPF_ANY);
		if (err)
			return perr(p, "init %s: the update fails", m->name);
	}
	c->in.maps = c->ms;
	return 0;
}

int k2_case_parse(const char *text, const char *name, struct k2_case **out, struct k2_err *e)
{
	struct parser p = { .name = name, .e = e };
	const char *s = text;
	int err = 0;

	p.c = calloc(1, sizeof(*p.c));
	if (!p.c)
		return k2_err_set(e, -ENOMEM, "out of memory");
	snprintf(p.c->name, sizeof(p.c->name), "%s", name);
	while (*s && !err) {
		const char *nl = strchr(s, '\n');
		size_t l = nl ? (size_t)(nl - s) : strlen(s);
		char *line = strndup(s, l), *t = line;

		p.line++;
		if (!line)
			return k2_err_set(e, -ENOMEM, "out of memory");
		while (isspace((unsigned char)*t))
			t++;
		if (p.in_prog) {
			if (!strcmp(t, "end"))
				p.in_prog = false;
			else
				err = prog_append(&p, line);
		} else if (!strcmp(t, "program")) {
			p.in_prog = p.have_prog = true;
		} else if (*t && *t != '#') {
			err = directive(&p, t);
		}
		free(line);
		s = nl ? nl + 1 : s + l;
	}
	if (!err && p.in_prog)
		err = k2_err_set(e, -EINVAL, "%s: program without 'end'", name);
	if (!err)
		err = finish(&p);
	for (uint32_t i = 0; i < p.n_init; i++) {
		free(p.init[i].key);
		free(p.init[i].val);
	}
	free(p.prog_text);
	if (err) {
		k2_case_free(p.c);
		return err;
	}
	*out = p.c;
	return 0;
}

int k2_case_load(const char *path, struct k2_case **out, struct k2_err *e)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long len;
	int err;

	if (!f)
		return k2_err_set(e, -errno, "%s: cannot open", path);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)len + 1);
	if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		fclose(f);
		free(buf);
		return k2_err_set(e, -EIO, "%s: cannot read", path);
	}
	fclose(f);
	buf[len] = 0;
	err = k2_case_parse(buf, path, out, e);
	free(buf);
	return err;
}

void k2_case_free(struct k2_case *c)
{
	if (!c)
		return;
	for (uint32_t i = 0; i < c->n_exp; i++) {
		free(c->exp[i].key);
		free(c->exp[i].bytes);
	}
	free(c->prog.insns);
	k2_mapstate_free(c->ms);
	free(c);
}

/* ---- checking the interpreter ------------------------------------------------------------- */

static void hex(const uint8_t *b, uint32_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (uint32_t i = 0; i < n && o + 3 < cap; i++)
		o += (size_t)snprintf(out + o, cap - o, "%02x", b[i]);
	if (o + 3 >= cap && cap > 4)
		memcpy(out + cap - 4, "...", 4);
}

static int mismatch_bytes(const struct k2_case *c, const struct k2_expect *x, const char *what,
			  const uint8_t *got, uint32_t n, struct k2_err *e)
{
	char a[160], b[160];

	hex(x->bytes, x->len, a, sizeof(a));
	hex(got, n, b, sizeof(b));
	return k2_err_set(e, -EDOM, "%s:%u: %s: expected %s, got %s", c->name, x->line, what, a, b);
}

static int check_one(const struct k2_case *c, const struct k2_vm *vm, const struct k2_result *r,
		     const struct k2_expect *x, struct k2_err *e)
{
	uint8_t val[MAX_BYTES];
	uint32_t v32;
	int err;

	switch (x->kind) {
	case K2_EXP_R0:
		if (r->status == K2_RUN_OK && r->r0 == x->val)
			return 0;
		return k2_err_set(e, -EDOM, "%s:%u: r0: expected %#llx, got %#llx (status %s%s%s)",
				  c->name, x->line, (unsigned long long)x->val,
				  (unsigned long long)r->r0, k2_status_name(r->status),
				  r->err_reason ? ": " : "", r->err_reason ? r->err_reason : "");
	case K2_EXP_STATUS:
		if (r->status == x->val)
			return 0;
		return k2_err_set(e, -EDOM, "%s:%u: status: expected %s, got %s at insn %u%s%s",
				  c->name, x->line, k2_status_name((enum k2_status)x->val),
				  k2_status_name(r->status), r->err_insn, r->err_reason ? ": " : "",
				  r->err_reason ? r->err_reason : "");
	case K2_EXP_ERR_INSN:
		if (r->status != K2_RUN_OK && r->err_insn == x->val)
			return 0;
		return k2_err_set(e, -EDOM, "%s:%u: error instruction: expected %llu, got %u (%s)",
				  c->name, x->line, (unsigned long long)x->val, r->err_insn,
				  k2_status_name(r->status));
	case K2_EXP_PKT:
		if (r->pkt_len == x->len && !memcmp(r->pkt, x->bytes, x->len))
			return 0;
		return mismatch_bytes(c, x, "packet", r->pkt, r->pkt_len, e);
	case K2_EXP_META_LEN:
		if (r->meta_len == x->val)
			return 0;
		return k2_err_set(e, -EDOM, "%s:%u: meta_len: expected %llu, got %u", c->name,
				  x->line, (unsigned long long)x->val, r->meta_len);
	case K2_EXP_MAP:
	case K2_EXP_MAP_ABSENT:
		err = k2_vm_map_lookup(vm, x->map, x->key, val);
		if (x->kind == K2_EXP_MAP_ABSENT) {
			if (err == -ENOENT)
				return 0;
			return k2_err_set(e, -EDOM, "%s:%u: map %s: expected the key absent",
					  c->name, x->line, c->maps[x->map].name);
		}
		if (err)
			return k2_err_set(e, -EDOM, "%s:%u: map %s: key absent", c->name, x->line,
					  c->maps[x->map].name);
		if (!memcmp(val, x->bytes, x->len))
			return 0;
		return mismatch_bytes(c, x, "map value", val, x->len, e);
	case K2_EXP_N_EFFECTS:
		if (r->n_effects == x->val)
			return 0;
		return k2_err_set(e, -EDOM, "%s:%u: effects: expected %llu, got %u", c->name,
				  x->line, (unsigned long long)x->val, r->n_effects);
	case K2_EXP_EFFECT: {
		const struct k2_effect *ef;

		if (x->val >= r->n_effects)
			return k2_err_set(e, -EDOM, "%s:%u: effect %llu missing", c->name, x->line,
					  (unsigned long long)x->val);
		ef = &r->effects[x->val];
		if (ef->helper != x->val2)
			return k2_err_set(e, -EDOM, "%s:%u: effect %llu: helper %u, expected %llu",
					  c->name, x->line, (unsigned long long)x->val, ef->helper,
					  (unsigned long long)x->val2);
		if (x->bytes && (ef->data_len != x->len ||
				 memcmp(r->effect_data + ef->data_off, x->bytes, x->len)))
			return mismatch_bytes(c, x, "effect data", r->effect_data + ef->data_off,
					      ef->data_len, e);
		return 0;
	}
	case K2_EXP_CTX32:
		if (x->val + 4 > r->ctx_len)
			return k2_err_set(e, -EDOM, "%s:%u: no ctx_out at offset %llu", c->name,
					  x->line, (unsigned long long)x->val);
		memcpy(&v32, r->ctx + x->val, 4);
		if (v32 == x->val2)
			return 0;
		return k2_err_set(e, -EDOM, "%s:%u: ctx @%llu: expected %#llx, got %#x", c->name,
				  x->line, (unsigned long long)x->val, (unsigned long long)x->val2,
				  v32);
	case K2_EXP_TAIL_CALL:
		if (r->tail_call && r->tail_index == x->val)
			return 0;
		return k2_err_set(e, -EDOM, "%s:%u: expected a tail call to index %llu", c->name,
				  x->line, (unsigned long long)x->val);
	}
	return 0;
}

int k2_case_run(const struct k2_case *c, struct k2_err *e)
{
	struct k2_vm *vm;
	struct k2_result r;
	int err;

	err = k2_vm_new(&c->prog, NULL, &vm, e);
	if (err)
		return k2_err_prefix(e, "%s: ", c->name);
	k2_vm_run(vm, &c->in, &r);
	for (uint32_t i = 0; i < c->n_exp && !err; i++)
		err = check_one(c, vm, &r, &c->exp[i], e);
	k2_vm_free(vm);
	return err;
}
