"""Roles as the README gives them: bureaus read their subtree and change nothing of a canteen; operators change
their own canteen's records and setup but not what it is scored by; diners only book. Each kind of write, for
each role, through the API and the pages."""
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from canteen.org.models import Canteen, CanteenSetting, MealWindow
from canteen.reservation.models import BookingPolicy, ClosedDay, Dish
from canteen.weighing.models import DinerCount, KitchenWaste

LUNCH = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai: lunch is being served
MOVED_WINDOWS = [{"meal": "breakfast", "starts": "06:30", "ends": "08:30"},
                 {"meal": "lunch", "starts": "11:00", "ends": "13:00"},
                 {"meal": "dinner", "starts": "17:00", "ends": "19:00"}]
MAY_OPERATE = {"admin", "operator_a"}
ROLES = ["admin", "bureau_c1", "operator_a", "diner_a"]


def canteen_writes(org) -> dict[str, tuple[str, str, dict]]:
    """Every kind of write to canteen A's setup and records, as (method, path, body)."""
    base = f"/api/v1/canteens/{org.canteens['a']}"
    return {
        "seats": ("PATCH", base, {"seats": 90}),
        "meal times": ("PATCH", base, {"meal_windows": MOVED_WINDOWS}),
        "dish": ("POST", f"{base}/dishes", {"name": "红烧肉", "raw_grams": 150}),
        "menu": ("PUT", f"{base}/menus/2026-11-25/lunch", {"dish_ids": []}),
        "closed day": ("PUT", f"{base}/closed-days/2026-11-25", {"reason": "检修"}),
        "booking policy": ("PUT", f"{base}/booking-policy", {"cutoff_days_before": 2}),
        "kitchen waste": ("POST", f"{base}/kitchen-waste",
                          {"service_date": "2026-11-23", "meal": "lunch", "category": "trimmings", "grams": 500}),
        "diner count": ("POST", f"{base}/diner-counts", {"service_date": "2026-11-23", "meal": "lunch", "diners": 40}),
        "walk-in": ("POST", f"{base}/walk-ins", {}),
        "card": ("PUT", f"{base}/cards/C001", {"user_id": org.users["diner_a"]}),
    }


def stored(session, org) -> dict[str, object]:
    """What the writes above would change, read from the database."""
    canteen_id = org.canteens["a"]
    session.expire_all()
    canteen = session.get(Canteen, canteen_id)
    return {
        "seats": canteen.seats,
        "windows": sorted((w.meal.value, w.starts, w.ends) for w in session.exec(
            select(MealWindow).where(MealWindow.canteen_id == canteen_id))),
        "dishes": len(session.exec(select(Dish).where(Dish.canteen_id == canteen_id)).all()),
        "closed": len(session.exec(select(ClosedDay).where(ClosedDay.canteen_id == canteen_id)).all()),
        "policy": [p.cutoff_days_before for p in session.exec(
            select(BookingPolicy).where(BookingPolicy.canteen_id == canteen_id))],
        "kitchen": len(session.exec(select(KitchenWaste).where(KitchenWaste.canteen_id == canteen_id)).all()),
        "counts": len(session.exec(select(DinerCount).where(DinerCount.canteen_id == canteen_id)).all()),
        "threshold": canteen.clean_plate_threshold_g,
        "history": len(session.exec(select(CanteenSetting)).all()),
    }


@pytest.mark.parametrize("kind", ["seats", "meal times", "dish", "menu", "closed day", "booking policy",
                                  "kitchen waste", "diner count", "walk-in", "card"])
@pytest.mark.parametrize("username", ROLES)
def test_canteen_writes_by_role(client, org, api_headers, session, clock, username, kind):
    clock.now = LUNCH
    method, path, body = canteen_writes(org)[kind]
    before = stored(session, org)
    response = client.request(method, path, json=body, headers=api_headers(username))
    if username in MAY_OPERATE:
        assert response.status_code in (200, 201, 204), response.text
        return
    assert response.status_code == 403, response.text
    assert response.json()["detail"][0]["msg"]  # with its reason
    assert stored(session, org) == before


@pytest.mark.parametrize("username", ROLES)
def test_score_feeding_settings_are_the_administrators(client, org, api_headers, session, username):
    url = f"/api/v1/canteens/{org.canteens['a']}"
    before = stored(session, org)
    threshold = client.patch(url, json={"clean_plate_threshold_g": 500}, headers=api_headers(username))
    # Dropping breakfast changes the meals served, which weighing_coverage counts.
    fewer_meals = client.patch(url, json={"meal_windows": MOVED_WINDOWS[1:]}, headers=api_headers(username))
    if username == "admin":
        assert threshold.status_code == 200 and fewer_meals.status_code == 200
        assert threshold.json()["clean_plate_threshold_g"] == 500
        return
    assert (threshold.status_code, fewer_meals.status_code) == (403, 403)
    if username == "operator_a":
        assert threshold.json()["detail"][0]["loc"] == ["body", "clean_plate_threshold_g"]
        assert fewer_meals.json()["detail"][0]["loc"] == ["body", "meal_windows"]
    assert stored(session, org) == before


def test_bureau_is_told_why(client, org, api_headers):
    response = client.patch(f"/api/v1/canteens/{org.canteens['a']}", json={"seats": 90},
                            headers={**api_headers("bureau_c1"), "Accept-Language": "zh-CN"})
    assert response.status_code == 403
    assert "管理局" in response.json()["detail"][0]["msg"]


@pytest.mark.parametrize("username", ["bureau_c1", "operator_a", "diner_a"])
def test_stations_are_the_administrators(client, org, api_headers, username):
    station = org.stations["a"]
    headers = api_headers(username)
    assert client.patch(f"/api/v1/stations/{station}", json={"active": False}, headers=headers).status_code == 403
    assert client.post(f"/api/v1/stations/{station}/rotate-key", headers=headers).status_code == 403


def test_bureau_still_reads_its_subtree(client, org, api_headers):
    headers = api_headers("bureau_c1")
    canteen = org.canteens["a"]
    for path in (f"/api/v1/canteens/{canteen}", f"/api/v1/canteens/{canteen}/dishes",
                 f"/api/v1/canteens/{canteen}/booking-policy", f"/api/v1/canteens/{canteen}/setting-history",
                 f"/api/v1/canteens/{canteen}/daily?from=2026-11-01&to=2026-11-22"):
        assert client.get(path, headers=headers).status_code == 200, path


# ---- pages ---------------------------------------------------------------------------


PAGE_FORMS = {  # page, the form's action, a filled form
    "kitchen waste": ("records", "kitchen-waste",
                      {"service_date": "2026-11-23", "meal": "lunch", "category": "trimmings", "grams": "500"}),
    "diner count": ("records", "diner-counts", {"service_date": "2026-11-23", "meal": "lunch", "diners": "40"}),
    "dish": ("menus", "dishes", {"name": "红烧肉", "raw_grams": "150"}),
    "closed day": ("menus", "closed-days", {"closed_date": "2026-11-25", "reason": "检修"}),
    "booking policy": ("menus", "booking-policy", {"cutoff_time": "15:00", "cutoff_days_before": "2"}),
}


@pytest.mark.parametrize("kind", sorted(PAGE_FORMS))
@pytest.mark.parametrize("username", ["admin", "bureau_c1", "operator_a"])
def test_page_forms_by_role(sign_in, csrf, org, session, clock, username, kind):
    clock.now = LUNCH
    client = sign_in(username)
    page, action, form = PAGE_FORMS[kind]
    canteen = org.canteens["a"]
    shown = client.get(f"/canteens/{canteen}/{page}")
    assert shown.status_code == 200
    before = stored(session, org)
    response = client.post(f"/canteens/{canteen}/{action}", data={**form, "csrf_token": csrf()},
                           follow_redirects=False)
    if username in MAY_OPERATE:
        assert f'action="/canteens/{canteen}/{action}"' in shown.text
        assert response.status_code == 303, response.text
        return
    assert f'action="/canteens/{canteen}/{action}"' not in shown.text or 'type="submit"' not in shown.text.split(
        f'action="/canteens/{canteen}/{action}"')[1].split("</form>")[0]
    assert response.status_code == 403
    assert stored(session, org) == before


def test_bureau_has_no_check_in_screen(sign_in, csrf, org, clock):
    clock.now = LUNCH
    client = sign_in("bureau_c1")
    canteen = org.canteens["a"]
    assert client.get(f"/canteens/{canteen}/checkin").status_code == 403
    assert client.post(f"/canteens/{canteen}/checkin", data={"code": "x", "csrf_token": csrf()}).status_code == 403


def test_operator_sees_the_threshold_read_only(sign_in, org):
    page = sign_in("operator_a").get(f"/canteens/{org.canteens['a']}")
    assert page.status_code == 200
    assert '<dd class="clean-plate-threshold">10</dd>' in page.text
    assert 'name="clean_plate_threshold_g"' not in page.text
    assert sign_in("operator_a").get(f"/admin/canteens/{org.canteens['a']}").status_code == 403
