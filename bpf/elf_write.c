/* bpf/elf_write.c: writing an object's sections back through libelf, via a temp file and rename. */
#define _GNU_SOURCE /* memfd_create */
#include "bpf/obj_internal.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_sec(Elf *out, const struct k2_wsec *w, const struct k2_elf *elf, uint32_t i,
		     struct k2_err *e)
{
	Elf_Scn *scn = elf_newscn(out);
	GElf_Shdr sh;
	Elf_Data *d;

	if (!scn)
		return k2_obj_err(elf, e, -EIO, i, "libelf: %s", elf_errmsg(-1));
	memcpy(&sh, &w->sh, sizeof(sh));
	sh.sh_offset = 0;
	sh.sh_size = w->size;
	if (w->size) {
		d = elf_newdata(scn);
		if (!d)
			return k2_obj_err(elf, e, -EIO, i, "libelf: %s", elf_errmsg(-1));
		d->d_buf = sh.sh_type == SHT_NOBITS ? NULL : (void *)w->data;
		d->d_size = w->size;
		d->d_type = ELF_T_BYTE;
		d->d_align = sh.sh_addralign ? sh.sh_addralign : 1;
		d->d_off = 0;
		d->d_version = EV_CURRENT;
	}
	if (!gelf_update_shdr(scn, &sh))
		return k2_obj_err(elf, e, -EIO, i, "libelf: %s", elf_errmsg(-1));
	return 0;
}

int k2_elf_write_fd(const struct k2_elf *elf, const struct k2_wsec *ws, int fd, struct k2_err *e)
{
	Elf *out;
	GElf_Ehdr eh;
	int err = 0;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return k2_obj_err(elf, e, -EIO, 0, "libelf: %s", elf_errmsg(-1));
	out = elf_begin(fd, ELF_C_WRITE, NULL);
	if (!out || !gelf_newehdr(out, ELFCLASS64) || !gelf_getehdr(out, &eh)) {
		err = k2_obj_err(elf, e, -EIO, 0, "libelf: %s", elf_errmsg(-1));
		goto out;
	}
	memcpy(eh.e_ident, elf->eh.e_ident, EI_NIDENT);
	eh.e_type = elf->eh.e_type;
	eh.e_machine = elf->eh.e_machine;
	eh.e_version = elf->eh.e_version;
	eh.e_flags = elf->eh.e_flags;
	eh.e_shstrndx = (Elf64_Half)elf->shstrndx;
	for (uint32_t i = 1; i < elf->n_secs && !err; i++)
		err = write_sec(out, &ws[i], elf, i, e);
	if (!err && !gelf_update_ehdr(out, &eh))
		err = k2_obj_err(elf, e, -EIO, 0, "libelf: %s", elf_errmsg(-1));
	if (!err && elf_update(out, ELF_C_WRITE) < 0)
		err = k2_obj_err(elf, e, -EIO, 0, "libelf: writing: %s", elf_errmsg(-1));
out:
	if (out)
		elf_end(out);
	return err;
}

int k2_elf_write_path(const struct k2_elf *elf, const struct k2_wsec *ws, const char *path,
		      struct k2_err *e)
{
	size_t n = strlen(path);
	char *tmp = malloc(n + 8);
	int fd, err;

	if (!tmp)
		return k2_err_set(e, -ENOMEM, "out of memory");
	snprintf(tmp, n + 8, "%s.XXXXXX", path);
	fd = mkstemp(tmp);
	if (fd < 0) {
		err = k2_err_set(e, -errno, "%s: cannot create a temporary file: %s", path,
				 strerror(errno));
		free(tmp);
		return err;
	}
	err = fchmod(fd, 0644) ? -errno : 0;
	if (!err)
		err = k2_elf_write_fd(elf, ws, fd, e);
	else
		k2_err_set(e, err, "%s: %s", tmp, strerror(-err));
	if (!err && fsync(fd))
		err = k2_err_set(e, -errno, "%s: %s", tmp, strerror(errno));
	if (close(fd) && !err)
		err = k2_err_set(e, -errno, "%s: %s", tmp, strerror(errno));
	if (!err && rename(tmp, path))
		err = k2_err_set(e, -errno, "%s: cannot rename to %s: %s", tmp, path,
				 strerror(errno));
	if (err)
		unlink(tmp);
	free(tmp);
	return err;
}

int k2_elf_write_mem(const struct k2_elf *elf, const struct k2_wsec *ws, void **buf, size_t *len,
		     struct k2_err *e)
{
	int fd = memfd_create("k2obj", MFD_CLOEXEC), err;
	off_t n;

	*buf = NULL;
	*len = 0;
	if (fd < 0)
		return k2_err_set(e, -errno, "memfd_create: %s", strerror(errno));
	err = k2_elf_write_fd(elf, ws, fd, e);
	n = err ? -1 : lseek(fd, 0, SEEK_END);
	if (!err && n < 0)
		err = k2_err_set(e, -errno, "memfd: %s", strerror(errno));
	if (!err) {
		*buf = malloc(n ? (size_t)n : 1);
		if (!*buf)
			err = k2_err_set(e, -ENOMEM, "out of memory");
		else if (pread(fd, *buf, (size_t)n, 0) != n)
			err = k2_err_set(e, -EIO, "memfd: short read");
		if (err) {
			free(*buf);
			*buf = NULL;
		}
	}
	if (!err)
		*len = (size_t)n;
	close(fd);
	return err;
}
