#!/bin/sh
# tests/unit/smt_cli.sh: `k2 equiv`: exit codes, counterexamples confirmed, windows, --smt2.
set -u
B=${K2_BUILD:-build}
K2=$B/k2
fail=0
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
[ -x "$K2" ] || { echo "smt_cli: missing $K2 (run make)"; exit 1; }

expect() { # description, wanted exit code, pattern in the output, command...
	desc=$1 want=$2 pat=$3
	shift 3
	"$@" >"$d/out" 2>&1
	got=$?
	if [ "$got" != "$want" ] || ! grep -q -- "$pat" "$d/out"; then
		echo "smt_cli: $desc: exit $got (want $want), want '$pat' in:"; cat "$d/out"
		fail=$((fail + 1))
	fi
}

# r0 = (data_end - data) * 2, and variants
cat >"$d/a.s" <<'S'
.license "GPL"
.section xdp
.prog p
	r2 = *(u32 *)(r1 + 4)
	r1 = *(u32 *)(r1 + 0)
	r0 = r2
	r0 -= r1
	r0 *= 2
	exit
S
sed 's/r0 \*= 2/r0 <<= 1/' "$d/a.s" >"$d/b.s"
sed 's/r0 \*= 2/r0 *= 3/' "$d/a.s" >"$d/c.s"
for f in a b c; do
	"$K2" asm "$d/$f.s" -o "$d/$f.o" >"$d/out" 2>&1 ||
		{ echo "smt_cli: asm $f"; cat "$d/out"; exit 1; }
done

expect "mul vs shift" 0 "^equivalent" "$K2" equiv "$d/a.o" "$d/b.o"
expect "mul 2 vs mul 3" 1 "interpreter: confirmed" "$K2" equiv "$d/a.o" "$d/c.o"
expect "counterexample printed" 1 "counterexample input" "$K2" equiv "$d/a.o" "$d/c.o"
expect "window equal" 0 "^equivalent" "$K2" equiv "$d/a.o" "$d/b.o" --window 4:5
expect "window differs" 1 "confirmed, the windows differ" "$K2" equiv "$d/a.o" "$d/c.o" \
	--window 3:5
expect "window by whole programs" 1 "interpreter: confirmed" "$K2" equiv "$d/a.o" "$d/c.o" \
	--window 3:5 --no-modular
expect "all speed-ups off" 0 "^equivalent" "$K2" equiv "$d/a.o" "$d/b.o" --no-memtype \
	--no-maptype --no-offset --no-cache --no-prefilter
expect "B not A with the window replaced" 2 "is not A with window" "$K2" equiv "$d/a.o" \
	"$d/c.o" --window 2:3
expect "bad window" 2 "expected S:E" "$K2" equiv "$d/a.o" "$d/b.o" --window 5:2
expect "missing file" 2 "k2 equiv:" "$K2" equiv "$d/a.o" "$d/none.o"
expect "smt2 written" 0 "^equivalent" "$K2" equiv "$d/a.o" "$d/b.o" --smt2 "$d/q.smt2"
grep -q "(check-sat)" "$d/q.smt2" 2>/dev/null ||
	{ echo "smt_cli: no query in --smt2 file"; fail=$((fail + 1)); }
ls "$d"/q.smt2.tmp* >/dev/null 2>&1 && { echo "smt_cli: temp file left"; fail=$((fail + 1)); }
echo "smt_cli: $fail failures"
[ "$fail" = 0 ]
