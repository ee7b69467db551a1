"""Integers, dates and clock times from outside are checked at the door (canteen.bounds): 422 with field and reason.

Each case below was a 500 before (an integer SQLite or psycopg cannot hold, date arithmetic past year 1 or 9999),
or a response that broke its own schema (times declared `format: time`)."""
import re

import pytest

MAX_ID = 2**31 - 1  # what an id column holds on both databases (PostgreSQL's INTEGER)


def problem(response) -> tuple[list, str]:
    assert response.status_code == 422, response.text
    detail = response.json()["detail"][0]
    return detail["loc"], detail["msg"]


@pytest.mark.parametrize("path", ["/api/v1/bookings/{id}", "/api/v1/canteens/{id}", "/api/v1/bureaus/{id}",
                                  "/api/v1/assessment/scorecards/{id}"])
def test_an_id_no_column_holds_is_refused_at_the_door(client, org, api_headers, path):
    for too_large in (MAX_ID + 1, 2**63):  # 2**63: SQLite's OverflowError; 2**31: PostgreSQL's out of range
        loc, message = problem(client.get(path.format(id=too_large), headers=api_headers("admin")))
        assert loc[0] == "path" and loc[1].endswith("_id")
        assert message.endswith(f"不能大于 {MAX_ID}")
    # The largest id that fits goes on to the service, which has no such record.
    assert client.get(path.format(id=MAX_ID), headers=api_headers("admin")).status_code == 404


def test_ids_in_bodies_and_queries_are_bounded(client, org, api_headers):
    headers = api_headers("admin")
    card = client.put(f"/api/v1/canteens/{org.canteens['a']}/cards/C1", json={"user_id": -(2**80)}, headers=headers)
    assert problem(card) == (["body", "user_id"], "用户不能小于 1")
    plan = client.post("/api/v1/assessment/sampling-plans", json={"bureau_id": 2**70, "year": 2026},
                       headers=headers)
    assert problem(plan)[0] == ["body", "bureau_id"]
    seed = client.post("/api/v1/assessment/sampling-plans", json={"bureau_id": org.c1, "year": 2026, "seed": 2**40},
                       headers=headers)
    assert problem(seed)[0] == ["body", "seed"]
    listing = client.get("/api/v1/canteens", params={"bureau_id": 0}, headers=headers)
    assert problem(listing)[0] == ["query", "bureau_id"]
    menu = client.put(f"/api/v1/canteens/{org.canteens['a']}/menus/2026-11-24/lunch",
                      json={"dish_ids": [1, MAX_ID + 1]}, headers=headers)
    assert problem(menu)[0] == ["body", "dish_ids", 1]


@pytest.mark.parametrize(("day", "reason"), [("1900-01-02", "不能小于 2000-01-01"), ("0001-01-01", "不能小于 2000-01-01"),
                                             ("9999-12-31", "不能大于 2100-12-31")])
def test_a_date_out_of_range_is_refused(client, org, api_headers, day, reason):
    response = client.get(f"/api/v1/canteens/{org.canteens['a']}/prep/{day}/lunch", headers=api_headers("admin"))
    loc, message = problem(response)
    assert loc == ["path", "day"] and message.endswith(reason)


def test_the_bounds_themselves_are_served(client, org, api_headers):
    headers = api_headers("admin")
    for day in ("2000-01-01", "2100-12-31"):
        response = client.get(f"/api/v1/canteens/{org.canteens['a']}/prep/{day}/lunch", headers=headers)
        assert response.status_code == 200, response.text
        assert response.json()["service_date"] == day


def test_dates_in_bodies_and_queries_are_bounded(client, org, api_headers):
    diner = api_headers("diner_a")
    booking = client.post("/api/v1/bookings", json={"canteen_id": org.canteens["a"], "service_date": "9999-12-31",
                                                     "meal": "lunch"}, headers=diner)
    assert problem(booking)[0] == ["body", "service_date"]
    mine = client.get("/api/v1/bookings/mine", params={"from": "1999-12-31"}, headers=diner)
    assert problem(mine)[0] == ["query", "from"]
    daily = client.get(f"/api/v1/canteens/{org.canteens['a']}/daily", params={"from": "2026-11-01", "to": "2101-01-01"},
                       headers=api_headers("admin"))
    assert problem(daily)[0] == ["query", "to"]


def test_null_where_a_value_is_required_is_refused(client, org, api_headers):
    response = client.post("/api/v1/bookings", json={"canteen_id": None, "service_date": "2026-11-24",
                                                     "meal": "lunch"}, headers=api_headers("diner_a"))
    assert problem(response)[0] == ["body", "canteen_id"]


def test_clock_times_are_sent_as_declared(client, org, api_headers):
    """Sent as "HH:MM:SS", declared as a string of that pattern (not `format: time`, which needs an offset)."""
    schema = client.get("/api/openapi.json").json()["components"]["schemas"]
    for model, field in (("MealWindowSchema", "starts"), ("MealWindowSchema", "ends"), ("PolicySchema", "cutoff_time")):
        declared = schema.get(model, schema.get(f"{model}-Input", {})).get("properties", {}).get(field)
        declared = declared or schema[f"{model}-Output"]["properties"][field]
        assert "format" not in declared and declared["type"] == "string", (model, field, declared)
        pattern = declared["pattern"]
        assert re.match(pattern, "07:00") and re.match(pattern, "07:00:00") and not re.match(pattern, "07:00:00Z")
    canteen = client.get(f"/api/v1/canteens/{org.canteens['a']}", headers=api_headers("admin")).json()
    assert canteen["meal_windows"][0] == {"meal": "breakfast", "starts": "07:00:00", "ends": "09:00:00"}
    policy = client.put(f"/api/v1/canteens/{org.canteens['a']}/booking-policy", json={"cutoff_time": "15:30"},
                        headers=api_headers("admin"))
    assert policy.status_code == 200, policy.text
    assert policy.json()["cutoff_time"] == "15:30:00"


@pytest.mark.parametrize("value", ["15:30:00.5", "15:30+08:00", "15:30Z", "25:00", "1530"])
def test_a_clock_time_with_fractions_or_an_offset_is_refused(client, org, api_headers, value):
    response = client.put(f"/api/v1/canteens/{org.canteens['a']}/booking-policy", json={"cutoff_time": value},
                          headers=api_headers("admin"))
    assert problem(response)[0] == ["body", "cutoff_time"]


def test_the_optional_date_range_of_my_bookings_is_read(client, org, api_headers):
    """`from`/`to` on /bookings/mine were ignored (the alias sat inside `X | None`): the default window was used."""
    diner = api_headers("diner_a")
    booked = client.post("/api/v1/bookings", json={"canteen_id": org.canteens["a"], "service_date": "2026-11-24",
                                                    "meal": "lunch", "set_meal": True}, headers=diner)
    assert booked.status_code == 201, booked.text
    window = {"from": "2026-11-25", "to": "2026-11-30"}
    assert client.get("/api/v1/bookings/mine", params=window, headers=diner).json() == []
    days = [b["service_date"] for b in client.get("/api/v1/bookings/mine", params={"from": "2026-11-24"},
                                                  headers=diner).json()]
    assert days == ["2026-11-24"]


@pytest.mark.parametrize("path", ["/canteens/{id}", "/canteens/{id}/dashboard", "/admin/canteens/{id}",
                                  "/rectification/{id}", "/admin/users?canteen_id={id}"])
def test_pages_refuse_an_id_no_column_holds_with_an_error_page(client, org, sign_in, path):
    response = sign_in("admin").get(path.format(id=MAX_ID + 1))
    assert response.status_code == 422 and response.headers["content-type"].startswith("text/html")
