"""The Go conformance suite's machinery: split, build, run in Ferry, compare.

Each program under programs/ is a small deterministic Go program (package
main). Its expected output comes from the Go toolchain: the program is built
once with `go build` and run; the output is cached by the hash of the source
and the Go version in a temporary directory, so a second run builds nothing.

The same program then runs in a fresh Ferry kernel in two modes:

  decls     cell 1 = the file without its package line, cell 2 = main()
  toplevel  cell 1 = the imports and every declaration but func main,
            cell 2 = the body of main as top-level statements (dedented)

and the kernel's stdout (both cells) must equal the expected output exactly.

limitations.txt lists the program x mode pairs that may fail with an error
today; see Limitations for its format.
"""

import concurrent.futures
import hashlib
import json
import os
import re
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass

import ferry_env as fe

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAMS = os.path.join(HERE, "programs")
LIMITATIONS = os.path.join(HERE, "limitations.txt")
MODES = ("decls", "toplevel")

# Lines for pytest's terminal summary (test/conftest.py prints them).
SUMMARY = []

CELL_TIMEOUT = 30  # seconds per cell; a hang is a failure
RUN_TIMEOUT = 30  # seconds for the compiled program


def programs():
    """The program names (file names without .go), sorted."""
    return sorted(f[:-3] for f in os.listdir(PROGRAMS) if re.match(r"\d{3}_\w+\.go$", f))


def source(name):
    with open(os.path.join(PROGRAMS, name + ".go")) as f:
        return f.read()


# ---------------------------------------------------------------- cells


def split(src):
    """The two cells of each mode: {"decls": [c1, c2], "toplevel": [c1, c2]}.

    The programs are gofmt'ed, so the package clause and func main's first and
    last lines start at column 0; that is all the splitting needs.
    """
    lines = src.split("\n")
    lines = [l for l in lines if not re.match(r"package\s+main\s*$", l)]
    try:
        start = lines.index("func main() {")
    except ValueError:
        raise ValueError("no 'func main() {' line") from None
    end = next((i for i in range(start + 1, len(lines)) if lines[i] == "}"), None)
    if end is None:
        raise ValueError("no closing '}' of func main at column 0")
    whole = "\n".join(lines).strip("\n") + "\n"
    decls = "\n".join(lines[:start] + lines[end + 1:]).strip("\n") + "\n"
    body = "\n".join(l[1:] if l.startswith("\t") else l for l in lines[start + 1:end]) + "\n"
    return {"decls": [whole, "main()"], "toplevel": [decls, body]}


# ---------------------------------------------------------------- expected


def _go_env():
    env = dict(os.environ)
    # The programs are their own module; the repository's build tags and
    # workspace are not theirs, and the toolchain must not be swapped.
    env.update(GOFLAGS="", GOWORK="off", GOTOOLCHAIN="local")
    return env


_go_version = None
_go_version_lock = threading.Lock()


def go_version():
    global _go_version
    with _go_version_lock:
        if _go_version is None:
            _go_version = subprocess.run(
                ["go", "env", "GOVERSION"], capture_output=True, text=True, check=True, env=_go_env()
            ).stdout.strip()
        return _go_version


def cache_dir():
    d = os.path.join(tempfile.gettempdir(), f"ferry-conformance-{os.getuid()}")
    os.makedirs(d, exist_ok=True)
    return d


def expected(name):
    """The program's stdout under `go build`, cached by content hash."""
    src = source(name)
    key = hashlib.sha256((go_version() + "\0" + src).encode()).hexdigest()[:24]
    out = os.path.join(cache_dir(), f"{name}-{key}.out")
    if os.path.exists(out):
        with open(out) as f:
            return f.read()
    with tempfile.TemporaryDirectory(dir=cache_dir()) as tmp:
        binary = os.path.join(tmp, name)
        b = subprocess.run(
            ["go", "build", "-o", binary, name + ".go"],
            cwd=PROGRAMS, capture_output=True, text=True, env=_go_env(),
        )
        if b.returncode != 0:
            raise RuntimeError(f"go build {name}.go: {b.stderr.strip()}")
        r = subprocess.run([binary], cwd=tmp, capture_output=True, text=True, timeout=RUN_TIMEOUT)
        if r.returncode != 0:
            raise RuntimeError(f"{name}: exit status {r.returncode}: {r.stderr.strip()}")
        if r.stderr:
            raise RuntimeError(f"{name}: writes to stderr: {r.stderr.strip()}")
    tmpout = out + f".{os.getpid()}.{threading.get_ident()}"
    with open(tmpout, "w") as f:
        f.write(r.stdout)
    os.replace(tmpout, out)
    return r.stdout


# ---------------------------------------------------------------- kernel runs


@dataclass(repr=False)
class Outcome:
    """What one program x mode did in the kernel."""

    name: str
    mode: str
    kind: str = ""  # pass, wrong, error, hang, infra (set by compare)
    stdout: str = ""
    stderr: str = ""
    error: str = ""  # ename, evalue and traceback, ANSI stripped
    cell: int = 0  # the cell (1 or 2) that errored or hung
    want: str = ""
    seconds: float = 0.0

    def __repr__(self):
        return f"<{self.name} {self.mode}: {self.kind}>"


class Outcomes(dict):
    """{(name, mode): Outcome}, with a repr short enough for a traceback."""

    def __repr__(self):
        return f"<{len(self)} conformance outcomes>"


def error_text(content):
    tb = "\n".join(fe.strip_ansi(t) for t in content.get("traceback") or [])
    return f"{content.get('ename', '')}: {fe.strip_ansi(content.get('evalue', ''))}\n{tb}".strip()


def _start():
    last = None
    for _ in range(3):  # a port taken between pick and bind: try again
        try:
            return fe.start_kernel(startup_timeout=60, prelude=False)
        except Exception as e:  # noqa: BLE001 - reported if every try fails
            last = e
            time.sleep(0.5)
    raise RuntimeError(f"kernel did not start: {last!r}")


def _stop(km, kc):
    try:
        kc.stop_channels()
    finally:
        if km.has_kernel:
            km.shutdown_wait_time = 3
            km.shutdown_kernel(now=False)


def run_in_kernel(name, mode):
    """Run one program in one mode in a fresh kernel."""
    o = Outcome(name, mode)
    t0 = time.monotonic()
    cells = split(source(name))[mode]
    km, kc = _start()
    try:
        for i, code in enumerate(cells, 1):
            try:
                r = fe.execute(kc, code, timeout=CELL_TIMEOUT)
            except TimeoutError:
                o.kind, o.cell = "hang", i
                o.error = f"cell {i} did not finish in {CELL_TIMEOUT}s"
                break
            o.stdout += r.stdout()
            o.stderr += r.stderr()
            if r.status != "ok":
                o.kind, o.cell = "error", i
                o.error = error_text(r.error() or r.reply["content"])
                break
    finally:
        if o.kind == "hang":
            km.shutdown_kernel(now=True)
            kc.stop_channels()
        else:
            _stop(km, kc)
    o.seconds = time.monotonic() - t0
    return o


def classify(o, want):
    """Set o.kind to pass or wrong where the run ended normally."""
    o.want = want
    if not o.kind:
        o.kind = "pass" if o.stdout == want else "wrong"
    return o


def run_all(pairs, jobs=None):
    """Run (name, mode) pairs: builds and kernels in parallel.

    Returns {(name, mode): Outcome}. The go builds run on their own two
    workers next to the kernels; a pair waits only for its own program.
    """
    jobs = jobs or int(os.environ.get("FERRY_CONFORMANCE_JOBS", "4"))
    names = sorted({n for n, _ in pairs})
    results = {}
    with concurrent.futures.ThreadPoolExecutor(2) as builds, concurrent.futures.ThreadPoolExecutor(jobs) as kernels:
        want = {n: builds.submit(expected, n) for n in names}
        runs = {p: kernels.submit(run_in_kernel, *p) for p in pairs}
        for p, fut in runs.items():
            try:
                o = fut.result()
            except Exception as e:  # noqa: BLE001 - one broken run is one failure
                o = Outcome(*p, kind="infra", error=repr(e))
            try:
                classify(o, want[p[0]].result())
            except Exception as e:  # noqa: BLE001
                o.kind, o.error = "infra", f"expected output: {e}"
            results[p] = o
    return results


def write_report(outcomes, path):
    """Every outcome as JSON, for a look at all the failures at once."""
    rows = [
        {k: getattr(o, k) for k in ("name", "mode", "kind", "cell", "error", "stdout", "stderr", "want", "seconds")}
        for _, o in sorted(outcomes.items())
    ]
    with open(path, "w") as f:
        json.dump(rows, f, indent=1)


# ---------------------------------------------------------------- limitations


@dataclass
class Limitation:
    name: str
    mode: str
    substring: str
    comment: str = ""


def read_limitations(path=LIMITATIONS):
    """Parse limitations.txt.

    A line is `NNN_topic mode  error-substring  # README line`: the program,
    the mode (decls or toplevel), the text the kernel's error must contain,
    and after " # " the Known limitations line of README.md it falls under.
    Blank lines and lines starting with # are ignored.
    """
    out = {}
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            body, _, comment = line.partition(" # ")
            parts = body.split(None, 2)
            if len(parts) != 3 or parts[1] not in MODES:
                raise ValueError(f"{path}:{n}: want 'NNN_topic mode  substring  # README line': {line!r}")
            out[(parts[0], parts[1])] = Limitation(parts[0], parts[1], parts[2].strip(), comment.strip())
    return out


# Error text -> the README "Known limitations" entry it falls under. Written
# into limitations.txt's comments by --conformance-update for new entries;
# only the error's first line is matched.
README_LINES = [
    (r"range over a function iterator", "Range over function iterators (Go 1.23) works in compiled declarations"),
    (r"is a generic (function|type) compiled in an earlier cell",
     "A generic function or type compiled in a cell cannot be instantiated by interpreted statements"),
    (r"undefined selector|has no symbol|does not implement cmp\.Ordered",
     "The generic functions and types of the standard library"),
    (r"recovers panics|recover in interpreted code|defer at the top level",
     "defer at the top level of a cell and recover in interpreted code are refused"),
    (r"TypeRedefinition", "In interpreted code a type cannot be redefined with a different definition"),
    (r"re-bound|rebind", "A package name cannot be re-bound"),
    (r"yaegi|nil type|variable definition loop|reflect|undefined type for|too many arguments|cannot use type func|errors: \*target|captures the loop variable|CFG",
     "Interpreted statements may fail with"),
]


def readme_line(err):
    first = err.split("\n", 1)[0]
    for pat, line in README_LINES:
        if re.search(pat, first):
            return line
    return "not in README Known limitations"


# A position (10038:2:), an address (0x1234) or a value dump ({...}): parts
# of an error that change from run to run or with the program.
_UNSTABLE = re.compile(r"\d+:\d+:?|0x[0-9a-f]+|[{}]")


# Stretches that say nothing about the cause on their own.
_GENERIC = {"yaegi internal error", "panic", "runtime error"}


def short_substring(err):
    """A short, stable piece of an error to list in limitations.txt.

    From the error's first line (after its ename), the first stretch of 15
    characters or more between positions, addresses and value dumps (else the
    longest), cut at 60 characters.
    """
    first = err.split("\n", 1)[0]
    ename, _, evalue = first.partition(": ")
    text = evalue or ename
    parts = [p.strip(" :;") for p in _UNSTABLE.split(text)]
    parts = [p for p in parts if p and p not in _GENERIC]
    best = next((p for p in parts if len(p) >= 15), max(parts, key=len, default=""))
    if len(best) > 60:
        best = best[:60].rstrip()
    return best or ename.strip() or first[:60]


def write_limitations(observed, path=LIMITATIONS, ran=()):
    """Rewrite limitations.txt from the errors observed.

    observed: {(name, mode): Outcome} of this run. Entries of pairs that did
    not run this time (ran) are kept as they are; wrong outputs and hangs are
    never written.
    """
    old = read_limitations(path)
    ran = set(ran)
    keep = {k: v for k, v in old.items() if k not in ran}
    for k, o in observed.items():
        if o.kind != "error":
            continue
        prev = old.get(k)
        if prev and prev.substring in o.error:
            keep[k] = prev
            continue
        sub = short_substring(o.error)
        if sub not in o.error:
            sub = o.error.split("\n", 1)[0][:60]
        keep[k] = Limitation(k[0], k[1], sub, readme_line(o.error))
    header = (
        "# Known failures of the Go conformance suite (test/conformance), one a line:\n"
        "#   NNN_topic mode  error-substring  # README.md Known limitations line\n"
        "# A listed program x mode may end with a kernel error containing the\n"
        "# substring; it may not print wrong output, hang, or pass (then remove it).\n"
        "# Regenerate: cd test && FERRY_CONFORMANCE_UPDATE=1 pytest conformance\n"
        "#   (or pytest conformance --conformance-update).\n"
    )
    width = max([len(f"{l.name} {l.mode}") for l in keep.values()] or [0])
    with open(path + ".tmp", "w") as f:
        f.write(header)
        for k in sorted(keep):
            l = keep[k]
            f.write(f"{(l.name + ' ' + l.mode).ljust(width)}  {l.substring}  # {l.comment}\n")
    os.replace(path + ".tmp", path)
