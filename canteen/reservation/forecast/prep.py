"""Forecasts for coming meals from the canteen's own records, and how much of each dish to prepare.

The suggestion learns from what came back unserved. A week is a calendar week, Monday to Sunday. A dish has data
in a week when the kitchen entered what it cooked of it for at least one meal of that week (DishCooked); the
week's unserved share is the unserved food weighed for those meals (kitchen waste of the stage unserved that
names the dish, corrections applied) over the grams cooked for them. A meal the kitchen did not enter counts
for nothing: the plan it defaults to says what was suggested, not what was cooked. Of the LOOKBACK_WEEKS weeks
before the planned day's week, the last RECENT_WEEKS with data are read; when the share was LEFTOVER_SHARE or
more in at least LEFTOVER_WEEKS of them, the dish's raw grams per portion are lowered by the median of those
weeks' shares, rounded to a whole percent and at most MAX_CUT. The rule is read afresh for every week, so the
cut ends once fewer of the recent weeks were left over. (The share sets food as served against raw ingredients
as cooked, the only weights the kitchen has of both: a dish that takes up water, rice say, reads higher.)
"""
import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
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
from canteen.reservation.models import Booking, BookingChoice, BookingStatus, DishCooked, Portion
from canteen.weighing.models import KitchenCategory, KitchenWaste

# Raw ingredients of a portion, as a share of a full one. 小份 is the smallest serving canteens offer.
PORTION_SHARE = {Portion.full: 1.0, Portion.half: 0.5, Portion.small: 0.35}

# Learning from leftovers (the module's docstring has the rule).
LEFTOVER_SHARE = 0.10
LEFTOVER_WEEKS = 3
RECENT_WEEKS = 4
LOOKBACK_WEEKS = 8
MAX_CUT = 0.30

MealDish = tuple[date, Meal, int]  # service date, meal, dish id


@dataclass(frozen=True)
class Leftover:
    """One dish at one meal: what the kitchen entered as cooked (None: not entered) with the plan it stored, and
    the unserved food weighed for it, in grams."""

    cooked_grams: int | None
    planned_grams: int | None
    unserved_grams: int


@dataclass(frozen=True)
class PortionCut:
    """Why a dish's grams per portion are lowered: in `leftover_weeks` of the last `weeks` weeks with data at least
    LEFTOVER_SHARE of what was cooked was left; `median_share` is the median of those weeks' shares, `cut` the
    share taken off each portion."""

    weeks: int
    leftover_weeks: int
    median_share: float
    cut: float


@dataclass(frozen=True)
class DishPrep:
    dish_id: int
    name: str
    raw_grams_per_portion: int  # what the suggestion uses: the dish's own grams, less the cut if there is one
    booked_portions: dict[Portion, int]
    kg: float
    kg_low: float
    kg_high: float
    dish_raw_grams: int  # the dish's own grams per full portion
    cut: PortionCut | None


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
    full portion of everything. The grams per portion are lowered for dishes left over week after week (see the
    module's docstring). A past meal is forecast from the meals that had ended by the start of its day, as the
    evening before would have had it, not from its own headcount.
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
        as_of = min(local_now, datetime.combine(day, time()))
        for forecast in forecaster.day(day, counts, as_of, history.closed_days):
            forecasts[(day, forecast.meal)] = forecast
    cuts = _cuts_by_week(session, canteen_id, {week_of(day) for day in by_day})
    return [_meal_prep(session, scope, canteen_id, day, meal, forecasts[(day, meal.value)],
                       booked.get((day, meal), (0, 0))[1], cuts[week_of(day)]) for day, meal in meals]


def week_of(day: date) -> date:
    """The Monday of the day's week."""
    return day - timedelta(days=day.weekday())


def leftovers(session: Session, canteen_id: int, start: date, end: date) -> dict[MealDish, Leftover]:
    """Per meal and dish from start to end (inclusive), what the kitchen entered as cooked and the unserved food
    weighed for the dish: the meals and dishes that have either."""
    unserved: dict[MealDish, int] = {}
    for day, meal, dish_id, grams in session.exec(
            select(col(KitchenWaste.service_date), col(KitchenWaste.meal), col(KitchenWaste.dish_id),
                   func.sum(KitchenWaste.grams))
            .where(KitchenWaste.canteen_id == canteen_id, KitchenWaste.service_date >= start,
                   KitchenWaste.service_date <= end, KitchenWaste.category == KitchenCategory.unserved,
                   col(KitchenWaste.dish_id).is_not(None), col(KitchenWaste.superseded_by).is_(None))
            .group_by(col(KitchenWaste.service_date), col(KitchenWaste.meal), col(KitchenWaste.dish_id))):
        assert dish_id is not None
        unserved[(day, Meal(meal), dish_id)] = int(grams)
    cooked = {(row.service_date, row.meal, row.dish_id): row for row in session.exec(
        select(DishCooked).where(DishCooked.canteen_id == canteen_id, DishCooked.service_date >= start,
                                 DishCooked.service_date <= end))}
    return {key: Leftover(cooked[key].cooked_grams if key in cooked else None,
                          cooked[key].planned_grams if key in cooked else None, unserved.get(key, 0))
            for key in cooked.keys() | unserved.keys()}


def portion_cut(weekly_shares: list[float]) -> PortionCut | None:
    """The cut for a dish whose last weeks with data (newest first, at most RECENT_WEEKS) left these shares."""
    recent = weekly_shares[:RECENT_WEEKS]
    leftover_weeks = sum(share >= LEFTOVER_SHARE for share in recent)
    if leftover_weeks < LEFTOVER_WEEKS:
        return None
    median = statistics.median(recent)
    return PortionCut(len(recent), leftover_weeks, median, min(round(median, 2), MAX_CUT))


def portion_cuts(session: Session, canteen_id: int, day: date) -> dict[int, PortionCut]:
    """The dishes whose grams per portion the suggestion lowers for a meal on `day`, by dish id."""
    return _cuts_by_week(session, canteen_id, {week_of(day)})[week_of(day)]


def _cuts_by_week(session: Session, canteen_id: int, weeks: set[date]) -> dict[date, dict[int, PortionCut]]:
    """For each week (its Monday), the cuts for meals in it, from the LOOKBACK_WEEKS weeks before it."""
    if not weeks:
        return {}
    lookback = timedelta(weeks=LOOKBACK_WEEKS)
    totals: dict[tuple[int, date], list[int]] = defaultdict(lambda: [0, 0])  # (dish, week) -> [cooked, unserved]
    for (day, _, dish_id), leftover in leftovers(session, canteen_id, min(weeks) - lookback,
                                                 max(weeks) - timedelta(days=1)).items():
        if leftover.cooked_grams is not None:
            total = totals[(dish_id, week_of(day))]
            total[0] += leftover.cooked_grams
            total[1] += leftover.unserved_grams
    shares: dict[int, list[tuple[date, float]]] = defaultdict(list)
    for (dish_id, week), (cooked, unserved) in totals.items():
        if cooked > 0:
            shares[dish_id].append((week, unserved / cooked))
    cuts: dict[date, dict[int, PortionCut]] = {}
    for week in weeks:
        cuts[week] = {}
        for dish_id, dish_weeks in shares.items():
            recent = [share for start, share in sorted(dish_weeks, reverse=True) if week - lookback <= start < week]
            if (cut := portion_cut(recent)) is not None:
                cuts[week][dish_id] = cut
    return cuts


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
               set_meals: int, cuts: dict[int, PortionCut]) -> MealPrep:
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
        cut = cuts.get(dish.id)
        grams = round(dish.raw_grams * (1 - cut.cut)) if cut else dish.raw_grams
        kg = [round(diners * per_diner * grams / 1000, 1)
              for diners in (forecast.expected, forecast.low, forecast.high)]
        dishes.append(DishPrep(dish.id, dish.name, grams, portions, kg=kg[0], kg_low=kg[1], kg_high=kg[2],
                               dish_raw_grams=dish.raw_grams, cut=cut))
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
                "portion_cut_percent": round(dish.cut.cut * 100) if dish and dish.cut else None,
            })
    return pd.DataFrame(rows)
