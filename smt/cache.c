/* smt/cache.c: the query cache (128-bit keys), canonical candidates, content hashing. */
#include <stdlib.h>
#include <string.h>

#include "smt/window.h"

/*
 * Keys are 128 bits: what the window means (instructions, live sets, precondition, program
 * type and maps, options) and the candidate without nops. Two independent 64-bit hashes
 * make an accidental collision (a wrong verdict) negligible. The table is a fixed array
 * with linear probing; when full it is cleared (a cache, not a store).
 */
struct k2_qcache {
	struct k2_qent {
		uint64_t a, b;
		uint8_t used, verdict;
	} *e;
	uint32_t cap, n;
};

void k2s_hash_bytes(struct k2_hash *h, const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t x = h->a ^ 0xcbf29ce484222325ull, y = h->b ^ 0x9e3779b97f4a7c15ull;

	for (size_t i = 0; i < n; i++) {
		x = (x ^ b[i]) * 0x100000001b3ull;
		y = (y + b[i] + 1) * 0xff51afd7ed558ccdull;
		y ^= y >> 31;
	}
	h->a = x ^ (x >> 29) ^ n;
	h->b = y ^ (y >> 33) ^ (n << 1);
}

int k2s_cache_new(struct k2_smt *s)
{
	struct k2_qcache *c = calloc(1, sizeof(*c));
	uint32_t cap = s->o.cache_size ? s->o.cache_size : 65536;

	if (!c)
		return -ENOMEM;
	c->cap = 16;
	while (c->cap < cap * 2)
		c->cap *= 2;
	c->e = calloc(c->cap, sizeof(*c->e));
	if (!c->e) {
		free(c);
		return -ENOMEM;
	}
	s->cache = c;
	return 0;
}

void k2s_cache_free(struct k2_smt *s)
{
	if (!s->cache)
		return;
	free(s->cache->e);
	free(s->cache);
	s->cache = NULL;
}

bool k2s_cache_get(struct k2_smt *s, const struct k2_hash *h, enum k2_verdict *v)
{
	struct k2_qcache *c = s->cache;

	for (uint32_t i = 0; i < c->cap; i++) {
		struct k2_qent *e = &c->e[(h->a + i) & (c->cap - 1)];

		if (!e->used)
			return false;
		if (e->a == h->a && e->b == h->b) {
			*v = (enum k2_verdict)e->verdict;
			return true;
		}
	}
	return false;
}

void k2s_cache_put(struct k2_smt *s, const struct k2_hash *h, enum k2_verdict v)
{
	struct k2_qcache *c = s->cache;
	struct k2_qent *e;
	uint32_t i;

	if (c->n * 2 >= c->cap) {
		memset(c->e, 0, c->cap * sizeof(*c->e));
		c->n = 0;
	}
	for (i = 0;; i++) {
		e = &c->e[(h->a + i) & (c->cap - 1)];
		if (!e->used || (e->a == h->a && e->b == h->b))
			break;
	}
	if (!e->used)
		c->n++;
	*e = (struct k2_qent){ h->a, h->b, 1, (uint8_t)v };
}

static bool is_nop(const struct bpf_insn *in)
{
	enum k2_op op = k2_insn_op(in);

	return (op == K2_OP_JA && in->off == 0) || (op == K2_OP_JA32 && in->imm == 0);
}

int k2s_canon(const struct bpf_insn *in, uint32_t n, struct bpf_insn **out, uint32_t *nout)
{
	int32_t *map = malloc((n + 1) * sizeof(*map));
	struct bpf_insn *o = malloc((n ? n : 1) * sizeof(*o));
	uint32_t k = 0;

	if (!map || !o) {
		free(map);
		free(o);
		return -ENOMEM;
	}
	/* new index of every old one (a deleted nop maps to where the next survivor goes) */
	for (uint32_t i = 0; i < n; i++) {
		map[i] = (int32_t)k;
		if (!is_nop(&in[i]))
			k++;
	}
	map[n] = (int32_t)k;
	for (uint32_t i = 0; i < n; i++) {
		const struct k2_opinfo *oi = k2_op_info(k2_insn_op(&in[i]));
		struct bpf_insn x = in[i];

		if (is_nop(&in[i]))
			continue;
		if (oi->flags & K2_F_BRANCH) {
			long t = k2_insn_target(&in[i], i);
			long nt = t < 0 ? t : t > (long)n ? (long)k + (t - (long)n) : map[t];

			if (oi->kind == K2_KIND_JA && k2_insn_op(&in[i]) == K2_OP_JA32)
				x.imm = (int32_t)(nt - map[i] - 1);
			else
				x.off = (int16_t)(nt - map[i] - 1);
		}
		o[map[i]] = x;
	}
	free(map);
	*out = o;
	*nout = k;
	return 0;
}
