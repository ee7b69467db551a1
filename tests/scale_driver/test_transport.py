"""The scale port on real pseudo-terminals and real TCP connections: reading, polling, losing and regaining a scale."""
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from canteen.scale_driver.protocols import Reading, mt_sics, yaohua_tf0
from canteen.scale_driver.transport import Backoff, ScalePort

FAST = Backoff(first=0.05, factor=2, limit=0.2)


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


def readings(port: ScalePort, decoder, count: int) -> list[Reading]:
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
    frames = b"".join(yaohua_tf0.encode(Reading(grams, True)) for grams in (1000, 2000, 3000))
    with pty() as (master, name):
        port = ScalePort(name, yaohua_tf0.SERIAL)
        port.open()
        os.write(master, frames[:7])
        threading.Timer(0.1, os.write, (master, frames[7:])).start()
        with deadline(port):
            found = readings(port, yaohua_tf0.Decoder(), 3)
    assert [reading.grams for reading in found] == [1000, 2000, 3000]


def test_polled_protocol_sends_its_poll_on_a_pty() -> None:
    replies = [Reading(100, False), Reading(250, True), Reading(None, False, overload=True)]
    received = bytearray()
    with pty() as (master, name):
        def scale() -> None:
            answered = 0
            while answered < len(replies):
                received.extend(os.read(master, 64))
                while answered < min(received.count(mt_sics.POLL), len(replies)):
                    os.write(master, mt_sics.encode(replies[answered]))
                    answered += 1

        port = ScalePort(name, mt_sics.SERIAL, poll=mt_sics.POLL, poll_interval=0.02)
        port.open()
        scale_thread = threading.Thread(target=scale, daemon=True)
        scale_thread.start()
        with deadline(port):
            found = readings(port, mt_sics.Decoder(), 3)
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
        port = ScalePort(name, backoff=FAST)
        port.open()
        os.write(master, yaohua_tf0.encode(Reading(500, True)))
        chunks = port.chunks()
        assert yaohua_tf0.decode(next(chunks))[0].grams == 500
        os.close(master)
        threading.Timer(0.5, port.stop.set).start()
        started = time.monotonic()
        assert list(chunks) == []
    assert time.monotonic() - started < 2
    messages = [record.getMessage() for record in caplog.records]
    assert messages[0].startswith(f"scale port {name} lost: ")
    assert messages[0].endswith("; reconnecting in 0.05s")
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
        server.serve_once(yaohua_tf0.encode(Reading(1000, True)) * 2)
        server.restart(downtime=1)
        server.serve_once(yaohua_tf0.encode(Reading(2000, True)) * 2)

    url = f"socket://127.0.0.1:{server.port}"
    port = ScalePort(url, backoff=FAST)
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    with deadline(port):
        found = readings(port, yaohua_tf0.Decoder(), 4)
    thread.join(5)
    server.listener.close()
    assert [reading.grams for reading in found] == [1000, 1000, 2000, 2000]
    messages = [record.getMessage() for record in caplog.records]
    assert messages[0] == f"scale port {url} lost: read failed: socket disconnected; reconnecting in 0.05s"
    assert messages[-1] == f"scale port {url} is back"
    retries = messages[1:-1]
    assert retries and all(message.startswith(f"scale port {url} unavailable: ") for message in retries)
    assert [message.rsplit(" ", 1)[1] for message in retries] == ["0.1s", "0.2s", "0.2s", "0.2s", "0.2s"][:len(retries)]


def test_backoff_doubles_up_to_its_limit_while_nothing_listens(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="canteen.scale_driver.transport")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"socket://127.0.0.1:{probe.getsockname()[1]}"
    port = ScalePort(url, backoff=Backoff(first=0.01, factor=2, limit=0.04))
    threading.Timer(0.4, port.stop.set).start()
    assert list(port.chunks()) == []
    delays = [record.getMessage().rsplit(" ", 1)[1] for record in caplog.records]
    assert delays[:5] == ["0.01s", "0.02s", "0.04s", "0.04s", "0.04s"]
    assert "Connection refused" in caplog.records[0].getMessage()


def test_open_reports_a_missing_device_at_once() -> None:
    with pytest.raises(OSError, match="/dev/ttyNOSUCHSCALE"):
        ScalePort("/dev/ttyNOSUCHSCALE").open()
