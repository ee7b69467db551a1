"""Pages over a jurisdiction: the scorecard overview, the sampling plan, standards, rectification notices."""
import re
from datetime import UTC, datetime

import pytest

from canteen.assessment import rectification
from canteen.assessment.standard import reference_standard

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


def test_the_bureau_draws_its_sampling_plan(sign_in, org, csrf):
    client = sign_in("bureau_c1")
    assert 'data-state="no-plan"' in client.get("/assessment/sampling?year=2027").text
    drawn = client.post("/assessment/sampling", data={"csrf_token": csrf(), "bureau_id": org.c1, "year": 2027,
                                                      "seed": 7}, follow_redirects=False)
    assert drawn.status_code == 303
    page = client.get(drawn.headers["location"]).text
    picks = rows_of(page)
    assert len(picks) == 1 and picks[0] in (org.canteens["a"], org.canteens["h"])  # 35 % of two, rounded up
    assert "从未检查" in page and "种子 7" in page
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
                             files={"files": ("监督岗.jpg", b"\xff\xd8\xff" + bytes(50), "image/jpeg")},
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
