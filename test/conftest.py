"""pytest set-up: build Ferry, install its kernelspec into a temp prefix."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "kernel"))

import ferry_env  # noqa: E402


def pytest_configure(config):
    ferry_env.setup()


def pytest_unconfigure(config):
    ferry_env.teardown()


def pytest_report_header(config):
    st = ferry_env._state
    if st:
        return [f"ferry: {st['bin']}", f"JUPYTER_PATH={os.environ.get('JUPYTER_PATH')}"]
    return []
