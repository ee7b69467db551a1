"""Forecast snapshots at the 16:00 cut-off for a province: the job's time per canteen as history grows.

For each history length (182, 365 and 730 days up to yesterday) a fresh database gets N canteens with lunch and
dinner, each with its diners booking most working days (some cancelling, before and after the cut-off), checking
in and a few walking in, and bookings for tomorrow. At Tuesday 24 November 2026 16:00 (Shanghai), the cut-off for
Wednesday's meals, `take_due_snapshots` runs once over all of them. Beside it, measured in the same run on the same
history: the canteen's whole history read as the forecast pages read it (`booking_history`), and the forecaster
alone (`Forecaster` built on that history and asked for the due meals). Prints milliseconds per canteen, the job
extrapolated to 5,000 canteens, and whether the target (≤ 60 ms a canteen on PostgreSQL, so 5,000 canteens in 5
minutes) is met. Figures on a shared 2-core machine are noisy.

    python benchmarks/snapshots.py [--canteens 5] [--diners 60] [--days 182 365 730] [--only sqlite|postgresql]

`--canteens 5000` measures the issue's full size instead of extrapolating (it seeds hundreds of millions of rows).
"""
import argparse
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select
from sqlmodel import Session

from canteen import db
from canteen.access import SYSTEM, Role
from canteen.auth.models import User
from canteen.calendar import service as calendar_service
from canteen.org.models import Bureau, BureauLevel, Canteen, Meal, MealWindow, OperatingMode, ServingMode
from canteen.reservation.forecast.history import booking_history
from canteen.reservation.forecast.model import Forecaster
from canteen.reservation.forecast.snapshots import take_due_snapshots
from canteen.reservation.models import Booking, BookingStatus, ForecastSnapshot
from canteen.weighing.models import CheckIn
from tests.support.pgserver import TemporaryPostgres

PROVINCE = 5000
TARGET_MS = 60.0
ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 24, 16, 0, tzinfo=ZONE).astimezone(UTC)  # Wednesday's cut-off
TOMORROW = date(2026, 11, 25)
WINDOWS = {Meal.lunch: (clock_time(11, 30), clock_time(13, 0)), Meal.dinner: (clock_time(17, 30), clock_time(19, 0))}
BOOKS = {Meal.lunch: 0.8, Meal.dinner: 0.4}  # share of a canteen's diners booking the meal on a working day


def _chunked(session: Session, model, rows: list[dict]) -> None:
    """Bulk inserts: COPY on PostgreSQL (an executemany there crosses to the server once per row)."""
    if not rows:
        return
    table = db.table_of(model)
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        connection.execute(insert(table), rows)
        return
    columns = list(rows[0])
    name = connection.dialect.identifier_preparer.format_table(table)
    statement = f"COPY {name} ({', '.join(columns)}) FROM STDIN"
    with connection.connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([value.value if isinstance(value, StrEnum) else value for value in row.values()])


def _cutoff(day: date) -> datetime:
    return datetime.combine(day - timedelta(days=1), clock_time(16), tzinfo=ZONE).astimezone(UTC)


def seed(session: Session, canteens: int, diners: int, days: int) -> int:
    """The province's canteens with `days` of booking history; returns how many bookings and check-ins."""
    rng = random.Random(days)
    calendar = calendar_service.load(session)
    county = Bureau(name="第1县机关事务服务中心", level=BureauLevel.county)
    session.add(county)
    session.flush()
    rows = [Canteen(bureau_id=county.id, name=f"机关食堂{index + 1:05d}", operating_mode=OperatingMode.self_run,
                    serving_mode=ServingMode.buffet, timezone="Asia/Shanghai") for index in range(canteens)]
    session.add_all(rows)
    session.flush()
    _chunked(session, MealWindow, [{"canteen_id": canteen.id, "meal": meal, "starts": starts, "ends": ends}
                                   for canteen in rows for meal, (starts, ends) in WINDOWS.items()])
    _chunked(session, User, [{"username": f"diner_{canteen.id}_{number}", "display_name": "就餐人员",
                              "password_hash": "-", "role": Role.diner, "canteen_id": canteen.id, "active": True,
                              "created_at": NOW} for canteen in rows for number in range(diners)])
    users = session.execute(select(User.canteen_id, User.id).where(User.role == Role.diner)).all()
    by_canteen: dict[int, list[int]] = {}
    for canteen_id, user_id in users:
        by_canteen.setdefault(canteen_id, []).append(user_id)
    service_days = [day for offset in range(days, -1, -1)
                    if calendar.is_working_day(day := TOMORROW - timedelta(days=offset + 1))] + [TOMORROW]
    total = 0
    for canteen in rows:
        assert canteen.id is not None
        bookings, checkins = [], []
        for day in service_days:
            deadline = _cutoff(day)
            for meal, share in BOOKS.items():
                for diner in by_canteen[canteen.id]:
                    if rng.random() >= share:
                        continue
                    booking = {"diner_id": diner, "canteen_id": canteen.id, "service_date": day, "meal": meal,
                               "status": BookingStatus.booked, "set_meal": True, "token": f"b{len(bookings)}_{diner}",
                               "created_at": deadline - timedelta(hours=rng.uniform(1, 72)), "cancelled_at": None}
                    if rng.random() < 0.06:  # cancelled, half of them after the cut-off
                        booking["status"] = BookingStatus.cancelled
                        booking["cancelled_at"] = deadline + timedelta(hours=rng.uniform(-2, 2))
                    bookings.append(booking)
        _chunked(session, Booking, bookings)
        ids = session.execute(select(Booking.id, Booking.service_date, Booking.meal, Booking.status, Booking.diner_id)
                              .where(Booking.canteen_id == canteen.id, Booking.service_date < TOMORROW)).all()
        for booking_id, day, meal, status, diner in ids:
            if status is BookingStatus.booked and rng.random() < 0.9:
                checkins.append({"canteen_id": canteen.id, "service_date": day, "meal": meal, "booking_id": booking_id,
                                 "diner_id": diner, "at": _cutoff(day) + timedelta(hours=20)})
        for day in service_days[:-1]:
            for meal, share in BOOKS.items():
                checkins += [{"canteen_id": canteen.id, "service_date": day, "meal": meal, "booking_id": None,
                              "diner_id": None, "at": _cutoff(day) + timedelta(hours=20)}
                             for _ in range(rng.randint(0, int(diners * share * 0.1)))]
        _chunked(session, CheckIn, checkins)
        total += len(bookings) + len(checkins)
    return total


@contextmanager
def _timed(into: list[float]) -> Iterator[None]:
    started = time.perf_counter()
    yield
    into.append(time.perf_counter() - started)


def measure(database_url: str, canteens: int, diners: int, days: int) -> float:
    """ms per canteen of the snapshot job, after printing it beside the references."""
    engine = db.make_engine(database_url)
    db.upgrade(engine)
    started = time.perf_counter()
    with db.session_scope(engine) as session:
        rows = seed(session, canteens, diners, days)
    seeded = time.perf_counter() - started
    with Session(engine) as session:
        ids = list(session.execute(select(Canteen.id)).scalars())
        job: list[float] = []
        with _timed(job):
            taken = take_due_snapshots(session, NOW)
        snapshots = session.execute(select(ForecastSnapshot.canteen_id, ForecastSnapshot.service_date,
                                           ForecastSnapshot.meal)).all()
        session.rollback()
        reading: list[float] = []
        forecasting: list[float] = []
        local_now = NOW.astimezone(ZONE).replace(tzinfo=None)
        for canteen_id in ids[:min(len(ids), 20)]:  # the references on the first few canteens are enough
            with _timed(reading):
                history = booking_history(session, SYSTEM, canteen_id, NOW)
            with _timed(forecasting):
                forecaster = Forecaster(history.frame, history.meal_ends, calendar=history.calendar)
                forecaster.day(TOMORROW, {"lunch": 1, "dinner": 1}, local_now, history.closed_days)
                forecaster.day(TOMORROW - timedelta(days=1), {"dinner": 1}, local_now, history.closed_days)
    engine.dispose()
    per_canteen = job[0] / canteens * 1000
    print(f"  {days:>3} days: {rows / canteens:>7,.0f} rows a canteen (seeded in {seeded:.0f} s); "
          f"job {per_canteen:6.1f} ms/canteen ({taken} snapshots, {len({row[0] for row in snapshots})} canteens) | "
          f"whole history read {sum(reading) / len(reading) * 1000:6.1f} ms, "
          f"forecaster alone {sum(forecasting) / len(forecasting) * 1000:5.1f} ms | "
          f"× {PROVINCE:,} = {per_canteen * PROVINCE / 60_000:5.1f} min", flush=True)
    return per_canteen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--canteens", type=int, default=5, help="canteens measured (5000: the issue's full size)")
    parser.add_argument("--diners", type=int, default=60, help="diners per canteen")
    parser.add_argument("--days", type=int, nargs="+", default=[182, 365, 730], help="history lengths")
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    figures: dict[str, dict[int, float]] = {}
    if args.only != "postgresql":
        print(f"sqlite, {args.canteens} canteens of {args.diners} diners", flush=True)
        with tempfile.TemporaryDirectory() as folder:
            figures["sqlite"] = {days: measure(f"sqlite:///{folder}/snapshots{days}.db", args.canteens, args.diners,
                                               days) for days in args.days}
    if args.only != "sqlite":
        print(f"postgresql, {args.canteens} canteens of {args.diners} diners", flush=True)
        with TemporaryPostgres() as server:
            results = {}
            for days in args.days:
                server.sql(f"CREATE DATABASE snapshots{days}")
                results[days] = measure(server.url.rsplit("/", 1)[0] + f"/snapshots{days}", args.canteens,
                                        args.diners, days)
            figures["postgresql"] = results
    for name, results in figures.items():
        shortest, longest = min(results), max(results)
        print(f"{name}: {longest} / {shortest} days of history cost {results[longest] / results[shortest]:.1f}× "
              f"the job's time (history {longest / shortest:.1f}×)")
    if "postgresql" in figures:
        worst = max(figures["postgresql"].values())
        met = worst <= TARGET_MS
        print(f"target ≤ {TARGET_MS:.0f} ms/canteen on PostgreSQL ({PROVINCE:,} canteens in "
              f"{TARGET_MS * PROVINCE / 60_000:.0f} min): {'met' if met else 'NOT met'} ({worst:.1f} ms at worst)")
        return 0 if met else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
