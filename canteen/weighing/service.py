"""Ingest of plate and kitchen weighings, manual kitchen and diner records, daily rollups and their series."""
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import cast
from zoneinfo import ZoneInfo

import pandas as pd
from pydantic import ValidationError
from sqlalchemy import Select, bindparam, case, delete, func, insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from canteen.access import Scope, may_operate
from canteen.db import table_of
from canteen.errors import Forbidden, InvalidInput, NotFound, PayloadTooLarge
from canteen.org import service as org_service
from canteen.org.meals import MealCalendar, ServicePeriod
from canteen.org.models import Canteen, Meal, MealWindow, Station, StationKind
from canteen.weighing.models import (
    MAX_BATCH_ITEMS,
    PLATE_KEY_TABLE,
    ArchivedMonth,
    BatchResult,
    CheckIn,
    DailyRollup,
    DinerCount,
    DinerCountEntry,
    DinerSource,
    ItemResult,
    ItemStatus,
    KitchenCategory,
    KitchenEntry,
    KitchenSource,
    KitchenWaste,
    PlateWeighing,
    StaleRollup,
    WeighingItem,
)

MAX_FUTURE = timedelta(minutes=5)
MAX_AGE = timedelta(days=30)
# Plates returned this long after a window closes still count for that meal.
LATE_RETURN_GRACE = timedelta(minutes=60)
KITCHEN_COLUMNS = {
    KitchenCategory.storage: "storage_g",
    KitchenCategory.trimmings: "trimmings_g",
    KitchenCategory.unserved: "unserved_g",
    KitchenCategory.kitchen_scraps: "kitchen_scraps_g",
    KitchenCategory.other: "other_kitchen_g",
    KitchenCategory.unclassified: "unclassified_g",
}


def _upsert(session: Session):
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


# ---- ingest ------------------------------------------------------------------


@dataclass
class _Checked:
    index: int
    item: WeighingItem
    period: ServicePeriod | None
    service_date: date


@dataclass(frozen=True)
class NamedPlate:
    """A plate weighing a batch stored (a replay never is one) that carries the code scanned beside the scale."""

    seq: int
    measured_at: datetime
    service_date: date
    meal: Meal | None
    grams: int
    diner_ref: str


# Called by ingest inside the batch's transaction, with the batch's named plates (never with none), so a plate and
# what is made of its code commit together or not at all. The app installs them (app.state.ingest_hooks): the
# clean-plate points, which this package does not import.
IngestHook = Callable[[Session, Station, Canteen, list[NamedPlate], datetime], None]


def _reject(index: int, seq: int | None, field: str | None, reason: str) -> ItemResult:
    return ItemResult(index=index, seq=seq, status=ItemStatus.rejected, field=field, reason=reason)


def _check_item(index: int, raw: object, station: Station, calendar: MealCalendar,
                now: datetime) -> _Checked | ItemResult:
    seq = raw.get("seq") if isinstance(raw, dict) and isinstance(raw.get("seq"), int) else None
    try:
        item = WeighingItem.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or None
        return _reject(index, seq, field, first["msg"])
    if item.grams < 0:
        return _reject(index, item.seq, "grams", "grams must not be negative")
    if item.grams > station.capacity_g:
        return _reject(index, item.seq, "grams", f"grams above the station's capacity of {station.capacity_g} g")
    if item.measured_at > now + MAX_FUTURE:
        return _reject(index, item.seq, "measured_at", "timestamp is more than 5 minutes in the future")
    if item.measured_at < now - MAX_AGE:
        return _reject(index, item.seq, "measured_at", "timestamp is older than 30 days")
    kitchen = station.kind is StationKind.kitchen
    if not kitchen and (item.category is not None or item.meal is not None):
        field = "category" if item.category is not None else "meal"
        return _reject(index, item.seq, field, "only kitchen stations send a category or meal")
    if kitchen:
        period = (ServicePeriod(item.measured_at.astimezone(calendar.zone).date(), item.meal) if item.meal
                  else calendar.nearest_period(item.measured_at))
        if period is None:
            return _reject(index, item.seq, "meal", "the canteen has no meal windows; give the meal")
    else:
        period = calendar.period_at(item.measured_at, LATE_RETURN_GRACE)
    return _Checked(index, item, period,
                    period.service_date if period else item.measured_at.astimezone(calendar.zone).date())


# Every batch runs these: built once with bound parameters, so neither the statement nor its cache key is made
# again for each batch.
_WINDOWS = table_of(MealWindow)
_MEAL_WINDOWS = cast("Select[Meal, time, time]", Select(_WINDOWS.c.meal, _WINDOWS.c.starts, _WINDOWS.c.ends).where(
    _WINDOWS.c.canteen_id == bindparam("canteen_id")))
_TOUCH_STATION = (update(table_of(Station)).where(table_of(Station).c.id == bindparam("station_id"))
                  .values(last_seen_at=bindparam("now")))


def _meal_calendar(session: Session, canteen: Canteen) -> MealCalendar:
    """The canteen's meal windows, read as plain rows rather than ORM objects (see org_service.meal_windows)."""
    rows = session.connection().execute(_MEAL_WINDOWS, {"canteen_id": canteen.id})
    order = list(Meal)
    windows = sorted(((meal, starts, ends) for meal, starts, ends in rows), key=lambda window: order.index(window[0]))
    return MealCalendar(windows, ZoneInfo(canteen.timezone))


def ingest(session: Session, station: Station, raw_items: list[object], now: datetime,
           hooks: Sequence[IngestHook] = ()) -> BatchResult:
    """Store a station's batch: each item accepted, duplicate (same station and seq) or rejected alone; the
    hooks get the plates stored with a diner_ref (a batch without one costs them nothing)."""
    if len(raw_items) > MAX_BATCH_ITEMS:
        raise PayloadTooLarge("a batch holds at most {limit} items", field="items", limit=MAX_BATCH_ITEMS)
    canteen = session.get(Canteen, station.canteen_id)
    assert canteen is not None and canteen.id is not None  # a station's canteen exists (foreign key)
    calendar = _meal_calendar(session, canteen)
    results: dict[int, ItemResult] = {}
    fresh: dict[int, _Checked] = {}
    for index, raw in enumerate(raw_items):
        checked = _check_item(index, raw, station, calendar, now)
        if isinstance(checked, ItemResult):
            results[index] = checked
        elif checked.item.seq in fresh:
            results[index] = ItemResult(index=index, seq=checked.item.seq, status=ItemStatus.duplicate)
        else:
            fresh[checked.item.seq] = checked
    inserted = _insert_new(session, station, canteen, list(fresh.values()), now)
    for seq, checked in fresh.items():
        status = ItemStatus.accepted if seq in inserted else ItemStatus.duplicate
        # Values made here, not input: built without validating again (100 results a batch).
        results[checked.index] = ItemResult.model_construct(index=checked.index, seq=seq, status=status)
    mark_stale(session, canteen.id, {fresh[seq].service_date for seq in inserted})
    if hooks and station.kind is StationKind.plate_return:
        _run_hooks(session, station, canteen, fresh, inserted, hooks, now)
    session.connection().execute(_TOUCH_STATION, {"station_id": station.id, "now": now})
    set_committed_value(station, "last_seen_at", now)  # as stored, without a second UPDATE at the flush
    ordered = [results[index] for index in range(len(raw_items))]
    return BatchResult(
        accepted=sum(r.status is ItemStatus.accepted for r in ordered),
        duplicate=sum(r.status is ItemStatus.duplicate for r in ordered),
        rejected=sum(r.status is ItemStatus.rejected for r in ordered),
        results=ordered,
    )


def _run_hooks(session: Session, station: Station, canteen: Canteen, fresh: dict[int, _Checked], inserted: set[int],
               hooks: Sequence[IngestHook], now: datetime) -> None:
    named = [NamedPlate(seq, c.item.measured_at, c.service_date, c.period.meal if c.period else None, c.item.grams,
                        c.item.diner_ref) for seq, c in fresh.items() if c.item.diner_ref and seq in inserted]
    if named:
        for hook in hooks:
            hook(session, station, canteen, named, now)


def _insert_new(session: Session, station: Station, canteen: Canteen, items: list[_Checked],
                now: datetime) -> set[int]:
    """Insert, letting the (station, seq) constraint drop replays, even ones racing in parallel."""
    if not items:
        return set()
    table: type[KitchenWaste] | type[PlateWeighing]
    if station.kind is StationKind.kitchen:
        table = KitchenWaste
        rows = [{"canteen_id": canteen.id, "service_date": c.service_date, "meal": _kitchen_meal(c),
                 # Without a category the weighing waits for the kitchen terminal (canteen.kitchen.terminal).
                 "category": c.item.category or KitchenCategory.unclassified, "grams": c.item.grams,
                 "source": KitchenSource.station,
                 "station_id": station.id, "seq": c.item.seq, "measured_at": c.item.measured_at,
                 "recorded_at": now, "note": ""} for c in items]
    elif session.get_bind().dialect.name == "postgresql":
        return _insert_partitioned(session, station, canteen, items, now)
    else:
        return _insert_plates_sqlite(session, station, canteen, items, now)
    # One statement with bound parameters, executed for many rows: compiled once and cached, where a
    # multi-row VALUES literal would be compiled again for every batch.
    statement = (_upsert(session)(table_of(table))
                 .on_conflict_do_nothing(index_elements=["station_id", "seq"]).returning(table_of(table).c.seq))
    return set(session.connection().execute(statement, rows).scalars())


# PostgreSQL's plate weighings are partitioned by month (canteen/weighing/partitions.py), so (station_id, seq)
# is unique in the key table instead: a key inserted and the weighings whose key was new, in one statement (one
# round trip) whose parameters are one array per column, so it is prepared once whatever the batch's size. A
# replay waits for a racing transaction's uncommitted key and is dropped once that one commits.
_PARTITIONED_INSERT = f"""
WITH item AS (
    SELECT * FROM unnest(%(seq)s::bigint[], %(measured_at)s::timestamptz[], %(service_date)s::date[],
                         %(meal)s::varchar[], %(grams)s::integer[], %(diner_ref)s::varchar[]) WITH ORDINALITY
        AS item (seq, measured_at, service_date, meal, grams, diner_ref, position)
), new AS (
    INSERT INTO {PLATE_KEY_TABLE} (station_id, seq) SELECT %(station)s, seq FROM item
    ON CONFLICT DO NOTHING RETURNING seq
)
INSERT INTO plateweighing (station_id, seq, canteen_id, measured_at, service_date, meal, grams, diner_ref,
                           received_at)
SELECT %(station)s, item.seq, %(canteen)s, item.measured_at, item.service_date, item.meal, item.grams,
       item.diner_ref, %(now)s
FROM item JOIN new USING (seq) ORDER BY item.position
RETURNING seq
"""


def _insert_partitioned(session: Session, station: Station, canteen: Canteen, items: list[_Checked],
                        now: datetime) -> set[int]:
    parameters = {
        "station": station.id, "canteen": canteen.id, "now": now,
        "seq": [c.item.seq for c in items], "measured_at": [c.item.measured_at for c in items],
        "service_date": [c.service_date for c in items],
        "meal": [c.period.meal.value if c.period else None for c in items],
        "grams": [c.item.grams for c in items], "diner_ref": [c.item.diner_ref for c in items]}
    return set(session.connection().exec_driver_sql(_PARTITIONED_INSERT, parameters).scalars())


# SQLite's plates: one multi-row INSERT, its text made once per batch size, its values converted here by the very
# processors SQLAlchemy would use for these columns (UTC, then SQLite's text formats). Going around SQLAlchemy's
# per-row parameter handling halves the insert's cost, the larger part of a batch's.
_PLATE_COLUMNS = ("station_id", "seq", "canteen_id", "measured_at", "service_date", "meal", "grams", "diner_ref",
                  "received_at")
_SQLITE_DIALECT = sqlite.dialect()
_sqlite_datetime = cast("Callable[[datetime], str]", sqlite.DATETIME().bind_processor(_SQLITE_DIALECT))
_sqlite_date = cast("Callable[[date], str]", sqlite.DATE().bind_processor(_SQLITE_DIALECT))


@lru_cache(maxsize=64)
def _sqlite_plate_insert(rows: int) -> str:
    values = ", ".join(["(" + ", ".join("?" * len(_PLATE_COLUMNS)) + ")"] * rows)
    return (f"INSERT INTO plateweighing ({', '.join(_PLATE_COLUMNS)}) VALUES {values} "
            "ON CONFLICT (station_id, seq) DO NOTHING RETURNING seq")


def _insert_plates_sqlite(session: Session, station: Station, canteen: Canteen, items: list[_Checked],
                          now: datetime) -> set[int]:
    received = _sqlite_datetime(now.astimezone(UTC))
    parameters: list[object] = []
    for c in items:
        parameters += (station.id, c.item.seq, canteen.id, _sqlite_datetime(c.item.measured_at.astimezone(UTC)),
                       _sqlite_date(c.service_date), c.period.meal.value if c.period else None, c.item.grams,
                       c.item.diner_ref, received)
    statement = _sqlite_plate_insert(len(items))
    return set(session.connection().exec_driver_sql(statement, tuple(parameters)).scalars())


def _kitchen_meal(checked: _Checked) -> Meal:
    assert checked.period is not None  # _check_item gives every kitchen item a period or rejects it
    return checked.period.meal


def mark_stale(session: Session, canteen_id: int, days: Iterable[date]) -> None:
    """Mark the days for recomputing; a day already marked gets a new generation (see refresh_stale)."""
    rows = [{"canteen_id": canteen_id, "service_date": day, "generation": 1} for day in sorted(set(days))]
    if not rows:
        return
    session.connection().execute(_MARK_STALE[session.get_bind().dialect.name], rows)


def _mark_stale_statement(upsert):
    # Bound parameters rather than a VALUES literal, and built once: compiled once (see _insert_new).
    table = table_of(StaleRollup)
    return upsert(table).on_conflict_do_update(index_elements=["canteen_id", "service_date"],
                                               set_={"generation": table.c.generation + 1})


_MARK_STALE = {"sqlite": _mark_stale_statement(sqlite.insert), "postgresql": _mark_stale_statement(postgresql.insert)}


# ---- manual records ----------------------------------------------------------


def _operated_canteen(session: Session, scope: Scope, canteen_id: int) -> Canteen:
    canteen = org_service.get_canteen(session, scope, canteen_id)
    if not may_operate(scope, canteen_id):
        raise Forbidden("only the canteen's operators may record its data")
    return canteen


def record_kitchen_waste(session: Session, scope: Scope, canteen_id: int, entry: KitchenEntry,
                         now: datetime, corrects: int | None = None) -> KitchenWaste:
    """Record kitchen waste by hand; a correction adds a row and marks the original as superseded."""
    _operated_canteen(session, scope, canteen_id)
    original = None
    if corrects is not None:
        original = session.get(KitchenWaste, corrects)
        if original is None or original.canteen_id != canteen_id:
            raise NotFound("kitchen record {id} not found", field="corrects", id=corrects)
        if original.superseded_by is not None:
            raise InvalidInput("kitchen record {id} was already corrected", field="corrects", id=corrects)
    record = KitchenWaste(canteen_id=canteen_id, service_date=entry.service_date, meal=entry.meal,
                          category=entry.category, grams=entry.grams, source=KitchenSource.manual,
                          recorded_by=scope.user_id or None, recorded_at=now, note=entry.note)
    session.add(record)
    session.flush()
    stale_days = {entry.service_date}
    if original is not None:
        original.superseded_by = record.id
        session.add(original)
        stale_days.add(original.service_date)
    mark_stale(session, canteen_id, stale_days)
    session.flush()
    return record


def kitchen_records(session: Session, scope: Scope, canteen_id: int, start: date, end: date) -> list[KitchenWaste]:
    """Every record in the range, corrected ones included, newest first."""
    org_service.get_canteen(session, scope, canteen_id)
    query = select(KitchenWaste).where(KitchenWaste.canteen_id == canteen_id,
                                       KitchenWaste.service_date >= start, KitchenWaste.service_date <= end)
    return list(session.exec(query.order_by(col(KitchenWaste.service_date).desc(), col(KitchenWaste.id).desc())))


def record_diner_count(session: Session, scope: Scope, canteen_id: int, entry: DinerCountEntry,
                       now: datetime) -> DinerCount:
    _operated_canteen(session, scope, canteen_id)
    count = session.get(DinerCount, (canteen_id, entry.service_date, entry.meal))
    if count is None:
        count = DinerCount(canteen_id=canteen_id, service_date=entry.service_date, meal=entry.meal,
                           diners=entry.diners, entered_at=now)
    count.diners, count.entered_by, count.entered_at = entry.diners, scope.user_id or None, now
    session.add(count)
    mark_stale(session, canteen_id, [entry.service_date])
    session.flush()
    return count



def diner_counts(session: Session, scope: Scope, canteen_id: int, start: date, end: date) -> list[DinerCount]:
    org_service.get_canteen(session, scope, canteen_id)
    query = select(DinerCount).where(DinerCount.canteen_id == canteen_id, DinerCount.service_date >= start,
                                     DinerCount.service_date <= end)
    return list(session.exec(query.order_by(col(DinerCount.service_date).desc(), DinerCount.meal)))


# ---- rollups -----------------------------------------------------------------


def diner_count(checkins: int, counted: int | None, plates: int) -> tuple[int, DinerSource]:
    """A meal's diners: the largest count it has, and which one that is.

    Every count can only miss diners — some walk past the check-in, the operator's tally may be partial — but
    none invents them, and a meal never has fewer diners than plates weighed. So partial check-ins never replace
    a larger count. Ties go to check-ins, then the operator's count.
    """
    candidates = [(plates, DinerSource.plates)]
    if counted is not None:
        candidates.append((counted, DinerSource.operator))
    if checkins:
        candidates.append((checkins, DinerSource.checkins))
    return max(reversed(candidates), key=lambda candidate: candidate[0])


def recompute_rollups(session: Session, canteen_id: int, days: Iterable[date], now: datetime) -> None:
    """Rebuild the rollup rows of these days from the raw records; running it twice gives the same rows."""
    days = sorted(set(days))
    if not days:
        return
    canteen = session.get(Canteen, canteen_id)
    assert canteen is not None  # rollups are computed for canteens that have records
    expected = session.exec(select(func.count()).select_from(Station).where(
        Station.canteen_id == canteen_id, Station.kind == StationKind.plate_return,
        col(Station.active).is_(True))).one()
    rows: dict[tuple[date, Meal], dict] = {}

    def row(day: date, meal: Meal) -> dict:
        return rows.setdefault((day, meal), {
            "canteen_id": canteen_id, "service_date": day, "meal": meal, "checkins": 0, "counted_diners": None,
            "plates": 0, "plate_waste_g": 0, "clean_plates": 0,
            **{column: 0 for column in KITCHEN_COLUMNS.values()},
            "stations_reporting": 0, "stations_expected": expected, "computed_at": now})

    # The plates of an archived month were exported and dropped: its days keep the plate figures they have.
    archived = _archived_days(session, days)
    if archived:
        for kept in session.exec(select(DailyRollup).where(DailyRollup.canteen_id == canteen_id,
                                                           col(DailyRollup.service_date).in_(archived))):
            row(kept.service_date, kept.meal).update(
                plates=kept.plates, plate_waste_g=kept.plate_waste_g, clean_plates=kept.clean_plates,
                stations_reporting=kept.stations_reporting, stations_expected=kept.stations_expected)
    counted = [day for day in days if day not in archived]
    # A plate is clean at or under the threshold that applied on its day (the setting keeps a dated history).
    thresholds = org_service.settings_on(session, canteen, "clean_plate_threshold_g", counted)
    for threshold in sorted(set(thresholds.values())):
        same = [day for day in counted if thresholds[day] == threshold]
        clean = case((col(PlateWeighing.grams) <= threshold, 1), else_=0)
        plates = session.exec(  # sqlmodel's select() is typed for at most 4 columns
            select(PlateWeighing.service_date, PlateWeighing.meal, func.count(), func.sum(PlateWeighing.grams),  # type: ignore[call-overload]
                   func.sum(clean), func.count(func.distinct(PlateWeighing.station_id)))
            .where(PlateWeighing.canteen_id == canteen_id, col(PlateWeighing.service_date).in_(same),
                   col(PlateWeighing.meal).is_not(None))
            .group_by(col(PlateWeighing.service_date), PlateWeighing.meal))
        for day, meal, count, grams, clean_count, stations in plates:
            row(day, meal).update(plates=count, plate_waste_g=int(grams), clean_plates=int(clean_count),
                                  stations_reporting=stations)
    kitchen = session.exec(
        select(col(KitchenWaste.service_date), col(KitchenWaste.meal), col(KitchenWaste.category),
               func.sum(KitchenWaste.grams))
        .where(KitchenWaste.canteen_id == canteen_id, col(KitchenWaste.service_date).in_(days),
               col(KitchenWaste.superseded_by).is_(None))
        .group_by(col(KitchenWaste.service_date), KitchenWaste.meal, KitchenWaste.category))
    for day, meal, category, grams in kitchen:
        row(day, meal)[KITCHEN_COLUMNS[category]] = int(grams)
    counts = session.exec(select(DinerCount).where(DinerCount.canteen_id == canteen_id,
                                                   col(DinerCount.service_date).in_(days)))
    for count in counts:
        row(count.service_date, count.meal)["counted_diners"] = count.diners
    checkins = session.exec(
        select(col(CheckIn.service_date), col(CheckIn.meal), func.count())
        .where(CheckIn.canteen_id == canteen_id, col(CheckIn.service_date).in_(days))
        .group_by(col(CheckIn.service_date), CheckIn.meal))
    for day, meal, checked_in in checkins:
        row(day, meal)["checkins"] = checked_in
    for values in rows.values():
        values["diners"], values["diner_source"] = diner_count(values["checkins"], values["counted_diners"],
                                                               values["plates"])
    session.exec(delete(DailyRollup).where(col(DailyRollup.canteen_id) == canteen_id,
                                           col(DailyRollup.service_date).in_(days)))
    if rows:
        session.exec(insert(DailyRollup).values(list(rows.values())))


def _archived_days(session: Session, days: list[date]) -> set[date]:
    months = {day.replace(day=1) for day in days}
    archived = set(session.exec(select(col(ArchivedMonth.month)).where(col(ArchivedMonth.month).in_(months))))
    return {day for day in days if day.replace(day=1) in archived}


def refresh_stale(session: Session, now: datetime, canteen_id: int | None = None) -> int:
    """Recompute the days marked stale (for one canteen or all) and return how many were done."""
    query = select(StaleRollup)
    if canteen_id is not None:
        query = query.where(StaleRollup.canteen_id == canteen_id)
    marks = list(session.exec(query))
    by_canteen: dict[int, list[date]] = {}
    for mark in marks:
        by_canteen.setdefault(mark.canteen_id, []).append(mark.service_date)
    for stale_canteen, days in by_canteen.items():
        recompute_rollups(session, stale_canteen, days, now)
    for mark in marks:
        # A mark raised again while we were computing has a newer generation and stays.
        session.exec(delete(StaleRollup).where(
            col(StaleRollup.canteen_id) == mark.canteen_id, col(StaleRollup.service_date) == mark.service_date,
            col(StaleRollup.generation) == mark.generation))
    session.flush()
    return len(marks)


# ---- reading -----------------------------------------------------------------

SUM_COLUMNS = ["diners", "checkins", "plates", "plate_waste_g", "clean_plates", *KITCHEN_COLUMNS.values(),
               "stations_reporting", "stations_expected"]
CHANGE_COLUMNS = ["plate_waste_per_diner_g", "clean_plate_rate", "kitchen_per_diner_g", "plate_waste_g"]
# Year on year compares with the same weekday 52 weeks earlier: canteens follow the working week.
YEAR_LAG_DAYS = 364
MAX_RANGE_DAYS = 731


def _with_ratios(frame: pd.DataFrame) -> pd.DataFrame:
    """Ratios from sums; a day without diners or plates gives NaN ("no data"), never zero."""
    frame = frame.astype("float64")
    frame["kitchen_total_g"] = frame[list(KITCHEN_COLUMNS.values())].sum(axis=1, min_count=1)
    diners = frame["diners"].where(frame["diners"] > 0)
    frame["plate_waste_per_diner_g"] = frame["plate_waste_g"] / diners
    frame["kitchen_per_diner_g"] = frame["kitchen_total_g"] / diners
    frame["clean_plate_rate"] = frame["clean_plates"] / frame["plates"].where(frame["plates"] > 0)
    frame["coverage"] = frame["stations_reporting"] / frame["stations_expected"].where(frame["stations_expected"] > 0)
    return frame


def check_range(start: date, end: date) -> None:
    """A range of days asked for (from, to): in order, and at most MAX_RANGE_DAYS long."""
    if end < start:
        raise InvalidInput("the range ends before it starts", field="to")
    if (end - start).days >= MAX_RANGE_DAYS:
        raise InvalidInput("a range may span at most {days} days", field="to", days=MAX_RANGE_DAYS)


def daily_series(session: Session, scope: Scope, canteen_id: int, start: date, end: date, now: datetime,
                 meal: Meal | None = None) -> pd.DataFrame:
    """One row per day from start to end: sums, ratios, and week-on-week / year-on-year change."""
    check_range(start, end)
    org_service.get_canteen(session, scope, canteen_id)
    refresh_stale(session, now, canteen_id)
    session.commit()
    first = start - timedelta(days=YEAR_LAG_DAYS)
    query = select(DailyRollup).where(DailyRollup.canteen_id == canteen_id, DailyRollup.service_date >= first,
                                      DailyRollup.service_date <= end)
    if meal is not None:
        query = query.where(DailyRollup.meal == meal)
    records = [rollup.model_dump(include={"service_date", *SUM_COLUMNS}) for rollup in session.exec(query)]
    days = pd.date_range(first, end, freq="D").date
    frame = (pd.DataFrame.from_records(records, columns=["service_date", *SUM_COLUMNS])
             .groupby("service_date").sum().reindex(days))
    frame = _with_ratios(frame)
    for column in CHANGE_COLUMNS:
        frame[f"{column}_wow"] = frame[column] / frame[column].shift(7) - 1
        frame[f"{column}_yoy"] = frame[column] / frame[column].shift(YEAR_LAG_DAYS) - 1
    frame.index.name = "date"
    return frame.loc[slice(start, end)]


def series_records(frame: pd.DataFrame) -> list[dict]:
    """JSON-ready rows: NaN and infinities become null."""
    clean = frame.replace([float("inf"), float("-inf")], float("nan")).astype(object)
    clean = clean.where(pd.notna(clean), None)
    return [{"date": day.isoformat(), **row} for day, row in zip(clean.index, clean.to_dict("records"))]


def export_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The series for a spreadsheet: days without data stay blank, ratios rounded for reading."""
    table = frame.replace([float("inf"), float("-inf")], float("nan"))
    table[["plate_waste_per_diner_g", "kitchen_per_diner_g"]] = table[
        ["plate_waste_per_diner_g", "kitchen_per_diner_g"]].round(1)
    ratio_columns = ["clean_plate_rate", "coverage", "plate_waste_per_diner_g_wow", "plate_waste_per_diner_g_yoy"]
    table[ratio_columns] = table[ratio_columns].round(4)
    return table.reset_index()


# ---- today, live -------------------------------------------------------------

@dataclass
class Today:
    canteen: Canteen
    service_date: date
    meals: pd.DataFrame  # one row per meal served so far: daily_series' columns, diner_source, counted_diners
    total: pd.Series
    hourly: list[tuple[int, int, int]]  # local hour, plates, grams
    stations: list[Station]


def today(session: Session, scope: Scope, canteen_id: int, now: datetime) -> Today:
    """Today's figures in the canteen's time zone, from the same rollup the history uses."""
    canteen = org_service.get_canteen(session, scope, canteen_id)
    zone = ZoneInfo(canteen.timezone)
    day = now.astimezone(zone).date()
    refresh_stale(session, now, canteen_id)
    session.commit()
    rollups = session.exec(select(DailyRollup).where(DailyRollup.canteen_id == canteen_id,
                                                     DailyRollup.service_date == day)).all()
    records = [rollup.model_dump(include={"meal", *SUM_COLUMNS}) for rollup in rollups]
    sources = {rollup.meal: (rollup.diner_source, rollup.counted_diners) for rollup in rollups}
    meals = pd.DataFrame.from_records(records, columns=["meal", *SUM_COLUMNS]).set_index("meal")
    order = [meal for meal in Meal if meal in meals.index]
    meals = _with_ratios(meals.loc[order])
    meals["diner_source"] = [sources[meal][0] for meal in order]
    meals["counted_diners"] = [sources[meal][1] for meal in order]
    total = _with_ratios(meals[SUM_COLUMNS].sum().to_frame().T).iloc[0]
    times = session.exec(select(PlateWeighing.measured_at, PlateWeighing.grams).where(
        PlateWeighing.canteen_id == canteen_id, PlateWeighing.service_date == day,
        col(PlateWeighing.meal).is_not(None))).all()
    hourly: dict[int, list[int]] = {}
    for measured_at, grams in times:
        bucket = hourly.setdefault(measured_at.astimezone(zone).hour, [0, 0])
        bucket[0] += 1
        bucket[1] += grams
    stations = org_service.list_stations(session, scope, canteen_id)
    by_hour = [(hour, plates, grams) for hour, (plates, grams) in sorted(hourly.items())]
    return Today(canteen, day, meals, total, by_hour, stations)
