"""Weighing history for the demo canteens, drawn from the simulator's diner-traffic model.

Each canteen gets every meal of the last days up to `now`: one plate weighing per diner at its plate-return
station, and kitchen waste by category from its kitchen station, then the rollups are computed. Sequence
numbers start at 1 per station; live gateways number their events from the wall clock (far above), so the
two never collide.
"""
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert
from sqlmodel import Session, select

from canteen.org import service as org_service
from canteen.org.models import Canteen, Meal, ServingMode, Station, StationKind
from canteen.weighing import service as weighing_service
from canteen.weighing.models import KitchenCategory, KitchenSource, KitchenWaste, PlateWeighing
from hardware_sim import traffic

# Share of the seats taken at each meal on a working day.
MEAL_TURNOUT = {Meal.breakfast: 0.35, Meal.lunch: 0.85, Meal.dinner: 0.4}
# Median leftover of the plates that are not clean, by serving mode: buffets and banquets waste most.
MEDIAN_LEFTOVER_G = {ServingMode.buffet: 24.0, ServingMode.portioned: 15.0, ServingMode.table: 34.0,
                     ServingMode.set_meal: 18.0}
# Grams per diner of each kitchen category, before day-to-day noise.
KITCHEN_PER_DINER_G = {KitchenCategory.kitchen_scraps: 14.0, KitchenCategory.trimmings: 9.0,
                       KitchenCategory.unserved: 16.0}
# The anti-waste campaign works: leftovers shrink by this share from the first demo day to today.
IMPROVEMENT = 0.2
INSERT_CHUNK = 2000


@dataclass(frozen=True)
class _Stations:
    plate_return: Station
    kitchen: Station | None


def seed_history(session: Session, canteen_ids: list[int], now: datetime, days: int, seed: int = 2026) -> int:
    """Weighings for the given canteens over the last `days` days and today until `now`; returns the plates."""
    total = 0
    for canteen_id in canteen_ids:
        canteen = session.get(Canteen, canteen_id)
        stations = _stations(session, canteen_id)
        if stations is None:
            continue
        total += _seed_canteen(session, canteen, stations, now, days, random.Random(f"{seed}-{canteen_id}"))
    return total


def _stations(session: Session, canteen_id: int) -> _Stations | None:
    rows = list(session.exec(select(Station).where(Station.canteen_id == canteen_id).order_by(Station.id)))
    plate = next((row for row in rows if row.kind is StationKind.plate_return), None)
    kitchen = next((row for row in rows if row.kind is StationKind.kitchen), None)
    return _Stations(plate, kitchen) if plate else None


def _open_share(canteen: Canteen, day: date) -> float:
    """Hospitals serve every day; offices and schools see few diners at weekends."""
    if day.weekday() < 5 or "医院" in canteen.name:
        return 1.0
    return 0.15


def _seed_canteen(session: Session, canteen: Canteen, stations: _Stations, now: datetime, days: int,
                  rng: random.Random) -> int:
    zone = ZoneInfo(canteen.timezone)
    today = now.astimezone(zone).date()
    windows = org_service.meal_windows(session, canteen.id)
    plates: list[dict] = []
    kitchen: list[dict] = []
    seeded_days = [today - timedelta(days=age) for age in range(days, -1, -1)]
    for day in seeded_days:
        age_share = (today - day).days / max(days, 1)
        leftovers = traffic.Leftovers(median_g=MEDIAN_LEFTOVER_G[canteen.serving_mode] * (1 + IMPROVEMENT * age_share))
        for window in windows:
            start = datetime.combine(day, window.starts, zone)
            end = datetime.combine(day, window.ends, zone)
            if start >= now:
                continue
            headcount = (canteen.seats or 200) * MEAL_TURNOUT[window.meal] * _open_share(canteen, day)
            diners = traffic.meal(start, end, headcount * rng.uniform(0.85, 1.1), rng.randrange(2**31),
                                  traffic.Traffic(leftovers=leftovers))
            for diner in diners:
                # The plate comes back some minutes after the diner arrives.
                measured_at = diner.arrival + timedelta(minutes=rng.uniform(12, 25))
                if measured_at > now:
                    continue
                plates.append({"station_id": stations.plate_return.id, "seq": len(plates) + 1,
                               "canteen_id": canteen.id, "measured_at": measured_at, "service_date": day,
                               "meal": window.meal, "grams": diner.leftover_g, "received_at": measured_at})
            if stations.kitchen and end + timedelta(hours=1) <= now and diners:
                for category, per_diner in KITCHEN_PER_DINER_G.items():
                    grams = round(len(diners) * per_diner * rng.uniform(0.7, 1.3) * (1 + IMPROVEMENT * age_share))
                    recorded_at = end + timedelta(minutes=30)
                    kitchen.append({"canteen_id": canteen.id, "service_date": day, "meal": window.meal,
                                    "category": category, "grams": grams, "source": KitchenSource.station,
                                    "station_id": stations.kitchen.id, "seq": len(kitchen) + 1,
                                    "measured_at": recorded_at, "recorded_at": recorded_at, "note": ""})
    for chunk in range(0, len(plates), INSERT_CHUNK):
        session.execute(insert(PlateWeighing), plates[chunk:chunk + INSERT_CHUNK])
    if kitchen:
        session.execute(insert(KitchenWaste), kitchen)
    if plates:
        stations.plate_return.last_seen_at = plates[-1]["measured_at"]
        session.add(stations.plate_return)
    weighing_service.recompute_rollups(session, canteen.id, seeded_days, now)
    session.flush()
    return len(plates)
