"""The ONNX graph of a fitted :class:`~sklstm.LSTMForecaster`: one forecast from its history.

The graph is ``ForecastModel.forecast`` (``sklstm/_forecast/model.py``) for one series,
in float32: every window normalisation (``norms``, ``encode_inputs``, ``target_shift``,
``decode`` of ``sklstm/_forecast/normalise.py``), every ensemble member
(:func:`~sklstm._onnx._graph.sequence_to_vector` each) and their equal-weight mean, the
recursive rollout as a ``Loop``, and the blend with the baselines of
``sklstm/_forecast/baselines.py``.

Inputs: ``"y"`` ``(context_, n_targets)``, the newest rows of the series, oldest first
(the networks read the newest ``lookback_`` of them, the baselines all); with exogenous
data also ``"X"`` ``(lookback_ + n_future, n_exog)``: the exogenous rows of the newest
``lookback_`` time points followed by those of the ``n_future = max(n_steps,
horizon_)`` steps after them. Output ``"y_pred"`` ``(n_steps, n_targets)``.

Nothing here imports sktime or torch at import time: the forecaster is read through its
fitted attributes (``ensemble_``, ``normalisers_``, ``member_modes_``, ``_spec``, ``sp_``,
``baseline_weights_``, ``context_``).
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper
from sklearn.exceptions import NotFittedError

from sklstm._forecast.baselines import (
    THETA_ALPHAS,
    least_squares_slope,
    moving_average_weights,
    theta_ahead,
)
from sklstm._forecast.normalise import MODES
from sklstm._onnx._graph import GraphBuilder, _f32, _ints, sequence_to_vector
from sklstm._onnx._steps import module_weights

__all__ = ["check_forecaster", "write_forecaster"]

_BASELINES = ("seasonal_naive", "naive", "drift", "theta")


def check_forecaster(forecaster, n_steps):
    """The number of steps to export, after checking that ``forecaster`` can be exported."""
    name = type(forecaster).__name__
    if not forecaster.is_fitted:
        raise NotFittedError(
            f"This {name} is not fitted yet: call fit(y, fh=...) before exporting it with "
            "sklstm.to_onnx."
        )
    if getattr(forecaster, "forecasters_", None) is not None:
        raise ValueError(
            f"this {name} was fitted on a panel or hierarchical y, series by series (sktime "
            "keeps one fitted forecaster per series in forecasters_); export each series' "
            "forecaster on its own: sklstm.to_onnx(forecaster.forecasters_.iloc[i, 0])."
        )
    if getattr(forecaster, "ensemble_", None) is None:
        raise ValueError(
            f"this {name} holds no fitted networks of its own (ensemble_); fit it on a "
            "series before exporting it."
        )
    recursive = forecaster.strategy == "recursive"
    if n_steps is None:
        if not recursive:
            return int(forecaster.horizon_)
        fh = getattr(forecaster, "_fh", None)
        if fh is None:
            raise ValueError(
                f"{name}(strategy='recursive') was fitted without fh, so the number of steps "
                "to forecast is not known: pass n_steps, e.g. sklstm.to_onnx(forecaster, "
                "n_steps=12)."
            )
        return int(forecaster._relative_steps(fh).max())
    if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or n_steps < 1:
        raise ValueError(f"n_steps must be a positive int, got {n_steps!r}.")
    if not recursive and n_steps > forecaster.horizon_:
        raise ValueError(
            f"{name}(strategy={forecaster.strategy!r}) predicts {forecaster.horizon_} "
            f"step(s) at once (the longest step of fh at fit); n_steps={n_steps} is more. "
            "Refit with a longer fh, or use strategy='recursive'."
        )
    return int(n_steps)


class _Network:
    """What ``ensemble_forecast`` needs, read once from the fitted forecaster."""

    def __init__(self, forecaster):
        spec = forecaster._spec
        self.lookback, self.horizon = int(spec.lookback), int(spec.horizon)
        self.n_targets, self.n_exog = int(spec.n_targets), int(spec.n_exog)
        self.modes = list(forecaster.member_modes_)
        self.normalisers = forecaster.normalisers_
        members = forecaster.ensemble_.module_.members
        if len(members) != len(self.modes):  # pragma: no cover - a broken fitted state
            raise ValueError("the forecaster has as many networks as member_modes_ entries")
        self.members = [module_weights(member) for member in members]


def _level_and_shift(b, norm, y_win, lookback):
    """``WindowNormaliser.norms`` of a window ``(L, ny)``: level ``(1, ny)`` or None, shift."""
    scale_by_level, by_last = MODES[norm.mode]
    shift = None
    if by_last:
        shift = b.op("Slice", [y_win, _ints(b, [lookback - 1]), _ints(b, [lookback])], "shift")
    level = None
    if scale_by_level:
        total = b.op("ReduceSum", [b.op("Abs", [y_win]), _ints(b, [0])], "abs_sum", keepdims=1)
        mean = b.op("Div", [total, b.const(_f32(lookback), "lookback")], "abs_mean")
        level = b.op("Max", [mean, b.const(_f32(norm.level_floor[None, :]), "floor")], "level")
    return shift, level


def _encode(b, norm, y_win, x_win, x_fut, shift, level, lookback, n_future):
    """``WindowNormaliser.encode_inputs`` of one window: the network input ``(1, T, C)``."""
    y = y_win
    if shift is not None:
        y = b.op("Sub", [y, shift], "y_shifted")
    if level is not None:
        y = b.op("Div", [y, level], "y_level")
    y = b.op("Sub", [y, b.const(_f32(norm.y_loc[None, :]), "y_loc")], "y_centred")
    y = b.op("Div", [y, b.const(_f32(norm.y_scale[None, :]), "y_scale")], "y_scaled")
    if x_win is None:
        return b.op("Unsqueeze", [y, _ints(b, [0])], "inputs")
    x_loc, x_scale = _f32(norm.x_loc[None, :]), _f32(norm.x_scale[None, :])

    def scaled_x(x):
        x = b.op("Sub", [x, b.const(x_loc, "x_loc")], "x_centred")
        return b.op("Div", [x, b.const(x_scale, "x_scale")], "x_scaled")

    past = b.op(
        "Concat",
        [y, scaled_x(x_win), b.const(np.ones((lookback, 1), np.float32), "past_flag")],
        "past",
        axis=1,
    )
    ahead = b.op(
        "Concat",
        [
            b.const(np.zeros((n_future, norm.n_targets), np.float32), "ahead_y"),
            scaled_x(x_fut),
            b.const(np.zeros((n_future, 1), np.float32), "ahead_flag"),
        ],
        "ahead",
        axis=1,
    )
    seq = b.op("Concat", [past, ahead], "sequence", axis=0)
    return b.op("Unsqueeze", [seq, _ints(b, [0])], "inputs")


def _target_shift(b, norm, y_win, shift, lookback, horizon):
    """``WindowNormaliser.target_shift``: ``(horizon, ny)``, ``(1, ny)`` or None (zero)."""
    if norm.mode == "season" and norm.sp > 1:
        rows = lookback - norm.sp + (np.arange(horizon) % norm.sp)
        return b.op("Gather", [y_win, b.const(rows.astype(np.int64), "season_rows")], "tshift")
    return shift


def _network_forecast(b, net, y_win, x_win, x_fut):
    """``ensemble_forecast`` of one window: ``(horizon, ny)`` in the series' units."""
    ny, horizon = net.n_targets, net.horizon
    inputs, norms = {}, {}
    for mode in dict.fromkeys(net.modes):
        norm = net.normalisers[mode]
        shift, level = _level_and_shift(b, norm, y_win, net.lookback)
        norms[mode] = shift, level
        inputs[mode] = _encode(
            b, norm, y_win, x_win, x_fut, shift, level, net.lookback, net.horizon
        )
    paths = []
    for mode, weights in zip(net.modes, net.members, strict=True):
        norm = net.normalisers[mode]
        shift, level = norms[mode]
        # decode's two affine maps, folded: out * t_scale + t_loc, then * y_scale + y_loc
        y_scale, y_loc = np.tile(norm.y_scale, horizon), np.tile(norm.y_loc, horizon)
        out_scale = norm.t_scale * y_scale
        out_shift = norm.t_loc * y_scale + y_loc
        out = sequence_to_vector(b, inputs[mode], **weights, out_scale=out_scale,
                                 out_shift=out_shift)  # fmt: skip
        path = b.op("Reshape", [out, _ints(b, [horizon, ny])], "member_path")
        if level is not None:
            path = b.op("Mul", [path, level], "member_levelled")
        tshift = _target_shift(b, norm, y_win, shift, net.lookback, horizon)
        if tshift is not None:
            path = b.op("Add", [path, tshift], "member_forecast")
        paths.append(path)
    if len(paths) == 1:
        return paths[0]
    return b.op("Mean", paths, "ensemble_mean")


def _rows(b, x, first, last):
    return b.op("Slice", [x, _ints(b, [first]), _ints(b, [last]), _ints(b, [0])], "rows")


def _recursive_path(g, net, y, x, n_steps):
    """The recursive rollout as a ``Loop``: ``(n_steps, ny)``.

    The loop carries the window ``(L, ny)``; step ``k`` reads the exogenous rows
    ``k .. k + L - 1`` of ``X`` (past) and row ``L + k`` (the step forecast), then drops the
    oldest row of the window and appends the forecast.
    """
    L, ny = net.lookback, net.n_targets
    body = GraphBuilder(prefix=g.fresh("loop") + "/", inline_constants=True)
    k, cond_in, y_win = body.fresh("k"), body.fresh("cond_in"), body.fresh("y_window")
    x_win = x_fut = None
    if x is not None:
        k1 = body.op("Unsqueeze", [k, _ints(body, [0])], "k_1d")
        starts = [k1, body.op("Add", [k1, _ints(body, [L])], "k_plus_L")]
        starts.append(body.op("Add", [k1, _ints(body, [L + 1])], "k_plus_L1"))
        axis = _ints(body, [0])
        x_win = body.op("Slice", [x, starts[0], starts[1], axis], "x_window")
        x_fut = body.op("Slice", [x, starts[1], starts[2], axis], "x_step")
    step = _network_forecast(body, net, y_win, x_win, x_fut)  # (1, ny)
    newer = body.op("Slice", [y_win, _ints(body, [1]), _ints(body, [L]), _ints(body, [0])])
    y_next = body.op("Concat", [newer, step], "y_window_next", axis=0)
    outputs = [
        body.op("Identity", [cond_in], "cond_out"),
        body.op("Identity", [y_next], "y_window_out"),
        body.op("Identity", [step], "step_out"),
    ]

    def vi(name, elem, shape):
        return helper.make_tensor_value_info(name, elem, shape)

    graph = body.graph(
        body.prefix + "body",
        [vi(k, TensorProto.INT64, []), vi(cond_in, TensorProto.BOOL, []),
         vi(y_win, TensorProto.FLOAT, [L, ny])],
        [vi(outputs[0], TensorProto.BOOL, []), vi(outputs[1], TensorProto.FLOAT, [L, ny]),
         vi(outputs[2], TensorProto.FLOAT, [1, ny])],
    )  # fmt: skip
    trips = g.const(np.asarray(n_steps, dtype=np.int64), "n_steps")
    cond = g.const(np.asarray(True), "keep_going")
    _, steps = g.op("Loop", [trips, cond, y], "rollout", n_outputs=2, body=graph)
    return g.op("Reshape", [steps, _ints(g, [n_steps, ny])], "network_path")


def _baselines(g, y, C, n_steps, sp, names):
    """``baseline_forecasts`` of the rows ``y`` ``(C, ny)`` for ``names``: name -> forecast.

    Each forecast is ``(n_steps, ny)`` (naive ``(1, ny)``, which broadcasts). A baseline
    that ``C`` rows are too few for is the naive forecast, as in ``baselines.blend``.
    """
    steps = np.arange(n_steps)
    last = _rows(g, y, C - 1, C)
    out = {}
    for name in names:
        if name == "seasonal_naive" and 1 < sp <= C:
            rows = (C - sp + steps % sp).astype(np.int64)
            out[name] = g.op("Gather", [y, g.const(rows, "season_rows")], "seasonal")
        elif name == "drift" and C >= 2:
            slope = g.op("Sub", [last, _rows(g, y, 0, 1)], "rise")
            slope = g.op("Div", [slope, g.const(_f32(C - 1), "run")], "slope")
            ahead = g.op("Mul", [slope, g.const(_f32((steps + 1)[:, None]), "ahead")], "climb")
            out[name] = g.op("Add", [last, ahead], "drift")
        elif name == "theta" and C >= 2:
            out[name] = _theta(g, y, C, n_steps, sp)
        else:  # naive, or a baseline the rows are too few for
            out[name] = last
    return out


def _season_index(g, y, L, sp):
    """``seasonal_indices`` of the rows ``y`` ``(L, ny)`` (``L >= 2 sp``): ``(sp, ny)``.

    Constants and work grow with ``L``, not ``L**2``: the centred moving average is a
    difference of cumulative sums, the means by season position a reshape of the ratios
    (padded with zeros to whole seasons) summed over the seasons.
    """
    w = moving_average_weights(sp)
    k = len(w)
    off, n_trend = (k - 1) // 2, L - k + 1
    # the sums run over y - y[0] (float32 keeps its digits over long contexts); the
    # weights of the average sum to 1, so y[0] is added back to the average
    first = _rows(g, y, 0, 1)
    shifted = g.op("Sub", [y, first], "from_first")
    total = g.op("CumSum", [shifted, g.const(np.asarray(0, dtype=np.int64), "axis0")])
    zero_row = g.op("Mul", [first, g.const(_f32(0.0), "zero")], "zero_row")
    total = g.op("Concat", [zero_row, total], "cumsum0", axis=0)  # (L + 1, ny)
    trend = g.op("Sub", [_rows(g, total, k, k + n_trend), _rows(g, total, 0, n_trend)])
    if sp % 2 == 0:  # the end rows of a 2 x sp average count half
        ends = g.op("Add", [_rows(g, shifted, 0, n_trend), _rows(g, shifted, k - 1, L)])
        trend = g.op("Sub", [trend, g.op("Mul", [ends, g.const(_f32(0.5), "half")])])
    trend = g.op("Div", [trend, g.const(_f32(sp), "sp")], "trend")
    trend = g.op("Add", [trend, first], "trend")
    below = g.op("Cast", [g.op("LessOrEqual", [y, g.const(_f32(0.0), "zero")])], to=1)
    n_below = g.op("ReduceSum", [below, _ints(g, [0])], "n_below", keepdims=1)
    positive = g.op("Equal", [n_below, g.const(_f32(0.0), "none")], "positive")
    one = g.const(_f32(1.0), "one")
    safe = g.op("Where", [positive, trend, one], "safe_trend")
    ratio = g.op("Div", [_rows(g, y, off, off + n_trend), safe], "ratio")
    lead = off % sp
    n_seasons = -(-(lead + n_trend) // sp)
    tail = n_seasons * sp - lead - n_trend

    def zeros(n_rows):  # (n_rows, ny) zeros: rows of y times 0 (ny is y's)
        return g.op("Mul", [_rows(g, y, 0, n_rows), g.const(_f32(0.0), "zero")], "zeros")

    padded = ([zeros(lead)] if lead else []) + [ratio] + ([zeros(tail)] if tail else [])
    if len(padded) > 1:
        ratio = g.op("Concat", padded, "padded_ratio", axis=0)
    seasons = g.op("Reshape", [ratio, _ints(g, [n_seasons, sp, -1])], "by_season")
    sums = g.op("ReduceSum", [seasons, _ints(g, [0])], "position_sums", keepdims=0)
    counts = np.bincount((lead + np.arange(n_trend)) % sp, minlength=sp)
    index = g.op("Div", [sums, g.const(_f32(counts[:, None]), "position_counts")], "season")
    mean = g.op("MatMul", [g.const(_f32(np.full((1, sp), 1 / sp)), "mean"), index])
    return g.op("Where", [positive, g.op("Div", [index, mean]), one], "season_index")


def _smoothing_choice(g, z, L):
    """``smoothing_choice`` of the rows ``z`` ``(L, ny)``: ``(level, alpha index)``, ``(1, ny)``.

    A ``Scan`` over rows 1 .. L - 1 carries the level and the sum of squared one-step
    errors of every constant of ``THETA_ALPHAS`` ``(G, ny)``; ``ArgMin`` takes the first
    least. The rows are smoothed less the first row (float32 keeps its digits at a large
    level; the errors do not change) and in units of their mean distance from it (the
    error sums neither overflow nor vanish in float32 at any scale; the choice is the
    same at every unit), then the level is turned back into y's units.
    """
    G = len(THETA_ALPHAS)
    first = _rows(g, z, 0, 1)
    shifted = g.op("Sub", [_rows(g, z, 1, L), first], "from_first")  # (L - 1, ny)
    # the mean move: each term divided before the sum, so that it cannot overflow
    moves = g.op("Mul", [g.op("Abs", [shifted]), g.const(_f32(1.0 / (L - 1)), "per_row")])
    mean = g.op("ReduceSum", [moves, _ints(g, [0])], "mean_move", keepdims=1)
    moved = g.op("Greater", [mean, g.const(_f32(0.0), "zero")], "moved")
    unit = g.op("Where", [moved, mean, g.const(_f32(1.0), "one")], "unit")  # (1, ny)
    shifted = g.op("Div", [shifted, unit], "in_units")
    body = GraphBuilder(prefix=g.fresh("ses") + "/", inline_constants=True)
    level_in, sse_in, row = body.fresh("level"), body.fresh("sse"), body.fresh("row")
    err = body.op("Sub", [row, level_in], "error")
    sse = body.op("Add", [sse_in, body.op("Mul", [err, err])], "sse_out")
    step = body.op("Mul", [err, body.const(_f32(THETA_ALPHAS[:, None]), "alphas")])
    level = body.op("Add", [level_in, step], "level_out")

    def vi(name, shape):
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)

    ny = ["ny"]
    graph = body.graph(
        body.prefix + "body",
        [vi(level_in, [G, *ny]), vi(sse_in, [G, *ny]), vi(row, ny)],
        [vi(level, [G, *ny]), vi(sse, [G, *ny])],
    )
    zeros = g.op("Mul", [first, g.const(_f32(np.zeros((G, 1))), "zero_grid")], "grid_zeros")
    levels, sses = g.op("Scan", [zeros, zeros, shifted], "smoothing", n_outputs=2,
                        body=graph, num_scan_inputs=1)  # fmt: skip
    best = g.op("ArgMin", [sses], "alpha_index", axis=0, keepdims=1)  # (1, ny)
    level = g.op("GatherElements", [levels, best], "smoothed", axis=0)
    level = g.op("Mul", [level, unit], "smoothed")
    return g.op("Add", [level, first], "level"), best


def _theta(g, y, L, n_steps, sp):
    """``theta_forecast`` of the rows ``y`` ``(L, ny)``: ``(n_steps, ny)``.

    ``Where`` keeps the seasonal indices at 1 for a column with a value <= 0 (as
    ``seasonal_indices``); the smoothing constant is chosen per column
    (:func:`_smoothing_choice`), the slope a product with a ``(1, L)`` row.
    """
    z, index, rows = y, None, np.arange(L)
    if 1 < sp and L >= 2 * sp:
        index = _season_index(g, y, L, sp)
        at_rows = g.const((rows % sp).astype(np.int64), "row_positions")
        z = g.op("Div", [y, g.op("Gather", [index, at_rows])], "deseasonalised")
    level, best = _smoothing_choice(g, z, L)
    slope_w = least_squares_slope(L)[None]
    slope = g.op("MatMul", [g.const(_f32(slope_w), "least_squares"), z], "slope")
    table = theta_ahead(L, n_steps, THETA_ALPHAS)  # (G, n_steps)
    ahead = g.op("Gather", [g.const(_f32(table), "theta_ahead"), best], "ahead", axis=0)
    ahead = g.op("Transpose", [ahead], "ahead_by_step", perm=[2, 1, 0])  # (n_steps, ny, 1)
    ahead = g.op("Squeeze", [ahead, _ints(g, [2])], "ahead_steps")
    trend = g.op("Mul", [slope, ahead], "theta_trend")
    path = g.op("Add", [level, trend], "theta")
    if index is not None:
        future = ((L - 1 + np.arange(1, n_steps + 1)) % sp).astype(np.int64)
        factors = g.op("Gather", [index, g.const(future, "future_positions")])
        path = g.op("Mul", [path, factors], "theta")
    return path


def write_forecaster(g, forecaster, n_steps: int):
    """Write the forecast graph into ``g``; returns (graph inputs, output name, out shape)."""
    net = _Network(forecaster)
    L, ny = net.lookback, net.n_targets
    C = int(forecaster.context_)  # the rows the baselines read, the newest L the networks
    inputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, [C, ny])]
    x = None
    y = "y" if C == L else _rows(g, "y", C - L, C)
    n_future = max(n_steps, net.horizon)
    if net.n_exog:
        x = "X"
        inputs.append(
            helper.make_tensor_value_info(x, TensorProto.FLOAT, [L + n_future, net.n_exog])
        )
    if forecaster.strategy == "recursive":
        path = _recursive_path(g, net, y, x, n_steps)
    else:
        x_win = x_fut = None
        if x is not None:
            x_win, x_fut = _rows(g, x, 0, L), _rows(g, x, L, L + net.horizon)
        path = _network_forecast(g, net, y, x_win, x_fut)
        if n_steps < net.horizon:
            path = _rows(g, path, 0, n_steps)
    weights = getattr(forecaster, "baseline_weights_", None)
    if weights is not None and weights["network"] != 1.0:  # as ForecastModel.forecast
        used = [name for name in _BASELINES if weights.get(name, 0.0) > 0]
        baselines = _baselines(g, "y", C, n_steps, int(forecaster.sp_), used)
        path = g.op("Mul", [path, g.const(_f32(weights["network"]), "w_network")], "blend")
        for name in used:
            part = g.op("Mul", [baselines[name], g.const(_f32(weights[name]), f"w_{name}")])
            path = g.op("Add", [path, part], "blend")  # (1, ny) naive broadcasts
    return inputs, path, [n_steps, ny]
