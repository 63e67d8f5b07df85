"""The base every sklstm estimator trains through.

It owns the hyper-parameters the estimators share, their constraints, device /
dtype / seed resolution, the one training entry point (a wrapped
``skorch.NeuralNetRegressor``) and pickling that moves between GPU and CPU.
"""

from __future__ import annotations

import copy
import pickle
import threading
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, InvalidParameterError, StrOptions
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNetRegressor
from skorch.callbacks import Callback, EarlyStopping
from skorch.exceptions import DeviceWarning
from skorch.history import History

from sklstm import _version
from sklstm._checks import reject_int_bools
from sklstm._plotting import plot_curves
from sklstm._training import (
    BatchLoader,
    EpochProgressBar,
    SequenceDataset,
    SequenceToVector,
    TrainingGuard,
    WeightedMSELoss,
)
from sklstm.nn import PEEPHOLE_MODES

_INT32_MAX = np.iinfo(np.int32).max

# Seeded training forks and reseeds torch's *global* RNG, which threads share:
# two fits running at once in threads (dask's default scheduler, joblib's
# threading backend) would draw from each other's seeds. Seeded training is
# therefore serialised across threads (processes are unaffected).
_SEEDED_TRAINING = threading.RLock()


def resolve_device(device) -> str:
    """``"auto"`` -> ``"cuda"`` when CUDA is available, else ``"cpu"``; others are checked.

    ``"cuda"`` means torch's *current* CUDA device only: an estimator never spreads over,
    or silently takes, every visible GPU (one GPU per worker: ``CUDA_VISIBLE_DEVICES``).
    """
    if isinstance(device, str) and device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise InvalidParameterError(
            f"The 'device' parameter must be 'auto' or a torch device such as 'cpu', "
            f"'cuda' or 'cuda:1'; got {device!r}."
        ) from exc
    if parsed.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} was requested but CUDA is not available on this machine; "
                "use device='cpu', or device='auto' to use a GPU only when there is one."
            )
        if parsed.index is not None and parsed.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r} was requested but this machine has "
                f"{torch.cuda.device_count()} CUDA device(s)."
            )
    elif parsed.type == "meta":
        raise ValueError(
            f"device={device!r} holds no data (tensors on the meta device have shapes "
            "only), so nothing can be trained on it; use 'cpu', 'cuda' or 'auto'."
        )
    elif parsed.type == "mps" and not (
        hasattr(torch.backends, "mps") and torch.backends.mps.is_available()
    ):
        raise ValueError(f"device={device!r} was requested but MPS is not available.")
    return str(parsed)


class TrainValid:
    """A training set and its (optional) validation set, handed to skorch as one ``X``."""

    __slots__ = ("train", "valid")

    def __init__(self, train, valid=None):
        self.train, self.valid = train, valid


class SklstmNet(NeuralNetRegressor):
    """skorch's regressor net, fed an explicit validation set (:class:`TrainValid`)."""

    def get_split_datasets(self, X, y=None, **fit_params):
        if isinstance(X, TrainValid):
            return X.train, X.valid
        return super().get_split_datasets(X, y, **fit_params)


def _plain(value):
    """``value`` with numpy arrays and scalars turned into Python lists and numbers."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.ndarray, np.generic)):
        return value.tolist()
    return value


def _is_callback(item) -> bool:
    """What skorch's ``callbacks`` takes: a Callback instance or class, or (name, one of
    those or None) as a tuple or list."""

    def one(cb):
        return isinstance(cb, Callback) or (isinstance(cb, type) and issubclass(cb, Callback))

    if isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], str):
        return item[1] is None or one(item[1])
    return one(item)


class BaseLSTM(BaseEstimator):
    """Shared parameters, training and persistence of the sklstm estimators."""

    _parameter_constraints: dict = {
        "hidden_size": [Interval(Integral, 1, None, closed="left")],
        "num_layers": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "peephole": [StrOptions(set(PEEPHOLE_MODES))],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), None],
        "tol": [Interval(Real, 0, None, closed="left")],
        "warm_start": ["boolean"],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "callbacks": [list, None],
    }

    def _validate_params(self):
        super()._validate_params()
        reject_int_bools(
            type(self).__name__, self.get_params(deep=False), self._parameter_constraints
        )
        for callback in self.callbacks or []:
            if not _is_callback(callback):
                raise InvalidParameterError(
                    f"The 'callbacks' parameter of {type(self).__name__} must be a list of "
                    "skorch callbacks: instances or subclasses of skorch.callbacks.Callback, "
                    f"or (name, callback) pairs (callback None turns one off); got "
                    f"{callback!r}. For example callbacks=[skorch.callbacks.LRScheduler(...)]."
                )

    # ---- resolution helpers -------------------------------------------------

    def _batch_size_for(self, n_train: int) -> int:
        if self.batch_size == "auto":
            return max(1, min(200, n_train))
        return int(self.batch_size)

    def _new_seed(self) -> int:
        return int(check_random_state(self.random_state).randint(_INT32_MAX))

    # ---- the training entry point -------------------------------------------

    def _build_net(
        self,
        *,
        n_train: int,
        module=SequenceToVector,
        criterion=WeightedMSELoss,
        criterion_params=None,
        stopping=None,
        **module_kwargs,
    ):
        """A fresh, uninitialised skorch net for ``module`` (default: one LSTM + head).

        ``module_kwargs`` are the module's data dimensions (``n_channels``,
        ``n_outputs``, ...); the architecture parameters and ``dtype`` are added here.
        ``stopping`` is the early-stopping callback (default: skorch's
        ``EarlyStopping``, pointed at the validation or training loss per call by
        :meth:`_fit_dataset`).
        """
        batch_size = self._batch_size_for(n_train)
        if stopping is None:
            patience = self.n_iter_no_change
            stopping = EarlyStopping(
                monitor="valid_loss" if self.early_stopping else "train_loss",
                # n_iter_no_change=None: never stop early (the best validation
                # weights are still restored at the end with a validation set).
                patience=patience if patience is not None else self.max_iter + 1,
                threshold=self.tol,
                threshold_mode="abs",
                load_best=bool(self.early_stopping),
            )
        callbacks = [("guard", TrainingGuard()), ("stopping", stopping)]
        if self.verbose:
            callbacks.append(("progress", EpochProgressBar(total=self.max_iter)))
        # Copies: skorch keeps state on its callbacks, and parameters are not fitted state.
        callbacks.extend(copy.deepcopy(getattr(self, "callbacks", None) or []))
        dtype = module_kwargs.pop("dtype")
        module_params = {
            "hidden_size": self.hidden_size,
            "num_layers": self.num_layers,
            "dropout": self.dropout,
            "peephole": self.peephole,
            "dtype": torch.float64 if np.dtype(dtype) == np.float64 else torch.float32,
            **module_kwargs,
        }
        return SklstmNet(
            module=module,
            **{f"module__{k}": v for k, v in module_params.items()},
            criterion=criterion,
            **{f"criterion__{k}": v for k, v in (criterion_params or {}).items()},
            optimizer=torch.optim.Adam,
            lr=self.learning_rate_init,
            optimizer__weight_decay=self.weight_decay,
            max_epochs=self.max_iter,
            batch_size=batch_size,
            iterator_train=BatchLoader,
            iterator_train__shuffle=True,
            iterator_train__generator=torch.Generator(),
            iterator_valid=BatchLoader,
            iterator_valid__batch_size=max(batch_size, 1024),
            train_split=None,  # the validation set is given explicitly: _fit_dataset
            callbacks=callbacks,
            # skorch's per-epoch table is printed only at verbose >= 2; below that it
            # would still be formatted every epoch (a few % of a small fit): left out.
            **({} if self.verbose >= 2 else {"callbacks__print_log": None}),
            device=self.device_,
            verbose=int(self.verbose >= 2),
        )

    def _take_training_params(self, n_train: int) -> None:
        """Before a warm ``fit``: the current training parameters into the built net.

        As ``MLPRegressor``'s warm ``fit``: a fresh Adam at ``learning_rate_init`` and
        ``weight_decay``, and the current ``batch_size``, ``n_iter_no_change`` and
        ``tol`` (``partial_fit`` keeps its optimiser, as MLP's). A changed architecture
        cannot be continued: ValueError.
        """
        net = self.net_
        changed = [
            f"{name}={getattr(self, name)!r} (the network has {built!r})"
            for name in ("hidden_size", "num_layers", "dropout", "peephole")
            if (built := getattr(net, f"module__{name}")) != getattr(self, name)
        ]
        if changed:
            raise ValueError(
                f"{type(self).__name__}(warm_start=True) continues the network it has, but "
                f"{', '.join(changed)}: set warm_start=False to train a new network with "
                "the new architecture."
            )
        batch_size = self._batch_size_for(n_train)
        net.batch_size, net.iterator_valid__batch_size = batch_size, max(batch_size, 1024)
        net.lr, net.optimizer__weight_decay = self.learning_rate_init, self.weight_decay
        net.max_epochs = self.max_iter
        net.initialize_optimizer()
        stopping = dict(net.callbacks_)["stopping"]
        if isinstance(stopping, EarlyStopping):
            patience = self.n_iter_no_change
            stopping.patience = patience if patience is not None else self.max_iter + 1
            stopping.threshold = self.tol

    def _fit_dataset(self, train, valid=None, *, epochs: int, warm: bool) -> None:
        """The one training entry: train ``self.net_`` on ``train``, validating on ``valid``.

        ``train`` and ``valid`` are datasets with the :class:`SequenceDataset`
        interface (``__len__``, ``subset``, ``batch``); ``valid=None`` trains
        without a validation set (early stopping then watches the training loss).
        ``warm=False`` starts from freshly initialised weights and an empty history;
        ``warm=True`` continues the current ones. Targets are already in the
        network's units: standardising them is the caller's single job.

        The seed of each call is derived from the fit's seed and the number of
        epochs already run, so fit, partial_fit and warm starts are all
        reproducible, and the global torch RNG is left as it was.
        """
        net = self.net_
        if not warm and net.initialized_:
            net = self.net_ = self._new_net()
        seed = (self._seed + len(net.history)) % _INT32_MAX if net.initialized_ else self._seed
        device = torch.device(self.device_)
        cuda_devices = []
        if device.type == "cuda":
            cuda_devices = [
                device.index if device.index is not None else torch.cuda.current_device()
            ]
        with _SEEDED_TRAINING, torch.random.fork_rng(devices=cuda_devices):
            torch.random.default_generator.manual_seed(seed)
            for index in cuda_devices:
                with torch.cuda.device(index):
                    torch.cuda.manual_seed(seed)
            net.iterator_train__generator.manual_seed(seed)
            if not net.initialized_:
                net.initialize()
            stopping = dict(net.callbacks_)["stopping"]
            if isinstance(stopping, EarlyStopping):
                # Watch the validation loss exactly when this call has a validation set.
                stopping.monitor = "train_loss" if valid is None else "valid_loss"
                stopping.load_best = valid is not None
            epochs_before = len(net.history)
            try:
                net.partial_fit(TrainValid(train, valid), epochs=epochs)
            except torch.OutOfMemoryError as exc:
                raise torch.OutOfMemoryError(
                    f"{type(self).__name__} ran out of memory on {self.device_} while training "
                    f"with batch_size={net.batch_size}: use a smaller batch_size (or "
                    f"hidden_size / sequence length), or device='cpu'. ({exc})"
                ) from exc
        self._report_training_event(dict(net.callbacks_)["guard"], epochs_before)

    def _report_training_event(self, guard: TrainingGuard, epochs_before: int) -> None:
        """Warn (or raise) about a divergence or an interruption the guard handled."""
        if guard.event_ is None:
            return
        kept = epochs_before + guard.epochs_completed_
        if guard.event_ == "diverged":
            if kept == 0:
                del self.net_  # never leave a fitted-looking model with NaN weights
                raise FloatingPointError(
                    f"{type(self).__name__} diverged in its first epoch (the loss became "
                    "NaN or infinite) and has no finite weights to keep. Lower "
                    "learning_rate_init, scale X, or check X and y for huge values."
                )
            warnings.warn(
                f"Training diverged in epoch {kept + 1} (the loss became NaN or infinite) and "
                f"was stopped; the model keeps the weights of epoch {kept}. Lower "
                "learning_rate_init or scale X to train further.",
                RuntimeWarning,
                stacklevel=4,
            )
        else:
            state = f"the weights of epoch {kept}" if kept else "its initial (untrained) weights"
            warnings.warn(
                f"Training was interrupted during epoch {kept + 1}; the model keeps {state} "
                "and can predict, or continue with partial_fit or warm_start=True.",
                UserWarning,
                stacklevel=4,
            )

    def _forward(self, X: np.ndarray) -> np.ndarray:
        """The network's output on 3-D ``X`` (already validated), as a numpy array."""
        # Cast batch by batch: windows of another dtype are never materialised.
        return self.net_.predict(SequenceDataset(X, device=self.device_, dtype=self.dtype_))

    # ---- fitted-state views -------------------------------------------------

    @property
    def history_(self):
        """skorch ``History`` of the training: one row per epoch (losses, durations)."""
        return self._fitted_net().history

    @property
    def loss_curve_(self) -> list[float]:
        """Training loss per epoch (mean squared error on the standardised targets)."""
        return list(self._fitted_net().history[:, "train_loss"])

    @property
    def validation_loss_curve_(self) -> list[float] | None:
        """Validation loss per epoch, read from the history; None if no epoch had one."""
        rows = self._fitted_net().history
        if not len(rows) or not any("valid_loss" in row for row in rows):
            return None
        # Epochs trained without a validation set (a warm start) have no value: NaN.
        return [float(row.get("valid_loss", np.nan)) for row in rows]

    @property
    def n_iter_(self) -> int:
        """Number of epochs run over all calls to fit / partial_fit since the last cold start."""
        return len(self._fitted_net().history)

    @property
    def module_(self) -> torch.nn.Module:
        """The trained torch module."""
        return self._fitted_net().module_

    def _fitted_net(self):
        """``net_``; NotFittedError (an AttributeError too: ``hasattr`` is False) before fit."""
        if "net_" not in self.__dict__:  # the ensemble has no fit: not check_is_fitted
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this attribute."
            )
        return self.net_

    def plot_history(self, ax=None):
        """Plot the training (and validation) loss per epoch, on a log scale.

        Needs matplotlib.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; a new figure is created when None.

        Returns
        -------
        ax : matplotlib Axes

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import numpy as np
        >>> from sklstm import LSTMRegressor
        >>> X = np.random.RandomState(0).normal(size=(32, 5, 1))
        >>> reg = LSTMRegressor(hidden_size=4, max_iter=5, early_stopping=True,
        ...                     random_state=0).fit(X, X[:, -1, 0])
        >>> ax = reg.plot_history()
        >>> [line.get_label() for line in ax.get_lines()]
        ['training loss', 'validation loss']
        """
        check_is_fitted(self, "net_")
        curves = [("", self.loss_curve_, self.validation_loss_curve_)]
        return plot_curves(curves, title=f"{type(self).__name__}: loss per epoch", ax=ax)

    # ---- persistence --------------------------------------------------------

    #: Fitted attributes (besides the weights) that save_weights stores.
    _saved_attributes = ("n_features_in_", "feature_names_in_", "_seed", "dtype_")

    def save_weights(self, path) -> None:
        """Save the fitted model as weights and plain data only (no pickled code).

        The file holds the parameters, the fitted statistics, the training
        history and the network's weights (on the CPU), written with
        :func:`torch.save`. :meth:`load_weights` reads it back with
        ``torch.load(weights_only=True)``, which never runs code from the file:
        the safe way to share a model. A pickle (or joblib) file can run
        arbitrary code when loaded; load pickles only from sources you trust.

        Parameters
        ----------
        path : str or path-like or file-like
        """
        check_is_fitted(self)
        params = self.get_params(deep=False)
        if params.get("callbacks"):
            warnings.warn(
                "callbacks are not saved by save_weights; pass them again after loading.",
                UserWarning,
                stacklevel=2,
            )
        params["callbacks"] = None
        params["device"] = str(params["device"])
        if not (params["random_state"] is None or isinstance(params["random_state"], int)):
            params["random_state"] = None  # a RandomState instance is not plain data
        fitted = {}
        for name in self._saved_attributes:
            if hasattr(self, name):
                value = getattr(self, name)
                fitted[name] = value.name if isinstance(value, np.dtype) else _plain(value)
        blob = {
            "format": "sklstm-weights-1",
            "estimator": type(self).__name__,
            "sklstm_version": _version.__version__,
            "params": params,
            "fitted": fitted,
            "history": _plain(list(self.net_.history)),
            "state_dict": {k: v.detach().cpu() for k, v in self.module_.state_dict().items()},
        }
        torch.save(blob, path)

    @classmethod
    def load_weights(cls, path, *, device="auto"):
        """Load a model written by :meth:`save_weights`, without unpickling code.

        Parameters
        ----------
        path : str or path-like or file-like
        device : str or torch.device, default="auto"
            Where to put the network: ``"auto"`` is CUDA when available, else the CPU.

        Returns
        -------
        estimator : a fitted instance of this class
        """

        blob = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(blob, dict) or blob.get("format") != "sklstm-weights-1":
            raise ValueError(f"{path!r} is not a file written by save_weights.")
        if blob["estimator"] != cls.__name__:
            raise ValueError(
                f"{path!r} holds a {blob['estimator']}; load it with "
                f"{blob['estimator']}.load_weights."
            )
        if blob["sklstm_version"] != _version.__version__:
            warnings.warn(
                f"These weights were saved with sklstm {blob['sklstm_version']} and are "
                f"loaded with sklstm {_version.__version__}.",
                UserWarning,
                stacklevel=2,
            )
        est = cls(**blob["params"])
        for name, value in blob["fitted"].items():
            if name == "dtype_":
                value = np.dtype(value)
            elif isinstance(value, list) and name != "feature_names_in_":
                value = np.asarray(value, dtype=np.float64)
            elif name == "feature_names_in_":
                value = np.asarray(value, dtype=object)
            setattr(est, name, value)
        est.device_ = resolve_device(device)
        est.net_ = est._new_net()
        with torch.random.fork_rng(devices=[]):
            est.net_.initialize()
        est.net_.module_.load_state_dict(blob["state_dict"])
        est.net_.history = History(blob["history"])
        return est

    def __getstate__(self):

        state = dict(super().__getstate__())
        state["_sklstm_version"] = _version.__version__
        if state.get("net_") is not None:
            # Pickled separately so that __setstate__ can map CUDA weights to the
            # CPU when the loading machine has no GPU.
            state["net_"] = pickle.dumps(state["net_"])
        return state

    def __setstate__(self, state):

        version = state.pop("_sklstm_version", None)
        if version != _version.__version__:
            warnings.warn(
                f"This {type(self).__name__} was pickled with sklstm {version} and is loaded "
                f"with sklstm {_version.__version__}. This might lead to breaking code or invalid "
                "results; refit the model with this version, or share weights with "
                "save_weights / load_weights instead of pickles.",
                UserWarning,
                stacklevel=2,
            )
        if isinstance(state.get("net_"), bytes):
            with warnings.catch_warnings():
                # A CUDA-trained net on a machine without CUDA loads on the CPU;
                # device_ below records where it now lives.
                warnings.simplefilter("ignore", DeviceWarning)
                net = pickle.loads(state["net_"])
            if type(net) is NeuralNetRegressor:
                # Pickled before sklstm 0.2: its own chronological split is replaced by the
                # explicit validation sets of _fit_dataset.
                net.__class__ = SklstmNet
                net.train_split = None
            state["net_"] = net
            state["device_"] = str(net.device)
        super().__setstate__(state)
