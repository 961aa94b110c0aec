/* tests/kernel/obj_load.c: written objects load as the originals (libbpf, bpftool, bpf()). */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <criterion/criterion.h>
#include <linux/magic.h>
#include <stdarg.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "bpf/obj_internal.h"
#include "tests/unit/obj_util.h"

static char tmpdir[64];
static char pin_root[64]; /* maps that ask to be pinned by name go here, not into /sys/fs/bpf */

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

static void setup(void)
{
	libbpf_set_print(quiet);
	snprintf(pin_root, sizeof(pin_root), "/sys/fs/bpf/k2test_pins_%d", (int)getpid());
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/k2-objk-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void teardown(void)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", tmpdir, pin_root);
	cr_expect_eq(system(cmd), 0);
}

TestSuite(obj_load, .init = setup, .fini = teardown, .timeout = 120);

/* Whether this process may load BPF at all; the reason if not. */
static bool bpf_usable(char *why, size_t n)
{
	struct bpf_insn prog[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "k2probe", "GPL", prog, 2, NULL);

	if (fd < 0) {
		snprintf(why, n, "BPF_PROG_LOAD: %s", strerror(errno));
		return false;
	}
	close(fd);
	return true;
}

/* bpffs at /sys/fs/bpf, mounted if it is not. */
static void need_bpffs(void)
{
	struct statfs st;

	if (statfs("/sys/fs/bpf", &st) == 0 && st.f_type == BPF_FS_MAGIC)
		return;
	mkdir("/sys/fs/bpf", 0700);
	cr_assert_eq(mount("bpf", "/sys/fs/bpf", "bpf", 0, NULL), 0, "mount bpffs: %s",
		     strerror(errno));
}

#define NEED_BPF()                                                                             \
	do {                                                                                   \
		char why_[128];                                                                \
		if (!bpf_usable(why_, sizeof(why_)))                                           \
			cr_skip_test("kernel tests skipped: bpf() is not usable here (%s)", why_); \
		need_bpffs();                                                                  \
	} while (0)

static const char *tmp(const char *name)
{
	static __thread char p[160];

	snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
	return p;
}

static struct k2_object *open_ok(const char *path)
{
	struct k2_object *obj = NULL;
	struct k2_err e = { 0 };

	cr_assert_eq(k2_object_open(path, &obj, &e), 0, "%s: %s", path, e.msg);
	return obj;
}

static void write_ok(struct k2_object *obj, const char *path)
{
	struct k2_err e = { 0 };

	cr_assert_eq(k2_object_write(obj, path, &e), 0, "%s: %s", path, e.msg);
}

/* libbpf's verdict on a file: 0, or where and why it failed. */
static int libbpf_load(const char *path, struct bpf_object **keep)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = pin_root);
	struct bpf_object *o = bpf_object__open_file(path, &oo);
	int err;

	if (!o)
		return -1000 + errno; /* open failed: distinguishable from load errors */
	err = bpf_object__load(o);
	if (keep && !err)
		*keep = o;
	else
		bpf_object__close(o);
	return err;
}

static const char *const data_files[] = { "maps_xdp.o", "calls_tc.o", "legacy_sock.o",
					   "types_trace.o", "dead_code.o" };
static const char *const tool_files[] = {
	"xdp-dispatcher.o",  "xdpdump_bpf.o",     "xdpdump_xdp.o",     "xdpfilt_alw_all.o",
	"xdpfilt_alw_eth.o", "xdpfilt_alw_ip.o",  "xdpfilt_alw_tcp.o", "xdpfilt_alw_udp.o",
	"xdpfilt_dny_all.o", "xdpfilt_dny_eth.o", "xdpfilt_dny_ip.o",  "xdpfilt_dny_tcp.o",
	"xdpfilt_dny_udp.o", "xsk_def_xdp_prog.o", "xsk_def_xdp_prog_5.3.o",
};

static const char *input_path(size_t i)
{
	static __thread char p[256];
	size_t nd = sizeof(data_files) / sizeof(data_files[0]);

	if (i < nd)
		return obj_data(data_files[i]);
	snprintf(p, sizeof(p), XDP_TOOLS "%s", tool_files[i - nd]);
	return p;
}

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))
#define N_INPUTS (N_OF(data_files) + N_OF(tool_files))

Test(obj_load, libbpf_loads_every_rewritten_object_as_the_original)
{
	NEED_BPF();
	for (size_t i = 0; i < N_INPUTS; i++) {
		const char *in = input_path(i);
		struct k2_object *obj = open_ok(in);
		int a, b;

		write_ok(obj, tmp("rw.o"));
		k2_object_free(obj);
		a = libbpf_load(in, NULL);
		b = libbpf_load(tmp("rw.o"), NULL);
		cr_expect_eq(a, b, "%s: original %d, rewritten %d", in, a, b);
		/* libbpf refuses legacy maps; xdpdump's fentry needs an attach target (below) */
		if (!strstr(in, "legacy_sock") && !strstr(in, "xdpdump_bpf"))
			cr_expect_eq(b, 0, "%s loads", in);
	}
}

/* xdpdump_bpf.o traces an XDP program: xdp-tools sets the target before loading. */
static int load_xdpdump_tracer(const char *path, int target_fd)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = pin_root);
	struct bpf_object *o = bpf_object__open_file(path, &oo);
	struct bpf_program *p;
	int err;

	if (!o)
		return -errno;
	bpf_object__for_each_program(p, o)
		bpf_program__set_attach_target(p, target_fd, "xdpdump");
	err = bpf_object__load(o);
	bpf_object__close(o);
	return err;
}

/*
 * Its fentry/fexit programs trace the XDP program "xdpdump"; on this kernel the tracing load
 * itself may be refused (EPERM) for the original too, so the two must simply agree.
 */
Test(obj_load, xdpdump_tracer_loads_as_the_original_with_its_attach_target)
{
	struct bpf_object *xo = NULL;
	struct k2_object *obj;
	int fd, a, b;

	NEED_BPF();
	cr_assert_eq(libbpf_load(XDP_TOOLS "xdpdump_xdp.o", &xo), 0);
	fd = bpf_program__fd(bpf_object__find_program_by_name(xo, "xdpdump"));
	obj = open_ok(XDP_TOOLS "xdpdump_bpf.o");
	write_ok(obj, tmp("xdpdump_bpf.o"));
	k2_object_free(obj);
	a = load_xdpdump_tracer(XDP_TOOLS "xdpdump_bpf.o", fd);
	b = load_xdpdump_tracer(tmp("xdpdump_bpf.o"), fd);
	cr_expect_eq(a, b, "original %d, rewritten %d", a, b);
	cr_log_info("xdpdump_bpf.o with attach target: %d", a);
	bpf_object__close(xo);
}

/* Our map index for a libbpf map fd: by name (libbpf prefixes internal maps). */
static int k2_map_of_fd(const struct k2_object *obj, struct bpf_object *lo, int fd)
{
	struct bpf_map *m;

	bpf_object__for_each_map(m, lo) {
		const char *name = bpf_map__name(m);

		if (bpf_map__fd(m) != fd)
			continue;
		for (uint32_t i = 0; i < obj->n_maps; i++) {
			size_t a = strlen(name), b = strlen(obj->maps[i].name);

			if (!strcmp(name, obj->maps[i].name) ||
			    (obj->maps[i].name[0] == '.' && a > b && !strcmp(name + a - b, obj->maps[i].name)))
				return (int)i;
		}
	}
	return -1;
}

static bool is_core(const struct k2_object *obj, const struct k2_prog *p, uint32_t i)
{
	uint32_t at[64], n = k2_prog_core_insns(obj, p, at, 64);

	for (uint32_t k = 0; k < n && k < 64; k++)
		if (at[k] == i)
			return true;
	return false;
}

static void compare_with_libbpf(const char *path)
{
	struct k2_object *obj = open_ok(path);
	struct bpf_object *lo = NULL;
	struct bpf_program *lp;

	cr_assert_eq(libbpf_load(path, &lo), 0, "%s", path);
	bpf_object__for_each_program(lp, lo) {
		const struct k2_prog *p = k2_object_prog(obj, bpf_program__name(lp));
		const struct bpf_insn *li = bpf_program__insns(lp);

		cr_assert_not_null(p, "%s: %s", path, bpf_program__name(lp));
		cr_assert_eq(bpf_program__insn_cnt(lp), p->n_insns, "%s: %s", path, p->name);
		for (uint32_t i = 0; i < p->n_insns; i++) {
			struct bpf_insn k = p->insns[i], l = li[i];

			if (k.code == (BPF_LD | BPF_IMM | BPF_DW) &&
			    (k.src_reg == BPF_PSEUDO_MAP_IDX || k.src_reg == BPF_PSEUDO_MAP_IDX_VALUE)) {
				cr_expect_eq(l.src_reg, k.src_reg == BPF_PSEUDO_MAP_IDX ? BPF_PSEUDO_MAP_FD
											 : BPF_PSEUDO_MAP_VALUE,
					     "%s %s insn %u", path, p->name, i);
				cr_expect_eq(k2_map_of_fd(obj, lo, l.imm), k.imm, "%s %s insn %u map", path,
					     p->name, i);
				cr_expect_eq(li[i + 1].imm, p->insns[i + 1].imm, "%s %s insn %u offset", path,
					     p->name, i);
				i++;
				continue;
			}
			if (is_core(obj, p, i))
				continue;
			cr_expect_eq(memcmp(&k, &l, sizeof(k)), 0, "%s %s insn %u differs from libbpf's",
				     path, p->name, i);
		}
	}
	bpf_object__close(lo);
	k2_object_free(obj);
}

Test(obj_load, linked_programs_match_what_libbpf_loads)
{
	NEED_BPF();
	for (size_t i = 0; i < N_INPUTS; i++) {
		const char *in = input_path(i);

		if (strstr(in, "legacy_sock") || strstr(in, "xdpdump_bpf"))
			continue;
		compare_with_libbpf(in);
	}
}

static uint32_t xlated_len(int prog_fd)
{
	struct bpf_prog_info info = { 0 };
	__u32 n = sizeof(info);

	cr_assert_eq(bpf_obj_get_info_by_fd(prog_fd, &info, &n), 0);
	return info.xlated_prog_len / 8;
}

static uint32_t count_main(const struct k2_prog *p, bool (*is)(const struct bpf_insn *))
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < p->n_main; i++)
		n += is(&p->insns[i]);
	return n;
}

/* Runs an XDP program once on a small packet; the verdict. */
static uint32_t run_xdp(int fd, uint8_t proto_lo)
{
	uint8_t pkt[64] = { [12] = proto_lo, [13] = 0 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = sizeof(pkt), .repeat = 1);

	cr_assert_eq(bpf_prog_test_run_opts(fd, &o), 0, "test run: %s", strerror(errno));
	return o.retval;
}

Test(obj_load, compacted_programs_load_shorter_and_behave_the_same)
{
	struct k2_object *obj, *ref;
	struct bpf_object *a = NULL, *b = NULL;
	struct k2_err e = { 0 };
	uint32_t dead_r9[3];

	NEED_BPF();
	ref = open_ok(obj_data("dead_code.o"));
	obj = open_ok(obj_data("dead_code.o"));
	for (uint32_t p = 0; p < obj->n_progs; p++) {
		dead_r9[p] = count_main(&obj->progs[p], obj_is_dead_r9);
		cr_assert_gt(obj_drop_fillers(obj, &obj->progs[p], &e), 0, "%s", e.msg);
	}
	write_ok(obj, tmp("compact.o"));
	cr_assert_eq(libbpf_load(obj_data("dead_code.o"), &a), 0);
	cr_assert_eq(libbpf_load(tmp("compact.o"), &b), 0, "the compacted object loads");
	for (uint32_t p = 0; p < obj->n_progs; p++) {
		const char *name = obj->progs[p].name;
		int fa = bpf_program__fd(bpf_object__find_program_by_name(a, name));
		int fb = bpf_program__fd(bpf_object__find_program_by_name(b, name));

		/* the verifier drops `goto +0` itself, but keeps the dead stores k2 removed */
		cr_expect_eq(xlated_len(fb), xlated_len(fa) - dead_r9[p], "%s: xlated %u vs %u - %u",
			     name, xlated_len(fb), xlated_len(fa), dead_r9[p]);
		cr_expect_eq(bpf_program__insn_cnt(bpf_object__find_program_by_name(b, name)),
			     ref->progs[p].n_insns - (ref->progs[p].n_main - obj->progs[p].n_main));
		if (obj->progs[p].type == BPF_PROG_TYPE_XDP)
			for (uint8_t proto = 0; proto < 3; proto++)
				cr_expect_eq(run_xdp(fa, proto), run_xdp(fb, proto), "%s", name);
	}
	bpf_object__close(a);
	bpf_object__close(b);
	k2_object_free(obj);
	k2_object_free(ref);
}

Test(obj_load, inserted_instruction_keeps_line_info_valid_for_the_kernel)
{
	struct k2_object *obj = open_ok(obj_data("maps_xdp.o"));
	struct k2_prog *p = k2_object_prog(obj, "xdp_inner");
	struct bpf_insn *out = malloc((p->n_insns + 1) * sizeof(*out));
	int32_t *o2n = malloc(p->n_main * sizeof(*o2n));
	struct bpf_object *a = NULL, *b = NULL;
	struct k2_err e = { 0 };
	int fa, fb;

	NEED_BPF();
	out[0] = (struct bpf_insn){ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0 };
	memcpy(out + 1, p->insns, p->n_insns * sizeof(*out));
	for (uint32_t i = 0; i < p->n_main; i++)
		o2n[i] = (int32_t)i + 1;
	cr_assert_eq(k2_object_set_main(obj, p, out, p->n_insns + 1, o2n, &e), 0, "%s", e.msg);
	write_ok(obj, tmp("ins.o"));
	cr_assert_eq(libbpf_load(obj_data("maps_xdp.o"), &a), 0);
	/* the kernel checks func_info and line_info against the code (BTF is loaded) */
	cr_assert_eq(libbpf_load(tmp("ins.o"), &b), 0);
	fa = bpf_program__fd(bpf_object__find_program_by_name(a, "xdp_inner"));
	fb = bpf_program__fd(bpf_object__find_program_by_name(b, "xdp_inner"));
	cr_expect_eq(xlated_len(fb), xlated_len(fa) + 1);
	bpf_object__close(a);
	bpf_object__close(b);
	free(out);
	free(o2n);
	k2_object_free(obj);
}

/* bpftool prog loadall into a fresh pin directory; its exit status and xlated bytes of one
 * pinned program (0 if none). */
static int bpftool_loadall(const char *obj, const char *prog, uint32_t *xlated)
{
	char dir[128], cmd[512];
	FILE *f;
	int st;

	snprintf(dir, sizeof(dir), "/sys/fs/bpf/k2test_%d", (int)getpid());
	snprintf(cmd, sizeof(cmd), "bpftool prog loadall %s %s >/dev/null 2>&1", obj, dir);
	st = system(cmd);
	*xlated = 0;
	snprintf(cmd, sizeof(cmd), "bpftool prog show pinned %s/%s 2>/dev/null", dir, prog);
	f = popen(cmd, "r");
	if (f) {
		char line[512];

		while (fgets(line, sizeof(line), f))
			if (strstr(line, "xlated "))
				sscanf(strstr(line, "xlated ") + 7, "%uB", xlated);
		pclose(f);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_expect_eq(system(cmd), 0);
	return st;
}

/* Pins that bpftool's by-name pinning (LIBBPF_PIN_BY_NAME maps) created in /sys/fs/bpf. */
static void unpin_new(const struct k2_object *obj, const bool *had)
{
	char path[128];

	for (uint32_t m = 0; m < obj->n_maps && m < 64; m++)
		if (obj->maps[m].pinning && !had[m]) {
			snprintf(path, sizeof(path), "/sys/fs/bpf/%s", obj->maps[m].name);
			unlink(path);
		}
}

static void pinned_before(const struct k2_object *obj, bool *had)
{
	char path[128];

	for (uint32_t m = 0; m < obj->n_maps && m < 64; m++) {
		snprintf(path, sizeof(path), "/sys/fs/bpf/%s", obj->maps[m].name);
		had[m] = access(path, F_OK) == 0;
	}
}

Test(obj_load, bpftool_loadall_treats_every_rewritten_object_as_the_original)
{
	NEED_BPF();
	for (size_t i = 0; i < N_INPUTS; i++) {
		const char *in = input_path(i);
		struct k2_object *obj = open_ok(in);
		bool had[64];
		uint32_t xa, xb;
		int a, b;

		write_ok(obj, tmp("rw.o"));
		pinned_before(obj, had);
		a = bpftool_loadall(in, "none", &xa);
		b = bpftool_loadall(tmp("rw.o"), "none", &xb);
		unpin_new(obj, had);
		cr_expect_eq(a, b, "%s: bpftool prog loadall: original %d, rewritten %d", in, a, b);
		k2_object_free(obj);
	}
}

Test(obj_load, bpftool_loadall_accepts_rewritten_and_compacted_objects)
{
	struct k2_object *obj;
	struct k2_err e = { 0 };
	uint32_t xa, xb, dead;

	NEED_BPF();
	need_bpffs();
	obj = open_ok(obj_data("maps_xdp.o"));
	write_ok(obj, tmp("same.o"));
	k2_object_free(obj);
	cr_expect_eq(bpftool_loadall(obj_data("maps_xdp.o"), "xdp_count", &xa), 0);
	cr_expect_eq(bpftool_loadall(tmp("same.o"), "xdp_count", &xb), 0);
	cr_expect_gt(xa, 0);
	cr_expect_eq(xa, xb);
	obj = open_ok(obj_data("dead_code.o"));
	dead = count_main(k2_object_prog(obj, "xdp_first"), obj_is_dead_r9);
	cr_assert_gt(obj_drop_fillers(obj, k2_object_prog(obj, "xdp_first"), &e), 0, "%s", e.msg);
	write_ok(obj, tmp("short.o"));
	k2_object_free(obj);
	cr_expect_eq(bpftool_loadall(obj_data("dead_code.o"), "xdp_first", &xa), 0);
	cr_expect_eq(bpftool_loadall(tmp("short.o"), "xdp_first", &xb), 0);
	cr_expect_eq(xb, xa - dead * 8, "xlated %u bytes, was %u", xb, xa);
}

/*
 * The k2 form is self-contained: maps created from k2_map, instructions loaded as they are
 * with fd_array (BPF_PSEUDO_MAP_IDX), no libbpf object involved.
 */
struct raw_load {
	int map_fd[32];
	int prog_fd;
};

static void raw_load(const struct k2_object *obj, const struct k2_prog *p, struct raw_load *r)
{
	static char log[1 << 20];
	LIBBPF_OPTS(bpf_prog_load_opts, po, .fd_array = r->map_fd,
		    .expected_attach_type = p->attach_type, .kern_version = obj->kern_version,
		    .prog_flags = p->prog_flags);

	cr_assert_leq(obj->n_maps, 32);
	for (int pass = 0; pass < 2; pass++)
		for (uint32_t i = 0; i < obj->n_maps; i++) {
			const struct k2_map *m = &obj->maps[i];
			LIBBPF_OPTS(bpf_map_create_opts, mo, .map_flags = m->flags,
				    .numa_node = m->numa_node, .map_extra = m->map_extra);
			char name[16];
			uint32_t zero = 0;

			if (m->template != (pass == 0))
				continue;
			if (m->inner >= 0)
				mo.inner_map_fd = (uint32_t)r->map_fd[m->inner];
			snprintf(name, sizeof(name), "%.15s", m->name);
			r->map_fd[i] = bpf_map_create(m->type, name, m->key_size, m->value_size,
						      m->max_entries, &mo);
			cr_assert_geq(r->map_fd[i], 0, "map %s: %s", m->name, strerror(errno));
			if (m->init)
				cr_assert_eq(bpf_map_update_elem(r->map_fd[i], &zero, m->init, 0), 0);
			if (m->readonly)
				cr_assert_eq(bpf_map_freeze(r->map_fd[i]), 0);
		}
	r->prog_fd = bpf_prog_load(p->type, p->name, p->license, p->insns, p->n_insns, &po);
	if (r->prog_fd < 0) { /* again, for the verifier's reason */
		log[0] = '\0';
		po.log_buf = log;
		po.log_size = sizeof(log);
		po.log_level = 1;
		r->prog_fd = bpf_prog_load(p->type, p->name, p->license, p->insns, p->n_insns, &po);
	}
	cr_assert_geq(r->prog_fd, 0, "%s: %s\n%s", p->name, strerror(errno), log);
}

static void raw_close(const struct k2_object *obj, struct raw_load *r)
{
	for (uint32_t i = 0; i < obj->n_maps; i++)
		close(r->map_fd[i]);
	close(r->prog_fd);
}

Test(obj_load, k2_programs_load_on_their_own_with_fd_array)
{
	struct k2_object *obj = open_ok(obj_data("maps_xdp.o"));
	struct raw_load r;
	uint32_t zero = 0, hits, misses;
	uint64_t seen;

	NEED_BPF();
	raw_load(obj, k2_object_prog(obj, "xdp_count"), &r);
	/* proto 17 is drop_proto (.rodata): classify() drops it */
	cr_expect_eq(run_xdp(r.prog_fd, 17), XDP_DROP);
	cr_expect_eq(run_xdp(r.prog_fd, 6), XDP_PASS);
	/* .bss: misses at 0, hits at 4; .data: seen = 5 + magic[1] per packet */
	{
		uint8_t bss[8], data[8];

		cr_assert_eq(bpf_map_lookup_elem(r.map_fd[7], &zero, bss), 0);
		cr_assert_eq(bpf_map_lookup_elem(r.map_fd[6], &zero, data), 0);
		memcpy(&misses, bss, 4);
		memcpy(&hits, bss + 4, 4);
		memcpy(&seen, data, 8);
	}
	cr_expect_eq(hits, 2);
	cr_expect_eq(misses, 0);
	cr_expect_eq(seen, 5 + 2 * 2);
	raw_close(obj, &r);
	raw_load(obj, k2_object_prog(obj, "xdp_inner"), &r); /* map in map */
	cr_expect_eq(run_xdp(r.prog_fd, 0), XDP_ABORTED, "outer slot 0 is empty");
	raw_close(obj, &r);
	k2_object_free(obj);
}

Test(obj_load, legacy_maps_load_without_libbpf)
{
	struct k2_object *obj = open_ok(obj_data("legacy_sock.o"));
	struct raw_load r;
	uint8_t pkt[64] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = sizeof(pkt), .repeat = 1);
	uint32_t zero = 0, len = 0, n = 0;
	uint64_t count = 0;

	NEED_BPF();
	raw_load(obj, k2_object_prog(obj, "sock_count"), &r);
	cr_assert_eq(bpf_prog_test_run_opts(r.prog_fd, &o), 0, "%s", strerror(errno));
	cr_assert_eq(bpf_prog_test_run_opts(r.prog_fd, &o), 0, "%s", strerror(errno));
	cr_expect_eq(bpf_map_lookup_elem(r.map_fd[0], &zero, &count), 0);
	cr_expect_eq(count, 2, "pkt_count[0] counted both runs");
	/* one length (the skb without its Ethernet header), seen twice */
	cr_expect_eq(bpf_map_get_next_key(r.map_fd[1], NULL, &len), 0);
	cr_expect(len == sizeof(pkt) || len == sizeof(pkt) - 14, "length %u", len);
	cr_expect_eq(bpf_map_lookup_elem(r.map_fd[1], &len, &n), 0);
	cr_expect_eq(n, 2);
	cr_expect_neq(bpf_map_get_next_key(r.map_fd[1], &len, &len), 0, "only one length");
	raw_close(obj, &r);
	k2_object_free(obj);
}

Test(obj_load, compacted_k2_program_loads_on_its_own)
{
	struct k2_object *obj = open_ok(obj_data("dead_code.o"));
	struct k2_prog *p = k2_object_prog(obj, "xdp_first");
	struct k2_err e = { 0 };
	struct raw_load r;

	NEED_BPF();
	cr_assert_gt(obj_drop_fillers(obj, p, &e), 0, "%s", e.msg);
	raw_load(obj, p, &r);
	cr_expect_eq(run_xdp(r.prog_fd, 0), XDP_PASS);
	raw_close(obj, &r);
	k2_object_free(obj);
}
