"""Downloads: translated headers, whole counts as integers, and no text a spreadsheet would run as a formula."""
import csv
import io
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
from openpyxl import load_workbook

from canteen import db
from canteen.access import SYSTEM
from canteen.org.models import Meal
from canteen.reservation.models import DishCreate
from canteen.reservation.service import menus
from canteen.web.exports import csv_response, spreadsheet, xlsx_response


def test_headers_are_translated_and_whole_counts_are_integers():
    frame = pd.DataFrame({"diners": [911.0, None], "rate": [0.5, 0.25], "extra": [1, 2]})
    table = spreadsheet(frame, {"diners": "Diners", "rate": "Clean-plate rate"}, "zh_CN")
    assert list(table.columns) == ["就餐人数", "光盘率"]  # in the order given, "extra" left out
    body = csv_response(table, "x.csv").body.decode("utf-8-sig")
    assert body.splitlines() == ["就餐人数,光盘率", "911,0.5", ",0.25"]


def test_formula_text_is_inert_in_csv_and_excel():
    names = ["=HYPERLINK(\"http://x\",\"点我\")", "+1", "-2+3", "@SUM(A1)", "红烧肉", "-"]
    frame = pd.DataFrame({"dish": names, "grams": [-5, 1, 2, 3, 4, 5]})
    rows = list(csv.reader(io.StringIO(csv_response(frame, "x.csv").body.decode("utf-8-sig"))))
    assert [row[0] for row in rows[1:]] == ["'" + names[0], "'+1", "'-2+3", "'@SUM(A1)", "红烧肉", "'-"]
    assert rows[1][1] == "-5"  # numbers are numbers, negative or not
    sheet = load_workbook(io.BytesIO(xlsx_response(frame, "x.xlsx", "s").body)).active
    cells = [row[0] for row in sheet.iter_rows(min_row=2)]
    assert all(cell.data_type == "s" for cell in cells)  # text, not formulas
    assert [cell.value for cell in cells] == names  # as typed: a text cell needs no apostrophe
    assert [cell.quotePrefix for cell in cells] == [True, True, True, True, False, True]  # stays text when edited
    assert sheet.cell(row=2, column=2).value == -5 and sheet.cell(row=2, column=2).data_type == "n"


def test_tab_and_carriage_return_starts_are_inert_too():
    frame = pd.DataFrame({"note": ["\t=1+1", "\r=1+1", "a\t=1"], "change": [-0.25, -1.0, 0.5]})
    rows = list(csv.reader(io.StringIO(csv_response(frame, "x.csv").body.decode("utf-8-sig"), newline="")))
    assert [row[0] for row in rows[1:]] == ["'\t=1+1", "'\r=1+1", "a\t=1"]
    assert [row[1] for row in rows[1:]] == ["-0.25", "-1.0", "0.5"]


FORMULA_DISH = '=HYPERLINK("http://x","y")'
WEDNESDAY = date(2026, 11, 25)


@pytest.fixture
def formula_dish(engine, org):
    """A dish whose name is a formula, on canteen A's Wednesday lunch menu."""
    with db.session_scope(engine) as session:
        dish = menus.create_dish(session, SYSTEM, org.canteens["a"], DishCreate(name=FORMULA_DISH, raw_grams=100))
        menus.set_menu(session, SYSTEM, org.canteens["a"], WEDNESDAY, Meal.lunch, [dish.id])
    return FORMULA_DISH


def test_a_dish_named_as_a_formula_is_text_in_the_prep_exports(sign_in, org, formula_dish):
    client = sign_in("operator_a")
    base = f"/canteens/{org.canteens['a']}/prep"
    csv_rows = list(csv.DictReader(io.StringIO(client.get(f"{base}.csv?date={WEDNESDAY}&meal=lunch")
                                               .content.decode("utf-8-sig"))))
    assert [row["菜品"] for row in csv_rows] == ["'" + FORMULA_DISH]
    sheet = load_workbook(io.BytesIO(client.get(f"{base}.xlsx?date={WEDNESDAY}&meal=lunch").content)).active
    header = [cell.value for cell in sheet[1]]
    dish = sheet.cell(row=2, column=header.index("菜品") + 1)
    assert (dish.value, dish.data_type, dish.quotePrefix) == (FORMULA_DISH, "s", True)
    assert sheet.cell(row=2, column=header.index("每整份原料（克）") + 1).value == 100  # numbers stay numbers


def test_the_weighing_export_keeps_negative_changes_as_numbers(client, sign_in, org, clock):
    """Plate waste per diner falls from 50 g to 25 g week on week: -50 %, a number in both files."""
    station = {"Authorization": f"Bearer {org.station_keys['a']}"}
    for seq, (day, grams) in enumerate([(16, [0, 100]), (23, [0, 50])]):
        measured = datetime(2026, 11, day, 4, 30, tzinfo=UTC)  # 12:30 in Shanghai: lunch
        clock.now = measured + timedelta(hours=1)
        items = [{"seq": seq * 10 + index, "measured_at": measured.isoformat(), "grams": value}
                 for index, value in enumerate(grams)]
        assert client.post("/api/v1/weighings", json={"items": items}, headers=station).json()["accepted"] == 2
    client = sign_in("operator_a")
    base = f"/canteens/{org.canteens['a']}/history"
    rows = list(csv.DictReader(io.StringIO(client.get(f"{base}.csv?from=2026-11-23&to=2026-11-23")
                                           .content.decode("utf-8-sig"))))
    assert rows[0]["人均（克）"] == "25" and rows[0]["人均餐余环比上周"] == "-0.5"
    sheet = load_workbook(io.BytesIO(client.get(f"{base}.xlsx?from=2026-11-23&to=2026-11-23").content)).active
    record = {header.value: value for header, value in zip(sheet[1], sheet[2])}
    assert (record["人均餐余环比上周"].value, record["人均餐余环比上周"].data_type) == (-0.5, "n")
