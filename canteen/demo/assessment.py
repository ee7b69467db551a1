"""Assessment history for the demo: every canteen's self-evaluations for the quarters of its history (a few
inspected too), its headcount forecasts replayed at each past booking cut-off, scorecards for the months and
quarter the history covers, last month's draft bulletins, and an earlier month's province bulletin published
with its rectification notices.

Each canteen's level of anti-waste work (`canteen.demo.levels`) drives its checklist answers as it drives its
weighings: the model canteens earn 优秀, 修水县第一中学学生食堂 lags behind and had a confirmed veto last month,
so the demo has a canteen graded 不合格 with a notice to answer.
"""
import os
import random
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import insert
from sqlmodel import Session, select

from canteen.access import SYSTEM
from canteen.assessment import evidence, runs, service
from canteen.assessment.bulletins import service as bulletins
from canteen.assessment.models import (
    Bulletin,
    BulletinStatus,
    Evaluation,
    EvaluationAnswer,
    EvaluationKind,
    EvaluationStatus,
    ScorecardKind,
)
from canteen.assessment.periods import Period, period_containing
from canteen.demo.levels import LAGGING, level
from canteen.demo.progress import ASSESSMENT, BULLETIN, Progress
from canteen.org.models import Canteen
from canteen.reservation.forecast.backtest import replay
from canteen.reservation.forecast.history import booking_history
from canteen.reservation.models import ForecastSnapshot
from canteen.web import pdf

INSPECTED = ("南昌市机关第一食堂", "九江市第一中学学生食堂")


def seed_assessment(session: Session, canteen_ids: list[int], now: datetime, history_days: int,
                    province_id: int, seed: int = 2026, progress: Progress | None = None) -> bool:
    """Returns whether the province's bulletin went out with its PDF (not when Chromium is missing)."""
    progress = progress or Progress()
    rng = random.Random(seed)
    canteens: list[Canteen] = []
    for canteen_id in canteen_ids:
        canteen = session.get(Canteen, canteen_id)
        assert canteen is not None  # seeded just before
        canteens.append(canteen)
    today = now.astimezone(ZoneInfo(canteens[0].timezone)).date()
    first = today - timedelta(days=history_days)
    last_month = period_containing(today, ScorecardKind.monthly).previous
    earlier: list[Period] = []
    month = last_month.previous
    while month.starts >= first:
        earlier.insert(0, month)
        month = month.previous
    periods = [*earlier, *_closed_quarters(first, today), last_month]
    with progress.phase(ASSESSMENT, 1 + len(canteens) + len(periods)) as advance:
        _evaluations(session, canteens, first, today, now, rng)
        advance(1)
        _snapshots(session, canteens, now, (earlier or [last_month])[0].starts, last_month.ends, advance)
        lagging = next((canteen for canteen in canteens if canteen.name == LAGGING), None)
        if lagging is not None:
            assert lagging.id is not None
            evidence.record_veto(session, SYSTEM, lagging.id, "V1", last_month.ends - timedelta(days=9),
                                 "食堂剩余饭菜大量倒掉被媒体曝光", now)
        for period in periods:
            runs.run_period(session, period, now)
            advance(1)
    if not earlier:
        return True
    with_pdf = chromium_available()
    with progress.phase(BULLETIN, 1) as advance:
        _publish_province(session, province_id, earlier[-1], now, with_pdf)
        advance(1)
    return with_pdf


def chromium_available() -> bool:
    """Whether the Chromium that prints bulletins to PDF is installed (`make system-deps` installs it)."""
    return os.access(pdf.CHROMIUM, os.X_OK)


def _answer(level: float, rng: random.Random) -> str:
    draw = rng.random()
    return "met" if draw < level else "partly" if draw < level + (1 - level) / 2 else "not_met"


def _quarters(first, today) -> list[Period]:
    """The quarters of the history that had ended by today, and the one before the history: its evaluation is
    the one the history's first months are scored on."""
    quarter = period_containing(first, ScorecardKind.quarterly).previous
    found = []
    while quarter.ends < today:
        found.append(quarter)
        quarter = period_containing(quarter.ends + timedelta(days=1), ScorecardKind.quarterly)
    return found


def _closed_quarters(first, today) -> list[Period]:
    return [quarter for quarter in _quarters(first, today) if first <= quarter.starts]


def _evaluations(session: Session, canteens: list[Canteen], first, today, now: datetime,
                 rng: random.Random) -> None:
    """A submitted self-evaluation per canteen and quarter, on the quarter's last day; some inspections too."""
    for quarter in _quarters(first, today):
        submitted = datetime.combine(quarter.ends, time(9), UTC)
        standards = service.standards_for(session, canteens, quarter.ends, now)
        for canteen in canteens:
            assert canteen.id is not None
            standard = standards[canteen.id]
            assert standard.id is not None
            kinds = [EvaluationKind.self] + ([EvaluationKind.inspection] if canteen.name in INSPECTED else [])
            for kind in kinds:
                row = Evaluation(canteen_id=canteen.id, period=quarter.name, kind=kind,
                                 status=EvaluationStatus.submitted, standard_id=standard.id,
                                 updated_at=submitted, submitted_at=submitted,
                                 visited_on=quarter.ends - timedelta(days=20) if kind is EvaluationKind.inspection
                                 else None)
                session.add(row)
                session.flush()
                items = evidence.checklist_items(service.parsed(standard), kind)
                session.execute(insert(EvaluationAnswer), [
                    {"evaluation_id": row.id, "indicator_id": item.id, "answer": _answer(level(canteen.name), rng),
                     "note": ""} for item in items])


def _snapshots(session: Session, canteens: list[Canteen], now: datetime, since: date, until: date,
               advance: Callable[[int], None]) -> None:
    """The forecast each past meal from `since` to `until` had at its cut-off, replayed from the records known
    then (later days cannot change an earlier forecast, so the history is cut at `until`)."""
    rows = []
    for canteen in canteens:
        assert canteen.id is not None
        history = booking_history(session, SYSTEM, canteen.id, now)
        frame = history.frame[history.frame["date"] <= pd.Timestamp(until)]
        advance(1)
        if frame.empty:
            continue
        replayed = replay(frame, history.cutoff_time, history.days_before, history.meal_ends, since,
                          calendar=history.calendar)
        replayed = replayed[replayed["date"] >= pd.Timestamp(since)]
        for record in replayed[~replayed["closed"]].itertuples():
            day = record.date.date()
            made = datetime.combine(day - timedelta(days=history.days_before), history.cutoff_time,
                                    ZoneInfo(canteen.timezone))
            rows.append({"canteen_id": canteen.id, "service_date": day, "meal": record.meal,
                         "booked": int(record.booked), "expected": int(record.forecast), "low": int(record.low),
                         "high": int(record.high), "method": "replayed", "made_at": made})
    if rows:
        session.execute(insert(ForecastSnapshot), rows)


def _publish_province(session: Session, province_id: int, period: Period, now: datetime, with_pdf: bool) -> None:
    """The province's bulletin of an earlier month, approved and published (as HTML alone without Chromium):
    its failing canteens get notices."""
    draft = session.exec(select(Bulletin).where(Bulletin.bureau_id == province_id, Bulletin.period == period.name,
                                                Bulletin.status == BulletinStatus.draft)).first()
    if draft is None:
        return
    assert draft.id is not None
    bulletins.approve(session, SYSTEM, draft.id, now)
    bulletins.publish(session, SYSTEM, draft.id, now, with_pdf=with_pdf)
