"""Replays a history day by day to judge the forecast against two baselines an operator could use instead.

Each day is forecast from what was known at its cut-off (the meals that had ended by then, plus the day's
own bookings), never from the day's headcount. The baselines are "same weekday last week" (the headcount
of the latest open same meal 7, 14, … days before) and "bookings" (the booked count). Rows are scored when
the canteen was open and last week's baseline exists, so all three are judged on the same rows.
"""
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time, timedelta

import numpy as np
import pandas as pd

from canteen.calendar.service import OfficialCalendar
from canteen.reservation.forecast.model import COLUMNS, DEFAULT_MEAL_ENDS, Forecaster, cutoff

METHODS = ("forecast", "last_week", "bookings")
BASELINES = ("last_week", "bookings")
LOOKBACK_WEEKS = 4


@dataclass(frozen=True)
class Scores:
    """MAPE over rows with a headcount above zero, WAPE = sum of |error| / sum of headcount; None if no rows."""

    mape: float | None
    wape: float | None


@dataclass(frozen=True)
class Backtest:
    rows: int
    overall: dict[str, Scores]
    per_meal: dict[str, dict[str, Scores]]
    coverage: float | None  # share of scored rows whose headcount fell inside the 80 % interval
    predictions: pd.DataFrame

    @property
    def better_baseline(self) -> str | None:
        """The baseline with the lower WAPE."""
        scored = {name: wape for name in BASELINES if (wape := self.overall[name].wape) is not None}
        return min(scored, key=scored.__getitem__, default=None)

    @property
    def improvement(self) -> float | None:
        """How much lower the forecast's WAPE is than the better baseline's (0.3 = 30 % lower)."""
        baseline, forecast = self.better_baseline, self.overall["forecast"].wape
        baseline_wape = self.overall[baseline].wape if baseline is not None else None
        if baseline_wape is None or forecast is None or baseline_wape == 0:
            return None
        return 1 - forecast / baseline_wape


def backtest(history: pd.DataFrame, at: time = time(16), days_before: int = 1,
             meal_ends: Mapping[str, time] | None = None, *, calendar: OfficialCalendar) -> Backtest:
    """Forecast every open day of `history` as of its cut-off (`at`, `days_before` the day) and score it."""
    frame = replay(history, at, days_before, meal_ends, calendar=calendar)
    frame = frame.assign(last_week=_last_week(frame), bookings=frame["booked"].astype(float))
    frame["scored"] = ~frame["closed"] & frame["last_week"].notna()
    scored = frame[frame["scored"]]
    inside = (scored["served"] >= scored["low"]) & (scored["served"] <= scored["high"])
    return Backtest(
        rows=len(scored),
        overall=_scores(scored),
        per_meal={meal: _scores(scored[scored["meal"] == meal]) for meal in _meal_order(scored["meal"])},
        coverage=float(inside.mean()) if len(scored) else None,
        predictions=frame,
    )


def replay(history: pd.DataFrame, at: time = time(16), days_before: int = 1,
           meal_ends: Mapping[str, time] | None = None, since: date | None = None, *,
           calendar: OfficialCalendar) -> pd.DataFrame:
    """The history sorted by date and meal, with each open day from `since` on forecast as of its cut-off:
    columns forecast, low and high (0 on closed days and before `since`)."""
    rows = history.loc[:, list(COLUMNS)].sort_values(["date", "meal"], ignore_index=True)
    forecaster = Forecaster(rows, meal_ends, calendar=calendar)
    predicted = {}
    replayed = ~rows["closed"] & (rows["date"] >= pd.Timestamp(since or date.min))
    for stamp, day_rows in rows[replayed].groupby("date"):
        day = stamp.date()
        booked = dict(zip(day_rows["meal"], day_rows["booked"].astype(int)))
        for forecast in forecaster.day(day, booked, cutoff(day, at, days_before)):
            predicted[(stamp, forecast.meal)] = (forecast.expected, forecast.low, forecast.high)
    keys = list(zip(rows["date"], rows["meal"]))
    values = np.array([predicted.get(key, (0, 0, 0)) for key in keys], dtype=float).reshape(-1, 3)
    return rows.assign(forecast=values[:, 0], low=values[:, 1], high=values[:, 2])


def _meal_order(meals: pd.Series) -> list[str]:
    """Breakfast, lunch, dinner, then any other meal by name."""
    known = list(DEFAULT_MEAL_ENDS)
    return sorted(set(meals), key=lambda meal: (known.index(meal) if meal in known else len(known), meal))


def _last_week(rows: pd.DataFrame) -> pd.Series:
    """The headcount of the same meal on the latest open same weekday within LOOKBACK_WEEKS weeks."""
    served = rows[~rows["closed"]].set_index(["date", "meal"])["served"]
    found = pd.Series(np.nan, index=rows.index)
    for weeks in range(LOOKBACK_WEEKS, 0, -1):
        earlier = pd.MultiIndex.from_arrays([rows["date"] - timedelta(weeks=weeks), rows["meal"]])
        values = served.reindex(earlier).to_numpy(float)
        found = found.where(np.isnan(values), pd.Series(values, index=rows.index))
    return found


def _scores(rows: pd.DataFrame) -> dict[str, Scores]:
    served = rows["served"].to_numpy(float)
    positive = served > 0
    result = {}
    for method in METHODS:
        errors = np.abs(rows[method].to_numpy(float) - served)
        mape = float(np.mean(errors[positive] / served[positive])) if positive.any() else None
        wape = float(errors.sum() / served.sum()) if served.sum() > 0 else None
        result[method] = Scores(mape, wape)
    return result
