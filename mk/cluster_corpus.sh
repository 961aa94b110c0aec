#!/bin/sh
# mk/cluster_corpus.sh BUILD [NP] [BUDGET]: k2-cluster (mpirun -np NP, default 4) on every
# corpus program; each output checked by the kernel verifier (k2 bench) and, when the build
# has `k2 equiv`, by z3 as a whole. Writes results/cluster_corpus.md (reports in
# results/cluster_corpus/; CORPUS_ONLY="prog ..." runs only those again, keeping the rest).
set -u
B=${1:-build}
NP=${2:-4}
BUDGET=${3:-20}
OUT=results/cluster_corpus
mkdir -p "$OUT/rows"
[ -n "${CORPUS_ONLY:-}" ] || rm -f "$OUT"/*.json "$OUT"/rows/*
md=$OUT.md.tmp
{
	echo "# k2-cluster on the corpus"
	echo
	echo "\`mpirun --oversubscribe -np $NP build/k2-cluster PROG.o --budget $BUDGET\` (rank 0"
	echo "coordinates, $((NP - 2)) workers, rank $((NP - 1)) the bench rank), $(date -u '+%Y-%m-%d')"
	echo "on $(nproc) shared cores (load $(cut -d' ' -f1 /proc/loadavg) at the start)."
	echo "\"kernel (k2 bench)\": the output loaded again by \`k2 bench\`, apart from k2-cluster."
	echo "Latency: the result against the original, interleaved BPF_PROG_TEST_RUN on the"
	echo "bench rank (median ratio [95% CI]; \"~\" = within the A/A noise of identical copies)."
	echo
	echo "| program | type | insns before | after | windows improved | proof | kernel | kernel (k2 bench) | latency ratio | XDP Mpps orig/new | cex | s |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
} >"$md"
fail=0
for src in corpus/*.bpf.c; do
	p=$(basename "$src" .bpf.c)
	[ -z "${CORPUS_ONLY:-}" ] || echo " $CORPUS_ONLY " | grep -q " $p " || continue
	row=$OUT/rows/$p
	o=$OUT/$p.o
	t0=$(date +%s)
	if ! mpirun --allow-run-as-root --oversubscribe --mca btl self,vader -np "$NP" \
		"$B/k2-cluster" "$B/corpus/$p.o" -o "$o" --budget "$BUDGET" --quiet --no-status \
		--no-trace --report "$OUT/$p.json" >"$OUT/$p.log" 2>&1; then
		echo "| $p | FAILED: $(grep -m 1 k2-cluster "$OUT/$p.log") |" >"$row"
		fail=1
		continue
	fi
	kb=no
	"$B/k2" bench "$B/corpus/$p.o" "$o" --no-trace --rounds 1 --packets 1 --xdp-live 0 \
		--no-pin 2>&1 | grep -q "candidate 1 ($o): accepted" && kb=accepted
	/usr/bin/python3 - "$OUT/$p.json" "$kb" "$(($(date +%s) - t0))" >"$row" <<'PY'
import json, math, sys
r = json.load(open(sys.argv[1]))
def f(x, s):
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, s)
lat = "-"
if r.get("latency_ratio") is not None and not math.isnan(r["latency_ratio"]):
    lo, hi = r["latency_ratio_ci"]
    lat = "%.3f [%.3f, %.3f]%s" % (r["latency_ratio"], lo, hi,
                                   "" if r["latency_resolved"] == 1 else " ~")
pps = r.get("xdp_pps", [None, None])
pps = "-" if pps[0] is None or math.isnan(pps[0]) else "%.2f / %.2f" % (pps[0] / 1e6, pps[1] / 1e6)
print("| %s | %s | %d | %d | %d/%d | %s | %s | %s | %s | %s | %d | %s |" % (
    r["program"].split("/")[-1][:-2], r["prog_type"], r["insns_before"], r["insns_after"],
    r["windows_improved"], len(r["windows"]),
    "z3 whole" if r["whole_program_z3"] == "equivalent" else "z3 per window",
    r["kernel"].split(" (")[0].split(";")[0], sys.argv[2], lat, pps,
    r["counterexamples_found"], sys.argv[3]))
PY
	rm -f "$o"
done
cat "$OUT"/rows/* >>"$md"
{
	echo
	echo "Rows not marked FAILED: mpirun exited 0. Ranks dropped over all jobs:" \
		"$(cat "$OUT"/*.json | grep -o '"ranks_dropped": *[0-9]*' |
			awk '{ n += $NF } END { print n + 0 }'); load $(cut -d' ' -f1 /proc/loadavg) at the end."
} >>"$md"
mv "$md" "$OUT.md"
exit $fail
