"""Ingest API (station keys, idempotency, per-item results) and the daily series API with role scoping."""
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from canteen.weighing.models import KitchenWaste, PlateWeighing


def station_headers(org, key="a"):
    return {"Authorization": f"Bearer {org.station_keys[key]}"}


def item(clock, seq, grams=30, minutes_ago=10, **extra):
    return {"seq": seq, "measured_at": (clock() - timedelta(minutes=minutes_ago)).isoformat(), "grams": grams,
            **extra}


def plate_rows(engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(PlateWeighing)).one()


def test_batch_is_accepted_and_replay_is_duplicate(client, org, clock, engine):
    batch = {"items": [item(clock, seq) for seq in range(1, 101)]}
    first = client.post("/api/v1/weighings", json=batch, headers=station_headers(org))
    assert first.status_code == 200
    assert (first.json()["accepted"], first.json()["duplicate"], first.json()["rejected"]) == (100, 0, 0)
    again = client.post("/api/v1/weighings", json=batch, headers=station_headers(org))
    assert (again.json()["accepted"], again.json()["duplicate"]) == (0, 100)
    assert {r["status"] for r in again.json()["results"]} == {"duplicate"}
    assert plate_rows(engine) == 100


def test_concurrent_replays_store_each_item_once(client, org, clock, engine):
    batch = {"items": [item(clock, seq) for seq in range(1, 201)]}
    with ThreadPoolExecutor(max_workers=4) as pool:
        responses = list(pool.map(
            lambda _: client.post("/api/v1/weighings", json=batch, headers=station_headers(org)), range(4)))
    assert [r.status_code for r in responses] == [200] * 4
    assert sum(r.json()["accepted"] for r in responses) == 200
    assert sum(r.json()["duplicate"] for r in responses) == 600
    assert plate_rows(engine) == 200


def test_same_seq_on_another_station_is_a_different_plate(client, org, clock, engine):
    for key in ("a", "b"):
        response = client.post("/api/v1/weighings", json={"items": [item(clock, 1)]}, headers=station_headers(org, key))
        assert response.json()["accepted"] == 1
    assert plate_rows(engine) == 2


def test_bad_items_are_rejected_one_by_one(client, org, clock, engine):
    future = (clock() + timedelta(minutes=6)).isoformat()
    old = (clock() - timedelta(days=31)).isoformat()
    items = [
        item(clock, 1),
        item(clock, 2, grams=-5),
        item(clock, 3, grams=30_001),  # the fixture station's capacity is 30,000 g
        {"seq": 4, "measured_at": future, "grams": 10},
        {"seq": 5, "measured_at": old, "grams": 10},
        {"seq": 6, "measured_at": "2026-11-23T09:00:00", "grams": 10},  # no time zone
        {"seq": 7, "grams": 10},
        {"seq": 8, "measured_at": clock().isoformat(), "grams": "heavy"},
        "not an object",
        item(clock, 10, category="trimmings"),  # a plate-return station sends no category
        item(clock, 11),
        item(clock, 11, grams=99),  # the same seq twice in one batch
        item(clock, 12, grams=30_000, minutes_ago=-4),  # capacity and 4 minutes ahead are still fine
    ]
    response = client.post("/api/v1/weighings", json={"items": items}, headers=station_headers(org))
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == [
        "accepted", "rejected", "rejected", "rejected", "rejected", "rejected", "rejected", "rejected",
        "rejected", "rejected", "accepted", "duplicate", "accepted"]
    assert [r["field"] for r in results if r["status"] == "rejected"] == [
        "grams", "grams", "measured_at", "measured_at", "measured_at", "measured_at", "grams", None, "category"]
    assert all(r["reason"] for r in results if r["status"] == "rejected")
    assert results[8]["seq"] is None and results[1]["seq"] == 2
    assert plate_rows(engine) == 3


def test_kitchen_station_items_without_a_category_await_classification(client, org, clock, api_headers, engine):
    admin = api_headers("admin")
    created = client.post("/api/v1/stations", headers=admin, json={
        "canteen_id": org.canteens["a"], "name": "后厨", "kind": "kitchen", "capacity_g": 200_000}).json()
    headers = {"Authorization": f"Bearer {created['key']}"}
    items = [item(clock, 1, grams=5200, category="kitchen-scraps"), item(clock, 2, grams=800),
             item(clock, 3, grams=1500, category="trimmings", meal="lunch")]
    response = client.post("/api/v1/weighings", json={"items": items}, headers=headers)
    assert [r["status"] for r in response.json()["results"]] == ["accepted", "accepted", "accepted"]
    with Session(engine) as session:
        stored = session.exec(select(KitchenWaste).order_by(KitchenWaste.seq)).all()
    assert [(k.category.value, k.grams, k.meal.value) for k in stored] == [
        ("kitchen-scraps", 5200, "breakfast"), ("unclassified", 800, "breakfast"), ("trimmings", 1500, "lunch")]
    assert plate_rows(engine) == 0


def test_ingest_refusals_change_nothing(client, org, clock, engine):
    good = {"items": [item(clock, 1)]}
    assert client.post("/api/v1/weighings", json=good).status_code == 401
    assert client.post("/api/v1/weighings", json=good,
                       headers={"Authorization": "Bearer stk_forged"}).status_code == 401
    oversized = {"items": [item(clock, seq) for seq in range(1001)]}
    response = client.post("/api/v1/weighings", json=oversized, headers=station_headers(org))
    assert response.status_code == 413 and response.json()["detail"][0]["loc"] == ["body", "items"]
    response = client.post("/api/v1/weighings", content=b'{"items": [', headers={
        **station_headers(org), "content-type": "application/json"})
    assert response.status_code == 422
    assert client.post("/api/v1/weighings", json={"weighings": []}, headers=station_headers(org)).status_code == 422
    assert plate_rows(engine) == 0


def test_revoked_station_key_is_refused(client, org, clock, api_headers):
    client.patch(f"/api/v1/stations/{org.stations['a']}", json={"active": False}, headers=api_headers("admin"))
    response = client.post("/api/v1/weighings", json={"items": [item(clock, 1)]}, headers=station_headers(org))
    assert response.status_code == 401


def test_user_token_cannot_post_weighings(client, org, clock, api_headers):
    response = client.post("/api/v1/weighings", json={"items": [item(clock, 1)]}, headers=api_headers("admin"))
    assert response.status_code == 401


def test_station_last_seen_is_updated(client, org, clock, api_headers):
    client.post("/api/v1/weighings", json={"items": []}, headers=station_headers(org))
    station = client.get(f"/api/v1/stations/{org.stations['a']}", headers=api_headers("admin")).json()
    assert station["last_seen_at"].startswith(clock().date().isoformat())


def lunch_items(clock, grams_list, start_seq=1):
    # The fixture clock is 10:00 in Shanghai; yesterday's lunch at 12:00 local is 22 hours ago.
    return [item(clock, start_seq + i, grams=g, minutes_ago=22 * 60 - i) for i, g in enumerate(grams_list)]


def test_daily_series_after_ingest(client, org, clock, api_headers):
    client.post("/api/v1/weighings", json={"items": lunch_items(clock, [0, 5, 10, 11, 120, 54])},
                headers=station_headers(org))
    day = (clock() - timedelta(days=1)).date().isoformat()
    url = f"/api/v1/canteens/{org.canteens['a']}/daily?from={day}&to={day}"
    rows = client.get(url, headers=api_headers("operator_a")).json()
    assert len(rows) == 1
    row = rows[0]
    assert (row["date"], row["plates"], row["plate_waste_g"], row["clean_plates"]) == (day, 6, 200, 3)
    assert row["clean_plate_rate"] == 0.5 and row["plate_waste_per_diner_g"] == pytest.approx(200 / 6)
    assert row["plate_waste_per_diner_g_wow"] is None  # no data a week earlier: no change, not zero


@pytest.mark.parametrize("username, status", [("operator_b", 404), ("bureau_k2", 404), ("diner_a", 403),
                                              ("operator_a", 200), ("bureau_c1", 200), ("admin", 200)])
def test_daily_series_is_scoped(client, org, api_headers, username, status):
    url = f"/api/v1/canteens/{org.canteens['a']}/daily?from=2026-11-01&to=2026-11-22"
    assert client.get(url, headers=api_headers(username)).status_code == status


@pytest.mark.parametrize("query, field", [("from=2026-11-22&to=2026-11-01", "to"), ("from=2020-01-01&to=2026-11-01", "to"),
                                          ("from=yesterday&to=2026-11-01", "from"), ("to=2026-11-01", "from")])
def test_daily_series_bad_range(client, org, api_headers, query, field):
    response = client.get(f"/api/v1/canteens/{org.canteens['a']}/daily?{query}", headers=api_headers("admin"))
    assert response.status_code == 422 and field in response.json()["detail"][0]["loc"]


def test_kitchen_and_diner_records_are_scoped(client, org, api_headers):
    entry = {"service_date": "2026-11-22", "meal": "lunch", "category": "unserved", "grams": 2000}
    url = f"/api/v1/canteens/{org.canteens['b']}/kitchen-waste"
    assert client.post(url, json=entry, headers=api_headers("operator_a")).status_code == 404
    assert client.post(url, json=entry, headers=api_headers("bureau_k2")).status_code == 403
    stored = client.post(url, json=entry, headers=api_headers("operator_b"))
    assert stored.status_code == 201
    assert {key: stored.json()[key] for key in (*entry, "source")} == {**entry, "source": "manual"}
    assert stored.json()["id"] > 0
    counts = f"/api/v1/canteens/{org.canteens['b']}/diner-counts"
    body = {"service_date": "2026-11-22", "meal": "lunch", "diners": 120}
    assert client.post(counts, json=body, headers=api_headers("operator_a")).status_code == 404
    assert client.post(counts, json={**body, "diners": -1}, headers=api_headers("operator_b")).status_code == 422
    counted = client.post(counts, json=body, headers=api_headers("operator_b"))
    assert counted.status_code == 201 and counted.json()["diners"] == 120
