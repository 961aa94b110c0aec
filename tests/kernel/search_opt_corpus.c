/* tests/kernel/search_opt_corpus.c: `k2 opt` on corpus objects: smaller, re-proven, loadable. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "smt/k2smt.h"
#include "tests/kernel/corpus_util.h"

/*
 * Runs the real command (fixed seed and proposal counts, so the run is the same everywhere),
 * then checks its output as a user would: `k2 equiv` proves it, libbpf opens and loads the
 * written object, z3 proves every program of it equivalent to the input's (here too), and it
 * has fewer instructions.
 */
static void opt_corpus(const char *name, const char *iters)
{
	char in[4096], out[4096], cmd[9000], dir[] = "/tmp/k2-opt-XXXXXX";
	const char *b = getenv("K2_BUILD");
	struct k2_object *oa, *ob;
	struct bpf_object *bo;
	struct k2_smt *smt;
	struct k2_err e = { 0 };
	uint32_t before = 0, after = 0;
	int rc, err;

	corpus_need_bpf();
	corpus_path(in, sizeof(in), name);
	cr_assert_not_null(mkdtemp(dir));
	snprintf(out, sizeof(out), "%s/%s.o", dir, name);
	snprintf(cmd, sizeof(cmd), "%s/k2 opt %s -o %s --seed 1 --iters %s", b && *b ? b : "build",
		 in, out, iters);
	rc = system(cmd);
	cr_assert(WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "%s: exit %d", cmd, rc);

	/* `k2 equiv` says 0 only for a proof. */
	snprintf(cmd, sizeof(cmd), "%s/k2 equiv %s %s", b && *b ? b : "build", in, out);
	rc = system(cmd);
	cr_assert(WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "%s: exit %d", cmd, rc);

	bo = bpf_object__open_file(out, NULL);
	cr_assert_not_null(bo, "%s: libbpf cannot open it", out);
	err = bpf_object__load(bo);
	cr_assert_eq(err, 0, "%s: the kernel refuses it: %s", out, strerror(-err));
	bpf_object__close(bo);

	cr_assert_eq(k2_object_open(in, &oa, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_object_open(out, &ob, &e), 0, "%s", e.msg);
	cr_assert_eq(oa->n_progs, ob->n_progs);
	cr_assert_eq(k2_smt_new(NULL, &smt, &e), 0, "%s", e.msg);
	for (uint32_t i = 0; i < oa->n_progs; i++) {
		enum k2_verdict v = K2_UNKNOWN;

		before += oa->progs[i].n_main;
		after += ob->progs[i].n_main;
		cr_assert_eq(k2_smt_equiv_prog(smt, &oa->progs[i], &ob->progs[i], &v, NULL, &e), 0,
			     "%s", e.msg);
		cr_expect_eq(v, K2_EQUIVALENT, "%s: %s: z3 does not prove the output equivalent (%s)",
			     name, oa->progs[i].name, k2_smt_reason(smt));
	}
	printf("%s: %u -> %u slots, loaded by the kernel, z3: equivalent\n", name, before, after);
	cr_expect_lt(after, before, "%s: nothing was reduced", name);
	k2_smt_free(smt);
	k2_object_free(oa);
	k2_object_free(ob);
	unlink(out);
	rmdir(dir);
}

Test(search_opt_corpus, map_hash_lookup, .timeout = 300)
{
	opt_corpus("map_hash_lookup", "60000");
}

Test(search_opt_corpus, sock_tcp_ports, .timeout = 300)
{
	opt_corpus("sock_tcp_ports", "60000");
}
