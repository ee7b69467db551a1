"""Assessment pages of one canteen: its scorecards in full (every lost point with its reason), the quarterly
self-evaluation its operators fill, the bureau's inspection with vetoes and bonuses, and evidence files."""
from collections import defaultdict
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlmodel import Session
from starlette.datastructures import FormData

from canteen.access import Role, Scope
from canteen.assessment import evidence, rectification, service
from canteen.assessment.models import (
    EvaluationKind,
    EvaluationStatus,
    NoticeStatus,
    Scorecard,
    ScorecardKind,
)
from canteen.assessment.periods import Period, parse_period, period_containing
from canteen.assessment.standard import METRICS
from canteen.bounds import Id
from canteen.errors import CanteenError, Forbidden, InvalidInput
from canteen.i18n import N_, gettext
from canteen.org import service as org_service
from canteen.org.models import Canteen
from canteen.web import charts
from canteen.web.deps import CsrfChecked, DbSession, Now, PageScope, ReadSession
from canteen.web.forms import Upload, form_outcome, local_today, read_form, render_form
from canteen.web.templating import render, request_language

router = APIRouter(include_in_schema=False)

ANSWER_LABELS = {"met": N_("Met"), "partly": N_("Partly met"), "not_met": N_("Not met")}
EVIDENCE_LABELS = {"self": N_("Self-evaluation"), "inspection": N_("Inspection")}
# The numbers behind each metric, as the metrics module names them in a scorecard's body.
BASIS_LABELS = {
    "diners": N_("diners counted"), "meals": N_("meals"), "plate_waste_g": N_("plate waste (g)"),
    "kitchen_waste_g": N_("kitchen waste (g)"), "kitchen_records": N_("kitchen-waste records"),
    "unserved_g": N_("cooked but unserved (g)"), "clean_plates": N_("clean plates"), "plates": N_("plates weighed"),
    "plate_waste_g_per_diner": N_("plate waste per diner (g)"),
    "earlier_plate_waste_g_per_diner": N_("earlier plate waste per diner (g)"),
    "earlier_starts": N_("earlier period from"), "earlier_ends": N_("earlier period to"), "booked": N_("booked"),
    "absolute_error": N_("absolute forecast error"), "actual": N_("actual diners"),
    "actual_from": N_("actual diners from"), "checkins": N_("check-ins"),
    "weighed_meals": N_("meals weighed"), "scheduled_meals": N_("meals scheduled"),
    "dishes_with_small_or_half": N_("dishes with a small or half portion"), "dishes": N_("dishes offered"),
    "all_kitchen_waste_g": N_("kitchen waste of every category (g)"), "yuan": N_("waste valued at (¥)"),
    "co2e_kg": N_("waste as carbon (kg CO2e)"),
}
TREND_PERIODS = 12
PAGES = {EvaluationKind.self: "self-evaluation", EvaluationKind.inspection: "inspection"}


# ---- scorecards ----------------------------------------------------------------


def metric_text(name: str, value: float | None) -> str:
    info = METRICS[name]
    if value is None:
        return "–"
    if info.fraction:
        return f"{value * 100:.1f}%"
    shown = f"{value:,.1f}".removesuffix(".0")
    return f"{shown}%" if info.unit == "%" else f"{shown} {info.unit}"


def _basis(body: dict, metric: str | None) -> list[tuple[str, Any]]:
    basis = body.get("metrics", {}).get(metric, {}).get("basis", {}) if metric else {}
    return [(BASIS_LABELS.get(key, key), BASIS_LABELS.get(value, value) if isinstance(value, str) else value)
            for key, value in basis.items()]


def _dimensions(body: dict) -> list[dict]:
    """The scorecard's dimensions, each with its indicators ready to show."""
    lines: dict[str, list[dict]] = defaultdict(list)
    for item in body["indicators"]:
        lines[item["dimension"]].append(item | {
            "value_text": metric_text(item["metric"], item["value"]) if item["metric"] else None,
            "basis": _basis(body, item["metric"]),
            "reason_text": (item.get("reason") or {}).get("text", ""),
        })
    return [dimension | {"indicators": lines[dimension["id"]]} for dimension in body["dimensions"]]


def _metrics(body: dict) -> list[tuple[str, str, str, list[tuple[str, Any]]]]:
    """Every metric the scorecard kept: name, label, value as shown, and the numbers behind it."""
    kept = body.get("metrics", {})
    return [(name, info.label, metric_text(name, kept[name]["value"]), _basis(body, name))
            for name, info in METRICS.items() if name in kept]


def _trend_chart(session: Session, card: Scorecard, language: str) -> str | None:
    points = service.trend(session, card, TREND_PERIODS)
    if len(points) < 2:
        return None
    kind = gettext("Monthly", language) if card.kind is ScorecardKind.monthly else gettext("Quarterly", language)
    return charts.line_chart([period for period, _, _ in points], {kind: [total for _, total, _ in points]},
                             gettext("Total score by period", language), gettext("points", language))


@router.get("/canteens/{canteen_id}/assessment")
def canteen_assessment(canteen_id: Id, request: Request, scope: PageScope, session: ReadSession, now: Now,
                       period: str = "") -> Response:
    canteen = org_service.get_canteen(session, scope, canteen_id)
    cards = service.canteen_scorecards(session, canteen_id)
    wanted = parse_period(period).name if period else None
    listed = next((row for row in cards if wanted in (None, row.period)), None)
    context: dict[str, Any] = {
        "canteen": canteen, "wanted": wanted,
        "monthly": [row for row in cards if row.kind is ScorecardKind.monthly],
        "quarterly": [row for row in cards if row.kind is ScorecardKind.quarterly],
        "notices": rectification.notices(session, scope, NoticeStatus.open, canteen_id),
        "quarter": period_containing(local_today(canteen.timezone, now), ScorecardKind.quarterly),
        "answer_labels": ANSWER_LABELS, "evidence_labels": EVIDENCE_LABELS,
    }
    if listed is not None:
        card, _ = service.get_scorecard(session, scope, listed.id)
        context |= {"card": card, "body": card.body, "dimensions": _dimensions(card.body),
                    "ranks": service.ranks(session, card, canteen),
                    "metrics": _metrics(card.body),
                    "chart": _trend_chart(session, card, request_language(request))}
    return render(request, "assessment/canteen.html", context)


# ---- self-evaluation and inspection -----------------------------------------------


def _quarter(text: str, canteen: Canteen, now: datetime) -> Period:
    if not text:
        return period_containing(local_today(canteen.timezone, now), ScorecardKind.quarterly)
    period = parse_period(text)
    if period.kind is not ScorecardKind.quarterly:
        raise InvalidInput("evaluations are made for a quarter, like 2026-Q4", field="period")
    return period


def fills(scope: Scope, kind: EvaluationKind) -> bool:
    """Whether this user's role fills this kind of evaluation (the canteen was already checked by scope)."""
    return scope.is_admin or scope.role is (Role.operator if kind is EvaluationKind.self else Role.bureau)


def _evaluation_page(request: Request, session: Session, scope: Scope, canteen_id: int, now: datetime,
                     period_text: str, kind: EvaluationKind, entered: FormData | None = None,
                     error: CanteenError | None = None) -> Response:
    canteen = org_service.get_canteen(session, scope, canteen_id)
    period = _quarter(period_text, canteen, now)
    try:
        # Started as a draft when there is none: nothing is committed until the form is saved.
        row = evidence.evaluation(session, scope, canteen_id, period, kind, now)
    except Forbidden:
        row = None  # not started, and this user does not fill it
    context: dict[str, Any] = {"canteen": canteen, "period": period, "kind": kind.value, "evaluation": row,
                               "answer_labels": ANSWER_LABELS, "entered": entered or {},
                               "saved": request.query_params.get("saved") == "1"}
    if row is not None:
        assert row.id is not None
        standard = service.standard_of(session, row.standard_id)
        files: dict[str | None, list] = defaultdict(list)
        for stored in evidence.files_of(session, row.id):
            files[stored.indicator_id].append(stored)
        context |= {"standard": standard, "items": evidence.checklist_items(standard, kind),
                    "answers": evidence.answers_of(session, row.id), "files": files,
                    "editable": row.status is EvaluationStatus.draft and fills(scope, kind)}
        if kind is EvaluationKind.inspection:
            context["vetoes"], context["bonuses"] = evidence.events_of(session, scope, canteen_id)
    return render_form(request, "assessment/evaluation.html", context, error)


def _form_date(text: str, field: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput("this value is not accepted: {problem}", field=field, problem=text) from None


def _answers(form: FormData) -> dict[str, tuple[str, str]]:
    answers = {}
    for field, value in form.multi_items():
        if field.startswith("note_") and str(value).strip() and f"answer_{field[5:]}" not in form:
            raise InvalidInput("choose an answer for {id} to keep its note", field=f"answer_{field[5:]}",
                               id=field[5:])
        if field.startswith("answer_"):
            item = field.removeprefix("answer_")
            answers[item] = (str(value), str(form.get(f"note_{item}", "")).strip())
    return answers


def _save_evaluation(request: Request, session: Session, scope: Scope, canteen_id: int, now: datetime,
                     period_text: str, kind: EvaluationKind, form: FormData, uploads: list[Upload]) -> Response:
    def save() -> str:
        canteen = org_service.get_canteen(session, scope, canteen_id)
        period = _quarter(period_text, canteen, now)
        row = evidence.evaluation(session, scope, canteen_id, period, kind, now)
        assert row.id is not None
        for upload in uploads:
            item = upload.field.removeprefix("file_") if upload.field.startswith("file_") else None
            evidence.attach_file(session, scope, row.id, item, upload.filename, upload.content_type, upload.data, now)
        evidence.save_answers(session, scope, row.id, _answers(form), now, submit=form.get("action") == "submit",
                              visited_on=_form_date(str(form.get("visited_on", "")), "visited_on"))
        return f"/canteens/{canteen_id}/{PAGES[kind]}?period={period.name}&saved=1"

    return form_outcome(session, save, lambda error: _evaluation_page(
        request, session, scope, canteen_id, now, period_text, kind, form, error))


def _kind_of(request: Request) -> EvaluationKind:
    return next(kind for kind, page in PAGES.items() if request.url.path.endswith(f"/{page}"))


@router.get("/canteens/{canteen_id}/self-evaluation")
@router.get("/canteens/{canteen_id}/inspection")
def evaluation_page(canteen_id: Id, request: Request, scope: PageScope, session: DbSession, now: Now,
                    period: str = "") -> Response:
    return _evaluation_page(request, session, scope, canteen_id, now, period, _kind_of(request))


@router.post("/canteens/{canteen_id}/self-evaluation", dependencies=[CsrfChecked])
@router.post("/canteens/{canteen_id}/inspection", dependencies=[CsrfChecked])
async def save_evaluation(canteen_id: Id, request: Request, scope: PageScope, session: DbSession, now: Now,
                          period: str = "") -> Response:
    form, uploads = await read_form(request, evidence.MAX_FILE_BYTES)
    return await run_in_threadpool(_save_evaluation, request, session, scope, canteen_id, now, period,
                                   _kind_of(request), form, uploads)


def _record_event(request: Request, session: Session, scope: Scope, canteen_id: int, now: datetime,
                  period_text: str, form: FormData, record) -> Response:
    """A veto or a bonus from the inspection page; back to that page, or the page with the error."""
    def save() -> str:
        day = _form_date(str(form.get("day", "")), "day")
        if day is None:
            raise InvalidInput("give the date", field="day")
        record(session, scope, canteen_id, str(form.get("item", "")), day, str(form.get("note", "")).strip(), now)
        return f"/canteens/{canteen_id}/inspection?period={quote(period_text)}"

    return form_outcome(session, save, lambda error: _evaluation_page(
        request, session, scope, canteen_id, now, period_text, EvaluationKind.inspection, error=error))


@router.post("/canteens/{canteen_id}/vetoes", dependencies=[CsrfChecked])
@router.post("/canteens/{canteen_id}/bonuses", dependencies=[CsrfChecked])
async def record_event(canteen_id: Id, request: Request, scope: PageScope, session: DbSession, now: Now,
                       period: str = "") -> Response:
    form = await request.form()
    record = evidence.record_veto if request.url.path.endswith("/vetoes") else evidence.award_bonus
    return await run_in_threadpool(_record_event, request, session, scope, canteen_id, now, period, form, record)


# ---- evidence files ---------------------------------------------------------------


@router.get("/assessment/files/{file_id}")
def evidence_file(file_id: Id, scope: PageScope, session: DbSession) -> Response:
    stored = evidence.get_file(session, scope, file_id)
    return Response(stored.data, media_type=stored.content_type, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(stored.filename)}",
        "X-Content-Type-Options": "nosniff"})

