"""The headcount forecast: methods by amount of history, components, interval, calendar, the clock."""
import warnings
from datetime import date, datetime, time, timedelta
from functools import partial

import pandas as pd
import pytest

from canteen.reservation.calendar import DayKind
from canteen.reservation.forecast import model
from canteen.reservation.forecast.model import Method, cutoff, history_frame
from hardware_sim import bookings
from tests.support.calendars import SEEDED, seeded_kind

forecast_day = partial(model.forecast_day, calendar=SEEDED)
simulate = partial(bookings.simulate, day_kind=seeded_kind)

MONDAY = date(2025, 6, 9)
BOOKED = {"breakfast": 150, "lunch": 260, "dinner": 100}


def frame(rows) -> pd.DataFrame:
    return history_frame((row.day, row.meal, row.booked, row.served, row.closed) for row in rows)


@pytest.fixture(scope="module")
def history() -> pd.DataFrame:
    return frame(simulate(seed=1, start=date(2025, 1, 1), days=180))


def by_meal(forecasts) -> dict:
    return {forecast.meal: forecast for forecast in forecasts}


def test_no_history_forecasts_the_bookings() -> None:
    empty = history_frame([])
    lunch = forecast_day(empty, MONDAY, {"lunch": 200}, cutoff(MONDAY))[0]
    assert (lunch.method, lunch.expected, lunch.low, lunch.high) == (Method.bookings, 200, 170, 230)


def test_a_few_days_use_the_served_per_booking_ratio() -> None:
    rows = [(MONDAY - timedelta(days=offset), "lunch", 100, 90, False) for offset in range(1, 6)]
    lunch = forecast_day(history_frame(rows), MONDAY + timedelta(days=1), {"lunch": 200}, datetime(2025, 6, 10, 8))[0]
    assert lunch.method is Method.ratio
    assert lunch.expected == 180 and lunch.show_up_rate == pytest.approx(0.9)
    assert lunch.walk_ins is None


def test_the_model_explains_its_number(history) -> None:
    forecasts = by_meal(forecast_day(history, MONDAY, BOOKED, cutoff(MONDAY)))
    for meal, forecast in forecasts.items():
        assert forecast.method is Method.model
        assert forecast.expected == round(BOOKED[meal] * forecast.show_up_rate + forecast.walk_ins)
        assert 0.75 < forecast.show_up_rate < 1.05 and forecast.walk_ins > 0
        assert forecast.low < forecast.expected < forecast.high
        assert abs(forecast.walk_ins_trend_per_week) < 3
    assert forecasts["lunch"].day.kind is DayKind.workday


def test_the_forecast_follows_the_bookings(history) -> None:
    few = forecast_day(history, MONDAY, {"lunch": 150}, cutoff(MONDAY))[0]
    many = forecast_day(history, MONDAY, {"lunch": 300}, cutoff(MONDAY))[0]
    assert many.expected - few.expected == pytest.approx(150 * many.show_up_rate, abs=1)


def test_unchanging_bookings_read_as_show_up_without_a_rank_deficient_fit() -> None:
    # 60 days from Tuesday 3 June 2025 (after Dragon Boat, before National Day), weekends included, with 100
    # lunches booked and 92 served every day: the walk-in terms equal the show-up terms here, so they are left
    # out, and the fit passes through every row.
    rows = [(date(2025, 6, 3) + timedelta(days=offset), "lunch", 100, 92, False) for offset in range(60)]
    day = date(2025, 8, 4)  # a Monday
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lunch = forecast_day(history_frame(rows), day, {"lunch": 100}, cutoff(day))[0]
    assert lunch.method is Method.model
    assert lunch.show_up_rate == pytest.approx(0.92) and lunch.walk_ins == 0
    assert (lunch.expected, lunch.low, lunch.high) == (92, 92, 92)  # no error left to spread


def test_fewer_show_ups_on_the_eve_of_a_holiday() -> None:
    history = frame(simulate(seed=2, start=date(2025, 1, 1), days=270, seats=600))
    eve, ordinary = date(2025, 9, 30), date(2025, 9, 23)  # both Tuesdays; National Day starts on 1 October
    eve_rate = forecast_day(history, eve, {"lunch": 500}, cutoff(eve))[0].show_up_rate
    ordinary_rate = forecast_day(history, ordinary, {"lunch": 500}, cutoff(ordinary))[0].show_up_rate
    assert eve_rate < ordinary_rate - 0.03


def test_closed_days_and_holidays(history) -> None:
    closed = forecast_day(history, MONDAY, {"lunch": 200}, cutoff(MONDAY), closed={MONDAY})[0]
    assert (closed.method, closed.expected, closed.low, closed.high) == (Method.closed, 0, 0, 0)
    holiday = date(2025, 10, 1)
    nobody = forecast_day(history, holiday, {"lunch": 0}, cutoff(holiday))[0]
    assert (nobody.method, nobody.expected, nobody.day.holiday_name) == (Method.holiday, 0, "国庆节")


def test_holidays_learn_from_open_holidays() -> None:
    rows = [(date(2025, 5, day), "lunch", 50, 40, False) for day in range(1, 6)]  # Labour Day, open
    rows += [(date(2025, 5, 6) + timedelta(days=offset), "lunch", 200, 200, False) for offset in range(20)]
    holiday = date(2025, 10, 2)
    lunch = forecast_day(history_frame(rows), holiday, {"lunch": 100}, cutoff(holiday))[0]
    assert (lunch.method, lunch.expected) == (Method.holiday, 80)


def test_a_first_weekend_opening_falls_back_to_the_ratio(history) -> None:
    saturday = date(2025, 6, 14)  # the simulated canteen has always been closed at weekends
    lunch = forecast_day(history, saturday, {"lunch": 60}, cutoff(saturday))[0]
    assert lunch.method is Method.ratio and lunch.day.kind is DayKind.weekend
    assert 50 <= lunch.expected <= 70


def _sunday_dinner_opened(history: pd.DataFrame) -> pd.DataFrame:
    changed = history.copy()
    sunday_dinner = (changed["date"] == pd.Timestamp(MONDAY - timedelta(days=1))) & (changed["meal"] == "dinner")
    changed.loc[sunday_dinner, ["booked", "served", "closed"]] = [400, 400, False]
    return changed


def test_meals_known_at_the_cut_off_only(history) -> None:
    changed = _sunday_dinner_opened(history)
    before = forecast_day(history, MONDAY, BOOKED, cutoff(MONDAY))
    assert forecast_day(changed, MONDAY, BOOKED, cutoff(MONDAY)) == before  # dinner ends after 16:00
    assert forecast_day(changed, MONDAY, BOOKED, datetime.combine(MONDAY, time(8))) != before


def test_later_rows_never_reach_earlier_forecasts(history) -> None:
    changed = history.copy()
    changed.loc[changed["date"] >= pd.Timestamp(MONDAY), "served"] *= 3
    assert forecast_day(changed, MONDAY, BOOKED, cutoff(MONDAY)) == forecast_day(history, MONDAY, BOOKED,
                                                                               cutoff(MONDAY))


def test_canteen_meal_windows_move_what_is_known(history) -> None:
    changed = _sunday_dinner_opened(history)
    early = {"dinner": time(15, 30)}
    assert forecast_day(changed, MONDAY, BOOKED, cutoff(MONDAY), meal_ends=early) != forecast_day(
        history, MONDAY, BOOKED, cutoff(MONDAY), meal_ends=early)


def test_beyond_the_calendar_data() -> None:
    history = frame(simulate(seed=3, start=date(2026, 10, 1), days=120))
    day = date(2027, 1, 20)
    forecasts = forecast_day(history, day, BOOKED, cutoff(day))
    assert all(forecast.method is Method.model for forecast in forecasts)
    assert forecasts[0].day.kind is DayKind.workday


def test_cutoff_defaults_to_four_in_the_afternoon_the_day_before() -> None:
    assert cutoff(MONDAY) == datetime(2025, 6, 8, 16)
    assert cutoff(MONDAY, time(10), days_before=2) == datetime(2025, 6, 7, 10)
