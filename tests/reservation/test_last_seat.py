"""The last seat of a meal, wanted by eight diners at the same instant, goes to exactly one of them.

A real `canteen serve` process (its worker threads, its own database connections) takes the bookings; each
diner posts from a thread with its own HTTP client, released together by a barrier.
"""
import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlmodel import Session, func, select

from canteen import db
from canteen.access import SYSTEM, Role
from canteen.auth import service as auth_service
from canteen.auth.models import UserCreate
from canteen.org.models import Meal
from canteen.reservation import service
from canteen.reservation.models import Booking, BookingStatus, DishCreate, PolicySchema
from tests.live import Server

PASSWORD = "correct-horse-battery"
RACERS = 8
TRIALS = 20
CAPACITY = 2  # one place already taken before each race: the racers want the last one


@pytest.fixture
def server(engine, tmp_path):
    live = Server(str(engine.url.render_as_string(hide_password=False)), tmp_path / "server.log")
    live.start()
    yield live
    live.kill()


def _setup(engine, org) -> tuple[list[str], list]:
    """Racers at canteen A, lunch capacity CAPACITY, and TRIALS days ahead, each with one place taken."""
    canteen = org.canteens["a"]
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    days = [today + timedelta(days=3 + offset) for offset in range(TRIALS)]
    names = [f"racer{index}" for index in range(RACERS)]
    with db.session_scope(engine) as session:
        for name in names:
            auth_service.create_user(session, SYSTEM, UserCreate(
                username=name, password=PASSWORD, role=Role.diner, canteen_ids=[canteen]), datetime.now(UTC))
        service.set_policy(session, SYSTEM, canteen, PolicySchema(lunch_capacity=CAPACITY))
        rice = service.create_dish(session, SYSTEM, canteen, DishCreate(name="米饭", raw_grams=150))
        for index, day in enumerate(days):
            # A menu opens the canteen on a rest day too, so every day of the race serves lunch.
            service.set_menu(session, SYSTEM, canteen, day, Meal.lunch, [rice.id])
            session.add(Booking(diner_id=org.users["diner_a"], canteen_id=canteen, service_date=day,
                                meal=Meal.lunch, token=f"bk_taken_{index}", created_at=datetime.now(UTC)))
    return names, days


def _race(server: Server, tokens: list[str], body: dict) -> list[httpx.Response]:
    clients = [httpx.Client(base_url=server.url, timeout=60,
                            headers={"Authorization": f"Bearer {token}"}) for token in tokens]
    for client in clients:  # connections opened before the start, so the posts leave together
        assert client.get("/api/v1/me").status_code == 200
    barrier = threading.Barrier(len(clients))
    responses: list[httpx.Response | None] = [None] * len(clients)

    def post(index: int) -> None:
        barrier.wait()
        responses[index] = clients[index].post("/api/v1/bookings", json=body)

    threads = [threading.Thread(target=post, args=(index,)) for index in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for client in clients:
        client.close()
    assert all(response is not None for response in responses)
    return [response for response in responses if response is not None]


def test_eight_diners_for_the_last_seat_one_wins(engine, org, server):
    names, days = _setup(engine, org)
    tokens = []
    for name in names:
        answer = httpx.post(f"{server.url}/api/v1/auth/token", json={"username": name, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        tokens.append(answer.json()["access_token"])
    outcomes = []
    for day in days:
        body = {"canteen_id": org.canteens["a"], "service_date": day.isoformat(), "meal": "lunch",
                "set_meal": True}
        responses = _race(server, tokens, body)
        with Session(engine) as session:
            booked = session.exec(select(func.count()).select_from(Booking).where(
                Booking.service_date == day, Booking.status == BookingStatus.booked)).one()
        outcomes.append((day, sorted(response.status_code for response in responses), booked))
        for response in responses:
            if response.status_code == 409:
                detail = response.json()["detail"][0]
                assert detail["loc"] == ["body", "meal"]
                # "{date} 的 午餐 已订满（共 2 个名额）": the reason, in the default language
                assert "已订满" in detail["msg"] and str(CAPACITY) in detail["msg"], detail
    expected = [(day, [201] + [409] * (RACERS - 1), CAPACITY) for day in days]
    overbooked = [outcome for outcome in outcomes if outcome[2] > CAPACITY]
    assert outcomes == expected, f"{len(overbooked)} of {TRIALS} races overbooked: {overbooked}"
