import threading
from collections.abc import Sequence
from contextlib import nullcontext
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.engine import Engine
from sqlmodel import Session

from canteen import metrics
from canteen.bounds import Day, Id
from canteen.org.deps import StationKey, keyed_station
from canteen.org.models import Meal, Station
from canteen.web.deps import ApiScope, DbSession, Now
from canteen.weighing import service
from canteen.weighing.models import BatchResult, DinerCountEntry, KitchenEntry, WeighingBatch

router = APIRouter(prefix="/api/v1", tags=["weighing"])


@router.post("/weighings", response_model=BatchResult)
async def post_weighings(batch: WeighingBatch, key: StationKey, now: Now, request: Request) -> Response:
    """A station's batch (up to 1,000 items); idempotent on (station, seq), with one result per item."""
    # One trip to the thread pool for the whole request rather than one per sync dependency: at a lunch peak
    # the batches are small and many.
    station, result = await run_in_threadpool(_ingest, request.app.state.engine, key, batch.items, now,
                                              getattr(request.app.state, "ingest_hooks", ()))
    metrics.observe_batch(station, result, request.headers.get(metrics.GATEWAY_STATUS_HEADER), now)
    # Serialised once here: returned as a model, it would be validated against response_model again first.
    return Response(result.model_dump_json(), media_type="application/json")


# SQLite has one writer at a time, and a thread that finds the database locked sleeps in SQLite's busy handler
# (1, 2, 5, 10 ms...) instead of waking when the lock is freed: this process's batches wait for each other here.
_SQLITE_WRITER = threading.Lock()


def _ingest(engine: Engine, key: str, items: list[object], now: datetime,
            hooks: Sequence[service.IngestHook]) -> tuple[Station, BatchResult]:
    # Not expired at the commit: the caller reads the station's id and kind after the session is gone.
    writer = _SQLITE_WRITER if engine.dialect.name == "sqlite" else nullcontext()
    with writer, Session(engine, expire_on_commit=False) as session:
        station, _canteen = keyed_station(session, key)  # an unknown or revoked key: 401, and nothing stored
        result = service.ingest(session, station, items, now, hooks)
        session.commit()
        return station, result


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
    stored = record.model_dump(mode="json")  # before the commit expires it
    session.commit()
    return stored


@router.post("/canteens/{canteen_id}/diner-counts", status_code=201)
def add_diner_count(canteen_id: Id, entry: DinerCountEntry, scope: ApiScope, session: DbSession,
                    now: Now) -> dict:
    count = service.record_diner_count(session, scope, canteen_id, entry, now)
    stored = count.model_dump(mode="json")  # before the commit expires it
    session.commit()
    return stored
