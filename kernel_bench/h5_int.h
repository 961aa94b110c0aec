/* kernel_bench/h5_int.h: what the h5*.c files share: the open file and HDF5 error quieting. */
#ifndef K2_H5_INT_H
#define K2_H5_INT_H

#include "kernel_bench/k2_bench.h"

#include <hdf5.h>
#include <limits.h>

struct k2_h5 {
	hid_t file;
	char path[PATH_MAX];
	char tmp[PATH_MAX];
	struct k2_cleanup *c;
	int clean;
};

/*
 * HDF5 prints an error stack on every failure by default; our functions report one line
 * through struct k2_err instead, so each runs its body with automatic printing off.
 */
#define K2_H5_QUIET(err, call)         \
	do {                           \
		H5E_BEGIN_TRY          \
		{                      \
			err = (call);  \
		}                      \
		H5E_END_TRY;           \
	} while (0)

/* A variable-length UTF-8 string type (caller closes). */
hid_t k2_h5_vlstr(void);

#endif
