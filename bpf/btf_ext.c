/* bpf/btf_ext.c: .BTF.ext func/line info and CO-RE records: read, rewritten for moved code. */
#include "bpf/obj_internal.h"

#include <bpf/btf.h>
#include <stdlib.h>
#include <string.h>

#define BTF_EXT_MAGIC 0xeB9F

/* Smallest record of each kind: func_info {insn_off, type_id}, line_info {insn_off, file, line,
 * col}, core_relo {insn_off, type_id, access_str_off, kind}. insn_off is always first. */
static const uint32_t min_rec[3] = { 8, 16, 16 };

enum { XF_FUNC, XF_LINE, XF_CORE };

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

void k2_btfext_free(struct k2_btfext *x)
{
	if (!x)
		return;
	for (int k = 0; k < 3; k++) {
		for (uint32_t g = 0; g < x->info[k].n_groups; g++) {
			free(x->info[k].groups[g].recs);
			free(x->info[k].groups[g].rel);
		}
		free(x->info[k].groups);
	}
	free(x);
}

struct relpos {
	uint64_t off;
	uint32_t idx;
};

static int cmp_relpos(const void *a, const void *b)
{
	const struct relpos *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

/* .rel.BTF.ext entries by offset, to carry each record's relocation along with it. */
static struct relpos *rel_index(const struct k2_elf *elf, uint32_t *n, uint32_t *sec)
{
	struct relpos *rp;

	*n = 0;
	*sec = 0;
	for (uint32_t i = 1; i < elf->n_secs; i++) {
		const struct k2_esec *r = &elf->secs[i];

		if (r->sh.sh_type != SHT_REL || r->sh.sh_info != elf->btfext_sec || !r->data)
			continue;
		*sec = i;
		*n = (uint32_t)(r->size / sizeof(Elf64_Rel));
		rp = calloc(*n + 1, sizeof(*rp));
		for (uint32_t k = 0; rp && k < *n; k++) {
			Elf64_Rel rel;

			memcpy(&rel, r->data + (size_t)k * sizeof(rel), sizeof(rel));
			rp[k] = (struct relpos){ rel.r_offset, k };
		}
		if (rp)
			qsort(rp, *n, sizeof(*rp), cmp_relpos);
		return rp;
	}
	return calloc(1, sizeof(struct relpos));
}

static int32_t rel_at(const struct relpos *rp, uint32_t n, uint64_t off)
{
	struct relpos key = { off, 0 }, *hit = bsearch(&key, rp, n, sizeof(*rp), cmp_relpos);

	return hit ? (int32_t)hit->idx : -1;
}

static int parse_info(const struct k2_elf *elf, struct k2_xinfo *xi, int kind, const uint8_t *p,
		      uint64_t len, uint64_t base, const struct relpos *rp, uint32_t n_rp)
{
	uint64_t at = 4;

	if (!len)
		return 0;
	if (len < 4)
		return -EINVAL;
	xi->rec_size = rd32(p);
	if (xi->rec_size < min_rec[kind] || xi->rec_size % 4 || xi->rec_size > 1024)
		return -EINVAL;
	while (at < len) {
		struct k2_xgroup *g, *gs;
		const char *name;
		uint32_t n;

		if (len - at < 8)
			return -EINVAL;
		n = rd32(p + at + 4);
		if (!n || n > (len - at - 8) / xi->rec_size)
			return -EINVAL;
		gs = realloc(xi->groups, (xi->n_groups + 1) * sizeof(*gs));
		if (!gs)
			return -ENOMEM;
		xi->groups = gs;
		g = &gs[xi->n_groups++];
		*g = (struct k2_xgroup){ .sec_name_off = rd32(p + at), .n = n };
		name = btf__name_by_offset(elf->btf, g->sec_name_off);
		g->sec = name ? (uint32_t)k2_elf_sec_by_name(elf, name) : 0;
		g->recs = malloc((size_t)n * xi->rec_size);
		g->rel = malloc((size_t)n * sizeof(*g->rel));
		if (!g->recs || !g->rel)
			return -ENOMEM;
		memcpy(g->recs, p + at + 8, (size_t)n * xi->rec_size);
		for (uint32_t r = 0; r < n; r++)
			g->rel[r] = rel_at(rp, n_rp, base + at + 8 + (uint64_t)r * xi->rec_size);
		at += 8 + (uint64_t)n * xi->rec_size;
	}
	return 0;
}

/* Parses .BTF.ext; an invalid one is treated as absent (libbpf ignores it too). */
void k2_btfext_read(struct k2_elf *elf)
{
	const struct k2_esec *s = elf->btfext_sec ? &elf->secs[elf->btfext_sec] : NULL;
	struct k2_btfext *x;
	struct relpos *rp;
	uint32_t n_rp, hl;
	int err = 0;

	if (!s || !s->data || !elf->btf || s->size < 24 || rd32(s->data) % 0x10000 != BTF_EXT_MAGIC ||
	    s->data[2] != 1)
		return;
	hl = rd32(s->data + 4);
	if (hl < 24 || hl > sizeof(x->hdr) || hl > s->size)
		return;
	x = calloc(1, sizeof(*x));
	rp = x ? rel_index(elf, &n_rp, &x->rel_sec) : NULL;
	if (!x || !rp) {
		free(x);
		free(rp);
		return;
	}
	memcpy(x->hdr, s->data, hl);
	x->hdr_len = hl;
	x->n_info = hl >= 32 ? 3 : 2;
	for (uint32_t k = 0; k < x->n_info && !err; k++) {
		uint32_t off = rd32(s->data + 8 + 8 * k), len = rd32(s->data + 12 + 8 * k);

		if ((uint64_t)off + len > s->size - hl)
			err = -EINVAL;
		else
			err = parse_info(elf, &x->info[k], (int)k, s->data + hl + off, len,
					 (uint64_t)hl + off, rp, n_rp);
	}
	free(rp);
	if (err) {
		k2_btfext_free(x);
		return;
	}
	elf->ext = x;
}

struct buf {
	uint8_t *p;
	uint64_t n, cap;
};

static int put(struct buf *b, const void *data, uint64_t n)
{
	if (b->n + n > b->cap) {
		uint64_t nc = (b->n + n) * 2 + 64;
		uint8_t *p = realloc(b->p, nc);

		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = nc;
	}
	memcpy(b->p + b->n, data, n);
	b->n += n;
	return 0;
}

struct out_rec {
	uint32_t at;   /* new insn */
	uint32_t rec;  /* index of the record in its group */
};

/*
 * New positions of one group's records. Line info: a record covers instructions up to the
 * next record; it moves to the first surviving instruction it covers, and when two records
 * land on one instruction the later one (which covered it) wins, so every surviving
 * instruction keeps its line. Function starts stay on the new function start.
 */
static int place(const struct k2_xgroup *g, uint32_t rs, int kind, const struct k2_secmap *m,
		 struct out_rec *out, uint32_t *n_out)
{
	uint32_t n = 0, prev_off = 0;

	for (uint32_t r = 0; r < g->n; r++) {
		uint32_t off = rd32(g->recs + (size_t)r * rs);
		uint32_t o = off / K2_INSN_SZ, at;

		if (off % K2_INSN_SZ || o >= m->n_old)
			continue; /* points nowhere: dropped */
		if (r && off <= prev_off)
			return -EINVAL; /* not sorted: cannot keep it consistent */
		prev_off = off;
		if (kind == XF_CORE && m->gone[o])
			continue;
		at = (uint32_t)m->fwd[o];
		if (at >= m->n_new)
			continue;
		if (n && out[n - 1].at == at) {
			if (kind == XF_LINE)
				out[n - 1].rec = r;
			continue;
		}
		out[n++] = (struct out_rec){ at, r };
	}
	*n_out = n;
	return 0;
}

static int write_group(struct buf *b, struct buf *rel, const struct k2_elf *elf,
		       const struct k2_xgroup *g, uint32_t rs, int kind, const struct k2_secmap *m,
		       struct out_rec *tmp)
{
	uint32_t n = g->n, hdr[2];
	int err = 0;

	if (m && m->fwd) {
		err = place(g, rs, kind, m, tmp, &n);
		if (err)
			return err;
	} else {
		for (uint32_t r = 0; r < n; r++)
			tmp[r] = (struct out_rec){ rd32(g->recs + (size_t)r * rs) / K2_INSN_SZ, r };
	}
	if (!n)
		return 0; /* libbpf rejects empty groups */
	hdr[0] = g->sec_name_off;
	hdr[1] = n;
	err = put(b, hdr, sizeof(hdr));
	for (uint32_t r = 0; r < n && !err; r++) {
		uint64_t at = b->n;
		uint32_t src = tmp[r].rec;

		err = put(b, g->recs + (size_t)src * rs, rs);
		if (!err && m && m->fwd)
			wr32(b->p + at, tmp[r].at * K2_INSN_SZ);
		if (!err && g->rel[src] >= 0) {
			const struct k2_esec *rs_sec = &elf->secs[elf->ext->rel_sec];
			Elf64_Rel e;

			memcpy(&e, rs_sec->data + (size_t)g->rel[src] * sizeof(e), sizeof(e));
			e.r_offset = at;
			err = put(rel, &e, sizeof(e));
		}
	}
	return err;
}

/* What is left when the records cannot be kept consistent: a valid .BTF.ext without any. */
static int empty_ext(struct buf *b, struct buf *rel)
{
	uint8_t hdr[32] = { 0 };

	free(b->p);
	free(rel->p);
	*b = (struct buf){ 0 };
	*rel = (struct buf){ 0 };
	wr32(hdr, BTF_EXT_MAGIC | (1u << 16));
	wr32(hdr + 4, sizeof(hdr));
	return put(b, hdr, sizeof(hdr));
}

int k2_btfext_rewrite(const struct k2_elf *elf, const struct k2_secmap *maps, void **out,
		      uint64_t *out_len, void **rel_out, uint64_t *rel_len, struct k2_err *e)
{
	const struct k2_btfext *x = elf->ext;
	struct buf b = { 0 }, rel = { 0 };
	uint32_t max = 1;
	struct out_rec *tmp;
	int err = 0;

	*out = *rel_out = NULL;
	*out_len = *rel_len = 0;
	for (uint32_t k = 0; x && k < x->n_info; k++)
		for (uint32_t g = 0; g < x->info[k].n_groups; g++)
			if (x->info[k].groups[g].n > max)
				max = x->info[k].groups[g].n;
	tmp = malloc(max * sizeof(*tmp));
	if (!tmp)
		return k2_obj_err(elf, e, -ENOMEM, 0, "out of memory");
	if (x)
		err = put(&b, x->hdr, x->hdr_len);
	for (uint32_t k = 0; x && k < x->n_info && !err; k++) {
		const struct k2_xinfo *xi = &x->info[k];
		uint64_t start = b.n;

		if (!xi->n_groups) {
			/* as clang writes an empty kind: at the end, no bytes */
			wr32(b.p + 8 + 8 * k, (uint32_t)(start - x->hdr_len));
			wr32(b.p + 12 + 8 * k, 0);
			continue;
		}
		err = put(&b, &xi->rec_size, 4);
		for (uint32_t g = 0; g < xi->n_groups && !err; g++) {
			const struct k2_xgroup *gr = &xi->groups[g];

			err = write_group(&b, &rel, elf, gr, xi->rec_size, (int)k,
					  gr->sec ? &maps[gr->sec] : NULL, tmp);
		}
		if (b.n == start + 4)
			b.n = start; /* every group went: no records of this kind at all */
		wr32(b.p + 8 + 8 * k, (uint32_t)(start - x->hdr_len));
		wr32(b.p + 12 + 8 * k, (uint32_t)(b.n - start));
	}
	free(tmp);
	if (err == -EINVAL || !x)
		err = empty_ext(&b, &rel);
	if (err) {
		free(b.p);
		free(rel.p);
		return k2_obj_err(elf, e, err, elf->btfext_sec, "cannot rewrite: %d", err);
	}
	*out = b.p;
	*out_len = b.n;
	*rel_out = rel.p;
	*rel_len = rel.n;
	return 0;
}
