/* bpf/obj_open.c: opening an object (file or memory), license and version, lookup, freeing. */
#include "bpf/obj_internal.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int read_license(struct k2_object *obj, struct k2_err *e)
{
	struct k2_elf *elf = obj->elf;
	int li = k2_elf_sec_by_name(elf, "license"), vi = k2_elf_sec_by_name(elf, "version");
	const struct k2_esec *s;

	if (li && (s = &elf->secs[li])->data) {
		size_t n = s->size < sizeof(obj->license) - 1 ? s->size : sizeof(obj->license) - 1;

		memcpy(obj->license, s->data, n);
		obj->license[n] = '\0';
	}
	if (vi) {
		s = &elf->secs[vi];
		if (s->size != sizeof(obj->kern_version) || !s->data)
			return k2_obj_err(elf, e, -EINVAL, (uint32_t)vi, "size %llu is not 4",
					  (unsigned long long)s->size);
		memcpy(&obj->kern_version, s->data, sizeof(obj->kern_version));
	}
	return 0;
}

static void read_btf(struct k2_elf *elf)
{
	const struct k2_esec *s;
	struct btf *btf;

	if (!elf->btf_sec || !(s = &elf->secs[elf->btf_sec])->data || s->size > UINT32_MAX)
		return;
	btf = btf__new(s->data, (uint32_t)s->size);
	elf->btf = libbpf_get_error(btf) ? NULL : btf;
}

int k2_object_open_mem(const void *buf, size_t len, const char *name, struct k2_object **out,
		       struct k2_err *e)
{
	struct k2_object *obj;
	struct k2_elf *elf;
	int err;

	*out = NULL;
	obj = calloc(1, sizeof(*obj));
	elf = calloc(1, sizeof(*elf));
	if (!obj || !elf) {
		free(obj);
		free(elf);
		return k2_err_set(e, -ENOMEM, "out of memory");
	}
	obj->elf = elf;
	snprintf(obj->path, sizeof(obj->path), "%s", name ? name : "<memory>");
	elf->name = obj->path;
	elf->buf = malloc(len ? len : 1);
	elf->len = len;
	if (!elf->buf) {
		k2_object_free(obj);
		return k2_err_set(e, -ENOMEM, "out of memory");
	}
	if (len)
		memcpy(elf->buf, buf, len);
	err = k2_elf_read(elf, e);
	if (!err)
		err = read_license(obj, e);
	if (!err) {
		read_btf(elf);
		err = k2_obj_read_maps(obj, e);
	}
	if (!err) {
		k2_btfext_read(elf);
		err = k2_obj_read_progs(obj, e);
	}
	if (!err && !obj->n_progs)
		err = k2_obj_err(elf, e, -ENOENT, 0, "no programs");
	if (err) {
		k2_object_free(obj);
		return err;
	}
	*out = obj;
	return 0;
}

int k2_object_open(const char *path, struct k2_object **out, struct k2_err *e)
{
	FILE *f = fopen(path, "rb");
	struct stat sb;
	void *buf;
	int err;

	*out = NULL;
	if (!f)
		return k2_err_set(e, -errno, "%s: %s", path, strerror(errno));
	if (fstat(fileno(f), &sb) || !S_ISREG(sb.st_mode) || sb.st_size > (1L << 30)) {
		fclose(f);
		return k2_err_set(e, -EINVAL, "%s: not a regular file of reasonable size", path);
	}
	buf = malloc(sb.st_size ? (size_t)sb.st_size : 1);
	if (!buf || fread(buf, 1, (size_t)sb.st_size, f) != (size_t)sb.st_size) {
		fclose(f);
		free(buf);
		return k2_err_set(e, buf ? -EIO : -ENOMEM, "%s: cannot read", path);
	}
	fclose(f);
	err = k2_object_open_mem(buf, (size_t)sb.st_size, path, out, e);
	free(buf);
	return err;
}

void k2_object_free(struct k2_object *obj)
{
	struct k2_elf *elf;

	if (!obj)
		return;
	elf = obj->elf;
	for (uint32_t i = 0; i < obj->n_progs; i++)
		free(obj->progs[i].insns);
	free(obj->progs);
	free(obj->maps);
	if (elf) {
		for (uint32_t i = 0; elf->pinfo && i < obj->n_progs; i++) {
			free(elf->pinfo[i].subs);
			k2_praw_free(elf->pinfo[i].raw);
		}
		free(elf->pinfo);
		for (uint32_t i = 0; i < elf->n_funcs; i++) {
			free(elf->funcs[i].ins);
			free(elf->funcs[i].target);
		}
		free(elf->funcs);
		free(elf->msrc);
		btf__free(elf->btf);
		k2_btfext_free(elf->ext);
		k2_elf_free(elf);
		free(elf);
	}
	free(obj);
}

struct k2_prog *k2_object_prog(struct k2_object *obj, const char *sel)
{
	if (!obj || !obj->n_progs)
		return NULL;
	if (!sel)
		return &obj->progs[0];
	for (uint32_t i = 0; i < obj->n_progs; i++) {
		const struct k2_efunc *f = &obj->elf->funcs[obj->elf->pinfo[i].func];
		const char *full = f->sym ? obj->elf->syms[f->sym].name : obj->progs[i].sec;

		if (!strcmp(full, sel) || !strcmp(obj->progs[i].sec, sel))
			return &obj->progs[i];
	}
	return NULL;
}
