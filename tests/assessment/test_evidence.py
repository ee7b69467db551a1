"""Self-evaluations, inspections, files, vetoes and bonuses: who may record what, and what is refused."""
from datetime import UTC, date, datetime

import pytest

from canteen.assessment import evidence, service
from canteen.assessment.models import AssessmentStandard, EvaluationKind, EvaluationStatus
from canteen.assessment.periods import parse_period
from canteen.errors import Conflict, Forbidden, InvalidInput, NotFound, PayloadTooLarge
from tests.support.files import PNG

NOW = datetime(2026, 12, 20, 2, 0, tzinfo=UTC)
Q4 = parse_period("2026-Q4")
SELF_ITEMS = ["S1", "S2", "S3", "M3", "M4", "G1", "G2", "G3", "E1"]  # the reference standard's checklist


def test_the_operator_fills_and_submits_the_self_evaluation(session, org, scope_of):
    operator = scope_of("operator_a")
    row = evidence.evaluation(session, operator, org.canteens["a"], Q4, EvaluationKind.self, NOW)
    standard = service.parsed(session.get(AssessmentStandard, row.standard_id))
    assert standard.code == "CANTEEN-REF"  # no bureau chose a standard: the reference one
    assert [item.id for item in evidence.checklist_items(standard, EvaluationKind.self)] == SELF_ITEMS
    evidence.save_answers(session, operator, row.id, {"S1": ("met", ""), "S2": ("partly", "只有午餐预约")}, NOW)
    with pytest.raises(InvalidInput) as missing:
        evidence.save_answers(session, operator, row.id, {}, NOW, submit=True)
    assert missing.value.params["ids"] == "S3, M3, M4, G1, G2, G3, E1"
    evidence.save_answers(session, operator, row.id, {item: ("met", "") for item in SELF_ITEMS[2:]}, NOW,
                          submit=True)
    assert row.status is EvaluationStatus.submitted and row.submitted_at == NOW
    assert evidence.answers_of(session, row.id)["S2"].note == "只有午餐预约"
    with pytest.raises(Conflict):
        evidence.save_answers(session, operator, row.id, {"S1": ("not_met", "")}, NOW)
    # Asking again gives the same evaluation, not a second one.
    assert evidence.evaluation(session, operator, org.canteens["a"], Q4, EvaluationKind.self, NOW).id == row.id


def test_unknown_items_and_answers_are_refused(session, org, scope_of):
    operator = scope_of("operator_a")
    row = evidence.evaluation(session, operator, org.canteens["a"], Q4, EvaluationKind.self, NOW)
    with pytest.raises(InvalidInput) as metric_item:
        evidence.save_answers(session, operator, row.id, {"W2": ("met", "")}, NOW)
    assert metric_item.value.field == "W2"
    with pytest.raises(InvalidInput):
        evidence.save_answers(session, operator, row.id, {"S1": ("yes", "")}, NOW)


def test_who_may_fill_which_evaluation(session, org, scope_of):
    with pytest.raises(Forbidden):
        evidence.evaluation(session, scope_of("bureau_c1"), org.canteens["a"], Q4, EvaluationKind.self, NOW)
    with pytest.raises(Forbidden):
        evidence.evaluation(session, scope_of("operator_a"), org.canteens["a"], Q4, EvaluationKind.inspection, NOW)
    with pytest.raises(NotFound):  # canteen B is outside C1's jurisdiction
        evidence.evaluation(session, scope_of("bureau_c1"), org.canteens["b"], Q4, EvaluationKind.inspection, NOW)
    inspection = evidence.evaluation(session, scope_of("bureau_c1"), org.canteens["a"], Q4,
                                     EvaluationKind.inspection, NOW)
    evidence.save_answers(session, scope_of("bureau_c1"), inspection.id, {"S1": ("not_met", "未见制度文件")}, NOW,
                          visited_on=date(2026, 12, 18))
    assert inspection.visited_on == date(2026, 12, 18)


def test_files_are_kept_with_their_hash_and_limits_apply(session, org, scope_of):
    operator = scope_of("operator_a")
    row = evidence.evaluation(session, operator, org.canteens["a"], Q4, EvaluationKind.self, NOW)
    photo = PNG
    stored = evidence.attach_file(session, operator, row.id, "S1", "制度.png", "image/png", photo, NOW)
    assert stored.size == len(photo) and len(stored.sha256) == 64
    assert evidence.get_file(session, scope_of("bureau_c1"), stored.id).data == photo
    with pytest.raises(NotFound):
        evidence.get_file(session, scope_of("operator_b"), stored.id)
    with pytest.raises(InvalidInput):
        evidence.attach_file(session, operator, row.id, None, "run.exe", "application/x-msdownload", b"MZ", NOW)
    with pytest.raises(PayloadTooLarge):
        evidence.attach_file(session, operator, row.id, None, "big.pdf", "application/pdf",
                             bytes(evidence.MAX_FILE_BYTES + 1), NOW)


def test_vetoes_and_bonuses_must_exist_in_the_standard(session, org, scope_of):
    bureau = scope_of("bureau_c1")
    veto = evidence.record_veto(session, bureau, org.canteens["a"], "V1", date(2026, 11, 3), "媒体曝光", NOW)
    bonus = evidence.award_bonus(session, bureau, org.canteens["a"], "B1", date(2026, 11, 5), "", NOW)
    assert evidence.events_of(session, scope_of("operator_a"), org.canteens["a"]) == ([veto], [bonus])
    with pytest.raises(InvalidInput) as unknown:
        evidence.record_veto(session, bureau, org.canteens["a"], "V9", date(2026, 11, 3), "", NOW)
    assert unknown.value.field == "veto_id"
    with pytest.raises(Forbidden):
        evidence.award_bonus(session, scope_of("operator_a"), org.canteens["a"], "B1", date(2026, 11, 5), "", NOW)


def test_evaluations_are_quarterly(session, org, scope_of):
    with pytest.raises(InvalidInput) as refused:
        evidence.evaluation(session, scope_of("operator_a"), org.canteens["a"], parse_period("2026-10"),
                            EvaluationKind.self, NOW)
    assert refused.value.field == "period"
