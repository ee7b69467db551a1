"""Bytes from a scale: any pyserial URL (/dev/ttyUSB0, COM3, /dev/pts/N, socket://host:port, loop://), read
forever, reconnected with capped exponential backoff and jitter when the device is unplugged or the connection
drops. A pipe that does not care about the data, except that it says where the stream broke. The identity reader
beside the scale (identity.py) is read through one too."""
import logging
import threading
import time
from collections.abc import Generator

import serial

from canteen.scale_driver.backoff import Backoff
from canteen.scale_driver.protocols import SerialDefaults

log = logging.getLogger(__name__)

DEFAULT_SERIAL = SerialDefaults()
BREAK = b""  # yielded by ScalePort.chunks() where the stream broke


def port_backoff() -> Backoff:
    """Reopening a lost port: from half a second up to 30 s between attempts."""
    return Backoff(initial_s=0.5, cap_s=30.0)


def open_port(url: str, settings: SerialDefaults = DEFAULT_SERIAL, timeout: float = 0.05) -> serial.SerialBase:
    """Raises serial.SerialException (an OSError) when the port cannot be opened, ValueError for a malformed URL."""
    return serial.serial_for_url(url, baudrate=settings.baudrate, bytesize=settings.bytesize,
                                 parity=settings.parity, stopbits=settings.stopbits, timeout=timeout)


class ScalePort:
    """One scale's port. `chunks()` yields the bytes read until `stop` is set; a polled protocol's command is written
    every `poll_interval` seconds while connected (at most once per read, which waits up to `read_timeout`).

    When the connection is lost, `chunks()` yields one empty chunk (`BREAK`) before anything of the next
    connection: what follows does not continue what came before, so a reader flushes its decoder there.

    pyserial drops a read that a disconnection interrupts, so up to `read_timeout` seconds of bytes just before an
    unplug can be lost; indicators repeat their frames, so nothing but that moment's frames goes missing.
    """

    def __init__(self, url: str, settings: SerialDefaults = DEFAULT_SERIAL, *, poll: bytes | None = None,
                 poll_interval: float = 0.1, backoff: Backoff | None = None, stop: threading.Event | None = None,
                 read_timeout: float = 0.05, read_size: int = 4096, name: str = "scale port") -> None:
        self.url = url
        self.name = name  # in the log: "scale port /dev/ttyUSB0 lost: …"
        self.settings = settings
        self.poll = poll
        self.poll_interval = poll_interval
        self.backoff = backoff or port_backoff()
        self.stop = stop or threading.Event()
        self.read_timeout = read_timeout
        self.read_size = read_size
        self._port: serial.SerialBase | None = None

    def open(self) -> None:
        """Opens the port now, so that a wrong name or a missing device is reported to the caller at once."""
        if self._port is None:
            self._port = open_port(self.url, self.settings, self.read_timeout)

    def close(self) -> None:
        if self._port is not None:
            port, self._port = self._port, None
            port.close()

    def chunks(self) -> Generator[bytes, None, None]:
        lost = False
        try:
            while not self.stop.is_set():
                try:
                    self.open()
                except OSError as error:
                    self.stop.wait(self._delay("%s %s unavailable: %s; retrying in %.2gs", error))
                    lost = True
                    continue
                if lost:
                    log.info("%s %s is back", self.name, self.url)
                    lost = False
                try:
                    yield from self._read()
                except OSError as error:
                    self.close()
                    delay = self._delay("%s %s lost: %s; reconnecting in %.2gs", error)
                    yield BREAK
                    self.stop.wait(delay)
                    lost = True
        finally:
            self.close()

    def _read(self) -> Generator[bytes, None, None]:
        port = self._port
        assert port is not None
        next_poll = time.monotonic()
        while not self.stop.is_set():
            if self.poll is not None and time.monotonic() >= next_poll:
                port.write(self.poll)
                next_poll = time.monotonic() + self.poll_interval
            chunk = port.read(self.read_size)
            if chunk:
                self.backoff.reset()
                yield chunk

    def _delay(self, message: str, error: Exception) -> float:
        delay = self.backoff.next()
        log.warning(message, self.name, self.url, error, delay)
        return delay
