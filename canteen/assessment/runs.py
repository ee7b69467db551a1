"""What the scheduler does for the assessment, and `canteen assess run` on demand: score a period, draft its
bulletins, remind canteens of their self-evaluation, flag overdue rectification, and issue the notices of a
published bulletin."""
from datetime import date, datetime

from sqlmodel import Session, col, select

from canteen.access import SYSTEM
from canteen.assessment import rectification, service
from canteen.assessment.bulletins import service as bulletins
from canteen.assessment.models import (
    Evaluation,
    EvaluationKind,
    ScorecardKind,
)
from canteen.assessment.periods import Period, months_of, period_containing
from canteen.errors import Conflict
from canteen.org.models import Bureau, Canteen
from canteen.weighing import service as weighing_service


def run_period(session: Session, period: Period, now: datetime) -> str:
    """Fresh rollups, scorecards for every canteen, and a draft bulletin for every bureau that has canteens."""
    weighing_service.refresh_stale(session, now)
    cards = service.compute_scorecards(session, period, now)
    drafts = 0
    for bureau in _bureaus_with_canteens(session):
        assert bureau.id is not None
        try:
            bulletins.create_draft(session, SYSTEM, bureau.id, period.name, now)
            drafts += 1
        except Conflict:  # already drafted (a second run) or published
            pass
    overdue = rectification.flag_overdue(session, now)
    return (f"{period}: {len(cards)} scorecards, {drafts} draft bulletins, "
            f"{overdue} rectification notices newly overdue")


def _bureaus_with_canteens(session: Session) -> list[Bureau]:
    paths = set(session.exec(select(Bureau.path).join(Canteen, col(Canteen.bureau_id) == Bureau.id)))
    return [bureau for bureau in session.exec(select(Bureau).order_by(Bureau.path))
            if any(path.startswith(bureau.path) for path in paths)]


def previous_periods(today: date) -> list[Period]:
    """On the first of a month (the deployment's local date): last month, and last quarter when last month closed
    one. The date is local, not UTC: at 02:30 on the 1st in Shanghai it is still the last day of the month in UTC."""
    last_month = period_containing(today, ScorecardKind.monthly).previous
    periods = [last_month]
    quarter = period_containing(last_month.starts, ScorecardKind.quarterly)
    if months_of(quarter)[-1] == last_month:
        periods.append(quarter)
    return periods


def remind_self_evaluations(session: Session, today: date, now: datetime) -> int:
    """A draft self-evaluation for the quarter of `today` (local) for every canteen without one: it shows as due."""
    quarter = period_containing(today, ScorecardKind.quarterly)
    have = set(session.exec(select(Evaluation.canteen_id).where(Evaluation.period == quarter.name,
                                                                Evaluation.kind == EvaluationKind.self)))
    canteens = [canteen for canteen in session.exec(select(Canteen).order_by(col(Canteen.id)))
                if canteen.id not in have]
    standards = service.standards_for(session, canteens, quarter.ends, now)
    for canteen in canteens:
        assert canteen.id is not None
        standard = standards[canteen.id]
        assert standard.id is not None
        session.add(Evaluation(canteen_id=canteen.id, period=quarter.name, kind=EvaluationKind.self,
                               standard_id=standard.id, updated_at=now))
    session.flush()
    return len(canteens)
