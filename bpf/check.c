/* bpf/check.c: one structural check of an instruction sequence, so later passes may trust it. */
#include "bpf/k2_insn.h"

#include <stdlib.h>

static bool is_reg_field(const struct k2_opinfo *oi, bool src)
{
	if (src)
		return oi->flags & (K2_F_RD_SRC | K2_F_FETCH);
	return oi->flags & (K2_F_RD_DST | K2_F_WR_DST);
}

static int check_regs(const struct bpf_insn *in, const struct k2_opinfo *oi, size_t i,
		      struct k2_err *e)
{
	if (is_reg_field(oi, false) && in->dst_reg >= K2_NREGS)
		return k2_err_set(e, -EINVAL, "insn %zu: R%u is invalid", i, in->dst_reg);
	if (is_reg_field(oi, true) && in->src_reg >= K2_NREGS)
		return k2_err_set(e, -EINVAL, "insn %zu: R%u is invalid", i, in->src_reg);
	if (in->dst_reg >= K2_NREGS || in->src_reg >= K2_NREGS)
		if (oi->kind != K2_KIND_LDDW && oi->kind != K2_KIND_CALL)
			return k2_err_set(e, -EINVAL, "insn %zu: register field out of range", i);
	if ((oi->flags & K2_F_WR_DST) && in->dst_reg == K2_REG_FP)
		return k2_err_set(e, -EACCES, "insn %zu: frame pointer is read only", i);
	if ((oi->flags & K2_F_FETCH) && in->src_reg == K2_REG_FP)
		return k2_err_set(e, -EACCES, "insn %zu: frame pointer is read only", i);
	return 0;
}

static int check_imm(const struct bpf_insn *in, const struct k2_opinfo *oi, size_t i,
		     struct k2_err *e)
{
	if (oi->kind != K2_KIND_ALU || !(oi->flags & K2_F_IMM))
		return 0;
	if ((oi->aluop == BPF_DIV || oi->aluop == BPF_MOD) && in->imm == 0)
		return k2_err_set(e, -EINVAL, "insn %zu: division by zero", i);
	if (oi->aluop == BPF_LSH || oi->aluop == BPF_RSH || oi->aluop == BPF_ARSH)
		if (in->imm < 0 || in->imm >= oi->width)
			return k2_err_set(e, -EINVAL, "insn %zu: invalid shift %d", i, in->imm);
	return 0;
}

static int check_lddw(const struct bpf_insn *insns, size_t n, size_t i, struct k2_err *e)
{
	const struct bpf_insn *hi = &insns[i + 1];

	if (i + 1 >= n)
		return k2_err_set(e, -EINVAL, "insn %zu: ld_imm64 is missing its second half", i);
	if (hi->code || hi->dst_reg || hi->src_reg || hi->off)
		return k2_err_set(e, -EINVAL, "insn %zu: invalid second half of ld_imm64", i);
	return 0;
}

static int check_target(const bool *second, size_t n, size_t i, long t, struct k2_err *e)
{
	if (t < 0 || (size_t)t >= n)
		return k2_err_set(e, -EINVAL, "insn %zu: jump out of range to %ld", i, t);
	if (second[t])
		return k2_err_set(e, -EINVAL, "insn %zu: jump into the middle of ld_imm64 at %ld", i,
				  t - 1);
	return 0;
}

static int check_one(const struct bpf_insn *insns, size_t n, size_t i, enum k2_isa max_isa,
		     struct k2_err *e)
{
	const struct bpf_insn *in = &insns[i];
	enum k2_op op = k2_insn_op(in);
	const struct k2_opinfo *oi = k2_op_info(op);
	int err;

	if (op == K2_OP_INVALID)
		return k2_err_set(e, -EINVAL, "insn %zu: invalid opcode 0x%02x (dst %u src %u off %d imm %d)",
				  i, in->code, in->dst_reg, in->src_reg, in->off, in->imm);
	if (oi->isa > max_isa)
		return k2_err_set(e, -EOPNOTSUPP, "insn %zu: %s needs ISA v%u (allowed v%u)", i,
				  oi->name, oi->isa, (unsigned)max_isa);
	err = check_regs(in, oi, i, e);
	if (!err)
		err = check_imm(in, oi, i, e);
	if (!err && oi->kind == K2_KIND_LDDW)
		err = check_lddw(insns, n, i, e);
	return err;
}

static int check_all(const struct bpf_insn *insns, size_t n, enum k2_isa max_isa, bool fall,
		     bool *second, struct k2_err *e)
{
	size_t i;
	int err;

	for (i = 0; i < n; i++) {
		err = check_one(insns, n, i, max_isa, e);
		if (err)
			return err;
		if (BPF_CLASS(insns[i].code) == BPF_LD && BPF_MODE(insns[i].code) == BPF_IMM)
			second[++i] = true;
	}
	for (i = 0; i < n; i++) {
		enum k2_op op = k2_insn_op(&insns[i]);
		const struct k2_opinfo *oi = k2_op_info(op);

		if (second[i])
			continue;
		if (oi->flags & K2_F_BRANCH) {
			err = check_target(second, n, i, k2_insn_target(&insns[i], i), e);
			if (err)
				return err;
		}
	}
	/* The last slot must end control flow: exit or an unconditional jump. */
	i = second[n - 1] ? n - 2 : n - 1;
	if (!fall && k2_op_info(k2_insn_op(&insns[i]))->kind != K2_KIND_EXIT &&
	    k2_op_info(k2_insn_op(&insns[i]))->kind != K2_KIND_JA)
		return k2_err_set(e, -EINVAL, "insn %zu: control falls off the end of the program", i);
	return 0;
}

int k2_insns_check(const struct bpf_insn *insns, size_t n, const struct k2_check_opts *opts,
		   struct k2_err *e)
{
	enum k2_isa max_isa = opts && opts->max_isa ? opts->max_isa : K2_ISA_V4;
	bool fall = opts && opts->allow_fallthrough;
	bool *second;
	int err;

	if (n == 0)
		return k2_err_set(e, -EINVAL, "empty program");
	second = calloc(n, sizeof(*second));
	if (!second)
		return k2_err_set(e, -ENOMEM, "out of memory");
	err = check_all(insns, n, max_isa, fall, second, e);
	free(second);
	return err;
}
