"""Prediction latency of an ONNX export against LSTMRegressor.predict and the bare torch module.

One thread everywhere (``torch.set_num_threads(1)``, onnxruntime ``intra_op_num_threads=1``).
For each peephole mode, an LSTMRegressor (hidden 32, 1 layer, 24 steps, 1 channel) is fitted
briefly, exported with ``sklstm.to_onnx`` and timed on one window and on 1,024 windows;
then the default ``LSTMForecaster()`` is fitted on the airline series (fh 1..12, about
10-20 s) and one forecast is timed (see ``bench_forecaster``):

- ``onnxruntime``: ``session.run`` on the exported graph (target scaling included);
- ``predict``: ``LSTMRegressor.predict`` (validation, skorch, scaling);
- ``torch``: the bare network ``reg.module_`` under ``torch.no_grad()`` (no scaling).

Each figure is the best of ``--repeats`` timings of a loop that runs for at least
``--min-time`` seconds, the three taking turns (the machine may be shared). Run::

    python benchmarks/bench_export.py            # about a minute and a half
    python benchmarks/bench_export.py --quick    # a few seconds (smoke test)

The goals: onnxruntime within 1.5x of the bare torch module at 1,024 windows; one
forecast of the default LSTMForecaster in at most 1 ms.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
import torch  # noqa: E402

from sklstm import LSTMRegressor, to_onnx  # noqa: E402


def _time(fns: dict, *, repeats: int, min_time: float) -> dict:
    """Seconds per call of each of ``fns``: the best of ``repeats`` loops of >= ``min_time`` s.

    The functions take turns within each repeat, so that load from other processes hits
    them alike; the best loop is the one least disturbed.
    """
    best = {name: float("inf") for name in fns}
    for fn in fns.values():
        fn()  # warm-up (kernel builds, allocations)
    for _ in range(repeats):
        for name, fn in fns.items():
            n, start = 0, time.perf_counter()
            while True:
                fn()
                n += 1
                elapsed = time.perf_counter() - start
                if elapsed >= min_time:
                    break
            best[name] = min(best[name], elapsed / n)
    return best


def _session(model) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


def bench_regressor(peephole: str, args) -> list[tuple]:
    rng = np.random.RandomState(0)
    X = rng.normal(size=(1024, args.seq_len, 1)).astype(np.float32)
    y = X[:, -3:, 0].sum(axis=1)
    reg = LSTMRegressor(
        hidden_size=args.hidden, peephole=peephole, max_iter=2, random_state=0, device="cpu"
    ).fit(X, y)
    session = _session(to_onnx(reg))
    net = reg.module_.eval()
    rows = []
    for n in (1, 1024):
        Xn = np.ascontiguousarray(X[:n])
        Xt = torch.from_numpy(Xn)
        out = session.run(None, {"X": Xn})[0]
        assert np.allclose(out, reg.predict(Xn), rtol=1e-4, atol=1e-4)

        def run_torch(Xt=Xt):
            with torch.no_grad():
                net(Xt)

        timing = _time(
            {
                "onnxruntime": lambda Xn=Xn: session.run(None, {"X": Xn}),
                "predict": lambda Xn=Xn: reg.predict(Xn),
                "torch": run_torch,
            },
            repeats=args.repeats,
            min_time=args.min_time,
        )
        rows.append((f"LSTMRegressor peephole={peephole!r}", n, timing))
    return rows


def bench_forecaster(args) -> list[tuple]:
    """The default LSTMForecaster (airline, fh 1..12): one forecast from the newest window.

    ``onnxruntime`` runs ``sklstm.to_onnx(forecaster)`` on the last ``context_`` points
    (normalisations, the ensemble, its mean and the baseline blend in the graph);
    ``predict`` is ``forecaster.predict()`` (sktime's checks, the pandas index); ``torch``
    is the bare ensemble module ``ensemble_.module_`` on the encoded window (every network,
    no normalisation or blend).
    """
    from sktime.datasets import load_airline

    from sklstm import LSTMForecaster

    y = load_airline()
    start = time.perf_counter()
    forecaster = LSTMForecaster(random_state=0, device="cpu").fit(y, fh=list(range(1, 13)))
    fit_s = time.perf_counter() - start
    session = _session(to_onnx(forecaster))
    window = {"y": y.to_numpy(dtype=np.float32)[-forecaster.context_ :, None]}
    expected = forecaster.predict().to_numpy()
    out = session.run(None, window)[0][:, 0]
    error = float(np.abs(out - expected).max() / np.abs(expected).max())
    assert error <= 1e-5, error
    past = y.to_numpy(dtype=np.float64)[-forecaster.lookback_ :, None][None]
    parts = []
    for mode in forecaster.member_modes_:
        norm = forecaster.normalisers_[mode]
        parts.append(norm.encode_inputs(past, None, *norm.norms(past)))
    encoded = torch.from_numpy(np.concatenate(parts, axis=2))
    net = forecaster.ensemble_.module_.eval()

    def run_torch():
        with torch.no_grad():
            net(encoded)

    timing = _time(
        {
            "onnxruntime": lambda: session.run(None, window),
            "predict": forecaster.predict,
            "torch": run_torch,
        },
        repeats=args.repeats,
        min_time=args.min_time,
    )
    print(
        f"LSTMForecaster(): fit {fit_s:.1f} s, {len(forecaster.member_modes_)} networks "
        f"({', '.join(forecaster.member_modes_)}), lookback {forecaster.lookback_}, "
        f"baseline weights {forecaster.baseline_weights_}; onnx vs predict: max relative "
        f"error {error:.1e}"
    )
    return [("LSTMForecaster (default), fh 1..12", 1, timing)]


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:9.3f}"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--seq-len", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--min-time", type=float, default=0.2)
    parser.add_argument("--quick", action="store_true", help="1 repeat of 0.02 s (smoke test)")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.min_time = 1, 0.02
    torch.set_num_threads(1)
    rows = []
    for peephole in ("diagonal", "none", "full"):
        rows += bench_regressor(peephole, args)
    rows += bench_forecaster(args)

    print(
        f"hidden {args.hidden}, seq_len {args.seq_len}, 1 channel, 1 thread; "
        f"onnxruntime {ort.__version__}, torch {torch.__version__}"
    )
    header = (
        f"| {'model':<34} | {'windows':>7} | {'ort ms':>9} | {'predict ms':>10} | "
        f"{'torch ms':>9} | {'ort / torch':>11} | {'ort / predict':>13} |"
    )
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    for label, n, t in rows:
        print(
            f"| {label:<34} | {n:>7} | {_ms(t['onnxruntime'])} | {_ms(t['predict']):>10} | "
            f"{_ms(t['torch'])} | {t['onnxruntime'] / t['torch']:>11.2f} | "
            f"{t['onnxruntime'] / t['predict']:>13.2f} |"
        )


if __name__ == "__main__":
    main()
