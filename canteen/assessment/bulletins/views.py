"""The bureau's bulletin editor: its bulletins, a draft per period, the texts it writes, a preview, and the
workflow draft -> approved -> published, with corrections as new versions. Publishing is public and cannot be
undone, so it asks for confirmation on a page of its own; a bulletin not yet published can be deleted. The
published bulletins themselves are public (public_views)."""
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from canteen.access import Scope
from canteen.assessment import service
from canteen.assessment.bulletins import service as bulletins
from canteen.assessment.models import BulletinStatus, ScorecardKind
from canteen.assessment.periods import period_containing
from canteen.bounds import Id
from canteen.errors import CanteenError, InvalidInput, NotFound
from canteen.i18n import N_
from canteen.org import service as org_service
from canteen.web.deps import CsrfChecked, DbSession, Now, PageScope, ReadSession
from canteen.web.forms import form_outcome, render_form, server_today

router = APIRouter(include_in_schema=False)

STATUS_LABELS = {BulletinStatus.draft: N_("Draft"), BulletinStatus.approved: N_("Approved"),
                 BulletinStatus.published: N_("Published")}
TEXT_LABELS = {"opening": N_("Opening"), "good_practices": N_("Good practices"), "requirements": N_("Requirements")}
CONFIRMED = "yes"  # the confirmation page's answer to "publish?"


def _list_page(request: Request, session: Session, scope: Scope, now: datetime, bureau_id: int | None,
               error: CanteenError | None = None, period: str = "", page: int = 1) -> Response:
    bureaus, bureau_id = service.chosen_bureau(session, scope, bureau_id)
    last_month = period_containing(server_today(request, now), ScorecardKind.monthly).previous
    return render_form(request, "assessment/bulletin_list.html", {
        "bureaus": bureaus, "bureau_id": bureau_id,
        "page": bulletins.list_bulletins(session, scope, bureau_id, page),
        "page_url": lambda number: f"/assessment/bulletins?bureau={bureau_id}&page={number}",
        "status_labels": STATUS_LABELS, "url": bulletins.bulletin_url, "period": period or last_month.name,
    }, error)


@router.get("/assessment/bulletins")
def bulletin_list(request: Request, scope: PageScope, session: ReadSession, now: Now,
                  bureau: int | None = None, page: str = "1") -> Response:
    return _list_page(request, session, scope, now, bureau, page=bulletins.page_number(page))


def _create(request: Request, session: Session, scope: Scope, now: datetime, form: dict) -> Response:
    bureau_id = int(form["bureau_id"]) if form.get("bureau_id", "").isdigit() else None
    period = form.get("period", "").strip()

    def create() -> str:
        if bureau_id is None:
            raise NotFound("bureau {id} not found", field="bureau_id", id=form.get("bureau_id", ""))
        return f"/assessment/bulletins/{bulletins.create_draft(session, scope, bureau_id, period, now).id}"

    return form_outcome(session, create, lambda error: _list_page(request, session, scope, now, bureau_id, error,
                                                                  period))


@router.post("/assessment/bulletins", dependencies=[CsrfChecked])
async def create_bulletin(request: Request, scope: PageScope, session: DbSession, now: Now) -> Response:
    form = dict(await request.form())
    return await run_in_threadpool(_create, request, session, scope, now, form)


def _edit_page(request: Request, session: Session, scope: Scope, bulletin_id: int,
               error: CanteenError | None = None, entered: dict | None = None, confirming: bool = False) -> Response:
    """The bulletin; `confirming`: with the question whether to publish it in place of the workflow's buttons."""
    bulletin = bulletins.get_bulletin(session, scope, bulletin_id)
    return render_form(request, "assessment/bulletin_edit.html", {
        "bulletin": bulletin, "bureau": org_service.get_bureau(session, scope, bulletin.bureau_id),
        "supersedes": bulletins.get_bulletin(session, scope, bulletin.supersedes_id) if bulletin.supersedes_id
        else None, "status_labels": STATUS_LABELS, "text_labels": TEXT_LABELS, "url": bulletins.bulletin_url,
        "entered": entered or {}, "confirmed": CONFIRMED,
        "confirming": confirming and bulletin.status is BulletinStatus.approved,
        "public_url": bulletins.bulletin_url(bulletins.public_slug(bulletin)),
    }, error)


@router.get("/assessment/bulletins/{bulletin_id}")
def bulletin_page(bulletin_id: Id, request: Request, scope: PageScope, session: DbSession) -> Response:
    return _edit_page(request, session, scope, bulletin_id)


@router.get("/assessment/bulletins/{bulletin_id}/publish")
def publish_confirmation(bulletin_id: Id, request: Request, scope: PageScope, session: DbSession) -> Response:
    """What publishing does, and the button that does it (for an approved bulletin; others show as they are)."""
    return _edit_page(request, session, scope, bulletin_id, confirming=True)


@router.get("/assessment/bulletins/{bulletin_id}/preview")
def bulletin_preview(bulletin_id: Id, scope: PageScope, session: DbSession, now: Now) -> Response:
    """The bulletin as it would be published now (a draft with today's figures), as its own document."""
    return HTMLResponse(bulletins.preview_html(session, scope, bulletin_id, now))


def _act(request: Request, session: Session, scope: Scope, now: datetime, bulletin_id: int, action: str,
         form: dict) -> Response:
    """One step of the workflow; back to the bulletin (a correction: to the new version), or the error in place."""
    def step() -> str:
        if action == "save":
            bulletins.update_draft(session, scope, bulletin_id, title=form.get("title", ""),
                                   text={part: form.get(part, "") for part in bulletins.TEXT_PARTS})
        elif action == "approve":
            bulletins.approve(session, scope, bulletin_id, now)
        elif action == "publish":
            if form.get("confirm") != CONFIRMED:
                raise InvalidInput("publishing cannot be undone: confirm it on the publishing page", field="confirm")
            bulletins.publish(session, scope, bulletin_id, now)  # and the rectification notices it announces
        elif action == "delete":
            return f"/assessment/bulletins?bureau={bulletins.delete_draft(session, scope, bulletin_id)}"
        else:
            correction = bulletins.correct(session, scope, bulletin_id, now, form.get("note", ""))
            return f"/assessment/bulletins/{correction.id}"
        return f"/assessment/bulletins/{bulletin_id}"

    return form_outcome(session, step, lambda error: _edit_page(
        request, session, scope, bulletin_id, error, form if action == "save" else None,
        confirming=action == "publish"))


@router.post("/assessment/bulletins/{bulletin_id}", dependencies=[CsrfChecked])
@router.post("/assessment/bulletins/{bulletin_id}/approve", dependencies=[CsrfChecked])
@router.post("/assessment/bulletins/{bulletin_id}/publish", dependencies=[CsrfChecked])
@router.post("/assessment/bulletins/{bulletin_id}/correct", dependencies=[CsrfChecked])
@router.post("/assessment/bulletins/{bulletin_id}/delete", dependencies=[CsrfChecked])
async def bulletin_step(bulletin_id: Id, request: Request, scope: PageScope, session: DbSession,
                        now: Now) -> Response:
    form = dict(await request.form())
    action = request.url.path.rsplit("/", 1)[1]
    action = action if action in ("approve", "publish", "correct", "delete") else "save"
    return await run_in_threadpool(_act, request, session, scope, now, bulletin_id, action, form)
