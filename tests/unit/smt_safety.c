/* tests/unit/smt_safety.c: each safety rule, broken once, is refuted at its instruction; inputs replay. */
#include <stdio.h>

#include "smt/k2smt.h"
#include "tests/unit/cfg_prog.h"

struct safety_case {
	const char *name;
	uint32_t type;
	const char *text;
	uint32_t insn;      /* the violation expected */
	enum k2_rule rule;
	bool input;         /* a run shows it (else only the verifier's static rule) */
};

/* r2 = data, r3 = data_end, 14 bytes checked; then the body. */
#define PKT                                                                                        \
	"r2 = *(u32 *)(r1 + 0)\n r3 = *(u32 *)(r1 + 4)\n r4 = r2\n r4 += 14\n"                     \
	"if r4 > r3 goto out\n"
#define OUT "out: r0 = 2\n exit\n"
/* r0 = lookup(map 0 (hash, 4-byte key, 16-byte value), &key on the stack) */
#define LOOKUP "*(u32 *)(r10 - 4) = 0\n r2 = r10\n r2 += -4\n r1 = map[idx:0] ll\n call 1\n"

static const struct safety_case cases[] = {
	{ "stack below the frame", BPF_PROG_TYPE_XDP, "*(u64 *)(r10 - 520) = 1\n r0 = 0\n exit\n",
	  0, K2_RULE_STACK, true },
	{ "stack at a variable offset", BPF_PROG_TYPE_XDP,
	  PKT "r5 = *(u8 *)(r2 + 0)\n r6 = r10\n r6 -= r5\n r6 -= 8\n *(u64 *)(r6 - 256) = 0\n" OUT,
	  9, K2_RULE_STACK, true },
	{ "packet past the check", BPF_PROG_TYPE_XDP, PKT "r0 = *(u32 *)(r2 + 12)\n exit\n" OUT, 5,
	  K2_RULE_PKT, true },
	{ "packet unchecked", BPF_PROG_TYPE_XDP,
	  "r2 = *(u32 *)(r1 + 0)\n r0 = *(u8 *)(r2 + 20)\n exit\n", 1, K2_RULE_PKT, true },
	/* every tc packet has 14 bytes, but the verifier wants to see the check */
	/* rules of the kernel no single run breaks */
	{ "misaligned stack", BPF_PROG_TYPE_XDP,
	  "*(u64 *)(r10 - 8) = 0\n r0 = *(u16 *)(r10 - 7)\n r0 = 0\n exit\n", 1, K2_RULE_STACK,
	  false },
	{ "pointer plus 2^30", BPF_PROG_TYPE_XDP,
	  "r2 = r10\n r2 += 1073741824\n r0 = 0\n exit\n", 1, K2_RULE_PTR, false },
	{ "unreachable code", BPF_PROG_TYPE_XDP, "r0 = 0\n exit\n r0 = 1\n exit\n", 2,
	  K2_RULE_CFG, false },
	{ "packet unchecked but long enough", BPF_PROG_TYPE_SCHED_CLS,
	  "r2 = *(u32 *)(r1 + 76)\n r0 = *(u8 *)(r2 + 0)\n exit\n", 1, K2_RULE_PKT, false },
	{ "ctx offset", BPF_PROG_TYPE_XDP, "r0 = *(u32 *)(r1 + 2)\n exit\n", 0, K2_RULE_CTX,
	  true },
	{ "ctx read-only field", BPF_PROG_TYPE_XDP, "*(u32 *)(r1 + 12) = 0\n r0 = 0\n exit\n", 0,
	  K2_RULE_CTX, true },
	{ "modified ctx", BPF_PROG_TYPE_XDP, "r1 += 4\n r0 = *(u32 *)(r1 + 0)\n exit\n", 1,
	  K2_RULE_CTX, true },
	{ "map value bounds", BPF_PROG_TYPE_XDP,
	  LOOKUP "if r0 == 0 goto out\n r0 = *(u64 *)(r0 + 12)\n exit\n" OUT, 7,
	  K2_RULE_MAP_VALUE, true },
	{ "null not checked", BPF_PROG_TYPE_XDP, LOOKUP "r0 = *(u64 *)(r0 + 0)\n exit\n", 6,
	  K2_RULE_DEREF, true },
	{ "uninitialised register", BPF_PROG_TYPE_XDP, "r0 = r2\n exit\n", 0, K2_RULE_UNINIT,
	  true },
	{ "uninitialised stack", BPF_PROG_TYPE_XDP, "r0 = *(u64 *)(r10 - 8)\n exit\n", 0,
	  K2_RULE_UNINIT, true },
	{ "uninitialised on one path", BPF_PROG_TYPE_XDP,
	  PKT "r5 = *(u8 *)(r2 + 0)\n if r5 == 7 goto skip\n *(u64 *)(r10 - 8) = 1\n"
	      "skip: r0 = *(u64 *)(r10 - 8)\n exit\n" OUT,
	  8, K2_RULE_UNINIT, true },
	{ "pointer returned", BPF_PROG_TYPE_XDP, "r0 = r10\n exit\n", 1, K2_RULE_LEAK, true },
	{ "pointer into a map", BPF_PROG_TYPE_XDP,
	  LOOKUP "if r0 == 0 goto out\n *(u64 *)(r0 + 0) = r10\n r0 = 0\n exit\n" OUT, 7,
	  K2_RULE_LEAK, true },
	{ "pointer into the packet", BPF_PROG_TYPE_XDP,
	  PKT "*(u64 *)(r2 + 0) = r2\n r0 = 0\n exit\n" OUT, 5, K2_RULE_LEAK, true },
	{ "32-bit pointer arithmetic", BPF_PROG_TYPE_XDP,
	  "r2 = r10\n w2 += 1\n r0 = 0\n exit\n", 1, K2_RULE_PTR, true },
	{ "pointer multiplied", BPF_PROG_TYPE_XDP, "r2 = r10\n r2 *= 3\n r0 = 0\n exit\n", 1,
	  K2_RULE_PTR, true },
	{ "pkt_end arithmetic", BPF_PROG_TYPE_XDP,
	  "r3 = *(u32 *)(r1 + 4)\n r3 += 1\n r0 = 0\n exit\n", 1, K2_RULE_PTR, true },
	{ "helper wants a map", BPF_PROG_TYPE_XDP,
	  "*(u32 *)(r10 - 4) = 0\n r2 = r10\n r2 += -4\n r1 = 0\n call 1\n r0 = 0\n exit\n", 4,
	  K2_RULE_HELPER, true },
	{ "helper of another program type", BPF_PROG_TYPE_XDP,
	  "r2 = 0\n r3 = r10\n r3 += -8\n r4 = 4\n call 26\n r0 = 0\n exit\n", 4, K2_RULE_HELPER,
	  true },
};

static struct k2_smt *session(void)
{
	struct k2_smt_opts o = { .sz = sizeof(o), .timeout_ms = 20000 };
	struct k2_smt *s;
	struct k2_err e = { 0 };

	cr_assert_eq(k2_smt_new(&o, &s, &e), 0, "%s", e.msg);
	return s;
}

/* The input of a violation, run again in a fresh interpreter: it must fail at the insn. */
static void replays(const struct k2_prog *p, const struct k2_safety_viol *v)
{
	struct k2_vm *vm;
	struct k2_result res;
	struct k2_err e = { 0 };

	cr_assert_not_null(v->in, "%s: no input kept", v->msg);
	cr_assert_eq(k2_vm_new(p, NULL, &vm, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_vm_run(vm, v->in, &res), 0);
	cr_expect_neq(res.status, K2_RUN_OK, "%s: the input runs cleanly", v->msg);
	cr_expect_eq(res.err_insn, v->insn, "%s: the input fails at insn %u", v->msg,
		     res.err_insn);
	k2_vm_free(vm);
}

Test(smt_safety, each_rule_refuted)
{
	struct k2_smt *s = session();
	static struct pb b;

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		const struct safety_case *c = &cases[i];
		struct k2_safety_report r;
		struct k2_err e = { 0 };
		const struct k2_safety_viol *hit = NULL;
		struct k2_prog *p;

		pb_asm(&b, c->text);
		pb_map(&b, 0, BPF_MAP_TYPE_HASH, 4, 16);
		p = pb_prog(&b, c->type, 1);
		cr_assert_eq(k2_smt_safety_prog(s, p, NULL, &r, &e), 0, "%s: %s", c->name, e.msg);
		for (uint32_t k = 0; k < r.n && !hit; k++)
			if (r.v[k].insn == c->insn && r.v[k].has_input == c->input)
				hit = &r.v[k];
		cr_expect_eq(r.verdict, K2_UNSAFE, "%s: %s (%s)", c->name,
			     k2_safety_name(r.verdict), r.reason);
		cr_expect_not_null(hit, "%s: no %s violation at insn %u (first: %s)", c->name,
				   c->input ? "dynamic" : "static", c->insn,
				   r.n ? r.v[0].msg : "none");
		if (hit) {
			cr_expect_eq(hit->rule, c->rule, "%s: rule %s, want %s (%s)", c->name,
				     k2_rule_name(hit->rule), k2_rule_name(c->rule), hit->msg);
			if (hit->has_input)
				replays(p, hit);
		}
		k2_safety_report_free(&r);
	}
	k2_smt_free(s);
}

/*
 * Code the analysis proves dead after a division (which Linux 6.18's verifier does not
 * bound) may be walked by the verifier: no proof either way.
 */
Test(smt_safety, dead_code_the_verifier_walks)
{
	struct k2_smt *s = session();
	static struct pb b;
	struct k2_safety_report r;
	struct k2_err e = { 0 };

	pb_asm(&b, "r1 = 7\n r1 /= 3\n if r1 != 2 goto bad\n r0 = 0\n exit\n"
		   "bad: r0 = *(u64 *)(r10 - 520)\n exit\n");
	cr_assert_eq(k2_smt_safety_prog(s, pb_prog(&b, BPF_PROG_TYPE_XDP, 0), NULL, &r, &e), 0,
		     "%s", e.msg);
	cr_expect_eq(r.verdict, K2_SAFETY_UNKNOWN, "%s: %s", k2_safety_name(r.verdict), r.reason);
	cr_expect(strstr(r.reason, "insn 5"), "%s", r.reason);
	k2_safety_report_free(&r);
	k2_smt_free(s);
}

/* A clean program is proven safe, with nothing reported. */
Test(smt_safety, clean_program_safe)
{
	struct k2_smt *s = session();
	static struct pb b;
	struct k2_safety_report r;
	struct k2_err e = { 0 };

	pb_asm(&b, PKT "r0 = *(u16 *)(r2 + 12)\n *(u64 *)(r10 - 8) = r0\n"
		   "r0 = *(u8 *)(r10 - 8)\n exit\n" OUT);
	cr_assert_eq(k2_smt_safety_prog(s, pb_prog(&b, BPF_PROG_TYPE_XDP, 0), NULL, &r, &e), 0,
		     "%s", e.msg);
	cr_expect_eq(r.verdict, K2_SAFE, "%s: %s", k2_safety_name(r.verdict),
		     r.n ? r.v[0].msg : r.reason);
	cr_expect_eq(r.n, 0);
	k2_safety_report_free(&r);
	k2_smt_free(s);
}
