/* bpf/obj_build.c: a new object from programs in the k2 form: sections, symbols, relocs, BTF. */
#include "bpf/obj_build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/k2_insn.h"

static bool has_pfx(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p));
}

/* BTF names (functions, map variables) must be C identifiers for the kernel. */
static bool is_ident(const char *s)
{
	if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
		return false;
	for (s++; *s; s++)
		if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9')))
			return false;
	return true;
}

static bool is_data_name(const char *n)
{
	return !strcmp(n, ".data") || has_pfx(n, ".data.") || !strcmp(n, ".rodata") ||
	       has_pfx(n, ".rodata.") || !strcmp(n, ".bss") || has_pfx(n, ".bss.");
}

/* The reader numbers maps BTF-defined first, then data sections, then templates. */
static int order_maps(const struct k2_map *maps, uint32_t n, struct k2_map *out, uint32_t *perm,
		      struct k2_err *e)
{
	uint32_t k = 0;

	if (n > K2_BUILD_MAX_MAPS)
		return k2_err_set(e, -E2BIG, "too many maps (%u)", n);
	for (int cls = 0; cls < 3; cls++)
		for (uint32_t i = 0; i < n; i++) {
			int c = maps[i].template ? 2 : maps[i].internal ? 1 : 0;

			if (c != cls)
				continue;
			perm[i] = k;
			out[k++] = maps[i];
		}
	for (uint32_t i = 0; i < n; i++) {
		const struct k2_map *m = &maps[i];

		if (!m->name[0] || strlen(m->name) >= K2_NAME_MAX)
			return k2_err_set(e, -EINVAL, "map %u: bad name", i);
		for (uint32_t j = 0; j < i; j++)
			if (!strcmp(maps[j].name, m->name))
				return k2_err_set(e, -EINVAL, "map %s: defined twice", m->name);
		if (m->internal && (!is_data_name(m->name) || !m->value_size))
			return k2_err_set(e, -EINVAL,
					  "map %s: data sections are named .data*, .rodata* or .bss* and have a size",
					  m->name);
		if (!m->internal && !m->template && !is_ident(m->name))
			return k2_err_set(e, -EINVAL, "map %s: the name is not a C identifier", m->name);
		if (m->inner >= 0 && ((uint32_t)m->inner >= n || !maps[m->inner].template))
			return k2_err_set(e, -EINVAL, "map %s: inner map is not a template", m->name);
		if (m->template && m->internal)
			return k2_err_set(e, -EINVAL, "map %s: a template cannot be data", m->name);
		/* what a BTF definition (`__uint(field, N)`: N a 32-bit array length) can say */
		if (!m->internal && (!m->type || m->pinning > 1 || m->map_extra > UINT32_MAX))
			return k2_err_set(e, -EINVAL,
					  "map %s: no type, or pinning or map_extra BTF cannot express",
					  m->name);
	}
	for (uint32_t i = 0; i < n; i++)
		if (out[i].inner >= 0)
			out[i].inner = (int32_t)perm[out[i].inner];
	return 0;
}

static int find_sec(struct k2_build *b, const char *name)
{
	for (uint32_t i = 0; i < b->n_secs; i++)
		if (!strcmp(b->secs[i].name, name))
			return (int)i;
	return -1;
}

static int add_sec(struct k2_build *b, const char *name)
{
	int i = find_sec(b, name);
	struct k2_build_sec *s;

	if (i >= 0)
		return i;
	s = realloc(b->secs, (b->n_secs + 1) * sizeof(*s));
	if (!s)
		return -ENOMEM;
	b->secs = s;
	memset(&s[b->n_secs], 0, sizeof(*s));
	snprintf(s[b->n_secs].name, sizeof(s->name), "%s", name);
	return (int)b->n_secs++;
}

static int find_func(const struct k2_build *b, const char *name)
{
	for (uint32_t i = 0; i < b->n_funcs; i++)
		if (!strcmp(b->funcs[i].name, name))
			return (int)i;
	return -1;
}

static int new_func(struct k2_build *b, const char *name, uint32_t sec, bool entry)
{
	struct k2_build_func *f = realloc(b->funcs, (b->n_funcs + 1) * sizeof(*f));

	if (!f)
		return -ENOMEM;
	b->funcs = f;
	f = &b->funcs[b->n_funcs];
	memset(f, 0, sizeof(*f));
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->sec = sec;
	f->entry = entry;
	return (int)b->n_funcs++;
}

struct conv {
	struct k2_build *b;
	const struct k2_build_prog *p;
	const uint32_t *perm;
	uint32_t n_in;            /* maps given */
	const int32_t *func_at;   /* per instruction of the program: function starting there, or -1 */
	struct k2_err *e;
};

static int conv_err(struct conv *c, uint32_t j, const char *what)
{
	return k2_err_set(c->e, -EINVAL, "program %s: insn %u: %s", c->p->name, j, what);
}

static int conv_map(struct conv *c, struct bpf_insn *raw, uint32_t j, bool value,
		    struct k2_build_rel *rel)
{
	const struct bpf_insn *in = &c->p->insns[j];
	const struct k2_map *m;
	int32_t off = in[1].imm;

	if (in->imm < 0 || (uint32_t)in->imm >= c->n_in)
		return conv_err(c, j, "map index out of range");
	m = &c->b->maps[c->perm[in->imm]];
	if (m->template)
		return conv_err(c, j, "an inner-map template is not a map of its own");
	if (value != m->internal)
		return conv_err(c, j, value ? "value address of a map that is not a data section"
					    : "a data section is only reached by its value address");
	if (value && (off < 0 || (uint32_t)off >= m->value_size))
		return conv_err(c, j, "offset outside the data section");
	raw->src_reg = 0;
	raw->imm = value ? off : 0;
	raw[1].imm = 0;
	rel->map = (int32_t)c->perm[in->imm];
	return 0;
}

static int conv_call(struct conv *c, struct bpf_insn *raw, uint32_t j, bool callback,
		     struct k2_build_rel *rel)
{
	int64_t t = (int64_t)j + c->p->insns[j].imm + 1;
	uint32_t main_n = c->p->n_subs ? c->p->sub_at[0] : c->p->n_insns;

	if (t < main_n || t >= c->p->n_insns || c->func_at[t] < 0)
		return conv_err(c, j, "call target is not the start of a subprogram");
	raw->imm = 0; /* set when .text is laid out */
	rel->func = c->func_at[t];
	rel->callback = callback;
	return 0;
}

/* Instructions [s, t) of the program as the raw encoding of function f, with relocations. */
static int convert(struct conv *c, uint32_t s, uint32_t t, struct k2_build_func *f)
{
	f->n = t - s;
	f->raw = malloc(f->n * sizeof(*f->raw));
	f->rels = calloc(f->n, sizeof(*f->rels));
	if (!f->raw || !f->rels)
		return k2_err_set(c->e, -ENOMEM, "out of memory");
	memcpy(f->raw, c->p->insns + s, f->n * sizeof(*f->raw));
	for (uint32_t j = s; j < t; j++) {
		struct k2_build_rel rel = { .at = j - s, .map = -1, .func = -1 };
		struct bpf_insn *raw = &f->raw[j - s];
		int err = 0;

		switch (k2_insn_op(&c->p->insns[j])) {
		case K2_OP_LDDW_MAP_IDX:
			err = conv_map(c, raw, j, false, &rel);
			break;
		case K2_OP_LDDW_MAP_IDX_VALUE:
			err = conv_map(c, raw, j, true, &rel);
			break;
		case K2_OP_CALL_PSEUDO:
			err = conv_call(c, raw, j, false, &rel);
			break;
		case K2_OP_LDDW_FUNC:
			err = conv_call(c, raw, j, true, &rel);
			raw->src_reg = 0;
			break;
		case K2_OP_LDDW_MAP_FD:
		case K2_OP_LDDW_MAP_VALUE:
		case K2_OP_LDDW_BTF_ID:
		case K2_OP_CALL_KFUNC:
			err = conv_err(c, j, "cannot be expressed in an object file");
			break;
		default:
			break;
		}
		if (err)
			return err;
		if (rel.map >= 0 || rel.func >= 0)
			f->rels[f->n_rels++] = rel;
		if (k2_is_lddw(&c->p->insns[j]))
			j++;
	}
	return 0;
}

static bool same_func(const struct k2_build_func *a, const struct k2_build_func *b)
{
	return a->n == b->n && a->n_rels == b->n_rels &&
	       !memcmp(a->raw, b->raw, a->n * sizeof(*a->raw)) &&
	       !memcmp(a->rels, b->rels, a->n_rels * sizeof(*a->rels));
}

static void free_func(struct k2_build_func *f)
{
	free(f->raw);
	free(f->rels);
}

static int check_prog(const struct k2_build_prog *p, struct k2_err *e)
{
	struct k2_err ce = { 0 };

	if (!p->name || !p->name[0] || !p->sec || !p->sec[0] || !p->insns)
		return k2_err_set(e, -EINVAL, "a program needs a name, a section and instructions");
	if (strlen(p->sec) >= K2_SEC_MAX || strlen(p->name) >= K2_NAME_MAX)
		return k2_err_set(e, -ENAMETOOLONG, "program %s: name too long", p->name);
	if (!is_ident(p->name))
		return k2_err_set(e, -EINVAL, "program %s: the name is not a C identifier", p->name);
	if (!strcmp(p->sec, ".text") || is_data_name(p->sec) || p->sec[0] == '.')
		return k2_err_set(e, -EINVAL, "program %s: %s is not a program section", p->name,
				  p->sec);
	for (uint32_t k = 0; k < p->n_subs; k++)
		if (!p->sub_names || !p->sub_at || !p->sub_names[k] || !p->sub_names[k][0] ||
		    strlen(p->sub_names[k]) >= K2_NAME_MAX || p->sub_at[k] >= p->n_insns ||
		    p->sub_at[k] <= (k ? p->sub_at[k - 1] : 0) || !is_ident(p->sub_names[k]))
			return k2_err_set(e, -EINVAL, "program %s: bad subprogram %u (%s)", p->name, k,
					  p->sub_names && p->sub_names[k] ? p->sub_names[k] : "?");
	if (k2_insns_check(p->insns, p->n_insns, NULL, &ce))
		return k2_err_set(e, ce.code, "program %s: %s", p->name, ce.msg);
	return 0;
}

/* Subprograms shared by name must be the same code wherever they appear. */
static int add_sub(struct conv *c, uint32_t k, uint32_t s, uint32_t t)
{
	struct k2_build *b = c->b;
	int fi = c->func_at[s], err;
	struct k2_build_func tmp = { 0 };

	if (b->funcs[fi].raw) {
		err = convert(c, s, t, &tmp);
		if (!err && !same_func(&b->funcs[fi], &tmp))
			err = k2_err_set(c->e, -EINVAL,
					 "program %s: subprogram %s differs from an earlier one",
					 c->p->name, c->p->sub_names[k]);
		free_func(&tmp);
		return err;
	}
	return convert(c, s, t, &b->funcs[fi]);
}

static int add_prog(struct k2_build *b, const struct k2_build_prog *p, const uint32_t *perm,
		    uint32_t n_in, struct k2_err *e)
{
	struct conv c = { .b = b, .p = p, .perm = perm, .n_in = n_in, .e = e };
	int32_t *func_at;
	int sec, fi, err = check_prog(p, e);

	if (err)
		return err;
	sec = add_sec(b, p->sec);
	func_at = malloc((p->n_insns + 1) * sizeof(*func_at));
	if (sec < 0 || !func_at) {
		free(func_at);
		return k2_err_set(e, -ENOMEM, "out of memory");
	}
	memset(func_at, 0xff, (p->n_insns + 1) * sizeof(*func_at));
	c.func_at = func_at;
	if (find_func(b, p->name) >= 0) {
		free(func_at);
		return k2_err_set(e, -EINVAL, "program %s: the name is taken", p->name);
	}
	fi = new_func(b, p->name, (uint32_t)sec, true);
	for (uint32_t k = 0; k < p->n_subs && fi >= 0; k++) {
		int sf = find_func(b, p->sub_names[k]);

		if (sf >= 0 && b->funcs[sf].entry) {
			free(func_at);
			return k2_err_set(e, -EINVAL, "program %s: subprogram %s has a program's name",
					  p->name, p->sub_names[k]);
		}
		func_at[p->sub_at[k]] = sf >= 0 ? sf : new_func(b, p->sub_names[k], 0, false);
		if (func_at[p->sub_at[k]] < 0)
			fi = -ENOMEM;
	}
	if (fi < 0) {
		free(func_at);
		return k2_err_set(e, -ENOMEM, "out of memory");
	}
	func_at[0] = fi;
	err = convert(&c, 0, p->n_subs ? p->sub_at[0] : p->n_insns, &b->funcs[fi]);
	for (uint32_t k = 0; k < p->n_subs && !err; k++)
		err = add_sub(&c, k, p->sub_at[k], k + 1 < p->n_subs ? p->sub_at[k + 1] : p->n_insns);
	free(func_at);
	return err;
}

/* Offsets in sections, then the imms that reach subprograms through the .text symbol. */
static void layout(struct k2_build *b)
{
	for (uint32_t i = 0; i < b->n_funcs; i++) {
		struct k2_build_sec *s = &b->secs[b->funcs[i].sec];

		b->funcs[i].off = s->n;
		s->n += b->funcs[i].n;
		s->n_funcs++;
	}
	for (uint32_t i = 0; i < b->n_funcs; i++) {
		struct k2_build_func *f = &b->funcs[i];

		for (uint32_t r = 0; r < f->n_rels; r++) {
			const struct k2_build_rel *rel = &f->rels[r];

			if (rel->func < 0)
				continue;
			/* libbpf: call target = symbol/8 + imm + 1; callback = symbol + imm bytes */
			f->raw[rel->at].imm = rel->callback ? (int32_t)(b->funcs[rel->func].off * 8)
							    : (int32_t)b->funcs[rel->func].off - 1;
		}
	}
}

struct strbuf {
	char *p;
	uint32_t n, cap;
};

static uint32_t str_add(struct strbuf *s, const char *str)
{
	uint32_t len = (uint32_t)strlen(str) + 1, at = s->n;

	if (s->n + len > s->cap) {
		uint32_t nc = (s->n + len) * 2 + 64;
		char *p = realloc(s->p, nc);

		if (!p)
			return UINT32_MAX;
		s->p = p;
		s->cap = nc;
	}
	memcpy(s->p + s->n, str, len);
	s->n += len;
	return at;
}

/* The ELF image: sections, symbols and relocations, written by libelf. */
struct image {
	struct k2_wsec ws[K2_BUILD_MAX_MAPS + 64];
	void *owned[K2_BUILD_MAX_MAPS + 64];
	uint32_t n, n_owned;
	struct strbuf str;
	Elf64_Sym *syms;
	uint32_t n_syms;
	uint32_t *code_sec;   /* k2_build section -> ELF section */
	uint32_t *map_sym;    /* map -> symbol (BTF maps: the map, data: the section symbol) */
	uint32_t *map_sec;
	uint32_t text_sym;
};

static uint32_t add_ws(struct image *im, const char *name, uint32_t type, uint64_t flags,
		       const void *data, uint64_t size, uint64_t align)
{
	struct k2_wsec *w = &im->ws[++im->n];

	w->sh.sh_name = str_add(&im->str, name);
	w->sh.sh_type = type;
	w->sh.sh_flags = flags;
	w->sh.sh_addralign = align;
	w->data = data;
	w->size = size;
	return im->n;
}

static void *own(struct image *im, void *p)
{
	if (p)
		im->owned[im->n_owned++] = p;
	return p;
}

static uint32_t add_sym(struct image *im, const char *name, uint32_t shndx, unsigned char bind,
			unsigned char type, uint64_t value, uint64_t size)
{
	Elf64_Sym *y = &im->syms[im->n_syms];

	memset(y, 0, sizeof(*y));
	y->st_name = name ? str_add(&im->str, name) : 0;
	y->st_info = ELF64_ST_INFO(bind, type);
	y->st_shndx = (Elf64_Half)shndx;
	y->st_value = value;
	y->st_size = size;
	return im->n_syms++;
}

static int code_sections(struct k2_build *b, struct image *im)
{
	for (uint32_t s = 0; s < b->n_secs; s++) {
		struct bpf_insn *code;

		if (!b->secs[s].n)
			continue;
		code = own(im, calloc(b->secs[s].n, sizeof(*code)));
		if (!code)
			return -ENOMEM;
		for (uint32_t i = 0; i < b->n_funcs; i++)
			if (b->funcs[i].sec == s)
				memcpy(code + b->funcs[i].off, b->funcs[i].raw,
				       b->funcs[i].n * sizeof(*code));
		im->code_sec[s] = add_ws(im, b->secs[s].name, SHT_PROGBITS,
					 SHF_ALLOC | SHF_EXECINSTR, code,
					 (uint64_t)b->secs[s].n * 8, 8);
	}
	return 0;
}

static int data_sections(struct k2_build *b, struct image *im, const char *license,
			 uint32_t kern_version)
{
	uint64_t maps_size = 0;
	uint32_t maps_sec = 0, *kv;
	char *lic;

	for (uint32_t m = 0; m < b->n_maps; m++)
		if (!b->maps[m].internal && !b->maps[m].template)
			maps_size += k2_btf_def_size(&b->maps[m]);
	if (maps_size) {
		void *z = own(im, calloc(1, maps_size));

		if (!z)
			return -ENOMEM;
		maps_sec = add_ws(im, ".maps", SHT_PROGBITS, SHF_WRITE | SHF_ALLOC, z, maps_size, 8);
	}
	for (uint32_t m = 0; m < b->n_maps; m++) {
		const struct k2_map *mp = &b->maps[m];
		bool bss = has_pfx(mp->name, ".bss"), ro = has_pfx(mp->name, ".rodata");
		void *d = NULL;

		if (mp->template)
			continue;
		if (!mp->internal) {
			im->map_sec[m] = maps_sec;
			continue;
		}
		if (!bss) {
			d = own(im, calloc(1, mp->value_size));
			if (!d)
				return -ENOMEM;
			if (mp->init)
				memcpy(d, mp->init, mp->value_size);
		}
		im->map_sec[m] = add_ws(im, mp->name, bss ? SHT_NOBITS : SHT_PROGBITS,
					SHF_ALLOC | (ro ? 0 : SHF_WRITE), d, mp->value_size, 8);
	}
	lic = own(im, strdup(license));
	if (!lic)
		return -ENOMEM;
	add_ws(im, "license", SHT_PROGBITS, SHF_WRITE | SHF_ALLOC, lic, strlen(lic) + 1, 1);
	if (kern_version) {
		kv = own(im, malloc(sizeof(*kv)));
		if (!kv)
			return -ENOMEM;
		*kv = kern_version;
		add_ws(im, "version", SHT_PROGBITS, SHF_WRITE | SHF_ALLOC, kv, 4, 4);
	}
	return 0;
}

/* Locals first (section symbols, static subprograms), then programs and maps. */
static uint32_t symbols(struct k2_build *b, struct image *im)
{
	uint32_t first_global, maps_off = 0;

	add_sym(im, NULL, 0, STB_LOCAL, STT_NOTYPE, 0, 0);
	if (b->secs[0].n)
		im->text_sym = add_sym(im, NULL, im->code_sec[0], STB_LOCAL, STT_SECTION, 0, 0);
	for (uint32_t m = 0; m < b->n_maps; m++)
		if (b->maps[m].internal)
			im->map_sym[m] = add_sym(im, NULL, im->map_sec[m], STB_LOCAL, STT_SECTION, 0, 0);
	for (uint32_t i = 0; i < b->n_funcs; i++)
		if (!b->funcs[i].entry)
			b->funcs[i].sym = add_sym(im, b->funcs[i].name, im->code_sec[0], STB_LOCAL,
						  STT_FUNC, b->funcs[i].off * 8, b->funcs[i].n * 8);
	first_global = im->n_syms;
	for (uint32_t i = 0; i < b->n_funcs; i++)
		if (b->funcs[i].entry)
			b->funcs[i].sym = add_sym(im, b->funcs[i].name, im->code_sec[b->funcs[i].sec],
						  STB_GLOBAL, STT_FUNC, b->funcs[i].off * 8,
						  b->funcs[i].n * 8);
	for (uint32_t m = 0; m < b->n_maps; m++) {
		if (b->maps[m].internal || b->maps[m].template)
			continue;
		im->map_sym[m] = add_sym(im, b->maps[m].name, im->map_sec[m], STB_GLOBAL,
					 STT_OBJECT, maps_off, k2_btf_def_size(&b->maps[m]));
		maps_off += k2_btf_def_size(&b->maps[m]);
	}
	return first_global;
}

static int rel_sections(struct k2_build *b, struct image *im, uint32_t symtab)
{
	for (uint32_t s = 0; s < b->n_secs; s++) {
		Elf64_Rel *rels;
		uint32_t n = 0, sec;
		char name[K2_SEC_MAX + 8];

		for (uint32_t i = 0; i < b->n_funcs; i++)
			if (b->funcs[i].sec == s)
				n += b->funcs[i].n_rels;
		if (!n)
			continue;
		rels = own(im, calloc(n, sizeof(*rels)));
		if (!rels)
			return -ENOMEM;
		n = 0;
		for (uint32_t i = 0; i < b->n_funcs; i++) {
			const struct k2_build_func *f = &b->funcs[i];

			for (uint32_t r = 0; f->sec == s && r < f->n_rels; r++) {
				const struct k2_build_rel *rel = &f->rels[r];
				uint32_t sym = rel->map >= 0 ? im->map_sym[rel->map] : im->text_sym;
				uint32_t type = rel->map >= 0 || rel->callback ? R_BPF_64_64 : R_BPF_64_32;

				rels[n].r_offset = (uint64_t)(f->off + rel->at) * 8;
				rels[n++].r_info = ELF64_R_INFO(sym, type);
			}
		}
		snprintf(name, sizeof(name), ".rel%s", b->secs[s].name);
		sec = add_ws(im, name, SHT_REL, SHF_INFO_LINK, rels, (uint64_t)n * sizeof(*rels), 8);
		im->ws[sec].sh.sh_link = symtab;
		im->ws[sec].sh.sh_info = im->code_sec[s];
		im->ws[sec].sh.sh_entsize = sizeof(Elf64_Rel);
	}
	return 0;
}

static int emit(struct k2_build *b, struct image *im, const char *license, uint32_t kver,
		void **buf, size_t *len, struct k2_err *e)
{
	struct k2_elf fake = { .name = "k2 asm" };
	uint32_t strtab, symtab, first_global;
	int err;

	str_add(&im->str, "");
	strtab = add_ws(im, ".strtab", SHT_STRTAB, 0, NULL, 0, 1);
	err = code_sections(b, im);
	if (!err)
		err = data_sections(b, im, license, kver);
	if (err)
		return k2_err_set(e, err, "out of memory");
	add_ws(im, ".BTF", SHT_PROGBITS, 0, b->btf, b->btf_len, 4);
	add_ws(im, ".BTF.ext", SHT_PROGBITS, 0, b->btfext, b->btfext_len, 4);
	first_global = symbols(b, im);
	/* relocation sections link to the symbol table, added after them */
	err = rel_sections(b, im, 0);
	if (err)
		return k2_err_set(e, err, "out of memory");
	symtab = add_ws(im, ".symtab", SHT_SYMTAB, 0, im->syms,
			(uint64_t)im->n_syms * sizeof(Elf64_Sym), 8);
	im->ws[symtab].sh.sh_link = strtab;
	im->ws[symtab].sh.sh_info = first_global;
	im->ws[symtab].sh.sh_entsize = sizeof(Elf64_Sym);
	for (uint32_t i = 1; i <= im->n; i++)
		if (im->ws[i].sh.sh_type == SHT_REL)
			im->ws[i].sh.sh_link = symtab;
	im->ws[strtab].data = im->str.p;
	im->ws[strtab].size = im->str.n;
	if (im->str.n == UINT32_MAX || !im->str.p)
		return k2_err_set(e, -ENOMEM, "out of memory");
	memcpy(fake.eh.e_ident, ELFMAG, SELFMAG);
	fake.eh.e_ident[EI_CLASS] = ELFCLASS64;
	fake.eh.e_ident[EI_DATA] = ELFDATA2LSB;
	fake.eh.e_ident[EI_VERSION] = EV_CURRENT;
	fake.eh.e_type = ET_REL;
	fake.eh.e_machine = EM_BPF;
	fake.eh.e_version = EV_CURRENT;
	fake.n_secs = im->n + 1;
	fake.shstrndx = strtab;
	return k2_elf_write_mem(&fake, im->ws, buf, len, e);
}

static void build_free(struct k2_build *b)
{
	for (uint32_t i = 0; i < b->n_funcs; i++)
		free_func(&b->funcs[i]);
	free(b->funcs);
	free(b->secs);
	free(b->btf);
	free(b->btfext);
}

int k2_object_build(const struct k2_map *maps, uint32_t n_maps, const struct k2_build_prog *progs,
		    uint32_t n_progs, const char *license, uint32_t kern_version, void **buf,
		    size_t *len, struct k2_err *e)
{
	struct k2_build b = { 0 };
	struct k2_map *ordered = calloc(n_maps + 1, sizeof(*ordered));
	uint32_t *perm = calloc(n_maps + 1, sizeof(*perm));
	struct image *im = calloc(1, sizeof(*im));
	int err;

	*buf = NULL;
	*len = 0;
	if (!ordered || !perm || !im) {
		err = k2_err_set(e, -ENOMEM, "out of memory");
		goto out;
	}
	err = order_maps(maps, n_maps, ordered, perm, e);
	b.maps = ordered;
	b.n_maps = n_maps;
	if (!err && !n_progs)
		err = k2_err_set(e, -EINVAL, "no programs");
	if (!err && add_sec(&b, ".text") < 0)
		err = k2_err_set(e, -ENOMEM, "out of memory");
	for (uint32_t i = 0; i < n_progs && !err; i++)
		err = add_prog(&b, &progs[i], perm, n_maps, e);
	if (err)
		goto out;
	/* subprograms first: .text holds them, in the order they were met */
	layout(&b);
	err = k2_btf_build(&b, e);
	if (!err)
		err = k2_btfext_build(&b, e);
	im->syms = calloc(b.n_funcs + 2 * n_maps + 4, sizeof(*im->syms));
	im->code_sec = calloc(b.n_secs + 1, sizeof(*im->code_sec));
	im->map_sym = calloc(n_maps + 1, sizeof(*im->map_sym));
	im->map_sec = calloc(n_maps + 1, sizeof(*im->map_sec));
	if (!err && (!im->syms || !im->code_sec || !im->map_sym || !im->map_sec))
		err = k2_err_set(e, -ENOMEM, "out of memory");
	if (!err)
		err = emit(&b, im, license ? license : "GPL", kern_version, buf, len, e);
out:
	if (im) {
		for (uint32_t i = 0; i < im->n_owned; i++)
			free(im->owned[i]);
		free(im->str.p);
		free(im->syms);
		free(im->code_sec);
		free(im->map_sym);
		free(im->map_sec);
	}
	free(im);
	build_free(&b);
	free(ordered);
	free(perm);
	return err;
}
