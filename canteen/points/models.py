from datetime import date, datetime
from typing import Annotated

import sqlalchemy as sa
from annotated_types import Ge, Le
from pydantic import BaseModel, ConfigDict
from sqlmodel import Field, SQLModel

from canteen.bounds import Day
from canteen.dbtypes import UTCDateTime, enum_type
from canteen.org.models import Meal


class PlateAttribution(SQLModel, table=True):
    """A weighed plate's diner, resolved from the code scanned beside the scale (the plate's diner_ref): a booking
    token or a diner card of the plate's canteen. Keyed like the plate itself, by station and sequence number."""

    __table_args__ = (
        sa.Index("ix_plateattribution_diner_day", "diner_id", "service_date"),
        sa.Index("ix_plateattribution_canteen_day", "canteen_id", "service_date"),
    )

    station_id: int = Field(foreign_key="station.id", primary_key=True)
    seq: int = Field(sa_type=sa.BigInteger, primary_key=True)
    diner_id: int = Field(foreign_key="user.id")
    canteen_id: int = Field(foreign_key="canteen.id")
    service_date: date
    meal: Meal | None = Field(default=None, sa_type=enum_type(Meal))
    grams: int
    clean: bool  # at or under the canteen's clean-plate threshold in force that day
    measured_at: datetime = Field(sa_type=UTCDateTime)
    resolved_at: datetime = Field(sa_type=UTCDateTime)


class PointsRule(SQLModel, table=True):
    """A bureau's clean-plate points rule from a date on (its id is the rule's version). A rule applies to the
    canteens under the bureau unless a bureau nearer the canteen has one; a change is a new row from a later date,
    never an edit, so points already earned keep the rule they were earned under."""

    __table_args__ = (sa.UniqueConstraint("bureau_id", "applies_from"),)

    id: int | None = Field(default=None, primary_key=True)
    bureau_id: int = Field(foreign_key="bureau.id")
    applies_from: date
    clean_plate_points: int  # for each clean plate
    daily_cap: int  # at most this many clean-plate points a day (the streak bonus comes on top)
    streak_days: int  # a bonus each time a diner's run of days with a clean plate reaches a multiple of this; 0: none
    streak_bonus: int
    created_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(sa_type=UTCDateTime)


class DinerPoints(SQLModel, table=True):
    """A diner's clean plates and points of one day, under the rule in force that day: recomputed when the day's
    plates change, and what an export or a push sends (idempotent by diner, day and rule)."""

    __table_args__ = (sa.Index("ix_dinerpoints_bureau_day", "bureau_id", "service_date"),)

    diner_id: int = Field(foreign_key="user.id", primary_key=True)
    service_date: date = Field(primary_key=True)
    canteen_id: int = Field(foreign_key="canteen.id")
    bureau_id: int = Field(foreign_key="bureau.id")  # the rule's owner
    rule_id: int = Field(foreign_key="pointsrule.id")
    plates: int
    clean_plates: int
    streak: int  # days with a clean plate in a row, this one included (0 when it had none)
    points: int
    computed_at: datetime = Field(sa_type=UTCDateTime)


class PointsPreference(SQLModel, table=True):
    """A diner's own choices: whether their points leave for the points platform, and their id there."""

    user_id: int = Field(foreign_key="user.id", primary_key=True)
    export: bool = True
    external_id: str | None = Field(default=None, max_length=64)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class PointsClient(SQLModel, table=True):
    """A points platform that pulls a bureau's export with its own key (`Authorization: Bearer ptk_…`); only the
    key's hash is kept."""

    id: int | None = Field(default=None, primary_key=True)
    bureau_id: int = Field(foreign_key="bureau.id", index=True)
    name: str = Field(max_length=100)
    key_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    active: bool = True
    created_at: datetime = Field(sa_type=UTCDateTime)


class PointsWebhook(SQLModel, table=True):
    """Where a bureau pushes its diners' points: each batch signed with HMAC-SHA256 of the shared secret."""

    bureau_id: int = Field(foreign_key="bureau.id", primary_key=True)
    url: str = Field(max_length=500)
    secret: str = Field(max_length=128)  # kept as given: signing needs it
    active: bool = True
    updated_by: int | None = Field(default=None, foreign_key="user.id")
    updated_at: datetime = Field(sa_type=UTCDateTime)


class PointsDelivery(SQLModel, table=True):
    """One diner-day's points in a bureau's push, by its idempotency key (diner, day, rule): once the platform has
    acknowledged it, it is never sent again; until then it is retried with backoff."""

    __table_args__ = (sa.Index("ix_pointsdelivery_due", "bureau_id", "delivered_at", "next_attempt_at"),)

    bureau_id: int = Field(foreign_key="bureau.id", primary_key=True)
    diner_id: int = Field(foreign_key="user.id", primary_key=True)
    service_date: date = Field(primary_key=True)
    rule_id: int = Field(foreign_key="pointsrule.id", primary_key=True)
    batch_id: str | None = Field(default=None, max_length=40)
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str = Field(default="", max_length=200)


# ---- API schemas -------------------------------------------------------------

Points = Annotated[int, Ge(0), Le(10_000)]


class PointsRuleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    applies_from: Day
    clean_plate_points: Points
    daily_cap: Points
    streak_days: Annotated[int, Ge(0), Le(366)] = 0
    streak_bonus: Points = 0


class PointsRuleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    bureau_id: int
    applies_from: date
    clean_plate_points: int
    daily_cap: int
    streak_days: int
    streak_bonus: int
    created_by: int | None
    created_at: datetime


class CanteenPointsRead(BaseModel):
    """A canteen's totals over a period, as a bureau sees them."""

    model_config = ConfigDict(from_attributes=True)
    canteen_id: int
    canteen: str
    diners: int
    plates: int
    clean_plates: int
    points: int


class AttributedPlateRead(BaseModel):
    station_id: int
    seq: int
    diner_id: int
    diner: str  # the diner's display name
    meal: Meal | None
    grams: int
    clean: bool
    measured_at: datetime


class CanteenPlatesRead(BaseModel):
    canteen_id: int
    service_date: date
    plates: list[AttributedPlateRead]
    unknown_codes: int  # plates whose code named no diner of the canteen


class MyPlateRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    meal: Meal | None
    grams: int
    clean: bool
    measured_at: datetime


class MyDayRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    service_date: date
    plates: int
    clean_plates: int
    streak: int
    points: int
    rule_id: int


class MyPointsRead(BaseModel):
    service_date: date
    plates_today: list[MyPlateRead]
    month_plates: int
    month_clean_plates: int
    streak: int
    month_points: int
    total_points: int
    history: list[MyDayRead]
