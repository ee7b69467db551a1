"""What kind of day a date is for a canteen's forecast: workday, weekend, public holiday, adjusted workday (调休)
or closed, read off the official calendar (canteen.calendar), which says when the answer is only a guess."""
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from canteen.calendar.service import OfficialCalendar


class DayKind(StrEnum):
    workday = "workday"
    weekend = "weekend"
    holiday = "holiday"
    adjusted_workday = "adjusted_workday"
    closed = "closed"


WORKING_KINDS = (DayKind.workday, DayKind.adjusted_workday)


@dataclass(frozen=True)
class DayInfo:
    day: date
    kind: DayKind
    holiday_name: str | None
    before_holiday: bool
    after_holiday: bool
    official: bool  # False when the year has no official data and the kind is guessed from the weekday


def day_info(calendar: OfficialCalendar, day: date, closed: Collection[date] = ()) -> DayInfo:
    """The day's kind; a date in `closed` (the canteen's own closed days) is `closed` whatever the calendar says.

    `before_holiday` marks the last day before a public holiday starts, `after_holiday` the first day back.
    """
    entry = calendar.day(day)
    if day in closed:
        kind = DayKind.closed
    elif entry.holiday is not None:
        kind = DayKind.holiday
    elif not entry.working:
        kind = DayKind.weekend
    else:
        kind = DayKind.adjusted_workday if entry.adjusted else DayKind.workday
    today = entry.holiday is not None
    return DayInfo(day=day, kind=kind, holiday_name=entry.holiday,
                   before_holiday=not today and calendar.is_holiday(day + timedelta(days=1)),
                   after_holiday=not today and calendar.is_holiday(day - timedelta(days=1)),
                   official=entry.official)


def day_kinds(calendar: OfficialCalendar) -> Callable[[date], str]:
    """The calendar as the booking simulator asks it (`hardware_sim.bookings.DayKindOf`): a date's kind by name."""
    return lambda day: day_info(calendar, day).kind.value
