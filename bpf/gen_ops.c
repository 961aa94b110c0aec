/* bpf/gen_ops.c: generator items on registers and stack: ALU, moves, swaps, ctx, atomics. */
#include "bpf/gen_int.h"

#include <linux/bpf.h>
#include <stddef.h>
#include <string.h>

bool gen_writable(const struct gstate *st, int r)
{
	if (r < 0 || r >= K2_REG_FP || (st->fixed >> r & 1))
		return false;
	return !(st->in_loop && (st->loop_ro >> r & 1));
}

void gen_set(struct gstate *st, int r, enum gtype t)
{
	st->r[r].t = (uint8_t)t;
	st->r[r].map = 0;
	st->r[r].off = 0;
}

/* A random register of type t, or -1. */
int gen_pick(struct gen *g, const struct gstate *st, enum gtype t)
{
	int cand[K2_NREGS], n = 0;

	for (int r = 0; r < K2_NREGS; r++)
		if (st->r[r].t == t)
			cand[n++] = r;
	return n ? cand[gen_below(g, (uint64_t)n)] : -1;
}

int gen_pick_writable(struct gen *g, const struct gstate *st)
{
	int cand[K2_NREGS], n = 0;

	for (int r = 0; r < K2_REG_FP; r++)
		if (gen_writable(st, r))
			cand[n++] = r;
	return n ? cand[gen_below(g, (uint64_t)n)] : -1;
}

/* Writable and holding a scalar already (loop bodies may only write those). */
static int pick_writable_scalar(struct gen *g, const struct gstate *st)
{
	int cand[K2_NREGS], n = 0;

	for (int r = 0; r < K2_REG_FP; r++)
		if (gen_writable(st, r) && st->r[r].t == G_SCALAR)
			cand[n++] = r;
	return n ? cand[gen_below(g, (uint64_t)n)] : -1;
}

/* A writable register for a new scalar; in a loop body only one that is a scalar already. */
static int pick_dst(struct gen *g, const struct gstate *st)
{
	return st->in_loop ? pick_writable_scalar(g, st) : gen_pick_writable(g, st);
}

static const int32_t imm_table[] = {
	0, 1, 2, 3, 4, 5, 7, 8, 15, 16, 31, 32, 33, 63, 64, 100, 127, 128, 255, 256, 0x7fff,
	0x8000, 0xffff, 0x10000, 0x7fffffff, INT32_MIN, -1, -2, -7, -8, -128, -32768, 0x12345678,
};

int64_t gen_imm32(struct gen *g)
{
	uint64_t k = gen_below(g, 10);

	if (k < 6)
		return imm_table[gen_below(g, sizeof(imm_table) / sizeof(imm_table[0]))];
	if (k < 8)
		return (int64_t)gen_below(g, 64) - 16;
	return (int32_t)(uint32_t)k2_rng_next(g->rng);
}

int64_t gen_imm64(struct gen *g)
{
	static const uint64_t table[] = {
		0, 1, ~0ull, 0x8000000000000000ull, 0x7fffffffffffffffull, 0xffffffffull,
		0x100000000ull, 0x80000000ull, 0xffffffff00000000ull, 0x00ff00ff00ff00ffull,
	};
	uint64_t k = gen_below(g, 4);

	if (k == 0)
		return (int64_t)table[gen_below(g, sizeof(table) / sizeof(table[0]))];
	if (k == 1)
		return gen_imm32(g);
	return (int64_t)k2_rng_next(g->rng);
}

/* A scalar register to read; makes one (mov of a constant) when there is none. */
int gen_scalar(struct gen *g, struct gstate *st)
{
	int r = gen_pick(g, st, G_SCALAR);

	if (r >= 0)
		return r;
	r = st->in_loop ? -1 : gen_pick_writable(g, st);
	if (r < 0)
		return -1;
	gen_op(g, K2_OP_MOV64_K, r, 0, 0, gen_imm32(g));
	gen_set(st, r, G_SCALAR);
	return r;
}

void gen_clobber_call(struct gstate *st)
{
	for (int r = 1; r <= 5; r++)
		gen_set(st, r, G_NONE);
	gen_set(st, 0, G_SCALAR);
}

static int64_t alu_imm(struct gen *g, const struct k2_opinfo *oi)
{
	int64_t imm;

	switch (oi->aluop) {
	case BPF_LSH:
	case BPF_RSH:
	case BPF_ARSH:
		return (int64_t)gen_below(g, oi->width);
	case BPF_DIV:
	case BPF_MOD:
		do
			imm = gen_imm32(g);
		while (imm == 0);
		return imm;
	default:
		return gen_imm32(g);
	}
}

/* Whether op is an arithmetic operation the ALU classes draw (moves have their own class). */
static bool is_alu_op(const struct k2_opinfo *oi, bool is64)
{
	if (oi->kind != K2_KIND_ALU || oi->aluop == BPF_MOV)
		return false;
	return is64 ? !(oi->flags & K2_F_ALU32) : !!(oi->flags & K2_F_ALU32);
}

bool gen_alu(struct gen *g, struct gstate *st, bool is64)
{
	const struct k2_opinfo *oi;
	enum k2_op op;
	int dst, src = 0;

	do {
		op = (enum k2_op)(K2_OP_ADD64_K +
				  gen_below(g, K2_OP_MOVSX32_16 - K2_OP_ADD64_K + 1));
		oi = k2_op_info(op);
	} while (!is_alu_op(oi, is64) || !gen_isa_ok(g, op));
	dst = pick_writable_scalar(g, st);
	if (dst < 0) {
		if (st->in_loop)
			return false;
		dst = gen_pick_writable(g, st);
		if (dst < 0)
			return false;
		gen_op(g, K2_OP_MOV64_K, dst, 0, 0, gen_imm32(g));
		gen_set(st, dst, G_SCALAR);
	}
	if (oi->flags & K2_F_RD_SRC) {
		src = gen_scalar(g, st);
		if (src < 0)
			return false;
	}
	gen_op(g, op, dst, src, 0, (oi->flags & K2_F_IMM) ? alu_imm(g, oi) : 0);
	return true;
}

bool gen_mov(struct gen *g, struct gstate *st)
{
	static const enum k2_op sx[] = { K2_OP_MOVSX64_8, K2_OP_MOVSX64_16, K2_OP_MOVSX64_32,
					 K2_OP_MOVSX32_8, K2_OP_MOVSX32_16 };
	int dst = pick_dst(g, st), src;
	uint64_t k = gen_below(g, 10);

	if (dst < 0)
		return false;
	if (k < 3) {
		gen_op(g, gen_chance(g, 70) ? K2_OP_MOV64_K : K2_OP_MOV32_K, dst, 0, 0,
		       gen_imm32(g));
	} else if (k < 5) {
		gen_op(g, K2_OP_LDDW, dst, 0, 0, gen_imm64(g));
	} else if (k < 7 && gen_isa_ok(g, K2_OP_MOVSX64_8) && gen_pick(g, st, G_SCALAR) >= 0) {
		gen_op(g, sx[gen_below(g, 5)], dst, gen_pick(g, st, G_SCALAR), 0, 0);
	} else if (k < 8 && !st->in_loop) {
		/* Copies of pointers too: later code uses them through the copy. */
		src = (int)gen_below(g, K2_NREGS);
		if (st->r[src].t == G_NONE || src == dst)
			return false;
		gen_op(g, K2_OP_MOV64_X, dst, src, 0, 0);
		st->r[dst] = st->r[src];
		return true;
	} else {
		src = gen_pick(g, st, G_SCALAR);
		if (src < 0)
			return false;
		gen_op(g, gen_chance(g, 50) ? K2_OP_MOV64_X : K2_OP_MOV32_X, dst, src, 0, 0);
	}
	gen_set(st, dst, G_SCALAR);
	return true;
}

bool gen_end(struct gen *g, struct gstate *st)
{
	int dst = pick_writable_scalar(g, st);
	enum k2_op op;

	if (dst < 0)
		return false;
	do
		op = (enum k2_op)(K2_OP_LE16 + gen_below(g, K2_OP_BSWAP64 - K2_OP_LE16 + 1));
	while (!gen_isa_ok(g, op));
	gen_op(g, op, dst, 0, 0, 0);
	return true;
}

void gen_stack_init(struct gen *g, struct gstate *st, int off, int len)
{
	(void)g;
	for (int i = 0; i < len; i++)
		st->init[K2_STACK_SIZE + off + i] = 1;
}

bool gen_stack_is_init(const struct gstate *st, int off, int len)
{
	for (int i = 0; i < len; i++)
		if (!st->init[K2_STACK_SIZE + off + i])
			return false;
	return true;
}

static enum k2_op ldx_op(struct gen *g, int size, bool allow_sx)
{
	static const enum k2_op ld[] = { K2_OP_LDXB, K2_OP_LDXH, K2_OP_LDXW, K2_OP_LDXDW };
	static const enum k2_op sx[] = { K2_OP_LDSXB, K2_OP_LDSXH, K2_OP_LDSXW };
	int i = size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2 : 3;

	if (allow_sx && i < 3 && gen_isa_ok(g, sx[i]) && gen_chance(g, 30))
		return sx[i];
	return ld[i];
}

static int pick_size(struct gen *g)
{
	return 1 << gen_below(g, 4);
}

/*
 * One load or store through register `base` at an offset o with [lo, hi) containing
 * [o + base.off, o + base.off + size). Stores of scalars or immediates; loads into a
 * writable register.
 */
bool gen_mem_access(struct gen *g, struct gstate *st, int base, int lo, int hi, bool may_store,
		    bool strict_align)
{
	static const enum k2_op stx[] = { K2_OP_STXB, K2_OP_STXH, K2_OP_STXW, K2_OP_STXDW };
	static const enum k2_op sti[] = { K2_OP_STB, K2_OP_STH, K2_OP_STW, K2_OP_STDW };
	uint8_t t = st->r[base].t;
	int size = pick_size(g), boff = t == G_PKT ? 0 : st->r[base].off, pos, dst, src, si;

	if (t != G_STACK && t != G_PKT && t != G_MAPVAL && t != G_PSTACK)
		return false;
	while (size > hi - lo && size > 1)
		size >>= 1;
	if (size > hi - lo)
		return false;
	pos = lo + (int)gen_below(g, (uint64_t)(hi - lo - size + 1));
	if (strict_align)
		pos -= ((pos % size) + size) % size;
	if (pos < lo)
		return false;
	si = size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2 : 3;
	if (may_store && gen_chance(g, 45)) {
		src = gen_pick(g, st, G_SCALAR);
		if (src >= 0 && gen_chance(g, 70))
			gen_op(g, stx[si], base, src, (int16_t)(pos - boff), 0);
		else
			gen_op(g, sti[si], base, 0, (int16_t)(pos - boff), gen_imm32(g));
		if (st->r[base].t == G_STACK)
			gen_stack_init(g, st, pos, size);
		return true;
	}
	if (st->r[base].t == G_STACK && !gen_stack_is_init(st, pos, size))
		return false;
	dst = pick_dst(g, st);
	if (dst < 0)
		return false;
	gen_op(g, ldx_op(g, size, true), dst, base, (int16_t)(pos - boff), 0);
	gen_set(st, dst, G_SCALAR);
	return true;
}

/* Stack accesses concentrate on the top 64 bytes so that loads find what stores wrote. */
bool gen_stack(struct gen *g, struct gstate *st)
{
	int base = K2_REG_FP, lo = -64, hi = 0, p;

	p = gen_pick(g, st, G_PSTACK);
	if (p >= 0 && gen_chance(g, 50)) /* the caller's frame, through the argument */
		return gen_mem_access(g, st, p, 0, PSTACK_LEN, true, true);

	if (gen_chance(g, 10))
		lo = st->stack_min;
	if (gen_chance(g, 20) && !st->in_loop) {
		/* A stack pointer in another register: r = r10 - k. */
		p = gen_pick_writable(g, st);
		if (p >= 0 && gen_chance(g, 50)) {
			int k = 8 * (int)(1 + gen_below(g, 8));

			gen_op(g, K2_OP_MOV64_X, p, K2_REG_FP, 0, 0);
			gen_op(g, K2_OP_ADD64_K, p, 0, 0, -k);
			gen_set(st, p, G_STACK);
			st->r[p].off = (int16_t)-k;
			return true;
		}
	}
	p = gen_pick(g, st, G_STACK);
	if (p >= 0 && gen_chance(g, 40))
		base = p;
	if (gen_chance(g, 60)) {
		/* Prefer a load of something initialised: find an initialised aligned slot. */
		for (int tries = 0; tries < 8; tries++) {
			int size = pick_size(g);
			int pos = -size * (int)(1 + gen_below(g, (uint64_t)(64 / size)));
			int dst;

			if (!gen_stack_is_init(st, pos, size))
				continue;
			dst = pick_dst(g, st);
			if (dst < 0)
				return false;
			gen_op(g, ldx_op(g, size, true), dst, base,
			       (int16_t)(pos - st->r[base].off), 0);
			gen_set(st, dst, G_SCALAR);
			return true;
		}
	}
	return gen_mem_access(g, st, base, lo, hi, true, true);
}

struct ctx_field {
	uint16_t off;
	uint8_t size;
	uint8_t types; /* bit 0 XDP, bit 1 tc, bit 2 socket filter */
};

#define SKB(f, t) { offsetof(struct __sk_buff, f), sizeof(((struct __sk_buff *)0)->f), t }
#define XDPF(f) { offsetof(struct xdp_md, f), 4, 1 }

/* Scalar fields a program of each type may read (pointers are taken by packet code). */
static const struct ctx_field ctx_fields[] = {
	XDPF(ingress_ifindex), XDPF(rx_queue_index),
	SKB(len, 6), SKB(pkt_type, 6), SKB(mark, 6), SKB(queue_mapping, 6), SKB(protocol, 6),
	SKB(vlan_present, 6), SKB(vlan_tci, 6), SKB(vlan_proto, 6), SKB(priority, 6),
	SKB(ingress_ifindex, 6), SKB(ifindex, 6), SKB(tc_index, 6),
	{ offsetof(struct __sk_buff, cb[0]), 4, 6 }, { offsetof(struct __sk_buff, cb[1]), 4, 6 },
	{ offsetof(struct __sk_buff, cb[2]), 4, 6 }, { offsetof(struct __sk_buff, cb[3]), 4, 6 },
	{ offsetof(struct __sk_buff, cb[4]), 4, 6 },
	SKB(hash, 6), SKB(tc_classid, 2), SKB(tstamp, 2), SKB(wire_len, 2), SKB(gso_segs, 6),
	SKB(gso_size, 6), SKB(hwtstamp, 2),
};

static uint8_t type_bit(uint32_t type)
{
	return type == BPF_PROG_TYPE_XDP ? 1 : type == BPF_PROG_TYPE_SCHED_CLS ? 2 : 4;
}

bool gen_ctx(struct gen *g, struct gstate *st)
{
	const struct ctx_field *f;
	int dst = pick_dst(g, st), base = CTX_REG;
	int pkt = gen_pick(g, st, G_PKT), end = gen_pick(g, st, G_PKT_END);

	if (dst < 0 || st->in_func)
		return false;
	if (pkt >= 0 && end >= 0 && gen_chance(g, 25) && dst != pkt) {
		/* data_end - data: the packet length as a scalar. */
		if (dst != end)
			gen_op(g, K2_OP_MOV64_X, dst, end, 0, 0);
		gen_op(g, K2_OP_SUB64_X, dst, pkt, 0, 0);
		gen_set(st, dst, G_SCALAR);
		return true;
	}
	do
		f = &ctx_fields[gen_below(g, sizeof(ctx_fields) / sizeof(ctx_fields[0]))];
	while (!(f->types & type_bit(g->o.prog_type)));
	gen_op(g, f->size == 8 ? K2_OP_LDXDW : K2_OP_LDXW, dst, base, (int16_t)f->off, 0);
	gen_set(st, dst, G_SCALAR);
	return true;
}

static enum k2_op pick_atomic(struct gen *g, int size)
{
	enum k2_op first = size == 8 ? K2_OP_ATOMIC_ADD64 : K2_OP_ATOMIC_ADD32;
	enum k2_op op;

	do
		op = (enum k2_op)(first + gen_below(g, 10));
	while (!gen_isa_ok(g, op));
	return op;
}

/* An atomic read-modify-write on an initialised stack slot or a writable map value. */
bool gen_atomic(struct gen *g, struct gstate *st)
{
	int size = gen_chance(g, 50) ? 8 : 4, base, pos, src;
	enum k2_op op = pick_atomic(g, size);
	const struct k2_opinfo *oi = k2_op_info(op);

	base = gen_pick(g, st, G_MAPVAL);
	if (base >= 0 && !gen_chance(g, 30)) {
		const struct gmap *m = NULL;

		for (uint32_t i = 0; i < g->n_maps; i++)
			if (g->maps[i].idx == st->r[base].map)
				m = &g->maps[i];
		if (!m || m->ro || (int)m->vsz < size)
			return false;
		pos = size * (int)gen_below(g, m->vsz / (uint32_t)size);
	} else {
		base = K2_REG_FP;
		pos = -size * (int)(1 + gen_below(g, (uint64_t)(64 / size)));
		if (!gen_stack_is_init(st, pos, size)) {
			gen_op(g, size == 8 ? K2_OP_STDW : K2_OP_STW, K2_REG_FP, 0, (int16_t)pos,
			       gen_imm32(g));
			gen_stack_init(g, st, pos, size);
		}
	}
	src = (oi->flags & K2_F_FETCH) ? pick_writable_scalar(g, st) : gen_pick(g, st, G_SCALAR);
	if (src < 0 || src == base)
		return false;
	if (op == K2_OP_CMPXCHG64 || op == K2_OP_CMPXCHG32) {
		/* r0 is the expected old value; make it a scalar when it is not. */
		if (!gen_writable(st, 0) || src == 0 || base == 0 ||
		    (st->in_loop && st->r[0].t != G_SCALAR))
			return false;
		if (st->r[0].t != G_SCALAR || gen_chance(g, 30)) {
			gen_op(g, K2_OP_MOV64_K, 0, 0, 0, gen_imm32(g));
			gen_set(st, 0, G_SCALAR);
		}
	}
	gen_op(g, op, base, src, (int16_t)(pos - st->r[base].off), 0);
	return true;
}
