/* kernel_bench/bench_int.h: what the bench*.c, netns*.c, xdp_live*.c, h5*.c files share. */
#ifndef K2_BENCH_INT_H
#define K2_BENCH_INT_H

#include "kernel_bench/k2_bench.h"
#include "kernel_bench/k2_kern.h"

#include <hwloc.h>
#include <linux/bpf.h>
#include <stddef.h>

/* A field of a sized options struct, or `def` when the caller's struct predates it. */
#define K2_BOPT(opts, field, def)                                                         \
	((opts) && (opts)->sz >= offsetof(__typeof__(*(opts)), field) + sizeof((opts)->field) \
		 ? (opts)->field                                                          \
		 : (def))

struct k2_topo {
	hwloc_topology_t topo;
};

/* The core object (or PU) of index `core` (-1: last); NULL if out of range. */
hwloc_obj_t k2_topo_core(const struct k2_topo *t, int core);

double k2_now(void);       /* CLOCK_MONOTONIC seconds */

/* ---- private network namespace (netns.c, netns_link.c) ------------------------------------- */

/*
 * An anonymous network namespace: no name under /run/netns, held only by our fd, so the
 * kernel removes it, its veth pairs and the XDP programs attached there when the fd is
 * closed or the process dies, even by SIGKILL. The calling thread enters it only around
 * the operations that need it (attaching XDP, live-frame runs) and leaves it afterwards,
 * so other threads and later sockets of the process stay in the original namespace.
 */
struct k2_netns;

int k2_netns_new(struct k2_cleanup *c, struct k2_netns **out, struct k2_err *e);
void k2_netns_free(struct k2_netns *ns);
int k2_netns_enter(struct k2_netns *ns, struct k2_err *e);
int k2_netns_leave(struct k2_netns *ns, struct k2_err *e);
/* Inode of the namespace (st_ino of its nsfs file): how tests see that it is gone. */
unsigned long k2_netns_inode(const struct k2_netns *ns);

/* Creates a veth pair "k2b<pid>a<n>"/"k2b<pid>b<n>", both up; their ifindexes. */
int k2_netns_veth(struct k2_netns *ns, int *ifa, int *ifb, struct k2_err *e);
/* rx packets of a device of the namespace (rtnetlink IFLA_STATS64). */
int k2_netns_rx_packets(struct k2_netns *ns, int ifindex, uint64_t *rx, struct k2_err *e);
/* The name of a device created by k2_netns_veth. */
const char *k2_netns_ifname(const struct k2_netns *ns, int ifindex);

/*
 * Attaches an XDP program to a device of the namespace through a bpf_link (detached
 * when the link fd is closed): flags XDP_FLAGS_DRV_MODE or XDP_FLAGS_SKB_MODE.
 * Returns the link fd.
 */
int k2_netns_xdp_attach(struct k2_netns *ns, int prog_fd, int ifindex, uint32_t flags,
			struct k2_err *e);

/*
 * Holds an XDP program in the kernel's XDP dispatcher by attaching it in generic mode to a
 * spare veth of the namespace (pairs are made as needed). Returns a hold id for
 * k2_netns_unhold.
 */
int k2_netns_hold(struct k2_netns *ns, int prog_fd, struct k2_err *e);
void k2_netns_unhold(struct k2_netns *ns, int hold);

/* rtnetlink on a socket opened inside the namespace (netns_link.c). */
int k2_nl_open(struct k2_err *e);
int k2_nl_veth_add(int nl, const char *a, const char *b, struct k2_err *e);
int k2_nl_link_up(int nl, int ifindex, struct k2_err *e);
/* ifindex of a name (0 if absent); with stats, its IFLA_STATS64 rx_packets. */
int k2_nl_link_get(int nl, const char *name, int ifindex, int *index, uint64_t *rx_packets,
		   struct k2_err *e);

/* ---- the session ------------------------------------------------------------------------- */

struct k2_bench_slot {
	struct k2_kern_prog *kp; /* NULL: rejected, or dropped */
	int hold;                /* dispatcher hold, -1 */
};

struct k2_bench {
	const struct k2_prog *prog;
	struct k2_bench_opts o;
	char off[512];             /* why the kernel cannot be used; "" when it can */
	struct k2_topo *topo;
	int cpu;
	struct k2_kern_maps *km;
	struct k2_netns *ns;       /* made on first need */
	bool no_hold;              /* holding XDP programs failed once: don't retry */
	struct k2_bench_pkt *pkts;
	uint32_t n_pkts;
	struct k2_bench_prog *progs;
	struct k2_bench_slot *slots;
	uint32_t n_progs, cap_progs;
	uint32_t rounds, repeat;
	uint32_t aa_copies;
	uint32_t batches;
	double floor_ns;
	struct k2_bench_prog *hist; /* the original as measured in each batch */
	uint32_t n_hist;
	uint32_t hist_written;      /* of them, in the trace */
	struct k2_kern_result *res; /* test_run output scratch */
	bool trace_started;
};

void k2_bench_prog_release(struct k2_bench_prog *p);

/* Installs (c) or removes (NULL) the commands' SIGINT/SIGTERM/SIGHUP handler running c. */
void k2_bench_signals(struct k2_cleanup *c);

/* The context test_run is given with a frame: xdp_md on lo's rx queue 0, or an __sk_buff
 * with the fields the kernel derives from the frame. */
void k2_bench_frame_ctx(uint32_t type, int cpu, struct k2_input *in);

/* Packets for a program type: caller's inputs, then the generated mix (bench_packets.c). */
int k2_bench_packets(struct k2_bench *b, struct k2_err *e);
/* Verifier record of one load (bench_verify.c). */
int k2_bench_load(const struct k2_prog *prog, const struct k2_kern_maps *km,
		  const struct k2_bench_cand *c, struct k2_verify_rec *r, struct k2_kern_prog **kp,
		  struct k2_err *e);
/* The netns of the session, created on first use. */
int k2_bench_netns(struct k2_bench *b, struct k2_netns **ns, struct k2_err *e);
/* Fills the kernel maps from opts.maps (or leaves them empty). */
int k2_bench_reset_maps(struct k2_bench *b, struct k2_err *e);

/* Times one test_run of `repeat` runs; *ns = the kernel's average per run. */
int k2_bench_time(const struct k2_kern_prog *kp, const struct k2_input *in, uint32_t repeat,
		  struct k2_kern_result *res, uint32_t *ns, struct k2_err *e);

/* Loads a program of the bench's own (maps by BPF_PSEUDO_MAP_FD); its verifier message on
 * rejection. Returns the fd. */
int k2_bench_load_insns(uint32_t type, const char *name, const struct bpf_insn *insns,
			uint32_t n, struct k2_err *e);

/*
 * The live run's helper programs: `*(u64 *)percpu_array[0] += 1; return act`. With
 * XDP_TX it is the generator, with XDP_DROP the sink on the peer veth.
 */
int k2_live_counter_prog(int map_fd, int act, struct k2_err *e);
/* Sum over CPUs of a per-CPU array's element 0. */
int k2_live_counter_read(int map_fd, uint64_t *sum, struct k2_err *e);

#endif
