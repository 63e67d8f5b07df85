"""The README's Python examples run as written (in one namespace, top to bottom)."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run(capsys):
    pytest.importorskip("sktime", reason="the README's forecasting example uses sktime")
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) >= 3
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)
    out = capsys.readouterr().out
    assert "windowtransformer__lookback" in out  # best_params_ of the grid search
    assert "coverage" in out or "lower" in out  # the interval frame was printed
