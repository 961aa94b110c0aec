/* tests/unit/cfg_objects.c: the analysis on xdp-tools and corpus objects, end to end. */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>

#include "tests/unit/cfg_prog.h"

#define N_INPUTS 40

struct objs {
	glob_t g[2];
};

static void objs_open(struct objs *o)
{
	const char *b = getenv("K2_BUILD");
	char pat[4096];

	snprintf(pat, sizeof(pat), "%s/corpus/*.o", b && *b ? b : "build");
	cr_assert_eq(glob("/usr/lib/x86_64-linux-gnu/bpf/*.o", 0, NULL, &o->g[0]), 0,
		     "xdp-tools objects missing (apt-get install xdp-tools)");
	cr_assert_eq(glob(pat, 0, NULL, &o->g[1]), 0, "no corpus objects in %s (run make corpus)",
		     pat);
}

static void objs_close(struct objs *o)
{
	globfree(&o->g[0]);
	globfree(&o->g[1]);
}

/* Calls fn on every program of every object. */
static void each_prog(void (*fn)(const char *path, const struct k2_prog *prog, void *arg),
		      void *arg)
{
	struct objs o;

	objs_open(&o);
	for (int s = 0; s < 2; s++)
		for (size_t i = 0; i < o.g[s].gl_pathc; i++) {
			struct k2_object *obj;
			struct k2_err e = { 0 };
			const char *path = o.g[s].gl_pathv[i];

			cr_assert_eq(k2_object_open(path, &obj, &e), 0, "%s", e.msg);
			for (uint32_t p = 0; p < obj->n_progs; p++)
				fn(path, &obj->progs[p], arg);
			k2_object_free(obj);
		}
	objs_close(&o);
}

static struct k2_analysis *analyze(const char *path, const struct k2_prog *prog)
{
	struct k2_analysis *an;
	struct k2_err e = { 0 };

	cr_assert_eq(k2_analysis_new(prog, NULL, &an, &e), 0, "%s: %s", path, e.msg);
	return an;
}

static const char *base(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static void check_types(const char *path, const struct k2_prog *prog, void *arg)
{
	struct k2_analysis *an = analyze(path, prog);
	struct k2_analysis_stats st;
	uint32_t *totals = arg;

	k2_analysis_stats(an, &st);
	printf("types %-26s %-20s insns %4u accesses %3u typed %3u const %3u safe %3u kernel %2u "
	       "violations %u\n",
	       base(path), prog->name, st.n_insns, st.n_access, st.n_typed, st.n_const, st.n_safe,
	       st.n_region[K2_MEM_KERNEL], st.n_violations);
	cr_expect_eq(st.n_typed, st.n_access, "%s %s: untyped accesses", path, prog->sec);
	cr_expect_eq(st.n_violations, 0, "%s %s: the kernel accepts it, yet: %s", path, prog->sec,
		     st.n_violations ? k2_absint_violations(an->ai, &(uint32_t){ 0 })[0].msg : "");
	/* Only kernel memory (tracing) stays unproven: its bounds are BTF's. */
	cr_expect_eq(st.n_safe + st.n_region[K2_MEM_KERNEL], st.n_access, "%s %s", path, prog->sec);
	totals[0] += st.n_access;
	totals[1] += st.n_typed;
	totals[2] += st.n_const;
	totals[3]++;
	k2_analysis_free(an);
}

Test(cfg_objects, every_access_is_typed_and_safe)
{
	uint32_t totals[4] = { 0 };

	each_prog(check_types, totals);
	printf("types: %u programs, %u accesses, %u typed, %u with constant offsets\n", totals[3],
	       totals[0], totals[1], totals[2]);
	cr_expect_gt(totals[3], 30);
}

/* What no window may hold (window.c's rules, restated). */
static bool banned(const struct bpf_insn *in)
{
	const struct k2_opinfo *oi = k2_op_info(k2_insn_op(in));

	return oi->kind == K2_KIND_CALL || oi->kind == K2_KIND_EXIT || oi->kind == K2_KIND_LDABS ||
	       oi->kind == K2_KIND_LDIND || (oi->kind == K2_KIND_LDDW && in->src_reg);
}

static void check_windows(const char *path, const struct k2_prog *prog, void *arg)
{
	struct k2_analysis *an = analyze(path, prog);
	struct k2_win *w;
	uint32_t n, covered = 0, *in_win = calloc(prog->n_insns, sizeof(*in_win)), maxw = 0;
	uint32_t *totals = arg, n_insns = 0;
	struct k2_err e = { 0 };

	cr_assert_eq(k2_wins_select(an, NULL, &w, &n, &e), 0, "%s: %s", path, e.msg);
	for (uint32_t k = 0; k < n; k++) {
		cr_expect_eq(k2_win_check(an, w[k].start, w[k].end, &e), 0, "%s", e.msg);
		cr_expect_leq(w[k].end - w[k].start, 16);
		cr_expect(k == 0 || w[k].start >= w[k - 1].end);
		for (uint32_t i = w[k].start; i < w[k].end; i++)
			in_win[i] = 1;
		covered += w[k].n_insns;
		maxw = w[k].n_insns > maxw ? w[k].n_insns : maxw;
	}
	/* Any reached instruction that is no branch and not banned is a window by itself,
	 * so a partition of maximal coverage leaves none of them out. */
	for (uint32_t i = 0; i < prog->n_insns; i++) {
		const struct bpf_insn *in = &prog->insns[i];
		bool wide = k2_op_info(k2_insn_op(in))->kind == K2_KIND_LDDW;

		n_insns++;
		if (!banned(in) && !(k2_op_info(k2_insn_op(in))->flags & K2_F_BRANCH) &&
		    k2_absint_reached(an->ai, i))
			cr_expect(in_win[i], "%s %s: insn %u could be covered", path, prog->sec, i);
		i += wide;
	}
	printf("windows %-26s %-20s insns %4u windows %3u covered %4u (%5.1f%%) largest %2u\n",
	       base(path), prog->name, n_insns, n, covered, 100.0 * covered / n_insns, maxw);
	totals[0] += n_insns;
	totals[1] += covered;
	totals[2] += n;
	free(in_win);
	free(w);
	k2_analysis_free(an);
}

Test(cfg_objects, windows_cover_every_coverable_instruction)
{
	uint32_t totals[3] = { 0 };

	each_prog(check_windows, totals);
	printf("windows: %u instructions, %u in %u windows (%.1f%%)\n", totals[0], totals[1],
	       totals[2], 100.0 * totals[1] / totals[0]);
	cr_expect_gt(totals[1] * 10, totals[0] * 7, "at least 70%% covered overall");
}

/* ---- rewriting windows with what the analysis knows, then running both programs ---- */

struct rewrite {
	struct bpf_insn *repl; /* one slot per old slot */
	uint32_t n_dead, n_folded, n_clobbers;
};

#define MAX_CLOBBER 14

/*
 * What a search candidate may do: leave garbage in every register and 8-byte stack slot
 * that is dead where the window ends. Appended to the window, reached by every way out.
 */
static uint32_t clobbers(const struct k2_analysis *an, const struct k2_win *w, struct bpf_insn *out)
{
	struct k2_stackset live;
	uint32_t n = 0;

	k2_win_stack_out(an, w, &live);
	for (int r = 0; r < 10; r++)
		if (!(w->live_out >> r & 1))
			k2_insn_encode(K2_OP_MOV64_K, (uint8_t)r, 0, 0, 0x5eed00 + r, &out[n++]);
	for (int s = K2_STACK_SLOTS - 1; s >= 0 && n < MAX_CLOBBER; s--)
		if (!(live.w[s / 8] >> ((s % 8) * 8) & 0xff) && w->func == 0)
			k2_insn_encode(K2_OP_STDW, K2_REG_FP, 0, (int16_t)(s * 8 - K2_STACK_BYTES),
				       0x7a7a7a7a, &out[n++]);
	return n;
}

static bool dead_store(const struct k2_analysis *an, uint32_t i)
{
	const struct k2_access *a = k2_absint_access(an->ai, i);
	struct k2_stackset live;
	int lo;

	if (a->region != K2_MEM_STACK || a->frame || !(a->flags & K2_ACC_CONST) ||
	    (a->flags & K2_ACC_READ))
		return false;
	k2_live_stack_in(an->live, i + 1, &live);
	lo = k2_stack_addr(a->off);
	for (int b = lo; b < lo + a->size; b++)
		if (live.w[b / 64] >> (b % 64) & 1)
			return false;
	return true;
}

/* Dead instructions become `ja +0`; results the types know to be constant become moves. */
static void rewrite_insn(const struct k2_analysis *an, uint32_t i, struct rewrite *rw)
{
	const struct bpf_insn *in = &an->cfg->insns[i];
	const struct k2_opinfo *oi = k2_op_info(k2_insn_op(in));
	uint16_t defs = k2_insn_defs(in), out = k2_live_regs_out(an->live, i);
	bool pure = oi->kind == K2_KIND_ALU || oi->kind == K2_KIND_END || oi->kind == K2_KIND_LDX;
	struct k2_astate st;
	uint64_t c;

	if ((pure && !(defs & out)) ||
	    ((oi->kind == K2_KIND_ST || oi->kind == K2_KIND_STX) && dead_store(an, i))) {
		k2_insn_encode(K2_OP_JA, 0, 0, 0, 0, &rw->repl[i]);
		rw->n_dead++;
		return;
	}
	if (oi->kind != K2_KIND_ALU || (oi->aluop == BPF_MOV && (oi->flags & K2_F_IMM)))
		return;
	if (k2_absint_state_at(an->ai, i + 1, &st) || !st.reachable ||
	    !k2_aval_is_const(&st.regs[in->dst_reg], &c))
		return;
	if ((int64_t)c == (int32_t)c)
		k2_insn_encode(K2_OP_MOV64_K, in->dst_reg, 0, 0, (int32_t)c, &rw->repl[i]);
	else if (c <= UINT32_MAX)
		k2_insn_encode(K2_OP_MOV32_K, in->dst_reg, 0, 0, (int32_t)(uint32_t)c,
			       &rw->repl[i]);
	else
		return;
	rw->n_folded++;
}

static uint32_t map_value_bytes(const struct k2_map *m, uint32_t ncpus)
{
	bool pcpu = m->type == BPF_MAP_TYPE_PERCPU_ARRAY || m->type == BPF_MAP_TYPE_PERCPU_HASH ||
		    m->type == BPF_MAP_TYPE_LRU_PERCPU_HASH;

	return m->value_size * (pcpu ? ncpus : 1);
}

/* Both runs' map changes applied to copies of the initial state, compared key by key. */
static void compare_maps(const struct k2_prog *prog, const struct k2_mapstate *ms,
			 const struct k2_vm *a, const struct k2_vm *b, const char *what)
{
	struct k2_mapstate *sa, *sb;
	uint8_t key[512], va[4096], vb[4096];

	cr_assert_eq(k2_mapstate_clone(ms, &sa), 0);
	cr_assert_eq(k2_mapstate_clone(ms, &sb), 0);
	k2_vm_map_commit(a, sa);
	k2_vm_map_commit(b, sb);
	for (uint32_t m = 0; m < prog->n_maps; m++) {
		const struct k2_map *mp = &prog->maps[m];
		uint32_t vs = map_value_bytes(mp, 2);
		bool first = true;

		if (!mp->key_size || mp->key_size > sizeof(key) || vs > sizeof(va))
			continue;
		while (!k2_mapstate_next_key(sa, m, first ? NULL : key, key)) {
			int ra = k2_mapstate_lookup(sa, m, key, va);

			first = false;
			/* Some maps hold no values to read (perf event arrays, devmaps, ...). */
			cr_assert_eq(ra, k2_mapstate_lookup(sb, m, key, vb), "%s: map %s", what,
				     mp->name);
			cr_assert(ra || !memcmp(va, vb, vs), "%s: map %s differs", what, mp->name);
		}
	}
	k2_mapstate_free(sa);
	k2_mapstate_free(sb);
}

/* Whether the runs agree; false if neither finished (then nothing else can be compared). */
static bool compare_runs(const struct k2_result *x, const struct k2_result *y, const char *what)
{
	cr_assert_eq(x->status, y->status, "%s: status %s vs %s", what, k2_status_name(x->status),
		     k2_status_name(y->status));
	if (x->status != K2_RUN_OK)
		return false;
	cr_assert_eq(x->r0, y->r0, "%s: r0 %llu vs %llu", what, (unsigned long long)x->r0,
		     (unsigned long long)y->r0);
	cr_assert_eq(x->pkt_len, y->pkt_len, "%s", what);
	cr_assert(!x->pkt_len || !memcmp(x->pkt, y->pkt, x->pkt_len), "%s: packet differs", what);
	cr_assert_eq(x->n_effects, y->n_effects, "%s", what);
	for (uint32_t k = 0; k < x->n_effects; k++) {
		cr_assert_eq(x->effects[k].helper, y->effects[k].helper, "%s", what);
		cr_assert(
			!memcmp(x->effects[k].args, y->effects[k].args, sizeof(x->effects[k].args)),
			"%s: effect %u", what, k);
	}
	cr_assert_eq(x->ctx_len, y->ctx_len, "%s", what);
	cr_assert(!x->ctx_len || !memcmp(x->ctx, y->ctx, x->ctx_len), "%s: ctx differs", what);
	return true;
}

/* Random contents for array-like and hash maps, so that lookups hit. */
static void fill_maps(const struct k2_prog *prog, struct k2_mapstate *ms, struct k2_rng *rng)
{
	uint8_t key[64], val[4096];

	for (uint32_t m = 0; m < prog->n_maps; m++) {
		const struct k2_map *mp = &prog->maps[m];
		uint32_t vs = map_value_bytes(mp, 2);
		bool array = mp->type == BPF_MAP_TYPE_ARRAY ||
			     mp->type == BPF_MAP_TYPE_PERCPU_ARRAY;
		bool hash = mp->type == BPF_MAP_TYPE_HASH || mp->type == BPF_MAP_TYPE_PERCPU_HASH ||
			    mp->type == BPF_MAP_TYPE_LRU_HASH;

		if ((!array && !hash) || mp->internal || mp->key_size > sizeof(key) ||
		    vs > sizeof(val))
			continue;
		for (uint32_t k = 0; k < 8 && k < mp->max_entries; k++) {
			memset(key, 0, sizeof(key));
			if (array || k < 4)
				memcpy(key, &k, mp->key_size < 4 ? mp->key_size : 4);
			else
				for (uint32_t b = 0; b < mp->key_size; b++)
					key[b] = (uint8_t)k2_rng_next(rng);
			for (uint32_t b = 0; b < vs; b++)
				val[b] = (uint8_t)(k2_rng_next(rng) % 4 ? k2_rng_next(rng) : 0);
			k2_mapstate_update(ms, m, key, val, BPF_ANY);
		}
	}
}

static void make_input(struct k2_rng *rng, const struct k2_mapstate *ms, struct k2_input *in)
{
	struct k2_pktgen_opts po = { .sz = sizeof(po), .max_len = 600 };
	struct k2_pkt_info info;
	int len;

	memset(in, 0, sizeof(*in));
	len = k2_pktgen(rng, &po, in->pkt, sizeof(in->pkt), &info);
	cr_assert_gt(len, 0);
	in->pkt_len = (uint32_t)len;
	for (uint32_t i = 0; i < K2_CTX_MAX; i++)
		in->ctx[i] = (uint8_t)k2_rng_next(rng);
	in->ctx_len = K2_CTX_MAX;
	in->n_ndet = K2_NDET_MAX;
	for (uint32_t i = 0; i < K2_NDET_MAX; i++)
		in->ndet[i] = k2_rng_next(rng) % 4 ? k2_rng_next(rng) : 0;
	in->kmem_seed = k2_rng_next(rng);
	in->maps = ms;
}

struct diff_totals {
	uint32_t progs, run, dead, folded, clobbers, inputs;
};

static void run_both(const char *path, const struct k2_prog *prog, const struct k2_prog *alt,
		     struct diff_totals *t)
{
	struct k2_mapstate *probe;
	struct k2_vm *va, *vb;
	struct k2_mapstate *ms;
	struct k2_err e = { 0 };
	struct k2_rng rng;
	struct k2_input *in = malloc(sizeof(*in));
	char what[256];
	int ok = 0;

	if (k2_mapstate_new(prog->maps, prog->n_maps, 2, &probe, &e) ||
	    k2_vm_new(prog, NULL, &va, &e)) {
		printf("differential %s %s: the interpreter cannot run it: %s\n", base(path),
		       prog->name, e.msg);
		free(in);
		return;
	}
	k2_mapstate_free(probe);
	cr_assert_eq(k2_vm_new(alt, NULL, &vb, &e), 0, "%s %s: rewritten: %s", path, prog->sec,
		     e.msg);
	cr_assert_eq(k2_mapstate_new(prog->maps, prog->n_maps, 2, &ms, &e), 0, "%s", e.msg);
	k2_rng_seed(&rng, 42);
	fill_maps(prog, ms, &rng);
	for (int k = 0; k < N_INPUTS; k++) {
		struct k2_result x, y;

		make_input(&rng, ms, in);
		k2_vm_run(va, in, &x);
		k2_vm_run(vb, in, &y);
		snprintf(what, sizeof(what), "%s %s input %d", path, prog->sec, k);
		if (compare_runs(&x, &y, what)) {
			compare_maps(prog, ms, va, vb, what);
			ok++;
		}
	}
	printf("differential %-26s %-20s %d of %d inputs ran to the end\n", base(path), prog->name,
	       ok, N_INPUTS);
	t->run += ok > 0;
	t->inputs += (uint32_t)ok;
	k2_mapstate_free(ms);
	k2_vm_free(va);
	k2_vm_free(vb);
	free(in);
}

static void check_rewrites(const char *path, const struct k2_prog *prog, void *arg)
{
	struct diff_totals *t = arg;
	struct k2_analysis *an = analyze(path, prog);
	struct rewrite rw = { calloc(prog->n_insns, sizeof(*rw.repl)) };
	struct k2_edit *ed;
	struct k2_win *w;
	uint32_t n, n_out, n_main;
	struct bpf_insn *out;
	int32_t *map = malloc(prog->n_insns * sizeof(*map));
	struct k2_splice_opts so = { .sz = sizeof(so), .n_main = prog->n_main };
	struct k2_err e = { 0 };
	struct k2_prog alt = *prog;

	memcpy(rw.repl, prog->insns, prog->n_insns * sizeof(*rw.repl));
	cr_assert_eq(k2_wins_select(an, NULL, &w, &n, &e), 0, "%s", e.msg);
	ed = calloc(n + 1, sizeof(*ed));
	/* Identity first: every window replaced by itself gives the program back. */
	for (uint32_t k = 0; k < n; k++)
		ed[k] = (struct k2_edit){ w[k].start, w[k].end, &prog->insns[w[k].start],
					  w[k].end - w[k].start };
	cr_assert_eq(
		k2_splice(prog->insns, prog->n_insns, ed, n, &so, &out, &n_out, &n_main, map, &e),
		0, "%s: %s", path, e.msg);
	cr_expect_eq(n_out, prog->n_insns, "%s %s: identity", path, prog->sec);
	cr_expect(!memcmp(out, prog->insns, n_out * sizeof(*out)), "%s %s: identity", path,
		  prog->sec);
	cr_expect_eq(n_main, prog->n_main);
	for (uint32_t i = 0; i < prog->n_insns; i++)
		cr_expect_eq(map[i], (int32_t)i);
	free(out);

	for (uint32_t k = 0; k < n; k++) {
		uint32_t len = w[k].end - w[k].start;
		struct bpf_insn *r = malloc((len + MAX_CLOBBER) * sizeof(*r));

		for (uint32_t i = w[k].start; i < w[k].end; i++) {
			rewrite_insn(an, i, &rw);
			if (k2_op_info(k2_insn_op(&prog->insns[i]))->kind == K2_KIND_LDDW)
				i++;
		}
		memcpy(r, &rw.repl[w[k].start], len * sizeof(*r));
		ed[k].n = len + clobbers(an, &w[k], &r[len]);
		rw.n_clobbers += ed[k].n - len;
		ed[k].repl = r;
	}
	cr_assert_eq(
		k2_splice(prog->insns, prog->n_insns, ed, n, &so, &out, &n_out, &n_main, map, &e),
		0, "%s: %s", path, e.msg);
	cr_expect_eq(k2_insns_check(out, n_out, NULL, &e), 0, "%s %s: %s", path, prog->sec, e.msg);
	for (uint32_t i = 0; i < n_out; i++)
		cr_expect_not(k2_insn_op(&out[i]) == K2_OP_JA && out[i].off == 0, "filler left");
	cr_expect_eq(n_out + rw.n_dead, prog->n_insns + rw.n_clobbers, "%s: each dead insn gone",
		     path);
	alt.insns = out;
	alt.n_insns = n_out;
	alt.n_main = n_main;
	printf("differential %-26s %-20s dead %2u folded %2u clobbers %4u -> %4u slots\n",
	       base(path), prog->name, rw.n_dead, rw.n_folded, rw.n_clobbers, n_out);
	t->progs++;
	t->dead += rw.n_dead;
	t->folded += rw.n_folded;
	t->clobbers += rw.n_clobbers;
	run_both(path, prog, &alt, t);
	free(out);
	free(map);
	for (uint32_t k = 0; k < n; k++)
		free((void *)ed[k].repl);
	free(ed);
	free(w);
	free(rw.repl);
	k2_analysis_free(an);
}

Test(cfg_objects, rewritten_windows_run_the_same, .timeout = 600)
{
	struct diff_totals t = { 0 };

	each_prog(check_rewrites, &t);
	printf("differential: %u programs, %u run in the interpreter (%u runs compared), %u dead "
	       "instructions removed, %u constants folded, %u dead registers and slots clobbered\n",
	       t.progs, t.run, t.inputs, t.dead, t.folded, t.clobbers);
	cr_expect_gt(t.run, 25, "most programs run in the interpreter");
	cr_expect_gt(t.clobbers, 1000, "the rewrite must change something to test anything");
}
