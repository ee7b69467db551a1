"""Rectification: notices for canteens graded lowest, the operator's answer, the bureau's re-check, overdue flags."""
from datetime import UTC, date, datetime, timedelta

import pytest

from canteen.assessment import rectification
from canteen.assessment.models import NoticeStatus
from canteen.errors import Conflict, Forbidden, InvalidInput, NotFound
from tests.support.files import JPEG

ISSUED = datetime(2026, 11, 5, 2, 0, tzinfo=UTC)
PASSING = {"plate_waste_g_per_diner": 20.0, "forecast_wape": 0.1, "small_portion_share": 0.5,
           "surplus_food_g_per_diner": 10.0}
MET = {item: "met" for item in ("S1", "S2", "S3", "M3", "M4", "G1", "G2", "G3", "E1")}


@pytest.fixture
def failing_a(org, stored_scorecard):
    """Canteen A fails Q3 (checklist partly met, poor data); canteen H passes with 80."""
    failing = stored_scorecard(org.canteens["a"], "2026-Q3", {"plate_waste_g_per_diner": 75.0},
                               {item: "partly" for item in MET})
    passing = stored_scorecard(org.canteens["h"], "2026-Q3", PASSING, MET)
    return failing, passing


def test_only_the_lowest_grade_gets_a_notice_with_the_indicators_it_lost_most_on(session, failing_a):
    failing, passing = failing_a
    assert (failing.grade, passing.grade) == ("不合格", "良好")
    notices = rectification.issue_notices(session, [failing, passing], ISSUED)
    assert [notice.canteen_id for notice in notices] == [failing.canteen_id]
    notice = notices[0]
    assert notice.deadline == date(2026, 12, 5) and notice.status is NoticeStatus.open
    # M1, M5 and W1, W3, W4 have no data (0 of 8, 10, 5, 5, 5); W2 at 75 g keeps 2.5 of 10; partly: half of each item.
    assert [item["id"] for item in notice.failing[:3]] == ["M5", "M1", "W2"]
    assert notice.failing[2] == {"id": "W2", "name": "人均餐余量", "lost": 7.5,
                                 "reason": notice.failing[2]["reason"]} and "75" in notice.failing[2]["reason"]
    assert rectification.issue_notices(session, [failing], ISSUED) == []  # one notice per canteen and period


def test_answer_then_recheck_closes_or_escalates(session, org, failing_a, scope_of):
    notice = rectification.issue_notices(session, [failing_a[0]], ISSUED)[0]
    with pytest.raises(Conflict):
        rectification.recheck(session, scope_of("bureau_c1"), notice.id, True, "", ISSUED)
    with pytest.raises(InvalidInput):
        rectification.answer(session, scope_of("operator_a"), notice.id, "  ", ISSUED)
    with pytest.raises(Forbidden):
        rectification.answer(session, scope_of("bureau_c1"), notice.id, "整改", ISSUED)
    with pytest.raises(NotFound):
        rectification.answer(session, scope_of("operator_b"), notice.id, "整改", ISSUED)
    later = ISSUED + timedelta(days=10)
    rectification.answer(session, scope_of("operator_a"), notice.id, "推行半份菜；设立监督岗", later,
                         files=[("监督岗.jpg", "image/jpeg", JPEG)])
    assert notice.status is NoticeStatus.answered and notice.answered_at == later
    assert [stored.filename for stored in rectification.files_of(session, notice.id)] == ["监督岗.jpg"]
    with pytest.raises(Conflict):
        rectification.answer(session, scope_of("operator_a"), notice.id, "again", later)
    with pytest.raises(Forbidden):
        rectification.recheck(session, scope_of("operator_a"), notice.id, True, "", later)
    rectification.recheck(session, scope_of("bureau_c1"), notice.id, False, "复查仍未达标", later)
    assert notice.status is NoticeStatus.escalated and notice.recheck_note == "复查仍未达标"
    with pytest.raises(Conflict):
        rectification.recheck(session, scope_of("bureau_c1"), notice.id, True, "", later)


def test_unanswered_notices_turn_overdue_after_the_deadline_day(session, failing_a, scope_of):
    notice = rectification.issue_notices(session, [failing_a[0]], ISSUED)[0]
    assert rectification.flag_overdue(session, datetime(2026, 12, 5, 15, 0, tzinfo=UTC)) == 0  # the deadline day
    assert rectification.flag_overdue(session, datetime(2026, 12, 6, 1, 0, tzinfo=UTC)) == 1
    assert notice.overdue and rectification.flag_overdue(session, datetime(2026, 12, 7, tzinfo=UTC)) == 0
    listed = rectification.notices(session, scope_of("bureau_c1"), NoticeStatus.open)
    assert [row.id for row, _ in listed] == [notice.id]
    assert rectification.notices(session, scope_of("bureau_k2")) == []
    # Overdue without an answer: the bureau may escalate it.
    rectification.recheck(session, scope_of("bureau_c1"), notice.id, False, "逾期未整改", ISSUED)
    assert notice.status is NoticeStatus.escalated
