"""Demo history: bookings and check-ins from the simulator's booking model, and the weighings that match them.

For each canteen, `demo_bookings` plans every meal of the last days, today and the week ahead; every diner
checked in by `now` then returns a plate at its plate-return station some minutes after coming in, with
leftovers from the simulator's traffic model, and the kitchen station weighs the kitchen waste by category
after the meal. The rollups are computed last, with the check-ins as their diner count. Sequence numbers
start at 1 per station; live gateways number their events from the wall clock (far above), so the two never
collide.

Drawing the rows and converting them for the database take about as long as storing them, so a forked child
process draws each canteen while this one stores the canteen before.
"""
import gc
import multiprocessing
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

from canteen.db import table_of
from canteen.demo import bookings as demo_bookings
from canteen.demo.bookings import Load, ServedMeal
from canteen.org.models import Canteen, ServingMode, Station, StationKind
from canteen.reservation.models import Booking
from canteen.weighing import service as weighing_service
from canteen.weighing.models import KitchenCategory, KitchenSource, KitchenWaste, PlateWeighing
from hardware_sim import traffic

# Median leftover of the plates that are not clean, by serving mode: buffets and banquets waste most.
MEDIAN_LEFTOVER_G = {ServingMode.buffet: 24.0, ServingMode.portioned: 15.0, ServingMode.table: 34.0,
                     ServingMode.set_meal: 18.0}
# Grams per diner of each kitchen category, before day-to-day noise.
KITCHEN_PER_DINER_G = {KitchenCategory.kitchen_scraps: 14.0, KitchenCategory.trimmings: 9.0,
                       KitchenCategory.unserved: 16.0}
# The anti-waste campaign works: leftovers shrink by this share from the first demo day to today.
IMPROVEMENT = 0.2
# A diner returns the plate this many minutes after coming in.
EATING_MINUTES = (12, 25)
SEED = 2026
SQLITE_CACHE_KIB = 256 * 1024
PLATE_COLUMNS = ("station_id", "seq", "canteen_id", "measured_at", "service_date", "meal", "grams", "received_at")
KITCHEN_COLUMNS = ("canteen_id", "service_date", "meal", "category", "source", "station_id", "seq", "measured_at",
                   "recorded_at", "note", "grams")
CHILD_CHECK_S = 1.0


@dataclass
class _Job:
    """One canteen, with everything its rows are drawn from."""

    bookings: demo_bookings.Plan
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


def seed_history(session: Session, canteen_ids: list[int], now: datetime, days: int, seed: int = SEED) -> int:
    """Bookings and weighings for the given canteens over the last `days` days and today until `now`, and
    bookings for the week ahead; returns the plates."""
    jobs = {canteen_id: _prepare(session, canteen_id, now, days, seed)
            for canteen_id in canteen_ids}
    first_booking_id = (session.exec(select(func.max(Booking.id))).one() or 0) + 1
    total = 0
    loaded: set[str] = set()
    with _sqlite_cache(session):
        for result in _drawn_elsewhere(list(jobs.values()), session.connection().dialect, first_booking_id, now):
            for load in result.loads:
                load.insert(session)
                loaded.add(table_of(load.model).name)
            job = jobs[result.canteen_id]
            if result.last_plate_at is not None:
                station = session.get(Station, job.plate_station)
                assert station is not None  # plates came from the canteen's plate station
                station.last_seen_at = result.last_plate_at
                session.add(station)
            weighing_service.recompute_rollups(session, result.canteen_id, job.days, now)
            total += result.plates
    demo_bookings.continue_ids(session, Booking)
    session.flush()
    if session.connection().dialect.name == "postgresql":
        # Tables filled in one transaction have no planner statistics until autovacuum gets to them; without
        # them PostgreSQL may join bookings and their choices by nested scans (minutes instead of milliseconds).
        session.execute(text(f"ANALYZE {', '.join(sorted(loaded))}"))
    return total


def _prepare(session: Session, canteen_id: int, now: datetime, days: int, seed: int) -> _Job:
    canteen = session.get(Canteen, canteen_id)
    assert canteen is not None  # seeded just before
    stations = list(session.exec(select(Station).where(Station.canteen_id == canteen.id).order_by(col(Station.id))))
    today = now.astimezone(ZoneInfo(canteen.timezone)).date()
    return _Job(demo_bookings.prepare(session, canteen, now, days, seed), canteen.serving_mode,
                [today - timedelta(days=age) for age in range(days, -1, -1)],
                next((station.id for station in stations if station.kind is StationKind.plate_return), None),
                next((station.id for station in stations if station.kind is StationKind.kitchen), None),
                random.Random(f"{seed}-{canteen.name}"))


def _drawn_elsewhere(jobs: list[_Job], dialect: Dialect, first_booking_id: int, now: datetime) -> Iterator[_Result]:
    """The jobs' results in order, drawn by a forked child process while the caller stores the previous one."""
    context = multiprocessing.get_context("fork")
    results = context.Queue(maxsize=2)
    child = context.Process(target=_draw_all, args=(jobs, dialect, first_booking_id, now, results), daemon=True)
    child.start()
    try:
        for _ in jobs:
            yield _next(results, child)
    finally:
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


def _draw_all(jobs: list[_Job], dialect: Dialect, first_booking_id: int, now: datetime,
              results: multiprocessing.Queue) -> None:
    # The child shares the parent's database connections: collecting garbage could close one under it.
    gc.disable()
    try:
        for job in jobs:
            result = _draw(job, dialect, first_booking_id, now)
            first_booking_id += result.bookings
            results.put(result)
    except BaseException:
        results.put(traceback.format_exc())


def _draw(job: _Job, dialect: Dialect, first_booking_id: int, now: datetime) -> _Result:
    drawn = demo_bookings.draw(job.bookings, first_booking_id)
    plates, kitchen = _weighings(job, drawn.served, now)
    loads = [*drawn.loads(), Load(PlateWeighing, PLATE_COLUMNS, plates), Load(KitchenWaste, KITCHEN_COLUMNS, kitchen)]
    return _Result(job.bookings.canteen_id, [load.stored(dialect) for load in loads], len(drawn.bookings),
                   len(plates), max((plate[3] for plate in plates), default=None))


def _weighings(job: _Job, served: list[ServedMeal], now: datetime) -> tuple[list[tuple], list[tuple]]:
    """A plate per diner who came in, returned some minutes later, and each meal's kitchen waste."""
    plates: list[tuple] = []
    kitchen: list[tuple] = []
    canteen_id, rng, today = job.bookings.canteen_id, job.rng, job.days[-1]
    for meal in served if job.plate_station is not None else []:
        trend = 1 + IMPROVEMENT * (today - meal.day).days / max(len(job.days) - 1, 1)
        leftovers = traffic.Leftovers(median_g=MEDIAN_LEFTOVER_G[job.serving_mode] * trend)
        for arrival in meal.arrivals:
            measured_at = arrival + timedelta(minutes=rng.uniform(*EATING_MINUTES))
            if measured_at <= now:
                plates.append((job.plate_station, len(plates) + 1, canteen_id, measured_at, meal.day, meal.meal,
                               leftovers.draw(rng), measured_at))
        if job.kitchen_station is not None and meal.ends + timedelta(hours=1) <= now:
            recorded_at = meal.ends + timedelta(minutes=30)
            kitchen += [(canteen_id, meal.day, meal.meal, category, KitchenSource.station, job.kitchen_station,
                         len(kitchen) + index + 1, recorded_at, recorded_at, "",
                         round(len(meal.arrivals) * per_diner * rng.uniform(0.7, 1.3) * trend))
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
