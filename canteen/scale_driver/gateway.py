"""One station's gateway: scale port -> protocol decoder -> segmenter -> outbox, and an uploader draining it.

An event is committed to the outbox (with the segmenter state that goes with it) as soon as the segmenter
produces it, before anything else happens to it. After a crash or `kill -9` the next run uploads what is
still waiting; the server answers `duplicate` for events it had already stored, so nothing is lost and
nothing is counted twice. A tray placement counted just before the crash is not counted again after it,
because the restored state says the scale must read near zero first.

When the scale's port is lost (unplugged, the connection dropped) the decoder is flushed before anything of
the next connection is read, so half a frame from before the break is never glued to the bytes after it.
"""
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from canteen.scale_driver import protocols
from canteen.scale_driver.backoff import Backoff
from canteen.scale_driver.outbox import Outbox
from canteen.scale_driver.protocols import Reading, SerialDefaults
from canteen.scale_driver.segmenter import Segmenter, SegmenterConfig
from canteen.scale_driver.transport import ScalePort
from canteen.scale_driver.uploader import DEFAULT_BATCH_ITEMS, Uploader

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class GatewayConfig:
    port: str  # a pyserial URL: /dev/ttyUSB0, socket://host:port, …
    protocol: str
    server: str
    station_key: str
    outbox: Path
    serial: SerialDefaults | None = None  # None: the protocol's defaults
    segmenter: SegmenterConfig = field(default_factory=SegmenterConfig)
    batch_size: int = DEFAULT_BATCH_ITEMS
    status_every_s: float = 60.0


class GatewayFailed(RuntimeError):
    """A part of the gateway failed; the cause is logged and chained."""


class BadPort(ValueError):
    """The port's name is not something pyserial can open (an unknown URL scheme, a malformed URL)."""


class Gateway:
    def __init__(self, config: GatewayConfig, *, clock: Callable[[], datetime] = utc_now,
                 upload_backoff: Backoff | None = None, port_backoff: Backoff | None = None) -> None:
        self.config = config
        self.clock = clock
        self.protocol = protocols.get(config.protocol)
        self.outbox = Outbox(config.outbox)
        self.uploader = Uploader(self.outbox, config.server, config.station_key, batch_size=config.batch_size,
                                 backoff=upload_backoff, clock=clock)
        self.port_backoff = port_backoff
        self.decoder = self.protocol.decoder()
        self.segmenter = Segmenter(config.segmenter, self.outbox.load_state())
        self.readings = 0
        self.events = 0
        self._failure: BaseException | None = None

    def run(self, stop: threading.Event) -> None:
        """Read, segment and upload until `stop` is set; raises if a part of the gateway failed."""
        port = ScalePort(self.config.port, self.config.serial or self.protocol.serial, poll=self.protocol.poll,
                         backoff=self.port_backoff, stop=stop)
        threads = [threading.Thread(target=self._guarded, args=(name, target, stop), name=name, daemon=True)
                   for name, target in (("uploader", self.uploader.run), ("status", self._report))]
        try:
            try:
                port.open()
            except OSError as error:  # a device unplugged or not there yet: uploads go on, the port retries
                log.warning("cannot open the scale port %s yet: %s", self.config.port, error)
            except ValueError as error:
                raise BadPort(str(error)) from None
            log.info("gateway started: %s (%s) -> %s, outbox %s with %d events waiting", self.config.port,
                     self.config.protocol, self.config.server, self.config.outbox, self.outbox.depth())
            for thread in threads:
                thread.start()
            self._guarded("reader", lambda _: self._read(port), stop)
        finally:
            stop.set()
            self.uploader.notify()
            for thread in threads:
                if thread.is_alive():
                    thread.join()
            self.uploader.close()
            self.outbox.close()
        if self._failure is not None:
            raise GatewayFailed("the gateway stopped after an internal error") from self._failure
        log.info("gateway stopped")

    def _guarded(self, name: str, target: Callable[[threading.Event], None], stop: threading.Event) -> None:
        """Runs one part; if it fails, the whole gateway stops (and its supervisor restarts it)."""
        try:
            target(stop)
        except Exception as error:
            log.exception("the gateway's %s failed", name)
            self._failure = self._failure or error
            stop.set()

    def _read(self, port: ScalePort) -> None:
        for chunk in port.chunks():
            at = self.clock()
            self._segment(at, self.decoder.feed(chunk) if chunk else self.decoder.flush())

    def _segment(self, at: datetime, readings: list[Reading]) -> None:
        for reading in readings:
            self.readings += 1
            state = self.segmenter.state
            event = self.segmenter.feed(at, reading)
            if event is not None:
                seq = self.outbox.append(event, state=self.segmenter.state)
                self.events += 1
                self.uploader.notify()
                log.info("event %d: %d g at %s", seq, event.grams, event.measured_at.isoformat())
            elif self.segmenter.state != state:
                self.outbox.save_state(self.segmenter.state)

    def _report(self, stop: threading.Event) -> None:
        readings, events, since = self.readings, self.events, time.monotonic()
        while not stop.wait(self.config.status_every_s):
            now = time.monotonic()
            log.info("status: %s", self.status(readings, events, now - since))
            readings, events, since = self.readings, self.events, now

    def status(self, readings_before: int = 0, events_before: int = 0, seconds: float = 0.0) -> str:
        rate = (self.readings - readings_before) / seconds if seconds > 0 else 0.0
        last = self.uploader.last
        upload = f"{last.at:%Y-%m-%d %H:%M:%S}Z {last.describe()}" if last else "none yet"
        return (f"{rate:.1f} readings/s, events {self.events - events_before} new / {self.events} since start, "
                f"outbox {self.outbox.depth()} waiting / {self.outbox.rejected_count()} rejected, "
                f"last upload {upload}, bad frames {self.decoder.bad_frames}")
