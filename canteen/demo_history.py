"""Demo history: bookings and check-ins from the simulator's booking model, and the weighings that match them.

For each canteen, `demo_bookings` seeds every meal of the last days, today and the week ahead; every diner
checked in by `now` then returns a plate at its plate-return station some minutes after coming in, with
leftovers from the simulator's traffic model, and the kitchen station weighs the kitchen waste by category
after the meal. The rollups are computed last, with the check-ins as their diner count. Sequence numbers
start at 1 per station; live gateways number their events from the wall clock (far above), so the two never
collide.
"""
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from canteen.demo_bookings import ServedMeal, bulk_insert, seed_bookings
from canteen.org.models import Canteen, ServingMode, Station, StationKind
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


@dataclass(frozen=True)
class _Stations:
    plate_return: Station
    kitchen: Station | None


def seed_history(session: Session, canteen_ids: list[int], now: datetime, days: int, seed: int = SEED) -> int:
    """Bookings and weighings for the given canteens over the last `days` days and today until `now`, and
    bookings for the week ahead; returns the plates."""
    total = 0
    with _sqlite_cache(session):
        for canteen_id in canteen_ids:
            canteen = session.get(Canteen, canteen_id)
            served = seed_bookings(session, canteen, now, days, seed)
            stations = _stations(session, canteen_id)
            if stations is not None:
                total += _seed_weighings(session, canteen, stations, served, now, days,
                                         random.Random(f"{seed}-{canteen.name}"))
    return total


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


def _stations(session: Session, canteen_id: int) -> _Stations | None:
    rows = list(session.exec(select(Station).where(Station.canteen_id == canteen_id).order_by(Station.id)))
    plate = next((row for row in rows if row.kind is StationKind.plate_return), None)
    kitchen = next((row for row in rows if row.kind is StationKind.kitchen), None)
    return _Stations(plate, kitchen) if plate else None


def _seed_weighings(session: Session, canteen: Canteen, stations: _Stations, served: list[ServedMeal],
                    now: datetime, days: int, rng: random.Random) -> int:
    today = now.astimezone(ZoneInfo(canteen.timezone)).date()
    plates: list[tuple] = []
    kitchen: list[tuple] = []
    canteen_id, station_id = canteen.id, stations.plate_return.id
    for meal in served:
        trend = 1 + IMPROVEMENT * (today - meal.day).days / max(days, 1)
        leftovers = traffic.Leftovers(median_g=MEDIAN_LEFTOVER_G[canteen.serving_mode] * trend)
        for arrival in meal.arrivals:
            measured_at = arrival + timedelta(minutes=rng.uniform(*EATING_MINUTES))
            if measured_at <= now:
                plates.append((station_id, len(plates) + 1, canteen_id, measured_at, meal.day, meal.meal,
                               leftovers.draw(rng), measured_at))
        if stations.kitchen and meal.ends + timedelta(hours=1) <= now:
            recorded_at = meal.ends + timedelta(minutes=30)
            kitchen += [(canteen.id, meal.day, meal.meal, category, KitchenSource.station, stations.kitchen.id,
                         len(kitchen) + index + 1, recorded_at, recorded_at, "",
                         round(len(meal.arrivals) * per_diner * rng.uniform(0.7, 1.3) * trend))
                        for index, (category, per_diner) in enumerate(KITCHEN_PER_DINER_G.items())]
    bulk_insert(session, PlateWeighing, PLATE_COLUMNS, plates)
    bulk_insert(session, KitchenWaste, KITCHEN_COLUMNS, kitchen)
    if plates:
        stations.plate_return.last_seen_at = max(plate[3] for plate in plates)
        session.add(stations.plate_return)
    weighing_service.recompute_rollups(session, canteen.id, [today - timedelta(days=age) for age in range(days + 1)],
                                       now)
    session.flush()
    return len(plates)
