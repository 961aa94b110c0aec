#!/bin/sh
# tests/slurm/requeue.sh: a k2-cluster.sbatch job whose time limit is shorter than its budget gets
# the limit's USR1, checkpoints, requeues itself, resumes from the checkpoint and finishes.
set -u
. tests/slurm/common.inc

slurm_up
prog=$build/corpus/xdp_gtsm.o
[ -f "$prog" ] || fail "no $prog (make corpus)"
cd "$T/job" || fail "no $T/job"
# One minute limit, USR1 55 s before it: Slurm checks limits every 30 s, so the signal comes
# 5..35 s into each run. A 50 s budget cannot be spent in one run; runs after the first
# continue with what is left (--resume) until it is spent. A light kernel timing (3 rounds of
# 4 packets, no live frames) keeps the candidates' checks short on a loaded 2-core machine.
id=$(K2_CLUSTER=$cluster sbatch --parsable -n 3 --overcommit --time=1 --signal=B:USR1@55 \
	"$top/slurm/k2-cluster.sbatch" "$prog" -o out.o --budget 50 --seed 1 \
	--set bench.rounds=3 --set bench.packets=4 --set bench.xdp_live=false \
	--report out.json --no-trace --quiet) || fail "sbatch refused the job"
echo "submitted job $id"
wait_job "$id" 170
log=k2-cluster-$id.out
cat "$log"
[ "$(job_field "$id" JobState)" = COMPLETED ] || fail "job $id: $(job_field "$id" JobState)"
[ "$(job_field "$id" Restarts)" -ge 1 ] || fail "job $id was never requeued"
grep -q "USR1 received" "$log" || fail "the batch script never got the time-limit signal"
grep -q "requeueing to resume" "$log" || fail "the job did not requeue itself"
grep -q "resuming from" "$log" || fail "the requeued run did not resume from the checkpoint"
runs=$(json out.json "r['resumed_runs']")
[ "$runs" -ge 1 ] || fail "the final report says resumed_runs $runs"
restarts=$(job_field "$id" Restarts)
[ "$runs" = "$restarts" ] || fail "resumed_runs $runs, restarts $restarts"
# Windows' shares are rescaled to the time left, so the last ones may end with the budget.
case "$(json out.json "r['stop_reason']")" in
"budget spent" | "every window done") ;;
*) fail "the last run stopped for: $(json out.json "r['stop_reason']")" ;;
esac
s=$(json out.json "r['search_s']")
echo "search seconds over all runs: $s (budget 50)"
json out.json "abs(r['search_s'] - 50) < 5" | grep -q True || fail "search took $s s, budget 50 s"
[ -e "k2-$id.ckpt" ] && fail "a finished job left its checkpoint"
check_proven out.json
check_loads "$prog" out.o out.json
echo "PASS: time limit -> USR1 -> checkpoint -> requeue ($runs) -> resume -> done, proven, accepted"
