"""Time of the managers' bookings pages with demo-sized data, beside a trivial page of the same app.

Builds one canteen in a fresh SQLite database (or the tests' throwaway PostgreSQL): `--diners` diners (500), each
booking most lunches and some breakfasts and dinners over `--days` past days (90) and the week ahead, about nine
in ten coming, a few cancelling, walk-ins beside them, a menu of four dishes a meal with portion choices. Then,
signed in as the canteen's operator through the app (FastAPI's TestClient, no network), it requests

    /canteens/{id}/bookings                      the coming meals and tomorrow's lunch in detail
    /canteens/{id}/bookings?date=…&meal=dinner   one other meal
    /bookings                                    the diner's page (a diner with a full history)
    /healthz                                     the reference: one trivial query through the same app

and prints the median of `--repeat` requests of each (the first request of each is left out: it warms caches).
Target (issue 12): the bookings pages under 300 ms.

    python benchmarks/bookings_page.py [--days 90] [--diners 500] [--repeat 7] [--only sqlite|postgresql]
"""
import argparse
import random
import re
import secrets
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import insert
from sqlmodel import Session, select

from canteen import db
from canteen.access import SYSTEM, Role
from canteen.app import create_app
from canteen.auth import service as auth_service
from canteen.auth.models import User, UserCreate
from canteen.config import Settings
from canteen.org import service as org_service
from canteen.org.models import BureauCreate, CanteenCreate, Meal
from canteen.reservation import service as reservation_service
from canteen.reservation.models import Booking, BookingChoice, BookingStatus, DishCreate, MenuItem, Portion
from canteen.weighing.models import CheckIn
from tests.support.pgserver import TemporaryPostgres

TARGET_MS = 300
PASSWORD = "benchmark-password"
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
BOOKS = {Meal.breakfast: 0.3, Meal.lunch: 0.85, Meal.dinner: 0.2}  # chance a diner books the meal
COMES, CANCELS, CHOOSES = 0.9, 0.05, 0.4
WALK_INS = {Meal.breakfast: 10, Meal.lunch: 30, Meal.dinner: 8}
SERVED_AT = {Meal.breakfast: 0, Meal.lunch: 4, Meal.dinner: 10}  # hour (UTC) diners come in
DISHES = [("米饭", 150), ("红烧肉", 180), ("清炒时蔬", 200), ("番茄炒蛋", 180), ("麻婆豆腐", 180), ("紫菜蛋花汤", 60)]


def build(database_url: str, days: int, diners: int) -> int:
    """The canteen with its history; returns its id."""
    engine = db.make_engine(database_url)
    db.upgrade(engine)
    rng = random.Random(7)
    with db.session_scope(engine) as session:
        bureau = org_service.create_bureau(session, SYSTEM, BureauCreate(name="基准测试局"))
        canteen = org_service.create_canteen(session, SYSTEM, CanteenCreate(bureau_id=bureau.id, name="基准测试食堂"),
                                             "Asia/Shanghai")
        assert canteen.id is not None
        canteen_id = canteen.id
        for username, role in (("operator", Role.operator), ("diner", Role.diner)):
            auth_service.create_user(session, SYSTEM, UserCreate(username=username, password=PASSWORD, role=role,
                                                                 canteen_ids=[canteen.id]), NOW)
        password_hash = session.exec(select(User.password_hash).where(User.username == "diner")).one()
        session.execute(insert(User), [
            {"username": f"diner{index}", "display_name": f"食客{index}", "password_hash": password_hash,
             "role": Role.diner, "canteen_id": canteen.id, "created_at": NOW} for index in range(diners - 1)])
        diner_ids = list(session.exec(select(User.id).where(User.role == Role.diner)).all())
        dishes = [reservation_service.create_dish(session, SYSTEM, canteen.id, DishCreate(name=name, raw_grams=grams))
                  for name, grams in DISHES]
        dish_ids = [dish.id for dish in dishes if dish.id is not None]
        today = NOW.date()
        first = today - timedelta(days=days)
        for offset in range(days + 8):
            day = first + timedelta(days=offset)
            if day.weekday() < 5:
                _meal_rows(session, rng, canteen.id, day, day < today, diner_ids, dish_ids)
    engine.dispose()
    return canteen_id


def _meal_rows(session: Session, rng: random.Random, canteen_id: int, day: date, past: bool, diner_ids: list,
               dish_ids: list) -> None:
    for meal, share in BOOKS.items():
        menu = rng.sample(dish_ids, 4)
        session.execute(insert(MenuItem), [{"canteen_id": canteen_id, "service_date": day, "meal": meal,
                                            "dish_id": dish_id} for dish_id in menu])
        booked_at = datetime.combine(day - timedelta(days=2), datetime.min.time(), UTC)
        bookings = []
        for diner_id in diner_ids:
            if rng.random() < share:
                cancelled = rng.random() < CANCELS
                bookings.append({"diner_id": diner_id, "canteen_id": canteen_id, "service_date": day, "meal": meal,
                                 "status": BookingStatus.cancelled if cancelled else BookingStatus.booked,
                                 "set_meal": rng.random() > CHOOSES, "token": f"bk_{secrets.token_urlsafe(18)}",
                                 "created_at": booked_at, "cancelled_at": booked_at if cancelled else None})
        session.execute(insert(Booking), bookings)
        rows = session.exec(select(Booking.id, Booking.diner_id, Booking.set_meal, Booking.status).where(
            Booking.canteen_id == canteen_id, Booking.service_date == day, Booking.meal == meal)).all()
        choices = [{"booking_id": booking_id, "dish_id": dish_id, "portion": rng.choice(list(Portion)[:2])}
                   for booking_id, _, set_meal, _ in rows if not set_meal for dish_id in menu[:2]]
        if choices:
            session.execute(insert(BookingChoice), choices)
        if not past:
            continue
        served = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=SERVED_AT[meal])
        check_ins = [{"canteen_id": canteen_id, "service_date": day, "meal": meal, "booking_id": booking_id,
                      "diner_id": diner_id, "at": served} for booking_id, diner_id, _, status in rows
                     if status is BookingStatus.booked and rng.random() < COMES]
        check_ins += [{"canteen_id": canteen_id, "service_date": day, "meal": meal, "at": served}] * WALK_INS[meal]
        session.execute(insert(CheckIn), check_ins)


def median_ms(client: TestClient, url: str, repeat: int) -> float:
    assert client.get(url).status_code == 200, url
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, url
    return statistics.median(times)


def measure(database_url: str, days: int, diners: int, repeat: int) -> None:
    started = time.perf_counter()
    canteen_id = build(database_url, days, diners)
    print(f"  built {days} days, {diners} diners in {time.perf_counter() - started:.1f} s")
    settings = Settings(database_url=database_url, secret_key="benchmark", language="zh_CN", scheduler=False)
    app = create_app(settings, clock=lambda: NOW)
    tomorrow = NOW.date() + timedelta(days=1)
    with TestClient(app) as client:
        reference = median_ms(client, "/healthz", repeat)
        pages = {}
        for username, urls in (("operator", [f"/canteens/{canteen_id}/bookings",
                                             f"/canteens/{canteen_id}/bookings?date={tomorrow}&meal=dinner"]),
                               ("diner", ["/bookings"])):
            client.cookies.clear()
            token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)[1]
            response = client.post("/login", data={"username": username, "password": PASSWORD, "next": "/",
                                                   "csrf_token": token},
                                   follow_redirects=False)
            assert response.status_code == 303, response.text
            pages |= {url: median_ms(client, url, repeat) for url in urls}
    app.state.engine.dispose()
    print(f"  {'reference /healthz':<58} {reference:8.1f} ms")
    for url, ms in pages.items():
        verdict = "ok" if ms < TARGET_MS else f"above the {TARGET_MS} ms target"
        print(f"  {url:<58} {ms:8.1f} ms  ({ms / reference:.0f}× the reference; {verdict})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--diners", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    if args.only != "postgresql":
        print("sqlite")
        with tempfile.TemporaryDirectory() as folder:
            measure(f"sqlite:///{Path(folder) / 'canteen.db'}", args.days, args.diners, args.repeat)
    if args.only != "sqlite":
        print("postgresql")
        with TemporaryPostgres() as server:
            measure(server.url, args.days, args.diners, args.repeat)


if __name__ == "__main__":
    main()
