"""Booking rules of a canteen: the cut-off, the capacity per meal, and the meal windows bookings refer to."""
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from canteen.access import Scope
from canteen.errors import CanteenError, InvalidInput
from canteen.i18n import N_, Term
from canteen.org.models import Canteen, Meal, MealWindow
from canteen.reservation.models import (
    BookingPolicy,
    PolicySchema,
    Portion,
)
from canteen.reservation.service.access import operated_canteen, readable_canteen, zone_of

# Meals and portions as messages name them: these msgids go into an error's parameters, and the message is
# translated with them (never "lunch" in a Chinese sentence). The meal names are the pages' own (MODE_LABELS).
# Terms, so that messages carrying them are read in the reader's language ("您已预订 … 的午餐").
MEAL_NAMES = {Meal.breakfast: Term(N_("Breakfast")), Meal.lunch: Term(N_("Lunch")), Meal.dinner: Term(N_("Dinner"))}
PORTION_NAMES = {Portion.full: Term(N_("full portion")), Portion.half: Term(N_("half portion")),
                 Portion.small: Term(N_("small portion"))}


def booking_policy(session: Session, canteen_id: int, lock: bool = False) -> BookingPolicy:
    """The canteen's rules; with lock, its row stays locked to the end of the transaction (PostgreSQL)."""
    query = select(BookingPolicy).where(BookingPolicy.canteen_id == canteen_id)
    found = session.exec(query.with_for_update() if lock else query).first()
    return found or BookingPolicy(canteen_id=canteen_id)


def get_policy(session: Session, scope: Scope, canteen_id: int) -> BookingPolicy:
    readable_canteen(session, scope, canteen_id)
    return booking_policy(session, canteen_id)


def set_policy(session: Session, scope: Scope, canteen_id: int, data: PolicySchema) -> BookingPolicy:
    operated_canteen(session, scope, canteen_id)
    policy = session.get(BookingPolicy, canteen_id) or BookingPolicy(canteen_id=canteen_id)
    for field, value in data.model_dump().items():
        setattr(policy, field, value)
    session.add(policy)
    session.flush()
    return policy


def cutoff(policy: BookingPolicy, canteen: Canteen, day: date) -> datetime:
    """When booking and cancelling a meal on `day` close, in the canteen's time zone."""
    return datetime.combine(day - timedelta(days=policy.cutoff_days_before), policy.cutoff_time,
                            tzinfo=zone_of(canteen))


def past_cutoff(policy: BookingPolicy, canteen: Canteen, day: date, now: datetime) -> CanteenError | None:
    deadline = cutoff(policy, canteen, day)
    if now < deadline:
        return None
    return InvalidInput("booking and cancelling for {date} closed at {deadline}", field="service_date",
                        date=day.isoformat(), deadline=deadline.strftime("%Y-%m-%d %H:%M"))

def meal_window(session: Session, canteen: Canteen, meal: Meal) -> MealWindow:
    window = session.get(MealWindow, (canteen.id, meal))
    if window is None:
        raise InvalidInput("this canteen does not serve {meal}", field="meal", meal=MEAL_NAMES[meal])
    return window


def meal_end(window: MealWindow, day: date, zone: ZoneInfo) -> datetime:
    ends = datetime.combine(day, window.ends, tzinfo=zone)
    return ends + timedelta(days=1) if window.ends <= window.starts else ends
