"""Segmenter on synthetic streams: placement motion, settling noise, drift, overload, early lifts, bins."""
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canteen.scale_driver.protocols import Reading
from canteen.scale_driver.segmenter import Event, Mode, Segmenter, SegmenterConfig

START = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
RATE_HZ = 10
STEP = timedelta(seconds=1 / RATE_HZ)
TRAY = SegmenterConfig(mode=Mode.tray, stable_window_s=1.0, tolerance_g=5, tare_g=350, zero_threshold_g=20)
BIN = SegmenterConfig(mode=Mode.bin, stable_window_s=1.0, tolerance_g=5, min_event_g=20)
KITCHEN = SegmenterConfig(mode=Mode.kitchen, stable_window_s=1.0, tolerance_g=5, tare_g=1200, zero_threshold_g=20)
OVERLOAD = Reading(grams=None, stable=False, overload=True)


class Stream:
    """A scale's output at 10 readings per second, built phase by phase."""

    def __init__(self, seed: int = 0, net: bool = False) -> None:
        self.at = START
        self.net = net
        self.items: list[tuple[datetime, Reading]] = []
        self.random = random.Random(seed)

    def _add(self, reading: Reading) -> None:
        self.items.append((self.at, reading))
        self.at += STEP

    def steady(self, grams: int, seconds: float, noise: int = 2) -> "Stream":
        """Stable readings jittering by up to ± noise grams."""
        for _ in range(round(seconds * RATE_HZ)):
            self._add(Reading(grams + self.random.randint(-noise, noise), stable=True, net=self.net))
        return self

    def motion(self, start: int, end: int, seconds: float = 0.6) -> "Stream":
        """A plate set down or lifted (or food scraped in): swinging, overshooting, unstable readings."""
        count = round(seconds * RATE_HZ)
        for index in range(1, count + 1):
            overshoot = self.random.randint(0, abs(end - start) // 4 + 1) if index < count else 0
            value = start + (end - start) * index // count + overshoot
            self._add(Reading(value, stable=False, net=self.net))
        return self

    def overload(self, seconds: float) -> "Stream":
        for _ in range(round(seconds * RATE_HZ)):
            self._add(OVERLOAD)
        return self

    def readings(self, items: list[Reading]) -> "Stream":
        for reading in items:
            self._add(reading)
        return self

    def place(self, gross: int, settle: float = 2.0, empty: int = 0) -> "Stream":
        """One diner: set the plate down, let it settle, lift it, leave the scale empty a moment."""
        return self.motion(empty, gross).steady(gross, settle).motion(gross, empty).steady(empty, 1.0)


def run(config: SegmenterConfig, stream: Stream, state: dict | None = None) -> list[Event]:
    segmenter = Segmenter(config, state)
    events = [segmenter.feed(at, reading) for at, reading in stream.items]
    return [event for event in events if event is not None]


def grams(events: list[Event]) -> list[int]:
    return [event.grams for event in events]


# ---- tray --------------------------------------------------------------------


def test_tray_one_placement_gives_leftovers_net_of_the_plate():
    stream = Stream().steady(0, 2).place(350 + 120)
    events = run(TRAY, stream)
    assert len(events) == 1
    assert abs(events[0].grams - 120) <= 2
    assert events[0].measured_at.tzinfo is UTC
    # The event is stamped when the plate settled: after the empty scale and the motion.
    assert START + timedelta(seconds=2.6) <= events[0].measured_at <= START + timedelta(seconds=3)


def test_tray_two_diners_back_to_back():
    stream = Stream().steady(0, 1).motion(0, 480).steady(480, 1.5).motion(480, 0, 0.4)
    stream.readings([Reading(1, stable=False)]).motion(0, 395).steady(395, 1.5).motion(395, 0)
    assert grams(run(TRAY, stream)) == [pytest.approx(130, abs=2), pytest.approx(45, abs=2)]


def test_tray_plate_lifted_before_it_settled_gives_nothing():
    stream = Stream().steady(0, 1).motion(0, 500).steady(500, 0.8).motion(500, 0).steady(0, 2)
    assert run(TRAY, stream) == []


def test_tray_counts_a_placement_once_however_long_it_stays():
    stream = Stream().steady(0, 1).motion(0, 600).steady(600, 5)
    stream.motion(600, 640, 0.3).steady(640, 5)  # the diner scrapes more food on: still one placement
    for drift in range(1, 30):  # then creeps up by 1 g every 2 s
        stream.steady(640 + drift, 2, noise=0)
    stream.motion(670, 0).place(350)
    assert grams(run(TRAY, stream)) == [pytest.approx(250, abs=2), pytest.approx(0, abs=2)]


def test_tray_clean_plate_is_zero_and_never_negative():
    stream = Stream().place(350).place(345).place(352)
    assert grams(run(TRAY, stream)) == [pytest.approx(0, abs=2), 0, pytest.approx(2, abs=2)]


def test_tray_motion_noise_and_overload_give_no_event_and_do_not_rearm():
    stream = Stream().steady(0, 1).motion(0, 500).steady(500, 2).overload(0.5).steady(500, 2)
    for _ in range(20):  # someone leans on the scale: large unstable swings
        stream.readings([Reading(500 + stream.random.randint(-300, 300), stable=False)])
    noisy = [Reading(500 + (40 if index % 2 else -40), stable=True) for index in range(30)]  # flagged stable
    stream.readings(noisy).steady(500, 2).motion(500, 0).steady(0, 1)
    assert grams(run(TRAY, stream)) == [pytest.approx(150, abs=2)]


def test_tray_stable_flag_alone_is_not_enough():
    noisy = [Reading(500 + (8 if index % 2 else 0), stable=True) for index in range(50)]
    assert run(TRAY, Stream().steady(0, 1).readings(noisy).motion(500, 0)) == []


def test_tray_unstable_readings_alone_never_give_an_event():
    unstable = [Reading(470, stable=False) for _ in range(100)]
    assert run(TRAY, Stream().readings(unstable)) == []


def test_tray_overload_at_placement_then_valid_plateau():
    stream = Stream().steady(0, 1).overload(0.5).motion(31_000, 480).steady(480, 2).motion(480, 0)
    assert grams(run(TRAY, stream)) == [pytest.approx(130, abs=2)]


def test_tray_net_readings_are_not_tared_again():
    """The indicator was tared with an empty plate: the empty scale reads -350 net, leftovers read as they are."""
    stream = Stream(net=True).steady(-350, 1).place(95, empty=-350).place(0, empty=-350)
    assert grams(run(TRAY, stream)) == [pytest.approx(95, abs=2), pytest.approx(0, abs=2)]


def test_tray_restart_with_a_counted_plate_still_on_the_scale():
    stream = Stream().steady(470, 3).motion(470, 0).place(400)
    assert grams(run(TRAY, stream, state={"armed": False})) == [pytest.approx(50, abs=2)]
    assert len(run(TRAY, stream, state=None)) == 2


def test_tray_state_follows_the_placement():
    segmenter = Segmenter(TRAY)
    stream = Stream().steady(0, 1).motion(0, 470).steady(470, 2)
    for at, reading in stream.items:
        segmenter.feed(at, reading)
    assert segmenter.state == {"armed": False}
    segmenter.feed(stream.at, Reading(3, stable=False))
    assert segmenter.state == {"armed": True}


# ---- kitchen -----------------------------------------------------------------


def test_kitchen_each_bin_set_down_is_one_event_net_of_the_container():
    stream = Stream().steady(0, 1)
    # Waste scraped in while the bin is on the scale: the first rest after it counts, as in tray mode.
    stream.motion(0, 1200 + 2000).motion(3200, 1200 + 4500, 2.0).steady(5700, 3).motion(5700, 0).steady(0, 1)
    stream.place(1200 + 800).place(1200 + 15_000)
    assert grams(run(KITCHEN, stream)) == [pytest.approx(4500, abs=2), pytest.approx(800, abs=2),
                                           pytest.approx(15_000, abs=2)]


def test_kitchen_state_and_restart_follow_the_placement_as_in_tray_mode():
    stream = Stream().steady(1200 + 500, 3).motion(1700, 0).place(1200 + 700)
    assert grams(run(KITCHEN, stream, state={"armed": False})) == [pytest.approx(700, abs=2)]
    assert Segmenter(KITCHEN).state == {"armed": True}


def test_contents_is_what_an_event_would_count():
    kitchen, bin_mode = Segmenter(KITCHEN), Segmenter(BIN)
    assert kitchen.contents(Reading(1200 + 345, stable=False)) == 345
    assert kitchen.contents(Reading(0, stable=True)) == 0  # an empty scale: nothing in the bin, not -1200
    assert kitchen.contents(Reading(345, stable=True, net=True)) == 345  # the indicator holds the tare
    assert kitchen.contents(OVERLOAD) is None
    assert bin_mode.contents(Reading(-80, stable=True)) == -80


# ---- bin ---------------------------------------------------------------------


def test_bin_each_scrape_is_one_event_and_emptying_resets_the_baseline():
    stream = Stream().steady(2000, 2)
    for total in (2085, 2210, 2240):
        stream.motion(stream.items[-1][1].grams, total, 1.0).steady(total, 1.5)
    stream.motion(2240, 0, 2.0).steady(0, 2)  # the bin is emptied
    stream.motion(0, 60, 0.8).steady(60, 1.5)
    assert grams(run(BIN, stream)) == [pytest.approx(value, abs=4) for value in (85, 125, 30, 60)]


def test_bin_increase_below_the_minimum_is_not_an_event():
    stream = Stream().steady(1000, 2).motion(1000, 1012).steady(1012, 2).motion(1012, 1050).steady(1050, 2)
    assert grams(run(BIN, stream)) == [pytest.approx(38, abs=4)]


def test_bin_baseline_follows_slow_drift():
    stream = Stream().steady(1500, 2)
    for minute in range(1, 61):  # +1 g a minute for an hour, with no motion at all
        stream.steady(1500 + minute, 60, noise=1)
    stream.motion(1560, 1640).steady(1640, 2)
    assert grams(run(BIN, stream)) == [pytest.approx(80, abs=4)]


def test_bin_overload_does_not_corrupt_the_baseline():
    stream = Stream().steady(800, 2).motion(800, 900).steady(900, 2)
    stream.overload(1.0).steady(900, 2)  # someone pressed on the bin
    stream.readings([Reading(None, stable=False, underload=True)] * 5).steady(900, 2)
    stream.motion(900, 975).steady(975, 2)
    assert grams(run(BIN, stream)) == [pytest.approx(100, abs=4), pytest.approx(75, abs=4)]


def test_bin_first_plateau_is_the_baseline_unless_restored():
    stream = Stream().steady(3000, 2).motion(3000, 3050).steady(3050, 2)
    assert grams(run(BIN, stream)) == [pytest.approx(50, abs=4)]
    assert grams(run(BIN, stream, state={"baseline": 2900})) == [
        pytest.approx(100, abs=4), pytest.approx(50, abs=4)]


def test_bin_tare_pressed_on_the_indicator_resets_the_baseline():
    stream = Stream().steady(1200, 2).readings([Reading(0, stable=True, net=True)] * 20)
    stream.net = True
    stream.motion(0, 70).steady(70, 2)
    assert grams(run(BIN, stream)) == [pytest.approx(70, abs=4)]


# ---- either mode -------------------------------------------------------------


def test_gap_in_the_readings_restarts_the_window():
    segmenter = Segmenter(TRAY)
    assert segmenter.feed(START, Reading(0, stable=True)) is None
    assert segmenter.feed(START, Reading(470, stable=True)) is None
    assert segmenter.feed(START + timedelta(seconds=5), Reading(470, stable=True)) is None
    assert segmenter.feed(START + timedelta(seconds=5.5), Reading(470, stable=True)) is None
    event = segmenter.feed(START + timedelta(seconds=6), Reading(470, stable=True))
    assert event == Event(START + timedelta(seconds=5), 120)


def test_clock_going_backwards_restarts_the_window():
    segmenter = Segmenter(TRAY)
    segmenter.feed(START, Reading(470, stable=True))
    assert segmenter.feed(START - timedelta(seconds=3), Reading(470, stable=True)) is None
    assert segmenter.feed(START - timedelta(seconds=2), Reading(470, stable=True)).grams == 120


def test_naive_timestamps_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        Segmenter(TRAY).feed(datetime(2026, 11, 23, 12, 0), Reading(0, stable=True))


@pytest.mark.parametrize("changes", [{"stable_window_s": 0}, {"tolerance_g": -1}, {"tare_g": -10},
                                     {"mode": Mode.bin, "min_event_g": 5}, {"mode": Mode.tray, "zero_threshold_g": 3},
                                     {"mode": Mode.kitchen, "zero_threshold_g": 5}])
def test_inconsistent_settings_are_refused(changes):
    with pytest.raises(ValueError):
        SegmenterConfig(**{"tolerance_g": 5, **changes})


def test_settings_of_the_other_mode_are_not_checked():
    SegmenterConfig(mode=Mode.tray, tolerance_g=30, zero_threshold_g=50, min_event_g=20)
    SegmenterConfig(mode=Mode.bin, tolerance_g=30, zero_threshold_g=20, min_event_g=50)


# ---- properties --------------------------------------------------------------

LEFTOVERS = st.lists(st.integers(min_value=0, max_value=1500), min_size=1, max_size=12)


@settings(max_examples=60, deadline=None)
@given(leftovers=LEFTOVERS, tare=st.integers(min_value=150, max_value=900), seed=st.integers(0, 2**32),
       settle=st.floats(min_value=1.2, max_value=4.0))
def test_tray_n_placements_give_n_events(leftovers, tare, seed, settle):
    config = SegmenterConfig(mode=Mode.tray, stable_window_s=1.0, tolerance_g=4, tare_g=tare)
    stream = Stream(seed).steady(0, 1, noise=1)
    for value in leftovers:
        stream.place(tare + value, settle=settle)  # noise ± 2 g keeps every reading within ± 4 g of the first
    events = run(config, stream)
    assert len(events) == len(leftovers)
    assert all(abs(event.grams - value) <= 2 for event, value in zip(events, leftovers, strict=True))
    assert [event.measured_at for event in events] == sorted(event.measured_at for event in events)


@settings(max_examples=60, deadline=None)
@given(scrapes=st.lists(st.integers(min_value=25, max_value=800), min_size=1, max_size=12),
       start=st.integers(min_value=0, max_value=20_000), seed=st.integers(0, 2**32))
def test_bin_n_scrapes_give_n_events(scrapes, start, seed):
    config = SegmenterConfig(mode=Mode.bin, stable_window_s=1.0, tolerance_g=4, min_event_g=20)
    stream = Stream(seed).steady(start, 1.5)
    total = start
    for value in scrapes:
        stream.motion(total, total + value).steady(total + value, 1.5)
        total += value
    events = run(config, stream)
    assert len(events) == len(scrapes)
    assert all(abs(event.grams - value) <= 4 for event, value in zip(events, scrapes, strict=True))
    assert abs(sum(grams(events)) - sum(scrapes)) <= 4
