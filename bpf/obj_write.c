/* bpf/obj_write.c: a drop-in object: changed code, symbols, relocations and BTF.ext moved. */
#include "bpf/obj_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct wstate {
	const struct k2_object *obj;
	const struct k2_elf *elf;
	struct k2_wsec *ws;
	struct k2_secmap *maps; /* per section; fwd NULL when unchanged */
	void **owned;
	uint32_t n_owned;
	uint8_t *symtab;        /* a modified copy once a code section changed */
};

static void *own(struct wstate *st, void *p)
{
	if (p)
		st->owned[st->n_owned++] = p;
	return p;
}

static bool sec_changed(const struct k2_elf *elf, uint32_t sec)
{
	for (uint32_t i = 0; i < elf->n_funcs; i++)
		if (elf->funcs[i].sec == sec && elf->funcs[i].prog >= 0 &&
		    elf->pinfo[elf->funcs[i].prog].raw)
			return true;
	return false;
}

/* Old instructions of a replaced function: forward map (a deleted one goes to the next
 * survivor, or the function's new end) and the function start pinned to the new start. */
static void map_replaced(const struct k2_efunc *f, const struct k2_praw *raw, uint32_t ns,
			 struct k2_secmap *m)
{
	int32_t next = (int32_t)(ns + raw->n);

	for (uint32_t k = f->n; k-- > 0;) {
		if (raw->old_to_new[k] >= 0)
			next = (int32_t)ns + raw->old_to_new[k];
		else
			m->gone[f->off + k] = true;
		m->fwd[f->off + k] = next;
	}
	m->fwd[f->off] = (int32_t)ns;
}

static void put_rel(uint8_t *out, uint32_t *n, uint64_t off, uint32_t sym, uint32_t type)
{
	Elf64_Rel r = { .r_offset = off, .r_info = ELF64_R_INFO(sym, type) };

	memcpy(out + (size_t)(*n)++ * sizeof(r), &r, sizeof(r));
}

static const struct k2_praw *replaced(const struct k2_elf *elf, const struct k2_efunc *f)
{
	return f->prog >= 0 ? elf->pinfo[f->prog].raw : NULL;
}

/* Code of a changed section: bytes outside replaced functions shift, replaced ones are new. */
static void copy_code(struct wstate *st, uint32_t sec, struct bpf_insn *out, uint8_t *rels,
		      uint32_t *nr)
{
	const struct k2_elf *elf = st->elf;
	const struct k2_esec *s = &elf->secs[sec];
	const struct bpf_insn *in = (const struct bpf_insn *)s->data;
	struct k2_secmap *m = &st->maps[sec];
	uint32_t cur_old = 0, cur_new = 0;

	for (uint32_t i = 0; i <= elf->n_funcs; i++) {
		const struct k2_efunc *f = i < elf->n_funcs ? &elf->funcs[i] : NULL;
		const struct k2_praw *raw = f ? replaced(elf, f) : NULL;
		uint32_t end = !f ? m->n_old : raw ? f->off : f->off + f->n;

		if (f && f->sec != sec)
			continue;
		for (; cur_old < end; cur_old++, cur_new++) {
			out[cur_new] = in[cur_old];
			m->fwd[cur_old] = (int32_t)cur_new;
		}
		if (!raw)
			continue;
		map_replaced(f, raw, cur_new, m);
		memcpy(out + cur_new, raw->insns, raw->n * sizeof(*out));
		for (uint32_t k = 0; k < raw->n_rels; k++)
			put_rel(rels, nr, raw->rels[k].off + (uint64_t)cur_new * K2_INSN_SZ,
				raw->rels[k].sym, raw->rels[k].type);
		cur_old += f->n;
		cur_new += raw->n;
	}
	m->fwd[m->n_old] = (int32_t)cur_new;
}

/* The relocations of unchanged functions, shifted with their instructions. */
static void shift_rels(struct wstate *st, uint32_t sec, uint8_t *rels, uint32_t *nr)
{
	const struct k2_elf *elf = st->elf;
	const struct k2_esec *s = &elf->secs[sec];

	for (uint32_t k = 0; k < s->n_rels; k++) {
		uint64_t at = s->rels[k].off / K2_INSN_SZ;
		const struct k2_efunc *f = NULL;

		for (uint32_t i = 0; i < elf->n_funcs && !f; i++)
			if (elf->funcs[i].sec == sec && at >= elf->funcs[i].off &&
			    at < (uint64_t)elf->funcs[i].off + elf->funcs[i].n)
				f = &elf->funcs[i];
		if (f && replaced(elf, f))
			continue;
		put_rel(rels, nr, (uint64_t)st->maps[sec].fwd[at] * K2_INSN_SZ, s->rels[k].sym,
			s->rels[k].type);
	}
}

static int rebuild_code(struct wstate *st, uint32_t sec, struct k2_err *e)
{
	const struct k2_elf *elf = st->elf;
	const struct k2_esec *s = &elf->secs[sec];
	struct k2_secmap *m = &st->maps[sec];
	uint32_t n_old = (uint32_t)(s->size / K2_INSN_SZ), n_new = n_old, n_rel = s->n_rels, nr = 0;
	struct bpf_insn *out;
	uint8_t *rels;

	for (uint32_t i = 0; i < elf->n_funcs; i++) {
		const struct k2_praw *raw = replaced(elf, &elf->funcs[i]);

		if (elf->funcs[i].sec == sec && raw) {
			n_new = n_new - elf->funcs[i].n + raw->n;
			n_rel += raw->n_rels;
		}
	}
	out = own(st, malloc((size_t)n_new * K2_INSN_SZ + 8));
	rels = own(st, malloc((size_t)n_rel * sizeof(Elf64_Rel) + 8));
	m->fwd = own(st, malloc((n_old + 1) * sizeof(*m->fwd)));
	m->gone = own(st, calloc(n_old + 1, sizeof(*m->gone)));
	if (!out || !rels || !m->fwd || !m->gone)
		return k2_obj_err(elf, e, -ENOMEM, 0, "out of memory");
	m->n_old = n_old;
	m->n_new = n_new;
	copy_code(st, sec, out, rels, &nr);
	shift_rels(st, sec, rels, &nr);
	st->ws[sec].data = out;
	st->ws[sec].size = (uint64_t)n_new * K2_INSN_SZ;
	if (s->rel) {
		st->ws[s->rel].data = rels;
		st->ws[s->rel].size = (uint64_t)nr * sizeof(Elf64_Rel);
	}
	return 0;
}

static int cmp_rel(const void *a, const void *b)
{
	const Elf64_Rel *x = a, *y = b;

	return x->r_offset < y->r_offset ? -1 : x->r_offset > y->r_offset;
}

/* Symbols of changed sections: values through the forward map, replaced functions resized. */
static int move_symbols(struct wstate *st, struct k2_err *e)
{
	const struct k2_elf *elf = st->elf;
	const struct k2_esec *symsec = &elf->secs[elf->symtab];

	st->symtab = own(st, malloc(symsec->size));
	if (!st->symtab)
		return k2_obj_err(elf, e, -ENOMEM, 0, "out of memory");
	memcpy(st->symtab, symsec->data, symsec->size);
	for (uint32_t i = 1; i < elf->n_syms; i++) {
		Elf64_Sym y = elf->syms[i].s;
		const struct k2_secmap *m;

		if (!y.st_shndx || y.st_shndx >= elf->n_secs || !st->maps[y.st_shndx].fwd)
			continue;
		m = &st->maps[y.st_shndx];
		if (y.st_value % K2_INSN_SZ || y.st_value / K2_INSN_SZ > m->n_old)
			continue;
		y.st_value = (uint64_t)m->fwd[y.st_value / K2_INSN_SZ] * K2_INSN_SZ;
		memcpy(st->symtab + (size_t)i * sizeof(y), &y, sizeof(y));
	}
	for (uint32_t i = 0; i < elf->n_funcs; i++) {
		const struct k2_efunc *f = &elf->funcs[i];
		Elf64_Sym y;

		if (f->prog < 0 || !elf->pinfo[f->prog].raw || !f->sym)
			continue;
		memcpy(&y, st->symtab + (size_t)f->sym * sizeof(y), sizeof(y));
		y.st_size = (uint64_t)elf->pinfo[f->prog].raw->n * K2_INSN_SZ;
		memcpy(st->symtab + (size_t)f->sym * sizeof(y), &y, sizeof(y));
	}
	st->ws[elf->symtab].data = st->symtab;
	return 0;
}

static int rewrite_btfext(struct wstate *st, struct k2_err *e)
{
	const struct k2_elf *elf = st->elf;
	void *x, *rel;
	uint64_t xn, reln;
	int err;

	if (!elf->btfext_sec)
		return 0;
	err = k2_btfext_rewrite(elf, st->maps, &x, &xn, &rel, &reln, e);
	if (err)
		return err;
	own(st, x);
	own(st, rel);
	st->ws[elf->btfext_sec].data = x;
	st->ws[elf->btfext_sec].size = xn;
	/* the records' relocations go to the section they came from; any other one empties */
	for (uint32_t i = 1; i < elf->n_secs; i++)
		if (elf->secs[i].sh.sh_type == SHT_REL && elf->secs[i].sh.sh_info == elf->btfext_sec) {
			bool ours = elf->ext && i == elf->ext->rel_sec;

			st->ws[i].data = ours ? rel : NULL;
			st->ws[i].size = ours ? reln : 0;
		}
	return 0;
}

static int build(struct wstate *st, struct k2_err *e)
{
	const struct k2_elf *elf = st->elf;
	bool any = false;
	int err = 0;

	st->ws = calloc(elf->n_secs, sizeof(*st->ws));
	st->maps = calloc(elf->n_secs, sizeof(*st->maps));
	st->owned = calloc(6 * elf->n_secs + 8, sizeof(*st->owned));
	if (!st->ws || !st->maps || !st->owned)
		return k2_obj_err(elf, e, -ENOMEM, 0, "out of memory");
	for (uint32_t i = 1; i < elf->n_secs; i++) {
		st->ws[i].data = elf->secs[i].data;
		st->ws[i].size = elf->secs[i].size;
		st->ws[i].sh = elf->secs[i].sh;
	}
	for (uint32_t i = 1; i < elf->n_secs && !err; i++)
		if (elf->secs[i].kind == K2_SEC_PROG && sec_changed(elf, i)) {
			err = rebuild_code(st, i, e);
			if (!err && elf->secs[i].rel)
				qsort((void *)st->ws[elf->secs[i].rel].data,
				      st->ws[elf->secs[i].rel].size / sizeof(Elf64_Rel),
				      sizeof(Elf64_Rel), cmp_rel);
			any = true;
		}
	if (err || !any)
		return err;
	err = move_symbols(st, e);
	if (!err)
		err = rewrite_btfext(st, e);
	/* DWARF describes the old code: emptied rather than left wrong */
	for (uint32_t i = 1; i < elf->n_secs && !err; i++)
		if (elf->secs[i].kind == K2_SEC_DEBUG && i != elf->shstrndx &&
		    i != elf->secs[elf->symtab].sh.sh_link) {
			st->ws[i].data = NULL;
			st->ws[i].size = 0;
		}
	/* new contents that an odd entry size no longer divides: not an array of entries */
	for (uint32_t i = 1; i < elf->n_secs; i++)
		if (st->ws[i].sh.sh_entsize && st->ws[i].size % st->ws[i].sh.sh_entsize)
			st->ws[i].sh.sh_entsize = 0;
	return err;
}

static void release(struct wstate *st)
{
	for (uint32_t i = 0; i < st->n_owned; i++)
		free(st->owned[i]);
	free(st->owned);
	free(st->ws);
	free(st->maps);
}

int k2_object_write(const struct k2_object *obj, const char *path, struct k2_err *e)
{
	struct wstate st = { .obj = obj, .elf = obj ? obj->elf : NULL };
	int err;

	if (!obj || !path)
		return k2_err_set(e, -EINVAL, "k2_object_write: bad arguments");
	err = build(&st, e);
	if (!err)
		err = k2_elf_write_path(st.elf, st.ws, path, e);
	release(&st);
	return err;
}

int k2_object_write_mem(const struct k2_object *obj, void **buf, size_t *len, struct k2_err *e)
{
	struct wstate st = { .obj = obj, .elf = obj ? obj->elf : NULL };
	int err;

	if (!obj || !buf || !len)
		return k2_err_set(e, -EINVAL, "k2_object_write_mem: bad arguments");
	err = build(&st, e);
	if (!err)
		err = k2_elf_write_mem(st.elf, st.ws, buf, len, e);
	release(&st);
	return err;
}
