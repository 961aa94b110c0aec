/* corpus/xdp_lb_maglev.bpf.c: XDP L4 load balancer: VIPs, connection table, Maglev ring, IPIP. */
#include "pkt.h"
#include "csum.h"

char LICENSE[] SEC("license") = "GPL";

/*
 * Packets to a virtual IP (VIP) go to one of its backends, encapsulated in IPIP so that
 * the backend answers the client directly (direct server return). The backend comes
 * from the connection table when the flow is known, else from the VIP's Maglev lookup
 * table: RING_SIZE slots, filled by the control plane so that each backend owns a near
 * equal share and a backend change moves few flows. Everything else goes to the stack.
 */
#define RING_SIZE 1021      /* prime, as Maglev's permutation fill requires */
#define MAX_VIPS 64
#define MAX_BACKENDS 1024
#define MAX_CONNS 65536
#define UDP_IDLE_NS (30ULL * 1000000000ULL)
#define ENCAP_TTL 64

#define VIP_F_HASH_SRC_ONLY (1u << 0) /* ignore ports: all of a client's flows to one backend */
#define VIP_F_NO_CONN_TABLE (1u << 1) /* stateless: always hash (e.g. anycast DNS) */

struct vip_key {
	__be32 addr;
	__be16 port;    /* 0 in the map: every port of the address */
	__u8 proto;
	__u8 pad;
};

struct vip_meta {
	__u32 vip_num;  /* selects the VIP's ring: ring[vip_num * RING_SIZE ...] */
	__u32 flags;
};

struct backend {
	__be32 addr;
	__u32 alive;
};

struct flow_key {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 pad[3];
};

struct conn {
	__u32 backend;
	__u32 vip_num;
	__u64 last_seen_ns;
};

struct lb_config {
	__be32 encap_saddr;                 /* outer source: this balancer */
	unsigned char gw_mac[ETH_ALEN];     /* next hop towards the backends */
	__u16 hash_seed;
};

struct vip_stats {
	__u64 packets;
	__u64 bytes;
	__u64 conn_misses;
	__u64 drops;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 512);
	__type(key, struct vip_key);
	__type(value, struct vip_meta);
} vips SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_VIPS * RING_SIZE);
	__type(key, __u32);
	__type(value, __u32);
} ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct backend);
} backends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_CONNS);
	__type(key, struct flow_key);
	__type(value, struct conn);
} conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lb_config);
} config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MAX_VIPS);
	__type(key, __u32);
	__type(value, struct vip_stats);
} stats SEC(".maps");

/* An avalanche mix of 32 bits (two multiply-xorshift rounds). */
static __always_inline __u32 mix32(__u32 h)
{
	h ^= h >> 16;
	h *= 0x7feb352d;
	h ^= h >> 15;
	h *= 0x846ca68b;
	h ^= h >> 16;
	return h;
}

static __always_inline __u32 flow_hash(const struct flow_key *f, __u32 seed, __u32 vip_flags)
{
	__u32 ports = 0, h;

	if (!(vip_flags & VIP_F_HASH_SRC_ONLY))
		ports = ((__u32)f->sport << 16) | f->dport;
	h = mix32(seed ^ f->saddr);
	h = mix32(h ^ f->daddr);
	h = mix32(h ^ ports ^ ((__u32)f->proto << 24));
	return h;
}

/*
 * L4 ports of the flow; for ICMP errors about a flow to a VIP (e.g. fragmentation
 * needed sent by a router on the client's path), the flow of the quoted header,
 * reversed, so that the error reaches the backend that owns the connection.
 */
static __always_inline int parse_l4(struct cursor *c, const struct iphdr *ip, struct flow_key *f)
{
	struct udphdr *l4 = c->pos; /* TCP and UDP both start with the two ports */
	struct icmphdr {
		__u8 type;
		__u8 code;
		__sum16 checksum;
		__be32 rest;
	} *icmp = c->pos;
	struct iphdr *inner;
	struct udphdr *inner_l4;

	f->saddr = ip->saddr;
	f->daddr = ip->daddr;
	f->proto = ip->protocol;
	if (ip->protocol == IPPROTO_TCP || ip->protocol == IPPROTO_UDP) {
		if ((void *)(l4 + 1) > c->end)
			return -1;
		f->sport = l4->source;
		f->dport = l4->dest;
		return 0;
	}
	if (ip->protocol != IPPROTO_ICMP)
		return -1;
	if ((void *)(icmp + 1) > c->end)
		return -1;
	if (icmp->type != 3 /* destination unreachable */ && icmp->type != 11 /* time exceeded */)
		return -1;
	inner = (void *)(icmp + 1);
	if ((void *)(inner + 1) > c->end || inner->ihl != 5)
		return -1;
	inner_l4 = (void *)(inner + 1);
	if ((void *)(inner_l4 + 1) > c->end)
		return -1;
	if (inner->protocol != IPPROTO_TCP && inner->protocol != IPPROTO_UDP)
		return -1;
	f->saddr = inner->daddr;
	f->daddr = inner->saddr;
	f->sport = inner_l4->dest;
	f->dport = inner_l4->source;
	f->proto = inner->protocol;
	return 0;
}

static __always_inline struct vip_meta *find_vip(const struct flow_key *f)
{
	struct vip_key vk = { .addr = f->daddr, .port = f->dport, .proto = f->proto };
	struct vip_meta *vip;

	vip = bpf_map_lookup_elem(&vips, &vk);
	if (vip)
		return vip;
	vk.port = 0;
	return bpf_map_lookup_elem(&vips, &vk);
}

/* The backend for a flow: its connection entry while valid, else the VIP's ring slot. */
static __always_inline struct backend *pick_backend(const struct flow_key *f,
						    const struct vip_meta *vip, __u32 seed,
						    int is_syn, struct vip_stats *st)
{
	struct conn *cn = NULL, fresh = {};
	struct backend *be;
	__u64 now = 0;
	__u32 slot, *idx;

	if (!(vip->flags & VIP_F_NO_CONN_TABLE)) {
		now = bpf_ktime_get_ns();
		if (!is_syn)
			cn = bpf_map_lookup_elem(&conns, f);
		if (cn && cn->vip_num == vip->vip_num &&
		    (f->proto != IPPROTO_UDP || now - cn->last_seen_ns < UDP_IDLE_NS)) {
			be = bpf_map_lookup_elem(&backends, &cn->backend);
			if (be && be->alive) {
				cn->last_seen_ns = now;
				return be;
			}
		}
		if (st)
			st->conn_misses++;
	}
	if (vip->vip_num >= MAX_VIPS)
		return NULL;
	slot = vip->vip_num * RING_SIZE + flow_hash(f, seed, vip->flags) % RING_SIZE;
	idx = bpf_map_lookup_elem(&ring, &slot);
	if (!idx)
		return NULL;
	be = bpf_map_lookup_elem(&backends, idx);
	if (!be || !be->alive)
		return NULL;
	if (!(vip->flags & VIP_F_NO_CONN_TABLE)) {
		fresh.backend = *idx;
		fresh.vip_num = vip->vip_num;
		fresh.last_seen_ns = now;
		bpf_map_update_elem(&conns, f, &fresh, BPF_ANY);
	}
	return be;
}

/* Prepends an outer IPv4 header (IPIP) addressed to the backend, behind a new Ethernet header. */
static __always_inline int encap_ipip(struct xdp_md *ctx, const struct backend *be,
				      const struct lb_config *cfg)
{
	struct ethhdr *eth, *old_eth;
	struct iphdr *outer, *inner;
	void *data, *end;

	if (bpf_xdp_adjust_head(ctx, -(int)sizeof(struct iphdr)))
		return -1;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	eth = data;
	outer = (void *)(eth + 1);
	old_eth = (void *)outer + sizeof(struct iphdr) - sizeof(struct ethhdr);
	inner = (void *)(outer + 1);
	if ((void *)(inner + 1) > end)
		return -1;
	/* The old header still sits 20 bytes on; take our own MAC from it before overwriting. */
	__builtin_memcpy(eth->h_source, old_eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, cfg->gw_mac, ETH_ALEN);
	eth->h_proto = bpf_htons(ETH_P_IP);

	outer->version = 4;
	outer->ihl = 5;
	outer->tos = inner->tos;
	outer->tot_len = bpf_htons(bpf_ntohs(inner->tot_len) + sizeof(struct iphdr));
	outer->id = 0;
	outer->frag_off = bpf_htons(0x4000); /* DF: the backend's path MTU is ours */
	outer->ttl = ENCAP_TTL;
	outer->protocol = IPPROTO_IPIP;
	outer->check = 0;
	outer->saddr = cfg->encap_saddr;
	outer->daddr = be->addr;
	outer->check = ipv4_csum_20(outer);
	return 0;
}

SEC("xdp")
int xdp_lb_maglev(struct xdp_md *ctx)
{
	struct cursor c;
	struct ethhdr *eth;
	struct iphdr *ip;
	struct tcphdr *tcp;
	struct flow_key f = {};
	struct vip_meta *vip;
	struct vip_stats *st;
	struct backend *be;
	struct lb_config *cfg;
	__u32 zero = 0, vip_num;
	__u64 len;
	int is_syn = 0;

	cursor_init(&c, ctx);
	len = c.end - c.pos;
	if (parse_eth(&c, &eth, NULL) != bpf_htons(ETH_P_IP) || c.pos != (void *)(eth + 1))
		return XDP_PASS;
	if (parse_ipv4(&c, &ip) < 0)
		return XDP_PASS;
	/* Fragments carry no ports after the first: leave them to the stack to reassemble. */
	if (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET))
		return XDP_PASS;
	if (parse_l4(&c, ip, &f) < 0)
		return XDP_PASS;
	vip = find_vip(&f);
	if (!vip)
		return XDP_PASS;
	if (f.proto == IPPROTO_TCP && ip->protocol == IPPROTO_TCP) {
		tcp = c.pos;
		if ((void *)(tcp + 1) > c.end)
			return XDP_DROP;
		is_syn = tcp->syn && !tcp->ack;
	}
	vip_num = vip->vip_num;
	st = bpf_map_lookup_elem(&stats, &vip_num);
	cfg = bpf_map_lookup_elem(&config, &zero);
	if (!cfg)
		return XDP_PASS;
	be = pick_backend(&f, vip, cfg->hash_seed, is_syn, st);
	if (!be || encap_ipip(ctx, be, cfg) < 0) {
		if (st)
			st->drops++;
		return XDP_DROP;
	}
	if (st) {
		st->packets++;
		st->bytes += len;
	}
	return XDP_TX;
}
