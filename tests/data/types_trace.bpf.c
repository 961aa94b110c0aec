/* tests/data/types_trace.bpf.c: program types by section name (kprobe, ..., xdp.frags). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 256);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} ring SEC(".maps");

/* a local view of the kernel's struct, relocated by CO-RE at load time */
struct task_struct {
	int pid;
	int tgid;
} __attribute__((preserve_access_index));

static __always_inline void note(__u32 what)
{
	__u64 one = 1, *v = bpf_map_lookup_elem(&events, &what);

	if (v)
		*v += 1;
	else
		bpf_map_update_elem(&events, &what, &one, BPF_ANY);
}

SEC("kprobe/do_nanosleep")
int kp_sleep(void *ctx)
{
	struct task_struct *t = (void *)bpf_get_current_task();
	int pid = BPF_CORE_READ(t, pid);

	note(pid & 0xff);
	return 0;
}

SEC("kretprobe/do_nanosleep")
int krp_sleep(void *ctx)
{
	note(1);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_nanosleep")
int tp_sleep(void *ctx)
{
	__u32 *r = bpf_ringbuf_reserve(&ring, sizeof(*r), 0);

	if (!r)
		return 0;
	*r = bpf_get_prandom_u32();
	bpf_ringbuf_submit(r, 0);
	return 0;
}

SEC("raw_tp/sched_switch")
int rtp_switch(void *ctx)
{
	note(2);
	return 0;
}

SEC("perf_event")
int pe_tick(void *ctx)
{
	note(3);
	return 0;
}

SEC("cgroup_skb/ingress")
int cg_in(struct __sk_buff *skb)
{
	note(skb->len > 100 ? 4 : 5);
	return 1;
}

SEC("xdp.frags")
int xdp_frag(struct xdp_md *ctx)
{
	return ctx->data_end - ctx->data > 60 ? XDP_PASS : XDP_DROP;
}

char _license[] SEC("license") = "GPL";
