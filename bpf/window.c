/* bpf/window.c: windows for the search: rules, an optimal partition, live sets, conditions. */
#include "bpf/k2_cfg.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX 16

static const struct k2_opinfo *op_of(const struct bpf_insn *in)
{
	return k2_op_info(k2_insn_op(in));
}

static uint32_t slots(const struct bpf_insn *in)
{
	return op_of(in)->kind == K2_KIND_LDDW ? 2 : 1;
}

/* Why instruction i may not be inside any window, or NULL. */
static const char *banned(const struct k2_analysis *an, uint32_t i)
{
	const struct bpf_insn *in = &an->cfg->insns[i];
	const struct k2_opinfo *oi = op_of(in);

	switch (oi->kind) {
	case K2_KIND_CALL: return "is a call";
	case K2_KIND_EXIT: return "is an exit";
	case K2_KIND_LDABS:
	case K2_KIND_LDIND: return "is a legacy packet load (it may end the program)";
	case K2_KIND_LDDW:
		return in->src_reg ? "is a relocated ld_imm64 (map or function load)" : NULL;
	default: break;
	}
	if (!k2_cfg_insn_reachable(an->cfg, i))
		return "is unreachable";
	return NULL;
}

/* Whether slot i is the second half of an ld_imm64. */
static bool is_second(const struct k2_cfg *cfg, uint32_t i)
{
	const struct k2_bb *bb = &cfg->bbs[cfg->bb_of[i]];

	for (uint32_t p = bb->start; p < i; p += slots(&cfg->insns[p]))
		if (p + slots(&cfg->insns[p]) > i)
			return true;
	return false;
}

/* A jump from outside [s, e) into t (s < t < e), or UINT32_MAX. */
static uint32_t entry_from_outside(const struct k2_cfg *cfg, uint32_t s, uint32_t e, uint32_t t)
{
	const struct k2_bb *bb = &cfg->bbs[cfg->bb_of[t]];

	if (bb->start != t)
		return UINT32_MAX;
	for (uint32_t k = 0; k < bb->n_pred; k++) {
		const struct k2_bb *p = &cfg->bbs[cfg->preds[bb->pred_off + k]];
		uint32_t l = p->end - 1;

		if (l > p->start && is_second(cfg, l))
			l--;
		if (l < s || l >= e)
			return l;
	}
	return UINT32_MAX;
}

int k2_win_check(const struct k2_analysis *an, uint32_t s, uint32_t e, struct k2_err *err)
{
	const struct k2_cfg *cfg = an->cfg;
	uint32_t f, i;
	const char *why;

	if (s >= e || e > cfg->n_insns)
		return k2_err_set(err, -EINVAL,
				  "window %u:%u: empty or out of range (%u instructions)", s, e,
				  cfg->n_insns);
	if (is_second(cfg, s) || (e < cfg->n_insns && is_second(cfg, e)))
		return k2_err_set(err, -EINVAL, "window %u:%u: splits an ld_imm64 at %u", s, e,
				  is_second(cfg, s) ? s - 1 : e - 1);
	f = k2_cfg_func_of(cfg, s);
	if (e > cfg->funcs[f].end)
		return k2_err_set(err, -EINVAL,
				  "window %u:%u: crosses from the function at %u into "
				  "the one at %u",
				  s, e, cfg->funcs[f].start, cfg->funcs[f].end);
	if (!k2_absint_reached(an->ai, s))
		return k2_err_set(err, -EINVAL, "window %u:%u: no path reaches its start", s, e);
	for (i = s; i < e; i += slots(&cfg->insns[i])) {
		const struct bpf_insn *in = &cfg->insns[i];
		uint32_t from;

		why = banned(an, i);
		if (why)
			return k2_err_set(err, -EINVAL, "window %u:%u: insn %u %s", s, e, i, why);
		if (op_of(in)->flags & K2_F_BRANCH) {
			long t = k2_insn_target(in, i);

			if (t <= (long)i)
				return k2_err_set(err, -EINVAL,
						  "window %u:%u: insn %u jumps backward "
						  "to %ld",
						  s, e, i, t);
			if (t > (long)e)
				return k2_err_set(err, -EINVAL,
						  "window %u:%u: insn %u jumps to %ld, "
						  "past the window's end",
						  s, e, i, t);
		}
		from = i > s ? entry_from_outside(cfg, s, e, i) : UINT32_MAX;
		if (from != UINT32_MAX)
			return k2_err_set(err, -EINVAL,
					  "window %u:%u: insn %u jumps into the window "
					  "at %u",
					  s, e, from, i);
	}
	return 0;
}

static uint32_t popcount16(uint16_t x)
{
	return (uint32_t)__builtin_popcount(x);
}

/* Stack bytes the window may write (constant or variable offsets into the own frame). */
static void window_writes(const struct k2_analysis *an, uint32_t s, uint32_t e,
			  struct k2_stackset *w)
{
	memset(w, 0, sizeof(*w));
	for (uint32_t i = s; i < e; i += slots(&an->cfg->insns[i])) {
		const struct k2_access *a = k2_absint_access(an->ai, i);
		int64_t lo, hi;

		if (!(a->flags & K2_ACC_WRITE))
			continue;
		if (a->region == K2_MEM_UNKNOWN) {
			memset(w, 0xff, sizeof(*w));
			return;
		}
		if (a->region != K2_MEM_STACK || a->frame)
			continue;
		lo = a->off_min < -2 * K2_STACK_BYTES ? -K2_STACK_BYTES
						      : a->off_min + K2_STACK_BYTES;
		hi = a->off_max > K2_STACK_BYTES ? 2 * K2_STACK_BYTES
						 : a->off_max + a->size + K2_STACK_BYTES;
		for (int64_t b = lo < 0 ? 0 : lo; b < hi && b < K2_STACK_BYTES; b++)
			w->w[b / 64] |= 1ULL << (b % 64);
	}
}

int k2_win_describe(const struct k2_analysis *an, uint32_t s, uint32_t e, struct k2_win *w,
		    struct k2_err *err)
{
	struct k2_stackset wr, live;
	int ret = k2_win_check(an, s, e, err);

	if (ret)
		return ret;
	memset(w, 0, sizeof(*w));
	w->start = s;
	w->end = e;
	w->func = k2_cfg_func_of(an->cfg, s);
	w->live_in = k2_live_regs_in(an->live, s);
	w->live_out = k2_live_regs_in(an->live, e);
	for (uint32_t i = s; i < e; i += slots(&an->cfg->insns[i])) {
		const struct bpf_insn *in = &an->cfg->insns[i];
		const struct k2_opinfo *oi = op_of(in);

		w->n_insns++;
		w->defs |= k2_insn_defs(in);
		w->n_mem += !!(oi->flags & (K2_F_LOAD | K2_F_STORE));
		w->n_branches += !!(oi->flags & K2_F_BRANCH);
	}
	w->n_live_out = (uint16_t)popcount16(w->live_out & w->defs);
	window_writes(an, s, e, &wr);
	k2_live_stack_in(an->live, e, &live);
	for (int k = 0; k < K2_STACK_BYTES / 64; k++)
		w->n_stack_out += (uint32_t)__builtin_popcountll(wr.w[k] & live.w[k]);
	/* Search effort grows with the length and with what must come out equal. */
	w->difficulty = w->n_insns * (1.0 + 0.15 * w->n_live_out + 0.02 * w->n_stack_out +
				      0.1 * w->n_mem + 0.2 * w->n_branches);
	return 0;
}

/* ---- the partition: dynamic programming over the instructions of each function ---- */

struct dp {
	uint32_t covered; /* instructions inside windows in the prefix */
	uint32_t count;	  /* windows used */
	uint32_t from;	  /* previous position */
	bool window;	  /* [from, here) is a window */
};

static bool better(uint32_t cov, uint32_t cnt, const struct dp *d)
{
	return cov > d->covered || (cov == d->covered && cnt < d->count);
}

/* Every valid window starting at s, by its end: calls add(end, insns) for each. */
static void windows_from(const struct k2_analysis *an, uint32_t s, uint32_t fend, uint32_t max_len,
			 uint32_t min_len, struct dp *dp, uint32_t base)
{
	const struct k2_cfg *cfg = an->cfg;
	uint32_t need_end = 0, insns = 0;

	if (!k2_absint_reached(an->ai, s))
		return;
	for (uint32_t t = s; t < fend && t - s < max_len;) {
		const struct bpf_insn *in = &cfg->insns[t];
		uint32_t next = t + slots(in);
		struct dp *d;

		if (banned(an, t) || next - s > max_len)
			return;
		if (t > s && entry_from_outside(cfg, s, next, t) != UINT32_MAX)
			return;
		if (op_of(in)->flags & K2_F_BRANCH) {
			long tt = k2_insn_target(in, t);

			if (tt <= (long)t)
				return;
			if ((uint32_t)tt > need_end)
				need_end = (uint32_t)tt;
		}
		insns++;
		t = next;
		if (need_end > t || insns < min_len)
			continue;
		d = &dp[t - base];
		if (better(dp[s - base].covered + insns, dp[s - base].count + 1, d))
			*d = (struct dp){ dp[s - base].covered + insns, dp[s - base].count + 1, s,
					  true };
	}
}

static int select_func(const struct k2_analysis *an, uint32_t f, uint32_t max_len, uint32_t min_len,
		       struct k2_win **out, uint32_t *n, uint32_t *cap, struct k2_err *e)
{
	const struct k2_func *fn = &an->cfg->funcs[f];
	uint32_t len = fn->end - fn->start, base = fn->start, k, nw = 0, *starts;
	struct dp *dp = calloc(len + 1, sizeof(*dp));
	int err = 0;

	if (!dp)
		return k2_err_set(e, -ENOMEM, "out of memory");
	for (k = 1; k <= len; k++)
		dp[k].covered = 0, dp[k].count = UINT32_MAX, dp[k].from = UINT32_MAX;
	for (uint32_t i = fn->start; i < fn->end; i += slots(&an->cfg->insns[i])) {
		uint32_t next = i + slots(&an->cfg->insns[i]);
		struct dp *d = &dp[next - base];

		if (better(dp[i - base].covered, dp[i - base].count, d))
			*d = (struct dp){ dp[i - base].covered, dp[i - base].count, i, false };
		windows_from(an, i, fn->end, max_len, min_len, dp, base);
	}
	/* Walk back from the end, collecting windows, then emit them in address order. */
	starts = malloc((len + 1) * sizeof(*starts));
	if (!starts) {
		free(dp);
		return k2_err_set(e, -ENOMEM, "out of memory");
	}
	for (k = len; k > 0; k = dp[k].from - base)
		if (dp[k].window)
			starts[nw++] = dp[k].from - base, starts[nw++] = k;
	for (k = nw; k >= 2 && !err; k -= 2) {
		if (*n == *cap) {
			uint32_t c = *cap ? *cap * 2 : 64;
			struct k2_win *nwin = realloc(*out, c * sizeof(*nwin));

			if (!nwin) {
				err = k2_err_set(e, -ENOMEM, "out of memory");
				break;
			}
			*out = nwin;
			*cap = c;
		}
		err = k2_win_describe(an, base + starts[k - 2], base + starts[k - 1], &(*out)[*n],
				      e);
		if (!err)
			(*n)++;
	}
	free(starts);
	free(dp);
	return err;
}

int k2_wins_select(const struct k2_analysis *an, const struct k2_win_opts *opts,
		   struct k2_win **out, uint32_t *n, struct k2_err *e)
{
	uint32_t max_len = opts && opts->max_len ? opts->max_len : DEFAULT_MAX;
	uint32_t min_len = opts && opts->min_len ? opts->min_len : 1;
	uint32_t nf = opts && opts->main_only ? 1 : an->cfg->n_funcs, cap = 0;
	int err = 0;

	*out = NULL;
	*n = 0;
	for (uint32_t f = 0; f < nf && !err; f++)
		if (an->cfg->funcs[f].reachable)
			err = select_func(an, f, max_len, min_len, out, n, &cap, e);
	if (err) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return err;
}

/* ---- user-given windows ---- */

static int parse_one(const char **p, uint32_t *s, uint32_t *e, struct k2_err *err)
{
	const char *q = *p;
	char *end;
	unsigned long a, b;

	if (!isdigit((unsigned char)*q))
		return k2_err_set(err, -EINVAL, "windows: expected S:E at '%.20s'", q);
	a = strtoul(q, &end, 10);
	if (*end != ':' || !isdigit((unsigned char)end[1]))
		return k2_err_set(err, -EINVAL, "windows: expected S:E at '%.20s'", q);
	b = strtoul(end + 1, &end, 10);
	if (a > UINT32_MAX || b > UINT32_MAX)
		return k2_err_set(err, -ERANGE, "windows: %lu:%lu out of range", a, b);
	*s = (uint32_t)a;
	*e = (uint32_t)b;
	*p = end;
	return 0;
}

int k2_wins_parse(const struct k2_analysis *an, const char *spec, struct k2_win **out, uint32_t *n,
		  struct k2_err *err)
{
	const char *p = spec;
	uint32_t cap = 0;
	int ret = 0;

	*out = NULL;
	*n = 0;
	while (*p && !ret) {
		uint32_t s = 0, e = 0;

		ret = parse_one(&p, &s, &e, err);
		if (ret)
			break;
		if (*p && *p != ',') {
			ret = k2_err_set(err, -EINVAL, "windows: expected ',' at '%.20s'", p);
			break;
		}
		if (*p)
			p++;
		if (*n == cap) {
			struct k2_win *nw = realloc(*out, (cap = cap ? 2 * cap : 8) * sizeof(*nw));

			if (!nw) {
				ret = k2_err_set(err, -ENOMEM, "out of memory");
				break;
			}
			*out = nw;
		}
		ret = k2_win_describe(an, s, e, &(*out)[*n], err);
		for (uint32_t k = 0; !ret && k < *n; k++)
			if (s < (*out)[k].end && (*out)[k].start < e)
				ret = k2_err_set(err, -EINVAL, "windows %u:%u and %u:%u overlap",
						 (*out)[k].start, (*out)[k].end, s, e);
		if (!ret)
			(*n)++;
	}
	if (!ret && !*n)
		ret = k2_err_set(err, -EINVAL, "windows: none given");
	if (ret) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return ret;
}

/* ---- pre- and postconditions ---- */

static void restrict_state(struct k2_astate *st, uint16_t regs, const struct k2_stackset *live)
{
	for (int r = 0; r < K2_NREGS; r++)
		if (!(regs >> r & 1))
			st->regs[r] = (struct k2_aval){ .type = K2_VT_NOT_INIT, .map = -1 };
	for (int s = 0; s < K2_STACK_SLOTS; s++)
		if (!((live->w[s / 8] >> ((s % 8) * 8)) & 0xff))
			st->stack[s] = (struct k2_slot){ .spill = { .type = K2_VT_NOT_INIT,
								    .map = -1 } };
}

int k2_win_precond(const struct k2_analysis *an, const struct k2_win *w, struct k2_astate *pre)
{
	struct k2_stackset live;
	int err = k2_absint_state_at(an->ai, w->start, pre);

	if (err)
		return err;
	k2_live_stack_in(an->live, w->start, &live);
	restrict_state(pre, w->live_in, &live);
	return 0;
}

int k2_win_postcond(const struct k2_analysis *an, const struct k2_win *w, struct k2_astate *post)
{
	struct k2_stackset live;
	int err = k2_absint_state_at(an->ai, w->end, post);

	if (err)
		return err;
	k2_live_stack_in(an->live, w->end, &live);
	restrict_state(post, w->live_out, &live);
	return 0;
}

static int reg_mismatch(const struct k2_win *w, int r, const struct k2_aval *want,
			const struct k2_aval *got, struct k2_err *e)
{
	char a[160], b[160];

	k2_aval_str(want, a, sizeof(a));
	k2_aval_str(got, b, sizeof(b));
	return k2_err_set(e, -EACCES,
			  "window %u:%u: r%d is %s in the program but %s after the "
			  "replacement",
			  w->start, w->end, r, a, b);
}

/* A live stack byte keeps what the verifier knew of it. */
static bool byte_ok(const struct k2_slot *want, const struct k2_slot *got, int b)
{
	switch (want->bytes[b]) {
	case K2_SB_INVALID: return true;
	case K2_SB_MISC: return got->bytes[b] != K2_SB_INVALID;
	case K2_SB_ZERO: return got->bytes[b] == K2_SB_ZERO;
	default:
		return got->bytes[b] == K2_SB_SPILL && !memcmp(want->bytes, got->bytes, 8) &&
		       k2_aval_leq(&got->spill, &want->spill);
	}
}

int k2_win_post_check(const struct k2_analysis *an, const struct k2_win *w,
		      const struct k2_astate *cand_post, struct k2_err *e)
{
	struct k2_astate *want = malloc(sizeof(*want));
	struct k2_stackset live;
	int err = 0;

	if (!want)
		return k2_err_set(e, -ENOMEM, "out of memory");
	err = k2_win_postcond(an, w, want);
	if (err) {
		free(want);
		return k2_err_set(e, err, "window %u:%u: no state at its end", w->start, w->end);
	}
	if (!cand_post->reachable || !want->reachable) {
		free(want);
		return 0; /* never left: nothing downstream depends on it */
	}
	k2_live_stack_in(an->live, w->end, &live);
	for (int r = 0; r < K2_NREGS && !err; r++)
		if ((w->live_out >> r & 1) && !k2_aval_leq(&cand_post->regs[r], &want->regs[r]))
			err = reg_mismatch(w, r, &want->regs[r], &cand_post->regs[r], e);
	for (int a = 0; a < K2_STACK_BYTES && !err; a++)
		if ((live.w[a / 64] >> (a % 64) & 1) &&
		    !byte_ok(&want->stack[a / 8], &cand_post->stack[a / 8], a % 8))
			err = k2_err_set(e, -EACCES,
					 "window %u:%u: stack byte fp%d is less known after "
					 "the replacement",
					 w->start, w->end, a - K2_STACK_BYTES);
	free(want);
	return err;
}

void k2_win_stack_out(const struct k2_analysis *an, const struct k2_win *w, struct k2_stackset *out)
{
	k2_live_stack_in(an->live, w->end, out);
}
