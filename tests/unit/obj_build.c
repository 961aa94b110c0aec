/* tests/unit/obj_build.c: new objects from the k2 form, and the k2 asm / k2 disasm commands. */
#include <bpf/libbpf.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdarg.h>
#include <unistd.h>

#include "bpf/obj_internal.h"
#include "tests/unit/obj_util.h"

static char tmpdir[64];

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
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/k2-objb-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	cr_expect_eq(system(cmd), 0);
}

TestSuite(obj_build, .init = setup, .fini = teardown);

static const char *tmp(const char *name)
{
	static __thread char p[4][160];
	static __thread int k;

	k = (k + 1) % 4;
	snprintf(p[k], sizeof(p[k]), "%s/%s", tmpdir, name);
	return p[k];
}

static struct k2_object *open_ok(const char *path)
{
	struct k2_object *obj = NULL;
	struct k2_err e = { 0 };

	cr_assert_eq(k2_object_open(path, &obj, &e), 0, "%s: %s", path, e.msg);
	return obj;
}

static void expect_same_progs(const struct k2_object *a, const struct k2_object *b, const char *w)
{
	cr_assert_eq(a->n_progs, b->n_progs, "%s", w);
	cr_assert_eq(a->n_maps, b->n_maps, "%s", w);
	for (uint32_t i = 0; i < a->n_progs; i++) {
		cr_expect_str_eq(a->progs[i].name, b->progs[i].name);
		cr_expect_str_eq(a->progs[i].sec, b->progs[i].sec);
		cr_expect_eq(a->progs[i].n_main, b->progs[i].n_main, "%s %s", w, a->progs[i].name);
		cr_assert_eq(a->progs[i].n_insns, b->progs[i].n_insns, "%s %s", w, a->progs[i].name);
		cr_expect_eq(memcmp(a->progs[i].insns, b->progs[i].insns,
				    a->progs[i].n_insns * sizeof(struct bpf_insn)), 0, "%s %s", w,
			     a->progs[i].name);
	}
	for (uint32_t i = 0; i < a->n_maps; i++) {
		const struct k2_map *x = &a->maps[i], *y = &b->maps[i];

		cr_expect_str_eq(x->name, y->name);
		cr_expect(x->type == y->type && x->key_size == y->key_size &&
				  x->value_size == y->value_size && x->max_entries == y->max_entries &&
				  x->inner == y->inner && x->template == y->template,
			  "%s map %s", w, x->name);
		cr_expect(!x->init == !y->init && (!x->init || !memcmp(x->init, y->init, x->value_size)),
			  "%s map %s initial value", w, x->name);
	}
}

/* The build description of an object as read: subprogram names from its symbols. */
static int build_from(const struct k2_object *obj, void **buf, size_t *len, struct k2_err *e)
{
	struct k2_build_prog bp[16];
	const char *names[16][16];
	uint32_t at[16][16];

	cr_assert_leq(obj->n_progs, 16);
	for (uint32_t p = 0; p < obj->n_progs; p++) {
		const struct k2_pinfo *pi = &obj->elf->pinfo[p];

		cr_assert_leq(pi->n_subs, 16);
		for (uint32_t k = 0; k < pi->n_subs; k++) {
			names[p][k] = obj->elf->syms[obj->elf->funcs[pi->subs[k].func].sym].name;
			at[p][k] = pi->subs[k].at;
		}
		bp[p] = (struct k2_build_prog){ obj->progs[p].name, obj->progs[p].sec,
						obj->progs[p].insns, obj->progs[p].n_insns,
						pi->n_subs, names[p], at[p] };
	}
	return k2_object_build(obj->maps, obj->n_maps, bp, obj->n_progs, obj->license,
			       obj->kern_version, buf, len, e);
}

static const char *const inputs[] = {
	"maps_xdp.o", "calls_tc.o", "legacy_sock.o", "types_trace.o", "dead_code.o",
	XDP_TOOLS "xdp-dispatcher.o", XDP_TOOLS "xdpdump_bpf.o", XDP_TOOLS "xdpfilt_alw_all.o",
	XDP_TOOLS "xdpfilt_dny_ip.o", XDP_TOOLS "xsk_def_xdp_prog.o",
};

static const char *input(size_t i)
{
	return inputs[i][0] == '/' ? inputs[i] : obj_data(inputs[i]);
}

Test(obj_build, objects_rebuilt_from_the_k2_form_read_back_the_same)
{
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		struct k2_object *a = open_ok(input(i)), *b = NULL;
		struct k2_err e = { 0 };
		struct bpf_object *lo;
		void *buf;
		size_t len;
		FILE *f;

		cr_assert_eq(build_from(a, &buf, &len, &e), 0, "%s: %s", input(i), e.msg);
		cr_assert_eq(k2_object_open_mem(buf, len, "built.o", &b, &e), 0, "%s", e.msg);
		expect_same_progs(a, b, input(i));
		/* libbpf reads it too (legacy maps became BTF-defined ones) */
		f = fopen(tmp("built.o"), "wb");
		cr_assert_eq(fwrite(buf, 1, len, f), len);
		fclose(f);
		lo = bpf_object__open_file(tmp("built.o"), NULL);
		cr_expect_not_null(lo, "%s: libbpf cannot open the rebuilt object", input(i));
		bpf_object__close(lo);
		free(buf);
		k2_object_free(a);
		k2_object_free(b);
	}
}

static const struct bpf_insn ret0[] = {
	{ .code = BPF_ALU64 | BPF_MOV | BPF_K },
	{ .code = BPF_JMP | BPF_EXIT },
};

static int build_one(const struct k2_map *maps, uint32_t n_maps, const struct bpf_insn *insns,
		     uint32_t n, const char *name, const char *sec, struct k2_object **out,
		     struct k2_err *e)
{
	struct k2_build_prog p = { name, sec, insns, n, 0, NULL, NULL };
	void *buf;
	size_t len;
	int err = k2_object_build(maps, n_maps, &p, 1, NULL, 0, &buf, &len, e);

	if (!err) {
		err = k2_object_open_mem(buf, len, "one.o", out, e);
		free(buf);
	}
	return err;
}

Test(obj_build, maps_are_renumbered_in_the_readers_order)
{
	static const uint8_t init[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct k2_map maps[2] = {
		{ .name = ".data", .type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8,
		  .max_entries = 1, .inner = -1, .internal = true, .init = init },
		{ .name = "h", .type = BPF_MAP_TYPE_HASH, .key_size = 4, .value_size = 4,
		  .max_entries = 8, .inner = -1 },
	};
	struct bpf_insn insns[] = {
		{ .code = BPF_LD | BPF_IMM | BPF_DW, .dst_reg = 1, .src_reg = BPF_PSEUDO_MAP_IDX, .imm = 1 },
		{ 0 },
		{ .code = BPF_LD | BPF_IMM | BPF_DW, .dst_reg = 2, .src_reg = BPF_PSEUDO_MAP_IDX_VALUE },
		{ .imm = 4 },
		ret0[0], ret0[1],
	};
	struct k2_object *obj = NULL;
	struct k2_err e = { 0 };

	cr_assert_eq(build_one(maps, 2, insns, 6, "p", "xdp", &obj, &e), 0, "%s", e.msg);
	cr_expect_str_eq(obj->maps[0].name, "h");
	cr_expect_str_eq(obj->maps[1].name, ".data");
	cr_expect_eq(obj->maps[1].init[7], 8);
	cr_expect_eq(obj->progs[0].insns[0].imm, 0, "h is map 0 now");
	cr_expect_eq(obj->progs[0].insns[2].imm, 1, ".data is map 1 now");
	cr_expect_eq(obj->progs[0].insns[3].imm, 4, "the offset stays");
	cr_expect_eq(obj->progs[0].type, BPF_PROG_TYPE_XDP);
	k2_object_free(obj);
}

Test(obj_build, refusals_name_what_is_wrong)
{
	struct k2_map bad_name = { .name = "a-b", .type = BPF_MAP_TYPE_HASH, .key_size = 4,
				   .value_size = 4, .max_entries = 1, .inner = -1 };
	struct k2_map bad_data = { .name = ".text", .type = BPF_MAP_TYPE_ARRAY, .key_size = 4,
				   .value_size = 4, .max_entries = 1, .inner = -1, .internal = true };
	struct k2_map outer = { .name = "o", .type = BPF_MAP_TYPE_ARRAY_OF_MAPS, .key_size = 4,
				.value_size = 4, .max_entries = 1, .inner = 0 };
	struct bpf_insn fd[] = {
		{ .code = BPF_LD | BPF_IMM | BPF_DW, .dst_reg = 1, .src_reg = BPF_PSEUDO_MAP_FD, .imm = 3 },
		{ 0 }, ret0[0], ret0[1],
	};
	struct bpf_insn into_main[] = {
		{ .code = BPF_JMP | BPF_CALL, .src_reg = BPF_PSEUDO_CALL, .imm = -1 }, ret0[0], ret0[1],
	};
	struct k2_object *obj = NULL;
	struct k2_err e = { 0 };

	cr_expect_lt(build_one(&bad_name, 1, ret0, 2, "p", "xdp", &obj, &e), 0);
	cr_expect(strstr(e.msg, "map a-b: the name is not a C identifier"), "%s", e.msg);
	cr_expect_lt(build_one(&bad_data, 1, ret0, 2, "p", "xdp", &obj, &e), 0);
	cr_expect(strstr(e.msg, "data sections are named"), "%s", e.msg);
	outer.inner = 0;
	cr_expect_lt(build_one(&outer, 1, ret0, 2, "p", "xdp", &obj, &e), 0);
	cr_expect(strstr(e.msg, "inner map is not a template"), "%s", e.msg);
	cr_expect_lt(build_one(NULL, 0, ret0, 2, "p.q", "xdp", &obj, &e), 0);
	cr_expect(strstr(e.msg, "program p.q: the name is not a C identifier"), "%s", e.msg);
	cr_expect_lt(build_one(NULL, 0, ret0, 2, "p", ".text", &obj, &e), 0);
	cr_expect(strstr(e.msg, ".text is not a program section"), "%s", e.msg);
	cr_expect_lt(build_one(NULL, 0, fd, 4, "p", "xdp", &obj, &e), 0);
	cr_expect(strstr(e.msg, "program p: insn 0: cannot be expressed in an object file"), "%s",
		  e.msg);
	cr_expect_lt(build_one(NULL, 0, into_main, 3, "p", "xdp", &obj, &e), 0);
	cr_expect(strstr(e.msg, "insn 0: call target is not the start of a subprogram"), "%s",
		  e.msg);
	cr_expect_lt(build_one(NULL, 0, ret0, 1, "p", "xdp", &obj, &e), 0);
	cr_expect(strstr(e.msg, "program p: insn 0: control falls off the end"), "%s", e.msg);
	cr_expect_null(obj);
}

Test(obj_build, shared_subprograms_must_agree)
{
	/* two programs calling "f" at their end; the second's f differs */
	struct bpf_insn a[] = {
		{ .code = BPF_JMP | BPF_CALL, .src_reg = BPF_PSEUDO_CALL, .imm = 1 }, ret0[1],
		ret0[0], ret0[1],
	};
	struct bpf_insn b[] = {
		{ .code = BPF_JMP | BPF_CALL, .src_reg = BPF_PSEUDO_CALL, .imm = 1 }, ret0[1],
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .imm = 1 }, ret0[1],
	};
	const char *names[] = { "f" };
	uint32_t at[] = { 2 };
	struct k2_build_prog p[2] = {
		{ "pa", "xdp", a, 4, 1, names, at },
		{ "pb", "tc", a, 4, 1, names, at },
	};
	struct k2_object *obj = NULL;
	struct k2_err e = { 0 };
	void *buf;
	size_t len;

	cr_assert_eq(k2_object_build(NULL, 0, p, 2, NULL, 0, &buf, &len, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_object_open_mem(buf, len, "shared.o", &obj, &e), 0, "%s", e.msg);
	cr_expect_eq(obj->progs[1].n_insns, 4, "f is linked into both");
	cr_expect_eq(obj->elf->secs[obj->elf->text].size, 16, "one copy of f in .text");
	k2_object_free(obj);
	free(buf);
	p[1].insns = b;
	cr_expect_lt(k2_object_build(NULL, 0, p, 2, NULL, 0, &buf, &len, &e), 0);
	cr_expect(strstr(e.msg, "program pb: subprogram f differs from an earlier one"), "%s", e.msg);
}

/* Runs `k2 asm` on `src` with extra arguments; its exit status; stderr in err[]. */
static int run_asm(const char *src, const char *out, char *err, size_t n, ...)
{
	const char *argv[16] = { "asm", tmp("in.s"), "-o", out };
	int argc = 4, fd, saved, st;
	FILE *f = fopen(tmp("in.s"), "w");
	va_list ap;
	ssize_t got;

	fputs(src, f);
	fclose(f);
	va_start(ap, n);
	for (const char *a; (a = va_arg(ap, const char *));)
		argv[argc++] = a;
	va_end(ap);
	fflush(stderr);
	saved = dup(2);
	fd = open(tmp("err.txt"), O_CREAT | O_TRUNC | O_RDWR, 0600);
	dup2(fd, 2);
	st = k2_cmd_asm(argc, (char **)argv);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	got = pread(fd, err, n - 1, 0);
	err[got > 0 ? got : 0] = '\0';
	close(fd);
	return st;
}

/* `k2 disasm FILE` into a file. */
static void run_disasm(const char *obj, const char *out)
{
	const char *argv[] = { "disasm", obj };
	int fd = open(out, O_CREAT | O_TRUNC | O_WRONLY, 0600), saved;

	fflush(stdout);
	saved = dup(1);
	dup2(fd, 1);
	cr_expect_eq(k2_cmd_disasm(2, (char **)argv), 0, "k2 disasm %s", obj);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	close(fd);
}

Test(obj_build, disasm_then_asm_gives_back_the_programs)
{
	char err[1024];

	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		struct k2_object *a = open_ok(input(i)), *b;
		size_t len;
		char *text;

		run_disasm(input(i), tmp("d.s"));
		text = obj_read_file(tmp("d.s"), &len);
		cr_assert_not_null(text);
		text = realloc(text, len + 1);
		text[len] = '\0';
		cr_assert_eq(run_asm(text, tmp("d.o"), err, sizeof(err), NULL), 0, "%s: %s", input(i),
			     err);
		b = open_ok(tmp("d.o"));
		expect_same_progs(a, b, input(i));
		free(text);
		k2_object_free(a);
		k2_object_free(b);
	}
}

Test(obj_build, asm_directives)
{
	static const char src[] =
		"; maps of every kind\n"
		".license \"Dual BSD/GPL\"\n"
		".version 0x60100\n"
		".map slots array_of_maps key=4 value=4 max=4 inner=slot\n"
		".map slot array key=4 value=8 max=16 template\n"
		".map seen lru_hash key_size=8 value_size=4 max_entries=64 flags=0x2 pin\n"
		".data .rodata.cfg init=0a0b size=8\n"
		".data .bss size=16\n"
		".section tc\n"
		".prog count\n"
		".Lstart:\n" /* a label, not a directive */
		"	r1 = map[.rodata.cfg][0]+1 ll\n"
		"	r0 = *(u8 *)(r1 + 0)\n"
		"	r2 = map[.bss][0]+8 ll\n"
		"	*(u64 *)(r2 + 0) = r0\n"
		"	r1 = map[seen] ll\n"
		"	r1 = map[slots] ll\n"
		"	r2 = func[cb] ll\n"
		"	call helper\n"
		"	exit\n"
		".subprog helper\n"
		"	r0 = 0 ; comment\n"
		"	exit\n"
		".subprog cb\n"
		"	r0 = 1\n"
		"	exit\n";
	struct k2_object *obj;
	const struct k2_prog *p;
	char err[1024];

	cr_assert_eq(run_asm(src, tmp("dir.o"), err, sizeof(err), NULL), 0, "%s", err);
	obj = open_ok(tmp("dir.o"));
	cr_expect_str_eq(obj->license, "Dual BSD/GPL");
	cr_expect_eq(obj->kern_version, 0x60100);
	cr_assert_eq(obj->n_maps, 5);
	cr_expect_str_eq(obj->maps[0].name, "slots");
	cr_expect_eq(obj->maps[0].inner, 4);
	cr_expect_str_eq(obj->maps[1].name, "seen");
	cr_expect_eq(obj->maps[1].key_size, 8);
	cr_expect_eq(obj->maps[1].flags, 2);
	cr_expect_eq(obj->maps[1].pinning, 1);
	cr_expect_str_eq(obj->maps[2].name, ".rodata.cfg");
	cr_expect(obj->maps[2].readonly);
	cr_expect_eq(obj->maps[2].value_size, 8);
	cr_expect_eq(obj->maps[2].init[1], 0x0b);
	cr_expect_eq(obj->maps[2].init[7], 0);
	cr_expect_str_eq(obj->maps[3].name, ".bss");
	cr_expect_null(obj->maps[3].init);
	cr_expect(obj->maps[4].template);
	cr_expect_eq(obj->maps[4].max_entries, 16);
	p = k2_object_prog(obj, "count");
	cr_assert_not_null(p);
	cr_expect_eq(p->type, BPF_PROG_TYPE_SCHED_CLS);
	cr_expect_eq(p->n_main, 14);
	cr_expect_eq(p->n_insns, 18);
	cr_expect_eq(p->insns[0].imm, 2);
	cr_expect_eq(p->insns[1].imm, 1, ".rodata.cfg + 1");
	cr_expect_eq(p->insns[3].imm, 3);
	cr_expect_eq(p->insns[4].imm, 8, ".bss + 8");
	/* linked depth first: the callback is met first */
	cr_expect_eq(k2_insn_op(&p->insns[10]), K2_OP_LDDW_FUNC);
	cr_expect_eq(10 + 1 + p->insns[10].imm, 14, "the callback cb");
	cr_expect_eq(12 + 1 + p->insns[12].imm, 16, "call helper");
	cr_expect_str_eq(obj->maps[4].name, "slots.inner", "templates are named after their map");
	k2_object_free(obj);
}

Test(obj_build, asm_plain_listing_with_type_and_inferred_subprograms)
{
	static const char src[] =
		"       0:	85 10 00 00 02 00 00 00	call pc+2\n"
		"       1:	b7 00 00 00 02 00 00 00	r0 = 2\n"
		"       2:	95 00 00 00 00 00 00 00	exit\n"
		"       3:	b7 00 00 00 00 00 00 00	r0 = 0\n"
		"       4:	95 00 00 00 00 00 00 00	exit\n";
	struct k2_object *obj;
	char err[1024];

	cr_assert_eq(run_asm(src, tmp("plain.o"), err, sizeof(err), "--type", "xdp", "--name",
			     "entry", NULL), 0, "%s", err);
	obj = open_ok(tmp("plain.o"));
	cr_expect_str_eq(obj->progs[0].name, "entry");
	cr_expect_str_eq(obj->progs[0].sec, "xdp");
	cr_expect_eq(obj->progs[0].n_main, 3);
	cr_expect_eq(obj->progs[0].n_insns, 5);
	k2_object_free(obj);
	cr_assert_eq(run_asm(src, tmp("plain2.o"), err, sizeof(err), "--type", "sched_cls", NULL), 0,
		     "%s", err);
	obj = open_ok(tmp("plain2.o"));
	cr_expect_str_eq(obj->progs[0].sec, "tc");
	cr_expect_str_eq(obj->progs[0].name, "prog");
	k2_object_free(obj);
}

Test(obj_build, asm_errors_name_file_and_line)
{
	static const struct {
		const char *src, *type, *want;
	} t[] = {
		{ ".prog p\n r1 = map[nope] ll\n exit\n", "xdp", "in.s:2: unknown map nope" },
		{ ".prog p\n r0 = 1\n r11 = 2\n exit\n", "xdp", "in.s:3: column" },
		{ ".prog p\n r0 = 1\n goto nowhere\n exit\n", "xdp", "in.s:3: " },
		{ ".map m hash key=4 value=4 max=1 color=red\n", "xdp", "in.s:1: unknown map option 'color'" },
		{ ".map m nosuchtype key=4\n", "xdp", "in.s:1: unknown map type nosuchtype" },
		{ ".subprog s\n", "xdp", "in.s:1: .subprog outside a program" },
		{ ".data .bss init=00\n", "xdp", "in.s:1: .bss has no initial bytes" },
		{ ".data .data init=0g\n", "xdp", "in.s:1: bad hex digits" },
		{ "r0 = 0\nexit\n", NULL, "in.s:1: instructions before any .section or .prog" },
		{ ".section kprobe/x\n.prog p\nr0 = 0\nexit\n", "xdp",
		  "program p: section kprobe/x gives type kprobe, not --type xdp" },
		{ "; nothing\n", "xdp", "no programs" },
		{ ".prog p\nr0 = 0\n", "xdp", "program p: insn 0: control falls off the end" },
		{ ".map a-b hash key=4 value=4 max=1\n", "xdp", "map name a-b is not" },
	};
	char err[1024];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int st = t[i].type ? run_asm(t[i].src, tmp("e.o"), err, sizeof(err), "--type",
					     t[i].type, NULL)
				   : run_asm(t[i].src, tmp("e.o"), err, sizeof(err), NULL);

		cr_expect_neq(st, 0, "case %zu accepted", i);
		cr_expect(strstr(err, t[i].want), "case %zu: \"%s\" lacks \"%s\"", i, err, t[i].want);
		cr_expect_eq(access(tmp("e.o"), F_OK), -1, "case %zu: nothing written", i);
	}
}
