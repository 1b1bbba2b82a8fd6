"""examples/04-experiment-tracking.ipynb under nbclient: a run with params,
metric histories and an artifact; %runs with a filter; %runs compare with a
table (differences marked) and a Vega-Lite chart of the histories."""

import os
import tempfile

import pytest

import ferry_env as fe
from test_examples import EXAMPLES, cell, run_notebook, stdout


@pytest.fixture(scope="module")
def nb():
    # A data directory of its own: other tests run the notebook too, and
    # runs accumulate in a store, as they should.
    old = os.environ.get("FERRY_DATA_DIR")
    os.environ["FERRY_DATA_DIR"] = tempfile.mkdtemp(prefix="ferry-tracking-")
    try:
        nb, _ = run_notebook(os.path.join(EXAMPLES, "04-experiment-tracking.ipynb"))
    finally:
        if old is None:
            del os.environ["FERRY_DATA_DIR"]
        else:
            os.environ["FERRY_DATA_DIR"] = old
    return nb


def result(c):
    (r,) = [o for o in c.outputs if o.output_type == "execute_result"]
    return r.data


def test_runs_logged(nb):
    out = stdout(cell(nb, "runs"))
    assert "sgd-lr-0.01: final loss" in out and "sgd-lr-0.1: final loss" in out


def test_filter_lists_one_run(nb):
    text = result(cell(nb, "list-filter"))["text/plain"]
    assert text.startswith("1 runs of experiment \"tracking-tour\""), text
    assert "sgd-lr-0.1 " in text and "sgd-lr-0.01" not in text
    html = result(cell(nb, "list-filter"))["text/html"]
    assert "<th>metrics.loss</th>" in html and "<th>params.lr</th>" in html


def test_order_by(nb):
    text = result(cell(nb, "list-all"))["text/plain"]
    assert text.index("sgd-lr-0.1 ") < text.index("sgd-lr-0.01"), text


def test_compare_table_and_chart(nb):
    c = cell(nb, "compare")
    (table,) = [o for o in c.outputs if o.output_type == "display_data"]
    text = table.data["text/plain"]
    lines = {l.split()[0]: l for l in text.splitlines() if l.strip()}
    assert "*" in lines["params.lr"], text  # differs
    assert "*" not in lines["params.epochs"], text  # same in both runs
    assert "<b>0.01</b>" in table.data["text/html"]
    spec = result(c)["application/vnd.vegalite.v5+json"]
    values = spec["data"]["values"]
    assert {v["run"] for v in values} == {"sgd-lr-0.01", "sgd-lr-0.1"}
    assert {v["metric"] for v in values} == {"loss", "w", "b"}
    steps = sorted(v["step"] for v in values if v["run"] == "sgd-lr-0.1" and v["metric"] == "loss")
    assert steps == list(range(60)), steps


def test_param_written_once(nb):
    out = stdout(cell(nb, "param-twice"))
    assert 'already has value "0.1"; cannot change it to "0.5"' in out, out


def test_show_lists_artifact(nb):
    text = result(cell(nb, "show"))["text/plain"]
    assert "model.json (" in text and "params.lr" in text and "metrics.loss" in text, text
