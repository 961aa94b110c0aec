/* tests/kernel/bench_live.c: XDP on a private veth pair: counts, and nothing left behind. */
#include <bpf/bpf.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kernel_bench/bench_int.h"
#include "tests/kernel/bench_util.h"

static void need_netns(void)
{
	struct k2_netns *ns;
	struct k2_err e = { 0 };

	bench_need_kernel();
	if (k2_netns_new(NULL, &ns, &e))
		cr_skip_test("no private network namespace here: %s", e.msg);
	k2_netns_free(ns);
}

/* Whether any process holds network namespace `ino` (as its own, or by an fd). */
static bool netns_alive(unsigned long ino)
{
	char want[64], path[512], link[128];
	DIR *proc = opendir("/proc");
	struct dirent *d;
	bool found = false;

	snprintf(want, sizeof(want), "net:[%lu]", ino);
	while (proc && !found && (d = readdir(proc))) {
		DIR *sub;
		struct dirent *f;

		if (d->d_name[0] < '0' || d->d_name[0] > '9')
			continue;
		for (int pass = 0; pass < 2 && !found; pass++) {
			snprintf(path, sizeof(path), "/proc/%s/%s", d->d_name,
				 pass ? "fd" : "task");
			sub = opendir(path);
			while (sub && !found && (f = readdir(sub))) {
				ssize_t n;

				if (f->d_name[0] == '.')
					continue;
				snprintf(path, sizeof(path),
					 pass ? "/proc/%s/fd/%s" : "/proc/%s/task/%s/ns/net",
					 d->d_name, f->d_name);
				n = readlink(path, link, sizeof(link) - 1);
				if (n > 0) {
					link[n] = '\0';
					found = !strcmp(link, want);
				}
			}
			if (sub)
				closedir(sub);
		}
	}
	if (proc)
		closedir(proc);
	return found;
}

/* The kernel frees programs after an RCU grace period: wait a little for the id to go. */
static bool prog_gone(uint32_t id)
{
	for (int i = 0; i < 300; i++) {
		int fd = bpf_prog_get_fd_by_id(id);

		if (fd < 0 && errno == ENOENT)
			return true;
		if (fd >= 0)
			close(fd);
		usleep(10000);
	}
	return false;
}

static uint32_t prog_id(int fd)
{
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	cr_assert_eq(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	return info.id;
}

/* Live frames through veth: the receiving end processes what the generator sent. */
static void live_counts(int verdict)
{
	char *t = bench_alu_text(20, verdict);
	struct k2_prog p = bench_prog("live", t);
	struct k2_bench *b;
	struct k2_err e = { 0 };
	const struct k2_bench_prog *o;
	K2_BENCH_OPTS(opts, .packets = 4, .live_seconds = 0.5);

	need_netns();
	cr_assert_eq(k2_bench_new(&p, &opts, &b, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_bench_live(b, &e), 0, "%s", e.msg);
	o = k2_bench_prog(b, 0);
	cr_assert_gt(o->live_sent, 1000, "sent %lu", (unsigned long)o->live_sent);
	/* within 1%: frames still in the veth ring when a slice ends are counted in the next */
	cr_assert(o->live_processed >= o->live_sent * 99 / 100 &&
		  o->live_processed <= o->live_sent * 101 / 100 + 64,
		  "sent %lu, processed %lu", (unsigned long)o->live_sent,
		  (unsigned long)o->live_processed);
	cr_assert(o->live_seconds > 0.4 && o->live_seconds < 1.5, "%f s", o->live_seconds);
	cr_assert_gt(o->pps, 0);
	k2_bench_free(b);
	free(p.insns);
	free(t);
}

Test(bench_live, veth_counts_drop)
{
	live_counts(XDP_DROP);
}

Test(bench_live, veth_counts_tx)
{
	live_counts(XDP_TX);
}

Test(bench_live, netns_gone_after_session)
{
	struct k2_netns *ns;
	struct k2_err e = { 0 };
	int a, b, link, fd;
	unsigned long ino;
	uint32_t id;
	const struct bpf_insn drop[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .imm = XDP_DROP },
		{ .code = BPF_JMP | BPF_EXIT },
	};

	need_netns();
	cr_assert_eq(k2_netns_new(NULL, &ns, &e), 0, "%s", e.msg);
	ino = k2_netns_inode(ns);
	cr_assert(netns_alive(ino));
	cr_assert_eq(k2_netns_veth(ns, &a, &b, &e), 0, "%s", e.msg);
	fd = k2_bench_load_insns(BPF_PROG_TYPE_XDP, "k2_test_drop", drop, 2, &e);
	cr_assert_geq(fd, 0, "%s", e.msg);
	id = prog_id(fd);
	link = k2_netns_xdp_attach(ns, fd, b, XDP_FLAGS_DRV_MODE, &e);
	cr_assert_geq(link, 0, "%s", e.msg);
	close(fd);
	/* the attachment keeps the program alive; freeing the namespace takes both away */
	fd = bpf_prog_get_fd_by_id(id);
	cr_assert_geq(fd, 0, "program %u gone while attached", id);
	close(fd);
	k2_netns_free(ns);
	cr_assert_not(netns_alive(ino), "netns %lu still held", ino);
	/* our link fd is all that is left; closing it frees the program */
	close(link);
	cr_assert(prog_gone(id), "program %u still loaded", id);
}

/* The namespace the child created, from its fds ("net:[N]" other than ours). */
static unsigned long child_netns(pid_t pid)
{
	char path[512], link[128], mine[128];
	struct dirent *f;
	unsigned long ino = 0;
	ssize_t n = readlink("/proc/self/ns/net", mine, sizeof(mine) - 1);
	DIR *d;

	mine[n > 0 ? n : 0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	while (d && (f = readdir(d))) {
		snprintf(path, sizeof(path), "/proc/%d/fd/%s", (int)pid, f->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (!strncmp(link, "net:[", 5) && strcmp(link, mine))
			ino = strtoul(link + 5, NULL, 10);
	}
	if (d)
		closedir(d);
	return ino;
}

/* Every XDP program id the child has open. */
static uint32_t child_progs(pid_t pid, uint32_t *ids, uint32_t max)
{
	char path[512], line[256];
	struct dirent *f;
	uint32_t n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo", (int)pid);
	d = opendir(path);
	while (d && n < max && (f = readdir(d))) {
		FILE *fi;

		snprintf(path, sizeof(path), "/proc/%d/fdinfo/%s", (int)pid, f->d_name);
		fi = fopen(path, "r");
		while (fi && fgets(line, sizeof(line), fi))
			if (!strncmp(line, "prog_id:", 8) && n < max)
				ids[n++] = (uint32_t)strtoul(line + 8, NULL, 10);
		if (fi)
			fclose(fi);
	}
	if (d)
		closedir(d);
	return n;
}

/*
 * `k2 bench --xdp-live 30` killed by SIGTERM while traffic runs: its handler closes what the
 * registry holds and re-raises; the namespace, the veth pair and every program go.
 */
Test(bench_live, sigterm_leaves_nothing, .timeout = 60)
{
	const char *bdir = getenv("K2_BUILD");
	char k2[4096], obj[4096], trace[128] = "/tmp/k2_bench_sigterm_XXXXXX";
	int out[2], st;
	char buf[4096];
	size_t got = 0;
	uint32_t ids[16], n_ids;
	unsigned long ino = 0;
	pid_t pid;

	need_netns();
	snprintf(k2, sizeof(k2), "%s/k2", bdir && *bdir ? bdir : "build");
	snprintf(obj, sizeof(obj), "%s/corpus/xdp_bounce.o", bdir && *bdir ? bdir : "build");
	cr_assert(mkdtemp(trace));
	strcat(trace, "/t.h5");
	cr_assert_eq(pipe(out), 0);
	pid = fork();
	if (pid == 0) {
		dup2(out[1], 2);
		close(out[0]);
		execl(k2, k2, "bench", obj, "--rounds", "2", "--packets", "2", "--xdp-live", "30",
		      "--trace", trace, (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	/* wait for the live run to start */
	while (got < sizeof(buf) - 1) {
		ssize_t r = read(out[0], buf + got, sizeof(buf) - 1 - got);

		if (r <= 0)
			break;
		got += (size_t)r;
		buf[got] = '\0';
		if (strstr(buf, "XDP live"))
			break;
	}
	cr_assert(strstr(buf, "XDP live"), "k2 bench said: %s", buf);
	usleep(300000);
	ino = child_netns(pid);
	n_ids = child_progs(pid, ids, 16);
	cr_assert_neq(ino, 0, "no netns fd in the child");
	cr_assert_geq(n_ids, 2, "programs: %u", n_ids);
	cr_assert(netns_alive(ino));
	kill(pid, SIGTERM);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "status %#x", st);
	close(out[0]);
	cr_assert_not(netns_alive(ino), "netns %lu survived SIGTERM", ino);
	for (uint32_t i = 0; i < n_ids; i++)
		cr_assert(prog_gone(ids[i]), "program %u survived SIGTERM", ids[i]);
	cr_assert_neq(access(trace, F_OK), 0, "a trace was written by a killed run");
	*strrchr(trace, '/') = '\0';
	rmdir(trace);
}

/* A library user's handler (k2_cleanup_run) removes the trace's temporary file too. */
Test(bench_live, sigterm_removes_temporary_trace, .timeout = 30)
{
	char dir[] = "/tmp/k2_bench_tmp_XXXXXX", path[512], tmp[600];
	int sync[2], st;
	pid_t pid;
	char c;

	cr_assert(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/t.h5", dir);
	cr_assert_eq(pipe(sync), 0);
	pid = fork();
	if (pid == 0) {
		struct k2_cleanup *cl = malloc(sizeof(*cl));
		struct k2_h5 *h;
		struct k2_err e = { 0 };

		k2_cleanup_init(cl);
		k2_bench_signals(cl);
		if (k2_h5_create(path, NULL, cl, &h, &e))
			_exit(3);
		if (write(sync[1], "x", 1) != 1)
			_exit(4);
		pause();
		_exit(5);
	}
	close(sync[1]);
	cr_assert_eq(read(sync[0], &c, 1), 1);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)pid);
	cr_assert_eq(access(tmp, F_OK), 0, "no temporary file %s", tmp);
	kill(pid, SIGTERM);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "status %#x", st);
	cr_assert_neq(access(tmp, F_OK), 0, "%s left behind", tmp);
	cr_assert_neq(access(path, F_OK), 0);
	rmdir(dir);
}
