"""The booking-history simulator: determinism, calendar, show-up and walk-in habits, closed days."""
from collections import defaultdict
from datetime import date, timedelta

import pytest

from hardware_sim.bookings import MEALS, Habits, simulate, weekends_only
from tests.support.calendars import SEEDED
from tests.support.calendars import seeded_kind as official

START = date(2025, 1, 1)
is_public_holiday = SEEDED.is_holiday


@pytest.fixture(scope="module")
def two_years() -> list:
    return simulate(seed=3, start=START, days=730, seats=600, closed_rate=0.0, day_kind=official)


def test_same_seed_same_history_other_seed_other_history() -> None:
    assert simulate(5, START, 60) == simulate(5, START, 60)
    assert simulate(5, START, 60) != simulate(6, START, 60)


def test_one_row_per_day_and_meal_in_order() -> None:
    rows = simulate(1, START, 10, meals=("lunch", "dinner"))
    assert [(row.day, row.meal) for row in rows] == [
        (START + timedelta(days=offset), meal) for offset in range(10) for meal in ("lunch", "dinner")]


def test_public_holidays_closed_adjusted_workdays_open() -> None:
    by_day = {row.day: row for row in simulate(2, START, 60, closed_rate=0.0, day_kind=official)
              if row.meal == "lunch"}
    for holiday in (date(2025, 1, 1), date(2025, 1, 28), date(2025, 2, 4)):
        assert by_day[holiday].closed and by_day[holiday].served == 0
    for adjusted in (date(2025, 1, 26), date(2025, 2, 8)):  # a Sunday and a Saturday worked for Spring Festival
        assert not by_day[adjusted].closed and by_day[adjusted].served > 100
    assert by_day[date(2025, 1, 4)].closed  # an ordinary Saturday: closed at weekends by default


def test_weekend_service_is_smaller() -> None:
    rows = simulate(2, START, 28, weekend_share=0.3, closed_rate=0.0)
    weekend = [row.booked for row in rows if row.meal == "lunch" and row.day.weekday() == 5]
    weekday = [row.booked for row in rows if row.meal == "lunch" and row.day.weekday() == 1]
    assert all(not row.closed for row in rows if row.day.weekday() == 5)
    assert 0.2 < sum(weekend) / sum(weekday) < 0.4


def test_show_up_rates_between_85_and_95_percent_and_lower_before_a_holiday(two_years) -> None:
    eves = {row.day for row in two_years if not row.closed}
    eves = {day for day in eves if is_public_holiday(day + timedelta(days=1))}
    for meal in MEALS:
        ordinary = [row for row in two_years if row.meal == meal and not row.closed and row.day not in eves]
        before = [row for row in two_years if row.meal == meal and row.day in eves]
        rate = sum(row.showed_up for row in ordinary) / sum(row.booked for row in ordinary)
        assert 0.85 <= rate <= 0.95
        assert sum(row.showed_up for row in before) / sum(row.booked for row in before) < rate - 0.03


def test_walk_ins_between_5_and_15_percent_and_higher_on_adjusted_workdays(two_years) -> None:
    for meal in MEALS:
        open_rows = [row for row in two_years if row.meal == meal and not row.closed]
        ordinary = [row for row in open_rows if row.day.weekday() < 5]
        adjusted = [row for row in open_rows if row.day.weekday() >= 5]
        assert len(adjusted) >= 8
        share = sum(row.walk_ins for row in ordinary) / sum(row.booked for row in ordinary)
        assert 0.05 <= share <= 0.15
        assert _mean(row.walk_ins for row in adjusted) > 1.3 * _mean(row.walk_ins for row in ordinary)


def test_habits_come_from_the_seed() -> None:
    habits = Habits.draw(4)
    assert habits == Habits.draw(4)
    assert all(0.85 <= rate <= 0.95 for rate in habits.show_up.values())
    assert all(0.05 <= rate <= 0.15 for rate in habits.walk_in_rate.values())


def test_random_closed_days_close_every_meal() -> None:
    rows = simulate(7, START, 365, closed_rate=0.05, day_kind=official)
    closed_by_day = defaultdict(set)
    for row in rows:
        closed_by_day[row.day].add(row.closed)
    surprise = [day for day, flags in closed_by_day.items()
                if flags == {True} and day.weekday() < 5 and not is_public_holiday(day)]
    assert 5 <= len(surprise) <= 30
    assert all(len(flags) == 1 for flags in closed_by_day.values())


def test_without_a_calendar_only_weekends_rest() -> None:
    rows = simulate(1, date(2025, 10, 1), 7, closed_rate=0.0)  # National Day week, but nobody said so
    open_days = sorted({row.day for row in rows if not row.closed})
    assert sorted(day.weekday() for day in open_days) == [0, 1, 2, 3, 4]
    assert simulate(1, date(2025, 10, 1), 7, closed_rate=0.0, day_kind=weekends_only) == rows


def test_the_callers_calendar_decides_holidays_and_adjusted_workdays() -> None:
    new_year, saturday = date(2027, 1, 1), date(2027, 1, 9)  # a Friday off, a Saturday worked (a made-up notice)

    def notice(day: date) -> str:
        return {new_year: "holiday", saturday: "adjusted_workday"}.get(day) or weekends_only(day)

    by_day = {row.day: row for row in simulate(1, date(2026, 12, 28), 14, closed_rate=0.0, day_kind=notice)
              if row.meal == "lunch"}
    assert by_day[new_year].closed and not by_day[date(2026, 12, 31)].closed
    assert not by_day[saturday].closed and by_day[date(2027, 1, 2)].closed


def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values)
