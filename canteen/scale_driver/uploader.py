"""Ships outbox events to the server in batches.

An event leaves the outbox only when the server answered for it: accepted or duplicate (it already had
that station and seq, e.g. from an upload whose answer was lost) deletes it; rejected moves it to the
outbox's `rejected` table with the server's reason, so it is neither retried forever nor lost. Anything
else (no connection, timeout, 5xx, 429, an answer that does not match the batch) deletes nothing and is
retried with capped exponential backoff and jitter. A 429 or 503 answer with `Retry-After` (seconds or an
HTTP date) waits at least that long before the next try, up to `max_retry_after_s` (10 minutes: a wrong
header must not stall the station for a day). A refused station key (401/403) is logged as an error and
retried the same way: the key may be fixed or rotated on the server while the gateway runs. When the outbox
cannot be read or written (a full disk), the attempt counts as unavailable and is retried: events the server
took but the outbox could not delete are sent again later, and the server answers `duplicate` for them.

Each batch carries the gateway's status in an `X-Gateway-Status` header (`outbox=120, at_risk=0, lost=0`):
the events waiting in the outbox, this batch's included, and whatever counts the gateway adds (`report`), so
that the server's /metrics shows every station's backlog without a connection of its own to the scale box.

`ready`, when given, says up to which number events may go: a station with an identity reader holds back an event
until its scan is paired with it (pairing.py), so that the event leaves with its diner_ref.
"""
import logging
import sqlite3
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any

import httpx

from canteen.scale_driver.backoff import Backoff
from canteen.scale_driver.outbox import Item, Outbox, Rejection

log = logging.getLogger(__name__)

DEFAULT_BATCH_ITEMS = 100
MAX_BATCH_ITEMS = 1000  # the server's limit per POST /api/v1/weighings
RETRYABLE_STATUS = {408, 429}
RETRY_AFTER_STATUS = {429, 503}
MAX_RETRY_AFTER_S = 600.0
STATUSES = {"accepted", "duplicate", "rejected"}
STATUS_HEADER = "X-Gateway-Status"


def utc_now() -> datetime:
    return datetime.now(UTC)


class Outcome(StrEnum):
    idle = "idle"  # nothing was waiting
    sent = "sent"  # the server answered for every item
    unavailable = "unavailable"  # network error, timeout, 5xx, 429 or a malformed answer
    unauthorized = "unauthorized"  # the station key was refused
    refused = "refused"  # any other HTTP error: the batch as a whole was not taken


@dataclass(frozen=True)
class Attempt:
    outcome: Outcome
    at: datetime
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    detail: str = ""
    retry_after_s: float | None = None  # the server asked to wait this long before the next try

    def describe(self) -> str:
        if self.outcome is Outcome.sent:
            return f"sent ({self.accepted} accepted, {self.duplicate} duplicate, {self.rejected} rejected)"
        return f"{self.outcome.value} ({self.detail})" if self.detail else self.outcome.value


def upload_backoff() -> Backoff:
    """Re-sending after a failed upload: from half a second up to a minute between tries."""
    return Backoff(initial_s=0.5, cap_s=60.0)


def retry_after_s(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from `now` by a Retry-After header value (delay-seconds or an HTTP date), None if unusable.

    A date in the past means no wait (0); a date without a zone is taken as UTC (HTTP dates are GMT).
    """
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def status_header(counts: Mapping[str, int]) -> str:
    """The X-Gateway-Status value: name=count pairs, comma-separated."""
    return ", ".join(f"{name}={count}" for name, count in counts.items())


def _payload(item: Item) -> dict[str, Any]:
    """One item as the server's WeighingItem expects it."""
    body: dict[str, Any] = {"seq": item.seq, "measured_at": item.measured_at.isoformat(), "grams": item.grams}
    if item.diner_ref is not None:
        body["diner_ref"] = item.diner_ref
    if item.category is not None:
        body["category"] = item.category
    return body


def _results(response: httpx.Response, items: list[Item]) -> list[dict[str, Any]] | None:
    """The per-item results in batch order, or None unless there is exactly one valid result per item."""
    try:
        results: list[dict[str, Any]] = sorted(response.json()["results"], key=lambda result: result["index"])
        valid = ([result["index"] for result in results] == list(range(len(items)))
                 and all(result["status"] in STATUSES and result.get("seq") in (None, item.seq)
                         for item, result in zip(items, results, strict=True)))
    except (ValueError, KeyError, TypeError):
        return None
    return results if valid else None


class Uploader:
    def __init__(self, outbox: Outbox, server: str, station_key: str, *,
                 batch_size: int = DEFAULT_BATCH_ITEMS, timeout_s: float = 10.0, backoff: Backoff | None = None,
                 idle_s: float = 1.0, clock: Callable[[], datetime] = utc_now,
                 max_retry_after_s: float = MAX_RETRY_AFTER_S,
                 report: Callable[[], Mapping[str, int]] | None = None,
                 ready: Callable[[], int | None] | None = None) -> None:
        """`report` gives the gateway's own counts to send with each batch, `ready` the last event number that may
        be sent (see the module's docstring)."""
        if not 1 <= batch_size <= MAX_BATCH_ITEMS:
            raise ValueError(f"the batch size must be between 1 and {MAX_BATCH_ITEMS}")
        self.outbox = outbox
        self.batch_size = batch_size
        self.backoff = backoff or upload_backoff()
        self.idle_s = idle_s
        self.max_retry_after_s = max_retry_after_s
        self.clock = clock
        self.report = report
        self.ready = ready
        self.last: Attempt | None = None
        self._url = f"{server.rstrip('/')}/api/v1/weighings"
        self._client = httpx.Client(timeout=timeout_s, headers={"Authorization": f"Bearer {station_key}"})
        self._wake = threading.Event()

    def notify(self) -> None:
        """New events are waiting (or the gateway is stopping): end an idle wait now."""
        self._wake.set()

    def run(self, stop: threading.Event) -> None:
        """Upload until `stop` is set; idle waits end early on `notify()`."""
        while not stop.is_set():
            self._wake.clear()
            attempt = self.upload_once()
            if attempt.outcome is Outcome.sent:
                self.backoff.reset()
            elif attempt.outcome is Outcome.idle:
                self._wake.wait(self.idle_s)
            else:
                stop.wait(self.delay_after(attempt))

    def delay_after(self, attempt: Attempt) -> float:
        """How long to wait after a failed attempt: the backoff's next delay, or longer if the server asked."""
        delay = self.backoff.next()
        if attempt.retry_after_s is not None:
            delay = max(delay, min(attempt.retry_after_s, self.max_retry_after_s))
        return delay

    def upload_once(self) -> Attempt:
        """Send the oldest waiting events once and settle them according to the server's answer."""
        try:
            items = self.outbox.pending(self.batch_size, self.ready() if self.ready is not None else None)
        except sqlite3.Error as error:
            log.warning("cannot read the outbox: %s; will retry", error)
            return self._record(Attempt(Outcome.unavailable, self.clock(), detail="outbox unreadable"))
        if not items:
            return self._record(Attempt(Outcome.idle, self.clock()))
        try:
            response = self._client.post(self._url, json={"items": [_payload(item) for item in items]},
                                         headers=self._status())
        except httpx.HTTPError as error:
            log.warning("upload of %d events failed: %s; will retry", len(items), error)
            return self._record(Attempt(Outcome.unavailable, self.clock(), detail=type(error).__name__))
        if response.status_code in (401, 403):
            log.error("the server refused the station key (HTTP %d): check the key given to the gateway; "
                      "%d events stay in the outbox and will be retried", response.status_code,
                      self.outbox.depth())
            return self._record(Attempt(Outcome.unauthorized, self.clock(), detail=f"HTTP {response.status_code}"))
        if response.status_code == 413 and self.batch_size > 1:
            self.batch_size = max(1, self.batch_size // 2)
            log.warning("the server refused a batch of %d events as too large; sending %d at a time from now on",
                        len(items), self.batch_size)
            return self._record(Attempt(Outcome.refused, self.clock(), detail="HTTP 413"))
        if response.status_code >= 500 or response.status_code in RETRYABLE_STATUS:
            wait = self._retry_after(response) if response.status_code in RETRY_AFTER_STATUS else None
            if wait is None:
                log.warning("the server answered HTTP %d to an upload; will retry", response.status_code)
            else:
                log.warning("the server answered HTTP %d to an upload and asked to wait %gs (Retry-After); will "
                            "retry", response.status_code, wait)
            return self._record(Attempt(Outcome.unavailable, self.clock(), detail=f"HTTP {response.status_code}",
                                        retry_after_s=wait))
        if response.status_code != 200:
            log.error("the server refused a batch of %d events with HTTP %d: %s; will retry",
                      len(items), response.status_code, response.text[:500])
            return self._record(Attempt(Outcome.refused, self.clock(), detail=f"HTTP {response.status_code}"))
        return self._record(self._settle(items, response))

    def _status(self) -> dict[str, str]:
        """The status header for the batch about to go; without it if the outbox cannot be counted (the batch
        matters more than the report)."""
        try:
            counts = {"outbox": self.outbox.depth()}
        except sqlite3.Error:
            return {}
        if self.report is not None:
            counts.update(self.report())
        return {STATUS_HEADER: status_header(counts)}

    def _retry_after(self, response: httpx.Response) -> float | None:
        """The answer's Retry-After in seconds; an HTTP date counts from the answer's own Date when it has one,
        so that a gateway whose clock is off still waits as long as the server meant."""
        now = self.clock()
        if date := response.headers.get("Date"):
            try:
                now = parsedate_to_datetime(date)
            except (TypeError, ValueError, IndexError):
                pass
            if now.tzinfo is None:
                now = now.replace(tzinfo=UTC)
        return retry_after_s(response.headers.get("Retry-After"), now)

    def _settle(self, items: list[Item], response: httpx.Response) -> Attempt:
        results = _results(response, items)
        if results is None:
            log.warning("the server's answer does not match the batch that was sent; will retry")
            return Attempt(Outcome.unavailable, self.clock(), detail="unexpected answer")
        done: list[int] = []
        rejections: list[Rejection] = []
        for item, result in zip(items, results, strict=True):
            if result["status"] == "rejected":
                rejection = Rejection(item.seq, result.get("field"), result.get("reason") or "no reason given")
                rejections.append(rejection)
                log.warning("the server rejected event %d (%d g at %s): %s%s; it is kept in the outbox's "
                            "rejected table", item.seq, item.grams, item.measured_at.isoformat(),
                            f"{rejection.field}: " if rejection.field else "", rejection.reason)
            else:
                done.append(item.seq)
        try:
            self.outbox.remove(done)
            self.outbox.reject(rejections, self.clock())
        except sqlite3.Error as error:
            log.warning("the server answered for %d events but the outbox cannot note it: %s; they will be sent "
                        "again (the server keeps each once)", len(items), error)
            return Attempt(Outcome.unavailable, self.clock(), detail="outbox not writable")
        accepted = sum(result["status"] == "accepted" for result in results)
        return Attempt(Outcome.sent, self.clock(), accepted=accepted, duplicate=len(done) - accepted,
                       rejected=len(rejections))

    def _record(self, attempt: Attempt) -> Attempt:
        if attempt.outcome is not Outcome.idle:
            self.last = attempt
        return attempt

    def close(self) -> None:
        self._client.close()
