/* kernel_bench/kern_int.h: what the kern_*.c files share and nobody else needs. */
#ifndef K2_KERN_INT_H
#define K2_KERN_INT_H

#include "kernel_bench/k2_kern.h"

#include <linux/bpf.h>
#include <stddef.h>

/* A field of a sized options struct, or `def` when the caller's struct predates it. */
#define K2_OPT(opts, field, def)                                                          \
	((opts) && (opts)->sz >= offsetof(__typeof__(*(opts)), field) + sizeof((opts)->field) \
		 ? (opts)->field                                                          \
		 : (def))

struct k2_kern_maps {
	const struct k2_map *maps; /* borrowed */
	uint32_t n;
	int *fds;
	uint8_t **mem;    /* big arrays are mmap()ed (BPF_F_MMAPABLE): contents move by memcpy */
	size_t *mem_len;
	bool *idle;       /* maps the program cannot reach: never written or read */
	const struct k2_mapstate *idle_src; /* the state last written: what idle maps hold */
	int kern_ncpus;   /* possible CPUs of the kernel */
};

/* Arrays with at least this many elements are created mmapable and filled through memory. */
#define K2_KERN_MMAP_MIN 1024

/* How the contents of a map type are transferred. */
enum k2_kern_data {
	K2_KERN_DATA_NONE,  /* kernel objects or streams: not transferred */
	K2_KERN_DATA_ARRAY, /* every index 0..max_entries-1 exists */
	K2_KERN_DATA_HASH,  /* keys come and go */
	K2_KERN_DATA_SLOTS, /* array of kernel objects named by value (devmap ifindex, cpumap
			     * qsize): each index is populated or empty */
};

enum k2_kern_data k2_kern_map_data(uint32_t type);
bool k2_kern_map_percpu(uint32_t type);
const char *k2_kern_map_type_str(uint32_t type);
void k2_kern_obj_name(const char *name, char out[BPF_OBJ_NAME_LEN]);

#endif
