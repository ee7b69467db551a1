"""JSON API of the assessment: scoring, standards, scorecards, evidence, sampling plans, rectification."""
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import SQLModel

from canteen.assessment import evidence, rectification, sampling, service
from canteen.assessment.models import EvaluationKind, NoticeStatus, Scorecard
from canteen.assessment.periods import parse_period
from canteen.assessment.scoring import AssessmentInput, score
from canteen.assessment.standard import reference_standard
from canteen.bounds import Count, Day, Id, Year
from canteen.errors import NotFound
from canteen.org.models import Canteen
from canteen.web.deps import ApiScope, DbSession, Now
from canteen.web.forms import server_today

router = APIRouter(prefix="/api/v1/assessment", tags=["assessment"])
PeriodQuery = Annotated[str, Query(description="A month (2026-10) or a quarter (2026-Q4).")]


class StandardRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    code: str
    version: str
    title: str
    content_hash: str


class StandardChoiceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    bureau_id: Id
    standard_id: Id
    effective_from: Day


class AnswersUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answers: dict[str, tuple[Literal["met", "partly", "not_met"], Annotated[str, Field(max_length=2000)]]] = {}
    submit: bool = False
    visited_on: Day | None = None


class EventCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    canteen_id: Id
    item_id: str = Field(max_length=40, description="The veto's or bonus's id in the canteen's standard.")
    on: Day
    note: str = Field(default="", max_length=2000)


class PlanCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    bureau_id: Id
    year: Year
    seed: Count = Field(default=1,
                        description="The draw number: ties between equally urgent canteens are broken by it.")


class NoticeAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    measures: str = Field(min_length=1, max_length=20_000)


class Recheck(BaseModel):
    model_config = ConfigDict(extra="forbid")
    passed: bool
    note: str = Field(default="", max_length=2000)


def _card(card: Scorecard, canteen: Canteen) -> dict[str, Any]:
    return {"id": card.id, "canteen_id": canteen.id, "canteen": canteen.name, "kind": card.kind.value,
            "period": card.period, "total": card.total, "grade": card.grade, "vetoed": card.vetoed,
            "standard_id": card.standard_id, "computed_at": card.computed_at.isoformat()}


@router.post("/score")
def score_offline(body: AssessmentInput, scope: ApiScope, session: DbSession,
                  standard_id: Id | None = None) -> dict[str, Any]:
    """Score given metric values and answers against a loaded standard (the reference one by default)."""
    standard = service.standard_of(session, standard_id) if standard_id else reference_standard()
    return score(standard, body).to_dict()


@router.get("/standards", response_model=list[StandardRead])
def list_standards(scope: ApiScope, session: DbSession) -> list:
    service.require_bureau(scope)
    return service.list_standards(session)


@router.post("/standards", response_model=StandardRead, status_code=201)
def load_standard(scope: ApiScope, session: DbSession, now: Now,
                  source: Annotated[str, Body(media_type="application/toml")]):
    """The standard file's TOML text as the body; mistakes come back as 422 naming line and field."""
    row = service.load_standard(session, scope, source, "upload.toml", now)
    session.commit()
    return row


@router.post("/standard-choices", status_code=201)
def choose_standard(body: StandardChoiceCreate, scope: ApiScope, session: DbSession, now: Now) -> dict:
    service.choose_standard(session, scope, body.bureau_id, body.standard_id, body.effective_from, now)
    session.commit()
    return body.model_dump(mode="json")


@router.get("/scorecards")
def list_scorecards(period: PeriodQuery, scope: ApiScope, session: DbSession,
                    bureau_id: Id | None = None) -> list[dict[str, Any]]:
    return [_card(card, canteen) for card, canteen in
            service.scorecards(session, scope, parse_period(period), bureau_id)]


@router.get("/scorecards/{scorecard_id}")
def get_scorecard(scorecard_id: Id, scope: ApiScope, session: DbSession) -> dict[str, Any]:
    card, canteen = service.get_scorecard(session, scope, scorecard_id)
    ranks = service.ranks(session, card, canteen)
    return _card(card, canteen) | {"body": card.body, "ranks": {name: {"rank": rank, "of": count}
                                                                for name, (rank, count) in ranks.items()}}


@router.get("/canteens/{canteen_id}/evaluations/{period}/{kind}")
def get_evaluation(canteen_id: Id, period: str, kind: EvaluationKind, scope: ApiScope, session: DbSession,
                   now: Now) -> dict[str, Any]:
    row = evidence.evaluation(session, scope, canteen_id, parse_period(period), kind, now)
    session.commit()
    return _evaluation(session, row)


def _evaluation(session, row) -> dict[str, Any]:
    answers = evidence.answers_of(session, row.id)
    return {"id": row.id, "canteen_id": row.canteen_id, "period": row.period, "kind": row.kind.value,
            "status": row.status.value, "visited_on": row.visited_on,
            "answers": {key: {"answer": value.answer, "note": value.note} for key, value in answers.items()},
            "files": [{"id": item.id, "indicator_id": item.indicator_id, "filename": item.filename,
                       "size": item.size, "sha256": item.sha256} for item in evidence.files_of(session, row.id)]}


@router.put("/evaluations/{evaluation_id}")
def save_answers(evaluation_id: Id, body: AnswersUpdate, scope: ApiScope, session: DbSession,
                 now: Now) -> dict[str, Any]:
    row = evidence.save_answers(session, scope, evaluation_id, body.answers, now, body.submit, body.visited_on)
    session.commit()
    return _evaluation(session, row)


@router.post("/vetoes", status_code=201)
def record_veto(body: EventCreate, scope: ApiScope, session: DbSession, now: Now) -> dict[str, Any]:
    row = evidence.record_veto(session, scope, body.canteen_id, body.item_id, body.on, body.note, now)
    return _committed(session, row)


@router.post("/bonuses", status_code=201)
def award_bonus(body: EventCreate, scope: ApiScope, session: DbSession, now: Now) -> dict[str, Any]:
    row = evidence.award_bonus(session, scope, body.canteen_id, body.item_id, body.on, body.note, now)
    return _committed(session, row)


@router.post("/sampling-plans", status_code=201)
def make_plan(body: PlanCreate, request: Request, scope: ApiScope, session: DbSession, now: Now) -> dict[str, Any]:
    sampling.make_plan(session, scope, body.bureau_id, body.year, body.seed, now, server_today(request, now))
    session.commit()
    return get_plan(body.bureau_id, body.year, scope, session)


@router.get("/sampling-plans/{bureau_id}/{year}")
def get_plan(bureau_id: Id, year: Year, scope: ApiScope, session: DbSession) -> dict[str, Any]:
    found = sampling.plan_of(session, scope, bureau_id, year)
    if found is None:
        raise NotFound("no sampling plan for {year} yet", field="year", year=year)
    plan, picks = found
    return {"bureau_id": plan.bureau_id, "year": plan.year, "seed": plan.seed,
            "picks": [{"canteen_id": pick.canteen_id, "planned_on": pick.planned_on.isoformat(),
                       "reasons": pick.reasons} for pick in picks]}


def _committed(session: DbSession, row: SQLModel) -> dict[str, Any]:
    """The row as JSON, read before the commit expires its attributes."""
    body = row.model_dump(mode="json")
    session.commit()
    return body


@router.get("/notices")
def list_notices(scope: ApiScope, session: DbSession, status: NoticeStatus | None = None) -> list[dict[str, Any]]:
    return [notice.model_dump(mode="json") for notice, _ in rectification.notices(session, scope, status)]


@router.post("/notices/{notice_id}/answer")
def answer_notice(notice_id: Id, body: NoticeAnswer, scope: ApiScope, session: DbSession,
                  now: Now) -> dict[str, Any]:
    return _committed(session, rectification.answer(session, scope, notice_id, body.measures, now))


@router.post("/notices/{notice_id}/recheck")
def recheck_notice(notice_id: Id, body: Recheck, scope: ApiScope, session: DbSession, now: Now) -> dict[str, Any]:
    return _committed(session, rectification.recheck(session, scope, notice_id, body.passed, body.note, now))
