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


def run_notebook(path, answers=()):
    nb = nbformat.read(path, as_version=4)
    client = StdinNotebookClient(
        nb,
        answers=answers,
        kernel_name=fe.KERNEL_NAME,
        timeout=60,
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


@pytest.mark.parametrize(
    "path", sorted(glob.glob(os.path.join(EXAMPLES, "*.ipynb"))), ids=os.path.basename
)
def test_example_runs(path):
    """Every example notebook runs top to bottom; input prompts get "Ada"."""
    nb, _ = run_notebook(path, answers=["Ada"] * 20)
    assert nb.metadata["kernelspec"]["name"] == fe.KERNEL_NAME
