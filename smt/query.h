/* smt/query.h: queries, counterexamples and replays shared by smt/'s files. */
#ifndef K2_SMT_QUERY_H
#define K2_SMT_QUERY_H

#include <stdarg.h>

#include "smt/smt_int.h"

double k2s_now_ms(void);
void k2s_reason(struct k2_smt *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
Z3_lbool k2s_check(struct k2_smt *s, Z3_solver so, Z3_ast *assume, uint32_t na, Z3_model *model);
bool k2s_eval_u64(struct k2_smt *s, Z3_model m, Z3_ast a, uint64_t *v);
bool k2s_eval_bytes(struct k2_smt *s, Z3_model m, Z3_ast a, uint8_t *out, uint32_t n);

/* A growing list of terms (assertions of one query). */
struct k2_terms {
	Z3_ast *v;
	uint32_t n, cap;
};
void k2s_terms_add(struct k2_smt *s, struct k2_terms *t, Z3_ast a);
void k2s_terms_free(struct k2_terms *t);

/* The disjunction of an encoding's unsupported conditions, and the first that holds. */
Z3_ast k2s_unsup_any(struct k2_enc *en);
const struct k2_unsup *k2s_unsup_which(struct k2_smt *s, struct k2_enc *en, Z3_model m);

/* Whole programs: "a and b differ" given both encoded over one world. */
Z3_ast k2s_prog_diff(struct k2_enc *a, struct k2_enc *b);
/* Model -> input (maps into s->cex_maps). */
int k2s_cex_input(struct k2_world *w, Z3_model m, struct k2_input *in, struct k2_err *e);
/* Runs both programs on the input: 1 when their results differ, 0 when not (why in buf). */
int k2s_replay_prog(const struct k2_prog *a, const struct k2_prog *b, const struct k2_input *in,
		    char *why, size_t len, struct k2_err *e);

/* Whole-program check of two programs of one type and map set (equiv_prog.c). */
int k2s_equiv_prog(struct k2_smt *s, const struct k2_prog *a, const struct k2_prog *b,
		   enum k2_verdict *v, struct k2_input *cex, struct k2_err *e);

/* cache.c */
int k2s_cache_new(struct k2_smt *s);
void k2s_cache_free(struct k2_smt *s);
struct k2_hash {
	uint64_t a, b;
};
bool k2s_cache_get(struct k2_smt *s, const struct k2_hash *h, enum k2_verdict *v);
void k2s_cache_put(struct k2_smt *s, const struct k2_hash *h, enum k2_verdict v);
void k2s_hash_bytes(struct k2_hash *h, const void *p, size_t n);

#endif
