#!/usr/bin/python3
"""mk/bench.py: `make bench`: the steps of configs/bench.ini, then results/README.md with tables.

    /usr/bin/python3 mk/bench.py [--config configs/bench.ini] [--build build] [STEP ...]
    /usr/bin/python3 mk/bench.py --readme | --sizes-table DIR

K2_BENCH_NOTE: a paragraph for the top of results/README.md (e.g. which branches were measured).

With STEPs, only those run (the README keeps the other steps' last state from
results/bench-steps.json). Steps owned by other modules are `make bench-NAME` (tests/bench/NAME.c);
sizes, latency and slurm-scaling are here. A step that cannot run is recorded as
"not run: <reason>", never with made-up numbers.
"""
import argparse
import configparser
import datetime
import glob
import json
import math
import os
import platform
import selectors
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "slurm"))
sys.dont_write_bytecode = True  # no slurm/__pycache__ in the tree
import gather  # noqa: E402  (slurm/gather.py: trace reading shared with the scaling table)

STATE = "results/bench-steps.json"


def log(msg):
    print(f"bench: {msg}", flush=True)


def run(cmd, timeout, logpath, env=None):
    """Run cmd in its own process group, output to logpath (and ours); kill the group on timeout."""
    os.makedirs(os.path.dirname(logpath), exist_ok=True)
    with open(logpath, "w") as lf:
        p = subprocess.Popen(cmd, cwd=TOP, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, start_new_session=True, text=True,
                             errors="replace")
        deadline = time.monotonic() + timeout
        try:
            sel = selectors.DefaultSelector()
            sel.register(p.stdout, selectors.EVENT_READ)
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise subprocess.TimeoutExpired(cmd, timeout)
                if sel.select(timeout=min(left, 1.0)):
                    line = p.stdout.readline()
                    if not line:
                        break
                    lf.write(line)
                    sys.stdout.write("  " + line)
            return p.wait(timeout=max(1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGTERM)
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
            return None
        except KeyboardInterrupt:
            os.killpg(p.pid, signal.SIGTERM)
            p.wait()
            raise


class Ctx:
    def __init__(self, cfg, build):
        self.cfg = cfg
        self.build = build
        self.timeout = cfg.getfloat("bench", "step_timeout", fallback=900)
        names = cfg.get("bench", "programs", fallback="").split()
        objs = sorted(glob.glob(os.path.join(TOP, build, "corpus", "*.o")))
        self.programs = [o for o in objs
                         if not names or os.path.basename(o)[:-2] in names]

    def sec(self, name):
        return self.cfg[name] if self.cfg.has_section(name) else {}


# ---- steps owned by other modules: make bench-NAME ------------------------------------------

def make_target(name):
    """Whether `make bench-NAME` has something to run: tests/bench/NAME.c or its own rule."""
    if os.path.exists(os.path.join(TOP, "tests", "bench", name + ".c")):
        return True
    with open(os.path.join(TOP, "Makefile")) as f:
        for line in f:
            if line[:1] not in ("\t", "#") and ":" in line and "=" not in line.split(":")[0]:
                if f"bench-{name}" in line.split(":")[0].split():
                    return True
    return False


def make_step(ctx, name):
    if not make_target(name):
        return {"status": "not run", "reason": f"no tests/bench/{name}.c nor bench-{name} "
                "target in this tree (its module has not merged its bench)"}
    env = dict(os.environ, K2_BUILD=ctx.build)
    for k, v in ctx.sec(name).items():
        env[k if k.isupper() else f"K2_BENCH_{name.upper()}_{k.upper()}"] = v
    rc = run(["make", "--no-print-directory", f"BUILD={ctx.build}", f"bench-{name}"],
             ctx.timeout, os.path.join(TOP, ctx.build, "bench", "logs", name + ".log"), env)
    if rc is None:
        return {"status": "timed out", "reason": f"stopped after {ctx.timeout:.0f} s"}
    if rc:
        return {"status": "failed", "reason": f"make bench-{name} exited {rc} "
                f"(log {ctx.build}/bench/logs/{name}.log)"}
    return {"status": "ok"}


# ---- sizes: k2-cluster on every corpus program ------------------------------------------------

def cluster_bin(ctx):
    return os.path.join(TOP, ctx.build, "k2-cluster")


def step_sizes(ctx):
    if not os.access(cluster_bin(ctx), os.X_OK):
        return {"status": "not run", "reason": f"no {ctx.build}/k2-cluster (mpi/ is not in this "
                "tree)"}
    s = ctx.sec("sizes")
    ranks, budget, seed = s.get("ranks", "4"), s.get("budget", "15"), s.get("seed", "1")
    out = os.path.join(TOP, "results", "sizes")
    os.makedirs(out, exist_ok=True)
    objs = os.path.join(TOP, ctx.build, "bench", "sizes")
    # No earlier run's report, trace or output object may pass for this run's.
    for f in (glob.glob(os.path.join(out, "*.json")) + glob.glob(os.path.join(out, "*.h5")) +
              glob.glob(os.path.join(objs, "*.o"))):
        os.unlink(f)
    failed, runs = [], {}
    t0 = time.monotonic()
    for prog in ctx.programs:
        name = os.path.basename(prog)[:-2]
        if time.monotonic() - t0 > ctx.timeout:
            failed.append(f"{name} (step time limit)")
            continue
        log(f"sizes: {name}: k2-cluster, {ranks} ranks, {budget} s")
        # --enable-recovery: a rank k2-cluster drops (and reaps) does not end the whole job.
        cmd = ["mpirun", "--allow-run-as-root", "--oversubscribe", "--enable-recovery",
               "-np", ranks, cluster_bin(ctx), prog,
               "-o", os.path.join(objs, name + ".o"),
               "--budget", budget, "--seed", seed, "--report", os.path.join(out, name + ".json"),
               "--trace", os.path.join(out, name + ".h5"), "--quiet",
               *shlex.split(s.get("args", ""))]
        os.makedirs(objs, exist_ok=True)
        rc = run(cmd, float(budget) * 3 + 120,
                 os.path.join(TOP, ctx.build, "bench", "logs", f"sizes-{name}.log"))
        runs[name] = rc
        if rc != 0:
            failed.append(f"{name} ({exit_words(rc)})")
    write_atomic(os.path.join(out, "runs.json"), json.dumps(runs, indent=1) + "\n")
    write_sizes(ctx, ranks, budget, seed, s.get("args", ""))
    if failed:
        return {"status": "partial" if len(failed) < len(ctx.programs) else "failed",
                "reason": "k2-cluster failed on " + ", ".join(failed)}
    return {"status": "ok"}


def sizes_rows(names, repdir, outdir=None):
    """One row per program from REPDIR/NAME.json (+ .h5; runs.json: k2-cluster's exit status
    per program, null when stopped); OUTDIR: where the outputs must exist (None: trust the
    report's "output")."""
    try:
        with open(os.path.join(repdir, "runs.json")) as f:
            runs = json.load(f)
    except (OSError, ValueError):
        runs = {}
    rows = []
    for name in names:
        path = os.path.join(repdir, name + ".json")
        try:
            with open(path) as f:
                r = json.load(f)
        except (OSError, ValueError):
            rows.append({"name": name, "missing": True, "exit": runs.get(name, 0)})
            continue
        h5 = os.path.join(repdir, name + ".h5")
        _, ttb = gather.trace_curve(h5, r) if os.path.exists(h5) else (None, math.nan)
        r["name"], r["ttb"], r["exit"] = name, ttb, runs.get(name, 0)
        r["written"] = bool(r.get("output")) and (
            outdir is None or os.path.exists(os.path.join(outdir, name + ".o")))
        rows.append(r)
    return rows


def ctx_rows(ctx, check_outputs=True):
    """The rows of this build's corpus; check_outputs: the objects must be in BUILD/bench/sizes
    (off when re-rendering results another build wrote)."""
    return sizes_rows([os.path.basename(p)[:-2] for p in ctx.programs],
                      os.path.join(TOP, "results", "sizes"),
                      os.path.join(TOP, ctx.build, "bench", "sizes") if check_outputs else None)


def pct(b, a):
    return 100.0 * (b - a) / b if b else math.nan


def f1(v, spec=".1f"):
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


def exit_words(rc):
    if rc is None:
        return "stopped at its time limit"
    return f"exit {rc}" + (f" (killed by signal {rc - 128})" if rc > 128 else "")


def sizes_table(rows):
    """The sizes table. An output that was not written counts as unchanged in the totals."""
    out = ["| program | type | clang -O2 insns | k2-cluster insns | % smaller | time to best (s) "
           "| windows improved | proof | kernel verdict |",
           "|---|---|---:|---:|---:|---:|---:|---|---|"]
    tb = ta = 0
    for r in rows:
        ran = "" if r.get("exit", 0) == 0 else f"k2-cluster {exit_words(r['exit'])}"
        if r.get("missing"):
            out.append(f"| {r['name']} | | | | | | | no report{': ' + ran if ran else ''} | |")
            continue
        miss = gather.lacks(r)
        if miss:
            out.append(f"| {r['name']} | {r.get('prog_type', '')} | | | | | | report lacks "
                       f"{', '.join(miss)} | |")
            continue
        b, a = r["insns_before"], r["insns_after"]
        proof = gather.proof_words(r)
        kernel = gather.kernel_words(r, r["written"])
        shown, smaller = str(a), f1(pct(b, a))
        if not r["written"]:
            proof = f"**no output written** ({a} insns composed); {proof}"
            shown, smaller, a = f"({a})", "–", b
        if ran:
            proof = f"{proof}; {ran}"
        tb += b
        ta += a
        out.append(f"| {r['name']} | {r['prog_type']} | {b} | {shown} | {smaller} "
                   f"| {f1(r['ttb'])} | {r['windows_improved']}/{len(r['windows'])} | {proof} "
                   f"| {kernel} |")
    if tb:
        out.append(f"| **all** | | **{tb}** | **{ta}** | **{f1(pct(tb, ta))}** | | | | |")
    return out


def write_sizes(ctx, ranks, budget, seed, args, check_outputs=True):
    rows = ctx_rows(ctx, check_outputs)
    md = ["# Sizes: clang -O2 against k2-cluster", "",
          f"Every corpus program (`{ctx.build}/corpus/*.o`, clang -O2), optimized by "
          f"`mpirun -np {ranks} k2-cluster --budget {budget} --seed {seed} {args}` "
          "(configs/bench.ini [sizes]). Instructions are those of the optimized function "
          "(a 64-bit immediate load counts once). *time to best*: search seconds until the "
          "last window improvement the output kept. *proof*: what z3 established for the "
          "whole output program (when z3 gave no verdict on it, its reason); *kernel verdict*: "
          "the verifier on this machine's kernel, on the written output. An output k2-cluster "
          "did not write shows its composed size in parentheses and counts as unchanged in the "
          "total. Reports and HDF5 traces: `results/sizes/`.",
          "", *sizes_table(rows), "", "![sizes](sizes.png)", ""]
    write_atomic(os.path.join(TOP, "results", "sizes.md"), "\n".join(md))
    plot_sizes(rows, os.path.join(TOP, "results", "sizes.png"))


def plot_sizes(rows, png):
    rows = [dict(r, insns_after=r["insns_after"] if r["written"] else r["insns_before"])
            for r in rows if not r.get("missing") and not gather.lacks(r)]
    if not rows:
        return
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(11, 4.5))
    x = range(len(rows))
    ax.bar([i - 0.2 for i in x], [r["insns_before"] for r in rows], 0.4, label="clang -O2")
    ax.bar([i + 0.2 for i in x], [r["insns_after"] for r in rows], 0.4, label="k2-cluster")
    for i, r in enumerate(rows):
        p = pct(r["insns_before"], r["insns_after"])
        if p > 0:
            ax.text(i + 0.2, r["insns_after"], f"-{p:.0f}%", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(list(x))
    ax.set_xticklabels([r["name"] for r in rows], rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("instructions")
    ax.set_yscale("log")
    ax.legend()
    fig.tight_layout()
    save(fig, png)


# ---- latency: k2 bench, clang -O2 beside k2-cluster's output ----------------------------------

def step_latency(ctx):
    rows = [r for r in ctx_rows(ctx) if not r.get("missing") and not gather.lacks(r)]
    if not rows:
        return {"status": "not run", "reason": "no sizes results (k2-cluster outputs) to measure"}
    s = ctx.sec("latency")
    rounds, live = s.get("rounds", "10"), s.get("xdp_live", "1")
    out = os.path.join(TOP, "results", "latency")
    os.makedirs(out, exist_ok=True)
    res, notes = [], []
    for r in rows:
        name = r["name"]
        orig = os.path.join(TOP, ctx.build, "corpus", name + ".o")
        opt = os.path.join(TOP, ctx.build, "bench", "sizes", name + ".o")
        row = {"name": name, "type": r.get("prog_type"), "before": r.get("insns_before"),
               "after": r.get("insns_after")}
        res.append(row)
        if r.get("insns_after") is None or r["insns_after"] >= r["insns_before"]:
            row["note"] = "unchanged: not measured"
            continue
        if not os.path.exists(opt):
            row["note"] = "no output object"
            continue
        h5 = os.path.join(out, name + ".h5")
        if os.path.exists(h5):
            os.unlink(h5)
        log(f"latency: {name}")
        rc = run([os.path.join(TOP, ctx.build, "k2"), "bench", orig, opt, "--trace", h5,
                  "--rounds", rounds, "--xdp-live", live, "--quiet"], 600,
                 os.path.join(TOP, ctx.build, "bench", "logs", f"latency-{name}.log"))
        if rc != 0 or not os.path.exists(h5):
            row["note"] = f"k2 bench failed (exit {rc})"
            notes.append(name)
            continue
        row.update(read_bench(h5))
    write_latency(res, rounds, live)
    if all(r.get("note") for r in res):
        return {"status": "ok", "reason": "nothing to measure (no program changed)"}
    if notes:
        return {"status": "partial", "reason": "k2 bench failed on " + ", ".join(notes)}
    return {"status": "ok"}


def read_bench(h5):
    import h5py
    with h5py.File(h5, "r") as f:
        g = f["bench"]
        if g.attrs.get("kernel", b"") not in ("checked", b"checked"):
            return {"note": "kernel not checked: " + str(g.attrs.get("kernel_off_reason", ""))}
        c = g["candidates"][()]
    o = [x for x in c if x["id"] == 0]
    k = [x for x in c if x["id"] == 1]
    if not o or not k:
        return {"note": "no measurement in the trace"}
    o, k = o[-1], k[-1]
    if k["verdict"] != 1:
        return {"note": f"verifier rejected the output: {k['reason']}"}
    if math.isnan(float(k["ns_median"])) or math.isnan(float(k["ratio"])):
        return {"note": "accepted; not timed (no BPF_PROG_TEST_RUN on packets for this type)"}
    d = {f"o_{n}": float(o[n]) for n in ("ns_median", "ns_q1", "ns_q3", "ns_min", "ns_max", "pps")}
    d.update({f"k_{n}": float(k[n]) for n in ("ns_median", "ns_q1", "ns_q3", "ns_min", "ns_max",
                                               "pps", "ratio", "ratio_lo", "ratio_hi")})
    d["resolved"] = int(k["resolved"])
    d["aa"] = (float(o["ratio_lo"]), float(o["ratio_hi"]))
    d["noise"] = float(k["noise_ns"])
    return d


def latency_table(res):
    out = ["| program | type | insns | clang -O2 ns/pkt median [q1, q3] | k2-cluster ns/pkt "
           "median [q1, q3] | ratio [95% CI] | A/A envelope | verdict "
           "| XDP Mpps before → after |",
           "|---|---|---|---:|---:|---:|---|---|---|"]
    for r in res:
        ins = f"{r['before']} → {r['after']}" if r.get("after") is not None else ""
        if "k_ratio" not in r:
            out.append(f"| {r['name']} | {r.get('type') or ''} | {ins} | | | | | "
                       f"{r.get('note', '')} | |")
            continue
        verdict = {1: "faster" if r["k_ratio"] < 1 else "slower", 0: "same (below resolution)",
                   -1: "not measured"}[r["resolved"]]
        pps = (f"{r['o_pps'] / 1e6:.2f} → {r['k_pps'] / 1e6:.2f}"
               if not math.isnan(r["o_pps"]) and not math.isnan(r["k_pps"]) else "–")
        out.append(f"| {r['name']} | {r['type']} | {ins} | {r['o_ns_median']:.1f} "
                   f"[{r['o_ns_q1']:.1f}, {r['o_ns_q3']:.1f}] | {r['k_ns_median']:.1f} "
                   f"[{r['k_ns_q1']:.1f}, {r['k_ns_q3']:.1f}] | {r['k_ratio']:.3f} "
                   f"[{r['k_ratio_lo']:.3f}, {r['k_ratio_hi']:.3f}] "
                   f"| [{r['aa'][0]:.3f}, {r['aa'][1]:.3f}] | {verdict} | {pps} |")
    return out


def write_latency(res, rounds, live):
    md = ["# In-kernel latency: clang -O2 against k2-cluster's output", "",
          f"`k2 bench ORIG.o OUT.o` (kernel_bench: BPF_PROG_TEST_RUN on the bench core, original "
          f"and output interleaved over {rounds} rounds on the same 16 generated packets, "
          f"calibrated repeat; XDP programs also {live} s of live frames on a private veth pair). "
          "ns/pkt: per round the mean over packets, then the median and quartiles over rounds; "
          "it includes the kernel's fixed cost of a run. *ratio*: output/original, the median of "
          "per-round ratios with its ~95% distribution-free interval; *A/A envelope*: how far "
          "identical copies of the original land, i.e. the resolution. Only programs k2-cluster "
          "changed are measured. Traces: `results/latency/`.", "", *latency_table(res), "",
          "![latency](latency.png)", ""]
    write_atomic(os.path.join(TOP, "results", "latency.md"), "\n".join(md))
    plot_latency(res, os.path.join(TOP, "results", "latency.png"))


def plot_latency(res, png):
    rows = [r for r in res if "k_ratio" in r]
    if not rows:
        return
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(9, 0.4 * len(rows) + 1.5))
    y = range(len(rows))
    ax.errorbar([r["k_ratio"] for r in rows], list(y),
                xerr=[[r["k_ratio"] - r["k_ratio_lo"] for r in rows],
                      [r["k_ratio_hi"] - r["k_ratio"] for r in rows]], fmt="o", capsize=3,
                label="output / clang -O2 [95% CI]")
    for i, r in enumerate(rows):
        ax.plot(r["aa"], [i, i], color="grey", alpha=0.35, linewidth=6,
                label="A/A envelope" if i == 0 else None)
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_yticks(list(y))
    ax.set_yticklabels([r["name"] for r in rows])
    ax.set_xlabel("in-kernel latency ratio (lower is faster)")
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    save(fig, png)


# ---- slurm-scaling: the Slurm job array under a private Slurm ---------------------------------

def step_slurm_scaling(ctx):
    if not os.access(cluster_bin(ctx), os.X_OK):
        return {"status": "not run", "reason": f"no {ctx.build}/k2-cluster (mpi/ is not in this "
                "tree)"}
    if os.geteuid() != 0:
        return {"status": "not run", "reason": "a private Slurm needs root"}
    s = ctx.sec("slurm-scaling")
    prog = os.path.join(TOP, ctx.build, "corpus", s.get("program", "xdp_gtsm") + ".o")
    if not os.path.exists(prog):
        return {"status": "not run", "reason": f"no {prog}"}
    # Under /tmp: munge's and slurmd's unix socket paths must stay short.
    sd = tempfile.mkdtemp(prefix="k2-bench-slurm.")
    ls = os.path.join(TOP, "slurm", "local-slurm.sh")
    p = subprocess.run([ls, "start", sd], cwd=TOP, capture_output=True, text=True)
    if p.returncode:
        subprocess.run([ls, "stop", sd], cwd=TOP)
        shutil.rmtree(sd, ignore_errors=True)
        why = p.stderr.strip().splitlines()[-1] if p.stderr.strip() else "?"
        return {"status": "not run", "reason": "private Slurm did not start: " + why}
    env = dict(os.environ, SLURM_CONF=os.path.join(sd, "slurm.conf"),
               K2_TASKS=s.get("tasks", "1 2 4"), K2_SEEDS=s.get("seeds", "1 2"),
               K2_BUDGET=s.get("budget", "30"), K2_CLUSTER=cluster_bin(ctx),
               K2_ARGS=s.get("args", ""), K2_SCALING_MD="results/slurm-scaling.md",
               K2_SCALING_PNG="results/slurm-scaling.png")
    try:
        out = os.path.join(TOP, "results", "slurm-scaling")
        rc = run([os.path.join(TOP, "slurm", "scaling.sh"), prog, out], ctx.timeout,
                 os.path.join(TOP, ctx.build, "bench", "logs", "scaling.log"), env)
        for f in glob.glob(os.path.join(out, "k2-scaling-*.out")):  # job logs: not results
            shutil.move(f, os.path.join(TOP, ctx.build, "bench", "logs", os.path.basename(f)))
    finally:
        subprocess.run([ls, "stop", sd], cwd=TOP)
        shutil.rmtree(sd, ignore_errors=True)
    if rc is None:
        return {"status": "timed out", "reason": f"stopped after {ctx.timeout:.0f} s"}
    if rc:
        return {"status": "failed", "reason": f"slurm/scaling.sh exited {rc}"}
    return {"status": "ok"}


# ---- results/README.md -----------------------------------------------------------------------

def save(fig, png):
    tmp = png + ".tmp.png"
    fig.savefig(tmp, dpi=110)
    os.replace(tmp, png)


def write_atomic(path, text):
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    git = lambda *a: subprocess.run(["git", *a], cwd=TOP, capture_output=True,  # noqa: E731
                                    text=True).stdout.strip()
    return {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "host": platform.node(), "cpu": cpu, "cpus": os.cpu_count(), "mem_gib": round(mem, 1),
            "kernel": platform.release(), "commit": git("rev-parse", "--short", "HEAD"),
            "describe": git("describe", "--always", "--dirty", "--tags")}


OUTPUTS = {"interp": "interp.txt", "interp_jit": "interp.md", "search": "search.md",
           "eqcheck": "eqcheck.md", "sizes": "sizes.md", "latency": "latency.md",
           "scaling": "scaling.md", "slurm-scaling": "slurm-scaling.md"}


def section(path, title):
    """The table part of a results page, for inlining (from the first table on)."""
    try:
        with open(os.path.join(TOP, "results", path)) as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    start = next((i for i, ln in enumerate(lines) if ln.startswith("|")), None)
    if start is None:
        return []
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return [f"## {title}", "", *lines[start:end], "", f"Details: [{path}]({path})", ""]


def page_title(name):
    """A results page's first heading (or its first line)."""
    try:
        with open(os.path.join(TOP, "results", name)) as f:
            line = next((ln for ln in f if ln.strip()), "")
    except OSError:
        return ""
    return line.lstrip("# ").strip()[:100]


def write_readme(state):
    m = state["machine"]
    md = ["# Results", "",
          f"Written by `make bench` (mk/bench.py, budgets in configs/bench.ini) on {m['date']}: "
          f"{m['host']}, {m['cpu']} ({m['cpus']} CPUs, {m['mem_gib']} GiB), kernel "
          f"{m['kernel']}, commit {m['commit']} (`{m['describe']}`); {state['minutes']:.1f} min "
          "in all. Steps that could not run say why; no number here is filled in by hand.", "",
          *([state["note"], ""] if state.get("note") else []),
          "| step | status | time | output |", "|---|---|---:|---|"]
    for name in state["order"]:
        st = state["steps"].get(name, {"status": "not run",
                                       "reason": f"not run yet (make bench-{name})"})
        out = OUTPUTS.get(name, name + ".txt")
        done = st["status"] in ("ok", "partial")
        if os.path.exists(os.path.join(TOP, "results", out)):
            # not done: a page left by an earlier run or committed by its module's branch
            link = f"[{out}]({out})" + ("" if done else " (not from this run)")
        else:
            link = f"no results/{out}" if done else ""
        status = st["status"] + (f": {st['reason']}" if st.get("reason") else "")
        md.append(f"| {name} | {status} | {f1(st.get('seconds'), '.0f')} s | {link} |")
    md.append("")
    for name, title in (("sizes", "Sizes: clang -O2 against k2-cluster"),
                        ("latency", "In-kernel latency before and after"),
                        ("slurm-scaling", "Scaling over MPI ranks (Slurm job array)")):
        if state["steps"].get(name, {}).get("status") in ("ok", "partial"):
            md += section(OUTPUTS[name], title)
            png = OUTPUTS[name][:-3] + ".png"
            if os.path.exists(os.path.join(TOP, "results", png)):
                md += [f"![{name}]({png})", ""]
    # Every other page and plot in results/ (a module's own tables, their plots) is linked too.
    text = "\n".join(md)
    others = [n for n in sorted(os.listdir(os.path.join(TOP, "results")))
              if n.endswith((".md", ".png", ".txt")) and n != "README.md" and
              f"({n})" not in text]
    if others:
        md += ["## Other tables and plots", "",
               *[f"- [{n}]({n})" + ("" if n.endswith(".png") else f": {page_title(n)}")
                 for n in others], ""]
    write_atomic(os.path.join(TOP, "results", "README.md"), "\n".join(md))
    update_top_readme()


def update_top_readme():
    """The sizes table between the README's `make bench` markers (the latest measured)."""
    path = os.path.join(TOP, "README.md")
    begin, end = "<!-- make bench: sizes -->", "<!-- /make bench -->"
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return
    if begin not in text or end not in text:
        return
    rows = section("sizes.md", "x")[2:-2]
    if not rows:
        return
    head, rest = text.split(begin, 1)
    tail = rest.split(end, 1)[1]
    write_atomic(path, head + begin + "\n" + "\n".join(rows) + "\n" + end + tail)


STEPS = {"sizes": step_sizes, "latency": step_latency, "slurm-scaling": step_slurm_scaling}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="configs/bench.ini")
    ap.add_argument("--build", default="build")
    ap.add_argument("--readme", action="store_true",
                    help="run nothing: rewrite results/README.md, sizes.md and README.md's "
                    "table from the last results")
    ap.add_argument("--sizes-table", metavar="DIR",
                    help="run nothing: print the sizes table of the k2-cluster reports in DIR "
                    "(NAME.json, NAME.h5, runs.json)")
    ap.add_argument("steps", nargs="*")
    a = ap.parse_args()
    if a.sizes_table:
        names = sorted(os.path.basename(p)[:-5] for p in
                       glob.glob(os.path.join(a.sizes_table, "*.json")))
        names = [n for n in names if n != "runs"]
        if not names:
            print(f"bench: {a.sizes_table}: no reports", file=sys.stderr)
            return 1
        print("\n".join(sizes_table(sizes_rows(names, a.sizes_table))))
        return 0
    cfg = configparser.ConfigParser(inline_comment_prefixes=(";",), comment_prefixes=(";", "#"))
    cfg.optionxform = str  # UPPER_CASE keys are passed to make steps as they are
    path = os.path.join(TOP, a.config)
    if not cfg.read(path):
        print(f"bench: {a.config}: cannot read", file=sys.stderr)
        return 2
    ctx = Ctx(cfg, a.build)
    order = cfg.get("bench", "steps", fallback="").split()
    order += sorted(n for n in (os.path.basename(p)[:-2] for p in
                                glob.glob(os.path.join(TOP, "tests", "bench", "*.c")))
                    if n not in order)
    for s in a.steps:
        if s not in order:
            print(f"bench: {a.config}: no step {s} (steps: {' '.join(order)})", file=sys.stderr)
            return 2
    state = {"steps": {}}
    try:
        with open(os.path.join(TOP, STATE)) as f:
            state = json.load(f)
    except (OSError, ValueError):
        pass
    os.makedirs(os.path.join(TOP, "results"), exist_ok=True)
    if os.environ.get("K2_BENCH_NOTE"):
        state["note"] = os.environ["K2_BENCH_NOTE"]
    if a.readme:
        if "machine" not in state:
            print(f"bench: no {STATE}: nothing measured yet", file=sys.stderr)
            return 1
        if glob.glob(os.path.join(TOP, "results", "sizes", "*.json")):
            z = ctx.sec("sizes")
            write_sizes(ctx, z.get("ranks", "4"), z.get("budget", "15"), z.get("seed", "1"),
                        z.get("args", ""), check_outputs=False)
        write_atomic(os.path.join(TOP, STATE), json.dumps(state, indent=1) + "\n")
        write_readme(state)
        return 0
    t0 = time.monotonic()
    for name in a.steps or order:
        log(f"== {name}")
        t = time.monotonic()
        st = STEPS[name](ctx) if name in STEPS else make_step(ctx, name)
        st["seconds"] = time.monotonic() - t
        state["steps"][name] = st
        log(f"{name}: {st['status']}" + (f": {st['reason']}" if st.get("reason") else "") +
            f" ({st['seconds']:.0f} s)")
    state["order"] = order
    state["machine"] = machine()
    state["note"] = os.environ.get("K2_BENCH_NOTE", "")
    state["minutes"] = sum(s.get("seconds", 0) for n, s in state["steps"].items()
                           if n in order) / 60
    write_atomic(os.path.join(TOP, STATE), json.dumps(state, indent=1) + "\n")
    write_readme(state)
    log(f"results/README.md written ({(time.monotonic() - t0) / 60:.1f} min this run)")
    return 0 if all(state["steps"][n]["status"] in ("ok", "not run", "partial")
                    for n in (a.steps or order)) else 1


if __name__ == "__main__":
    sys.exit(main())
