/* bpf/absint_mem.c: memory accesses: the region, the verifier's bounds rules, spills. */
#include "bpf/absint_int.h"

#include <string.h>

#define MAX_PACKET_OFF 0xffff

static bool is_ptr_type(uint8_t t)
{
	return t >= K2_VT_PTR_CTX && t <= K2_VT_PTR_BTF;
}

bool k2_ai_is_ptr(const struct k2_aval *v)
{
	return is_ptr_type(v->type);
}

void k2_ai_set_ptr(struct k2_aval *v, uint8_t type)
{
	k2_sc_set_const(v, 0);
	v->type = type;
}

/* ---- where an access goes ---- */

static uint8_t region_of(uint8_t type)
{
	switch (type) {
	case K2_VT_PTR_STACK: return K2_MEM_STACK;
	case K2_VT_PTR_PKT: return K2_MEM_PKT;
	case K2_VT_PTR_PKT_META: return K2_MEM_PKT_META;
	case K2_VT_PTR_CTX: return K2_MEM_CTX;
	case K2_VT_PTR_MAP_VALUE:
	case K2_VT_PTR_MAP_VALUE_OR_NULL: return K2_MEM_MAP_VALUE;
	case K2_VT_PTR_MEM: return K2_MEM_ALLOC;
	case K2_VT_PTR_BTF: return K2_MEM_KERNEL;
	default: return K2_MEM_UNKNOWN;
	}
}

static const char *untyped_why(const struct k2_aval *p)
{
	switch (p->type) {
	case K2_VT_NOT_INIT: return "pointer register is not initialized";
	case K2_VT_SCALAR: return "access through a scalar";
	case K2_VT_PTR_PKT_END: return "access through pkt_end";
	case K2_VT_PTR_MAP: return "access through a map pointer";
	default: return "pointer of unknown type";
	}
}

void k2_ai_describe(const struct k2_aval *p, int16_t insn_off, uint8_t size, bool write,
		    struct k2_access *acc)
{
	int64_t fixed = (int64_t)p->off + insn_off;

	memset(acc, 0, sizeof(*acc));
	acc->size = size;
	acc->flags = write ? K2_ACC_WRITE : K2_ACC_READ;
	acc->map = -1;
	acc->region = region_of(p->type);
	if (acc->region == K2_MEM_UNKNOWN) {
		acc->why = untyped_why(p);
		return;
	}
	acc->frame = p->frame;
	acc->fixed_off = (int32_t)fixed;
	acc->pkt_range = p->range;
	if (p->type == K2_VT_PTR_MAP_VALUE || p->type == K2_VT_PTR_MAP_VALUE_OR_NULL ||
	    p->type == K2_VT_PTR_MEM) {
		acc->map = p->map;
		acc->maps = p->maps;
	}
	acc->off_min = k2_sat_add(fixed, p->smin);
	acc->off_max = k2_sat_add(fixed, p->smax);
	if (k2_tn_is_const(p->var)) {
		acc->flags |= K2_ACC_CONST;
		acc->off = acc->off_min = acc->off_max = (int64_t)((uint64_t)fixed + p->var.value);
	}
}

/* ---- the verifier's rule per region ---- */

static bool check_stack(struct ai_ctx *ctx, uint32_t pc, const struct k2_access *a)
{
	if (a->frame == 0 && a->off_min >= -K2_STACK_BYTES && k2_sat_add(a->off_max, a->size) <= 0) {
		/* The kernel checks stack pointers strictly whatever the arch
		 * (check_ptr_alignment): its spill tracking assumes aligned slots. */
		if (!(a->flags & K2_ACC_CONST) || a->size == 1 || !(a->off % a->size))
			return true;
		k2_ai_violation(ctx, pc, "misaligned stack access off=%lld size=%u",
				(long long)a->off, a->size);
		return false;
	}
	if (a->frame == 0)
		k2_ai_violation(ctx, pc, "invalid %sstack off=%lld size=%u",
				a->flags & K2_ACC_CONST ? "" : "variable-offset ",
				(long long)a->off_min, a->size);
	return a->frame == 0
		       ? false
		       : a->off_min >= -K2_STACK_BYTES && k2_sat_add(a->off_max, a->size) <= 0;
}

static bool check_pkt(struct ai_ctx *ctx, uint32_t pc, const struct k2_aval *p, uint8_t reg,
		      const struct k2_access *a)
{
	const char *what = a->region == K2_MEM_PKT ? "packet" : "packet metadata";

	if (a->fixed_off >= 0 && (uint64_t)a->fixed_off + a->size <= p->range && p->smin >= 0 &&
	    p->umax <= MAX_PACKET_OFF)
		return true;
	k2_ai_violation(ctx, pc, "invalid access to %s, off=%d size=%u, R%u(id=%u,off=%d,r=%u)",
			what, a->fixed_off, a->size, reg, p->id, p->off, p->range);
	return false;
}

bool k2_ai_map_sizes(const struct ai_ctx *ctx, const struct k2_aval *v, struct ai_map_sizes *ms)
{
	uint32_t n = ctx->prog ? ctx->prog->n_maps : 0;
	uint64_t set = v->map >= 0 ? (v->map < 64 ? 1ULL << v->map : 0) : v->maps;

	*ms = (struct ai_map_sizes){ .min_value = UINT32_MAX };
	if (v->map >= 0 && (uint32_t)v->map >= n)
		return false;
	if (v->map >= 64) {
		const struct k2_map *m = &ctx->prog->maps[v->map];

		*ms = (struct ai_map_sizes){ m->key_size, m->value_size, m->value_size,
					     m->readonly };
		return true;
	}
	if (!set || (n < 64 && (set >> n)))
		return false;
	for (uint32_t i = 0; i < n && i < 64; i++) {
		const struct k2_map *m = &ctx->prog->maps[i];

		if (!(set >> i & 1))
			continue;
		ms->max_key = m->key_size > ms->max_key ? m->key_size : ms->max_key;
		ms->max_value = m->value_size > ms->max_value ? m->value_size : ms->max_value;
		ms->min_value = m->value_size < ms->min_value ? m->value_size : ms->min_value;
		ms->readonly |= m->readonly;
	}
	return true;
}

static bool check_map_value(struct ai_ctx *ctx, uint32_t pc, const struct k2_aval *p,
			    const struct k2_access *a)
{
	struct ai_map_sizes ms;

	if (p->type == K2_VT_PTR_MAP_VALUE_OR_NULL) {
		k2_ai_violation(ctx, pc, "invalid mem access 'map_value_or_null'");
		return false;
	}
	if (!k2_ai_map_sizes(ctx, p, &ms)) {
		k2_ai_violation(ctx, pc, "access to a value of an unknown map");
		return false;
	}
	if (a->off_min < 0 || k2_sat_add(a->off_max, a->size) > ms.min_value) {
		k2_ai_violation(ctx, pc,
				"invalid access to map value, value_size=%u off=%lld size=%u",
				ms.min_value, (long long)a->off_min, a->size);
		return false;
	}
	if ((a->flags & K2_ACC_WRITE) && ms.readonly) {
		k2_ai_violation(ctx, pc, "write into map forbidden, value_size=%u off=%lld size=%u",
				ms.min_value, (long long)a->off_min, a->size);
		return false;
	}
	return true;
}

static bool check_ctx(struct ai_ctx *ctx, uint32_t pc, const struct k2_aval *p, uint8_t reg,
		      struct k2_access *a, enum k2_vtype *field_type)
{
	uint32_t type = ctx->prog ? ctx->prog->type : 0;

	if (p->off || !k2_tn_is_const(p->var) || p->var.value) {
		k2_ai_violation(ctx, pc, "dereference of modified ctx ptr R%u off=%d disallowed",
				reg, p->off);
		return false;
	}
	a->ctx_field = k2_ctx_field(type, a->off, a->size, a->flags & K2_ACC_WRITE, field_type);
	if (!a->ctx_field) {
		k2_ai_violation(ctx, pc, "invalid bpf_context access off=%lld size=%u",
				(long long)a->off, a->size);
		return false;
	}
	return true;
}

static bool check_alloc(struct ai_ctx *ctx, uint32_t pc, const struct k2_aval *p,
			const struct k2_access *a)
{
	if (a->off_min >= 0 && k2_sat_add(a->off_max, a->size) <= p->range)
		return true;
	k2_ai_violation(ctx, pc, "invalid access to memory, mem_size=%u off=%lld size=%u", p->range,
			(long long)a->off_min, a->size);
	return false;
}

bool k2_ai_check_access(struct ai_ctx *ctx, uint32_t pc, const struct k2_aval *p, uint8_t reg,
			struct k2_access *a, enum k2_vtype *field_type)
{
	bool ok = false;

	*field_type = K2_VT_SCALAR;
	if (p->maybe_null && a->region != K2_MEM_UNKNOWN) {
		k2_ai_violation(ctx, pc, "R%u invalid mem access '%s_or_null'", reg,
				k2_ai_type_name(p->type));
		a->why = "pointer may be NULL";
		return false;
	}
	switch (a->region) {
	case K2_MEM_ALLOC: ok = check_alloc(ctx, pc, p, a); break;
	case K2_MEM_KERNEL:
		if (a->flags & K2_ACC_WRITE)
			k2_ai_violation(ctx, pc, "R%u only read is supported on kernel memory",
					reg);
		a->why = "kernel memory: its bounds come from BTF";
		return false;
	case K2_MEM_STACK: ok = check_stack(ctx, pc, a); break;
	case K2_MEM_PKT:
	case K2_MEM_PKT_META: ok = check_pkt(ctx, pc, p, reg, a); break;
	case K2_MEM_MAP_VALUE: ok = check_map_value(ctx, pc, p, a); break;
	case K2_MEM_CTX: ok = check_ctx(ctx, pc, p, reg, a, field_type); break;
	default: k2_ai_violation(ctx, pc, "R%u invalid mem access '%s'", reg, a->why); break;
	}
	if (ok)
		a->flags |= K2_ACC_SAFE;
	else if (!a->why)
		a->why = "outside what the verifier's rules allow";
	return ok;
}

/* ---- the stack: spills and fills at constant offsets ---- */

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

static void drop_spill(struct k2_slot *s)
{
	for (int i = 0; i < 8; i++)
		if (s->bytes[i] == K2_SB_SPILL)
			s->bytes[i] = K2_SB_MISC;
	k2_ai_set_not_init(&s->spill);
}

void k2_ai_sized_unknown(struct k2_aval *v, unsigned size, bool sext)
{
	k2_sc_set_unknown(v);
	if (size < 8) {
		if (sext)
			k2_sc_sext(v, size * 8);
		else
			k2_sc_trunc(v, size * 8);
	}
}

void k2_ai_stack_clobber(struct k2_astate *st, int lo, int hi)
{
	if (lo < 0)
		lo = 0;
	if (hi > K2_STACK_BYTES)
		hi = K2_STACK_BYTES;
	for (int a = lo; a < hi; a++) {
		struct k2_slot *s = &st->stack[a / 8];

		if (s->bytes[a % 8] == K2_SB_SPILL)
			drop_spill(s);
		s->bytes[a % 8] = K2_SB_MISC;
	}
}

/* Reads size bytes at stack address addr (0..511) into out; *uninit if any was never written. */
void k2_ai_stack_read(struct ai_ctx *ctx, uint32_t pc, const struct k2_astate *st, int addr,
		      unsigned size, bool sext, struct k2_aval *out, bool *uninit)
{
	const struct k2_slot *s = &st->stack[addr / 8];
	int b = addr % 8, first, n = spill_extent(s, &first);
	bool zero = true, spill = false;

	*uninit = false;
	for (int a = addr; a < addr + (int)size; a++) {
		uint8_t k = st->stack[a / 8].bytes[a % 8];

		*uninit |= k == K2_SB_INVALID;
		zero &= k == K2_SB_ZERO;
		spill |= k == K2_SB_SPILL;
	}
	if (b + size <= 8 && n && first == b && (unsigned)n == size) {
		*out = s->spill;
		out->maybe_uninit = false;
		if (out->type == K2_VT_SCALAR && sext && size < 8)
			k2_sc_sext(out, size * 8);
		return;
	}
	if (b == 0 && n == 8 && size < 8 && s->spill.type == K2_VT_SCALAR) {
		/* Little endian: the low bytes of the spilled value. */
		*out = s->spill;
		out->id = 0;
		out->maybe_uninit = false;
		if (sext)
			k2_sc_sext(out, size * 8);
		else
			k2_sc_trunc(out, size * 8);
		return;
	}
	if (spill && s->spill.type != K2_VT_SCALAR)
		k2_ai_violation(ctx, pc, "invalid size of register fill");
	if (zero)
		k2_sc_set_const(out, 0);
	else
		k2_ai_sized_unknown(out, size, sext);
}

/* Writes val (NULL: an unknown scalar) as size bytes at stack address addr. */
void k2_ai_stack_write(struct ai_ctx *ctx, uint32_t pc, struct k2_astate *st, int addr,
		       unsigned size, const struct k2_aval *val)
{
	struct k2_slot *s = &st->stack[addr / 8];
	int b = addr % 8, first, n = spill_extent(s, &first);
	uint64_t c;
	bool zero = val && k2_aval_is_const(val, &c) &&
		    (size == 8 ? c == 0 : !(c << (64 - 8 * size)));
	bool untyped = val && (val->type == K2_VT_UNKNOWN || val->type == K2_VT_PTR_BTF);
	bool ptr = val && k2_ai_is_ptr(val) && !untyped;

	if (untyped && (size != 8 || b))
		val = NULL; /* part of a value that may be a pointer: plain data */
	if (b + size > 8) {
		if (ptr)
			k2_ai_violation(ctx, pc, "misaligned stack access off=%d size=%u",
					addr - K2_STACK_BYTES, size);
		k2_ai_stack_clobber(st, addr, addr + (int)size);
		return;
	}
	if (n && first < b + (int)size && b < first + n)
		drop_spill(s);
	if (ptr && (size != 8 || b)) {
		k2_ai_violation(ctx, pc, "invalid size of register spill");
		k2_ai_stack_clobber(st, addr, addr + (int)size);
		return;
	}
	for (int i = b; i < b + (int)size; i++)
		s->bytes[i] = zero ? K2_SB_ZERO : K2_SB_MISC;
	if (!val || zero || b % size)
		return;
	/* A scalar spill narrower than 8 bytes keeps its value only if no other spill shares
	 * the slot (one spill per slot is tracked). */
	if (spill_extent(s, &first))
		return;
	s->spill = *val;
	s->spill.maybe_uninit = false;
	if (val->type == K2_VT_SCALAR && size < 8) {
		s->spill.id = 0;
		k2_sc_trunc(&s->spill, size * 8);
	}
	for (int i = b; i < b + (int)size; i++)
		s->bytes[i] = K2_SB_SPILL;
}

/* ---- loads from read-only maps: the verifier folds frozen .rodata into constants ---- */

bool k2_ai_rodata_load(const struct ai_ctx *ctx, const struct k2_access *a, bool sext,
		       struct k2_aval *out)
{
	const struct k2_map *m;
	uint64_t v = 0;

	if (!ctx->fold_rodata || !(a->flags & K2_ACC_SAFE) || !(a->flags & K2_ACC_CONST) ||
	    a->region != K2_MEM_MAP_VALUE || a->map < 0)
		return false;
	m = &ctx->prog->maps[a->map];
	if (!m->readonly || !m->init)
		return false;
	for (int i = a->size - 1; i >= 0; i--)
		v = (v << 8) | m->init[a->off + i];
	k2_sc_set_const(out, v);
	if (sext && a->size < 8)
		k2_sc_sext(out, a->size * 8);
	return true;
}
