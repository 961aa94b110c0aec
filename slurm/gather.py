#!/usr/bin/python3
"""slurm/gather.py: a scaling sweep's reports and traces (npN-seedS.json/.h5) -> scaling.md + plot.

    /usr/bin/python3 slurm/gather.py DIR [--md results/slurm-scaling.md] [--png F.png]

Per run: ranks, searching ranks, instructions before/after, time to the last improvement,
proposals and proposals/s, counterexamples, proofs. Per task count: the mean and range over
seeds. The plot: the program's instruction count over search time (best proven so far, from
the trace's /search/progress), and proposal throughput against task count.
"""
import argparse
import datetime
import glob
import json
import math
import os
import re
import sys


def load_runs(d):
    runs = []
    for path in sorted(glob.glob(os.path.join(d, "np*-seed*.json"))):
        m = re.search(r"np(\d+)-seed(\d+)\.json$", path)
        try:
            with open(path) as f:
                r = json.load(f)
        except (OSError, ValueError) as e:
            print(f"gather: {path}: {e}", file=sys.stderr)
            continue
        r["_np"], r["_seed"], r["_path"] = int(m.group(1)), int(m.group(2)), path
        h5 = path[:-5] + ".h5"
        r["_curve"], r["_ttb"] = trace_curve(h5, r)
        runs.append(r)
    return runs


def trace_curve(h5, r):
    """(times, program insns) of the best proven program over time; time of the last gain."""
    try:
        import h5py
    except ImportError:
        return None, math.nan
    if not os.path.exists(h5):
        return None, math.nan
    with h5py.File(h5, "r") as f:
        if "search/progress" not in f:
            return None, math.nan
        p = f["search/progress"][()]
        ttb = math.nan
        if "search/windows" in f:
            w = f["search/windows"][()]
            t = [x["time_to_best"] for x in w
                 if x["improved"] and not math.isnan(x["time_to_best"])]
            ttb = max(t) if t else math.nan
    before = r.get("insns_before")
    if before is None or len(p) == 0:
        return None, ttb
    saved, times, insns = {}, [], []
    for t in sorted(set(float(x) for x in p["time_s"])):
        for row in p[p["time_s"] == t]:
            saved[int(row["window"])] = int(row["orig_insns"]) - int(row["best_insns"])
        times.append(t)
        insns.append(before - sum(saved.values()))
    return (times, insns), ttb


# What a row needs from a k2-cluster report (mpi/report_json.c); a report without one of them
# is shown as such, never as an empty cell.
REPORT_FIELDS = ("prog_type", "insns_before", "insns_after", "windows_improved", "windows",
                 "whole_program_z3", "proof", "kernel", "output")


def lacks(r):
    return [k for k in REPORT_FIELDS if k not in r]


def whole_why(r):
    """The reason z3 gave no whole-program verdict: its own field, else the proof's words."""
    if r.get("whole_program_why"):
        return r["whole_program_why"]
    m = re.search(r"\(whole program: (.*)\)$", r.get("proof", ""))
    return m.group(1).strip() if m else ""


def proof_words(r):
    """What z3 established for the whole output, from the report's fields."""
    if not r.get("windows_improved"):
        return "program unchanged"
    z3 = r["whole_program_z3"]
    if z3 == "equivalent":
        return "whole program proven equivalent (z3)"
    why = whole_why(r)
    if z3 == "unknown":
        whole = f"not proven ({why or 'z3: unknown, no reason in the report'})"
    elif z3 == "not run":
        whole = f"not checked by z3 ({why or 'no reason in the report'})"
    else:
        whole = f"z3: {z3} ({why or 'no reason in the report'})"
    return f"each window proven under its precondition; whole program {whole}"


def kernel_words(r, written=None):
    """The verifier's word on the output; none for an output that was not written."""
    if written is None:
        written = bool(r.get("output"))
    if not written:
        return "no output to load"
    return r["kernel"] + ("" if not r.get("kernel_refused") else
                          f" ({len(r['kernel_refused'])} rewrites refused on the way)")


def proposals(r):
    return sum(w.get("proposals", 0) for w in r.get("windows", []))


def fmt(v, spec=".1f"):
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


def table(runs):
    out = ["| ranks | seed | searching ranks | insns before | after | % smaller | time to best (s) "
           "| search (s) | proposals | proposals/s | cex | proofs | proven | kernel |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for r in sorted(runs, key=lambda r: (r["_np"], r["_seed"])):
        b, a = r.get("insns_before"), r.get("insns_after")
        pct = 100.0 * (b - a) / b if b and a is not None else math.nan
        s = r.get("search_s") or math.nan
        n = proposals(r)
        searching = r.get("workers", 0) + (1 if r.get("rank0_searches") else 0)
        proofs = sum(w.get("proofs", 0) for w in r.get("windows", []))
        miss = lacks(r)
        kern = f"report lacks {', '.join(miss)}" if miss else kernel_words(r)
        out.append(f"| {r['_np']} | {r['_seed']} | {searching} | {fmt(b, 'd')} | {fmt(a, 'd')} "
                   f"| {fmt(pct)} | {fmt(r['_ttb'])} | {fmt(s)} | {n:,} | {fmt(n / s, ',.0f')} "
                   f"| {r.get('counterexamples_found', 0)} | {proofs} "
                   f"| {'yes' if r.get('proven') else 'no'} | {kern} |")
    return out


def summary(runs):
    out = ["| ranks | runs | insns after: mean [min, max] | time to best (s): mean [min, max] "
           "| proposals/s: mean | speedup vs fewest ranks |",
           "|---:|---:|---|---|---:|---:|"]
    by = {}
    for r in runs:
        by.setdefault(r["_np"], []).append(r)
    base = None
    for np_ in sorted(by):
        rs = by[np_]
        after = [r["insns_after"] for r in rs if r.get("insns_after") is not None]
        ttb = [r["_ttb"] for r in rs if not math.isnan(r["_ttb"])]
        rate = [proposals(r) / r["search_s"] for r in rs if r.get("search_s")]
        mrate = sum(rate) / len(rate) if rate else math.nan
        base = mrate if base is None else base
        rng = lambda v, f=".1f": (f"{fmt(sum(v) / len(v), f)} [{fmt(min(v), f)}, {fmt(max(v), f)}]"
                                  if v else "–")
        out.append(f"| {np_} | {len(rs)} | {rng(after)} | {rng(ttb)} | {fmt(mrate, ',.0f')} "
                   f"| {fmt(mrate / base if base else math.nan, '.2f')} |")
    return out


def plot(runs, png):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2))
    nps = sorted(set(r["_np"] for r in runs))
    cmap = plt.get_cmap("viridis")
    colour = {n: cmap(i / max(1, len(nps) - 1)) for i, n in enumerate(nps)}
    labelled = set()
    for r in sorted(runs, key=lambda r: (r["_np"], r["_seed"])):
        if not r["_curve"]:
            continue
        t, n = r["_curve"]
        lab = None if r["_np"] in labelled else f"{r['_np']} ranks"
        labelled.add(r["_np"])
        a1.step(t, n, where="post", color=colour[r["_np"]], label=lab, alpha=0.85)
    a1.set_xlabel("search time (s)")
    a1.set_ylabel("instructions (best proven program)")
    a1.set_title(os.path.basename(runs[0].get("program", "")))
    if labelled:
        a1.legend()
    for n in nps:
        rates = [proposals(r) / r["search_s"] for r in runs if r["_np"] == n and r.get("search_s")]
        a2.scatter([n] * len(rates), [x / 1e6 for x in rates], color=colour[n])
    means = [sum(v) / len(v) for v in ([proposals(r) / r["search_s"] for r in runs
                                        if r["_np"] == n and r.get("search_s")] for n in nps) if v]
    if means and len(means) == len(nps):
        a2.plot(nps, [m / 1e6 for m in means], color="black", label="mean")
        a2.plot(nps, [means[0] / 1e6 * n / nps[0] for n in nps], "--", color="grey",
                label="linear in ranks")
        a2.legend()
    a2.set_xlabel("MPI ranks")
    a2.set_ylabel("proposals/s (millions, all ranks)")
    a2.set_xticks(nps)
    fig.tight_layout()
    tmp = png + ".tmp.png"
    fig.savefig(tmp, dpi=110)
    os.replace(tmp, png)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir")
    ap.add_argument("--md", default="results/slurm-scaling.md")
    ap.add_argument("--png", default="results/slurm-scaling.png")
    a = ap.parse_args()
    runs = load_runs(a.dir)
    if not runs:
        print(f"gather: no npN-seedS.json reports in {a.dir}", file=sys.stderr)
        return 1
    r0 = runs[0]
    cpus = os.cpu_count()
    lines = [
        "# Scaling: k2-cluster over MPI ranks",
        "",
        f"Program `{os.path.basename(r0.get('program', '?'))}` (section `{r0.get('section')}`), "
        f"{r0.get('budget_s')} s of search per run ({r0.get('mode')} mode), ranks x seeds as a "
        f"Slurm job array (`slurm/scaling.sbatch`, one run at a time), gathered "
        f"{datetime.datetime.now().strftime('%Y-%m-%d %H:%M')} on {os.uname().nodename} "
        f"({cpus} CPUs, kernel {os.uname().release}).",
        "",
        "Rank 0 coordinates; with 3 ranks or more the last rank is the bench rank; the others "
        "search (one rank alone does everything). Runs with more ranks than CPUs share cores: "
        "read proposals/s against the CPU count.",
        "",
        "## Per task count (over seeds)",
        "",
        *summary(runs),
        "",
        "## Every run",
        "",
        *table(runs),
        "",
        f"Time to best: search seconds until the last window improvement that the final program "
        f"kept. Reports and traces: `{os.path.relpath(a.dir)}`.",
        "",
    ]
    if a.png:
        try:
            plot(runs, a.png)
            lines.insert(-1, f"![scaling]({os.path.basename(a.png)})")
            lines.insert(-1, "")
        except Exception as e:  # no matplotlib: the table still stands
            print(f"gather: no plot: {e}", file=sys.stderr)
    tmp = a.md + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(lines))
    os.replace(tmp, a.md)
    print(f"gather: {len(runs)} runs -> {a.md}" + (f", {a.png}" if a.png else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
