/* bpf/absint_ctx.c: the context of each program type: which fields may be read or written. */
#include "bpf/absint_int.h"

#include <asm/ptrace.h>
#include <linux/bpf.h>
#include <stddef.h>

#define R_NARROW (1u << 0) /* reads narrower than the field are allowed (aligned) */
#define W_OK	 (1u << 1) /* the program type may write the field (full size) */
#define AREA	 (1u << 2) /* an array: any aligned access up to 8 bytes inside it */

struct ctx_field {
	const char *name;
	uint16_t off, size;
	uint8_t vtype; /* what a read gives: enum k2_vtype */
	uint8_t flags;
};

#define SKB(f) offsetof(struct __sk_buff, f), sizeof(((struct __sk_buff *)0)->f)
#define XDP(f) offsetof(struct xdp_md, f), sizeof(((struct xdp_md *)0)->f)
#define S      K2_VT_SCALAR

/* XDP: only whole 32-bit reads (the kernel's __is_valid_xdp_access), nothing writable. */
static const struct ctx_field xdp_fields[] = {
	{ "data", XDP(data), K2_VT_PTR_PKT, 0 },
	{ "data_end", XDP(data_end), K2_VT_PTR_PKT_END, 0 },
	{ "data_meta", XDP(data_meta), K2_VT_PTR_PKT_META, 0 },
	{ "ingress_ifindex", XDP(ingress_ifindex), S, 0 },
	{ "rx_queue_index", XDP(rx_queue_index), S, 0 },
	{ "egress_ifindex", XDP(egress_ifindex), S, 0 },
};

/* tc (sched_cls, sched_act): tc_cls_act_is_valid_access + bpf_skb_is_valid_access. */
static const struct ctx_field tc_fields[] = {
	{ "len", SKB(len), S, R_NARROW },
	{ "pkt_type", SKB(pkt_type), S, R_NARROW },
	{ "mark", SKB(mark), S, R_NARROW | W_OK },
	{ "queue_mapping", SKB(queue_mapping), S, R_NARROW | W_OK },
	{ "protocol", SKB(protocol), S, R_NARROW },
	{ "vlan_present", SKB(vlan_present), S, R_NARROW },
	{ "vlan_tci", SKB(vlan_tci), S, R_NARROW },
	{ "vlan_proto", SKB(vlan_proto), S, R_NARROW },
	{ "priority", SKB(priority), S, R_NARROW | W_OK },
	{ "ingress_ifindex", SKB(ingress_ifindex), S, R_NARROW },
	{ "ifindex", SKB(ifindex), S, R_NARROW },
	{ "tc_index", SKB(tc_index), S, R_NARROW | W_OK },
	{ "cb", SKB(cb), S, AREA | W_OK },
	{ "hash", SKB(hash), S, R_NARROW },
	{ "tc_classid", SKB(tc_classid), S, R_NARROW | W_OK },
	{ "data", SKB(data), K2_VT_PTR_PKT, 0 },
	{ "data_end", SKB(data_end), K2_VT_PTR_PKT_END, 0 },
	{ "napi_id", SKB(napi_id), S, R_NARROW },
	{ "data_meta", SKB(data_meta), K2_VT_PTR_PKT_META, 0 },
	{ "tstamp", SKB(tstamp), S, W_OK },
	{ "wire_len", SKB(wire_len), S, R_NARROW },
	{ "gso_segs", SKB(gso_segs), S, R_NARROW },
	{ "sk", SKB(sk), K2_VT_UNKNOWN, 0 },
	{ "gso_size", SKB(gso_size), S, R_NARROW },
	{ "tstamp_type", SKB(tstamp_type), S, 0 },
	{ "hwtstamp", SKB(hwtstamp), S, 0 },
};

/* Socket filters: no direct packet access, only cb[] writable (sk_filter_is_valid_access). */
static const struct ctx_field sock_fields[] = {
	{ "len", SKB(len), S, R_NARROW },
	{ "pkt_type", SKB(pkt_type), S, R_NARROW },
	{ "mark", SKB(mark), S, R_NARROW },
	{ "queue_mapping", SKB(queue_mapping), S, R_NARROW },
	{ "protocol", SKB(protocol), S, R_NARROW },
	{ "vlan_present", SKB(vlan_present), S, R_NARROW },
	{ "vlan_tci", SKB(vlan_tci), S, R_NARROW },
	{ "vlan_proto", SKB(vlan_proto), S, R_NARROW },
	{ "priority", SKB(priority), S, R_NARROW },
	{ "ingress_ifindex", SKB(ingress_ifindex), S, R_NARROW },
	{ "ifindex", SKB(ifindex), S, R_NARROW },
	{ "tc_index", SKB(tc_index), S, R_NARROW },
	{ "cb", SKB(cb), S, AREA | W_OK },
	{ "hash", SKB(hash), S, R_NARROW },
	{ "napi_id", SKB(napi_id), S, R_NARROW },
	{ "gso_segs", SKB(gso_segs), S, R_NARROW },
	{ "sk", SKB(sk), K2_VT_UNKNOWN, 0 },
	{ "gso_size", SKB(gso_size), S, R_NARROW },
};

/* Tracing contexts are read-only byte areas of scalars. */
static const struct ctx_field kprobe_fields[] = {
	{ "regs", 0, sizeof(struct pt_regs), S, AREA },
};
/* struct bpf_perf_event_data: regs, then sample_period and addr. */
static const struct ctx_field perf_fields[] = {
	{ "regs", 0, sizeof(struct pt_regs), S, AREA },
	{ "sample_period", sizeof(struct pt_regs), 8, S, R_NARROW },
	{ "addr", sizeof(struct pt_regs) + 8, 8, S, R_NARROW },
};
/* The first 8 bytes (common fields) are off limits; PERF_MAX_TRACE_SIZE bounds the rest. */
static const struct ctx_field tp_fields[] = {
	{ "args", 8, 2048 - 8, S, AREA },
};
/* fentry/fexit/fmod_ret/LSM: u64 arguments (and fexit's return value) typed by BTF; a whole
 * argument may be a kernel pointer. */
static const struct ctx_field tracing_fields[] = {
	{ "args", 0, 13 * 8, K2_VT_PTR_BTF, AREA },
};
/* Up to MAX_BPF_FUNC_ARGS (12) u64 arguments. */
static const struct ctx_field raw_tp_fields[] = {
	{ "args", 0, 12 * 8, S, AREA },
};

struct ctx_table {
	const struct ctx_field *f;
	uint32_t n;
	uint32_t size;
};

#define TABLE(a, sz)                                                                               \
	{                                                                                          \
		a, sizeof(a) / sizeof(a[0]), sz                                                    \
	}

static struct ctx_table table_of(uint32_t type)
{
	static const struct ctx_table none = { NULL, 0, 0 };

	switch (type) {
	case BPF_PROG_TYPE_XDP: return (struct ctx_table)TABLE(xdp_fields, sizeof(struct xdp_md));
	case BPF_PROG_TYPE_SCHED_CLS:
	case BPF_PROG_TYPE_SCHED_ACT:
		return (struct ctx_table)TABLE(tc_fields, sizeof(struct __sk_buff));
	case BPF_PROG_TYPE_SOCKET_FILTER:
		return (struct ctx_table)TABLE(sock_fields, sizeof(struct __sk_buff));
	case BPF_PROG_TYPE_KPROBE:
		return (struct ctx_table)TABLE(kprobe_fields, sizeof(struct pt_regs));
	case BPF_PROG_TYPE_PERF_EVENT:
		return (struct ctx_table)TABLE(perf_fields, sizeof(struct pt_regs) + 16);
	case BPF_PROG_TYPE_TRACEPOINT: return (struct ctx_table)TABLE(tp_fields, 2048);
	case BPF_PROG_TYPE_TRACING:
	case BPF_PROG_TYPE_LSM: return (struct ctx_table)TABLE(tracing_fields, 13 * 8);
	case BPF_PROG_TYPE_RAW_TRACEPOINT: return (struct ctx_table)TABLE(raw_tp_fields, 12 * 8);
	default: return none;
	}
}

uint32_t k2_ctx_size(uint32_t prog_type)
{
	return table_of(prog_type).size;
}

static bool size_ok(const struct ctx_field *f, int64_t off, uint32_t size, bool write)
{
	int64_t end = (int64_t)f->off + f->size;

	if (size != 1 && size != 2 && size != 4 && size != 8)
		return false;
	if (off % size || off + size > end)
		return false;
	if (write && !(f->flags & W_OK))
		return false;
	if (f->flags & AREA)
		return true;
	if (off == f->off && size == f->size)
		return true;
	return !write && (f->flags & R_NARROW) && size < f->size;
}

const char *k2_ctx_field(uint32_t prog_type, int64_t off, uint32_t size, bool write,
			 enum k2_vtype *type)
{
	struct ctx_table t = table_of(prog_type);

	for (uint32_t i = 0; i < t.n; i++) {
		const struct ctx_field *f = &t.f[i];

		if (off < f->off || off >= (int64_t)f->off + f->size)
			continue;
		if (!size_ok(f, off, size, write))
			return NULL;
		/* A pointer field read in part is no pointer. */
		if (type && (f->flags & AREA))
			*type = size == 8 ? f->vtype : K2_VT_SCALAR;
		else if (type)
			*type = f->vtype == S || (size == f->size && off == f->off) ? f->vtype
										    : K2_VT_SCALAR;
		return f->name;
	}
	return NULL;
}
