"""Forecast snapshots at the booking cut-off: taken once the cut-off passes, once per meal, never for days off."""
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
from sqlmodel import select

from canteen.access import SYSTEM
from canteen.org.models import Meal
from canteen.reservation import service
from canteen.reservation.forecast.history import booking_history
from canteen.reservation.forecast.model import WINDOW_DAYS, Forecaster
from canteen.reservation.forecast.snapshots import take_due_snapshots
from canteen.reservation.models import Booking, BookingCreate, ForecastSnapshot
from canteen.weighing.models import CheckIn
from canteen.weighing.service import recompute_rollups
from tests.reservation.conftest import cutoff_utc

WEDNESDAY = date(2026, 11, 25)
MONDAY_MORNING = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
NATIONAL_DAY = date(2026, 10, 1)  # a Thursday, public holiday


@pytest.fixture
def served_lunches(session, org, diners, past_lunches):
    """Canteen A's lunches from `first` on: three diners booked, two came and a walk-in; rollups up to date."""
    def add(first: date, days: int) -> None:
        canteen = org.canteens["a"]
        past_lunches(canteen, [diners["diner_a"], diners["diner_a2"], diners["diner_a3"]], first, days)
        recompute_rollups(session, canteen, [first + timedelta(days=offset) for offset in range(days)], MONDAY_MORNING)
        session.commit()

    return add


def snapshots(session) -> list[ForecastSnapshot]:
    return list(session.exec(select(ForecastSnapshot).order_by(ForecastSnapshot.service_date)))


def test_the_forecast_is_kept_from_the_cutoff_minute_on_and_only_once(session, org, scope_of, add_menu):
    add_menu(WEDNESDAY)
    for diner in ("diner_a", "diner_a2"):
        service.book(session, scope_of(diner), BookingCreate(
            canteen_id=org.canteens["a"], service_date=WEDNESDAY, meal=Meal.lunch, set_meal=True), MONDAY_MORNING)
    session.commit()
    deadline = cutoff_utc(WEDNESDAY)

    assert take_due_snapshots(session, deadline - timedelta(minutes=1)) == 0
    assert snapshots(session) == []

    assert take_due_snapshots(session, deadline) == 1
    session.commit()
    assert take_due_snapshots(session, deadline + timedelta(minutes=15)) == 0
    [kept] = snapshots(session)
    assert (kept.canteen_id, kept.service_date, kept.meal, kept.booked, kept.expected, kept.method) == (
        org.canteens["a"], WEDNESDAY, Meal.lunch, 2, 2, "bookings")
    assert kept.low <= 2 <= kept.high and kept.made_at == deadline


def test_a_closed_day_gets_no_snapshot_but_a_served_meal_without_bookings_does(session, org, served_lunches):
    canteen = org.canteens["a"]
    served_lunches(date(2026, 10, 26), 20)
    service.close_day(session, SYSTEM, canteen, WEDNESDAY, "停电检修", MONDAY_MORNING)
    session.commit()

    assert take_due_snapshots(session, cutoff_utc(WEDNESDAY)) == 0
    thursday = WEDNESDAY + timedelta(days=1)
    assert take_due_snapshots(session, cutoff_utc(thursday)) == 1
    [kept] = snapshots(session)
    # Nobody booked Thursday yet, but diners checked in to lunch lately: the history forecasts them.
    assert (kept.service_date, kept.meal, kept.booked) == (thursday, Meal.lunch, 0)


def test_a_holiday_is_snapshotted_only_when_the_canteen_opens_for_it(session, served_lunches, add_menu):
    served_lunches(date(2026, 9, 1), 29)
    deadline = cutoff_utc(NATIONAL_DAY)

    assert take_due_snapshots(session, deadline) == 0
    add_menu(NATIONAL_DAY)
    assert take_due_snapshots(session, deadline) == 1
    [kept] = snapshots(session)
    assert (kept.service_date, kept.meal, kept.method) == (NATIONAL_DAY, Meal.lunch, "holiday")


def test_the_snapshot_is_the_forecast_of_the_whole_history_though_the_job_reads_only_the_models_window(
        session, org, diners, past_lunches):
    """Over 196 days of lunches, older ones with more walk-ins: the job reads the last WINDOW_DAYS and keeps
    what a forecast from every past day says."""
    canteen = org.canteens["a"]
    ids = [diners["diner_a"], diners["diner_a2"], diners["diner_a3"]]
    first = WEDNESDAY - timedelta(days=198)
    for week in range(28):  # one to three diners book, week by week
        past_lunches(canteen, ids[:1 + week % 3], first + timedelta(weeks=week), 7)
    session.add_all(CheckIn(canteen_id=canteen, service_date=first + timedelta(days=offset), meal=Meal.lunch,
                            at=cutoff_utc(first + timedelta(days=offset)) + timedelta(hours=20))
                    for offset in range(0, 40, 2))
    session.add(Booking(diner_id=ids[0], canteen_id=canteen, service_date=WEDNESDAY, meal=Meal.lunch, token="bk_wed",
                        created_at=MONDAY_MORNING))
    session.commit()
    deadline = cutoff_utc(WEDNESDAY)
    whole = booking_history(session, SYSTEM, canteen, deadline)
    expected = Forecaster(whole.frame, whole.meal_ends, calendar=whole.calendar).day(
        WEDNESDAY, {"lunch": 1}, datetime(2026, 11, 24, 16, 0), whole.closed_days)
    assert whole.frame["date"].min() < pd.Timestamp(WEDNESDAY - timedelta(days=WINDOW_DAYS))

    assert take_due_snapshots(session, deadline) == 1
    [kept] = snapshots(session)
    assert (kept.booked, kept.expected, kept.low, kept.high, kept.method) == (
        1, expected[0].expected, expected[0].low, expected[0].high, expected[0].method.value)
    window = booking_history(session, SYSTEM, canteen, deadline, since=WEDNESDAY - timedelta(days=WINDOW_DAYS))
    assert Forecaster(window.frame, window.meal_ends, calendar=window.calendar).day(
        WEDNESDAY, {"lunch": 1}, datetime(2026, 11, 24, 16, 0), window.closed_days) == expected
