from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict

from canteen.bounds import Id
from canteen.org import service
from canteen.org.deps import api_station
from canteen.org.models import (
    BureauCreate,
    BureauRead,
    CanteenCreate,
    CanteenRead,
    CanteenSettingRead,
    CanteenUpdate,
    Station,
    StationCreate,
    StationRead,
    StationWithKey,
)
from canteen.web.deps import ApiScope, DbSession, Now

router = APIRouter(prefix="/api/v1", tags=["organisations"])
CallingStation = Annotated[Station, Depends(api_station)]


class StationActivation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    active: bool


@router.get("/bureaus", response_model=list[BureauRead])
def list_bureaus(scope: ApiScope, session: DbSession) -> list:
    return service.list_bureaus(session, scope)


@router.post("/bureaus", response_model=BureauRead, status_code=201)
def create_bureau(body: BureauCreate, scope: ApiScope, session: DbSession):
    bureau = service.create_bureau(session, scope, body)
    session.commit()
    return bureau


@router.get("/bureaus/{bureau_id}", response_model=BureauRead)
def get_bureau(bureau_id: Id, scope: ApiScope, session: DbSession):
    return service.get_bureau(session, scope, bureau_id)


@router.get("/canteens", response_model=list[CanteenRead])
def list_canteens(scope: ApiScope, session: DbSession, bureau_id: Id | None = None) -> list[CanteenRead]:
    return [service.canteen_read(session, c) for c in service.list_canteens(session, scope, bureau_id)]


@router.post("/canteens", response_model=CanteenRead, status_code=201)
def create_canteen(body: CanteenCreate, request: Request, scope: ApiScope, session: DbSession) -> CanteenRead:
    canteen = service.create_canteen(session, scope, body, request.app.state.settings.timezone)
    session.commit()
    return service.canteen_read(session, canteen)


@router.get("/canteens/{canteen_id}", response_model=CanteenRead)
def get_canteen(canteen_id: Id, scope: ApiScope, session: DbSession) -> CanteenRead:
    return service.canteen_read(session, service.get_canteen(session, scope, canteen_id))


@router.patch("/canteens/{canteen_id}", response_model=CanteenRead)
def update_canteen(canteen_id: Id, body: CanteenUpdate, scope: ApiScope, session: DbSession,
                   now: Now) -> CanteenRead:
    """Change a canteen's setup. Operators change its seats, plate-waste target and meal times; a new
    clean-plate threshold (administrators only) applies from `applies_from` (default: tomorrow at the canteen),
    never to a period already scored."""
    canteen = service.update_canteen(session, scope, canteen_id, body, now)
    session.commit()
    return service.canteen_read(session, canteen)


@router.get("/canteens/{canteen_id}/setting-history", response_model=list[CanteenSettingRead])
def setting_history(canteen_id: Id, scope: ApiScope, session: DbSession) -> list:
    """The dated values of the settings the canteen is scored by (the clean-plate threshold), newest first."""
    return service.scored_settings(session, scope, canteen_id)


@router.get("/canteens/{canteen_id}/stations", response_model=list[StationRead])
def list_canteen_stations(canteen_id: Id, scope: ApiScope, session: DbSession) -> list:
    return service.list_stations(session, scope, canteen_id)


@router.get("/stations", response_model=list[StationRead])
def list_stations(scope: ApiScope, session: DbSession) -> list:
    return service.list_stations(session, scope)


@router.post("/stations", response_model=StationWithKey, status_code=201)
def create_station(body: StationCreate, scope: ApiScope, session: DbSession) -> StationWithKey:
    station, key = service.create_station(session, scope, body)
    session.commit()
    return StationWithKey(**StationRead.model_validate(station).model_dump(), key=key)


@router.get("/stations/me", response_model=StationRead)
def calling_station(station: CallingStation):
    """The configuration of the station whose key signed the request (for its gateway)."""
    return station


@router.get("/stations/{station_id}", response_model=StationRead)
def get_station(station_id: Id, scope: ApiScope, session: DbSession):
    return service.get_station(session, scope, station_id)


@router.patch("/stations/{station_id}", response_model=StationRead)
def set_station_active(station_id: Id, body: StationActivation, scope: ApiScope, session: DbSession):
    station = service.set_station_active(session, scope, station_id, body.active)
    session.commit()
    return station


@router.post("/stations/{station_id}/rotate-key", response_model=StationWithKey)
def rotate_station_key(station_id: Id, scope: ApiScope, session: DbSession) -> StationWithKey:
    station, key = service.rotate_station_key(session, scope, station_id)
    session.commit()
    return StationWithKey(**StationRead.model_validate(station).model_dump(), key=key)
