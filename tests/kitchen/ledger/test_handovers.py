"""Hand-overs to the collector: operators record them (API and the ledger page's form), bad ones are refused with
the field and the reason and change nothing, bureaus read them only."""
from datetime import UTC, datetime

import pytest

from tests.kitchen.ledger.records import handover

EN = {"Accept-Language": "en"}
GOOD = {"handed_on": "2026-11-20", "collector": "津环收运公司", "manifest_no": "TJ-1", "grams": 3650, "note": ""}


def listed(client, api_headers, canteen: int, user: str = "admin") -> list[dict]:
    response = client.get(f"/api/v1/canteens/{canteen}/waste-handovers", headers=api_headers(user),
                          params={"from": "2026-11-01", "to": "2026-11-30"})
    assert response.status_code == 200, response.text
    return response.json()


def post(client, api_headers, user: str, canteen: int, body: dict):
    return client.post(f"/api/v1/canteens/{canteen}/waste-handovers", json=body,
                       headers={**api_headers(user), **EN})


def test_an_operator_records_a_hand_over_and_reads_it_back(client, org, api_headers):
    a = org.canteens["a"]
    created = post(client, api_headers, "operator_a", a, {**GOOD, "collector": " 津环收运公司 ", "note": "周五收运"})
    assert created.status_code == 201
    assert (created.json() | {"id": None}) == {
        "id": None, "canteen_id": a, "handed_on": "2026-11-20", "collector": "津环收运公司", "manifest_no": "TJ-1",
        "grams": 3650, "note": "周五收运", "recorded_by": org.users["operator_a"], "recorded_at": "2026-11-23T02:00:00Z"}
    assert listed(client, api_headers, a) == [created.json()]
    # The range is by the day handed over.
    outside = client.get(f"/api/v1/canteens/{a}/waste-handovers", headers=api_headers("operator_a"),
                         params={"from": "2026-11-21", "to": "2026-11-30"})
    assert outside.json() == []


@pytest.mark.parametrize(("change", "field", "reason"), [
    ({"grams": -500}, "grams", "Grams must be greater than 0"),
    ({"grams": 0}, "grams", "Grams must be greater than 0"),
    ({"grams": 100_000_001}, "grams", "Grams must be at most 100000000"),  # over 100 t
    ({"handed_on": "2026-11-24"}, "handed_on", "Date handed over cannot be in the future"),
    ({"collector": "   "}, "collector", "Collector cannot be empty"),
    ({"manifest_no": ""}, "manifest_no", "Manifest number cannot be empty"),
    ({"manifest_no": "TJ-0"}, "manifest_no", "manifest number TJ-0 is already in this canteen's ledger"),
    ({"manifest_no": " TJ-0 "}, "manifest_no", "manifest number TJ-0 is already in this canteen's ledger"),
    ({"grams": "3.5kg"}, "grams", "Grams must be a whole number"),
    ({"weight": 3}, "weight", "this value is not an expected field"),
])
def test_a_bad_hand_over_is_refused_naming_the_field_and_nothing_changes(client, org, api_headers, change, field,
                                                                         reason):
    a = org.canteens["a"]
    assert post(client, api_headers, "operator_a", a, {**GOOD, "manifest_no": "TJ-0"}).status_code == 201
    before = listed(client, api_headers, a)
    response = post(client, api_headers, "operator_a", a, {**GOOD, **change})
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert (problem["loc"][-1], problem["msg"]) == (field, reason)
    assert listed(client, api_headers, a) == before


def test_the_future_is_the_canteens_own_today(client, org, api_headers, clock):
    clock.now = datetime(2026, 11, 23, 16, 30, tzinfo=UTC)  # 00:30 on the 24th in Shanghai
    a = org.canteens["a"]
    assert post(client, api_headers, "operator_a", a, {**GOOD, "handed_on": "2026-11-24"}).status_code == 201
    refused = post(client, api_headers, "operator_a", a, {**GOOD, "handed_on": "2026-11-25", "manifest_no": "TJ-2"})
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"][-1] == "handed_on"


def test_the_same_manifest_number_may_be_in_another_canteens_ledger(client, org, api_headers):
    assert post(client, api_headers, "operator_a", org.canteens["a"], GOOD).status_code == 201
    assert post(client, api_headers, "operator_b", org.canteens["b"], GOOD).status_code == 201


@pytest.mark.parametrize(("user", "status"), [
    ("operator_b", 404),  # another canteen's operator does not see canteen A
    ("bureau_c1", 403),  # a bureau reads its canteens' ledgers, it does not keep them
    ("bureau_k2", 404),  # outside its jurisdiction
    ("diner_a", 403),
])
def test_only_the_canteens_operators_record_its_hand_overs(client, org, api_headers, user, status):
    a = org.canteens["a"]
    assert post(client, api_headers, user, a, GOOD).status_code == status
    assert listed(client, api_headers, a) == []


def test_a_bureau_reads_its_canteens_hand_overs_and_ledger_without_the_form(client, org, api_headers, sign_in):
    a = org.canteens["a"]
    assert handover(client, api_headers("operator_a"), a, "2026-11-20", "津环收运公司", "TJ-1", 3650).status_code == 201
    assert [row["manifest_no"] for row in listed(client, api_headers, a, "bureau_c1")] == ["TJ-1"]
    assert client.get(f"/api/v1/canteens/{a}/waste-handovers", headers=api_headers("bureau_k2"),
                      params={"from": "2026-11-01", "to": "2026-11-30"}).status_code == 404
    page = sign_in("bureau_c1").get(f"/canteens/{a}/ledger?month=2026-11")
    assert page.status_code == 200 and "TJ-1" in page.text
    assert f'action="/canteens/{a}/waste-handovers"' not in page.text
    assert client.get(f"/canteens/{a}/ledger.xlsx?month=2026-11").status_code == 200


def test_another_canteens_operator_sees_no_ledger(org, sign_in):
    client = sign_in("operator_b")
    for path in ("ledger", "ledger.xlsx", "ledger.pdf"):
        assert client.get(f"/canteens/{org.canteens['a']}/{path}?month=2026-11").status_code == 404


@pytest.mark.parametrize(("start", "end", "reason"), [
    ("2026-11-30", "2026-11-01", "the range ends before it starts"),
    ("2024-11-01", "2026-11-30", "a range may span at most 731 days"),
])
def test_a_range_backwards_or_too_long_is_refused(client, org, api_headers, start, end, reason):
    response = client.get(f"/api/v1/canteens/{org.canteens['a']}/waste-handovers",
                          headers={**api_headers("operator_a"), **EN}, params={"from": start, "to": end})
    assert response.status_code == 422
    assert [(problem["loc"][-1], problem["msg"]) for problem in response.json()["detail"]] == [("to", reason)]


# ---- the ledger page's form ---------------------------------------------------------


def form(csrf, **change) -> dict:
    return {"csrf_token": csrf(), "handed_on": "2026-11-20", "collector": "津环收运公司", "manifest_no": "TJ-1",
            "weight_kg": "3.65", "note": "", **change}


def test_the_form_records_kilograms_as_grams(client, org, api_headers, sign_in, csrf):
    a = org.canteens["a"]
    sign_in("operator_a")
    saved = client.post(f"/canteens/{a}/waste-handovers", data=form(csrf, weight_kg="3.65"), follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == f"/canteens/{a}/ledger?month=2026-11"
    assert [(row["manifest_no"], row["grams"]) for row in listed(client, api_headers, a)] == [("TJ-1", 3650)]


@pytest.mark.parametrize(("change", "message"), [
    ({"weight_kg": "1.2345"}, "Weight handed over (kg) takes at most three decimals (whole grams)"),
    ({"weight_kg": "1e-999999999"}, "Weight handed over (kg) takes at most three decimals (whole grams)"),
    ({"weight_kg": "NaN"}, "Weight handed over (kg) must be a number"),
    ({"weight_kg": "-2"}, "Weight handed over (kg) must be greater than 0"),
    ({"weight_kg": "100000.001"}, "Weight handed over (kg) must be at most 100000"),
    ({"weight_kg": "a lot"}, "Weight handed over (kg) must be a number"),
    ({"handed_on": "2026-11-24"}, "Date handed over cannot be in the future"),
    ({"collector": ""}, "Collector cannot be empty"),
    ({"manifest_no": "TJ-0"}, "manifest number TJ-0 is already in this canteen&#39;s ledger"),
])
def test_the_form_refuses_bad_input_in_place_and_stores_nothing(client, org, api_headers, sign_in, csrf, change,
                                                                 message):
    a = org.canteens["a"]
    sign_in("operator_a").cookies.set("canteen_lang", "en")
    assert client.post(f"/canteens/{a}/waste-handovers", data=form(csrf, manifest_no="TJ-0"),
                       follow_redirects=False).status_code == 303
    before = listed(client, api_headers, a)
    refused = client.post(f"/canteens/{a}/waste-handovers", data=form(csrf, **change))
    assert refused.status_code == 422
    assert f'<p class="error" role="alert">{message}</p>' in refused.text
    assert listed(client, api_headers, a) == before


def test_the_form_needs_its_csrf_token_and_an_operator(client, org, api_headers, sign_in, csrf):
    a = org.canteens["a"]
    sign_in("operator_a")
    assert client.post(f"/canteens/{a}/waste-handovers", data={**form(csrf), "csrf_token": "forged"}).status_code == 403
    client.cookies.clear()
    sign_in("bureau_c1")
    assert client.post(f"/canteens/{a}/waste-handovers", data=form(csrf)).status_code == 403
    assert listed(client, api_headers, a) == []
