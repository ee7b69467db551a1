from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ValidationInfo, field_validator
from pydantic import Field as PydanticField

from canteen.access import Role
from canteen.bounds import Id
from canteen.errors import CanteenError
from canteen.i18n import gettext
from canteen.org import service
from canteen.org.models import SINCE_EVER, Station
from canteen.web.deps import DbSession, Now, PageScope
from canteen.web.forms import render_form, validate_form
from canteen.web.pager import pager
from canteen.web.templating import render, request_language

router = APIRouter(include_in_schema=False)


# ---- long lists: filters from the query string, pages of them ------------------------


class ListFilter(BaseModel):
    """A search text and a page number; a blank choice in a filter form means "any"."""
    q: str = PydanticField("", max_length=100)
    page: int = PydanticField(1, ge=1)

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_default(cls, value: Any, info: ValidationInfo) -> Any:
        if value == "" and info.field_name is not None:
            return cls.model_fields[info.field_name].get_default()
        return value


FilterT = TypeVar("FilterT", bound=ListFilter)


def list_filter(request: Request, schema: type[FilterT]) -> tuple[FilterT, CanteenError | None]:
    """The list's filters from the query string; refused ones are reported, and the list shown unfiltered."""
    try:
        return validate_form(schema, **request.query_params), None
    except CanteenError as error:
        return schema(), error







@router.get("/")
def home(request: Request, scope: PageScope, session: DbSession) -> Response:
    if scope.role is Role.admin:
        return RedirectResponse("/admin/canteens", status_code=303)
    if scope.role is Role.diner:
        # A diner's home (the next meal booked, this month's record) is the reservation package's page; a diner
        # not registered with a canteen yet is told so here.
        if scope.canteen_ids:
            return RedirectResponse("/me", status_code=303)
        return render(request, "org/diner_home.html")
    # A province bureau oversees thousands of canteens: searched and paged like the administrator's list.
    search, error = list_filter(request, ListFilter)
    found = service.search_canteens(session, scope, search.q, page=search.page)
    return render_form(request, "org/home.html", {"canteens": found.rows, "show_bureau": scope.role is Role.bureau,
                                                  **pager(request, found)}, error)


def last_seen(moment: datetime | None, timezone: str, now: datetime, language: str) -> str:
    """When a station last reported, with its date, in the canteen's time zone: "今天 12:03" today,
    "11月30日 12:03" earlier this year, "2025-11-30 12:03" before that, "从未" when it never did."""
    if moment is None:
        return gettext("never", language)
    zone = ZoneInfo(timezone)
    local, today = moment.astimezone(zone), now.astimezone(zone).date()
    clock = local.strftime("%H:%M")
    if local.date() == today:
        return gettext("today {time}", language).format(time=clock)
    if local.year == today.year:
        return gettext("{month}/{day} {time}", language).format(month=local.month, day=local.day, time=clock)
    return f"{local.date().isoformat()} {clock}"


def station_status(station: Station, timezone: str, now: datetime, language: str) -> dict[str, object]:
    """What a station list shows of a station's reporting: when it was last seen and whether it is online."""
    return {"station": station, "seen": last_seen(station.last_seen_at, timezone, now, language),
            "online": service.station_online(station, now)}


@router.get("/canteens/{canteen_id}")
def canteen_page(canteen_id: Id, request: Request, scope: PageScope, session: DbSession, now: Now) -> Response:
    canteen = service.get_canteen(session, scope, canteen_id)
    language = request_language(request)
    return render(request, "org/canteen.html", {
        "canteen": service.canteen_read(session, canteen),
        "settings": service.scored_settings(session, scope, canteen_id), "since_ever": SINCE_EVER,
        "zone": ZoneInfo(canteen.timezone),
        "stations": [station_status(station, canteen.timezone, now, language)
                     for station in service.list_stations(session, scope, canteen_id)],
    })
