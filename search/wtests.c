/* search/wtests.c: test states at a window's start: snapshots of runs, and precondition states. */
#include <stdlib.h>
#include <string.h>

#include "search/inputs_int.h"

static uint32_t below(struct k2_rng *r, uint32_t n)
{
	return n ? (uint32_t)k2_rng_below(r, n) : 0;
}

/* Whether v is one of the values the analysis says the scalar may have. */
static bool fits(const struct k2_aval *a, uint64_t v)
{
	return (v & ~a->var.mask) == a->var.value && v >= a->umin && v <= a->umax &&
	       (int64_t)v >= a->smin && (int64_t)v <= a->smax && (uint32_t)v >= a->u32min &&
	       (uint32_t)v <= a->u32max && (int32_t)v >= a->s32min && (int32_t)v <= a->s32max;
}

/* A value of the scalar: its bounds, values next to them, or random bits where unknown. */
static bool sample(const struct k2_aval *a, struct k2_rng *r, uint64_t *out)
{
	for (int tries = 0; tries < 24; tries++) {
		uint64_t v, rnd = k2_rng_next(r);

		switch (below(r, 6)) {
		case 0: v = a->umin + below(r, 3); break;
		case 1: v = a->umax - below(r, 3); break;
		case 2: v = (uint64_t)a->smin + below(r, 3); break;
		case 3: v = a->umin + (rnd & 0xff); break;
		case 4: v = a->var.value | (rnd & a->var.mask & 0xffff); break;
		default: v = a->var.value | (rnd & a->var.mask); break;
		}
		v = a->var.value | (v & a->var.mask);
		if (fits(a, v)) {
			*out = v;
			return true;
		}
	}
	return false;
}

/* Identity of a state as far as a window can see it. */
static uint64_t state_hash(const struct k2_wstate *st, uint16_t live_in)
{
	uint8_t buf[K2_PKT_BUF];
	uint64_t h = 0xcbf29ce484222325ULL;
	uint32_t meta, data, end, f = k2_wstate_frame(st);

	for (unsigned r = 0; r < K2_NREGS; r++) {
		enum k2_rtype t = K2_T_UNINIT;
		uint64_t v = 0;

		if (!(live_in >> r & 1))
			continue;
		k2_wstate_get_reg(st, r, &t, &v);
		h = (h ^ v ^ ((uint64_t)t << 56)) * 0x100000001b3ULL;
	}
	k2_wstate_pkt_bounds(st, &meta, &data, &end);
	h = (h ^ meta ^ ((uint64_t)data << 16) ^ ((uint64_t)end << 32)) * 0x100000001b3ULL;
	if (end > meta && !k2_wstate_read(st, K2_ADDR(K2_RGN_PKT, 0, meta), buf, end - meta))
		for (uint32_t i = 0; i < end - meta; i++)
			h = (h ^ buf[i]) * 0x100000001b3ULL;
	if (!k2_wstate_read(st, K2_ADDR(K2_RGN_STACK, f, 0), buf, K2_STACK_SIZE))
		for (uint32_t i = 0; i < K2_STACK_SIZE; i++)
			h = (h ^ buf[i]) * 0x100000001b3ULL;
	if (!k2_wstate_read(st, K2_ADDR(K2_RGN_CTX, 0, 0), buf, K2_CTX_MAX))
		for (uint32_t i = 0; i < K2_CTX_MAX; i++)
			h = (h ^ buf[i]) * 0x100000001b3ULL;
	return h;
}

/* Registers that are not live-in read as uninitialised, as the precondition says. */
static void restrict_regs(struct k2_wstate *st, uint16_t live_in)
{
	for (unsigned r = 0; r < K2_REG_FP; r++)
		if (!(live_in >> r & 1))
			k2_wstate_set_reg(st, r, K2_T_UNINIT, 0);
}

/* Packet bytes the window reads at constant offsets from data (the ones worth redrawing). */
struct pkt_reads {
	int64_t off[32];
	uint32_t size[32];
	uint32_t n;
};

static void find_pkt_reads(const struct k2_analysis *an, const struct k2_win *w,
			   struct pkt_reads *pr)
{
	pr->n = 0;
	for (uint32_t i = w->start; i < w->end && pr->n < 32; i++) {
		const struct k2_access *a = k2_absint_access(an->ai, i);

		if (a->region == K2_MEM_PKT && (a->flags & K2_ACC_READ)) {
			pr->off[pr->n] = a->flags & K2_ACC_CONST ? a->off : a->off_min;
			pr->size[pr->n++] = a->size;
		}
	}
}

static void redraw_byte(struct k2_wstate *st, uint64_t at, uint32_t end, struct k2_rng *r)
{
	static const uint8_t special[] = { 0, 0xff, 0x01, 0x80, 0x7f };
	uint8_t b = below(r, 2) ? (uint8_t)k2_rng_next(r) : special[below(r, sizeof(special))];

	if (at < end)
		k2_wstate_write(st, K2_ADDR(K2_RGN_PKT, 0, at), &b, 1);
}

/* Redraws half the bytes of the map values live-in registers point into. */
static void mutate_values(struct k2_wstate *st, const struct k2_prog *prog,
			  const struct k2_astate *pre, uint16_t live_in, struct k2_rng *r)
{
	for (unsigned reg = 0; reg < K2_REG_FP; reg++) {
		const struct k2_aval *a = &pre->regs[reg];
		enum k2_rtype t;
		uint64_t v;

		if (!(live_in >> reg & 1) || a->type != K2_VT_PTR_MAP_VALUE || a->map < 0 ||
		    (uint32_t)a->map >= prog->n_maps || prog->maps[a->map].readonly)
			continue;
		uint32_t vsize = prog->maps[a->map].value_size, style = below(r, 3);

		k2_wstate_get_reg(st, reg, &t, &v);
		if (t != K2_T_MAP_VALUE || !vsize)
			continue;
		/* Random bytes saturate ORs and ANDs: also sparse values, one byte or one bit. */
		for (uint32_t o = 0; o < vsize; o++) {
			uint8_t b = style ? 0 : (uint8_t)k2_rng_next(r);

			if (style || below(r, 2))
				k2_wstate_write(st, K2_ADDR(K2_RGN_MAPVAL, K2_ADDR_IDX(v), o), &b, 1);
		}
		if (style) {
			uint8_t b = style == 1 ? (uint8_t)k2_rng_next(r) : (uint8_t)(1u << below(r, 8));

			k2_wstate_write(st, K2_ADDR(K2_RGN_MAPVAL, K2_ADDR_IDX(v), below(r, vsize)),
					&b, 1);
		}
	}
}

/* Redraws the live stack bytes the analysis knows only as initialised (no spill, not 0). */
static void mutate_stack(struct k2_wstate *st, const struct k2_astate *pre, struct k2_rng *r)
{
	uint32_t f = k2_wstate_frame(st);

	for (int slot = 0; slot < K2_STACK_SLOTS; slot++)
		for (int b = 0; b < 8; b++) {
			uint8_t x = (uint8_t)k2_rng_next(r);

			if (pre->stack[slot].bytes[b] == K2_SB_MISC && below(r, 2))
				k2_wstate_write(st, K2_ADDR(K2_RGN_STACK, f, slot * 8 + b), &x, 1);
		}
}

/* Redraws live-in scalars within their bounds, and packet bytes (mostly those it reads). */
static void mutate(struct k2_wstate *st, const struct k2_astate *pre, uint16_t live_in,
		   const struct pkt_reads *pr, struct k2_rng *r)
{
	uint32_t meta, data, end;
	uint64_t v;

	for (unsigned reg = 0; reg < K2_REG_FP; reg++)
		if ((live_in >> reg & 1) && pre->regs[reg].type == K2_VT_SCALAR && below(r, 3) &&
		    sample(&pre->regs[reg], r, &v))
			k2_wstate_set_reg(st, reg, K2_T_SCALAR, v);
	k2_wstate_pkt_bounds(st, &meta, &data, &end);
	for (uint32_t k = 0; k < pr->n; k++)
		for (uint32_t b = 0; b < pr->size[k]; b++)
			if (pr->off[k] >= 0 && below(r, 2))
				redraw_byte(st, data + (uint64_t)pr->off[k] + b, end, r);
	for (uint32_t k = below(r, 3) ? 0 : 1 + below(r, 4); k > 0 && end > data; k--)
		redraw_byte(st, data + below(r, end - data), end, r);
}

/* A register as the precondition describes it, in an entry state; false if not makeable. */
static bool make_reg(struct k2_inputs *s, struct k2_wstate *st, unsigned reg,
		     const struct k2_aval *a, struct k2_rng *r)
{
	uint32_t meta, data, end;
	uint64_t v = 0, addr;
	uint8_t val[256] = { 0 }, key[256] = { 0 };

	k2_wstate_pkt_bounds(st, &meta, &data, &end);
	if (a->type != K2_VT_SCALAR && !sample(a, r, &v))
		v = a->umin; /* the variable part of a pointer */
	switch (a->type) {
	case K2_VT_SCALAR:
		if (!sample(a, r, &v))
			return false;
		k2_wstate_set_reg(st, reg, K2_T_SCALAR, v);
		return true;
	case K2_VT_PTR_CTX:
		k2_wstate_set_reg(st, reg, K2_T_CTX, K2_ADDR(K2_RGN_CTX, 0, a->off));
		return true;
	case K2_VT_PTR_STACK:
		k2_wstate_set_reg(st, reg, K2_T_STACK,
				  K2_ADDR(K2_RGN_STACK, k2_wstate_frame(st),
					  K2_STACK_SIZE + a->off + (int64_t)v));
		return !a->frame;
	case K2_VT_PTR_PKT:
		addr = data + (uint64_t)a->off + v;
		k2_wstate_set_reg(st, reg, K2_T_PKT, K2_ADDR(K2_RGN_PKT, 0, addr));
		return addr + a->range <= end;
	case K2_VT_PTR_PKT_META:
		k2_wstate_set_reg(st, reg, K2_T_PKT_META, K2_ADDR(K2_RGN_PKT, 0, meta + a->off));
		return true;
	case K2_VT_PTR_PKT_END:
		k2_wstate_set_reg(st, reg, K2_T_PKT_END, K2_ADDR(K2_RGN_PKT, 0, end));
		return true;
	case K2_VT_PTR_MAP:
		if (a->map < 0)
			return false;
		k2_wstate_set_reg(st, reg, K2_T_MAP, K2_ADDR(K2_RGN_MAP, a->map, 0));
		return true;
	case K2_VT_PTR_MAP_VALUE:
		if (a->map < 0 || s->prog->maps[a->map].value_size > sizeof(val) ||
		    s->prog->maps[a->map].key_size > sizeof(key))
			return false;
		for (size_t i = 0; i < sizeof(val); i++)
			val[i] = below(r, 2) ? (uint8_t)k2_rng_next(r) : 0;
		key[0] = (uint8_t)k2_rng_next(r);
		if (k2_wstate_add_slot(s->vm, st, (uint32_t)a->map, key, val, &addr))
			return false;
		k2_wstate_set_reg(st, reg, K2_T_MAP_VALUE, addr + (uint64_t)a->off + v);
		return true;
	default:
		return false;
	}
}

/* A state from the precondition alone, on an entry state with a long enough packet. */
static bool from_precondition(struct k2_inputs *s, struct k2_wstate *st, const struct k2_astate *pre,
			      uint16_t live_in, struct k2_rng *r)
{
	const struct k2_input *in = NULL;
	uint8_t bytes[8];
	uint64_t v;

	for (uint32_t tries = 0; tries < 8 && !in; tries++) {
		const struct k2_input *c = &s->in[below(r, s->n)];

		if (c->pkt_len >= pre->pkt_min + 64 || tries == 7)
			in = c;
	}
	if (!in || k2_wstate_init(s->vm, st, in))
		return false;
	for (unsigned reg = 0; reg < K2_REG_FP; reg++) {
		if (!(live_in >> reg & 1))
			k2_wstate_set_reg(st, reg, K2_T_UNINIT, 0);
		else if (!make_reg(s, st, reg, &pre->regs[reg], r))
			return false;
	}
	for (int slot = 0; slot < K2_STACK_SLOTS; slot++) {
		const struct k2_slot *sl = &pre->stack[slot];
		uint64_t base = K2_ADDR(K2_RGN_STACK, k2_wstate_frame(st), slot * 8);

		if (sl->bytes[0] == K2_SB_SPILL || sl->bytes[7] == K2_SB_SPILL) {
			if (sl->spill.type != K2_VT_SCALAR || !sample(&sl->spill, r, &v))
				return false;
			memcpy(bytes, &v, 8);
		} else {
			for (int b = 0; b < 8; b++)
				bytes[b] = sl->bytes[b] == K2_SB_MISC ? (uint8_t)k2_rng_next(r) : 0;
		}
		for (int b = 0; b < 8; b++)
			if (sl->bytes[b] != K2_SB_INVALID)
				k2_wstate_write(st, base + b, &bytes[b], 1);
	}
	return true;
}

void k2_tests_free(struct k2_wstate **tests, uint32_t n)
{
	if (!tests)
		return;
	for (uint32_t i = 0; i < n; i++)
		k2_wstate_free(tests[i]);
	free(tests);
}

static int keep(struct k2_inputs *s, struct k2_wstate **tests, uint32_t *n, uint64_t *hashes,
		const struct k2_wstate *src, uint16_t live_in)
{
	uint64_t h = state_hash(src, live_in);

	for (uint32_t i = 0; i < *n; i++)
		if (hashes[i] == h)
			return 0;
	if (k2_wstate_new(s->vm, &tests[*n]))
		return -ENOMEM;
	if (k2_wstate_copy(tests[*n], src)) {
		k2_wstate_free(tests[*n]);
		return -EINVAL;
	}
	hashes[(*n)++] = h;
	return 1;
}

int k2_inputs_window_tests(struct k2_inputs *s, const struct k2_analysis *an,
			   const struct k2_win *w, uint32_t want, uint64_t seed,
			   struct k2_wstate ***out, uint32_t *n_out, uint32_t *reached,
			   struct k2_err *e)
{
	struct k2_wstate **tests = calloc(want ? want : 1, sizeof(*tests));
	uint64_t *hashes = calloc(want ? want : 1, sizeof(*hashes));
	struct k2_astate *pre = malloc(sizeof(*pre));
	uint16_t live = w->live_in;
	uint32_t n = 0, from_runs;
	struct pkt_reads pr;
	struct k2_rng r;
	int err = 0;

	*out = NULL;
	*n_out = 0;
	if (!tests || !hashes || !pre || k2_win_precond(an, w, pre)) {
		err = tests && hashes && pre ? -EINVAL : -ENOMEM;
		goto fail;
	}
	k2_rng_seed(&r, seed);
	find_pkt_reads(an, w, &pr);
	/* Half of the states are redrawn ones even when runs reach the window often:
	 * generated packets rarely hold every value a window distinguishes. */
	for (uint32_t i = 0; i < s->n && n < want - want / 2 && err >= 0; i++) {
		if (k2_vm_snapshot(s->vm, &s->in[i], w->start, s->snap, NULL) != 1)
			continue;
		restrict_regs(s->snap, live);
		err = keep(s, tests, &n, hashes, s->snap, live);
	}
	from_runs = n;
	/* Few runs get here: redraw what the precondition leaves free. */
	for (uint32_t tries = 0; n < want && err >= 0 && tries < 8 * want; tries++) {
		bool ok;

		if (from_runs) {
			ok = !k2_wstate_copy(s->snap, tests[below(&r, from_runs)]);
			if (ok) {
				mutate(s->snap, pre, live, &pr, &r);
				if (below(&r, 2))
					mutate_values(s->snap, s->prog, pre, live, &r);
				if (below(&r, 2))
					mutate_stack(s->snap, pre, &r);
			}
		} else {
			ok = s->n && from_precondition(s, s->snap, pre, live, &r);
		}
		if (ok)
			err = keep(s, tests, &n, hashes, s->snap, live);
	}
	if (err < 0)
		goto fail;
	free(hashes);
	free(pre);
	*out = tests;
	*n_out = n;
	if (reached)
		*reached = from_runs;
	return 0;
fail:
	k2_tests_free(tests, n);
	free(hashes);
	free(pre);
	return k2_err_set(e, err, "window %u:%u: test states: %s", w->start, w->end,
			  err == -ENOMEM ? "out of memory" : "no precondition");
}
