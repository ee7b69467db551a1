"""A canteen's assessment pages: the scorecard in full, the self-evaluation, the inspection with vetoes, files."""
import re
from datetime import UTC, datetime

import pytest
from sqlmodel import Session

from canteen.assessment import service
from canteen.assessment.periods import parse_period
from tests.support.files import JPEG

SELF_ITEMS = ["S1", "S2", "S3", "M3", "M4", "G1", "G2", "G3", "E1"]  # the reference standard's checklist
CHECKLIST_ONLY = """
[standard]
code = "TEST-CHECK"
title = "检查表"
version = "1"
total = 100
bonus_cap = 5

[[grades]]
name = "优秀"
min = 90
[[grades]]
name = "不合格"
min = 0

[[dimensions]]
id = "system"
name = "制度建设"
points = 100

[[dimensions.indicators]]
id = "S1"
name = "工作制度"
points = 60
method = "checklist"

[[dimensions.indicators]]
id = "S2"
name = "用餐预约"
points = 40
method = "checklist"

[[vetoes]]
id = "V1"
name = "严重浪费"

[[bonuses]]
id = "B1"
name = "经验做法被推广"
points = 2
"""


def test_the_scorecard_shows_every_lost_point_with_its_reason_and_the_rank(sign_in, org, session, stored_scorecard):
    stored_scorecard(org.canteens["a"], "2026-Q3", {"plate_waste_g_per_diner": 60.0}, {"S1": "partly"})
    stored_scorecard(org.canteens["a"], "2026-Q4", {"plate_waste_g_per_diner": 45.0},
                     {"S1": [{"answer": "not_met", "by": "inspection", "note": "未见制度文件"}]})
    stored_scorecard(org.canteens["h"], "2026-Q4", {"plate_waste_g_per_diner": 30.0}, {"S1": "met"})
    session.commit()
    url = f"/canteens/{org.canteens['a']}/assessment"
    page = sign_in("bureau_c1").get(url)  # the newest scorecard by default
    assert page.status_code == 200
    assert "失分原因" in page.text
    w2 = re.search(r'<tr data-indicator="W2">(.*?)</tr>', page.text, re.S).group(1)
    assert "7.50" in w2 and "2.50" in w2 and "人均餐余量 45" in w2  # 45 g: a quarter of 10 points lost
    s1 = re.search(r'<tr data-indicator="S1">(.*?)</tr>', page.text, re.S).group(1)
    assert "未达到" in s1 and "检查组评定" in s1 and "未见制度文件" in s1
    assert re.search(r'data-figure="rank">2<small> / 2<', page.text)  # H scores more in C1's jurisdiction
    assert re.search(r'data-figure="mode-rank">1<small> / 1<', page.text)
    assert "<svg" in page.text  # the trend of the quarterly totals
    earlier = sign_in("operator_a").get(f"{url}?period=2026-Q3")
    assert earlier.status_code == 200 and "部分达到" in earlier.text
    assert "没有 2026-09 的评分" in sign_in("operator_a").get(f"{url}?period=2026-09").text
    assert sign_in("operator_a").get(f"{url}?period=2026-13").status_code == 422
    assert sign_in("operator_b").get(url).status_code == 404
    assert sign_in("bureau_k2").get(url).status_code == 404
    assert sign_in("diner_a").get(url).status_code == 403


def test_the_operator_saves_uploads_and_submits_the_self_evaluation(sign_in, org, csrf):
    client = sign_in("operator_a")
    url = f"/canteens/{org.canteens['a']}/self-evaluation?period=2026-Q4"
    assert 'data-state="draft"' in client.get(url).text
    saved = client.post(url, data={"csrf_token": csrf(), "action": "save", "answer_S1": "met",
                                   "answer_S2": "partly", "note_S2": "只有午餐预约"},
                        files={"file_S1": ("制度.pdf", b"%PDF-1.4 rules", "application/pdf"),
                               "photos": ("宣传栏.jpg", JPEG, "image/jpeg")}, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    page = client.get(url).text
    assert re.search(r'name="answer_S2" value="partly" checked', page) and "只有午餐预约" in page
    file_id = re.search(r'<tr data-item="S1">.*?data-file="(\d+)">制度.pdf<', page, re.S).group(1)
    download = client.get(f"/assessment/files/{file_id}")
    assert download.status_code == 200 and download.content == b"%PDF-1.4 rules"
    assert download.headers["content-type"] == "application/pdf"
    assert "attachment" in download.headers["content-disposition"]
    assert "宣传栏.jpg" in page

    missing = client.post(url, data={"csrf_token": csrf(), "action": "submit", "answer_S3": "met"})
    assert missing.status_code == 422 and "M3, M4, G1, G2, G3, E1" in missing.text
    assert 'name="answer_S3" value="met" checked' in missing.text  # what was entered is kept
    rest = {f"answer_{item}": "met" for item in SELF_ITEMS[2:]}
    submitted = client.post(url, data={"csrf_token": csrf(), "action": "submit", **rest}, follow_redirects=False)
    assert submitted.status_code == 303
    page = client.get(url).text
    assert 'data-state="submitted"' in page and 'type="radio"' not in page and 'data-answer="partly"' in page
    again = client.post(url, data={"csrf_token": csrf(), "action": "save", "answer_S1": "not_met"})
    assert again.status_code == 409

    assert sign_in("bureau_c1").get(url).status_code == 200  # read only for the bureau
    assert sign_in("bureau_c1").get(f"/assessment/files/{file_id}").status_code == 200
    assert sign_in("operator_b").get(url).status_code == 404
    assert sign_in("operator_b").get(f"/assessment/files/{file_id}").status_code == 404
    assert sign_in("bureau_k2").get(f"/assessment/files/{file_id}").status_code == 404
    assert sign_in("diner_a").get(url).status_code == 403


def test_refused_answers_and_files_show_in_place(sign_in, org, csrf):
    client = sign_in("operator_a")
    url = f"/canteens/{org.canteens['a']}/self-evaluation?period=2026-Q4"
    bad_file = client.post(url, data={"csrf_token": csrf(), "action": "save"},
                           files={"file_S1": ("run.exe", b"MZ", "application/x-msdownload")})
    assert bad_file.status_code == 422 and 'role="alert"' in bad_file.text
    orphan_note = client.post(url, data={"csrf_token": csrf(), "action": "save", "note_S1": "写了说明"})
    assert orphan_note.status_code == 422 and "写了说明" in orphan_note.text
    assert client.get(f"/canteens/{org.canteens['a']}/self-evaluation?period=2026-10").status_code == 422
    no_token = client.post(url, data={"action": "save", "answer_S1": "met"})
    assert no_token.status_code == 403
    assert 'name="answer_S1" value="met" checked' not in client.get(url).text


def test_a_bureau_is_told_the_canteen_has_not_started_its_self_evaluation(sign_in, org, csrf):
    url = f"/canteens/{org.canteens['a']}/self-evaluation?period=2026-Q4"
    page = sign_in("bureau_c1").get(url)
    assert page.status_code == 200 and 'data-state="not-started"' in page.text
    assert "食堂尚未开始本季度自评。" in page.text and "本季度尚未开始" not in page.text
    inspection = sign_in("operator_a").get(f"/canteens/{org.canteens['a']}/inspection?period=2026-Q4").text
    assert 'data-state="not-started"' in inspection and "管理局尚未开始本季度现场检查。" in inspection
    saved = sign_in("operator_a").post(url, data={"csrf_token": csrf(), "action": "save", "answer_S1": "met"},
                                       follow_redirects=False)
    assert saved.status_code == 303
    draft = sign_in("bureau_c1").get(url).text
    assert 'data-state="draft"' in draft and "食堂自评尚为草稿，未提交。" in draft


def test_an_inspection_with_a_veto_fails_the_next_quarterly_scorecard(sign_in, org, csrf, engine):
    client = sign_in("bureau_c1")
    loaded = client.post("/assessment/standards", data={"csrf_token": csrf()},
                         files={"file": ("check.toml", CHECKLIST_ONLY.encode(), "application/toml")},
                         follow_redirects=False)
    assert loaded.status_code == 303, loaded.text
    standard_id = re.search(r'<tr data-standard="(\d+)"><td>TEST-CHECK<', client.get("/assessment/standards").text)[1]
    chosen = client.post("/assessment/standards/choice", data={
        "csrf_token": csrf(), "bureau_id": org.c1, "standard_id": standard_id, "effective_from": "2026-01-01"},
        follow_redirects=False)
    assert chosen.status_code == 303

    url = f"/canteens/{org.canteens['a']}/inspection?period=2026-Q4"
    assert sign_in("operator_a").get(url).status_code == 200  # nothing inspected yet, read only
    client = sign_in("bureau_c1")
    inspected = client.post(url, data={"csrf_token": csrf(), "action": "submit", "visited_on": "2026-11-18",
                                       "answer_S1": "met", "answer_S2": "met"},
                            files={"photos": ("现场.jpg", JPEG, "image/jpeg")}, follow_redirects=False)
    assert inspected.status_code == 303, inspected.text
    page = client.get(url).text
    assert 'data-state="submitted"' in page and "2026-11-18" in page and "现场.jpg" in page

    quarter = parse_period("2026-Q4")
    with Session(engine) as session:
        assert service.compute_scorecards(session, quarter, datetime.now(UTC), [org.canteens["a"]])[0].grade == "优秀"
        session.commit()
    unknown = client.post(f"/canteens/{org.canteens['a']}/vetoes?period=2026-Q4",
                          data={"csrf_token": csrf(), "item": "V9", "day": "2026-11-10"})
    assert unknown.status_code == 422 and "V9" in unknown.text
    vetoed = client.post(f"/canteens/{org.canteens['a']}/vetoes?period=2026-Q4",
                         data={"csrf_token": csrf(), "item": "V1", "day": "2026-11-10", "note": "媒体曝光"},
                         follow_redirects=False)
    assert vetoed.status_code == 303
    assert re.search(r'data-veto="V1">.*?2026-11-10.*?媒体曝光', client.get(url).text, re.S)
    awarded = client.post(f"/canteens/{org.canteens['a']}/bonuses?period=2026-Q4",
                          data={"csrf_token": csrf(), "item": "B1", "day": "2026-12-01"}, follow_redirects=False)
    assert awarded.status_code == 303 and 'data-bonus="B1"' in client.get(url).text
    with Session(engine) as session:
        card = service.compute_scorecards(session, quarter, datetime.now(UTC), [org.canteens["a"]])[0]
        assert (card.total, card.grade, card.vetoed) == (100.0, "不合格", True)
        session.commit()
    page = client.get(f"/canteens/{org.canteens['a']}/assessment?period=2026-Q4").text
    assert 'data-veto="V1"' in page and 'data-bonus="B1"' in page  # the total stays capped at 100
    assert re.search(r'data-figure="grade">不合格<', page)
    operator = sign_in("operator_a").post(f"/canteens/{org.canteens['a']}/vetoes?period=2026-Q4",
                                          data={"csrf_token": csrf(), "item": "V1", "day": "2026-11-10"})
    assert operator.status_code == 403


@pytest.mark.parametrize("page", ["assessment", "self-evaluation", "inspection"])
def test_canteen_assessment_pages_have_the_tab(sign_in, org, page):
    text = sign_in("operator_a").get(f"/canteens/{org.canteens['a']}/{page}").text
    assert f'href="/canteens/{org.canteens["a"]}/assessment">评估<' in text


def test_an_unknown_bonus_is_refused_in_chinese_words(sign_in, org, csrf):
    refused = sign_in("bureau_c1").post(f"/canteens/{org.canteens['a']}/bonuses?period=2026-Q4", data={
        "csrf_token": csrf(), "item": "B7", "day": "2026-11-02"})
    error = re.search(r'<p class="error" role="alert">(.*?)</p>', refused.text, re.S)[1]
    assert refused.status_code == 422 and error == "CANTEEN-REF 没有加分项 B7"
