"""A canteen's own booking records as a forecast history: one row per past day and meal it serves."""
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlmodel import Session, col, func, or_, select

from canteen.access import Scope
from canteen.calendar import service as calendar_service
from canteen.calendar.service import OfficialCalendar
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


def booking_history(session: Session, scope: Scope, canteen_id: int, now: datetime,
                    since: date | None = None) -> BookingHistory:
    """Every day from the first booking or check-in (or `since`, if later) to yesterday (canteen-local).

    booked: bookings made before that meal's cut-off and not cancelled before it (what a forecast made at
    the cut-off knew); served: check-ins, bookings and walk-ins alike; closed: the canteen's closed days, and
    meals nobody booked or came to. A caller that forecasts only from recent weeks (the snapshots: the model's
    window) passes `since` and reads that much, not the canteen's whole past.
    """
    canteen = org_service.get_canteen(session, scope, canteen_id)
    policy = service.get_policy(session, scope, canteen_id)
    windows = org_service.meal_windows(session, canteen_id)
    yesterday = org_service.local_date(canteen, now) - timedelta(days=1)
    first = min((day for day in (
        session.exec(select(func.min(Booking.service_date)).where(Booking.canteen_id == canteen_id)).one(),
        session.exec(select(func.min(CheckIn.service_date)).where(CheckIn.canteen_id == canteen_id)).one(),
    ) if day is not None), default=None)
    if first is not None and since is not None:
        first = max(first, since)
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


class _AfterMidnight(sa.FunctionElement[datetime]):
    """`day` (a date column) at midnight plus `seconds`, as a UTC instant comparable with UTCDateTime columns."""

    type = UTCDateTime()
    inherit_cache = True


@compiles(_AfterMidnight, "sqlite")
def _after_midnight_sqlite(element: _AfterMidnight, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite stores UTCDateTime as 'YYYY-MM-DD HH:MM:SS.ffffff' text, which compares with datetime()'s
    # 'YYYY-MM-DD HH:MM:SS' as the instants do (equal instants: the stored text is longer, so not less).
    day, seconds = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"datetime({day}, ({seconds}) || ' seconds')"


@compiles(_AfterMidnight, "postgresql")
def _after_midnight_postgresql(element: _AfterMidnight, compiler: SQLCompiler, **kw: Any) -> str:
    day, seconds = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"(({day}) + make_interval(secs => {seconds})) AT TIME ZONE 'UTC'"


def _booked_at_cutoff(session: Session, canteen_id: int, deadlines: dict[date, datetime]) -> dict[tuple, int]:
    """Bookings per day and meal made before that day's cut-off and not cancelled before it, in one query.

    Each row is compared with its own day's cut-off, computed in SQL as the service date plus a shift: the
    cut-off's distance from that date's midnight UTC, the same for every day unless the canteen's time zone
    changes its offset (summer time), when it is a CASE over the runs of days sharing one. So the query is one
    range scan of the (canteen_id, service_date, meal, created_at, cancelled_at) index, linear in the history on
    both databases, where a join with a table of per-day deadlines left SQLite's planner free to scan every
    booking once per deadline.
    """
    runs: list[tuple[date, int]] = []  # (last day, shift in seconds), in date order
    for day in sorted(deadlines):
        shift = int((deadlines[day] - datetime.combine(day, time(), tzinfo=UTC)).total_seconds())
        if runs and runs[-1][1] == shift:
            runs[-1] = (day, shift)
        else:
            runs.append((day, shift))
    if not runs:
        return {}
    shifts = [(col(Booking.service_date) <= last, sa.literal(shift)) for last, shift in runs[:-1]]
    seconds = sa.case(*shifts, else_=sa.literal(runs[-1][1])) if shifts else sa.literal(runs[-1][1])
    deadline = _AfterMidnight(col(Booking.service_date), seconds)
    query = (select(col(Booking.service_date), Booking.meal, func.count())
             .where(Booking.canteen_id == canteen_id, col(Booking.service_date).between(min(deadlines), runs[-1][0]),
                    col(Booking.created_at) < deadline,
                    or_(col(Booking.cancelled_at).is_(None), col(Booking.cancelled_at) >= deadline))
             .group_by(col(Booking.service_date), Booking.meal))
    return {(day, meal): count for day, meal, count in session.exec(query)}
