"""Protocol tests of the Ferry Go kernel.

FerryKernelTests runs Debian's jupyter_kernel_test 0.4.5 suite with every
attribute it supports set, so no test of the suite is skipped. The other tests
drive the kernel with jupyter_client directly: state, error lines, stdin,
interrupts, HMAC checks, shutdown/restart, comms, history persistence.

Run: /usr/bin/python3 -m pytest test   (or `make py-test`)
"""

import os
import time
import unittest

import jupyter_kernel_test as jkt
import pytest
import zmq
from jupyter_client.session import Session

import ferry_env as fe
from ferry_env import execute, strip_ansi

# A cell that builds a small image and publishes it as image/png.
PNG_CELL = """\
import (
	"image"
	"image/color"
)

img := image.NewRGBA(image.Rect(0, 0, 8, 8))
img.Set(2, 3, color.RGBA{R: 255, A: 255})
display.Display(display.Image(img))
"""

VEGALITE_CELL = """\
spec := map[string]any{
	"$schema": "https://vega.github.io/schema/vega-lite/v5.json",
	"data": map[string]any{"values": []any{
		map[string]any{"x": "a", "y": 1},
		map[string]any{"x": "b", "y": 3},
	}},
	"mark":     "bar",
	"encoding": map[string]any{"x": map[string]any{"field": "x", "type": "nominal"}, "y": map[string]any{"field": "y", "type": "quantitative"}},
}
display.Display(display.VegaLite(spec))
"""


class FerryKernelTests(jkt.KernelTests):
    """jupyter_kernel_test's suite; every supported attribute is set."""

    kernel_name = fe.KERNEL_NAME

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.kc.wait_for_ready(timeout=30)
        r = execute(cls.kc, fe.PRELUDE)
        assert r.status == "ok", r

    language_name = "go"
    file_extension = ".go"

    code_hello_world = 'fmt.Println("hello, world")'
    code_stderr = 'fmt.Fprintln(os.Stderr, "oops")'

    completion_samples = [
        # matches replace code[cursor_start:cursor_end]; Ferry's start is
        # after the dot (test_completion_contents checks the text either way).
        {"text": "fmt.Pri", "matches": {"Print", "Printf", "Println"}},
        {"text": "strings."},  # validated only; contents checked below
    ]

    complete_code_samples = ["1+1", 'fmt.Println("hi")', "x := 1", "func f() {}"]
    incomplete_code_samples = ["func f() {", "for i := 0; i < 3; i++ {", "x := []int{"]
    invalid_code_samples = ["}", "x := @"]

    code_page_something = "strings.Split?"

    code_generate_error = 'panic("boom")'

    # Also the codes test_history executes: code_history_pattern is a glob
    # that matches "6*7" and nothing else the suite runs.
    code_execute_result = [
        {"code": "6*7", "result": "42"},
        {"code": "1+2+3", "result": "6"},
        {"code": 'display.HTML("<b>hi</b>")', "mime": "text/html", "result": "<b>hi</b>"},
    ]
    code_history_pattern = "6?7"
    supported_history_operations = ("tail", "range", "search")

    code_display_data = [
        {"code": 'display.Display(display.HTML("<b>hi</b>"))', "mime": "text/html"},
        {"code": 'display.Display(display.Markdown("# Title"))', "mime": "text/markdown"},
        {"code": PNG_CELL, "mime": "image/png"},
        {"code": VEGALITE_CELL, "mime": "application/vnd.vegalite.v5+json"},
    ]

    code_inspect_sample = "strings.Split"

    code_clear_output = 'fmt.Println("soon gone")\ndisplay.Clear()'


# ----------------------------------------------------------- shared kernel


@pytest.fixture(scope="module")
def kernel():
    km, kc = fe.start_kernel()
    yield km, kc
    fe.stop_kernel(km, kc)


@pytest.fixture
def kc(kernel):
    km, kc = kernel
    fe.drain(kc, timeout=0.05)
    return kc


@pytest.fixture
def fresh():
    """A kernel of its own, for tests that interrupt, kill or restart it."""
    km, kc = fe.start_kernel()
    yield km, kc
    fe.stop_kernel(km, kc)


def test_kernelspec():
    st = fe.setup()
    spec = st["spec"]
    assert os.path.samefile(spec["argv"][0], st["bin"])
    assert os.path.isabs(spec["argv"][0])
    assert spec["argv"][1:] == ["kernel", "-f", "{connection_file}"]
    assert spec["display_name"] == "Go (Ferry)"
    assert spec["language"] == "go"
    assert spec["interrupt_mode"] == "message"
    for logo in ("logo-32x32.png", "logo-64x64.png"):
        with open(os.path.join(st["spec_dir"], logo), "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n", logo


def test_kernelspec_name(tmp_path):
    import json
    import subprocess

    subprocess.run(
        [fe.ferry_bin(), "kernelspec", "install", "--prefix", str(tmp_path), "--name", "ferry-dev"],
        check=True,
        stdin=subprocess.DEVNULL,
    )
    spec = json.loads((tmp_path / "share/jupyter/kernels/ferry-dev/kernel.json").read_text())
    assert spec["language"] == "go"


def test_user_install_and_jupyter_console(tmp_path):
    """`ferry kernelspec install --user`, then Jupyter's own tools use it."""
    import json
    import subprocess

    env = dict(os.environ, JUPYTER_DATA_DIR=str(tmp_path / "data"), JUPYTER_PATH="")
    env.update(fe.setup()["spec"].get("env", {}))
    env["JUPYTER_DATA_DIR"] = str(tmp_path / "data")
    subprocess.run([fe.ferry_bin(), "kernelspec", "install", "--user"], check=True, env=env, stdin=subprocess.DEVNULL)
    out = subprocess.run(["jupyter", "kernelspec", "list", "--json"], check=True, env=env, capture_output=True, text=True)
    specs = json.loads(out.stdout)["kernelspecs"]
    assert specs["ferry"]["resource_dir"].startswith(str(tmp_path / "data")), specs
    con = subprocess.run(
        ["jupyter", "console", "--kernel", "ferry", "--simple-prompt"],
        input='6*7\nfmt.Println("from the console")\n',
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert "Out[1]: 42" in con.stdout, con.stdout + con.stderr
    assert "from the console" in con.stdout, con.stdout + con.stderr


def test_kernel_info(kc):
    msg_id = kc.kernel_info()
    reply = fe.shell_reply(kc, msg_id, "kernel_info_reply")
    c = reply["content"]
    assert c["status"] == "ok"
    assert c["implementation"] == "ferry"
    major, minor = (int(x) for x in c["protocol_version"].split(".")[:2])
    assert (major, minor) >= (5, 3), c["protocol_version"]
    major, minor = (int(x) for x in reply["header"]["version"].split(".")[:2])
    assert (major, minor) >= (5, 3), reply["header"]["version"]
    li = c["language_info"]
    assert li["name"] == "go"
    assert li["file_extension"] == ".go"
    assert li["mimetype"] == "text/x-go"


def test_state_across_cells(kc):
    r = execute(kc, "stateA := 40")
    assert r.status == "ok", r
    r = execute(kc, "func addTwo(n int) int { return n + 2 }")
    assert r.status == "ok", r
    r = execute(kc, "addTwo(stateA)")
    assert r.status == "ok", r
    assert r.result_text() == "42"
    r = execute(kc, "stateA++\nfmt.Println(stateA)")
    assert r.status == "ok", r
    assert r.stdout() == "41\n"


def test_reimport_is_harmless(kc):
    # Re-running a notebook's import cell must not fail.
    for _ in range(2):
        r = execute(kc, 'import (\n\t"fmt"\n\t"sort"\n)\nfmt.Println(sort.IntsAreSorted([]int{1, 2}))')
        assert r.status == "ok", r
        assert r.stdout() == "true\n"


def test_execution_count_increments(kc):
    a = execute(kc, "1").reply["content"]["execution_count"]
    b = execute(kc, "2").reply["content"]["execution_count"]
    assert b == a + 1


def _assert_error_line(r, line):
    assert r.status == "error", r
    err = r.error()
    assert err is not None, r
    assert err["ename"], err
    assert r.reply["content"]["ename"] == err["ename"]
    tb = strip_ansi("\n".join(err["traceback"]))
    assert f"cell line {line}" in tb, tb
    return err


def test_runtime_error_names_cell_line(kc):
    r = execute(kc, 'a := 1\nb := a + 1\npanic(fmt.Sprint("bad ", b))\nfmt.Println("unreached")')
    err = _assert_error_line(r, 3)
    assert "bad 2" in err["evalue"]
    assert r.stdout() == ""


def test_compile_error_names_cell_line(kc):
    r = execute(kc, 'fine := 1\n_ = fine\nbroken := "a" + 1\n_ = broken')
    _assert_error_line(r, 3)


def test_error_in_later_chunk_names_cell_line(kc):
    # declarations and statements mixed: the kernel splits the cell into
    # chunks; the position must still map to the cell's own line.
    code = 'type pt struct{ X int }\n\np := pt{X: 1}\nq := p\nq.X = "no"\n'
    r = execute(kc, code)
    _assert_error_line(r, 5)


def test_index_out_of_range_names_cell_line(kc):
    r = execute(kc, "values := []int{1, 2, 3}\ni := 5\nfmt.Println(values[i])")
    _assert_error_line(r, 3)


def test_stop_on_error_aborts_queue(kc):
    # The failing cell runs long enough for the next request to be queued
    # behind it (only requests queued before the failure are aborted).
    bad = kc.execute('import "time"\ntime.Sleep(time.Second)\npanic("first")', stop_on_error=True)
    good = kc.execute("queuedAfterError := 1")
    r1 = fe.shell_reply(kc, bad, "execute_reply")
    assert r1["content"]["status"] == "error"
    # Not schema-validated: ipykernel answers "aborted", the spec says "abort".
    deadline = time.monotonic() + 10
    while True:
        m = kc.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
        if m["parent_header"].get("msg_id") == good:
            break
    assert m["content"]["status"] in ("abort", "aborted"), m["content"]
    fe.drain(kc)
    assert execute(kc, "queuedAfterError").status == "error", "an aborted cell ran"


def test_stdout_and_result(kc):
    r = execute(kc, 'fmt.Println("line")\n6*7')
    assert r.stdout() == "line\n"
    assert r.result_text() == "42"


def test_stdin_input_request(kc):
    code = 'name, err := display.Input("Your name: ")\nif err != nil { panic(err) }\nfmt.Println("hello", name)'
    r = execute(kc, code, stdin=["Ada"])
    assert r.status == "ok", r
    assert len(r.stdin_requests) == 1
    req = r.stdin_requests[0]["content"]
    assert req["prompt"] == "Your name: "
    assert req["password"] is False
    assert r.stdout() == "hello Ada\n"


def test_stdin_password(kc):
    r = execute(kc, 'pw, _ := display.Password("Secret: ")\nfmt.Println(len(pw))', stdin=["hunter2"])
    assert r.status == "ok", r
    (req,) = r.stdin_requests
    assert req["content"]["password"] is True
    assert r.stdout() == "7\n"


def test_stdin_not_allowed_fails_cleanly(kc):
    r = execute(kc, 'display.Input("x? ")', allow_stdin=False, timeout=10)
    # Either an error output or a returned error value; never a hang.
    assert r.reply is not None
    r2 = execute(kc, "1+1")
    assert r2.result_text() == "2"


def test_display_update_by_id(kc):
    r = execute(kc, 'h := display.NewDisplay(display.HTML("<i>one</i>"))\nh.Update(display.HTML("<i>two</i>"))')
    assert r.status == "ok", r
    shown = r.of_type("display_data")
    updated = r.of_type("update_display_data")
    assert shown and updated, r
    did = shown[0]["content"]["transient"]["display_id"]
    assert did
    assert updated[0]["content"]["transient"]["display_id"] == did
    assert updated[0]["content"]["data"]["text/html"] == "<i>two</i>"


def test_clear_output_wait(kc):
    r = execute(kc, "display.ClearWait()")
    clears = r.of_type("clear_output")
    assert clears and clears[0]["content"]["wait"] is True, r


def test_display_mime_contents(kc):
    r = execute(kc, VEGALITE_CELL)
    (d,) = r.of_type("display_data")
    spec = d["content"]["data"]["application/vnd.vegalite.v5+json"]
    assert isinstance(spec, dict), type(spec)
    assert spec["mark"] == "bar"
    r = execute(kc, PNG_CELL.replace("img", "img2"))
    (d,) = r.of_type("display_data")
    import base64

    png = base64.b64decode(d["content"]["data"]["image/png"])
    assert png.startswith(b"\x89PNG")
    r = execute(kc, 'display.Display(display.JSON(map[string]any{"a": 1}))')
    (d,) = r.of_type("display_data")
    assert d["content"]["data"]["application/json"] == {"a": 1}
    r = execute(kc, 'display.Display(display.Mermaid("graph TD; A-->B"))')
    (d,) = r.of_type("display_data")
    assert "text/vnd.mermaid" in d["content"]["data"]


def test_completion_contents(kc):
    for code, want in (("strings.", "strings.Split"), ("fmt.Pri", "fmt.Println")):
        msg_id = kc.complete(code, len(code))
        c = fe.shell_reply(kc, msg_id, "complete_reply")["content"]
        assert c["status"] == "ok"
        texts = {code[: c["cursor_start"]] + m + code[c["cursor_end"]:] for m in c["matches"]}
        assert want in texts, c


def test_inspect_contents(kc):
    code = "strings.Split"
    msg_id = kc.inspect(code, len(code))
    c = fe.shell_reply(kc, msg_id, "inspect_reply")["content"]
    assert c["found"] is True
    assert "func Split(s, sep string) []string" in strip_ansi(c["data"]["text/plain"])
    msg_id = kc.inspect("noSuchThing", len("noSuchThing"))
    c = fe.shell_reply(kc, msg_id, "inspect_reply")["content"]
    assert c["found"] is False


def test_pager_contents(kc):
    r = execute(kc, "strings.Split?")
    (p,) = r.reply["content"]["payload"]
    assert p["source"] == "page"
    assert "Split" in strip_ansi(p["data"]["text/plain"])


def test_comm_info(kc):
    msg_id = kc.comm_info()
    c = fe.shell_reply(kc, msg_id, "comm_info_reply")["content"]
    assert c["status"] == "ok"
    assert isinstance(c["comms"], dict)
    msg_id = kc.comm_info(target_name="jupyter.widget")
    c = fe.shell_reply(kc, msg_id, "comm_info_reply")["content"]
    assert c["status"] == "ok"
    assert isinstance(c["comms"], dict)


def test_bad_hmac_is_ignored(kc, kernel):
    km, _ = kernel
    good = kc.session
    bad = Session(key=b"definitely-not-the-key", username=good.username, session=good.session)
    sock = km.connect_shell(identity=b"hmac-test")
    try:
        content = {
            "code": "hmacProbe := 1",
            "silent": False,
            "store_history": True,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": True,
        }
        forged = bad.send(sock, "execute_request", content)
        assert sock.poll(1500, zmq.POLLIN) == 0, "kernel replied to a message with a bad signature"
        # and nothing was published for it
        while True:
            try:
                m = kc.get_iopub_msg(timeout=0.1)
            except Exception:
                break
            assert m["parent_header"].get("msg_id") != forged["header"]["msg_id"], m
        # the same socket with the right key gets an answer
        ok = good.send(sock, "kernel_info_request", {})
        assert sock.poll(5000, zmq.POLLIN), "no reply to a good request after a bad one"
        idents, frames = good.feed_identities(sock.recv_multipart())
        reply = good.deserialize(frames)
        assert reply["parent_header"]["msg_id"] == ok["header"]["msg_id"]
        assert reply["msg_type"] == "kernel_info_reply"
    finally:
        sock.close(linger=0)
    r = execute(kc, "hmacProbe")
    assert r.status == "error", "the forged cell ran"


def test_is_complete_indent(kc):
    msg_id = kc.is_complete("func f() {")
    c = fe.shell_reply(kc, msg_id, "is_complete_reply")["content"]
    assert c["status"] == "incomplete"
    assert c["indent"].strip() == ""
    assert c["indent"] != ""


def test_unknown_message_type_keeps_kernel_alive(kc):
    msg = kc.session.msg("no_such_request", {})
    kc.shell_channel.send(msg)
    time.sleep(0.3)
    r = execute(kc, "1+1")
    assert r.result_text() == "2"


# ----------------------------------------------------- own-kernel tests


def _interrupt_via_control(kc):
    msg = kc.session.msg("interrupt_request", {})
    kc.control_channel.send(msg)
    return fe.control_reply(kc, msg["header"]["msg_id"], "interrupt_reply", timeout=5)


def test_interrupt_busy_loop(fresh):
    km, kc = fresh
    assert execute(kc, "before := 41").status == "ok"
    msg_id = kc.execute("for {\n}")
    fe.wait_busy(kc, msg_id)
    time.sleep(0.3)
    t0 = time.monotonic()
    ir = _interrupt_via_control(kc)
    assert ir["content"]["status"] == "ok"
    reply = fe.shell_reply(kc, msg_id, "execute_reply", timeout=5)
    elapsed = time.monotonic() - t0
    assert elapsed < 1.0, f"interrupt took {elapsed:.3f}s"
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] in ("Interrupted", "KeyboardInterrupt"), reply["content"]
    fe.drain(kc)
    r = execute(kc, "before + 1")
    assert r.result_text() == "42", r


def test_interrupt_sleep(fresh):
    km, kc = fresh
    msg_id = kc.execute("time.Sleep(time.Hour)")
    fe.wait_busy(kc, msg_id)
    time.sleep(0.3)
    t0 = time.monotonic()
    km.interrupt_kernel()
    reply = fe.shell_reply(kc, msg_id, "execute_reply", timeout=5)
    elapsed = time.monotonic() - t0
    # A blocking call into compiled code cannot be stopped by yaegi's context;
    # the kernel abandons it. Allow more than the 1 s of interpreted code.
    assert elapsed < 2.0, f"interrupt took {elapsed:.3f}s"
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] in ("Interrupted", "KeyboardInterrupt"), reply["content"]
    fe.drain(kc)
    r = execute(kc, "6*7")
    assert r.result_text() == "42", r


def test_interrupt_idle_kernel(fresh):
    km, kc = fresh
    ir = _interrupt_via_control(kc)
    assert ir["content"]["status"] == "ok"
    assert execute(kc, "1+1").result_text() == "2"


def test_shutdown_reply_and_exit(fresh):
    km, kc = fresh
    msg_id = kc.shutdown(restart=False)
    reply = fe.control_reply(kc, msg_id, "shutdown_reply", timeout=5)
    assert reply["content"]["status"] == "ok"
    assert reply["content"]["restart"] is False
    deadline = time.monotonic() + 5
    while km.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not km.is_alive(), "kernel still running 5 s after shutdown_reply"


def test_shutdown_with_restart(fresh):
    km, kc = fresh
    assert execute(kc, "restartProbe := 7").status == "ok"
    msg_id = kc.shutdown(restart=True)
    reply = fe.control_reply(kc, msg_id, "shutdown_reply", timeout=5)
    assert reply["content"]["restart"] is True
    deadline = time.monotonic() + 5
    while km.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not km.is_alive()
    # What a notebook server does next: start the kernel again, same ports.
    # now=True: the kernel is gone, so send no shutdown_request; one queued in
    # jupyter_client's control socket would reach the new kernel (it binds
    # the same port within its 100 ms linger) and shut it down.
    km.restart_kernel(now=True)
    kc.wait_for_ready(timeout=30)
    fe.drain(kc)
    r = execute(kc, "restartProbe")
    assert r.status == "error", "state survived a restart"
    assert execute(kc, "1+1").result_text() == "2"


def test_restart_kernel_manager(fresh):
    km, kc = fresh
    assert execute(kc, "restartProbe2 := 7").status == "ok"
    km.restart_kernel(now=False)
    kc.wait_for_ready(timeout=30)
    fe.drain(kc)
    assert execute(kc, "restartProbe2").status == "error"
    assert execute(kc, "3*3").result_text() == "9"


def test_history_persists_across_kernels():
    marker = 'histMarker := "persisted-%d"' % os.getpid()
    km, kc = fe.start_kernel()
    try:
        assert execute(kc, marker).status == "ok"
        msg_id = kc.history(hist_access_type="tail", n=1, output=False, raw=True)
        first = fe.shell_reply(kc, msg_id, "history_reply")["content"]["history"]
        assert first and first[-1][2] == marker, first
        session1 = first[-1][0]
    finally:
        fe.stop_kernel(km, kc)
    km, kc = fe.start_kernel()
    try:
        msg_id = kc.history(hist_access_type="search", pattern="histMarker*", output=False, raw=True, n=10)
        found = fe.shell_reply(kc, msg_id, "history_reply")["content"]["history"]
        assert any(h[2] == marker and h[0] == session1 for h in found), found
        assert execute(kc, "1+1").status == "ok"
        msg_id = kc.history(hist_access_type="tail", n=1, output=False, raw=True)
        last = fe.shell_reply(kc, msg_id, "history_reply")["content"]["history"]
        assert last[-1][0] != session1, "a new kernel must start a new history session"
    finally:
        fe.stop_kernel(km, kc)


def test_heartbeat(kernel):
    km, kc = kernel
    assert kc.hb_channel.is_beating() or kc.is_alive()


if __name__ == "__main__":
    fe.setup()
    unittest.main()
