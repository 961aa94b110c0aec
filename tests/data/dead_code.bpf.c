/* tests/data/dead_code.bpf.c: dead fillers that tests delete (compaction, write-back). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

/* `goto +0` (the verifier drops these itself) and a dead store to r9 (which it keeps) */
#define FILLER() asm volatile("goto +0")
#define DEAD() asm volatile("r9 = 32429" ::: "r9")

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 8);
} hits SEC(".maps");

__u64 packets;
const volatile __u32 limit = 1500;

static __attribute__((noinline)) int over(__u32 len)
{
	FILLER();
	return len > limit;
}

SEC("xdp")
int xdp_first(struct xdp_md *ctx)
{
	__u32 key = ctx->ingress_ifindex & 7, len;
	__u64 *v;

	DEAD();
	FILLER();
	len = ctx->data_end - ctx->data;
	v = bpf_map_lookup_elem(&hits, &key);
	FILLER();
	if (v) {
		FILLER();
		*v += 1;
	}
	packets++;
	DEAD();
	FILLER();
	return over(len) ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int xdp_second(struct xdp_md *ctx)
{
	__u32 key = 1;
	__u64 *v = bpf_map_lookup_elem(&hits, &key);

	DEAD();
	if (v)
		*v += ctx->data_end - ctx->data;
	return over(ctx->data_end - ctx->data) ? XDP_PASS : XDP_DROP;
}

struct task_struct {
	int pid;
} __attribute__((preserve_access_index));

SEC("kprobe/do_nanosleep")
int kp_dead(void *ctx)
{
	struct task_struct *t = (void *)bpf_get_current_task();
	__u32 key = 2;
	__u64 *v;

	DEAD();
	key += BPF_CORE_READ(t, pid) & 1;
	FILLER();
	v = bpf_map_lookup_elem(&hits, &key);
	if (v)
		*v += 1;
	return 0;
}

char _license[] SEC("license") = "GPL";
