"""A lunch peak on PostgreSQL behind 2 uvicorn workers, driven open-loop for a bounded time (issue 14).

Seeds a province (a province bureau over county bureaus, canteens with a plate-return station each, diners with
API tokens, an operator per canteen at the entrance, bureau users with web sessions, last month's scorecards and
today's lunch bookings), starts `canteen serve --workers 2` on it and, on loopback, for --seconds:

- gateways: each posts a batch of weighings on its own schedule (rate / gateways weighings a second each), with
  its station's key and increasing seq; a share of batches is sent a second time (a retry after a lost answer),
  which must come back all duplicates;
- diners: each books a later meal (`POST /api/v1/bookings`) and, at the entrance, the canteen's operator checks
  in the diner's booking for today's lunch (`POST /api/v1/canteens/{id}/check-ins`) at random moments;
- bureau users: open the overview (`/assessment`) and a canteen's scorecard (`/canteens/{id}/assessment`) in turn.

Every request is sent at its scheduled moment whatever the answers before it (open loop); how late the generator
itself sends is measured (its lag), so a generator that cannot keep up on 2 shared cores is reported, not hidden.
At the end the stored weighings are counted against those sent. Targets: p99 < 500 ms for every kind of request,
0 errors (non-2xx or transport), 0 weighings lost, 0 doubled.

The canteens' time zone is chosen so that it is lunchtime there now (a whole-hour Etc/GMT zone): the check-ins
need a meal being served, the weighings a meal window.

    python benchmarks/load.py [--seconds 60] [--gateways 500] [--rate 2500] [--batch 10] [--diners 2000]
                              [--bureau-users 50] [--canteens 500] [--retry-share 0.02]
"""
import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

# Diners' and bureau users' passwords are never checked here (tokens and sessions are issued directly), so their
# hashes need not cost what production's do; set before canteen reads its settings.
os.environ.setdefault("CANTEEN_PASSWORD_TIME_COST", "1")
os.environ.setdefault("CANTEEN_PASSWORD_MEMORY_KIB", "1024")

import httpx  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from benchmarks.support.server import canteen_serve  # noqa: E402
from canteen import db  # noqa: E402
from canteen.access import SYSTEM, Role  # noqa: E402
from canteen.assessment import service as assessment_service  # noqa: E402
from canteen.assessment.models import Scorecard, ScorecardKind  # noqa: E402
from canteen.assessment.periods import period_containing  # noqa: E402
from canteen.assessment.scoring import AssessmentInput, score  # noqa: E402
from canteen.assessment.standard import reference_standard  # noqa: E402
from canteen.auth import service as auth_service  # noqa: E402
from canteen.auth.deps import SESSION_COOKIE  # noqa: E402
from canteen.auth.models import User, UserCreate  # noqa: E402
from canteen.org import service as org_service  # noqa: E402
from canteen.org.models import BureauCreate, Canteen, CanteenCreate, StationCreate, StationKind  # noqa: E402
from canteen.reservation.models import Meal  # noqa: E402
from canteen.reservation.service import bookings as booking_service  # noqa: E402
from canteen.reservation.service import menus, rules  # noqa: E402
from canteen.weighing.models import PlateWeighing  # noqa: E402
from tests.support.pgserver import TemporaryPostgres  # noqa: E402

TARGET_P99_MS = 500
PASSWORD = "benchmark-password"


@dataclass
class Province:
    """What the load needs of the seeded data."""

    canteen_ids: list[int]
    station_keys: list[str]  # one gateway each, in canteen order
    diners: list[tuple[str, int, str]]  # (API token, canteen id, today's lunch booking token)
    operator_tokens: dict[int, str]  # canteen id -> the entrance operator's API token
    bureau_cookies: list[str]
    bureau_canteens: list[list[int]]  # for each bureau user, the canteens of its jurisdiction
    book_day: date
    period: str


def lunch_zone(now: datetime) -> str:
    """A whole-hour zone where it is 12:xx now (inside the default 11:30–13:30 lunch window for the run)."""
    offset = (12 - now.hour) % 24
    if offset > 14:
        offset -= 24
    # POSIX-style names: Etc/GMT-8 is eight hours ahead of UTC.
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def seed(database_url: str, canteens: int, gateways: int, diners: int, bureau_users: int) -> Province:
    now = datetime.now(UTC)
    zone = lunch_zone(now)
    engine = db.make_engine(database_url)
    db.upgrade(engine)
    hashed = auth_service.password_hasher().hash(PASSWORD)
    with db.session_scope(engine) as session:
        province = org_service.create_bureau(session, SYSTEM, BureauCreate(name="基准省机关事务管理局"))
        counties = [org_service.create_bureau(session, SYSTEM, BureauCreate(name=f"基准县{index}",
                                                                           parent_id=province.id))
                    for index in range(max(1, canteens // 50))]
        rows: list[Canteen] = []
        keys: list[str] = []
        for index in range(canteens):
            rows.append(org_service.create_canteen(session, SYSTEM, CanteenCreate(
                bureau_id=counties[index % len(counties)].id, name=f"基准食堂{index:04d}", timezone=zone), zone))
        canteen_ids = [row.id for row in rows if row.id is not None]
        for index in range(gateways):
            keys.append(org_service.create_station(session, SYSTEM, StationCreate(
                canteen_id=canteen_ids[index % canteens], name=f"回收台{index}", kind=StationKind.plate_return,
                protocol="ascii-st-gs"))[1])
        operator_tokens = {}
        for canteen_id in canteen_ids:
            operator = auth_service.create_user(session, SYSTEM, UserCreate(
                username=f"op{canteen_id}", password=PASSWORD, role=Role.operator, canteen_ids=[canteen_id]), now)
            operator_tokens[canteen_id] = auth_service.issue_api_token(session, operator, now)[0]
        bureau_cookies, bureau_canteens = [], []
        for index in range(bureau_users):
            bureau = province if index % 5 == 0 else counties[index % len(counties)]
            bureau_canteens.append([row.id for row in rows if row.id is not None and (
                bureau is province or row.bureau_id == bureau.id)])
            user = auth_service.create_user(session, SYSTEM, UserCreate(
                username=f"bureau{index}", password=PASSWORD, role=Role.bureau, bureau_id=bureau.id), now)
            bureau_cookies.append(auth_service.start_web_session(session, user, now, timedelta(hours=2)))
        session.execute(insert(User), [
            {"username": f"diner{index}", "display_name": f"diner{index}", "password_hash": hashed,
             "role": Role.diner, "canteen_id": canteen_ids[index % canteens], "created_at": now}
            for index in range(diners)])
        diner_rows = session.execute(select(User).where(User.role == Role.diner).order_by(User.id)).scalars().all()
        by_id = {row.id: row for row in rows}
        diner_list = []
        for user in diner_rows:
            assert user.id is not None and user.canteen_id is not None
            canteen = by_id[user.canteen_id]
            local_today = now.astimezone(booking_service.zone_of(canteen)).date()
            booking = booking_service.insert_booking(session, canteen, user.id, local_today, Meal.lunch, True, [],
                                                     now)
            diner_list.append((auth_service.issue_api_token(session, user, now)[0], user.canteen_id, booking.token))
        book_day = _bookable_day(session, rows[0], now)
        period = period_containing(now.date(), ScorecardKind.monthly).previous
        standard_id = assessment_service.reference_row(session, now).id
        body = score(reference_standard(), AssessmentInput(period=period.name, metrics={}, checklist={})).to_dict()
        session.execute(insert(Scorecard), [
            {"canteen_id": canteen_id, "kind": ScorecardKind.monthly, "period": period.name, "starts": period.starts,
             "ends": period.ends, "standard_id": standard_id, "total": 60 + (canteen_id * 7) % 40,
             "grade": "良好", "vetoed": False, "body": body | {"metrics": {}}, "computed_at": now}
            for canteen_id in canteen_ids])
    engine.dispose()
    return Province(canteen_ids, keys, diner_list, operator_tokens, bureau_cookies, bureau_canteens, book_day,
                    period.name)


def _bookable_day(session, canteen: Canteen, now: datetime) -> date:
    """The first day after today whose lunch can still be booked (before its cut-off, not a rest day)."""
    assert canteen.id is not None
    policy = rules.booking_policy(session, canteen.id)
    day = now.astimezone(booking_service.zone_of(canteen)).date()
    for _ in range(30):
        day += timedelta(days=1)
        if rules.past_cutoff(policy, canteen, day, now) is None and menus.closure(
                session, canteen.id, day, Meal.lunch) is None:
            return day
    raise RuntimeError("no bookable lunch in the next 30 days")


@dataclass
class Tally:
    """Latencies and errors per kind of request, and how late the generator sent each one."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    error_samples: dict[str, str] = field(default_factory=dict)
    lags: list[float] = field(default_factory=list)
    sent_items: int = 0
    accepted: int = 0
    duplicates_on_retry: int = 0
    retried_items: int = 0

    def record(self, kind: str, scheduled: float, started: float, response: httpx.Response | None,
               failure: str = "") -> None:
        self.lags.append(started - scheduled)
        self.latencies[kind].append(time.perf_counter() - started)
        if response is None or not 200 <= response.status_code < 300:
            self.errors[kind] += 1
            self.error_samples.setdefault(kind, failure or f"{response.status_code} {response.text[:200]}"
                                          if response is not None else failure)


class Limited:
    """An AsyncClient with at most `limit` requests in flight. httpx's pool matches every queued request against
    every connection on each change, so a queue of thousands (the server falling behind) made the generator spin
    instead of sending; here a request waits for its turn outside the pool, and the wait counts in its latency."""

    def __init__(self, client: httpx.AsyncClient, limit: int) -> None:
        self.client, self.gate = client, asyncio.Semaphore(limit)

    async def request(self, method: str, url: str, **options) -> httpx.Response:
        async with self.gate:
            return await self.client.request(method, url, **options)


async def at(moment: float) -> float:
    """Sleep until a moment of time.perf_counter(); returns when it actually woke."""
    delay = moment - time.perf_counter()
    if delay > 0:
        await asyncio.sleep(delay)
    return time.perf_counter()


async def request(client: Limited, tally: Tally, kind: str, scheduled: float, method: str, url: str,
                  **options) -> httpx.Response | None:
    started = await at(scheduled)
    try:
        response = await client.request(method, url, **options)
    except httpx.HTTPError as error:
        tally.record(kind, scheduled, started, None, f"{type(error).__name__}: {error}")
        return None
    tally.record(kind, scheduled, started, response)
    return response


async def gateway(client: Limited, tally: Tally, key: str, start: float, seconds: float, rate: float,
                  batch: int, retry_share: float, rng: random.Random) -> None:
    """One station's gateway: a batch every batch/rate seconds, from a random phase, with increasing seq; each
    batch leaves on time whether or not the one before has been answered."""
    interval = batch / rate
    headers = {"Authorization": f"Bearer {key}"}
    moment, seq, sent = start + rng.uniform(0, interval), 0, []
    while moment < start + seconds:
        await at(moment)
        sent.append(asyncio.create_task(_batch(client, tally, headers, moment, seq, batch, rng.random() < retry_share,
                                               rng.randrange(400))))
        seq += batch
        moment += interval
    await asyncio.gather(*sent)


async def _batch(client: Limited, tally: Tally, headers: dict[str, str], moment: float, seq: int,
                 batch: int, retry: bool, grams: int) -> None:
    measured_at = (datetime.now(UTC) - timedelta(seconds=2)).isoformat()
    body = {"items": [{"seq": seq + index, "measured_at": measured_at, "grams": (grams + index) % 400}
                      for index in range(batch)]}
    tally.sent_items += batch
    response = await request(client, tally, "weighings", moment, "POST", "/api/v1/weighings", json=body,
                             headers=headers)
    if response is not None and response.status_code == 200:
        tally.accepted += response.json()["accepted"]
        if retry:  # the answer "was lost": the gateway sends the same batch again
            again = await request(client, tally, "weighings (retry)", time.perf_counter(), "POST",
                                  "/api/v1/weighings", json=body, headers=headers)
            tally.retried_items += batch
            if again is not None and again.status_code == 200:
                tally.duplicates_on_retry += again.json()["duplicate"]


async def diner(client: Limited, tally: Tally, province: Province, index: int, start: float,
                seconds: float, rng: random.Random) -> None:
    token, canteen_id, lunch_token = province.diners[index]
    moments = sorted(start + rng.uniform(0, seconds) for _ in range(2))
    body = {"canteen_id": canteen_id, "service_date": province.book_day.isoformat(), "meal": "lunch",
            "set_meal": True}
    await asyncio.gather(
        request(client, tally, "booking", moments[0], "POST", "/api/v1/bookings", json=body,
                headers={"Authorization": f"Bearer {token}"}),
        request(client, tally, "check-in", moments[1], "POST", f"/api/v1/canteens/{canteen_id}/check-ins",
                json={"token": lunch_token},
                headers={"Authorization": f"Bearer {province.operator_tokens[canteen_id]}"}))


async def bureau_user(client: Limited, tally: Tally, province: Province, cookie: str, canteens: list[int],
                      start: float, seconds: float, think: float, rng: random.Random) -> None:
    """The overview, then one canteen's scorecard, and so on, a page every `think` seconds on average."""
    moment, overview, opened = start + rng.uniform(0, think), True, []
    headers = {"Cookie": f"{SESSION_COOKIE}={cookie}"}
    while moment < start + seconds:
        await at(moment)
        if overview:
            page = request(client, tally, "overview page", moment, "GET", f"/assessment?period={province.period}",
                           headers=headers)
        else:
            page = request(client, tally, "scorecard page", moment, "GET",
                           f"/canteens/{rng.choice(canteens)}/assessment?period={province.period}",
                           headers=headers)
        opened.append(asyncio.create_task(page))
        overview = not overview
        moment += rng.expovariate(1 / think)
    await asyncio.gather(*opened)


async def drive(url: str, province: Province, options: argparse.Namespace) -> tuple[Tally, float]:
    tally, rng = Tally(), random.Random(14)
    per_gateway = options.rate / len(province.station_keys)
    # Idle connections are dropped before uvicorn's 5 s keep-alive would close them under a request being sent.
    limits = httpx.Limits(max_connections=options.connections, max_keepalive_connections=options.connections,
                          keepalive_expiry=2)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as pooled:
        # Unmeasured: each worker's first pages (templates, fonts) are not the peak's.
        signed_in = {"Cookie": f"{SESSION_COOKIE}={province.bureau_cookies[0]}"}
        for _ in range(options.workers * 2):
            await pooled.get(f"/assessment?period={province.period}", headers=signed_in)
            await pooled.get(f"/canteens/{province.canteen_ids[0]}/assessment?period={province.period}",
                             headers=signed_in)
        client = Limited(pooled, options.connections)
        start = time.perf_counter() + 1  # a second to create every task before the first send
        tasks = [gateway(client, tally, key, start, options.seconds, per_gateway, options.batch, options.retry_share,
                         random.Random(rng.random())) for key in province.station_keys]
        tasks += [diner(client, tally, province, index, start, options.seconds, random.Random(rng.random()))
                  for index in range(len(province.diners))]
        tasks += [bureau_user(client, tally, province, cookie, canteens, start, options.seconds, options.think,
                              random.Random(rng.random()))
                  for cookie, canteens in zip(province.bureau_cookies, province.bureau_canteens, strict=True)]
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    return tally, elapsed


def stored(database_url: str) -> tuple[int, int]:
    """Stored plate weighings, and how many of them repeat a (station, seq) already stored."""
    engine = db.make_engine(database_url)
    with engine.connect() as connection:
        total = connection.execute(select(func.count()).select_from(PlateWeighing)).scalar_one()
        distinct = connection.execute(select(func.count()).select_from(
            select(PlateWeighing.station_id, PlateWeighing.seq).distinct().subquery())).scalar_one()
    engine.dispose()
    return total, total - distinct


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def report(tally: Tally, elapsed: float, total: int, doubled: int) -> bool:
    print(f"{'kind':<18}{'requests':>9}{'per s':>8}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}  p99 < {TARGET_P99_MS} ms")
    ok = True
    for kind, values in sorted(tally.latencies.items()):
        p99 = 1000 * percentile(values, 0.99)
        ok &= p99 < TARGET_P99_MS
        print(f"{kind:<18}{len(values):>9}{len(values) / elapsed:>8.1f}{1000 * statistics.median(values):>9.1f}"
              f"{p99:>9.1f}{tally.errors[kind]:>8}  {verdict(p99 < TARGET_P99_MS)}")
    for kind, sample in tally.error_samples.items():
        print(f"  first {kind} error: {sample}")
    errors = sum(tally.errors.values())
    # Lost: acknowledged as accepted, yet not stored. Items of a batch whose answer never came may or may not be
    # stored (a real gateway would send them again); they are counted among the errors, not here.
    lost = max(0, tally.accepted - total)
    print(f"weighings: {tally.sent_items:,} sent ({tally.sent_items / elapsed:,.0f}/s), {tally.accepted:,} accepted, "
          f"{total:,} stored; {tally.retried_items:,} resent by retries, {tally.duplicates_on_retry:,} of them "
          f"answered as duplicates")
    retries_ok = tally.duplicates_on_retry == tally.retried_items
    print(f"generator lag behind schedule: p50 {1000 * statistics.median(tally.lags):.1f} ms, "
          f"p99 {1000 * percentile(tally.lags, 0.99):.1f} ms, max {1000 * max(tally.lags):.1f} ms"
          + ("  (the generator itself falls behind: figures understate the load)"
             if percentile(tally.lags, 0.99) > 0.1 else ""))
    print(f"target: 0 errors: {errors} {verdict(errors == 0)}; 0 lost: {lost} {verdict(lost == 0)}; "
          f"0 doubled: {doubled} {verdict(doubled == 0)}; retries all duplicates: {verdict(retries_ok)}")
    return ok and errors == 0 and lost == 0 and doubled == 0 and retries_ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--gateways", type=int, default=500)
    parser.add_argument("--rate", type=float, default=2500, help="weighings a second, all gateways together")
    parser.add_argument("--batch", type=int, default=10, help="weighings per batch")
    parser.add_argument("--retry-share", type=float, default=0.02, help="share of batches sent twice")
    parser.add_argument("--diners", type=int, default=2000)
    parser.add_argument("--bureau-users", type=int, default=50)
    parser.add_argument("--think", type=float, default=5, help="mean seconds between a bureau user's pages")
    parser.add_argument("--canteens", type=int, default=0, help="default: one per gateway")
    parser.add_argument("--connections", type=int, default=200, help="the generator's HTTP connections")
    parser.add_argument("--workers", type=int, default=2)
    options = parser.parse_args()
    if min(options.gateways, options.diners, options.bureau_users, options.batch) < 1 or options.seconds <= 0 \
            or options.rate <= 0:
        print("error: --gateways, --diners, --bureau-users, --batch, --seconds and --rate must be positive",
              file=sys.stderr)
        return 2
    canteens = options.canteens or options.gateways
    with TemporaryPostgres() as server:
        began = time.perf_counter()
        province = seed(server.url, canteens, options.gateways, options.diners, options.bureau_users)
        print(f"seeded {canteens} canteens, {options.gateways} stations, {options.diners} diners, "
              f"{options.bureau_users} bureau users in {time.perf_counter() - began:.1f} s", flush=True)
        process, url = canteen_serve(server.url, options.workers, server.root / "canteen-serve.log")
        try:
            tally, elapsed = asyncio.run(drive(url, province, options))
        finally:
            process.terminate()
            process.wait(timeout=30)
        total, doubled = stored(server.url)
    print(f"lunch peak on PostgreSQL, {options.workers} workers, {elapsed:.0f} s: {options.gateways} gateways at "
          f"{options.rate:,.0f} weighings/s in batches of {options.batch}, {options.diners} diners, "
          f"{options.bureau_users} bureau users")
    return 0 if report(tally, elapsed, total, doubled) else 1


if __name__ == "__main__":
    sys.exit(main())
