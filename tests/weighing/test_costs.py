"""Waste as money, CO2e and water: the factors a canteen inherits from its bureaus or the defaults, who may set
them, bad values refused, and the month's waste valued on the dashboard with figures worked out by hand."""
import re
from datetime import UTC, datetime, timedelta

import pytest

LUNCH_END = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)  # 13:00 in Shanghai, a Monday
STAGES = {"plate", "storage", "trimmings", "unserved", "kitchen-scraps", "other", "unclassified"}


def factors(client, api_headers, path: str, user: str = "admin") -> dict:
    response = client.get(f"/api/v1/{path}/waste-factors", headers=api_headers(user))
    assert response.status_code == 200, response.text
    return response.json()


def put(client, api_headers, path: str, user: str, body: dict):
    return client.put(f"/api/v1/{path}/waste-factors", json=body, headers=api_headers(user))


def test_without_any_setting_the_defaults_and_their_sources_apply(client, org, api_headers):
    body = factors(client, api_headers, f"canteens/{org.canteens['a']}", "operator_a")
    assert set(body["prices"]) == STAGES
    assert {(p["value"], p["source"]) for p in body["prices"].values()} == {(10.0, "default")}
    assert (body["co2e_kg_per_kg"]["value"], body["water_l_per_kg"]["value"]) == (2.5, 190.0)
    assert "FAO" in body["co2e_kg_per_kg"]["reference"] and "FAO" in body["water_l_per_kg"]["reference"]


@pytest.fixture
def layered(client, org, api_headers):
    """The province sets plate 12 ¥/kg and 3.0 kg CO2e; city C1 plate 15; canteen A unserved food 20."""
    assert put(client, api_headers, f"bureaus/{org.province}", "admin",
               {"prices": {"plate": 12}, "co2e_kg_per_kg": 3.0}).status_code == 200
    assert put(client, api_headers, f"bureaus/{org.c1}", "bureau_c1", {"prices": {"plate": 15}}).status_code == 200
    assert put(client, api_headers, f"canteens/{org.canteens['a']}", "operator_a",
               {"prices": {"unserved": 20}}).status_code == 200


def test_each_factor_comes_from_the_nearest_owner_that_sets_it(client, org, api_headers, layered):
    a = factors(client, api_headers, f"canteens/{org.canteens['a']}", "operator_a")
    assert a["prices"]["plate"] == {"value": 15.0, "source": "bureau", "bureau_id": org.c1, "reference": ""}
    assert (a["prices"]["unserved"]["value"], a["prices"]["unserved"]["source"]) == (20.0, "canteen")
    assert (a["prices"]["trimmings"]["value"], a["prices"]["trimmings"]["source"]) == (10.0, "default")
    assert (a["co2e_kg_per_kg"]["value"], a["co2e_kg_per_kg"]["bureau_id"]) == (3.0, org.province)
    assert a["water_l_per_kg"]["source"] == "default"
    # Canteen B is under C2, which sets nothing: the province's price.
    b = factors(client, api_headers, f"canteens/{org.canteens['b']}", "operator_b")
    assert (b["prices"]["plate"]["value"], b["prices"]["unserved"]["value"]) == (12.0, 10.0)
    assert factors(client, api_headers, f"bureaus/{org.k1}", "bureau_c1")["prices"]["plate"]["value"] == 15.0


def test_a_canteen_that_clears_its_price_inherits_again(client, org, api_headers, layered):
    assert put(client, api_headers, f"canteens/{org.canteens['a']}", "operator_a", {"prices": {"unserved": None}}
               ).json()["prices"]["unserved"]["source"] == "default"


@pytest.mark.parametrize(("user", "path", "status"), [
    ("bureau_c1", "canteens/{a}", 403),  # a bureau assesses a canteen, it does not run it
    ("operator_b", "canteens/{a}", 404),  # another canteen's operator does not see it
    ("operator_a", "bureaus/{k1}", 403),
    ("bureau_k2", "bureaus/{c1}", 404),  # outside its jurisdiction
    ("diner_a", "canteens/{a}", 403),
])
def test_only_owners_may_set_factors(client, org, api_headers, user, path, status):
    target = path.format(a=org.canteens["a"], k1=org.k1, c1=org.c1)
    assert put(client, api_headers, target, user, {"prices": {"plate": 1}}).status_code == status
    assert factors(client, api_headers, target)["prices"]["plate"]["source"] == "default"


@pytest.mark.parametrize(("body", "field"), [
    ({"prices": {"plate": -1}}, "plate"),
    ({"prices": {"plate": 5000}}, "plate"),  # ¥5,000 a kg: grams typed for kilograms
    ({"prices": {"dessert": 3}}, "dessert"),  # no such stage
    ({"co2e_kg_per_kg": -0.5}, "co2e_kg_per_kg"),
    ({"water_l_per_kg": 1e9}, "water_l_per_kg"),
    ({"currency": "USD"}, "currency"),
])
def test_bad_factors_are_refused_and_nothing_changes(client, org, api_headers, layered, body, field):
    path = f"canteens/{org.canteens['a']}"
    before = factors(client, api_headers, path)
    response = put(client, api_headers, path, "operator_a", body)
    assert response.status_code == 422
    assert field in response.text
    assert factors(client, api_headers, path) == before


def figure(html: str, name: str) -> str:
    match = re.search(rf'data-figure="{name}">([^<]*)<', html)
    assert match, f"no figure {name}"
    return match.group(1)


def add_month_of_waste(client, org, clock, api_headers) -> int:
    """Canteen A: 0.6 kg of plates on the 23rd, 2 kg unserved that day, 1 kg of trimmings on the 2nd, and 9 kg
    unserved on 31 October."""
    clock.now = LUNCH_END
    canteen = org.canteens["a"]
    plates = [{"seq": i + 1, "measured_at": (LUNCH_END - timedelta(minutes=30 - i)).isoformat(), "grams": grams}
              for i, grams in enumerate([100, 200, 300])]
    assert client.post("/api/v1/weighings", json={"items": plates},
                       headers={"Authorization": f"Bearer {org.station_keys['a']}"}).json()["accepted"] == 3
    for day, category, grams in (("2026-11-23", "unserved", 2000), ("2026-11-02", "trimmings", 1000),
                                 ("2026-10-31", "unserved", 9000)):  # last month's: not in this month's figures
        assert client.post(f"/api/v1/canteens/{canteen}/kitchen-waste", headers=api_headers("operator_a"),
                           json={"service_date": day, "meal": "lunch", "category": category, "grams": grams}
                           ).status_code == 201
    return canteen


def test_the_dashboard_values_the_months_waste(client, org, clock, api_headers, sign_in, layered):
    canteen = add_month_of_waste(client, org, clock, api_headers)
    page = sign_in("operator_a").get(f"/canteens/{canteen}/dashboard").text
    # 0.6 kg of plates at C1's ¥15, 2 kg unserved at the canteen's ¥20, 1 kg of trimmings at the default ¥10:
    # ¥9 + ¥40 + ¥10 = ¥59; 3.6 kg at the province's 3.0 kg CO2e a kg = 10.8 kg; 3.6 kg × 190 L = 0.684 m³.
    assert (figure(page, "month-kg"), figure(page, "month-yuan"), figure(page, "month-co2e"),
            figure(page, "month-water")) == ("3.6", "59", "10.8", "0.7")
    assert "本月浪费" in page and "联合国粮农组织（2013）" in page and "¥15.00" in page


def test_the_history_and_the_wall_value_their_waste(client, org, clock, api_headers, sign_in, layered):
    canteen = add_month_of_waste(client, org, clock, api_headers)
    signed_in = sign_in("operator_a")
    page = signed_in.get(f"/canteens/{canteen}/history?from=2026-10-31&to=2026-11-23").text
    # As on the dashboard, plus October's 9 kg unserved at ¥20: ¥59 + ¥180 = ¥239; 12.6 kg × 3.0 = 37.8 kg CO2e;
    # 12.6 kg × 190 L = 2.394 m³.
    assert (figure(page, "range-kg"), figure(page, "range-yuan"), figure(page, "range-co2e"),
            figure(page, "range-water")) == ("12.6", "239", "37.8", "2.4")
    day = re.search(r'<tr data-date="2026-11-23">.*?<td data-yuan>([^<]*)</td>', page, re.S)
    assert day and day.group(1) == "49"  # ¥9 of plates and ¥40 unserved
    assert re.search(r'<tr data-date="2026-11-03">.*?<td data-yuan></td>', page, re.S)  # nothing weighed
    lunch_only = signed_in.get(f"/canteens/{canteen}/history?from=2026-11-23&to=2026-11-23&meal=dinner").text
    assert figure(lunch_only, "range-kg") == "0.0"
    wall = signed_in.get(f"/canteens/{canteen}/wall").text
    assert "本月至今浪费食物 4 千克，折合约 ¥59，约 11 千克二氧化碳当量" in wall


def test_operators_set_the_canteens_own_factors_on_its_page(client, org, api_headers, sign_in, csrf, layered):
    page_url = f"/canteens/{org.canteens['a']}/waste-factors"
    page = sign_in("operator_a").get(page_url)
    assert page.status_code == 200
    assert re.search(r'data-factor="price-plate"><td>餐盘回收</td><td>¥15.00/[^<]*</td><td>主管局默认值</td>', page.text)
    assert 'name="unserved" min="0" max="1000" step="0.01" value="20"' in page.text  # the canteen's own, to change
    saved = client.post(page_url, data={"csrf_token": csrf(), "plate": "8.5", "unserved": "", "co2e_kg_per_kg": "2"},
                        follow_redirects=False)
    assert saved.status_code == 303
    a = factors(client, api_headers, f"canteens/{org.canteens['a']}")
    assert (a["prices"]["plate"]["value"], a["prices"]["plate"]["source"]) == (8.5, "canteen")
    assert a["prices"]["unserved"]["source"] == "default"  # left blank: inherited again
    assert (a["co2e_kg_per_kg"]["value"], a["co2e_kg_per_kg"]["source"]) == (2.0, "canteen")

    refused = client.post(page_url, data={"csrf_token": csrf(), "plate": "-3"})
    assert refused.status_code == 422 and 'role="alert"' in refused.text
    assert factors(client, api_headers, f"canteens/{org.canteens['a']}") == a


def test_a_bureau_sees_the_factors_page_without_the_form(org, sign_in):
    page = sign_in("bureau_c1").get(f"/canteens/{org.canteens['a']}/waste-factors")
    assert page.status_code == 200 and "<form method=\"post\" action=\"/canteens" not in page.text
    assert sign_in("operator_b").get(f"/canteens/{org.canteens['a']}/waste-factors").status_code == 404


def test_a_bureau_sets_its_canteens_defaults_on_its_page(client, org, api_headers, sign_in, csrf):
    page_url = f"/bureaus/{org.c1}/waste-factors"
    assert sign_in("operator_a").get(page_url).status_code == 403  # operators see no bureau
    assert sign_in("bureau_k2").get(page_url).status_code == 404  # another city's county
    home = sign_in("bureau_c1").get("/").text
    assert f'href="/bureaus/{org.c1}/waste-factors"' in home
    saved = client.post(page_url, data={"csrf_token": csrf(), "trimmings": "6", "water_l_per_kg": "150"},
                        follow_redirects=False)
    assert saved.status_code == 303
    page = client.get(page_url).text
    assert 'name="trimmings" min="0" max="1000" step="0.01" value="6"' in page
    # C1's canteens inherit it, canteen B (under C2) does not.
    a = factors(client, api_headers, f"canteens/{org.canteens['a']}")
    assert (a["prices"]["trimmings"]["value"], a["prices"]["trimmings"]["source"]) == (6.0, "bureau")
    assert a["water_l_per_kg"]["value"] == 150.0
    assert factors(client, api_headers, f"canteens/{org.canteens['b']}")["prices"]["trimmings"]["value"] == 10.0
    refused = client.post(page_url, data={"csrf_token": csrf(), "water_l_per_kg": "-1"})
    assert refused.status_code == 422
    assert factors(client, api_headers, f"canteens/{org.canteens['a']}") == a
    sign_in("operator_a")
    assert client.post(page_url, data={"csrf_token": csrf(), "plate": "1"}).status_code == 403
