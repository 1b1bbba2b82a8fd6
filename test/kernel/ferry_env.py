"""Shared set-up for Ferry's Python tests.

The tests use real Jupyter clients (Debian's jupyter_client, nbclient and
jupyter_kernel_test, run with /usr/bin/python3). Nothing global is touched:
the Ferry binary installs its kernelspec into a temporary prefix, JUPYTER_PATH
points there, and the kernel runs with HOME and the XDG directories inside the
same temporary directory, so its history file and caches stay out of the
user's home.

Environment:
  FERRY_BIN   the ferry binary to test (default: <repo>/bin/ferry, built with
              `go build -tags duckdb_arrow -o bin/ ./cmd/ferry ./cmd/ferry-kernel` when
              FERRY_BIN is unset; ferry-kernel must sit next to ferry)
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from queue import Empty

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KERNEL_NAME = "ferry"

_state = {}


def ferry_bin():
    return _state["bin"]


def prefix():
    return _state["prefix"]


def setup():
    """Build (if needed) and install the kernelspec; idempotent."""
    if _state:
        return _state
    binary = os.environ.get("FERRY_BIN")
    if binary:
        binary = os.path.abspath(binary)
    else:
        binary = os.path.join(REPO, "bin", "ferry")
        # Cheap when up to date (Go's build cache); keeps the tests honest.
        subprocess.run(
            ["go", "build", "-tags", "duckdb_arrow", "-o", os.path.dirname(binary) + "/", "./cmd/ferry", "./cmd/ferry-kernel"], cwd=REPO, check=True
        )
    if not os.access(binary, os.X_OK):
        raise RuntimeError(f"ferry binary not found or not executable: {binary}")

    tmp = tempfile.mkdtemp(prefix="ferry-test-")
    pfx = os.path.join(tmp, "prefix")
    home = os.path.join(tmp, "home")
    os.makedirs(home)
    subprocess.run(
        [binary, "kernelspec", "install", "--prefix", pfx],
        check=True,
        stdin=subprocess.DEVNULL,
    )
    spec_dir = os.path.join(pfx, "share", "jupyter", "kernels", KERNEL_NAME)
    spec_file = os.path.join(spec_dir, "kernel.json")
    with open(spec_file) as f:
        spec = json.load(f)
    # Keep what the binary wrote for test_kernelspec, then isolate the kernel's
    # home (history file, caches) inside the temp dir via the spec's env.
    original = json.loads(json.dumps(spec))
    env = dict(spec.get("env") or {})
    env.update(
        {
            "HOME": home,
            "XDG_DATA_HOME": os.path.join(home, ".local", "share"),
            "XDG_STATE_HOME": os.path.join(home, ".local", "state"),
            "XDG_CONFIG_HOME": os.path.join(home, ".config"),
            "XDG_CACHE_HOME": os.path.join(home, ".cache"),
        }
    )
    env.update(go_env())
    spec["env"] = env
    with open(spec_file, "w") as f:
        json.dump(spec, f, indent=1)

    os.environ["JUPYTER_PATH"] = os.path.join(pfx, "share", "jupyter")
    os.environ["JUPYTER_RUNTIME_DIR"] = os.path.join(tmp, "runtime")
    _state.update(
        bin=binary, tmp=tmp, prefix=pfx, home=home, spec_dir=spec_dir,
        spec=original,
    )
    return _state


def go_env():
    """The go command's caches and module settings of the real environment.

    The kernel runs the go command for third-party imports (kernel/gomod);
    with HOME in the temp dir it would otherwise build and download cold."""
    names = ["GOCACHE", "GOMODCACHE", "GOPATH", "GOPROXY", "GOSUMDB", "GONOSUMDB",
             "GOPRIVATE", "GONOPROXY", "GOINSECURE", "GOFLAGS"]
    try:
        out = subprocess.run(["go", "env", "-json"] + names, check=True,
                             capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return {}
    return {k: v for k, v in json.loads(out).items() if v}


def teardown():
    if _state.get("tmp"):
        shutil.rmtree(_state["tmp"], ignore_errors=True)


# ---------------------------------------------------------------- clients

# What a notebook's first cell does: the packages the tests' cells use.
# (Only the display package is pre-imported.)
PRELUDE = """import (
	"fmt"
	"os"
	"strings"
	"time"
)"""


def start_kernel(startup_timeout=30, prelude=True):
    """Start a fresh Ferry kernel, run PRELUDE; returns (km, kc)."""
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name=KERNEL_NAME)
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=startup_timeout)
    except Exception:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        raise
    if prelude:
        r = execute(kc, PRELUDE)
        if r.status != "ok":
            stop_kernel(km, kc)
            raise RuntimeError(f"prelude failed: {r}")
    return km, kc


def stop_kernel(km, kc):
    try:
        kc.stop_channels()
    finally:
        if km.has_kernel:
            km.shutdown_kernel(now=False)


ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def strip_ansi(s):
    return ANSI.sub("", s)


def validate(msg, msg_type=None, parent_id=None):
    from jupyter_kernel_test.msgspec_v5 import validate_message

    validate_message(msg, msg_type, parent_id)


def drain(kc, timeout=0.2):
    """Throw away queued shell and iopub messages."""
    for get in (kc.get_shell_msg, kc.get_iopub_msg):
        while True:
            try:
                get(timeout=timeout)
            except Empty:
                break


class Result:
    """What one execute_request produced."""

    def __init__(self, msg_id, reply, outputs, stdin_requests):
        self.msg_id = msg_id
        self.reply = reply
        self.outputs = outputs  # iopub messages between busy and idle
        self.stdin_requests = stdin_requests

    @property
    def status(self):
        return self.reply["content"]["status"]

    def of_type(self, *types):
        return [m for m in self.outputs if m["msg_type"] in types]

    def stdout(self):
        return "".join(
            m["content"]["text"]
            for m in self.of_type("stream")
            if m["content"]["name"] == "stdout"
        )

    def stderr(self):
        return "".join(
            m["content"]["text"]
            for m in self.of_type("stream")
            if m["content"]["name"] == "stderr"
        )

    def result_text(self):
        rs = self.of_type("execute_result")
        return rs[-1]["content"]["data"].get("text/plain") if rs else None

    def error(self):
        es = self.of_type("error")
        return es[-1]["content"] if es else None

    def __repr__(self):
        return "Result(status=%r, outputs=%r)" % (
            self.status,
            [(m["msg_type"], m["content"]) for m in self.outputs],
        )


def execute(kc, code, timeout=20, stdin=None, allow_stdin=None, store_history=True):
    """Run code; collect iopub messages of this request until status idle and
    the execute_reply. stdin: a list of answers for input_requests (each is
    popped in order). Every message is validated against the message spec."""
    if allow_stdin is None:
        allow_stdin = stdin is not None
    answers = list(stdin or [])
    msg_id = kc.execute(code, allow_stdin=allow_stdin, store_history=store_history)
    deadline = time.monotonic() + timeout
    outputs, stdin_requests = [], []
    reply = None
    idle = False
    while reply is None or not idle:
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"execute {code!r}: reply={reply is not None} idle={idle} "
                f"outputs={[(m['msg_type'], m['content']) for m in outputs]}"
            )
        if allow_stdin:
            try:
                req = kc.get_stdin_msg(timeout=0.01)
            except Empty:
                pass
            else:
                # jupyter_kernel_test 0.4.5's schema wants a number for
                # input_request.password (a bug): check the fields here.
                assert isinstance(req["content"].get("prompt"), str), req
                assert isinstance(req["content"].get("password"), bool), req
                stdin_requests.append(req)
                assert req["msg_type"] == "input_request", req
                assert req["parent_header"].get("msg_id") == msg_id
                kc.input(answers.pop(0) if answers else "")
        if not idle:
            try:
                msg = kc.get_iopub_msg(timeout=0.02)
            except Empty:
                pass
            else:
                validate(msg)
                if msg["parent_header"].get("msg_id") == msg_id:
                    t = msg["msg_type"]
                    if t == "status":
                        idle = msg["content"]["execution_state"] == "idle"
                    elif t != "execute_input":
                        outputs.append(msg)
        if reply is None:
            try:
                msg = kc.get_shell_msg(timeout=0.02)
            except Empty:
                pass
            else:
                if msg["parent_header"].get("msg_id") == msg_id:
                    validate(msg, "execute_reply", msg_id)
                    reply = msg
    return Result(msg_id, reply, outputs, stdin_requests)


def shell_reply(kc, msg_id, msg_type, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no {msg_type} for {msg_id}")
        msg = kc.get_shell_msg(timeout=left)
        if msg["parent_header"].get("msg_id") == msg_id:
            validate(msg, msg_type, msg_id)
            return msg


def control_reply(kc, msg_id, msg_type, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no {msg_type} for {msg_id}")
        msg = kc.get_control_msg(timeout=left)
        if msg["parent_header"].get("msg_id") == msg_id:
            validate(msg, msg_type, msg_id)
            return msg


def wait_busy(kc, msg_id, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no busy status for {msg_id}")
        msg = kc.get_iopub_msg(timeout=left)
        if (
            msg["parent_header"].get("msg_id") == msg_id
            and msg["msg_type"] == "status"
            and msg["content"]["execution_state"] == "busy"
        ):
            return msg


if __name__ == "__main__":  # pragma: no cover - manual smoke run
    setup()
    print(json.dumps(_state, indent=1))
    sys.exit(0)
