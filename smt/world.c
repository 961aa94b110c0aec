/* smt/world.c: the inputs two encodings share: entry state of a program type or a window. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smt/smt_int.h"

void k2s_axiom(struct k2_world *w, Z3_ast a)
{
	if (t_bool(w->s, a) == 1)
		return;
	if (w->nax == w->capax) {
		uint32_t c = w->capax ? w->capax * 2 : 64;
		Z3_ast *v = realloc(w->ax, c * sizeof(*v));

		if (!v) {
			w->s->oom = true;
			return;
		}
		w->ax = v;
		w->capax = c;
	}
	w->ax[w->nax++] = a;
}

static void fun_init(struct k2_ackfun *f, const char *name, uint8_t nargs, unsigned rw)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->nargs = nargs;
	f->rw = rw;
}

int k2s_world_new(struct k2_smt *s, const struct k2_prog *prog, bool window,
		  struct k2_world **out)
{
	struct k2_world *w = calloc(1, sizeof(*w));
	uint32_t nm = prog->n_maps;
	char name[32];

	if (!w)
		return -ENOMEM;
	w->s = s;
	w->prog = prog;
	w->window = window;
	w->n_mapobj = s->o.no_maptype ? 1 : (nm ? nm : 1);
	w->mo_pres = K2S_MO_MAPVAL + w->n_mapobj;
	w->n_mo = w->mo_pres + w->n_mapobj;
	fun_init(&w->pkt0, "pkt", 1, 8);
	fun_init(&w->ctx0, "ctx", 1, 8);
	fun_init(&w->ndet, "ndet", 1, 64);
	fun_init(&w->slotf, "slot", 1, 12);
	w->slotf.injective = true;
	w->mval0 = calloc(nm + 1, sizeof(*w->mval0));
	w->mpres0 = calloc(nm + 1, sizeof(*w->mpres0));
	w->mpop = calloc(nm + 1, sizeof(*w->mpop));
	w->mcount0 = calloc(nm + 1, sizeof(*w->mcount0));
	if (!w->mval0 || !w->mpres0 || !w->mpop || !w->mcount0) {
		k2s_world_free(w);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i <= nm; i++) {
		snprintf(name, sizeof(name), "mval%u", i);
		fun_init(&w->mval0[i], name, 2, 8);
		snprintf(name, sizeof(name), "mpres%u", i);
		fun_init(&w->mpres0[i], name, 1, 0);
		snprintf(name, sizeof(name), "mpop%u", i);
		fun_init(&w->mpop[i], name, 1, 0);
	}
	k2s_ctx_describe(prog->type, prog->attach_type, &w->ctx);
	w->keyw = 32;
	for (uint32_t i = 0; i < nm; i++)
		if (prog->maps[i].key_size * 8 > w->keyw)
			w->keyw = prog->maps[i].key_size * 8;
	w->cpu = t_fresh(s, "cpu", 32);
	*out = w;
	return 0;
}

void k2s_world_free(struct k2_world *w)
{
	if (!w)
		return;
	k2s_ack_free(&w->pkt0);
	k2s_ack_free(&w->ctx0);
	k2s_ack_free(&w->ndet);
	k2s_ack_free(&w->slotf);
	for (uint32_t i = 0; w->mval0 && i <= w->prog->n_maps; i++) {
		k2s_ack_free(&w->mval0[i]);
		k2s_ack_free(&w->mpres0[i]);
		k2s_ack_free(&w->mpop[i]);
	}
	free(w->mval0);
	free(w->mpres0);
	free(w->mpop);
	free(w->mcount0);
	free(w->elems);
	free(w->ax);
	free(w);
}

void k2s_world_mark(struct k2_world *w, struct k2_wmark *m)
{
	uint32_t nm = w->prog->n_maps + 1;

	m->nax = w->nax;
	m->pkt0 = w->pkt0.n;
	m->ctx0 = w->ctx0.n;
	m->ndet = w->ndet.n;
	m->slotf = w->slotf.n;
	m->n_elems = w->n_elems;
	m->mval0 = calloc(3 * nm, sizeof(uint32_t));
	if (!m->mval0) {
		w->s->oom = true;
		return;
	}
	m->mpres0 = m->mval0 + nm;
	m->mpop = m->mpres0 + nm;
	for (uint32_t i = 0; i < nm; i++) {
		m->mval0[i] = w->mval0[i].n;
		m->mpres0[i] = w->mpres0[i].n;
		m->mpop[i] = w->mpop[i].n;
	}
}

void k2s_world_reset(struct k2_world *w, const struct k2_wmark *m)
{
	w->nax = m->nax;
	w->pkt0.n = m->pkt0;
	w->ctx0.n = m->ctx0;
	w->ndet.n = m->ndet;
	w->slotf.n = m->slotf;
	w->n_elems = m->n_elems;
	if (!m->mval0)
		return;
	for (uint32_t i = 0; i <= w->prog->n_maps; i++) {
		w->mval0[i].n = m->mval0[i];
		w->mpres0[i].n = m->mpres0[i];
		w->mpop[i].n = m->mpop[i];
	}
}

void k2s_wmark_free(struct k2_wmark *m)
{
	free(m->mval0);
	m->mval0 = NULL;
}

/* ---- whole programs ------------------------------------------------------------------------ */

static Z3_ast in_field(struct k2_world *w, const char *name, uint16_t off, uint16_t size)
{
	Z3_ast v;

	if (w->conc) {
		uint64_t x = 0;

		if (off + size <= w->conc->ctx_len)
			memcpy(&x, w->conc->ctx + off, size);
		v = t_num(w->s, size * 8, x);
	} else {
		v = t_fresh(w->s, name, size * 8);
	}

	if (w->n_ctxin < sizeof(w->ctxin) / sizeof(w->ctxin[0]))
		w->ctxin[w->n_ctxin++] = (struct k2_ctxin){ off, size, v };
	return v;
}

static void put32(struct k2_world *w, uint32_t off, Z3_ast v32)
{
	for (unsigned i = 0; i < 4; i++)
		w->ctxbyte[off + i] = t_byte(w->s, v32, i);
}

static void put64(struct k2_world *w, uint32_t off, Z3_ast v64)
{
	for (unsigned i = 0; i < 8; i++)
		w->ctxbyte[off + i] = t_byte(w->s, v64, i);
}

/* A packet byte at entry by its offset from data0 (whole program). */
static Z3_ast pkt_in(struct k2_world *w, int64_t key)
{
	return k2s_ack(w, &w->pkt0, t_n64(w->s, (uint64_t)key), NULL);
}

static void entry_xdp(struct k2_world *w)
{
	struct k2_smt *s = w->s;
	Z3_ast ifx = in_field(w, "ingress_ifindex", 12, 4);
	Z3_ast rxq = in_field(w, "rx_queue_index", 16, 4);
	Z3_ast zero32 = t_num(s, 32, 0);

	w->mlen = t_fresh(s, "meta_len", 64);
	if (w->conc) {
		uint32_t meta = 0, len = w->conc->pkt_len;

		if (w->conc->ctx_len >= 4)
			memcpy(&meta, w->conc->ctx, 4);
		if (len > K2_PKT_MAX + meta)
			len = K2_PKT_MAX + meta;
		if (meta > len || meta > K2_PKT_HEADROOM - K2_XDP_FRAME_SZ)
			meta = 0;
		w->mlen = t_n64(s, meta);
		w->plen = t_n64(s, len - meta);
		k2s_axiom(w, b_ule(s, t_n64(s, 14), w->plen));
	}
	k2s_axiom(w, b_ule(s, w->mlen, t_n64(s, 32)));
	k2s_axiom(w, b_eq(s, t_ext(s, w->mlen, 1, 0), t_num(s, 2, 0)));
	w->data0 = t_n64(s, K2_PKT_HEADROOM);
	w->meta0 = t_sub(s, w->data0, w->mlen);
	w->end0 = t_add(s, w->data0, w->plen);
	for (uint32_t o = 0; o < 24; o++)
		w->ctxbyte[o] = t_num(s, 8, 0);
	/* test_run's frames arrive on lo (ifindex 1), queue 0, unless the caller says */
	put32(w, 12, t_ite(s, b_eq(s, ifx, zero32), t_num(s, 32, 1), ifx));
	put32(w, 16, t_ite(s, b_eq(s, ifx, zero32), zero32, rxq));
}

/* struct __sk_buff offsets (uapi) */
enum {
	SKB_LEN = 0, SKB_PKT_TYPE = 4, SKB_MARK = 8, SKB_PROTOCOL = 16, SKB_PRIORITY = 32,
	SKB_INGRESS_IFINDEX = 36, SKB_IFINDEX = 40, SKB_CB = 48, SKB_TSTAMP = 152,
	SKB_WIRE_LEN = 160, SKB_GSO_SEGS = 164, SKB_GSO_SIZE = 176, SKB_HWTSTAMP = 184,
	SKB_SIZE = 192,
};

static void entry_skb(struct k2_world *w, bool tc)
{
	struct k2_smt *s = w->s;
	int64_t mac = tc ? 0 : -14; /* key of the frame's first byte */
	Z3_ast len, f[16], p, zero6, multi, ptype, eth, small, ll, proto, ifx, wire;
	Z3_ast zero32 = t_num(s, 32, 0);
	char name[16];

	w->mlen = t_n64(s, 0);
	w->data0 = t_n64(s, K2_PKT_HEADROOM + (tc ? 0 : 14));
	w->meta0 = w->data0;
	w->end0 = t_add(s, t_n64(s, K2_PKT_HEADROOM), w->plen);
	for (uint32_t o = 0; o < SKB_SIZE; o++)
		w->ctxbyte[o] = t_num(s, 8, 0);
	len = t_ext(s, t_sub(s, w->end0, w->data0), 31, 0);
	put32(w, SKB_LEN, len);
	for (int i = 0; i < 16; i++)
		f[i] = pkt_in(w, mac + i);
	/* eth_type_trans on lo: a zero destination is ours; otherwise multicast or other host */
	zero6 = t_num(s, 48, 0);
	p = t_bytes(s, f, 6);
	multi = b_eq(s, t_ext(s, f[0], 0, 0), t_num(s, 1, 1));
	ptype = t_ite(s, b_eq(s, p, zero6), zero32,
		      t_ite(s, multi, t_num(s, 32, 2), t_num(s, 32, 3)));
	put32(w, SKB_PKT_TYPE, ptype);
	eth = t_cat(s, f[12], f[13]);
	small = b_ult(s, eth, t_num(s, 16, 0x0600));
	ll = b_and(s, b_ule(s, t_n64(s, 16), w->plen),
		   b_and(s, b_eq(s, f[14], t_num(s, 8, 0xff)), b_eq(s, f[15], t_num(s, 8, 0xff))));
	proto = t_ite(s, small, t_ite(s, ll, t_num(s, 16, 1), t_num(s, 16, 4)), eth);
	put32(w, SKB_PROTOCOL, t_zext(s, t_bswap(s, proto, 16), 32));
	put32(w, SKB_MARK, in_field(w, "mark", SKB_MARK, 4));
	put32(w, SKB_PRIORITY, in_field(w, "priority", SKB_PRIORITY, 4));
	put32(w, SKB_INGRESS_IFINDEX, in_field(w, "ingress_ifindex", SKB_INGRESS_IFINDEX, 4));
	ifx = in_field(w, "ifindex", SKB_IFINDEX, 4);
	put32(w, SKB_IFINDEX, t_ite(s, b_ult(s, t_num(s, 32, 1), ifx), ifx, t_num(s, 32, 1)));
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "cb%d", i);
		put32(w, SKB_CB + 4 * i, in_field(w, name, (uint16_t)(SKB_CB + 4 * i), 4));
	}
	put64(w, SKB_TSTAMP, in_field(w, "tstamp", SKB_TSTAMP, 8));
	wire = in_field(w, "wire_len", SKB_WIRE_LEN, 4);
	put32(w, SKB_WIRE_LEN, t_ite(s, b_eq(s, wire, zero32), len, wire));
	put32(w, SKB_GSO_SEGS, in_field(w, "gso_segs", SKB_GSO_SEGS, 4));
	put32(w, SKB_GSO_SIZE, in_field(w, "gso_size", SKB_GSO_SIZE, 4));
	put64(w, SKB_HWTSTAMP, in_field(w, "hwtstamp", SKB_HWTSTAMP, 8));
}

int k2s_world_prog(struct k2_world *w, struct k2_err *e)
{
	struct k2_smt *s = w->s;
	uint32_t type = w->prog->type;

	if (w->conc && k2s_is_skb(type)) {
		uint32_t len = w->conc->pkt_len < K2_PKT_MAX ? w->conc->pkt_len : K2_PKT_MAX;

		w->plen = t_n64(s, len < 14 ? 14 : len);
	} else if (type == BPF_PROG_TYPE_XDP || k2s_is_skb(type)) {
		w->plen = t_fresh(s, "pkt_len", 64);
		k2s_axiom(w, b_ule(s, t_n64(s, 14), w->plen));
		k2s_axiom(w, b_ule(s, w->plen, t_n64(s, K2_PKT_MAX)));
	} else {
		w->plen = t_n64(s, 0);
	}
	if (type == BPF_PROG_TYPE_XDP) {
		entry_xdp(w);
	} else if (k2s_is_skb(type)) {
		entry_skb(w, type != BPF_PROG_TYPE_SOCKET_FILTER);
	} else if (type == BPF_PROG_TYPE_KPROBE || type == BPF_PROG_TYPE_TRACEPOINT ||
		   type == BPF_PROG_TYPE_RAW_TRACEPOINT || type == BPF_PROG_TYPE_PERF_EVENT) {
		/* the context is the input's bytes (ctx0); no packet */
		w->mlen = t_n64(s, 0);
		w->data0 = w->meta0 = w->end0 = t_n64(s, K2_PKT_HEADROOM);
	} else {
		return k2_err_set(e, -EOPNOTSUPP, "%s: program type %s is not encoded",
				  w->prog->sec[0] ? w->prog->sec : w->prog->name,
				  k2_prog_type_name(type));
	}
	return 0;
}
