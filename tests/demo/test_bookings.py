"""Demo bookings: the seeded records are what the simulator drew, read back through the services that use them.

One demo is seeded per database backend for the whole module: two weeks up to Monday 19 October 2026, 13:00 in
Shanghai, which take in the end of the National Day holiday (1–7 October) and its adjusted workday (Saturday
10 October).
"""
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import chinese_calendar
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from canteen import demo
from canteen.access import SYSTEM, Role
from canteen.auth import service as auth_service
from canteen.auth.models import User
from canteen.demo.bookings import booking_draws
from canteen.demo.history import SEED
from canteen.errors import Unauthorized
from canteen.org import service as org_service
from canteen.org.models import Canteen, Meal
from canteen.reservation import service
from canteen.reservation.forecast.backtest import backtest
from canteen.reservation.forecast.history import booking_history
from canteen.reservation.models import Booking, BookingChoice, BookingStatus, ClosedDay, MenuItem, Portion
from canteen.weighing.models import CheckIn, DailyRollup, DinerSource, PlateWeighing
from hardware_sim.bookings import MealDay
from tests.support import database
from tests.support.calendars import SEEDED

NOW = datetime(2026, 10, 19, 5, 0, tzinfo=UTC)
TODAY = date(2026, 10, 19)
DAYS = 14
HOLIDAYS = [date(2026, 10, day) for day in (5, 6, 7)]
ADJUSTED_WORKDAY = date(2026, 10, 10)


@pytest.fixture(scope="module")
def seeded(migrated_engine: Engine) -> Iterator[Engine]:
    with Session(migrated_engine) as session:
        demo.seed(session, NOW, history_days=DAYS)
        session.commit()
    yield migrated_engine
    # Leave the database as empty as the per-test `engine` fixture does, ids restarting included.
    database.empty(migrated_engine)


@pytest.fixture
def session(seeded: Engine) -> Iterator[Session]:
    with Session(seeded) as session:
        yield session


def canteens(session: Session) -> list[Canteen]:
    return list(session.exec(select(Canteen).order_by(Canteen.id)))


def draws(session: Session, canteen: Canteen) -> dict[tuple[date, str], MealDay]:
    meals = [window.meal.value for window in org_service.meal_windows(session, canteen.id)]
    return {(row.day, row.meal): row for row in booking_draws(canteen, meals, NOW, DAYS, SEED, SEEDED)}


def per_meal(session: Session, model, canteen_id: int) -> Counter:
    rows = session.exec(select(model.service_date, model.meal, func.count()).where(
        model.canteen_id == canteen_id, model.service_date < TODAY).group_by(model.service_date, model.meal))
    return Counter({(day, meal.value): count for day, meal, count in rows})


def test_history_is_what_the_simulator_drew(session):
    assert chinese_calendar.is_holiday(HOLIDAYS[0]) and chinese_calendar.is_workday(ADJUSTED_WORKDAY)
    for canteen in canteens(session):
        drawn = draws(session, canteen)
        frame = booking_history(session, SYSTEM, canteen.id, NOW).frame
        replayed = {(row.date.date(), row.meal): (row.booked, row.served, row.closed) for row in frame.itertuples()}
        past = {key: (row.booked, row.served, row.closed) for key, row in drawn.items() if key[0] < TODAY}
        # The history starts at the first booking: the holidays before it are missing, and closed anyway.
        assert replayed == {key: value for key, value in past.items() if key in replayed}
        assert all(value[2] for key, value in past.items() if key not in replayed)
        for day in HOLIDAYS:
            assert all(drawn[(day, meal)].closed for meal in ("breakfast", "lunch", "dinner"))
        assert not drawn[(ADJUSTED_WORKDAY, "lunch")].closed and drawn[(ADJUSTED_WORKDAY, "lunch")].booked > 0
        for day, meal in ((TODAY - timedelta(days=1), Meal.dinner), (ADJUSTED_WORKDAY, Meal.lunch)):
            expected = drawn[(day, meal.value)]
            counts = service.meal_counts(session, SYSTEM, canteen.id, day, meal, NOW)
            assert (counts.booked, counts.checked_in, counts.walk_ins, counts.no_shows) == (
                expected.booked, expected.showed_up, expected.walk_ins, expected.booked - expected.showed_up)


def test_holidays_are_the_calendars_and_closed_days_the_canteens_own(session):
    for canteen in canteens(session):
        for model in (Booking, CheckIn, PlateWeighing, MenuItem):
            days = set(session.exec(select(model.service_date).where(model.canteen_id == canteen.id)))
            assert days.isdisjoint(HOLIDAYS)
        closed = set(session.exec(select(ClosedDay.service_date).where(ClosedDay.canteen_id == canteen.id)))
        drawn_closed = {day for (day, _), row in draws(session, canteen).items() if row.closed}
        assert closed <= drawn_closed - set(HOLIDAYS)
        assert all(chinese_calendar.is_workday(day) or "医院" in canteen.name or "中学" in canteen.name
                   for day in closed)


def test_every_past_plate_is_a_diner_who_checked_in(session):
    for canteen in canteens(session):
        check_ins = per_meal(session, CheckIn, canteen.id)
        assert check_ins == per_meal(session, PlateWeighing, canteen.id)
        rollups = session.exec(select(DailyRollup).where(DailyRollup.canteen_id == canteen.id,
                                                         DailyRollup.service_date < TODAY)).all()
        assert {(rollup.service_date, rollup.meal.value): rollup.diners for rollup in rollups} == dict(check_ins)
        assert {rollup.diner_source for rollup in rollups} == {DinerSource.checkins}
    today = session.exec(select(CheckIn.meal, func.max(CheckIn.at)).where(CheckIn.service_date == TODAY)
                         .group_by(CheckIn.meal)).all()
    assert {meal for meal, _ in today} == {Meal.breakfast, Meal.lunch}
    assert max(at for _, at in today) <= NOW


def test_bookings_are_made_and_cancelled_before_the_cut_off(session):
    for canteen in canteens(session)[:3]:
        policy = service.get_policy(session, SYSTEM, canteen.id)
        bookings = session.exec(select(Booking).where(Booking.canteen_id == canteen.id)).all()
        assert all(booking.created_at < service.cutoff(policy, canteen, booking.service_date) for booking in bookings)
        assert all(booking.created_at <= NOW for booking in bookings)
        cancelled = [booking for booking in bookings if booking.status is BookingStatus.cancelled]
        assert 0 < len(cancelled) < len(bookings) * 0.1
        assert all(booking.created_at < booking.cancelled_at < service.cutoff(policy, canteen, booking.service_date)
                   for booking in cancelled)


def test_days_ahead_have_menus_and_the_bookings_made_so_far(session):
    canteen = session.exec(select(Canteen).where(Canteen.name == "南昌市第一医院职工食堂")).one()
    drawn = draws(session, canteen)
    live = Counter(session.exec(select(Booking.service_date).where(
        Booking.canteen_id == canteen.id, Booking.meal == Meal.lunch, Booking.service_date > TODAY,
        Booking.status == BookingStatus.booked)))
    tomorrow = TODAY + timedelta(days=1)
    # 13:00: most of tomorrow's bookings are in, fewer for the days after.
    assert 0.5 * drawn[(tomorrow, "lunch")].booked < live[tomorrow] <= drawn[(tomorrow, "lunch")].booked * 1.1
    assert live[tomorrow + timedelta(days=3)] < live[tomorrow] * 0.5
    menu_days = set(session.exec(select(MenuItem.service_date).where(MenuItem.canteen_id == canteen.id,
                                                                       MenuItem.service_date > TODAY)))
    assert menu_days == {TODAY + timedelta(days=offset) for offset in range(1, 8)}
    portions = Counter(session.exec(select(BookingChoice.portion).join(Booking).where(
        Booking.canteen_id == canteen.id)))
    assert portions[Portion.full] > portions[Portion.half] > portions[Portion.small] > 0
    counts = service.meal_counts(session, SYSTEM, canteen.id, tomorrow, Meal.lunch, NOW)
    assert 0 < counts.set_meals < counts.booked and counts.portions


def test_the_forecast_backtest_runs_on_a_seeded_canteen(session):
    canteen = session.exec(select(Canteen).where(Canteen.name == "江西省直机关第一食堂")).one()
    history = booking_history(session, SYSTEM, canteen.id, NOW)
    result = backtest(history.frame, history.cutoff_time, history.days_before, history.meal_ends,
                      calendar=history.calendar)
    assert result.rows > 0
    assert result.overall["forecast"].wape < 0.2


def test_login_diners_have_a_history_with_no_shows_and_nothing_booked_ahead(session):
    for login in (login for login in demo.LOGINS if login.role is Role.diner):
        user = session.exec(select(User).where(User.username == login.username)).one()
        scope = auth_service.scope_for(session, user)
        assert len(service.my_no_shows(session, scope, NOW)) >= 2
        booked = service.my_bookings(session, scope, TODAY - timedelta(days=DAYS), TODAY + timedelta(days=7))
        assert len(booked) > 5
        assert max(booking.service_date for booking in booked) <= TODAY


def test_nobody_can_sign_in_as_a_pool_diner(session):
    pool = session.exec(select(User).where(User.role == Role.diner, col(User.username).startswith("demo-diner-"))).all()
    assert len(pool) >= sum(canteen.seats for canteen in canteens(session))
    with pytest.raises(Unauthorized):
        auth_service.authenticate(session, pool[0].username, "demo-password", "test", NOW, auth_service.Throttle())
