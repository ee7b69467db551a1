"""Tomorrow's headcount per meal: bookings × show-up rate + walk-ins, learnt from the canteen's own history.

The history is a frame with one row per (date, meal): `booked` (bookings known at the cut-off), `served`
(the actual headcount: diners who checked in plus walk-ins) and `closed`. One weighted least-squares fit
(statsmodels WLS) over the last half year, recent weeks weighing most, learns

    served = booked × (show-up of the meal + weekday + day-kind adjustments)
             + usual bookings of the meal × (walk-in share of the meal + day-kind adjustment + trend × weeks)

where the day kinds are weekend, adjusted workday (调休), last day before and first day after a public
holiday. Weeks count back from the forecast day, so the trend term adds nothing on that day and its
coefficient reads as the change in walk-ins per week. The 80 % interval spreads the forecast by the
weighted 10th and 90th percentiles of the fit's relative residuals. With bookings and headcounts alone, the
split between show-up and walk-ins is only as sharp as the bookings vary from day to day; their sum, the
forecast, is what the backtest checks.

With too little history for the fit (a new canteen, a meal served for a few days only, a first weekend
opening) the forecast is the bookings times the meal's recent served-per-booking ratio, and with no
history at all the bookings themselves. Closed days forecast nothing; public holidays forecast what the
canteen's open holidays have shown, or the bookings if it never opened on one.
"""
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

import numpy as np
import pandas as pd
import statsmodels.api as sm

from canteen.org.models import DEFAULT_MEAL_WINDOWS
from canteen.calendar.service import OfficialCalendar
from canteen.reservation.calendar import DayInfo, DayKind, day_info

COLUMNS = ("date", "meal", "booked", "served", "closed")
DEFAULT_MEAL_ENDS = {str(meal): ends for meal, (_, ends) in DEFAULT_MEAL_WINDOWS.items()}
WINDOW_DAYS = 182
HALF_LIFE_DAYS = 42
MIN_FIT_ROWS = 30
MIN_MEAL_ROWS = 10
MIN_RESIDUALS = 5
MIN_TERM_DAYS = 2  # a term enters the fit once rows on this many days carry it
INTERVAL = (0.1, 0.9)
NO_HISTORY_SPREAD = 0.15  # ± share of the bookings when there is nothing to learn the spread from
WORKDAY_SHIFTS = ("tue", "wed", "thu", "fri")  # show-up differences from Monday


class Method(StrEnum):
    model = "model"
    ratio = "ratio"
    bookings = "bookings"
    holiday = "holiday"
    closed = "closed"


@dataclass(frozen=True)
class Forecast:
    """The expected headcount and its 80 % interval, with the parts a page shows to explain it.

    With the `model` method, expected ≈ booked × show_up_rate + walk_ins; with `ratio` and `holiday`,
    show_up_rate is served per booking (walk-ins included) and walk_ins is None.
    """

    day: DayInfo
    meal: str
    booked: int
    expected: int
    low: int
    high: int
    method: Method
    show_up_rate: float | None = None
    walk_ins: float | None = None
    walk_ins_trend_per_week: float | None = None


def history_frame(rows: Iterable[tuple[date, str, int, int, bool]]) -> pd.DataFrame:
    """A history frame from (date, meal, booked, served, closed) tuples."""
    frame = pd.DataFrame(list(rows), columns=list(COLUMNS))
    return frame.astype({"date": "datetime64[ns]", "meal": str, "booked": int, "served": int, "closed": bool})


def cutoff(day: date, at: time = time(16), days_before: int = 1) -> datetime:
    """When the forecast for `day` is made: by default 16:00 the day before (canteen-local, naive)."""
    return datetime.combine(day - timedelta(days=days_before), at)


@dataclass(frozen=True)
class _Rows:
    """The history as arrays, with each row's calendar features; `ends` is when the meal was over."""

    date: np.ndarray  # datetime64[D]
    meal: np.ndarray
    booked: np.ndarray
    served: np.ndarray
    closed: np.ndarray
    ends: np.ndarray  # datetime64[s], canteen-local
    weekday: np.ndarray
    kind: np.ndarray
    before_holiday: np.ndarray
    after_holiday: np.ndarray

    @classmethod
    def of(cls, history: pd.DataFrame, meal_ends: Mapping[str, time], calendar: OfficialCalendar) -> "_Rows":
        dates = history["date"].to_numpy("datetime64[D]")
        infos = {day: day_info(calendar, day.astype(object)) for day in np.unique(dates)}
        meals = history["meal"].astype(str).to_numpy()
        end_seconds = np.array([_seconds(meal_ends.get(meal, time(23, 59, 59))) for meal in meals], dtype=int)
        return cls(
            date=dates, meal=meals,
            booked=history["booked"].to_numpy(float), served=history["served"].to_numpy(float),
            closed=history["closed"].to_numpy(bool),
            ends=dates.astype("datetime64[s]") + end_seconds.astype("timedelta64[s]"),
            weekday=(dates.astype(int) - 4) % 7,  # 1970-01-01 was a Thursday
            kind=np.array([infos[day].kind for day in dates], dtype=object),
            before_holiday=np.array([infos[day].before_holiday for day in dates], dtype=bool),
            after_holiday=np.array([infos[day].after_holiday for day in dates], dtype=bool),
        )

    def select(self, mask: np.ndarray) -> "_Rows":
        return _Rows(**{name: values[mask] for name, values in vars(self).items()})

    def __len__(self) -> int:
        return len(self.date)


class Forecaster:
    """Forecasts from one history; build it once and ask for many days (the backtest does)."""

    def __init__(self, history: pd.DataFrame, meal_ends: Mapping[str, time] | None = None, *,
                 calendar: OfficialCalendar) -> None:
        self._calendar = calendar
        self._rows = _Rows.of(history, DEFAULT_MEAL_ENDS | dict(meal_ends or {}), calendar)

    def day(self, day: date, booked: Mapping[str, int], now: datetime,
            closed: Collection[date] = ()) -> list[Forecast]:
        """Forecasts for `day`, one per meal in `booked`, from the meals that ended by `now` (naive, canteen-local)."""
        info = day_info(self._calendar, day, closed)
        rows = self._rows
        start = np.datetime64(day - timedelta(days=WINDOW_DAYS), "D")
        known = rows.select((rows.ends <= np.datetime64(now, "s")) & (rows.date >= start) & ~rows.closed)
        fit = _Fit.of(known.select(known.kind != DayKind.holiday), day)
        return [self._meal(info, meal, count, known, fit) for meal, count in booked.items()]

    @staticmethod
    def _meal(info: DayInfo, meal: str, booked: int, known: _Rows, fit: "_Fit | None") -> Forecast:
        if info.kind is DayKind.closed:
            return Forecast(info, meal, booked, 0, 0, 0, Method.closed)
        same_meal = known.select(known.meal == meal)
        if info.kind is DayKind.holiday:
            holidays = same_meal.select(same_meal.kind == DayKind.holiday)
            if not len(holidays):
                return _bookings(info, meal, booked, Method.holiday)
            return _ratio(info, meal, booked, holidays, Method.holiday)
        if fit is None or not fit.knows(meal, info.kind):
            ordinary = same_meal.select(same_meal.kind != DayKind.holiday)
            if not len(ordinary):
                return _bookings(info, meal, booked, Method.bookings)
            return _ratio(info, meal, booked, ordinary, Method.ratio)
        return fit.predict(info, meal, booked)


def _days_before(rows: _Rows, day: date) -> np.ndarray:
    return (np.datetime64(day, "D") - rows.date).astype(float)


def _recency(rows: _Rows, day: date) -> np.ndarray:
    return 0.5 ** (_days_before(rows, day) / HALF_LIFE_DAYS)


def _quantiles(values: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
    """Weighted INTERVAL quantiles (the inverse of the weighted empirical distribution)."""
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order]) / weights.sum()
    picks = np.searchsorted(cumulative, INTERVAL)
    low, high = values[order][np.minimum(picks, len(values) - 1)]
    return float(low), float(high)


class _Fit:
    """The weighted least-squares fit over a window's open, non-holiday rows."""

    def __init__(self, rows: _Rows, day: date) -> None:
        self.weights = _recency(rows, day)
        self.levels = {meal: max(float(np.average(rows.booked[rows.meal == meal],
                                                  weights=self.weights[rows.meal == meal])), 1.0)
                       for meal in np.unique(rows.meal)}
        design = _design(rows, self.levels, -_days_before(rows, day) / 7)
        self.columns = [name for name, values in design.items()
                        if len(np.unique(rows.date[values != 0])) >= MIN_TERM_DAYS]
        self.meal_rows = dict(zip(*np.unique(rows.meal, return_counts=True)))
        matrix = np.column_stack([design[name] for name in self.columns])
        self.params = dict(zip(self.columns, sm.WLS(rows.served, matrix, weights=self.weights).fit().params))
        fitted = matrix @ np.array([self.params[name] for name in self.columns])
        self.spread = _quantiles((rows.served - fitted) / np.maximum(fitted, 1), self.weights)

    @classmethod
    def of(cls, rows: _Rows, day: date) -> "_Fit | None":
        return cls(rows, day) if len(rows) >= MIN_FIT_ROWS else None

    def knows(self, meal: str, kind: DayKind) -> bool:
        seen_kind = kind is not DayKind.weekend or "show_up:weekend" in self.columns
        return self.meal_rows.get(meal, 0) >= MIN_MEAL_ROWS and seen_kind

    def predict(self, info: DayInfo, meal: str, booked: int) -> Forecast:
        show_up = sum(self.params.get(name, 0.0) for name in _show_up_terms(info, meal))
        level = self.levels[meal]
        walk_ins = level * sum(self.params.get(name, 0.0) for name in _walk_in_terms(info, meal))
        expected = max(booked * show_up + walk_ins, 0.0)
        return Forecast(info, meal, booked, round(expected), *_interval(expected, *self.spread), Method.model,
                        show_up_rate=float(show_up), walk_ins=float(walk_ins),
                        walk_ins_trend_per_week=level * float(self.params.get("trend", 0.0)))


def _seconds(moment: time) -> int:
    return moment.hour * 3600 + moment.minute * 60 + moment.second


def _kind_name(kind: DayKind) -> str | None:
    return {DayKind.weekend: "weekend", DayKind.adjusted_workday: "adjusted"}.get(kind)


def _show_up_terms(info: DayInfo, meal: str) -> list[str]:
    terms = [f"show_up:{meal}"]
    if info.kind is DayKind.workday and info.day.weekday() in range(1, 5):
        terms.append(f"show_up:{WORKDAY_SHIFTS[info.day.weekday() - 1]}")
    if kind := _kind_name(info.kind):
        terms.append(f"show_up:{kind}")
    terms += [f"show_up:{flag}" for flag in ("before_holiday", "after_holiday") if getattr(info, flag)]
    return terms


def _walk_in_terms(info: DayInfo, meal: str) -> list[str]:
    kind = _kind_name(info.kind)
    return [f"walk_ins:{meal}", *([f"walk_ins:{kind}"] if kind else [])]


def _design(rows: _Rows, levels: Mapping[str, float], weeks: np.ndarray) -> dict[str, np.ndarray]:
    level = np.array([levels[meal] for meal in rows.meal])
    workday = rows.kind == DayKind.workday
    columns = {}
    for meal in levels:
        is_meal = rows.meal == meal
        columns[f"show_up:{meal}"] = rows.booked * is_meal
        columns[f"walk_ins:{meal}"] = level * is_meal
    for weekday, name in enumerate(WORKDAY_SHIFTS, start=1):
        columns[f"show_up:{name}"] = rows.booked * (workday & (rows.weekday == weekday))
    for kind, name in ((DayKind.weekend, "weekend"), (DayKind.adjusted_workday, "adjusted")):
        is_kind = rows.kind == kind
        columns[f"show_up:{name}"] = rows.booked * is_kind
        columns[f"walk_ins:{name}"] = level * is_kind
    columns["show_up:before_holiday"] = rows.booked * rows.before_holiday
    columns["show_up:after_holiday"] = rows.booked * rows.after_holiday
    columns["trend"] = level * weeks
    return columns


def _interval(expected: float, low_share: float, high_share: float) -> tuple[int, int]:
    return max(round(expected * (1 + low_share)), 0), max(round(expected * (1 + high_share)), 0)


def _bookings(info: DayInfo, meal: str, booked: int, method: Method) -> Forecast:
    return Forecast(info, meal, booked, booked, *_interval(booked, -NO_HISTORY_SPREAD, NO_HISTORY_SPREAD), method)


def _ratio(info: DayInfo, meal: str, booked: int, rows: _Rows, method: Method) -> Forecast:
    """Bookings × recent served per booking, or the recent mean headcount if nobody booked back then."""
    weights = _recency(rows, info.day)
    if (rows.booked * weights).sum() > 0:
        ratio = float((rows.served * weights).sum() / (rows.booked * weights).sum())
        expected, fitted = booked * ratio, rows.booked * ratio
    else:
        ratio = None
        expected = float(np.average(rows.served, weights=weights))
        fitted = np.full(len(rows), expected)
    spread = (_quantiles((rows.served - fitted) / np.maximum(fitted, 1), weights) if len(rows) >= MIN_RESIDUALS
              else (-NO_HISTORY_SPREAD, NO_HISTORY_SPREAD))
    return Forecast(info, meal, booked, round(expected), *_interval(expected, *spread), method, show_up_rate=ratio)


def forecast_day(history: pd.DataFrame, day: date, booked: Mapping[str, int], now: datetime,
                 closed: Collection[date] = (), meal_ends: Mapping[str, time] | None = None, *,
                 calendar: OfficialCalendar) -> list[Forecast]:
    """Forecasts for one day from a history frame (see the module docstring); `now` is the clock."""
    return Forecaster(history, meal_ends, calendar=calendar).day(day, booked, now, closed)
