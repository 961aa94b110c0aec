/* tests/kernel/bench_pin.c: hwloc pinning seen through sched_getaffinity, topology for traces. */
#define _GNU_SOURCE
#include <sched.h>

#include "kernel_bench/bench_int.h"
#include "tests/kernel/bench_util.h"

static int ncpus_in(const cpu_set_t *s)
{
	return CPU_COUNT(s);
}

Test(bench_pin, bench_thread_on_its_core)
{
	struct k2_topo *t;
	struct k2_err e = { 0 };
	cpu_set_t s;
	int cpu = -1, n;

	cr_assert_eq(k2_topo_load(&t, &e), 0, "%s", e.msg);
	n = k2_topo_ncores(t);
	cr_assert_geq(n, 1);
	/* the default: the last core */
	cr_assert_eq(k2_pin_bench(t, -1, &cpu, &e), 0, "%s", e.msg);
	cr_assert_eq(cpu, k2_topo_core_cpu(t, -1));
	cr_assert_eq(sched_getaffinity(0, sizeof(s), &s), 0);
	cr_assert(CPU_ISSET(cpu, &s), "cpu %d not in the mask", cpu);
	/* exactly that core's PUs (its hyperthreads, if any) */
	cr_assert_eq(ncpus_in(&s), hwloc_bitmap_weight(k2_topo_core(t, -1)->cpuset));
	/* and an explicit core */
	cr_assert_eq(k2_pin_bench(t, 0, &cpu, &e), 0, "%s", e.msg);
	cr_assert_eq(sched_getaffinity(0, sizeof(s), &s), 0);
	cr_assert(CPU_ISSET(k2_topo_core_cpu(t, 0), &s));
	cr_assert_neq(k2_pin_bench(t, n, NULL, &e), 0);
	cr_assert(strstr(e.msg, "cores 0.."), "%s", e.msg);
	k2_topo_free(t);
}

Test(bench_pin, other_ranks_off_the_bench_core)
{
	struct k2_topo *t;
	struct k2_err e = { 0 };
	cpu_set_t s;
	int bench;

	cr_assert_eq(k2_topo_load(&t, &e), 0, "%s", e.msg);
	bench = k2_topo_core_cpu(t, -1);
	cr_assert_eq(k2_pin_away(t, -1, &e), 0, "%s", e.msg);
	cr_assert_eq(sched_getaffinity(0, sizeof(s), &s), 0);
	if (k2_topo_ncores(t) > 1) {
		cr_assert_not(CPU_ISSET(bench, &s), "cpu %d still allowed", bench);
		cr_assert_geq(ncpus_in(&s), 1);
	} else {
		cr_assert(CPU_ISSET(bench, &s), "one core: nowhere else to go");
	}
	k2_topo_free(t);
}

Test(bench_pin, topology_for_traces)
{
	struct k2_topo *t;
	struct k2_err e = { 0 };
	char s[512];
	char *xml;

	cr_assert_eq(k2_topo_load(&t, &e), 0, "%s", e.msg);
	k2_topo_summary(t, s, sizeof(s));
	cr_assert(strstr(s, "Machine") && strstr(s, "cores") && strstr(s, "PUs"), "%s", s);
	cr_assert(strstr(s, k2_topo_cpu_model(t)), "%s", s);
	xml = k2_topo_xml(t);
	cr_assert_not_null(xml);
	cr_assert(strstr(xml, "<?xml") && strstr(xml, "topology"), "%.200s", xml);
	free(xml);
	k2_topo_free(t);
}

Test(bench_pin, session_pins_and_reports_its_cpu)
{
	struct k2_prog p = bench_prog("pin", "r0 = 2\nexit\n");
	struct k2_bench *b;
	struct k2_err e = { 0 };
	cpu_set_t s;
	K2_BENCH_OPTS(o, .packets = 1);

	bench_need_kernel();
	cr_assert_eq(k2_bench_new(&p, &o, &b, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_bench_cpu(b), k2_topo_core_cpu(k2_bench_topo(b), -1));
	cr_assert_eq(sched_getaffinity(0, sizeof(s), &s), 0);
	cr_assert(CPU_ISSET(k2_bench_cpu(b), &s));
	k2_bench_free(b);
	free(p.insns);
}
