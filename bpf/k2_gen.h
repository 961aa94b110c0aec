/* bpf/k2_gen.h: seeded random programs the kernel verifier accepts, and random inputs for them. */
#ifndef K2_GEN_H
#define K2_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf/k2_err.h"
#include "bpf/k2_insn.h"
#include "bpf/k2_interp.h"
#include "bpf/k2_obj.h"
#include "bpf/k2_rand.h"

/* Kinds of code the generator mixes (struct k2_gen_opts.mix gives their weights). */
enum k2_gen_class {
	K2_GEN_ALU64,  /* 64-bit ALU, K and X: div/mod by registers that may be zero, shifts */
	K2_GEN_ALU32,  /* the same on 32 bits (zero-extending) */
	K2_GEN_MOV,    /* mov K/X, movsx, ld_imm64 constants, negation */
	K2_GEN_END,    /* le/be/bswap */
	K2_GEN_BRANCH, /* forward if / if-else blocks on JMP and JMP32 conditions, ja, gotol */
	K2_GEN_EXIT,   /* an early exit inside a branch */
	K2_GEN_STACK,  /* stack stores (ST, STX) and loads (LDX, LDSX), initialised first */
	K2_GEN_PKT,    /* packet loads/stores behind data_end checks; ld_abs/ld_ind for skbs */
	K2_GEN_CTX,    /* context field reads */
	K2_GEN_MAP,    /* map lookups (null-checked), value loads/stores, updates, deletes */
	K2_GEN_ATOMIC, /* atomics on stack slots and map values */
	K2_GEN_CALL,   /* other helpers: adjust_head/tail/meta, csum_diff, skb_load/store_bytes */
	K2_GEN_LOOP,   /* bounded loops with a counter register */
	K2_GEN_FUNC,   /* bpf-to-bpf calls of generated subprograms (scalar arguments) */
	K2_GEN__COUNT
};

#define K2_GEN_MAX_MAPS 8
#define K2_GEN_OUT_SLOTS 10 /* the out map holds r0..r9 as stored at exit */
#define K2_GEN_MAX_FUNCS 3  /* subprograms a program may call */

struct k2_gen_opts {
	size_t sz;             /* sizeof(struct k2_gen_opts) */
	uint32_t prog_type;    /* BPF_PROG_TYPE_XDP (0 too), _SCHED_CLS or _SOCKET_FILTER */
	uint32_t n_insns;      /* approximate length; 0: 48 */
	enum k2_isa isa;       /* newest encodings allowed; 0: v4 */
	uint32_t mix[K2_GEN__COUNT]; /* relative weights; all 0: defaults */
	bool no_maps;          /* no maps at all (and no out map) */
	bool no_out_map;       /* do not store r0..r9 into the out map at exit */
	bool nondet;           /* also call ktime/prandom (their results never reach outputs) */
	uint64_t no_helpers[2]; /* bit id: never call helper id (< 128); e.g. to triage one */
};

/*
 * A generated program with its maps. prog.maps points at maps[]; map 0 is the "out" map
 * (one array element of K2_GEN_OUT_SLOTS u64s) unless opts said no_maps or no_out_map.
 * Subprograms follow the main function (prog.n_main instructions), as libbpf links them.
 */
struct k2_gen_prog {
	struct k2_prog prog;
	struct k2_map maps[K2_GEN_MAX_MAPS];
	uint32_t n_maps;
	uint8_t init[K2_GEN_MAX_MAPS][64]; /* initial bytes of internal maps */
};

/* The default class weights (K2_GEN__COUNT entries), to change a few of them. */
void k2_gen_default_mix(uint32_t *mix);

/*
 * Generates one program. The same rng state and opts give the same program. Every
 * program is loop-free except for bounded counter loops, reads only initialised
 * registers and stack bytes, and returns a scalar.
 */
int k2_gen_prog_new(struct k2_rng *rng, const struct k2_gen_opts *opts, struct k2_gen_prog **out,
		    struct k2_err *e);
void k2_gen_prog_free(struct k2_gen_prog *g);

struct k2_gen_input_opts {
	size_t sz;          /* sizeof(struct k2_gen_input_opts) */
	uint32_t min_len;   /* packet length bounds; 0, 0: 14 .. 1514, sometimes up to K2_PKT_MAX */
	uint32_t max_len;
	uint32_t cpu;       /* struct k2_input.cpu */
};

/*
 * A random input for a program of type `prog_type`: a packet (random bytes, or Ethernet
 * + IPv4/IPv6 + TCP/UDP/ICMP headers with random fields), and the context a
 * BPF_PROG_TEST_RUN of it presents: for XDP an xdp_md on lo's rx queue 0; for skb
 * programs an __sk_buff whose settable fields are random and whose derived fields
 * (len, protocol, pkt_type, ifindex) are what the kernel computes from the packet.
 * in->maps is left NULL.
 */
void k2_gen_input(struct k2_rng *rng, uint32_t prog_type, const struct k2_gen_input_opts *opts,
		  struct k2_input *in);

/* Recomputes the derived __sk_buff fields of an skb input after its packet changed. */
void k2_gen_input_derive(uint32_t prog_type, struct k2_input *in);

/*
 * Random contents for the maps: arrays get random values (some zero), hashes a random
 * subset of the small key space generated programs use (0..7, up to max_entries - 1
 * keys), internal maps their initial bytes. Maps whose values are kernel objects stay
 * empty.
 */
int k2_gen_mapstate(struct k2_rng *rng, const struct k2_map *maps, uint32_t n, uint32_t ncpus,
		    struct k2_mapstate **out, struct k2_err *e);

#endif
