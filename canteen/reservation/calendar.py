"""What kind of day a date is for a Chinese canteen: workday, weekend, public holiday or adjusted workday (调休).

Holidays and adjusted workdays come from chinesecalendar, which only knows the years the State Council has
published; outside them a day is a workday from Monday to Friday and a weekend otherwise, with no holidays.
"""
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from functools import cache

import chinese_calendar


class DayKind(StrEnum):
    workday = "workday"
    weekend = "weekend"
    holiday = "holiday"
    adjusted_workday = "adjusted_workday"
    closed = "closed"


@dataclass(frozen=True)
class DayInfo:
    day: date
    kind: DayKind
    holiday_name: str | None
    before_holiday: bool
    after_holiday: bool


@cache
def _detail(day: date) -> tuple[bool, str | None]:
    """(rest day, holiday name); the name is also set on the adjusted workdays that belong to a holiday."""
    try:
        return chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return day.weekday() >= 5, None


def is_public_holiday(day: date) -> bool:
    rest, name = _detail(day)
    return rest and name is not None


def holiday_name(day: date) -> str | None:
    return _detail(day)[1] if is_public_holiday(day) else None


def _calendar_kind(day: date) -> DayKind:
    rest, name = _detail(day)
    if rest:
        return DayKind.holiday if name is not None else DayKind.weekend
    return DayKind.adjusted_workday if day.weekday() >= 5 else DayKind.workday


def day_info(day: date, closed: Collection[date] = ()) -> DayInfo:
    """The day's kind; a date in `closed` (the canteen's own closed days) is `closed` whatever the calendar says.

    `before_holiday` marks the last day before a public holiday starts, `after_holiday` the first day back.
    """
    kind = DayKind.closed if day in closed else _calendar_kind(day)
    today = is_public_holiday(day)
    return DayInfo(day=day, kind=kind, holiday_name=holiday_name(day),
                   before_holiday=not today and is_public_holiday(day + timedelta(days=1)),
                   after_holiday=not today and is_public_holiday(day - timedelta(days=1)))
