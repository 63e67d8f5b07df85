"""The geometry of the forecaster's windows (private)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sklstm._checks import user_stacklevel


@dataclass(frozen=True)
class WindowSpec:
    """What one training window is made of.

    A window is ``lookback`` past rows of the targets (and exogenous columns); the
    network predicts the next ``horizon`` rows of the targets. With exogenous
    columns, their values over the ``horizon`` target rows follow the past rows as
    further time steps, marked by an indicator channel (1 on past rows, 0 after).
    """

    lookback: int
    horizon: int
    n_targets: int
    n_exog: int = 0

    @property
    def future(self) -> bool:
        """Whether the horizon's exogenous rows are appended to each input."""
        return self.n_exog > 0

    @property
    def seq_len(self) -> int:
        return self.lookback + (self.horizon if self.future else 0)

    @property
    def n_channels(self) -> int:
        return self.n_targets + self.n_exog + (1 if self.future else 0)

    @property
    def n_outputs(self) -> int:
        return self.horizon * self.n_targets

    @property
    def span(self) -> int:
        """Rows one training window covers: its past and its targets."""
        return self.lookback + self.horizon

    def check_fits(
        self, n_points: int, n_targets: int, n_exog: int, horizon: int, owner: str, call="fit"
    ):
        """Raise unless a series of this shape can be fit by networks of this geometry.

        (A pretrained model: ``fit`` fine-tunes networks whose geometry is fixed, and a
        second ``pretrain`` continues them; ``call`` names the one checked, and
        ``n_points`` is its shortest series.)
        """
        if n_targets != self.n_targets:
            raise ValueError(
                f"{owner} was pretrained on {self.n_targets} target column(s); {call} got "
                f"{n_targets}."
            )
        if n_exog != self.n_exog:
            raise ValueError(
                f"{owner}: {call} must get exogenous X with the same columns as the first "
                "pretrain (or none if it had none)."
            )
        if horizon > self.horizon:
            longer = (
                "Pretrain a new forecaster with the longer fh (a second pretrain continues "
                "the same networks)."
                if call == "pretrain"
                else "Pretrain with the longer fh."
            )
            raise ValueError(
                f"{owner} was pretrained for {self.horizon} step(s) ahead; fh reaches "
                f"{horizon}. {longer}"
            )
        if n_points < self.span:
            raise ValueError(
                f"{owner} was pretrained with lookback={self.lookback} and a horizon of "
                f"{self.horizon}; {call} needs a series of at least {self.span} time "
                f"points, got {n_points}."
            )


def check_trainable(n_timepoints: int, horizon: int, owner: str, what: str) -> None:
    """Raise where a series of ``n_timepoints`` holds no window to train on (lookback 1)."""
    if n_timepoints - horizon + 1 < 2:
        raise ValueError(
            f"{owner}: {what} has {n_timepoints} time points, too few to train on with a "
            f"horizon of {horizon} step(s): at least {horizon + 1} are needed (lookback 1, "
            "one window). Pass a longer series or a shorter fh."
        )


def resolve_lookback(
    lookback,
    n_timepoints: int,
    horizon: int,
    max_fh,
    *,
    owner: str,
    what: str,
    sp: int = 1,
):
    """The lookback to use: ``"auto"`` covers twice the horizon and two seasons (at least 8).

    The lookback is shrunk to ``(n_timepoints - horizon + 1) // 2`` on a series too
    short for it, so that at least half of the windows that would fit with lookback
    1 remain (a given int shrinks with a ``UserWarning`` that names the user's line).
    ``max_fh`` is the longest requested step (None: 12); ``sp`` the seasonal period.
    """
    check_trainable(n_timepoints, horizon, owner, what)
    n_usable = n_timepoints - horizon + 1  # windows of length 1 that fit
    limit = max(1, n_usable // 2)
    if lookback == "auto":
        steps = 12 if max_fh is None else int(max_fh)
        return int(min(max(2 * steps, 8, 2 * sp), limit))
    if lookback > limit:
        warnings.warn(
            f"{owner}: lookback={lookback} is too long for {what} ({n_timepoints} time "
            f"points, horizon {horizon}); using lookback={limit} instead, so that enough "
            "windows remain to train on.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
        return limit
    return int(lookback)


def panel_steps(values, is_relative: bool, owner: str) -> np.ndarray:
    """The steps ahead of ``forecast_panel``'s horizon (``values``: its pandas index).

    Each series of a panel ends at its own time point, so only relative integer steps
    of 1 or more have a meaning; absolute, timedelta, zero and negative steps are refused.
    """
    if not is_relative or not pd.api.types.is_integer_dtype(values.dtype):
        raise ValueError(
            f"{owner}.forecast_panel needs fh as steps ahead (relative, e.g. [1, 2, 3]); "
            f"got {list(values)}."
        )
    steps = np.asarray(values, dtype=np.int64)
    if steps.min() < 1:
        raise ValueError(
            f"{owner}.forecast_panel forecasts steps 1 or more after the end of each "
            f"series; fh has {steps[steps < 1].tolist()}. In-sample steps are not supported."
        )
    return steps


# Seasonal period by pandas frequency, sktime's convention (the base unit of the offset).
_PERIODS = {"Y": 1, "A": 1, "Q": 4, "M": 12, "W": 52, "D": 7, "B": 5, "h": 24, "H": 24}


def season_length(index) -> int:
    """The seasonal period implied by a time index's frequency (1 when it has none).

    Quarterly 4, monthly 12, semi-monthly 24, weekly (and 7-daily) 52, daily 7, business-daily 5,
    hourly 24, and for ``n``-minute data the number of steps in a day (half-hourly: 48);
    a multiple of a unit divides its period where it divides evenly (3-monthly 4,
    2-weekly 26, 2-hourly 12; 2-daily none);
    business and custom-business months, quarters and years as their calendar ones;
    yearly, integer and range indices have none (1).
    """
    freq = getattr(index, "freq", None)
    if freq is None and isinstance(index, pd.DatetimeIndex) and len(index) >= 3:
        inferred = pd.infer_freq(index)  # a regular DatetimeIndex without its freq set
        freq = None if inferred is None else pd.tseries.frequencies.to_offset(inferred)
    if freq is None:
        return 1
    name = getattr(freq, "name", None) or str(freq)
    base = name.split("-")[0].lstrip("0123456789")
    n = max(int(getattr(freq, "n", 1)), 1)
    if base.startswith("SM"):  # semi-month (SMS, SME): 24 per year, not seconds
        return 24 // n if 24 % n == 0 else 1
    if base[:2] == "CB" or (base[:1] == "B" and base[1:2] in ("M", "Q", "Y", "A")):
        base = base.lstrip("CB")  # business / custom-business month, quarter, year
    elif base == "C":  # custom business day: a business week, as for "B"
        base = "B"
    for unit in ("min", "T", "s", "S"):
        if base.startswith(unit):
            seconds = {"min": 60, "T": 60, "s": 1, "S": 1}[unit] * n
            return int(86400 // seconds) if 86400 % seconds == 0 else 1
    if base.startswith(("h", "H")):
        return max(int(24 // n), 1) if 24 % n == 0 else 1
    if base[:1] == "D" and n % 7 == 0 and 52 % (n // 7) == 0:  # whole weeks (7D: weekly)
        return 52 // (n // 7)
    period = _PERIODS.get(base[:1], 1) if base else 1
    return period // n if period % n == 0 else 1  # 3-monthly: quarterly, 2-weekly: 26
