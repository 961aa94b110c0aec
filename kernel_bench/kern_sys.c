/* kernel_bench/kern_sys.c: whether bpf() works here, CPU count and pinning. */
#define _GNU_SOURCE
#include "kernel_bench/k2_kern.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

static int probe_why(int err, const char *what, struct k2_err *e)
{
	if (err == -EPERM || err == -EACCES)
		return k2_err_set(e, err,
				  "bpf() %s not permitted (%s): needs root, or CAP_BPF, "
				  "CAP_PERFMON and CAP_NET_ADMIN",
				  what, strerror(-err));
	if (err == -ENOSYS)
		return k2_err_set(e, err, "bpf() %s: the kernel has no bpf() system call", what);
	return k2_err_set(e, err, "bpf() %s failed: %s", what, strerror(-err));
}

int k2_kern_probe(struct k2_err *e)
{
	/* r0 = XDP_PASS; exit: the smallest program the verifier accepts and test_run runs. */
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	uint8_t pkt[64] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = pkt, .data_size_in = sizeof(pkt),
		    .repeat = 1);
	int fd, pfd, err;

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "k2_probe", 4, 8, 1, NULL);
	if (fd < 0)
		return probe_why(-errno, "BPF_MAP_CREATE", e);
	close(fd);
	pfd = bpf_prog_load(BPF_PROG_TYPE_XDP, "k2_probe", "GPL", insns, 2, NULL);
	if (pfd < 0)
		return probe_why(-errno, "BPF_PROG_LOAD", e);
	err = bpf_prog_test_run_opts(pfd, &t);
	err = err < 0 ? -errno : 0;
	close(pfd);
	if (err)
		return probe_why(err, "BPF_PROG_TEST_RUN", e);
	if (t.retval != XDP_PASS)
		return k2_err_set(e, -EIO, "bpf() BPF_PROG_TEST_RUN returned %u, expected %u",
				  t.retval, XDP_PASS);
	return 0;
}

int k2_kern_ncpus(void)
{
	return libbpf_num_possible_cpus();
}

int k2_kern_pin_cpu(uint32_t cpu, struct k2_err *e)
{
	cpu_set_t set;

	if (cpu >= CPU_SETSIZE)
		return k2_err_set(e, -EINVAL, "cpu %u out of range", cpu);
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		return k2_err_set(e, -errno, "cannot pin the thread to cpu %u: %s", cpu,
				  strerror(errno));
	return 0;
}
