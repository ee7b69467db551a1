"""The yearly sampling plan: which canteens a bureau assesses on site, and when.

At least 35 % of the jurisdiction's canteens every year, and every canteen at least once in three years.
Order of priority: canteens whose three-year window closes this year (last inspected three or more years
ago), never inspected, graded lowest in their latest quarterly assessment, worsening (latest total below the
one before), then the longest since their last inspection; ties are broken by the seed, so the same seed
gives the same plan. Visits are spread evenly over working weeks from March to November.
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
from canteen.org import service as org_service

MIN_SHARE = 0.35
CYCLE_YEARS = 3
FIRST_VISIT, LAST_VISIT = (3, 1), (11, 30)  # (month, day): visits between March and November
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


def _candidates(session: Session, scope: Scope, bureau_id: int, year: int) -> list[Candidate]:
    canteens = org_service.list_canteens(session, scope, bureau_id)
    ids = [canteen.id for canteen in canteens if canteen.id is not None]
    last: dict[int, int] = {}
    for canteen_id, period in session.exec(select(Evaluation.canteen_id, Evaluation.period).where(
            col(Evaluation.canteen_id).in_(ids), Evaluation.kind == EvaluationKind.inspection,
            Evaluation.status == EvaluationStatus.submitted)):
        inspected = int(period[:4])
        if inspected < year:
            last[canteen_id] = max(last.get(canteen_id, inspected), inspected)
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


def _visit_days(calendar: OfficialCalendar, year: int, count: int) -> list[date]:
    """`count` working days spread evenly over the visiting season (guessed ones in a year without official data)."""
    day, end = date(year, *FIRST_VISIT), date(year, *LAST_VISIT)
    working = []
    while day <= end:
        if calendar.is_working_day(day):
            working.append(day)
        day += timedelta(days=1)
    if count == 0:
        return []
    step = len(working) / count
    return [working[min(int(index * step), len(working) - 1)] for index in range(count)]


def make_plan(session: Session, scope: Scope, bureau_id: int, year: int, seed: int, now: datetime) -> SamplingPlan:
    """Draw (or redraw) the bureau's plan for the year."""
    service.require_bureau(scope)
    org_service.get_bureau(session, scope, bureau_id)
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
    for candidate, day in zip(picked, _visit_days(calendar_service.load(session), year, len(picked))):
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
