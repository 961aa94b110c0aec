/* tests/kernel/diff_random.c: random programs and inputs agree in kernel and interpreter. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kernel_bench/k2_kern.h"

/*
 * Open entries of /work/coord/mismatches.md: what the interpreter does not model yet, kept
 * out of the exactness tests below (and checked to still differ, so that a fixed entry is
 * noticed and its line removed). Everything else must agree bit for bit.
 */
struct known {
	const char *entry;
	uint32_t ignore;    /* K2_DIFF_* kinds not compared */
	uint32_t helper;    /* helper the generator must not call, 0 for none */
};

/*
 * Fixed by the interpreter and dropped from here: K1 (pkt_type on lo), K2 (skb ctx_out),
 * K3 (6.18 csum_diff), K4 (l3/l4_csum_replace checks). Add one as, e.g.,
 *	{ "K2: skb ctx_out carries derived __sk_buff fields", K2_DIFF_CTX, 0 },
 *	{ "K3: csum_diff sizes that are not multiples of 4", 0, BPF_FUNC_csum_diff },
 */
static const struct known known[] = {
	{ NULL, 0, 0 },
};

static void need_kernel(void)
{
	struct k2_err e = { 0 };

	if (k2_kern_probe(&e))
		cr_skip_test("kernel tests skipped: %s", e.msg);
}

/* Excludes every open entry but `keep` (NULL: all of them). */
static void exclude_known(struct k2_fuzz_opts *o, const struct known *keep)
{
	for (const struct known *k = known; k->entry; k++) {
		if (k == keep)
			continue;
		o->ignore |= k->ignore;
		if (k->helper)
			o->no_helpers[k->helper / 64] |= 1ull << (k->helper % 64);
	}
}

static void run(const char *what, struct k2_fuzz_opts *o)
{
	struct k2_fuzz_stats st;
	struct k2_err e = { 0 };
	char path[] = "/tmp/k2_diff_XXXXXX";
	int fd;

	need_kernel();
	exclude_known(o, NULL);
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	o->report = fdopen(fd, "w+");
	o->max_reports = 3;
	cr_assert_eq(k2_fuzz_semantics(o, &st, &e), 0, "%s", e.msg);
	printf("%s: ", what);
	k2_fuzz_stats_print(stdout, &st);
	if (st.mismatches || st.rejected) {
		char line[512];

		/* The first entries (reduced programs) say what differed. */
		rewind(o->report);
		for (int i = 0; i < 120 && fgets(line, sizeof(line), o->report); i++)
			fputs(line, stdout);
	}
	fclose(o->report);
	unlink(path);
	cr_expect_eq(st.rejected - st.verifier_bugs, 0,
		     "%s: %llu programs rejected by the verifier", what,
		     (unsigned long long)st.rejected);
	cr_expect_eq(st.mismatches, 0, "%s: %llu mismatches", what,
		     (unsigned long long)st.mismatches);
	cr_expect_eq(st.runs, (st.progs - st.rejected) * o->n_inputs);
}

Test(diff_random, mixed_programs_agree, .timeout = 300)
{
	struct k2_fuzz_opts o = { .sz = sizeof(o), .seed = 2024, .n_progs = 8000, .n_inputs = 4 };

	run("mixed", &o);
}

Test(diff_random, long_programs_agree, .timeout = 300)
{
	struct k2_fuzz_opts o = { .sz = sizeof(o), .seed = 77, .n_progs = 300, .n_inputs = 4,
				  .n_insns = 600 };

	run("long", &o);
}

Test(diff_random, loops_atomics_and_maps_agree, .timeout = 300)
{
	struct k2_fuzz_opts o = { .sz = sizeof(o), .seed = 5, .n_progs = 600, .n_inputs = 4 };

	k2_gen_default_mix(o.mix);
	o.mix[K2_GEN_LOOP] = 8;
	o.mix[K2_GEN_ATOMIC] = 10;
	o.mix[K2_GEN_MAP] = 15;
	run("loops, atomics, maps", &o);
}

Test(diff_random, helpers_and_packets_agree, .timeout = 300)
{
	struct k2_fuzz_opts o = { .sz = sizeof(o), .seed = 9, .n_progs = 600, .n_inputs = 6 };

	k2_gen_default_mix(o.mix);
	o.mix[K2_GEN_CALL] = 12;
	o.mix[K2_GEN_PKT] = 12;
	o.mix[K2_GEN_CTX] = 8;
	run("helpers, packets, ctx", &o);
}

Test(diff_random, isa_v1_programs_agree, .timeout = 300)
{
	struct k2_fuzz_opts o = { .sz = sizeof(o), .seed = 11, .n_progs = 300, .n_inputs = 4,
				  .isa = K2_ISA_V1 };

	run("ISA v1", &o);
}

/* Each open entry still shows: when one no longer does, it was fixed; drop its line above. */
Test(diff_random, known_entries_still_differ, .timeout = 300)
{
	need_kernel();
	for (const struct known *k = known; k->entry; k++) {
		struct k2_fuzz_opts o = {
			.sz = sizeof(o), .seed = 3, .n_progs = 300, .n_inputs = 4
		};
		struct k2_fuzz_stats st;
		struct k2_err e = { 0 };

		k2_gen_default_mix(o.mix);
		o.mix[K2_GEN_CALL] = 30;
		/* Every other entry excluded: what still differs is this one. */
		exclude_known(&o, k);
		cr_assert_eq(k2_fuzz_semantics(&o, &st, &e), 0, "%s", e.msg);
		if (!st.mismatches)
			printf("known entry \"%s\" no longer differs in %llu runs: remove it "
			       "from tests/kernel/diff_random.c\n", k->entry,
			       (unsigned long long)st.runs);
		else
			printf("known entry \"%s\": still %llu of %llu runs differ\n", k->entry,
			       (unsigned long long)st.mismatches, (unsigned long long)st.runs);
	}
}
