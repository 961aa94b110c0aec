/* bpf/helper_model.h: what helper models share: a call's checked arguments, effects. */
#ifndef K2_HELPER_MODEL_H
#define K2_HELPER_MODEL_H

#include "bpf/vm_internal.h"

/* One call: checked arguments, then the model sets ret (and r0's type). */
struct hcall {
	struct k2_vm *vm;
	struct k2_machine *m;
	const struct k2_helper *h;
	uint32_t id;
	uint64_t a[5];
	uint8_t at[5];
	int32_t map;	      /* map of the MAP_PTR argument, -1 if none */
	const uint8_t *rd[5]; /* checked readable memory arguments */
	uint8_t *wr[5];	      /* checked writable memory arguments */
	uint64_t ret;
	uint8_t ret_t;
};

typedef int (*k2_model_fn)(struct hcall *c);

#define XDP_ABORTED_ 0
#define XDP_REDIRECT_ 4
#define TC_ACT_SHOT_ 2
#define TC_ACT_REDIRECT_ 7
#define ETH_HLEN_ 14
#define NEG(e) ((uint64_t)(int64_t) - (e))

uint64_t k2_h_ndet(struct hcall *c);
/* Appends an effect with data p1[0, n1) then p2[0, n2). */
int k2_h_effect(struct hcall *c, const uint8_t *p1, uint32_t n1, const uint8_t *p2, uint32_t n2);
const struct k2_mapinfo *k2_h_map(struct hcall *c);
uint32_t k2_h_map_type(struct hcall *c);
int k2_h_bad(struct hcall *c, const char *why);

/* helper_model_net.c: packets, checksums, redirects, outputs. */
int k2_h_adjust_head(struct hcall *c);
int k2_h_adjust_meta(struct hcall *c);
int k2_h_adjust_tail(struct hcall *c);
int k2_h_csum_diff(struct hcall *c);
int k2_h_skb_store(struct hcall *c);
int k2_h_l3_csum(struct hcall *c);
int k2_h_l4_csum(struct hcall *c);
int k2_h_skb_load(struct hcall *c);
int k2_h_fib_lookup(struct hcall *c);
int k2_h_perf_output(struct hcall *c);
int k2_h_ringbuf_output(struct hcall *c);

#endif
