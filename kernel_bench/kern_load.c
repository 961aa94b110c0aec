/* kernel_bench/kern_load.c: loading a program through the verifier, with its log and statistics. */
#include "kernel_bench/kern_int.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_SIZE_DEFAULT (1u << 20)

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Checks map references and, for rewrite_fds, turns MAP_IDX(_VALUE) into MAP_FD(_VALUE). */
static int link_maps(struct bpf_insn *insns, uint32_t n, const struct k2_kern_maps *km,
		     bool rewrite, const char *name, struct k2_err *e)
{
	for (uint32_t i = 0; i < n; i++) {
		struct bpf_insn *in = &insns[i];

		if (in->code != (BPF_LD | BPF_IMM | BPF_DW))
			continue;
		if (in->src_reg == BPF_PSEUDO_MAP_IDX || in->src_reg == BPF_PSEUDO_MAP_IDX_VALUE) {
			if (in->imm < 0 || (uint32_t)in->imm >= k2_kern_maps_count(km))
				return k2_err_set(e, -EINVAL,
						  "%s: insn %u: map index %d out of range "
						  "(%u maps)",
						  name, i, in->imm, k2_kern_maps_count(km));
			if (rewrite) {
				in->src_reg = in->src_reg == BPF_PSEUDO_MAP_IDX
						      ? BPF_PSEUDO_MAP_FD
						      : BPF_PSEUDO_MAP_VALUE;
				in->imm = km->fds[in->imm];
			}
		}
		i++; /* the second slot */
	}
	return 0;
}

static bool is_insn_line(const char *s, long *idx)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (end == s || end[0] != ':' || end[1] != ' ')
		return false;
	*idx = v;
	return true;
}

/*
 * The verifier's reason is the last line that is not a statistics line; the instruction
 * is the last "N: (xx) ..." line before it.
 */
static void log_reason(const char *log, char *reason, size_t rlen, long *insn)
{
	const char *p = log, *line, *best = NULL, *prev = NULL;
	size_t best_len = 0, prev_len = 0;
	long idx;

	*insn = -1;
	reason[0] = '\0';
	while (*p) {
		size_t len = strcspn(p, "\n");

		line = p;
		p += len + (p[len] == '\n');
		if (!len || !strncmp(line, "processed ", 10) ||
		    !strncmp(line, "verification time", 17) || !strncmp(line, "stack depth", 11))
			continue;
		if (is_insn_line(line, &idx)) {
			*insn = idx;
			best = NULL;
			continue;
		}
		prev = best;
		prev_len = best_len;
		best = line;
		best_len = len;
	}
	/* "invalid access to packet, off=..." is often followed by a shorter summary line. */
	if (best && prev && prev_len + best_len < 200)
		snprintf(reason, rlen, "%.*s; %.*s", (int)prev_len, prev, (int)best_len, best);
	else if (best)
		snprintf(reason, rlen, "%.*s", (int)best_len, best);
}

static int reject(const char *name, int err, const char *log, struct k2_err *e)
{
	char reason[256];
	long insn;

	log_reason(log ? log : "", reason, sizeof(reason), &insn);
	if (!reason[0])
		return k2_err_set(e, err, "BPF_PROG_LOAD %s: %s (no verifier log)", name,
				  strerror(-err));
	if (insn >= 0)
		return k2_err_set(e, err, "verifier rejected %s: insn %ld: %s", name, insn, reason);
	return k2_err_set(e, err, "verifier rejected %s: %s", name, reason);
}

static uint32_t prog_flags(const struct k2_prog *prog)
{
	return prog->prog_flags | k2_prog_flags_of_section(prog->sec);
}

static void prog_stats(struct k2_kern_prog *kp)
{
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(kp->fd, &info, &len) == 0) {
		kp->verified_insns = info.verified_insns;
		kp->xlated_len = info.xlated_prog_len;
		kp->jited_len = info.jited_prog_len;
	}
}

/* The BTF id of a traced function, LSM hook or BTF tracepoint, as libbpf names them. */
static int vmlinux_btf_id(const char *name, uint32_t type, uint32_t attach)
{
	struct btf *btf = btf__load_vmlinux_btf();
	const char *prefix = type == BPF_PROG_TYPE_LSM ? "bpf_lsm_"
			     : attach == BPF_TRACE_RAW_TP ? "btf_trace_" : "";
	char full[256];
	int id;

	if (!btf)
		return -errno;
	snprintf(full, sizeof(full), "%s%s", prefix, name);
	id = btf__find_by_name_kind(btf, full,
				    attach == BPF_TRACE_RAW_TP ? BTF_KIND_TYPEDEF : BTF_KIND_FUNC);
	btf__free(btf);
	return id;
}

/*
 * Tracing programs (fentry/fexit/fmod_ret/tp_btf, LSM) name their target after the '/'
 * of the section, as libbpf reads it; the kernel wants its BTF id. 0, or -EOPNOTSUPP when
 * this kernel has no such function (xdp-tools' "fentry/func" gets its target at run time).
 */
static int attach_target(const struct k2_prog *prog, uint32_t *btf_id, struct k2_err *e)
{
	const char *name = strchr(prog->sec, '/');
	int id;

	*btf_id = 0;
	if (prog->type != BPF_PROG_TYPE_TRACING && prog->type != BPF_PROG_TYPE_LSM)
		return 0;
	if (!name || !name[1])
		return k2_err_set(e, -EOPNOTSUPP, "%s: section %s names no attach target",
				  prog->name, prog->sec);
	id = vmlinux_btf_id(name + 1, prog->type, prog->attach_type);
	if (id < 0)
		return k2_err_set(e, -EOPNOTSUPP,
				  "%s: section %s: the kernel has no function '%s' to attach to "
				  "(a target given at run time cannot be loaded alone)",
				  prog->name, prog->sec, name + 1);
	*btf_id = (uint32_t)id;
	return 0;
}

int k2_kern_prog_load(const struct k2_prog *prog, const struct k2_kern_maps *km,
		      const struct k2_kern_load_opts *opts, struct k2_kern_prog **out,
		      struct k2_err *e)
{
	const struct bpf_insn *src = prog->insns;
	uint32_t n = prog->n_insns, log_level;
	bool rewrite;
	char *log, *own_log = NULL, name[BPF_OBJ_NAME_LEN];
	size_t log_size;
	struct bpf_insn *insns;
	struct k2_kern_prog *kp;
	uint32_t btf_id = 0;
	uint64_t t0;
	int fd, err;

	*out = NULL;
	if (K2_OPT(opts, insns, NULL)) {
		src = opts->insns;
		n = K2_OPT(opts, n_insns, 0u);
	}
	log_level = K2_OPT(opts, log_level, 0u);
	log = K2_OPT(opts, log_buf, NULL);
	log_size = log ? K2_OPT(opts, log_size, (size_t)0) : LOG_SIZE_DEFAULT;
	rewrite = K2_OPT(opts, rewrite_fds, false);
	k2_kern_obj_name(prog->name[0] ? prog->name : "k2_prog", name);
	if (!n)
		return k2_err_set(e, -EINVAL, "%s: empty program", prog->name);
	insns = malloc(n * sizeof(*insns));
	if (!log)
		log = own_log = calloc(1, log_size);
	kp = calloc(1, sizeof(*kp));
	if (!insns || !log || !kp) {
		err = k2_err_set(e, -ENOMEM, "%s: out of memory", prog->name);
		goto out;
	}
	log[0] = '\0';
	memcpy(insns, src, n * sizeof(*insns));
	err = link_maps(insns, n, km, rewrite, prog->name, e);
	if (!err)
		err = attach_target(prog, &btf_id, e);
	if (err)
		goto out;

	LIBBPF_OPTS(bpf_prog_load_opts, lo, .expected_attach_type = prog->attach_type,
		    .prog_flags = prog_flags(prog),
		    .fd_array = rewrite ? NULL : k2_kern_maps_fds(km), .log_level = log_level,
		    .log_buf = log, .log_size = (uint32_t)log_size, .attach_btf_id = btf_id);
	t0 = now_ns();
	fd = bpf_prog_load((enum bpf_prog_type)prog->type, name,
			   prog->license && prog->license[0] ? prog->license : "GPL", insns, n,
			   &lo);
	if (fd < 0) {
		err = reject(prog->name, -errno, log, e);
		goto out;
	}
	kp->load_ns = now_ns() - t0;
	kp->fd = fd;
	kp->type = prog->type;
	kp->n_insns = n;
	prog_stats(kp);
	*out = kp;
	kp = NULL;
	err = 0;
out:
	free(kp);
	free(insns);
	free(own_log);
	return err;
}

void k2_kern_prog_free(struct k2_kern_prog *kp)
{
	if (!kp)
		return;
	if (kp->fd >= 0)
		close(kp->fd);
	free(kp);
}
