"""The scale port on real pseudo-terminals and real TCP connections: reading, polling, losing and regaining a scale."""
import logging
import os
import random
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from canteen.scale_driver.backoff import Backoff
from canteen.scale_driver.protocols import Decoder, Reading, get
from canteen.scale_driver.transport import BREAK, ScalePort
from hardware_sim.frames import MettlerSics, YaohuaTf0

TF0, SICS = get("yaohua-tf0"), get("mt-sics")
TF0_FRAME = YaohuaTf0().frame
SICS_REPLY = MettlerSics().frame


def fast() -> Backoff:
    return Backoff(initial_s=0.05, cap_s=0.2, rng=random.Random(1))


def delays(messages: list[str]) -> list[float]:
    """The waits the log lines announce ("… in 0.037s")."""
    return [float(re.fullmatch(r".* in ([0-9.e-]+)s", message).group(1)) for message in messages]


@contextmanager
def deadline(port: ScalePort, seconds: float = 5) -> Iterator[None]:
    """Stops the port after `seconds` whatever happens, so that a failing test ends."""
    timer = threading.Timer(seconds, port.stop.set)
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        port.stop.set()


def readings(port: ScalePort, decoder: Decoder, count: int) -> list[Reading]:
    found: list[Reading] = []
    for chunk in port.chunks():
        found += decoder.feed(chunk)
        if len(found) >= count:
            break
    return found


@contextmanager
def pty() -> Iterator[tuple[int, str]]:
    master, slave = os.openpty()
    name = os.ttyname(slave)
    os.close(slave)
    try:
        yield master, name
    finally:
        try:
            os.close(master)
        except OSError:
            pass


def test_reads_frames_from_a_pty() -> None:
    frames = b"".join(TF0_FRAME(Reading(grams, True)) for grams in (1000, 2000, 3000))
    with pty() as (master, name):
        port = ScalePort(name, TF0.serial)
        port.open()
        os.write(master, frames[:7])
        threading.Timer(0.1, os.write, (master, frames[7:])).start()
        with deadline(port):
            found = readings(port, TF0.decoder(), 3)
    assert [reading.grams for reading in found] == [1000, 2000, 3000]


def test_polled_protocol_sends_its_poll_on_a_pty() -> None:
    replies = [Reading(100, False), Reading(250, True), Reading(None, False, overload=True)]
    received = bytearray()
    with pty() as (master, name):
        def scale() -> None:
            answered = 0
            while answered < len(replies):
                received.extend(os.read(master, 64))
                while answered < min(received.count(b"SI\r\n"), len(replies)):
                    os.write(master, SICS_REPLY(replies[answered]))
                    answered += 1

        port = ScalePort(name, SICS.serial, poll=SICS.poll, poll_interval=0.02)
        port.open()
        scale_thread = threading.Thread(target=scale, daemon=True)
        scale_thread.start()
        with deadline(port):
            found = readings(port, SICS.decoder(), 3)
        scale_thread.join(5)
    assert received.startswith(b"SI\r\nSI\r\nSI\r\n")
    assert [(reading.grams, reading.stable, reading.overload) for reading in found] == [
        (100, False, False), (250, True, False), (None, False, True)]


def test_polls_on_loop_url() -> None:
    port = ScalePort("loop://", poll=b"SI\r\n", poll_interval=0.01)
    received = b""
    with deadline(port):
        for chunk in port.chunks():
            received += chunk
            if received.count(b"SI\r\n") >= 3:
                break
    assert received.startswith(b"SI\r\nSI\r\nSI\r\n")


def test_unplugged_pty_is_reported_and_retried_until_stopped(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="canteen.scale_driver.transport")
    with pty() as (master, name):
        port = ScalePort(name, backoff=fast())
        port.open()
        os.write(master, TF0_FRAME(Reading(500, True)))
        chunks = port.chunks()
        assert TF0.decode(next(chunks))[0].grams == 500
        os.close(master)
        threading.Timer(0.5, port.stop.set).start()
        started = time.monotonic()
        assert list(chunks) == [BREAK]  # where the stream broke, then nothing: the pty never comes back
    assert time.monotonic() - started < 2
    messages = [record.getMessage() for record in caplog.records]
    assert messages[0].startswith(f"scale port {name} lost: ")
    assert 0.025 <= delays(messages[:1])[0] <= 0.05  # the first wait: between half and all of 0.05 s
    assert all(message.startswith(f"scale port {name} unavailable: ") for message in messages[1:])
    assert all(record.levelno == logging.WARNING for record in caplog.records)


class Server:
    """A TCP scale server on a fixed port that can go away and come back."""

    def __init__(self) -> None:
        self.listener = self._listen(0)
        self.port = self.listener.getsockname()[1]

    @staticmethod
    def _listen(port: int) -> socket.socket:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen()
        listener.settimeout(5)
        return listener

    def serve_once(self, data: bytes) -> None:
        connection, _ = self.listener.accept()
        with connection:
            time.sleep(0.1)  # pyserial discards what arrives while it opens the port
            connection.sendall(data)
            time.sleep(0.2)  # and drops a read that a disconnection interrupts

    def restart(self, downtime: float) -> None:
        self.listener.close()
        time.sleep(downtime)
        self.listener = self._listen(self.port)


def test_reconnects_after_the_tcp_server_goes_away_and_comes_back(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="canteen.scale_driver.transport")
    server = Server()

    def serve() -> None:
        server.serve_once(TF0_FRAME(Reading(1000, True)) * 2)
        server.restart(downtime=1)
        server.serve_once(TF0_FRAME(Reading(2000, True)) * 2)

    url = f"socket://127.0.0.1:{server.port}"
    port = ScalePort(url, backoff=fast())
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    chunks: list[bytes] = []
    with deadline(port):
        decoder, found = TF0.decoder(), []
        for chunk in port.chunks():
            chunks.append(chunk)
            found += decoder.feed(chunk)
            if len(found) >= 4:
                break
    thread.join(5)
    server.listener.close()
    assert [reading.grams for reading in found] == [1000, 1000, 2000, 2000]
    assert chunks.count(BREAK) == 1  # one break, between the two connections' bytes
    assert TF0.decode(b"".join(chunks[:chunks.index(BREAK)])) == found[:2]
    messages = [record.getMessage() for record in caplog.records]
    assert messages[0].startswith(f"scale port {url} lost: read failed: socket disconnected; reconnecting in ")
    assert messages[-1] == f"scale port {url} is back"
    retries = messages[1:-1]
    assert retries and all(message.startswith(f"scale port {url} unavailable: ") for message in retries)
    nominal = [0.1, 0.2, 0.2, 0.2, 0.2, 0.2][:len(retries)]  # doubling from 0.05 s after the first wait, capped
    assert all(ceiling / 2 <= delay <= ceiling for delay, ceiling in zip(delays(retries), nominal, strict=True))


def test_backoff_doubles_up_to_its_limit_while_nothing_listens(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="canteen.scale_driver.transport")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"socket://127.0.0.1:{probe.getsockname()[1]}"
    port = ScalePort(url, backoff=Backoff(initial_s=0.01, cap_s=0.04, rng=random.Random(2)))
    threading.Timer(0.4, port.stop.set).start()
    assert list(port.chunks()) == []  # never connected: nothing broke
    waits = delays([record.getMessage() for record in caplog.records])
    assert len(waits) >= 5
    ceilings = [0.01, 0.02, 0.04, 0.04, 0.04]
    assert all(ceiling / 2 <= wait <= ceiling for wait, ceiling in zip(waits, ceilings, strict=False))
    assert "Connection refused" in caplog.records[0].getMessage()


def test_open_reports_a_missing_device_at_once() -> None:
    with pytest.raises(OSError, match="/dev/ttyNOSUCHSCALE"):
        ScalePort("/dev/ttyNOSUCHSCALE").open()
