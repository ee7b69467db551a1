"""The administrator's calendar page: the years with official holidays, a year's days, upload and delete."""
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlmodel import Session

from canteen.access import Role, require_admin
from canteen.calendar import service
from canteen.errors import CanteenError, InvalidInput
from canteen.web.deps import CsrfChecked, DbSession, Now, PageScope
from canteen.web.forms import Upload, form_outcome, read_form, render_form, server_today

MAX_FILE_BYTES = 64 * 1024  # a year's notice is a few dozen rows


BANNER_ROLES = (Role.admin, Role.bureau, Role.operator)  # the people who plan with working days


def calendar_banner(request: Request, user: Any) -> dict[str, list[int]]:
    """Every page's `calendar_missing`: years without an official schedule among the next 30 days."""
    if user is None or user.role not in BANNER_ROLES:
        return {"calendar_missing": []}
    with Session(request.app.state.engine) as session:
        calendar = service.load(session)
    return {"calendar_missing": calendar.guessed_ahead(server_today(request, request.app.state.clock()))}


def admin_only(scope: PageScope) -> None:
    require_admin(scope)


router = APIRouter(include_in_schema=False, dependencies=[Depends(admin_only)])


def _page(request: Request, session: Session, now: datetime, year: int | None,
          error: CanteenError | None = None) -> Response:
    years = service.list_years(session)
    shown = year if year is not None else (years[0].year if years else None)
    today = server_today(request, now)
    return render_form(request, "calendar/admin.html", {
        "years": years, "year": shown,
        "days": service.year_days(session, shown) if shown in {entry.year for entry in years} else [],
        "missing": service.load(session).guessed_ahead(today, 366),
        "done": request.query_params.get("done"),
        "zone": ZoneInfo(request.app.state.settings.timezone),  # import times in the server's zone, not UTC
        "error_at": (error.filename, error.line) if isinstance(error, service.CalendarFileError) else None,
    }, error)


@router.get("/admin/calendar")
def calendar_page(request: Request, session: DbSession, now: Now, year: int | None = None) -> Response:
    return _page(request, session, now, year)


def _import(request: Request, session: Session, now: datetime, uploads: list[Upload]) -> Response:
    def load() -> str:
        upload = next((upload for upload in uploads if upload.field == "file"), None)
        if upload is None:
            raise InvalidInput("choose a CSV file (date,kind,name)", field="file")
        if len(upload.data) > MAX_FILE_BYTES:
            raise InvalidInput("a file may have at most {kb} KB", field="file", kb=MAX_FILE_BYTES // 1024)
        imported = service.import_year(session, upload.data, upload.filename, now)
        return f"/admin/calendar?year={imported.year}&done=imported"

    return form_outcome(session, load, lambda error: _page(request, session, now, None, error))


@router.post("/admin/calendar", dependencies=[CsrfChecked])
async def import_calendar(request: Request, session: DbSession, now: Now) -> Response:
    _, uploads = await read_form(request, MAX_FILE_BYTES)
    return await run_in_threadpool(_import, request, session, now, uploads)


@router.post("/admin/calendar/{year}/delete", dependencies=[CsrfChecked])
def delete_year(year: int, request: Request, session: DbSession, now: Now) -> Response:
    def delete() -> str:
        service.delete_year(session, year)
        return "/admin/calendar?done=deleted"

    return form_outcome(session, delete, lambda error: _page(request, session, now, None, error))
