"""The clean-plate threshold keeps a dated history: each day rolls up with the threshold that applied on it, a
change never reaches into a period already scored, and only administrators change it."""
from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from canteen.assessment import service as assessment_service
from canteen.assessment.models import Scorecard, ScorecardKind
from canteen.org.models import CanteenSetting

GRAMS = [5, 10, 15, 30]  # threshold 10: 5 and 10 are clean (2 of 4); threshold 20: 15 too (3 of 4)
DAYS = [date(2026, 11, 19), date(2026, 11, 20)]


def weigh(client, org, days=DAYS) -> None:
    """Four plates at lunch (12:00 in Shanghai) on each day, through the station's API."""
    items = [{"seq": seq, "measured_at": datetime(day.year, day.month, day.day, 4, 0, seq, tzinfo=UTC).isoformat(),
              "grams": grams}
             for seq, (day, grams) in enumerate(((day, grams) for day in days for grams in GRAMS), start=1)]
    response = client.post("/api/v1/weighings", json={"items": items},
                           headers={"Authorization": f"Bearer {org.station_keys['a']}"})
    assert response.json()["accepted"] == len(items), response.text


def clean_rates(client, org, api_headers) -> dict[str, float]:
    response = client.get(f"/api/v1/canteens/{org.canteens['a']}/daily?from=2026-11-19&to=2026-11-20",
                          headers=api_headers("admin"))
    assert response.status_code == 200, response.text
    return {row["date"]: row["clean_plate_rate"] for row in response.json()}


def patch(client, org, api_headers, body, username="admin"):
    return client.patch(f"/api/v1/canteens/{org.canteens['a']}", json=body, headers=api_headers(username))


def history(session) -> list[tuple[int, date]]:
    session.expire_all()
    return [(row.value, row.applies_from) for row in session.exec(
        select(CanteenSetting).order_by(CanteenSetting.applies_from))]


def test_each_day_rolls_up_with_the_threshold_that_applied(client, org, api_headers, session):
    weigh(client, org)
    assert clean_rates(client, org, api_headers) == {"2026-11-19": 0.5, "2026-11-20": 0.5}

    response = patch(client, org, api_headers, {"clean_plate_threshold_g": 20, "applies_from": "2026-11-20"})
    assert response.status_code == 200, response.text
    assert (response.json()["clean_plate_threshold_g"], response.json()["clean_plate_threshold_from"]) == (
        20, "2026-11-20")
    # The 19th keeps the old 10 g (2 of 4 clean); from the 20th, 20 g (3 of 4): its rollup was recomputed.
    assert clean_rates(client, org, api_headers) == {"2026-11-19": 0.5, "2026-11-20": 0.75}
    assert history(session) == [(10, date(2000, 1, 1)), (20, date(2026, 11, 20))]
    shown = client.get(f"/api/v1/canteens/{org.canteens['a']}/setting-history", headers=api_headers("operator_a"))
    assert [(row["value"], row["applies_from"], row["changed_by"]) for row in shown.json()] == [
        (20, "2026-11-20", org.users["admin"]), (10, "2000-01-01", None)]


def test_a_change_applies_from_tomorrow_by_default(client, org, api_headers, session, clock, sign_in):
    clock.now = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)  # 14:00 on the 20th in Shanghai
    weigh(client, org)
    response = patch(client, org, api_headers, {"clean_plate_threshold_g": 20})
    assert response.status_code == 200, response.text
    assert response.json()["clean_plate_threshold_from"] == "2026-11-21"
    assert clean_rates(client, org, api_headers) == {"2026-11-19": 0.5, "2026-11-20": 0.5}
    # Dated again the same day, the pending value is replaced rather than stacked.
    assert patch(client, org, api_headers, {"clean_plate_threshold_g": 15}).status_code == 200
    assert history(session) == [(10, date(2000, 1, 1)), (15, date(2026, 11, 21))]
    # Today's dashboard still counts clean plates at 10 g, the threshold of today.
    page = sign_in("operator_a").get(f"/canteens/{org.canteens['a']}/dashboard")
    assert "剩余不超过 10 克" in page.text and "不超过 15 克" not in page.text


def scored(session, starts: date, ends: date, canteen_id: int, clock) -> None:
    standard = assessment_service.reference_row(session, clock())
    session.add(Scorecard(canteen_id=canteen_id, kind=ScorecardKind.quarterly, period="2026-Q3", starts=starts,
                          ends=ends, standard_id=standard.id, total=80.0, grade="良好", body={},
                          computed_at=clock()))
    session.commit()


def test_a_scored_period_keeps_its_threshold(client, org, api_headers, session, clock):
    scored(session, date(2026, 7, 1), date(2026, 9, 30), org.canteens["a"], clock)
    refused = patch(client, org, api_headers, {"clean_plate_threshold_g": 20, "applies_from": "2026-09-30"})
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"][0]["loc"] == ["body", "applies_from"]
    assert "2026-10-01" in refused.json()["detail"][0]["msg"]
    assert history(session) == []
    assert client.get(f"/api/v1/canteens/{org.canteens['a']}",
                      headers=api_headers("admin")).json()["clean_plate_threshold_g"] == 10
    accepted = patch(client, org, api_headers, {"clean_plate_threshold_g": 20, "applies_from": "2026-10-01"})
    assert accepted.status_code == 200, accepted.text
    # Another canteen's scorecards do not bind this one.
    other = client.patch(f"/api/v1/canteens/{org.canteens['b']}",
                         json={"clean_plate_threshold_g": 20, "applies_from": "2026-09-01"}, headers=api_headers("admin"))
    assert other.status_code == 200, other.text


@pytest.mark.parametrize("username", ["operator_a", "bureau_c1"])
def test_operators_and_bureaus_cannot_change_it(client, org, api_headers, session, username):
    weigh(client, org)
    response = patch(client, org, api_headers, {"clean_plate_threshold_g": 500, "applies_from": "2026-11-19"},
                     username)
    assert response.status_code == 403
    assert history(session) == []
    assert clean_rates(client, org, api_headers) == {"2026-11-19": 0.5, "2026-11-20": 0.5}


@pytest.mark.parametrize("body, field", [
    ({"applies_from": "2026-11-25"}, "applies_from"),  # a date without a new value
    ({"clean_plate_threshold_g": 20, "applies_from": "1999-12-31"}, "applies_from"),
    ({"clean_plate_threshold_g": 20, "applies_from": "2028-01-01"}, "applies_from"),  # more than a year ahead
    ({"clean_plate_threshold_g": None}, "clean_plate_threshold_g"),
    ({"timezone": None}, "timezone"),  # was a TypeError (500): the zone was checked before the None
])
def test_bad_changes_are_refused_with_their_field(client, org, api_headers, session, body, field):
    response = patch(client, org, api_headers, body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", field]
    assert history(session) == []
