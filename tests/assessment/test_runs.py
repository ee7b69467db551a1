"""The assessment's scheduled work: a period scored and drafted, reminders, and notices when a bulletin is published."""
from datetime import UTC, date, datetime

from sqlmodel import select

from canteen.access import SYSTEM
from canteen.assessment import runs
from canteen.assessment.bulletins import service as bulletins
from canteen.assessment.models import Bulletin, BulletinStatus, Evaluation, NoticeStatus, RectificationNotice
from canteen.assessment.periods import parse_period

NOW = datetime(2026, 10, 1, 18, 30, tzinfo=UTC)  # 02:30 on 2 October in Shanghai
MET = {item: "met" for item in ("S1", "S2", "S3", "M3", "M4", "G1", "G2", "G3", "E1")}
GOOD = {"plate_waste_g_per_diner": 20.0, "forecast_wape": 0.1, "small_portion_share": 0.5,
        "surplus_food_g_per_diner": 10.0}


def test_the_first_of_the_month_scores_last_month_and_a_closed_quarter():
    assert [str(period) for period in runs.previous_periods(date(2026, 10, 1))] == ["2026-09", "2026-Q3"]
    assert [str(period) for period in runs.previous_periods(date(2026, 11, 1))] == ["2026-10"]


def test_a_period_run_scores_every_canteen_and_drafts_each_bureaus_bulletin_once(session, org):
    summary = runs.run_period(session, parse_period("2026-09"), NOW)
    assert summary == "2026-09: 3 scorecards, 5 draft bulletins, 0 rectification notices newly overdue"
    drafts = session.exec(select(Bulletin.bureau_id).where(Bulletin.period == "2026-09")).all()
    assert sorted(drafts) == sorted([org.province, org.c1, org.c2, org.k1, org.k2])
    assert runs.run_period(session, parse_period("2026-09"), NOW).startswith("2026-09: 3 scorecards, 0 draft")


def test_reminders_open_one_self_evaluation_per_canteen(session, org):
    assert runs.remind_self_evaluations(session, date(2026, 12, 1), datetime(2026, 12, 1, tzinfo=UTC)) == 3
    assert runs.remind_self_evaluations(session, date(2026, 12, 2), datetime(2026, 12, 2, tzinfo=UTC)) == 0
    assert {row.period for row in session.exec(select(Evaluation))} == {"2026-Q4"}


def test_publishing_a_bulletin_issues_the_notices_it_announces(session, org, stored_scorecard):
    failing = stored_scorecard(org.canteens["a"], "2026-Q3", {"plate_waste_g_per_diner": 75.0})
    stored_scorecard(org.canteens["h"], "2026-Q3", GOOD, MET)
    draft = bulletins.create_draft(session, SYSTEM, org.c1, "2026-Q3", NOW)
    bulletins.approve(session, SYSTEM, draft.id, NOW)
    published = bulletins.publish(session, SYSTEM, draft.id, NOW)
    assert published.status is BulletinStatus.published
    notices = session.exec(select(RectificationNotice)).all()
    assert [(notice.canteen_id, notice.scorecard_id, notice.bulletin_id) for notice in notices] == [
        (org.canteens["a"], failing.id, published.id)]
    assert notices[0].deadline.isoformat() == published.content["rectification"]["deadline"]
    assert notices[0].status is NoticeStatus.open
