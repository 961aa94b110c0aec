/* kernel_bench/bench_cleanup.c: a registry of fds, files and processes a signal handler undoes. */
#include "kernel_bench/bench_int.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

void k2_cleanup_init(struct k2_cleanup *c)
{
	memset(c, 0, sizeof(*c));
}

/* Fills a free slot, publishing it (kind) last so a handler never sees half an entry. */
static int add(struct k2_cleanup *c, int kind, int fd, pid_t pid, const char *path)
{
	if (!c)
		return -1;
	for (int i = 0; i < K2_CLEANUP_MAX; i++) {
		struct k2_cleanup_entry *x = &c->e[i];

		if (x->kind != K2_CLEANUP_NONE)
			continue;
		x->fd = fd;
		x->pid = pid;
		x->path[0] = '\0';
		if (path) {
			if (strlen(path) >= sizeof(x->path))
				return -ENAMETOOLONG;
			strcpy(x->path, path);
		}
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		x->kind = kind;
		return i;
	}
	return -ENOSPC;
}

int k2_cleanup_add_fd(struct k2_cleanup *c, int fd)
{
	return add(c, K2_CLEANUP_FD, fd, 0, NULL);
}

int k2_cleanup_add_unlink(struct k2_cleanup *c, const char *path)
{
	return add(c, K2_CLEANUP_UNLINK, -1, 0, path);
}

int k2_cleanup_add_kill(struct k2_cleanup *c, pid_t pid)
{
	return add(c, K2_CLEANUP_KILL, -1, pid, NULL);
}

void k2_cleanup_forget(struct k2_cleanup *c, int handle)
{
	if (c && handle >= 0 && handle < K2_CLEANUP_MAX)
		c->e[handle].kind = K2_CLEANUP_NONE;
}

void k2_cleanup_run(struct k2_cleanup *c)
{
	if (!c)
		return;
	for (int i = K2_CLEANUP_MAX - 1; i >= 0; i--) {
		struct k2_cleanup_entry *x = &c->e[i];
		int kind = x->kind;

		x->kind = K2_CLEANUP_NONE;
		if (kind == K2_CLEANUP_FD)
			close(x->fd);
		else if (kind == K2_CLEANUP_UNLINK)
			unlink(x->path);
		else if (kind == K2_CLEANUP_KILL)
			kill(x->pid, SIGKILL);
	}
}
