"""Export fitted sklstm models to ONNX; skl2onnx converters for the sklstm estimators.

``import sklstm.onnx`` registers skl2onnx shape calculators and converters for
:class:`~sklstm.WindowTransformer`, :class:`~sklstm.SequenceScaler` and
:class:`~sklstm.LSTMRegressor`, so that ``skl2onnx.to_onnx(pipeline, X)`` converts a
Pipeline that mixes them with scikit-learn steps. :func:`to_onnx` (also
``sklstm.to_onnx``) exports an sklstm model or a Pipeline of sklstm steps without going
through skl2onnx's parser, with dynamic batch and sequence lengths.

Needs the ``onnx`` extra: ``pip install 'sklstm[onnx]'`` (onnx, onnxruntime, skl2onnx).
"""

from __future__ import annotations

try:
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from skl2onnx import update_registered_converter
    from skl2onnx.common.data_types import FloatTensorType
except ImportError as exc:  # pragma: no cover - tested in a subprocess without onnx
    raise ImportError(
        f"ONNX export needs onnx, onnxruntime and skl2onnx ({exc}): pip install 'sklstm[onnx]'"
    ) from exc

import os
import sys

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from sklstm._onnx._forecaster import check_forecaster, write_forecaster
from sklstm._onnx._graph import MIN_OPSET, GraphBuilder
from sklstm._onnx._steps import STEPS, write_step
from sklstm._regressor import LSTMRegressor
from sklstm._scaler import SequenceScaler
from sklstm._window import WindowTransformer

__all__ = ["DEFAULT_OPSET", "to_onnx"]

#: The opset :func:`to_onnx` writes by default (onnxruntime >= 1.13 runs it).
DEFAULT_OPSET = 17

_NAMES = ", ".join(cls.__name__ for cls in STEPS)


def _steps_of(estimator):
    """The list of fitted sklstm steps to export, with a clear error for anything else."""
    if isinstance(estimator, Pipeline):
        steps = [step for _, step in estimator.steps if step not in (None, "passthrough")]
        if not steps:
            raise ValueError("the Pipeline has no step to export.")
    else:
        steps = [estimator]
    for k, step in enumerate(steps):
        if _is_sktime(step):
            raise TypeError(_sktime_advice(step))
        if not isinstance(step, tuple(STEPS)):
            raise TypeError(
                f"sklstm.to_onnx exports {_NAMES}, Pipelines of them and LSTMForecaster; got "
                f"{type(step).__name__}. For a Pipeline with scikit-learn steps, "
                "`import sklstm.onnx` (it registers the sklstm converters with skl2onnx) "
                "and call skl2onnx.to_onnx(pipeline, X[:1].astype(np.float32))."
            )
        if isinstance(step, LSTMRegressor) and k != len(steps) - 1:
            raise ValueError("an LSTMRegressor must be the last step of the Pipeline.")
        check_is_fitted(step)
    return steps


def _is_sktime(estimator) -> bool:
    """Whether ``estimator`` is an sktime forecaster (without importing sktime)."""
    return any(
        cls.__name__ == "BaseForecaster" and cls.__module__.split(".")[0] == "sktime"
        for cls in type(estimator).__mro__
    )


def _sktime_advice(composite) -> str:
    """Why an sktime composite is not exported, and which fitted forecaster to export."""
    inner = [
        name
        for name in ("best_forecaster_", "forecaster_")
        if _is_forecaster(getattr(composite, name, None))
    ]
    where = (
        f"the fitted LSTMForecaster it holds: sklstm.to_onnx(composite.{inner[0]})"
        if inner
        else "the fitted LSTMForecaster it holds (e.g. its best_forecaster_ or forecaster_)"
    )
    return (
        f"sklstm.to_onnx exports an LSTMForecaster itself, not the sktime "
        f"{type(composite).__name__} around it (skl2onnx cannot convert sktime objects "
        f"either). Export {where}; the composite's own steps (transformations of y or X, "
        "tuning) are not in the graph: apply them outside it."
    )


def _input_info(first):
    """Name, rank and ONNX input of the graph for the first step (dynamic N and T)."""
    if isinstance(first, WindowTransformer):
        shape = ["N", int(first.n_features_in_)]
    elif isinstance(first, SequenceScaler):
        channels = int(first.n_channels_in_)
        shape = ["N", channels] if first._n_dims_in == 2 else ["N", "T", channels]
    else:
        shape = ["N", "T", int(first.n_channels_in_)]
    return helper.make_tensor_value_info("X", TensorProto.FLOAT, shape), len(shape)


def _is_forecaster(estimator) -> bool:
    """Whether ``estimator`` is an LSTMForecaster (without importing sktime for the others)."""
    module = sys.modules.get("sklstm.forecasting")
    return module is not None and isinstance(estimator, module.LSTMForecaster)


def _forecaster_to_onnx(forecaster, path, opset, n_steps):
    n_steps = check_forecaster(forecaster, n_steps)
    g = GraphBuilder()
    inputs, out, shape = write_forecaster(g, forecaster, n_steps)
    g.nodes.append(helper.make_node("Identity", [out], ["y_pred"], name="output"))
    model = g.model(
        inputs,
        [helper.make_tensor_value_info("y_pred", TensorProto.FLOAT, shape)],
        opset=opset,
        doc=f"sklstm export of {type(forecaster).__name__}: {n_steps} step(s) ahead",
    )
    if path is not None:
        onnx.save_model(model, os.fspath(path))
    return model


def to_onnx(estimator, path=None, *, opset=DEFAULT_OPSET, n_steps=None):
    """Export a fitted sklstm model or Pipeline to ONNX.

    The graph needs only an ONNX runtime to run (no torch, sklstm or scikit-learn)::

        import onnxruntime as ort
        session = ort.InferenceSession("model.onnx")
        y_pred = session.run(None, {"X": X.astype(np.float32)})[0]

    Parameters
    ----------
    estimator : fitted LSTMRegressor, WindowTransformer, SequenceScaler or \
LSTMForecaster, or a fitted Pipeline of the first three
        What to export. An ``LSTMForecaster`` is exported as one forecast from the
        newest window (see the forecaster section of Returns). In a Pipeline, an
        ``LSTMRegressor`` must be the last step; ``None`` / ``"passthrough"`` steps are
        skipped. A Pipeline with scikit-learn steps goes through skl2onnx instead:
        ``import sklstm.onnx`` registers the sklstm converters, then
        ``skl2onnx.to_onnx(pipeline, X)``.
    path : str or path-like, default=None
        Where to save the model (``.onnx``); not saved when None.
    opset : int, default=17
        The ONNX opset to write (13 or newer).
    n_steps : int, default=None
        ``LSTMForecaster`` only: the number of steps the graph forecasts, ``1 ..
        n_steps``. None: ``horizon_`` for ``strategy="multioutput"`` (at most
        ``horizon_``), the longest step of the ``fh`` given to ``fit`` for
        ``strategy="recursive"`` (any number; without an ``fh`` at fit, n_steps must
        be given).

    Returns
    -------
    model : onnx.ModelProto
        One input ``"X"`` and one output (``"y"`` for a regressor, else ``"Xt"``), both
        float32:

        - ``"X"`` is what the first step takes: ``(n_samples, n_channels)`` (the table's
          rows) for a ``WindowTransformer``, ``(n_samples, seq_len, n_channels)`` for an
          ``LSTMRegressor`` (or what its ``SequenceScaler`` was fitted on). The number of
          samples and the sequence length are dynamic; the channels are fixed. A
          regressor given 2-D ``X`` (one channel) at fit still takes 3-D ``"X"``:
          feed ``X[:, :, None]``.
        - ``"y"`` has the shape ``predict`` returns: ``(n_samples,)`` for a 1-D ``y`` at
          fit, else ``(n_samples, n_outputs)``, in the units of ``y`` (the target
          standardisation is inside the graph).

        For an ``LSTMForecaster``: input ``"y"`` ``(context_, n_targets)``, the newest
        ``context_`` rows of the series, oldest first (the networks read the newest
        ``lookback_`` of them, the baselines all); with exogenous ``X`` at fit also
        ``"X"`` ``(lookback_ + max(n_steps, horizon_), n_exog)``: the exogenous rows of
        the newest ``lookback_`` time points followed by the rows of the steps ahead (as
        given to ``predict``). Output ``"y_pred"`` ``(n_steps, n_targets)``: ``predict(fh=1 ..
        n_steps)`` in the series' units -- the window normalisations, every network of
        the ensemble and their mean, the recursive rollout (a ``Loop``) and the blend
        with the baselines (``baseline_weights_``) are inside the graph. The shapes are
        fixed: ``context_`` is the whole history when that is shorter than
        ``max(lookback_, 200, 4 * sp_)``, and grows with ``update``; export again after
        such an update.

    Notes
    -----
    The graph computes in float32 (a model trained in float64 is exported with its
    weights rounded to float32). ``peephole="none"`` and ``"diagonal"`` run on ONNX's
    ``LSTM`` operator (the diagonal peepholes are its ``P`` input), ``"full"`` as a
    ``Scan`` over time. A ``WindowTransformer`` pads the start of the table as
    ``transform`` does, so the rows given to the runtime form one time-ordered table.

    Examples
    --------
    >>> import numpy as np
    >>> import onnxruntime as ort
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklstm import LSTMRegressor, SequenceScaler, WindowTransformer, to_onnx
    >>> X = np.random.RandomState(0).normal(size=(60, 2)).astype(np.float32)
    >>> pipe = make_pipeline(WindowTransformer(lookback=5), SequenceScaler(),
    ...                      LSTMRegressor(hidden_size=4, max_iter=2, random_state=0))
    >>> pipe = pipe.fit(X, X[:, 0])
    >>> session = ort.InferenceSession(to_onnx(pipe).SerializeToString())
    >>> y = session.run(None, {"X": X})[0]
    >>> y.shape
    (60,)
    >>> bool(np.allclose(y, pipe.predict(X), rtol=1e-5, atol=1e-5))
    True
    """
    if not isinstance(opset, int) or opset < MIN_OPSET:
        raise ValueError(f"opset must be an int >= {MIN_OPSET}, got {opset!r}.")
    if _is_forecaster(estimator):
        return _forecaster_to_onnx(estimator, path, opset, n_steps)
    if n_steps is not None:
        raise ValueError(
            f"n_steps is for an LSTMForecaster; got it with {type(estimator).__name__}."
        )
    steps = _steps_of(estimator)
    g = GraphBuilder()
    x_info, rank = _input_info(steps[0])
    x = x_info.name
    for step in steps:
        x, rank = write_step(g, step, x, rank)
    last = steps[-1]
    if isinstance(last, LSTMRegressor):
        output = "y"
        shape = ["N"] if last._y_ndim == 1 else ["N", int(last.n_outputs_)]
        if last._y_ndim == 1:
            x = g.op("Reshape", [x, g.const(np.asarray([-1], dtype=np.int64), "flat")])
    else:
        output = "Xt"
        shape = [f"d{k}" for k in range(rank)]
    g.nodes.append(helper.make_node("Identity", [x], [output], name="output"))
    model = g.model(
        [x_info],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, shape)],
        opset=opset,
        doc=f"sklstm export of {type(estimator).__name__}",
    )
    if path is not None:
        onnx.save_model(model, os.fspath(path))
    return model


# ---- skl2onnx converters ------------------------------------------------------------------


class _ContainerBuilder:
    """The builder interface of ``sklstm._onnx._graph`` over a skl2onnx scope and container."""

    def __init__(self, scope, container):
        self.scope = scope
        self.container = container

    def fresh(self, hint):
        return self.scope.get_unique_variable_name(hint)

    def const(self, array, hint="const"):
        name = self.fresh(hint)
        self.container.add_initializer(
            name, None, None, numpy_helper.from_array(np.asarray(array), name)
        )
        return name

    def op(self, op_type, inputs, hint=None, n_outputs=1, **attrs):
        outputs = [self.fresh(hint or op_type.lower()) for _ in range(n_outputs)]
        self.container.add_node(
            op_type,
            list(inputs),
            outputs,
            name=self.scope.get_unique_operator_name(op_type),
            **attrs,
        )
        return outputs[0] if n_outputs == 1 else outputs


def _check_float_input(operator):
    input_type = operator.inputs[0].type
    if not isinstance(input_type, FloatTensorType):
        raise TypeError(
            f"the sklstm converters take float32 tensors, but "
            f"{type(operator.raw_operator).__name__} gets {type(input_type).__name__}; "
            "convert with float32 data (skl2onnx.to_onnx(pipeline, X.astype(np.float32)))."
        )
    return list(input_type.shape)


def _window_shape(operator):
    n, channels = _check_float_input(operator)[:2]
    lookback = int(operator.raw_operator.lookback)
    if operator.raw_operator.output == "flat":
        shape = [n, None if channels is None else lookback * channels]
    else:
        shape = [n, lookback, channels]
    operator.outputs[0].type = FloatTensorType(shape)


def _same_shape(operator):
    operator.outputs[0].type = FloatTensorType(_check_float_input(operator))


def _regressor_shape(operator):
    shape = _check_float_input(operator)
    operator.outputs[0].type = FloatTensorType([shape[0], int(operator.raw_operator.n_outputs_)])


def _convert(scope, operator, container):
    if container.target_opset < MIN_OPSET:
        raise ValueError(
            f"the sklstm converters need target_opset >= {MIN_OPSET}, got "
            f"{container.target_opset}."
        )
    g = _ContainerBuilder(scope, container)
    rank = len(operator.inputs[0].type.shape)
    out, _ = write_step(g, operator.raw_operator, operator.inputs[0].full_name, rank)
    container.add_node(
        "Identity",
        [out],
        [operator.outputs[0].full_name],
        name=scope.get_unique_operator_name("Identity"),
    )


for _cls, _shape in (
    (WindowTransformer, _window_shape),
    (SequenceScaler, _same_shape),
    (LSTMRegressor, _regressor_shape),
):
    update_registered_converter(_cls, f"Sklstm{_cls.__name__}", _shape, _convert, overwrite=True)
