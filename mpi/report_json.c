/* mpi/report_json.c: --report FILE.json, and the rows rank 0 sends for the trace's /search. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpi/coord_int.h"

static void jstr(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

/* A number, or null for NaN/infinity (JSON has neither). */
static void jnum(FILE *f, double v)
{
	if (isfinite(v))
		fprintf(f, "%.6g", v);
	else
		fputs("null", f);
}

static void jkey(FILE *f, const char *k, bool *first)
{
	fprintf(f, "%s\n    ", *first ? "" : ",");
	*first = false;
	jstr(f, k);
	fputs(": ", f);
}

static void windows_json(const struct k2_coord *c, FILE *f)
{
	const struct k2_final *fin = c->fin;

	fputs("[", f);
	for (uint32_t i = 0; i < c->nw; i++) {
		const struct k2_cwin *w = &c->w[i];
		const struct k2_opt_window *ow = fin && i < fin->res.n_windows ?
							 &fin->res.windows[i] : NULL;
		const struct k2_ccand *k = k2_pool_best(w);

		fprintf(f, "%s\n      {\"window\": %u, \"start\": %u, \"end\": %u, "
			"\"insns_before\": %u, \"slots_before\": %u, \"slots_after\": %u, "
			"\"improved\": %s, \"state\": \"%s\", \"ranks_ever\": %u, "
			"\"proposals\": %llu, \"rank_seconds\": ",
			i ? "," : "", i, w->win.start, w->win.end, w->orig_insns, w->orig_slots,
			ow ? ow->slots_after : w->orig_slots, ow && ow->improved ? "true" : "false",
			w->empty ? "no tests" : w->stalled ? "stalled" : "done", w->ranks_ever,
			(unsigned long long)w->iters);
		jnum(f, w->seconds);
		fprintf(f, ", \"proofs\": %u, \"equivalent\": %u, \"different\": %u, "
			"\"unknown\": %u, \"unsafe\": %u, \"safety_refused\": %u, "
			"\"counterexamples\": %u, "
			"\"cex_relayed\": %llu, \"cex_rejected_elsewhere\": %llu, "
			"\"swaps\": [%llu, %llu], \"best_kernel\": %d, \"improvements\": [",
			w->n_cands, w->equivalent, w->different, w->unknown, w->unsafe,
			w->safety_refused, w->n_cex,
			(unsigned long long)w->cex_relayed, (unsigned long long)w->cex_saved,
			(unsigned long long)w->swaps_acc,
			(unsigned long long)w->swaps_tried, k ? k->kernel : -1);
		/* [search seconds, insns, proposals of the window] per smaller rewrite */
		for (uint32_t q = 0; q < w->n_imp; q++) {
			fputs(q ? ", [" : "[", f);
			jnum(f, w->imp[q].t);
			fprintf(f, ", %u, %llu]", w->imp[q].insns, (unsigned long long)w->imp[q].iters);
		}
		fputs("]}", f);
	}
	fputs("\n    ]", f);
}

static void result_json(const struct k2_coord *c, FILE *f, bool *first)
{
	const struct k2_final *fin = c->fin;
	const struct k2_bres *m = fin->measure_sub >= 0 ? &c->subs[fin->measure_sub].res : NULL;
	static const char *whole[] = { "not run", "equivalent", "different", "unknown" };

	jkey(f, "insns_before", first);
	fprintf(f, "%u", fin->insns_before);
	jkey(f, "insns_after", first);
	fprintf(f, "%u", fin->insns_after);
	jkey(f, "slots_before", first);
	fprintf(f, "%u", fin->slots_before);
	jkey(f, "slots_after", first);
	fprintf(f, "%u", fin->slots_after);
	jkey(f, "windows_improved", first);
	fprintf(f, "%u", fin->res.improved);
	jkey(f, "whole_program_z3", first);
	jstr(f, whole[fin->res.whole]);
	jkey(f, "proof", first);
	jstr(f, fin->whole);
	jkey(f, "proven", first);
	fputs("true", f); /* nothing unproven is ever written */
	jkey(f, "interp_inputs", first);
	fprintf(f, "%u", fin->res.interp_inputs);
	jkey(f, "kernel", first);
	jstr(f, fin->kernel);
	jkey(f, "kernel_dropped_windows", first);
	fprintf(f, "%u", fin->kernel_dropped);
	jkey(f, "latency_ratio", first);
	jnum(f, m && m->measured ? m->ratio : NAN);
	jkey(f, "latency_ratio_ci", first);
	fputs("[", f);
	jnum(f, m && m->measured ? m->ratio_lo : NAN);
	fputs(", ", f);
	jnum(f, m && m->measured ? m->ratio_hi : NAN);
	fputs("]", f);
	jkey(f, "latency_resolved", first);
	fprintf(f, "%d", m && m->measured ? m->resolved : -1);
	jkey(f, "ns_per_packet", first);
	fputs("[", f);
	jnum(f, m && m->measured ? m->orig_ns : NAN);
	fputs(", ", f);
	jnum(f, m && m->measured ? m->ns : NAN);
	fputs("]", f);
	jkey(f, "xdp_pps", first);
	fputs("[", f);
	jnum(f, m && m->measured ? m->orig_pps : NAN);
	fputs(", ", f);
	jnum(f, m && m->measured ? m->pps : NAN);
	fputs("]", f);
	jkey(f, "kernel_refused", first);
	fputs("[", f);
	for (uint32_t i = 0, n = 0; i < c->n_subs; i++) {
		if (!c->subs[i].done || c->subs[i].res.verdict != 0)
			continue;
		fprintf(f, "%s{\"window\": %d, \"reason\": ", n++ ? ", " : "", c->subs[i].win);
		jstr(f, c->subs[i].res.reason);
		fputs("}", f);
	}
	fputs("]", f);
	jkey(f, "compose_check", first);
	fprintf(f, "{\"tried\": %u, \"equivalent\": %u, \"different\": %u, \"unknown\": %u}",
		fin->cc_tried, fin->cc_equiv, fin->cc_diff, fin->cc_unknown);
	jkey(f, "output", first);
	jstr(f, fin->wrote ? c->j->args->output : "");
}

/* The sum over windows of one u64 counter of struct k2_cwin. */
static uint64_t sum(const struct k2_coord *c, size_t off)
{
	uint64_t n = 0;

	for (uint32_t i = 0; i < c->nw; i++)
		n += *(const uint64_t *)((const char *)&c->w[i] + off);
	return n;
}

int k2_report_json(struct k2_coord *c, const char *path, struct k2_err *e)
{
	char tmp[4200];
	FILE *f;
	bool first = true;
	int workers = 0;

	for (int r = 1; r < c->j->size; r++)
		workers += c->r[r].searcher;
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	f = fopen(tmp, "w");
	if (!f)
		return k2_err_set(e, -errno, "%s: %s", tmp, strerror(errno));
	fputs("{", f);
	jkey(f, "program", &first);
	jstr(f, c->j->input);
	jkey(f, "section", &first);
	jstr(f, c->j->section);
	jkey(f, "prog_type", &first);
	jstr(f, k2_prog_type_name(c->j->prog->type));
	jkey(f, "ranks", &first);
	fprintf(f, "%d", c->j->size);
	jkey(f, "workers", &first);
	fprintf(f, "%d", workers);
	jkey(f, "rank0_searches", &first);
	fputs(c->j->coord_works ? "true" : "false", f);
	jkey(f, "bench_rank", &first);
	fprintf(f, "%d", c->j->bench_rank);
	jkey(f, "bench_shares_cores", &first);
	fputs(c->j->bench_shared ? "true" : "false", f);
	jkey(f, "kernel_off_reason", &first);
	jstr(f, c->bench_off);
	jkey(f, "seed", &first);
	fprintf(f, "%llu", (unsigned long long)c->j->seed);
	jkey(f, "mode", &first);
	jstr(f, c->j->iters ? "iters" : "time");
	jkey(f, "iters_per_difficulty", &first);
	fprintf(f, "%llu", (unsigned long long)c->j->iters);
	jkey(f, "budget_s", &first);
	jnum(f, c->elapsed_before + c->j->budget);
	jkey(f, "search_s", &first);
	jnum(f, c->fin ? k2_coord_search_time(c) - (c->fin->t_end - c->fin->t_begin) : NAN);
	jkey(f, "final_s", &first);
	jnum(f, c->fin ? c->fin->t_end - c->fin->t_begin : NAN);
	jkey(f, "resumed_runs", &first);
	fprintf(f, "%u", c->j->generation);
	jkey(f, "stop_reason", &first);
	jstr(f, c->stop_reason);
	jkey(f, "share_cex", &first);
	fputs(c->j->cfg.cluster.share_cex ? "true" : "false", f);
	jkey(f, "tempering", &first);
	fputs(c->j->cfg.cluster.tempering ? "true" : "false", f);
	jkey(f, "counterexamples_found", &first);
	fprintf(f, "%llu", (unsigned long long)c->cex_found);
	jkey(f, "cex_relayed", &first);
	fprintf(f, "%llu", (unsigned long long)sum(c, offsetof(struct k2_cwin, cex_relayed)));
	jkey(f, "cex_rejected_elsewhere", &first);
	fprintf(f, "%llu", (unsigned long long)sum(c, offsetof(struct k2_cwin, cex_saved)));
	jkey(f, "proposals", &first);
	fprintf(f, "%llu", (unsigned long long)sum(c, offsetof(struct k2_cwin, iters)));
	jkey(f, "messages_sent_by_rank0", &first);
	fprintf(f, "%llu", (unsigned long long)c->out.sent);
	jkey(f, "bytes_sent_by_rank0", &first);
	fprintf(f, "%llu", (unsigned long long)c->out.bytes);
	jkey(f, "ranks_dropped", &first);
	fprintf(f, "%u", c->dropped);
	jkey(f, "trace", &first);
	jstr(f, c->trace_path);
	if (c->fin && c->fin->composed)
		result_json(c, f, &first);
	jkey(f, "windows", &first);
	windows_json(c, f);
	fputs("\n}\n", f);
	if (fclose(f) || rename(tmp, path)) {
		unlink(tmp);
		return k2_err_set(e, -EIO, "%s: cannot write the report", path);
	}
	return 0;
}

/* ---- /search rows for the bench role's trace ------------------------------------------------ */

static void send_trace(struct k2_coord *c, struct k2_buf *b)
{
	k2_coord_send(c, c->bench_dest, K2_T_TRACE, b);
}

static void attr_u(struct k2_buf *b, const char *name, uint64_t v)
{
	k2_buf_str(b, name);
	k2_buf_u8(b, 'u');
	k2_buf_u64(b, v);
}

static void attr_f(struct k2_buf *b, const char *name, double v)
{
	k2_buf_str(b, name);
	k2_buf_u8(b, 'f');
	k2_buf_f64(b, v);
}

static void attr_s(struct k2_buf *b, const char *name, const char *v)
{
	k2_buf_str(b, name);
	k2_buf_u8(b, 's');
	k2_buf_str(b, v);
}

void k2_trace_attrs(struct k2_coord *c)
{
	struct k2_buf b = { 0 };

	k2_buf_u8(&b, K2_TR_ATTR);
	k2_buf_u32(&b, 9);
	attr_u(&b, "ranks", (uint64_t)c->j->size);
	attr_u(&b, "bench_rank", (uint64_t)(int64_t)c->j->bench_rank);
	attr_f(&b, "budget_s", c->elapsed_before + c->j->budget);
	attr_u(&b, "iters_per_difficulty", c->j->iters);
	attr_u(&b, "share_cex", c->j->cfg.cluster.share_cex);
	attr_u(&b, "tempering", c->j->cfg.cluster.tempering);
	attr_u(&b, "resumed_runs", c->j->generation);
	attr_u(&b, "windows", c->nw);
	attr_s(&b, "mode", c->j->iters ? "iters" : "time");
	send_trace(c, &b);
}

void k2_trace_progress(struct k2_coord *c)
{
	double t = k2_coord_search_time(c);
	struct k2_buf b = { 0 };
	uint32_t n;

	if (c->n_rows + c->nw > c->cap_rows) {
		uint32_t cap = c->cap_rows ? 2 * c->cap_rows : 256;
		struct k2_prow *p;

		while (cap < c->n_rows + c->nw)
			cap *= 2;
		p = realloc(c->rows, cap * sizeof(*p));
		if (!p)
			return;
		c->rows = p;
		c->cap_rows = cap;
	}
	for (uint32_t i = 0; i < c->nw; i++) {
		const struct k2_cwin *w = &c->w[i];
		const struct k2_ccand *k = k2_pool_best(w);
		struct k2_prow *r = &c->rows[c->n_rows++];
		double rate = 0;

		for (uint32_t m = 0; m < w->n_members; m++)
			rate += c->r[w->members[m]].rate;
		memset(r, 0, sizeof(*r));
		r->time_s = t;
		r->window = i;
		r->start = w->win.start;
		r->end = w->win.end;
		r->best_cost = k ? k->perf : w->orig_perf;
		r->best_insns = k && k->n_insns < w->orig_insns ? k->n_insns : w->orig_insns;
		r->orig_insns = w->orig_insns;
		r->proposals = w->iters;
		r->iters_per_s = rate;
		r->accept_rate = w->iters ? (double)w->accepted / w->iters : NAN;
		r->swap_rate = w->pt_tried ? (double)w->pt_acc / w->pt_tried : NAN;
		r->xswap_rate = w->swaps_tried ? (double)w->swaps_acc / w->swaps_tried : NAN;
		r->ranks = w->n_members;
		r->n_tests = w->n_tests;
		r->pool_cex = w->n_cex;
		r->pool_proven = w->n_cands;
		r->cex_relayed = w->cex_relayed;
	}
	n = c->n_rows - c->rows_sent;
	if (!n)
		return;
	k2_buf_u8(&b, K2_TR_PROGRESS);
	k2_buf_u32(&b, n);
	k2_buf_put(&b, &c->rows[c->rows_sent], n * sizeof(*c->rows));
	c->rows_sent = c->n_rows;
	send_trace(c, &b);
}

void k2_trace_final(struct k2_coord *c)
{
	struct k2_buf b = { 0 };
	const struct k2_final *fin = c->fin;

	k2_buf_u8(&b, K2_TR_WINDOWS);
	k2_buf_u32(&b, c->nw);
	for (uint32_t i = 0; i < c->nw; i++) {
		const struct k2_cwin *w = &c->w[i];
		const struct k2_opt_window *ow = fin && i < fin->res.n_windows ?
							 &fin->res.windows[i] : NULL;
		const struct k2_ccand *k = k2_pool_best(w);
		struct k2_wrow r = { 0 };

		r.window = i;
		r.start = w->win.start;
		r.end = w->win.end;
		r.insns_before = w->orig_insns;
		r.insns_after = ow && ow->improved && k ? k->n_insns : w->orig_insns;
		r.improved = ow && ow->improved;
		r.stalled = w->stalled;
		r.ranks_ever = w->ranks_ever;
		r.proposals = w->iters;
		r.seconds = w->seconds;
		r.time_to_best = k ? c->elapsed_before + w->t_first_best - c->t_start : NAN;
		r.proven = w->n_cands;
		r.equivalent = w->equivalent;
		r.different = w->different;
		r.unknown = w->unknown;
		r.unsafe = w->unsafe;
		r.pool_cex = w->n_cex;
		r.cex_relayed = w->cex_relayed;
		r.cex_saved = w->cex_saved;
		r.swaps_tried = w->swaps_tried;
		r.swaps_acc = w->swaps_acc;
		r.kernel = k ? k->kernel : -1;
		k2_buf_put(&b, &r, sizeof(r));
	}
	send_trace(c, &b);
}
