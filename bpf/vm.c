/* bpf/vm.c: an interpreter for a program: decoding, preallocation, runs, snapshots. */
#include <stdlib.h>
#include <string.h>

#include "bpf/vm_internal.h"

#define DEFAULT_STEPS 1000000
#define DEFAULT_SLOTS 512

const char *k2_status_name(enum k2_status st)
{
	static const char *const names[K2_RUN__COUNT] = {
		"ok", "emem", "euninit", "eptr", "ehelper", "esteps", "edepth", "einsn", "ecap",
	};

	return st < K2_RUN__COUNT ? names[st] : "?";
}

static int32_t map_of_fd(const struct k2_vm *vm, int32_t fd)
{
	if (!vm->map_fds)
		return fd;
	for (uint32_t i = 0; i < vm->n_maps; i++)
		if (vm->map_fds[i] == fd)
			return (int32_t)i;
	return -1;
}

/* Resolves a map reference of an ld_imm64 to a map index (aux). */
static int decode_map(const struct k2_vm *vm, const struct bpf_insn *in, enum k2_op op, uint32_t i,
		      struct k2_dinsn *d, struct k2_err *e)
{
	bool fd = op == K2_OP_LDDW_MAP_FD || op == K2_OP_LDDW_MAP_VALUE;
	bool val = op == K2_OP_LDDW_MAP_VALUE || op == K2_OP_LDDW_MAP_IDX_VALUE;
	int32_t m = fd ? map_of_fd(vm, in->imm) : in->imm;
	const struct k2_mapinfo *mi;

	if (m < 0 || (uint32_t)m >= vm->n_maps)
		return k2_err_set(e, -EINVAL, "insn %u: map reference %d out of range (%u maps)", i,
				  in->imm, vm->n_maps);
	mi = &vm->maps[m];
	if (val && (mi->def.type != BPF_MAP_TYPE_ARRAY || (uint32_t)in[1].imm >= mi->vsize))
		return k2_err_set(e, -EINVAL,
				  "insn %u: direct value access needs an array map "
				  "and an offset below its value size",
				  i);
	d->aux = (uint16_t)m;
	return 0;
}

/* The kernel's static rules that k2_insns_check also applies, for window fragments. */
static int check_window_insn(const struct bpf_insn *in, enum k2_op op, uint32_t i, uint32_t n,
			     struct k2_err *e)
{
	const struct k2_opinfo *oi = k2_op_info(op);

	if (oi->kind == K2_KIND_CALL)
		return k2_err_set(e, -EINVAL, "insn %u: calls are not allowed in a window", i);
	if (((oi->flags & (K2_F_RD_DST | K2_F_WR_DST)) && in->dst_reg >= K2_NREGS) ||
	    ((oi->flags & (K2_F_RD_SRC | K2_F_FETCH)) && in->src_reg >= K2_NREGS))
		return k2_err_set(e, -EINVAL, "insn %u: invalid register", i);
	if (((oi->flags & K2_F_WR_DST) && in->dst_reg == K2_REG_FP) ||
	    ((oi->flags & K2_F_FETCH) && in->src_reg == K2_REG_FP))
		return k2_err_set(e, -EACCES, "insn %u: frame pointer is read only", i);
	if (oi->kind == K2_KIND_ALU && (oi->flags & K2_F_IMM)) {
		if ((oi->aluop == BPF_DIV || oi->aluop == BPF_MOD) && in->imm == 0)
			return k2_err_set(e, -EINVAL, "insn %u: division by zero", i);
		if ((oi->aluop == BPF_LSH || oi->aluop == BPF_RSH || oi->aluop == BPF_ARSH) &&
		    (in->imm < 0 || in->imm >= oi->width))
			return k2_err_set(e, -EINVAL, "insn %u: invalid shift %d", i, in->imm);
	}
	if (oi->kind == K2_KIND_LDDW &&
	    (i + 1 >= n || in[1].code || in[1].dst_reg || in[1].src_reg || in[1].off))
		return k2_err_set(e, -EINVAL, "insn %u: invalid ld_imm64", i);
	return 0;
}

/*
 * Decodes insns[0, n) into out[]. Whole programs were checked by k2_insns_check; a window
 * gets its own checks, and out[n..] receives its exit stubs (out must hold 2n + 2).
 */
int k2_decode(const struct k2_vm *vm, const struct bpf_insn *in, uint32_t n, struct k2_dinsn *out,
	      bool window, struct k2_err *e)
{
	uint32_t stubs = 0;
	int err;

	for (uint32_t i = 0; i < n; i++) {
		enum k2_op op = k2_insn_op(&in[i]);
		const struct k2_opinfo *oi = k2_op_info(op);
		struct k2_dinsn *d = &out[i];

		memset(d, 0, sizeof(*d));
		if (op == K2_OP_INVALID)
			return k2_err_set(e, -EINVAL, "insn %u: invalid opcode 0x%02x", i,
					  in[i].code);
		if (oi->isa > vm->max_isa)
			return k2_err_set(e, -EOPNOTSUPP, "insn %u: %s needs ISA v%u", i, oi->name,
					  oi->isa);
		if (window && (err = check_window_insn(&in[i], op, i, n, e)))
			return err;
		d->op = (uint8_t)op;
		d->dst = in[i].dst_reg;
		d->src = in[i].src_reg;
		d->off = in[i].off;
		d->imm = in[i].imm;
		if (oi->flags & K2_F_BRANCH || op == K2_OP_CALL_PSEUDO)
			d->tgt = (int32_t)k2_insn_target(&in[i], i);
		if (op >= K2_OP_LDDW_MAP_FD && op <= K2_OP_LDDW_MAP_IDX_VALUE &&
		    op != K2_OP_LDDW_BTF_ID && op != K2_OP_LDDW_FUNC &&
		    (err = decode_map(vm, &in[i], op, i, d, e)))
			return err;
		if (oi->kind == K2_KIND_LDDW) {
			i++;
			memset(&out[i], 0, sizeof(out[i]));
			out[i].op = K2_XOP_HALF;
			out[i].imm = in[i].imm;
		}
	}
	if (!window)
		return 0;
	/* Exits: out[n] is falling off the end; a stub per other target outside the window. */
	memset(&out[n], 0, sizeof(out[n]));
	out[n].op = K2_XOP_WEXIT;
	stubs = 1;
	for (uint32_t i = 0; i < n; i++) {
		struct k2_dinsn *d = &out[i];
		uint32_t s;

		if (d->op == K2_XOP_HALF || !(k2_op_info((enum k2_op)d->op)->flags & K2_F_BRANCH))
			continue;
		if (d->tgt >= 0 && (uint32_t)d->tgt < n) {
			if (out[d->tgt].op == K2_XOP_HALF)
				return k2_err_set(e, -EINVAL,
						  "insn %u: jump into the middle of ld_imm64", i);
			continue;
		}
		for (s = 0; s < stubs; s++)
			if (out[n + s].imm == d->tgt - (int32_t)n)
				break;
		if (s == stubs) {
			memset(&out[n + s], 0, sizeof(out[n + s]));
			out[n + s].op = K2_XOP_WEXIT;
			out[n + s].imm = d->tgt - (int32_t)n;
			stubs++;
		}
		d->tgt = (int32_t)(n + s);
	}
	return 0;
}

int k2_machine_alloc(const struct k2_vm *vm, struct k2_machine *m)
{
	uint32_t ks = 8, vs = 8, nb = 16;

	for (uint32_t i = 0; i < vm->n_maps; i++) {
		if (vm->maps[i].ksize > ks)
			ks = vm->maps[i].ksize;
		if (vm->maps[i].vsize > vs)
			vs = vm->maps[i].vsize;
	}
	ks = (ks + 7) & ~7u;
	vs = (vs + 7) & ~7u;
	while (nb < m->max_slots * 2)
		nb *= 2;
	m->n_maps = vm->n_maps;
	m->n_buckets = nb;
	m->kpool_cap = m->max_slots * ks;
	m->vpool_cap = m->max_slots * vs;
	m->slots = calloc(m->max_slots, sizeof(*m->slots));
	m->kpool = calloc(m->kpool_cap, 1);
	m->vpool = calloc(m->vpool_cap, 1);
	m->buckets = malloc(nb * sizeof(*m->buckets));
	m->count_delta = calloc(vm->n_maps + 1, sizeof(*m->count_delta));
	m->changed = calloc(vm->n_maps + 1, 1);
	if (!m->slots || !m->kpool || !m->vpool || !m->buckets || !m->count_delta || !m->changed)
		return -ENOMEM;
	memset(m->buckets, 0xff, nb * sizeof(*m->buckets));
	memset(m->spill, K2_T_SCALAR, sizeof(m->spill));
	m->n_slots = 0;
	m->dirty_lo = m->dirty_hi = 0;
	return 0;
}

void k2_machine_free(struct k2_machine *m)
{
	free(m->slots);
	free(m->kpool);
	free(m->vpool);
	free(m->buckets);
	free(m->count_delta);
	free(m->changed);
}

/* Everything a state holds, except the pool buffers' capacities (same VM, same sizes). */
void k2_machine_copy(uint32_t n_maps, struct k2_machine *dst, const struct k2_machine *src)
{
	uint32_t live = (src->depth + 1) * K2_STACK_SIZE;

	memcpy(dst->r, src->r, sizeof(src->r));
	memcpy(dst->t, src->t, sizeof(src->t));
	dst->depth = src->depth;
	dst->pc = src->pc;
	memcpy(dst->fr, src->fr, sizeof(src->fr));
	memcpy(dst->stack, src->stack, live);
	memcpy(dst->sinit, src->sinit, live);
	memcpy(dst->spill, src->spill, live / 8);
	/* Bytes nobody initialised read as 0 in a copy, so copies compare equal. */
	for (uint32_t i = 0; i < live; i++)
		if (!dst->sinit[i])
			dst->stack[i] = 0;
	memcpy(dst->pkt, src->pkt, sizeof(src->pkt));
	dst->meta_off = src->meta_off;
	dst->data_off = src->data_off;
	dst->end_off = src->end_off;
	dst->dirty_lo = 0;
	dst->dirty_hi = K2_PKT_BUF;
	memcpy(dst->ctx, src->ctx, sizeof(src->ctx));
	dst->ctx_len = src->ctx_len;
	dst->n_slots = src->n_slots;
	memcpy(dst->slots, src->slots, src->n_slots * sizeof(*src->slots));
	memcpy(dst->kpool, src->kpool, src->kpool_used);
	memcpy(dst->vpool, src->vpool, src->vpool_used);
	dst->kpool_used = src->kpool_used;
	dst->vpool_used = src->vpool_used;
	memcpy(dst->buckets, src->buckets, src->n_buckets * sizeof(*src->buckets));
	memcpy(dst->count_delta, src->count_delta, (n_maps + 1) * sizeof(*src->count_delta));
	memcpy(dst->changed, src->changed, n_maps + 1);
	memcpy(dst->ringbuf_used, src->ringbuf_used, sizeof(src->ringbuf_used));
	dst->tick = src->tick;
	dst->n_eff = 0;
	dst->eff_data_len = 0;
	dst->ndet_i = src->ndet_i;
	dst->tail_calls = src->tail_calls;
	dst->tail_call = false;
	dst->in = src->in;
	dst->steps = 0;
	dst->status = K2_RUN_OK;
	dst->reason = NULL;
	dst->log = NULL;
}

/* The machine at pc 0 of a run on `in`. */
void k2_machine_start(const struct k2_vm *vm, struct k2_machine *m, const struct k2_input *in)
{
	for (int i = 0; i < K2_NREGS; i++) {
		m->r[i] = 0;
		m->t[i] = K2_T_UNINIT;
	}
	m->r[1] = K2_ADDR(K2_RGN_CTX, 0, 0);
	m->t[1] = K2_T_CTX;
	m->r[10] = K2_ADDR(K2_RGN_STACK, 0, K2_STACK_SIZE);
	m->t[10] = K2_T_STACK;
	m->depth = 0;
	m->pc = 0;
	memset(m->sinit, 0, K2_STACK_SIZE);
	memset(m->spill, K2_T_SCALAR, K2_STACK_SIZE / 8);
	m->in = in;
	k2_ctx_setup(vm, m, in);
	k2_ov_reset((struct k2_vm *)vm, m);
	m->n_eff = 0;
	m->eff_data_len = 0;
	m->ndet_i = 0;
	m->tail_calls = 0;
	m->tail_call = false;
	m->steps = 0;
	m->status = K2_RUN_OK;
	m->reason = NULL;
	m->log = NULL;
}

static int vm_code(struct k2_vm *vm, const struct bpf_insn *insns, uint32_t n, struct k2_err *e)
{
	struct k2_check_opts co = { .sz = sizeof(co), .max_isa = vm->max_isa };
	int err = k2_insns_check(insns, n, &co, e);

	if (err)
		return err;
	if (n + 1 > vm->cap) {
		struct k2_dinsn *c = realloc(vm->code, (n + 1) * sizeof(*c));

		if (!c)
			return k2_err_set(e, -ENOMEM, "out of memory");
		vm->code = c;
		vm->cap = n + 1;
	}
	err = k2_decode(vm, insns, n, vm->code, false, e);
	if (err) {
		/* Half decoded: the VM runs nothing (K2_RUN_EINSN) until a program decodes. */
		vm->code[0].op = K2_OP_INVALID;
		vm->n = 0;
		return err;
	}
	memset(&vm->code[n], 0, sizeof(vm->code[n]));
	vm->code[n].op = K2_OP_INVALID;
	vm->n = n;
	vm->src = insns;
	return 0;
}

int k2_vm_new(const struct k2_prog *prog, const struct k2_vm_opts *opts, struct k2_vm **out,
	      struct k2_err *e)
{
	struct k2_vm *vm = calloc(1, sizeof(*vm));
	int err;

	if (!vm)
		return k2_err_set(e, -ENOMEM, "out of memory");
	vm->type = prog->type;
	vm->attach_type = prog->attach_type;
	vm->max_steps = opts && opts->max_steps ? opts->max_steps : DEFAULT_STEPS;
	vm->max_isa = opts && opts->max_isa ? opts->max_isa : K2_ISA_V4;
	vm->m.max_slots = opts && opts->max_slots ? opts->max_slots : DEFAULT_SLOTS;
	if (vm->m.max_slots > 4096)
		vm->m.max_slots = 4096; /* the slot index has 12 bits in an address */
	vm->n_maps = prog->n_maps;
	vm->maps = calloc(prog->n_maps + 1, sizeof(*vm->maps));
	if (!vm->maps) {
		free(vm);
		return k2_err_set(e, -ENOMEM, "out of memory");
	}
	for (uint32_t i = 0; i < prog->n_maps; i++)
		k2_mapinfo_fill(&vm->maps[i], &prog->maps[i]);
	if (opts && opts->map_fds) {
		vm->map_fds = malloc((prog->n_maps + 1) * sizeof(*vm->map_fds));
		if (vm->map_fds)
			memcpy(vm->map_fds, opts->map_fds, prog->n_maps * sizeof(*vm->map_fds));
	}
	k2_ctx_describe(vm->type, vm->attach_type, &vm->ctx);
	if (k2_machine_alloc(vm, &vm->m)) {
		k2_vm_free(vm);
		return k2_err_set(e, -ENOMEM, "out of memory");
	}
	err = vm_code(vm, prog->insns, prog->n_insns, e);
	if (err) {
		k2_err_prefix(e, "%s: ", prog->sec[0] ? prog->sec : prog->name);
		k2_vm_free(vm);
		return err;
	}
	*out = vm;
	return 0;
}

void k2_vm_free(struct k2_vm *vm)
{
	if (!vm)
		return;
	k2_machine_free(&vm->m);
	free(vm->code);
	free(vm->maps);
	free(vm->map_fds);
	free(vm);
}

int k2_vm_set_insns(struct k2_vm *vm, const struct bpf_insn *insns, uint32_t n, struct k2_err *e)
{
	return vm_code(vm, insns, n, e);
}

static void fill_result(struct k2_vm *vm, int rc, struct k2_result *res)
{
	struct k2_machine *m = &vm->m;

	memset(res, 0, sizeof(*res));
	res->status = rc == K2_STOP_ERROR ? m->status : K2_RUN_OK;
	res->err_insn = m->pc;
	res->err_reason = rc == K2_STOP_ERROR ? m->reason : NULL;
	res->r0 = m->r[0];
	res->steps = m->steps;
	res->pkt = k2_pkt_out(vm, m, &res->pkt_len, &res->meta_len);
	res->ctx_len = k2_ctx_out(vm, m, m->in, vm->out_ctx);
	res->ctx = vm->out_ctx;
	res->effects = m->eff;
	res->n_effects = m->n_eff;
	res->effect_data = m->eff_data;
	res->tail_call = m->tail_call;
	res->tail_map = m->tail_map;
	res->tail_index = m->tail_index;
}

int k2_vm_run(struct k2_vm *vm, const struct k2_input *in, struct k2_result *res)
{
	int rc;

	k2_machine_start(vm, &vm->m, in);
	vm->ran = true;
	rc = k2_exec(vm, &vm->m, vm->code, vm->max_steps, NULL);
	fill_result(vm, rc, res);
	return 0;
}

int k2_vm_snapshot(struct k2_vm *vm, const struct k2_input *in, uint32_t pc, struct k2_wstate *st,
		   struct k2_result *res)
{
	struct k2_result tmp;
	uint8_t op;
	int rc;

	if (pc >= vm->n || vm->code[pc].op == K2_XOP_HALF)
		return -EINVAL; /* also after a failed k2_vm_set_insns (n = 0) */
	k2_machine_start(vm, &vm->m, in);
	vm->ran = true;
	op = vm->code[pc].op;
	vm->code[pc].op = K2_XOP_SNAP;
	rc = k2_exec(vm, &vm->m, vm->code, vm->max_steps, NULL);
	vm->code[pc].op = op;
	if (rc == K2_STOP_SNAP) {
		k2_machine_copy(vm->n_maps, &st->m, &vm->m);
		return 1;
	}
	fill_result(vm, rc, res ? res : &tmp);
	return 0;
}
