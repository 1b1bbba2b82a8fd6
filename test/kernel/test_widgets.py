"""Jupyter widgets in the Ferry Go kernel, driven by real Jupyter clients.

- examples/03-widgets.ipynb runs under nbclient (which mimics the Output
  widget and records widget state in the notebook's metadata);
- jupyter_client-level checks of the widget comm protocol (2.1.0): comm_open
  with the model/view names and versions and the full state, updates from
  the client with echo_update, updates from the kernel, request_state,
  custom messages (a button's click) with the callback's output routed to
  an Output widget, binary buffers, and jupyter.widget.control's
  request_states answered with update_states.
"""

import os
import time
import uuid
from queue import Empty

import nbformat
import pytest

import ferry_env as fe
from test_examples import EXAMPLES, cell, run_notebook

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


# ------------------------------------------------------------ the notebook


@pytest.fixture(scope="module")
def widgets_nb():
    return run_notebook(os.path.join(EXAMPLES, "03-widgets.ipynb"))


def widget_state(nb):
    return nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]


def test_notebook_shows_every_widget(widgets_nb):
    nb, _ = widgets_nb
    models = {s["model_name"] for s in widget_state(nb).values()}
    want = {
        "IntProgressModel", "FloatProgressModel", "HTMLModel", "LabelModel", "OutputModel",
        "ButtonModel", "DropdownModel", "IntSliderModel", "FloatSliderModel",
        "IntRangeSliderModel", "TextModel", "TextareaModel", "CheckboxModel",
        "ToggleButtonsModel", "VBoxModel", "HBoxModel", "TabModel", "AccordionModel",
        "LayoutModel", "SliderStyleModel", "ButtonStyleModel",
    }
    assert want <= models, want - models
    for mid, s in widget_state(nb).items():
        assert s["model_module_version"] in ("2.0.0", "1.0.0"), (mid, s)
    # every displayed view refers to a known model
    views = [
        o.data[WIDGET_MIME]["model_id"]
        for c in nb.cells if c.cell_type == "code"
        for o in c.outputs if o.output_type == "display_data" and WIDGET_MIME in o.data
    ]
    assert views and set(views) <= set(widget_state(nb)), set(views) - set(widget_state(nb))


def test_notebook_interact_output_captured(widgets_nb):
    """nbclient mimics the Output widget: Interact's first call lands in it."""
    nb, _ = widgets_nb
    c = cell(nb, "interact")
    (view,) = [o for o in c.outputs if o.output_type == "display_data" and WIDGET_MIME in o.data]
    state = widget_state(nb)
    box = state[view.data[WIDGET_MIME]["model_id"]]["state"]
    out_id = box["children"][-1].removeprefix("IPY_MODEL_")
    outs = state[out_id]["state"]["outputs"]
    text = "".join(o.get("text", "") for o in outs if o["output_type"] == "stream")
    assert "xyxyxy" in text, outs
    # and nothing of it leaked into the cell's own outputs
    assert not [o for o in c.outputs if o.output_type == "stream"], c.outputs


# ----------------------------------------------------- protocol, by message


@pytest.fixture(scope="module")
def kernel():
    km, kc = fe.start_kernel()
    yield kc
    fe.stop_kernel(km, kc)


@pytest.fixture
def kc(kernel):
    fe.drain(kernel)
    return kernel


def comm_opens(r):
    return {m["content"]["comm_id"]: m for m in r.of_type("comm_open")}


def validate(m):
    """Validate what jupyter_kernel_test's schema knows (it has no comm_* types)."""
    if not m["msg_type"].startswith("comm_"):
        fe.validate(m)
    else:
        assert m["header"]["version"] >= "5.3" and isinstance(m["content"]["data"], dict), m


def execute(kc, code, timeout=20):
    """Run code; the iopub messages of the request (busy to idle) and the reply."""
    msg_id = kc.execute(code)
    reply, outputs, idle = None, [], False
    deadline = time.monotonic() + timeout
    while reply is None or not idle:
        if time.monotonic() > deadline:
            raise TimeoutError(f"execute {code!r}: {outputs}")
        if not idle:
            try:
                m = kc.get_iopub_msg(timeout=0.02)
            except Empty:
                pass
            else:
                validate(m)
                if m["parent_header"].get("msg_id") == msg_id:
                    if m["msg_type"] == "status":
                        idle = m["content"]["execution_state"] == "idle"
                    elif m["msg_type"] != "execute_input":
                        outputs.append(m)
        if reply is None:
            try:
                m = kc.get_shell_msg(timeout=0.02)
            except Empty:
                pass
            else:
                if m["parent_header"].get("msg_id") == msg_id:
                    reply = m
    return fe.Result(msg_id, reply, outputs, [])


def send_comm(kc, msg_type, content, metadata=None, buffers=None):
    """Send a comm message on shell; return the iopub messages of it, busy to idle."""
    msg = kc.session.msg(msg_type, content, metadata=metadata or {})
    kc.session.send(kc.shell_channel.socket, msg, buffers=buffers or [])
    msg_id = msg["header"]["msg_id"]
    out, deadline = [], time.monotonic() + 10
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"{msg_type} never went idle: {out}")
        m = kc.get_iopub_msg(timeout=left)
        validate(m)
        if m["parent_header"].get("msg_id") != msg_id:
            continue
        if m["msg_type"] == "status":
            if m["content"]["execution_state"] == "idle":
                return out
            continue
        out.append(m)


def run_ok(kc, code):
    r = execute(kc, code)
    assert r.status == "ok", r
    return r


def test_comm_open_with_full_state(kc):
    r = run_ok(kc, 's := widgets.NewIntSlider(5, widgets.Description("n"), widgets.Max(10))\nwidgets.Display(s)')
    opens = comm_opens(r)
    (view,) = [m for m in r.of_type("display_data") if WIDGET_MIME in m["content"]["data"]][:1]
    sid = view["content"]["data"][WIDGET_MIME]["model_id"]
    assert view["content"]["data"][WIDGET_MIME]["version_major"] == 2
    o = opens[sid]
    assert o["content"]["target_name"] == "jupyter.widget"
    assert o["metadata"]["version"] == "2.1.0"
    st = o["content"]["data"]["state"]
    assert o["content"]["data"]["buffer_paths"] == []
    assert st["_model_name"] == "IntSliderModel"
    assert st["_model_module"] == "@jupyter-widgets/controls"
    assert st["_model_module_version"] == "2.0.0"
    assert (st["_view_name"], st["_view_module"], st["_view_module_version"]) == (
        "IntSliderView", "@jupyter-widgets/controls", "2.0.0")
    assert (st["value"], st["max"], st["min"], st["step"], st["description"]) == (5, 10, 0, 1, "n")
    # layout and style are models opened before the slider
    order = list(opens)
    for key, model in (("layout", "LayoutModel"), ("style", "SliderStyleModel")):
        rid = st[key].removeprefix("IPY_MODEL_")
        assert opens[rid]["content"]["data"]["state"]["_model_name"] == model
        assert order.index(rid) < order.index(sid)
    assert opens[st["layout"].removeprefix("IPY_MODEL_")]["content"]["data"]["state"]["_model_module"] == "@jupyter-widgets/base"


def slider(kc, code='widgets.NewIntSlider(5)'):
    r = run_ok(kc, f"w := {code}\nwidgets.Display(w)")
    (view, *_) = [m for m in r.of_type("display_data") if WIDGET_MIME in m["content"]["data"]]
    return view["content"]["data"][WIDGET_MIME]["model_id"]


def test_update_from_client_changes_go_value_and_echoes(kc):
    sid = slider(kc)
    run_ok(kc, 'w.Observe(func(c widgets.Change) { fmt.Println("observed", c.Old, c.New) })')
    out = send_comm(kc, "comm_msg", {"comm_id": sid, "data": {"method": "update", "state": {"value": 7}, "buffer_paths": []}})
    echoes = [m for m in out if m["msg_type"] == "comm_msg" and m["content"]["data"]["method"] == "echo_update"]
    assert echoes and echoes[0]["content"]["comm_id"] == sid
    assert echoes[0]["content"]["data"]["state"] == {"value": 7}
    text = "".join(m["content"]["text"] for m in out if m["msg_type"] == "stream")
    assert text == "observed 5 7\n"
    assert run_ok(kc, "fmt.Println(w.Value())").stdout() == "7\n"


def test_update_from_kernel(kc):
    sid = slider(kc)
    r = run_ok(kc, "w.SetValue(9)")
    (u,) = [m for m in r.of_type("comm_msg") if m["content"]["comm_id"] == sid]
    assert u["content"]["data"] == {"method": "update", "state": {"value": 9}, "buffer_paths": []}
    # an unchanged value sends nothing
    assert not run_ok(kc, "w.SetValue(9)").of_type("comm_msg")


def test_request_state(kc):
    sid = slider(kc, "widgets.NewIntSlider(3)")
    out = send_comm(kc, "comm_msg", {"comm_id": sid, "data": {"method": "request_state"}})
    (u,) = [m for m in out if m["msg_type"] == "comm_msg"]
    st = u["content"]["data"]["state"]
    assert u["content"]["data"]["method"] == "update"
    assert st["value"] == 3 and st["_model_name"] == "IntSliderModel" and "layout" in st


def test_dropdown_syncs_index(kc):
    sid = slider(kc, 'widgets.NewDropdown([]string{"a", "b", "c"})')
    send_comm(kc, "comm_msg", {"comm_id": sid, "data": {"method": "update", "state": {"index": 2}, "buffer_paths": []}})
    assert run_ok(kc, "fmt.Println(w.Index(), w.Value())").stdout() == "2 c\n"


def test_button_click_output_goes_to_the_cell(kc):
    r = run_ok(kc, 'b := widgets.NewButton("go")\nb.OnClick(func(b *widgets.Button) { fmt.Println("clicked") })\nwidgets.Display(b)')
    views = [m["content"]["data"][WIDGET_MIME]["model_id"] for m in r.of_type("display_data") if WIDGET_MIME in m["content"]["data"]]
    bid, out_id = views  # the button, then the Output its callbacks print to
    assert comm_opens(r)[out_id]["content"]["data"]["state"]["_model_name"] == "OutputModel"
    msg = send_comm(kc, "comm_msg", {"comm_id": bid, "data": {"method": "custom", "content": {"event": "click"}}})
    kinds = [(m["msg_type"], m["content"].get("comm_id"), m["content"].get("data", {}).get("state"), m["content"].get("text")) for m in msg]
    click_id = msg[0]["parent_header"]["msg_id"]
    assert kinds == [
        ("comm_msg", out_id, {"msg_id": click_id}, None),
        ("stream", None, None, "clicked\n"),
        ("comm_msg", out_id, {"msg_id": ""}, None),
    ], kinds


def test_panic_in_callback_is_reported(kc):
    r = run_ok(kc, 'pb := widgets.NewButton("boom")\npb.OnClick(func(b *widgets.Button) { panic("kaboom") })\nwidgets.Display(pb)')
    bid = [m["content"]["data"][WIDGET_MIME]["model_id"] for m in r.of_type("display_data") if WIDGET_MIME in m["content"]["data"]][0]
    out = send_comm(kc, "comm_msg", {"comm_id": bid, "data": {"method": "custom", "content": {"event": "click"}}})
    shown = [m for m in out if m["msg_type"] == "display_data"]
    assert shown and "kaboom" in shown[0]["content"]["data"]["text/plain"]
    assert run_ok(kc, "fmt.Println(1)").stdout() == "1\n"


def test_buffers_and_control_request_states(kc):
    # The client creates a widget with a binary attribute (as a frontend
    # may), then asks for all states on the control comm.
    wid = uuid.uuid4().hex
    send_comm(kc, "comm_open", {
        "comm_id": wid, "target_name": "jupyter.widget",
        "data": {"state": {"_model_name": "CustomModel", "_model_module": "x", "_model_module_version": "1.0.0",
                           "data": {"meta": 1}}, "buffer_paths": [["data", "blob"]]},
    }, metadata={"version": "2.1.0"}, buffers=[b"\x00\x01\x02"])
    sid = slider(kc, "widgets.NewIntSlider(4)")
    cid = uuid.uuid4().hex
    send_comm(kc, "comm_open", {"comm_id": cid, "target_name": "jupyter.widget.control", "data": {}}, metadata={"version": "1.0.0"})
    # request_states travels unsigned-buffers-free, the answer carries the blob.
    msg = kc.session.msg("comm_msg", {"comm_id": cid, "data": {"method": "request_states"}})
    kc.shell_channel.send(msg)
    deadline = time.monotonic() + 10
    while True:
        m = kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        if m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == cid:
            break
    d = m["content"]["data"]
    assert d["method"] == "update_states"
    assert d["states"][sid]["model_name"] == "IntSliderModel"
    assert d["states"][sid]["model_module_version"] == "2.0.0"
    assert d["states"][sid]["state"]["value"] == 4
    assert d["states"][wid]["state"]["data"] == {"meta": 1}
    (i,) = [n for n, p in enumerate(d["buffer_paths"]) if p == [wid, "state", "data", "blob"]]
    assert bytes(m["buffers"][i]) == b"\x00\x01\x02"


def test_reloaded_frontend_comm_is_adopted(kc):
    sid = slider(kc, "widgets.NewIntSlider(6)")
    # The page goes away (its comm closes) and comes back: the new page
    # re-creates the comm by id and talks on it without a comm_open.
    send_comm(kc, "comm_close", {"comm_id": sid, "data": {}})
    out = send_comm(kc, "comm_msg", {"comm_id": sid, "data": {"method": "request_state"}})
    (u,) = [m for m in out if m["msg_type"] == "comm_msg"]
    assert u["content"]["comm_id"] == sid and u["content"]["data"]["state"]["value"] == 6
    send_comm(kc, "comm_msg", {"comm_id": sid, "data": {"method": "update", "state": {"value": 8}, "buffer_paths": []}})
    assert run_ok(kc, "fmt.Println(w.Value())").stdout() == "8\n"
    r = run_ok(kc, "w.SetValue(2)")
    assert [m["content"]["comm_id"] for m in r.of_type("comm_msg")] == [sid]
