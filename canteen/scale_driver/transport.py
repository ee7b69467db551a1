"""Bytes from a scale: any pyserial URL (/dev/ttyUSB0, COM3, /dev/pts/N, socket://host:port, loop://), read
forever, reconnected with exponential backoff when the device is unplugged or the connection drops."""
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import serial

from canteen.scale_driver.protocols import SerialDefaults

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Backoff:
    """Waits between reconnection attempts: `first`, then multiplied by `factor` up to `limit` seconds."""

    first: float = 0.5
    factor: float = 2.0
    limit: float = 30.0

    def after(self, delay: float) -> float:
        return min(delay * self.factor, self.limit)


def open_port(url: str, settings: SerialDefaults = SerialDefaults(), timeout: float = 0.05) -> serial.SerialBase:
    """Raises serial.SerialException (an OSError) when the port cannot be opened, ValueError for a malformed URL."""
    return serial.serial_for_url(url, baudrate=settings.baudrate, bytesize=settings.bytesize,
                                 parity=settings.parity, stopbits=settings.stopbits, timeout=timeout)


class ScalePort:
    """One scale's port. `chunks()` yields the bytes read until `stop` is set; a polled protocol's command is written
    every `poll_interval` seconds while connected (at most once per read, which waits up to `read_timeout`).

    pyserial drops a read that a disconnection interrupts, so up to `read_timeout` seconds of bytes just before an
    unplug can be lost; indicators repeat their frames, so nothing but that moment's frames goes missing.
    """

    def __init__(self, url: str, settings: SerialDefaults = SerialDefaults(), *, poll: bytes | None = None,
                 poll_interval: float = 0.1, backoff: Backoff = Backoff(), stop: threading.Event | None = None,
                 read_timeout: float = 0.05, read_size: int = 4096) -> None:
        self.url = url
        self.settings = settings
        self.poll = poll
        self.poll_interval = poll_interval
        self.backoff = backoff
        self.stop = stop or threading.Event()
        self.read_timeout = read_timeout
        self.read_size = read_size
        self._port: serial.SerialBase | None = None
        self._delay = backoff.first

    def open(self) -> None:
        """Opens the port now, so that a wrong name or a missing device is reported to the caller at once."""
        if self._port is None:
            self._port = open_port(self.url, self.settings, self.read_timeout)

    def close(self) -> None:
        if self._port is not None:
            port, self._port = self._port, None
            port.close()

    def chunks(self) -> Iterator[bytes]:
        lost = False
        try:
            while not self.stop.is_set():
                try:
                    self.open()
                except OSError as error:
                    self._wait("scale port %s unavailable: %s; retrying in %gs", error)
                    lost = True
                    continue
                if lost:
                    log.info("scale port %s is back", self.url)
                    lost = False
                try:
                    yield from self._read()
                except OSError as error:
                    self.close()
                    self._wait("scale port %s lost: %s; reconnecting in %gs", error)
                    lost = True
        finally:
            self.close()

    def _read(self) -> Iterator[bytes]:
        next_poll = time.monotonic()
        while not self.stop.is_set():
            if self.poll is not None and time.monotonic() >= next_poll:
                self._port.write(self.poll)
                next_poll = time.monotonic() + self.poll_interval
            chunk = self._port.read(self.read_size)
            if chunk:
                self._delay = self.backoff.first
                yield chunk

    def _wait(self, message: str, error: Exception) -> None:
        log.warning(message, self.url, error, self._delay)
        self.stop.wait(self._delay)
        self._delay = self.backoff.after(self._delay)
