/* bpf/gen_prog.c: the random program generator: maps, structured blocks, branches, loops, exit. */
#include "bpf/gen_int.h"

#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Default weights of the classes, in enum k2_gen_class order. */
static const uint32_t default_mix[K2_GEN__COUNT] = {
	[K2_GEN_ALU64] = 12, [K2_GEN_ALU32] = 9, [K2_GEN_MOV] = 6,   [K2_GEN_END] = 2,
	[K2_GEN_BRANCH] = 7, [K2_GEN_EXIT] = 1,  [K2_GEN_STACK] = 6, [K2_GEN_PKT] = 5,
	[K2_GEN_CTX] = 2,    [K2_GEN_MAP] = 5,   [K2_GEN_ATOMIC] = 2, [K2_GEN_CALL] = 2,
	[K2_GEN_LOOP] = 1,   [K2_GEN_FUNC] = 2,
};

void k2_gen_default_mix(uint32_t *mix)
{
	memcpy(mix, default_mix, sizeof(default_mix));
}

#define MAX_DEPTH 4
#define MAX_LOOPS 2

uint64_t gen_below(struct gen *g, uint64_t n)
{
	return n ? k2_rng_below(g->rng, n) : 0;
}

bool gen_chance(struct gen *g, uint32_t percent)
{
	return k2_rng_below(g->rng, 100) < percent;
}

bool gen_isa_ok(const struct gen *g, enum k2_op op)
{
	return k2_op_info(op)->isa <= g->o.isa;
}

void gen_emit(struct gen *g, struct bpf_insn in)
{
	if (g->n == g->cap) {
		uint32_t cap = g->cap ? g->cap * 2 : 256;
		struct bpf_insn *p = realloc(g->insns, cap * sizeof(*p));

		if (!p) {
			g->err = -ENOMEM;
			return;
		}
		g->insns = p;
		g->cap = cap;
	}
	g->insns[g->n++] = in;
}

void gen_op(struct gen *g, enum k2_op op, int dst, int src, int16_t off, int64_t imm)
{
	struct bpf_insn in[2];
	int n = k2_insn_encode(op, (uint8_t)dst, (uint8_t)src, off, imm, in);

	for (int i = 0; i < n; i++)
		gen_emit(g, in[i]);
}

/* Points the jump at index j to the current end of the program. */
static void patch_here(struct gen *g, uint32_t j)
{
	if (g->err)
		return;
	if (g->insns[j].code == (BPF_JMP32 | BPF_JA))
		g->insns[j].imm = (int32_t)(g->n - j - 1);
	else
		g->insns[j].off = (int16_t)(g->n - j - 1);
}

/* The state after two paths meet: what holds on both. */
void gen_merge(struct gstate *a, const struct gstate *b)
{
	for (int r = 0; r < K2_NREGS; r++) {
		struct greg *x = &a->r[r];
		const struct greg *y = &b->r[r];

		/* Packet pointers keep the range both paths checked. */
		if (x->t == G_PKT && y->t == G_PKT && x->off > y->off)
			x->off = y->off;
		else if (memcmp(x, y, sizeof(*x)) && !(x->t == G_PKT && y->t == G_PKT))
			x->t = G_NONE;
	}
	for (int i = 0; i < K2_STACK_SIZE; i++)
		a->init[i] &= b->init[i];
}

static enum k2_op pick_cond(struct gen *g, bool use_imm)
{
	for (;;) {
		enum k2_op op = (enum k2_op)(K2_OP_JEQ64_K +
					     gen_below(g, K2_OP_JSLE32_X - K2_OP_JEQ64_K + 1));
		const struct k2_opinfo *oi = k2_op_info(op);

		if (!gen_isa_ok(g, op) || !!(oi->flags & K2_F_IMM) != use_imm)
			continue;
		return op;
	}
}

/* A conditional forward jump on scalars; returns its index (to patch). */
static uint32_t emit_cond(struct gen *g, struct gstate *st)
{
	bool use_imm = gen_chance(g, 55);
	int dst = gen_scalar(g, st), src = use_imm ? 0 : gen_scalar(g, st);
	enum k2_op op = pick_cond(g, use_imm);
	uint32_t j = g->n;

	gen_op(g, op, dst, src, 0, use_imm ? gen_imm32(g) : 0);
	return j;
}

static uint32_t emit_ja(struct gen *g)
{
	uint32_t j = g->n;

	if (gen_isa_ok(g, K2_OP_JA32) && gen_chance(g, 30))
		gen_op(g, K2_OP_JA32, 0, 0, 0, 0);
	else
		gen_op(g, K2_OP_JA, 0, 0, 0, 0);
	return j;
}

static uint32_t sub_budget(struct gen *g, uint32_t budget)
{
	uint32_t max = budget / 2 < 12 ? budget / 2 : 12;

	return 1 + (uint32_t)gen_below(g, max ? max : 1);
}

static bool gen_branch(struct gen *g, struct gstate *st, uint32_t budget)
{
	struct gstate then, other;
	uint32_t j, ja;

	if (st->depth >= MAX_DEPTH || budget < 3)
		return false;
	j = emit_cond(g, st);
	then = *st;
	then.depth++;
	gen_block(g, &then, sub_budget(g, budget));
	if (gen_chance(g, 35)) {
		ja = emit_ja(g);
		patch_here(g, j);
		other = *st;
		other.depth++;
		gen_block(g, &other, sub_budget(g, budget));
		patch_here(g, ja);
		gen_merge(&then, &other);
		then.depth--;
		*st = then;
		return true;
	}
	patch_here(g, j);
	gen_merge(st, &then);
	return true;
}

/* r0 becomes a scalar: kept, copied from another scalar, or a constant. */
static void set_r0(struct gen *g, struct gstate *st)
{
	int src;

	if (st->r[0].t == G_SCALAR && gen_chance(g, 60))
		return;
	src = gen_pick(g, st, G_SCALAR);
	if (src >= 0 && gen_chance(g, 70))
		gen_op(g, K2_OP_MOV64_X, 0, src, 0, 0);
	else
		gen_op(g, K2_OP_MOV64_K, 0, 0, 0, gen_imm32(g));
	gen_set(st, 0, G_SCALAR);
}

static bool gen_exit_early(struct gen *g, struct gstate *st)
{
	struct gstate then;
	uint32_t j;

	if (st->depth >= MAX_DEPTH || st->in_loop || !gen_writable(st, 0))
		return false;
	j = emit_cond(g, st);
	then = *st;
	then.depth++;
	set_r0(g, &then);
	gen_op(g, K2_OP_EXIT, 0, 0, 0, 0);
	patch_here(g, j);
	return true;
}

/*
 * counter = N; head: body; counter -= 1; if counter != 0 goto head. The body may write
 * only registers that are scalars at the head and calls nothing, so every iteration sees
 * the types the first one did.
 */
static bool gen_loop(struct gen *g, struct gstate *st, uint32_t budget)
{
	struct gstate body;
	int c = -1, tries = 8;
	uint32_t head;
	bool w32;

	if (st->in_loop || st->depth >= MAX_DEPTH - 1 || g->loops >= MAX_LOOPS || budget < 6)
		return false;
	while (tries-- > 0 && c < 0) {
		int r = 6 + (int)gen_below(g, 4);

		if (gen_writable(st, r))
			c = r;
	}
	if (c < 0)
		return false;
	g->loops++;
	gen_op(g, K2_OP_MOV64_K, c, 0, 0, 1 + (int64_t)gen_below(g, 5));
	gen_set(st, c, G_SCALAR);
	st->fixed |= (uint16_t)(1u << c);
	head = g->n;
	body = *st;
	body.in_loop = true;
	body.depth++;
	body.loop_ro = 0;
	for (int r = 0; r < K2_NREGS; r++)
		if (st->r[r].t != G_SCALAR)
			body.loop_ro |= (uint16_t)(1u << r);
	gen_block(g, &body, 2 + (uint32_t)gen_below(g, budget / 3 < 10 ? budget / 3 : 10));
	w32 = gen_isa_ok(g, K2_OP_JNE32_K) && gen_chance(g, 30);
	gen_op(g, w32 ? K2_OP_SUB32_K : K2_OP_SUB64_K, c, 0, 0, 1);
	gen_op(g, w32 ? K2_OP_JNE32_K : K2_OP_JNE64_K, c, 0, (int16_t)(head - g->n - 1), 0);
	body.in_loop = st->in_loop;
	body.loop_ro = st->loop_ro;
	body.depth = st->depth;
	gen_merge(st, &body);
	st->fixed &= (uint16_t)~(1u << c);
	return true;
}

/* r1..rN = scalars; call pc+(subprogram); r0 = its scalar result, r1..r5 clobbered. */
static bool call_func(struct gen *g, struct gstate *st, uint32_t f)
{
	if (st->in_func || st->in_loop || g->n_calls >= 64)
		return false;
	for (int r = 1; r <= g->func_args[f]; r++) {
		int src = gen_pick(g, st, G_SCALAR);

		if (r == g->func_ptr_arg[f]) {
			/* The callee gets PSTACK_LEN initialised bytes of this frame. */
			int off = -8 * (int)(2 + gen_below(g, 6));

			for (int q = off; q < off + PSTACK_LEN; q += 8)
				if (!gen_stack_is_init(st, q, 8) || gen_chance(g, 30)) {
					gen_op(g, K2_OP_STDW, K2_REG_FP, 0, (int16_t)q,
					       gen_imm32(g));
					gen_stack_init(g, st, q, 8);
				}
			gen_op(g, K2_OP_MOV64_X, r, K2_REG_FP, 0, 0);
			gen_op(g, K2_OP_ADD64_K, r, 0, 0, off);
			gen_set(st, r, G_STACK);
			st->r[r].off = (int16_t)off;
			continue;
		}

		if (src >= 0 && src != r && gen_chance(g, 60))
			gen_op(g, K2_OP_MOV64_X, r, src, 0, 0);
		else
			gen_op(g, K2_OP_MOV64_K, r, 0, 0, gen_imm32(g));
		gen_set(st, r, G_SCALAR);
	}
	g->calls[g->n_calls] = g->n;
	g->call_func[g->n_calls++] = (uint8_t)f;
	gen_op(g, K2_OP_CALL_PSEUDO, 0, 0, 0, 0);
	gen_clobber_call(st);
	return true;
}

static bool gen_func_call(struct gen *g, struct gstate *st)
{
	return g->n_funcs && call_func(g, st, (uint32_t)gen_below(g, g->n_funcs));
}

/* The verifier refuses code nothing reaches: every subprogram gets called at least once. */
static void call_uncalled(struct gen *g, struct gstate *st)
{
	for (uint32_t f = 0; f < g->n_funcs; f++) {
		bool called = false;

		for (uint32_t c = 0; c < g->n_calls; c++)
			called |= g->call_func[c] == f;
		if (!called)
			call_func(g, st, f);
	}
}

static enum k2_gen_class pick_class(struct gen *g)
{
	uint64_t x = gen_below(g, g->weight_sum);

	for (int c = 0; c < K2_GEN__COUNT; c++) {
		if (x < g->weights[c])
			return (enum k2_gen_class)c;
		x -= g->weights[c];
	}
	return K2_GEN_ALU64;
}

static bool gen_item(struct gen *g, struct gstate *st, uint32_t budget)
{
	switch (pick_class(g)) {
	case K2_GEN_ALU64:
		return gen_alu(g, st, true);
	case K2_GEN_ALU32:
		return gen_alu(g, st, false);
	case K2_GEN_MOV:
		return gen_mov(g, st);
	case K2_GEN_END:
		return gen_end(g, st);
	case K2_GEN_BRANCH:
		return gen_branch(g, st, budget);
	case K2_GEN_EXIT:
		return gen_exit_early(g, st);
	case K2_GEN_STACK:
		return gen_stack(g, st);
	case K2_GEN_PKT:
		return gen_pkt(g, st);
	case K2_GEN_CTX:
		return gen_ctx(g, st);
	case K2_GEN_MAP:
		return gen_map(g, st);
	case K2_GEN_ATOMIC:
		return gen_atomic(g, st);
	case K2_GEN_CALL:
		return gen_call(g, st);
	case K2_GEN_LOOP:
		return gen_loop(g, st, budget);
	case K2_GEN_FUNC:
		return gen_func_call(g, st);
	default:
		return false;
	}
}

void gen_block(struct gen *g, struct gstate *st, uint32_t budget)
{
	uint32_t start = g->n, fails = 0;

	while (g->n - start < budget && fails < 64 && !g->err) {
		if (!gen_item(g, st, budget - (g->n - start)))
			fails++;
	}
}

/* Stores every scalar of r0..r9 into the out map's value, slot i = ri. */
static void epilogue(struct gen *g, struct gstate *st)
{
	int p = 1 + (int)gen_below(g, 9), t = p == 9 ? 8 : p + 1;
	bool p_scalar = st->r[p].t == G_SCALAR;

	set_r0(g, st);
	if (g->out_map >= 0) {
		if (p_scalar)
			gen_op(g, K2_OP_STXDW, K2_REG_FP, p, -8, 0);
		gen_op(g, K2_OP_LDDW_MAP_IDX_VALUE, p, 0, 0, (int64_t)(uint32_t)g->out_map);
		for (int r = 0; r < K2_GEN_OUT_SLOTS; r++)
			if (r != p && st->r[r].t == G_SCALAR)
				gen_op(g, K2_OP_STXDW, p, r, (int16_t)(8 * r), 0);
		if (p_scalar) {
			gen_op(g, K2_OP_LDXDW, t, K2_REG_FP, -8, 0);
			gen_op(g, K2_OP_STXDW, p, t, (int16_t)(8 * p), 0);
		}
	}
	gen_op(g, K2_OP_EXIT, 0, 0, 0, 0);
}

static void add_map(struct gen *g, const char *name, uint32_t type, uint32_t ksz, uint32_t vsz,
		    uint32_t max, bool internal, bool ro, bool init)
{
	struct k2_gen_prog *gp = g->gp;
	struct k2_map *m = &gp->maps[gp->n_maps];
	struct gmap *gm = &g->maps[g->n_maps];

	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", name);
	m->type = type;
	m->key_size = ksz;
	m->value_size = vsz;
	m->max_entries = max;
	m->inner = -1;
	m->internal = internal;
	m->readonly = ro;
	if (ro)
		m->flags = BPF_F_RDONLY_PROG;
	if (init) {
		for (uint32_t i = 0; i < vsz; i++)
			gp->init[gp->n_maps][i] = (uint8_t)gen_below(g, 256);
		m->init = gp->init[gp->n_maps];
	}
	gm->idx = gp->n_maps;
	gm->type = type;
	gm->ksz = ksz;
	gm->vsz = vsz;
	gm->max = max;
	gm->ro = ro;
	gm->direct = type == BPF_MAP_TYPE_ARRAY && max == 1;
	gp->n_maps++;
	g->n_maps++;
}

static uint32_t pick_u32(struct gen *g, const uint32_t *v, uint32_t n)
{
	return v[gen_below(g, n)];
}

static void setup_maps(struct gen *g)
{
	static const uint32_t vszs[] = { 4, 8, 12, 16, 24, 32, 48, 64 };
	static const uint32_t maxes[] = { 1, 2, 4, 8 };
	static const uint32_t kszs[] = { 4, 8 };
	bool used[7] = { false };
	uint32_t n_extra;

	g->out_map = -1;
	if (g->o.no_maps)
		return;
	if (!g->o.no_out_map) {
		g->out_map = (int)g->gp->n_maps;
		add_map(g, "out", BPF_MAP_TYPE_ARRAY, 4, 8 * K2_GEN_OUT_SLOTS, 1, false, false,
			false);
	}
	n_extra = 1 + (uint32_t)gen_below(g, 4);
	for (uint32_t i = 0; i < n_extra && g->gp->n_maps < K2_GEN_MAX_MAPS; i++) {
		uint32_t k = (uint32_t)gen_below(g, 7);
		uint32_t vsz = pick_u32(g, vszs, 8), max = pick_u32(g, maxes, 4);

		if (used[k])
			continue;
		used[k] = true;
		switch (k) {
		case 0:
			add_map(g, "arr", BPF_MAP_TYPE_ARRAY, 4, vsz, max, false, false, false);
			break;
		case 1:
			add_map(g, "hash", BPF_MAP_TYPE_HASH, pick_u32(g, kszs, 2), vsz, 2 * max,
				false, false, false);
			break;
		case 2:
			add_map(g, "pcpu_arr", BPF_MAP_TYPE_PERCPU_ARRAY, 4, vsz, max, false, false,
				false);
			break;
		case 3:
			add_map(g, "pcpu_hash", BPF_MAP_TYPE_PERCPU_HASH, pick_u32(g, kszs, 2), vsz,
				2 * max, false, false, false);
			break;
		case 4:
			add_map(g, ".bss", BPF_MAP_TYPE_ARRAY, 4, vsz, 1, true, false, false);
			break;
		case 5:
			add_map(g, ".data", BPF_MAP_TYPE_ARRAY, 4, vsz, 1, true, false, true);
			break;
		default:
			add_map(g, ".rodata", BPF_MAP_TYPE_ARRAY, 4, vsz, 1, true, true, true);
			break;
		}
	}
}

static void normalize(struct gen *g, const struct k2_gen_opts *opts)
{
	size_t n = opts && opts->sz < sizeof(g->o) ? opts->sz : sizeof(g->o);

	memset(&g->o, 0, sizeof(g->o));
	if (opts)
		memcpy(&g->o, opts, n);
	g->o.sz = sizeof(g->o);
	if (!g->o.prog_type)
		g->o.prog_type = BPF_PROG_TYPE_XDP;
	if (!g->o.n_insns)
		g->o.n_insns = 48;
	if (!g->o.isa || g->o.isa > K2_ISA_V4)
		g->o.isa = K2_ISA_V4;
	g->weight_sum = 0;
	for (int c = 0; c < K2_GEN__COUNT; c++)
		g->weight_sum += g->o.mix[c];
	for (int c = 0; c < K2_GEN__COUNT; c++)
		g->weights[c] = g->weight_sum ? g->o.mix[c] : default_mix[c];
	g->weight_sum = 0;
	for (int c = 0; c < K2_GEN__COUNT; c++)
		g->weight_sum += g->weights[c];
}

/* Subprograms: scalar arguments r1..rN, their own frame, a scalar r0 at every exit. */
static void gen_funcs(struct gen *g)
{
	uint32_t start[K2_GEN_MAX_FUNCS];

	for (uint32_t f = 0; f < g->n_funcs; f++) {
		struct gstate st;

		start[f] = g->n;
		memset(&st, 0, sizeof(st));
		st.r[K2_REG_FP].t = G_STACK;
		st.fixed = (uint16_t)(1u << K2_REG_FP);
		st.in_func = true;
		st.stack_min = -K2_STACK_SIZE / 2;
		for (int r = 1; r <= g->func_args[f]; r++)
			st.r[r].t = r == g->func_ptr_arg[f] ? G_PSTACK : G_SCALAR;
		gen_block(g, &st, 4 + (uint32_t)gen_below(g, 24));
		set_r0(g, &st);
		gen_op(g, K2_OP_EXIT, 0, 0, 0, 0);
	}
	for (uint32_t c = 0; c < g->n_calls && !g->err; c++)
		g->insns[g->calls[c]].imm = (int32_t)(start[g->call_func[c]] - g->calls[c] - 1);
}

static void prologue(struct gen *g, struct gstate *st)
{
	memset(st, 0, sizeof(*st));
	st->stack_min = g->n_funcs ? -K2_STACK_SIZE / 2 : -K2_STACK_SIZE;
	st->r[1].t = G_CTX;
	st->r[K2_REG_FP].t = G_STACK;
	gen_op(g, K2_OP_MOV64_X, CTX_REG, 1, 0, 0);
	gen_set(st, CTX_REG, G_CTX);
	st->fixed = (uint16_t)(1u << CTX_REG | 1u << K2_REG_FP);
	for (uint32_t i = 0, n = 2 + (uint32_t)gen_below(g, 3); i < n; i++)
		gen_mov(g, st);
}

static const char *type_sec(uint32_t type)
{
	switch (type) {
	case BPF_PROG_TYPE_SCHED_CLS:
		return "tc";
	case BPF_PROG_TYPE_SOCKET_FILTER:
		return "socket";
	default:
		return "xdp";
	}
}

int k2_gen_prog_new(struct k2_rng *rng, const struct k2_gen_opts *opts, struct k2_gen_prog **out,
		    struct k2_err *e)
{
	struct gen g;
	struct gstate st;
	uint32_t t, n_main;

	*out = NULL;
	memset(&g, 0, sizeof(g));
	g.rng = rng;
	normalize(&g, opts);
	t = g.o.prog_type;
	if (t != BPF_PROG_TYPE_XDP && t != BPF_PROG_TYPE_SCHED_CLS &&
	    t != BPF_PROG_TYPE_SOCKET_FILTER)
		return k2_err_set(e, -EOPNOTSUPP, "generator: program type %u not supported", t);
	g.gp = calloc(1, sizeof(*g.gp));
	if (!g.gp)
		return k2_err_set(e, -ENOMEM, "generator: out of memory");
	setup_maps(&g);
	/* Half the programs have subprograms; their frames and main's then split the stack. */
	if (g.weights[K2_GEN_FUNC] && gen_chance(&g, 50)) {
		g.n_funcs = 1 + (uint32_t)gen_below(&g, K2_GEN_MAX_FUNCS);
		for (uint32_t f = 0; f < g.n_funcs; f++) {
			g.func_args[f] = (uint8_t)gen_below(&g, 6);
			if (g.func_args[f] && gen_chance(&g, 50))
				g.func_ptr_arg[f] = (uint8_t)(1 + gen_below(&g, g.func_args[f]));
		}
	}
	prologue(&g, &st);
	gen_block(&g, &st, g.o.n_insns);
	call_uncalled(&g, &st);
	epilogue(&g, &st);
	n_main = g.n;
	gen_funcs(&g);
	if (g.err) {
		free(g.insns);
		free(g.gp);
		return k2_err_set(e, g.err, "generator: out of memory");
	}
	snprintf(g.gp->prog.name, sizeof(g.gp->prog.name), "k2_gen");
	snprintf(g.gp->prog.sec, sizeof(g.gp->prog.sec), "%s", type_sec(t));
	g.gp->prog.type = t;
	g.gp->prog.insns = g.insns;
	g.gp->prog.n_insns = g.n;
	g.gp->prog.n_main = n_main;
	g.gp->prog.maps = g.gp->maps;
	g.gp->prog.n_maps = g.gp->n_maps;
	g.gp->prog.license = "GPL";
	*out = g.gp;
	return 0;
}

void k2_gen_prog_free(struct k2_gen_prog *gp)
{
	if (!gp)
		return;
	free(gp->prog.insns);
	free(gp);
}
