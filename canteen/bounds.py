"""Bounds of what comes in from outside: ids, counts, dates and clock times, defined once.

Python's integers and dates reach further than the databases do (SQLite stores 64-bit integers, PostgreSQL's
id columns 32-bit ones, and SQLAlchemy casts a compared value to the column's type; date arithmetic stops at the
years 1 and 9999), so every integer and date in a path, query or body is one of these types: out of bounds is a
422 naming the field and the bound, never an error deep inside. They are `Annotated` types, so they work in
FastAPI parameters and pydantic models alike and show their bounds in the OpenAPI schema.
"""
import re
from datetime import date, time, timedelta
from typing import Annotated, Any

from annotated_types import Ge, Le
from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema
from pydantic_core import PydanticCustomError

from canteen.errors import InvalidInput

# What an INTEGER column holds on both databases (PostgreSQL's is 32-bit): ids, and counts and seeds stored as
# plain integers. A larger id cannot name a record, and on PostgreSQL even a lookup with it fails.
MAX_ID = 2**31 - 1
MAX_COUNT = 2**31 - 1
MIN_DAY = date(2000, 1, 1)
MAX_DAY = date(2100, 12, 31)

Id = Annotated[int, Ge(1), Le(MAX_ID)]
Count = Annotated[int, Ge(0), Le(MAX_COUNT)]
Year = Annotated[int, Ge(MIN_DAY.year), Le(MAX_DAY.year)]
Day = Annotated[date, Ge(MIN_DAY), Le(MAX_DAY)]

_MONTH = re.compile(r"(\d{4})-(\d{2})")


def parse_month(text: str, field: str = "month") -> date:
    """"2026-11" as the month's first day; anything else, or a month outside the days' bounds, refused on `field`."""
    if match := _MONTH.fullmatch(text):
        year, month = int(match[1]), int(match[2])
        if 1 <= month <= 12 and MIN_DAY.year <= year <= MAX_DAY.year:
            return date(year, month, 1)
    raise InvalidInput("{field} must be a month such as 2026-11", field=field)


def add_months(month: date, count: int) -> date:
    """The first day of the month `count` months after (before, if negative) the month of `month`."""
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def month_end(first: date) -> date:
    """The last day of the month of `first`."""
    return add_months(first, 1) - timedelta(days=1)


CLOCK_TIME_PATTERN = r"^\d{2}:\d{2}(:\d{2})?$"
_CLOCK_TIME = re.compile(CLOCK_TIME_PATTERN)


def _clock_time(value: Any) -> Any:
    """A local wall-clock time as "HH:MM" or "HH:MM:SS": no fractions of a second, no offset (a meal window or a
    cut-off is in the canteen's own zone). pydantic parses what passes; "25:00" fails there."""
    if isinstance(value, str) and not _CLOCK_TIME.fullmatch(value):
        raise PydanticCustomError("time_parsing", "Input should be a time as HH:MM or HH:MM:SS")
    if isinstance(value, time):
        if value.tzinfo is not None:
            raise PydanticCustomError("time_parsing", "Input should be a time as HH:MM or HH:MM:SS")
        return value.replace(microsecond=0)  # a time from code (the demo's "now"): to the second, as it is sent
    return value


# The JSON schema says what is sent and accepted: a string "HH:MM:SS" out, "HH:MM" or "HH:MM:SS" in. (pydantic's
# own `format: time` means RFC 3339's full-time, which needs an offset that these times do not have.)
ClockTime = Annotated[
    time,
    BeforeValidator(_clock_time),
    PlainSerializer(lambda moment: moment.strftime("%H:%M:%S"), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": CLOCK_TIME_PATTERN, "examples": ["07:00", "16:30:00"]}),
]
