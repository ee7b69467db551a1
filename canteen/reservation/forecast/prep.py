"""Forecasts for coming meals from the canteen's own records, and how much of each dish to prepare."""
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from canteen.access import Scope
from canteen.org import service as org_service
from canteen.org.models import Meal
from canteen.reservation import service
from canteen.reservation.forecast.backtest import replay
from canteen.reservation.forecast.history import booking_history
from canteen.reservation.forecast.model import Forecast, Forecaster
from canteen.reservation.models import Booking, BookingChoice, BookingStatus, Portion

# Raw ingredients of a portion, as a share of a full one. 小份 is the smallest serving canteens offer.
PORTION_SHARE = {Portion.full: 1.0, Portion.half: 0.5, Portion.small: 0.35}


@dataclass(frozen=True)
class DishPrep:
    dish_id: int
    name: str
    raw_grams_per_portion: int
    booked_portions: dict[Portion, int]
    kg: float
    kg_low: float
    kg_high: float


@dataclass(frozen=True)
class MealPrep:
    service_date: date
    meal: Meal
    forecast: Forecast
    dishes: list[DishPrep]


def upcoming_meals(session: Session, scope: Scope, canteen_id: int, now: datetime) -> list[tuple[date, Meal]]:
    """Today's meals that are not over yet, then all of tomorrow's (canteen-local)."""
    canteen = org_service.get_canteen(session, scope, canteen_id)
    zone = ZoneInfo(canteen.timezone)
    today = org_service.local_date(canteen, now)
    windows = org_service.meal_windows(session, canteen_id)
    remaining = [(today, window.meal) for window in windows if datetime.combine(today, window.ends, zone) > now]
    return remaining + [(today + timedelta(days=1), window.meal) for window in windows]


def meal_prep(session: Session, scope: Scope, canteen_id: int, day: date, meal: Meal, now: datetime) -> MealPrep:
    return meals_prep(session, scope, canteen_id, [(day, meal)], now)[0]


def meals_prep(session: Session, scope: Scope, canteen_id: int, meals: list[tuple[date, Meal]],
               now: datetime) -> list[MealPrep]:
    """Per meal, the expected headcount with its 80 % interval and per dish on the menu the kilograms of raw
    ingredients = forecast × portion mix × grams per portion.

    The mix is what the bookings chose (a set meal is a full portion of every dish); the people the
    forecast adds beyond the bookings are assumed to choose alike. Without bookings, everyone takes a
    full portion of everything.
    """
    canteen = org_service.get_canteen(session, scope, canteen_id)
    history = booking_history(session, scope, canteen_id, now)
    forecaster = Forecaster(history.frame, history.meal_ends, calendar=history.calendar)
    local_now = now.astimezone(ZoneInfo(canteen.timezone)).replace(tzinfo=None)
    booked = _live_counts(session, canteen_id, meals)
    by_day: dict[date, list[Meal]] = defaultdict(list)
    for day, meal in meals:
        by_day[day].append(meal)
    forecasts = {}
    for day, day_meals in by_day.items():
        counts = {meal.value: booked.get((day, meal), (0, 0))[0] for meal in day_meals}
        for forecast in forecaster.day(day, counts, local_now, history.closed_days):
            forecasts[(day, forecast.meal)] = forecast
    return [_meal_prep(session, scope, canteen_id, day, meal, forecasts[(day, meal.value)],
                       booked.get((day, meal), (0, 0))[1]) for day, meal in meals]


def forecast_vs_actual(session: Session, scope: Scope, canteen_id: int, meal: Meal, now: datetime,
                       days: int) -> pd.DataFrame:
    """The meal over the last `days` days to yesterday: booked, served, closed, and the forecast (with its
    interval) as it would have been made at each day's cut-off."""
    history = booking_history(session, scope, canteen_id, now)
    frame = history.frame[history.frame["meal"] == meal.value]
    if frame.empty:
        return replay(frame, calendar=history.calendar)
    since = frame["date"].max().date() - timedelta(days=days - 1)
    replayed = replay(history.frame, history.cutoff_time, history.days_before, history.meal_ends, since,
                      calendar=history.calendar)
    return replayed[(replayed["meal"] == meal.value) & (replayed["date"] >= pd.Timestamp(since))]


def _live_counts(session: Session, canteen_id: int, meals: list[tuple[date, Meal]]) -> dict[tuple, tuple[int, int]]:
    """(live bookings, set meals among them) per day and meal."""
    days = {day for day, _ in meals}
    set_meal_count = func.sum(sa.case((col(Booking.set_meal), 1), else_=0))
    query = (select(col(Booking.service_date), Booking.meal, func.count(), set_meal_count)
             .where(Booking.canteen_id == canteen_id, col(Booking.service_date).in_(days),
                    Booking.status == BookingStatus.booked)
             .group_by(col(Booking.service_date), Booking.meal))
    return {(day, meal): (count, int(set_meals or 0)) for day, meal, count, set_meals in session.exec(query)}


def _meal_prep(session: Session, scope: Scope, canteen_id: int, day: date, meal: Meal, forecast: Forecast,
               set_meals: int) -> MealPrep:
    live = (Booking.canteen_id == canteen_id, Booking.service_date == day, Booking.meal == meal,
            Booking.status == BookingStatus.booked)
    chosen: dict[int, dict[Portion, int]] = {}
    for dish_id, portion, count in session.exec(
            select(BookingChoice.dish_id, col(BookingChoice.portion), func.count())
            .join(Booking, col(Booking.id) == BookingChoice.booking_id).where(*live)
            .group_by(col(BookingChoice.dish_id), BookingChoice.portion)):
        chosen.setdefault(dish_id, {})[portion] = count
    dishes = []
    for dish in service.get_menu(session, scope, canteen_id, day, meal):
        assert dish.id is not None
        portions = dict(chosen.get(dish.id, {}))
        if set_meals:
            portions[Portion.full] = portions.get(Portion.full, 0) + set_meals
        if forecast.booked:
            per_diner = sum(PORTION_SHARE[portion] * count for portion, count in portions.items()) / forecast.booked
        else:
            per_diner = 1.0
        kg = [round(diners * per_diner * dish.raw_grams / 1000, 1)
              for diners in (forecast.expected, forecast.low, forecast.high)]
        dishes.append(DishPrep(dish.id, dish.name, dish.raw_grams, portions, *kg))
    return MealPrep(day, meal, forecast, dishes)


def export_frame(preps: list[MealPrep]) -> pd.DataFrame:
    """One row per meal and dish, for the kitchen's spreadsheet."""
    rows = []
    for prep in preps:
        forecast = prep.forecast
        for dish in prep.dishes if prep.dishes else [None]:
            portions = dish.booked_portions if dish else {}
            rows.append({
                "date": prep.service_date.isoformat(), "meal": prep.meal.value, "booked": forecast.booked,
                "expected_diners": forecast.expected, "expected_low": forecast.low, "expected_high": forecast.high,
                "dish": dish.name if dish else "", "raw_g_per_portion": dish.raw_grams_per_portion if dish else None,
                **{f"booked_{portion.value}": portions.get(portion, 0) for portion in Portion},
                "raw_kg": dish.kg if dish else None, "raw_kg_low": dish.kg_low if dish else None,
                "raw_kg_high": dish.kg_high if dish else None,
            })
    return pd.DataFrame(rows)
