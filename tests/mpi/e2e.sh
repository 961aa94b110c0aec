#!/bin/sh
# tests/mpi/e2e.sh: k2-cluster alone and under mpirun -np 2, 4 and 8: smaller (never larger),
# proven, kernel-accepted outputs, the JSON report, the HDF5 trace (/search and /bench), the
# closing table, the bench rank's measurements (np 4).
. "$(dirname "$0")/mpi_lib"
need
P=$B/corpus/xdp_firewall.o

# np 1, no mpirun: every role in one process.
"$K2C" "$P" -o "$T/o1.o" --budget 4 $QUICK --report "$T/r1.json" --trace "$T/t1.h5" \
	>"$T/out1.txt" 2>&1 || { cat "$T/out1.txt"; fail "np 1 exited $?"; }
check_result "$P" "$T/o1.o" "$T/r1.json"
[ "$(j "$T/r1.json" 'r["ranks"]')" = 1 ] || fail "np 1: ranks"
grep -q '^window *range *insns *after' "$T/out1.txt" || fail "np 1: no closing table"
grep -q '^kernel: ' "$T/out1.txt" || fail "np 1: no kernel line"

# np 2: rank 0 coordinates and searches beside one worker; no bench rank.
mpi 2 "$P" -o "$T/o2.o" --budget 4 $QUICK --report "$T/r2.json" --no-trace \
	>"$T/out2.txt" 2>&1 || { cat "$T/out2.txt"; fail "np 2 exited $?"; }
check_result "$P" "$T/o2.o" "$T/r2.json"
[ "$(j "$T/r2.json" 'r["bench_rank"]')" = -1 ] || fail "np 2: a bench rank"

# np 4: rank 0 coordinates, 2 workers, rank 3 is the bench rank.
mpi 4 "$P" -o "$T/o4.o" --budget 6 $QUICK --report "$T/r4.json" --trace "$T/t4.h5" \
	>"$T/out4.txt" 2>&1 || { cat "$T/out4.txt"; fail "np 4 exited $?"; }
cat "$T/out4.txt"
check_result "$P" "$T/o4.o" "$T/r4.json"
[ "$(j "$T/r4.json" 'r["bench_rank"]')" = 3 ] || fail "np 4: bench rank is not 3"
[ "$(j "$T/r4.json" 'r["workers"]')" = 2 ] || fail "np 4: workers"
# np 8 (oversubscribed): 6 workers; the ranks still fit the windows and finish cleanly.
mpi 8 "$P" -o "$T/o8.o" --budget 4 $QUICK --report "$T/r8.json" --no-trace \
	>"$T/out8.txt" 2>&1 || { cat "$T/out8.txt"; fail "np 8 exited $?"; }
check_result "$P" "$T/o8.o" "$T/r8.json"
[ "$(j "$T/r8.json" 'r["workers"]')" = 6 ] || fail "np 8: workers"
[ "$(j "$T/r8.json" 'r["ranks_dropped"]')" = 0 ] || fail "np 8: ranks dropped"
for t in "$T/t1.h5" "$T/t4.h5"; do
	h5ls -r "$t" >"$T/h5.txt" || fail "$t: not HDF5"
	for d in /search/progress /search/windows /bench/candidates; do
		grep -q "^$d " "$T/h5.txt" || { cat "$T/h5.txt"; fail "$t: no $d"; }
	done
done
# The bench rank verified every window rewrite it was sent and the /bench table holds them.
n=$($PY -c "import h5py,sys; print(len(h5py.File(sys.argv[1])['/bench/candidates']))" "$T/t4.h5")
[ "$n" -ge 1 ] || fail "np 4: /bench/candidates is empty"
if [ "$(j "$T/r4.json" 'r["windows_improved"]')" -gt 0 ]; then
	j "$T/r4.json" 'r["latency_ratio"]' | grep -qE '^[0-9.]+$' || fail "np 4: no latency ratio"
fi
echo "ok: np 1, 2, 4, 8"
