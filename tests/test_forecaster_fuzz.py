"""LSTMForecaster tried as a new user would: time indices, lengths, fh shapes, X, update.

Every fuzzed example knows in advance what must happen: finite forecasts on the
right time points, or one of the documented errors with a message that says what
was wrong. Any other outcome (a TypeError from deep inside, forecasts on the wrong
time points, a warning the user did not cause) fails.
"""

import warnings

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("sktime", reason="LSTMForecaster needs sktime (pip install sklstm[sktime])")

from hypothesis import HealthCheck, Phase, event, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from sktime.forecasting.base import ForecastingHorizon  # noqa: E402

from sklstm import LSTMForecaster  # noqa: E402
from sklstm._forecast.index import check_index  # noqa: E402

TINY = {"hidden_size": 2, "max_iter": 1, "n_models": 1, "random_state": 0}
FUZZ = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],  # no slow "explain"
)
GAP = "consecutive time steps"  # the start of every gap error
SHRINK = "is too long for"  # the one warning a user causes: an int lookback that must shrink

# Index kinds: how to build n consecutive time points, and one step of them.
KINDS = {
    "period-M": (lambda n: pd.period_range("2000-01", periods=n, freq="M"), 1),
    "period-Q": (lambda n: pd.period_range("1990Q1", periods=n, freq="Q"), 1),
    "datetime-D": (lambda n: pd.date_range("2020-01-06", periods=n, freq="D"), pd.offsets.Day()),
    "datetime-MS": (
        lambda n: pd.date_range("2001-01-01", periods=n, freq="MS"),
        pd.offsets.MonthBegin(),
    ),
    # the same points, but no freq set: pandas can infer it
    "datetime-D-nofreq": (
        lambda n: pd.DatetimeIndex(list(pd.date_range("2020-01-06", periods=n, freq="D"))),
        pd.offsets.Day(),
    ),
    "datetime-MS-nofreq": (
        lambda n: pd.DatetimeIndex(list(pd.date_range("2001-01-01", periods=n, freq="MS"))),
        pd.offsets.MonthBegin(),
    ),
    "range": (lambda n: pd.RangeIndex(n), 1),
    "integer": (lambda n: pd.Index(np.arange(100, 100 + n)), 1),
}


def _series(kind, n, gap=False, seed=0):
    """A positive, gently seasonal series of ``n`` points; ``gap``: one point dropped.

    The daily series start on a Monday, so that no single missing day leaves business
    days (which pandas would rightly infer as frequency "B").
    """
    make, _ = KINDS[kind]
    index = make(n + 1)
    index = index.delete(n // 2) if gap else index[:n]
    if gap and isinstance(index, pd.DatetimeIndex):
        index = pd.DatetimeIndex(list(index))  # no freq, and none to infer
    t = np.arange(n)
    rng = np.random.RandomState(seed)
    values = 10 + np.sin(2 * np.pi * t / 6) + 0.1 * rng.normal(size=n)
    return pd.Series(values, index=index, name="y")


def _after(index, kind, steps):
    """The time points ``steps`` steps after the last point of ``index`` (our own arithmetic)."""
    _, step = KINDS[kind]
    return [index[-1] + int(k) * step for k in steps]


def _as_fh(steps, shape, cutoff_index, kind):
    if shape == "list":
        return list(steps)
    if shape == "array":
        return np.asarray(steps)
    if shape == "relative":
        return ForecastingHorizon(list(steps), is_relative=True)
    if shape == "absolute":
        absolute = pd.Index(_after(cutoff_index, kind, sorted(steps)))
        return ForecastingHorizon(absolute, is_relative=False)
    if shape == "int":
        return int(max(steps))
    raise AssertionError(shape)


def _text(t):
    """A time point as the messages write it (a date for a timestamp at midnight)."""
    return str(t.date()) if isinstance(t, pd.Timestamp) else str(t)


def _check_forecasts(pred, expected_index, n_columns=None):
    assert list(pred.index) == list(expected_index)
    values = pred.to_numpy()
    assert np.isfinite(values).all()
    if n_columns is not None:
        assert values.shape == (len(expected_index), n_columns)


def _only_shrink_warnings(caught):
    unexpected = [str(w.message) for w in caught if SHRINK not in str(w.message)]
    assert not unexpected, unexpected


# What each refusal's message must say.
REFUSALS = {
    "duplicate fh": "duplicates",  # sktime's
    "no freq, absolute fh": "freq",  # sktime's: it turns an absolute fh into steps before fit
    "gap": GAP,
    "too short": "too few",
}


def _expected_refusal(strategy, duplicated, gappy, no_freq, shape, short):
    """Which error must come first, in the order the checks run (None: no error)."""
    if strategy == "recursive":  # fit sees no fh: the series is checked first
        order = [(gappy or no_freq, "gap"), (short, "too short"), (duplicated, "duplicate fh")]
    else:  # sktime checks fh (and turns an absolute one into steps) before fit
        order = [
            (duplicated, "duplicate fh"),
            (no_freq and shape == "absolute", "no freq, absolute fh"),
            (gappy or no_freq, "gap"),
            (short, "too short"),
        ]
    return next((reason for happens, reason in order if happens), None)


FH_STEPS = st.lists(st.integers(1, 4), min_size=1, max_size=4, unique=True)
RARELY = st.sampled_from([False, False, False, False, False, True])


@FUZZ
@given(
    kind=st.sampled_from(sorted(KINDS)),
    gap=RARELY,
    lookback=st.sampled_from(["auto", 1, 2, 3, 5]),
    steps=FH_STEPS,
    duplicate=RARELY,
    shape=st.sampled_from(["list", "array", "relative", "absolute", "int", "unsorted"]),
    slack=st.integers(-2, 2),
    strategy=st.sampled_from(["multioutput", "recursive"]),
    window_scaling=st.sampled_from(["both", "mean", "last", "none"]),
    early_stopping=st.booleans(),
)
def test_fuzz_index_length_and_fh(
    kind, gap, lookback, steps, duplicate, shape, slack, strategy, window_scaling, early_stopping
):
    if shape == "unsorted":
        steps, shape = sorted(steps, reverse=True), "list"
    if shape == "int":  # sktime reads fh=k as the steps 1 .. k
        steps = list(range(1, steps[0] + 1))
    elif duplicate:
        steps = [*steps, steps[0]]
    horizon = max(steps)
    # lengths around lookback + horizon; "auto" shrinks (silently) down to lookback 1
    n = max((2 if lookback == "auto" else lookback) + horizon + slack, 2)
    y = _series(kind, n, gap=gap and kind != "range")
    gappy = gap and kind != "range"
    shortest = 2 if strategy == "recursive" else horizon + 1  # two windows of lookback 1
    # a DatetimeIndex without freq whose freq pandas cannot infer (3 points are needed)
    no_freq = kind.startswith("datetime") and (gappy or (kind.endswith("nofreq") and n < 3))
    duplicated = shape != "int" and len(set(steps)) < len(steps)
    forecaster = LSTMForecaster(
        lookback=lookback,
        strategy=strategy,
        window_scaling=window_scaling,
        early_stopping=early_stopping,
        **TINY,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if strategy == "recursive":  # fh in predict only
                forecaster.fit(y)
                pred = forecaster.predict(fh=_as_fh(steps, shape, y.index, kind))
            else:
                pred = forecaster.fit(y, fh=_as_fh(steps, shape, y.index, kind)).predict()
        except ValueError as exc:
            message = str(exc)
            reason = _expected_refusal(strategy, duplicated, gappy, no_freq, shape, n < shortest)
            assert reason is not None, message
            assert REFUSALS[reason] in message, message
            event(f"refused: {reason}")
            return
    reason = _expected_refusal(strategy, duplicated, gappy, no_freq, shape, n < shortest)
    assert reason is None, f"accepted, but expected a refusal: {reason}"
    _only_shrink_warnings(caught)
    event(f"forecast ({kind})")
    unique = sorted(set(steps))
    _check_forecasts(pred, _after(y.index, kind, unique))
    assert isinstance(pred, pd.Series)  # y was a Series


@FUZZ
@given(
    kind=st.sampled_from(sorted(KINDS)),
    steps=FH_STEPS,
    x_fit=st.sampled_from(["same", "extra"]),
    x_predict=st.sampled_from(["exact", "extra", "missing-row", "missing-column", "none"]),
    strategy=st.sampled_from(["multioutput", "recursive"]),
    n_x=st.integers(1, 2),
)
def test_fuzz_exogenous_alignment(kind, steps, x_fit, x_predict, strategy, n_x):
    steps = sorted(set(steps))
    n = 14
    make, _ = KINDS[kind]
    full = make(n + 8)  # 8 steps past the end of y: room for every fh and extra rows
    y = pd.Series(10 + np.sin(np.arange(n)), index=full[:n], name="y")
    rng = np.random.RandomState(1)
    X_all = pd.DataFrame(rng.normal(size=(len(full), n_x)), index=full).add_prefix("x")
    X_fit = X_all.iloc[:n] if x_fit == "same" else X_all.iloc[: n + 3]
    needed = max(steps)  # predict needs X for steps 1 .. max(fh)
    X_future = {
        "exact": X_all.iloc[n : n + needed],
        "extra": X_all.iloc[n - 3 : n + 8],
        "missing-row": X_all.iloc[n : n + needed].drop(full[n + needed - 1]),
        "missing-column": X_all.iloc[n : n + needed, :-1] if n_x > 1 else None,
        "none": None,
    }[x_predict]
    forecaster = LSTMForecaster(lookback=3, strategy=strategy, **TINY)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit_fh = None if strategy == "recursive" else steps
        forecaster.fit(y, X=X_fit, fh=fit_fh)
        predict_fh = steps if strategy == "recursive" else None
        if X_future is None or x_predict in ("missing-row", "missing-column"):
            with pytest.raises(ValueError, match="needs X for every time point|lacks the column"):
                forecaster.predict(fh=predict_fh, X=X_future)
            event("X refused at predict")
            return
        event(f"forecast with X {x_fit}/{x_predict}")
        pred = forecaster.predict(fh=predict_fh, X=X_future)
        interval = forecaster.predict_interval(fh=predict_fh, X=X_future, coverage=0.8)
    _only_shrink_warnings(caught)
    expected = _after(y.index, kind, steps)
    _check_forecasts(pred, expected)
    _check_forecasts(interval, expected, n_columns=2)
    assert (interval.iloc[:, 0] <= interval.iloc[:, 1]).all()


@FUZZ
@given(
    kind=st.sampled_from(sorted(KINDS)),
    start=st.integers(-3, 2),  # first new point, relative to the step after the cutoff
    length=st.integers(1, 4),
    update_params=st.booleans(),
)
def test_fuzz_update_continuity(kind, start, length, update_params):
    n_fit = 16
    y = _series(kind, n_fit + 8)
    forecaster = LSTMForecaster(lookback=3, **TINY).fit(y.iloc[:n_fit], fh=[1, 2])
    cutoff, before = forecaster.cutoff, forecaster.predict()
    first = n_fit + start
    new = y.iloc[first : first + length]
    last_new = first + length - 1
    event("gap" if start > 0 else "old" if last_new < n_fit - 1 else "continues")
    if start > 0:  # a gap after the data seen
        with pytest.raises(ValueError, match=f"must start at {_text(y.index[n_fit])}"):
            forecaster.update(new, update_params=update_params)
    elif last_new < n_fit - 1:  # ends before the cutoff: sktime would move the cutoff back
        with pytest.raises(ValueError, match="before the last time point already seen"):
            forecaster.update(new, update_params=update_params)
    else:
        forecaster.update(new, update_params=update_params)
        end = max(last_new, n_fit - 1)
        assert forecaster.cutoff[0] == y.index[end]
        assert len(forecaster._hist_y) == end + 1
        _check_forecasts(forecaster.predict(), _after(y.index[: end + 1], kind, [1, 2]))
        return
    # a refused update leaves the forecaster as it was
    assert forecaster.cutoff.equals(cutoff)
    pd.testing.assert_series_equal(forecaster.predict(), before)


# ---- the cases behind the fuzzing, one by one -----------------------------------------------


def _gappy_daily(n=40):
    index = pd.date_range("2020-01-01", periods=n + 3, freq="D").delete([10, 11, 30])
    return pd.Series(10 + np.sin(np.arange(n) / 3), index=index)


def test_gappy_datetime_index_raises_at_fit_naming_the_fixes_and_the_fixes_work():
    y = _gappy_daily()
    assert y.index.freq is None and pd.infer_freq(y.index) is None
    with pytest.raises(ValueError, match=GAP) as info:
        LSTMForecaster(lookback=4, **TINY).fit(y, fh=[1, 2])
    message = str(info.value)
    assert "2020-01-10 is followed by 2020-01-13" in message  # where the first gap is
    for fix in ("y.asfreq('D')", "to_period", "reset_index(drop=True)"):
        assert fix in message
    filled = y.asfreq("D").interpolate()
    pred = LSTMForecaster(lookback=4, **TINY).fit(filled, fh=[1, 2]).predict()
    _check_forecasts(pred, pd.date_range("2020-02-13", periods=2, freq="D"))
    steps = LSTMForecaster(lookback=4, **TINY).fit(y.reset_index(drop=True), fh=[1, 2]).predict()
    _check_forecasts(steps, [40, 41])


def test_two_dates_without_freq_raise_naming_the_freq_to_set():
    """pandas needs three points to infer a frequency; sktime cannot step from two."""
    y = pd.Series([1.0, 2.0], index=pd.DatetimeIndex(["2020-01-01", "2020-01-02"]))
    with pytest.raises(ValueError, match=rf"{GAP}.*three points.*y.asfreq\('D'\)"):
        LSTMForecaster(lookback=1, **TINY).fit(y, fh=[1])
    pred = LSTMForecaster(lookback=1, **TINY).fit(y.asfreq("D"), fh=[1]).predict()
    _check_forecasts(pred, pd.DatetimeIndex(["2020-01-03"]))


@pytest.mark.parametrize(
    "index, where",
    [
        (pd.period_range("2000-01", periods=12, freq="M").delete(5), "2000-05 to 2000-07"),
        (pd.Index(np.r_[0:6, 8:14]), "5 to 8"),
        (pd.RangeIndex(0, 24, 2), "0 to 2"),
    ],
    ids=["period", "integer", "range-step-2"],
)
def test_period_and_integer_gaps_raise_naming_the_jump(index, where):
    y = pd.Series(np.linspace(1, 2, len(index)), index=index)
    with pytest.raises(ValueError, match=f"{GAP}.*jumps from {where}"):
        LSTMForecaster(lookback=2, **TINY).fit(y, fh=[1])


@pytest.mark.parametrize(
    "index",
    [
        pd.date_range("2020-01-01", periods=20, freq="D").insert(10, pd.Timestamp("2020-01-10")),
        pd.Index(np.r_[0:10, 9:19]),
    ],
    ids=["datetime", "integer"],
)
def test_duplicated_time_points_raise_naming_them_and_a_fix_that_works(index):
    # Before: reported as "not evenly spaced" / a jump, with y.asfreq(...) as the first fix,
    # which raises itself on duplicated labels.
    y = pd.Series(np.linspace(1, 2, len(index)), index=index)
    with pytest.raises(ValueError, match=f"{GAP}.*duplicated time points.*groupby"):
        LSTMForecaster(lookback=2, **TINY).fit(y, fh=[1])
    fixed = y.groupby(level=-1).mean()  # the fix the message gives
    if isinstance(fixed.index, pd.DatetimeIndex):
        fixed = fixed.asfreq("D")
    assert np.isfinite(LSTMForecaster(lookback=2, **TINY).fit(fixed, fh=[1]).predict()).all()


def test_a_timedelta_index_is_refused_before_training_with_a_fix_that_works():
    # Before: the fit trained, then predict failed in sktime's ForecastingHorizon (pandas'
    # "Addition/subtraction of integers ... with TimedeltaArray is no longer supported").
    y = pd.Series(np.linspace(1, 2, 20), index=pd.timedelta_range("0s", periods=20, freq="s"))
    with pytest.raises(ValueError, match="TimedeltaIndex.*pd.Timestamp"):
        LSTMForecaster(lookback=2, **TINY).fit(y, fh=[1])
    y.index = pd.Timestamp("2000-01-01") + y.index  # the fix the message gives
    pred = LSTMForecaster(lookback=2, **TINY).fit(y, fh=[1]).predict()
    _check_forecasts(pred, pd.DatetimeIndex(["2000-01-01 00:00:20"]))


def test_pretrain_refuses_a_panel_with_a_gappy_series_and_names_it():
    times = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    rows = [("a", t) for t in times] + [("b", t) for t in times if t != 4]
    index = pd.MultiIndex.from_tuples(rows, names=["instance", "time"])
    y = pd.DataFrame({"y": np.linspace(1, 2, len(rows))}, index=index)
    forecaster = LSTMForecaster(lookback=2, **TINY)
    with pytest.raises(ValueError, match=rf"series 'b'.*{GAP}|{GAP}.*series 'b'"):
        forecaster.pretrain(y, fh=[1])
    forecaster.pretrain(y.drop("b"), fh=[1])  # the whole series 'a' is fine
    with pytest.raises(ValueError, match=GAP):  # and a later pretrain call checks too
        forecaster.pretrain(y, fh=[1])


def test_update_may_repeat_seen_points_and_a_changed_value_replaces_the_old_one():
    y = _series("period-M", 30)
    forecaster = LSTMForecaster(lookback=3, **TINY).fit(y.iloc[:24], fh=[1, 2])
    revised = y.iloc[22:27].copy()
    revised.iloc[0] += 5.0  # a revision of a point already seen
    forecaster.update(revised, update_params=False)
    assert forecaster._hist_y.iloc[22, 0] == revised.iloc[0]
    assert len(forecaster._hist_y) == 27 and forecaster.cutoff[0] == y.index[26]


@pytest.mark.parametrize("fh", [[0], [-2, -1, 1]], ids=["zero", "past-and-future"])
def test_in_sample_horizons_raise_a_clear_not_implemented_error(fh):
    y = _series("period-M", 24)
    with pytest.raises(NotImplementedError, match="can not perform in-sample prediction"):
        LSTMForecaster(lookback=3, **TINY).fit(y, fh=fh)
    recursive = LSTMForecaster(strategy="recursive", lookback=3, **TINY).fit(y)
    with pytest.raises(NotImplementedError, match="can not perform in-sample prediction"):
        recursive.predict(fh=fh)
    with pytest.raises(NotImplementedError, match="in-sample"):
        recursive.predict_interval(fh=fh)


# ---- panels in the order of a long-format file, and the fixes the messages give ---------


def _fix_in(message: str) -> str:
    """The ``y = ...`` statement a message suggests."""
    for end in (r"\) before passing it", r" \(or \.last", r" \(and X alike"):
        match = __import__("re").search(r"(y = .*?)" + end, message)
        if match:
            return match.group(1)
    raise AssertionError(f"no fix in: {message}")


def _apply_fix(message: str, y):
    env = {"y": y, "np": np, "pd": pd}
    exec(_fix_in(message), env)  # noqa: S102 - the message's own code, as a user runs it
    return env["y"]


def _time_sorted_panel():
    """Three monthly series, rows sorted by time (a long-format CSV after set_index)."""
    t = pd.period_range("1949-01", periods=24, freq="M")
    rng = np.random.RandomState(0)
    frames = {f"s{i}": pd.DataFrame({"v": 100 + i + rng.rand(24)}, index=t) for i in range(3)}
    return pd.concat(frames, names=["id", "t"]).sort_index(level="t")


@pytest.fixture(scope="module")
def panel_model():
    panel = _time_sorted_panel()
    return LSTMForecaster(lookback=4, **TINY).pretrain(panel, fh=[1, 2]), panel


def test_forecast_panel_reads_each_series_of_a_time_sorted_panel_in_time_order(panel_model):
    f, panel = panel_model
    pred = f.forecast_panel(panel)
    grouped = f.forecast_panel(panel.sort_index())  # the same panel, rows grouped by series
    pd.testing.assert_frame_equal(pred.sort_index(), grouped.sort_index())
    assert list(pred.loc["s1"].index.astype(str)) == ["1951-01", "1951-02"]
    # a newest-first file: refused with the fix, not forecast from its oldest rows
    newest_first = panel.sort_index(level="t", ascending=False)
    with pytest.raises(ValueError, match="in time order.*goes back from 1950-12") as info:
        f.forecast_panel(newest_first)
    fixed = _apply_fix(str(info.value), newest_first)
    pd.testing.assert_frame_equal(f.forecast_panel(fixed).sort_index(), grouped.sort_index())


def test_an_empty_panel_is_refused_by_name(panel_model):
    f, panel = panel_model
    with pytest.raises(ValueError, match="got an empty y"):
        f.forecast_panel(panel.iloc[:0])
    with pytest.raises(ValueError, match="got an empty y"):
        LSTMForecaster(lookback=4, **TINY).pretrain(panel.iloc[:0], fh=[1])


def test_a_gap_in_one_series_of_a_time_sorted_panel_is_found(panel_model):
    f, panel = panel_model
    gappy = panel.drop(index=("s0", pd.Period("1950-06", "M")))
    with pytest.raises(ValueError, match=f"series 's0'.*{GAP}.*jumps from 1950-05 to 1950-07"):
        f.forecast_panel(gappy)
    with pytest.raises(ValueError, match="fill the missing time points of that series"):
        f.forecast_panel(gappy.sort_index())  # no one-series snippet for a MultiIndex


def test_duplicates_and_missing_values_in_a_panel_get_fixes_that_work(panel_model):
    f, panel = panel_model
    doubled = pd.concat([panel, panel.loc[[("s1", pd.Period("1950-03", "M"))]]]).sort_index()
    with pytest.raises(ValueError, match="duplicated time points") as info:
        f.forecast_panel(doubled)
    fixed = _apply_fix(str(info.value), doubled)
    assert fixed.shape == panel.shape and fixed.index.nlevels == 2  # per series, not merged
    assert np.isfinite(f.forecast_panel(fixed).to_numpy()).all()
    holes = panel.sort_index()
    holes.iloc[24, 0] = np.nan  # s1's first value: nothing before it
    holes.iloc[30, 0] = np.inf
    with pytest.raises(ValueError, match="series 's1' of y contains missing") as info:
        f.forecast_panel(holes)
    fixed = _apply_fix(str(info.value), holes)
    assert fixed.loc["s1"].iloc[0, 0] == holes.loc["s1"].iloc[1, 0]  # from s1, not from s0
    assert np.isfinite(f.forecast_panel(fixed).to_numpy()).all()


def test_an_infinite_first_value_gets_a_fix_that_fills_it():
    y = pd.Series(np.linspace(1, 2, 20), index=pd.period_range("2000-01", periods=20, freq="M"))
    y.iloc[0] = np.inf
    with pytest.raises(ValueError, match="infinite values .the first at row 0") as info:
        LSTMForecaster(lookback=2, **TINY).fit(y, fh=[1])
    fixed = _apply_fix(str(info.value), y)
    assert np.isfinite(LSTMForecaster(lookback=2, **TINY).fit(fixed, fh=[1]).predict()).all()


def _check_every_series(y, owner="LSTMForecaster"):
    """check_index's reference: every series checked on its own (no vectorised test)."""
    from sklstm._forecast.index import _check_one

    keys = y.index.droplevel(-1)
    codes, _ = pd.factorize(keys)
    times = y.index.get_level_values(-1)
    order = np.argsort(codes, kind="stable")
    for code in pd.unique(codes[order]):
        rows = order[codes[order] == code]
        _check_one(times[rows], owner, f"every series of y (series {keys[rows[0]]!r})", True)


@pytest.mark.parametrize(
    "times",
    [
        pd.date_range("2024-01-01", periods=12, freq="D"),
        pd.date_range("2024-03-20", periods=12, freq="D", tz="Europe/Berlin"),  # DST
        pd.date_range("2024-01-31", periods=12, freq="ME"),
        pd.bdate_range("2024-01-01", periods=12),
        pd.date_range("2024-01-01", periods=12, freq="h"),
        pd.period_range("2000-01", periods=12, freq="M"),
        pd.period_range("2000-01", periods=12, freq="2M"),
        pd.RangeIndex(12),
    ],
    ids=["D", "D-dst", "ME", "B", "h", "period-M", "period-2M", "int"],
)
@pytest.mark.parametrize("damage", ["none", "gap", "duplicate", "reversed", "short"])
def test_the_vectorised_index_check_agrees_with_checking_every_series(times, damage):
    rng = np.random.RandomState(len(times) + len(damage))
    frames = {f"s{i}": pd.DataFrame({"v": rng.rand(12)}, index=times) for i in range(4)}
    y = pd.concat(frames, names=["id", "t"]).sort_index(level="t")  # interleaved rows
    victim = y.xs("s2", level="id", drop_level=False).index
    if damage == "gap":
        y = y.drop(index=victim[5])
    elif damage == "duplicate":
        y = pd.concat([y, y.loc[[victim[5]]]])
    elif damage == "reversed":
        y = pd.concat([y.drop(index=victim), y.loc[victim[::-1]]])
    elif damage == "short":
        y = y.drop(index=victim[2:])
    try:
        _check_every_series(y)
        want = None
    except ValueError as exc:
        want = str(exc)
    if want is None:
        check_index(y, "LSTMForecaster")
    else:
        with pytest.raises(ValueError) as info:
            check_index(y, "LSTMForecaster")
        assert str(info.value) == want
