"""Pages over a jurisdiction: every canteen's scorecard for a period with filters and charts, the yearly
sampling plan, the assessment standards a bureau loads and chooses, and rectification notices (the operators
answer them, the bureaus re-check)."""
import secrets
from datetime import date, datetime

import pandas as pd
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel
from sqlmodel import Session

from canteen.access import Scope
from canteen.assessment import evidence, rectification, sampling, service
from canteen.assessment.models import EvaluationKind, EvaluationStatus, NoticeStatus, Scorecard, ScorecardKind
from canteen.assessment.periods import Period, parse_period, period_containing
from canteen.assessment.standard import REFERENCE, StandardFileError
from canteen.assessment.views import ANSWER_LABELS, EVIDENCE_LABELS, fills
from canteen.bounds import Count, Day, Id, Year
from canteen.calendar import service as calendar_service
from canteen.errors import CanteenError, InvalidInput
from canteen.i18n import N_, gettext
from canteen.org import service as org_service
from canteen.org.models import Bureau, Canteen, ServingMode
from canteen.web import chart_cache
from canteen.web.deps import CsrfChecked, DbSession, Now, PageScope, ReadSession
from canteen.web.exports import csv_response, xlsx_response
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
from canteen.web.pager import page_address
from canteen.web.templating import render, request_language

router = APIRouter(include_in_schema=False)

NOTICE_LABELS = {NoticeStatus.open: N_("Waiting for the canteen's answer"),
                 NoticeStatus.answered: N_("Answered, waiting for the re-check"),
                 NoticeStatus.closed: N_("Closed"), NoticeStatus.escalated: N_("Escalated")}
REASON_LABELS = {"due": N_("three-year cycle closes"), "never_assessed": N_("never inspected"),
                 "failed": N_("graded lowest last time"), "worsening": N_("score fell"),
                 "random": N_("drawn by lot")}
STATE_LABELS = {None: N_("not started"), EvaluationStatus.draft: N_("draft"),
                EvaluationStatus.submitted: N_("submitted")}


# ---- overview ---------------------------------------------------------------------


EXPORT_SHEET = "scorecards"


def _overview_charts(overview: service.Overview, language: str) -> list[str]:
    """The grades and the waste by bureau, drawn once per worker for the same figures (a new scorecard, another
    filter or period changes them, so it draws anew): many users open the same month's overview."""
    found = []
    counts, waste = overview.grades, overview.waste_by_bureau
    if any(counts.values()):
        found.append(chart_cache.bar_chart(list(counts), list(counts.values()),
                                           gettext("Canteens by grade", language), gettext("canteens", language)))
    if waste:
        found.append(chart_cache.bar_chart(list(waste), list(waste.values()),
                                           gettext("Plate waste per diner by bureau (g)", language),
                                           gettext("grams", language)))
    return found


def _filters(request: Request, session: Session, scope: Scope, now: datetime, period: str, grade: str, mode: str,
             county: str, q: str, order: str) -> tuple[Period, dict[int, Bureau], service.OverviewFilter]:
    """The overview's period (last month by default), the bureaus to choose from, and the filters asked for."""
    service.require_bureau(scope)
    chosen = parse_period(period) if period else period_containing(
        server_today(request, now), ScorecardKind.monthly).previous
    bureaus = {bureau.id: bureau for bureau in org_service.list_bureaus(session, scope) if bureau.id is not None}
    bureau = optional_choice(county, {str(key): value for key, value in bureaus.items()}, "county")
    serving = optional_choice(mode, {item.value: item for item in ServingMode}, "mode")
    ascending = optional_choice(order, {"asc": True, "desc": False}, "order") or False
    return chosen, bureaus, service.OverviewFilter(bureau_id=bureau.id if bureau else None, serving_mode=serving,
                                                   grade=grade, search=q.strip(), ascending=ascending)


def _no_scorecards_note(period: Period, today: date) -> tuple[str, dict[str, str]]:
    """Why a period has no scorecard at all: not over yet, or over and not scored yet (the job runs the day after)."""
    day = service.scoring_day(period).isoformat()
    if period.ends >= today:
        return N_("{period} is not over yet: its scorecards are computed on {date}, the day after it ends."), {
            "period": period.name, "date": day}
    return N_("{period} is over but has not been scored yet: the monthly assessment job scores it on the first day "
              "after it ends ({date}), or an administrator runs “canteen assess run --period {period}”."), {
        "period": period.name, "date": day}


@router.get("/assessment")
def overview(request: Request, scope: PageScope, session: ReadSession, now: Now, period: str = "", grade: str = "",
             mode: str = "", county: str = "", q: str = "", order: str = "desc", page: int = 1) -> Response:
    chosen, bureaus, filters = _filters(request, session, scope, now, period, grade, mode, county, q, order)
    found = service.overview(session, scope, chosen, filters, page)
    canteen_ids = [canteen.id for canteen, _ in found.page.rows if canteen.id is not None]
    scored = sum(found.grades.values())
    return render(request, "assessment/overview.html", {
        "period": chosen, "grade": grade, "mode": filters.serving_mode, "q": filters.search,
        "county": bureaus.get(filters.bureau_id) if filters.bureau_id else None,
        "order": "asc" if filters.ascending else "desc", "bureaus": bureaus, "modes": list(ServingMode),
        "counts": found.grades, "not_scored": found.not_scored, "page": found.page, "rows": found.page.rows,
        "page_url": page_address(request),
        "computed_at": found.computed_at, "quarterly": chosen.kind is ScorecardKind.quarterly,
        "states": service.evaluation_states(session, canteen_ids, chosen)
        if chosen.kind is ScorecardKind.quarterly else {},
        "state_labels": STATE_LABELS, "kinds": list(EvaluationKind),
        "no_scorecards": None if scored else _no_scorecards_note(chosen, server_today(request, now)),
        "charts": _overview_charts(found, request_language(request)),
        "waste": found.waste,
    })


def _indicator_columns(cards: list[Scorecard]) -> list[tuple[str, str]]:
    """(id, name) of every indicator the scorecards carry, in the standards' order, each once."""
    columns: dict[str, str] = {}
    for card in cards:
        for item in card.body["indicators"]:
            columns.setdefault(item["id"], item["name"])
    return list(columns.items())


def _indicator_value(item: dict, language: str) -> object:
    """A metric's value as scored, or a checklist answer in words (with who gave it); blank without either."""
    if item.get("metric"):
        return item.get("value")
    if item.get("answer"):
        answer, by = gettext(ANSWER_LABELS[item["answer"]], language), gettext(EVIDENCE_LABELS[item["answered_by"]],
                                                                               language)
        return f"{answer}（{by}）"
    return None


def _export_frame(rows: list[tuple[str, Canteen, Scorecard]], language: str) -> pd.DataFrame:
    """One row per scored canteen under the headers the reader reads: who, the period, total, grade, each
    indicator's value and points, bonus points and vetoes."""
    columns = _indicator_columns([card for _, _, card in rows])
    value, points = gettext("value", language), gettext("points earned", language)
    records = []
    for bureau_name, canteen, card in rows:
        items = {item["id"]: item for item in card.body["indicators"]}
        record: dict[str, object] = {
            gettext("Bureau", language): bureau_name, gettext("Canteen", language): canteen.name,
            gettext("Period", language): card.period, gettext("Total", language): card.total,
            gettext("Grade", language): card.grade}
        for indicator_id, name in columns:
            item = items.get(indicator_id)
            record[f"{indicator_id} {name} {value}"] = _indicator_value(item, language) if item else None
            record[f"{indicator_id} {name} {points}"] = item["earned"] if item else None
        record[gettext("Bonus points", language)] = card.body.get("bonus_points", 0)
        record[gettext("Veto", language)] = "、".join(f"{veto['id']} {veto['name']}" for veto in card.body["vetoes"])
        records.append(record)
    headers = [gettext(label, language) for label in ("Bureau", "Canteen", "Period", "Total", "Grade")]
    return pd.DataFrame(records, columns=headers + [f"{indicator_id} {name} {label}" for indicator_id, name in columns
                                                    for label in (value, points)]
                        + [gettext("Bonus points", language), gettext("Veto", language)])


@router.get("/assessment/scorecards.csv")
@router.get("/assessment/scorecards.xlsx")
def export_overview(request: Request, scope: PageScope, session: ReadSession, now: Now, period: str = "",
                    grade: str = "", mode: str = "", county: str = "", q: str = "", order: str = "desc") -> Response:
    """The overview's scorecards, every page of them, as CSV or Excel."""
    chosen, _, filters = _filters(request, session, scope, now, period, grade, mode, county, q, order)
    frame = _export_frame(service.export_rows(session, scope, chosen, filters), request_language(request))
    if request.url.path.endswith(".csv"):
        return csv_response(frame, f"scorecards-{chosen.name}.csv")
    return xlsx_response(frame, f"scorecards-{chosen.name}.xlsx", EXPORT_SHEET)


# ---- sampling plan ----------------------------------------------------------------


class _PlanForm(BaseModel):
    bureau_id: Id
    year: Year
    seed: Count


def _sampling_page(request: Request, session: Session, scope: Scope, now: datetime, bureau_id: int | None,
                   year: int | None, error: CanteenError | None = None) -> Response:
    bureaus, bureau_id = service.chosen_bureau(session, scope, bureau_id)
    year = year or server_today(request, now).year
    found = sampling.plan_of(session, scope, bureau_id, year)
    canteens = {canteen.id: canteen for canteen in org_service.list_canteens(session, scope, bureau_id)}
    picks = found[1] if found else []
    return render_form(request, "assessment/sampling.html", {
        "bureaus": bureaus, "bureau_id": bureau_id, "year": year, "canteens": canteens,
        "plan": found[0] if found else None, "picks": picks, "reason_labels": REASON_LABELS,
        "last_inspected": sampling.last_inspections(session, [pick.canteen_id for pick in picks]),
        "seed": secrets.randbelow(1_000_000),  # a redraw offers a new draw number
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
        sampling.make_plan(session, scope, data.bureau_id, data.year, data.seed, now, server_today(request, now))
        return f"/assessment/sampling?bureau={data.bureau_id}&year={data.year}"

    return form_outcome(session, draw, lambda error: _sampling_page(
        request, session, scope, now, _whole(form.get("bureau_id")), _whole(form.get("year")), error))


@router.post("/assessment/sampling", dependencies=[CsrfChecked])
async def draw_plan(request: Request, scope: PageScope, session: DbSession, now: Now) -> Response:
    form = dict(await request.form())
    return await run_in_threadpool(_draw, request, session, scope, now, form)


# ---- standards --------------------------------------------------------------------


class _ChoiceForm(BaseModel):
    bureau_id: Id
    standard_id: Id
    effective_from: Day


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


@router.get("/assessment/standards/reference.toml")
def reference_template(scope: PageScope) -> Response:
    """The bundled reference standard as a file to start a local standard from."""
    service.require_bureau(scope)
    return Response(REFERENCE.read_bytes(), media_type="application/toml",
                    headers={"Content-Disposition": f'attachment; filename="{REFERENCE.name}"'})


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
def notice_page(notice_id: Id, request: Request, scope: PageScope, session: DbSession, now: Now) -> Response:
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
async def answer_notice(notice_id: Id, request: Request, scope: PageScope, session: DbSession, now: Now) -> Response:
    form, uploads = await read_form(request, evidence.MAX_FILE_BYTES)
    measures = str(form.get("measures", ""))
    files = [(upload.filename, upload.content_type, upload.data) for upload in uploads]

    def action() -> None:
        rectification.answer(session, scope, notice_id, measures, now, files)

    return await run_in_threadpool(_notice_action, request, session, scope, notice_id, now, action, measures)


@router.post("/rectification/{notice_id}/recheck", dependencies=[CsrfChecked])
async def recheck_notice(notice_id: Id, request: Request, scope: PageScope, session: DbSession, now: Now) -> Response:
    form = await request.form()

    def action() -> None:
        result = optional_choice(str(form.get("result", "")), {"passed": True, "failed": False}, "result")
        if result is None:
            raise InvalidInput("choose whether the re-check passed", field="result")
        rectification.recheck(session, scope, notice_id, result, str(form.get("note", "")).strip(), now)

    return await run_in_threadpool(_notice_action, request, session, scope, notice_id, now, action)
