/* tests/kernel/bench_util.h: programs and kernel checks shared by the bench_*.c tests. */
#ifndef TESTS_BENCH_UTIL_H
#define TESTS_BENCH_UTIL_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_bench/k2_bench.h"
#include "kernel_bench/k2_kern.h"

/* The bench needs bpf(); the tests say why they skip where it is missing. */
static inline void bench_need_kernel(void)
{
	struct k2_err e = { 0 };

	if (k2_kern_probe(&e)) {
		fprintf(stderr, "SKIP: kernel: not checked (%s)\n", e.msg);
		cr_skip_test("kernel: not checked (%s)", e.msg);
	}
}

/* An XDP program from assembler text (k2_asm_prog); the caller frees p->insns. */
static inline struct k2_prog bench_prog(const char *name, const char *text)
{
	struct k2_prog p;
	struct k2_err e = { 0 };
	size_t n = 0;

	memset(&p, 0, sizeof(p));
	snprintf(p.name, sizeof(p.name), "%s", name);
	snprintf(p.sec, sizeof(p.sec), "xdp");
	p.type = BPF_PROG_TYPE_XDP;
	p.license = "GPL";
	cr_assert_eq(k2_asm_prog(text, &p.insns, &n, &e), 0, "%s: %s", name, e.msg);
	p.n_insns = p.n_main = (uint32_t)n;
	return p;
}

/* `r0 = XDP_PASS` after n ALU instructions on r0 (a dependency chain the JIT keeps). */
static inline char *bench_alu_text(uint32_t n, int verdict)
{
	char *t = malloc(32 * (size_t)n + 64);
	size_t o = 0;

	cr_assert_not_null(t);
	o += (size_t)sprintf(t + o, "r0 = 0\n");
	for (uint32_t i = 0; i < n; i++)
		o += (size_t)sprintf(t + o, i % 2 ? "r0 ^= 1234\n" : "r0 += 77\n");
	sprintf(t + o, "r0 = %d\nexit\n", verdict);
	return t;
}

#endif
