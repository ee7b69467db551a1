"""Operator pages: dashboard, wall display, history and exports, kitchen and diner-count entry, scoping."""
import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook

LUNCH_END = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)  # 13:00 in Shanghai


@pytest.fixture
def lunch(client, org, clock):
    """Today's lunch at canteen A: six plates, 0, 5, 10, 11, 120, 54 g (200 g, 3 clean), from 12:00 local."""
    clock.now = LUNCH_END
    items = [{"seq": i + 1, "measured_at": (LUNCH_END - timedelta(minutes=60 - 5 * i)).isoformat(), "grams": g}
             for i, g in enumerate([0, 5, 10, 11, 120, 54])]
    response = client.post("/api/v1/weighings", json={"items": items},
                           headers={"Authorization": f"Bearer {org.station_keys['a']}"})
    assert response.json()["accepted"] == 6
    return org.canteens["a"]


def figure(html: str, name: str) -> str:
    match = re.search(rf'data-figure="{name}">([^<]*)<', html)
    assert match, f"no figure {name}"
    return match.group(1)


def test_dashboard_shows_todays_figures(sign_in, lunch):
    page = sign_in("operator_a").get(f"/canteens/{lunch}/dashboard")
    assert page.status_code == 200
    assert figure(page.text, "plates") == "6"
    assert figure(page.text, "per-diner") == "33.3"
    assert figure(page.text, "clean-rate") == "50.0%"
    assert 'class="figure good"' in page.text  # 33.3 g is under the 50 g target
    assert page.text.count("<svg") == 1  # the hourly chart
    assert "在线" in page.text  # the station posted just now


def test_dashboard_flags_waste_over_target(client, sign_in, lunch, api_headers):
    client.patch(f"/api/v1/canteens/{lunch}", json={"plate_waste_target_g": 30}, headers=api_headers("admin"))
    page = sign_in("operator_a").get(f"/canteens/{lunch}/dashboard")
    assert 'class="figure bad"' in page.text


def test_station_goes_offline_after_five_quiet_minutes(sign_in, lunch, clock):
    clock.advance(minutes=6)
    page = sign_in("operator_a").get(f"/canteens/{lunch}/dashboard")
    assert "离线" in page.text and "在线" not in page.text.replace("离线", "")


def test_last_seen_has_its_date_once_it_is_not_today(sign_in, lunch, clock):
    row = r'<table class="station-status">.*?<td>回收台1</td><td>[^<]*</td><td>([^<]*)</td>'
    assert re.search(row, sign_in("operator_a").get(f"/canteens/{lunch}/dashboard").text, re.S).group(1) == "今天 13:00"
    clock.advance(days=2)  # sessions do not outlive the clock's jump: sign in again
    page = sign_in("operator_a").get(f"/canteens/{lunch}/dashboard").text
    assert re.search(row, page, re.S).group(1) == "11月23日 13:00"


def test_wall_display_is_large_and_refreshes(sign_in, lunch):
    page = sign_in("operator_a").get(f"/canteens/{lunch}/wall")
    assert page.status_code == 200
    assert re.search(r'<meta http-equiv="refresh" content="\d+">', page.text)
    assert 'class="wall"' in page.text
    assert (figure(page.text, "clean-rate"), figure(page.text, "per-diner"), figure(page.text, "plates")) == (
        "50.0%", "33.3", "6")


def test_dashboard_without_data_shows_dashes_not_zero(sign_in, org):
    page = sign_in("operator_a").get(f"/canteens/{org.canteens['a']}/dashboard")
    assert figure(page.text, "per-diner") == "–" and figure(page.text, "clean-rate") == "–"


def test_history_has_charts_and_table(sign_in, lunch, client, org):
    page = sign_in("operator_a").get(f"/canteens/{lunch}/history")
    assert page.status_code == 200
    # One day of data: each chart is a number, not a lone dot beside the target line.
    assert page.text.count("<svg") == 0 and page.text.count('class="chart-single') == 2
    row = re.search(r'<tr data-date="2026-11-23">(.*?)</tr>', page.text, re.S).group(1)
    assert "33.3" in row and "50.0%" in row


def test_history_refuses_a_reversed_range(sign_in, lunch):
    page = sign_in("operator_a").get(f"/canteens/{lunch}/history?from=2026-11-23&to=2026-11-01")
    assert page.status_code == 422
    page = sign_in("operator_a").get(f"/canteens/{lunch}/history?from=yesterday")
    assert page.status_code == 422


def test_csv_export(sign_in, lunch):
    response = sign_in("operator_a").get(f"/canteens/{lunch}/history.csv?from=2026-11-22&to=2026-11-23")
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [row["日期"] for row in rows] == ["2026-11-22", "2026-11-23"]
    assert rows[0]["盘数"] == ""  # no data is blank, not zero
    assert (rows[1]["盘数"], rows[1]["餐余总量（克）"], rows[1]["光盘率"]) == ("6", "200", "0.5")  # counts are whole
    assert rows[1]["人均（克）"] == "33.3"
    assert (rows[1]["就餐人数"], rows[1]["签到人数"]) == ("6", "0")


def test_excel_export(sign_in, lunch):
    response = sign_in("operator_a").get(f"/canteens/{lunch}/history.xlsx?from=2026-11-23&to=2026-11-23")
    sheet = load_workbook(io.BytesIO(response.content)).active
    header, values = [cell.value for cell in sheet[1]], [cell.value for cell in sheet[2]]
    record = dict(zip(header, values))
    assert record["盘数"] == 6 and record["光盘率"] == 0.5
    assert sheet.title == "每日数据"


def test_kitchen_waste_entry_and_correction_keep_the_original(sign_in, org, csrf, clock):
    client = sign_in("operator_a")
    url = f"/canteens/{org.canteens['a']}/kitchen-waste"
    form = {"service_date": "2026-11-23", "meal": "lunch", "category": "trimmings", "grams": "1500", "note": "",
            "csrf_token": csrf()}
    response = client.post(url, data=form, follow_redirects=False)
    assert response.status_code == 303
    page = client.get(f"/canteens/{org.canteens['a']}/records").text
    first_id = int(re.search(r'<tr data-record="(\d+)"', page).group(1))

    response = client.post(url, data={**form, "grams": "1200", "note": "scale misread", "corrects": str(first_id)},
                           follow_redirects=False)
    assert response.status_code == 303
    page = client.get(f"/canteens/{org.canteens['a']}/records").text
    assert re.search(rf'<tr data-record="{first_id}" class="superseded">', page)
    assert f"更正为 #{first_id + 1}" in page
    assert "scale misread" in page and "1,500" in page and "1,200" in page

    again = client.post(url, data={**form, "grams": "1100", "corrects": str(first_id)})
    assert again.status_code == 422 and "已被更正过" in again.text


def test_bad_kitchen_form_is_shown_again_with_the_reason(sign_in, org, csrf):
    client = sign_in("operator_a")
    response = client.post(f"/canteens/{org.canteens['a']}/kitchen-waste", data={
        "service_date": "2026-11-23", "meal": "lunch", "category": "trimmings", "grams": "-5", "note": "typo?",
        "csrf_token": csrf()})
    assert response.status_code == 422
    assert 'role="alert"' in response.text and "grams" in response.text
    assert 'value="typo?"' in response.text


def test_diner_count_entry(sign_in, org, csrf, lunch):
    client = sign_in("operator_a")
    response = client.post(f"/canteens/{lunch}/diner-counts", data={
        "service_date": "2026-11-23", "meal": "lunch", "diners": "8", "csrf_token": csrf()}, follow_redirects=False)
    assert response.status_code == 303
    page = client.get(f"/canteens/{lunch}/dashboard").text
    assert figure(page, "per-diner") == "25.0"  # 200 g over 8 counted diners


def test_forms_need_the_csrf_token(sign_in, org):
    client = sign_in("operator_a")
    response = client.post(f"/canteens/{org.canteens['a']}/diner-counts", data={
        "service_date": "2026-11-23", "meal": "lunch", "diners": "8"})
    assert response.status_code == 403


@pytest.mark.parametrize("path", ["dashboard", "wall", "history", "history.csv", "history.xlsx", "records"])
@pytest.mark.parametrize("username, status", [("operator_b", 404), ("bureau_k2", 404), ("diner_a", 403)])
def test_other_tenants_are_refused(sign_in, org, path, username, status):
    response = sign_in(username).get(f"/canteens/{org.canteens['a']}/{path}")
    assert response.status_code == status


def test_bureau_reads_but_cannot_record(sign_in, org, csrf):
    client = sign_in("bureau_c1")
    page = client.get(f"/canteens/{org.canteens['a']}/records")
    assert page.status_code == 200 and "kitchen-waste" not in page.text
    response = client.post(f"/canteens/{org.canteens['a']}/diner-counts", data={
        "service_date": "2026-11-23", "meal": "lunch", "diners": "8", "csrf_token": csrf()})
    assert response.status_code == 403


def test_pages_need_sign_in(client, org):
    response = client.get(f"/canteens/{org.canteens['a']}/wall", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
