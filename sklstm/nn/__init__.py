"""Pure-PyTorch building blocks: the peephole LSTM and its float64 reference.

Nothing in :mod:`sklstm.nn` imports scikit-learn.
"""

from sklstm.nn._layer import PEEPHOLE_MODES, PeepholeLSTM
from sklstm.nn._reference import reference_lstm

__all__ = ["PEEPHOLE_MODES", "PeepholeLSTM", "reference_lstm"]
