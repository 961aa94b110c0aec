/* bpf/cfg_analysis.c: the whole analysis of one program (CFG, types, liveness) and its counts. */
#include "bpf/k2_cfg.h"

#include <stdlib.h>

int k2_analysis_new(const struct k2_prog *prog, const struct k2_analysis_opts *opts,
		    struct k2_analysis **out, struct k2_err *e)
{
	struct k2_cfg_opts co = { .sz = sizeof(co), .max_isa = opts ? opts->max_isa : 0 };
	struct k2_analysis *an = calloc(1, sizeof(*an));
	int err;

	*out = NULL;
	if (!an)
		return k2_err_set(e, -ENOMEM, "out of memory");
	an->prog = prog;
	err = k2_cfg_build(prog->insns, prog->n_insns, &co, &an->cfg, e);
	if (!err)
		err = k2_absint_run(prog, an->cfg, opts ? opts->absint : NULL, &an->ai, e);
	if (!err)
		err = k2_live_compute(an->cfg, an->ai, &an->live, e);
	if (err) {
		k2_err_prefix(e, "%s: ", prog->sec[0] ? prog->sec : prog->name);
		k2_analysis_free(an);
		return err;
	}
	*out = an;
	return 0;
}

void k2_analysis_free(struct k2_analysis *an)
{
	if (!an)
		return;
	k2_live_free(an->live);
	k2_absint_free(an->ai);
	k2_cfg_free(an->cfg);
	free(an);
}

void k2_analysis_stats(const struct k2_analysis *an, struct k2_analysis_stats *st)
{
	const struct k2_cfg *cfg = an->cfg;

	*st = (struct k2_analysis_stats){ .n_insns = 0,
					  .n_unreachable = cfg->n_unreachable,
					  .n_funcs = cfg->n_funcs };
	k2_absint_violations(an->ai, &st->n_violations);
	for (uint32_t i = 0; i < cfg->n_insns; i++) {
		const struct bpf_insn *in = &cfg->insns[i];
		const struct k2_opinfo *oi = k2_op_info(k2_insn_op(in));
		const struct k2_access *a;

		st->n_insns++;
		if (oi->kind == K2_KIND_LDDW)
			i++;
		if (!(oi->flags & (K2_F_LOAD | K2_F_STORE)) || !k2_cfg_insn_reachable(cfg, i))
			continue;
		if (!k2_absint_reached(an->ai, i)) {
			st->n_dead_access++;
			continue;
		}
		a = k2_absint_access(an->ai, i);
		st->n_access++;
		st->n_region[a->region]++;
		st->n_typed += a->region != K2_MEM_UNKNOWN && a->region != K2_MEM_NONE;
		st->n_const += !!(a->flags & K2_ACC_CONST);
		st->n_safe += !!(a->flags & K2_ACC_SAFE);
	}
}
