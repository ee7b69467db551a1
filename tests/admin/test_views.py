"""The administrator's HTML pages: lists, add forms, edits, station keys, and who may use them."""
import re

import pytest
from sqlmodel import Session

from canteen.access import SYSTEM
from canteen.auth import service as auth_service
from canteen.org import service as org_service

KEY = re.compile(r'<code class="key">(stk_[A-Za-z0-9_-]+)</code>')


@pytest.fixture
def admin(client, sign_in):
    client.cookies.set("canteen_lang", "en")  # assertions read the English texts
    return sign_in("admin")


def submit(client, csrf, path: str, data: dict | None = None):
    return client.post(path, data={"csrf_token": csrf(), **(data or {})}, follow_redirects=False)


def bureau_names(session: Session) -> list[str]:
    session.expire_all()
    return sorted(bureau.name for bureau in org_service.list_bureaus(session, SYSTEM))


def canteen(session: Session, canteen_id: int):
    session.expire_all()
    return org_service.canteen_read(session, org_service.get_canteen(session, SYSTEM, canteen_id))


def station_key_from(response) -> str:
    match = KEY.search(response.text)
    assert match, response.text
    return match.group(1)


def station_me(client, key: str):
    return client.get("/api/v1/stations/me", headers={"Authorization": f"Bearer {key}"})


def canteen_form(**changes: str) -> dict[str, str]:
    return {"name": "食堂A", "operating_mode": "self-run", "serving_mode": "buffet", "timezone": "Asia/Shanghai",
            "seats": "", "breakfast_starts": "07:00", "breakfast_ends": "09:00", "lunch_starts": "11:30",
            "lunch_ends": "13:30", "dinner_starts": "17:30", "dinner_ends": "19:30", **changes}


STATION_FORM = {"name": "回收台2", "kind": "plate-return", "protocol": "mt-sics", "baudrate": "19200",
                "bytesize": "7", "parity": "E", "stopbits": "1", "capacity_g": "15000"}


# ---- bureaus -------------------------------------------------------------------


def test_admin_lists_and_adds_bureaus(admin, csrf, org, session):
    page = admin.get("/admin/bureaus")
    assert page.status_code == 200
    assert "K1县" in page.text and 'name="csrf_token"' in page.text

    response = submit(admin, csrf, "/admin/bureaus", {"name": "K3县", "parent_id": str(org.c1), "level": ""})
    assert response.status_code == 303 and response.headers["location"] == "/admin/bureaus"
    added = next(b for b in org_service.list_bureaus(session, SYSTEM) if b.name == "K3县")
    assert (added.parent_id, added.level.value) == (org.c1, "county")
    assert "K3县" in admin.get("/admin/bureaus").text


@pytest.mark.parametrize(("form", "status", "reason"), [
    ({"name": "C1市", "parent_id": "", "level": ""}, 409, "a bureau named &#39;C1市&#39; already exists"),
    ({"name": "新局", "parent_id": "9999", "level": ""}, 422, "parent bureau 9999 does not exist"),
    ({"name": "新局", "parent_id": "abc", "level": ""}, 422, "parent_id"),
    ({"name": "新局", "parent_id": "", "level": "village"}, 422, "level"),
    ({"name": "", "parent_id": "", "level": ""}, 422, "name"),
])
def test_bad_bureau_is_refused_and_shown_again(admin, csrf, org, session, form, status, reason):
    before = bureau_names(session)
    response = submit(admin, csrf, "/admin/bureaus", form)
    assert response.status_code == status
    assert reason in response.text
    assert f'value="{form["name"]}"' in response.text  # what was typed is still in the form
    assert bureau_names(session) == before


# ---- canteens ------------------------------------------------------------------


def test_admin_adds_canteens_with_and_without_seats(admin, csrf, org, api_headers):
    page = admin.get("/admin/canteens")
    assert page.status_code == 200
    assert "食堂B" in page.text and 'value="Asia/Shanghai"' in page.text
    for name, seats in (("食堂N", ""), ("食堂M", "120")):
        response = submit(admin, csrf, "/admin/canteens", {
            "bureau_id": str(org.k1), "name": name, "operating_mode": "outsourced", "serving_mode": "table",
            "timezone": "Asia/Shanghai", "seats": seats})
        assert response.status_code == 303, response.text
    listed = {c["name"]: c for c in admin.get("/api/v1/canteens", headers=api_headers("admin")).json()}
    assert listed["食堂N"]["seats"] is None and listed["食堂M"]["seats"] == 120
    assert (listed["食堂N"]["operating_mode"], listed["食堂N"]["serving_mode"]) == ("outsourced", "table")
    assert len(listed["食堂N"]["meal_windows"]) == 3
    assert "食堂M" in admin.get("/admin/canteens").text


@pytest.mark.parametrize(("form", "status", "reason"), [
    ({"name": "食堂A"}, 409, "this bureau already has a canteen named"),
    ({"seats": "many"}, 422, "seats"),
    ({"seats": "-3"}, 422, "seats"),
    ({"bureau_id": "9999"}, 422, "bureau 9999 does not exist"),
    ({"timezone": "Mars/Olympus"}, 422, "unknown timezone"),
    ({"serving_mode": "picnic"}, 422, "serving_mode"),
])
def test_bad_canteen_is_refused(admin, csrf, org, session, form, status, reason):
    data = {"bureau_id": str(org.k1), "name": "食堂Z", "operating_mode": "self-run", "serving_mode": "buffet",
            "timezone": "Asia/Shanghai", "seats": "", **form}
    response = submit(admin, csrf, "/admin/canteens", data)
    assert response.status_code == status
    assert reason in response.text
    assert f'value="{data["name"]}"' in response.text
    assert len(org_service.list_canteens(session, SYSTEM)) == 3


def test_admin_edits_a_canteen_and_its_meal_windows(admin, csrf, org, session):
    path = f"/admin/canteens/{org.canteens['a']}"
    page = admin.get(path)
    assert page.status_code == 200
    assert 'value="07:00"' in page.text and 'value="19:30"' in page.text

    response = submit(admin, csrf, path, canteen_form(
        name="食堂A一", serving_mode="portioned", seats="200", lunch_starts="11:00", lunch_ends="13:00",
        breakfast_starts="", breakfast_ends=""))
    assert response.status_code == 303, response.text
    stored = canteen(session, org.canteens["a"])
    assert (stored.name, stored.serving_mode.value, stored.seats) == ("食堂A一", "portioned", 200)
    windows = {w.meal.value: (w.starts.strftime("%H:%M"), w.ends.strftime("%H:%M")) for w in stored.meal_windows}
    assert windows == {"lunch": ("11:00", "13:00"), "dinner": ("17:30", "19:30")}

    assert submit(admin, csrf, path, canteen_form(name="食堂A一")).status_code == 303
    assert canteen(session, org.canteens["a"]).seats is None  # a blank seat count clears it


@pytest.mark.parametrize(("changes", "reason"), [
    ({"lunch_ends": "18:00"}, "the dinner and lunch windows overlap"),
    ({"lunch_starts": "12:00", "lunch_ends": "12:00"}, "starts and ends at the same time"),
    ({"dinner_ends": "25:00"}, "Meal times must be a time"),
    ({"breakfast_ends": ""}, "Meal times must be a time"),
    ({"seats": "1.5"}, "seats"),
])
def test_bad_canteen_edit_changes_nothing(admin, csrf, org, session, changes, reason):
    before = canteen(session, org.canteens["a"])
    response = submit(admin, csrf, f"/admin/canteens/{org.canteens['a']}",
                      canteen_form(**{"name": "改名食堂", "seats": "50", **changes}))
    assert response.status_code == 422
    assert reason in response.text
    assert 'value="改名食堂"' in response.text
    assert canteen(session, org.canteens["a"]) == before


def test_editing_an_unknown_canteen_is_not_found(admin, csrf, org):
    assert admin.get("/admin/canteens/9999").status_code == 404
    assert submit(admin, csrf, "/admin/canteens/9999", canteen_form()).status_code == 404


# ---- stations ------------------------------------------------------------------


def test_new_station_key_is_shown_once_and_works(admin, csrf, org, session):
    page = admin.get("/admin/stations")
    assert page.status_code == 200
    assert "回收台1" in page.text and org.station_keys["a"] not in page.text

    response = submit(admin, csrf, "/admin/stations", {"canteen_id": str(org.canteens["b"]), **STATION_FORM})
    assert response.status_code == 201
    assert "will not be shown again" in response.text
    assert response.headers["cache-control"] == "no-store"
    key = station_key_from(response)

    me = station_me(admin, key)
    assert me.status_code == 200
    assert {k: me.json()[k] for k in ("canteen_id", "name", "protocol", "baudrate", "bytesize", "parity")} == {
        "canteen_id": org.canteens["b"], "name": "回收台2", "protocol": "mt-sics", "baudrate": 19200,
        "bytesize": 7, "parity": "E"}
    listing = admin.get("/admin/stations").text
    assert "回收台2" in listing and key[:12] in listing and key not in listing


def test_rotating_a_key_shows_the_new_one_and_retires_the_old(admin, csrf, org):
    response = submit(admin, csrf, f"/admin/stations/{org.stations['a']}/rotate-key")
    assert response.status_code == 200
    key = station_key_from(response)
    assert key != org.station_keys["a"]
    assert station_me(admin, org.station_keys["a"]).status_code == 401
    assert station_me(admin, key).json()["id"] == org.stations["a"]


def test_revoked_station_key_is_refused_until_restored(admin, csrf, org):
    path = f"/admin/stations/{org.stations['a']}/active"
    assert submit(admin, csrf, path, {"active": "false"}).status_code == 303
    assert station_me(admin, org.station_keys["a"]).status_code == 401
    assert submit(admin, csrf, path, {"active": "true"}).status_code == 303
    assert station_me(admin, org.station_keys["a"]).status_code == 200


@pytest.mark.parametrize(("form", "status", "reason"), [
    ({"name": "回收台1"}, 409, "this canteen already has a station named"),
    ({"baudrate": "fast"}, 422, "baudrate"),
    ({"baudrate": ""}, 422, "baudrate"),
    ({"capacity_g": "0"}, 422, "capacity_g"),
    ({"stopbits": "3"}, 422, "stop bits must be 1, 1.5 or 2"),
    ({"protocol": "homemade"}, 422, "unknown scale protocol"),
])
def test_bad_station_is_refused(admin, csrf, org, session, form, status, reason):
    data = {**STATION_FORM, "canteen_id": str(org.canteens["a"]), **form}
    response = submit(admin, csrf, "/admin/stations", data)
    assert response.status_code == status
    assert reason in response.text
    assert not KEY.search(response.text)
    assert len(org_service.list_stations(session, SYSTEM)) == 3


def test_unknown_station_is_not_found(admin, csrf, org):
    assert submit(admin, csrf, "/admin/stations/9999/rotate-key").status_code == 404
    assert submit(admin, csrf, "/admin/stations/9999/active", {"active": "false"}).status_code == 404


# ---- users ---------------------------------------------------------------------


def test_admin_adds_deactivates_and_reactivates_a_user(admin, csrf, org, session):
    page = admin.get("/admin/users")
    assert page.status_code == 200
    assert "operator_b" in page.text

    response = submit(admin, csrf, "/admin/users", {
        "username": "operator_ah", "display_name": "王师傅", "password": "long-enough-pw", "role": "operator",
        "bureau_id": "", "canteen_ids": [str(org.canteens["a"]), str(org.canteens["h"])]})
    assert response.status_code == 303, response.text
    user = next(u for u in auth_service.list_users(session, SYSTEM) if u.username == "operator_ah")
    read = auth_service.user_read(session, user)
    assert (read.display_name, read.role.value, read.canteen_ids) == (
        "王师傅", "operator", sorted([org.canteens["a"], org.canteens["h"]]))
    assert "王师傅" in admin.get("/admin/users").text

    for active in (False, True):
        response = submit(admin, csrf, f"/admin/users/{user.id}/active", {"active": str(active).lower()})
        assert response.status_code == 303
        session.expire_all()
        assert auth_service.get_user(session, user.id).active is active


@pytest.mark.parametrize(("form", "status", "reason"), [
    ({"username": "diner_a"}, 409, "the username &#39;diner_a&#39; is taken"),
    ({"password": "short"}, 422, "password"),
    ({"role": "bureau"}, 422, "a bureau user needs an existing bureau"),
    ({"canteen_ids": []}, 422, "an operator needs at least one canteen"),
    ({"canteen_ids": ["x"]}, 422, "canteen_ids"),
    ({"bureau_id": "many"}, 422, "bureau_id"),
])
def test_bad_user_is_refused(admin, csrf, org, session, form, status, reason):
    data = {"username": "newcomer", "display_name": "", "password": "long-enough-pw", "role": "operator",
            "bureau_id": "", "canteen_ids": ["1"], **form}
    response = submit(admin, csrf, "/admin/users", data)
    assert response.status_code == status
    assert reason in response.text
    assert f'value="{data["username"]}"' in response.text and data["password"] not in response.text
    assert len(auth_service.list_users(session, SYSTEM)) == len(org.users)


def test_admin_cannot_deactivate_themselves(admin, csrf, org, session):
    response = submit(admin, csrf, f"/admin/users/{org.users['admin']}/active", {"active": "false"})
    assert response.status_code == 422
    assert "you cannot deactivate your own account" in response.text
    assert auth_service.get_user(session, org.users["admin"]).active


# ---- who may use these pages ---------------------------------------------------


def pages(org) -> list[str]:
    return ["/admin/bureaus", "/admin/canteens", f"/admin/canteens/{org.canteens['a']}", "/admin/stations",
            "/admin/users"]


def forms(org) -> list[tuple[str, dict]]:
    return [
        ("/admin/bureaus", {"name": "偷建局"}),
        ("/admin/canteens", {"bureau_id": str(org.k1), "name": "偷建食堂", "timezone": "Asia/Shanghai"}),
        (f"/admin/canteens/{org.canteens['a']}", canteen_form(name="偷改")),
        ("/admin/stations", {**STATION_FORM, "canteen_id": str(org.canteens["a"])}),
        (f"/admin/stations/{org.stations['a']}/rotate-key", {}),
        (f"/admin/stations/{org.stations['a']}/active", {"active": "false"}),
        ("/admin/users", {"username": "intruder", "password": "long-enough-pw", "role": "admin"}),
        (f"/admin/users/{org.users['admin']}/active", {"active": "false"}),
    ]


def assert_nothing_changed(client, org, session: Session) -> None:
    assert "偷建局" not in bureau_names(session)
    assert canteen(session, org.canteens["a"]).name == "食堂A"
    assert len(org_service.list_canteens(session, SYSTEM)) == 3
    assert len(org_service.list_stations(session, SYSTEM)) == 3
    assert len(auth_service.list_users(session, SYSTEM)) == len(org.users)
    assert auth_service.get_user(session, org.users["admin"]).active
    assert station_me(client, org.station_keys["a"]).status_code == 200


@pytest.mark.parametrize("username", ["bureau_c1", "operator_a", "diner_a"])
def test_only_administrators_may_use_the_pages(client, sign_in, csrf, org, session, username):
    sign_in(username)
    for path in pages(org):
        assert client.get(path).status_code == 403, path
    for path, data in forms(org):
        assert submit(client, csrf, path, data).status_code == 403, path
    assert_nothing_changed(client, org, session)


def test_anonymous_visitors_are_sent_to_sign_in(client, csrf, org, session):
    for path in pages(org):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login?next=/admin/"), path
    for path, data in forms(org):
        response = submit(client, csrf, path, data)
        assert response.status_code == 303 and response.headers["location"].startswith("/login"), path
    assert_nothing_changed(client, org, session)


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_forms_without_a_valid_csrf_token_are_refused(admin, org, session, token):
    for path, data in forms(org):
        body = data if token is None else {**data, "csrf_token": token}
        response = admin.post(path, data=body, follow_redirects=False)
        assert response.status_code == 403, path
        assert "csrf_token" in response.text
    assert_nothing_changed(admin, org, session)


def test_every_form_carries_the_csrf_token(admin, csrf, org):
    for path in pages(org):
        page = admin.get(path).text
        assert page.count('<form method="post"') == page.count(f'name="csrf_token" value="{csrf()}"'), path
