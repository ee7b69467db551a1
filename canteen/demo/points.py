"""Demo clean-plate points (光盘打卡): the province's rule from the first day its diners scanned their booking's code
at the plate-return station (`bookings.SCANNED_DAYS` ago), and the plates carrying a code attributed as ingest
attributes them, a batch at a time, which also counts every diner-day's points."""
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, select

from canteen.access import SYSTEM
from canteen.db import table_of
from canteen.demo.bookings import SCANNED_DAYS
from canteen.org.models import Canteen, Station, StationKind
from canteen.points import service as points_service
from canteen.points.models import PointsRuleCreate
from canteen.weighing.models import PlateWeighing
from canteen.weighing.service import NamedPlate

BATCH = 1000  # plates a batch, as many as a gateway's upload holds at most


def seed_points(session: Session, canteen_ids: list[int], province_id: int, now: datetime, zone: str) -> int:
    """The rule, and the diners' plates with a code attributed; returns the plates attributed."""
    first = now.astimezone(ZoneInfo(zone)).date() - timedelta(days=SCANNED_DAYS)
    rule = PointsRuleCreate(applies_from=first, clean_plate_points=10, daily_cap=20, streak_days=5, streak_bonus=10)
    # Made that morning, as if the bureau had set it up then.
    points_service.create_rule(session, SYSTEM, province_id, rule, first,
                               datetime.combine(first, time(8), ZoneInfo(zone)))
    total = 0
    for canteen_id in canteen_ids:
        canteen = session.get(Canteen, canteen_id)
        station = session.exec(select(Station).where(Station.canteen_id == canteen_id,
                                                     Station.kind == StationKind.plate_return)).first()
        if canteen is None or station is None:
            continue
        weighed = table_of(PlateWeighing).c
        plates = [NamedPlate(**row._mapping) for row in session.execute(
            sa.select(weighed.seq, weighed.measured_at, weighed.service_date, weighed.meal, weighed.grams,
                      weighed.diner_ref)
            .where(weighed.station_id == station.id, weighed.service_date >= first, weighed.diner_ref.is_not(None))
            .order_by(weighed.seq))]
        for start in range(0, len(plates), BATCH):
            points_service.attribute_plates(session, station, canteen, plates[start:start + BATCH], now)
        total += len(plates)
    return total
