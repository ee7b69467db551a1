"""Tomorrow's headcount per meal: bookings × show-up rate + walk-ins, learnt from the canteen's own history.

The history is a frame with one row per (date, meal): `booked` (bookings known at the cut-off), `served`
(the actual headcount: diners who checked in plus walk-ins) and `closed`. One weighted least-squares fit
over the last half year, recent weeks weighing most (numpy: QR of the rows scaled by the square roots of their
weights), learns

    served = booked × (show-up of the meal + weekday + day-kind adjustments)
             + usual bookings of the meal × (walk-in share of the meal + day-kind adjustment + trend × weeks)

where the day kinds are weekend, adjusted workday (调休), last day before and first day after a public
holiday. Weeks count back from the forecast day, so the trend term adds nothing on that day and its
coefficient reads as the change in walk-ins per week. With bookings and headcounts alone, the split between
show-up and walk-ins is only as sharp as the bookings vary from day to day; their sum, the forecast, is what
the backtest checks. A term the earlier ones already explain exactly (the walk-ins of a meal whose bookings
never change, say) is left out of the fit, so its part is read as show-up.

The 80 % interval holds the whole headcounts between the forecast times (1 + the 10th percentile) and
(1 + the 90th percentile) of the meal's relative leave-one-out errors: each row's residual divided by
(1 − its leverage), which is what the fit without that row would have missed it by, over the fitted value,
weighted by recency like the fit. Leave-one-out rather than in-sample residuals, because the fit has already
bent towards its own rows and the forecast day is not one of them; per meal, because a small meal's headcount
varies relatively more than a large one's. (The textbook WLS prediction interval would read the recency
weights as precisions and assume every meal's headcount equally noisy: in the backtest of the simulated
canteens it held 66–71 % instead of 80 %, and 55–61 % of lunches.) The ratio method spreads its forecast the
same way, by the errors of the ratio left without each row.

With too little history for the fit (a new canteen, a meal served for a few days only, a first weekend
opening) the forecast is the bookings times the meal's recent served-per-booking ratio, and with no
history at all the bookings themselves. Closed days forecast nothing; public holidays forecast what the
canteen's open holidays have shown, or the bookings if it never opened on one.
"""
import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

import numpy as np
import pandas as pd

from canteen.calendar.service import OfficialCalendar
from canteen.org.models import DEFAULT_MEAL_WINDOWS
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
MAX_LEVERAGE = 0.99  # a row the fit passes through exactly would otherwise divide by zero
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


def _independent(matrix: np.ndarray) -> list[int]:
    """The columns no earlier column explains exactly, in order (all of them unless the matrix is rank-deficient)."""
    if np.linalg.matrix_rank(matrix) == matrix.shape[1]:
        return list(range(matrix.shape[1]))
    kept: list[int] = []
    for index in range(matrix.shape[1]):
        if np.linalg.matrix_rank(matrix[:, [*kept, index]]) > len(kept):
            kept.append(index)
    return kept


def _least_squares(matrix: np.ndarray, served: np.ndarray,
                   weights: np.ndarray) -> tuple[list[int], np.ndarray, np.ndarray]:
    """Weighted least squares: the independent columns kept, their parameters and each row's leverage."""
    root = np.sqrt(weights)
    scaled = matrix * root[:, None]
    kept = _independent(scaled)
    q, r = np.linalg.qr(scaled[:, kept])
    params = np.linalg.solve(r, q.T @ (served * root))
    return kept, params, np.minimum((q ** 2).sum(axis=1), MAX_LEVERAGE)


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
        carried = [name for name, values in design.items()
                   if len(np.unique(rows.date[values != 0])) >= MIN_TERM_DAYS]
        self.meal_rows = dict(zip(*np.unique(rows.meal, return_counts=True)))
        matrix = np.column_stack([design[name] for name in carried])
        kept, params, leverage = _least_squares(matrix, rows.served, self.weights)
        self.columns = [carried[index] for index in kept]
        self.params = dict(zip(self.columns, map(float, params)))
        fitted = matrix[:, kept] @ params
        relative = (rows.served - fitted) / (1 - leverage) / np.maximum(fitted, 1)
        self.spreads = {meal: _quantiles(relative[rows.meal == meal], self.weights[rows.meal == meal])
                        for meal in self.levels}

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
        return Forecast(info, meal, booked, round(expected), *_interval(expected, *self.spreads[meal]), Method.model,
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
    """The whole headcounts from expected × (1 + low_share) to expected × (1 + high_share), the rounded forecast
    always among them."""
    low = math.ceil(expected * (1 + low_share) - 1e-9)
    high = math.floor(expected * (1 + high_share) + 1e-9)
    return max(min(low, round(expected)), 0), max(high, round(expected), 0)


def _bookings(info: DayInfo, meal: str, booked: int, method: Method) -> Forecast:
    return Forecast(info, meal, booked, booked, *_interval(booked, -NO_HISTORY_SPREAD, NO_HISTORY_SPREAD), method)


def _ratio(info: DayInfo, meal: str, booked: int, rows: _Rows, method: Method) -> Forecast:
    """Bookings × recent served per booking, or the recent mean headcount if nobody booked back then."""
    weights = _recency(rows, info.day)
    by_bookings = (rows.booked * weights).sum() > 0
    base = rows.booked if by_bookings else np.ones(len(rows))  # served per booking, or per day
    served_sum, base_sum = (rows.served * weights).sum(), (base * weights).sum()
    per_base = float(served_sum / base_sum)
    ratio, expected = (per_base, booked * per_base) if by_bookings else (None, per_base)
    rest = base_sum - base * weights  # the ratio without each row, where the other rows define one
    without_row = np.where(rest > 0, (served_sum - rows.served * weights) / np.where(rest > 0, rest, 1), per_base)
    relative = (rows.served - base * without_row) / np.maximum(base * per_base, 1)
    spread = (_quantiles(relative, weights) if len(rows) >= MIN_RESIDUALS
              else (-NO_HISTORY_SPREAD, NO_HISTORY_SPREAD))
    return Forecast(info, meal, booked, round(expected), *_interval(expected, *spread), method, show_up_rate=ratio)


def forecast_day(history: pd.DataFrame, day: date, booked: Mapping[str, int], now: datetime,
                 closed: Collection[date] = (), meal_ends: Mapping[str, time] | None = None, *,
                 calendar: OfficialCalendar) -> list[Forecast]:
    """Forecasts for one day from a history frame (see the module docstring); `now` is the clock."""
    return Forecaster(history, meal_ends, calendar=calendar).day(day, booked, now, closed)
