"""Sustained plate weighings per second through the HTTP ingest path (`POST /api/v1/weighings`).

The server runs as `canteen serve` in its own process (1 uvicorn worker on SQLite, 2 on PostgreSQL); a load
process posts pre-built batches from several threads, each thread as its own station, for a fixed time. The
client is the standard library's http.client on kept-alive connections: it costs the shared 2 cores less than
httpx would, so more of them measure the server.

The reference, in the same run on the same database: the same rows inserted straight into the plate-weighing
table by SQLAlchemy Core, an executemany per batch of 100 and a commit each, from one connection; and a bare
FastAPI endpoint of the same shape without database or middleware (benchmarks/support/bare_endpoint.py) under
uvicorn with as many workers, posted batches of 1 by the same client.

Targets: at least 5,000 weighings/s on SQLite with batches of 100 (issue 4); batches of 100 at least 30 % of the
direct executemany, and batches of 1 at least 600 weighings/s per worker (issue 14).

    python benchmarks/ingest.py [--seconds 10] [--threads 4] [--only sqlite|postgresql]
"""
import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import insert

from benchmarks.support.server import canteen_serve, start
from canteen import db
from canteen.access import SYSTEM
from canteen.db import table_of
from canteen.org import service as org_service
from canteen.org.meals import MealCalendar
from canteen.org.models import BureauCreate, CanteenCreate, StationCreate, StationKind
from canteen.weighing.models import PlateWeighing
from canteen.weighing.service import LATE_RETURN_GRACE
from tests.support.pgserver import TemporaryPostgres

TARGET_SQLITE_BATCH_100 = 5_000
TARGET_SHARE_OF_DIRECT = 0.30  # batches of 100, against the direct executemany
TARGET_BATCH_1_PER_WORKER = 600


def prepare(database_url: str, stations: int) -> tuple[list[str], int]:
    """Keys of `stations` stations for the HTTP runs, and the id of one more for the direct inserts."""
    engine = db.make_engine(database_url)
    db.upgrade(engine)
    with db.session_scope(engine) as session:
        bureau = org_service.create_bureau(session, SYSTEM, BureauCreate(name="基准测试局"))
        canteen = org_service.create_canteen(session, SYSTEM, CanteenCreate(bureau_id=bureau.id, name="基准测试食堂"),
                                             "Asia/Shanghai")
        created = [org_service.create_station(session, SYSTEM, StationCreate(
            canteen_id=canteen.id, name=f"scale {index}", kind=StationKind.plate_return, protocol="ascii-st-gs"))
            for index in range(stations + 1)]
        session.flush()
        direct = created[-1][0].id
    engine.dispose()
    return [key for _, key in created[:-1]], direct


def direct_executemany(database_url: str, station_id: int, batch: int, seconds: float) -> float:
    """Rows a second inserted straight into the plate-weighing table: the rows ingest stores for the load."""
    engine = db.make_engine(database_url)
    with db.session_scope(engine) as session:
        station = org_service.get_station(session, SYSTEM, station_id)
        canteen = org_service.get_canteen(session, SYSTEM, station.canteen_id)
        calendar = MealCalendar.of(org_service.meal_windows(session, station.canteen_id), ZoneInfo(canteen.timezone))
        canteen_id = canteen.id
    now = datetime.now(UTC)
    measured_at = now - timedelta(minutes=1)
    period = calendar.period_at(measured_at, LATE_RETURN_GRACE)
    service_date = period.service_date if period else measured_at.astimezone(calendar.zone).date()
    statement = insert(table_of(PlateWeighing))
    seq = stored = 0
    started = time.perf_counter()
    stop_at = started + seconds
    with engine.connect() as connection:
        while time.perf_counter() < stop_at:
            rows = [{"station_id": station_id, "seq": seq + i, "canteen_id": canteen_id, "measured_at": measured_at,
                     "service_date": service_date, "meal": period.meal if period else None,
                     "grams": (seq + i) % 400, "diner_ref": None, "received_at": now} for i in range(batch)]
            seq += batch
            connection.execute(statement, rows)
            connection.commit()
            stored += batch
    elapsed = time.perf_counter() - started
    engine.dispose()
    return stored / elapsed


def serve_bare(workers: int) -> tuple[subprocess.Popen, str]:
    """The bare endpoint (benchmarks/support/bare_endpoint.py) under uvicorn with as many workers."""
    return start([str(Path(sys.executable).parent / "uvicorn"), "benchmarks.support.bare_endpoint:app",
                  "--no-access-log", "--workers", str(workers)], {})


def server_cpu_seconds(pid: int) -> float:
    """CPU time so far of the server process and its uvicorn workers (Linux /proc), a figure that a busy
    machine disturbs less than the rate."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(stat.parent.name) == pid or int(fields[1]) == pid:  # fields[1]: the parent's pid
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
    return total


def run_load(url: str, keys: list[str], batch: int, seconds: float) -> dict:
    """Each thread posts batches with fresh sequence numbers until time is up; returns rate and latencies."""
    latencies: list[float] = []
    accepted = [0]
    errors = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    measured_at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()

    host, port = url.removeprefix("http://").split(":")

    def worker(key: str) -> None:
        mine, seq, ok, bad = [], 0, 0, 0
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        try:
            while time.monotonic() < stop_at:
                items = [{"seq": seq + i, "measured_at": measured_at, "grams": (seq + i) % 400} for i in range(batch)]
                seq += batch
                body = json.dumps({"items": items})
                started = time.perf_counter()
                connection.request("POST", "/api/v1/weighings", body=body, headers=headers)
                response = connection.getresponse()
                payload = response.read()
                mine.append(time.perf_counter() - started)
                if response.status == 200:
                    ok += json.loads(payload)["accepted"]
                else:
                    bad += 1
        finally:
            connection.close()
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
    return {"batch": batch, "weighings": accepted[0], "weighings_per_s": accepted[0] / elapsed,
            "requests": len(latencies),
            "errors": errors[0], "p50_ms": 1000 * statistics.median(latencies),
            "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]}


def bench(name: str, database_url: str, workers: int, threads: int, seconds: float) -> bool:
    """Runs the load and the reference on one database, prints both and the targets; True if all are met."""
    keys, direct_station = prepare(database_url, threads * 3)
    warm_up, *runs = (keys[index * threads:(index + 1) * threads] for index in range(3))
    process, url = canteen_serve(database_url, workers)
    try:
        run_load(url, warm_up, 100, 2)  # connections, caches, the first pages of the table
        # Every run posts as its own stations, so no item is a duplicate of an earlier run's.
        results = []
        for stations, batch in zip(runs, (100, 1)):
            cpu = server_cpu_seconds(process.pid)
            result = run_load(url, stations, batch, seconds)
            result["cpu_us"] = 1e6 * (server_cpu_seconds(process.pid) - cpu) / max(1, result["weighings"])
            results.append(result)
    finally:
        process.terminate()
        process.wait(timeout=30)
    # Measured with the server stopped, so the references have the 2 cores the server had.
    direct = direct_executemany(database_url, direct_station, 100, seconds)
    bare_process, bare_url = serve_bare(workers)
    try:
        run_load(bare_url, warm_up, 1, 1)
        bare = run_load(bare_url, warm_up, 1, seconds)["weighings_per_s"]
    finally:
        bare_process.terminate()
        bare_process.wait(timeout=30)
    for result in results:
        print(f"{name:<10} workers={workers} threads={threads} batch={result['batch']:>3}: "
              f"{result['weighings_per_s']:>8,.0f} weighings/s  p50 {result['p50_ms']:6.1f} ms  "
              f"p99 {result['p99_ms']:6.1f} ms  {result['cpu_us']:6.0f} µs server CPU/weighing  "
              f"({result['requests']} requests, {result['errors']} errors)",
              flush=True)
    print(f"{name:<10} reference: direct executemany of the same rows, batches of 100: {direct:>8,.0f} rows/s")
    print(f"{name:<10} reference: a bare FastAPI endpoint (no database), batches of 1: {bare:>8,.0f} requests/s "
          f"({bare / workers:,.0f} per worker)")
    share = results[0]["weighings_per_s"] / direct
    per_worker = results[1]["weighings_per_s"] / workers
    met_share, met_single = share >= TARGET_SHARE_OF_DIRECT, per_worker >= TARGET_BATCH_1_PER_WORKER
    print(f"{name:<10} batch=100: {share:.0%} of the direct executemany, "
          f"{'meets' if met_share else 'MISSES'} the target of {TARGET_SHARE_OF_DIRECT:.0%}")
    print(f"{name:<10} batch=  1: {per_worker:,.0f} weighings/s per worker ({results[1]['weighings_per_s'] / bare:.0%} "
          f"of the bare endpoint), {'meets' if met_single else 'MISSES'} the target of "
          f"{TARGET_BATCH_1_PER_WORKER:,}/s", flush=True)
    ok = met_share and met_single and not any(result["errors"] for result in results)
    if name == "sqlite":
        rate = results[0]["weighings_per_s"]
        verdict = "meets" if rate >= TARGET_SQLITE_BATCH_100 else "MISSES"
        print(f"sqlite batch=100: {rate:,.0f} weighings/s {verdict} the target of {TARGET_SQLITE_BATCH_100:,}/s")
        ok = ok and rate >= TARGET_SQLITE_BATCH_100
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    options = parser.parse_args()
    ok = True
    if options.only != "postgresql":
        with tempfile.TemporaryDirectory() as folder:
            ok &= bench("sqlite", f"sqlite:///{Path(folder) / 'bench.db'}", 1, options.threads, options.seconds)
    if options.only != "sqlite":
        with TemporaryPostgres() as server:
            ok &= bench("postgresql", server.url, 2, options.threads, options.seconds)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
