from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from pydantic import AwareDatetime, BaseModel, ConfigDict, field_validator
from pydantic import Field as PydanticField
from pydantic_core import PydanticCustomError
from sqlmodel import Field, SQLModel

from canteen.bounds import Day
from canteen.dbtypes import UTCDateTime, enum_type
from canteen.org.models import Meal

MAX_BATCH_ITEMS = 1000


class KitchenCategory(StrEnum):
    """The stage of the kitchen a weighing's waste comes from."""

    storage = "storage"  # 储存损耗: spoiled or expired in store
    trimmings = "trimmings"  # 加工边角料
    unserved = "unserved"  # 剩余饭菜: cooked but never served
    kitchen_scraps = "kitchen-scraps"  # 餐盘回收: plate returns scraped in the kitchen
    other = "other"
    unclassified = "unclassified"  # 未分类: weighed at a terminal and never classified


CLASSIFIED_CATEGORIES = tuple(category for category in KitchenCategory if category is not KitchenCategory.unclassified)


class KitchenSource(StrEnum):
    station = "station"
    manual = "manual"


class DinerSource(StrEnum):
    """Where a meal's diner count came from: the largest of the counts it has (ties in this order)."""

    checkins = "checkins"  # bookings checked in at the entrance and walk-ins (reservation module)
    operator = "operator"  # counted by the operator at the door
    plates = "plates"  # one diner per weighed plate: a meal never has fewer diners than plates


class PlateWeighing(SQLModel, table=True):
    """One diner's leftovers, as a plate-return station weighed them."""

    __table_args__ = (
        sa.UniqueConstraint("station_id", "seq"),
        sa.Index("ix_plateweighing_canteen_period", "canteen_id", "service_date", "meal"),
    )

    id: int | None = Field(default=None, sa_type=sa.BigInteger().with_variant(sa.Integer, "sqlite"),
                           primary_key=True)
    station_id: int = Field(foreign_key="station.id")
    seq: int = Field(sa_type=sa.BigInteger)
    canteen_id: int = Field(foreign_key="canteen.id")
    measured_at: datetime = Field(sa_type=UTCDateTime)
    # Local date of the service period; a plate outside every meal window keeps its local date and no meal.
    service_date: date
    meal: Meal | None = Field(default=None, sa_type=enum_type(Meal))
    grams: int
    diner_ref: str | None = Field(default=None, max_length=64)
    received_at: datetime = Field(sa_type=UTCDateTime)


# PostgreSQL only: plate weighings are partitioned by month of service_date there, and a unique index of a
# partitioned table must hold the partition key, so (station_id, seq) is kept unique in this small plain table,
# written by the same statement as the weighings (see canteen/weighing/partitions.py). SQLite keeps the
# constraint above on its one plain table.
PLATE_KEY_TABLE = "plateweighingkey"


class ArchivedMonth(SQLModel, table=True):
    """A month of plate weighings exported to a file by `canteen db archive` and dropped from the database.

    Its daily rollups (and the scorecards made from them) stay: a later recompute of one of its days keeps the
    plate figures the rollup has, as there are no plates left to count.
    """

    month: date = Field(primary_key=True)  # the month's first day
    plates: int
    file: str = Field(max_length=255)  # the file's name, in the folder it was written to
    sha256: str = Field(max_length=64)
    archived_at: datetime = Field(sa_type=UTCDateTime)


class KitchenWaste(SQLModel, table=True):
    """Back-of-house waste; a correction is a new row and the original points to it."""

    __table_args__ = (
        sa.UniqueConstraint("station_id", "seq"),
        sa.Index("ix_kitchenwaste_canteen_period", "canteen_id", "service_date", "meal"),
    )

    id: int | None = Field(default=None, primary_key=True)
    canteen_id: int = Field(foreign_key="canteen.id")
    service_date: date
    meal: Meal = Field(sa_type=enum_type(Meal))
    category: KitchenCategory = Field(sa_type=enum_type(KitchenCategory))
    grams: int
    source: KitchenSource = Field(sa_type=enum_type(KitchenSource))
    station_id: int | None = Field(default=None, foreign_key="station.id")
    seq: int | None = Field(default=None, sa_type=sa.BigInteger)
    measured_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    recorded_by: int | None = Field(default=None, foreign_key="user.id")
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    note: str = Field(default="", max_length=200)
    superseded_by: int | None = Field(default=None, foreign_key="kitchenwaste.id")
    # Why it was wasted: one of the canteen's reasons (canteen.kitchen.terminal) and, for unserved food, the dish.
    reason: str | None = Field(default=None, max_length=40)
    dish_id: int | None = Field(default=None, foreign_key="dish.id")
    # Who classified a station's weighing at the kitchen terminal, and when (None: never, or entered by hand).
    classified_by: int | None = Field(default=None, foreign_key="user.id")
    classified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DinerCount(SQLModel, table=True):
    canteen_id: int = Field(foreign_key="canteen.id", primary_key=True)
    service_date: date = Field(primary_key=True)
    meal: Meal = Field(sa_type=enum_type(Meal), primary_key=True)
    diners: int
    entered_by: int | None = Field(default=None, foreign_key="user.id")
    entered_at: datetime = Field(sa_type=UTCDateTime)


class DailyRollup(SQLModel, table=True):
    """Sums per canteen, service date and meal; ratios are derived when read."""

    canteen_id: int = Field(foreign_key="canteen.id", primary_key=True)
    service_date: date = Field(primary_key=True)
    meal: Meal = Field(sa_type=enum_type(Meal), primary_key=True)
    diners: int  # the largest of the counts below, named by diner_source
    diner_source: DinerSource = Field(sa_type=enum_type(DinerSource))
    checkins: int = 0  # check-ins at the entrance (0: none)
    counted_diners: int | None = None  # the operator's count, when one was entered
    plates: int
    plate_waste_g: int
    clean_plates: int
    kitchen_scraps_g: int = 0
    trimmings_g: int = 0
    unserved_g: int = 0
    other_kitchen_g: int = 0
    storage_g: int = 0
    unclassified_g: int = 0
    stations_reporting: int
    stations_expected: int
    computed_at: datetime = Field(sa_type=UTCDateTime)


class StaleRollup(SQLModel, table=True):
    """A day whose rollup must be recomputed; `generation` grows with every new mark."""

    canteen_id: int = Field(foreign_key="canteen.id", primary_key=True)
    service_date: date = Field(primary_key=True)
    generation: int = 1


# ---- API schemas -------------------------------------------------------------


class WeighingItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seq: int = PydanticField(ge=0, le=2**62)
    measured_at: AwareDatetime
    grams: int
    diner_ref: str | None = PydanticField(default=None, max_length=64)
    category: KitchenCategory | None = None
    meal: Meal | None = None

    @field_validator("diner_ref")
    @classmethod
    def _without_nul(cls, diner_ref: str | None) -> str | None:
        """PostgreSQL cannot store a NUL: the item holding one is rejected alone (canteen.web.nul_guard leaves
        the batch's body to this check)."""
        if diner_ref is not None and "\x00" in diner_ref:
            raise PydanticCustomError("nul_character", "text must not contain the NUL character (U+0000)")
        return diner_ref


class WeighingBatch(BaseModel):
    """Items are checked one by one, so a malformed item is rejected alone."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "description": f"Up to {MAX_BATCH_ITEMS} items, each shaped like WeighingItem."})
    items: list[Any]


class ItemStatus(StrEnum):
    accepted = "accepted"
    duplicate = "duplicate"
    rejected = "rejected"


class ItemResult(BaseModel):
    index: int
    seq: int | None
    status: ItemStatus
    field: str | None = None
    reason: str | None = None


class BatchResult(BaseModel):
    accepted: int
    duplicate: int
    rejected: int
    results: list[ItemResult]


class KitchenEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    service_date: Day
    meal: Meal
    category: KitchenCategory
    grams: int = PydanticField(ge=0, le=5_000_000)
    note: str = PydanticField(default="", max_length=200)

    @field_validator("category")
    @classmethod
    def _classified(cls, category: KitchenCategory) -> KitchenCategory:
        if category is KitchenCategory.unclassified:
            raise ValueError("a record entered by hand must say what the waste is")
        return category


class DinerCountEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    service_date: Day
    meal: Meal
    diners: int = PydanticField(ge=0, le=100_000)


class CheckIn(SQLModel, table=True):
    """A diner at the entrance: with a booking, or a walk-in (booking_id is None).

    Check-ins are made by the reservation package and counted here: they are a meal's diner count unless the
    operator's count or the plates weighed are more (a diner may walk past the check-in, never past the scale).
    """

    __table_args__ = (sa.Index("ix_checkin_canteen_period", "canteen_id", "service_date", "meal"),)

    id: int | None = Field(default=None, primary_key=True)
    canteen_id: int = Field(foreign_key="canteen.id")
    service_date: date
    meal: Meal = Field(sa_type=enum_type(Meal))
    # Unique, so a second scan of the same booking cannot slip in beside the first.
    booking_id: int | None = Field(default=None, foreign_key="booking.id", sa_column_kwargs={"unique": True})
    card_number: str | None = Field(default=None, max_length=40)
    diner_id: int | None = Field(default=None, foreign_key="user.id")
    at: datetime = Field(sa_type=UTCDateTime)
    by: int | None = Field(default=None, foreign_key="user.id")
