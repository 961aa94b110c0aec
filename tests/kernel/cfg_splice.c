/* tests/kernel/cfg_splice.c: spliced rewrites of every corpus program load and run as the
 * originals. */
#include <glob.h>

#include "tests/kernel/corpus_util.h"

#define LEGACY_OBJ "tp_syscall_count" /* legacy "maps" section: libbpf 1.x cannot open it */
#define N_PKTS	   64

/* Registers and 8-byte stack slots dead where a window ends get garbage, as a candidate may. */
static uint32_t clobbers(const struct k2_analysis *an, const struct k2_win *w, struct bpf_insn *out)
{
	struct k2_stackset live;
	uint32_t n = 0;

	k2_win_stack_out(an, w, &live);
	for (int r = 0; r < 10; r++)
		if (!(w->live_out >> r & 1))
			k2_insn_encode(K2_OP_MOV64_K, (uint8_t)r, 0, 0, 0x5eed00 + r, &out[n++]);
	for (int s = K2_STACK_SLOTS - 1; s >= 0 && n < 14; s--)
		if (!(live.w[s / 8] >> ((s % 8) * 8) & 0xff))
			k2_insn_encode(K2_OP_STDW, K2_REG_FP, 0, (int16_t)(s * 8 - K2_STACK_BYTES),
				       0x7a7a7a7a, &out[n++]);
	return n;
}

/* Rewrites every window of the main function and puts the program back into the object. */
static uint32_t rewrite_prog(const char *path, struct k2_object *obj, struct k2_prog *prog)
{
	struct k2_win_opts wo = { .sz = sizeof(wo), .main_only = true };
	struct k2_splice_opts so = { .sz = sizeof(so), .n_main = prog->n_main };
	struct k2_analysis *an;
	struct k2_win *w;
	struct k2_edit *ed;
	struct bpf_insn *out;
	uint32_t n, n_out, n_main, added = 0;
	int32_t *map = malloc(prog->n_insns * sizeof(*map));
	struct k2_err e = { 0 };

	cr_assert_eq(k2_analysis_new(prog, NULL, &an, &e), 0, "%s: %s", path, e.msg);
	cr_assert_eq(k2_wins_select(an, &wo, &w, &n, &e), 0, "%s: %s", path, e.msg);
	ed = calloc(n + 1, sizeof(*ed));
	for (uint32_t k = 0; k < n; k++) {
		uint32_t len = w[k].end - w[k].start;
		struct bpf_insn *r = malloc((len + 14) * sizeof(*r));

		memcpy(r, &prog->insns[w[k].start], len * sizeof(*r));
		ed[k] = (struct k2_edit){ w[k].start, w[k].end, r,
					  len + clobbers(an, &w[k], &r[len]) };
		added += ed[k].n - len;
	}
	cr_assert_eq(
		k2_splice(prog->insns, prog->n_insns, ed, n, &so, &out, &n_out, &n_main, map, &e),
		0, "%s: %s", path, e.msg);
	cr_assert_eq(k2_object_set_main(obj, prog, out, n_out, map, &e), 0, "%s: %s", path, e.msg);
	for (uint32_t k = 0; k < n; k++)
		free((void *)ed[k].repl);
	free(ed);
	free(w);
	free(out);
	free(map);
	k2_analysis_free(an);
	return added;
}

static int run_kind(uint32_t type)
{
	if (type == BPF_PROG_TYPE_XDP)
		return 0;
	if (type == BPF_PROG_TYPE_SCHED_CLS || type == BPF_PROG_TYPE_SCHED_ACT ||
	    type == BPF_PROG_TYPE_SOCKET_FILTER)
		return 1;
	return -1; /* tracing: loaded, not run */
}

/* corpus_run() that reports a refused run (errno) instead of failing the test. */
static int test_run(int prog_fd, const void *pkt, uint32_t len, int skb, struct corpus_run *r)
{
	struct __sk_buff ctx_in = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = len, .data_out = r->out,
		    .data_size_out = sizeof(r->out), .repeat = 1);

	memset(r, 0, sizeof(*r));
	if (skb) {
		o.ctx_in = &ctx_in;
		o.ctx_size_in = sizeof(ctx_in);
		o.ctx_out = &r->skb;
		o.ctx_size_out = sizeof(r->skb);
	}
	if (bpf_prog_test_run_opts(prog_fd, &o))
		return errno;
	r->retval = o.retval;
	r->len = o.data_size_out;
	return 0;
}

static void compare_in_kernel(const char *path, struct bpf_object *a, struct bpf_object *b, int skb)
{
	struct k2_pktgen_opts po = { .sz = sizeof(po), .max_len = 1500 };
	struct corpus_run *x = malloc(sizeof(*x)), *y = malloc(sizeof(*y));
	uint8_t pkt[1600];
	struct k2_rng rng;
	int ea, eb;

	k2_rng_seed(&rng, 7);
	for (int i = 0; i < N_PKTS; i++) {
		int len = k2_pktgen(&rng, &po, pkt, sizeof(pkt), NULL);

		cr_assert_gt(len, 0);
		ea = test_run(corpus_prog_fd(a), pkt, (uint32_t)len, skb, x);
		eb = test_run(corpus_prog_fd(b), pkt, (uint32_t)len, skb, y);
		cr_assert_eq(ea, eb, "%s packet %d: test_run %d vs %d", path, i, ea, eb);
		if (ea)
			continue; /* the kernel refuses this packet for this program type */
		cr_assert_eq(x->retval, y->retval, "%s packet %d: %u vs %u", path, i, x->retval,
			     y->retval);
		cr_assert_eq(x->len, y->len, "%s packet %d", path, i);
		cr_assert(!memcmp(x->out, y->out, x->len), "%s packet %d: data differs", path, i);
		cr_assert(!skb || !memcmp(&x->skb, &y->skb, sizeof(x->skb)), "%s packet %d: skb",
			  path, i);
	}
	free(x);
	free(y);
}

Test(cfg_splice, rewritten_corpus_programs_load_and_run_the_same, .timeout = 600)
{
	char pattern[4096];
	glob_t g;
	int loaded = 0, ran = 0;

	corpus_need_bpf();
	corpus_path(pattern, sizeof(pattern), "*");
	cr_assert_eq(glob(pattern, 0, NULL, &g), 0, "no %s: run `make corpus`", pattern);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		const char *path = g.gl_pathv[i];
		char tmp[] = "/tmp/k2-cfg-splice-XXXXXX";
		struct k2_object *obj;
		struct bpf_object *orig, *mod;
		struct k2_err e = { 0 };
		uint32_t added = 0;
		int fd, kind, err;

		if (strstr(path, "/" LEGACY_OBJ ".o"))
			continue;
		cr_assert_eq(k2_object_open(path, &obj, &e), 0, "%s", e.msg);
		for (uint32_t p = 0; p < obj->n_progs; p++)
			added += rewrite_prog(path, obj, &obj->progs[p]);
		kind = obj->n_progs == 1 ? run_kind(obj->progs[0].type) : -1;
		fd = mkstemp(tmp);
		cr_assert_geq(fd, 0);
		close(fd);
		cr_assert_eq(k2_object_write(obj, tmp, &e), 0, "%s: %s", path, e.msg);
		k2_object_free(obj);

		orig = bpf_object__open_file(path, NULL);
		mod = bpf_object__open_file(tmp, NULL);
		cr_assert(orig && mod, "%s: open: %s", path, strerror(errno));
		cr_assert_eq(bpf_object__load(orig), 0, "%s", path);
		err = bpf_object__load(mod);
		cr_assert_eq(err, 0,
			     "%s with %u instructions of clobbers: the verifier refused it: %s",
			     path, added, strerror(-err));
		loaded++;
		if (kind >= 0) {
			compare_in_kernel(path, orig, mod, kind);
			ran++;
		}
		printf("cfg_splice %s: +%u instructions, loads%s\n", path, added,
		       kind >= 0 ? ", runs the same" : "");
		bpf_object__close(orig);
		bpf_object__close(mod);
		unlink(tmp);
	}
	globfree(&g);
	cr_expect_geq(loaded, 12, "only %d objects", loaded);
	cr_expect_geq(ran, 10, "only %d objects run", ran);
}
