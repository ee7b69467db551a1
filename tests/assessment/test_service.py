"""Standards chosen per bureau and period, and scorecards for every canteen from its data and evidence."""
from datetime import UTC, date, datetime

import pytest

from canteen.assessment import evidence, service
from canteen.assessment.models import Evaluation, EvaluationAnswer, EvaluationKind, EvaluationStatus
from canteen.assessment.periods import parse_period
from canteen.assessment.standard import StandardFileError, reference_standard
from canteen.errors import Forbidden
from canteen.org.models import Meal
from canteen.weighing.models import DailyRollup, DinerSource

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
Q4 = parse_period("2026-Q4")
SELF_ITEMS = ("S1", "S2", "S3", "M3", "M4", "G1", "G2", "G3", "E1")


def local_standard(code: str) -> str:
    """The reference standard under another code, with a stricter plate-waste line."""
    return reference_standard().text.replace('code = "CANTEEN-REF"', f'code = "{code}"').replace(
        "full_at = 30\n", "full_at = 20\n", 1)


def test_a_bureau_loads_a_standard_and_canteens_below_use_it_from_its_date(session, org, scope_of):
    bureau = scope_of("bureau_c1")
    loaded = service.load_standard(session, bureau, local_standard("DB36/T 1-2026"), "local.toml", NOW)
    assert service.load_standard(session, bureau, local_standard("DB36/T 1-2026"), "again.toml", NOW).id == loaded.id
    service.choose_standard(session, bureau, org.c1, loaded.id, date(2026, 10, 1), NOW)
    canteens = [session.get(service.Canteen, org.canteens[key]) for key in ("a", "h", "b")]
    chosen = service.standards_for(session, canteens, date(2026, 10, 31), NOW)
    assert [chosen[canteen.id].code for canteen in canteens] == ["DB36/T 1-2026", "DB36/T 1-2026", "CANTEEN-REF"]
    before = service.standards_for(session, canteens, date(2026, 9, 30), NOW)
    assert {row.code for row in before.values()} == {"CANTEEN-REF"}
    # A county's own choice wins over its city's for its canteens.
    county = service.load_standard(session, bureau, local_standard("K1-2026"), "k1.toml", NOW)
    service.choose_standard(session, bureau, org.k1, county.id, date(2026, 11, 1), NOW)
    later = service.standards_for(session, canteens, date(2026, 11, 30), NOW)
    assert [later[canteen.id].code for canteen in canteens] == ["K1-2026", "DB36/T 1-2026", "CANTEEN-REF"]


def test_a_broken_standard_file_is_refused_and_operators_cannot_load_one(session, scope_of):
    broken = local_standard("X").replace("points = 10\n", "points = 11\n", 1)
    with pytest.raises(StandardFileError) as refused:
        service.load_standard(session, scope_of("bureau_c1"), broken, "bad.toml", NOW)
    assert "bad.toml:" in str(refused.value)
    with pytest.raises(Forbidden):
        service.load_standard(session, scope_of("operator_a"), local_standard("X"), "x.toml", NOW)


def submit(session, scope, canteen_id, kind, answers):
    row = evidence.evaluation(session, scope, canteen_id, Q4, kind, NOW)
    evidence.save_answers(session, scope, row.id, {item: (answer, "") for item, answer in answers.items()}, NOW,
                          submit=kind is EvaluationKind.self)
    return row


def test_quarterly_scorecards_take_self_evaluation_inspection_vetoes_and_bonuses(session, org, scope_of):
    a, h = org.canteens["a"], org.canteens["h"]
    submit(session, scope_of("operator_a"), a, EvaluationKind.self, {item: "met" for item in SELF_ITEMS})
    inspection = submit(session, scope_of("bureau_c1"), a, EvaluationKind.inspection,
                        {item: "met" for item in SELF_ITEMS} | {"S1": "not_met"})
    evidence.save_answers(session, scope_of("bureau_c1"), inspection.id, {}, NOW, submit=True)
    evidence.award_bonus(session, scope_of("bureau_c1"), a, "B1", date(2026, 11, 2), "", NOW)
    evidence.record_veto(session, scope_of("bureau_c1"), h, "V2", date(2026, 10, 20), "数据造假", NOW)
    cards = {card.canteen_id: card for card in service.compute_scorecards(session, Q4, NOW)}
    assert set(cards) == set(org.canteens.values())
    card = cards[a]
    lines = {line["id"]: line for line in card.body["indicators"]}
    # Inspection overrides the self-evaluation for S1; no data for the metric indicators (no weighing at all).
    assert lines["S1"]["answered_by"] == "inspection" and float(lines["S1"]["earned"]) == 0
    assert lines["S2"]["answered_by"] == "inspection" and float(lines["S2"]["earned"]) == 5
    assert {line["id"]: line for line in cards[h].body["indicators"]}["S1"]["reason"]["text"] == "无数据"
    assert lines["W2"]["reason"]["text"] == "无数据"
    # Checklist 46 − 5 (S1) = 41, plus bonus B1 2 = 43.
    assert card.total == 43.0 and card.grade == "不合格" and not card.vetoed
    assert cards[h].vetoed and cards[h].grade == "不合格"
    assert card.body["metrics"]["plate_waste_g_per_diner"]["value"] is None
    again = {row.canteen_id: row for row in service.compute_scorecards(session, Q4, NOW)}
    assert again[a].body == card.body  # deterministic
    assert len(service.scorecards(session, scope_of("bureau_c1"), Q4)) == 2  # A and H are C1's


def test_ranks_and_trend(session, org, stored_scorecard):
    a, h, b = org.canteens["a"], org.canteens["h"], org.canteens["b"]
    good = {"plate_waste_g_per_diner": 20.0}
    first = stored_scorecard(a, "2026-Q3", {"plate_waste_g_per_diner": 80.0})
    cards = [stored_scorecard(a, "2026-Q4", good), stored_scorecard(h, "2026-Q4", {"plate_waste_g_per_diner": 60.0}),
             stored_scorecard(b, "2026-Q4", good)]
    canteen_a, canteen_h = session.get(service.Canteen, a), session.get(service.Canteen, h)
    # A (in county K1) and H (directly under city C1) are both ranked within C1; B sits in C2.
    assert service.ranks(session, cards[0], canteen_a) == {"jurisdiction": (1, 2), "serving_mode": (1, 1)}
    assert service.ranks(session, cards[1], canteen_h) == {"jurisdiction": (2, 2), "serving_mode": (1, 1)}
    assert [period for period, _, _ in service.trend(session, cards[0])] == [first.period, "2026-Q4"]


def evaluation(session, canteen_id, quarter, kind, submitted_at, answers, status=EvaluationStatus.submitted):
    row = Evaluation(canteen_id=canteen_id, period=quarter, kind=kind, status=status,
                     standard_id=service.reference_row(session, NOW).id, updated_at=submitted_at,
                     submitted_at=submitted_at if status is EvaluationStatus.submitted else None)
    session.add(row)
    session.flush()
    session.add_all([EvaluationAnswer(evaluation_id=row.id, indicator_id=item, answer=answer, note=note)
                     for item, (answer, note) in answers.items()])


def test_monthly_scorecards_of_a_batch_follow_the_standards_rules(session, org, scope_of):
    """Lines of three canteens' bodies worked by hand from the reference standard; the latest answers of each kind
    submitted by the month's end are carried in, drafts and later ones are not."""
    a, b, h = org.canteens["a"], org.canteens["b"], org.canteens["h"]
    # A: 100 diners on two weighed lunches, 5,230 g of plate waste, 76 clean plates.
    for day, diners, grams, clean in ((date(2026, 11, 2), 60, 3000, 45), (date(2026, 11, 3), 40, 2230, 31)):
        session.add(DailyRollup(canteen_id=a, service_date=day, meal=Meal.lunch, diners=diners,
                                diner_source=DinerSource.plates, plates=diners, plate_waste_g=grams,
                                clean_plates=clean, stations_reporting=1, stations_expected=1, computed_at=NOW))
    evaluation(session, a, "2026-Q3", EvaluationKind.self, datetime(2026, 9, 28, tzinfo=UTC), {"S1": ("not_met", "")})
    evaluation(session, a, "2026-Q4", EvaluationKind.self, datetime(2026, 11, 10, tzinfo=UTC),
               {"S1": ("met", ""), "S2": ("partly", "")})
    evaluation(session, a, "2026-Q4", EvaluationKind.inspection, datetime(2026, 11, 20, tzinfo=UTC),
               {"S2": ("not_met", "未公示")})
    evaluation(session, h, "2026-Q3", EvaluationKind.self, datetime(2026, 9, 28, tzinfo=UTC), {"S1": ("partly", "")})
    evaluation(session, h, "2026-Q4", EvaluationKind.self, datetime(2026, 12, 1, tzinfo=UTC), {"S1": ("met", "")})
    evaluation(session, b, "2026-Q4", EvaluationKind.self, NOW, {"S1": ("met", "")}, status=EvaluationStatus.draft)
    bureau = scope_of("admin")
    evidence.award_bonus(session, bureau, a, "B1", date(2026, 11, 5), "", NOW)
    evidence.record_veto(session, bureau, h, "V2", date(2026, 11, 12), "数据造假", NOW)
    evidence.award_bonus(session, bureau, b, "B2", date(2026, 10, 31), "", NOW)  # in October: not this month's
    november = parse_period("2026-11")
    cards = {card.canteen_id: card for card in service.compute_scorecards(session, november, NOW)}
    lines = {canteen_id: {line["id"]: line for line in card.body["indicators"]} for canteen_id, card in cards.items()}

    def line(id_, name, dimension, method, points, earned, metric=None, value=None, answer=None, by=None, note=None,
             reason=None):
        return {"id": id_, "name": name, "dimension": dimension, "method": method, "points": points,
                "earned": earned, "lost": round(points - earned, 2), "metric": metric, "value": value, "answer": answer,
                "answered_by": by, "note": note, "reason": reason}

    # W2: 5,230 g / 100 diners = 52.3 g; 10 × (90 − 52.3) / (90 − 30) = 6.2833… → 6.28.
    assert lines[a]["W2"] == line("W2", "人均餐余量", "monitoring", "linear", 10.0, 6.28, "plate_waste_g_per_diner",
                                  52.3, reason={"kind": "metric_rule", "params": {
                                      "metric": "plate_waste_g_per_diner", "value": 52.3, "method": "linear",
                                      "full_at": 30, "zero_at": 90},
                                      "text": "人均餐余量 52.3 克/人·餐，高于满分线 30（0 分线 90）"})
    # E2: 76 / 100 = 0.76, the first band that holds is ≥ 0.7: 3 of 5.
    bands = [{"at_least": 0.9, "points": 5}, {"at_least": 0.8, "points": 4}, {"at_least": 0.7, "points": 3},
             {"at_least": 0.6, "points": 2}]
    assert lines[a]["E2"] == line("E2", "光盘行动", "education", "bands", 5.0, 3.0, "clean_plate_rate", 0.76,
                                  reason={"kind": "metric_rule", "params": {
                                      "metric": "clean_plate_rate", "value": 0.76, "method": "bands",
                                      "band": bands[2], "bands": bands},
                                      "text": "光盘率 76%，适用档 ≥70%（3 分），最高档 ≥90%（5 分）"})
    # S1: the Q4 self-evaluation (met) replaces Q3's; S2: the inspection overrides the self-evaluation.
    assert lines[a]["S1"] == line("S1", "工作制度与责任人", "system", "checklist", 5.0, 5.0, answer="met", by="self")
    assert lines[a]["S2"] == line("S2", "用餐预约/餐前统计制度", "system", "checklist", 5.0, 0.0, answer="not_met",
                                  by="inspection", note="未公示", reason={
                                      "kind": "checklist", "params": {"answer": "not_met", "by": "inspection",
                                                                      "note": "未公示"},
                                      "text": "检查组评定：未达到（未公示）"})
    assert cards[a].body["dimensions"][0] == {"id": "system", "name": "制度建设", "points": 15.0, "earned": 5.0}
    assert (cards[a].body["bonuses"], cards[a].body["bonus_points"]) == (
        [{"id": "B1", "name": "经验做法被上级推广", "points": 2.0}], 2.0)
    # H: its Q4 self-evaluation came after the month, so Q3's partly holds: 5 × 0.5; vetoed, so the lowest grade.
    assert lines[h]["S1"] == line("S1", "工作制度与责任人", "system", "checklist", 5.0, 2.5, answer="partly", by="self",
                                  reason={"kind": "checklist", "params": {"answer": "partly", "by": "self",
                                                                          "note": None}, "text": "自评：部分达到"})
    assert cards[h].body["vetoes"] == [{"id": "V2", "name": "监测数据弄虚作假"}]
    assert (cards[h].vetoed, cards[h].grade) == (True, "不合格")
    # B: only a draft and no data at all; October's bonus is not November's.
    no_data = {"kind": "no_data", "params": {}, "text": "无数据"}
    assert lines[b]["S1"] == line("S1", "工作制度与责任人", "system", "checklist", 5.0, 0.0, reason=no_data)
    assert lines[b]["W2"] == line("W2", "人均餐余量", "monitoring", "linear", 10.0, 0.0, "plate_waste_g_per_diner",
                                  reason=no_data | {"params": {"metric": "plate_waste_g_per_diner"}})
    assert cards[b].body["bonuses"] == [] and cards[b].body["metrics"]["diners"]["value"] is None
    # Computing again replaces each scorecard in place (same id), with what changed since.
    ids, total = {canteen_id: card.id for canteen_id, card in cards.items()}, cards[a].total
    evidence.award_bonus(session, bureau, a, "B3", date(2026, 11, 6), "", NOW)
    again = {card.canteen_id: card for card in service.compute_scorecards(session, november, NOW)}
    assert {canteen_id: card.id for canteen_id, card in again.items()} == ids
    assert [bonus["id"] for bonus in again[a].body["bonuses"]] == ["B1", "B3"] and again[a].total == total + 1
