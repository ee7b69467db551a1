"""Uploader against the real app served by uvicorn: deletions, duplicates, rejections, outages, bad keys."""
import logging
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import uvicorn
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session, select

from canteen.scale_driver.backoff import Backoff
from canteen.scale_driver.outbox import Outbox
from canteen.scale_driver.segmenter import Event
from canteen.scale_driver.uploader import (
    MAX_RETRY_AFTER_S,
    Attempt,
    Outcome,
    Uploader,
    retry_after_s,
    status_header,
)
from canteen.weighing.models import PlateWeighing

FAST = dict(initial_s=0.02, cap_s=0.1)


@pytest.fixture
def reserved_socket() -> Iterator[socket.socket]:
    """A bound port that refuses connections until the app is served on it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    yield sock
    sock.close()


@pytest.fixture
def server_url(reserved_socket) -> str:
    return f"http://127.0.0.1:{reserved_socket.getsockname()[1]}"


@pytest.fixture
def serve(app, reserved_socket) -> Iterator[Callable[[], None]]:
    """Starts the test app (tests/conftest.py: SQLite or PostgreSQL, the test clock) on the reserved port."""
    running: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start() -> None:
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [reserved_socket]}, daemon=True)
        thread.start()
        running.append((server, thread))
        deadline = time.monotonic() + 15
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the app did not start"
            time.sleep(0.01)

    yield start
    for server, thread in running:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def fixed_status_server() -> Iterator[Callable[..., str]]:
    """A real HTTP server answering every POST with one status, like a proxy in front of an app that is down.

    `headers` may be a function of the time of the request (for headers that carry a date); each POST's time is
    appended to `requests`, and `arrived` is set after each."""
    servers: list[ThreadingHTTPServer] = []

    def start(status: int, headers: Callable[[datetime], dict[str, str]] = lambda now: {},
              requests: list[float] | None = None, arrived: threading.Event | None = None) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                if requests is not None:
                    requests.append(time.monotonic())
                self.send_response(status)
                for name, value in headers(datetime.now(UTC)).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()
                if arrived is not None:
                    arrived.set()

            def log_message(self, *args) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def outbox(tmp_path) -> Iterator[Outbox]:
    box = Outbox(tmp_path / "outbox.sqlite3", first_seq=1)
    yield box
    box.close()


def fill(outbox: Outbox, clock, grams: list[int]) -> list[int]:
    return [outbox.append(Event(clock() - timedelta(minutes=30, seconds=index), value))
            for index, value in enumerate(grams)]


def stored(engine) -> list[tuple[int, int]]:
    with Session(engine) as session:
        rows = session.exec(select(PlateWeighing).order_by(PlateWeighing.seq)).all()
    return [(row.seq, row.grams) for row in rows]


def uploader_for(outbox: Outbox, url: str, key: str, **options) -> Uploader:
    options.setdefault("backoff", Backoff(**FAST, rng=random.Random(1)))
    return Uploader(outbox, url, key, idle_s=0.05, **options)


def run_until(uploader: Uploader, done: Callable[[], bool], timeout_s: float = 15) -> None:
    stop = threading.Event()
    thread = threading.Thread(target=uploader.run, args=(stop,))
    thread.start()
    try:
        deadline = time.monotonic() + timeout_s
        while not done():
            assert time.monotonic() < deadline, f"gave up waiting; last attempt: {uploader.last}"
            time.sleep(0.02)
    finally:
        stop.set()
        uploader.notify()
        thread.join(timeout=5)
    assert not thread.is_alive()


def test_accepted_events_leave_the_outbox(serve, server_url, outbox, org, clock, engine):
    serve()
    fill(outbox, clock, [120, 0, 35])
    attempt = uploader_for(outbox, server_url, org.station_keys["a"]).upload_once()
    assert (attempt.outcome, attempt.accepted, attempt.duplicate, attempt.rejected) == (Outcome.sent, 3, 0, 0)
    assert outbox.depth() == 0
    assert stored(engine) == [(1, 120), (2, 0), (3, 35)]
    with Session(engine) as session:
        first = session.exec(select(PlateWeighing).where(PlateWeighing.seq == 1)).one()
    assert first.measured_at == clock() - timedelta(minutes=30)


def test_events_the_server_already_has_are_duplicates_and_leave_the_outbox(serve, server_url, outbox, org,
                                                                          clock, engine):
    """As after a crash between the server's answer and the local delete."""
    serve()
    fill(outbox, clock, [50, 60])
    earlier = {"items": [{"seq": 1, "measured_at": (clock() - timedelta(minutes=30)).isoformat(), "grams": 50}]}
    httpx.post(f"{server_url}/api/v1/weighings", json=earlier,
               headers={"Authorization": f"Bearer {org.station_keys['a']}"}).raise_for_status()
    attempt = uploader_for(outbox, server_url, org.station_keys["a"]).upload_once()
    assert (attempt.accepted, attempt.duplicate) == (1, 1)
    assert outbox.depth() == 0 and stored(engine) == [(1, 50), (2, 60)]


def test_rejected_events_are_moved_aside_and_the_rest_go_through(serve, server_url, outbox, org, clock, engine,
                                                                caplog):
    serve()
    fill(outbox, clock, [80, -4, 30_001, 15])
    outbox.append(Event(clock() - timedelta(days=40), 25))
    with caplog.at_level(logging.WARNING):
        attempt = uploader_for(outbox, server_url, org.station_keys["a"]).upload_once()
    assert (attempt.accepted, attempt.rejected) == (2, 3)
    assert outbox.depth() == 0
    assert [(r.item.seq, r.field) for r in outbox.rejected()] == [(2, "grams"), (3, "grams"), (5, "measured_at")]
    assert all(r.reason for r in outbox.rejected())
    assert stored(engine) == [(1, 80), (4, 15)]
    assert "rejected event 2 (-4 g" in caplog.text


def test_server_down_is_retried_until_it_comes_back_without_loss(serve, server_url, outbox, org, clock, engine):
    fill(outbox, clock, list(range(10, 260, 10)))
    uploader = uploader_for(outbox, server_url, org.station_keys["a"], batch_size=10)
    run_until(uploader, lambda: uploader.last is not None and uploader.backoff.failures >= 3)
    assert uploader.last.outcome is Outcome.unavailable and outbox.depth() == 25
    serve()
    run_until(uploader, lambda: outbox.depth() == 0)
    assert stored(engine) == [(seq, seq * 10) for seq in range(1, 26)]


def test_events_appended_while_running_are_sent_in_batches(serve, server_url, outbox, org, clock, engine):
    serve()
    uploader = uploader_for(outbox, server_url, org.station_keys["a"], batch_size=100)
    stop = threading.Event()
    thread = threading.Thread(target=uploader.run, args=(stop,))
    thread.start()
    fill(outbox, clock, [5] * 250)
    uploader.notify()
    deadline = time.monotonic() + 15
    while len(stored(engine)) < 250 and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    uploader.notify()
    thread.join(timeout=5)
    assert [seq for seq, _ in stored(engine)] == list(range(1, 251))
    assert outbox.depth() == 0


def test_refused_key_deletes_nothing_logs_an_error_and_backs_off(serve, server_url, outbox, org, clock, engine,
                                                                caplog):
    serve()
    fill(outbox, clock, [40, 50])
    uploader = uploader_for(outbox, server_url, "stk_not-a-real-key",
                            backoff=Backoff(initial_s=0.1, cap_s=0.4, rng=random.Random(1)))
    with caplog.at_level(logging.ERROR):
        started = time.monotonic()
        run_until(uploader, lambda: time.monotonic() - started > 0.8)
    refusals = [record for record in caplog.records if "refused the station key" in record.message]
    assert 2 <= len(refusals) <= 6  # about 0.1 + 0.2 + 0.4 s of waiting, not a tight loop
    assert all(record.levelno == logging.ERROR for record in refusals)
    assert uploader.last.outcome is Outcome.unauthorized
    assert outbox.depth() == 2 and stored(engine) == []
    assert outbox.rejected() == []


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_server_errors_delete_nothing(fixed_status_server, outbox, clock, status):
    fill(outbox, clock, [40])
    attempt = uploader_for(outbox, fixed_status_server(status), "stk_x").upload_once()
    assert (attempt.outcome, attempt.detail) == (Outcome.unavailable, f"HTTP {status}")
    assert outbox.depth() == 1


def test_a_proxy_refusing_large_bodies_makes_batches_smaller(fixed_status_server, outbox, clock):
    fill(outbox, clock, [40])
    uploader = uploader_for(outbox, fixed_status_server(413), "stk_x", batch_size=100)
    assert uploader.upload_once().outcome is Outcome.refused
    assert uploader.batch_size == 50 and outbox.depth() == 1


def test_a_server_that_never_answers_times_out(outbox, clock):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    fill(outbox, clock, [40])
    uploader = uploader_for(outbox, f"http://127.0.0.1:{silent.getsockname()[1]}", "stk_x", timeout_s=0.2)
    try:
        assert uploader.upload_once().outcome is Outcome.unavailable
    finally:
        silent.close()
    assert outbox.depth() == 1


def test_empty_outbox_is_idle_and_keeps_the_last_real_attempt(outbox, clock):
    uploader = uploader_for(outbox, "http://127.0.0.1:9", "stk_x")
    assert uploader.upload_once().outcome is Outcome.idle
    assert uploader.last is None


def test_batch_size_is_limited_to_what_the_server_takes(outbox):
    with pytest.raises(ValueError):
        Uploader(outbox, "http://127.0.0.1:9", "stk_x", batch_size=1001)


def test_attempt_describes_itself():
    sent = Attempt(Outcome.sent, datetime.now(UTC), accepted=3, duplicate=1, rejected=0)
    assert sent.describe() == "sent (3 accepted, 1 duplicate, 0 rejected)"
    assert Attempt(Outcome.unavailable, datetime.now(UTC), detail="HTTP 503").describe() == "unavailable (HTTP 503)"


@pytest.mark.parametrize(("value", "seconds"), [
    ("120", 120.0),
    ("0", 0.0),
    (" 7 ", 7.0),
    ("Wed, 21 Oct 2015 07:28:00 GMT", 30.0),  # IMF-fixdate, 30 s after "now" below
    ("Wednesday, 21-Oct-15 07:28:00 GMT", 30.0),  # the obsolete RFC 850 form
    ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),  # already past: no wait
    ("soon", None),
    ("-5", None),
    ("", None),
    (None, None),
])
def test_retry_after_is_seconds_or_an_http_date(value: str | None, seconds: float | None) -> None:
    now = datetime(2015, 10, 21, 7, 27, 30, tzinfo=UTC)
    assert retry_after_s(value, now) == seconds


def gaps_between_requests(server: Callable[..., str], outbox: Outbox, status: int,
                          headers: Callable[[datetime], dict[str, str]], **options) -> float:
    """Real seconds between the first and the second upload attempt of a running uploader."""
    requests: list[float] = []
    arrived = threading.Event()
    url = server(status, headers, requests, arrived)
    uploader = uploader_for(outbox, url, "stk_x", **options)
    stop = threading.Event()
    thread = threading.Thread(target=uploader.run, args=(stop,))
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while len(requests) < 2:
            assert arrived.wait(max(0.0, deadline - time.monotonic())), "the uploader did not try again"
            arrived.clear()
    finally:
        stop.set()
        thread.join(timeout=5)
    assert not thread.is_alive() and outbox.depth() == 1
    return requests[1] - requests[0]


@pytest.mark.parametrize("status", [503, 429])
def test_retry_after_in_seconds_is_waited_for(fixed_status_server, outbox, clock, status):
    fill(outbox, clock, [40])
    # the backoff alone would try again within 0.02 s
    assert 1.0 <= gaps_between_requests(fixed_status_server, outbox, status, lambda now: {"Retry-After": "1"}) < 5


def test_retry_after_as_a_date_counts_from_the_servers_date(fixed_status_server, outbox, clock):
    """The gateway's own clock is a day off here: the wait is measured from the answer's Date header."""
    fill(outbox, clock, [40])

    def headers(now: datetime) -> dict[str, str]:
        now = now.replace(microsecond=0)
        return {"Date": format_datetime(now, usegmt=True),
                "Retry-After": format_datetime(now + timedelta(seconds=2), usegmt=True)}

    gap = gaps_between_requests(fixed_status_server, outbox, 503, headers,
                                clock=lambda: datetime.now(UTC) - timedelta(days=1))
    assert 2.0 <= gap < 6


def test_a_huge_retry_after_is_capped(fixed_status_server, outbox, clock):
    fill(outbox, clock, [40])
    gap = gaps_between_requests(fixed_status_server, outbox, 503, lambda now: {"Retry-After": "86400"},
                                max_retry_after_s=0.5)
    assert 0.5 <= gap < 3
    assert MAX_RETRY_AFTER_S == 600


def test_retry_after_is_ignored_on_other_errors_and_when_unreadable(fixed_status_server, outbox, clock):
    fill(outbox, clock, [40])
    uploader = uploader_for(outbox, fixed_status_server(500, lambda now: {"Retry-After": "60"}), "stk_x")
    assert uploader.upload_once().retry_after_s is None
    uploader = uploader_for(outbox, fixed_status_server(503, lambda now: {"Retry-After": "later"}), "stk_x")
    attempt = uploader.upload_once()
    assert (attempt.outcome, attempt.retry_after_s) == (Outcome.unavailable, None)
    assert uploader.delay_after(attempt) <= FAST["initial_s"]
    uploader = uploader_for(outbox, fixed_status_server(429, lambda now: {"Retry-After": "3"}), "stk_x")
    attempt = uploader.upload_once()
    assert attempt.retry_after_s == 3.0 and uploader.delay_after(attempt) == 3.0


def gateway_gauge(server_url: str, name: str, station: int) -> float | None:
    text = httpx.get(f"{server_url}/metrics", timeout=10).text  # the test server is on loopback: it may read them
    return next((sample.value for family in text_string_to_metric_families(text) for sample in family.samples
                 if sample.name == name and sample.labels == {"station": str(station)}), None)


def test_each_batch_reports_the_gateways_status_to_the_servers_metrics(serve, server_url, outbox, org, clock):
    serve()
    fill(outbox, clock, [120, 0, 35, 40, 50])
    uploader = uploader_for(outbox, server_url, org.station_keys["a"], batch_size=2,
                            report=lambda: {"at_risk": 4, "lost": 1})
    assert uploader.upload_once().outcome is Outcome.sent  # 5 events waited as this batch of 2 left
    station = org.stations["a"]
    assert gateway_gauge(server_url, "canteen_gateway_outbox_depth", station) == 5
    assert gateway_gauge(server_url, "canteen_gateway_at_risk_events", station) == 4
    assert gateway_gauge(server_url, "canteen_gateway_lost_events", station) == 1
    assert uploader.upload_once().outcome is Outcome.sent
    assert gateway_gauge(server_url, "canteen_gateway_outbox_depth", station) == 3


def test_status_header_lists_the_counts():
    assert status_header({"outbox": 12, "at_risk": 0, "lost": 3}) == "outbox=12, at_risk=0, lost=3"
