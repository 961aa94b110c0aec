#!/bin/sh
# tests/slurm/local.sh: slurm/local-slurm.sh brings a private Slurm up (a 2-task pmix step runs in
# a batch job) and down with no daemon left; stop is idempotent.
set -u
top=$(pwd)
T=$(mktemp -d /tmp/k2-slurm-local.XXXXXX)
trap '"$top/slurm/local-slurm.sh" stop "$T/s"; rm -rf "$T"' EXIT
trap 'exit 130' INT TERM
fail() { echo "FAIL: $*"; tail -n 20 "$T"/s/log/*.log 2>/dev/null; exit 1; }

"$top/slurm/local-slurm.sh" start "$T/s" >"$T/env" || fail "start"
. "$T/env"
[ "$SLURM_CONF" = "$T/s/slurm.conf" ] || fail "start printed $(cat "$T/env")"
grep -q '127.0.0.1' "$SLURM_CONF" || fail "not on 127.0.0.1"
pids=$(cat "$T"/s/run/*.pid)
[ "$(echo "$pids" | wc -w)" = 3 ] || fail "expected munged, slurmctld, slurmd pid files: $pids"

cat >"$T/job.sh" <<'JOB'
#!/bin/sh
srun --mpi=pmix -n 2 sh -c 'echo "rank $PMIX_RANK of $SLURM_NTASKS"'
JOB
cd "$T" || fail "cd"
id=$(sbatch --parsable -n 2 --overcommit -o "$T/job.out" "$T/job.sh") || fail "sbatch"
i=0
while [ "$(scontrol show job "$id" | grep -o 'JobState=[A-Z]*')" != JobState=COMPLETED ]; do
	i=$((i + 1))
	[ "$i" -gt 60 ] && fail "job $id: $(scontrol show job "$id" | grep -o 'JobState=[A-Z]*')"
	sleep 1
done
cat "$T/job.out"
[ "$(grep -c '^rank [01] of 2$' "$T/job.out")" = 2 ] || fail "the pmix step did not run 2 ranks"

"$top/slurm/local-slurm.sh" stop "$T/s" || fail "stop"
for p in $pids; do
	kill -0 "$p" 2>/dev/null && fail "daemon $p still running after stop"
done
"$top/slurm/local-slurm.sh" stop "$T/s" || fail "a second stop is not a no-op"
"$top/slurm/local-slurm.sh" stop "$T/none" || fail "stop of a missing dir fails"
echo "PASS: private Slurm up (pmix step of 2 ranks), down with no daemon left"
