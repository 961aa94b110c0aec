/* bpf/cmd_disasm.c: `k2 disasm FILE.o`: programs, maps, license as text k2 asm reads back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/obj_internal.h"
#include "bpf/k2_text.h"

static void print_map(FILE *f, const struct k2_object *obj, const struct k2_map *m)
{
	if (m->internal) {
		fprintf(f, ".data %s size=%u", m->name, m->value_size);
		if (m->init) {
			fprintf(f, " init=");
			for (uint32_t i = 0; i < m->value_size; i++)
				fprintf(f, "%02x", m->init[i]);
		}
		fputc('\n', f);
		return;
	}
	fprintf(f, ".map %s %s key=%u value=%u max=%u", m->name, k2_map_type_name(m->type),
		m->key_size, m->value_size, m->max_entries);
	if (!strcmp(k2_map_type_name(m->type), "unknown"))
		fprintf(f, " ; type %u", m->type);
	if (m->flags)
		fprintf(f, " flags=0x%x", m->flags);
	if (m->pinning)
		fprintf(f, " pin");
	if (m->numa_node)
		fprintf(f, " numa=%u", m->numa_node);
	if (m->map_extra)
		fprintf(f, " extra=%llu", (unsigned long long)m->map_extra);
	if (m->inner >= 0 && (uint32_t)m->inner < obj->n_maps)
		fprintf(f, " inner=%s", obj->maps[m->inner].name);
	if (m->template)
		fprintf(f, " template");
	fputc('\n', f);
}

/* The name of the subprogram starting at linked instruction `at`, or NULL. */
static const char *sub_name(const struct k2_object *obj, const struct k2_prog *p, long at)
{
	const struct k2_elf *elf = obj->elf;
	const struct k2_pinfo *pi = &elf->pinfo[p - obj->progs];

	for (uint32_t k = 0; k < pi->n_subs; k++)
		if (pi->subs[k].at == at) {
			const struct k2_efunc *f = &elf->funcs[pi->subs[k].func];

			return f->sym ? elf->syms[f->sym].name : elf->secs[f->sec].name;
		}
	return NULL;
}

/* Text of one instruction, with map indices and call targets by name. */
static void insn_text(const struct k2_object *obj, const struct k2_prog *p, uint32_t i, char *out,
		      size_t len)
{
	const struct bpf_insn *in = &p->insns[i];
	enum k2_op op = k2_insn_op(in);
	char buf[256], *q;
	const char *name;

	k2_disasm_insn(in, buf, sizeof(buf));
	snprintf(out, len, "%s", buf);
	if ((op == K2_OP_LDDW_MAP_IDX || op == K2_OP_LDDW_MAP_IDX_VALUE) && in->imm >= 0 &&
	    (uint32_t)in->imm < obj->n_maps && (q = strstr(buf, "map[idx:")) && strchr(q, ']')) {
		*q = '\0';
		snprintf(out, len, "%smap[%s%s", buf, obj->maps[in->imm].name, strchr(q + 1, ']'));
	} else if ((op == K2_OP_CALL_PSEUDO || op == K2_OP_LDDW_FUNC) &&
		   (name = sub_name(obj, p, (long)i + 1 + in->imm))) {
		if (op == K2_OP_CALL_PSEUDO) {
			snprintf(out, len, "call %s", name);
		} else if ((q = strstr(buf, "func[")) && strchr(q, ']')) {
			const char *rest = strchr(q, ']');

			*q = '\0';
			snprintf(out, len, "%sfunc[%s%s", buf, name, rest);
		}
	}
}

static void print_prog(FILE *f, const struct k2_object *obj, const struct k2_prog *p)
{
	const struct k2_pinfo *pi = &obj->elf->pinfo[p - obj->progs];
	bool *used = calloc(obj->n_maps + 1, sizeof(*used));
	uint32_t core[256], n_core = k2_prog_core_insns(obj, p, core, 256);
	char text[640];
	int n = 0;

	fprintf(f, "\n.section %s\n.prog %s\n", p->sec, p->name);
	fprintf(f, "; type %s", k2_prog_type_name(p->type));
	if (p->prog_flags)
		fprintf(f, ", prog_flags 0x%x", p->prog_flags);
	fprintf(f, ", %u insns (%u main", p->n_insns, p->n_main);
	if (pi->n_subs)
		fprintf(f, " + %u in %u subprograms", p->n_insns - p->n_main, pi->n_subs);
	fprintf(f, "), maps:");
	for (uint32_t i = 0; used && i < p->n_insns; i++) {
		const struct bpf_insn *in = &p->insns[i];

		if (k2_is_lddw(in) && (in->src_reg == BPF_PSEUDO_MAP_IDX ||
				       in->src_reg == BPF_PSEUDO_MAP_IDX_VALUE) &&
		    in->imm >= 0 && (uint32_t)in->imm < obj->n_maps && !used[in->imm]) {
			used[in->imm] = true;
			fprintf(f, "%s %s", n++ ? "," : "", obj->maps[in->imm].name);
		}
	}
	fprintf(f, "%s\n", n ? "" : " none");
	free(used);
	for (uint32_t i = 0; i < p->n_insns; i++) {
		const char *sub = sub_name(obj, p, i);
		int w = k2_is_lddw(&p->insns[i]) && i + 1 < p->n_insns ? 2 : 1;

		if (sub)
			fprintf(f, ".subprog %s\n", sub);
		insn_text(obj, p, i, text, sizeof(text));
		fprintf(f, "%8u:\t", i);
		for (int k = 0; k < 8 * w; k++)
			fprintf(f, "%02x%c", ((const uint8_t *)&p->insns[i])[k], k + 1 < 8 * w ? ' ' : '\t');
		fprintf(f, "%s", text);
		for (uint32_t k = 0; k < n_core && k < 256; k++)
			if (core[k] == i) {
				fprintf(f, "\t; CO-RE: libbpf rewrites it at load");
				break;
			}
		fputc('\n', f);
		i += w - 1;
	}
}

static int usage(FILE *f)
{
	fprintf(f, "usage: k2 disasm FILE.o [-s SECTION|PROGRAM]\n"
		   "Prints the license, maps and every program (or those of one section) of a BPF\n"
		   "object, linked as libbpf loads them, in a text form `k2 asm` reads back.\n");
	return f == stdout ? 0 : 2;
}

int k2_cmd_disasm(int argc, char **argv)
{
	const char *path = NULL, *sel = NULL;
	struct k2_object *obj;
	struct k2_err e = { 0 };
	int shown = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return usage(stdout);
		if (!strcmp(argv[i], "-s") && i + 1 < argc)
			sel = argv[++i];
		else if (argv[i][0] != '-' && !path)
			path = argv[i];
		else
			return usage(stderr);
	}
	if (!path)
		return usage(stderr);
	if (k2_object_open(path, &obj, &e)) {
		fprintf(stderr, "k2 disasm: %s\n", e.msg);
		return 1;
	}
	printf("; %s: %u programs, %u maps\n.license \"%s\"\n", path, obj->n_progs, obj->n_maps,
	       obj->license);
	if (obj->kern_version)
		printf(".version 0x%x\n", obj->kern_version);
	for (uint32_t m = 0; m < obj->n_maps; m++)
		print_map(stdout, obj, &obj->maps[m]);
	for (uint32_t i = 0; i < obj->n_progs; i++) {
		const struct k2_prog *p = &obj->progs[i];

		if (sel && strcmp(sel, p->sec) && strcmp(sel, p->name))
			continue;
		print_prog(stdout, obj, p);
		shown++;
	}
	k2_object_free(obj);
	if (!shown) {
		fprintf(stderr, "k2 disasm: %s: no program or section %s\n", path, sel);
		return 1;
	}
	return 0;
}
