/* tests/data/calls_tc.bpf.c: nested static/global calls, a bpf_loop callback, strings. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 16);
} counters SEC(".maps");

__u64 total SEC(".data.stats") = 0;

static __attribute__((noinline)) __u64 mix(__u64 a, __u64 b)
{
	return (a * 31) ^ (b >> 3);
}

static __attribute__((noinline)) __u64 count(__u32 slot, __u64 by)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &slot);

	if (!v)
		return 0;
	*v = mix(*v, by) + by;
	return *v;
}

__attribute__((noinline)) int account(struct __sk_buff *skb)
{
	if (!skb)
		return 0;
	total += count(skb->len & 15, skb->len);
	return skb->len > 1000;
}

static int loop_body(__u32 i, void *data)
{
	__u64 *acc = data;

	*acc = mix(*acc, i);
	return *acc > 1000000 ? 1 : 0;
}

SEC("tc")
int tc_main(struct __sk_buff *skb)
{
	__u64 acc = skb->mark;

	bpf_loop(8, loop_body, &acc, 0);
	if (account(skb))
		return TC_ACT_SHOT;
	bpf_printk("tc %llu", acc);
	return TC_ACT_OK;
}

SEC("classifier")
int cls_other(struct __sk_buff *skb)
{
	return count(1, skb->protocol) > 3 ? TC_ACT_OK : TC_ACT_UNSPEC;
}

SEC("action")
int act_main(struct __sk_buff *skb)
{
	return account(skb) ? TC_ACT_SHOT : TC_ACT_PIPE;
}

char _license[] SEC("license") = "GPL";
