"""Official days of the State Council's yearly holiday notice, and the years the table holds."""
from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel
from sqlmodel import Field, SQLModel

from canteen.dbtypes import UTCDateTime, enum_type

NAME_LENGTH = 40
SOURCE_LENGTH = 200


class OfficialKind(StrEnum):
    holiday = "holiday"  # a day off by the notice (weekend days inside a break included)
    workday = "workday"  # an adjusted workday (调休): a weekend day worked in exchange for a break


class CalendarYear(SQLModel, table=True):
    """A year whose holidays and adjusted workdays are official; a year without a row is a guess."""

    year: int = Field(primary_key=True)
    source: str = Field(max_length=SOURCE_LENGTH)
    imported_at: datetime = Field(sa_type=UTCDateTime)


class OfficialDay(SQLModel, table=True):
    day: date = Field(primary_key=True)
    year: int = Field(foreign_key="calendaryear.year", index=True, ondelete="CASCADE")
    kind: OfficialKind = Field(sa_type=enum_type(OfficialKind))
    name: str = Field(max_length=NAME_LENGTH)


class OfficialDayRead(BaseModel):
    day: date
    kind: OfficialKind
    name: str


class CalendarYearRead(BaseModel):
    year: int
    source: str
    imported_at: datetime
    holidays: int
    workdays: int
