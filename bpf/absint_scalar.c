/* bpf/absint_scalar.c: scalars: known bits (tnum) with signed/unsigned 64/32-bit bounds. */
#include "bpf/absint_int.h"

#define M32    0xffffffffULL
#define SIGN64 (1ULL << 63)

/* ---- tnum: bit-level knowledge; a bit is unknown where mask is set ---- */

struct k2_tnum k2_tn_const(uint64_t v)
{
	return (struct k2_tnum){ v, 0 };
}

struct k2_tnum k2_tn_unknown(void)
{
	return (struct k2_tnum){ 0, ~0ULL };
}

struct k2_tnum k2_tn_range(uint64_t min, uint64_t max)
{
	uint64_t chi = min ^ max, delta;
	int bits = chi ? 64 - __builtin_clzll(chi) : 0;

	if (bits > 63)
		return k2_tn_unknown();
	delta = (1ULL << bits) - 1;
	return (struct k2_tnum){ min & ~delta, delta };
}

struct k2_tnum k2_tn_add(struct k2_tnum a, struct k2_tnum b)
{
	uint64_t sm = a.mask + b.mask, sv = a.value + b.value;
	uint64_t chi = (sm + sv) ^ sv, mu = chi | a.mask | b.mask;

	return (struct k2_tnum){ sv & ~mu, mu };
}

struct k2_tnum k2_tn_sub(struct k2_tnum a, struct k2_tnum b)
{
	uint64_t dv = a.value - b.value;
	uint64_t chi = (dv + a.mask) ^ (dv - b.mask), mu = chi | a.mask | b.mask;

	return (struct k2_tnum){ dv & ~mu, mu };
}

struct k2_tnum k2_tn_and(struct k2_tnum a, struct k2_tnum b)
{
	uint64_t v = a.value & b.value;

	return (struct k2_tnum){ v, (a.value | a.mask) & (b.value | b.mask) & ~v };
}

struct k2_tnum k2_tn_or(struct k2_tnum a, struct k2_tnum b)
{
	uint64_t v = a.value | b.value;

	return (struct k2_tnum){ v, (a.mask | b.mask) & ~v };
}

struct k2_tnum k2_tn_xor(struct k2_tnum a, struct k2_tnum b)
{
	uint64_t mu = a.mask | b.mask;

	return (struct k2_tnum){ (a.value ^ b.value) & ~mu, mu };
}

/* Shift-and-add over a's bits: a known 1 adds b, an unknown bit adds "0 or b". */
struct k2_tnum k2_tn_mul(struct k2_tnum a, struct k2_tnum b)
{
	struct k2_tnum acc = k2_tn_const(0);
	struct k2_tnum maybe = { 0, b.value | b.mask };

	if (k2_tn_is_const(a) && k2_tn_is_const(b))
		return k2_tn_const(a.value * b.value);
	for (unsigned i = 0; i < 64 && (a.value | a.mask) >> i; i++) {
		if ((a.value >> i) & 1)
			acc = k2_tn_add(acc, k2_tn_lsh(b, i));
		else if ((a.mask >> i) & 1)
			acc = k2_tn_add(acc, k2_tn_lsh(maybe, i));
	}
	return acc;
}

struct k2_tnum k2_tn_lsh(struct k2_tnum a, unsigned k)
{
	return (struct k2_tnum){ a.value << k, a.mask << k };
}

struct k2_tnum k2_tn_rsh(struct k2_tnum a, unsigned k)
{
	return (struct k2_tnum){ a.value >> k, a.mask >> k };
}

struct k2_tnum k2_tn_arsh(struct k2_tnum a, unsigned k)
{
	return (struct k2_tnum){ (uint64_t)((int64_t)a.value >> k),
				 (uint64_t)((int64_t)a.mask >> k) };
}

struct k2_tnum k2_tn_trunc(struct k2_tnum a, unsigned bits)
{
	uint64_t m = bits >= 64 ? ~0ULL : (1ULL << bits) - 1;

	return (struct k2_tnum){ a.value & m, a.mask & m };
}

struct k2_tnum k2_tn_join(struct k2_tnum a, struct k2_tnum b)
{
	uint64_t mu = a.mask | b.mask | (a.value ^ b.value);

	return (struct k2_tnum){ a.value & ~mu, mu };
}

bool k2_tn_meet(struct k2_tnum a, struct k2_tnum b, struct k2_tnum *out)
{
	uint64_t mu = a.mask & b.mask;

	if ((a.value ^ b.value) & ~a.mask & ~b.mask)
		return false;
	*out = (struct k2_tnum){ (a.value | b.value) & ~mu, mu };
	return true;
}

bool k2_tn_is_const(struct k2_tnum a)
{
	return a.mask == 0;
}

bool k2_tn_leq(struct k2_tnum a, struct k2_tnum b)
{
	if (a.mask & ~b.mask)
		return false;
	return ((a.value ^ b.value) & ~b.mask) == 0;
}

/* ---- bounds ---- */

static uint64_t umax_u(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}
static uint64_t umin_u(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}
static int64_t smax_s(int64_t a, int64_t b)
{
	return a > b ? a : b;
}
static int64_t smin_s(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static void bounds_full(struct k2_aval *v)
{
	v->umin = 0;
	v->umax = ~0ULL;
	v->smin = INT64_MIN;
	v->smax = INT64_MAX;
	v->u32min = 0;
	v->u32max = UINT32_MAX;
	v->s32min = INT32_MIN;
	v->s32max = INT32_MAX;
}

void k2_sc_set_unknown(struct k2_aval *v)
{
	v->type = K2_VT_SCALAR;
	v->var = k2_tn_unknown();
	v->id = 0;
	v->off = 0;
	v->range = 0;
	v->map = -1;
	v->maps = 0;
	v->frame = 0;
	v->maybe_uninit = false;
	v->maybe_null = false;
	bounds_full(v);
}

void k2_sc_set_const(struct k2_aval *v, uint64_t c)
{
	k2_sc_set_unknown(v);
	v->var = k2_tn_const(c);
	k2_sc_sync(v);
}

/* Smallest / largest signed value a tnum allows, in `bits` bits (as int64). */
static int64_t tn_smin(struct k2_tnum t, unsigned bits)
{
	uint64_t sign = 1ULL << (bits - 1), m = bits == 64 ? ~0ULL : (1ULL << bits) - 1;
	uint64_t x = (t.value | (t.mask & sign)) & m;

	return x & sign ? (int64_t)(x | ~m) : (int64_t)x;
}

static int64_t tn_smax(struct k2_tnum t, unsigned bits)
{
	uint64_t sign = 1ULL << (bits - 1), m = bits == 64 ? ~0ULL : (1ULL << bits) - 1;
	uint64_t x = (t.value | (t.mask & ~sign)) & m;

	return x & sign ? (int64_t)(x | ~m) : (int64_t)x;
}

static void sync_tnum_to_bounds(struct k2_aval *v)
{
	struct k2_tnum t32 = k2_tn_trunc(v->var, 32);

	v->umin = umax_u(v->umin, v->var.value);
	v->umax = umin_u(v->umax, v->var.value | v->var.mask);
	v->smin = smax_s(v->smin, tn_smin(v->var, 64));
	v->smax = smin_s(v->smax, tn_smax(v->var, 64));
	v->u32min = (uint32_t)umax_u(v->u32min, t32.value);
	v->u32max = (uint32_t)umin_u(v->u32max, t32.value | t32.mask);
	v->s32min = (int32_t)smax_s(v->s32min, tn_smin(t32, 32));
	v->s32max = (int32_t)smin_s(v->s32max, tn_smax(t32, 32));
}

/* Signed and unsigned views of one range agree where it does not cross the sign boundary. */
static void sync_signs(struct k2_aval *v)
{
	if ((int64_t)v->umin <= (int64_t)v->umax) {
		v->smin = smax_s(v->smin, (int64_t)v->umin);
		v->smax = smin_s(v->smax, (int64_t)v->umax);
	}
	if (v->smin >= 0 || v->smax < 0) {
		v->umin = umax_u(v->umin, (uint64_t)v->smin);
		v->umax = umin_u(v->umax, (uint64_t)v->smax);
	}
	if ((int32_t)v->u32min <= (int32_t)v->u32max) {
		v->s32min = (int32_t)smax_s(v->s32min, (int32_t)v->u32min);
		v->s32max = (int32_t)smin_s(v->s32max, (int32_t)v->u32max);
	}
	if (v->s32min >= 0 || v->s32max < 0) {
		v->u32min = (uint32_t)umax_u(v->u32min, (uint32_t)v->s32min);
		v->u32max = (uint32_t)umin_u(v->u32max, (uint32_t)v->s32max);
	}
}

/* The low halves move monotonically while the high halves stay equal. */
static void sync_64_to_32(struct k2_aval *v)
{
	if ((v->umin >> 32) == (v->umax >> 32)) {
		v->u32min = (uint32_t)umax_u(v->u32min, (uint32_t)v->umin);
		v->u32max = (uint32_t)umin_u(v->u32max, (uint32_t)v->umax);
		if ((int32_t)v->umin <= (int32_t)v->umax) {
			v->s32min = (int32_t)smax_s(v->s32min, (int32_t)v->umin);
			v->s32max = (int32_t)smin_s(v->s32max, (int32_t)v->umax);
		}
	}
	if ((v->smin >> 32) == (v->smax >> 32)) {
		v->u32min = (uint32_t)umax_u(v->u32min, (uint32_t)v->smin);
		v->u32max = (uint32_t)umin_u(v->u32max, (uint32_t)v->smax);
		if ((int32_t)v->smin <= (int32_t)v->smax) {
			v->s32min = (int32_t)smax_s(v->s32min, (int32_t)v->smin);
			v->s32max = (int32_t)smin_s(v->s32max, (int32_t)v->smax);
		}
	}
}

/* With the high half known, the 32-bit bounds bound the whole value. */
static void sync_32_to_64(struct k2_aval *v)
{
	uint64_t hi;

	if (v->var.mask >> 32)
		return;
	hi = v->var.value & ~M32;
	v->umin = umax_u(v->umin, hi | v->u32min);
	v->umax = umin_u(v->umax, hi | v->u32max);
}

static bool sync_bounds_to_tnum(struct k2_aval *v)
{
	struct k2_tnum r = k2_tn_range(v->umin, v->umax), r32 = k2_tn_range(v->u32min, v->u32max);

	r32.mask |= ~M32;
	if (!k2_tn_meet(v->var, r, &v->var))
		return false;
	return k2_tn_meet(v->var, r32, &v->var);
}

static bool bounds_empty(const struct k2_aval *v)
{
	return v->umin > v->umax || v->smin > v->smax || v->u32min > v->u32max ||
	       v->s32min > v->s32max;
}

bool k2_sc_sync(struct k2_aval *v)
{
	for (int round = 0; round < 3; round++) {
		sync_tnum_to_bounds(v);
		sync_signs(v);
		sync_64_to_32(v);
		sync_32_to_64(v);
		sync_signs(v);
		if (bounds_empty(v) || !sync_bounds_to_tnum(v))
			return false;
	}
	return !bounds_empty(v);
}

void k2_sc_trunc(struct k2_aval *v, unsigned bits)
{
	uint64_t m, lo, hi;

	if (bits >= 64)
		return;
	m = (1ULL << bits) - 1;
	if (bits == 32) {
		lo = v->u32min;
		hi = v->u32max;
	} else if ((v->umin >> bits) == (v->umax >> bits)) {
		lo = v->umin & m;
		hi = v->umax & m;
	} else {
		lo = 0;
		hi = m;
	}
	v->var = k2_tn_trunc(v->var, bits);
	bounds_full(v);
	v->umin = lo;
	v->umax = hi;
	k2_sc_sync(v);
}

void k2_sc_sext(struct k2_aval *v, unsigned bits)
{
	uint64_t sign = 1ULL << (bits - 1), high = ~((sign << 1) - 1);
	int64_t lo, hi;

	k2_sc_trunc(v, bits);
	if (!(v->var.mask & sign)) {
		if (v->var.value & sign) {
			/* Known negative: the high bits are ones, the range shifts down. */
			lo = (int64_t)(v->umin | high);
			hi = (int64_t)(v->umax | high);
			v->var.value |= high;
			bounds_full(v);
			v->smin = lo;
			v->smax = hi;
		}
		k2_sc_sync(v);
		return;
	}
	v->var.mask |= high;
	bounds_full(v);
	v->smin = -(int64_t)sign;
	v->smax = (int64_t)sign - 1;
	k2_sc_sync(v);
}

static void alu_add(struct k2_aval *d, const struct k2_aval *s)
{
	uint64_t lo = d->umin + s->umin, hi = d->umax + s->umax;
	bool olo = lo < d->umin, ohi = hi < d->umax;
	int64_t slo, shi;
	bool so = __builtin_add_overflow(d->smin, s->smin, &slo) |
		  __builtin_add_overflow(d->smax, s->smax, &shi);

	d->var = k2_tn_add(d->var, s->var);
	bounds_full(d);
	if (olo == ohi) {
		d->umin = lo;
		d->umax = hi;
	}
	if (!so) {
		d->smin = slo;
		d->smax = shi;
	}
}

static void alu_sub(struct k2_aval *d, const struct k2_aval *s)
{
	uint64_t lo = d->umin - s->umax, hi = d->umax - s->umin;
	bool ulo = d->umin < s->umax, uhi = d->umax < s->umin;
	int64_t slo, shi;
	bool so = __builtin_sub_overflow(d->smin, s->smax, &slo) |
		  __builtin_sub_overflow(d->smax, s->smin, &shi);

	d->var = k2_tn_sub(d->var, s->var);
	bounds_full(d);
	if (ulo == uhi) {
		d->umin = lo;
		d->umax = hi;
	}
	if (!so) {
		d->smin = slo;
		d->smax = shi;
	}
}

static void alu_mul(struct k2_aval *d, const struct k2_aval *s)
{
	uint64_t hi;
	int64_t c[4];
	bool so;

	bool uo = __builtin_mul_overflow(d->umax, s->umax, &hi);
	so = __builtin_mul_overflow(d->smin, s->smin, &c[0]) |
	     __builtin_mul_overflow(d->smin, s->smax, &c[1]) |
	     __builtin_mul_overflow(d->smax, s->smin, &c[2]) |
	     __builtin_mul_overflow(d->smax, s->smax, &c[3]);
	uint64_t lo = d->umin * s->umin;

	d->var = k2_tn_mul(d->var, s->var);
	bounds_full(d);
	if (!uo) {
		d->umin = lo;
		d->umax = hi;
	}
	if (!so) {
		d->smin = smin_s(smin_s(c[0], c[1]), smin_s(c[2], c[3]));
		d->smax = smax_s(smax_s(c[0], c[1]), smax_s(c[2], c[3]));
	}
}

/* Unsigned division; x / 0 = 0. */
static void alu_div(struct k2_aval *d, const struct k2_aval *s)
{
	uint64_t lo = 0, hi = d->umax;

	if (s->umin > 0) {
		lo = d->umin / s->umax;
		hi = d->umax / s->umin;
	}
	if (s->umax == 0)
		hi = 0;
	d->var = k2_tn_unknown();
	bounds_full(d);
	d->umin = lo;
	d->umax = hi;
}

/* Unsigned remainder; x % 0 = x, and never more than x. */
static void alu_mod(struct k2_aval *d, const struct k2_aval *s)
{
	uint64_t hi = d->umax;

	if (s->umax == 0)
		return;
	if (s->umin > 0) {
		if (d->umax < s->umin)
			return; /* the dividend is always smaller: unchanged */
		hi = umin_u(hi, s->umax - 1);
	}
	d->var = k2_tn_unknown();
	bounds_full(d);
	d->umax = hi;
}

static void alu_and(struct k2_aval *d, const struct k2_aval *s)
{
	uint64_t hi = umin_u(d->umax, s->umax);
	bool nonneg = d->smin >= 0 || s->smin >= 0;

	d->var = k2_tn_and(d->var, s->var);
	bounds_full(d);
	d->umax = hi;
	if (nonneg)
		d->smin = 0;
}

static void alu_or(struct k2_aval *d, const struct k2_aval *s)
{
	uint64_t lo = umax_u(d->umin, s->umin);

	d->var = k2_tn_or(d->var, s->var);
	bounds_full(d);
	d->umin = lo;
}

static void alu_xor(struct k2_aval *d, const struct k2_aval *s)
{
	d->var = k2_tn_xor(d->var, s->var);
	bounds_full(d);
}

/* The shift amounts s allows, if all are below the width (masking changes nothing then). */
static bool shift_range(const struct k2_aval *s, unsigned width, unsigned *lo, unsigned *hi)
{
	if (k2_tn_is_const(s->var)) {
		*lo = *hi = (unsigned)(s->var.value & (width - 1));
		return true;
	}
	if (s->umax >= width)
		return false;
	*lo = (unsigned)s->umin;
	*hi = (unsigned)s->umax;
	return true;
}

/* Known bits of a shifted by any amount in [lo, hi]. */
static struct k2_tnum tn_shift_union(struct k2_tnum a, unsigned lo, unsigned hi, uint8_t op)
{
	struct k2_tnum r = k2_tn_unknown();

	if (hi - lo > 16)
		return r;
	for (unsigned k = lo; k <= hi; k++) {
		struct k2_tnum t = op == BPF_LSH   ? k2_tn_lsh(a, k)
				   : op == BPF_RSH ? k2_tn_rsh(a, k)
						   : k2_tn_arsh(a, k);

		r = k == lo ? t : k2_tn_join(r, t);
	}
	return r;
}

static void alu_lsh(struct k2_aval *d, const struct k2_aval *s, unsigned width)
{
	unsigned lo, hi;
	uint64_t umin = d->umin, umax = d->umax;

	if (!shift_range(s, width, &lo, &hi)) {
		k2_sc_set_unknown(d);
		return;
	}
	d->var = tn_shift_union(d->var, lo, hi, BPF_LSH);
	bounds_full(d);
	if (hi == 0 || (umax >> (64 - hi)) == 0) {
		d->umin = umin << lo;
		d->umax = umax << hi;
	}
}

static void alu_rsh(struct k2_aval *d, const struct k2_aval *s, unsigned width)
{
	unsigned lo, hi;
	uint64_t umin = d->umin, umax = d->umax;

	if (!shift_range(s, width, &lo, &hi)) {
		d->var = k2_tn_unknown();
		bounds_full(d);
		d->umax = umax; /* a logical shift never grows the value */
		return;
	}
	d->var = tn_shift_union(d->var, lo, hi, BPF_RSH);
	bounds_full(d);
	d->umin = umin >> hi;
	d->umax = umax >> lo;
}

static void alu_arsh(struct k2_aval *d, const struct k2_aval *s, unsigned width)
{
	unsigned lo, hi;
	int64_t smin = d->smin, smax = d->smax;

	if (!shift_range(s, width, &lo, &hi)) {
		/* Any shift moves towards 0 (or -1): the range only shrinks towards it. */
		d->var = k2_tn_unknown();
		bounds_full(d);
		d->smin = smin < 0 ? smin : 0;
		d->smax = smax < 0 ? -1 : smax;
		return;
	}
	d->var = tn_shift_union(d->var, lo, hi, BPF_ARSH);
	bounds_full(d);
	/* Monotone in the value, and towards 0/-1 in the amount: the corners bound it. */
	d->smin = smin_s(smin >> lo, smin >> hi);
	d->smax = smax_s(smax >> lo, smax >> hi);
}

static void alu64(struct k2_aval *d, const struct k2_aval *s, uint8_t op, unsigned width, bool sgn)
{
	struct k2_aval zero;

	if (sgn && (op == BPF_DIV || op == BPF_MOD)) {
		k2_sc_set_unknown(d);
		return;
	}
	switch (op) {
	case BPF_ADD: alu_add(d, s); break;
	case BPF_SUB: alu_sub(d, s); break;
	case BPF_MUL: alu_mul(d, s); break;
	case BPF_DIV: alu_div(d, s); break;
	case BPF_MOD: alu_mod(d, s); break;
	case BPF_AND: alu_and(d, s); break;
	case BPF_OR: alu_or(d, s); break;
	case BPF_XOR: alu_xor(d, s); break;
	case BPF_LSH: alu_lsh(d, s, width); break;
	case BPF_RSH: alu_rsh(d, s, width); break;
	case BPF_ARSH: alu_arsh(d, s, width); break;
	case BPF_MOV: *d = *s; break;
	case BPF_NEG:
		k2_sc_set_const(&zero, 0);
		alu_sub(&zero, d);
		*d = zero;
		break;
	default: k2_sc_set_unknown(d); break;
	}
	d->type = K2_VT_SCALAR;
	d->id = 0;
	if (!k2_sc_sync(d))
		k2_sc_set_unknown(d);
}

void k2_sc_alu(struct k2_aval *dst, const struct k2_aval *src, uint8_t aluop, unsigned width,
	       bool sgn)
{
	struct k2_aval s = *src;

	if (width == 64) {
		alu64(dst, &s, aluop, 64, sgn);
		return;
	}
	/* 32-bit: the 64-bit operation on the zero-extended halves, truncated; arsh needs the
	 * sign of the 32-bit value, so it works on the sign-extended half. */
	k2_sc_trunc(&s, 32);
	if (aluop == BPF_ARSH)
		k2_sc_sext(dst, 32);
	else
		k2_sc_trunc(dst, 32);
	if (sgn && (aluop == BPF_DIV || aluop == BPF_MOD))
		k2_sc_set_unknown(dst);
	else
		alu64(dst, &s, aluop, 32, false);
	k2_sc_trunc(dst, 32);
}

static uint64_t swap_bytes(uint64_t x, unsigned bits)
{
	switch (bits) {
	case 16: return __builtin_bswap16((uint16_t)x);
	case 32: return __builtin_bswap32((uint32_t)x);
	default: return __builtin_bswap64(x);
	}
}

void k2_sc_end(struct k2_aval *v, enum k2_op op)
{
	const struct k2_opinfo *oi = k2_op_info(op);
	unsigned bits = oi->width;
	bool swap = op >= K2_OP_BE16; /* be* and bswap* reverse bytes on this little-endian ISA */

	v->type = K2_VT_SCALAR;
	v->id = 0;
	k2_sc_trunc(v, bits);
	if (!swap)
		return;
	v->var.value = swap_bytes(v->var.value, bits);
	v->var.mask = swap_bytes(v->var.mask, bits);
	bounds_full(v);
	if (!k2_sc_sync(v))
		k2_sc_set_unknown(v);
}

void k2_sc_join(struct k2_aval *a, const struct k2_aval *b, bool widen)
{
	struct k2_aval o = *a;

	a->var = k2_tn_join(a->var, b->var);
	a->umin = umin_u(o.umin, b->umin);
	a->umax = umax_u(o.umax, b->umax);
	a->smin = smin_s(o.smin, b->smin);
	a->smax = smax_s(o.smax, b->smax);
	a->u32min = (uint32_t)umin_u(o.u32min, b->u32min);
	a->u32max = (uint32_t)umax_u(o.u32max, b->u32max);
	a->s32min = (int32_t)smin_s(o.s32min, b->s32min);
	a->s32max = (int32_t)smax_s(o.s32max, b->s32max);
	if (widen && !k2_tn_leq(b->var, o.var)) {
		/* Known bits from the highest one that changed upwards are given up, or the
		 * known bits would hold the bounds back one bit per round. */
		uint64_t diff = (o.var.value ^ b->var.value) | (b->var.mask & ~o.var.mask);
		int hb = 63 - __builtin_clzll(diff);

		a->var.mask |= ~((1ULL << hb) - 1);
		a->var.value &= ~a->var.mask;
	}
	if (widen) {
		/* A bound that moved jumps to its limit; branch refinement brings it back. */
		if (a->umin < o.umin)
			a->umin = 0;
		if (a->umax > o.umax)
			a->umax = ~0ULL;
		if (a->smin < o.smin)
			a->smin = INT64_MIN;
		if (a->smax > o.smax)
			a->smax = INT64_MAX;
		if (a->u32min < o.u32min)
			a->u32min = 0;
		if (a->u32max > o.u32max)
			a->u32max = UINT32_MAX;
		if (a->s32min < o.s32min)
			a->s32min = INT32_MIN;
		if (a->s32max > o.s32max)
			a->s32max = INT32_MAX;
	}
	if (!k2_sc_sync(a)) {
		a->var = k2_tn_unknown();
		bounds_full(a);
	}
}

bool k2_sc_leq(const struct k2_aval *a, const struct k2_aval *b)
{
	return k2_tn_leq(a->var, b->var) && a->umin >= b->umin && a->umax <= b->umax &&
	       a->smin >= b->smin && a->smax <= b->smax && a->u32min >= b->u32min &&
	       a->u32max <= b->u32max && a->s32min >= b->s32min && a->s32max <= b->s32max;
}

/* ---- branch refinement, on a 64-bit or a 32-bit view of two scalars ---- */

struct view {
	uint64_t umin, umax;
	int64_t smin, smax;
	struct k2_tnum t;
};

static struct view view_of(const struct k2_aval *v, bool is32)
{
	if (!is32)
		return (struct view){ v->umin, v->umax, v->smin, v->smax, v->var };
	return (struct view){ v->u32min, v->u32max, v->s32min, v->s32max, k2_tn_trunc(v->var, 32) };
}

static bool view_store(struct k2_aval *v, const struct view *w, bool is32)
{
	if (w->umin > w->umax || w->smin > w->smax)
		return false;
	if (!is32) {
		v->umin = w->umin;
		v->umax = w->umax;
		v->smin = w->smin;
		v->smax = w->smax;
		v->var = w->t;
	} else {
		v->u32min = (uint32_t)w->umin;
		v->u32max = (uint32_t)w->umax;
		v->s32min = (int32_t)w->smin;
		v->s32max = (int32_t)w->smax;
		v->var.value = (v->var.value & ~M32) | (w->t.value & M32);
		v->var.mask = (v->var.mask & ~M32) | (w->t.mask & M32);
	}
	return k2_sc_sync(v);
}

static bool view_const(const struct view *w, uint64_t *c)
{
	*c = w->t.value;
	return k2_tn_is_const(w->t);
}

static bool refine_eq(struct view *a, struct view *b)
{
	struct k2_tnum t;

	if (!k2_tn_meet(a->t, b->t, &t))
		return false;
	a->t = b->t = t;
	a->umin = b->umin = umax_u(a->umin, b->umin);
	a->umax = b->umax = umin_u(a->umax, b->umax);
	a->smin = b->smin = smax_s(a->smin, b->smin);
	a->smax = b->smax = smin_s(a->smax, b->smax);
	return a->umin <= a->umax && a->smin <= a->smax;
}

/* a != c for a constant c: only an end of a's range can move. */
static bool refine_ne_const(struct view *a, uint64_t c, bool is32)
{
	int64_t sc = is32 ? (int32_t)c : (int64_t)c;
	uint64_t k;

	if (view_const(a, &k) && k == c)
		return false;
	if (a->umin == c)
		a->umin++;
	else if (a->umax == c)
		a->umax--;
	if (a->smin == sc)
		a->smin++;
	else if (a->smax == sc)
		a->smax--;
	return a->umin <= a->umax && a->smin <= a->smax;
}

static bool refine_ne(struct view *a, struct view *b, bool is32)
{
	uint64_t c;

	if (view_const(b, &c) && !refine_ne_const(a, c, is32))
		return false;
	if (view_const(a, &c) && !refine_ne_const(b, c, is32))
		return false;
	return true;
}

/* a < b (strict) or a <= b, unsigned. */
static bool refine_ult(struct view *a, struct view *b, bool strict)
{
	uint64_t d = strict;

	if (b->umax < d || a->umin > UINT64_MAX - d)
		return false;
	a->umax = umin_u(a->umax, b->umax - d);
	b->umin = umax_u(b->umin, a->umin + d);
	return a->umin <= a->umax && b->umin <= b->umax;
}

static bool refine_slt(struct view *a, struct view *b, bool strict)
{
	int64_t d = strict;

	if (b->smax < INT64_MIN + d || a->smin > INT64_MAX - d)
		return false;
	a->smax = smin_s(a->smax, b->smax - d);
	b->smin = smax_s(b->smin, a->smin + d);
	return a->smin <= a->smax && b->smin <= b->smax;
}

/* a & b != 0 (set) or == 0, for a constant b. */
static bool refine_set(struct view *a, struct view *b, bool set)
{
	uint64_t c;

	if (!view_const(b, &c))
		return true;
	if (set) {
		if (((a->t.value | a->t.mask) & c) == 0)
			return false;
		if ((a->t.value & c) == 0 && __builtin_popcountll(c) == 1)
			a->t = (struct k2_tnum){ a->t.value | c, a->t.mask & ~c };
		return true;
	}
	if (a->t.value & c)
		return false;
	a->t.mask &= ~c;
	return true;
}

static uint8_t negate_jop(uint8_t op)
{
	switch (op) {
	case BPF_JEQ: return BPF_JNE;
	case BPF_JNE: return BPF_JEQ;
	case BPF_JGT: return BPF_JLE;
	case BPF_JLE: return BPF_JGT;
	case BPF_JGE: return BPF_JLT;
	case BPF_JLT: return BPF_JGE;
	case BPF_JSGT: return BPF_JSLE;
	case BPF_JSLE: return BPF_JSGT;
	case BPF_JSGE: return BPF_JSLT;
	case BPF_JSLT: return BPF_JSGE;
	default: return op; /* JSET: handled by the caller */
	}
}

static bool refine_view(struct view *a, struct view *b, uint8_t op, bool nset, bool is32)
{
	switch (op) {
	case BPF_JEQ: return refine_eq(a, b);
	case BPF_JNE: return refine_ne(a, b, is32);
	case BPF_JLT: return refine_ult(a, b, true);
	case BPF_JLE: return refine_ult(a, b, false);
	case BPF_JGT: return refine_ult(b, a, true);
	case BPF_JGE: return refine_ult(b, a, false);
	case BPF_JSLT: return refine_slt(a, b, true);
	case BPF_JSLE: return refine_slt(a, b, false);
	case BPF_JSGT: return refine_slt(b, a, true);
	case BPF_JSGE: return refine_slt(b, a, false);
	case BPF_JSET: return refine_set(a, b, !nset) && refine_set(b, a, !nset);
	default: return true;
	}
}

bool k2_sc_refine(struct k2_aval *a, struct k2_aval *b, uint8_t jop, bool is32, bool negate)
{
	struct view va = view_of(a, is32), vb = view_of(b, is32);
	bool nset = negate && jop == BPF_JSET;

	if (negate)
		jop = negate_jop(jop);
	if (!refine_view(&va, &vb, jop, nset, is32))
		return false;
	return view_store(a, &va, is32) && view_store(b, &vb, is32);
}
