"""ONNX graph pieces for LSTM models, from numpy weights (no torch, no estimators).

Everything here writes nodes through a *builder*: an object with

- ``fresh(hint) -> str``: a new, unused value name;
- ``const(array, hint) -> str``: a constant tensor, returned by name;
- ``op(op_type, inputs, hint, n_outputs=1, **attrs) -> str | list[str]``: one node.

:class:`GraphBuilder` is the plain one (it also assembles a ``ModelProto``);
:mod:`sklstm.onnx` has one that writes into a skl2onnx container. The pieces:

- :func:`lstm_stack`: stacked (peephole) LSTM layers, time-major input, last hidden state out;
- :func:`sequence_to_vector`: an LSTM stack, a linear head and an affine output map (the
  target de-standardisation) -- one network of an estimator. An ensemble writes one per
  member, each under its own names, and combines their outputs.

Weights use torch's layout and gate order (i, f, g, o): one mapping per layer with
``w_ih`` (4H, C), ``w_hh`` (4H, H), ``b_ih`` and ``b_hh`` (4H,) or None, and ``w_ch``:
(3H,) = (w_ci, w_cf, w_co) for ``"diagonal"``, (4H, H) for ``"full"``, None for ``"none"``
(see ``sklstm/nn/_reference.py`` for the equations).

ONNX's ``LSTM`` operator orders the gates (i, o, f, c), concatenates the two biases into
one (8H,) vector and orders the peepholes (p_i, p_o, p_f); its peephole on o sees the new
cell state, as ours does. It runs ``"none"`` and ``"diagonal"``. The ``"full"`` peephole
(matrix products with the cell state) has no operator: it runs as a ``Scan`` over time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

__all__ = ["GraphBuilder", "MIN_OPSET", "lstm_stack", "sequence_to_vector"]

#: The oldest opset whose operators (Squeeze/Unsqueeze/Split with tensor inputs) we use.
MIN_OPSET = 13

_FLOAT = np.float32


class GraphBuilder:
    """Collects nodes and constants under unique names; builds a ``ModelProto``.

    Parameters
    ----------
    prefix : str, default=""
        Put in front of every name (keeps the names of a Scan body apart from the outer
        graph's).
    inline_constants : bool, default=False
        Write constants as ``Constant`` nodes instead of initializers (for subgraphs,
        which then need nothing from the outer graph).
    """

    def __init__(self, prefix: str = "", *, inline_constants: bool = False) -> None:
        self.prefix = prefix
        self.inline_constants = inline_constants
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._count = 0

    #: Optional inputs may be left out with an empty name ("").
    empty_inputs = True

    def fresh(self, hint: str) -> str:
        self._count += 1
        return f"{self.prefix}{hint}_{self._count}"

    def const(self, array, hint: str = "const") -> str:
        name = self.fresh(hint)
        tensor = numpy_helper.from_array(np.asarray(array), name)
        if self.inline_constants:
            self.nodes.append(helper.make_node("Constant", [], [name], value=tensor))
        else:
            self.initializers.append(tensor)
        return name

    def op(self, op_type: str, inputs: Sequence[str], hint: str | None = None,
           n_outputs: int = 1, **attrs) -> str | list[str]:  # fmt: skip
        outputs = [self.fresh(hint or op_type.lower()) for _ in range(n_outputs)]
        self.nodes.append(
            helper.make_node(op_type, list(inputs), outputs, name=self.fresh(op_type), **attrs)
        )
        return outputs[0] if n_outputs == 1 else outputs

    def graph(self, name: str, inputs, outputs) -> onnx.GraphProto:
        return helper.make_graph(self.nodes, name, inputs, outputs, self.initializers)

    def model(self, inputs, outputs, *, opset: int, doc: str = "") -> onnx.ModelProto:
        graph = self.graph("sklstm", inputs, outputs)
        model = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", opset)],
            producer_name="sklstm",
            doc_string=doc,
        )
        # The IR version of the opset, not the newest one this onnx knows: runtimes a
        # little older than the onnx package then still load the file.
        model.ir_version = min(model.ir_version, _ir_version_for(opset))
        onnx.checker.check_model(model, full_check=True)
        return model


def _ir_version_for(opset: int) -> int:
    for entry in onnx.helper.VERSION_TABLE:  # (release, ir_version, ai.onnx opset, ...)
        if entry[2] == opset:
            return entry[1]
    return onnx.IR_VERSION


def _f32(array) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(array, dtype=np.float64).astype(_FLOAT))


def _ints(g, values, hint="ints") -> str:
    return g.const(np.asarray(values, dtype=np.int64), hint)


def _to_onnx_gates(w: np.ndarray) -> np.ndarray:
    """Rows (i, f, g, o) of torch to ONNX's (i, o, f, c), along axis 0."""
    i, f, c, o = np.split(w, 4, axis=0)
    return np.concatenate([i, o, f, c], axis=0)


def _layer_arrays(weights: Mapping[str, np.ndarray | None]):
    w_ih = np.asarray(weights["w_ih"], dtype=np.float64)
    w_hh = np.asarray(weights["w_hh"], dtype=np.float64)
    four_h = w_hh.shape[0]
    b_ih = weights.get("b_ih")
    b_hh = weights.get("b_hh")
    b_ih = np.zeros(four_h) if b_ih is None else np.asarray(b_ih, dtype=np.float64)
    b_hh = np.zeros(four_h) if b_hh is None else np.asarray(b_hh, dtype=np.float64)
    return w_ih, w_hh, b_ih, b_hh


def _onnx_lstm_layer(g, x: str, weights, peephole: str, *, want_sequence: bool):
    """One layer with ONNX's LSTM operator; x is (T, N, C). Returns (Y (T, N, H), h_T (N, H))."""
    w_ih, w_hh, b_ih, b_hh = _layer_arrays(weights)
    hidden = w_hh.shape[1]
    inputs = [
        x,
        g.const(_f32(_to_onnx_gates(w_ih))[None], "lstm_W"),
        g.const(_f32(_to_onnx_gates(w_hh))[None], "lstm_R"),
        g.const(_f32(np.concatenate([_to_onnx_gates(b_ih), _to_onnx_gates(b_hh)]))[None],
                "lstm_B"),
    ]  # fmt: skip
    if peephole == "diagonal":
        w_ci, w_cf, w_co = np.split(np.asarray(weights["w_ch"], dtype=np.float64), 3)
        if getattr(g, "empty_inputs", False):
            # sequence_lens, initial_h, initial_c: "" is "not given" (all steps, zeros).
            inputs += ["", "", ""]
        else:  # skl2onnx cannot sort a graph with unnamed inputs: give them
            n_rows = g.op("Slice", [g.op("Shape", [x]), _ints(g, [1]), _ints(g, [2])], "n_rows")
            seq_len = g.op("Slice", [g.op("Shape", [x]), _ints(g, [0]), _ints(g, [1])], "seq_len")
            seq_len = g.op("Cast", [seq_len], "seq_len_i32", to=TensorProto.INT32)
            zeros = _zeros(g, [_ints(g, [1]), n_rows, _ints(g, [hidden])])
            inputs += [g.op("Expand", [seq_len, n_rows], "sequence_lens"), zeros, zeros]
        inputs.append(g.const(_f32(np.concatenate([w_ci, w_co, w_cf]))[None], "lstm_P"))
    y, y_h = g.op("LSTM", inputs, "lstm", n_outputs=2, hidden_size=hidden)
    h_last = g.op("Squeeze", [y_h, _ints(g, [0])], "h_last")  # (1, N, H) -> (N, H)
    seq = g.op("Squeeze", [y, _ints(g, [1])], "lstm_seq") if want_sequence else None
    return seq, h_last


def _zeros(g, dims: Sequence[str]) -> str:
    """float32 zeros of the shape given by the 1-element int64 tensors ``dims``."""
    shape = g.op("Concat", list(dims), "zeros_shape", axis=0)
    value = numpy_helper.from_array(np.zeros(1, dtype=_FLOAT))
    return g.op("ConstantOfShape", [shape], "zeros", value=value)


def _scan_full_layer(g, x: str, weights, *, want_sequence: bool):
    """One full-peephole layer as a Scan over time; x is (T, N, C)."""
    w_ih, w_hh, b_ih, b_hh = _layer_arrays(weights)
    w_ch = np.asarray(weights["w_ch"], dtype=np.float64)
    hidden = w_hh.shape[1]
    # The input projection of every time step is one product before the loop.
    xw = g.op("MatMul", [x, g.const(_f32(w_ih.T), "w_ih_t")], "xw")
    xw = g.op("Add", [xw, g.const(_f32(b_ih + b_hh), "bias")], "xw_b")

    body = GraphBuilder(prefix=g.fresh("scan") + "/", inline_constants=True)
    h_in, c_in, xw_t = body.fresh("h_prev"), body.fresh("c_prev"), body.fresh("xw_t")
    gates = body.op("MatMul", [h_in, body.const(_f32(w_hh.T), "w_hh_t")], "hw")
    gates = body.op("Add", [xw_t, gates], "gates")
    ifg_o = body.op("Split", [gates, _ints(body, [3 * hidden, hidden])], "ifg_o",
                    n_outputs=2, axis=1)  # fmt: skip
    ifg = body.op("MatMul", [c_in, body.const(_f32(w_ch[: 3 * hidden].T), "w_c_ifg_t")], "cw")
    ifg = body.op("Add", [ifg_o[0], ifg], "ifg")
    i, f, gg = body.op("Split", [ifg, _ints(body, [hidden] * 3)], "i_f_g", n_outputs=3, axis=1)
    i = body.op("Sigmoid", [i], "i")
    f = body.op("Sigmoid", [f], "f")
    gg = body.op("Tanh", [gg], "g")
    c_new = body.op("Add", [body.op("Mul", [f, c_in]), body.op("Mul", [i, gg])], "c")
    o = body.op("MatMul", [c_new, body.const(_f32(w_ch[3 * hidden :].T), "w_co_t")], "cwo")
    o = body.op("Sigmoid", [body.op("Add", [ifg_o[1], o])], "o")
    h_new = body.op("Mul", [o, body.op("Tanh", [c_new])], "h")
    state_outputs = [body.op("Identity", [h_new], "h_out"), body.op("Identity", [c_new], "c_out")]
    scan_outputs = [body.op("Identity", [h_new], "y_out")] if want_sequence else []

    def vi(name, shape):
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)

    body_graph = body.graph(
        body.prefix + "body",
        [vi(h_in, ["N", hidden]), vi(c_in, ["N", hidden]), vi(xw_t, ["N", 4 * hidden])],
        [vi(n, ["N", hidden]) for n in state_outputs + scan_outputs],
    )
    # Zero initial states of shape (N, H), N read from x at run time.
    n_rows = g.op("Slice", [g.op("Shape", [x]), _ints(g, [1]), _ints(g, [2])], "n_rows")
    zeros = _zeros(g, [n_rows, _ints(g, [hidden])])
    outs = g.op("Scan", [zeros, zeros, xw], "scan", n_outputs=2 + len(scan_outputs),
                body=body_graph, num_scan_inputs=1)  # fmt: skip
    return (outs[2] if want_sequence else None), outs[0]


def lstm_stack(g, x: str, layers: Sequence[Mapping[str, np.ndarray | None]], peephole: str):
    """Stacked LSTM layers over time-major ``x`` (T, N, C); returns the last h_T (N, H).

    Dropout is not written: it is an identity at inference.
    """
    if peephole not in ("diagonal", "full", "none"):
        raise ValueError(f"peephole must be 'diagonal', 'full' or 'none', got {peephole!r}")
    h_last = None
    if peephole != "full":
        # onnxruntime's LSTM operator aborts the whole process on a batch of 0 rows: one
        # row of zeros goes in front of the batch, and its output is dropped at the end.
        shape = g.op("Shape", [x], "x_shape")
        first = g.op("Slice", [shape, _ints(g, [0]), _ints(g, [1])], "x_steps")
        last = g.op("Slice", [shape, _ints(g, [2]), _ints(g, [3])], "x_channels")
        pad = _zeros(g, [first, _ints(g, [1]), last])
        x = g.op("Concat", [pad, x], "x_padded", axis=1)
    for k, weights in enumerate(layers):
        want_sequence = k < len(layers) - 1
        if peephole == "full":
            x, h_last = _scan_full_layer(g, x, weights, want_sequence=want_sequence)
        else:
            x, h_last = _onnx_lstm_layer(g, x, weights, peephole, want_sequence=want_sequence)
    if peephole != "full":
        end = _ints(g, [np.iinfo(np.int64).max])
        h_last = g.op("Slice", [h_last, _ints(g, [1]), end, _ints(g, [0])], "h_last_rows")
    return h_last


def linear(g, x: str, weight, bias) -> str:
    """``x @ weight.T + bias`` (torch's Linear), x of shape (N, in)."""
    return g.op(
        "Gemm", [x, g.const(_f32(weight), "head_W"), g.const(_f32(bias), "head_b")], "head",
        transB=1,
    )  # fmt: skip


def scale_shift(g, x: str, scale, shift, hint: str = "affine") -> str:
    """``x * scale + shift`` in float32, broadcast along the last axis."""
    x = g.op("Mul", [x, g.const(_f32(np.atleast_1d(scale)), f"{hint}_scale")], hint)
    return g.op("Add", [x, g.const(_f32(np.atleast_1d(shift)), f"{hint}_shift")], hint)


def standardise(g, x: str, center, scale, hint: str = "scaled") -> str:
    """``(x - center) / scale`` in float32 (the order of operations of numpy's transform)."""
    x = g.op("Sub", [x, g.const(_f32(np.atleast_1d(center)), f"{hint}_center")], hint)
    return g.op("Div", [x, g.const(_f32(np.atleast_1d(scale)), f"{hint}_scale")], hint)


def sequence_to_vector(
    g,
    x: str,
    layers: Sequence[Mapping[str, np.ndarray | None]],
    peephole: str,
    head_weight,
    head_bias,
    out_scale,
    out_shift,
) -> str:
    """One network: LSTM stack on the last time step, linear head, ``* out_scale + out_shift``.

    ``x`` is batch-first (N, T, C) float32; the result is (N, n_outputs) float32. This is
    ``SequenceToVector`` followed by the de-standardisation of the targets.
    """
    x_tnc = g.op("Transpose", [x], "time_major", perm=[1, 0, 2])
    h_last = lstm_stack(g, x_tnc, layers, peephole)
    out = linear(g, h_last, head_weight, head_bias)
    return scale_shift(g, out, out_scale, out_shift, "y")
