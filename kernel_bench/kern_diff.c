/* kernel_bench/kern_diff.c: one program in the kernel and in the interpreter, outputs compared. */
#include "kernel_bench/kern_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct k2_diff {
	const struct k2_prog *prog;
	struct k2_kern_maps *km;
	struct k2_kern_prog *kp;
	struct k2_vm *vm;
	struct k2_kern_result kres;
	struct k2_result ires;
	struct k2_mapstate *ms_k, *ms_i; /* maps after the last run: kernel, interpreter */
	struct k2_mapstate *ms_prev;     /* what the kernel maps hold now (the last ms_k) */
	uint32_t ignore;
};

int k2_diff_new(const struct k2_prog *prog, const struct k2_diff_opts *opts, struct k2_diff **out,
		struct k2_err *e)
{
	struct k2_kern_load_opts lo = { .sz = sizeof(lo) };
	struct k2_vm_opts vo = { .sz = sizeof(vo) };
	struct k2_diff *d;
	int err;

	*out = NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return k2_err_set(e, -ENOMEM, "out of memory");
	d->prog = prog;
	d->ignore = K2_OPT(opts, ignore, 0u);
	lo.log_buf = K2_OPT(opts, log_buf, NULL);
	lo.log_size = K2_OPT(opts, log_size, (size_t)0);
	err = k2_kern_maps_create(prog->maps, prog->n_maps, &d->km, e);
	if (!err)
		err = k2_kern_prog_load(prog, d->km, &lo, &d->kp, e);
	if (!err)
		err = k2_vm_new(prog, &vo, &d->vm, e);
	if (!err)
		k2_kern_maps_idle_unused(d->km, prog->insns, prog->n_insns);
	if (err) {
		k2_diff_free(d);
		return err;
	}
	*out = d;
	return 0;
}

void k2_diff_free(struct k2_diff *d)
{
	if (!d)
		return;
	k2_mapstate_free(d->ms_k);
	k2_mapstate_free(d->ms_i);
	k2_mapstate_free(d->ms_prev);
	k2_vm_free(d->vm);
	k2_kern_prog_free(d->kp);
	k2_kern_maps_free(d->km);
	free(d);
}

const struct k2_kern_prog *k2_diff_kern_prog(const struct k2_diff *d)
{
	return d->kp;
}

const struct k2_kern_maps *k2_diff_maps(const struct k2_diff *d)
{
	return d->km;
}

/* Where two byte strings first differ, as "at N: kernel xx.. interp yy..". */
static void bytes_diff(char *out, size_t len, const uint8_t *a, uint32_t na, const uint8_t *b,
		       uint32_t nb)
{
	uint32_t i = 0, n = na < nb ? na : nb;
	size_t j;

	while (i < n && a[i] == b[i])
		i++;
	j = (size_t)snprintf(out, len, "at byte %u: kernel", i);
	for (uint32_t k = i; k < na && k < i + 8 && j < len; k++)
		j += (size_t)snprintf(out + j, len - j, " %02x", a[k]);
	if (j < len)
		j += (size_t)snprintf(out + j, len - j, ", interp");
	for (uint32_t k = i; k < nb && k < i + 8 && j < len; k++)
		j += (size_t)snprintf(out + j, len - j, " %02x", b[k]);
}

static void compare(struct k2_diff *d, struct k2_diff_outcome *o)
{
	const struct k2_kern_result *k = &d->kres;
	const struct k2_result *r = &d->ires;
	char buf[400];

	if (r->status != K2_RUN_OK && !(d->ignore & K2_DIFF_STATUS)) {
		o->kinds |= K2_DIFF_STATUS;
		snprintf(o->what, sizeof(o->what), "interp: %s at insn %u (%s); kernel ran, r0 %u",
			 k2_status_name(r->status), r->err_insn,
			 r->err_reason ? r->err_reason : "", k->retval);
		return;
	}
	if (r->status != K2_RUN_OK)
		return;
	if ((uint32_t)r->r0 != k->retval && !(d->ignore & K2_DIFF_R0)) {
		o->kinds |= K2_DIFF_R0;
		snprintf(o->what, sizeof(o->what), "r0: kernel %u (0x%x), interp %u (0x%x)",
			 k->retval, k->retval, (uint32_t)r->r0, (uint32_t)r->r0);
	}
	if ((r->pkt_len != k->pkt_len || r->meta_len != k->meta_len ||
	     memcmp(r->pkt, k->pkt, k->pkt_len)) && !(d->ignore & K2_DIFF_PKT)) {
		o->kinds |= K2_DIFF_PKT;
		bytes_diff(buf, sizeof(buf), k->pkt, k->pkt_len, r->pkt, r->pkt_len);
		if (!o->what[0])
			snprintf(o->what, sizeof(o->what),
				 "packet: kernel %u bytes (%u meta), interp %u (%u meta); %s",
				 k->pkt_len, k->meta_len, r->pkt_len, r->meta_len, buf);
	}
	if ((r->ctx_len != k->ctx_len || memcmp(r->ctx, k->ctx, k->ctx_len)) &&
	    !(d->ignore & K2_DIFF_CTX)) {
		o->kinds |= K2_DIFF_CTX;
		bytes_diff(buf, sizeof(buf), k->ctx, k->ctx_len, r->ctx, r->ctx_len);
		if (!o->what[0])
			snprintf(o->what, sizeof(o->what), "ctx_out (%u vs %u bytes): %s",
				 k->ctx_len, r->ctx_len, buf);
	}
	if (!(d->ignore & K2_DIFF_MAPS) && k2_kern_maps_diff(d->ms_k, d->ms_i, buf, sizeof(buf))) {
		o->kinds |= K2_DIFF_MAPS;
		if (!o->what[0])
			snprintf(o->what, sizeof(o->what), "maps (kernel vs interp): %s", buf);
	}
}

/*
 * States for a run. keep: the kernel maps stay as the last run left them (nothing is
 * filled or read), so what the kernel maps hold is no longer known.
 */
static int fresh_states(struct k2_diff *d, const struct k2_mapstate *ms, bool keep,
			struct k2_err *e)
{
	const struct k2_prog *p = d->prog;
	uint32_t ncpus = k2_mapstate_ncpus(ms);
	int err = 0;

	/* The kernel maps hold the last read-back: the next fill writes only differences. */
	k2_mapstate_free(d->ms_prev);
	d->ms_prev = keep ? NULL : d->ms_k;
	if (keep)
		k2_mapstate_free(d->ms_k);
	if (d->ms_prev && k2_mapstate_ncpus(d->ms_prev) != ncpus) {
		k2_mapstate_free(d->ms_prev);
		d->ms_prev = NULL;
	}
	k2_mapstate_free(d->ms_i);
	d->ms_k = d->ms_i = NULL;
	if (!keep)
		err = k2_mapstate_new(p->maps, p->n_maps, ncpus, &d->ms_k, e);
	if (!err)
		err = k2_mapstate_clone(ms, &d->ms_i);
	if (err && !e->msg[0])
		k2_err_set(e, err, "out of memory for map states");
	return err;
}

int k2_diff_run_opts(struct k2_diff *d, const struct k2_input *in,
		     const struct k2_diff_run_opts *ro, struct k2_diff_outcome *o,
		     struct k2_err *e)
{
	bool keep = K2_OPT(ro, keep_maps, false);
	uint32_t ignore = d->ignore;
	int err;

	memset(o, 0, sizeof(*o));
	if (!in->maps)
		return k2_err_set(e, -EINVAL, "differential run without map contents (in->maps)");
	err = fresh_states(d, in->maps, keep, e);
	if (!err && !keep)
		err = k2_kern_maps_update(d->km, in->maps, d->ms_prev, e);
	if (!err)
		err = k2_kern_run(d->kp, in, NULL, &d->kres, e);
	if (!err && !keep)
		err = k2_kern_maps_read(d->km, d->ms_k, e);
	if (err)
		return err;
	k2_vm_run(d->vm, in, &d->ires);
	if (d->ires.status == K2_RUN_OK) {
		err = k2_vm_map_commit(d->vm, d->ms_i);
		if (err)
			return k2_err_set(e, err,
					  "committing the interpreter's map changes failed");
	}
	o->kern_r0 = d->kres.retval;
	o->interp_r0 = d->ires.r0;
	o->interp_status = d->ires.status;
	if (d->ires.status == K2_RUN_ECAP) {
		o->skipped = true; /* the interpreter's room, not the semantics */
		return 0;
	}
	if (keep)
		d->ignore |= K2_DIFF_MAPS;
	compare(d, o);
	d->ignore = ignore;
	o->mismatch = o->kinds != 0;
	return 0;
}

int k2_diff_run(struct k2_diff *d, const struct k2_input *in, struct k2_diff_outcome *o,
		struct k2_err *e)
{
	return k2_diff_run_opts(d, in, NULL, o, e);
}

const struct k2_mapstate *k2_diff_interp_maps(const struct k2_diff *d)
{
	return d->ms_i;
}

int k2_diff_check_maps(struct k2_diff *d, const struct k2_mapstate *want,
		       struct k2_diff_outcome *o, struct k2_err *e)
{
	char buf[400];
	int err;

	memset(o, 0, sizeof(*o));
	k2_mapstate_free(d->ms_k);
	d->ms_k = NULL;
	err = k2_mapstate_new(d->prog->maps, d->prog->n_maps, k2_mapstate_ncpus(want), &d->ms_k, e);
	if (err)
		return err;
	d->km->idle_src = want; /* maps the program cannot reach hold what it expects */
	err = k2_kern_maps_read(d->km, d->ms_k, e);
	if (err)
		return err;
	if (!(d->ignore & K2_DIFF_MAPS) && k2_kern_maps_diff(d->ms_k, want, buf, sizeof(buf))) {
		o->kinds = K2_DIFF_MAPS;
		o->mismatch = true;
		snprintf(o->what, sizeof(o->what), "maps (kernel vs interp): %s", buf);
	}
	return 0;
}

static void hexdump(FILE *f, const char *indent, const uint8_t *p, uint32_t n)
{
	for (uint32_t i = 0; i < n; i += 32) {
		fprintf(f, "%s%04x:", indent, i);
		for (uint32_t j = i; j < n && j < i + 32; j++)
			fprintf(f, "%s%02x", (j - i) % 4 ? "" : " ", p[j]);
		fputc('\n', f);
	}
}

/* The entries of every map with data, one line each; values cut at 64 bytes. */
static void dump_maps(FILE *f, const struct k2_prog *p, const struct k2_mapstate *ms)
{
	uint8_t key[512], next[512], *val;
	uint32_t ncpus = k2_mapstate_ncpus(ms);

	for (uint32_t i = 0; i < p->n_maps; i++) {
		const struct k2_map *m = &p->maps[i];
		size_t vsz = (size_t)m->value_size * ncpus;
		const void *prev = NULL;
		int shown = 0;

		if (!k2_kern_map_has_data(m->type) || m->key_size > sizeof(key))
			continue;
		val = calloc(1, vsz ? vsz : 1);
		if (!val)
			return;
		fprintf(f, "    map %u %s (%s, key %u, value %u, max %u%s):\n", i, m->name,
			k2_kern_map_type_str(m->type), m->key_size, m->value_size, m->max_entries,
			m->readonly ? ", frozen" : "");
		while (shown < 16 && k2_mapstate_next_key(ms, i, prev, next) == 0) {
			uint32_t vn = m->value_size * (k2_kern_map_percpu(m->type) ? ncpus : 1);

			memcpy(key, next, m->key_size);
			prev = key;
			if (k2_mapstate_lookup(ms, i, key, val))
				continue;
			fprintf(f, "      key ");
			for (uint32_t b = 0; b < m->key_size; b++)
				fprintf(f, "%02x", key[b]);
			fprintf(f, " =");
			for (uint32_t b = 0; b < vn && b < 64; b++)
				fprintf(f, "%s%02x", b % 4 ? "" : " ", val[b]);
			fprintf(f, "%s\n", vn > 64 ? " ..." : "");
			shown++;
		}
		free(val);
	}
}

void k2_diff_report(FILE *f, const struct k2_diff *d, const struct k2_input *in,
		    const struct k2_diff_outcome *o, const char *title)
{
	const struct k2_prog *p = d->prog;
	const struct k2_kern_result *k = &d->kres;
	const struct k2_result *r = &d->ires;

	fprintf(f, "\n## %s\n\n", title);
	fprintf(f, "- first difference: %s\n", o->what);
	fprintf(f, "- program: %s, section %s, %u insns, %u maps\n\n```\n",
		k2_prog_type_name(p->type), p->sec, p->n_insns, p->n_maps);
	k2_disasm_prog(f, p->insns, p->n_insns);
	fprintf(f, "```\n\n- input: %u packet bytes, cpu %u, ctx %u bytes\n", in->pkt_len, in->cpu,
		in->ctx_len);
	fprintf(f, "  packet:\n");
	hexdump(f, "    ", in->pkt, in->pkt_len < 128 ? in->pkt_len : 128);
	if (in->pkt_len > 128)
		fprintf(f, "    ... (%u more bytes)\n", in->pkt_len - 128);
	fprintf(f, "  ctx:\n");
	hexdump(f, "    ", in->ctx, in->ctx_len);
	fprintf(f, "  maps at entry:\n");
	dump_maps(f, p, in->maps);
	fprintf(f, "- kernel: r0 %u (0x%x), packet %u bytes (meta %u)\n", k->retval, k->retval,
		k->pkt_len, k->meta_len);
	fprintf(f, "- interp: status %s", k2_status_name(r->status));
	if (r->status != K2_RUN_OK)
		fprintf(f, " at insn %u (%s)", r->err_insn, r->err_reason ? r->err_reason : "");
	fprintf(f, ", r0 %llu (0x%llx), packet %u bytes (meta %u)\n", (unsigned long long)r->r0,
		(unsigned long long)r->r0, r->pkt_len, r->meta_len);
	if (o->kinds & K2_DIFF_PKT) {
		fprintf(f, "  packet out, kernel:\n");
		hexdump(f, "    ", k->pkt, k->pkt_len < 128 ? k->pkt_len : 128);
		fprintf(f, "  packet out, interp:\n");
		hexdump(f, "    ", r->pkt, r->pkt_len < 128 ? r->pkt_len : 128);
	}
	if (o->kinds & K2_DIFF_CTX) {
		fprintf(f, "  ctx_out, kernel:\n");
		hexdump(f, "    ", k->ctx, k->ctx_len);
		fprintf(f, "  ctx_out, interp:\n");
		hexdump(f, "    ", r->ctx, r->ctx_len);
	}
	if (o->kinds & K2_DIFF_MAPS) {
		fprintf(f, "  maps after, kernel:\n");
		dump_maps(f, p, d->ms_k);
		fprintf(f, "  maps after, interp:\n");
		dump_maps(f, p, d->ms_i);
	}
}
