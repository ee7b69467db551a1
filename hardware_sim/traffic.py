"""Diners returning their trays during one meal: when they come, what they leave, what the tray weighs; and the
bins of waste a kitchen weighs meanwhile.

Everything is drawn from a seeded `random.Random`; times are offsets from the `start` the caller passes, so
the model never reads the wall clock and the same seed gives the same meal.
"""
import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Diner:
    arrival: datetime
    leftover_g: int
    tare_g: int


@dataclass(frozen=True)
class Arrivals:
    """Non-homogeneous Poisson arrivals whose intensity has a gamma shape in time since the meal bell.

    The intensity rises from nothing at the bell, peaks `peak_fraction` of the way into the window and
    trails off into latecomers; whatever falls after the window's end is cut off. With `shape` 2.5 and
    the peak at 20 % of a 60-minute lunch, the peak is 12 minutes after the bell and about 80 % of the
    diners come within the first half hour.
    """

    shape: float = 2.5
    peak_fraction: float = 0.2

    def offsets(self, rng: random.Random, window_s: float, headcount: float) -> list[float]:
        """Seconds after the bell, sorted: a Poisson(headcount) number of diners, each drawn from the shape.

        A Poisson count of independent arrival times is exactly a Poisson process with intensity
        headcount × density, so no thinning bound is needed.
        """
        scale_s = self.peak_fraction * window_s / (self.shape - 1)  # the gamma density's mode is (k-1)·θ
        offsets = []
        for _ in range(_poisson(rng, headcount)):
            offset = rng.gammavariate(self.shape, scale_s)
            while offset >= window_s:
                offset = rng.gammavariate(self.shape, scale_s)
            offsets.append(offset)
        return sorted(offsets)


@dataclass(frozen=True)
class Leftovers:
    """Zero-inflated lognormal plate waste in grams.

    A `clean_share` of plates comes back clean (0–`clean_max_g` g of sauce film); the rest follow a
    lognormal with median `median_g` and log-spread `sigma`, redrawn above `max_g` (an untouched tray).
    Defaults give an overall median of about 17 g, about 40 % of plates at 10 g or less, about 3 % above
    300 g and 1 % above 500 g, the shape plate-waste surveys of Chinese canteens report.
    """

    clean_share: float = 0.25
    clean_max_g: int = 2
    median_g: float = 30.0
    sigma: float = 1.3
    max_g: int = 1000

    def draw(self, rng: random.Random) -> int:
        if rng.random() < self.clean_share:
            return rng.randint(0, self.clean_max_g)
        grams = rng.lognormvariate(math.log(self.median_g), self.sigma)
        while grams > self.max_g:
            grams = rng.lognormvariate(math.log(self.median_g), self.sigma)
        return round(grams)


@dataclass(frozen=True)
class Tares:
    """One kind of tray (or plate) per canteen, each piece within `spread_g` of the nominal weight.

    A single nominal tare is what lets the station subtract it; the spread is wear, wetness and moulding.
    """

    nominal_g: int = 380
    spread_g: int = 5

    def draw(self, rng: random.Random) -> int:
        return self.nominal_g + rng.randint(-self.spread_g, self.spread_g)


@dataclass(frozen=True)
class Traffic:
    arrivals: Arrivals = field(default_factory=Arrivals)
    leftovers: Leftovers = field(default_factory=Leftovers)
    tares: Tares = field(default_factory=Tares)


def meal(start: datetime, end: datetime, headcount: float, seed: int, traffic: Traffic = Traffic()) -> list[Diner]:
    """The diners of one meal whose bell rings at `start`, in order of arrival; `headcount` is the expected number."""
    if end <= start:
        raise ValueError("the meal must end after it starts")
    rng = random.Random(seed)
    offsets = traffic.arrivals.offsets(rng, (end - start).total_seconds(), headcount)
    return [Diner(arrival=start + timedelta(seconds=offset),
                  leftover_g=traffic.leftovers.draw(rng),
                  tare_g=traffic.tares.draw(rng))
            for offset in offsets]


@dataclass(frozen=True)
class KitchenWaste:
    """What a bin brought to the kitchen scale holds: lognormal grams around `median_g`, redrawn outside
    `min_g`–`max_g` (half a kilogram of trimmings to a full 15 kg bin of unserved rice)."""

    median_g: float = 2500.0
    sigma: float = 0.9
    min_g: int = 500
    max_g: int = 15_000

    def draw(self, rng: random.Random) -> int:
        grams = rng.lognormvariate(math.log(self.median_g), self.sigma)
        while not self.min_g <= grams <= self.max_g:
            grams = rng.lognormvariate(math.log(self.median_g), self.sigma)
        return round(grams)


def kitchen(start: datetime, end: datetime, bins: float, seed: int, waste: KitchenWaste = KitchenWaste(),
            containers: Tares = Tares(nominal_g=1200, spread_g=10)) -> list[Diner]:
    """The bins weighed at a kitchen scale from `start` to `end`, in order: a Poisson number of them (`bins`
    expected) at times spread evenly over the window. Each is a Diner whose leftovers are the bin's waste and
    whose tare is its container."""
    if end <= start:
        raise ValueError("the meal must end after it starts")
    rng = random.Random(seed)
    window_s = (end - start).total_seconds()
    offsets = sorted(rng.uniform(0, window_s) for _ in range(_poisson(rng, bins)))
    return [Diner(arrival=start + timedelta(seconds=offset), leftover_g=waste.draw(rng), tare_g=containers.draw(rng))
            for offset in offsets]


def _poisson(rng: random.Random, mean: float) -> int:
    """Count the points of a unit-rate Poisson process that fall in [0, mean)."""
    count, elapsed = 0, rng.expovariate(1.0)
    while elapsed < mean:
        count += 1
        elapsed += rng.expovariate(1.0)
    return count
