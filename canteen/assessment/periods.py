"""Assessment periods: a calendar month ("2026-10") for data scorecards, a quarter ("2026-Q4") for assessments."""
import re
from dataclasses import dataclass
from datetime import date, timedelta

from canteen.assessment.models import ScorecardKind
from canteen.bounds import MAX_DAY, MIN_DAY
from canteen.errors import InvalidInput

_MONTH = re.compile(r"(\d{4})-(\d{2})")
_QUARTER = re.compile(r"(\d{4})-Q([1-4])")


@dataclass(frozen=True, order=True)
class Period:
    starts: date
    ends: date  # inclusive
    kind: ScorecardKind

    @property
    def name(self) -> str:
        if self.kind is ScorecardKind.monthly:
            return f"{self.starts:%Y-%m}"
        return f"{self.starts.year}-Q{(self.starts.month - 1) // 3 + 1}"

    @property
    def previous(self) -> "Period":
        return period_containing(self.starts - timedelta(days=1), self.kind)

    @property
    def year_earlier(self) -> "Period":
        return period_containing(self.starts.replace(year=self.starts.year - 1), self.kind)

    def __str__(self) -> str:
        return self.name


def _month(year: int, month: int) -> Period:
    starts = date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    return Period(starts, following - timedelta(days=1), ScorecardKind.monthly)


def _quarter(year: int, quarter: int) -> Period:
    first = _month(year, 3 * quarter - 2)
    return Period(first.starts, _month(year, 3 * quarter).ends, ScorecardKind.quarterly)


def parse_period(text: str) -> Period:
    """"2026-10" (a month) or "2026-Q4" (a quarter)."""
    if match := _MONTH.fullmatch(text):
        year, month = int(match[1]), int(match[2])
        if 1 <= month <= 12 and MIN_DAY.year <= year <= MAX_DAY.year:
            return _month(year, month)
    if match := _QUARTER.fullmatch(text):
        if MIN_DAY.year <= int(match[1]) <= MAX_DAY.year:
            return _quarter(int(match[1]), int(match[2]))
    raise InvalidInput("{period!r} is not a period like 2026-10 (a month) or 2026-Q4 (a quarter)", field="period",
                       period=text)


def period_containing(day: date, kind: ScorecardKind) -> Period:
    if kind is ScorecardKind.monthly:
        return _month(day.year, day.month)
    return _quarter(day.year, (day.month - 1) // 3 + 1)


def months_of(quarter: Period) -> list[Period]:
    return [_month(quarter.starts.year, quarter.starts.month + offset) for offset in range(3)]
