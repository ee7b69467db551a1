"""Sign-in pages: cookie sessions, CSRF on every form, throttling, language switch, page scoping."""
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from canteen.web.deps import csrf_protect
from tests.conftest import csrf_token

PASSWORD = "correct-horse-battery"


def login(client, username, password=PASSWORD, token=None, next_path="/"):
    data = {"username": username, "password": password, "next": next_path}
    if token is not None:
        data["csrf_token"] = token
    return client.post("/login", data=data, follow_redirects=False)


def test_login_sets_session_and_logout_ends_it(client, org, csrf):
    canteen_page = f"/canteens/{org.canteens['a']}"
    response = login(client, "operator_a", token=csrf(), next_path=canteen_page)
    assert response.status_code == 303 and response.headers["location"] == canteen_page
    cookie = response.cookies["canteen_session"]
    assert "HttpOnly" in response.headers["set-cookie"] and "samesite=lax" in response.headers["set-cookie"].lower()
    page = client.get(canteen_page)
    assert page.status_code == 200 and "食堂A" in page.text

    def replay_old_cookie():
        """The page requested with the sign-in's cookie and nothing else (an explicit Cookie header replaces the
        client's jar), as a browser or a thief that kept the cookie would."""
        return client.get(canteen_page, headers={"cookie": f"canteen_session={cookie}"}, follow_redirects=False)

    assert replay_old_cookie().status_code == 200  # the replay itself opens the page while the session lives

    signed_out = client.post("/logout", data={"csrf_token": csrf()}, follow_redirects=False)
    assert signed_out.status_code == 303 and signed_out.headers["location"] == "/login"
    # The response tells the browser to drop the cookie...
    cleared = [header for header in signed_out.headers.get_list("set-cookie") if header.startswith("canteen_session=")]
    assert len(cleared) == 1 and "max-age=0" in cleared[0].lower()
    assert "canteen_session" not in client.cookies
    # ...and the server ended the session: the old cookie no longer opens anything, even if a client kept it.
    replayed = replay_old_cookie()
    assert (replayed.status_code, replayed.headers.get("location")) == (303, f"/login?next={canteen_page}")


def test_wrong_password_is_refused_in_chinese(client, org, csrf):
    response = login(client, "operator_a", password="wrong-password", token=csrf())
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text
    assert "canteen_session" not in response.cookies


def test_login_never_redirects_off_site(client, org, csrf):
    response = login(client, "operator_a", token=csrf(), next_path="https://evil.example/")
    assert response.headers["location"] == "/"
    response = login(client, "operator_a", token=csrf(), next_path="//evil.example/")
    assert response.headers["location"] == "/"


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_login_without_valid_csrf_token_is_refused(client, org, csrf, token):
    csrf()  # the browser holds a genuine cookie; the form carries none or a wrong one
    response = login(client, "operator_a", token=token)
    assert response.status_code == 403
    assert "canteen_session" not in response.cookies


def test_logout_without_csrf_token_keeps_the_session(client, org, sign_in):
    sign_in("operator_a")
    assert client.post("/logout", data={}, follow_redirects=False).status_code == 403
    assert client.get("/").status_code == 200


def test_every_form_route_checks_csrf(app):
    """Each page route that changes state carries the CSRF dependency; new forms cannot forget it."""
    unprotected = []
    for route in app.routes:
        if isinstance(route, APIRoute) and not route.path.startswith("/api/") and route.methods - {"GET", "HEAD"}:
            calls = {dependency.call for dependency in route.dependant.dependencies}
            if csrf_protect not in calls:
                unprotected.append(route.path)
    assert unprotected == []


def test_login_is_throttled_after_repeated_failures(client, org, csrf, clock, settings):
    for _ in range(settings.login_max_failures):
        assert login(client, "operator_a", password="guess", token=csrf()).status_code == 401
    # Now even the right password is refused from this address until the first delay (1 s) has passed.
    throttled = login(client, "operator_a", token=csrf())
    assert throttled.status_code == 429 and "canteen_session" not in throttled.cookies
    assert "登录失败次数过多，请 1 秒后再试" in throttled.text
    clock.advance(seconds=1)
    assert login(client, "operator_a", token=csrf()).status_code == 303


def test_throttling_also_covers_the_token_endpoint(client, org, settings):
    for _ in range(settings.login_max_failures):
        response = client.post("/api/v1/auth/token", json={"username": "admin", "password": "guess"})
        assert response.status_code == 401
    response = client.post("/api/v1/auth/token", json={"username": "admin", "password": PASSWORD})
    assert response.status_code == 429 and response.json()["detail"][0]["loc"] == ["body", "username"]


def test_one_client_guessing_many_names_is_throttled(client, org, csrf, settings, clock):
    for attempt in range(settings.login_address_max_failures):
        assert login(client, f"nobody{attempt}", password="guess", token=csrf()).status_code == 401
    refused = login(client, "operator_b", token=csrf())
    assert refused.status_code == 429 and "canteen_session" not in refused.cookies
    # The failures all fell at one instant: the address is free again once the window has passed over them.
    assert f"{settings.login_window_minutes * 60} 秒后再试" in refused.text
    clock.advance(minutes=settings.login_window_minutes)
    assert login(client, "operator_b", token=csrf()).status_code == 303


def test_the_owner_signs_in_after_a_strangers_failures(app, client, org, csrf, settings):
    """A stranger guessing the admin's password from elsewhere slows only the stranger (default settings: no
    account lock), and the owner at the usual address is let in at once."""
    with TestClient(app, client=("203.0.113.9", 40000)) as stranger:
        for _ in range(settings.login_max_failures):
            assert login(stranger, "admin", password="guess", token=csrf_token(stranger)).status_code == 401
        assert login(stranger, "admin", token=csrf_token(stranger)).status_code == 429
    assert login(client, "admin", token=csrf()).status_code == 303


def test_deactivated_user_cannot_sign_in(client, org, csrf, api_headers):
    admin = api_headers("admin")
    assert client.patch(f"/api/v1/users/{org.users['operator_a']}", json={"active": False},
                        headers=admin).status_code == 200
    assert login(client, "operator_a", token=csrf()).status_code == 401


def test_pages_require_sign_in(client, org):
    response = client.get(f"/canteens/{org.canteens['a']}", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/login?next=/canteens/{org.canteens['a']}"


def test_operator_page_of_another_canteen_is_404(client, org, sign_in):
    sign_in("operator_a")
    assert client.get(f"/canteens/{org.canteens['b']}").status_code == 404
    home = client.get("/")
    assert "食堂A" in home.text and "食堂B" not in home.text


def test_bureau_page_of_another_jurisdiction_is_404(client, org, sign_in):
    sign_in("bureau_k2")
    assert client.get(f"/canteens/{org.canteens['b']}").status_code == 200
    assert client.get(f"/canteens/{org.canteens['a']}").status_code == 404
    home = client.get("/")
    assert "食堂B" in home.text and "食堂A" not in home.text and "食堂H" not in home.text


def test_diner_cannot_open_canteen_management_page(client, org, sign_in):
    sign_in("diner_a")
    assert client.get(f"/canteens/{org.canteens['a']}").status_code == 403
    assert "食堂A" in client.get("/").text


def test_navigation_follows_the_role(client, org, sign_in):
    sign_in("bureau_c1")
    page = client.get("/").text
    assert "辖区食堂" in page and "/admin/users" not in page


def test_language_switch_to_english_and_back(client, org, sign_in):
    sign_in("operator_a")
    assert "我的食堂" in client.get("/").text
    response = client.get("/lang/en?next=/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/"
    english = client.get("/").text
    assert "My canteens" in english and "我的食堂" not in english
    client.get("/lang/zh_CN?next=/")
    assert "我的食堂" in client.get("/").text
