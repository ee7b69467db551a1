"""Standard files: the shipped reference standard, and every kind of mistake refused with its line and field."""
import hashlib

import pytest

from canteen.assessment.standard import (
    METRICS,
    REFERENCE,
    BandsIndicator,
    ChecklistIndicator,
    LinearIndicator,
    StandardFileError,
    load_standard,
    parse_standard,
    reference_standard,
)
from canteen.errors import InvalidInput

# Line numbers matter below: edit() replaces one numbered line, so every other line keeps its number.
SMALL = """\
[standard]
code = "T"
title = "测试标准"
version = "1"
total = 10
bonus_cap = 2

[[grades]]
name = "合格"
min = 6

[[grades]]
name = "不合格"
min = 0

[[dimensions]]
id = "d"
name = "维度"
points = 10

[[dimensions.indicators]]
id = "A"
name = "线性"
points = 4
method = "linear"
metric = "plate_waste_g_per_diner"
full_at = 30
zero_at = 90

[[dimensions.indicators]]
id = "B"
name = "分档"
points = 3
method = "bands"
metric = "small_portion_share"
bands = [
    { at_least = 0.5, points = 3 },
    { at_least = 0.2, points = 1 },
]

[[dimensions.indicators]]
id = "C"
name = "检查"
points = 3
method = "checklist"
partial = 0.5

[[vetoes]]
id = "V"
name = "否决"

[[bonuses]]
id = "X"
name = "加分"
points = 1
"""


def edit(*changes: tuple[int, str]) -> str:
    lines = SMALL.splitlines()
    for number, text in changes:
        lines[number - 1] = text
    return "\n".join(lines) + "\n"


def problems(text: str | bytes) -> list[str]:
    with pytest.raises(StandardFileError) as caught:
        parse_standard(text, "t.toml")
    return [str(problem) for problem in caught.value.problems]


def test_the_small_standard_is_valid() -> None:
    standard = parse_standard(SMALL, "t.toml")
    assert [indicator.id for _, indicator in standard.indicators()] == ["A", "B", "C"]
    assert standard.content_hash == hashlib.sha256(SMALL.encode()).hexdigest()


def test_reference_standard_sums_to_100_with_the_reference_table() -> None:
    standard = reference_standard()
    assert (standard.code, standard.version, standard.total, standard.bonus_cap) == ("CANTEEN-REF", "1.0", 100, 5)
    assert [(d.id, d.points) for d in standard.dimensions] == [
        ("system", 15), ("measures", 35), ("supervision", 15), ("education", 10), ("monitoring", 25)]
    assert sum(d.points for d in standard.dimensions) == 100
    for dimension in standard.dimensions:
        assert sum(indicator.points for indicator in dimension.indicators) == dimension.points
    assert [(i.id, i.method, i.points) for _, i in standard.indicators()] == [
        ("S1", "checklist", 5), ("S2", "checklist", 5), ("S3", "checklist", 5),
        ("M1", "linear", 8), ("M2", "bands", 6), ("M3", "checklist", 5), ("M4", "checklist", 6),
        ("M5", "linear", 10), ("G1", "checklist", 5), ("G2", "checklist", 5), ("G3", "checklist", 5),
        ("E1", "checklist", 5), ("E2", "bands", 5),
        ("W1", "linear", 5), ("W2", "linear", 10), ("W3", "linear", 5), ("W4", "linear", 5)]
    rules = {i.id: (i.metric, i.full_at, i.zero_at) for _, i in standard.indicators() if isinstance(i, LinearIndicator)}
    assert rules == {"M1": ("forecast_wape", 0.10, 0.40), "M5": ("surplus_food_g_per_diner", 10, 50),
                     "W1": ("weighing_coverage", 0.95, 0.5), "W2": ("plate_waste_g_per_diner", 30, 90),
                     "W3": ("plate_waste_change_yoy_pct", -15, 0), "W4": ("kitchen_waste_g_per_diner", 80, 200)}
    bands = {i.id: (i.metric, [(b.at_least, b.points) for b in i.bands])
             for _, i in standard.indicators() if isinstance(i, BandsIndicator)}
    assert bands == {"M2": ("small_portion_share", [(0.5, 6), (0.3, 4), (0.1, 2)]),
                     "E2": ("clean_plate_rate", [(0.9, 5), (0.8, 4), (0.7, 3), (0.6, 2)])}
    checklists = [i for _, i in standard.indicators() if isinstance(i, ChecklistIndicator)]
    assert all(i.partial == 0.5 and i.evidence == ("self", "inspection") for i in checklists)
    assert [(g.name, g.min) for g in standard.grades] == [("优秀", 90), ("良好", 80), ("合格", 70), ("不合格", 0)]
    assert [v.id for v in standard.vetoes] == ["V1", "V2", "V3"]
    assert [(b.id, b.points) for b in standard.bonuses] == [("B1", 2), ("B2", 2), ("B3", 1)]


def test_reference_standard_is_the_shipped_file_and_hashes_its_bytes() -> None:
    standard = reference_standard()
    assert standard.source == "reference.toml"
    assert standard.content_hash == hashlib.sha256(REFERENCE.read_bytes()).hexdigest()
    assert load_standard(str(REFERENCE)).content_hash == standard.content_hash


def test_metrics_are_the_reference_table_and_the_waste_totals() -> None:
    assert list(METRICS) == [
        "diners", "plate_waste_g_per_diner", "kitchen_waste_g_per_diner", "surplus_food_g_per_diner",
        "clean_plate_rate", "plate_waste_change_yoy_pct", "plate_waste_change_pop_pct", "booking_rate",
        "forecast_wape", "weighing_coverage", "small_portion_share",
        # beyond the reference's table, for standards that score what waste costs
        "kitchen_waste_kg_per_diner", "waste_cost_yuan_per_diner"]


def test_dimension_points_must_add_up_to_the_total() -> None:
    assert problems(edit((5, "total = 12"))) == ["t.toml:5: standard.total: dimension points add up to 10, total is 12"]


def test_indicator_points_must_add_up_to_their_dimension() -> None:
    assert problems(edit((24, "points = 5"))) == [
        "t.toml:19: dimensions[0].points: indicator points add up to 11, dimension d has 10"]


def test_indicator_points_in_the_reference_file_name_the_fifth_dimension() -> None:
    text = REFERENCE.read_text().replace('id = "W2"\nname = "人均餐余量"\npoints = 10',
                                         'id = "W2"\nname = "人均餐余量"\npoints = 9')
    with pytest.raises(StandardFileError) as caught:
        parse_standard(text, "reference.toml")
    assert str(caught.value) == (
        "reference.toml:180: dimensions[4].points: indicator points add up to 24, dimension monitoring has 25")


def test_unknown_metric() -> None:
    [problem] = problems(edit((26, 'metric = "leftovers"')))
    assert problem.startswith("t.toml:26: dimensions[0].indicators[0].metric: unknown metric 'leftovers'; known")


def test_unknown_method() -> None:
    [problem] = problems(edit((25, 'method = "curve"')))
    assert problem == ("t.toml:25: dimensions[0].indicators[0].method: unknown method 'curve'; "
                       "expected one of linear, bands, checklist")


def test_at_least_bands_must_descend() -> None:
    assert problems(edit((38, "    { at_least = 0.6, points = 1 },"))) == [
        "t.toml:38: dimensions[0].indicators[1].bands[1].at_least: at_least bands go from the highest to the "
        "lowest: 0.6 is not below 0.5"]


def test_at_most_bands_must_ascend() -> None:
    text = edit((37, "    { at_most = 0.5, points = 3 },"), (38, "    { at_most = 0.2, points = 1 },"))
    assert problems(text) == ["t.toml:38: dimensions[0].indicators[1].bands[1].at_most: at_most bands go from "
                              "the lowest to the highest: 0.2 is not above 0.5"]


def test_bands_cannot_mix_at_least_and_at_most() -> None:
    assert problems(edit((38, "    { at_most = 0.2, points = 1 },"))) == [
        "t.toml:38: dimensions[0].indicators[1].bands[1].at_most: at_least and at_most bands cannot be mixed in "
        "one indicator"]


def test_a_band_needs_one_bound() -> None:
    assert problems(edit((38, "    { points = 1 },"))) == [
        "t.toml:38: dimensions[0].indicators[1].bands[1]: a band needs exactly one of at_least and at_most"]


def test_a_band_cannot_be_worth_more_than_its_indicator() -> None:
    assert problems(edit((37, "    { at_least = 0.5, points = 4 },"))) == [
        "t.toml:37: dimensions[0].indicators[1].bands[0].points: band worth 4, more than the indicator's 3"]


def test_full_at_must_differ_from_zero_at() -> None:
    assert problems(edit((28, "zero_at = 30"))) == [
        "t.toml:28: dimensions[0].indicators[0].zero_at: zero_at equals full_at (30); they must differ"]


@pytest.mark.parametrize(("changes", "expected"), [
    (((31, 'id = "A"'),), "t.toml:31: dimensions[0].indicators[1].id: duplicate id 'A', already used by "
                          "dimensions[0].indicators[0]"),
    (((49, 'id = "C"'),), "t.toml:49: vetoes[0].id: duplicate id 'C', already used by dimensions[0].indicators[2]"),
    (((53, 'id = "V"'),), "t.toml:53: bonuses[0].id: duplicate id 'V', already used by vetoes[0]"),
])
def test_ids_are_unique_across_indicators_vetoes_and_bonuses(changes, expected) -> None:
    assert problems(edit(*changes)) == [expected]


def test_grades_must_descend() -> None:
    assert problems(edit((10, "min = 0"))) == [
        "t.toml:14: grades[1].min: grades go from the highest min to the lowest: 0 is not below 0 (合格)"]


def test_grades_must_end_at_zero() -> None:
    assert problems(edit((14, "min = 1"))) == ["t.toml:14: grades[1].min: the last grade must start at 0, not 1"]


def test_missing_field_names_its_table() -> None:
    assert problems(edit((26, "# no metric"))) == [
        "t.toml:21: dimensions[0].indicators[0].metric: required field is missing"]


def test_missing_method_is_reported_as_such() -> None:
    assert problems(edit((45, "# no method"))) == [
        "t.toml:41: dimensions[0].indicators[2].method: required field is missing"]


def test_wrong_types() -> None:
    assert problems(edit((24, 'points = "4"'), (4, "version = 1.0"))) == [
        "t.toml:4: standard.version: this value must be text",
        "t.toml:24: dimensions[0].indicators[0].points: this value must be a number"]


def test_no_data_is_zero_or_full() -> None:
    assert problems(edit((29, 'no_data = "skip"'))) == [
        "t.toml:29: dimensions[0].indicators[0].no_data: this value must be one of 'zero' or 'full'"]


def test_partial_is_between_zero_and_one() -> None:
    assert problems(edit((46, "partial = 1.5"))) == [
        "t.toml:46: dimensions[0].indicators[2].partial: this value must be at most 1"]


def test_unknown_field() -> None:
    assert problems(edit((29, "ful_at = 30"))) == ["t.toml:29: dimensions[0].indicators[0].ful_at: unknown field"]


def test_toml_syntax_error_gives_line_and_column() -> None:
    assert problems(edit((33, "points = "))) == ["t.toml:33: not valid TOML at line 33, column 10 (Invalid value)"]


def test_not_utf8() -> None:
    assert problems("name = '食堂'".encode("gb18030")) == ["t.toml: the file is not UTF-8 text"]


def test_all_problems_are_reported_in_line_order_and_the_error_carries_the_first() -> None:
    text = edit((49, 'id = "A"'), (26, 'metric = "leftovers"'), (24, "points = 5"))
    with pytest.raises(StandardFileError) as caught:
        parse_standard(text, "t.toml")
    error = caught.value
    assert [(p.line, p.field) for p in error.problems] == [
        (19, "dimensions[0].points"), (26, "dimensions[0].indicators[0].metric"), (49, "vetoes[0].id")]
    assert (error.path, error.line, error.field) == ("t.toml", 19, "dimensions[0].points")
    assert isinstance(error, InvalidInput) and error.status_code == 422


def test_load_standard_reads_a_file_and_names_it_in_errors(tmp_path) -> None:
    path = tmp_path / "local.toml"
    path.write_text(edit((5, "total = 12")), encoding="utf-8")
    with pytest.raises(StandardFileError) as caught:
        load_standard(path)
    assert str(caught.value).startswith(f"{path}:5: standard.total:")
    with pytest.raises(OSError):
        load_standard(tmp_path / "missing.toml")


def test_empty_lists_are_refused() -> None:
    assert problems(edit((36, "bands = []"), (37, ""), (38, ""), (39, ""))) == [
        "t.toml:36: dimensions[0].indicators[1].bands: at least one is needed"]
