/* bpf/disasm.c: instructions to text, in llvm-objdump's syntax (bpftool's where llvm has none). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "bpf/asm_syntax.h"
#include "bpf/k2_text.h"

/* A caller-owned buffer that, like snprintf, counts what did not fit. */
struct sbuf {
	char *buf;
	size_t len;
	size_t pos;
};

__attribute__((format(printf, 2, 3))) static void sb_printf(struct sbuf *sb, const char *fmt, ...)
{
	size_t room = sb->pos < sb->len ? sb->len - sb->pos : 0;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(room ? sb->buf + sb->pos : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		sb->pos += (size_t)n;
}

static char reg_char(const struct k2_opinfo *oi)
{
	return oi->flags & K2_F_ALU32 ? 'w' : 'r';
}

/* "(r2 + 4)" / "(r2 - 8)": llvm prints the magnitude after the sign. */
static void print_mem(struct sbuf *sb, unsigned reg, int16_t off)
{
	if (off >= 0)
		sb_printf(sb, "r%u + %d", reg, off);
	else
		sb_printf(sb, "r%u - %d", reg, -(int)off);
}

static void print_alu(struct sbuf *sb, const struct bpf_insn *in, const struct k2_opinfo *oi)
{
	char r = reg_char(oi);
	const char *sym = k2_syn_alu[oi->aluop >> 4];

	if (oi->aluop == BPF_NEG) {
		sb_printf(sb, "%c%u = -%c%u", r, in->dst_reg, r, in->dst_reg);
		return;
	}
	if (oi->aluop == BPF_MOV && oi->off) {
		sb_printf(sb, "%c%u = (s%d)%c%u", r, in->dst_reg, oi->off, r, in->src_reg);
		return;
	}
	if (oi->off == 1) /* sdiv, smod */
		sym = oi->aluop == BPF_DIV ? "s/=" : "s%=";
	if (oi->flags & K2_F_IMM)
		sb_printf(sb, "%c%u %s %d", r, in->dst_reg, sym, in->imm);
	else
		sb_printf(sb, "%c%u %s %c%u", r, in->dst_reg, sym, r, in->src_reg);
}

static void print_jmp(struct sbuf *sb, const struct bpf_insn *in, const struct k2_opinfo *oi)
{
	char r = reg_char(oi);
	const char *cond = k2_syn_jmp[oi->aluop >> 4];

	if (oi->flags & K2_F_IMM)
		sb_printf(sb, "if %c%u %s %d goto %+d", r, in->dst_reg, cond, in->imm, in->off);
	else
		sb_printf(sb, "if %c%u %s %c%u goto %+d", r, in->dst_reg, cond, r, in->src_reg,
			  in->off);
}

static void print_call(struct sbuf *sb, const struct bpf_insn *in, enum k2_op op)
{
	if (op == K2_OP_CALL)
		sb_printf(sb, "call %d", in->imm);
	else if (op == K2_OP_CALL_PSEUDO)
		sb_printf(sb, "call pc%+d", in->imm);
	else if (in->off)
		sb_printf(sb, "call kfunc %u btf:%d", (uint32_t)in->imm, in->off);
	else
		sb_printf(sb, "call kfunc %u", (uint32_t)in->imm);
}

static const char *size_name(const struct k2_opinfo *oi)
{
	static const char *const u[] = { "u8", "u16", "u32", "u64" };
	static const char *const s[] = { "s8", "s16", "s32", "s64" };
	int i = oi->width == 8 ? 0 : oi->width == 16 ? 1 : oi->width == 32 ? 2 : 3;

	return oi->flags & K2_F_SIGNED ? s[i] : u[i];
}

static void print_ldst(struct sbuf *sb, const struct bpf_insn *in, const struct k2_opinfo *oi)
{
	const char *sz = size_name(oi);

	if (oi->kind == K2_KIND_LDX) {
		sb_printf(sb, "r%u = *(%s *)(", in->dst_reg, sz);
		print_mem(sb, in->src_reg, in->off);
		sb_printf(sb, ")");
		return;
	}
	sb_printf(sb, "*(%s *)(", sz);
	print_mem(sb, in->dst_reg, in->off);
	if (oi->kind == K2_KIND_ST)
		sb_printf(sb, ") = %d", in->imm);
	else
		sb_printf(sb, ") = r%u", in->src_reg);
}

/*
 * llvm-objdump 14 spellings; the 32-bit fetch forms are those of llvm's alu32 printer, the
 * only ones llvm has. Non-fetch 32-bit ops print r (llvm 14 and bpftool both do).
 */
static void print_atomic(struct sbuf *sb, const struct bpf_insn *in, const struct k2_opinfo *oi)
{
	bool is32 = oi->width == 32;
	char r = is32 ? 'w' : 'r';
	const char *sz = is32 ? "u32" : "u64";

	if (oi->aluop == BPF_XCHG) {
		sb_printf(sb, "%c%u = %s(", r, in->src_reg, is32 ? "xchg32_32" : "xchg_64");
		print_mem(sb, in->dst_reg, in->off);
		sb_printf(sb, ", %c%u)", r, in->src_reg);
	} else if (oi->aluop == BPF_CMPXCHG) {
		sb_printf(sb, "%c0 = %s(", r, is32 ? "cmpxchg32_32" : "cmpxchg_64");
		print_mem(sb, in->dst_reg, in->off);
		sb_printf(sb, ", %c0, %c%u)", r, r, in->src_reg);
	} else if (oi->flags & K2_F_FETCH) {
		sb_printf(sb, "%c%u = atomic_fetch_%s((%s *)(", r, in->src_reg,
			  k2_syn_atomic[oi->aluop >> 4], sz);
		print_mem(sb, in->dst_reg, in->off);
		sb_printf(sb, "), %c%u)", r, in->src_reg);
	} else {
		sb_printf(sb, "lock *(%s *)(", sz);
		print_mem(sb, in->dst_reg, in->off);
		sb_printf(sb, ") %s r%u", k2_syn_alu[oi->aluop >> 4], in->src_reg);
	}
}

/* bpftool-like spellings of the pseudo sources, which llvm prints as "ld_pseudo" or "0 ll". */
static void print_lddw(struct sbuf *sb, const struct bpf_insn *in, enum k2_op op)
{
	uint32_t lo = (uint32_t)in[0].imm, hi = (uint32_t)in[1].imm;

	sb_printf(sb, "r%u = ", in->dst_reg);
	switch (op) {
	case K2_OP_LDDW_MAP_FD:
	case K2_OP_LDDW_MAP_IDX:
		sb_printf(sb, "map[%s:%u", op == K2_OP_LDDW_MAP_FD ? "fd" : "idx", lo);
		break;
	case K2_OP_LDDW_MAP_VALUE:
	case K2_OP_LDDW_MAP_IDX_VALUE:
		sb_printf(sb, "map[%s:%u][0]+%u ll", op == K2_OP_LDDW_MAP_VALUE ? "fd" : "idx", lo,
			  hi);
		return;
	case K2_OP_LDDW_BTF_ID:
		sb_printf(sb, "btf[id:%u", lo);
		break;
	case K2_OP_LDDW_FUNC:
		sb_printf(sb, "func[pc%+d", in->imm);
		break;
	default:
		sb_printf(sb, "%" PRId64 " ll", (int64_t)k2_insn_imm64(in));
		return;
	}
	/* The kernel reads the second slot only as a module BTF fd; print any value anyway. */
	if (hi)
		sb_printf(sb, ",%s:%u", op == K2_OP_LDDW_BTF_ID ? "fd" : "hi", hi);
	sb_printf(sb, "] ll");
}

static void print_ldpkt(struct sbuf *sb, const struct bpf_insn *in, const struct k2_opinfo *oi)
{
	sb_printf(sb, "r0 = *(%s *)skb[", size_name(oi));
	if (oi->kind == K2_KIND_LDABS)
		sb_printf(sb, "%d]", in->imm);
	else if (in->imm == 0)
		sb_printf(sb, "r%u]", in->src_reg);
	else if (in->imm > 0)
		sb_printf(sb, "r%u + %d]", in->src_reg, in->imm);
	else
		sb_printf(sb, "r%u - %lld]", in->src_reg, -(long long)in->imm);
}

/* Whether every field the text shows is representable: registers r0..r10, a clean 2nd slot. */
static bool printable(const struct bpf_insn *in, const struct k2_opinfo *oi)
{
	if ((oi->flags & (K2_F_RD_DST | K2_F_WR_DST)) && in->dst_reg >= K2_NREGS)
		return false;
	if ((oi->flags & K2_F_RD_SRC) && in->src_reg >= K2_NREGS)
		return false;
	if (oi->kind == K2_KIND_LDDW)
		return !in[1].code && !in[1].dst_reg && !in[1].src_reg && !in[1].off;
	return true;
}

int k2_disasm_insn(const struct bpf_insn *insn, char *buf, size_t len)
{
	struct sbuf sb = { buf, len, 0 };
	enum k2_op op = k2_insn_op(insn);
	const struct k2_opinfo *oi = k2_op_info(op);

	if (len)
		buf[0] = '\0';
	if (op == K2_OP_INVALID || !printable(insn, oi)) {
		sb_printf(&sb, "invalid");
		return -EINVAL;
	}
	switch (oi->kind) {
	case K2_KIND_ALU:
		print_alu(&sb, insn, oi);
		break;
	case K2_KIND_END:
		sb_printf(&sb, "r%u = %s r%u", insn->dst_reg, oi->name, insn->dst_reg);
		break;
	case K2_KIND_JMP:
		print_jmp(&sb, insn, oi);
		break;
	case K2_KIND_JA:
		if (op == K2_OP_JA)
			sb_printf(&sb, "goto %+d", insn->off);
		else
			sb_printf(&sb, "gotol %+d", insn->imm);
		break;
	case K2_KIND_CALL:
		print_call(&sb, insn, op);
		break;
	case K2_KIND_EXIT:
		sb_printf(&sb, "exit");
		break;
	case K2_KIND_LDX:
	case K2_KIND_ST:
	case K2_KIND_STX:
		print_ldst(&sb, insn, oi);
		break;
	case K2_KIND_ATOMIC:
		print_atomic(&sb, insn, oi);
		break;
	case K2_KIND_LDDW:
		print_lddw(&sb, insn, op);
		break;
	default:
		print_ldpkt(&sb, insn, oi);
		break;
	}
	return (int)sb.pos;
}

void k2_disasm_prog(FILE *f, const struct bpf_insn *insns, size_t n)
{
	char text[128];

	for (size_t i = 0; i < n; i++) {
		const uint8_t *b = (const uint8_t *)&insns[i];
		uint8_t code = insns[i].code;
		bool ld64 = BPF_CLASS(code) == BPF_LD && BPF_MODE(code) == BPF_IMM;
		bool wide = ld64 && i + 1 < n;
		size_t nb = wide ? 16 : 8;

		if (ld64 && !wide)
			snprintf(text, sizeof(text), "invalid"); /* ld_imm64 without its 2nd slot */
		else
			k2_disasm_insn(&insns[i], text, sizeof(text));
		fprintf(f, "%8zu:\t", i);
		for (size_t j = 0; j < nb; j++)
			fprintf(f, "%02x%c", b[j], j + 1 < nb ? ' ' : '\t');
		fprintf(f, "%s\n", text);
		if (wide)
			i++;
	}
}
