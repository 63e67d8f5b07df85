"""The ONNX graph of each fitted sklstm estimator, written with :mod:`sklstm._onnx._graph`.

Each ``write_*`` function takes a builder, a fitted estimator and the name and rank (number
of dimensions) of its float32 input, and returns the name and rank of its output. They are
shared by :func:`sklstm.to_onnx` and by the skl2onnx converters of :mod:`sklstm.onnx`.
"""

from __future__ import annotations

import numpy as np

from sklstm._onnx._graph import _ints, sequence_to_vector, standardise
from sklstm._regressor import LSTMRegressor
from sklstm._scaler import SequenceScaler
from sklstm._window import WindowTransformer

__all__ = ["STEPS", "regressor_weights", "write_step"]


def _numpy(tensor) -> np.ndarray | None:
    return None if tensor is None else tensor.detach().to("cpu").double().numpy()


def module_weights(module) -> dict:
    """One ``SequenceToVector`` as numpy arrays (layers, peephole, head), for the graph."""
    lstm, head = module.lstm, module.head
    layers = [
        {
            "w_ih": _numpy(getattr(lstm, f"weight_ih_l{k}")),
            "w_hh": _numpy(getattr(lstm, f"weight_hh_l{k}")),
            "b_ih": _numpy(getattr(lstm, f"bias_ih_l{k}", None)),
            "b_hh": _numpy(getattr(lstm, f"bias_hh_l{k}", None)),
            "w_ch": _numpy(getattr(lstm, f"weight_ch_l{k}", None)),
        }
        for k in range(lstm.num_layers)
    ]
    return {
        "layers": layers,
        "peephole": lstm.peephole,
        "head_weight": _numpy(head.weight),
        "head_bias": _numpy(head.bias),
    }


def regressor_weights(reg: LSTMRegressor) -> dict:
    """The fitted network of ``reg`` as numpy arrays, in the form ``sequence_to_vector`` takes."""
    return {
        **module_weights(reg.module_),
        "out_scale": np.asarray(reg.y_scale_, dtype=np.float64),
        "out_shift": np.asarray(reg.y_mean_, dtype=np.float64),
    }


def write_regressor(g, reg: LSTMRegressor, x: str, rank: int) -> tuple[str, int]:
    """Sequences (N, T, C), or (N, T) for one channel, to predictions (N, n_outputs)."""
    if rank == 2:
        if reg.n_channels_in_ != 1:
            raise ValueError(
                f"LSTMRegressor was fitted on {reg.n_channels_in_} channels but gets a 2-D "
                "input (one channel) in the exported graph."
            )
        x = g.op("Unsqueeze", [x, _ints(g, [2])], "one_channel")
    elif rank != 3:
        raise ValueError(
            f"LSTMRegressor takes 3-D (n_samples, seq_len, n_channels) input; the step before "
            f"it gives {rank}-D output."
        )
    return sequence_to_vector(g, x, **regressor_weights(reg)), 2


def write_scaler(g, scaler: SequenceScaler, x: str, rank: int) -> tuple[str, int]:
    """``(X - center_) / scale_`` per channel (last axis), 2-D or 3-D as in fit."""
    if rank != scaler._n_dims_in:
        raise ValueError(
            f"SequenceScaler was fitted on {scaler._n_dims_in}-D input but gets {rank}-D "
            "input in the exported graph."
        )
    return standardise(g, x, scaler.center_, scaler.scale_), rank


def write_window(g, window: WindowTransformer, x: str, rank: int) -> tuple[str, int]:
    """Table (N, C) to causal windows (N, lookback, C), or flat (N, lookback * C).

    As ``WindowTransformer.transform``: the table is padded with ``lookback - 1`` rows in
    front (edge or constant), and window ``t`` is padded rows ``t .. t + lookback - 1``.
    """
    if rank != 2:
        raise ValueError(
            f"WindowTransformer takes a 2-D table (n_samples, n_channels); the step before it "
            f"gives {rank}-D output."
        )
    lookback = int(window.lookback)
    padded = x
    if lookback > 1:
        pads = _ints(g, [lookback - 1, 0, 0, 0])  # (begin rows, begin cols, end rows, end cols)
        if window.padding == "edge":
            padded = g.op("Pad", [x, pads], "padded", mode="edge")
        else:
            fill = g.const(np.asarray(window.fill_value, dtype=np.float32), "fill_value")
            padded = g.op("Pad", [x, pads, fill], "padded", mode="constant")
    # indices[t, j] = t + j: the rows of window t in the padded table.
    n_rows = g.op("Slice", [g.op("Shape", [x]), _ints(g, [0]), _ints(g, [1])], "n_rows")
    n_rows = g.op("Squeeze", [n_rows, _ints(g, [0])], "n_rows_scalar")
    start = g.const(np.asarray(0, dtype=np.int64), "zero")
    step = g.const(np.asarray(1, dtype=np.int64), "one")
    rows = g.op("Unsqueeze", [g.op("Range", [start, n_rows, step]), _ints(g, [1])], "rows")
    offsets = g.const(np.arange(lookback, dtype=np.int64)[None, :], "offsets")
    indices = g.op("Add", [rows, offsets], "window_rows")
    windows = g.op("Gather", [padded, indices], "windows", axis=0)  # (N, lookback, C)
    if window.output == "flat":
        return g.op("Reshape", [windows, _ints(g, [0, -1])], "flat_windows"), 2
    return windows, 3


#: What each sklstm estimator's graph is written by.
STEPS = {
    LSTMRegressor: write_regressor,
    SequenceScaler: write_scaler,
    WindowTransformer: write_window,
}


def write_step(g, estimator, x: str, rank: int) -> tuple[str, int]:
    for cls, write in STEPS.items():
        if isinstance(estimator, cls):
            return write(g, estimator, x, rank)
    raise TypeError(f"no ONNX graph for {type(estimator).__name__}")  # pragma: no cover
