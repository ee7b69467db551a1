"""What rests on the scale of a plate-return or kitchen station over time, in grams, as a function of simulated
seconds.

The station is a queue: one episode at a time (a tray returned, scraps scraped into the bin, the bin emptied,
a kitchen bin weighed, someone leaning on the platform); a diner (or cook) who arrives while the station is busy
waits for it. Between episodes the load stays at what the last episode left behind.
"""
import math
import random
from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from hardware_sim.traffic import Diner

SCRAPE_MIN_G_PER_S = 80.0  # kitchen bins: never slower, so the indicator reads motion until the bin rests


class Mode(StrEnum):
    TRAY = "tray"  # the diner sets the tray down on the platform, it is weighed, then lifted off
    BIN = "bin"  # the diner scrapes the tray into a bin standing on the platform, tared with the empty bin
    KITCHEN = "kitchen"  # kitchen staff set a bin of waste on the platform, scrape the rest in, lift it off


class Episode(Protocol):
    @property
    def start_s(self) -> float: ...

    @property
    def end_s(self) -> float: ...

    @property
    def after_g(self) -> float: ...

    def load(self, elapsed_s: float) -> float: ...


@dataclass(frozen=True)
class TrayReturn:
    """Set down with a damped bounce, at rest for a while, lifted off.

    The bounce decays to e^-6 (under 0.3 %) by the end of `motion_s`; its frequency is the one that makes
    the first swing overshoot the weight by `overshoot` (a fraction).
    """

    start_s: float
    weight_g: int
    motion_s: float
    hold_s: float
    lift_s: float
    overshoot: float

    @property
    def end_s(self) -> float:
        return self.start_s + self.motion_s + self.hold_s + self.lift_s

    @property
    def after_g(self) -> float:
        return 0.0

    def load(self, elapsed_s: float) -> float:
        if elapsed_s < self.motion_s:
            bounce_hz = 3 / (self.motion_s * math.log(1 / self.overshoot))  # e^(-6/m · 1/(2f)) = overshoot
            decay = math.exp(-6 * elapsed_s / self.motion_s)
            return self.weight_g * (1 - decay * math.cos(2 * math.pi * bounce_hz * elapsed_s))
        lifting_s = elapsed_s - self.motion_s - self.hold_s
        if lifting_s < 0:
            return float(self.weight_g)
        return self.weight_g * max(0.0, 1 - lifting_s / self.lift_s)


@dataclass(frozen=True)
class Scrape:
    """Scraps slide into the bin while the tray knocks on its rim; the bin then rests at its new weight."""

    start_s: float
    before_g: float
    leftover_g: int
    motion_s: float
    hold_s: float
    knock_g: float
    knock_hz: float

    @property
    def end_s(self) -> float:
        return self.start_s + self.motion_s + self.hold_s

    @property
    def after_g(self) -> float:
        return self.before_g + self.leftover_g

    def load(self, elapsed_s: float) -> float:
        if elapsed_s >= self.motion_s:
            return self.after_g
        progress = elapsed_s / self.motion_s
        knock = self.knock_g * abs(math.sin(2 * math.pi * self.knock_hz * elapsed_s)) * (1 - progress)
        return self.before_g + self.leftover_g * progress + knock


@dataclass(frozen=True)
class KitchenBin:
    """A bin set down with part of its waste in it (a damped bounce), the rest scraped in, now and then some of
    it scooped back out, at rest for several seconds, lifted off.

    The weight moves at `scrape_g_per_s` or faster from the moment the bin lands until it rests, so the
    indicator never reads it stable before it rests at the weighing's weight.
    """

    start_s: float
    container_g: int
    waste_g: int
    first_g: float  # waste in the bin when it is set down
    peak_g: float  # the most waste in it while scraping: above waste_g when some is scooped back out
    put_s: float
    scrape_g_per_s: float
    hold_s: float
    lift_s: float
    knock_g: float
    knock_hz: float

    @property
    def scrape_s(self) -> float:
        return (self.peak_g - self.first_g) / self.scrape_g_per_s

    @property
    def scoop_s(self) -> float:
        return (self.peak_g - self.waste_g) / self.scrape_g_per_s

    @property
    def motion_s(self) -> float:
        return self.put_s + self.scrape_s + self.scoop_s

    @property
    def end_s(self) -> float:
        return self.start_s + self.motion_s + self.hold_s + self.lift_s

    @property
    def after_g(self) -> float:
        return 0.0

    def load(self, elapsed_s: float) -> float:
        if elapsed_s < self.put_s:
            landed_g = self.container_g + self.first_g
            decay = math.exp(-6 * elapsed_s / self.put_s)
            return landed_g * (1 - decay * math.cos(2 * math.pi * 2 / self.put_s * elapsed_s))
        scraping_s = elapsed_s - self.put_s
        if scraping_s < self.scrape_s:
            progress = scraping_s / self.scrape_s
            knock = self.knock_g * abs(math.sin(2 * math.pi * self.knock_hz * scraping_s)) * (1 - progress)
            return self.container_g + self.first_g + self.scrape_g_per_s * scraping_s + knock
        scooping_s = scraping_s - self.scrape_s
        if scooping_s < self.scoop_s:
            return self.container_g + self.peak_g - self.scrape_g_per_s * scooping_s
        lifting_s = elapsed_s - self.motion_s - self.hold_s
        if lifting_s < 0:
            return float(self.container_g + self.waste_g)
        return (self.container_g + self.waste_g) * max(0.0, 1 - lifting_s / self.lift_s)


@dataclass(frozen=True)
class EmptyBin:
    """The bin is lifted off (the tared indicator goes negative), emptied, and put back empty."""

    start_s: float
    before_g: float
    bin_g: int
    lift_s: float
    away_s: float
    back_s: float

    @property
    def end_s(self) -> float:
        return self.start_s + self.lift_s + self.away_s + self.back_s

    @property
    def after_g(self) -> float:
        return 0.0

    def load(self, elapsed_s: float) -> float:
        if elapsed_s < self.lift_s:
            return self.before_g - (self.before_g + self.bin_g) * elapsed_s / self.lift_s
        returning_s = elapsed_s - self.lift_s - self.away_s
        if returning_s < 0:
            return float(-self.bin_g)
        return -self.bin_g * max(0.0, 1 - returning_s / self.back_s)


@dataclass(frozen=True)
class Lean:
    """Someone leans on the platform with more than its capacity, briefly."""

    start_s: float
    base_g: float
    extra_g: float
    ramp_s: float
    hold_s: float

    @property
    def end_s(self) -> float:
        return self.start_s + 2 * self.ramp_s + self.hold_s

    @property
    def after_g(self) -> float:
        return self.base_g

    def load(self, elapsed_s: float) -> float:
        rising = elapsed_s / self.ramp_s
        falling = (self.end_s - self.start_s - elapsed_s) / self.ramp_s
        return self.base_g + self.extra_g * max(0.0, min(1.0, rising, falling))


@dataclass(frozen=True)
class Settled:
    """A diner's load has come to rest: the moment (and content) the ground truth records.

    `tare_g` is what the scale carried under the leftovers: the tray in tray mode, the container in kitchen
    mode, the scraps already in the bin in bin mode (the empty bin itself is tared off).
    """

    at_s: float
    leftover_g: int
    tare_g: int


@dataclass(frozen=True)
class StationConfig:
    mode: Mode = Mode.TRAY
    capacity_g: int = 30_000
    bin_g: int = 1_500
    bin_full_g: int = 4_000  # staff empty the bin once this much has been scraped in
    overload_every_s: float | None = None


class Timeline:
    """The station's episodes, built once from the diners; `load_at` answers for any simulated second."""

    def __init__(self, diners: list[Diner], start: datetime, config: StationConfig, rng: random.Random,
                 horizon_s: float) -> None:
        self.episodes: list[Episode] = []
        self.settled: list[Settled] = []
        self._config = config
        self._rng = rng
        self._leans = _multiples(config.overload_every_s, horizon_s)
        for diner in diners:
            arrival_s = (diner.arrival - start).total_seconds()
            self._lean_until(arrival_s)
            self._serve(diner, self._begin(arrival_s))
            if config.mode is Mode.BIN and self._resting_g() >= config.bin_full_g:
                self._empty_bin()
        self._lean_until(horizon_s)
        self._starts = [episode.start_s for episode in self.episodes]

    @property
    def end_s(self) -> float:
        return self.episodes[-1].end_s if self.episodes else 0.0

    def load_at(self, t_s: float) -> float:
        index = bisect_right(self._starts, t_s) - 1
        if index < 0:
            return 0.0
        episode = self.episodes[index]
        return episode.load(t_s - episode.start_s) if t_s < episode.end_s else episode.after_g

    def _begin(self, ready_s: float) -> float:
        """When the next episode can start: once it is due and the previous one has cleared the platform."""
        if not self.episodes:
            return ready_s
        return max(ready_s, self.episodes[-1].end_s + self._rng.uniform(0.3, 1.2))

    def _resting_g(self) -> float:
        return self.episodes[-1].after_g if self.episodes else 0.0

    def _serve(self, diner: Diner, start_s: float) -> None:
        rng = self._rng
        episode: TrayReturn | Scrape | KitchenBin
        if self._config.mode is Mode.KITCHEN:
            waste_g = diner.leftover_g
            out = waste_g * rng.uniform(0.05, 0.2) if rng.random() < 0.25 else 0.0
            episode = KitchenBin(start_s, diner.tare_g, waste_g, first_g=waste_g * rng.uniform(0.3, 0.7),
                                 peak_g=waste_g + out, put_s=rng.uniform(0.5, 1.0),
                                 scrape_g_per_s=max(SCRAPE_MIN_G_PER_S, waste_g / rng.uniform(6, 12)),
                                 hold_s=rng.uniform(3.0, 8.0), lift_s=rng.uniform(0.5, 1.0),
                                 knock_g=rng.uniform(30, 120), knock_hz=rng.uniform(1.0, 2.5))
            tare_g = diner.tare_g
        elif self._config.mode is Mode.TRAY:
            episode = TrayReturn(
                start_s, diner.tare_g + diner.leftover_g, motion_s=rng.uniform(0.3, 1.0),
                hold_s=rng.uniform(1.0, 3.0), lift_s=rng.uniform(0.2, 0.5), overshoot=rng.uniform(0.1, 0.3))
            tare_g = diner.tare_g
        else:
            before_g = self._resting_g()
            episode = Scrape(start_s, before_g, diner.leftover_g, motion_s=rng.uniform(1.0, 2.5),
                             hold_s=rng.uniform(1.0, 3.0), knock_g=rng.uniform(20, 60), knock_hz=rng.uniform(1.5, 3.0))
            tare_g = round(before_g)
        self.episodes.append(episode)
        self.settled.append(Settled(start_s + episode.motion_s, diner.leftover_g, tare_g))

    def _empty_bin(self) -> None:
        rng = self._rng
        self.episodes.append(EmptyBin(self._begin(0.0), self._resting_g(), self._config.bin_g,
                                      lift_s=rng.uniform(0.5, 1.0), away_s=rng.uniform(10, 30),
                                      back_s=rng.uniform(0.5, 1.0)))

    def _lean_until(self, until_s: float) -> None:
        while self._leans and self._leans[0] <= until_s:
            due_s = self._leans.pop(0)
            rng = self._rng
            self.episodes.append(Lean(self._begin(due_s), self._resting_g(),
                                      extra_g=self._config.capacity_g * rng.uniform(1.1, 1.6),
                                      ramp_s=rng.uniform(0.3, 0.6), hold_s=rng.uniform(1.0, 2.0)))


def _multiples(every_s: float | None, until_s: float) -> list[float]:
    if not every_s:
        return []
    return [every_s * k for k in range(1, int(until_s // every_s) + 1)]
