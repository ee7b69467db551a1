"""Diner cards, check-ins by booking token or card, walk-ins."""
from datetime import date, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from canteen.access import Role, Scope
from canteen.auth.models import User
from canteen.errors import Conflict, InvalidInput, NotFound
from canteen.org import service as org_service
from canteen.org.meals import ServicePeriod, period_at
from canteen.org.models import Canteen, Meal
from canteen.reservation.models import Booking, BookingStatus, DinerCard
from canteen.reservation.service.access import operated_canteen, zone_of
from canteen.reservation.service.bookings import live_booking
from canteen.reservation.service.rules import MEAL_NAMES
from canteen.weighing import service as weighing_service
from canteen.weighing.models import CheckIn

# Diners may scan in this long before their meal's window opens.
EARLY_CHECK_IN = timedelta(minutes=30)
# A walk-in recorded by mistake can be taken back this long after it was recorded.
UNDO_WALK_IN = timedelta(seconds=60)


def assign_card(session: Session, scope: Scope, canteen_id: int, card_number: str, user_id: int) -> DinerCard:
    operated_canteen(session, scope, canteen_id)
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
    assert canteen.id is not None
    windows = org_service.meal_windows(session, canteen.id)
    zone = zone_of(canteen)
    return period_at(windows, now, zone) or period_at(windows, now + EARLY_CHECK_IN, zone)


def serving_now(session: Session, scope: Scope, canteen_id: int, now: datetime) -> ServicePeriod | None:
    """The meal diners can check in to now (from EARLY_CHECK_IN before it opens), if any."""
    return _serving(session, operated_canteen(session, scope, canteen_id), now)


def _current_period(session: Session, canteen: Canteen, now: datetime) -> ServicePeriod:
    period = _serving(session, canteen, now)
    if period is None:
        raise InvalidInput("no meal is being served now")
    return period


def recent_check_ins(session: Session, scope: Scope, canteen_id: int, day: date, meal: Meal,
                     limit: int = 10) -> list[tuple[CheckIn, str | None]]:
    """The meal's latest check-ins with the diner's display name (None for an anonymous walk-in)."""
    operated_canteen(session, scope, canteen_id)
    query = (select(CheckIn, User.display_name).outerjoin(User, col(User.id) == CheckIn.diner_id)
             .where(CheckIn.canteen_id == canteen_id, CheckIn.service_date == day, CheckIn.meal == meal)
             .order_by(col(CheckIn.at).desc(), col(CheckIn.id).desc()).limit(limit))
    return list(session.exec(query))


def _already_checked_in(canteen: Canteen, earlier: CheckIn, field: str) -> Conflict:
    return Conflict("already checked in at {time}", field=field,
                    time=earlier.at.astimezone(zone_of(canteen)).strftime("%H:%M"))


def _check_in_booking(session: Session, scope: Scope, canteen: Canteen, booking: Booking, period: ServicePeriod,
                      card_number: str | None, now: datetime) -> CheckIn:
    assert canteen.id is not None
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
        assert other is not None  # a booking's canteen exists (foreign key)
        raise InvalidInput("this booking is for another canteen ({name})", field="token", name=other.name)
    if booking.status is BookingStatus.cancelled:
        raise InvalidInput("this booking was cancelled", field="token")
    if (booking.service_date, booking.meal) != (period.service_date, period.meal):
        raise InvalidInput("this booking is for {meal} on {date}, not the meal being served now", field="token",
                           meal=MEAL_NAMES[booking.meal], date=booking.service_date.isoformat())
    return booking


def _known_card(session: Session, canteen_id: int, card_number: str) -> DinerCard:
    card = session.exec(select(DinerCard).where(DinerCard.canteen_id == canteen_id,
                                                DinerCard.card_number == card_number)).first()
    if card is None:
        raise InvalidInput("{code} is neither a booking code nor a card known to this canteen", field="card_number",
                           code=card_number)
    return card


def check_in(session: Session, scope: Scope, canteen_id: int, now: datetime, token: str | None = None,
             card_number: str | None = None) -> CheckIn:
    """Check a diner's booking in at the entrance, by its token or the diner's card.

    Only bookings are checked in here: an unknown card, or a card whose diner has not booked the meal, is
    refused, since a walk-in is recorded on purpose (`walk_in`), never by mistyping a code.
    """
    canteen = operated_canteen(session, scope, canteen_id)
    if (token is None) == (card_number is None):
        raise InvalidInput("give either a booking token or a card number", field="token")
    period = _current_period(session, canteen, now)
    if token is not None:
        booked = _booking_for_token(session, canteen, token, period)
        return _check_in_booking(session, scope, canteen, booked, period, None, now)
    assert card_number is not None
    card = _known_card(session, canteen_id, card_number)
    booking = live_booking(session, card.user_id, period.service_date, period.meal)
    if booking is None or booking.canteen_id != canteen_id:
        earlier = _card_check_in(session, canteen, period, card_number)
        if earlier is not None:
            raise _already_checked_in(canteen, earlier, "card_number")
        raise InvalidInput("card {code} has no booking for this meal: record a walk-in if the diner eats anyway",
                           field="card_number", code=card_number)
    return _check_in_booking(session, scope, canteen, booking, period, card_number, now)


def walk_in(session: Session, scope: Scope, canteen_id: int, now: datetime, card_number: str | None = None) -> CheckIn:
    """A diner without a booking, anonymous or by a card this canteen knows; a card whose diner booked the meal
    checks that booking in instead."""
    canteen = operated_canteen(session, scope, canteen_id)
    period = _current_period(session, canteen, now)
    if card_number is None:
        return _walk_in(session, scope, canteen, period, None, None, now)
    card = _known_card(session, canteen_id, card_number)
    booking = live_booking(session, card.user_id, period.service_date, period.meal)
    if booking is not None and booking.canteen_id == canteen_id:
        return _check_in_booking(session, scope, canteen, booking, period, card_number, now)
    return _walk_in(session, scope, canteen, period, card_number, card.user_id, now)


def undo_walk_in(session: Session, scope: Scope, canteen_id: int, check_in_id: int, now: datetime) -> CheckIn:
    """Take back a walk-in recorded by mistake, within UNDO_WALK_IN of recording it; returns the removed row."""
    operated_canteen(session, scope, canteen_id)
    row = session.get(CheckIn, check_in_id)
    if row is None or row.canteen_id != canteen_id:
        raise NotFound("check-in {id} not found", field="check_in_id", id=check_in_id)
    if row.booking_id is not None:
        raise InvalidInput("only a walk-in can be undone; this diner checked in with a booking", field="check_in_id")
    if now - row.at > UNDO_WALK_IN:
        raise Conflict("a walk-in can only be undone within {seconds} seconds of recording it", field="check_in_id",
                       seconds=int(UNDO_WALK_IN.total_seconds()))
    session.delete(row)
    session.flush()
    weighing_service.mark_stale(session, canteen_id, [row.service_date])  # the rollup counts one diner fewer
    return row


def _card_check_in(session: Session, canteen: Canteen, period: ServicePeriod, card_number: str) -> CheckIn | None:
    return session.exec(select(CheckIn).where(
        CheckIn.canteen_id == canteen.id, CheckIn.service_date == period.service_date,
        CheckIn.meal == period.meal, CheckIn.card_number == card_number)).first()


def _walk_in(session: Session, scope: Scope, canteen: Canteen, period: ServicePeriod, card_number: str | None,
             diner_id: int | None, now: datetime) -> CheckIn:
    assert canteen.id is not None
    if card_number is not None:
        earlier = _card_check_in(session, canteen, period, card_number)
        if earlier is not None:
            raise _already_checked_in(canteen, earlier, "card_number")
    row = CheckIn(canteen_id=canteen.id, service_date=period.service_date, meal=period.meal,
                  card_number=card_number, diner_id=diner_id, at=now, by=scope.user_id or None)
    session.add(row)
    session.flush()
    weighing_service.mark_stale(session, canteen.id, [period.service_date])
    return row
