from typing import Annotated

from fastapi import APIRouter, Depends, Query

from canteen.bounds import Day, Id
from canteen.org.deps import api_station
from canteen.org.models import Meal, Station
from canteen.web.deps import ApiScope, DbSession, Now
from canteen.weighing import service
from canteen.weighing.models import BatchResult, DinerCountEntry, KitchenEntry, WeighingBatch

router = APIRouter(prefix="/api/v1", tags=["weighing"])
CallingStation = Annotated[Station, Depends(api_station)]


@router.post("/weighings", response_model=BatchResult)
def post_weighings(batch: WeighingBatch, station: CallingStation, session: DbSession, now: Now) -> BatchResult:
    """A station's batch (up to 1,000 items); idempotent on (station, seq), with one result per item."""
    result = service.ingest(session, station, batch.items, now)
    session.commit()
    return result


@router.get("/canteens/{canteen_id}/daily")
def daily(canteen_id: Id, scope: ApiScope, session: DbSession, now: Now,
          start: Annotated[Day, Query(alias="from")], end: Annotated[Day, Query(alias="to")],
          meal: Meal | None = None) -> list[dict]:
    """Per-day sums, per-diner waste, clean-plate rate, kitchen waste, coverage, with _wow and _yoy changes."""
    frame = service.daily_series(session, scope, canteen_id, start, end, now, meal)
    return service.series_records(frame)


@router.post("/canteens/{canteen_id}/kitchen-waste", status_code=201)
def add_kitchen_waste(canteen_id: Id, entry: KitchenEntry, scope: ApiScope, session: DbSession, now: Now,
                      corrects: Id | None = None) -> dict:
    record = service.record_kitchen_waste(session, scope, canteen_id, entry, now, corrects)
    session.commit()
    return record.model_dump(mode="json")


@router.post("/canteens/{canteen_id}/diner-counts", status_code=201)
def add_diner_count(canteen_id: Id, entry: DinerCountEntry, scope: ApiScope, session: DbSession,
                    now: Now) -> dict:
    count = service.record_diner_count(session, scope, canteen_id, entry, now)
    session.commit()
    return count.model_dump(mode="json")
