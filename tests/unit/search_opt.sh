#!/bin/sh
# tests/unit/search_opt.sh: `k2 opt` refuses bad arguments clearly and never leaves a bad output.
set -u
B=${K2_BUILD:-build}
K2=$B/k2
obj=$B/corpus/xdp_gtsm.o
fail=0
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
out=$dir/log
check() { # description, output file, pattern
	if ! grep -q -- "$3" "$2"; then
		echo "search_opt: $1: no '$3' in:"; cat "$2"; fail=$((fail + 1))
	fi
}
refuse() { # description, expected exit code, command...
	d=$1 want=$2
	shift 2
	"$@" >"$out" 2>&1
	rc=$?
	if [ $rc != "$want" ]; then
		echo "search_opt: $d: exit $rc, expected $want"; cat "$out"; fail=$((fail + 1))
	fi
}

[ -x "$K2" ] && [ -f "$obj" ] || { echo "search_opt: missing $K2 or $obj (run make)"; exit 1; }
refuse "no arguments" 2 "$K2" opt
check "usage" "$out" "usage: k2 opt"
refuse "no output" 2 "$K2" opt "$obj"
check "no -o" "$out" "expected one input object and -o OUT.o"
refuse "missing input" 1 "$K2" opt /nonexistent.o -o "$dir/x.o"
check "missing file named" "$out" "nonexistent.o"
refuse "unknown section" 1 "$K2" opt "$obj" -s nosuch -o "$dir/x.o"
check "section named" "$out" "no program 'nosuch'"
refuse "bad key" 2 "$K2" opt "$obj" --set search.nosuch=1 -o "$dir/x.o"
check "key named" "$out" "unknown configuration key 'search.nosuch'"
refuse "bad value" 2 "$K2" opt "$obj" --mcpu 9 -o "$dir/x.o"
check "range" "$out" "search.mcpu: 9 is out of range"
refuse "no latency table" 1 "$K2" opt "$obj" --objective latency \
	--set search.latency_table="$dir/none.ini" -o "$dir/x.o"
check "latency table" "$out" "bench-opcodes"
refuse "bad windows" 1 "$K2" opt "$obj" --windows 5-7 -o "$dir/x.o"
check "windows syntax" "$out" "expected S:E at '5-7'"
refuse "window into a call" 1 "$K2" opt "$B/corpus/xdp_firewall.o" --windows 0:30 \
	-o "$dir/x.o"
check "window rule" "$out" "window 0:30"
[ -e "$dir/x.o" ] && { echo "search_opt: an output was written after an error"; fail=$((fail + 1)); }
echo "search_opt: $fail failures"
[ $fail = 0 ]
