"""The day-by-day replay: metrics, baselines, no peeking at a day's headcount, the 30 % target."""
from datetime import date, timedelta
from functools import partial

import pandas as pd
import pytest

from canteen.reservation.forecast import backtest as backtests
from canteen.reservation.forecast.model import history_frame
from hardware_sim import bookings
from tests.support.calendars import SEEDED, seeded_kind

backtest = partial(backtests.backtest, calendar=SEEDED)
replay = partial(backtests.replay, calendar=SEEDED)
simulate = partial(bookings.simulate, day_kind=seeded_kind)

START = date(2025, 1, 6)  # a Monday


def frame(rows) -> pd.DataFrame:
    return history_frame((row.day, row.meal, row.booked, row.served, row.closed) for row in rows)


@pytest.fixture(scope="module")
def generated() -> pd.DataFrame:
    return frame(simulate(seed=0, start=date(2025, 1, 1), days=120))


@pytest.mark.parametrize(("seed", "seats", "weekend_share"),
                         [(0, 300, 0.0), (1, 300, 0.3), (2, 500, 0.0), (3, 800, 0.2)])
def test_forecast_wape_at_least_30_percent_below_the_better_baseline(seed, seats, weekend_share) -> None:
    result = backtest(frame(simulate(seed, date(2025, 1, 1), 180, seats=seats, weekend_share=weekend_share)))
    better = min(result.overall["last_week"].wape, result.overall["bookings"].wape)
    assert result.overall["forecast"].wape <= 0.7 * better
    assert result.improvement == pytest.approx(1 - result.overall["forecast"].wape / better)
    assert result.rows > 300
    assert 0.65 <= result.coverage <= 0.9


def test_a_day_s_headcount_never_reaches_its_own_or_earlier_forecasts(generated) -> None:
    day = pd.Timestamp(2025, 3, 12)
    changed = generated.copy()
    changed.loc[changed["date"] >= day, "served"] += 50
    before, after = backtest(generated).predictions, backtest(changed).predictions
    up_to_day = before["date"] <= day
    assert before.loc[up_to_day, "forecast"].equals(after.loc[up_to_day, "forecast"])
    assert not before.loc[~up_to_day, "forecast"].equals(after.loc[~up_to_day, "forecast"])


def test_per_meal_breakdown(generated) -> None:
    result = backtest(generated)
    assert set(result.per_meal) == {"breakfast", "lunch", "dinner"}
    for scores in result.per_meal.values():
        assert set(scores) == {"forecast", "last_week", "bookings"}


def _lunches(values: list[tuple[int, int, bool]]) -> pd.DataFrame:
    return history_frame((START + timedelta(days=offset), "lunch", booked, served, closed)
                         for offset, (booked, served, closed) in enumerate(values))


def test_metrics_by_hand() -> None:
    days = [(100, 100, False)] * 7 + [(100, 80, False), (50, 0, False), (0, 0, True)]
    result = backtest(_lunches(days))
    assert result.rows == 2  # the 8th and 9th days have last week's baseline, the 10th is closed
    bookings = result.overall["bookings"]
    assert bookings.mape == pytest.approx(20 / 80)  # the day with nobody served is left out of MAPE
    assert bookings.wape == pytest.approx((20 + 50) / 80)
    last_week = result.overall["last_week"]
    assert last_week.mape == pytest.approx(20 / 80) and last_week.wape == pytest.approx((20 + 100) / 80)


def test_last_week_skips_closed_weeks() -> None:
    days = [(100, 90, False)] + [(0, 0, True)] * 13 + [(100, 95, False)]  # a two-week closure
    predictions = backtest(_lunches(days)).predictions
    assert predictions["last_week"].iloc[-1] == 90
    assert predictions["scored"].sum() == 1


def test_closed_days_are_not_scored(generated) -> None:
    predictions = backtest(generated).predictions
    assert not predictions.loc[predictions["closed"], "scored"].any()
    assert (predictions.loc[predictions["closed"], "forecast"] == 0).all()


def test_replay_forecasts_only_from_the_given_day():
    rows = simulate(7, date(2026, 3, 2), 60)
    history = history_frame((row.day, row.meal, row.booked, row.served, row.closed) for row in rows)
    since = date(2026, 4, 13)
    frame = replay(history, since=since)
    early, late = frame[frame["date"] < pd.Timestamp(since)], frame[frame["date"] >= pd.Timestamp(since)]
    assert (early["forecast"] == 0).all()
    assert (late.loc[~late["closed"], "forecast"] > 0).all() and (late.loc[late["closed"], "forecast"] == 0).all()
    assert (late["low"] <= late["forecast"]).all() and (late["forecast"] <= late["high"]).all()
