"""The station's load over time: trays and scrapes queue one at a time, the bin is emptied, people lean on it;
kitchen bins are set down, scraped into and lifted off."""
import random
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from hardware_sim.station import (
    SCRAPE_MIN_G_PER_S,
    EmptyBin,
    KitchenBin,
    Lean,
    Mode,
    Scrape,
    StationConfig,
    Timeline,
    TrayReturn,
)
from hardware_sim.traffic import Diner, kitchen, meal

BELL = datetime(2025, 3, 3, 3, 30, tzinfo=UTC)


def timeline(diners: list[Diner], horizon_s: float = 600, seed: int = 1, **config) -> Timeline:
    return Timeline(diners, BELL, StationConfig(**config), random.Random(seed), horizon_s)


def diner(at_s: float, leftover_g: int, tare_g: int = 380) -> Diner:
    return Diner(BELL + timedelta(seconds=at_s), leftover_g, tare_g)


def test_each_tray_bounces_rests_at_its_weight_and_leaves_an_empty_platform() -> None:
    diners = meal(BELL, BELL + timedelta(minutes=10), headcount=60, seed=5)
    station = timeline(diners)
    assert len(station.episodes) == len(station.settled) == len(diners)
    for episode, settled, person in zip(station.episodes, station.settled, diners, strict=True):
        assert isinstance(episode, TrayReturn)
        assert episode.start_s >= (person.arrival - BELL).total_seconds()
        assert 0.3 <= episode.motion_s <= 1.0 and 1.0 <= episode.hold_s <= 3.0
        weight = person.tare_g + person.leftover_g
        assert (settled.leftover_g, settled.tare_g) == (person.leftover_g, person.tare_g)
        assert settled.at_s == episode.start_s + episode.motion_s
        assert station.load_at(settled.at_s + 1e-6) == station.load_at(settled.at_s + episode.hold_s - 0.01) == weight
        during_motion = [station.load_at(episode.start_s + episode.motion_s * k / 50) for k in range(50)]
        assert weight * 1.08 < max(during_motion) < weight * 1.35  # the overshoot of a tray set down
        assert station.load_at(episode.end_s) == 0.0
    for before, after in pairwise(station.episodes):
        assert after.start_s >= before.end_s + 0.3


def test_diners_who_come_together_wait_their_turn() -> None:
    station = timeline([diner(5, 10), diner(5, 20), diner(5, 30)])
    first, second, third = station.episodes
    assert first.start_s == 5
    assert first.end_s + 0.3 <= second.start_s <= first.end_s + 1.2
    assert second.end_s + 0.3 <= third.start_s <= second.end_s + 1.2
    assert station.load_at(0) == 0.0 and station.end_s == third.end_s


def test_in_bin_mode_the_load_steps_up_by_each_leftover_and_the_tare_is_what_was_already_in() -> None:
    station = timeline([diner(5 * k, grams) for k, grams in enumerate([40, 0, 250, 15])], mode=Mode.BIN)
    assert all(isinstance(episode, Scrape) for episode in station.episodes)
    assert [settled.tare_g for settled in station.settled] == [0, 40, 40, 290]
    for episode, settled in zip(station.episodes, station.settled, strict=True):
        assert station.load_at(settled.at_s + 1e-6) == settled.tare_g + settled.leftover_g
        assert max(station.load_at(episode.start_s + episode.motion_s * k / 40) for k in range(40)) > settled.tare_g
    assert station.load_at(station.end_s + 100) == 305


def test_a_full_bin_is_lifted_off_emptied_and_put_back() -> None:
    station = timeline([diner(10 * k, 300) for k in range(5)], mode=Mode.BIN, bin_full_g=500, bin_g=1500)
    kinds = [type(episode) for episode in station.episodes]
    assert kinds == [Scrape, Scrape, EmptyBin, Scrape, Scrape, EmptyBin, Scrape]
    emptying = station.episodes[2]
    assert station.load_at(emptying.start_s + emptying.lift_s + emptying.away_s / 2) == -1500
    assert station.load_at(emptying.end_s) == 0
    assert [settled.tare_g for settled in station.settled] == [0, 300, 0, 300, 0]


def test_a_kitchen_bin_moves_from_landing_until_it_rests_at_container_plus_waste_then_leaves() -> None:
    bins = kitchen(BELL, BELL + timedelta(minutes=30), bins=40, seed=3)
    station = timeline(bins, horizon_s=1800, mode=Mode.KITCHEN)
    assert len(station.episodes) == len(station.settled) == len(bins)
    scooped = 0
    for episode, settled, weighing in zip(station.episodes, station.settled, bins, strict=True):
        assert isinstance(episode, KitchenBin)
        weight = weighing.tare_g + weighing.leftover_g
        assert (settled.leftover_g, settled.tare_g) == (weighing.leftover_g, weighing.tare_g)
        assert settled.at_s == episode.start_s + episode.motion_s
        assert 3.0 <= episode.hold_s <= 8.0 and episode.scrape_s >= 1.5  # several seconds of scraping, then a rest
        assert station.load_at(settled.at_s + 1e-6) == station.load_at(settled.at_s + episode.hold_s - 0.01) == weight
        # From landing to rest the load never holds within 4 g for half a second: the indicator reads motion.
        landed_s = episode.start_s + episode.put_s
        samples = [station.load_at(landed_s + k / 50) for k in range(round((settled.at_s - landed_s) * 50))]
        assert all(max(window) - min(window) > 4 for window in (samples[k:k + 25] for k in range(len(samples) - 25)))
        assert max(samples) >= weighing.tare_g + episode.peak_g - episode.scrape_g_per_s / 25  # samples near the peak
        scooped += episode.peak_g > weighing.leftover_g  # some scooped back out before it rests
        assert station.load_at(episode.end_s) == 0.0
    assert 0 < scooped < len(bins)
    assert min(episode.scrape_g_per_s for episode in station.episodes) >= SCRAPE_MIN_G_PER_S


def test_someone_leans_on_the_scale_every_so_often_beyond_its_capacity() -> None:
    station = timeline([], horizon_s=35, overload_every_s=10, capacity_g=15_000)
    assert [type(episode) for episode in station.episodes] == [Lean, Lean, Lean]
    assert [episode.start_s for episode in station.episodes] == [10, 20, 30]
    for episode in station.episodes:
        peak = max(station.load_at(episode.start_s + k / 10) for k in range(40))
        assert 15_000 * 1.1 <= peak <= 15_000 * 1.6
        assert station.load_at(episode.end_s) == 0
    assert station.settled == []


def test_a_lean_waits_for_the_diner_already_on_the_platform() -> None:
    station = timeline([diner(9, 50)], horizon_s=30, overload_every_s=10)
    tray, lean, *_ = station.episodes
    assert isinstance(tray, TrayReturn) and isinstance(lean, Lean)
    assert lean.start_s >= tray.end_s


def test_the_same_seed_builds_the_same_station() -> None:
    diners = meal(BELL, BELL + timedelta(minutes=5), headcount=30, seed=2)
    assert timeline(diners, seed=4).episodes == timeline(diners, seed=4).episodes
    assert timeline(diners, seed=4).episodes != timeline(diners, seed=5).episodes
