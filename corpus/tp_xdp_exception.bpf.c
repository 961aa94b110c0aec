/* corpus/tp_xdp_exception.bpf.c: tracepoint xdp/xdp_exception: counts by action, events to perf. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

/* Layout of /sys/kernel/tracing/events/xdp/xdp_exception/format. */
struct xdp_exception_args {
	__u16 common_type;
	__u8 common_flags;
	__u8 common_preempt_count;
	__s32 common_pid;
	__s32 prog_id;
	__u32 act;
	__s32 ifindex;
};

/* XDP_ABORTED .. XDP_REDIRECT, then one slot for actions this kernel does not know. */
#define ACT_SLOTS (XDP_REDIRECT + 2)

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ACT_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} exceptions SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

struct exception_event {
	__u64 ts_ns;
	__s32 prog_id;
	__u32 act;
	__s32 ifindex;
	__u32 cpu;
};

SEC("tracepoint/xdp/xdp_exception")
int tp_xdp_exception(struct xdp_exception_args *ctx)
{
	struct exception_event ev;
	__u32 slot = ctx->act;
	__u64 *n;

	if (slot > XDP_REDIRECT)
		slot = ACT_SLOTS - 1;
	n = bpf_map_lookup_elem(&exceptions, &slot);
	if (n)
		*n += 1;
	/* Aborts are bugs in an XDP program: report each one, count the rest only. */
	if (ctx->act != XDP_ABORTED)
		return 0;
	ev.ts_ns = bpf_ktime_get_ns();
	ev.prog_id = ctx->prog_id;
	ev.act = ctx->act;
	ev.ifindex = ctx->ifindex;
	ev.cpu = bpf_get_smp_processor_id();
	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &ev, sizeof(ev));
	return 0;
}
