"""Demo history: bookings and check-ins from the simulator's booking model, and the weighings that match them.

For each canteen, `demo_bookings` plans every meal of the last days, today and the week ahead; every diner
checked in by `now` then returns a plate at its plate-return station some minutes after coming in, with
leftovers from the simulator's traffic model, and the kitchen station weighs the kitchen waste by category
after the meal. How clean the plates are, how much food goes unserved and how fast both improve follow the
canteen's level of anti-waste work (`canteen.demo.levels`). The rollups are computed last, with the
check-ins as their diner count. Sequence numbers start at 1 per station; live gateways number their events
from the wall clock (far above), so the two never collide.

Drawing the rows and converting them for the database take about twice as long as storing them, so forked
child processes draw the canteens, taking turns, while this one stores the canteens before. On SQLite the
tables' own indexes are made once the rows are in, and the tables analysed for the query planner.
"""
import gc
import multiprocessing
import os
import queue
import random
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from multiprocessing.process import BaseProcess
from zoneinfo import ZoneInfo

from sqlalchemy import Dialect, text
from sqlmodel import Session, col, func, select

from canteen.demo import bookings as demo_bookings
from canteen.demo import levels
from canteen.demo.bookings import Load, ServedMeal
from canteen.demo.progress import BOOKINGS, HISTORY, ROLLUPS, Progress
from canteen.org.models import Canteen, ServingMode, Station, StationKind
from canteen.reservation.models import Booking
from canteen.weighing import partitions
from canteen.weighing import service as weighing_service
from canteen.weighing.models import KitchenCategory, KitchenSource, KitchenWaste, PlateWeighing
from hardware_sim import traffic

# Median leftover of the plates that are not clean, by serving mode: buffets and banquets waste most.
MEDIAN_LEFTOVER_G = {ServingMode.buffet: 24.0, ServingMode.portioned: 15.0, ServingMode.table: 34.0,
                     ServingMode.set_meal: 18.0}
# Grams per diner of each kitchen category, before day-to-day noise.
KITCHEN_PER_DINER_G = {KitchenCategory.kitchen_scraps: 14.0, KitchenCategory.trimmings: 9.0,
                       KitchenCategory.unserved: 16.0}
# A diner returns the plate this many minutes after coming in.
EATING_MINUTES = (12, 25)
SEED = 2026
SQLITE_CACHE_KIB = 256 * 1024
PLATE_COLUMNS = ("station_id", "seq", "canteen_id", "measured_at", "service_date", "meal", "grams", "received_at",
                 "diner_ref")
KITCHEN_COLUMNS = ("canteen_id", "service_date", "meal", "category", "source", "station_id", "seq", "measured_at",
                   "recorded_at", "note", "grams")
CHILD_CHECK_S = 1.0
DRAWERS = 2  # child processes drawing canteens, at most one per core: drawing takes twice as long as storing
BULK_TABLES = ("booking", "bookingchoice", "checkin", "kitchenwaste", "plateweighing")


@dataclass
class _Job:
    """One canteen, with everything its rows are drawn from."""

    bookings: demo_bookings.Plan
    name: str
    serving_mode: ServingMode
    days: list[date]  # the days seeded, today last
    plate_station: int | None
    kitchen_station: int | None
    rng: random.Random


@dataclass
class _Result:
    canteen_id: int
    loads: list[Load]  # rows ready to store
    bookings: int
    plates: int
    last_plate_at: datetime | None
    last_kitchen_at: datetime | None


def seed_history(session: Session, canteen_ids: list[int], now: datetime, days: int, seed: int = SEED,
                 progress: Progress | None = None) -> int:
    """Bookings and weighings for the given canteens over the last `days` days and today until `now`, and
    bookings for the week ahead; returns the plates."""
    progress = progress or Progress()
    with progress.phase(BOOKINGS, len(canteen_ids)) as advance:
        jobs = {}
        for canteen_id in canteen_ids:
            jobs[canteen_id] = _prepare(session, canteen_id, now, days, seed)
            advance(1)
    first_booking_id = (session.exec(select(func.max(Booking.id))).one() or 0) + 1
    total = 0
    with _sqlite_cache(session):
        with progress.phase(HISTORY, len(canteen_ids)) as advance, _indexes_deferred(session, BULK_TABLES):
            for result in _drawn_elsewhere(list(jobs.values()), session.connection().dialect, first_booking_id,
                                           now):
                for load in result.loads:
                    load.insert(session)
                job = jobs[result.canteen_id]
                # The stations were last seen when they sent their last rows.
                for station_id, seen in ((job.plate_station, result.last_plate_at),
                                         (job.kitchen_station, result.last_kitchen_at)):
                    station = session.get(Station, station_id) if seen is not None else None
                    if station is not None:
                        station.last_seen_at = seen
                        session.add(station)
                total += result.plates
                advance(1)
        partitions.backfill_keys(session.connection())  # the bulk load went past ingest's (station, seq) keys
        with progress.phase(ROLLUPS, len(canteen_ids)) as advance:
            for canteen_id, job in jobs.items():
                weighing_service.recompute_rollups(session, canteen_id, job.days, now)
                advance(1)
    demo_bookings.continue_ids(session, Booking)
    session.flush()
    _analyze(session)
    return total


def _analyze(session: Session) -> None:
    """Planner statistics for the tables just filled.

    Without them PostgreSQL may join bookings and their choices by nested scans (minutes instead of
    milliseconds), and SQLite's planner guesses how selective the indexes are. PostgreSQL's autovacuum would
    get there later; SQLite never analyses on its own, so the demo's database keeps these.
    """
    if session.connection().dialect.name == "postgresql":
        session.execute(text(f"ANALYZE {', '.join(BULK_TABLES)}"))
    else:
        for table in BULK_TABLES:
            session.execute(text(f"ANALYZE {table}"))


@contextmanager
def _indexes_deferred(session: Session, tables: tuple[str, ...]) -> Iterator[None]:
    """SQLite: the tables' own indexes (not the ones behind their primary key and unique constraints) dropped
    while rows go in, and made again as they were, which sorts each once instead of inserting into it row by
    row. PostgreSQL, which loads by COPY, keeps them."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        yield
        return
    names = ", ".join(f"'{table}'" for table in tables)
    indexes: list[tuple[str, str]] = [(str(name), str(sql)) for name, sql in connection.exec_driver_sql(
        f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({names})")]
    for name, _ in indexes:
        connection.exec_driver_sql(f'DROP INDEX "{name}"')
    try:
        yield
    finally:
        for _, sql in indexes:
            connection.exec_driver_sql(sql)


def _prepare(session: Session, canteen_id: int, now: datetime, days: int, seed: int) -> _Job:
    canteen = session.get(Canteen, canteen_id)
    assert canteen is not None  # seeded just before
    stations = list(session.exec(select(Station).where(Station.canteen_id == canteen.id).order_by(col(Station.id))))
    today = now.astimezone(ZoneInfo(canteen.timezone)).date()
    return _Job(demo_bookings.prepare(session, canteen, now, days, seed), canteen.name, canteen.serving_mode,
                [today - timedelta(days=age) for age in range(days, -1, -1)],
                next((station.id for station in stations if station.kind is StationKind.plate_return), None),
                next((station.id for station in stations if station.kind is StationKind.kitchen), None),
                random.Random(f"{seed}-{canteen.name}"))


def _drawn_elsewhere(jobs: list[_Job], dialect: Dialect, first_booking_id: int, now: datetime) -> Iterator[_Result]:
    """The jobs' results in order, drawn by forked child processes (taking turns) while the caller stores the
    ones before. Each canteen numbers its bookings from its own block of ids, as many as it could make."""
    context = multiprocessing.get_context("fork")
    firsts = [first_booking_id + sum(job.bookings.most_bookings for job in jobs[:index])
              for index in range(len(jobs))]
    count = max(1, min(DRAWERS, len(jobs), os.cpu_count() or 1))
    queues: list[multiprocessing.Queue] = [context.Queue(maxsize=2) for _ in range(count)]
    children = [context.Process(target=_draw_all, args=(list(zip(jobs, firsts))[turn::count], dialect, now,
                                                        queues[turn]), daemon=True) for turn in range(count)]
    for child in children:
        child.start()
    try:
        for index in range(len(jobs)):
            yield _next(queues[index % count], children[index % count])
    finally:
        for child in children:
            child.join(CHILD_CHECK_S)
            if child.is_alive():
                child.kill()
                child.join()


def _next(results: multiprocessing.Queue, child: BaseProcess) -> _Result:
    while True:
        try:
            item = results.get(timeout=CHILD_CHECK_S)
        except queue.Empty:
            if child.exitcode is not None and results.empty():
                raise RuntimeError(
                    f"the process drawing the demo history stopped (exit code {child.exitcode})") from None
            continue
        if isinstance(item, str):
            raise RuntimeError(f"drawing the demo history failed:\n{item}")
        return item


def _draw_all(jobs: list[tuple[_Job, int]], dialect: Dialect, now: datetime, results: multiprocessing.Queue) -> None:
    # The child shares the parent's database connections: collecting garbage could close one under it.
    gc.disable()
    try:
        for job, first_booking_id in jobs:
            results.put(_draw(job, dialect, first_booking_id, now))
    except BaseException:
        results.put(traceback.format_exc())


def _draw(job: _Job, dialect: Dialect, first_booking_id: int, now: datetime) -> _Result:
    drawn = demo_bookings.draw(job.bookings, first_booking_id)
    plates, kitchen = _weighings(job, drawn.served, now)
    loads = [*drawn.loads(), Load(PlateWeighing, PLATE_COLUMNS, plates), Load(KitchenWaste, KITCHEN_COLUMNS, kitchen)]
    return _Result(job.bookings.canteen_id, [load.stored(dialect) for load in loads], len(drawn.bookings),
                   len(plates), max((plate[3] for plate in plates), default=None),
                   max((record[7] for record in kitchen), default=None))


def _weighings(job: _Job, served: list[ServedMeal], now: datetime) -> tuple[list[tuple], list[tuple]]:
    """A plate per diner who came in, returned some minutes later, and each meal's kitchen waste."""
    plates: list[tuple] = []
    kitchen: list[tuple] = []
    canteen_id, rng, today = job.bookings.canteen_id, job.rng, job.days[-1]
    unserved, clean_share = levels.unserved_factor(job.name), levels.clean_share(job.name)
    for meal in served if job.plate_station is not None else []:
        age_share = (today - meal.day).days / max(len(job.days) - 1, 1)
        trend = levels.trend(job.name, age_share)
        leftovers = traffic.Leftovers(clean_share=clean_share,
                                      median_g=MEDIAN_LEFTOVER_G[job.serving_mode]
                                      * levels.leftover_factor(job.name, age_share))
        for index, arrival in enumerate(meal.arrivals):
            measured_at = arrival + timedelta(minutes=rng.uniform(*EATING_MINUTES))
            if measured_at <= now:
                plates.append((job.plate_station, len(plates) + 1, canteen_id, measured_at, meal.day, meal.meal,
                               leftovers.draw(rng), measured_at, meal.codes[index] if meal.codes else None))
        if job.kitchen_station is not None and meal.ends + timedelta(hours=1) <= now:
            recorded_at = meal.ends + timedelta(minutes=30)
            kitchen += [(canteen_id, meal.day, meal.meal, category, KitchenSource.station, job.kitchen_station,
                         len(kitchen) + index + 1, recorded_at, recorded_at, "",
                         round(len(meal.arrivals) * per_diner * rng.uniform(0.7, 1.3) * trend
                               * (unserved if category is KitchenCategory.unserved else 1)))
                        for index, (category, per_diner) in enumerate(KITCHEN_PER_DINER_G.items())]
    return plates, kitchen


@contextmanager
def _sqlite_cache(session: Session) -> Iterator[None]:
    """A larger SQLite page cache for the load: with the default 2 MB, inserting into indexes whose keys come in
    random order (booking tokens, diners) reads pages back all the time and takes twice as long."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        yield
        return
    before = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    connection.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size = {before}")
