"""Time indices the forecaster can cut windows from: consecutive steps, no gaps (private).

The windows are cut by position, and sktime labels a forecast ``k`` steps after the
cutoff with the cutoff plus ``k`` steps of the index's frequency. Both agree only
when the rows of a series are consecutive time steps, so a series with missing
time points (or, for a ``DatetimeIndex``, no frequency that pandas can infer) is
refused with an error that names the fix, and so is an ``update`` that would leave
a gap after the data already seen.

Integer indices (``RangeIndex`` included) must step by 1, a ``PeriodIndex`` by one
period of its frequency, a ``DatetimeIndex`` by its ``freq`` (or the one
``pd.infer_freq`` finds). Duplicated time points and a ``TimedeltaIndex`` (whose
forecasts sktime's ``ForecastingHorizon`` cannot label) are refused. Other indices are
left to sktime.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

__all__ = ["check_index", "check_update", "cutoff_of"]

_LOCATABLE_STEP = pd.Timedelta(days=7)  # a gap in a series this fine is located by its step


def _kind(index) -> str | None:
    if isinstance(index, pd.PeriodIndex):
        return "period"
    if isinstance(index, pd.DatetimeIndex):
        return "datetime"
    if pd.api.types.is_integer_dtype(index.dtype):
        return "integer"
    return None


def _freq(index):
    """The step of a datetime-like index: its ``freq``, else the inferred one, else None."""
    if index.freq is not None:
        return index.freq
    if len(index) < 3:  # pandas needs three points to infer a frequency
        return None
    try:
        inferred = pd.infer_freq(index)
    except (TypeError, ValueError):
        return None
    return None if inferred is None else to_offset(inferred)


def _consecutive(first, n: int, like, freq):
    """``n`` consecutive time points from ``first``, in the kind of index ``like``."""
    if isinstance(like, pd.PeriodIndex):
        return pd.period_range(first, periods=n, freq=like.freq)
    if isinstance(like, pd.DatetimeIndex):
        return pd.date_range(first, periods=n, freq=freq)
    return pd.Index(np.arange(first, first + n, dtype=np.int64))


def _freqstr(freq) -> str | None:
    """A frequency as users write it: "D", "3D", "h", "MS"."""
    if freq is None:
        return None
    try:
        delta = pd.Timedelta(freq)
    except (TypeError, ValueError):
        return freq.freqstr
    if delta > pd.Timedelta(0) and delta % pd.Timedelta(days=1) == pd.Timedelta(0):
        days = delta // pd.Timedelta(days=1)
        return "D" if days == 1 else f"{days}D"
    return freq.freqstr


def _duration(delta) -> str:
    day = pd.Timedelta(days=1)
    if delta % day == pd.Timedelta(0):
        days = delta // day
        return "1 day" if days == 1 else f"{days} days"
    return str(delta)


def _label(t) -> str:
    """A time point as short as is exact: a date for a timestamp at midnight."""
    if isinstance(t, pd.Timestamp) and t == t.normalize():
        return str(t.date()) if t.tzinfo is None else str(t)
    return str(t)


def _fixes(kind: str, freq, panel: bool = False) -> str:
    if panel:  # one series of a panel: the one-series recipes do not apply to a MultiIndex
        return (
            "Fix: fill the missing time points of that series (reindex it on every step "
            "from its first to its last time point, then interpolate), or drop the series."
        )
    name = _freqstr(freq) or "D"
    fill = {
        "period": "y.reindex(pd.period_range(y.index[0], y.index[-1], freq=y.index.freq))",
        "datetime": f"y.asfreq({name!r})",
        "integer": "y.reindex(range(y.index[0], y.index[-1] + 1))",
    }[kind]
    fixes = [
        f"fill the missing time points, e.g. y = {fill}.interpolate() (and X alike)",
    ]
    if kind == "datetime":
        fixes.append("use a PeriodIndex if there is one point per period (y.to_period('M'))")
    fixes.append(
        "or number the points as consecutive steps with y.reset_index(drop=True) (and X "
        "alike; forecasts are then indexed by step)"
    )
    return "Fix: " + "; ".join(fixes) + "."


def _every_level(panel: bool) -> str:
    """``level=`` for a groupby by time point (within each series, for a panel)."""
    return "list(range(y.index.nlevels))" if panel else "-1"


def _first_jump(index, like, freq):
    """``(k, expected)``: the first position where ``index`` skips a step (None: none)."""
    expected = _consecutive(index[0], len(index), like, freq)
    off = np.flatnonzero(np.asarray(index != expected))
    return (int(off[0]) if len(off) else None), expected


def _check_one(index, owner: str, what: str, panel: bool = False) -> None:
    """Raise ValueError unless the plain index ``index`` is on consecutive time steps.

    ``panel``: ``index`` holds the time points of one series of a panel (the fixes
    the messages suggest then work on a MultiIndex).
    """
    if isinstance(index, pd.TimedeltaIndex):
        raise ValueError(
            f"{owner} cannot forecast {what} indexed by time offsets (a TimedeltaIndex): "
            "sktime's ForecastingHorizon cannot step such an index forward, so predict "
            "would fail after training. Index y by time points instead, e.g. "
            "y.index = pd.Timestamp('2000-01-01') + y.index, or by steps with "
            "y.reset_index(drop=True)."
        )
    kind = _kind(index)
    if kind is None or len(index) < 2:
        return
    if not index.is_unique:
        twice = index[index.duplicated()][0]
        raise ValueError(
            f"{owner} needs {what} on consecutive time steps, but its {type(index).__name__} "
            f"has duplicated time points (the first: {_label(twice)}, "
            f"{int((index == twice).sum())} times). Keep one value per time point, e.g. "
            f"y = y.groupby(level={_every_level(panel)}).mean() (or .last()), before "
            "passing it."
        )
    if not index.is_monotonic_increasing:
        k = int(np.flatnonzero(np.asarray(index[1:] < index[:-1]))[0])
        raise ValueError(
            f"{owner} needs {what} in time order, but its {type(index).__name__} goes back "
            f"from {_label(index[k])} to {_label(index[k + 1])}. Sort it first: "
            "y = y.sort_index() (and X alike)."
        )
    freq = _freq(index) if kind == "datetime" else None
    if kind == "datetime" and freq is None and len(index) < 3:
        raise ValueError(
            f"{owner} needs {what} on consecutive time steps, but its {type(index).__name__} "
            "has no frequency, and pandas needs three points to infer one. Set it, e.g. "
            f"y = y.asfreq({_freqstr(to_offset(index[1] - index[0])) or 'D'!r})."
        )
    if kind == "datetime" and freq is None:
        steps = pd.Series(index[1:] - index[:-1])
        common = steps.mode().iloc[0]
        where = ""
        if common <= _LOCATABLE_STEP:
            first = int(np.flatnonzero((steps != common).to_numpy())[0])
            freq = to_offset(common)
            where = (
                f" (most steps are {_duration(common)}, but {_label(index[first])} is followed "
                f"by {_label(index[first + 1])})"
            )
        raise ValueError(
            f"{owner} needs {what} on consecutive time steps, but its {type(index).__name__} "
            f"has no frequency and pandas cannot infer one: the time points are not evenly "
            f"spaced{where}. {_fixes(kind, freq, panel)}"
        )
    k, expected = _first_jump(index, index, freq)
    if k is not None:
        raise ValueError(
            f"{owner} needs {what} on consecutive time steps, but its {type(index).__name__} "
            f"jumps from {_label(index[k - 1])} to {_label(index[k])} (the next step is "
            f"{_label(expected[k])}): windows would be cut across the missing time points. "
            f"{_fixes(kind, freq, panel)}"
        )


def check_index(y, owner: str) -> None:
    """Raise ValueError unless every series of ``y`` is on consecutive time steps.

    Parameters
    ----------
    y : pd.DataFrame or pd.Series
        One series, or a panel / hierarchy whose last index level is time.
    owner : str
        The estimator's name, for the message.
    """
    index = y.index
    if not isinstance(index, pd.MultiIndex):
        _check_one(index, owner, "y")
        return
    if len(index) == 0:
        raise ValueError(f"{owner} got an empty y: no series, no time points.")
    keys = index.droplevel(-1)
    codes, _ = pd.factorize(keys)
    if (codes < 0).any():  # groupby would drop these rows without a word
        raise ValueError(
            f"{owner}: some rows of y have a missing (NaN) series label in the instance "
            "level(s) of the index; give every row the label of its series."
        )
    times = index.get_level_values(-1)
    # each series' rows in their order in y, wherever they are (a panel sorted by time
    # interleaves its series)
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    starts, stops = np.r_[0, bounds], np.r_[bounds, len(index)]
    regular = _evenly_stepped(times[order], starts, stops)
    for start, stop in zip(starts[~regular], stops[~regular], strict=True):
        rows = order[start:stop]
        what = f"every series of y (series {keys[rows[0]]!r})"
        _check_one(times[rows], owner, what, panel=True)


def _evenly_stepped(times, starts, stops) -> np.ndarray:
    """Per series (rows ``starts[i]:stops[i]`` of ``times``): on consecutive steps?

    A vectorised test that :func:`_check_one` would pass: integer steps of 1, periods
    one period apart, and datetimes all the same positive step apart (three points at
    least, so that pandas infers it). False means "check it one by one" (month-ends,
    business days and daylight-saving days are not equally spaced in time, and are).
    """
    kind = _kind(times)
    if kind is None or isinstance(times, pd.TimedeltaIndex):
        return np.zeros(len(starts), dtype=bool)
    if kind == "integer":
        values, step = np.asarray(times, dtype=np.int64), 1
    else:
        values = times.asi8
        step = times.freq.n if kind == "period" else None
    gaps = np.diff(values)
    inside = np.ones(len(gaps), dtype=bool)
    inside[stops[:-1] - 1] = False  # the step from one series to the next
    if step is None:  # datetimes: the first step inside a series, if it is positive
        steps = gaps[inside]
        step = steps[0] if len(steps) and steps[0] > 0 else None
        if step is None:
            return np.zeros(len(starts), dtype=bool)
    odd = np.r_[0, np.cumsum((gaps != step) & inside)]
    regular = odd[stops - 1] == odd[starts]
    if kind == "datetime":
        regular &= (stops - starts) >= 3
    return regular


def _next(last, like, freq):
    if isinstance(like, (pd.PeriodIndex, pd.DatetimeIndex)):
        return _consecutive(last, 2, like, freq)[1]
    return last + 1


def check_update(seen, new, owner: str) -> None:
    """Raise ValueError unless ``new`` continues ``seen`` without a gap.

    ``new`` may repeat time points already seen (their values then replace the old
    ones, as in sktime's ``update_data``), but must start no later than the step
    after ``seen[-1]``, end no earlier than ``seen[-1]`` (sktime sets the cutoff to
    its last point), and be on consecutive time steps itself.

    Parameters
    ----------
    seen : pd.Index
        The time index of the data seen so far (a plain index, one series).
    new : pd.Index
        The time index of the ``y`` given to ``update``.
    owner : str
        The estimator's name, for the message.

    sktime has moved the cutoff to ``new[-1]`` before the forecaster's ``_update``
    runs: a caller that refuses the update puts it back at :func:`cutoff_of` ``seen``.
    """
    kind = _kind(seen)
    if kind is None or len(new) == 0 or len(seen) == 0:
        return
    _same_kind(seen, new, owner)
    freq = None
    if kind == "datetime":
        freq = _freq(seen)
        if freq is None:
            return  # fit refused an uneven history; a too short one has no step to follow
    _continues(seen, new, owner, freq)


def _same_tz(a, b) -> bool:
    """Whether two time zones are the same zone (``ZoneInfo("UTC")`` is ``"UTC"``)."""
    if a is None or b is None:
        return a is b
    return pd.DatetimeTZDtype(tz=a) == pd.DatetimeTZDtype(tz=b)  # pandas' own comparison


def _same_kind(seen, new, owner) -> None:
    """Raise ValueError unless ``new`` is the same kind of time index as ``seen``."""
    problem = None
    if type(new) is not type(seen) and not (_kind(seen) == _kind(new) == "integer"):
        problem = f"a {type(new).__name__}, but fit got a {type(seen).__name__}"
    elif isinstance(seen, pd.PeriodIndex) and new.freq != seen.freq:
        problem = f"periods of {new.freqstr!r}, but fit got periods of {seen.freqstr!r}"
    elif isinstance(seen, pd.DatetimeIndex) and not _same_tz(new.tz, seen.tz):
        problem = f"time zone {new.tz}, but fit got time zone {seen.tz}"
    if problem is None:
        return
    raise ValueError(
        f"{owner}.update got y indexed by {problem}: the new time points must continue the "
        "index seen so far. Pass y (and X) with the same kind of index and frequency as in fit."
    )


def cutoff_of(seen):
    """The last time point of ``seen`` as a one-point index that keeps its frequency.

    What to restore the cutoff to when an ``update`` is refused after sktime moved it.
    """
    return _cutoff(seen, _freq(seen) if _kind(seen) == "datetime" else None)


def _cutoff(seen, freq):
    """The last time point of ``seen`` as a one-point index, with its frequency."""
    if isinstance(seen, pd.DatetimeIndex):
        return pd.DatetimeIndex(seen[-1:], freq=freq)
    return seen[-1:]


def _continues(seen, new, owner, freq):
    last, nxt = seen[-1], _next(seen[-1], seen, freq)
    if new[0] > nxt:
        raise ValueError(
            f"{owner}.update got y starting at {_label(new[0])}, but the data seen so far "
            f"ends at {_label(last)}: y must start at {_label(nxt)} (or earlier: time points "
            "already seen may be repeated, and a changed value replaces the old one), else "
            "the windows would be cut across the missing time points. Pass the missing time "
            "points too."
        )
    if new[-1] < last:
        raise ValueError(
            f"{owner}.update got y ending at {_label(new[-1])}, before the last time point "
            f"already seen ({_label(last)}): sktime would move the cutoff back while the "
            f"forecaster's history goes on to {_label(last)}. Pass y up to {_label(last)} or "
            "later."
        )
    k, expected = _first_jump(new, seen, freq)
    if k is not None:
        raise ValueError(
            f"{owner}.update needs y on consecutive time steps, but it jumps from "
            f"{_label(new[k - 1])} to {_label(new[k])} (the next step is "
            f"{_label(expected[k])}). Fill the missing time points."
        )


def steps_ahead(points, cutoff, round_trip, owner: str) -> np.ndarray:
    """The steps after ``cutoff`` (a 1-element index) of the absolute time ``points``.

    On a ``DatetimeIndex`` with a frequency, each point's position on the grid the index
    continues on (a clock change included: sktime's ``to_relative`` counts wall-clock
    hours there); otherwise ``round_trip()`` gives ``(steps, their time points)``, and the
    steps hold when those points are ``points``. A point off the grid, or not after the
    cutoff, raises a ValueError.
    """
    freq = getattr(cutoff, "freq", None)
    if isinstance(points, pd.DatetimeIndex) and freq is not None:
        n = len(pd.date_range(cutoff[0], points.max(), freq=freq))
        steps = pd.date_range(cutoff[0], periods=n + 1, freq=freq).get_indexer(points)
    else:
        steps, back = round_trip()
        steps = np.asarray(steps, dtype=np.int64)
        if not back.equals(points):
            steps = np.full(len(points), -1)
    if (steps < 1).any():
        raise ValueError(
            f"{owner}: fh {list(points)} is not on the time grid of y after the cutoff: give "
            "steps ahead as integers, or time points and durations that are whole steps of "
            "y's frequency."
        )
    return np.asarray(steps, dtype=np.int64)
