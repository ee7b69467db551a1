from datetime import date, datetime, time
from enum import StrEnum

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydanticField
from sqlmodel import Field, SQLModel

from canteen.bounds import ClockTime, Day, Id
from canteen.dbtypes import UTCDateTime, enum_type
from canteen.org.models import Meal

WORKDAYS = "workdays"
MAX_DISH_PRICE = 1000.0  # ¥ a kg, as for the waste factors' prices


class Portion(StrEnum):
    full = "full"
    half = "half"  # 半份
    small = "small"  # 小份


class BookingStatus(StrEnum):
    booked = "booked"
    cancelled = "cancelled"


class Dish(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("canteen_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    canteen_id: int = Field(foreign_key="canteen.id", index=True)
    name: str = Field(max_length=100)
    # Raw ingredients for one full portion; half and small portions are derived by the forecast.
    raw_grams: int
    offers_half: bool = True
    offers_small: bool = False
    # What a kilogram of the dish cost to make, for its unserved food; None: the canteen's price of unserved food.
    price_yuan_per_kg: float | None = None


class MenuItem(SQLModel, table=True):
    canteen_id: int = Field(foreign_key="canteen.id", primary_key=True)
    service_date: date = Field(primary_key=True)
    meal: Meal = Field(sa_type=enum_type(Meal), primary_key=True)
    dish_id: int = Field(foreign_key="dish.id", primary_key=True)


class DishCooked(SQLModel, table=True):
    """How much of a dish the kitchen cooked for a meal, in grams of raw ingredients (the plan when not entered)."""

    canteen_id: int = Field(foreign_key="canteen.id", primary_key=True)
    service_date: date = Field(primary_key=True)
    meal: Meal = Field(sa_type=enum_type(Meal), primary_key=True)
    dish_id: int = Field(foreign_key="dish.id", primary_key=True)
    planned_grams: int | None = None  # the prep suggestion when the kitchen entered this
    cooked_grams: int
    entered_by: int | None = Field(default=None, foreign_key="user.id")
    entered_at: datetime = Field(sa_type=UTCDateTime)


class ClosedDay(SQLModel, table=True):
    canteen_id: int = Field(foreign_key="canteen.id", primary_key=True)
    service_date: date = Field(primary_key=True)
    reason: str = Field(default="", max_length=200)


class BookingPolicy(SQLModel, table=True):
    """Per-canteen booking rules; a canteen without a row uses the defaults below."""

    canteen_id: int = Field(foreign_key="canteen.id", primary_key=True)
    # Booking and cancelling close at cutoff_time (local) this many days before the meal's date.
    cutoff_days_before: int = 1
    cutoff_time: time = time(16, 0)
    # Places per meal; None means unlimited.
    breakfast_capacity: int | None = None
    lunch_capacity: int | None = None
    dinner_capacity: int | None = None

    def capacity(self, meal: Meal) -> int | None:
        return getattr(self, f"{meal.value}_capacity")


class RecurringBooking(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    diner_id: int = Field(foreign_key="user.id", index=True)
    canteen_id: int = Field(foreign_key="canteen.id", index=True)
    meal: Meal = Field(sa_type=enum_type(Meal))
    # "workdays" (official working days, 调休 included) or ISO weekdays "1,3,5" (Monday is 1).
    days: str = Field(max_length=20)
    starts: date
    until: date | None = None
    set_meal: bool = True
    # The portion of every dish on the day's menu when set_meal is false.
    portion: Portion = Field(default=Portion.full, sa_type=enum_type(Portion))
    created_at: datetime = Field(sa_type=UTCDateTime)


class Booking(SQLModel, table=True):
    __table_args__ = (
        # One live booking per diner and meal; cancelled ones stay as history.
        sa.Index("ix_booking_live", "diner_id", "service_date", "meal", unique=True,
                 sqlite_where=sa.text("status = 'booked'"), postgresql_where=sa.text("status = 'booked'")),
        # With the booking and cancelling times the forecast's history (bookings standing at each day's cut-off)
        # reads from the index alone; without them SQLite builds a temporary index over every booking instead.
        sa.Index("ix_booking_canteen_period", "canteen_id", "service_date", "meal", "created_at", "cancelled_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    diner_id: int = Field(foreign_key="user.id")
    canteen_id: int = Field(foreign_key="canteen.id")
    service_date: date
    meal: Meal = Field(sa_type=enum_type(Meal))
    status: BookingStatus = Field(default=BookingStatus.booked, sa_type=enum_type(BookingStatus))
    set_meal: bool = False
    # Shown as a QR code on the diner's page and scanned at the entrance.
    token: str = Field(max_length=40, sa_column_kwargs={"unique": True})
    created_at: datetime = Field(sa_type=UTCDateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    recurring_id: int | None = Field(default=None, foreign_key="recurringbooking.id", index=True)


class BookingChoice(SQLModel, table=True):
    booking_id: int = Field(foreign_key="booking.id", primary_key=True, ondelete="CASCADE")
    dish_id: int = Field(foreign_key="dish.id", primary_key=True)
    portion: Portion = Field(sa_type=enum_type(Portion))


class DinerCard(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("canteen_id", "card_number"),)

    id: int | None = Field(default=None, primary_key=True)
    canteen_id: int = Field(foreign_key="canteen.id")
    card_number: str = Field(max_length=40)
    user_id: int = Field(foreign_key="user.id", index=True)


# ---- API schemas -------------------------------------------------------------


class DishCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = PydanticField(min_length=1, max_length=100)
    raw_grams: int = PydanticField(gt=0, le=5000)
    offers_half: bool = True
    offers_small: bool = False
    price_yuan_per_kg: float | None = PydanticField(default=None, ge=0, le=MAX_DISH_PRICE, allow_inf_nan=False)


class DishPrice(BaseModel):
    model_config = ConfigDict(extra="forbid")
    price_yuan_per_kg: float | None = PydanticField(ge=0, le=MAX_DISH_PRICE, allow_inf_nan=False)


class DishRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    canteen_id: int
    name: str
    raw_grams: int
    offers_half: bool
    offers_small: bool
    price_yuan_per_kg: float | None


class MenuUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dish_ids: list[Id] = PydanticField(max_length=100)


class MenuRead(BaseModel):
    canteen_id: int
    service_date: date
    meal: Meal
    dishes: list[DishRead]


class ClosedDayUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = PydanticField(default="", max_length=200)


class ClosedDayRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    canteen_id: int
    service_date: date
    reason: str


class PolicySchema(BaseModel):
    model_config = ConfigDict(extra="forbid", from_attributes=True)
    cutoff_days_before: int = PydanticField(default=1, ge=0, le=14)
    cutoff_time: ClockTime = time(16, 0)
    breakfast_capacity: int | None = PydanticField(default=None, ge=0, le=100_000)
    lunch_capacity: int | None = PydanticField(default=None, ge=0, le=100_000)
    dinner_capacity: int | None = PydanticField(default=None, ge=0, le=100_000)


class ChoiceSchema(BaseModel):
    model_config = ConfigDict(extra="forbid", from_attributes=True)
    dish_id: Id
    portion: Portion = Portion.full


class BookingCreate(BaseModel):
    """No diner field: a booking is always the caller's own."""

    model_config = ConfigDict(extra="forbid")
    canteen_id: Id
    service_date: Day
    meal: Meal
    set_meal: bool = False
    choices: list[ChoiceSchema] = PydanticField(default=[], max_length=50)


class BookingRead(BaseModel):
    id: int
    canteen_id: int
    service_date: date
    meal: Meal
    status: BookingStatus
    set_meal: bool
    choices: list[ChoiceSchema]
    token: str
    created_at: datetime
    cancelled_at: datetime | None
    recurring_id: int | None
    checked_in_at: datetime | None


class RecurringCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    canteen_id: Id
    meal: Meal
    days: str = PydanticField(default=WORKDAYS, max_length=20)
    starts: Day
    until: Day | None = None
    set_meal: bool = True
    portion: Portion = Portion.full


class RecurringRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    canteen_id: int
    meal: Meal
    days: str
    starts: date
    until: date | None
    set_meal: bool
    portion: Portion


class CardAssign(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: Id


class CheckInRequest(BaseModel):
    """Exactly one of token (the booking's QR code) or card_number."""

    model_config = ConfigDict(extra="forbid")
    token: str | None = PydanticField(default=None, min_length=1, max_length=40)
    card_number: str | None = PydanticField(default=None, min_length=1, max_length=40)


class WalkInRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    card_number: str | None = PydanticField(default=None, min_length=1, max_length=40)


class CheckInRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    canteen_id: int
    service_date: date
    meal: Meal
    booking_id: int | None
    card_number: str | None
    diner_id: int | None
    at: datetime
    walk_in: bool


class MealCounts(BaseModel):
    canteen_id: int
    service_date: date
    meal: Meal
    booked: int
    cancelled: int
    checked_in: int
    walk_ins: int
    no_shows: int
    set_meals: int
    # dish id -> portion -> number of bookings choosing it
    portions: dict[int, dict[Portion, int]]


class NoShows(BaseModel):
    count: int
    bookings: list[BookingRead]


class ForecastSnapshot(SQLModel, table=True):
    """The headcount forecast as it stood at a meal's booking cut-off, kept to measure the forecast's error."""

    canteen_id: int = Field(foreign_key="canteen.id", primary_key=True)
    service_date: date = Field(primary_key=True)
    meal: Meal = Field(sa_type=enum_type(Meal), primary_key=True)
    booked: int
    expected: int
    low: int
    high: int
    method: str = Field(max_length=20)
    made_at: datetime = Field(sa_type=UTCDateTime)
