"""Third-party client code and bad inputs: what sklearn / sktime / pandas users write.

Each test is a call pattern seen in real client code (Pipelines, searches, sktime
composites, pandas indices and dtypes) or a bad input that must raise an error that
names the problem and the fix, never a raw pandas / numpy / torch traceback, a silent
NaN, a mutated input or a warning the user did not cause. Tiny models throughout.
"""

import importlib.util
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.model_selection import TimeSeriesSplit, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklstm import LSTMRegressor, SequenceScaler, WindowTransformer

TINY = {"hidden_size": 4, "max_iter": 2, "random_state": 0}
TINY_F = {**TINY, "n_models": 1}

needs_sktime = pytest.mark.skipif(
    importlib.util.find_spec("sktime") is None, reason="LSTMForecaster needs sktime"
)


def _ours(caught):
    """The warnings raised from sklstm's own code (sktime's composites warn of their own)."""
    return [w for w in caught if "sklstm" in w.filename.replace("\\", "/").split("/tests/")[0]]


def _monthly(n=40, seed=0, name="sales"):
    rng = np.random.RandomState(seed)
    values = 10 + np.sin(np.arange(n) / 2) + 0.1 * rng.normal(size=n)
    return pd.Series(values, index=pd.period_range("2000-01", periods=n, freq="M"), name=name)


def _exog(n):
    return pd.DataFrame({"x": np.cos(np.arange(n) / 3)}, index=_monthly(n).index)


def _panel(n_series=3, n=24):
    index = pd.MultiIndex.from_product(
        [[f"s{i}" for i in range(n_series)], pd.period_range("2000-01", periods=n, freq="M")],
        names=["id", "t"],
    )
    values = np.tile(10 + np.sin(np.arange(n) / 2), n_series) + np.repeat(np.arange(n_series), n)
    return pd.DataFrame({"v": values}, index=index)


# ---- sklearn clients -------------------------------------------------------------------


def test_sklearn_client_pipeline_search_cv_target_transform_and_pickle():
    rng = np.random.RandomState(0)
    table = pd.DataFrame({"sales": rng.normal(size=40), "price": rng.normal(size=40)})
    target = pd.Series(rng.normal(size=40), name="next_sales")
    before = table.copy()
    pipe = make_pipeline(
        StandardScaler(), WindowTransformer(lookback=3), SequenceScaler(), LSTMRegressor(**TINY)
    )
    model = TransformedTargetRegressor(pipe, transformer=StandardScaler())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scores = cross_val_score(model, table, target, cv=TimeSeriesSplit(2))
        model.fit(table, target, lstmregressor__sample_weight=np.ones(40))
    assert not _ours(caught), [str(w.message) for w in _ours(caught)]
    assert np.isfinite(scores).all()
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict(table), model.predict(table))
    assert clone(model).get_params()["regressor__lstmregressor__hidden_size"] == 4
    pd.testing.assert_frame_equal(table, before)  # the caller's table is untouched


def test_flat_windows_under_set_output_pandas_keep_index_and_names():
    table = pd.DataFrame({"a": np.arange(6.0), "b": np.arange(6.0) ** 2}, index=range(10, 16))
    flat = make_pipeline(WindowTransformer(lookback=2, output="flat"), SequenceScaler())
    out = flat.set_output(transform="pandas").fit_transform(table)
    assert list(out.columns) == ["a_lag1", "b_lag1", "a_lag0", "b_lag0"]
    assert out.index.equals(table.index)


# ---- SequenceScaler: bad parameters and shapes -------------------------------------------


@pytest.mark.parametrize(
    "feature_range", [(0, np.inf), (-np.inf, 1), ("a", "b"), (0, np.nan), (1, 0), (0, 1, 2)]
)
def test_scaler_feature_range_must_be_two_finite_increasing_numbers(feature_range):
    # Before: (0, inf) gave inf output with RuntimeWarnings, ("a", "b") a bare
    # "could not convert string to float".
    scaler = SequenceScaler(method="minmax", feature_range=feature_range)
    with pytest.raises(ValueError, match=r"two finite numbers with min < max, e\.g\. \(0, 1\)"):
        scaler.fit(np.arange(6.0).reshape(3, 2))


@pytest.mark.parametrize("shape", [(4, 0, 2), (4, 3, 0)], ids=["no-steps", "no-channels"])
def test_scaler_refuses_windows_without_steps_or_channels(shape):
    # Before: numpy's "zero-size array to reduction operation" / "cannot reshape".
    with pytest.raises(ValueError, match="at least one time step and one channel"):
        SequenceScaler().fit(np.zeros(shape))


# ---- forecaster: season from the index frequency ------------------------------------------


@pytest.mark.parametrize(
    "freq, expected",
    [
        ("BMS", 12),
        ("BME", 12),
        ("CBMS", 12),
        ("BQS", 4),
        ("BQE", 4),
        ("BYS", 1),
        ("SMS", 24),
        ("SME", 24),
        ("C", 5),
        ("B", 5),
        ("MS", 12),
        ("h", 24),
        ("30min", 48),
    ],
)
def test_season_of_business_and_semi_month_frequencies(freq, expected):
    # Before: business months, quarters and years read as business days (5), and
    # semi-months as seconds (86400).
    from sklstm._forecast.spec import season_length

    index = pd.date_range("2000-01-03", periods=30, freq=freq)
    assert season_length(index) == expected


@needs_sktime
def test_business_month_series_gets_a_yearly_season():
    from sklstm import LSTMForecaster

    y = pd.Series(
        10 + np.sin(np.arange(60) / 2), index=pd.date_range("2000-01", periods=60, freq="BMS")
    )
    forecaster = LSTMForecaster(**TINY_F).fit(y, fh=[1, 2])
    assert forecaster.sp_ == 12
    assert forecaster.predict().index.freqstr == "BMS"


# ---- forecaster: sktime clients -------------------------------------------------------------


@needs_sktime
def test_sktime_clients_pipelines_evaluate_and_absolute_fh():
    from sktime.forecasting.base import ForecastingHorizon
    from sktime.forecasting.compose import ForecastingPipeline, TransformedTargetForecaster
    from sktime.forecasting.model_evaluation import evaluate
    from sktime.split import SlidingWindowSplitter, temporal_train_test_split
    from sktime.transformations.series.detrend import Deseasonalizer
    from sktime.transformations.series.exponent import ExponentTransformer

    from sklstm import LSTMForecaster

    y = _monthly(48)
    X = pd.DataFrame({"promo": np.cos(np.arange(48) / 3)}, index=y.index)
    y_before, X_before = y.copy(), X.copy()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        target = TransformedTargetForecaster(
            [("deseason", Deseasonalizer(sp=12)), ("lstm", LSTMForecaster(**TINY_F))]
        )
        assert target.fit(y, fh=[1, 2, 3]).predict().shape == (3,)
        exog = ForecastingPipeline([("x", ExponentTransformer()), ("f", LSTMForecaster(**TINY_F))])
        exog.fit(y.iloc[:-3], X=X.iloc[:-3], fh=[1, 2, 3])
        assert exog.predict_interval(X=X.iloc[-3:], coverage=0.8).shape == (3, 2)
        cv = SlidingWindowSplitter(fh=[1, 2], window_length=30, step_length=8)
        scores = evaluate(LSTMForecaster(**TINY_F), cv, y, X=X, strategy="update")
        y_train, y_test = temporal_train_test_split(y, test_size=4)
        fh = ForecastingHorizon(y_test.index, is_relative=False)
        pred = LSTMForecaster(**TINY_F).fit(y_train, fh=fh).predict()
    assert not _ours(caught), [str(w.message) for w in _ours(caught)]
    assert len(scores) == cv.get_n_splits(y) and np.isfinite(scores.iloc[:, 0]).all()
    assert pred.index.equals(y_test.index) and pred.name == "sales"
    pd.testing.assert_series_equal(y, y_before)
    pd.testing.assert_frame_equal(X, X_before)


@needs_sktime
@pytest.mark.parametrize(
    "columns",
    [[0, 1], pd.MultiIndex.from_tuples([("a", "x"), ("a", "y")])],
    ids=["int-names", "multiindex"],
)
def test_column_names_of_any_kind_come_back_in_forecasts_and_intervals(columns):
    from sklstm import LSTMForecaster

    y = pd.DataFrame(np.c_[_monthly(), _monthly(seed=1)], index=_monthly().index, columns=columns)
    forecaster = LSTMForecaster(**TINY_F).fit(y, fh=[1, 2])
    pred = forecaster.predict()
    assert list(pred.columns) == list(y.columns) and np.isfinite(pred.to_numpy()).all()
    assert [c[:-2] for c in forecaster.predict_interval().columns][::2] == [
        (c,) for c in y.columns
    ]


# ---- forecaster: update with another kind of index ------------------------------------------


@needs_sktime
@pytest.mark.parametrize(
    "new_index, match",
    [
        (pd.period_range("2003-05", periods=3, freq="D"), "periods of 'D', but fit got periods"),
        (pd.RangeIndex(40, 43), "a RangeIndex, but fit got a PeriodIndex"),
        (pd.date_range("2003-05", periods=3, freq="MS"), "a DatetimeIndex, but fit got a Period"),
    ],
    ids=["other-freq", "range", "datetime"],
)
def test_update_with_another_kind_of_index_is_refused_and_keeps_the_cutoff(new_index, match):
    # Before: pandas' IncompatibleFrequency, or "'>' not supported between 'int' and
    # 'Period'", from inside the index check.
    from sklstm import LSTMForecaster

    y = _monthly()
    forecaster = LSTMForecaster(**TINY_F).fit(y, fh=[1])
    expected = forecaster.predict()
    with pytest.raises(ValueError, match=match):
        forecaster.update(pd.Series([1.0, 2.0, 3.0], index=new_index, name="sales"))
    assert forecaster.cutoff[0] == y.index[-1]
    pd.testing.assert_series_equal(forecaster.predict(), expected)


@needs_sktime
def test_update_takes_the_same_time_zone_given_by_another_tz_object():
    import zoneinfo

    from sklstm import LSTMForecaster

    y = pd.Series(
        np.sin(np.arange(45.0)), index=pd.date_range("2000-01-01", periods=45, freq="D", tz="UTC")
    )
    forecaster = LSTMForecaster(**TINY_F).fit(y[:40], fh=[1, 2])
    new = y[40:].copy()
    new.index = new.index.tz_convert(zoneinfo.ZoneInfo("UTC"))
    forecaster.update(new, update_params=False)
    assert forecaster.cutoff[0] == y.index[-1]
    with pytest.raises(ValueError, match="time zone Europe/Berlin, but fit got time zone UTC"):
        forecaster.update(
            pd.Series([1.0], index=pd.date_range("2000-02-15", periods=1, tz="Europe/Berlin")),
            update_params=False,
        )


# ---- forecaster: bad values, named -----------------------------------------------------------


@needs_sktime
def test_infinite_x_at_fit_is_named_as_x():
    from sklstm import LSTMForecaster

    y = _monthly()
    X = pd.DataFrame({"x": np.arange(40.0)}, index=y.index)
    X.iloc[3, 0] = -np.inf
    match = r"X contains infinite values \(the first at row 3\).*X = X\.replace"
    with pytest.raises(ValueError, match=match):
        LSTMForecaster(**TINY_F).fit(y, X=X, fh=[1])


# ---- forecast_panel: a panel of numbers only --------------------------------------------------


@pytest.fixture(scope="module")
def pretrained():
    pytest.importorskip("sktime", reason="LSTMForecaster needs sktime")
    from sklstm import LSTMForecaster

    return LSTMForecaster(**TINY_F).pretrain(_panel(), fh=[1, 2])


@needs_sktime
def test_forecast_panel_takes_a_panel_sorted_by_time(pretrained):
    # sktime's pd-multiindex does not ask the rows of one series to be together.
    panel = _panel()
    by_time = panel.sort_index(level=-1, sort_remaining=True)
    assert by_time.index.get_level_values(0)[0] != by_time.index.get_level_values(0)[1]
    expected = pretrained.forecast_panel(panel)
    pd.testing.assert_frame_equal(pretrained.forecast_panel(by_time), expected)


@needs_sktime
def test_forecast_panel_refuses_rows_without_a_series_label(pretrained):
    # groupby drops NaN labels: that series would silently be missing from the forecasts.
    flat = _panel().reset_index()
    level = flat.columns[0]
    flat[level] = flat[level].astype(object)
    flat.loc[flat[level] == flat[level].iloc[-1], level] = np.nan
    panel = flat.set_index(list(flat.columns[:2]))
    with pytest.raises(ValueError, match="missing \\(NaN\\) series label"):
        pretrained.forecast_panel(panel)


@needs_sktime
def test_forecast_panel_refuses_a_single_series_with_the_fix(pretrained):
    # Before: pandas' "No group keys passed!".
    with pytest.raises(ValueError, match=r"needs a panel.*pd\.concat"):
        pretrained.forecast_panel(_panel().loc["s0"])


@needs_sktime
@pytest.mark.parametrize("bad", [np.nan, np.inf], ids=["nan", "inf"])
def test_forecast_panel_refuses_nan_and_inf_naming_the_series(pretrained, bad):
    # Before: NaN came back as the forecast of that series (inf also with RuntimeWarnings).
    panel = _panel()
    panel.iloc[-3, 0] = bad
    kind = "missing values" if np.isnan(bad) else "infinite values"
    with pytest.raises(ValueError, match=f"series 's2' of y contains {kind}"):
        pretrained.forecast_panel(panel)


@needs_sktime
def test_forecast_panel_refuses_strings_naming_the_columns(pretrained):
    # Before: pandas' "could not convert string to float".
    with pytest.raises(TypeError, match=r"the column\(s\) \['v'\] are not numeric"):
        pretrained.forecast_panel(_panel().assign(v="x"))


@needs_sktime
def test_forecast_panel_leaves_its_input_alone_and_forecasts_every_series(pretrained):
    panel = _panel()
    before = panel.copy()
    out = pretrained.forecast_panel(panel)
    pd.testing.assert_frame_equal(panel, before)
    assert out.shape == (6, 1) and np.isfinite(out.to_numpy()).all()
    assert out.index.get_level_values("id").unique().tolist() == ["s0", "s1", "s2"]


# ---- updates, future X, timedelta fh, forecast_panel's fh, all-zero windows -------------


@needs_sktime
def test_predict_refuses_infinite_future_x():
    # Before: the forecast came back finite, as if X were fine.
    from sklstm import LSTMForecaster

    y = _monthly()
    X = _exog(43)
    forecaster = LSTMForecaster(**TINY_F).fit(y, X=X.iloc[:40], fh=[1, 2])
    future = X.iloc[40:].copy()
    future.iloc[1, 0] = np.inf
    with pytest.raises(ValueError, match=r"X contains infinite values \(the first at row 1\)"):
        forecaster.predict(X=future)


@needs_sktime
def test_update_refuses_infinite_x_and_other_y_columns_leaving_the_forecaster_as_it_was():
    # Before: infinite X was stored (every later predict failed), and y with other
    # columns failed as "y contains NaN" after the history had been overwritten.
    from sklstm import LSTMForecaster

    y = pd.DataFrame({"a": _monthly(), "b": _monthly(seed=1)})
    X = _exog(43)
    forecaster = LSTMForecaster(**TINY_F).fit(y.iloc[:37], X=X.iloc[:37], fh=[1])
    expected = forecaster.predict(X=X.iloc[37:])
    bad_X = X.iloc[37:40].copy()
    bad_X.iloc[0, 0] = np.inf
    with pytest.raises(ValueError, match="X contains infinite values"):
        forecaster.update(y.iloc[37:40], X=bad_X, update_params=False)
    with pytest.raises(ValueError, match=r"columns \['a', 'c'\], but fit got \['a', 'b'\]"):
        forecaster.update(y.iloc[37:40].rename(columns={"b": "c"}), X=X.iloc[37:40])
    assert forecaster.cutoff[0] == y.index[36]
    pd.testing.assert_frame_equal(forecaster.predict(X=X.iloc[37:]), expected)


@needs_sktime
def test_update_with_an_unnamed_series_continues_as_sktimes_forecasters_do():
    # sktime's NaiveForecaster takes a one-column update whatever its name; before, this
    # failed as "y contains NaN" and left the history broken.
    from sklstm import LSTMForecaster

    y = _monthly()
    forecaster = LSTMForecaster(**TINY_F).fit(y.iloc[:37], fh=[1])
    forecaster.update(pd.Series(y.iloc[37:].to_numpy(), index=y.index[37:]))
    pred = forecaster.predict()
    assert pred.index[0] == y.index[-1] + 1 and np.isfinite(pred.to_numpy()).all()


@needs_sktime
def test_timedelta_fh_counts_steps_of_the_index():
    # Before: fh=["1 days", "2 days"] was read as 86400 and 172800 steps ahead.
    from sklstm import LSTMForecaster

    y = pd.Series(_monthly().to_numpy(), index=pd.date_range("2000-01-01", periods=40, freq="D"))
    forecaster = LSTMForecaster(**TINY_F).fit(y, fh=pd.to_timedelta([1, 2], unit="D"))
    assert forecaster.horizon_ == 2
    assert forecaster.predict().index.equals(pd.date_range("2000-02-10", periods=2, freq="D"))
    # durations off the daily grid: refused, not forecast one step ahead and mislabelled
    recursive = LSTMForecaster(**{**TINY_F, "strategy": "recursive"}).fit(y)
    for off_grid in (["36h"], ["12h"]):
        with pytest.raises(ValueError, match="not on the time grid of y"):
            recursive.predict(fh=pd.to_timedelta(off_grid))


# sktime's predict checks that a tz-aware absolute fh is out of sample by converting it to
# periods, which warns in pandas (sktime's own check, for every forecaster without in-sample)
@needs_sktime
@pytest.mark.filterwarnings("ignore:Converting to PeriodArray/Index:UserWarning")
def test_absolute_fh_across_a_clock_change_is_the_same_as_the_steps():
    # sktime's to_relative counts wall-clock hours across the spring-forward gap: the
    # points predict(fh=[1..4]) labels would be read as other steps.
    from sklstm import LSTMForecaster

    index = pd.date_range("2020-03-27", periods=48, freq="h", tz="Europe/Berlin")
    y = pd.Series(np.sin(np.arange(48.0) / 3), index=index)
    forecaster = LSTMForecaster(**{**TINY_F, "strategy": "recursive"}).fit(y)
    by_steps = forecaster.predict(fh=[1, 2, 3, 4])
    by_points = forecaster.predict(fh=pd.DatetimeIndex(by_steps.index))
    pd.testing.assert_series_equal(by_points, by_steps)


@needs_sktime
@pytest.mark.parametrize(
    "fh, match",
    [([0, 1], r"fh has \[0\]"), ([-1], r"fh has \[-1\]"), ("absolute", "relative, e.g.")],
)
def test_forecast_panel_refuses_steps_that_are_not_ahead(pretrained, fh, match):
    # Before: step 0 came back silently (the step-2 forecast, labelled at the cutoff);
    # step -1 raised numpy's "negative dimensions are not allowed".
    from sktime.forecasting.base import ForecastingHorizon

    if fh == "absolute":
        fh = ForecastingHorizon(pd.period_range("2002-01", periods=2, freq="M"), is_relative=False)
    with pytest.raises(ValueError, match=match):
        pretrained.forecast_panel(_panel(), fh=fh)


@needs_sktime
def test_forecast_panel_refuses_other_columns_than_pretrain(pretrained):
    # Before: "unsupported operand type(s) for -: 'float' and 'NoneType'" from the normaliser.
    with pytest.raises(ValueError, match="pretrained on 1 target column"):
        pretrained.forecast_panel(_panel().assign(w=1.0))


@needs_sktime
def test_a_series_that_ends_in_zeros_fits_without_warnings():
    # A discontinued product: the theta baseline's seasonal indices divided 0 by 0 on the
    # all-zero windows (a RuntimeWarning in a default fit).
    from sklstm import LSTMForecaster

    y = pd.Series(np.r_[np.ones(30), np.zeros(30)], index=_monthly(60).index)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        forecaster = LSTMForecaster(**TINY_F).fit(y, fh=[1, 2])
        pred = forecaster.predict()
    assert forecaster.sp_ == 12 and np.isfinite(pred.to_numpy()).all()
