#!/bin/sh
# tests/mpi/slow.sh: a worker that stops answering but is not dead (SIGSTOP, as a rank deep in
# z3 on a loaded node looks to rank 0) is dropped, its window goes to others; once it runs
# again it is told to stop and ends by itself, so mpirun (no --enable-recovery) exits 0 with a
# correct output.
. "$(dirname "$0")/mpi_lib"
need
P=$B/corpus/xdp_firewall.o

# z3 timeout 1 s: rank 0 drops a silent rank of its node after 3 x (0.2 + 2 x 1 + 0.5) s.
mpirun --allow-run-as-root --oversubscribe --mca btl self,vader -np 4 \
	"$K2C" "$P" -o "$T/o.o" --budget 16 $QUICK --set smt.timeout_ms=1000 \
	--set cluster.heartbeat_timeout_ms=1000 --report "$T/r.json" --no-trace --log "$T/log" \
	>"$T/out.txt" 2>&1 &
mp=$!
pid=$(wait_assigned 1 "$T/o.o" "$T/log" $mp) || exit 1
sleep 1
kill -STOP "$pid"
echo "stopped rank 1 (pid $pid)"
for i in $(seq 1 70); do
	sleep 0.2
	grep -q 'drop rank 1' "$T/log.rank0" 2>/dev/null && break
done
kill -CONT "$pid"
echo "rank 1 runs again"
wait $mp
st=$?
cat "$T/out.txt"
grep -q 'drop rank 1' "$T/log.rank0" || fail "rank 0 did not drop the silent rank 1"
[ $st = 0 ] || fail "the job exited $st after dropping a slow worker"
grep -q 'finalize (ok)' "$T/log.rank1" || fail "rank 1 did not end by itself"
check_result "$P" "$T/o.o" "$T/r.json"
[ "$(j "$T/r.json" 'r["ranks_dropped"]')" -ge 1 ] || fail "report: no rank dropped"
echo "ok: the slow rank was dropped and ended cleanly"
