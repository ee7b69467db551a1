"""The identity reader beside a plate-return station's scale: diners scan their booking's QR code or their card as
they return the tray, or they do not; the reader sends each code as one ASCII line (CR by default, as most
scanners leave the factory).

Who scans, and when, is drawn per diner from the station's timeline (the moment each tray comes to rest) against
the gateway's pairing window (`before_s`, `after_s`, in simulated seconds; canteen/scale_driver/pairing.py):

  before   scans on stepping up, after the previous tray came to rest and nearer to their own (the usual way)
  twice    the same, and again: before setting the tray down, or just after
  late     scans after the tray came to rest, within the window and nearer to it than to the next tray
  outside  scans so late that it is outside the window; drawn only where no other tray is near enough to take
           the scan (elsewhere the diner does not scan): the plate stays anonymous and the scan unpaired
  none     does not scan

A behaviour that does not fit between the neighbouring trays falls back to one that does (late to before, before
to late, else none), so every plate has one right answer: its diner's code, or none. The scale's truth line for
the plate carries it ("code", and the behaviour as "scan"); each scan gets a truth line of its own naming the
plate it was for. Codes are booking tokens (bk_ and 24 URL-safe characters, as the server issues them) and card
numbers (10 digits), one per diner, or the given ones in order: a diner left without a code does not scan.
"""
import json
import random
import string
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TextIO

from hardware_sim.ports import Port

MAX_CODE = 64  # the longest diner_ref the server stores
SUFFIXES = {"cr": b"\r", "crlf": b"\r\n", "lf": b"\n"}
# The gateway times a tray from its first stable reading, up to about half a second after the load comes to rest.
BEFORE_REST_S = 0.3  # a scan before the tray: at least this long before it comes to rest
LATE_AFTER_REST_S = 1.0  # a late scan: at least this long after
HALFWAY_MARGIN_S = 0.5  # a scan stays this far on its own tray's side of halfway to the neighbouring tray
OUTSIDE_BY_S = (1.5, 2.5)  # an outside scan: this much beyond the window
STEP_UP_S = 4.0  # the earliest a diner scans before the tray comes to rest


@dataclass(frozen=True)
class ScannerOptions:
    before_s: float = 20.0  # the gateway's --scan-before, in simulated seconds
    after_s: float = 5.0  # the gateway's --scan-after, in simulated seconds
    share: float = 0.7  # diners who scan at all; of them:
    twice: float = 0.1
    late: float = 0.1
    outside: float = 0.05
    codes: tuple[str, ...] | None = None  # None: drawn
    suffix: str = "cr"

    def __post_init__(self) -> None:
        if self.before_s < 0 or self.after_s < 0:
            raise ValueError("the scan window must not be negative")
        if not 0 <= self.share <= 1 or min(self.twice, self.late, self.outside) < 0 \
                or self.twice + self.late + self.outside > 1:
            raise ValueError("the shares of scans twice, late and outside the window are of the diners who scan: "
                             "each at least 0, together at most 1")
        if self.suffix not in SUFFIXES:
            raise ValueError(f"{self.suffix!r} is not one of {', '.join(SUFFIXES)}")
        for code in self.codes or ():
            if not code or len(code) > MAX_CODE or not all(" " < char <= "~" for char in code):
                raise ValueError(f"{code!r} is not a code: 1 to {MAX_CODE} printable ASCII characters, no spaces")


@dataclass(frozen=True)
class PlannedScan:
    at_s: float
    code: str
    plate: int  # the plate's number in the scale's truth (1 for the first)
    kind: str


@dataclass(frozen=True)
class PlateCode:
    code: str | None  # the diner_ref the plate should carry
    scan: str  # the diner's behaviour


def drawn_codes(rng: random.Random) -> Iterator[str]:
    """An endless supply of distinct codes, half booking tokens and half card numbers."""
    seen: set[str] = set()
    alphabet = string.ascii_letters + string.digits + "-_"
    while True:
        if rng.random() < 0.5:
            code = "bk_" + "".join(rng.choice(alphabet) for _ in range(24))
        else:
            code = "".join(rng.choice(string.digits) for _ in range(10))
        if code not in seen:
            seen.add(code)
            yield code


def plan(rested_s: list[float], options: ScannerOptions, rng: random.Random
         ) -> tuple[list[PlannedScan], list[PlateCode]]:
    """The scans of a meal whose trays come to rest at `rested_s` (in order), and each plate's right answer."""
    codes = iter(options.codes) if options.codes is not None else drawn_codes(random.Random(rng.getrandbits(64)))
    scans: list[PlannedScan] = []
    answers: list[PlateCode] = []
    for index, rest_s in enumerate(rested_s):
        previous = rested_s[index - 1] if index else None
        following = rested_s[index + 1] if index + 1 < len(rested_s) else None
        kind = _behaviour(rng, options)
        code = next(codes, None) if kind != "none" else None
        times = _times(kind, rest_s, previous, following, rested_s, index, options, rng) if code else None
        if times is None or code is None:
            answers.append(PlateCode(None, "none"))
            continue
        kind, at_s = times
        scans += [PlannedScan(when, code, index + 1, kind) for when in at_s]
        answers.append(PlateCode(None if kind == "outside" else code, kind))
    scans.sort(key=lambda scan: scan.at_s)
    return scans, answers


def _behaviour(rng: random.Random, options: ScannerOptions) -> str:
    if rng.random() >= options.share:
        return "none"
    draw = rng.random()
    for kind, share in (("twice", options.twice), ("late", options.late), ("outside", options.outside)):
        if draw < share:
            return kind
        draw -= share
    return "before"


def _times(kind: str, rest_s: float, previous: float | None, following: float | None, rested_s: list[float],
           index: int, options: ScannerOptions, rng: random.Random) -> tuple[str, list[float]] | None:
    """The kind of scan the diner makes after all, and when; None: no scan fits."""
    early_lo = rest_s - min(STEP_UP_S, 0.8 * options.before_s)
    if previous is not None:
        early_lo = max(early_lo, (previous + rest_s) / 2 + HALFWAY_MARGIN_S)
    early_hi = rest_s - BEFORE_REST_S
    late_lo, late_hi = rest_s + LATE_AFTER_REST_S, rest_s + 0.7 * options.after_s
    if following is not None:
        late_hi = min(late_hi, (rest_s + following) / 2 - HALFWAY_MARGIN_S)
    early = early_lo < early_hi
    late = late_lo < late_hi
    if kind == "outside":
        at_s = rest_s + options.after_s + rng.uniform(*OUTSIDE_BY_S)
        near = [other for number, other in enumerate(rested_s) if number != index
                and at_s - options.after_s - OUTSIDE_BY_S[0] <= other <= at_s + options.before_s + OUTSIDE_BY_S[0]]
        return None if near else ("outside", [at_s])
    if kind == "late" and late or kind == "before" and not early and late:
        return "late", [rng.uniform(late_lo, late_hi)]
    if not early:
        return None
    first = rng.uniform(early_lo, early_hi)
    if kind == "twice":
        if rng.random() < 0.5 and early_hi - first > 0.1:
            return "twice", [first, rng.uniform(first + 0.05, early_hi)]
        if late:
            return "twice", [first, rng.uniform(late_lo, late_hi)]
    return "before", [first]


class Scanner:
    """Sends the planned scans down its port as the simulated clock reaches them; writes each one's truth line."""

    def __init__(self, scans: list[PlannedScan], port: Port, start: datetime, suffix: str = "cr",
                 truth: TextIO | None = None) -> None:
        self.port = port
        self._scans = list(scans)
        self._start = start
        self._suffix = SUFFIXES[suffix]
        self._truth = truth

    def connected(self) -> bool:
        self.port.wait(0)  # a TCP port takes its client here; whatever the client sends is ignored
        return self.port.connected()

    @property
    def next_s(self) -> float | None:
        return self._scans[0].at_s if self._scans else None

    def send_until(self, now_s: float) -> None:
        while self._scans and self._scans[0].at_s <= now_s:
            scan = self._scans.pop(0)
            sent = self.port.write(scan.code.encode("ascii") + self._suffix) > 0
            if self._truth is not None:
                at = (self._start + timedelta(seconds=scan.at_s)).astimezone(UTC)
                self._truth.write(json.dumps({"t": at.isoformat(timespec="milliseconds"), "code": scan.code,
                                              "plate": scan.plate, "kind": scan.kind, "sent": sent}) + "\n")
                self._truth.flush()
