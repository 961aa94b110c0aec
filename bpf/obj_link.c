/* bpf/obj_link.c: functions of code sections, their relocations, programs linked as libbpf does. */
#include "bpf/obj_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/k2_insn.h"

static int cmp_func(const void *a, const void *b)
{
	const struct k2_efunc *x = a, *y = b;

	if (x->sec != y->sec)
		return x->sec < y->sec ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

static bool is_code(const struct k2_esec *s)
{
	return s->kind == K2_SEC_PROG || s->kind == K2_SEC_TEXT;
}

static int add_func(struct k2_elf *elf, uint32_t *cap, const struct k2_efunc *f, struct k2_err *e)
{
	if (elf->n_funcs == *cap) {
		uint32_t nc = *cap ? *cap * 2 : 16;
		struct k2_efunc *p = realloc(elf->funcs, nc * sizeof(*p));

		if (!p)
			return k2_obj_err(elf, e, -ENOMEM, 0, "out of memory");
		elf->funcs = p;
		*cap = nc;
	}
	elf->funcs[elf->n_funcs++] = *f;
	return 0;
}

static int func_of_sym(struct k2_elf *elf, uint32_t i, struct k2_efunc *f, struct k2_err *e)
{
	const struct k2_esym *y = &elf->syms[i];
	const struct k2_esec *s = &elf->secs[y->s.st_shndx];

	if (y->s.st_value % K2_INSN_SZ || y->s.st_size % K2_INSN_SZ || !y->s.st_size ||
	    y->s.st_value > s->size || y->s.st_size > s->size - y->s.st_value)
		return k2_obj_err(elf, e, -EINVAL, y->s.st_shndx,
				  "function %s: offset %llu size %llu outside the section", y->name,
				  (unsigned long long)y->s.st_value, (unsigned long long)y->s.st_size);
	*f = (struct k2_efunc){ .sec = y->s.st_shndx, .sym = i,
				.off = (uint32_t)(y->s.st_value / K2_INSN_SZ),
				.n = (uint32_t)(y->s.st_size / K2_INSN_SZ), .prog = -1 };
	return 0;
}

/* Every STT_FUNC symbol of a code section; a code section without any is one function. */
static int collect_funcs(struct k2_elf *elf, struct k2_err *e)
{
	bool *has = calloc(elf->n_secs, sizeof(*has));
	uint32_t cap = 0;
	int err = 0;

	if (!has)
		return k2_obj_err(elf, e, -ENOMEM, 0, "out of memory");
	for (uint32_t i = 1; i < elf->n_syms && !err; i++) {
		const Elf64_Sym *s = &elf->syms[i].s;
		struct k2_efunc f;

		if (ELF64_ST_TYPE(s->st_info) != STT_FUNC || !s->st_shndx ||
		    s->st_shndx >= elf->n_secs || !is_code(&elf->secs[s->st_shndx]))
			continue;
		err = func_of_sym(elf, i, &f, e);
		if (!err)
			err = add_func(elf, &cap, &f, e);
		has[s->st_shndx] = true;
	}
	for (uint32_t i = 1; i < elf->n_secs && !err; i++) {
		const struct k2_esec *s = &elf->secs[i];
		struct k2_efunc f = { .sec = i, .n = (uint32_t)(s->size / K2_INSN_SZ), .prog = -1 };

		if (is_code(s) && !has[i] && s->size)
			err = add_func(elf, &cap, &f, e);
	}
	free(has);
	if (err)
		return err;
	if (elf->n_funcs)
		qsort(elf->funcs, elf->n_funcs, sizeof(*elf->funcs), cmp_func);
	for (uint32_t i = 1; i < elf->n_funcs; i++) {
		const struct k2_efunc *a = &elf->funcs[i - 1], *b = &elf->funcs[i];

		if (a->sec == b->sec && b->off < a->off + a->n)
			return k2_obj_err(elf, e, -EINVAL, a->sec, "functions %s and %s overlap",
					  elf->syms[a->sym].name, elf->syms[b->sym].name);
	}
	return 0;
}

int k2_efunc_at(const struct k2_elf *elf, uint32_t sec, uint64_t insn)
{
	uint32_t lo = 0, hi = elf->n_funcs;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		const struct k2_efunc *f = &elf->funcs[mid];

		if (f->sec == sec && f->off == insn)
			return (int)mid;
		if (f->sec < sec || (f->sec == sec && f->off < insn))
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

struct relo_ctx {
	struct k2_object *obj;
	struct k2_elf *elf;
	struct k2_efunc *f;
	struct k2_err *e;
};

static int insn_err(struct relo_ctx *c, uint32_t idx, const char *fmt, const char *a)
{
	char msg[300];

	snprintf(msg, sizeof(msg), fmt, a);
	return k2_obj_err(c->elf, c->e, -EINVAL, c->f->sec, "insn %u: %s", c->f->off + idx, msg);
}

static int map_at(const struct k2_object *obj, uint32_t sec, uint64_t off)
{
	for (uint32_t m = 0; m < obj->n_maps; m++) {
		const struct k2_mapsrc *src = &obj->elf->msrc[m];

		if (!src->template && src->sec == sec && (obj->maps[m].internal || src->off == off))
			return (int)m;
	}
	return -1;
}

/* ld_imm64 against a symbol: a map, a map value (data section) or a callback function. */
static int relo_lddw(struct relo_ctx *c, struct k2_erel *r, uint32_t idx)
{
	const struct k2_esym *y = &c->elf->syms[r->sym];
	struct bpf_insn *in = &c->f->ins[idx];
	const struct k2_esec *s;
	int64_t off;
	int m;

	if (idx + 1 >= c->f->n || !k2_is_lddw(in))
		return insn_err(c, idx, "relocation against %s at a non-ld_imm64 instruction", y->name);
	if (y->s.st_shndx == SHN_UNDEF)
		return insn_err(c, idx, "extern %s (ksym/kconfig) is not supported", y->name);
	if (y->s.st_shndx >= c->elf->n_secs)
		return insn_err(c, idx, "relocation against %s, which has no section", y->name);
	s = &c->elf->secs[y->s.st_shndx];
	if (s->kind == K2_SEC_TEXT) {
		off = (int64_t)y->s.st_value + in->imm;
		if (off < 0 || off % K2_INSN_SZ ||
		    (r->func = k2_efunc_at(c->elf, y->s.st_shndx, (uint64_t)off / K2_INSN_SZ)) < 0)
			return insn_err(c, idx, "callback %s is not a function start", y->name);
		in->src_reg = BPF_PSEUDO_FUNC;
		in->imm = 0;
		c->f->target[idx] = r->func;
		return 0;
	}
	if (s->kind == K2_SEC_BTF_MAPS || s->kind == K2_SEC_LEGACY_MAPS) {
		m = map_at(c->obj, y->s.st_shndx, y->s.st_value);
		if (m < 0)
			return insn_err(c, idx, "no map defined at symbol %s", y->name);
		in->src_reg = BPF_PSEUDO_MAP_IDX;
		in->imm = m;
		in[1].imm = 0;
		r->map = m;
		return 0;
	}
	if (s->kind == K2_SEC_DATA || s->kind == K2_SEC_BSS) {
		m = map_at(c->obj, y->s.st_shndx, 0);
		off = (int64_t)y->s.st_value + in->imm;
		if (m < 0 || off < 0 || (uint64_t)off >= s->size)
			return insn_err(c, idx, "offset outside data section %s", s->name);
		in->src_reg = BPF_PSEUDO_MAP_IDX_VALUE;
		in->imm = m;
		in[1].imm = (int32_t)off;
		r->map = m;
		r->val_off = (int32_t)off;
		return 0;
	}
	return insn_err(c, idx, "relocation against %s, which is not a map, data or function",
			y->name);
}

static int relo_call(struct relo_ctx *c, struct k2_erel *r, uint32_t idx)
{
	const struct k2_esym *y = &c->elf->syms[r->sym];
	struct bpf_insn *in = &c->f->ins[idx];
	int64_t t;

	if (in->code != (BPF_JMP | BPF_CALL))
		return insn_err(c, idx, "relocation against %s at a non-call instruction", y->name);
	if (y->s.st_shndx == SHN_UNDEF)
		return insn_err(c, idx, "call to extern function %s (kfunc) is not supported",
				y->name);
	if (in->src_reg != BPF_PSEUDO_CALL)
		return insn_err(c, idx, "call relocation against %s at a helper call", y->name);
	if (y->s.st_shndx >= c->elf->n_secs || c->elf->secs[y->s.st_shndx].kind != K2_SEC_TEXT)
		return insn_err(c, idx, "call to %s, which is not in .text", y->name);
	t = (int64_t)(y->s.st_value / K2_INSN_SZ) + in->imm + 1;
	if (y->s.st_value % K2_INSN_SZ || t < 0 ||
	    (r->func = k2_efunc_at(c->elf, y->s.st_shndx, (uint64_t)t)) < 0)
		return insn_err(c, idx, "call target %s is not a function start", y->name);
	c->f->target[idx] = r->func;
	in->imm = 0;
	return 0;
}

/* Pseudo instructions without a relocation: only calls inside .text are resolved by offset. */
static int unrelocated(struct relo_ctx *c, const bool *has_rel)
{
	struct k2_efunc *f = c->f;

	for (uint32_t i = 0; i < f->n; i++) {
		struct bpf_insn *in = &f->ins[i];
		int64_t t;

		if (has_rel[i])
			continue;
		if (k2_is_pseudo_call(in)) {
			t = (int64_t)f->off + i + in->imm + 1;
			if (f->sec != c->elf->text)
				return insn_err(c, i, "bpf-to-bpf call without relocation%s", "");
			if (t < 0 || (f->target[i] = k2_efunc_at(c->elf, f->sec, (uint64_t)t)) < 0)
				return insn_err(c, i, "call target is not a function start%s", "");
			in->imm = 0;
		} else if (in->code == (BPF_JMP | BPF_CALL) && in->src_reg == BPF_PSEUDO_KFUNC_CALL) {
			return insn_err(c, i, "kfunc call without relocation%s", "");
		} else if (k2_is_lddw(in) && in->src_reg) {
			return insn_err(c, i, "ld_imm64 with a pseudo source but no relocation%s", "");
		}
		if (k2_is_lddw(in))
			i++;
	}
	return 0;
}

/* First relocation at or after instruction `insn` (relocations are sorted by offset). */
static uint32_t rel_lower(const struct k2_esec *s, uint64_t insn)
{
	uint32_t lo = 0, hi = s->n_rels;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (s->rels[mid].off / K2_INSN_SZ < insn)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int relocate_func(struct k2_object *obj, struct k2_efunc *f, struct k2_err *e)
{
	struct k2_elf *elf = obj->elf;
	struct k2_esec *s = &elf->secs[f->sec];
	struct relo_ctx c = { .obj = obj, .elf = elf, .f = f, .e = e };
	bool *has_rel;
	int err = 0;

	f->ins = malloc(f->n * sizeof(*f->ins));
	f->target = malloc(f->n * sizeof(*f->target));
	has_rel = calloc(f->n, sizeof(*has_rel));
	if (!f->ins || !f->target || !has_rel) {
		free(has_rel);
		return k2_obj_err(elf, e, -ENOMEM, 0, "out of memory");
	}
	memcpy(f->ins, s->data + (size_t)f->off * K2_INSN_SZ, f->n * sizeof(*f->ins));
	for (uint32_t i = 0; i < f->n; i++)
		f->target[i] = -1;
	for (uint32_t k = rel_lower(s, f->off); k < s->n_rels && !err; k++) {
		struct k2_erel *r = &s->rels[k];
		uint64_t at = r->off / K2_INSN_SZ;

		if (at >= (uint64_t)f->off + f->n)
			break;
		if (r->type == R_BPF_NONE)
			continue; /* says nothing: the instruction stands as if unrelocated */
		has_rel[at - f->off] = true;
		if (r->type == R_BPF_64_64)
			err = relo_lddw(&c, r, (uint32_t)(at - f->off));
		else if (r->type == R_BPF_64_32)
			err = relo_call(&c, r, (uint32_t)(at - f->off));
		else
			err = k2_obj_err(elf, e, -EINVAL, f->sec,
					 "insn %llu: relocation type %u is not supported in code",
					 (unsigned long long)at, r->type);
	}
	if (!err)
		err = unrelocated(&c, has_rel);
	free(has_rel);
	return err;
}

/* Index of the first function of `sec` that ends after instruction `insn`. */
static uint32_t func_lower(const struct k2_elf *elf, uint32_t sec, uint64_t insn)
{
	uint32_t lo = 0, hi = elf->n_funcs;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		const struct k2_efunc *f = &elf->funcs[mid];

		if (f->sec < sec || (f->sec == sec && (uint64_t)f->off + f->n <= insn))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Relocations must sit on some function's instructions. */
static int check_rel_coverage(const struct k2_elf *elf, uint32_t sec, struct k2_err *e)
{
	const struct k2_esec *s = &elf->secs[sec];

	for (uint32_t k = 0; k < s->n_rels; k++) {
		uint64_t at = s->rels[k].off / K2_INSN_SZ;
		uint32_t i = func_lower(elf, sec, at);

		if (i >= elf->n_funcs || elf->funcs[i].sec != sec || at < elf->funcs[i].off)
			return k2_obj_err(elf, e, -EINVAL, sec,
					  "insn %llu: relocation outside any function",
					  (unsigned long long)at);
	}
	return 0;
}

struct linker {
	struct bpf_insn *insns;
	uint32_t n, cap;
	struct k2_psub *subs;
	uint32_t n_subs;
	int32_t *pos;      /* per function: where it was appended, -1 if not yet */
};

static int append(struct linker *l, const struct k2_efunc *f)
{
	if (l->n + f->n > l->cap) {
		uint32_t nc = (l->n + f->n) * 2;
		struct bpf_insn *p = realloc(l->insns, nc * sizeof(*p));

		if (!p)
			return -ENOMEM;
		l->insns = p;
		l->cap = nc;
	}
	memcpy(l->insns + l->n, f->ins, f->n * sizeof(*f->ins));
	l->n += f->n;
	return 0;
}

struct frame {
	uint32_t func, base, j;
};

/* Depth first, as libbpf appends: a subprogram right after its first caller's scan reaches it. */
static int link_prog(struct k2_elf *elf, uint32_t main, struct linker *l)
{
	struct frame *st = malloc((elf->n_funcs + 1) * sizeof(*st));
	uint32_t sp = 0;
	int err = append(l, &elf->funcs[main]);

	if (!st)
		return -ENOMEM;
	l->pos[main] = 0;
	st[sp++] = (struct frame){ main, 0, 0 };
	while (sp && !err) {
		struct frame *fr = &st[sp - 1];
		const struct k2_efunc *f = &elf->funcs[fr->func];
		uint32_t j = fr->j++, at = fr->base + j;
		int32_t t;

		if (j >= f->n) {
			sp--;
			continue;
		}
		t = f->target[j];
		if (t < 0)
			continue;
		if (l->pos[t] < 0) {
			struct k2_psub *p = realloc(l->subs, (l->n_subs + 1) * sizeof(*p));

			if (!p) {
				err = -ENOMEM;
				break;
			}
			l->subs = p;
			l->pos[t] = (int32_t)l->n;
			p[l->n_subs++] = (struct k2_psub){ (uint32_t)t, l->n, elf->funcs[t].n };
			err = append(l, &elf->funcs[t]);
			st[sp++] = (struct frame){ (uint32_t)t, (uint32_t)l->pos[t], 0 };
		}
		l->insns[at].imm = l->pos[t] - (int32_t)at - 1;
	}
	free(st);
	return err;
}

/* Where linked instruction i came from: section and instruction index in it. */
static void origin(const struct k2_elf *elf, const struct k2_pinfo *pi, uint32_t i, uint32_t *sec,
		   uint32_t *idx)
{
	const struct k2_efunc *f = &elf->funcs[pi->func];

	*sec = f->sec;
	*idx = f->off + i;
	for (uint32_t k = 0; k < pi->n_subs; k++)
		if (i >= pi->subs[k].at && i < pi->subs[k].at + pi->subs[k].n) {
			*sec = elf->funcs[pi->subs[k].func].sec;
			*idx = elf->funcs[pi->subs[k].func].off + (i - pi->subs[k].at);
		}
}

static int check_prog(struct k2_elf *elf, struct k2_prog *p, struct k2_pinfo *pi,
		      struct k2_err *e)
{
	struct k2_err ce = { 0 };
	unsigned long i;
	int n = 0, err = k2_insns_check(p->insns, p->n_insns, NULL, &ce);
	uint32_t sec, idx;

	if (!err)
		return 0;
	if (sscanf(ce.msg, "insn %lu: %n", &i, &n) == 1 && n > 0 && i < p->n_insns) {
		origin(elf, pi, (uint32_t)i, &sec, &idx);
		return k2_obj_err(elf, e, err, sec, "insn %u: %s (program %s)", idx, ce.msg + n,
				  p->name);
	}
	return k2_obj_err(elf, e, err, elf->funcs[pi->func].sec, "program %s: %s", p->name, ce.msg);
}

static int make_prog(struct k2_object *obj, uint32_t fi, struct linker *l, struct k2_err *e)
{
	struct k2_elf *elf = obj->elf;
	struct k2_efunc *f = &elf->funcs[fi];
	struct k2_prog *p = &obj->progs[obj->n_progs];
	struct k2_pinfo *pi = &elf->pinfo[obj->n_progs];
	const char *name = f->sym ? elf->syms[f->sym].name : elf->secs[f->sec].name;
	int err;

	if (strlen(elf->secs[f->sec].name) >= sizeof(p->sec))
		return k2_obj_err(elf, e, -ENAMETOOLONG, f->sec, "section name too long");
	memset(l->pos, 0xff, elf->n_funcs * sizeof(*l->pos));
	l->insns = NULL;
	l->n = l->cap = 0;
	l->subs = NULL;
	l->n_subs = 0;
	err = link_prog(elf, fi, l);
	pi->func = fi;
	pi->subs = l->subs;
	pi->n_subs = l->n_subs;
	if (err) {
		free(l->insns);
		free(l->subs);
		pi->subs = NULL;
		pi->n_subs = 0;
		return k2_obj_err(elf, e, err, f->sec, "out of memory");
	}
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->sec, sizeof(p->sec), "%s", elf->secs[f->sec].name);
	p->type = k2_prog_type_of_section(p->sec, &p->attach_type);
	p->prog_flags = k2_prog_flags_of_section(p->sec);
	p->insns = l->insns;
	p->n_insns = l->n;
	p->n_main = f->n;
	p->license = obj->license;
	f->prog = (int32_t)obj->n_progs;
	obj->n_progs++;
	return check_prog(elf, p, pi, e);
}

int k2_obj_read_progs(struct k2_object *obj, struct k2_err *e)
{
	struct k2_elf *elf = obj->elf;
	struct linker l = { 0 };
	uint32_t n = 0;
	int err = collect_funcs(elf, e);

	for (uint32_t i = 1; i < elf->n_secs && !err; i++)
		if (is_code(&elf->secs[i]))
			err = check_rel_coverage(elf, i, e);
	for (uint32_t i = 0; i < elf->n_funcs && !err; i++) {
		err = relocate_func(obj, &elf->funcs[i], e);
		n += elf->secs[elf->funcs[i].sec].kind == K2_SEC_PROG;
	}
	if (err)
		return err;
	obj->progs = calloc(n + 1, sizeof(*obj->progs));
	elf->pinfo = calloc(n + 1, sizeof(*elf->pinfo));
	l.pos = malloc((elf->n_funcs + 1) * sizeof(*l.pos));
	if (!obj->progs || !elf->pinfo || !l.pos) {
		free(l.pos);
		return k2_obj_err(elf, e, -ENOMEM, 0, "out of memory");
	}
	for (uint32_t i = 0; i < elf->n_funcs && !err; i++)
		if (elf->secs[elf->funcs[i].sec].kind == K2_SEC_PROG)
			err = make_prog(obj, i, &l, e);
	free(l.pos);
	for (uint32_t i = 0; i < obj->n_progs; i++) {
		obj->progs[i].maps = obj->maps;
		obj->progs[i].n_maps = obj->n_maps;
	}
	return err;
}
