/* smt/ctx.c: context loads and stores per program type, and the legacy LD_ABS/LD_IND loads. */
#include <string.h>

#include "smt/smt_int.h"

#define SKB_QUEUE_MAPPING 12

Z3_ast k2s_ctx_byte(struct k2_enc *en, const struct k2_state *st, uint32_t off)
{
	struct k2_mkey k = { .oc = off };
	struct k2_mread r;

	k2s_mem_read(en, st, K2S_MO_CTX, &k, &r);
	return r.val;
}

int k2s_ctx_load(struct k2_enc *en, struct k2_state *st, uint32_t pc, uint32_t off, uint32_t size,
		 struct k2_sv *out)
{
	struct k2_smt *s = en->s;
	struct k2_world *w = en->w;
	Z3_ast b[8], at;
	uint8_t pt;

	(void)pc;
	if (!(w->ctx.rd[off] & size)) {
		k2s_error(en, st, s->tru);
		sv_scalar(s, out, t_n64(s, 0));
		return 0;
	}
	pt = w->ctx.ptr[off];
	if (pt && size == 4) {
		struct k2_mkey k = { 0 };

		at = pt == K2_T_PKT ? st->data : pt == K2_T_PKT_END ? st->end : st->meta;
		k.osym = t_sub(s, at, w->data0);
		sv_ptr(w, out, pt, K2S_MO_PKT, -1, NULL, NULL, k.osym, 0);
		{
			uint64_t c;

			if (t_isnum(s, out->osym, &c)) {
				out->oc = (int64_t)c;
				out->osym = NULL;
			}
		}
		out->v = t_add(s, t_n64(s, K2S_PKTBASE), at);
		return 0;
	}
	for (uint32_t i = 0; i < size; i++)
		b[i] = k2s_ctx_byte(en, st, off + i);
	sv_scalar(s, out, t_zext(s, t_bytes(s, b, size), 64));
	return 0;
}

int k2s_ctx_store(struct k2_enc *en, struct k2_state *st, uint32_t pc, uint32_t off,
		  uint32_t size, Z3_ast val)
{
	struct k2_smt *s = en->s;
	Z3_ast guard = NULL;

	(void)pc;
	if (!(en->w->ctx.wr[off] & size)) {
		k2s_error(en, st, s->tru);
		return 0;
	}
	/* skb->queue_mapping: values from NO_QUEUE_MAPPING on are ignored */
	if (k2s_is_skb(en->w->prog->type) && off == SKB_QUEUE_MAPPING)
		guard = b_ult(s, t_ext(s, val, 31, 0), t_num(s, 32, 0xffff));
	for (uint32_t i = 0; i < size; i++) {
		struct k2_mkey k = { .oc = off + i };

		k2s_mem_write(en, st, K2S_MO_CTX, &k, t_byte(s, val, i), NULL, guard, NULL);
		k2s_wloc(en, K2S_MO_CTX, &k, -1, guard ? b_and(s, st->g, guard) : st->g);
	}
	return 0;
}

/*
 * r0 = the size bytes at packet offset k (network order), as bpf_skb_load_helper_N finds
 * them: k >= 0 from data; SKF_NET_OFF and SKF_LL_OFF relative to the network and mac
 * headers (which test_run puts at fixed places). Out of range the program returns 0.
 */
int k2s_ldabs(struct k2_enc *en, struct k2_state *st, uint32_t pc, Z3_ast k, uint32_t size,
	      struct k2_state **ex)
{
	struct k2_smt *s = en->s;
	int64_t mac = K2_PKT_HEADROOM, net = K2_PKT_HEADROOM + 14;
	Z3_ast nonneg, oob1, at1, pnet, pll, oobp, innet, inll, at, oob, v, b[4];
	struct k2_sv *r6 = &st->r[6];

	*ex = NULL;
	if (!k2s_is_skb(en->w->prog->type)) {
		k2s_error(en, st, s->tru);
		return -1;
	}
	k2s_error(en, st, b_not(s, b_and(s, sv_is(s, r6, K2_T_CTX),
					 b_eq(s, r6->v, t_n64(s, K2S_CTXBASE)))));
	for (int i = 1; i <= 5; i++)
		sv_uninit(s, &st->r[i]);
	nonneg = b_sle(s, t_n64(s, 0), k);
	oob1 = b_slt(s, t_sub(s, t_sub(s, st->end, st->data), k), t_n64(s, size));
	at1 = t_add(s, st->data, k);
	pnet = t_add(s, k, t_n64(s, (uint64_t)(net + 0x100000)));
	pll = t_add(s, k, t_n64(s, (uint64_t)(mac + 0x200000)));
	innet = b_sle(s, t_n64(s, (uint64_t)-0x100000), k);
	inll = b_sle(s, t_n64(s, (uint64_t)-0x200000), k);
	at = t_ite(s, nonneg, at1, t_ite(s, innet, pnet, pll));
	oobp = b_or(s, b_slt(s, at, t_n64(s, (uint64_t)(mac - 64))),
		    b_slt(s, st->end, t_add(s, at, t_n64(s, size))));
	oob = t_ite(s, nonneg, oob1, t_ite(s, inll, oobp, s->tru));
	for (uint32_t i = 0; i < size; i++)
		b[size - 1 - i] = k2s_pkt_byte(en, st, t_add(s, at, t_n64(s, i)));
	v = t_zext(s, t_bytes(s, b, size), 64);
	if (t_bool(s, oob) != 0) {
		*ex = k2s_state_clone(en, st);
		if (!*ex)
			return -1;
		(*ex)->g = b_and(s, st->g, oob);
		sv_scalar(s, &(*ex)->r[0], t_n64(s, 0));
	}
	st->g = b_and(s, st->g, b_not(s, oob));
	sv_scalar(s, &st->r[0], v);
	(void)pc;
	return 0;
}
