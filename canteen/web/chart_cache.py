"""Charts drawn once for the same data: a bounded, in-process LRU of rendered SVG.

Drawing a chart costs far more than reading its numbers (a bar chart with its text as glyph outlines takes
about a tenth of a second, the dashboard's queries a few milliseconds), and the pages that carry charts are
reopened often: the dashboard refreshes every 30 seconds on every open screen, a bureau's overview is opened by
many users over the same month. So a chart is keyed by everything its drawing depends on (the kind of chart,
the labels and values, the titles and options) and drawn only when that key is new.

Because the data itself is the key, a new weighing or a recomputed scorecard changes the key and the chart is
drawn again: nothing is invalidated by hand, and a server with several workers stays right although no worker
sees the others' writes. Each worker keeps its own entries; the least recently used go first.
"""
from collections.abc import Sequence
from functools import lru_cache

from canteen.web import charts

MAX_CHARTS = 256  # a bar chart's SVG is 30–250 kB: at most some tens of MB a worker


def bar_chart(labels: Sequence[str], values: Sequence[float], title: str, ylabel: str, *,
              integer: bool | None = None, floor: float | None = 0) -> str:
    """`charts.bar_chart`, drawn once for the same arguments."""
    return _drawn_bar_chart(tuple(labels), tuple(values), title, ylabel, integer, floor)


@lru_cache(maxsize=MAX_CHARTS)
def _drawn_bar_chart(labels: tuple[str, ...], values: tuple[float, ...], title: str, ylabel: str,
                     integer: bool | None, floor: float | None) -> str:
    return charts.bar_chart(labels, values, title, ylabel, integer=integer, floor=floor)
