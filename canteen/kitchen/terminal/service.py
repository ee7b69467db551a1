"""The kitchen waste terminal: a kitchen scale's weighings waiting to be classified, classifying them (stage,
reason and, for unserved food, the dish), each canteen's loss reasons, and the scale's live reading.

A kitchen station's gateway sends each placement without a category; ingest stores it as `unclassified`. Staff
at the terminal tap what it is within `CLASSIFY_WITHIN` of the weighing; after that it stays counted as
未分类 (the rollups' `unclassified_g`) and only a correction on the kitchen records page can change it, which
keeps a record of the change.

Who may classify: the station itself (its key, from the terminal's sign-in or the gateway's side) or an
operator of its canteen. Both are a `TerminalActor`.
"""
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import cast
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from pydantic import AwareDatetime, BaseModel, ConfigDict
from pydantic import Field as PydanticField
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, func, select

from canteen.access import Scope, may_operate
from canteen.bounds import Id
from canteen.db import table_of
from canteen.errors import Conflict, Forbidden, InvalidInput, NotFound
from canteen.i18n import N_, gettext
from canteen.kitchen.terminal.models import KitchenReasons, StationReading
from canteen.org import service as org_service
from canteen.org.models import Canteen, Meal, Station, StationKind
from canteen.reservation.models import Dish
from canteen.reservation.service import menus
from canteen.weighing import service as weighing_service
from canteen.weighing.models import CLASSIFIED_CATEGORIES, KitchenCategory, KitchenWaste

CLASSIFY_WITHIN = timedelta(minutes=10)
# A live reading older than this is not shown as the scale's weight: the gateway or the scale is gone.
READING_FRESH_FOR = timedelta(seconds=10)
# A reading's clock may be off by this much from the server's before it is refused.
READING_CLOCK_SLACK = timedelta(minutes=5)
MAX_REASONS = 20
MAX_REASON_LENGTH = 40
RECENT_LIMIT = 20  # classified and unclassified weighings of the day shown below the pending ones

# Codes stored for the default reasons, shown translated; a canteen's own reasons are stored as typed.
DEFAULT_REASONS = {
    "expired": N_("Expired or spoiled"),
    "overprepared": N_("Prepared too much"),
    "processing": N_("Processing loss"),
    "unpopular": N_("Dish not popular"),
    "equipment": N_("Equipment failure"),
    "other": N_("Other"),
}


@dataclass(frozen=True)
class TerminalActor:
    """Who classifies: a station by its own key (user_id None), or an operator of the station's canteen."""

    station: Station
    user_id: int | None = None

    @property
    def station_id(self) -> int:
        assert self.station.id is not None  # stations come from the database
        return self.station.id


class Classification(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: KitchenCategory
    reason: str | None = PydanticField(default=None, min_length=1, max_length=MAX_REASON_LENGTH)
    dish_id: Id | None = None


class LiveReading(BaseModel):
    model_config = ConfigDict(extra="forbid")
    grams: int | None = PydanticField(ge=-1_000_000, le=10_000_000)
    stable: bool
    measured_at: AwareDatetime


class ReasonsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reasons: list[str] = PydanticField(min_length=1, max_length=MAX_REASONS)


@dataclass(frozen=True)
class TerminalState:
    """What the terminal shows: the weighings still open to classification, and the day's others."""

    station: Station
    canteen: Canteen
    pending: list[KitchenWaste]
    recent: list[KitchenWaste]  # today's classified and no-longer-classifiable weighings, newest first
    reasons: list[str]
    dishes: dict[tuple[date, Meal], list[Dish]]  # per pending weighing's meal: that meal's menu


def kitchen_station(session: Session, scope: Scope, station_id: int) -> Station:
    """A kitchen station an operator may work at."""
    station = org_service.get_station(session, scope, station_id)
    if station.kind is not StationKind.kitchen:
        raise NotFound("station {id} is not a kitchen station", field="station_id", id=station_id)
    if not may_operate(scope, station.canteen_id):
        raise Forbidden("only the canteen's operators may use its kitchen terminal")
    return station


def require_kitchen(station: Station) -> Station:
    if station.kind is not StationKind.kitchen:
        raise InvalidInput("only a kitchen station has a terminal", field="station")
    return station


def reason_label(reason: str, language: str) -> str:
    """A default reason's text in the language; a canteen's own reason as it was typed."""
    return gettext(DEFAULT_REASONS[reason], language) if reason in DEFAULT_REASONS else reason


def reasons_as_typed(lines: list[str], language: str) -> list[str]:
    """A reasons list typed on the page: a line that reads as a default reason is stored as its code."""
    codes = {reason_label(code, language): code for code in DEFAULT_REASONS}
    return [codes.get(line, line) for line in lines]


def operator_actor(session: Session, scope: Scope, weighing_id: int) -> TerminalActor:
    """An operator classifying a weighing: it must be from a kitchen station of one of their canteens."""
    record = session.get(KitchenWaste, weighing_id)
    if record is None or record.station_id is None:
        raise NotFound("kitchen weighing {id} not found", field="weighing_id", id=weighing_id)
    try:
        station = kitchen_station(session, scope, record.station_id)
    except NotFound:
        raise NotFound("kitchen weighing {id} not found", field="weighing_id", id=weighing_id) from None
    return TerminalActor(station, scope.user_id or None)


def canteen_reasons(session: Session, scope: Scope, canteen_id: int) -> list[str]:
    org_service.get_canteen(session, scope, canteen_id)
    return reasons_of(session, canteen_id)


def reasons_of(session: Session, canteen_id: int) -> list[str]:
    stored = session.get(KitchenReasons, canteen_id)
    return list(stored.reasons) if stored is not None else list(DEFAULT_REASONS)


def set_reasons(session: Session, scope: Scope, canteen_id: int, update: ReasonsUpdate,
                now: datetime) -> list[str]:
    org_service.get_canteen(session, scope, canteen_id)
    if not may_operate(scope, canteen_id):
        raise Forbidden("only the canteen's operators may change its loss reasons")
    reasons = [reason.strip() for reason in update.reasons]
    for index, reason in enumerate(reasons):
        if not reason or len(reason) > MAX_REASON_LENGTH:
            raise InvalidInput("each reason must be 1 to {max} characters", field=f"reasons.{index}",
                               max=MAX_REASON_LENGTH)
        if reason in reasons[:index]:
            raise InvalidInput("the reason {text} is listed twice", field=f"reasons.{index}", text=reason)
    stored = session.get(KitchenReasons, canteen_id) or KitchenReasons(canteen_id=canteen_id, updated_at=now)
    stored.reasons, stored.updated_by, stored.updated_at = reasons, scope.user_id or None, now
    session.add(stored)
    session.flush()
    return reasons


def _open(record: KitchenWaste, now: datetime) -> bool:
    """Whether the weighing still waits for the terminal."""
    return (record.category is KitchenCategory.unclassified and record.superseded_by is None
            and record.measured_at is not None and now - record.measured_at <= CLASSIFY_WITHIN)


def terminal_state(session: Session, station: Station, now: datetime) -> TerminalState:
    canteen = session.get(Canteen, station.canteen_id)
    assert canteen is not None and canteen.id is not None  # a station's canteen cannot be deleted
    today = org_service.local_date(canteen, now)
    records = list(session.exec(
        select(KitchenWaste)
        .where(KitchenWaste.station_id == station.id, col(KitchenWaste.superseded_by).is_(None),
               col(KitchenWaste.measured_at) >= min(now - CLASSIFY_WITHIN, _day_start(canteen, today)))
        .order_by(col(KitchenWaste.measured_at).desc(), col(KitchenWaste.id).desc())))
    pending = [record for record in records if _open(record, now)]
    recent = [record for record in records if not _open(record, now)][:RECENT_LIMIT]
    meals = {(record.service_date, record.meal) for record in pending}
    dishes = {(day, meal): menus.menu_dishes(session, canteen.id, day, meal) for day, meal in sorted(meals)}
    return TerminalState(station, canteen, pending, recent, reasons_of(session, canteen.id), dishes)


def _day_start(canteen: Canteen, day: date) -> datetime:
    return datetime.combine(day, time(0), ZoneInfo(canteen.timezone))


def classify(session: Session, actor: TerminalActor, weighing_id: int, classification: Classification,
             now: datetime) -> KitchenWaste:
    """Say what a waiting weighing is; refused when it is another station's, already classified or too old."""
    record = session.get(KitchenWaste, weighing_id)
    if record is None or record.station_id != actor.station.id:
        raise NotFound("kitchen weighing {id} not found", field="weighing_id", id=weighing_id)
    if record.category is not KitchenCategory.unclassified or record.superseded_by is not None:
        raise Conflict("kitchen weighing {id} is already classified", field="weighing_id", id=weighing_id)
    if not _open(record, now):
        raise Conflict("kitchen weighing {id} was weighed more than {minutes} minutes ago; correct it on the"
                       " kitchen records page", field="weighing_id", id=weighing_id,
                       minutes=int(CLASSIFY_WITHIN.total_seconds() // 60))
    if classification.category not in CLASSIFIED_CATEGORIES:
        raise InvalidInput("choose what the waste is", field="category")
    if classification.reason is not None and classification.reason not in reasons_of(session, record.canteen_id):
        raise InvalidInput("{text} is not one of the canteen's loss reasons", field="reason",
                           text=classification.reason)
    _check_dish(session, record, classification)
    record.category, record.reason, record.dish_id = (classification.category, classification.reason,
                                                      classification.dish_id)
    record.classified_by, record.classified_at = actor.user_id, now
    session.add(record)
    weighing_service.mark_stale(session, record.canteen_id, {record.service_date})
    session.flush()
    return record


def _check_dish(session: Session, record: KitchenWaste, classification: Classification) -> None:
    if classification.category is not KitchenCategory.unserved:
        if classification.dish_id is not None:
            raise InvalidInput("only unserved food is recorded against a dish", field="dish_id")
        return
    menu = menus.menu_dishes(session, record.canteen_id, record.service_date, record.meal)
    if classification.dish_id is None:
        if menu:
            raise InvalidInput("choose the dish that was left unserved", field="dish_id")
        return
    if classification.dish_id not in {dish.id for dish in menu}:
        raise InvalidInput("dish {id} is not on the menu of that meal", field="dish_id", id=classification.dish_id)


def record_reading(session: Session, station: Station, reading: LiveReading, now: datetime) -> None:
    """Keep the scale's latest reading (one row a station, overwritten)."""
    require_kitchen(station)
    if abs(reading.measured_at - now) > READING_CLOCK_SLACK:
        raise InvalidInput("the reading's time is more than 5 minutes from the server's", field="measured_at")
    values = {"station_id": station.id, "grams": reading.grams, "stable": reading.stable,
              "measured_at": reading.measured_at, "received_at": now}
    upsert = (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(
        table_of(StationReading)).values(**values)
    session.execute(upsert.on_conflict_do_update(index_elements=["station_id"], set_=values))


def live_reading(session: Session, station_id: int, now: datetime) -> StationReading | None:
    """The scale's reading if it is fresh, else None (the terminal then says the scale is not sending)."""
    reading = session.get(StationReading, station_id, populate_existing=True)
    if reading is None or now - reading.received_at > READING_FRESH_FOR:
        return None
    return reading


@dataclass(frozen=True)
class Pulse:
    version: str  # changes when a weighing of the station arrives or is classified
    grams: int | None  # the scale's fresh reading, None when it shows none or is not sending
    stable: bool
    sending: bool  # whether the scale's gateway sent a reading within READING_FRESH_FOR


def terminal_pulse(session: Session, station: Station, now: datetime) -> Pulse:
    """What the terminal's live feed watches, in one query: the scale's reading and a version of the station's
    recent weighings that changes when one arrives or is classified.

    The weighings are looked up by the canteen's last two service days (the index the rollups use), so the
    query stays small however long the station has been weighing."""
    canteen = session.get(Canteen, station.canteen_id)
    assert canteen is not None
    since = org_service.local_date(canteen, now) - timedelta(days=1)
    weighings, reading = table_of(KitchenWaste), table_of(StationReading)
    recent = (sa.select(func.count(), func.max(weighings.c.id), func.max(weighings.c.classified_at))
              .where(weighings.c.canteen_id == station.canteen_id, weighings.c.service_date >= since,
                     weighings.c.station_id == station.id).subquery())
    query = (sa.select(recent, reading.c.grams, reading.c.stable, reading.c.received_at)
             .select_from(recent.outerjoin(reading, reading.c.station_id == station.id)))
    row = cast(tuple[int, int | None, datetime | None, int | None, bool | None, datetime | None],
               tuple(session.execute(query).one()))
    count, newest, classified, grams, stable, received = row
    sending = received is not None and now - received <= READING_FRESH_FOR
    return Pulse(f"{count}-{newest}-{classified}", grams if sending else None, bool(stable) and sending, sending)
