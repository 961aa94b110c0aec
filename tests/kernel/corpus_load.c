/* tests/kernel/corpus_load.c: every corpus object passes the kernel verifier; tracepoints fire. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <gelf.h>
#include <glob.h>
#include <libelf.h>
#include <linux/if_link.h>
#include <linux/perf_event.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "tests/kernel/corpus_util.h"

/*
 * tp_syscall_count.o keeps its maps in the legacy "maps" section (struct bpf_map_def),
 * which libbpf 1.x refuses to open. It is loaded here by legacy_load(), a minimal
 * loader of that format; the project's own ELF reader and loader handle it in bpf/.
 */
#define LEGACY_OBJ "tp_syscall_count"

Test(corpus_load, every_object_loads)
{
	char pattern[4096];
	glob_t g;
	int n = 0;

	corpus_need_bpf();
	corpus_path(pattern, sizeof(pattern), "*");
	cr_assert_eq(glob(pattern, 0, NULL, &g), 0, "no %s: run `make corpus`", pattern);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		const char *path = g.gl_pathv[i];
		struct bpf_object *obj;
		struct bpf_program *p;
		int err, progs = 0;

		if (strstr(path, "/" LEGACY_OBJ ".o"))
			continue;
		obj = bpf_object__open_file(path, NULL);
		cr_expect_not_null(obj, "%s: open: %s", path, strerror(errno));
		if (!obj)
			continue;
		err = bpf_object__load(obj);
		cr_expect_eq(err, 0, "%s: the verifier refused it: %s", path, strerror(-err));
		bpf_object__for_each_program(p, obj)
		{
			cr_expect(err || bpf_program__fd(p) >= 0, "%s: %s", path,
				  bpf_program__name(p));
			progs++;
		}
		cr_expect_gt(progs, 0, "%s has no program", path);
		bpf_object__close(obj);
		n++;
	}
	globfree(&g);
	cr_expect_geq(n, 12, "only %d corpus objects", n);
}

struct legacy {
	int prog_fd;
	int map_fd[8];
	char map_name[8][32];
	int n_maps;
};

static Elf_Scn *find_section(Elf *e, size_t shstrndx, const char *name, size_t *idx)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(e, scn))) {
		gelf_getshdr(scn, &sh);
		if (!strcmp(elf_strptr(e, shstrndx, sh.sh_name), name)) {
			*idx = elf_ndxscn(scn);
			return scn;
		}
	}
	return NULL;
}

/* Creates the "maps" section's maps, points the program's map loads at them, loads it. */
static void legacy_load(const char *name, const char *sec, struct legacy *L)
{
	char path[4096], log[65536] = "";
	size_t shstrndx, maps_idx, prog_idx, sym_idx = 0;
	Elf_Scn *maps, *prog, *scn = NULL;
	Elf_Data *maps_d, *prog_d, *sym_d = NULL;
	struct bpf_insn insns[4096];
	uint32_t n_insns;
	GElf_Shdr sh;
	Elf *e;
	int fd;

	corpus_path(path, sizeof(path), name);
	elf_version(EV_CURRENT);
	fd = open(path, O_RDONLY);
	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	e = elf_begin(fd, ELF_C_READ, NULL);
	cr_assert_not_null(e);
	elf_getshdrstrndx(e, &shstrndx);
	maps = find_section(e, shstrndx, "maps", &maps_idx);
	prog = find_section(e, shstrndx, sec, &prog_idx);
	cr_assert(maps && prog, "%s: no maps or %s section", path, sec);
	maps_d = elf_getdata(maps, NULL);
	prog_d = elf_getdata(prog, NULL);
	n_insns = (uint32_t)(prog_d->d_size / sizeof(struct bpf_insn));
	cr_assert_leq(n_insns, 4096);
	memcpy(insns, prog_d->d_buf, prog_d->d_size);
	while ((scn = elf_nextscn(e, scn))) {
		gelf_getshdr(scn, &sh);
		if (sh.sh_type == SHT_SYMTAB) {
			sym_d = elf_getdata(scn, NULL);
			sym_idx = sh.sh_link;
		}
	}
	cr_assert_not_null(sym_d);

	/* One map per symbol in "maps": its bpf_map_def sits at the symbol's value. */
	memset(L, 0, sizeof(*L));
	for (size_t i = 0; i < sym_d->d_size / sizeof(Elf64_Sym); i++) {
		GElf_Sym s;
		unsigned int def[5];

		gelf_getsym(sym_d, (int)i, &s);
		if (s.st_shndx != maps_idx || GELF_ST_TYPE(s.st_info) != STT_OBJECT)
			continue;
		cr_assert_lt(L->n_maps, 8);
		memcpy(def, (uint8_t *)maps_d->d_buf + s.st_value, sizeof(def));
		snprintf(L->map_name[L->n_maps], 32, "%s", elf_strptr(e, sym_idx, s.st_name));
		L->map_fd[L->n_maps] = bpf_map_create(def[0], NULL, def[1], def[2], def[3], NULL);
		cr_assert_geq(L->map_fd[L->n_maps], 0, "map %s: %s", L->map_name[L->n_maps],
			      strerror(errno));
		/* Relocations name the symbol; remember which fd it became by its value. */
		for (scn = NULL; (scn = elf_nextscn(e, scn));) {
			Elf_Data *rd;

			gelf_getshdr(scn, &sh);
			if (sh.sh_type != SHT_REL || sh.sh_info != prog_idx)
				continue;
			rd = elf_getdata(scn, NULL);
			for (size_t k = 0; k < rd->d_size / sizeof(Elf64_Rel); k++) {
				GElf_Rel rel;
				GElf_Sym rs;

				gelf_getrel(rd, (int)k, &rel);
				gelf_getsym(sym_d, (int)GELF_R_SYM(rel.r_info), &rs);
				if (rs.st_shndx != maps_idx || rs.st_value != s.st_value)
					continue;
				insns[rel.r_offset / 8].src_reg = BPF_PSEUDO_MAP_FD;
				insns[rel.r_offset / 8].imm = L->map_fd[L->n_maps];
			}
		}
		L->n_maps++;
	}
	{
		LIBBPF_OPTS(bpf_prog_load_opts, po, .log_buf = log, .log_size = sizeof(log),
			    .log_level = 0);

		L->prog_fd = bpf_prog_load(BPF_PROG_TYPE_TRACEPOINT, "tp_syscall_cnt", "GPL", insns,
					   n_insns, &po);
		if (L->prog_fd < 0) {
			/* Load again with the log on, to say why. */
			po.log_level = 1;
			L->prog_fd = bpf_prog_load(BPF_PROG_TYPE_TRACEPOINT, "tp_syscall_cnt",
						   "GPL", insns, n_insns, &po);
		}
		cr_assert_geq(L->prog_fd, 0, "%s: the verifier refused it: %s\n%s", path,
			      strerror(errno), log);
	}
	elf_end(e);
	close(fd);
}

static int legacy_map(const struct legacy *L, const char *name)
{
	for (int i = 0; i < L->n_maps; i++)
		if (!strcmp(L->map_name[i], name))
			return L->map_fd[i];
	cr_assert_fail("no legacy map %s", name);
	return -1;
}

Test(corpus_load, legacy_maps_object_loads)
{
	struct legacy L;

	corpus_need_bpf();
	legacy_load(LEGACY_OBJ, "tracepoint/raw_syscalls/sys_enter", &L);
	cr_expect_eq(L.n_maps, 2);
	legacy_map(&L, "calls_by_tgid");
	legacy_map(&L, "calls_by_id");
}

/*
 * Attaching a tracepoint needs its id from tracefs, which is not mounted here by
 * default: mount it in a private mount namespace of this test process only.
 */
static uint64_t tracepoint_id(const char *category, const char *event)
{
	const char *dir = "/sys/kernel/tracing";
	char path[256], id[32] = "";
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/events/%s/%s/id", dir, category, event);
	if (access(path, R_OK)) {
		if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
		    mount("tracefs", dir, "tracefs", 0, NULL))
			cr_skip_test("cannot mount tracefs on %s (%s): skipping the attach", dir,
				     strerror(errno));
	}
	fd = open(path, O_RDONLY);
	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	n = read(fd, id, sizeof(id) - 1);
	close(fd);
	cr_assert_gt(n, 0);
	return strtoull(id, NULL, 10);
}

struct tp_link {
	int fd;
};

/*
 * pid >= 0: events of that task on any CPU. pid -1: every event on CPU 0, for
 * tracepoints that fire in softirq context rather than in ours (a program may be
 * attached to a tracepoint once, so not on every CPU: the caller runs on CPU 0).
 */
static void tracepoint_attach(int prog_fd, const char *category, const char *event, pid_t pid,
			      struct tp_link *l)
{
	struct perf_event_attr attr = { .type = PERF_TYPE_TRACEPOINT,
					.size = sizeof(attr),
					.sample_period = 1,
					.wakeup_events = 1 };

	attr.config = tracepoint_id(category, event);
	l->fd = (int)syscall(__NR_perf_event_open, &attr, pid, pid >= 0 ? -1 : 0, -1,
			     PERF_FLAG_FD_CLOEXEC);
	cr_assert_geq(l->fd, 0, "perf_event_open %s/%s: %s", category, event, strerror(errno));
	cr_assert_eq(ioctl(l->fd, PERF_EVENT_IOC_SET_BPF, prog_fd), 0, "SET_BPF: %s",
		     strerror(errno));
	cr_assert_eq(ioctl(l->fd, PERF_EVENT_IOC_ENABLE, 0), 0);
}

static void tracepoint_detach(struct tp_link *l)
{
	ioctl(l->fd, PERF_EVENT_IOC_DISABLE, 0);
	close(l->fd);
}

Test(corpus_load, syscall_counter_counts_this_process)
{
	struct legacy L;
	struct tp_link link;
	uint32_t tgid = (uint32_t)getpid(), id = __NR_getppid;
	uint64_t n = 0;

	corpus_need_bpf();
	legacy_load(LEGACY_OBJ, "tracepoint/raw_syscalls/sys_enter", &L);
	tracepoint_attach(L.prog_fd, "raw_syscalls", "sys_enter", getpid(), &link);
	for (int i = 0; i < 10; i++)
		syscall(__NR_getppid);
	tracepoint_detach(&link);
	cr_assert_eq(bpf_map_lookup_elem(legacy_map(&L, "calls_by_tgid"), &tgid, &n), 0,
		     "no entry for this process");
	cr_expect_geq(n, 10, "%llu syscalls counted", (unsigned long long)n);
	cr_expect_geq(corpus_percpu_sum(legacy_map(&L, "calls_by_id"), id, 8, 0), 10);
}

struct exc_event {
	uint64_t ts_ns;
	int32_t prog_id;
	uint32_t act;
	int32_t ifindex;
	uint32_t cpu;
};

struct exc_seen {
	int n;
	int32_t prog_id;
	uint32_t act;
};

static void on_exception(void *ctx, int cpu, void *data, uint32_t size)
{
	struct exc_seen *seen = ctx;
	struct exc_event ev;

	(void)cpu;
	cr_assert_geq(size, sizeof(ev));
	memcpy(&ev, data, sizeof(ev));
	seen->n++;
	seen->prog_id = ev.prog_id;
	seen->act = ev.act;
}

/* Brings up lo in a network namespace private to this test process; returns its ifindex. */
static int private_loopback(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int s;

	if (unshare(CLONE_NEWNET))
		cr_skip_test("cannot make a network namespace (%s): skipping", strerror(errno));
	s = socket(AF_INET, SOCK_DGRAM, 0);
	cr_assert_geq(s, 0);
	cr_assert_eq(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	cr_assert_eq(ioctl(s, SIOCSIFFLAGS, &ifr), 0, "lo up: %s", strerror(errno));
	close(s);
	return (int)if_nametoindex("lo");
}

/*
 * An XDP program that aborts, attached in generic mode to a private loopback, makes
 * the stack trace xdp_exception for each packet sent through it.
 */
Test(corpus_load, xdp_exception_tracepoint_counts_and_reports)
{
	struct bpf_insn abort_prog[2] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_ABORTED },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_port = htons(9),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct bpf_object *obj = corpus_load("tp_xdp_exception");
	struct bpf_prog_info info = { 0 };
	uint32_t info_len = sizeof(info);
	struct exc_seen seen = { 0 };
	struct perf_buffer *pb;
	struct tp_link link;
	cpu_set_t cpu0;
	int xdp_fd, lo, s;

	/* Loopback delivers in the sender's CPU's softirq: send from CPU 0, trace CPU 0. */
	CPU_ZERO(&cpu0);
	CPU_SET(0, &cpu0);
	cr_assert_eq(sched_setaffinity(0, sizeof(cpu0), &cpu0), 0);
	lo = private_loopback();
	xdp_fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "k2_abort", "GPL", abort_prog, 2, NULL);
	cr_assert_geq(xdp_fd, 0, "%s", strerror(errno));
	cr_assert_eq(bpf_obj_get_info_by_fd(xdp_fd, &info, &info_len), 0);
	cr_assert_eq(bpf_xdp_attach(lo, xdp_fd, XDP_FLAGS_SKB_MODE, NULL), 0,
		     "generic XDP on lo: %s", strerror(errno));
	pb = perf_buffer__new(corpus_map_fd(obj, "events"), 8, on_exception, NULL, &seen, NULL);
	cr_assert_not_null(pb, "perf_buffer__new: %s", strerror(errno));
	tracepoint_attach(corpus_prog_fd(obj), "xdp", "xdp_exception", -1, &link);

	s = socket(AF_INET, SOCK_DGRAM, 0);
	for (int i = 0; i < 3; i++)
		sendto(s, "k2", 2, 0, (struct sockaddr *)&to, sizeof(to));
	close(s);
	for (int i = 0; i < 20 && seen.n < 3; i++)
		perf_buffer__poll(pb, 50);
	tracepoint_detach(&link);
	cr_expect_eq(corpus_percpu_sum(corpus_map_fd(obj, "exceptions"), XDP_ABORTED, 8, 0), 3);
	cr_expect_eq(corpus_percpu_sum(corpus_map_fd(obj, "exceptions"), XDP_DROP, 8, 0), 0);
	cr_expect_eq(seen.n, 3, "%d events", seen.n);
	cr_expect_eq(seen.act, XDP_ABORTED);
	cr_expect_eq((uint32_t)seen.prog_id, info.id, "the aborting program's id");
	perf_buffer__free(pb);
	close(xdp_fd);
	bpf_object__close(obj);
}
