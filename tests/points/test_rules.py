"""Clean-plate points rules: made by bureaus (and administrators) for their subtree through the API and the page,
refused when they would reach into the past or do not add up, and each day's points counted by the rule in force
that day: across a rule change and a late plate, every figure below is worked out by hand from the rules."""
import re
from datetime import date, timedelta

import pytest

from canteen.points.models import DinerPoints
from tests.points.plates import add_card, add_diner, add_rule, local, plate, post_plates, rows

TODAY = date(2026, 11, 23)


def rule_body(**fields) -> dict:
    return {"applies_from": TODAY.isoformat(), "clean_plate_points": 10, "daily_cap": 20} | fields


@pytest.mark.parametrize(("user", "bureau"), [("admin", "province"), ("bureau_c1", "c1"), ("bureau_c1", "k1")])
def test_a_bureau_makes_rules_for_its_subtree(client, org, api_headers, user, bureau):
    made = add_rule(client, api_headers, getattr(org, bureau), TODAY, user, streak_days=5, streak_bonus=3)
    assert (made["bureau_id"], made["applies_from"], made["clean_plate_points"], made["daily_cap"],
            made["streak_days"], made["streak_bonus"]) == (getattr(org, bureau), "2026-11-23", 10, 20, 5, 3)
    listed = client.get(f"/api/v1/bureaus/{getattr(org, bureau)}/points-rules", headers=api_headers(user)).json()
    assert [rule["id"] for rule in listed] == [made["id"]]


@pytest.mark.parametrize(("user", "bureau", "status"), [
    ("operator_a", "k1", 403), ("diner_a", "k1", 403),
    ("bureau_k2", "c1", 404),  # another bureau's subtree
    ("bureau_c1", "province", 404),  # the bureau above it
])
def test_others_may_not_make_or_read_rules(client, org, api_headers, user, bureau, status):
    path = f"/api/v1/bureaus/{getattr(org, bureau)}/points-rules"
    assert client.post(path, json=rule_body(), headers=api_headers(user)).status_code == status
    assert client.get(path, headers=api_headers(user)).status_code == status
    assert client.get(path, headers=api_headers("admin")).json() == []


@pytest.mark.parametrize(("fields", "field"), [
    ({"applies_from": "2026-11-22"}, "applies_from"),  # yesterday: points already earned keep their rule
    ({"clean_plate_points": -1}, "clean_plate_points"),
    ({"daily_cap": -5}, "daily_cap"),
    ({"clean_plate_points": 10, "daily_cap": 5}, "daily_cap"),  # a cap under one plate's points
    ({"streak_days": -1}, "streak_days"),
    ({"streak_bonus": 5}, "streak_days"),  # a bonus without the streak's days
    ({"streak_bonus": -5, "streak_days": 3}, "streak_bonus"),
    ({"clean_plate_points": 10_001}, "clean_plate_points"),
])
def test_bad_rules_are_refused_with_the_field(client, org, api_headers, fields, field):
    response = client.post(f"/api/v1/bureaus/{org.province}/points-rules", json=rule_body(**fields),
                           headers=api_headers("admin"))
    assert response.status_code == 422, response.text
    [problem] = response.json()["detail"]
    assert problem["loc"][-1] == field and problem["msg"]
    assert client.get(f"/api/v1/bureaus/{org.province}/points-rules", headers=api_headers("admin")).json() == []


def test_a_second_rule_from_the_same_day_is_a_conflict(client, org, api_headers):
    add_rule(client, api_headers, org.c1, TODAY + timedelta(days=3), "bureau_c1")
    again = client.post(f"/api/v1/bureaus/{org.c1}/points-rules",
                        json=rule_body(applies_from="2026-11-26", clean_plate_points=1), headers=api_headers("bureau_c1"))
    assert again.status_code == 409 and again.json()["detail"][0]["loc"][-1] == "applies_from"


def test_the_rules_page_lists_and_adds_rules(client, org, sign_in, csrf):
    sign_in("bureau_c1")
    page = client.get(f"/bureaus/{org.c1}/points-rules")
    assert page.status_code == 200 and 'name="clean_plate_points"' in page.text
    assert 'data-figure="in-force"' in page.text
    refused = client.post(f"/bureaus/{org.c1}/points-rules", data={
        "csrf_token": csrf(), "applies_from": "2026-11-20", "clean_plate_points": "10", "daily_cap": "20",
        "streak_days": "0", "streak_bonus": "0"}, follow_redirects=False)
    assert refused.status_code == 422 and 'role="alert"' in refused.text and 'value="2026-11-20"' in refused.text
    made = client.post(f"/bureaus/{org.c1}/points-rules", data={
        "csrf_token": csrf(), "applies_from": "2026-11-23", "clean_plate_points": "10", "daily_cap": "30",
        "streak_days": "5", "streak_bonus": "8"}, follow_redirects=False)
    assert made.status_code == 303, made.text
    page = client.get(f"/bureaus/{org.c1}/points-rules")
    assert re.search(r'data-rule="\d+"><td>2026-11-23</td><td>10</td><td>30</td><td>5</td><td>8</td>', page.text)


@pytest.fixture
def history(client, org, api_headers, engine, clock):
    """The province's rule R1 from Monday 2 November: 10 points a clean plate, at most 20 a day, 5 more every
    3 days in a row. City C1's rule R2 from Friday 6 November (made on the 5th): 5 a clean plate, at most 10,
    3 more every 2 days in a row. Canteen A (county K1 under C1) goes by R1, then R2; canteen B (under C2) by R1.
    diner_a eats at A with card A-1, diner_b at B with card B-1. It is then Tuesday 10 November, 14:00."""
    clock.now = local(date(2026, 11, 2), 10)
    r1 = add_rule(client, api_headers, org.province, date(2026, 11, 2), clean_plate_points=10, daily_cap=20,
                  streak_days=3, streak_bonus=5)
    clock.now = local(date(2026, 11, 5), 10)
    r2 = add_rule(client, api_headers, org.c1, date(2026, 11, 6), "bureau_c1", clean_plate_points=5, daily_cap=10,
                  streak_days=2, streak_bonus=3)
    a, b = org.users["diner_a"], add_diner(engine, org, "diner_b", "b")
    add_card(engine, org.canteens["a"], "A-1", a)
    add_card(engine, org.canteens["b"], "B-1", b)
    clock.now = local(date(2026, 11, 10), 14)
    return {"a": a, "b": b, "r1": r1["id"], "r2": r2["id"]}


def lunch_plates(first_seq: int, day: int, grams: list[int], card: str) -> list[dict]:
    """A diner's plates of one lunch in November (5 g is clean, 30 g is not: the threshold is 10 g)."""
    return [plate(first_seq + index, local(date(2026, 11, day), 12, 10 + index), weight, card)
            for index, weight in enumerate(grams)]


def points_of(engine, diner: int) -> dict[int, tuple]:
    return {row.service_date.day: (row.plates, row.clean_plates, row.streak, row.points, row.rule_id)
            for row in rows(engine, DinerPoints, DinerPoints.diner_id == diner)}


def test_points_across_a_rule_change_and_a_late_plate(client, org, engine, history):
    r1, r2 = history["r1"], history["r2"]
    post_plates(client, org, [
        *lunch_plates(1, 2, [5, 5], "A-1"),  # Mon: 2 clean, R1: min(20, 20) = 20, streak 1
        # Tue the 3rd comes later (the gateway was offline)
        *lunch_plates(20, 4, [5, 5, 5], "A-1"),  # Wed: min(30, 20) = 20, streak 2
        # Thu: not eaten, the streak holds
        *lunch_plates(30, 6, [5], "A-1"),  # Fri, R2: 5, streak 3 (not a multiple of 2)
        *lunch_plates(40, 9, [30], "A-1"),  # Mon: none clean: 0, the streak ends
        *lunch_plates(50, 10, [5, 5, 5], "A-1"),  # Tue: min(15, 10) = 10, streak 1
    ])
    assert points_of(engine, history["a"]) == {2: (2, 2, 1, 20, r1), 4: (3, 3, 2, 20, r1), 6: (1, 1, 3, 5, r2),
                                               9: (1, 0, 0, 0, r2), 10: (3, 3, 1, 10, r2)}
    # Tuesday's plates arrive: Wednesday's streak is 3 now (R1's bonus, 20 + 5) and Friday's 4 (R2's, 5 + 3).
    post_plates(client, org, lunch_plates(10, 3, [5, 30], "A-1"))  # 1 clean: 10, streak 2
    assert points_of(engine, history["a"]) == {2: (2, 2, 1, 20, r1), 3: (2, 1, 2, 10, r1), 4: (3, 3, 3, 25, r1),
                                               6: (1, 1, 4, 8, r2), 9: (1, 0, 0, 0, r2), 10: (3, 3, 1, 10, r2)}
    assert {row.bureau_id for row in rows(engine, DinerPoints, DinerPoints.rule_id == r2)} == {org.c1}


def test_canteens_outside_the_change_keep_the_rule_above_and_no_rule_earns_nothing(client, org, engine, history):
    post_plates(client, org, [
        *lunch_plates(1, 1, [5], "B-1"),  # Sunday 1 November: no rule yet, no points, no streak
        *lunch_plates(2, 6, [5, 5, 5], "B-1"),  # R1 (C2 has no rule): 20, streak 1
        *lunch_plates(5, 9, [5], "B-1"),  # 10, streak 2
        *lunch_plates(6, 10, [5], "B-1"),  # 10 + 5, streak 3
    ], station="b")
    r1 = history["r1"]
    assert points_of(engine, history["b"]) == {6: (3, 3, 1, 20, r1), 9: (1, 1, 2, 10, r1), 10: (1, 1, 3, 15, r1)}


def test_a_rule_from_today_counts_todays_plates_again_and_leaves_the_days_before(client, org, api_headers, engine,
                                                                                 history, clock):
    post_plates(client, org, lunch_plates(1, 10, [5, 5, 5], "A-1"))  # Tuesday under R2: 10
    clock.now = local(date(2026, 11, 12), 12, 30)
    post_plates(client, org, lunch_plates(10, 12, [5], "A-1"))  # Thursday under R2: 5, streak 2: + 3
    assert points_of(engine, history["a"])[12] == (1, 1, 2, 8, history["r2"])
    r3 = add_rule(client, api_headers, org.k1, date(2026, 11, 12), "bureau_c1", clean_plate_points=7, daily_cap=7)
    assert points_of(engine, history["a"]) == {10: (3, 3, 1, 10, history["r2"]), 12: (1, 1, 2, 7, r3["id"])}
