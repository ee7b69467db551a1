"""Standards chosen per bureau and period, and scorecards for every canteen from its data and evidence."""
from datetime import UTC, date, datetime

import pytest

from canteen.assessment import evidence, service
from canteen.assessment.models import EvaluationKind
from canteen.assessment.periods import parse_period
from canteen.assessment.standard import StandardFileError, reference_standard
from canteen.errors import Forbidden

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
