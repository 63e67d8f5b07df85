"""Input and parameter checks shared by the estimators (private; numpy and sklearn only)."""

from __future__ import annotations

import os
import sys
from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval, InvalidParameterError


def reject_bools(owner: str, **params) -> None:
    """Raise for a bool given as an int parameter (``Interval(Integral)`` lets bools in:
    bool is an ``Integral``, so ``hidden_size=True`` would train one unit)."""
    for name, value in params.items():
        if isinstance(value, (bool, np.bool_)):
            raise InvalidParameterError(
                f"The {name!r} parameter of {owner} must be an int >= 1, not a bool; "
                f"got {value!r}. Pass a number, e.g. {name}=1."
            )


def reject_int_bools(owner: str, params: dict, constraints: dict) -> None:
    """:func:`reject_bools` for every integer parameter of ``constraints`` (those with an
    ``Interval(Integral, ...)`` and no ``"boolean"``)."""
    integer = {
        name: value
        for name, value in params.items()
        if "boolean" not in constraints.get(name, [])
        and any(isinstance(c, Interval) and c.type is Integral for c in constraints.get(name, []))
    }
    reject_bools(owner, **integer)


def _time_kind(a) -> str | None:
    """``"datetime"`` or ``"timedelta"`` where ``a`` (array, Series or DataFrame) holds
    such values, else None. Nothing is converted."""
    dtypes = getattr(a, "dtypes", None)  # one per column of a DataFrame
    if dtypes is None or not hasattr(dtypes, "__iter__"):
        dtypes = [getattr(a, "dtype", None)]
    # numpy's dtypes and pandas' (DatetimeTZDtype) both have a kind
    kinds = {getattr(d, "kind", None) for d in dtypes}
    if "M" in kinds:
        return "datetime"
    if "m" in kinds:
        return "timedelta"
    return None


def reject_time_dtypes(owner: str, **arrays) -> None:
    """Raise TypeError for dates or time spans given as data.

    numpy and sklearn turn them into nanosecond counts silently (a target of 1.6e18);
    a model of those numbers is almost never what was meant.
    """
    for name, a in arrays.items():
        kind = _time_kind(a)
        if kind is not None:
            raise TypeError(
                f"{owner}: {name} holds {kind} values, which are not numbers to model. Pass "
                "numeric data: drop the column, or turn it into a number you mean (e.g. "
                "days since the start: (t - t.min()) / pd.Timedelta('1D'), or the day of the "
                "week: t.dt.dayofweek)."
            )


def _package_dir(name: str) -> str | None:
    module = sys.modules.get(name)
    path = getattr(module, "__file__", None)
    return None if path is None else os.path.dirname(os.path.abspath(path)) + os.sep


def user_stacklevel() -> int:
    """The ``stacklevel`` that makes a warning name the user's line.

    Called by the function that warns: counts the frames from it to the first one outside
    sklstm and the libraries that call it (sktime, skpro, sklearn, joblib), so that a
    warning raised deep in a fit names the line that called ``fit`` -- directly, through
    a vectorised panel, or through sktime's ``evaluate``.
    """
    libraries = [_package_dir(n) for n in ("sklstm", "sktime", "skpro", "sklearn", "joblib")]
    libraries = tuple(d for d in libraries if d)
    frame, level = sys._getframe(1), 1
    while frame is not None and _in(frame.f_code.co_filename, libraries):
        frame, level = frame.f_back, level + 1
    return level


def _in(filename: str, directories: tuple) -> bool:
    """Whether a frame's file is inside ``directories`` (``<stdin>``, ``<string>`` and
    doctests are the user's)."""
    return not filename.startswith("<") and os.path.abspath(filename).startswith(directories)
