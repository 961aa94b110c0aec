/* bpf/splice.c: putting rewritten windows back: rebuild, compact `ja +0`, re-target every jump. */
#include "bpf/k2_cfg.h"

#include <stdlib.h>
#include <string.h>

#define NONE UINT32_MAX

/* One slot of the program being built, before `ja +0` filler is dropped. */
struct el {
	struct bpf_insn insn;
	uint32_t old;	 /* old slot, or NONE for replacement slots */
	uint32_t target; /* element index a jump, call or function load refers to, or NONE */
	bool second;	 /* second half of an ld_imm64 */
	bool keep;
};

struct splice {
	const struct bpf_insn *insns;
	uint32_t n;
	const struct k2_edit *edits; /* sorted by start */
	uint32_t n_edits;
	struct el *el;
	uint32_t n_el;
	uint32_t *el_of_old; /* per old slot (and n): the element a jump to it lands on */
	uint32_t *newpos;    /* per element (and n_el): index in the output */
};

static bool wide(const struct bpf_insn *in)
{
	return in->code == (BPF_LD | BPF_IMM | BPF_DW);
}

/* In a checked sequence a second half has code 0, so it never looks like a first half. */
static bool second_slot(const struct bpf_insn *insns, uint32_t i)
{
	return i > 0 && wide(&insns[i - 1]);
}

/* Whether the instruction refers to another one: a jump, a pseudo call, a function load. */
static bool refers(const struct bpf_insn *in)
{
	enum k2_op op = k2_insn_op(in);

	return (k2_op_info(op)->flags & K2_F_BRANCH) || op == K2_OP_LDDW_FUNC;
}

static long target_of(const struct bpf_insn *in, uint32_t i)
{
	if (k2_insn_op(in) == K2_OP_LDDW_FUNC)
		return (long)i + 1 + in->imm;
	return k2_insn_target(in, i);
}

static bool is_nop(const struct bpf_insn *in)
{
	enum k2_op op = k2_insn_op(in);

	return (op == K2_OP_JA && in->off == 0) || (op == K2_OP_JA32 && in->imm == 0);
}

static int cmp_edit(const void *a, const void *b)
{
	const struct k2_edit *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static int check_repl(const struct k2_edit *ed, struct k2_err *e)
{
	struct k2_cfg_opts co = { .sz = sizeof(co), .fragment = true };
	struct k2_cfg *cfg;
	int err;

	if (!ed->n)
		return 0;
	err = k2_cfg_build(ed->repl, ed->n, &co, &cfg, e);
	if (err)
		return k2_err_prefix(e, "edit %u:%u: replacement: ", ed->start, ed->end);
	k2_cfg_free(cfg);
	return 0;
}

/* Relocated instructions (map loads) may only stay where they are: the writer maps their
 * relocations through old_to_new. Calls into functions cannot be replaced at all. */
static int check_old(const struct splice *sp, const struct k2_edit *ed, struct k2_err *e)
{
	for (uint32_t i = ed->start; i < ed->end; i++) {
		const struct bpf_insn *in = &sp->insns[i];
		uint32_t k = i - ed->start;

		if (second_slot(sp->insns, i))
			continue;
		if (k2_insn_op(in) == K2_OP_CALL_PSEUDO || k2_insn_op(in) == K2_OP_LDDW_FUNC)
			return k2_err_set(e, -EINVAL,
					  "edit %u:%u: insn %u refers to a function and "
					  "cannot be replaced",
					  ed->start, ed->end, i);
		if (wide(in) && in->src_reg &&
		    (k + 1 >= ed->n || memcmp(&ed->repl[k], in, 2 * sizeof(*in))))
			return k2_err_set(e, -EINVAL,
					  "edit %u:%u: insn %u is a relocated ld_imm64 and "
					  "must stay in place",
					  ed->start, ed->end, i);
	}
	return 0;
}

/* Jumps from outside an edit may only land on its start. */
static int check_entries(const struct splice *sp, struct k2_err *e)
{
	uint32_t k = 0;

	for (uint32_t i = 0; i < sp->n; i++) {
		long t;

		while (k < sp->n_edits && sp->edits[k].end <= i)
			k++;
		if (k < sp->n_edits && sp->edits[k].start <= i)
			continue; /* inside an edit: replaced */
		if (second_slot(sp->insns, i) || !refers(&sp->insns[i]))
			continue;
		t = target_of(&sp->insns[i], i);
		if (t < 0 || t > (long)sp->n)
			return k2_err_set(e, -EINVAL, "insn %u: target %ld out of range", i, t);
		for (uint32_t j = 0; j < sp->n_edits; j++)
			if (t > (long)sp->edits[j].start && t < (long)sp->edits[j].end)
				return k2_err_set(e, -EINVAL,
						  "insn %u jumps into the replaced range "
						  "%u:%u at %ld",
						  i, sp->edits[j].start, sp->edits[j].end, t);
	}
	return 0;
}

static int check_edits(struct splice *sp, uint32_t n_main, struct k2_err *e)
{
	for (uint32_t k = 0; k < sp->n_edits; k++) {
		const struct k2_edit *ed = &sp->edits[k];
		int err;

		if (ed->start >= ed->end || ed->end > sp->n)
			return k2_err_set(e, -EINVAL,
					  "edit %u:%u: empty or out of range (%u slots)", ed->start,
					  ed->end, sp->n);
		if (second_slot(sp->insns, ed->start) ||
		    (ed->end < sp->n && second_slot(sp->insns, ed->end)))
			return k2_err_set(e, -EINVAL, "edit %u:%u: splits an ld_imm64", ed->start,
					  ed->end);
		if (k && sp->edits[k - 1].end > ed->start)
			return k2_err_set(e, -EINVAL, "edits %u:%u and %u:%u overlap",
					  sp->edits[k - 1].start, sp->edits[k - 1].end, ed->start,
					  ed->end);
		if (ed->start < n_main && ed->end > n_main)
			return k2_err_set(e, -EINVAL, "edit %u:%u: crosses the end of main at %u",
					  ed->start, ed->end, n_main);
		if (ed->n && !ed->repl)
			return k2_err_set(e, -EINVAL, "edit %u:%u: no replacement", ed->start,
					  ed->end);
		err = check_repl(ed, e);
		if (!err)
			err = check_old(sp, ed, e);
		if (err)
			return err;
	}
	return check_entries(sp, e);
}

static void push(struct splice *sp, const struct bpf_insn *in, uint32_t old, bool second)
{
	struct el *x = &sp->el[sp->n_el++];

	x->insn = *in;
	x->old = old;
	x->target = NONE;
	x->second = second;
	x->keep = second || !is_nop(in);
}

/* Lays out the new sequence: old slots outside edits, replacements in their place. */
static void lay_out(struct splice *sp)
{
	uint32_t k = 0;

	for (uint32_t i = 0; i <= sp->n; i++) {
		if (k < sp->n_edits && sp->edits[k].start == i) {
			const struct k2_edit *ed = &sp->edits[k];
			uint32_t first = sp->n_el;

			sp->el_of_old[i] = first;
			for (uint32_t j = 0; j < ed->n; j++) {
				push(sp, &ed->repl[j], NONE, j > 0 && second_slot(ed->repl, j));
				if (!sp->el[first + j].second && refers(&ed->repl[j]))
					sp->el[first + j].target = first + (uint32_t)target_of(
										   &ed->repl[j], j);
			}
			for (uint32_t j = i + 1; j < ed->end; j++)
				sp->el_of_old[j] = NONE;
			i = ed->end - 1;
			k++;
			continue;
		}
		sp->el_of_old[i] = sp->n_el;
		if (i < sp->n)
			push(sp, &sp->insns[i], i, second_slot(sp->insns, i));
	}
	/* Old jumps: through the old slot they target. */
	for (uint32_t x = 0; x < sp->n_el; x++) {
		struct el *el = &sp->el[x];

		if (el->old != NONE && !el->second && refers(&el->insn))
			el->target = sp->el_of_old[target_of(&el->insn, el->old)];
	}
}

/* Output index of every element; a dropped one resolves to the next kept one. */
static uint32_t place(struct splice *sp)
{
	uint32_t pos = 0;

	for (uint32_t x = 0; x < sp->n_el; x++)
		sp->newpos[x] = sp->el[x].keep ? pos++ : NONE;
	sp->newpos[sp->n_el] = pos;
	for (uint32_t x = sp->n_el; x-- > 0;)
		if (sp->newpos[x] == NONE)
			sp->newpos[x] = sp->newpos[x + 1];
	return pos;
}

static int retarget(struct splice *sp, struct bpf_insn *out, struct k2_err *e)
{
	for (uint32_t x = 0; x < sp->n_el; x++) {
		struct el *el = &sp->el[x];
		uint32_t at = sp->newpos[x];
		int64_t d;

		if (!el->keep)
			continue;
		out[at] = el->insn;
		if (el->target == NONE)
			continue;
		d = (int64_t)sp->newpos[el->target] - at - 1;
		if (k2_insn_op(&el->insn) == K2_OP_JA32 || BPF_OP(el->insn.code) == BPF_CALL ||
		    wide(&el->insn)) {
			if (d < INT32_MIN || d > INT32_MAX)
				return k2_err_set(e, -ERANGE, "insn %u: target offset %lld too far",
						  at, (long long)d);
			out[at].imm = (int32_t)d;
		} else {
			if (d < INT16_MIN || d > INT16_MAX)
				return k2_err_set(e, -ERANGE,
						  "insn %u: jump offset %lld does not fit in "
						  "16 bits",
						  at, (long long)d);
			out[at].off = (int16_t)d;
		}
	}
	return 0;
}

static void fill_map(const struct splice *sp, int32_t *old_to_new)
{
	uint32_t k = 0;

	for (uint32_t i = 0; i < sp->n; i++) {
		uint32_t x = sp->el_of_old[i];

		while (k < sp->n_edits && sp->edits[k].end <= i)
			k++;
		if (k < sp->n_edits && sp->edits[k].start <= i) {
			/* Inside an edit: the k-th old slot corresponds to the k-th new one. */
			uint32_t j = i - sp->edits[k].start;

			x = j < sp->edits[k].n ? sp->el_of_old[sp->edits[k].start] + j : NONE;
			/* ... unless that is the second half of a new ld_imm64: no instruction
			 * starts there (the object writer refuses such a map). */
			if (x != NONE && sp->el[x].second && !second_slot(sp->insns, i))
				x = NONE;
		}
		old_to_new[i] = x != NONE && sp->el[x].keep ? (int32_t)sp->newpos[x] : -1;
	}
}

static int do_splice(struct splice *sp, const struct k2_splice_opts *opts, struct bpf_insn **out,
		     uint32_t *n_out, uint32_t *n_main_out, int32_t *old_to_new, struct k2_err *e)
{
	uint32_t total = sp->n, n_main = opts && opts->n_main ? opts->n_main : sp->n, len;
	int err;

	err = check_edits(sp, n_main, e);
	if (err)
		return err;
	for (uint32_t k = 0; k < sp->n_edits; k++)
		total += sp->edits[k].n;
	sp->el = calloc(total + 1, sizeof(*sp->el));
	sp->el_of_old = malloc((sp->n + 1) * sizeof(*sp->el_of_old));
	sp->newpos = malloc((total + 1) * sizeof(*sp->newpos));
	if (!sp->el || !sp->el_of_old || !sp->newpos)
		return k2_err_set(e, -ENOMEM, "out of memory");
	lay_out(sp);
	len = place(sp);
	*out = calloc(len ? len : 1, sizeof(**out));
	if (!*out)
		return k2_err_set(e, -ENOMEM, "out of memory");
	err = retarget(sp, *out, e);
	if (err) {
		free(*out);
		*out = NULL;
		return err;
	}
	*n_out = len;
	if (n_main_out)
		*n_main_out = n_main >= sp->n ? len : sp->newpos[sp->el_of_old[n_main]];
	if (old_to_new)
		fill_map(sp, old_to_new);
	return 0;
}

/* Deletes what no path reaches in prog[0, n) (a second splice), composing the maps. */
static int drop_dead(struct bpf_insn **prog, uint32_t *n, uint32_t *n_main, int32_t *map,
		     uint32_t n_map, struct k2_err *e)
{
	struct k2_cfg *cfg;
	struct k2_edit *eds;
	uint32_t ne = 0, n2, m2;
	struct bpf_insn *p2;
	int32_t *map2;
	struct k2_splice_opts o = { .sz = sizeof(o), .n_main = *n_main };
	int err = k2_cfg_build(*prog, *n, NULL, &cfg, e);

	if (err)
		return k2_err_prefix(e, "after splicing: ");
	if (!cfg->n_unreachable) {
		k2_cfg_free(cfg);
		return 0;
	}
	eds = calloc(cfg->n_bbs, sizeof(*eds));
	map2 = malloc((*n + 1) * sizeof(*map2));
	if (!eds || !map2) {
		free(eds);
		free(map2);
		k2_cfg_free(cfg);
		return k2_err_set(e, -ENOMEM, "out of memory");
	}
	for (uint32_t b = 0; b < cfg->n_bbs; b++) {
		if (cfg->bbs[b].reachable)
			continue;
		if (ne && eds[ne - 1].end == cfg->bbs[b].start)
			eds[ne - 1].end = cfg->bbs[b].end;
		else
			eds[ne++] = (struct k2_edit){ cfg->bbs[b].start, cfg->bbs[b].end, NULL, 0 };
	}
	k2_cfg_free(cfg);
	err = k2_splice(*prog, *n, eds, ne, &o, &p2, &n2, &m2, map2, e);
	free(eds);
	if (!err) {
		if (map)
			k2_index_map_compose(map, n_map, map2, *n, map);
		free(*prog);
		*prog = p2;
		*n = n2;
		*n_main = m2;
	}
	free(map2);
	return err;
}

/* Jumps re-targeted over deleted code may have become `ja +0`: compact until none is left. */
static int refill(struct bpf_insn **prog, uint32_t *n, uint32_t *n_main, int32_t *map,
		  uint32_t n_map, struct k2_err *e)
{
	for (;;) {
		struct k2_splice_opts o = { .sz = sizeof(o), .n_main = *n_main };
		struct splice sp = { .insns = *prog, .n = *n };
		struct bpf_insn *p2;
		uint32_t n2, m2, i;
		int32_t *map2;
		int err;

		for (i = 0; i < *n && !(is_nop(&(*prog)[i]) && !second_slot(*prog, i)); i++)
			;
		if (i == *n)
			return 0;
		map2 = malloc((*n + 1) * sizeof(*map2));
		if (!map2)
			return k2_err_set(e, -ENOMEM, "out of memory");
		err = do_splice(&sp, &o, &p2, &n2, &m2, map2, e);
		free(sp.el);
		free(sp.el_of_old);
		free(sp.newpos);
		if (!err) {
			if (map)
				k2_index_map_compose(map, n_map, map2, *n, map);
			free(*prog);
			*prog = p2;
			*n = n2;
			*n_main = m2;
		}
		free(map2);
		if (err)
			return err;
	}
}

int k2_splice(const struct bpf_insn *insns, uint32_t n, const struct k2_edit *edits,
	      uint32_t n_edits, const struct k2_splice_opts *opts, struct bpf_insn **out,
	      uint32_t *n_out, uint32_t *n_main_out, int32_t *old_to_new, struct k2_err *e)
{
	struct splice sp = { .insns = insns, .n = n, .n_edits = n_edits };
	struct k2_edit *sorted = NULL;
	uint32_t n_main = 0;
	int err;

	*out = NULL;
	*n_out = 0;
	if (n_edits) {
		sorted = malloc(n_edits * sizeof(*sorted));
		if (!sorted)
			return k2_err_set(e, -ENOMEM, "out of memory");
		memcpy(sorted, edits, n_edits * sizeof(*sorted));
		qsort(sorted, n_edits, sizeof(*sorted), cmp_edit);
	}
	sp.edits = sorted;
	err = do_splice(&sp, opts, out, n_out, &n_main, old_to_new, e);
	if (!err)
		err = refill(out, n_out, &n_main, old_to_new, n, e);
	if (!err && opts && opts->drop_unreachable)
		err = drop_dead(out, n_out, &n_main, old_to_new, n, e);
	if (!err && n_main_out)
		*n_main_out = n_main;
	if (err) {
		free(*out);
		*out = NULL;
		*n_out = 0;
	}
	free(sp.el);
	free(sp.el_of_old);
	free(sp.newpos);
	free(sorted);
	return err;
}

int k2_compact(const struct bpf_insn *insns, uint32_t n, const struct k2_splice_opts *opts,
	       struct bpf_insn **out, uint32_t *n_out, uint32_t *n_main_out, int32_t *old_to_new,
	       struct k2_err *e)
{
	return k2_splice(insns, n, NULL, 0, opts, out, n_out, n_main_out, old_to_new, e);
}

void k2_index_map_compose(const int32_t *a, uint32_t n_a, const int32_t *b, uint32_t n_b,
			  int32_t *out)
{
	for (uint32_t i = 0; i < n_a; i++) {
		int32_t x = a[i];

		out[i] = x >= 0 && (uint32_t)x < n_b ? b[x] : -1;
	}
}
