"""Gateway end to end: protocol frames written into a real pty -> gateway -> the real app under uvicorn -> rows.

The app runs on the real clock here (events carry the time they were weighed). A plate placement is written as
an indicator would send it: motion, a stable plateau, motion, an empty scale.
"""
import logging
import os
import queue
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import tty
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
import uvicorn
from sqlmodel import Session, select
from typer.testing import CliRunner

from canteen import cli
from canteen.scale_driver.backoff import Backoff
from canteen.scale_driver.gateway import Gateway, GatewayConfig
from canteen.scale_driver.gateway_cli import default_outbox
from canteen.scale_driver.outbox import Outbox
from canteen.scale_driver.protocols import Reading
from canteen.scale_driver.segmenter import SegmenterConfig
from canteen.weighing.models import PlateWeighing
from hardware_sim import frames
from hardware_sim.frames import AsciiLines

GATEWAY_MAIN = "from canteen.scale_driver.gateway_cli import gateway_app; gateway_app(prog_name='canteen gateway')"
PROTOCOL = "ascii-st-gs"
TARE = 300
WINDOW_S = 0.15
FRAME_S = 0.01
SEGMENTER = SegmenterConfig(stable_window_s=WINDOW_S, tolerance_g=3, tare_g=TARE)


@pytest.fixture
def clock() -> Callable[[], datetime]:
    return lambda: datetime.now(UTC)


@pytest.fixture
def server_url(app) -> Iterator[str]:
    """The test app (tests/conftest.py: SQLite or PostgreSQL) served by uvicorn on a free port."""
    with served(app) as url:
        yield url


@contextmanager
def served(app) -> Iterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the app did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


class Indicator:
    """Streams one protocol's frames into the master side of a pty, 100 frames a second, like a real indicator."""

    def __init__(self, protocol: str = PROTOCOL) -> None:
        self.encode = frames.get(protocol).writer().frame
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.port = os.ttyname(self._slave)  # the test keeps the slave open, so gateways may come and go

    def send(self, reading: Reading | bytes, seconds: float = FRAME_S) -> None:
        frames = reading if isinstance(reading, bytes) else self.encode(reading)
        deadline = time.monotonic() + seconds
        while True:
            os.write(self.master, frames)
            time.sleep(FRAME_S)
            if time.monotonic() >= deadline:
                return

    def move(self, start: int, end: int, seconds: float = 0.06) -> None:
        steps = round(seconds / FRAME_S)
        for step in range(1, steps + 1):
            self.send(Reading(start + (end - start) * step // steps + (15 if step < steps else 0), stable=False))

    def hold(self, grams: int, seconds: float) -> None:
        self.send(Reading(grams, stable=True), seconds)

    def place(self, gross: int, settle: float = 3 * WINDOW_S) -> None:
        self.move(0, gross)
        self.hold(gross, settle)
        self.lift(gross)

    def lift(self, gross: int) -> None:
        self.move(gross, 0)
        self.hold(0, 0.1)

    def close(self) -> None:
        os.close(self.master)
        os.close(self._slave)


@pytest.fixture
def indicator() -> Iterator[Indicator]:
    scale = Indicator()
    yield scale
    scale.close()


def stored(engine) -> list[tuple[int, int]]:
    with Session(engine) as session:
        rows = session.exec(select(PlateWeighing).order_by(PlateWeighing.seq)).all()
    return [(row.seq, row.grams) for row in rows]


def wait_for(condition: Callable[[], bool], timeout_s: float = 15, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_frames_on_a_serial_port_become_rows_on_the_server(indicator, server_url, org, engine, tmp_path, caplog):
    config = GatewayConfig(port=indicator.port, protocol=PROTOCOL, server=server_url,
                           station_key=org.station_keys["a"], outbox=tmp_path / "outbox.sqlite3",
                           segmenter=SEGMENTER, status_every_s=0.5)
    gateway = Gateway(config, upload_backoff=Backoff(initial_s=0.05, cap_s=0.2))
    stop = threading.Event()
    thread = threading.Thread(target=gateway.run, args=(stop,))
    started = datetime.now(UTC)
    leftovers = [120, 0, 45, 610]
    with caplog.at_level(logging.INFO, logger="canteen.scale_driver"):
        thread.start()
        indicator.hold(0, 0.3)
        for value in leftovers[:2]:
            indicator.place(TARE + value)
        indicator.send(b"\x00\xffST,GS,+00garbage\r\nUS,GS")  # line noise: one broken frame
        indicator.send(Reading(None, stable=False, overload=True), 0.05)  # someone leaned on the scale
        indicator.place(TARE + leftovers[2])
        indicator.move(0, TARE + leftovers[3])  # a plate lifted before it settled: no event
        indicator.lift(TARE + leftovers[3])
        indicator.place(TARE + leftovers[3])
        wait_for(lambda: len(stored(engine)) == len(leftovers), what="the rows")
        time.sleep(0.6)  # one more status line
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    rows = stored(engine)
    assert [grams for _, grams in rows] == leftovers
    assert [seq for seq, _ in rows] == list(range(rows[0][0], rows[0][0] + len(leftovers)))
    with Session(engine) as session:
        times = session.exec(select(PlateWeighing.measured_at).order_by(PlateWeighing.seq)).all()
    assert started < times[0] < times[-1] < datetime.now(UTC)
    status = [record.message for record in caplog.records if record.message.startswith("status: ")]
    assert status and "readings/s" in status[0]
    assert "events 0 new / 4 since start, outbox 0 waiting / 0 rejected" in status[-1]
    assert "sent (1 accepted, 0 duplicate, 0 rejected), bad frames 1" in status[-1]


class GatewayProcess:
    """The gateway command in a child process; its log lines are collected from stderr.

    It runs the gateway's own Typer app: `canteen gateway` is the same function, but the `canteen` command
    imports the whole server first, which would make each of the restarts here take seconds. `command` may name
    the other front end (`canteen-gateway`: -m canteen.scale_driver.gateway_main); `extra` options follow the
    usual ones (a repeated option's last value counts).
    """

    def __init__(self, port: str, server: str, key: str, outbox: Path, *extra: str,
                 command: tuple[str, ...] = ("-c", GATEWAY_MAIN)) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        environment = {**os.environ, "CANTEEN_STATION_KEY": key}
        self.process = subprocess.Popen(
            [sys.executable, *command, "--port", port, "--protocol", PROTOCOL, "--server", server,
             "--outbox", str(outbox), "--tare", str(TARE), "--tolerance", "3", "--stable-window", str(WINDOW_S),
             "--status-every", "0.5", *extra],
            stderr=subprocess.PIPE, text=True, env=environment)
        threading.Thread(target=self._collect, daemon=True).start()
        self.wait_for_line("gateway started")

    def _collect(self) -> None:
        for line in self.process.stderr:
            self.lines.put(line)

    def wait_for_line(self, text: str, timeout_s: float = 20) -> str:
        deadline = time.monotonic() + timeout_s
        while True:
            line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            if text in line:
                return line


def appended(outbox: Path) -> int:
    """The outbox's next sequence number, read as another process would."""
    with closing(sqlite3.connect(outbox)) as connection:
        return connection.execute("SELECT next FROM sequence").fetchone()[0]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_kill_9_and_restart_loses_nothing_and_counts_nothing_twice(indicator, server_url, org, engine, tmp_path):
    outbox = tmp_path / "outbox.sqlite3"
    start = lambda: GatewayProcess(indicator.port, server_url, org.station_keys["a"], outbox)  # noqa: E731
    gateway = start()
    indicator.hold(0, 0.3)
    first_seq = appended(outbox)
    leftovers = [80, 0, 150, 35, 210, 5, 60]
    try:
        for index, value in enumerate(leftovers):
            indicator.move(0, TARE + value)
            deadline = time.monotonic() + 10
            while appended(outbox) == first_seq + index:  # keep the plate on until the event is in the outbox
                assert time.monotonic() < deadline, f"no event for placement {index}"
                indicator.hold(TARE + value, FRAME_S)
            if index % 2 == 0:  # kill while the upload of that event is starting, in flight or just done
                time.sleep(0.01 * index)
                gateway.process.send_signal(signal.SIGKILL)
                gateway.process.wait(timeout=10)
                gateway = start()
                indicator.hold(TARE + value, 4 * WINDOW_S)  # the restarted gateway sees the same plate settle
            indicator.lift(TARE + value)
        wait_for(lambda: len(stored(engine)) >= len(leftovers), what="the rows")
        gateway.process.send_signal(signal.SIGTERM)
        assert gateway.process.wait(timeout=10) == 0
    finally:
        if gateway.process.poll() is None:
            gateway.process.kill()
    rows = stored(engine)
    assert [grams for _, grams in rows] == leftovers
    assert [seq for seq, _ in rows] == list(range(first_seq, first_seq + len(leftovers)))
    assert appended(outbox) == first_seq + len(leftovers)
    with closing(sqlite3.connect(outbox)) as connection:
        assert connection.execute("SELECT count(*) FROM event").fetchone() == (0,)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_plate_weighed_while_the_gateway_was_stalled_is_still_counted(indicator, server_url, org, engine, tmp_path):
    """A gateway box that stops for a moment (a slow SD card, a starved CPU) finds the frames of that time waiting
    in the port's buffer and reads them at once: they are timed back across the stall, so a plate that settled
    and left meanwhile still rests long enough to count."""
    outbox = tmp_path / "outbox.sqlite3"
    gateway = GatewayProcess(indicator.port, server_url, org.station_keys["a"], outbox)
    try:
        indicator.hold(0, 0.3)
        first_seq = appended(outbox)
        gateway.process.send_signal(signal.SIGSTOP)
        indicator.place(TARE + 95)  # motion, 0.45 s stable, motion, empty: about 0.7 s of frames in the buffer
        gateway.process.send_signal(signal.SIGCONT)
        indicator.hold(0, 0.3)
        wait_for(lambda: stored(engine) != [], what="the plate on the server")
        gateway.process.send_signal(signal.SIGTERM)
        assert gateway.process.wait(timeout=10) == 0
    finally:
        if gateway.process.poll() is None:
            gateway.process.send_signal(signal.SIGCONT)
            gateway.process.kill()
    assert stored(engine) == [(first_seq, 95)]


def run_cli(*args: str, **env: str):
    return CliRunner().invoke(cli.app, ["gateway", *args], env={"CANTEEN_LANGUAGE": "en", **env})


BASE = ["--port", "loop://", "--server", "http://127.0.0.1:9"]


@pytest.mark.parametrize("args, message", [
    (["--protocol", "nope", "--station-key", "stk_x"], "unknown scale protocol 'nope'"),
    ([f"--protocol={PROTOCOL}", "--station-key", "stk_x", "--mode", "bin", "--min-event", "3"],
     "minimum event size must be larger than the tolerance"),
    ([f"--protocol={PROTOCOL}", "--station-key", "stk_x", "--parity", "X"], "'X' is not one of N, E, O, M, S"),
    ([f"--protocol={PROTOCOL}"], "Missing option '--station-key'"),
    (["--protocol", PROTOCOL, "--station-key", "stk_x", "--server", "127.0.0.1:8000"],
     "the server URL must start with http:// or https://"),
])
def test_cli_mistakes_give_one_line_and_exit_2(args, message):
    result = run_cli(*BASE, *args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_cli_port_pyserial_cannot_open_gives_one_line_and_exit_2(tmp_path):
    result = run_cli("--port", "nope://scale", "--protocol", PROTOCOL, "--station-key", "stk_x",
                     "--server", "http://127.0.0.1:9", "--outbox", str(tmp_path / "outbox.sqlite3"))
    assert result.exit_code == 2
    assert "error: Invalid value for --port: invalid URL, protocol 'nope' not known" in result.output


def test_default_outbox_is_one_file_per_port_and_server():
    path = default_outbox("/dev/ttyUSB0", "https://a.example")
    assert path.parent == Path("var") and path.name.startswith("gateway-") and path.suffix == ".sqlite3"
    assert path == default_outbox("/dev/ttyUSB0", "https://a.example")
    assert len({path, default_outbox("/dev/ttyUSB1", "https://a.example"),
                default_outbox("/dev/ttyUSB0", "https://b.example")}) == 3


class LogEvents(logging.Handler):
    """Sets an event when a log message containing a given text is emitted."""

    def __init__(self, *texts: str) -> None:
        super().__init__()
        self.seen = {text: threading.Event() for text in texts}

    def emit(self, record: logging.LogRecord) -> None:
        for text, event in self.seen.items():
            if text in record.getMessage():
                event.set()

    def wait(self, text: str, timeout_s: float = 10) -> None:
        assert self.seen[text].wait(timeout_s), f"no log message with {text!r}"


def test_half_a_frame_before_a_dropped_connection_is_not_glued_to_the_next_one(tmp_path):
    """A serial-to-Ethernet box drops the TCP connection in the middle of a frame; the new connection starts in the
    middle of another frame. Glued together, the two halves would read as a weight the scale never showed."""
    lines = AsciiLines()
    before, after = lines.frame(Reading(1000, True)), lines.frame(Reading(2345, True))
    whole = lines.frame(Reading(3000, True))
    cut = before.index(b".")
    assert before[:cut] + after[cut:] == b"ST,GS,+0001.345kg\r\n"  # a well-formed line of 1345 g
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)
    with socket.socket() as probe:  # nothing listens there: uploads fail and the events stay in the outbox
        probe.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{probe.getsockname()[1]}"
    config = GatewayConfig(port=f"socket://127.0.0.1:{listener.getsockname()[1]}", protocol=PROTOCOL, server=nowhere,
                           station_key="stk_x", outbox=tmp_path / "outbox.sqlite3",
                           segmenter=SegmenterConfig(stable_window_s=0.3, tolerance_g=3))
    gateway = Gateway(config, port_backoff=Backoff(initial_s=0.05, cap_s=0.1))
    logs = LogEvents("gateway started", "is back")
    logger = logging.getLogger("canteen.scale_driver")
    logger.addHandler(logs)
    level = logger.level
    logger.setLevel(logging.INFO)
    stop = threading.Event()
    thread = threading.Thread(target=gateway.run, args=(stop,))
    thread.start()
    sent = 0
    try:
        first, _ = listener.accept()
        logs.wait("gateway started")  # the port is open (pyserial drops what arrives while it opens)
        with first:
            first.sendall(before[:cut])
            wait_for(lambda: gateway.decoder._pending == before[:cut], 10, "the half frame to be read")
        second, _ = listener.accept()
        logs.wait("is back")
        with second:
            second.sendall(after[cut:])
            while gateway.events == 0:  # the scale goes on sending its frames until the weight has counted
                assert sent < 200, "no event"
                second.sendall(whole)
                sent += 1
                wait_for(lambda count=sent: gateway.readings >= count, 10, "the frame to be read")
            stop.set()
            thread.join(10)
    finally:
        stop.set()
        thread.join(10)
        logger.removeHandler(logs)
        logger.setLevel(level)
        listener.close()
    assert not thread.is_alive()
    assert gateway.readings == sent  # every whole frame, and no reading made of the two halves
    assert gateway.decoder.bad_frames == 1  # the second half alone
    outbox = Outbox(config.outbox)
    try:
        assert [item.grams for item in outbox.pending(10)] == [3000]
    finally:
        outbox.close()


@contextmanager
def tiny_disk(directory: Path, size: str = "256k") -> Iterator[bool]:
    """A tmpfs of `size` mounted on `directory` (yields True), or a plain folder (False) where mounting is not
    permitted; unmounted at the end in any case."""
    directory.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)],
                             capture_output=True, text=True).returncode == 0
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(directory)], check=True)


def fill(directory: Path) -> Path:
    """Fills the file system under `directory` to the last byte; returns the filler file."""
    filler = directory / "filler"
    with filler.open("wb", buffering=0) as stream:
        chunk = b"\0" * 4096
        while True:
            try:
                stream.write(chunk)
            except OSError:
                break
        while True:  # the last partial block
            try:
                stream.write(b"\0")
            except OSError:
                break
    return filler


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def refuse_writes(monkeypatch) -> None:
    """The outbox's appends fail as SQLite's do on a full disk (where no tiny filesystem can be mounted)."""
    def full(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")
    monkeypatch.setattr(Outbox, "append", full)


def test_a_full_disk_keeps_events_in_memory_and_stores_and_sends_them_all_when_space_returns(
        indicator, server_url, org, engine, tmp_path, caplog, monkeypatch, request):
    with tiny_disk(tmp_path / "disk") as mounted:
        if not mounted:
            print("SKIPPED the real tiny file system: mount -t tmpfs is not permitted here; a write failure is "
                  "injected into Outbox.append instead")
        config = GatewayConfig(port=indicator.port, protocol=PROTOCOL, server=server_url,
                               station_key=org.station_keys["a"], outbox=tmp_path / "disk" / "outbox.sqlite3",
                               segmenter=SEGMENTER, status_every_s=0.2, store_retry_s=0.1)
        gateway = Gateway(config, upload_backoff=Backoff(initial_s=0.05, cap_s=0.2))
        stop = threading.Event()
        thread = threading.Thread(target=gateway.run, args=(stop,))
        before, during = [120, 40], [75, 0, 310]
        try:
            with caplog.at_level(logging.INFO, logger="canteen.scale_driver"):
                thread.start()
                indicator.hold(0, 0.3)
                for value in before:
                    indicator.place(TARE + value)
                wait_for(lambda: len(stored(engine)) == len(before), what="the first rows")
                if mounted:
                    filler = fill(tmp_path / "disk")
                else:
                    real_append = Outbox.append

                    refuse_writes(monkeypatch)
                for value in during:
                    indicator.place(TARE + value)
                wait_for(lambda: gateway.at_risk == len(during), what="the events kept in memory")
                wait_for(lambda: any(f"{len(during)} at risk in memory, 0 lost" in record.message
                                     for record in caplog.records), what="a status line with the events at risk")
                assert thread.is_alive() and len(stored(engine)) == len(before)
                if mounted:
                    filler.unlink()
                else:
                    monkeypatch.setattr(Outbox, "append", real_append)
                wait_for(lambda: len(stored(engine)) == len(before) + len(during), what="the rows kept in memory")
                assert gateway.at_risk == 0 and gateway.lost == 0
                stop.set()
                thread.join(timeout=10)
        finally:
            stop.set()
            thread.join(timeout=10)
    assert not thread.is_alive()
    assert [grams for _, grams in stored(engine)] == before + during  # every plate, in order, once
    errors = [record.message for record in caplog.records if record.levelno >= logging.ERROR]
    [error] = errors  # one error for the whole outage (it lasted under a minute)
    assert error.startswith(f"cannot write to the outbox {config.outbox}: database or disk is full")
    assert any("takes writes again" in record.message for record in caplog.records)


def test_when_memory_is_full_too_newer_events_are_counted_lost(indicator, tmp_path, caplog, monkeypatch):
    config = GatewayConfig(port=indicator.port, protocol=PROTOCOL, server="http://127.0.0.1:9", station_key="stk_x",
                           outbox=tmp_path / "outbox.sqlite3", segmenter=SEGMENTER, status_every_s=0.2,
                           memory_queue=2)
    gateway = Gateway(config)
    real_append = Outbox.append

    refuse_writes(monkeypatch)
    stop = threading.Event()
    thread = threading.Thread(target=gateway.run, args=(stop,))
    with caplog.at_level(logging.INFO, logger="canteen.scale_driver"):
        thread.start()
        indicator.hold(0, 0.3)
        for value in (10, 20, 30):
            indicator.place(TARE + value)
        wait_for(lambda: gateway.lost == 1, what="an event counted lost")
        wait_for(lambda: any("2 at risk in memory, 1 lost" in record.message for record in caplog.records),
                 what="the status line")
        indicator.place(TARE + 40)  # lost too: the memory is still full
        wait_for(lambda: gateway.lost == 2, what="a second event counted lost")
        monkeypatch.setattr(Outbox, "append", real_append)
        wait_for(lambda: gateway.at_risk == 0, what="the events kept in memory to be stored")
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive() and gateway.lost == 2
    outbox = Outbox(config.outbox)
    try:
        assert [item.grams for item in outbox.pending(10)] == [10, 20]  # the oldest were kept, the newer lost
    finally:
        outbox.close()
    first, loss = [record.message for record in caplog.records if record.levelno >= logging.ERROR]
    assert "database or disk is full; the gateway goes on reading, 1 events are kept in memory (at risk until " \
           "written, at most 2) and 0 were lost since start" in first
    assert "2 events are kept in memory (at risk until written, at most 2) and 1 were lost since start" in loss


def test_stopping_while_the_outbox_takes_no_writes_says_how_many_events_are_lost(indicator, tmp_path, caplog,
                                                                                  monkeypatch):
    config = GatewayConfig(port=indicator.port, protocol=PROTOCOL, server="http://127.0.0.1:9", station_key="stk_x",
                           outbox=tmp_path / "outbox.sqlite3", segmenter=SEGMENTER)
    gateway = Gateway(config)

    refuse_writes(monkeypatch)
    stop = threading.Event()
    thread = threading.Thread(target=gateway.run, args=(stop,))
    with caplog.at_level(logging.INFO, logger="canteen.scale_driver"):
        thread.start()
        indicator.hold(0, 0.3)
        indicator.place(TARE + 10)
        wait_for(lambda: gateway.at_risk == 1, what="the event kept in memory")
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive() and gateway.lost == 1
    assert any(f"stopping with 1 events the outbox {config.outbox} could not take: they are lost" in record.message
               for record in caplog.records)
