"""Is a date a working day, a public holiday, and is that answer official or a guess?

Official days live in the database: each year of the State Council's notice is a `CalendarYear` with its
holidays and adjusted workdays (调休) as `OfficialDay` rows, seeded from chinesecalendar for the years it
knows and imported from a CSV file for the years it does not. A day in a year without official data is a
guess: weekends rest, weekdays work, no holidays; every answer says which it is.

`load(session)` gives an `OfficialCalendar`, an immutable snapshot kept per database until the year list
changes (one small query per call), so bulk jobs can ask it about thousands of days.
"""
import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from threading import Lock

import chinese_calendar
from chinese_calendar.constants import Holiday
from sqlmodel import Session, col, delete, func, select

from canteen.bounds import MAX_DAY, MIN_DAY
from canteen.calendar.models import (
    NAME_LENGTH,
    SOURCE_LENGTH,
    CalendarYear,
    CalendarYearRead,
    OfficialDay,
    OfficialDayRead,
    OfficialKind,
)
from canteen.errors import InvalidInput, NotFound
from canteen.i18n import N_

LIBRARY_SOURCE = f"chinesecalendar {getattr(chinese_calendar, '__version__', '')}".strip()
CSV_FIELDS = ("date", "kind", "name")
MAX_ROWS = 400
AHEAD_DAYS = 30  # the banner warns while any of the next this many days lies in a guessed year
_CHINESE_NAMES = {holiday.value: holiday.chinese for holiday in Holiday}


@dataclass(frozen=True)
class CalendarDay:
    day: date
    working: bool  # a day people work: a weekday that is no holiday, or an adjusted workday
    holiday: str | None  # the public holiday's name when the day is one
    adjusted: bool  # a weekend day worked by the notice (调休)
    official: bool  # False: the year has no official data and this is "weekends rest" guessed


class OfficialCalendar:
    """A snapshot of the official days; answers for any date, official or guessed."""

    def __init__(self, years: Iterable[int], days: Iterable[tuple[date, OfficialKind, str]]) -> None:
        self.years = frozenset(years)
        self._days = {day: (OfficialKind(kind), name) for day, kind, name in days}

    def day(self, day: date) -> CalendarDay:
        entry = self._days.get(day) if day.year in self.years else None
        if entry is None:
            return CalendarDay(day, working=day.weekday() < 5, holiday=None, adjusted=False,
                               official=day.year in self.years)
        kind, name = entry
        if kind is OfficialKind.holiday:
            return CalendarDay(day, working=False, holiday=name, adjusted=False, official=True)
        return CalendarDay(day, working=True, holiday=None, adjusted=day.weekday() >= 5, official=True)

    def is_working_day(self, day: date) -> bool:
        return self.day(day).working

    def is_holiday(self, day: date) -> bool:
        return self.day(day).holiday is not None

    def guessed_years(self, start: date, end: date) -> list[int]:
        """Years between `start` and `end` (inclusive) that have no official data."""
        return [year for year in range(start.year, end.year + 1) if year not in self.years]

    def guessed_ahead(self, today: date, days: int = AHEAD_DAYS) -> list[int]:
        return self.guessed_years(today, today + timedelta(days=days))


def _library_years() -> list[int]:
    known = {day.year for day in chinese_calendar.holidays} | {day.year for day in chinese_calendar.workdays}
    return sorted(known)


def library_days() -> Iterator[tuple[date, OfficialKind, str]]:
    """Every holiday and adjusted workday chinesecalendar knows, with the holiday's Chinese name."""
    for day, name in sorted(chinese_calendar.holidays.items()):
        yield day, OfficialKind.holiday, _CHINESE_NAMES.get(name, name)
    for day, name in sorted(chinese_calendar.workdays.items()):
        if day.weekday() >= 5:  # the library lists ordinary weekdays too; only worked weekend days are 调休
            yield day, OfficialKind.workday, _CHINESE_NAMES.get(name, name)


def library_calendar() -> OfficialCalendar:
    """The seed alone, for code that has no database (offline backtests of a CSV history, tests)."""
    return OfficialCalendar(_library_years(), library_days())


_cache: dict[str, tuple[tuple, OfficialCalendar]] = {}
_cache_lock = Lock()


def load(session: Session) -> OfficialCalendar:
    """The official calendar of this database, re-read only when a year was imported or deleted."""
    years = session.exec(select(CalendarYear.year, CalendarYear.imported_at).order_by(col(CalendarYear.year))).all()
    fingerprint = tuple((year, imported_at.isoformat()) for year, imported_at in years)
    key = str(session.get_bind().engine.url)
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None and cached[0] == fingerprint:
            return cached[1]
    rows = session.exec(select(col(OfficialDay.day), col(OfficialDay.kind), col(OfficialDay.name))).all()
    calendar = OfficialCalendar((year for year, _ in years), rows)
    with _cache_lock:
        _cache[key] = (fingerprint, calendar)
    return calendar


def _store_year(session: Session, year: int, source: str, days: list[tuple[date, OfficialKind, str]],
                now: datetime) -> None:
    session.exec(delete(OfficialDay).where(col(OfficialDay.year) == year))
    existing = session.get(CalendarYear, year)
    if existing is None:
        session.add(CalendarYear(year=year, source=source, imported_at=now))
    else:
        existing.source, existing.imported_at = source, now
        session.add(existing)
    session.flush()
    session.add_all(OfficialDay(day=day, year=year, kind=kind, name=name) for day, kind, name in days)
    session.flush()


def seed_from_library(session: Session, now: datetime) -> list[int]:
    """Adds the years chinesecalendar knows that the table lacks; years already there are left as they are."""
    present = set(session.exec(select(CalendarYear.year)).all())
    by_year: dict[int, list[tuple[date, OfficialKind, str]]] = {}
    for entry in library_days():
        by_year.setdefault(entry[0].year, []).append(entry)
    added = [year for year in _library_years() if year not in present]
    for year in added:
        _store_year(session, year, LIBRARY_SOURCE, by_year.get(year, []), now)
    return added


class CalendarFileError(InvalidInput):
    """A bad row of an imported file: the field is `file:line`, the reason says why."""

    def __init__(self, filename: str, line: int, reason: str, **params: object) -> None:
        super().__init__(reason, field=f"{filename}:{line}", **params)
        self.filename, self.line = filename, line


def parse_csv(data: bytes, filename: str) -> tuple[int, list[tuple[date, OfficialKind, str]]]:
    """One year's notice as `date,kind,name` rows (a header line of those names is optional)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CalendarFileError(filename, 1, N_("the file is not UTF-8 text")) from None
    rows = list(csv.reader(io.StringIO(text)))
    days: list[tuple[date, OfficialKind, str]] = []
    seen: dict[date, int] = {}
    for number, row in enumerate(rows, start=1):
        if not any(cell.strip() for cell in row):
            continue
        if number == 1 and [cell.strip().lower() for cell in row] == list(CSV_FIELDS):
            continue
        if len(row) != 3:
            raise CalendarFileError(filename, number, N_("expected 3 columns (date,kind,name), found {count}"),
                                    count=len(row))
        raw_day, raw_kind, name = (cell.strip() for cell in row)
        try:
            day = date.fromisoformat(raw_day)
        except ValueError:
            raise CalendarFileError(filename, number, N_("{value!r} is not a date (YYYY-MM-DD)"),
                                    value=raw_day) from None
        if not MIN_DAY <= day <= MAX_DAY:
            raise CalendarFileError(filename, number, N_("{date} lies outside the years {first} to {last}"),
                                    date=day.isoformat(), first=MIN_DAY.year, last=MAX_DAY.year)
        if raw_kind not in {kind.value for kind in OfficialKind}:
            raise CalendarFileError(filename, number, N_("kind must be holiday or workday, not {value!r}"),
                                    value=raw_kind)
        kind = OfficialKind(raw_kind)
        if not name:
            raise CalendarFileError(filename, number, N_("the name is empty"))
        if len(name) > NAME_LENGTH:
            raise CalendarFileError(filename, number, N_("the name is longer than {limit} characters"),
                                    limit=NAME_LENGTH)
        if kind is OfficialKind.workday and day.weekday() < 5:
            raise CalendarFileError(filename, number, N_("{date} is a weekday; an adjusted workday is a Saturday or "
                                    "Sunday"), date=day.isoformat())
        if day in seen:
            raise CalendarFileError(filename, number, N_("{date} is already on line {other}"), date=day.isoformat(),
                                    other=seen[day])
        if days and day.year != days[0][0].year:
            raise CalendarFileError(filename, number, N_("{date} is not in {year}: one file holds one year"),
                                    date=day.isoformat(), year=days[0][0].year)
        seen[day] = number
        days.append((day, kind, name))
        if len(days) > MAX_ROWS:
            raise CalendarFileError(filename, number, N_("more than {limit} rows"), limit=MAX_ROWS)
    if not any(kind is OfficialKind.holiday for _, kind, _ in days):
        raise CalendarFileError(filename, max(len(rows), 1), N_("the file has no holiday"))
    return days[0][0].year, days


def import_year(session: Session, data: bytes, filename: str, now: datetime) -> CalendarYearRead:
    """Replaces the year's official days by the file's; a bad row stores nothing of the file."""
    year, days = parse_csv(data, filename)
    _store_year(session, year, f"import {filename}"[:SOURCE_LENGTH], days, now)
    return year_read(session, year)


def _year(session: Session, year: int) -> CalendarYear:
    record = session.get(CalendarYear, year)
    if record is None:
        raise NotFound("the calendar has no official data for {year}", field="year", year=year)
    return record


def _year_reads(session: Session, years: list[CalendarYear]) -> list[CalendarYearRead]:
    """The years with their holidays and adjusted workdays counted, in one grouped query."""
    counts: dict[tuple[int, OfficialKind], int] = {
        (year, kind): count for year, kind, count in session.exec(
            select(col(OfficialDay.year), col(OfficialDay.kind), func.count())
            .where(col(OfficialDay.year).in_([record.year for record in years]))
            .group_by(col(OfficialDay.year), col(OfficialDay.kind)))}
    return [CalendarYearRead(year=record.year, source=record.source, imported_at=record.imported_at,
                             holidays=counts.get((record.year, OfficialKind.holiday), 0),
                             workdays=counts.get((record.year, OfficialKind.workday), 0)) for record in years]


def year_read(session: Session, year: int) -> CalendarYearRead:
    return _year_reads(session, [_year(session, year)])[0]


def list_years(session: Session) -> list[CalendarYearRead]:
    return _year_reads(session, list(session.exec(select(CalendarYear).order_by(col(CalendarYear.year).desc()))))


def year_days(session: Session, year: int) -> list[OfficialDayRead]:
    _year(session, year)
    rows = session.exec(select(OfficialDay).where(col(OfficialDay.year) == year).order_by(col(OfficialDay.day))).all()
    return [OfficialDayRead(day=row.day, kind=row.kind, name=row.name) for row in rows]


def delete_year(session: Session, year: int) -> None:
    _year(session, year)
    session.exec(delete(OfficialDay).where(col(OfficialDay.year) == year))
    session.exec(delete(CalendarYear).where(col(CalendarYear.year) == year))
    session.flush()
