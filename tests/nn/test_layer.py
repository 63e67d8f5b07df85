"""PeepholeLSTM against the float64 reference and against torch.nn.LSTM.

Random seeds come from ``os.urandom``; each test's seed is printed (pytest shows
the output of a failed test) and named in the assertion messages, and
``SKLSTM_TEST_SEED=<seed>`` replays a failure.
"""

import itertools
import os

import pytest
import torch

from sklstm.nn import PeepholeLSTM, reference_lstm
from sklstm.nn._reference import reference_weights

MODES = ["diagonal", "full", "none"]
TOL = {torch.float64: 1e-10, torch.float32: 1e-5}

# (seq_len, batch, input_size, hidden_size, num_layers, batch_first, given_hx, bias)
SHAPES = [
    (1, 1, 1, 1, 1, False, False, True),  # the smallest everything
    (5, 3, 4, 7, 1, True, True, True),  # odd hidden size, user-given state
    (9, 1, 2, 5, 3, False, True, True),  # batch 1, three layers
    (6, 4, 3, 13, 2, True, False, False),  # no biases
    (24, 8, 8, 50, 1, True, False, True),  # a realistic small problem
]


@pytest.fixture(autouse=True)
def seed():
    """Seed torch's global generator (restored after the test) and print the seed."""
    value = int(os.environ.get("SKLSTM_TEST_SEED") or int.from_bytes(os.urandom(4), "little"))
    print(f"random seed {value} (replay with SKLSTM_TEST_SEED={value})")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(value)
        yield value


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.detach().double().cpu(), b.detach().double().cpu()
    assert torch.isfinite(a).all(), "non-finite values"
    denom = b.norm().item()
    return (a - b).norm().item() / (denom if denom > 0 else 1.0)


def run_with_grads(fn, inputs, upstream):
    """Call ``fn(*inputs)`` -> (out, (h, c)), backpropagate ``upstream``; return outs and grads."""
    for t in inputs:
        t.grad = None
    out, (h, c) = fn(*inputs)
    loss = (out * upstream[0]).sum() + (h * upstream[1]).sum() + (c * upstream[2]).sum()
    loss.backward()
    return [out, h, c], [t.grad for t in inputs]


def rounding_floor(module, inputs, upstream, n_state, reps=4, seed=0):
    """How far float32 rounding of the inputs alone moves the float64 reference's results.

    Every input and parameter is perturbed by up to its float32 unit roundoff (2^-24,
    relative) and the reference rerun in float64; the largest relative change of an
    output or gradient over ``reps`` perturbations. A float32 result cannot be closer to
    the reference than this where the problem is ill-conditioned (the one-unit case: a
    scalar gradient that is a difference of near-equal terms).
    """
    names = ["x"] + (["h0", "c0"] if n_state else []) + [n for n, _ in module.named_parameters()]

    def reference(tensors):
        given = dict(zip(names, tensors, strict=True))
        layers = [
            {
                key: given.get(f"{name}_l{k}")
                for key, name in [
                    ("w_ih", "weight_ih"),
                    ("w_hh", "weight_hh"),
                    ("b_ih", "bias_ih"),
                    ("b_hh", "bias_hh"),
                    ("w_ch", "weight_ch"),
                ]
            }
            for k in range(module.num_layers)
        ]
        state = (given["h0"], given["c0"]) if n_state else None

        def fn(*_):
            return reference_lstm(
                given["x"], layers, state, peephole=module.peephole,
                batch_first=module.batch_first,
            )  # fmt: skip

        outs, grads = run_with_grads(fn, tensors, [u.double() for u in upstream])
        return outs + grads

    base = [t.detach().double().requires_grad_() for t in inputs]
    results = reference(base)
    gen = torch.Generator().manual_seed(seed)
    worst = 0.0
    for _ in range(reps):
        moved = [
            (t.detach() * (1 + 2.0**-24 * (2 * torch.rand(t.shape, generator=gen).double() - 1)))
            .requires_grad_()
            for t in base
        ]  # fmt: skip
        worst = max(
            [worst] + [rel_err(a, b) for a, b in zip(reference(moved), results, strict=True)]
        )
    return worst


def make_case(mode, shape, dtype, device, seed, impl="auto"):
    seq, batch, n_in, hidden, layers, batch_first, given_hx, bias = shape
    gen = torch.Generator().manual_seed(seed)  # fresh inputs every run (see ``seed``)
    module = PeepholeLSTM(
        n_in, hidden, layers, bias=bias, batch_first=batch_first, peephole=mode, impl=impl
    )
    module = module.to(device=device, dtype=dtype)
    x_shape = (batch, seq, n_in) if batch_first else (seq, batch, n_in)
    x = torch.randn(x_shape, generator=gen, dtype=dtype).to(device).requires_grad_()
    hx = None
    if given_hx:
        hx = tuple(
            (0.5 * torch.randn(layers, batch, hidden, generator=gen, dtype=dtype))
            .to(device)
            .requires_grad_()
            for _ in range(2)
        )
    out_shape = (batch, seq, hidden) if batch_first else (seq, batch, hidden)
    upstream = [
        torch.randn(s, generator=gen, dtype=dtype).to(device)
        for s in (out_shape, (layers, batch, hidden), (layers, batch, hidden))
    ]
    return module, x, hx, upstream


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s[:5])))
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("impl", ["auto", "eager"])
def test_matches_float64_reference(mode, shape, dtype, impl, device, seed):
    module, x, hx, upstream = make_case(mode, shape, dtype, device, seed, impl)
    params = list(module.parameters())
    inputs = [x] + (list(hx) if hx is not None else []) + params
    n_state = 2 if hx is not None else 0

    def ours(x, *rest):
        return module(x, tuple(rest[:2]) if n_state else None)

    def ref(x, *rest):
        weights = reference_weights(module)
        return reference_lstm(
            x,
            weights,
            tuple(rest[:2]) if n_state else None,
            peephole=mode,
            batch_first=module.batch_first,
        )

    # Poison the gradients so that an unwritten one shows.
    outs, grads = run_with_grads(ours, inputs, upstream)
    ref_outs, ref_grads = run_with_grads(ref, inputs, [u.double() for u in upstream])
    names = ["x"] + (["h0", "c0"] if n_state else []) + [n for n, _ in module.named_parameters()]
    tol = TOL[dtype]
    pairs = zip(outs + grads, ref_outs + ref_grads, strict=True)
    errors = [rel_err(a, b) for a, b in pairs if a is not None]
    if dtype == torch.float32 and max(errors) >= tol:
        # An ill-conditioned draw (about 1 in 100 of the one-unit case): float32 is held to
        # what rounding its inputs does to the reference, with room for its own arithmetic.
        inputs_cpu = [t.detach().cpu() for t in inputs]
        upstream_cpu = [u.detach().cpu() for u in upstream]
        tol = max(tol, 20 * rounding_floor(module, inputs_cpu, upstream_cpu, n_state))
    for name, a, b in zip(["output", "h_n", "c_n"], outs, ref_outs, strict=True):
        assert a.dtype == dtype and a.device.type == device.type
        assert rel_err(a, b) < tol, f"{name}, seed={seed}"
    for name, a, b in zip(names, grads, ref_grads, strict=True):
        assert a is not None, f"no gradient for {name}"
        assert rel_err(a, b) < tol, f"gradient of {name}, seed={seed}"


@pytest.mark.parametrize("mode", MODES)
def test_gradcheck(mode):
    torch.manual_seed(0)
    module = PeepholeLSTM(2, 3, num_layers=2, peephole=mode).double()
    x = torch.randn(4, 2, 2, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(2, 2, 3, dtype=torch.float64, requires_grad=True)
    c0 = torch.randn(2, 2, 3, dtype=torch.float64, requires_grad=True)
    params = list(module.parameters())
    names = [n for n, _ in module.named_parameters()]

    def fn(x, h0, c0, *weights):
        replaced = dict(zip(names, weights, strict=True))
        out, (h, c) = torch.func.functional_call(module, replaced, (x, (h0, c0)))
        return out, h, c

    assert torch.autograd.gradcheck(fn, (x, h0, c0, *params))


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_none_equals_torch_lstm(batch_first, num_layers, device):
    torch.manual_seed(1)
    plain = torch.nn.LSTM(3, 6, num_layers=num_layers, batch_first=batch_first).to(device)
    ours = PeepholeLSTM(3, 6, num_layers=num_layers, batch_first=batch_first, peephole="none")
    ours = ours.to(device)
    ours.load_state_dict(plain.state_dict())
    x = torch.randn(4, 5, 3, device=device, requires_grad=True)
    hx = tuple(torch.randn(num_layers, 4 if batch_first else 5, 6, device=device) for _ in "hc")
    out_a, (h_a, c_a) = plain(x, hx)
    out_b, (h_b, c_b) = ours(x, hx)
    for a, b in [(out_a, out_b), (h_a, h_b), (c_a, c_b)]:
        assert rel_err(b, a) < 1e-6
    (gx_a,) = torch.autograd.grad(out_a.sum() + c_a.sum(), x)
    (gx_b,) = torch.autograd.grad(out_b.sum() + c_b.sum(), x)
    assert rel_err(gx_b, gx_a) < 1e-6


def test_torch_state_dict_loads_strictly_and_keeps_peepholes():
    plain = torch.nn.LSTM(3, 4, num_layers=2)
    ours = PeepholeLSTM(3, 4, num_layers=2)
    before = ours.weight_ch_l1.detach().clone()
    result = ours.load_state_dict(plain.state_dict())
    assert not result.missing_keys and not result.unexpected_keys
    assert torch.equal(ours.weight_hh_l1, plain.weight_hh_l1)
    assert torch.equal(ours.weight_ch_l1, before)
    # With the peepholes zeroed the peephole cell is exactly the plain cell.
    with torch.no_grad():
        ours.weight_ch_l0.zero_()
        ours.weight_ch_l1.zero_()
    x = torch.randn(7, 2, 3)
    assert rel_err(ours(x)[0], plain(x)[0]) < 1e-6
    # Its own state dict round-trips, peepholes included, and a partial one is refused.
    other = PeepholeLSTM(3, 4, num_layers=2)
    other.load_state_dict(ours.state_dict())
    assert torch.equal(other.weight_ch_l1, ours.weight_ch_l1)
    partial = {k: v for k, v in ours.state_dict().items() if k != "weight_ch_l1"}
    with pytest.raises(RuntimeError, match="weight_ch_l1"):
        other.load_state_dict(partial)


def test_parameter_names_and_shapes():
    diag = PeepholeLSTM(3, 5, num_layers=2)
    assert [n for n, _ in diag.named_parameters()] == [
        f"{w}_l{k}"
        for k in range(2)
        for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_ch")
    ]
    assert diag.weight_ih_l0.shape == (20, 3) and diag.weight_ih_l1.shape == (20, 5)
    assert diag.weight_ch_l0.shape == (15,)
    assert PeepholeLSTM(3, 5, peephole="full").weight_ch_l0.shape == (20, 5)
    assert not hasattr(PeepholeLSTM(3, 5, peephole="none"), "weight_ch_l0")
    bound = 1 / 5**0.5
    assert all(p.abs().max() <= bound for p in diag.parameters())


@pytest.mark.parametrize("mode", MODES)
def test_unbatched_input_matches_batch_of_one(mode):
    lstm = PeepholeLSTM(3, 4, num_layers=2, peephole=mode)
    x = torch.randn(6, 3)
    hx = (torch.randn(2, 4), torch.randn(2, 4))
    out, (h, c) = lstm(x, hx)
    out_b, (h_b, c_b) = lstm(x.unsqueeze(1), (hx[0].unsqueeze(1), hx[1].unsqueeze(1)))
    assert out.shape == (6, 4) and h.shape == (2, 4)
    torch.testing.assert_close(out, out_b.squeeze(1))
    torch.testing.assert_close(c, c_b.squeeze(1))


@pytest.mark.parametrize("mode", MODES)
def test_dropout_only_in_training(mode):
    torch.manual_seed(0)
    lstm = PeepholeLSTM(3, 8, num_layers=3, dropout=0.5, peephole=mode)
    x = torch.randn(5, 4, 3)
    lstm.eval()
    ref, _ = reference_lstm(x, reference_weights(lstm), peephole=mode)
    assert rel_err(lstm(x)[0], ref) < 1e-5
    lstm.train()
    assert rel_err(lstm(x)[0], ref) > 1e-3


def test_zero_length_sequence_returns_initial_state():
    lstm = PeepholeLSTM(3, 4)
    hx = (torch.randn(1, 2, 4), torch.randn(1, 2, 4))
    out, (h, c) = lstm(torch.randn(0, 2, 3), hx)
    assert out.shape == (0, 2, 4)
    torch.testing.assert_close(h, hx[0])
    torch.testing.assert_close(c, hx[1])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"hidden_size": 0}, "hidden_size must be a positive integer"),
        ({"input_size": 2.5}, "input_size must be a positive integer"),
        ({"num_layers": 0}, "num_layers must be a positive integer"),
        ({"dropout": 1.5}, r"dropout must be a number in \[0, 1\]"),
        ({"peephole": "diag"}, "peephole must be one of"),
        ({"impl": "fast"}, "impl must be one of"),
        ({"bidirectional": True}, "bidirectional"),
        ({"proj_size": 2}, "proj_size"),
    ],
)
def test_invalid_constructor_arguments(kwargs, match):
    args = {"input_size": 3, "hidden_size": 4, **kwargs}
    with pytest.raises(ValueError, match=match):
        PeepholeLSTM(**args)


def test_dropout_with_one_layer_warns():
    with pytest.warns(UserWarning, match="no effect with num_layers=1"):
        PeepholeLSTM(3, 4, dropout=0.2)


@pytest.mark.parametrize(
    "x, hx, error, match",
    [
        (torch.randn(5), None, ValueError, "must be 3-D"),
        (torch.randn(2, 3, 4, 5), None, ValueError, "must be 3-D"),
        (torch.randn(5, 2, 4), None, ValueError, "4 features .* input_size=3"),
        (torch.ones(5, 2, 3, dtype=torch.long), None, TypeError, "floating-point"),
        ([[1.0, 2.0, 3.0]], None, TypeError, "torch.Tensor"),
        (
            torch.randn(5, 2, 3),
            (torch.randn(1, 3, 4), torch.randn(1, 3, 4)),
            ValueError,
            "h_0 must have shape",
        ),
        (torch.randn(5, 2, 3), torch.randn(1, 2, 4), TypeError, "tuple"),
    ],
)
def test_invalid_forward_inputs(x, hx, error, match):
    with pytest.raises(error, match=match):
        PeepholeLSTM(3, 4)(x, hx)


def test_repr_names_the_mode():
    assert "peephole='full'" in repr(PeepholeLSTM(3, 4, peephole="full"))


@pytest.mark.parametrize("mode, impl", list(itertools.product(MODES, ["auto", "eager"])))
def test_pickle_and_deepcopy(mode, impl, tmp_path):
    import copy
    import pickle

    lstm = PeepholeLSTM(2, 3, peephole=mode, impl=impl)
    x = torch.randn(4, 1, 2)
    clone = pickle.loads(pickle.dumps(lstm))
    torch.testing.assert_close(clone(x)[0], lstm(x)[0], rtol=0, atol=0)
    torch.testing.assert_close(copy.deepcopy(lstm)(x)[0], lstm(x)[0], rtol=0, atol=0)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", [(0, 2, 3), (4, 0, 3), (0, 3)])
def test_empty_sequences_and_batches(mode, shape):
    # Found by the fuzzer: torch's fused LSTM ("none") refused these.
    lstm = PeepholeLSTM(3, 4, peephole=mode)
    out, (h, c) = lstm(torch.randn(shape))
    assert out.shape == shape[:-1] + (4,)
    assert torch.count_nonzero(h) == 0 and torch.count_nonzero(c) == 0


@pytest.mark.parametrize("impl", ["cpu_fused", "triton"])
def test_forced_peephole_kernels_refuse_a_plain_lstm(impl):
    with pytest.raises(ValueError, match=f"impl='{impl}' runs the peephole recurrences only"):
        PeepholeLSTM(3, 4, peephole="none", impl=impl)
    PeepholeLSTM(3, 4, peephole="none", impl="eager")  # the generic loop runs any mode


def test_a_negative_proj_size_is_named_as_such():
    with pytest.raises(ValueError, match="proj_size must be an int >= 0"):
        PeepholeLSTM(3, 4, proj_size=-1)
