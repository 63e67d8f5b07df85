"""The eager recurrence: plain PyTorch ops, autograd does the backward.

This is the generic path that runs on every device and dtype. It keeps the
number of ops per time step small (ten for the diagonal cell) because on
small problems their launch overhead, not arithmetic, is the cost.
"""

from __future__ import annotations

import torch
from torch import Tensor


def eager_recurrence(
    xw: Tensor,
    h: Tensor,
    c: Tensor,
    w_hh: Tensor,
    w_ch: Tensor | None,
    peephole: str,
) -> tuple[Tensor, Tensor, Tensor]:
    """Run one LSTM layer over time.

    Parameters
    ----------
    xw : Tensor of shape (seq_len, batch, 4 * hidden_size)
        The input projection of all time steps, both biases included.
    h, c : Tensor of shape (batch, hidden_size)
        The initial state.
    w_hh : Tensor of shape (4 * hidden_size, hidden_size)
    w_ch : Tensor of shape (3 * hidden_size,) ("diagonal"), (4 * hidden_size,
        hidden_size) ("full") or None ("none").
    peephole : {"diagonal", "full", "none"}

    Returns
    -------
    output : Tensor of shape (seq_len, batch, hidden_size)
    h_n, c_n : Tensor of shape (batch, hidden_size)
    """
    hidden = h.shape[-1]
    batch = h.shape[0]
    w_hh_t = w_hh.t()
    outputs: list[Tensor] = []  # annotated: torch.jit.script compiles this function
    if peephole == "diagonal":
        assert w_ch is not None
        w_cif = w_ch[: 2 * hidden].view(2, hidden)
        w_co = w_ch[2 * hidden :]
        for t in range(xw.shape[0]):
            gates = torch.addmm(xw[t], h, w_hh_t)
            # i and f in one op: (batch, 2, H) + (2, H) * (batch, 1, H)
            i_f = torch.sigmoid(
                torch.addcmul(gates[:, : 2 * hidden].view(batch, 2, hidden), w_cif, c.unsqueeze(1))
            )
            g = torch.tanh(gates[:, 2 * hidden : 3 * hidden])
            c = torch.addcmul(i_f[:, 1] * c, i_f[:, 0], g)
            o = torch.sigmoid(torch.addcmul(gates[:, 3 * hidden :], w_co, c))
            h = o * torch.tanh(c)
            outputs.append(h)
    elif peephole == "full":
        assert w_ch is not None
        w_c_ifg_t = w_ch[: 3 * hidden].t()
        w_co_t = w_ch[3 * hidden :].t()
        for t in range(xw.shape[0]):
            gates = torch.addmm(xw[t], h, w_hh_t)
            ifg = torch.addmm(gates[:, : 3 * hidden], c, w_c_ifg_t)
            i_f = torch.sigmoid(ifg[:, : 2 * hidden])
            g = torch.tanh(ifg[:, 2 * hidden :])
            c = torch.addcmul(i_f[:, hidden:] * c, i_f[:, :hidden], g)
            o = torch.sigmoid(torch.addmm(gates[:, 3 * hidden :], c, w_co_t))
            h = o * torch.tanh(c)
            outputs.append(h)
    elif peephole == "none":
        for t in range(xw.shape[0]):
            gates = torch.addmm(xw[t], h, w_hh_t)
            i_f = torch.sigmoid(gates[:, : 2 * hidden])
            g = torch.tanh(gates[:, 2 * hidden : 3 * hidden])
            c = torch.addcmul(i_f[:, hidden:] * c, i_f[:, :hidden], g)
            o = torch.sigmoid(gates[:, 3 * hidden :])
            h = o * torch.tanh(c)
            outputs.append(h)
    else:  # pragma: no cover - validated by the module
        raise ValueError("unknown peephole " + peephole)
    if outputs:
        output = torch.stack(outputs)
    else:
        output = xw.new_empty(0, batch, hidden)
    return output, h, c
