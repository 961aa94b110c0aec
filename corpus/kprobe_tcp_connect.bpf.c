/* corpus/kprobe_tcp_connect.bpf.c: kprobe on tcp_v4_connect: connections to a ring buffer. */
#define __TARGET_ARCH_x86
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

#define TASK_COMM_LEN 16
#define AF_INET 2

struct connect_event {
	__u64 ts_ns;
	__u32 tgid;
	__u32 pid;
	__u32 uid;
	__be32 daddr;
	__be16 dport;
	__u16 pad;
	char comm[TASK_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* Destination ports not worth reporting (e.g. the local resolver), host order -> 1. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u16);
	__type(value, __u8);
} ignored_ports SEC(".maps");

struct sock;

/*
 * int tcp_v4_connect(struct sock *sk, struct sockaddr *uaddr, int addr_len): the
 * arguments come from pt_regs (rdi, rsi, rdx). uaddr points into kernel memory (the
 * syscall copied it in), so it is read with bpf_probe_read_kernel.
 */
SEC("kprobe/tcp_v4_connect")
int BPF_KPROBE(kprobe_tcp_connect, struct sock *sk, struct sockaddr_in *uaddr, int addr_len)
{
	struct sockaddr_in sin;
	struct connect_event *ev;
	__u64 pid_tgid;
	__u16 port;

	if (addr_len < (int)sizeof(sin))
		return 0;
	if (bpf_probe_read_kernel(&sin, sizeof(sin), uaddr) < 0)
		return 0;
	if (sin.sin_family != AF_INET)
		return 0;
	port = bpf_ntohs(sin.sin_port);
	if (bpf_map_lookup_elem(&ignored_ports, &port))
		return 0;

	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev)
		return 0;
	pid_tgid = bpf_get_current_pid_tgid();
	ev->ts_ns = bpf_ktime_get_ns();
	ev->tgid = pid_tgid >> 32;
	ev->pid = (__u32)pid_tgid;
	ev->uid = (__u32)bpf_get_current_uid_gid();
	ev->daddr = sin.sin_addr.s_addr;
	ev->dport = sin.sin_port;
	ev->pad = 0;
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	bpf_ringbuf_submit(ev, 0);
	return 0;
}
