/* tests/kernel/bench_verify.c: the verifier as a safety check: verdicts, logs, statistics. */
#include "tests/kernel/bench_util.h"

static const char good_text[] = "r0 = 1\n"
				"r2 = *(u32 *)(r1 + 0)\n"
				"r3 = *(u32 *)(r1 + 4)\n"
				"r4 = r2\n"
				"r4 += 14\n"
				"if r4 > r3 goto out\n"
				"r0 = *(u8 *)(r2 + 13)\n"
				"r0 &= 3\n"
				"out:\n"
				"exit\n";

Test(bench_verify, original_and_candidates)
{
	struct k2_prog orig = bench_prog("vfy_orig", good_text);
	struct k2_prog shorter = bench_prog("vfy_good", "r0 = 2\nexit\n");
	/* reads the packet without a bounds check */
	struct k2_prog unsafe = bench_prog("vfy_bad", "r2 = *(u32 *)(r1 + 0)\n"
						      "r0 = *(u8 *)(r2 + 13)\nexit\n");
	struct k2_bench_cand c[2] = {
		{ .insns = shorter.insns, .n_insns = shorter.n_insns, .source = "good" },
		{ .insns = unsafe.insns, .n_insns = unsafe.n_insns, .source = "bad" },
	};
	struct k2_verify_rec r[3];
	struct k2_err e = { 0 };

	bench_need_kernel();
	cr_assert_eq(k2_verify_candidates(&orig, c, 2, r, &e), 0, "%s", e.msg);
	cr_assert_eq(r[0].verdict, K2_VERDICT_ACCEPTED, "%s", r[0].reason);
	cr_assert_eq(r[0].n_insns, orig.n_insns);
	cr_assert_geq(r[0].verified_insns, 8, "verified_insns %u", r[0].verified_insns);
	cr_assert_gt(r[0].load_us, 0);
	cr_assert_gt(r[0].jited_len, 0);
	cr_assert_null(r[0].log);
	cr_assert_eq(r[1].verdict, K2_VERDICT_ACCEPTED, "%s", r[1].reason);
	cr_assert_eq(r[1].verified_insns, 2);
	cr_assert_eq(r[2].verdict, K2_VERDICT_REJECTED);
	cr_assert_lt(r[2].err, 0);
	cr_assert_not_null(r[2].log);
	/* the log is the kernel's: the instruction and the reason */
	cr_assert(strstr(r[2].log, "invalid access to packet") || strstr(r[2].log, "R2"),
		  "log: %s", r[2].log);
	cr_assert(strstr(r[2].reason, "insn 1"), "reason: %s", r[2].reason);
	for (int i = 0; i < 3; i++)
		k2_verify_rec_clear(&r[i]);
	free(orig.insns);
	free(shorter.insns);
	free(unsafe.insns);
}

Test(bench_verify, corpus_object_against_itself)
{
	const char *b = getenv("K2_BUILD");
	char path[4096];
	struct k2_object *obj;
	struct k2_verify_rec r[2];
	struct k2_err e = { 0 };
	struct k2_prog *p;
	struct k2_bench_cand c;

	bench_need_kernel();
	snprintf(path, sizeof(path), "%s/corpus/xdp_firewall.o", b && *b ? b : "build");
	cr_assert_eq(k2_object_open(path, &obj, &e), 0, "%s", e.msg);
	p = k2_object_prog(obj, NULL);
	c = (struct k2_bench_cand){ .insns = p->insns, .n_insns = p->n_insns };
	/* maps created from the object, relocations in fd_array form, a bpf-to-bpf call */
	cr_assert_eq(k2_verify_candidates(p, &c, 1, r, &e), 0, "%s", e.msg);
	cr_assert_eq(r[0].verdict, K2_VERDICT_ACCEPTED, "%s", r[0].reason);
	cr_assert_eq(r[1].verdict, K2_VERDICT_ACCEPTED, "%s", r[1].reason);
	cr_assert_eq(r[0].verified_insns, r[1].verified_insns);
	k2_verify_rec_clear(&r[0]);
	k2_verify_rec_clear(&r[1]);
	k2_object_free(obj);
}

Test(bench_verify, session_records_rejections)
{
	struct k2_prog orig = bench_prog("vfy_orig", good_text);
	struct k2_prog loop = bench_prog("vfy_uninit", "r1 = 0\nr0 = r5\nexit\n");
	struct k2_bench_cand c = { .insns = loop.insns, .n_insns = loop.n_insns, .windows = "1-2" };
	struct k2_bench *b;
	struct k2_err e = { 0 };
	uint32_t id = 0;
	K2_BENCH_OPTS(o, .pin = K2_PIN_NONE, .packets = 1);

	bench_need_kernel();
	cr_assert_eq(k2_bench_new(&orig, &o, &b, &e), 0, "%s", e.msg);
	cr_assert_null(k2_bench_off(b));
	cr_assert_eq(k2_bench_add(b, &c, &id, &e), 0, "%s", e.msg);
	cr_assert_eq(id, 1);
	cr_assert_eq(k2_bench_prog(b, 1)->vr.verdict, K2_VERDICT_REJECTED);
	cr_assert_str_eq(k2_bench_prog(b, 1)->windows, "1-2");
	cr_assert(strstr(k2_bench_prog(b, 1)->vr.log, "R5 !read_ok"), "log: %s",
		  k2_bench_prog(b, 1)->vr.log);
	cr_assert(strstr(k2_bench_prog(b, 1)->vr.reason, "insn 1"), "%s",
		  k2_bench_prog(b, 1)->vr.reason);
	/* rejected programs are not measured */
	cr_assert_eq(k2_bench_measure(b, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_bench_prog(b, 1)->n_samples, 0);
	cr_assert_gt(k2_bench_prog(b, 0)->n_samples, 0);
	k2_bench_free(b);
	free(orig.insns);
	free(loop.insns);
}
