"""The identity reader beside the scale: codes written into a real pty (or a TCP connection) next to the scale's,
paired by the gateway with the trays placed around them, and stored by the real app as each plate's diner_ref.

Windows are short here (1 s before a tray settles, 0.6 s after) so that each diner takes about a second; a tray's
time is when it settles, just after `place` sets it down. The kill -9 test runs the gateway command as a process,
with wider windows: the restart itself takes a second or so.
"""
import json
import logging
import os
import signal
import socket
import sqlite3
import threading
import time
import tty
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from canteen import cli
from canteen.scale_driver.backoff import Backoff
from canteen.scale_driver.gateway import Gateway, GatewayConfig
from canteen.scale_driver.pairing import PairingConfig
from canteen.weighing.models import PlateWeighing
from tests.scale_driver.test_gateway import (
    PROTOCOL,
    SEGMENTER,
    TARE,
    GatewayProcess,
    Indicator,
    appended,
    served,
    wait_for,
)

BEFORE_S, AFTER_S = 1.0, 0.6
DINER_GAP_S = 0.8  # between one diner's tray leaving and the next diner stepping up
# The pairing is the gateway's: the first test runs on both databases, the others on SQLite.
ONE_DATABASE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def clock() -> Callable[[], datetime]:
    return lambda: datetime.now(UTC)  # the app takes the plates as weighed now


@pytest.fixture
def server_url(app) -> Iterator[str]:
    with served(app) as url:
        yield url


@pytest.fixture
def indicator() -> Iterator[Indicator]:
    scale = Indicator()
    yield scale
    scale.close()


class Reader:
    """A scanner on the master side of a pty: each code one line, CR-terminated as most scanners leave the factory."""

    def __init__(self) -> None:
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.port = os.ttyname(self._slave)

    def scan(self, code: str | bytes, end: bytes = b"\r") -> None:
        os.write(self.master, (code.encode() if isinstance(code, str) else code) + end)

    def close(self) -> None:
        os.close(self.master)
        os.close(self._slave)


@pytest.fixture
def reader() -> Iterator[Reader]:
    scanner = Reader()
    yield scanner
    scanner.close()


def plates(engine) -> list[tuple[int, str | None]]:
    with Session(engine) as session:
        rows = session.exec(select(PlateWeighing).order_by(PlateWeighing.seq)).all()
    return [(row.grams, row.diner_ref) for row in rows]


@contextmanager
def gateway_running(indicator: Indicator, id_port: str, server_url: str, key: str, tmp_path,
                    before_s: float = BEFORE_S, after_s: float = AFTER_S) -> Iterator[Gateway]:
    config = GatewayConfig(port=indicator.port, protocol=PROTOCOL, server=server_url, station_key=key,
                           outbox=tmp_path / "outbox.sqlite3", segmenter=SEGMENTER, status_every_s=0.3,
                           id_port=id_port, pairing=PairingConfig(before_s=before_s, after_s=after_s))
    gateway = Gateway(config, upload_backoff=Backoff(initial_s=0.05, cap_s=0.2),
                      port_backoff=Backoff(initial_s=0.05, cap_s=0.1))
    stop = threading.Event()
    thread = threading.Thread(target=gateway.run, args=(stop,))
    thread.start()
    try:
        indicator.hold(0, 0.3)  # both ports are open and read by now
        yield gateway
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_a_scan_before_or_just_after_the_tray_names_its_plate_and_no_scan_leaves_it_anonymous(
        indicator, reader, server_url, org, engine, tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="canteen.scale_driver"), \
            gateway_running(indicator, reader.port, server_url, org.station_keys["a"], tmp_path) as gateway:
        reader.scan("bk_before")  # scans, then sets the tray down: 0.3 s before it settles
        time.sleep(0.3)
        indicator.place(TARE + 40)
        time.sleep(DINER_GAP_S)
        indicator.move(0, TARE + 15)
        indicator.hold(TARE + 15, 0.3)
        reader.scan("6200123456")  # a late card, 0.3 s after the tray settled, while it is still there
        indicator.hold(TARE + 15, 0.15)
        indicator.lift(TARE + 15)
        time.sleep(DINER_GAP_S)
        indicator.place(TARE + 0)  # no scan
        wait_for(lambda: len(plates(engine)) == 3, what="three plates on the server")
        wait_for(lambda: any("plates 2 with a scan / 1 anonymous / 0 waiting" in record.message
                             for record in caplog.records), what="the status line")
    assert plates(engine) == [(40, "bk_before"), (15, "6200123456"), (0, None)]
    assert (gateway.pairing.unpaired, gateway.pairing.double, gateway.codes.dropped) == (0, 0, 0)
    assert "scans 0 without a plate / 0 double / 0 unreadable" in gateway.status()
    logged = " ".join(record.message for record in caplog.records)
    assert "bk_before" not in logged and "6200123456" not in logged  # codes name diners: not in the log


@ONE_DATABASE
def test_a_diner_scanning_twice_counts_once_and_of_two_diners_scanning_before_one_tray_the_latest_wins(
        indicator, reader, server_url, org, engine, tmp_path):
    with gateway_running(indicator, reader.port, server_url, org.station_keys["a"], tmp_path) as gateway:
        reader.scan("bk_twice")
        time.sleep(0.2)
        reader.scan("bk_twice", b"\r\n")  # the same code again, before the tray: the latest counts
        time.sleep(0.2)
        indicator.move(0, TARE + 70)
        indicator.hold(TARE + 70, 0.25)
        reader.scan("bk_twice", b"\n")  # and once more after it: not sure it beeped
        indicator.hold(TARE + 70, 0.2)
        indicator.lift(TARE + 70)
        time.sleep(DINER_GAP_S)
        reader.scan("bk_walked_off")  # scans, but leaves with the tray
        time.sleep(0.3)
        reader.scan("bk_next")
        time.sleep(0.2)
        indicator.place(TARE + 5)
        wait_for(lambda: len(plates(engine)) == 2, what="two plates on the server")
    assert plates(engine) == [(70, "bk_twice"), (5, "bk_next")]
    assert (gateway.pairing.paired, gateway.pairing.anonymous) == (2, 0)
    assert (gateway.pairing.double, gateway.pairing.unpaired) == (2, 1)
    assert "scans 1 without a plate / 2 double / 0 unreadable" in gateway.status()


@ONE_DATABASE
def test_scans_outside_the_window_and_a_scan_without_a_plate_are_dropped_and_counted(
        indicator, reader, server_url, org, engine, tmp_path):
    with gateway_running(indicator, reader.port, server_url, org.station_keys["a"], tmp_path) as gateway:
        reader.scan("bk_too_early")
        time.sleep(BEFORE_S + 0.4)
        indicator.place(TARE + 25)  # settles 1.4 s after the scan: outside the 1 s
        time.sleep(0.4)  # the scan comes about 1 s after the tray settled: outside the 0.6 s
        reader.scan("bk_too_late")
        time.sleep(0.3)
        reader.scan("bk_no_plate")  # and no tray comes after either
        wait_for(lambda: gateway.pairing.unpaired == 3, what="the three scans dropped")
        wait_for(lambda: len(plates(engine)) == 1, what="the plate on the server")
    assert plates(engine) == [(25, None)]
    assert "plates 0 with a scan / 1 anonymous / 0 waiting, scans 3 without a plate / 0 double" in gateway.status()


@ONE_DATABASE
def test_one_scan_between_two_trays_goes_to_the_nearer_one_only(indicator, reader, server_url, org, engine, tmp_path):
    with gateway_running(indicator, reader.port, server_url, org.station_keys["a"], tmp_path) as gateway:
        indicator.move(0, TARE + 30)
        indicator.hold(TARE + 30, 0.15)
        reader.scan("bk_late")  # 0.15 s after tray 1 settled, about 0.5 s before tray 2 does
        indicator.hold(TARE + 30, 0.3)
        indicator.lift(TARE + 30)
        indicator.place(TARE + 60)  # its diner does not scan
        wait_for(lambda: len(plates(engine)) == 2, what="two plates on the server")
    assert plates(engine) == [(30, "bk_late"), (60, None)]
    assert (gateway.pairing.paired, gateway.pairing.anonymous, gateway.pairing.unpaired) == (1, 1, 0)


@ONE_DATABASE
def test_unreadable_lines_are_counted_and_every_line_end_works(indicator, reader, server_url, org, engine, tmp_path):
    with gateway_running(indicator, reader.port, server_url, org.station_keys["a"], tmp_path) as gateway:
        reader.scan("9" * 65)  # longer than a diner_ref may be
        reader.scan(b"bk_\x07bell")
        reader.scan(b"", b"\r\n")  # an empty line: nothing
        reader.scan("  bk_padded\t", b"\r\n")
        time.sleep(0.2)
        indicator.place(TARE + 12)
        wait_for(lambda: len(plates(engine)) == 1, what="the plate on the server")
    assert plates(engine) == [(12, "bk_padded")]
    assert "/ 0 double / 2 unreadable" in gateway.status()


@ONE_DATABASE
def test_the_reader_over_tcp_is_reconnected_when_its_connection_drops(indicator, server_url, org, engine, tmp_path,
                                                                      caplog):
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)
    url = f"socket://127.0.0.1:{listener.getsockname()[1]}"
    try:
        with caplog.at_level(logging.INFO, logger="canteen.scale_driver"), \
                gateway_running(indicator, url, server_url, org.station_keys["a"], tmp_path):
            first, _ = listener.accept()
            with first:
                first.sendall(b"bk_first\r")
                time.sleep(0.2)
                indicator.place(TARE + 8)
            second, _ = listener.accept()  # the serial-to-Ethernet box dropped the connection; the gateway is back
            with second:
                wait_for(lambda: any("identity reader port" in r.message and "is back" in r.message
                                     for r in caplog.records), what="the reader reconnected")
                time.sleep(DINER_GAP_S)
                second.sendall(b"bk_second\r\n")
                time.sleep(0.2)
                indicator.place(TARE + 90)
                wait_for(lambda: len(plates(engine)) == 2, what="two plates on the server")
    finally:
        listener.close()
    assert plates(engine) == [(8, "bk_first"), (90, "bk_second")]


@ONE_DATABASE
def test_kill_9_loses_no_weighing_and_no_pairing_waiting_in_the_outbox(indicator, reader, server_url, org, engine,
                                                                       tmp_path):
    """Killed between a scan and its tray, and again while a tray waits for a late scan: the scan and the waiting
    tray are in the outbox, and the restarted gateway pairs them as if nothing had happened."""
    outbox = tmp_path / "outbox.sqlite3"
    options = ("--id-port", reader.port, "--scan-before", "6", "--scan-after", "4")
    start = lambda: GatewayProcess(indicator.port, server_url, org.station_keys["a"], outbox, *options)  # noqa: E731
    gateway = start()
    try:
        indicator.hold(0, 0.3)
        first_seq = appended(outbox)
        reader.scan("bk_across")
        wait_for(lambda: stored_pairing(outbox)["scans"] != [], what="the scan in the outbox")
        gateway.process.send_signal(signal.SIGKILL)
        gateway.process.wait(timeout=10)
        gateway = start()
        indicator.place(TARE + 45)
        gateway.wait_for_line(f"event {first_seq}: paired with a scan")

        indicator.move(0, TARE + 110)
        while appended(outbox) == first_seq + 1:  # keep the tray on until it is in the outbox
            indicator.hold(TARE + 110, 0.01)
        gateway.process.send_signal(signal.SIGKILL)  # the tray waits for a late scan
        gateway.process.wait(timeout=10)
        assert waiting(outbox) == [first_seq + 1]  # the weighing is stored: the gateway was killed just after
        assert len(plates(engine)) == 1  # held back: not sent without its pairing
        gateway = start()
        indicator.lift(TARE + 110)
        reader.scan("bk_late_after_restart")
        gateway.wait_for_line(f"event {first_seq + 1}: paired with a scan")
        wait_for(lambda: len(plates(engine)) == 2, what="both plates on the server")
        gateway.process.send_signal(signal.SIGTERM)
        assert gateway.process.wait(timeout=10) == 0
    finally:
        if gateway.process.poll() is None:
            gateway.process.kill()
    assert plates(engine) == [(45, "bk_across"), (110, "bk_late_after_restart")]


def stored_pairing(outbox) -> dict:
    """The pairing's state in the outbox, read as another process would."""
    with closing(sqlite3.connect(outbox)) as connection:
        row = connection.execute("SELECT value FROM state WHERE name = 'pairing'").fetchone()
    return json.loads(row[0]) if row else {"scans": [], "trays": []}


def waiting(outbox) -> list[int]:
    with closing(sqlite3.connect(outbox)) as connection:
        return [seq for (seq,) in connection.execute("SELECT seq FROM event ORDER BY seq")]


def run_cli(*args: str):
    return CliRunner().invoke(cli.app, ["gateway", "--port", "loop://", "--protocol", PROTOCOL, "--station-key",
                                        "stk_x", "--server", "http://127.0.0.1:9", *args],
                              env={"CANTEEN_LANGUAGE": "en"})


@pytest.mark.parametrize("args, message", [
    (["--id-port", "loop://"], "the identity reader needs a port of its own, not the scale's"),
    (["--id-port", "socket://127.0.0.1:9", "--mode", "kitchen"], "it needs --mode tray or bin"),
    (["--id-port", "socket://127.0.0.1:9", "--scan-after", "-1"], "greater than or equal to 0"),
])
def test_cli_mistakes_about_the_reader_give_one_line_and_exit_2(args, message):
    result = run_cli(*args)
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_cli_a_reader_port_pyserial_cannot_open_names_the_option(tmp_path):
    result = run_cli("--id-port", "nope://reader", "--outbox", str(tmp_path / "outbox.sqlite3"))
    assert result.exit_code == 2
    assert "Invalid value for --id-port: invalid URL, protocol 'nope' not known" in result.output
