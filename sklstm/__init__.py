"""sklstm: scikit-learn and sktime compatible LSTMs, with peephole connections."""

__version__ = "0.1.0.dev0"

from sklstm._regressor import LSTMRegressor  # noqa: E402

__all__ = ["LSTMRegressor", "__version__"]
