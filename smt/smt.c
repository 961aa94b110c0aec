/* smt/smt.c: solver sessions: the z3 context, solvers, timeouts, SMT-LIB2 dumps, statistics. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "smt/smt_int.h"
#include "smt/query.h"

/* z3 reports misuse through this handler; the code is checked after each query. */
static void z3_quiet(Z3_context c, Z3_error_code e)
{
	(void)c;
	(void)e;
}

double k2s_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void set_timeout(struct k2_smt *s, Z3_solver so, uint32_t ms)
{
	Z3_params p = Z3_mk_params(s->c);

	Z3_params_inc_ref(s->c, p);
	Z3_params_set_uint(s->c, p, Z3_mk_string_symbol(s->c, "timeout"), ms);
	Z3_solver_set_params(s->c, so, p);
	Z3_params_dec_ref(s->c, p);
}

static Z3_solver solver_new(struct k2_smt *s, const char *logic)
{
	Z3_solver so = logic ? Z3_mk_solver_for_logic(s->c, Z3_mk_string_symbol(s->c, logic))
			     : Z3_mk_solver(s->c);

	Z3_solver_inc_ref(s->c, so);
	set_timeout(s, so, s->o.timeout_ms);
	return so;
}

void k2_smt_limit(struct k2_smt *s, uint32_t ms)
{
	s->deadline = ms ? k2s_now_ms() + ms : 0;
}

int k2_smt_new(const struct k2_smt_opts *opts, struct k2_smt **out, struct k2_err *e)
{
	struct k2_smt *s = calloc(1, sizeof(*s));
	Z3_config cfg;

	if (!s)
		return k2_err_set(e, -ENOMEM, "out of memory");
	if (opts) {
		size_t n = opts->sz && opts->sz < sizeof(s->o) ? opts->sz : sizeof(s->o);

		memcpy(&s->o, opts, n);
	}
	s->o.sz = sizeof(s->o);
	if (!s->o.timeout_ms)
		s->o.timeout_ms = 10000;
	s->unroll = s->o.unroll ? s->o.unroll : 64;
	s->bvsort = calloc(K2S_MAXW + 1, sizeof(*s->bvsort));
	if (!s->bvsort) {
		free(s);
		return k2_err_set(e, -ENOMEM, "out of memory");
	}
	cfg = Z3_mk_config();
	Z3_set_param_value(cfg, "model", "true");
	s->c = Z3_mk_context_rc(cfg);
	Z3_del_config(cfg);
	if (!s->c) {
		free(s->bvsort);
		free(s);
		return k2_err_set(e, -ENOMEM, "cannot make a z3 context");
	}
	Z3_set_error_handler(s->c, z3_quiet);
	s->ar = &s->sess;
	s->boolsort = (Z3_sort)k2s_keep(s, Z3_sort_to_ast(s->c, Z3_mk_bool_sort(s->c)));
	s->tru = k2s_keep(s, Z3_mk_true(s->c));
	s->fls = k2s_keep(s, Z3_mk_false(s->c));
	s->sbv = solver_new(s, "QF_BV");
	if (k2s_cache_new(s)) {
		k2_smt_free(s);
		return k2_err_set(e, -ENOMEM, "out of memory");
	}
	*out = s;
	return 0;
}

void k2_smt_free(struct k2_smt *s)
{
	if (!s)
		return;
	k2s_cache_free(s);
	k2_mapstate_free(s->cex_maps);
	if (s->sbv)
		Z3_solver_dec_ref(s->c, s->sbv);
	if (s->sgen)
		Z3_solver_dec_ref(s->c, s->sgen);
	k2s_arena_release(s, &s->sess, 0);
	free(s->sess.v);
	Z3_del_context(s->c);
	free(s->bvsort);
	free(s);
}

const char *k2_verdict_name(enum k2_verdict v)
{
	switch (v) {
	case K2_EQUIVALENT: return "equivalent";
	case K2_DIFFERENT: return "differs";
	default: return "unknown";
	}
}

const char *k2_smt_reason(const struct k2_smt *s)
{
	return s->reason[0] ? s->reason : "";
}

void k2s_reason(struct k2_smt *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->reason, sizeof(s->reason), fmt, ap);
	va_end(ap);
}

void k2_smt_stats(const struct k2_smt *s, struct k2_smt_stats *out)
{
	*out = s->st;
}

/* Appends the query to opts.smt2_path (SMT-LIB2 with check-sat), for other solvers. */
static void dump_smt2(struct k2_smt *s, Z3_solver so, Z3_ast *assume, uint32_t na)
{
	FILE *f = fopen(s->o.smt2_path, "a");

	if (!f)
		return;
	fprintf(f, "; k2 query %llu\n(push 1)\n%s", (unsigned long long)s->st.z3_calls,
		Z3_solver_to_string(s->c, so));
	for (uint32_t i = 0; i < na; i++)
		fprintf(f, "(assert %s)\n", Z3_ast_to_string(s->c, assume[i]));
	fprintf(f, "(check-sat)\n(pop 1)\n");
	fclose(f);
}

/*
 * Checks the solver's assertions plus `assume` (asserted in a scope popped afterwards).
 * Returns Z3_L_TRUE/FALSE/UNDEF; on TRUE *model gets a referenced model (caller frees).
 * Every solver has opts.timeout_ms; under a k2_smt_limit the check gets what is left.
 */
Z3_lbool k2s_check(struct k2_smt *s, Z3_solver so, Z3_ast *assume, uint32_t na, Z3_model *model)
{
	double t0 = k2s_now_ms();
	uint32_t ms = s->o.timeout_ms;
	Z3_lbool r;

	if (model)
		*model = NULL;
	if (s->deadline > 0) {
		if (s->deadline - t0 < 1) {
			s->st.unknown++;
			k2s_reason(s, "z3: time limit spent");
			return Z3_L_UNDEF;
		}
		if (s->deadline - t0 < ms)
			ms = (uint32_t)(s->deadline - t0);
	}
	if (ms != s->o.timeout_ms)
		set_timeout(s, so, ms);
	Z3_solver_push(s->c, so);
	for (uint32_t i = 0; i < na; i++)
		Z3_solver_assert(s->c, so, assume[i]);
	if (s->o.smt2_path)
		dump_smt2(s, so, NULL, 0);
	r = Z3_solver_check(s->c, so);
	s->st.z3_calls++;
	if (r == Z3_L_TRUE && model) {
		*model = Z3_solver_get_model(s->c, so);
		if (*model)
			Z3_model_inc_ref(s->c, *model);
	}
	if (r == Z3_L_UNDEF)
		k2s_reason(s, "z3: %s", Z3_solver_get_reason_unknown(s->c, so));
	Z3_solver_pop(s->c, so, 1);
	if (ms != s->o.timeout_ms)
		set_timeout(s, so, s->o.timeout_ms);
	s->st.solve_ms += k2s_now_ms() - t0;
	if (r == Z3_L_TRUE)
		s->st.sat++;
	else if (r == Z3_L_FALSE)
		s->st.unsat++;
	else
		s->st.unknown++;
	if (Z3_get_error_code(s->c) != Z3_OK) {
		k2s_reason(s, "z3 error: %s", Z3_get_error_msg(s->c, Z3_get_error_code(s->c)));
		Z3_set_error(s->c, Z3_OK);
		return Z3_L_UNDEF;
	}
	return r;
}

/* Evaluates a term in a model (completing unconstrained variables). */
bool k2s_eval_u64(struct k2_smt *s, Z3_model m, Z3_ast a, uint64_t *v)
{
	Z3_ast r = NULL;

	if (!Z3_model_eval(s->c, m, a, true, &r) || !r)
		return false;
	Z3_inc_ref(s->c, r);
	if (t_w(s, r) == 0) {
		*v = Z3_get_bool_value(s->c, r) == Z3_L_TRUE;
	} else if (Z3_get_ast_kind(s->c, r) != Z3_NUMERAL_AST ||
		   !Z3_get_numeral_uint64(s->c, r, (uint64_t *)v)) {
		Z3_dec_ref(s->c, r);
		return false;
	}
	Z3_dec_ref(s->c, r);
	return true;
}

/* Bytes of a wide bit-vector term (little-endian), for keys. */
bool k2s_eval_bytes(struct k2_smt *s, Z3_model m, Z3_ast a, uint8_t *out, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		uint64_t v;

		if (!k2s_eval_u64(s, m, t_byte(s, a, i), &v))
			return false;
		out[i] = (uint8_t)v;
	}
	return true;
}
