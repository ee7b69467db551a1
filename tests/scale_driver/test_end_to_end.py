"""Simulator -> real pty -> gateway -> server -> rollup, with the server killed and restarted mid-run and the
gateway `kill -9`-ed once: the server's plates and grams equal the simulator's ground truth.

Every piece runs as its own process, started through its command line. The canteen's meal windows cover the
whole day, so every plate lands in a rollup whatever time of day the test runs. The simulator holds its clock
while no gateway is attached (`--hold-without-client`): a dead gateway then makes diners wait instead of
walking past unweighed, so the ground truth stays the standard to meet. Noise and tray spread are off so that
every plate's grams are exact.
"""
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from datetime import time as clock_time
from pathlib import Path

import pytest
from sqlmodel import Session, func, select

from canteen import db
from canteen.access import SYSTEM
from canteen.org import service as org_service
from canteen.org.models import BureauCreate, CanteenCreate, CanteenUpdate, Meal, StationCreate, StationKind
from canteen.scale_driver import protocols
from canteen.weighing import service as weighing_service
from canteen.weighing.models import DailyRollup, PlateWeighing
from tests.live import BIN, Server, wait_for

TARE_G = 380
SPEED = 2
DINERS = 30
MEAL_MINUTES = 1.5
# A resting tray reads stable for at least 0.5 simulated seconds; the gateway counts 0.2 of them.
STABLE_WINDOW_S = 0.2 / SPEED
WHOLE_DAY = [{"meal": Meal.breakfast, "starts": clock_time(0, 0), "ends": clock_time(8, 0)},
             {"meal": Meal.lunch, "starts": clock_time(8, 0), "ends": clock_time(16, 0)},
             {"meal": Meal.dinner, "starts": clock_time(16, 0), "ends": clock_time(23, 59)}]


@pytest.fixture
def installation(tmp_path):
    database_url = f"sqlite:///{tmp_path / 'server.db'}"
    engine = db.make_engine(database_url)
    db.upgrade(engine)
    with db.session_scope(engine) as session:
        bureau = org_service.create_bureau(session, SYSTEM, BureauCreate(name="测试局"))
        canteen = org_service.create_canteen(session, SYSTEM, CanteenCreate(bureau_id=bureau.id, name="测试食堂"),
                                             "Asia/Shanghai")
        org_service.update_canteen(session, SYSTEM, canteen.id, CanteenUpdate(meal_windows=WHOLE_DAY))
        station, key = org_service.create_station(session, SYSTEM, StationCreate(
            canteen_id=canteen.id, name="回收台", kind=StationKind.plate_return, protocol="ascii-st-gs"))
        canteen_id = canteen.id
    server = Server(database_url, tmp_path / "server.log")
    yield engine, server, key, canteen_id
    server.kill()
    engine.dispose()


EXACT = ("--tare-spread-g", "0", "--noise-g", "0")


def start_simulator(tmp_path: Path, protocol: str, *, speed: float = SPEED, diners: int = DINERS,
                    meal_minutes: float = MEAL_MINUTES, flags: tuple[str, ...] = EXACT
                    ) -> tuple[subprocess.Popen, str, Path]:
    truth = tmp_path / "truth.jsonl"
    simulator = subprocess.Popen(
        [sys.executable, "-m", "hardware_sim", "scale", "--protocol", protocol, "--pty", "--speed", str(speed),
         "--diners", str(diners), "--meal-minutes", str(meal_minutes), "--seed", "11", "--tare-g", str(TARE_G),
         "--truth", str(truth), "--wait-client", "--hold-without-client", *flags],
        stdout=subprocess.PIPE, text=True)
    return simulator, simulator.stdout.readline().strip(), truth


def start_gateway(tmp_path: Path, port: str, protocol: str, server: Server, key: str,
                  stable_window_s: float = STABLE_WINDOW_S) -> subprocess.Popen:
    log = (tmp_path / "gateway.log").open("a")
    return subprocess.Popen(
        [BIN / "canteen", "gateway", "--port", port, "--protocol", protocol, "--server", server.url,
         "--tare", str(TARE_G), "--outbox", str(tmp_path / "outbox.sqlite3"), "--stable-window", str(stable_window_s),
         "--batch-size", "5", "--status-every", "2"],
        env={**os.environ, "CANTEEN_STATION_KEY": key}, stdout=log, stderr=subprocess.STDOUT)


def stored(engine) -> tuple[int, int]:
    with Session(engine) as session:
        count, grams = session.exec(select(func.count(), func.coalesce(func.sum(PlateWeighing.grams), 0))).one()
    return count, grams


def truth_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_nothing_lost_or_doubled_across_server_and_gateway_crashes(installation, tmp_path):
    engine, server, key, canteen_id = installation
    server.start()
    simulator, pty_path, truth = start_simulator(tmp_path, "ascii-st-gs")
    gateway = start_gateway(tmp_path, pty_path, "ascii-st-gs", server, key)
    try:
        wait_for(lambda: stored(engine)[0] >= 5, 60, "the first plates on the server")

        server.kill()  # the gateway keeps weighing into its outbox while the server is down
        down_from = len(truth_lines(truth))
        wait_for(lambda: len(truth_lines(truth)) >= down_from + 5, 60, "diners while the server is down")
        server.start()

        wait_for(lambda: stored(engine)[0] >= down_from + 5, 60, "the outbox draining after the restart")
        gateway.send_signal(signal.SIGKILL)
        gateway.wait()
        gateway = start_gateway(tmp_path, pty_path, "ascii-st-gs", server, key)

        assert simulator.wait(timeout=240) == 0
        expected = truth_lines(truth)
        total = (len(expected), sum(line["grams"] for line in expected))
        wait_for(lambda: stored(engine) == total, 60, f"the server to hold the ground truth {total}")
    finally:
        for process in (gateway, simulator):
            if process.poll() is None:
                process.kill()
                process.wait()

    assert len(expected) > 20
    with Session(engine) as session:
        weighing_service.refresh_stale(session, datetime.now(UTC), canteen_id)
        session.commit()
        rollup = session.exec(select(func.sum(DailyRollup.plates), func.sum(DailyRollup.plate_waste_g))).one()
    assert tuple(rollup) == total
    assert sorted(stored_grams(engine)) == sorted(line["grams"] for line in expected)


def stored_grams(engine) -> list[int]:
    with Session(engine) as session:
        return list(session.exec(select(PlateWeighing.grams).order_by(PlateWeighing.seq)))


@pytest.mark.parametrize("protocol", protocols.names())
def test_every_protocol_with_noise_and_tray_spread(installation, tmp_path, protocol):
    """Default noise (σ 0.6 g) and trays of 380 ± 5 g: every diner counted once, grams within the spread."""
    engine, server, key, _ = installation
    server.start()
    polled = protocols.get(protocol).poll is not None
    # A polled scale answers ten times a second: the stability window must span several answers.
    speed, window_s = (1, 0.3) if polled else (2, 0.1)
    simulator, pty_path, truth = start_simulator(tmp_path, protocol, speed=speed, diners=8, meal_minutes=0.4,
                                                 flags=())
    gateway = start_gateway(tmp_path, pty_path, protocol, server, key, window_s)
    try:
        assert simulator.wait(timeout=120) == 0
        expected = [line["grams"] for line in truth_lines(truth)]
        wait_for(lambda: stored(engine)[0] >= len(expected), 30, f"{len(expected)} plates on the server")
        time.sleep(0.5)  # nothing more may arrive
    finally:
        for process in (gateway, simulator):
            if process.poll() is None:
                process.kill()
                process.wait()
    grams = stored_grams(engine)
    assert len(grams) == len(expected) > 0
    tolerance = 5 + 2  # the tray's spread plus the indicator's noise
    assert all(abs(got - want) <= tolerance for got, want in zip(grams, expected, strict=True)), (grams, expected)
