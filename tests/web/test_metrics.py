"""/metrics: ingest results, request latency by route template, job runs, the gateways' reports, the pools, who may
read it, and one scrape summing the counts of two uvicorn workers.

Counters live for the whole test process (both databases' runs add to them), so each test reads them before and
after what it does and checks the difference.
"""
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from starlette.requests import Request

from canteen import db, metrics
from canteen.config import Settings
from canteen.jobs import service as jobs
from canteen.web.metrics import may_read_metrics
from tests.live import free_port, wait_for

BIN = Path(sys.executable).parent


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(scraped: dict, name: str, **labels: str) -> float:
    return scraped.get((name, frozenset(labels.items())), 0.0)


def registry_now() -> dict:
    body, _ = metrics.exposition()
    return samples(body.decode())


@pytest.fixture
def local(app) -> Iterator[TestClient]:
    """A client on this machine's loopback, as a local Prometheus is."""
    with TestClient(app, client=("127.0.0.1", 40000)) as test_client:
        yield test_client


def scrape(client: TestClient) -> dict:
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


def item(clock, seq: int, grams: int = 30) -> dict:
    return {"seq": seq, "measured_at": (clock() - timedelta(minutes=10)).isoformat(), "grams": grams}


def post(client: TestClient, org, items: list[dict], status: str | bytes | None = None,
         key: str = "a") -> httpx.Response:
    headers: dict[str, str | bytes] = {"Authorization": f"Bearer {org.station_keys[key]}"}
    if status is not None:
        headers["X-Gateway-Status"] = status
    response = client.post("/api/v1/weighings", json={"items": items}, headers=headers)
    assert response.status_code == 200, response.text
    return response


def test_a_batch_is_counted_by_result_with_the_gateways_report(local, org, clock):
    before = scrape(local)
    # Seqs 1-3 are new, seq 2 again in the same batch is a duplicate, negative grams are rejected: 3 / 1 / 1.
    post(local, org, [item(clock, 1), item(clock, 2), item(clock, 3), item(clock, 2), item(clock, 4, grams=-5)],
         status="outbox=42, at_risk=1, lost=0")
    after = scrape(local)
    counted = {result: value(after, "canteen_ingest_items_total", station_kind="plate-return", result=result)
               - value(before, "canteen_ingest_items_total", station_kind="plate-return", result=result)
               for result in ("accepted", "duplicate", "rejected")}
    assert counted == {"accepted": 3, "duplicate": 1, "rejected": 1}
    assert value(after, "canteen_ingest_batches_total", station_kind="plate-return") - value(
        before, "canteen_ingest_batches_total", station_kind="plate-return") == 1
    station = str(org.stations["a"])
    assert value(after, "canteen_gateway_outbox_depth", station=station) == 42
    assert value(after, "canteen_gateway_at_risk_events", station=station) == 1
    assert value(after, "canteen_gateway_lost_events", station=station) == 0
    assert value(after, "canteen_gateway_last_upload_timestamp_seconds", station=station) == clock().timestamp()


def test_a_malformed_gateway_status_is_ignored_and_the_batch_taken(local, org, clock):
    post(local, org, [item(clock, 1)], status="outbox=7, at_risk=0, lost=2")
    clock.advance(minutes=1)
    for malformed in ("outbox=lots", "outbox=5; at_risk=1", "outbox=-3", "☃".encode(), "outbox=5,,", "x" * 600):
        response = post(local, org, [item(clock, 2)], status=malformed)
        assert response.json()["duplicate"] + response.json()["accepted"] == 1
    after = scrape(local)
    station = str(org.stations["a"])
    assert value(after, "canteen_gateway_outbox_depth", station=station) == 7
    assert value(after, "canteen_gateway_lost_events", station=station) == 2
    # The upload itself still counts.
    assert value(after, "canteen_gateway_last_upload_timestamp_seconds", station=station) == clock().timestamp()


@pytest.mark.parametrize(("header", "expected"), [
    ("outbox=12, at_risk=0, lost=3", {"outbox": 12, "at_risk": 0, "lost": 3}),
    ("outbox=12", {"outbox": 12}),
    (" outbox = 12 ,future_field=9", {"outbox": 12}),  # unknown names are skipped, spaces allowed
    ("outbox=12;at_risk=0", {}), ("outbox=", {}), ("outbox=1.5", {}), ("OUTBOX=1", {}), ("", {}), (None, {}),
    ("outbox=1234567890123", {}),  # 13 digits: no outbox holds that many
])
def test_gateway_status_parsing(header, expected):
    assert metrics.parse_gateway_status(header) == expected


def test_latency_is_labelled_by_route_template_not_path(local, org, api_headers):
    canteen = org.canteens["a"]
    response = local.get(f"/api/v1/canteens/{canteen}/daily", params={"from": "2026-11-01", "to": "2026-11-02"},
                         headers=api_headers("admin"))
    assert response.status_code == 200, response.text
    assert local.get(f"/no/such/page/{canteen}").status_code == 404
    after = scrape(local)
    routes = {dict(labels)["route"] for name, labels in after if name == "canteen_http_request_duration_seconds_count"}
    assert "/api/v1/canteens/{canteen_id}/daily" in routes
    assert "unmatched" in routes
    assert not routes & {f"/api/v1/canteens/{canteen}/daily", f"/no/such/page/{canteen}"}
    assert value(after, "canteen_http_request_duration_seconds_count", method="GET",
                 route="/api/v1/canteens/{canteen_id}/daily", status="2xx") >= 1
    assert value(after, "canteen_http_request_duration_seconds_count", method="GET", route="unmatched",
                 status="4xx") >= 1


def test_the_pool_is_reported(local):
    after = scrape(local)  # the scrape's own request holds no connection; the app's pool has a size
    assert value(after, "canteen_db_pool_size", database="primary") > 0
    assert ("canteen_db_pool_checked_out", frozenset({("database", "primary")})) in after


def test_job_runs_are_counted_by_outcome_with_their_duration(engine, org, clock):
    before = registry_now()
    slot = datetime(2026, 11, 23, 3, 50, tzinfo=UTC)
    assert jobs.run_slot(engine, "prune-expired", slot, clock) is not None
    assert jobs.run_slot(engine, "prune-expired", slot, clock) is None  # the slot was run already
    after = registry_now()

    def delta(name: str, **labels: str) -> float:
        return value(after, name, job="prune-expired", **labels) - value(before, name, job="prune-expired", **labels)

    assert delta("canteen_job_runs_total", outcome="ok") == 1
    assert delta("canteen_job_runs_total", outcome="slot_taken") == 1
    assert delta("canteen_job_runs_total", outcome="failed") == 0
    assert delta("canteen_job_duration_seconds_count", outcome="ok") == 1


def request(peer: str, headers: dict[str, str] | None = None) -> Request:
    raw = [(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()]
    return Request({"type": "http", "method": "GET", "path": "/metrics", "headers": raw, "client": (peer, 1234)})


@pytest.mark.parametrize(("peer", "headers", "token", "allowed"), [
    ("127.0.0.1", {}, "", True),
    ("::1", {}, "", True),
    ("192.0.2.7", {}, "", False),
    ("127.0.0.1", {"X-Forwarded-For": "203.0.113.9"}, "", False),  # a proxy on loopback, not a trusted one
    ("127.0.0.1", {"X-Real-IP": "203.0.113.9"}, "", False),
    ("127.0.0.1", {"Forwarded": "for=203.0.113.9"}, "", False),
    ("10.0.0.1", {"X-Forwarded-For": "203.0.113.9"}, "", False),  # through the trusted proxy, from outside
    ("10.0.0.1", {"X-Forwarded-For": "127.0.0.1"}, "", True),  # through the trusted proxy, from this machine
    ("192.0.2.7", {"Authorization": "Bearer s3cret-metrics"}, "s3cret-metrics", True),
    ("192.0.2.7", {"Authorization": "Bearer wrong"}, "s3cret-metrics", False),
    ("192.0.2.7", {"Authorization": "Bearer "}, "", False),  # no token configured: a bearer opens nothing
])
def test_who_may_read_metrics(peer, headers, token, allowed):
    trusted = Settings(trusted_proxies="10.0.0.1").trusted_proxies
    assert may_read_metrics(request(peer, headers), token, trusted) is allowed


def test_metrics_are_refused_to_others(app, client, settings, local):
    refused = client.get("/metrics")  # TestClient's peer is "testclient", not this machine
    assert refused.status_code == 403
    assert "canteen_ingest" not in refused.text
    app.state.settings = settings.model_copy(update={"metrics_token": "s3cret-metrics"})
    allowed = client.get("/metrics", headers={"Authorization": "Bearer s3cret-metrics"})
    assert allowed.status_code == 200 and "canteen_http_request_duration_seconds" in allowed.text


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'canteen.db'}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    engine.dispose()
    return url


def test_two_workers_are_summed_in_one_scrape_and_log_json(tmp_path, sqlite_url):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "CANTEEN_DATABASE_URL": sqlite_url, "CANTEEN_SECRET_KEY": "metrics-test",
           "CANTEEN_LOG_FORMAT": "json", "TMPDIR": str(tmp_path)}
    env.pop(metrics.MULTIPROC_ENV, None)
    process = subprocess.Popen([BIN / "canteen", "serve", "--port", str(port), "--workers", "2"], env=env,
                               cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stderr), daemon=True)
    reader.start()

    def both_workers_up() -> bool:
        try:
            scraped = samples(httpx.get(f"{base}/metrics", timeout=2).text)
        except httpx.TransportError:
            return False
        # SQLite's pool keeps 5 connections in each worker: 10 is both workers' gauges summed.
        return value(scraped, "canteen_db_pool_size", database="primary") == 10

    try:
        wait_for(lambda: both_workers_up() or process.poll() is not None, 120, "two workers")
        assert process.poll() is None, "".join(lines)
        [metrics_dir] = tmp_path.glob("canteen-metrics-*")
        before = samples(httpx.get(f"{base}/metrics", timeout=10).text)
        for _ in range(20):  # a connection each: the workers take them as they come
            assert httpx.get(f"{base}/healthz", timeout=10).status_code == 200
        after = samples(httpx.get(f"{base}/metrics", timeout=10).text)
        served = {path.name.rsplit("_", 1)[1] for path in metrics_dir.glob("histogram_*.db")}
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        reader.join(timeout=10)
    count = dict(method="GET", route="/healthz", status="2xx")
    assert value(after, "canteen_http_request_duration_seconds_count", **count) - value(
        before, "canteen_http_request_duration_seconds_count", **count) == 20
    assert len(served) == 2, served  # both workers served (and counted) requests
    assert list(tmp_path.glob("canteen-metrics-*")) == []  # removed as the server stopped
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= entry.keys() for entry in entries)
    access = [entry for entry in entries if entry["logger"] == "canteen.access" and entry["route"] == "/healthz"]
    assert len(access) >= 20
    assert {key: access[0][key] for key in ("method", "route", "path", "status")} == {
        "method": "GET", "route": "/healthz", "path": "/healthz", "status": 200}
    assert access[0]["duration_ms"] >= 0
    assert any(entry["logger"].startswith("uvicorn") for entry in entries)
    assert not any(entry["logger"] == "uvicorn.access" for entry in entries)  # canteen's access log instead
