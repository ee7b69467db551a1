"""The assessment JSON API: scoring, standards, scorecards, evaluations, events, plans and notices, by role."""
from sqlmodel import Session

from canteen.assessment import rectification, service
from canteen.assessment.periods import parse_period
from canteen.assessment.standard import reference_standard

ALL_MET = {item: ["met", ""] for item in ("S1", "S2", "S3", "M3", "M4", "G1", "G2", "G3", "E1")}


def test_offline_scoring_through_the_api(client, api_headers):
    response = client.post("/api/v1/assessment/score", headers=api_headers("bureau_c1"), json={
        "metrics": {"plate_waste_g_per_diner": 60.0}, "checklist": {"S1": "met"}, "bonuses": ["B1"]})
    assert response.status_code == 200
    # W2: 10 × (90 − 60) / 60 = 5; S1 5; bonus 2.
    assert response.json()["total"] == 12.0 and response.json()["grade"] == "不合格"
    response = client.post("/api/v1/assessment/score", headers=api_headers("bureau_c1"), json={
        "metrics": {"grams": 1}})
    assert response.status_code == 422 and "unknown metric" in response.text


def test_standards_are_loaded_as_toml_and_refused_with_their_line(client, api_headers):
    headers = api_headers("bureau_c1") | {"Content-Type": "application/toml"}
    text = reference_standard().text.replace('code = "CANTEEN-REF"', 'code = "DB36/T 9-2026"')
    response = client.post("/api/v1/assessment/standards", headers=headers, content=text.encode())
    assert response.status_code == 201 and response.json()["code"] == "DB36/T 9-2026"
    broken = text.replace("bonus_cap = 5", "bonus_cap = -5")
    response = client.post("/api/v1/assessment/standards", headers=headers, content=broken.encode())
    assert response.status_code == 422 and "upload.toml:" in response.text and "bonus_cap" in response.text
    response = client.post("/api/v1/assessment/standards", headers=api_headers("operator_a") | {
        "Content-Type": "application/toml"}, content=text.encode())
    assert response.status_code == 403


def test_scorecards_evaluations_and_notices_by_role(client, api_headers, org, engine, clock):
    headers = api_headers("operator_a")
    evaluation = client.get(f"/api/v1/assessment/canteens/{org.canteens['a']}/evaluations/2026-Q4/self",
                            headers=headers).json()
    response = client.put(f"/api/v1/assessment/evaluations/{evaluation['id']}", headers=headers,
                          json={"answers": ALL_MET, "submit": True})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "submitted"
    with Session(engine) as session:
        cards = service.compute_scorecards(session, parse_period("2026-Q4"), clock())
        rectification.issue_notices(session, cards, clock())
        session.commit()
    listed = client.get("/api/v1/assessment/scorecards?period=2026-Q4", headers=api_headers("bureau_c1")).json()
    assert sorted(row["canteen_id"] for row in listed) == sorted([org.canteens["a"], org.canteens["h"]])
    card = next(row for row in listed if row["canteen_id"] == org.canteens["a"])
    detail = client.get(f"/api/v1/assessment/scorecards/{card['id']}", headers=headers).json()
    assert detail["total"] == 46.0 and detail["ranks"]["jurisdiction"] == {"rank": 1, "of": 2}
    assert client.get(f"/api/v1/assessment/scorecards/{card['id']}",
                      headers=api_headers("operator_b")).status_code == 404
    notices = client.get("/api/v1/assessment/notices", headers=headers).json()
    assert [notice["canteen_id"] for notice in notices] == [org.canteens["a"]]
    response = client.post(f"/api/v1/assessment/notices/{notices[0]['id']}/answer", headers=headers,
                           json={"measures": "推行小份菜"})
    assert response.status_code == 200 and response.json()["status"] == "answered"
    response = client.post(f"/api/v1/assessment/notices/{notices[0]['id']}/recheck",
                           headers=api_headers("bureau_c1"), json={"passed": True, "note": "已整改"})
    assert response.json()["status"] == "closed"
    assert client.get("/api/v1/assessment/scorecards?period=2026-13", headers=headers).status_code == 422


def test_events_and_sampling_plans(client, api_headers, org):
    headers = api_headers("bureau_c1")
    response = client.post("/api/v1/assessment/vetoes", headers=headers, json={
        "canteen_id": org.canteens["a"], "item_id": "V1", "on": "2026-11-02", "note": "曝光"})
    assert response.status_code == 201
    response = client.post("/api/v1/assessment/bonuses", headers=headers, json={
        "canteen_id": org.canteens["a"], "item_id": "B7", "on": "2026-11-02"})
    assert response.status_code == 422
    assert client.get(f"/api/v1/assessment/sampling-plans/{org.c1}/2027", headers=headers).status_code == 404
    response = client.post("/api/v1/assessment/sampling-plans", headers=headers,
                           json={"bureau_id": org.c1, "year": 2027, "seed": 3})
    assert response.status_code == 201 and len(response.json()["picks"]) == 1  # 35 % of A and H, rounded up
    assert client.post("/api/v1/assessment/sampling-plans", headers=api_headers("bureau_k2"),
                       json={"bureau_id": org.c1, "year": 2027}).status_code == 404
