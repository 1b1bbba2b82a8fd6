#!/usr/bin/python3
"""Benchmark of Ferry's search algorithms (tuning/algorithms, by Katib name)
on Branin and Hartmann-6 against two anchors run in the same session:
Optuna 3.1's TPE and a scikit-learn 1.2 GP with EI (bench/tuning/anchors.py).

For each function × algorithm it runs --seeds sequential studies (one
suggestion per request) of 100 evaluations and reports the median over the
seeds of the best value after 50 and after 100 evaluations, and the median
time of one suggestion from a history of 100 observations.

    /usr/bin/python3 bench/tuning/run.py [--seeds 20] [--quick]
        [--algos bayesianoptimization,random,sobol] [--anchors optuna-tpe,sklearn-gp]
        [--write docs/benchmarks.md]

At most two processes run at once. Needs go and Debian's python3-optuna,
python3-sklearn.
"""

import argparse
import concurrent.futures
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.join(REPO, "bench", "tuning")
FUNCS = {"branin": 0.397887, "hartmann6": -3.32237}
# The goals for Ferry's Bayesian optimisation (issue 14).
GOALS = {"branin": 0.3980, "hartmann6": -3.25}
GOAL_MS = 10.0

SECTION_BEGIN = "<!-- bench:tuning -->"
SECTION_END = "<!-- /bench:tuning -->"


def build():
    exe = os.path.join(REPO, "bin", "tuning-bench")
    os.makedirs(os.path.dirname(exe), exist_ok=True)
    subprocess.run(["go", "build", "-o", exe, "./bench/tuning"], cwd=REPO, check=True)
    return exe


def job(cmd):
    t0 = time.time()
    out = subprocess.run(cmd, cwd=REPO, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1]), time.time() - t0


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {model}, Linux {platform.release()}"


def versions():
    go = subprocess.run(["go", "version"], capture_output=True, text=True).stdout.strip()
    py = subprocess.run(["/usr/bin/python3", "-c", "import optuna, sklearn; print(optuna.__version__, sklearn.__version__)"],
                        capture_output=True, text=True).stdout.split()
    return go, (py + ["?", "?"])[:2]


def fmt(v, digits=4):
    return "—" if v is None else f"{v:.{digits}f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--quick", action="store_true", help="5 seeds, for a first look")
    ap.add_argument("--algos", default="bayesianoptimization,random,sobol",
                    help="Ferry algorithms (Katib names), comma-separated")
    ap.add_argument("--anchors", default="optuna-tpe,sklearn-gp", help="anchors, comma-separated ('' for none)")
    ap.add_argument("--funcs", default="branin,hartmann6")
    ap.add_argument("--jobs", type=int, default=2, help="processes at once (at most 2)")
    ap.add_argument("--write", metavar="PATH", help="replace the tuning section of PATH (docs/benchmarks.md)")
    args = ap.parse_args()
    seeds = 5 if args.quick else args.seeds
    algos = [a for a in args.algos.split(",") if a]
    anchors = [a for a in args.anchors.split(",") if a]
    funcs = [f for f in args.funcs.split(",") if f]
    exe = build()
    load0 = os.getloadavg()[0]
    start = time.time()

    # One job per (function, algorithm, block of seeds), the slow anchors
    # split in blocks so that the two workers stay busy.
    jobs = []
    for f in funcs:
        for a in anchors:
            block = 2 if a == "sklearn-gp" else seeds
            for s0 in range(0, seeds, block):
                n = min(block, seeds - s0)
                jobs.append(((f, a), ["/usr/bin/python3", os.path.join(HERE, "anchors.py"), "--algo", a, "--func", f,
                                      "--seeds", str(n), "--seed0", str(s0), "--timed", str(max(0, 3 - s0))]))
        for a in algos:
            jobs.append(((f, a), [exe, "-algo", a, "-func", f, "-seeds", str(seeds)]))
    results = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(args.jobs, 2))) as ex:
        futs = {ex.submit(job, cmd): key for key, cmd in jobs}
        for fut in concurrent.futures.as_completed(futs):
            key = futs[fut]
            r, dt = fut.result()
            acc = results.setdefault(key, {"b50": [], "b100": [], "ms": [], "secs": 0.0})
            acc["b50"] += r["best_at_50"]
            acc["b100"] += r["best_at_100"]
            if r.get("ms_per_suggestion") is not None:
                acc["ms"].append(r["ms_per_suggestion"])
            acc["secs"] += dt
            print(f"{key[0]:9s} {key[1]:22s} done ({dt:.0f} s)", file=sys.stderr)
    elapsed = time.time() - start
    load1 = os.getloadavg()[0]

    rows = []
    for f in funcs:
        for a in algos + anchors:
            acc = results.get((f, a))
            if not acc:
                continue
            m50 = statistics.median(acc["b50"]) if acc["b50"] else None
            m100 = statistics.median(acc["b100"]) if acc["b100"] else None
            ms = statistics.median(acc["ms"]) if acc["ms"] else None
            goal = ""
            if a == "bayesianoptimization":
                ok = m50 is not None and m50 <= GOALS[f] and ms is not None and ms <= GOAL_MS
                sk = results.get((f, "sklearn-gp"))
                if sk and sk["b50"]:
                    ok = ok and m50 <= statistics.median(sk["b50"])
                goal = f"≤ {GOALS[f]} and ≤ scikit-learn @50, ≤ {GOAL_MS:.0f} ms {'✅' if ok else '❌'}"
            elif a == "tpe" and results.get((f, "optuna-tpe")):
                op = results[(f, "optuna-tpe")]
                ok = m50 <= statistics.median(op["b50"]) and m100 <= statistics.median(op["b100"])
                goal = f"≤ Optuna TPE @50 and @100 {'✅' if ok else '❌'}"
            name = a if a in anchors else f"Ferry `{a}`"
            if a == "optuna-tpe":
                name = "Optuna TPE (anchor)"
            elif a == "sklearn-gp":
                name = "scikit-learn GP-EI (anchor)"
            rows.append(f"| {f} (min {FUNCS[f]}) | {name} | {fmt(m50)} | {fmt(m100)} | {fmt(ms, 1)} | {goal} |")
    table = "\n".join(["| function | algorithm | median best @50 | median best @100 | ms / suggestion @100 obs | goal |",
                       "|---|---|---|---|---|---|"] + rows)
    print(table)
    print(f"\n{seeds} seeds, {elapsed:.0f} s, load {load0:.1f} → {load1:.1f}", file=sys.stderr)
    if args.write:
        write_doc(args, table, seeds, elapsed, (load0, load1))
        print(f"wrote {args.write}", file=sys.stderr)


def write_doc(args, table, seeds, elapsed, load):
    go, (optuna, sklearn) = versions()
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    cmd = "/usr/bin/python3 bench/tuning/run.py"
    if args.quick:
        cmd += " --quick"
    elif seeds != 20:
        cmd += f" --seeds {seeds}"
    if args.algos != "bayesianoptimization,random,sobol":
        cmd += f" --algos {args.algos}"
    cmd += " --write docs/benchmarks.md"
    section = f"""{SECTION_BEGIN}
## Tuning: search algorithms on Branin and Hartmann-6

Measured {date} on {machine()}; {go}, Python {platform.python_version()},
Optuna {optuna}, scikit-learn {sklearn}. 1-minute load average {load[0]:.1f} at the start,
{load[1]:.1f} at the end (other work on the machine); the run took {elapsed:.0f} s with two processes.

Each cell is the median over {seeds} seeds of the best value found after 50 or 100 evaluations of a
sequential study (one suggestion per request, 10 initial points for the model-based ones). Branin on
x1 ∈ [-5, 10], x2 ∈ [0, 15]; Hartmann-6 on [0, 1]^6. The time is the median (over the first 3 seeds,
each the median of 5 calls for Ferry) of one suggestion from a history of 100 observations, from
scratch (Ferry keeps no state between calls).

{table}

Anchors: Optuna's `TPESampler(seed=…)` with its defaults; the scikit-learn GP is
`GaussianProcessRegressor(ConstantKernel * Matern(nu=2.5, ARD) + WhiteKernel, normalize_y=True,
n_restarts_optimizer=1)` on the unit cube, a Latin-hypercube initial design of 10, and EI (xi 0.01)
maximised over 1000 random candidates then L-BFGS-B from the best 3 (bench/tuning/anchors.py).
Ferry's `bayesianoptimization` is tuning/bayesopt with its defaults (EI, xi 0, 10 scrambled-Sobol
initial points).

Rerun:

```
{cmd}
```

This machine is shared and noisy: compare numbers of the same run only.
{SECTION_END}
"""
    path = os.path.join(REPO, args.write) if not os.path.isabs(args.write) else args.write
    try:
        with open(path) as f:
            doc = f.read()
    except FileNotFoundError:
        doc = "# Benchmarks\n"
    a, b = doc.find(SECTION_BEGIN), doc.find(SECTION_END)
    if a >= 0 and b > a:
        doc = doc[:a] + section.rstrip("\n") + doc[b + len(SECTION_END):]
    else:
        doc = doc.rstrip("\n") + "\n\n" + section
    with open(path, "w") as f:
        f.write(doc)


if __name__ == "__main__":
    main()
