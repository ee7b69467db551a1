"""Accounts API: bearer tokens, the caller's own record, user administration."""
import pytest

PASSWORD = "correct-horse-battery"


def test_token_identifies_the_caller(client, org, api_headers):
    me = client.get("/api/v1/me", headers=api_headers("operator_a"))
    assert me.status_code == 200
    assert me.json() | {"id": 0} == {"id": 0, "username": "operator_a", "display_name": "operator_a",
                                     "role": "operator", "bureau_id": None,
                                     "canteen_ids": [org.canteens["a"]], "active": True}


def test_token_expires(client, org, clock):
    response = client.post("/api/v1/auth/token", json={"username": "bureau_c1", "password": PASSWORD})
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    clock.advance(days=31)
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_admin_creates_users_of_every_role(client, org, api_headers):
    admin = api_headers("admin")
    bodies = [
        {"username": "new_bureau", "password": "long-enough-1", "role": "bureau", "bureau_id": org.k1},
        {"username": "new_operator", "password": "long-enough-1", "role": "operator",
         "canteen_ids": [org.canteens["a"], org.canteens["b"]]},
        {"username": "new_diner", "password": "long-enough-1", "role": "diner", "canteen_ids": [org.canteens["b"]]},
        {"username": "new_admin", "password": "long-enough-1", "role": "admin", "display_name": "管理员"},
    ]
    for body in bodies:
        response = client.post("/api/v1/users", json=body, headers=admin)
        assert response.status_code == 201, response.text
        assert "password" not in response.text and "hash" not in response.text
    token = client.post("/api/v1/auth/token", json={"username": "new_operator", "password": "long-enough-1"})
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert sorted(c["id"] for c in client.get("/api/v1/canteens", headers=headers).json()) == sorted(
        [org.canteens["a"], org.canteens["b"]])


@pytest.mark.parametrize("body, field", [
    ({"username": "operator_a", "password": "long-enough-1", "role": "diner"}, "username"),
    ({"username": "x y", "password": "long-enough-1", "role": "diner"}, "username"),
    ({"username": "shorty", "password": "short", "role": "diner"}, "password"),
    ({"username": "nobody", "password": "long-enough-1", "role": "chef"}, "role"),
    ({"username": "nobody", "password": "long-enough-1", "role": "bureau"}, "bureau_id"),
    ({"username": "nobody", "password": "long-enough-1", "role": "bureau", "bureau_id": 999}, "bureau_id"),
    ({"username": "nobody", "password": "long-enough-1", "role": "operator"}, "canteen_ids"),
    ({"username": "nobody", "password": "long-enough-1", "role": "operator", "canteen_ids": [999]}, "canteen_ids"),
    ({"username": "nobody", "password": "long-enough-1", "role": "admin", "canteen_ids": [1]}, "canteen_ids"),
])
def test_bad_user_is_refused_with_field(client, org, api_headers, body, field):
    admin = api_headers("admin")
    before = client.get("/api/v1/users", headers=admin).json()
    response = client.post("/api/v1/users", json=body, headers=admin)
    assert response.status_code in (409, 422)
    assert field in response.json()["detail"][0]["loc"]
    assert client.get("/api/v1/users", headers=admin).json() == before


@pytest.mark.parametrize("username", ["bureau_c1", "operator_a", "diner_a"])
def test_only_admin_manages_users(client, org, api_headers, username):
    headers = api_headers(username)
    assert client.get("/api/v1/users", headers=headers).status_code == 403
    body = {"username": "sneaky", "password": "long-enough-1", "role": "admin"}
    assert client.post("/api/v1/users", json=body, headers=headers).status_code == 403
    assert client.patch(f"/api/v1/users/{org.users['admin']}", json={"active": False},
                        headers=headers).status_code == 403
    assert "sneaky" not in [u["username"] for u in client.get("/api/v1/users", headers=api_headers("admin")).json()]


def test_deactivation_revokes_existing_tokens(client, org, api_headers):
    operator = api_headers("operator_a")
    response = client.patch(f"/api/v1/users/{org.users['operator_a']}", json={"active": False},
                            headers=api_headers("admin"))
    assert response.status_code == 200 and response.json()["active"] is False
    assert client.get("/api/v1/me", headers=operator).status_code == 401


def test_admin_cannot_lock_themselves_out(client, org, api_headers):
    response = client.patch(f"/api/v1/users/{org.users['admin']}", json={"active": False},
                            headers=api_headers("admin"))
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "user_id"]


def test_malformed_token_request_is_422(client, org):
    response = client.post("/api/v1/auth/token", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422
    response = client.post("/api/v1/auth/token", json={"username": "admin"})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "password"]
