#!/bin/sh
# tests/unit/cfg_analyze.sh: `k2 analyze` reports types and windows, and refuses bad --windows.
set -u
B=${K2_BUILD:-build}
K2=$B/k2
obj=$B/corpus/xdp_firewall.o
fail=0
check() { # description, command output file, pattern
	if ! grep -q -- "$3" "$2"; then
		echo "cfg_analyze: $1: no '$3' in:"; cat "$2"; fail=$((fail + 1))
	fi
}
out=$(mktemp)
trap 'rm -f "$out"' EXIT

[ -x "$K2" ] && [ -f "$obj" ] || { echo "cfg_analyze: missing $K2 or $obj (run make)"; exit 1; }
"$K2" analyze "$obj" >"$out" 2>&1 || { echo "cfg_analyze: analyze failed"; cat "$out"; exit 1; }
check "summary" "$out" "typed 38 (100.0%)"
check "no violations" "$out" "violations 0;"
"$K2" analyze -v "$obj" >"$out" 2>&1
check "listing" "$out" "r ctx+4 (data_end)"
check "windows" "$out" "window 0:"
"$K2" analyze -vv "$obj" >"$out" 2>&1
check "states" "$out" "r1=ctx(off=0)"
if "$K2" analyze --windows 0:3,2:5 "$obj" >"$out" 2>&1; then
	echo "cfg_analyze: overlapping windows accepted"; fail=$((fail + 1))
fi
check "overlap" "$out" "windows 0:3 and 2:5 overlap"
if "$K2" analyze --windows 5-7 "$obj" >"$out" 2>&1; then
	echo "cfg_analyze: bad syntax accepted"; fail=$((fail + 1))
fi
check "syntax" "$out" "expected S:E at '5-7'"
"$K2" analyze --windows 0:2 "$obj" >"$out" 2>&1
check "user window" "$out" "windows 1 covering 2 insns"
if "$K2" analyze /nonexistent.o >"$out" 2>&1; then
	echo "cfg_analyze: missing file accepted"; fail=$((fail + 1))
fi
check "missing file" "$out" "nonexistent.o"
echo "cfg_analyze: $fail failures"
[ $fail = 0 ]
