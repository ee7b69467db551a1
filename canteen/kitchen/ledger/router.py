from typing import Annotated

from fastapi import APIRouter, Query

from canteen.bounds import Day, Id
from canteen.kitchen.ledger import service
from canteen.kitchen.ledger.models import HandoverEntry, WasteHandover
from canteen.web.deps import ApiScope, DbSession, Now

router = APIRouter(prefix="/api/v1", tags=["kitchen ledger"])


@router.post("/canteens/{canteen_id}/waste-handovers", status_code=201)
def add_handover(canteen_id: Id, entry: HandoverEntry, scope: ApiScope, session: DbSession,
                 now: Now) -> WasteHandover:
    """Kitchen waste handed to the licensed collector, with its manifest (联单) number, unique in the canteen."""
    handover = service.record_handover(session, scope, canteen_id, entry, now)
    session.commit()
    session.refresh(handover)  # the commit expired it, and a table model is dumped from what it holds
    return handover


@router.get("/canteens/{canteen_id}/waste-handovers")
def list_handovers(canteen_id: Id, scope: ApiScope, session: DbSession,
                   start: Annotated[Day, Query(alias="from")],
                   end: Annotated[Day, Query(alias="to")]) -> list[WasteHandover]:
    return service.handovers(session, scope, canteen_id, start, end)
