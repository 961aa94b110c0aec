/* kernel_bench/kern_run.c: one BPF_PROG_TEST_RUN of a loaded program on a struct k2_input. */
#include "kernel_bench/kern_int.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <string.h>

enum run_kind { RUN_NONE, RUN_XDP, RUN_SKB, RUN_RAW_TP };

static enum run_kind run_kind(uint32_t type)
{
	switch (type) {
	case BPF_PROG_TYPE_XDP:
		return RUN_XDP;
	case BPF_PROG_TYPE_SOCKET_FILTER:
	case BPF_PROG_TYPE_SCHED_CLS:
	case BPF_PROG_TYPE_SCHED_ACT:
	case BPF_PROG_TYPE_CGROUP_SKB:
	case BPF_PROG_TYPE_LWT_IN:
	case BPF_PROG_TYPE_LWT_OUT:
	case BPF_PROG_TYPE_LWT_XMIT:
		return RUN_SKB;
	case BPF_PROG_TYPE_RAW_TRACEPOINT:
		return RUN_RAW_TP;
	default:
		return RUN_NONE;
	}
}

bool k2_kern_can_run(uint32_t prog_type)
{
	return run_kind(prog_type) != RUN_NONE;
}

/* Copies field [off, off+size) of the input's context when the input has it. */
static void ctx_field(const struct k2_input *in, void *dst, size_t off, size_t size)
{
	if (in->ctx_len >= off + size)
		memcpy((uint8_t *)dst + off, in->ctx + off, size);
}

#define CTX_FIELD(in, s, f) ctx_field(in, s, offsetof(__typeof__(*(s)), f), sizeof((s)->f))

/* The xdp_md BPF_PROG_TEST_RUN accepts: data = metadata bytes, data_end = all of data_in. */
static void xdp_ctx(const struct k2_input *in, struct xdp_md *md)
{
	memset(md, 0, sizeof(*md));
	CTX_FIELD(in, md, data);
	CTX_FIELD(in, md, ingress_ifindex);
	CTX_FIELD(in, md, rx_queue_index);
	md->data_meta = 0;
	md->egress_ifindex = 0;
	md->data_end = in->pkt_len;
}

/* The __sk_buff fields convert___skb_to_skb() takes from user space; the rest must be 0. */
static void skb_ctx(const struct k2_input *in, struct __sk_buff *skb)
{
	memset(skb, 0, sizeof(*skb));
	CTX_FIELD(in, skb, mark);
	CTX_FIELD(in, skb, priority);
	CTX_FIELD(in, skb, ingress_ifindex);
	CTX_FIELD(in, skb, ifindex);
	CTX_FIELD(in, skb, cb);
	CTX_FIELD(in, skb, tstamp);
	CTX_FIELD(in, skb, wire_len);
	CTX_FIELD(in, skb, gso_segs);
	CTX_FIELD(in, skb, gso_size);
	CTX_FIELD(in, skb, hwtstamp);
}

static int run_xdp(const struct k2_kern_prog *kp, const struct k2_input *in,
		   struct bpf_test_run_opts *t, struct k2_kern_result *res, struct k2_err *e)
{
	struct xdp_md md, md_out;

	xdp_ctx(in, &md);
	memset(&md_out, 0, sizeof(md_out));
	t->ctx_in = &md;
	t->ctx_size_in = sizeof(md);
	t->ctx_out = &md_out;
	t->ctx_size_out = sizeof(md_out);
	t->data_out = res->pkt;
	t->data_size_out = sizeof(res->pkt);
	if (bpf_prog_test_run_opts(kp->fd, t) < 0)
		return k2_err_set(e, -errno,
				  "BPF_PROG_TEST_RUN (xdp, %u bytes, %u of metadata): %s",
				  in->pkt_len, md.data, strerror(errno));
	if (md_out.data > md_out.data_end || md_out.data_end != t->data_size_out)
		return k2_err_set(e, -EIO, "BPF_PROG_TEST_RUN (xdp): odd xdp_md out: data %u "
				  "data_end %u, %u bytes out", md_out.data, md_out.data_end,
				  t->data_size_out);
	res->meta_len = md_out.data;
	res->pkt_len = t->data_size_out;
	/* Without a ctx_in test_run has no ctx_out either; we pass one only to learn meta_len. */
	memcpy(res->ctx, &md_out, sizeof(md_out));
	res->ctx_len = in->ctx_len ? sizeof(md_out) : 0;
	return 0;
}

static int run_skb(const struct k2_kern_prog *kp, const struct k2_input *in,
		   struct bpf_test_run_opts *t, struct k2_kern_result *res, struct k2_err *e)
{
	struct __sk_buff skb, skb_out;

	skb_ctx(in, &skb);
	memset(&skb_out, 0, sizeof(skb_out));
	if (in->ctx_len) {
		t->ctx_in = &skb;
		t->ctx_size_in = sizeof(skb);
		t->ctx_out = &skb_out;
		t->ctx_size_out = sizeof(skb_out);
	}
	t->data_out = res->pkt;
	t->data_size_out = sizeof(res->pkt);
	if (bpf_prog_test_run_opts(kp->fd, t) < 0) {
		int err = -errno;
		uint16_t proto = in->pkt_len >= 14 ? (uint16_t)(in->pkt[12] << 8 | in->pkt[13]) : 0;

		return k2_err_set(
			e, err, "BPF_PROG_TEST_RUN (%s, %u bytes): %s%s",
			libbpf_bpf_prog_type_str((enum bpf_prog_type)kp->type), in->pkt_len,
			strerror(-err),
			err != -EINVAL			      ? ""
			: proto == 0x0800 && in->pkt_len < 34 ? " (an IPv4 frame needs 34 bytes)"
			: proto == 0x86dd && in->pkt_len < 54 ? " (an IPv6 frame needs 54 bytes)"
			: in->pkt_len < 14		      ? " (a frame needs 14 bytes)"
							      : "");
	}
	res->pkt_len = t->data_size_out;
	memcpy(res->ctx, &skb_out, sizeof(skb_out));
	res->ctx_len = in->ctx_len ? sizeof(skb_out) : 0;
	return 0;
}

static int run_raw_tp(const struct k2_kern_prog *kp, const struct k2_input *in,
		      struct bpf_test_run_opts *t, struct k2_err *e)
{
	t->data_in = NULL;
	t->data_size_in = 0;
	t->ctx_in = in->ctx_len ? in->ctx : NULL;
	t->ctx_size_in = in->ctx_len;
	t->repeat = 0; /* raw_tp runs once and rejects repeat */
	if (bpf_prog_test_run_opts(kp->fd, t) < 0)
		return k2_err_set(e, -errno, "BPF_PROG_TEST_RUN (raw_tracepoint): %s",
				  strerror(errno));
	return 0;
}

int k2_kern_run(const struct k2_kern_prog *kp, const struct k2_input *in,
		const struct k2_kern_run_opts *opts, struct k2_kern_result *res, struct k2_err *e)
{
	uint32_t repeat = K2_OPT(opts, repeat, 1u);
	enum run_kind kind = run_kind(kp->type);
	int err;

	LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = in->pkt, .data_size_in = in->pkt_len,
		    .repeat = repeat ? (int)repeat : 1);
	res->retval = 0;
	res->duration_ns = 0;
	res->pkt_len = res->meta_len = res->ctx_len = 0;
	if (kind == RUN_NONE)
		return k2_err_set(e, -EOPNOTSUPP, "BPF_PROG_TEST_RUN cannot run %s programs",
				  libbpf_bpf_prog_type_str((enum bpf_prog_type)kp->type));
	if (in->pkt_len > sizeof(in->pkt) || in->ctx_len > K2_CTX_MAX)
		return k2_err_set(e, -EINVAL, "input too large: packet %u, ctx %u bytes",
				  in->pkt_len, in->ctx_len);
	if (!K2_OPT(opts, no_pin, false)) {
		err = k2_kern_pin_cpu(in->cpu, e);
		if (err)
			return err;
	}
	if (kind == RUN_XDP)
		err = run_xdp(kp, in, &t, res, e);
	else if (kind == RUN_SKB)
		err = run_skb(kp, in, &t, res, e);
	else
		err = run_raw_tp(kp, in, &t, e);
	if (err)
		return err;
	res->retval = t.retval;
	res->duration_ns = t.duration;
	return 0;
}
