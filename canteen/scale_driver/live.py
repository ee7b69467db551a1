"""A kitchen scale's live weight for its terminal: sent while the weight moves, so the page follows the scale.

Best effort, beside the weighings: nothing of it goes into the outbox, and the reader never waits for the
network. The reader offers every reading; one that differs from the last one taken (by more than the tolerance,
in stability, or in having a weight at all) replaces whatever waits in a one-reading slot. A sender thread
posts the slot's reading at most once every `every_s`: a moving weight is sent about once a second, and the
reading it comes to rest on (stable, or the empty scale) follows within a second, so the page ends on the right
value. While the weight holds, nothing changes and nothing is sent but the held reading every `heartbeat_s`,
time-stamped anew: the terminal takes a scale it has heard nothing from for 10 s for one that stopped sending.
A scale that does send nothing (unplugged, or an indicator silent while overloaded) should show as such, so the
held reading is sent again only while readings still come in.

Failures (no connection, a timeout, any answer but 2xx) are counted for the gateway's status line; only the
change from getting through to failing, and back, is logged.
"""
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import httpx

log = logging.getLogger(__name__)

PATH = "/api/v1/stations/me/reading"


@dataclass(frozen=True)
class LiveReading:
    measured_at: datetime  # aware
    grams: int | None  # None: the scale shows no weight (overload, underload)
    stable: bool

    def body(self) -> dict[str, Any]:
        return {"grams": self.grams, "stable": self.stable, "measured_at": self.measured_at.isoformat()}

    def differs(self, other: "LiveReading", tolerance_g: int) -> bool:
        if self.stable != other.stable or (self.grams is None) != (other.grams is None):
            return True
        return self.grams is not None and other.grams is not None and abs(self.grams - other.grams) > tolerance_g


class LiveSender:
    def __init__(self, server: str, station_key: str, *, clock: Callable[[], datetime], tolerance_g: int = 5,
                 every_s: float = 1.0, heartbeat_s: float = 5.0, timeout_s: float = 2.0) -> None:
        self.clock = clock
        self.tolerance_g = tolerance_g
        self.every_s = every_s
        self.heartbeat_s = heartbeat_s
        self.sent = 0
        self.failed = 0
        self._url = f"{server.rstrip('/')}{PATH}"
        self._client = httpx.Client(timeout=timeout_s, headers={"Authorization": f"Bearer {station_key}"})
        self._taken: LiveReading | None = None  # the last reading put in the slot (the reader's side)
        self._offered_at = float("-inf")  # monotonic time of the last reading offered
        self._slot: LiveReading | None = None  # the newest reading not sent yet
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._failing = False

    def offer(self, reading: LiveReading) -> None:
        """One reading off the scale; cheap, and never waits for the network."""
        self._offered_at = time.monotonic()
        if self._taken is not None and not reading.differs(self._taken, self.tolerance_g):
            return
        self._taken = reading
        with self._lock:
            self._slot = reading
        self._wake.set()

    def notify(self) -> None:
        """The gateway is stopping: end a wait now."""
        self._wake.set()

    def run(self, stop: threading.Event) -> None:
        """Send until `stop` is set (see the module's docstring)."""
        last: LiveReading | None = None
        sent_at = 0.0  # monotonic time of the last attempt
        while not stop.is_set():
            self._wake.clear()
            with self._lock:
                reading, self._slot = self._slot, None
            now = time.monotonic()
            due_in = sent_at + self.heartbeat_s - now
            if reading is None and last is not None and due_in <= 0 and now - self._offered_at < self.heartbeat_s:
                reading = replace(last, measured_at=self.clock())
            if reading is None:  # nothing new: wait for a change, or for the heartbeat (again, if the scale is silent)
                self._wake.wait(due_in if last is not None and due_in > 0 else self.heartbeat_s)
                continue
            sent_at = time.monotonic()
            self._send(reading)
            last = reading
            stop.wait(self.every_s)

    def _send(self, reading: LiveReading) -> None:
        try:
            response = self._client.post(self._url, json=reading.body())
        except httpx.HTTPError as error:
            self._failed(type(error).__name__)
            return
        if not response.is_success:
            self._failed(f"HTTP {response.status_code}: {response.text[:200]}")
            return
        self.sent += 1
        if self._failing:
            self._failing = False
            log.info("live readings get through to %s again", self._url)

    def _failed(self, detail: str) -> None:
        self.failed += 1
        if not self._failing:
            self._failing = True
            log.warning("live readings to %s fail (%s): the kitchen terminal shows no live weight until they get "
                        "through; the weighings are not affected", self._url, detail)

    def status(self) -> str:
        return f"live readings {self.sent} sent / {self.failed} failed"

    def close(self) -> None:
        self._client.close()
