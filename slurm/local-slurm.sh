#!/bin/sh
# slurm/local-slurm.sh: a private single-node Slurm (munged, slurmctld, slurmd) under one directory.
#
#   slurm/local-slurm.sh start DIR [CPUS]   bring it up; prints `export SLURM_CONF=DIR/slurm.conf`
#   slurm/local-slurm.sh stop DIR           shut it down (idempotent; waits for every daemon)
#
# Everything lives in DIR: its own munge key and socket, slurm.conf, state and spool
# directories, logs and pid files. The daemons listen on 127.0.0.1 on two free ports, so it
# neither needs nor disturbs a system Slurm, systemd or another private instance. Root only
# (slurmd starts jobs as their users). Used by tests/slurm/ and by `make bench`'s scaling run.
set -eu

die() { echo "local-slurm: $*" >&2; exit 1; }

# A TCP port nobody listens on, from a range away from the usual services.
free_port() {
	while :; do
		p=$(( $(od -An -N2 -tu2 /dev/urandom) % 20000 + 30000 ))
		ss -Hltn "sport = :$p" 2>/dev/null | grep -q . || { echo "$p"; return; }
	done
}

# Wait up to $2 tenths of a second for the shell test "$1" to hold.
wait_for() {
	i=0
	while ! eval "$1"; do
		i=$((i + 1))
		[ "$i" -ge "$2" ] && return 1
		sleep 0.1
	done
}

pid_alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start() {
	d=$1
	cpus=${2:-$(nproc)}
	[ "$(id -u)" = 0 ] || die "needs root (slurmd runs jobs as their users)"
	for b in munged slurmctld slurmd sbatch scontrol sinfo; do
		command -v "$b" >/dev/null || die "$b not found: apt-get install slurm-wlm munge"
	done
	mkdir -p "$d"
	d=$(cd "$d" && pwd)
	chmod 700 "$d"
	mkdir -p "$d/munge" "$d/state" "$d/spool" "$d/log" "$d/run"
	chmod 700 "$d/munge"

	# munge: a fresh key of our own, a socket of our own.
	dd if=/dev/urandom of="$d/munge/key" bs=1024 count=1 2>/dev/null
	chmod 600 "$d/munge/key"
	munged --force --key-file="$d/munge/key" --socket="$d/munge/sock" \
		--pid-file="$d/run/munged.pid" --log-file="$d/log/munged.log" \
		--seed-file="$d/munge/seed" ||
		die "munged did not start (see $d/log/munged.log)"
	wait_for "[ -S '$d/munge/sock' ]" 50 || die "munged: no socket $d/munge/sock"

	host=$(hostname -s)
	node=$(slurmd -C | head -n 1 | sed "s/CPUs=[0-9]*/CPUs=$cpus/;s/ RealMemory=[0-9]*//")
	cport=$(free_port)
	dport=$(free_port)
	while [ "$dport" = "$cport" ]; do dport=$(free_port); done
	cat >"$d/slurm.conf" <<EOF
# Private single-node Slurm written by slurm/local-slurm.sh; stop with: local-slurm.sh stop $d
ClusterName=k2local
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$cport
SlurmdPort=$dport
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
# cred_expire: a requeued job may start again this many seconds later (default 120).
AuthInfo=socket=$d/munge/sock,cred_expire=10
CredType=cred/munge
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool
SlurmctldPidFile=$d/run/slurmctld.pid
SlurmdPidFile=$d/run/slurmd.pid
SlurmctldLogFile=$d/log/slurmctld.log
SlurmdLogFile=$d/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
ReturnToService=2
JobRequeue=1
MinJobAge=600
KillWait=10
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
EOF
	SLURM_CONF=$d/slurm.conf
	export SLURM_CONF
	slurmctld -c || die "slurmctld did not start (see $d/log/slurmctld.log)"
	wait_for "pid_alive '$d/run/slurmctld.pid' && scontrol ping >/dev/null 2>&1" 100 ||
		die "slurmctld does not answer (see $d/log/slurmctld.log)"
	slurmd || die "slurmd did not start (see $d/log/slurmd.log)"
	wait_for "sinfo -h -n '$host' -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated)'" 200 ||
		die "node $host not idle: $(sinfo -h -o '%T %E' 2>&1) (see $d/log/slurmd.log)"
	echo "export SLURM_CONF=$d/slurm.conf"
}

# SIGTERM the daemon of pid file $1 and wait up to 10 s for it; then SIGKILL.
stop_pid() {
	[ -s "$1" ] || return 0
	p=$(cat "$1")
	kill "$p" 2>/dev/null || { rm -f "$1"; return 0; }
	wait_for "! kill -0 $p 2>/dev/null" 100 || kill -9 "$p" 2>/dev/null || true
	rm -f "$1"
}

stop() {
	d=$1
	[ -d "$d" ] || return 0
	if [ -f "$d/slurm.conf" ] && pid_alive "$d/run/slurmctld.pid"; then
		SLURM_CONF=$d/slurm.conf
		export SLURM_CONF
		# Jobs first, so that no slurmstepd or task outlives the daemons.
		scancel --quiet --user="$(id -un)" 2>/dev/null || true
		wait_for "[ -z \"\$(squeue -h -t R,CG 2>/dev/null)\" ]" 150 || true
	fi
	stop_pid "$d/run/slurmd.pid"
	stop_pid "$d/run/slurmctld.pid"
	stop_pid "$d/run/munged.pid"
	reap "$d/slurm.conf"
}

# Job processes that outlived the daemons (a task that ignored TERM, its slurmstepd): those whose
# environment names this instance's slurm.conf, and that are a job's or a step daemon.
reap() {
	for e in /proc/[0-9]*/environ; do
		p=${e#/proc/}
		p=${p%/environ}
		[ "$p" = $$ ] && continue
		env=$( { tr '\0' '\n' <"$e"; } 2>/dev/null) || continue
		echo "$env" | grep -qx "SLURM_CONF=$1" || continue
		if echo "$env" | grep -q '^SLURM_JOB_ID=' ||
			[ "$(cat "/proc/$p/comm" 2>/dev/null)" = slurmstepd ]; then
			cmd=$(tr '\0' ' ' <"/proc/$p/cmdline" | cut -c1-70)
			echo "local-slurm: killing leftover $cmd ($p)" >&2
			kill -9 "$p" 2>/dev/null || true
		fi
	done
}

case "${1:-}" in
start) [ $# -ge 2 ] || die "usage: $0 start DIR [CPUS]"; start "$2" "${3:-}" ;;
stop) [ $# -ge 2 ] || die "usage: $0 stop DIR"; stop "$2" ;;
*) die "usage: $0 start DIR [CPUS] | stop DIR" ;;
esac
