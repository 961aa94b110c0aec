/* bpf/k2_pktgen.h: seeded generation of realistic packet bytes (Ethernet to L4) for test inputs. */
#ifndef K2_PKTGEN_H
#define K2_PKTGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf/k2_err.h"
#include "bpf/k2_rand.h"

/*
 * Two layers:
 *   k2_pktgen()          one random packet from a seeded generator and options: the call
 *                        the search's test pool, the kernel differential tests and the
 *                        bench rank make.
 *   k2_pkt_build()       the exact bytes of a fully described packet (struct k2_pkt_spec);
 *                        k2_pktgen() draws a spec at random and builds it, tests build
 *                        the one packet they mean.
 * Multi-byte fields of a spec are host order except IPv4 addresses (network order,
 * as in struct in_addr) and byte arrays (MACs, IPv6 addresses), which are as on the wire.
 */

/* What a packet is. The default mix draws every shape; truncated and random ones are rarer. */
enum k2_pkt_shape {
	K2_PKT_IPV4_TCP,
	K2_PKT_IPV4_UDP,
	K2_PKT_IPV4_ICMP,
	K2_PKT_IPV4_OTHER,   /* another IP protocol (GRE, ESP, IPIP, SCTP, ...), opaque payload */
	K2_PKT_IPV6_TCP,
	K2_PKT_IPV6_UDP,
	K2_PKT_IPV6_ICMP,    /* ICMPv6 */
	K2_PKT_IPV6_OTHER,
	K2_PKT_ARP,
	K2_PKT_L2_OTHER,     /* another ethertype (LLDP, MPLS, PPPoE, 802.3 length) */
	K2_PKT_TRUNCATED,    /* a packet of another shape cut short inside its headers */
	K2_PKT_RANDOM,       /* random bytes, sometimes behind a plausible ethertype */
	K2_PKT__COUNT
};

#define K2_PKT_SHAPE(s) (1u << (s))
#define K2_PKT_SHAPES_ALL ((1u << K2_PKT__COUNT) - 1)
/* Shapes whose every header is complete and whose lengths agree (unless K2_PKTF_BAD_LEN). */
#define K2_PKT_SHAPES_WELL_FORMED \
	(K2_PKT_SHAPES_ALL & ~(K2_PKT_SHAPE(K2_PKT_TRUNCATED) | K2_PKT_SHAPE(K2_PKT_RANDOM)))
/* Shapes that exist without an Ethernet header (for K2_PKTGEN_L3). */
#define K2_PKT_SHAPES_IP                                                                   \
	(K2_PKT_SHAPES_ALL & ~(K2_PKT_SHAPE(K2_PKT_ARP) | K2_PKT_SHAPE(K2_PKT_L2_OTHER)))

/* "ipv4_tcp", ...; NULL for an out-of-range value. */
const char *k2_pkt_shape_name(enum k2_pkt_shape s);
/*
 * Parses a comma-separated list of shape names ("ipv4_tcp,ipv6_udp"), or "all" or
 * "well_formed", into a K2_PKT_SHAPE() mask, as the INI files under configs/ spell it.
 */
int k2_pkt_shapes_parse(const char *list, uint32_t *mask, struct k2_err *e);

/*
 * Properties of a packet: requested in a spec, reported in struct k2_pkt_info.
 * BOUNDARY and TARGET are only reported (k2_pktgen sets them when it drew such a value).
 */
#define K2_PKTF_L3          (1u << 0)  /* no Ethernet header: the packet starts at IP */
#define K2_PKTF_VLAN        (1u << 1)  /* one or two 802.1Q/802.1ad tags */
#define K2_PKTF_IP_OPTIONS  (1u << 2)  /* IPv4 header longer than 20 bytes */
#define K2_PKTF_IPV6_EXT    (1u << 3)  /* IPv6 extension headers before L4 */
#define K2_PKTF_TCP_OPTIONS (1u << 4)
#define K2_PKTF_FRAGMENT    (1u << 5)  /* IPv4 MF/offset or an IPv6 fragment header */
#define K2_PKTF_BAD_LEN     (1u << 6)  /* a length field disagrees with the bytes present */
#define K2_PKTF_PADDED      (1u << 7)  /* zero padding after the IP packet up to 60 bytes */
#define K2_PKTF_TRUNCATED   (1u << 8)  /* cut inside its headers (shape K2_PKT_TRUNCATED) */
#define K2_PKTF_BOUNDARY    (1u << 9)  /* holds a boundary value (port 0, TTL 1, ...) */
#define K2_PKTF_TARGET      (1u << 10) /* holds a value from the options' target sets */

/* Payload contents. */
enum k2_pkt_payload {
	K2_PAYLOAD_RANDOM,  /* bytes from payload_seed */
	K2_PAYLOAD_ZERO,
	K2_PAYLOAD_DNS,     /* a DNS query (header, one question) then random bytes */
	K2_PAYLOAD_HTTP,    /* an HTTP/1.1 request line and headers, ASCII */
};

#define K2_PKT_MAX_VLANS 2
#define K2_PKT_MAX_EXT 4
#define K2_PKT_MAX_OPTS 40  /* IPv4 and TCP option bytes */

/* A complete description of one packet; k2_pkt_spec_init() gives a valid one per shape. */
struct k2_pkt_spec {
	enum k2_pkt_shape shape;   /* not TRUNCATED or RANDOM: those are made by k2_pktgen */
	uint32_t flags;            /* K2_PKTF_L3, K2_PKTF_PADDED; others are derived */

	/* L2 */
	uint8_t dst_mac[6];
	uint8_t src_mac[6];
	uint8_t n_vlans;                       /* 0..2; with 2 the outer TPID is 802.1ad */
	uint16_t vlan_tci[K2_PKT_MAX_VLANS];   /* outer first: PCP(3) DEI(1) VID(12) */
	uint16_t ethertype;                    /* K2_PKT_L2_OTHER only (< 0x600: 802.3 length) */

	/* L3: IPv4 fields for IPV4_*, ARP (addresses); IPv6 for IPV6_* */
	uint32_t src4, dst4;       /* network order */
	uint8_t src6[16], dst6[16];
	uint8_t tos;               /* IPv4 TOS / IPv6 traffic class */
	uint8_t ttl;               /* IPv4 TTL / IPv6 hop limit */
	uint16_t ip_id;
	uint32_t flow_label;       /* 20 bits */
	bool dont_frag;            /* IPv4 DF */
	bool more_frags;           /* IPv4 MF / IPv6 fragment header M */
	uint16_t frag_offset;      /* 8-byte units (13 bits); nonzero: no L4 header follows */
	uint32_t frag_id;          /* IPv6 fragment header identification */
	uint8_t ip_opt_len;        /* multiple of 4, <= 40 */
	uint8_t ip_opts[K2_PKT_MAX_OPTS];
	uint8_t n_ext;             /* IPv6 extension headers, in order, before L4 */
	uint8_t ext[K2_PKT_MAX_EXT]; /* 0 hop-by-hop, 43 routing, 44 fragment, 60 dest opts */
	uint8_t l4_proto;          /* *_OTHER only: the IP protocol / next header */
	uint8_t ihl;               /* 0: from the options; else written as is (may lie) */
	int32_t ip_len_delta;      /* added to tot_len / payload_len (BAD_LEN when nonzero) */

	/* L4 */
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint16_t tcp_flags;        /* FIN 0x01 .. CWR 0x80, NS 0x100 */
	uint16_t window, urg_ptr;
	uint8_t doff;              /* 0: from the options; else written as is (may lie) */
	uint8_t tcp_opt_len;       /* multiple of 4, <= 40 */
	uint8_t tcp_opts[K2_PKT_MAX_OPTS];
	int32_t udp_len_delta;     /* added to the UDP length (BAD_LEN when nonzero) */
	uint8_t icmp_type, icmp_code;
	uint32_t icmp_rest;        /* echo: id << 16 | sequence; errors: unused/MTU */
	struct {                   /* ICMP errors quote a packet from dst to this peer */
		uint32_t addr4;
		uint8_t addr6[16];
		uint16_t port;     /* its destination port; the quoted source port is dport */
		uint8_t proto;     /* IPPROTO_TCP or IPPROTO_UDP */
	} quote;
	uint16_t arp_op;           /* 1 request, 2 reply */
	uint8_t arp_tha[6];        /* target hardware address (zero in requests) */

	/* Payload */
	uint16_t payload_len;
	enum k2_pkt_payload payload;
	uint64_t payload_seed;
};

/* Offset of a header the packet does not have. */
#define K2_PKT_NOFF 0xffff

/* What was built: where each layer starts and what the packet carries. */
struct k2_pkt_info {
	enum k2_pkt_shape shape;
	enum k2_pkt_shape base;    /* for TRUNCATED: the shape it was cut from; else == shape */
	uint32_t flags;            /* K2_PKTF_* */
	uint32_t len;              /* bytes written */
	uint16_t ethertype;        /* innermost; 0 with K2_PKTF_L3 */
	uint8_t l4_proto;          /* IP protocol / next header after extensions; 0 if none */
	uint16_t l3_off;           /* K2_PKT_NOFF where a header is absent or cut away */
	uint16_t l4_off;
	uint16_t payload_off;
	uint32_t ip_len;           /* IPv4 tot_len or 40 + IPv6 payload_len as written */
	uint16_t pad_off;          /* where the zero padding starts; == len without padding */
};

/* A valid packet of the given shape (not TRUNCATED/RANDOM): fixed addresses, ports, TTL 64. */
void k2_pkt_spec_init(struct k2_pkt_spec *s, enum k2_pkt_shape shape);

/*
 * Writes the packet a spec describes into buf (at most cap bytes) and returns its
 * length: length fields and every checksum (IPv4 header, TCP/UDP/ICMP/ICMPv6 with
 * the pseudo-header, over the bytes present) computed, then the deliberate lies of
 * ihl/doff/ip_len_delta/udp_len_delta applied before the checksums. -EINVAL for an
 * invalid spec, -ENOSPC if cap is too small. info may be NULL.
 */
int k2_pkt_build(const struct k2_pkt_spec *s, void *buf, size_t cap, struct k2_pkt_info *info);

/* A 5-tuple a program keys on (a firewall's blocked flow, a balancer's VIP and port). */
struct k2_pkt_flow {
	uint8_t family;            /* 4 or 6 */
	uint8_t proto;             /* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_ICMPV6 */
	uint16_t sport, dport;     /* host order */
	uint32_t src4, dst4;       /* network order (family 4) */
	uint8_t src6[16], dst6[16];
};

/* Options of k2_pktgen(). Zero fields take the default given. */
#define K2_PKTGEN_L3             (1u << 0) /* packets start at the IP header (socket filters) */
#define K2_PKTGEN_NO_VLAN        (1u << 1)
#define K2_PKTGEN_NO_IP_OPTIONS  (1u << 2)
#define K2_PKTGEN_NO_IPV6_EXT    (1u << 3)
#define K2_PKTGEN_NO_TCP_OPTIONS (1u << 4)
#define K2_PKTGEN_NO_ODD         (1u << 5) /* no boundary values, lies or fragments */
#define K2_PKTGEN_NO_PADDING     (1u << 6) /* never pad short Ethernet frames to 60 bytes */

struct k2_pktgen_opts {
	size_t sz;              /* sizeof(struct k2_pktgen_opts), as libbpf's *_opts */
	uint32_t shapes;        /* K2_PKT_SHAPE() mask; 0: all (all IP shapes with L3) */
	uint32_t flags;         /* K2_PKTGEN_* */
	uint32_t min_len;       /* 0: 14 (ETH_HLEN, the least BPF_PROG_TEST_RUN takes); L3: 1 */
	uint32_t max_len;       /* 0: 1514; never more than the buffer */
	uint32_t odd_pct;       /* % of packets with a boundary value or a lie; 0: 10 */
	uint32_t target_pct;    /* % of draws that take a target when a set is given; 0: 50 */
	/* Target sets, so that a program's own branches are taken (any may be empty). */
	const uint8_t (*dst_macs)[6];
	uint32_t n_dst_macs;
	const uint32_t *dst4;   /* network order */
	uint32_t n_dst4;
	const uint32_t *src4;
	uint32_t n_src4;
	const uint8_t (*dst6)[16];
	uint32_t n_dst6;
	const uint16_t *dst_ports; /* host order; for TCP and UDP */
	uint32_t n_dst_ports;
	const struct k2_pkt_flow *flows; /* whole 5-tuples; the flow decides the shape */
	uint32_t n_flows;
	const uint16_t *vlan_ids;
	uint32_t n_vlan_ids;
};

#define K2_PKTGEN_OPTS(name, ...) \
	struct k2_pktgen_opts name = { .sz = sizeof(struct k2_pktgen_opts), __VA_ARGS__ }

/* Explains what is wrong with options, once, before a loop of k2_pktgen() calls. */
int k2_pktgen_opts_check(const struct k2_pktgen_opts *opts, size_t cap, struct k2_err *e);

/*
 * Draws the spec of one well-formed-shape packet (TRUNCATED and RANDOM in the mask are
 * ignored) as k2_pktgen does, payload_len sized to the options' length range, for
 * callers that adjust it before k2_pkt_build(). Returns 0, -EINVAL (invalid options or
 * no such shape allowed) or -ENOSPC (none fits max_len).
 */
int k2_pkt_spec_random(struct k2_rng *rng, const struct k2_pktgen_opts *opts,
		       struct k2_pkt_spec *s);

/*
 * One random packet into buf (at most cap bytes); returns its length, in
 * [min_len, min(max_len, cap)], or -EINVAL (options; k2_pktgen_opts_check says why).
 * The same rng state and options give the same bytes on every machine. opts and info
 * may be NULL.
 */
int k2_pktgen(struct k2_rng *rng, const struct k2_pktgen_opts *opts, void *buf, size_t cap,
	      struct k2_pkt_info *info);

/*
 * `k2 pktgen`: writes generated packets to a pcap file (Ethernet, or raw IP with --l3),
 * so that a packet mix can be looked at with tcpdump or replayed. Returns an exit code.
 */
int k2_cmd_pktgen(int argc, char **argv);

/* One's complement sum of n bytes (big-endian 16-bit words) added to sum, folded, not inverted. */
uint16_t k2_csum_add(const void *p, size_t n, uint32_t sum);

#endif
