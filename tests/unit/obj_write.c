/* tests/unit/obj_write.c: writing objects back: same bytecode, replaced programs, BTF.ext. */
#include <bpf/libbpf.h>
#include <criterion/criterion.h>
#include <unistd.h>

#include "bpf/obj_internal.h"
#include "tests/unit/obj_util.h"

static char tmpdir[64];

static void make_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/k2-objw-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void rm_tmpdir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	cr_expect_eq(system(cmd), 0);
}

TestSuite(obj_write, .init = make_tmpdir, .fini = rm_tmpdir);

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

/* Every executable section and its relocations are byte-identical in two images. */
static void expect_same_code(void *a, void *b, const char *what)
{
	Elf64_Ehdr *eh = a;
	Elf64_Shdr *sh = (Elf64_Shdr *)((char *)a + eh->e_shoff);
	const char *names = (const char *)a + sh[eh->e_shstrndx].sh_offset;

	for (uint32_t i = 1; i < eh->e_shnum; i++) {
		const char *name = names + sh[i].sh_name;
		bool code = sh[i].sh_flags & SHF_EXECINSTR;
		bool rel = sh[i].sh_type == SHT_REL &&
			   (sh[sh[i].sh_info].sh_flags & SHF_EXECINSTR);
		uint64_t nb = 0;
		void *db;

		if (!code && !rel)
			continue;
		db = obj_sec_data(b, name, &nb);
		cr_assert_not_null(db, "%s: %s missing", what, name);
		cr_expect_eq(nb, sh[i].sh_size, "%s: %s size", what, name);
		cr_expect_eq(memcmp((char *)a + sh[i].sh_offset, db, nb), 0, "%s: %s differs", what,
			     name);
	}
}

static void expect_same_progs(const struct k2_object *a, const struct k2_object *b)
{
	cr_assert_eq(a->n_progs, b->n_progs);
	cr_assert_eq(a->n_maps, b->n_maps);
	for (uint32_t i = 0; i < a->n_progs; i++) {
		cr_expect_str_eq(a->progs[i].name, b->progs[i].name);
		cr_expect_eq(a->progs[i].n_main, b->progs[i].n_main, "%s", a->progs[i].name);
		cr_assert_eq(a->progs[i].n_insns, b->progs[i].n_insns, "%s", a->progs[i].name);
		cr_expect_eq(memcmp(a->progs[i].insns, b->progs[i].insns,
				    a->progs[i].n_insns * sizeof(struct bpf_insn)), 0, "%s",
			     a->progs[i].name);
	}
	for (uint32_t i = 0; i < a->n_maps; i++) {
		cr_expect_str_eq(a->maps[i].name, b->maps[i].name);
		cr_expect_eq(a->maps[i].type, b->maps[i].type);
		cr_expect_eq(a->maps[i].value_size, b->maps[i].value_size);
		if (a->maps[i].init)
			cr_expect_eq(memcmp(a->maps[i].init, b->maps[i].init, a->maps[i].value_size), 0);
	}
}

static const char *const data_files[] = { "maps_xdp.o", "calls_tc.o", "legacy_sock.o",
					   "types_trace.o", "dead_code.o" };
static const char *const tool_files[] = {
	"xdp-dispatcher.o",  "xdpdump_bpf.o",     "xdpdump_xdp.o",     "xdpfilt_alw_all.o",
	"xdpfilt_alw_eth.o", "xdpfilt_alw_ip.o",  "xdpfilt_alw_tcp.o", "xdpfilt_alw_udp.o",
	"xdpfilt_dny_all.o", "xdpfilt_dny_eth.o", "xdpfilt_dny_ip.o",  "xdpfilt_dny_tcp.o",
	"xdpfilt_dny_udp.o", "xsk_def_xdp_prog.o", "xsk_def_xdp_prog_5.3.o",
};

static void roundtrip_unchanged(const char *path)
{
	struct k2_object *a = open_ok(path), *b;
	struct k2_err e = { 0 };
	size_t na = 0, nb = 0, nm = 0;
	void *ia, *ib, *mem;

	write_ok(a, tmp("rt.o"));
	b = open_ok(tmp("rt.o"));
	expect_same_progs(a, b);
	ia = obj_read_file(path, &na);
	ib = obj_read_file(tmp("rt.o"), &nb);
	expect_same_code(ia, ib, path);
	cr_assert_eq(k2_object_write_mem(a, &mem, &nm, &e), 0, "%s", e.msg);
	cr_expect_eq(nm, nb);
	cr_expect_eq(memcmp(mem, ib, nb), 0, "%s: memory and file writes agree", path);
	/* nothing changed: DWARF and BTF.ext stay byte for byte */
	for (const char *const *s = (const char *const[]){ ".BTF", ".BTF.ext", ".debug_info", NULL };
	     *s; s++) {
		uint64_t x = 0, y = 0;
		void *dx = obj_sec_data(ia, *s, &x), *dy = obj_sec_data(ib, *s, &y);

		cr_expect((!dx && !dy) || (dx && dy && x == y && !memcmp(dx, dy, x)), "%s %s", path, *s);
	}
	free(mem);
	free(ia);
	free(ib);
	k2_object_free(a);
	k2_object_free(b);
}

Test(obj_write, unchanged_objects_keep_their_bytecode)
{
	char path[256];

	for (size_t i = 0; i < sizeof(data_files) / sizeof(data_files[0]); i++)
		roundtrip_unchanged(obj_data(data_files[i]));
	for (size_t i = 0; i < sizeof(tool_files) / sizeof(tool_files[0]); i++) {
		snprintf(path, sizeof(path), XDP_TOOLS "%s", tool_files[i]);
		roundtrip_unchanged(path);
	}
}

/* Replaces every program's main with itself: the raw encoding and relocations come back. */
Test(obj_write, identity_replacement_reproduces_the_code)
{
	static const char *const files[] = { "maps_xdp.o", "calls_tc.o", "types_trace.o",
					     "legacy_sock.o" };

	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		struct k2_object *a = open_ok(obj_data(files[f])), *b;
		size_t na = 0, nb = 0;
		void *ia, *ib;

		for (uint32_t p = 0; p < a->n_progs; p++) {
			struct k2_prog *pr = &a->progs[p];
			int32_t *id = malloc(pr->n_main * sizeof(*id));
			struct bpf_insn *copy = malloc(pr->n_insns * sizeof(*copy));
			struct k2_err e = { 0 };

			for (uint32_t i = 0; i < pr->n_main; i++)
				id[i] = (int32_t)i;
			memcpy(copy, pr->insns, pr->n_insns * sizeof(*copy));
			cr_assert_eq(k2_object_set_main(a, pr, copy, pr->n_insns, id, &e), 0, "%s",
				     e.msg);
			free(id);
			free(copy);
		}
		write_ok(a, tmp("id.o"));
		b = open_ok(tmp("id.o"));
		expect_same_progs(a, b);
		ia = obj_read_file(obj_data(files[f]), &na);
		ib = obj_read_file(tmp("id.o"), &nb);
		expect_same_code(ia, ib, files[f]);
		{
			uint64_t x = 0, y = 0;
			void *dx = obj_sec_data(ia, ".BTF.ext", &x), *dy = obj_sec_data(ib, ".BTF.ext", &y);

			cr_expect(x == y && !memcmp(dx, dy, x), "%s: BTF.ext rebuilt identically", files[f]);
			obj_sec_data(ib, ".debug_info", &y);
			cr_expect_eq(y, 0, "%s: DWARF emptied once code is rewritten", files[f]);
		}
		free(ia);
		free(ib);
		k2_object_free(a);
		k2_object_free(b);
	}
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* The .BTF.ext records of one section, by kind (0 func, 1 line, 2 core): insn offsets. */
static uint32_t ext_offsets(const struct k2_object *obj, int kind, const char *sec, uint32_t *out)
{
	const struct k2_btfext *x = obj->elf->ext;
	uint32_t n = 0;

	cr_assert_not_null(x, "BTF.ext was read back");
	for (uint32_t g = 0; g < x->info[kind].n_groups; g++) {
		const struct k2_xgroup *gr = &x->info[kind].groups[g];

		if (!gr->sec || strcmp(obj->elf->secs[gr->sec].name, sec))
			continue;
		for (uint32_t r = 0; r < gr->n; r++)
			out[n++] = rd32(gr->recs + (size_t)r * x->info[kind].rec_size) / 8;
	}
	return n;
}

Test(obj_write, compaction_moves_symbols_relocations_and_btf_ext)
{
	struct k2_object *a = open_ok(obj_data("dead_code.o")), *orig = open_ok(obj_data("dead_code.o"));
	struct k2_object *b;
	struct k2_err e = { 0 };
	uint32_t offs[256], n, n0, core_old[8], nco;
	size_t len;
	uint8_t *img;
	Elf64_Sym *s1, *s2;
	uint64_t sz;
	struct bpf_object *lo;
	struct bpf_program *lp;

	nco = ext_offsets(orig, 2, "kprobe/do_nanosleep", core_old);
	cr_assert_eq(nco, 1, "one CO-RE relocation in kp_dead");
	cr_expect_eq(obj_drop_fillers(a, k2_object_prog(a, "xdp_first"), &e), 6, "%s", e.msg);
	cr_expect_eq(obj_drop_fillers(a, k2_object_prog(a, "xdp_second"), &e), 1, "%s", e.msg);
	cr_expect_eq(obj_drop_fillers(a, k2_object_prog(a, "kp_dead"), &e), 2, "%s", e.msg);
	write_ok(a, tmp("dc.o"));
	b = open_ok(tmp("dc.o"));
	expect_same_progs(a, b);
	cr_expect_eq(b->progs[0].n_main, 29);
	cr_expect_eq(b->progs[1].n_main, 25);
	for (uint32_t p = 0; p < b->n_progs; p++)
		for (uint32_t i = 0; i < b->progs[p].n_main; i++)
			cr_expect_not(obj_is_filler(&b->progs[p].insns[i]), "%s %u", b->progs[p].name, i);
	/* symbols: the second program moved up, the first shrank */
	img = obj_read_file(tmp("dc.o"), &len);
	s1 = obj_sym(img, "xdp_first");
	s2 = obj_sym(img, "xdp_second");
	cr_expect_eq(s1->st_value, 0);
	cr_expect_eq(s1->st_size, 29 * 8);
	cr_expect_eq(s2->st_value, 29 * 8);
	cr_expect_eq(s2->st_size, 25 * 8);
	obj_sec_data(img, "xdp", &sz);
	cr_expect_eq(sz, (29 + 25) * 8);
	obj_sec_data(img, ".relxdp", &sz);
	cr_expect_eq(sz, 5 * sizeof(Elf64_Rel), "relocations kept");
	obj_sec_data(img, ".debug_info", &sz);
	cr_expect_eq(sz, 0);
	/* func_info at both function starts, line info strictly increasing, at insn starts */
	n = ext_offsets(b, 0, "xdp", offs);
	cr_assert_eq(n, 2);
	cr_expect_eq(offs[0], 0);
	cr_expect_eq(offs[1], 29);
	n = ext_offsets(b, 1, "xdp", offs);
	n0 = ext_offsets(orig, 1, "xdp", offs + 128);
	cr_expect_gt(n, 4);
	cr_expect_leq(n, n0);
	cr_expect_eq(offs[0], 0);
	for (uint32_t i = 1; i < n; i++) {
		cr_expect_gt(offs[i], offs[i - 1]);
		cr_expect_lt(offs[i], 54);
	}
	for (uint32_t i = 0, seen = 0; i < n; i++) {
		seen |= offs[i] == 29;
		cr_expect(i < n - 1 || seen, "line info at xdp_second's start");
	}
	/* the CO-RE record follows its instruction */
	{
		uint32_t at[4], at0[4];

		cr_assert_eq(k2_prog_core_insns(a, &a->progs[2], at, 4), 1);
		cr_assert_eq(k2_prog_core_insns(orig, &orig->progs[2], at0, 4), 1);
		cr_expect_eq(memcmp(&a->progs[2].insns[at[0]], &orig->progs[2].insns[at0[0]], 8), 0);
		cr_expect_eq(at[0], at0[0] - 1, "one filler before it went");
		cr_assert_eq(k2_prog_core_insns(b, &b->progs[2], at, 4), 1);
		cr_expect_eq(at[0], at0[0] - 1);
	}
	cr_assert_eq(ext_offsets(b, 2, "kprobe/do_nanosleep", offs), 1);
	cr_expect_eq(memcmp(&b->progs[2].insns[offs[0]], &orig->progs[2].insns[core_old[0]], 8), 0,
		     "CO-RE record at %u, was %u", offs[0], core_old[0]);
	/* libbpf reads it (no kernel needed for opening) */
	lo = bpf_object__open_file(tmp("dc.o"), NULL);
	cr_assert_not_null(lo);
	lp = bpf_object__find_program_by_name(lo, "xdp_first");
	cr_expect_eq(bpf_program__insn_cnt(lp), 29);
	bpf_object__close(lo);
	free(img);
	k2_object_free(a);
	k2_object_free(b);
	k2_object_free(orig);
}

Test(obj_write, replacements_compose)
{
	struct k2_object *a = open_ok(obj_data("dead_code.o")), *b = open_ok(obj_data("dead_code.o"));
	struct k2_prog *p = k2_object_prog(a, "xdp_first");
	struct k2_err e = { 0 };
	size_t na = 0, nb = 0;
	void *ia, *ib;

	/* one filler at a time on a, all at once on b: the same object */
	for (int round = 0; round < 6; round++) {
		bool *del = calloc(p->n_insns, sizeof(*del));
		struct bpf_insn *out = calloc(p->n_insns, sizeof(*out));
		int32_t *o2n = calloc(p->n_main, sizeof(*o2n));
		uint32_t i = 0, n;

		while (!obj_is_filler(&p->insns[i]))
			i++;
		del[i] = true;
		n = obj_compact(p->insns, p->n_insns, p->n_main, del, out, o2n);
		cr_assert_eq(k2_object_set_main(a, p, out, n, o2n, &e), 0, "%s", e.msg);
		free(del);
		free(out);
		free(o2n);
	}
	cr_assert_eq(obj_drop_fillers(b, k2_object_prog(b, "xdp_first"), &e), 6, "%s", e.msg);
	write_ok(a, tmp("a.o"));
	write_ok(b, tmp("b.o"));
	ia = obj_read_file(tmp("a.o"), &na);
	ib = obj_read_file(tmp("b.o"), &nb);
	cr_expect_eq(na, nb);
	cr_expect_eq(memcmp(ia, ib, na), 0);
	free(ia);
	free(ib);
	k2_object_free(a);
	k2_object_free(b);
}

Test(obj_write, changed_map_loads_get_new_relocations)
{
	struct k2_object *a = open_ok(obj_data("maps_xdp.o")), *b;
	struct k2_prog *p = k2_object_prog(a, "xdp_count");
	struct bpf_insn *copy = malloc(p->n_insns * sizeof(*copy));
	int32_t *id = malloc(p->n_main * sizeof(*id));
	struct k2_err e = { 0 };

	for (uint32_t i = 0; i < p->n_main; i++)
		id[i] = (int32_t)i;
	memcpy(copy, p->insns, p->n_insns * sizeof(*copy));
	copy[37 + 1].imm = 0;  /* hits (.bss+4) -> misses (.bss+0) */
	copy[21].imm = 4;      /* flows -> stats */
	copy[42].imm = 6;      /* magic (.rodata+4) -> seen (.data+0) */
	copy[43].imm = 0;
	copy[42].dst_reg = 3;  /* and another register */
	cr_assert_eq(k2_object_set_main(a, p, copy, p->n_insns, id, &e), 0, "%s", e.msg);
	write_ok(a, tmp("m.o"));
	b = open_ok(tmp("m.o"));
	expect_same_progs(a, b);
	p = k2_object_prog(b, "xdp_count");
	cr_expect_eq(p->insns[37].imm, 7);
	cr_expect_eq(p->insns[38].imm, 0);
	cr_expect_eq(p->insns[21].imm, 4);
	cr_expect_eq(p->insns[42].imm, 6);
	cr_expect_eq(p->insns[42].dst_reg, 3);
	free(copy);
	free(id);
	k2_object_free(a);
	k2_object_free(b);
}

Test(obj_write, inserted_instruction_keeps_function_starts)
{
	struct k2_object *a = open_ok(obj_data("maps_xdp.o")), *b;
	struct k2_prog *p = k2_object_prog(a, "xdp_inner");
	struct bpf_insn *out = malloc((p->n_insns + 1) * sizeof(*out));
	int32_t *o2n = malloc(p->n_main * sizeof(*o2n));
	struct k2_err e = { 0 };
	uint32_t offs[128], n;

	out[0] = (struct bpf_insn){ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0 };
	memcpy(out + 1, p->insns, p->n_insns * sizeof(*out));
	for (uint32_t i = 0; i < p->n_main; i++)
		o2n[i] = (int32_t)i + 1;
	cr_assert_eq(k2_object_set_main(a, p, out, p->n_insns + 1, o2n, &e), 0, "%s", e.msg);
	write_ok(a, tmp("ins.o"));
	b = open_ok(tmp("ins.o"));
	expect_same_progs(a, b);
	n = ext_offsets(b, 0, "xdp", offs);
	cr_assert_eq(n, 2);
	cr_expect_eq(offs[1], 56, "xdp_inner starts where it did");
	n = ext_offsets(b, 1, "xdp", offs);
	for (uint32_t i = 0, seen = 0; i < n; i++) {
		seen |= offs[i] == 56;
		cr_expect(i + 1 < n || seen, "a line record at the new start of xdp_inner");
	}
	free(out);
	free(o2n);
	k2_object_free(a);
	k2_object_free(b);
}

Test(obj_write, bad_replacements_are_refused_and_change_nothing)
{
	struct k2_object *a = open_ok(obj_data("maps_xdp.o"));
	struct k2_prog *p = k2_object_prog(a, "xdp_count");
	struct bpf_insn *copy = malloc(p->n_insns * sizeof(*copy)), *before = p->insns;
	int32_t *id = malloc(p->n_main * sizeof(*id));
	struct k2_err e = { 0 };

	for (uint32_t i = 0; i < p->n_main; i++)
		id[i] = (int32_t)i;
	memcpy(copy, p->insns, p->n_insns * sizeof(*copy));
	copy[p->n_main + 1].imm ^= 1; /* a subprogram instruction */
	cr_expect_lt(k2_object_set_main(a, p, copy, p->n_insns, id, &e), 0);
	cr_expect(strstr(e.msg, "subprogram instructions must follow the new main unchanged"), "%s",
		  e.msg);
	memcpy(copy, p->insns, p->n_insns * sizeof(*copy));
	id[5] = 3;
	cr_expect_lt(k2_object_set_main(a, p, copy, p->n_insns, id, &e), 0);
	cr_expect(strstr(e.msg, "old_to_new[5] = 3 is out of order"), "%s", e.msg);
	id[5] = 5;
	id[8] = 8; /* the second half of the ld_imm64 at 7 is ignored, but 7 -> 8 is not a start */
	id[7] = 8;
	cr_expect_lt(k2_object_set_main(a, p, copy, p->n_insns, id, &e), 0);
	id[7] = 7;
	copy[21].imm = 99; /* no such map */
	cr_expect_lt(k2_object_set_main(a, p, copy, p->n_insns, id, &e), 0);
	cr_expect(strstr(e.msg, "program xdp_count: insn 21: map index out of range"), "%s", e.msg);
	copy[21].imm = 0;
	copy[21].src_reg = BPF_PSEUDO_MAP_FD;
	cr_expect_lt(k2_object_set_main(a, p, copy, p->n_insns, id, &e), 0);
	cr_expect(strstr(e.msg, "insn 21: lddw_map_fd cannot be expressed in an object file") ||
			  strstr(e.msg, "cannot be expressed"), "%s", e.msg);
	copy[21].src_reg = BPF_PSEUDO_MAP_IDX;
	copy[7].imm = 0; /* .bss value -> a BTF map's value address */
	cr_expect_lt(k2_object_set_main(a, p, copy, p->n_insns, id, &e), 0);
	cr_expect(strstr(e.msg, "is not a data section"), "%s", e.msg);
	copy[7].imm = 7;
	copy[3].code = 0xff;
	cr_expect_lt(k2_object_set_main(a, p, copy, p->n_insns, id, &e), 0);
	cr_expect(strstr(e.msg, "section xdp: program xdp_count: insn 3: invalid opcode"), "%s",
		  e.msg);
	cr_expect_eq(p->insns, before, "the program is untouched");
	cr_expect_null(a->elf->pinfo[0].raw);
	free(copy);
	free(id);
	k2_object_free(a);
}

Test(obj_write, a_section_without_relocations_cannot_gain_one)
{
	struct k2_object *a = open_ok(obj_data("types_trace.o"));
	struct k2_prog *p = k2_object_prog(a, "xdp_frag");
	struct bpf_insn out[16];
	int32_t o2n[16];
	struct k2_err e = { 0 };

	cr_assert_leq(p->n_insns + 2, 16);
	/* r1 = map[events] ll in front of the program */
	out[0] = (struct bpf_insn){ .code = BPF_LD | BPF_IMM | BPF_DW, .dst_reg = 1,
				    .src_reg = BPF_PSEUDO_MAP_IDX, .imm = 1 };
	out[1] = (struct bpf_insn){ 0 };
	memcpy(out + 2, p->insns, p->n_insns * sizeof(*out));
	for (uint32_t i = 0; i < p->n_main; i++)
		o2n[i] = (int32_t)i + 2;
	cr_expect_lt(k2_object_set_main(a, p, out, p->n_insns + 2, o2n, &e), 0);
	cr_expect(strstr(e.msg, "section xdp.frags: program xdp_frag: relocations in a section that "
				"had none"), "%s", e.msg);
	k2_object_free(a);
}

Test(obj_write, failed_writes_leave_nothing_behind)
{
	struct k2_object *a = open_ok(obj_data("maps_xdp.o"));
	struct k2_err e = { 0 };
	char cmd[256];
	FILE *f;

	cr_expect_lt(k2_object_write(a, "/nonexistent-dir/x.o", &e), 0);
	cr_expect(strstr(e.msg, "/nonexistent-dir/x.o: cannot create a temporary file"), "%s",
		  e.msg);
	/* a replaced file is either the old one or the new one, and no temporary stays */
	f = fopen(tmp("over.o"), "w");
	fputs("old contents", f);
	fclose(f);
	write_ok(a, tmp("over.o"));
	k2_object_free(a);
	a = open_ok(tmp("over.o"));
	snprintf(cmd, sizeof(cmd), "test $(ls %s | grep -c 'over.o.') = 0", tmpdir);
	cr_expect_eq(system(cmd), 0, "no temporary file left");
	k2_object_free(a);
}
