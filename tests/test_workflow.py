"""The Pipeline workflow of issue 3: windows, scaling and an LSTM in one GridSearchCV."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit
from sklearn.pipeline import Pipeline, make_pipeline

from sklstm import LSTMRegressor, SequenceScaler, WindowTransformer


@pytest.fixture
def sales():
    """A time-ordered table of 3 channels and the next step's sales as target."""
    rng = np.random.default_rng(0)
    t = np.arange(121)
    df = pd.DataFrame(
        {
            "sales": 10 + np.sin(t / 4) + 0.1 * rng.standard_normal(t.size),
            "temp": 20 + 5 * np.cos(t / 9),
            "promo": rng.integers(0, 2, t.size).astype(float),
        },
        index=pd.date_range("2024-01-01", periods=t.size, freq="D"),
    )
    X = df.iloc[:-1]
    y = df["sales"].shift(-1).iloc[:-1]  # y[t] = sales[t + 1]: aligned row by row with X
    return X.iloc[:90], y.iloc[:90], X.iloc[90:], y.iloc[90:]


def test_grid_search_over_lookback_and_hidden_size(sales):
    X_train, y_train, X_test, y_test = sales
    pipe = make_pipeline(
        WindowTransformer(lookback=24),
        SequenceScaler(),
        LSTMRegressor(hidden_size=4, max_iter=2, random_state=0),
    )
    search = GridSearchCV(
        pipe,
        {"windowtransformer__lookback": [3, 6], "lstmregressor__hidden_size": [4, 5]},
        cv=TimeSeriesSplit(n_splits=3),
        n_jobs=2,
    ).fit(X_train, y_train)

    assert len(search.cv_results_["params"]) == 4
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    best = search.best_estimator_
    # The regressor learned the layout from the 3-D array the transformer handed it.
    lookback = search.best_params_["windowtransformer__lookback"]
    assert best[-1].n_features_in_ == lookback
    assert best[-1].n_channels_in_ == X_train.shape[1]

    y_pred = search.predict(X_test)
    assert y_pred.shape == y_test.shape
    assert np.isfinite(search.score(X_test, y_test))

    restored = pickle.loads(pickle.dumps(search))
    np.testing.assert_allclose(restored.predict(X_test), y_pred)

    unfitted = clone(search)
    assert not hasattr(unfitted, "best_estimator_")
    assert unfitted.get_params()["estimator__windowtransformer__lookback"] == 24


@pytest.mark.parametrize("lookback", [2, 5])
def test_every_fit_learns_the_current_lookback(sales, lookback):
    X_train, y_train, X_test, _ = sales
    pipe = make_pipeline(
        WindowTransformer(lookback=24),
        SequenceScaler(),
        LSTMRegressor(hidden_size=4, max_iter=2, random_state=0),
    )
    pipe.set_params(windowtransformer__lookback=lookback).fit(X_train, y_train)
    assert pipe[-1].n_features_in_ == lookback
    assert pipe[-1].n_channels_in_ == 3
    assert pipe.predict(X_test).shape == (len(X_test),)


def test_lstm_and_gradient_boosting_in_one_grid_search(sales):
    X_train, y_train, X_test, _ = sales
    pipe = Pipeline(
        [
            ("window", WindowTransformer(lookback=4)),
            ("scale", SequenceScaler()),
            ("model", LSTMRegressor(hidden_size=4, max_iter=2, random_state=0)),
        ]
    )
    grid = [
        {"window__output": ["3d"]},  # the LSTM reads (n_samples, lookback, n_channels)
        {
            "window__output": ["flat"],  # named lag columns for a tabular model
            "scale": ["passthrough"],
            "model": [HistGradientBoostingRegressor(max_iter=5)],
        },
    ]
    search = GridSearchCV(pipe, grid, cv=TimeSeriesSplit(n_splits=2)).fit(X_train, y_train)
    assert len(search.cv_results_["params"]) == 2
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.predict(X_test).shape == (len(X_test),)
