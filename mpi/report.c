/* mpi/report.c: what a user sees: status lines, events, the closing table, JSON, trace rows. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpi/coord_int.h"

#define STATUS_MAX_WINDOWS 16

static const char *phase_name(const struct k2_cwin *w)
{
	if (w->empty)
		return "no tests";
	if (w->stalled)
		return "stalled";
	return w->phase == K2_W_DONE ? "done" : w->phase == K2_W_ACTIVE ? "searching" : "queued";
}

static uint32_t best_insns(const struct k2_cwin *w)
{
	const struct k2_ccand *k = k2_pool_best(w);

	return k && k->n_insns < w->orig_insns ? k->n_insns : w->orig_insns;
}

static void human(double v, char *buf, size_t len)
{
	if (v >= 1e9)
		snprintf(buf, len, "%.1fG", v / 1e9);
	else if (v >= 1e6)
		snprintf(buf, len, "%.1fM", v / 1e6);
	else if (v >= 1e3)
		snprintf(buf, len, "%.1fk", v / 1e3);
	else
		snprintf(buf, len, "%.0f", v);
}

static double win_rate(const struct k2_coord *c, const struct k2_cwin *w)
{
	double r = 0;

	for (uint32_t m = 0; m < w->n_members; m++)
		r += c->r[w->members[m]].rate;
	return r;
}

static void window_line(const struct k2_coord *c, uint32_t i, char *buf, size_t len)
{
	const struct k2_cwin *w = &c->w[i];
	char rate[16], iters[16];

	human(win_rate(c, w), rate, sizeof(rate));
	human((double)w->iters, iters, sizeof(iters));
	snprintf(buf, len, "  w%-3u [%4u:%-4u) %3u -> %-3u insns  ranks %-3u %6s it/s %7s it  "
		 "cex %-4u proofs %-3u %s", i, w->win.start, w->win.end, w->orig_insns,
		 best_insns(w), w->n_members, rate, iters, w->n_cex, w->n_cands, phase_name(w));
}

static void header(const struct k2_coord *c, char *buf, size_t len)
{
	uint32_t before = 0, after = 0, done = 0;
	double t = k2_coord_search_time(c), left = c->deadline - k2_job_now(c->j);

	for (uint32_t i = 0; i < c->nw; i++) {
		before += c->w[i].orig_insns;
		after += best_insns(&c->w[i]);
		done += c->w[i].phase == K2_W_DONE;
	}
	if (c->j->iters)
		snprintf(buf, len, "k2-cluster %s: round %u, %.1f s, windows %u/%u done, "
			 "%u -> %u insns in windows", c->j->section, c->round, t, done, c->nw,
			 before, after);
	else
		snprintf(buf, len, "k2-cluster %s: %.1f s (%.0f s left), windows %u/%u done, "
			 "%u -> %u insns in windows", c->j->section, t, left > 0 ? left : 0, done,
			 c->nw, before, after);
}

static void clear_block(struct k2_coord *c)
{
	for (uint32_t i = 0; i < c->status_lines; i++)
		fputs("\033[1A\033[2K", stderr);
	c->status_lines = 0;
}

void k2_status_update(struct k2_coord *c, bool force)
{
	char line[256];
	uint32_t shown = 0;
	static const double quiet_every = 10;

	if (c->j->args->quiet || c->j->args->no_status)
		return;
	if (!c->tty) {
		if (!force && k2_job_now(c->j) - c->t_logline < quiet_every)
			return;
		c->t_logline = k2_job_now(c->j);
		header(c, line, sizeof(line));
		fprintf(stderr, "%s\n", line);
		return;
	}
	clear_block(c);
	header(c, line, sizeof(line));
	fprintf(stderr, "%s\n", line);
	c->status_lines = 1;
	for (uint32_t i = 0; i < c->nw && shown < STATUS_MAX_WINDOWS; i++) {
		if (c->w[i].phase == K2_W_DONE && !c->w[i].n_cands && c->nw > STATUS_MAX_WINDOWS)
			continue;
		window_line(c, i, line, sizeof(line));
		fprintf(stderr, "%s\n", line);
		c->status_lines++;
		shown++;
	}
	if (shown < c->nw) {
		fprintf(stderr, "  ... %u more windows\n", c->nw - shown);
		c->status_lines++;
	}
	fflush(stderr);
}

void k2_status_event(struct k2_coord *c, const char *fmt, ...)
{
	va_list ap;
	char msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	k2_job_log(c->j, "event: %s", msg);
	if (c->j->args->quiet)
		return;
	if (c->tty)
		clear_block(c);
	fprintf(stderr, "k2-cluster: %.1f s: %s\n", k2_job_now(c->j), msg);
	if (c->tty)
		k2_status_update(c, true);
}

/* ---- the closing table -------------------------------------------------------------------- */

static const char *role_summary(const struct k2_coord *c, char *buf, size_t len)
{
	int workers = 0;

	for (int r = 1; r < c->j->size; r++)
		workers += c->r[r].searcher;
	snprintf(buf, len, "%d rank%s: rank 0 coordinates%s, %d worker%s, %s", c->j->size,
		 c->j->size == 1 ? "" : "s", c->j->coord_works ? " and searches" : "", workers,
		 workers == 1 ? "" : "s",
		 c->j->bench_rank > 0 ? "bench rank" : "rank 0 runs the kernel checks");
	if (c->j->bench_rank > 0)
		snprintf(buf + strlen(buf), len - strlen(buf), " %d", c->j->bench_rank);
	return buf;
}

static void latency_words(const struct k2_coord *c, char *buf, size_t len)
{
	const struct k2_final *f = c->fin;
	const struct k2_bres *r = f && f->measure_sub >= 0 ? &c->subs[f->measure_sub].res : NULL;

	if (!r || !r->measured || isnan(r->ratio)) {
		snprintf(buf, len, "not measured%s", c->bench_off[0] ? " (kernel not usable)" :
			 f && f->hard ? " (stopped hard)" : "");
		return;
	}
	snprintf(buf, len, "%.3f [%.3f, %.3f] of the original (%.1f vs %.1f ns/packet), %s",
		 r->ratio, r->ratio_lo, r->ratio_hi, r->ns, r->orig_ns,
		 r->resolved == 1 ? (r->ratio < 1 ? "faster" : "slower")
				  : "within the noise of identical copies");
	if (!isnan(r->pps) && r->pps > 0)
		snprintf(buf + strlen(buf), len - strlen(buf), "; XDP live %.2f vs %.2f Mpps",
			 r->pps / 1e6, r->orig_pps / 1e6);
}

void k2_report_table(struct k2_coord *c, FILE *f)
{
	const struct k2_final *fin = c->fin;
	char roles[256], lat[256], it[16], rate[16];
	uint32_t improved = 0;
	uint64_t tried = 0, acc = 0, relayed = 0, saved = 0;

	if (c->tty)
		clear_block(c);
	fprintf(f, "\nk2-cluster %s (%s, %s): %s\n", c->j->input, c->j->section,
		k2_prog_type_name(c->j->prog->type), role_summary(c, roles, sizeof(roles)));
	fprintf(f, "%-6s %-12s %6s %6s %6s %9s %9s %6s %7s %-10s\n", "window", "range", "insns",
		"after", "ranks", "proposals", "it/s", "cex", "proofs", "state");
	for (uint32_t i = 0; i < c->nw; i++) {
		const struct k2_cwin *w = &c->w[i];
		const struct k2_opt_window *ow = fin && i < fin->res.n_windows ?
							 &fin->res.windows[i] : NULL;
		char range[32];
		uint32_t after = ow && ow->improved ? best_insns(w) : w->orig_insns;

		if (ow && ow->improved) {
			/* the instructions of the rewrite actually used */
			after = 0;
			for (uint32_t q = 0; q < ow->n_repl; q++)
				after += !(q && ow->repl[q - 1].code == (BPF_LD | BPF_IMM | BPF_DW));
		}
		improved += ow && ow->improved;
		snprintf(range, sizeof(range), "[%u:%u)", w->win.start, w->win.end);
		human((double)w->iters, it, sizeof(it));
		human(w->seconds > 0 ? w->iters / w->seconds : 0, rate, sizeof(rate));
		fprintf(f, "%-6u %-12s %6u %6u %6u %9s %9s %6u %7u %-10s\n", i, range,
			w->orig_insns, after, w->ranks_ever, it, rate, w->n_cex, w->n_cands,
			phase_name(w));
		tried += w->swaps_tried;
		acc += w->swaps_acc;
		relayed += w->cex_relayed;
		saved += w->cex_saved;
	}
	if (!fin || !fin->composed) {
		fprintf(f, "no result: the composition failed\n");
		return;
	}
	fprintf(f, "section %s: %u -> %u instructions (%u -> %u slots), %u of %u windows "
		"improved\n", c->j->section, fin->insns_before, fin->insns_after,
		fin->slots_before, fin->slots_after, improved, c->nw);
	fprintf(f, "proofs: %s; interpreter: %u inputs run the same\n", fin->whole,
		fin->res.interp_inputs);
	if (c->j->args->compose_check)
		fprintf(f, "compose check: %u random sets of proven rewrites: %u equivalent, %u "
			"different%s%s, %u unknown\n", fin->cc_tried, fin->cc_equiv, fin->cc_diff,
			fin->cc_diff ? " (first: " : "", fin->cc_diff ? fin->cc_first_diff : "",
			fin->cc_unknown);
	latency_words(c, lat, sizeof(lat));
	fprintf(f, "kernel: %s; latency %s\n", fin->kernel, lat);
	/* Proven and passed by our safety checks, refused by the verifier: smt/'s bug to fix. */
	for (uint32_t i = 0; i < c->n_subs; i++) {
		const struct k2_bsub *sb = &c->subs[i];
		char who[64] = "the composition";

		if (!sb->done || sb->res.verdict != 0)
			continue;
		if (sb->win >= 0)
			snprintf(who, sizeof(who), "window %d [%u:%u)'s rewrite", sb->win,
				 c->w[sb->win].win.start, c->w[sb->win].win.end);
		fprintf(f, "kernel refused %s (proven, passed our safety checks): %.300s\n", who,
			sb->res.reason);
	}
	fprintf(f, "exchange: %llu counterexamples found, %llu copies relayed, %llu candidates "
		"refuted by another rank's; %llu/%llu replica exchanges between ranks accepted; "
		"%u rank%s dropped\n",
		(unsigned long long)c->cex_found, (unsigned long long)relayed,
		(unsigned long long)saved,
		(unsigned long long)acc, (unsigned long long)tried, c->dropped,
		c->dropped == 1 ? "" : "s");
	fprintf(f, "time: %.1f s of search (%s), %.1f s to finish%s%s; output %s%s\n",
		k2_coord_search_time(c) - (fin->t_end - fin->t_begin), c->stop_reason,
		fin->t_end - fin->t_begin, c->trace_path[0] ? "; trace " : "", c->trace_path,
		c->j->args->output, fin->wrote ? "" : " (NOT written)");
}
