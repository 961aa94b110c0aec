/* bpf/k2_err.h: error reports: a negative errno plus one line that names the place. */
#ifndef K2_ERR_H
#define K2_ERR_H

#include <errno.h>

/*
 * Functions that can fail for a reason a user must read take a `struct k2_err *`
 * (may be NULL) and return a negative errno. The function that knows the context
 * (file, section, instruction index) writes the message once; callers only pass it
 * up or print it. No global state: the caller owns the buffer.
 */
struct k2_err {
	int code;       /* negative errno, 0 if no error */
	char msg[512];  /* "file: section: insn N: reason" */
};

/* Sets e (if non-NULL) and returns code (a negative errno). */
int k2_err_set(struct k2_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefixes an existing message with more context ("file: "), keeping the code. */
int k2_err_prefix(struct k2_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Clears e. */
void k2_err_clear(struct k2_err *e);

#endif
