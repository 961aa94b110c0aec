/* tests/kernel/corpus_util.h: loading corpus objects and running them with BPF_PROG_TEST_RUN. */
#ifndef TESTS_CORPUS_UTIL_H
#define TESTS_CORPUS_UTIL_H

#include <criterion/criterion.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpf/k2bpf.h"

/*
 * The kernel is the oracle here, so these tests need bpf(). Each test first checks
 * that a trivial program loads; where it cannot (no root, no CONFIG_BPF_SYSCALL,
 * a seccomp filter) the test is skipped with the reason, never silently passed.
 */
static inline void corpus_need_bpf(void)
{
	struct bpf_insn prog[2] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	/* XDP, not a socket filter: unprivileged users may load the latter but not the former. */
	int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "k2_probe", "GPL", prog, 2, NULL);

	if (fd < 0) {
		fprintf(stderr, "SKIP: kernel BPF unusable here (BPF_PROG_LOAD of XDP: %s)\n",
			strerror(errno));
		cr_skip_test("kernel BPF unusable here (BPF_PROG_LOAD of XDP: %s): skipping",
			     strerror(errno));
	}
	close(fd);
}

/* build/corpus/<name>.o, or $K2_BUILD/corpus/<name>.o. */
static inline void corpus_path(char *out, size_t n, const char *name)
{
	const char *b = getenv("K2_BUILD");

	snprintf(out, n, "%s/corpus/%s.o", b && *b ? b : "build", name);
}

/* Opens and loads one corpus object; the test fails (with libbpf's log) if the kernel refuses. */
static inline struct bpf_object *corpus_load(const char *name)
{
	char path[4096];
	struct bpf_object *obj;
	int err;

	corpus_need_bpf();
	corpus_path(path, sizeof(path), name);
	obj = bpf_object__open_file(path, NULL);
	cr_assert_not_null(obj, "%s: open: %s (run `make corpus`)", path, strerror(errno));
	err = bpf_object__load(obj);
	cr_assert_eq(err, 0, "%s: load: %s", path, strerror(-err));
	return obj;
}

static inline int corpus_prog_fd(struct bpf_object *obj)
{
	struct bpf_program *p = bpf_object__next_program(obj, NULL);

	cr_assert_not_null(p);
	return bpf_program__fd(p);
}

static inline int corpus_map_fd(struct bpf_object *obj, const char *name)
{
	int fd = bpf_object__find_map_fd_by_name(obj, name);

	cr_assert_geq(fd, 0, "no map %s", name);
	return fd;
}

/* An internal map (.bss, .data, .rodata): libbpf prefixes its name with part of the object's. */
static inline int corpus_global_fd(struct bpf_object *obj, const char *suffix)
{
	struct bpf_map *m;

	bpf_object__for_each_map(m, obj)
	{
		const char *n = bpf_map__name(m);
		size_t ln = strlen(n), ls = strlen(suffix);

		if (ln >= ls && !strcmp(n + ln - ls, suffix))
			return bpf_map__fd(m);
	}
	cr_assert_fail("no %s map", suffix);
	return -1;
}

struct corpus_run {
	uint32_t retval;
	uint32_t len; /* bytes of data_out */
	uint8_t out[4096];
	struct __sk_buff skb; /* ctx_out for skb programs */
};

/* One BPF_PROG_TEST_RUN of a packet; skb programs also get and return a __sk_buff. */
static inline void corpus_run(int prog_fd, const void *pkt, uint32_t len, int skb,
			      struct corpus_run *r)
{
	struct __sk_buff ctx_in = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = len, .data_out = r->out,
		    .data_size_out = sizeof(r->out), .repeat = 1);
	int err;

	memset(r, 0, sizeof(*r));
	if (skb) {
		o.ctx_in = &ctx_in;
		o.ctx_size_in = sizeof(ctx_in);
		o.ctx_out = &r->skb;
		o.ctx_size_out = sizeof(r->skb);
	}
	err = bpf_prog_test_run_opts(prog_fd, &o);
	cr_assert_eq(err, 0, "BPF_PROG_TEST_RUN: %s", strerror(errno));
	r->retval = o.retval;
	r->len = o.data_size_out;
}

/* Sum of a per-CPU u64 (or of the u64 at `off` in each CPU's value of `vsize` bytes). */
static inline uint64_t corpus_percpu_sum(int map_fd, uint32_t key, size_t vsize, size_t off)
{
	int ncpu = libbpf_num_possible_cpus();
	size_t stride = (vsize + 7) & ~(size_t)7;
	uint8_t *vals = calloc((size_t)ncpu, stride);
	uint64_t sum = 0, v;

	cr_assert_not_null(vals);
	cr_assert_eq(bpf_map_lookup_elem(map_fd, &key, vals), 0, "lookup %u", key);
	for (int c = 0; c < ncpu; c++) {
		memcpy(&v, vals + (size_t)c * stride + off, sizeof(v));
		sum += v;
	}
	free(vals);
	return sum;
}

/* Packets for the tests, built by the project's own generator from exact specs. */
static inline uint32_t corpus_pkt(const struct k2_pkt_spec *s, uint8_t *buf, size_t cap,
				  struct k2_pkt_info *in)
{
	int len = k2_pkt_build(s, buf, cap, in);

	cr_assert_gt(len, 0, "k2_pkt_build: %d", len);
	return (uint32_t)len;
}

static inline uint32_t corpus_ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	uint8_t v[4] = { a, b, c, d };
	uint32_t x;

	memcpy(&x, v, 4);
	return x;
}

static inline uint16_t corpus_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* A checksummed region sums to all ones (RFC 1071). */
static inline int corpus_csum_ok(const uint8_t *p, size_t n, uint32_t sum)
{
	return k2_csum_add(p, n, sum) == 0xffff;
}

#endif
