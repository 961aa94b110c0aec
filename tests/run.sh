#!/bin/sh
# tests/run.sh BUILD [BUILD...]: runs every test binary under BUILD/tests/ (Criterion) and every
# tests/*/*.sh script once, then prints one closing line "tests: N passed, N failed".
# Each test may take K2_TEST_TIMEOUT seconds (default 900); a hung one is killed (with its
# process group: mpirun and its ranks) and counted as failed, so the run always ends.
set -u
limit=${K2_TEST_TIMEOUT:-900}
pass=0; fail=0; failed=""
top=$(cd "$(dirname "$0")/.." && pwd)

count() { # name status output-file
	syn=$(grep -a 'Synthesis:' "$3" | tail -n 1)
	if [ -n "$syn" ]; then
		t=$(echo "$syn" | sed -n 's/.*Tested: \([0-9]*\).*/\1/p')
		p=$(echo "$syn" | sed -n 's/.*Passing: \([0-9]*\).*/\1/p')
		pass=$((pass + p)); fail=$((fail + t - p))
		[ "$t" != "$p" ] && failed="$failed $1"
		[ "$2" != 0 ] && [ "$t" = "$p" ] && { fail=$((fail + 1)); failed="$failed $1(exit $2)"; }
	elif [ "$2" = 0 ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1)); failed="$failed $1"
	fi
}

out=$(mktemp)
trap 'rm -f "$out"' EXIT
for b in "$@"; do
	for t in $(find "$b/tests" -type f -perm -u+x 2>/dev/null | sort); do
		echo "== $t"
		(cd "$top" && timeout -k 10 "$limit" "$t") >"$out" 2>&1
		st=$?
		cat "$out"
		[ "$st" = 124 ] && echo "TIMEOUT: $t ran over $limit s"
		count "$t" "$st" "$out"
	done
done
# Script tests (mpirun, kernel, slurm) run once, against the first build.
for s in $(ls "$top"/tests/*/*.sh 2>/dev/null | sort); do
	echo "== $s"
	(cd "$top" && K2_BUILD="$1" timeout -k 10 "$limit" sh "$s") >"$out" 2>&1
	st=$?
	cat "$out"
	[ "$st" = 124 ] && echo "TIMEOUT: $s ran over $limit s"
	count "$s" "$st" "$out"
done
[ -n "$failed" ] && echo "failed:$failed"
echo "tests: $pass passed, $fail failed"
[ "$fail" = 0 ]
