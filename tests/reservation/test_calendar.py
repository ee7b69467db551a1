"""Day kinds from the official calendar (here the chinesecalendar seed), guessed outside its years."""
from datetime import date
from functools import partial

from canteen.calendar.service import library_calendar
from canteen.reservation.calendar import DayKind
from canteen.reservation.calendar import day_info as day_info_on

day_info = partial(day_info_on, library_calendar())


def test_ordinary_workday_and_weekend() -> None:
    monday, saturday = day_info(date(2025, 3, 3)), day_info(date(2025, 3, 8))
    assert (monday.kind, monday.holiday_name, monday.before_holiday, monday.after_holiday) == (
        DayKind.workday, None, False, False)
    assert saturday.kind is DayKind.weekend and saturday.holiday_name is None


def test_public_holiday_has_its_name_including_weekend_and_in_lieu_days() -> None:
    assert day_info(date(2025, 10, 1)).kind is DayKind.holiday
    assert day_info(date(2025, 10, 1)).holiday_name == "国庆节"
    assert day_info(date(2025, 10, 4)).kind is DayKind.holiday  # a Saturday inside the break
    assert day_info(date(2025, 10, 8)).kind is DayKind.holiday  # a Wednesday given in lieu


def test_adjusted_workday_is_a_weekend_day_people_work() -> None:
    sunday = day_info(date(2025, 9, 28))
    assert sunday.kind is DayKind.adjusted_workday
    assert sunday.holiday_name is None
    assert day_info(date(2026, 2, 14)).kind is DayKind.adjusted_workday  # Saturday before Spring Festival 2026


def test_days_around_a_holiday() -> None:
    assert day_info(date(2025, 9, 30)).before_holiday
    assert not day_info(date(2025, 9, 29)).before_holiday
    assert day_info(date(2025, 10, 9)).after_holiday
    inside = day_info(date(2025, 10, 2))
    assert not inside.before_holiday and not inside.after_holiday
    assert day_info(date(2026, 2, 14)).before_holiday  # adjusted workday and the eve of the break at once


def test_closed_dates_override_the_calendar() -> None:
    closed = {date(2025, 3, 4), date(2025, 10, 1)}
    assert day_info(date(2025, 3, 4), closed).kind is DayKind.closed
    assert day_info(date(2025, 10, 1), closed).kind is DayKind.closed
    assert day_info(date(2025, 10, 1), closed).holiday_name == "国庆节"
    assert day_info(date(2025, 3, 5), closed).kind is DayKind.workday


def test_years_without_data_fall_back_to_weekends() -> None:
    new_year = day_info(date(2040, 1, 1))  # a Sunday
    assert new_year.kind is DayKind.weekend and new_year.holiday_name is None
    assert day_info(date(2040, 1, 2)).kind is DayKind.workday
    assert not day_info(date(2040, 1, 2)).after_holiday
    assert not new_year.official and not day_info(date(2040, 1, 2)).official
    last_known = day_info(date(2026, 12, 31))  # its next day lies outside the data
    assert last_known.kind is DayKind.workday and not last_known.before_holiday and last_known.official
    assert not day_info(date(2027, 1, 1)).official
