/* bpf/obj_internal.h: the raw ELF behind a k2_object, shared by bpf/elf*.c, obj*.c and btf*.c. */
#ifndef K2_OBJ_INTERNAL_H
#define K2_OBJ_INTERNAL_H

#include <elf.h>
#include <stdbool.h>
#include <stdint.h>

#include "bpf/k2_obj.h"

#ifndef EM_BPF
#define EM_BPF 247
#endif
#ifndef R_BPF_NONE
#define R_BPF_NONE 0
#endif
#ifndef R_BPF_64_64
#define R_BPF_64_64 1
#endif
#ifndef R_BPF_64_32
#define R_BPF_64_32 10
#endif

#define K2_INSN_SZ 8u

struct btf;

/* What a section is to us; decides how it is read and rewritten. */
enum k2_sec_kind {
	K2_SEC_OTHER = 0,
	K2_SEC_PROG,     /* executable, holds entry programs */
	K2_SEC_TEXT,     /* .text: subprograms */
	K2_SEC_BTF_MAPS, /* .maps */
	K2_SEC_LEGACY_MAPS,
	K2_SEC_DATA,     /* .data, .data.*, .rodata, .rodata.*: an internal map */
	K2_SEC_BSS,      /* .bss, .bss.* */
	K2_SEC_REL,
	K2_SEC_SYMTAB,
	K2_SEC_BTF,
	K2_SEC_BTF_EXT,
	K2_SEC_DEBUG,    /* DWARF: emptied when a program changes, as it would be stale */
};

/* A relocation of an executable section, resolved to what it means. */
struct k2_erel {
	uint64_t off;   /* byte offset in the section */
	uint32_t sym;
	uint32_t type;  /* R_BPF_* */
	int32_t map;    /* ld_imm64 of a map or its value: object map index, else -1 */
	int32_t val_off; /* map value loads: offset into the value */
	int32_t func;   /* calls and ld_imm64 of a function: target k2_efunc index, else -1 */
};

struct k2_esec {
	const char *name;
	Elf64_Shdr sh;
	const uint8_t *data; /* in k2_elf.buf; NULL for SHT_NOBITS or empty sections */
	uint64_t size;
	enum k2_sec_kind kind;
	uint32_t rel;        /* the SHT_REL section that applies to this one, 0 if none */
	struct k2_erel *rels; /* executable sections: sorted by offset */
	uint32_t n_rels;
};

struct k2_esym {
	Elf64_Sym s;
	const char *name; /* "" if unnamed */
};

/* A function: an STT_FUNC symbol (or a whole symbol-less section) in an executable section. */
struct k2_efunc {
	uint32_t sec;
	uint32_t sym;        /* 0 if the section has no function symbols */
	uint32_t off, n;     /* first instruction and count in the section */
	int32_t prog;        /* index in k2_object.progs for entry programs, -1 for subprograms */
	struct bpf_insn *ins; /* relocated: maps in fd_array form; call imms fixed when linked */
	int32_t *target;     /* per instruction: k2_efunc called or loaded (pseudo call/func), or -1 */
};

/* A subprogram appended to a program when it was linked. */
struct k2_psub {
	uint32_t func;
	uint32_t at; /* its first instruction in k2_prog.insns */
	uint32_t n;
};

/* A main function rewritten by k2_object_set_main, in its raw ELF encoding. */
struct k2_praw {
	struct bpf_insn *insns;
	uint32_t n;
	struct k2_erel *rels; /* offsets relative to the function start */
	uint32_t n_rels;
	int32_t *old_to_new;  /* indexed by the instruction of the function as read */
	uint32_t n_old;
};

struct k2_pinfo {
	uint32_t func;        /* its main function */
	struct k2_psub *subs;
	uint32_t n_subs;
	struct k2_praw *raw;  /* NULL while unchanged */
};

/* Where a map is defined, to write its relocations back. */
struct k2_mapsrc {
	uint32_t sec;
	uint32_t sym;  /* BTF and legacy maps: the map's symbol; internal maps: the symbol to relocate
			* against (section symbol if any), 0 if the section has none */
	uint64_t off;  /* BTF and legacy maps: offset of the definition in its section */
	bool template; /* the inner map of a map-in-map, not in any section */
};

/* One record group of .BTF.ext: func_info, line_info or core_relo for one section. */
struct k2_xgroup {
	uint32_t sec_name_off;
	uint32_t sec;        /* ELF section index, 0 if no section has this name */
	uint32_t n;
	uint8_t *recs;       /* n records of k2_xinfo.rec_size bytes */
	int32_t *rel;        /* per record: index of the .rel.BTF.ext entry at its insn_off, or -1 */
};

struct k2_xinfo {
	uint32_t rec_size;
	struct k2_xgroup *groups;
	uint32_t n_groups;
};

/* .BTF.ext as read: header bytes kept, the three record kinds parsed. */
struct k2_btfext {
	uint8_t hdr[64];
	uint32_t hdr_len;
	struct k2_xinfo info[3]; /* func_info, line_info, core_relo */
	uint32_t n_info;         /* 2 without CO-RE relocations in the header, else 3 */
	uint32_t rel_sec;        /* the .rel.BTF.ext the records' relocations come from, or 0 */
};

struct k2_elf {
	uint8_t *buf;
	size_t len;
	const char *name;       /* for messages */
	Elf64_Ehdr eh;
	struct k2_esec *secs;
	uint32_t n_secs;
	uint32_t shstrndx;
	struct k2_esym *syms;
	uint32_t n_syms;
	uint32_t symtab;
	uint32_t text;          /* .text section index, 0 if none */
	uint32_t maps_sec;      /* .maps */
	uint32_t legacy_sec;    /* maps */
	uint32_t btf_sec, btfext_sec;
	struct btf *btf;        /* libbpf's parse of .BTF, NULL if absent or invalid */
	struct k2_btfext *ext;  /* NULL if absent or invalid */
	struct k2_efunc *funcs;
	uint32_t n_funcs;
	struct k2_pinfo *pinfo; /* parallel to k2_object.progs */
	struct k2_mapsrc *msrc; /* parallel to k2_object.maps */
};

/* bpf/elf_read.c */
int k2_elf_read(struct k2_elf *elf, struct k2_err *e);
void k2_elf_free(struct k2_elf *elf);
int k2_elf_sec_by_name(const struct k2_elf *elf, const char *name);

/* bpf/elf_write.c: one buffer per section, written in section order by libelf. */
struct k2_wsec {
	const void *data;
	uint64_t size;
	Elf64_Shdr sh;
};
int k2_elf_write_fd(const struct k2_elf *elf, const struct k2_wsec *ws, int fd, struct k2_err *e);
int k2_elf_write_path(const struct k2_elf *elf, const struct k2_wsec *ws, const char *path,
		      struct k2_err *e);
int k2_elf_write_mem(const struct k2_elf *elf, const struct k2_wsec *ws, void **buf, size_t *len,
		     struct k2_err *e);

/* bpf/obj_maps.c, bpf/btf_maps.c */
int k2_obj_read_maps(struct k2_object *obj, struct k2_err *e);
int k2_btf_read_maps(struct k2_object *obj, struct k2_map **tmpls, uint32_t *n_tmpls,
		     struct k2_err *e);
int k2_obj_add_map(struct k2_object *obj, const struct k2_map *m, const struct k2_mapsrc *src,
		   struct k2_err *e);

/* bpf/obj_link.c */
int k2_obj_read_progs(struct k2_object *obj, struct k2_err *e);
int k2_efunc_at(const struct k2_elf *elf, uint32_t sec, uint64_t insn);

/* bpf/btf_ext.c */
void k2_btfext_read(struct k2_elf *elf);
void k2_btfext_free(struct k2_btfext *x);
/* Rewrites the records of changed sections through `fwd` maps; a fresh .BTF.ext and its REL. */
struct k2_secmap {
	int32_t *fwd;      /* old insn -> new insn; a deleted one -> the next surviving one */
	bool *gone;        /* old insn deleted */
	uint32_t n_old;
	uint32_t n_new;
};
int k2_btfext_rewrite(const struct k2_elf *elf, const struct k2_secmap *maps, void **out,
		      uint64_t *out_len, void **rel_out, uint64_t *rel_len, struct k2_err *e);

/* bpf/obj_write.c, bpf/obj_raw.c */
int k2_obj_raw_main(const struct k2_object *obj, uint32_t prog, const struct bpf_insn *insns,
		    uint32_t n, struct k2_praw *raw, struct k2_err *e);
void k2_praw_free(struct k2_praw *raw);

/* Message helpers: "FILE: section SEC: ..." */
int k2_obj_err(const struct k2_elf *elf, struct k2_err *e, int code, uint32_t sec,
	       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static inline bool k2_is_lddw(const struct bpf_insn *in)
{
	return in->code == (BPF_LD | BPF_IMM | BPF_DW);
}

static inline bool k2_is_pseudo_call(const struct bpf_insn *in)
{
	return in->code == (BPF_JMP | BPF_CALL) && in->src_reg == BPF_PSEUDO_CALL;
}

#endif
