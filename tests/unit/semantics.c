/* tests/unit/semantics.c: runs every semantics case (tests/semantics) in the interpreter. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <glob.h>
#include <string.h>

#include "bpf/k2bpf.h"

struct sem_case {
	char path[256];
};

ParameterizedTestParameters(semantics, k2t)
{
	glob_t g;
	struct sem_case *p;
	size_t n;

	if (glob("tests/semantics/*.k2t", 0, NULL, &g) != 0)
		return cr_make_param_array(struct sem_case, NULL, 0);
	n = g.gl_pathc;
	p = cr_malloc(n * sizeof(*p));
	for (size_t i = 0; i < n; i++)
		snprintf(p[i].path, sizeof(p[i].path), "%s", g.gl_pathv[i]);
	globfree(&g);
	return cr_make_param_array(struct sem_case, p, n);
}

ParameterizedTest(struct sem_case *c, semantics, k2t)
{
	struct k2_case *kc;
	struct k2_err e = { 0 };

	cr_assert_eq(k2_case_load(c->path, &kc, &e), 0, "%s", e.msg);
	cr_expect_eq(k2_case_run(kc, &e), 0, "%s", e.msg);
	k2_case_free(kc);
}

/* The parameterised test above passes vacuously on an empty directory: guard that. */
Test(semantics, the_cases_are_there)
{
	glob_t g;

	cr_assert_eq(glob("tests/semantics/*.k2t", 0, NULL, &g), 0, "no tests/semantics/*.k2t");
	cr_expect_geq(g.gl_pathc, 100, "only %zu semantics cases", g.gl_pathc);
	globfree(&g);
}
