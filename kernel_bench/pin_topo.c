/* kernel_bench/pin_topo.c: the machine's topology through hwloc: cores, PUs, CPU model, XML. */
#include "kernel_bench/bench_int.h"

#include <hwloc.h>
#include <hwloc/export.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int k2_topo_load(struct k2_topo **out, struct k2_err *e)
{
	struct k2_topo *t = calloc(1, sizeof(*t));

	*out = NULL;
	if (!t)
		return k2_err_set(e, -ENOMEM, "topology: out of memory");
	if (hwloc_topology_init(&t->topo) < 0) {
		free(t);
		return k2_err_set(e, -ENOMEM, "hwloc_topology_init failed");
	}
	if (hwloc_topology_load(t->topo) < 0) {
		hwloc_topology_destroy(t->topo);
		free(t);
		return k2_err_set(e, -EIO, "hwloc_topology_load failed");
	}
	*out = t;
	return 0;
}

void k2_topo_free(struct k2_topo *t)
{
	if (!t)
		return;
	hwloc_topology_destroy(t->topo);
	free(t);
}

int k2_topo_ncores(const struct k2_topo *t)
{
	int n = hwloc_get_nbobjs_by_type(t->topo, HWLOC_OBJ_CORE);

	/* Some virtual machines report PUs without cores. */
	return n > 0 ? n : hwloc_get_nbobjs_by_type(t->topo, HWLOC_OBJ_PU);
}

hwloc_obj_t k2_topo_core(const struct k2_topo *t, int core)
{
	int n = k2_topo_ncores(t);
	hwloc_obj_type_t type = hwloc_get_nbobjs_by_type(t->topo, HWLOC_OBJ_CORE) > 0
					? HWLOC_OBJ_CORE
					: HWLOC_OBJ_PU;

	if (core < 0)
		core = n - 1;
	if (core < 0 || core >= n)
		return NULL;
	return hwloc_get_obj_by_type(t->topo, type, (unsigned)core);
}

int k2_topo_core_cpu(const struct k2_topo *t, int core)
{
	hwloc_obj_t c = k2_topo_core(t, core);

	return c ? hwloc_bitmap_first(c->cpuset) : -1;
}

const char *k2_topo_cpu_model(const struct k2_topo *t)
{
	hwloc_obj_t pkg = hwloc_get_obj_by_type(t->topo, HWLOC_OBJ_PACKAGE, 0);
	const char *m = pkg ? hwloc_obj_get_info_by_name(pkg, "CPUModel") : NULL;

	if (!m)
		m = hwloc_obj_get_info_by_name(hwloc_get_root_obj(t->topo), "CPUModel");
	return m ? m : "unknown";
}

static const char *info(hwloc_obj_t o, const char *name)
{
	const char *v = o ? hwloc_obj_get_info_by_name(o, name) : NULL;

	return v ? v : "?";
}

void k2_topo_summary(const struct k2_topo *t, char *buf, size_t len)
{
	hwloc_obj_t root = hwloc_get_root_obj(t->topo);
	hwloc_obj_t pkg = hwloc_get_obj_by_type(t->topo, HWLOC_OBJ_PACKAGE, 0);
	hwloc_obj_t l3 = hwloc_get_obj_by_type(t->topo, HWLOC_OBJ_L3CACHE, 0);
	int npkg = hwloc_get_nbobjs_by_type(t->topo, HWLOC_OBJ_PACKAGE);
	int npu = hwloc_get_nbobjs_by_type(t->topo, HWLOC_OBJ_PU);
	int nnuma = hwloc_get_nbobjs_by_type(t->topo, HWLOC_OBJ_NUMANODE);
	size_t o;

	o = (size_t)snprintf(buf, len,
			     "Machine (%.1f GiB in NUMA nodes), %d package%s, %d NUMA node%s, "
			     "%d cores, %d PUs; "
			     "CPU %s (family %s model %s)",
			     (double)root->total_memory / (1024.0 * 1024 * 1024), npkg,
			     npkg == 1 ? "" : "s", nnuma, nnuma == 1 ? "" : "s", k2_topo_ncores(t),
			     npu, k2_topo_cpu_model(t), info(pkg, "CPUFamilyNumber"),
			     info(pkg, "CPUModelNumber"));
	if (l3 && l3->attr && o < len)
		snprintf(buf + o, len - o, "; L3 %llu KiB",
			 (unsigned long long)l3->attr->cache.size / 1024);
}

char *k2_topo_xml(const struct k2_topo *t)
{
	char *xml = NULL, *copy;
	int n = 0;

	if (hwloc_topology_export_xmlbuffer(t->topo, &xml, &n, 0) < 0 || !xml)
		return NULL;
	copy = strdup(xml);
	hwloc_free_xmlbuffer(t->topo, xml);
	return copy;
}
