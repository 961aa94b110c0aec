/* bpf/ctx.c: the context of each program type: what a program may read or write, values. */
#include <string.h>

#include "bpf/vm_internal.h"

/* struct __sk_buff offsets (uapi). */
enum {
	SKB_LEN = 0,
	SKB_PKT_TYPE = 4,
	SKB_MARK = 8,
	SKB_QUEUE_MAPPING = 12,
	SKB_PROTOCOL = 16,
	SKB_VLAN_PRESENT = 20,
	SKB_VLAN_TCI = 24,
	SKB_VLAN_PROTO = 28,
	SKB_PRIORITY = 32,
	SKB_INGRESS_IFINDEX = 36,
	SKB_IFINDEX = 40,
	SKB_TC_INDEX = 44,
	SKB_CB = 48,
	SKB_HASH = 68,
	SKB_TC_CLASSID = 72,
	SKB_DATA = 76,
	SKB_DATA_END = 80,
	SKB_NAPI_ID = 84,
	SKB_FAMILY = 88,
	SKB_REMOTE_IP4 = 92,
	SKB_LOCAL_IP4 = 96,
	SKB_REMOTE_IP6 = 100,
	SKB_LOCAL_IP6 = 116,
	SKB_REMOTE_PORT = 132,
	SKB_LOCAL_PORT = 136,
	SKB_DATA_META = 140,
	SKB_FLOW_KEYS = 144,
	SKB_TSTAMP = 152,
	SKB_WIRE_LEN = 160,
	SKB_GSO_SEGS = 164,
	SKB_SK = 168,
	SKB_GSO_SIZE = 176,
	SKB_TSTAMP_TYPE = 180,
	SKB_HWTSTAMP = 184,
	SKB_SIZE = 192,
};

/* struct xdp_md offsets. */
enum {
	XDP_DATA = 0,
	XDP_DATA_END = 4,
	XDP_DATA_META = 8,
	XDP_INGRESS = 12,
	XDP_RXQ = 16,
	XDP_EGRESS = 20,
	XDP_MD_SIZE = 24
};

#define ETH_HLEN_ 14
#define SKB_PAD 64 /* NET_SKB_PAD + NET_IP_ALIGN on x86-64: skb->head is this far before data */

bool k2_type_is_skb(uint32_t type)
{
	return type == BPF_PROG_TYPE_SOCKET_FILTER || type == BPF_PROG_TYPE_SCHED_CLS ||
	       type == BPF_PROG_TYPE_SCHED_ACT;
}

static void allow(uint8_t *perm, uint32_t off, uint32_t size)
{
	perm[off] |= (uint8_t)size; /* sizes 1, 2, 4, 8 are themselves the bits */
}

/* A u32 field read whole or narrow (1, 2 bytes at aligned offsets inside it); written whole. */
static void u32_field(struct k2_ctxdesc *d, uint32_t off, bool wr)
{
	for (uint32_t s = 1; s <= 4; s *= 2)
		for (uint32_t o = off; o < off + 4; o += s)
			allow(d->rd, o, s);
	if (wr)
		allow(d->wr, off, 4);
}

/* Plain readable bytes: any aligned size 1..8 inside [lo, hi). */
static void plain(uint8_t *perm, uint32_t lo, uint32_t hi)
{
	for (uint32_t s = 1; s <= 8; s *= 2)
		for (uint32_t o = (lo + s - 1) & ~(s - 1); o + s <= hi; o += s)
			allow(perm, o, s);
}

static void describe_skb(struct k2_ctxdesc *d, bool tc)
{
	static const uint8_t both[] = {
		SKB_LEN,      SKB_PKT_TYPE,	   SKB_MARK,	 SKB_QUEUE_MAPPING,
		SKB_PROTOCOL, SKB_VLAN_PRESENT,	   SKB_VLAN_TCI, SKB_VLAN_PROTO,
		SKB_PRIORITY, SKB_INGRESS_IFINDEX, SKB_IFINDEX,	 SKB_TC_INDEX,
		SKB_HASH,     SKB_NAPI_ID,	   SKB_GSO_SEGS, SKB_GSO_SIZE
	};
	static const uint8_t tc_wr[] = { SKB_MARK, SKB_TC_INDEX, SKB_PRIORITY, SKB_TC_CLASSID,
					 SKB_QUEUE_MAPPING };

	d->size = d->out_size = SKB_SIZE;
	for (size_t i = 0; i < sizeof(both); i++)
		u32_field(d, both[i], false);
	plain(d->rd, SKB_CB, SKB_CB + 20);
	plain(d->wr, SKB_CB, SKB_CB + 20);
	if (!tc)
		return; /* family .. local_port are for cgroup/sk_skb programs only */
	for (size_t i = 0; i < sizeof(tc_wr); i++)
		u32_field(d, tc_wr[i], true);
	u32_field(d, SKB_WIRE_LEN, false);
	allow(d->rd, SKB_DATA, 4);
	allow(d->rd, SKB_DATA_END, 4);
	allow(d->rd, SKB_DATA_META, 4);
	d->ptr[SKB_DATA] = K2_T_PKT;
	d->ptr[SKB_DATA_END] = K2_T_PKT_END;
	d->ptr[SKB_DATA_META] = K2_T_PKT_META;
	allow(d->rd, SKB_TSTAMP, 8);
	allow(d->wr, SKB_TSTAMP, 8);
	allow(d->rd, SKB_HWTSTAMP, 8);
	allow(d->rd, SKB_TSTAMP_TYPE, 1);
}

void k2_ctx_describe(uint32_t type, uint32_t attach_type, struct k2_ctxdesc *d)
{
	memset(d, 0, sizeof(*d));
	switch (type) {
	case BPF_PROG_TYPE_XDP:
		d->size = d->out_size = XDP_MD_SIZE;
		for (uint32_t o = 0; o < XDP_EGRESS; o += 4)
			allow(d->rd, o, 4);
		if (attach_type == BPF_XDP_DEVMAP)
			allow(d->rd, XDP_EGRESS, 4);
		d->ptr[XDP_DATA] = K2_T_PKT;
		d->ptr[XDP_DATA_END] = K2_T_PKT_END;
		d->ptr[XDP_DATA_META] = K2_T_PKT_META;
		break;
	case BPF_PROG_TYPE_SOCKET_FILTER:
		describe_skb(d, false);
		break;
	case BPF_PROG_TYPE_SCHED_CLS:
	case BPF_PROG_TYPE_SCHED_ACT:
		describe_skb(d, true);
		break;
	case BPF_PROG_TYPE_KPROBE:
		d->size = 168; /* struct pt_regs on x86-64 */
		plain(d->rd, 0, d->size);
		break;
	case BPF_PROG_TYPE_TRACEPOINT:
		/* The first 8 bytes of a record (common fields) are not readable. */
		d->size = K2_CTX_MAX;
		plain(d->rd, 8, d->size);
		break;
	case BPF_PROG_TYPE_RAW_TRACEPOINT:
		d->size = 12 * 8;
		plain(d->rd, 0, d->size);
		break;
	default:
		d->size = K2_CTX_MAX;
		plain(d->rd, 0, d->size);
		break;
	}
}

static void put32(uint8_t *p, uint32_t off, uint32_t v)
{
	memcpy(p + off, &v, 4);
}

static uint32_t get32(const uint8_t *p, uint32_t len, uint32_t off)
{
	uint32_t v = 0;

	if (off + 4 <= len)
		memcpy(&v, p + off, 4);
	return v;
}

static void pkt_place(struct k2_machine *m, const uint8_t *src, uint32_t len, uint32_t at)
{
	if (m->dirty_hi > m->dirty_lo)
		memset(m->pkt + m->dirty_lo, 0, m->dirty_hi - m->dirty_lo);
	memcpy(m->pkt + at, src, len);
	m->dirty_lo = at;
	m->dirty_hi = at + len;
}

static void setup_xdp(struct k2_machine *m, const struct k2_input *in)
{
	uint32_t meta = get32(in->ctx, in->ctx_len, XDP_DATA), len = in->pkt_len;
	uint32_t ifx = get32(in->ctx, in->ctx_len, XDP_INGRESS);

	if (len > K2_PKT_MAX + meta)
		len = K2_PKT_MAX + meta;
	if (meta > len || meta > K2_PKT_HEADROOM - K2_XDP_FRAME_SZ)
		meta = 0;
	pkt_place(m, in->pkt, len, K2_PKT_HEADROOM - meta);
	m->meta_off = K2_PKT_HEADROOM - meta;
	m->data_off = K2_PKT_HEADROOM;
	m->end_off = K2_PKT_HEADROOM - meta + len;
	memset(m->ctx, 0, XDP_MD_SIZE);
	/* test_run's frames arrive on the loopback device of the netns (ifindex 1), queue 0. */
	put32(m->ctx, XDP_INGRESS, ifx ? ifx : 1);
	put32(m->ctx, XDP_RXQ, ifx ? get32(in->ctx, in->ctx_len, XDP_RXQ) : 0);
	m->ctx_len = XDP_MD_SIZE;
}

/* What eth_type_trans() on the loopback device makes of the frame. */
static void eth_facts(const uint8_t *f, uint32_t len, uint32_t *pkt_type, uint16_t *proto_be)
{
	static const uint8_t zero[6];
	uint16_t p = (uint16_t)(f[12] << 8 | f[13]);

	/* lo's address and broadcast address are both zero: ff:ff:.. is only multicast. */
	if (!memcmp(f, zero, 6))
		*pkt_type = 0; /* PACKET_HOST */
	else
		*pkt_type = (f[0] & 1) ? 2 /* PACKET_MULTICAST */ : 3 /* PACKET_OTHERHOST */;
	if (p < 0x0600)
		p = (len >= 16 && f[14] == 0xff && f[15] == 0xff) ? 0x0001 : 0x0004;
	*proto_be = (uint16_t)(p >> 8 | p << 8);
}

static void setup_skb(const struct k2_vm *vm, struct k2_machine *m, const struct k2_input *in)
{
	bool tc = vm->type != BPF_PROG_TYPE_SOCKET_FILTER;
	uint32_t len = in->pkt_len < K2_PKT_MAX ? in->pkt_len : K2_PKT_MAX, pkt_type, ifx, wire;
	uint16_t proto;
	const uint8_t *c = in->ctx;
	uint32_t cl = in->ctx_len;

	if (len < ETH_HLEN_) {
		uint8_t pad[ETH_HLEN_] = { 0 };

		memcpy(pad, in->pkt, len);
		pkt_place(m, pad, ETH_HLEN_, K2_PKT_HEADROOM);
		len = ETH_HLEN_;
	} else {
		pkt_place(m, in->pkt, len, K2_PKT_HEADROOM);
	}
	eth_facts(m->pkt + K2_PKT_HEADROOM, len, &pkt_type, &proto);
	m->data_off = K2_PKT_HEADROOM + (tc ? 0 : ETH_HLEN_);
	m->meta_off = m->data_off;
	m->end_off = K2_PKT_HEADROOM + len;
	memset(m->ctx, 0, SKB_SIZE);
	put32(m->ctx, SKB_LEN, m->end_off - m->data_off);
	put32(m->ctx, SKB_PKT_TYPE, pkt_type);
	put32(m->ctx, SKB_PROTOCOL, proto);
	put32(m->ctx, SKB_MARK, get32(c, cl, SKB_MARK));
	put32(m->ctx, SKB_PRIORITY, get32(c, cl, SKB_PRIORITY));
	put32(m->ctx, SKB_INGRESS_IFINDEX, get32(c, cl, SKB_INGRESS_IFINDEX));
	ifx = get32(c, cl, SKB_IFINDEX);
	put32(m->ctx, SKB_IFINDEX, ifx > 1 ? ifx : 1);
	for (uint32_t o = SKB_CB; o < SKB_CB + 20; o += 4)
		put32(m->ctx, o, get32(c, cl, o));
	if (cl >= SKB_TSTAMP + 8)
		memcpy(m->ctx + SKB_TSTAMP, c + SKB_TSTAMP, 8);
	/* wire_len 0 means the length of the skb when test_run converted the context. */
	wire = get32(c, cl, SKB_WIRE_LEN);
	put32(m->ctx, SKB_WIRE_LEN, wire ? wire : m->end_off - m->data_off);
	put32(m->ctx, SKB_GSO_SEGS, get32(c, cl, SKB_GSO_SEGS));
	put32(m->ctx, SKB_GSO_SIZE, get32(c, cl, SKB_GSO_SIZE));
	if (cl >= SKB_HWTSTAMP + 8)
		memcpy(m->ctx + SKB_HWTSTAMP, c + SKB_HWTSTAMP, 8);
	m->ctx_len = SKB_SIZE;
}

void k2_ctx_setup(const struct k2_vm *vm, struct k2_machine *m, const struct k2_input *in)
{
	if (vm->type == BPF_PROG_TYPE_XDP) {
		setup_xdp(m, in);
		return;
	}
	if (k2_type_is_skb(vm->type)) {
		setup_skb(vm, m, in);
		return;
	}
	/* Tracing: the context is the input's bytes; the packet is empty. */
	memset(m->ctx, 0, K2_CTX_MAX);
	memcpy(m->ctx, in->ctx, in->ctx_len < K2_CTX_MAX ? in->ctx_len : K2_CTX_MAX);
	m->ctx_len = vm->ctx.size;
	pkt_place(m, in->pkt, 0, K2_PKT_HEADROOM);
	m->meta_off = m->data_off = m->end_off = K2_PKT_HEADROOM;
}

/* What test_run writes back: for skb programs only the settable fields (the others must be
 * zero in ctx_in), with the ones convert_skb_to___skb() updates taken from the run. */
uint32_t k2_ctx_out(const struct k2_vm *vm, const struct k2_machine *m, const struct k2_input *in,
		    uint8_t *out)
{
	static const struct {
		uint8_t off, len;
	} settable[] = {
		{ SKB_MARK, 4 },     { SKB_PRIORITY, 4 }, { SKB_INGRESS_IFINDEX, 4 },
		{ SKB_IFINDEX, 4 },  { SKB_CB, 20 },	  { SKB_TSTAMP, 8 },
		{ SKB_WIRE_LEN, 4 }, { SKB_GSO_SEGS, 4 }, { SKB_GSO_SIZE, 4 },
		{ SKB_HWTSTAMP, 8 },
	};
	static const uint8_t written[] = { SKB_MARK,	SKB_PRIORITY, SKB_INGRESS_IFINDEX,
					   SKB_IFINDEX, SKB_WIRE_LEN, SKB_GSO_SEGS };
	uint32_t n = in->ctx_len < vm->ctx.out_size ? in->ctx_len : vm->ctx.out_size;

	if (!in->ctx_len || !vm->ctx.out_size)
		return 0;
	if (vm->type == BPF_PROG_TYPE_XDP) {
		memset(out, 0, vm->ctx.out_size);
		memcpy(out, in->ctx, n);
		put32(out, XDP_DATA, m->data_off - m->meta_off);
		put32(out, XDP_DATA_END, m->end_off - m->meta_off);
		put32(out, XDP_DATA_META, 0);
		return XDP_MD_SIZE;
	}
	memset(out, 0, SKB_SIZE);
	for (size_t i = 0; i < sizeof(settable) / sizeof(settable[0]); i++)
		if (settable[i].off + settable[i].len <= n)
			memcpy(out + settable[i].off, in->ctx + settable[i].off, settable[i].len);
	for (size_t i = 0; i < sizeof(written); i++)
		memcpy(out + written[i], m->ctx + written[i], 4);
	memcpy(out + SKB_CB, m->ctx + SKB_CB, 20);
	memcpy(out + SKB_TSTAMP, m->ctx + SKB_TSTAMP, 8);
	memcpy(out + SKB_HWTSTAMP, m->ctx + SKB_HWTSTAMP, 8);
	return SKB_SIZE;
}

/* The final packet as test_run's data_out, in place (no copy): XDP from data_meta; socket
 * filters with the link-layer header zeroed, as test_run pushes it back. */
const uint8_t *k2_pkt_out(const struct k2_vm *vm, struct k2_machine *m, uint32_t *len,
			  uint32_t *meta)
{
	*meta = 0;
	*len = m->end_off - m->data_off;
	if (vm->type == BPF_PROG_TYPE_XDP) {
		*meta = m->data_off - m->meta_off;
		*len += *meta;
		return m->pkt + m->meta_off;
	}
	if (vm->type == BPF_PROG_TYPE_SOCKET_FILTER) {
		memset(m->pkt + m->data_off - ETH_HLEN_, 0, ETH_HLEN_);
		*len += ETH_HLEN_;
		return m->pkt + m->data_off - ETH_HLEN_;
	}
	if (!k2_type_is_skb(vm->type))
		*len = 0;
	return m->pkt + m->data_off;
}

static unsigned size_bit(uint32_t size)
{
	return size;
}

int k2_ctx_load(struct k2_vm *vm, struct k2_machine *m, uint32_t off, uint32_t size, uint64_t *val,
		uint8_t *vt)
{
	uint64_t v = 0;

	if (off >= K2_CTX_MAX || !(vm->ctx.rd[off] & size_bit(size)))
		return k2_fail(m, K2_RUN_EMEM, "invalid context read (offset/size not allowed)");
	if (vm->ctx.ptr[off] && size == 4) {
		uint32_t o = vm->ctx.ptr[off] == K2_T_PKT	? m->data_off
			     : vm->ctx.ptr[off] == K2_T_PKT_END ? m->end_off
								: m->meta_off;

		*val = K2_ADDR(K2_RGN_PKT, 0, o);
		*vt = vm->ctx.ptr[off];
		return 0;
	}
	memcpy(&v, m->ctx + off, size);
	*val = v;
	*vt = K2_T_SCALAR;
	return 0;
}

int k2_ctx_store(struct k2_vm *vm, struct k2_machine *m, uint32_t off, uint32_t size, uint64_t val)
{
	if (off >= K2_CTX_MAX || !(vm->ctx.wr[off] & size_bit(size)))
		return k2_fail(m, K2_RUN_EMEM, "invalid context write (read-only field or size)");
	/* skb->queue_mapping: values >= NO_QUEUE_MAPPING are ignored. */
	if (k2_type_is_skb(vm->type) && off == SKB_QUEUE_MAPPING && (uint32_t)val >= 0xffff)
		return 0;
	if (m->log && k2_wlog_add(m, K2_ADDR(K2_RGN_CTX, 0, off), m->ctx + off, NULL, NULL, size))
		return K2_STOP_ERROR;
	memcpy(m->ctx + off, &val, size);
	return 0;
}

/* Where bpf_skb_load_helper_N finds `size` bytes at offset k, as an offset into pkt[]. */
static int ld_abs_where(const struct k2_machine *m, int32_t k, uint32_t size, uint32_t *at)
{
	uint32_t mac = K2_PKT_HEADROOM, net = K2_PKT_HEADROOM + ETH_HLEN_;
	int64_t p;

	if (k >= 0) {
		if ((int64_t)(m->end_off - m->data_off) - k < (int64_t)size)
			return -1;
		*at = m->data_off + (uint32_t)k;
		return 0;
	}
	if (k >= -0x100000) /* SKF_NET_OFF */
		p = (int64_t)net + k + 0x100000;
	else if (k >= -0x200000) /* SKF_LL_OFF */
		p = (int64_t)mac + k + 0x200000;
	else
		return -1;
	if (p < (int64_t)(mac - SKB_PAD) || p + size > m->end_off)
		return -1;
	*at = (uint32_t)p;
	return 0;
}

int k2_ld_abs(struct k2_vm *vm, struct k2_machine *m, int32_t k, uint32_t size)
{
	uint32_t at;
	uint64_t v = 0;

	if (!k2_type_is_skb(vm->type))
		return k2_fail(m, K2_RUN_EINSN, "LD_ABS/LD_IND not allowed for this program type");
	if (m->t[6] != K2_T_CTX || m->r[6] != K2_ADDR(K2_RGN_CTX, 0, 0))
		return k2_fail(m, K2_RUN_EPTR, "LD_ABS/LD_IND needs the context in r6");
	for (int i = 1; i <= 5; i++)
		m->t[i] = K2_T_UNINIT;
	m->t[0] = K2_T_SCALAR;
	if (ld_abs_where(m, k, size, &at)) {
		m->r[0] = 0; /* the rewritten load returns 0 from the program */
		return 2;
	}
	for (uint32_t i = 0; i < size; i++)
		v = v << 8 | m->pkt[at + i];
	m->r[0] = v;
	return 0;
}
