"""sklstm on a real Dask cluster: searches, backtests and fitted models that travel.

One ``dask.distributed.LocalCluster`` with two worker *processes* (one thread each,
``OMP_NUM_THREADS=1``) serves the whole module. Every distributed result is compared
with the serial run of the same estimator and ``random_state``: they must be
bit-identical, so nothing depends on which worker (or process) ran a fold.
"""

import pickle
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

distributed = pytest.importorskip(
    "distributed", reason='needs dask.distributed (pip install "dask[distributed]")'
)
pytest.importorskip("dask.dataframe", reason='needs dask[dataframe] (pip install "sklstm[dask]")')

import joblib  # noqa: E402
import torch  # noqa: E402
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV, TimeSeriesSplit  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402

from sklstm import LSTMRegressor, SequenceScaler, WindowTransformer  # noqa: E402
from sklstm._base import resolve_device  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
TINY = {"hidden_size": 4, "max_iter": 3, "random_state": 0}

pytestmark = [
    # sktime's own ForecastingGridSearchCV announces its remember_data change (not ours).
    pytest.mark.filterwarnings("ignore:The default of config ``remember_data``:FutureWarning"),
    # distributed reports its clean-up at shutdown.
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]


@pytest.fixture(scope="module")
def client():
    """A LocalCluster of 2 single-threaded worker processes, and a Client to it."""
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        env={"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},  # forwarded to each Nanny
    )
    with distributed.Client(cluster) as c:
        c.wait_for_workers(2)
        yield c
    cluster.close()


def _table(n=80, seed=0):
    """A time-ordered table (n, 2) and a target that depends on its recent past."""
    rng = np.random.RandomState(seed)
    t = np.arange(n)
    X = np.column_stack([np.sin(t / 4.0), rng.normal(scale=0.1, size=n)])
    y = X[:, 0] + 0.5 * np.roll(X[:, 0], 1) + 0.05 * rng.normal(size=n)
    return X, y


def _pipeline():
    return make_pipeline(WindowTransformer(lookback=4), SequenceScaler(), LSTMRegressor(**TINY))


def _same_cv_results(serial, remote):
    keys = [k for k in serial if "time" not in k]  # fit / score times differ, nothing else
    assert sorted(keys) == sorted(k for k in remote if "time" not in k)
    for key in keys:
        a, b = serial[key], remote[key]
        if key == "params":
            assert a == b
        elif np.asarray(a).dtype == object:
            assert list(a) == list(b), key
        else:
            np.testing.assert_array_equal(a, b, err_msg=key)


def _ran_on_workers(task_stream) -> set:
    return {t["worker"] for t in task_stream.data}


# ---- the cluster itself -------------------------------------------------------------


def test_workers_are_processes_with_one_thread(client):
    info = client.scheduler_info(n_workers=-1)["workers"]
    assert len(info) == 2 and all(w["nthreads"] == 1 for w in info.values())

    def threads():
        import os

        import torch

        return os.getpid(), os.environ.get("OMP_NUM_THREADS"), torch.get_num_threads()

    seen = client.run(threads)
    pids = {pid for pid, _, _ in seen.values()}
    assert len(pids) == 2 and not pids & {__import__("os").getpid()}
    assert all(omp == "1" and n == 1 for _, omp, n in seen.values())


# ---- scikit-learn searches through joblib's Dask backend ------------------------------


def test_grid_search_on_the_cluster_equals_the_serial_run(client):
    X, y = _table()
    grid = {"windowtransformer__lookback": [3, 6], "lstmregressor__hidden_size": [3, 5]}
    search = GridSearchCV(_pipeline(), grid, cv=TimeSeriesSplit(3), refit=True)
    serial = search.fit(X, y)
    serial_results, serial_pred = serial.cv_results_, serial.predict(X)

    remote = GridSearchCV(_pipeline(), grid, cv=TimeSeriesSplit(3), refit=True)
    with distributed.get_task_stream(client) as ts, joblib.parallel_backend("dask"):
        remote.fit(X, y)
    assert len(_ran_on_workers(ts)) == 2  # the 12 fits were spread over both workers
    _same_cv_results(serial_results, remote.cv_results_)
    assert remote.best_params_ == serial.best_params_
    np.testing.assert_array_equal(remote.predict(X), serial_pred)


def test_randomized_search_on_the_cluster_equals_the_serial_run(client):
    X, y = _table(seed=1)
    dist = {
        "windowtransformer__lookback": [2, 3, 4, 5, 6],
        "lstmregressor__learning_rate_init": [0.003, 0.01, 0.03],
        "lstmregressor__peephole": ["diagonal", "none"],
    }

    def search():
        return RandomizedSearchCV(
            _pipeline(), dist, n_iter=4, cv=TimeSeriesSplit(2), random_state=0, refit=False
        )

    serial = search().fit(X, y)
    with joblib.parallel_backend("dask"):
        remote = search().fit(X, y)
    _same_cv_results(serial.cv_results_, remote.cv_results_)


# ---- sktime backtests and grid search with backend="dask" ----------------------------


def _series(n=48):
    t = np.arange(n)
    values = 10 + 0.05 * t + np.sin(2 * np.pi * t / 12)
    return pd.Series(values, index=pd.period_range("2000-01", periods=n, freq="M"), name="y")


def test_sktime_evaluate_and_grid_search_with_the_dask_backend(client):
    pytest.importorskip("sktime", reason="needs sktime (pip install sklstm[sktime])")
    from sktime.forecasting.model_evaluation import evaluate
    from sktime.forecasting.model_selection import ForecastingGridSearchCV
    from sktime.split import ExpandingWindowSplitter

    from sklstm import LSTMForecaster

    y = _series()
    cv = ExpandingWindowSplitter(fh=[1, 2], initial_window=36, step_length=6)
    f = LSTMForecaster(lookback=6, n_models=1, early_stopping=False, **TINY)
    plain = evaluate(f, cv, y)
    with distributed.get_task_stream(client) as ts:
        remote = evaluate(f, cv, y, backend="dask")
    assert _ran_on_workers(ts) and len(remote) == len(plain) == 2
    score = plain.columns[0]
    np.testing.assert_array_equal(plain[score].to_numpy(), remote[score].to_numpy())
    # (sktime's dask backend hands return_data columns back as text, so the forecasts
    # themselves are compared through ForecastingGridSearchCV.predict below.)

    def gscv(**backend):
        return ForecastingGridSearchCV(
            LSTMForecaster(lookback=6, n_models=1, early_stopping=False, **TINY),
            cv=cv,
            param_grid={"hidden_size": [3, 5], "strategy": ["multioutput", "recursive"]},
            **backend,
        ).fit(y, fh=[1, 2])

    serial, on_cluster = gscv(), gscv(backend="dask")
    assert serial.best_params_ == on_cluster.best_params_
    a, b = serial.cv_results_, on_cluster.cv_results_
    score_cols = [c for c in a.columns if c.startswith("mean_test") or c.startswith("rank")]
    pd.testing.assert_frame_equal(a[score_cols], b[score_cols], check_exact=True)
    pd.testing.assert_series_equal(serial.predict(), on_cluster.predict(), check_exact=True)


# ---- fitted models travel ----------------------------------------------------------------


def _fit(est, X, y):
    return est.fit(X, y)


def _predict(est, X):
    return est.predict(X)


def test_a_model_fitted_on_a_worker_predicts_the_same_here(client):
    X, y = _table(seed=2)
    fitted = client.submit(_fit, _pipeline(), X, y, pure=False)
    on_worker = client.submit(_predict, fitted, X, pure=False).result()
    local_model = fitted.result()  # pickled on the worker, unpickled here
    np.testing.assert_array_equal(local_model.predict(X), on_worker)
    # ... and it is the very model the serial fit gives.
    np.testing.assert_array_equal(_pipeline().fit(X, y).predict(X), on_worker)
    reg = local_model[-1]
    assert reg.device_ == "cpu" and all(p.device.type == "cpu" for p in reg.module_.parameters())


def test_a_pretrained_global_forecaster_travels_both_ways(client):
    pytest.importorskip("sktime", reason="needs sktime (pip install sklstm[sktime])")
    from sklstm import LSTMForecaster

    frames = []
    for i in range(4):
        s = _series(40) * (1 + i)
        index = pd.MultiIndex.from_product([[f"s{i}"], s.index], names=["instance", "time"])
        frames.append(pd.DataFrame({"y": s.to_numpy()}, index=index))
    panel = pd.concat(frames)
    f = LSTMForecaster(lookback=6, n_models=1, **TINY).pretrain(panel, fh=[1, 2])

    def fit_predict(forecaster, y):
        forecaster = forecaster.clone().fit(y, fh=[1, 2])
        return forecaster, forecaster.predict()

    y0 = panel.loc["s0"]["y"]
    fitted, on_worker = client.submit(fit_predict, f, y0, pure=False).result()
    pd.testing.assert_series_equal(fitted.predict(), on_worker, check_exact=True)
    pd.testing.assert_series_equal(fit_predict(f, y0)[1], on_worker, check_exact=True)


def test_a_cuda_pickled_model_predicts_on_a_cpu_worker(client):
    """The GPU-made fixture crosses to a worker as bytes and loads there on the CPU."""
    blob = (FIXTURES / "lstm_regressor_cuda.pkl").read_bytes()
    assert b"cuda" in blob
    X = np.load(FIXTURES / "lstm_regressor_cuda_X.npy")

    def load_and_predict(blob, X):
        import torch

        torch.cuda.is_available = lambda: False  # a CPU-only worker, even on a GPU runner
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # version notes of the fixture
            reg = pickle.loads(blob)
        return reg.device_, reg.predict(X), reg

    device, pred, reg = client.submit(load_and_predict, blob, X, pure=False).result()
    assert device == "cpu" and reg.device_ == "cpu"  # what came back holds CPU tensors
    expected = np.load(FIXTURES / "lstm_regressor_cuda_pred.npy")
    np.testing.assert_allclose(pred, expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(reg.predict(X), pred)


# ---- devices: one GPU per estimator -------------------------------------------------------


def test_auto_device_is_the_current_cuda_device_only(monkeypatch):
    """With several GPUs visible, "auto" is plain "cuda": torch's *current* device, one GPU.

    A Dask worker started with ``CUDA_VISIBLE_DEVICES=k`` (or by dask-cuda's
    LocalCUDACluster) sees only its own GPU as device 0, so each worker trains on its own.
    """
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    assert resolve_device("auto") == "cuda"
    assert torch.device(resolve_device("auto")).index is None  # not a list, not "all"
    assert resolve_device("cuda:2") == "cuda:2"
    with pytest.raises(ValueError, match="4 CUDA device"):
        resolve_device("cuda:4")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu"
