"""All networks of one forecaster fit, trained together as one module (private).

An ensemble of ``n_members`` LSTM networks (seeds x window normalisations) is one
:class:`EnsembleModule`: member ``m`` reads its own block of input channels and
writes its own block of outputs, and its loss is its own mean squared error, so
the members learn exactly as if trained apart, but in one training loop (one
:meth:`sklstm._base.BaseLSTM._fit_dataset` call), one batch gather and one
optimizer. Each member stops early on its own (:class:`MemberStopping`); a stopped
member is skipped in the forward and backward passes from then on.
"""

from __future__ import annotations

import numpy as np
import torch
from skorch.callbacks import Callback
from torch import Tensor, nn

from sklstm._base import BaseLSTM, TrainValid, resolve_device
from sklstm._training import SequenceToVector

# Windows forecast at once: bounds the memory of one forward pass.
_PREDICT_CHUNK = 4096


class EnsembleModule(nn.Module):
    """``n_members`` independent :class:`SequenceToVector` networks side by side.

    Input ``(batch, seq_len, n_members * n_channels)``, output
    ``(batch, n_members * n_outputs)``. ``active`` (a bool tensor or None) skips
    the members marked False: their outputs are zeros that carry no gradient.
    """

    def __init__(
        self,
        n_members: int,
        n_channels: int,
        n_outputs: int,
        hidden_size: int = 32,
        num_layers: int = 1,
        dropout: float = 0.0,
        peephole: str = "diagonal",
        dtype: torch.dtype = torch.float32,
    ):
        super().__init__()
        self.n_members, self.n_channels, self.n_outputs = n_members, n_channels, n_outputs
        self.members = nn.ModuleList(
            SequenceToVector(
                n_channels, n_outputs, hidden_size, num_layers, dropout, peephole, dtype
            )
            for _ in range(n_members)
        )
        self.active = None

    def forward(self, X: Tensor) -> Tensor:
        C = self.n_channels
        outs = []
        for m, member in enumerate(self.members):
            if self.active is not None and not bool(self.active[m]):
                outs.append(X.new_zeros(X.shape[0], self.n_outputs))
                continue
            outs.append(member(X[:, :, m * C : (m + 1) * C]))
        return torch.cat(outs, dim=1)


class MemberLoss(nn.Module):
    """The sum over the active members of each member's mean squared error."""

    def __init__(self, n_members: int):
        super().__init__()
        self.n_members = n_members
        self.active = None

    def forward(self, y_pred: Tensor, target: Tensor) -> Tensor:
        per_member = (
            (y_pred - target).pow(2).view(len(y_pred), self.n_members, -1).mean(dim=(0, 2))
        )
        if self.active is not None:
            per_member = per_member[self.active.to(per_member.device)]
        return per_member.sum()


class MemberStopping(Callback):
    """Per-member losses in the history, per-member early stopping and best weights.

    Each epoch records ``train_member_loss`` (and ``valid_member_loss`` with a
    validation set) as lists, NaN for stopped members. A member stops when its
    monitored loss (validation if there is a validation set, else training) has not
    improved by ``tol`` for ``patience`` epochs; training ends when all have. With a
    validation set every member gets back the weights of its best epoch
    (``best_epochs_``, counted in this call).
    """

    def __init__(self, patience: int | None, tol: float):
        self.patience = patience
        self.tol = tol

    def on_train_begin(self, net, X=None, **kwargs):
        module = net.module_
        n = module.n_members
        self.has_valid_ = isinstance(X, TrainValid) and X.valid is not None
        self.best_ = np.full(n, np.inf)
        self.best_epochs_ = np.zeros(n, dtype=np.int64)
        self.misses_ = np.zeros(n, dtype=np.int64)
        self.active_ = np.ones(n, dtype=bool)
        self.epochs_ = 0
        self.snapshots_ = [self._copy(member) for member in module.members]
        self._set_active(net, None)
        self._reset()

    @staticmethod
    def _copy(member):
        return {k: v.detach().clone() for k, v in member.state_dict().items()}

    @staticmethod
    def _set_active(net, active):
        mask = None if active is None else torch.as_tensor(active)
        net.module_.active = mask
        net.criterion_.active = mask

    def _reset(self):
        self.sums_ = {True: 0.0, False: 0.0}
        self.counts_ = {True: 0, False: 0}

    def on_batch_end(self, net, batch=None, training=None, y_pred=None, **kwargs):
        target = batch[1]
        target = target[0] if isinstance(target, (list, tuple)) else target
        n = len(y_pred)
        err = (y_pred.detach() - target.to(y_pred.device)).pow(2)
        per_member = err.view(n, net.module_.n_members, -1).mean(dim=2).sum(dim=0)
        self.sums_[bool(training)] = self.sums_[bool(training)] + per_member.double().cpu().numpy()
        self.counts_[bool(training)] += n

    def on_epoch_end(self, net, **kwargs):
        self.epochs_ += 1
        losses = {}
        for training, key in ((True, "train_member_loss"), (False, "valid_member_loss")):
            if self.counts_[training]:
                loss = np.where(
                    self.active_, self.sums_[training] / self.counts_[training], np.nan
                )
                losses[training] = loss
                net.history.record(key, loss.tolist())
        self._reset()
        score = losses.get(False if self.has_valid_ else True)
        if score is None:
            return
        module = net.module_
        for m in np.flatnonzero(self.active_):
            if score[m] < self.best_[m] - self.tol:
                self.best_[m], self.best_epochs_[m], self.misses_[m] = score[m], self.epochs_, 0
                if self.has_valid_:
                    self.snapshots_[m] = self._copy(module.members[m])
            else:
                self.misses_[m] += 1
                if self.patience is not None and self.misses_[m] >= self.patience:
                    self.active_[m] = False
        if not self.active_.any():
            raise KeyboardInterrupt  # skorch's way of ending training
        self._set_active(net, None if self.active_.all() else self.active_)

    def on_train_end(self, net, **kwargs):
        self._set_active(net, None)
        if self.has_valid_:
            for member, state in zip(net.module_.members, self.snapshots_, strict=True):
                member.load_state_dict(state)
        self.snapshots_ = None  # not kept in memory (nor in pickles) after training


class LSTMEnsemble(BaseLSTM):
    """The networks of a forecaster: ``n_members`` LSTMs trained in one loop.

    Private: the forecaster builds it with its own parameters. Inputs are the
    members' inputs side by side on the channel axis; outputs are in the
    normaliser's units (targets are standardised by the forecaster's normaliser,
    not again here).
    """

    def __init__(
        self,
        n_members=1,
        hidden_size=64,
        num_layers=1,
        dropout=0.0,
        peephole="diagonal",
        max_iter=200,
        batch_size="auto",
        learning_rate_init=0.01,
        weight_decay=0.0,
        n_iter_no_change=20,
        tol=1e-4,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        self.n_members = n_members
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.dropout = dropout
        self.peephole = peephole
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.weight_decay = weight_decay
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def start(self, *, n_channels: int, n_outputs: int, n_train: int) -> LSTMEnsemble:
        """Set the fitted state of a fresh ensemble and build its (uninitialised) net."""
        self.n_channels_in_ = int(n_channels)
        self.n_outputs_ = int(n_outputs)
        self.dtype_ = np.dtype(np.float32)
        self.device_ = resolve_device(self.device)
        self._seed = self._new_seed()
        self._n_train = int(n_train)
        self.best_epochs_ = np.zeros(self.n_members, dtype=np.int64)
        self.net_ = self._new_net()
        return self

    def _new_net(self):
        net = self._build_net(
            n_train=self._n_train,
            module=EnsembleModule,
            criterion=MemberLoss,
            criterion_params={"n_members": self.n_members},
            stopping=MemberStopping(self.n_iter_no_change, self.tol),
            n_members=self.n_members,
            n_channels=self.n_channels_in_,
            n_outputs=self.n_outputs_,
            dtype=self.dtype_,
        )
        # Validation batches no larger than the training ones: every member's forward on
        # 1,024 windows of a long lookback was the peak of a fit's memory (issue 12).
        return net.set_params(iterator_valid__batch_size=net.batch_size)

    def initialise_from(self, states):
        """Initialise the net and load ``states[m]`` (a member state dict) into member m."""
        with torch.random.fork_rng(devices=[]):
            torch.random.default_generator.manual_seed(self._seed)
            self.net_.initialize()
        for member, state in zip(self.net_.module_.members, states, strict=True):
            member.load_state_dict(state)
        return self

    def member_state(self, m: int) -> dict:
        return {
            k: v.detach().clone() for k, v in self.net_.module_.members[m].state_dict().items()
        }

    def fit_windows(self, train, valid=None, *, epochs=None, warm=False) -> LSTMEnsemble:
        """Train on the window datasets (see :class:`~sklstm._forecast.windows.WindowDataset`)."""
        self._fit_dataset(
            train, valid, epochs=self.max_iter if epochs is None else epochs, warm=warm
        )
        stopping = dict(self.net_.callbacks_)["stopping"]
        if getattr(stopping, "has_valid_", False):
            self.best_epochs_ = stopping.best_epochs_.copy()
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Outputs ``(m, n_members, n_outputs)`` (float64) of inputs ``(m, T, members * C)``."""
        outs = [
            self._forward(np.ascontiguousarray(X[i : i + _PREDICT_CHUNK], dtype=np.float32))
            for i in range(0, len(X), _PREDICT_CHUNK)
        ]
        out = np.concatenate(outs) if outs else np.empty((0, self.n_members * self.n_outputs_))
        return out.astype(np.float64).reshape(len(X), self.n_members, self.n_outputs_)

    def member_curves(self):
        """Per member: (training loss per epoch, validation loss per epoch or None)."""
        rows = self.net_.history
        curves = []
        for m in range(self.n_members):
            train = [row["train_member_loss"][m] for row in rows if "train_member_loss" in row]
            valid = [
                row["valid_member_loss"][m] if "valid_member_loss" in row else np.nan
                for row in rows
            ]
            has_valid = any("valid_member_loss" in row for row in rows)
            curves.append((train, valid if has_valid else None))
        return curves


def ensemble_forecast(ensemble, normalisers, modes, past, future=None, members=False):
    """Forecasts ``(m, horizon, n_targets)`` in the series' units from raw windows.

    ``past`` is ``(m, lookback, n_targets + n_exog)``, ``future`` the exogenous columns
    over the horizon ``(m, horizon, n_exog)`` or None. Every member's outputs are
    decoded with its own normaliser and the members are averaged with equal weight
    (each normalisation has as many members as the others); ``members=True`` returns
    each member's forecast instead, ``(n_members, m, horizon, n_targets)``.
    """
    if len(past) > _PREDICT_CHUNK:  # bounded memory: the windows a chunk at a time
        return np.concatenate(
            [
                ensemble_forecast(
                    ensemble,
                    normalisers,
                    modes,
                    past[i : i + _PREDICT_CHUNK],
                    None if future is None else future[i : i + _PREDICT_CHUNK],
                    members,
                )
                for i in range(0, len(past), _PREDICT_CHUNK)
            ],
            axis=1 if members else 0,
        )
    ny = next(iter(normalisers.values())).n_targets
    inputs, norms = {}, {}
    for mode in dict.fromkeys(modes):
        norm = normalisers[mode]
        norms[mode] = norm.norms(past[:, :, :ny])
        inputs[mode] = norm.encode_inputs(past, future, *norms[mode])
    raw = ensemble.predict(np.concatenate([inputs[mode] for mode in modes], axis=2))
    horizon = raw.shape[2] // ny
    paths = []
    for k, mode in enumerate(modes):
        norm, (shift, level) = normalisers[mode], norms[mode]
        tshift = norm.target_shift(past[:, :, :ny], shift, horizon)
        paths.append(norm.decode(raw[:, k], tshift, level))
    return np.stack(paths) if members else np.mean(paths, axis=0)
