"""PeepholeLSTM as a drop-in for torch.nn.LSTM: client code as PyTorch users write it.

Each test compares with ``torch.nn.LSTM`` on the same call, or with the float64
reference where the peepholes make torch's numbers inapplicable; where the two
differ by design the test pins the documented difference (a clear exception).
"""

import io
import subprocess
import sys
import warnings

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from sklstm.nn import PeepholeLSTM, reference_lstm
from sklstm.nn._reference import reference_weights

MODES = ["diagonal", "full", "none"]


@pytest.fixture(autouse=True)
def _seeded():
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        yield


def _flat(result):
    out, (h, c) = result
    return out, h, c


def _trace(module, example):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's TorchScript deprecation and tracer warnings
        return torch.jit.trace(module, example)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("enforce_sorted", [False, True])
def test_packed_sequence_matches_each_sequence_alone(mode, enforce_sorted):
    lstm = PeepholeLSTM(3, 4, num_layers=2, peephole=mode).double()
    lengths = torch.tensor([6, 3, 3, 1]) if enforce_sorted else torch.tensor([3, 6, 1, 3])
    x = torch.randn(6, 4, 3, dtype=torch.float64)
    hx = tuple(torch.randn(2, 4, 4, dtype=torch.float64) for _ in "hc")
    packed = pack_padded_sequence(x, lengths, enforce_sorted=enforce_sorted)
    out, (h, c) = lstm(packed, hx)
    assert isinstance(out, PackedSequence)
    assert torch.equal(out.batch_sizes, packed.batch_sizes)
    padded, out_lengths = pad_packed_sequence(out)
    assert torch.equal(out_lengths, lengths)
    weights = reference_weights(lstm)
    for b, length in enumerate(lengths.tolist()):
        state = (hx[0][:, b : b + 1], hx[1][:, b : b + 1])
        ref, (ref_h, ref_c) = reference_lstm(x[:length, b : b + 1], weights, state, peephole=mode)
        torch.testing.assert_close(padded[:length, b : b + 1], ref, rtol=0, atol=1e-12)
        torch.testing.assert_close(h[:, b : b + 1], ref_h, rtol=0, atol=1e-12)
        torch.testing.assert_close(c[:, b : b + 1], ref_c, rtol=0, atol=1e-12)


def test_packed_sequence_none_equals_torch_lstm_with_gradients():
    plain = nn.LSTM(3, 4, num_layers=2, batch_first=True)
    ours = PeepholeLSTM(3, 4, num_layers=2, batch_first=True, peephole="none")
    ours.load_state_dict(plain.state_dict())
    x = torch.randn(3, 5, 3, requires_grad=True)
    packed = pack_padded_sequence(
        x, torch.tensor([2, 5, 4]), batch_first=True, enforce_sorted=False
    )
    (out_a, (h_a, c_a)), (out_b, (h_b, c_b)) = plain(packed), ours(packed)
    assert torch.equal(out_a.sorted_indices, out_b.sorted_indices)
    for a, b in [(out_a.data, out_b.data), (h_a, h_b), (c_a, c_b)]:
        torch.testing.assert_close(b, a)
    (g_a,) = torch.autograd.grad(out_a.data.sum() + c_a.sum(), x, retain_graph=True)
    (g_b,) = torch.autograd.grad(out_b.data.sum() + c_b.sum(), x)
    torch.testing.assert_close(g_b, g_a)


@pytest.mark.parametrize("mode", MODES)
def test_trace_runs_any_sequence_length_and_batch(mode):
    # Before: the trace unrolled the time loop, silently running 5 steps on any input.
    lstm = PeepholeLSTM(3, 4, num_layers=2, peephole=mode).eval()
    traced = _trace(lstm, torch.randn(5, 2, 3))
    for shape in [(5, 2, 3), (9, 2, 3), (2, 7, 3)]:
        x = torch.randn(shape)
        (out, (h, c)), (ref, (ref_h, ref_c)) = traced(x), lstm(x)
        torch.testing.assert_close(out, ref)
        torch.testing.assert_close(h, ref_h)
        torch.testing.assert_close(c, ref_c)
        expected, _ = reference_lstm(x, reference_weights(lstm), peephole=mode)
        torch.testing.assert_close(out.double(), expected, rtol=0, atol=1e-5)


def test_traced_module_saves_and_loads_in_a_fresh_process(tmp_path):
    lstm = PeepholeLSTM(3, 4, peephole="diagonal", batch_first=True).eval()
    path = tmp_path / "lstm.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch >= 2.10 deprecates jit
        torch.jit.save(_trace(lstm, torch.randn(2, 5, 3)), str(path))
    x = torch.randn(4, 8, 3)
    torch.save(x, tmp_path / "x.pt")
    code = (
        "import sys, torch; m = torch.jit.load(sys.argv[1]); "
        "x = torch.load(sys.argv[2]); torch.save(m(x)[0], sys.argv[3])"
    )
    args = [str(path), str(tmp_path / "x.pt"), str(tmp_path / "y.pt")]
    subprocess.run([sys.executable, "-W", "ignore", "-c", code, *args], check=True, timeout=120)
    torch.testing.assert_close(torch.load(tmp_path / "y.pt"), lstm(x)[0])


@pytest.mark.parametrize("mode", MODES)
def test_jit_script_raises_a_clear_error(mode):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = PeepholeLSTM(3, 4, peephole=mode)

        def forward(self, x):
            return self.rnn(x)[0]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(
            RuntimeError, match="torch.jit.script cannot compile PeepholeLSTM.*trace"
        ):
            torch.jit.script(Net())


@pytest.mark.parametrize("mode", MODES)
def test_mismatched_dtype_and_device_raise_clear_errors(mode):
    lstm = PeepholeLSTM(3, 4, num_layers=2, peephole=mode)
    plain = nn.LSTM(3, 4, num_layers=2)
    x = torch.randn(5, 2, 3)
    # torch.nn.LSTM raises ValueError for the dtype; so do we (before: a raw addmm error).
    with pytest.raises(ValueError, match="does not match weight dtype"):
        plain(x.double())
    with pytest.raises(
        ValueError, match=r"input dtype \(torch.float64\).*input.to\(torch.float32"
    ):
        lstm(x.double())
    with pytest.raises(ValueError, match=r"h_0 is torch.float64.*h_0.to\(input\)"):
        lstm(x, (torch.zeros(2, 2, 4, dtype=torch.float64), torch.zeros(2, 2, 4)))
    with pytest.raises(ValueError, match="c_0 is torch.float16"):
        lstm(x, (torch.zeros(2, 2, 4), torch.zeros(2, 2, 4, dtype=torch.float16)))
    with pytest.raises(TypeError, match="h_0 is a NoneType"):
        lstm(x, (None, None))
    with pytest.raises(RuntimeError, match="parameters are on meta"):
        lstm.to("meta")(x)
    with pytest.raises(ValueError, match="h_0 is torch.float32 on meta"):
        PeepholeLSTM(3, 4, peephole=mode)(x, (torch.zeros(1, 2, 4, device="meta"),) * 2)


@pytest.mark.parametrize("mode", MODES)
def test_meta_device_gives_shapes(mode):
    lstm = PeepholeLSTM(3, 4, num_layers=2, batch_first=True, peephole=mode, device="meta")
    out, (h, c) = lstm(torch.empty(2, 5, 3, device="meta"))
    assert out.shape == (2, 5, 4) and h.shape == c.shape == (2, 2, 4) and out.is_meta


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_and_bfloat16_on_cpu_run_close_to_the_reference(mode, dtype):
    lstm = PeepholeLSTM(3, 4, num_layers=2, peephole=mode).to(dtype)
    x = torch.randn(5, 2, 3).to(dtype)
    out, (h, c) = lstm(x)
    assert out.dtype == h.dtype == c.dtype == dtype
    ref, _ = reference_lstm(x, reference_weights(lstm), peephole=mode)
    torch.testing.assert_close(out.double(), ref, rtol=0, atol=5e-2)


def test_create_graph_through_the_fused_path_is_refused_not_partial():
    # Gradients taken with create_graph=True through the fused path would lack its second
    # order wherever they are differentiated next (even via torch.autograd.grad on one
    # weight, which skips any error node off its path): refused at the backward itself.
    torch.manual_seed(0)
    lstm, head = PeepholeLSTM(2, 3, peephole="diagonal").double(), nn.Linear(3, 1).double()
    x = torch.randn(4, 2, 2, dtype=torch.float64, requires_grad=True)
    loss = head(lstm(x)[0]).pow(2).sum()
    with pytest.raises(RuntimeError, match="no double backward.*impl='eager'"):
        torch.autograd.grad(loss, x, create_graph=True)
    eager = PeepholeLSTM(2, 3, peephole="diagonal", impl="eager").double()
    eager.load_state_dict(lstm.state_dict())
    (gx,) = torch.autograd.grad(head(eager(x)[0]).pow(2).sum(), x, create_graph=True)
    (g_ih,) = torch.autograd.grad(gx.pow(2).sum(), eager.weight_ih_l0)
    assert torch.isfinite(g_ih).all() and g_ih.abs().sum() > 0


@pytest.mark.parametrize("mode", MODES)
def test_double_backward_is_exact_or_refused(mode):
    def penalty_grads(impl):
        lstm = PeepholeLSTM(2, 3, num_layers=2, peephole=mode, impl=impl).double()
        torch.manual_seed(1)
        lstm.reset_parameters()
        x = torch.randn(4, 2, 2, dtype=torch.float64, requires_grad=True)
        (gx,) = torch.autograd.grad(lstm(x)[0].pow(2).sum(), x, create_graph=True)
        gx.pow(2).sum().backward()
        return [p.grad for p in lstm.parameters()]

    eager = penalty_grads("eager")
    assert all(g is not None and g.abs().sum() > 0 for g in eager)
    if mode == "diagonal":
        # Before: the fused path returned gradients without their second order (silently
        # no gradient at all for weight_hh); now it says to use impl="eager".
        with pytest.raises(RuntimeError, match="no double backward.*impl='eager'"):
            penalty_grads("auto")
    else:
        for a, b in zip(penalty_grads("auto"), eager, strict=True):
            torch.testing.assert_close(a, b)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("batch_first", [False, True])
def test_gradcheck_through_h0_c0_and_input(mode, batch_first):
    lstm = PeepholeLSTM(2, 3, batch_first=batch_first, peephole=mode).double()
    x = torch.randn((2, 3, 2) if batch_first else (3, 2, 2), dtype=torch.float64)
    h0, c0 = torch.randn(1, 2, 3, dtype=torch.float64), torch.randn(1, 2, 3, dtype=torch.float64)
    inputs = [t.requires_grad_() for t in (x, h0, c0)]
    assert torch.autograd.gradcheck(lambda x, h, c: _flat(lstm(x, (h, c))), inputs)
    # one unbatched 2-D sequence with 2-D states
    x1 = (x[0] if batch_first else x[:, 0]).detach().requires_grad_()
    h1, c1 = (t.detach()[:, 0].requires_grad_() for t in (h0, c0))
    assert torch.autograd.gradcheck(lambda x, h, c: _flat(lstm(x, (h, c))), [x1, h1, c1])


@pytest.mark.parametrize("mode", MODES)
def test_unbatched_and_batch_first_match_the_reference(mode):
    lstm = PeepholeLSTM(3, 4, num_layers=2, batch_first=True, peephole=mode).double()
    x = torch.randn(5, 3, dtype=torch.float64)
    hx = (torch.randn(2, 4, dtype=torch.float64), torch.randn(2, 4, dtype=torch.float64))
    out, (h, c) = lstm(x, hx)
    assert out.shape == (5, 4) and h.shape == c.shape == (2, 4)
    ref, (ref_h, ref_c) = reference_lstm(
        x.unsqueeze(0), reference_weights(lstm), (hx[0][:, None], hx[1][:, None]),
        peephole=mode, batch_first=True,
    )  # fmt: skip
    torch.testing.assert_close(out, ref[0], rtol=0, atol=1e-12)
    torch.testing.assert_close(c, ref_c[:, 0], rtol=0, atol=1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_non_contiguous_inputs_and_frozen_parameters(mode):
    lstm = PeepholeLSTM(3, 4, num_layers=2, peephole=mode)
    x = torch.randn(2, 5, 6)[..., ::2].transpose(0, 1)  # (5, 2, 3), neither contiguous
    h0 = torch.randn(2, 4, 2).transpose(1, 2)
    out, (h, c) = lstm(x, (h0, h0))
    ref, (_, ref_c) = lstm(x.contiguous(), (h0.contiguous(), h0.contiguous()))
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-6)
    lstm.requires_grad_(False)
    x = x.clone().requires_grad_()
    out, _ = lstm(x)
    out.sum().backward()
    assert x.grad is not None and all(p.grad is None for p in lstm.parameters())
    with torch.inference_mode():
        assert lstm(x.detach())[0].is_inference()
    with torch.no_grad():
        assert not lstm(x)[0].requires_grad


def test_torch_lstm_helpers_used_by_client_code():
    lstm = PeepholeLSTM(3, 4, num_layers=2)
    lstm.flatten_parameters()  # DataParallel-era client code calls it; a no-op here
    assert [[p.shape for p in layer] for layer in lstm.all_weights] == [
        [(16, 3), (16, 4), (16,), (16,), (12,)],
        [(16, 4), (16, 4), (16,), (16,), (12,)],
    ]
    # The forget-gate bias idiom from torch.nn.LSTM code.
    for names in lstm._all_weights:
        for name in filter(lambda n: "bias" in n, names):
            getattr(lstm, name).data[4:8].fill_(1.0)
    assert torch.equal(lstm.bias_ih_l1[4:8], torch.ones(4))
    plain = nn.LSTM(3, 4, num_layers=2)
    ours = PeepholeLSTM(3, 4, num_layers=2, peephole="none")
    assert ours._all_weights == plain._all_weights


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"bidirectional": True}, "bidirectional=True: run a second PeepholeLSTM"),
        ({"proj_size": 2}, r"proj_size > 0 .*torch.nn.Linear"),
    ],
)
def test_unsupported_torch_arguments_say_what_to_do(kwargs, match):
    nn.LSTM(3, 4, **kwargs)  # torch supports them ...
    with pytest.raises(ValueError, match=match):  # ... we refuse at construction
        PeepholeLSTM(3, 4, **kwargs)


@pytest.mark.parametrize("mode", MODES)
def test_state_dict_round_trips_through_torch_save(mode):
    lstm = PeepholeLSTM(3, 4, num_layers=2, peephole=mode)
    buffer = io.BytesIO()
    torch.save(lstm.state_dict(), buffer)
    buffer.seek(0)
    other = PeepholeLSTM(3, 4, num_layers=2, peephole=mode)
    other.load_state_dict(torch.load(buffer, weights_only=True))
    x = torch.randn(5, 2, 3)
    torch.testing.assert_close(other(x)[0], lstm(x)[0], rtol=0, atol=0)
    bad = {**lstm.state_dict(), "weight_ih_l2": torch.zeros(1)}
    with pytest.raises(RuntimeError, match='Unexpected key.*"weight_ih_l2"'):
        other.load_state_dict(bad)
    if mode == "none":  # a plain cell's state dict is torch's own
        nn.LSTM(3, 4, num_layers=2).load_state_dict(lstm.state_dict())


@pytest.mark.parametrize("peephole", MODES)
def test_mixed_precision_input_runs_under_autocast_as_torch_lstm_does(peephole):
    # Mixed precision hands a bfloat16 input to float32 weights; outside autocast that is
    # a dtype mismatch (refused, as torch.nn.LSTM refuses it), inside it is the point.
    torch.manual_seed(0)
    lstm = PeepholeLSTM(3, 4, peephole=peephole)
    x = torch.randn(6, 2, 3)
    expected, _ = lstm(x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, (h, c) = lstm(x.bfloat16())
    assert out.shape == expected.shape and h.shape == c.shape == (1, 2, 4)
    torch.testing.assert_close(out.float(), expected, atol=5e-2, rtol=5e-2)
    with pytest.raises(ValueError, match="does not match the dtype of the parameters"):
        lstm(x.bfloat16())


@pytest.mark.parametrize("peephole", MODES)
def test_autocast_carries_the_state_from_chunk_to_chunk(peephole):
    # Truncated BPTT under mixed precision: a bfloat16 input (from a Linear under
    # autocast) with the float32 state the previous chunk returned.
    torch.manual_seed(0)
    lstm, encoder = PeepholeLSTM(3, 4, peephole=peephole), nn.Linear(3, 3)
    chunks = torch.randn(2, 5, 2, 3)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        hx = None
        for chunk in chunks:
            out, hx = lstm(encoder(chunk), hx)
    assert out.shape == (5, 2, 4) and torch.isfinite(out.float()).all()
    assert hx[0].shape == hx[1].shape == (1, 2, 4)


def test_autocast_still_refuses_states_of_a_foreign_dtype():
    lstm = PeepholeLSTM(3, 4)
    state = torch.zeros(1, 2, 4, dtype=torch.float64)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        with pytest.raises(ValueError, match="h_0 is torch.float64"):
            lstm(torch.randn(5, 2, 3), (state, state))
