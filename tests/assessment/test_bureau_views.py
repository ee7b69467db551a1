"""Pages over a jurisdiction: the scorecard overview, the sampling plan, standards, rectification notices."""
import io
import re
from datetime import UTC, date, datetime

import pandas as pd
import pytest

from canteen.access import SYSTEM
from canteen.assessment import evidence, rectification, service
from canteen.assessment.models import Evaluation, EvaluationKind, EvaluationStatus
from canteen.assessment.periods import parse_period
from canteen.assessment.standard import REFERENCE, reference_standard
from canteen.auth import service as auth_service
from canteen.auth.models import User
from canteen.org import service as org_service
from canteen.org.models import CanteenCreate, Meal, ServingMode
from canteen.weighing import service as weighing_service
from canteen.weighing.models import KitchenCategory, KitchenEntry
from tests.support.files import JPEG

PASSING = {"plate_waste_g_per_diner": 20.0, "forecast_wape": 0.1, "small_portion_share": 0.5,
           "surplus_food_g_per_diner": 10.0}
MET = {item: "met" for item in ("S1", "S2", "S3", "M3", "M4", "G1", "G2", "G3", "E1")}


def rows_of(page: str) -> list[int]:
    return [int(found) for found in re.findall(r'<tr data-canteen="(\d+)">', page)]


@pytest.fixture
def october(org, session, stored_scorecard):
    """October: A scores 80 (良好), H 2.5 (不合格); B, outside C1, 80 as well."""
    for key, metrics, checklist in (("a", PASSING, MET), ("h", {"plate_waste_g_per_diner": 75.0}, {}),
                                    ("b", PASSING, MET)):
        card = stored_scorecard(org.canteens[key], "2026-10", metrics, checklist)
        per_diner = metrics["plate_waste_g_per_diner"]  # the numbers behind it, as computing keeps them
        card.body = card.body | {"metrics": {"plate_waste_g_per_diner": {
            "value": per_diner, "basis": {"plate_waste_g": int(per_diner * 1000), "diners": 1000}}}}
    session.commit()


def test_the_overview_lists_the_jurisdiction_with_filters_and_charts(sign_in, org, october):
    a, h = org.canteens["a"], org.canteens["h"]
    client = sign_in("bureau_c1")
    page = client.get("/assessment").text  # last month by default
    assert "2026-10" in page and rows_of(page) == [a, h]  # best first, B is outside C1
    assert re.search(r'data-grade="良好">1<', page) and re.search(r'data-grade="不合格">1<', page)
    assert page.count("<svg") == 2  # grades, and plate waste per diner by bureau
    assert f'href="/canteens/{a}/assessment?period=2026-10"' in page
    assert rows_of(client.get("/assessment?period=2026-10&order=asc").text) == [h, a]
    assert rows_of(client.get("/assessment?period=2026-10&grade=不合格").text) == [h]
    assert rows_of(client.get("/assessment?period=2026-10&mode=buffet").text) == [a]
    assert rows_of(client.get(f"/assessment?period=2026-10&county={org.k1}").text) == [a]
    assert client.get(f"/assessment?period=2026-10&county={org.k2}").status_code == 422
    quarter = client.get("/assessment?period=2026-Q4").text
    assert rows_of(quarter) == [a, h] and quarter.count("未评分") >= 2
    assert rows_of(sign_in("admin").get("/assessment?period=2026-10").text) == [a, org.canteens["b"], h]
    assert sign_in("operator_a").get("/assessment").status_code == 403
    assert sign_in("diner_a").get("/assessment").status_code == 403


def test_the_overview_values_the_periods_waste_as_scored(sign_in, org, session, clock):
    a, h, b = org.canteens["a"], org.canteens["h"], org.canteens["b"]
    for canteen, day, category, grams in ((a, 3, KitchenCategory.unserved, 5_000), (a, 31, KitchenCategory.other, 500),
                                          (h, 9, KitchenCategory.trimmings, 2_000), (b, 9, KitchenCategory.unserved, 10_000)):
        weighing_service.record_kitchen_waste(session, SYSTEM, canteen, KitchenEntry(
            service_date=date(2026, 10, day), meal=Meal.lunch, category=category, grams=grams), clock())
    weighing_service.record_kitchen_waste(session, SYSTEM, a, KitchenEntry(  # November's: not October's
        service_date=date(2026, 11, 2), meal=Meal.lunch, category=KitchenCategory.unserved, grams=7_000), clock())
    weighing_service.refresh_stale(session, clock())
    service.compute_scorecards(session, parse_period("2026-10"), clock())
    session.commit()
    page = sign_in("bureau_c1").get("/assessment?period=2026-10").text
    # C1's canteens A (5.5 kg) and H (2 kg) at the default ¥10 a kg and 2.5 kg CO2e a kg: 7.5 kg, ¥75, 18.75 kg CO2e.
    assert "2026-10 全辖区餐余和后厨浪费合计 0.01 吨，折合约 ¥75，约 0.02 吨二氧化碳当量" in page
    cells = re.findall(r'<tr data-canteen="(\d+)">.*?<td data-waste-kg>([^<]*)</td>\s*<td data-waste-yuan>([^<]*)</td>',
                       page, re.S)
    assert sorted(cells) == sorted([(str(a), "5.5", "55"), (str(h), "2.0", "20")])
    admin = sign_in("admin").get("/assessment?period=2026-10").text  # B's 10 kg too: 17.5 kg, ¥175, 43.75 kg
    assert "合计 0.02 吨，折合约 ¥175，约 0.04 吨二氧化碳当量" in admin


def test_scorecards_stored_before_they_were_valued_show_no_waste(sign_in, org, october):
    page = sign_in("bureau_c1").get("/assessment?period=2026-10").text
    assert "合计 0.00 吨，折合约 ¥0" in page and page.count("<td data-waste-kg>–</td>") == 2


def test_the_bureau_draws_its_sampling_plan(sign_in, org, csrf):
    client = sign_in("bureau_c1")
    assert 'data-state="no-plan"' in client.get("/assessment/sampling?year=2027").text
    drawn = client.post("/assessment/sampling", data={"csrf_token": csrf(), "bureau_id": org.c1, "year": 2027,
                                                      "seed": 7}, follow_redirects=False)
    assert drawn.status_code == 303
    page = client.get(drawn.headers["location"]).text
    picks = rows_of(page)
    assert len(picks) == 1 and picks[0] in (org.canteens["a"], org.canteens["h"])  # 35 % of two, rounded up
    assert "抽签号 7" in page and "种子" not in page
    assert re.search(rf'<tr data-canteen="{picks[0]}">.*?<td data-last-inspection="">从未检查</td>', page, re.S)
    planned = re.search(rf'<tr data-canteen="{picks[0]}"><td>2027-(\d\d)', page)[1]
    assert f"/inspection?period=2027-Q{(int(planned) - 1) // 3 + 1}" in page  # the visit's quarter
    again = client.post("/assessment/sampling", data={"csrf_token": csrf(), "bureau_id": org.c1, "year": 2027,
                                                      "seed": 7}, follow_redirects=False)
    assert rows_of(client.get(again.headers["location"]).text) == picks  # the same seed, the same plan
    refused = client.post("/assessment/sampling", data={"csrf_token": csrf(), "bureau_id": org.c1, "year": "soon",
                                                        "seed": 7})
    assert refused.status_code == 422 and 'role="alert"' in refused.text
    outside = sign_in("bureau_k2").post("/assessment/sampling", data={
        "csrf_token": csrf(), "bureau_id": org.c1, "year": 2027, "seed": 7})
    assert outside.status_code == 404
    assert sign_in("operator_a").get("/assessment/sampling").status_code == 403


def line_of(text: str, line: str) -> str:
    return str(text.splitlines().index(line) + 1)


def test_a_broken_standard_is_refused_line_by_line(sign_in, csrf):
    """The reference standard with two mistakes: the grades end at 60, and with W2 at 9 points the monitoring
    indicators add up to 24 of the dimension's 25."""
    text = reference_standard().text.replace("min = 0\n", "min = 60\n").replace(
        'name = "人均餐余量"\npoints = 10\n', 'name = "人均餐余量"\npoints = 9\n')
    client = sign_in("bureau_c1")
    refused = client.post("/assessment/standards", data={"csrf_token": csrf()},
                          files={"file": ("bad.toml", text.encode(), "application/toml")})
    assert refused.status_code == 422
    assert re.findall(r'<tr data-line="(\d*)">', refused.text) == [line_of(text, "min = 60"),
                                                                  line_of(text, "points = 25")]
    assert "grades[3].min" in refused.text and "dimensions[4].points" in refused.text
    assert client.post("/assessment/standards", data={"csrf_token": csrf()}).status_code == 422  # no file
    assert client.post("/assessment/standards", files={"file": ("bad.toml", b"", "application/toml")}
                       ).status_code == 403  # no CSRF token
    assert sign_in("operator_a").get("/assessment/standards").status_code == 403


@pytest.fixture
def notice(org, session, stored_scorecard):
    card = stored_scorecard(org.canteens["a"], "2026-Q3", {"plate_waste_g_per_diner": 75.0},
                            {item: "partly" for item in MET})
    issued = rectification.issue_notices(session, [card], datetime(2026, 11, 5, 2, 0, tzinfo=UTC))[0]
    session.commit()
    return issued.id


def test_the_operator_answers_a_notice_and_the_bureau_closes_it(sign_in, org, csrf, notice):
    operator = sign_in("operator_a")
    listed = operator.get("/assessment/rectification").text
    assert f'<tr data-notice="{notice}">' in listed and "待整改" in listed
    banner = operator.get(f"/canteens/{org.canteens['a']}/assessment").text
    assert f'data-notice="{notice}"' in banner and "2026-12-05" in banner
    page = operator.get(f"/rectification/{notice}").text
    assert '<tr data-indicator="M5">' in page and "无数据" in page and 'class="answer"' in page
    assert 'class="recheck"' not in page
    assert operator.post(f"/rectification/{notice}/answer", data={"csrf_token": csrf(), "measures": " "}
                         ).status_code == 422
    bad_file = operator.post(f"/rectification/{notice}/answer",
                             data={"csrf_token": csrf(), "measures": "设立监督岗"},
                             files={"files": ("run.exe", b"MZ", "application/x-msdownload")})
    assert bad_file.status_code == 422 and ">设立监督岗</textarea>" in bad_file.text  # what was typed is kept
    answered = operator.post(f"/rectification/{notice}/answer", data={"csrf_token": csrf(),
                                                                      "measures": "推行半份菜；设立监督岗"},
                             files={"files": ("监督岗.jpg", JPEG, "image/jpeg")},
                             follow_redirects=False)
    assert answered.status_code == 303
    page = operator.get(f"/rectification/{notice}").text
    assert "推行半份菜" in page and 'data-status="answered"' in page and 'class="answer"' not in page
    file_id = re.search(r'data-file="(\d+)">监督岗.jpg<', page)[1]
    assert operator.get(f"/assessment/files/{file_id}").content.startswith(b"\xff\xd8\xff")

    assert sign_in("bureau_k2").get(f"/rectification/{notice}").status_code == 404
    bureau = sign_in("bureau_c1")
    assert 'class="recheck"' in bureau.get(f"/rectification/{notice}").text
    assert bureau.post(f"/rectification/{notice}/recheck", data={"csrf_token": csrf()}).status_code == 422
    closed = bureau.post(f"/rectification/{notice}/recheck", data={"csrf_token": csrf(), "result": "passed",
                                                                   "note": "复查达标"}, follow_redirects=False)
    assert closed.status_code == 303
    assert 'data-status="closed"' in bureau.get(f"/rectification/{notice}").text
    assert f'data-notice="{notice}"' in bureau.get("/assessment/rectification?status=closed").text
    assert f'data-notice="{notice}"' not in bureau.get("/assessment/rectification?status=open").text
    again = bureau.post(f"/rectification/{notice}/recheck", data={"csrf_token": csrf(), "result": "failed"})
    assert again.status_code == 409
    assert sign_in("diner_a").get("/assessment/rectification").status_code == 403


def test_notices_past_their_deadline_are_highlighted(sign_in, clock, notice):
    clock.now = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
    page = sign_in("bureau_c1").get("/assessment/rectification").text
    assert f'<tr data-notice="{notice}" class="overdue">' in page and "逾期" in page
    assert sign_in("bureau_k2").get("/assessment/rectification").text.count("data-notice=") == 0


def test_the_bureaus_navigation_leads_to_the_assessment_pages(sign_in):
    page = sign_in("bureau_c1").get("/assessment/standards").text
    for href in ("/assessment", "/assessment/sampling", "/assessment/rectification", "/assessment/bulletins",
                 "/assessment/standards"):
        assert f'href="{href}"' in page
    assert 'href="/assessment/rectification">整改通知<' in sign_in("operator_a").get("/").text


def test_a_plan_drawn_in_december_visits_after_the_drawing_and_counts_this_years_inspections(
        sign_in, org, csrf, clock, session):
    """A was inspected in the third quarter: in December only H is never inspected, and its one visit falls on
    the first working day of the rest of the year (Wednesday 2 December)."""
    session.add(Evaluation(canteen_id=org.canteens["a"], period="2026-Q3", kind=EvaluationKind.inspection,
                           status=EvaluationStatus.submitted, standard_id=service.reference_row(session, clock()).id,
                           updated_at=clock(), submitted_at=clock()))
    session.commit()
    clock.now = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    client = sign_in("bureau_c1")
    drawn = client.post("/assessment/sampling", data={"csrf_token": csrf(), "bureau_id": org.c1, "year": 2026,
                                                      "seed": 7}, follow_redirects=False)
    assert drawn.status_code == 303
    page = client.get(drawn.headers["location"]).text
    assert rows_of(page) == [org.canteens["h"]]
    assert f'<tr data-canteen="{org.canteens["h"]}"><td>2026-12-02</td>' in page
    past = client.post("/assessment/sampling", data={"csrf_token": csrf(), "bureau_id": org.c1, "year": 2025,
                                                     "seed": 7})
    assert past.status_code == 422 and "2025 年已过去" in past.text


@pytest.fixture
def many(org, session):
    """110 more canteens in K1, 县食堂000 to 县食堂109: ids in creation order."""
    ids = [org_service.create_canteen(session, SYSTEM, CanteenCreate(
        bureau_id=org.k1, name=f"县食堂{index:03d}", serving_mode=ServingMode.portioned), "Asia/Shanghai").id
        for index in range(110)]
    session.commit()
    return ids


def test_the_overview_pages_a_large_jurisdiction_and_searches_it(sign_in, org, october, many):
    a, h = org.canteens["a"], org.canteens["h"]
    client = sign_in("bureau_c1")
    first = client.get("/assessment?period=2026-10").text
    # Scored first (A 80, H 2.5), then the 110 without a scorecard in id order: 112 rows, 50 a page.
    assert rows_of(first) == [a, h, *many[:48]] and 'data-total="112"' in first and "第 1/3 页" in first
    assert 'data-page="2"' in first and 'data-page="3"' in first and 'rel="next"' in first
    assert re.search(r'data-grade="">110<', first)  # not scored, over every page
    last = client.get("/assessment?period=2026-10&page=3").text
    assert rows_of(last) == many[98:] and 'rel="prev"' in last
    assert rows_of(client.get("/assessment?period=2026-10&page=9").text) == many[98:]  # past the end: the last
    assert client.get("/assessment?period=2026-10&page=two").status_code == 422
    found = client.get("/assessment?period=2026-10&q=县食堂10").text
    assert rows_of(found) == many[100:] and 'data-total="10"' in found
    assert rows_of(client.get("/assessment?period=2026-10&grade=良好&q=食堂").text) == [a]
    assert rows_of(client.get(f"/assessment?period=2026-10&county={org.c1}&q=食堂H").text) == [h]
    assert 'data-total="111"' in client.get(f"/assessment?period=2026-10&county={org.k1}").text


def test_the_overview_says_why_a_period_has_no_scorecards(sign_in, org, october, session, clock):
    evidence.evaluation(session, auth_service.scope_for(session, session.get(User, org.users["operator_a"])),
                        org.canteens["a"], parse_period("2026-Q4"), EvaluationKind.self, clock())
    session.commit()
    client = sign_in("bureau_c1")  # on 23 November 2026
    running = client.get("/assessment?period=2026-Q4").text
    assert 'data-state="not-scored"' in running and "2026-Q4 尚未结束" in running and "2027-01-01" in running
    assert f'<tr data-canteen="{org.canteens["a"]}">' in running
    assert 'data-self="draft"' in running and 'data-self="none"' in running and "草稿" in running
    assert 'data-inspection="none"' in running and "未开始" in running
    over = client.get("/assessment?period=2026-Q3").text
    assert "2026-Q3 已结束但尚未评分" in over and "2026-10-01" in over
    scored = client.get("/assessment?period=2026-10").text
    assert 'data-state="not-scored"' not in scored and "data-self=" not in scored
    # Monthly scorecards do score the checklist items: the note says so.
    assert "清单项按截至月末最近提交的自评和检查结果计分" in scored


def test_the_overview_downloads_its_scorecards_as_csv_and_excel(sign_in, org, october):
    client = sign_in("bureau_c1")
    page = client.get("/assessment?period=2026-10").text
    assert 'href="/assessment/scorecards.csv?period=2026-10&amp;grade=&amp;mode=&amp;county=&amp;q=&order=desc"' in page
    response = client.get("/assessment/scorecards.csv?period=2026-10")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert 'filename="scorecards-2026-10.csv"' in response.headers["content-disposition"]
    table = pd.read_csv(io.BytesIO(response.content), encoding="utf-8-sig")
    assert list(table.columns[:5]) == ["管理局", "食堂", "期间", "总分", "等级"]
    assert list(table.columns[-2:]) == ["加分", "否决项"]
    assert list(table["食堂"]) == ["食堂A", "食堂H"]  # best first; B is outside C1
    assert list(table["管理局"]) == ["K1县", "C1市"] and list(table["等级"]) == ["良好", "不合格"]
    a, h = table.iloc[0], table.iloc[1]
    assert a["总分"] == 80 and h["总分"] == 2.5
    # M1, forecast error 0.1 against a full mark at 0.10: all 8 points; H has no forecast: blank, none.
    assert a["M1 按需采购科学备餐 数值"] == 0.1 and a["M1 按需采购科学备餐 得分"] == 8
    assert pd.isna(h["M1 按需采购科学备餐 数值"]) and h["M1 按需采购科学备餐 得分"] == 0
    assert a["S1 工作制度与责任人 数值"] == "达到（自评）" and a["S1 工作制度与责任人 得分"] == 5
    assert pd.isna(a["否决项"]) and a["加分"] == 0
    excel = client.get("/assessment/scorecards.xlsx?period=2026-10&grade=不合格")
    assert excel.status_code == 200 and 'filename="scorecards-2026-10.xlsx"' in excel.headers["content-disposition"]
    sheet = pd.read_excel(io.BytesIO(excel.content))
    assert list(sheet["食堂"]) == ["食堂H"] and list(sheet.columns[:5]) == ["管理局", "食堂", "期间", "总分", "等级"]
    assert list(pd.read_csv(io.BytesIO(sign_in("bureau_k2").get("/assessment/scorecards.csv?period=2026-10")
                                       .content), encoding="utf-8-sig")["食堂"]) == ["食堂B"]
    assert sign_in("operator_a").get("/assessment/scorecards.csv?period=2026-10").status_code == 403


def test_the_standards_page_offers_the_reference_as_a_template(sign_in):
    client = sign_in("bureau_c1")
    assert 'href="/assessment/standards/reference.toml"' in client.get("/assessment/standards").text
    template = client.get("/assessment/standards/reference.toml")
    assert template.status_code == 200 and template.content == REFERENCE.read_bytes()
    assert 'filename="reference.toml"' in template.headers["content-disposition"]
    assert sign_in("operator_a").get("/assessment/standards/reference.toml").status_code == 403


def test_a_standard_that_is_not_toml_is_refused_in_chinese_with_its_position(sign_in, csrf):
    client = sign_in("bureau_c1")
    refused = client.post("/assessment/standards", data={"csrf_token": csrf()},
                          files={"file": ("bad.toml", b'[standard\ncode = "X"\n', "application/toml")})
    assert refused.status_code == 422 and '<tr data-line="1">' in refused.text
    # tomllib: "Expected ']' at the end of a table declaration (at line 1, column 10)"; its words only in brackets.
    assert ("不是有效的 TOML：第 1 行第 10 列有语法错误（Expected &#39;]&#39; at the end of a table declaration）"
            in refused.text)
    wrong = reference_standard().text.replace("min = 0\n", "min = 60\n")
    listed = client.post("/assessment/standards", data={"csrf_token": csrf()},
                         files={"file": ("bad.toml", wrong.encode(), "application/toml")}).text
    assert "最后一个等级的最低分须为 0，而不是 60" in listed
