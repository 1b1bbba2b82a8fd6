#!/usr/bin/python3
"""Go cells' speed: the same loops in a Ferry cell and compiled by `go build`.

  leibniz   a CPU-bound float loop: the Leibniz series for pi, 10 million
            terms, in a func defined in one cell and called in another
  structs   a struct-heavy loop: a slice of 1,000 structs, five fields of
            each updated 10,000 times (10 million updates), then summed

Each loop is timed inside the program (time.Now around the call), --reps
times; the figure is the fastest rep, for the cell and for the compiled
program alike. The compiled program is a temporary main package with the
same source, built by `go build` (the go command on PATH).

gonb (github.com/janpfeifer/gonb, a Go kernel that compiles each cell with
the go command) is looked up too: on PATH, else through the module proxy
(`go list -m -versions`); the report says whether it could be measured.

Usage:
  /usr/bin/python3 bench/goloops.py [--ferry-bin bin/ferry] [--reps 3]

bench/kernel_bench.py runs it as part of `make bench` and writes its table
into the kernel section of docs/benchmarks.md.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kernel_bench as kb  # noqa: E402

GOAL_RATIO = 3.0  # a cell's loop at most 3x the compiled program's time

# The code under test, the same text in the cell and in the compiled program.
FUNCS = """
func leibniz(n int) float64 {
	s, sign := 0.0, 1.0
	for i := 0; i < n; i++ {
		s += sign / float64(2*i+1)
		sign = -sign
	}
	return 4 * s
}

type particle struct {
	X, Y, VX, VY, M float64
	N               int
}

func structs(n, iters int) float64 {
	ps := make([]particle, n)
	for i := range ps {
		ps[i] = particle{X: float64(i), VX: 1, VY: 0.5, M: 1 + float64(i%7)}
	}
	for it := 0; it < iters; it++ {
		for i := range ps {
			p := &ps[i]
			p.X += p.VX * 0.01
			p.Y += p.VY * 0.01
			p.VX *= 0.9999
			p.VY -= 0.001
			p.N++
		}
	}
	sum := 0.0
	for i := range ps {
		sum += ps[i].X*ps[i].M + ps[i].Y + float64(ps[i].N)
	}
	return sum
}
"""

# name -> (call, what it does)
LOOPS = {
    "leibniz": ("leibniz(10000000)", "Leibniz pi, 10 M float iterations"),
    "structs": ("structs(1000, 10000)", "slice of 1,000 structs, 10 M field updates, sum"),
}


def timing_stmt(call):
    """Go statements that time call and print "ns result"."""
    return (f"t0 := time.Now()\nr := {call}\n"
            f"fmt.Println(time.Since(t0).Nanoseconds(), r)")


def compiled_times(reps):
    """{loop: [ns per rep]} and the results, from a `go build` of FUNCS."""
    body = []
    for name, (call, _) in LOOPS.items():
        body.append(f"\tfor i := 0; i < {reps}; i++ {{\n\t\t{{\n"
                    + "\n".join("\t\t\t" + line for line in timing_stmt(call).splitlines())
                    + f"\n\t\t}}\n\t}}")
    src = "package main\n\nimport (\n\t\"fmt\"\n\t\"time\"\n)\n" + FUNCS + \
        "\nfunc main() {\n" + "\n".join(body) + "\n}\n"
    tmp = tempfile.mkdtemp(prefix="ferry-goloops-")
    try:
        with open(os.path.join(tmp, "main.go"), "w") as f:
            f.write(src)
        with open(os.path.join(tmp, "go.mod"), "w") as f:
            f.write("module goloops\n\ngo 1.22\n")
        env = dict(os.environ, GOFLAGS="", GOWORK="off")
        exe = os.path.join(tmp, "goloops")
        subprocess.run(["go", "build", "-o", exe, "."], cwd=tmp, env=env, check=True)
        out = subprocess.run([exe], capture_output=True, text=True, check=True).stdout.split("\n")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    res, results = {}, {}
    lines = [line for line in out if line.strip()]
    for k, name in enumerate(LOOPS):
        reps_out = [line.split() for line in lines[k * reps:(k + 1) * reps]]
        res[name] = [int(ns) for ns, _ in reps_out]
        results[name] = reps_out[0][1]
    return res, results


def execute(c, code, timeout=600):
    """Run code in the kernel; return its stdout. Raises on an error reply."""
    content = {"code": code, "silent": False, "store_history": True, "user_expressions": {},
               "allow_stdin": False, "stop_on_error": True}
    mid = c.session.send(c.shell, "execute_request", content)["header"]["msg_id"]
    out, reply, idle = [], None, False
    deadline = time.monotonic() + timeout
    while reply is None or not idle:
        events = c.poller.poll(1000)
        if time.monotonic() > deadline:
            raise TimeoutError(f"no reply to {code[:40]!r} in {timeout} s")
        for sock, _ in events:
            header, parent, body = c.parts(sock)
            if parent.get("msg_id") != mid:
                continue
            msg = json.loads(body)
            t = header["msg_type"]
            if sock is c.shell and t == "execute_reply":
                reply = msg
            elif t == "stream" and msg.get("name") == "stdout":
                out.append(msg["text"])
            elif t == "error":
                out.append("\n".join(msg.get("traceback") or [msg.get("evalue", "")]))
            elif t == "status" and msg.get("execution_state") == "idle":
                idle = True
    if reply.get("status") != "ok":
        raise RuntimeError(f"cell failed: {code[:60]!r}: {reply.get('ename')}: {reply.get('evalue')}\n{''.join(out)}")
    return "".join(out)


def ferry_times(kernel_name, reps):
    """{loop: [ns per rep]} and the results, run in one Ferry kernel."""
    ctx = kb.make_context()
    km, c, _ = kb.start_once(kernel_name, ctx)
    try:
        time.sleep(0.3)
        c.drain()
        execute(c, 'import (\n\t"fmt"\n\t"time"\n)')
        execute(c, FUNCS)
        res, results = {}, {}
        for name, (call, _) in LOOPS.items():
            res[name] = []
            for _ in range(reps):
                # A block keeps t0 and r local: the cell can run again.
                ns, r = execute(c, "{\n" + timing_stmt(call) + "\n}").split()
                res[name].append(int(ns))
                results[name] = r
    finally:
        kb.stop(km, c)
        ctx.term()
    return res, results


def gonb_status():
    """(measured?, a sentence on gonb's availability)."""
    path = shutil.which("gonb")
    if path:
        return False, (f"gonb found at {path}, but this script does not drive it yet "
                       "(its cells use their own syntax: `%%` for main's body)")
    try:
        p = subprocess.run(["go", "list", "-m", "-versions", "github.com/janpfeifer/gonb"],
                           capture_output=True, text=True, timeout=120, cwd=tempfile.gettempdir(),
                           env=dict(os.environ, GOFLAGS="", GO111MODULE="on"))
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, f"gonb could not be looked up: {e}"
    if p.returncode != 0:
        msg = " ".join((p.stderr or p.stdout).split())
        return False, ("gonb is not on PATH and the Go module proxy does not serve it "
                       f"(`go list -m -versions github.com/janpfeifer/gonb`: {msg}), "
                       "so it could not be installed or measured")
    return False, ("gonb is served by the module proxy (versions: "
                   f"{p.stdout.split()[-1] if p.stdout.split() else '?'}) but not installed: "
                   "`go install github.com/janpfeifer/gonb@latest && gonb --install`, then rerun")


def measure(kernel_name, reps):
    """The loops' figures: {loop: {ferry_ns, go_ns, ratio}}, the gonb sentence."""
    go_ns, go_res = compiled_times(reps)
    fe_ns, fe_res = ferry_times(kernel_name, reps)
    out = {}
    for name in LOOPS:
        if abs(float(go_res[name]) - float(fe_res[name])) > 1e-6 * max(1.0, abs(float(go_res[name]))):
            raise RuntimeError(f"{name}: the cell gave {fe_res[name]}, the compiled program {go_res[name]}")
        f, g = min(fe_ns[name]), min(go_ns[name])
        out[name] = {"ferry_ns": f, "go_ns": g, "ratio": f / g, "result": go_res[name]}
    return out, gonb_status()[1]


def render(loops, gonb, reps):
    def ms(ns):
        return f"{ns / 1e6:.1f} ms" if ns >= 1e7 else f"{ns / 1e6:.2f} ms"

    rows = ["| loop (fastest of %d) | Ferry cell | `go build` | ratio (Ferry / compiled) | Ferry goal |" % reps,
            "|---|---|---|---|---|"]
    for name, (call, what) in LOOPS.items():
        r = loops[name]
        ok = "✅" if r["ratio"] <= GOAL_RATIO else "❌"
        rows.append(f"| `{call}`: {what} | {ms(r['ferry_ns'])} | {ms(r['go_ns'])} | "
                    f"{r['ratio']:.1f}× | ≤ {GOAL_RATIO:g}× {ok} |")
    rows.append("")
    rows.append(f"gonb: {gonb}.")
    return "\n".join(rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ferry-bin", default=os.path.join(kb.REPO, "bin", "ferry"))
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    binary = os.path.abspath(args.ferry_bin)
    if not os.access(binary, os.X_OK):
        sys.exit(f"no ferry binary at {binary}: run `make build`")
    tmp = tempfile.mkdtemp(prefix="ferry-goloops-")
    try:
        pfx = os.path.join(tmp, "prefix")
        kb.install_ferry_spec(binary, pfx, tmp)
        os.environ["JUPYTER_PATH"] = os.path.join(pfx, "share/jupyter")
        os.environ["JUPYTER_RUNTIME_DIR"] = os.path.join(tmp, "runtime")
        loops, gonb = measure("ferry-bench", args.reps)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(render(loops, gonb, args.reps))


if __name__ == "__main__":
    main()
