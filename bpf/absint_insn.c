/* bpf/absint_insn.c: one instruction on the abstract state: ALU, loads, stores, ld_imm64. */
#include "bpf/absint_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_VAR_OFF (1 << 29) /* the verifier's BPF_MAX_VAR_OFF */

static const char *const vt_names[K2_VT__COUNT] = {
	"?",	   "scalar",   "ctx",	  "fp",	       "pkt",
	"pkt_end", "pkt_meta", "map_ptr", "map_value", "map_value_or_null",
	"mem",	   "btf_ptr",  "unknown",
};

const char *k2_ai_type_name(uint8_t t)
{
	return t < K2_VT__COUNT ? vt_names[t] : "invalid";
}

void k2_ai_violation(struct ai_ctx *ctx, uint32_t pc, const char *fmt, ...)
{
	struct k2_violation *v;
	va_list ap;
	int n;

	if (!ctx->record)
		return;
	if (ctx->n_viol == ctx->cap_viol) {
		uint32_t cap = ctx->cap_viol ? 2 * ctx->cap_viol : 16;
		struct k2_violation *nv = realloc(ctx->viol, cap * sizeof(*nv));

		if (!nv)
			return; /* out of memory: the report is incomplete, the analysis is not */
		ctx->viol = nv;
		ctx->cap_viol = cap;
	}
	v = &ctx->viol[ctx->n_viol++];
	v->insn = pc;
	n = snprintf(v->msg, sizeof(v->msg), "insn %u: ", pc);
	va_start(ap, fmt);
	vsnprintf(v->msg + n, sizeof(v->msg) - n, fmt, ap);
	va_end(ap);
}

static void set_unknown_ptr(struct k2_aval *v)
{
	k2_ai_set_not_init(v);
	v->type = K2_VT_UNKNOWN;
}

static void check_reads(struct ai_ctx *ctx, const struct k2_astate *st, uint32_t pc,
			const struct bpf_insn *in, const struct k2_opinfo *oi)
{
	uint16_t uses;

	if (oi->kind == K2_KIND_CALL)
		return; /* arguments are checked against the callee */
	uses = k2_insn_uses(in);
	for (int r = 0; r < K2_NREGS; r++)
		if ((uses >> r & 1) && st->regs[r].type == K2_VT_NOT_INIT &&
		    !st->regs[r].maybe_uninit)
			k2_ai_violation(ctx, pc, "R%d !read_ok", r);
}

/* ---- ALU ---- */

/* Copies a scalar and links the copies by id, so that a branch on one refines both. */
static void mov_linked(struct k2_astate *st, uint32_t pc, struct k2_aval *dst, uint8_t src)
{
	struct k2_aval *s = &st->regs[src];

	if (!s->id && ((s->type == K2_VT_SCALAR && !k2_tn_is_const(s->var)) ||
		       (s->type == K2_VT_PTR_PKT && !k2_tn_is_const(s->var)))) {
		k2_ai_scrub_id(st, pc + 1);
		s->id = pc + 1;
	}
	*dst = *s;
	dst->maybe_uninit = false;
}

static void alu_mov(struct ai_ctx *ctx, struct k2_astate *st, uint32_t pc,
		    const struct bpf_insn *in, enum k2_op op, const struct k2_opinfo *oi)
{
	struct k2_aval *dst = &st->regs[in->dst_reg], v;
	const struct k2_aval *src = &st->regs[in->src_reg];
	bool is32 = oi->flags & K2_F_ALU32;

	if (oi->flags & K2_F_IMM) {
		k2_sc_set_const(dst, is32 ? (uint32_t)in->imm : (uint64_t)(int64_t)in->imm);
		return;
	}
	if ((op >= K2_OP_MOVSX64_8 && op <= K2_OP_MOVSX64_32) || op == K2_OP_MOVSX32_8 ||
	    op == K2_OP_MOVSX32_16) {
		v = *src;
		if (v.type != K2_VT_SCALAR) {
			if (k2_ai_is_ptr(&v) && v.type != K2_VT_PTR_BTF)
				k2_ai_violation(ctx, pc, "R%u sign-extension part of pointer",
						in->src_reg);
			k2_sc_set_unknown(&v);
		}
		v.id = 0;
		k2_sc_sext(&v, oi->off);
		if (is32)
			k2_sc_trunc(&v, 32);
		*dst = v;
		return;
	}
	if (!is32) {
		mov_linked(st, pc, dst, in->src_reg);
		return;
	}
	v = *src;
	if (v.type != K2_VT_SCALAR)
		k2_sc_set_unknown(&v); /* a truncated pointer is a number (privileged) */
	v.id = 0;
	v.maybe_uninit = false;
	k2_sc_trunc(&v, 32);
	*dst = v;
}

static bool arith_forbidden(uint8_t t)
{
	return t == K2_VT_PTR_PKT_END || t == K2_VT_PTR_MAP || t == K2_VT_PTR_MAP_VALUE_OR_NULL;
}

/* p = p +/- s for a pointer p and a scalar s. */
static void ptr_arith(struct ai_ctx *ctx, struct k2_astate *st, uint32_t pc, uint8_t reg,
		      struct k2_aval *p, const struct k2_aval *s, bool sub)
{
	struct k2_aval v;
	uint64_t c;
	int64_t noff;

	if (arith_forbidden(p->type) || p->maybe_null) {
		k2_ai_violation(ctx, pc, "R%u pointer arithmetic on %s%s prohibited", reg,
				k2_ai_type_name(p->type), p->maybe_null ? "_or_null" : "");
		set_unknown_ptr(p);
		return;
	}
	if (sub && p->type == K2_VT_PTR_STACK) {
		/* The kernel refuses it even by a constant: JITs may not handle it. */
		k2_ai_violation(ctx, pc, "R%u subtraction from stack pointer prohibited", reg);
		set_unknown_ptr(p);
		return;
	}
	if (k2_aval_is_const(s, &c) && (int64_t)c > -MAX_VAR_OFF && (int64_t)c < MAX_VAR_OFF) {
		noff = (int64_t)p->off + (sub ? -(int64_t)c : (int64_t)c);
		if (noff > -MAX_VAR_OFF && noff < MAX_VAR_OFF) {
			p->off = (int32_t)noff;
			return;
		}
	}
	v = *p;
	v.type = K2_VT_SCALAR;
	k2_sc_alu(&v, s, sub ? BPF_SUB : BPF_ADD, 64, false);
	v.type = p->type;
	v.off = p->off;
	v.map = p->map;
	v.maps = p->maps;
	v.frame = p->frame;
	v.maybe_uninit = p->maybe_uninit;
	v.maybe_null = false;
	v.range = 0;
	v.id = 0;
	if (p->type == K2_VT_PTR_PKT || p->type == K2_VT_PTR_PKT_META) {
		/* A new variable part: pointers sharing it are linked from here on. */
		k2_ai_scrub_id(st, pc + 1);
		v.id = pc + 1;
	}
	*p = v;
}

/* a - b for two pointers: a number; constant when both point into one object at known offsets. */
static void ptr_diff(struct k2_aval *a, const struct k2_aval *b)
{
	bool same = a->type == b->type && a->map == b->map && a->maps == b->maps &&
		    a->frame == b->frame && k2_tn_is_const(a->var) && k2_tn_is_const(b->var) &&
		    (a->type != K2_VT_PTR_PKT || (!a->id && !b->id)) &&
		    a->type != K2_VT_PTR_PKT_END && a->type != K2_VT_PTR_MAP_VALUE_OR_NULL &&
		    !a->maybe_null && !b->maybe_null;

	if (same) {
		int64_t d = (int64_t)((uint64_t)(int64_t)a->off + a->var.value -
				      (uint64_t)(int64_t)b->off - b->var.value);

		k2_sc_set_const(a, (uint64_t)d);
	} else {
		k2_sc_set_unknown(a);
	}
}

static void alu_ptr(struct ai_ctx *ctx, struct k2_astate *st, uint32_t pc,
		    const struct bpf_insn *in, const struct k2_opinfo *oi, struct k2_aval *d,
		    const struct k2_aval *s)
{
	bool dp = k2_ai_is_ptr(d), sp = k2_ai_is_ptr(s),
	     addsub = oi->aluop == BPF_ADD || oi->aluop == BPF_SUB;
	struct k2_aval t;

	if ((d->type == K2_VT_PTR_BTF || s->type == K2_VT_PTR_BTF) &&
	    !(addsub && !(oi->flags & K2_F_ALU32) &&
	      (d->type == K2_VT_SCALAR || s->type == K2_VT_SCALAR))) {
		/* A kernel value may well be a number: no rule is broken, nothing is known. */
		k2_sc_set_unknown(d);
		if (oi->flags & K2_F_ALU32)
			k2_sc_trunc(d, 32);
		return;
	}
	if (oi->flags & K2_F_ALU32) {
		k2_ai_violation(ctx, pc, "R%u 32-bit pointer arithmetic prohibited",
				dp ? in->dst_reg : in->src_reg);
		k2_sc_set_unknown(d);
		k2_sc_trunc(d, 32);
	} else if (dp && sp) {
		if (oi->aluop != BPF_SUB)
			k2_ai_violation(ctx, pc, "R%u pointer %s pointer prohibited", in->dst_reg,
					oi->name);
		if (oi->aluop == BPF_SUB)
			ptr_diff(d, s);
		else
			k2_sc_set_unknown(d);
	} else if (dp && addsub && s->type == K2_VT_SCALAR) {
		ptr_arith(ctx, st, pc, in->dst_reg, d, s, oi->aluop == BPF_SUB);
	} else if (sp && oi->aluop == BPF_ADD && d->type == K2_VT_SCALAR) {
		t = *s;
		ptr_arith(ctx, st, pc, in->src_reg, &t, d, false);
		*d = t;
	} else if (addsub && (d->type == K2_VT_UNKNOWN || s->type == K2_VT_UNKNOWN)) {
		set_unknown_ptr(d);
	} else {
		if (dp || sp)
			k2_ai_violation(ctx, pc, "R%u %s on pointer prohibited",
					dp ? in->dst_reg : in->src_reg, oi->name);
		k2_sc_set_unknown(d);
	}
}

static void step_alu(struct ai_ctx *ctx, struct k2_astate *st, uint32_t pc,
		     const struct bpf_insn *in, enum k2_op op, const struct k2_opinfo *oi)
{
	struct k2_aval *d = &st->regs[in->dst_reg], s;
	unsigned width = oi->flags & K2_F_ALU32 ? 32 : 64;

	if (oi->aluop == BPF_MOV) {
		alu_mov(ctx, st, pc, in, op, oi);
		return;
	}
	if (oi->flags & K2_F_IMM)
		k2_sc_set_const(&s, (uint64_t)(int64_t)in->imm);
	else if (oi->aluop == BPF_NEG)
		k2_sc_set_const(&s, 0);
	else
		s = st->regs[in->src_reg];
	d->maybe_uninit = false;
	if (d->type == K2_VT_NOT_INIT)
		k2_sc_set_unknown(d);
	if (s.type == K2_VT_NOT_INIT)
		k2_sc_set_unknown(&s);
	if (oi->aluop == BPF_NEG && d->type != K2_VT_SCALAR)
		k2_sc_set_unknown(d);
	if (d->type == K2_VT_SCALAR && s.type == K2_VT_SCALAR) {
		k2_sc_alu(d, &s, oi->aluop, width, oi->flags & K2_F_SIGNED);
		return;
	}
	alu_ptr(ctx, st, pc, in, oi, d, &s);
}

static void step_end(struct k2_astate *st, const struct bpf_insn *in, enum k2_op op)
{
	struct k2_aval *d = &st->regs[in->dst_reg];

	if (d->type != K2_VT_SCALAR)
		k2_sc_set_unknown(d);
	k2_sc_end(d, op);
}

/* ---- loads and stores ---- */

static void record(struct ai_ctx *ctx, uint32_t pc, const struct k2_access *acc)
{
	if (ctx->record && ctx->acc)
		ctx->acc[pc] = *acc;
}

static bool stack_const(const struct k2_access *a, int *addr)
{
	if (a->region != K2_MEM_STACK || a->frame || !(a->flags & K2_ACC_CONST))
		return false;
	if (a->off < -K2_STACK_BYTES || a->off > -(int64_t)a->size)
		return false;
	*addr = k2_stack_addr(a->off);
	return true;
}

static void load_result(struct ai_ctx *ctx, const struct k2_astate *st, uint32_t pc,
			struct k2_access *a, enum k2_vtype ft, bool sext, struct k2_aval *out)
{
	bool uninit = false;
	int addr;

	if (a->region == K2_MEM_CTX && (a->flags & K2_ACC_SAFE) && ft != K2_VT_SCALAR) {
		if (ft == K2_VT_UNKNOWN)
			set_unknown_ptr(out);
		else
			k2_ai_set_ptr(out, ft);
	} else if (stack_const(a, &addr)) {
		k2_ai_stack_read(ctx, pc, st, addr, a->size, sext, out, &uninit);
	} else if (a->size == 8 && (a->region == K2_MEM_UNKNOWN || a->region == K2_MEM_STACK)) {
		set_unknown_ptr(out); /* may be a spilled pointer */
	} else if (a->size == 8 && a->region == K2_MEM_KERNEL) {
		k2_ai_set_ptr(out, K2_VT_PTR_BTF);
	} else if (!k2_ai_rodata_load(ctx, a, sext, out)) {
		k2_ai_sized_unknown(out, a->size, sext);
	}
	if (uninit)
		a->flags |= K2_ACC_UNINIT;
}

static void step_ldx(struct ai_ctx *ctx, struct k2_astate *st, uint32_t pc,
		     const struct bpf_insn *in, const struct k2_opinfo *oi)
{
	const struct k2_aval *p = &st->regs[in->src_reg];
	struct k2_access a;
	enum k2_vtype ft;
	struct k2_aval out;

	k2_ai_describe(p, in->off, oi->width / 8, false, &a);
	k2_ai_check_access(ctx, pc, p, in->src_reg, &a, &ft);
	load_result(ctx, st, pc, &a, ft, oi->flags & K2_F_SIGNED, &out);
	record(ctx, pc, &a);
	st->regs[in->dst_reg] = out;
}

/* Pointers and unknowns written into the stack stay; elsewhere they are leaks. */
static void check_leak(struct ai_ctx *ctx, uint32_t pc, uint8_t reg, const struct k2_aval *val,
		       const struct k2_access *a)
{
	static const char *const where[K2_MEM__COUNT] = {
		[K2_MEM_PKT] = "packet",
		[K2_MEM_PKT_META] = "packet",
		[K2_MEM_CTX] = "ctx",
		[K2_MEM_MAP_VALUE] = "map",
	};

	if (!k2_ai_is_ptr(val) || val->type == K2_VT_PTR_BTF || a->region == K2_MEM_STACK ||
	    !where[a->region])
		return;
	k2_ai_violation(ctx, pc, "R%u leaks addr into %s", reg, where[a->region]);
}

/* A write the analysis cannot place may hit the own frame. */
static void write_effects(struct ai_ctx *ctx, struct k2_astate *st, uint32_t pc,
			  const struct k2_access *a, const struct k2_aval *val)
{
	int addr;

	if (stack_const(a, &addr)) {
		k2_ai_stack_write(ctx, pc, st, addr, a->size, val);
	} else if (a->region == K2_MEM_STACK && !a->frame) {
		int64_t lo = k2_sat_add(a->off_min, K2_STACK_BYTES);
		int64_t hi = k2_sat_add(k2_sat_add(a->off_max, a->size), K2_STACK_BYTES);

		k2_ai_stack_clobber(st, lo < 0 ? 0 : (int)lo,
				    hi > K2_STACK_BYTES ? K2_STACK_BYTES : (int)hi);
	} else if (a->region == K2_MEM_STACK) {
		ctx->funcs[ctx->cur_func].writes_up = true;
	} else if (a->region == K2_MEM_UNKNOWN) {
		ctx->funcs[ctx->cur_func].touches_unknown = true;
		k2_ai_stack_clobber(st, 0, K2_STACK_BYTES);
	}
}

static void step_store(struct ai_ctx *ctx, struct k2_astate *st, uint32_t pc,
		       const struct bpf_insn *in, const struct k2_opinfo *oi)
{
	const struct k2_aval *p = &st->regs[in->dst_reg];
	struct k2_aval val;
	struct k2_access a;
	enum k2_vtype ft;

	if (oi->kind == K2_KIND_ST)
		k2_sc_set_const(&val, (uint64_t)(int64_t)in->imm);
	else
		val = st->regs[in->src_reg];
	k2_ai_describe(p, in->off, oi->width / 8, true, &a);
	k2_ai_check_access(ctx, pc, p, in->dst_reg, &a, &ft);
	if (oi->kind == K2_KIND_STX)
		check_leak(ctx, pc, in->src_reg, &val, &a);
	if (val.type == K2_VT_PTR_STACK && !val.frame && (a.region != K2_MEM_STACK || a.frame)) {
		struct ai_fx *fx = k2_ai_fx(ctx, pc);

		if (fx)
			fx->escape =
				true; /* the frame's address is stored where we do not follow it */
	}
	record(ctx, pc, &a);
	write_effects(ctx, st, pc, &a, val.type == K2_VT_NOT_INIT ? NULL : &val);
}

static void step_atomic(struct ai_ctx *ctx, struct k2_astate *st, uint32_t pc,
			const struct bpf_insn *in, enum k2_op op, const struct k2_opinfo *oi)
{
	const struct k2_aval *p = &st->regs[in->dst_reg];
	struct k2_access a;
	enum k2_vtype ft;
	unsigned size = oi->width / 8;

	k2_ai_describe(p, in->off, size, true, &a);
	a.flags |= K2_ACC_READ;
	if (a.region == K2_MEM_CTX || a.region == K2_MEM_PKT || a.region == K2_MEM_PKT_META) {
		k2_ai_violation(ctx, pc, "BPF_ATOMIC stores into R%u %s is not allowed",
				in->dst_reg, k2_ai_type_name(p->type));
		a.why = "atomic on this region";
	} else {
		k2_ai_check_access(ctx, pc, p, in->dst_reg, &a, &ft);
	}
	record(ctx, pc, &a);
	write_effects(ctx, st, pc, &a, NULL);
	if (oi->flags & K2_F_FETCH)
		k2_ai_sized_unknown(&st->regs[in->src_reg], size, false);
	if (op == K2_OP_CMPXCHG64 || op == K2_OP_CMPXCHG32)
		k2_ai_sized_unknown(&st->regs[0], size, false);
}

/* ---- ld_imm64, legacy packet loads, exit ---- */

static void step_lddw(struct ai_ctx *ctx, struct k2_astate *st, uint32_t pc,
		      const struct bpf_insn *in, enum k2_op op)
{
	struct k2_aval *d = &st->regs[in->dst_reg];
	uint32_t n_maps = ctx->prog ? ctx->prog->n_maps : 0;

	switch (op) {
	case K2_OP_LDDW: k2_sc_set_const(d, k2_insn_imm64(in)); return;
	case K2_OP_LDDW_MAP_IDX:
	case K2_OP_LDDW_MAP_IDX_VALUE:
		if ((uint32_t)in->imm >= n_maps) {
			k2_ai_violation(ctx, pc, "map index %d out of range (%u maps)", in->imm,
					n_maps);
			set_unknown_ptr(d);
			return;
		}
		k2_ai_set_ptr(d, op == K2_OP_LDDW_MAP_IDX ? K2_VT_PTR_MAP : K2_VT_PTR_MAP_VALUE);
		k2_aval_set_map(d, in->imm);
		if (op == K2_OP_LDDW_MAP_IDX_VALUE)
			d->off = in[1].imm;
		return;
	case K2_OP_LDDW_MAP_FD:
	case K2_OP_LDDW_MAP_VALUE:
		/* An unresolved fd: the map is not known. */
		k2_ai_set_ptr(d, op == K2_OP_LDDW_MAP_FD ? K2_VT_PTR_MAP : K2_VT_PTR_MAP_VALUE);
		k2_aval_set_map(d, -1);
		if (op == K2_OP_LDDW_MAP_VALUE)
			d->off = in[1].imm;
		return;
	case K2_OP_LDDW_FUNC:
		if (ctx->cfg->callee && ctx->cfg->callee[pc] != K2_CFG_NONE)
			k2_ai_enter_callback(ctx, ctx->cfg->callee[pc]);
		set_unknown_ptr(d);
		return;
	default:
		set_unknown_ptr(d); /* BTF ids */
		return;
	}
}

static bool skb_type(uint32_t t)
{
	return t == BPF_PROG_TYPE_SOCKET_FILTER || t == BPF_PROG_TYPE_SCHED_CLS ||
	       t == BPF_PROG_TYPE_SCHED_ACT;
}

static void step_ldabs(struct ai_ctx *ctx, struct k2_astate *st, uint32_t pc,
		       const struct bpf_insn *in, const struct k2_opinfo *oi)
{
	struct k2_access a = { .region = K2_MEM_PKT,
			       .size = oi->width / 8,
			       .map = -1,
			       .flags = K2_ACC_READ | K2_ACC_LEGACY };
	const struct k2_aval *x = &st->regs[in->src_reg];

	a.off_min = a.off_max = a.off = in->imm;
	if (oi->kind == K2_KIND_LDIND) {
		/* The offset is src + imm taken as a 32-bit int (bpf_skb_load_helper_*). */
		if (k2_tn_is_const(x->var) && x->type == K2_VT_SCALAR) {
			a.off = (int32_t)((uint32_t)x->var.value + (uint32_t)in->imm);
			a.off_min = a.off_max = a.off;
		} else if (x->type == K2_VT_SCALAR && x->smin >= INT32_MIN &&
			   x->smax <= INT32_MAX && x->smin + in->imm >= INT32_MIN &&
			   x->smax + in->imm <= INT32_MAX) {
			a.off_min = x->smin + in->imm;
			a.off_max = x->smax + in->imm;
			a.off = 0;
		} else {
			a.off_min = INT32_MIN;
			a.off_max = INT32_MAX;
			a.off = 0;
		}
	}
	if (a.off_min == a.off_max)
		a.flags |= K2_ACC_CONST;
	if (!ctx->prog || !skb_type(ctx->prog->type))
		k2_ai_violation(ctx, pc,
				"BPF_LD_[ABS|IND] instructions not allowed for this program type");
	else if (st->regs[6].type != K2_VT_PTR_CTX)
		k2_ai_violation(ctx, pc, "at the time of BPF_LD_ABS|IND R6 != pointer to skb");
	else
		a.flags |= K2_ACC_SAFE; /* bounds are checked when it runs */
	if (!(a.flags & K2_ACC_SAFE))
		a.why = "legacy packet load without skb in r6";
	record(ctx, pc, &a);
	k2_ai_sized_unknown(&st->regs[0], a.size, false);
	for (int r = 1; r <= 5; r++)
		k2_ai_set_not_init(&st->regs[r]);
}

static void step_exit(struct ai_ctx *ctx, struct k2_astate *st, uint32_t pc)
{
	struct k2_aval *r0 = &st->regs[0];
	struct ai_func *fn = &ctx->funcs[ctx->cur_func];
	char buf[160];

	if (ctx->cur_func == 0 && k2_ai_is_ptr(r0) && r0->type != K2_VT_PTR_BTF) {
		k2_aval_str(r0, buf, sizeof(buf));
		k2_ai_violation(ctx, pc,
				"At program exit the register R0 is not a known value (%s)", buf);
	}
	if (ctx->cur_func != 0) {
		struct k2_aval old = fn->ret;

		if (!fn->has_ret) {
			fn->ret = *r0;
			fn->has_ret = true;
			ctx->changed = true;
		} else {
			k2_ai_join_val(&fn->ret, r0, false);
			ctx->changed |= !k2_ai_val_eq(&old, &fn->ret);
		}
	}
	st->reachable = false;
}

void k2_ai_step(struct ai_ctx *ctx, struct k2_astate *st, uint32_t pc, struct k2_astate *taken)
{
	const struct bpf_insn *in = &ctx->cfg->insns[pc];
	enum k2_op op = k2_insn_op(in);
	const struct k2_opinfo *oi = k2_op_info(op);

	check_reads(ctx, st, pc, in, oi);
	switch (oi->kind) {
	case K2_KIND_ALU: step_alu(ctx, st, pc, in, op, oi); break;
	case K2_KIND_END: step_end(st, in, op); break;
	case K2_KIND_JMP: k2_ai_branch(ctx, st, pc, taken); break;
	case K2_KIND_JA: break;
	case K2_KIND_CALL: k2_ai_call(ctx, st, pc); break;
	case K2_KIND_EXIT: step_exit(ctx, st, pc); break;
	case K2_KIND_LDX: step_ldx(ctx, st, pc, in, oi); break;
	case K2_KIND_ST:
	case K2_KIND_STX: step_store(ctx, st, pc, in, oi); break;
	case K2_KIND_ATOMIC: step_atomic(ctx, st, pc, in, op, oi); break;
	case K2_KIND_LDDW: step_lddw(ctx, st, pc, in, op); break;
	case K2_KIND_LDABS:
	case K2_KIND_LDIND: step_ldabs(ctx, st, pc, in, oi); break;
	}
}
