/* search/k2_config.h: every tunable of a run, read from INI files (configs/) and the command line. */
#ifndef K2_CONFIG_H
#define K2_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "bpf/k2_err.h"

enum k2_objective { K2_OBJ_SIZE = 0, K2_OBJ_LATENCY = 1 };

/* The program types whose input state a config describes ([input.NAME] sections). */
enum k2_hook { K2_HOOK_XDP, K2_HOOK_SOCKET, K2_HOOK_TC, K2_HOOK_TRACEPOINT, K2_HOOK_KPROBE,
	       K2_HOOK__COUNT };

/* Input state at entry for one program type. */
struct k2_input_cfg {
	uint32_t ctx_size;  /* bytes of context */
	uint32_t pkt_min;   /* packet length range of generated inputs (0/0: no packet) */
	uint32_t pkt_max;
	uint32_t live_regs; /* registers initialised at entry, bit i = ri (r1 = ctx, r10 = fp) */
};

struct k2_search_cfg {
	double w_error;        /* cost weight of the error term (per differing bit) */
	double w_perf;         /* cost weight of the performance term (per insn or per ns) */
	double w_unsafe;       /* cost of a run the interpreter finds unsafe */
	uint32_t objective;    /* enum k2_objective */
	char latency_table[256]; /* per-opcode ns table for --objective latency */
	double p_operand;      /* proposal probabilities (normalised at use) */
	double p_replace;
	double p_nop;
	double p_swap;
	double p_width;
	double p_replace_k;
	uint32_t k_max;        /* largest k for replace-k-contiguous */
	uint32_t chains;       /* parallel-tempering replicas per search */
	double beta_max;       /* coldest inverse temperature */
	double beta_min;       /* hottest; the ladder is geometric between the two */
	uint32_t swap_interval; /* proposals between replica-exchange attempts */
	uint64_t restart_after; /* proposals without improvement before a chain restarts */
	uint32_t tests;        /* initial test inputs per window */
	uint32_t max_tests;    /* cap once counterexamples are added */
	uint32_t max_window;   /* longest window, instructions */
	double budget;         /* seconds for the whole program */
	uint32_t top_k;        /* proven candidates kept per window */
	uint32_t mcpu;         /* ISA version candidates may use (1..4) */
	uint64_t seed;
};

struct k2_smt_cfg {
	uint32_t timeout_ms;   /* per z3 query; "unknown" after it */
	bool memtype;          /* memory-type concretization */
	bool maptype;          /* map-type concretization */
	bool offset;           /* offset concretization */
	bool modular;          /* windows checked alone with live-in/live-out */
	bool cache;            /* query cache keyed by a canonical hash */
	bool prefilter;        /* cheap syntactic rejection before z3 */
};

struct k2_cluster_cfg {
	uint32_t exchange_ms;          /* counterexample / replica exchange interval */
	uint32_t heartbeat_ms;
	uint32_t heartbeat_timeout_ms; /* a worker silent this long is dropped */
	double stall_seconds;          /* no improvement this long: ranks move to other windows */
	double checkpoint_seconds;     /* 0: only at the end and on signals */
	uint32_t status_ms;            /* status line refresh */
	bool share_cex;                /* counterexamples reach every rank of their window */
	bool tempering;                /* ranks of a window form one temperature ladder and
					* exchange their coldest chains; off: independent
					* chains, all at beta_max */
	uint32_t slice_iters;          /* --iters runs: proposals per rank between exchanges */
};

struct k2_bench_cfg {
	bool enabled;
	int32_t core;          /* -1: the last core */
	uint32_t repeat;       /* BPF_PROG_TEST_RUN repeat count */
	uint32_t rounds;       /* interleaved A/B rounds */
	uint32_t packets;      /* distinct packets measured */
	uint32_t top_k;        /* candidates measured per round */
	bool xdp_live;         /* veth + live frames throughput for XDP */
	double live_seconds;
	char ifname[64];       /* a real NIC instead of the private veth pair */
};

struct k2_config {
	struct k2_search_cfg search;
	struct k2_smt_cfg smt;
	struct k2_cluster_cfg cluster;
	struct k2_bench_cfg bench;
	struct k2_input_cfg input[K2_HOOK__COUNT];
};

/* Built-in defaults (configs/default.ini and configs/cluster.ini state the same values). */
void k2_config_defaults(struct k2_config *cfg);

/*
 * Reads an INI file over cfg (later files override earlier). Unknown sections or keys,
 * bad values and out-of-range numbers are errors naming "FILE:LINE: ...".
 */
int k2_config_load(struct k2_config *cfg, const char *path, struct k2_err *e);

/* Sets one key from "section.key=value" or ("section.key", "value"), e.g. from --set. */
int k2_config_set(struct k2_config *cfg, const char *key, const char *value, struct k2_err *e);
int k2_config_set_arg(struct k2_config *cfg, const char *assignment, struct k2_err *e);

/* Prints every value in force, as an INI file that k2_config_load reads back. */
void k2_config_print(FILE *f, const struct k2_config *cfg);

/* Hook of a bpf_prog_type (XDP, socket filter, tc, tracepoint, kprobe); -1 if none. */
int k2_config_hook(uint32_t prog_type);

#endif
