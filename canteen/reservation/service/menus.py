"""Dishes, the menu of a date and meal, and the days a canteen is closed."""
from datetime import date, datetime

from sqlmodel import Session, col, func, select

from canteen.access import Scope
from canteen.calendar import service as calendar_service
from canteen.errors import CanteenError, Conflict, InvalidInput, NotFound
from canteen.org.models import Meal
from canteen.reservation.models import (
    Booking,
    BookingChoice,
    BookingStatus,
    ClosedDay,
    Dish,
    DishCreate,
    MenuItem,
)
from canteen.reservation.service.access import operated_canteen, readable_canteen
from canteen.reservation.service.rules import MEAL_NAMES, meal_window


def list_dishes(session: Session, scope: Scope, canteen_id: int) -> list[Dish]:
    readable_canteen(session, scope, canteen_id)
    return list(session.exec(select(Dish).where(Dish.canteen_id == canteen_id).order_by(Dish.name)))


def create_dish(session: Session, scope: Scope, canteen_id: int, data: DishCreate) -> Dish:
    operated_canteen(session, scope, canteen_id)
    taken = select(Dish.id).where(Dish.canteen_id == canteen_id, Dish.name == data.name)
    if session.exec(taken).first() is not None:
        raise Conflict("this canteen already has a dish named {name!r}", field="name", name=data.name)
    dish = Dish(canteen_id=canteen_id, **data.model_dump())
    session.add(dish)
    session.flush()
    return dish


def set_dish_price(session: Session, scope: Scope, canteen_id: int, dish_id: int, price: float | None) -> Dish:
    """The dish's own price per kg (None: back to the canteen's price of unserved food)."""
    operated_canteen(session, scope, canteen_id)
    dish = session.get(Dish, dish_id)
    if dish is None or dish.canteen_id != canteen_id:
        raise NotFound("dish {id} not found", field="dish_id", id=dish_id)
    dish.price_yuan_per_kg = None if price is None else round(price, 2)
    session.add(dish)
    session.flush()
    return dish


def menu_dishes(session: Session, canteen_id: int, day: date, meal: Meal) -> list[Dish]:
    query = (select(Dish).join(MenuItem, col(MenuItem.dish_id) == Dish.id)
             .where(MenuItem.canteen_id == canteen_id, MenuItem.service_date == day, MenuItem.meal == meal)
             .order_by(Dish.name))
    return list(session.exec(query))


def get_menu(session: Session, scope: Scope, canteen_id: int, day: date, meal: Meal) -> list[Dish]:
    readable_canteen(session, scope, canteen_id)
    return menu_dishes(session, canteen_id, day, meal)


def set_menu(session: Session, scope: Scope, canteen_id: int, day: date, meal: Meal,
             dish_ids: list[int]) -> list[Dish]:
    """Replace a meal's menu; a dish that live bookings chose cannot be taken off it."""
    canteen = operated_canteen(session, scope, canteen_id)
    meal_window(session, canteen, meal)
    if len(set(dish_ids)) != len(dish_ids):
        raise InvalidInput("each dish may appear only once", field="dish_ids")
    known = set(session.exec(select(Dish.id).where(Dish.canteen_id == canteen_id, col(Dish.id).in_(dish_ids))))
    for dish_id in dish_ids:
        if dish_id not in known:
            raise InvalidInput("dish {id} does not belong to this canteen", field="dish_ids", id=dish_id)
    for dish in menu_dishes(session, canteen_id, day, meal):
        assert dish.id is not None
        if dish.id not in known and _choices_of(session, canteen_id, day, meal, dish.id):
            raise Conflict("{name} has bookings and cannot be taken off the menu", field="dish_ids", name=dish.name)
    for item in session.exec(select(MenuItem).where(MenuItem.canteen_id == canteen_id, MenuItem.service_date == day,
                                                    MenuItem.meal == meal)):
        session.delete(item)
    session.flush()
    for dish_id in dish_ids:
        session.add(MenuItem(canteen_id=canteen_id, service_date=day, meal=meal, dish_id=dish_id))
    session.flush()
    return menu_dishes(session, canteen_id, day, meal)


def _choices_of(session: Session, canteen_id: int, day: date, meal: Meal, dish_id: int) -> int:
    query = (select(func.count()).select_from(BookingChoice).join(Booking, col(Booking.id) == BookingChoice.booking_id)
             .where(BookingChoice.dish_id == dish_id, *period_filter(canteen_id, day, meal),
                    Booking.status == BookingStatus.booked))
    return session.exec(query).one()


def period_filter(canteen_id: int, day: date, meal: Meal) -> tuple:
    return Booking.canteen_id == canteen_id, Booking.service_date == day, Booking.meal == meal

def rest_day(session: Session, day: date) -> bool:
    """Weekends and public holidays, minus adjusted working days (调休), from the official calendar (a guess
    of plain weekends in a year it has no data for)."""
    return not calendar_service.load(session).is_working_day(day)


def closure(session: Session, canteen_id: int, day: date, meal: Meal) -> CanteenError | None:
    """Why the canteen does not serve this meal, if it does not.

    A rest day is closed unless the canteen published a menu for the meal: that is how a canteen opens on one.
    """
    closed = session.get(ClosedDay, (canteen_id, day))
    if closed is not None:
        return InvalidInput("the canteen is closed on {date}: {why}", field="service_date",
                            date=day.isoformat(), why=closed.reason or "—")
    if rest_day(session, day) and not menu_dishes(session, canteen_id, day, meal):
        return InvalidInput("{date} is a rest day and the canteen serves no {meal} then", field="service_date",
                            date=day.isoformat(), meal=MEAL_NAMES[meal])
    return None


def list_closed_days(session: Session, scope: Scope, canteen_id: int, start: date, end: date) -> list[ClosedDay]:
    readable_canteen(session, scope, canteen_id)
    query = select(ClosedDay).where(ClosedDay.canteen_id == canteen_id, ClosedDay.service_date >= start,
                                    ClosedDay.service_date <= end)
    return list(session.exec(query.order_by(col(ClosedDay.service_date))))


def close_day(session: Session, scope: Scope, canteen_id: int, day: date, reason: str,
              now: datetime) -> tuple[ClosedDay, int]:
    """Mark a day closed and cancel its live bookings; returns the day and how many were cancelled."""
    operated_canteen(session, scope, canteen_id)
    closed = session.get(ClosedDay, (canteen_id, day)) or ClosedDay(canteen_id=canteen_id, service_date=day)
    closed.reason = reason
    session.add(closed)
    live = session.exec(select(Booking).where(Booking.canteen_id == canteen_id, Booking.service_date == day,
                                              Booking.status == BookingStatus.booked)).all()
    for booking in live:
        booking.status, booking.cancelled_at = BookingStatus.cancelled, now
        session.add(booking)
    session.flush()
    return closed, len(live)


def reopen_day(session: Session, scope: Scope, canteen_id: int, day: date) -> None:
    operated_canteen(session, scope, canteen_id)
    closed = session.get(ClosedDay, (canteen_id, day))
    if closed is None:
        raise NotFound("{date} is not marked closed", field="service_date", date=day.isoformat())
    session.delete(closed)
    session.flush()
