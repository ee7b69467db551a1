"""Administrator pages over the org and auth services: list (searched and paged), add, edit, revoke."""
from datetime import datetime
from typing import Annotated, TypeVar
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel
from sqlmodel import Session

from canteen import access
from canteen.access import Role, Scope
from canteen.admin import service
from canteen.auth import service as auth_service
from canteen.auth.models import UserCreate
from canteen.bounds import Id
from canteen.errors import CanteenError
from canteen.i18n import N_
from canteen.org import service as org_service
from canteen.org import views as org_views
from canteen.org.models import (
    SCALE_PROTOCOLS,
    SINCE_EVER,
    BureauCreate,
    BureauLevel,
    Canteen,
    CanteenCreate,
    CanteenRead,
    CanteenUpdate,
    Meal,
    OperatingMode,
    Parity,
    ServingMode,
    Station,
    StationCreate,
    StationKind,
)
from canteen.web.deps import CsrfChecked, DbSession, Now, PageScope
from canteen.web.forms import render_form, validate_form
from canteen.web.pager import pager
from canteen.web.templating import render, request_language


def admin_only(scope: PageScope) -> None:
    access.require_admin(scope)


# Sign-in and role are checked for every page here, before the CSRF check of a form.
router = APIRouter(include_in_schema=False, dependencies=[Depends(admin_only)])

FormT = TypeVar("FormT", bound=BaseModel)
# The serial line's parity as installers' manuals name it (the letters N/E/O/M/S are what pyserial takes).
PARITY_LABELS = {Parity.none: N_("no parity (N)"), Parity.even: N_("even (E)"), Parity.odd: N_("odd (O)"),
                 Parity.mark: N_("mark (M)"), Parity.space: N_("space (S)")}


# ---- forms: what the administrator typed, as text, so it can be shown again -----


class BureauForm(BaseModel):
    name: str = ""
    parent_id: str = ""
    level: str = ""


class CanteenFields(BaseModel):
    name: str = ""
    operating_mode: str = ""
    serving_mode: str = ""
    timezone: str = ""
    seats: str = ""


class CanteenForm(CanteenFields):
    bureau_id: str = ""


class CanteenEditForm(CanteenFields):
    clean_plate_threshold_g: str = ""
    applies_from: str = ""  # empty: tomorrow at the canteen
    breakfast_starts: str = ""
    breakfast_ends: str = ""
    lunch_starts: str = ""
    lunch_ends: str = ""
    dinner_starts: str = ""
    dinner_ends: str = ""

    @classmethod
    def of(cls, canteen: CanteenRead) -> "CanteenEditForm":
        times = {f"{window.meal.value}_{edge}": getattr(window, edge).strftime("%H:%M")
                 for window in canteen.meal_windows for edge in ("starts", "ends")}
        seats = "" if canteen.seats is None else str(canteen.seats)
        return cls(name=canteen.name, operating_mode=canteen.operating_mode.value,
                   serving_mode=canteen.serving_mode.value, timezone=canteen.timezone, seats=seats,
                   clean_plate_threshold_g=str(canteen.clean_plate_threshold_g), **times)

    def threshold_change(self, current: int) -> dict[str, str | None]:
        """The clean-plate threshold's fields when the administrator changed it (or dated it), else none: saving
        the form for its other fields adds nothing to the threshold's history (nor does a form without it)."""
        if self.clean_plate_threshold_g in ("", str(current)) and not self.applies_from:
            return {}
        return {"clean_plate_threshold_g": self.clean_plate_threshold_g, "applies_from": self.applies_from or None}

    def meal_windows(self) -> list[dict[str, str]]:
        """One window per meal with a time; a meal left blank is not served."""
        windows = []
        for meal in Meal:
            starts, ends = getattr(self, f"{meal.value}_starts"), getattr(self, f"{meal.value}_ends")
            if starts or ends:
                windows.append({"meal": meal.value, "starts": starts, "ends": ends})
        return windows


class StationForm(BaseModel):
    canteen_id: str = ""
    name: str = ""
    kind: str = ""
    protocol: str = ""
    baudrate: str = ""
    bytesize: str = ""
    parity: str = ""
    stopbits: str = ""
    capacity_g: str = ""


class UserForm(BaseModel):
    username: str = ""
    display_name: str = ""
    password: str = ""
    role: str = ""
    bureau_id: str = ""
    canteen_ids: list[str] = []


# ---- list filters: the query string of a list page --------------------------------


class BureauFilter(org_views.ListFilter):
    level: BureauLevel | None = None


class CanteenFilter(org_views.ListFilter):
    bureau_id: Id | None = None


class StationFilter(org_views.ListFilter):
    canteen_id: Id | None = None
    kind: StationKind | None = None


class UserFilter(org_views.ListFilter):
    role: Role | None = None
    canteen_id: Id | None = None


def _new_form(form: type[FormT], schema: type[BaseModel], **values: str) -> FormT:
    """An empty add form, pre-filled with the schema's defaults."""
    defaults = {name: str(field.default) for name, field in schema.model_fields.items()
                if name in form.model_fields and not field.is_required() and field.default is not None}
    return form(**defaults | values)


def _back_to(path: str) -> Response:
    return RedirectResponse(path, status_code=303)


# ---- bureaus -------------------------------------------------------------------


def _bureaus_page(request: Request, session: Session, scope: Scope, form: BureauForm,
                  error: CanteenError | None = None, search: BureauFilter | None = None) -> Response:
    search = search or BureauFilter()
    found = org_service.search_bureaus(session, scope, search.q, search.level, search.page)
    return render_form(request, "admin/bureaus.html", {
        "bureaus": found.rows, "parents": org_service.list_bureaus(session, scope),
        "names": org_service.bureau_names(session, [bureau.parent_id for bureau in found.rows]),
        "levels": list(BureauLevel), "form": form, **pager(request, found),
    }, error)


@router.get("/admin/bureaus")
def bureaus_page(request: Request, scope: PageScope, session: DbSession) -> Response:
    search, error = org_views.list_filter(request, BureauFilter)
    return _bureaus_page(request, session, scope, BureauForm(), error, search)


@router.post("/admin/bureaus", dependencies=[CsrfChecked])
def create_bureau(request: Request, scope: PageScope, session: DbSession,
                  form: Annotated[BureauForm, Form()]) -> Response:
    try:
        org_service.create_bureau(session, scope, validate_form(
            BureauCreate, name=form.name, parent_id=form.parent_id or None, level=form.level or None))
    except CanteenError as error:
        session.rollback()
        return _bureaus_page(request, session, scope, form, error)
    session.commit()
    return _back_to("/admin/bureaus")


# ---- canteens ------------------------------------------------------------------


def _canteens_page(request: Request, session: Session, scope: Scope, form: CanteenForm,
                   error: CanteenError | None = None, search: CanteenFilter | None = None) -> Response:
    search = search or CanteenFilter()
    found = org_service.search_canteens(session, scope, search.q, search.bureau_id, search.page)
    return render_form(request, "admin/canteens.html", {
        "canteens": found.rows, "bureaus": org_service.list_bureaus(session, scope),
        "operating_modes": list(OperatingMode), "serving_modes": list(ServingMode), "form": form,
        **pager(request, found),
    }, error)


@router.get("/admin/canteens")
def canteens_page(request: Request, scope: PageScope, session: DbSession) -> Response:
    form = _new_form(CanteenForm, CanteenCreate, timezone=request.app.state.settings.timezone)
    search, error = org_views.list_filter(request, CanteenFilter)
    return _canteens_page(request, session, scope, form, error, search)


@router.post("/admin/canteens", dependencies=[CsrfChecked])
def create_canteen(request: Request, scope: PageScope, session: DbSession,
                   form: Annotated[CanteenForm, Form()]) -> Response:
    try:
        data = validate_form(CanteenCreate, bureau_id=form.bureau_id, name=form.name,
                             operating_mode=form.operating_mode,
                       serving_mode=form.serving_mode, timezone=form.timezone or None, seats=form.seats or None)
        org_service.create_canteen(session, scope, data, request.app.state.settings.timezone)
    except CanteenError as error:
        session.rollback()
        return _canteens_page(request, session, scope, form, error)
    session.commit()
    return _back_to("/admin/canteens")


def _canteen_page(request: Request, session: Session, scope: Scope, canteen: Canteen, form: CanteenEditForm,
                  error: CanteenError | None = None) -> Response:
    assert canteen.id is not None
    return render_form(request, "admin/canteen.html", {
        "canteen": canteen, "bureau": org_service.get_bureau(session, scope, canteen.bureau_id),
        "operating_modes": list(OperatingMode), "serving_modes": list(ServingMode), "meals": list(Meal),
        "form": form, "settings": org_service.scored_settings(session, scope, canteen.id),
        "scored_through": org_service.scored_through(session, canteen.id),
        "since_ever": SINCE_EVER, "zone": ZoneInfo(canteen.timezone),
    }, error)


@router.get("/admin/canteens/{canteen_id}")
def canteen_page(canteen_id: Id, request: Request, scope: PageScope, session: DbSession) -> Response:
    canteen = org_service.get_canteen(session, scope, canteen_id)
    form = CanteenEditForm.of(org_service.canteen_read(session, canteen))
    return _canteen_page(request, session, scope, canteen, form)


@router.post("/admin/canteens/{canteen_id}", dependencies=[CsrfChecked])
def update_canteen(canteen_id: Id, request: Request, scope: PageScope, session: DbSession, now: Now,
                   form: Annotated[CanteenEditForm, Form()]) -> Response:
    canteen = org_service.get_canteen(session, scope, canteen_id)
    try:
        data = validate_form(CanteenUpdate, name=form.name, operating_mode=form.operating_mode,
                       serving_mode=form.serving_mode, timezone=form.timezone, seats=form.seats or None,
                       meal_windows=form.meal_windows(), **form.threshold_change(canteen.clean_plate_threshold_g))
        org_service.update_canteen(session, scope, canteen_id, data, now)
    except CanteenError as error:
        session.rollback()
        return _canteen_page(request, session, scope, canteen, form, error)
    session.commit()
    return _back_to("/admin/canteens")


# ---- weighing stations ---------------------------------------------------------


def _stations_page(request: Request, session: Session, scope: Scope, now: datetime, form: StationForm,
                   error: CanteenError | None = None, search: StationFilter | None = None) -> Response:
    search = search or StationFilter()
    found = org_service.search_stations(session, scope, search.q, search.canteen_id, search.kind, search.page)
    language = request_language(request)
    rows = [{**org_views.station_status(station, canteen.timezone, now, language), "canteen": canteen}
            for station, canteen in found.rows]
    return render_form(request, "admin/stations.html", {
        "stations": rows, "canteens": org_service.list_canteens(session, scope),
        "kinds": list(StationKind), "protocols": SCALE_PROTOCOLS, "parities": PARITY_LABELS, "form": form,
        **pager(request, found),
    }, error)


def _key_page(request: Request, session: Session, scope: Scope, station: Station, key: str,
              status_code: int) -> Response:
    """The station's new key, shown this once: only its hash is stored."""
    response = render(request, "admin/station_key.html", {
        "station": station, "canteen": org_service.get_canteen(session, scope, station.canteen_id), "key": key,
    }, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/admin/stations")
def stations_page(request: Request, scope: PageScope, session: DbSession, now: Now) -> Response:
    search, error = org_views.list_filter(request, StationFilter)
    return _stations_page(request, session, scope, now, _new_form(StationForm, StationCreate), error, search)


@router.post("/admin/stations", dependencies=[CsrfChecked])
def create_station(request: Request, scope: PageScope, session: DbSession, now: Now,
                   form: Annotated[StationForm, Form()]) -> Response:
    try:
        station, key = org_service.create_station(session, scope, validate_form(StationCreate, **form.model_dump()))
    except CanteenError as error:
        session.rollback()
        return _stations_page(request, session, scope, now, form, error)
    session.commit()
    return _key_page(request, session, scope, station, key, status_code=201)


@router.post("/admin/stations/{station_id}/rotate-key", dependencies=[CsrfChecked])
def rotate_station_key(station_id: Id, request: Request, scope: PageScope, session: DbSession,
                       now: Now) -> Response:
    try:
        station, key = org_service.rotate_station_key(session, scope, station_id)
    except CanteenError as error:
        session.rollback()
        return _stations_page(request, session, scope, now, _new_form(StationForm, StationCreate), error)
    session.commit()
    return _key_page(request, session, scope, station, key, status_code=200)


@router.post("/admin/stations/{station_id}/active", dependencies=[CsrfChecked])
def set_station_active(station_id: Id, request: Request, scope: PageScope, session: DbSession, now: Now,
                       active: Annotated[bool, Form()]) -> Response:
    try:
        org_service.set_station_active(session, scope, station_id, active)
    except CanteenError as error:
        session.rollback()
        return _stations_page(request, session, scope, now, _new_form(StationForm, StationCreate), error)
    session.commit()
    return _back_to("/admin/stations")


# ---- user accounts -------------------------------------------------------------


def _users_page(request: Request, session: Session, scope: Scope, form: UserForm,
                error: CanteenError | None = None, search: UserFilter | None = None) -> Response:
    search = search or UserFilter()
    found = service.search_users(session, scope, search.q, search.role, search.canteen_id, search.page)
    throttle = auth_service.Throttle.of(request.app.state.settings)
    locked = auth_service.locked_usernames(session, [row.user.username for row in found.rows],
                                           request.app.state.clock(), throttle)
    return render_form(request, "admin/users.html", {
        "users": found.rows, "locked": locked, "bureaus": org_service.list_bureaus(session, scope),
        "canteens": org_service.list_canteens(session, scope), "roles": list(Role), "form": form,
        **pager(request, found),
    }, error)


@router.get("/admin/users")
def users_page(request: Request, scope: PageScope, session: DbSession) -> Response:
    search, error = org_views.list_filter(request, UserFilter)
    return _users_page(request, session, scope, UserForm(), error, search)


@router.post("/admin/users", dependencies=[CsrfChecked])
def create_user(request: Request, scope: PageScope, session: DbSession, now: Now,
                form: Annotated[UserForm, Form()]) -> Response:
    try:
        data = validate_form(UserCreate, username=form.username, display_name=form.display_name or None,
                       password=form.password, role=form.role, bureau_id=form.bureau_id or None,
                       canteen_ids=form.canteen_ids)
        auth_service.create_user(session, scope, data, now)
    except CanteenError as error:
        session.rollback()
        return _users_page(request, session, scope, form, error)
    session.commit()
    return _back_to("/admin/users")


@router.post("/admin/users/{user_id}/unlock", dependencies=[CsrfChecked])
def unlock_sign_in(user_id: Id, request: Request, scope: PageScope, session: DbSession) -> Response:
    try:
        auth_service.unlock_sign_in(session, scope, user_id)
    except CanteenError as error:
        session.rollback()
        return _users_page(request, session, scope, UserForm(), error)
    session.commit()
    return _back_to("/admin/users")


@router.post("/admin/users/{user_id}/active", dependencies=[CsrfChecked])
def set_user_active(user_id: Id, request: Request, scope: PageScope, session: DbSession,
                    active: Annotated[bool, Form()]) -> Response:
    try:
        auth_service.set_user_active(session, scope, user_id, active)
    except CanteenError as error:
        session.rollback()
        return _users_page(request, session, scope, UserForm(), error)
    session.commit()
    return _back_to("/admin/users")
