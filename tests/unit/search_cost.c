/* tests/unit/search_cost.c: the error cost: what counts, that it never allocates; latency table. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "search/search_int.h"
#include "tests/unit/interp_util.h"

/*
 * Counting allocations: malloc and friends are interposed for this binary (not under
 * AddressSanitizer, which owns them there); only the calling thread's calls count.
 */
#if !defined(__SANITIZE_ADDRESS__)
#define COUNT_ALLOCS 1
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t a, size_t b);
extern void *__libc_realloc(void *p, size_t n);
static __thread volatile int counting;
static __thread volatile long allocs;

void *malloc(size_t n)
{
	allocs += counting;
	return __libc_malloc(n);
}

void *calloc(size_t a, size_t b)
{
	allocs += counting;
	return __libc_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
	allocs += counting;
	return __libc_realloc(p, n);
}
#endif

static const char *xdp_text = "r2 = *(u32 *)(r1 + 0)\n"
			      "r3 = *(u32 *)(r1 + 4)\n"
			      "r4 = r2\n"
			      "r4 += 14\n"
			      "if r4 > r3 goto out\n"
			      "r5 = *(u8 *)(r2 + 12)\n" /* window [5, 11) */
			      "r4 = *(u8 *)(r2 + 13)\n"
			      "r4 <<= 8\n"
			      "r4 |= r5\n"
			      "*(u64 *)(r10 - 16) = r4\n" /* dead: never read */
			      "*(u16 *)(r10 - 8) = r4\n"
			      "r0 = *(u16 *)(r10 - 8)\n"
			      "exit\n"
			      "out:\n"
			      "r0 = 1\n"
			      "exit\n";

struct fixture {
	struct k2_prog p;
	struct k2_vm *vm;
	struct k2_analysis *an;
	struct k2_inputs *in;
	struct k2_wsearch *s;
	struct k2_win w;
};

static void setup_fixture(struct fixture *f, uint32_t s, uint32_t e_)
{
	struct k2_wstate **t;
	struct k2_err e = { 0 };
	uint32_t n, reached;

	f->p = prog_of(BPF_PROG_TYPE_XDP, xdp_text, NULL, 0);
	f->vm = vm_of(&f->p);
	cr_assert_eq(k2_analysis_new(&f->p, NULL, &f->an, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_win_describe(f->an, s, e_, &f->w, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_inputs_new(&f->p, f->vm, NULL, 64, 9, &f->in, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_inputs_window_tests(f->in, f->an, &f->w, 32, 1, &t, &n, &reached, &e), 0,
		     "%s", e.msg);
	cr_assert_eq(n, 32);
	cr_assert_gt(reached, 0);
	K2_WSEARCH_OPTS(o, .seed = 1, .no_prove = true);
	cr_assert_eq(k2_wsearch_new(f->vm, f->an, &f->w, t, n, &o, &f->s, &e), 0, "%s", e.msg);
	k2_tests_free(t, n);
}

static void teardown_fixture(struct fixture *f)
{
	k2_wsearch_free(f->s);
	k2_inputs_free(f->in);
	k2_analysis_free(f->an);
	k2_vm_free(f->vm);
	free(f->p.insns);
}

static struct k2_wscore score_of(struct fixture *f, const char *text)
{
	struct k2_wscore sc;
	struct k2_err e = { 0 };
	uint32_t n;
	struct bpf_insn *c = insns_of(text, &n);

	cr_assert_eq(k2_wsearch_score(f->s, c, n, &sc, &e), 0, "%s", e.msg);
	free(c);
	return sc;
}

Test(search_cost, what_the_error_counts)
{
	struct fixture f;
	struct k2_wscore sc;

	setup_fixture(&f, 5, 11);
	/* live out: r4 (read by nothing after? no: r0 is read from the stack slot), fp-8 */
	sc = score_of(&f, "r5 = *(u8 *)(r2 + 12)\nr4 = *(u8 *)(r2 + 13)\nr4 <<= 8\nr4 |= r5\n"
			  "*(u64 *)(r10 - 16) = r4\n*(u16 *)(r10 - 8) = r4\n");
	cr_expect_eq(sc.error, 0);
	cr_expect_eq(sc.unsafe, 0);
	cr_expect_float_eq(sc.perf, 6, 1e-9);
	cr_expect_float_eq(sc.cost, 6, 1e-9);
	/* The dead store to fp-16 is no output: dropping it costs nothing. */
	sc = score_of(&f, "r4 = *(u16 *)(r2 + 12)\n*(u16 *)(r10 - 8) = r4\n");
	cr_expect_eq(sc.error, 0);
	cr_expect_float_eq(sc.cost, 2, 1e-9);
	/* Missing the live store to fp-8: its bytes differ on every test. */
	sc = score_of(&f, "r4 = *(u16 *)(r2 + 12)\n");
	cr_expect_gt(sc.error, 0);
	cr_expect_eq(sc.failing, 32);
	/* Reading a register that is not live-in is an unsafe run. */
	sc = score_of(&f, "r4 = r7\n*(u16 *)(r10 - 8) = r4\n");
	cr_expect_eq(sc.unsafe, 32);
	cr_expect_geq(sc.cost, 32 * 100);
	teardown_fixture(&f);
}

Test(search_cost, k2_wout_error_skips_dead_stack_bytes)
{
	struct k2_wout a, b;
	struct k2_stackset live = { { 0 } };

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.r[3] = 0xff;
	b.r[3] = 0x0f;
	b.r[5] = 0xffffffff;
	cr_expect_eq(k2_wout_error(&a, &b, 1u << 3, &live, 0), 4);
	cr_expect_eq(k2_wout_error(&a, &b, 1u << 3 | 1u << 5, &live, 0), 36);
	b.t[5] = K2_T_PKT;
	cr_expect_eq(k2_wout_error(&a, &b, 1u << 5, &live, 0), 64);
	/* b changed stack byte 504 (fp-8) of frame 0 and a packet byte. */
	b.n_bytes = 2;
	b.bytes[0] = (struct k2_wbyte){ K2_ADDR(K2_RGN_STACK, 0, 504), 0, 0x81, 0, 1 };
	b.bytes[1] = (struct k2_wbyte){ K2_ADDR(K2_RGN_PKT, 0, 300), 0x10, 0x11, 1, 1 };
	cr_expect_eq(k2_wout_error(&a, &b, 0, &live, 0), 1, "dead stack byte ignored");
	live.w[504 / 64] |= 1ULL << (504 % 64);
	cr_expect_eq(k2_wout_error(&a, &b, 0, &live, 0), 1 + 2 + 8, "live: value and init");
	cr_expect_eq(k2_wout_error(&a, &b, 0, &live, 1), 1 + 2 + 8, "another frame counts");
	/* The same change on both sides is no difference. */
	a.n_bytes = 2;
	a.bytes[0] = b.bytes[0];
	a.bytes[1] = b.bytes[1];
	cr_expect_eq(k2_wout_error(&a, &b, 0, &live, 0), 0);
}

Test(search_cost, scoring_never_allocates)
{
#ifdef COUNT_ALLOCS
	struct fixture f;
	struct k2_rng r;
	struct k2_cell c[8];
	struct bpf_insn buf[18];
	uint32_t pos[9];
	struct k2_wscore sc;
	long runs = 0;

	/* The hook itself counts. */
	counting = 1;
	void *volatile probe = malloc(16);
	counting = 0;
	free(probe);
	cr_assert_eq(allocs, 1);
	allocs = 0;
	setup_fixture(&f, 5, 11);
	k2_rng_seed(&r, 4);
	memcpy(c, f.s->orig, f.s->n * sizeof(*c));
	counting = 1;
	allocs = 0;
	for (int k = 0; k < 20000; k++) {
		uint32_t m;

		if (k % 30 == 0)
			memcpy(c, f.s->orig, f.s->n * sizeof(*c));
		k2_propose(&f.s->pool, &r, c, f.s->n);
		m = k2_cells_compact(c, f.s->n, buf, pos);
		cr_assert_eq(k2_wsearch_score(f.s, buf, m, &sc, NULL), 0);
		runs += f.s->n_tests;
	}
	counting = 0;
	cr_expect_eq(allocs, 0, "%ld allocations in %ld window runs", allocs, runs);
	/* The chains' own loop too, when nothing reaches the prover. */
	counting = 1;
	allocs = 0;
	f.s->cfg.w_perf = 1000; /* no zero-error candidate is ever cheaper: no judging */
	cr_assert_eq(k2_wsearch_run(f.s, 20000, 0, NULL), 0);
	counting = 0;
	cr_expect_eq(allocs, 0, "%ld allocations in k2_wsearch_run", allocs);
	teardown_fixture(&f);
#else
	cr_skip_test("allocation counting is off under AddressSanitizer");
#endif
}

Test(search_cost, latency_table)
{
	char path[] = "/tmp/k2-latency-XXXXXX";
	struct k2_latency *lat;
	struct k2_err e = { 0 };
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");

	fputs("[meta]\nkernel = x\n[latency]\ndefault = 0.5\nadd64_k = 0.1\nmov64_k = 0.04\n"
	      "div64_x = 1.6\nlsh64_k = 0.1\n[latency.taken]\njeq64_k = 0.3\n", f);
	fclose(f);
	cr_assert_eq(k2_latency_load(path, &lat, &e), 0, "%s", e.msg);
	cr_expect_float_eq(k2_latency_ns(lat, K2_OP_ADD64_K), 0.1, 1e-12);
	cr_expect_float_eq(k2_latency_ns(lat, K2_OP_DIV64_X), 1.6, 1e-12);
	cr_expect_float_eq(k2_latency_ns(lat, K2_OP_XOR64_X), 0.5, 1e-12, "default");
	cr_expect_float_eq(k2_latency_unit(lat), 0.1, 1e-12, "median of the ALU entries");
	k2_latency_free(lat);
	f = fopen(path, "w");
	fputs("[latency]\nadd64_k = 0.1\nfrobnicate = 2\n", f);
	fclose(f);
	cr_expect_eq(k2_latency_load(path, &lat, &e), -ENOENT);
	cr_expect(strstr(e.msg, "frobnicate") && strstr(e.msg, ":3:"), "%s", e.msg);
	unlink(path);
	cr_expect_eq(k2_latency_load(path, &lat, &e), -ENOENT);
	cr_expect(strstr(e.msg, "bench-opcodes"), "%s", e.msg);
}
