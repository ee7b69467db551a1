"""The kitchen terminal's pages: the tablet beside the kitchen scale, its sign-in with the station's key, its
live feed (Server-Sent Events), and the canteen's loss-reasons page.

The tablet is signed in either as the station (the installer enters the station's key once; the key is kept in
a cookie that is only sent to this station's terminal pages) or as an operator of the canteen."""
import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from time import monotonic
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Session

from canteen.access import Scope, may_operate
from canteen.bounds import Id
from canteen.errors import CanteenError, Forbidden, Unauthorized
from canteen.i18n import N_
from canteen.kitchen.terminal import service
from canteen.kitchen.terminal.service import Classification, ReasonsUpdate, TerminalActor
from canteen.org import service as org_service
from canteen.org.deps import keyed_station
from canteen.org.models import Station
from canteen.web.deps import CsrfChecked, DbSession, Now, PageScope, page_scope
from canteen.web.forms import render_form, validate_form
from canteen.web.templating import request_language
from canteen.weighing.costs.models import WasteStage
from canteen.weighing.costs.views import STAGE_LABELS
from canteen.weighing.models import KitchenCategory

router = APIRouter(include_in_schema=False)

TERMINAL_COOKIE = "canteen_terminal"
FEED_POLL_S = 0.5  # how often the live feed looks at the scale's reading (the gateway sends about once a second)
FEED_LIFETIME_S = 120.0  # a feed then ends; the browser's EventSource reconnects by itself
FEED_RETRY_MS = 1000
STAGE_HINTS = {
    KitchenCategory.storage: N_("spoiled or expired in store"),
    KitchenCategory.trimmings: N_("peels, bones, offcuts"),
    KitchenCategory.unserved: N_("cooked and never served"),
    KitchenCategory.kitchen_scraps: N_("scraped from returned plates"),
    KitchenCategory.other: N_("anything else"),
}


def _terminal_path(station_id: int) -> str:
    return f"/stations/{station_id}/terminal"


def terminal_actor(station_id: Id, request: Request, session: DbSession, now: Now) -> TerminalActor:
    """The station by the terminal's cookie, else a signed-in operator of its canteen (else off to sign in)."""
    key = request.cookies.get(TERMINAL_COOKIE)
    if key:
        try:
            station = keyed_station(session, key)[0]
        except Unauthorized:
            station = None
        if station is not None and station.id == station_id:
            return TerminalActor(service.require_kitchen(station))
    scope = page_scope(request, session, now)
    return TerminalActor(service.kitchen_station(session, scope, station_id), scope.user_id or None)


Actor = Annotated[TerminalActor, Depends(terminal_actor)]


def _stage_label(category: KitchenCategory) -> str:
    return STAGE_LABELS[WasteStage(category.value)]


def _page(request: Request, session: Session, actor: TerminalActor, now: datetime, selected: int | None = None,
          error: CanteenError | None = None) -> Response:
    state = service.terminal_state(session, actor.station, now)
    chosen = next((record for record in state.pending if record.id == selected), None)
    if chosen is None and state.pending:
        chosen = state.pending[0]
    return render_form(request, "kitchen/terminal.html", {
        "state": state, "chosen": chosen, "signed_in_as_station": actor.user_id is None,
        "dishes": state.dishes.get((chosen.service_date, chosen.meal), []) if chosen else [],
        "stages": service.CLASSIFIED_CATEGORIES, "stage_label": _stage_label, "stage_hints": STAGE_HINTS,
        "reason_label": lambda reason: service.reason_label(reason, request_language(request)),
        "zone": ZoneInfo(state.canteen.timezone), "path": _terminal_path(actor.station_id),
        "reading": service.live_reading(session, actor.station_id, now),
        "classify_minutes": int(service.CLASSIFY_WITHIN.total_seconds() // 60),
    }, error)


@router.get("/stations/{station_id}/terminal")
def terminal_page(actor: Actor, request: Request, session: DbSession, now: Now,
                  weighing: Id | None = None) -> Response:
    return _page(request, session, actor, now, weighing)


class ClassificationForm(BaseModel):
    category: str = ""
    reason: str = ""
    dish_id: str = ""


@router.post("/stations/{station_id}/terminal/weighings/{weighing_id}", dependencies=[CsrfChecked])
def classify(weighing_id: Id, actor: Actor, request: Request, session: DbSession, now: Now,
             form: Annotated[ClassificationForm, Form()]) -> Response:
    try:
        classification = validate_form(Classification, category=form.category or None,
                                       reason=form.reason or None, dish_id=form.dish_id or None)
        service.classify(session, actor, weighing_id, classification, now)
    except CanteenError as error:
        session.rollback()
        return _page(request, session, actor, now, weighing_id, error)
    session.commit()
    return RedirectResponse(_terminal_path(actor.station_id), status_code=303)


@router.get("/stations/{station_id}/terminal/feed")
async def feed(actor: Actor, request: Request) -> StreamingResponse:
    """Server-Sent Events: `reading` with the scale's weight whenever it changes, `weighings` whenever a weighing
    arrives or is classified (the page then reloads its list)."""
    events = _events(request.app.state.engine, request.app.state.clock, actor.station, request)
    return StreamingResponse(events, media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


async def _events(engine: Engine, clock: Callable[[], datetime], station: Station,
                  request: Request) -> AsyncIterator[str]:
    yield f"retry: {FEED_RETRY_MS}\n\n"
    last_reading: tuple[object, ...] | None = None
    last_version: str | None = None
    ends = monotonic() + FEED_LIFETIME_S
    while monotonic() < ends and not await request.is_disconnected():
        pulse = await run_in_threadpool(_pulse, engine, station, clock())
        reading = (pulse.grams, pulse.stable, pulse.sending)
        if reading != last_reading:
            last_reading = reading
            body = {"grams": pulse.grams, "stable": pulse.stable, "sending": pulse.sending}
            yield f"event: reading\ndata: {json.dumps(body)}\n\n"
        if pulse.version != last_version:
            if last_version is not None:
                yield f"event: weighings\ndata: {json.dumps(pulse.version)}\n\n"
            last_version = pulse.version
        await asyncio.sleep(FEED_POLL_S)


def _pulse(engine: Engine, station: Station, now: datetime) -> service.Pulse:
    with Session(engine) as session:
        return service.terminal_pulse(session, station, now)


class SignInForm(BaseModel):
    key: str = ""


def _sign_in_page(request: Request, station_id: int, error: CanteenError | None = None) -> Response:
    return render_form(request, "kitchen/terminal_sign_in.html", {"station_id": station_id}, error)


@router.get("/stations/{station_id}/terminal/sign-in")
def sign_in_page(station_id: Id, request: Request) -> Response:
    return _sign_in_page(request, station_id)


@router.post("/stations/{station_id}/terminal/sign-in", dependencies=[CsrfChecked])
def sign_in(station_id: Id, request: Request, session: DbSession, form: Annotated[SignInForm, Form()]) -> Response:
    """The installer enters the station's key once; the tablet then opens the terminal without an account."""
    key = form.key.strip()
    try:
        station = keyed_station(session, key)[0] if key.startswith(org_service.STATION_KEY_PREFIX) else None
        if station is None or station.id != station_id:
            raise Unauthorized("that is not this station's key", field="key")
        service.require_kitchen(station)
    except CanteenError as error:
        return _sign_in_page(request, station_id, error)
    response = RedirectResponse(_terminal_path(station_id), status_code=303)
    response.set_cookie(TERMINAL_COOKIE, key, max_age=400 * 24 * 3600, path=_terminal_path(station_id),
                        httponly=True, samesite="strict", secure=request.app.state.settings.secure_cookies)
    return response


@router.post("/stations/{station_id}/terminal/sign-out", dependencies=[CsrfChecked])
def sign_out(station_id: Id) -> Response:
    response = RedirectResponse(f"{_terminal_path(station_id)}/sign-in", status_code=303)
    response.delete_cookie(TERMINAL_COOKIE, path=_terminal_path(station_id))
    return response


class ReasonsForm(BaseModel):
    reasons: str = ""  # one a line


def _reasons_page(request: Request, session: Session, scope: Scope, canteen_id: int, form: ReasonsForm | None = None,
                  error: CanteenError | None = None) -> Response:
    canteen = org_service.get_canteen(session, scope, canteen_id)
    reasons = service.reasons_of(session, canteen_id)
    language = request_language(request)
    return render_form(request, "kitchen/reasons.html", {
        "canteen": canteen, "can_set": may_operate(scope, canteen_id),
        "form": form or ReasonsForm(reasons="\n".join(service.reason_label(reason, language)
                                                      for reason in reasons)),
        "reasons": [service.reason_label(reason, language) for reason in reasons],
    }, error)


@router.get("/canteens/{canteen_id}/kitchen-reasons")
def reasons_page(canteen_id: Id, request: Request, scope: PageScope, session: DbSession) -> Response:
    return _reasons_page(request, session, scope, canteen_id)


@router.post("/canteens/{canteen_id}/kitchen-reasons", dependencies=[CsrfChecked])
def set_reasons(canteen_id: Id, request: Request, scope: PageScope, session: DbSession, now: Now,
                form: Annotated[ReasonsForm, Form()]) -> Response:
    try:
        if not may_operate(scope, canteen_id):
            raise Forbidden("only the canteen's operators may change its loss reasons")
        lines = [line.strip() for line in form.reasons.splitlines() if line.strip()]
        update = validate_form(ReasonsUpdate, reasons=service.reasons_as_typed(lines, request_language(request)))
        service.set_reasons(session, scope, canteen_id, update, now)
    except CanteenError as error:
        session.rollback()
        return _reasons_page(request, session, scope, canteen_id, form, error)
    session.commit()
    return RedirectResponse(f"/canteens/{canteen_id}/kitchen-reasons", status_code=303)
