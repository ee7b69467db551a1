"""Downloads: translated headers, whole counts as integers, and no text a spreadsheet would run as a formula."""
import csv
import io

import pandas as pd
from openpyxl import load_workbook

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
    assert sheet.cell(row=2, column=2).value == -5
