/* mpi/final.c: the end of a run: stop, compose and check, the kernel's word, the output file. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mpi/coord_int.h"

/* STOP to every searching rank; their last reports and BYEs are taken until all answered or
 * the heartbeat timeout passed (the silent ones are dropped). */
static bool local_alive(const struct k2_coord *c, int rank)
{
	const struct k2_crank *r = &c->r[rank];

	return r->pid > 1 && !strcmp(r->host, c->j->host) && k2_pid_alive(r->pid);
}

static void stop_searchers(struct k2_coord *c)
{
	double t0 = k2_job_now(c->j), limit = k2_job_timeout(c->j) + 5;
	bool waiting = true;

	for (int rank = 0; rank < c->j->size; rank++) {
		struct k2_crank *r = &c->r[rank];
		struct k2_buf b = { 0 };

		if (!r->searcher || r->dropped || r->bye)
			continue;
		k2_coord_flush(c, rank);
		k2_buf_u32(&b, 0);
		k2_coord_send(c, rank, K2_T_STOP, &b);
	}
	/* A rank inside a z3 query answers when it returns: one of this node that is still
	 * there gets three times as long. */
	while (waiting && k2_job_now(c->j) - t0 < 3 * limit) {
		struct timespec ts = { 0, 1000000 };
		bool late = k2_job_now(c->j) - t0 >= limit;

		if (k2_coord_pump(c) <= 0)
			nanosleep(&ts, NULL);
		waiting = false;
		for (int rank = 0; rank < c->j->size; rank++)
			waiting |= c->r[rank].searcher && !c->r[rank].dropped && !c->r[rank].bye &&
				   (!late || local_alive(c, rank));
		if (c->local && !c->local_done)
			waiting = true;
	}
	for (int rank = 1; rank < c->j->size; rank++)
		if (c->r[rank].searcher && !c->r[rank].dropped && !c->r[rank].bye)
			k2_sched_drop(c, rank, "no answer to STOP");
}

static bool improved(const struct k2_coord *c, const struct k2_cwin *w, const struct k2_ccand *k)
{
	if (!k)
		return false;
	if (c->j->cfg.search.objective == K2_OBJ_LATENCY && w->orig_perf > 0)
		return k->perf < w->orig_perf;
	return k->n < w->orig_slots;
}

/* res->windows from the pools: each window's best rewrite the kernel has not refused. */
static int fill(struct k2_coord *c, struct k2_opt_result *res, bool by_insns, struct k2_err *e)
{
	k2_opt_result_free(res);
	res->windows = calloc(c->nw + 1, sizeof(*res->windows));
	if (!res->windows)
		return k2_err_set(e, -ENOMEM, "out of memory");
	res->n_windows = c->nw;
	for (uint32_t i = 0; i < c->nw; i++) {
		struct k2_opt_window *ow = &res->windows[i];
		const struct k2_cwin *w = &c->w[i];
		const struct k2_ccand *k = k2_pool_best(w);

		for (uint32_t q = 0; by_insns && q < w->n_cands; q++)
			if (w->cands[q].kernel != 0 && (!k || w->cands[q].n < k->n))
				k = &w->cands[q];
		ow->win = w->win;
		ow->slots_before = ow->slots_after = w->orig_slots;
		ow->found_at = k ? k->t : 0;
		if (!improved(c, w, k))
			continue;
		ow->repl = malloc((k->n + 1) * sizeof(*k->insns));
		if (!ow->repl)
			return k2_err_set(e, -ENOMEM, "out of memory");
		memcpy(ow->repl, k->insns, k->n * sizeof(*k->insns));
		ow->n_repl = k->n;
		ow->slots_after = k->n;
		ow->improved = true;
	}
	return 0;
}

static int compose(struct k2_coord *c, struct k2_opt_result *res, struct k2_err *e)
{
	K2_OPT_OPTS(o, .cfg = &c->j->cfg);

	return k2_opt_compose(c->j->prog, &o, res, e);
}

static uint32_t n_improved(const struct k2_opt_result *res)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < res->n_windows; i++)
		n += res->windows[i].improved;
	return n;
}

static void windows_str(const struct k2_opt_result *res, char *buf, size_t len)
{
	size_t at = 0;

	buf[0] = 0;
	for (uint32_t i = 0; i < res->n_windows && at + 24 < len; i++)
		if (res->windows[i].improved)
			at += (size_t)snprintf(buf + at, len - at, "%s%u-%u", at ? "," : "",
					       res->windows[i].win.start, res->windows[i].win.end);
}

/* The window (improved, with the kernel's refusal of its rewrite alone if any) to give up
 * when the kernel refuses the whole: a known refusal first, else the last one. */
static int32_t culprit(const struct k2_coord *c, const struct k2_opt_result *res)
{
	int32_t last = -1;

	for (uint32_t i = 0; i < res->n_windows; i++) {
		const struct k2_ccand *k;

		if (!res->windows[i].improved)
			continue;
		last = (int32_t)i;
		for (uint32_t q = 0; q < c->w[i].n_cands; q++) {
			k = &c->w[i].cands[q];
			if (k->n == res->windows[i].n_repl && k->kernel == 0 &&
			    !memcmp(k->insns, res->windows[i].repl, k->n * sizeof(*k->insns)))
				return (int32_t)i;
		}
	}
	return last;
}

/* Kernel verifier on the composition; a refusal drops windows until it accepts. */
static int kernel_loop(struct k2_coord *c, struct k2_final *f, struct k2_err *e)
{
	int err = 0;

	while (!err && n_improved(&f->res)) {
		char wins[256];
		const struct k2_bres *r;
		int32_t bad;

		windows_str(&f->res, wins, sizeof(wins));
		f->kernel_sub = k2_cbench_submit(c, -1, f->res.insns, f->res.n_insns, wins,
						 "composition", 0);
		r = k2_cbench_wait(c, f->kernel_sub);
		if (!r || r->verdict != 0)
			return 0;
		bad = culprit(c, &f->res);
		k2_status_event(c, "the kernel refused the composition (%.160s): dropping window "
				"%d", r->reason, bad);
		f->res.windows[bad].improved = false;
		f->res.windows[bad].slots_after = f->res.windows[bad].slots_before;
		f->kernel_dropped++;
		err = compose(c, &f->res, e);
	}
	return err;
}

static void kernel_words(struct k2_coord *c, struct k2_final *f)
{
	const struct k2_bres *r = f->kernel_sub >= 0 ? &c->subs[f->kernel_sub].res : NULL;

	if (!n_improved(&f->res))
		snprintf(f->kernel, sizeof(f->kernel), "%s", c->bench_off[0] ?
			 "not checked (program unchanged)" : "accepted (program unchanged)");
	else if (!r || r->verdict < 0)
		snprintf(f->kernel, sizeof(f->kernel), "not checked (%.500s)",
			 r && r->reason[0] ? r->reason : c->bench_off);
	else
		snprintf(f->kernel, sizeof(f->kernel), "accepted%s", f->kernel_dropped ?
			 " after dropping windows it refused" : "");
	if (f->res.whole == K2_WHOLE_EQUIVALENT)
		snprintf(f->whole, sizeof(f->whole), "whole program proven equivalent (z3)");
	else if (!n_improved(&f->res))
		snprintf(f->whole, sizeof(f->whole), "program unchanged");
	else
		snprintf(f->whole, sizeof(f->whole), "each window proven under its precondition "
			 "(whole program: %s)", f->res.whole != K2_WHOLE_UNKNOWN ? "not run" :
			 f->res.whole_why[0] ? f->res.whole_why : "z3 gave no answer in time");
}

/* Times the final program against the original (the bench rank, or rank 0 itself). */
static void measure(struct k2_coord *c, struct k2_final *f)
{
	char wins[256];

	if (f->hard || c->bench_off[0] || !n_improved(&f->res))
		return;
	windows_str(&f->res, wins, sizeof(wins));
	f->measure_sub = k2_cbench_submit(c, -1, f->res.insns, f->res.n_insns, wins, "final",
					  K2_BQ_MEASURE | K2_BQ_LIVE);
	k2_status_event(c, "timing the result against the original in the kernel");
	k2_cbench_wait(c, f->measure_sub);
}

/*
 * k2_splice maps the k-th old slot of an edit to the k-th slot of its replacement, which may
 * be the second half of an ld_imm64 or break the order; the writer wants survivors in order
 * on instruction starts. Such old instructions count as deleted (their line info goes; the
 * relocations are derived from the new instructions anyway).
 */
/* halves[i]: slot i is the second half of an ld_imm64 (a scan from the start). */
static bool *second_halves(const struct bpf_insn *insns, uint32_t n)
{
	bool *h = calloc(n + 1, sizeof(*h));

	for (uint32_t i = 0; h && i < n; i++)
		if (insns[i].code == (BPF_LD | BPF_IMM | BPF_DW) && i + 1 < n)
			h[++i] = true;
	return h;
}

static int map_fix(const struct k2_prog *old, const struct k2_opt_result *res, int32_t *map,
		   struct k2_err *e)
{
	bool *ho = second_halves(old->insns, old->n_insns);
	bool *hn = second_halves(res->insns, res->n_insns);
	int32_t last = -1;

	if (!ho || !hn) {
		free(ho);
		free(hn);
		return k2_err_set(e, -ENOMEM, "out of memory");
	}
	for (uint32_t i = 0; i < old->n_main; i++) {
		int32_t v = map[i];

		if (ho[i] || v < 0)
			continue;
		if (v <= last || (uint32_t)v >= res->n_insns || hn[v])
			map[i] = -1;
		else
			last = v;
	}
	free(ho);
	free(hn);
	return 0;
}

static int write_output(struct k2_coord *c, struct k2_final *f, struct k2_err *e)
{
	struct k2_job *j = c->j;
	int err = 0;

	if (n_improved(&f->res))
		err = map_fix(j->prog, &f->res, f->res.old_to_new, e);
	if (!err && n_improved(&f->res))
		err = k2_object_set_main(j->obj, j->prog, f->res.insns, f->res.n_insns,
					 f->res.old_to_new, e);
	if (!err)
		err = k2_object_write(j->obj, j->args->output, e);
	f->wrote = !err;
	return err;
}

static void stop_bench(struct k2_coord *c)
{
	struct k2_buf b = { 0 };
	double t0 = k2_job_now(c->j);

	k2_trace_final(c);
	k2_buf_u32(&b, 0);
	k2_send(&c->out, c->j->to_bench, c->bench_dest, K2_T_STOP, &b);
	while (!c->bench_stopped && k2_job_now(c->j) - t0 < k2_job_timeout(c->j) + 30) {
		struct timespec ts = { 0, 1000000 };

		if (k2_coord_pump(c) <= 0)
			nanosleep(&ts, NULL);
	}
}

/* Kills ranks that were dropped but may still exist (stopped, hung): MPI_Finalize would wait
 * for them. Only a process that is still k2-cluster is touched. One that said BYE after
 * all is waiting in MPI_Finalize for this rank: it ends with the job. */
static bool dropped_alive(const struct k2_coord *c)
{
	for (int rank = 1; rank < c->j->size; rank++) {
		const struct k2_crank *r = &c->r[rank];

		if (r->dropped && !r->bye && r->pid > 1 && !strcmp(r->host, c->j->host) &&
		    k2_pid_alive(r->pid))
			return true;
	}
	return false;
}

static void reap(struct k2_coord *c)
{
	double t0 = k2_job_now(c->j);

	/* They were sent STOP when dropped: a rank that was only slow ends by itself (killing
	 * it would make mpirun end the job with an error). */
	while (dropped_alive(c) && k2_job_now(c->j) - t0 < 2 * k2_job_timeout(c->j)) {
		struct timespec ts = { 0, 10000000 };

		k2_outbox_poll(&c->out);
		if (k2_coord_inbox(c) <= 0)
			nanosleep(&ts, NULL);
	}
	for (int rank = 1; rank < c->j->size; rank++) {
		const struct k2_crank *r = &c->r[rank];
		int via = -1;

		/* No word at the end for a rank that is gone or being ended (k2_cluster_end). */
		if (r->dropped && !r->bye && c->j->gone)
			c->j->gone[rank] = true;
		if (!r->dropped || r->bye || r->pid <= 1)
			continue;
		if (!strcmp(r->host, c->j->host)) {
			k2_reap_pid(c->j, r->pid);
			continue;
		}
		for (int k = 1; k < c->j->size && via < 0; k++)
			if (!c->r[k].dropped && !c->r[k].failed && !strcmp(c->r[k].host, r->host))
				via = k;
		if (via > 0) {
			struct k2_buf b = { 0 };

			k2_buf_u32(&b, (uint32_t)r->pid);
			k2_send(&c->out, c->j->to_worker, via, K2_T_REAP, &b);
		}
	}
}

int k2_final_run(struct k2_coord *c, struct k2_err *e)
{
	struct k2_final *f = calloc(1, sizeof(*f));
	const struct k2_cluster_args *a = c->j->args;
	struct k2_err ce = { 0 };
	int err;

	if (!f)
		return k2_err_set(e, -ENOMEM, "out of memory");
	c->fin = f;
	f->kernel_sub = f->measure_sub = -1;
	f->t_begin = k2_job_now(c->j);
	k2_status_event(c, "stopping: %s", c->stop_reason);
	stop_searchers(c);
	k2_trace_progress(c);
	if (a->checkpoint && k2_ckpt_write(c, a->checkpoint, &ce))
		k2_status_event(c, "checkpoint: %s", ce.msg);
	f->hard = k2_cluster_signal > 1;
	err = fill(c, &f->res, false, e);
	if (!err)
		err = compose(c, &f->res, e);
	f->composed = !err;
	if (!err)
		k2_job_log(c->j, "composed: %u windows improved, %u dropped by the checks, whole %d "
			   "(%s)", f->res.improved, f->res.dropped, f->res.whole, f->res.whole_why);
	if (!err)
		err = kernel_loop(c, f, e);
	if (!err) {
		kernel_words(c, f);
		measure(c, f);
		f->insns_before = f->res.insns_before;
		f->insns_after = f->res.insns_after;
		f->slots_before = f->res.slots_before;
		f->slots_after = f->res.slots_after;
		/* Before the output: writing it gives j->prog the new instructions. */
		if (a->compose_check && !f->hard && k2_compose_check(c, &ce))
			k2_status_event(c, "compose check: %s", ce.msg);
		err = write_output(c, f, e);
	}
	f->t_end = k2_job_now(c->j);
	stop_bench(c);
	if (!a->quiet)
		k2_report_table(c, stdout);
	if (a->report && k2_report_json(c, a->report, &ce))
		fprintf(stderr, "k2-cluster: %s\n", ce.msg);
	reap(c);
	return err;
}

void k2_final_free(struct k2_coord *c)
{
	if (!c->fin)
		return;
	k2_opt_result_free(&c->fin->res);
	free(c->fin);
	c->fin = NULL;
}
