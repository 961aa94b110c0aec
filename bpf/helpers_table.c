/* bpf/helpers_table.c: signatures and effects of the helpers the model knows, by id. */
#include "bpf/k2_helpers.h"

#include <linux/bpf.h>
#include <stddef.h>

#define NET (K2_PT(BPF_PROG_TYPE_XDP) | K2_PT(BPF_PROG_TYPE_SOCKET_FILTER) | \
	     K2_PT(BPF_PROG_TYPE_SCHED_CLS) | K2_PT(BPF_PROG_TYPE_SCHED_ACT))
#define TC (K2_PT(BPF_PROG_TYPE_SCHED_CLS) | K2_PT(BPF_PROG_TYPE_SCHED_ACT))
#define XDP K2_PT(BPF_PROG_TYPE_XDP)
#define TRACE (K2_PT(BPF_PROG_TYPE_KPROBE) | K2_PT(BPF_PROG_TYPE_TRACEPOINT) | \
	       K2_PT(BPF_PROG_TYPE_RAW_TRACEPOINT) | K2_PT(BPF_PROG_TYPE_PERF_EVENT))
#define ALL (NET | TRACE)

#define A_ K2_ARG_ANYTHING
#define CTX K2_ARG_CTX
#define MAP K2_ARG_MAP_PTR
#define KEY K2_ARG_MAP_KEY
#define VAL K2_ARG_MAP_VALUE
#define MEM K2_ARG_MEM
#define MEMN K2_ARG_MEM_OR_NULL
#define UMEM K2_ARG_UNINIT_MEM
#define SZ K2_ARG_SIZE
#define SZ0 K2_ARG_SIZE_OR_ZERO
#define NO K2_ARG_NONE

/* id, name, nargs, args, ret, flags, program types. Sorted by id. */
static const struct k2_helper helpers[] = {
	{ BPF_FUNC_map_lookup_elem, "map_lookup_elem", 2, { MAP, KEY }, K2_RET_MAP_VALUE_OR_NULL, 0, ALL },
	{ BPF_FUNC_map_update_elem, "map_update_elem", 4, { MAP, KEY, VAL, A_ }, K2_RET_INTEGER,
	  K2_H_MAP_WRITE, ALL },
	{ BPF_FUNC_map_delete_elem, "map_delete_elem", 2, { MAP, KEY }, K2_RET_INTEGER, K2_H_MAP_WRITE,
	  ALL },
	{ BPF_FUNC_probe_read, "probe_read", 3, { UMEM, SZ0, A_ }, K2_RET_INTEGER,
	  K2_H_NONDET | K2_H_WRITES_MEM, TRACE },
	{ BPF_FUNC_ktime_get_ns, "ktime_get_ns", 0, { 0 }, K2_RET_INTEGER, K2_H_NONDET, ALL },
	/* Arguments 3..5 are format values the verifier does not check. */
	{ BPF_FUNC_trace_printk, "trace_printk", 5, { MEM, SZ, NO, NO, NO }, K2_RET_INTEGER,
	  K2_H_EFFECT, ALL },
	{ BPF_FUNC_get_prandom_u32, "get_prandom_u32", 0, { 0 }, K2_RET_INTEGER, K2_H_NONDET, ALL },
	{ BPF_FUNC_get_smp_processor_id, "get_smp_processor_id", 0, { 0 }, K2_RET_INTEGER,
	  K2_H_NONDET, ALL },
	{ BPF_FUNC_skb_store_bytes, "skb_store_bytes", 5, { CTX, A_, MEM, SZ, A_ }, K2_RET_INTEGER,
	  K2_H_PKT_CHANGE, TC },
	{ BPF_FUNC_l3_csum_replace, "l3_csum_replace", 5, { CTX, A_, A_, A_, A_ }, K2_RET_INTEGER,
	  K2_H_PKT_CHANGE, TC },
	{ BPF_FUNC_l4_csum_replace, "l4_csum_replace", 5, { CTX, A_, A_, A_, A_ }, K2_RET_INTEGER,
	  K2_H_PKT_CHANGE, TC },
	{ BPF_FUNC_tail_call, "tail_call", 3, { CTX, MAP, A_ }, K2_RET_INTEGER,
	  K2_H_TAIL_CALL | K2_H_EFFECT, ALL },
	{ BPF_FUNC_get_current_pid_tgid, "get_current_pid_tgid", 0, { 0 }, K2_RET_INTEGER,
	  K2_H_NONDET, TRACE },
	{ BPF_FUNC_get_current_uid_gid, "get_current_uid_gid", 0, { 0 }, K2_RET_INTEGER,
	  K2_H_NONDET, TRACE },
	{ BPF_FUNC_get_current_comm, "get_current_comm", 2, { UMEM, SZ }, K2_RET_INTEGER,
	  K2_H_NONDET | K2_H_WRITES_MEM, TRACE },
	{ BPF_FUNC_redirect, "redirect", 2, { A_, A_ }, K2_RET_INTEGER, K2_H_EFFECT, XDP | TC },
	{ BPF_FUNC_perf_event_output, "perf_event_output", 5, { CTX, MAP, A_, MEM, SZ0 },
	  K2_RET_INTEGER, K2_H_EFFECT, ALL },
	{ BPF_FUNC_skb_load_bytes, "skb_load_bytes", 4, { CTX, A_, UMEM, SZ }, K2_RET_INTEGER,
	  K2_H_WRITES_MEM, K2_PT(BPF_PROG_TYPE_SOCKET_FILTER) | TC },
	{ BPF_FUNC_csum_diff, "csum_diff", 5, { MEMN, SZ0, MEMN, SZ0, A_ }, K2_RET_INTEGER, 0,
	  XDP | TC },
	{ BPF_FUNC_get_numa_node_id, "get_numa_node_id", 0, { 0 }, K2_RET_INTEGER, K2_H_NONDET, ALL },
	{ BPF_FUNC_xdp_adjust_head, "xdp_adjust_head", 2, { CTX, A_ }, K2_RET_INTEGER,
	  K2_H_PKT_CHANGE, XDP },
	{ BPF_FUNC_redirect_map, "redirect_map", 3, { MAP, A_, A_ }, K2_RET_INTEGER, K2_H_EFFECT, XDP },
	{ BPF_FUNC_xdp_adjust_meta, "xdp_adjust_meta", 2, { CTX, A_ }, K2_RET_INTEGER,
	  K2_H_PKT_CHANGE, XDP },
	{ BPF_FUNC_xdp_adjust_tail, "xdp_adjust_tail", 2, { CTX, A_ }, K2_RET_INTEGER,
	  K2_H_PKT_CHANGE, XDP },
	/* The FIB is outside the program: result and written params come from the input. */
	{ BPF_FUNC_fib_lookup, "fib_lookup", 4, { CTX, MEM, SZ, A_ }, K2_RET_INTEGER,
	  K2_H_NONDET | K2_H_WRITES_MEM, XDP | TC },
	{ BPF_FUNC_get_current_cgroup_id, "get_current_cgroup_id", 0, { 0 }, K2_RET_INTEGER,
	  K2_H_NONDET, TRACE },
	{ BPF_FUNC_probe_read_user, "probe_read_user", 3, { UMEM, SZ0, A_ }, K2_RET_INTEGER,
	  K2_H_NONDET | K2_H_WRITES_MEM, TRACE },
	{ BPF_FUNC_probe_read_kernel, "probe_read_kernel", 3, { UMEM, SZ0, A_ }, K2_RET_INTEGER,
	  K2_H_NONDET | K2_H_WRITES_MEM, TRACE },
	{ BPF_FUNC_jiffies64, "jiffies64", 0, { 0 }, K2_RET_INTEGER, K2_H_NONDET, ALL },
	{ BPF_FUNC_ktime_get_boot_ns, "ktime_get_boot_ns", 0, { 0 }, K2_RET_INTEGER, K2_H_NONDET,
	  ALL },
	{ BPF_FUNC_ringbuf_output, "ringbuf_output", 4, { MAP, MEM, SZ0, A_ }, K2_RET_INTEGER,
	  K2_H_EFFECT, ALL },
	{ BPF_FUNC_ktime_get_coarse_ns, "ktime_get_coarse_ns", 0, { 0 }, K2_RET_INTEGER,
	  K2_H_NONDET, ALL },
};

const struct k2_helper *k2_helper_find(uint32_t id)
{
	size_t lo = 0, hi = sizeof(helpers) / sizeof(helpers[0]);

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (helpers[mid].id == id)
			return &helpers[mid];
		if (helpers[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

bool k2_helper_allowed(const struct k2_helper *h, uint32_t type)
{
	return h && type < 64 && (h->types & K2_PT(type));
}

const struct k2_helper *k2_helper_table(uint32_t *n)
{
	*n = sizeof(helpers) / sizeof(helpers[0]);
	return helpers;
}
