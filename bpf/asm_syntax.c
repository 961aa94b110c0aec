/* bpf/asm_syntax.c: operator spellings of the text form and a lookup from properties to ops. */
#include "bpf/asm_syntax.h"

const char *const k2_syn_alu[16] = {
	"+=", "-=", "*=", "/=", "|=", "&=", "<<=", ">>=", NULL, "%=", "^=", "=", "s>>=", NULL,
};

const char *const k2_syn_jmp[16] = {
	NULL, "==", ">", ">=", "&", "!=", "s>", "s>=", NULL, NULL, "<", "<=", "s<", "s<=",
};

const char *const k2_syn_atomic[16] = {
	[BPF_ADD >> 4] = "add", [BPF_OR >> 4] = "or", [BPF_AND >> 4] = "and",
	[BPF_XOR >> 4] = "xor",
};

enum k2_op k2_syn_find(uint8_t kind, uint8_t width, uint8_t aluop, int16_t off, int32_t imm,
		       uint32_t mask, uint32_t flags)
{
	for (int i = 1; i < K2_OP__COUNT; i++) {
		const struct k2_opinfo *oi = k2_op_info((enum k2_op)i);

		if (oi->kind == kind && oi->width == width && oi->aluop == aluop &&
		    oi->off == off && oi->imm == imm && (oi->flags & mask) == flags)
			return (enum k2_op)i;
	}
	return K2_OP_INVALID;
}
