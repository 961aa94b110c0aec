/* bpf/btf_build.c: minimal BTF for built objects: map definitions as libbpf reads them, FUNCs. */
#include "bpf/obj_build.h"

#include <bpf/btf.h>
#include <linux/btf.h>
#include <stdlib.h>
#include <string.h>

/* `int (*)[v]`: how __uint(name, v) spells a number in a map definition. */
static int uint_type(struct btf *btf, int int_id, uint32_t v)
{
	int arr = btf__add_array(btf, int_id, int_id, v);

	return arr < 0 ? arr : btf__add_ptr(btf, arr);
}

struct def_field {
	const char *name;
	uint32_t v;
	bool present;
};

#define N_FIELDS 8

static void def_fields(const struct k2_map *m, bool values, struct def_field *f)
{
	const struct def_field all[N_FIELDS] = {
		{ "type", m->type, true },
		{ "key_size", m->key_size, m->key_size != 0 },
		{ "value_size", m->value_size, m->value_size != 0 && !values },
		{ "max_entries", m->max_entries, true },
		{ "map_flags", m->flags, m->flags != 0 },
		{ "pinning", m->pinning, m->pinning != 0 },
		{ "numa_node", m->numa_node, m->numa_node != 0 },
		{ "map_extra", (uint32_t)m->map_extra, m->map_extra != 0 },
	};

	memcpy(f, all, sizeof(all));
}

uint32_t k2_btf_def_size(const struct k2_map *m)
{
	struct def_field f[N_FIELDS];
	uint32_t n = m->inner >= 0;

	def_fields(m, m->inner >= 0, f);
	for (int i = 0; i < N_FIELDS; i++)
		n += f[i].present;
	return n * 8;
}

/*
 * The struct of one definition; its id, and its size in *size. Member types come first:
 * libbpf adds fields to the type added last.
 */
static int add_def(struct btf *btf, int int_id, const struct k2_map *m, int values_type,
		   uint32_t *size)
{
	struct def_field f[N_FIELDS];
	int types[N_FIELDS];
	uint32_t n = values_type >= 0;
	int st, bits = 0, err;

	def_fields(m, values_type >= 0, f);
	for (size_t i = 0; i < N_FIELDS; i++) {
		if (!f[i].present)
			continue;
		types[i] = uint_type(btf, int_id, f[i].v);
		if (types[i] < 0)
			return types[i];
		n++;
	}
	st = btf__add_struct(btf, NULL, n * 8);
	if (st < 0)
		return st;
	for (size_t i = 0; i < N_FIELDS; i++) {
		if (!f[i].present)
			continue;
		err = btf__add_field(btf, f[i].name, types[i], bits, 0);
		if (err < 0)
			return err;
		bits += 64;
	}
	if (values_type >= 0) {
		err = btf__add_field(btf, "values", values_type, bits, 0);
		if (err < 0)
			return err;
	}
	*size = n * 8;
	return st;
}

/* `struct inner *values[]`: the inner map template of a map-in-map. */
static int add_values(struct btf *btf, int int_id, const struct k2_map *tmpl)
{
	uint32_t size;
	int st = add_def(btf, int_id, tmpl, -1, &size), ptr;

	if (st < 0)
		return st;
	ptr = btf__add_ptr(btf, st);
	if (ptr < 0)
		return ptr;
	return btf__add_array(btf, int_id, ptr, 0);
}

static int add_maps(struct btf *btf, int int_id, const struct k2_build *b)
{
	int vars[K2_BUILD_MAX_MAPS], ds, err;
	uint32_t sizes[K2_BUILD_MAX_MAPS], total = 0, nv = 0;

	for (uint32_t i = 0; i < b->n_maps; i++) {
		const struct k2_map *m = &b->maps[i];
		int values = -1, st;

		if (m->internal || m->template)
			continue;
		if (m->inner >= 0) {
			values = add_values(btf, int_id, &b->maps[m->inner]);
			if (values < 0)
				return values;
		}
		st = add_def(btf, int_id, m, values, &sizes[nv]);
		if (st < 0)
			return st;
		vars[nv] = btf__add_var(btf, m->name, BTF_VAR_GLOBAL_ALLOCATED, st);
		if (vars[nv] < 0)
			return vars[nv];
		total += sizes[nv++];
	}
	if (!nv)
		return 0;
	ds = btf__add_datasec(btf, ".maps", total);
	if (ds < 0)
		return ds;
	total = 0;
	for (uint32_t i = 0; i < nv; i++) {
		err = btf__add_datasec_var_info(btf, vars[i], total, sizes[i]);
		if (err < 0)
			return err;
		total += sizes[i];
	}
	return 0;
}

/* FUNC `int name(void *ctx)` per function: entry programs global, subprograms static. */
static int add_funcs(struct btf *btf, int int_id, struct k2_build *b)
{
	int ptr = btf__add_ptr(btf, 0), proto, err;

	if (ptr < 0)
		return ptr;
	proto = btf__add_func_proto(btf, int_id);
	if (proto < 0)
		return proto;
	err = btf__add_func_param(btf, "ctx", ptr);
	if (err < 0)
		return err;
	for (uint32_t i = 0; i < b->n_funcs; i++) {
		struct k2_build_func *f = &b->funcs[i];
		int id = btf__add_func(btf, f->name, f->entry ? BTF_FUNC_GLOBAL : BTF_FUNC_STATIC,
				       proto);

		if (id < 0)
			return id;
		f->btf_id = (uint32_t)id;
	}
	for (uint32_t i = 0; i < b->n_secs; i++) {
		int off = btf__add_str(btf, b->secs[i].name);

		if (off < 0)
			return off;
		b->secs[i].btf_name = (uint32_t)off;
	}
	return 0;
}

int k2_btf_build(struct k2_build *b, struct k2_err *e)
{
	struct btf *btf = btf__new_empty();
	const void *raw;
	uint32_t len;
	int int_id, err;

	if (!btf)
		return k2_err_set(e, -ENOMEM, "BTF: out of memory");
	int_id = btf__add_int(btf, "int", 4, BTF_INT_SIGNED);
	err = int_id < 0 ? int_id : add_maps(btf, int_id, b);
	if (!err)
		err = add_funcs(btf, int_id, b);
	raw = err ? NULL : btf__raw_data(btf, &len);
	if (!err && raw) {
		b->btf = malloc(len);
		if (b->btf) {
			memcpy(b->btf, raw, len);
			b->btf_len = len;
		}
	}
	btf__free(btf);
	if (err || !b->btf)
		return k2_err_set(e, err ? err : -ENOMEM, "BTF: cannot build (%d)", err);
	return 0;
}

/*
 * .BTF.ext: func_info (a FUNC per function) and one line_info record at each function start
 * (the kernel wants one there; libbpf drops func_info without them). Groups per section.
 */
int k2_btfext_build(struct k2_build *b, struct k2_err *e)
{
	uint32_t nf = 0, ns = 0, flen, llen, n, at;
	uint8_t *p;

	for (uint32_t s = 0; s < b->n_secs; s++)
		if (b->secs[s].n_funcs) {
			ns++;
			nf += b->secs[s].n_funcs;
		}
	flen = 4 + 8 * ns + 8 * nf;
	llen = 4 + 8 * ns + 16 * nf;
	n = 32 + flen + llen;
	p = calloc(1, n);
	if (!p)
		return k2_err_set(e, -ENOMEM, "BTF.ext: out of memory");
	{
		uint32_t hdr[8] = { 0xeB9F | (1u << 16), 32, 0, flen, flen, llen, flen + llen, 0 };
		uint32_t frec = 8, lrec = 16;

		memcpy(p, hdr, sizeof(hdr));
		memcpy(p + 32, &frec, 4);
		memcpy(p + 32 + flen, &lrec, 4);
	}
	for (int kind = 0, base = 36; kind < 2; kind++, base = 36 + (int)flen) {
		at = (uint32_t)base;
		for (uint32_t s = 0; s < b->n_secs; s++) {
			uint32_t g[2] = { b->secs[s].btf_name, b->secs[s].n_funcs };

			if (!g[1])
				continue;
			memcpy(p + at, g, 8);
			at += 8;
			for (uint32_t i = 0; i < b->n_funcs; i++) {
				const struct k2_build_func *f = &b->funcs[i];
				/* func: insn_off, type; line: insn_off, file, line (empty strings), col */
				uint32_t r[4] = { f->off * 8, kind ? 0 : f->btf_id, 0, 0 };

				if (f->sec != s)
					continue;
				memcpy(p + at, r, kind ? 16 : 8);
				at += kind ? 16 : 8;
			}
		}
	}
	b->btfext = p;
	b->btfext_len = n;
	return 0;
}
