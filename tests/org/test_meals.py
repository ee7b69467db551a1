"""Meal derivation from a canteen's windows, at the edges and across midnight, in the canteen's time zone."""
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from canteen.org.meals import ServicePeriod, nearest_period, period_at
from canteen.org.models import Meal, MealWindow

SHANGHAI = ZoneInfo("Asia/Shanghai")
WINDOWS = [
    MealWindow(canteen_id=1, meal=Meal.breakfast, starts=time(7), ends=time(9)),
    MealWindow(canteen_id=1, meal=Meal.lunch, starts=time(11, 30), ends=time(13, 30)),
    # A hospital's night meal: 22:00 until 01:00 the next morning.
    MealWindow(canteen_id=1, meal=Meal.dinner, starts=time(22), ends=time(1)),
]


def local(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=SHANGHAI)


@pytest.mark.parametrize("moment, expected", [
    (local(23, 7, 0), ServicePeriod(date(2026, 11, 23), Meal.breakfast)),  # first second is inside
    (local(23, 8, 59, 59), ServicePeriod(date(2026, 11, 23), Meal.breakfast)),
    (local(23, 11, 30), ServicePeriod(date(2026, 11, 23), Meal.lunch)),
    (local(23, 22, 0), ServicePeriod(date(2026, 11, 23), Meal.dinner)),
    (local(24, 0, 30), ServicePeriod(date(2026, 11, 23), Meal.dinner)),  # after midnight: the day it started
    (local(24, 0, 59, 59), ServicePeriod(date(2026, 11, 23), Meal.dinner)),
])
def test_inside_a_window(moment, expected):
    assert period_at(WINDOWS, moment, SHANGHAI) == expected


@pytest.mark.parametrize("moment", [local(23, 9, 0), local(23, 6, 59, 59), local(23, 13, 30), local(24, 1, 0)])
def test_end_is_exclusive_and_outside_is_none(moment):
    assert period_at(WINDOWS, moment, SHANGHAI) is None


def test_late_returns_within_grace_count_for_the_meal_just_ended():
    grace = timedelta(minutes=60)
    assert period_at(WINDOWS, local(23, 14, 30), SHANGHAI, grace) == ServicePeriod(date(2026, 11, 23), Meal.lunch)
    assert period_at(WINDOWS, local(23, 14, 30, 1), SHANGHAI, grace) is None
    assert period_at(WINDOWS, local(24, 1, 45), SHANGHAI, grace) == ServicePeriod(date(2026, 11, 23), Meal.dinner)


def test_utc_input_is_read_in_the_canteen_zone():
    # 03:59 UTC is 11:59 in Shanghai (lunch) but 22:59 the day before in New York.
    moment = datetime(2026, 11, 23, 3, 59, tzinfo=UTC)
    assert period_at(WINDOWS, moment, SHANGHAI).meal is Meal.lunch
    assert period_at(WINDOWS, moment, ZoneInfo("America/New_York")) == ServicePeriod(date(2026, 11, 22), Meal.dinner)


def test_nearest_period_for_kitchen_records():
    assert nearest_period(WINDOWS, local(23, 10, 0), SHANGHAI).meal is Meal.breakfast  # 60 min after vs 90 before
    assert nearest_period(WINDOWS, local(23, 10, 50), SHANGHAI).meal is Meal.lunch
    assert nearest_period(WINDOWS, local(24, 3, 0), SHANGHAI) == ServicePeriod(date(2026, 11, 23), Meal.dinner)
    assert nearest_period([], local(23, 10, 0), SHANGHAI) is None
