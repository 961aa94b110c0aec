/* tests/kernel/kern_ctx.c: the context k2_gen_input() describes is the one the kernel presents. */
#include <bpf/bpf.h>
#include <criterion/criterion.h>
#include <string.h>

#include "bpf/k2_gen.h"
#include "kernel_bench/k2_kern.h"

struct field {
	const char *name;
	uint16_t off;
	uint8_t size;
	bool tc_only;
};

#define F(f, tc) { #f, offsetof(struct __sk_buff, f), sizeof(((struct __sk_buff *)0)->f), tc }
#define CB(i) { "cb[" #i "]", offsetof(struct __sk_buff, cb[i]), 4, false }

static const struct field skb_fields[] = {
	F(len, false), F(pkt_type, false), F(mark, false), F(queue_mapping, false),
	F(protocol, false), F(vlan_present, false), F(vlan_tci, false), F(vlan_proto, false),
	F(priority, false), F(ingress_ifindex, false), F(ifindex, false), F(tc_index, false),
	CB(0), CB(1), CB(2), CB(3), CB(4), F(hash, false), F(tc_classid, true),
	F(wire_len, true), F(gso_segs, false), F(gso_size, false), F(tstamp, true),
	F(hwtstamp, true),
};
#define NF (sizeof(skb_fields) / sizeof(skb_fields[0]))

static void need_kernel(void)
{
	struct k2_err e = { 0 };

	if (k2_kern_probe(&e))
		cr_skip_test("kernel tests skipped: %s", e.msg);
}

/* r6 = ctx; r7 = &out[0]; out[i] = ctx->field_i ...; r0 = 0 */
static uint32_t build(struct bpf_insn *p, uint32_t type)
{
	uint32_t n = 0;

	n += (uint32_t)k2_insn_encode(K2_OP_MOV64_X, 6, 1, 0, 0, &p[n]);
	n += (uint32_t)k2_insn_encode(K2_OP_LDDW_MAP_IDX_VALUE, 7, 0, 0, 0, &p[n]);
	for (uint32_t i = 0; i < NF; i++) {
		const struct field *f = &skb_fields[i];

		if (f->tc_only && type != BPF_PROG_TYPE_SCHED_CLS)
			continue;
		n += (uint32_t)k2_insn_encode(f->size == 8 ? K2_OP_LDXDW : K2_OP_LDXW, 2, 6,
					      (int16_t)f->off, 0, &p[n]);
		n += (uint32_t)k2_insn_encode(K2_OP_STXDW, 7, 2, (int16_t)(8 * i), 0, &p[n]);
	}
	n += (uint32_t)k2_insn_encode(K2_OP_MOV64_K, 0, 0, 0, 0, &p[n]);
	n += (uint32_t)k2_insn_encode(K2_OP_EXIT, 0, 0, 0, 0, &p[n]);
	return n;
}

static void check_type(uint32_t type, const char *sec)
{
	struct bpf_insn insns[4 + 2 * NF + 4];
	struct k2_map map = { .name = "out", .type = BPF_MAP_TYPE_ARRAY, .key_size = 4,
			      .value_size = 8 * NF, .max_entries = 1, .inner = -1 };
	struct k2_prog p = { .type = type, .maps = &map, .n_maps = 1, .license = "GPL" };
	struct k2_kern_maps *km;
	struct k2_kern_prog *kp;
	struct k2_err e = { 0 };
	struct k2_rng rng;
	static struct k2_input in;

	need_kernel();
	snprintf(p.name, sizeof(p.name), "ctx_probe");
	snprintf(p.sec, sizeof(p.sec), "%s", sec);
	p.insns = insns;
	p.n_insns = p.n_main = build(insns, type);
	cr_assert_eq(k2_kern_maps_create(&map, 1, &km, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_kern_prog_load(&p, km, NULL, &kp, &e), 0, "%s", e.msg);
	k2_rng_seed(&rng, 42 + type);
	for (int t = 0; t < 300; t++) {
		struct k2_kern_result res;
		uint64_t out[NF];
		uint32_t zero = 0;
		const uint8_t *ctx = in.ctx;

		k2_gen_input(&rng, type, NULL, &in);
		cr_assert_eq(k2_kern_run(kp, &in, NULL, &res, &e), 0, "%s", e.msg);
		cr_assert_eq(bpf_map_lookup_elem(k2_kern_maps_fd(km, 0), &zero, out), 0);
		for (uint32_t i = 0; i < NF; i++) {
			const struct field *f = &skb_fields[i];
			uint64_t want = 0;

			if (f->tc_only && type != BPF_PROG_TYPE_SCHED_CLS)
				continue;
			memcpy(&want, ctx + f->off, f->size);
			cr_assert_eq(
				out[i], want,
				"%s: input %d (%u bytes, type %02x%02x, dst %02x..): field %s: "
				"kernel 0x%llx, generated 0x%llx",
				sec, t, in.pkt_len, in.pkt[12], in.pkt[13], in.pkt[0], f->name,
				(unsigned long long)out[i], (unsigned long long)want);
		}
	}
	k2_kern_prog_free(kp);
	k2_kern_maps_free(km);
}

Test(kern_ctx, tc_fields_match_the_kernel)
{
	check_type(BPF_PROG_TYPE_SCHED_CLS, "tc");
}

Test(kern_ctx, socket_filter_fields_match_the_kernel)
{
	check_type(BPF_PROG_TYPE_SOCKET_FILTER, "socket");
}

Test(kern_ctx, xdp_fields_match_the_kernel)
{
	/* r0 = ctx->ingress_ifindex << 16 | ctx->rx_queue_index << 12 | (data_end - data) */
	const struct bpf_insn insns[] = {
		{ BPF_LDX | BPF_MEM | BPF_W, 2, 1, offsetof(struct xdp_md, ingress_ifindex), 0 },
		{ BPF_ALU64 | BPF_LSH | BPF_K, 2, 0, 0, 16 },
		{ BPF_LDX | BPF_MEM | BPF_W, 3, 1, offsetof(struct xdp_md, rx_queue_index), 0 },
		{ BPF_ALU64 | BPF_LSH | BPF_K, 3, 0, 0, 12 },
		{ BPF_LDX | BPF_MEM | BPF_W, 4, 1, offsetof(struct xdp_md, data), 0 },
		{ BPF_LDX | BPF_MEM | BPF_W, 0, 1, offsetof(struct xdp_md, data_end), 0 },
		{ BPF_ALU64 | BPF_SUB | BPF_X, 0, 4, 0, 0 },
		{ BPF_ALU64 | BPF_OR | BPF_X, 0, 2, 0, 0 },
		{ BPF_ALU64 | BPF_OR | BPF_X, 0, 3, 0, 0 },
		{ BPF_JMP | BPF_EXIT, 0, 0, 0, 0 },
	};
	struct k2_prog p = { .name = "xdp_ctx", .sec = "xdp", .type = BPF_PROG_TYPE_XDP,
			     .insns = (struct bpf_insn *)insns, .n_insns = 10, .n_main = 10 };
	struct k2_kern_prog *kp;
	struct k2_err e = { 0 };
	struct k2_rng rng;
	static struct k2_input in;

	need_kernel();
	cr_assert_eq(k2_kern_prog_load(&p, NULL, NULL, &kp, &e), 0, "%s", e.msg);
	k2_rng_seed(&rng, 7);
	for (int t = 0; t < 300; t++) {
		struct k2_kern_result res;
		const struct xdp_md *md = (const struct xdp_md *)in.ctx;

		k2_gen_input(&rng, BPF_PROG_TYPE_XDP, NULL, &in);
		cr_assert_eq(k2_kern_run(kp, &in, NULL, &res, &e), 0, "%s", e.msg);
		cr_assert_eq(res.retval, md->ingress_ifindex << 16 | md->rx_queue_index << 12 |
					 (md->data_end - md->data));
		cr_assert_eq(res.pkt_len, in.pkt_len);
	}
	k2_kern_prog_free(kp);
}
