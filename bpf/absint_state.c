/* bpf/absint_state.c: abstract values and states: construction, join, order, printing. */
#include "bpf/absint_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void k2_ai_set_not_init(struct k2_aval *v)
{
	memset(v, 0, sizeof(*v));
	v->type = K2_VT_NOT_INIT;
	v->map = -1;
}

void k2_aval_set_map(struct k2_aval *v, int32_t idx)
{
	v->map = idx;
	v->maps = idx >= 0 && idx < 64 ? 1ULL << idx : 0;
}

void k2_aval_unknown(struct k2_aval *v)
{
	k2_sc_set_unknown(v);
}

void k2_aval_const(struct k2_aval *v, uint64_t c)
{
	k2_sc_set_const(v, c);
}

bool k2_aval_is_const(const struct k2_aval *v, uint64_t *c)
{
	if (v->type != K2_VT_SCALAR || !k2_tn_is_const(v->var))
		return false;
	if (c)
		*c = v->var.value;
	return true;
}

static bool is_ptr(uint8_t t)
{
	return t >= K2_VT_PTR_CTX && t <= K2_VT_PTR_BTF;
}

static void set_untyped(struct k2_aval *v)
{
	bool mu = v->maybe_uninit;

	k2_ai_set_not_init(v);
	v->type = K2_VT_UNKNOWN;
	v->maybe_uninit = mu;
}

void k2_ai_state_init(struct k2_astate *st, const struct k2_prog *prog, bool callee)
{
	memset(st, 0, sizeof(*st));
	st->reachable = true;
	for (int r = 0; r < K2_NREGS; r++)
		k2_ai_set_not_init(&st->regs[r]);
	for (int s = 0; s < K2_STACK_SLOTS; s++)
		k2_ai_set_not_init(&st->stack[s].spill);
	k2_sc_set_const(&st->regs[K2_REG_FP], 0);
	st->regs[K2_REG_FP].type = K2_VT_PTR_STACK;
	if (!callee) {
		k2_sc_set_const(&st->regs[1], 0);
		st->regs[1].type = prog && k2_ctx_size(prog->type) ? K2_VT_PTR_CTX : K2_VT_UNKNOWN;
	}
}

bool k2_ai_val_eq(const struct k2_aval *a, const struct k2_aval *b)
{
	if (a->type != b->type || a->maybe_uninit != b->maybe_uninit ||
	    a->maybe_null != b->maybe_null)
		return false;
	if (a->type == K2_VT_NOT_INIT || a->type == K2_VT_UNKNOWN)
		return true;
	return a->frame == b->frame && a->map == b->map && a->maps == b->maps && a->id == b->id &&
	       a->off == b->off && a->range == b->range && a->var.value == b->var.value &&
	       a->var.mask == b->var.mask && a->umin == b->umin && a->umax == b->umax &&
	       a->smin == b->smin && a->smax == b->smax && a->u32min == b->u32min &&
	       a->u32max == b->u32max && a->s32min == b->s32min && a->s32max == b->s32max;
}

/* Moves d of the fixed offset into the variable part (same pointer, other split). */
static void shift_fixed(struct k2_aval *v, int32_t new_off)
{
	struct k2_aval d;
	int64_t delta = (int64_t)v->off - new_off;
	uint8_t t = v->type;

	if (!delta)
		return;
	k2_sc_set_const(&d, (uint64_t)delta);
	k2_sc_alu(v, &d, BPF_ADD, 64, false);
	v->type = t;
	v->off = new_off;
	/* The range counts from base + var, which moved up by delta. */
	v->range = delta > 0 && v->range > delta ? v->range - (uint32_t)delta : 0;
}

static bool const_zero(const struct k2_aval *v)
{
	uint64_t c;

	return k2_aval_is_const(v, &c) && c == 0;
}

/* Join of two pointers of the same type. */
static void join_ptr(struct k2_aval *a, const struct k2_aval *b, bool widen)
{
	struct k2_aval bb = *b;
	uint32_t id = a->id == b->id ? a->id : 0;
	uint8_t mu = a->maybe_uninit, t = a->type;
	bool mn = a->maybe_null || b->maybe_null;
	uint32_t range;
	int32_t off, map = a->map, frame = a->frame;
	uint64_t maps = a->maps | b->maps;

	if (a->frame != b->frame || (a->map != b->map && (!a->maps || !b->maps))) {
		set_untyped(a);
		return;
	}
	if (a->map != b->map)
		map = -1; /* one of several maps: clang merges paths that update different maps */
	off = a->off < b->off ? a->off : b->off;
	shift_fixed(a, off);
	shift_fixed(&bb, off);
	range = a->range < bb.range ? a->range : bb.range;
	k2_sc_join(a, &bb, widen);
	a->type = t;
	a->off = off;
	a->id = id;
	a->range = range;
	a->map = map;
	a->maps = maps;
	a->frame = (uint8_t)frame;
	a->maybe_uninit = mu;
	a->maybe_null = mn;
}

/* The pointer or NULL: maybe-null pointers carry no relation to others (a fresh id). */
static void or_null(struct k2_aval *v)
{
	if (v->type == K2_VT_PTR_MAP_VALUE || v->type == K2_VT_PTR_MAP_VALUE_OR_NULL) {
		v->type = K2_VT_PTR_MAP_VALUE_OR_NULL;
		v->id = 0;
	} else if (!v->maybe_null) {
		v->maybe_null = true;
		if (v->type != K2_VT_PTR_PKT && v->type != K2_VT_PTR_PKT_META)
			v->id = 0;
	}
}

void k2_ai_join_val(struct k2_aval *a, const struct k2_aval *b, bool widen)
{
	bool mu = a->maybe_uninit || b->maybe_uninit;

	if (b->type == K2_VT_NOT_INIT) {
		if (a->type != K2_VT_NOT_INIT)
			a->maybe_uninit = true;
		return;
	}
	if (a->type == K2_VT_NOT_INIT) {
		*a = *b;
		a->maybe_uninit = true;
		return;
	}
	if (a->type == b->type && a->type == K2_VT_SCALAR) {
		uint32_t id = a->id == b->id ? a->id : 0;

		k2_sc_join(a, b, widen);
		a->id = id;
	} else if (a->type == b->type && is_ptr(a->type)) {
		join_ptr(a, b, widen);
	} else if ((a->type == K2_VT_PTR_MAP_VALUE || a->type == K2_VT_PTR_MAP_VALUE_OR_NULL) &&
		   (b->type == K2_VT_PTR_MAP_VALUE || b->type == K2_VT_PTR_MAP_VALUE_OR_NULL)) {
		join_ptr(a, b, widen);
		a->type = K2_VT_PTR_MAP_VALUE_OR_NULL;
		a->id = 0;
	} else if (const_zero(a) && is_ptr(b->type)) {
		/* NULL on one path, the pointer on the other: a pointer that may be NULL. */
		*a = *b;
		or_null(a);
	} else if (const_zero(b) && is_ptr(a->type)) {
		or_null(a);
	} else {
		set_untyped(a);
	}
	a->maybe_uninit = mu;
}

/* ---- stack slots ---- */

/* First spilled byte and how many, or 0 bytes. */
static int spill_extent(const struct k2_slot *s, int *first)
{
	int n = 0;

	*first = -1;
	for (int i = 0; i < 8; i++)
		if (s->bytes[i] == K2_SB_SPILL) {
			if (*first < 0)
				*first = i;
			n++;
		}
	return n;
}

static bool bytes_all(const struct k2_slot *s, int first, int n, uint8_t kind)
{
	for (int i = first; i < first + n; i++)
		if (s->bytes[i] != kind)
			return false;
	return true;
}

static void drop_spill(struct k2_slot *s)
{
	for (int i = 0; i < 8; i++)
		if (s->bytes[i] == K2_SB_SPILL)
			s->bytes[i] = K2_SB_MISC;
	k2_ai_set_not_init(&s->spill);
}

static uint8_t join_byte(uint8_t a, uint8_t b)
{
	if (a == b || b == K2_SB_INVALID)
		return a;
	if (a == K2_SB_INVALID)
		return b;
	return K2_SB_MISC;
}

/* Keeps a's spill when the other path left those bytes unwritten, or zero (scalars). */
static bool keep_one_spill(struct k2_slot *a, const struct k2_slot *b, int first, int n, bool widen)
{
	struct k2_aval z;

	if (bytes_all(b, first, n, K2_SB_INVALID)) {
		a->spill.maybe_uninit = true;
		return true;
	}
	if (a->spill.type == K2_VT_SCALAR && bytes_all(b, first, n, K2_SB_ZERO)) {
		k2_sc_set_const(&z, 0);
		k2_ai_join_val(&a->spill, &z, widen);
		return true;
	}
	return false;
}

static void join_slot(struct k2_slot *a, const struct k2_slot *b, bool widen)
{
	int fa, fb, na = spill_extent(a, &fa), nb = spill_extent(b, &fb);
	struct k2_slot bb = *b;

	if (na && nb && fa == fb && na == nb) {
		k2_ai_join_val(&a->spill, &b->spill, widen);
	} else if (na && !nb && keep_one_spill(a, b, fa, na, widen)) {
		for (int i = fa; i < fa + na; i++)
			bb.bytes[i] = K2_SB_SPILL;
	} else if (nb && !na && bytes_all(a, fb, nb, K2_SB_INVALID)) {
		a->spill = b->spill;
		a->spill.maybe_uninit = true;
		for (int i = fb; i < fb + nb; i++)
			a->bytes[i] = K2_SB_SPILL;
	} else if (nb && !na && b->spill.type == K2_VT_SCALAR && bytes_all(a, fb, nb, K2_SB_ZERO)) {
		struct k2_aval z;

		k2_sc_set_const(&z, 0);
		a->spill = b->spill;
		k2_ai_join_val(&a->spill, &z, widen);
		for (int i = fb; i < fb + nb; i++)
			a->bytes[i] = K2_SB_SPILL;
	} else {
		if (na)
			drop_spill(a);
		if (nb)
			drop_spill(&bb);
	}
	for (int i = 0; i < 8; i++)
		a->bytes[i] = join_byte(a->bytes[i], bb.bytes[i]);
}

static bool slot_eq(const struct k2_slot *a, const struct k2_slot *b)
{
	int f;

	if (memcmp(a->bytes, b->bytes, 8))
		return false;
	return !spill_extent(a, &f) || k2_ai_val_eq(&a->spill, &b->spill);
}

bool k2_ai_state_join(struct k2_astate *a, const struct k2_astate *b, bool widen)
{
	bool changed = false;

	if (!b->reachable)
		return false;
	if (!a->reachable) {
		*a = *b;
		return true;
	}
	if (b->pkt_min < a->pkt_min) {
		a->pkt_min = b->pkt_min;
		changed = true;
	}
	for (int r = 0; r < K2_NREGS; r++) {
		struct k2_aval old = a->regs[r];

		k2_ai_join_val(&a->regs[r], &b->regs[r], widen);
		changed |= !k2_ai_val_eq(&old, &a->regs[r]);
	}
	for (int s = 0; s < K2_STACK_SLOTS; s++) {
		struct k2_slot old = a->stack[s];

		join_slot(&a->stack[s], &b->stack[s], widen);
		changed |= !slot_eq(&old, &a->stack[s]);
	}
	return changed;
}

void k2_ai_scrub_id(struct k2_astate *st, uint32_t id)
{
	for (int r = 0; r < K2_NREGS; r++)
		if (st->regs[r].id == id)
			st->regs[r].id = 0;
	for (int s = 0; s < K2_STACK_SLOTS; s++)
		if (st->stack[s].spill.id == id)
			st->stack[s].spill.id = 0;
}

/* ---- order and printing ---- */

static bool maps_leq(const struct k2_aval *a, const struct k2_aval *b)
{
	if (a->map == b->map && a->maps == b->maps)
		return true;
	return b->map < 0 && b->maps && !(a->maps & ~b->maps);
}

bool k2_aval_leq(const struct k2_aval *a, const struct k2_aval *b)
{
	if (a->type == K2_VT_NOT_INIT)
		return true;
	if (b->type == K2_VT_UNKNOWN)
		return true;
	if (a->maybe_uninit && !b->maybe_uninit)
		return false;
	if (a->type == K2_VT_SCALAR && const_zero(a) &&
	    (b->type == K2_VT_PTR_MAP_VALUE_OR_NULL || b->maybe_null))
		return true;
	if (a->maybe_null && !b->maybe_null)
		return false;
	if (a->type == K2_VT_PTR_MAP_VALUE && b->type == K2_VT_PTR_MAP_VALUE_OR_NULL)
		return maps_leq(a, b) && a->off == b->off && k2_sc_leq(a, b);
	if (a->type != b->type)
		return false;
	if (a->type == K2_VT_UNKNOWN)
		return true;
	if (is_ptr(a->type)) {
		if (!maps_leq(a, b) || a->frame != b->frame || a->off != b->off)
			return false;
		if (a->range < b->range)
			return false;
	}
	return k2_sc_leq(a, b);
}

static const char *const type_names[K2_VT__COUNT] = {
	[K2_VT_NOT_INIT] = "?",
	[K2_VT_SCALAR] = "scalar",
	[K2_VT_PTR_CTX] = "ctx",
	[K2_VT_PTR_STACK] = "fp",
	[K2_VT_PTR_PKT] = "pkt",
	[K2_VT_PTR_PKT_END] = "pkt_end",
	[K2_VT_PTR_PKT_META] = "pkt_meta",
	[K2_VT_PTR_MAP] = "map_ptr",
	[K2_VT_PTR_MAP_VALUE] = "map_value",
	[K2_VT_PTR_MAP_VALUE_OR_NULL] = "map_value_or_null",
	[K2_VT_PTR_MEM] = "mem",
	[K2_VT_PTR_BTF] = "btf_ptr",
	[K2_VT_UNKNOWN] = "unknown",
};

static int print_scalar(const struct k2_aval *v, char *buf, size_t len)
{
	uint64_t c;

	if (k2_aval_is_const(v, &c))
		return snprintf(buf, len, "%" PRId64, (int64_t)c);
	return snprintf(buf, len,
			"umin=%" PRIu64 ",umax=%" PRIu64 ",smin=%" PRId64 ",smax=%" PRId64
			",var_off=(0x%" PRIx64 ";0x%" PRIx64 ")",
			v->umin, v->umax, v->smin, v->smax, v->var.value, v->var.mask);
}

/* ",r=..,map=..,id=.." as far as they apply. */
static void ptr_extra(const struct k2_aval *v, char *buf, size_t len)
{
	int k = 0;

	buf[0] = '\0';
	if (v->type == K2_VT_PTR_PKT || v->type == K2_VT_PTR_PKT_META)
		k += snprintf(buf + k, len - k, ",r=%u", v->range);
	if (v->type == K2_VT_PTR_MEM)
		k += snprintf(buf + k, len - k, ",size=%u", v->range);
	if (v->map >= 0)
		k += snprintf(buf + k, len - k, ",map=%d", v->map);
	else if (v->maps)
		k += snprintf(buf + k, len - k, ",maps=0x%llx", (unsigned long long)v->maps);
	if (v->id)
		snprintf(buf + k, len - k, ",id=%u", v->id);
}

int k2_aval_str(const struct k2_aval *v, char *buf, size_t len)
{
	char sc[160], extra[64];
	bool zero_var;
	const char *mu = v->maybe_uninit ? "?" : "";

	if (v->type >= K2_VT__COUNT)
		return snprintf(buf, len, "invalid");
	if (v->type == K2_VT_NOT_INIT || v->type == K2_VT_UNKNOWN)
		return snprintf(buf, len, "%s%s", type_names[v->type], mu);
	print_scalar(v, sc, sizeof(sc));
	if (v->type == K2_VT_SCALAR && v->id)
		return snprintf(buf, len, "%sscalar(%s,id=%u)", mu, sc, v->id);
	if (v->type == K2_VT_SCALAR)
		return snprintf(buf, len, "%sscalar(%s)", mu, sc);
	if (v->type == K2_VT_PTR_STACK && k2_tn_is_const(v->var) && v->var.value == 0)
		return snprintf(buf, len, "%sfp%+d%s", mu, v->off,
				v->frame ? (v->frame == 1 ? "(caller)" : "(up)") : "");
	ptr_extra(v, extra, sizeof(extra));
	zero_var = k2_tn_is_const(v->var) && !v->var.value;
	return snprintf(buf, len, "%s%s%s(%soff=%d%s%s%s)", mu, type_names[v->type],
			v->maybe_null ? "_or_null" : "", v->frame ? "up," : "", v->off, extra,
			zero_var ? "" : ",var=", zero_var ? "" : sc);
}
