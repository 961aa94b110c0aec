/* smt/equiv_prog.c: whole-program equivalence: outputs compared, queries, verdicts. */
#include <stdlib.h>
#include <string.h>

#include "smt/query.h"

void k2s_terms_add(struct k2_smt *s, struct k2_terms *t, Z3_ast a)
{
	if (t_bool(s, a) == 1)
		return;
	if (t->n == t->cap) {
		uint32_t c = t->cap ? t->cap * 2 : 64;
		Z3_ast *v = realloc(t->v, c * sizeof(*v));

		if (!v) {
			s->oom = true;
			return;
		}
		t->v = v;
		t->cap = c;
	}
	t->v[t->n++] = a;
}

void k2s_terms_free(struct k2_terms *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}

Z3_ast k2s_unsup_any(struct k2_enc *en)
{
	Z3_ast u = en->s->fls;

	for (uint32_t i = 0; i < en->n_uns; i++)
		u = b_or(en->s, u, en->uns[i].cond);
	return u;
}

const struct k2_unsup *k2s_unsup_which(struct k2_smt *s, struct k2_enc *en, Z3_model m)
{
	for (uint32_t i = 0; i < en->n_uns; i++) {
		uint64_t v;

		if (k2s_eval_u64(s, m, en->uns[i].cond, &v) && v)
			return &en->uns[i];
	}
	return en->n_uns ? &en->uns[0] : NULL;
}

/* ---- outputs ---------------------------------------------------------------------------- */

/* Start (page offset) of the packet test_run returns. */
static Z3_ast out_lo(struct k2_enc *en)
{
	struct k2_smt *s = en->s;
	uint32_t t = en->w->prog->type;

	if (t == BPF_PROG_TYPE_XDP)
		return en->fin->meta;
	if (t == BPF_PROG_TYPE_SOCKET_FILTER)
		return t_sub(s, en->fin->data, t_n64(s, 14));
	return en->fin->data;
}

static Z3_ast read_at(struct k2_enc *en, uint8_t obj, const struct k2_mkey *k)
{
	struct k2_mread r;

	k2s_mem_read(en, en->fin, obj, k, &r);
	return r.val;
}

static Z3_ast pkt_diff(struct k2_enc *a, struct k2_enc *b)
{
	struct k2_smt *s = a->s;
	uint32_t type = a->w->prog->type;
	Z3_ast loa = out_lo(a), lob = out_lo(b), lena, lenb, d;
	int64_t skip = type == BPF_PROG_TYPE_SOCKET_FILTER ? 14 : 0; /* zeroed link header */

	if (type != BPF_PROG_TYPE_XDP && !k2s_is_skb(type))
		return s->fls;
	lena = t_sub(s, a->fin->end, loa);
	lenb = t_sub(s, b->fin->end, lob);
	d = b_ne(s, lena, lenb);
	if (type == BPF_PROG_TYPE_XDP)
		d = b_or(s, d, b_ne(s, t_sub(s, a->fin->data, a->fin->meta),
				    t_sub(s, b->fin->data, b->fin->meta)));
	if (loa == lob && !a->pkt_range && !b->pkt_range) {
		/* same window on one page: only bytes either program wrote can differ */
		struct k2_enc *e[2] = { a, b };

		for (int p = 0; p < 2; p++)
			for (uint32_t i = 0; i < e[p]->n_wl; i++) {
				const struct k2_wloc *l = &e[p]->wl[i];
				Z3_ast page, in;

				if (l->obj != K2S_MO_PKT)
					continue;
				page = t_add(s, a->w->data0, k2s_key_off(s, &l->k));
				in = b_and(s, b_ule(s, t_add(s, loa, t_n64(s, skip)), page),
					   b_ult(s, page, a->fin->end));
				d = b_or(s, d, b_and(s, in, b_ne(s, read_at(a, K2S_MO_PKT, &l->k),
								 read_at(b, K2S_MO_PKT, &l->k))));
			}
		return d;
	}
	{
		/* some byte i of the output: a fresh position */
		Z3_ast i = t_fresh(s, "pkt_pos", 64);
		struct k2_mkey ka = { .osym = t_sub(s, t_add(s, loa, i), a->w->data0) };
		struct k2_mkey kb = { .osym = t_sub(s, t_add(s, lob, i), b->w->data0) };

		d = b_or(s, d, b_and(s, b_and(s, b_ule(s, t_n64(s, skip), i), b_ult(s, i, lena)),
				     b_ne(s, read_at(a, K2S_MO_PKT, &ka),
					  read_at(b, K2S_MO_PKT, &kb))));
	}
	return d;
}

/* Context bytes either program wrote (skb programs' outputs: mark, priority, cb, ...). */
static Z3_ast ctx_diff(struct k2_enc *a, struct k2_enc *b)
{
	struct k2_smt *s = a->s;
	struct k2_enc *e[2] = { a, b };
	Z3_ast d = s->fls;

	for (int p = 0; p < 2; p++)
		for (uint32_t i = 0; i < e[p]->n_wl; i++) {
			const struct k2_wloc *l = &e[p]->wl[i];

			if (l->obj == K2S_MO_CTX)
				d = b_or(s, d, b_ne(s, read_at(a, K2S_MO_CTX, &l->k),
						    read_at(b, K2S_MO_CTX, &l->k)));
		}
	return d;
}

/* Map contents: presence and values of every element either program touched. */
static Z3_ast map_diff(struct k2_enc *a, struct k2_enc *b)
{
	struct k2_smt *s = a->s;
	struct k2_world *w = a->w;
	struct k2_enc *e[2] = { a, b };
	Z3_ast d = s->fls;

	for (int p = 0; p < 2; p++)
		for (uint32_t i = 0; i < e[p]->n_wl; i++) {
			const struct k2_wloc *l = &e[p]->wl[i];
			Z3_ast pa, pb;

			if (l->obj < K2S_MO_MAPVAL || l->map < 0)
				continue;
			pa = k2s_map_present(a, a->fin, (uint32_t)l->map, l->k.elem);
			pb = k2s_map_present(b, b->fin, (uint32_t)l->map, l->k.elem);
			if (l->obj >= w->mo_pres) {
				d = b_or(s, d, b_ne(s, pa, pb));
				continue;
			}
			d = b_or(s, d, b_and(s, b_and(s, pa, pb),
					     b_ne(s, read_at(a, l->obj, &l->k),
						  read_at(b, l->obj, &l->k))));
		}
	return d;
}

static Z3_ast eff_ne(struct k2_smt *s, const struct k2_eff *x, const struct k2_eff *y)
{
	Z3_ast d;

	if (x->helper != y->helper || x->n_data != y->n_data)
		return s->tru;
	d = b_ne(s, x->ret, y->ret);
	for (int i = 0; i < 5; i++)
		d = b_or(s, d, b_ne(s, x->args[i], y->args[i]));
	for (uint32_t i = 0; i < x->n_data; i++)
		d = b_or(s, d, b_ne(s, x->data[i], y->data[i]));
	return d;
}

/* The sequences of effects: same length, and the k-th of each the same. */
static Z3_ast eff_diff(struct k2_enc *a, struct k2_enc *b)
{
	struct k2_smt *s = a->s;
	Z3_ast d = b_ne(s, a->fin->neff, b->fin->neff);

	for (uint32_t i = 0; i < a->n_eff; i++)
		for (uint32_t j = 0; j < b->n_eff; j++) {
			const struct k2_eff *x = &a->eff[i], *y = &b->eff[j];
			Z3_ast at = b_and(s, b_and(s, x->g, y->g), b_eq(s, x->pos, y->pos));

			if (t_bool(s, at) == 0)
				continue;
			d = b_or(s, d, b_and(s, at, eff_ne(s, x, y)));
		}
	/* an effect of one program where the other has none at that position is covered by
	 * the counts: positions are 0..neff-1 in each */
	return d;
}

Z3_ast k2s_prog_diff(struct k2_enc *a, struct k2_enc *b)
{
	struct k2_smt *s = a->s;
	Z3_ast d = b->err;

	d = b_or(s, d, b_ne(s, a->fin->r[0].v, b->fin->r[0].v));
	d = b_or(s, d, b_ne(s, a->fin->tail, b->fin->tail));
	d = b_or(s, d, pkt_diff(a, b));
	if (k2s_is_skb(a->w->prog->type))
		d = b_or(s, d, ctx_diff(a, b));
	d = b_or(s, d, map_diff(a, b));
	d = b_or(s, d, eff_diff(a, b));
	return d;
}

/* ---- the query --------------------------------------------------------------------------- */

static bool same_maps(const struct k2_prog *a, const struct k2_prog *b)
{
	if (a->n_maps != b->n_maps)
		return false;
	for (uint32_t i = 0; i < a->n_maps; i++) {
		const struct k2_map *x = &a->maps[i], *y = &b->maps[i];

		if (x->type != y->type || x->key_size != y->key_size ||
		    x->value_size != y->value_size || x->max_entries != y->max_entries ||
		    x->flags != y->flags || x->readonly != y->readonly)
			return false;
	}
	return true;
}

static const char *sec_of(const struct k2_prog *p)
{
	return p->sec[0] ? p->sec : p->name[0] ? p->name : "program";
}

static enum k2_verdict unknown(struct k2_smt *s, const char *fmt, const char *a, const char *b,
			       uint32_t insn)
{
	k2s_reason(s, fmt, a, b, insn);
	return K2_UNKNOWN;
}

int k2s_equiv_prog(struct k2_smt *s, const struct k2_prog *a, const struct k2_prog *b,
		   enum k2_verdict *v, struct k2_input *cex, struct k2_err *e)
{
	struct k2_arena *old = s->ar, ar = { 0 };
	struct k2_world *w = NULL;
	struct k2_enc ea = { 0 }, eb = { 0 };
	struct k2_terms q = { 0 };
	Z3_solver so = s->sbv;
	Z3_model m = NULL;
	Z3_lbool r;
	double t0 = k2s_now_ms();
	int err = 0;

	*v = K2_UNKNOWN;
	s->reason[0] = 0;
	if (a->type != b->type || !same_maps(a, b))
		return k2_err_set(e, -EINVAL, "%s, %s: different program types or maps", sec_of(a),
				  sec_of(b));
	s->ar = &ar;
	s->oom = false;
	err = k2s_world_new(s, a, false, &w);
	if (!err)
		err = k2s_world_prog(w, e);
	if (err)
		goto out;
	k2s_enc_run(&ea, w, "A", a->insns, a->n_insns, false);
	k2s_enc_run(&eb, w, "B", b->insns, b->n_insns, false);
	s->st.encode_ms += k2s_now_ms() - t0;
	if (ea.refuse || eb.refuse) {
		struct k2_enc *x = ea.refuse ? &ea : &eb;

		*v = unknown(s, "%s: %s at insn %u", sec_of(x == &ea ? a : b), x->refuse,
			     x->refuse_insn);
		goto out;
	}
	for (uint32_t i = 0; i < w->nax; i++)
		k2s_terms_add(s, &q, w->ax[i]);
	k2s_terms_add(s, &q, b_not(s, ea.err));
	k2s_terms_add(s, &q, b_not(s, k2s_unsup_any(&ea)));
	k2s_terms_add(s, &q, b_not(s, k2s_unsup_any(&eb)));
	k2s_terms_add(s, &q, k2s_prog_diff(&ea, &eb));
	r = k2s_check(s, so, q.v, q.n, &m);
	if (r == Z3_L_UNDEF) {
		*v = K2_UNKNOWN;
		goto out;
	}
	if (r == Z3_L_FALSE) {
		/* equivalent wherever the encoding is exact: is it exact everywhere? */
		q.n = 0;
		for (uint32_t i = 0; i < w->nax; i++)
			k2s_terms_add(s, &q, w->ax[i]);
		k2s_terms_add(s, &q, b_not(s, ea.err));
		k2s_terms_add(s, &q, b_or(s, k2s_unsup_any(&ea), k2s_unsup_any(&eb)));
		r = k2s_check(s, so, q.v, q.n, &m);
		if (r == Z3_L_FALSE) {
			*v = K2_EQUIVALENT;
			k2s_reason(s, "z3");
		} else if (r == Z3_L_TRUE) {
			const struct k2_unsup *u = k2s_unsup_which(s, &ea, m);
			bool in_a = u != NULL;

			if (!u)
				u = k2s_unsup_which(s, &eb, m);
			k2s_reason(s, "%s: insn %u: %s", sec_of(in_a ? a : b), u ? u->insn : 0,
				   u ? u->why : "not encoded");
		}
		goto out;
	}
	{
		struct k2_input in;
		char why[256];
		int d;

		memset(&in, 0, sizeof(in));
		err = k2s_cex_input(w, m, &in, e);
		if (err)
			goto out;
		s->st.cex_replayed++;
		d = k2s_replay_prog(a, b, &in, why, sizeof(why), e);
		if (d < 0) {
			err = d;
			goto out;
		}
		if (d) {
			s->st.cex_confirmed++;
			*v = K2_DIFFERENT;
			k2s_reason(s, "z3 (counterexample replayed: %s)", why);
			if (cex)
				*cex = in;
		} else {
			s->st.disagreements++;
			*v = K2_UNKNOWN;
			k2s_reason(s, "ENCODING DISAGREES WITH THE INTERPRETER: z3 found an input on "
				      "which %s and %s differ, but bpf/interp runs them the same "
				      "(%s) -- a bug in smt/",
				   sec_of(a), sec_of(b), why);
			fprintf(stderr, "k2 smt: %s\n", s->reason);
		}
	}
out:
	if (m)
		Z3_model_dec_ref(s->c, m);
	if (!err && s->oom) {
		*v = K2_UNKNOWN;
		k2s_reason(s, "out of memory while encoding");
	}
	k2s_terms_free(&q);
	k2s_enc_free(&ea);
	k2s_enc_free(&eb);
	k2s_world_free(w);
	s->ar = old;
	k2s_arena_release(s, &ar, 0);
	free(ar.v);
	return err;
}

int k2_smt_equiv_prog(struct k2_smt *s, const struct k2_prog *a, const struct k2_prog *b,
		      enum k2_verdict *v, struct k2_input *cex, struct k2_err *e)
{
	s->st.queries++;
	return k2s_equiv_prog(s, a, b, v, cex, e);
}
