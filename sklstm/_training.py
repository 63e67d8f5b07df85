"""The pieces the estimators hand to skorch: data, batches, network, loss, progress.

Private. The estimators build a ``skorch.NeuralNetRegressor`` from these in
``fit``; nothing here knows about scikit-learn's validation or sktime.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from skorch.callbacks import Callback
from torch import Tensor, nn

from sklstm.nn import PeepholeLSTM

# On a GPU, inputs up to this size that are plain C-contiguous arrays are copied
# to the device once (a device copy of the rows the array already holds, so it
# never multiplies memory); larger ones and strided views (such as the sliding
# windows of ``make_windows``, whose rows overlap) stay numpy arrays and are
# gathered batch by batch. On the CPU nothing is ever copied up front: a copy
# would only double the memory, and gathering a batch costs the same either way.
_MATERIALISE_BYTES = 256 * 2**20


def _copy_to_device(X, device) -> bool:
    """Whether ``SequenceDataset`` copies ``X`` to ``device`` once instead of per batch."""
    return (
        device is not None
        and torch.device(device).type != "cpu"
        and isinstance(X, np.ndarray)
        and X.flags.c_contiguous  # its rows do not overlap: the copy is no larger than X
        and X.nbytes <= _MATERIALISE_BYTES
    )


class SequenceDataset(torch.utils.data.Dataset):
    """Sequences ``X`` (n, seq_len, channels), targets ``y`` (n, n_outputs), weights ``w`` (n,).

    ``X`` may be any numpy array, including a read-only strided view; it is
    never written to, and never copied whole on the CPU: each batch is
    gathered by index (and cast to ``dtype``, when given, batch by batch), so
    training on the windows of :func:`sklstm.make_windows` needs memory for
    the series and a few batches, not for ``n_windows * seq_len`` values.
    On a GPU, small C-contiguous arrays are copied to the device once
    (see ``_MATERIALISE_BYTES``). ``y`` and ``w`` may be None (prediction).
    """

    def __init__(self, X, y=None, w=None, *, device=None, dtype=None):
        self.X = X
        self.y = y
        self.w = w
        self.dtype = None if dtype is None else np.dtype(dtype)
        if _copy_to_device(X, device):
            torch_dtype = None if dtype is None else _TORCH_DTYPES[self.dtype]
            self.X = torch.tensor(X, dtype=torch_dtype, device=device)
            self.y = None if y is None else torch.tensor(y, device=device)
            self.w = None if w is None else torch.tensor(w, device=device)
            self.dtype = None

    def __len__(self) -> int:
        return len(self.X)

    def subset(self, index: slice) -> SequenceDataset:
        """The rows ``index`` (a slice), without copying."""
        sub = SequenceDataset.__new__(SequenceDataset)
        sub.X = self.X[index]
        sub.y = None if self.y is None else self.y[index]
        sub.w = None if self.w is None else self.w[index]
        sub.dtype = self.dtype
        return sub

    @staticmethod
    def _take(array, index: Tensor, dtype=None):
        if array is None:
            return None
        if isinstance(array, Tensor):
            return array[index.to(array.device)]
        # Fancy indexing copies just this batch, also out of a read-only view.
        rows = array[index.numpy()]
        return torch.from_numpy(rows if dtype is None else rows.astype(dtype, copy=False))

    def batch(self, index: Tensor):
        """The batch at ``index``: ``(X, None)``, ``(X, y)``, or ``(X, [y, w])`` with weights."""
        Xb = self._take(self.X, index, self.dtype)
        if self.y is None:
            return Xb, None
        if self.w is None:
            return Xb, self._take(self.y, index)
        return Xb, [self._take(self.y, index), self._take(self.w, index)]

    def __getitem__(self, i):
        return self.batch(torch.as_tensor([i]))


_TORCH_DTYPES = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}


class BatchLoader:
    """Batches of a :class:`SequenceDataset`, gathered by index (no per-row collate).

    Shuffling draws from ``generator`` only, so the global torch RNG is untouched.
    """

    def __init__(self, dataset, batch_size=128, shuffle=False, generator=None):
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.generator = generator

    def __len__(self) -> int:
        return -(-len(self.dataset) // self.batch_size)

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            order = torch.randperm(n, generator=self.generator)
        else:
            order = torch.arange(n)
        for start in range(0, n, self.batch_size):
            yield self.dataset.batch(order[start : start + self.batch_size])


class TailSplit:
    """A skorch ``train_split`` that holds out the chronological tail of the rows.

    ``ceil(validation_fraction * n_rows)`` rows, at least 1 and at most
    ``n_rows - 1``, the *last* ones, are the validation set. A class rather
    than a closure so that fitted nets pickle.
    """

    def __init__(self, validation_fraction: float):
        self.validation_fraction = validation_fraction

    def n_valid(self, n_rows: int) -> int:
        return min(max(int(np.ceil(self.validation_fraction * n_rows)), 1), n_rows - 1)

    def __call__(self, dataset, y=None, **kwargs):
        n = len(dataset)
        n_valid = self.n_valid(n)
        return dataset.subset(slice(0, n - n_valid)), dataset.subset(slice(n - n_valid, n))


class SequenceToVector(nn.Module):
    """A (peephole) LSTM over the sequence, then a linear head on its last hidden state.

    Dropout is applied between stacked layers and on the last hidden state
    before the head, as in the stacked ``LSTM`` + ``Dropout`` + ``Dense`` recipe.
    """

    def __init__(
        self,
        n_channels: int,
        n_outputs: int,
        hidden_size: int = 32,
        num_layers: int = 1,
        dropout: float = 0.0,
        peephole: str = "diagonal",
        dtype: torch.dtype = torch.float32,
    ):
        super().__init__()
        self.lstm = PeepholeLSTM(
            n_channels,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
            peephole=peephole,
            dtype=dtype,
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, n_outputs, dtype=dtype)

    def forward(self, X: Tensor) -> Tensor:
        _, (h_n, _) = self.lstm(X)
        return self.head(self.dropout(h_n[-1]))


class WeightedMSELoss(nn.Module):
    """Mean squared error, weighted per sample: sum_i w_i * mean_j (p_ij - y_ij)^2 / sum_i w_i."""

    def forward(self, y_pred: Tensor, target) -> Tensor:
        if isinstance(target, Tensor):
            return (y_pred - target).pow(2).mean()
        y, w = target
        # A weight-0 sample counts for nothing, even where its error is not finite (a
        # huge placeholder target): 0 * inf would make the loss, or its gradient, NaN.
        diff = torch.where((w > 0).unsqueeze(1), y_pred - y, 0.0)
        return (w * diff.pow(2).mean(dim=1)).sum() / w.sum()


class TrainingGuard(Callback):
    """Keeps the weights of the last completed epoch; stops on divergence or interruption.

    - A non-finite training loss, or non-finite weights after an epoch, stop
      training and restore the weights of the last completed epoch (the
      optimizer restarts from scratch, its moments being unusable).
    - A KeyboardInterrupt during an epoch (skorch ends training on it) restores
      the weights of the last completed epoch and drops the incomplete history row.

    ``event_`` says what happened (None, ``"diverged"`` or ``"interrupted"``),
    ``epochs_completed_`` how many epochs of this call finished.
    """

    def on_train_begin(self, net, **kwargs):
        self.snapshot_ = self._copy_weights(net)
        self.epoch_done_ = True
        self.epochs_completed_ = 0
        self.event_ = None

    @staticmethod
    def _copy_weights(net):
        return {k: v.detach().clone() for k, v in net.module_.state_dict().items()}

    def on_epoch_begin(self, net, **kwargs):
        self.epoch_done_ = False

    def on_batch_end(self, net, batch=None, training=None, loss=None, **kwargs):
        # skorch has already read the loss to the host (``.item()`` into the history):
        # one float check, not three tensor operations per batch.
        if training and loss is not None and not math.isfinite(loss.item()):
            self.event_ = "diverged"
            raise KeyboardInterrupt  # skorch's way of ending training

    def on_epoch_end(self, net, **kwargs):
        if not all(torch.isfinite(p).all() for p in net.module_.parameters()):
            self.event_ = "diverged"
            raise KeyboardInterrupt
        self.snapshot_ = self._copy_weights(net)
        self.epoch_done_ = True
        self.epochs_completed_ += 1

    def on_train_end(self, net, **kwargs):
        if self.event_ is None and not self.epoch_done_:
            self.event_ = "interrupted"
        if self.event_ is not None:
            net.module_.load_state_dict(self.snapshot_)
            if len(net.history) and not self.epoch_done_:
                del net.history[-1]  # the epoch that did not finish
            if self.event_ == "diverged":
                net.initialize_optimizer()
        self.snapshot_ = None  # not kept in memory (nor in pickles) after training


class EpochProgressBar(Callback):
    """A tqdm bar over epochs with the train and validation loss (``verbose=1``)."""

    def __init__(self, total: int):
        self.total = total

    def on_train_begin(self, net, **kwargs):
        from tqdm.auto import tqdm

        self.bar_ = tqdm(total=self.total, desc="epochs", unit="epoch", leave=True)

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        postfix = {"train_loss": f"{row['train_loss']:.4g}"}
        if "valid_loss" in row:
            postfix["valid_loss"] = f"{row['valid_loss']:.4g}"
        self.bar_.set_postfix(postfix, refresh=False)
        self.bar_.update(1)

    def on_train_end(self, net, **kwargs):
        self.bar_.close()

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("bar_", None)
        return state
