"""Sustained plate weighings per second through the HTTP ingest path (`POST /api/v1/weighings`).

The server runs as `canteen serve` in its own process (1 uvicorn worker on SQLite, 2 on PostgreSQL); a load
process posts pre-built batches from several threads, each thread as its own station, for a fixed time.
Target (issue 4): at least 5,000 weighings/s on SQLite with batches of 100 on a 2-core machine.

    python benchmarks/ingest.py [--seconds 10] [--threads 4] [--only sqlite|postgresql]
"""
import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from canteen import db
from canteen.access import SYSTEM
from canteen.org import service as org_service
from canteen.org.models import BureauCreate, CanteenCreate, StationCreate, StationKind
from tests.support.pgserver import TemporaryPostgres

TARGET_SQLITE_BATCH_100 = 5_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(database_url: str, stations: int) -> list[str]:
    engine = db.make_engine(database_url)
    db.upgrade(engine)
    with db.session_scope(engine) as session:
        bureau = org_service.create_bureau(session, SYSTEM, BureauCreate(name="基准测试局"))
        canteen = org_service.create_canteen(session, SYSTEM, CanteenCreate(bureau_id=bureau.id, name="基准测试食堂"),
                                             "Asia/Shanghai")
        keys = [org_service.create_station(session, SYSTEM, StationCreate(
            canteen_id=canteen.id, name=f"scale {index}", kind=StationKind.plate_return, protocol="ascii-st-gs"))[1]
            for index in range(stations)]
    engine.dispose()
    return keys


def serve(database_url: str, workers: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "CANTEEN_DATABASE_URL": database_url, "CANTEEN_SECRET_KEY": "benchmark"}
    process = subprocess.Popen([str(Path(sys.executable).parent / "canteen"), "serve", "--port", str(port), "--workers",
                                str(workers)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz").status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"server did not start: {process.stderr.read().decode()}")


def run_load(url: str, keys: list[str], batch: int, seconds: float) -> dict:
    """Each thread posts batches with fresh sequence numbers until time is up; returns rate and latencies."""
    latencies: list[float] = []
    accepted = [0]
    errors = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    measured_at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()

    def worker(key: str) -> None:
        mine, seq, ok, bad = [], 0, 0, 0
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}",
                                                 "Content-Type": "application/json"}, timeout=30) as client:
            while time.monotonic() < stop_at:
                items = [{"seq": seq + i, "measured_at": measured_at, "grams": (seq + i) % 400} for i in range(batch)]
                seq += batch
                body = json.dumps({"items": items})
                started = time.perf_counter()
                response = client.post("/api/v1/weighings", content=body)
                mine.append(time.perf_counter() - started)
                if response.status_code == 200:
                    ok += response.json()["accepted"]
                else:
                    bad += 1
        with lock:
            latencies.extend(mine)
            accepted[0] += ok
            errors[0] += bad

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(key,)) for key in keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    latencies.sort()
    return {"batch": batch, "weighings_per_s": accepted[0] / elapsed, "requests": len(latencies),
            "errors": errors[0], "p50_ms": 1000 * statistics.median(latencies),
            "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]}


def bench(name: str, database_url: str, workers: int, threads: int, seconds: float) -> list[dict]:
    keys = prepare(database_url, threads * 3)
    warm_up, *runs = (keys[index * threads:(index + 1) * threads] for index in range(3))
    process, url = serve(database_url, workers)
    try:
        run_load(url, warm_up, 100, 2)  # connections, caches, the first pages of the table
        # Every run posts as its own stations, so no item is a duplicate of an earlier run's.
        results = [run_load(url, stations, batch, seconds) for stations, batch in zip(runs, (100, 1))]
    finally:
        process.terminate()
        process.wait(timeout=30)
    for result in results:
        print(f"{name:<10} workers={workers} threads={threads} batch={result['batch']:>3}: "
              f"{result['weighings_per_s']:>8,.0f} weighings/s  p50 {result['p50_ms']:6.1f} ms  "
              f"p99 {result['p99_ms']:6.1f} ms  ({result['requests']} requests, {result['errors']} errors)",
              flush=True)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    options = parser.parse_args()
    failed = False
    if options.only != "postgresql":
        with tempfile.TemporaryDirectory() as folder:
            results = bench("sqlite", f"sqlite:///{Path(folder) / 'bench.db'}", 1, options.threads, options.seconds)
        rate = results[0]["weighings_per_s"]
        verdict = "meets" if rate >= TARGET_SQLITE_BATCH_100 else "MISSES"
        print(f"sqlite batch=100: {rate:,.0f} weighings/s {verdict} the target of {TARGET_SQLITE_BATCH_100:,}/s")
        failed = rate < TARGET_SQLITE_BATCH_100
    if options.only != "sqlite":
        with TemporaryPostgres() as server:
            bench("postgresql", server.url, 2, options.threads, options.seconds)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
