/* tests/kernel/diff_semantics.c: every .k2t case of tests/semantics checked in the kernel. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_bench/k2_kern.h"

#define CASE_DIR "tests/semantics"

struct tally {
	int files, checked, skipped, rejected_ok, failed, expects;
	int unchecked; /* expectations the kernel cannot show (effects, tail calls, err_insn) */
};

static void need_kernel(void)
{
	struct k2_err e = { 0 };

	if (k2_kern_probe(&e))
		cr_skip_test("kernel tests skipped: %s", e.msg);
}

static bool expect_ok_status(const struct k2_case *c)
{
	for (uint32_t i = 0; i < c->n_exp; i++)
		if (c->exp[i].kind == K2_EXP_STATUS && c->exp[i].val != K2_RUN_OK)
			return false;
	return true;
}

static int fail(struct tally *t, const char *name, uint32_t line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(struct tally *t, const char *name, uint32_t line, const char *fmt, ...)
{
	va_list ap;

	printf("%s:%u: kernel: ", name, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	t->failed++;
	return -1;
}

/* One expectation against the kernel's outputs; 1 if it cannot be shown by the kernel. */
static int check(const struct k2_case *c, const struct k2_expect *x, const struct k2_kern_result *r,
		 const struct k2_mapstate *ms, struct tally *t)
{
	uint8_t val[4096];
	uint32_t got32;

	switch (x->kind) {
	case K2_EXP_R0:
		if (r->retval != (uint32_t)x->val)
			return fail(t, c->name, x->line, "expected r0 = %u (low 32 bits), got %u",
				    (uint32_t)x->val, r->retval);
		return 0;
	case K2_EXP_STATUS:
		return 0; /* ok: the program loaded and ran */
	case K2_EXP_PKT:
		if (r->pkt_len != x->len || memcmp(r->pkt, x->bytes, x->len))
			return fail(t, c->name, x->line, "packet differs (%u bytes, expected %u)",
				    r->pkt_len, x->len);
		return 0;
	case K2_EXP_META_LEN:
		if (r->meta_len != x->val)
			return fail(t, c->name, x->line, "expected meta_len %llu, got %u",
				    (unsigned long long)x->val, r->meta_len);
		return 0;
	case K2_EXP_MAP:
		if (x->len > sizeof(val) || k2_mapstate_lookup(ms, x->map, x->key, val))
			return fail(t, c->name, x->line, "map %u: key absent in the kernel",
				    x->map);
		if (memcmp(val, x->bytes, x->len))
			return fail(t, c->name, x->line, "map %u: value differs", x->map);
		return 0;
	case K2_EXP_MAP_ABSENT:
		if (k2_mapstate_lookup(ms, x->map, x->key, val) != -ENOENT)
			return fail(t, c->name, x->line, "map %u: key present in the kernel",
				    x->map);
		return 0;
	case K2_EXP_CTX32:
		if (x->val + 4 > r->ctx_len)
			return fail(t, c->name, x->line, "ctx_out has %u bytes", r->ctx_len);
		memcpy(&got32, r->ctx + x->val, 4);
		if (got32 != (uint32_t)x->val2)
			return fail(t, c->name, x->line, "ctx @%llu: expected %u, got %u",
				    (unsigned long long)x->val, (uint32_t)x->val2, got32);
		return 0;
	default:
		return 1;
	}
}

/* A case the model calls an error: the verifier must reject it. */
static void run_rejected(struct k2_case *c, struct k2_kern_maps *km, struct tally *t)
{
	struct k2_kern_prog *kp;
	struct k2_err e = { 0 };

	if (k2_kern_prog_load(&c->prog, km, NULL, &kp, &e) == 0) {
		k2_kern_prog_free(kp);
		fail(t, c->name, 0, "the verifier accepted a program the model calls an error");
		return;
	}
	t->rejected_ok++;
}

static void run_case(struct k2_case *c, struct tally *t)
{
	struct k2_kern_maps *km = NULL;
	struct k2_kern_prog *kp = NULL;
	struct k2_mapstate *ms = NULL;
	struct k2_kern_result *r = calloc(1, sizeof(*r));
	struct k2_err e = { 0 };
	int before = t->failed;

	cr_assert_not_null(r);
	if (k2_kern_maps_create(c->prog.maps, c->prog.n_maps, &km, &e)) {
		fail(t, c->name, 0, "%s", e.msg);
		goto out;
	}
	if (!expect_ok_status(c)) {
		run_rejected(c, km, t);
		goto out;
	}
	if (k2_kern_prog_load(&c->prog, km, NULL, &kp, &e) ||
	    k2_kern_maps_fill(km, c->ms, &e) || k2_kern_run(kp, &c->in, NULL, r, &e) ||
	    k2_mapstate_new(c->prog.maps, c->prog.n_maps, k2_mapstate_ncpus(c->ms), &ms, &e) ||
	    k2_kern_maps_read(km, ms, &e)) {
		fail(t, c->name, 0, "%s", e.msg);
		goto out;
	}
	for (uint32_t i = 0; i < c->n_exp; i++) {
		int u = check(c, &c->exp[i], r, ms, t);

		t->expects += u == 0;
		t->unchecked += u == 1;
	}
	if (t->failed == before)
		t->checked++;
out:
	k2_mapstate_free(ms);
	k2_kern_prog_free(kp);
	k2_kern_maps_free(km);
	free(r);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

Test(diff_semantics, every_case_holds_in_the_kernel, .timeout = 120)
{
	struct dirent **ents;
	struct tally t = { 0 };
	int n;

	need_kernel();
	n = scandir(CASE_DIR, &ents, NULL, by_name);
	cr_assert_gt(n, 0, "no %s directory (run from the top of the tree)", CASE_DIR);
	for (int i = 0; i < n; i++) {
		const char *f = ents[i]->d_name;
		size_t l = strlen(f);
		char path[512];
		struct k2_case *c;
		struct k2_err e = { 0 };

		if (l < 5 || strcmp(f + l - 4, ".k2t")) {
			free(ents[i]);
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", CASE_DIR, f);
		free(ents[i]);
		t.files++;
		if (k2_case_load(path, &c, &e)) {
			fail(&t, path, 0, "cannot load: %s", e.msg);
			continue;
		}
		if (c->kernel_skip[0])
			t.skipped++;
		else
			run_case(c, &t);
		k2_case_free(c);
	}
	free(ents);
	printf("semantics cases in the kernel: %d files, %d hold (%d expectations checked, %d "
	       "only the interpreter can show), %d rejected by the verifier as the model says, "
	       "%d skipped (kernel skip), %d failed\n",
	       t.files, t.checked, t.expects, t.unchecked, t.rejected_ok, t.skipped, t.failed);
	cr_expect_eq(t.failed, 0, "%d case expectations do not hold in the kernel", t.failed);
	cr_expect_gt(t.checked, 0);
}

/*
 * Beyond the written expectations: each runnable case's whole output (r0, packet, ctx_out,
 * maps) in the kernel and in the interpreter, compared.
 */
Test(diff_semantics, every_case_agrees_with_the_interpreter, .timeout = 120)
{
	struct k2_diff_opts dopts = { .sz = sizeof(dopts) };
	struct dirent **ents;
	int n, compared = 0, differ = 0;

	need_kernel();
	n = scandir(CASE_DIR, &ents, NULL, by_name);
	cr_assert_gt(n, 0);
	for (int i = 0; i < n; i++) {
		const char *f = ents[i]->d_name;
		size_t l = strlen(f);
		char path[512];
		struct k2_case *c = NULL;
		struct k2_diff *d = NULL;
		struct k2_diff_outcome o;
		struct k2_err e = { 0 };

		snprintf(path, sizeof(path), "%s/%s", CASE_DIR, f);
		free(ents[i]);
		if (l < 5 || strcmp(path + strlen(path) - 4, ".k2t") || k2_case_load(path, &c, &e))
			continue;
		if (!c->kernel_skip[0] && expect_ok_status(c) &&
		    !k2_diff_new(&c->prog, &dopts, &d, &e)) {
			cr_assert_eq(k2_diff_run(d, &c->in, &o, &e), 0, "%s: %s", path, e.msg);
			compared++;
			if (o.mismatch) {
				differ++;
				printf("%s: kernel and interpreter differ: %s\n", path, o.what);
			}
		}
		k2_diff_free(d);
		k2_case_free(c);
	}
	free(ents);
	printf("semantics cases, kernel vs interpreter: %d compared, %d differ\n", compared,
	       differ);
	cr_expect_gt(compared, 0);
	cr_expect_eq(differ, 0);
}
