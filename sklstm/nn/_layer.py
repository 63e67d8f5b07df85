"""PeepholeLSTM: a drop-in replacement for ``torch.nn.LSTM`` with peephole connections."""

from __future__ import annotations

import functools
import math
import numbers
import warnings

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pad_packed_sequence

from sklstm.nn._kernels import IMPLS, select_recurrence
from sklstm.nn._kernels._eager import eager_recurrence

__all__ = ["PeepholeLSTM", "PEEPHOLE_MODES"]

PEEPHOLE_MODES = ("diagonal", "full", "none")


def _check_positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


@functools.cache
def _scripted_recurrence():
    """The eager recurrence compiled by TorchScript, run under ``torch.jit.trace``: the time
    loop stays a loop (an unrolled trace would silently run the traced number of steps)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch >= 2.10 deprecates jit
        return torch.jit.script(eager_recurrence)


def _autocast_on(device_type: str) -> bool:
    """Whether autocast is on for ``device_type`` (False for types without autocast: meta)."""
    try:
        return torch.is_autocast_enabled(device_type)
    except RuntimeError:
        return False


class PeepholeLSTM(nn.Module):
    r"""A multi-layer LSTM with peephole connections; a drop-in for ``torch.nn.LSTM``.

    The constructor, the forward contract, the parameter names and the gate
    order (i, f, g, o) are those of :class:`torch.nn.LSTM`, so a
    ``torch.nn.LSTM`` state dict loads into it (the peephole weights, which it
    lacks, keep their initial values). Each layer adds a peephole weight
    ``weight_ch_l{k}`` through which the gates see the cell state.

    With ``peephole="diagonal"`` (Gers & Schmidhuber, 2000), for each time step

    .. math::

        i_t &= \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi} + w_{ci} \odot c_{t-1}) \\
        f_t &= \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf} + w_{cf} \odot c_{t-1}) \\
        g_t &= \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg}) \\
        c_t &= f_t \odot c_{t-1} + i_t \odot g_t \\
        o_t &= \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho} + w_{co} \odot c_t) \\
        h_t &= o_t \odot \tanh(c_t)

    and ``weight_ch_l{k}`` is the vector :math:`(w_{ci}, w_{cf}, w_{co})` of shape
    ``(3 * hidden_size,)``. With ``peephole="full"`` it is a matrix of shape
    ``(4 * hidden_size, hidden_size)`` in gate order (i, f, g, o): the terms
    :math:`W_{ci} c_{t-1}`, :math:`W_{cf} c_{t-1}`, :math:`W_{cg} c_{t-1}` enter the
    i, f and g pre-activations and :math:`W_{co} c_t` enters o. With
    ``peephole="none"`` the module is a plain LSTM, numerically equal to
    ``torch.nn.LSTM`` with the same weights, and runs on torch's fused LSTM
    (cuDNN on CUDA, oneDNN on CPU).

    Parameters
    ----------
    input_size : int
        Number of features (channels) of the input at each time step.
    hidden_size : int
        Number of features in the hidden state.
    num_layers : int, default=1
        Number of stacked layers.
    bias : bool, default=True
        If False, the layers use no biases ``b_ih`` and ``b_hh``.
    batch_first : bool, default=False
        If True, input and output are ``(batch, seq_len, feature)``; else
        ``(seq_len, batch, feature)``. The states ``h`` and ``c`` are always
        ``(num_layers, batch, hidden_size)``, as in torch.
    dropout : float, default=0.0
        Dropout on the outputs of every layer but the last, in training mode.
    peephole : {"diagonal", "full", "none"}, default="diagonal"
        Which peephole connections the gates have; see above.
    impl : {"auto", "eager", "cpu_fused", "triton"}, default="auto"
        Which implementation runs the recurrence of the peephole modes
        (``"cpu_fused"`` and ``"triton"`` raise ``ValueError`` with
        ``peephole="none"``, which runs torch's fused LSTM). ``"auto"``
        takes the fastest one available for the device and dtype:
        for ``peephole="diagonal"`` in float32/float64 that is ``"triton"``
        on CUDA (persistent Triton kernels, forward and backward; needs
        ``triton``; large problems -- batch * hidden^2 above 2^25 -- use the
        eager loop, whose per-step cuBLAS product is faster there) and
        ``"cpu_fused"`` on the CPU (one compiled C loop per layer with a
        hand-written backward, built with the system's C compiler on first
        use; a fused PyTorch loop where none is found); everything else runs
        the eager loop. ``"eager"`` forces the generic PyTorch loop, the
        switch back to the reference path on any device. ``"cpu_fused"`` and
        ``"triton"`` force those paths and raise ``ValueError`` where they
        cannot run. The Triton kernels compute in exact float32 unless
        ``torch.backends.cuda.matmul.allow_tf32`` is True, in which case their
        matrix products use TF32 tensor cores (faster; relative error a few
        1e-3 over 24 steps, up to 5e-2 on gradients of 168-step sequences).
    bidirectional : bool, default=False
        Accepted for drop-in compatibility; only False is supported (True raises
        ``ValueError``).
    proj_size : int, default=0
        Accepted for drop-in compatibility; only 0 is supported (> 0 raises
        ``ValueError``).
    device, dtype : optional
        Where and in which dtype to create the parameters, as in torch.

    Attributes
    ----------
    weight_ih_l{k} : Tensor of shape (4 * hidden_size, input_size) for k = 0,
        else (4 * hidden_size, hidden_size)
    weight_hh_l{k} : Tensor of shape (4 * hidden_size, hidden_size)
    bias_ih_l{k}, bias_hh_l{k} : Tensor of shape (4 * hidden_size,)
    weight_ch_l{k} : Tensor of shape (3 * hidden_size,) or (4 * hidden_size, hidden_size)
        The peephole weights (absent with ``peephole="none"``).

    all_weights : list of lists of Tensor
        The parameters of each layer, as in torch (peephole weights last).

    All parameters are initialised from :math:`\mathcal{U}(-\sqrt{k}, \sqrt{k})`
    with :math:`k = 1 / \text{hidden\_size}`, as in torch.

    Notes
    -----
    Where it differs from ``torch.nn.LSTM``:

    - A sequence of length 0 returns the initial state (torch raises).
    - ``torch.jit.script`` raises ``RuntimeError`` (the fused kernels are Python
      autograd functions); ``torch.jit.trace``, ``torch.compile`` and
      ``torch.export`` work (they run the generic PyTorch loop).
    - A ``PackedSequence`` input runs one pass per distinct sequence length.
    - The fused diagonal-peephole paths (``"cpu_fused"``, ``"triton"``) have no
      double backward: ``create_graph=True`` through them raises ``RuntimeError``;
      ``impl="eager"`` (and ``peephole="none"`` on the CPU) support it.
    - ``flatten_parameters()`` is a no-op.

    See Also
    --------
    torch.nn.LSTM : The cuDNN-backed LSTM without peepholes.

    References
    ----------
    F. A. Gers and J. Schmidhuber, "Recurrent nets that time and count",
    IJCNN 2000. F. A. Gers, N. N. Schraudolph and J. Schmidhuber, "Learning
    precise timing with LSTM recurrent networks", JMLR 3, 2002.

    Examples
    --------
    >>> import torch
    >>> from sklstm.nn import PeepholeLSTM
    >>> lstm = PeepholeLSTM(input_size=3, hidden_size=8, num_layers=2, batch_first=True)
    >>> x = torch.randn(4, 10, 3)                  # (batch, seq_len, channels)
    >>> output, (h_n, c_n) = lstm(x)
    >>> output.shape, h_n.shape, c_n.shape
    (torch.Size([4, 10, 8]), torch.Size([2, 4, 8]), torch.Size([2, 4, 8]))
    >>> plain = torch.nn.LSTM(3, 8, num_layers=2, batch_first=True)
    >>> lstm.load_state_dict(plain.state_dict())    # peephole weights keep their init
    <All keys matched successfully>
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        *,
        peephole: str = "diagonal",
        impl: str = "auto",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.input_size = _check_positive_int("input_size", input_size)
        self.hidden_size = _check_positive_int("hidden_size", hidden_size)
        self.num_layers = _check_positive_int("num_layers", num_layers)
        if (
            isinstance(dropout, bool)
            or not isinstance(dropout, numbers.Real)
            or not 0 <= dropout <= 1
        ):
            raise ValueError(
                f"dropout must be a number in [0, 1] (the probability of zeroing an "
                f"element between layers), got {dropout!r}"
            )
        if peephole not in PEEPHOLE_MODES:
            raise ValueError(f"peephole must be one of {PEEPHOLE_MODES}, got {peephole!r}")
        if impl not in IMPLS:
            raise ValueError(f"impl must be one of {IMPLS}, got {impl!r}")
        if peephole == "none" and impl in ("cpu_fused", "triton"):
            raise ValueError(
                f"impl={impl!r} runs the peephole recurrences only; peephole='none' is a "
                "plain LSTM and runs torch's fused LSTM (cuDNN on CUDA). Use impl='auto' "
                "(or 'eager' for the generic loop), or a peephole mode."
            )
        if bidirectional:
            raise ValueError(
                "PeepholeLSTM does not support bidirectional=True: run a second PeepholeLSTM "
                "on the time-reversed input (input.flip(0), or flip(1) with batch_first=True), "
                "flip its output back and concatenate the two outputs on the last dimension"
            )
        if not isinstance(proj_size, numbers.Integral) or proj_size < 0:
            raise ValueError(
                f"proj_size must be an int >= 0 (only 0 is supported), got {proj_size!r}"
            )
        if proj_size:
            raise ValueError(
                f"PeepholeLSTM does not support proj_size > 0 (got proj_size={proj_size!r}): "
                "leave proj_size=0 and apply a torch.nn.Linear(hidden_size, proj_size) to "
                "the output"
            )
        if dropout > 0 and self.num_layers == 1:
            warnings.warn(
                "dropout > 0 has no effect with num_layers=1: it is applied between "
                f"stacked layers (got dropout={dropout}, num_layers=1)",
                UserWarning,
                stacklevel=2,
            )
        self.bias = bool(bias)
        self.batch_first = bool(batch_first)
        self.dropout = float(dropout)
        self.bidirectional = False
        self.proj_size = 0
        self.peephole = peephole
        self.impl = impl

        factory = {"device": device, "dtype": dtype}
        H = self.hidden_size
        for k in range(self.num_layers):
            layer_input = self.input_size if k == 0 else H
            self.register_parameter(
                f"weight_ih_l{k}", nn.Parameter(torch.empty(4 * H, layer_input, **factory))
            )
            self.register_parameter(
                f"weight_hh_l{k}", nn.Parameter(torch.empty(4 * H, H, **factory))
            )
            if self.bias:
                self.register_parameter(
                    f"bias_ih_l{k}", nn.Parameter(torch.empty(4 * H, **factory))
                )
                self.register_parameter(
                    f"bias_hh_l{k}", nn.Parameter(torch.empty(4 * H, **factory))
                )
            if peephole == "diagonal":
                self.register_parameter(
                    f"weight_ch_l{k}", nn.Parameter(torch.empty(3 * H, **factory))
                )
            elif peephole == "full":
                self.register_parameter(
                    f"weight_ch_l{k}", nn.Parameter(torch.empty(4 * H, H, **factory))
                )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw every parameter from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            nn.init.uniform_(weight, -bound, bound)

    @property
    def _all_weights(self) -> list[list[str]]:
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_ch")
        return [
            [f"{n}_l{k}" for n in names if hasattr(self, f"{n}_l{k}")]
            for k in range(self.num_layers)
        ]

    @property
    def all_weights(self) -> list[list[nn.Parameter]]:
        """The parameters of each layer, as ``torch.nn.LSTM.all_weights`` (peepholes last)."""
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def flatten_parameters(self) -> None:
        """A no-op, for code written for ``torch.nn.LSTM`` (which compacts cuDNN weights)."""

    def __prepare_scriptable__(self):
        raise RuntimeError(
            "torch.jit.script cannot compile PeepholeLSTM: its fused kernels are Python "
            "autograd functions. Use torch.jit.trace(module, example_input) (it traces the "
            "generic PyTorch loop), torch.compile or torch.export instead; an "
            "LSTMRegressor exports with export_torchscript() or sklstm.to_onnx()."
        )

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        s += f", peephole={self.peephole!r}"
        if self.impl != "auto":
            s += f", impl={self.impl!r}"
        return s

    def _load_from_state_dict(
        self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
    ):
        # A torch.nn.LSTM state dict has no peephole weights: they keep their
        # current values, so that such a state dict loads with strict=True.
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )
        has_any_peephole = any(
            key.startswith(prefix + "weight_ch_l") for key in state_dict if key.startswith(prefix)
        )
        if not has_any_peephole:
            missing_keys[:] = [
                key for key in missing_keys if not key.startswith(prefix + "weight_ch_l")
            ]

    def _layer_weights(
        self, k: int
    ) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None, Tensor | None]:
        return (
            getattr(self, f"weight_ih_l{k}"),
            getattr(self, f"weight_hh_l{k}"),
            getattr(self, f"bias_ih_l{k}", None),
            getattr(self, f"bias_hh_l{k}", None),
            getattr(self, f"weight_ch_l{k}", None),
        )

    def _check_input(
        self, input: Tensor, hx: tuple[Tensor, Tensor] | None, batch_first: bool
    ) -> bool:
        if not isinstance(input, Tensor):
            raise TypeError(
                f"input must be a torch.Tensor or a PackedSequence, got {type(input).__name__}"
            )
        if input.dim() not in (2, 3):
            raise ValueError(
                "input must be 3-D (seq_len, batch, input_size) -- or (batch, seq_len, "
                "input_size) with batch_first=True -- or 2-D (seq_len, input_size) for one "
                f"unbatched sequence; got a {input.dim()}-D tensor of shape {tuple(input.shape)}"
            )
        if input.shape[-1] != self.input_size:
            raise ValueError(
                f"input has {input.shape[-1]} features in its last dimension but this "
                f"PeepholeLSTM was built with input_size={self.input_size}"
            )
        if not input.is_floating_point():
            raise TypeError(
                f"input must be a floating-point tensor, got dtype {input.dtype}; "
                "convert it with input.float()"
            )
        weight = self.weight_ih_l0
        # Under autocast, torch casts the products itself (as for torch.nn.LSTM): a half
        # or bfloat16 input into float32 weights is what mixed precision hands over.
        if input.dtype != weight.dtype and not _autocast_on(input.device.type):
            raise ValueError(
                f"input dtype ({input.dtype}) does not match the dtype of the parameters "
                f"({weight.dtype}): convert the input with input.to({weight.dtype}) or the "
                f"module with module.to({input.dtype})"
            )
        if input.device != weight.device:
            raise RuntimeError(
                f"input is on {input.device} but the parameters are on {weight.device}: move "
                f"the input with input.to({str(weight.device)!r}) or the module with "
                f"module.to({str(input.device)!r})"
            )
        is_batched = input.dim() == 3
        if hx is not None:
            if not (isinstance(hx, (tuple, list)) and len(hx) == 2):
                raise TypeError("hx must be a tuple (h_0, c_0)")
            batch = (input.shape[0] if batch_first else input.shape[1]) if is_batched else None
            expected = (
                (self.num_layers, batch, self.hidden_size)
                if is_batched
                else (self.num_layers, self.hidden_size)
            )
            for name, state in zip(("h_0", "c_0"), hx, strict=True):
                if not isinstance(state, Tensor):
                    raise TypeError(
                        f"hx must be a tuple of two tensors (h_0, c_0); {name} is a "
                        f"{type(state).__name__}"
                    )
                if tuple(state.shape) != expected:
                    raise ValueError(
                        f"{name} must have shape {expected} (num_layers, batch, hidden_size), "
                        f"got {tuple(state.shape)}"
                    )
                # under autocast: the input's, the parameters' or autocast's own dtype
                allowed = (
                    {input.dtype, weight.dtype, torch.get_autocast_dtype(input.device.type)}
                    if _autocast_on(input.device.type)
                    else {input.dtype}
                )
                if state.device != input.device or state.dtype not in allowed:
                    raise ValueError(
                        f"{name} is {state.dtype} on {state.device}, the input {input.dtype} "
                        f"on {input.device}: give the states in the input's dtype and device "
                        f"({name}.to(input))"
                    )
        return is_batched

    def forward(
        self,
        input: Tensor | PackedSequence,
        hx: tuple[Tensor, Tensor] | None = None,
    ) -> tuple[Tensor | PackedSequence, tuple[Tensor, Tensor]]:
        """Run the LSTM over a batch of sequences.

        Parameters
        ----------
        input : Tensor of shape (seq_len, batch, input_size), or PackedSequence
            Or (batch, seq_len, input_size) with ``batch_first=True``, or
            (seq_len, input_size) for a single unbatched sequence, or a
            ``torch.nn.utils.rnn.PackedSequence`` (as from ``pack_padded_sequence``;
            one pass runs per distinct sequence length).
        hx : tuple (h_0, c_0), optional
            Initial states, each of shape (num_layers, batch, hidden_size)
            ((num_layers, hidden_size) for unbatched input); zeros if omitted.

        Returns
        -------
        output : Tensor of shape (seq_len, batch, hidden_size), or PackedSequence
            (batch first with ``batch_first=True``): h_t of the last layer; a
            ``PackedSequence`` (of the same lengths) for a packed input.
        (h_n, c_n) : Tensors of shape (num_layers, batch, hidden_size)
            The final states of every layer (for a packed input: at each
            sequence's own last step, in the original order of the batch).
        """
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        is_batched = self._check_input(input, hx, self.batch_first)
        if not is_batched:
            input = input.unsqueeze(1 if not self.batch_first else 0)
            if hx is not None:
                hx = (hx[0].unsqueeze(1), hx[1].unsqueeze(1))
        x = input.transpose(0, 1) if self.batch_first else input  # (seq_len, batch, feat)
        output, h_n, c_n = self._forward_time_major(x, hx)
        if self.batch_first:
            output = output.transpose(0, 1)
        if not is_batched:
            output = output.squeeze(1 if not self.batch_first else 0)
            h_n, c_n = h_n.squeeze(1), c_n.squeeze(1)
        return output, (h_n, c_n)

    def _forward_time_major(
        self, x: Tensor, hx: tuple[Tensor, Tensor] | None
    ) -> tuple[Tensor, Tensor, Tensor]:
        if hx is None:
            zeros = x.new_zeros(self.num_layers, x.shape[1], self.hidden_size)
            hx = (zeros, zeros)
        if self.peephole == "none":
            return self._forward_fused_plain(x, hx)
        return self._forward_peephole(x, hx)

    def _forward_packed(
        self, packed: PackedSequence, hx: tuple[Tensor, Tensor] | None
    ) -> tuple[PackedSequence, tuple[Tensor, Tensor]]:
        # The sequences of each length run as one batch, so that every sequence's
        # final state is taken at its own last step (padding never enters a cell).
        padded, lengths = pad_packed_sequence(packed)  # (T, batch, feat), original order
        self._check_input(padded, hx, batch_first=False)
        T, batch = padded.shape[0], padded.shape[1]
        if hx is None:
            zeros = padded.new_zeros(self.num_layers, batch, self.hidden_size)
            hx = (zeros, zeros)
        output = padded.new_zeros(T, batch, self.hidden_size)
        h_n = padded.new_zeros(self.num_layers, batch, self.hidden_size)
        c_n = h_n
        for length in torch.unique(lengths).tolist():
            idx = (lengths == length).nonzero().flatten().to(padded.device)
            out_g, h_g, c_g = self._forward_time_major(
                padded[:length].index_select(1, idx),
                (hx[0].index_select(1, idx), hx[1].index_select(1, idx)),
            )
            output = output.index_copy(1, idx, F.pad(out_g, (0, 0, 0, 0, 0, T - length)))
            h_n = h_n.index_copy(1, idx, h_g)
            c_n = c_n.index_copy(1, idx, c_g)
        if packed.sorted_indices is not None:
            output = output.index_select(1, packed.sorted_indices)
        data = torch.cat([output[t, :n] for t, n in enumerate(packed.batch_sizes.tolist())])
        return (
            PackedSequence(
                data, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices
            ),
            (h_n, c_n),
        )

    def _forward_peephole(
        self, x: Tensor, hx: tuple[Tensor, Tensor]
    ) -> tuple[Tensor, Tensor, Tensor]:
        h_n, c_n = [], []
        for k in range(self.num_layers):
            w_ih, w_hh, b_ih, b_hh, w_ch = self._layer_weights(k)
            # The input projection of every time step is one matrix product (with the
            # biases: one addmm).
            if b_ih is not None:
                x2 = x.reshape(-1, x.shape[-1])
                xw = torch.addmm(b_ih + b_hh, x2, w_ih.t()).view(*x.shape[:-1], w_ih.shape[0])
            else:
                xw = torch.matmul(x, w_ih.t())
            if torch.jit.is_tracing() and not torch.onnx.is_in_onnx_export():
                # torch.jit.trace records plain ops, not the fused kernels' autograd
                # functions; a scripted loop keeps the trace valid for any seq_len.
                recurrence = _scripted_recurrence()
            else:
                recurrence = select_recurrence(self.impl, self.peephole, xw)
            x, h, c = recurrence(xw, hx[0][k], hx[1][k], w_hh, w_ch, self.peephole)
            h_n.append(h)
            c_n.append(c)
            if self.dropout > 0 and self.training and k < self.num_layers - 1:
                x = F.dropout(x, p=self.dropout, training=True)
        return x, torch.stack(h_n), torch.stack(c_n)

    def _forward_fused_plain(
        self, x: Tensor, hx: tuple[Tensor, Tensor]
    ) -> tuple[Tensor, Tensor, Tensor]:
        if self.impl == "eager" or x.shape[0] == 0 or x.shape[1] == 0:
            # torch's fused LSTM refuses empty sequences and batches; the loop
            # returns the initial state for them, as in the peephole modes.
            return self._forward_peephole(x, hx)
        weights = [
            w for k in range(self.num_layers) for w in self._layer_weights(k)[:4] if w is not None
        ]
        with warnings.catch_warnings():
            # cuDNN wants one contiguous weight buffer and warns that it compacts
            # ours on every call; that copy is cheap next to the LSTM itself.
            warnings.filterwarnings("ignore", message="RNN module weights are not part")
            output, h_n, c_n = torch.lstm(
                x,
                (hx[0].contiguous(), hx[1].contiguous()),
                weights,
                self.bias,
                self.num_layers,
                self.dropout,
                self.training,
                False,
                False,
            )
        return output, h_n, c_n
