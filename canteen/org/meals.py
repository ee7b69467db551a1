"""Which service period (local date and meal) a moment belongs to, from a canteen's meal windows.

A window may run past midnight (22:00-01:00); its service date is the date it starts on. Moments are placed by
their local wall-clock time in the canteen's zone.
"""
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from canteen.org.models import Meal, MealWindow


@dataclass(frozen=True)
class ServicePeriod:
    service_date: date
    meal: Meal


@dataclass(frozen=True)
class _Occurrence:
    period: ServicePeriod
    starts: datetime  # local wall-clock times, without tzinfo
    ends: datetime


class MealCalendar:
    """A canteen's meal windows in its zone, each local day's window occurrences built once.

    Ingest places every item of a batch; building one per batch and asking it for each item computes the
    occurrences once per local date instead of once per item.
    """

    def __init__(self, windows: Iterable[tuple[Meal, time, time]], zone: ZoneInfo) -> None:
        """Windows as (meal, starts, ends), in the order of the meals; see `of` for MealWindow rows."""
        self.zone = zone
        self._windows = list(windows)
        self._days: dict[date, list[_Occurrence]] = {}

    @classmethod
    def of(cls, windows: Iterable[MealWindow], zone: ZoneInfo) -> "MealCalendar":
        return cls(((window.meal, window.starts, window.ends) for window in windows), zone)

    def _local(self, moment: datetime) -> tuple[datetime, list[_Occurrence]]:
        # Wall-clock arithmetic, as aware datetimes sharing one tzinfo compare and subtract.
        local = moment.astimezone(self.zone).replace(tzinfo=None)
        around = local.date()
        occurrences = self._days.get(around)
        if occurrences is None:
            occurrences = self._days[around] = self._occurrences(around)
        return local, occurrences

    def _occurrences(self, around: date) -> list[_Occurrence]:
        found = []
        for day in (around - timedelta(days=1), around, around + timedelta(days=1)):
            for meal, start, end in self._windows:
                starts, ends = datetime.combine(day, start), datetime.combine(day, end)
                if ends <= starts:
                    ends += timedelta(days=1)
                found.append(_Occurrence(ServicePeriod(day, meal), starts, ends))
        return found

    def period_at(self, moment: datetime, late_grace: timedelta = timedelta(0)) -> ServicePeriod | None:
        """The window containing the moment, or the one it ended at most `late_grace` before (late plate returns)."""
        local, occurrences = self._local(moment)
        best: tuple[timedelta, ServicePeriod] | None = None
        for occurrence in occurrences:
            if occurrence.starts <= local < occurrence.ends:
                return occurrence.period
            lateness = local - occurrence.ends
            if late_grace and timedelta(0) <= lateness <= late_grace and (best is None or lateness < best[0]):
                best = (lateness, occurrence.period)
        return best[1] if best else None

    def nearest_period(self, moment: datetime) -> ServicePeriod | None:
        """The window containing the moment, else the closest one before or after (kitchen records)."""
        local, occurrences = self._local(moment)
        best: tuple[timedelta, ServicePeriod] | None = None
        for occurrence in occurrences:
            if occurrence.starts <= local < occurrence.ends:
                return occurrence.period
            distance = occurrence.starts - local if local < occurrence.starts else local - occurrence.ends
            if best is None or distance < best[0]:
                best = (distance, occurrence.period)
        return best[1] if best else None


def period_at(windows: list[MealWindow], moment: datetime, zone: ZoneInfo,
              late_grace: timedelta = timedelta(0)) -> ServicePeriod | None:
    """The window containing the moment, or the one it ended at most `late_grace` before (late plate returns)."""
    return MealCalendar.of(windows, zone).period_at(moment, late_grace)


def nearest_period(windows: list[MealWindow], moment: datetime, zone: ZoneInfo) -> ServicePeriod | None:
    """The window containing the moment, else the closest one before or after (kitchen records)."""
    return MealCalendar.of(windows, zone).nearest_period(moment)
