"""Bookings of a meal: book, cancel, a diner's own bookings, no-shows, and the counts per meal."""
import secrets
from collections import defaultdict
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import qrcode
import qrcode.image.svg
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from canteen.access import Scope
from canteen.db import write_transaction
from canteen.errors import CanteenError, Conflict, InvalidInput, NotFound
from canteen.org import service as org_service
from canteen.org.models import Canteen, Meal, MealWindow
from canteen.reservation.models import (
    Booking,
    BookingChoice,
    BookingCreate,
    BookingRead,
    BookingStatus,
    ChoiceSchema,
    Dish,
    MealCounts,
    Portion,
)
from canteen.reservation.service.access import diner_canteen, zone_of
from canteen.reservation.service.menus import closure, menu_dishes, period_filter
from canteen.reservation.service.rules import (
    MEAL_NAMES,
    PORTION_NAMES,
    booking_policy,
    meal_end,
    meal_window,
    past_cutoff,
)
from canteen.weighing.models import CheckIn

TOKEN_PREFIX = "bk_"  # booking tokens; anything else scanned at the entrance is a card number


def live_booking(session: Session, diner_id: int, day: date, meal: Meal) -> Booking | None:
    return session.exec(select(Booking).where(Booking.diner_id == diner_id, Booking.service_date == day,
                                              Booking.meal == meal, Booking.status == BookingStatus.booked)).first()


def _bad_choices(session: Session, canteen_id: int, day: date, meal: Meal, set_meal: bool,
                 choices: list[ChoiceSchema]) -> CanteenError | None:
    if set_meal:
        return InvalidInput("a set meal has no dish choices", field="choices") if choices else None
    if not choices:
        return InvalidInput("choose at least one dish, or a set meal", field="choices")
    if len({choice.dish_id for choice in choices}) != len(choices):
        return InvalidInput("each dish may be chosen only once", field="choices")
    menu = {dish.id: dish for dish in menu_dishes(session, canteen_id, day, meal)}
    for choice in choices:
        dish = menu.get(choice.dish_id)
        if dish is None:
            return InvalidInput("dish {id} is not on the {meal} menu of {date}", field="choices",
                                id=choice.dish_id, meal=MEAL_NAMES[meal], date=day.isoformat())
        if not offers(dish, choice.portion):
            return InvalidInput("{name} has no {portion} portion", field="choices", name=dish.name,
                                portion=PORTION_NAMES[choice.portion])
    return None


def offers(dish: Dish, portion: Portion) -> bool:
    return portion is Portion.full or (dish.offers_half if portion is Portion.half else dish.offers_small)


def booking_refusal(session: Session, canteen: Canteen, diner_id: int, day: date, meal: Meal, set_meal: bool,
             choices: list[ChoiceSchema], now: datetime) -> CanteenError | None:
    """Why this booking cannot be made, or None.

    Checked under a write lock (SQLite: the database's, from here; PostgreSQL: the canteen's policy row, which a
    capacity needs) held to the end of the transaction, so no other booking lands between this count and the
    insert that follows it.
    """
    assert canteen.id is not None
    write_transaction(session)
    meal_window(session, canteen, meal)
    policy = booking_policy(session, canteen.id, lock=True)
    refusal = (past_cutoff(policy, canteen, day, now) or closure(session, canteen.id, day, meal)
               or _bad_choices(session, canteen.id, day, meal, set_meal, choices))
    if refusal is not None:
        return refusal
    if live_booking(session, diner_id, day, meal) is not None:
        return Conflict("you have already booked {meal} on {date}", field="meal", meal=MEAL_NAMES[meal],
                        date=day.isoformat())
    capacity = policy.capacity(meal)
    if capacity is not None:
        taken = session.exec(select(func.count()).select_from(Booking).where(
            *period_filter(canteen.id, day, meal), Booking.status == BookingStatus.booked)).one()
        if taken >= capacity:
            return Conflict("{meal} on {date} is fully booked ({capacity} places)", field="meal",
                            meal=MEAL_NAMES[meal], date=day.isoformat(), capacity=capacity)
    return None


def insert_booking(session: Session, canteen: Canteen, diner_id: int, day: date, meal: Meal, set_meal: bool,
            choices: list[ChoiceSchema], now: datetime, recurring_id: int | None = None) -> Booking:
    assert canteen.id is not None
    booking = Booking(diner_id=diner_id, canteen_id=canteen.id, service_date=day, meal=meal, set_meal=set_meal,
                      token=f"{TOKEN_PREFIX}{secrets.token_urlsafe(18)}", created_at=now, recurring_id=recurring_id)
    session.add(booking)
    try:
        session.flush()
    except IntegrityError:
        # A concurrent request booked the same meal between our check and this insert.
        session.rollback()
        raise Conflict("you have already booked {meal} on {date}", field="meal", meal=MEAL_NAMES[meal],
                       date=day.isoformat()) from None
    assert booking.id is not None
    for choice in choices:
        session.add(BookingChoice(booking_id=booking.id, dish_id=choice.dish_id, portion=choice.portion))
    session.flush()
    return booking


def book(session: Session, scope: Scope, data: BookingCreate, now: datetime) -> Booking:
    """Book a meal for the caller, who must be a diner of the canteen."""
    canteen = diner_canteen(session, scope, data.canteen_id)
    refusal = booking_refusal(session, canteen, scope.user_id, data.service_date, data.meal, data.set_meal,
                       data.choices, now)
    if refusal is not None:
        raise refusal
    return insert_booking(session, canteen, scope.user_id, data.service_date, data.meal, data.set_meal, data.choices,
                          now)


def _own_booking(session: Session, scope: Scope, booking_id: int) -> Booking:
    booking = session.get(Booking, booking_id)
    if booking is None or booking.diner_id != scope.user_id:
        raise NotFound("booking {id} not found", field="booking_id", id=booking_id)
    return booking


@lru_cache(maxsize=4096)
def booking_qr_svg(token: str) -> str:
    """The booking's token as a QR code (SVG), for the diner to show at the entrance.

    A token never changes, so its code is drawn once per process (drawing takes milliseconds, and a diner's
    page shows every coming booking's)."""
    return qrcode.make(token, image_factory=qrcode.image.svg.SvgPathImage).to_string(encoding="unicode")


def get_booking(session: Session, scope: Scope, booking_id: int) -> Booking:
    return _own_booking(session, scope, booking_id)


def cancel(session: Session, scope: Scope, booking_id: int, now: datetime) -> Booking:
    """Cancel the caller's booking before the cut-off; a meal already eaten (checked in) stays booked."""
    booking = _own_booking(session, scope, booking_id)
    if booking.status is BookingStatus.cancelled:
        raise Conflict("this booking is already cancelled", field="booking_id")
    if session.exec(select(CheckIn.id).where(CheckIn.booking_id == booking.id)).first() is not None:
        raise Conflict("you have already eaten this meal: a booking that was checked in cannot be cancelled",
                       field="booking_id")
    canteen = session.get(Canteen, booking.canteen_id)
    assert canteen is not None and canteen.id is not None  # a booking's canteen exists (foreign key)
    refusal = past_cutoff(booking_policy(session, canteen.id), canteen, booking.service_date, now)
    if refusal is not None:
        raise refusal
    booking.status, booking.cancelled_at = BookingStatus.cancelled, now
    session.add(booking)
    session.flush()
    return booking


def my_bookings(session: Session, scope: Scope, start: date, end: date) -> list[Booking]:
    query = select(Booking).where(Booking.diner_id == scope.user_id, Booking.service_date >= start,
                                  Booking.service_date <= end)
    return list(session.exec(query.order_by(col(Booking.service_date), Booking.meal, col(Booking.id))))


def booking_reads(session: Session, bookings: list[Booking]) -> list[BookingRead]:
    ids = [booking.id for booking in bookings]
    choices: dict[int, list[ChoiceSchema]] = defaultdict(list)
    for choice in session.exec(select(BookingChoice).where(col(BookingChoice.booking_id).in_(ids))
                               .order_by(col(BookingChoice.dish_id))):
        choices[choice.booking_id].append(ChoiceSchema(dish_id=choice.dish_id, portion=choice.portion))
    checked_in = {booking_id: at for booking_id, at in
                  session.exec(select(CheckIn.booking_id, CheckIn.at).where(col(CheckIn.booking_id).in_(ids)))}
    return [BookingRead(**booking.model_dump(exclude={"diner_id"}), choices=choices[booking.id],
                        checked_in_at=checked_in.get(booking.id)) for booking in bookings if booking.id is not None]


class _MealEnds:
    """When the meals of bookings end, the canteen's windows read once per canteen and meal."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._windows: dict[tuple[int, Meal], tuple[MealWindow | None, ZoneInfo]] = {}

    def over(self, booking: Booking | BookingRead, now: datetime) -> bool:
        """Whether the booking's meal has ended by `now` (a meal the canteen no longer serves never ends)."""
        key = (booking.canteen_id, booking.meal)
        if key not in self._windows:
            canteen = self._session.get(Canteen, booking.canteen_id)
            assert canteen is not None  # a booking's canteen exists (foreign key)
            self._windows[key] = (self._session.get(MealWindow, key), zone_of(canteen))
        window, zone = self._windows[key]
        return window is not None and meal_end(window, booking.service_date, zone) <= now


def my_no_shows(session: Session, scope: Scope, now: datetime) -> list[Booking]:
    """The caller's bookings that were neither cancelled nor checked in, for meals that are over."""
    query = (select(Booking).outerjoin(CheckIn, col(CheckIn.booking_id) == Booking.id)
             .where(Booking.diner_id == scope.user_id, Booking.status == BookingStatus.booked,
                    col(CheckIn.id).is_(None), Booking.service_date <= now.date() + timedelta(days=1))
             .order_by(col(Booking.service_date).desc(), Booking.meal))
    ends = _MealEnds(session)
    return [booking for booking in session.exec(query) if ends.over(booking, now)]


def my_upcoming(session: Session, scope: Scope, start: date, end: date, now: datetime) -> list[BookingRead]:
    """The caller's meals still to come from `start` to `end`: booked, not checked in, and not over yet."""
    live = [booking for booking in my_bookings(session, scope, start, end) if booking.status is BookingStatus.booked]
    ends = _MealEnds(session)
    return [booking for booking in booking_reads(session, live)
            if booking.checked_in_at is None and not ends.over(booking, now)]


def outcome(booking: BookingRead, no_show: bool) -> str | None:
    """What became of a booking: eaten, cancelled, no_show; None for a meal still to come."""
    if booking.status is BookingStatus.cancelled:
        return "cancelled"
    if booking.checked_in_at is not None:
        return "eaten"
    return "no_show" if no_show else None


def my_month(session: Session, scope: Scope, canteen: Canteen, now: datetime) -> dict[str, int]:
    """The caller's record this month (canteen-local) up to now: meals booked, eaten, cancelled, not come to.

    Booked counts every booking of the month's days so far, cancelled ones included; eaten counts the meals
    checked in to, walk-ins included (a diner who came without booking still ate).
    """
    today = org_service.local_date(canteen, now)
    first = today.replace(day=1)
    bookings = booking_reads(session, my_bookings(session, scope, first, today))
    no_shows = {booking.id for booking in my_no_shows(session, scope, now)}
    outcomes = [outcome(booking, booking.id in no_shows) for booking in bookings]
    walk_ins = session.exec(select(func.count()).select_from(CheckIn).where(
        CheckIn.diner_id == scope.user_id, col(CheckIn.booking_id).is_(None), CheckIn.service_date >= first,
        CheckIn.service_date <= today)).one()
    return {"booked": len(bookings), "eaten": outcomes.count("eaten") + walk_ins,
            "cancelled": outcomes.count("cancelled"), "no_shows": outcomes.count("no_show")}

def days_with_diners(session: Session, scope: Scope, canteen_id: int, meal: Meal, start: date, end: date) -> int:
    """On how many days from `start` to `end` the meal had live bookings or check-ins: what a chart of the meal
    over those days has to show (a single query, so a page can ask before drawing anything)."""
    org_service.get_canteen(session, scope, canteen_id)
    checked = select(col(CheckIn.service_date)).where(
        CheckIn.canteen_id == canteen_id, CheckIn.meal == meal, col(CheckIn.service_date).between(start, end))
    booked = select(col(Booking.service_date)).where(
        Booking.canteen_id == canteen_id, Booking.meal == meal, Booking.status == BookingStatus.booked,
        col(Booking.service_date).between(start, end))
    days = sa.union(checked, booked).subquery()
    return session.exec(select(func.count()).select_from(days)).one()


def meal_counts(session: Session, scope: Scope, canteen_id: int, day: date, meal: Meal,
                now: datetime) -> MealCounts:
    """Bookings, check-ins, walk-ins, no-shows (once the meal is over) and the portion mix per dish."""
    canteen = org_service.get_canteen(session, scope, canteen_id)
    bookings = session.exec(select(Booking).where(*period_filter(canteen_id, day, meal))).all()
    live = {booking.id: booking for booking in bookings if booking.status is BookingStatus.booked}
    check_ins = session.exec(select(CheckIn).where(CheckIn.canteen_id == canteen_id, CheckIn.service_date == day,
                                                   CheckIn.meal == meal)).all()
    checked = {row.booking_id for row in check_ins if row.booking_id is not None}
    window = session.get(MealWindow, (canteen_id, meal))
    over = window is not None and meal_end(window, day, zone_of(canteen)) <= now
    portions: dict[int, dict[Portion, int]] = defaultdict(lambda: dict.fromkeys(Portion, 0))
    for choice in session.exec(select(BookingChoice).where(col(BookingChoice.booking_id).in_(list(live)))):
        portions[choice.dish_id][choice.portion] += 1
    return MealCounts(
        canteen_id=canteen_id, service_date=day, meal=meal, booked=len(live),
        cancelled=len(bookings) - len(live), checked_in=len(checked),
        walk_ins=sum(1 for row in check_ins if row.booking_id is None),
        no_shows=len(set(live) - checked) if over else 0,
        set_meals=sum(1 for booking in live.values() if booking.set_meal),
        portions=dict(portions),
    )
