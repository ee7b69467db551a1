"""`canteen assess score` on a JSON file, through a command group like the real entry point."""
import json
import re
import unicodedata
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from canteen.assessment.cli import assess_app
from canteen.assessment.standard import METRICS

root = typer.Typer()


@root.callback()
def _root() -> None:
    """Stands in for the `canteen` command."""


root.add_typer(assess_app, name="assess")

KNOWN = ", ".join(METRICS)

CANTEEN = {
    "canteen": "区政府机关食堂", "period": "2026-Q3",
    "metrics": {"plate_waste_g_per_diner": 52.3, "weighing_coverage": 1.0, "forecast_wape": None},
    "checklist": {"S1": "met", "S2": {"answer": "partly", "by": "inspection", "note": "预约台账不全"}},
    "bonuses": ["B1"],
}


def assess(*args: str) -> Result:
    return CliRunner().invoke(root, ["assess", *args])


def errors(result: Result) -> list[str]:
    """The stderr lines of a refused command, which must print nothing else and exit with 2."""
    assert (result.exit_code, result.stdout) == (2, ""), (result.stdout, result.stderr)
    return result.stderr.splitlines()


def write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def canteen_json(tmp_path) -> Path:
    return write_json(tmp_path / "canteen.json", CANTEEN)


def test_table_on_the_reference_standard(canteen_json) -> None:
    # S1 5 + S2 2.5 + W1 5 + W2 10 × 37.7 / 60 = 6.28 → 18.78, + B1 2 = 20.78 → 20.8
    result = assess("score", "--input", str(canteen_json))
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("CANTEEN-REF 1.0  机关食堂反食品浪费工作成效评估（参考）")
    assert lines[1] == "区政府机关食堂  2026-Q3"
    assert lines[3].split() == ["indicator", "points", "earned", "reason", "for", "lost", "points"]
    rows = {line.split()[0]: line.split() for line in lines[4:] if line.startswith("  ")}
    assert rows["S2"] == ["S2", "用餐预约/餐前统计制度", "5", "2.50", "检查组评定：部分达到（预约台账不全）"]
    assert rows["W2"][2:] == ["10", "6.28", "人均餐余量", "52.3", "克/人·餐，高于满分线", "30（0", "分线", "90）"]
    assert rows["M1"][2:] == ["8", "0.00", "无数据"]
    assert rows["W1"] == ["W1", "称重计量覆盖", "5", "5.00"]
    assert "制度建设 15 7.50" in [" ".join(line.split()) for line in lines]
    assert "bonuses: B1 经验做法被上级推广 +2 (counted: +2)" in lines
    assert lines[-2:] == ["total: 20.8 / 100", "grade: 不合格"]


def test_columns_line_up_under_wide_characters(canteen_json) -> None:
    def width(text: str) -> int:
        return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)

    lines = assess("score", "--input", str(canteen_json)).stdout.splitlines()
    earned_ends = width(lines[3][:lines[3].index("earned") + len("earned")])
    rows = [line for line in lines[4:] if re.search(r" \d+\.\d\d", line)]
    assert len(rows) == 5 + 17
    for line in rows:
        assert width(line[:re.search(r" \d+\.\d\d", line).end()]) == earned_ends, line


def test_json_is_the_scorecard(canteen_json) -> None:
    result = assess("score", "--input", str(canteen_json), "--json")
    assert result.exit_code == 0, result.stderr
    card = json.loads(result.stdout)
    assert (card["total"], card["grade"], card["bonus_points"]) == (20.8, "不合格", 2.0)
    assert card["standard_code"] == "CANTEEN-REF" and len(card["standard_hash"]) == 64
    s2 = next(line for line in card["indicators"] if line["id"] == "S2")
    assert (s2["earned"], s2["answer"], s2["answered_by"], s2["reason"]["kind"]) == (2.5, "partly", "inspection",
                                                                                    "checklist")


def test_vetoes_are_shown(tmp_path) -> None:
    path = write_json(tmp_path / "vetoed.json", {**CANTEEN, "vetoes": ["V3"]})
    lines = assess("score", "--input", str(path)).stdout.splitlines()
    assert lines[-3:] == ["total: 20.8 / 100", "grade: 不合格", "vetoed: V3 拒不整改 (grade set to 不合格)"]


def test_a_local_standard_file(tmp_path, canteen_json) -> None:
    standard = tmp_path / "local.toml"
    standard.write_text("""\
[standard]
code = "DB00/T 1-2026"
title = "某市机关食堂评估"
version = "2026"
total = 10

[[grades]]
name = "达标"
min = 6
[[grades]]
name = "不达标"
min = 0

[[dimensions]]
id = "all"
name = "全部"
points = 10

[[dimensions.indicators]]
id = "W2"
name = "人均餐余量"
points = 10
method = "linear"
metric = "plate_waste_g_per_diner"
full_at = 40
zero_at = 60
""", encoding="utf-8")
    path = write_json(tmp_path / "input.json", {"metrics": {"plate_waste_g_per_diner": 52.3}})
    result = assess("score", "--standard", str(standard), "--input", str(path), "--json")
    assert result.exit_code == 0, result.stderr
    card = json.loads(result.stdout)
    # 10 × (60 − 52.3) / (60 − 40) = 10 × 7.7 / 20 = 3.85
    assert (card["standard_code"], card["total"], card["grade"]) == ("DB00/T 1-2026", 3.9, "不达标")


def test_a_bad_standard_file_gives_one_line_per_problem(tmp_path, canteen_json) -> None:
    standard = tmp_path / "bad.toml"
    standard.write_text('[standard]\ncode = "X"\ntitle = "x"\nversion = "1"\ntotal = 10\n\n'
                        '[[grades]]\nname = "合格"\nmin = 5\n\n'
                        '[[dimensions]]\nid = "d"\nname = "维度"\npoints = 10\n\n'
                        '[[dimensions.indicators]]\nid = "A"\nname = "甲"\npoints = 10\nmethod = "linear"\n'
                        'metric = "waste"\nfull_at = 1\nzero_at = 1\n', encoding="utf-8")
    assert errors(assess("score", "--standard", str(standard), "--input", str(canteen_json))) == [
        f"error: {standard}:9: grades[0].min: the last grade must start at 0, not 5",
        f"error: {standard}:21: dimensions[0].indicators[0].metric: unknown metric 'waste'; known metrics: {KNOWN}",
        f"error: {standard}:23: dimensions[0].indicators[0].zero_at: zero_at equals full_at (1); they must differ"]


def test_a_toml_syntax_error(tmp_path, canteen_json) -> None:
    standard = tmp_path / "broken.toml"
    standard.write_text('[standard]\ncode = "X"\ntitle = \n', encoding="utf-8")
    assert errors(assess("score", "--standard", str(standard), "--input", str(canteen_json))) == [
        f"error: {standard}:3: not valid TOML at line 3, column 9 (Invalid value)"]


def test_missing_files(tmp_path, canteen_json) -> None:
    missing = tmp_path / "nope.json"
    assert errors(assess("score", "--input", str(missing))) == [f"error: {missing}: No such file or directory"]
    standard = tmp_path / "nope.toml"
    assert errors(assess("score", "--standard", str(standard), "--input", str(canteen_json))) == [
        f"error: {standard}: No such file or directory"]


def test_bad_json_names_the_line(tmp_path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"metrics": {\n  "diners": 120,\n}}\n', encoding="utf-8")
    assert errors(assess("score", "--input", str(path))) == [
        f"error: {path}: line 3 column 1: Expecting property name enclosed in double quotes"]


def test_input_that_is_not_an_object(tmp_path) -> None:
    path = write_json(tmp_path / "list.json", ["S1"])
    assert errors(assess("score", "--input", str(path))) == [
        f"error: {path}: expected a JSON object with metrics, checklist, vetoes and bonuses"]


def test_malformed_input_one_line_per_field(tmp_path) -> None:
    path = write_json(tmp_path / "input.json", {"metrics": {"diners": "many"}, "checklist": {"S1": "done"},
                                                "bonus": ["B1"]})
    assert errors(assess("score", "--input", str(path))) == [
        f"error: {path}: metrics.diners: Input should be a valid number",
        f"error: {path}: checklist.S1[0].answer: Input should be 'met', 'partly' or 'not_met'",
        f"error: {path}: bonus: unknown field"]


def test_unknown_ids_one_line_each(tmp_path) -> None:
    path = write_json(tmp_path / "input.json", {"metrics": {"leftovers": 1}, "checklist": {"W2": "met", "X1": "met"},
                                                "vetoes": ["V9"], "bonuses": ["B1", "B7"]})
    assert errors(assess("score", "--input", str(path))) == [
        f"error: {path}: metrics.leftovers: unknown metric; known metrics: {KNOWN}",
        f"error: {path}: checklist.W2: W2 is scored from the metric plate_waste_g_per_diner, not from a checklist "
        "answer",
        f"error: {path}: checklist.X1: CANTEEN-REF 1.0 has no indicator X1",
        f"error: {path}: vetoes: CANTEEN-REF 1.0 has no veto V9",
        f"error: {path}: bonuses: CANTEEN-REF 1.0 has no bonus B7"]
