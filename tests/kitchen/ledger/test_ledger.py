"""The month's ledger: each day's kitchen waste by kind from the records in force, who weighed it, the day's
hand-overs and the month's totals, on the page, in Excel and in the PDF Chromium prints."""
import io
import re
from datetime import datetime

from openpyxl import load_workbook
from pypdf import PdfReader

from tests.kitchen.ledger.records import COOK, HANDED_OVER_G, MONTH, NOV_20, NOV_21, STATION

KINDS = ["storage", "trimmings", "unserved", "kitchen-scraps", "other", "unclassified"]


def kg(grams: int) -> str:
    return f"{grams / 1000:,.3f}"


def rows(page: str, day: str) -> list[str]:
    return re.findall(rf'<tr data-date="{day}">(.*?)</tr>', page, re.S)


def cells(row: str, attribute: str) -> dict[str, str]:
    return dict(re.findall(rf'{attribute}="([^"]+)">([^<]*)<', row))


def english(client):
    client.cookies.set("canteen_lang", "en")
    return client


def test_each_day_sums_the_records_in_force_by_kind(org, sign_in, month):
    page = sign_in("operator_a").get(f"/canteens/{month.canteen}/ledger?month=2026-11")
    assert page.status_code == 200
    assert rows(page.text, "2026-10-31") == []  # last month's record is not in November's ledger
    (nov_20,) = rows(page.text, "2026-11-20")
    # The 20th: 300 g storage and 1,500 g trimmings by hand, 1,200 g unserved and 650 g unclassified weighed.
    assert cells(nov_20, "data-kind") == {**{kind: kg(NOV_20[kind]) for kind in KINDS}, "total": "3.650"}
    # The 21st: the station's 2,000 g of trimmings was corrected to 1,800 g (only the correction counts), 450 g other.
    nov_21 = rows(page.text, "2026-11-21")
    assert len(nov_21) == 2  # two hand-overs that day
    assert cells(nov_21[0], "data-kind") == {**{kind: kg(NOV_21[kind]) for kind in KINDS}, "total": "2.250"}
    assert "data-kind" not in nov_21[1]  # the day's waste is shown once
    totals = re.search(r'<tr data-total="month">(.*?)</tr>', page.text, re.S)[1]
    assert cells(totals, "data-kind") == {**{kind: kg(MONTH[kind]) for kind in KINDS}, "total": "5.900"}
    assert re.search(r"data-handed-over>([^<]*)<", totals)[1] == kg(HANDED_OVER_G) == "5.400"
    assert re.search(r"data-difference>([^<]*)<", page.text)[1] == "0.500"


def test_who_weighed_is_the_classifier_the_station_or_whoever_entered_it(org, sign_in, month):
    page = sign_in("operator_a").get(f"/canteens/{month.canteen}/ledger?month=2026-11").text
    weighed_by = {day: re.search(r"data-weighed-by>([^<]*)<", rows(page, day)[0])[1]
                  for day in ("2026-11-20", "2026-11-21")}
    # The 20th: the cook classified the unserved food, nobody the unclassified bin (the station weighed it), the
    # operator entered the rest. The 21st: the cook's correction replaces the station's weighing.
    assert weighed_by == {"2026-11-20": "、".join(sorted(["operator_a", STATION, COOK])),
                          "2026-11-21": "、".join(sorted(["operator_a", COOK]))}


def test_the_days_hand_overs_are_listed_with_their_manifests(org, sign_in, month):
    page = sign_in("operator_a").get(f"/canteens/{month.canteen}/ledger?month=2026-11").text
    manifests = [(re.search(r"data-manifest>([^<]*)<", row)[1], re.search(r"data-handed-over>([^<]*)<", row)[1])
                 for day in ("2026-11-20", "2026-11-21") for row in rows(page, day)]
    assert manifests == [("TJ-2026-0001", "3.650"), ("TJ-2026-0002", "1.500"), ("0003", "0.250")]


def test_the_month_defaults_to_the_canteens_current_one_and_a_bad_month_is_refused(org, sign_in, month):
    client = english(sign_in("bureau_c1"))
    assert "data-date=\"2026-11-20\"" in client.get(f"/canteens/{month.canteen}/ledger").text
    assert "data-date" not in client.get(f"/canteens/{month.canteen}/ledger?month=2026-12").text
    for bad in ("2026-13", "11/2026", "1999-12"):
        refused = client.get(f"/canteens/{month.canteen}/ledger.xlsx?month={bad}")
        assert refused.status_code == 422 and "Month must be a month such as 2026-11" in refused.text


def test_the_excel_export_holds_the_figures_as_numbers_and_the_text_as_text(org, sign_in, month):
    response = english(sign_in("operator_a")).get(f"/canteens/{month.canteen}/ledger.xlsx?month=2026-11")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content))["Kitchen waste ledger"]
    table = [[cell for cell in row] for row in sheet.iter_rows()]
    assert [cell.value for cell in table[0]] == [
        "Date", "Storage losses (kg)", "Prep trimmings (kg)", "Cooked but unserved (kg)", "Kitchen scraps (kg)",
        "Other kitchen waste (kg)", "Unclassified kitchen waste (kg)", "Kitchen waste in all (kg)", "Weighed by", "Collector",
        "Manifest number", "Handed over (kg)", "Note"]
    values = [[cell.value for cell in row] for row in table[1:]]
    assert values[0] == [datetime(2026, 11, 20), 0.3, 1.5, 1.2, 0, 0, 0.65, 3.65,
                         ", ".join(sorted(["operator_a", STATION, COOK])), "津环收运公司", "TJ-2026-0001", 3.65, None]
    assert values[1] == [datetime(2026, 11, 21), 0, 1.8, 0, 0, 0.45, 0, 2.25, ", ".join(sorted(["operator_a", COOK])),
                         "津环收运公司", "TJ-2026-0002", 1.5, None]
    # The day's second hand-over: its own row, the waste not repeated; the manifest "0003" stays text, and the
    # collector and note that look like formulas are stored as the text they are.
    assert values[2] == [datetime(2026, 11, 21), None, None, None, None, None, None, None, None,
                         '=HYPERLINK("x")', "0003", 0.25, "=补记"]
    assert all(cell.data_type == "s" for cell in (table[3][9], table[3][10], table[3][12]))
    assert values[3] == ["Month total", 0.3, 3.3, 1.2, 0, 0.45, 0.65, 5.9, None, None, None, 5.4, None]
    assert values[4] == ["Weighed less handed over", None, None, None, None, None, None, 0.5, None, None, None, None,
                         None]
    assert len(values) == 5


def test_the_pdf_is_an_a4_ledger_with_signature_lines(org, sign_in, month):
    response = sign_in("bureau_c1").get(f"/canteens/{month.canteen}/ledger.pdf?month=2026-11")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    assert len(reader.pages) >= 1
    width, height = sorted(float(side) for side in reader.pages[0].mediabox[2:])
    assert (round(width / 72 * 25.4), round(height / 72 * 25.4)) == (210, 297)  # A4 (printed landscape)
    text = re.sub(r"\s+", "", "".join(page.extract_text() for page in reader.pages))
    assert "厨余垃圾台账" in text and "食堂A" in text and "2026年11月" in text
    assert all(label in text for label in ("称重人", "交接人", "收运单位签字", "负责人"))
    assert "TJ-2026-0001" in text and "3.650" in text and "5.900" in text
