/* kernel_bench/opcodes_gen.c: straight-line programs of one operation, for its marginal cost. */
#include "kernel_bench/opcodes_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Register plan. The verifier must not know the values (so nothing is folded or pruned),
 * but we must, to choose jump outcomes: they come from xdp_md fields of the bench's input
 * (ingress_ifindex = 1, rx_queue_index = 0).
 *   r6 = 1, r7 = 0           unknown u32s from the context
 *   r2..r5 = 4, 5, 6, 7      destinations, rotating: four independent dependency chains
 *   r8 = 2, r9 = 4, r1 = 6   sources (ALU bodies never write them)
 * Jumps compare r2 (= 4) with 2, 4 or 6 (an immediate, or r8, r9, r1).
 * Memory operations use the stack slots r10 - 8 .. r10 - 64, all initialised.
 */
static const uint8_t dsts[] = { BPF_REG_2, BPF_REG_3, BPF_REG_4, BPF_REG_5 };
static const uint8_t srcs[] = { BPF_REG_8, BPF_REG_9 };

struct buf {
	struct bpf_insn *in;
	uint32_t n, cap;
	int err;
};

static void put(struct buf *b, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	if (b->n == b->cap) {
		uint32_t cap = b->cap ? 2 * b->cap : 4096;
		struct bpf_insn *in = realloc(b->in, cap * sizeof(*in));

		if (!in) {
			b->err = -ENOMEM;
			return;
		}
		b->in = in;
		b->cap = cap;
	}
	b->in[b->n++] = (struct bpf_insn){ .code = code, .dst_reg = dst, .src_reg = src,
					   .off = off, .imm = imm };
}

static void put_op(struct buf *b, enum k2_op op, uint8_t dst, uint8_t src, int16_t off,
		   int64_t imm)
{
	struct bpf_insn two[2];
	int k = k2_insn_encode(op, dst, src, off, imm, two);

	if (k <= 0) {
		b->err = -EINVAL;
		return;
	}
	for (int i = 0; i < k; i++)
		put(b, two[i].code, two[i].dst_reg, two[i].src_reg, two[i].off, two[i].imm);
}

static void mov_k(struct buf *b, uint8_t dst, int32_t imm)
{
	put(b, BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm);
}

static void prologue(struct buf *b, uint32_t type)
{
	if (type == BPF_PROG_TYPE_SOCKET_FILTER) {
		/* LD_ABS/LD_IND take the skb from r6. */
		put(b, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_1, 0, 0);
		mov_k(b, BPF_REG_7, 0);
		return;
	}
	put(b, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_6, BPF_REG_1,
	    offsetof(struct xdp_md, ingress_ifindex), 0);
	put(b, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_7, BPF_REG_1,
	    offsetof(struct xdp_md, rx_queue_index), 0);
	for (uint32_t i = 0; i < 4; i++) {
		put(b, BPF_ALU64 | BPF_MOV | BPF_X, dsts[i], BPF_REG_6, 0, 0);
		put(b, BPF_ALU64 | BPF_ADD | BPF_K, dsts[i], 0, 0, 3 + (int32_t)i);
	}
	put(b, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_8, BPF_REG_7, 0, 0);
	put(b, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_8, 0, 0, 2);
	put(b, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_9, BPF_REG_7, 0, 0);
	put(b, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_9, 0, 0, 4);
	put(b, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_7, 0, 0);
	put(b, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_1, 0, 0, 6);
	mov_k(b, BPF_REG_0, 0);
	for (int16_t off = -8; off >= -64; off -= 8)
		put(b, BPF_STX | BPF_MEM | BPF_DW, BPF_REG_10, BPF_REG_6, off, 0);
}

/* An immediate for an ALU op that keeps it valid (no division by 0, shifts < width). */
static int32_t alu_imm(const struct k2_opinfo *oi)
{
	switch (oi->aluop) {
	case BPF_MUL: return 3;
	case BPF_DIV: case BPF_MOD: return 7;
	case BPF_LSH: case BPF_RSH: case BPF_ARSH: return 3;
	default: return 0x1234;
	}
}

/* Immediate / register (value 2, 4 or 6) that makes `r2 (4) OP x` hold or fail. */
static int jump_operand(uint8_t aluop, bool taken)
{
	switch (aluop) {
	case BPF_JEQ: case BPF_JLE: case BPF_JSLE: return taken ? 4 : 2;
	case BPF_JNE: case BPF_JGT: case BPF_JSGT: return taken ? 2 : 4;
	case BPF_JGE: case BPF_JSGE: return taken ? 2 : 6;
	case BPF_JLT: case BPF_JSLT: return taken ? 6 : 2;
	case BPF_JSET: return taken ? 4 : 2;
	}
	return 0;
}

static uint8_t reg_of_value(int v)
{
	return v == 2 ? BPF_REG_8 : v == 4 ? BPF_REG_9 : BPF_REG_1;
}

static void jump(struct buf *b, const struct k2_opcase *c, const struct k2_opinfo *oi)
{
	bool taken = c->var == K2_OPV_TAKEN;
	int v = jump_operand(oi->aluop, taken);

	/* Taken jumps skip one instruction so the CPU really redirects; not taken fall through. */
	put_op(b, c->op, BPF_REG_2, reg_of_value(v), taken ? 1 : 0, v);
	if (taken)
		mov_k(b, BPF_REG_0, 1);
}

static void helper(struct buf *b, const struct k2_opcase *c, const struct k2_opmaps *m)
{
	int fd = c->map ? m->hash_fd : m->array_fd;

	switch (c->helper) {
	case BPF_FUNC_map_lookup_elem:
	case BPF_FUNC_map_update_elem:
		put_op(b, K2_OP_LDDW_MAP_FD, BPF_REG_1, 0, 0, fd);
		put(b, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0);
		put(b, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -8);
		if (c->helper == BPF_FUNC_map_update_elem) {
			put(b, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_3, BPF_REG_10, 0, 0);
			put(b, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_3, 0, 0, -16);
			mov_k(b, BPF_REG_4, BPF_ANY);
		}
		break;
	case BPF_FUNC_csum_diff:
		put(b, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_10, 0, 0);
		put(b, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_1, 0, 0, -16);
		mov_k(b, BPF_REG_2, 8);
		put(b, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_3, BPF_REG_10, 0, 0);
		put(b, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_3, 0, 0, -8);
		mov_k(b, BPF_REG_4, 8);
		mov_k(b, BPF_REG_5, 0);
		break;
	default:
		break;
	}
	put(b, BPF_JMP | BPF_CALL, 0, 0, 0, (int32_t)c->helper);
}

/* One copy of the pattern, the i-th (operands rotate with i). */
static void copy(struct buf *b, const struct k2_opcase *c, const struct k2_opmaps *m, uint32_t i)
{
	const struct k2_opinfo *oi = k2_op_info(c->op);
	uint8_t dst = dsts[i % 4], src = srcs[i % 2];
	int16_t slot = (int16_t)(-8 * (int)(1 + i % 8));

	if (c->var == K2_OPV_HELPER)
		return helper(b, c, m);
	switch (oi->kind) {
	case K2_KIND_ALU:
	case K2_KIND_END:
		return put_op(b, c->op, dst, src, 0, alu_imm(oi));
	case K2_KIND_JMP:
		return jump(b, c, oi);
	case K2_KIND_LDX:
		return put_op(b, c->op, dst, BPF_REG_10, slot, 0);
	case K2_KIND_ST:
		return put_op(b, c->op, BPF_REG_10, 0, slot, 0x12);
	case K2_KIND_STX:
	case K2_KIND_ATOMIC:
		return put_op(b, c->op, BPF_REG_10, src, slot, 0);
	case K2_KIND_LDDW:
		if (c->op == K2_OP_LDDW)
			return put_op(b, c->op, dst, 0, 0, 0x0123456789abcdefLL);
		/* a map pointer, or a pointer to the value of a one-element array */
		return put_op(b, c->op, dst, 0, 0,
			      c->op == K2_OP_LDDW_MAP_VALUE ? m->value_fd : m->array_fd);
	case K2_KIND_LDABS:
		return put_op(b, c->op, 0, 0, 0, 14 + (int32_t)(i % 8));
	case K2_KIND_LDIND:
		return put_op(b, c->op, 0, BPF_REG_7, 0, 14 + (int32_t)(i % 8));
	case K2_KIND_CALL: /* bpf-to-bpf: the target is patched once the subprogram exists */
		return put(b, BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 0);
	default:
		b->err = -EOPNOTSUPP;
	}
}

/* A chain of unconditional jumps, each to the instruction before it: `copies` taken jumps. */
static void ja_chain(struct buf *b, enum k2_op op, uint32_t copies)
{
	bool wide = op == K2_OP_JA32;
	uint8_t code = wide ? BPF_JMP32 | BPF_JA : BPF_JMP | BPF_JA;

	/* entry: jump to the last link; link k jumps to link k - 1; link 0 to the end */
	for (int j = 0; j < 2; j++)
		put(b, code, 0, 0, wide ? 0 : (int16_t)(copies - 1),
		    wide ? (int32_t)(copies - 1) : 0);
	for (uint32_t k = 1; k < copies; k++)
		put(b, code, 0, 0, wide ? 0 : -2, wide ? -2 : 0);
}

int k2_opcase_prog(const struct k2_opcase *c, uint32_t copies, const struct k2_opmaps *m,
		   struct bpf_insn **out, uint32_t *n, struct k2_err *e)
{
	struct buf b = { 0 };
	uint32_t body;

	*out = NULL;
	prologue(&b, c->prog_type);
	body = b.n;
	if (c->op == K2_OP_JA || c->op == K2_OP_JA32)
		ja_chain(&b, c->op, copies);
	else
		for (uint32_t i = 0; i < copies && !b.err; i++)
			copy(&b, c, m, i);
	mov_k(&b, BPF_REG_0, c->prog_type == BPF_PROG_TYPE_XDP ? XDP_PASS : 0);
	put(&b, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	if (c->op == K2_OP_CALL_PSEUDO && c->var == K2_OPV_PLAIN) {
		uint32_t sub = b.n;

		mov_k(&b, BPF_REG_0, 0);
		put(&b, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
		for (uint32_t i = body; i < sub && !b.err; i++)
			if (b.in[i].code == (BPF_JMP | BPF_CALL) &&
			    b.in[i].src_reg == BPF_PSEUDO_CALL)
				b.in[i].imm = (int32_t)(sub - i - 1);
	}
	if (b.err) {
		free(b.in);
		return k2_err_set(e, b.err, "%s: cannot build the program", c->name);
	}
	*out = b.in;
	*n = b.n;
	return 0;
}

/* ---- the plan --------------------------------------------------------------------------- */

static const struct {
	const char *name;
	uint32_t id;
	uint32_t map;
} helpers[] = {
	{ "get_prandom_u32", BPF_FUNC_get_prandom_u32, 0 },
	{ "ktime_get_ns", BPF_FUNC_ktime_get_ns, 0 },
	{ "get_smp_processor_id", BPF_FUNC_get_smp_processor_id, 0 },
	{ "map_lookup_elem.array", BPF_FUNC_map_lookup_elem, 0 },
	{ "map_lookup_elem.hash", BPF_FUNC_map_lookup_elem, 1 },
	{ "map_update_elem.array", BPF_FUNC_map_update_elem, 0 },
	{ "map_update_elem.hash", BPF_FUNC_map_update_elem, 1 },
	{ "csum_diff", BPF_FUNC_csum_diff, 0 },
};

/* Ops the generator cannot place in a measurable straight line. */
static bool skipped(enum k2_op op)
{
	return op == K2_OP_INVALID || op == K2_OP_EXIT || op == K2_OP_CALL ||
	       op == K2_OP_CALL_KFUNC || op == K2_OP_LDDW_BTF_ID || op == K2_OP_LDDW_FUNC ||
	       op == K2_OP_LDDW_MAP_IDX || op == K2_OP_LDDW_MAP_IDX_VALUE;
}

int k2_opcases(struct k2_opcase **out, uint32_t *n)
{
	uint32_t cap = 2 * K2_OP__COUNT + sizeof(helpers) / sizeof(helpers[0]), k = 0;
	struct k2_opcase *c = calloc(cap, sizeof(*c));

	*out = NULL;
	if (!c)
		return -ENOMEM;
	for (int op = 1; op < K2_OP__COUNT; op++) {
		const struct k2_opinfo *oi = k2_op_info((enum k2_op)op);

		if (skipped((enum k2_op)op))
			continue;
		for (int t = 0; t < (oi->kind == K2_KIND_JMP ? 2 : 1); t++) {
			struct k2_opcase *x = &c[k++];

			x->op = (enum k2_op)op;
			x->var = oi->kind != K2_KIND_JMP ? K2_OPV_PLAIN
				 : t ? K2_OPV_NOT_TAKEN : K2_OPV_TAKEN;
			x->prog_type = oi->kind == K2_KIND_LDABS || oi->kind == K2_KIND_LDIND
					       ? BPF_PROG_TYPE_SOCKET_FILTER
					       : BPF_PROG_TYPE_XDP;
			snprintf(x->name, sizeof(x->name), "%s%s", oi->name,
				 x->var == K2_OPV_TAKEN ? ".taken"
				 : x->var == K2_OPV_NOT_TAKEN ? ".not_taken" : "");
		}
	}
	for (size_t h = 0; h < sizeof(helpers) / sizeof(helpers[0]); h++) {
		struct k2_opcase *x = &c[k++];

		x->op = K2_OP_CALL;
		x->var = K2_OPV_HELPER;
		x->helper = helpers[h].id;
		x->map = helpers[h].map;
		x->prog_type = BPF_PROG_TYPE_XDP;
		snprintf(x->name, sizeof(x->name), "helper.%s", helpers[h].name);
	}
	*out = c;
	*n = k;
	return 0;
}
