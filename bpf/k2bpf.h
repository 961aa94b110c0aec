/* bpf/k2bpf.h: the face of the eBPF model; include this from other modules. */
#ifndef K2BPF_H
#define K2BPF_H

#include "bpf/k2_err.h"
#include "bpf/k2_insn.h"
#include "bpf/k2_helpers.h"
#include "bpf/k2_obj.h"
#include "bpf/k2_text.h"
#include "bpf/k2_interp.h"
#include "bpf/k2_cfg.h"
#include "bpf/k2_rand.h"
#include "bpf/k2_pktgen.h"

#endif
