/* search/inputs.c: whole-program test inputs of a program type, biased toward the program. */
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/k2_gen.h"
#include "search/inputs_int.h"

#define NCPUS 2
#define MAX_CONST 64
#define MAX_KEY 256

/* The program's constants that look like ports or IPv4 addresses, in both byte orders. */
struct bias {
	uint16_t ports[MAX_CONST];
	uint32_t n_ports;
	uint32_t addrs[MAX_CONST];
	uint32_t n_addrs;
};

static void add16(struct bias *b, uint16_t v)
{
	for (uint32_t i = 0; i < b->n_ports; i++)
		if (b->ports[i] == v)
			return;
	if (b->n_ports < MAX_CONST)
		b->ports[b->n_ports++] = v;
}

static void add32(struct bias *b, uint32_t v)
{
	for (uint32_t i = 0; i < b->n_addrs; i++)
		if (b->addrs[i] == v)
			return;
	if (b->n_addrs < MAX_CONST)
		b->addrs[b->n_addrs++] = v;
}

static void collect_bias(const struct k2_prog *p, struct bias *b)
{
	memset(b, 0, sizeof(*b));
	for (uint32_t i = 0; i < p->n_insns; i++) {
		const struct bpf_insn *in = &p->insns[i];
		enum k2_op op = k2_insn_op(in);
		const struct k2_opinfo *oi = k2_op_info(op);
		uint64_t v;

		if (oi->kind == K2_KIND_LDDW) {
			v = op == K2_OP_LDDW ? k2_insn_imm64(in) : 0;
			i++;
		} else if ((oi->kind == K2_KIND_JMP || oi->kind == K2_KIND_ALU ||
			    oi->kind == K2_KIND_ST) && (oi->flags & K2_F_IMM)) {
			v = (uint32_t)in->imm;
		} else {
			continue;
		}
		/* Small numbers are lengths, offsets and protocol numbers, not ports. */
		if (v > 0xff && v <= 0xffff) {
			add16(b, (uint16_t)v);
			add16(b, __builtin_bswap16((uint16_t)v));
		} else if (v > 0xffff && v <= 0xffffffffULL) {
			add32(b, (uint32_t)v);
			add32(b, __builtin_bswap32((uint32_t)v));
		}
	}
}

static uint32_t below(struct k2_rng *r, uint32_t n)
{
	return n ? (uint32_t)k2_rng_below(r, n) : 0;
}

static void rand_bytes(struct k2_rng *r, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)k2_rng_next(r);
}

/* Values a program compares against: zero, small numbers, all ones, random. */
static uint64_t rand_value(struct k2_rng *r)
{
	switch (below(r, 5)) {
	case 0: return 0;
	case 1: return below(r, 8);
	case 2: return below(r, 1024);
	case 3: return ~0ULL >> (8 * below(r, 8));
	default: return k2_rng_next(r);
	}
}

static void packet(struct k2_inputs *s, struct k2_rng *r, const struct bias *b,
		   struct k2_input *in)
{
	const struct k2_input_cfg *ic = &s->icfg;
	uint32_t lo = ic->pkt_min < 14 ? 14 : ic->pkt_min;
	uint32_t hi = ic->pkt_max < lo ? lo : ic->pkt_max > K2_PKT_MAX ? K2_PKT_MAX : ic->pkt_max;
	int n;

	/* Mostly short frames: the headers are what programs read, and short runs are cheap. */
	if (below(r, 4))
		hi = hi > 256 ? 256 : hi;
	K2_PKTGEN_OPTS(po, .min_len = lo, .max_len = hi, .odd_pct = 20, .target_pct = 60,
		       .dst_ports = b->ports, .n_dst_ports = b->n_ports, .dst4 = b->addrs,
		       .n_dst4 = b->n_addrs, .src4 = b->addrs, .n_src4 = b->n_addrs);
	n = k2_pktgen(r, &po, in->pkt, K2_PKT_MAX, NULL);
	if (n < (int)lo) {
		n = (int)(lo + below(r, hi - lo + 1));
		rand_bytes(r, in->pkt, (size_t)n);
	}
	in->pkt_len = (uint32_t)n;
}

static void context(struct k2_inputs *s, struct k2_rng *r, struct k2_input *in)
{
	uint32_t type = s->prog->type;

	memset(in->ctx, 0, sizeof(in->ctx));
	if (type == BPF_PROG_TYPE_XDP) {
		struct xdp_md *md = (struct xdp_md *)in->ctx;

		in->ctx_len = sizeof(*md);
		md->ingress_ifindex = 1 + below(r, 4);
		md->rx_queue_index = below(r, 4);
		if (below(r, 10) == 0) { /* metadata in front of the frame */
			uint32_t meta = 4 * (1 + below(r, 8));

			memmove(in->pkt + meta, in->pkt, in->pkt_len);
			rand_bytes(r, in->pkt, meta);
			in->pkt_len += meta;
			md->data = meta;
		}
		k2_gen_input_derive(type, in);
	} else if (type == BPF_PROG_TYPE_SOCKET_FILTER || type == BPF_PROG_TYPE_SCHED_CLS ||
		   type == BPF_PROG_TYPE_SCHED_ACT) {
		struct __sk_buff *skb = (struct __sk_buff *)in->ctx;

		in->ctx_len = sizeof(*skb);
		skb->mark = below(r, 2) ? (uint32_t)rand_value(r) : 0;
		skb->priority = below(r, 8);
		skb->ingress_ifindex = below(r, 4);
		if (below(r, 2))
			rand_bytes(r, (uint8_t *)skb->cb, sizeof(skb->cb));
		k2_gen_input_derive(type, in);
	} else {
		/* Tracing: the raw record or pt_regs, as 8-byte fields of varied magnitude. */
		in->ctx_len = s->icfg.ctx_size ? s->icfg.ctx_size : K2_CTX_MAX;
		if (in->ctx_len > K2_CTX_MAX)
			in->ctx_len = K2_CTX_MAX;
		for (uint32_t o = 0; o + 8 <= in->ctx_len; o += 8) {
			uint64_t v = rand_value(r);

			memcpy(in->ctx + o, &v, 8);
		}
		in->pkt_len = 0;
	}
}

static void nondet(struct k2_rng *r, struct k2_input *in)
{
	in->n_ndet = K2_NDET_MAX;
	for (uint32_t i = 0; i < K2_NDET_MAX; i++)
		in->ndet[i] = rand_value(r);
	in->cpu = below(r, NCPUS);
	in->kmem_seed = k2_rng_next(r);
}

/* ---- map contents: lookups that hit and lookups that miss ---- */

static bool keyed_map(const struct k2_map *m)
{
	switch (m->type) {
	case BPF_MAP_TYPE_HASH:
	case BPF_MAP_TYPE_PERCPU_HASH:
	case BPF_MAP_TYPE_LRU_HASH:
	case BPF_MAP_TYPE_LRU_PERCPU_HASH:
	case BPF_MAP_TYPE_LPM_TRIE:
		return true;
	default:
		return false;
	}
}

static bool percpu_map(const struct k2_map *m)
{
	return m->type == BPF_MAP_TYPE_PERCPU_HASH || m->type == BPF_MAP_TYPE_LRU_PERCPU_HASH ||
	       m->type == BPF_MAP_TYPE_PERCPU_ARRAY;
}

static void find_sites(struct k2_inputs *s)
{
	for (uint32_t i = 0; i < s->prog->n_insns && s->n_sites < K2_INPUT_SITES; i++) {
		const struct bpf_insn *in = &s->prog->insns[i];
		enum k2_op op = k2_insn_op(in);

		if (op == K2_OP_CALL && (in->imm == BPF_FUNC_map_lookup_elem ||
					 in->imm == BPF_FUNC_map_update_elem ||
					 in->imm == BPF_FUNC_map_delete_elem))
			s->sites[s->n_sites++] = i;
		if (k2_op_info(op)->kind == K2_KIND_LDDW)
			i++;
	}
}

/* The key a call site is about to use on this input, if the run gets there. */
static int site_key(struct k2_inputs *s, const struct k2_input *in, uint32_t pc, uint32_t *map,
		    uint8_t *key)
{
	enum k2_rtype t1, t2;
	uint64_t r1, r2;

	if (k2_vm_snapshot(s->vm, in, pc, s->snap, NULL) != 1)
		return 0;
	k2_wstate_get_reg(s->snap, 1, &t1, &r1);
	k2_wstate_get_reg(s->snap, 2, &t2, &r2);
	if (t1 != K2_T_MAP || K2_ADDR_IDX(r1) >= s->prog->n_maps)
		return 0;
	*map = K2_ADDR_IDX(r1);
	if (!keyed_map(&s->prog->maps[*map]) || s->prog->maps[*map].key_size > MAX_KEY)
		return 0;
	return k2_wstate_read(s->snap, r2, key, s->prog->maps[*map].key_size) ? 0 : 1;
}

/* Gives the input its own copy of the maps with some of the keys it looks up inserted. */
static int seed_maps(struct k2_inputs *s, struct k2_rng *r, struct k2_input *in,
		     struct k2_mapstate **own)
{
	uint8_t key[MAX_KEY], *val;
	uint32_t map;

	*own = NULL;
	for (uint32_t k = 0; k < s->n_sites; k++) {
		const struct k2_map *m;
		size_t vsz;
		int err;

		if (below(r, 2) || site_key(s, in, s->sites[k], &map, key) != 1)
			continue;
		if (!*own) {
			if (k2_mapstate_clone(s->base, own))
				return -ENOMEM;
			in->maps = *own;
		}
		m = &s->prog->maps[map];
		vsz = (size_t)m->value_size * (percpu_map(m) ? NCPUS : 1);
		val = malloc(vsz ? vsz : 1);
		if (!val)
			return -ENOMEM;
		for (size_t b = 0; b < vsz; b += 8) {
			uint64_t v = rand_value(r);

			memcpy(val + b, &v, vsz - b < 8 ? vsz - b : 8);
		}
		err = k2_mapstate_update(*own, map, key, val, BPF_ANY);
		free(val);
		if (err && err != -E2BIG && err != -ENOSPC && err != -EINVAL)
			return err;
	}
	return 0;
}

int k2_inputs_new(const struct k2_prog *prog, struct k2_vm *vm, const struct k2_config *cfg,
		  uint32_t n, uint64_t seed, struct k2_inputs **out, struct k2_err *e)
{
	struct k2_inputs *s = calloc(1, sizeof(*s));
	struct k2_config dflt;
	struct k2_rng r;
	struct bias b;
	int hook, err;

	*out = NULL;
	if (!s)
		return k2_err_set(e, -ENOMEM, "out of memory");
	if (!cfg) {
		k2_config_defaults(&dflt);
		cfg = &dflt;
	}
	s->prog = prog;
	s->vm = vm;
	hook = k2_config_hook(prog->type);
	s->icfg = cfg->input[hook < 0 ? K2_HOOK_XDP : hook];
	k2_rng_seed(&r, seed);
	s->in = calloc(n ? n : 1, sizeof(*s->in));
	s->own = calloc(n ? n : 1, sizeof(*s->own));
	if (!s->in || !s->own || k2_wstate_new(vm, &s->snap)) {
		k2_inputs_free(s);
		return k2_err_set(e, -ENOMEM, "out of memory");
	}
	err = k2_gen_mapstate(&r, prog->maps, prog->n_maps, NCPUS, &s->base, e);
	if (err) {
		k2_inputs_free(s);
		return err;
	}
	collect_bias(prog, &b);
	find_sites(s);
	for (uint32_t i = 0; i < n; i++, s->n++) {
		struct k2_input *in = &s->in[i];

		packet(s, &r, &b, in);
		context(s, &r, in);
		nondet(&r, in);
		in->maps = s->base;
		err = seed_maps(s, &r, in, &s->own[i]);
		if (err) {
			s->n++;
			k2_inputs_free(s);
			return k2_err_set(e, err, "%s: map contents for input %u", prog->sec, i);
		}
	}
	*out = s;
	return 0;
}

void k2_inputs_free(struct k2_inputs *s)
{
	if (!s)
		return;
	for (uint32_t i = 0; i < s->n; i++)
		k2_mapstate_free(s->own[i]);
	k2_mapstate_free(s->base);
	k2_wstate_free(s->snap);
	free(s->own);
	free(s->in);
	free(s);
}

uint32_t k2_inputs_count(const struct k2_inputs *s)
{
	return s->n;
}

const struct k2_input *k2_inputs_get(const struct k2_inputs *s, uint32_t i)
{
	return i < s->n ? &s->in[i] : NULL;
}
