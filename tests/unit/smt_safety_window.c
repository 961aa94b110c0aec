/* tests/unit/smt_safety_window.c: corpus windows are safe under their preconditions; broken
 * candidates are refuted with a state that bpf/interp replays to the failure. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smt/k2smt.h"

static const char *const progs[] = { "xdp_firewall", "xdp_tcp_flags", "tc_dscp_mark",
				     "sock_dns_filter", "map_array_rw" };

struct tally {
	uint32_t windows, orig_safe, orig_unknown, cands, cand_unsafe, with_state, replayed;
};

/* The candidate's state, run again in a VM of the test's own: it must fail at v->insn. */
static void replay(struct k2_vm *vm, const struct bpf_insn *c, uint32_t n,
		   const struct k2_safety_viol *v, struct tally *t)
{
	struct k2_window *w;
	static struct k2_wout out;
	struct k2_err e = { 0 };

	cr_assert_eq(k2_window_new(&w), 0);
	cr_assert_eq(k2_window_set(w, vm, c, n, &e), 0, "%s", e.msg);
	k2_vm_wrun(vm, w, v->st, &out);
	cr_expect_neq(out.status, K2_RUN_OK, "%s: the state runs cleanly", v->msg);
	cr_expect_eq(out.err_insn, v->insn, "%s: fails at %u", v->msg, out.err_insn);
	t->replayed += out.status != K2_RUN_OK && out.err_insn == v->insn;
	k2_window_free(w);
}

/* Candidates: the window with one memory access moved 4096 bytes further. */
static void broken(struct k2_smt_window *sw, struct k2_vm *vm, const struct k2_prog *p,
		   const struct k2_win *w, struct tally *t)
{
	uint32_t n = w->end - w->start;
	struct bpf_insn *c = malloc(n * sizeof(*c));

	for (uint32_t i = 0; i < n; i++) {
		const struct bpf_insn *in = &p->insns[w->start + i];
		uint8_t cls = BPF_CLASS(in->code);
		struct k2_safety_report r;
		struct k2_err e = { 0 };

		if ((cls != BPF_LDX && cls != BPF_STX && cls != BPF_ST) ||
		    BPF_MODE(in->code) != BPF_MEM)
			continue;
		memcpy(c, p->insns + w->start, n * sizeof(*c));
		c[i].off = (int16_t)(c[i].off > 0 ? c[i].off - 4096 : c[i].off + 4096);
		t->cands++;
		cr_assert_eq(k2_smt_window_safe(sw, c, n, &r, &e), 0, "%s", e.msg);
		cr_expect_neq(r.verdict, K2_SAFE, "window %u:%u, insn %u moved: proven safe",
			      w->start, w->end, i);
		t->cand_unsafe += r.verdict == K2_UNSAFE;
		for (uint32_t k = 0; k < r.n; k++)
			if (r.v[k].st) {
				t->with_state++;
				replay(vm, c, n, &r.v[k], t);
				break;
			}
		k2_safety_report_free(&r);
	}
	free(c);
}

static void one(struct k2_smt *s, const char *name, struct tally *t)
{
	char path[512];
	const char *b = getenv("K2_BUILD");
	struct k2_object *obj;
	struct k2_analysis *an;
	struct k2_win_opts wo = { .sz = sizeof(wo), .main_only = true };
	struct k2_win *w;
	struct k2_vm *vm;
	uint32_t nw;
	struct k2_err e = { 0 };

	snprintf(path, sizeof(path), "%s/corpus/%s.o", b && *b ? b : "build", name);
	cr_assert_eq(k2_object_open(path, &obj, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_analysis_new(&obj->progs[0], NULL, &an, &e), 0, "%s", e.msg);
	/* main only: windows of subprograms see their caller's frame, which smt/ refuses */
	cr_assert_eq(k2_wins_select(an, &wo, &w, &nw, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_vm_new(&obj->progs[0], NULL, &vm, &e), 0, "%s", e.msg);
	for (uint32_t i = 0; i < nw; i++) {
		struct k2_smt_window *sw;
		struct k2_safety_report r;

		cr_assert_eq(k2_smt_window_new(s, an, &w[i], &sw, &e), 0, "%s", e.msg);
		cr_assert_eq(k2_smt_window_safe(sw, NULL, 0, &r, &e), 0, "%s", e.msg);
		t->windows++;
		cr_expect_neq(r.verdict, K2_UNSAFE, "%s window %u:%u: %s", name, w[i].start,
			      w[i].end, r.n ? r.v[0].msg : "");
		t->orig_safe += r.verdict == K2_SAFE;
		t->orig_unknown += r.verdict == K2_SAFETY_UNKNOWN;
		if (r.verdict == K2_SAFETY_UNKNOWN)
			printf("%s window %u:%u: %s\n", name, w[i].start, w[i].end, r.reason);
		k2_safety_report_free(&r);
		/* the original as a candidate is safe wherever the original runs */
		cr_assert_eq(k2_smt_window_safe(sw, an->prog->insns + w[i].start,
						w[i].end - w[i].start, &r, &e), 0, "%s", e.msg);
		cr_expect_neq(r.verdict, K2_UNSAFE, "%s window %u:%u as a candidate: %s", name,
			      w[i].start, w[i].end, r.n ? r.v[0].msg : "");
		k2_safety_report_free(&r);
		broken(sw, vm, an->prog, &w[i], t);
		k2_smt_window_free(sw);
	}
	k2_vm_free(vm);
	free(w);
	k2_analysis_free(an);
	k2_object_free(obj);
}

Test(smt_safety_window, corpus_windows, .timeout = 120)
{
	struct k2_smt_opts o = { .sz = sizeof(o), .timeout_ms = 5000 };
	struct k2_smt *s;
	struct k2_err e = { 0 };
	struct tally t = { 0 };

	cr_assert_eq(k2_smt_new(&o, &s, &e), 0, "%s", e.msg);
	for (size_t i = 0; i < sizeof(progs) / sizeof(*progs); i++)
		one(s, progs[i], &t);
	printf("windows %u: safe %u, unknown %u; broken candidates %u: unsafe %u, with a state "
	       "%u, replayed to the failure %u\n",
	       t.windows, t.orig_safe, t.orig_unknown, t.cands, t.cand_unsafe, t.with_state,
	       t.replayed);
	cr_expect_geq(t.orig_safe * 10, t.windows * 9, "%u of %u windows proven safe",
		      t.orig_safe, t.windows);
	cr_expect_geq(t.cand_unsafe * 10, t.cands * 9, "%u of %u broken candidates refuted",
		      t.cand_unsafe, t.cands);
	cr_expect_gt(t.with_state, 0);
	k2_smt_free(s);
}
