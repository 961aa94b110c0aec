/* kernel_bench/kern_reduce.c: shrinking a program on which kernel and interpreter differ. */
#include "kernel_bench/kern_int.h"

#include <stdlib.h>
#include <string.h>

static const struct bpf_insn nop = { .code = BPF_JMP | BPF_JA };

static bool is_nop(const struct bpf_insn *in)
{
	return !memcmp(in, &nop, sizeof(nop));
}

/* Whether the program still verifies and still differs in one of `kinds` on `in`. */
static bool still_differs(const struct k2_prog *base, struct bpf_insn *insns, uint32_t n,
			  const struct k2_input *in, const struct k2_diff_opts *opts,
			  uint32_t kinds)
{
	struct k2_prog p = *base;
	struct k2_diff_outcome o;
	struct k2_diff *d;
	struct k2_err e = { 0 };
	bool yes;

	p.insns = insns;
	p.n_insns = n;
	if (p.n_main > n)
		p.n_main = n;
	if (k2_diff_new(&p, opts, &d, &e))
		return false;
	yes = k2_diff_run(d, in, &o, &e) == 0 && (o.kinds & kinds);
	k2_diff_free(d);
	return yes;
}

/* Replaces insns[i] (both slots of an ld_imm64) by no-ops, or a branch by an always-taken one. */
static bool try_one(const struct k2_prog *base, struct bpf_insn *insns, uint32_t n, uint32_t i,
		    bool always, const struct k2_input *in, const struct k2_diff_opts *opts,
		    uint32_t kinds)
{
	struct bpf_insn save[2];
	uint32_t w = insns[i].code == (BPF_LD | BPF_IMM | BPF_DW) ? 2 : 1;
	uint8_t cls = BPF_CLASS(insns[i].code);

	if (always && !((cls == BPF_JMP || cls == BPF_JMP32) && BPF_OP(insns[i].code) != BPF_JA &&
			BPF_OP(insns[i].code) != BPF_CALL && BPF_OP(insns[i].code) != BPF_EXIT))
		return false;
	memcpy(save, &insns[i], w * sizeof(*insns));
	if (always) {
		int16_t off = insns[i].off;

		insns[i] = nop;
		insns[i].off = off;
	} else {
		insns[i] = nop;
		if (w == 2)
			insns[i + 1] = nop;
	}
	if (still_differs(base, insns, n, in, opts, kinds))
		return true;
	memcpy(&insns[i], save, w * sizeof(*insns));
	return false;
}

/*
 * Drops the no-ops, retargeting jumps and bpf-to-bpf calls (a jump to a dropped no-op goes
 * to what follows it). *n_main becomes the new length of the main function.
 */
static uint32_t compact(struct bpf_insn *insns, uint32_t n, uint32_t *n_main)
{
	int32_t *map = malloc((n + 1) * sizeof(*map));
	uint32_t j = 0;

	if (!map)
		return n;
	for (uint32_t i = 0; i < n; i++) {
		map[i] = (int32_t)j;
		if (!is_nop(&insns[i]))
			j++;
	}
	map[n] = (int32_t)j;
	j = 0;
	for (uint32_t i = 0; i < n; i++) {
		struct bpf_insn in = insns[i];
		uint8_t cls = BPF_CLASS(in.code);

		if (is_nop(&in))
			continue;
		bool pcall = in.code == (BPF_JMP | BPF_CALL) && in.src_reg == BPF_PSEUDO_CALL;

		if ((cls == BPF_JMP || cls == BPF_JMP32) && BPF_OP(in.code) != BPF_EXIT &&
		    (BPF_OP(in.code) != BPF_CALL || pcall)) {
			long t = k2_insn_target(&in, i);

			if (t >= 0 && t <= (long)n) {
				if (pcall || (cls == BPF_JMP32 && BPF_OP(in.code) == BPF_JA))
					in.imm = map[t] - (int32_t)j - 1;
				else
					in.off = (int16_t)(map[t] - (int32_t)j - 1);
			}
		}
		insns[j++] = in;
		if (in.code == (BPF_LD | BPF_IMM | BPF_DW) && i + 1 < n)
			insns[j++] = insns[++i];
	}
	if (*n_main <= n)
		*n_main = (uint32_t)map[*n_main];
	free(map);
	return j;
}

int k2_diff_reduce(const struct k2_prog *prog, const struct k2_input *in,
		   const struct k2_diff_opts *opts, uint32_t kinds, struct bpf_insn **out,
		   uint32_t *n_out, struct k2_err *e)
{
	uint32_t n = prog->n_insns, m;
	struct bpf_insn *insns = malloc(n * sizeof(*insns)), *keep;
	bool changed = true;

	*out = NULL;
	if (!insns)
		return k2_err_set(e, -ENOMEM, "out of memory");
	memcpy(insns, prog->insns, n * sizeof(*insns));
	if (!still_differs(prog, insns, n, in, opts, kinds)) {
		free(insns);
		return k2_err_set(e, -ENOENT, "the program does not differ on this input");
	}
	for (int round = 0; changed && round < 8; round++) {
		changed = false;
		for (uint32_t i = 0; i + 1 < n; i++) {
			if (is_nop(&insns[i]))
				continue;
			changed |= try_one(prog, insns, n, i, false, in, opts, kinds) ||
				   try_one(prog, insns, n, i, true, in, opts, kinds);
			if (insns[i].code == (BPF_LD | BPF_IMM | BPF_DW))
				i++;
		}
	}
	/* Compaction keeps the semantics; keep the no-op form should the verifier disagree. */
	keep = malloc(n * sizeof(*keep));
	if (keep)
		memcpy(keep, insns, n * sizeof(*insns));
	{
		struct k2_prog small = *prog;
		uint32_t n_main = prog->n_main;

		m = compact(insns, n, &n_main);
		small.n_main = n_main;
		if (keep && !still_differs(&small, insns, m, in, opts, kinds)) {
			memcpy(insns, keep, n * sizeof(*insns));
			m = n;
		}
	}
	free(keep);
	*out = insns;
	*n_out = m;
	return 0;
}
