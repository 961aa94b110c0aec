/* bpf/err.c: building error messages into a caller-owned struct k2_err. */
#include "bpf/k2_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int k2_err_set(struct k2_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return code;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return code;
}

int k2_err_prefix(struct k2_err *e, const char *fmt, ...)
{
	char pre[256];
	size_t np, nold;
	va_list ap;

	if (!e)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	np = strlen(pre);
	if (np >= sizeof(e->msg))
		np = sizeof(e->msg) - 1;
	nold = strnlen(e->msg, sizeof(e->msg) - 1);
	if (np + nold >= sizeof(e->msg))
		nold = sizeof(e->msg) - 1 - np;
	memmove(e->msg + np, e->msg, nold);
	memcpy(e->msg, pre, np);
	e->msg[np + nold] = '\0';
	return e->code;
}

void k2_err_clear(struct k2_err *e)
{
	if (e) {
		e->code = 0;
		e->msg[0] = '\0';
	}
}
