/* tests/unit/obj_errors.c: malformed objects are refused, naming file, section and insn. */
#include <bpf/libbpf.h>
#include <criterion/criterion.h>
#include <stdarg.h>

#include "bpf/k2_rand.h"
#include "tests/unit/obj_util.h"

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

/* libbpf reports the broken BTF of these inputs on stderr; the test checks our message. */
static void setup(void)
{
	libbpf_set_print(quiet);
}

TestSuite(obj_errors, .init = setup);

static void *load(const char *name, size_t *len)
{
	void *buf = obj_read_file(obj_data(name), len);

	cr_assert_not_null(buf, "%s", obj_data(name));
	return buf;
}

/* Opens a (patched) image and expects failure with `want` in the message. */
static void expect_error(const void *buf, size_t len, const char *want)
{
	struct k2_object *obj = NULL;
	struct k2_err e = { 0 };
	int err = k2_object_open_mem(buf, len, "maps_xdp.o", &obj, &e);

	cr_expect_lt(err, 0, "accepted; wanted \"%s\"", want);
	cr_expect_null(obj);
	cr_expect(strstr(e.msg, want) != NULL, "message \"%s\" lacks \"%s\"", e.msg, want);
	k2_object_free(obj);
}

static Elf64_Rel *rel(void *buf, const char *sec, uint32_t k)
{
	uint64_t size;
	Elf64_Rel *r = obj_sec_data(buf, sec, &size);

	cr_assert(r && size >= (k + 1) * sizeof(*r));
	return &r[k];
}

static struct bpf_insn *code(void *buf, const char *sec)
{
	uint64_t size;

	return obj_sec_data(buf, sec, &size);
}

Test(obj_errors, not_elf_and_empty)
{
	expect_error("", 0, "not an ELF file");
	expect_error("\177ELF", 4, "not an ELF file");
	expect_error("hello world, this is not an object file at all........................", 70,
		     "not an ELF file");
}

Test(obj_errors, relocation_to_a_missing_symbol)
{
	size_t len;
	void *buf = load("maps_xdp.o", &len);

	rel(buf, ".relxdp", 0)->r_info = ELF64_R_INFO(5000, R_BPF_64_64);
	expect_error(buf, len, "maps_xdp.o: section xdp: relocation 0: missing symbol 5000");
	free(buf);
}

Test(obj_errors, relocation_at_a_non_ld_imm64_instruction)
{
	size_t len;
	void *buf = load("maps_xdp.o", &len);

	/* the first relocation (.bss, insn 7) moved onto insn 6, a conditional jump */
	rel(buf, ".relxdp", 0)->r_offset = 6 * 8;
	expect_error(buf, len,
		     "maps_xdp.o: section xdp: insn 6: relocation against .bss at a non-ld_imm64 instruction");
	free(buf);
}

Test(obj_errors, call_relocation_at_a_non_call)
{
	size_t len;
	void *buf = load("maps_xdp.o", &len);
	Elf64_Rel *r = rel(buf, ".relxdp", 0);

	r->r_info = ELF64_R_INFO(ELF64_R_SYM(r->r_info), R_BPF_64_32);
	expect_error(buf, len, "section xdp: insn 7: relocation against .bss at a non-call instruction");
	free(buf);
}

Test(obj_errors, relocation_offset_outside_the_section)
{
	size_t len;
	void *buf = load("maps_xdp.o", &len);

	rel(buf, ".relxdp", 1)->r_offset = 0x10000;
	expect_error(buf, len, "section xdp: relocation 1: offset 65536 outside the section");
	free(buf);
}

Test(obj_errors, section_outside_the_file)
{
	size_t len;
	void *buf = load("maps_xdp.o", &len);
	uint32_t idx;
	Elf64_Shdr *sh = obj_shdr(buf, "xdp", &idx);
	char want[64];

	sh->sh_offset = len - 16;
	snprintf(want, sizeof(want), "section %u: offset %zu size", idx, len - 16);
	expect_error(buf, len, want);
	expect_error(buf, len, "outside the file");
	free(buf);
}

Test(obj_errors, code_size_not_a_multiple_of_8)
{
	size_t len;
	void *buf = load("maps_xdp.o", &len);
	Elf64_Shdr *sh = obj_shdr(buf, "xdp", NULL);
	char want[80];

	sh->sh_size -= 4;
	snprintf(want, sizeof(want), "section xdp: size %llu is not a multiple of 8",
		 (unsigned long long)sh->sh_size);
	expect_error(buf, len, want);
	free(buf);
}

Test(obj_errors, invalid_instruction_names_section_and_index)
{
	size_t len;
	void *buf = load("maps_xdp.o", &len);

	code(buf, "xdp")[2].code = 0xff;
	expect_error(buf, len, "maps_xdp.o: section xdp: insn 2: invalid opcode 0xff");
	free(buf);
	buf = load("maps_xdp.o", &len);
	/* insn 9 of .text is bump's first, linked into xdp_count */
	code(buf, ".text")[9].code = 0xff;
	expect_error(buf, len, "section .text: insn 9: invalid opcode 0xff");
	free(buf);
}

Test(obj_errors, maps_without_valid_btf)
{
	size_t len;
	void *buf = load("maps_xdp.o", &len);
	uint64_t n;
	uint8_t *btf = obj_sec_data(buf, ".BTF", &n);

	btf[0] ^= 0xff; /* magic */
	expect_error(buf, len, "section .maps: BTF-defined maps need a valid .BTF");
	free(buf);
	buf = load("maps_xdp.o", &len);
	/* renamed to "BTF.ext" (the tail of the name .BTF.ext): no .BTF at all */
	obj_shdr(buf, ".BTF", NULL)->sh_name = obj_shdr(buf, ".BTF.ext", NULL)->sh_name + 1;
	expect_error(buf, len, "section .maps: BTF-defined maps need a .BTF");
	free(buf);
}

Test(obj_errors, legacy_maps_that_cannot_be_sized)
{
	size_t len;
	void *buf = load("legacy_sock.o", &len);

	obj_shdr(buf, "maps", NULL)->sh_size = 39; /* two maps in 39 bytes */
	expect_error(buf, len, "section maps: cannot size map definitions: 2 maps in 39 bytes");
	free(buf);
}

Test(obj_errors, externs_are_named)
{
	size_t len;
	void *buf = load("extern_kconfig.o", &len);

	expect_error(buf, len,
		     "section socket: insn 0: extern LINUX_KERNEL_VERSION (ksym/kconfig) is not supported");
	free(buf);
	buf = load("extern_kfunc.o", &len);
	expect_error(buf, len,
		     "insn 0: call to extern function bpf_rcu_read_lock (kfunc) is not supported");
	free(buf);
}

Test(obj_errors, every_truncation_is_refused_without_a_crash)
{
	size_t len;
	void *buf = load("calls_tc.o", &len);

	for (size_t n = 0; n < len; n += 7) {
		struct k2_object *obj = NULL;
		struct k2_err e = { 0 };
		void *cut = malloc(n ? n : 1);

		memcpy(cut, buf, n);
		/* the section header table sits at the end: any cut loses part of it */
		cr_expect_lt(k2_object_open_mem(cut, n, "cut.o", &obj, &e), 0, "cut at %zu", n);
		cr_expect_neq(e.msg[0], '\0');
		k2_object_free(obj);
		free(cut);
	}
	free(buf);
}

Test(obj_errors, random_corruption_never_crashes)
{
	static const char *const files[] = { "maps_xdp.o", "calls_tc.o", "legacy_sock.o" };
	struct k2_rng rng;
	int accepted = 0, refused = 0;

	k2_rng_seed(&rng, 42);
	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		size_t len;
		uint8_t *orig = load(files[f], &len), *buf = malloc(len);

		for (int it = 0; it < 600; it++) {
			struct k2_object *obj = NULL;
			struct k2_err e = { 0 };
			int flips = 1 + (int)k2_rng_below(&rng, 4);

			memcpy(buf, orig, len);
			for (int k = 0; k < flips; k++)
				buf[k2_rng_below(&rng, len)] ^= (uint8_t)(1 + k2_rng_below(&rng, 255));
			if (k2_object_open_mem(buf, len, files[f], &obj, &e) == 0) {
				void *out;
				size_t n;

				accepted++;
				cr_expect_eq(k2_object_write_mem(obj, &out, &n, &e), 0, "%s", e.msg);
				free(out);
			} else {
				refused++;
				cr_expect_neq(e.msg[0], '\0');
			}
			k2_object_free(obj);
		}
		free(buf);
		free(orig);
	}
	cr_log_info("corruption: %d accepted, %d refused", accepted, refused);
	cr_expect_gt(accepted + refused, 0);
}
