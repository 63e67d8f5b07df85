"""sklstm: scikit-learn and sktime compatible LSTMs, with peephole connections.

``LSTMForecaster`` needs sktime (``pip install sklstm[sktime]``); it is imported
on first use so that ``import sklstm`` never requires sktime. ``to_onnx`` needs
onnx and skl2onnx (``pip install 'sklstm[onnx]'``) and is imported on first use too.
"""

from sklstm._regressor import LSTMRegressor  # noqa: E402
from sklstm._scaler import SequenceScaler  # noqa: E402
from sklstm._version import __version__  # noqa: E402
from sklstm._window import WindowTransformer, make_windows  # noqa: E402

__all__ = [
    "LSTMForecaster",
    "LSTMRegressor",
    "SequenceScaler",
    "WindowTransformer",
    "make_windows",
    "to_onnx",
    "__version__",
]


def __getattr__(name):
    if name == "LSTMForecaster":
        try:
            from sklstm.forecasting import LSTMForecaster  # lazy: sktime is optional
        except ImportError as exc:
            if exc.name is not None and exc.name.split(".")[0] == "sktime":
                raise ImportError(
                    "LSTMForecaster needs sktime: pip install 'sklstm[sktime]'"
                ) from exc
            raise
        return LSTMForecaster
    if name == "to_onnx":
        from sklstm.onnx import to_onnx  # raises an ImportError naming the [onnx] extra

        return to_onnx
    raise AttributeError(f"module 'sklstm' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | {"LSTMForecaster", "to_onnx"})
