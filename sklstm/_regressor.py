"""LSTMRegressor: an sklearn regressor over sequences."""

from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from sklstm._base import BaseLSTM, resolve_device
from sklstm._checks import reject_time_dtypes
from sklstm._export import export_torchscript as _export_torchscript
from sklstm._training import SequenceDataset, TailSplit


def weighted_std(y, mean, weights) -> np.ndarray:
    """The weighted standard deviation of each column of ``y`` around ``mean``.

    In units of each column's largest deviation, so that neither tiny targets (1e-170:
    their squares underflow to 0, as if constant) nor huge ones lose it; inf where the
    deviations themselves overflow.
    """
    weights = np.asarray(weights)
    rows = weights > 0  # weight-0 rows (placeholders) count for nothing, not even the unit
    dev, weights = y[rows] - mean, weights[rows]
    unit = np.abs(dev).max(axis=0)
    unit = np.where((unit > 0) & np.isfinite(unit), unit, 1.0)
    return unit * np.sqrt(np.average((dev / unit) ** 2, axis=0, weights=weights))


class LSTMRegressor(RegressorMixin, BaseLSTM):
    """A (peephole) LSTM regressor over sequences, trained with skorch.

    Each sample is a sequence. The LSTM reads it step by step; a linear head on
    the last hidden state predicts the target(s). Targets are standardised
    inside and predictions come back in the targets' units.

    Parameters
    ----------
    hidden_size : int, default=32
        Number of units in each LSTM layer.
    num_layers : int, default=1
        Number of stacked LSTM layers.
    dropout : float in [0, 1), default=0.0
        Dropout on the outputs of each LSTM layer (between stacked layers and on
        the last hidden state before the head), as in the stacked
        ``LSTM`` + ``Dropout(0.2)`` + ``Dense`` recipe. Only active in training.
    peephole : {"diagonal", "full", "none"}, default="diagonal"
        Peephole connections of the cells; see :class:`sklstm.nn.PeepholeLSTM`.
        ``"none"`` is a plain LSTM and runs on torch's fused kernels.
    max_iter : int, default=200
        Maximum number of epochs (passes over the training data).
    batch_size : int or "auto", default="auto"
        Mini-batch size; ``"auto"`` is ``min(200, n_samples)`` as in
        :class:`~sklearn.neural_network.MLPRegressor`.
    learning_rate_init : float, default=0.01
        Learning rate of the Adam optimiser.
    weight_decay : float, default=0.0
        L2 penalty (Adam's ``weight_decay``).
    early_stopping : bool, default=False
        Hold out the chronological tail (``validation_fraction`` of the rows,
        the *last* ones) as a validation set, stop when its loss has not
        improved by ``tol`` for ``n_iter_no_change`` epochs and restore the
        weights of the best epoch. Rows must then be in time order.
    validation_fraction : float in (0, 1), default=0.1
        Share of the rows held out with ``early_stopping=True``.
    n_iter_no_change : int or None, default=10
        Epochs without an improvement of at least ``tol`` before training
        stops: of the validation loss with ``early_stopping=True``, else of the
        training loss. None never stops early.
    tol : float, default=1e-4
        Minimum improvement of the monitored loss.
    warm_start : bool, default=False
        If True, ``fit`` continues training the current network (and keeps the
        target scaling of the first fit) instead of starting from scratch. As
        ``MLPRegressor``'s, a warm ``fit`` takes the current ``learning_rate_init``,
        ``weight_decay``, ``batch_size``, ``n_iter_no_change`` and ``tol`` (with a fresh
        optimiser); a changed ``hidden_size``, ``num_layers``, ``dropout`` or
        ``peephole`` raises a ValueError.
    device : str or torch.device, default="auto"
        Where to train: ``"auto"`` picks CUDA when available, else the CPU. The
        device actually used is ``device_``.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling and dropout. With an int, fits
        are reproducible on the CPU; the global torch RNG is never touched.
    verbose : int, default=0
        0 prints nothing; 1 shows a progress bar over epochs with the training
        (and validation) loss; 2 also prints a table per epoch.
    callbacks : list of skorch callbacks or None, default=None
        Extra callbacks for the wrapped skorch net, e.g. ``LRScheduler`` or
        ``GradientNormClipping``.

    Attributes
    ----------
    net_ : skorch.NeuralNetRegressor
        The wrapped, trained skorch net.
    module_ : torch.nn.Module
        The trained network: ``PeepholeLSTM`` + dropout + ``Linear`` head.
    history_ : skorch.History
        One row per epoch: ``train_loss``, ``valid_loss`` (with early
        stopping), durations.
    loss_curve_ : list of float
        Training loss per epoch (on the standardised targets).
    validation_loss_curve_ : list of float or None
        Validation loss per epoch with ``early_stopping=True``.
    n_iter_ : int
        Number of epochs run.
    n_features_in_ : int
        Sequence length seen in fit (``X.shape[1]``).
    n_channels_in_ : int
        Channels per time step seen in fit (1 for 2-D ``X``).
    n_outputs_ : int
        Number of targets.
    y_mean_, y_scale_ : ndarray of shape (n_outputs_,)
        The (sample-weighted) mean and standard deviation of the targets seen
        by the first (cold-start) fit. A constant target has scale 0 and is
        then always predicted as that constant.
    device_ : str
        The device the network lives on.

    See Also
    --------
    sklstm.nn.PeepholeLSTM : The LSTM module.
    sklearn.neural_network.MLPRegressor : The feed-forward regressor whose parameter
        names this one follows.

    Notes
    -----
    ``X`` is 3-D ``(n_samples, seq_len, n_channels)`` or 2-D
    ``(n_samples, seq_len)``, read as one channel. Training runs in the dtype of
    ``X`` (float32 stays float32; anything else becomes float64), and so do the
    predictions.

    Examples
    --------
    >>> import numpy as np
    >>> from sklstm import LSTMRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(64, 10, 2))        # 64 sequences, 10 steps, 2 channels
    >>> y = X[:, -3:, 0].sum(axis=1)            # depends on the last 3 steps
    >>> reg = LSTMRegressor(hidden_size=8, max_iter=50, random_state=0).fit(X, y)
    >>> reg.predict(X[:2]).shape
    (2,)
    >>> bool(reg.score(X, y) > 0.5)
    True
    """

    def __init__(
        self,
        hidden_size=32,
        num_layers=1,
        dropout=0.0,
        peephole="diagonal",
        max_iter=200,
        batch_size="auto",
        learning_rate_init=0.01,
        weight_decay=0.0,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        warm_start=False,
        device="auto",
        random_state=None,
        verbose=0,
        callbacks=None,
    ):
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.dropout = dropout
        self.peephole = peephole
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.weight_decay = weight_decay
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.warm_start = warm_start
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.target_tags.multi_output = True
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train the network on sequences ``X`` and targets ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len, n_channels) or (n_samples, seq_len)
            The sequences, in time order along axis 1.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples in the loss (and in the target
            scaling).

        Returns
        -------
        self : LSTMRegressor
        """
        return self._fit(X, y, sample_weight, incremental=False)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Train for one more epoch on ``X, y`` (the first call initialises).

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len, n_channels) or (n_samples, seq_len)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : LSTMRegressor
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def _fit(self, X, y, sample_weight, *, incremental):
        fitted = hasattr(self, "net_")
        cold = not fitted or not (incremental or self.warm_start)
        if not cold:
            train, valid = self._prepare(X, y, sample_weight, incremental=incremental, cold=False)
        else:
            # A cold fit refused before training (bad input, say) leaves the estimator as
            # it was: a fitted model still predicts as before, an unfitted one stays
            # unfitted. The new fit builds a new net, so a shallow copy keeps the old state;
            # it is dropped before training, so the old net is not held meanwhile.
            state = dict(self.__dict__)
            try:
                train, valid = self._prepare(
                    X, y, sample_weight, incremental=incremental, cold=True
                )
            except BaseException:
                self.__dict__.clear()
                self.__dict__.update(state)
                raise
            del state
        self._fit_dataset(train, valid, epochs=1 if incremental else self.max_iter, warm=not cold)
        return self

    def _prepare(self, X, y, sample_weight, *, incremental, cold):
        """Check the inputs, set up a cold start, and return the ``(train, valid)`` sets."""
        reject_time_dtypes(type(self).__name__, X=X, y=y)
        if cold:
            # Before validate_data sets n_features_in_: a bad device leaves no fitted state.
            resolve_device(self.device)
        X, y = validate_data(
            self,
            X,
            y,
            reset=cold,
            dtype=[np.float64, np.float32],
            allow_nd=True,
            y_numeric=True,
            multi_output=True,
        )
        # X keeps its float dtype here (float32 windows for a float64 model, say): the
        # dataset casts batch by batch, so that a strided view is never materialised.
        X = self._as_sequences(X, reset=cold)
        if y.dtype.kind not in "biuf":  # y_numeric converts only object arrays (as sklearn)
            try:
                y = y.astype(np.float64)
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    f"{type(self).__name__}: y must be numeric, but it has dtype {y.dtype} and "
                    f"does not convert to float ({exc}). Convert it first, e.g. "
                    "y = pd.to_numeric(y) or y.astype(float)."
                ) from None
        y2 = y.reshape(len(y), -1)
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
        with np.errstate(over="ignore"):
            weight_sum = sample_weight.sum()
        if not np.isfinite(weight_sum):
            raise ValueError(
                f"sample_weight is too large: its sum overflows float64 (largest weight "
                f"{sample_weight.max():.3g}). Only the weights' ratios matter: divide "
                "sample_weight by its maximum (sample_weight / sample_weight.max())."
            )
        if weight_sum <= 0:
            raise ValueError("sample_weight sums to zero: at least one sample needs a weight > 0.")
        if not cold and y2.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {y2.shape[1]} output(s) but this {type(self).__name__} was fitted "
                f"with {self.n_outputs_}; fit it from scratch (warm_start=False) to change them."
            )
        if self.early_stopping and len(X) < 2:
            raise ValueError(
                f"early_stopping=True needs at least 2 samples to hold out a validation tail; "
                f"got {len(X)} sample. Set early_stopping=False to fit on 1 sample."
            )
        if cold:
            with np.errstate(over="ignore", invalid="ignore"):
                mean = np.average(y2, axis=0, weights=sample_weight)
                std = weighted_std(y2, mean, sample_weight)
            if not (np.isfinite(mean).all() and np.isfinite(std).all()):
                raise ValueError(
                    f"{type(self).__name__}: y is too large to standardise in float64 (its "
                    f"largest magnitude is {np.abs(y2).max():.3g}; its mean or spread overflows). "
                    "Divide y by a constant first, and multiply the predictions back."
                )
            self._cold_start(
                n_features=X.shape[1],
                n_channels=X.shape[2],
                dtype=X.dtype,
                n_outputs=y2.shape[1],
                y_ndim=y.ndim,
                y_mean=mean,
                y_std=std,
                n_train=len(X),
            )
        y_scaled = ((y2 - self.y_mean_) / self._target_divisor()).astype(self.dtype_)
        # Uniform weights are left out: the plain mean is the same loss, cheaper.
        weights = None if np.all(sample_weight == sample_weight[0]) else sample_weight
        weights = None if weights is None else weights.astype(self.dtype_)
        dataset = SequenceDataset(X, y_scaled, weights, device=self.device_, dtype=self.dtype_)
        train, valid = dataset, None
        if self.early_stopping:
            # The chronological tail: the newest rows are the validation set.
            n_valid = TailSplit(self.validation_fraction).n_valid(len(dataset))
            train = dataset.subset(slice(0, len(dataset) - n_valid))
            valid = dataset.subset(slice(len(dataset) - n_valid, len(dataset)))
        if not cold and not incremental:  # a warm fit trains with the current parameters
            self._take_training_params(len(X))  # the batch size of a cold fit's n
        return train, valid

    def _cold_start(
        self, *, n_features, n_channels, dtype, n_outputs, y_ndim, y_mean, y_std, n_train
    ):
        """Set the fitted state of a fresh model and build its untrained net.

        ``y_mean`` and ``y_std`` are the (sample-weighted) mean and standard deviation
        of the targets, which ``fit`` computes.
        """
        self.n_features_in_ = int(n_features)
        self.n_channels_in_ = int(n_channels)
        self.dtype_ = np.dtype(dtype)
        self.n_outputs_ = int(n_outputs)
        self._y_ndim = y_ndim
        scale = np.array(y_std, dtype=np.float64)
        # A constant target gets scale 0: the network learns 0 for it, and
        # predictions are exactly the constant (scale * output + mean). Constant up to
        # the rounding of its mean, relative to it: a target in tiny units is not.
        scale[scale <= 10 * np.finfo(np.float64).eps * np.abs(y_mean)] = 0.0
        self.y_mean_, self.y_scale_ = np.asarray(y_mean, dtype=np.float64), scale
        self.device_ = resolve_device(self.device)
        self._seed = self._new_seed()
        self._n_train = int(n_train)
        self.net_ = self._new_net()

    def _target_divisor(self):
        """What standardised targets are divided by: y_scale_, with 1 for constant targets."""
        return np.where(self.y_scale_ > 0, self.y_scale_, 1.0)

    _saved_attributes = BaseLSTM._saved_attributes + (
        "n_channels_in_",
        "n_outputs_",
        "_y_ndim",
        "y_mean_",
        "y_scale_",
        "_n_train",
    )

    def _new_net(self):
        return self._build_net(
            n_channels=self.n_channels_in_,
            n_outputs=self.n_outputs_,
            dtype=self.dtype_,
            n_train=self._n_train,
        )

    def _as_sequences(self, X, *, reset):
        """Validated 2-D/3-D X as 3-D (n_samples, seq_len, n_channels); checks the channels."""
        if X.ndim == 2:
            X = X[:, :, np.newaxis]
        elif X.ndim != 3:
            raise ValueError(
                f"X must be 3-D (n_samples, seq_len, n_channels) or 2-D (n_samples, seq_len) "
                f"for one channel; got a {X.ndim}-D array of shape {X.shape}."
            )
        if X.shape[1] == 0 or X.shape[2] == 0:
            raise ValueError(
                f"X must have at least one time step and one channel per sequence; got "
                f"shape {X.shape} (n_samples, seq_len, n_channels)."
            )
        if reset:
            self.n_channels_in_ = X.shape[2]
        elif X.shape[2] != self.n_channels_in_:
            raise ValueError(
                f"X has {X.shape[2]} channel(s) per time step, but {type(self).__name__} "
                f"was fitted with {self.n_channels_in_}."
            )
        return X

    def predict(self, X):
        """Predict the targets of sequences ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len, n_channels) or (n_samples, seq_len)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Shaped like the ``y`` given to fit, in the dtype training ran in.
        """
        check_is_fitted(self)
        reject_time_dtypes(type(self).__name__, X=X)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32], allow_nd=True)
        X = self._as_sequences(X, reset=False)
        if self.dtype_ == np.float32 and X.dtype == np.float64 and X.size:
            largest = max(float(X.max()), -float(X.min()))  # no copy of a windows view
            if largest > float(np.finfo(np.float32).max):
                raise ValueError(
                    f"{type(self).__name__} computes in float32 (it was fitted on float32 X), "
                    f"but X holds values beyond float32's range (largest |value| "
                    f"{largest:.3g}), which would become inf. Scale X as at fit, or refit "
                    "on float64 X."
                )
        out = self._forward(X).astype(np.float64) * self.y_scale_ + self.y_mean_
        out = out.astype(self.dtype_, copy=False)
        return out.ravel() if self._y_ndim == 1 else out

    def export_torchscript(self, path, *, scaler=None):
        """Save the fitted model, target scaling included, as a TorchScript file (legacy).

        ``torch.jit.load(path)`` runs it with torch alone: a float tensor of
        shape ``(n_samples, seq_len, n_channels)`` in, predictions of shape
        ``(n_samples, n_outputs)`` in the units of ``y`` out. See
        :func:`sklstm._export.export_torchscript`. TorchScript is deprecated in
        PyTorch; :func:`sklstm.to_onnx` exports a model that runs without torch.

        Parameters
        ----------
        path : str or path-like or file-like
        scaler : fitted SequenceScaler, default=None
            Scaler applied to the inputs first, exported with the model.

        Returns
        -------
        module : torch.jit.ScriptModule

        Examples
        --------
        >>> import io
        >>> import numpy as np
        >>> import torch
        >>> from sklstm import LSTMRegressor
        >>> X = np.random.RandomState(0).normal(size=(32, 5, 2)).astype(np.float32)
        >>> reg = LSTMRegressor(hidden_size=4, max_iter=3, random_state=0).fit(X, X[:, -1, 0])
        >>> buffer = io.BytesIO()
        >>> _ = reg.export_torchscript(buffer)
        >>> _ = buffer.seek(0)
        >>> model = torch.jit.load(buffer)      # needs torch only
        >>> y = model(torch.from_numpy(X[:3]))
        >>> y.shape
        torch.Size([3, 1])
        >>> np.allclose(y[:, 0].numpy(), reg.predict(X[:3]), atol=1e-5)
        True
        """
        return _export_torchscript(self, path, scaler=scaler)
