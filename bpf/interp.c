/* bpf/interp.c: the hot loop: dispatch on the dense op id over pre-decoded instructions. */
#include <string.h>

#include "bpf/vm_internal.h"

#define unlikely(x) __builtin_expect(!!(x), 0)
#define likely(x) __builtin_expect(!!(x), 1)

static bool is_pkt_type(uint8_t t)
{
	return t == K2_T_PKT || t == K2_T_PKT_END || t == K2_T_PKT_META;
}

/* Same object: two pointers whose difference and order do not depend on real addresses. */
static bool same_object(uint8_t ta, uint64_t a, uint8_t tb, uint64_t b)
{
	if (is_pkt_type(ta) && is_pkt_type(tb))
		return true;
	if (ta != tb || ta == K2_T_MAP || ta == K2_T_CTX)
		return ta == tb && ta == K2_T_CTX;
	return K2_ADDR_IDX(a) == K2_ADDR_IDX(b);
}

/* ALU with an operand that is not a scalar: pointer arithmetic the kernel allows, or an error. */
static int alu_slow(struct k2_machine *m, const struct k2_dinsn *d)
{
	const struct k2_opinfo *oi = k2_op_info((enum k2_op)d->op);
	bool x = oi->flags & K2_F_RD_SRC;
	uint8_t td = m->t[d->dst], ts = x ? m->t[d->src] : K2_T_SCALAR;
	uint64_t b = x ? m->r[d->src] : (uint64_t)(int64_t)d->imm;

	if (((oi->flags & K2_F_RD_DST) && td == K2_T_UNINIT) || ts == K2_T_UNINIT)
		return k2_fail(m, K2_RUN_EUNINIT, "read of an uninitialised register");
	if (oi->width != 64 || (oi->aluop != BPF_ADD && oi->aluop != BPF_SUB) ||
	    oi->kind != K2_KIND_ALU)
		return k2_fail(m, K2_RUN_EPTR, "pointer arithmetic other than 64-bit add/sub");
	if (td == K2_T_MAP || ts == K2_T_MAP || td == K2_T_PKT_END || ts == K2_T_PKT_END) {
		if (!(oi->aluop == BPF_SUB && td != K2_T_SCALAR && ts != K2_T_SCALAR))
			return k2_fail(m, K2_RUN_EPTR, "arithmetic on a map or data_end pointer");
	}
	if (td != K2_T_SCALAR && ts != K2_T_SCALAR) {
		if (oi->aluop != BPF_SUB || !same_object(td, m->r[d->dst], ts, b))
			return k2_fail(m, K2_RUN_EPTR, "arithmetic between two pointers");
		m->r[d->dst] -= b;
		m->t[d->dst] = K2_T_SCALAR;
		return 0;
	}
	if (td == K2_T_SCALAR) {
		if (oi->aluop == BPF_SUB)
			return k2_fail(m, K2_RUN_EPTR, "pointer subtracted from a scalar");
		m->t[d->dst] = ts;
	}
	m->r[d->dst] = oi->aluop == BPF_ADD ? m->r[d->dst] + b : m->r[d->dst] - b;
	return 0;
}

static bool cond(uint8_t aluop, bool w32, uint64_t a, uint64_t b)
{
	if (w32) {
		a = (uint32_t)a;
		b = (uint32_t)b;
	}
	int64_t sa = w32 ? (int32_t)a : (int64_t)a, sb = w32 ? (int32_t)b : (int64_t)b;

	switch (aluop) {
	case BPF_JEQ: return a == b;
	case BPF_JNE: return a != b;
	case BPF_JGT: return a > b;
	case BPF_JGE: return a >= b;
	case BPF_JLT: return a < b;
	case BPF_JLE: return a <= b;
	case BPF_JSET: return (a & b) != 0;
	case BPF_JSGT: return sa > sb;
	case BPF_JSGE: return sa >= sb;
	case BPF_JSLT: return sa < sb;
	default: return sa <= sb; /* BPF_JSLE */
	}
}

/*
 * A compare with a pointer operand: pointers of one object compare by offset; a pointer
 * and the scalar 0 (null checks) compare as a kernel address would. Returns 0/1 = not
 * taken/taken, or K2_STOP_ERROR + 2.
 */
static int jmp_slow(struct k2_machine *m, const struct k2_dinsn *d)
{
	const struct k2_opinfo *oi = k2_op_info((enum k2_op)d->op);
	bool x = oi->flags & K2_F_RD_SRC;
	uint8_t td = m->t[d->dst], ts = x ? m->t[d->src] : K2_T_SCALAR;
	uint64_t a = m->r[d->dst], b = x ? m->r[d->src] : (uint64_t)(int64_t)d->imm;

	if (td == K2_T_UNINIT || ts == K2_T_UNINIT)
		return k2_fail(m, K2_RUN_EUNINIT, "compare of an uninitialised register") + 2;
	if (oi->width != 64)
		return k2_fail(m, K2_RUN_EPTR, "32-bit compare of a pointer") + 2;
	if (td != K2_T_SCALAR && ts != K2_T_SCALAR) {
		if (!same_object(td, a, ts, b))
			return k2_fail(m, K2_RUN_EPTR, "compare of pointers to different objects") +
			       2;
	} else if ((td == K2_T_SCALAR ? a : b) != 0 || oi->aluop == BPF_JSET) {
		return k2_fail(m, K2_RUN_EPTR, "compare of a pointer with a non-zero scalar") + 2;
	}
	return cond(oi->aluop, false, a, b);
}

static uint64_t bswap(uint64_t v, unsigned w)
{
	if (w == 16)
		return __builtin_bswap16((uint16_t)v);
	if (w == 32)
		return __builtin_bswap32((uint32_t)v);
	return __builtin_bswap64(v);
}

/*
 * Fast paths for the common accesses: packet, and the current frame's stack when every byte
 * is a plain initialised scalar. Anything else (and every store of a window run, which is
 * logged) takes the checked path in mem.c, which also reports the errors.
 */
static inline uint8_t *pkt_fast(const struct k2_machine *m, uint64_t addr, uint32_t size)
{
	uint64_t rel = addr - K2_ADDR(K2_RGN_PKT, 0, 0);

	if (rel < m->data_off || rel > m->end_off || size > m->end_off - rel)
		return NULL;
	return (uint8_t *)m->pkt + rel;
}

static inline uint32_t stack_fast(const struct k2_machine *m, uint64_t addr, uint32_t size)
{
	uint64_t rel = addr - K2_ADDR(K2_RGN_STACK, 0, 0);
	uint32_t off = (uint32_t)rel, so;

	if ((rel >> 32) != m->depth || off > K2_STACK_SIZE - size)
		return UINT32_MAX;
	so = m->depth * K2_STACK_SIZE + off;
	if (m->spill[so / 8] != K2_T_SCALAR || m->spill[(so + size - 1) / 8] != K2_T_SCALAR)
		return UINT32_MAX;
	return so;
}

static inline bool load_fast(const struct k2_machine *m, uint8_t t, uint64_t addr, uint32_t size,
			     uint64_t *v)
{
	const uint8_t *p;
	uint32_t so;

	*v = 0;
	if (t == K2_T_PKT) {
		p = pkt_fast(m, addr, size);
		if (!p)
			return false;
		memcpy(v, p, size);
		return true;
	}
	if (t != K2_T_STACK || (so = stack_fast(m, addr, size)) == UINT32_MAX)
		return false;
	for (uint32_t i = 0; i < size; i++)
		if (!m->sinit[so + i])
			return false;
	memcpy(v, m->stack + so, size);
	return true;
}

static inline bool store_fast(struct k2_machine *m, uint8_t t, uint64_t addr, uint32_t size,
			      uint64_t v)
{
	uint8_t *p;
	uint32_t so;

	if (m->log)
		return false;
	if (t == K2_T_PKT) {
		p = pkt_fast(m, addr, size);
		if (!p)
			return false;
		memcpy(p, &v, size);
		return true;
	}
	if (t != K2_T_STACK || (so = stack_fast(m, addr, size)) == UINT32_MAX)
		return false;
	memcpy(m->stack + so, &v, size);
	memset(m->sinit + so, 1, size);
	return true;
}

static uint64_t sext_to(uint64_t v, uint32_t size)
{
	unsigned sh = 64 - size * 8;

	return (uint64_t)((int64_t)(v << sh) >> sh);
}

static int call_pseudo(struct k2_machine *m, uint32_t ret_pc)
{
	struct k2_frame *f;
	uint32_t nd = m->depth + 1;

	if (nd >= K2_MAX_FRAMES)
		return k2_fail(m, K2_RUN_EDEPTH, "bpf-to-bpf calls nested too deep");
	f = &m->fr[m->depth];
	f->ret_pc = ret_pc;
	for (int i = 0; i < 4; i++) {
		f->saved[i] = m->r[6 + i];
		f->saved_t[i] = m->t[6 + i];
		m->t[6 + i] = K2_T_UNINIT;
	}
	memset(m->sinit + nd * K2_STACK_SIZE, 0, K2_STACK_SIZE);
	memset(m->spill + nd * K2_STACK_SIZE / 8, 0, K2_STACK_SIZE / 8);
	m->depth = nd;
	m->r[10] = K2_ADDR(K2_RGN_STACK, nd, K2_STACK_SIZE);
	return 0;
}

/* Return from a subprogram; the caller resumes at the returned pc. */
static int ret_pseudo(struct k2_machine *m, uint32_t *pc)
{
	struct k2_frame *f;

	if (m->t[0] == K2_T_STACK && K2_ADDR_IDX(m->r[0]) >= m->depth)
		return k2_fail(m, K2_RUN_EPTR, "subprogram returns a pointer to its own stack");
	m->depth--;
	f = &m->fr[m->depth];
	for (int i = 0; i < 4; i++) {
		m->r[6 + i] = f->saved[i];
		m->t[6 + i] = f->saved_t[i];
	}
	for (int i = 1; i <= 5; i++)
		m->t[i] = K2_T_UNINIT;
	m->r[10] = K2_ADDR(K2_RGN_STACK, m->depth, K2_STACK_SIZE);
	*pc = f->ret_pc;
	return 0;
}

static int lddw_value(struct k2_vm *vm, struct k2_machine *m, const struct k2_dinsn *d,
		      int32_t off)
{
	uint32_t zero = 0;
	int err;
	int32_t s = k2_ov_lookup(vm, m, d->aux, (const uint8_t *)&zero, &err);

	if (s < 0)
		return err ? K2_STOP_ERROR
			   : k2_fail(m, K2_RUN_EINSN, "map value load of an empty map");
	m->r[d->dst] = K2_ADDR(K2_RGN_MAPVAL, (uint32_t)s, 0) + (uint64_t)(int64_t)off;
	m->t[d->dst] = K2_T_MAP_VALUE;
	return 0;
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"

int k2_exec(struct k2_vm *vm, struct k2_machine *m, const struct k2_dinsn *code, uint64_t budget,
	    int32_t *wexit)
{
#define L(op) [K2_OP_##op] = &&L_##op
	static const void *const labels[K2_XOP__COUNT] = {
		[0 ... K2_XOP__COUNT - 1] = &&L_INVALID,
		L(ADD64_K), L(ADD64_X), L(SUB64_K), L(SUB64_X), L(MUL64_K), L(MUL64_X),
		L(DIV64_K), L(DIV64_X), L(OR64_K), L(OR64_X), L(AND64_K), L(AND64_X),
		L(LSH64_K), L(LSH64_X), L(RSH64_K), L(RSH64_X), L(MOD64_K), L(MOD64_X),
		L(XOR64_K), L(XOR64_X), L(MOV64_K), L(MOV64_X), L(ARSH64_K), L(ARSH64_X),
		L(NEG64), L(SDIV64_K), L(SDIV64_X), L(SMOD64_K), L(SMOD64_X),
		L(MOVSX64_8), L(MOVSX64_16), L(MOVSX64_32),
		L(ADD32_K), L(ADD32_X), L(SUB32_K), L(SUB32_X), L(MUL32_K), L(MUL32_X),
		L(DIV32_K), L(DIV32_X), L(OR32_K), L(OR32_X), L(AND32_K), L(AND32_X),
		L(LSH32_K), L(LSH32_X), L(RSH32_K), L(RSH32_X), L(MOD32_K), L(MOD32_X),
		L(XOR32_K), L(XOR32_X), L(MOV32_K), L(MOV32_X), L(ARSH32_K), L(ARSH32_X),
		L(NEG32), L(SDIV32_K), L(SDIV32_X), L(SMOD32_K), L(SMOD32_X),
		L(MOVSX32_8), L(MOVSX32_16),
		L(LE16), L(LE32), L(LE64), L(BE16), L(BE32), L(BE64),
		L(BSWAP16), L(BSWAP32), L(BSWAP64),
		L(JEQ64_K), L(JEQ64_X), L(JGT64_K), L(JGT64_X), L(JGE64_K), L(JGE64_X),
		L(JSET64_K), L(JSET64_X), L(JNE64_K), L(JNE64_X), L(JSGT64_K), L(JSGT64_X),
		L(JSGE64_K), L(JSGE64_X), L(JLT64_K), L(JLT64_X), L(JLE64_K), L(JLE64_X),
		L(JSLT64_K), L(JSLT64_X), L(JSLE64_K), L(JSLE64_X),
		L(JEQ32_K), L(JEQ32_X), L(JGT32_K), L(JGT32_X), L(JGE32_K), L(JGE32_X),
		L(JSET32_K), L(JSET32_X), L(JNE32_K), L(JNE32_X), L(JSGT32_K), L(JSGT32_X),
		L(JSGE32_K), L(JSGE32_X), L(JLT32_K), L(JLT32_X), L(JLE32_K), L(JLE32_X),
		L(JSLT32_K), L(JSLT32_X), L(JSLE32_K), L(JSLE32_X),
		L(JA), L(JA32), L(CALL), L(CALL_PSEUDO), L(CALL_KFUNC), L(EXIT),
		L(LDXB), L(LDXH), L(LDXW), L(LDXDW), L(LDSXB), L(LDSXH), L(LDSXW),
		L(STB), L(STH), L(STW), L(STDW), L(STXB), L(STXH), L(STXW), L(STXDW),
		[K2_OP_ATOMIC_ADD64 ... K2_OP_CMPXCHG32] = &&L_ATOMIC,
		L(LDDW), L(LDDW_MAP_FD), L(LDDW_MAP_VALUE), L(LDDW_BTF_ID), L(LDDW_FUNC),
		L(LDDW_MAP_IDX), L(LDDW_MAP_IDX_VALUE),
		L(LDABSB), L(LDABSH), L(LDABSW), L(LDINDB), L(LDINDH), L(LDINDW),
		[K2_XOP_WEXIT] = &&L_WEXIT,
		[K2_XOP_HALF] = &&L_INVALID,
		[K2_XOP_SNAP] = &&L_SNAP,
	};
#undef L
	uint64_t *r = m->r;
	uint8_t *t = m->t;
	uint32_t pc = m->pc;
	const struct k2_dinsn *d = &code[pc];
	uint64_t steps = m->steps, v;
	uint8_t vt;
	int rc;

#define DISPATCH() do { steps++; goto *labels[d->op]; } while (0)
#define NEXT() do { d = &code[++pc]; DISPATCH(); } while (0)
#define STOP(code_) do { m->pc = pc; m->steps = steps; return (code_); } while (0)
#define FAIL(st, why) do { k2_fail(m, st, why); STOP(K2_STOP_ERROR); } while (0)
#define JUMP_TO(target) do { pc = (uint32_t)(target); if (unlikely(steps >= budget)) { \
	FAIL(K2_RUN_ESTEPS, "step budget exhausted"); } d = &code[pc]; DISPATCH(); } while (0)

	DISPATCH();

	/* ---- ALU: fast path for initialised scalars, else alu_slow ------------------------- */
#define ALU64_K(op, expr) L_##op: if (unlikely(t[d->dst])) { goto alu_slow; } \
	{ uint64_t a = r[d->dst], b = (uint64_t)(int64_t)d->imm; (void)a; (void)b; \
	  r[d->dst] = (expr); } NEXT();
#define ALU64_X(op, expr) L_##op: if (unlikely(t[d->dst] | t[d->src])) { goto alu_slow; } \
	{ uint64_t a = r[d->dst], b = r[d->src]; (void)a; (void)b; r[d->dst] = (expr); } NEXT();
#define ALU32_K(op, expr) L_##op: if (unlikely(t[d->dst])) { goto alu_slow; } \
	{ uint32_t a = (uint32_t)r[d->dst], b = (uint32_t)d->imm; (void)a; (void)b; \
	  r[d->dst] = (uint32_t)(expr); } NEXT();
#define ALU32_X(op, expr) L_##op: if (unlikely(t[d->dst] | t[d->src])) { goto alu_slow; } \
	{ uint32_t a = (uint32_t)r[d->dst], b = (uint32_t)r[d->src]; (void)a; (void)b; \
	  r[d->dst] = (uint32_t)(expr); } NEXT();
#define ALU_BOTH(n64, n32, expr) ALU64_K(n64##_K, expr) ALU64_X(n64##_X, expr) \
	ALU32_K(n32##_K, expr) ALU32_X(n32##_X, expr)

	ALU_BOTH(ADD64, ADD32, a + b)
	ALU_BOTH(SUB64, SUB32, a - b)
	ALU_BOTH(MUL64, MUL32, a * b)
	ALU_BOTH(OR64, OR32, a | b)
	ALU_BOTH(AND64, AND32, a & b)
	ALU_BOTH(XOR64, XOR32, a ^ b)
	/* Division by zero gives 0; modulo by zero leaves dst (32-bit: zero-extended). */
	ALU_BOTH(DIV64, DIV32, b ? a / b : 0)
	ALU_BOTH(MOD64, MOD32, b ? a % b : a)
	/* Shift counts are masked to the width, as the interpreter and x86 do. */
	ALU64_K(LSH64_K, a << (b & 63)) ALU64_X(LSH64_X, a << (b & 63))
	ALU64_K(RSH64_K, a >> (b & 63)) ALU64_X(RSH64_X, a >> (b & 63))
	ALU64_K(ARSH64_K, (uint64_t)((int64_t)a >> (b & 63)))
	ALU64_X(ARSH64_X, (uint64_t)((int64_t)a >> (b & 63)))
	ALU32_K(LSH32_K, a << (b & 31)) ALU32_X(LSH32_X, a << (b & 31))
	ALU32_K(RSH32_K, a >> (b & 31)) ALU32_X(RSH32_X, a >> (b & 31))
	ALU32_K(ARSH32_K, (uint32_t)((int32_t)a >> (b & 31)))
	ALU32_X(ARSH32_X, (uint32_t)((int32_t)a >> (b & 31)))
	/* Signed: x / 0 = 0, x % 0 = x, x / -1 = -x (INT_MIN / -1 = INT_MIN), x % -1 = 0. */
#define SDIV64(a, b) ((b) == 0 ? 0 : (int64_t)(b) == -1 ? -(a) : \
		      (uint64_t)((int64_t)(a) / (int64_t)(b)))
#define SMOD64(a, b) ((b) == 0 ? (a) : (int64_t)(b) == -1 ? 0 : \
		      (uint64_t)((int64_t)(a) % (int64_t)(b)))
#define SDIV32(a, b) ((b) == 0 ? 0 : (int32_t)(b) == -1 ? -(a) : \
		      (uint32_t)((int32_t)(a) / (int32_t)(b)))
#define SMOD32(a, b) ((b) == 0 ? (a) : (int32_t)(b) == -1 ? 0 : \
		      (uint32_t)((int32_t)(a) % (int32_t)(b)))
	ALU64_K(SDIV64_K, SDIV64(a, b)) ALU64_X(SDIV64_X, SDIV64(a, b))
	ALU64_K(SMOD64_K, SMOD64(a, b)) ALU64_X(SMOD64_X, SMOD64(a, b))
	ALU32_K(SDIV32_K, SDIV32(a, b)) ALU32_X(SDIV32_X, SDIV32(a, b))
	ALU32_K(SMOD32_K, SMOD32(a, b)) ALU32_X(SMOD32_X, SMOD32(a, b))
	ALU64_K(NEG64, -a)
	ALU32_K(NEG32, -a)
#define MOVSX(op, expr) L_##op: if (unlikely(t[d->src])) { goto alu_slow; } \
	{ uint64_t b = r[d->src]; r[d->dst] = (expr); t[d->dst] = K2_T_SCALAR; } NEXT();
	MOVSX(MOVSX64_8, (uint64_t)(int64_t)(int8_t)b)
	MOVSX(MOVSX64_16, (uint64_t)(int64_t)(int16_t)b)
	MOVSX(MOVSX64_32, (uint64_t)(int64_t)(int32_t)b)
	MOVSX(MOVSX32_8, (uint32_t)(int32_t)(int8_t)b)
	MOVSX(MOVSX32_16, (uint32_t)(int32_t)(int16_t)b)
	ALU64_K(LE16, (uint16_t)a) ALU64_K(LE32, (uint32_t)a) ALU64_K(LE64, a)
	ALU64_K(BE16, bswap(a, 16)) ALU64_K(BE32, bswap(a, 32)) ALU64_K(BE64, bswap(a, 64))
	ALU64_K(BSWAP16, bswap(a, 16)) ALU64_K(BSWAP32, bswap(a, 32)) ALU64_K(BSWAP64, bswap(a, 64))

L_MOV64_K:
	r[d->dst] = (uint64_t)(int64_t)d->imm;
	t[d->dst] = K2_T_SCALAR;
	NEXT();
L_MOV32_K:
	r[d->dst] = (uint32_t)d->imm;
	t[d->dst] = K2_T_SCALAR;
	NEXT();
L_MOV64_X:
	if (unlikely(t[d->src] == K2_T_UNINIT))
		FAIL(K2_RUN_EUNINIT, "read of an uninitialised register");
	r[d->dst] = r[d->src];
	t[d->dst] = t[d->src];
	NEXT();
L_MOV32_X:
	if (unlikely(t[d->src]))
		goto alu_slow;
	r[d->dst] = (uint32_t)r[d->src];
	t[d->dst] = K2_T_SCALAR;
	NEXT();
alu_slow:
	m->pc = pc;
	if (alu_slow(m, d))
		STOP(K2_STOP_ERROR);
	NEXT();

	/* ---- jumps ------------------------------------------------------------------------ */
#define JK(op, w, expr) L_##op: if (unlikely(t[d->dst])) { goto jmp_slow; } \
	{ uint64_t a = r[d->dst], b = (uint64_t)(int64_t)d->imm; \
	  if (expr) { JUMP_TO(d->tgt); } } NEXT();
#define JX(op, w, expr) L_##op: if (unlikely(t[d->dst] | t[d->src])) { goto jmp_slow; } \
	{ uint64_t a = r[d->dst], b = r[d->src]; if (expr) { JUMP_TO(d->tgt); } } NEXT();
#define J64(n, expr) JK(n##64_K, 64, expr) JX(n##64_X, 64, expr)
#define U32 (uint32_t)
#define S32 (int32_t)
#define S64 (int64_t)
	J64(JEQ, a == b) J64(JNE, a != b) J64(JGT, a > b) J64(JGE, a >= b) J64(JLT, a < b)
	J64(JLE, a <= b) J64(JSET, a & b) J64(JSGT, S64 a > S64 b) J64(JSGE, S64 a >= S64 b)
	J64(JSLT, S64 a < S64 b) J64(JSLE, S64 a <= S64 b)
#define J32(n, expr) JK(n##32_K, 32, expr) JX(n##32_X, 32, expr)
	J32(JEQ, U32 a == U32 b) J32(JNE, U32 a != U32 b) J32(JGT, U32 a > U32 b)
	J32(JGE, U32 a >= U32 b) J32(JLT, U32 a < U32 b) J32(JLE, U32 a <= U32 b)
	J32(JSET, U32 a & U32 b) J32(JSGT, S32 a > S32 b) J32(JSGE, S32 a >= S32 b)
	J32(JSLT, S32 a < S32 b) J32(JSLE, S32 a <= S32 b)
jmp_slow:
	m->pc = pc;
	rc = jmp_slow(m, d);
	if (rc >= 2)
		STOP(K2_STOP_ERROR);
	if (rc)
		JUMP_TO(d->tgt);
	NEXT();
L_JA:
L_JA32:
	JUMP_TO(d->tgt);

	/* ---- calls and exit --------------------------------------------------------------- */
L_CALL:
	m->pc = pc;
	m->steps = steps;
	if (unlikely(steps >= budget))
		FAIL(K2_RUN_ESTEPS, "step budget exhausted");
	rc = k2_helper_call(vm, m, d->imm);
	if (rc == K2_STOP_TAIL)
		STOP(K2_STOP_TAIL);
	if (rc)
		STOP(K2_STOP_ERROR);
	NEXT();
L_CALL_PSEUDO:
	if (unlikely(wexit))
		FAIL(K2_RUN_EINSN, "call inside a window");
	if (call_pseudo(m, pc + 1))
		STOP(K2_STOP_ERROR);
	JUMP_TO(d->tgt);
L_CALL_KFUNC:
	FAIL(K2_RUN_EINSN, "kfunc calls are not modelled");
L_EXIT:
	if (unlikely(t[0] == K2_T_UNINIT))
		FAIL(K2_RUN_EUNINIT, "exit with r0 uninitialised");
	if (wexit) {
		*wexit = K2_WEXIT_RETURN;
		STOP(K2_STOP_WEXIT);
	}
	if (m->depth == 0) {
		if (t[0] != K2_T_SCALAR)
			FAIL(K2_RUN_EPTR, "r0 leaks a pointer at exit");
		STOP(K2_STOP_EXIT);
	}
	if (ret_pseudo(m, &pc))
		STOP(K2_STOP_ERROR);
	d = &code[pc];
	DISPATCH();

	/* ---- memory ----------------------------------------------------------------------- */
#define LDX(op, size, sx) L_##op: \
	if (likely(load_fast(m, t[d->src], r[d->src] + (uint64_t)(int64_t)d->off, size, &v))) { \
		r[d->dst] = sx ? sext_to(v, size) : v; t[d->dst] = K2_T_SCALAR; NEXT(); } \
	m->pc = pc; \
	if (k2_mem_load(vm, m, t[d->src], r[d->src], d->off, size, sx, &v, &vt)) \
		STOP(K2_STOP_ERROR); \
	r[d->dst] = v; t[d->dst] = vt; NEXT();
	LDX(LDXB, 1, false) LDX(LDXH, 2, false) LDX(LDXW, 4, false) LDX(LDXDW, 8, false)
	LDX(LDSXB, 1, true) LDX(LDSXH, 2, true) LDX(LDSXW, 4, true)
#define ST(op, size) L_##op: \
	if (likely(store_fast(m, t[d->dst], r[d->dst] + (uint64_t)(int64_t)d->off, size, \
			      (uint64_t)(int64_t)d->imm))) { NEXT(); } \
	m->pc = pc; \
	if (k2_mem_store(vm, m, t[d->dst], r[d->dst], d->off, size, (uint64_t)(int64_t)d->imm, \
			 K2_T_SCALAR)) { STOP(K2_STOP_ERROR); } NEXT();
	ST(STB, 1) ST(STH, 2) ST(STW, 4) ST(STDW, 8)
#define STX(op, size) L_##op: \
	if (likely(t[d->src] == K2_T_SCALAR && \
		   store_fast(m, t[d->dst], r[d->dst] + (uint64_t)(int64_t)d->off, size, \
			      r[d->src]))) \
		{ NEXT(); } \
	m->pc = pc; \
	if (k2_mem_store(vm, m, t[d->dst], r[d->dst], d->off, size, r[d->src], t[d->src])) \
		{ STOP(K2_STOP_ERROR); } NEXT();
	STX(STXB, 1) STX(STXH, 2) STX(STXW, 4) STX(STXDW, 8)
L_ATOMIC:
	m->pc = pc;
	if (k2_mem_atomic(vm, m, d))
		STOP(K2_STOP_ERROR);
	NEXT();

L_LDDW:
	r[d->dst] = (uint64_t)(uint32_t)d->imm | (uint64_t)(uint32_t)code[pc + 1].imm << 32;
	t[d->dst] = K2_T_SCALAR;
	pc++;
	NEXT();
L_LDDW_MAP_FD:
L_LDDW_MAP_IDX:
	r[d->dst] = K2_ADDR(K2_RGN_MAP, d->aux, 0);
	t[d->dst] = K2_T_MAP;
	pc++;
	NEXT();
L_LDDW_MAP_VALUE:
L_LDDW_MAP_IDX_VALUE:
	m->pc = pc;
	if (lddw_value(vm, m, d, code[pc + 1].imm))
		STOP(K2_STOP_ERROR);
	pc++;
	NEXT();
L_LDDW_BTF_ID:
L_LDDW_FUNC:
	FAIL(K2_RUN_EINSN, "ld_imm64 of a BTF id or function is not modelled");

#define LDA(op, size, kexpr) m->pc = pc; \
	rc = k2_ld_abs(vm, m, (kexpr), size); \
	if (rc == K2_STOP_ERROR) { STOP(K2_STOP_ERROR); } \
	if (rc == 2) { if (wexit) { *wexit = K2_WEXIT_RETURN; STOP(K2_STOP_WEXIT); } \
		       STOP(K2_STOP_EXIT); } \
	NEXT();
#define LDI(op, size) L_##op: if (unlikely(t[d->src])) { \
	FAIL(t[d->src] == K2_T_UNINIT ? K2_RUN_EUNINIT : K2_RUN_EPTR, \
	     "LD_IND offset is not a scalar"); } \
	LDA(op, size, (int32_t)(uint32_t)(r[d->src] + (uint64_t)(int64_t)d->imm))
	L_LDABSB: LDA(LDABSB, 1, d->imm)
	L_LDABSH: LDA(LDABSH, 2, d->imm)
	L_LDABSW: LDA(LDABSW, 4, d->imm)
	LDI(LDINDB, 1) LDI(LDINDH, 2) LDI(LDINDW, 4)

L_WEXIT:
	*wexit = d->imm;
	STOP(K2_STOP_WEXIT);
L_SNAP:
	STOP(K2_STOP_SNAP);
L_INVALID:
	FAIL(K2_RUN_EINSN, "instruction cannot be executed");
}

#pragma GCC diagnostic pop
