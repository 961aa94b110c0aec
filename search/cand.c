/* search/cand.c: candidate cells: encoding, conversion from slots, compaction, identity. */
#include <string.h>

#include "search/search_int.h"

void k2_cell_nop(struct k2_cell *c)
{
	memset(c, 0, sizeof(*c));
	k2_insn_encode(K2_OP_JA, 0, 0, 0, 0, c->s);
	c->op = K2_OP_JA;
	c->slots = 0;
	c->branch = true;
}

void k2_cell_set(struct k2_cell *c, enum k2_op op, uint8_t dst, uint8_t src, int16_t off,
		 int64_t imm)
{
	int n;

	memset(c, 0, sizeof(*c));
	if ((k2_op_info(op)->flags & K2_F_FETCH) && src == K2_REG_FP)
		src = 0; /* a fetching atomic writes its source register */
	n = k2_insn_encode(op, dst, src, off, imm, c->s);
	c->op = (uint8_t)op;
	c->slots = (uint8_t)n;
	c->branch = (k2_op_info(op)->flags & K2_F_BRANCH) != 0;
	if (op == K2_OP_JA && c->s[0].off == 0)
		c->slots = 0;
}

int k2_cells_from_insns(const struct bpf_insn *insns, uint32_t n, struct k2_cell *cells)
{
	int32_t cell_of[n + 1];
	uint32_t nc = 0, i;

	for (i = 0; i < n; i++)
		cell_of[i] = -1;
	for (i = 0; i < n; nc++) {
		enum k2_op op = k2_insn_op(&insns[i]);
		uint32_t w = op != K2_OP_INVALID && k2_op_info(op)->kind == K2_KIND_LDDW ? 2 : 1;

		if (op == K2_OP_INVALID || i + w > n)
			return -EINVAL;
		cell_of[i] = (int32_t)nc;
		memset(&cells[nc], 0, sizeof(cells[nc]));
		memcpy(cells[nc].s, &insns[i], w * sizeof(*insns));
		cells[nc].op = (uint8_t)op;
		cells[nc].slots = (uint8_t)w;
		cells[nc].branch = (k2_op_info(op)->flags & K2_F_BRANCH) != 0;
		if (op == K2_OP_JA && insns[i].off == 0)
			cells[nc].slots = 0;
		i += w;
	}
	cell_of[n] = (int32_t)nc;
	/* Jump offsets from slots to cells. */
	for (i = 0; i < n; i++) {
		struct k2_cell *c;
		long t;

		if (cell_of[i] < 0)
			continue;
		c = &cells[cell_of[i]];
		if (!c->branch)
			continue;
		if (c->op == K2_OP_JA32)
			return -EINVAL; /* windows and candidates use ja */
		t = k2_insn_target(&insns[i], i);
		if (t <= (long)i || t > (long)n || cell_of[t] < 0)
			return -EINVAL;
		c->s[0].off = (int16_t)(cell_of[t] - cell_of[i] - 1);
	}
	return (int)nc;
}

uint32_t k2_cells_compact(const struct k2_cell *c, uint32_t n, struct bpf_insn *out,
			  uint32_t *pos)
{
	uint32_t at = 0, i;

	/* pos[i]: slot where cell i (or, for a nop, the next real cell) lands. */
	pos[n] = 0;
	for (i = 0; i < n; i++)
		pos[n] += c[i].slots;
	for (i = n; i-- > 0;)
		pos[i] = pos[i + 1] - c[i].slots;
	for (i = 0; i < n; i++) {
		const struct k2_cell *ci = &c[i];

		if (!ci->slots)
			continue;
		out[at] = ci->s[0];
		if (ci->slots == 2)
			out[at + 1] = ci->s[1];
		if (ci->branch) {
			uint32_t t = i + 1 + (uint32_t)ci->s[0].off;

			out[at].off = (int16_t)(pos[t > n ? n : t] - (at + 1));
		}
		at += ci->slots;
	}
	return at;
}

uint64_t k2_insns_hash(const struct bpf_insn *insns, uint32_t n)
{
	const uint8_t *p = (const uint8_t *)insns;
	uint64_t h = 0xcbf29ce484222325ULL ^ n;

	for (size_t i = 0; i < n * sizeof(*insns); i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h ^ (h >> 29);
}

uint32_t k2_insns_count(const struct bpf_insn *insns, uint32_t n)
{
	uint32_t c = 0;

	for (uint32_t i = 0; i < n; c++)
		i += k2_op_info(k2_insn_op(&insns[i]))->kind == K2_KIND_LDDW ? 2 : 1;
	return c;
}
