/* smt/term.c: z3 terms with constant folding and structural short-cuts, kept in arenas. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smt/smt_int.h"

static void arena_push(struct k2_smt *s, Z3_ast a)
{
	struct k2_arena *ar = s->ar;

	if (ar->n == ar->cap) {
		uint32_t c = ar->cap ? ar->cap * 2 : 1024;
		Z3_ast *v = realloc(ar->v, c * sizeof(*v));

		if (!v) {
			s->oom = true;
			return; /* the term stays referenced: a leak, never a use after free */
		}
		ar->v = v;
		ar->cap = c;
	}
	ar->v[ar->n++] = a;
}

Z3_ast k2s_keep(struct k2_smt *s, Z3_ast a)
{
	if (!a) {
		s->oom = true;
		return s->fls;
	}
	Z3_inc_ref(s->c, a);
	arena_push(s, a);
	return a;
}

void k2s_arena_release(struct k2_smt *s, struct k2_arena *a, uint32_t to)
{
	while (a->n > to)
		Z3_dec_ref(s->c, a->v[--a->n]);
}

Z3_sort k2s_sort(struct k2_smt *s, unsigned w)
{
	if (!w)
		return s->boolsort;
	if (w > K2S_MAXW)
		w = K2S_MAXW; /* callers keep widths far below; this only guards the array */
	if (!s->bvsort[w]) {
		struct k2_arena *old = s->ar;

		s->ar = &s->sess;
		s->bvsort[w] = (Z3_sort)k2s_keep(s, Z3_sort_to_ast(s->c, Z3_mk_bv_sort(s->c, w)));
		s->ar = old;
	}
	return s->bvsort[w];
}

static uint64_t mask_of(unsigned w)
{
	return w >= 64 ? ~0ull : (1ull << w) - 1;
}

Z3_ast t_num(struct k2_smt *s, unsigned w, uint64_t v)
{
	if (w <= 64)
		return k2s_keep(s, Z3_mk_unsigned_int64(s->c, v & mask_of(w), k2s_sort(s, w)));
	/* wider: zero-extended */
	return t_zext(s, t_num(s, 64, v), w);
}

Z3_ast t_fresh(struct k2_smt *s, const char *name, unsigned w)
{
	return k2s_keep(s, Z3_mk_fresh_const(s->c, name, k2s_sort(s, w)));
}

bool t_isnum(struct k2_smt *s, Z3_ast a, uint64_t *v)
{
	if (Z3_get_ast_kind(s->c, a) != Z3_NUMERAL_AST)
		return false;
	if (Z3_get_sort_kind(s->c, Z3_get_sort(s->c, a)) != Z3_BV_SORT)
		return false;
	if (Z3_get_bv_sort_size(s->c, Z3_get_sort(s->c, a)) > 64)
		return false;
	return Z3_get_numeral_uint64(s->c, a, (uint64_t *)v);
}

int t_bool(struct k2_smt *s, Z3_ast a)
{
	if (a == s->tru)
		return 1;
	if (a == s->fls)
		return 0;
	switch (Z3_get_bool_value(s->c, a)) {
	case Z3_L_TRUE: return 1;
	case Z3_L_FALSE: return 0;
	default: return -1;
	}
}

unsigned t_w(struct k2_smt *s, Z3_ast a)
{
	Z3_sort so = Z3_get_sort(s->c, a);

	if (Z3_get_sort_kind(s->c, so) != Z3_BV_SORT)
		return 0;
	return Z3_get_bv_sort_size(s->c, so);
}

/* The declaration kind of an application, or Z3_OP_UNINTERPRETED for anything else. */
static Z3_decl_kind kind_of(struct k2_smt *s, Z3_ast a)
{
	if (Z3_get_ast_kind(s->c, a) != Z3_APP_AST)
		return Z3_OP_UNINTERPRETED;
	return Z3_get_decl_kind(s->c, Z3_get_app_decl(s->c, Z3_to_app(s->c, a)));
}

static Z3_ast arg_of(struct k2_smt *s, Z3_ast a, unsigned i)
{
	return Z3_get_app_arg(s->c, Z3_to_app(s->c, a), i);
}

static unsigned nargs_of(struct k2_smt *s, Z3_ast a)
{
	return Z3_get_app_num_args(s->c, Z3_to_app(s->c, a));
}

static int param_of(struct k2_smt *s, Z3_ast a, unsigned i)
{
	return Z3_get_decl_int_parameter(s->c, Z3_get_app_decl(s->c, Z3_to_app(s->c, a)), i);
}

static int64_t sx64(uint64_t v, unsigned w)
{
	if (w >= 64)
		return (int64_t)v;
	return (int64_t)(v << (64 - w)) >> (64 - w);
}

/* Two numerals of at most 64 bits, and their width. */
static bool both_num(struct k2_smt *s, Z3_ast a, Z3_ast b, uint64_t *x, uint64_t *y, unsigned *w)
{
	if (!t_isnum(s, a, x) || !t_isnum(s, b, y))
		return false;
	*w = t_w(s, a);
	return true;
}

static bool is_zero(struct k2_smt *s, Z3_ast a)
{
	uint64_t v;

	return t_isnum(s, a, &v) && v == 0;
}

static bool is_ones(struct k2_smt *s, Z3_ast a)
{
	uint64_t v;

	return t_isnum(s, a, &v) && v == mask_of(t_w(s, a));
}

Z3_ast t_add(struct k2_smt *s, Z3_ast a, Z3_ast b)
{
	uint64_t x, y;
	unsigned w;

	if (both_num(s, a, b, &x, &y, &w))
		return t_num(s, w, x + y);
	if (is_zero(s, b))
		return a;
	if (is_zero(s, a))
		return b;
	/* (x + c1) + c2 = x + (c1 + c2): keeps base + constant shapes flat */
	if (t_isnum(s, b, &y) && kind_of(s, a) == Z3_OP_BADD && nargs_of(s, a) == 2 &&
	    t_isnum(s, arg_of(s, a, 1), &x))
		return t_add(s, arg_of(s, a, 0), t_num(s, t_w(s, a), x + y));
	return k2s_keep(s, Z3_mk_bvadd(s->c, a, b));
}

Z3_ast t_sub(struct k2_smt *s, Z3_ast a, Z3_ast b)
{
	uint64_t x, y;
	unsigned w;

	if (both_num(s, a, b, &x, &y, &w))
		return t_num(s, w, x - y);
	if (a == b)
		return t_num(s, t_w(s, a), 0);
	if (t_isnum(s, b, &y))
		return t_add(s, a, t_num(s, t_w(s, a), -y));
	return k2s_keep(s, Z3_mk_bvsub(s->c, a, b));
}

Z3_ast t_mul(struct k2_smt *s, Z3_ast a, Z3_ast b)
{
	uint64_t x, y;
	unsigned w;

	if (both_num(s, a, b, &x, &y, &w))
		return t_num(s, w, x * y);
	if (is_zero(s, a) || is_zero(s, b))
		return t_num(s, t_w(s, a), 0);
	if (t_isnum(s, b, &y) && y == 1)
		return a;
	if (t_isnum(s, a, &x) && x == 1)
		return b;
	return k2s_keep(s, Z3_mk_bvmul(s->c, a, b));
}

Z3_ast t_and(struct k2_smt *s, Z3_ast a, Z3_ast b)
{
	uint64_t x, y;
	unsigned w;

	if (both_num(s, a, b, &x, &y, &w))
		return t_num(s, w, x & y);
	if (is_zero(s, a) || is_ones(s, b))
		return a;
	if (is_zero(s, b) || is_ones(s, a) || a == b)
		return b;
	/* x & (2^k - 1): the low k bits, zero-extended */
	if (t_isnum(s, b, &y) && y && !(y & (y + 1))) {
		unsigned k = 64 - (unsigned)__builtin_clzll(y);

		w = t_w(s, a);
		if (k < w)
			return t_zext(s, t_ext(s, a, k - 1, 0), w);
	}
	return k2s_keep(s, Z3_mk_bvand(s->c, a, b));
}

Z3_ast t_or(struct k2_smt *s, Z3_ast a, Z3_ast b)
{
	uint64_t x, y;
	unsigned w;

	if (both_num(s, a, b, &x, &y, &w))
		return t_num(s, w, x | y);
	if (is_zero(s, a) || is_ones(s, b) || a == b)
		return b;
	if (is_zero(s, b) || is_ones(s, a))
		return a;
	return k2s_keep(s, Z3_mk_bvor(s->c, a, b));
}

Z3_ast t_xor(struct k2_smt *s, Z3_ast a, Z3_ast b)
{
	uint64_t x, y;
	unsigned w;

	if (both_num(s, a, b, &x, &y, &w))
		return t_num(s, w, x ^ y);
	if (is_zero(s, a))
		return b;
	if (is_zero(s, b))
		return a;
	if (a == b)
		return t_num(s, t_w(s, a), 0);
	return k2s_keep(s, Z3_mk_bvxor(s->c, a, b));
}

/* Shifts take an amount already reduced below the width (the BPF masking is the caller's). */
Z3_ast t_shl(struct k2_smt *s, Z3_ast a, Z3_ast b)
{
	uint64_t x, y;
	unsigned w;

	if (both_num(s, a, b, &x, &y, &w))
		return t_num(s, w, y >= w ? 0 : x << y);
	if (is_zero(s, b) || is_zero(s, a))
		return a;
	w = t_w(s, a);
	if (t_isnum(s, b, &y) && y < w)
		return t_cat(s, t_ext(s, a, w - 1 - (unsigned)y, 0), t_num(s, (unsigned)y, 0));
	return k2s_keep(s, Z3_mk_bvshl(s->c, a, b));
}

Z3_ast t_lshr(struct k2_smt *s, Z3_ast a, Z3_ast b)
{
	uint64_t x, y;
	unsigned w;

	if (both_num(s, a, b, &x, &y, &w))
		return t_num(s, w, y >= w ? 0 : (x & mask_of(w)) >> y);
	if (is_zero(s, b) || is_zero(s, a))
		return a;
	w = t_w(s, a);
	if (t_isnum(s, b, &y) && y < w)
		return t_zext(s, t_ext(s, a, w - 1, (unsigned)y), w);
	return k2s_keep(s, Z3_mk_bvlshr(s->c, a, b));
}

Z3_ast t_ashr(struct k2_smt *s, Z3_ast a, Z3_ast b)
{
	uint64_t x, y;
	unsigned w;

	if (both_num(s, a, b, &x, &y, &w))
		return t_num(s, w, (uint64_t)(sx64(x, w) >> (y >= w ? w - 1 : y)));
	if (is_zero(s, b) || is_zero(s, a))
		return a;
	w = t_w(s, a);
	if (t_isnum(s, b, &y) && y < w)
		return t_sext(s, t_ext(s, a, w - 1, (unsigned)y), w);
	return k2s_keep(s, Z3_mk_bvashr(s->c, a, b));
}

Z3_ast t_udiv0(struct k2_smt *s, Z3_ast a, Z3_ast b)
{
	uint64_t x, y;
	unsigned w;

	if (both_num(s, a, b, &x, &y, &w))
		return t_num(s, w, y ? x / y : 0);
	w = t_w(s, a);
	if (t_isnum(s, b, &y)) {
		if (!y)
			return t_num(s, w, 0);
		if (y == 1)
			return a;
		if (!(y & (y - 1)))
			return t_lshr(s, a, t_num(s, w, (uint64_t)__builtin_ctzll(y)));
		return k2s_keep(s, Z3_mk_bvudiv(s->c, a, b));
	}
	return t_ite(s, b_eq(s, b, t_num(s, w, 0)), t_num(s, w, 0),
		     k2s_keep(s, Z3_mk_bvudiv(s->c, a, b)));
}

/* SMT-LIB defines x % 0 = x, as BPF does. */
Z3_ast t_urem0(struct k2_smt *s, Z3_ast a, Z3_ast b)
{
	uint64_t x, y;
	unsigned w;

	if (both_num(s, a, b, &x, &y, &w))
		return t_num(s, w, y ? x % y : x);
	w = t_w(s, a);
	if (t_isnum(s, b, &y)) {
		if (!y)
			return a;
		if (y == 1)
			return t_num(s, w, 0);
		if (!(y & (y - 1)))
			return t_and(s, a, t_num(s, w, y - 1));
	}
	return k2s_keep(s, Z3_mk_bvurem(s->c, a, b));
}

/*
 * Signed: x / 0 = 0, x % 0 = x, x / -1 = -x (INT_MIN / -1 = INT_MIN), x % -1 = 0; else as C
 * (truncation toward zero, remainder with the dividend's sign). SMT-LIB's bvsdiv and bvsrem
 * agree with all of that except x / 0 (it gives -1 or 1).
 */
Z3_ast t_sdiv0(struct k2_smt *s, Z3_ast a, Z3_ast b)
{
	uint64_t x, y;
	unsigned w = t_w(s, a);
	Z3_ast zero;

	if (both_num(s, a, b, &x, &y, &w)) {
		int64_t sa = sx64(x, w), sb = sx64(y, w);

		if (!y)
			return t_num(s, w, 0);
		if (sb == -1)
			return t_num(s, w, -x);
		return t_num(s, w, (uint64_t)(sa / sb));
	}
	if (t_isnum(s, b, &y)) {
		if (!y)
			return t_num(s, w, 0);
		if (y == mask_of(w))
			return t_neg(s, a);
		if (y == 1)
			return a;
		return k2s_keep(s, Z3_mk_bvsdiv(s->c, a, b));
	}
	zero = t_num(s, w, 0);
	return t_ite(s, b_eq(s, b, zero), zero, k2s_keep(s, Z3_mk_bvsdiv(s->c, a, b)));
}

Z3_ast t_srem0(struct k2_smt *s, Z3_ast a, Z3_ast b)
{
	uint64_t x, y;
	unsigned w = t_w(s, a);

	if (both_num(s, a, b, &x, &y, &w)) {
		int64_t sa = sx64(x, w), sb = sx64(y, w);

		if (!y)
			return a;
		if (sb == -1)
			return t_num(s, w, 0);
		return t_num(s, w, (uint64_t)(sa % sb));
	}
	if (t_isnum(s, b, &y)) {
		if (!y)
			return a;
		if (y == mask_of(w) || y == 1)
			return t_num(s, w, 0);
	}
	return k2s_keep(s, Z3_mk_bvsrem(s->c, a, b));
}

Z3_ast t_neg(struct k2_smt *s, Z3_ast a)
{
	uint64_t x;

	if (t_isnum(s, a, &x))
		return t_num(s, t_w(s, a), -x);
	return k2s_keep(s, Z3_mk_bvneg(s->c, a));
}

Z3_ast t_bnot(struct k2_smt *s, Z3_ast a)
{
	uint64_t x;

	if (t_isnum(s, a, &x))
		return t_num(s, t_w(s, a), ~x);
	return k2s_keep(s, Z3_mk_bvnot(s->c, a));
}

Z3_ast t_ext(struct k2_smt *s, Z3_ast a, unsigned hi, unsigned lo)
{
	unsigned w = t_w(s, a);
	uint64_t x;
	Z3_decl_kind k;

	if (lo == 0 && hi == w - 1)
		return a;
	if (t_isnum(s, a, &x))
		return t_num(s, hi - lo + 1, x >> lo);
	k = kind_of(s, a);
	if (k == Z3_OP_CONCAT && nargs_of(s, a) == 2) {
		Z3_ast h = arg_of(s, a, 0), l = arg_of(s, a, 1);
		unsigned lw = t_w(s, l);

		if (hi < lw)
			return t_ext(s, l, hi, lo);
		if (lo >= lw)
			return t_ext(s, h, hi - lw, lo - lw);
	} else if (k == Z3_OP_EXTRACT) {
		int l2 = param_of(s, a, 1);

		return t_ext(s, arg_of(s, a, 0), hi + (unsigned)l2, lo + (unsigned)l2);
	} else if (k == Z3_OP_ZERO_EXT) {
		Z3_ast in = arg_of(s, a, 0);
		unsigned iw = t_w(s, in);

		if (hi < iw)
			return t_ext(s, in, hi, lo);
		if (lo >= iw)
			return t_num(s, hi - lo + 1, 0);
		return t_zext(s, t_ext(s, in, iw - 1, lo), hi - lo + 1);
	} else if (k == Z3_OP_ITE) {
		Z3_ast c = arg_of(s, a, 0), p = arg_of(s, a, 1), q = arg_of(s, a, 2);
		uint64_t y;

		/* extracts of ites of numerals stay small */
		if (t_isnum(s, p, &x) || t_isnum(s, q, &y))
			return t_ite(s, c, t_ext(s, p, hi, lo), t_ext(s, q, hi, lo));
	}
	return k2s_keep(s, Z3_mk_extract(s->c, hi, lo, a));
}

Z3_ast t_zext(struct k2_smt *s, Z3_ast a, unsigned w)
{
	unsigned aw = t_w(s, a);
	uint64_t x;

	if (w == aw)
		return a;
	if (w <= 64 && t_isnum(s, a, &x))
		return t_num(s, w, x);
	if (kind_of(s, a) == Z3_OP_ZERO_EXT)
		return t_zext(s, arg_of(s, a, 0), w);
	return k2s_keep(s, Z3_mk_zero_ext(s->c, w - aw, a));
}

Z3_ast t_sext(struct k2_smt *s, Z3_ast a, unsigned w)
{
	unsigned aw = t_w(s, a);
	uint64_t x;

	if (w == aw)
		return a;
	if (w <= 64 && t_isnum(s, a, &x))
		return t_num(s, w, (uint64_t)sx64(x, aw));
	return k2s_keep(s, Z3_mk_sign_ext(s->c, w - aw, a));
}

Z3_ast t_cat(struct k2_smt *s, Z3_ast hi, Z3_ast lo)
{
	unsigned hw = t_w(s, hi), lw = t_w(s, lo);
	uint64_t x, y;

	if (hw + lw <= 64 && t_isnum(s, hi, &x) && t_isnum(s, lo, &y))
		return t_num(s, hw + lw, x << lw | y);
	if (is_zero(s, hi))
		return t_zext(s, lo, hw + lw);
	if (kind_of(s, hi) == Z3_OP_EXTRACT && kind_of(s, lo) == Z3_OP_EXTRACT &&
	    arg_of(s, hi, 0) == arg_of(s, lo, 0) && param_of(s, hi, 1) == param_of(s, lo, 0) + 1)
		return t_ext(s, arg_of(s, hi, 0), (unsigned)param_of(s, hi, 0),
			     (unsigned)param_of(s, lo, 1));
	return k2s_keep(s, Z3_mk_concat(s->c, hi, lo));
}

Z3_ast t_ite(struct k2_smt *s, Z3_ast c, Z3_ast a, Z3_ast b)
{
	int cv = t_bool(s, c);

	if (cv == 1 || a == b)
		return a;
	if (cv == 0)
		return b;
	if (t_w(s, a) == 0) {
		int av = t_bool(s, a), bv = t_bool(s, b);

		if (av == 1 && bv == 0)
			return c;
		if (av == 0 && bv == 1)
			return b_not(s, c);
		if (av == 0)
			return b_and(s, b_not(s, c), b);
		if (bv == 0)
			return b_and(s, c, a);
		if (av == 1)
			return b_or(s, c, b);
		if (bv == 1)
			return b_or(s, b_not(s, c), a);
	}
	/* ite(c, ite(c, x, y), z) = ite(c, x, z) */
	if (kind_of(s, a) == Z3_OP_ITE && arg_of(s, a, 0) == c)
		return t_ite(s, c, arg_of(s, a, 1), b);
	if (kind_of(s, b) == Z3_OP_ITE && arg_of(s, b, 0) == c)
		return t_ite(s, c, a, arg_of(s, b, 2));
	return k2s_keep(s, Z3_mk_ite(s->c, c, a, b));
}

Z3_ast b_eq(struct k2_smt *s, Z3_ast a, Z3_ast b)
{
	uint64_t x, y;
	unsigned w;

	if (a == b)
		return s->tru;
	if (both_num(s, a, b, &x, &y, &w))
		return x == y ? s->tru : s->fls;
	if (t_w(s, a) == 0) {
		int av = t_bool(s, a), bv = t_bool(s, b);

		if (av >= 0 && bv >= 0)
			return av == bv ? s->tru : s->fls;
		if (av == 1)
			return b;
		if (bv == 1)
			return a;
		if (av == 0)
			return b_not(s, b);
		if (bv == 0)
			return b_not(s, a);
	} else {
		/* ite(c, n1, n2) == n3 with numerals folds to c, !c or false */
		Z3_ast it = kind_of(s, a) == Z3_OP_ITE ? a : kind_of(s, b) == Z3_OP_ITE ? b : NULL;
		Z3_ast other = it == a ? b : a;

		if (it && t_isnum(s, other, &y) && t_isnum(s, arg_of(s, it, 1), &x)) {
			uint64_t z;

			if (t_isnum(s, arg_of(s, it, 2), &z)) {
				Z3_ast c = arg_of(s, it, 0);

				if (x == y && z == y)
					return s->tru;
				if (x == y)
					return c;
				if (z == y)
					return b_not(s, c);
				return s->fls;
			}
		}
		/* c1 + x == c2 + x style: both base + numeral on one base */
		if (kind_of(s, a) == Z3_OP_BADD && kind_of(s, b) == Z3_OP_BADD &&
		    nargs_of(s, a) == 2 && nargs_of(s, b) == 2 && arg_of(s, a, 0) == arg_of(s, b, 0) &&
		    t_isnum(s, arg_of(s, a, 1), &x) && t_isnum(s, arg_of(s, b, 1), &y))
			return x == y ? s->tru : s->fls;
	}
	return k2s_keep(s, Z3_mk_eq(s->c, a, b));
}

Z3_ast b_ne(struct k2_smt *s, Z3_ast a, Z3_ast b)
{
	return b_not(s, b_eq(s, a, b));
}

Z3_ast b_ult(struct k2_smt *s, Z3_ast a, Z3_ast b)
{
	uint64_t x, y;
	unsigned w;

	if (both_num(s, a, b, &x, &y, &w))
		return x < y ? s->tru : s->fls;
	if (a == b || is_zero(s, b))
		return s->fls;
	return k2s_keep(s, Z3_mk_bvult(s->c, a, b));
}

Z3_ast b_ule(struct k2_smt *s, Z3_ast a, Z3_ast b)
{
	uint64_t x, y;
	unsigned w;

	if (both_num(s, a, b, &x, &y, &w))
		return x <= y ? s->tru : s->fls;
	if (a == b || is_zero(s, a) || is_ones(s, b))
		return s->tru;
	return k2s_keep(s, Z3_mk_bvule(s->c, a, b));
}

Z3_ast b_slt(struct k2_smt *s, Z3_ast a, Z3_ast b)
{
	uint64_t x, y;
	unsigned w;

	if (both_num(s, a, b, &x, &y, &w))
		return sx64(x, w) < sx64(y, w) ? s->tru : s->fls;
	if (a == b)
		return s->fls;
	return k2s_keep(s, Z3_mk_bvslt(s->c, a, b));
}

Z3_ast b_sle(struct k2_smt *s, Z3_ast a, Z3_ast b)
{
	uint64_t x, y;
	unsigned w;

	if (both_num(s, a, b, &x, &y, &w))
		return sx64(x, w) <= sx64(y, w) ? s->tru : s->fls;
	if (a == b)
		return s->tru;
	return k2s_keep(s, Z3_mk_bvsle(s->c, a, b));
}

/* Whether a is the negation of b. */
static bool negates(struct k2_smt *s, Z3_ast a, Z3_ast b)
{
	return (kind_of(s, a) == Z3_OP_NOT && arg_of(s, a, 0) == b) ||
	       (kind_of(s, b) == Z3_OP_NOT && arg_of(s, b, 0) == a);
}

Z3_ast b_and(struct k2_smt *s, Z3_ast a, Z3_ast b)
{
	int av = t_bool(s, a), bv = t_bool(s, b);
	Z3_ast v[2] = { a, b };

	if (av == 0 || bv == 0)
		return s->fls;
	if (av == 1)
		return b;
	if (bv == 1 || a == b)
		return a;
	if (negates(s, a, b))
		return s->fls;
	return k2s_keep(s, Z3_mk_and(s->c, 2, v));
}

Z3_ast b_or(struct k2_smt *s, Z3_ast a, Z3_ast b)
{
	int av = t_bool(s, a), bv = t_bool(s, b);
	Z3_ast v[2] = { a, b };

	if (av == 1 || bv == 1)
		return s->tru;
	if (av == 0)
		return b;
	if (bv == 0 || a == b)
		return a;
	if (negates(s, a, b))
		return s->tru;
	/* (x & c) | (x & !c) = x: the path condition after an if/else */
	if (kind_of(s, a) == Z3_OP_AND && kind_of(s, b) == Z3_OP_AND && nargs_of(s, a) == 2 &&
	    nargs_of(s, b) == 2 && arg_of(s, a, 0) == arg_of(s, b, 0) &&
	    negates(s, arg_of(s, a, 1), arg_of(s, b, 1)))
		return arg_of(s, a, 0);
	return k2s_keep(s, Z3_mk_or(s->c, 2, v));
}

Z3_ast b_not(struct k2_smt *s, Z3_ast a)
{
	int av = t_bool(s, a);

	if (av >= 0)
		return av ? s->fls : s->tru;
	if (kind_of(s, a) == Z3_OP_NOT)
		return arg_of(s, a, 0);
	return k2s_keep(s, Z3_mk_not(s->c, a));
}

Z3_ast b_imp(struct k2_smt *s, Z3_ast a, Z3_ast b)
{
	return b_or(s, b_not(s, a), b);
}

Z3_ast t_byte(struct k2_smt *s, Z3_ast a, unsigned i)
{
	return t_ext(s, a, 8 * i + 7, 8 * i);
}

Z3_ast t_bytes(struct k2_smt *s, Z3_ast *bytes, unsigned n)
{
	Z3_ast v = bytes[n - 1];

	for (unsigned i = n - 1; i-- > 0;)
		v = t_cat(s, v, bytes[i]);
	return v;
}

Z3_ast t_bswap(struct k2_smt *s, Z3_ast a, unsigned w)
{
	Z3_ast b[8];

	for (unsigned i = 0; i < w / 8; i++)
		b[i] = t_byte(s, a, w / 8 - 1 - i);
	return t_bytes(s, b, w / 8);
}
