/* tests/unit/text_roundtrip.c: bytes -> text -> bytes for every op, edge operands and random. */
#include <criterion/criterion.h>
#include <limits.h>

#include "tests/unit/text_util.h"

static const uint8_t regs[] = { 0, 1, 10 };
static const int16_t offs[] = { INT16_MIN, -1, 0, 1, INT16_MAX };
static const int32_t imms[] = { INT32_MIN, -1, 0, 1, INT32_MAX };
static const int64_t imm64s[] = {
	0, 1, -1, INT64_MIN, INT64_MAX, 0x123456789abcdef0LL, 0xffffffffLL, 0x100000000LL,
	0x80000000LL, -0x80000000LL, (int64_t)0xfedcba9876543210ULL, 0x7fffffff00000000LL,
};

/* Text of `in` assembles to `in`, and that text prints back identically. */
static void expect_round_trip(const struct bpf_insn *in, const char *what)
{
	char text[128], again[128], why[512];
	struct bpf_insn back[2];
	struct k2_err e = { 0 };

	if (text_round_trip(in, text, sizeof(text), why, sizeof(why))) {
		cr_expect(false, "%s: %s", what, why);
		return;
	}
	k2_asm_insn(text, back, &e);
	k2_disasm_insn(back, again, sizeof(again));
	cr_expect_str_eq(text, again, "%s: '%s' prints back as '%s'", what, text, again);
}

static size_t edges_of(enum k2_op op)
{
	const struct k2_opinfo *oi = k2_op_info(op);
	bool wide = oi->kind == K2_KIND_LDDW;
	size_t nimm = wide ? sizeof(imm64s) / sizeof(imm64s[0]) : sizeof(imms) / sizeof(imms[0]);
	size_t count = 0;

	for (size_t d = 0; d < sizeof(regs); d++)
		for (size_t s = 0; s < sizeof(regs); s++)
			for (size_t o = 0; o < sizeof(offs) / sizeof(offs[0]); o++)
				for (size_t i = 0; i < nimm; i++) {
					struct bpf_insn in[2] = { 0 };
					int64_t imm = wide ? imm64s[i] : imms[i];

					k2_insn_encode(op, regs[d], regs[s], offs[o], imm, in);
					cr_assert_eq(k2_insn_op(in), op, "%s re-decodes as %s",
						     oi->name, k2_op_info(k2_insn_op(in))->name);
					expect_round_trip(in, oi->name);
					count++;
				}
	return count;
}

Test(text_roundtrip, every_op_with_edge_operands)
{
	size_t total = 0;

	for (int op = 1; op < K2_OP__COUNT; op++)
		total += edges_of((enum k2_op)op);
	cr_log_info("%zu instructions round-tripped", total);
	cr_expect_gt(total, 30000);
}

/* Whether the disassembler must accept these bytes: a valid op with printable fields. */
static bool printable(const struct bpf_insn *in)
{
	enum k2_op op = k2_insn_op(in);
	const struct k2_opinfo *oi = k2_op_info(op);

	if (op == K2_OP_INVALID)
		return false;
	if ((oi->flags & (K2_F_RD_DST | K2_F_WR_DST)) && in->dst_reg > 10)
		return false;
	if ((oi->flags & K2_F_RD_SRC) && in->src_reg > 10)
		return false;
	if (oi->kind == K2_KIND_LDDW)
		return !in[1].code && !in[1].dst_reg && !in[1].src_reg && !in[1].off;
	return true;
}

/* Random slots: encoded ops with random operands, some with a flipped bit, and raw bytes. */
static void random_slot(struct k2_rng *rng, struct bpf_insn in[2])
{
	uint64_t r = k2_rng_next(rng), raw[2] = { k2_rng_next(rng), k2_rng_next(rng) };
	enum k2_op op = (enum k2_op)(1 + k2_rng_below(rng, K2_OP__COUNT - 1));

	memcpy(in, raw, sizeof(raw));
	if ((r & 3) == 0) {
		if (r & 4) /* a table opcode with random fields */
			in[0].code = k2_op_info(op)->code;
		return;
	}
	k2_insn_encode(op, (uint8_t)(raw[0] % 12), (uint8_t)(raw[0] >> 8) % 12,
		       (int16_t)(raw[0] >> 16), (int64_t)raw[1], in);
	if ((r & 12) == 0) /* one flipped bit in either slot */
		((uint8_t *)in)[(r >> 4) % 16] ^= (uint8_t)(1u << ((r >> 8) & 7));
}

Test(text_roundtrip, random_slots)
{
	struct k2_rng rng;
	size_t valid = 0, rounds = 400000;

	k2_rng_seed(&rng, 42);
	for (size_t i = 0; i < rounds; i++) {
		struct bpf_insn in[2];
		char text[128];
		int n;

		random_slot(&rng, in);
		n = k2_disasm_insn(in, text, sizeof(text));
		cr_assert_eq(n >= 0, printable(in), "%02x %02x %d %d: prints '%s'", in->code,
			     ((uint8_t *)in)[1], in->off, in->imm, text);
		if (n >= 0) {
			expect_round_trip(in, "random");
			valid++;
		}
	}
	cr_log_info("%zu of %zu random slots printable", valid, rounds);
	cr_expect_gt(valid, rounds / 2);
}

Test(text_roundtrip, small_buffers_truncate_like_snprintf)
{
	struct bpf_insn in[2] = { 0 };
	char full[128], small[8];
	int n, m;

	k2_insn_encode(K2_OP_ATOMIC_FETCH_XOR64, 3, 4, -300, 0, in);
	n = k2_disasm_insn(in, full, sizeof(full));
	cr_assert_eq((size_t)n, strlen(full));
	memset(small, 'x', sizeof(small));
	m = k2_disasm_insn(in, small, sizeof(small));
	cr_expect_eq(m, n);
	cr_expect_eq(small[sizeof(small) - 1], '\0');
	cr_expect_eq(strncmp(small, full, sizeof(small) - 1), 0);
	cr_expect_eq(k2_disasm_insn(in, NULL, 0), n);
}

Test(text_roundtrip, invalid_bytes_print_invalid)
{
	struct bpf_insn bad[][2] = {
		{ { .code = 0xff } },
		{ { .code = BPF_ALU64 | BPF_ADD | BPF_X, .dst_reg = 11, .src_reg = 1 } },
		{ { .code = BPF_ALU64 | BPF_ADD | BPF_X, .dst_reg = 1, .src_reg = 15 } },
		{ { .code = BPF_LD | BPF_IMM | BPF_DW, .dst_reg = 1 }, { .code = 0x61 } },
		{ { .code = BPF_LD | BPF_IMM | BPF_DW, .dst_reg = 1 }, { .off = 1 } },
		{ { .code = BPF_LD | BPF_IMM | BPF_DW, .dst_reg = 12 }, { 0 } },
	};
	char text[32];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_expect_lt(k2_disasm_insn(bad[i], text, sizeof(text)), 0, "case %zu", i);
		cr_expect_str_eq(text, "invalid");
	}
}
