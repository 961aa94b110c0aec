/* smt/safety.h: what the safety checks share: rules, reports, the verifier's static rules. */
#ifndef K2_SMT_SAFETY_H
#define K2_SMT_SAFETY_H

#include "smt/query.h"

/* The rule of a run's failure (bpf/interp's status and reason). */
enum k2_rule k2s_rule_of_run(enum k2_status st, const char *reason);
/* The rule of a verifier-style message from bpf/'s analysis. */
enum k2_rule k2s_rule_of_msg(const char *msg);
/* Appends a violation (kept sorted by instruction; beyond K2_SAFETY_MAXV only counted). */
struct k2_safety_viol *k2s_viol_add(struct k2_safety_report *r, uint32_t insn, enum k2_rule rule,
				    bool has_input, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* Sets r's reason for an UNKNOWN verdict, unless it has one already (the first cause stays). */
void k2s_unknown(struct k2_safety_report *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Whether insn already has a violation in r. */
bool k2s_viol_at(const struct k2_safety_report *r, uint32_t insn);
/*
 * The analysis' violations (n_acc accesses, reached may be NULL: all) as static violations
 * of r; an access the analysis typed but could not prove safe without naming a violation
 * (kernel memory through BTF pointers) makes *unproven its instruction (else UINT32_MAX).
 */
void k2s_static_viols(struct k2_safety_report *r, const struct k2_violation *v, uint32_t nv,
		      const struct k2_access *acc, uint32_t n_acc, const bool *reached,
		      uint32_t *unproven);
/*
 * Rules of the kernel's verifier the analysis does not report (sane pointer offsets, stack
 * alignment), from its states; *dead_insn gets the first instruction the CFG reaches but the
 * analysis proves dead (the verifier may not), or UINT32_MAX.
 */
void k2s_kernel_rules(struct k2_safety_report *r, const struct k2_analysis *an,
		      uint32_t *dead_insn);
/* Disjunction of the error conditions of the instructions still open. */
Z3_ast k2s_err_open(struct k2_smt *s, Z3_ast *err_at, const bool *done, uint32_t n);
/* The first open instruction whose error condition holds in m, or UINT32_MAX. */
uint32_t k2s_err_which(struct k2_smt *s, Z3_model m, Z3_ast *err_at, const bool *done, uint32_t n);

#endif
