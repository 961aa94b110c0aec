#!/bin/sh
# tests/mpi/compose.sh: windows are verified independently, so any set of proven window
# rewrites composes: random sets drawn from what the run proved, spliced together, are proven
# equivalent to the input as whole programs by z3 (--compose-check).
. "$(dirname "$0")/mpi_lib"
need
for p in xdp_proto_count map_array_rw; do
	P=$B/corpus/$p.o
	mpi 2 "$P" -o "$T/$p.o" --budget 6 --compose-check 6 $QUICK --no-bench --no-trace \
		--report "$T/$p.json" >"$T/out.txt" 2>&1 || { cat "$T/out.txt"; fail "$p: exited $?"; }
	grep '^compose check:' "$T/out.txt"
	[ "$(j "$T/$p.json" 'r["compose_check"]["different"]')" = 0 ] ||
		fail "$p: a composition of proven rewrites is not equivalent"
	[ "$(j "$T/$p.json" 'r["compose_check"]["equivalent"]')" -ge 1 ] ||
		fail "$p: no composition proven (nothing to compose?)"
	[ "$(j "$T/$p.json" 'r["windows_improved"]')" -ge 1 ] || fail "$p: nothing improved"
done
echo "ok: random compositions of proven rewrites are equivalent"
