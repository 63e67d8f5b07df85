"""LSTMRegressor behaviour beyond sklearn's check suite."""

import io
import os
import pickle
import subprocess
import sys
import textwrap
import warnings

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit
from skorch.callbacks import Callback, LRScheduler

import sklstm
import sklstm._version
from sklstm import LSTMRegressor

FAST = dict(hidden_size=8, max_iter=5, random_state=0)


def sequence_task(n=96, seq_len=8, n_channels=2, seed=0, dtype=np.float64):
    """Targets that need memory: the sum of channel 0 over the last 3 steps."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, seq_len, n_channels)).astype(dtype)
    y = X[:, -3:, 0].sum(axis=1) + 0.5 * X[:, 0, 1]
    return X, y


def test_learns_a_sequence_task():
    X, y = sequence_task(n=256)
    reg = LSTMRegressor(hidden_size=16, max_iter=60, random_state=0).fit(X[:200], y[:200])
    assert reg.loss_curve_[-1] < reg.loss_curve_[0] / 10
    assert reg.score(X[200:], y[200:]) > 0.8


@pytest.mark.parametrize("peephole", ["diagonal", "full", "none"])
def test_every_peephole_mode_trains(peephole):
    X, y = sequence_task()
    reg = LSTMRegressor(peephole=peephole, **FAST).fit(X, y)
    assert reg.module_.lstm.peephole == peephole
    assert reg.loss_curve_[-1] < reg.loss_curve_[0]


def test_shapes_of_x_and_y():
    X, y = sequence_task(n=40)
    reg = LSTMRegressor(**FAST)
    # 2-D X is one channel per time step.
    reg.fit(X[:, :, 0], y)
    assert reg.n_features_in_ == 8 and reg.n_channels_in_ == 1
    assert reg.predict(X[:, :, 0]).shape == (40,)
    # 3-D X keeps its channels; y's shape is echoed by predict.
    Y = np.column_stack([y, -y, 2 * y])
    reg.fit(X, Y)
    assert reg.n_channels_in_ == 2 and reg.n_outputs_ == 3
    assert reg.predict(X).shape == (40, 3)
    reg.fit(X, y[:, None])
    assert reg.predict(X).shape == (40, 1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept(dtype):
    X, y = sequence_task(n=32, dtype=dtype)
    reg = LSTMRegressor(**FAST).fit(X, y)
    assert reg.dtype_ == dtype
    assert next(reg.module_.parameters()).dtype == (
        torch.float32 if dtype == np.float32 else torch.float64
    )
    assert reg.predict(X).dtype == dtype
    # Integer input is accepted and becomes float64.
    assert LSTMRegressor(**FAST).fit(np.rint(X * 10).astype(int), y).dtype_ == np.float64


def test_predictions_in_target_units():
    X, y = sequence_task(n=128)
    y = 1000.0 + 50.0 * y
    reg = LSTMRegressor(hidden_size=16, max_iter=40, random_state=0).fit(X, y)
    np.testing.assert_allclose(reg.y_mean_, [y.mean()])
    np.testing.assert_allclose(reg.y_scale_, [y.std()])
    pred = reg.predict(X)
    assert abs(pred.mean() - y.mean()) < 0.2 * y.std()
    assert reg.score(X, y) > 0.5


@pytest.mark.parametrize("unit", [1e-15, 1e-30, 1e-170, 1e15, 1e200])
def test_a_target_in_tiny_or_huge_units_is_learned_as_in_ones(unit):
    """The constant-target test is relative to the target's mean: y in femtoseconds is
    not constant (it was, below an absolute 2.2e-15, and every prediction was the mean);
    nor is one whose squares underflow (1e-170) or overflow (1e200)."""
    X, y = sequence_task(n=64)
    reg = LSTMRegressor(**FAST).fit(X, y)
    scaled = LSTMRegressor(**FAST).fit(X, y * unit)
    np.testing.assert_allclose(scaled.y_scale_, reg.y_scale_ * unit, rtol=1e-9)
    np.testing.assert_allclose(scaled.predict(X), reg.predict(X) * unit, rtol=1e-5)
    constant = LSTMRegressor(**FAST).fit(X, np.full(64, 3e-20))
    assert constant.y_scale_[0] == 0 and np.all(constant.predict(X) == 3e-20)


def test_a_float32_model_refuses_float64_x_beyond_float32_at_predict():
    X, y = sequence_task(n=40, dtype=np.float32)
    reg = LSTMRegressor(**FAST).fit(X, y)
    with pytest.raises(ValueError, match=r"beyond float32's range \(largest \|value\| \d.*e\+39"):
        reg.predict(X.astype(np.float64) * 1e39)
    assert np.isfinite(reg.predict(X.astype(np.float64) * 1e30)).all()  # within range


def test_same_seed_same_predictions_and_global_rng_untouched():
    X, y = sequence_task(n=64)
    params = dict(hidden_size=8, max_iter=4, dropout=0.3, num_layers=2, batch_size=16)
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    a = LSTMRegressor(random_state=7, **params).fit(X, y).predict(X)
    # The global torch RNG is where it was before fitting.
    assert torch.equal(torch.rand(3), expected_next)
    b = LSTMRegressor(random_state=7, **params).fit(X, y).predict(X)
    c = LSTMRegressor(random_state=8, **params).fit(X, y).predict(X)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_same_seed_same_predictions_across_processes(tmp_path):
    X, y = sequence_task(n=48)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    script = textwrap.dedent(
        f"""
        import numpy as np, torch
        torch.set_num_threads(1)
        from sklstm import LSTMRegressor
        X = np.load({str(tmp_path / "X.npy")!r}); y = np.load({str(tmp_path / "y.npy")!r})
        reg = LSTMRegressor(hidden_size=8, max_iter=3, dropout=0.2, num_layers=2,
                            batch_size=16, random_state=3, device="cpu").fit(X, y)
        np.save({str(tmp_path / "pred.npy")!r}, reg.predict(X))
        """
    )
    subprocess.run(
        [sys.executable, "-c", script], check=True, env={**os.environ, "OMP_NUM_THREADS": "1"}
    )
    here = LSTMRegressor(
        hidden_size=8,
        max_iter=3,
        dropout=0.2,
        num_layers=2,
        batch_size=16,
        random_state=3,
        device="cpu",
    ).fit(X, y)
    np.testing.assert_array_equal(np.load(tmp_path / "pred.npy"), here.predict(X))


def test_fit_restarts_unless_warm_start_and_partial_fit_continues():
    X, y = sequence_task(n=64)
    reg = LSTMRegressor(**FAST).fit(X, y)
    first = reg.predict(X)
    assert reg.n_iter_ == 5
    reg.fit(X, y)  # cold start: same seed, same result
    assert reg.n_iter_ == 5
    np.testing.assert_array_equal(reg.predict(X), first)
    reg.partial_fit(X, y)
    assert reg.n_iter_ == 6
    assert not np.array_equal(reg.predict(X), first)
    warm = LSTMRegressor(warm_start=True, **FAST).fit(X, y)
    warm.fit(X, y)
    assert warm.n_iter_ == 10
    # partial_fit from scratch is one epoch at a time.
    inc = LSTMRegressor(**FAST)
    for _ in range(3):
        inc.partial_fit(X, y)
    assert inc.n_iter_ == 3
    # ... and reproducible.
    inc2 = LSTMRegressor(**FAST)
    for _ in range(3):
        inc2.partial_fit(X, y)
    np.testing.assert_array_equal(inc.predict(X), inc2.predict(X))


def test_a_warm_fit_takes_the_current_training_parameters_as_mlp_does():
    """fit, lower the learning rate, fit again: the second fit trains at the new rate."""
    X, y = sequence_task(n=60)
    reg = LSTMRegressor(warm_start=True, **FAST).fit(X, y)
    before = [p.detach().clone() for p in reg.net_.module_.parameters()]
    reg.set_params(
        learning_rate_init=1e-9, weight_decay=0.1, batch_size=7, n_iter_no_change=3, tol=0.5
    )
    reg.fit(X, y)
    after = [p.detach() for p in reg.net_.module_.parameters()]
    moved = max(float((a - b).abs().max()) for a, b in zip(before, after, strict=True))
    steps = 5 * -(-48 // 7)  # at most 5 epochs of ceil(48 / 7) batches (12 held out)
    assert moved <= 1.5 * steps * 1e-9  # Adam moves a weight by about lr per step
    group = reg.net_.optimizer_.param_groups[0]
    assert (group["lr"], group["weight_decay"], reg.net_.batch_size) == (1e-9, 0.1, 7)
    stopping = dict(reg.net_.callbacks_)["stopping"]
    assert (stopping.patience, stopping.threshold) == (3, 0.5)
    # partial_fit keeps its optimiser (as MLPRegressor's); an architecture is not continued
    reg.set_params(hidden_size=16)
    with pytest.raises(ValueError, match="hidden_size=16 .the network has 8.*warm_start=False"):
        reg.fit(X, y)
    assert reg.set_params(warm_start=False).fit(X, y).net_.module__hidden_size == 16


def test_partial_fit_checks_consistency():
    X, y = sequence_task(n=32)
    reg = LSTMRegressor(**FAST).partial_fit(X, y)
    with pytest.raises(ValueError, match="channel"):
        reg.partial_fit(X[:, :, :1], y)
    with pytest.raises(ValueError, match="output"):
        reg.partial_fit(X, np.column_stack([y, y]))


class _RecordValidation(Callback):
    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        self.train_X_ = np.asarray(
            dataset_train.X.cpu() if torch.is_tensor(dataset_train.X) else dataset_train.X
        )
        self.valid_X_ = np.asarray(
            dataset_valid.X.cpu() if torch.is_tensor(dataset_valid.X) else dataset_valid.X
        )


def test_early_stopping_validates_on_the_chronological_tail():
    X, y = sequence_task(n=50)
    reg = LSTMRegressor(
        early_stopping=True, validation_fraction=0.2, callbacks=[_RecordValidation()], **FAST
    ).fit(X, y)
    rec = dict(reg.net_.callbacks_)["_RecordValidation"]
    np.testing.assert_array_equal(rec.valid_X_, X[-10:])
    np.testing.assert_array_equal(rec.train_X_, X[:-10])
    assert len(reg.validation_loss_curve_) == reg.n_iter_


def test_early_stopping_stops_and_restores_the_best_weights():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(120, 6, 1))
    y = rng.normal(size=120)  # pure noise: validation loss soon stops improving
    reg = LSTMRegressor(
        hidden_size=16,
        max_iter=200,
        early_stopping=True,
        n_iter_no_change=3,
        learning_rate_init=0.05,
        random_state=0,
    ).fit(X, y)
    assert reg.n_iter_ < 200
    tail = slice(120 - 12, 120)
    pred = reg.predict(X[tail])
    tail_loss = np.mean(
        ((pred - reg.y_mean_) / reg.y_scale_ - (y[tail] - reg.y_mean_) / reg.y_scale_) ** 2
    )
    assert tail_loss == pytest.approx(min(reg.validation_loss_curve_), rel=1e-6)


def test_early_stopping_needs_two_samples():
    with pytest.raises(ValueError, match="at least 2 samples"):
        LSTMRegressor(early_stopping=True, **FAST).fit(np.ones((1, 3, 1)), [1.0])


def test_verbose_zero_is_silent_and_verbose_one_shows_progress(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    X, y = sequence_task(n=32)
    LSTMRegressor(early_stopping=True, **FAST).fit(X, y)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert list(tmp_path.iterdir()) == []  # no log files or folders
    LSTMRegressor(verbose=1, early_stopping=True, **FAST).fit(X, y)
    err = capsys.readouterr().err
    assert "epochs" in err and "train_loss" in err and "valid_loss" in err and "5/5" in err


def test_user_callbacks_are_used():
    X, y = sequence_task(n=32)
    sched = LRScheduler(policy="StepLR", step_size=1, gamma=0.5)
    reg = LSTMRegressor(callbacks=[sched], **FAST).fit(X, y)
    lr = reg.net_.optimizer_.param_groups[0]["lr"]
    assert lr == pytest.approx(0.01 * 0.5**5)
    # The callback given as a parameter is not the one the net trained with.
    assert not hasattr(sched, "lr_scheduler_")


@pytest.mark.parametrize("dumper", ["pickle", "joblib"])
def test_pickle_round_trip_gives_identical_predictions(dumper):
    X, y = sequence_task(n=32)
    reg = LSTMRegressor(**FAST).fit(X, y)
    if dumper == "pickle":
        loaded = pickle.loads(pickle.dumps(reg))
    else:
        buf = io.BytesIO()
        joblib.dump(reg, buf)
        buf.seek(0)
        loaded = joblib.load(buf)
    np.testing.assert_array_equal(loaded.predict(X), reg.predict(X))
    # ... and it can keep training.
    loaded.partial_fit(X, y)
    assert loaded.n_iter_ == reg.n_iter_ + 1


def test_loading_under_another_version_warns(monkeypatch):
    X, y = sequence_task(n=16)
    blob = pickle.dumps(LSTMRegressor(**FAST).fit(X, y))
    monkeypatch.setattr(sklstm._version, "__version__", "999.0")
    with pytest.warns(UserWarning, match="pickled with sklstm .* loaded with sklstm 999.0"):
        pickle.loads(blob)


def test_device_resolution():
    reg = LSTMRegressor(**FAST).fit(*sequence_task(n=16))
    assert reg.device == "auto"  # never written back
    assert reg.device_ == ("cuda" if torch.cuda.is_available() else "cpu")
    assert LSTMRegressor(device="cpu", **FAST).fit(*sequence_task(n=16)).device_ == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised without CUDA")
def test_cuda_without_cuda_is_a_clear_error():
    with pytest.raises(ValueError, match="CUDA is not available"):
        LSTMRegressor(device="cuda", **FAST).fit(*sequence_task(n=16))


def test_unknown_device_is_rejected():
    with pytest.raises(ValueError, match="'device' parameter"):
        LSTMRegressor(device="tpu9", **FAST).fit(*sequence_task(n=16))


@pytest.mark.parametrize(
    "params, match",
    [
        ({"hidden_size": 0}, "hidden_size"),
        ({"dropout": 1.5}, "dropout"),
        ({"peephole": "diag"}, "peephole"),
        ({"batch_size": 0}, "batch_size"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
    ],
)
def test_invalid_parameters_are_caught_at_fit(params, match):
    reg = LSTMRegressor(**params)  # __init__ only stores
    with pytest.raises(ValueError, match=match):
        reg.fit(*sequence_task(n=16))


def test_predict_checks_channels_and_dimensions():
    X, y = sequence_task(n=16)
    reg = LSTMRegressor(**FAST).fit(X, y)
    with pytest.raises(ValueError, match="3 channel"):
        reg.predict(np.concatenate([X, X[:, :, :1]], axis=2))
    with pytest.raises(ValueError, match="features"):
        reg.predict(X[:, :5])
    with pytest.raises(ValueError, match="3-D"):
        LSTMRegressor(**FAST).fit(X[:, :, :, None], y)


def test_clone_and_grid_search():
    X, y = sequence_task(n=60)
    reg = LSTMRegressor(**FAST).fit(X, y)
    fresh = clone(reg)
    assert not hasattr(fresh, "net_")
    search = GridSearchCV(
        LSTMRegressor(max_iter=3, random_state=0),
        {"hidden_size": [4, 8], "peephole": ["diagonal", "none"]},
        cv=TimeSeriesSplit(n_splits=2),
    ).fit(X, y)
    assert search.best_estimator_.n_iter_ == 3
    assert search.predict(X).shape == (60,)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_fitted_model_predicts_on_a_machine_without_cuda(tmp_path):
    X, y = sequence_task(n=32)
    reg = LSTMRegressor(device="cuda", **FAST).fit(X, y)
    assert reg.device_ == "cuda" and next(reg.module_.parameters()).is_cuda
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(reg))
    np.save(tmp_path / "X.npy", X)
    script = textwrap.dedent(
        f"""
        import pickle, warnings, pathlib, numpy as np, torch
        import sklstm, skorch  # imported first: their imports' own warnings are not ours
        assert not torch.cuda.is_available()
        warnings.simplefilter("error")  # loading and predicting must not warn
        reg = pickle.loads(pathlib.Path({str(path)!r}).read_bytes())
        assert reg.device_ == "cpu"
        np.save({str(tmp_path / "pred.npy")!r}, reg.predict(np.load({str(tmp_path / "X.npy")!r})))
        """
    )
    subprocess.run(
        [sys.executable, "-c", script], check=True, env={**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    )
    np.testing.assert_allclose(
        np.load(tmp_path / "pred.npy"), reg.predict(X), rtol=1e-5, atol=1e-6
    )


class _InterruptAt(Callback):
    """Raises KeyboardInterrupt (as Ctrl-C would) in batch ``batch`` of epoch ``epoch``."""

    def __init__(self, epoch, batch):
        self.epoch, self.batch, self.fired = epoch, batch, False

    def on_batch_end(self, net, training=None, **kwargs):
        row = net.history[-1]
        if training and not self.fired and len(net.history) == self.epoch:
            if len(row["batches"]) == self.batch:
                self.fired = True
                raise KeyboardInterrupt


class _ExplodeLearningRateAt(Callback):
    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_begin(self, net, **kwargs):
        if len(net.history) == self.epoch:
            for group in net.optimizer_.param_groups:
                group["lr"] = 1e30


def test_keyboard_interrupt_keeps_the_last_completed_epoch():
    X, y = sequence_task(n=64, dtype=np.float32)
    params = dict(hidden_size=8, batch_size=16, random_state=0)
    match = "interrupted during epoch 3; the model keeps the weights of epoch 2"
    with pytest.warns(UserWarning, match=match):
        reg = LSTMRegressor(max_iter=5, callbacks=[_InterruptAt(3, 2)], **params).fit(X, y)
    assert reg.n_iter_ == 2 and len(reg.loss_curve_) == 2
    two_epochs = LSTMRegressor(max_iter=2, **params).fit(X, y)
    np.testing.assert_array_equal(reg.predict(X), two_epochs.predict(X))
    reg.partial_fit(X, y)  # and it can go on
    assert reg.n_iter_ == 3


def test_divergence_restores_the_last_finite_weights_and_warns():
    X, y = sequence_task(n=64, dtype=np.float32)
    with pytest.warns(RuntimeWarning, match="diverged in epoch 3 .* keeps the weights of epoch 2"):
        reg = LSTMRegressor(
            hidden_size=8,
            max_iter=10,
            batch_size=16,
            random_state=0,
            callbacks=[_ExplodeLearningRateAt(3)],
        ).fit(X, y)
    assert reg.n_iter_ <= 3
    assert all(torch.isfinite(p).all() for p in reg.module_.parameters())
    assert np.isfinite(reg.predict(X)).all()


def test_divergence_in_the_first_epoch_raises():
    X, y = sequence_task(n=64, dtype=np.float32)
    reg = LSTMRegressor(learning_rate_init=1e30, batch_size=8, **FAST)
    with pytest.raises(FloatingPointError, match="diverged in its first epoch"):
        reg.fit(X, y)
    assert not hasattr(reg, "net_")


class _CountTrainingBatches(Callback):
    seen = []  # class-level: the estimator trains on a deep copy of its callbacks

    def on_batch_end(self, net, training=None, **kwargs):
        if training:
            self.seen.append(len(net.history))


def test_divergence_stops_at_the_first_non_finite_batch_loss():
    # 8 batches an epoch; after the first step at lr 1e30 the loss is no longer finite,
    # and the guard ends the epoch there instead of running the remaining batches (the
    # guard runs before this callback, so the batch it stops at is not counted).
    X, y = sequence_task(n=64, dtype=np.float32)
    _CountTrainingBatches.seen.clear()
    reg = LSTMRegressor(
        learning_rate_init=1e30, batch_size=8, callbacks=[_CountTrainingBatches()], **FAST
    )
    with pytest.raises(FloatingPointError, match="diverged in its first epoch"):
        reg.fit(X, y)
    assert 1 <= len(_CountTrainingBatches.seen) < 8


def test_save_and_load_weights_without_pickle(tmp_path):
    X, y = sequence_task(n=32)
    reg = LSTMRegressor(num_layers=2, **FAST).fit(X, np.column_stack([y, -y]))
    path = tmp_path / "model.pt"
    reg.save_weights(path)
    # The file is plain data: torch's weights-only loader reads it.
    blob = torch.load(path, weights_only=True)
    assert blob["format"] == "sklstm-weights-1" and "weight_ch_l1" in "".join(blob["state_dict"])
    loaded = LSTMRegressor.load_weights(path, device="cpu")
    assert loaded.get_params() == {**reg.get_params(), "device": str(reg.device)}
    np.testing.assert_array_equal(loaded.predict(X), reg.predict(X))
    assert loaded.n_iter_ == reg.n_iter_ and loaded.loss_curve_ == reg.loss_curve_
    loaded.partial_fit(X, np.column_stack([y, -y]))  # a fresh optimizer, same weights
    assert loaded.n_iter_ == reg.n_iter_ + 1


def test_load_weights_rejects_other_files(tmp_path):
    torch.save({"a": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a file written by save_weights"):
        LSTMRegressor.load_weights(tmp_path / "other.pt")
    with pytest.raises(sklstm_not_fitted()):
        LSTMRegressor().save_weights(tmp_path / "unfitted.pt")


def sklstm_not_fitted():
    from sklearn.exceptions import NotFittedError

    return NotFittedError


class _DataSpy(Callback):
    """Records the datasets skorch trains on (kept as is: a deep copy would copy the arrays)."""

    def __init__(self):
        self.datasets = []

    def __deepcopy__(self, memo):
        return self

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        self.datasets.append((dataset_train, dataset_valid))


@pytest.mark.parametrize("layout", ["view", "contiguous", "early_stopping", "warm_float64"])
def test_training_reads_the_callers_arrays_without_copying_them(layout):
    """The windows reach the training loop as the caller's numpy array, batch-gathered."""
    series = np.random.RandomState(0).normal(size=400).astype(np.float32)
    windows, targets = sklstm.make_windows(series, lookback=16)
    expected_dtype = torch.float32
    spy = _DataSpy()
    reg = LSTMRegressor(hidden_size=2, max_iter=1, batch_size=64, random_state=0, callbacks=[spy])
    if layout == "contiguous":
        windows = np.ascontiguousarray(windows)
    if layout == "early_stopping":
        reg.set_params(early_stopping=True)
    if layout == "warm_float64":
        # A float64 model continued on float32 windows: cast batch by batch, not up front.
        reg.set_params(warm_start=True).fit(windows.astype(np.float64), targets)
        expected_dtype = torch.float64
    reg.fit(windows, targets)
    (train, valid) = spy.datasets[-1]
    parts = [train] if valid is None else [train, valid]
    assert (valid is not None) == (layout == "early_stopping")
    assert sum(len(part) for part in parts) == len(windows)
    for part in parts:
        assert isinstance(part.X, np.ndarray), type(part.X)
        assert np.shares_memory(part.X, windows), "the windows were copied"
        Xb, yb = part.batch(torch.arange(3))
        assert Xb.dtype == yb.dtype == expected_dtype
        np.testing.assert_array_equal(Xb.numpy(), part.X[:3])
    if layout == "view":
        assert np.shares_memory(train.X, series)
    assert reg.n_iter_ == (2 if layout == "warm_float64" else 1)


def test_only_small_contiguous_arrays_are_copied_to_a_gpu(monkeypatch):
    from sklstm import _training

    series = np.zeros(300, dtype=np.float32)
    view = sklstm.make_windows(series, lookback=16)[0]
    dense = np.ascontiguousarray(view)
    assert not _training._copy_to_device(view, "cuda")  # overlapping rows: would multiply
    assert _training._copy_to_device(dense, "cuda")
    assert not _training._copy_to_device(dense, "cpu")  # the CPU reads the array itself
    assert not _training._copy_to_device(dense, None)
    monkeypatch.setattr(_training, "_MATERIALISE_BYTES", dense.nbytes - 1)
    assert not _training._copy_to_device(dense, "cuda")
    dataset = _training.SequenceDataset(dense, device="cpu", dtype=np.float64)
    assert dataset.X is dense
    assert dataset.batch(torch.tensor([2, 0]))[0].dtype == torch.float64


@pytest.mark.slow
def test_peak_memory_of_a_fit_on_windows_is_a_fraction_of_the_windows():
    """Peak RSS, in a fresh process: a copy of the windows (or of a contiguous array) fails.

    64 channels x 2,343 steps (0.6 MB) become 137 MB of windows (lookback 256), as a view
    and as a contiguous array; fitting each may add at most a tenth of that (the batches
    of 16 windows, each 1 MB, and the network's per-batch state).
    """
    from tests._memory import peak_rss_growth

    setup = """
        import numpy as np
        from sklstm import LSTMRegressor, make_windows

        series = np.random.RandomState(0).normal(size=(150_000 // 64, 64)).astype(np.float32)
        view, targets = make_windows(series[:, 0], series[:, 1:], lookback=256)
        dense = np.ascontiguousarray(view)
        params = dict(hidden_size=2, max_iter=1, batch_size=16, random_state=0)
        LSTMRegressor(**params).fit(view[:20], targets[:20])  # lazy imports: not measured
        report["windows_nbytes"] = view.size * view.itemsize
        report["series_nbytes"] = series.nbytes
    """
    run = """
        LSTMRegressor(**params).fit(view, targets)
        LSTMRegressor(**params).fit(dense, targets)
    """
    usage = peak_rss_growth(setup, run)
    windows = usage["report"]["windows_nbytes"]
    assert windows > 200 * usage["report"]["series_nbytes"]  # the view really is large
    assert usage["growth"] <= 0.1 * windows, (
        f"peak RSS grew by {usage['growth'] / 1e6:.1f} MB during the fits, "
        f"{usage['growth'] / windows:.2f} x the {windows / 1e6:.0f} MB of windows"
    )


def test_verbose_2_prints_the_epoch_table_and_0_prints_nothing(capsys):
    X, y = sequence_task(n=32)
    LSTMRegressor(verbose=2, **FAST).fit(X, y)
    out = capsys.readouterr()
    assert "train_loss" in out.out and len([ln for ln in out.out.splitlines() if ln]) >= 2 + 5
    LSTMRegressor(verbose=0, **FAST).fit(X, y)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


def test_string_targets_convert_like_sklearn_or_are_refused_naming_y():
    # Before: numpy's "ufunc ... did not contain a loop with signature" from np.average.
    X, y = sequence_task(n=32)
    as_text = y.astype(str)  # e.g. read from a CSV as text
    a = LSTMRegressor(**FAST).fit(X, as_text).predict(X)
    b = LSTMRegressor(**FAST).fit(X, y).predict(X)
    np.testing.assert_allclose(a, b)
    with pytest.raises(ValueError, match="y must be numeric.*dtype <U1.*pd.to_numeric"):
        LSTMRegressor(**FAST).fit(X, np.array(["a"] * len(y)))


def test_targets_too_large_to_standardise_are_refused_with_the_fix():
    X, y = sequence_task(n=32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow RuntimeWarning on the way
        huge = (y - y.min() + 1) / (y.max() - y.min() + 1) * 1.5e308  # the mean overflows
        with pytest.raises(ValueError, match="too large to standardise.*Divide y by a constant"):
            LSTMRegressor(**FAST).fit(X, huge)
    for unit in (1e150, 1e300):  # large but representable (the squares overflow): fine
        reg = LSTMRegressor(**FAST).fit(X, y * unit)
        assert np.isfinite(reg.predict(X)).all()
