"""Shared pieces of the protocol modules: the reading, unit conversion, the XOR check, inferred stability, regex
frame scanning.

Rounding: a value that is not a whole number of grams (0.1 g resolution, lb, oz) is rounded half away from zero.
"""
import re
from collections import deque
from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class Reading:
    grams: int | None  # None when the frame carries no trustworthy weight (overload, underload)
    stable: bool
    net: bool = False
    overload: bool = False
    underload: bool = False
    raw: bytes = b""


@dataclass(frozen=True)
class SerialDefaults:
    baudrate: int = 9600
    bytesize: int = 8
    parity: str = "N"  # pyserial's PARITY_* letters
    stopbits: float = 1


# Grams per unit as an exact fraction (numerator, denominator).
UNITS: dict[bytes, tuple[int, int]] = {
    b"kg": (1000, 1),
    b"g": (1, 1),
    b"mg": (1, 1000),
    b"t": (1_000_000, 1),
    b"lb": (45_359_237, 100_000),
    b"oz": (28_349_523_125, 1_000_000_000),
}
KG = UNITS[b"kg"]


def divide_rounded(numerator: int, denominator: int) -> int:
    """numerator / denominator (denominator > 0) rounded half away from zero."""
    quotient, remainder = divmod(abs(numerator), denominator)
    if 2 * remainder >= denominator:
        quotient += 1
    return quotient if numerator >= 0 else -quotient


def scaled_grams(mantissa: int, decimals: int, unit: tuple[int, int]) -> int:
    """Grams in mantissa * 10**-decimals units (decimals may be negative: a display multiplied by 10 or 100)."""
    numerator, denominator = unit
    if decimals >= 0:
        return divide_rounded(mantissa * numerator, denominator * 10 ** decimals)
    return divide_rounded(mantissa * numerator * 10 ** -decimals, denominator)


def text_grams(number: bytes, unit: tuple[int, int]) -> int:
    """Grams in a decimal text such as b"-0012.345"; raises ValueError if it is not a number."""
    whole, _, fraction = number.partition(b".")
    return scaled_grams(int(whole + fraction), len(fraction), unit)


def xor_check(data: bytes) -> int:
    """The XOR of all the bytes of `data` (0 for none), as yaohua-tf0 frames and yaohua-a12 W lines carry it.

    Folded in halves on one integer instead of a Python loop over the bytes. The folding must start at half the
    smallest power-of-two number of bits that holds all of `data`: started lower, the bytes above twice the first
    shift are never folded in (a fixed first shift of 64 bits lost every byte beyond the 16th).
    """
    value = int.from_bytes(data, "big")
    shift = 4 << max(len(data) - 1, 0).bit_length()  # 4 bits for 1 byte, 8 for 2, 16 for 3-4, ..., 64 for 9-16
    while shift >= 8:
        value ^= value >> shift
        shift >>= 1
    return value & 0xFF


# Frames that may differ by this much and still count as one resting load (two 1 g divisions).
STABLE_BAND_G = 2


class Settling:
    """Stability for protocols without a flag: stable once `frames` frames in a row lie within `band_g` grams.

    A band rather than one repeated value, because an indicator showing 1 g divisions flickers by a division or
    two on a plate that is resting still; a real indicator's own stability check works the same way.
    """

    def __init__(self, frames: int, band_g: int = STABLE_BAND_G) -> None:
        if frames < 1:
            raise ValueError("stable_after must be at least 1")
        self.frames = frames
        self.band_g = band_g
        self._recent: deque[int] = deque(maxlen=frames)
        self._net: bool | None = None

    def stable(self, grams: int, net: bool) -> bool:
        if net != self._net:
            self._recent.clear()
            self._net = net
        self._recent.append(grams)
        return len(self._recent) == self.frames and max(self._recent) - min(self._recent) <= self.band_g

    def reset(self) -> None:
        self._recent.clear()
        self._net = None


class RegexDecoder:
    """Finds frames with one compiled pattern; what lies between two matches is garbage or broken frames.

    Broken frames are counted by the frame marks (a start byte, a line end) found in the skipped bytes. Only the
    last `max_frame - 1` unmatched bytes are kept between feeds, so garbage never grows memory.
    """

    pattern: ClassVar[re.Pattern[bytes]]
    max_frame: ClassVar[int]
    marks: ClassVar[tuple[bytes, ...]]

    def __init__(self) -> None:
        self.bad_frames = 0
        self.ignored_frames = 0  # well-formed frames that carry no weight (a count unit, tare, busy, error)
        self._pending = b""

    def feed(self, chunk: bytes) -> list[Reading]:
        data = self._pending + chunk if self._pending else chunk
        readings = []
        end = 0
        for match in self.pattern.finditer(data):
            if match.start() != end:
                self._skip(data, end, match.start())
            end = match.end()
            reading = self._reading(match)
            if reading is not None:
                readings.append(reading)
        keep = max(end, len(data) - self.max_frame + 1)
        self._skip(data, end, keep)
        self._pending = data[keep:]
        return readings

    def flush(self) -> list[Reading]:
        """End of input: an unfinished frame left over is a broken one (a regex frame is never half a reading)."""
        self._skip(self._pending, 0, len(self._pending))
        self._pending = b""
        self._reset()
        return []

    def _reset(self) -> None:
        """Forget what the frames so far said (e.g. inferred stability), as a fresh decoder would."""

    def _skip(self, data: bytes, start: int, end: int) -> None:
        for mark in self.marks:
            self.bad_frames += data.count(mark, start, end)

    def _reading(self, match: re.Match[bytes]) -> Reading | None:
        raise NotImplementedError
