"""One station's gateway: scale port -> protocol decoder -> segmenter -> outbox, and an uploader draining it.

An event is committed to the outbox (with the segmenter state that goes with it) as soon as the segmenter
produces it, before anything else happens to it. After a crash or `kill -9` the next run uploads what is
still waiting; the server answers `duplicate` for events it had already stored, so nothing is lost and
nothing is counted twice. A tray placement counted just before the crash is not counted again after it,
because the restored state says the scale must read near zero first.

When the scale's port is lost (unplugged, the connection dropped) the decoder is flushed before anything of
the next connection is read, so half a frame from before the break is never glued to the bytes after it.

When the outbox cannot take an event (the disk is full, the file became unwritable) the gateway does not stop:
it goes on reading and segmenting and keeps the events it could not store, in order, in memory, up to
`memory_queue` of them. These are "at risk" (a crash or power cut would lose them) and counted so in the status
line; one error a minute says so. The events are written, oldest first, as soon as the outbox takes writes
again (tried every `store_retry_s` and with each new event). When the memory queue is full, the events kept
are the oldest ones and each newer event is counted as lost, in the error and the status line: an event
already waiting is never dropped to make room, so what is kept stays one unbroken stretch of the day. The
first event lost is logged at once.

In kitchen mode the gateway also sends the scale's live weight for the kitchen terminal (live.py), from a thread
of its own: best effort, never in the outbox, and never in the way of reading the scale or uploading.

With an identity reader beside the scale (`id_port`: a barcode/QR scanner or card reader), a thread of its own
reads its codes (identity.py) and each code is paired with a tray (pairing.py: the tray settling up to `before_s`
after the scan, or a tray without one up to `after_s` before it). A plate is stored in the outbox at once, as every
event is, without a diner_ref; it waits there, not uploaded, until its pairing is decided (at once for a scan
before it, at most 2 × after_s later otherwise), and a code paired with it is written into it in the same
transaction as the pairing's state. Every scan and every decision is stored with that state, so a `kill -9` loses
no weighing, and after a restart the scans and trays that were waiting go on waiting for each other, by the same
clock; what is lost is only a scan the reader sent while the gateway was down, or in the instant between its
arrival and its storing. When the outbox takes no writes, decided codes are kept in memory and their plates held
back until they are written.
"""
import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from canteen.scale_driver import protocols
from canteen.scale_driver.backoff import Backoff
from canteen.scale_driver.identity import CodeLines
from canteen.scale_driver.live import LiveReading, LiveSender
from canteen.scale_driver.outbox import Outbox
from canteen.scale_driver.pairing import Decision, Pairing, PairingConfig
from canteen.scale_driver.protocols import Reading, SerialDefaults
from canteen.scale_driver.segmenter import Event, Mode, Segmenter, SegmenterConfig, State
from canteen.scale_driver.transport import ScalePort
from canteen.scale_driver.uploader import DEFAULT_BATCH_ITEMS, Uploader

log = logging.getLogger(__name__)

ID_SERIAL = SerialDefaults(9600, 8, "N", 1)  # what scanners and card readers send at out of the box
PAIRING_TICK_S = 0.1  # how often waiting trays are looked at again
PAIRING_LAG_S = 0.25  # beyond the stability window: how late the reader may hand over a tray that settled
MAX_UNPAIRED = 1000  # events stored after the pairing last was, given to it again at a start (a crash leaves one)


def utc_now() -> datetime:
    return datetime.now(UTC)


def arrival_times(previous: datetime | None, at: datetime, readings: list[Reading]) -> list[datetime]:
    """When each of the readings read together at `at` came off the line.

    A streaming indicator sends frames at a steady rate, so a chunk holding many of them means the gateway fell
    behind (a slow disk, a starved CPU) and the port's buffer kept what was sent meanwhile. Stamping them all
    `at` would squeeze a plate that settled and left during the stall into no time at all, too short a rest to
    count; they are spread evenly back to the previous chunk's arrival instead, the last one at `at`.
    """
    count = len(readings)
    if previous is None or count < 2:
        return [at] * count
    step = (at - previous) / count
    return [at - step * (count - 1 - index) for index in range(count)]


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
    memory_queue: int = 10_000  # events kept in memory while the outbox cannot store them
    store_retry_s: float = 1.0  # how often storing them is tried again
    store_error_every_s: float = 60.0  # how often the failure is logged while it lasts
    live_heartbeat_s: float = 5.0  # kitchen mode: how often a weight that holds is sent again
    id_port: str | None = None  # the identity reader's pyserial URL; None: no reader, every plate anonymous
    id_serial: SerialDefaults = ID_SERIAL
    pairing: PairingConfig = field(default_factory=PairingConfig)


class GatewayFailed(RuntimeError):
    """A part of the gateway failed; the cause is logged and chained."""


class BadPort(ValueError):
    """The port's name is not something pyserial can open (an unknown URL scheme, a malformed URL)."""

    def __init__(self, message: str, option: str = "--port") -> None:
        super().__init__(message)
        self.option = option


class Gateway:
    def __init__(self, config: GatewayConfig, *, clock: Callable[[], datetime] = utc_now,
                 upload_backoff: Backoff | None = None, port_backoff: Backoff | None = None) -> None:
        self.config = config
        self.clock = clock
        self.protocol = protocols.get(config.protocol)
        self.outbox = Outbox(config.outbox)
        self.uploader = Uploader(self.outbox, config.server, config.station_key, batch_size=config.batch_size,
                                 backoff=upload_backoff, clock=clock,
                                 report=lambda: {"at_risk": self.at_risk, "lost": self.lost},
                                 ready=(lambda: self._ready) if config.id_port else None)
        self.port_backoff = port_backoff
        self.decoder = self.protocol.decoder()
        self.segmenter = Segmenter(config.segmenter, self.outbox.load_state())
        self.live = (LiveSender(config.server, config.station_key, clock=clock,
                                tolerance_g=config.segmenter.tolerance_g, heartbeat_s=config.live_heartbeat_s)
                     if config.segmenter.mode is Mode.kitchen else None)
        self.readings = 0
        self.events = 0
        self.lost = 0  # events that could be kept neither in the outbox nor in memory
        self._memory: deque[tuple[Event, State]] = deque()  # events the outbox could not take yet, oldest first
        self._unsaved_state: State | None = None  # the segmenter state, when saving it failed
        self._memory_lock = threading.Lock()
        self._store_failed_at: float | None = None  # monotonic time of the last failed write, None: writes work
        self._store_logged_at: float | None = None
        self._failure: BaseException | None = None
        self.codes = CodeLines()
        self.pairing = self._pairing() if config.id_port else None
        self._pairing_lock = threading.Lock()
        self._pairing_saved = self.pairing.version if self.pairing else 0
        self._unwritten: dict[int, str] = {}  # codes paired with stored events that the outbox could not take yet
        self._pairing_failed_at: float | None = None
        self._ready = self._ready_through()

    def _pairing(self) -> Pairing:
        """The pairing as the last run left it. An event stored after the pairing last was (a crash between the
        two) waits again for its scan; without a stored pairing, every event in the outbox is decided."""
        lag_s = self.config.segmenter.stable_window_s + PAIRING_LAG_S
        last_seq = self.outbox.next_seq() - 1
        try:
            pairing = Pairing(self.config.pairing, lag_s=lag_s, last_seq=last_seq, state=self.outbox.load_pairing())
        except (ValueError, KeyError, TypeError) as error:
            log.warning("the pairing state in the outbox %s cannot be read (%s); the plates waiting in it go without "
                        "a scan", self.config.outbox, error)
            return Pairing(self.config.pairing, lag_s=lag_s, last_seq=last_seq)
        for item in self.outbox.pending(MAX_UNPAIRED, after=pairing.last_seq):
            pairing.tray(item.seq, item.measured_at)
        pairing.last_seq = max(pairing.last_seq, last_seq)
        return pairing

    def run(self, stop: threading.Event) -> None:
        """Read, segment and upload until `stop` is set; raises if a part of the gateway failed."""
        port = ScalePort(self.config.port, self.config.serial or self.protocol.serial, poll=self.protocol.poll,
                         backoff=self.port_backoff, stop=stop)
        parts: list[tuple[str, Callable[[threading.Event], None]]] = [
            ("uploader", self.uploader.run), ("status", self._report), ("keeper", self._keep)]
        if self.live is not None:
            parts.append(("live", self.live.run))
        if self.config.id_port is not None:
            id_port = ScalePort(self.config.id_port, self.config.id_serial, backoff=self.port_backoff, stop=stop,
                                name="identity reader port")
            try:
                id_port.open()
            except OSError as error:
                log.warning("cannot open the identity reader port %s yet: %s", self.config.id_port, error)
            except ValueError as error:
                raise BadPort(str(error), "--id-port") from None
            parts += [("identity", lambda _: self._read_codes(id_port)), ("pairing", self._pair)]
        threads = [threading.Thread(target=self._guarded, args=(name, target, stop), name=name, daemon=True)
                   for name, target in parts]
        try:
            try:
                port.open()
            except OSError as error:  # a device unplugged or not there yet: uploads go on, the port retries
                log.warning("cannot open the scale port %s yet: %s", self.config.port, error)
            except ValueError as error:
                raise BadPort(str(error)) from None
            reader = f", identity reader {self.config.id_port}" if self.config.id_port else ""
            log.info("gateway started: %s (%s)%s -> %s, outbox %s with %d events waiting", self.config.port,
                     self.config.protocol, reader, self.config.server, self.config.outbox, self.outbox.depth())
            for thread in threads:
                thread.start()
            self._guarded("reader", lambda _: self._read(port), stop)
        finally:
            stop.set()
            self.uploader.notify()
            if self.live is not None:
                self.live.notify()
            for thread in threads:
                if thread.is_alive():
                    thread.join()
            self.uploader.close()
            if self.live is not None:
                self.live.close()
            self._last_flush()
            if self.pairing is not None:
                with self._pairing_lock:
                    self._settle(self.clock())
            self.outbox.close()
        if self._failure is not None:
            raise GatewayFailed("the gateway stopped after an internal error") from self._failure
        log.info("gateway stopped")

    def _last_flush(self) -> None:
        """Stores what memory still holds before stopping; what cannot be stored is said to be lost."""
        with self._memory_lock:
            self._flush()
            if self._memory:
                self.lost += len(self._memory)
                log.error("stopping with %d events the outbox %s could not take: they are lost", len(self._memory),
                          self.config.outbox)
                self._memory.clear()

    def _guarded(self, name: str, target: Callable[[threading.Event], None], stop: threading.Event) -> None:
        """Runs one part; if it fails, the whole gateway stops (and its supervisor restarts it)."""
        try:
            target(stop)
        except Exception as error:
            log.exception("the gateway's %s failed", name)
            self._failure = self._failure or error
            stop.set()

    def _read(self, port: ScalePort) -> None:
        previous: datetime | None = None  # when the last readings arrived; None: none since the port (re)opened
        for chunk in port.chunks():
            at = self.clock()
            readings = self.decoder.feed(chunk) if chunk else self.decoder.flush()
            self._segment(arrival_times(previous if chunk else None, at, readings), readings)
            if not chunk:  # the port was lost: what it sends next follows no stall
                previous = None
            elif readings:
                previous = at

    def _segment(self, times: list[datetime], readings: list[Reading]) -> None:
        for at, reading in zip(times, readings, strict=True):
            self.readings += 1
            state = self.segmenter.state
            event = self.segmenter.feed(at, reading)
            if self.live is not None:
                self.live.offer(LiveReading(at, self.segmenter.contents(reading), reading.stable))
            if event is not None:
                self.events += 1
                self._store(event, self.segmenter.state)
            elif self.segmenter.state != state:
                self._store_state(self.segmenter.state)

    def _store(self, event: Event, state: State) -> None:
        """Queues the event behind any still in memory and stores what the outbox takes now."""
        with self._memory_lock:
            if len(self._memory) >= self.config.memory_queue:
                self.lost += 1
                self._storage_failed(None, now=self.lost == 1)  # the first loss is told at once
                return
            self._memory.append((event, state))
            if self._store_failed_at is None or time.monotonic() - self._store_failed_at >= self.config.store_retry_s:
                self._flush()

    def _store_state(self, state: State) -> None:
        with self._memory_lock:
            if self._memory:  # stored with the events when they are written
                self._unsaved_state = state
                return
            try:
                self.outbox.save_state(state)
            except sqlite3.Error as error:
                self._unsaved_state = state
                self._storage_failed(error)
            else:
                self._unsaved_state = None

    def _flush(self) -> None:
        """Writes the events kept in memory, oldest first, until the outbox fails; the caller holds the lock."""
        while self._memory:
            event, state = self._memory[0]
            try:
                seq = self.outbox.append(event, state=state)
            except sqlite3.Error as error:
                self._storage_failed(error)
                return
            self._memory.popleft()
            log.info("event %d: %d g at %s", seq, event.grams, event.measured_at.isoformat())
            if self.pairing is not None:
                with self._pairing_lock:
                    self.pairing.tray(seq, event.measured_at)
                    self._settle(self.clock())
            self.uploader.notify()
        if self._unsaved_state is not None:
            try:
                self.outbox.save_state(self._unsaved_state)
            except sqlite3.Error as error:
                self._storage_failed(error)
                return
            self._unsaved_state = None
        if self._store_failed_at is not None:
            self._store_failed_at = self._store_logged_at = None
            log.info("the outbox %s takes writes again: every event kept in memory is stored", self.config.outbox)

    def _storage_failed(self, error: sqlite3.Error | None, *, now: bool = False) -> None:
        """Notes a failed write (None: an event lost to a full memory queue); logs it once a minute at most,
        unless told to log `now`."""
        at = time.monotonic()
        self._store_failed_at = at
        if (not now and self._store_logged_at is not None
                and at - self._store_logged_at < self.config.store_error_every_s):
            return
        self._store_logged_at = at
        cause = f": {error}" if error is not None else ""
        log.error("cannot write to the outbox %s%s; the gateway goes on reading, %d events are kept in memory "
                  "(at risk until written, at most %d) and %d were lost since start; free space on its disk",
                  self.config.outbox, cause, len(self._memory), self.config.memory_queue, self.lost)

    def _keep(self, stop: threading.Event) -> None:
        """Retries storing the events kept in memory while the scale sends nothing new."""
        while not stop.wait(self.config.store_retry_s):
            with self._memory_lock:
                if self._memory or self._unsaved_state is not None:
                    self._flush()

    def _read_codes(self, port: ScalePort) -> None:
        pairing = self.pairing
        assert pairing is not None
        for chunk in port.chunks():
            at = self.clock()
            for code in self.codes.feed(chunk) if chunk else self.codes.flush():
                with self._pairing_lock:
                    pairing.scan(at, code)
                    self._settle(self.clock())

    def _pair(self, stop: threading.Event) -> None:
        """Decides the waiting trays as time goes by."""
        while not stop.wait(PAIRING_TICK_S):
            with self._pairing_lock:
                self._settle(self.clock())

    def _settle(self, now: datetime) -> None:
        """Decides what can be decided, stores the pairing if it changed and lets go of the plates decided; the
        caller holds the pairing lock."""
        assert self.pairing is not None
        decisions = self.pairing.decide(now)
        for decision in decisions:
            self._log_decision(decision)
            if decision.code is not None:
                self._unwritten[decision.seq] = decision.code
        if self.pairing.version != self._pairing_saved or self._unwritten:
            version = self.pairing.version
            try:
                self.outbox.save_pairing(self.pairing.state(), self._unwritten.items())
            except sqlite3.Error as error:
                self._pairing_unsaved(error)
            else:
                self._pairing_saved, self._pairing_failed_at = version, None
                self._unwritten.clear()
        ready = self._ready_through()
        if ready != self._ready:
            self._ready = ready
            self.uploader.notify()

    def _ready_through(self) -> int | None:
        """The last event number the uploader may send: the plates still waiting for their pairing, and those whose
        code is not written yet, are held back with every event after them."""
        if self.pairing is None:
            return None
        held = [*self.pairing.waiting, *self._unwritten]
        return min(held) - 1 if held else self.pairing.last_seq

    def _log_decision(self, decision: Decision) -> None:
        if decision.code is None:
            log.info("event %d: no scan, anonymous", decision.seq)
        else:  # the code itself names a diner: it stays out of the log
            offset_s = decision.offset_s or 0.0
            log.info("event %d: paired with a scan %.1f s %s it", decision.seq, abs(offset_s),
                     "before" if offset_s <= 0 else "after")

    def _pairing_unsaved(self, error: sqlite3.Error) -> None:
        at = time.monotonic()
        if self._pairing_failed_at is None or at - self._pairing_failed_at >= self.config.store_error_every_s:
            self._pairing_failed_at = at
            log.error("cannot write the pairing to the outbox %s: %s; %d plates paired with a scan are held back "
                      "until it is written", self.config.outbox, error, len(self._unwritten))

    @property
    def at_risk(self) -> int:
        """Events kept in memory only, because the outbox could not take them yet."""
        return len(self._memory)

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
        try:
            outbox = f"{self.outbox.depth()} waiting / {self.outbox.rejected_count()} rejected"
        except sqlite3.Error as error:
            outbox = f"unreadable ({error})"
        live = f", {self.live.status()}" if self.live is not None else ""
        pairing = self.pairing
        scans = (f", plates {pairing.paired} with a scan / {pairing.anonymous} anonymous / {len(pairing.waiting)} "
                 f"waiting, scans {pairing.unpaired} without a plate / {pairing.double} double / "
                 f"{self.codes.dropped} unreadable" if pairing is not None else "")
        return (f"{rate:.1f} readings/s, events {self.events - events_before} new / {self.events} since start, "
                f"outbox {outbox}, {self.at_risk} at risk in memory, {self.lost} lost, "
                f"last upload {upload}, bad frames {self.decoder.bad_frames}{live}{scans}")
