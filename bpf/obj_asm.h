/* bpf/obj_asm.h: `k2 asm` source after its directives are read (obj_asm.c to cmd_asm.c). */
#ifndef K2_OBJ_ASM_H
#define K2_OBJ_ASM_H

#include "bpf/k2_obj.h"

/*
 * Directives (one per line; every other line is an instruction, a label or a comment for
 * k2_asm_prog):
 *   .license "GPL"                     .version 0x60100
 *   .map NAME TYPE key=N value=N max=N [flags=N] [pin] [numa=N] [extra=N] [inner=MAP]
 *        [template]                    a BTF-defined map; TYPE as bpftool names it
 *   .data SECTION [size=N] [init=HEX]  a data section map (.rodata*, .data*, .bss*)
 *   .section NAME                      the ELF section of the programs that follow
 *   .prog NAME [SECTION]               a program (entry function)
 *   .subprog NAME                      a subprogram of the current program (a label too)
 * Instructions name maps as map[NAME] (or map[idx:N]) and subprograms as call NAME /
 * func[NAME].
 */

struct k2_asmsrc_lines {
	char *text;
	size_t len, cap;
	uint32_t *src;   /* source line of each text line */
	uint32_t n, cap_lines;
};

struct k2_asmsrc_prog {
	char name[K2_NAME_MAX];
	char sec[K2_SEC_MAX];
	struct k2_asmsrc_lines body;
	char (*subs)[K2_NAME_MAX];
	uint32_t n_subs;
	uint32_t line;
};

struct k2_asmsrc {
	const char *path;
	uint32_t line;
	struct k2_map *maps;
	uint8_t **inits;
	char (*inner)[K2_NAME_MAX];
	uint32_t n_maps;
	struct k2_asmsrc_prog *progs;
	uint32_t n_progs;
	char license[128];
	uint32_t kver;
	char sec[K2_SEC_MAX];
	const char *def_sec, *def_name;
	struct k2_err *e;
};

/* Reads the directives of `text` (changed in place); programs keep their other lines. */
int k2_asmsrc_parse(struct k2_asmsrc *st, char *text);
void k2_asmsrc_free(struct k2_asmsrc *st);

#endif
