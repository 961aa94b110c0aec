/* tests/data/text/insns.bpf.c: a program touching every form clang emits, for text_llvm.c. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

long hits;
int hits32;
volatile const int limit = 1000;
char scratch[64];

static __attribute__((noinline)) int mix(int a, int b)
{
	return (a * 31) ^ (b >> 3) ^ ((unsigned)a >> 5) ^ ((unsigned)a % (b | 1)) ^ ((unsigned)a / (b | 1));
}

static long loop_cb(__u32 i, void *ctx)
{
	*(long *)ctx += i;
	return 0;
}

static __attribute__((noinline)) long atomics(long *p, int *q)
{
	long r = 0;

	__sync_fetch_and_add(p, 1);
	r += __sync_fetch_and_add(p, 2);
	r += __sync_fetch_and_or(p, 4);
	r += __sync_fetch_and_and(p, ~8L);
	r += __sync_fetch_and_xor(p, 16);
	__sync_fetch_and_or(p, 32);
	__sync_fetch_and_and(p, 64);
	__sync_fetch_and_xor(p, 128);
	r += __sync_lock_test_and_set(p, 5);
	r += __sync_val_compare_and_swap(p, 3, r);
	__sync_fetch_and_add(q, 1);
#ifdef TEXT_V3 /* 32-bit fetching atomics need -mcpu=v3 */
	r += __sync_fetch_and_add(q, 2);
	r += __sync_fetch_and_or(q, 2);
	r += __sync_lock_test_and_set(q, 7);
	r += __sync_val_compare_and_swap(q, 1, 9);
#endif
	return r;
}

SEC("xdp")
int xdp_prog(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	unsigned char *p = data;
	__u32 key = (__u32)(ctx->rx_queue_index & 3);
	__u64 *v = bpf_map_lookup_elem(&counters, &key);
	long acc = 0;
	short s;

	if (p + 64 > (unsigned char *)end)
		return XDP_PASS;
	if (v)
		atomics((long *)v, &hits32);
	s = (short)(p[12] << 8 | p[13]);
	acc = bpf_ntohs(*(__u16 *)(p + 12)) + bpf_ntohl(*(__u32 *)(p + 26));
	acc += (long)s >> 2;
	acc += bpf_be64_to_cpu(*(__u64 *)(p + 30));
	if ((signed char)p[20] < -3 || (int)acc > limit)
		acc -= mix((int)acc, p[21]);
	if (acc & 0x40)
		acc = -acc;
	bpf_loop(4, loop_cb, &acc, 0);
	__builtin_memcpy(scratch, p, 16);
	hits += acc;
	return acc > 0x7fffffffL ? XDP_DROP : XDP_TX;
}

unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");
unsigned long long load_word(void *skb, unsigned long long off) asm("llvm.bpf.load.word");

SEC("socket")
int sock_prog(struct __sk_buff *skb)
{
	unsigned long long off = skb->len & 0xff;

	if (load_half(skb, 12) != 0x0800)
		return 0;
	return load_byte(skb, 23) + load_word(skb, 26) + load_byte(skb, off) + load_half(skb, off + 2);
}

char LICENSE[] SEC("license") = "GPL";
