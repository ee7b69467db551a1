"""The yearly sampling plan: which canteens a bureau assesses on site, and when.

At least 35 % of the jurisdiction's canteens every year, and every canteen at least once in three years.
Order of priority: canteens whose three-year window closes this year (last inspected three or more years
ago), never inspected, graded lowest in their latest quarterly assessment, worsening (latest total below the
one before), then the longest since their last inspection; ties are broken by the draw number (stored as
`seed`), so the same number gives the same plan. The last inspection is the latest submitted inspection
(evaluation of the inspection kind), whatever year it was made in up to the plan's.

Visits fall on working days of the official calendar, spread evenly: over March to November for a plan drawn
before March, over the rest of the year (from the day after drawing) for one drawn later. A plan for a year
that is over, or with no working day left, is refused.
"""
import math
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session, col, delete, select

from canteen.access import Scope
from canteen.assessment import service
from canteen.assessment.models import (
    Evaluation,
    EvaluationKind,
    EvaluationStatus,
    SamplingPick,
    SamplingPlan,
    Scorecard,
    ScorecardKind,
)
from canteen.calendar import service as calendar_service
from canteen.calendar.service import OfficialCalendar
from canteen.errors import InvalidInput
from canteen.org import service as org_service

MIN_SHARE = 0.35
CYCLE_YEARS = 3
FIRST_VISIT, LAST_VISIT = (3, 1), (11, 30)  # (month, day): a plan drawn before March visits in this season
REASON_ORDER = ("due", "never_assessed", "failed", "worsening")


@dataclass(frozen=True)
class Candidate:
    canteen_id: int
    last_inspected: int | None  # year
    failed: bool
    worsening: bool

    def reasons(self, year: int) -> list[str]:
        found = []
        if self.last_inspected is not None and self.last_inspected <= year - CYCLE_YEARS:
            found.append("due")
        if self.last_inspected is None:
            found.append("never_assessed")
        if self.failed:
            found.append("failed")
        if self.worsening:
            found.append("worsening")
        return found


def last_inspections(session: Session, canteen_ids: list[int], until_year: int | None = None) -> dict[int, str]:
    """Per canteen, the quarter ("2026-Q3") of its latest submitted inspection (up to `until_year`, if given)."""
    last: dict[int, str] = {}
    for canteen_id, period in session.exec(select(Evaluation.canteen_id, Evaluation.period).where(
            col(Evaluation.canteen_id).in_(canteen_ids), Evaluation.kind == EvaluationKind.inspection,
            Evaluation.status == EvaluationStatus.submitted)):
        if (until_year is None or int(period[:4]) <= until_year) and period > last.get(canteen_id, ""):
            last[canteen_id] = period
    return last


def _candidates(session: Session, scope: Scope, bureau_id: int, year: int) -> list[Candidate]:
    canteens = org_service.list_canteens(session, scope, bureau_id)
    ids = [canteen.id for canteen in canteens if canteen.id is not None]
    last = {canteen_id: int(period[:4]) for canteen_id, period in last_inspections(session, ids, year).items()}
    history: dict[int, list[Scorecard]] = {}
    for card in session.exec(select(Scorecard).where(
            col(Scorecard.canteen_id).in_(ids), Scorecard.kind == ScorecardKind.quarterly,
            Scorecard.starts < date(year, 1, 1)).order_by(col(Scorecard.starts))):
        history.setdefault(card.canteen_id, []).append(card)
    candidates = []
    for canteen_id in ids:
        cards = history.get(canteen_id, [])
        candidates.append(Candidate(canteen_id=canteen_id, last_inspected=last.get(canteen_id),
                                    failed=bool(cards) and service.failed(session, cards[-1]),
                                    worsening=len(cards) > 1 and cards[-1].total < cards[-2].total))
    return candidates


def visit_window(year: int, today: date) -> tuple[date, date]:
    """The days a plan drawn on `today` may visit: the season, or the rest of the year once the season began."""
    if year < today.year:
        raise InvalidInput("{year} is over: a sampling plan schedules visits ahead", field="year", year=year)
    season = date(year, *FIRST_VISIT)
    if today < season:
        return season, date(year, *LAST_VISIT)
    return today + timedelta(days=1), date(year, 12, 31)


def _visit_days(calendar: OfficialCalendar, year: int, count: int, today: date) -> list[date]:
    """`count` working days spread evenly over the visiting window (guessed ones in a year without official data)."""
    day, end = visit_window(year, today)
    working = []
    while day <= end:
        if calendar.is_working_day(day):
            working.append(day)
        day += timedelta(days=1)
    if count == 0:
        return []
    if not working:
        raise InvalidInput("no working day is left in {year} to visit", field="year", year=year)
    step = len(working) / count
    return [working[min(int(index * step), len(working) - 1)] for index in range(count)]


def make_plan(session: Session, scope: Scope, bureau_id: int, year: int, seed: int, now: datetime,
              today: date | None = None) -> SamplingPlan:
    """Draw (or redraw) the bureau's plan for the year with the draw number `seed`; `today` is the drawing day
    where the bureau is (by default now's date in UTC)."""
    service.require_bureau(scope)
    org_service.get_bureau(session, scope, bureau_id)
    today = today or now.date()
    candidates = _candidates(session, scope, bureau_id, year)
    rng = random.Random(f"{seed}-{bureau_id}-{year}")
    tiebreak = {candidate.canteen_id: rng.random() for candidate in candidates}

    def priority(candidate: Candidate) -> tuple:
        reasons = candidate.reasons(year)
        first = min((REASON_ORDER.index(reason) for reason in reasons), default=len(REASON_ORDER))
        since = year - candidate.last_inspected if candidate.last_inspected is not None else CYCLE_YEARS + 1
        return first, -len(reasons), -since, tiebreak[candidate.canteen_id]

    ranked = sorted(candidates, key=priority)
    due = sum("due" in candidate.reasons(year) for candidate in candidates)
    picked = ranked[:max(math.ceil(MIN_SHARE * len(candidates)), due)]
    days = _visit_days(calendar_service.load(session), year, len(picked), today)  # refused before any change
    plan = session.exec(select(SamplingPlan).where(SamplingPlan.bureau_id == bureau_id,
                                                   SamplingPlan.year == year)).first()
    if plan is None:
        plan = SamplingPlan(bureau_id=bureau_id, year=year, seed=seed, created_at=now)
    else:
        session.exec(delete(SamplingPick).where(col(SamplingPick.plan_id) == plan.id))
    plan.seed, plan.created_by, plan.created_at = seed, scope.user_id or None, now
    session.add(plan)
    session.flush()
    assert plan.id is not None
    for candidate, day in zip(picked, days, strict=True):
        session.add(SamplingPick(plan_id=plan.id, canteen_id=candidate.canteen_id, planned_on=day,
                                 reasons=candidate.reasons(year) or ["random"]))
    session.flush()
    return plan


def plan_of(session: Session, scope: Scope, bureau_id: int,
            year: int) -> tuple[SamplingPlan, list[SamplingPick]] | None:
    service.require_bureau(scope)
    org_service.get_bureau(session, scope, bureau_id)
    plan = session.exec(select(SamplingPlan).where(SamplingPlan.bureau_id == bureau_id,
                                                   SamplingPlan.year == year)).first()
    if plan is None:
        return None
    picks = session.exec(select(SamplingPick).where(SamplingPick.plan_id == plan.id)
                         .order_by(col(SamplingPick.planned_on), col(SamplingPick.canteen_id)))
    return plan, list(picks)
