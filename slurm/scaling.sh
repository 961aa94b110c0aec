#!/bin/sh
# slurm/scaling.sh: submits the scaling sweep (slurm/scaling.sbatch as a job array over K2_TASKS x
# K2_SEEDS), waits for it and gathers it into results/slurm-scaling.md and its .png.
#
#   [K2_TASKS="1 2 4"] [K2_SEEDS="1 2"] [K2_BUDGET=60] slurm/scaling.sh PROG.o DIR [sbatch opts]
#
# K2_ARGS: more k2-cluster options for every run (e.g. "--iters 100000").
# Uses the Slurm of SLURM_CONF (a real cluster, or slurm/local-slurm.sh's). Multi-node: pass
# sbatch options (-N 4 ...) and set K2_TASKS to task counts that fit the allocation.
set -eu
[ $# -ge 2 ] || { echo "usage: $0 PROG.o OUTDIR [sbatch options]" >&2; exit 2; }
top=$(cd "$(dirname "$0")/.." && pwd)
prog=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
mkdir -p "$2"
out=$(cd "$2" && pwd)
shift 2
: "${K2_TASKS:=1 2 4}" "${K2_SEEDS:=1 2}" "${K2_BUDGET:=60}"
export K2_TASKS K2_SEEDS K2_BUDGET
export K2_CLUSTER="${K2_CLUSTER:-$top/build/k2-cluster}"
nt=$(echo "$K2_TASKS" | wc -w)
ns=$(echo "$K2_SEEDS" | wc -w)
max=$(echo "$K2_TASKS" | tr ' ' '\n' | sort -n | tail -n 1)
n=$((nt * ns))
echo "scaling: $n runs of $K2_BUDGET s (tasks: $K2_TASKS; seeds: $K2_SEEDS) on $prog"
cd "$out"
rm -f np*-seed*.json np*-seed*.h5 np*-seed*.o k2-scaling-*.out
# --overcommit: a one-node test allocation may have fewer cores than the largest task count.
sbatch --wait --array="0-$((n - 1))%1" -n "$max" --overcommit --time=$((K2_BUDGET / 60 + 5)) "$@" \
	"$top/slurm/scaling.sbatch" "$prog" "$out" ${K2_ARGS:-} ||
	echo "scaling: some elements failed (see $out)"
cd "$top"
/usr/bin/python3 slurm/gather.py "$out" --md "${K2_SCALING_MD:-results/slurm-scaling.md}" \
	--png "${K2_SCALING_PNG:-results/slurm-scaling.png}"
