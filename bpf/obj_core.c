/* bpf/obj_core.c: which instructions of a program libbpf rewrites at load (CO-RE relocations). */
#include "bpf/obj_internal.h"

#include <string.h>

static void add(uint32_t *out, uint32_t max, uint32_t *n, uint32_t at)
{
	if (*n < max)
		out[*n] = at;
	(*n)++;
}

/* Records of one group that fall in function f, placed where f sits in the program. */
static void from_group(const struct k2_xgroup *g, uint32_t rs, const struct k2_efunc *f,
		       uint32_t at, const int32_t *o2n, uint32_t *out, uint32_t max, uint32_t *n)
{
	for (uint32_t r = 0; g->sec == f->sec && r < g->n; r++) {
		uint32_t off, o;

		memcpy(&off, g->recs + (size_t)r * rs, 4);
		o = off / K2_INSN_SZ;
		if (off % K2_INSN_SZ || o < f->off || o >= f->off + f->n)
			continue;
		if (!o2n)
			add(out, max, n, at + (o - f->off));
		else if (o2n[o - f->off] >= 0)
			add(out, max, n, at + (uint32_t)o2n[o - f->off]);
	}
}

uint32_t k2_prog_core_insns(const struct k2_object *obj, const struct k2_prog *prog,
			    uint32_t *out, uint32_t max)
{
	const struct k2_elf *elf = obj->elf;
	const struct k2_xinfo *xi;
	const struct k2_pinfo *pi;
	uint32_t n = 0;

	if (!elf->ext || elf->ext->n_info < 3 || prog < obj->progs ||
	    prog >= obj->progs + obj->n_progs)
		return 0;
	xi = &elf->ext->info[2];
	pi = &elf->pinfo[prog - obj->progs];
	for (uint32_t g = 0; g < xi->n_groups; g++) {
		from_group(&xi->groups[g], xi->rec_size, &elf->funcs[pi->func], 0,
			   pi->raw ? pi->raw->old_to_new : NULL, out, max, &n);
		for (uint32_t k = 0; k < pi->n_subs; k++)
			from_group(&xi->groups[g], xi->rec_size, &elf->funcs[pi->subs[k].func],
				   pi->subs[k].at, NULL, out, max, &n);
	}
	return n;
}
