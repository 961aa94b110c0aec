/* kernel_bench/pin_bind.c: binding the bench rank to its core and the other ranks off it. */
#include "kernel_bench/bench_int.h"

#include <hwloc.h>
#include <string.h>

int k2_pin_bench(const struct k2_topo *t, int core, int *cpu, struct k2_err *e)
{
	hwloc_obj_t c = k2_topo_core(t, core);

	if (!c)
		return k2_err_set(e, -EINVAL, "bench core %d: this machine has cores 0..%d", core,
				  k2_topo_ncores(t) - 1);
	if (hwloc_set_cpubind(t->topo, c->cpuset, HWLOC_CPUBIND_THREAD | HWLOC_CPUBIND_STRICT) <
	    0)
		return k2_err_set(e, -errno, "cannot bind to core %d: %s", core, strerror(errno));
	if (cpu)
		*cpu = hwloc_bitmap_first(c->cpuset);
	return 0;
}

int k2_pin_away(const struct k2_topo *t, int core, struct k2_err *e)
{
	hwloc_obj_t c = k2_topo_core(t, core);
	hwloc_bitmap_t rest;
	int err = 0;

	if (!c)
		return k2_err_set(e, -EINVAL, "bench core %d: this machine has cores 0..%d", core,
				  k2_topo_ncores(t) - 1);
	if (k2_topo_ncores(t) < 2)
		return 0; /* nowhere else to go: share the only core */
	rest = hwloc_bitmap_dup(hwloc_topology_get_allowed_cpuset(t->topo));
	if (!rest)
		return k2_err_set(e, -ENOMEM, "out of memory");
	hwloc_bitmap_andnot(rest, rest, c->cpuset);
	if (hwloc_set_cpubind(t->topo, rest, HWLOC_CPUBIND_PROCESS) < 0)
		err = k2_err_set(e, -errno, "cannot bind off core %d: %s", core, strerror(errno));
	hwloc_bitmap_free(rest);
	return err;
}
