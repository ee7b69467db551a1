"""A canteen's daily booking history: how many diners booked each meal, how many came, how many walked in.

Each canteen gets its own habits from the seed (meal sizes, weekday pattern, show-up and walk-in rates), then
every day is drawn from them: bookings follow the office week and a slow trend; diners who booked show up
at 85–95 %, less on the last day before a public holiday; walk-ins add 5–15 % of a meal's usual bookings,
more on adjusted workdays (调休). Public holidays are closed, adjusted workdays open, and now and then the
canteen closes for a day. Which days are holidays is the caller's to say (`day_kind`, e.g. from the official
calendar); by default only weekends rest.
The same seed and arguments give the same history.
"""
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

MEALS = ("breakfast", "lunch", "dinner")
# Bookings of a meal as a share of the canteen's seats on an ordinary Monday.
MEAL_SIZE = {"breakfast": (0.45, 0.65), "lunch": (0.8, 0.95), "dinner": (0.3, 0.5)}
# Booked breakfasts are skipped most, booked lunches least; lunch draws the most walk-ins (visitors, late deciders).
SHOW_UP = {"breakfast": (0.85, 0.89), "lunch": (0.91, 0.95), "dinner": (0.87, 0.92)}
WALK_IN_RATE = {"breakfast": (0.05, 0.08), "lunch": (0.09, 0.15), "dinner": (0.06, 0.1)}
WEEKDAY_BOOKINGS = (1.0, 1.0, 0.97, 0.95, 0.85)  # Monday to Friday; Friday afternoons empty out
ADJUSTED_WORKDAY_BOOKINGS = 0.95
ADJUSTED_WORKDAY_WALK_INS = 1.6
WEEKEND_WALK_INS = 0.5


@dataclass(frozen=True)
class MealDay:
    """One meal on one day; `served` is the actual headcount (diners who showed up plus walk-ins)."""

    day: date
    meal: str
    booked: int
    showed_up: int
    walk_ins: int
    closed: bool

    @property
    def served(self) -> int:
        return self.showed_up + self.walk_ins


@dataclass(frozen=True)
class Habits:
    """What one canteen's diners do; rates are shares, sizes are bookings on an ordinary Monday."""

    meal_size: dict[str, float]
    weekday_bookings: tuple[float, ...]
    trend_per_year: float
    show_up: dict[str, float]
    show_up_weekday: tuple[float, ...]
    show_up_before_holiday: float
    walk_in_rate: dict[str, float]
    weekend_share: float

    @classmethod
    def draw(cls, seed: int, seats: int = 300, meals: tuple[str, ...] = MEALS, weekend_share: float = 0.0) -> "Habits":
        rng = np.random.default_rng([seed, 0])
        return cls(
            meal_size={meal: seats * rng.uniform(*MEAL_SIZE[meal]) for meal in meals},
            weekday_bookings=tuple(factor * rng.uniform(0.97, 1.03) for factor in WEEKDAY_BOOKINGS),
            trend_per_year=rng.uniform(-0.15, 0.25),
            show_up={meal: rng.uniform(*SHOW_UP[meal]) for meal in meals},
            show_up_weekday=(0.01, *map(float, rng.uniform(-0.015, 0.015, size=3)), -0.04),
            show_up_before_holiday=-rng.uniform(0.05, 0.1),
            walk_in_rate={meal: rng.uniform(*WALK_IN_RATE[meal]) for meal in meals},
            weekend_share=weekend_share,
        )


# A day's kind: "workday", "weekend", "holiday" or "adjusted_workday" (a weekend day worked, 调休).
DayKindOf = Callable[[date], str]


def weekends_only(day: date) -> str:
    """A calendar without public holidays: Monday to Friday work, weekends rest."""
    return "weekend" if day.weekday() >= 5 else "workday"


class _Day:
    def __init__(self, habits: Habits, day: date, start: date, day_kind: DayKindOf) -> None:
        self.kind = day_kind(day)
        self.before_holiday = self.kind != "holiday" and day_kind(day + timedelta(days=1)) == "holiday"
        weekday = min(day.weekday(), 4)
        years = (day - start).days / 365
        base = 1 + habits.trend_per_year * years
        if self.kind == "workday":
            self.bookings, self.walk_ins = base * habits.weekday_bookings[weekday], base
        elif self.kind == "adjusted_workday":
            self.bookings, self.walk_ins = base * ADJUSTED_WORKDAY_BOOKINGS, base * ADJUSTED_WORKDAY_WALK_INS
        else:
            self.bookings, self.walk_ins = base * habits.weekend_share, base * habits.weekend_share * WEEKEND_WALK_INS
        self.show_up_shift = (habits.show_up_weekday[weekday] if self.kind == "workday" else 0.0) + (
            habits.show_up_before_holiday if self.before_holiday else 0.0)

    @property
    def open(self) -> bool:
        return self.kind != "holiday" and self.bookings > 0


def simulate(seed: int, start: date, days: int, seats: int = 300, meals: tuple[str, ...] = MEALS,
             weekend_share: float = 0.0, closed_rate: float = 0.01,
             day_kind: DayKindOf = weekends_only) -> list[MealDay]:
    """`days` days from `start`, one row per day and meal, in date order.

    `weekend_share` is weekend bookings as a share of a weekday's (0: closed at weekends); `closed_rate` is
    the chance that the canteen closes on a day it would be open; `day_kind` says which days are holidays and
    adjusted workdays. `Habits.draw` with the same seed, seats,
    meals and weekend share gives the habits behind the history.
    """
    habits = Habits.draw(seed, seats, meals, weekend_share)
    rng = np.random.default_rng([seed, 1])
    rows = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        today = _Day(habits, day, start, day_kind)
        closed = not today.open or rng.random() < closed_rate
        for meal in meals:
            if closed:
                rows.append(MealDay(day, meal, 0, 0, 0, closed=True))
                continue
            booked = int(rng.poisson(habits.meal_size[meal] * today.bookings * rng.lognormal(0, 0.06)))
            rate = habits.show_up[meal] + today.show_up_shift + rng.normal(0, 0.015)
            showed_up = int(rng.binomial(booked, float(np.clip(rate, 0.5, 0.99))))
            walk_ins = int(rng.poisson(habits.walk_in_rate[meal] * habits.meal_size[meal] * today.walk_ins))
            rows.append(MealDay(day, meal, booked, showed_up, walk_ins, closed=False))
    return rows
