/* tests/data/extern_kconfig.bpf.c: an extern __kconfig variable, which k2 rejects by name. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern unsigned int LINUX_KERNEL_VERSION __kconfig;

SEC("socket")
int kc(void *ctx)
{
	return LINUX_KERNEL_VERSION > 0x050000;
}

char _license[] SEC("license") = "GPL";
