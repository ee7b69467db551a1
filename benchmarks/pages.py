"""Time of the bureau overview and the canteen dashboard at province size, beside each page's own SQL.

Seeds a province as benchmarks/assess.py does (its bureaus: 10 cities of 10 counties; `--canteens` canteens, 5,000,
spread over the counties) with a stored October 2026 scorecard for every canteen (scored by the engine from
metrics that follow each canteen's level of anti-waste work, the numbers behind plate waste kept as computing
keeps them), and a day of plate weighings for the first canteen (two stations' batches through the ingest
service: lunch and dinner, one plate a diner). Then, in-process through FastAPI's TestClient (no
network), signed in as the province bureau and as the canteen's operator, it requests

    /assessment?period=2026-10          the overview's first page (counts and charts over the whole province)
    /canteens/{id}/dashboard            today's figures and the hourly chart

`--repeat` times each (50; the first request of each is left out: it warms caches) and prints p50 and p99, the
size of the page, and the same page's queries alone (the service call behind it, timed the same way in the same
run). Targets (issue 14): overview p50 ≤ 300 ms and p99 ≤ 800 ms, dashboard p50 ≤ 50 ms.

    python benchmarks/pages.py [--canteens 5000] [--repeat 50] [--only sqlite|postgresql]
"""
import argparse
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from benchmarks.assess import _chunked, province_canteens
from canteen import db
from canteen.access import SYSTEM, Role
from canteen.app import create_app
from canteen.assessment import service as assessment_service
from canteen.assessment.models import Scorecard
from canteen.assessment.periods import parse_period
from canteen.assessment.scoring import AssessmentInput, score
from canteen.assessment.standard import reference_standard
from canteen.auth import service as auth_service
from canteen.auth.models import User, UserCreate
from canteen.config import Settings
from canteen.org import service as org_service
from canteen.org.models import Canteen, StationCreate, StationKind
from canteen.weighing import service as weighing_service
from tests.support.pgserver import TemporaryPostgres

OVERVIEW_P50_MS, OVERVIEW_P99_MS, DASHBOARD_P50_MS = 300, 800, 50
PASSWORD = "benchmark-password"
PERIOD = parse_period("2026-10")
NOW = datetime(2026, 11, 23, 12, 30, tzinfo=UTC)  # Monday 20:30 in Shanghai: the day's three meals are in
COMPUTED = datetime(2026, 11, 1, 18, 30, tzinfo=UTC)
CHECKLIST = ("S1", "S2", "S3", "M3", "M4", "G1", "G2", "G3", "E1")
# Lunch 11:30-13:00 and dinner 17:30-19:00 in Shanghai (assess.py's meal windows): (UTC start, share of seats eating)
MEALS = ((3, 30, 0.8), (9, 30, 0.4))
MEAL_SECONDS = 90 * 60
BATCH = 100


def _scorecards(session: Session, rng: random.Random, canteens: list[Canteen]) -> None:
    standard_id = assessment_service.reference_row(session, COMPUTED).id
    standard = reference_standard()
    rows = []
    for canteen in canteens:
        level = rng.betavariate(6, 2)
        per_diner = max(5.0, 110 - 85 * level + rng.gauss(0, 5))
        diners = (canteen.seats or 0) * 22
        metrics = {"plate_waste_g_per_diner": round(per_diner, 1), "forecast_wape": round(0.4 - 0.3 * level, 3),
                   "small_portion_share": round(level * 0.6, 3), "surplus_food_g_per_diner": round(60 - 50 * level, 1)}
        checklist = {item: "met" if rng.random() < level else "partly" for item in CHECKLIST}
        result = score(standard, AssessmentInput(canteen=canteen.name, period=PERIOD.name, metrics=metrics,
                                                 checklist=checklist))
        basis = {"plate_waste_g_per_diner": {"plate_waste_g": int(per_diner * diners), "diners": diners}}
        rows.append({"canteen_id": canteen.id, "kind": PERIOD.kind, "period": PERIOD.name, "starts": PERIOD.starts,
                     "ends": PERIOD.ends, "standard_id": standard_id, "total": float(result.total),
                     "grade": result.grade, "vetoed": bool(result.vetoes), "computed_at": COMPUTED,
                     "plate_waste_g": float(int(per_diner * diners)), "diners": float(diners),
                     "body": result.to_dict() | {"metrics": {name: {"value": value, "basis": basis.get(name, {})}
                                                             for name, value in metrics.items()}}})
    _chunked(session, Scorecard, rows)


def _weighings(session: Session, rng: random.Random, canteen: Canteen) -> int:
    """A day of plates for the canteen through two stations' batches, as the gateways would post them."""
    assert canteen.id is not None
    stations = [org_service.create_station(session, SYSTEM, StationCreate(
        canteen_id=canteen.id, name=f"回收台{number}", kind=StationKind.plate_return))[0] for number in (1, 2)]
    day = datetime.combine(NOW.date(), datetime.min.time(), UTC)
    items: list[list[object]] = [[], []]
    for hour, minute, share in MEALS:
        starts = day + timedelta(hours=hour, minutes=minute)
        for plate in range(int((canteen.seats or 0) * share)):
            at = starts + timedelta(seconds=rng.uniform(0, MEAL_SECONDS - 1))
            queue = items[plate % 2]
            queue.append({"seq": len(queue) + 1, "measured_at": at.isoformat(),
                          "grams": max(0, int(rng.gauss(45, 30)))})
    for station, queue in zip(stations, items):
        for start in range(0, len(queue), BATCH):
            weighing_service.ingest(session, station, queue[start:start + BATCH], NOW)
    return sum(len(queue) for queue in items)


def seed(session: Session, canteens: int) -> tuple[int, int]:
    """The province with its scorecards and one canteen's day; returns (province bureau id, that canteen's id)."""
    rng = random.Random(14)
    province, rows = province_canteens(session, canteens, rng)
    first = rows[0]
    assert first.id is not None
    _scorecards(session, rng, rows)
    for username, role, bureau_id, canteen_ids in (("province", Role.bureau, province, []),
                                                   ("operator", Role.operator, None, [first.id])):
        auth_service.create_user(session, SYSTEM, UserCreate(username=username, password=PASSWORD, role=role,
                                                             bureau_id=bureau_id, canteen_ids=canteen_ids), NOW)
    plates = _weighings(session, rng, first)
    print(f"  {plates} plates weighed today at canteen {first.id}")
    return province, first.id


def timed(call: Callable[[], object], repeat: int) -> list[float]:
    """Milliseconds of each of `repeat` calls after a first one that warms caches (and draws the charts)."""
    call()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def percentiles(times: list[float]) -> tuple[float, float]:
    return statistics.median(times), statistics.quantiles(times, n=100, method="inclusive")[98]


def _get(client: TestClient, url: str) -> Callable[[], str]:
    def get() -> str:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code, response.text[:300])
        return response.text
    return get


def _sign_in(client: TestClient, username: str) -> None:
    client.cookies.clear()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token
    response = client.post("/login", data={"username": username, "password": PASSWORD, "next": "/",
                                           "csrf_token": token[1]}, follow_redirects=False)
    assert response.status_code == 303, response.text


def _scope(session: Session, username: str):
    user = session.exec(select(User).where(User.username == username)).one()
    return auth_service.scope_for(session, user)


def measure(database_url: str, canteens: int, repeat: int) -> bool:
    engine = db.make_engine(database_url)
    db.upgrade(engine)
    started = time.perf_counter()
    with db.session_scope(engine) as session:
        _, canteen_id = seed(session, canteens)
    print(f"  seeded {canteens} canteens with their {PERIOD.name} scorecards in {time.perf_counter() - started:.0f} s")
    overview_url, dashboard_url = f"/assessment?period={PERIOD.name}", f"/canteens/{canteen_id}/dashboard"
    with Session(engine) as session:
        bureau, operator = _scope(session, "province"), _scope(session, "operator")
        overview_sql = timed(lambda: assessment_service.overview(session, bureau, PERIOD,
                                                                 assessment_service.OverviewFilter()), repeat)
        dashboard_sql = timed(lambda: weighing_service.today(session, operator, canteen_id, NOW), repeat)
    engine.dispose()
    settings = Settings(database_url=database_url, secret_key="benchmark", language="zh_CN", scheduler=False)
    app = create_app(settings, clock=lambda: NOW)
    with TestClient(app) as client:
        _sign_in(client, "province")
        overview_html = _get(client, overview_url)()
        overview_page = timed(_get(client, overview_url), repeat)
        _sign_in(client, "operator")
        dashboard_html = _get(client, dashboard_url)()
        dashboard_page = timed(_get(client, dashboard_url), repeat)
    app.state.engine.dispose()
    met = True
    for name, url, page, sql, html, targets in (
            ("overview", overview_url, overview_page, overview_sql, overview_html, (OVERVIEW_P50_MS, OVERVIEW_P99_MS)),
            ("dashboard", dashboard_url, dashboard_page, dashboard_sql, dashboard_html, (DASHBOARD_P50_MS, None))):
        p50, p99 = percentiles(page)
        sql_p50, sql_p99 = percentiles(sql)
        ok = p50 <= targets[0] and (targets[1] is None or p99 <= targets[1])
        met &= ok
        wanted = f"p50 ≤ {targets[0]} ms" + (f", p99 ≤ {targets[1]} ms" if targets[1] else "")
        print(f"  {name:<9} {url:<34} p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  {len(html.encode()) / 1e3:6.0f} kB  "
              f"| its SQL p50 {sql_p50:6.1f} ms  p99 {sql_p99:6.1f} ms  | target {wanted}: "
              f"{'met' if ok else 'NOT met'}")
    return met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--canteens", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    results = []
    if args.only != "postgresql":
        print("sqlite")
        with tempfile.TemporaryDirectory() as folder:
            results.append(measure(f"sqlite:///{Path(folder) / 'pages.db'}", args.canteens, args.repeat))
    if args.only != "sqlite":
        print("postgresql")
        with TemporaryPostgres() as server:
            results.append(measure(server.url, args.canteens, args.repeat))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
