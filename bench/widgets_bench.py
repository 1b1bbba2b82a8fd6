#!/usr/bin/python3
"""Ferry widgets: kernel-to-client update throughput, and execute latency
while the updates flow.

Through plain ZeroMQ sockets signed with jupyter_client's Session (Debian's,
use /usr/bin/python3), the way bench/kernel_bench.py talks to the kernel:

  flood     a cell displays an IntProgress and starts a goroutine that sets
            its value --updates times (1..N) as fast as it can; the client
            reads every `update` comm_msg on iopub (all N must arrive, in
            order) and reports the time from the first to the last and the
            rate
  execute   meanwhile the client sends `1+1` execute_requests back to back:
            send -> execute_reply latency while the flood runs (p50, p99,
            max, and how many were over --budget-ms, the 10 ms goal)
  progress  the throttled widgets.Progress helper: --updates Add(1) calls
            from a cell, and how many comm messages that sent

No kernel baseline: Debian ships ipywidgets 6.0.0 (protocol 1), not the
ipywidgets 8 that ipykernel would need for the same protocol.

Usage:
  /usr/bin/python3 bench/widgets_bench.py [--ferry-bin bin/ferry]
      [--updates 10000] [--rounds 3] [--write /tmp/ferry-bench-widgets.md]
"""

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kernel_bench as kb  # noqa: E402  (install_ferry_spec, Client, pct, machine)

from jupyter_client.manager import KernelManager  # noqa: E402

REPO = kb.REPO


def execute(c, code, timeout=30):
    """Run code; return (reply content, iopub messages of it as (header, content, bufs))."""
    content = {"code": code, "silent": False, "store_history": True, "user_expressions": {},
               "allow_stdin": False, "stop_on_error": True}
    mid = c.session.send(c.shell, "execute_request", content)["header"]["msg_id"]
    reply, idle, msgs = None, False, []
    deadline = time.perf_counter() + timeout
    while reply is None or not idle:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"execute {code!r}")
        for sock, _ in c.poller.poll(1000):
            header, parent, body = c.parts(sock)
            if parent.get("msg_id") != mid:
                continue
            body = json.loads(body)
            if sock is c.shell:
                reply = body
            elif header["msg_type"] == "status":
                idle = body["execution_state"] == "idle"
            else:
                msgs.append((header, body))
    if reply["status"] != "ok":
        raise RuntimeError(f"execute {code!r}: {reply}")
    return reply, msgs


def ptiles(xs):
    """p50 / p99 / p99.9 / max of latencies in seconds, in ms."""
    if not xs:
        return "n/a"
    return " / ".join(f"{v * 1000:.2f}" for v in (kb.pct(xs, 50), kb.pct(xs, 99), kb.pct(xs, 99.9), max(xs))) + " ms"


def flood_round(c, n, budget_s):
    """One flood: (seconds first->last update, execute latencies during it)."""
    _, msgs = execute(c, f"p := widgets.NewIntProgress(0, widgets.Max({n}))\nwidgets.Display(p)\n"
                         "fmt.Println(p.ModelID())")
    pid = [b["text"].strip() for h, b in msgs if h["msg_type"] == "stream"][0]
    ex = {"code": "1+1", "silent": False, "store_history": True, "user_expressions": {},
          "allow_stdin": False, "stop_on_error": True}
    start = {"code": f"go func() {{\n\tfor i := 1; i <= {n}; i++ {{\n\t\tp.SetValue(i)\n\t}}\n}}()",
             "silent": False, "store_history": True, "user_expressions": {}, "allow_stdin": False,
             "stop_on_error": True}
    c.session.send(c.shell, "execute_request", start)
    got, last_value = 0, 0
    t_first = t_last = None
    lat, klat, pending, t_sent, d_sent = [], [], None, 0.0, None
    deadline = time.perf_counter() + 120
    started = False
    while got < n:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"only {got} of {n} updates arrived")
        if started and pending is None:
            t_sent = time.perf_counter()
            h = c.session.send(c.shell, "execute_request", ex)["header"]
            pending, d_sent = h["msg_id"], as_time(h["date"])
        for sock, _ in c.poller.poll(1000):
            t = time.perf_counter()
            header, parent, body = c.parts(sock)
            if sock is c.shell:
                if header["msg_type"] == "execute_reply" and parent.get("msg_id") == pending:
                    if got < n:  # only round trips that overlapped the flood
                        lat.append(t - t_sent)
                        klat.append((as_time(header["date"]) - d_sent).total_seconds())
                    pending = None
                elif header["msg_type"] == "execute_reply":
                    started = True  # the cell that starts the flood answered
                continue
            if header["msg_type"] != "comm_msg":
                continue
            body = json.loads(body)
            if body["comm_id"] != pid or body["data"].get("method") != "update":
                continue
            v = body["data"]["state"]["value"]
            if v != last_value + 1:
                raise RuntimeError(f"update {v} arrived after {last_value}: lost or out of order")
            last_value, got = v, got + 1
            t_first = t_first or t
            t_last = t
    # let the last execute finish
    while pending is not None:
        for sock, _ in c.poller.poll(1000):
            header, parent, _ = c.parts(sock)
            if sock is c.shell and parent.get("msg_id") == pending:
                pending = None
    c.drain()
    return t_last - t_first, lat, klat


def go_floods(pfx, tmp, args):
    """Run the floods with zmqrtt's flood command; (latencies s, spans s)."""
    binary = os.path.join(tmp, "zmqrtt")
    subprocess.run(["go", "build", "-tags", "duckdb_arrow", "-o", binary, "./bench/notebookd/zmqrtt"],
                   cwd=REPO, check=True)
    spec = os.path.join(pfx, "share/jupyter/kernels/ferry-bench/kernel.json")
    cmds = "".join(f"flood {args.updates}\n" for _ in range(args.rounds)) + "quit\n"
    out = subprocess.run([binary, "-spec", spec, "-dir", tmp], input=cmds, capture_output=True,
                         text=True, check=True, timeout=600).stdout
    lats, spans = [], []
    for line in out.splitlines()[1:]:
        r = json.loads(line)
        lats.extend(x / 1e9 for x in r["lat_ns"])
        spans.append(r["span_ns"] / 1e9)
    return lats, spans


def as_time(d):
    """A header date (a datetime, or ISO 8601 text) as an aware datetime."""
    if isinstance(d, datetime.datetime):
        return d if d.tzinfo else d.replace(tzinfo=datetime.timezone.utc)
    t = datetime.datetime.fromisoformat(d.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=datetime.timezone.utc)


def progress_round(c, n):
    _, msgs = execute(c, f"pr := widgets.NewProgress({n}, \"work\")\nfor i := 0; i < {n}; i++ {{\n\tpr.Add(1)\n}}\npr.Done()")
    return sum(1 for h, b in msgs if h["msg_type"] == "comm_msg")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ferry-bin", default=os.path.join(REPO, "bin", "ferry"))
    ap.add_argument("--updates", type=int, default=10000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--budget-ms", type=float, default=10.0)
    ap.add_argument("--write", metavar="PATH", help="write the Markdown section to PATH")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="ferry-wbench-")
    pfx = os.path.join(tmp, "prefix")
    kb.install_ferry_spec(os.path.abspath(args.ferry_bin), pfx, tmp)
    os.environ["JUPYTER_PATH"] = os.path.join(pfx, "share/jupyter")
    os.environ["JUPYTER_RUNTIME_DIR"] = os.path.join(tmp, "runtime")

    load_before = os.getloadavg()[0]
    ctx = kb.make_context()
    km, c, _ = kb.start_once("ferry-bench", ctx)
    try:
        time.sleep(0.3)
        c.drain()
        for _ in range(20):
            execute(c, "1+1")  # warm up
        quiet = []
        for _ in range(200):
            t0 = time.perf_counter()
            execute(c, "1+1")
            quiet.append(time.perf_counter() - t0)
        pid = kb.kernel_pid(km)
        anon_before = kb.rss_mb(pid, "RssAnon")
        anon_peak = anon_before
        spans, lats, klats = [], [], []
        for r in range(args.rounds):
            span, lat, klat = flood_round(c, args.updates, args.budget_ms / 1000)
            spans.append(span)
            lats.extend(lat)
            klats.extend(klat)
            print(f"round {r + 1}: {args.updates} updates in {span * 1000:.0f} ms "
                  f"({args.updates / span:,.0f}/s), {len(lat)} executes meanwhile, "
                  f"max {max(lat) * 1000 if lat else float('nan'):.2f} ms", file=sys.stderr)
            anon_peak = max(anon_peak, kb.rss_mb(pid, "RssAnon"))
        time.sleep(2)  # the flood has ended: the kernel collects its garbage
        anon_after = kb.rss_mb(pid, "RssAnon")
        sent = progress_round(c, args.updates)
    finally:
        kb.stop(km, c)
    # The same floods with a Go client (bench/notebookd/zmqrtt), which
    # leaves the CPUs to the kernel: the Python client above decodes every
    # update in Python.
    glats, gspans = go_floods(pfx, tmp, args)

    load_after = os.getloadavg()[0]
    over = sum(1 for x in lats if x * 1000 > args.budget_ms)
    kover = sum(1 for x in klats if x * 1000 > args.budget_ms)
    gover = sum(1 for x in glats if x * 1000 > args.budget_ms)
    span = statistics.median(spans)
    rows = [
        ("updates per round", f"{args.updates:,} (`IntProgress.SetValue` from a goroutine; all arrived in order)"),
        ("first → last update, median of rounds", f"{span * 1000:.0f} ms ({args.updates / span:,.0f} updates/s)"),
        ("`1+1` execute round trips during the floods", f"{len(lats)}"),
        ("execute → reply during the floods: p50 / p99 / p99.9 / max", ptiles(lats)),
        (f"executes over {args.budget_ms:g} ms", f"{over} of {len(lats)}"),
        ("kernel side: request sent → reply created (header dates; without the client's own queueing): p50 / p99 / p99.9 / max",
         ptiles(klats)),
        (f"kernel side over {args.budget_ms:g} ms", f"{kover} of {len(klats)}"),
        ("Go client (zmqrtt): first → last update, median; execute → reply p50 / p99 / p99.9 / max",
         f"{statistics.median(gspans) * 1000:.0f} ms; {ptiles(glats)}" if glats else "n/a"),
        (f"Go client: executes over {args.budget_ms:g} ms", f"{gover} of {len(glats)}"),
        ("kernel memory (RssAnon): before the floods / highest after a round / 2 s after the last",
         f"{anon_before:.0f} / {anon_peak:.0f} / {anon_after:.0f} MB"),
        ("execute → reply, idle kernel: p50 / p99", f"{kb.pct(quiet, 50) * 1000:.2f} / {kb.pct(quiet, 99) * 1000:.2f} ms"),
        (f"`widgets.Progress`: comm messages for {args.updates:,} `Add(1)`", f"{sent} (throttled to one update per 100 ms)"),
    ]
    table = "| what | Ferry |\n|---|---|\n" + "\n".join(f"| {a} | {b} |" for a, b in rows)
    section = (
        "## Widgets: kernel → client updates\n\n"
        f"`bench/widgets_bench.py`, {datetime.date.today().isoformat()}, {kb.machine()}, "
        f"1-minute load average {load_before:.1f} before, {load_after:.1f} after; "
        f"{args.rounds} rounds. A cell displays an `IntProgress` and starts a goroutine that sets its value "
        f"{args.updates:,} times; a jupyter_client-signed ZeroMQ client reads every `update` on iopub while it "
        "sends `1+1` execute requests back to back. Goal: the kernel answers executes within "
        f"{args.budget_ms:g} ms while the updates flow. No baseline: Debian has ipywidgets 6 (protocol 1) only.\n\n"
        + table + "\n"
    )
    print(section)
    if args.write:
        with open(args.write, "w") as f:
            f.write(section)


if __name__ == "__main__":
    main()
