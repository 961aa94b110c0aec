/* bpf/gen_mem.c: generator items that reach outside registers: packet, maps, helper calls. */
#include "bpf/gen_int.h"

#include <linux/bpf.h>
#include <stddef.h>
#include <string.h>

#include "bpf/k2_helpers.h"

#define KEY_AREA (-32)  /* map keys live in [-32, 0) */
#define VAL_AREA (-96)  /* map values for updates in [-96, -32) */
#define BUF_AREA (-160) /* helper buffers in [-160, -96) */

int gen_ctx_off(uint32_t prog_type, bool end)
{
	if (prog_type == BPF_PROG_TYPE_XDP)
		return end ? (int)offsetof(struct xdp_md, data_end)
			   : (int)offsetof(struct xdp_md, data);
	return end ? (int)offsetof(struct __sk_buff, data_end)
		   : (int)offsetof(struct __sk_buff, data);
}

static void invalidate_pkt(struct gstate *st)
{
	for (int r = 0; r < K2_NREGS; r++)
		if (st->r[r].t == G_PKT || st->r[r].t == G_PKT_END)
			gen_set(st, r, G_NONE);
}

/* A writable register other than those in `avoid` (bit mask), or -1. */
static int writable_except(struct gen *g, const struct gstate *st, uint16_t avoid)
{
	int cand[K2_NREGS], n = 0;

	for (int r = 0; r < K2_REG_FP; r++)
		if (gen_writable(st, r) && !(avoid >> r & 1))
			cand[n++] = r;
	return n ? cand[gen_below(g, (uint64_t)n)] : -1;
}

/* A register holding a packet pointer (t = G_PKT) or the end (G_PKT_END); loads one. */
static int pkt_reg(struct gen *g, struct gstate *st, enum gtype t, uint16_t avoid)
{
	int r = gen_pick(g, st, t);

	if (r >= 0)
		return r;
	r = writable_except(g, st, avoid);
	if (r < 0)
		return -1;
	gen_op(g, K2_OP_LDXW, r, CTX_REG, (int16_t)gen_ctx_off(g->o.prog_type, t == G_PKT_END), 0);
	gen_set(st, r, t);
	return r;
}

static uint32_t guard_len(struct gen *g)
{
	uint64_t k = gen_below(g, 10);

	if (k < 7)
		return 1 + (uint32_t)gen_below(g, 64);
	if (k < 9)
		return 64 + (uint32_t)gen_below(g, 200);
	return 256 + (uint32_t)gen_below(g, 1300);
}

/* tmp = data + N; if tmp > data_end goto skip; { accesses to [0, N) }; skip: */
static bool pkt_guard(struct gen *g, struct gstate *st)
{
	struct gstate in;
	int pkt, end, tmp;
	uint32_t n = guard_len(g), j;

	if (st->depth >= 4)
		return false;
	pkt = pkt_reg(g, st, G_PKT, 0);
	if (pkt < 0)
		return false;
	end = pkt_reg(g, st, G_PKT_END, (uint16_t)(1u << pkt));
	if (end < 0)
		return false;
	tmp = writable_except(g, st, (uint16_t)(1u << pkt | 1u << end));
	if (tmp < 0)
		return false;
	gen_op(g, K2_OP_MOV64_X, tmp, pkt, 0, 0);
	gen_op(g, K2_OP_ADD64_K, tmp, 0, 0, n);
	gen_set(st, tmp, G_NONE);
	j = g->n;
	if (gen_isa_ok(g, K2_OP_JLT64_X) && gen_chance(g, 40))
		gen_op(g, K2_OP_JLT64_X, end, tmp, 0, 0);
	else
		gen_op(g, K2_OP_JGT64_X, tmp, end, 0, 0);
	in = *st;
	in.depth++;
	/* The verifier gives the checked range to every packet pointer of the same id (0). */
	for (int r = 0; r < K2_NREGS; r++)
		if (in.r[r].t == G_PKT && in.r[r].off < (int)n)
			in.r[r].off = (int16_t)n;
	for (int i = 0, k = 1 + (int)gen_below(g, 3); i < k; i++)
		gen_mem_access(g, &in, pkt, 0, in.r[pkt].off, true, false);
	gen_block(g, &in, 1 + (uint32_t)gen_below(g, 8));
	if (!g->err)
		g->insns[j].off = (int16_t)(g->n - j - 1);
	gen_merge(st, &in);
	return true;
}

/* Legacy skb loads: r0 = ntoh(*(size *)(skb->data + [src +] imm)); out of bounds ends the run. */
static bool pkt_ldabs(struct gen *g, struct gstate *st)
{
	static const enum k2_op abs_ops[] = { K2_OP_LDABSB, K2_OP_LDABSH, K2_OP_LDABSW };
	static const enum k2_op ind_ops[] = { K2_OP_LDINDB, K2_OP_LDINDH, K2_OP_LDINDW };
	int i = (int)gen_below(g, 3), src;
	int32_t imm = gen_chance(g, 90) ? (int32_t)gen_below(g, 80) : (int32_t)gen_below(g, 2000);

	if (st->in_loop)
		return false;
	if (gen_chance(g, 50)) {
		gen_op(g, abs_ops[i], 0, 0, 0, imm);
	} else {
		src = gen_pick(g, st, G_SCALAR);
		if (src < 0 || !gen_writable(st, src))
			return false;
		gen_op(g, K2_OP_AND64_K, src, 0, 0, 63);
		gen_op(g, ind_ops[i], 0, src, 0, imm & 63);
	}
	gen_clobber_call(st);
	return true;
}

bool gen_pkt(struct gen *g, struct gstate *st)
{
	uint32_t t = g->o.prog_type;
	int pkt;

	if (st->in_func)
		return false; /* no ctx, hence no packet, in a subprogram */
	if (t == BPF_PROG_TYPE_SOCKET_FILTER || (t == BPF_PROG_TYPE_SCHED_CLS && gen_chance(g, 20)))
		return pkt_ldabs(g, st);
	pkt = gen_pick(g, st, G_PKT);
	if (pkt >= 0 && st->r[pkt].off > 0 && gen_chance(g, 60))
		return gen_mem_access(g, st, pkt, 0, st->r[pkt].off, true, false);
	if (st->in_loop)
		return false;
	return pkt_guard(g, st);
}

static const struct gmap *map_of(const struct gen *g, uint32_t idx)
{
	for (uint32_t i = 0; i < g->n_maps; i++)
		if (g->maps[i].idx == idx)
			return &g->maps[i];
	return NULL;
}

static const struct gmap *pick_map(struct gen *g, bool writable, bool direct)
{
	const struct gmap *cand[K2_GEN_MAX_MAPS];
	uint32_t n = 0;

	for (uint32_t i = 0; i < g->n_maps; i++) {
		const struct gmap *m = &g->maps[i];

		if ((writable && m->ro) || (direct && !m->direct))
			continue;
		cand[n++] = m;
	}
	return n ? cand[gen_below(g, n)] : NULL;
}

/* Writes a key for map m at r10 + KEY_AREA + slot; returns its stack offset. */
static int put_key(struct gen *g, struct gstate *st, const struct gmap *m)
{
	int off = KEY_AREA + 8 * (int)gen_below(g, 4);
	bool hash = m->type != BPF_MAP_TYPE_ARRAY && m->type != BPF_MAP_TYPE_PERCPU_ARRAY;
	int64_t key = (int64_t)gen_below(g, hash ? 8 : m->max + 2);
	int src = gen_pick(g, st, G_SCALAR);

	if (src >= 0 && gen_chance(g, 15))
		gen_op(g, m->ksz == 8 ? K2_OP_STXDW : K2_OP_STXW, K2_REG_FP, src, (int16_t)off, 0);
	else
		gen_op(g, m->ksz == 8 ? K2_OP_STDW : K2_OP_STW, K2_REG_FP, 0, (int16_t)off, key);
	gen_stack_init(g, st, off, (int)m->ksz);
	return off;
}

static void stack_ptr(struct gen *g, int reg, int off)
{
	gen_op(g, K2_OP_MOV64_X, reg, K2_REG_FP, 0, 0);
	gen_op(g, K2_OP_ADD64_K, reg, 0, 0, off);
}

static void map_ptr(struct gen *g, int reg, const struct gmap *m)
{
	gen_op(g, K2_OP_LDDW_MAP_IDX, reg, 0, 0, (int64_t)m->idx);
}

/* Initialises [off, off + len) of the stack with constants where it is not yet. */
static void fill_stack(struct gen *g, struct gstate *st, int off, int len)
{
	for (int p = off; p < off + len; p += 4) {
		int size = (off + len - p >= 8 && (p % 8) == 0) ? 8 : 4;

		if (!gen_stack_is_init(st, p, size) || gen_chance(g, 30))
			gen_op(g, size == 8 ? K2_OP_STDW : K2_OP_STW, K2_REG_FP, 0, (int16_t)p,
			       gen_imm32(g));
		gen_stack_init(g, st, p, size);
		if (size == 8)
			p += 4;
	}
}

static bool map_lookup(struct gen *g, struct gstate *st)
{
	const struct gmap *m = pick_map(g, false, false);
	struct gstate in;
	int key, cp = -1;
	uint32_t j;

	if (!m || st->depth >= 4)
		return false;
	key = put_key(g, st, m);
	stack_ptr(g, 2, key);
	map_ptr(g, 1, m);
	gen_op(g, K2_OP_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem);
	gen_clobber_call(st);
	if (gen_chance(g, 50)) {
		cp = writable_except(g, st, 0x3f);
		if (cp >= 0)
			gen_op(g, K2_OP_MOV64_X, cp, 0, 0, 0);
	}
	j = g->n;
	gen_op(g, K2_OP_JEQ64_K, cp >= 0 ? cp : 0, 0, 0, 0);
	in = *st;
	in.depth++;
	gen_set(&in, 0, G_MAPVAL);
	in.r[0].map = (uint8_t)m->idx;
	if (cp >= 0)
		in.r[cp] = in.r[0];
	for (int i = 0, k = 1 + (int)gen_below(g, 3); i < k; i++)
		gen_mem_access(g, &in, cp >= 0 && gen_chance(g, 50) ? cp : 0, 0, (int)m->vsz,
			       !m->ro, false);
	gen_block(g, &in, 1 + (uint32_t)gen_below(g, 8));
	if (!g->err)
		g->insns[j].off = (int16_t)(g->n - j - 1);
	/* On the null path r0 (and its copy) is the scalar 0. */
	gen_set(st, 0, G_SCALAR);
	if (cp >= 0)
		gen_set(st, cp, G_SCALAR);
	gen_merge(st, &in);
	return true;
}

static bool map_update(struct gen *g, struct gstate *st, bool del)
{
	const struct gmap *m = pick_map(g, true, false);
	int key, val = VAL_AREA;

	if (!m)
		return false;
	key = put_key(g, st, m);
	if (!del) {
		fill_stack(g, st, val, (int)((m->vsz + 7) & ~7u));
		stack_ptr(g, 3, val);
		gen_op(g, K2_OP_MOV64_K, 4, 0, 0, (int64_t)gen_below(g, 3));
	}
	stack_ptr(g, 2, key);
	map_ptr(g, 1, m);
	gen_op(g, K2_OP_CALL, 0, 0, 0, del ? BPF_FUNC_map_delete_elem : BPF_FUNC_map_update_elem);
	gen_clobber_call(st);
	return true;
}

static bool map_direct(struct gen *g, struct gstate *st)
{
	const struct gmap *m = pick_map(g, false, true);
	int dst = gen_pick_writable(g, st);
	uint32_t off = 0;

	if (!m || dst < 0)
		return false;
	if (gen_chance(g, 30))
		off = 4 * (uint32_t)gen_below(g, m->vsz / 4);
	gen_op(g, K2_OP_LDDW_MAP_IDX_VALUE, dst, 0, 0, (int64_t)((uint64_t)off << 32 | m->idx));
	gen_set(st, dst, G_MAPVAL);
	st->r[dst].map = (uint8_t)m->idx;
	st->r[dst].off = (int16_t)off;
	return true;
}

bool gen_map(struct gen *g, struct gstate *st)
{
	int v = gen_pick(g, st, G_MAPVAL);
	uint64_t k = gen_below(g, 100);

	if (!g->n_maps)
		return false;
	if (v >= 0 && (k < 40 || st->in_loop)) {
		const struct gmap *m = map_of(g, st->r[v].map);

		return m && gen_mem_access(g, st, v, 0, (int)m->vsz, !m->ro, false);
	}
	if (st->in_loop)
		return false;
	if (k < 55)
		return map_direct(g, st);
	if (k < 85)
		return map_lookup(g, st);
	return map_update(g, st, k >= 95);
}

static bool helper_ok(struct gen *g, uint32_t id)
{
	const struct k2_helper *h = k2_helper_find(id);

	if (id < 128 && (g->o.no_helpers[id / 64] >> (id % 64) & 1))
		return false;
	return h && k2_helper_allowed(h, g->o.prog_type);
}

/* r = a constant, or a copy of a scalar. */
static void arg_scalar(struct gen *g, struct gstate *st, int reg, int64_t imm)
{
	int src = gen_pick(g, st, G_SCALAR);

	if (src >= 0 && src != reg && gen_chance(g, 25))
		gen_op(g, K2_OP_MOV64_X, reg, src, 0, 0);
	else
		gen_op(g, K2_OP_MOV64_K, reg, 0, 0, imm);
	gen_set(st, reg, G_SCALAR);
}

static int64_t pick_i64(struct gen *g, const int64_t *v, size_t n)
{
	return v[gen_below(g, n)];
}

static bool call_xdp_adjust(struct gen *g, struct gstate *st)
{
	static const int64_t meta[] = { -4, -8, -16, -32, 0, 4, -3, -36 };
	uint64_t k = gen_below(g, 3);
	uint32_t id = k == 0 ? BPF_FUNC_xdp_adjust_head
		      : k == 1 ? BPF_FUNC_xdp_adjust_tail : BPF_FUNC_xdp_adjust_meta;
	int64_t delta = k == 2 ? pick_i64(g, meta, 8) : (int64_t)gen_below(g, 161) - 80;

	if (!helper_ok(g, id))
		return false;
	gen_op(g, K2_OP_MOV64_X, 1, CTX_REG, 0, 0);
	arg_scalar(g, st, 2, delta);
	gen_op(g, K2_OP_CALL, 0, 0, 0, id);
	return true;
}

static bool call_csum_diff(struct gen *g, struct gstate *st)
{
	int from = BUF_AREA, to = BUF_AREA + 32;
	/* Mostly whole words; since 6.13 the kernel takes any size up to the buffer too. */
	int64_t fs = gen_chance(g, 80) ? 4 * (int64_t)gen_below(g, 9) : (int64_t)gen_below(g, 33);
	int64_t ts = gen_chance(g, 80) ? 4 * (int64_t)gen_below(g, 9) : (int64_t)gen_below(g, 33);

	if (!helper_ok(g, BPF_FUNC_csum_diff))
		return false;
	fill_stack(g, st, from, 64);
	if (fs || gen_chance(g, 50))
		stack_ptr(g, 1, from);
	else
		gen_op(g, K2_OP_MOV64_K, 1, 0, 0, 0);
	gen_op(g, K2_OP_MOV64_K, 2, 0, 0, fs);
	if (ts || gen_chance(g, 50))
		stack_ptr(g, 3, to);
	else
		gen_op(g, K2_OP_MOV64_K, 3, 0, 0, 0);
	gen_op(g, K2_OP_MOV64_K, 4, 0, 0, ts);
	arg_scalar(g, st, 5, gen_imm32(g));
	gen_op(g, K2_OP_CALL, 0, 0, 0, BPF_FUNC_csum_diff);
	return true;
}

static bool call_skb_bytes(struct gen *g, struct gstate *st, bool store)
{
	uint32_t id = store ? BPF_FUNC_skb_store_bytes : BPF_FUNC_skb_load_bytes;
	int64_t len = 1 + (int64_t)gen_below(g, 32);

	if (!helper_ok(g, id))
		return false;
	if (store)
		fill_stack(g, st, BUF_AREA, 32);
	gen_op(g, K2_OP_MOV64_X, 1, CTX_REG, 0, 0);
	arg_scalar(g, st, 2, (int64_t)gen_below(g, 100));
	stack_ptr(g, 3, BUF_AREA);
	gen_op(g, K2_OP_MOV64_K, 4, 0, 0, len);
	if (store)
		gen_op(g, K2_OP_MOV64_K, 5, 0, 0, gen_chance(g, 80) ? 0 : BPF_F_INVALIDATE_HASH);
	gen_op(g, K2_OP_CALL, 0, 0, 0, id);
	if (!store)
		gen_stack_init(g, st, BUF_AREA, (int)len);
	return true;
}

static bool call_csum_replace(struct gen *g, struct gstate *st)
{
	static const int64_t l3f[] = { 2, 4, 0, 3 };
	static const int64_t l4f[] = { 2, 4, 0, BPF_F_PSEUDO_HDR | 2, BPF_F_PSEUDO_HDR | 4,
				       BPF_F_MARK_MANGLED_0 | 2 };
	bool l4 = gen_chance(g, 50);
	uint32_t id = l4 ? BPF_FUNC_l4_csum_replace : BPF_FUNC_l3_csum_replace;

	if (!helper_ok(g, id))
		return false;
	gen_op(g, K2_OP_MOV64_X, 1, CTX_REG, 0, 0);
	arg_scalar(g, st, 2, gen_chance(g, 70) ? 24 : (int64_t)gen_below(g, 80));
	arg_scalar(g, st, 3, gen_imm32(g));
	arg_scalar(g, st, 4, gen_imm32(g));
	gen_op(g, K2_OP_MOV64_K, 5, 0, 0, l4 ? pick_i64(g, l4f, 6) : pick_i64(g, l3f, 4));
	gen_op(g, K2_OP_CALL, 0, 0, 0, id);
	return true;
}

static bool call_simple(struct gen *g, struct gstate *st)
{
	uint64_t k = gen_below(g, 4);

	if (k == 0 && helper_ok(g, BPF_FUNC_redirect)) {
		arg_scalar(g, st, 1, (int64_t)gen_below(g, 4));
		gen_op(g, K2_OP_MOV64_K, 2, 0, 0, gen_chance(g, 70) ? 0 : (int64_t)gen_below(g, 4));
		gen_op(g, K2_OP_CALL, 0, 0, 0, BPF_FUNC_redirect);
		return true;
	}
	if (k == 1 && helper_ok(g, BPF_FUNC_get_numa_node_id)) {
		gen_op(g, K2_OP_CALL, 0, 0, 0, BPF_FUNC_get_numa_node_id);
		return true;
	}
	if (helper_ok(g, BPF_FUNC_get_smp_processor_id)) {
		gen_op(g, K2_OP_CALL, 0, 0, 0, BPF_FUNC_get_smp_processor_id);
		return true;
	}
	return false;
}

bool gen_call(struct gen *g, struct gstate *st)
{
	uint32_t t = g->o.prog_type, id;
	bool ok, nondet = false;
	uint64_t k = gen_below(g, 10);

	if (st->in_loop || st->in_func)
		return false;
	/* Argument registers are about to be overwritten: nothing may be copied from them. */
	for (int r = 1; r <= 5; r++)
		gen_set(st, r, G_NONE);
	if (k < 2 && g->o.nondet) {
		id = gen_chance(g, 50) ? BPF_FUNC_ktime_get_ns : BPF_FUNC_get_prandom_u32;
		ok = helper_ok(g, id);
		if (ok)
			gen_op(g, K2_OP_CALL, 0, 0, 0, id);
		nondet = true;
	} else if (k < 5 && t == BPF_PROG_TYPE_XDP) {
		ok = call_xdp_adjust(g, st);
	} else if (k < 5 && t != BPF_PROG_TYPE_XDP) {
		ok = call_skb_bytes(g, st, t == BPF_PROG_TYPE_SCHED_CLS && gen_chance(g, 50));
	} else if (k < 6 && t == BPF_PROG_TYPE_SCHED_CLS) {
		ok = call_csum_replace(g, st);
	} else if (k < 7) {
		ok = call_csum_diff(g, st);
	} else {
		ok = call_simple(g, st);
	}
	if (!ok)
		return false;
	gen_clobber_call(st);
	if (nondet)
		gen_set(st, 0, G_NONE); /* never compared: the value differs between runs */
	/* A helper that may move packet bounds invalidates every packet pointer. */
	invalidate_pkt(st);
	return true;
}
