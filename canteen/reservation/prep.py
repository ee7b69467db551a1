"""Forecast for one meal from the canteen's own records, and how much of each dish to prepare."""
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, func, select

from canteen.auth.scope import Scope
from canteen.org import service as org_service
from canteen.org.models import Meal
from canteen.reservation import service
from canteen.reservation.forecast import Forecast, Forecaster
from canteen.reservation.history import booking_history
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
    forecast: Forecast
    dishes: list[DishPrep]


def meal_forecast(session: Session, scope: Scope, canteen_id: int, day: date, meal: Meal,
                  now: datetime) -> Forecast:
    """Expected headcount with its 80 % interval, from the bookings so far and the canteen's history."""
    history = booking_history(session, scope, canteen_id, now)
    canteen = org_service.get_canteen(session, scope, canteen_id)
    booked = session.exec(select(func.count()).select_from(Booking).where(
        Booking.canteen_id == canteen_id, Booking.service_date == day, Booking.meal == meal,
        Booking.status == BookingStatus.booked)).one()
    local_now = now.astimezone(ZoneInfo(canteen.timezone)).replace(tzinfo=None)
    forecaster = Forecaster(history.frame, history.meal_ends)
    return forecaster.day(day, {meal.value: booked}, local_now, history.closed_days)[0]


def meal_prep(session: Session, scope: Scope, canteen_id: int, day: date, meal: Meal, now: datetime) -> MealPrep:
    """Per dish on the menu: kilograms of raw ingredients = forecast × portion mix × grams per portion.

    The mix is what the bookings chose (a set meal is a full portion of every dish); the people the
    forecast adds beyond the bookings are assumed to choose alike. Without bookings, everyone takes a
    full portion of everything.
    """
    forecast = meal_forecast(session, scope, canteen_id, day, meal, now)
    live = (Booking.canteen_id == canteen_id, Booking.service_date == day, Booking.meal == meal,
            Booking.status == BookingStatus.booked)
    set_meals = session.exec(select(func.count()).select_from(Booking).where(*live, col(Booking.set_meal))).one()
    chosen: dict[int, dict[Portion, int]] = {}
    for dish_id, portion, count in session.exec(
            select(BookingChoice.dish_id, BookingChoice.portion, func.count())
            .join(Booking, col(Booking.id) == BookingChoice.booking_id).where(*live)
            .group_by(BookingChoice.dish_id, BookingChoice.portion)):
        chosen.setdefault(dish_id, {})[portion] = count
    dishes = []
    for dish in service.get_menu(session, scope, canteen_id, day, meal):
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
    return MealPrep(forecast, dishes)
