"""examples/05-training.ipynb under nbclient: %%train runs a 2-process
PyTorch DDP job (Debian python3-torch, gloo) as local processes with the
PyTorchJob environment; the job succeeds, rank 0's loss per epoch lands in
the job's tracking run, and %job logs shows each rank's output."""

import os
import subprocess
import tempfile

import pytest

import ferry_env as fe
from test_examples import EXAMPLES, cell, run_notebook


def have_torch():
    return subprocess.run(["/usr/bin/python3", "-c", "import torch"], capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def nb():
    if not have_torch():
        msg = "Debian python3 cannot import torch: apt-get install python3-torch"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    # A data directory of its own: the jobs and runs of this notebook only.
    old = os.environ.get("FERRY_DATA_DIR")
    os.environ["FERRY_DATA_DIR"] = tempfile.mkdtemp(prefix="ferry-training-")
    try:
        nb, _ = run_notebook(os.path.join(EXAMPLES, "05-training.ipynb"))
    finally:
        if old is None:
            del os.environ["FERRY_DATA_DIR"]
        else:
            os.environ["FERRY_DATA_DIR"] = old
    return nb


def outputs(c, output_type):
    return [o for o in c.outputs if o.output_type == output_type]


def result(c):
    (r,) = outputs(c, "execute_result")
    return r.data


def row(text, first):
    """The columns of a text table as {header: value} for the row starting with first."""
    lines = text.splitlines()
    i = next(i for i, l in enumerate(lines) if l.startswith("--"))
    header, rule = lines[i - 1], lines[i]
    # Column spans from the dashes of the rule line.
    spans, start = [], None
    for j, ch in enumerate(rule + " "):
        if ch == "-" and start is None:
            start = j
        elif ch != "-" and start is not None:
            spans.append((start, j))
            start = None
    (line,) = [l for l in lines[i + 1 :] if l.startswith(first)]
    out = {}
    for k, (a, _) in enumerate(spans):
        end = spans[k + 1][0] if k + 1 < len(spans) else None
        out[header[a:end].strip()] = line[a:end].strip()
    return out


def test_job_succeeded(nb):
    c = cell(nb, "train")
    # The live monitor is a widget, displayed while the job runs.
    assert any("application/vnd.jupyter.widget-view+json" in o.data for o in outputs(c, "display_data"))
    summary = row(result(c)["text/plain"], "ddp-tour")
    assert summary["status"] == "Succeeded", summary
    assert summary["replicas"] == "2 succeeded", summary
    assert float(summary["loss"]) > 0, summary
    assert len(summary["run"]) == 32, summary
    jobs = row(result(cell(nb, "jobs"))["text/plain"], "ddp-tour")
    assert jobs["status"] == "Succeeded" and jobs["kind"] == "pytorch", jobs


def test_loss_metrics_in_tracking_run(nb):
    run_id = row(result(cell(nb, "train"))["text/plain"], "ddp-tour")["run"]
    runs = row(result(cell(nb, "runs"))["text/plain"], "ddp-tour")
    assert run_id.startswith(runs["id"]), (run_id, runs)
    assert runs["status"] == "FINISHED", runs
    assert runs["params.job.kind"] == "pytorch" and runs["params.job.replicas.Worker"] == "1", runs
    # The loss of every epoch, falling, in the run's history.
    chart = result(cell(nb, "compare"))["application/vnd.vegalite.v5+json"]
    loss = sorted((v["step"], v["value"]) for v in chart["data"]["values"] if v["metric"] == "loss")
    assert [s for s, _ in loss] == list(range(8)), loss
    assert loss[-1][1] < loss[0][1], loss
    assert float(runs["metrics.loss"]) == pytest.approx(loss[-1][1], rel=1e-3)


def test_logs_hold_rank_output(nb):
    worker = result(cell(nb, "logs"))["text/plain"]
    assert "rank 1 of 2 ready" in worker and "rank 1 done" in worker, worker
    master = result(cell(nb, "logs-master"))["text/plain"]
    assert "epoch=7 loss=" in master and "rank 0 done" in master, master
    show = result(cell(nb, "show"))["text/plain"]
    assert "Master-0" in show and "Worker-0" in show, show
