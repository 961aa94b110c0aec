# mk/scaling_report.py DIR MD PNG: results/scaling.md and its plot from bench_scaling.sh's reports.
# Run with /usr/bin/python3 (Debian's matplotlib).
import glob
import json
import os
import re
import statistics
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def load(d, pat):
    out = {}
    for p in glob.glob(os.path.join(d, pat)):
        with open(p) as f:
            out[os.path.basename(p)] = json.load(f)
            out[os.path.basename(p)]["_path"] = p
    return out


def size_curve(r):
    """[(search seconds, program insns)] from the windows' improvements."""
    ev = []
    for w in r["windows"]:
        for t, insns, _ in w.get("improvements", []):
            ev.append((t, w["start"], w["insns_before"], insns))
    ev.sort()
    cur, size, out = {}, r["insns_before"], [(0.0, r["insns_before"])]
    for t, start, before, insns in ev:
        gain = before - insns
        size -= gain - cur.get(start, 0)
        cur[start] = gain
        out.append((t, size))
    return out


def time_to(r, target):
    for t, size in size_curve(r):
        if size <= target:
            return t
    return None


def med(v):
    v = [x for x in v if x is not None]
    return statistics.median(v) if v else None


def fmt(x, spec=".1f"):
    return "-" if x is None else format(x, spec)


def window_proposals_to(r, start, target):
    for w in r["windows"]:
        if w["start"] != start:
            continue
        for _, insns, iters in w.get("improvements", []):
            if insns <= target:
                return iters
    return None


def slice_iters(r):
    for line in open(os.path.join(os.path.dirname(r["_path"]), "env.txt")):
        m = re.search(r"exchange every (\d+) proposals", line)
        if m:
            return int(m.group(1))
    return 4000


def main():
    d, md, png = sys.argv[1], sys.argv[2], sys.argv[3]
    env = open(os.path.join(d, "env.txt")).read().strip()
    tr = load(d, "time-np*-s*.json")
    ir = load(d, "iters-*.json")
    runs = {}
    for name, r in tr.items():
        np_, s = map(int, re.match(r"time-np(\d+)-s(\d+)\.json", name).groups())
        runs[(np_, s)] = r
    nps = sorted({k[0] for k in runs})
    seeds = sorted({k[1] for k in runs})
    rows, rate1 = [], None
    for n in nps:
        rs = [runs[(n, s)] for s in seeds if (n, s) in runs]
        rate = med([r["proposals"] / r["search_s"] for r in rs])
        rate1 = rate if n == nps[0] else rate1
        ttb = []
        for s in seeds:
            if (n, s) in runs and (nps[0], s) in runs:
                ttb.append(time_to(runs[(n, s)], runs[(nps[0], s)]["insns_after"]))
        reached = sum(t is not None for t in ttb)
        rows.append((n, rs[0]["workers"], rs[0]["rank0_searches"], rate,
                     rate / rate1 if rate1 else None, med([r["insns_after"] for r in rs]),
                     med(ttb), reached, len(ttb),
                     med([r["counterexamples_found"] for r in rs]),
                     med([r["cex_relayed"] for r in rs]),
                     med([r["bytes_sent_by_rank0"] / 1024 for r in rs]),
                     med([r["ranks_dropped"] for r in rs])))

    configs = [(True, True), (False, True), (True, False), (False, False)]
    it = {}
    for name, r in ir.items():
        prog, sh, te, s = re.match(r"iters-(\w+?)-share(\w+)-temp(\w+)-s(\d+)\.json",
                                   name).groups()
        it[(prog, sh == "true", te == "true", int(s))] = r
    eprogs = sorted({k[0] for k in it})
    iseeds = sorted({k[3] for k in it})
    irows = {}
    for prog in eprogs:
        eff = {c: [] for c in configs}
        for s in iseeds:
            rs = {c: it.get((prog, c[0], c[1], s)) for c in configs}
            if any(v is None for v in rs.values()):
                continue
            # windows every configuration improved; target: the worst of their best sizes
            starts = None
            for r in rs.values():
                imp = {w["start"] for w in r["windows"] if w.get("improvements")}
                starts = imp if starts is None else starts & imp
            for c, r in rs.items():
                total = 0
                for st in sorted(starts or []):
                    target = max(min(i[1] for w in x["windows"] if w["start"] == st
                                     for i in w["improvements"]) for x in rs.values())
                    total += window_proposals_to(r, st, target)
                eff[c].append((total, len(starts or [])))
        irows[prog] = []
        for c in configs:
            rs = [it[(prog, c[0], c[1], s)] for s in iseeds if (prog, c[0], c[1], s) in it]
            if not rs:
                continue
            irows[prog].append((c, med([r["insns_after"] for r in rs]),
                                med([e[0] for e in eff[c]]) if eff[c] else None,
                                med([e[1] for e in eff[c]]) if eff[c] else None,
                                med([r["counterexamples_found"] for r in rs]),
                                med([r["cex_relayed"] for r in rs]),
                                med([r["cex_rejected_elsewhere"] for r in rs]),
                                med([sum(w["swaps"][0] for w in r["windows"]) for r in rs]),
                                med([r["proposals"] for r in rs]), len(rs),
                                rs[0]["insns_before"]))

    with open(md + ".tmp", "w") as f:
        p0 = next(iter(runs.values()))
        f.write("# k2-cluster scaling (`make bench-scaling`)\n\n")
        f.write("```\n" + env + "\n```\n\n")
        f.write("Time scaling: `%s` (%d instructions, %d windows). Every number is the median "
                "over seeds %s. **This machine has 2 cores shared with other work**: "
                "np > 2 is oversubscribed, so wall-clock scaling stops at 2 ranks' worth of "
                "CPU; np 1 and 2 run rank 0's coordination inside a searching rank, from "
                "np 3 rank 0 only coordinates. Only rewrites proven by z3 count.\n\n"
                % (p0["program"], p0["insns_before"], len(p0["windows"]),
                   ", ".join(map(str, seeds))))
        f.write("## Time scaling (fixed budget %.0f s)\n\n" % p0["budget_s"])
        f.write("| np | workers | rank 0 searches | proposals/s (all ranks) | vs np %d | "
                "final insns | s to np-%d size | reached | cex found | cex relayed | "
                "KiB sent by rank 0 | dropped |\n" % (nps[0], nps[0]))
        f.write("|---|---|---|---|---|---|---|---|---|---|---|---|\n")
        for (n, wk, r0, rate, sp, fin, ttb, reached, tot, cex, rel, kib, drop) in rows:
            f.write("| %d | %d | %s | %s | %s | %s | %s | %d/%d | %s | %s | %s | %s |\n" % (
                n, wk, "yes" if r0 else "no", fmt(rate / 1e3, ".0f") + "k", fmt(sp, ".2f"),
                fmt(fin, ".0f"), fmt(ttb), reached, tot, fmt(cex, ".0f"), fmt(rel, ".0f"),
                fmt(kib), fmt(drop, ".0f")))
        by = {r[0]: r for r in rows}
        f.write("\nMedian aggregate proposals/s relative to np %d: %s. " % (nps[0], ", ".join(
            "np %d %s" % (n, fmt(by[n][4], ".2f")) for n in nps)))
        f.write("With 2 cores, np 2 is the most that can run at once; beyond it the ranks "
                "time-share the same cores (and z3 queries stall a rank's slice), so the "
                "aggregate rate cannot grow past np 2's. The time to the np-%d size can still "
                "fall with more ranks (%s s at np %d, %s s at np %d here): more windows are "
                "searched at once, and a window's best rewrite often needs few proposals. "
                "These are wall-clock numbers on a machine "
                "other engineers were loading at the same time (load average in the header): "
                "they show that the cluster's overhead is small, not how it scales on a "
                "real cluster.\n" % (nps[0], fmt(by[nps[0]][6]), nps[0], fmt(by[nps[-1]][6]),
                                      nps[-1]))
        f.write("\n\"s to np-%d size\": search seconds until the program (composed from the "
                "proven window rewrites so far) was as small as the np-%d run of the same "
                "seed ended.\n\n" % (nps[0], nps[0]))
        pi = next(iter(it.values())) if it else None
        if pi:
            f.write("## Search efficiency (np 4, %d proposals per unit of window "
                    "difficulty, independent of the machine)\n\n" % pi["iters_per_difficulty"])
            f.write("Rank 0 coordinates, 3 workers, the same proposals in every run. Shared "
                    "pools off: a counterexample stays with the rank that found it. Tempering "
                    "off: every rank's chains run at beta_max, no exchange between ranks. "
                    "Proposals to target: summed over the windows every configuration "
                    "improved (same seed), the window's proposals (all ranks) when it first "
                    "reached the largest of the four configurations' best sizes (lower is "
                    "better).\n\n")
            for prog in eprogs:
                f.write("### %s (%d instructions)\n\n" % (prog, irows[prog][0][10]))
                f.write("| shared cex | tempering | final insns | proposals to target | "
                        "windows | cex found | cex relayed | refuted by another rank's cex | "
                        "rank exchanges accepted | proposals | runs |\n")
                f.write("|---|---|---|---|---|---|---|---|---|---|---|\n")
                for (c, fin, pt, nw, cex, rel, sav, sw, prop, n, _) in irows[prog]:
                    f.write("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %d |\n" % (
                        "on" if c[0] else "off", "on" if c[1] else "off", fmt(fin, ".0f"),
                        fmt(pt, ".0f"), fmt(nw, ".0f"), fmt(cex, ".0f"), fmt(rel, ".0f"),
                        fmt(sav, ".0f"), fmt(sw, ".0f"), fmt(prop, ".0f"), n))
                pts = [r[2] for r in irows[prog] if r[2] is not None]
                fins = [r[1] for r in irows[prog] if r[1] is not None]
                if pts:
                    f.write("\nProposals to target range from %.0f to %.0f across the four "
                            "configurations (one exchange slice here is %d proposals per "
                            "rank, 3 ranks); median final sizes from %.0f to %.0f "
                            "instructions.\n" % (min(pts), max(pts), slice_iters(pi),
                                                  min(fins), max(fins)))
                f.write("\n")
            f.write("Reading: the corpus windows are small (at most `max_window` = 16 "
                    "instructions) and their best rewrites are found within a few exchange "
                    "slices in every configuration, so shared pools and tempering across ranks "
                    "change the proposals needed by at most a slice or two here; the pools do "
                    "their work (counterexamples relayed, candidates refuted by another "
                    "rank's counterexample) but the searches would have found those "
                    "counterexamples themselves soon after. Larger windows would be needed "
                    "to separate the configurations.\n\n")
        f.write("\nPlot: `results/scaling.png`. Raw reports: `results/scaling/*.json`.\n")
    os.replace(md + ".tmp", md)

    fig, ax = plt.subplots(1, 3 if irows else 2, figsize=(15 if irows else 10, 4))
    ax[0].plot([r[0] for r in rows], [r[3] / 1e3 for r in rows], "o-")
    ax[0].set_xlabel("ranks (np)")
    ax[0].set_ylabel("proposals/s, all ranks (k)")
    ax[0].set_title("aggregate search rate (2 cores)")
    ax[0].set_xscale("log", base=2)
    for n in nps:
        if (n, seeds[0]) in runs:
            c = size_curve(runs[(n, seeds[0])])
            c.append((runs[(n, seeds[0])]["search_s"], c[-1][1]))
            ax[1].step([x[0] for x in c], [x[1] for x in c], where="post", label="np %d" % n)
    ax[1].set_xlabel("search seconds")
    ax[1].set_ylabel("program insns (proven)")
    ax[1].set_title("size over time, seed %d" % seeds[0])
    ax[1].legend()
    if irows:
        width = 0.8 / max(1, len(eprogs))
        for k, prog in enumerate(eprogs):
            xs = [i + k * width for i in range(len(irows[prog]))]
            ax[2].bar(xs, [(r[2] or 0) / 1e3 for r in irows[prog]], width, label=prog)
        ax[2].set_xticks([i + width * (len(eprogs) - 1) / 2 for i in range(len(configs))])
        ax[2].set_xticklabels(["cex %s\ntemp %s" % ("on" if c[0] else "off",
                                                    "on" if c[1] else "off") for c in configs])
        ax[2].set_ylabel("proposals to target (k)")
        ax[2].set_title("search efficiency, np 4 (lower is better)")
        ax[2].legend()
    fig.tight_layout()
    fig.savefig(png + ".tmp.png", dpi=90)
    os.replace(png + ".tmp.png", png)


if __name__ == "__main__":
    main()
