"""The bureau's bulletin editor: draft, texts, preview, approve, publish (with its notices), correct."""
import re

import pytest

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
    assert client.post(f"{url}/publish", data={"csrf_token": csrf()}, follow_redirects=False).status_code == 303
    page = client.get(url).text
    public = re.search(r'<a href="(/bulletins/[^"]+)" data-public>', page)[1]
    assert 'data-status="published"' in page and "现将评估情况通报如下。" in client.get(public).text
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
