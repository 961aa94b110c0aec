#!/bin/sh
# mk/bench_scaling.sh BUILD: `make bench-scaling`: k2-cluster at np 1, 2, 4, 8 for a fixed
# budget (time scaling), and at np 4 with a fixed proposal count for shared counterexample
# pools on/off and tempering across ranks on/off (search efficiency, independent of the
# machine), several seeds each; then mk/scaling_report.py writes results/scaling.md and
# results/scaling.png. Knobs: SCALING_PROG (time scaling), SCALING_EFF_PROGS (efficiency),
# SCALING_BUDGET, SCALING_SEEDS, SCALING_NP, SCALING_ITERS.
set -u
B=${1:-build}
PROG=${SCALING_PROG:-xdp_firewall}
BUDGET=${SCALING_BUDGET:-20}
SEEDS=${SCALING_SEEDS:-1 2 3}
NPS=${SCALING_NP:-1 2 4 8 16}
ITERS=${SCALING_ITERS:-4000}
# Efficiency runs exchange every SLICE proposals per rank: finer than the default 4000 so
# that "proposals to reach a size" is resolved.
SLICE=${SCALING_SLICE:-500}
EFF=${SCALING_EFF_PROGS:-sock_tcp_ports map_array_rw}
OUT=results/scaling
P=$B/corpus/$PROG.o
RUN="mpirun --allow-run-as-root --oversubscribe --mca btl self,vader"
# The kernel timing of the result is not what is measured here: keep it short.
COMMON="--no-bench --no-trace --quiet --set bench.rounds=3 --set bench.packets=4 \
--set bench.live_seconds=0.2"

[ -x "$B/k2-cluster" ] || { echo "bench-scaling: $B/k2-cluster not built"; exit 1; }
mkdir -p "$OUT"
# SCALING_SKIP_TIME=1 keeps the time-scaling reports of an earlier run.
if [ -n "${SCALING_SKIP_TIME:-}" ]; then rm -f "$OUT"/iters-*.json; else rm -f "$OUT"/*.json; fi
{
	echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "cpus: $(nproc) ($(sed -n 's/^model name\t: //p' /proc/cpuinfo | head -n 1))"
	echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "time scaling: $PROG, budget $BUDGET s, np $NPS; efficiency: $EFF, np 4, iters $ITERS"
	echo "seeds: $SEEDS; efficiency exchange every $SLICE proposals per rank"
	echo "k2-cluster: $(git describe --always --dirty 2>/dev/null)"
} >"$OUT/env-new.txt"
[ -n "${SCALING_SKIP_TIME:-}" ] && [ -f "$OUT/env.txt" ] &&
	{ grep -v '^load' "$OUT/env.txt" | sed 's/^/time part: /'; } >>"$OUT/env-new.txt"
mv "$OUT/env-new.txt" "$OUT/env.txt"

for s in $SEEDS; do
	[ -n "${SCALING_SKIP_TIME:-}" ] && break
	for np in $NPS; do
		echo "bench-scaling: time, np $np, seed $s"
		$RUN -np "$np" "$B/k2-cluster" "$P" -o "$OUT/out.o" --budget "$BUDGET" --seed "$s" \
			$COMMON --report "$OUT/time-np$np-s$s.json" >"$OUT/last.log" 2>&1 ||
			{ cat "$OUT/last.log"; exit 1; }
	done
done
for e in $EFF; do
	for s in $SEEDS; do
		for share in true false; do
			for temp in true false; do
				echo "bench-scaling: iters, $e, share_cex $share, tempering $temp, seed $s"
				$RUN -np 4 "$B/k2-cluster" "$B/corpus/$e.o" -o "$OUT/out.o" \
					--iters "$ITERS" --seed "$s" --set cluster.share_cex=$share \
					--set cluster.tempering=$temp \
					--set cluster.slice_iters=$SLICE $COMMON \
					--report "$OUT/iters-$e-share$share-temp$temp-s$s.json" \
					>"$OUT/last.log" 2>&1 || { cat "$OUT/last.log"; exit 1; }
			done
		done
	done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/env.txt"
rm -f "$OUT/out.o" "$OUT/last.log"
/usr/bin/python3 mk/scaling_report.py "$OUT" results/scaling.md results/scaling.png
