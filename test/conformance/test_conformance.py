"""Go language conformance: each program of programs/ in Ferry vs `go build`.

One test per program x mode (decls, toplevel; see goconf.py). A test
passes when the kernel's stdout equals the compiled program's. A wrong output
or a hang always fails. An error fails unless limitations.txt lists the pair
with a substring of the error; a listed pair that passes fails too, so that
the list stays honest.

The kernels run in parallel (FERRY_CONFORMANCE_JOBS, default 4), all of them
for the selected tests in the first test's set-up, each pair in a fresh
kernel.

Run:     cd test && /usr/bin/python3 -m pytest conformance   (or make conformance)
Report:  FERRY_CONFORMANCE_REPORT=out.json: every outcome (kind, stdout,
         want, error) as JSON.
Update:  ... pytest conformance --conformance-update
         (or FERRY_CONFORMANCE_UPDATE=1): rewrites limitations.txt from the
         errors seen; wrong outputs are never written there.
"""

import difflib
import os
import time

import pytest

import goconf as cf

PAIRS = [(n, m) for n in cf.programs() for m in cf.MODES]


def update_mode(config):
    return bool(config.getoption("conformance_update", default=False)) or os.environ.get(
        "FERRY_CONFORMANCE_UPDATE", ""
    ) not in ("", "0")


@pytest.fixture(scope="session")
def outcomes(request):
    """Every selected pair's Outcome, run once for the session."""
    selected = [
        tuple(item.callspec.params["pair"])
        for item in request.session.items
        if getattr(item, "originalname", "") == "test_conformance" and hasattr(item, "callspec")
    ]
    t0 = time.monotonic()
    res = cf.Outcomes(cf.run_all(selected))
    elapsed = time.monotonic() - t0
    counts = {}
    for o in res.values():
        counts.setdefault(o.mode, {}).setdefault(o.kind, 0)
        counts[o.mode][o.kind] += 1
    cf.SUMMARY.append(f"conformance: {len(selected)} runs in {elapsed:.1f}s: {counts}")
    if update_mode(request.config):
        cf.write_limitations(res, ran=selected)
    if os.environ.get("FERRY_CONFORMANCE_REPORT"):
        cf.write_report(res, os.environ["FERRY_CONFORMANCE_REPORT"])
    return res


def _diff(want, got):
    d = difflib.unified_diff(want.splitlines(), got.splitlines(), "go build", "ferry", lineterm="", n=1)
    return "\n".join(list(d)[:40])


@pytest.mark.parametrize("pair", PAIRS, ids=[f"{n}-{m}" for n, m in PAIRS])
def test_conformance(pair, outcomes, request):
    o = outcomes[pair]
    lim = cf.read_limitations().get(pair)
    where = f"{o.name} {o.mode}"
    if o.kind == "infra":
        pytest.fail(f"{where}: {o.error}")
    if o.kind == "hang":
        pytest.fail(f"{where}: hang: {o.error}\nstdout so far:\n{o.stdout}")
    if o.kind == "wrong":
        pytest.fail(f"{where}: WRONG output (no error):\n{_diff(o.want, o.stdout)}\nstderr: {o.stderr!r}")
    if o.kind == "pass":
        if lim and not update_mode(request.config):
            pytest.fail(f"{where} now passes: remove it from limitations.txt")
        return
    # An error.
    if update_mode(request.config):
        pytest.xfail(f"error (limitations.txt updated): {o.error.splitlines()[0]}")
    if not lim:
        pytest.fail(f"{where}: error in cell {o.cell}, not in limitations.txt:\n{o.error}\nstderr: {o.stderr!r}")
    if lim.substring not in o.error:
        pytest.fail(f"{where}: error does not contain {lim.substring!r} (limitations.txt):\n{o.error}")
    pytest.xfail(f"known limitation: {lim.substring}")
