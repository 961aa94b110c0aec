/* smt/insn.c: ALU, END, jumps, exit, bpf-to-bpf calls and ld_imm64, as bpf/interp.c runs them. */
#include <string.h>

#include "smt/smt_int.h"

/*
 * A register may have several types (after a join, or a map lookup before its null check).
 * Each instruction is therefore evaluated once per combination of its operands' possible
 * types, with those types static inside, and the results merged under "t == type". With the
 * usual single types this is one evaluation.
 */

/* Scalar value of an ALU/END operation on 64-bit operands a (dst) and b (src or imm). */
static Z3_ast alu_val(struct k2_smt *s, enum k2_op op, const struct k2_opinfo *oi, Z3_ast a,
		      Z3_ast b)
{
	unsigned w = oi->width;

	if (oi->kind == K2_KIND_END) {
		Z3_ast lo = t_ext(s, a, w - 1, 0);

		if (op == K2_OP_LE16 || op == K2_OP_LE32 || op == K2_OP_LE64)
			return t_zext(s, lo, 64);
		return t_zext(s, t_bswap(s, lo, w), 64);
	}
	switch (op) {
	case K2_OP_MOVSX64_8: return t_sext(s, t_ext(s, b, 7, 0), 64);
	case K2_OP_MOVSX64_16: return t_sext(s, t_ext(s, b, 15, 0), 64);
	case K2_OP_MOVSX64_32: return t_sext(s, t_ext(s, b, 31, 0), 64);
	case K2_OP_MOVSX32_8: return t_zext(s, t_sext(s, t_ext(s, b, 7, 0), 32), 64);
	case K2_OP_MOVSX32_16: return t_zext(s, t_sext(s, t_ext(s, b, 15, 0), 32), 64);
	default: break;
	}
	if (w == 32) {
		a = t_ext(s, a, 31, 0);
		b = t_ext(s, b, 31, 0);
	}
	switch (oi->aluop) {
	case BPF_ADD: a = t_add(s, a, b); break;
	case BPF_SUB: a = t_sub(s, a, b); break;
	case BPF_MUL: a = t_mul(s, a, b); break;
	case BPF_OR: a = t_or(s, a, b); break;
	case BPF_AND: a = t_and(s, a, b); break;
	case BPF_XOR: a = t_xor(s, a, b); break;
	case BPF_MOV: a = b; break;
	case BPF_NEG: a = t_neg(s, a); break;
	case BPF_LSH: a = t_shl(s, a, t_and(s, b, t_num(s, w, w - 1))); break;
	case BPF_RSH: a = t_lshr(s, a, t_and(s, b, t_num(s, w, w - 1))); break;
	case BPF_ARSH: a = t_ashr(s, a, t_and(s, b, t_num(s, w, w - 1))); break;
	case BPF_DIV:
		a = (oi->flags & K2_F_SIGNED) ? t_sdiv0(s, a, b) : t_udiv0(s, a, b);
		break;
	case BPF_MOD:
		a = (oi->flags & K2_F_SIGNED) ? t_srem0(s, a, b) : t_urem0(s, a, b);
		break;
	default: break;
	}
	return t_zext(s, a, 64);
}

static bool is_ptr(uint8_t t)
{
	return t != K2_T_SCALAR && t != K2_T_UNINIT;
}

static bool is_pkt(uint8_t t)
{
	return t == K2_T_PKT || t == K2_T_PKT_END || t == K2_T_PKT_META;
}

/* bpf/interp.c same_object(): pointers whose difference and order are defined. */
static Z3_ast same_object(struct k2_smt *s, uint8_t ta, Z3_ast a, uint8_t tb, Z3_ast b)
{
	if (is_pkt(ta) && is_pkt(tb))
		return s->tru;
	if (ta != tb || ta == K2_T_MAP || ta == K2_T_CTX)
		return ta == tb && ta == K2_T_CTX ? s->tru : s->fls;
	return b_eq(s, t_ext(s, a, 43, 32), t_ext(s, b, 43, 32));
}

/* Moves a pointer view by a scalar. */
static void view_move(struct k2_smt *s, struct k2_sv *p, Z3_ast d, bool sub)
{
	uint64_t c;

	if (t_isnum(s, d, &c))
		p->oc += sub ? -(int64_t)c : (int64_t)c;
	else if (p->osym)
		p->osym = sub ? t_sub(s, p->osym, d) : t_add(s, p->osym, d);
	else
		p->osym = sub ? t_neg(s, d) : d;
	p->v = sub ? t_sub(s, p->v, d) : t_add(s, p->v, d);
}

/* One combination of operand types: the result in *res, failure conditions in *err. */
static void alu_case(struct k2_enc *en, struct k2_state *st, uint32_t pc, enum k2_op op,
		     const struct k2_opinfo *oi, const struct k2_sv *d, uint8_t td,
		     const struct k2_sv *x, uint8_t ts, Z3_ast gc, struct k2_sv *res, Z3_ast *err)
{
	struct k2_smt *s = en->s;
	bool rd = oi->flags & K2_F_RD_DST, add = oi->aluop == BPF_ADD;
	struct k2_sv vd, vs;

	*err = s->fls;
	sv_uninit(s, res);
	if ((!rd || td == K2_T_SCALAR) && ts == K2_T_SCALAR) {
		sv_scalar(s, res, alu_val(s, op, oi, d->v, x->v));
		return;
	}
	if ((rd && td == K2_T_UNINIT) || ts == K2_T_UNINIT || oi->width != 64 ||
	    (oi->aluop != BPF_ADD && oi->aluop != BPF_SUB) || oi->kind != K2_KIND_ALU) {
		*err = s->tru;
		return;
	}
	if ((td == K2_T_MAP || ts == K2_T_MAP || td == K2_T_PKT_END || ts == K2_T_PKT_END) &&
	    !(!add && td != K2_T_SCALAR && ts != K2_T_SCALAR)) {
		*err = s->tru;
		return;
	}
	if (td != K2_T_SCALAR && ts != K2_T_SCALAR) {
		if (add || !sv_view(en->w, st, d, td, &vd) || !sv_view(en->w, st, x, ts, &vs)) {
			if (!add)
				k2s_unsup(en, b_and(s, st->g, gc), pc,
					  "pointer difference of unknown provenance");
			*err = s->tru;
			return;
		}
		*err = b_not(s, same_object(s, td, vd.v, ts, vs.v));
		sv_scalar(s, res, t_sub(s, vd.v, vs.v));
		return;
	}
	if (td == K2_T_SCALAR) {
		if (!add || !sv_view(en->w, st, x, ts, &vs)) {
			if (add)
				k2s_unsup(en, b_and(s, st->g, gc), pc, "pointer of unknown provenance");
			*err = s->tru;
			return;
		}
		*res = vs;
		view_move(s, res, d->v, false);
		return;
	}
	if (!sv_view(en->w, st, d, td, &vd)) {
		k2s_unsup(en, b_and(s, st->g, gc), pc, "pointer of unknown provenance");
		*err = s->tru;
		return;
	}
	*res = vd;
	view_move(s, res, x->v, !add);
}

/* Iterates over the possible types of a (and b): calls back per combination. */
#define FOR_TYPES(tm, t) for (uint8_t t = 0; t < K2_T__COUNT; t++) if ((tm) & K2S_TM(t))

static void alu(struct k2_enc *en, struct k2_state *st, uint32_t pc, const struct bpf_insn *in,
		enum k2_op op, const struct k2_opinfo *oi)
{
	struct k2_smt *s = en->s;
	struct k2_sv *d = &st->r[in->dst_reg], x, out, res;
	bool rd = oi->flags & K2_F_RD_DST;
	uint16_t dtm = rd ? d->tm : K2S_TM(K2_T_SCALAR);
	Z3_ast errs = s->fls;
	bool first = true;

	if (op == K2_OP_MOV64_K || op == K2_OP_MOV32_K) {
		sv_scalar(s, d, t_n64(s, op == K2_OP_MOV64_K ? (uint64_t)(int64_t)in->imm
							     : (uint32_t)in->imm));
		return;
	}
	if (oi->flags & K2_F_RD_SRC)
		x = st->r[in->src_reg];
	else
		sv_scalar(s, &x, t_n64(s, (uint64_t)(int64_t)in->imm));
	if (op == K2_OP_MOV64_X) {
		k2s_error(en, st, sv_is(s, &x, K2_T_UNINIT));
		*d = x;
		return;
	}
	FOR_TYPES(dtm, td)
	{
		FOR_TYPES(x.tm, ts)
		{
			Z3_ast gc = b_and(s, rd ? sv_is(s, d, td) : s->tru, sv_is(s, &x, ts)), err;

			alu_case(en, st, pc, op, oi, d, td, &x, ts, gc, &res, &err);
			errs = b_or(s, errs, b_and(s, gc, err));
			if (first)
				out = res;
			else
				sv_ite(s, gc, &res, &out, &out);
			first = false;
		}
	}
	k2s_error(en, st, errs);
	*d = out;
}

static Z3_ast cmp(struct k2_smt *s, uint8_t aluop, bool w32, Z3_ast a, Z3_ast b)
{
	if (w32) {
		a = t_ext(s, a, 31, 0);
		b = t_ext(s, b, 31, 0);
	}
	switch (aluop) {
	case BPF_JEQ: return b_eq(s, a, b);
	case BPF_JNE: return b_ne(s, a, b);
	case BPF_JGT: return b_ult(s, b, a);
	case BPF_JGE: return b_ule(s, b, a);
	case BPF_JLT: return b_ult(s, a, b);
	case BPF_JLE: return b_ule(s, a, b);
	case BPF_JSET: return b_ne(s, t_and(s, a, b), t_num(s, w32 ? 32 : 64, 0));
	case BPF_JSGT: return b_slt(s, b, a);
	case BPF_JSGE: return b_sle(s, b, a);
	case BPF_JSLT: return b_slt(s, a, b);
	default: return b_sle(s, a, b); /* BPF_JSLE */
	}
}

/* A lookup result compared with 0: each edge knows which it is (see k2_sv.nullable). */
static void refine_null(struct k2_enc *en, struct k2_state *st, const struct k2_sv *r,
			bool is_null)
{
	struct k2_sv ref = *r, p;

	if (!r->nullable || !r->pt || r->osym || r->oc < -(1ll << 31) || r->oc > (1ll << 31))
		return;
	if (is_null) {
		sv_scalar(en->s, &p, t_n64(en->s, 0));
	} else if (!sv_view(en->w, st, r, r->pt, &p)) {
		return;
	}
	for (int i = 0; i < K2_NREGS; i++)
		if (st->r[i].v == ref.v && st->r[i].t == ref.t)
			st->r[i] = p;
}

static int64_t jmp(struct k2_enc *en, struct k2_state *st, uint32_t pc, const struct bpf_insn *in,
		   const struct k2_opinfo *oi, struct k2_state **taken, int64_t *tgt)
{
	struct k2_smt *s = en->s;
	struct k2_sv *d = &st->r[in->dst_reg], x;
	bool w32 = oi->width == 32;
	Z3_ast cond = s->fls, errs = s->fls, g = st->g;
	struct k2_state *t;
	uint64_t c;

	if (oi->flags & K2_F_RD_SRC)
		x = st->r[in->src_reg];
	else
		sv_scalar(s, &x, t_n64(s, (uint64_t)(int64_t)in->imm));
	FOR_TYPES(d->tm, td)
	{
		FOR_TYPES(x.tm, ts)
		{
			Z3_ast gc = b_and(s, sv_is(s, d, td), sv_is(s, &x, ts)), cc = s->fls, err;
			struct k2_sv vd, vs;

			if (td == K2_T_SCALAR && ts == K2_T_SCALAR) {
				cc = cmp(s, oi->aluop, w32, d->v, x.v);
				err = s->fls;
			} else if (td == K2_T_UNINIT || ts == K2_T_UNINIT || w32) {
				err = s->tru;
			} else if (is_ptr(td) && is_ptr(ts)) {
				if (!sv_view(en->w, st, d, td, &vd) || !sv_view(en->w, st, &x, ts, &vs)) {
					k2s_unsup(en, b_and(s, g, gc), pc,
						  "pointer compare of unknown provenance");
					err = s->tru;
				} else {
					err = b_not(s, same_object(s, td, vd.v, ts, vs.v));
					cc = cmp(s, oi->aluop, false, vd.v, vs.v);
				}
			} else {
				const struct k2_sv *sc = td == K2_T_SCALAR ? d : &x;
				const struct k2_sv *pr = td == K2_T_SCALAR ? &x : d;
				uint8_t pt = td == K2_T_SCALAR ? ts : td;
				struct k2_sv vp;
				Z3_ast pv = pr->v;

				if (pr->pt == pt && sv_view(en->w, st, pr, pt, &vp))
					pv = vp.v;
				err = oi->aluop == BPF_JSET ? s->tru
							     : b_ne(s, sc->v, t_n64(s, 0));
				cc = td == K2_T_SCALAR ? cmp(s, oi->aluop, false, d->v, pv)
						       : cmp(s, oi->aluop, false, pv, x.v);
			}
			cond = b_or(s, cond, b_and(s, gc, cc));
			errs = b_or(s, errs, b_and(s, gc, err));
		}
	}
	k2s_error(en, st, errs);
	*tgt = k2_insn_target(in, pc);
	t = NULL;
	if (t_bool(s, cond) != 0) {
		t = k2s_state_clone(en, st);
		if (!t) {
			k2s_refuse(en, pc, "out of memory");
			return K2S_NEXT_DEAD;
		}
		t->g = b_and(s, g, cond);
	}
	st->g = b_and(s, g, b_not(s, cond));
	/* null checks of lookup results */
	if (!w32 && (oi->aluop == BPF_JEQ || oi->aluop == BPF_JNE) &&
	    t_isnum(s, x.v, &c) && c == 0 && x.tm == K2S_TM(K2_T_SCALAR) && d->nullable) {
		struct k2_sv r = *d;

		if (t)
			refine_null(en, t, &r, oi->aluop == BPF_JEQ);
		refine_null(en, st, &r, oi->aluop != BPF_JEQ);
	}
	*taken = t;
	return K2S_NEXT_BRANCH;
}

static int64_t do_exit(struct k2_enc *en, struct k2_state *st, uint32_t pc, int64_t *tgt)
{
	struct k2_smt *s = en->s;
	struct k2_sv *r0 = &st->r[0];

	(void)pc;
	k2s_error(en, st, sv_is(s, r0, K2_T_UNINIT));
	if (en->window) {
		*tgt = K2_WEXIT_RETURN;
		return K2S_NEXT_EXIT;
	}
	if (st->depth == 0) {
		k2s_error(en, st, b_not(s, sv_is(s, r0, K2_T_SCALAR)));
		*tgt = 0;
		return K2S_NEXT_EXIT;
	}
	/* return from a subprogram: a pointer into its own (or a deeper) frame may not leave */
	k2s_error(en, st,
		  b_and(s, sv_is(s, r0, K2_T_STACK),
			b_ule(s, t_num(s, 12, st->depth), t_ext(s, r0->v, 43, 32))));
	st->depth--;
	for (int i = 0; i < 4; i++)
		st->r[6 + i] = st->fr[st->depth].saved[i];
	for (int i = 1; i <= 5; i++)
		sv_uninit(s, &st->r[i]);
	sv_ptr(en->w, &st->r[10], K2_T_STACK, (uint8_t)(K2S_MO_STACK + st->depth), -1, NULL, NULL,
	       NULL, K2_STACK_SIZE);
	*tgt = st->fr[st->depth].ret_pc;
	return K2S_NEXT_RET;
}

static int64_t call_pseudo(struct k2_enc *en, struct k2_state *st, uint32_t pc,
			   const struct bpf_insn *in, int64_t *tgt)
{
	struct k2_smt *s = en->s;
	uint8_t nd = st->depth + 1;

	if (en->window) {
		k2s_refuse(en, pc, "call inside a window");
		return K2S_NEXT_DEAD;
	}
	if (nd >= K2_MAX_FRAMES) {
		k2s_error(en, st, s->tru);
		return K2S_NEXT_DEAD;
	}
	st->fr[st->depth].ret_pc = pc + 1;
	for (int i = 0; i < 4; i++) {
		st->fr[st->depth].saved[i] = st->r[6 + i];
		sv_uninit(s, &st->r[6 + i]);
	}
	/* the new frame starts uninitialised */
	st->mem[K2S_MO_STACK + nd] = NULL;
	st->mem[K2S_MO_SPILL + nd] = NULL;
	st->depth = nd;
	sv_ptr(en->w, &st->r[10], K2_T_STACK, (uint8_t)(K2S_MO_STACK + nd), -1, NULL, NULL, NULL,
	       K2_STACK_SIZE);
	*tgt = k2_insn_target(in, pc);
	return K2S_NEXT_CALL;
}

static int64_t lddw(struct k2_enc *en, struct k2_state *st, uint32_t pc,
		    const struct bpf_insn *in, enum k2_op op)
{
	struct k2_smt *s = en->s;
	struct k2_world *w = en->w;
	struct k2_sv *d = &st->r[in->dst_reg];
	uint32_t m = (uint32_t)in->imm;
	Z3_ast key;

	switch (op) {
	case K2_OP_LDDW:
		sv_scalar(s, d, t_n64(s, k2_insn_imm64(in)));
		return pc + 2;
	case K2_OP_LDDW_MAP_FD:
	case K2_OP_LDDW_MAP_IDX:
		if (m >= w->prog->n_maps) {
			k2s_refuse(en, pc, "map reference out of range");
			return K2S_NEXT_DEAD;
		}
		sv_ptr(w, d, K2_T_MAP, 0, (int16_t)m, NULL, NULL, NULL, 0);
		return pc + 2;
	case K2_OP_LDDW_MAP_VALUE:
	case K2_OP_LDDW_MAP_IDX_VALUE:
		if (m >= w->prog->n_maps || w->prog->maps[m].type != BPF_MAP_TYPE_ARRAY ||
		    (uint32_t)in[1].imm >= w->prog->maps[m].value_size) {
			k2s_refuse(en, pc, "invalid direct map value load");
			return K2S_NEXT_DEAD;
		}
		if (en->window) {
			k2s_refuse(en, pc, "map value load inside a window");
			return K2S_NEXT_DEAD;
		}
		key = t_num(s, 32, 0);
		sv_ptr(w, d, K2_T_MAP_VALUE, (uint8_t)(K2S_MO_MAPVAL + (w->n_mapobj > 1 ? m : 0)),
		       (int16_t)m, k2s_map_elem(w, m, key), k2s_map_slot(w, m, key), NULL,
		       (uint32_t)in[1].imm);
		return pc + 2;
	default: /* BTF ids and functions: the interpreter cannot run them */
		k2s_error(en, st, s->tru);
		return K2S_NEXT_DEAD;
	}
}

int64_t k2s_exec(struct k2_enc *en, struct k2_state *st, uint32_t pc, struct k2_state **taken,
		 int64_t *tgt)
{
	const struct bpf_insn *in = &en->insns[pc];
	enum k2_op op = (enum k2_op)en->ops[pc];
	const struct k2_opinfo *oi = k2_op_info(op);
	struct k2_state *ex = NULL;
	struct k2_sv val;

	*taken = NULL;
	if (op == K2_OP_INVALID) {
		k2s_refuse(en, pc, "jump into the middle of ld_imm64");
		return K2S_NEXT_DEAD;
	}
	switch (oi->kind) {
	case K2_KIND_ALU:
	case K2_KIND_END:
		alu(en, st, pc, in, op, oi);
		return pc + 1;
	case K2_KIND_JMP:
		return jmp(en, st, pc, in, oi, taken, tgt);
	case K2_KIND_JA:
		return k2_insn_target(in, pc);
	case K2_KIND_EXIT:
		return do_exit(en, st, pc, tgt);
	case K2_KIND_CALL:
		if (op == K2_OP_CALL_PSEUDO)
			return call_pseudo(en, st, pc, in, tgt);
		if (op == K2_OP_CALL_KFUNC) {
			k2s_error(en, st, en->s->tru);
			return K2S_NEXT_DEAD;
		}
		if (en->window) {
			k2s_refuse(en, pc, "call inside a window");
			return K2S_NEXT_DEAD;
		}
		if (k2s_call(en, st, pc, in->imm, &ex))
			return K2S_NEXT_DEAD;
		*tgt = 0;
		*taken = ex;
		return ex ? K2S_NEXT_FORK_EXIT : (int64_t)pc + 1;
	case K2_KIND_LDX:
		if (k2s_load(en, st, pc, &st->r[in->src_reg], in->off, oi->width / 8,
			     oi->flags & K2_F_SIGNED, &val))
			return K2S_NEXT_DEAD;
		st->r[in->dst_reg] = val;
		return pc + 1;
	case K2_KIND_ST:
		sv_scalar(en->s, &val, t_n64(en->s, (uint64_t)(int64_t)in->imm));
		if (k2s_store(en, st, pc, &st->r[in->dst_reg], in->off, oi->width / 8, &val))
			return K2S_NEXT_DEAD;
		return pc + 1;
	case K2_KIND_STX:
		val = st->r[in->src_reg];
		if (k2s_store(en, st, pc, &st->r[in->dst_reg], in->off, oi->width / 8, &val))
			return K2S_NEXT_DEAD;
		return pc + 1;
	case K2_KIND_ATOMIC:
		if (k2s_atomic(en, st, pc, in, op))
			return K2S_NEXT_DEAD;
		return pc + 1;
	case K2_KIND_LDDW:
		return lddw(en, st, pc, in, op);
	case K2_KIND_LDABS:
	case K2_KIND_LDIND: {
		struct k2_smt *s = en->s;
		Z3_ast k = t_n64(s, (uint64_t)(int64_t)in->imm);

		if (oi->kind == K2_KIND_LDIND) {
			struct k2_sv *x = &st->r[in->src_reg];

			/* the offset is an int: (s32)(u32)(src + imm) */
			k2s_error(en, st, b_not(s, sv_is(s, x, K2_T_SCALAR)));
			k = t_sext(s, t_ext(s, t_add(s, x->v, k), 31, 0), 64);
		}
		if (en->window) {
			k2s_refuse(en, pc, "legacy packet load inside a window");
			return K2S_NEXT_DEAD;
		}
		if (k2s_ldabs(en, st, pc, k, oi->width / 8, &ex))
			return K2S_NEXT_DEAD;
		*tgt = 0;
		*taken = ex;
		return ex ? K2S_NEXT_FORK_EXIT : (int64_t)pc + 1;
	}
	default:
		k2s_refuse(en, pc, "instruction not encoded");
		return K2S_NEXT_DEAD;
	}
}
