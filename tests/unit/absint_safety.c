/* tests/unit/absint_safety.c: each verifier rule, broken once, is reported as it should. */
#include "tests/unit/cfg_prog.h"

struct rule_case {
	const char *name;
	uint32_t type;
	const char *text;
	const char *want; /* substring of the first violation; NULL: none expected */
};

/* r2 = data, r3 = data_end, 14 bytes checked; then the body. */
#define PKT                                                                                        \
	"r2 = *(u32 *)(r1 + 0)\n r3 = *(u32 *)(r1 + 4)\n r4 = r2\n r4 += 14\n"                     \
	"if r4 > r3 goto out\n"
#define OUT "out: r0 = 2\n exit\n"
/* r0 = lookup(map 0 (hash, 4-byte key, 16-byte value), &key on the stack) */
#define LOOKUP "*(u32 *)(r10 - 4) = 0\n r2 = r10\n r2 += -4\n r1 = map[idx:0] ll\n call 1\n"

static const struct rule_case cases[] = {
	{ "clean", BPF_PROG_TYPE_XDP, PKT "r5 = *(u16 *)(r2 + 12)\n" OUT, NULL },
	{ "stack below the frame", BPF_PROG_TYPE_XDP, "*(u64 *)(r10 - 520) = 1\n r0 = 0\n exit\n",
	  "invalid stack off=-520 size=8" },
	{ "stack above r10", BPF_PROG_TYPE_XDP, "r0 = *(u32 *)(r10 - 2)\n exit\n",
	  "invalid stack off=-2 size=4" },
	{ "misaligned stack", BPF_PROG_TYPE_XDP, "*(u64 *)(r10 - 12) = 0\n r0 = 0\n exit\n",
	  "misaligned stack access off=-12 size=8" },
	{ "subtraction from r10", BPF_PROG_TYPE_XDP,
	  "r2 = r10\n r2 -= 8\n *(u64 *)(r2 + 0) = 0\n r0 = 0\n exit\n",
	  "insn 1: R2 subtraction from stack pointer prohibited" },
	{ "unchecked packet", BPF_PROG_TYPE_XDP,
	  "r2 = *(u32 *)(r1 + 0)\n r0 = *(u8 *)(r2 + 0)\n exit\n",
	  "insn 1: invalid access to packet, off=0 size=1, R2(id=0,off=0,r=0)" },
	{ "packet past the check", BPF_PROG_TYPE_XDP, PKT "r5 = *(u32 *)(r2 + 12)\n" OUT,
	  "insn 5: invalid access to packet, off=12 size=4" },
	{ "negative packet offset", BPF_PROG_TYPE_XDP, PKT "r5 = *(u8 *)(r2 - 1)\n" OUT,
	  "invalid access to packet, off=-1" },
	{ "pkt_end arithmetic", BPF_PROG_TYPE_XDP,
	  "r3 = *(u32 *)(r1 + 4)\n r3 += 1\n r0 = 0\n exit\n",
	  "insn 1: R3 pointer arithmetic on pkt_end prohibited" },
	{ "32-bit pointer arithmetic", BPF_PROG_TYPE_XDP,
	  "r2 = *(u32 *)(r1 + 0)\n w2 += 1\n r0 = 0\n exit\n",
	  "insn 1: R2 32-bit pointer arithmetic prohibited" },
	{ "bitwise on a pointer", BPF_PROG_TYPE_XDP, "r2 = r10\n r2 &= 7\n r0 = 0\n exit\n",
	  "insn 1: R2 and64_k on pointer prohibited" },
	{ "modified ctx", BPF_PROG_TYPE_XDP, "r1 += 4\n r0 = *(u32 *)(r1 + 0)\n exit\n",
	  "insn 1: dereference of modified ctx ptr R1 off=4 disallowed" },
	{ "ctx offset", BPF_PROG_TYPE_XDP, "r0 = *(u32 *)(r1 + 2)\n exit\n",
	  "insn 0: invalid bpf_context access off=2 size=4" },
	{ "ctx write", BPF_PROG_TYPE_XDP, "*(u32 *)(r1 + 12) = 0\n r0 = 0\n exit\n",
	  "insn 0: invalid bpf_context access off=12 size=4" },
	{ "null not checked", BPF_PROG_TYPE_XDP, LOOKUP "r0 = *(u64 *)(r0 + 0)\n exit\n",
	  "insn 6: invalid mem access 'map_value_or_null'" },
	{ "map value bounds", BPF_PROG_TYPE_XDP,
	  LOOKUP "if r0 == 0 goto out\n r0 = *(u64 *)(r0 + 12)\n" OUT,
	  "insn 7: invalid access to map value, value_size=16 off=12 size=8" },
	{ "read-only map", BPF_PROG_TYPE_XDP,
	  "r1 = map[idx:1][0]+0 ll\n *(u32 *)(r1 + 0) = 1\n r0 = 0\n exit\n",
	  "insn 2: write into map forbidden" },
	{ "pointer into a map", BPF_PROG_TYPE_XDP,
	  LOOKUP "if r0 == 0 goto out\n *(u64 *)(r0 + 0) = r10\n" OUT,
	  "insn 7: R10 leaks addr into map" },
	{ "pointer into the packet", BPF_PROG_TYPE_XDP, PKT "*(u64 *)(r2 + 0) = r2\n" OUT,
	  "insn 5: R2 leaks addr into packet" },
	{ "pointer returned", BPF_PROG_TYPE_XDP, "r0 = r10\n exit\n",
	  "insn 1: At program exit the register R0 is not a known value (fp+0)" },
	{ "uninitialized register", BPF_PROG_TYPE_XDP, "r0 = r5\n exit\n", "insn 0: R5 !read_ok" },
	{ "uninitialized r0", BPF_PROG_TYPE_XDP, "exit\n", "insn 0: R0 !read_ok" },
	{ "spill of part of a pointer", BPF_PROG_TYPE_XDP,
	  "*(u32 *)(r10 - 8) = r1\n r0 = 0\n exit\n", "insn 0: invalid size of register spill" },
	{ "helper for another type", BPF_PROG_TYPE_XDP,
	  "r2 = 0\n r3 = 0\n r4 = 0\n call 26\n r0 = 0\n exit\n",
	  "insn 3: program of this type cannot use helper skb_load_bytes#26" },
	{ "helper wants ctx", BPF_PROG_TYPE_XDP, "r1 = 0\n r2 = 4\n call 44\n r0 = 0\n exit\n",
	  "insn 2: R1 type=scalar expected=ctx" },
	{ "helper wants a map", BPF_PROG_TYPE_XDP,
	  "r1 = 0\n r2 = r10\n r2 += -4\n *(u32 *)(r10 - 4) = 0\n call 1\n r0 = 0\n exit\n",
	  "insn 4: R1 type=scalar expected=map_ptr" },
	{ "key outside the stack", BPF_PROG_TYPE_XDP,
	  "r2 = r10\n r2 += -2\n r1 = map[idx:0] ll\n call 1\n r0 = 0\n exit\n",
	  "insn 4: invalid indirect access to fp R2 off=-2 size=4" },
	{ "legacy load needs skb in r6", BPF_PROG_TYPE_SOCKET_FILTER,
	  "r0 = *(u8 *)skb[12]\n exit\n", "at the time of BPF_LD_ABS|IND R6 != pointer to skb" },
	{ "legacy load in xdp", BPF_PROG_TYPE_XDP, "r6 = r1\n r0 = *(u8 *)skb[12]\n exit\n",
	  "not allowed for this program type" },
	{ "legacy load ok", BPF_PROG_TYPE_SOCKET_FILTER, "r6 = r1\n r0 = *(u16 *)skb[12]\n exit\n",
	  NULL },
	{ "dead branch is not checked", BPF_PROG_TYPE_XDP,
	  "r2 = 0\n if r2 != 0 goto bad\n r0 = 0\n exit\nbad: r0 = *(u64 *)(r2 + 0)\n exit\n",
	  NULL },
};

static bool has_viol(const struct k2_analysis *an, const char *want)
{
	for (uint32_t k = 0; k < pb_n_viol(an); k++)
		if (strstr(pb_viol(an, k), want))
			return true;
	return false;
}

Test(absint_safety, every_rule_is_reported_where_broken)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct rule_case *c = &cases[i];
		struct pb p;
		struct k2_analysis *an;

		pb_map(&p, 0, BPF_MAP_TYPE_HASH, 4, 16);
		pb_map(&p, 1, BPF_MAP_TYPE_ARRAY, 4, 8);
		p.maps[1].readonly = true;
		p.maps[1].internal = true;
		an = pb_analyze(&p, c->type, 2, c->text);
		if (!c->want)
			cr_expect_eq(pb_n_viol(an), 0, "%s: %s", c->name, pb_viol(an, 0));
		else
			cr_expect(has_viol(an, c->want), "%s: got '%s', want '%s'", c->name,
				  pb_viol(an, 0), c->want);
		k2_analysis_free(an);
	}
}

Test(absint_safety, unsafe_accesses_say_why)
{
	struct pb p;
	struct k2_analysis *an = pb_analyze(&p, BPF_PROG_TYPE_XDP, 0,
					    "r2 = *(u32 *)(r1 + 0)\n r0 = *(u8 *)(r2 + 0)\n r3 = "
					    "5\n r0 = *(u8 *)(r3 + 0)\n exit\n");
	const struct k2_access *a = k2_absint_access(an->ai, 1), *b = k2_absint_access(an->ai, 3);

	cr_expect_eq(a->region, K2_MEM_PKT);
	cr_expect_not(a->flags & K2_ACC_SAFE);
	cr_expect_not_null(a->why);
	cr_expect_eq(b->region, K2_MEM_UNKNOWN);
	cr_expect_str_eq(b->why, "access through a scalar");
	k2_analysis_free(an);
}
