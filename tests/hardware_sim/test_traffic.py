"""The diner-traffic model: leftover distribution shape, arrival peak after the bell, tares, determinism."""
import random
import statistics
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from hardware_sim.traffic import Arrivals, Leftovers, Tares, Traffic, kitchen, meal

BELL = datetime(2025, 3, 3, 3, 30, tzinfo=UTC)  # 11:30 in Shanghai
LUNCH_END = BELL + timedelta(minutes=60)


@pytest.fixture(scope="module")
def big_lunch() -> list:
    return meal(BELL, LUNCH_END, headcount=20_000, seed=7)


def test_headcount_is_poisson_around_the_expected_number() -> None:
    counts = [len(meal(BELL, LUNCH_END, headcount=400, seed=seed)) for seed in range(40)]
    assert 390 <= statistics.mean(counts) <= 410
    assert 10 <= statistics.stdev(counts) <= 30  # Poisson: sqrt(400) = 20
    assert len(set(counts)) > 10


def test_most_plates_come_back_near_clean_with_a_long_tail(big_lunch) -> None:
    grams = [diner.leftover_g for diner in big_lunch]

    def share(predicate) -> float:
        return sum(map(predicate, grams)) / len(grams)

    assert 0.20 <= share(lambda g: g <= 2) <= 0.32  # clean plates plus lognormal crumbs
    assert 0.33 <= share(lambda g: g <= 10) <= 0.48
    assert 15 <= statistics.median(grams) <= 30
    assert 0.015 <= share(lambda g: g > 300) <= 0.04
    assert share(lambda g: g > 500) > 0.003
    assert min(grams) == 0 and max(grams) <= Leftovers().max_g
    assert statistics.mean(grams) > statistics.median(grams) * 1.5  # right-skewed


def test_arrivals_peak_shortly_after_the_bell_and_stay_in_the_window(big_lunch) -> None:
    minutes = [(diner.arrival - BELL).total_seconds() / 60 for diner in big_lunch]
    assert all(0 <= m < 60 for m in minutes)
    assert minutes == sorted(minutes)
    per_five_minutes = Counter(int(m // 5) for m in minutes)
    busiest = max(per_five_minutes, key=per_five_minutes.__getitem__)
    assert busiest in (1, 2, 3)  # 5–20 minutes after the bell
    assert per_five_minutes[0] < per_five_minutes[busiest] / 2  # few are waiting at the bell
    assert per_five_minutes[11] < per_five_minutes[busiest] / 5  # a thin tail of latecomers
    assert 0.7 <= sum(m < 30 for m in minutes) / len(minutes) <= 0.9


def test_peak_follows_the_configured_fraction() -> None:
    rng = random.Random(3)
    offsets = Arrivals(shape=4, peak_fraction=0.5).offsets(rng, window_s=1000, headcount=20_000)
    per_hundred = Counter(int(offset // 100) for offset in offsets)
    assert max(per_hundred, key=per_hundred.__getitem__) in (4, 5)


def test_tares_are_one_tray_kind_within_its_spread(big_lunch) -> None:
    tares = [diner.tare_g for diner in big_lunch]
    assert min(tares) == 375 and max(tares) == 385
    heavy = meal(BELL, LUNCH_END, headcount=500, seed=1, traffic=Traffic(tares=Tares(nominal_g=450, spread_g=0)))
    assert {diner.tare_g for diner in heavy} == {450}


def test_same_seed_same_meal_and_the_clock_is_the_callers() -> None:
    assert meal(BELL, LUNCH_END, 300, seed=11) == meal(BELL, LUNCH_END, 300, seed=11)
    assert meal(BELL, LUNCH_END, 300, seed=11) != meal(BELL, LUNCH_END, 300, seed=12)
    later = BELL + timedelta(days=1)
    shifted = meal(later, later + timedelta(minutes=60), 300, seed=11)
    original = meal(BELL, LUNCH_END, 300, seed=11)
    assert [d.arrival - later for d in shifted] == [d.arrival - BELL for d in original]
    assert [d.leftover_g for d in shifted] == [d.leftover_g for d in original]


def test_an_empty_or_backwards_window_is_refused() -> None:
    with pytest.raises(ValueError, match="end after"):
        meal(BELL, BELL, 100, seed=1)


def test_kitchen_bins_hold_half_a_kilogram_to_fifteen_and_come_evenly_over_the_window() -> None:
    bins = kitchen(BELL, LUNCH_END, bins=3000, seed=4)
    grams = [weighing.leftover_g for weighing in bins]
    assert 2850 <= len(bins) <= 3150  # Poisson around 3000
    assert min(grams) >= 500 and max(grams) <= 15_000
    assert 2000 <= statistics.median(grams) <= 3000 and max(grams) > 12_000  # mostly a few kilograms, some full bins
    first_half = sum(weighing.arrival < BELL + timedelta(minutes=30) for weighing in bins)
    assert 0.45 <= first_half / len(bins) <= 0.55
    assert [weighing.arrival for weighing in bins] == sorted(weighing.arrival for weighing in bins)
    assert {weighing.tare_g for weighing in bins} <= set(range(1190, 1211))  # one kind of container
    assert kitchen(BELL, LUNCH_END, bins=20, seed=4) == kitchen(BELL, LUNCH_END, bins=20, seed=4)
