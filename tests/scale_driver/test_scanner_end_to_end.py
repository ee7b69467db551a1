"""Simulated scale and scanner on real ptys -> the gateway, `kill -9`-ed twice -> a real `canteen serve`: every plate
the simulator's diners scanned for carries their code as its diner_ref, and no plate carries anyone else's.

The simulator (one process: the scale and the scanner beside it on one simulated clock) holds its clock while the
gateway is gone (`--hold-without-client`), so a dead gateway makes diners wait instead of returning trays or
scanning unseen; its truth gives each plate its right answer (the diner's code, or none: no scan, or a scan
outside the window). The gateway is killed once while a scan waits for its tray in the outbox's pairing state,
and once while nothing waits; a tray killed while it waits for a late scan is tests/scale_driver/test_scanner.py's.
The meal (seed 28: 19 diners over 80 simulated seconds) has scans before the tray, late, twice, outside the
window and none.
"""
import json
import os
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

from sqlmodel import Session, select

from canteen.weighing.models import PlateWeighing
from tests.live import Server, wait_for
from tests.scale_driver.test_end_to_end import EXACT, TARE_G, installation  # noqa: F401 (a fixture)

SPEED = 3
BEFORE_S, AFTER_S = 18, 3  # simulated seconds; the gateway's are a third of them (a restart takes a second or two)
SIMULATOR = ["--protocol", "ascii-st-gs", "--pty", "--scanner-pty", "--speed", str(SPEED), "--diners", "16",
             "--meal-minutes", "1.2", "--seed", "28", "--tare-g", str(TARE_G), "--wait-client",
             "--hold-without-client", "--scan-share", "0.8", "--scan-twice", "0.15", "--scan-late", "0.2",
             "--scan-outside", "0.15", "--scan-before", str(BEFORE_S), "--scan-after", str(AFTER_S), *EXACT]


def start_gateway(tmp_path: Path, scale: str, scanner: str, server: Server, key: str) -> subprocess.Popen:
    log = (tmp_path / "gateway.log").open("a")
    return subprocess.Popen(
        [sys.executable, "-m", "canteen.scale_driver.gateway_cli", "--port", scale, "--protocol", "ascii-st-gs",
         "--server", server.url, "--tare", str(TARE_G), "--outbox", str(tmp_path / "outbox.sqlite3"),
         "--stable-window", str(0.2 / SPEED), "--batch-size", "5", "--status-every", "2", "--id-port", scanner,
         "--scan-before", str(BEFORE_S / SPEED), "--scan-after", str(AFTER_S / SPEED)],
        env={**os.environ, "CANTEEN_STATION_KEY": key}, stdout=log, stderr=subprocess.STDOUT)


def waiting(outbox: Path) -> dict:
    """What the pairing holds in the outbox: scans and trays waiting for each other."""
    try:
        with closing(sqlite3.connect(outbox, timeout=5)) as connection:
            row = connection.execute("SELECT value FROM state WHERE name = 'pairing'").fetchone()
    except sqlite3.OperationalError:  # not created yet
        return {}
    return json.loads(row[0]) if row else {}


def held(outbox: Path) -> int:
    with closing(sqlite3.connect(outbox, timeout=5)) as connection:
        return connection.execute("SELECT count(*) FROM event").fetchone()[0]


def stored(engine) -> list[tuple[int, str | None]]:
    with Session(engine) as session:
        rows = session.exec(select(PlateWeighing).order_by(PlateWeighing.seq)).all()
    return [(row.grams, row.diner_ref) for row in rows]


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_every_scanned_plate_carries_its_diners_code_across_gateway_kills(installation, tmp_path):  # noqa: F811
    engine, server, key, _ = installation
    server.start()
    truth, scans = tmp_path / "truth.jsonl", tmp_path / "scans.jsonl"
    simulator = subprocess.Popen([sys.executable, "-m", "hardware_sim", "scale", *SIMULATOR, "--truth", str(truth),
                                  "--scan-truth", str(scans)], stdout=subprocess.PIPE, text=True)
    scale, scanner = simulator.stdout.readline().strip(), simulator.stdout.readline().strip()
    outbox = tmp_path / "outbox.sqlite3"
    gateway = start_gateway(tmp_path, scale, scanner, server, key)
    try:
        wait_for(lambda: (state := waiting(outbox)).get("scans") and not state["trays"], 60,
                 "a scan waiting for its tray")
        gateway.send_signal(signal.SIGKILL)
        gateway.wait()
        gateway = start_gateway(tmp_path, scale, scanner, server, key)

        wait_for(lambda: len(lines(truth)) >= 8, 60, "more diners")
        wait_for(lambda: (state := waiting(outbox)).get("previous") and not state["scans"] and not state["trays"],
                 60, "a moment with nothing waiting")
        gateway.send_signal(signal.SIGKILL)
        gateway.wait()
        gateway = start_gateway(tmp_path, scale, scanner, server, key)

        assert simulator.wait(timeout=120) == 0
        expected = lines(truth)
        wait_for(lambda: len(stored(engine)) >= len(expected) and held(outbox) == 0, 30,
                 f"the server to hold all {len(expected)} plates")
    finally:
        for process in (gateway, simulator):
            if process.poll() is None:
                process.kill()
                process.wait()

    kinds = {line["scan"] for line in expected}
    assert kinds == {"before", "twice", "late", "outside", "none"}, kinds
    assert all(line["sent"] for line in lines(scans))  # the simulator's clock waited for every restart
    plates = stored(engine)
    assert [grams for grams, _ in plates] == [line["grams"] for line in expected]
    assert [code for _, code in plates] == [line["code"] for line in expected]
    assert sum(line["code"] is not None for line in expected) >= 10
