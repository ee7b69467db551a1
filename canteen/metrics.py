"""The server's Prometheus metrics: what they count, and how a scrape reads them (canteen/web/metrics.py serves
them at /metrics).

Ingest (items by station kind and result), request latency by route template, job runs and durations, each
gateway's last upload and outbox as it reports them (`X-Gateway-Status`, see `parse_gateway_status`), and the
database pools' use.

With several uvicorn workers every worker counts on its own: `canteen serve` then points
PROMETHEUS_MULTIPROC_DIR at a fresh directory before the workers start, prometheus_client keeps each
worker's values in files there, and a scrape (whichever worker answers it) sums them all. The directory must
be set before this module is imported, which is why the CLI sets it and the workers only inherit it. A
scheduler process given the same directory adds its job counts to the server's scrape.

Label values are bounded: a route's template, never its path (an unknown path is `unmatched`); a status class
(2xx); a method from a fixed list. Per-station gauges are one series per station: 5,000 for a province.
"""
import os
import re
from datetime import datetime
from typing import Protocol

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy import event
from sqlalchemy.engine import Engine

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
GATEWAY_STATUS_HEADER = "X-Gateway-Status"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"  # a request no route took (404s for whatever path a scanner tries)

INGEST_ITEMS = Counter("canteen_ingest_items", "Weighing items posted by stations, by their result.",
                       ["station_kind", "result"])
INGEST_BATCHES = Counter("canteen_ingest_batches", "Weighing batches posted by stations.", ["station_kind"])
PLATE_CODES = Counter("canteen_plate_codes", "Plates weighed with a code scanned beside the scale, by whether it "
                      "named a diner of the plate's canteen (attributed) or no one (unknown: another canteen's or "
                      "another meal's booking, an unknown card).", ["result"])
REQUEST_SECONDS = Histogram("canteen_http_request_duration_seconds",
                            "Time from a request's arrival to the end of its answer, by route template.",
                            ["method", "route", "status"],
                            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))
JOB_RUNS = Counter("canteen_job_runs", "Background job runs by outcome: ok, failed, locked (running in another "
                   "process), slot_taken (another scheduler ran the slot).", ["job", "outcome"])
JOB_SECONDS = Histogram("canteen_job_duration_seconds", "Duration of the background job runs that ran.",
                        ["job", "outcome"],
                        buckets=(0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 1800.0, 3600.0))
# A gateway's latest report wins, whichever worker took it (mostrecent); the last upload is the latest of all.
GATEWAY_OUTBOX = Gauge("canteen_gateway_outbox_depth", "Events waiting in the station gateway's outbox, as it "
                       "reported with its last batch.", ["station"], multiprocess_mode="mostrecent")
GATEWAY_AT_RISK = Gauge("canteen_gateway_at_risk_events", "Events the station gateway keeps in memory only (its "
                        "outbox could not store them), as it reported.", ["station"], multiprocess_mode="mostrecent")
GATEWAY_LOST = Gauge("canteen_gateway_lost_events", "Events the station gateway could keep nowhere since it "
                     "started, as it reported.", ["station"], multiprocess_mode="mostrecent")
GATEWAY_LAST_UPLOAD = Gauge("canteen_gateway_last_upload_timestamp_seconds", "When the station last posted a "
                            "batch (Unix time; its age is time() minus this).", ["station"], multiprocess_mode="max")
POOL_SIZE = Gauge("canteen_db_pool_size", "Connections the database pool keeps (summed over the workers).",
                  ["database"], multiprocess_mode="livesum")
POOL_CHECKED_OUT = Gauge("canteen_db_pool_checked_out", "Connections in use (summed over the workers).",
                         ["database"], multiprocess_mode="livesum")

_STATUS_KEYS = {"outbox": GATEWAY_OUTBOX, "at_risk": GATEWAY_AT_RISK, "lost": GATEWAY_LOST}
_STATUS_PAIR = re.compile(r"\s*([a-z_]{1,32})\s*=\s*([0-9]{1,12})\s*")


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def parse_gateway_status(header: str | None) -> dict[str, int]:
    """The header's known counts (`outbox=12, at_risk=0, lost=0`); {} for a missing or malformed header.

    Leniently: anyone can send any header, and a gateway's report is worth less than its batch, so a header
    that is not a comma-separated list of name=count pairs is ignored whole, unknown names are skipped, and
    nothing about it ever fails the request."""
    if not header or len(header) > 512:
        return {}
    counts: dict[str, int] = {}
    for part in header.split(","):
        pair = _STATUS_PAIR.fullmatch(part)
        if pair is None:
            return {}
        if pair[1] in _STATUS_KEYS:
            counts[pair[1]] = int(pair[2])
    return counts


class Station(Protocol):
    @property
    def id(self) -> int | None: ...
    @property
    def kind(self) -> str: ...


class BatchCounts(Protocol):
    accepted: int
    duplicate: int
    rejected: int


def observe_batch(station: Station, result: BatchCounts, gateway_status: str | None, now: datetime) -> None:
    """A station's batch was answered: its items' results, and the gateway's report that came with it (the
    `X-Gateway-Status` header's value)."""
    kind = str(station.kind)
    INGEST_BATCHES.labels(kind).inc()
    for outcome, count in (("accepted", result.accepted), ("duplicate", result.duplicate),
                           ("rejected", result.rejected)):
        if count:
            INGEST_ITEMS.labels(kind, outcome).inc(count)
    if station.id is None:
        return
    label = str(station.id)
    GATEWAY_LAST_UPLOAD.labels(label).set(now.timestamp())
    for name, count in parse_gateway_status(gateway_status).items():
        _STATUS_KEYS[name].labels(label).set(count)


def observe_request(method: str, route: str, status_code: int, seconds: float) -> None:
    REQUEST_SECONDS.labels(method if method in METHODS else "other", route, f"{status_code // 100}xx").observe(seconds)


def observe_job(name: str, outcome: str, seconds: float | None = None) -> None:
    JOB_RUNS.labels(name, outcome).inc()
    if seconds is not None:
        JOB_SECONDS.labels(name, outcome).observe(seconds)


def watch_pool(engine: Engine, database: str) -> None:
    """Keep the pool gauges of `engine` current: its size now, the connections in use at each checkout and
    checkin. A pool without a size (SQLite in memory: one connection per thread) is not watched."""
    pool = engine.pool
    size = getattr(pool, "size", None)
    checked_out = getattr(pool, "checkedout", None)
    if not callable(size) or not callable(checked_out):
        return
    POOL_SIZE.labels(database).set(size())
    in_use = POOL_CHECKED_OUT.labels(database)

    def on_checkout(*_: object) -> None:
        in_use.set(checked_out())

    def on_checkin(*_: object) -> None:
        in_use.set(max(0, checked_out() - 1))  # the checkin event comes before the connection is back in the pool

    event.listen(engine, "checkout", on_checkout)
    event.listen(engine, "checkin", on_checkin)


def worker_stopped(pid: int) -> None:
    """A worker ends: its live gauges (the pool's) stop counting in the sum."""
    if multiprocess_dir() is not None:
        multiprocess.mark_process_dead(pid)


def exposition() -> tuple[bytes, str]:
    """The metrics in Prometheus' text format and its content type: every worker's, in multiprocess mode."""
    if multiprocess_dir() is None:
        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry), CONTENT_TYPE_LATEST
