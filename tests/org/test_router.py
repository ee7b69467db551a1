"""JSON API for bureaus, canteens and stations: every role sees its own tenants and is refused the rest."""
import pytest


def ids(response) -> list[int]:
    assert response.status_code == 200, response.text
    return sorted(item["id"] for item in response.json())


def test_admin_lists_every_canteen(client, org, api_headers):
    assert ids(client.get("/api/v1/canteens", headers=api_headers("admin"))) == sorted(org.canteens.values())


def test_bureau_sees_its_subtree_only(client, org, api_headers):
    headers = api_headers("bureau_c1")
    assert ids(client.get("/api/v1/canteens", headers=headers)) == sorted([org.canteens["a"], org.canteens["h"]])
    assert ids(client.get("/api/v1/bureaus", headers=headers)) == sorted([org.c1, org.k1])
    assert ids(client.get("/api/v1/stations", headers=headers)) == sorted([org.stations["a"], org.stations["h"]])


@pytest.mark.parametrize("path", [
    "/api/v1/canteens/{b}", "/api/v1/canteens/{b}/stations", "/api/v1/stations/{station_b}",
    "/api/v1/bureaus/{k2}", "/api/v1/canteens?bureau_id={c2}",
])
def test_bureau_is_refused_another_jurisdiction(client, org, api_headers, path):
    url = path.format(b=org.canteens["b"], station_b=org.stations["b"], k2=org.k2, c2=org.c2)
    assert client.get(url, headers=api_headers("bureau_c1")).status_code == 404


def test_county_bureau_cannot_see_its_parent_city(client, org, api_headers):
    assert client.get(f"/api/v1/bureaus/{org.c2}", headers=api_headers("bureau_k2")).status_code == 404
    assert ids(client.get("/api/v1/canteens", headers=api_headers("bureau_k2"))) == [org.canteens["b"]]


def test_operator_sees_own_canteen_only(client, org, api_headers):
    headers = api_headers("operator_a")
    assert ids(client.get("/api/v1/canteens", headers=headers)) == [org.canteens["a"]]
    assert client.get(f"/api/v1/canteens/{org.canteens['a']}", headers=headers).status_code == 200
    for url in (f"/api/v1/canteens/{org.canteens['b']}", f"/api/v1/canteens/{org.canteens['b']}/stations",
                f"/api/v1/stations/{org.stations['b']}"):
        assert client.get(url, headers=headers).status_code == 404, url
    assert client.get("/api/v1/bureaus", headers=headers).status_code == 403


def test_operator_cannot_change_another_canteen(client, org, api_headers):
    body = {"seats": 999}
    response = client.patch(f"/api/v1/canteens/{org.canteens['b']}", json=body, headers=api_headers("operator_a"))
    assert response.status_code == 404
    own = client.get(f"/api/v1/canteens/{org.canteens['b']}", headers=api_headers("operator_b")).json()
    assert own["seats"] is None


def test_diner_is_refused_management_data(client, org, api_headers):
    headers = api_headers("diner_a")
    for url in ("/api/v1/canteens", f"/api/v1/canteens/{org.canteens['a']}", "/api/v1/stations", "/api/v1/bureaus"):
        assert client.get(url, headers=headers).status_code == 403, url


@pytest.mark.parametrize("username", ["bureau_c1", "operator_a", "diner_a"])
def test_only_admin_creates_records(client, org, api_headers, username):
    headers = api_headers(username)
    assert client.post("/api/v1/bureaus", json={"name": "X"}, headers=headers).status_code == 403
    canteen = {"bureau_id": org.k1, "name": "新食堂"}
    assert client.post("/api/v1/canteens", json=canteen, headers=headers).status_code == 403
    station = {"canteen_id": org.canteens["a"], "name": "新回收台"}
    assert client.post("/api/v1/stations", json=station, headers=headers).status_code == 403
    assert client.post(f"/api/v1/stations/{org.stations['a']}/rotate-key", headers=headers).status_code in (403, 404)
    assert ids(client.get("/api/v1/canteens", headers=api_headers("admin"))) == sorted(org.canteens.values())


def test_admin_creates_bureau_canteen_and_station(client, org, api_headers):
    headers = api_headers("admin")
    bureau = client.post("/api/v1/bureaus", json={"name": "K3县", "parent_id": org.c2}, headers=headers)
    assert bureau.status_code == 201 and bureau.json()["level"] == "county"
    canteen = client.post("/api/v1/canteens", headers=headers, json={
        "bureau_id": bureau.json()["id"], "name": "县委食堂", "serving_mode": "table", "operating_mode": "outsourced",
        "seats": 120, "meal_windows": [{"meal": "lunch", "starts": "11:00", "ends": "13:00"},
                                       {"meal": "dinner", "starts": "22:00", "ends": "01:00"}]})
    assert canteen.status_code == 201, canteen.text
    body = canteen.json()
    assert body["timezone"] == "Asia/Shanghai" and body["seats"] == 120
    assert [(w["meal"], w["starts"], w["ends"]) for w in body["meal_windows"]] == [
        ("lunch", "11:00:00", "13:00:00"), ("dinner", "22:00:00", "01:00:00")]
    station = client.post("/api/v1/stations", headers=headers, json={
        "canteen_id": body["id"], "name": "后厨秤", "kind": "kitchen", "protocol": "mt-sics", "baudrate": 4800})
    assert station.status_code == 201
    key = station.json()["key"]
    assert key.startswith("stk_") and station.json()["key_prefix"] == key[:12]
    fetched = client.get(f"/api/v1/stations/{station.json()['id']}", headers=headers).json()
    assert "key" not in fetched and fetched["baudrate"] == 4800


@pytest.mark.parametrize("body, field", [
    ({"name": "C1市"}, "name"),
    ({"name": "新县", "parent_id": 9999}, "parent_id"),
    ({"name": "", "parent_id": None}, "name"),
    ({"name": "新县", "unknown": 1}, "unknown"),
])
def test_bad_bureau_is_refused_with_field(client, org, api_headers, body, field):
    headers = api_headers("admin")
    before = ids(client.get("/api/v1/bureaus", headers=headers))
    response = client.post("/api/v1/bureaus", json=body, headers=headers)
    assert response.status_code in (409, 422)
    assert field in response.json()["detail"][0]["loc"]
    assert ids(client.get("/api/v1/bureaus", headers=headers)) == before


def test_bureau_under_county_is_refused(client, org, api_headers):
    response = client.post("/api/v1/bureaus", json={"name": "乡", "parent_id": org.k1}, headers=api_headers("admin"))
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "parent_id"]


@pytest.mark.parametrize("change, field", [
    ({"bureau_id": 9999, "name": "x"}, "bureau_id"),
    ({"name": "食堂A"}, "name"),
    ({"name": "x", "serving_mode": "picnic"}, "serving_mode"),
    ({"name": "x", "timezone": "Mars/Olympus"}, "timezone"),
    ({"name": "x", "seats": -1}, "seats"),
    ({"name": "x", "meal_windows": [{"meal": "lunch", "starts": "11:00", "ends": "13:00"},
                                    {"meal": "dinner", "starts": "12:30", "ends": "14:00"}]}, "meal_windows"),
    ({"name": "x", "meal_windows": [{"meal": "lunch", "starts": "11:00", "ends": "11:00"}]}, "meal_windows"),
])
def test_bad_canteen_is_refused_with_field(client, org, api_headers, change, field):
    headers = api_headers("admin")
    before = ids(client.get("/api/v1/canteens", headers=headers))
    response = client.post("/api/v1/canteens", json={"bureau_id": org.k1, **change}, headers=headers)
    assert response.status_code in (409, 422), response.text
    assert field in response.json()["detail"][0]["loc"]
    assert ids(client.get("/api/v1/canteens", headers=headers)) == before


def test_operator_edits_meal_windows_but_not_identity(client, org, api_headers):
    url = f"/api/v1/canteens/{org.canteens['a']}"
    headers = api_headers("operator_a")
    windows = [{"meal": "breakfast", "starts": "06:30", "ends": "08:30"},
               {"meal": "lunch", "starts": "11:30", "ends": "13:00"},
               {"meal": "dinner", "starts": "17:00", "ends": "19:00"}]
    response = client.patch(url, json={"meal_windows": windows, "seats": 80}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["meal_windows"][0]["starts"] == "06:30:00" and response.json()["seats"] == 80
    refused = client.patch(url, json={"name": "改名"}, headers=headers)
    assert refused.status_code == 403 and refused.json()["detail"][0]["loc"] == ["body", "name"]
    overlapping = client.patch(url, json={"meal_windows": [*windows[:2], {**windows[2], "starts": "12:00"}]},
                               headers=headers)
    assert overlapping.status_code == 422
    assert client.get(url, headers=headers).json()["meal_windows"][2]["starts"] == "17:00:00"


def test_bad_station_is_refused(client, org, api_headers):
    headers = api_headers("admin")
    base = {"canteen_id": org.canteens["a"], "name": "新秤"}
    for change, field in (({"protocol": "morse"}, "protocol"), ({"name": "回收台1"}, "name"),
                          ({"canteen_id": 9999}, "canteen_id"), ({"stopbits": 3}, "stopbits"),
                          ({"baudrate": 7}, "baudrate"), ({"kind": "fridge"}, "kind")):
        response = client.post("/api/v1/stations", json={**base, **change}, headers=headers)
        assert response.status_code in (409, 422), (change, response.text)
        assert field in response.json()["detail"][0]["loc"], change
    assert ids(client.get("/api/v1/stations", headers=headers)) == sorted(org.stations.values())


def test_station_key_authenticates_only_its_own_station(client, org):
    own = {"Authorization": f"Bearer {org.station_keys['a']}"}
    response = client.get("/api/v1/stations/me", headers=own)
    assert response.status_code == 200 and response.json()["id"] == org.stations["a"]
    # A station key is not a user token: it cannot read other stations, canteens or bureaus.
    for url in (f"/api/v1/stations/{org.stations['b']}", f"/api/v1/stations/{org.stations['a']}",
                "/api/v1/canteens", f"/api/v1/canteens/{org.canteens['a']}"):
        assert client.get(url, headers=own).status_code == 401, url


def test_rotated_and_revoked_station_keys_stop_working(client, org, api_headers):
    admin = api_headers("admin")
    old = {"Authorization": f"Bearer {org.station_keys['a']}"}
    rotated = client.post(f"/api/v1/stations/{org.stations['a']}/rotate-key", headers=admin)
    assert rotated.status_code == 200
    new = {"Authorization": f"Bearer {rotated.json()['key']}"}
    assert client.get("/api/v1/stations/me", headers=old).status_code == 401
    assert client.get("/api/v1/stations/me", headers=new).status_code == 200
    client.patch(f"/api/v1/stations/{org.stations['a']}", json={"active": False}, headers=admin)
    assert client.get("/api/v1/stations/me", headers=new).status_code == 401


def test_missing_or_unknown_token_is_401(client, org):
    assert client.get("/api/v1/canteens").status_code == 401
    response = client.get("/api/v1/canteens", headers={"Authorization": "Bearer tok_nonsense"})
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
