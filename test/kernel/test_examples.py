"""Execute the notebooks in examples/ with Debian's nbclient and the Ferry kernel.

nbclient 0.7.2 has no stdin support (it sets kc.allow_stdin = False), so
StdinNotebookClient turns stdin on and answers each input_request from a list
of answers while a cell runs. Errors are allowed only in cells tagged
`raises-exception` (nbclient's own rule; allow_errors stays False).
"""

import asyncio
import glob
import os
from queue import Empty

import nbformat
import pytest
from nbclient import NotebookClient

import ferry_env as fe

EXAMPLES = os.path.join(fe.REPO, "examples")


class StdinNotebookClient(NotebookClient):
    """A NotebookClient that answers input_request messages."""

    def __init__(self, nb, answers=(), **kw):
        super().__init__(nb, **kw)
        self.answers = list(answers)
        self.prompts = []  # (cell id, prompt) per input_request

    async def async_start_new_kernel_client(self):
        kc = await super().async_start_new_kernel_client()
        kc.allow_stdin = True
        return kc

    async def _answer_stdin(self, cell):
        while True:
            try:
                msg = await self.kc.get_stdin_msg(timeout=0.05)
            except Empty:
                continue
            if msg["msg_type"] != "input_request":
                continue
            self.prompts.append((cell.get("id"), msg["content"]["prompt"]))
            self.kc.input(self.answers.pop(0) if self.answers else "")

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        task = asyncio.ensure_future(self._answer_stdin(cell))
        try:
            return await super().async_execute_cell(
                cell, cell_index, execution_count=execution_count, store_history=store_history
            )
        finally:
            task.cancel()
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass


# Seconds a cell may take, for the notebooks whose cells build: the first
# import of a third-party package builds a Go plugin (06: gonum.org/v1/plot
# and its dependencies, cold on a new machine with the standard library
# rebuilt for dynamic linking).
CELL_TIMEOUT = {"06-go-modules.ipynb": 600}


def run_notebook(path, answers=()):
    nb = nbformat.read(path, as_version=4)
    client = StdinNotebookClient(
        nb,
        answers=answers,
        kernel_name=fe.KERNEL_NAME,
        timeout=CELL_TIMEOUT.get(os.path.basename(path), 60),
        startup_timeout=60,
        allow_errors=False,
        resources={"metadata": {"path": os.path.dirname(path)}},
    )
    client.execute()
    nbformat.validate(nb)
    return nb, client


def cell(nb, cell_id):
    for c in nb.cells:
        if c.get("id") == cell_id:
            return c
    raise KeyError(cell_id)


def stdout(c):
    return "".join(o.get("text", "") for o in c.outputs if o.output_type == "stream" and o.name == "stdout")


def mimes(c, output_type):
    out = set()
    for o in c.outputs:
        if o.output_type == output_type:
            out.update(o.data.keys())
    return out


@pytest.fixture(scope="module")
def tour():
    return run_notebook(os.path.join(EXAMPLES, "01-kernel-tour.ipynb"), answers=["Ada"])


def test_tour_state_across_cells(tour):
    nb, _ = tour
    c = cell(nb, "state-use")
    assert stdout(c) == "3 items\n"
    (res,) = [o for o in c.outputs if o.output_type == "execute_result"]
    assert res.data["text/plain"] == "160"


def test_tour_error_names_line(tour):
    nb, _ = tour
    c = cell(nb, "error")
    (err,) = [o for o in c.outputs if o.output_type == "error"]
    assert err.ename
    tb = fe.strip_ansi("\n".join(err.traceback))
    assert "cell line 3" in tb, tb
    assert stdout(c) == ""


def test_tour_only_tagged_cells_fail(tour):
    nb, _ = tour
    for c in nb.cells:
        if c.cell_type != "code":
            continue
        failed = any(o.output_type == "error" for o in c.outputs)
        assert failed == ("raises-exception" in c.metadata.get("tags", [])), c.get("id")


def test_tour_rich_display(tour):
    nb, _ = tour
    html = cell(nb, "html")
    assert "text/html" in mimes(html, "display_data")
    (d,) = [o for o in html.outputs if o.output_type == "display_data"]
    assert "160.00" in d.data["text/html"]
    vl = cell(nb, "vegalite")
    assert "application/vnd.vegalite.v5+json" in mimes(vl, "display_data")
    (d,) = [o for o in vl.outputs if o.output_type == "display_data"]
    spec = d.data["application/vnd.vegalite.v5+json"]
    assert spec["mark"] == "bar"
    assert len(spec["data"]["values"]) == 3


def test_tour_input(tour):
    nb, client = tour
    assert client.prompts == [("input", "Your name: ")]
    assert stdout(cell(nb, "input")) == "Hello, Ada\n"


def test_go_modules():
    """06: third-party modules are fetched, built and used; a plot shows as PNG."""
    nb, _ = run_notebook(os.path.join(EXAMPLES, "06-go-modules.ipynb"))
    pin = cell(nb, "pin")
    (res,) = [o for o in pin.outputs if o.output_type == "execute_result"]
    assert "github.com/google/uuid v1.6.0" in res.data["text/plain"]
    assert "gonum.org/v1/plot v0.17.0" in res.data["text/plain"]
    assert stdout(cell(nb, "uuid")) == "58efc3e6-bdfb-5873-b282-44da046c8730 version VERSION_5\n"
    assert stdout(cell(nb, "stats")).startswith("median 11.95 ms")
    assert "image/png" in mimes(cell(nb, "plot"), "execute_result")


@pytest.mark.parametrize(
    "path", sorted(glob.glob(os.path.join(EXAMPLES, "*.ipynb"))), ids=os.path.basename
)
def test_example_runs(path):
    """Every example notebook runs top to bottom; input prompts get "Ada"."""
    nb, _ = run_notebook(path, answers=["Ada"] * 20)
    assert nb.metadata["kernelspec"]["name"] == fe.KERNEL_NAME
