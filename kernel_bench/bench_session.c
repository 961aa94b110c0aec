/* kernel_bench/bench_session.c: a bench session: the original, its candidates, maps, packets. */
#include "kernel_bench/bench_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void prog_init(struct k2_bench_prog *p, uint32_t id, const struct k2_bench_cand *c)
{
	memset(p, 0, sizeof(*p));
	p->id = id;
	snprintf(p->windows, sizeof(p->windows), "%s", c && c->windows ? c->windows : "");
	snprintf(p->source, sizeof(p->source), "%s", c && c->source ? c->source : "");
	p->vr.verdict = K2_VERDICT_NOT_CHECKED;
	p->ratio = p->ratio_lo = p->ratio_hi = NAN;
	p->mix.median = p->mix.min = p->mix.max = p->mix.q1 = p->mix.q3 = NAN;
	p->resolved = -1;
	p->pps = NAN;
	p->noise_ns = NAN;
}

void k2_bench_prog_release(struct k2_bench_prog *p)
{
	free(p->samples);
	free(p->pkt);
	free(p->pkt_ratio);
	free(p->vr.log);
	p->samples = NULL;
	p->pkt = NULL;
	p->pkt_ratio = NULL;
	p->vr.log = NULL;
}

static int grow(struct k2_bench *b, struct k2_err *e)
{
	uint32_t cap = b->cap_progs ? 2 * b->cap_progs : 8;
	struct k2_bench_prog *p = realloc(b->progs, cap * sizeof(*p));
	struct k2_bench_slot *s;

	if (p)
		b->progs = p;
	s = p ? realloc(b->slots, cap * sizeof(*s)) : NULL;
	if (!s)
		return k2_err_set(e, -ENOMEM, "bench: out of memory");
	b->slots = s;
	b->cap_progs = cap;
	return 0;
}

/* Verifies and records one program; its kernel copy stays loaded for measuring. */
static int add(struct k2_bench *b, const struct k2_bench_cand *c, uint32_t *id, struct k2_err *e)
{
	struct k2_bench_prog *p;
	struct k2_bench_slot *s;
	int err;

	if (b->n_progs == b->cap_progs && (err = grow(b, e)))
		return err;
	p = &b->progs[b->n_progs];
	s = &b->slots[b->n_progs];
	prog_init(p, b->n_progs, c);
	s->kp = NULL;
	s->hold = -1;
	if (b->off[0]) {
		p->vr.n_insns = c && c->insns ? c->n_insns : b->prog->n_insns;
		snprintf(p->vr.reason, sizeof(p->vr.reason), "kernel: not checked");
	} else {
		err = k2_bench_load(b->prog, b->km, c, &p->vr, &s->kp, e);
		if (err)
			return err;
	}
	if (id)
		*id = b->n_progs;
	b->n_progs++;
	if (b->o.progress && !b->off[0])
		fprintf(b->o.progress, "bench: %s %u (%s): %s%s\n",
			p->id ? "candidate" : "original", p->id, p->source[0] ? p->source : "-",
			p->vr.verdict == K2_VERDICT_ACCEPTED ? "accepted" : "rejected: ",
			p->vr.verdict == K2_VERDICT_ACCEPTED ? "" : p->vr.reason);
	return 0;
}

int k2_bench_reset_maps(struct k2_bench *b, struct k2_err *e)
{
	if (!b->o.maps)
		return 0;
	return k2_kern_maps_fill(b->km, b->o.maps, e);
}

int k2_bench_new(const struct k2_prog *prog, const struct k2_bench_opts *opts,
		 struct k2_bench **out, struct k2_err *e)
{
	struct k2_bench *b = calloc(1, sizeof(*b));
	struct k2_bench_cand orig = { .source = K2_BOPT(opts, source, NULL) };
	struct k2_err pe = { 0 };
	int err;

	*out = NULL;
	if (!b)
		return k2_err_set(e, -ENOMEM, "bench: out of memory");
	if (opts)
		memcpy(&b->o, opts, opts->sz < sizeof(b->o) ? opts->sz : sizeof(b->o));
	b->o.sz = sizeof(b->o);
	b->prog = prog;
	b->cpu = -1;
	b->rounds = b->o.rounds ? b->o.rounds : 10;
	b->floor_ns = NAN;
	/* Without bpf() the session still records its programs, as "kernel: not checked". */
	if (k2_kern_probe(&pe))
		snprintf(b->off, sizeof(b->off), "%s", pe.msg);
	err = k2_topo_load(&b->topo, e);
	if (!err && b->o.pin != K2_PIN_NONE)
		err = k2_pin_bench(b->topo, b->o.pin == K2_PIN_CORE ? b->o.core : -1, &b->cpu, e);
	if (!err && !b->off[0])
		err = k2_kern_maps_create(prog->maps, prog->n_maps, &b->km, e);
	if (!err)
		err = k2_bench_packets(b, e);
	if (!err)
		err = add(b, &orig, NULL, e);
	if (!err && !b->off[0] && b->progs[0].vr.verdict != K2_VERDICT_ACCEPTED)
		err = k2_err_set(e, b->progs[0].vr.err ? b->progs[0].vr.err : -EINVAL,
				 "the original does not load: %s", b->progs[0].vr.reason);
	if (err) {
		k2_bench_free(b);
		return err;
	}
	*out = b;
	return 0;
}

void k2_bench_free(struct k2_bench *b)
{
	if (!b)
		return;
	if (b->n_hist) { /* progs[0] borrows the arrays of the latest hist entry */
		b->progs[0].samples = NULL;
		b->progs[0].pkt = NULL;
		b->progs[0].pkt_ratio = NULL;
	}
	for (uint32_t i = 0; i < b->n_progs; i++) {
		if (b->ns)
			k2_netns_unhold(b->ns, b->slots[i].hold);
		k2_kern_prog_free(b->slots[i].kp);
		k2_bench_prog_release(&b->progs[i]);
	}
	for (uint32_t i = 0; i < b->n_hist; i++)
		k2_bench_prog_release(&b->hist[i]);
	free(b->hist);
	free(b->progs);
	free(b->slots);
	free(b->pkts);
	free(b->res);
	k2_netns_free(b->ns);
	k2_kern_maps_free(b->km);
	k2_topo_free(b->topo);
	free(b);
}

int k2_bench_add(struct k2_bench *b, const struct k2_bench_cand *c, uint32_t *id,
		 struct k2_err *e)
{
	if (c->insns && !c->n_insns)
		return k2_err_set(e, -EINVAL, "candidate: empty program");
	return add(b, c, id, e);
}

int k2_bench_netns(struct k2_bench *b, struct k2_netns **ns, struct k2_err *e)
{
	int err = 0;

	if (!b->ns)
		err = k2_netns_new(b->o.cleanup, &b->ns, e);
	*ns = b->ns;
	return err;
}

const char *k2_bench_off(const struct k2_bench *b)
{
	return b->off[0] ? b->off : NULL;
}

uint32_t k2_bench_n_progs(const struct k2_bench *b)
{
	return b->n_progs;
}

const struct k2_bench_prog *k2_bench_prog(const struct k2_bench *b, uint32_t id)
{
	return id < b->n_progs ? &b->progs[id] : NULL;
}

uint32_t k2_bench_n_packets(const struct k2_bench *b)
{
	return b->n_pkts;
}

const struct k2_bench_pkt *k2_bench_packet(const struct k2_bench *b, uint32_t i)
{
	return i < b->n_pkts ? &b->pkts[i] : NULL;
}

uint32_t k2_bench_rounds(const struct k2_bench *b)
{
	return b->rounds;
}

uint32_t k2_bench_repeat(const struct k2_bench *b)
{
	return b->repeat;
}

double k2_bench_floor_ns(const struct k2_bench *b)
{
	return b->floor_ns;
}

int k2_bench_cpu(const struct k2_bench *b)
{
	return b->cpu;
}

const struct k2_topo *k2_bench_topo(const struct k2_bench *b)
{
	return b->topo;
}
