"""The float64 oracle: a plain, eager, one-gate-per-line LSTM loop.

Every fast path in :mod:`sklstm.nn` is tested against this file. It is written
for reading, not for speed: each gate is one line of the equations in
:class:`sklstm.nn.PeepholeLSTM`'s docstring, every computation is done in
float64, and nothing is fused, cached or reordered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor

__all__ = ["reference_cell", "reference_lstm", "reference_weights"]


def reference_cell(
    x: Tensor,
    h: Tensor,
    c: Tensor,
    weights: Mapping[str, Tensor | None],
    peephole: str,
) -> tuple[Tensor, Tensor]:
    """One time step of the (peephole) LSTM, one line per gate.

    Parameters
    ----------
    x : Tensor of shape (batch, input_size)
    h, c : Tensor of shape (batch, hidden_size)
        The previous hidden and cell state.
    weights : mapping
        ``w_ih`` (4H, input_size), ``w_hh`` (4H, H), ``b_ih`` and ``b_hh``
        (4H,) or None, and ``w_ch``: (3H,) for ``"diagonal"``, (4H, H) for
        ``"full"``, None for ``"none"``. Gate order (i, f, g, o).
    peephole : {"diagonal", "full", "none"}

    Returns
    -------
    h_t, c_t : Tensor of shape (batch, hidden_size)
    """
    W_ii, W_if, W_ig, W_io = weights["w_ih"].chunk(4, dim=0)
    W_hi, W_hf, W_hg, W_ho = weights["w_hh"].chunk(4, dim=0)
    if weights.get("b_ih") is not None:
        b_ii, b_if, b_ig, b_io = weights["b_ih"].chunk(4)
        b_hi, b_hf, b_hg, b_ho = weights["b_hh"].chunk(4)
    else:
        b_ii = b_if = b_ig = b_io = b_hi = b_hf = b_hg = b_ho = 0.0

    if peephole == "diagonal":
        w_ci, w_cf, w_co = weights["w_ch"].chunk(3)
        i = torch.sigmoid(x @ W_ii.T + b_ii + h @ W_hi.T + b_hi + w_ci * c)
        f = torch.sigmoid(x @ W_if.T + b_if + h @ W_hf.T + b_hf + w_cf * c)
        g = torch.tanh(x @ W_ig.T + b_ig + h @ W_hg.T + b_hg)
        c_t = f * c + i * g
        o = torch.sigmoid(x @ W_io.T + b_io + h @ W_ho.T + b_ho + w_co * c_t)
    elif peephole == "full":
        W_ci, W_cf, W_cg, W_co = weights["w_ch"].chunk(4, dim=0)
        i = torch.sigmoid(x @ W_ii.T + b_ii + h @ W_hi.T + b_hi + c @ W_ci.T)
        f = torch.sigmoid(x @ W_if.T + b_if + h @ W_hf.T + b_hf + c @ W_cf.T)
        g = torch.tanh(x @ W_ig.T + b_ig + h @ W_hg.T + b_hg + c @ W_cg.T)
        c_t = f * c + i * g
        o = torch.sigmoid(x @ W_io.T + b_io + h @ W_ho.T + b_ho + c_t @ W_co.T)
    elif peephole == "none":
        i = torch.sigmoid(x @ W_ii.T + b_ii + h @ W_hi.T + b_hi)
        f = torch.sigmoid(x @ W_if.T + b_if + h @ W_hf.T + b_hf)
        g = torch.tanh(x @ W_ig.T + b_ig + h @ W_hg.T + b_hg)
        c_t = f * c + i * g
        o = torch.sigmoid(x @ W_io.T + b_io + h @ W_ho.T + b_ho)
    else:
        raise ValueError(f"peephole must be 'diagonal', 'full' or 'none', got {peephole!r}")
    h_t = o * torch.tanh(c_t)
    return h_t, c_t


def reference_lstm(
    input: Tensor,
    layers: Sequence[Mapping[str, Tensor | None]],
    hx: tuple[Tensor, Tensor] | None = None,
    *,
    peephole: str = "diagonal",
    batch_first: bool = False,
) -> tuple[Tensor, tuple[Tensor, Tensor]]:
    """A stacked LSTM in float64, time step by time step (no dropout).

    Parameters
    ----------
    input : Tensor of shape (seq_len, batch, input_size), or (batch, seq_len,
        input_size) when ``batch_first``.
    layers : sequence of mappings
        One mapping of weights per layer, as :func:`reference_cell` takes them.
    hx : (h_0, c_0), each Tensor of shape (num_layers, batch, hidden_size), optional
        Zeros when not given.
    peephole : {"diagonal", "full", "none"}
    batch_first : bool

    Returns
    -------
    output : Tensor of shape (seq_len, batch, hidden_size) (batch first when asked)
    (h_n, c_n) : Tensors of shape (num_layers, batch, hidden_size)

    All results are float64, whatever the dtype of the arguments; gradients
    flow back to the arguments.

    Examples
    --------
    >>> import torch
    >>> from sklstm.nn import PeepholeLSTM, reference_lstm
    >>> from sklstm.nn._reference import reference_weights
    >>> lstm = PeepholeLSTM(3, 4, num_layers=2)
    >>> x = torch.randn(5, 2, 3)
    >>> ref, (h_n, c_n) = reference_lstm(x, reference_weights(lstm), peephole="diagonal")
    >>> ref.dtype, ref.shape
    (torch.float64, torch.Size([5, 2, 4]))
    >>> bool(torch.allclose(lstm(x)[0].double(), ref, atol=1e-6))
    True
    """
    x = input.double()
    if batch_first:
        x = x.transpose(0, 1)
    seq_len, batch = x.shape[0], x.shape[1]
    hidden_size = layers[0]["w_hh"].shape[1]
    if hx is None:
        zeros = x.new_zeros(len(layers), batch, hidden_size)
        hx = (zeros, zeros)
    h_n, c_n = [], []
    for k, weights in enumerate(layers):
        w64 = {name: (None if w is None else w.double()) for name, w in weights.items()}
        h, c = hx[0][k].double(), hx[1][k].double()
        outputs = []
        for t in range(seq_len):
            h, c = reference_cell(x[t], h, c, w64, peephole)
            outputs.append(h)
        x = torch.stack(outputs)
        h_n.append(h)
        c_n.append(c)
    output = x.transpose(0, 1) if batch_first else x
    return output, (torch.stack(h_n), torch.stack(c_n))


def reference_weights(module: torch.nn.Module) -> list[dict[str, Tensor | None]]:
    """The per-layer weights of a :class:`PeepholeLSTM` or ``torch.nn.LSTM``.

    The tensors are the module's own parameters (not copies), so gradients of
    :func:`reference_lstm` flow into them.
    """
    layers = []
    for k in range(module.num_layers):
        layers.append(
            {
                "w_ih": getattr(module, f"weight_ih_l{k}"),
                "w_hh": getattr(module, f"weight_hh_l{k}"),
                "b_ih": getattr(module, f"bias_ih_l{k}", None),
                "b_hh": getattr(module, f"bias_hh_l{k}", None),
                "w_ch": getattr(module, f"weight_ch_l{k}", None),
            }
        )
    return layers
