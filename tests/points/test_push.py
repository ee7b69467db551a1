"""The push to a bureau's webhook, against a real HTTP receiver on 127.0.0.1 that checks every batch's signature
and counts the rows: refused batches are retried after 5, then 10 minutes (the clock is moved, nothing sleeps),
a row acknowledged is never sent again, not by a second run, not by two runs at once."""
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlmodel import Session, select

from canteen import db
from canteen.access import SYSTEM
from canteen.jobs import service as jobs
from canteen.points import push
from canteen.points.models import PointsDelivery, PointsPreference
from tests.points.test_export import assert_refused, run, seed_points

SECRET = "s3cret-shared-with-the-platform"


class Receiver(ThreadingHTTPServer):
    """A points platform: answers the next statuses queued (then 200), 401 to a batch whose signature or timestamp
    is wrong; keeps every batch it got and the rows of those it acknowledged."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.statuses: list[int] = []
        self.batches: list[dict] = []
        self.acknowledged: list[dict] = []
        self.refused_signatures = 0
        self.expected_timestamp = ""
        self.delay_s = 0.0
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/points"


class Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        timestamp = self.headers["X-Canteen-Timestamp"]
        expected = "sha256=" + hmac.new(SECRET.encode(), f"{timestamp}.".encode() + raw, hashlib.sha256).hexdigest()
        time.sleep(self.server.delay_s)
        with self.server.lock:
            if not hmac.compare_digest(expected, self.headers["X-Canteen-Signature"]) \
                    or timestamp != self.server.expected_timestamp:
                self.server.refused_signatures += 1
                status = 401
            else:
                batch = json.loads(raw)
                self.server.batches.append(batch)
                status = self.server.statuses.pop(0) if self.server.statuses else 200
                if status == 200:
                    self.server.acknowledged.extend(batch["rows"])
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def receiver(clock) -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def seeded(engine, org):
    return seed_points(engine, org)


def hook(database_url, receiver, bureau: int) -> None:
    result = run(database_url, "points", "webhook", "set", "--bureau", str(bureau), "--url", receiver.url,
                 "--secret", SECRET)
    assert result.exit_code == 0, result.stderr


def push_job(engine, clock, receiver) -> str:
    receiver.expected_timestamp = str(int(clock().timestamp()))
    result = jobs.run(engine, "points-push", clock)
    assert result is not None
    return result


def deliveries(engine) -> list[PointsDelivery]:
    with Session(engine) as session:
        return list(session.exec(select(PointsDelivery).order_by(PointsDelivery.service_date)))


def pushable_keys(org, seeded) -> list[str]:
    """At 10:00 on 23 November in Shanghai: the days that are over, of diners with an account id (A's and B's;
    H has none), within 31 days; today's and December's are not pushed."""
    a, b, p, c1 = seeded.diners["a"], seeded.diners["b"], seeded.rules["p"], seeded.rules["c1"]
    return [f"{a}:2026-10-31:{p}", f"{a}:2026-11-02:{p}", f"{b}:2026-11-02:{p}", f"{a}:2026-11-16:{c1}"]


def test_refused_batches_are_retried_with_backoff_and_each_row_acknowledged_once(
        database_url, engine, org, seeded, clock, receiver):
    hook(database_url, receiver, org.province)
    receiver.statuses = [500, 500]
    assert push_job(engine, clock, receiver) == "0 diner-days acknowledged by 1 points platforms, 1 batches to retry"
    assert [(d.attempts, d.next_attempt_at, d.delivered_at, d.last_error) for d in deliveries(engine)] == \
        [(1, clock() + timedelta(minutes=5), None, "HTTP 500")] * 4
    assert push_job(engine, clock, receiver).startswith("0 diner-days acknowledged")  # not due: nothing sent
    assert len(receiver.batches) == 1

    clock.advance(minutes=5)
    assert push_job(engine, clock, receiver).endswith("1 batches to retry")
    assert {(d.attempts, d.next_attempt_at) for d in deliveries(engine)} == {(2, clock() + timedelta(minutes=10))}
    clock.advance(minutes=9, seconds=59)
    push_job(engine, clock, receiver)
    assert len(receiver.batches) == 2

    clock.advance(seconds=1)
    assert push_job(engine, clock, receiver) == "4 diner-days acknowledged by 1 points platforms, 0 batches to retry"
    assert [row["key"] for row in receiver.acknowledged] == pushable_keys(org, seeded)
    assert {(d.attempts, d.delivered_at, d.last_error) for d in deliveries(engine)} == {(3, clock(), "")}

    clock.advance(hours=1)
    assert push_job(engine, clock, receiver).startswith("0 diner-days acknowledged")  # a second run sends nothing
    assert len(receiver.batches) == 3 and len(receiver.acknowledged) == 4 and receiver.refused_signatures == 0


def test_a_day_that_ends_later_goes_in_a_later_run(database_url, engine, org, seeded, clock, receiver):
    hook(database_url, receiver, org.province)
    push_job(engine, clock, receiver)
    clock.advance(days=1)
    push_job(engine, clock, receiver)
    a, c1 = seeded.diners["a"], seeded.rules["c1"]
    assert [row["key"] for row in receiver.acknowledged] == [*pushable_keys(org, seeded), f"{a}:2026-11-23:{c1}"]


def test_a_batch_carries_the_rows_as_the_export_does(database_url, engine, org, seeded, clock, receiver):
    hook(database_url, receiver, org.k2)
    push_job(engine, clock, receiver)
    [batch] = receiver.batches
    b, p = seeded.diners["b"], seeded.rules["p"]
    assert batch["bureau_id"] == org.k2 and len(batch["batch_id"]) == 32
    assert batch["rows"] == [{"key": f"{b}:2026-11-02:{p}", "diner_id": b, "external_id": '绿宝,"b"',
                              "canteen_id": org.canteens["b"], "canteen": "食堂B", "date": "2026-11-02",
                              "plates": 1, "clean_plates": 1, "points": 10, "rule_id": p}]


def test_rows_go_in_batches(database_url, engine, org, seeded, clock, receiver, monkeypatch):
    monkeypatch.setattr(push, "BATCH_SIZE", 3)
    hook(database_url, receiver, org.province)
    receiver.statuses = [200, 500]  # the second batch refused: its row waits, the first batch's stay acknowledged
    assert push_job(engine, clock, receiver).startswith("3 diner-days acknowledged")
    assert [len(batch["rows"]) for batch in receiver.batches] == [3, 1]
    clock.advance(minutes=5)
    push_job(engine, clock, receiver)
    assert [len(batch["rows"]) for batch in receiver.batches] == [3, 1, 1]
    assert [row["key"] for row in receiver.acknowledged] == pushable_keys(org, seeded)


def test_two_runs_at_once_send_each_row_once(database_url, engine, org, seeded, clock, receiver, monkeypatch):
    monkeypatch.setattr(push, "BATCH_SIZE", 1)
    hook(database_url, receiver, org.province)
    receiver.expected_timestamp = str(int(clock().timestamp()))
    receiver.delay_s = 0.05  # each batch takes a while, so the two runs overlap
    outcomes = []

    def run_push() -> None:
        with Session(engine) as session:
            outcomes.append(push.push_due(session, clock()))

    threads = [threading.Thread(target=run_push) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    keys = [row["key"] for row in receiver.acknowledged]
    assert sorted(keys) == sorted(pushable_keys(org, seeded)) and len(receiver.batches) == 4
    assert sum(outcome.sent for outcome in outcomes) == 4
    with Session(engine) as session:
        assert push.push_due(session, clock()).sent == 0


def test_an_unreachable_platform_is_retried(database_url, engine, org, seeded, clock, receiver):
    with db.session_scope(engine) as session:
        push.set_webhook(session, SYSTEM, org.province, "http://127.0.0.1:9/nothing-listens", SECRET, clock())
    assert push_job(engine, clock, receiver).endswith("1 batches to retry")
    assert {d.last_error.startswith("ConnectError") for d in deliveries(engine)} == {True}
    hook(database_url, receiver, org.province)
    clock.advance(minutes=5)
    assert push_job(engine, clock, receiver).startswith("4 diner-days acknowledged")


def test_opted_out_diners_and_diners_without_an_account_id_are_not_pushed(
        database_url, engine, org, seeded, clock, receiver):
    with db.session_scope(engine) as session:
        session.get(PointsPreference, seeded.diners["a"]).export = False
        session.add(PointsPreference(user_id=seeded.diners["h"], external_id="H-1", updated_at=clock()))
    hook(database_url, receiver, org.province)
    push_job(engine, clock, receiver)
    b, h, p = seeded.diners["b"], seeded.diners["h"], seeded.rules["p"]
    # H set an account id: their day waited for it, and goes now.
    assert [row["key"] for row in receiver.acknowledged] == [f"{b}:2026-11-02:{p}", f"{h}:2026-11-03:{p}"]


def test_a_disabled_webhook_gets_nothing(database_url, engine, org, seeded, clock, receiver):
    hook(database_url, receiver, org.province)
    assert run(database_url, "points", "webhook", "disable", "--bureau", str(org.province)).exit_code == 0
    assert push_job(engine, clock, receiver) == "0 diner-days acknowledged by 0 points platforms, 0 batches to retry"
    assert receiver.batches == []


def test_the_signature_is_the_hmac_of_the_timestamp_and_the_raw_body():
    body = b'{"rows":[]}'
    assert push.signature("k" * 16, "1795000000", body) == \
        "sha256=" + hmac.new(b"k" * 16, b"1795000000." + body, hashlib.sha256).hexdigest()
    assert push.signature("k" * 16, "1795000001", body) != push.signature("k" * 16, "1795000000", body)


def test_the_delay_doubles_from_five_minutes_up_to_six_hours():
    assert [push.retry_delay(n) for n in (1, 2, 3, 7, 8, 10_000)] == [
        timedelta(minutes=5), timedelta(minutes=10), timedelta(minutes=20), timedelta(minutes=320),
        timedelta(hours=6), timedelta(hours=6)]


@pytest.mark.parametrize(("args", "expected"), [
    (["--bureau", "999999", "--url", "https://platform.example/points", "--secret", SECRET], "bureau 999999 not found"),
    (["--bureau", "{p}", "--url", "http://platform.example/points", "--secret", SECRET], "https://"),
    (["--bureau", "{p}", "--url", "ftp://platform.example/points", "--secret", SECRET], "https://"),
    (["--bureau", "{p}", "--url", "https://user:pw@platform.example/", "--secret", SECRET], "https://"),
    (["--bureau", "{p}", "--url", "https://platform.example:99999/", "--secret", SECRET], "https://"),
    (["--bureau", "{p}", "--url", "https://platform.example/" + "x" * 500, "--secret", SECRET], "https://"),
    (["--bureau", "{p}", "--url", "https:///points", "--secret", SECRET], "https://"),
    (["--bureau", "{p}", "--url", "https://platform.example/", "--secret", "short"], "16 to 128"),
    (["--bureau", "{p}", "--url", "https://platform.example/", "--secret", "x" * 129], "16 to 128"),
    (["--bureau", "{p}", "--url", "https://platform.example/", "--secret", "密钥" * 10], "16 to 128"),
])
def test_a_bad_webhook_is_one_error_line(database_url, org, args, expected):
    assert_refused(run(database_url, "points", "webhook", "set", *[arg.format(p=org.province) for arg in args]),
                   expected)


def test_the_secret_can_come_from_standard_input(database_url, engine, org):
    result = run(database_url, "points", "webhook", "set", "--bureau", str(org.province), "--url",
                 "https://platform.example/points", input=SECRET + "\n")
    assert result.exit_code == 0, result.stderr
    assert SECRET not in result.stdout
    with Session(engine) as session:
        stored = session.get(push.PointsWebhook, org.province)
    assert (stored.url, stored.secret, stored.active) == ("https://platform.example/points", SECRET, True)


def test_disabling_a_bureau_without_a_webhook_is_one_error_line(database_url, org):
    assert_refused(run(database_url, "points", "webhook", "disable", "--bureau", str(org.province)), "no webhook")



def test_rows_of_a_run_that_died_mid_batch_go_again_once_its_lease_is_over(
        database_url, engine, org, seeded, clock, receiver):
    hook(database_url, receiver, org.province)

    def power_cut(url: str, body: bytes, headers: dict[str, str]) -> int:
        raise RuntimeError("power cut")

    with Session(engine) as session, pytest.raises(RuntimeError):
        push.push_due(session, clock(), send=power_cut)
    assert push_job(engine, clock, receiver).startswith("0 diner-days acknowledged")  # still the dead run's
    clock.advance(minutes=10)
    assert push_job(engine, clock, receiver).startswith("4 diner-days acknowledged")
    assert {d.attempts for d in deliveries(engine)} == {2}
