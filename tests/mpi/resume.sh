#!/bin/sh
# tests/mpi/resume.sh: SIGTERM to a run writes the best proven result so far and a
# checkpoint; --resume continues it (under mpirun, stopped again by SIGUSR1 to mpirun as
# Slurm's warning does), and a last --resume finishes the budget with the same or a better
# result, counted over all runs.
. "$(dirname "$0")/mpi_lib"
need
P=$B/corpus/xdp_firewall.o
CK=$T/ck

# 1: one process, SIGTERM after 4 s.
"$K2C" "$P" -o "$T/o1.o" --budget 16 --checkpoint "$CK" $QUICK --no-trace \
	--report "$T/r1.json" >"$T/out1.txt" 2>&1 &
p=$!
sleep 4
kill -TERM $p
wait $p || { cat "$T/out1.txt"; fail "run 1 exited $? after SIGTERM"; }
[ "$(j "$T/r1.json" 'r["stop_reason"]')" = signal ] || fail "run 1 did not stop on the signal"
[ -s "$CK" ] || fail "no checkpoint after SIGTERM"
check_result "$P" "$T/o1.o" "$T/r1.json"

# 2: mpirun -np 3 resumes it; SIGUSR1 to mpirun after 4 s.
(mpi_bg 3 "$P" -o "$T/o2.o" --budget 16 --resume "$CK" --checkpoint "$CK" $QUICK --no-trace \
	--report "$T/r2.json" >"$T/out2.txt" 2>&1) &
p=$!
sleep 4
kill -USR1 $p
wait $p || { cat "$T/out2.txt"; fail "run 2 exited $? after SIGUSR1"; }
[ "$(j "$T/r2.json" 'r["stop_reason"]')" = signal ] || fail "run 2 did not stop on SIGUSR1"
[ "$(j "$T/r2.json" 'r["resumed_runs"]')" = 1 ] || fail "run 2 is not a resumed run"
check_result "$P" "$T/o2.o" "$T/r2.json"

# 3: np 2 finishes what is left of the 16 s.
mpi 2 "$P" -o "$T/o3.o" --budget 16 --resume "$CK" $QUICK --no-trace \
	--report "$T/r3.json" >"$T/out3.txt" 2>&1 || { cat "$T/out3.txt"; fail "run 3 exited $?"; }
cat "$T/out3.txt"
[ "$(j "$T/r3.json" 'r["resumed_runs"]')" = 2 ] || fail "run 3 is not the second resume"
# Windows' shares are rescaled to the time left, so the last ones may end with the budget.
case "$(j "$T/r3.json" 'r["stop_reason"]')" in
"budget spent" | "every window done") ;;
*) fail "run 3 did not finish: $(j "$T/r3.json" 'r["stop_reason"]')" ;;
esac
s=$(j "$T/r3.json" 'round(r["search_s"])')
[ "$s" -ge 15 ] && [ "$s" -le 18 ] || fail "search time over the three runs: $s s, not 16"
check_result "$P" "$T/o3.o" "$T/r3.json"
a1=$(j "$T/r1.json" 'r["insns_after"]'); a3=$(j "$T/r3.json" 'r["insns_after"]')
[ "$a3" -le "$a1" ] || fail "the resumed job ended worse ($a3) than where it stopped ($a1)"
echo "ok: stopped, resumed, stopped, finished: $a1 -> $a3 insns"
