"""pytest set-up: build Ferry, install its kernelspec into a temp prefix."""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "kernel"))

import ferry_env  # noqa: E402


def pytest_addoption(parser):
    parser.addoption(
        "--conformance-update",
        action="store_true",
        default=False,
        help="conformance: rewrite conformance/limitations.txt from the errors seen "
        "(or FERRY_CONFORMANCE_UPDATE=1)",
    )


def pytest_configure(config):
    ferry_env.setup()


def pytest_unconfigure(config):
    ferry_env.teardown()


def pytest_report_header(config):
    st = ferry_env._state
    if st:
        return [f"ferry: {st['bin']}", f"JUPYTER_PATH={os.environ.get('JUPYTER_PATH')}"]
    return []


def pytest_terminal_summary(terminalreporter):
    goconf = sys.modules.get("goconf")
    for line in getattr(goconf, "SUMMARY", []):
        terminalreporter.write_line(line)



@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """jupyter_kernel_test's suite must run whole: a skip there is a failure.

    The suite skips a test (or a subtest) when the kernel's subclass leaves an
    attribute unset; the acceptance is that every attribute is set.
    """
    outcome = yield
    rep = outcome.get_result()
    if "FerryKernelTests" in rep.nodeid and rep.skipped:
        rep.outcome = "failed"
        rep.longrepr = f"{rep.nodeid} was skipped ({rep.longrepr}): set the attribute it needs"
