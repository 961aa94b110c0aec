/* bpf/obj_set.c: replacing a main function; its raw ELF encoding and relocations. */
#include "bpf/obj_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/k2_insn.h"

struct raw_ctx {
	const struct k2_object *obj;
	const struct k2_elf *elf;
	const struct k2_efunc *f;
	const struct k2_pinfo *pi;
	const struct bpf_insn *insns; /* the new program */
	uint32_t n_main;              /* new main length */
	const struct bpf_insn *orig;  /* the function's raw instructions as read */
	const struct k2_erel *orels;  /* and its relocations, offsets within the section */
	uint32_t n_orels;
	const int32_t *o2n;           /* original instruction -> new */
	int32_t *n2o;                 /* new instruction -> original, or -1 */
	struct k2_praw *raw;
	struct k2_err *e;
};

static int raw_err(struct raw_ctx *c, uint32_t j, const char *fmt, const char *a)
{
	char msg[300];

	snprintf(msg, sizeof(msg), fmt, a);
	return k2_obj_err(c->elf, c->e, -EINVAL, c->f->sec, "program %s: insn %u: %s",
			  c->obj->progs[c->f->prog].name, j, msg);
}

/* The relocation the original instruction that became new instruction j carried, if any. */
static const struct k2_erel *orig_rel(const struct raw_ctx *c, uint32_t j)
{
	int32_t i = c->n2o[j];

	if (i < 0)
		return NULL;
	for (uint32_t k = 0; k < c->n_orels; k++)
		if (c->orels[k].off == ((uint64_t)c->f->off + (uint32_t)i) * K2_INSN_SZ)
			return &c->orels[k];
	return NULL;
}

static int add_rel(struct raw_ctx *c, uint32_t j, uint32_t sym, uint32_t type, int32_t map,
		   int32_t val_off, int32_t func)
{
	struct k2_erel *r = &c->raw->rels[c->raw->n_rels++];

	*r = (struct k2_erel){ .off = (uint64_t)j * K2_INSN_SZ, .sym = sym, .type = type,
			       .map = map, .val_off = val_off, .func = func };
	return 0;
}

static int raw_map(struct raw_ctx *c, uint32_t j, bool value)
{
	const struct bpf_insn *in = &c->insns[j];
	struct bpf_insn *out = &c->raw->insns[j];
	const struct k2_erel *r = orig_rel(c, j);
	const struct k2_map *m;
	uint32_t sym;
	int32_t off = value ? in[1].imm : 0;

	if (in->imm < 0 || (uint32_t)in->imm >= c->obj->n_maps || c->obj->maps[in->imm].template)
		return raw_err(c, j, "map index out of range%s", "");
	m = &c->obj->maps[in->imm];
	if (value != m->internal)
		return raw_err(c, j, value ? "map %s is not a data section: no value address"
					   : "data section %s: only its value address exists", m->name);
	if (value && (off < 0 || (uint32_t)off >= m->value_size))
		return raw_err(c, j, "offset outside data section %s", m->name);
	sym = r && r->map == in->imm ? r->sym : c->elf->msrc[in->imm].sym;
	if (!sym)
		return raw_err(c, j, "no symbol to relocate %s against", m->name);
	memset(out, 0, 2 * sizeof(*out));
	out->code = in->code;
	out->dst_reg = in->dst_reg;
	if (r && r->map == in->imm && (!value || r->val_off == off)) {
		out->imm = c->orig[c->n2o[j]].imm; /* as clang wrote it */
		out[1].imm = c->orig[c->n2o[j] + 1].imm;
	} else {
		out->imm = value ? (int32_t)(off - (int64_t)c->elf->syms[sym].s.st_value) : 0;
	}
	return add_rel(c, j, sym, R_BPF_64_64, in->imm, off, -1);
}

/* The function a pseudo call or callback load of the new program reaches. */
static int callee(struct raw_ctx *c, uint32_t j, int32_t *func)
{
	int64_t t = (int64_t)j + c->insns[j].imm + 1, old;

	if (t < c->n_main)
		return raw_err(c, j, "call into the main function cannot be written back%s", "");
	old = t - c->n_main + c->obj->progs[c->f->prog].n_main;
	for (uint32_t k = 0; k < c->pi->n_subs; k++)
		if (c->pi->subs[k].at == old) {
			*func = (int32_t)c->pi->subs[k].func;
			return 0;
		}
	return raw_err(c, j, "call target is not the start of a subprogram%s", "");
}

/*
 * The symbol a call or callback to a function is written against, and the addend reaching its
 * start: a global function's own symbol, else its section's symbol (clang does the same, and
 * libbpf takes callbacks only that way).
 */
static int func_sym(struct raw_ctx *c, uint32_t j, int32_t func, bool callback, uint32_t *sym,
		    int64_t *base)
{
	const struct k2_efunc *t = &c->elf->funcs[func];

	if (t->sym && ELF64_ST_BIND(c->elf->syms[t->sym].s.st_info) == STB_GLOBAL) {
		*sym = t->sym;
		*base = 0;
		return 0;
	}
	for (uint32_t i = 1; i < c->elf->n_syms; i++)
		if (c->elf->syms[i].s.st_shndx == t->sec &&
		    ELF64_ST_TYPE(c->elf->syms[i].s.st_info) == STT_SECTION) {
			*sym = i;
			*base = (int64_t)t->off * K2_INSN_SZ - (int64_t)c->elf->syms[i].s.st_value;
			return 0;
		}
	if (t->sym && !callback) {
		*sym = t->sym;
		*base = 0;
		return 0;
	}
	return raw_err(c, j, "no symbol for the callee%s", "");
}

static int raw_call(struct raw_ctx *c, uint32_t j, bool callback)
{
	const struct k2_erel *r = orig_rel(c, j);
	struct bpf_insn *out = &c->raw->insns[j];
	uint32_t sym = 0;
	int64_t base = 0;
	int32_t func = -1;
	int err = callee(c, j, &func);

	if (err)
		return err;
	memcpy(out, &c->insns[j], (callback ? 2 : 1) * sizeof(*out));
	if (r && r->func == func) {
		memcpy(out, &c->orig[c->n2o[j]], (callback ? 2 : 1) * sizeof(*out));
		out->dst_reg = c->insns[j].dst_reg;
		return add_rel(c, j, r->sym, r->type, -1, 0, func);
	}
	err = func_sym(c, j, func, callback, &sym, &base);
	if (err)
		return err;
	if (callback) {
		/* libbpf: target byte offset = symbol value + imm */
		out->src_reg = 0;
		out->imm = (int32_t)base;
		return add_rel(c, j, sym, R_BPF_64_64, -1, 0, func);
	}
	/* libbpf: target insn = symbol value / 8 + imm + 1 */
	out->imm = (int32_t)(base / K2_INSN_SZ - 1);
	return add_rel(c, j, sym, R_BPF_64_32, -1, 0, func);
}

static int raw_one(struct raw_ctx *c, uint32_t j)
{
	switch (k2_insn_op(&c->insns[j])) {
	case K2_OP_LDDW_MAP_IDX:
		return raw_map(c, j, false);
	case K2_OP_LDDW_MAP_IDX_VALUE:
		return raw_map(c, j, true);
	case K2_OP_CALL_PSEUDO:
		return raw_call(c, j, false);
	case K2_OP_LDDW_FUNC:
		return raw_call(c, j, true);
	case K2_OP_LDDW_MAP_FD:
	case K2_OP_LDDW_MAP_VALUE:
	case K2_OP_LDDW_BTF_ID:
	case K2_OP_CALL_KFUNC:
		return raw_err(c, j, "%s cannot be expressed in an object file",
			       k2_op_info(k2_insn_op(&c->insns[j]))->name);
	default:
		c->raw->insns[j] = c->insns[j];
		if (k2_is_lddw(&c->insns[j]))
			c->raw->insns[j + 1] = c->insns[j + 1];
		return 0;
	}
}

void k2_praw_free(struct k2_praw *raw)
{
	if (!raw)
		return;
	free(raw->insns);
	free(raw->rels);
	free(raw->old_to_new);
	free(raw);
}

int k2_obj_raw_main(const struct k2_object *obj, uint32_t prog, const struct bpf_insn *insns,
		    uint32_t n, struct k2_praw *raw, struct k2_err *e)
{
	const struct k2_elf *elf = obj->elf;
	const struct k2_pinfo *pi = &elf->pinfo[prog];
	const struct k2_efunc *f = &elf->funcs[pi->func];
	const struct k2_esec *s = &elf->secs[f->sec];
	struct raw_ctx c = { .obj = obj, .elf = elf, .f = f, .pi = pi, .insns = insns, .n_main = n,
			     .orig = (const struct bpf_insn *)(s->data + (size_t)f->off * K2_INSN_SZ),
			     .o2n = raw->old_to_new, .raw = raw, .e = e };
	int err = 0;

	for (uint32_t k = 0; k < s->n_rels; k++) {
		uint64_t at = s->rels[k].off / K2_INSN_SZ;

		if (at >= f->off && at < (uint64_t)f->off + f->n) {
			if (!c.orels)
				c.orels = &s->rels[k];
			c.n_orels++;
		}
	}
	raw->insns = calloc(n + 1, sizeof(*raw->insns));
	raw->rels = calloc(n + 1, sizeof(*raw->rels));
	c.n2o = malloc((n + 1) * sizeof(*c.n2o));
	if (!raw->insns || !raw->rels || !c.n2o) {
		free(c.n2o);
		return k2_obj_err(elf, e, -ENOMEM, 0, "out of memory");
	}
	raw->n = n;
	for (uint32_t j = 0; j < n; j++)
		c.n2o[j] = -1;
	for (uint32_t i = 0; i < raw->n_old; i++)
		if (raw->old_to_new[i] >= 0)
			c.n2o[raw->old_to_new[i]] = (int32_t)i;
	for (uint32_t j = 0; j < n && !err; j++) {
		err = raw_one(&c, j);
		if (k2_is_lddw(&insns[j]))
			j++;
	}
	free(c.n2o);
	/* a section without a relocation section cannot gain one: the writer keeps the layout */
	if (!err && raw->n_rels && !s->rel)
		err = k2_obj_err(elf, e, -EOPNOTSUPP, f->sec,
				 "program %s: relocations in a section that had none",
				 obj->progs[prog].name);
	return err;
}

/* Which slots of insns[0, n) are second halves of an ld_imm64. */
static bool *second_slots(const struct bpf_insn *insns, uint32_t n)
{
	bool *second = calloc(n + 1, sizeof(*second));

	for (uint32_t i = 0; second && i < n; i++)
		if (k2_is_lddw(&insns[i]) && i + 1 < n)
			second[++i] = true;
	return second;
}

/*
 * old_to_new of the caller, relative to the current main, made relative to the function as
 * read (composed with an earlier replacement) and checked: in range, increasing, on starts.
 */
static int compose_map(const struct k2_object *obj, uint32_t prog, const int32_t *old_to_new,
		       const struct bpf_insn *insns, uint32_t n, struct k2_praw *raw,
		       struct k2_err *e)
{
	const struct k2_elf *elf = obj->elf;
	const struct k2_pinfo *pi = &elf->pinfo[prog];
	const struct k2_prog *p = &obj->progs[prog];
	bool *old2 = second_slots(p->insns, p->n_main), *new2 = second_slots(insns, n);
	int32_t last = -1;
	int err = 0;

	raw->n_old = elf->funcs[pi->func].n;
	raw->old_to_new = malloc(raw->n_old * sizeof(*raw->old_to_new));
	if (!old2 || !new2 || !raw->old_to_new) {
		err = k2_obj_err(elf, e, -ENOMEM, 0, "out of memory");
		goto out;
	}
	for (uint32_t i = 0; i < p->n_main && !err; i++) {
		int32_t v = old_to_new[i];

		if (old2[i])
			continue; /* follows its first half */
		if (v < -1 || v >= (int32_t)n || (v >= 0 && (v <= last || new2[v])))
			err = k2_obj_err(elf, e, -EINVAL, elf->funcs[pi->func].sec,
					 "program %s: old_to_new[%u] = %d is out of order or not an instruction start",
					 p->name, i, v);
		if (v >= 0)
			last = v;
	}
	for (uint32_t i = 0; i < raw->n_old && !err; i++) {
		const struct k2_praw *cur = pi->raw;
		int32_t c = cur ? cur->old_to_new[i] : (int32_t)i;

		raw->old_to_new[i] = c >= 0 && !old2[c] ? old_to_new[c] : -1;
		if (c >= 0 && old2[c] && i > 0 && raw->old_to_new[i - 1] >= 0 &&
		    k2_is_lddw(&insns[raw->old_to_new[i - 1]]))
			raw->old_to_new[i] = raw->old_to_new[i - 1] + 1;
	}
out:
	free(old2);
	free(new2);
	return err;
}

int k2_object_set_main(struct k2_object *obj, struct k2_prog *prog, const struct bpf_insn *insns,
		       uint32_t n, const int32_t *old_to_new, struct k2_err *e)
{
	struct k2_elf *elf = obj ? obj->elf : NULL;
	struct k2_praw *raw;
	struct bpf_insn *copy;
	uint32_t idx, n_sub, n_main;
	struct k2_err ce = { 0 };
	int err;

	if (!obj || !prog || prog < obj->progs || prog >= obj->progs + obj->n_progs || !insns ||
	    !old_to_new)
		return k2_err_set(e, -EINVAL, "k2_object_set_main: bad arguments");
	idx = (uint32_t)(prog - obj->progs);
	n_sub = prog->n_insns - prog->n_main;
	if (n <= n_sub || memcmp(insns + (n - n_sub), prog->insns + prog->n_main,
				 n_sub * sizeof(*insns)))
		return k2_obj_err(elf, e, -EINVAL, elf->funcs[elf->pinfo[idx].func].sec,
				  "program %s: the %u subprogram instructions must follow the new main unchanged",
				  prog->name, n_sub);
	n_main = n - n_sub;
	err = k2_insns_check(insns, n, NULL, &ce);
	if (err)
		return k2_obj_err(elf, e, err, elf->funcs[elf->pinfo[idx].func].sec,
				  "program %s: %s", prog->name, ce.msg);
	raw = calloc(1, sizeof(*raw));
	copy = malloc(n * sizeof(*copy));
	if (!raw || !copy) {
		free(raw);
		free(copy);
		return k2_err_set(e, -ENOMEM, "out of memory");
	}
	err = compose_map(obj, idx, old_to_new, insns, n_main, raw, e);
	if (!err)
		err = k2_obj_raw_main(obj, idx, insns, n_main, raw, e);
	if (err) {
		k2_praw_free(raw);
		free(copy);
		return err;
	}
	memcpy(copy, insns, n * sizeof(*copy));
	k2_praw_free(elf->pinfo[idx].raw);
	elf->pinfo[idx].raw = raw;
	for (uint32_t k = 0; k < elf->pinfo[idx].n_subs; k++)
		elf->pinfo[idx].subs[k].at = elf->pinfo[idx].subs[k].at - prog->n_main + n_main;
	free(prog->insns);
	prog->insns = copy;
	prog->n_insns = n;
	prog->n_main = n_main;
	return 0;
}
