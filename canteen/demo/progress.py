"""What the demo's seeding reports while it runs: its phases, each a number of steps, and how long each took.

Seeding a year of history takes a while; `canteen demo` shows a bar per phase on stderr (rich, which comes with
typer) and the time of every phase at the end. Phase names are msgids, shown in the UI language. Without a stream
(tests, other callers) it only keeps the times.
"""
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from time import monotonic
from typing import IO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress

from canteen.i18n import N_, gettext

ORGANISATIONS = N_("organisations and accounts")
BOOKINGS = N_("menus, diners and bookings planned")
HISTORY = N_("history per canteen")
ROLLUPS = N_("daily rollups")
POINTS = N_("clean-plate points")
ASSESSMENT = N_("assessment")
BULLETIN = N_("bulletin")


@dataclass
class Progress:
    """Phases in the order they ran, with their seconds; with a `stream`, a bar per phase on it."""

    stream: IO[str] | None = None
    language: str = "zh_CN"
    timings: list[tuple[str, float]] = field(default_factory=list)

    @contextmanager
    def phase(self, name: str, total: int) -> Iterator[Callable[[int], None]]:
        """Run one phase of `total` steps: the body calls the function it gets with the steps it has done."""
        started = monotonic()
        if self.stream is None:
            yield _nothing
        else:
            with RichProgress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                              TimeElapsedColumn(), console=Console(file=self.stream)) as bar:
                task = bar.add_task(gettext(name, self.language), total=total)

                def advance(steps: int) -> None:
                    bar.advance(task, steps)

                yield advance
        self.timings.append((name, monotonic() - started))

    def summary(self) -> str:
        """One line: every phase's time, and the total."""
        parts = [f"{gettext(name, self.language)} {seconds:.1f} s" for name, seconds in self.timings]
        total = sum(seconds for _, seconds in self.timings)
        return gettext(N_("Seeded in {seconds:.1f} s: {phases}"), self.language).format(
            seconds=total, phases=", ".join(parts))



def _nothing(steps: int) -> None:
    """Progress nobody is shown."""
