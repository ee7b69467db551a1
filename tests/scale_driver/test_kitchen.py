"""The gateway's kitchen mode: bins of waste set on a real pty's scale become kitchen weighings awaiting
classification, and the scale's live weight goes to the terminal while it moves.

Live readings are checked against a tiny HTTP receiver (http.server in a thread) that counts what arrives, and
against the real app's endpoint; a server that never answers must not hold up reading, segmenting or the outbox.
"""
import json
import logging
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlmodel import Session, select

from canteen import db
from canteen.access import SYSTEM
from canteen.kitchen.terminal.models import StationReading
from canteen.org import service as org_service
from canteen.org.models import StationCreate, StationKind
from canteen.scale_driver.backoff import Backoff
from canteen.scale_driver.gateway import Gateway, GatewayConfig
from canteen.scale_driver.outbox import Outbox
from canteen.scale_driver.protocols import Reading
from canteen.scale_driver.segmenter import Mode, SegmenterConfig
from canteen.weighing.models import KitchenCategory, KitchenWaste
from tests.scale_driver.test_gateway import (
    FRAME_S,
    GATEWAY_MAIN,
    PROTOCOL,
    TARE,
    WINDOW_S,
    GatewayProcess,
    Indicator,
    appended,
    served,
    wait_for,
)

KITCHEN = SegmenterConfig(mode=Mode.kitchen, stable_window_s=WINDOW_S, tolerance_g=3, tare_g=TARE)
READING_PATH = "/api/v1/stations/me/reading"


@pytest.fixture
def clock() -> Callable[[], datetime]:
    return lambda: datetime.now(UTC)


@pytest.fixture
def server_url(app) -> Iterator[str]:
    with served(app) as url:
        yield url


@pytest.fixture
def indicator() -> Iterator[Indicator]:
    scale = Indicator()
    yield scale
    scale.close()


@pytest.fixture
def kitchen_key(org, engine) -> str:
    """A kitchen station's key in canteen A."""
    with db.session_scope(engine) as session:
        _, key = org_service.create_station(session, SYSTEM, StationCreate(
            canteen_id=org.canteens["a"], name="后厨称重台", kind=StationKind.kitchen, protocol=PROTOCOL))
    return key


def weighings(engine) -> list[tuple[int, int, KitchenCategory]]:
    with Session(engine) as session:
        rows = session.exec(select(KitchenWaste).order_by(KitchenWaste.seq)).all()
    return [(row.seq, row.grams, row.category) for row in rows]


def reading(engine) -> tuple[int | None, bool] | None:
    """The kitchen station's live reading as the server keeps it (one row a station)."""
    with Session(engine) as session:
        row = session.exec(select(StationReading)).first()
    return None if row is None else (row.grams, row.stable)


@dataclass(frozen=True)
class Received:
    at: float  # time.monotonic() when it arrived
    path: str
    authorization: str | None
    body: dict


class Receiver:
    """A real HTTP server on a free port, standing in for the canteen server: it keeps every request, answers
    live readings 204 and weighings as all accepted."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.requests.append(Received(time.monotonic(), self.path, self.headers["Authorization"], body))
                if self.path == READING_PATH:
                    self.send_response(204)
                    self.end_headers()
                    return
                answer = json.dumps({"results": [{"index": index, "seq": item["seq"], "status": "accepted"}
                                                 for index, item in enumerate(body["items"])]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def readings(self) -> list[Received]:
        return [request for request in self.requests if request.path == READING_PATH]

    def items(self) -> list[dict]:
        return [item for request in self.requests if request.path == "/api/v1/weighings"
                for item in request.body["items"]]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    receiver.thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


class Running:
    """A gateway in a thread of the test, stopped (and checked to stop) at the end."""

    def __init__(self, config: GatewayConfig) -> None:
        self.gateway = Gateway(config, upload_backoff=Backoff(initial_s=0.05, cap_s=0.2))
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.gateway.run, args=(self.stop,))

    def __enter__(self) -> Gateway:
        self.thread.start()
        return self.gateway

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
        assert not self.thread.is_alive(), "the gateway did not stop"


def kitchen_config(indicator: Indicator, server: str, key: str, outbox: Path, **changes: object) -> GatewayConfig:
    return GatewayConfig(**{"port": indicator.port, "protocol": PROTOCOL, "server": server, "station_key": key,
                            "outbox": outbox, "segmenter": KITCHEN, "status_every_s": 0.3, **changes})


def scrape(indicator: Indicator, start: int, end: int, seconds: float) -> None:
    """Waste scraped into the bin on the scale: the weight moves all the while, never stable."""
    steps = round(seconds / FRAME_S)
    for step in range(1, steps + 1):
        indicator.send(Reading(start + (end - start) * step // steps, stable=False))


def test_each_bin_is_one_weighing_awaiting_classification(indicator, server_url, kitchen_key, engine, tmp_path):
    waste = [2500, 640, 15_000]
    with Running(kitchen_config(indicator, server_url, kitchen_key, tmp_path / "outbox.sqlite3")) as gateway:
        indicator.hold(0, 0.3)
        indicator.move(0, TARE + 1000)
        scrape(indicator, TARE + 1000, TARE + waste[0], 0.3)  # more scraped in before it rests: one weighing
        indicator.hold(TARE + waste[0], 3 * WINDOW_S)
        indicator.lift(TARE + waste[0])
        for grams in waste[1:]:
            indicator.place(TARE + grams)
        wait_for(lambda: len(weighings(engine)) == len(waste), what="the kitchen weighings")
        wait_for(lambda: reading(engine) == (0, True), what="the empty scale's live reading on the server")
    rows = weighings(engine)
    assert [grams for _, grams, _ in rows] == waste
    assert {category for _, _, category in rows} == {KitchenCategory.unclassified}  # sent without a category
    assert gateway.live is not None and gateway.live.sent >= 4 and gateway.live.failed == 0  # each taken (204)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_kill_9_and_restart_in_kitchen_mode_loses_nothing_and_counts_nothing_twice(indicator, server_url,
                                                                                   kitchen_key, engine, tmp_path):
    """As tests/scale_driver/test_gateway.py's test for tray mode; every other start is `canteen-gateway`."""
    outbox = tmp_path / "outbox.sqlite3"
    starts = 0

    def start() -> GatewayProcess:
        nonlocal starts
        starts += 1
        command = ("-m", "canteen.scale_driver.gateway_main") if starts % 2 == 0 else ("-c", GATEWAY_MAIN)
        return GatewayProcess(indicator.port, server_url, kitchen_key, outbox, "--mode", "kitchen", command=command)

    gateway = start()
    indicator.hold(0, 0.3)
    first_seq = appended(outbox)
    waste = [1800, 520, 7300, 960, 12_400]
    try:
        for index, grams in enumerate(waste):
            indicator.move(0, TARE + grams)
            deadline = time.monotonic() + 10
            while appended(outbox) == first_seq + index:  # keep the bin on until the event is in the outbox
                assert time.monotonic() < deadline, f"no event for bin {index}"
                indicator.hold(TARE + grams, FRAME_S)
            if index % 2 == 0:  # kill while the upload of that event is starting, in flight or just done
                time.sleep(0.01 * index)
                gateway.process.send_signal(signal.SIGKILL)
                gateway.process.wait(timeout=10)
                gateway = start()
                indicator.hold(TARE + grams, 4 * WINDOW_S)  # the restarted gateway sees the same bin settle
            indicator.lift(TARE + grams)
        wait_for(lambda: len(weighings(engine)) >= len(waste), what="the kitchen weighings")
        gateway.process.send_signal(signal.SIGTERM)
        assert gateway.process.wait(timeout=10) == 0
    finally:
        if gateway.process.poll() is None:
            gateway.process.kill()
    rows = weighings(engine)
    assert [grams for _, grams, _ in rows] == waste
    assert [seq for seq, _, _ in rows] == list(range(first_seq, first_seq + len(waste)))
    assert {category for _, _, category in rows} == {KitchenCategory.unclassified}
    with closing(sqlite3.connect(outbox)) as connection:
        assert connection.execute("SELECT count(*) FROM event").fetchone() == (0,)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_simulated_kitchen_scale_and_staff_weigh_and_classify_through_the_gateway(server_url, kitchen_key, engine,
                                                                                    tmp_path):
    """hardware_sim's kitchen scale on a pty -> the gateway in kitchen mode -> the app <- hardware_sim's staff."""
    scale_truth, staff_truth = tmp_path / "scale.jsonl", tmp_path / "staff.jsonl"
    scale = subprocess.Popen(
        [sys.executable, "-m", "hardware_sim", "scale", "--protocol", PROTOCOL, "--pty", "--mode", "kitchen",
         "--bins", "5", "--meal-minutes", "1", "--seed", "6", "--tare-g", "1200", "--tare-spread-g", "0",
         "--noise-g", "0", "--speed", "20", "--truth", str(scale_truth), "--wait-client"],
        stdout=subprocess.PIPE, text=True)
    staff = subprocess.Popen(
        [sys.executable, "-m", "hardware_sim", "staff", "--server", server_url, "--react-min", "0", "--react-max",
         "0.5", "--poll-every", "1", "--seed", "2", "--truth", str(staff_truth)],
        env={**os.environ, "CANTEEN_STATION_KEY": kitchen_key}, stderr=subprocess.DEVNULL)
    gateway = None
    try:
        port = scale.stdout.readline().strip()
        # A simulated second is 50 ms: a bin rests 150–400 ms, the indicator settles in 25 ms.
        gateway = GatewayProcess(port, server_url, kitchen_key, tmp_path / "outbox.sqlite3", "--mode", "kitchen",
                                 "--tare", "1200", "--stable-window", "0.05")
        assert scale.wait(timeout=60) == 0
        bins = [json.loads(line) for line in scale_truth.read_text().splitlines()]
        wait_for(lambda: len(weighings(engine)) == len(bins), what="the kitchen weighings")
        wait_for(lambda: staff_truth.exists() and len(staff_truth.read_text().splitlines()) == len(bins), 20,
                 "the staff to decide on every weighing")
    finally:
        for process in (staff, scale, gateway.process if gateway else None):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=10)
    assert len(bins) == 5 and [grams for _, grams, _ in weighings(engine)] == [event["grams"] for event in bins]
    decided = {decision["id"]: decision["category"] or "unclassified"
               for decision in map(json.loads, staff_truth.read_text().splitlines())}
    with Session(engine) as session:
        assert {row.id: row.category.value for row in session.exec(select(KitchenWaste))} == decided
    assert reading(engine) == (0, True)  # the terminal's last live reading: the empty scale


def test_live_readings_follow_a_moving_weight_at_most_once_a_second_and_stop_when_it_holds(indicator, receiver,
                                                                                          tmp_path):
    config = kitchen_config(indicator, receiver.url, "stk_kitchen", tmp_path / "outbox.sqlite3",
                            live_heartbeat_s=60.0)
    with Running(config) as gateway:
        indicator.hold(0, 0.3)
        wait_for(lambda: len(receiver.readings()) == 1, what="the empty scale's first reading")
        indicator.hold(0, 1.1)  # steady: nothing more
        moving = time.monotonic()
        indicator.move(0, TARE)
        scrape(indicator, TARE, TARE + 4000, 3.5)
        resting = time.monotonic()
        indicator.hold(TARE + 4000, 2)
        lifting = time.monotonic()
        indicator.lift(TARE + 4000)
        indicator.hold(0, 2)
        ended = time.monotonic()
        status = gateway.status()
    readings = receiver.readings()
    times = [reading.at for reading in readings]
    assert all(later - earlier >= 0.99 for earlier, later in zip(times, times[1:], strict=False))  # ≤ 1 a second
    assert readings[0].body["grams"] == 0 and readings[0].body["stable"] is True
    assert not [at for at in times if readings[0].at < at < moving]  # the empty scale held: nothing sent
    assert len([at for at in times if moving < at < resting]) >= 3  # about one a second while it moved
    assert all(not reading.body["stable"] for reading in readings if moving < reading.at < resting)
    # Once it rests, the reading it rests on, within a second, and then nothing while it holds.
    settled = [reading for reading in readings if resting < reading.at < lifting]
    assert settled[-1].body["grams"] == 4000 and settled[-1].body["stable"] is True
    assert settled[-1].at < resting + 1.5 and len(settled) <= 2
    emptied = [reading for reading in readings if lifting < reading.at < ended]
    assert (emptied[-1].body["grams"], emptied[-1].body["stable"]) == (0, True)  # the page ends on the empty scale
    assert emptied[-1].at < lifting + 1.5 and len(emptied) <= 2
    assert {reading.authorization for reading in readings} == {"Bearer stk_kitchen"}
    assert all(datetime.fromisoformat(reading.body["measured_at"]).utcoffset() is not None for reading in readings)
    assert set(readings[0].body) == {"grams", "stable", "measured_at"}
    [item] = receiver.items()  # the weighing went its own way, without a category
    assert item["grams"] == 4000 and "category" not in item
    assert f"live readings {len(readings)} sent / 0 failed" in status


def test_a_weight_that_holds_is_sent_again_every_heartbeat_while_the_scale_sends(indicator, receiver, tmp_path):
    config = kitchen_config(indicator, receiver.url, "stk_kitchen", tmp_path / "outbox.sqlite3",
                            live_heartbeat_s=0.5)
    with Running(config):
        indicator.hold(TARE + 700, 0.3)
        wait_for(lambda: any(reading.body["stable"] for reading in receiver.readings()), what="the stable reading")
        indicator.hold(TARE + 700, 3)
        silent = time.monotonic()
        time.sleep(2)  # the scale sends nothing (unplugged, or silent while overloaded): no more "it holds"
    readings = receiver.readings()
    times = [reading.at for reading in readings]
    assert all(later - earlier >= 0.99 for earlier, later in zip(times, times[1:], strict=False))  # still ≤ 1 a second
    held = [reading.body for reading in readings if reading.body["stable"]]
    assert len(held) >= 3 and {body["grams"] for body in held} == {700}
    assert len({body["measured_at"] for body in held}) == len(held)  # each stamped when it was sent
    assert times[-1] < silent + 0.7  # within a heartbeat of the last frame


def test_a_server_that_never_answers_holds_up_neither_segmenting_nor_the_outbox(indicator, tmp_path, caplog):
    hung = socket.create_server(("127.0.0.1", 0), backlog=64)  # connections are taken, never answered
    outbox = tmp_path / "outbox.sqlite3"
    config = kitchen_config(indicator, f"http://127.0.0.1:{hung.getsockname()[1]}", "stk_kitchen", outbox,
                            status_every_s=0.5)
    waste = [1500, 300, 4200]
    try:
        with caplog.at_level(logging.INFO, logger="canteen.scale_driver"), Running(config) as gateway:
            indicator.hold(0, 0.3)
            first_seq = appended(outbox)
            for index, grams in enumerate(waste):
                placed = time.monotonic()
                indicator.move(0, TARE + grams)
                scrape(indicator, TARE + grams // 2, TARE + grams, 0.8)  # live readings due all the while
                indicator.hold(TARE + grams, 3 * WINDOW_S)
                # Stored as the bin rests, however long the live readings and the uploads wait for an answer.
                wait_for(lambda count=index + 1: appended(outbox) == first_seq + count, 2, "the event in the outbox")
                assert time.monotonic() - placed < 4
                indicator.lift(TARE + grams)
            wait_for(lambda: gateway.live is not None and gateway.live.failed >= 1, what="live readings timing out")
            status = gateway.status()
            hung.close()  # the waiting requests end at once, so the gateway stops without waiting out a timeout
    finally:
        hung.close()
    box = Outbox(outbox)
    try:
        assert [item.grams for item in box.pending(10)] == waste
    finally:
        box.close()
    assert f"/ {len(waste)} since start" in status and "live readings 0 sent /" in status
    warnings = [record.message for record in caplog.records if record.name == "canteen.scale_driver.live"]
    assert len(warnings) == 1 and "fail (ReadTimeout)" in warnings[0]  # told once, not per reading


def test_plate_return_modes_send_no_live_readings(indicator, receiver, tmp_path):
    config = kitchen_config(indicator, receiver.url, "stk_plates", tmp_path / "outbox.sqlite3",
                            segmenter=SegmenterConfig(stable_window_s=WINDOW_S, tolerance_g=3, tare_g=TARE))
    with Running(config) as gateway:
        indicator.hold(0, 0.3)
        indicator.place(TARE + 120)
        wait_for(lambda: len(receiver.items()) == 1, what="the plate")
        status = gateway.status()
    assert receiver.readings() == [] and "live readings" not in status
