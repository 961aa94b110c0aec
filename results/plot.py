#!/usr/bin/python3
"""results/plot.py: PNG plots of a k2 HDF5 trace: latency before/after, XDP rate, search progress.

usage: /usr/bin/python3 results/plot.py TRACE.h5 [-o PREFIX]

Writes PREFIX-latency.png (and PREFIX-search.png when the trace has a /search group);
PREFIX defaults to the trace path without .h5. Needs Debian's python3-h5py and
python3-matplotlib. The trace schema is in README.md ("HDF5 trace schema").
"""
import argparse
import math
import sys

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

COLORS = {"faster": "#2a9d4b", "slower": "#c0392b", "same": "#7f8c8d", "original": "#34495e"}


def text(v):
    """HDF5 strings come back as bytes or str depending on h5py's version."""
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def attr(obj, name, default=""):
    v = obj.attrs.get(name, default)
    return text(v) if isinstance(v, (bytes, str)) else v


def mix_per_round(samples, cand, batch, n_packets, rounds):
    """ns/packet of the packet mix in each round (the mean over packets), as the bench does."""
    sel = samples[(samples["candidate"] == cand) & (samples["batch"] == batch)]
    per_round = np.zeros(rounds)
    counts = np.zeros(rounds)
    for r, ns in zip(sel["round"], sel["ns"]):
        per_round[r] += ns
        counts[r] += 1
    ok = counts == n_packets
    return per_round[ok] / n_packets


def verdict_of(row):
    if row["id"] == 0:
        return "original"
    if row["resolved"] == 1:
        return "faster" if row["ratio"] < 1 else "slower"
    return "same"


def short(src, n=18):
    src = text(src).rsplit("/", 1)[-1]
    return src if len(src) <= n else src[: n - 1] + "…"


def plot_latency(f, out):
    b = f["bench"]
    cands = b["candidates"][()]
    measured = cands[~np.isnan(cands["ns_median"])]
    if len(measured) == 0:
        reason = attr(b, "kernel_off_reason") or "no latency measured"
        fig, ax = plt.subplots(figsize=(8, 2))
        ax.axis("off")
        ax.text(0.5, 0.5, "kernel: not checked\n" + reason if attr(b, "kernel") == "not checked"
                else reason, ha="center", va="center", wrap=True)
        fig.savefig(out, dpi=110)
        plt.close(fig)
        return
    samples = b["samples"][()]
    packets = b["packets"][()]
    rounds = int(b.attrs["rounds"])
    n_packets = int(b.attrs["n_packets"])
    has_pps = not np.all(np.isnan(measured["pps"]))
    ncols = 3 if has_pps else 2
    widths = [max(4, 0.9 * len(measured) + 1.5), max(5, 0.45 * n_packets + 2)] + ([4] if has_pps else [])
    fig, axes = plt.subplots(1, ncols, figsize=(sum(widths), 5.2),
                             gridspec_kw={"width_ratios": widths})
    fig.suptitle("%s [%s] on %s, kernel %s" % (short(attr(f, "program"), 40), attr(f, "section"),
                                              attr(f, "cpu_model"), attr(f, "kernel_release")),
                 fontsize=11)

    # 1. ns/packet of the mix per program: every round's value, the median and the spread.
    ax = axes[0]
    labels = []
    for i, row in enumerate(measured):
        v = mix_per_round(samples, row["id"], row["batch"], n_packets, rounds)
        kind = verdict_of(row)
        bp = ax.boxplot([v], positions=[i], widths=0.6, patch_artist=True, showfliers=True)
        for patch in bp["boxes"]:
            patch.set_facecolor(COLORS[kind])
            patch.set_alpha(0.55)
        ax.plot(np.full(len(v), i) + np.linspace(-0.15, 0.15, len(v)), v, ".", color="k", ms=3)
        note = ("A/A\n%.3f" if row["id"] == 0 else "%s\n%.3f" % (kind, row["ratio"])
                if row["id"] else "%.3f") % ((row["ratio"],) if row["id"] == 0 else ())
        ax.text(i, 1.0, note, transform=ax.get_xaxis_transform(), ha="center", va="bottom",
                fontsize=7, color=COLORS[kind])
        labels.append("%d%s\n%s" % (row["id"], " (b%d)" % row["batch"] if row["id"] == 0 else "",
                                    short(row["source"])))
    orig = measured[measured["id"] == 0]
    if len(orig):
        med = np.median(orig["ns_median"])
        noise = np.nanmax(orig["noise_ns"])
        ax.axhspan(med - noise, med + noise, color=COLORS["original"], alpha=0.08,
                   label="original ± resolution (A/A)")
        ax.axhline(med, color=COLORS["original"], lw=1, ls="--")
        ax.legend(fontsize=7, loc="lower right")
    ax.set_xticks(range(len(measured)))
    ax.set_xticklabels(labels, fontsize=7)
    ax.set_ylabel("ns per packet (mean over the packet mix)")
    ax.set_title("rounds (dots), IQR (box), ratio to original\n\n", fontsize=9)
    ax.grid(axis="y", alpha=0.3)

    # 2. per packet: the original against the best candidate (lowest ratio).
    ax = axes[1]
    stats = b["packet_stats"][()]
    cand_rows = measured[measured["id"] != 0]
    best = cand_rows[np.argmin(cand_rows["ratio"])] if len(cand_rows) else None
    x = np.arange(n_packets)
    shown = [(orig[-1], "original", COLORS["original"])] if len(orig) else []
    if best is not None:
        shown.append((best, "candidate %d (%.3f)" % (best["id"], best["ratio"]),
                      COLORS[verdict_of(best)]))
    for k, (row, name, color) in enumerate(shown):
        s = stats[(stats["candidate"] == row["id"]) & (stats["batch"] == row["batch"])]
        s = s[np.argsort(s["packet"])]
        off = (k - (len(shown) - 1) / 2) * 0.38
        ax.bar(x[: len(s)] + off, s["median"], 0.36, color=color, alpha=0.7, label=name)
        ax.errorbar(x[: len(s)] + off, s["median"],
                    yerr=[s["median"] - s["min"], s["max"] - s["median"]], fmt="none",
                    ecolor="k", lw=0.8, capsize=2)
    names = [text(p["desc"]) for p in packets]
    ax.set_xticks(x)
    ax.set_xticklabels(names, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("ns per packet (median over rounds, min..max)")
    ax.set_title("per packet: original vs best candidate", fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)

    # 3. XDP live frames: packets/s on the veth path.
    if has_pps:
        ax = axes[2]
        live = measured[~np.isnan(measured["pps"])]
        bars = ax.bar(range(len(live)), live["pps"] / 1e6,
                      color=[COLORS[verdict_of(r)] for r in live], alpha=0.7)
        for bar, r in zip(bars, live):
            ax.text(bar.get_x() + bar.get_width() / 2, bar.get_height(), "%.2f" % (r["pps"] / 1e6),
                    ha="center", va="bottom", fontsize=7)
        ax.set_xticks(range(len(live)))
        ax.set_xticklabels(["%d" % r["id"] for r in live], fontsize=8)
        ax.set_ylabel("Mpps processed")
        ax.set_title("XDP live frames (%s)" % attr(b, "live_device"), fontsize=9)
        ax.grid(axis="y", alpha=0.3)

    foot = "repeat %d, %d rounds, %d packets; empty program %.1f ns/run" % (
        int(b.attrs.get("repeat", 0)), rounds, n_packets, float(b.attrs.get("floor_ns", math.nan)))
    fig.text(0.01, 0.01, foot, fontsize=7, color="#555")
    fig.tight_layout(rect=(0, 0.03, 1, 0.95))
    fig.savefig(out, dpi=110)
    plt.close(fig)


def numeric_fields(dt):
    return [n for n in dt.names if np.issubdtype(dt[n], np.number)]


def plot_search(f, out):
    """Every table of /search with a time column: its numeric columns over time."""
    tables = []

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and obj.dtype.names:
            t = [c for c in ("time_s", "time", "seconds", "t") if c in obj.dtype.names]
            if t:
                tables.append((name, obj[()], t[0]))

    f["search"].visititems(visit)
    if not tables:
        return False
    panels = []
    for name, data, tcol in tables:
        for col in numeric_fields(data.dtype):
            if col in (tcol, "rank", "window", "chain") or np.all(data[col] == data[col][0]):
                continue
            panels.append((name, data, tcol, col))
    if not panels:
        return False
    panels = panels[:6]
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 2.4 * len(panels)), squeeze=False)
    for ax, (name, data, tcol, col) in zip(axes[:, 0], panels):
        group = "window" if "window" in data.dtype.names else None
        keys = np.unique(data[group]) if group else [None]
        for k in keys[:12]:
            sel = data[data[group] == k] if group else data
            sel = sel[np.argsort(sel[tcol])]
            ax.plot(sel[tcol], sel[col], drawstyle="steps-post", lw=1.2,
                    label="window %s" % k if group else None)
        ax.set_ylabel(col)
        ax.set_title("/search/%s: %s" % (name, col), fontsize=9)
        ax.grid(alpha=0.3)
        if group and len(keys) > 1:
            ax.legend(fontsize=7, ncol=3)
    axes[-1, 0].set_xlabel("seconds")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("trace")
    ap.add_argument("-o", "--out", help="output prefix (default: the trace without .h5)")
    a = ap.parse_args()
    prefix = a.out or (a.trace[:-3] if a.trace.endswith(".h5") else a.trace)
    with h5py.File(a.trace, "r") as f:
        wrote = []
        if "bench" in f:
            plot_latency(f, prefix + "-latency.png")
            wrote.append(prefix + "-latency.png")
        if "search" in f and plot_search(f, prefix + "-search.png"):
            wrote.append(prefix + "-search.png")
    if not wrote:
        print("plot.py: %s has neither /bench nor /search tables" % a.trace, file=sys.stderr)
        return 1
    for w in wrote:
        print(w)
    return 0


if __name__ == "__main__":
    sys.exit(main())
