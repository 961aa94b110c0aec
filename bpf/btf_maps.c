/* bpf/btf_maps.c: BTF-defined maps: the variables of the .maps DATASEC and their struct members. */
#include "bpf/obj_internal.h"

#include <bpf/btf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libbpf's pinning values (LIBBPF_PIN_NONE, LIBBPF_PIN_BY_NAME) */
#define K2_PIN_MAX 1

struct def_ctx {
	struct k2_elf *elf;
	const struct btf *btf;
	const char *map;      /* for messages */
	struct k2_err *e;
};

static const struct btf_type *skip_mods(const struct btf *btf, uint32_t id, uint32_t *res_id)
{
	const struct btf_type *t = btf__type_by_id(btf, id);

	/* bounded: BTF from a file may loop */
	for (int i = 0; t && i < 32; i++) {
		switch (btf_kind(t)) {
		case BTF_KIND_TYPEDEF:
		case BTF_KIND_VOLATILE:
		case BTF_KIND_CONST:
		case BTF_KIND_RESTRICT:
		case BTF_KIND_TYPE_TAG:
			id = t->type;
			t = btf__type_by_id(btf, id);
			continue;
		default:
			if (res_id)
				*res_id = id;
			return t;
		}
	}
	return NULL;
}

static int bad(struct def_ctx *c, const char *field, const char *why)
{
	return k2_obj_err(c->elf, c->e, -EINVAL, c->elf->maps_sec, "map %s: field %s: %s", c->map,
			  field, why);
}

/* __uint(name, N) is `int (*name)[N]`: the number is the array's length. */
static int field_uint(struct def_ctx *c, const char *field, uint32_t type, uint32_t *out)
{
	const struct btf_type *t = skip_mods(c->btf, type, NULL), *a;

	if (!t || !btf_is_ptr(t))
		return bad(c, field, "not a pointer to an array (__uint)");
	a = skip_mods(c->btf, t->type, NULL);
	if (!a || !btf_is_array(a))
		return bad(c, field, "not a pointer to an array (__uint)");
	*out = btf_array(a)->nelems;
	return 0;
}

/* __type(name, T) is `T *name`: the size of T. */
static int field_size(struct def_ctx *c, const char *field, uint32_t type, uint32_t *out)
{
	const struct btf_type *t = skip_mods(c->btf, type, NULL);
	long sz;

	if (!t || !btf_is_ptr(t))
		return bad(c, field, "not a pointer to a type (__type)");
	sz = btf__resolve_size(c->btf, t->type);
	if (sz < 0 || sz > UINT32_MAX)
		return bad(c, field, "type without a size");
	*out = (uint32_t)sz;
	return 0;
}

static int set_size(struct def_ctx *c, const char *field, uint32_t *dst, uint32_t v)
{
	if (*dst && *dst != v)
		return bad(c, field, "size disagrees with the other size field");
	*dst = v;
	return 0;
}

static int parse_def(struct def_ctx *c, const struct btf_type *st, struct k2_map *m,
		     uint32_t *values, bool inner);

/* `values`: an array of pointers to map definitions (map-in-map) or to functions (prog array). */
static int parse_values(struct def_ctx *c, uint32_t type, struct k2_map *m, struct k2_map *tmpl,
			bool *has_tmpl)
{
	const struct btf_type *a = skip_mods(c->btf, type, NULL), *p, *t;
	uint32_t dummy = 0;

	if (!a || !btf_is_array(a))
		return bad(c, "values", "not an array (__array)");
	p = skip_mods(c->btf, btf_array(a)->type, NULL);
	if (!p || !btf_is_ptr(p))
		return bad(c, "values", "not an array of pointers");
	t = skip_mods(c->btf, p->type, NULL);
	if (!t)
		return bad(c, "values", "bad element type");
	if (m->type == BPF_MAP_TYPE_ARRAY_OF_MAPS || m->type == BPF_MAP_TYPE_HASH_OF_MAPS) {
		if (!btf_is_struct(t))
			return bad(c, "values", "inner map is not a map definition");
		*tmpl = (struct k2_map){ .inner = -1 };
		snprintf(tmpl->name, sizeof(tmpl->name), "%.*s.inner", K2_NAME_MAX - 7, m->name);
		if (parse_def(c, t, tmpl, &dummy, true))
			return c->e ? c->e->code : -EINVAL;
		*has_tmpl = true;
	} else if (m->type == BPF_MAP_TYPE_PROG_ARRAY) {
		if (!btf_is_func_proto(t))
			return bad(c, "values", "prog array values are not functions");
	} else {
		return bad(c, "values", "only map-in-map and prog array maps have values");
	}
	return set_size(c, "values", &m->value_size, 4);
}

static int parse_member(struct def_ctx *c, const char *name, uint32_t type, struct k2_map *m)
{
	static const struct {
		const char *name;
		size_t off;
	} uints[] = {
		{ "type", offsetof(struct k2_map, type) },
		{ "max_entries", offsetof(struct k2_map, max_entries) },
		{ "map_flags", offsetof(struct k2_map, flags) },
		{ "numa_node", offsetof(struct k2_map, numa_node) },
		{ "pinning", offsetof(struct k2_map, pinning) },
	};
	uint32_t v = 0;
	int err;

	for (size_t i = 0; i < sizeof(uints) / sizeof(uints[0]); i++)
		if (!strcmp(name, uints[i].name))
			return field_uint(c, name, type, (uint32_t *)((char *)m + uints[i].off));
	if (!strcmp(name, "map_extra")) {
		err = field_uint(c, name, type, &v);
		m->map_extra = v;
		return err;
	}
	if (!strcmp(name, "key_size") || !strcmp(name, "value_size")) {
		err = field_uint(c, name, type, &v);
		if (!err)
			err = set_size(c, name, name[0] == 'k' ? &m->key_size : &m->value_size, v);
		return err;
	}
	if (!strcmp(name, "key") || !strcmp(name, "value")) {
		err = field_size(c, name, type, &v);
		if (!err)
			err = set_size(c, name, name[0] == 'k' ? &m->key_size : &m->value_size, v);
		return err;
	}
	return bad(c, name, "unknown field");
}

static int parse_def(struct def_ctx *c, const struct btf_type *st, struct k2_map *m,
		     uint32_t *values, bool inner)
{
	const struct btf_member *mb = btf_members(st);

	for (uint32_t i = 0; i < btf_vlen(st); i++) {
		const char *name = btf__name_by_offset(c->btf, mb[i].name_off);
		int err;

		if (!name || !name[0])
			return bad(c, "?", "member without a name");
		if (!strcmp(name, "values")) {
			if (inner)
				return bad(c, name, "an inner map cannot hold maps");
			*values = mb[i].type;
			continue;
		}
		err = parse_member(c, name, mb[i].type, m);
		if (err)
			return err;
	}
	if (m->pinning > K2_PIN_MAX)
		return bad(c, "pinning", "unknown pinning type");
	if (!m->type)
		return bad(c, "type", "missing");
	return 0;
}

static uint32_t map_symbol(const struct k2_elf *elf, const char *name)
{
	for (uint32_t i = 1; i < elf->n_syms; i++)
		if (elf->syms[i].s.st_shndx == elf->maps_sec &&
		    ELF64_ST_TYPE(elf->syms[i].s.st_info) != STT_SECTION &&
		    !strcmp(elf->syms[i].name, name))
			return i;
	return 0;
}

static int add_one(struct k2_object *obj, struct def_ctx *c, const struct btf_var_secinfo *vi,
		   struct k2_map *tmpls, uint32_t *n_tmpls)
{
	struct k2_elf *elf = obj->elf;
	const struct btf_type *var = btf__type_by_id(c->btf, vi->type), *st;
	struct k2_map m = { .inner = -1 }, tmpl;
	struct k2_mapsrc src = { .sec = elf->maps_sec };
	uint32_t values = 0;
	bool has_tmpl = false;
	int err;

	if (!var || !btf_is_var(var))
		return k2_obj_err(elf, c->e, -EINVAL, elf->maps_sec, "BTF: not a variable");
	c->map = btf__name_by_offset(c->btf, var->name_off);
	if (!c->map || !c->map[0])
		return k2_obj_err(elf, c->e, -EINVAL, elf->maps_sec, "BTF: map without a name");
	st = skip_mods(c->btf, var->type, NULL);
	if (!st || !btf_is_struct(st))
		return k2_obj_err(elf, c->e, -EINVAL, elf->maps_sec,
				  "map %s: definition is not a struct", c->map);
	snprintf(m.name, sizeof(m.name), "%s", c->map);
	src.sym = map_symbol(elf, c->map);
	if (!src.sym)
		return k2_obj_err(elf, c->e, -EINVAL, elf->maps_sec, "map %s: no symbol", c->map);
	src.off = elf->syms[src.sym].s.st_value;
	err = parse_def(c, st, &m, &values, false);
	if (!err && values)
		err = parse_values(c, values, &m, &tmpl, &has_tmpl);
	if (err)
		return err;
	if (has_tmpl) {
		/* templates follow every other map; the index is fixed up by the caller */
		m.inner = (int32_t)*n_tmpls;
		tmpls[(*n_tmpls)++] = tmpl;
	}
	return k2_obj_add_map(obj, &m, &src, c->e);
}

int k2_btf_read_maps(struct k2_object *obj, struct k2_map **tmpls_out, uint32_t *n_tmpls,
		     struct k2_err *e)
{
	struct k2_elf *elf = obj->elf;
	struct def_ctx c = { .elf = elf, .btf = elf->btf, .e = e };
	const struct btf_type *ds;
	const struct btf_var_secinfo *vi;
	struct k2_map *tmpls;
	int id, err = 0;

	*tmpls_out = NULL;
	*n_tmpls = 0;
	if (!elf->maps_sec)
		return 0;
	if (!elf->btf)
		return k2_obj_err(elf, e, -EINVAL, elf->maps_sec, "BTF-defined maps need %s .BTF",
				  elf->btf_sec ? "a valid" : "a");
	id = btf__find_by_name_kind(elf->btf, ".maps", BTF_KIND_DATASEC);
	ds = id > 0 ? btf__type_by_id(elf->btf, (uint32_t)id) : NULL;
	if (!ds)
		return k2_obj_err(elf, e, -EINVAL, elf->maps_sec, "BTF has no DATASEC .maps");
	vi = btf_var_secinfos(ds);
	tmpls = calloc(btf_vlen(ds) + 1, sizeof(*tmpls));
	if (!tmpls)
		return k2_obj_err(elf, e, -ENOMEM, 0, "out of memory");
	for (uint32_t i = 0; i < btf_vlen(ds) && !err; i++)
		err = add_one(obj, &c, &vi[i], tmpls, n_tmpls);
	if (err) {
		free(tmpls);
		*n_tmpls = 0;
		return err;
	}
	*tmpls_out = tmpls;
	return 0;
}
