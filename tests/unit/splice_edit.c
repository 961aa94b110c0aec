/* tests/unit/splice_edit.c: splicing replacements: jumps, calls, index maps, errors. */
#include "tests/unit/cfg_prog.h"

struct spliced {
	struct bpf_insn *v;
	uint32_t n, n_main;
	int32_t map[PB_MAX];
};

static int splice(const struct pb *p, const struct k2_edit *ed, uint32_t ne, uint32_t n_main,
		  bool drop, struct spliced *out, struct k2_err *e)
{
	struct k2_splice_opts o = { .sz = sizeof(o), .n_main = n_main, .drop_unreachable = drop };

	return k2_splice(p->v, p->n, ed, ne, &o, &out->v, &out->n, &out->n_main, out->map, e);
}

static void expect_text(const struct spliced *s, const char *text)
{
	struct pb want;

	pb_asm(&want, text);
	cr_assert_eq(s->n, want.n, "%u slots, want %u", s->n, want.n);
	for (uint32_t i = 0; i < s->n; i++) {
		char a[128], b[128];

		k2_disasm_insn(&s->v[i], a, sizeof(a));
		k2_disasm_insn(&want.v[i], b, sizeof(b));
		cr_expect(!memcmp(&s->v[i], &want.v[i], sizeof(s->v[i])),
			  "insn %u: '%s', want '%s'", i, a, b);
		if (BPF_CLASS(want.v[i].code) == BPF_LD && BPF_MODE(want.v[i].code) == BPF_IMM)
			i++;
	}
	cr_expect_eq(k2_insns_check(s->v, s->n, NULL, NULL), 0);
}

#define PROG                                                                                       \
	"r0 = 0\n if r1 > 0 goto end\n r0 = 1\n r0 += 2\n r0 += 3\n r0 += 4\n"                     \
	"r0 += 5\n if r0 < 100 goto -3\nend: exit\n"

Test(splice_edit, identity_is_identity)
{
	struct pb p;
	struct spliced s;
	struct k2_edit ed[2];

	pb_asm(&p, PROG);
	ed[0] = (struct k2_edit){ 2, 5, &p.v[2], 3 };
	ed[1] = (struct k2_edit){ 0, 1, &p.v[0], 1 };
	cr_assert_eq(splice(&p, ed, 2, 0, false, &s, NULL), 0);
	cr_assert_eq(s.n, p.n);
	cr_expect(!memcmp(s.v, p.v, p.n * sizeof(*p.v)));
	for (uint32_t i = 0; i < p.n; i++)
		cr_expect_eq(s.map[i], (int32_t)i);
	cr_expect_eq(s.n_main, p.n);
	free(s.v);
}

Test(splice_edit, shrinking_moves_every_jump_across_the_edit)
{
	struct pb p, r;
	struct spliced s;
	struct k2_edit ed;

	pb_asm(&p, PROG);
	/* r0 = 1; r0 += 2; r0 += 3 -> r0 = 6 and two ja +0 left by deletions */
	pb_asm(&r, "r0 = 6\n goto +0\n goto +0\n");
	ed = (struct k2_edit){ 2, 5, r.v, r.n };
	cr_assert_eq(splice(&p, &ed, 1, 0, false, &s, NULL), 0);
	expect_text(&s, "r0 = 0\n if r1 > 0 goto end\n r0 = 6\n r0 += 4\n r0 += 5\n"
			"if r0 < 100 goto -3\nend: exit\n");
	cr_expect_eq(s.map[2], 2);
	cr_expect_eq(s.map[3], -1, "deleted");
	cr_expect_eq(s.map[4], -1);
	cr_expect_eq(s.map[5], 3);
	cr_expect_eq(s.map[8], 6);
	free(s.v);
}

Test(splice_edit, targets_at_the_edges_of_an_edit)
{
	struct pb p, r;
	struct spliced s;
	struct k2_edit ed;

	pb_asm(&p, "if r1 > 0 goto a\n if r1 > 1 goto b\n r0 = 9\n exit\n"
		   "a: r0 = 1\n r0 += 1\nb: r0 += 2\n exit\n");
	/* The replacement begins with a NOP (a jump to its start lands after it) and jumps to
	 * its own end (= the old b). */
	pb_asm(&r, "goto +0\n if r2 > 0 goto +1\n r0 = 5\n");
	ed = (struct k2_edit){ 4, 6, r.v, r.n };
	cr_assert_eq(splice(&p, &ed, 1, 0, false, &s, NULL), 0);
	expect_text(&s, "if r1 > 0 goto a\n if r1 > 1 goto b\n r0 = 9\n exit\n"
			"a: if r2 > 0 goto b\n r0 = 5\nb: r0 += 2\n exit\n");
	cr_expect_eq(s.map[4], -1, "the first replacement slot was a NOP");
	cr_expect_eq(s.map[5], 4);
	free(s.v);
}

Test(splice_edit, gotol_calls_and_function_loads_follow)
{
	struct pb p, r;
	struct spliced s;
	struct k2_edit ed;

	pb_asm(&p, "r1 = 1\n r1 += 1\n r1 += 1\n call f\n r2 = func[g] ll\n gotol out\n r0 = 1\n"
		   "out: exit\nf: r0 = r1\n exit\ng: r0 = 0\n exit\n");
	pb_asm(&r, "r1 = 3\n");
	ed = (struct k2_edit){ 0, 3, r.v, r.n };
	cr_assert_eq(splice(&p, &ed, 1, 9, false, &s, NULL), 0);
	expect_text(&s, "r1 = 3\n call f\n r2 = func[g] ll\n gotol out\n r0 = 1\nout: exit\n"
			"f: r0 = r1\n exit\ng: r0 = 0\n exit\n");
	cr_expect_eq(s.n_main, 7);
	cr_expect_eq(s.map[9], 7, "the subprogram moved up by two");
	free(s.v);
}

Test(splice_edit, compact_removes_filler_even_where_jumps_land)
{
	struct pb p;
	struct spliced s;
	struct k2_splice_opts o = { .sz = sizeof(o) };

	pb_asm(&p, "if r1 > 0 goto l\n goto +0\n r0 = 1\nl: goto +0\n gotol +0\n r0 = 2\n exit\n");
	cr_assert_eq(k2_compact(p.v, p.n, &o, &s.v, &s.n, &s.n_main, s.map, NULL), 0);
	expect_text(&s, "if r1 > 0 goto l\n r0 = 1\nl: r0 = 2\n exit\n");
	cr_expect_eq(s.map[3], -1);
	cr_expect_eq(s.map[5], 2);
	free(s.v);
}

Test(splice_edit, longer_replacements_and_deletions)
{
	struct pb p, r;
	struct spliced s;
	struct k2_edit ed[2];

	pb_asm(&p, PROG);
	pb_asm(&r, "r0 = 1\n r0 <<= 1\n r0 |= 1\n");
	ed[0] = (struct k2_edit){ 2, 3, r.v, r.n };
	ed[1] = (struct k2_edit){ 5, 6, NULL, 0 };
	cr_assert_eq(splice(&p, ed, 2, 0, false, &s, NULL), 0);
	/* The loop jumped to the deleted slot 5: it lands on what follows. */
	expect_text(&s, "r0 = 0\n if r1 > 0 goto end\n r0 = 1\n r0 <<= 1\n r0 |= 1\n r0 += 2\n"
			"r0 += 3\n r0 += 5\n if r0 < 100 goto -2\nend: exit\n");
	cr_expect_eq(s.map[5], -1);
	cr_expect_eq(s.map[6], 7);
	free(s.v);
}

Test(splice_edit, maps_compose_over_successive_splices)
{
	struct pb p, r1, r2;
	struct spliced a, b, both;
	struct k2_edit e1, e2, eb[2];
	int32_t comp[PB_MAX];

	pb_asm(&p, PROG);
	pb_asm(&r1, "r0 = 6\n");
	pb_asm(&r2, "r0 += 9\n");
	e1 = (struct k2_edit){ 2, 5, r1.v, r1.n };
	cr_assert_eq(splice(&p, &e1, 1, 0, false, &a, NULL), 0);
	e2 = (struct k2_edit){ (uint32_t)a.map[5], (uint32_t)a.map[6] + 1, r2.v, r2.n };
	cr_assert_eq(k2_splice(a.v, a.n, &e2, 1, NULL, &b.v, &b.n, &b.n_main, b.map, NULL), 0);
	eb[0] = e1;
	eb[1] = (struct k2_edit){ 5, 7, r2.v, r2.n };
	cr_assert_eq(splice(&p, eb, 2, 0, false, &both, NULL), 0);
	cr_assert_eq(b.n, both.n);
	cr_expect(!memcmp(b.v, both.v, b.n * sizeof(*b.v)));
	k2_index_map_compose(a.map, p.n, b.map, a.n, comp);
	for (uint32_t i = 0; i < p.n; i++)
		if (i < 5 || i > 6)
			cr_expect_eq(comp[i], both.map[i], "slot %u", i);
	free(a.v);
	free(b.v);
	free(both.v);
}

Test(splice_edit, unreachable_code_can_be_dropped)
{
	struct pb p, r;
	struct spliced s;
	struct k2_edit ed;
	struct k2_err e;

	pb_asm(&p, "r0 = 0\n if r1 > 0 goto +2\n r0 = 1\n r0 += 1\n r0 += 2\n exit\n");
	/* The branch becomes always taken: what it skipped is dead, and the jump over the dead
	 * code turns into filler once that is gone. */
	pb_asm(&r, "goto +2\n r0 = 1\n r0 += 1\n");
	ed = (struct k2_edit){ 1, 4, r.v, r.n };
	cr_assert_eq(splice(&p, &ed, 1, 0, true, &s, &e), 0, "%s", e.msg);
	expect_text(&s, "r0 = 0\n r0 += 2\n exit\n");
	cr_expect_eq(s.map[1], -1);
	cr_expect_eq(s.map[2], -1);
	cr_expect_eq(s.map[3], -1);
	cr_expect_eq(s.map[4], 1);
	free(s.v);
}

Test(splice_edit, malformed_edits_are_refused_with_a_reason)
{
	struct pb p, r;
	struct spliced s;
	struct k2_edit ed[2];
	struct k2_err e;

	pb_asm(&p, PROG);
	pb_asm(&r, "r0 = 1\n");
	ed[0] = (struct k2_edit){ 2, 5, r.v, 1 };
	ed[1] = (struct k2_edit){ 4, 6, r.v, 1 };
	cr_expect_lt(splice(&p, ed, 2, 0, false, &s, &e), 0);
	cr_expect(strstr(e.msg, "edits 2:5 and 4:6 overlap"), "%s", e.msg);
	ed[0] = (struct k2_edit){ 4, 7, r.v, 1 };
	cr_expect_lt(splice(&p, ed, 1, 0, false, &s, &e), 0);
	cr_expect(strstr(e.msg, "insn 7 jumps into the replaced range 4:7 at 4") ||
			  strstr(e.msg, "jumps into the replaced range"),
		  "%s", e.msg);
	ed[0] = (struct k2_edit){ 3, 10, r.v, 1 };
	cr_expect_lt(splice(&p, ed, 1, 0, false, &s, &e), 0);
	cr_expect(strstr(e.msg, "edit 3:10: empty or out of range"), "%s", e.msg);
	pb_asm(&r, "if r0 > 0 goto +5\n");
	ed[0] = (struct k2_edit){ 2, 3, r.v, 1 };
	cr_expect_lt(splice(&p, ed, 1, 0, false, &s, &e), 0);
	cr_expect(strstr(e.msg, "edit 2:3: replacement: insn 0: jump out of range"), "%s", e.msg);
	cr_expect_lt(splice(&p, ed, 1, 4, false, &s, &(struct k2_err){ 0 }), 0);

	pb_asm(&p, "r1 = map[idx:0] ll\n r0 = 0\n exit\n");
	pb_asm(&r, "r0 = 0\n");
	ed[0] = (struct k2_edit){ 0, 3, r.v, 1 };
	cr_expect_lt(splice(&p, ed, 1, 0, false, &s, &e), 0);
	cr_expect(strstr(e.msg, "insn 0 is a relocated ld_imm64 and must stay in place"), "%s",
		  e.msg);
	ed[0] = (struct k2_edit){ 1, 3, r.v, 1 };
	cr_expect_lt(splice(&p, ed, 1, 0, false, &s, &e), 0);
	cr_expect(strstr(e.msg, "splits an ld_imm64"), "%s", e.msg);
}

Test(splice_edit, jumps_that_no_longer_fit_are_refused)
{
	uint32_t n = 40000;
	struct bpf_insn *v = calloc(n, sizeof(*v)), *out, grow[4];
	struct k2_edit ed;
	uint32_t n_out;
	struct k2_err e;

	for (uint32_t i = 0; i < n; i++)
		k2_insn_encode(K2_OP_ADD64_K, 0, 0, 0, 1, &v[i]);
	k2_insn_encode(K2_OP_JEQ64_K, 1, 0, 32765, 0, &v[0]);
	k2_insn_encode(K2_OP_EXIT, 0, 0, 0, 0, &v[n - 1]);
	for (int i = 0; i < 4; i++)
		k2_insn_encode(K2_OP_ADD64_K, 0, 0, 0, 2, &grow[i]);
	ed = (struct k2_edit){ 5, 6, grow, 4 };
	cr_expect_eq(k2_splice(v, n, &ed, 1, NULL, &out, &n_out, NULL, NULL, &e), -ERANGE);
	cr_expect(strstr(e.msg, "insn 0: jump offset 32768 does not fit in 16 bits"), "%s", e.msg);
	cr_expect_null(out);
	free(v);
}

Test(splice_edit, no_old_slot_maps_into_a_new_ld_imm64)
{
	struct pb p, r;
	struct spliced s;
	struct k2_edit ed;

	/* Three instructions become one ld_imm64: the second old slot would face its second
	 * half, where no instruction starts (the object writer refuses such a map). */
	pb_asm(&p, PROG);
	pb_asm(&r, "r0 = 0x100000001 ll\n");
	ed = (struct k2_edit){ 2, 5, r.v, r.n };
	cr_assert_eq(splice(&p, &ed, 1, 0, false, &s, NULL), 0);
	cr_expect_eq(s.map[2], 2);
	cr_expect_eq(s.map[3], -1);
	cr_expect_eq(s.map[4], -1);
	cr_expect_eq(s.map[5], 4);
	free(s.v);
}
