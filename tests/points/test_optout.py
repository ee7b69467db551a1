"""The diner's own export settings: the page linked from their home (phone-sized, zh-CN) and the API; an opted-out
diner is in no export, a bad platform account id is refused in place and nothing changes."""
import re

import pytest
from sqlmodel import Session

from canteen.points.models import PointsPreference
from tests.points.test_export import add_client, pull, run, seed_points

PAGE = "/me/points/settings"


@pytest.fixture
def seeded(engine, org):
    return seed_points(engine, org)


def stored(engine, user_id: int) -> tuple[bool, str | None] | None:
    with Session(engine) as session:
        preference = session.get(PointsPreference, user_id)
        return None if preference is None else (preference.export, preference.external_id)


def form_token(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None
    return found[1]


def test_the_diners_home_links_to_the_settings_page(sign_in):
    home = sign_in("diner_a").get("/me")
    assert f'href="{PAGE}"' in home.text


def test_a_diner_turns_export_off_and_sets_their_account_id_on_the_page(sign_in, engine, org):
    client = sign_in("diner_a")
    page = client.get(PAGE)
    assert page.status_code == 200
    assert 'lang="zh-CN"' in page.text and 'name="viewport"' in page.text
    assert re.search(r'<input type="checkbox" name="export"\s+checked>', page.text)  # exported until they say no
    saved = client.post(PAGE, data={"csrf_token": form_token(page.text), "external_id": "  LB-42  "},
                        follow_redirects=False)
    assert (saved.status_code, saved.headers["location"]) == (303, f"{PAGE}?saved=true")
    assert stored(engine, org.users["diner_a"]) == (False, "LB-42")
    again = client.get(saved.headers["location"])
    assert 'value="LB-42"' in again.text and 'role="status"' in again.text
    assert re.search(r'<input type="checkbox" name="export"\s+>', again.text)
    client.post(PAGE, data={"csrf_token": form_token(again.text), "export": "on", "external_id": ""})
    assert stored(engine, org.users["diner_a"]) == (True, None)


@pytest.mark.parametrize("external_id", ["x" * 65, "=HYPERLINK(\"http://evil\")", "@SUM(A1)", "LB\x01", "LB\n42"])
def test_a_bad_account_id_is_refused_in_place_and_nothing_changes(sign_in, engine, org, external_id):
    client = sign_in("diner_a")
    token = form_token(client.get(PAGE).text)
    refused = client.post(PAGE, data={"csrf_token": token, "export": "on", "external_id": external_id})
    assert refused.status_code == 422
    assert 'role="alert"' in refused.text and 'aria-invalid="true"' in refused.text
    assert stored(engine, org.users["diner_a"]) is None


def test_the_longest_account_id_is_kept_as_typed(sign_in, engine, org):
    client = sign_in("diner_a")
    token = form_token(client.get(PAGE).text)
    longest = "绿" * 32 + "+8613800000000-0000000000000000000"[:32]
    client.post(PAGE, data={"csrf_token": token, "export": "on", "external_id": longest})
    assert stored(engine, org.users["diner_a"]) == (True, longest)


def test_the_form_needs_its_csrf_token(sign_in, engine, org):
    refused = sign_in("diner_a").post(PAGE, data={"external_id": "LB-1"})
    assert refused.status_code == 403 and stored(engine, org.users["diner_a"]) is None


@pytest.mark.parametrize("user", ["operator_a", "bureau_c1", "admin"])
def test_only_diners_have_these_settings(sign_in, user):
    assert sign_in(user).get(PAGE).status_code == 403


def test_the_page_needs_a_sign_in(client):
    response = client.get(PAGE, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


# ---- the API -------------------------------------------------------------------------------------------------


def test_the_api_reads_and_replaces_the_settings(client, api_headers, engine, org, clock):
    url = "/api/v1/me/points-preferences"
    headers = api_headers("diner_a")
    assert client.get(url, headers=headers).json() == {"export": True, "external_id": None, "updated_at": None}
    put = client.put(url, json={"export": False, "external_id": " 绿宝-7 "}, headers=headers)
    assert put.status_code == 200, put.text
    assert put.json() == {"export": False, "external_id": "绿宝-7", "updated_at": clock().isoformat().replace(
        "+00:00", "Z")}
    assert client.get(url, headers=headers).json() == put.json()
    assert client.put(url, json={"export": True, "external_id": None}, headers=headers).json()["external_id"] is None


@pytest.mark.parametrize(("body", "field"), [
    ({"export": True, "external_id": "x" * 65}, "external_id"),
    ({"export": True, "external_id": "=1+1"}, "external_id"),
    ({"export": True, "external_id": "\u0000"}, "external_id"),
    ('{"export": true, "external_id": "\\ud800"}', "external_id"),  # a lone surrogate, as JSON may escape it
    ({"export": "maybe", "external_id": None}, "export"),
    ({"external_id": "LB-1"}, "export"),
    ({"export": True, "external_id": "LB-1", "phone": "138"}, "phone"),
])
def test_bad_settings_are_422_with_the_field_and_nothing_changes(client, api_headers, engine, org, body, field):
    sent = {"content": body, "headers": {**api_headers("diner_a"), "Content-Type": "application/json"}} \
        if isinstance(body, str) else {"json": body, "headers": api_headers("diner_a")}
    response = client.put("/api/v1/me/points-preferences", **sent)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][-1] == field
    assert stored(engine, org.users["diner_a"]) is None


@pytest.mark.parametrize("user", ["operator_a", "bureau_c1", "admin"])
def test_only_diners_have_settings_in_the_api(client, api_headers, user):
    assert client.get("/api/v1/me/points-preferences", headers=api_headers(user)).status_code == 403
    assert client.put("/api/v1/me/points-preferences", json={"export": False, "external_id": None},
                      headers=api_headers(user)).status_code == 403


# ---- opted out: in no export ---------------------------------------------------------------------------------


def test_an_opted_out_diner_is_in_neither_the_cli_nor_the_pull(client, api_headers, database_url, org, seeded):
    key = add_client(database_url, org.province)
    diner = str(seeded.diners["a"])

    def diners_exported() -> tuple[set[str], set[str]]:
        csv = run(database_url, "points", "export", "--bureau", str(org.province), "--month", "2026-11").stdout
        pulled = pull(client, key, org.province).json()["rows"]
        return {line.split(",")[1] for line in csv.splitlines()[1:-1]}, {str(row["diner_id"]) for row in pulled}

    assert all(diner in exported for exported in diners_exported())
    assert client.put("/api/v1/me/points-preferences", json={"export": False, "external_id": "LB-0001"},
                      headers=api_headers("diner_a")).status_code == 200
    assert all(diner not in exported and exported for exported in diners_exported())
    json_export = run(database_url, "points", "export", "--bureau", str(org.province), "--month", "2026-11",
                      "--format", "json").stdout
    assert f'"diner_id":{diner},' not in json_export
