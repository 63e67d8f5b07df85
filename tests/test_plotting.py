"""plot_history: learning curves of fitted estimators; matplotlib stays optional."""

import subprocess
import sys

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from sklstm import LSTMRegressor

mpl = pytest.importorskip("matplotlib")
mpl.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 6, 2))
    return X, X[:, -2:, 0].sum(axis=1)


def test_regressor_curves_match_the_history(data):
    X, y = data
    reg = LSTMRegressor(hidden_size=4, max_iter=6, early_stopping=True, random_state=0)
    ax = reg.fit(X, y).plot_history()
    train, valid = ax.get_lines()
    assert train.get_label() == "training loss" and valid.get_label() == "validation loss"
    np.testing.assert_allclose(train.get_ydata(), reg.loss_curve_)
    np.testing.assert_allclose(valid.get_ydata(), reg.validation_loss_curve_)
    np.testing.assert_array_equal(train.get_xdata(), np.arange(1, reg.n_iter_ + 1))
    assert ax.get_yscale() == "log"
    assert ax.get_xlabel() == "epoch"
    plt.close("all")


def test_no_validation_curve_without_early_stopping_and_given_axes(data):
    X, y = data
    reg = LSTMRegressor(hidden_size=4, max_iter=3, random_state=0).fit(X, y)
    fig, (left, right) = plt.subplots(1, 2)
    assert reg.plot_history(ax=right) is right
    assert len(right.get_lines()) == 1 and not left.get_lines()
    plt.close("all")


def test_unfitted_raises_not_fitted():
    with pytest.raises(NotFittedError):
        LSTMRegressor().plot_history()


def test_forecaster_draws_every_network():
    pytest.importorskip("sktime")
    from sktime.datasets import load_airline

    from sklstm import LSTMForecaster

    f = LSTMForecaster(lookback=12, max_iter=4, n_models=2, random_state=0)
    with pytest.raises(ValueError, match="not been fitted"):  # sktime's NotFittedError
        f.plot_history()
    ax = f.fit(load_airline(), fh=[1, 2]).plot_history()
    labels = [line.get_label() for line in ax.get_lines()]
    modes = ["mean", "mean", "season", "season"]  # two networks for each normalisation
    assert labels == [
        f"network {k} ({mode}): {kind} loss"
        for k, mode in enumerate(modes)
        for kind in ["training", "validation"]
    ]
    lines = ax.get_lines()
    history = f.ensemble_.history_
    for k in range(4):
        train, valid = lines[2 * k], lines[2 * k + 1]
        # Each network's own curves, read from the one training history.
        expected = [row["train_member_loss"][k] for row in history]
        np.testing.assert_allclose(train.get_ydata(), expected)
        held_out = [row.get("valid_member_loss", [np.nan] * 4)[k] for row in history]
        np.testing.assert_allclose(valid.get_ydata(), held_out)
        assert np.isnan(valid.get_ydata()[-1])  # the final epochs on all windows
        assert np.isfinite(valid.get_ydata()[0])
    plt.close("all")


def test_clear_error_without_matplotlib(tmp_path):
    code = (
        "import sys; sys.modules['matplotlib'] = None; sys.modules['matplotlib.pyplot'] = None\n"
        "import numpy as np\n"
        "from sklstm import LSTMRegressor\n"
        "X = np.zeros((8, 3, 1))\n"
        "reg = LSTMRegressor(max_iter=1, hidden_size=2).fit(X, X[:, 0, 0])\n"
        "try:\n"
        "    reg.plot_history()\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr
    assert "plot_history needs matplotlib: pip install matplotlib" in out.stdout
