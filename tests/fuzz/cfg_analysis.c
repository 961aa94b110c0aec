/* tests/fuzz/cfg_analysis.c: fuzz target: any program through the whole analysis. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/k2bpf.h"

#define MAX_INSNS 512

/*
 * Input: one byte of mode, then 8-byte instructions. Mode bit 0: take the bytes as they
 * are (mostly refused by the checks); otherwise each chunk is made into a valid
 * instruction (op from the table, registers in range, jumps inside the program) so that
 * the analysis itself is exercised. Bits 1-3 pick the program type.
 */
static const uint32_t types[8] = {
	BPF_PROG_TYPE_XDP,    BPF_PROG_TYPE_SCHED_CLS,	BPF_PROG_TYPE_SOCKET_FILTER,
	BPF_PROG_TYPE_KPROBE, BPF_PROG_TYPE_TRACEPOINT, BPF_PROG_TYPE_TRACING,
	BPF_PROG_TYPE_XDP,    BPF_PROG_TYPE_UNSPEC,
};

static void shape(struct bpf_insn *v, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *b = (const uint8_t *)&v[i];
		enum k2_op op = (enum k2_op)(1 + b[0] % (K2_OP__COUNT - 1));
		const struct k2_opinfo *oi = k2_op_info(op);
		uint8_t dst = (b[1] & 0xf) % 10, src = (b[1] >> 4) % 11;
		int16_t off = (int16_t)(b[2] | b[3] << 8);
		int32_t imm;

		memcpy(&imm, &b[4], 4);
		if (oi->flags & K2_F_BRANCH)
			off = (int16_t)((uint16_t)off % (n + 1) - i - 1);
		if (op == K2_OP_JA32 || op == K2_OP_CALL_PSEUDO || op == K2_OP_LDDW_FUNC)
			imm = (int32_t)((uint32_t)imm % (n + 1)) - (int32_t)i - 1;
		if (oi->kind == K2_KIND_LDDW &&
		    (op == K2_OP_LDDW_MAP_IDX || op == K2_OP_LDDW_MAP_IDX_VALUE))
			imm = (int32_t)((uint32_t)imm % 4);
		if (oi->kind == K2_KIND_LDX || oi->kind == K2_KIND_ST || oi->kind == K2_KIND_STX)
			off = (int16_t)(off % 600);
		if (oi->kind == K2_KIND_LDDW && i + 1 >= n)
			op = K2_OP_MOV64_K, oi = k2_op_info(op);
		if (oi->kind == K2_KIND_LDDW) {
			k2_insn_encode(op, dst, 0, 0, (int64_t)imm, &v[i]);
			i++;
			continue;
		}
		k2_insn_encode(op, dst, src, off, imm, &v[i]);
	}
}

static void windows_and_splices(const struct k2_analysis *an, const struct k2_prog *prog)
{
	struct k2_win *w;
	struct k2_edit *ed;
	struct bpf_insn *out;
	uint32_t n, n_out, n_main;
	int32_t map[MAX_INSNS + 1];
	struct k2_splice_opts so = { .sz = sizeof(so),
				     .n_main = prog->n_main,
				     .drop_unreachable = true };

	if (k2_wins_select(an, NULL, &w, &n, NULL))
		return;
	ed = calloc(n + 1, sizeof(*ed));
	for (uint32_t k = 0; ed && k < n; k++) {
		struct k2_astate pre, post;
		struct k2_access acc[16];
		struct k2_violation viol[4];
		uint32_t nv, len = w[k].end - w[k].start;

		k2_win_precond(an, &w[k], &pre);
		k2_win_postcond(an, &w[k], &post);
		if (len <= 16)
			k2_absint_fragment(prog, &pre, &prog->insns[w[k].start], len, acc, &post,
					   viol, 4, &nv, NULL);
		/* Every other window shrinks to its first instruction. */
		ed[k] = (struct k2_edit){
			w[k].start, w[k].end, &prog->insns[w[k].start],
			k % 2 || len < 2 || k2_insn_op(&prog->insns[w[k].start]) == K2_OP_LDDW ? len
											       : 1
		};
	}
	if (ed &&
	    !k2_splice(prog->insns, prog->n_insns, ed, n, &so, &out, &n_out, &n_main, map, NULL))
		free(out);
	free(ed);
	free(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bpf_insn v[MAX_INSNS];
	struct k2_map maps[4] = {
		{ "h", BPF_MAP_TYPE_HASH, 4, 16, 8, 0, -1, false, false, NULL },
		{ "ro", BPF_MAP_TYPE_ARRAY, 4, 8, 1, 0, -1, true, true, NULL },
		{ "rb", BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, 0, -1, false, false, NULL },
		{ "a", BPF_MAP_TYPE_ARRAY, 4, 64, 4, 0, -1, false, false, NULL },
	};
	struct k2_prog prog = { .name = "fuzz", .sec = "fuzz", .maps = maps, .n_maps = 4 };
	struct k2_analysis *an;
	struct k2_analysis_stats st;
	uint32_t n;

	if (size < 1 + 8)
		return 0;
	n = (uint32_t)((size - 1) / 8);
	if (n > MAX_INSNS)
		n = MAX_INSNS;
	memcpy(v, data + 1, n * 8);
	if (!(data[0] & 1)) {
		shape(v, n);
		k2_insn_encode(K2_OP_EXIT, 0, 0, 0, 0, &v[n - 1]);
	}
	prog.type = types[(data[0] >> 1) & 7];
	prog.insns = v;
	prog.n_insns = n;
	prog.n_main = n;
	if (k2_analysis_new(&prog, NULL, &an, NULL))
		return 0;
	k2_analysis_stats(an, &st);
	windows_and_splices(an, &prog);
	k2_analysis_free(an);
	return 0;
}
