"""The scoring engine, rule by rule, with scores computed by hand; then a whole canteen on the reference standard."""
import json
from dataclasses import asdict
from decimal import Decimal

import pytest
from pydantic import ValidationError

from canteen.assessment.scoring import (
    AssessmentInput,
    AssessmentInputError,
    IndicatorScore,
    Scorecard,
    score,
)
from canteen.assessment.standard import Standard, parse_standard, reference_standard

HEADER = """\
[standard]
code = "T"
title = "测试标准"
version = "1"
total = {total}
bonus_cap = 5

[[grades]]
name = "优秀"
min = 90
[[grades]]
name = "良好"
min = 80
[[grades]]
name = "合格"
min = 70
[[grades]]
name = "不合格"
min = 0

[[dimensions]]
id = "d"
name = "维度"
points = {total}

[[dimensions.indicators]]
id = "I"
name = "指标"
points = {total}
"""
PLATE_WASTE = 'method = "linear"\nmetric = "plate_waste_g_per_diner"\nfull_at = 30\nzero_at = 90'
COVERAGE = 'method = "linear"\nmetric = "weighing_coverage"\nfull_at = 0.95\nzero_at = 0.5'
YOY = 'method = "linear"\nmetric = "plate_waste_change_yoy_pct"\nfull_at = -15\nzero_at = 0'
SMALL_PORTIONS = ('method = "bands"\nmetric = "small_portion_share"\n'
                  'bands = [{ at_least = 0.5, points = 6 }, { at_least = 0.3, points = 4 }, '
                  '{ at_least = 0.1, points = 2 }]')
WAPE_BANDS = ('method = "bands"\nmetric = "forecast_wape"\n'
              'bands = [{ at_most = 0.1, points = 5 }, { at_most = 0.2, points = 3 }, { at_most = 0.3, points = 1 }]')
CHECKLIST = 'method = "checklist"\npartial = 0.5\nevidence = ["self", "inspection"]'
# One indicator worth the whole 100 points: earned = 100 - x for x between 0 and 100.
HUNDRED = 'method = "linear"\nmetric = "plate_waste_g_per_diner"\nfull_at = 0\nzero_at = 100'
VETOES_AND_BONUSES = """
[[vetoes]]
id = "V1"
name = "严重浪费"
[[vetoes]]
id = "V2"
name = "数据造假"
[[bonuses]]
id = "B1"
name = "推广"
points = 2
[[bonuses]]
id = "B2"
name = "评优"
points = 2
[[bonuses]]
id = "B3"
name = "创新"
points = 1
[[bonuses]]
id = "B4"
name = "示范"
points = 3
"""


def one(rule: str, total: float, extra: str = "") -> Standard:
    """A standard whose only indicator, I, is worth all `total` points and follows `rule`."""
    return parse_standard(HEADER.format(total=total) + rule + "\n" + extra, "t.toml")


def indicator(standard: Standard, **data: object) -> IndicatorScore:
    [line] = score(standard, AssessmentInput.model_validate(data)).indicators
    return line


def earned(standard: Standard, **data: object) -> Decimal:
    return indicator(standard, **data).earned


def card(standard: Standard, **data: object) -> Scorecard:
    return score(standard, AssessmentInput.model_validate(data))


def plate_waste(value: float | None) -> dict[str, float | None]:
    return {"plate_waste_g_per_diner": value}


# linear -------------------------------------------------------------------------------------------------------

def test_linear_lower_is_better_between_the_lines() -> None:
    # 10 × (90 − 52.3) / (90 − 30) = 10 × 37.7 / 60 = 6.2833… → 6.28
    line = indicator(one(PLATE_WASTE, 10), metrics=plate_waste(52.3))
    assert (line.earned, line.lost, line.value, line.metric) == (Decimal("6.28"), Decimal("3.72"), 52.3,
                                                                 "plate_waste_g_per_diner")
    assert line.reason.kind == "metric_rule"
    assert line.reason.text == "人均餐余量 52.3 克/人·餐，高于满分线 30（0 分线 90）"
    assert line.reason.params == {"metric": "plate_waste_g_per_diner", "value": 52.3, "method": "linear",
                                  "full_at": 30, "zero_at": 90}
    assert earned(one(PLATE_WASTE, 10), metrics=plate_waste(60)) == Decimal("5.00")  # 10 × 30 / 60


@pytest.mark.parametrize(("value", "expected"), [(30, "10.00"), (20, "10.00"), (0, "10.00"), (90, "0.00"),
                                                 (120, "0.00")])
def test_linear_is_clamped_at_both_lines(value, expected) -> None:
    assert earned(one(PLATE_WASTE, 10), metrics=plate_waste(value)) == Decimal(expected)


def test_linear_clamped_at_zero_still_says_why() -> None:
    line = indicator(one(PLATE_WASTE, 10), metrics=plate_waste(120))
    assert (line.lost, line.reason.text) == (Decimal("10.00"), "人均餐余量 120 克/人·餐，高于满分线 30（0 分线 90）")


def test_full_points_carry_no_reason() -> None:
    line = indicator(one(PLATE_WASTE, 10), metrics=plate_waste(25))
    assert (line.lost, line.reason) == (Decimal("0.00"), None)


@pytest.mark.parametrize(("value", "expected"), [
    (0.8, "3.33"),  # 5 × (0.5 − 0.8) / (0.5 − 0.95) = 5 × 0.3 / 0.45 = 3.333…
    (0.86, "4.00"),  # 5 × 0.36 / 0.45 = 4
    (0.95, "5.00"), (1.0, "5.00"), (0.5, "0.00"), (0.3, "0.00"),
])
def test_linear_higher_is_better(value, expected) -> None:
    assert earned(one(COVERAGE, 5), metrics={"weighing_coverage": value}) == Decimal(expected)


def test_higher_is_better_reason_shows_shares_as_percentages() -> None:
    line = indicator(one(COVERAGE, 5), metrics={"weighing_coverage": 0.8})
    assert line.reason.text == "称重计量覆盖率 80%，低于满分线 95%（0 分线 50%）"


@pytest.mark.parametrize(("value", "expected"), [
    (-6, "2.00"),  # 5 × (0 − (−6)) / (0 − (−15)) = 5 × 6 / 15 = 2
    (-12.3, "4.10"),  # 5 × 12.3 / 15 = 4.1
    (-15, "5.00"), (-20, "5.00"), (0, "0.00"), (4, "0.00"),
])
def test_improvement_against_last_year_with_a_negative_full_line(value, expected) -> None:
    assert earned(one(YOY, 5), metrics={"plate_waste_change_yoy_pct": value}) == Decimal(expected)


def test_improvement_reason() -> None:
    line = indicator(one(YOY, 5), metrics={"plate_waste_change_yoy_pct": -6})
    assert line.reason.text == "人均餐余量同比变化 -6%，高于满分线 -15%（0 分线 0%）"


# bands --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [(0.35, "4.00"), (0.5, "6.00"), (0.8, "6.00"), (0.3, "4.00"),
                                                 (0.1, "2.00"), (0.29, "2.00"), (0.05, "0.00")])
def test_at_least_bands_first_that_holds(value, expected) -> None:
    assert earned(one(SMALL_PORTIONS, 6), metrics={"small_portion_share": value}) == Decimal(expected)


def test_band_reasons() -> None:
    held = indicator(one(SMALL_PORTIONS, 6), metrics={"small_portion_share": 0.35})
    assert held.reason.text == "小份菜半份菜占比 35%，适用档 ≥30%（4 分），最高档 ≥50%（6 分）"
    assert held.reason.params["band"] == {"at_least": 0.3, "points": 4}
    none = indicator(one(SMALL_PORTIONS, 6), metrics={"small_portion_share": 0.05})
    assert (none.lost, none.reason.text) == (Decimal("6.00"), "小份菜半份菜占比 5%，未达到最低档 ≥10%")
    assert none.reason.params["band"] is None


@pytest.mark.parametrize(("value", "expected"), [(0.15, "3.00"), (0.1, "5.00"), (0.02, "5.00"), (0.3, "1.00"),
                                                 (0.35, "0.00")])
def test_at_most_bands(value, expected) -> None:
    assert earned(one(WAPE_BANDS, 5), metrics={"forecast_wape": value}) == Decimal(expected)


def test_at_most_band_reason() -> None:
    line = indicator(one(WAPE_BANDS, 5), metrics={"forecast_wape": 0.15})
    assert line.reason.text == "备餐预测误差（WAPE） 15%，适用档 ≤20%（3 分），最高档 ≤10%（5 分）"


# checklists ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("answer", "expected", "reason"), [
    ("met", "5.00", None), ("partly", "2.50", "自评：部分达到"), ("not_met", "0.00", "自评：未达到")])
def test_checklist_answers(answer, expected, reason) -> None:
    line = indicator(one(CHECKLIST, 5), checklist={"I": answer})
    assert (line.earned, line.answer, line.answered_by) == (Decimal(expected), answer, "self")
    assert (line.reason and line.reason.text) == reason


def test_partly_is_worth_points_times_partial() -> None:
    rule = CHECKLIST.replace("partial = 0.5", "partial = 0.3")
    assert earned(one(rule, 5), checklist={"I": "partly"}) == Decimal("1.50")


@pytest.mark.parametrize("answers", [
    [{"answer": "met", "by": "self"}, {"answer": "partly", "by": "inspection"}],
    [{"answer": "partly", "by": "inspection", "note": "台账不全"}, {"answer": "not_met"}],
])
def test_an_inspection_answer_overrides_the_self_evaluation(answers) -> None:
    line = indicator(one(CHECKLIST, 5), checklist={"I": answers})
    assert (line.earned, line.answer, line.answered_by) == (Decimal("2.50"), "partly", "inspection")
    assert line.reason.kind == "checklist"
    assert line.reason.text.startswith("检查组评定：部分达到")
    assert line.reason.params["by"] == "inspection"


def test_a_note_goes_into_the_reason() -> None:
    line = indicator(one(CHECKLIST, 5), checklist={"I": {"answer": "not_met", "by": "inspection", "note": "无台账"}})
    assert (line.note, line.reason.text) == ("无台账", "检查组评定：未达到（无台账）")


# no data ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("rule", "data"), [
    (CHECKLIST, {}), (CHECKLIST, {"checklist": {"I": []}}),
    (PLATE_WASTE, {}), (PLATE_WASTE, {"metrics": plate_waste(None)}),
])
def test_no_data_scores_zero_by_default(rule, data) -> None:
    line = indicator(one(rule, 5), **data)
    assert (line.earned, line.lost, line.value, line.answer) == (Decimal("0.00"), Decimal("5.00"), None, None)
    assert (line.reason.kind, line.reason.text) == ("no_data", "无数据")


@pytest.mark.parametrize("rule", [CHECKLIST, PLATE_WASTE])
def test_no_data_full_scores_full_points(rule) -> None:
    line = indicator(one(rule + '\nno_data = "full"', 5))
    assert (line.earned, line.reason) == (Decimal("5.00"), None)


# rounding -----------------------------------------------------------------------------------------------------

def test_indicator_scores_round_half_up_to_two_decimals() -> None:
    # 5 × 0.333 = 1.665 → 1.67 (binary floats and banker's rounding would both give 1.66)
    rule = CHECKLIST.replace("partial = 0.5", "partial = 0.333")
    assert earned(one(rule, 5), checklist={"I": "partly"}) == Decimal("1.67")
    # 10 × (80 − 0.6) / 80 = 9.925 → 9.93
    rule = 'method = "linear"\nmetric = "plate_waste_g_per_diner"\nfull_at = 0\nzero_at = 80'
    assert earned(one(rule, 10), metrics=plate_waste(0.6)) == Decimal("9.93")


@pytest.mark.parametrize(("waste", "indicators", "total", "grade"), [
    (10.05, "89.95", "90.0", "优秀"),
    (10.15, "89.85", "89.9", "良好"),  # half-even would give 89.8
    (20.05, "79.95", "80.0", "良好"),
    (30.05, "69.95", "70.0", "合格"),
    (30.06, "69.94", "69.9", "不合格"),
])
def test_total_rounds_half_up_to_one_decimal_and_the_grade_reads_the_rounded_total(waste, indicators, total,
                                                                                   grade) -> None:
    result = card(one(HUNDRED, 100), metrics=plate_waste(waste))
    assert result.indicators[0].earned == Decimal(indicators)
    assert (result.total, result.grade) == (Decimal(total), grade)


# vetoes and bonuses -------------------------------------------------------------------------------------------

def test_bonuses_add_at_most_the_cap() -> None:
    # 100 − 40 = 60 from the indicator; bonuses 2 + 2 + 1 + 3 = 8, capped at 5 → 65.0
    result = card(one(HUNDRED, 100, VETOES_AND_BONUSES), metrics=plate_waste(40),
                  bonuses=["B1", "B2", "B3", "B4"])
    assert [bonus.id for bonus in result.bonuses] == ["B1", "B2", "B3", "B4"]
    assert (result.bonus_points, result.total) == (Decimal(5), Decimal("65.0"))


def test_bonuses_under_the_cap_all_count() -> None:
    result = card(one(HUNDRED, 100, VETOES_AND_BONUSES), metrics=plate_waste(40), bonuses=["B1", "B3"])
    assert (result.bonus_points, result.total) == (Decimal(3), Decimal("63.0"))


def test_the_total_never_exceeds_the_standard_total() -> None:
    # 98 + 3 = 101 → 100
    result = card(one(HUNDRED, 100, VETOES_AND_BONUSES), metrics=plate_waste(2), bonuses=["B4"])
    assert (result.total, result.possible, result.grade) == (Decimal("100.0"), Decimal(100), "优秀")


def test_a_veto_sets_the_lowest_grade_and_the_total_still_shows() -> None:
    result = card(one(HUNDRED, 100, VETOES_AND_BONUSES), metrics=plate_waste(5), vetoes=["V2"])
    assert (result.total, result.grade) == (Decimal("95.0"), "不合格")
    assert [(veto.id, veto.name) for veto in result.vetoes] == [("V2", "数据造假")]
    assert card(one(HUNDRED, 100, VETOES_AND_BONUSES), metrics=plate_waste(5)).grade == "优秀"


# input mistakes -----------------------------------------------------------------------------------------------

def test_unknown_ids_and_metrics_are_refused_all_together() -> None:
    standard = one(PLATE_WASTE, 10, VETOES_AND_BONUSES)
    data = AssessmentInput.model_validate({
        "metrics": {"plate_waste_g_per_diner": 40, "leftovers": 3, "diners": 120},
        "checklist": {"I": "met", "S9": "met"}, "vetoes": ["V1", "V7"], "bonuses": ["B9", "B8"]})
    with pytest.raises(AssessmentInputError) as caught:
        score(standard, data)
    assert caught.value.problems == [
        "metrics.leftovers: unknown metric; known metrics: diners, plate_waste_g_per_diner, "
        "kitchen_waste_g_per_diner, surplus_food_g_per_diner, clean_plate_rate, plate_waste_change_yoy_pct, "
        "plate_waste_change_pop_pct, booking_rate, forecast_wape, weighing_coverage, small_portion_share, "
        "kitchen_waste_kg_per_diner, waste_cost_yuan_per_diner",
        "checklist.I: I is scored from the metric plate_waste_g_per_diner, not from a checklist answer",
        "checklist.S9: T 1 has no indicator S9",
        "vetoes: T 1 has no veto V7",
        "bonuses: T 1 has no bonus B9, B8"]


def test_two_answers_from_one_source_or_from_a_source_the_standard_does_not_take() -> None:
    rule = CHECKLIST.replace('["self", "inspection"]', '["inspection"]')
    data = AssessmentInput.model_validate({"checklist": {"I": [
        {"answer": "met", "by": "self"}, {"answer": "partly", "by": "inspection"},
        {"answer": "met", "by": "inspection"}]}})
    with pytest.raises(AssessmentInputError) as caught:
        score(one(rule, 5), data)
    assert caught.value.problems == [
        "checklist.I: an answer by self is not evidence for this indicator (it takes inspection)",
        "checklist.I: more than one answer by inspection"]


@pytest.mark.parametrize(("data", "location"), [
    ({"checklist": {"I": "done"}}, ("checklist", "I", 0, "answer")),
    ({"checklist": {"I": {"answer": "met", "by": "bureau"}}}, ("checklist", "I", 0, "by")),
    ({"metrics": {"diners": "120"}}, ("metrics", "diners")),
    ({"metrics": {"diners": True}}, ("metrics", "diners")),
    ({"metrics": {"diners": float("nan")}}, ("metrics", "diners")),
    ({"veto": ["V1"]}, ("veto",)),
])
def test_malformed_input_is_refused_with_its_location(data, location) -> None:
    with pytest.raises(ValidationError) as caught:
        AssessmentInput.model_validate(data)
    assert [error["loc"][:len(location)] for error in caught.value.errors()] == [location]


def test_scoring_is_deterministic_and_the_dict_is_json() -> None:
    data = AssessmentInput.model_validate({"metrics": plate_waste(52.3), "vetoes": ["V1"], "bonuses": ["B1"]})
    standard = one(PLATE_WASTE, 10, VETOES_AND_BONUSES)
    first, second = score(standard, data), score(standard, data)
    assert first == second
    result = json.loads(json.dumps(first.to_dict()))
    assert result["indicators"][0]["earned"] == 6.28 and result["indicators"][0]["reason"]["kind"] == "metric_rule"
    assert (result["total"], result["bonus_points"], result["grade"]) == (8.3, 2.0, "不合格")
    assert result["vetoes"] == [{"id": "V1", "name": "严重浪费"}]
    assert result["standard_hash"] == standard.content_hash


# a whole canteen ----------------------------------------------------------------------------------------------

WORKED_EXAMPLE = {
    "canteen": "市政府机关食堂", "period": "2026-Q3",
    "metrics": {"forecast_wape": 0.22, "small_portion_share": 0.35, "surplus_food_g_per_diner": 18.3,
                "clean_plate_rate": 0.76, "weighing_coverage": 0.86, "plate_waste_g_per_diner": 52.3,
                "plate_waste_change_yoy_pct": -9, "kitchen_waste_g_per_diner": 110, "diners": 18250,
                "booking_rate": None},
    "checklist": {"S1": "met",
                  "S2": [{"answer": "met"}, {"answer": "partly", "by": "inspection"}],
                  "M3": "partly", "M4": "met", "G1": "met",
                  "G2": {"answer": "partly", "by": "inspection", "note": "曝光栏未更新"},
                  "G3": "met", "E1": "met"},
    "bonuses": ["B1", "B3"],
}


def test_worked_example_on_the_reference_standard() -> None:
    """Every indicator worked by hand.

    制度建设 (15)
      S1 met (self)                                              5.00
      S2 self met, inspection partly: inspection wins, 5 × 0.5  2.50
      S3 no answer: 无数据                                       0.00    → 7.50
    措施落实 (35)
      M1 forecast_wape 0.22: 8 × (0.40 − 0.22) / (0.40 − 0.10) = 8 × 0.6           4.80
      M2 small_portion_share 0.35: first band that holds is ≥ 0.3                   4.00
      M3 partly (self): 5 × 0.5                                                     2.50
      M4 met                                                                        6.00
      M5 surplus 18.3 g: 10 × (50 − 18.3) / (50 − 10) = 10 × 0.7925 = 7.925 → 7.93  7.93  → 25.23
    监督管理 (15)
      G1 met 5.00; G2 partly by inspection 2.50; G3 met 5.00                              → 12.50
    宣传教育 (10)
      E1 met 5.00; E2 clean_plate_rate 0.76: band ≥ 0.7 → 3.00                            → 8.00
    浪费监测统计 (25)
      W1 coverage 0.86: 5 × (0.5 − 0.86) / (0.5 − 0.95) = 5 × 0.8                    4.00
      W2 plate waste 52.3 g: 10 × (90 − 52.3) / (90 − 30) = 6.2833… → 6.28           6.28
      W3 yoy −9%: 5 × (0 − (−9)) / (0 − (−15)) = 5 × 0.6                              3.00
      W4 kitchen waste 110 g: 5 × (200 − 110) / (200 − 80) = 5 × 0.75                 3.75  → 17.03
    Indicators: 7.50 + 25.23 + 12.50 + 8.00 + 17.03 = 70.26
    Bonuses: B1 2 + B3 1 = 3 (cap 5) → 73.26 → 73.3 → 合格 (70 ≤ 73.3 < 80)
    """
    result = score(reference_standard(), AssessmentInput.model_validate(WORKED_EXAMPLE))
    assert {line.id: line.earned for line in result.indicators} == {
        "S1": Decimal("5.00"), "S2": Decimal("2.50"), "S3": Decimal("0.00"),
        "M1": Decimal("4.80"), "M2": Decimal("4.00"), "M3": Decimal("2.50"), "M4": Decimal("6.00"),
        "M5": Decimal("7.93"),
        "G1": Decimal("5.00"), "G2": Decimal("2.50"), "G3": Decimal("5.00"),
        "E1": Decimal("5.00"), "E2": Decimal("3.00"),
        "W1": Decimal("4.00"), "W2": Decimal("6.28"), "W3": Decimal("3.00"), "W4": Decimal("3.75")}
    assert [(d.id, d.earned, d.points) for d in result.dimensions] == [
        ("system", Decimal("7.50"), 15), ("measures", Decimal("25.23"), 35), ("supervision", Decimal("12.50"), 15),
        ("education", Decimal("8.00"), 10), ("monitoring", Decimal("17.03"), 25)]
    assert (result.bonus_points, result.total, result.grade) == (Decimal(3), Decimal("73.3"), "合格")
    assert (result.canteen, result.period, result.standard_code, result.standard_version) == (
        "市政府机关食堂", "2026-Q3", "CANTEEN-REF", "1.0")
    reasons = {line.id: line.reason.text for line in result.indicators if line.reason}
    assert reasons == {
        "S2": "检查组评定：部分达到", "S3": "无数据",
        "M1": "备餐预测误差（WAPE） 22%，高于满分线 10%（0 分线 40%）",
        "M2": "小份菜半份菜占比 35%，适用档 ≥30%（4 分），最高档 ≥50%（6 分）",
        "M3": "自评：部分达到", "M5": "人均剩余饭菜 18.3 克/人·餐，高于满分线 10（0 分线 50）",
        "G2": "检查组评定：部分达到（曝光栏未更新）",
        "E2": "光盘率 76%，适用档 ≥70%（3 分），最高档 ≥90%（5 分）",
        "W1": "称重计量覆盖率 86%，低于满分线 95%（0 分线 50%）",
        "W2": "人均餐余量 52.3 克/人·餐，高于满分线 30（0 分线 90）",
        "W3": "人均餐余量同比变化 -9%，高于满分线 -15%（0 分线 0%）",
        "W4": "人均餐厨垃圾 110 克/人·餐，高于满分线 80（0 分线 200）"}


def test_worked_example_with_a_confirmed_veto_fails_whatever_the_total() -> None:
    result = score(reference_standard(), AssessmentInput.model_validate({**WORKED_EXAMPLE, "vetoes": ["V2"]}))
    assert (result.total, result.grade, [veto.id for veto in result.vetoes]) == (Decimal("73.3"), "不合格", ["V2"])


def test_the_dict_is_the_dataclass_field_by_field_decimals_as_floats() -> None:
    """to_dict is written out by hand for speed; it must stay what dataclasses.asdict gives, in the same order."""
    result = score(reference_standard(), AssessmentInput.model_validate(
        {**WORKED_EXAMPLE, "metrics": {**WORKED_EXAMPLE["metrics"], "clean_plate_rate": 0.5}, "vetoes": ["V2"]}))
    assert {line.reason.kind for line in result.indicators if line.reason} == {"metric_rule", "checklist", "no_data"}

    def plain(value):
        if isinstance(value, Decimal):
            return float(value)
        if isinstance(value, dict):
            return {key: plain(item) for key, item in value.items()}
        return [plain(item) for item in value] if isinstance(value, list | tuple) else value

    expected = plain(asdict(result))
    assert json.dumps(result.to_dict(), ensure_ascii=False) == json.dumps(expected, ensure_ascii=False)
