"""LSTMRegressor's training time over a bare PyTorch training loop, side by side.

Both train the same architecture (LSTM + Linear head on the last hidden
state) with the same epochs, batch size, learning rate (Adam), shuffling and
no early stopping, on the same data. The bare loop uses ``torch.nn.LSTM``
(oneDNN on CPU, cuDNN on CUDA); LSTMRegressor runs with ``peephole="none"``
(the same fused LSTM, so the ratio is the cost of the wrapping: validation,
skorch, history, batching) and with ``peephole="diagonal"`` (our peephole
path). Runs are interleaved and repeated; the table shows median times and the
ratio to the bare loop measured in the same round.

Usage::

    python benchmarks/bench_training.py                 # CPU, one thread
    python benchmarks/bench_training.py --device cuda
    python benchmarks/bench_training.py --threads 2 --repeats 7
    python benchmarks/bench_training.py --device cuda --json benchmarks/results/training_gpu.json

The last column, diagonal / none, is the cost of the peephole connections end to
end (our kernels against cuDNN / oneDNN inside the same estimator); ``--json``
writes the rows.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import numpy as np
import torch

from sklstm import LSTMRegressor


def bare_torch_fit(X, y, *, hidden, layers, epochs, batch_size, lr, device, seed):
    """The loop a user writes by hand: tensors, randperm batches, Adam, MSE."""
    torch.manual_seed(seed)
    Xt = torch.tensor(X, device=device)
    yt = torch.tensor((y - y.mean()) / y.std(), device=device).unsqueeze(1)
    lstm = torch.nn.LSTM(X.shape[2], hidden, num_layers=layers, batch_first=True).to(device)
    head = torch.nn.Linear(hidden, 1).to(device)
    params = list(lstm.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=lr)
    n = len(Xt)
    for _ in range(epochs):
        order = torch.randperm(n, device="cpu")
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size].to(device)
            opt.zero_grad()
            _, (h, _) = lstm(Xt[idx])
            loss = torch.nn.functional.mse_loss(head(h[-1]), yt[idx])
            loss.backward()
            opt.step()
            loss.item()  # a user logs the loss: one sync per batch, as skorch does
    return lstm


def sklstm_fit(X, y, *, hidden, layers, epochs, batch_size, lr, device, seed, peephole):
    return LSTMRegressor(
        hidden_size=hidden,
        num_layers=layers,
        max_iter=epochs,
        batch_size=batch_size,
        learning_rate_init=lr,
        n_iter_no_change=None,
        peephole=peephole,
        device=device,
        random_state=seed,
    ).fit(X, y)


def timed(fn, device):
    if device == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    fn()
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--json", default=None, help="write the rows to this file")
    args = parser.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error("--device cuda: torch.cuda.is_available() is False on this machine")
    torch.set_num_threads(args.threads)

    configs = [
        # n_samples, seq_len, channels, hidden, layers, batch
        (2048, 24, 8, 50, 1, 64),
        (2048, 24, 8, 50, 2, 64),
        (2048, 168, 8, 50, 1, 64),
        (4096, 24, 8, 128, 1, 256),
    ]
    rows = []
    for n, seq, ch, hidden, layers, batch in configs:
        rng = np.random.RandomState(0)
        X = rng.normal(size=(n, seq, ch)).astype(np.float32)
        y = X[:, -5:, 0].sum(axis=1) + 0.1 * rng.normal(size=n).astype(np.float32)
        common = dict(
            hidden=hidden,
            layers=layers,
            epochs=args.epochs,
            batch_size=batch,
            lr=1e-3,
            device=args.device,
            seed=0,
        )
        runs = {
            "bare torch.nn.LSTM": lambda c=common, X=X, y=y: bare_torch_fit(X, y, **c),
            "LSTMRegressor none": lambda c=common, X=X, y=y: sklstm_fit(
                X, y, peephole="none", **c
            ),
            "LSTMRegressor diagonal": lambda c=common, X=X, y=y: sklstm_fit(
                X, y, peephole="diagonal", **c
            ),
        }
        for fn in runs.values():  # warm-up (allocator, kernels, imports)
            fn()
        times = {name: [] for name in runs}
        for _ in range(args.repeats):
            for name, fn in runs.items():
                times[name].append(timed(fn, args.device))
        bare = statistics.median(times["bare torch.nn.LSTM"])
        ratio = {
            name: statistics.median(
                t / b for t, b in zip(times[name], times["bare torch.nn.LSTM"], strict=True)
            )
            for name in runs
        }
        ratio["diagonal / none"] = statistics.median(
            d / p
            for d, p in zip(
                times["LSTMRegressor diagonal"], times["LSTMRegressor none"], strict=True
            )
        )
        rows.append((n, seq, ch, hidden, layers, batch, bare, ratio))

    device_name = (
        torch.cuda.get_device_name() if args.device.startswith("cuda") else "CPU"
    ) + f", torch {torch.__version__}, {torch.get_num_threads()} thread(s)"
    print(f"\nTraining time, {args.epochs} epochs, median of {args.repeats} ({device_name})")
    print(
        "| n | seq | ch | hidden | layers | batch | bare loop s | none / bare | diagonal / bare "
        "| diagonal / none |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n, seq, ch, hidden, layers, batch, bare, ratio in rows:
        print(
            f"| {n} | {seq} | {ch} | {hidden} | {layers} | {batch} | {bare:.3f} "
            f"| {ratio['LSTMRegressor none']:.2f}x | {ratio['LSTMRegressor diagonal']:.2f}x "
            f"| {ratio['diagonal / none']:.2f}x |"
        )
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        keys = ("n", "seq", "channels", "hidden", "layers", "batch", "bare_s")
        out = {
            "device": device_name,
            "epochs": args.epochs,
            "repeats": args.repeats,
            "rows": [
                {
                    **dict(zip(keys, r[:7], strict=True)),
                    "none_over_bare": r[7]["LSTMRegressor none"],
                    "diagonal_over_bare": r[7]["LSTMRegressor diagonal"],
                    "diagonal_over_none": r[7]["diagonal / none"],
                }
                for r in rows
            ],
        }
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
