from datetime import date, datetime, time

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydanticField
from sqlmodel import Field, SQLModel

from canteen.bounds import ClockTime, Day, Id
from canteen.dbtypes import UTCDateTime, enum_type
from canteen.org.kinds import BureauLevel, Meal, OperatingMode, Parity, ServingMode, StationKind
from canteen.scale_driver import protocols as scale_protocols

SCALE_PROTOCOLS = tuple(scale_protocols.names())

DEFAULT_MEAL_WINDOWS = {
    Meal.breakfast: (time(7, 0), time(9, 0)),
    Meal.lunch: (time(11, 30), time(13, 30)),
    Meal.dinner: (time(17, 30), time(19, 30)),
}


class Bureau(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, sa_column_kwargs={"unique": True})
    level: BureauLevel = Field(sa_type=enum_type(BureauLevel))
    parent_id: int | None = Field(default=None, foreign_key="bureau.id", index=True)
    # Materialised path of ids, "/1/4/9/", so a jurisdiction is one prefix match.
    path: str = Field(default="", max_length=255, index=True)


class Canteen(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("bureau_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    bureau_id: int = Field(foreign_key="bureau.id", index=True)
    name: str = Field(max_length=100)
    operating_mode: OperatingMode = Field(sa_type=enum_type(OperatingMode))
    serving_mode: ServingMode = Field(sa_type=enum_type(ServingMode))
    timezone: str = Field(max_length=64)
    seats: int | None = None
    # The canteen's goal for plate waste per diner and meal, shown on its dashboard.
    plate_waste_target_g: int = 50
    # A plate at or under this many grams (net of the plate) counts as clean (光盘).
    clean_plate_threshold_g: int = 10


class MealWindow(SQLModel, table=True):
    """A serving period in the canteen's local time; ends < starts means it runs past midnight."""

    canteen_id: int = Field(foreign_key="canteen.id", primary_key=True, ondelete="CASCADE")
    meal: Meal = Field(sa_type=enum_type(Meal), primary_key=True)
    starts: time
    ends: time


# The canteen settings a score is computed from (assessment metric clean_plate_rate counts plates at or
# under the threshold): changed by administrators only, each value kept with the date it applies from.
SCORED_SETTINGS = ("clean_plate_threshold_g",)
# The date a canteen's first value of a scored setting applies from: before any record it could have.
SINCE_EVER = date(2000, 1, 1)


class CanteenSetting(SQLModel, table=True):
    """One value of a scored setting, applying from its date until the next row's (the history of it)."""

    __table_args__ = (sa.UniqueConstraint("canteen_id", "name", "applies_from"),)

    id: int | None = Field(default=None, primary_key=True)
    canteen_id: int = Field(foreign_key="canteen.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=40)
    value: int
    applies_from: date
    changed_by: int | None = Field(default=None, foreign_key="user.id")  # None: the CLI or the migration
    changed_at: datetime = Field(sa_type=UTCDateTime)


class Station(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("canteen_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    canteen_id: int = Field(foreign_key="canteen.id", index=True)
    name: str = Field(max_length=100)
    kind: StationKind = Field(sa_type=enum_type(StationKind))
    protocol: str = Field(max_length=40)
    baudrate: int = 9600
    bytesize: int = 8
    parity: Parity = Field(default=Parity.none, sa_type=enum_type(Parity))
    stopbits: float = 1
    capacity_g: int = 30000
    # SHA-256 of the key: keys are 256-bit random, so a fast hash is as safe as a slow one.
    key_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    key_prefix: str = Field(max_length=16)
    active: bool = True
    last_seen_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# ---- API schemas -------------------------------------------------------------


class BureauCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = PydanticField(min_length=1, max_length=100)
    parent_id: Id | None = None
    level: BureauLevel | None = None


class BureauRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    level: BureauLevel
    parent_id: int | None


class MealWindowSchema(BaseModel):
    model_config = ConfigDict(extra="forbid", from_attributes=True)
    meal: Meal
    starts: ClockTime
    ends: ClockTime


class CanteenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    bureau_id: Id
    name: str = PydanticField(min_length=1, max_length=100)
    operating_mode: OperatingMode = OperatingMode.self_run
    serving_mode: ServingMode = ServingMode.buffet
    timezone: str | None = None
    seats: int | None = PydanticField(default=None, ge=0, le=100_000)
    plate_waste_target_g: int = PydanticField(default=50, ge=0, le=5000)
    clean_plate_threshold_g: int = PydanticField(default=10, ge=0, le=500)
    meal_windows: list[MealWindowSchema] | None = None


class CanteenUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = PydanticField(default=None, min_length=1, max_length=100)
    operating_mode: OperatingMode | None = None
    serving_mode: ServingMode | None = None
    timezone: str | None = None
    seats: int | None = PydanticField(default=None, ge=0, le=100_000)
    plate_waste_target_g: int | None = PydanticField(default=None, ge=0, le=5000)
    clean_plate_threshold_g: int | None = PydanticField(default=None, ge=0, le=500)
    # The day a new clean-plate threshold applies from (default: tomorrow in the canteen's time zone).
    applies_from: Day | None = None
    meal_windows: list[MealWindowSchema] | None = None


class CanteenRead(BaseModel):
    id: int
    bureau_id: int
    name: str
    operating_mode: OperatingMode
    serving_mode: ServingMode
    timezone: str
    seats: int | None
    plate_waste_target_g: int
    clean_plate_threshold_g: int  # the latest value set; it applies from clean_plate_threshold_from
    clean_plate_threshold_from: date
    meal_windows: list[MealWindowSchema]


class CanteenSettingRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    name: str
    value: int
    applies_from: date
    changed_by: int | None
    changed_at: datetime


class StationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    canteen_id: Id
    name: str = PydanticField(min_length=1, max_length=100)
    kind: StationKind = StationKind.plate_return
    protocol: str = "yaohua-tf0"
    baudrate: int = PydanticField(default=9600, ge=300, le=921_600)
    bytesize: int = PydanticField(default=8, ge=5, le=8)
    parity: Parity = Parity.none
    stopbits: float = 1
    capacity_g: int = PydanticField(default=30000, gt=0, le=2_000_000)


class StationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    canteen_id: int
    name: str
    kind: StationKind
    protocol: str
    baudrate: int
    bytesize: int
    parity: Parity
    stopbits: float
    capacity_g: int
    key_prefix: str
    active: bool
    last_seen_at: datetime | None


class StationWithKey(StationRead):
    """Returned once, when a station is created or its key is rotated."""

    key: str
