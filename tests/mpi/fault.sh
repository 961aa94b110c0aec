#!/bin/sh
# tests/mpi/fault.sh: a worker killed mid-run (SIGKILL) is dropped after the heartbeat
# timeout, its window goes to others, and the job still ends with a correct output.
. "$(dirname "$0")/mpi_lib"
need
P=$B/corpus/xdp_firewall.o

mpirun --allow-run-as-root --oversubscribe --mca btl self,vader --enable-recovery -np 4 \
	"$K2C" "$P" -o "$T/o.o" --budget 14 $QUICK \
	--report "$T/r.json" --no-trace --log "$T/log" \
	>"$T/out.txt" 2>&1 &
mp=$!
pid=$(wait_assigned 1 "$T/o.o" "$T/log" $mp) || exit 1
sleep 3
kill -KILL "$pid"
echo "killed rank 1 (pid $pid)"
wait $mp
st=$?
cat "$T/out.txt"
[ $st = 0 ] || fail "the job exited $st after losing a worker"
check_result "$P" "$T/o.o" "$T/r.json"
[ "$(j "$T/r.json" 'r["ranks_dropped"]')" -ge 1 ] || fail "the dead rank was not dropped"
grep -q 'rank 1.*drop\|drop.*rank 1' "$T/log.rank0" || fail "rank 0's log says nothing of rank 1"
echo "ok: the job finished without rank 1"
