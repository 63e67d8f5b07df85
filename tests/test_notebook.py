"""examples/notebooks/quickstart.ipynb runs top to bottom and shows what a notebook user sees.

The notebook is committed without outputs; this test executes it in a fresh Jupyter kernel
(nbclient) and checks the outputs: the estimator's HTML view (scikit-learn's
``_repr_html_``), the progress bar of ``verbose=1``, and the figure of ``plot_history()``.
"""

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="needs the [test] extras: nbformat")
nbclient = pytest.importorskip("nbclient", reason="needs the [test] extras: nbclient")
pytest.importorskip("ipykernel", reason="needs the [test] extras: ipykernel")
pytest.importorskip("matplotlib", reason="the notebook draws with matplotlib")
pytest.importorskip("sktime", reason="the notebook uses sktime's airline data")

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "notebooks" / "quickstart.ipynb"


def _outputs(cell, output_type=None):
    return [o for o in cell.get("outputs", []) if output_type in (None, o["output_type"])]


def test_committed_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, cell.source[:60]


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # the kernel inherits the environment
    client = nbclient.NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path_factory.mktemp("nb"))}},
    )
    client.execute()  # raises CellExecutionError, with the traceback, if a cell fails
    return nb


def _cell(nb, start):
    return next(c for c in nb.cells if c.cell_type == "code" and c.source.startswith(start))


def test_html_repr_of_the_estimator(executed):
    for start in ("model = LSTMRegressor", "model.fit", "from sklearn.pipeline"):
        (result,) = _outputs(_cell(executed, start), "execute_result")
        html = result["data"]["text/html"]
        assert "sk-top-container" in html and "LSTMRegressor" in html, start
    pipe = _outputs(_cell(executed, "from sklearn.pipeline"), "execute_result")[0]
    for step in ("WindowTransformer", "SequenceScaler"):
        assert step in pipe["data"]["text/html"]


def test_progress_bar_while_fitting(executed):
    fit = _cell(executed, "model.fit")
    shown = "".join(o.get("text", "") for o in _outputs(fit, "stream")) + "".join(
        str(o.get("data", {})) for o in _outputs(fit, "display_data")
    )
    assert "epoch" in shown.lower() and "loss" in shown.lower(), shown[:500]


def test_plot_history_draws_a_figure(executed):
    cell = _cell(executed, "ax = model.plot_history()")
    assert any("image/png" in o.get("data", {}) for o in _outputs(cell, "display_data"))
    assert "epochs; best validation loss" in "".join(o.get("text", "") for o in _outputs(cell))


def test_forecasts_printed(executed):
    text = "".join(o.get("text", "") for o in _outputs(_cell(executed, "actual = ")))
    assert "LSTMRegressor" in text and "MAPE" in text
