"""Who returned a tray: a code scanned at the identity reader paired with the tray that settled near it in time.

A tray (one plate event; its time is `measured_at`, when it settled) takes
1. the latest scan of the `before_s` seconds before it settled that came after the tray before it settled: the
   usual order, a diner scans and then sets the tray down;
2. failing that, the first scan of the `after_s` seconds after it settled that came before the next tray settled:
   a late scan;
3. a scan that is both a tray's late scan and the next tray's scan before it goes to the tray nearer in time
   (on a tie, the next one: scanning first is the usual order).
A scan goes to one tray at most, a tray takes one scan at most. A diner who scans twice counts once, by the
latest scan: a scan drops a scan of the same code still waiting, and a scan of the code a tray took, within that
tray's window, is dropped itself; both are counted as double scans. A scan no tray can take any more is dropped
and counted (`unpaired`); a tray that takes no scan is anonymous, as every tray is without a reader.

Trays are decided in order, each as soon as nothing still to come can change its outcome: a tray with a scan
before it at once (once the tray before it is decided), any tray as soon as the next one has settled, else once
its late window is over, or, with a late scan, once no next tray could settle nearer to that scan. `lag_s` is how
long after settling a tray may still be unknown to the gateway (its stability window, and some margin). So a tray
waits at most 2 × after_s + lag_s.

No I/O and no clock of its own: the gateway passes the times, decides with `decide(now)` and stores `state()` in
its outbox, so that a restart goes on with the scans and trays of before.
"""
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class PairingConfig:
    before_s: float = 20.0
    after_s: float = 5.0

    def __post_init__(self) -> None:
        if self.before_s < 0 or self.after_s < 0:
            raise ValueError("the scan window must not be negative")


@dataclass(frozen=True)
class Scan:
    at: datetime  # aware: when the code arrived
    code: str


@dataclass(frozen=True)
class Tray:
    seq: int  # the event's number in the outbox
    measured_at: datetime  # aware: when it settled


@dataclass(frozen=True)
class Decision:
    seq: int
    code: str | None  # None: anonymous
    offset_s: float | None = None  # the scan's time from the tray's, negative for a scan before it


class _Wait:
    """The tray cannot be decided yet."""


WAIT = _Wait()


class Pairing:
    def __init__(self, config: PairingConfig, *, lag_s: float, last_seq: int,
                 state: dict[str, Any] | None = None) -> None:
        """`last_seq`: the last event number of the outbox, which is decided unless it waits here (a restored
        state brings its own: the last tray it was given; the events after it are to be given again)."""
        self.config = config
        self._before = timedelta(seconds=config.before_s)
        self._after = timedelta(seconds=config.after_s)
        self._lag = timedelta(seconds=lag_s)
        self.last_seq = last_seq
        self.paired = 0  # trays that took a scan
        self.anonymous = 0  # trays that took none
        self.unpaired = 0  # scans dropped, no tray took them
        self.double = 0  # scans dropped as a diner's second scan
        self.version = 0  # grows with every change of `state()`
        self._scans: list[Scan] = []  # waiting, in time order
        self._trays: list[Tray] = []  # undecided, in order
        self._taken: list[Scan] = []  # the scans recent trays took, at their tray's time: for repeats of a code
        self._previous: datetime | None = None  # when the last decided tray settled
        if state:
            self._restore(state)

    def scan(self, at: datetime, code: str) -> None:
        if any(taken.code == code and taken.at - self._before <= at <= taken.at + self._after
               for taken in self._taken):
            self.double += 1
            return
        before = len(self._scans)
        self._scans = [scan for scan in self._scans if scan.code != code]
        self.double += before - len(self._scans)
        index = len(self._scans)
        while index and self._scans[index - 1].at > at:
            index -= 1
        self._scans.insert(index, Scan(at, code))
        self.version += 1

    def tray(self, seq: int, measured_at: datetime) -> None:
        self._trays.append(Tray(seq, measured_at))
        self.last_seq = max(self.last_seq, seq)
        self.version += 1

    @property
    def waiting(self) -> list[int]:
        """The numbers of the trays not decided yet."""
        return [tray.seq for tray in self._trays]

    def decide(self, now: datetime) -> list[Decision]:
        """The trays that can be decided at `now`, in order; drops the scans no tray can take any more."""
        decisions = []
        while self._trays:
            tray = self._trays[0]
            choice = self._choose(tray, self._trays[1] if len(self._trays) > 1 else None, now)
            if isinstance(choice, _Wait):
                break
            self._trays.pop(0)
            self._previous = tray.measured_at
            if choice is None:
                self.anonymous += 1
                decisions.append(Decision(tray.seq, None))
            else:
                self._scans.remove(choice)
                self._taken.append(Scan(tray.measured_at, choice.code))
                self.paired += 1
                decisions.append(Decision(tray.seq, choice.code, (choice.at - tray.measured_at).total_seconds()))
            self.version += 1
        self._drop(now)
        return decisions

    def _choose(self, tray: Tray, following: Tray | None, now: datetime) -> Scan | None | _Wait:
        settled = tray.measured_at
        before = self._latest_before(settled, self._previous)
        if before is not None:
            return before
        until = settled + self._after if following is None else min(settled + self._after, following.measured_at)
        late = next((scan for scan in self._scans if settled < scan.at <= until), None)
        if late is None:
            return None if following is not None or now >= settled + self._after + self._lag else WAIT
        if following is not None:
            nearer_next = following.measured_at - late.at <= late.at - settled
            return None if nearer_next and self._latest_before(following.measured_at, settled) is late else late
        # No next tray yet: one could still settle nearer to the scan, until twice the scan's distance.
        return late if now >= late.at + (late.at - settled) + self._lag else WAIT

    def _latest_before(self, settled: datetime, previous: datetime | None) -> Scan | None:
        earliest = settled - self._before
        for scan in reversed(self._scans):
            if scan.at <= settled:
                if scan.at >= earliest and (previous is None or scan.at > previous):
                    return scan
                return None
        return None

    def _drop(self, now: datetime) -> None:
        def takeable(scan: Scan) -> bool:
            if self._previous is not None and scan.at <= self._previous:
                return False  # before a decided tray: no tray can take it any more
            if now <= scan.at + self._before + self._lag:
                return True  # a tray may still settle after it
            return any(tray.measured_at < scan.at <= tray.measured_at + self._after for tray in self._trays)

        kept = [scan for scan in self._scans if takeable(scan)]
        if len(kept) != len(self._scans):
            self.unpaired += len(self._scans) - len(kept)
            self._scans = kept
            self.version += 1
        taken = [scan for scan in self._taken if now <= scan.at + self._after + self._lag]
        if len(taken) != len(self._taken):
            self._taken = taken
            self.version += 1

    def state(self) -> dict[str, Any]:
        """What a restart needs, as JSON values."""
        return {"scans": [[scan.at.isoformat(), scan.code] for scan in self._scans],
                "trays": [[tray.seq, tray.measured_at.isoformat()] for tray in self._trays],
                "taken": [[scan.at.isoformat(), scan.code] for scan in self._taken],
                "previous": self._previous.isoformat() if self._previous else None, "last_seq": self.last_seq}

    def _restore(self, state: dict[str, Any]) -> None:
        """Raises ValueError (or KeyError, TypeError) for a state that is not one `state()` wrote."""
        self._scans = sorted((Scan(datetime.fromisoformat(at), str(code)) for at, code in state["scans"]),
                             key=lambda scan: scan.at)
        self._trays = [Tray(int(seq), datetime.fromisoformat(at)) for seq, at in state["trays"]]
        self._taken = [Scan(datetime.fromisoformat(at), str(code)) for at, code in state["taken"]]
        self._previous = datetime.fromisoformat(state["previous"]) if state["previous"] else None
        self.last_seq = int(state["last_seq"])
