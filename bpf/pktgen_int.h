/* bpf/pktgen_int.h: internals shared by the packet generator's files (not part of the API). */
#ifndef K2_PKTGEN_INT_H
#define K2_PKTGEN_INT_H

#include <stdint.h>

#include "bpf/k2_pktgen.h"

#define PKT_ETH_HLEN 14
#define PKT_ETH_MIN 60      /* shortest frame on the wire without FCS */
#define PKT_DEFAULT_MAX 1514

/* Per shape: name, IP version (0: none), default L4 protocol, weight in the default mix. */
struct pkt_shape_desc {
	const char *name;
	uint8_t family;
	uint8_t l4_proto;
	uint16_t ethertype;
	uint8_t weight;
	uint8_t min_hdr;    /* shortest headers after Ethernet (untagged, no options) */
};

extern const struct pkt_shape_desc k2_pkt_shape_desc[K2_PKT__COUNT];

/* Options with defaults applied; every k2_pktgen* function works from this. */
struct pkt_cfg {
	uint32_t shapes;
	uint32_t flags;
	uint32_t min_len, max_len;
	uint32_t odd_pct, target_pct;
	struct k2_pktgen_opts t;    /* the target sets (pointer/count pairs), zero when absent */
};

int pkt_cfg_resolve(const struct k2_pktgen_opts *opts, size_t cap, struct pkt_cfg *c,
		    struct k2_err *e);
/* A random spec of a shape drawn from the mask (TRUNCATED/RANDOM excluded), payload_len 0. */
void pkt_spec_draw(struct k2_rng *r, const struct pkt_cfg *c, uint32_t shapes,
		   struct k2_pkt_spec *s);

/* Applies one or two boundary values or length lies (K2_PKTGEN_NO_ODD not checked here). */
void pkt_spec_odd(struct k2_rng *r, const struct pkt_cfg *c, struct k2_pkt_spec *s);

/* Length of a DNS query or HTTP request payload in full (0 for other payloads). */
size_t pkt_payload_natural_len(const struct k2_pkt_spec *s);

static inline int pkt_pct(struct k2_rng *r, uint32_t pct)
{
	return k2_rng_below(r, 100) < pct;
}

#endif
