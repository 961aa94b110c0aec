/* tests/unit/cfg_graph.c: basic blocks, edges, functions, reachability and CFG errors. */
#include "tests/unit/cfg_prog.h"

static struct k2_cfg *build(struct pb *p, const char *text, bool fragment)
{
	struct k2_cfg_opts o = { .sz = sizeof(o), .fragment = fragment };
	struct k2_cfg *cfg;
	struct k2_err e = { 0 };

	pb_asm(p, text);
	cr_assert_eq(k2_cfg_build(p->v, p->n, &o, &cfg, &e), 0, "%s", e.msg);
	return cfg;
}

static const char *build_err(struct pb *p, const char *text, bool fragment, struct k2_err *e)
{
	struct k2_cfg_opts o = { .sz = sizeof(o), .fragment = fragment };
	struct k2_cfg *cfg = NULL;

	pb_asm(p, text);
	cr_assert_lt(k2_cfg_build(p->v, p->n, &o, &cfg, e), 0);
	cr_assert_null(cfg);
	return e->msg;
}

static void expect_preds(const struct k2_cfg *c, uint32_t b, uint32_t n, const uint32_t *want)
{
	cr_assert_eq(c->bbs[b].n_pred, n, "block %u has %u preds", b, c->bbs[b].n_pred);
	for (uint32_t k = 0; k < n; k++)
		cr_expect_eq(c->preds[c->bbs[b].pred_off + k], want[k]);
}

Test(cfg_graph, diamond_has_fallthrough_first)
{
	struct pb p;
	struct k2_cfg *c = build(&p, "r0 = 0\n if r1 == 0 goto out\n r0 = 1\nout: exit\n", false);

	cr_assert_eq(c->n_bbs, 3);
	cr_expect_eq(c->bbs[0].start, 0);
	cr_expect_eq(c->bbs[0].end, 2);
	cr_expect_eq(c->bbs[0].n_succ, 2);
	cr_expect_eq(c->bbs[0].succ[0], 1, "fall-through first");
	cr_expect_eq(c->bbs[0].succ[1], 2, "then the branch");
	cr_expect_eq(c->bbs[1].n_succ, 1);
	cr_expect_eq(c->bbs[1].succ[0], 2);
	cr_expect_eq(c->bbs[2].n_succ, 0, "exit ends the flow");
	expect_preds(c, 2, 2, (uint32_t[]){ 0, 1 });
	cr_expect_eq(c->n_unreachable, 0);
	cr_expect_eq(c->n_funcs, 1);
	k2_cfg_free(c);
}

Test(cfg_graph, ld_imm64_is_one_node_of_two_slots)
{
	struct pb p;
	struct k2_cfg *c = build(&p, "if r1 == 0 goto l\n r2 = 4660 ll\nl: r0 = 0\n exit\n", false);

	cr_assert_eq(p.n, 5);
	cr_expect_eq(c->bb_of[1], c->bb_of[2], "both slots in one block");
	cr_expect_eq(c->bbs[c->bb_of[1]].end, 3);
	cr_expect_eq(c->bbs[0].succ[1], c->bb_of[3]);
	cr_expect(k2_cfg_insn_reachable(c, 2));
	k2_cfg_free(c);
}

Test(cfg_graph, ja32_and_jumps_back_make_loops)
{
	struct pb p;
	struct k2_cfg *c = build(&p,
				 "r0 = 0\ntop: r0 += 1\n if r0 > 9 goto out\n gotol top\n"
				 "out: exit\n",
				 false);
	uint32_t top = c->bb_of[1], n;
	const uint32_t *rpo = k2_cfg_rpo(c, 0, &n);

	cr_expect(c->bbs[top].loop_head);
	cr_expect(c->funcs[0].has_loop);
	cr_expect_eq(c->bbs[c->bb_of[3]].succ[0], top, "gotol lands on the loop head");
	cr_assert_eq(n, 4);
	cr_expect_eq(rpo[0], 0, "the entry comes first in reverse post order");
	for (uint32_t k = 0; k < n; k++)
		cr_expect_eq(c->bbs[rpo[k]].rpo, k);
	k2_cfg_free(c);
}

Test(cfg_graph, calls_make_functions)
{
	struct pb p;
	struct k2_cfg *c = build(&p,
				 "r1 = 1\n call f\n r2 = func[g] ll\n exit\n"
				 "f: r0 = r1\n exit\n"
				 "g: r0 = 0\n exit\n"
				 "h: r0 = 2\n exit\n",
				 false);

	cr_assert_eq(c->n_funcs, 3, "main, f and g (h is only unreachable code of g)");
	cr_expect_eq(c->funcs[1].start, 5);
	cr_expect_eq(c->funcs[2].start, 7);
	cr_expect_eq(c->callee[1], 1);
	cr_expect_eq(c->callee[2], 2);
	cr_expect(c->funcs[1].reachable && c->funcs[2].reachable);
	cr_expect(c->funcs[2].callback, "its address is taken");
	cr_expect_not(c->funcs[1].callback);
	cr_expect_eq(k2_cfg_func_of(c, 6), 1);
	cr_expect_eq(k2_cfg_func_of(c, 9), 2);
	cr_expect_eq(c->n_unreachable, 2, "h's two instructions");
	cr_expect_not(k2_cfg_insn_reachable(c, 9));
	cr_expect_eq(c->funcs[1].first_bb, c->bb_of[5]);
	k2_cfg_free(c);
}

Test(cfg_graph, uncalled_code_is_unreachable)
{
	struct pb p;
	struct k2_cfg *c = build(&p, "goto l\n r0 = 1\n exit\nl: r0 = 0\n exit\n", false);

	cr_expect_eq(c->n_unreachable, 2);
	cr_expect_not(k2_cfg_insn_reachable(c, 1));
	cr_expect(k2_cfg_insn_reachable(c, 3));
	k2_cfg_free(c);
}

Test(cfg_graph, fragment_may_jump_to_its_end_and_fall_off)
{
	struct pb p;
	struct k2_cfg *c = build(&p, "if r1 > 0 goto +2\n r2 = 1\n if r2 == 1 goto +0\n", true);

	cr_assert_eq(c->n_bbs, 2);
	cr_expect_eq(c->bbs[0].succ[1], K2_CFG_END, "a jump to n leaves the fragment");
	cr_expect_eq(c->bbs[1].n_succ, 2);
	cr_expect_eq(c->bbs[1].succ[0], K2_CFG_END, "falling off leaves too");
	cr_expect_eq(c->bbs[1].succ[1], K2_CFG_END);
	cr_expect(c->fragment);
	k2_cfg_free(c);
}

Test(cfg_graph, empty_fragment_leaves_at_once)
{
	struct k2_cfg_opts o = { .sz = sizeof(o), .fragment = true };
	struct k2_cfg *c;

	cr_assert_eq(k2_cfg_build(NULL, 0, &o, &c, NULL), 0);
	cr_expect_eq(c->n_bbs, 1);
	cr_expect_eq(c->bbs[0].succ[0], K2_CFG_END);
	k2_cfg_free(c);
}

Test(cfg_graph, errors_name_the_instruction)
{
	struct pb p;
	struct k2_err e;

	cr_expect(strstr(build_err(&p, "call f\n exit\nf: if r1 > 0 goto -3\n exit\n", false, &e),
			 "insn 2: jump to 0 leaves the function at 2"),
		  "%s", e.msg);
	cr_expect(strstr(build_err(&p, "call f\n r0 = 0\nf: r0 = 1\n exit\n", false, &e),
			 "insn 1: function at 0 falls through into the next"),
		  "%s", e.msg);
	cr_expect(strstr(build_err(&p, "r0 = 0\n", false, &e), "insn 0: control falls off"), "%s",
		  e.msg);
	cr_expect(strstr(build_err(&p, "call f\nf: exit\n", true, &e),
			 "insn 0: call to a function inside a fragment"),
		  "%s", e.msg);
	cr_expect(strstr(build_err(&p, "if r1 > 0 goto +3\n exit\n", true, &e),
			 "insn 0: jump out of range"),
		  "%s", e.msg);
	p.v[0] = (struct bpf_insn){ .code = 0xff };
	p.v[1] = (struct bpf_insn){ .code = BPF_JMP | BPF_EXIT };
	cr_expect_lt(k2_cfg_build(p.v, 2, NULL, &(struct k2_cfg *){ NULL }, &e), 0);
	cr_expect(strstr(e.msg, "insn 0: invalid opcode"), "%s", e.msg);
}
