/* tests/kernel/kern_load.c: the loader against the verifier: accept, reject with a log, run. */
#include <bpf/bpf.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_bench/k2_kern.h"

static void need_kernel(void)
{
	struct k2_err e = { 0 };

	if (k2_kern_probe(&e))
		cr_skip_test("kernel tests skipped: %s", e.msg);
}

#define MOV64_K(d, k) { .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = d, .imm = k }
#define MOV64_X(d, s) { .code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = d, .src_reg = s }
#define ADD64_K(d, k) { .code = BPF_ALU64 | BPF_ADD | BPF_K, .dst_reg = d, .imm = k }
#define LDXW(d, s, o) { .code = BPF_LDX | BPF_MEM | BPF_W, .dst_reg = d, .src_reg = s, .off = o }
#define LDXB(d, s, o) { .code = BPF_LDX | BPF_MEM | BPF_B, .dst_reg = d, .src_reg = s, .off = o }
#define JGT_X(d, s, o) { .code = BPF_JMP | BPF_JGT | BPF_X, .dst_reg = d, .src_reg = s, .off = o }
#define EXIT { .code = BPF_JMP | BPF_EXIT }

/* r0 = data[13] + 7 if the packet has 14 bytes, else 1. */
static const struct bpf_insn good[] = {
	MOV64_K(0, 1),
	LDXW(2, 1, offsetof(struct xdp_md, data)),
	LDXW(3, 1, offsetof(struct xdp_md, data_end)),
	MOV64_X(4, 2),
	ADD64_K(4, 14),
	JGT_X(4, 3, 2),
	LDXB(0, 2, 13),
	ADD64_K(0, 7),
	EXIT,
};

/* Reads r2 before anything wrote it. */
static const struct bpf_insn bad[] = {
	MOV64_K(0, 0),
	MOV64_X(0, 2),
	EXIT,
};

static struct k2_prog mkprog(const char *name, const struct bpf_insn *insns, uint32_t n)
{
	struct k2_prog p;

	memset(&p, 0, sizeof(p));
	snprintf(p.name, sizeof(p.name), "%s", name);
	snprintf(p.sec, sizeof(p.sec), "xdp");
	p.type = BPF_PROG_TYPE_XDP;
	p.insns = (struct bpf_insn *)insns;
	p.n_insns = p.n_main = n;
	p.license = "GPL";
	return p;
}

Test(kern_load, probe_says_yes_or_why_not)
{
	struct k2_err e = { 0 };
	int err = k2_kern_probe(&e);

	if (err)
		cr_assert(strlen(e.msg) > 10, "a failing probe explains itself");
	else
		cr_assert_gt(k2_kern_ncpus(), 0);
}

Test(kern_load, good_program_runs_with_expected_r0)
{
	struct k2_prog p = mkprog("good", good, sizeof(good) / sizeof(good[0]));
	struct k2_kern_prog *kp;
	struct k2_kern_result res;
	struct k2_input in;
	struct k2_err e = { 0 };

	need_kernel();
	cr_assert_eq(k2_kern_prog_load(&p, NULL, NULL, &kp, &e), 0, "%s", e.msg);
	cr_expect_gt(kp->verified_insns, 0u);
	cr_expect_gt(kp->jited_len, 0u);
	cr_expect_gt(kp->load_ns, 0u);
	memset(&in, 0, sizeof(in));
	in.pkt_len = 60;
	for (uint32_t i = 0; i < in.pkt_len; i++)
		in.pkt[i] = (uint8_t)(i * 3);
	cr_assert_eq(k2_kern_run(kp, &in, NULL, &res, &e), 0, "%s", e.msg);
	cr_expect_eq(res.retval, 13 * 3 + 7u);
	cr_expect_eq(res.pkt_len, 60u);
	cr_expect_eq(res.meta_len, 0u);
	cr_expect_eq(memcmp(res.pkt, in.pkt, 60), 0, "the packet comes back unchanged");
	k2_kern_prog_free(kp);
}

Test(kern_load, bad_program_is_rejected_with_its_log)
{
	struct k2_prog p = mkprog("bad", bad, sizeof(bad) / sizeof(bad[0]));
	struct k2_kern_load_opts o = { .sz = sizeof(o) };
	struct k2_kern_prog *kp = (void *)1;
	struct k2_err e = { 0 };
	char log[65536];

	need_kernel();
	o.log_buf = log;
	o.log_size = sizeof(log);
	cr_assert_lt(k2_kern_prog_load(&p, NULL, &o, &kp, &e), 0);
	cr_expect_null(kp);
	cr_expect(strstr(e.msg, "verifier rejected bad: insn 1: R2 !read_ok") != NULL, "msg: %s",
		  e.msg);
	cr_expect(strstr(log, "R2 !read_ok") != NULL, "log: %s", log);
}

Test(kern_load, map_index_out_of_range_names_the_insn)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_LD | BPF_IMM | BPF_DW, .dst_reg = 1, .src_reg = BPF_PSEUDO_MAP_IDX,
		  .imm = 3 },
		{ 0 },
		MOV64_K(0, 0),
		EXIT,
	};
	struct k2_prog p = mkprog("oob", insns, 4);
	struct k2_kern_prog *kp;
	struct k2_err e = { 0 };

	need_kernel();
	cr_assert_eq(k2_kern_prog_load(&p, NULL, NULL, &kp, &e), -EINVAL);
	cr_expect(strstr(e.msg, "insn 0: map index 3 out of range") != NULL, "%s", e.msg);
}

Test(kern_load, kprobe_loads_but_cannot_run)
{
	struct k2_prog p = mkprog("kp", good, 1);
	const struct bpf_insn ret0[] = { MOV64_K(0, 0), EXIT };
	struct k2_kern_prog *kp;
	struct k2_kern_result res;
	struct k2_input in;
	struct k2_err e = { 0 };

	need_kernel();
	p.insns = (struct bpf_insn *)ret0;
	p.n_insns = p.n_main = 2;
	p.type = BPF_PROG_TYPE_KPROBE;
	snprintf(p.sec, sizeof(p.sec), "kprobe/sys_nanosleep");
	cr_assert_eq(k2_kern_prog_load(&p, NULL, NULL, &kp, &e), 0, "%s", e.msg);
	memset(&in, 0, sizeof(in));
	cr_expect_eq(k2_kern_run(kp, &in, NULL, &res, &e), -EOPNOTSUPP);
	cr_expect(strstr(e.msg, "kprobe") != NULL, "%s", e.msg);
	k2_kern_prog_free(kp);
}

static int count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	int n = 0, c;

	while (f && (c = fgetc(f)) != EOF)
		n += c == '\n';
	if (f)
		fclose(f);
	return n;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d)))
		n += de->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

Test(kern_load, no_fd_leak_after_many_loads)
{
	struct k2_prog p = mkprog("good", good, sizeof(good) / sizeof(good[0]));
	struct k2_prog q = mkprog("bad", bad, sizeof(bad) / sizeof(bad[0]));
	struct k2_map maps[3] = {
		{ .name = "arr", .type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8,
		  .max_entries = 4, .inner = -1 },
		{ .name = "h", .type = BPF_MAP_TYPE_HASH, .key_size = 4, .value_size = 8,
		  .max_entries = 4, .inner = -1 },
		/* big enough to be mmap()ed: the mapping must go with the map */
		{ .name = "big", .type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8,
		  .max_entries = 4096, .inner = -1 },
	};
	struct k2_err e = { 0 };
	int before, mappings;

	need_kernel();
	before = count_fds();
	mappings = count_lines("/proc/self/maps");
	for (int i = 0; i < 200; i++) {
		struct k2_kern_maps *km;
		struct k2_kern_prog *kp;
		struct k2_kern_result res;
		struct k2_input in = { .pkt_len = 64 };

		cr_assert_eq(k2_kern_maps_create(maps, 3, &km, &e), 0, "%s", e.msg);
		p.maps = maps;
		p.n_maps = 3;
		cr_assert_eq(k2_kern_prog_load(&p, km, NULL, &kp, &e), 0, "%s", e.msg);
		cr_assert_eq(k2_kern_run(kp, &in, NULL, &res, &e), 0, "%s", e.msg);
		k2_kern_prog_free(kp);
		cr_assert_lt(k2_kern_prog_load(&q, km, NULL, &kp, &e), 0);
		k2_kern_maps_free(km);
	}
	cr_expect_eq(count_fds(), before, "fds before %d, after %d", before, count_fds());
	cr_expect_leq(count_lines("/proc/self/maps"), mappings + 4, "mappings before %d, after %d",
		      mappings, count_lines("/proc/self/maps"));
}

/* *(u64 *)map_value(0) += 5 through MAP_IDX_VALUE, and r0 = old value: both encodings. */
Test(kern_load, maps_link_by_fd_array_and_by_rewritten_fds)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_LD | BPF_IMM | BPF_DW, .dst_reg = 1,
		  .src_reg = BPF_PSEUDO_MAP_IDX_VALUE, .imm = 0 },
		{ .imm = 0 },
		{ .code = BPF_LDX | BPF_MEM | BPF_DW, .dst_reg = 0, .src_reg = 1 },
		MOV64_X(2, 0),
		ADD64_K(2, 5),
		{ .code = BPF_STX | BPF_MEM | BPF_DW, .dst_reg = 1, .src_reg = 2 },
		EXIT,
	};
	struct k2_map map = { .name = ".bss", .type = BPF_MAP_TYPE_ARRAY, .key_size = 4,
			      .value_size = 8, .max_entries = 1, .internal = true, .inner = -1 };
	struct k2_prog p = mkprog("link", insns, 7);
	struct k2_err e = { 0 };

	need_kernel();
	p.maps = &map;
	p.n_maps = 1;
	for (int rewrite = 0; rewrite < 2; rewrite++) {
		struct k2_kern_load_opts o = { .sz = sizeof(o), .rewrite_fds = rewrite,
					       .log_level = 1, .log_buf = malloc(1 << 16),
					       .log_size = 1 << 16 };
		struct k2_kern_maps *km;
		struct k2_kern_prog *kp;
		struct k2_kern_result res;
		struct k2_input in = { .pkt_len = 64 };
		uint64_t v = 0;
		uint32_t zero = 0;

		cr_assert_eq(k2_kern_maps_create(&map, 1, &km, &e), 0, "%s", e.msg);
		cr_assert_eq(k2_kern_prog_load(&p, km, &o, &kp, &e), 0, "%s", e.msg);
		cr_expect(strstr(o.log_buf, "processed") != NULL, "log_level 1 keeps the log");
		for (int r = 0; r < 3; r++) {
			cr_assert_eq(k2_kern_run(kp, &in, NULL, &res, &e), 0, "%s", e.msg);
			cr_expect_eq(res.retval, 5u * (uint32_t)r);
		}
		cr_assert_eq(bpf_map_lookup_elem(k2_kern_maps_fd(km, 0), &zero, &v), 0);
		cr_expect_eq(v, 15u, "rewrite_fds %d", rewrite);
		cr_expect_eq(p.insns[0].src_reg, BPF_PSEUDO_MAP_IDX_VALUE,
			     "the program is not changed");
		k2_kern_prog_free(kp);
		k2_kern_maps_free(km);
		free(o.log_buf);
	}
}

/* repeat runs the program many times and reports a mean duration (the bench rank's use). */
Test(kern_load, repeat_reports_a_duration)
{
	struct k2_prog p = mkprog("good", good, sizeof(good) / sizeof(good[0]));
	struct k2_kern_run_opts ro = { .sz = sizeof(ro), .repeat = 10000 };
	struct k2_kern_prog *kp;
	struct k2_kern_result res;
	struct k2_input in = { .pkt_len = 64 };
	struct k2_err e = { 0 };

	need_kernel();
	cr_assert_eq(k2_kern_prog_load(&p, NULL, NULL, &kp, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_kern_run(kp, &in, &ro, &res, &e), 0, "%s", e.msg);
	cr_expect_eq(res.retval, 7u);
	cr_expect_lt(res.duration_ns, 100000u);
	k2_kern_prog_free(kp);
}
