/* corpus/tp_syscall_count.bpf.c: raw_syscalls/sys_enter: syscalls per process and per number. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

/*
 * Written the pre-BTF way on purpose: maps are struct bpf_map_def records in the
 * "maps" section, as in older samples and tools still in use. libbpf 1.x refuses
 * these; the project's own ELF reader must not.
 */
struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

#define MAX_SYSCALL 512

/* tgid -> number of syscalls entered. */
struct bpf_map_def SEC("maps") calls_by_tgid = {
	.type = BPF_MAP_TYPE_HASH,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 10240,
};

/* syscall number -> count, per CPU so that hot syscalls do not bounce a cache line. */
struct bpf_map_def SEC("maps") calls_by_id = {
	.type = BPF_MAP_TYPE_PERCPU_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = MAX_SYSCALL,
};

/* Layout of /sys/kernel/tracing/events/raw_syscalls/sys_enter/format. */
struct sys_enter_args {
	__u16 common_type;
	__u8 common_flags;
	__u8 common_preempt_count;
	__s32 common_pid;
	__s64 id;
	__u64 args[6];
};

SEC("tracepoint/raw_syscalls/sys_enter")
int tp_syscall_count(struct sys_enter_args *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u32 id;
	__u64 one = 1, *n;

	n = bpf_map_lookup_elem(&calls_by_tgid, &tgid);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&calls_by_tgid, &tgid, &one, BPF_NOEXIST);

	/* id is -1 for a syscall entered through ptrace with an invalid number. */
	if (ctx->id < 0 || ctx->id >= MAX_SYSCALL)
		return 0;
	id = ctx->id;
	n = bpf_map_lookup_elem(&calls_by_id, &id);
	if (n)
		*n += 1;
	return 0;
}
