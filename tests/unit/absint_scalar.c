/* tests/unit/absint_scalar.c: the scalar domain is sound against a reference ALU. */
#include <criterion/criterion.h>

#include "bpf/absint_int.h"
#include "bpf/k2_rand.h"

#define K      4 /* concrete values per abstract value */
#define ROUNDS 4000

static uint64_t pick(struct k2_rng *r)
{
	static const uint64_t edge[] = {
		0,
		1,
		2,
		7,
		8,
		31,
		32,
		63,
		64,
		255,
		256,
		0x7fffffff,
		0x80000000,
		0xffffffff,
		0x100000000ULL,
		0x7fffffffffffffffULL,
		0x8000000000000000ULL,
		~0ULL,
		~0ULL - 1,
		(uint64_t)-32,
		0xffff,
		0x10000,
	};
	uint64_t x = k2_rng_next(r);

	switch (x % 6) {
	case 0: return edge[(x >> 8) % (sizeof(edge) / sizeof(edge[0]))];
	case 1: return (x >> 8) % 64;
	case 2: return (uint32_t)(x >> 3);
	case 3: return (uint64_t) - (int64_t)((x >> 8) % 300);
	case 4: return (x >> 8) & 0xff00;
	default: return k2_rng_next(r);
	}
}

/* An abstract value covering the concrete values xs[0, k), made by joining constants. */
static void abstract(struct k2_aval *a, const uint64_t *xs, int k)
{
	k2_sc_set_const(a, xs[0]);
	for (int i = 1; i < k; i++) {
		struct k2_aval c;

		k2_sc_set_const(&c, xs[i]);
		k2_sc_join(a, &c, false);
	}
}

static bool contains(const struct k2_aval *a, uint64_t x)
{
	return a->type == K2_VT_SCALAR && (x & ~a->var.mask) == a->var.value && x >= a->umin &&
	       x <= a->umax && (int64_t)x >= a->smin && (int64_t)x <= a->smax &&
	       (uint32_t)x >= a->u32min && (uint32_t)x <= a->u32max && (int32_t)x >= a->s32min &&
	       (int32_t)x <= a->s32max;
}

/* The ISA's ALU, as the reference. */
static uint64_t ref_alu(uint8_t op, uint64_t d, uint64_t s, unsigned w, bool sgn)
{
	uint64_t m = w == 64 ? ~0ULL : 0xffffffffULL, r;

	d &= m;
	s &= m;
	switch (op) {
	case BPF_ADD: r = d + s; break;
	case BPF_SUB: r = d - s; break;
	case BPF_MUL: r = d * s; break;
	case BPF_AND: r = d & s; break;
	case BPF_OR: r = d | s; break;
	case BPF_XOR: r = d ^ s; break;
	case BPF_LSH: r = d << (s & (w - 1)); break;
	case BPF_RSH: r = d >> (s & (w - 1)); break;
	case BPF_NEG: r = -d; break;
	case BPF_MOV: r = s; break;
	case BPF_ARSH:
		r = w == 64 ? (uint64_t)((int64_t)d >> (s & 63))
			    : (uint64_t)(uint32_t)((int32_t)d >> (s & 31));
		break;
	case BPF_DIV:
		if (!sgn) {
			r = s ? d / s : 0;
		} else if (w == 64) {
			r = !s ? 0
			    : ((int64_t)d == INT64_MIN && (int64_t)s == -1)
				    ? d
				    : (uint64_t)((int64_t)d / (int64_t)s);
		} else {
			r = !s ? 0
			    : ((int32_t)d == INT32_MIN && (int32_t)s == -1)
				    ? d
				    : (uint64_t)(uint32_t)((int32_t)d / (int32_t)s);
		}
		break;
	default: /* BPF_MOD */
		if (!sgn) {
			r = s ? d % s : d;
		} else if (w == 64) {
			r = !s ? d : (int64_t)s == -1 ? 0 : (uint64_t)((int64_t)d % (int64_t)s);
		} else {
			r = !s		       ? d
			    : (int32_t)s == -1 ? 0
					       : (uint64_t)(uint32_t)((int32_t)d % (int32_t)s);
		}
		break;
	}
	return r & m;
}

static bool ref_cond(uint8_t op, uint64_t a, uint64_t b, bool is32)
{
	int64_t sa = is32 ? (int32_t)a : (int64_t)a, sb = is32 ? (int32_t)b : (int64_t)b;

	if (is32) {
		a = (uint32_t)a;
		b = (uint32_t)b;
	}
	switch (op) {
	case BPF_JEQ: return a == b;
	case BPF_JNE: return a != b;
	case BPF_JGT: return a > b;
	case BPF_JGE: return a >= b;
	case BPF_JLT: return a < b;
	case BPF_JLE: return a <= b;
	case BPF_JSGT: return sa > sb;
	case BPF_JSGE: return sa >= sb;
	case BPF_JSLT: return sa < sb;
	case BPF_JSLE: return sa <= sb;
	default: return (a & b) != 0;
	}
}

static void values(struct k2_rng *r, uint64_t *xs, int k)
{
	uint64_t base = pick(r);

	for (int i = 0; i < k; i++)
		xs[i] = k2_rng_next(r) % 3 ? base + (k2_rng_next(r) % 17) : pick(r);
}

Test(absint_scalar, alu_is_sound)
{
	static const uint8_t ops[] = { BPF_ADD,	 BPF_SUB, BPF_MUL, BPF_DIV, BPF_MOD,
				       BPF_AND,	 BPF_OR,  BPF_XOR, BPF_LSH, BPF_RSH,
				       BPF_ARSH, BPF_NEG, BPF_MOV };
	struct k2_rng r;

	k2_rng_seed(&r, 1);
	for (int round = 0; round < ROUNDS; round++) {
		uint64_t xs[K], ys[K];
		struct k2_aval a, b, res;
		uint8_t op = ops[round % (sizeof(ops) / sizeof(ops[0]))];
		unsigned w = (round / 16) % 2 ? 32 : 64;
		bool sgn = (op == BPF_DIV || op == BPF_MOD) && (round / 32) % 2;
		int k = 1 + (int)(k2_rng_next(&r) % K);

		values(&r, xs, k);
		values(&r, ys, k);
		if (op == BPF_LSH || op == BPF_RSH || op == BPF_ARSH)
			for (int i = 0; i < k; i++)
				ys[i] = round % 3 ? ys[i] % w : ys[i];
		abstract(&a, xs, k);
		abstract(&b, ys, k);
		res = a;
		k2_sc_alu(&res, &b, op, w, sgn);
		for (int i = 0; i < k; i++)
			for (int j = 0; j < k; j++) {
				uint64_t want = ref_alu(op, xs[i], ys[j], w, sgn);

				cr_assert(contains(&res, want),
					  "op %#x w%u sgn %d: %#llx op %#llx = %#llx not in "
					  "var_off=(%#llx;%#llx) u[%llu,%llu] s[%lld,%lld]",
					  op, w, sgn, (unsigned long long)xs[i],
					  (unsigned long long)ys[j], (unsigned long long)want,
					  (unsigned long long)res.var.value,
					  (unsigned long long)res.var.mask,
					  (unsigned long long)res.umin,
					  (unsigned long long)res.umax, (long long)res.smin,
					  (long long)res.smax);
			}
	}
}

Test(absint_scalar, extensions_and_swaps_are_sound)
{
	static const enum k2_op ends[] = { K2_OP_LE16,	  K2_OP_LE32,	 K2_OP_LE64,
					   K2_OP_BE16,	  K2_OP_BE32,	 K2_OP_BE64,
					   K2_OP_BSWAP16, K2_OP_BSWAP32, K2_OP_BSWAP64 };
	struct k2_rng r;

	k2_rng_seed(&r, 2);
	for (int round = 0; round < ROUNDS; round++) {
		uint64_t xs[K];
		struct k2_aval a, res;
		int k = 1 + (int)(k2_rng_next(&r) % K);
		unsigned bits = (unsigned[]){ 8, 16, 32 }[round % 3];
		enum k2_op op = ends[round % 9];
		unsigned w = k2_op_info(op)->width;

		values(&r, xs, k);
		abstract(&a, xs, k);
		res = a;
		k2_sc_sext(&res, bits);
		for (int i = 0; i < k; i++) {
			uint64_t m = (1ULL << bits) - 1, v = xs[i] & m;
			uint64_t want = v & (1ULL << (bits - 1)) ? v | ~m : v;

			cr_assert(contains(&res, want), "sext%u of %#llx", bits,
				  (unsigned long long)xs[i]);
		}
		res = a;
		k2_sc_end(&res, op);
		for (int i = 0; i < k; i++) {
			uint64_t v = w == 64 ? xs[i] : xs[i] & ((1ULL << w) - 1), want = v;

			if (op >= K2_OP_BE16)
				want = w == 16	 ? __builtin_bswap16((uint16_t)v)
				       : w == 32 ? __builtin_bswap32((uint32_t)v)
						 : __builtin_bswap64(v);
			cr_assert(contains(&res, want), "%s of %#llx", k2_op_info(op)->name,
				  (unsigned long long)xs[i]);
		}
	}
}

Test(absint_scalar, refinement_keeps_every_value_that_takes_the_branch)
{
	static const uint8_t ops[] = { BPF_JEQ,	 BPF_JNE,  BPF_JGT,  BPF_JGE,  BPF_JLT, BPF_JLE,
				       BPF_JSGT, BPF_JSGE, BPF_JSLT, BPF_JSLE, BPF_JSET };
	struct k2_rng r;

	k2_rng_seed(&r, 3);
	for (int round = 0; round < 2 * ROUNDS; round++) {
		uint64_t xs[K], ys[K];
		struct k2_aval a, b;
		uint8_t op = ops[round % (sizeof(ops) / sizeof(ops[0]))];
		bool is32 = (round / 11) % 2, taken = (round / 22) % 2;
		int k = 1 + (int)(k2_rng_next(&r) % K), kb = round % 5 ? k : 1;

		values(&r, xs, k);
		values(&r, ys, kb);
		if (round % 7 == 0)
			ys[0] = xs[0];
		abstract(&a, xs, k);
		abstract(&b, ys, kb);
		for (int i = 0; i < k; i++)
			for (int j = 0; j < kb; j++) {
				struct k2_aval ra = a, rb = b;

				if (ref_cond(op, xs[i], ys[j], is32) != taken)
					continue;
				cr_assert(k2_sc_refine(&ra, &rb, op, is32, !taken),
					  "op %#x%s %s: %#llx vs %#llx wrongly infeasible", op,
					  is32 ? "(32)" : "", taken ? "taken" : "not taken",
					  (unsigned long long)xs[i], (unsigned long long)ys[j]);
				cr_assert(contains(&ra, xs[i]) && contains(&rb, ys[j]),
					  "op %#x%s %s: %#llx vs %#llx refined away", op,
					  is32 ? "(32)" : "", taken ? "taken" : "not taken",
					  (unsigned long long)xs[i], (unsigned long long)ys[j]);
			}
	}
}

Test(absint_scalar, refinement_tightens_ranges)
{
	struct k2_aval a, b;

	k2_sc_set_unknown(&a);
	k2_sc_trunc(&a, 8);
	k2_sc_set_const(&b, 10);
	cr_assert(k2_sc_refine(&a, &b, BPF_JLT, false, false));
	cr_expect_eq(a.umax, 9);
	k2_sc_set_unknown(&a);
	cr_assert(k2_sc_refine(&a, &b, BPF_JGT, true, true), "w > 10 not taken: w <= 10");
	cr_expect_eq(a.u32max, 10);
	cr_expect_gt(a.umax, 0xffffffffULL, "the upper half is still unknown");
	k2_sc_set_const(&a, 5);
	k2_sc_set_const(&b, 5);
	cr_expect_not(k2_sc_refine(&a, &b, BPF_JNE, false, false), "5 != 5 is never taken");
	k2_sc_set_unknown(&a);
	k2_sc_set_const(&b, 4);
	cr_assert(k2_sc_refine(&a, &b, BPF_JSET, false, true));
	cr_expect_eq(a.var.mask & 4, 0, "bit 2 known clear");
	cr_expect_eq(a.var.value & 4, 0);
	k2_sc_set_unknown(&a);
	k2_sc_set_const(&b, -5);
	cr_assert(k2_sc_refine(&a, &b, BPF_JSGT, false, false));
	cr_expect_eq(a.smin, -4);
}

Test(absint_scalar, widening_jumps_to_the_limits)
{
	struct k2_aval a, b;

	k2_sc_set_const(&a, 3);
	k2_sc_set_const(&b, 4);
	k2_sc_join(&a, &b, true);
	/* Lower bounds that did not move stay; the upper ones jump (as far as the unmoved
	 * 32-bit lower bounds allow). */
	cr_expect_eq(a.umin, 3);
	cr_expect_eq(a.smin, 3);
	cr_expect_gt(a.umax, (1ULL << 62));
	cr_expect_gt(a.smax, (1LL << 62));
	cr_expect_eq(a.u32max, INT32_MAX);
}
