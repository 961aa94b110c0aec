/* kernel_bench/h5_table.c: appendable tables: extendible, chunked, deflated compound datasets. */
#include "kernel_bench/h5_int.h"

#include <stdlib.h>
#include <string.h>

#define CHUNK_DEFAULT 256
#define DEFLATE_LEVEL 4

struct k2_h5_table {
	struct k2_h5 *h;
	hid_t dset;
	hid_t mtype;       /* the caller's row layout */
	size_t row_size;
	uint64_t rows;
	char path[256];
	/* string columns: NULL pointers are written as "" */
	size_t *str_off;
	uint32_t n_str;
};

static hid_t member_type(enum k2_h5_type t, hid_t vlstr)
{
	switch (t) {
	case K2_H5_U8: return H5T_NATIVE_UINT8;
	case K2_H5_U32: return H5T_NATIVE_UINT32;
	case K2_H5_I32: return H5T_NATIVE_INT32;
	case K2_H5_U64: return H5T_NATIVE_UINT64;
	case K2_H5_I64: return H5T_NATIVE_INT64;
	case K2_H5_F64: return H5T_NATIVE_DOUBLE;
	case K2_H5_STR: return vlstr;
	}
	return -1;
}

static void table_free(struct k2_h5_table *t)
{
	if (!t)
		return;
	if (t->dset >= 0)
		H5Dclose(t->dset);
	if (t->mtype >= 0)
		H5Tclose(t->mtype);
	free(t->str_off);
	free(t);
}

/* The memory type of the caller's rows, and the list of string columns. */
static int layout(struct k2_h5_table *t, const struct k2_h5_field *f, uint32_t n,
		  struct k2_err *e)
{
	hid_t vls = k2_h5_vlstr();
	int err = 0;

	t->mtype = H5Tcreate(H5T_COMPOUND, t->row_size);
	t->str_off = calloc(n ? n : 1, sizeof(*t->str_off));
	if (t->mtype < 0 || !t->str_off)
		err = k2_err_set(e, -ENOMEM, "%s: %s: cannot make the row type", t->h->path,
				 t->path);
	for (uint32_t i = 0; i < n && !err; i++) {
		hid_t mt = member_type(f[i].type, vls);

		if (mt < 0 || f[i].offset >= t->row_size ||
		    H5Tinsert(t->mtype, f[i].name, f[i].offset, mt) < 0)
			err = k2_err_set(e, -EINVAL, "%s: %s: bad column %s", t->h->path, t->path,
					 f[i].name);
		if (f[i].type == K2_H5_STR)
			t->str_off[t->n_str++] = f[i].offset;
	}
	H5Tclose(vls);
	return err;
}

static int create(struct k2_h5 *h, const char *path, const struct k2_h5_field *f, uint32_t n,
		  uint32_t chunk_rows, struct k2_h5_table *t, struct k2_err *e)
{
	hsize_t dims = 0, maxdims = H5S_UNLIMITED, chunk = chunk_rows ? chunk_rows : CHUNK_DEFAULT;
	hid_t sp, dcpl, ftype;
	int err = layout(t, f, n, e);

	if (err)
		return err;
	/* On disk the columns are packed (no padding of the C struct). */
	ftype = H5Tcopy(t->mtype);
	H5Tpack(ftype);
	sp = H5Screate_simple(1, &dims, &maxdims);
	dcpl = H5Pcreate(H5P_DATASET_CREATE);
	H5Pset_chunk(dcpl, 1, &chunk);
	H5Pset_shuffle(dcpl);
	H5Pset_deflate(dcpl, DEFLATE_LEVEL);
	t->dset = H5Dcreate2(h->file, path, ftype, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
	H5Pclose(dcpl);
	H5Sclose(sp);
	H5Tclose(ftype);
	if (t->dset < 0)
		return k2_err_set(e, -EIO, "%s: cannot create table %s (does its group exist?)",
				  h->path, path);
	return 0;
}

static struct k2_h5_table *table_new(struct k2_h5 *h, const char *path, size_t row_size)
{
	struct k2_h5_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->h = h;
	t->dset = t->mtype = -1;
	t->row_size = row_size;
	snprintf(t->path, sizeof(t->path), "%s", path);
	return t;
}

int k2_h5_table_create(struct k2_h5 *h, const char *path, const struct k2_h5_field *fields,
		       uint32_t n_fields, size_t row_size, uint32_t chunk_rows,
		       struct k2_h5_table **out, struct k2_err *e)
{
	struct k2_h5_table *t = table_new(h, path, row_size);
	int err;

	*out = NULL;
	if (!t)
		return k2_err_set(e, -ENOMEM, "out of memory");
	K2_H5_QUIET(err, create(h, path, fields, n_fields, chunk_rows, t, e));
	if (err) {
		table_free(t);
		return err;
	}
	*out = t;
	return 0;
}

static int open_existing(struct k2_h5 *h, const char *path, const struct k2_h5_field *f,
			 uint32_t n, struct k2_h5_table *t, struct k2_err *e)
{
	hsize_t dims;
	hid_t sp;
	int err = layout(t, f, n, e);

	if (err)
		return err;
	t->dset = H5Dopen2(h->file, path, H5P_DEFAULT);
	if (t->dset < 0)
		return k2_err_set(e, -ENOENT, "%s: no table %s", h->path, path);
	sp = H5Dget_space(t->dset);
	H5Sget_simple_extent_dims(sp, &dims, NULL);
	H5Sclose(sp);
	t->rows = dims;
	return 0;
}

int k2_h5_table_open(struct k2_h5 *h, const char *path, const struct k2_h5_field *fields,
		     uint32_t n_fields, size_t row_size, struct k2_h5_table **out, struct k2_err *e)
{
	struct k2_h5_table *t = table_new(h, path, row_size);
	int err;

	*out = NULL;
	if (!t)
		return k2_err_set(e, -ENOMEM, "out of memory");
	K2_H5_QUIET(err, open_existing(h, path, fields, n_fields, t, e));
	if (err) {
		table_free(t);
		return err;
	}
	*out = t;
	return 0;
}

static int append(struct k2_h5_table *t, const void *rows, size_t n, struct k2_err *e)
{
	hsize_t start = t->rows, count = n, size = t->rows + n;
	hid_t fs, ms;
	herr_t st;

	if (H5Dset_extent(t->dset, &size) < 0)
		return k2_err_set(e, -EIO, "%s: %s: cannot extend to %llu rows", t->h->path,
				  t->path, (unsigned long long)size);
	fs = H5Dget_space(t->dset);
	H5Sselect_hyperslab(fs, H5S_SELECT_SET, &start, NULL, &count, NULL);
	ms = H5Screate_simple(1, &count, NULL);
	st = H5Dwrite(t->dset, t->mtype, ms, fs, H5P_DEFAULT, rows);
	H5Sclose(ms);
	H5Sclose(fs);
	if (st < 0)
		return k2_err_set(e, -EIO, "%s: %s: writing %zu rows failed", t->h->path, t->path,
				  n);
	t->rows = size;
	return 0;
}

int k2_h5_table_append(struct k2_h5_table *t, const void *rows, size_t n, struct k2_err *e)
{
	char *copy = NULL;
	int err;

	if (!n)
		return 0;
	if (t->n_str) {
		/* HDF5 stores a NULL string as no string at all; readers expect "". */
		copy = malloc(n * t->row_size);
		if (!copy)
			return k2_err_set(e, -ENOMEM, "out of memory");
		memcpy(copy, rows, n * t->row_size);
		for (size_t r = 0; r < n; r++) {
			for (uint32_t s = 0; s < t->n_str; s++) {
				const char **p =
					(const char **)(copy + r * t->row_size + t->str_off[s]);

				if (!*p)
					*p = "";
			}
		}
		rows = copy;
	}
	K2_H5_QUIET(err, append(t, rows, n, e));
	free(copy);
	return err;
}

uint64_t k2_h5_table_rows(const struct k2_h5_table *t)
{
	return t->rows;
}

void k2_h5_table_close(struct k2_h5_table *t)
{
	H5E_BEGIN_TRY
	{
		table_free(t);
	}
	H5E_END_TRY;
}
