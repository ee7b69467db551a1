"""Dish fixtures: canteen A's rice, pork and greens (and a dish of canteen B), menus, a set-meal booking that
makes the plan, and unserved food weighed at a kitchen station and classified against a dish (the terminal's
end state)."""
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from itertools import count
from types import SimpleNamespace

import pytest

from canteen import db
from canteen.access import SYSTEM
from canteen.org import service as org_service
from canteen.org.models import Meal, StationCreate, StationKind
from canteen.reservation import service
from canteen.reservation.models import Booking, DishCreate
from canteen.weighing.models import KitchenCategory, KitchenSource, KitchenWaste


@pytest.fixture
def dishes(engine, org) -> SimpleNamespace:
    """Rice 150 g, pork 200 g and greens 180 g of raw ingredients a full portion at A; fish at B."""
    with db.session_scope(engine) as session:
        made = {key: service.create_dish(session, SYSTEM, org.canteens[canteen], DishCreate(name=name, raw_grams=grams))
                for key, canteen, name, grams in (("rice", "a", "米饭", 150), ("pork", "a", "红烧肉", 200),
                                                  ("greens", "a", "清炒时蔬", 180), ("fish", "b", "清蒸鱼", 250))}
        return SimpleNamespace(**{key: dish.id for key, dish in made.items()})


@pytest.fixture
def menu(engine, org) -> Callable[..., None]:
    def put_on(day: date, *dish_ids: int, meal: Meal = Meal.lunch, canteen: str = "a") -> None:
        with db.session_scope(engine) as session:
            service.set_menu(session, SYSTEM, org.canteens[canteen], day, meal, list(dish_ids))

    return put_on


@pytest.fixture
def set_meal_booking(engine, org) -> Callable[..., None]:
    """diner_a's set meal (a full portion of every dish), booked two days ahead: the plan is one portion a dish."""
    def book(day: date, meal: Meal = Meal.lunch) -> None:
        with db.session_scope(engine) as session:
            session.add(Booking(diner_id=org.users["diner_a"], canteen_id=org.canteens["a"], service_date=day,
                                meal=meal, set_meal=True, token=f"bk_{day}_{meal.value}",
                                created_at=datetime.combine(day - timedelta(days=2), time(1), tzinfo=UTC)))

    return book


@pytest.fixture
def unserved(engine, org) -> Callable[..., int]:
    """A kitchen station's weighing at A classified at the terminal (stage unserved and the dish, unless told
    otherwise); returns its id."""
    with db.session_scope(engine) as session:
        station, _ = org_service.create_station(session, SYSTEM, StationCreate(
            canteen_id=org.canteens["a"], name="后厨秤", kind=StationKind.kitchen))
        station_id = station.id
    seq = count(1)

    def weigh(day: date, dish_id: int | None, grams: int, meal: Meal = Meal.lunch,
              category: KitchenCategory = KitchenCategory.unserved) -> int:
        at = datetime.combine(day, time(6), tzinfo=UTC)
        with db.session_scope(engine) as session:
            record = KitchenWaste(canteen_id=org.canteens["a"], service_date=day, meal=meal, category=category,
                                  grams=grams, source=KitchenSource.station, station_id=station_id, seq=next(seq),
                                  measured_at=at, recorded_at=at, dish_id=dish_id, classified_at=at,
                                  classified_by=org.users["operator_a"])
            session.add(record)
            session.flush()
            assert record.id is not None
            return record.id

    return weigh
