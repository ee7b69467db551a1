"""Which service period (local date and meal) a moment belongs to, from a canteen's meal windows.

A window may run past midnight (22:00-01:00); its service date is the date it starts on.
"""
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from canteen.org.models import Meal, MealWindow


@dataclass(frozen=True)
class ServicePeriod:
    service_date: date
    meal: Meal


@dataclass(frozen=True)
class _Occurrence:
    period: ServicePeriod
    starts: datetime
    ends: datetime


def _occurrences(windows: list[MealWindow], around: date, zone: ZoneInfo) -> list[_Occurrence]:
    found = []
    for day in (around - timedelta(days=1), around, around + timedelta(days=1)):
        for window in windows:
            starts = datetime.combine(day, window.starts, tzinfo=zone)
            ends = datetime.combine(day, window.ends, tzinfo=zone)
            if ends <= starts:
                ends += timedelta(days=1)
            found.append(_Occurrence(ServicePeriod(day, window.meal), starts, ends))
    return found


def period_at(windows: list[MealWindow], moment: datetime, zone: ZoneInfo,
              late_grace: timedelta = timedelta(0)) -> ServicePeriod | None:
    """The window containing the moment, or the one it ended at most `late_grace` before (late plate returns)."""
    local = moment.astimezone(zone)
    best: tuple[timedelta, ServicePeriod] | None = None
    for occurrence in _occurrences(windows, local.date(), zone):
        if occurrence.starts <= local < occurrence.ends:
            return occurrence.period
        lateness = local - occurrence.ends
        if late_grace and timedelta(0) <= lateness <= late_grace and (best is None or lateness < best[0]):
            best = (lateness, occurrence.period)
    return best[1] if best else None


def nearest_period(windows: list[MealWindow], moment: datetime, zone: ZoneInfo) -> ServicePeriod | None:
    """The window containing the moment, else the closest one before or after (kitchen records)."""
    local = moment.astimezone(zone)
    best: tuple[timedelta, ServicePeriod] | None = None
    for occurrence in _occurrences(windows, local.date(), zone):
        if occurrence.starts <= local < occurrence.ends:
            return occurrence.period
        distance = occurrence.starts - local if local < occurrence.starts else local - occurrence.ends
        if best is None or distance < best[0]:
            best = (distance, occurrence.period)
    return best[1] if best else None
