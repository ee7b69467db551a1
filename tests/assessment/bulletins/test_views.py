"""The bureau's bulletin editor: draft, texts, preview, approve, publish (with its notices), correct."""
import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect, sync_playwright

from canteen.assessment.models import Bulletin, BulletinStatus
from canteen.web.pdf import CHROMIUM, CHROMIUM_ARGS

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)

PASSING = {"plate_waste_g_per_diner": 20.0, "forecast_wape": 0.1, "small_portion_share": 0.5,
           "surplus_food_g_per_diner": 10.0}
MET = {item: "met" for item in ("S1", "S2", "S3", "M3", "M4", "G1", "G2", "G3", "E1")}


@pytest.fixture
def october(org, session, stored_scorecard):
    """October in C1: A scores 80 (良好), H fails."""
    stored_scorecard(org.canteens["a"], "2026-10", PASSING, MET)
    stored_scorecard(org.canteens["h"], "2026-10", {"plate_waste_g_per_diner": 75.0})
    session.commit()


def test_a_bulletin_from_draft_to_published_and_corrected(sign_in, org, csrf, october):
    client = sign_in("bureau_c1")
    assert 'value="2026-10"' in client.get("/assessment/bulletins").text  # last month is offered
    created = client.post("/assessment/bulletins", data={"csrf_token": csrf(), "bureau_id": org.c1,
                                                         "period": "2026-10"}, follow_redirects=False)
    assert created.status_code == 303
    url = created.headers["location"]
    again = client.post("/assessment/bulletins", data={"csrf_token": csrf(), "bureau_id": org.c1,
                                                       "period": "2026-10"})
    assert again.status_code == 409 and 'value="2026-10"' in again.text

    texts = {"title": "关于2026年10月机关食堂反食品浪费工作的通报", "opening": "现将评估情况通报如下。",
             "good_practices": "食堂A推行半份菜。", "requirements": "食堂H限期整改。"}
    empty_title = client.post(url, data={"csrf_token": csrf(), **texts, "title": " "})
    assert empty_title.status_code == 422 and "食堂A推行半份菜。" in empty_title.text  # what was typed is kept
    assert client.post(url, data={"csrf_token": csrf(), **texts}, follow_redirects=False).status_code == 303
    preview = client.get(f"{url}/preview")
    assert preview.status_code == 200 and "现将评估情况通报如下。" in preview.text and "食堂H" in preview.text

    assert client.post(f"{url}/approve", data={"csrf_token": csrf()}, follow_redirects=False).status_code == 303
    page = client.get(url).text
    assert 'data-status="approved"' in page and "<textarea" in page and "disabled>食堂H限期整改。<" in page
    assert client.post(url, data={"csrf_token": csrf(), **texts}).status_code == 409  # frozen
    assert f'action="{url}/publish"' in page and 'method="get"' in page  # to the confirmation first
    assert client.post(f"{url}/publish", data={"csrf_token": csrf(), "confirm": "yes"},
                       follow_redirects=False).status_code == 303
    page = client.get(url).text
    public = re.search(r'<a href="(/bulletins/[^"]+)" data-public>', page)[1]
    assert 'data-status="published"' in page and "现将评估情况通报如下。" in client.get(public).text
    assert ">已发布<" in page and "/delete" not in page  # the state, not a date; no delete button
    notices = client.get("/assessment/rectification").text  # the failing canteen was sent its notice
    assert "食堂H" in notices and "食堂A" not in notices

    assert client.post(f"{url}/correct", data={"csrf_token": csrf(), "note": " "}).status_code == 422
    corrected = client.post(f"{url}/correct", data={"csrf_token": csrf(), "note": "更正食堂H的得分"},
                            follow_redirects=False)
    assert corrected.status_code == 303 and corrected.headers["location"] != url
    page = client.get(corrected.headers["location"]).text
    assert 'data-status="draft"' in page and "更正食堂H的得分" in page and f'href="{url}"' in page
    listed = client.get("/assessment/bulletins").text
    assert listed.count("<tr data-bulletin=") == 2 and public in listed


def test_others_cannot_see_or_change_the_bureaus_bulletins(sign_in, org, csrf, october):
    created = sign_in("bureau_c1").post("/assessment/bulletins", data={
        "csrf_token": csrf(), "bureau_id": org.c1, "period": "2026-10"}, follow_redirects=False)
    url = created.headers["location"]
    assert sign_in("bureau_c1").post(f"{url}/approve", data={}).status_code == 403  # no CSRF token
    assert sign_in("bureau_k2").get(url).status_code == 404
    assert sign_in("bureau_k2").post(f"{url}/approve", data={"csrf_token": csrf()}).status_code == 404
    assert sign_in("bureau_k2").get(f"/assessment/bulletins?bureau={org.c1}").status_code == 404
    assert sign_in("operator_a").get(url).status_code == 403
    assert sign_in("diner_a").get("/assessment/bulletins").status_code == 403
    refused = sign_in("bureau_c1").post("/assessment/bulletins", data={
        "csrf_token": csrf(), "bureau_id": org.c1, "period": "2026-13"})
    assert refused.status_code == 422 and 'value="2026-13"' in refused.text


def _draft(client, csrf, org, period="2026-10") -> str:
    created = client.post("/assessment/bulletins", data={"csrf_token": csrf(), "bureau_id": org.c1, "period": period},
                          follow_redirects=False)
    assert created.status_code == 303
    return created.headers["location"]


def test_publishing_asks_for_confirmation_first(sign_in, org, csrf, october):
    client = sign_in("bureau_c1")
    url = _draft(client, csrf, org)
    assert 'name="confirm"' not in client.get(f"{url}/publish").text  # a draft has nothing to confirm yet
    assert client.post(f"{url}/approve", data={"csrf_token": csrf()}, follow_redirects=False).status_code == 303

    confirm = client.get(f"{url}/publish")
    assert confirm.status_code == 200
    text = confirm.text
    # What publishing does: the public address, the canteen sent a notice (H fails, A does not), no way back.
    assert f"/bulletins/{org.c1}-2026-10-v1" in text and "无需登录" in text
    assert re.search(r"<span data-failing>食堂H</span>", text)
    assert "不可撤回" in text and "确认发布" in text
    form = re.search(r'<form method="post" action="' + url + r'/publish".*?</form>', text, re.S)[0]
    assert 'name="confirm" value="yes"' in form and 'name="csrf_token"' in form
    # The waiting state, shown when the form is sent by the site's own script (no inline script: the CSP
    # forbids it; tests/e2e/test_csp.py presses the button in a browser).
    assert '<span class="muted busy" role="status" hidden>正在生成 PDF…</span>' in form
    assert re.findall(r"<script[^>]*>", text) == ['<script src="/static/page.js" defer>']
    assert "button.disabled = true" in client.get("/static/page.js").text

    # Posted without the confirmation (an old page, a script): refused in place, nothing published.
    refused = client.post(f"{url}/publish", data={"csrf_token": csrf()})
    assert refused.status_code == 422 and "请在发布确认页面确认" in refused.text
    assert 'data-status="approved"' in refused.text and 'name="confirm" value="yes"' in refused.text
    assert client.get("/bulletins").text.count("<tr data-slug=") == 0
    assert "食堂H" not in client.get("/assessment/rectification").text


def test_a_draft_for_a_period_without_scorecards_is_refused(sign_in, org, csrf, october):
    client = sign_in("bureau_c1")
    refused = client.post("/assessment/bulletins", data={"csrf_token": csrf(), "bureau_id": org.c1,
                                                         "period": "2026-09"})
    assert refused.status_code == 422
    assert "本辖区尚无食堂有 2026-09 的评分" in refused.text
    assert 'value="2026-09"' in refused.text and 'aria-invalid="true"' in refused.text
    assert "(period)" not in refused.text  # no form field names in the page's language
    assert "<tr data-bulletin=" not in refused.text


def test_a_draft_can_be_deleted_a_published_bulletin_cannot(sign_in, org, csrf, october):
    client = sign_in("bureau_c1")
    url = _draft(client, csrf, org)
    page = client.get(url).text
    form = re.search(r'<form method="post" action="' + url + r'/delete".*?</form>', page, re.S)[0]
    assert 'name="csrf_token"' in form and "删除此版本" in form
    assert client.post(f"{url}/delete", data={}).status_code == 403  # no CSRF token
    assert sign_in("bureau_k2").post(f"{url}/delete", data={"csrf_token": csrf()}).status_code == 404
    client = sign_in("bureau_c1")
    deleted = client.post(f"{url}/delete", data={"csrf_token": csrf()}, follow_redirects=False)
    assert deleted.status_code == 303 and deleted.headers["location"] == f"/assessment/bulletins?bureau={org.c1}"
    assert client.get(url).status_code == 404
    assert "<tr data-bulletin=" not in client.get(deleted.headers["location"]).text

    url = _draft(client, csrf, org)  # the period can be drafted again
    client.post(f"{url}/approve", data={"csrf_token": csrf()})
    client.post(f"{url}/publish", data={"csrf_token": csrf(), "confirm": "yes"})
    refused = client.post(f"{url}/delete", data={"csrf_token": csrf()})
    assert refused.status_code == 409 and "已发布的通报不能删除" in refused.text
    assert 'data-status="published"' in client.get(url).text


def test_error_messages_name_the_field_in_words(sign_in, org, csrf, october):
    client = sign_in("bureau_c1")
    url = _draft(client, csrf, org)
    refused = client.post(url, data={"csrf_token": csrf(), "title": " "})
    assert refused.status_code == 422 and "标题不能为空" in refused.text and "title" not in refused.text.split(
        "<main>")[1].split("<form")[0]
    assert re.search(r'name="title"[^>]*aria-invalid="true"', refused.text)
    long = client.post(url, data={"csrf_token": csrf(), "title": "标题", "requirements": "长" * 20_001})
    assert long.status_code == 422 and "工作要求超过 20000 个字符" in long.text


def _stored(session, org, count: int, published: bool) -> None:
    """`count` bulletins of C1, one a month back from 2026-10, without rendering any (listing reads none)."""
    for index in range(count):
        year, month = divmod(2026 * 12 + 9 - index, 12)
        period = f"{year}-{month + 1:02d}"
        session.add(Bulletin(bureau_id=org.c1, period=period, title=f"通报{period}", text={}, created_at=NOW,
                             **({"status": BulletinStatus.published, "slug": f"{org.c1}-{period}-v1", "html": "",
                                 "pdf": b"", "content_hash": "", "published_at": NOW - timedelta(days=index)}
                                if published else {})))
    session.commit()


def test_the_bureaus_list_is_paged(sign_in, session, org):
    _stored(session, org, 21, published=False)
    client = sign_in("bureau_c1")
    first = client.get(f"/assessment/bulletins?bureau={org.c1}").text
    assert first.count("<tr data-bulletin=") == 20 and ">2026-10<" in first and ">2025-02<" not in first
    assert "共 21 条，第 1/2 页" in first
    assert f'href="/assessment/bulletins?bureau={org.c1}&amp;page=2" rel="next"' in first
    second = client.get(f"/assessment/bulletins?bureau={org.c1}&page=2").text
    assert second.count("<tr data-bulletin=") == 1 and ">2025-02<" in second  # the oldest
    assert f'href="/assessment/bulletins?bureau={org.c1}&amp;page=1" rel="prev"' in second
    assert client.get("/assessment/bulletins?page=x").status_code == 422


def test_the_public_index_is_paged_newest_first(client, session, org):
    _stored(session, org, 45, published=True)
    first = client.get("/bulletins").text
    slugs = [row.split('"')[0] for row in first.split('<tr data-slug="')[1:]]
    assert slugs[:2] == [f"{org.c1}-2026-10-v1", f"{org.c1}-2026-09-v1"] and len(slugs) == 20
    assert "共 45 条，第 1/3 页" in first and "<th>发布日期</th>" in first
    third = client.get("/bulletins?page=3").text
    assert third.count("<tr data-slug=") == 5 and f'data-slug="{org.c1}-2023-02-v1"' in third  # 45th month back
    assert 'href="/bulletins?page=2" rel="prev"' in third and 'rel="next"' not in third
    assert '<strong aria-current="page">3</strong>' in third
    assert client.get("/bulletins?page=0").status_code == 422


def test_the_publish_button_shows_that_the_pdf_is_being_made_in_a_browser(sign_in, org, csrf, october):
    """The confirmation page in Chromium. The test's own submit listener, added after the page's, keeps the form
    from leaving: the page stays as it is while the server would be making the PDF."""
    client = sign_in("bureau_c1")
    url = _draft(client, csrf, org)
    client.post(f"{url}/approve", data={"csrf_token": csrf()})
    html = client.get(f"{url}/publish").text
    script = client.get("/static/page.js").text
    address = f"http://canteen.test{url}/publish"

    def answer(route) -> None:
        if route.request.url == address:
            route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html)
        elif route.request.url == "http://canteen.test/static/page.js":
            route.fulfill(status=200, content_type="text/javascript", body=script)
        else:
            route.abort()  # the stylesheet is not needed, and the page asks for nothing else

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.route("**/*", answer)
            page.goto(address)
            page.evaluate("""() => document.querySelector("form.publish").addEventListener("submit", (event) => {
                window.sent = event.defaultPrevented ? null : Object.fromEntries(new FormData(event.target));
                event.preventDefault();
            })""")
            status = page.get_by_role("status")
            expect(status).to_be_hidden()
            button = page.get_by_role("button", name="确认发布")
            button.click()
            expect(status).to_be_visible()
            expect(status).to_have_text("正在生成 PDF…")
            expect(button).to_be_disabled()
            assert page.evaluate("window.sent")["confirm"] == "yes"  # what goes to the server, sent once
        finally:
            browser.close()


def _words(html: str) -> set[str]:
    """The Latin words a reader sees in the page's own part (the header names the user, and offers English):
    text outside tags, scripts and styles."""
    main = html.split("<main>", 1)[1].split("</main>", 1)[0]
    visible = re.sub(r"<(script|style)\b.*?</\1>|<[^>]+>", " ", main, flags=re.S)
    return set(re.findall(r"(?<![/\w?=&-])[A-Za-z]{2,}", visible))  # not inside an address like /bulletins/…


def test_the_pages_show_no_english_in_chinese(sign_in, client, org, csrf, october):
    bureau = sign_in("bureau_c1")
    url = _draft(bureau, csrf, org)
    pages = [bureau.get("/assessment/bulletins").text, bureau.get(url).text,
             bureau.post(url, data={"csrf_token": csrf(), "title": ""}).text]
    bureau.post(f"{url}/approve", data={"csrf_token": csrf()})
    pages += [bureau.get(url).text, bureau.get(f"{url}/publish").text,
              bureau.post(f"{url}/publish", data={"csrf_token": csrf()}).text]
    bureau.post(f"{url}/publish", data={"csrf_token": csrf(), "confirm": "yes"})
    pages += [bureau.get(url).text, bureau.get("/assessment/bulletins").text,
              bureau.post(f"{url}/delete", data={"csrf_token": csrf()}).text, client.get("/bulletins").text]
    assert set().union(*map(_words, pages)) <= {"PDF"}  # what Chinese readers call it too
