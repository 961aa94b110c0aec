/* tests/data/extern_kfunc.bpf.c: a kfunc call (extern __ksym), which k2 refuses. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern void bpf_rcu_read_lock(void) __ksym;
extern void bpf_rcu_read_unlock(void) __ksym;

SEC("tp_btf/sched_switch")
int kf(void *ctx)
{
	bpf_rcu_read_lock();
	bpf_rcu_read_unlock();
	return 0;
}

char _license[] SEC("license") = "GPL";
