/* bpf/elf_read.c: the ELF layer of objects: headers via libelf, sections, symbols, relocs. */
#include "bpf/obj_internal.h"

#include <gelf.h>
#include <libelf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int k2_obj_err(const struct k2_elf *elf, struct k2_err *e, int code, uint32_t sec,
	       const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (sec && sec < elf->n_secs && elf->secs && elf->secs[sec].name)
		return k2_err_set(e, code, "%s: section %s: %s", elf->name, elf->secs[sec].name, msg);
	return k2_err_set(e, code, "%s: %s", elf->name, msg);
}

int k2_elf_sec_by_name(const struct k2_elf *elf, const char *name)
{
	for (uint32_t i = 1; i < elf->n_secs; i++)
		if (elf->secs[i].name && !strcmp(elf->secs[i].name, name))
			return (int)i;
	return 0;
}

/* A NUL-terminated string at `off` of a string table section, or NULL. */
static const char *str_at(const struct k2_esec *s, uint64_t off)
{
	if (s->sh.sh_type != SHT_STRTAB || !s->data || off >= s->size)
		return NULL;
	if (!memchr(s->data + off, '\0', s->size - off))
		return NULL;
	return (const char *)s->data + off;
}

static int read_ehdr(struct k2_elf *elf, Elf *le, struct k2_err *e)
{
	GElf_Ehdr eh;
	size_t n, shstr;

	if (elf->len < sizeof(Elf64_Ehdr) || memcmp(elf->buf, ELFMAG, SELFMAG))
		return k2_obj_err(elf, e, -EINVAL, 0, "not an ELF file");
	if (elf->buf[EI_CLASS] != ELFCLASS64 || elf->buf[EI_DATA] != ELFDATA2LSB)
		return k2_obj_err(elf, e, -EINVAL, 0, "not a 64-bit little-endian ELF file");
	if (!gelf_getehdr(le, &eh))
		return k2_obj_err(elf, e, -EINVAL, 0, "bad ELF header: %s", elf_errmsg(-1));
	if (eh.e_version != EV_CURRENT)
		return k2_obj_err(elf, e, -EINVAL, 0, "unknown ELF version %u", eh.e_version);
	if (eh.e_machine != EM_BPF || eh.e_type != ET_REL)
		return k2_obj_err(elf, e, -EINVAL, 0, "not a BPF relocatable object (machine %u, type %u)",
				  eh.e_machine, eh.e_type);
	if (eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shoff > elf->len ||
	    (uint64_t)eh.e_shnum * sizeof(Elf64_Shdr) > elf->len - eh.e_shoff)
		return k2_obj_err(elf, e, -EINVAL, 0, "section header table outside the file");
	if (elf_getshdrnum(le, &n) || elf_getshdrstrndx(le, &shstr))
		return k2_obj_err(elf, e, -EINVAL, 0, "bad section headers: %s", elf_errmsg(-1));
	if (n < 2 || n >= SHN_LORESERVE || n != eh.e_shnum || shstr == 0 || shstr >= n)
		return k2_obj_err(elf, e, -EINVAL, 0, "bad section count %zu or names index %zu", n,
				  shstr);
	memcpy(&elf->eh, elf->buf, sizeof(elf->eh));
	elf->n_secs = (uint32_t)n;
	elf->shstrndx = (uint32_t)shstr;
	return 0;
}

/*
 * Section types a BPF object holds, with the entry size libelf insists on when the object is
 * written back (0: none); anything else is refused so that whatever is read can be written.
 */
static int check_type(const struct k2_elf *elf, uint32_t i, const GElf_Shdr *sh, struct k2_err *e)
{
	static const struct {
		uint32_t type, entsize;
	} types[] = {
		{ SHT_NULL, 0 }, { SHT_PROGBITS, 0 }, { SHT_SYMTAB, sizeof(Elf64_Sym) },
		{ SHT_STRTAB, 0 }, { SHT_RELA, sizeof(Elf64_Rela) }, { SHT_NOTE, 0 },
		{ SHT_NOBITS, 0 }, { SHT_REL, sizeof(Elf64_Rel) },
	};

	if (sh->sh_type == SHT_NULL && sh->sh_size)
		return k2_obj_err(elf, e, -EINVAL, 0, "section %u: null section with a size", i);
	if (sh->sh_flags & SHF_COMPRESSED)
		return k2_obj_err(elf, e, -EOPNOTSUPP, 0, "section %u: compressed sections are not supported", i);
	/* libelf writes only whole entries */
	if (sh->sh_entsize && sh->sh_size % sh->sh_entsize)
		return k2_obj_err(elf, e, -EINVAL, 0,
				  "section %u: size %llu is not a multiple of its entry size %llu", i,
				  (unsigned long long)sh->sh_size, (unsigned long long)sh->sh_entsize);
	/* LLVM's own sections (.llvm_addrsig, ...) are opaque bytes to libelf */
	if (sh->sh_type >= 0x6fff4c00 && sh->sh_type <= 0x6fff4cff)
		return 0;
	for (size_t k = 0; k < sizeof(types) / sizeof(types[0]); k++) {
		if (types[k].type != sh->sh_type)
			continue;
		if (!types[k].entsize)
			return sh->sh_type == SHT_NOTE && sh->sh_entsize ?
				       k2_obj_err(elf, e, -EINVAL, 0, "section %u: bad entry size", i) : 0;
		if ((sh->sh_entsize && sh->sh_entsize != types[k].entsize) ||
		    sh->sh_size % types[k].entsize)
			return k2_obj_err(elf, e, -EINVAL, 0, "section %u: bad entry size %llu", i,
					  (unsigned long long)sh->sh_entsize);
		return 0;
	}
	return k2_obj_err(elf, e, -EINVAL, 0, "section %u: unsupported type 0x%x", i, sh->sh_type);
}

static int read_shdrs(struct k2_elf *elf, Elf *le, struct k2_err *e)
{
	elf->secs = calloc(elf->n_secs, sizeof(*elf->secs));
	if (!elf->secs)
		return k2_obj_err(elf, e, -ENOMEM, 0, "out of memory");
	for (uint32_t i = 1; i < elf->n_secs; i++) {
		struct k2_esec *s = &elf->secs[i];
		Elf_Scn *scn = elf_getscn(le, i);
		GElf_Shdr sh;

		if (!scn || !gelf_getshdr(scn, &sh))
			return k2_obj_err(elf, e, -EINVAL, 0, "section %u: bad header", i);
		if (check_type(elf, i, &sh, e))
			return e ? e->code : -EINVAL;
		memcpy(&s->sh, &sh, sizeof(sh));
		s->size = sh.sh_size;
		if (sh.sh_addralign & (sh.sh_addralign - 1) || sh.sh_addralign > 4096)
			return k2_obj_err(elf, e, -EINVAL, 0, "section %u: bad alignment %llu", i,
					  (unsigned long long)sh.sh_addralign);
		if (sh.sh_type == SHT_NOBITS || sh.sh_type == SHT_NULL || !sh.sh_size)
			continue;
		if (sh.sh_offset > elf->len || sh.sh_size > elf->len - sh.sh_offset)
			return k2_obj_err(elf, e, -EINVAL, 0,
					  "section %u: offset %llu size %llu outside the file (%zu bytes)",
					  i, (unsigned long long)sh.sh_offset,
					  (unsigned long long)sh.sh_size, elf->len);
		s->data = elf->buf + sh.sh_offset;
	}
	for (uint32_t i = 1; i < elf->n_secs; i++) {
		struct k2_esec *s = &elf->secs[i];

		s->name = str_at(&elf->secs[elf->shstrndx], s->sh.sh_name);
		if (!s->name)
			return k2_obj_err(elf, e, -EINVAL, 0, "section %u: bad name offset %u", i,
					  s->sh.sh_name);
	}
	return 0;
}

static bool has_pfx(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p));
}

static enum k2_sec_kind kind_of(const struct k2_esec *s)
{
	const char *n = s->name;

	switch (s->sh.sh_type) {
	case SHT_PROGBITS:
		if (s->sh.sh_flags & SHF_EXECINSTR)
			return strcmp(n, ".text") ? K2_SEC_PROG : K2_SEC_TEXT;
		if (!strcmp(n, ".maps"))
			return K2_SEC_BTF_MAPS;
		if (!strcmp(n, "maps"))
			return K2_SEC_LEGACY_MAPS;
		if (!strcmp(n, ".BTF"))
			return K2_SEC_BTF;
		if (!strcmp(n, ".BTF.ext"))
			return K2_SEC_BTF_EXT;
		if (has_pfx(n, ".debug_"))
			return K2_SEC_DEBUG;
		if (!strcmp(n, ".data") || has_pfx(n, ".data.") || !strcmp(n, ".rodata") ||
		    has_pfx(n, ".rodata."))
			return s->size ? K2_SEC_DATA : K2_SEC_OTHER;
		return K2_SEC_OTHER;
	case SHT_NOBITS:
		if (!strcmp(n, ".bss") || has_pfx(n, ".bss."))
			return s->size ? K2_SEC_BSS : K2_SEC_OTHER;
		return K2_SEC_OTHER;
	case SHT_REL:
		return K2_SEC_REL;
	case SHT_SYMTAB:
		return K2_SEC_SYMTAB;
	default:
		return K2_SEC_OTHER;
	}
}

static int classify(struct k2_elf *elf, struct k2_err *e)
{
	for (uint32_t i = 1; i < elf->n_secs; i++) {
		struct k2_esec *s = &elf->secs[i];

		s->kind = kind_of(s);
		if ((s->kind == K2_SEC_PROG || s->kind == K2_SEC_TEXT) && s->size % K2_INSN_SZ)
			return k2_obj_err(elf, e, -EINVAL, i, "size %llu is not a multiple of 8",
					  (unsigned long long)s->size);
		if (s->kind == K2_SEC_SYMTAB) {
			if (elf->symtab)
				return k2_obj_err(elf, e, -EINVAL, i, "more than one symbol table");
			elf->symtab = i;
		}
		if (s->kind == K2_SEC_TEXT && !elf->text)
			elf->text = i;
		if (s->kind == K2_SEC_BTF_MAPS && !elf->maps_sec)
			elf->maps_sec = i;
		if (s->kind == K2_SEC_LEGACY_MAPS && !elf->legacy_sec)
			elf->legacy_sec = i;
		if (s->kind == K2_SEC_BTF && !elf->btf_sec)
			elf->btf_sec = i;
		if (s->kind == K2_SEC_BTF_EXT && !elf->btfext_sec)
			elf->btfext_sec = i;
	}
	/* Relocations of DWARF are DWARF too: emptied with it. */
	for (uint32_t i = 1; i < elf->n_secs; i++) {
		struct k2_esec *s = &elf->secs[i];

		if ((s->sh.sh_type == SHT_REL || s->sh.sh_type == SHT_RELA) &&
		    s->sh.sh_info < elf->n_secs && elf->secs[s->sh.sh_info].kind == K2_SEC_DEBUG)
			s->kind = K2_SEC_DEBUG;
	}
	if (!elf->symtab)
		return k2_obj_err(elf, e, -EINVAL, 0, "no symbol table");
	return 0;
}

static int read_syms(struct k2_elf *elf, struct k2_err *e)
{
	const struct k2_esec *st = &elf->secs[elf->symtab], *str;

	if (st->sh.sh_entsize != sizeof(Elf64_Sym) || st->size % sizeof(Elf64_Sym) || !st->data)
		return k2_obj_err(elf, e, -EINVAL, elf->symtab, "bad symbol table size %llu",
				  (unsigned long long)st->size);
	if (st->sh.sh_link == 0 || st->sh.sh_link >= elf->n_secs)
		return k2_obj_err(elf, e, -EINVAL, elf->symtab, "bad string table index %u",
				  st->sh.sh_link);
	str = &elf->secs[st->sh.sh_link];
	elf->n_syms = (uint32_t)(st->size / sizeof(Elf64_Sym));
	elf->syms = calloc(elf->n_syms, sizeof(*elf->syms));
	if (!elf->syms)
		return k2_obj_err(elf, e, -ENOMEM, 0, "out of memory");
	for (uint32_t i = 0; i < elf->n_syms; i++) {
		struct k2_esym *y = &elf->syms[i];

		memcpy(&y->s, st->data + (size_t)i * sizeof(Elf64_Sym), sizeof(y->s));
		y->name = y->s.st_name ? str_at(str, y->s.st_name) : "";
		if (!y->name)
			return k2_obj_err(elf, e, -EINVAL, elf->symtab, "symbol %u: bad name offset %u",
					  i, y->s.st_name);
		if (y->s.st_shndx == SHN_XINDEX ||
		    (y->s.st_shndx < SHN_LORESERVE && y->s.st_shndx >= elf->n_secs))
			return k2_obj_err(elf, e, -EINVAL, elf->symtab,
					  "symbol %u (%s): bad section index %u", i, y->name,
					  y->s.st_shndx);
		if (ELF64_ST_TYPE(y->s.st_info) == STT_SECTION && !y->name[0] && y->s.st_shndx &&
		    y->s.st_shndx < elf->n_secs)
			y->name = elf->secs[y->s.st_shndx].name;
	}
	return 0;
}

static int cmp_rel(const void *a, const void *b)
{
	const struct k2_erel *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

static int read_rel(struct k2_elf *elf, uint32_t i, struct k2_err *e)
{
	struct k2_esec *r = &elf->secs[i], *t;
	uint32_t n;

	if (r->sh.sh_info == 0 || r->sh.sh_info >= elf->n_secs)
		return k2_obj_err(elf, e, -EINVAL, i, "bad target section %u", r->sh.sh_info);
	t = &elf->secs[r->sh.sh_info];
	if (t->kind != K2_SEC_PROG && t->kind != K2_SEC_TEXT)
		return 0; /* kept byte for byte */
	if (r->sh.sh_type != SHT_REL)
		return k2_obj_err(elf, e, -EINVAL, i, "RELA relocations of code are not BPF");
	if (r->sh.sh_link != elf->symtab || r->sh.sh_entsize != sizeof(Elf64_Rel) ||
	    r->size % sizeof(Elf64_Rel))
		return k2_obj_err(elf, e, -EINVAL, i, "bad relocation section header");
	if (t->rel)
		return k2_obj_err(elf, e, -EINVAL, i, "second relocation section for %s", t->name);
	t->rel = i;
	n = (uint32_t)(r->size / sizeof(Elf64_Rel));
	t->rels = calloc(n ? n : 1, sizeof(*t->rels));
	if (!t->rels)
		return k2_obj_err(elf, e, -ENOMEM, 0, "out of memory");
	t->n_rels = n;
	for (uint32_t k = 0; k < n; k++) {
		Elf64_Rel rel;

		memcpy(&rel, r->data + (size_t)k * sizeof(rel), sizeof(rel));
		t->rels[k] = (struct k2_erel){ .off = rel.r_offset,
					       .sym = (uint32_t)ELF64_R_SYM(rel.r_info),
					       .type = (uint32_t)ELF64_R_TYPE(rel.r_info),
					       .map = -1, .func = -1 };
		if (ELF64_R_SYM(rel.r_info) >= elf->n_syms)
			return k2_obj_err(elf, e, -EINVAL, r->sh.sh_info,
					  "relocation %u: missing symbol %llu", k,
					  (unsigned long long)ELF64_R_SYM(rel.r_info));
		if (rel.r_offset % K2_INSN_SZ || rel.r_offset >= t->size)
			return k2_obj_err(elf, e, -EINVAL, r->sh.sh_info,
					  "relocation %u: offset %llu outside the section", k,
					  (unsigned long long)rel.r_offset);
	}
	qsort(t->rels, n, sizeof(*t->rels), cmp_rel);
	for (uint32_t k = 1; k < n; k++)
		if (t->rels[k].off == t->rels[k - 1].off)
			return k2_obj_err(elf, e, -EINVAL, r->sh.sh_info,
					  "insn %llu: two relocations",
					  (unsigned long long)(t->rels[k].off / K2_INSN_SZ));
	return 0;
}

int k2_elf_read(struct k2_elf *elf, struct k2_err *e)
{
	Elf *le;
	int err;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return k2_obj_err(elf, e, -EINVAL, 0, "libelf: %s", elf_errmsg(-1));
	if (elf->len < EI_NIDENT || memcmp(elf->buf, ELFMAG, SELFMAG))
		return k2_obj_err(elf, e, -EINVAL, 0, "not an ELF file");
	le = elf_memory((char *)elf->buf, elf->len);
	if (!le)
		return k2_obj_err(elf, e, -EINVAL, 0, "libelf: %s", elf_errmsg(-1));
	err = read_ehdr(elf, le, e);
	if (!err)
		err = read_shdrs(elf, le, e);
	elf_end(le);
	if (!err)
		err = classify(elf, e);
	if (!err)
		err = read_syms(elf, e);
	for (uint32_t i = 1; !err && i < elf->n_secs; i++)
		if (elf->secs[i].sh.sh_type == SHT_REL || elf->secs[i].sh.sh_type == SHT_RELA)
			err = read_rel(elf, i, e);
	return err;
}

void k2_elf_free(struct k2_elf *elf)
{
	if (!elf)
		return;
	for (uint32_t i = 0; elf->secs && i < elf->n_secs; i++)
		free(elf->secs[i].rels);
	free(elf->secs);
	free(elf->syms);
	free(elf->buf);
}
