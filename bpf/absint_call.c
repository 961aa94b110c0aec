/* bpf/absint_call.c: calls: helper argument rules and effects, bpf-to-bpf calls, kfuncs. */
#include "bpf/absint_int.h"

#include <stdlib.h>
#include <string.h>

/* Helpers after which the verifier drops packet pointers (bpf_helper_changes_pkt_data),
 * for those the helper table does not describe. */
static const uint32_t pkt_changers[] = {
	BPF_FUNC_skb_store_bytes,      BPF_FUNC_l3_csum_replace,     BPF_FUNC_l4_csum_replace,
	BPF_FUNC_clone_redirect,       BPF_FUNC_skb_vlan_push,	     BPF_FUNC_skb_vlan_pop,
	BPF_FUNC_skb_change_proto,     BPF_FUNC_skb_change_tail,     BPF_FUNC_skb_pull_data,
	BPF_FUNC_skb_change_head,      BPF_FUNC_xdp_adjust_head,     BPF_FUNC_xdp_adjust_meta,
	BPF_FUNC_xdp_adjust_tail,      BPF_FUNC_skb_adjust_room,     BPF_FUNC_msg_pull_data,
	BPF_FUNC_msg_push_data,	       BPF_FUNC_msg_pop_data,	     BPF_FUNC_lwt_push_encap,
	BPF_FUNC_lwt_seg6_store_bytes, BPF_FUNC_lwt_seg6_adjust_srh, BPF_FUNC_lwt_seg6_action,
};

/* Argument and return kinds of the supplement below, beyond enum k2_arg / enum k2_ret. */
#define ARG_RINGBUF_REC 100 /* a ringbuf record from ringbuf_reserve, released by the call */
#define RET_RINGBUF_REC 100 /* a ringbuf record of the size in r2, or NULL */

/*
 * Helpers the shared table (bpf/k2_helpers.h) does not describe, as far as the verifier's
 * types go; they belong there once the interpreter models them.
 */
static const struct k2_helper supplement[] = {
	/* For fentry/fexit on XDP programs: the first argument is the traced xdp_buff (BTF). */
	{ BPF_FUNC_xdp_output,
	  "xdp_output",
	  5,
	  { K2_ARG_ANYTHING, K2_ARG_MAP_PTR, K2_ARG_ANYTHING, K2_ARG_MEM, K2_ARG_SIZE_OR_ZERO },
	  K2_RET_INTEGER,
	  K2_H_EFFECT,
	  K2_PT(BPF_PROG_TYPE_TRACING) },
	{ BPF_FUNC_ringbuf_reserve,
	  "ringbuf_reserve",
	  3,
	  { K2_ARG_MAP_PTR, K2_ARG_ANYTHING, K2_ARG_ANYTHING },
	  RET_RINGBUF_REC,
	  K2_H_EFFECT,
	  ~0ULL },
	{ BPF_FUNC_ringbuf_submit,
	  "ringbuf_submit",
	  2,
	  { ARG_RINGBUF_REC, K2_ARG_ANYTHING },
	  K2_RET_VOID,
	  K2_H_EFFECT,
	  ~0ULL },
	{ BPF_FUNC_ringbuf_discard,
	  "ringbuf_discard",
	  2,
	  { ARG_RINGBUF_REC, K2_ARG_ANYTHING },
	  K2_RET_VOID,
	  K2_H_EFFECT,
	  ~0ULL },
};

const struct k2_helper *k2_ai_helper(uint32_t id)
{
	const struct k2_helper *h = k2_helper_find(id);

	for (size_t i = 0; !h && i < sizeof(supplement) / sizeof(supplement[0]); i++)
		if (supplement[i].id == id)
			h = &supplement[i];
	return h;
}

static bool changes_pkt(uint32_t id, const struct k2_helper *h)
{
	if (h)
		return h->flags & K2_H_PKT_CHANGE;
	for (size_t i = 0; i < sizeof(pkt_changers) / sizeof(pkt_changers[0]); i++)
		if (pkt_changers[i] == id)
			return true;
	return false;
}

struct ai_fx *k2_ai_fx(struct ai_ctx *ctx, uint32_t pc)
{
	if (!ctx->record || !ctx->fx_idx)
		return NULL;
	if (!ctx->fx_idx[pc]) {
		if (ctx->n_fx == ctx->cap_fx) {
			uint32_t cap = ctx->cap_fx ? 2 * ctx->cap_fx : 16;
			struct ai_fx *nf = realloc(ctx->fx, cap * sizeof(*nf));

			if (!nf)
				return NULL;
			ctx->fx = nf;
			ctx->cap_fx = cap;
		}
		memset(&ctx->fx[ctx->n_fx], 0, sizeof(ctx->fx[0]));
		ctx->fx_idx[pc] = ++ctx->n_fx;
	}
	return &ctx->fx[ctx->fx_idx[pc] - 1];
}

static void ss_add(struct k2_stackset *s, int64_t lo, int64_t hi)
{
	if (lo < 0)
		lo = 0;
	if (hi > K2_STACK_BYTES)
		hi = K2_STACK_BYTES;
	for (int64_t a = lo; a < hi; a++)
		s->w[a / 64] |= 1ULL << (a % 64);
}

static void mark_escape(struct ai_ctx *ctx, uint32_t pc)
{
	struct ai_fx *fx = k2_ai_fx(ctx, pc);

	if (fx)
		fx->escape = true;
}

static bool own_stack(const struct k2_aval *v)
{
	return v->type == K2_VT_PTR_STACK && v->frame == 0;
}

void k2_ai_invalidate_pkt(struct k2_astate *st)
{
	st->pkt_min = 0;
	for (int r = 0; r < K2_NREGS; r++) {
		uint8_t t = st->regs[r].type;

		if (t == K2_VT_PTR_PKT || t == K2_VT_PTR_PKT_END || t == K2_VT_PTR_PKT_META)
			k2_sc_set_unknown(&st->regs[r]);
	}
	for (int s = 0; s < K2_STACK_SLOTS; s++) {
		uint8_t t = st->stack[s].spill.type;

		if (t == K2_VT_PTR_PKT || t == K2_VT_PTR_PKT_END || t == K2_VT_PTR_PKT_META)
			k2_sc_set_unknown(&st->stack[s].spill);
	}
}

static void set_func_flag(struct ai_ctx *ctx, bool *flag)
{
	if (!*flag) {
		*flag = true;
		ctx->changed = true;
	}
}

/* ---- helper arguments ---- */

struct arg_mem {
	uint64_t min, max; /* bytes the helper may access */
	bool write, certain;
};

static bool mem_in_bounds(const struct ai_ctx *ctx, const struct k2_aval *v,
			  const struct k2_access *a, uint64_t size)
{
	struct ai_map_sizes ms;

	switch (a->region) {
	case K2_MEM_STACK:
		return a->frame || (a->off_min >= -K2_STACK_BYTES &&
				    k2_sat_add(a->off_max, (int64_t)size) <= 0);
	case K2_MEM_MAP_VALUE:
		if (v->type != K2_VT_PTR_MAP_VALUE || !k2_ai_map_sizes(ctx, v, &ms))
			return false;
		return a->off_min >= 0 && k2_sat_add(a->off_max, (int64_t)size) <= ms.min_value;
	case K2_MEM_ALLOC:
		return a->off_min >= 0 && k2_sat_add(a->off_max, (int64_t)size) <= v->range;
	default: /* packet */
		return a->fixed_off >= 0 && (uint64_t)a->fixed_off + size <= v->range &&
		       v->smin >= 0 && v->umax <= 0xffff;
	}
}

/* Checks that v points to the bytes a helper argument needs, and records what the helper
 * does to the frame through it. */
static void mem_arg(struct ai_ctx *ctx, struct k2_astate *st, uint32_t pc, int r,
		    const struct arg_mem *m, bool or_null)
{
	const struct k2_aval *v = &st->regs[r];
	bool unbounded = m->max > 0xffff;
	struct k2_access a;
	struct ai_fx *fx;
	int64_t lo, hi;
	uint64_t c;

	if (or_null && k2_aval_is_const(v, &c) && c == 0)
		return;
	if (v->type == K2_VT_UNKNOWN) {
		mark_escape(ctx, pc);
		if (m->write)
			k2_ai_stack_clobber(st, 0, K2_STACK_BYTES);
		return;
	}
	if (v->maybe_null && !or_null)
		k2_ai_violation(ctx, pc, "R%d type=%s_or_null expected=fp, pkt, map_value, mem", r,
				k2_ai_type_name(v->type));
	if (v->type != K2_VT_PTR_STACK && v->type != K2_VT_PTR_MAP_VALUE &&
	    v->type != K2_VT_PTR_PKT && v->type != K2_VT_PTR_PKT_META && v->type != K2_VT_PTR_MEM) {
		k2_ai_violation(ctx, pc, "R%d type=%s expected=fp, pkt, map_value", r,
				k2_ai_type_name(v->type));
		return;
	}
	k2_ai_describe(v, 0, 1, m->write, &a);
	if (unbounded)
		k2_ai_violation(ctx, pc, "R%d unbounded memory access, make sure to bounds check",
				r);
	else if (!mem_in_bounds(ctx, v, &a, m->max))
		k2_ai_violation(ctx, pc, "invalid indirect access to %s R%d off=%lld size=%llu",
				k2_ai_type_name(v->type), r, (long long)a.off_min,
				(unsigned long long)m->max);
	if (!own_stack(v))
		return;
	lo = k2_sat_add(a.off_min, K2_STACK_BYTES);
	hi = unbounded ? K2_STACK_BYTES
		       : k2_sat_add(k2_sat_add(a.off_max, (int64_t)m->max), K2_STACK_BYTES);
	fx = k2_ai_fx(ctx, pc);
	if (!m->write) {
		if (fx)
			ss_add(&fx->read, lo, hi);
		return;
	}
	if (fx && m->certain && (a.flags & K2_ACC_CONST))
		ss_add(&fx->kill, k2_sat_add(a.off, K2_STACK_BYTES),
		       k2_sat_add(k2_sat_add(a.off, (int64_t)m->min), K2_STACK_BYTES));
	k2_ai_stack_clobber(st, lo < 0 ? 0 : (int)lo,
			    hi > K2_STACK_BYTES ? K2_STACK_BYTES : (int)hi);
}

static bool size_of_next(const struct k2_astate *st, int r, uint64_t *min, uint64_t *max)
{
	const struct k2_aval *s = &st->regs[r + 1];

	if (r >= 5 || s->type != K2_VT_SCALAR) {
		*min = 0;
		*max = UINT64_MAX;
		return false;
	}
	*min = s->umin;
	*max = s->umax;
	return true;
}

/* ringbuf_submit/discard: the record and every copy of it are gone. */
static void release_record(struct ai_ctx *ctx, struct k2_astate *st, uint32_t pc, int r)
{
	const struct k2_aval *v = &st->regs[r];
	uint32_t id = v->id;

	if (v->type != K2_VT_PTR_MEM || v->maybe_null || v->off || !k2_tn_is_const(v->var) ||
	    v->var.value) {
		k2_ai_violation(ctx, pc, "R%d type=%s%s expected=ringbuf record (unmodified)", r,
				k2_ai_type_name(v->type), v->maybe_null ? "_or_null" : "");
		return;
	}
	for (int i = 0; i < K2_NREGS + K2_STACK_SLOTS; i++) {
		struct k2_aval *x = i < K2_NREGS ? &st->regs[i] : &st->stack[i - K2_NREGS].spill;

		if (x->type == K2_VT_PTR_MEM && (i == r || (id && x->id == id)))
			k2_sc_set_unknown(x);
	}
}

static void helper_arg(struct ai_ctx *ctx, struct k2_astate *st, uint32_t pc,
		       const struct k2_helper *h, int i, struct k2_aval *map)
{
	int r = i + 1;
	const struct k2_aval *v = &st->regs[r];
	struct ai_map_sizes ms;
	bool known = map->type == K2_VT_PTR_MAP && k2_ai_map_sizes(ctx, map, &ms);
	struct arg_mem am = { 0 };
	uint8_t kind = h->args[i];

	if (v->type == K2_VT_NOT_INIT && !v->maybe_uninit)
		k2_ai_violation(ctx, pc, "R%d !read_ok", r);
	switch (kind) {
	case K2_ARG_ANYTHING:
		if (own_stack(v) || v->type == K2_VT_UNKNOWN)
			mark_escape(ctx, pc);
		break;
	case K2_ARG_CTX:
		if (v->type != K2_VT_PTR_CTX || v->off)
			k2_ai_violation(ctx, pc, "R%d type=%s expected=ctx", r,
					k2_ai_type_name(v->type));
		break;
	case K2_ARG_MAP_PTR:
		if (v->type != K2_VT_PTR_MAP)
			k2_ai_violation(ctx, pc, "R%d type=%s expected=map_ptr", r,
					k2_ai_type_name(v->type));
		else
			*map = *v;
		break;
	case K2_ARG_MAP_KEY:
	case K2_ARG_MAP_VALUE:
		if (!known) {
			mem_arg(ctx, st, pc, r, &(struct arg_mem){ 0, 0, false, false }, false);
			mark_escape(ctx, pc);
			break;
		}
		am.min = am.max = kind == K2_ARG_MAP_KEY ? ms.max_key : ms.max_value;
		mem_arg(ctx, st, pc, r, &am, false);
		break;
	case K2_ARG_MEM:
	case K2_ARG_MEM_OR_NULL:
	case K2_ARG_UNINIT_MEM:
		size_of_next(st, r, &am.min, &am.max);
		am.write = kind == K2_ARG_UNINIT_MEM;
		am.certain = am.write;
		mem_arg(ctx, st, pc, r, &am, kind == K2_ARG_MEM_OR_NULL);
		/* Helpers that fill a MEM argument (fib_lookup) also write it. */
		if (kind == K2_ARG_MEM && (h->flags & K2_H_WRITES_MEM)) {
			am.write = true;
			am.certain = false;
			mem_arg(ctx, st, pc, r, &am, false);
		}
		break;
	case ARG_RINGBUF_REC: release_record(ctx, st, pc, r); break;
	case K2_ARG_SIZE:
	case K2_ARG_SIZE_OR_ZERO:
		if (v->type != K2_VT_SCALAR)
			k2_ai_violation(ctx, pc, "R%d type=%s expected=scalar", r,
					k2_ai_type_name(v->type));
		break;
	default: break;
	}
}

static void set_ret(struct k2_astate *st, uint32_t pc, uint8_t ret, const struct k2_aval *map)
{
	struct k2_aval *r0 = &st->regs[0], size_v = st->regs[2];
	const struct k2_aval *size = &size_v;
	uint64_t c;

	switch (ret) {
	case K2_RET_VOID: k2_ai_set_not_init(r0); break;
	case RET_RINGBUF_REC:
		/* The size must be a constant: the record's bytes are that many. */
		k2_ai_set_ptr(r0, K2_VT_PTR_MEM);
		r0->maybe_null = true;
		r0->range = k2_aval_is_const(size, &c) && c <= UINT32_MAX ? (uint32_t)c : 0;
		r0->map = map->type == K2_VT_PTR_MAP ? map->map : -1;
		r0->maps = map->type == K2_VT_PTR_MAP ? map->maps : 0;
		k2_ai_scrub_id(st, pc + 1);
		r0->id = pc + 1;
		break;
	case K2_RET_MAP_VALUE_OR_NULL:
		k2_ai_set_ptr(r0, K2_VT_PTR_MAP_VALUE_OR_NULL);
		if (map->type == K2_VT_PTR_MAP) {
			r0->map = map->map;
			r0->maps = map->maps;
		} else {
			k2_aval_set_map(r0, -1);
		}
		k2_ai_scrub_id(st, pc + 1);
		r0->id = pc + 1;
		break;
	default: k2_sc_set_unknown(r0); break;
	}
}

static void clobber_args(struct k2_astate *st)
{
	for (int r = 1; r <= 5; r++)
		k2_ai_set_not_init(&st->regs[r]);
}

static void call_helper(struct ai_ctx *ctx, struct k2_astate *st, uint32_t pc,
			const struct k2_helper *h)
{
	uint32_t type = ctx->prog ? ctx->prog->type : 0;
	struct k2_aval map;

	k2_ai_set_not_init(&map);
	if (ctx->prog && !k2_helper_allowed(h, type))
		k2_ai_violation(ctx, pc, "program of this type cannot use helper %s#%u", h->name,
				h->id);
	for (int i = 0; i < h->nargs; i++)
		if (h->args[i] != K2_ARG_NONE)
			helper_arg(ctx, st, pc, h, i, &map);
	if (changes_pkt(h->id, h)) {
		k2_ai_invalidate_pkt(st);
		set_func_flag(ctx, &ctx->funcs[ctx->cur_func].changes_pkt);
	}
	set_ret(st, pc, h->ret, &map);
	clobber_args(st);
}

/* A callee the model does not describe may read and write what its arguments point to. */
static void call_opaque(struct ai_ctx *ctx, struct k2_astate *st, uint32_t pc, bool pkt)
{
	for (int r = 1; r <= 5; r++) {
		const struct k2_aval *v = &st->regs[r];

		if (own_stack(v) || v->type == K2_VT_UNKNOWN) {
			int64_t a = k2_sat_add(k2_sat_add(v->off, v->smin), K2_STACK_BYTES);
			int lo = v->type == K2_VT_UNKNOWN || a < 0 ? 0
				 : a > K2_STACK_BYTES		   ? K2_STACK_BYTES
								   : (int)a;

			mark_escape(ctx, pc);
			k2_ai_stack_clobber(st, lo, K2_STACK_BYTES);
		}
	}
	if (pkt) {
		k2_ai_invalidate_pkt(st);
		set_func_flag(ctx, &ctx->funcs[ctx->cur_func].changes_pkt);
	}
	k2_ai_set_not_init(&st->regs[0]);
	st->regs[0].type = K2_VT_UNKNOWN;
	clobber_args(st);
}

/* ---- bpf-to-bpf calls: one summary per function, joined over its call sites ---- */

/* A caller's value as the callee sees it: frames count one more call. */
static void to_callee(struct k2_aval *v)
{
	if (v->type == K2_VT_PTR_STACK) {
		if (v->frame == UINT8_MAX) {
			k2_ai_set_not_init(v);
			v->type = K2_VT_UNKNOWN;
		} else {
			v->frame++;
		}
	}
}

static void enter_callee(struct ai_ctx *ctx, uint32_t f, const struct k2_astate *entry)
{
	struct ai_func *fn = &ctx->funcs[f];

	if (!fn->called) {
		*fn->entry = *entry;
		fn->called = true;
		ctx->changed = true;
		return;
	}
	if (k2_ai_state_join(fn->entry, entry, ctx->widen_calls))
		ctx->changed = true;
}

static void call_func(struct ai_ctx *ctx, struct k2_astate *st, uint32_t pc)
{
	uint32_t f = ctx->cfg->callee[pc];
	struct ai_func *fn = &ctx->funcs[f], *me = &ctx->funcs[ctx->cur_func];
	struct k2_astate *e = ctx->scratch;
	int lo = K2_STACK_BYTES;

	k2_ai_state_init(e, ctx->prog, true);
	for (int r = 1; r <= 5; r++) {
		e->regs[r] = st->regs[r];
		to_callee(&e->regs[r]);
		if (own_stack(&st->regs[r]) || st->regs[r].type == K2_VT_UNKNOWN) {
			mark_escape(ctx, pc);
			lo = 0;
		}
	}
	enter_callee(ctx, f, e);
	if (!fn->has_ret) {
		st->reachable = false; /* no return seen yet: a later round brings it */
		return;
	}
	st->regs[0] = fn->ret;
	if (fn->ret.type == K2_VT_PTR_STACK) {
		if (fn->ret.frame == 0) {
			k2_ai_violation(ctx, pc, "cannot return stack pointer to the caller");
			k2_ai_set_not_init(&st->regs[0]);
			st->regs[0].type = K2_VT_UNKNOWN;
		} else {
			st->regs[0].frame--;
		}
	}
	clobber_args(st);
	if (fn->changes_pkt) {
		k2_ai_invalidate_pkt(st);
		set_func_flag(ctx, &me->changes_pkt);
	}
	if (fn->writes_up)
		set_func_flag(ctx, &me->writes_up);
	if (fn->touches_unknown)
		set_func_flag(ctx, &me->touches_unknown);
	if ((fn->writes_up && lo == 0) || fn->touches_unknown)
		k2_ai_stack_clobber(st, 0, K2_STACK_BYTES);
}

/* Callbacks (bpf_loop and friends) run with arguments the helper makes up. */
void k2_ai_enter_callback(struct ai_ctx *ctx, uint32_t f)
{
	struct k2_astate *e = ctx->scratch;

	k2_ai_state_init(e, ctx->prog, true);
	for (int r = 1; r <= 5; r++) {
		k2_ai_set_not_init(&e->regs[r]);
		e->regs[r].type = K2_VT_UNKNOWN;
	}
	enter_callee(ctx, f, e);
}

void k2_ai_call(struct ai_ctx *ctx, struct k2_astate *st, uint32_t pc)
{
	const struct bpf_insn *in = &ctx->cfg->insns[pc];
	enum k2_op op = k2_insn_op(in);
	const struct k2_helper *h;

	if (op == K2_OP_CALL_PSEUDO) {
		call_func(ctx, st, pc);
		return;
	}
	if (op == K2_OP_CALL_KFUNC) {
		call_opaque(ctx, st, pc, true);
		return;
	}
	h = k2_ai_helper((uint32_t)in->imm);
	if (h)
		call_helper(ctx, st, pc, h);
	else
		call_opaque(ctx, st, pc, changes_pkt((uint32_t)in->imm, NULL));
}
