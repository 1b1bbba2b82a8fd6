#!/usr/bin/python3
"""Ferry kernel vs ipykernel: start time, execute round trip, memory.

Runs both kernels in the same run, through jupyter_client (Debian's, use
/usr/bin/python3):

  start     launch -> first kernel_info_reply, median of --starts fresh kernels
            (Ferry and ipykernel alternate, so machine noise hits both)
  execute   `1+1`, --executes round trips on one kernel after --warmup:
            send -> execute_reply, and send -> status idle; p50 and p99
  rss       VmRSS of the kernel process 0.5 s after its kernel_info_reply
            (median over the starts), and after the execute loop; for Ferry
            also with the ferry-kernel binary read back from disk (its page
            cache dropped first), see rss_from_disk
  loops     Go loops in a Ferry cell vs compiled by `go build`, and whether
            gonb can be measured (bench/goloops.py; --no-loops skips them)

Usage:
  /usr/bin/python3 bench/kernel_bench.py [--ferry-bin bin/ferry]
      [--starts 5] [--executes 1000] [--no-loops] [--write docs/benchmarks.md]

The client sockets use a 5 ms ZeroMQ reconnect interval (default 100 ms) so
the start time measures the kernel, not the client's reconnect timer; both
kernels get the same client.
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import zmq
from jupyter_client.manager import KernelManager

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

GOALS = {  # Ferry's targets
    "start_ms": 150.0,
    "reply_p50_ms": 0.5,
    "rss_mb": 50.0,
}


def rss_mb(pid, field="VmRSS"):
    """A memory figure of /proc/<pid>/status in MB: VmRSS (all resident
    pages, the binary's file pages included) or RssAnon (the process's own
    memory)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024.0
    except FileNotFoundError:
        pass
    return float("nan")


def drop_page_cache(path):
    """Drops the clean page-cache pages of the file at path (as after a
    reboot, or once memory pressure has evicted them): the next start reads
    the binary back from disk. Returns whether it could."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def rss_from_disk(kernel_name, ctx, kernel_bin, tmp, n=3):
    """RSS and RssAnon (MB) 0.5 s after the start of n fresh kernels that
    run a copy of kernel_bin whose page cache is dropped before the first
    (the kernelspec kernel_name, cloned with FERRY_KERNEL set to the copy;
    kernel_bin's own pages stay as they are).

    A binary just written (by go build, or copied) sits in the page cache in
    large folios, and a page fault maps the whole folio it hits (up to
    2 MiB, as a huge page where aligned); read back from disk it comes in
    smaller pieces and only the pages around each fault are mapped. The same
    binary thus shows a larger RSS right after `make build` than after a
    reboot: both are reported."""
    copy = os.path.join(tmp, "ferry-kernel-copy")
    try:
        shutil.copyfile(kernel_bin, copy)
        shutil.copymode(kernel_bin, copy)
        with open(copy, "rb+") as f:
            os.fsync(f.fileno())  # written back: clean pages can be dropped
    except OSError:
        return None
    if not drop_page_cache(copy):
        return None
    kdir = os.path.join(os.environ["JUPYTER_PATH"], "kernels")
    name = kernel_name + "-from-disk"
    shutil.copytree(os.path.join(kdir, kernel_name), os.path.join(kdir, name))
    spec_file = os.path.join(kdir, name, "kernel.json")
    with open(spec_file) as f:
        spec = json.load(f)
    spec.setdefault("env", {})["FERRY_KERNEL"] = copy
    with open(spec_file, "w") as f:
        json.dump(spec, f)
    rss, anon = [], []
    for _ in range(n):
        km, kc, _ = start_once(name, ctx)
        time.sleep(0.5)
        rss.append(rss_mb(kernel_pid(km)))
        anon.append(rss_mb(kernel_pid(km), "RssAnon"))
        stop(km, kc)
    return {"rss": statistics.median(rss), "anon": statistics.median(anon), "n": n}


def kernel_pid(km):
    prov = getattr(km, "provisioner", None)
    if prov is not None and getattr(prov, "pid", None):
        return prov.pid
    return km.kernel.pid


def make_context():
    ctx = zmq.Context()
    ctx.setsockopt(zmq.RECONNECT_IVL, 5)
    ctx.setsockopt(zmq.LINGER, 0)
    return ctx


class Client:
    """Plain synchronous ZeroMQ sockets to a kernel (shell DEALER, IOPub SUB),
    signed with the kernel manager's Session: the least client overhead."""

    def __init__(self, km, ctx):
        self.session = km.session
        self.shell = ctx.socket(zmq.DEALER)
        self.shell.connect(km._make_url("shell"))
        self.iopub = ctx.socket(zmq.SUB)
        self.iopub.setsockopt(zmq.SUBSCRIBE, b"")
        self.iopub.connect(km._make_url("iopub"))
        self.poller = zmq.Poller()
        self.poller.register(self.shell, zmq.POLLIN)
        self.poller.register(self.iopub, zmq.POLLIN)

    def close(self):
        self.shell.close(0)
        self.iopub.close(0)

    def parts(self, sock):
        """(header, parent_header, content-bytes) of the next message."""
        _, parts = self.session.feed_identities(sock.recv_multipart())
        return json.loads(parts[1]), json.loads(parts[2]), parts[4]

    def drain(self, ms=50):
        while self.poller.poll(ms):
            for sock, _ in self.poller.poll(0):
                sock.recv_multipart()


def start_once(kernel_name, ctx):
    """Start a kernel; return (km, client, seconds to first kernel_info_reply)."""
    km = KernelManager(kernel_name=kernel_name)
    t0 = time.perf_counter()
    km.start_kernel()
    c = Client(km, ctx)
    mid = c.session.send(c.shell, "kernel_info_request", {})["header"]["msg_id"]
    deadline = t0 + 60
    resend = time.perf_counter() + 5
    while True:
        now = time.perf_counter()
        if now > deadline:
            raise TimeoutError(f"{kernel_name}: no kernel_info_reply in 60 s")
        if now > resend:  # lost to a not-yet-bound socket; ask again
            mid = c.session.send(c.shell, "kernel_info_request", {})["header"]["msg_id"]
            resend = now + 5
        if not c.shell.poll(10, zmq.POLLIN):
            continue
        header, parent, _ = c.parts(c.shell)
        if parent.get("msg_id") == mid and header["msg_type"] == "kernel_info_reply":
            return km, c, time.perf_counter() - t0


def stop(km, c):
    c.close()
    km.shutdown_kernel(now=False)


def execute_loop(c, n, warmup, code="1+1"):
    """Round trips of `code`: (reply latencies, idle latencies) in seconds."""
    content = {
        "code": code,
        "silent": False,
        "store_history": True,
        "user_expressions": {},
        "allow_stdin": False,
        "stop_on_error": True,
    }
    replies, idles = [], []
    time.sleep(0.3)
    c.drain()  # start-up chatter
    for i in range(warmup + n):
        t0 = time.perf_counter()
        mid = c.session.send(c.shell, "execute_request", content)["header"]["msg_id"]
        t_reply = t_idle = None
        while t_reply is None or t_idle is None:
            events = c.poller.poll(30000)
            if not events:
                raise TimeoutError("no reply in 30 s")
            for sock, _ in events:
                t = time.perf_counter()
                header, parent, body = c.parts(sock)
                if parent.get("msg_id") != mid:
                    continue
                if sock is c.shell:
                    if header["msg_type"] == "execute_reply":
                        status = json.loads(body).get("status")
                        if status != "ok":
                            raise RuntimeError(f"execute {code!r}: {body!r}")
                        t_reply = t
                elif header["msg_type"] == "status":
                    if json.loads(body).get("execution_state") == "idle":
                        t_idle = t
        if i >= warmup:
            replies.append(t_reply - t0)
            idles.append(t_idle - t0)
    return replies, idles


def pct(xs, p):
    xs = sorted(xs)
    k = (len(xs) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def install_ferry(binary, tmp):
    pfx = os.path.join(tmp, "prefix")
    if binary is None:
        os.makedirs(os.path.join(pfx, "share/jupyter/kernels"))
    else:
        install_ferry_spec(binary, pfx, tmp)
    return install_ipykernel_spec(pfx, tmp)


def install_ferry_spec(binary, pfx, tmp):
    subprocess.run([binary, "kernelspec", "install", "--prefix", pfx, "--name", "ferry-bench"],
                   check=True, stdin=subprocess.DEVNULL)
    home = os.path.join(tmp, "home")
    os.makedirs(home, exist_ok=True)
    spec_file = os.path.join(pfx, "share/jupyter/kernels/ferry-bench/kernel.json")
    with open(spec_file) as f:
        spec = json.load(f)
    spec.setdefault("env", {}).update({"HOME": home, "XDG_DATA_HOME": os.path.join(home, "data"),
                                       "XDG_STATE_HOME": os.path.join(home, "state"),
                                       "XDG_CACHE_HOME": os.path.join(home, "cache")})
    # The kernel runs the go command (type checks, compiled cells): the
    # machine's Go caches, as a user's kernel has them.
    try:
        out = subprocess.run(["go", "env", "-json", "GOCACHE", "GOMODCACHE", "GOPATH", "GOPROXY"],
                             check=True, capture_output=True, text=True).stdout
        spec["env"].update({k: v for k, v in json.loads(out).items() if v})
    except (OSError, subprocess.CalledProcessError):
        pass
    with open(spec_file, "w") as f:
        json.dump(spec, f)


def install_ipykernel_spec(pfx, tmp):
    # The python3 spec: Debian's /usr/share/jupyter/kernels/python3
    # (/usr/bin/python3 -m ipykernel_launcher), copied so no user-level spec
    # of the same name can shadow it.
    src = "/usr/share/jupyter/kernels/python3"
    dst = os.path.join(pfx, "share/jupyter/kernels/ipykernel-bench")
    if os.path.isdir(src):
        shutil.copytree(src, dst)
    else:
        os.makedirs(dst)
        with open(os.path.join(dst, "kernel.json"), "w") as f:
            json.dump({"argv": ["/usr/bin/python3", "-m", "ipykernel_launcher", "-f",
                                "{connection_file}"], "display_name": "Python 3",
                       "language": "python"}, f)
    os.environ["JUPYTER_PATH"] = os.path.join(pfx, "share/jupyter")
    os.environ["JUPYTER_RUNTIME_DIR"] = os.path.join(tmp, "runtime")
    return "ferry-bench", "ipykernel-bench"


def ipykernel_version():
    try:
        out = subprocess.run(["/usr/bin/python3", "-c", "import ipykernel; print(ipykernel.__version__)"],
                             capture_output=True, text=True, timeout=30)
        return out.stdout.strip() or "?"
    except Exception:
        return "?"


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
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            mem = "%.0f GiB" % (int(f.readline().split()[1]) / 1024 / 1024)
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {model}, {mem} RAM, Linux {platform.release()}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ferry-bin", default=os.path.join(REPO, "bin", "ferry"))
    ap.add_argument("--starts", type=int, default=5)
    ap.add_argument("--executes", type=int, default=1000)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--only", choices=["ferry", "ipykernel"], help="measure one kernel only")
    ap.add_argument("--no-loops", action="store_true", help="skip the Go loops (bench/goloops.py)")
    ap.add_argument("--loop-reps", type=int, default=3, help="runs of each loop (the fastest counts)")
    ap.add_argument("--write", metavar="PATH", help="write the report (Markdown) to PATH")
    args = ap.parse_args()

    args.load = [os.getloadavg()[0]]
    binary = os.path.abspath(args.ferry_bin)
    if args.only == "ipykernel":
        binary = None
    elif not os.access(binary, os.X_OK):
        sys.exit(f"no ferry binary at {binary}: run `go build -tags duckdb_arrow -o bin/ ./cmd/ferry ./cmd/ferry-kernel`")
    tmp = tempfile.mkdtemp(prefix="ferry-bench-")
    try:
        ferry_name, py_name = install_ferry(binary, tmp)
        kernels = [("Ferry", ferry_name), (f"ipykernel {ipykernel_version()}", py_name)]
        if args.only == "ferry":
            kernels = kernels[:1]
        elif args.only == "ipykernel":
            kernels = kernels[1:]
        ctx = make_context()
        res = {label: {"start": [], "rss": [], "anon": []} for label, _ in kernels}

        for i in range(args.starts):
            for label, name in kernels:
                km, kc, secs = start_once(name, ctx)
                time.sleep(0.5)
                res[label]["start"].append(secs)
                res[label]["rss"].append(rss_mb(kernel_pid(km)))
                res[label]["anon"].append(rss_mb(kernel_pid(km), "RssAnon"))
                if i == args.starts - 1:
                    res[label]["kernel"] = (km, kc)
                else:
                    stop(km, kc)
                print(f"  start {i + 1}/{args.starts} {label}: {secs * 1000:.1f} ms, "
                      f"RSS {res[label]['rss'][-1]:.1f} MB", file=sys.stderr)

        for label, _ in kernels:
            km, kc = res[label].pop("kernel")
            print(f"  {args.executes} executes on {label} ...", file=sys.stderr)
            replies, idles = execute_loop(kc, args.executes, args.warmup)
            res[label]["reply"] = replies
            res[label]["idle"] = idles
            res[label]["rss_after"] = rss_mb(kernel_pid(km))
            res[label]["anon_after"] = rss_mb(kernel_pid(km), "RssAnon")
            stop(km, kc)
        if args.only != "ipykernel":
            kernel_bin = os.path.join(os.path.dirname(binary), "ferry-kernel")
            print("  Ferry starts with ferry-kernel read back from disk ...", file=sys.stderr)
            res["Ferry"]["from_disk"] = rss_from_disk(ferry_name, ctx, kernel_bin, tmp)
        ctx.term()
        loops = None
        if args.only != "ipykernel" and not args.no_loops:
            import goloops
            print("  Go loops: Ferry cells vs go build ...", file=sys.stderr)
            loops = goloops.measure(ferry_name, args.loop_reps)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    args.load.append(os.getloadavg()[0])
    table = render(res, kernels, args)
    if loops is not None:
        import goloops
        table += "\n\n" + goloops.render(loops[0], loops[1], args.loop_reps)
    print(table)
    if args.write:
        write_doc(args.write, table, args)
        print(f"wrote {args.write}", file=sys.stderr)


def render(res, kernels, args):
    def ms(x):
        return f"{x * 1000:.1f} ms" if x >= 0.01 else f"{x * 1000:.2f} ms"

    rows = [
        ("start → kernel_info_reply (median of %d)" % args.starts,
         lambda r: statistics.median(r["start"]), ms, "start_ms", 1000),
        ("`1+1` → execute_reply, p50", lambda r: pct(r["reply"], 50), ms, "reply_p50_ms", 1000),
        ("`1+1` → execute_reply, p99", lambda r: pct(r["reply"], 99), ms, None, 1000),
        ("`1+1` → status idle, p50", lambda r: pct(r["idle"], 50), ms, None, 1000),
        ("`1+1` → status idle, p99", lambda r: pct(r["idle"], 99), ms, None, 1000),
        ("RSS after start (median; `ferry-kernel` as found in the page cache)",
         lambda r: statistics.median(r["rss"]), lambda v: f"{v:.1f} MB", "rss_mb", 1),
        ("RSS after %d executes" % args.executes, lambda r: r["rss_after"], lambda v: f"{v:.1f} MB",
         None, 1),
        ("of which anonymous (RssAnon), after start (median)", lambda r: statistics.median(r["anon"]),
         lambda v: f"{v:.1f} MB", None, 1),
        ("of which anonymous, after %d executes" % args.executes, lambda r: r["anon_after"],
         lambda v: f"{v:.1f} MB", None, 1),
        ("RSS after start, `ferry-kernel` read back from disk (median of 3; anonymous)",
         lambda r: r.get("from_disk"),
         lambda v: f"{v['rss']:.1f} MB ({v['anon']:.1f})", "rss_mb", 1),
    ]
    labels = [label for label, _ in kernels]
    head = "| measure | " + " | ".join(labels)
    sep = "|---|" + "---|" * len(labels)
    both = len(labels) == 2
    if both:
        head += " | ratio (ipykernel / Ferry) | Ferry goal |"
        sep += "---|---|"
    else:
        head += " |"
    out = [head, sep]
    for name, f, fmt, goal, scale in rows:
        vals = [f(res[label]) for label in labels]
        if all(v is None for v in vals):
            continue
        line = f"| {name} | " + " | ".join("—" if v is None else fmt(v) for v in vals)
        if both:
            nums = [v["rss"] if isinstance(v, dict) else v for v in vals]
            ratio = f"{nums[1] / nums[0]:.1f}×" if None not in nums and nums[0] else ""
            g = ""
            if goal and nums[0] is not None:
                target = GOALS[goal]
                ok = nums[0] * scale <= target
                unit = "MB" if goal == "rss_mb" else "ms"
                g = f"≤ {target:g} {unit} {'✅' if ok else '❌'}"
            line += f" | {ratio} | {g} |"
        else:
            line += " |"
        out.append(line)
    return "\n".join(out)


def write_doc(path, table, args):
    cmd = "/usr/bin/python3 bench/kernel_bench.py --write docs/benchmarks.md"
    if args.starts != 5 or args.executes != 1000:
        cmd = (f"/usr/bin/python3 bench/kernel_bench.py --starts {args.starts} "
               f"--executes {args.executes} --write docs/benchmarks.md")
    try:
        gob = subprocess.run(["go", "version"], capture_output=True, text=True).stdout.strip()
    except Exception:
        gob = "?"
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    try:
        gov = subprocess.run(["go", "version"], capture_output=True, text=True).stdout.strip()
    except Exception:
        gov = "?"
    section = f"""{SECTION_BEGIN}
## Kernel: Ferry vs ipykernel

Measured {date} on {machine()}; {gov}, Python {platform.python_version()}
(Debian's, with jupyter_client as the client for both kernels).
1-minute load average {args.load[0]:.1f} at the start, {args.load[1]:.1f} at the end (other work on the machine).

{table}

Rerun (or `make bench-write`; `make build` links the kernel with the
Makefile's GOFLAGS, which keep DuckDB's symbols out of its dynamic symbol
table: a plain `go build -tags duckdb_arrow` gives a kernel with 6.5 MB more RSS):

```
make build
{cmd}
```

How it is measured (`bench/kernel_bench.py`):

- **start**: `KernelManager.start_kernel()` → the first `kernel_info_reply`
  arrives at the client; fresh kernels, Ferry and ipykernel alternating. The
  client's ZeroMQ reconnect interval is 5 ms (default 100 ms) so the timer of
  the client does not dominate a fast kernel.
- **execute**: `1+1` sent on the shell socket, {args.executes} times after
  {args.warmup} warm-up executes; the time to the `execute_reply` and to the
  `status: idle` on IOPub. Client-side Python (signing, JSON) is included.
- **RSS**: `VmRSS` of the kernel process from `/proc/<pid>/status`, 0.5 s
  after its first `kernel_info_reply`, and after the execute loop; and its
  `RssAnon`, the process's own memory. The rest of Ferry's RSS is clean file
  pages of the `ferry-kernel` binary mapped at start (package initialisation
  of the ~400 Go packages it links, the runtime's function tables, DuckDB's
  C++ static initialisers): shared between kernels and reclaimable, but
  counted in RSS. How many pages a start maps depends on how the binary sits
  in the page cache: just written by `go build` (as in `make bench`), a
  fault maps the whole large folio it hits (up to 2 MiB); read back from
  disk (after a reboot), only the pages around it: the same binary gave
  36 MB read back from disk, 50–53 MB just linked by `go build`, 70 MB
  written by one `write(2)`. "As found" is the binary as `make bench`
  finds it (just linked, if `make build` relinked it); "read back from disk"
  runs a copy of it whose cached pages were dropped with
  `posix_fadvise(DONTNEED)`.
- **loops** (`bench/goloops.py`): the same Go source — a func and a type
  defined in one cell, called in the next — timed inside the program
  (`time.Now` around the call) in a Ferry cell and in a temporary main
  package built by `go build` ({gob}); the fastest of {args.loop_reps} runs each,
  and the results must agree. gonb is looked up on PATH and through the Go
  module proxy.

This machine is shared and noisy: compare numbers of the same run only.
{SECTION_END}
"""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    try:
        with open(path) as f:
            doc = f.read()
    except FileNotFoundError:
        doc = "# Benchmarks\n"
    with open(path, "w") as f:
        f.write(replace_section(doc, section))


# docs/benchmarks.md holds one section per benchmark, each between its own
# markers; a writer replaces only its own (bench/notebookd writes another).
SECTION_BEGIN = "<!-- bench:kernel -->"
SECTION_END = "<!-- /bench:kernel -->"
LEGACY_HEADING = "## Kernel: Ferry vs ipykernel"


def replace_section(doc, section):
    """doc with its kernel section replaced by section (or section appended)."""
    a, b = doc.find(SECTION_BEGIN), doc.find(SECTION_END)
    if a >= 0 and b > a:
        return doc[:a] + section.rstrip("\n") + doc[b + len(SECTION_END):]
    a = doc.find(LEGACY_HEADING)  # written before the markers
    if a >= 0:
        ends = [i for i in (doc.find("\n## ", a + 1), doc.find("\n<!-- bench:", a + 1)) if i >= 0]
        b = min(ends) + 1 if ends else len(doc)
        return doc[:a] + section + ("\n" if b < len(doc) else "") + doc[b:]
    return doc.rstrip("\n") + "\n\n" + section


if __name__ == "__main__":
    main()
