/* bpf/k2_obj.h: clang-compiled BPF ELF objects: programs, maps, relocations; read and write. */
#ifndef K2_OBJ_H
#define K2_OBJ_H

#include <linux/bpf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf/k2_err.h"

#define K2_NAME_MAX 64
#define K2_SEC_MAX 128

/*
 * A map as the object defines it: BTF-defined (.maps), legacy (`maps` section,
 * struct bpf_map_def), or internal, made from a data section (.rodata, .data, .bss,
 * as libbpf does: an array with one element of the section's size). Numbered as libbpf
 * numbers them: legacy and BTF-defined maps (in .maps DATASEC order), then data sections
 * (.rodata*, .data*, .bss* in section order, named after the section), then the inner-map
 * templates of map-in-map definitions (named "OUTER.inner").
 */
struct k2_map {
	char name[K2_NAME_MAX];
	uint32_t type;          /* enum bpf_map_type */
	uint32_t key_size;
	uint32_t value_size;
	uint32_t max_entries;
	uint32_t flags;         /* map_flags */
	int32_t inner;          /* map-in-map: index of the inner map's template, else -1 */
	bool internal;          /* made from a data section */
	bool readonly;          /* .rodata: frozen after its initial value is written */
	const uint8_t *init;    /* internal maps: initial value (value_size bytes); NULL for .bss */
	bool template;          /* only the inner-map template of a map-in-map (listed last) */
	uint32_t pinning;       /* BTF maps: LIBBPF_PIN_NONE (0) or LIBBPF_PIN_BY_NAME (1) */
	uint32_t numa_node;
	uint64_t map_extra;
};

/*
 * How a program refers to maps once read: relocations are already applied, in the
 * kernel's own fd_array encoding, so a program is self-contained:
 *   ld_imm64 src_reg BPF_PSEUDO_MAP_IDX,       imm = map index            (map pointer)
 *   ld_imm64 src_reg BPF_PSEUDO_MAP_IDX_VALUE, imm = map index, insn[1].imm = offset
 * bpf-to-bpf calls (BPF_PSEUDO_CALL) are pc-relative into the subprograms that the
 * reader appended after the main function, as libbpf links them.
 */
struct k2_prog {
	char name[K2_NAME_MAX];  /* the function symbol */
	char sec[K2_SEC_MAX];    /* ELF section, e.g. "xdp", "tc", "socket", "tracepoint/net/x" */
	uint32_t type;           /* enum bpf_prog_type, from the section name */
	uint32_t attach_type;    /* enum bpf_attach_type (expected_attach_type) */
	uint32_t prog_flags;     /* BPF_F_XDP_HAS_FRAGS (xdp.frags), BPF_F_SLEEPABLE (*.s) */
	struct bpf_insn *insns;  /* main function, then the subprograms it calls */
	uint32_t n_insns;
	uint32_t n_main;         /* length of the main function: insns[0, n_main) */
	const struct k2_map *maps; /* borrowed from the object; indexed by MAP_IDX imm */
	uint32_t n_maps;
	const char *license;     /* borrowed from the object */
};

struct k2_elf; /* the raw ELF, kept to write a drop-in replacement */

struct k2_object {
	char path[4096];
	char license[128];
	uint32_t kern_version;
	struct k2_map *maps;
	uint32_t n_maps;
	struct k2_prog *progs;
	uint32_t n_progs;
	struct k2_elf *elf;
};

/*
 * Reads every program section of an object, as libbpf 1.x would: each STT_FUNC symbol of an
 * executable section other than .text is a program (a section without function symbols is
 * one program); .text functions are subprograms, appended depth first after the main
 * function that calls them (R_BPF_64_32 against a function or the .text section symbol,
 * relocation-free calls inside .text, and bpf_loop-style callbacks: ld_imm64 of a function,
 * src_reg BPF_PSEUDO_FUNC). R_BPF_64_64 against a .maps, `maps` or data section symbol is
 * applied as the fd_array encoding above. Every linked program passes k2_insns_check().
 * Refused, with the place named: truncated or malformed ELF, sections or relocations
 * outside their bounds, relocations at the wrong instruction or to missing symbols, code
 * sizes not a multiple of 8, .maps without valid BTF, externs (kfuncs, __ksym, __kconfig).
 * Errors read "xdp_fw.o: section xdp: insn 12: invalid opcode 0xff". .BTF.ext that cannot
 * be parsed is ignored, as libbpf does; DWARF is never read.
 */
int k2_object_open(const char *path, struct k2_object **out, struct k2_err *e);
/* The same from memory (fuzzing, tests); `name` is used in messages. */
int k2_object_open_mem(const void *buf, size_t len, const char *name, struct k2_object **out,
		       struct k2_err *e);
void k2_object_free(struct k2_object *obj);

/* Finds a program by section name or function name; NULL if none (or, for NULL sel, the first). */
struct k2_prog *k2_object_prog(struct k2_object *obj, const char *sel);

/* bpf_prog_type for a section name as libbpf reads it ("xdp", "tc", "classifier", "socket",
 * "kprobe/...", "tracepoint/...", ...); 0 (BPF_PROG_TYPE_UNSPEC) if unknown. */
uint32_t k2_prog_type_of_section(const char *sec, uint32_t *attach_type);
/* The BPF_PROG_LOAD prog_flags a section name implies (BPF_F_XDP_HAS_FRAGS, BPF_F_SLEEPABLE). */
uint32_t k2_prog_flags_of_section(const char *sec);
/* Short names as bpftool prints them ("xdp", "sched_cls", "kprobe", ...); "unknown" if none. */
const char *k2_prog_type_name(uint32_t type);
const char *k2_map_type_name(uint32_t type);
/* The inverse of k2_map_type_name (also "BPF_MAP_TYPE_HASH"); 0 if unknown. */
uint32_t k2_map_type_by_name(const char *name);
uint32_t k2_prog_type_by_name(const char *name);
/* A section name libbpf gives that type without an attach target ("tc" for sched_cls), or NULL. */
const char *k2_prog_type_section(uint32_t type);

/*
 * Replaces the main function of `prog`. insns[0, n) is the whole new program: the new main
 * function followed by the subprograms exactly as before (the last n_insns - n_main slots of
 * prog->insns, unchanged; pseudo calls and callbacks of the new main point into them).
 * old_to_new[i] gives, for each instruction i of the current main (prog->n_main entries), its
 * new index, or -1 if it was deleted; survivors must keep their order (strictly increasing)
 * and land on instruction starts. Relocations are derived from the new instructions (map
 * loads in fd_array form, pseudo calls), preferring the original symbol of the instruction
 * an old one became, so a relocated instruction may move, change or go. BTF.ext func/line
 * info and CO-RE records, symbols and sizes of the section follow old_to_new when the object
 * is written. On success prog->insns is replaced (pointers into the old array go stale);
 * on error nothing changes.
 */
int k2_object_set_main(struct k2_object *obj, struct k2_prog *prog, const struct bpf_insn *insns,
		       uint32_t n, const int32_t *old_to_new, struct k2_err *e);

/*
 * Instructions of `prog` (indices into prog->insns) that libbpf rewrites at load time by
 * CO-RE relocations (.BTF.ext): their off/imm hold clang's values for its own view of the
 * kernel's types, so a search must keep them (and their role) as they are. Fills out[] up
 * to max and returns how many there are.
 */
uint32_t k2_prog_core_insns(const struct k2_object *obj, const struct k2_prog *prog,
			    uint32_t *out, uint32_t max);

/*
 * Writes the object to `path` through a temporary file and rename: every section as
 * read, with replaced programs compacted, jump and relocation offsets, BTF.ext and
 * symbols rewritten, so that libbpf and `bpftool prog load` accept it. An unchanged
 * object is written back with identical bytecode (and every section's bytes). Once a
 * program changed, later programs of its section move up, .BTF.ext records follow their
 * instructions (line info of deleted ones moves to the next survivor it covered, function
 * starts keep theirs; an unparsable .BTF.ext becomes an empty valid one), and DWARF
 * sections are emptied rather than left describing old code.
 */
int k2_object_write(const struct k2_object *obj, const char *path, struct k2_err *e);
/* The same into a malloc'd buffer (*buf, *len): fuzzing, tests, shipping an object over MPI. */
int k2_object_write_mem(const struct k2_object *obj, void **buf, size_t *len, struct k2_err *e);

/* A program for k2_object_build: the k2 form, as k2_prog holds it. */
struct k2_build_prog {
	const char *name;             /* the entry function's symbol */
	const char *sec;              /* ELF section; its name gives the type, as when reading */
	const struct bpf_insn *insns; /* the main function, then its subprograms */
	uint32_t n_insns;
	uint32_t n_subs;              /* subprograms: names, and where each starts in insns */
	const char *const *sub_names; /* (increasing; sub_at[0] is the main function's length) */
	const uint32_t *sub_at;
};

/*
 * A new object image: `progs` with `maps` (MAP_IDX imm i is maps[i]; an internal map becomes
 * the data section it is named after, .rodata* / .data* / .bss*, with its initial bytes; a
 * template is only an inner-map definition). BTF-defined maps with their BTF, subprograms in
 * .text as static functions (shared by name; the same name must be the same code), BTF
 * func_info, license (NULL: "GPL") and version. libbpf loads the result and
 * k2_object_open_mem() reads back the same programs, maps renumbered in the reader's order
 * (BTF maps, data sections, templates; the order given if it already is). *buf is malloc'd.
 */
int k2_object_build(const struct k2_map *maps, uint32_t n_maps, const struct k2_build_prog *progs,
		    uint32_t n_progs, const char *license, uint32_t kern_version, void **buf,
		    size_t *len, struct k2_err *e);

/* `k2 disasm FILE.o [-s SECTION]` and `k2 asm FILE.s -o FILE.o [--type TYPE]`. */
int k2_cmd_disasm(int argc, char **argv);
int k2_cmd_asm(int argc, char **argv);

#endif
