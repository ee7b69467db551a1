"""The indicator: noise within ±2 g, stability after a quiet half second, overload, underload, net, drift."""
import random

import pytest

from hardware_sim.indicator import Indicator, IndicatorConfig


def indicator(load, **config) -> Indicator:
    return Indicator(IndicatorConfig(**config), load, random.Random(1))


def readings(scale: Indicator, until_s: float, step_s: float = 0.01) -> list:
    return [scale.reading_at(k * step_s) for k in range(round(until_s / step_s))]


def test_a_resting_load_reads_within_2_g_and_turns_stable_after_the_motion_window() -> None:
    scale = indicator(lambda t: 412.0)
    seen = readings(scale, 3)
    assert {reading.grams for reading in seen} <= set(range(410, 415))
    assert len({reading.grams for reading in seen}) > 2  # it is noisy
    assert not any(reading.stable for reading in seen[:50])
    assert all(reading.stable for reading in seen[52:])
    assert not any(reading.net or reading.overload or reading.underload for reading in seen)


def test_without_noise_it_reads_the_load_exactly() -> None:
    assert {reading.grams for reading in readings(indicator(lambda t: 412.4, noise_g=0), 1)} == {412}


def test_motion_clears_stability_until_the_load_is_quiet_again() -> None:
    scale = indicator(lambda t: 0.0 if t < 1 else 500.0 + 300 * max(0.0, 1.5 - t))
    seen = readings(scale, 3)
    assert seen[90].stable and seen[90].grams in range(-2, 3)
    assert not any(reading.stable for reading in seen[100:150])  # falling from 650 to 500 g
    assert not any(reading.stable for reading in seen[150:200])  # quiet, but not for half a second yet
    assert all(reading.stable and abs(reading.grams - 500) <= 2 for reading in seen[204:])


def test_conversions_run_at_their_own_rate_whatever_the_caller_asks() -> None:
    calls: list[float] = []
    scale = indicator(lambda t: calls.append(t) or 100.0, conversions_per_s=25)
    scale.reading_at(0.999)
    assert len(calls) == 25
    assert scale.reading_at(0.999) == scale.reading_at(1.0 - 1e-9)
    assert len(calls) == 25


def test_above_capacity_plus_9_divisions_is_an_overload() -> None:
    assert indicator(lambda t: 15_009, capacity_g=15_000, noise_g=0).reading_at(1).grams == 15_009
    over = indicator(lambda t: 15_010, capacity_g=15_000, noise_g=0).reading_at(1)
    assert over.overload and over.grams is None and not over.stable and not over.underload


def test_a_gross_load_below_minus_20_divisions_is_an_underload() -> None:
    assert indicator(lambda t: -20, noise_g=0).reading_at(1).grams == -20
    under = indicator(lambda t: -21, noise_g=0).reading_at(1)
    assert under.underload and under.grams is None and not under.overload


def test_with_a_tared_bin_readings_are_net_and_lifting_the_bin_reads_negative() -> None:
    lifted = indicator(lambda t: -1500, tare_g=1500, noise_g=0).reading_at(1)
    assert lifted.net and lifted.grams == -1500 and lifted.stable and not lifted.underload


@pytest.mark.parametrize("drift", [12.0, -6.0])
def test_zero_drifts_steadily(drift: float) -> None:
    scale = indicator(lambda t: 300.0, noise_g=0, zero_drift_g_per_min=drift)
    assert scale.reading_at(300).grams == round(300 + drift * 5)
    assert scale.drift_g(300) == pytest.approx(drift * 5)
    assert scale.reading_at(301).stable  # too slow to count as motion
