/* smt/safety.c: safety rules and reports: naming a failure's rule, collecting violations. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smt/safety.h"

static const char *const rule_names[K2_RULE__COUNT] = {
	[K2_RULE_STACK] = "stack bounds",
	[K2_RULE_PKT] = "packet bounds",
	[K2_RULE_CTX] = "context access",
	[K2_RULE_MAP_VALUE] = "map value bounds",
	[K2_RULE_DEREF] = "dereference of a non-pointer or unchecked pointer",
	[K2_RULE_UNINIT] = "uninitialised read",
	[K2_RULE_LEAK] = "pointer leak",
	[K2_RULE_PTR] = "pointer arithmetic",
	[K2_RULE_HELPER] = "helper arguments",
	[K2_RULE_CFG] = "control flow",
	[K2_RULE_OTHER] = "run failure",
};

const char *k2_rule_name(enum k2_rule r)
{
	return r < K2_RULE__COUNT ? rule_names[r] : "?";
}

const char *k2_safety_name(enum k2_safety v)
{
	return v == K2_SAFE ? "safe" : v == K2_UNSAFE ? "unsafe" : "unknown";
}

/*
 * Substrings of the interpreter's reasons and of the analysis' verifier-style messages, in
 * the order they are tried: the first that occurs names the rule.
 */
struct rule_key {
	const char *sub;
	enum k2_rule rule;
};

#define N_LEAK_KEYS 5 /* the first entries of run_keys */
static const struct rule_key run_keys[] = {
	{ "leak", K2_RULE_LEAK },
	{ "stored into", K2_RULE_LEAK },
	{ "returns a pointer", K2_RULE_LEAK },
	{ "helper reads a spilled pointer", K2_RULE_LEAK },
	{ "LD_ABS/LD_IND needs", K2_RULE_HELPER },
	{ "stack access", K2_RULE_STACK },
	{ "packet", K2_RULE_PKT },
	{ "data_end", K2_RULE_PKT },
	{ "context", K2_RULE_CTX },
	{ "map value access", K2_RULE_MAP_VALUE },
	{ "through a scalar", K2_RULE_DEREF },
	{ "pointer of this type", K2_RULE_DEREF },
	{ "atomic operation outside", K2_RULE_DEREF },
};

static const struct rule_key msg_keys[] = {
	{ "_or_null", K2_RULE_DEREF },
	{ "!read_ok", K2_RULE_UNINIT },
	{ "leaks", K2_RULE_LEAK },
	{ "return stack pointer", K2_RULE_LEAK },
	{ "At program exit", K2_RULE_LEAK },
	{ "unreachable", K2_RULE_CFG },
	{ "expected=", K2_RULE_HELPER },
	{ "helper", K2_RULE_HELPER },
	{ "indirect", K2_RULE_HELPER },
	{ "unbounded memory access", K2_RULE_HELPER },
	{ "LD_ABS", K2_RULE_HELPER },
	{ "prohibited", K2_RULE_PTR },
	{ "sign-extension", K2_RULE_PTR },
	{ "stack", K2_RULE_STACK },
	{ "packet", K2_RULE_PKT },
	{ "pkt", K2_RULE_PKT },
	{ "ctx", K2_RULE_CTX },
	{ "context", K2_RULE_CTX },
	{ "map", K2_RULE_MAP_VALUE },
	{ "invalid mem access", K2_RULE_DEREF },
};

static enum k2_rule lookup(const struct rule_key *k, size_t n, const char *s, enum k2_rule dflt)
{
	for (size_t i = 0; s && i < n; i++)
		if (strstr(s, k[i].sub))
			return k[i].rule;
	return dflt;
}

enum k2_rule k2s_rule_of_run(enum k2_status st, const char *reason)
{
	switch (st) {
	case K2_RUN_EUNINIT:
		return K2_RULE_UNINIT;
	case K2_RUN_EHELPER:
		return K2_RULE_HELPER;
	case K2_RUN_EMEM:
		return lookup(run_keys, sizeof(run_keys) / sizeof(*run_keys), reason,
			      K2_RULE_DEREF);
	case K2_RUN_EPTR:
		/* the leaks, then pointer misuse whatever the pointer */
		return lookup(run_keys, N_LEAK_KEYS, reason, K2_RULE_PTR);
	default:
		return K2_RULE_OTHER;
	}
}

enum k2_rule k2s_rule_of_msg(const char *msg)
{
	return lookup(msg_keys, sizeof(msg_keys) / sizeof(*msg_keys), msg, K2_RULE_OTHER);
}

void k2s_unknown(struct k2_safety_report *r, const char *fmt, ...)
{
	va_list ap;

	if (r->reason[0])
		return;
	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
}

bool k2s_viol_at(const struct k2_safety_report *r, uint32_t insn)
{
	for (uint32_t i = 0; i < r->n; i++)
		if (r->v[i].insn == insn)
			return true;
	return false;
}

struct k2_safety_viol *k2s_viol_add(struct k2_safety_report *r, uint32_t insn, enum k2_rule rule,
				    bool has_input, const char *fmt, ...)
{
	struct k2_safety_viol *v;
	uint32_t at = 0;
	va_list ap;

	r->verdict = K2_UNSAFE;
	if (!has_input)
		r->n_static++;
	if (r->n == K2_SAFETY_MAXV)
		return NULL;
	while (at < r->n && r->v[at].insn <= insn)
		at++;
	memmove(&r->v[at + 1], &r->v[at], (r->n - at) * sizeof(*v));
	r->n++;
	v = &r->v[at];
	memset(v, 0, sizeof(*v));
	v->insn = insn;
	v->rule = rule;
	v->has_input = has_input;
	va_start(ap, fmt);
	vsnprintf(v->msg, sizeof(v->msg), fmt, ap);
	va_end(ap);
	return v;
}

void k2_safety_report_free(struct k2_safety_report *r)
{
	for (uint32_t i = 0; i < r->n; i++) {
		if (r->v[i].in) {
			k2_mapstate_free((struct k2_mapstate *)r->v[i].in->maps);
			free(r->v[i].in);
		}
		k2_wstate_free(r->v[i].st);
		r->v[i].in = NULL;
		r->v[i].st = NULL;
	}
}

void k2s_static_viols(struct k2_safety_report *r, const struct k2_violation *v, uint32_t nv,
		      const struct k2_access *acc, uint32_t n_acc, const bool *reached,
		      uint32_t *unproven)
{
	*unproven = UINT32_MAX;
	for (uint32_t i = 0; i < nv; i++) {
		const char *m = v[i].msg;
		const char *p = strstr(m, ": ");

		/* the analysis' messages start "insn N: " */
		if (!strncmp(m, "insn ", 5) && p)
			m = p + 2;
		k2s_viol_add(r, v[i].insn, k2s_rule_of_msg(m), false, "insn %u: %s (verifier rule)",
			     v[i].insn, m);
	}
	for (uint32_t i = 0; i < n_acc; i++) {
		const struct k2_access *a = &acc[i];
		bool viol = false;

		if (a->region == K2_MEM_NONE || (a->flags & K2_ACC_SAFE) || (reached && !reached[i]))
			continue;
		for (uint32_t j = 0; j < nv && !viol; j++)
			viol = v[j].insn == i;
		if (!viol && *unproven == UINT32_MAX)
			*unproven = i;
	}
}

Z3_ast k2s_err_open(struct k2_smt *s, Z3_ast *err_at, const bool *done, uint32_t n)
{
	Z3_ast d = s->fls;

	for (uint32_t i = 0; i < n; i++)
		if (err_at[i] && !done[i])
			d = b_or(s, d, err_at[i]);
	return d;
}

uint32_t k2s_err_which(struct k2_smt *s, Z3_model m, Z3_ast *err_at, const bool *done, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		uint64_t v = 0;

		if (err_at[i] && !done[i] && k2s_eval_u64(s, m, err_at[i], &v) && v)
			return i;
	}
	return UINT32_MAX;
}
