/* bpf/obj_maps.c: the maps of an object: legacy `maps` definitions, data-section maps, order. */
#include "bpf/obj_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int k2_obj_add_map(struct k2_object *obj, const struct k2_map *m, const struct k2_mapsrc *src,
		   struct k2_err *e)
{
	struct k2_elf *elf = obj->elf;
	struct k2_map *maps;
	struct k2_mapsrc *msrc;

	maps = realloc(obj->maps, (obj->n_maps + 1) * sizeof(*maps));
	if (!maps)
		return k2_obj_err(elf, e, -ENOMEM, 0, "out of memory");
	obj->maps = maps;
	msrc = realloc(elf->msrc, (obj->n_maps + 1) * sizeof(*msrc));
	if (!msrc)
		return k2_obj_err(elf, e, -ENOMEM, 0, "out of memory");
	elf->msrc = msrc;
	maps[obj->n_maps] = *m;
	msrc[obj->n_maps] = *src;
	obj->n_maps++;
	return 0;
}

static void set_name(char *dst, const char *src)
{
	snprintf(dst, K2_NAME_MAX, "%s", src);
}

/* Symbols that define legacy maps: every non-section symbol of the `maps` section. */
static uint32_t legacy_syms(const struct k2_elf *elf, uint32_t *out)
{
	uint32_t n = 0;

	for (uint32_t i = 1; i < elf->n_syms; i++) {
		const Elf64_Sym *s = &elf->syms[i].s;

		if (s->st_shndx != elf->legacy_sec || ELF64_ST_TYPE(s->st_info) == STT_SECTION)
			continue;
		if (out)
			out[n] = i;
		n++;
	}
	return n;
}

struct symval {
	uint64_t value;
	uint32_t sym;
};

static int cmp_symval(const void *a, const void *b)
{
	const struct symval *x = a, *y = b;

	if (x->value != y->value)
		return x->value < y->value ? -1 : 1;
	return x->sym < y->sym ? -1 : x->sym > y->sym;
}

static void sort_by_value(const struct k2_elf *elf, uint32_t *syms, uint32_t n, struct symval *tmp)
{
	for (uint32_t i = 0; i < n; i++)
		tmp[i] = (struct symval){ elf->syms[syms[i]].s.st_value, syms[i] };
	qsort(tmp, n, sizeof(*tmp), cmp_symval);
	for (uint32_t i = 0; i < n; i++)
		syms[i] = tmp[i].sym;
}

/*
 * struct bpf_map_def { type, key_size, value_size, max_entries, map_flags }, one per symbol;
 * the definition size is the section size divided by the number of maps, as libbpf 0.x read it.
 */
static int read_legacy(struct k2_object *obj, struct k2_err *e)
{
	struct k2_elf *elf = obj->elf;
	const struct k2_esec *s = &elf->secs[elf->legacy_sec];
	uint32_t n = legacy_syms(elf, NULL), *syms, def_sz;
	struct symval *tmp;
	int err = 0;

	if (!n)
		return 0;
	if (!s->data || s->size % n || s->size / n < 4 || s->size / n > 4096)
		return k2_obj_err(elf, e, -EINVAL, elf->legacy_sec,
				  "cannot size map definitions: %u maps in %llu bytes", n,
				  (unsigned long long)s->size);
	def_sz = (uint32_t)(s->size / n);
	syms = calloc(n, sizeof(*syms));
	tmp = calloc(n, sizeof(*tmp));
	if (!syms || !tmp) {
		free(syms);
		free(tmp);
		return k2_obj_err(elf, e, -ENOMEM, 0, "out of memory");
	}
	legacy_syms(elf, syms);
	sort_by_value(elf, syms, n, tmp);
	free(tmp);
	for (uint32_t i = 0; i < n && !err; i++) {
		const struct k2_esym *y = &elf->syms[syms[i]];
		uint32_t def[5] = { 0 };
		struct k2_map m = { .inner = -1 };
		struct k2_mapsrc src = { .sec = elf->legacy_sec, .sym = syms[i], .off = y->s.st_value };

		if (y->s.st_value > s->size || def_sz > s->size - y->s.st_value) {
			err = k2_obj_err(elf, e, -EINVAL, elf->legacy_sec,
					 "map %s: definition outside the section", y->name);
			break;
		}
		memcpy(def, s->data + y->s.st_value, def_sz < sizeof(def) ? def_sz : sizeof(def));
		for (uint32_t b = sizeof(def); b < def_sz; b++)
			if (s->data[y->s.st_value + b]) {
				err = k2_obj_err(elf, e, -EINVAL, elf->legacy_sec,
						 "map %s: unsupported fields in the definition",
						 y->name);
				break;
			}
		set_name(m.name, y->name);
		m.type = def[0];
		m.key_size = def[1];
		m.value_size = def[2];
		m.max_entries = def[3];
		m.flags = def[4];
		if (!err)
			err = k2_obj_add_map(obj, &m, &src, e);
	}
	free(syms);
	return err;
}

/* Per section, the symbol its relocations are written against: the section symbol if any. */
static uint32_t *data_syms(const struct k2_elf *elf)
{
	uint32_t *best = calloc(elf->n_secs, sizeof(*best));

	for (uint32_t i = 1; best && i < elf->n_syms; i++) {
		const Elf64_Sym *s = &elf->syms[i].s;
		uint32_t *b;

		if (!s->st_shndx || s->st_shndx >= elf->n_secs)
			continue;
		b = &best[s->st_shndx];
		if (*b && ELF64_ST_TYPE(elf->syms[*b].s.st_info) == STT_SECTION)
			continue;
		if (!*b || ELF64_ST_TYPE(s->st_info) == STT_SECTION ||
		    s->st_value < elf->syms[*b].s.st_value)
			*b = i;
	}
	return best;
}

static int read_internal(struct k2_object *obj, struct k2_err *e)
{
	struct k2_elf *elf = obj->elf;
	uint32_t *syms = data_syms(elf);
	int err = 0;

	if (!syms)
		return k2_obj_err(elf, e, -ENOMEM, 0, "out of memory");
	for (uint32_t i = 1; i < elf->n_secs && !err; i++) {
		const struct k2_esec *s = &elf->secs[i];
		struct k2_map m = { .inner = -1, .type = BPF_MAP_TYPE_ARRAY, .key_size = 4,
				    .max_entries = 1 };
		struct k2_mapsrc src = { .sec = i, .sym = syms[i] };

		if (s->kind != K2_SEC_DATA && s->kind != K2_SEC_BSS)
			continue;
		if (s->size > UINT32_MAX) {
			err = k2_obj_err(elf, e, -E2BIG, i, "too large for a map");
			break;
		}
		set_name(m.name, s->name);
		m.value_size = (uint32_t)s->size;
		m.internal = true;
		m.readonly = !strncmp(s->name, ".rodata", 7);
		/* as libbpf creates them: programs may not write .rodata, user space may mmap */
		m.flags = (m.readonly ? BPF_F_RDONLY_PROG : 0) | BPF_F_MMAPABLE;
		m.init = s->kind == K2_SEC_DATA ? s->data : NULL;
		err = k2_obj_add_map(obj, &m, &src, e);
	}
	free(syms);
	return err;
}

/* Order: legacy, BTF-defined (DATASEC order), internal (section order) as libbpf numbers them,
 * then the inner-map templates of map-in-map definitions. */
int k2_obj_read_maps(struct k2_object *obj, struct k2_err *e)
{
	struct k2_elf *elf = obj->elf;
	struct k2_map *tmpls = NULL;
	uint32_t n_tmpls = 0, base;
	int err = 0;

	if (elf->legacy_sec)
		err = read_legacy(obj, e);
	if (!err)
		err = k2_btf_read_maps(obj, &tmpls, &n_tmpls, e);
	if (!err)
		err = read_internal(obj, e);
	base = obj->n_maps;
	for (uint32_t i = 0; i < base && !err; i++)
		if (obj->maps[i].inner >= 0)
			obj->maps[i].inner += (int32_t)base;
	for (uint32_t i = 0; i < n_tmpls && !err; i++) {
		struct k2_mapsrc src = { .template = true };

		tmpls[i].template = true;
		err = k2_obj_add_map(obj, &tmpls[i], &src, e);
	}
	free(tmpls);
	return err;
}
