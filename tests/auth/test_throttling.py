"""Sign-in throttling: delays per (user name, address), a limit per address behind trusted proxies, the optional
account lock and its admin unlock.

The settings here are small so a test stays short: 3 free failures per pair, a 10 s longest delay, 8 failures
per address, and the account lock on at 6 failures from 3 addresses.
"""
import threading
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session
from starlette.requests import Request

from canteen.auth import service
from canteen.config import Settings
from canteen.errors import TooManyAttempts, Unauthorized
from canteen.web.client import client_address
from tests.conftest import csrf_token

PASSWORD = "correct-horse-battery"
PROXY = "10.0.0.1"
LOCK = {"login_account_lock": True, "login_lock_failures": 6, "login_lock_addresses": 3}


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, secret_key="test-secret", language="zh_CN", login_max_failures=3,
                    login_window_minutes=1, login_address_max_failures=8, trusted_proxies=PROXY, **LOCK)


def throttle(**changes) -> service.Throttle:
    return service.Throttle.of(Settings(login_max_failures=3, login_window_minutes=1, **changes))


def token(client: TestClient, username: str, password: str = PASSWORD, forwarded: str | None = None):
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return client.post("/api/v1/auth/token", json={"username": username, "password": password}, headers=headers)


def retry_seconds(response) -> str:
    return response.json()["detail"][0]["msg"]


# ---- the delay per user name and address ------------------------------------------------


def test_the_delay_doubles_after_the_free_failures_and_a_success_resets_it(session, org, clock):
    rules = throttle()

    def attempt(password: str = "guess"):
        return service.authenticate(session, "operator_a", password, "198.51.100.1", clock(), rules)

    for _ in range(3):
        with pytest.raises(Unauthorized):
            attempt()
    # 3 failures: wait 1 s; each further failure doubles it (2 s, 4 s, 8 s), capped at the 60 s window.
    for delay in (1, 2, 4, 8):
        with pytest.raises(TooManyAttempts) as refused:
            attempt(PASSWORD)
        assert refused.value.params == {"seconds": delay}
        clock.advance(seconds=delay - 0.5)
        with pytest.raises(TooManyAttempts):
            attempt(PASSWORD)
        clock.advance(seconds=0.5)
        with pytest.raises(Unauthorized):
            attempt()
    assert [rules.delay(failures) for failures in (2, 3, 7, 9, 10_000)] == [
        timedelta(0), timedelta(seconds=1), timedelta(seconds=16), timedelta(seconds=60), timedelta(seconds=60)]
    clock.advance(seconds=16)  # 7 failures now: 16 s
    assert attempt(PASSWORD).username == "operator_a"
    with pytest.raises(Unauthorized):
        attempt()  # a fresh count after the success: one failure, no delay
    with pytest.raises(Unauthorized):
        attempt()


def test_a_refused_try_is_not_counted(session, org, clock):
    rules = throttle()
    for _ in range(3):
        with pytest.raises(Unauthorized):
            service.authenticate(session, "operator_a", "guess", "198.51.100.1", clock(), rules)
    for _ in range(5):
        with pytest.raises(TooManyAttempts):
            service.authenticate(session, "operator_a", "guess", "198.51.100.1", clock(), rules)
    clock.advance(seconds=1)
    assert service.authenticate(session, "operator_a", PASSWORD, "198.51.100.1", clock(), rules).username


def test_guesses_sent_in_parallel_count_one_another(engine, org, clock):
    """Ten wrong passwords at once from one address: the three free failures, and seven refusals."""
    rules = throttle()
    barrier = threading.Barrier(10)
    outcomes: list[int] = []

    def guess() -> None:
        with Session(engine) as own:
            barrier.wait()
            try:
                service.authenticate(own, "admin", "guess", "203.0.113.7", clock(), rules)
            except (Unauthorized, TooManyAttempts) as error:
                outcomes.append(error.status_code)

    threads = [threading.Thread(target=guess) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [401] * 3 + [429] * 7


def test_a_strangers_failures_leave_the_owner_at_the_usual_address_alone(app, client, org):
    with TestClient(app, client=("203.0.113.9", 40000)) as stranger:
        for _ in range(3):
            assert token(stranger, "admin", "guess").status_code == 401
        refused = token(stranger, "admin")
        assert refused.status_code == 429 and retry_seconds(refused) == "登录失败次数过多，请 1 秒后再试"
    assert token(client, "admin").status_code == 200
    page = TestClient(app)
    signed_in = page.post("/login", data={"username": "admin", "password": PASSWORD, "next": "/",
                                          "csrf_token": csrf_token(page)}, follow_redirects=False)
    assert signed_in.status_code == 303


# ---- the address, and the limit per address ----------------------------------------------


def request_from(peer: str, forwarded: list[str]) -> Request:
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded]
    return Request({"type": "http", "client": (peer, 1234), "headers": headers})


@pytest.mark.parametrize(("peer", "forwarded", "expected"), [
    ("203.0.113.5", ["198.51.100.7"], "203.0.113.5"),  # not a trusted proxy: its header is anybody's word
    ("10.0.0.1", [], "10.0.0.1"),
    ("10.0.0.1", ["198.51.100.7"], "198.51.100.7"),
    ("10.0.0.1", ["1.1.1.1, 198.51.100.7"], "198.51.100.7"),  # the left part was written by the client itself
    ("10.0.0.1", ["198.51.100.7, 10.9.9.9"], "198.51.100.7"),  # through two trusted proxies
    ("10.0.0.1", ["198.51.100.7", "10.9.9.9"], "198.51.100.7"),  # the same, as two header lines
    ("10.0.0.1", ["198.51.100.7, not-an-address"], "10.0.0.1"),
    ("10.0.0.1", ["10.9.9.9"], "10.9.9.9"),  # only trusted hops: the farthest one known
    ("2001:db8::5", ["2001:db8::7"], "2001:db8::5"),
    ("fd00::1", [" 2001:db8::7 "], "2001:db8::7"),
])
def test_client_address_believes_forwarded_for_only_from_trusted_proxies(peer, forwarded, expected):
    trusted = Settings(trusted_proxies="10.0.0.0/8, fd00::/8").trusted_proxies
    assert client_address(request_from(peer, forwarded), trusted) == expected


def test_the_address_limit_counts_the_address_behind_the_proxy(app, org, clock):
    with TestClient(app, client=(PROXY, 40000)) as proxy:
        # 8 failures from one office behind the proxy, a different name each time (no pair reaches its delay).
        for attempt in range(8):
            assert token(proxy, f"nobody{attempt}", "guess", forwarded="198.51.100.20").status_code == 401
        refused = token(proxy, "operator_a", forwarded="198.51.100.20")
        assert refused.status_code == 429 and retry_seconds(refused) == "您所在地址的登录失败次数过多，请 60 秒后再试"
        # Another office through the same proxy is not behind that address.
        assert token(proxy, "operator_a", forwarded="198.51.100.21").status_code == 200
        clock.advance(seconds=30)
        assert token(proxy, "operator_a", forwarded="198.51.100.20").status_code == 429
        clock.advance(seconds=30)
        assert token(proxy, "operator_a", forwarded="198.51.100.20").status_code == 200


def test_a_forged_forwarded_for_does_not_escape_the_delay(app, org):
    with TestClient(app, client=("203.0.113.5", 40000)) as guesser:
        for attempt in range(3):
            assert token(guesser, "admin", "guess", forwarded=f"192.0.2.{attempt}").status_code == 401
        assert token(guesser, "admin", forwarded="192.0.2.99").status_code == 429


# ---- the optional account lock, and the admin's unlock ----------------------------------------------


def fail_from_addresses(app, username: str, addresses: list[str], times: int) -> None:
    for address in addresses:
        with TestClient(app, client=(address, 40000)) as guesser:
            for _ in range(times):
                assert token(guesser, username, "guess").status_code == 401


def test_failures_from_many_addresses_lock_the_account_until_an_admin_unlocks_it(app, client, org, api_headers,
                                                                                 sign_in):
    admin = api_headers("admin")
    # 2 failures from each of 3 addresses: 6 failures, 3 addresses, each pair still under its free failures.
    fail_from_addresses(app, "operator_a", ["203.0.113.1", "203.0.113.2", "203.0.113.3"], 2)
    locked = token(client, "operator_a")
    assert locked.status_code == 429 and "锁定" in retry_seconds(locked)
    assert token(client, "operator_b").status_code == 200  # other accounts are not affected
    sign_in("admin")
    page = client.get("/admin/users")
    assert page.text.count("解锁登录") == 1 and "登录已锁定" in page.text
    assert client.post(f"/api/v1/users/{org.users['operator_a']}/unlock",
                       headers=api_headers("operator_b")).status_code == 403
    unlocked = client.post(f"/admin/users/{org.users['operator_a']}/unlock", data={"csrf_token": csrf_token(client)},
                           follow_redirects=False)
    assert unlocked.status_code == 303
    assert "解锁登录" not in client.get("/admin/users").text
    assert token(client, "operator_a").status_code == 200
    # The API unlock does the same.
    fail_from_addresses(app, "operator_a", ["203.0.113.4", "203.0.113.5", "203.0.113.6"], 2)
    assert token(client, "operator_a").status_code == 429
    answer = client.post(f"/api/v1/users/{org.users['operator_a']}/unlock", headers=admin)
    assert answer.status_code == 200 and answer.json()["username"] == "operator_a"
    assert token(client, "operator_a").status_code == 200


def test_many_failures_from_few_addresses_do_not_lock(app, client, org):
    fail_from_addresses(app, "operator_a", ["203.0.113.1", "203.0.113.2"], 3)  # 6 failures, 2 addresses
    assert token(client, "operator_a").status_code == 200


def test_the_account_lock_is_off_by_default(session, org, clock):
    rules = throttle()
    for address in range(20):
        for _ in range(3):
            with pytest.raises(Unauthorized):
                service.authenticate(session, "operator_a", "guess", f"203.0.113.{address}", clock(), rules)
    assert service.authenticate(session, "operator_a", PASSWORD, "198.51.100.1", clock(), rules).username


def test_the_throttles_defaults_are_the_settings_defaults():
    assert service.Throttle() == service.Throttle.of(Settings(_env_file=None))
