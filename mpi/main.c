/* mpi/main.c: k2-cluster: MPI start and end, signals, and each rank's role. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
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

/* The closing word: rank 0 -> every rank, on MPI_COMM_WORLD (no other point-to-point
 * message uses it), right before rank 0's MPI_Finalize. */
#define K2_FIN_TAG 0x4b3246

/* What a rank stuck in MPI_Finalize exits with (set before the alarm is armed). */
static volatile sig_atomic_t end_code;

static void on_alarm(int sig)
{
	static const char msg[] = "k2-cluster: MPI_Finalize did not return (a rank of the job "
				  "died); exiting\n";

	(void)sig;
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(end_code);
	_exit(end_code);
}

static void fin_send(const struct k2_job *j)
{
	MPI_Request *rq = calloc((size_t)j->size, sizeof(*rq));
	static const char word;
	int n = 0, done = 0;
	double t0 = MPI_Wtime();

	if (!rq)
		return;
	for (int rank = 1; rank < j->size; rank++)
		if (!j->gone || !j->gone[rank])
			MPI_Isend(&word, 1, MPI_CHAR, rank, K2_FIN_TAG, MPI_COMM_WORLD, &rq[n++]);
	while (!done && MPI_Wtime() - t0 < 2.0) {
		struct timespec ts = { 0, 1000000 };

		if (MPI_Testall(n, rq, &done, MPI_STATUSES_IGNORE) != MPI_SUCCESS)
			break;
		if (!done)
			nanosleep(&ts, NULL);
	}
	for (int i = 0; !done && i < n; i++)
		if (rq[i] != MPI_REQUEST_NULL)
			MPI_Request_free(&rq[i]);
	free(rq);
}

/* Rank 0's word, or up to `limit` seconds of waiting for it. */
static void fin_wait(double limit)
{
	double t0 = MPI_Wtime();

	while (MPI_Wtime() - t0 < limit) {
		struct timespec ts = { 0, 5000000 };
		int flag = 0;
		char word;

		if (MPI_Iprobe(0, K2_FIN_TAG, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE) !=
		    MPI_SUCCESS)
			return;
		if (flag) {
			MPI_Recv(&word, 1, MPI_CHAR, 0, K2_FIN_TAG, MPI_COMM_WORLD,
				 MPI_STATUS_IGNORE);
			return;
		}
		nanosleep(&ts, NULL);
	}
}

int k2_cluster_end(struct k2_job *j, bool set_up, int code)
{
	unsigned grace = 0;

	if (set_up && j->size > 1) {
		double timeout = k2_job_timeout(j);

		if (j->rank == 0) {
			fin_send(j);
		} else {
			/* Rank 0 composes, proves and times the result before its word; only a
			 * silence as long as a worker's limit for it means it is gone. */
			fin_wait(10 * timeout + 120);
		}
		k2_job_log(j, "MPI_Finalize");
		grace = (unsigned)timeout + 10;
	}
	k2_job_free(j);
	fflush(NULL);
	if (grace) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_alarm;
		sigemptyset(&sa.sa_mask);
		end_code = code;
		sigaction(SIGALRM, &sa, NULL);
		alarm(grace);
	}
	MPI_Finalize();
	alarm(0);
	return code;
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
	bool set_up;

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
	set_up = !err;
	if (!err)
		err = run(&j, &e);
	if (err && (rank == 0 || err != -ECANCELED))
		fprintf(stderr, "k2-cluster: %s%s\n", rank ? "" : "", e.msg);
	k2_job_log(&j, "finalize (%s)", err ? e.msg : "ok");
	return k2_cluster_end(&j, set_up, err ? 1 : 0);
}
