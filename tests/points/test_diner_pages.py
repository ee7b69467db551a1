"""Who sees what of the plates: a diner their own plates and points only (the page reads again every few
seconds), a canteen's operators each plate of their canteen with its diner, bureaus totals per canteen and no
diner, the wall display the meal's clean plates without names."""
import re
from datetime import date

import pytest

from tests.points.plates import add_booking, add_card, add_diner, add_rule, local, plate, post_plates

TODAY = date(2026, 11, 23)


@pytest.fixture
def lunch(client, org, api_headers, engine, clock):
    """Under the province's rule from today (10 points a clean plate, at most 20): diner_a returns a plate with
    30 g left at 12:05 and a clean one (8 g) at 12:10 with their booking's code; diner_a2 a clean one (5 g) with
    card C-2. It is 12:30."""
    add_rule(client, api_headers, org.province, TODAY)
    a2 = add_diner(engine, org, "diner_a2")
    token = add_booking(engine, org.users["diner_a"], org.canteens["a"], TODAY)
    add_card(engine, org.canteens["a"], "C-2", a2)
    clock.now = local(TODAY, 12, 30)
    post_plates(client, org, [plate(1, local(TODAY, 12, 5), 30, token), plate(2, local(TODAY, 12, 10), 8, token),
                              plate(3, local(TODAY, 12, 12), 5, "C-2"), plate(4, local(TODAY, 12, 15), 4)])
    return {"diner_a": org.users["diner_a"], "diner_a2": a2}


def figure(page: str, name: str) -> str:
    found = re.search(rf'data-figure="{name}">([^<]*)<', page)
    assert found is not None, page
    return found[1]


def test_the_diner_sees_their_plates_of_today_and_their_points(client, org, sign_in, lunch):
    sign_in("diner_a")
    assert 'href="/me/points"' in client.get("/me").text
    page = client.get("/me/points")
    assert page.status_code == 200
    assert '<meta http-equiv="refresh" content="15">' in page.text
    assert re.findall(r'data-plate="\d+-(\d+)" data-clean="(\w+)"', page.text) == [("2", "yes"), ("1", "no")]
    assert "<strong>8 " in page.text and "<strong>30 " in page.text
    assert "<strong>5 " not in page.text  # diner_a2's plate
    assert (figure(page.text, "clean-rate"), figure(page.text, "streak"), figure(page.text, "month-points")) == (
        "50.0%", "1", "10")
    assert re.search(r'data-day="2026-11-23"><td>2026-11-23</td><td>2</td><td>1</td><td>1</td><td data-points>10<',
                     page.text)


def test_a_diner_reads_only_their_own_record_through_the_api(client, org, api_headers, lunch, sign_in):
    mine = client.get("/api/v1/me/points", headers=api_headers("diner_a")).json()
    assert [(p["grams"], p["clean"]) for p in mine["plates_today"]] == [(8, True), (30, False)]
    assert (mine["month_plates"], mine["month_clean_plates"], mine["streak"], mine["month_points"],
            mine["total_points"]) == (2, 1, 1, 10, 10)
    sign_in("diner_a2")
    page = client.get("/me/points").text
    assert re.findall(r'data-plate="\d+-(\d+)"', page) == ["3"]
    assert figure(page, "clean-rate") == "100.0%"


@pytest.mark.parametrize(("user", "status"), [("admin", 200), ("operator_a", 200), ("operator_b", 404),
                                              ("bureau_c1", 403), ("diner_a", 403)])
def test_each_plate_with_its_diner_is_for_the_canteens_operators(client, org, api_headers, lunch, user, status):
    response = client.get(f"/api/v1/canteens/{org.canteens['a']}/plates", params={"date": "2026-11-23"},
                          headers=api_headers(user))
    assert response.status_code == status, response.text
    if status == 200:
        plates = response.json()["plates"]
        assert [(p["seq"], p["diner"], p["grams"], p["clean"]) for p in plates] == [
            (3, "diner_a2", 5, True), (2, "diner_a", 8, True), (1, "diner_a", 30, False)]
        assert response.json()["unknown_codes"] == 0


def test_the_operators_page_lists_the_days_plates(client, org, sign_in, lunch):
    sign_in("operator_a")
    page = client.get(f"/canteens/{org.canteens['a']}/plates?date=2026-11-23")
    assert page.status_code == 200
    assert re.findall(r'data-plate="\d+-(\d+)"', page.text) == ["3", "2", "1"]
    assert "diner_a2" in page.text
    sign_in("bureau_c1")
    assert client.get(f"/canteens/{org.canteens['a']}/plates").status_code == 403


@pytest.mark.parametrize(("user", "bureau", "status"), [("admin", "province", 200), ("bureau_c1", "c1", 200),
                                                        ("bureau_k2", "c1", 404), ("operator_a", "c1", 403),
                                                        ("diner_a", "c1", 403)])
def test_bureaus_see_totals_per_canteen(client, org, api_headers, lunch, user, bureau, status):
    response = client.get(f"/api/v1/bureaus/{getattr(org, bureau)}/points-summary",
                          params={"from": "2026-11-01", "to": "2026-11-30"}, headers=api_headers(user))
    assert response.status_code == status, response.text
    if status == 200:
        # Two diners at A: 3 plates, 2 clean, 10 points each.
        assert response.json() == [{"canteen_id": org.canteens["a"], "canteen": "食堂A", "diners": 2, "plates": 3,
                                    "clean_plates": 2, "points": 20}]


def test_the_bureaus_page_shows_no_diner(client, org, sign_in, lunch):
    sign_in("bureau_c1")
    page = client.get(f"/bureaus/{org.c1}/points-rules").text
    assert re.search(rf'data-canteen="{org.canteens["a"]}"><td>食堂A</td><td>2</td><td>3</td><td>2</td>'
                     r'<td data-points>20<', page)
    assert "diner_a" not in page


def test_the_wall_counts_the_meals_clean_plates_without_names(client, org, sign_in, lunch, clock):
    sign_in("operator_a")
    wall = client.get(f"/canteens/{org.canteens['a']}/wall").text
    assert re.findall(r"\d+", figure(wall, "meal-clean-plates")) == ["2"]  # lunch's clean plates scanned
    assert "diner_a" not in wall
    clock.now = local(TODAY, 16, 0)  # between meals: no line
    assert 'data-figure="meal-clean-plates"' not in client.get(f"/canteens/{org.canteens['a']}/wall").text
