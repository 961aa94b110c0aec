/* mpi/main.c: k2-cluster: MPI start and end, signals, and each rank's role. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpi/cluster_int.h"

/* The one flag a signal handler may set (a handler gets no arguments): how many stop
 * signals arrived. Rank 0 stops the search on the first, skips slow final steps on the
 * second; the other ranks wait for rank 0's word. */
volatile sig_atomic_t k2_cluster_signal;

static void on_signal(int sig)
{
	(void)sig;
	k2_cluster_signal++;
}

void k2_cluster_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
}

void k2_reap_pid(const struct k2_job *j, int pid)
{
	char path[64], comm[64] = "", self[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	if ((f = fopen(path, "r"))) {
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = 0;
		fclose(f);
	}
	if ((f = fopen("/proc/self/comm", "r"))) {
		if (!fgets(self, sizeof(self), f))
			self[0] = 0;
		fclose(f);
	}
	if (!comm[0] || strcmp(comm, self))
		return; /* gone, or the pid now belongs to something else */
	k2_job_log(j, "reaping pid %d (a dropped rank)", pid);
	kill(pid, SIGKILL);
}

bool k2_pid_alive(int pid)
{
	char path[64], buf[256], *rp;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* "pid (comm) S ...": a zombie (killed, not yet reaped by mpirun) is gone too. */
	rp = strrchr(buf, ')');
	return rp && rp[1] == ' ' && rp[2] != 'Z' && rp[2] != 'X';
}

static int run(struct k2_job *j, struct k2_err *e)
{
	if (j->rank == 0)
		return k2_coord_run(j, e);
	if (j->rank == j->bench_rank)
		return k2_bench_rank_run(j, e);
	return k2_worker_run(j, e);
}

int main(int argc, char **argv)
{
	struct k2_cluster_args a;
	struct k2_job j;
	struct k2_err e = { 0 };
	int rank, rc, err;

	if (MPI_Init(&argc, &argv) != MPI_SUCCESS) {
		fprintf(stderr, "k2-cluster: MPI_Init failed\n");
		return 1;
	}
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	k2_cluster_signals();
	rc = k2_cluster_parse(argc, argv, &a, rank == 0);
	if (rc || a.print_config) {
		if (!rc && rank == 0)
			k2_config_print(stdout, &a.cfg);
		MPI_Finalize();
		return rc == 1 ? 0 : rc;
	}
	memset(&j, 0, sizeof(j));
	err = k2_job_setup(&j, &a, &e);
	if (!err)
		err = run(&j, &e);
	if (err && (rank == 0 || err != -ECANCELED))
		fprintf(stderr, "k2-cluster: %s%s\n", rank ? "" : "", e.msg);
	k2_job_log(&j, "finalize (%s)", err ? e.msg : "ok");
	k2_job_free(&j);
	MPI_Finalize();
	return err ? 1 : 0;
}
