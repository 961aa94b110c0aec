/* smt/ack.c: uninterpreted functions kept in QF_BV by Ackermann's reduction. */
#include <stdio.h>
#include <stdlib.h>

#include "smt/smt_int.h"

/*
 * f(a) is a fresh variable per distinct argument term; for each earlier application whose
 * arguments may be equal, the axiom (args equal) -> (results equal). Injective functions
 * (slot numbers of map elements) get (args equal) <-> (results equal). Axioms go to the
 * world, so both programs of a query and the cex extraction see them.
 */
/*
 * The offset argument of a memory's entry contents (byte-valued functions: packet, context,
 * map values). Without offset concretization (opts.no_offset) offsets are compared by z3,
 * not folded here, as reads from an array at symbolic indices would be.
 */
static Z3_ast off_eq(struct k2_smt *s, const struct k2_ackfun *f, Z3_ast a, Z3_ast b)
{
	if (s->o.no_offset && f->rw == 8 && !f->injective)
		return k2s_keep(s, Z3_mk_eq(s->c, a, b));
	return b_eq(s, a, b);
}

static Z3_ast args_eq(struct k2_smt *s, const struct k2_ackfun *f, const struct k2_ackapp *p,
		      Z3_ast a0, Z3_ast a1)
{
	Z3_ast e;

	if (t_w(s, p->a[0]) != t_w(s, a0))
		return s->fls;
	e = f->nargs == 1 ? off_eq(s, f, p->a[0], a0) : b_eq(s, p->a[0], a0);
	if (f->nargs > 1 && t_bool(s, e) != 0) {
		if (t_w(s, p->a[1]) != t_w(s, a1))
			return s->fls;
		e = b_and(s, e, off_eq(s, f, p->a[1], a1));
	}
	return e;
}

Z3_ast k2s_ack(struct k2_world *w, struct k2_ackfun *f, Z3_ast a0, Z3_ast a1)
{
	struct k2_smt *s = w->s;
	char name[48];
	Z3_ast r;

	for (uint32_t i = f->n; i-- > 0;)
		if (f->app[i].a[0] == a0 && (f->nargs < 2 || f->app[i].a[1] == a1))
			return f->app[i].r;
	if (f->n == f->cap) {
		uint32_t c = f->cap ? f->cap * 2 : 32;
		struct k2_ackapp *v = realloc(f->app, c * sizeof(*v));

		if (!v) {
			s->oom = true;
			return t_fresh(s, f->name, f->rw);
		}
		f->app = v;
		f->cap = c;
	}
	snprintf(name, sizeof(name), "%s", f->name);
	r = t_fresh(s, name, f->rw);
	for (uint32_t i = 0; i < f->n; i++) {
		Z3_ast e = args_eq(s, f, &f->app[i], a0, a1);
		Z3_ast same;

		if (t_bool(s, e) == 0) {
			if (f->injective)
				k2s_axiom(w, b_ne(s, r, f->app[i].r));
			continue;
		}
		same = b_eq(s, r, f->app[i].r);
		k2s_axiom(w, f->injective ? b_eq(s, e, same) : b_imp(s, e, same));
	}
	f->app[f->n].a[0] = a0;
	f->app[f->n].a[1] = a1;
	f->app[f->n].r = r;
	f->n++;
	return r;
}

void k2s_ack_free(struct k2_ackfun *f)
{
	free(f->app);
	f->app = NULL;
	f->n = f->cap = 0;
}
