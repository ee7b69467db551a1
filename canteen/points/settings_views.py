"""The diner's points export settings (phone-sized): whether their points leave for the points platform, and their
account id there."""
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel

from canteen.errors import CanteenError
from canteen.points import export
from canteen.points.export import PreferenceUpdate
from canteen.web.deps import CsrfChecked, DbSession, Now, PageScope
from canteen.web.forms import render_form

router = APIRouter(include_in_schema=False)
PATH = "/me/points/settings"


class SettingsForm(BaseModel):
    """The form's text: an unticked box sends nothing."""

    export: str = ""
    external_id: str = ""


def _page(request: Request, form: SettingsForm, saved: bool = False, error: CanteenError | None = None) -> Response:
    return render_form(request, "points/settings.html", {"form": form, "saved": saved, "action": PATH}, error)


@router.get(PATH)
def settings_page(request: Request, scope: PageScope, session: DbSession, saved: bool = False) -> Response:
    current = export.preference(session, scope)
    return _page(request, SettingsForm(export="on" if current.export else "", external_id=current.external_id or ""),
                 saved)


@router.post(PATH, dependencies=[CsrfChecked])
def save_settings(request: Request, scope: PageScope, session: DbSession, now: Now,
                  form: Annotated[SettingsForm, Form()]) -> Response:
    try:
        export.set_preference(session, scope, PreferenceUpdate(export=form.export == "on",
                                                               external_id=form.external_id), now)
    except CanteenError as error:
        session.rollback()
        return _page(request, form, error=error)
    session.commit()
    return RedirectResponse(f"{PATH}?saved=true", status_code=303)
