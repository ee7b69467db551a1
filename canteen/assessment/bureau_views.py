"""Pages over a jurisdiction: every canteen's scorecard for a period with filters and charts, the yearly
sampling plan, the assessment standards a bureau loads and chooses, and rectification notices (the operators
answer them, the bureaus re-check)."""
import secrets
from collections import Counter, defaultdict
from datetime import date, datetime

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from canteen.access import Scope
from canteen.assessment import evidence, rectification, sampling, service
from canteen.assessment.models import EvaluationKind, NoticeStatus, Scorecard, ScorecardKind
from canteen.assessment.periods import parse_period, period_containing
from canteen.assessment.standard import StandardFileError
from canteen.assessment.views import fills
from canteen.calendar import service as calendar_service
from canteen.errors import CanteenError, InvalidInput
from canteen.i18n import N_, gettext
from canteen.org import service as org_service
from canteen.org.models import Bureau, Canteen, ServingMode
from canteen.web import charts
from canteen.web.deps import CsrfChecked, DbSession, Now, PageScope
from canteen.web.forms import (
    Upload,
    form_outcome,
    local_today,
    optional_choice,
    read_form,
    render_form,
    server_today,
    validate_form,
)
from canteen.web.templating import render, request_language

router = APIRouter(include_in_schema=False)

NOTICE_LABELS = {NoticeStatus.open: N_("Waiting for the canteen's answer"),
                 NoticeStatus.answered: N_("Answered, waiting for the re-check"),
                 NoticeStatus.closed: N_("Closed"), NoticeStatus.escalated: N_("Escalated")}
REASON_LABELS = {"due": N_("three-year cycle closes"), "never_assessed": N_("never inspected"),
                 "failed": N_("graded lowest last time"), "worsening": N_("score fell"),
                 "random": N_("drawn by lot")}


# ---- overview ---------------------------------------------------------------------


def _grade_order(session: Session, cards: list[Scorecard]) -> list[str]:
    """Grade names, best first, as the standards behind these scorecards list them."""
    names: dict[str, None] = {}
    for standard_id in sorted({card.standard_id for card in cards}):
        for grade in service.standard_of(session, standard_id).grades:
            names.setdefault(grade.name)
    return list(names)


def _waste_by_bureau(rows: list[tuple[Canteen, Scorecard | None]], bureaus: dict[int, Bureau]) -> dict[str, float]:
    """Plate waste per diner of each bureau's canteens together (grams over diners, not a mean of means)."""
    grams: dict[int, float] = defaultdict(float)
    diners: dict[int, float] = defaultdict(float)
    for canteen, card in rows:
        basis = (card.body.get("metrics", {}).get("plate_waste_g_per_diner") or {}).get("basis", {}) if card else {}
        if basis.get("diners"):
            grams[canteen.bureau_id] += basis["plate_waste_g"]
            diners[canteen.bureau_id] += basis["diners"]
    return {bureaus[bureau_id].name: round(grams[bureau_id] / diners[bureau_id], 1) for bureau_id in sorted(diners)}


def _by_total(row: tuple[Canteen, Scorecard | None]) -> tuple[float, int]:
    """The sort key of a scored row: its total, then its canteen's id reversed."""
    canteen, card = row
    assert card is not None and canteen.id is not None  # only scored rows are sorted
    return card.total, -canteen.id


def _overview_charts(counts: dict[str, int], waste: dict[str, float], language: str) -> list[str]:
    found = []
    if any(counts.values()):
        found.append(charts.bar_chart(list(counts), list(counts.values()), gettext("Canteens by grade", language),
                                      gettext("canteens", language)))
    if waste:
        found.append(charts.bar_chart(list(waste), list(waste.values()),
                                      gettext("Plate waste per diner by bureau (g)", language),
                                      gettext("grams", language)))
    return found


@router.get("/assessment")
def overview(request: Request, scope: PageScope, session: DbSession, now: Now, period: str = "", grade: str = "",
             mode: str = "", county: str = "", order: str = "desc") -> Response:
    service.require_bureau(scope)
    chosen = parse_period(period) if period else period_containing(
        server_today(request, now), ScorecardKind.monthly).previous
    bureaus = {bureau.id: bureau for bureau in org_service.list_bureaus(session, scope) if bureau.id is not None}
    bureau = optional_choice(county, {str(key): value for key, value in bureaus.items()}, "county")
    serving = optional_choice(mode, {item.value: item for item in ServingMode}, "mode")
    under = bureau.id if bureau else None
    cards = {canteen.id: card for card, canteen in service.scorecards(session, scope, chosen, under)}
    rows = [(canteen, cards.get(canteen.id)) for canteen in org_service.list_canteens(session, scope, under)
            if serving is None or canteen.serving_mode is serving]
    grades = _grade_order(session, list(cards.values()))
    found = Counter(card.grade for _, card in rows if card)
    counts = {name: found[name] for name in grades}
    shown = [row for row in rows if not grade or (row[1] is not None and row[1].grade == grade)]
    scored = sorted((row for row in shown if row[1]), key=_by_total, reverse=order != "asc")
    return render(request, "assessment/overview.html", {
        "period": chosen, "grade": grade, "mode": serving, "county": bureau, "order": order,
        "bureaus": bureaus, "modes": list(ServingMode), "counts": counts, "not_scored": len(rows) - sum(found.values()),
        "rows": scored + [row for row in shown if row[1] is None],
        "charts": _overview_charts(counts, _waste_by_bureau(rows, bureaus), request_language(request)),
    })


# ---- sampling plan ----------------------------------------------------------------


class _PlanForm(BaseModel):
    bureau_id: int
    year: int = Field(ge=2000, le=2100)
    seed: int = Field(ge=0, le=2**31)


def _sampling_page(request: Request, session: Session, scope: Scope, now: datetime, bureau_id: int | None,
                   year: int | None, error: CanteenError | None = None) -> Response:
    bureaus, bureau_id = service.chosen_bureau(session, scope, bureau_id)
    year = year or server_today(request, now).year
    found = sampling.plan_of(session, scope, bureau_id, year)
    canteens = {canteen.id: canteen for canteen in org_service.list_canteens(session, scope, bureau_id)}
    return render_form(request, "assessment/sampling.html", {
        "bureaus": bureaus, "bureau_id": bureau_id, "year": year, "canteens": canteens,
        "plan": found[0] if found else None, "picks": found[1] if found else [], "reason_labels": REASON_LABELS,
        "seed": found[0].seed if found else secrets.randbelow(1_000_000),
        "guessed_years": calendar_service.load(session).guessed_years(date(year, 1, 1), date(year, 12, 31)),
    }, error)


@router.get("/assessment/sampling")
def sampling_plan(request: Request, scope: PageScope, session: DbSession, now: Now, bureau: int | None = None,
                  year: int | None = None) -> Response:
    return _sampling_page(request, session, scope, now, bureau, year)


def _whole(text: object) -> int | None:
    return int(text) if isinstance(text, str) and text.isdigit() else None


def _draw(request: Request, session: Session, scope: Scope, now: datetime, form: dict) -> Response:
    def draw() -> str:
        data = validate_form(_PlanForm, bureau_id=form.get("bureau_id", ""), year=form.get("year", ""),
                             seed=form.get("seed", ""))
        sampling.make_plan(session, scope, data.bureau_id, data.year, data.seed, now)
        return f"/assessment/sampling?bureau={data.bureau_id}&year={data.year}"

    return form_outcome(session, draw, lambda error: _sampling_page(
        request, session, scope, now, _whole(form.get("bureau_id")), _whole(form.get("year")), error))


@router.post("/assessment/sampling", dependencies=[CsrfChecked])
async def draw_plan(request: Request, scope: PageScope, session: DbSession, now: Now) -> Response:
    form = dict(await request.form())
    return await run_in_threadpool(_draw, request, session, scope, now, form)


# ---- standards --------------------------------------------------------------------


class _ChoiceForm(BaseModel):
    bureau_id: int
    standard_id: int
    effective_from: date


def _standards_page(request: Request, session: Session, scope: Scope, now: datetime,
                    error: CanteenError | None = None) -> Response:
    service.require_bureau(scope)
    return render_form(request, "assessment/standards.html", {
        "standards": service.list_standards(session), "bureaus": org_service.list_bureaus(session, scope),
        "today": server_today(request, now), "done": request.query_params.get("done"),
        "problems": error.problems if isinstance(error, StandardFileError) else [],
    }, error)


@router.get("/assessment/standards")
def standards(request: Request, scope: PageScope, session: DbSession, now: Now) -> Response:
    return _standards_page(request, session, scope, now)


def _load(request: Request, session: Session, scope: Scope, now: datetime, uploads: list[Upload]) -> Response:
    def load() -> str:
        upload = next((upload for upload in uploads if upload.field == "file"), None)
        if upload is None:
            raise InvalidInput("choose a standard file (TOML)", field="file")
        # Bytes, not text: the stored hash is the file's, and a file that is not UTF-8 is named as such.
        service.load_standard(session, scope, upload.data, upload.filename, now)
        return "/assessment/standards?done=loaded"

    return form_outcome(session, load, lambda error: _standards_page(request, session, scope, now, error))


@router.post("/assessment/standards", dependencies=[CsrfChecked])
async def load_standard(request: Request, scope: PageScope, session: DbSession, now: Now) -> Response:
    _, uploads = await read_form(request, evidence.MAX_FILE_BYTES)
    return await run_in_threadpool(_load, request, session, scope, now, uploads)


def _choose(request: Request, session: Session, scope: Scope, now: datetime, form: dict) -> Response:
    def choose() -> str:
        data = validate_form(_ChoiceForm, bureau_id=form.get("bureau_id", ""), standard_id=form.get("standard_id", ""),
                             effective_from=form.get("effective_from", ""))
        service.choose_standard(session, scope, data.bureau_id, data.standard_id, data.effective_from, now)
        return "/assessment/standards?done=chosen"

    return form_outcome(session, choose, lambda error: _standards_page(request, session, scope, now, error))


@router.post("/assessment/standards/choice", dependencies=[CsrfChecked])
async def choose_standard(request: Request, scope: PageScope, session: DbSession, now: Now) -> Response:
    form = dict(await request.form())
    return await run_in_threadpool(_choose, request, session, scope, now, form)


# ---- rectification ----------------------------------------------------------------


@router.get("/assessment/rectification")
def notices_page(request: Request, scope: PageScope, session: DbSession, now: Now, status: str = "") -> Response:
    wanted = optional_choice(status, {item.value: item for item in NoticeStatus}, "status")
    return render(request, "assessment/notices.html", {
        "notices": rectification.notices(session, scope, wanted), "status": wanted,
        "today": server_today(request, now),
        "statuses": list(NoticeStatus), "status_labels": NOTICE_LABELS})


def _notice_page(request: Request, session: Session, scope: Scope, notice_id: int, now: datetime,
                 error: CanteenError | None = None, measures: str = "") -> Response:
    notice, canteen = rectification.get_notice(session, scope, notice_id)
    return render_form(request, "assessment/notice.html", {
        "notice": notice, "canteen": canteen, "files": rectification.files_of(session, notice_id),
        "status_labels": NOTICE_LABELS, "today": local_today(canteen.timezone, now), "measures": measures,
        "may_answer": notice.status is NoticeStatus.open and fills(scope, EvaluationKind.self),
        "may_recheck": fills(scope, EvaluationKind.inspection) and (
            notice.status is NoticeStatus.answered or (notice.status is NoticeStatus.open and notice.overdue)),
    }, error)


@router.get("/rectification/{notice_id}")
def notice_page(notice_id: int, request: Request, scope: PageScope, session: DbSession, now: Now) -> Response:
    return _notice_page(request, session, scope, notice_id, now)


def _notice_action(request: Request, session: Session, scope: Scope, notice_id: int, now: datetime, action,
                   measures: str = "") -> Response:
    """Run the answer or the re-check; back to the notice, or the notice with the error (and what was typed)."""
    def run() -> str:
        action()
        return f"/rectification/{notice_id}"

    return form_outcome(session, run, lambda error: _notice_page(request, session, scope, notice_id, now, error,
                                                                 measures))


@router.post("/rectification/{notice_id}/answer", dependencies=[CsrfChecked])
async def answer_notice(notice_id: int, request: Request, scope: PageScope, session: DbSession, now: Now) -> Response:
    form, uploads = await read_form(request, evidence.MAX_FILE_BYTES)
    measures = str(form.get("measures", ""))
    files = [(upload.filename, upload.content_type, upload.data) for upload in uploads]

    def action() -> None:
        rectification.answer(session, scope, notice_id, measures, now, files)

    return await run_in_threadpool(_notice_action, request, session, scope, notice_id, now, action, measures)


@router.post("/rectification/{notice_id}/recheck", dependencies=[CsrfChecked])
async def recheck_notice(notice_id: int, request: Request, scope: PageScope, session: DbSession, now: Now) -> Response:
    form = await request.form()

    def action() -> None:
        result = optional_choice(str(form.get("result", "")), {"passed": True, "failed": False}, "result")
        if result is None:
            raise InvalidInput("choose whether the re-check passed", field="result")
        rectification.recheck(session, scope, notice_id, result, str(form.get("note", "")).strip(), now)

    return await run_in_threadpool(_notice_action, request, session, scope, notice_id, now, action)
