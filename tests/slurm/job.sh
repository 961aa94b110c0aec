#!/bin/sh
# tests/slurm/job.sh: slurm/k2-cluster.sbatch under a private Slurm: 4 tasks over srun --mpi=pmix
# optimize a corpus program; the output is proven (report) and the kernel verifier accepts it.
set -u
. tests/slurm/common.inc

slurm_up
prog=$build/corpus/map_hash_lookup.o
[ -f "$prog" ] || fail "no $prog (make corpus)"
cd "$T/job" || fail "no $T/job"
# --iters: a fixed amount of search per window, so the result does not depend on machine load.
id=$(K2_CLUSTER=$cluster sbatch --parsable -n 4 --overcommit --time=5 \
	"$top/slurm/k2-cluster.sbatch" "$prog" -o out.o --iters 100000 --seed 1 \
	--report out.json --trace out.h5 --quiet) || fail "sbatch refused the job"
echo "submitted job $id"
wait_job "$id" 120
[ "$(job_field "$id" JobState)" = COMPLETED ] || fail "job $id: $(job_field "$id" JobState)"
[ "$(job_field "$id" ExitCode)" = 0:0 ] || fail "job $id exit code $(job_field "$id" ExitCode)"
grep -q "4 tasks on" "k2-cluster-$id.out" || fail "the job did not run 4 tasks"
ranks=$(json out.json "r['ranks']")
[ "$ranks" = 4 ] || fail "k2-cluster saw $ranks ranks, not 4"
[ -e "k2-$id.ckpt" ] && fail "a finished job left its checkpoint k2-$id.ckpt"
check_proven out.json
[ "$(json out.json "r['insns_after']")" -lt "$(json out.json "r['insns_before']")" ] ||
	fail "no instruction saved on $prog (the same --iters run saves 3)"
[ -s out.h5 ] || fail "no HDF5 trace"
check_loads "$prog" out.o out.json
# This k2-cluster's report has every field make bench's sizes table reads.
mkdir -p "$T/rep" && cp out.json "$T/rep/map_hash_lookup.json"
/usr/bin/python3 "$top/mk/bench.py" --sizes-table "$T/rep" >"$T/rep.md" ||
	fail "mk/bench.py --sizes-table on the job's report"
grep -q 'lacks' "$T/rep.md" && fail "make bench's table: $(grep lacks "$T/rep.md")"
echo "PASS: sbatch k2-cluster.sbatch: 4 ranks (pmix), proven, kernel-accepted"
