#!/bin/sh
# mk/demo.sh BUILD: `make demo`: k2-cluster with 4 MPI ranks on a bundled corpus program; prints the
# listing before and after, the proofs, the kernel verdict and the in-kernel latency ratio.
# K2_DEMO_PROG (a build/corpus name, default xdp_gtsm) and K2_DEMO_BUDGET (seconds, default 20).
set -eu
build=${1:-build}
prog=${K2_DEMO_PROG:-xdp_gtsm}
budget=${K2_DEMO_BUDGET:-20}
in=$build/corpus/$prog.o
out=$build/demo
if [ ! -x "$build/k2-cluster" ]; then
	echo "demo: no $build/k2-cluster: mpi/ is not in this tree" >&2
	exit 1
fi
[ -f "$in" ] || { echo "demo: no $in (corpus/$prog.bpf.c)" >&2; exit 1; }
mkdir -p "$out"
rm -f "$out/$prog.o" "$out/$prog.json"

hr() { printf '\n== %s\n' "$*"; }
# The text listing without the byte column, for reading side by side.
listing() { "$build/k2" disasm "$1" | sed -nE 's/^ *[0-9]+:\t([0-9a-f]{2} ){7}[0-9a-f]{2}\t//p'; }
field() { /usr/bin/python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print($1)" "$2"; }

hr "k2-cluster: $in, 4 MPI ranks, $budget s of search"
echo "mpirun --allow-run-as-root --oversubscribe --enable-recovery -np 4 $build/k2-cluster $in" \
	"-o $out/$prog.o ..."
# A run that outlives its budget by far is stopped (mpirun passes the TERM on to the ranks).
limit=$((budget * 3 + 120))
rc=0
timeout --foreground -k 15 "$limit" \
	mpirun --allow-run-as-root --oversubscribe --enable-recovery -np 4 \
	"$build/k2-cluster" "$in" -o "$out/$prog.o" \
	--budget "$budget" --report "$out/$prog.json" --trace "$out/$prog.h5" </dev/null || rc=$?
[ "$rc" = 124 ] && { echo "demo: k2-cluster still running after $limit s: stopped" >&2; exit 1; }
[ "$rc" = 0 ] || { echo "demo: k2-cluster exited with status $rc" >&2; exit 1; }
r=$out/$prog.json
[ -s "$r" ] || { echo "demo: k2-cluster wrote no report $r" >&2; exit 1; }
if [ ! -s "$out/$prog.o" ]; then
	echo "demo: k2-cluster wrote no output ($(field "r['proof']" "$r")): nothing to list," \
		"load or time" >&2
	exit 1
fi

hr "listing: clang -O2 (left) and k2-cluster (right); | changed, < removed, > added"
listing "$in" >"$out/before.txt"
listing "$out/$prog.o" >"$out/after.txt"
diff -y -W 100 "$out/before.txt" "$out/after.txt" || true

hr "proofs"
echo "instructions: $(field "r['insns_before']" "$r") -> $(field "r['insns_after']" "$r")" \
	"($(field "r['windows_improved']" "$r") of $(field "len(r['windows'])" "$r") windows" \
	"rewritten)"
echo "proof: $(field "r['proof']" "$r"); interpreter: $(field "r['interp_inputs']" "$r")" \
	"inputs agree"
echo "window proofs: $(field "sum(w['proofs'] for w in r['windows'])" "$r") candidates proven" \
	"equivalent, $(field "sum(w['unsafe'] for w in r['windows'])" "$r") refused as unsafe," \
	"$(field "r['counterexamples_found']" "$r") counterexamples"

hr "kernel verdict"
echo "k2-cluster: $(field "r['kernel']" "$r")"

hr "in-kernel latency (k2 bench: BPF_PROG_TEST_RUN, interleaved rounds, same packets)"
"$build/k2" bench "$in" "$out/$prog.o" --trace "$out/$prog-bench.h5" --xdp-live 1 2>&1 |
	grep -v 'round [0-9]*/' || true
ratio=$(/usr/bin/python3 -c "
import h5py, sys
c = h5py.File(sys.argv[1])['bench/candidates'][()]
k = [x for x in c if x['id'] == 1]
k = k[-1] if k else None
print('%.3f [%.3f, %.3f]' % (k['ratio'], k['ratio_lo'], k['ratio_hi']) if k else 'not measured')
" "$out/$prog-bench.h5" 2>/dev/null || echo "not measured")
hr "latency ratio k2-cluster / clang -O2: $ratio (95% CI; 1 = same)"
echo "output: $out/$prog.o; report: $r; traces: $out/$prog.h5, $out/$prog-bench.h5"
