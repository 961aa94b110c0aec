#!/bin/sh
# tests/mpi/cex.sh: counterexamples are shared: two workers on one window (np 4), every
# counterexample one finds is imported by the other (event logs), and the report counts them.
. "$(dirname "$0")/mpi_lib"
need
P=$B/corpus/xdp_firewall.o

# One window, two workers on it (rank 3 is the bench rank, rank 0 coordinates).
mpi 4 "$P" -o "$T/o.o" --budget 8 --windows 37:42 $QUICK --report "$T/r.json" --no-trace \
	--log "$T/log" >"$T/out.txt" 2>&1 || { cat "$T/out.txt"; fail "exited $?"; }
grep '^exchange:' "$T/out.txt"
check_result "$P" "$T/o.o" "$T/r.json"
found=$(j "$T/r.json" 'r["counterexamples_found"]')
[ "$found" -ge 1 ] || fail "no counterexample found"
[ "$(j "$T/r.json" 'r["cex_relayed"]')" -ge "$found" ] || fail "fewer relays than counterexamples"
j "$T/r.json" 'r["cex_rejected_elsewhere"]' | grep -qE '^[0-9]+$' || fail "no rejection count"
# Each counterexample found by one worker before the stop reached the other.
stop=$(sed -n 's/^t=\([0-9.]*\) rank 0 event: stopping.*/\1/p' "$T/log.rank0")
[ -n "$stop" ] || fail "no stop in rank 0's log"
n=0
for a in 1 2; do
	o=$((3 - a))
	for h in $(awk -v s="$stop" '/cex found window 0/ { t = substr($1, 3); \
			if (t + 1.0 < s) print $NF }' "$T/log.rank$a"); do
		grep -q "cex import window 0 hash $h from rank $a" "$T/log.rank$o" ||
			fail "counterexample $h of rank $a never reached rank $o"
		n=$((n + 1))
	done
done
[ "$n" -ge 1 ] || fail "no counterexample found early enough to check"
echo "ok: $n counterexamples seen by both ranks of the window; $found in all"
