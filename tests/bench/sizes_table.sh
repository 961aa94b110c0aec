#!/bin/sh
# tests/bench/sizes_table.sh: mk/bench.py's sizes table on recorded k2-cluster reports
# (tests/data/sizes/: proven, unchanged, z3 unknown with a reason, timed out, with no reason
# (before 971272f), no output written, k2-cluster killed); a missing field is said, never empty.
set -u
T=$(mktemp -d /tmp/k2-sizes-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; [ -f "$T/t.md" ] && cat "$T/t.md"; exit 1; }
src=tests/data/sizes
py=/usr/bin/python3

$py mk/bench.py --sizes-table "$src" >"$T/t.md" || fail "mk/bench.py --sizes-table failed"
row() { grep "^| $1 |" "$T/t.md"; }
json() { $py -c "import json,sys; r=json.load(open(sys.argv[1])); print($2)" "$src/$1.json"; }

# Every field a row needs is in every recorded report (a report writer that renamed one fails
# here as well as in tests/slurm/job.sh on a fresh report).
for j in "$src"/*.json; do
	n=$(basename "$j" .json)
	[ "$n" = runs ] && continue
	[ "$(row "$n" | wc -l)" = 1 ] || fail "not one row for $n"
	for k in prog_type insns_before insns_after windows_improved windows whole_program_z3 \
		proof kernel output; do
		json "$n" "'$k' in r" | grep -qx True || fail "$j lacks $k"
	done
done
grep -q 'lacks' "$T/t.md" && fail "a recorded report said to lack a field"
grep -v '^| \*\*all' "$T/t.md" | grep -qE '\(\)|: \)|\| \|' && fail "an empty reason or cell"

eq='whole program proven equivalent (z3)'
row proven | grep -qF "| proven | xdp | 68 | 57 | 16.2 | 13.1 | 4/14 | $eq | accepted |" ||
	fail "proven row: $(row proven)"
row unchanged |
	grep -qF '| 52 | 52 | 0.0 | – | 0/13 | program unchanged | accepted (program unchanged) |' ||
	fail "unchanged row: $(row unchanged)"

# z3 gave no verdict on the whole program: the reason from the report, not an empty one.
why=$(json unknown "r['proof'].split('(whole program: ', 1)[1][:-1]")
[ -n "$why" ] || fail "unknown.json has no reason to show"
row unknown | grep -qF "whole program not proven ($why)" ||
	fail "unknown row lacks the reason '$why': $(row unknown)"
row timeout | grep -qF 'whole program not proven (z3: timeout)' ||
	fail "timeout row: $(row timeout)"
row unknown_noreason | grep -qF 'whole program not proven (z3: unknown, no reason in the report)' ||
	fail "unknown_noreason row: $(row unknown_noreason)"

# No output written: no kernel verdict, no size gain, and the exit status of the killed run.
r=$(row not_written)
echo "$r" | grep -qF '**no output written**' || fail "not_written row: $r"
k=$(echo "$r" | awk -F'|' '{print $(NF-1)}')
echo "$k" | grep -qi accepted && fail "not_written: kernel verdict '$k' for no output"
echo "$r" | grep -qF '| 388 | (383) | – |' || fail "not_written counted as smaller: $r"
echo "$r" | grep -qF 'exit 137 (killed by signal 9)' || fail "not_written: no exit status: $r"
# Totals: the unwritten output counts as unchanged.
b=$(cat "$src"/[!r]*.json | $py -c "import sys,json
d=json.JSONDecoder(); s=sys.stdin.read().strip(); t=a=0
while s:
    r,i=d.raw_decode(s); s=s[i:].strip(); t+=r['insns_before']
    a+=r['insns_after'] if r['output'] else r['insns_before']
print(t, a)")
grep -qF "| **all** | | **${b% *}** | **${b#* }** |" "$T/t.md" || fail "totals are not $b"

# A report without a field the table needs: said in its row.
mkdir "$T/lack"
for k in whole_program_z3 kernel output; do
	$py -c "import json,sys; r=json.load(open(sys.argv[1])); del r[sys.argv[3]]
json.dump(r, open(sys.argv[2], 'w'))" "$src/proven.json" "$T/lack/no_$k.json" "$k"
done
$py mk/bench.py --sizes-table "$T/lack" >"$T/t.md" || fail "--sizes-table on incomplete reports"
for k in whole_program_z3 kernel output; do
	row "no_$k" | grep -qF "report lacks $k" || fail "no_$k: $(row "no_$k")"
done
mkdir "$T/empty"
$py mk/bench.py --sizes-table "$T/empty" >/dev/null 2>&1 && fail "a table from no reports"
echo "PASS: sizes table: $(ls "$src"/*.json | wc -l) recorded reports, missing fields said"
