"""The kitchen terminal through its API and pages: weighings a kitchen scale sends without a category wait for
it, are classified with stage, reason and dish, count as unclassified after 10 minutes, and every bad request
is refused with its field while nothing stored changes."""
import re
from datetime import UTC, datetime, timedelta

import pytest

LUNCH = datetime(2026, 11, 23, 4, 30, tzinfo=UTC)  # 12:30 in Shanghai, a Monday: lunch (11:30–13:30)
DAY = "2026-11-23"


@pytest.fixture
def kitchen(client, org, clock, api_headers):
    """A kitchen station in canteen A, a lunch menu of two dishes, and canteen B's kitchen station."""
    clock.now = LUNCH
    admin = api_headers("admin")
    stations = {}
    for key in ("a", "b"):
        created = client.post("/api/v1/stations", headers=admin, json={
            "canteen_id": org.canteens[key], "name": "后厨秤", "kind": "kitchen", "capacity_g": 60_000})
        assert created.status_code == 201, created.text
        stations[key] = created.json()
    dishes = {}
    for name in ("红烧肉", "炒青菜"):
        dish = client.post(f"/api/v1/canteens/{org.canteens['a']}/dishes", headers=admin,
                           json={"name": name, "raw_grams": 200})
        dishes[name] = dish.json()["id"]
    other = client.post(f"/api/v1/canteens/{org.canteens['a']}/dishes", headers=admin,
                        json={"name": "晚餐鱼", "raw_grams": 180}).json()["id"]
    assert client.put(f"/api/v1/canteens/{org.canteens['a']}/menus/{DAY}/lunch", headers=admin,
                      json={"dish_ids": list(dishes.values())}).status_code == 200
    assert client.put(f"/api/v1/canteens/{org.canteens['a']}/menus/{DAY}/dinner", headers=admin,
                      json={"dish_ids": [other]}).status_code == 200
    return {"stations": stations, "dishes": dishes, "dinner_dish": other}


def keyed(station: dict) -> dict:
    return {"Authorization": f"Bearer {station['key']}"}


def weigh(client, clock, station: dict, seq: int, grams: int, seconds_ago: float = 0) -> None:
    measured = (clock.now - timedelta(seconds=seconds_ago)).isoformat()
    response = client.post("/api/v1/weighings", headers=keyed(station),
                           json={"items": [{"seq": seq, "measured_at": measured, "grams": grams}]})
    assert response.json()["results"][0]["status"] == "accepted", response.text


def terminal(client, station: dict) -> dict:
    response = client.get("/api/v1/stations/me/terminal", headers=keyed(station))
    assert response.status_code == 200, response.text
    return response.json()


def classify(client, headers: dict, weighing_id: int, **body):
    return client.post(f"/api/v1/kitchen-weighings/{weighing_id}/classification", headers=headers, json=body)


def daily(client, api_headers, org) -> dict:
    response = client.get(f"/api/v1/canteens/{org.canteens['a']}/daily", headers=api_headers("operator_a"),
                          params={"from": DAY, "to": DAY})
    return response.json()[0]


def test_a_weighing_waits_is_classified_and_counts_in_its_stage(client, org, clock, api_headers, kitchen):
    station = kitchen["stations"]["a"]
    weigh(client, clock, station, 1, 4_250, seconds_ago=30)
    weigh(client, clock, station, 2, 1_800)
    state = terminal(client, station)
    assert [(w["grams"], w["category"], w["meal"]) for w in state["pending"]] == [
        (1_800, "unclassified", "lunch"), (4_250, "unclassified", "lunch")]
    assert state["stages"] == ["storage", "trimmings", "unserved", "kitchen-scraps", "other"]
    assert [r["label"] for r in state["reasons"]] == ["过期变质", "备餐过量", "加工损耗", "菜品不受欢迎", "设备故障", "其他"]
    assert sorted(d["name"] for d in state["dishes"]) == ["炒青菜", "红烧肉"]
    first, second = state["pending"][1]["id"], state["pending"][0]["id"]

    response = classify(client, keyed(station), first, category="unserved", reason="overprepared",
                        dish_id=kitchen["dishes"]["红烧肉"])
    assert response.status_code == 200, response.text
    assert (response.json()["category"], response.json()["reason"]) == ("unserved", "overprepared")
    # The operator classifies the other one with their own token.
    assert classify(client, api_headers("operator_a"), second, category="trimmings",
                    reason="processing").status_code == 200
    state = terminal(client, station)
    assert state["pending"] == []
    assert {(w["grams"], w["category"]) for w in state["recent"]} == {(4_250, "unserved"), (1_800, "trimmings")}
    day = daily(client, api_headers, org)
    assert (day["unserved_g"], day["trimmings_g"], day["unclassified_g"]) == (4_250, 1_800, 0)
    assert day["kitchen_total_g"] == 6_050


def test_after_ten_minutes_a_weighing_stays_unclassified(client, org, clock, api_headers, kitchen):
    station = kitchen["stations"]["a"]
    weigh(client, clock, station, 1, 2_000)
    weighing = terminal(client, station)["pending"][0]["id"]
    clock.advance(minutes=10, seconds=1)
    state = terminal(client, station)
    assert state["pending"] == [] and [w["category"] for w in state["recent"]] == ["unclassified"]
    response = classify(client, keyed(station), weighing, category="other", reason="other")
    assert response.status_code == 409 and response.json()["detail"][0]["loc"] == ["body", "weighing_id"]
    assert daily(client, api_headers, org)["unclassified_g"] == 2_000


def test_bad_classifications_are_refused_and_change_nothing(client, org, clock, api_headers, kitchen):
    station = kitchen["stations"]["a"]
    weigh(client, clock, station, 1, 3_000)
    weighing = terminal(client, station)["pending"][0]["id"]
    dish = kitchen["dishes"]["炒青菜"]
    refusals = [
        (keyed(station), {"category": "unserved", "reason": "overprepared"}, 422, "dish_id"),  # the menu has dishes
        (keyed(station), {"category": "unserved", "reason": "overprepared", "dish_id": kitchen["dinner_dish"]},
         422, "dish_id"),  # on the dinner menu, not lunch's
        (keyed(station), {"category": "trimmings", "reason": "processing", "dish_id": dish}, 422, "dish_id"),
        (keyed(station), {"category": "trimmings", "reason": "typo"}, 422, "reason"),
        (keyed(station), {"category": "unclassified"}, 422, "category"),
        (keyed(station), {"category": "compost"}, 422, "category"),
        (keyed(station), {"category": "other", "extra": 1}, 422, "extra"),
        (keyed(kitchen["stations"]["b"]), {"category": "other"}, 404, "weighing_id"),  # another canteen's station
        (api_headers("operator_b"), {"category": "other"}, 404, "weighing_id"),
        (api_headers("bureau_c1"), {"category": "other"}, 403, None),  # bureaus see, never record
        ({"Authorization": f"Bearer {org.station_keys['a']}"}, {"category": "other"}, 404, "weighing_id"),
    ]
    for headers, body, status, field in refusals:
        response = classify(client, headers, weighing, **body)
        assert response.status_code == status, (body, response.text)
        if field:
            assert field in response.json()["detail"][0]["loc"], (body, response.text)
    assert [w["category"] for w in terminal(client, station)["pending"]] == ["unclassified"]
    assert classify(client, keyed(station), weighing, category="unserved", reason="unpopular",
                    dish_id=dish).status_code == 200
    again = classify(client, keyed(station), weighing, category="other")
    assert again.status_code == 409


def test_without_a_menu_unserved_food_needs_no_dish(client, org, clock, api_headers, kitchen):
    clock.now = LUNCH + timedelta(days=1)  # no menu on the 24th
    station = kitchen["stations"]["a"]
    weigh(client, clock, station, 1, 900)
    state = terminal(client, station)
    assert state["dishes"] == []
    assert classify(client, keyed(station), state["pending"][0]["id"], category="unserved",
                    reason="overprepared").status_code == 200


def test_each_canteen_keeps_its_own_reasons(client, org, clock, api_headers, kitchen):
    path = f"/api/v1/canteens/{org.canteens['a']}/kitchen-reasons"
    operator = api_headers("operator_a")
    assert len(client.get(path, headers=operator).json()["reasons"]) == 6
    for body, field in (({"reasons": []}, "reasons"), ({"reasons": ["  "]}, "reasons.0"),
                        ({"reasons": ["霉变", "霉变"]}, "reasons.1"), ({"reasons": ["长" * 41]}, "reasons.0")):
        response = client.put(path, headers=operator, json=body)
        assert response.status_code == 422 and field in ".".join(map(str, response.json()["detail"][0]["loc"]))
    assert client.put(path, headers=api_headers("bureau_c1"), json={"reasons": ["霉变"]}).status_code == 403
    assert client.put(path, headers=api_headers("operator_b"), json={"reasons": ["霉变"]}).status_code == 404
    assert len(client.get(path, headers=operator).json()["reasons"]) == 6  # nothing changed
    response = client.put(path, headers=operator, json={"reasons": ["霉变", "overprepared"]})
    assert [r["label"] for r in response.json()["reasons"]] == ["霉变", "备餐过量"]
    station = kitchen["stations"]["a"]
    weigh(client, clock, station, 1, 700)
    weighing = terminal(client, station)["pending"][0]["id"]
    assert classify(client, keyed(station), weighing, category="storage", reason="expired").status_code == 422
    assert classify(client, keyed(station), weighing, category="storage", reason="霉变").status_code == 200
    # Canteen B still has the defaults.
    other = client.get(f"/api/v1/canteens/{org.canteens['b']}/kitchen-reasons", headers=api_headers("operator_b"))
    assert len(other.json()["reasons"]) == 6


def test_live_readings_from_kitchen_scales_only(client, org, clock, kitchen):
    station = kitchen["stations"]["a"]

    def post(headers, body):
        return client.post("/api/v1/stations/me/reading", headers=headers, json=body)

    now = clock.now.isoformat()
    assert post(keyed(station), {"grams": 5_120, "stable": False, "measured_at": now}).status_code == 204
    plate_station = {"Authorization": f"Bearer {org.station_keys['a']}"}
    for headers, body, status, field in (
        (plate_station, {"grams": 10, "stable": True, "measured_at": now}, 422, "station"),
        (keyed(station), {"grams": 10, "stable": True, "measured_at": (clock.now - timedelta(hours=1)).isoformat()},
         422, "measured_at"),
        (keyed(station), {"grams": 10, "stable": True, "measured_at": "2026-11-23T12:30:00"}, 422, "measured_at"),
        (keyed(station), {"grams": "heavy", "stable": True, "measured_at": now}, 422, "grams"),
        ({"Authorization": "Bearer stk_nope"}, {"grams": 10, "stable": True, "measured_at": now}, 401, None),
    ):
        response = post(headers, body)
        assert response.status_code == status, response.text
        if field:
            assert field in response.json()["detail"][0]["loc"]


def signed_in_terminal(client, csrf, station: dict) -> str:
    """Signs the client in as the station through the terminal's sign-in form; returns the terminal's path."""
    path = f"/stations/{station['id']}/terminal"
    response = client.post(f"{path}/sign-in", data={"key": station["key"], "csrf_token": csrf()},
                           follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == path
    return path


def test_the_terminal_page_signed_in_as_the_station(client, org, clock, csrf, kitchen):
    station = kitchen["stations"]["a"]
    path = f"/stations/{station['id']}/terminal"
    assert client.get(path, follow_redirects=False).status_code == 303  # nobody signed in: off to sign in
    wrong = client.post(f"{path}/sign-in", data={"key": kitchen["stations"]["b"]["key"], "csrf_token": csrf()})
    assert wrong.status_code == 401 and "不是本称重台的密钥" in wrong.text
    signed_in_terminal(client, csrf, station)
    client.post("/api/v1/stations/me/reading", headers=keyed(station),
                json={"grams": 3_460, "stable": True, "measured_at": clock.now.isoformat()})
    weigh(client, clock, station, 1, 3_460)
    page = client.get(path)
    assert page.status_code == 200
    assert "3.46" in page.text and "红烧肉" in page.text and "备餐过量" in page.text
    weighing = re.search(r'action="/stations/\d+/terminal/weighings/(\d+)"', page.text)[1]
    # The three taps send one form: stage, reason, dish.
    response = client.post(f"{path}/weighings/{weighing}", follow_redirects=False, data={
        "category": "unserved", "reason": "unpopular", "dish_id": str(kitchen["dishes"]["炒青菜"]),
        "csrf_token": csrf()})
    assert response.status_code == 303
    page = client.get(path)
    assert 'data-category="unserved"' in page.text and "菜品不受欢迎" in page.text
    # The cookie is only this station's: canteen B's terminal does not open with it.
    other = client.get(f"/stations/{kitchen['stations']['b']['id']}/terminal", follow_redirects=False)
    assert other.status_code == 303


def test_a_bad_form_shows_the_reason_on_the_terminal(client, org, clock, csrf, kitchen):
    station = kitchen["stations"]["a"]
    path = signed_in_terminal(client, csrf, station)
    weigh(client, clock, station, 1, 1_000)
    weighing = terminal(client, station)["pending"][0]["id"]
    response = client.post(f"{path}/weighings/{weighing}", data={
        "category": "unserved", "reason": "unpopular", "csrf_token": csrf()})
    assert response.status_code == 422 and "请选择剩余的菜品" in response.text
    no_token = client.post(f"{path}/weighings/{weighing}", data={"category": "other", "reason": "other"})
    assert no_token.status_code == 403
    assert terminal(client, station)["pending"][0]["category"] == "unclassified"


def test_operators_open_their_own_canteens_terminals(client, org, clock, sign_in, kitchen):
    station = kitchen["stations"]["a"]
    sign_in("operator_b")
    assert client.get(f"/stations/{station['id']}/terminal").status_code == 404
    sign_in("operator_a")
    assert client.get(f"/stations/{station['id']}/terminal").status_code == 200
    assert client.get(f"/stations/{org.stations['a']}/terminal").status_code == 404  # a plate-return station
