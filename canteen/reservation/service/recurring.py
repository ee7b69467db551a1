"""Recurring bookings and their materialisation into bookings over the coming horizon."""
from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select

from canteen.access import Scope
from canteen.auth.models import User
from canteen.calendar import service as calendar_service
from canteen.calendar.service import OfficialCalendar
from canteen.errors import InvalidInput, NotFound
from canteen.org import service as org_service
from canteen.org.models import Canteen
from canteen.reservation.models import (
    WORKDAYS,
    Booking,
    BookingStatus,
    ChoiceSchema,
    Portion,
    RecurringBooking,
    RecurringCreate,
)
from canteen.reservation.service.access import diner_canteen
from canteen.reservation.service.bookings import booking_refusal, insert_booking, live_booking, offers
from canteen.reservation.service.menus import menu_dishes
from canteen.reservation.service.rules import booking_policy, meal_window, past_cutoff

RECURRING_HORIZON_DAYS = 14


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


def _matches(calendar: OfficialCalendar, days: str, day: date) -> bool:
    if days == WORKDAYS:
        return calendar.is_working_day(day)
    return str(day.isoweekday()) in days.split(",")


def create_recurring(session: Session, scope: Scope, data: RecurringCreate, now: datetime,
                     horizon_days: int = RECURRING_HORIZON_DAYS) -> tuple[RecurringBooking, list[Booking]]:
    """Save the caller's pattern and book the coming days it covers."""
    canteen = diner_canteen(session, scope, data.canteen_id)
    meal_window(session, canteen, data.meal)
    if data.until is not None and data.until < data.starts:
        raise InvalidInput("the end date is before the start date", field="until")
    recurring = RecurringBooking(**data.model_dump(exclude={"days"}), days=_parse_days(data.days),
                                 diner_id=scope.user_id, created_at=now)
    session.add(recurring)
    session.flush()
    return recurring, _materialise(session, recurring, canteen, now, horizon_days)


def list_recurring(session: Session, scope: Scope) -> list[RecurringBooking]:
    query = select(RecurringBooking).where(RecurringBooking.diner_id == scope.user_id)
    return list(session.exec(query.order_by(col(RecurringBooking.id))))


def end_recurring(session: Session, scope: Scope, recurring_id: int, now: datetime) -> RecurringBooking:
    """Stop a pattern from today on and cancel its bookings that can still be cancelled."""
    recurring = session.get(RecurringBooking, recurring_id)
    if recurring is None or recurring.diner_id != scope.user_id:
        raise NotFound("recurring booking {id} not found", field="recurring_id", id=recurring_id)
    canteen = session.get(Canteen, recurring.canteen_id)
    assert canteen is not None and canteen.id is not None  # a pattern's canteen exists (foreign key)
    yesterday = org_service.local_date(canteen, now) - timedelta(days=1)
    recurring.until = min(recurring.until or yesterday, yesterday)
    session.add(recurring)
    policy = booking_policy(session, canteen.id)
    for booking in session.exec(select(Booking).where(Booking.recurring_id == recurring.id,
                                                      Booking.status == BookingStatus.booked)):
        if past_cutoff(policy, canteen, booking.service_date, now) is None:
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
        canteen = session.get(Canteen, recurring.canteen_id)
        assert canteen is not None  # a pattern's canteen exists (foreign key)
        created += _materialise(session, recurring, canteen, now, horizon_days)
    return created


def _materialise(session: Session, recurring: RecurringBooking, canteen: Canteen, now: datetime,
                 horizon_days: int) -> list[Booking]:
    diner = session.get(User, recurring.diner_id)
    assert diner is not None and diner.id is not None  # a pattern's diner exists (foreign key)
    if not diner.active or diner.canteen_id != canteen.id:
        return []
    today = org_service.local_date(canteen, now)
    calendar = calendar_service.load(session)
    created = []
    for offset in range(horizon_days + 1):
        day = today + timedelta(days=offset)
        if day < recurring.starts or (recurring.until is not None and day > recurring.until):
            continue
        if not _matches(calendar, recurring.days, day):
            continue
        # Any booking the pattern made for the day, even a cancelled one: the diner's cancellation stands.
        made = select(Booking.id).where(Booking.recurring_id == recurring.id, Booking.service_date == day)
        if session.exec(made).first() is not None or live_booking(session, diner.id, day, recurring.meal):
            continue
        set_meal, choices = _recurring_choices(session, recurring, day)
        if booking_refusal(session, canteen, diner.id, day, recurring.meal, set_meal, choices, now) is None:
            created.append(insert_booking(session, canteen, diner.id, day, recurring.meal, set_meal, choices, now,
                                   recurring.id))
    return created


def _recurring_choices(session: Session, recurring: RecurringBooking, day: date) -> tuple[bool, list[ChoiceSchema]]:
    """The pattern's portion of every dish on the day's menu; a set meal when it asks for one or there is no menu."""
    menu = [] if recurring.set_meal else menu_dishes(session, recurring.canteen_id, day, recurring.meal)
    if not menu:
        return True, []
    return False, [ChoiceSchema(dish_id=dish.id,
                                portion=recurring.portion if offers(dish, recurring.portion) else Portion.full)
                   for dish in menu]
