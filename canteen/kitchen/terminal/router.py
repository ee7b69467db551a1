"""The terminal's API: the kitchen scale's gateway posts live readings, and the terminal (or anything holding the
station's key, or an operator's token) reads the waiting weighings and classifies them."""
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from sqlmodel import Session

from canteen.access import Scope
from canteen.bounds import Id
from canteen.kitchen.terminal import service
from canteen.kitchen.terminal.service import Classification, LiveReading, ReasonsUpdate, TerminalActor
from canteen.org.deps import api_station, keyed_station
from canteen.org.models import Station
from canteen.org.service import STATION_KEY_PREFIX
from canteen.web.deps import ApiScope, DbSession, Now, api_scope, bearer
from canteen.web.templating import api_language
from canteen.weighing.models import KitchenWaste

router = APIRouter(prefix="/api/v1", tags=["kitchen"])

KeyedStation = Annotated[Station, Depends(api_station)]


def _caller(request: Request, session: DbSession, now: Now) -> Station | Scope:
    """A station by its key, or a user by an API token."""
    if bearer(request).startswith(STATION_KEY_PREFIX):
        return keyed_station(session, bearer(request))[0]
    return api_scope(request, session, now)


Caller = Annotated[Station | Scope, Depends(_caller)]


def weighing_json(record: KitchenWaste) -> dict[str, Any]:
    return {"id": record.id, "grams": record.grams, "measured_at": record.measured_at,
            "service_date": record.service_date, "meal": record.meal, "category": record.category,
            "reason": record.reason, "dish_id": record.dish_id, "classified_at": record.classified_at}


def reasons_json(reasons: list[str], language: str) -> list[dict[str, str]]:
    return [{"code": reason, "label": service.reason_label(reason, language)} for reason in reasons]


def state_json(state: service.TerminalState, language: str) -> dict[str, Any]:
    return {
        "station": {"id": state.station.id, "name": state.station.name, "canteen_id": state.canteen.id},
        "pending": [weighing_json(record) for record in state.pending],
        "recent": [weighing_json(record) for record in state.recent],
        "stages": [stage.value for stage in service.CLASSIFIED_CATEGORIES],
        "reasons": reasons_json(state.reasons, language),
        "dishes": [{"id": dish.id, "name": dish.name} for dishes in state.dishes.values() for dish in dishes],
        "menus": [{"service_date": day, "meal": meal, "dish_ids": [dish.id for dish in dishes]}
                  for (day, meal), dishes in state.dishes.items()],
    }


@router.post("/stations/me/reading", status_code=204)
def post_reading(reading: LiveReading, station: KeyedStation, session: DbSession, now: Now) -> Response:
    """A kitchen scale's current weight, about once a second while it moves; the terminal shows the latest."""
    service.record_reading(session, station, reading, now)
    session.commit()
    return Response(status_code=204)


@router.get("/stations/me/terminal")
def station_terminal(station: KeyedStation, session: DbSession, now: Now, request: Request) -> dict[str, Any]:
    """The station's weighings waiting to be classified (the last 10 minutes), today's others, and the
    stages, the canteen's reasons and the menus to classify them with."""
    state = service.terminal_state(session, service.require_kitchen(station), now)
    return state_json(state, api_language(request))


@router.get("/stations/{station_id}/terminal")
def operator_terminal(station_id: Id, scope: ApiScope, session: DbSession, now: Now,
                      request: Request) -> dict[str, Any]:
    """The same for an operator of the station's canteen."""
    state = service.terminal_state(session, service.kitchen_station(session, scope, station_id), now)
    return state_json(state, api_language(request))


@router.post("/kitchen-weighings/{weighing_id}/classification")
def classify(weighing_id: Id, body: Classification, caller: Caller, session: DbSession, now: Now) -> dict[str, Any]:
    """Say what a waiting weighing is: its stage, reason and, for unserved food, the dish of its meal."""
    record = service.classify(session, _actor(session, caller, weighing_id), weighing_id, body, now)
    session.commit()
    return weighing_json(record)


def _actor(session: Session, caller: Station | Scope, weighing_id: int) -> TerminalActor:
    if isinstance(caller, Station):
        return TerminalActor(caller)
    return service.operator_actor(session, caller, weighing_id)


@router.get("/canteens/{canteen_id}/kitchen-reasons")
def get_reasons(canteen_id: Id, scope: ApiScope, session: DbSession, request: Request) -> dict[str, Any]:
    return {"reasons": reasons_json(service.canteen_reasons(session, scope, canteen_id), api_language(request))}


@router.put("/canteens/{canteen_id}/kitchen-reasons")
def put_reasons(canteen_id: Id, body: ReasonsUpdate, scope: ApiScope, session: DbSession, now: Now,
                request: Request) -> dict[str, Any]:
    """Replace the canteen's loss reasons (what a weighing already has stays as it was)."""
    reasons = service.set_reasons(session, scope, canteen_id, body, now)
    session.commit()
    return {"reasons": reasons_json(reasons, api_language(request))}

