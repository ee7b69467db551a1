"""CSRF tokens are signed with the server secret over the session they belong to, so a pair the attacker makes
up, a token from someone else's session and a token from before sign-in are all refused."""
import re

import pytest
from fastapi.testclient import TestClient

PASSWORD = "correct-horse-battery"


def form_token(client: TestClient, path: str = "/login") -> str:
    """The hidden token a page gives this client's forms."""
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)[1]


def sign_in_with(client: TestClient, token: str, username: str = "operator_a"):
    return client.post("/login", data={"username": username, "password": PASSWORD, "next": "/",
                                       "csrf_token": token}, follow_redirects=False)


def signed_in(client: TestClient) -> bool:
    return client.get("/", follow_redirects=False).status_code == 200


@pytest.fixture
def other_client(app):
    with TestClient(app) as client:
        yield client


def test_an_attacker_chosen_cookie_and_token_pair_is_refused(client, org):
    """Double submit alone would take any value that appears in both places; the signature makes it worthless."""
    client.cookies.set("canteen_csrf", "chosen-by-the-attacker")
    response = sign_in_with(client, "chosen-by-the-attacker")
    assert response.status_code == 403 and "canteen_session" not in response.cookies
    # The same browser, with the token its own sign-in page gives it, signs in.
    assert sign_in_with(client, form_token(client)).status_code == 303


def test_the_token_is_no_copy_of_any_cookie(client, org):
    token = form_token(client)
    assert token not in client.cookies.values()


def test_a_token_from_another_session_is_refused(client, other_client, org, sign_in):
    sign_in("operator_a")
    assert sign_in_with(other_client, form_token(other_client), "diner_a").status_code == 303
    theirs = form_token(other_client)
    # Signed out with the other session's token: refused, and the session lives on.
    assert client.post("/logout", data={"csrf_token": theirs}, follow_redirects=False).status_code == 403
    assert signed_in(client)


def test_a_sign_in_token_of_another_browser_is_refused(client, other_client, org):
    theirs = form_token(other_client)
    form_token(client)  # this browser has a pre-session cookie of its own
    assert sign_in_with(client, theirs).status_code == 403
    assert sign_in_with(other_client, theirs).status_code == 303


def test_signing_in_rotates_the_token(client, org):
    before = form_token(client)
    assert sign_in_with(client, before).status_code == 303
    after = form_token(client)
    assert after != before
    # The sign-in form's token no longer works once signed in; the new one does.
    assert client.post("/logout", data={"csrf_token": before}, follow_redirects=False).status_code == 403
    assert signed_in(client)
    response = client.post("/logout", data={"csrf_token": after}, follow_redirects=False)
    assert response.status_code == 303 and not signed_in(client)


def test_a_token_of_an_ended_session_is_refused_with_a_new_one(client, org):
    assert sign_in_with(client, form_token(client)).status_code == 303
    first = form_token(client)
    assert client.post("/logout", data={"csrf_token": first}, follow_redirects=False).status_code == 303
    assert sign_in_with(client, form_token(client)).status_code == 303
    assert client.post("/logout", data={"csrf_token": first}, follow_redirects=False).status_code == 403
    assert signed_in(client)


def test_the_token_depends_on_the_server_secret(client, org, app):
    token = form_token(client)
    app.state.settings = app.state.settings.model_copy(update={"secret_key": "another-secret"})
    assert sign_in_with(client, token).status_code == 403
    assert sign_in_with(client, form_token(client)).status_code == 303
