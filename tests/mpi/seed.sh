#!/bin/sh
# tests/mpi/seed.sh: --seed with --iters (proposal counts, not time, end every slice) makes a
# run reproducible for a given np: the same output object and the same per-window counts.
. "$(dirname "$0")/mpi_lib"
need
P=$B/corpus/xdp_firewall.o

for i in 1 2; do
	mpi 3 "$P" -o "$T/o$i.o" --iters 3000 --seed 7 --no-bench --no-trace --no-status \
		--report "$T/r$i.json" >"$T/out$i.txt" 2>&1 || { cat "$T/out$i.txt"; fail "run $i"; }
done
check_result "$P" "$T/o1.o" "$T/r1.json"
cmp "$T/o1.o" "$T/o2.o" || fail "the same seed gave two different outputs"
w='[(x["proposals"], x["proofs"], x["equivalent"], x["different"], x["counterexamples"])
	for x in r["windows"]]'
[ "$(j "$T/r1.json" "$w")" = "$(j "$T/r2.json" "$w")" ] || fail "per-window counts differ"
echo "ok: seed 7 twice at np 3: identical outputs ($(j "$T/r1.json" 'r["proposals"]') proposals)"
