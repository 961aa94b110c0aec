/* bpf/prog_type.c: section names to program types as libbpf 1.x reads them; type and map names. */
#include "bpf/k2_obj.h"

#include <string.h>
#include <strings.h>

/* Newer than Debian 12's uapi header (6.1); the kernel here (6.18) knows them. */
#define K2_PROG_TYPE_NETFILTER 32
#define K2_ATTACH_STRUCT_OPS 44
#define K2_ATTACH_NETFILTER 45
#define K2_ATTACH_TCX_INGRESS 46
#define K2_ATTACH_TCX_EGRESS 47
#define K2_ATTACH_UPROBE_MULTI 48
#define K2_ATTACH_NETKIT_PRIMARY 54
#define K2_ATTACH_NETKIT_PEER 55

#define XF BPF_F_XDP_HAS_FRAGS
#define SL BPF_F_SLEEPABLE

/*
 * A name ending in '+' matches itself and itself followed by "/anything" (kprobe+ matches
 * "kprobe" and "kprobe/do_sys_open" but not "kprobe.multi/x"); others match exactly.
 * The first match wins, so the specific names come before their prefixes.
 */
static const struct sec_def {
	const char *sec;
	uint32_t type;
	uint32_t attach;
	uint32_t flags;
} sec_defs[] = {
	{ "socket", BPF_PROG_TYPE_SOCKET_FILTER, 0, 0 },
	{ "sk_reuseport/migrate", BPF_PROG_TYPE_SK_REUSEPORT, BPF_SK_REUSEPORT_SELECT_OR_MIGRATE, 0 },
	{ "sk_reuseport", BPF_PROG_TYPE_SK_REUSEPORT, BPF_SK_REUSEPORT_SELECT, 0 },
	{ "kprobe+", BPF_PROG_TYPE_KPROBE, 0, 0 },
	{ "uprobe+", BPF_PROG_TYPE_KPROBE, 0, 0 },
	{ "uprobe.s+", BPF_PROG_TYPE_KPROBE, 0, SL },
	{ "kretprobe+", BPF_PROG_TYPE_KPROBE, 0, 0 },
	{ "uretprobe+", BPF_PROG_TYPE_KPROBE, 0, 0 },
	{ "uretprobe.s+", BPF_PROG_TYPE_KPROBE, 0, SL },
	{ "kprobe.multi+", BPF_PROG_TYPE_KPROBE, BPF_TRACE_KPROBE_MULTI, 0 },
	{ "kretprobe.multi+", BPF_PROG_TYPE_KPROBE, BPF_TRACE_KPROBE_MULTI, 0 },
	{ "uprobe.multi+", BPF_PROG_TYPE_KPROBE, K2_ATTACH_UPROBE_MULTI, 0 },
	{ "uretprobe.multi+", BPF_PROG_TYPE_KPROBE, K2_ATTACH_UPROBE_MULTI, 0 },
	{ "ksyscall+", BPF_PROG_TYPE_KPROBE, 0, 0 },
	{ "kretsyscall+", BPF_PROG_TYPE_KPROBE, 0, 0 },
	{ "usdt+", BPF_PROG_TYPE_KPROBE, 0, 0 },
	{ "tc/ingress", BPF_PROG_TYPE_SCHED_CLS, K2_ATTACH_TCX_INGRESS, 0 },
	{ "tc/egress", BPF_PROG_TYPE_SCHED_CLS, K2_ATTACH_TCX_EGRESS, 0 },
	{ "tcx/ingress", BPF_PROG_TYPE_SCHED_CLS, K2_ATTACH_TCX_INGRESS, 0 },
	{ "tcx/egress", BPF_PROG_TYPE_SCHED_CLS, K2_ATTACH_TCX_EGRESS, 0 },
	{ "tc", BPF_PROG_TYPE_SCHED_CLS, 0, 0 },
	{ "classifier", BPF_PROG_TYPE_SCHED_CLS, 0, 0 },
	{ "action", BPF_PROG_TYPE_SCHED_ACT, 0, 0 },
	{ "netkit/primary", BPF_PROG_TYPE_SCHED_CLS, K2_ATTACH_NETKIT_PRIMARY, 0 },
	{ "netkit/peer", BPF_PROG_TYPE_SCHED_CLS, K2_ATTACH_NETKIT_PEER, 0 },
	{ "tracepoint+", BPF_PROG_TYPE_TRACEPOINT, 0, 0 },
	{ "tp+", BPF_PROG_TYPE_TRACEPOINT, 0, 0 },
	{ "raw_tracepoint+", BPF_PROG_TYPE_RAW_TRACEPOINT, 0, 0 },
	{ "raw_tp+", BPF_PROG_TYPE_RAW_TRACEPOINT, 0, 0 },
	{ "raw_tracepoint.w+", BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE, 0, 0 },
	{ "raw_tp.w+", BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE, 0, 0 },
	{ "tp_btf+", BPF_PROG_TYPE_TRACING, BPF_TRACE_RAW_TP, 0 },
	{ "fentry+", BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, 0 },
	{ "fmod_ret+", BPF_PROG_TYPE_TRACING, BPF_MODIFY_RETURN, 0 },
	{ "fexit+", BPF_PROG_TYPE_TRACING, BPF_TRACE_FEXIT, 0 },
	{ "fentry.s+", BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, SL },
	{ "fmod_ret.s+", BPF_PROG_TYPE_TRACING, BPF_MODIFY_RETURN, SL },
	{ "fexit.s+", BPF_PROG_TYPE_TRACING, BPF_TRACE_FEXIT, SL },
	{ "freplace+", BPF_PROG_TYPE_EXT, 0, 0 },
	{ "lsm+", BPF_PROG_TYPE_LSM, BPF_LSM_MAC, 0 },
	{ "lsm.s+", BPF_PROG_TYPE_LSM, BPF_LSM_MAC, SL },
	{ "lsm_cgroup+", BPF_PROG_TYPE_LSM, BPF_LSM_CGROUP, 0 },
	{ "iter+", BPF_PROG_TYPE_TRACING, BPF_TRACE_ITER, 0 },
	{ "iter.s+", BPF_PROG_TYPE_TRACING, BPF_TRACE_ITER, SL },
	{ "syscall", BPF_PROG_TYPE_SYSCALL, 0, SL },
	{ "xdp.frags/devmap", BPF_PROG_TYPE_XDP, BPF_XDP_DEVMAP, XF },
	{ "xdp/devmap", BPF_PROG_TYPE_XDP, BPF_XDP_DEVMAP, 0 },
	{ "xdp.frags/cpumap", BPF_PROG_TYPE_XDP, BPF_XDP_CPUMAP, XF },
	{ "xdp/cpumap", BPF_PROG_TYPE_XDP, BPF_XDP_CPUMAP, 0 },
	{ "xdp.frags", BPF_PROG_TYPE_XDP, BPF_XDP, XF },
	{ "xdp", BPF_PROG_TYPE_XDP, BPF_XDP, 0 },
	{ "perf_event", BPF_PROG_TYPE_PERF_EVENT, 0, 0 },
	{ "lwt_in", BPF_PROG_TYPE_LWT_IN, 0, 0 },
	{ "lwt_out", BPF_PROG_TYPE_LWT_OUT, 0, 0 },
	{ "lwt_xmit", BPF_PROG_TYPE_LWT_XMIT, 0, 0 },
	{ "lwt_seg6local", BPF_PROG_TYPE_LWT_SEG6LOCAL, 0, 0 },
	{ "sockops", BPF_PROG_TYPE_SOCK_OPS, BPF_CGROUP_SOCK_OPS, 0 },
	{ "sk_skb/stream_parser", BPF_PROG_TYPE_SK_SKB, BPF_SK_SKB_STREAM_PARSER, 0 },
	{ "sk_skb/stream_verdict", BPF_PROG_TYPE_SK_SKB, BPF_SK_SKB_STREAM_VERDICT, 0 },
	{ "sk_skb", BPF_PROG_TYPE_SK_SKB, 0, 0 },
	{ "sk_msg", BPF_PROG_TYPE_SK_MSG, BPF_SK_MSG_VERDICT, 0 },
	{ "lirc_mode2", BPF_PROG_TYPE_LIRC_MODE2, BPF_LIRC_MODE2, 0 },
	{ "flow_dissector", BPF_PROG_TYPE_FLOW_DISSECTOR, BPF_FLOW_DISSECTOR, 0 },
	{ "cgroup_skb/ingress", BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_INGRESS, 0 },
	{ "cgroup_skb/egress", BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_EGRESS, 0 },
	{ "cgroup/skb", BPF_PROG_TYPE_CGROUP_SKB, 0, 0 },
	{ "cgroup/sock_create", BPF_PROG_TYPE_CGROUP_SOCK, BPF_CGROUP_INET_SOCK_CREATE, 0 },
	{ "cgroup/sock_release", BPF_PROG_TYPE_CGROUP_SOCK, BPF_CGROUP_INET_SOCK_RELEASE, 0 },
	{ "cgroup/sock", BPF_PROG_TYPE_CGROUP_SOCK, BPF_CGROUP_INET_SOCK_CREATE, 0 },
	{ "cgroup/post_bind4", BPF_PROG_TYPE_CGROUP_SOCK, BPF_CGROUP_INET4_POST_BIND, 0 },
	{ "cgroup/post_bind6", BPF_PROG_TYPE_CGROUP_SOCK, BPF_CGROUP_INET6_POST_BIND, 0 },
	{ "cgroup/bind4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_BIND, 0 },
	{ "cgroup/bind6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET6_BIND, 0 },
	{ "cgroup/connect4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_CONNECT, 0 },
	{ "cgroup/connect6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET6_CONNECT, 0 },
	{ "cgroup/sendmsg4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_UDP4_SENDMSG, 0 },
	{ "cgroup/sendmsg6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_UDP6_SENDMSG, 0 },
	{ "cgroup/recvmsg4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_UDP4_RECVMSG, 0 },
	{ "cgroup/recvmsg6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_UDP6_RECVMSG, 0 },
	{ "cgroup/getpeername4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_GETPEERNAME, 0 },
	{ "cgroup/getpeername6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET6_GETPEERNAME, 0 },
	{ "cgroup/getsockname4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_GETSOCKNAME, 0 },
	{ "cgroup/getsockname6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET6_GETSOCKNAME, 0 },
	{ "cgroup/sysctl", BPF_PROG_TYPE_CGROUP_SYSCTL, BPF_CGROUP_SYSCTL, 0 },
	{ "cgroup/getsockopt", BPF_PROG_TYPE_CGROUP_SOCKOPT, BPF_CGROUP_GETSOCKOPT, 0 },
	{ "cgroup/setsockopt", BPF_PROG_TYPE_CGROUP_SOCKOPT, BPF_CGROUP_SETSOCKOPT, 0 },
	{ "cgroup/dev", BPF_PROG_TYPE_CGROUP_DEVICE, BPF_CGROUP_DEVICE, 0 },
	{ "struct_ops+", BPF_PROG_TYPE_STRUCT_OPS, 0, 0 },
	{ "struct_ops.s+", BPF_PROG_TYPE_STRUCT_OPS, 0, SL },
	{ "sk_lookup", BPF_PROG_TYPE_SK_LOOKUP, BPF_SK_LOOKUP, 0 },
	{ "netfilter", K2_PROG_TYPE_NETFILTER, K2_ATTACH_NETFILTER, 0 },
};

static bool sec_matches(const char *def, const char *sec)
{
	size_t n = strlen(def);

	if (def[n - 1] != '+')
		return !strcmp(def, sec);
	n--;
	return !strncmp(def, sec, n) && (sec[n] == '\0' || sec[n] == '/');
}

static const struct sec_def *find_def(const char *sec)
{
	if (!sec)
		return NULL;
	for (size_t i = 0; i < sizeof(sec_defs) / sizeof(sec_defs[0]); i++)
		if (sec_matches(sec_defs[i].sec, sec))
			return &sec_defs[i];
	return NULL;
}

uint32_t k2_prog_type_of_section(const char *sec, uint32_t *attach_type)
{
	const struct sec_def *d = find_def(sec);

	if (attach_type)
		*attach_type = d ? d->attach : 0;
	return d ? d->type : BPF_PROG_TYPE_UNSPEC;
}

uint32_t k2_prog_flags_of_section(const char *sec)
{
	const struct sec_def *d = find_def(sec);

	return d ? d->flags : 0;
}

/* bpftool's names, indexed by enum value. */
static const char *const prog_names[] = {
	"unspec", "socket_filter", "kprobe", "sched_cls", "sched_act", "tracepoint", "xdp",
	"perf_event", "cgroup_skb", "cgroup_sock", "lwt_in", "lwt_out", "lwt_xmit", "sock_ops",
	"sk_skb", "cgroup_device", "sk_msg", "raw_tracepoint", "cgroup_sock_addr",
	"lwt_seg6local", "lirc_mode2", "sk_reuseport", "flow_dissector", "cgroup_sysctl",
	"raw_tracepoint_writable", "cgroup_sockopt", "tracing", "struct_ops", "ext", "lsm",
	"sk_lookup", "syscall", "netfilter",
};

static const char *const map_names[] = {
	"unspec", "hash", "array", "prog_array", "perf_event_array", "percpu_hash",
	"percpu_array", "stack_trace", "cgroup_array", "lru_hash", "lru_percpu_hash",
	"lpm_trie", "array_of_maps", "hash_of_maps", "devmap", "sockmap", "cpumap", "xskmap",
	"sockhash", "cgroup_storage", "reuseport_sockarray", "percpu_cgroup_storage", "queue",
	"stack", "sk_storage", "devmap_hash", "struct_ops", "ringbuf", "inode_storage",
	"task_storage", "bloom_filter", "user_ringbuf", "cgrp_storage", "arena",
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

const char *k2_prog_type_name(uint32_t type)
{
	return type < N_OF(prog_names) ? prog_names[type] : "unknown";
}

const char *k2_map_type_name(uint32_t type)
{
	return type < N_OF(map_names) ? map_names[type] : "unknown";
}

static uint32_t by_name(const char *const *names, size_t n, const char *pfx, const char *name)
{
	size_t np = strlen(pfx);

	if (!name)
		return 0;
	if (!strncasecmp(name, pfx, np))
		name += np;
	for (size_t i = 1; i < n; i++)
		if (!strcasecmp(names[i], name))
			return (uint32_t)i;
	return 0;
}

uint32_t k2_map_type_by_name(const char *name)
{
	return by_name(map_names, N_OF(map_names), "BPF_MAP_TYPE_", name);
}

uint32_t k2_prog_type_by_name(const char *name)
{
	uint32_t t = by_name(prog_names, N_OF(prog_names), "BPF_PROG_TYPE_", name);

	/* section names work too: "tc", "socket", "kprobe/x" */
	return t ? t : k2_prog_type_of_section(name, NULL);
}

/* The section libbpf knows each type by, for programs that have none yet. */
static const struct {
	uint32_t type;
	const char *sec;
} type_secs[] = {
	{ BPF_PROG_TYPE_SOCKET_FILTER, "socket" },   { BPF_PROG_TYPE_KPROBE, "kprobe" },
	{ BPF_PROG_TYPE_SCHED_CLS, "tc" },           { BPF_PROG_TYPE_SCHED_ACT, "action" },
	{ BPF_PROG_TYPE_TRACEPOINT, "tracepoint" },  { BPF_PROG_TYPE_XDP, "xdp" },
	{ BPF_PROG_TYPE_PERF_EVENT, "perf_event" },  { BPF_PROG_TYPE_CGROUP_SKB, "cgroup/skb" },
	{ BPF_PROG_TYPE_CGROUP_SOCK, "cgroup/sock" }, { BPF_PROG_TYPE_LWT_IN, "lwt_in" },
	{ BPF_PROG_TYPE_LWT_OUT, "lwt_out" },        { BPF_PROG_TYPE_LWT_XMIT, "lwt_xmit" },
	{ BPF_PROG_TYPE_SOCK_OPS, "sockops" },       { BPF_PROG_TYPE_SK_SKB, "sk_skb" },
	{ BPF_PROG_TYPE_CGROUP_DEVICE, "cgroup/dev" }, { BPF_PROG_TYPE_SK_MSG, "sk_msg" },
	{ BPF_PROG_TYPE_RAW_TRACEPOINT, "raw_tracepoint" },
	{ BPF_PROG_TYPE_LWT_SEG6LOCAL, "lwt_seg6local" },
	{ BPF_PROG_TYPE_LIRC_MODE2, "lirc_mode2" },  { BPF_PROG_TYPE_SK_REUSEPORT, "sk_reuseport" },
	{ BPF_PROG_TYPE_FLOW_DISSECTOR, "flow_dissector" },
	{ BPF_PROG_TYPE_CGROUP_SYSCTL, "cgroup/sysctl" },
	{ BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE, "raw_tracepoint.w" },
	{ BPF_PROG_TYPE_SK_LOOKUP, "sk_lookup" },    { BPF_PROG_TYPE_SYSCALL, "syscall" },
	{ K2_PROG_TYPE_NETFILTER, "netfilter" },
};

const char *k2_prog_type_section(uint32_t type)
{
	for (size_t i = 0; i < N_OF(type_secs); i++)
		if (type_secs[i].type == type)
			return type_secs[i].sec;
	return NULL;
}
