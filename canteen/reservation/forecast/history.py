"""A canteen's own booking records as a forecast history: one row per past day and meal it serves."""
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session, col, func, or_, select

from canteen.access import Scope
from canteen.calendar import service as calendar_service
from canteen.calendar.service import OfficialCalendar
from canteen.db import planned_with_real_indexes
from canteen.dbtypes import UTCDateTime
from canteen.org import service as org_service
from canteen.reservation import service
from canteen.reservation.forecast.model import history_frame
from canteen.reservation.models import Booking, ClosedDay
from canteen.weighing.models import CheckIn


@dataclass(frozen=True)
class BookingHistory:
    frame: pd.DataFrame  # date, meal, booked, served, closed
    cutoff_time: time
    days_before: int
    meal_ends: dict[str, time]
    closed_days: frozenset[date]  # all the canteen marked, future ones included (for the live forecast)
    calendar: OfficialCalendar  # the official holidays and adjusted workdays the forecast's day kinds come from


def booking_history(session: Session, scope: Scope, canteen_id: int, now: datetime) -> BookingHistory:
    """Every day from the first booking or check-in to yesterday (canteen-local).

    booked: bookings made before that meal's cut-off and not cancelled before it (what a forecast made at
    the cut-off knew); served: check-ins, bookings and walk-ins alike; closed: the canteen's closed days, and
    meals nobody booked or came to.
    """
    canteen = org_service.get_canteen(session, scope, canteen_id)
    policy = service.get_policy(session, scope, canteen_id)
    windows = org_service.meal_windows(session, canteen_id)
    yesterday = org_service.local_date(canteen, now) - timedelta(days=1)
    first = min((day for day in (
        session.exec(select(func.min(Booking.service_date)).where(Booking.canteen_id == canteen_id)).one(),
        session.exec(select(func.min(CheckIn.service_date)).where(CheckIn.canteen_id == canteen_id)).one(),
    ) if day is not None), default=None)
    meal_ends = {window.meal.value: window.ends for window in windows}
    closed_days = frozenset(session.exec(select(col(ClosedDay.service_date)).where(ClosedDay.canteen_id == canteen_id)))
    calendar = calendar_service.load(session)
    if first is None or first > yesterday:
        return BookingHistory(history_frame([]), policy.cutoff_time, policy.cutoff_days_before, meal_ends,
                              closed_days, calendar)
    served = dict(((day, meal), count) for day, meal, count in session.exec(
        select(col(CheckIn.service_date), CheckIn.meal, func.count())
        .where(CheckIn.canteen_id == canteen_id, CheckIn.service_date >= first, CheckIn.service_date <= yesterday)
        .group_by(col(CheckIn.service_date), CheckIn.meal)))
    days = [first + timedelta(days=offset) for offset in range((yesterday - first).days + 1)]
    booked = _booked_at_cutoff(session, canteen_id, {day: service.cutoff(policy, canteen, day) for day in days})
    rows = []
    for day in days:
        for window in windows:
            count_booked, count_served = booked.get((day, window.meal), 0), served.get((day, window.meal), 0)
            closed = day in closed_days or count_booked == count_served == 0
            rows.append((day, window.meal.value, count_booked, count_served, closed))
    return BookingHistory(history_frame(rows), policy.cutoff_time, policy.cutoff_days_before, meal_ends,
                          closed_days, calendar)


def _booked_at_cutoff(session: Session, canteen_id: int, deadlines: dict[date, datetime]) -> dict[tuple, int]:
    """Bookings per day and meal made before that day's cut-off and not cancelled before it, in one query.

    Each day has its own cut-off instant (time zones may shift it), so the deadlines come in as a table
    of VALUES (a CTE, which SQLite accepts with column names) joined on the canteen and the date: with both
    in the join SQLite starts from the few deadline rows and looks bookings up by (canteen_id, service_date),
    where a join on the date alone made it scan the canteen's bookings once per day.
    """
    table = sa.values(sa.column("canteen_id", sa.Integer), sa.column("day", sa.Date),
                      sa.column("deadline", UTCDateTime), name="deadlines").data(
        [(canteen_id, day, deadline) for day, deadline in deadlines.items()]).cte()
    query = (select(col(Booking.service_date), Booking.meal, func.count())
             .join(table, (table.c.canteen_id == Booking.canteen_id) & (table.c.day == Booking.service_date))
             .where(Booking.created_at < table.c.deadline,
                    or_(col(Booking.cancelled_at).is_(None), col(Booking.cancelled_at) >= table.c.deadline))
             .group_by(col(Booking.service_date), Booking.meal))
    with planned_with_real_indexes(session):  # on SQLite, (canteen_id, service_date, …) covers it
        return {(day, meal): count for day, meal, count in session.exec(query)}
