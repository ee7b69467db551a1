"""Turns a stream of timestamped readings into one event per diner's leftovers.

A *plateau* is a run of readings that the indicator flags as stable, each within ± tolerance of the run's
first reading, spanning at least the stability window with no gap longer than the window between readings.
Its value is the median of the run's readings. Motion, out-of-tolerance noise, overload and underload
(grams None) end the current run, so they never produce an event and never move a baseline.

tray  the plate is set on the scale. The first plateau of a placement whose load is at or above the zero
      threshold gives one event: the load minus the plate tare, never below 0 (a clean plate is 0 g).
      After that, the scale must read below the zero threshold (any reading, stable or not) before the
      next plateau can give an event. A plate lifted before it settled gives nothing.
kitchen  a container of kitchen waste is set on the scale and taken off again: segmented as in tray mode
      (one event per placement, the container's tare subtracted); the event carries no category, the staff
      classify it at the kitchen terminal. The gateway also sends the live weight (contents()) meanwhile.
bin   leftovers are scraped into a bin on the scale. Every plateau is compared with the previous one
      (the baseline): an increase of at least the minimum event size is one event of that increase;
      anything else (a smaller increase such as zero drift, or any decrease such as emptying the bin)
      only moves the baseline. The first plateau after start sets the baseline, unless one was restored.

Net readings (the indicator shows weight minus a tare it holds): in tray (and kitchen) mode the indicator's
tare is taken to be the plate, so the plate tare is not subtracted again, and the load used for the zero and
placement checks is the reading plus the configured plate tare (an empty scale reads about -tare). Keep
--tare set to the plate's weight in net mode too, so an empty scale can be told from a clean plate. Bin
mode only looks at differences, and a change between gross and net ends the current run (the jump when
someone presses TARE is a decrease, so it only resets the baseline).

The state that must survive a gateway restart (tray and kitchen: whether a new placement may count; bin:
the baseline) is `state`, a small dict the gateway stores in its outbox together with each event.
"""
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from statistics import median_low

from canteen.scale_driver.protocols import Reading

State = dict[str, bool | int | None]  # what the gateway stores with each event: {"armed": …} or {"baseline": …}


class Mode(StrEnum):
    tray = "tray"
    bin = "bin"
    kitchen = "kitchen"

    @property
    def placements(self) -> bool:
        """Whether each placement is one event (tray, kitchen), rather than each increase (bin)."""
        return self is not Mode.bin


@dataclass(frozen=True)
class SegmenterConfig:
    mode: Mode = Mode.tray
    stable_window_s: float = 0.4  # diners leave a tray for 1–3 s; the indicator needs about half a second to settle
    tolerance_g: int = 5
    min_event_g: int = 20  # bin mode only
    tare_g: int = 0  # tray and kitchen mode
    zero_threshold_g: int = 20  # tray and kitchen mode

    def __post_init__(self) -> None:
        if self.stable_window_s <= 0:
            raise ValueError("the stability window must be longer than 0 s")
        if self.tolerance_g < 0 or self.tare_g < 0:
            raise ValueError("tolerance and tare must not be negative")
        if self.mode is Mode.bin and self.min_event_g <= self.tolerance_g:
            raise ValueError("the minimum event size must be larger than the tolerance")
        if self.mode.placements and self.zero_threshold_g <= self.tolerance_g:
            raise ValueError("the zero threshold must be larger than the tolerance")


@dataclass(frozen=True)
class Event:
    measured_at: datetime  # aware UTC: when the plateau began
    grams: int


@dataclass
class _Run:
    started: datetime
    last: datetime
    anchor: int
    net: bool
    values: list[int]
    declared: bool = False


class Segmenter:
    def __init__(self, config: SegmenterConfig, state: State | None = None) -> None:
        self.config = config
        self._window = timedelta(seconds=config.stable_window_s)
        self._run: _Run | None = None
        state = state or {}
        self._armed = bool(state.get("armed", True))
        baseline = state.get("baseline")
        self._baseline: int | None = None if baseline is None else int(baseline)

    @property
    def state(self) -> State:
        if self.config.mode.placements:
            return {"armed": self._armed}
        return {"baseline": self._baseline}

    def feed(self, at: datetime, reading: Reading) -> Event | None:
        """One reading taken at `at` (timezone-aware); returns the event it completes, if any."""
        if at.tzinfo is None:
            raise ValueError("reading timestamps must be timezone-aware")
        at = at.astimezone(UTC)
        if reading.grams is None:
            self._run = None
            return None
        if self.config.mode.placements and self._load(reading.grams, reading.net) < self.config.zero_threshold_g:
            self._armed = True
        run = self._track(at, reading.grams, reading)
        if run is None:
            return None
        value = median_low(run.values)
        if self.config.mode.placements:
            return self._tray(run.started, value, run.net)
        return self._bin(run.started, value)

    def _track(self, at: datetime, grams: int, reading: Reading) -> _Run | None:
        """Extend or restart the stable run; returns the run once, when it becomes a plateau."""
        run = self._run
        if not reading.stable:
            self._run = None
            return None
        if (run is None or run.net != reading.net or abs(grams - run.anchor) > self.config.tolerance_g
                or not run.last <= at <= run.last + self._window):
            self._run = run = _Run(started=at, last=at, anchor=grams, net=reading.net, values=[])
        run.last = at
        if run.declared:
            return None
        run.values.append(grams)
        if at - run.started < self._window:
            return None
        run.declared = True
        return run

    def contents(self, reading: Reading) -> int | None:
        """What the reading says lies in the plate or container, as an event would count it (never below 0); None
        without a weight. Bin mode has no tare: the reading as it is."""
        if reading.grams is None or not self.config.mode.placements:
            return reading.grams
        return self._contents(reading.grams, reading.net)

    def _contents(self, grams: int, net: bool) -> int:
        return max(0, grams if net else grams - self.config.tare_g)

    def _load(self, grams: int, net: bool) -> int:
        """Weight on the scale relative to an empty scale (see the module docstring for net readings)."""
        return grams + self.config.tare_g if net else grams

    def _tray(self, started: datetime, value: int, net: bool) -> Event | None:
        if not self._armed or self._load(value, net) < self.config.zero_threshold_g:
            return None
        self._armed = False
        return Event(started, self._contents(value, net))

    def _bin(self, started: datetime, value: int) -> Event | None:
        baseline, self._baseline = self._baseline, value
        if baseline is not None and value - baseline >= self.config.min_event_g:
            return Event(started, value - baseline)
        return None
