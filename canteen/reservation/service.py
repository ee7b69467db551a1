"""Menus, closed days, booking rules, bookings, recurring bookings, check-ins and per-meal counts."""
import secrets
from collections import defaultdict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import qrcode
import qrcode.image.svg
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from canteen.auth.models import Role, User
from canteen.auth.scope import Scope
from canteen.errors import CanteenError, Conflict, Forbidden, InvalidInput, NotFound
from canteen.org import service as org_service
from canteen.org.meals import ServicePeriod, period_at
from canteen.org.models import Canteen, Meal, MealWindow
from canteen.reservation.models import (
    WORKDAYS,
    Booking,
    BookingChoice,
    BookingCreate,
    BookingPolicy,
    BookingRead,
    BookingStatus,
    CheckIn,
    ChoiceSchema,
    ClosedDay,
    DinerCard,
    Dish,
    DishCreate,
    MealCounts,
    MenuItem,
    PolicySchema,
    Portion,
    RecurringBooking,
    RecurringCreate,
)
from canteen.weighing import service as weighing_service

# Diners may scan in this long before their meal's window opens.
EARLY_CHECK_IN = timedelta(minutes=30)
TOKEN_PREFIX = "bk_"  # booking tokens; anything else scanned at the entrance is a card number
RECURRING_HORIZON_DAYS = 14


# ---- access ------------------------------------------------------------------


def diner_canteen(session: Session, scope: Scope, canteen_id: int) -> Canteen:
    """The caller's own canteen, for a diner; everyone else is refused."""
    if scope.role is not Role.diner:
        raise Forbidden("only diners can book meals")
    canteen = session.get(Canteen, canteen_id) if canteen_id in scope.canteen_ids else None
    if canteen is None:
        raise Forbidden("you are not a diner of this canteen", field="canteen_id")
    return canteen


def _readable_canteen(session: Session, scope: Scope, canteen_id: int) -> Canteen:
    if scope.role is Role.diner:
        return diner_canteen(session, scope, canteen_id)
    return org_service.get_canteen(session, scope, canteen_id)


def _operated_canteen(session: Session, scope: Scope, canteen_id: int) -> Canteen:
    canteen = org_service.get_canteen(session, scope, canteen_id)
    if not (scope.is_admin or (scope.role is Role.operator and canteen_id in scope.canteen_ids)):
        raise Forbidden("only the canteen's operators may do this")
    return canteen


def _zone(canteen: Canteen) -> ZoneInfo:
    return ZoneInfo(canteen.timezone)


# ---- dishes and menus --------------------------------------------------------


def list_dishes(session: Session, scope: Scope, canteen_id: int) -> list[Dish]:
    _readable_canteen(session, scope, canteen_id)
    return list(session.exec(select(Dish).where(Dish.canteen_id == canteen_id).order_by(Dish.name)))


def create_dish(session: Session, scope: Scope, canteen_id: int, data: DishCreate) -> Dish:
    _operated_canteen(session, scope, canteen_id)
    taken = select(Dish.id).where(Dish.canteen_id == canteen_id, Dish.name == data.name)
    if session.exec(taken).first() is not None:
        raise Conflict("this canteen already has a dish named {name!r}", field="name", name=data.name)
    dish = Dish(canteen_id=canteen_id, **data.model_dump())
    session.add(dish)
    session.flush()
    return dish


def _menu_dishes(session: Session, canteen_id: int, day: date, meal: Meal) -> list[Dish]:
    query = (select(Dish).join(MenuItem, col(MenuItem.dish_id) == Dish.id)
             .where(MenuItem.canteen_id == canteen_id, MenuItem.service_date == day, MenuItem.meal == meal)
             .order_by(Dish.name))
    return list(session.exec(query))


def get_menu(session: Session, scope: Scope, canteen_id: int, day: date, meal: Meal) -> list[Dish]:
    _readable_canteen(session, scope, canteen_id)
    return _menu_dishes(session, canteen_id, day, meal)


def set_menu(session: Session, scope: Scope, canteen_id: int, day: date, meal: Meal,
             dish_ids: list[int]) -> list[Dish]:
    """Replace a meal's menu; a dish that live bookings chose cannot be taken off it."""
    canteen = _operated_canteen(session, scope, canteen_id)
    _window(session, canteen, meal)
    if len(set(dish_ids)) != len(dish_ids):
        raise InvalidInput("each dish may appear only once", field="dish_ids")
    known = set(session.exec(select(Dish.id).where(Dish.canteen_id == canteen_id, col(Dish.id).in_(dish_ids))))
    for dish_id in dish_ids:
        if dish_id not in known:
            raise InvalidInput("dish {id} does not belong to this canteen", field="dish_ids", id=dish_id)
    for dish in _menu_dishes(session, canteen_id, day, meal):
        if dish.id not in known and _choices_of(session, canteen_id, day, meal, dish.id):
            raise Conflict("{name} has bookings and cannot be taken off the menu", field="dish_ids", name=dish.name)
    for item in session.exec(select(MenuItem).where(MenuItem.canteen_id == canteen_id, MenuItem.service_date == day,
                                                    MenuItem.meal == meal)):
        session.delete(item)
    session.flush()
    for dish_id in dish_ids:
        session.add(MenuItem(canteen_id=canteen_id, service_date=day, meal=meal, dish_id=dish_id))
    session.flush()
    return _menu_dishes(session, canteen_id, day, meal)


def _choices_of(session: Session, canteen_id: int, day: date, meal: Meal, dish_id: int) -> int:
    query = (select(func.count()).select_from(BookingChoice).join(Booking, col(Booking.id) == BookingChoice.booking_id)
             .where(BookingChoice.dish_id == dish_id, *_period_filter(canteen_id, day, meal),
                    Booking.status == BookingStatus.booked))
    return session.exec(query).one()


def _period_filter(canteen_id: int, day: date, meal: Meal) -> tuple:
    return Booking.canteen_id == canteen_id, Booking.service_date == day, Booking.meal == meal


# ---- calendar ----------------------------------------------------------------


def _rest_day(day: date) -> bool:
    """Weekends and public holidays, minus adjusted working days (调休); plain weekends past the package's data."""
    try:
        return chinese_calendar.is_holiday(day)
    except NotImplementedError:
        return day.weekday() >= 5


def _closure(session: Session, canteen_id: int, day: date, meal: Meal) -> CanteenError | None:
    """Why the canteen does not serve this meal, if it does not.

    A rest day is closed unless the canteen published a menu for the meal: that is how a canteen opens on one.
    """
    closed = session.get(ClosedDay, (canteen_id, day))
    if closed is not None:
        return InvalidInput("the canteen is closed on {date}: {why}", field="service_date",
                            date=day.isoformat(), why=closed.reason or "—")
    if _rest_day(day) and not _menu_dishes(session, canteen_id, day, meal):
        return InvalidInput("{date} is a rest day and the canteen serves no {meal} then", field="service_date",
                            date=day.isoformat(), meal=meal.value)
    return None


def list_closed_days(session: Session, scope: Scope, canteen_id: int, start: date, end: date) -> list[ClosedDay]:
    _readable_canteen(session, scope, canteen_id)
    query = select(ClosedDay).where(ClosedDay.canteen_id == canteen_id, ClosedDay.service_date >= start,
                                    ClosedDay.service_date <= end)
    return list(session.exec(query.order_by(ClosedDay.service_date)))


def close_day(session: Session, scope: Scope, canteen_id: int, day: date, reason: str,
              now: datetime) -> tuple[ClosedDay, int]:
    """Mark a day closed and cancel its live bookings; returns the day and how many were cancelled."""
    _operated_canteen(session, scope, canteen_id)
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
    _operated_canteen(session, scope, canteen_id)
    closed = session.get(ClosedDay, (canteen_id, day))
    if closed is None:
        raise NotFound("{date} is not marked closed", field="service_date", date=day.isoformat())
    session.delete(closed)
    session.flush()


# ---- booking policy ----------------------------------------------------------


def _policy(session: Session, canteen_id: int, lock: bool = False) -> BookingPolicy:
    """The canteen's rules; with lock, its row stays locked to the end of the transaction (PostgreSQL)."""
    query = select(BookingPolicy).where(BookingPolicy.canteen_id == canteen_id)
    found = session.exec(query.with_for_update() if lock else query).first()
    return found or BookingPolicy(canteen_id=canteen_id)


def get_policy(session: Session, scope: Scope, canteen_id: int) -> BookingPolicy:
    _readable_canteen(session, scope, canteen_id)
    return _policy(session, canteen_id)


def set_policy(session: Session, scope: Scope, canteen_id: int, data: PolicySchema) -> BookingPolicy:
    _operated_canteen(session, scope, canteen_id)
    policy = session.get(BookingPolicy, canteen_id) or BookingPolicy(canteen_id=canteen_id)
    for field, value in data.model_dump().items():
        setattr(policy, field, value)
    session.add(policy)
    session.flush()
    return policy


def cutoff(policy: BookingPolicy, canteen: Canteen, day: date) -> datetime:
    """When booking and cancelling a meal on `day` close, in the canteen's time zone."""
    return datetime.combine(day - timedelta(days=policy.cutoff_days_before), policy.cutoff_time,
                            tzinfo=_zone(canteen))


def _past_cutoff(policy: BookingPolicy, canteen: Canteen, day: date, now: datetime) -> CanteenError | None:
    deadline = cutoff(policy, canteen, day)
    if now < deadline:
        return None
    return InvalidInput("booking and cancelling for {date} closed at {deadline}", field="service_date",
                        date=day.isoformat(), deadline=deadline.strftime("%Y-%m-%d %H:%M"))


# ---- meal windows ------------------------------------------------------------


def _window(session: Session, canteen: Canteen, meal: Meal) -> MealWindow:
    window = session.get(MealWindow, (canteen.id, meal))
    if window is None:
        raise InvalidInput("this canteen does not serve {meal}", field="meal", meal=meal.value)
    return window


def _meal_end(window: MealWindow, day: date, zone: ZoneInfo) -> datetime:
    ends = datetime.combine(day, window.ends, tzinfo=zone)
    return ends + timedelta(days=1) if window.ends <= window.starts else ends


# ---- bookings ----------------------------------------------------------------


def _live_booking(session: Session, diner_id: int, day: date, meal: Meal) -> Booking | None:
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
    menu = {dish.id: dish for dish in _menu_dishes(session, canteen_id, day, meal)}
    for choice in choices:
        dish = menu.get(choice.dish_id)
        if dish is None:
            return InvalidInput("dish {id} is not on the {meal} menu of {date}", field="choices",
                                id=choice.dish_id, meal=meal.value, date=day.isoformat())
        if not _offers(dish, choice.portion):
            return InvalidInput("{name} has no {portion} portion", field="choices", name=dish.name,
                                portion=choice.portion.value)
    return None


def _offers(dish: Dish, portion: Portion) -> bool:
    return portion is Portion.full or (dish.offers_half if portion is Portion.half else dish.offers_small)


def _refusal(session: Session, canteen: Canteen, diner_id: int, day: date, meal: Meal, set_meal: bool,
             choices: list[ChoiceSchema], now: datetime) -> CanteenError | None:
    """Why this booking cannot be made, checked under the canteen's policy lock, or None."""
    _window(session, canteen, meal)
    policy = _policy(session, canteen.id, lock=True)
    refusal = (_past_cutoff(policy, canteen, day, now) or _closure(session, canteen.id, day, meal)
               or _bad_choices(session, canteen.id, day, meal, set_meal, choices))
    if refusal is not None:
        return refusal
    if _live_booking(session, diner_id, day, meal) is not None:
        return Conflict("you have already booked {meal} on {date}", field="meal", meal=meal.value,
                        date=day.isoformat())
    capacity = policy.capacity(meal)
    if capacity is not None:
        taken = session.exec(select(func.count()).select_from(Booking).where(
            *_period_filter(canteen.id, day, meal), Booking.status == BookingStatus.booked)).one()
        if taken >= capacity:
            return Conflict("{meal} on {date} is fully booked ({capacity} places)", field="meal",
                            meal=meal.value, date=day.isoformat(), capacity=capacity)
    return None


def _insert(session: Session, canteen: Canteen, diner_id: int, day: date, meal: Meal, set_meal: bool,
            choices: list[ChoiceSchema], now: datetime, recurring_id: int | None = None) -> Booking:
    booking = Booking(diner_id=diner_id, canteen_id=canteen.id, service_date=day, meal=meal, set_meal=set_meal,
                      token=f"{TOKEN_PREFIX}{secrets.token_urlsafe(18)}", created_at=now, recurring_id=recurring_id)
    session.add(booking)
    try:
        session.flush()
    except IntegrityError:
        # A concurrent request booked the same meal between our check and this insert.
        session.rollback()
        raise Conflict("you have already booked {meal} on {date}", field="meal", meal=meal.value,
                       date=day.isoformat()) from None
    for choice in choices:
        session.add(BookingChoice(booking_id=booking.id, dish_id=choice.dish_id, portion=choice.portion))
    session.flush()
    return booking


def book(session: Session, scope: Scope, data: BookingCreate, now: datetime) -> Booking:
    """Book a meal for the caller, who must be a diner of the canteen."""
    canteen = diner_canteen(session, scope, data.canteen_id)
    refusal = _refusal(session, canteen, scope.user_id, data.service_date, data.meal, data.set_meal,
                       data.choices, now)
    if refusal is not None:
        raise refusal
    return _insert(session, canteen, scope.user_id, data.service_date, data.meal, data.set_meal, data.choices, now)


def _own_booking(session: Session, scope: Scope, booking_id: int) -> Booking:
    booking = session.get(Booking, booking_id)
    if booking is None or booking.diner_id != scope.user_id:
        raise NotFound("booking {id} not found", field="booking_id", id=booking_id)
    return booking


def booking_qr_svg(token: str) -> str:
    """The booking's token as a QR code (SVG), for the diner to show at the entrance."""
    return qrcode.make(token, image_factory=qrcode.image.svg.SvgPathImage).to_string(encoding="unicode")


def get_booking(session: Session, scope: Scope, booking_id: int) -> Booking:
    return _own_booking(session, scope, booking_id)


def cancel(session: Session, scope: Scope, booking_id: int, now: datetime) -> Booking:
    booking = _own_booking(session, scope, booking_id)
    if booking.status is BookingStatus.cancelled:
        raise Conflict("this booking is already cancelled", field="booking_id")
    canteen = session.get(Canteen, booking.canteen_id)
    refusal = _past_cutoff(_policy(session, canteen.id), canteen, booking.service_date, now)
    if refusal is not None:
        raise refusal
    booking.status, booking.cancelled_at = BookingStatus.cancelled, now
    session.add(booking)
    session.flush()
    return booking


def my_bookings(session: Session, scope: Scope, start: date, end: date) -> list[Booking]:
    query = select(Booking).where(Booking.diner_id == scope.user_id, Booking.service_date >= start,
                                  Booking.service_date <= end)
    return list(session.exec(query.order_by(Booking.service_date, Booking.meal, Booking.id)))


def booking_reads(session: Session, bookings: list[Booking]) -> list[BookingRead]:
    ids = [booking.id for booking in bookings]
    choices: dict[int, list[ChoiceSchema]] = defaultdict(list)
    for choice in session.exec(select(BookingChoice).where(col(BookingChoice.booking_id).in_(ids))
                               .order_by(BookingChoice.dish_id)):
        choices[choice.booking_id].append(ChoiceSchema(dish_id=choice.dish_id, portion=choice.portion))
    checked_in = {booking_id: at for booking_id, at in
                  session.exec(select(CheckIn.booking_id, CheckIn.at).where(col(CheckIn.booking_id).in_(ids)))}
    return [BookingRead(**booking.model_dump(exclude={"diner_id"}), choices=choices[booking.id],
                        checked_in_at=checked_in.get(booking.id)) for booking in bookings]


def my_no_shows(session: Session, scope: Scope, now: datetime) -> list[Booking]:
    """The caller's bookings that were neither cancelled nor checked in, for meals that are over."""
    query = (select(Booking).outerjoin(CheckIn, col(CheckIn.booking_id) == Booking.id)
             .where(Booking.diner_id == scope.user_id, Booking.status == BookingStatus.booked,
                    col(CheckIn.id).is_(None), Booking.service_date <= now.date() + timedelta(days=1))
             .order_by(col(Booking.service_date).desc(), Booking.meal))
    windows: dict[tuple[int, Meal], tuple[MealWindow | None, ZoneInfo]] = {}
    over = []
    for booking in session.exec(query):
        key = (booking.canteen_id, booking.meal)
        if key not in windows:
            canteen = session.get(Canteen, booking.canteen_id)
            windows[key] = (session.get(MealWindow, key), _zone(canteen))
        window, zone = windows[key]
        if window is not None and _meal_end(window, booking.service_date, zone) <= now:
            over.append(booking)
    return over


# ---- recurring bookings ------------------------------------------------------


def _parse_days(days: str) -> str:
    """'workdays', or ISO weekdays such as '1,3,5', normalised to sorted unique numbers."""
    if days.strip().lower() == WORKDAYS:
        return WORKDAYS
    try:
        numbers = sorted({int(part) for part in days.split(",")})
    except ValueError:
        numbers = []
    if not numbers or not all(1 <= number <= 7 for number in numbers):
        raise InvalidInput("days must be \"workdays\" or weekday numbers 1-7 separated by commas", field="days")
    return ",".join(str(number) for number in numbers)


def _matches(days: str, day: date) -> bool:
    if days == WORKDAYS:
        return not _rest_day(day)
    return str(day.isoweekday()) in days.split(",")


def create_recurring(session: Session, scope: Scope, data: RecurringCreate, now: datetime,
                     horizon_days: int = RECURRING_HORIZON_DAYS) -> tuple[RecurringBooking, list[Booking]]:
    """Save the caller's pattern and book the coming days it covers."""
    canteen = diner_canteen(session, scope, data.canteen_id)
    _window(session, canteen, data.meal)
    if data.until is not None and data.until < data.starts:
        raise InvalidInput("the end date is before the start date", field="until")
    recurring = RecurringBooking(**data.model_dump(exclude={"days"}), days=_parse_days(data.days),
                                 diner_id=scope.user_id, created_at=now)
    session.add(recurring)
    session.flush()
    return recurring, _materialise(session, recurring, canteen, now, horizon_days)


def list_recurring(session: Session, scope: Scope) -> list[RecurringBooking]:
    query = select(RecurringBooking).where(RecurringBooking.diner_id == scope.user_id)
    return list(session.exec(query.order_by(RecurringBooking.id)))


def end_recurring(session: Session, scope: Scope, recurring_id: int, now: datetime) -> RecurringBooking:
    """Stop a pattern from today on and cancel its bookings that can still be cancelled."""
    recurring = session.get(RecurringBooking, recurring_id)
    if recurring is None or recurring.diner_id != scope.user_id:
        raise NotFound("recurring booking {id} not found", field="recurring_id", id=recurring_id)
    canteen = session.get(Canteen, recurring.canteen_id)
    yesterday = org_service.local_date(canteen, now) - timedelta(days=1)
    recurring.until = min(recurring.until or yesterday, yesterday)
    session.add(recurring)
    policy = _policy(session, canteen.id)
    for booking in session.exec(select(Booking).where(Booking.recurring_id == recurring.id,
                                                      Booking.status == BookingStatus.booked)):
        if _past_cutoff(policy, canteen, booking.service_date, now) is None:
            booking.status, booking.cancelled_at = BookingStatus.cancelled, now
            session.add(booking)
    session.flush()
    return recurring


def materialise_recurring(session: Session, now: datetime,
                          horizon_days: int = RECURRING_HORIZON_DAYS) -> list[Booking]:
    """Book what every running pattern asks for over the coming days; safe to run again (daily job)."""
    running = select(RecurringBooking).where(
        col(RecurringBooking.until).is_(None) | (col(RecurringBooking.until) >= now.date() - timedelta(days=1)))
    created = []
    for recurring in session.exec(running).all():
        created += _materialise(session, recurring, session.get(Canteen, recurring.canteen_id), now, horizon_days)
    return created


def _materialise(session: Session, recurring: RecurringBooking, canteen: Canteen, now: datetime,
                 horizon_days: int) -> list[Booking]:
    diner = session.get(User, recurring.diner_id)
    if not diner.active or diner.canteen_id != canteen.id:
        return []
    today = org_service.local_date(canteen, now)
    created = []
    for offset in range(horizon_days + 1):
        day = today + timedelta(days=offset)
        if day < recurring.starts or (recurring.until is not None and day > recurring.until):
            continue
        if not _matches(recurring.days, day):
            continue
        # Any booking the pattern made for the day, even a cancelled one: the diner's cancellation stands.
        made = select(Booking.id).where(Booking.recurring_id == recurring.id, Booking.service_date == day)
        if session.exec(made).first() is not None or _live_booking(session, diner.id, day, recurring.meal):
            continue
        set_meal, choices = _recurring_choices(session, recurring, day)
        if _refusal(session, canteen, diner.id, day, recurring.meal, set_meal, choices, now) is None:
            created.append(_insert(session, canteen, diner.id, day, recurring.meal, set_meal, choices, now,
                                   recurring.id))
    return created


def _recurring_choices(session: Session, recurring: RecurringBooking, day: date) -> tuple[bool, list[ChoiceSchema]]:
    """The pattern's portion of every dish on the day's menu; a set meal when it asks for one or there is no menu."""
    menu = [] if recurring.set_meal else _menu_dishes(session, recurring.canteen_id, day, recurring.meal)
    if not menu:
        return True, []
    return False, [ChoiceSchema(dish_id=dish.id,
                                portion=recurring.portion if _offers(dish, recurring.portion) else Portion.full)
                   for dish in menu]


# ---- diner cards and check-ins -----------------------------------------------


def assign_card(session: Session, scope: Scope, canteen_id: int, card_number: str, user_id: int) -> DinerCard:
    _operated_canteen(session, scope, canteen_id)
    user = session.get(User, user_id)
    if user is None or user.role is not Role.diner or user.canteen_id != canteen_id:
        raise InvalidInput("user {id} is not a diner of this canteen", field="user_id", id=user_id)
    card = session.exec(select(DinerCard).where(DinerCard.canteen_id == canteen_id,
                                                DinerCard.card_number == card_number)).first()
    card = card or DinerCard(canteen_id=canteen_id, card_number=card_number, user_id=user_id)
    card.user_id = user_id
    session.add(card)
    session.flush()
    return card


def _serving(session: Session, canteen: Canteen, now: datetime) -> ServicePeriod | None:
    windows = org_service.meal_windows(session, canteen.id)
    zone = _zone(canteen)
    return period_at(windows, now, zone) or period_at(windows, now + EARLY_CHECK_IN, zone)


def serving_now(session: Session, scope: Scope, canteen_id: int, now: datetime) -> ServicePeriod | None:
    """The meal diners can check in to now (from EARLY_CHECK_IN before it opens), if any."""
    return _serving(session, _operated_canteen(session, scope, canteen_id), now)


def _current_period(session: Session, canteen: Canteen, now: datetime) -> ServicePeriod:
    period = _serving(session, canteen, now)
    if period is None:
        raise InvalidInput("no meal is being served now")
    return period


def recent_check_ins(session: Session, scope: Scope, canteen_id: int, day: date, meal: Meal,
                     limit: int = 10) -> list[tuple[CheckIn, str | None]]:
    """The meal's latest check-ins with the diner's display name (None for an anonymous walk-in)."""
    _operated_canteen(session, scope, canteen_id)
    query = (select(CheckIn, User.display_name).outerjoin(User, col(User.id) == CheckIn.diner_id)
             .where(CheckIn.canteen_id == canteen_id, CheckIn.service_date == day, CheckIn.meal == meal)
             .order_by(col(CheckIn.at).desc(), col(CheckIn.id).desc()).limit(limit))
    return list(session.exec(query))


def _already_checked_in(canteen: Canteen, earlier: CheckIn, field: str) -> Conflict:
    return Conflict("already checked in at {time}", field=field,
                    time=earlier.at.astimezone(_zone(canteen)).strftime("%H:%M"))


def _check_in_booking(session: Session, scope: Scope, canteen: Canteen, booking: Booking, period: ServicePeriod,
                      card_number: str | None, now: datetime) -> CheckIn:
    field = "card_number" if card_number else "token"
    earlier = session.exec(select(CheckIn).where(CheckIn.booking_id == booking.id)).first()
    if earlier is not None:
        raise _already_checked_in(canteen, earlier, field)
    check_in_row = CheckIn(canteen_id=canteen.id, service_date=period.service_date, meal=period.meal,
                           booking_id=booking.id, card_number=card_number, diner_id=booking.diner_id, at=now,
                           by=scope.user_id or None)
    session.add(check_in_row)
    try:
        session.flush()
    except IntegrityError:
        # The same booking scanned at two entrances at once: the other scan won.
        session.rollback()
        earlier = session.exec(select(CheckIn).where(CheckIn.booking_id == booking.id)).one()
        raise _already_checked_in(canteen, earlier, field) from None
    weighing_service.mark_stale(session, canteen.id, [period.service_date])  # check-ins are the rollup's diners
    return check_in_row


def _booking_for_token(session: Session, canteen: Canteen, token: str, period: ServicePeriod) -> Booking:
    booking = session.exec(select(Booking).where(Booking.token == token)).first()
    if booking is None:
        raise NotFound("unknown booking token", field="token")
    if booking.canteen_id != canteen.id:
        other = session.get(Canteen, booking.canteen_id)
        raise InvalidInput("this booking is for another canteen ({name})", field="token", name=other.name)
    if booking.status is BookingStatus.cancelled:
        raise InvalidInput("this booking was cancelled", field="token")
    if (booking.service_date, booking.meal) != (period.service_date, period.meal):
        raise InvalidInput("this booking is for {meal} on {date}, not the meal being served now", field="token",
                           meal=booking.meal.value, date=booking.service_date.isoformat())
    return booking


def check_in(session: Session, scope: Scope, canteen_id: int, now: datetime, token: str | None = None,
             card_number: str | None = None) -> CheckIn:
    """Check a diner in at the entrance by booking token or card; a card without a booking is a walk-in."""
    canteen = _operated_canteen(session, scope, canteen_id)
    if (token is None) == (card_number is None):
        raise InvalidInput("give either a booking token or a card number", field="token")
    period = _current_period(session, canteen, now)
    if token is not None:
        booking = _booking_for_token(session, canteen, token, period)
        return _check_in_booking(session, scope, canteen, booking, period, None, now)
    card = session.exec(select(DinerCard).where(DinerCard.canteen_id == canteen_id,
                                                DinerCard.card_number == card_number)).first()
    booking = _live_booking(session, card.user_id, period.service_date, period.meal) if card else None
    if booking is not None and booking.canteen_id == canteen_id:
        return _check_in_booking(session, scope, canteen, booking, period, card_number, now)
    return _walk_in(session, scope, canteen, period, card_number, card.user_id if card else None, now)


def walk_in(session: Session, scope: Scope, canteen_id: int, now: datetime, card_number: str | None = None) -> CheckIn:
    """A diner without a booking; with a card, the card's booking (if any) is used after all."""
    if card_number is not None:
        return check_in(session, scope, canteen_id, now, card_number=card_number)
    canteen = _operated_canteen(session, scope, canteen_id)
    return _walk_in(session, scope, canteen, _current_period(session, canteen, now), None, None, now)


def _walk_in(session: Session, scope: Scope, canteen: Canteen, period: ServicePeriod, card_number: str | None,
             diner_id: int | None, now: datetime) -> CheckIn:
    if card_number is not None:
        earlier = session.exec(select(CheckIn).where(
            CheckIn.canteen_id == canteen.id, CheckIn.service_date == period.service_date,
            CheckIn.meal == period.meal, CheckIn.card_number == card_number)).first()
        if earlier is not None:
            raise _already_checked_in(canteen, earlier, "card_number")
    row = CheckIn(canteen_id=canteen.id, service_date=period.service_date, meal=period.meal,
                  card_number=card_number, diner_id=diner_id, at=now, by=scope.user_id or None)
    session.add(row)
    session.flush()
    weighing_service.mark_stale(session, canteen.id, [period.service_date])
    return row


# ---- counts ------------------------------------------------------------------


def meal_counts(session: Session, scope: Scope, canteen_id: int, day: date, meal: Meal,
                now: datetime) -> MealCounts:
    """Bookings, check-ins, walk-ins, no-shows (once the meal is over) and the portion mix per dish."""
    canteen = org_service.get_canteen(session, scope, canteen_id)
    bookings = session.exec(select(Booking).where(*_period_filter(canteen_id, day, meal))).all()
    live = {booking.id: booking for booking in bookings if booking.status is BookingStatus.booked}
    check_ins = session.exec(select(CheckIn).where(CheckIn.canteen_id == canteen_id, CheckIn.service_date == day,
                                                   CheckIn.meal == meal)).all()
    checked = {row.booking_id for row in check_ins if row.booking_id is not None}
    window = session.get(MealWindow, (canteen_id, meal))
    over = window is not None and _meal_end(window, day, _zone(canteen)) <= now
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
