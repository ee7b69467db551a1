"""Reservation fixtures: more diners beside the shared `org`, scopes by user name, a small menu."""
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace

import pytest
from sqlmodel import Session

from canteen import db
from canteen.access import SYSTEM, Role, Scope
from canteen.auth import service as auth_service
from canteen.auth.models import User, UserCreate
from canteen.org.models import Meal
from canteen.reservation import service
from canteen.reservation.models import Booking, DishCreate
from canteen.weighing.models import CheckIn

PASSWORD = "correct-horse-battery"


@pytest.fixture
def diners(engine, org, clock) -> dict[str, int]:
    """diner_a (from `org`), diner_a2 and diner_a3 at canteen A, diner_b at canteen B."""
    ids = {"diner_a": org.users["diner_a"]}
    with db.session_scope(engine) as session:
        for username, canteen in (("diner_a2", "a"), ("diner_a3", "a"), ("diner_b", "b")):
            user = auth_service.create_user(session, SYSTEM, UserCreate(
                username=username, password=PASSWORD, role=Role.diner, canteen_ids=[org.canteens[canteen]]), clock())
            ids[username] = user.id
    return ids


@pytest.fixture
def scope_of(session: Session, org, diners) -> Callable[[str], Scope]:
    def scope(username: str) -> Scope:
        user_id = diners.get(username) or org.users[username]
        return auth_service.scope_for(session, session.get(User, user_id))

    return scope


@pytest.fixture
def add_menu(engine, org) -> Callable[..., SimpleNamespace]:
    """Two dishes at a canteen (rice offers half and small, pork only half), put on one meal's menu."""
    def menu(day: date, meal: Meal = Meal.lunch, canteen: str = "a") -> SimpleNamespace:
        canteen_id = org.canteens[canteen]
        with db.session_scope(engine) as session:
            existing = {dish.name: dish for dish in service.list_dishes(session, SYSTEM, canteen_id)}
            rice = existing.get("米饭") or service.create_dish(
                session, SYSTEM, canteen_id, DishCreate(name="米饭", raw_grams=150, offers_small=True))
            pork = existing.get("红烧肉") or service.create_dish(
                session, SYSTEM, canteen_id, DishCreate(name="红烧肉", raw_grams=200))
            service.set_menu(session, SYSTEM, canteen_id, day, meal, [rice.id, pork.id])
            return SimpleNamespace(rice=rice.id, pork=pork.id)

    return menu


def cutoff_utc(day: date) -> datetime:
    """16:00 in Shanghai the day before (the default cut-off)."""
    return datetime.combine(day - timedelta(days=1), time(8, 0), tzinfo=UTC)


@pytest.fixture
def past_lunches(engine) -> Callable[..., None]:
    """From `first`, each day every diner booked lunch a day before the cut-off; all but the last came,
    plus one walk-in."""
    def add(canteen: int, diners: list[int], first: date, days: int) -> None:
        with db.session_scope(engine) as session:
            for offset in range(days):
                day = first + timedelta(days=offset)
                for index, diner in enumerate(diners):
                    booking = Booking(diner_id=diner, canteen_id=canteen, service_date=day, meal=Meal.lunch,
                                      token=f"bk_{canteen}_{day}_{index}", created_at=cutoff_utc(day) - timedelta(days=1))
                    session.add(booking)
                    session.flush()
                    if index < len(diners) - 1:
                        session.add(CheckIn(canteen_id=canteen, service_date=day, meal=Meal.lunch,
                                            booking_id=booking.id, diner_id=diner,
                                            at=cutoff_utc(day) + timedelta(hours=20)))
                session.add(CheckIn(canteen_id=canteen, service_date=day, meal=Meal.lunch,
                                    at=cutoff_utc(day) + timedelta(hours=20)))

    return add
