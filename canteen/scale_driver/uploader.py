"""Ships outbox events to the server in batches.

An event leaves the outbox only when the server answered for it: accepted or duplicate (it already had
that station and seq, e.g. from an upload whose answer was lost) deletes it; rejected moves it to the
outbox's `rejected` table with the server's reason, so it is neither retried forever nor lost. Anything
else (no connection, timeout, 5xx, 429, an answer that does not match the batch) deletes nothing and is
retried with capped exponential backoff and jitter. A refused station key (401/403) is logged as an
error and retried the same way: the key may be fixed or rotated on the server while the gateway runs.
"""
import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

import httpx

from canteen.scale_driver.outbox import Item, Outbox, Rejection

log = logging.getLogger(__name__)

DEFAULT_BATCH_ITEMS = 100
MAX_BATCH_ITEMS = 1000  # the server's limit per POST /api/v1/weighings
RETRYABLE_STATUS = {408, 429}
STATUSES = {"accepted", "duplicate", "rejected"}


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

    def describe(self) -> str:
        if self.outcome is Outcome.sent:
            return f"sent ({self.accepted} accepted, {self.duplicate} duplicate, {self.rejected} rejected)"
        return f"{self.outcome.value} ({self.detail})" if self.detail else self.outcome.value


class Backoff:
    """Delays that double from `initial` up to `cap`; each is drawn between half and all of that value."""

    def __init__(self, initial_s: float = 0.5, cap_s: float = 60.0, rng: random.Random | None = None) -> None:
        self.initial_s, self.cap_s = initial_s, cap_s
        self._rng = rng or random.Random()
        self.failures = 0

    def next(self) -> float:
        ceiling = min(self.cap_s, self.initial_s * 2 ** self.failures)
        self.failures += 1
        return self._rng.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.failures = 0


def _payload(item: Item) -> dict:
    """One item as the server's WeighingItem expects it."""
    body = {"seq": item.seq, "measured_at": item.measured_at.isoformat(), "grams": item.grams}
    if item.diner_ref is not None:
        body["diner_ref"] = item.diner_ref
    if item.category is not None:
        body["category"] = item.category
    return body


def _results(response: httpx.Response, items: list[Item]) -> list[dict] | None:
    """The per-item results in batch order, or None unless there is exactly one valid result per item."""
    try:
        results = sorted(response.json()["results"], key=lambda result: result["index"])
        valid = ([result["index"] for result in results] == list(range(len(items)))
                 and all(result["status"] in STATUSES and result.get("seq") in (None, item.seq)
                         for item, result in zip(items, results)))
    except (ValueError, KeyError, TypeError):
        return None
    return results if valid else None


class Uploader:
    def __init__(self, outbox: Outbox, server: str, station_key: str, *,
                 batch_size: int = DEFAULT_BATCH_ITEMS, timeout_s: float = 10.0, backoff: Backoff | None = None,
                 idle_s: float = 1.0, clock: Callable[[], datetime] = utc_now) -> None:
        if not 1 <= batch_size <= MAX_BATCH_ITEMS:
            raise ValueError(f"the batch size must be between 1 and {MAX_BATCH_ITEMS}")
        self.outbox = outbox
        self.batch_size = batch_size
        self.backoff = backoff or Backoff()
        self.idle_s = idle_s
        self.clock = clock
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
                stop.wait(self.backoff.next())

    def upload_once(self) -> Attempt:
        """Send the oldest waiting events once and settle them according to the server's answer."""
        items = self.outbox.pending(self.batch_size)
        if not items:
            return self._record(Attempt(Outcome.idle, self.clock()))
        try:
            response = self._client.post(self._url, json={"items": [_payload(item) for item in items]})
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
            log.warning("the server answered HTTP %d to an upload; will retry", response.status_code)
            return self._record(Attempt(Outcome.unavailable, self.clock(), detail=f"HTTP {response.status_code}"))
        if response.status_code != 200:
            log.error("the server refused a batch of %d events with HTTP %d: %s; will retry",
                      len(items), response.status_code, response.text[:500])
            return self._record(Attempt(Outcome.refused, self.clock(), detail=f"HTTP {response.status_code}"))
        return self._record(self._settle(items, response))

    def _settle(self, items: list[Item], response: httpx.Response) -> Attempt:
        results = _results(response, items)
        if results is None:
            log.warning("the server's answer does not match the batch that was sent; will retry")
            return Attempt(Outcome.unavailable, self.clock(), detail="unexpected answer")
        done, rejections = [], []
        for item, result in zip(items, results):
            if result["status"] == "rejected":
                rejection = Rejection(item.seq, result.get("field"), result.get("reason") or "no reason given")
                rejections.append(rejection)
                log.warning("the server rejected event %d (%d g at %s): %s%s; it is kept in the outbox's "
                            "rejected table", item.seq, item.grams, item.measured_at.isoformat(),
                            f"{rejection.field}: " if rejection.field else "", rejection.reason)
            else:
                done.append(item.seq)
        self.outbox.remove(done)
        self.outbox.reject(rejections, self.clock())
        accepted = sum(result["status"] == "accepted" for result in results)
        return Attempt(Outcome.sent, self.clock(), accepted=accepted, duplicate=len(done) - accepted,
                       rejected=len(rejections))

    def _record(self, attempt: Attempt) -> Attempt:
        if attempt.outcome is not Outcome.idle:
            self.last = attempt
        return attempt

    def close(self) -> None:
        self._client.close()
