"""The weighing indicator: A/D conversions of the load at a fixed rate, noise, zero drift, 1 g display division,
motion detection and over/underload, giving the `Reading` its serial output reports."""
import math
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from canteen.scale_driver.protocols import Reading

NOISE_LIMIT_G = 2  # a settled load reads within ±2 g of its weight
OVERLOAD_DIVISIONS = 9  # the display blanks when the gross load exceeds Max + 9 e (OIML R 76)
UNDERLOAD_DIVISIONS = 20  # or falls below −20 e


@dataclass(frozen=True)
class IndicatorConfig:
    capacity_g: int = 30_000
    tare_g: int = 0  # a container on the platform tared off (bin mode): readings are net
    noise_g: float = 0.6  # standard deviation of the conversion noise, clipped to ±NOISE_LIMIT_G
    zero_drift_g_per_min: float = 0.0
    conversions_per_s: float = 25.0
    motion_window_s: float = 0.5  # stable once every conversion this long lies within the band
    motion_band_g: int = 2 * NOISE_LIMIT_G


class Indicator:
    """Feed it increasing simulated times; it converts the load at its own rate, whatever the output rate."""

    def __init__(self, config: IndicatorConfig, load: Callable[[float], float], rng: random.Random) -> None:
        self._config = config
        self._load = load
        self._rng = rng
        self._conversions = 0
        # enough conversions to span the whole motion window
        self._window: deque[int] = deque(maxlen=math.ceil(config.motion_window_s * config.conversions_per_s) + 1)
        self._net = config.tare_g != 0
        self._reading = Reading(grams=0, stable=False, net=self._net)

    def drift_g(self, t_s: float) -> float:
        return self._config.zero_drift_g_per_min * t_s / 60

    def reading_at(self, t_s: float) -> Reading:
        while (next_s := self._conversions / self._config.conversions_per_s) <= t_s:
            self._reading = self._convert(next_s)
            self._conversions += 1
        return self._reading

    def _convert(self, t_s: float) -> Reading:
        config = self._config
        noise = max(-NOISE_LIMIT_G, min(NOISE_LIMIT_G, self._rng.gauss(0, config.noise_g))) if config.noise_g else 0
        grams = round(self._load(t_s) + self.drift_g(t_s) + noise)
        gross_g = grams + config.tare_g
        if gross_g > config.capacity_g + OVERLOAD_DIVISIONS or gross_g < -UNDERLOAD_DIVISIONS:
            self._window.clear()
            over = gross_g > 0
            return Reading(grams=None, stable=False, net=self._net, overload=over, underload=not over)
        self._window.append(grams)
        full = len(self._window) == self._window.maxlen
        stable = full and max(self._window) - min(self._window) <= config.motion_band_g
        return Reading(grams=grams, stable=stable, net=self._net)
