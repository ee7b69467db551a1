"""Reservation API: the booking rules through HTTP, check-ins, and role scoping of every endpoint.

Canteen A is in Asia/Shanghai (UTC+8); the default lunch window is 11:30-13:30 local.
"""
from datetime import UTC, datetime, timedelta

import pytest

WEDNESDAY = "2026-11-25"
CUTOFF = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)  # Tuesday 16:00 local
LUNCH_NOON = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)


def lunch(org, canteen="a", day=WEDNESDAY, **extra) -> dict:
    return {"canteen_id": org.canteens[canteen], "service_date": day, "meal": "lunch", "set_meal": True, **extra}


def post_booking(client, api_headers, org, username="diner_a", **extra):
    return client.post("/api/v1/bookings", json=lunch(org, **extra), headers=api_headers(username))


def error_of(response) -> dict:
    return response.json()["detail"][0]


def test_cutoff_at_the_exact_minute(client, api_headers, org, diners, clock):
    clock.now = CUTOFF - timedelta(seconds=1)
    booked = post_booking(client, api_headers, org)
    assert booked.status_code == 201, booked.text
    clock.now = CUTOFF
    refused = post_booking(client, api_headers, org, username="diner_a2")
    assert refused.status_code == 422
    assert error_of(refused)["loc"] == ["body", "service_date"]
    assert "2026-11-24 16:00" in error_of(refused)["msg"] and "截止" in error_of(refused)["msg"]
    cancel = client.post(f"/api/v1/bookings/{booked.json()['id']}/cancel", headers=api_headers("diner_a"))
    assert cancel.status_code == 422


def test_booking_and_cancelling_through_the_api(client, api_headers, org, diners, clock):
    booked = post_booking(client, api_headers, org)
    body = booked.json()
    assert (body["status"], body["set_meal"], body["checked_in_at"]) == ("booked", True, None)
    assert "diner_id" not in body
    again = post_booking(client, api_headers, org)
    assert again.status_code == 409 and error_of(again)["loc"] == ["body", "meal"]
    mine = client.get("/api/v1/bookings/mine", headers=api_headers("diner_a")).json()
    assert [b["id"] for b in mine] == [body["id"]]
    assert client.get("/api/v1/bookings/mine", headers=api_headers("diner_a2")).json() == []
    qr = client.get(f"/api/v1/bookings/{body['id']}/qr.svg", headers=api_headers("diner_a"))
    assert qr.status_code == 200 and qr.headers["content-type"].startswith("image/svg+xml")
    assert client.get(f"/api/v1/bookings/{body['id']}/qr.svg", headers=api_headers("diner_a2")).status_code == 404
    deleted = client.delete(f"/api/v1/bookings/{body['id']}", headers=api_headers("diner_a"))
    assert deleted.status_code == 200 and deleted.json()["status"] == "cancelled"


def test_a_booking_is_always_the_callers_own(client, api_headers, org, diners):
    colleague = post_booking(client, api_headers, org, diner_id=diners["diner_a2"])
    assert colleague.status_code == 422
    assert post_booking(client, api_headers, org, username="diner_b").status_code == 403
    assert post_booking(client, api_headers, org, username="operator_a").status_code == 403


def test_capacity(client, api_headers, org, diners):
    policy = client.put(f"/api/v1/canteens/{org.canteens['a']}/booking-policy", json={"lunch_capacity": 1},
                        headers=api_headers("operator_a"))
    assert policy.status_code == 200 and policy.json()["cutoff_time"] == "16:00:00"
    assert post_booking(client, api_headers, org).status_code == 201
    full = post_booking(client, api_headers, org, username="diner_a2")
    assert full.status_code == 409 and "1" in error_of(full)["msg"]


def test_menu_and_dish_choices(client, api_headers, org, diners):
    canteen = org.canteens["a"]
    operator = api_headers("operator_a")
    rice = client.post(f"/api/v1/canteens/{canteen}/dishes", json={"name": "米饭", "raw_grams": 150,
                                                                   "offers_small": True}, headers=operator)
    assert rice.status_code == 201
    rice_id = rice.json()["id"]
    menu = client.put(f"/api/v1/canteens/{canteen}/menus/{WEDNESDAY}/lunch", json={"dish_ids": [rice_id]},
                      headers=operator)
    assert [d["name"] for d in menu.json()["dishes"]] == ["米饭"]
    shown = client.get(f"/api/v1/canteens/{canteen}/menus/{WEDNESDAY}/lunch", headers=api_headers("diner_a"))
    assert shown.json() == menu.json()
    booked = post_booking(client, api_headers, org, set_meal=False,
                          choices=[{"dish_id": rice_id, "portion": "small"}])
    assert booked.json()["choices"] == [{"dish_id": rice_id, "portion": "small"}]
    counts = client.get(f"/api/v1/canteens/{canteen}/meal-counts/{WEDNESDAY}/lunch", headers=operator).json()
    assert counts["booked"] == 1 and counts["portions"] == {str(rice_id): {"full": 0, "half": 0, "small": 1}}


def test_closed_day_and_holiday(client, api_headers, org, diners, clock):
    canteen = org.canteens["a"]
    clock.now = datetime(2026, 9, 20, 2, 0, tzinfo=UTC)
    closed = client.put(f"/api/v1/canteens/{canteen}/closed-days/2026-09-29", json={"reason": "设备检修"},
                        headers=api_headers("operator_a"))
    assert closed.status_code == 200 and closed.json()["cancelled_bookings"] == 0
    listed = client.get(f"/api/v1/canteens/{canteen}/closed-days", params={"from": "2026-09-01", "to": "2026-09-30"},
                        headers=api_headers("diner_a"))
    assert [d["reason"] for d in listed.json()] == ["设备检修"]
    refused = post_booking(client, api_headers, org, day="2026-09-29")
    assert refused.status_code == 422 and "设备检修" in error_of(refused)["msg"]
    assert post_booking(client, api_headers, org, day="2026-10-01").status_code == 422
    assert post_booking(client, api_headers, org, day="2026-10-10").status_code == 201  # 调休 Saturday
    reopened = client.delete(f"/api/v1/canteens/{canteen}/closed-days/2026-09-29", headers=api_headers("operator_a"))
    assert reopened.status_code == 204
    assert post_booking(client, api_headers, org, day="2026-09-29").status_code == 201


def test_recurring_workdays_across_the_national_day_holiday(client, api_headers, org, diners, clock):
    clock.now = datetime(2026, 9, 27, 2, 0, tzinfo=UTC)
    created = client.post("/api/v1/recurring-bookings", json={
        "canteen_id": org.canteens["a"], "meal": "lunch", "days": "workdays", "starts": "2026-09-28"},
        headers=api_headers("diner_a"))
    assert created.status_code == 201, created.text
    days = [b["service_date"] for b in created.json()["bookings"]]
    assert days == ["2026-09-28", "2026-09-29", "2026-09-30", "2026-10-08", "2026-10-09", "2026-10-10"]
    mine = client.get("/api/v1/recurring-bookings/mine", headers=api_headers("diner_a")).json()
    assert [r["days"] for r in mine] == ["workdays"]
    assert client.get("/api/v1/recurring-bookings/mine", headers=api_headers("diner_a2")).json() == []
    assert client.delete(f"/api/v1/recurring-bookings/{mine[0]['id']}",
                         headers=api_headers("diner_a2")).status_code == 404
    ended = client.delete(f"/api/v1/recurring-bookings/{mine[0]['id']}", headers=api_headers("diner_a"))
    assert ended.status_code == 200 and ended.json()["until"] == "2026-09-26"
    live = [b for b in client.get("/api/v1/bookings/mine", params={"from": "2026-09-01", "to": "2026-10-31"},
                                  headers=api_headers("diner_a")).json() if b["status"] == "booked"]
    assert live == []


def test_check_in_twice_and_with_another_canteens_token(client, api_headers, org, diners, clock):
    mine = post_booking(client, api_headers, org).json()
    theirs = post_booking(client, api_headers, org, username="diner_b", canteen="b").json()
    clock.now = LUNCH_NOON
    url = f"/api/v1/canteens/{org.canteens['a']}/check-ins"
    first = client.post(url, json={"token": mine["token"]}, headers=api_headers("operator_a"))
    assert first.status_code == 201 and first.json()["walk_in"] is False
    clock.advance(minutes=3)
    second = client.post(url, json={"token": mine["token"]}, headers=api_headers("operator_a"))
    assert second.status_code == 409 and "12:00" in error_of(second)["msg"]
    foreign = client.post(url, json={"token": theirs["token"]}, headers=api_headers("operator_a"))
    assert foreign.status_code == 422 and error_of(foreign)["loc"] == ["body", "token"]
    assert "食堂B" in error_of(foreign)["msg"]
    assert client.get(f"/api/v1/bookings/{mine['id']}", headers=api_headers("diner_a")).json()["checked_in_at"]
    neither = client.post(url, json={}, headers=api_headers("operator_a"))
    assert neither.status_code == 422


def test_cards_walk_ins_and_no_shows(client, api_headers, org, diners, clock):
    canteen = org.canteens["a"]
    operator = api_headers("operator_a")
    post_booking(client, api_headers, org)
    booking = post_booking(client, api_headers, org, username="diner_a2").json()
    card = client.put(f"/api/v1/canteens/{canteen}/cards/0002", json={"user_id": diners["diner_a2"]},
                      headers=operator)
    assert card.status_code == 204
    clock.now = LUNCH_NOON
    by_card = client.post(f"/api/v1/canteens/{canteen}/check-ins", json={"card_number": "0002"}, headers=operator)
    assert by_card.json()["booking_id"] == booking["id"]
    stranger = client.post(f"/api/v1/canteens/{canteen}/check-ins", json={"card_number": "7777"}, headers=operator)
    assert stranger.status_code == 422 and error_of(stranger)["loc"] == ["body", "card_number"]
    assert "7777" in error_of(stranger)["msg"]
    anonymous = client.post(f"/api/v1/canteens/{canteen}/walk-ins", json={}, headers=operator)
    assert anonymous.status_code == 201 and anonymous.json()["card_number"] is None
    mistaken = client.post(f"/api/v1/canteens/{canteen}/walk-ins", json={}, headers=operator).json()
    clock.advance(seconds=59)
    undone = client.delete(f"/api/v1/canteens/{canteen}/walk-ins/{mistaken['id']}", headers=operator)
    assert undone.status_code == 200 and undone.json()["id"] == mistaken["id"]
    clock.advance(seconds=2)
    late = client.delete(f"/api/v1/canteens/{canteen}/walk-ins/{anonymous.json()['id']}", headers=operator)
    assert late.status_code == 409 and "60" in error_of(late)["msg"]
    clock.now = LUNCH_NOON + timedelta(hours=2)
    no_shows = client.get("/api/v1/bookings/no-shows", headers=api_headers("diner_a")).json()
    assert no_shows["count"] == 1
    assert client.get("/api/v1/bookings/no-shows", headers=api_headers("diner_a2")).json()["count"] == 0
    counts = client.get(f"/api/v1/canteens/{canteen}/meal-counts/{WEDNESDAY}/lunch",
                        headers=api_headers("bureau_c1")).json()
    assert (counts["booked"], counts["checked_in"], counts["walk_ins"], counts["no_shows"]) == (2, 1, 1, 1)


# ---- role scoping of every canteen endpoint ----------------------------------

CANTEEN_ENDPOINTS = [
    ("get", "dishes", None),
    ("post", "dishes", {"name": "青菜", "raw_grams": 120}),
    ("get", f"menus/{WEDNESDAY}/lunch", None),
    ("put", f"menus/{WEDNESDAY}/lunch", {"dish_ids": []}),
    ("get", "closed-days?from=2026-11-01&to=2026-11-30", None),
    ("put", f"closed-days/{WEDNESDAY}", {"reason": "x"}),
    ("delete", f"closed-days/{WEDNESDAY}", None),
    ("get", "booking-policy", None),
    ("put", "booking-policy", {}),
    ("put", "cards/0001", {"user_id": 1}),
    ("post", "check-ins", {"token": "bk_x"}),
    ("post", "walk-ins", {}),
    ("delete", "walk-ins/1", None),
    ("get", f"meal-counts/{WEDNESDAY}/lunch", None),
]
READABLE_BY_DINERS = {"dishes", f"menus/{WEDNESDAY}/lunch", "closed-days?from=2026-11-01&to=2026-11-30",
                      "booking-policy"}


def call(client, headers, method, path, body):
    kwargs = {"json": body} if body is not None else {}
    return client.request(method.upper(), path, headers=headers, **kwargs)


@pytest.mark.parametrize(("method", "suffix", "body"), CANTEEN_ENDPOINTS)
def test_canteen_endpoints_are_scoped(client, api_headers, org, diners, clock, method, suffix, body):
    clock.now = LUNCH_NOON - timedelta(days=1)
    path = f"/api/v1/canteens/{org.canteens['a']}/{suffix}"
    for outsider in ("operator_b", "bureau_k2"):
        response = call(client, api_headers(outsider), method, path, body)
        assert response.status_code == 404, (outsider, response.text)
    assert call(client, api_headers("diner_b"), method, path, body).status_code == 403
    writes = method != "get"
    if writes:
        assert call(client, api_headers("bureau_c1"), method, path, body).status_code == 403
        assert call(client, api_headers("diner_a"), method, path, body).status_code == 403
    else:
        assert call(client, api_headers("bureau_c1"), method, path, body).status_code == 200
        expected = 200 if suffix in READABLE_BY_DINERS else 403
        assert call(client, api_headers("diner_a"), method, path, body).status_code == expected
    assert call(client, api_headers("operator_a"), method, path, body).status_code < 500


def test_bearer_token_is_required(client, org):
    assert client.get("/api/v1/bookings/mine").status_code == 401
    assert client.get(f"/api/v1/canteens/{org.canteens['a']}/dishes").status_code == 401
