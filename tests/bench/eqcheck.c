/* tests/bench/eqcheck.c: window equivalence check times on the corpus, each speed-up on and off. */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bpf/k2bpf.h"
#include "smt/k2smt.h"

#define WINS_PER_PROG 3   /* windows measured per program (spread over it) */
#define DISTINCT 6        /* distinct candidates per window */
#define QUERIES 12        /* queries per window, drawn from those (a search repeats itself) */
#define TIMEOUT_MS 300

/*
 * Configurations. The first three are what a search sees (cache and prefilter answer most
 * queries). The Z_ ones switch the cache and the prefilter off, so that every query reaches
 * the encoder and z3, and measure the four encoding speed-ups on the same queries.
 */
enum { C_ALL, C_NOCACHE, C_NOPRE, Z_ON, Z_MEMTYPE, Z_MAPTYPE, Z_OFFSET, Z_MODULAR, Z_NONE, C__N };
static const char *const cname[C__N] = {
	"all on", "no cache", "no prefilter", "four on", "no memtype", "no maptype",
	"no offset", "no modular", "four off",
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* CPU time: other jobs share the cores */
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static struct k2_smt_opts opts_of(int c)
{
	struct k2_smt_opts o = { .sz = sizeof(o), .timeout_ms = TIMEOUT_MS };

	o.no_cache = c == C_NOCACHE || c >= Z_ON;
	o.no_prefilter = c == C_NOPRE || c >= Z_ON;
	o.no_memtype = c == Z_MEMTYPE || c == Z_NONE;
	o.no_maptype = c == Z_MAPTYPE || c == Z_NONE;
	o.no_offset = c == Z_OFFSET || c == Z_NONE;
	o.no_modular = c == Z_MODULAR || c == Z_NONE;
	return o;
}

/* What a search proposes: small changes of one instruction (as fuzz-smt makes them). */
static void mutate(uint64_t *rng, struct bpf_insn *ins, uint32_t n)
{
	for (int tries = 0; tries < 32; tries++) {
		uint32_t i;
		struct bpf_insn *x;
		uint8_t cl, op;

		*rng = *rng * 6364136223846793005ull + 1442695040888963407ull;
		i = (uint32_t)(*rng >> 33) % n;
		x = &ins[i];
		cl = BPF_CLASS(x->code);
		op = BPF_OP(x->code);
		if ((i > 0 && ins[i - 1].code == (BPF_LD | BPF_IMM | BPF_DW)) ||
		    (cl != BPF_ALU && cl != BPF_ALU64) || op == BPF_END)
			continue;
		if (BPF_SRC(x->code) == BPF_K)
			x->imm = (int32_t)((uint32_t)x->imm + (uint32_t)((*rng >> 20) % 5) - 2);
		else
			x->src_reg = (uint8_t)((*rng >> 20) % 10);
		return;
	}
	/* nothing to mutate: a nop appended (equal modulo nops) is the candidate */
}

struct cand {
	struct bpf_insn *c;
	uint32_t n;
};

/* DISTINCT candidates: the original with a nop, and mutants (some of two changes). */
static int make_cands(const struct bpf_insn *orig, uint32_t n, uint64_t seed, struct cand *cs)
{
	uint64_t rng = seed;

	for (int k = 0; k < DISTINCT; k++) {
		cs[k].c = calloc(n + 1, sizeof(*cs[k].c));
		if (!cs[k].c)
			return -1;
		memcpy(cs[k].c, orig, n * sizeof(*orig));
		cs[k].n = n;
		if (k == 0) {
			cs[k].c[n] = (struct bpf_insn){ .code = BPF_JMP | BPF_JA };
			cs[k].n = n + 1;
			continue;
		}
		mutate(&rng, cs[k].c, n);
		if (k % 3 == 0)
			mutate(&rng, cs[k].c, n);
	}
	return 0;
}

struct series {
	double *t;
	uint32_t n, cap;
	uint64_t eq, diff, unk, queries, hits, pre;
	struct series *z3; /* the queries z3 decided (not the cache, prefilter or a refusal) */
};

static void add(struct series *s, double v)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 256;
		s->t = realloc(s->t, s->cap * sizeof(*s->t));
		if (!s->t)
			exit(1);
	}
	s->t[s->n++] = v;
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(struct series *s, double p)
{
	if (!s->n)
		return 0;
	qsort(s->t, s->n, sizeof(*s->t), cmpd);
	return s->t[(size_t)(p * (s->n - 1) + 0.5)];
}

static double mean(const struct series *s)
{
	double t = 0;

	for (uint32_t i = 0; i < s->n; i++)
		t += s->t[i];
	return s->n ? t / s->n : 0;
}

static void row_z(FILE *f, const char *name, struct series *s, struct series *none)
{
	double m = pct(s, 0.5), a = mean(s);

	fprintf(f, "| %s | %llu | %.3f | %.3f | %.3f | %.1fx | %.1fx | %llu | %llu | %llu |\n",
		name, (unsigned long long)s->queries, m, pct(s, 0.9), a,
		m > 0 ? pct(none, 0.5) / m : 0, a > 0 ? mean(none) / a : 0,
		(unsigned long long)s->eq, (unsigned long long)s->diff, (unsigned long long)s->unk);
}

static void row_c(FILE *f, const char *name, struct series *s, struct series *base)
{
	double a = mean(s);

	fprintf(f, "| %s | %llu | %.3f | %.3f | %.3f | %.1fx | %.1f%% | %.1f%% | %.3f |\n", name,
		(unsigned long long)s->queries, pct(s, 0.5), pct(s, 0.9), a,
		a > 0 ? mean(base) / a : 0, s->queries ? 100.0 * s->hits / s->queries : 0,
		s->queries ? 100.0 * s->pre / s->queries : 0, pct(s->z3, 0.5));
}

/* One program under one configuration: every query timed into s. */
static void run_prog(const struct k2_prog *p, int c, struct series *s)
{
	struct k2_smt_opts o = opts_of(c);
	struct k2_analysis *an = NULL;
	struct k2_win *ws = NULL;
	struct k2_smt *sm = NULL;
	struct k2_smt_stats st;
	struct k2_err e = { 0 };
	struct k2_win_opts wo = { .sz = sizeof(wo), .main_only = true };
	uint32_t nw = 0;

	if (k2_analysis_new(p, NULL, &an, &e) || k2_wins_select(an, &wo, &ws, &nw, &e) ||
	    k2_smt_new(&o, &sm, &e)) {
		fprintf(stderr, "eqcheck: %s: %s\n", p->name, e.msg);
		goto out;
	}
	for (uint32_t wi = 0; wi < WINS_PER_PROG && wi < nw; wi++) {
		const struct k2_win *w = &ws[(uint64_t)wi * nw / (nw < WINS_PER_PROG ? nw :
								  WINS_PER_PROG)];
		struct k2_smt_window *sw = NULL;
		struct cand cs[DISTINCT] = { 0 };
		uint64_t rng = 0x9e37 + wi;

		if (make_cands(p->insns + w->start, w->end - w->start, 77 + wi, cs) ||
		    k2_smt_window_new(sm, an, w, &sw, &e)) {
			k2_err_clear(&e);
			goto next;
		}
		for (int q = 0; q < QUERIES; q++) {
			struct cand *cd;
			enum k2_verdict v;
			double t0;

			rng = rng * 6364136223846793005ull + 1442695040888963407ull;
			cd = &cs[q < DISTINCT ? (uint64_t)q : (rng >> 33) % DISTINCT];
			t0 = now_ms();
			if (k2_smt_window_equiv(sw, cd->c, cd->n, &v, NULL, NULL, &e)) {
				k2_err_clear(&e);
				continue;
			}
			add(s, now_ms() - t0);
			if (v != K2_UNKNOWN && (!strncmp(k2_smt_reason(sm), "z3", 2) ||
						!strncmp(k2_smt_reason(sm), "the difference", 14)))
				add(s->z3, s->t[s->n - 1]);
			s->queries++;
			s->eq += v == K2_EQUIVALENT;
			s->diff += v == K2_DIFFERENT;
			s->unk += v == K2_UNKNOWN;
		}
next:
		k2_smt_window_free(sw);
		for (int k = 0; k < DISTINCT; k++)
			free(cs[k].c);
	}
	k2_smt_stats(sm, &st);
	s->hits += st.cache_hits;
	s->pre += st.prefilter_hits;
out:
	k2_smt_free(sm);
	free(ws);
	k2_analysis_free(an);
}

int main(int argc, char **argv)
{
	static struct series per[64][C__N], tot[C__N], per_z3[64][C__N], tot_z3[C__N];
	char names[64][64];
	uint32_t np = 0;
	glob_t g;
	FILE *f;
	const char *out = "results/eqcheck.md", *tmp = "results/eqcheck.md.tmp";

	/* argv[1]: another set of objects (a glob), e.g. one program while tuning */
	if (glob(argc > 1 ? argv[1] : "build/corpus/*.o", 0, NULL, &g) || !g.gl_pathc) {
		fprintf(stderr, "eqcheck: no build/corpus/*.o (run make first)\n");
		return 1;
	}
	for (int c = 0; c < C__N; c++) {
		tot[c].z3 = &tot_z3[c];
		for (int i = 0; i < 64; i++)
			per[i][c].z3 = &per_z3[i][c];
	}
	for (size_t i = 0; i < g.gl_pathc && np < 64; i++) {
		struct k2_object *obj = NULL;
		struct k2_err e = { 0 };

		if (k2_object_open(g.gl_pathv[i], &obj, &e)) {
			fprintf(stderr, "eqcheck: %s\n", e.msg);
			continue;
		}
		for (uint32_t k = 0; k < obj->n_progs && np < 64; k++, np++) {
			snprintf(names[np], sizeof(names[np]), "%s", obj->progs[k].name);
			for (int c = 0; c < C__N; c++) {
				run_prog(&obj->progs[k], c, &per[np][c]);
				for (uint32_t j = 0; j < per[np][c].n; j++)
					add(&tot[c], per[np][c].t[j]);
				for (uint32_t j = 0; j < per_z3[np][c].n; j++)
					add(&tot_z3[c], per_z3[np][c].t[j]);
				tot[c].queries += per[np][c].queries;
				tot[c].eq += per[np][c].eq;
				tot[c].diff += per[np][c].diff;
				tot[c].unk += per[np][c].unk;
				tot[c].hits += per[np][c].hits;
				tot[c].pre += per[np][c].pre;
			}
			fprintf(stderr, "eqcheck: %s: all on median %.3f ms, all off %.3f ms\n",
				names[np], pct(&per[np][C_ALL], 0.5), pct(&per[np][Z_NONE], 0.5));
		}
		k2_object_free(obj);
	}
	globfree(&g);
	f = fopen(tmp, "w");
	if (!f) {
		fprintf(stderr, "eqcheck: cannot write %s\n", tmp);
		return 1;
	}
	fprintf(f, "# Window equivalence checks (smt/), each speed-up on and off\n\n"
		   "`make bench` (tests/bench/eqcheck.c). Per corpus program: up to %d windows "
		   "of the main function (k2_wins_select), %d queries each drawn from %d "
		   "candidates (the window plus a nop, and one- or two-instruction mutants, as a "
		   "search proposes them; repeats let the cache work). Times are the caller "
		   "thread's CPU time per k2_smt_window_equiv() call in ms (encoding, z3 "
		   "in-process, replays), z3 timeout %d ms per check; every configuration is a "
		   "fresh session, all measured in the same run on a shared 2-core machine.\n\n",
		WINS_PER_PROG, QUERIES, DISTINCT, TIMEOUT_MS);
	fprintf(f, "## The four encoding speed-ups (K2's Table 3)\n\n"
		   "Cache and prefilter off, so every query is encoded and sent to z3. Speed-up: "
		   "the four-off median (mean) over the configuration's.\n\n"
		   "| configuration | queries | median ms | p90 ms | mean ms | speed-up (median) | "
		   "speed-up (mean) | equivalent | differ | unknown |\n"
		   "|---|---|---|---|---|---|---|---|---|---|\n");
	for (int c = Z_ON; c < C__N; c++)
		row_z(f, cname[c], &tot[c], &tot[Z_NONE]);
	fprintf(f, "\n## Cache and prefilter (what a search sees)\n\n"
		   "The four speed-ups on. Hits are shares of all queries.\n\n"
		   "| configuration | queries | median ms | p90 ms | mean ms | mean speed-up vs "
		   "neither | cache hits | prefilter hits | z3-decided median ms |\n"
		   "|---|---|---|---|---|---|---|---|---|\n");
	for (int c = C_ALL; c <= C_NOPRE; c++)
		row_c(f, cname[c], &tot[c], &tot[Z_ON]);
	row_c(f, "neither (= four on)", &tot[Z_ON], &tot[Z_ON]);
	fprintf(f, "\n## Per program: median (p90) ms\n\n| program | queries |");
	for (int c = 0; c < C__N; c++)
		fprintf(f, " %s |", cname[c]);
	fprintf(f, "\n|---|---|");
	for (int c = 0; c < C__N; c++)
		fprintf(f, "---|");
	fprintf(f, "\n");
	for (uint32_t i = 0; i < np; i++) {
		fprintf(f, "| %s | %llu |", names[i], (unsigned long long)per[i][C_ALL].queries);
		for (int c = 0; c < C__N; c++)
			fprintf(f, " %.3f (%.3f) |", pct(&per[i][c], 0.5), pct(&per[i][c], 0.9));
		fprintf(f, "\n");
	}
	fclose(f);
	if (rename(tmp, out)) {
		fprintf(stderr, "eqcheck: cannot rename %s\n", tmp);
		unlink(tmp);
		return 1;
	}
	printf("eqcheck: wrote %s (%u programs)\n", out, np);
	return 0;
}
