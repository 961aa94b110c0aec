#!/bin/sh
# tests/slurm/gather.sh: slurm/gather.py on a recorded sweep (tests/data/scaling/): one row per
# report with its numbers, the per-rank summary, the plot; no reports is an error, not a table.
set -u
T=$(mktemp -d /tmp/k2-gather-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
src=tests/data/scaling
[ -n "$(ls $src/np*-seed*.json 2>/dev/null)" ] || fail "no recorded sweep in $src"

/usr/bin/python3 slurm/gather.py "$src" --md "$T/s.md" --png "$T/s.png" || fail "gather.py failed"
[ -s "$T/s.png" ] || fail "no plot"
n=$(ls $src/np*-seed*.json | wc -l)
rows=$(sed -n '/^## Every run/,$p' "$T/s.md" | grep -c '^| [0-9]')
[ "$rows" = "$n" ] || fail "$rows rows for $n reports"
for j in $src/np*-seed*.json; do
	np=$(basename "$j" | sed 's/np\([0-9]*\)-seed.*/\1/')
	seed=$(basename "$j" .json | sed 's/.*-seed//')
	after=$(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['insns_after'])" "$j")
	grep -q "^| $np | $seed | [0-9]* | [0-9]* | $after |" "$T/s.md" ||
		fail "no row for $j with $after instructions after"
done
nps=$(ls $src/np*-seed*.json | sed 's/.*np\([0-9]*\)-.*/\1/' | sort -u | wc -l)
sum=$(sed -n '/^## Per task count/,/^## Every run/p' "$T/s.md" | grep -c '^| [0-9]')
[ "$sum" = "$nps" ] || fail "$sum summary rows for $nps task counts"

mkdir "$T/empty"
/usr/bin/python3 slurm/gather.py "$T/empty" --md "$T/e.md" --png "$T/e.png" 2>/dev/null &&
	fail "an empty directory gave a table"
[ -e "$T/e.md" ] && fail "an empty directory left a file"
echo "PASS: gather.py: $n runs, $nps task counts"
