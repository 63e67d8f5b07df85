"""Export a fitted LSTMRegressor (with its scaling) to TorchScript: the legacy path.

The exported file needs only torch to run: ``torch.jit.load(path)(x)``. TorchScript is
deprecated in recent PyTorch; :func:`sklstm.to_onnx` is the export to use for new
deployments (it runs without torch, and exports windows and Pipelines too).

A leaf module: it never imports the estimator modules (``sklstm._regressor`` imports it),
and recognises the estimators by their class names.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import torch
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted
from torch import Tensor, nn


class _Predictor(nn.Module):
    """Input scaling, the trained network and the target de-standardisation, in one module."""

    def __init__(self, network: nn.Module, center, scale, y_mean, y_scale, dtype: torch.dtype):
        super().__init__()
        self.network = network
        as_tensor = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float64), dtype=dtype)  # noqa: E731
        self.register_buffer("x_center", as_tensor(center))
        self.register_buffer("x_scale", as_tensor(scale))
        self.register_buffer("y_mean", as_tensor(y_mean))
        self.register_buffer("y_scale", as_tensor(y_scale))
        self.dtype = dtype

    def forward(self, x: Tensor) -> Tensor:
        x = (x.to(self.dtype) - self.x_center) / self.x_scale
        return self.network(x) * self.y_scale + self.y_mean


class _CheckedPredictor(nn.Module):
    """Scripted shell around the traced predictor: checks the input's shape at run time."""

    def __init__(self, traced: torch.jit.ScriptModule, seq_len: int, n_channels: int):
        super().__init__()
        self.traced = traced
        self.seq_len = seq_len
        self.n_channels = n_channels

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 3 or x.size(1) != self.seq_len or x.size(2) != self.n_channels:
            raise ValueError(
                f"expected a float tensor of shape (n_samples, {self.seq_len}, "
                f"{self.n_channels}), got {x.shape}"
            )
        if not x.is_floating_point():
            raise ValueError(f"expected a floating-point tensor, got {x.dtype}")
        return self.traced(x)


def _is(obj, qualified_name: str) -> bool:
    """``isinstance(obj, cls)`` for the class ``qualified_name``, without importing it."""
    return any(f"{c.__module__}.{c.__qualname__}" == qualified_name for c in type(obj).__mro__)


_REGRESSOR = "sklstm._regressor.LSTMRegressor"
_SCALER = "sklstm._scaler.SequenceScaler"


def _split(estimator):
    """(SequenceScaler or None, LSTMRegressor) from an estimator or a two-step Pipeline."""
    if _is(estimator, _REGRESSOR):
        return None, estimator
    if isinstance(estimator, Pipeline):
        steps = [step for _, step in estimator.steps if step not in (None, "passthrough")]
        if len(steps) == 1 and _is(steps[0], _REGRESSOR):
            return None, steps[0]
        if len(steps) == 2 and _is(steps[0], _SCALER) and _is(steps[1], _REGRESSOR):
            return steps[0], steps[1]
    raise TypeError(
        "export_torchscript exports an LSTMRegressor, optionally after a SequenceScaler "
        f"(a Pipeline of those two steps); got {estimator!r}. A WindowTransformer cannot be "
        "exported to TorchScript: cut the windows before calling the exported model, or "
        "export the whole Pipeline with sklstm.to_onnx."
    )


def export_torchscript(estimator, path, *, scaler=None):
    """Save a fitted LSTMRegressor, scaling included, as a TorchScript file (legacy).

    TorchScript is deprecated in PyTorch (``torch.jit.load`` may warn); prefer
    :func:`sklstm.to_onnx`, which needs no torch to run. This export stays for
    deployments that already load TorchScript.

    The file runs with torch alone (no sklstm, sklearn or numpy needed)::

        model = torch.jit.load(path)
        y_pred = model(x)  # x: float tensor (n_samples, seq_len, n_channels)

    and returns a tensor of shape ``(n_samples, n_outputs)`` in the units of
    ``y``, equal to ``estimator.predict`` up to rounding. The network is traced
    on the CPU with the generic PyTorch loop (``impl="eager"``), its time loop
    recorded as a scripted loop (not unrolled); any batch size works. The input must have the
    fitted ``seq_len`` and ``n_channels`` (checked) and is cast to the dtype
    training ran in (``dtype_``).

    Parameters
    ----------
    estimator : fitted LSTMRegressor, or a fitted Pipeline (SequenceScaler, LSTMRegressor)
    path : str or path-like or file-like
        Where to write the TorchScript archive.
    scaler : fitted SequenceScaler, default=None
        A scaler applied to the inputs first (as in front of the regressor in a
        Pipeline). Not allowed together with a Pipeline that has one.

    Returns
    -------
    module : torch.jit.ScriptModule
        The exported module (as it was saved).
    """
    pipe_scaler, reg = _split(estimator)
    if pipe_scaler is not None and scaler is not None:
        raise ValueError("the Pipeline already has a SequenceScaler; do not pass scaler too.")
    scaler = scaler if scaler is not None else pipe_scaler
    check_is_fitted(reg)
    seq_len, n_channels = int(reg.n_features_in_), int(reg.n_channels_in_)
    dtype = torch.float64 if reg.dtype_ == np.float64 else torch.float32
    if scaler is not None:
        check_is_fitted(scaler)
        if scaler.n_channels_in_ != n_channels:
            raise ValueError(
                f"the scaler was fitted on {scaler.n_channels_in_} channel(s), the regressor "
                f"on {n_channels}."
            )
        center, scale = scaler.center_, scaler.scale_
    else:
        center, scale = np.zeros(n_channels), np.ones(n_channels)

    network = copy.deepcopy(reg.module_).to("cpu").eval()
    network.lstm.impl = "eager"  # the fused C / Triton paths cannot be traced
    network.requires_grad_(False)  # an inference model: outputs need no grad
    predictor = _Predictor(network, center, scale, reg.y_mean_, reg.y_scale_, dtype).eval()
    example = torch.zeros(2, seq_len, n_channels, dtype=dtype)
    with warnings.catch_warnings():
        # torch >= 2.10 marks TorchScript deprecated (it still works, and is what a
        # torch-only deployment can load); the shape checks the tracer warns about are
        # done by the scripted shell instead.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        with torch.no_grad():
            traced = torch.jit.trace(predictor, example, check_trace=False)
        module = torch.jit.script(_CheckedPredictor(traced, seq_len, n_channels))
        torch.jit.save(module, path)
    return module
