/* tests/unit/search_propose.c: proposals keep windows well formed; cells round-trip. */
#include <criterion/criterion.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search/search_int.h"
#include "tests/unit/interp_util.h"

#define MOVES_PER_WINDOW 3000

static void each_corpus_window(void (*fn)(const struct k2_prog *, const struct k2_analysis *,
					  const struct k2_win *, void *),
			       void *arg)
{
	struct k2_win_opts wo = { .sz = sizeof(wo), .main_only = true };
	glob_t g;
	int objs = 0;

	cr_assert_eq(glob("build/corpus/*.o", 0, NULL, &g), 0, "no corpus: run `make corpus`");
	for (size_t i = 0; i < g.gl_pathc; i++) {
		struct k2_object *obj;
		struct k2_err e = { 0 };

		cr_assert_eq(k2_object_open(g.gl_pathv[i], &obj, &e), 0, "%s", e.msg);
		for (uint32_t p = 0; p < obj->n_progs; p++) {
			struct k2_analysis *an;
			struct k2_win *w;
			uint32_t n;

			cr_assert_eq(k2_analysis_new(&obj->progs[p], NULL, &an, &e), 0, "%s", e.msg);
			cr_assert_eq(k2_wins_select(an, &wo, &w, &n, &e), 0, "%s", e.msg);
			for (uint32_t k = 0; k < n; k++)
				fn(&obj->progs[p], an, &w[k], arg);
			free(w);
			k2_analysis_free(an);
		}
		k2_object_free(obj);
		objs++;
	}
	globfree(&g);
	cr_expect_geq(objs, 18);
}

struct move_stats {
	uint64_t moves[K2_MOVE__COUNT];
	uint64_t windows, proposals;
	uint32_t mcpu;
};

/* What a proposal may contain: window ops, and new ones only within --mcpu, never a call. */
static void check_candidate(const struct bpf_insn *c, uint32_t n, const struct k2_win *w,
			    const struct bpf_insn *orig, uint32_t orig_n, uint32_t mcpu)
{
	struct k2_check_opts co = { .sz = sizeof(co), .allow_fallthrough = true };
	struct bpf_insn with_end[2 * orig_n + 1];
	struct k2_err e = { 0 };

	cr_assert_leq(n, 2 * orig_n);
	/* k2_insns_check wants jump targets inside: a jump to the end lands on an exit. */
	memcpy(with_end, c, n * sizeof(*c));
	k2_insn_encode(K2_OP_EXIT, 0, 0, 0, 0, &with_end[n]);
	cr_assert_eq(k2_insns_check(with_end, n + 1, &co, &e), 0, "window %u:%u: %s", w->start,
		     w->end, e.msg);
	for (uint32_t i = 0; i < n; i++) {
		enum k2_op op = k2_insn_op(&c[i]);
		const struct k2_opinfo *oi = k2_op_info(op);
		bool in_orig = false;

		cr_assert_neq(oi->kind, K2_KIND_CALL);
		cr_assert_neq(oi->kind, K2_KIND_EXIT);
		cr_assert_neq(oi->kind, K2_KIND_LDABS);
		cr_assert_neq(oi->kind, K2_KIND_LDIND);
		if (oi->flags & K2_F_BRANCH) {
			long t = k2_insn_target(&c[i], i);

			cr_assert(t > (long)i && t <= (long)n, "jump %u -> %ld of %u", i, t, n);
		}
		for (uint32_t k = 0; k < orig_n; k++)
			in_orig |= k2_insn_op(&orig[k]) == op;
		cr_assert(in_orig || oi->isa <= mcpu, "%s needs v%u > mcpu %u", oi->name, oi->isa,
			  mcpu);
		if (oi->kind == K2_KIND_LDDW) {
			cr_assert_eq(c[i].src_reg, 0, "relocated ld_imm64 proposed");
			i++;
		}
	}
}

static void propose_window(const struct k2_prog *p, const struct k2_analysis *an,
			   const struct k2_win *w, void *arg)
{
	struct move_stats *ms = arg;
	uint32_t slots = w->end - w->start, n, m;
	struct k2_cell *orig = calloc(slots, sizeof(*orig)), *c = calloc(slots, sizeof(*c));
	struct bpf_insn *buf = calloc(2 * slots + 2, sizeof(*buf));
	uint32_t *pos = calloc(slots + 1, sizeof(*pos));
	struct k2_astate *pre = malloc(sizeof(*pre));
	struct k2_config cfg;
	struct k2_pool pool;
	struct k2_rng r;
	int nc = k2_cells_from_insns(p->insns + w->start, slots, orig);

	cr_assert_gt(nc, 0, "window %u:%u", w->start, w->end);
	n = (uint32_t)nc;
	/* Cells and compaction give the window back (clang never emits ja +0 there). */
	m = k2_cells_compact(orig, n, buf, pos);
	cr_assert_eq(m, slots);
	cr_assert(!memcmp(buf, p->insns + w->start, slots * sizeof(*buf)), "window %u:%u",
		  w->start, w->end);
	k2_config_defaults(&cfg);
	cfg.search.mcpu = ms->mcpu;
	cr_assert_eq(k2_win_precond(an, w, pre), 0);
	k2_pool_init(&pool, orig, n, w, pre, &cfg.search);
	k2_rng_seed(&r, w->start * 7919 + ms->mcpu);
	memcpy(c, orig, n * sizeof(*c));
	for (int k = 0; k < MOVES_PER_WINDOW; k++) {
		/* A walk: mostly from the last proposal, sometimes from the original again. */
		if (k % 50 == 0)
			memcpy(c, orig, n * sizeof(*c));
		ms->moves[k2_propose(&pool, &r, c, n)]++;
		m = k2_cells_compact(c, n, buf, pos);
		check_candidate(buf, m, w, p->insns + w->start, slots, ms->mcpu);
		ms->proposals++;
	}
	ms->windows++;
	free(orig);
	free(c);
	free(buf);
	free(pos);
	free(pre);
}

Test(search_propose, proposals_are_well_formed_windows, .timeout = 120)
{
	for (uint32_t mcpu = 1; mcpu <= 4; mcpu += 3) {
		struct move_stats ms = { .mcpu = mcpu };

		each_corpus_window(propose_window, &ms);
		cr_expect_gt(ms.windows, 300);
		for (int m = 0; m < K2_MOVE__COUNT; m++)
			cr_expect_gt(ms.moves[m], 0, "move %d never made", m);
		printf("mcpu %u: %lu windows, %lu proposals\n", mcpu, (unsigned long)ms.windows,
		       (unsigned long)ms.proposals);
	}
}

/* The decoder of the interpreter accepts every proposal (what the search relies on). */
Test(search_propose, proposals_decode_in_the_window_interpreter)
{
	struct k2_prog p = prog_of(BPF_PROG_TYPE_XDP,
				   "r2 = *(u32 *)(r1 + 0)\n"
				   "r3 = *(u32 *)(r1 + 4)\n"
				   "r4 = r2\n"
				   "r4 += 14\n"
				   "if r4 > r3 goto out\n"
				   "r5 = *(u8 *)(r2 + 12)\n"
				   "r4 = *(u8 *)(r2 + 13)\n"
				   "r4 <<= 8\n"
				   "if r4 == 5 goto +1\n"
				   "r4 |= r5\n"
				   "r6 = 1234567890123 ll\n"
				   "*(u16 *)(r10 - 8) = r4\n"
				   "r0 = *(u16 *)(r10 - 8)\n"
				   "exit\n"
				   "out:\n"
				   "r0 = 1\n"
				   "exit\n",
				   NULL, 0);
	struct k2_vm *vm = vm_of(&p);
	struct k2_analysis *an;
	struct k2_window *win;
	struct k2_win w;
	struct k2_err e = { 0 };
	struct k2_cell orig[16], c[16];
	struct bpf_insn buf[34];
	uint32_t pos[17], n;
	struct k2_astate pre;
	struct k2_config cfg;
	struct k2_pool pool;
	struct k2_rng r;

	cr_assert_eq(k2_analysis_new(&p, NULL, &an, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_win_describe(an, 5, 13, &w, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_window_new(&win), 0);
	n = (uint32_t)k2_cells_from_insns(p.insns + 5, 8, orig);
	cr_assert_eq(n, 7);
	k2_config_defaults(&cfg);
	k2_win_precond(an, &w, &pre);
	k2_pool_init(&pool, orig, n, &w, &pre, &cfg.search);
	cr_expect_gt(pool.n_win_imm, 0);
	k2_rng_seed(&r, 1);
	for (int k = 0; k < 20000; k++) {
		uint32_t m;

		if (k % 20 == 0)
			memcpy(c, orig, sizeof(c));
		k2_propose(&pool, &r, c, n);
		m = k2_cells_compact(c, n, buf, pos);
		cr_assert_eq(k2_window_set(win, vm, buf, m, &e), 0, "%s", e.msg);
	}
	k2_window_free(win);
	k2_analysis_free(an);
	k2_vm_free(vm);
	free(p.insns);
}
