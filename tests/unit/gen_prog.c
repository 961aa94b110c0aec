/* tests/unit/gen_prog.c: the program and input generators: reproducible, well formed, in bounds. */
#include <criterion/criterion.h>
#include <string.h>

#include "bpf/k2_gen.h"

static struct k2_gen_prog *gen(uint64_t seed, uint32_t type, enum k2_isa isa)
{
	struct k2_gen_opts o = { .sz = sizeof(o), .prog_type = type, .isa = isa, .nondet = true };
	struct k2_gen_prog *gp;
	struct k2_err e = { 0 };
	struct k2_rng rng;

	k2_rng_seed(&rng, seed);
	cr_assert_eq(k2_gen_prog_new(&rng, &o, &gp, &e), 0, "%s", e.msg);
	return gp;
}

Test(gen_prog, same_seed_same_program)
{
	for (uint64_t s = 0; s < 50; s++) {
		struct k2_gen_prog *a = gen(s, BPF_PROG_TYPE_XDP, K2_ISA_V4);
		struct k2_gen_prog *b = gen(s, BPF_PROG_TYPE_XDP, K2_ISA_V4);

		cr_assert_eq(a->prog.n_insns, b->prog.n_insns);
		cr_assert_eq(memcmp(a->prog.insns, b->prog.insns,
				    a->prog.n_insns * sizeof(struct bpf_insn)),
			     0);
		cr_assert_eq(a->n_maps, b->n_maps);
		k2_gen_prog_free(a);
		k2_gen_prog_free(b);
	}
}

Test(gen_prog, programs_pass_the_structural_check_at_their_isa)
{
	static const uint32_t types[] = { BPF_PROG_TYPE_XDP, BPF_PROG_TYPE_SCHED_CLS,
					  BPF_PROG_TYPE_SOCKET_FILTER };

	for (uint64_t s = 0; s < 600; s++) {
		enum k2_isa isa = (enum k2_isa)(1 + s % 4);
		struct k2_gen_prog *gp = gen(s, types[s % 3], isa);
		struct k2_check_opts co = { .sz = sizeof(co), .max_isa = isa };
		struct k2_err e = { 0 };

		cr_assert_eq(k2_insns_check(gp->prog.insns, gp->prog.n_insns, &co, &e), 0,
			     "seed %llu: %s", (unsigned long long)s, e.msg);
		cr_assert_eq(gp->prog.maps, gp->maps);
		for (uint32_t i = 0; i < gp->prog.n_insns; i++) {
			const struct bpf_insn *in = &gp->prog.insns[i];

			if (in->code == (BPF_LD | BPF_IMM | BPF_DW) && in->src_reg)
				cr_assert_lt((uint32_t)in->imm, gp->n_maps);
			if ((in->code & ~BPF_CLASS(0xff)) == (BPF_JNE | BPF_K) && in->off < 0)
				continue; /* loop back edges are the only backward jumps */
			if (BPF_CLASS(in->code) == BPF_JMP || BPF_CLASS(in->code) == BPF_JMP32)
				if (BPF_OP(in->code) != BPF_CALL && BPF_OP(in->code) != BPF_EXIT)
					cr_assert_geq(k2_insn_target(in, i), (long)i,
						      "seed %llu insn %u jumps back",
						      (unsigned long long)s, i);
		}
		k2_gen_prog_free(gp);
	}
}

Test(gen_prog, default_mix_uses_every_class)
{
	bool seen_atomic = false, seen_loop = false, seen_call = false, seen_pkt = false;

	for (uint64_t s = 0; s < 200; s++) {
		struct k2_gen_prog *gp = gen(s, BPF_PROG_TYPE_XDP, K2_ISA_V4);

		for (uint32_t i = 0; i < gp->prog.n_insns; i++) {
			const struct bpf_insn *in = &gp->prog.insns[i];
			const struct k2_opinfo *oi = k2_op_info(k2_insn_op(in));

			seen_atomic |= oi->kind == K2_KIND_ATOMIC;
			seen_loop |= oi->kind == K2_KIND_JMP && in->off < 0;
			seen_call |=
				oi->kind == K2_KIND_CALL && in->imm != BPF_FUNC_map_lookup_elem;
			seen_pkt |= oi->kind == K2_KIND_JMP && oi->flags & K2_F_RD_SRC &&
				    (in->code & 0xf0) == BPF_JGT;
		}
		k2_gen_prog_free(gp);
	}
	cr_expect(seen_atomic && seen_loop && seen_call && seen_pkt);
}

Test(gen_prog, inputs_are_in_bounds_and_derived)
{
	static struct k2_input in;
	struct k2_rng rng;

	k2_rng_seed(&rng, 5);
	for (int i = 0; i < 2000; i++) {
		uint32_t type = i % 2 ? BPF_PROG_TYPE_SCHED_CLS : BPF_PROG_TYPE_XDP;
		const struct __sk_buff *skb = (const struct __sk_buff *)in.ctx;

		k2_gen_input(&rng, type, NULL, &in);
		cr_assert_geq(in.pkt_len, 14u);
		cr_assert_leq(in.pkt_len, (uint32_t)K2_PKT_MAX + 32); /* + XDP metadata */
		cr_assert_leq(in.ctx_len, (uint32_t)K2_CTX_MAX);
		if (type == BPF_PROG_TYPE_SCHED_CLS) {
			cr_assert_eq(skb->len, in.pkt_len);
			cr_assert_geq(skb->wire_len, skb->len);
			if (in.pkt[12] >= 6) /* an Ethernet II type, as skb->protocol keeps it */
				cr_assert_eq(skb->protocol,
					     (uint32_t)(in.pkt[13] << 8 | in.pkt[12]));
		}
	}
}
